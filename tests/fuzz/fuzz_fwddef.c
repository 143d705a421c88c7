/*
 * fuzz_fwddef.c: the forwarding definition parser and the datagram
 * agent peek on arbitrary bytes. A definition that parses renders and
 * parses again to the same thing; the peek never reads past len.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fwddef.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fwddef d, d2;
	struct sflow_addr a;
	char err[256];
	json_t *o;
	char *s;

	/* The same bytes as a raw datagram (exact length: ASan sees any
	 * over-read). */
	if (fwddef_peek_agent(data, size, &a) == 0)
		assert(a.family == 4 || a.family == 6);
	/* ... and as a NetFlow relay frame */
	if (fwddef_relay_peek(data, size, &a) == 1)
		assert(size >= FWD_RELAY_HDR && (a.family == 4 || a.family == 6));
	if (fwddef_parse("fuzz", (const char *)data, size, &d, err,
	        sizeof(err)) != 0) {
		assert(err[0] != '\0');
		return 0;
	}
	o = fwddef_json(&d);
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	assert(s != NULL);
	assert(fwddef_parse("fuzz", s, strlen(s), &d2, err, sizeof(err)) == 0);
	assert(d.port == d2.port && d.n_agents == d2.n_agents &&
	    memcmp(&d.addr, &d2.addr, sizeof(d.addr)) == 0);
	for (size_t i = 0; i < d.n_agents; i++)
		assert(fwddef_wants(&d2, &d.agents[i]));
	free(s);
	return 0;
}
