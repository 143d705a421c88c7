/*
 * fwddef.h: sFlow-RT forwarding definitions (PUT /forwarding/{name}/json)
 * as plain data: parsing, checking and rendering. PURE: no I/O.
 *
 *	{"address":"10.99.0.102","port":6343,"agents":["10.99.0.21"]}
 *
 * address: where the raw datagrams go (an IPv4 or IPv6 literal; no DNS,
 * which would block). port: default 6343. agents: only datagrams from
 * these sFlow agents (the agent address inside the datagram); absent or
 * empty means every agent.
 */
#ifndef FABMON_FWDDEF_H
#define FABMON_FWDDEF_H

#include <jansson.h>
#include <stddef.h>

#include "sflow.h"

#define FWDDEF_MAX        16 /* forwarding targets per daemon */
#define FWDDEF_AGENTS_MAX 64

struct fwddef {
	char name[65];
	struct sflow_addr addr; /* family 4 or 6 */
	char addr_text[64];
	int port;
	size_t n_agents;
	struct sflow_addr agents[FWDDEF_AGENTS_MAX];
};

/*
 * Parse a body for `name` (checked like a flow name). Returns 0, or -1
 * with the reason in err (bad JSON with its position, an unknown field,
 * a bad address naming it, a port out of 1..65535).
 */
int fwddef_parse(const char *name, const char *json, size_t len,
    struct fwddef *out, char *err, size_t errlen);

/* The definition as GET returns it. */
json_t *fwddef_json(const struct fwddef *);

/* Does d forward datagrams from agent? */
bool fwddef_wants(const struct fwddef *d, const struct sflow_addr *agent);

/*
 * The agent address of a raw sFlow v5 datagram, without decoding the
 * rest. Returns 0, or -1 if buf is not long enough or not sFlow v5.
 */
int fwddef_peek_agent(const uint8_t *buf, size_t len, struct sflow_addr *out);

#endif
