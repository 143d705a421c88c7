/*
 * engine.h: the flow engine. It runs in the ingest thread: every flow
 * sample is turned into a flow record (flowrec.c), matched against each
 * active flow definition's filter (filter.c), keyed (flowrec.c) and
 * counted in that definition's bounded, smoothed table (flowtab.c).
 * Each push period the ingest thread publishes a struct engine_snap of
 * every table's top entries for the API.
 *
 * Definitions come from the API thread through engine_put/engine_delete:
 * they are compiled there (so a bad filter is refused with its position
 * before anything changes) and applied by the ingest thread at its next
 * turn. Topology lookups (node:/link: keys, edge/core) read the latest
 * topology snapshot.
 */
#ifndef FABMON_ENGINE_H
#define FABMON_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "blackhole.h"
#include "flowdef.h"
#include "flowtab.h"
#include "sflow.h"
#include "snap.h"
#include "spread.h"
#include "jsonlog.h"

struct engine;
struct flow_rec;

struct engine_flow {
	struct flowdef def;
	struct flowtab_snapshot *tab; /* owned by the snapshot */
	struct flowtab_stats stats;
	uint64_t matched; /* samples that passed the filter */
	uint64_t keyless; /* ... but had a key without a value */
};

/* The sample cache's counters (engine_set_cache()). */
struct engine_cache_stats {
	uint64_t hits, misses; /* samples found in it, or not */
	uint64_t stale;        /* entries it named that had gone or moved */
	uint64_t entries, bytes;
};

struct engine_snap {
	struct snap base;
	uint64_t taken_mono_ms;
	uint64_t samples; /* flow samples seen by the engine */
	uint64_t flowlog_records;
	uint64_t netflow_records; /* NetFlow/IPFIX flow records taken */
	struct spread_stats spread;
	bool jsonlog_on;
	struct jsonlog_stats jsonlog;
	struct ifc_snap *ifc; /* sFlow counter rates (a reference) */
	size_t n;
	struct engine_flow *flows; /* sorted by name */
	/* black holes (blackhole.h): open and recently closed events */
	struct bh_event *bh;
	size_t n_bh;
	struct bh_stats bh_stats;
	bool bh_on;
	struct engine_cache_stats cache; /* the sample cache */
};

/* Flow log records kept (sFlow-RT's /flows/json), for all definitions. */
#define ENGINE_FLOWLOG_MAX 10000
/* Events kept (sFlow-RT's /events/json). */
#define ENGINE_EVENTLOG_MAX 10000

/* Interfaces whose sFlow counters are kept, and their expiry. */
#define ENGINE_MAX_IFACES       (1 << 20)
#define ENGINE_IFACE_MAX_AGE_MS (10 * 60 * 1000)

/* Entries kept per definition; beyond it the smallest are evicted. */
#define ENGINE_MAX_ENTRIES 200000
/*
 * Data sources (agent, ifIndex) given an id that every table indexes
 * directly; more are looked up by address in each table (slower, never
 * lost). 2^18: four times 1,000 switches x 64 ports.
 */
#define ENGINE_SRC_IDS (1u << 18)

/*
 * One record of the flow log (sFlow-RT's /flows/json), as the engine
 * appends it to the log ring; the ring owns it (engine_flowlog_free).
 */
struct engine_flowrec {
	char name[FLOWDEF_NAME_MAX + 1];
	struct sflow_addr agent;
	uint32_t ds;
	double value;      /* bytes or frames in [start, end], scaled */
	uint64_t start_ms; /* wall clock */
	uint64_t end_ms;
	size_t keylen;
	char key[]; /* the flowKeys, NUL-terminated */
};
void engine_flowlog_free(void *);

struct logring;
struct ifc_snap;

/* topo: the topology slot (struct topo_snap), may be NULL. */
struct engine *engine_new(struct snap_slot *topo);
void engine_free(struct engine *);

