/*
 * ifmib.h: turn an IF-MIB counter walk into interface counter readings
 * (ifcounters.h). PURE: no I/O. The topology thread walks IFMIB_SUBTREES
 * on every switch each snmp.counters_s and feeds the readings to its
 * counter table.
 */
#ifndef FABMON_IFMIB_H
#define FABMON_IFMIB_H

#include <stddef.h>
#include <stdint.h>

#include "ifcounters.h"
#include "walk.h"

/* The columns walked, as numeric OIDs (no MIB files needed). */
extern const char *const ifmib_subtrees[];
extern const size_t ifmib_n_subtrees;

/*
 * One reading per ifIndex found in w, for agent, sorted by ifIndex;
 * *out is malloc'ed (the caller frees it) and *n its length. Varbinds of
 * the wrong type or with a bad index are skipped and counted in *bad.
 * ifHighSpeed (Mb/s) gives the speed; the HC (64-bit) octet and packet
 * counters are used, with the 32-bit discards and errors.
 */
void ifmib_readings(const struct walk *w, const struct sflow_addr *agent,
    struct ifc_reading **out, size_t *n, uint64_t *bad);

#endif
