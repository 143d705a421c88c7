/*
 * ifcounters.h: interface counter readings -> per-second rates, for the
 * sFlow-RT counter metrics (metrics.h). PURE: no I/O, no logging.
 *
 * Readings come from sFlow counter samples (the generic interface record,
 * through ifc_from_sflow()) and from SNMP IF-MIB polls (the poller fills a
 * struct ifc_reading itself). A table keeps, per (agent, ifIndex), the
 * previous reading as a baseline and the rates computed from the last two.
 *
 * Thread model: a table has one owner thread, the only one that may call
 * the functions taking a struct ifc_table; there are no locks. What
 * ifc_rates_all() returns is a plain copy that the owner can hand over.
 *
 * Rules, per counter, between the baseline and a new reading:
 *	rate = delta / interval, in units per second (octets: bytes/s);
 *	a 32-bit counter that went down wrapped (modulo 2^32), unless the
 *	    wrapped delta implies more than the speed allows: then it reset;
 *	a 64-bit counter that went down reset;
 *	an octet rate above 2x the line rate (speed known) is implausible.
 * A reset or an implausible jump is a discontinuity: the whole reading
 * gives no rates, is counted, and becomes the new baseline.
 *
 * Agent caches: an SNMP agent answers from a cache that it refreshes on
 * its own timer (net-snmp: IF-MIB every ~3 s), so a reading's counters are
 * up to one refresh period older than the poll. A rate over a poll interval
 * P is therefore off by up to period/P; the errors cancel over consecutive
 * intervals. When a poll lands before the agent's next refresh, it repeats
 * the baseline exactly: for an interface whose counters were moving, such
 * a repeat is held (counted as stale; the baseline and the rates stay), so
 * that the next reading spans both intervals instead of showing a moving
 * port at zero and then at twice its rate. A second repeat in a row is
 * taken: the port really stopped. sFlow counter samples are never held.
 *
 * Sources: sFlow is preferred. While an interface follows sFlow and its
 * last sFlow reading is under IFC_SFLOW_FRESH_MS old, SNMP readings of it
 * are ignored; otherwise a reading from the other source switches the
 * interface to it and restarts the baseline (the old source's rates are
 * dropped rather than mixed with the new one's).
 */
#ifndef FABMON_IFCOUNTERS_H
#define FABMON_IFCOUNTERS_H

#include <stddef.h>
#include <stdint.h>

#include "sflow.h"

#define IFC_MIN_INTERVAL_MS 100   /* closer readings are dropped */
#define IFC_SFLOW_FRESH_MS  30000 /* sFlow this fresh overrides SNMP */

enum ifc_source {
	IFC_SRC_SFLOW = 1,
	IFC_SRC_SNMP = 2,
};

enum ifc_field {
	IFC_IN_OCTETS,
	IFC_IN_UCAST,
	IFC_IN_MCAST,
	IFC_IN_BCAST,
	IFC_IN_DISCARDS,
	IFC_IN_ERRORS,
	IFC_IN_UNKNOWN,
	IFC_OUT_OCTETS,
	IFC_OUT_UCAST,
	IFC_OUT_MCAST,
	IFC_OUT_BCAST,
	IFC_OUT_DISCARDS,
	IFC_OUT_ERRORS,
	IFC_N
};

#define IFC_BIT(f) (1u << (f))

/* IF-MIB status values; anything else is shown as its IF-MIB name. */
#define IFC_UP   1
#define IFC_DOWN 2

struct ifc_reading {
	struct sflow_addr agent;
	uint32_t ifindex;
	enum ifc_source source;
	uint64_t speed;  /* bits/s, 0 unknown */
	int admin, oper; /* IF-MIB: 1 up, 2 down (3.. as IF-MIB), 0 unknown */
	uint32_t iftype; /* IANAifType, 0 unknown */
	uint32_t direction; /* 0 unknown, 1 full, 2 half, 3 in, 4 out */
	uint32_t promisc;   /* TruthValue: 1 true, 2 false, 0 unknown */
	uint64_t c[IFC_N];  /* counters, indexed by enum ifc_field */
	uint32_t have;      /* IFC_BIT(field): c[field] present */
	uint32_t wide;      /* IFC_BIT(field): 64-bit (else wraps at 2^32) */
};

