/*
 * fwddef.h: sFlow-RT forwarding definitions (PUT /forwarding/{name}/json)
 * as plain data: parsing, checking and rendering. PURE: no I/O.
 *
 *	{"address":"10.99.0.102","port":6343,"agents":["10.99.0.21"]}
 *
 * address: where the raw datagrams go (an IPv4 or IPv6 literal; no DNS,
 * which would block). protocol: "sflow" (the default) forwards what came
 * to the sFlow sockets, "netflow" what came to the NetFlow/IPFIX ones.
 * port: default 6343 (sflow) or 2055 (netflow). agents: only datagrams
 * from these sFlow agents (the agent address inside the datagram; for
 * NetFlow, the exporter's UDP source address); absent or empty means
 * every agent. relay (netflow only): wrap each datagram with its
 * exporter's address (below), for another fabmond: a NetFlow exporter is
 * known only by its UDP source address, which forwarding replaces.
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
	bool netflow; /* "protocol":"netflow" */
	bool relay;   /* "relay":true */
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

/*
 * The relay frame: "FMR1", the exporter's family (4 or 6), a zero byte,
 * its UDP port (network order), its address (16 bytes, IPv4 in the first
 * 4), then the datagram. NetFlow/IPFIX versions are 5, 9 and 10, so the
 * magic is never a real datagram's start.
 */
#define FWD_RELAY_HDR 24
void fwddef_relay_header(uint8_t hdr[FWD_RELAY_HDR],
    const struct sflow_addr *exporter, uint16_t port);
/* 1 with *exporter set when buf starts a relay frame (the datagram
 * follows at FWD_RELAY_HDR), 0 when it does not, -1 when it is one but
 * malformed (too short, a bad family). */
int fwddef_relay_peek(
    const uint8_t *buf, size_t len, struct sflow_addr *exporter);

#endif
