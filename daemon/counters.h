/*
 * counters.h: published interface counter rates. Two producers fill the
 * same kind of snapshot: the ingest thread from sFlow counter samples
 * (engine.c) and the topology thread from SNMP IF-MIB polls (topo.c).
 * The API merges them (sFlow first) for /metric, /table and Prometheus.
 */
#ifndef FABMON_COUNTERS_H
#define FABMON_COUNTERS_H

#include <stdbool.h>

#include "ifcounters.h"
#include "snap.h"

struct ifc_snap {
	struct snap base;
	uint64_t taken_ms;       /* wall clock */
	struct ifc_rates *rates; /* sorted by (agent, ifIndex) */
	size_t n;
	struct ifc_stats stats;
};

/*
 * Where an interface has rates from both sources: sFlow's win while they
 * are fresh (IFC_SFLOW_FRESH_MS) and are rates, not a lone reading (some
 * agents, e.g. uacctd, send a stray counter sample that would otherwise
 * hide the SNMP rates).
 */
static inline bool
ifc_sflow_wins(const struct ifc_rates *sflow, uint64_t now_wall_ms)
{
	return sflow->interval_ms > 0 && sflow->have != 0 &&
	    now_wall_ms - sflow->updated_ms < IFC_SFLOW_FRESH_MS;
}

/*
 * Both sources' rates in one list sorted by (agent, ifIndex), sFlow's
 * where ifc_sflow_wins(). Either may be NULL. The caller frees *out.
 */
size_t ifc_rates_merge(const struct ifc_snap *sflow,
    const struct ifc_snap *snmp, uint64_t now_wall_ms, struct ifc_rates **out);
/*
 * The same list, without a copy when only one source has rates: *out then
 * points into that snapshot (valid while the caller holds it) and *owned
 * is false; otherwise it is ifc_rates_merge()'s, for the caller to free.
 */
size_t ifc_rates_merged(const struct ifc_snap *sflow,
    const struct ifc_snap *snmp, uint64_t now_wall_ms,
    const struct ifc_rates **out, bool *owned);
/* In such a list (sorted by agent, ifIndex): the interface, or NULL. The
 * agent's unused address bytes must be zero. */
const struct ifc_rates *ifc_rates_find(const struct ifc_rates *, size_t n,
    const struct sflow_addr *agent, uint32_t ifindex);

/* The owner thread: a snapshot of its table (caller owns a reference). */
struct ifc_snap *ifc_snap_take(struct ifc_table *, uint64_t wall_ms);

#endif
