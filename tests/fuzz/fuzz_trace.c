/*
 * fuzz_trace.c: trace_path_json() on arbitrary observations: the input
 * is split at newlines into keys (each observation's "in,out,ttl,reason"
 * text) with rates and agents taken from the bytes. The path it builds
 * is well formed: stages count up from 1 and every share is in [0, 1].
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct trace_obs o[32];
	size_t n = 0, i = 0;
	json_t *p, *hops;
	json_int_t last = 0;

	while (i < size && n < 32) {
		size_t j = i;

		while (j < size && data[j] != '\n')
			j++;
		memset(&o[n], 0, sizeof(o[n]));
		o[n].agent.family = 4;
		o[n].agent.a[3] = (uint8_t)(j - i);
		snprintf(o[n].key, sizeof(o[n].key), "%.*s", (int)(j - i),
		    (const char *)data + i);
		o[n].fps = (double)((j - i) * 7 % 13) - 1; /* some <= 0 */
		n++;
		i = j + 1;
	}
	p = trace_path_json(NULL, o, n);
	hops = json_object_get(p, "hops");
	for (size_t k = 0; k < json_array_size(hops); k++) {
		const json_t *h = json_array_get(hops, k);
		json_int_t st = json_integer_value(json_object_get(h, "stage"));
		double sh = json_real_value(json_object_get(h, "share"));

		assert(st == last || st == last + 1);
		assert(sh >= 0 && sh <= 1.0000001);
		last = st;
	}
	assert(json_integer_value(json_object_get(p, "stages")) == last);
	json_decref(p);
	return 0;
}
