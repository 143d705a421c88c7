/*
 * counters.h: published interface counter rates. Two producers fill the
 * same kind of snapshot: the ingest thread from sFlow counter samples
 * (engine.c) and the topology thread from SNMP IF-MIB polls (topo.c).
 * The API merges them (sFlow first) for /metric, /table and Prometheus.
 */
#ifndef FABMON_COUNTERS_H
#define FABMON_COUNTERS_H

#include "ifcounters.h"
#include "snap.h"

struct ifc_snap {
	struct snap base;
	uint64_t taken_ms;       /* wall clock */
	struct ifc_rates *rates; /* sorted by (agent, ifIndex) */
	size_t n;
	struct ifc_stats stats;
};

/* The owner thread: a snapshot of its table (caller owns a reference). */
struct ifc_snap *ifc_snap_take(const struct ifc_table *, uint64_t wall_ms);

#endif
