/*
 * topn.h: fabric-wide top-N (DESIGN §5): edge flows, talkers, protocol
 * stacks, the busiest ports, elephants and ECMP collisions.
 *
 * The history thread computes it once a second (topn_compute), from the
 * engine's snapshot of the built-in definition TOPN_FLOW (5-tuples and
 * stack, counted at edge ingress only), HISTORY_LINK_FLOW (what entered
 * each switch over each fabric link), the merged interface rates and
 * the link state, and publishes a struct top_snap. The service thread
 * renders it (GET /api/v1/top, the ws topic "top") and answers per-link
 * queries from the engine snapshot (GET /api/v1/top/link/{link}).
 */
#ifndef FABMON_TOPN_H
#define FABMON_TOPN_H

#include <stdbool.h>
#include <jansson.h>
#include <stdint.h>

#include "elephant.h"
#include "history.h"
#include "ifcounters.h"
#include "snap.h"

struct topo_graph;
struct engine_snap;

#define TOPN_FLOW "fabmon_flows"
/* every key always has a value for TCP, UDP and ICMP over IPv4 or
 * IPv6, so those are never "keyless" */
#define TOPN_5TUPLE                                                            \
	HISTORY_FLOW_KEYS ",or:tcpsourceport:udpsourceport:icmptype,"          \
	                  "or:tcpdestinationport:udpdestinationport:icmpcode"

/* the input ifIndex names the ingress edge port (an sFlow data source
 * is not always the port: uacctd sends 1) */
#define TOPN_KEYS TOPN_5TUPLE ",stack,inputifindex"
/* The built-in definitions' bodies (PUT /flow/{name}/json), created at
 * each start (main.c): HISTORY_LINK_FLOW and TOPN_FLOW. */
#define TOPN_LINK_DEF                                                          \
	"{\"keys\":\"link:inputifindex," TOPN_5TUPLE "\",\"value\":\"bytes\"," \
	"\"t\":10,\"n\":50}"
#define TOPN_FLOW_DEF                                                          \
	"{\"keys\":\"" TOPN_KEYS "\",\"value\":\"bytes\",\"t\":2,\"n\":200}"
#define TOPN_KEEP 100   /* per list */
#define TOPN_SCAN 20000 /* edge flows read for talkers and stacks */

struct topn_flow {
	char key[ELEPHANT_KEY_MAX]; /* the 5-tuple: "src,dst,proto,sp,dp" */
	char src[48], dst[48];
	int proto;
	long sport, dport; /* -1: none */
	char stack[64];
	uint32_t in_ifindex; /* 0 unknown */
	double bps;
	bool has_ingress;
	char node[ELEPHANT_NAME_MAX], port[ELEPHANT_NAME_MAX];
	double speed_bps; /* the ingress port's, 0 unknown */
	bool elephant;
};

struct topn_sum {
	char name[64];
	double bps;
	unsigned flows;
};

enum topn_port_list { TOPN_UTIL, TOPN_DISCARDS, TOPN_ERRORS, TOPN_NLISTS };

struct topn_port {
	char node[ELEPHANT_NAME_MAX], port[ELEPHANT_NAME_MAX];
	char link[ELEPHANT_NAME_MAX]; /* "" none */
	bool out;
	double value; /* %, or per second */
	double bps;   /* in that direction, < 0 unknown */
	double speed_bps;
	enum ifc_source source;
};

struct top_snap {
	struct snap base;
	uint64_t time; /* unix ms */
	uint64_t topology_version;
	int elephant_pct, busy_pct;
	struct topn_flow *flows; /* the TOPN_KEEP largest */
	size_t n_flows;
	struct topn_flow *elephants;
	size_t n_elephants;
	struct topn_sum *talkers, *stacks;
	size_t n_talkers, n_stacks;
	struct topn_port *ports[TOPN_NLISTS];
	size_t n_ports[TOPN_NLISTS];
	struct elephant_threshold *thresholds;
	size_t n_thresholds;
	struct elephant_coll *collisions; /* open, with their start */
	size_t n_collisions;
};

struct topn_in {
	const struct topo_graph *g;
	uint64_t topology_version;
	const struct engine_snap *es;
	const struct ifc_rates *rates; /* merged, sorted (counters.h) */
	size_t n_rates;
	const struct elephant_dir *dirs; /* every fabric link direction */
	size_t n_dirs;
	int elephant_pct, busy_pct;
	uint64_t now_ms, now_mono_ms;
};

/* The history thread's state: collision events over time. */
struct topn;

struct topn *topn_new(void);
void topn_free(struct topn *);

/*
 * Compute the top-N now into a new snapshot (the caller publishes or
 * puts it). cb is told of collision events opening and ending.
 */
struct top_snap *topn_compute(struct topn *, const struct topn_in *,
    void (*cb)(void *, const struct elephant_coll *, bool opened), void *arg);

/* A collision as JSON (the API's and the store's event detail). */
json_t *topn_collision_json(const struct elephant_coll *);

/* A key of TOPN_5TUPLE's values, optionally followed by stack and
 * input ifIndex (TOPN_KEYS), into f's fields; false if not one. */
bool topn_parse_key(const char *key, size_t len, struct topn_flow *f);

#endif
