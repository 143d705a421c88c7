/*
 * thresholds.h: sFlow-RT thresholds (PUT /threshold/{name}/json) and
 * their events (/events/json). The registry is shared with the API
 * thread under a mutex; evaluation runs on the ingest thread, once per
 * push period, on the engine's fresh snapshot and the SNMP counters.
 *
 * What is compared with a threshold's value:
 *	a flow definition's name: per data source (agent, ifIndex), its
 *	    largest flow's smoothed value; with byFlow, every flow of each
 *	    data source's top n, each its own key (flowKey in the event);
 *	a counter metric (ifinutilization, ifindiscards, ...): per
 *	    interface, its value (metrics.h).
 * Filter attributes: agent, dataSource, node, ifname, and for counter
 * metrics ifspeed. Events go to the event log ring (struct thresh_event).
 */
#ifndef FABMON_THRESHOLDS_H
#define FABMON_THRESHOLDS_H

#include <stdint.h>

#include "threshold.h"

struct thresholds;
struct logring;
struct engine_snap;
struct ifc_snap;
struct topo_snap;

/* events: where events go (outlives this). */
struct thresholds *thresholds_new(struct logring *events);
void thresholds_free(struct thresholds *);

/* Any thread: 0 (1 if unchanged), or -1 with why (too many). */
int thresholds_put(
    struct thresholds *, const struct threshold *, char *err, size_t errlen);
/* Any thread: 0, or -1 if absent. */
int thresholds_delete(struct thresholds *, const char *name);
/* Any thread: a copy into *out (heap, caller frees); 0 or -1 if absent. */
int thresholds_get(
    struct thresholds *, const char *name, struct threshold **out);
/* Any thread: every name, sorted (malloc'ed array of malloc'ed copies:
 * free each, then the array). */
struct threshold **thresholds_list(struct thresholds *, size_t *n);

/*
 * Ingest thread: check every threshold against es (flow metrics, sFlow
 * counters) and snmp (SNMP counters; may be NULL); ts names nodes and
 * ports (may be NULL). Returns how many events fired.
 */
size_t thresholds_eval(struct thresholds *, const struct engine_snap *es,
    const struct ifc_snap *snmp, const struct topo_snap *ts, uint64_t mono_ms,
    uint64_t wall_ms);

struct thresholds_stats {
	uint64_t events;
	uint64_t untracked;
	size_t tracked;
};
void thresholds_stats(struct thresholds *, struct thresholds_stats *);

#endif
