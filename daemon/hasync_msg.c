/*
 * hasync_msg.c: signed configuration-sync messages; see hasync_msg.h.
 * PURE.
 */
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hasync_msg.h"
#include "util.h"

static const char *const kinds[] = {
	[HASYNC_FLOW] = "flow",
	[HASYNC_THRESHOLD] = "threshold",
	[HASYNC_TOPOLOGY] = "topology",
	[HASYNC_NFTMPL] = "netflow_template",
};

const char *
hasync_kind_name(int kind)
{
	return kind >= 0 && (size_t)kind < nitems(kinds) ? kinds[kind] : NULL;
}

int
hasync_kind_parse(const char *s)
{
	for (size_t i = 0; s != NULL && i < nitems(kinds); i++)
		if (strcmp(s, kinds[i]) == 0)
			return (int)i;
	return -1;
}

static void
mac(const char *secret, const void *data, size_t len, uint8_t out[32])
{
	unsigned int n = 32;

	if (HMAC(EVP_sha256(), secret, (int)strlen(secret), data, len, out,
	        &n) == NULL)
		memset(out, 0, 32);
}

void
hasync_sign(const char *secret, const void *data, size_t len,
    char out[7 + HASYNC_SIG_HEX + 1])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t m[32];

	mac(secret, data, len, m);
	memcpy(out, "sha256=", 7);
	for (int i = 0; i < 32; i++) {
		out[7 + 2 * i] = hex[m[i] >> 4];
		out[7 + 2 * i + 1] = hex[m[i] & 15];
	}
	out[7 + HASYNC_SIG_HEX] = '\0';
}

bool
hasync_verify(const char *secret, const void *data, size_t len, const char *sig)
{
	char want[7 + HASYNC_SIG_HEX + 1];

	if (secret == NULL || *secret == '\0' || sig == NULL ||
	    strlen(sig) != 7 + HASYNC_SIG_HEX)
		return false;
	hasync_sign(secret, data, len, want);
	return CRYPTO_memcmp(want, sig, sizeof(want) - 1) == 0;
}

char *
hasync_build(
    int64_t ts, int kind, const char *name, const char *json, bool pull)
{
	json_t *o = json_pack("{s:I, s:s, s:s, s:o, s:s}", "ts", (json_int_t)ts,
	    "kind", hasync_kind_name(kind), "name", name, "json",
	    json ? json_string(json) : json_null(), "origin",
	    pull ? "pull" : "peer");
	char *s;

	if (o == NULL)
		abort(); /* a bad kind or a name that is not UTF-8: a bug */
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (s == NULL)
		abort();
	return s;
}

int
hasync_parse(const char *body, size_t len, struct hasync_msg *m, char *err,
    size_t errlen)
{
	json_error_t je;
	json_t *o, *ts, *kind, *name, *js, *origin;
	int rc = -1;

	memset(m, 0, sizeof(*m));
	o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (o == NULL) {
		snprintf(
		    err, errlen, "bad JSON at %d: %s", je.position, je.text);
		return -1;
	}
	ts = json_object_get(o, "ts");
	kind = json_object_get(o, "kind");
	name = json_object_get(o, "name");
	js = json_object_get(o, "json");
	origin = json_object_get(o, "origin");
	if (!json_is_object(o) || !json_is_integer(ts) ||
	    !json_is_string(kind) || !json_is_string(name) ||
	    !(json_is_string(js) || json_is_null(js)) ||
	    !json_is_string(origin)) {
		snprintf(err, errlen,
		    "needs ts, kind, name, json (a string or null) and origin");
		goto out;
	}
	if ((m->kind = hasync_kind_parse(json_string_value(kind))) < 0) {
		snprintf(err, errlen,
		    "kind: flow, threshold, topology or netflow_template");
		goto out;
	}
	if (json_string_length(name) == 0 ||
	    json_string_length(name) > HASYNC_NAME_MAX ||
	    strlen(json_string_value(name)) != json_string_length(name)) {
		snprintf(err, errlen, "name: 1 to %d bytes", HASYNC_NAME_MAX);
		goto out;
	}
	if (strcmp(json_string_value(origin), "peer") != 0 &&
	    strcmp(json_string_value(origin), "pull") != 0) {
		snprintf(err, errlen, "origin: peer or pull");
		goto out;
	}
	m->ts = (int64_t)json_integer_value(ts);
	memcpy(m->name, json_string_value(name), json_string_length(name));
	m->pull = strcmp(json_string_value(origin), "pull") == 0;
	if (json_is_string(js)) {
		size_t n = json_string_length(js);

		m->json = xmalloc(n + 1);
		memcpy(m->json, json_string_value(js), n);
		m->json[n] = '\0';
	}
	rc = 0;
out:
	json_decref(o);
	return rc;
}
