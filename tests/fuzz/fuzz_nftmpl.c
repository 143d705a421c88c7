/*
 * fuzz_nftmpl.c: stored NetFlow/IPFIX templates (nftmpl.h) on arbitrary
 * bytes: what parses is consistent, renders, and parses back the same.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nftmpl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct netflow_template t, t2;
	struct netflow_tkey k, k2;
	char err[128];
	char *js;

	if (nftmpl_from_json((const char *)data, size, &k, &t, err,
	        sizeof(err)) != 0) {
		assert(err[0] != '\0');
		return 0;
	}
	assert(netflow_template_check(&t) == NETFLOW_OK);
	js = nftmpl_to_json(&k, &t);
	assert(nftmpl_from_json(js, strlen(js), &k2, &t2, err, sizeof(err)) ==
	    0);
	assert(k2.id == k.id && k2.domain == k.domain &&
	    k2.version == k.version && t2.n_fields == t.n_fields &&
	    t2.n_scope == t.n_scope && t2.options == t.options &&
	    memcmp(t2.f, t.f, t.n_fields * sizeof(t.f[0])) == 0);
	free(js);
	return 0;
}
