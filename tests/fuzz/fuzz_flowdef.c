/*
 * fuzz_flowdef.c: the flow definition body parser on arbitrary bytes; a
 * definition that parses renders and parses again to the same thing.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flowdef.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct flowdef d, d2;
	char err[256];
	json_t *o;
	char *s;

	if (flowdef_parse("fuzz", (const char *)data, size, &d, err,
		sizeof(err)) != 0)
		return 0;
	o = flowdef_json(&d);
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	assert(s != NULL);
	assert(flowdef_parse("fuzz", s, strlen(s), &d2, err, sizeof(err)) ==
	    0);
	assert(strcmp(d.keys, d2.keys) == 0 &&
	    strcmp(d.filter, d2.filter) == 0 && d.n == d2.n);
	free(s);
	return 0;
}