struct ifc_rates {
	struct sflow_addr agent; /* unused address bytes zero */
	uint32_t ifindex;
	enum ifc_source source; /* the source followed now */
	uint64_t speed;         /* status, as in the latest reading */
	int admin, oper;
	uint32_t iftype, direction, promisc;
	double r[IFC_N];          /* per second (octets: bytes/s) */
	uint32_t have;            /* IFC_BIT(field): r[field] valid */
	double in_util, out_util; /* percent of speed, < 0 unknown */
	uint64_t updated_ms;      /* wall clock of the latest reading */
	uint64_t interval_ms;     /* between the readings of r[], 0 none */
	uint64_t discontinuities; /* resets/implausible jumps seen */
};

struct ifc_stats {
	size_t ifaces, max_ifaces;
	uint64_t readings;        /* every ifc_update() call */
	uint64_t refused;         /* new interface, table full */
	uint64_t ignored;         /* SNMP while sFlow is fresh */
	uint64_t too_soon;        /* < IFC_MIN_INTERVAL_MS after the last */
	uint64_t stale;           /* SNMP repeats of a cached reading */
	uint64_t discontinuities; /* all interfaces, expired ones too */
};

struct ifc_table;

/*
 * A table of at most max_ifaces (> 0) interfaces. seed keys the hash:
 * random in production, so that a sender cannot pick (agent, ifIndex)
 * pairs that all collide; fixed in tests. Never returns NULL.
 */
struct ifc_table *ifc_new(size_t max_ifaces, uint64_t seed);
void ifc_free(struct ifc_table *);

/*
 * Take one reading at monotonic time mono_ms (rates, expiry) and wall
 * time wall_ms (shown as updated_ms). Returns 1 if the interface's rates
 * were updated; 0 if the reading was taken without rates (the first one,
 * a source switch, a discontinuity, no counter in common with the last),
 * dropped (too soon), held (a stale SNMP repeat) or ignored (SNMP while
 * sFlow is fresh); -1 if refused: a new interface, table full. rd->source
 * must be one of enum ifc_source. The reading stays the caller's.
 */
int ifc_update(struct ifc_table *, const struct ifc_reading *, uint64_t mono_ms,
    uint64_t wall_ms);

/* Forget interfaces with no reading for more than max_age_ms; how many. */
size_t ifc_expire(struct ifc_table *, uint64_t mono_ms, uint64_t max_age_ms);

/*
 * A copy of every interface (each has its status once it has had one
 * reading; rates from the second), sorted by (agent, ifIndex), in *n.
 * The caller frees it; NULL with *n = 0 when the table is empty.
 */
struct ifc_rates *ifc_rates_all(struct ifc_table *, size_t *n);

void ifc_stats(const struct ifc_table *, struct ifc_stats *);

/*
 * Fill a reading from a decoded generic interface counter record
 * (r->tag == SFLOW_CTR_GENERIC, r->counter, r->decoded, as
 * sflow_record_next() gives it: fields are sflow_generic_fields, read by
 * position) sent by agent. sFlow's "unknown" (all ones) counters are left
 * out of `have`; ifSpeed all ones is 0. Returns 0, or -1 (reading
 * untouched) if r is not one.
 */
int ifc_from_sflow(struct ifc_reading *, const struct sflow_addr *agent,
    const struct sflow_record *r);

/* Order of (agent, ifIndex): family, address bytes, ifIndex. */
int ifc_key_cmp(const struct sflow_addr *a, uint32_t ia,
    const struct sflow_addr *b, uint32_t ib);

#endif
