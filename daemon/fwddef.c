/*
 * fwddef.c: parse and render forwarding definitions. PURE: no I/O.
 */
#include <stdio.h>
#include <string.h>

#include "flowdef.h"
#include "fwddef.h"
#include "util.h"

#define FAIL(...)                                                              \
	do {                                                                   \
		snprintf(err, errlen, __VA_ARGS__);                            \
		json_decref(root);                                             \
		return -1;                                                     \
	} while (0)

int
fwddef_parse(const char *name, const char *json, size_t len, struct fwddef *d,
    char *err, size_t errlen)
{
	json_error_t je;
	json_t *root, *v;
	const char *k;
	bool have_addr = false, have_port = false;

	memset(d, 0, sizeof(*d));
	if (!flowdef_name_ok(name)) {
		snprintf(err, errlen,
		    "forwarding name '%.80s': 1 to 64 of [A-Za-z0-9_.-]", name);
		return -1;
	}
	memcpy(d->name, name, strlen(name) + 1);
	d->port = 6343;
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		snprintf(err, errlen, "bad JSON at line %d column %d: %s",
		    je.line, je.column, je.text);
		return -1;
	}
	if (!json_is_object(root))
		FAIL("a forwarding definition is a JSON object");
	json_object_foreach(root, k, v)
	{
		if (strcmp(k, "address") == 0) {
			const char *s = json_string_value(v);

			if (s == NULL || strlen(s) >= sizeof(d->addr_text) ||
			    sflow_addr_parse(s, &d->addr) != 0)
				FAIL("address: an IPv4 or IPv6 address");
			snprintf(d->addr_text, sizeof(d->addr_text), "%s", s);
			have_addr = true;
		} else if (strcmp(k, "port") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) < 1 ||
			    json_integer_value(v) > 65535)
				FAIL("port: an integer in 1..65535");
			d->port = (int)json_integer_value(v);
			have_port = true;
		} else if (strcmp(k, "protocol") == 0) {
			const char *s = json_string_value(v);

			if (s != NULL && strcmp(s, "sflow") == 0)
				d->netflow = false;
			else if (s != NULL && strcmp(s, "netflow") == 0)
				d->netflow = true;
			else
				FAIL("protocol: \"sflow\" or \"netflow\"");
		} else if (strcmp(k, "relay") == 0) {
			if (!json_is_boolean(v))
				FAIL("relay: true or false");
			d->relay = json_is_true(v);
		} else if (strcmp(k, "agents") == 0) {
			size_t i;
			json_t *e;

			if (!json_is_array(v))
				FAIL("agents: an array of addresses");
			if (json_array_size(v) > FWDDEF_AGENTS_MAX)
				FAIL("agents: at most %d", FWDDEF_AGENTS_MAX);
			json_array_foreach(v, i, e)
			{
				const char *s = json_string_value(e);

				if (s == NULL ||
				    sflow_addr_parse(s, &d->agents[i]) != 0)
					FAIL("agents[%zu]: not an address", i);
			}
			d->n_agents = json_array_size(v);
		} else {
			char tok[96];

			FAIL("unknown field %s (address, port, protocol, "
			     "relay, agents)",
			    str_snippet(tok, sizeof(tok), k, strlen(k)));
		}
	}
	if (!have_addr)
		FAIL("address is required");
	if (d->netflow && !have_port)
		d->port = 2055;
	if (d->relay && !d->netflow)
		FAIL("relay: only with \"protocol\":\"netflow\"");
	json_decref(root);
	return 0;
}

json_t *
fwddef_json(const struct fwddef *d)
{
	json_t *o = json_object(), *a = json_array();
	char buf[64];

	json_object_set_new(o, "address", json_string(d->addr_text));
	json_object_set_new(o, "port", json_integer(d->port));
	json_object_set_new(
	    o, "protocol", json_string(d->netflow ? "netflow" : "sflow"));
	if (d->relay)
		json_object_set_new(o, "relay", json_true());
	for (size_t i = 0; i < d->n_agents; i++)
		json_array_append_new(a,
		    json_string(addr_fmt(buf, sizeof(buf), d->agents[i].family,
		        d->agents[i].a)));
	json_object_set_new(o, "agents", a);
	return o;
}

bool
fwddef_wants(const struct fwddef *d, const struct sflow_addr *agent)
{
	if (d->n_agents == 0)
		return true;
	for (size_t i = 0; i < d->n_agents; i++)
		if (d->agents[i].family == agent->family &&
		    memcmp(d->agents[i].a, agent->a,
		        agent->family == 4 ? 4 : 16) == 0)
			return true;
	return false;
}

int
fwddef_peek_agent(const uint8_t *buf, size_t len, struct sflow_addr *out)
{
	uint32_t ver, type;

	memset(out, 0, sizeof(*out));
	if (len < 12)
		return -1;
	ver = sflow_rd32(buf);
	type = sflow_rd32(buf + 4);
	if (ver != 5)
		return -1;
	if (type == 1) {
		out->family = 4;
		memcpy(out->a, buf + 8, 4);
		return 0;
	}
	if (type == 2 && len >= 24) {
		out->family = 6;
		memcpy(out->a, buf + 8, 16);
		return 0;
	}
	return -1;
}

void
fwddef_relay_header(uint8_t hdr[FWD_RELAY_HDR],
    const struct sflow_addr *exporter, uint16_t port)
{
	memset(hdr, 0, FWD_RELAY_HDR);
	memcpy(hdr, "FMR1", 4);
	hdr[4] = exporter->family;
	hdr[6] = (uint8_t)(port >> 8);
	hdr[7] = (uint8_t)port;
	memcpy(hdr + 8, exporter->a, 16);
}

int
fwddef_relay_peek(const uint8_t *buf, size_t len, struct sflow_addr *exporter)
{
	if (len < 4 || memcmp(buf, "FMR1", 4) != 0)
		return 0;
	if (len < FWD_RELAY_HDR || (buf[4] != 4 && buf[4] != 6))
		return -1;
	memset(exporter, 0, sizeof(*exporter));
	exporter->family = buf[4];
	memcpy(exporter->a, buf + 8, buf[4] == 4 ? 4 : 16);
	return 1;
}
