/*
 * nftmpl.c: NetFlow/IPFIX templates to and from JSON; see nftmpl.h. PURE.
 */
#include <arpa/inet.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "nftmpl.h"
#include "util.h"

void
nftmpl_name(char *buf, size_t len, const struct netflow_tkey *k)
{
	char a[64];

	addr_fmt(a, sizeof(a), k->exporter.family, k->exporter.a);
	snprintf(buf, len, "%u/%s/%u/%u", k->version, a, k->domain, k->id);
}

char *
nftmpl_to_json(const struct netflow_tkey *k, const struct netflow_template *t)
{
	json_t *o, *f;
	char a[64], *s;

	addr_fmt(a, sizeof(a), k->exporter.family, k->exporter.a);
	f = json_array();
	for (unsigned i = 0; i < t->n_fields && i < NETFLOW_FIELDS_MAX; i++)
		json_array_append_new(f,
		    json_pack("[III]", (json_int_t)t->f[i].id,
		        (json_int_t)t->f[i].len, (json_int_t)t->f[i].pen));
	o = json_pack("{ss sI sI sI sb sI so}", "exporter", a, "domain",
	    (json_int_t)k->domain, "version", (json_int_t)k->version, "id",
	    (json_int_t)k->id, "options", t->options, "scope",
	    (json_int_t)t->n_scope, "fields", f);
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (s == NULL)
		abort(); /* out of memory: as the x* allocators */
	return s;
}

static int
uint_in(json_t *v, json_int_t max, json_int_t *out)
{
	if (!json_is_integer(v))
		return -1;
	*out = json_integer_value(v);
	return *out < 0 || *out > max ? -1 : 0;
}

int
nftmpl_from_json(const char *json, size_t len, struct netflow_tkey *k,
    struct netflow_template *t, char *err, size_t errlen)
{
	json_error_t je;
	json_t *o, *f;
	json_int_t dom, ver, id, scope;
	const char *addr;
	size_t i, n;
	int rc = -1;

	memset(k, 0, sizeof(*k));
	memset(t, 0, sizeof(*t));
	o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	if (o == NULL) {
		snprintf(
		    err, errlen, "bad JSON at %d: %s", je.position, je.text);
		return -1;
	}
	if (!json_is_object(o) ||
	    !json_is_string(json_object_get(o, "exporter")) ||
	    uint_in(json_object_get(o, "domain"), UINT32_MAX, &dom) != 0 ||
	    uint_in(json_object_get(o, "version"), 10, &ver) != 0 ||
	    (ver != 9 && ver != 10) ||
	    uint_in(json_object_get(o, "id"), 65535, &id) != 0 || id < 256 ||
	    !json_is_boolean(json_object_get(o, "options")) ||
	    uint_in(json_object_get(o, "scope"), NETFLOW_FIELDS_MAX, &scope) !=
	        0 ||
	    !json_is_array(f = json_object_get(o, "fields"))) {
		snprintf(err, errlen,
		    "needs exporter, domain, version 9 or 10, id >= 256, "
		    "options, scope and fields");
		goto out;
	}
	addr = json_string_value(json_object_get(o, "exporter"));
	if (inet_pton(AF_INET, addr, k->exporter.a) == 1)
		k->exporter.family = 4;
	else if (inet_pton(AF_INET6, addr, k->exporter.a) == 1)
		k->exporter.family = 6;
	else {
		snprintf(err, errlen, "exporter is not an address");
		goto out;
	}
	n = json_array_size(f);
	if (n == 0 || n > NETFLOW_FIELDS_MAX) {
		snprintf(err, errlen, "1 to %d fields", NETFLOW_FIELDS_MAX);
		goto out;
	}
	for (i = 0; i < n; i++) {
		json_t *e = json_array_get(f, i);
		json_int_t fid, flen, pen;

		if (!json_is_array(e) || json_array_size(e) != 3 ||
		    uint_in(json_array_get(e, 0), 65535, &fid) != 0 ||
		    uint_in(json_array_get(e, 1), 65535, &flen) != 0 ||
		    uint_in(json_array_get(e, 2), UINT32_MAX, &pen) != 0) {
			snprintf(err, errlen,
			    "field %zu is not [id, length, enterprise]", i);
			goto out;
		}
		t->f[i].id = (uint16_t)fid;
		t->f[i].len = (uint16_t)flen;
		t->f[i].pen = (uint32_t)pen;
	}
	k->domain = (uint32_t)dom;
	k->version = (uint16_t)ver;
	k->id = (uint16_t)id;
	t->id = (uint16_t)id;
	t->options = json_is_true(json_object_get(o, "options"));
	t->n_fields = (uint16_t)n;
	t->n_scope = (uint16_t)scope;
	if (netflow_template_check(t) != NETFLOW_OK) {
		snprintf(err, errlen, "inconsistent template");
		goto out;
	}
	rc = 0;
out:
	json_decref(o);
	return rc;
}