/*
 * Any thread: check and queue a definition (replacing one of the same
 * name). Returns 0 (1 when it was already defined identically), or -1
 * with why in err: a bad key or filter, with its position, or too many
 * definitions.
 */
int engine_put(
    struct engine *, const struct flowdef *, char *err, size_t errlen);
/* Any thread: queue a deletion. Returns 0, or -1 if no such flow. */
int engine_delete(struct engine *, const char *name);
/* Any thread: copy the definition; returns 0 or -1 if absent. */
int engine_get(struct engine *, const char *name, struct flowdef *out);
/* Any thread: copy every definition (malloc'ed, sorted by name). */
struct flowdef *engine_list(struct engine *, size_t *n);

/*
 * Before the ingest thread starts: where definitions with "log" append
 * their records (struct engine_flowrec). The ring outlives the engine.
 */
void engine_set_flowlog(struct engine *, struct logring *);
/*
 * Before the ingest thread starts: evaluate th at every snapshot, with
 * the SNMP counters of snmp_ifc (struct ifc_snap; may be NULL).
 */
struct thresholds;
void engine_set_thresholds(
    struct engine *, struct thresholds *th, struct snap_slot *snmp_ifc);
/* Before the ingest thread starts: detect black holes (blackhole.h),
 * closing an event once quiet for quiet_ms. */
void engine_set_blackholes(struct engine *, uint64_t quiet_ms);
/* Before the ingest thread starts: use counter samples for rates? */
void engine_set_counters(struct engine *, bool on);
/*
 * Before the ingest thread starts: write every sFlow flow sample and
 * NetFlow record to the JSON flow log jl (NULL: none; jsonlog.h).
 */
void engine_set_jsonlog(struct engine *, struct jsonlog *jl);
/* Ingest thread: true if records were logged since the last call. */
bool engine_logged(struct engine *);

/* Ingest thread: apply queued changes, refresh the topology view. */
void engine_tick(struct engine *, uint64_t mono_ms);
/*
 * Ingest thread: one decoded sample (its records are consumed). Its adds
 * to the flow tables wait in a pipeline for the next ENGINE_PIPE samples;
 * engine_flush() finishes them. The ingest thread flushes after each
 * receive batch; engine_tick() and engine_snapshot() flush first.
 */
#define ENGINE_PIPE 3
void engine_sample(struct engine *, const struct sflow_datagram *,
    struct sflow_sample *, uint64_t mono_ms);
void engine_flush(struct engine *);

/* What a NetFlow/IPFIX record says beyond its flow_rec. */
struct engine_nf {
	uint8_t source;          /* JSONLOG_NETFLOW5, _NETFLOW9, _IPFIX */
	uint64_t packets;        /* as exported (>= 1) */
	uint32_t rate;           /* sampling rate (>= 1) */
	uint64_t scaled_bytes;   /* bytes * rate */
	uint64_t scaled_packets; /* packets * rate */
	int64_t start_ms;        /* Unix ms; end == start: no duration */
	int64_t end_ms;
};
/*
 * Ingest thread: a NetFlow/IPFIX flow record, mapped by
 * netflow_to_flowrec() (rec->frame_length the mean packet size). It goes
 * to the JSON flow log whole, and to the flow tables spread over its
 * duration (spread.h): a slice now, the rest from engine_tick().
 */
void engine_netflow(struct engine *, const struct flow_rec *rec,
    const struct engine_nf *nf, uint64_t mono_ms);
/*
 * Ingest thread: the sample cache on or off (on by default; engine.c's
 * engine_record() says what it is). For tests and benchmarks: with it
 * off, every sample goes through every filter and key.
 */
void engine_set_cache(struct engine *, bool on);
void engine_cache_stats(const struct engine *, struct engine_cache_stats *);
/* Ingest thread: a snapshot of every table (caller owns a reference). */
struct engine_snap *engine_snapshot(struct engine *, uint64_t mono_ms);

#endif
