/*
 * fuzz_hasync_msg.c: the HA configuration-sync message parser and the
 * signature check on arbitrary bytes: what parses builds and parses back
 * the same; a signature is only ever accepted for the bytes it signs.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hasync_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hasync_msg m, m2;
	char err[160], sig[7 + HASYNC_SIG_HEX + 1], *b;

	/* the bytes as a signature header value: never accepted unless it
	 * is the one for "x" */
	{
		char *s = malloc(size + 1);

		memcpy(s, data, size);
		s[size] = '\0';
		hasync_sign("k", "x", 1, sig);
		assert(!hasync_verify("k", "x", 1, s) || strcmp(s, sig) == 0);
		free(s);
	}
	if (hasync_parse((const char *)data, size, &m, err, sizeof(err)) !=
	    0) {
		assert(err[0] != '\0');
		return 0;
	}
	assert(hasync_kind_name(m.kind) != NULL && m.name[0] != '\0');
	b = hasync_build(m.ts, m.kind, m.name, m.json, m.pull);
	assert(hasync_parse(b, strlen(b), &m2, err, sizeof(err)) == 0);
	assert(m2.ts == m.ts && m2.kind == m.kind && m2.pull == m.pull &&
	    strcmp(m2.name, m.name) == 0 &&
	    (m.json == NULL) == (m2.json == NULL) &&
	    (m.json == NULL || strcmp(m.json, m2.json) == 0));
	hasync_sign("secret", b, strlen(b), sig);
	assert(hasync_verify("secret", b, strlen(b), sig));
	assert(!hasync_verify("secreT", b, strlen(b), sig));
	free(b);
	free(m.json);
	free(m2.json);
	return 0;
}
