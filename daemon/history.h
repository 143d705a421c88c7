/*
 * history.h: the history thread. Once a second it reads the published
 * snapshots (topology, interface counter rates from sFlow and SNMP, the
 * threshold event log) and hands the store what it keeps: per-minute
 * link rollups (rollup.h), every new topology version, and events. It
 * only reads immutable snapshots and only queues to the store, so it
 * never slows ingest.
 *
 * Top flows: two built-in flow definitions (TOPN_FLOW, topn.h: 5-tuples
 * counted at edge ingress, and HISTORY_LINK_FLOW, the same keyed first by
 * link:inputifindex) are read each second; each flow's rate times the
 * second is summed per minute by source, destination and protocol, and
 * the minute's HISTORY_TOP_K largest per
 * scope ("edge": measured at edge ingress only, so nothing counts twice;
 * or a link's name, for the HISTORY_TOP_LINKS busiest) go to the store.
 *
 * A link direction node1:port1 -> node2:port2 is measured at both ends:
 * bytes and packets from the sender's out counters, else the receiver's
 * in counters; discards and errors are the sender's out plus the
 * receiver's in (traffic lost on either side of the wire); utilisation
 * comes from the same end as the bytes (the sender's out, else the
 * receiver's in).
 */
#ifndef FABMON_HISTORY_H
#define FABMON_HISTORY_H

#include <stdint.h>

#include "logring.h"
#include "snap.h"
#include "store.h"

#define HISTORY_LINK_FLOW "fabmon_links"
/* what a stored top flow is keyed by: TOPN_5TUPLE's first three keys */
#define HISTORY_FLOW_KEYS                                                      \
	"or:ipsource:ip6source,or:ipdestination:ip6destination,"               \
	"or:ipprotocol:ip6nexthdr"
/* HISTORY_LINK_FLOW: link:inputifindex then TOPN_5TUPLE (topn.h), so
 * that ECMP collisions see 5-tuples. */
#define HISTORY_TOP_K     10
#define HISTORY_TOP_LINKS 100 /* links with top flows kept, per minute */

struct history_in {
	struct store *store;      /* NULL: nothing stored, link state only */
	struct snap_slot *topo;   /* struct topo_snap */
	struct snap_slot *engine; /* struct engine_snap (sFlow rates) */
	struct snap_slot *snmp;   /* struct ifc_snap (SNMP rates) */
	struct logring *thresh_events; /* struct thresh_event, or NULL */
	uint64_t started_ms;           /* the daemon's start: event refs */
	struct snap_slot *ingest;      /* struct ingest_snap: who sends flows */
	struct snap_slot *links_out;   /* struct links_snap, every second */
	struct snap_slot *top_out;     /* struct top_snap (topn.h) */
	int elephant_pct, busy_pct;    /* topn.h */
};

/*
 * Link state now (DESIGN §5), published every second: GET /api/v1/links
 * serves `json` as it is. Per link and direction: bps, pps, utilisation,
 * discards/s, errors/s from the interface counters (sFlow or SNMP, as in
 * the rollups); where neither end has counters, bps from the flow samples
 * (the built-in HISTORY_LINK_FLOW definition) marked "estimate". Per end:
 * which counters it has and whether its agent sends flow samples.
 */
struct links_snap {
	struct snap base;
	uint64_t taken_ms;
	char *json;
};

struct history_stats {
	uint64_t ticks;
	uint64_t link_minutes; /* rows handed to the store */
	uint64_t topologies;   /* versions handed to the store */
	uint64_t events;
	uint64_t top_rows; /* top flows handed to the store */
	uint64_t refused;  /* rollup rows refused (table full) */
};

struct history;

struct history *history_start(const struct history_in *);
void history_stop(struct history *);
void history_get_stats(struct history *, struct history_stats *);

#endif
