/*
 * spread.h: spreading a NetFlow/IPFIX record's packets over its duration.
 * PURE: no I/O, no logging. The ingest thread owns a spreader.
 *
 * A NetFlow record arrives when its flow ends or times out, and carries
 * everything since the previous record: 60 s of traffic at once. Counted
 * at once it would show as a spike in the smoothed rates and vanish. So a
 * record that lasted d seconds is replayed as d one-second slices, one now
 * and one per second after, each with its share of the packets (and so of
 * the bytes): a steady flow shows a steady rate, late by the exporter's
 * active timeout, which is what the export granularity allows. The JSON
 * flow log still gets the record once, with its real times.
 *
 * Bounded: at most `max` records are being replayed; beyond that a record
 * is counted at once (and counted as `full`), never lost.
 */
#ifndef FABMON_SPREAD_H
#define FABMON_SPREAD_H

#include <stddef.h>
#include <stdint.h>

#include "flowrec.h"

#define SPREAD_SLICE_MS   1000
#define SPREAD_MAX_SLICES 300 /* a record longer than 5 min: 300 slices */

struct spread_stats {
	uint64_t records; /* given to spread_add() */
	uint64_t spread;  /* of which replayed over more than one slice */
	uint64_t full;    /* counted at once: the spreader was full */
	uint64_t slices;  /* slices emitted */
	size_t active;    /* being replayed now */
	size_t max;
};

struct spread;

/* A spreader replaying at most max records at a time (0: 65536). */
struct spread *spread_new(size_t max);
void spread_free(struct spread *);

/*
 * emit(arg, rec, mono_ms) gets each slice: a copy of the record whose
 * sampling_rate is rate * (the slice's packets), frame_length as given.
 */
typedef void (*spread_emit_fn)(
    void *arg, const struct flow_rec *rec, uint64_t mono_ms);

/*
 * A record of `packets` packets (>= 1) sampled 1 in `rate`, that lasted
 * duration_ms: rec->frame_length is the mean packet size and
 * rec->sampling_rate is ignored (set per slice). The first slice is
 * emitted now; the rest by spread_due(). A record shorter than 1.5 s, or
 * of a single packet, is emitted whole.
 */
void spread_add(struct spread *, const struct flow_rec *rec, uint64_t packets,
    uint32_t rate, uint64_t duration_ms, uint64_t now_mono_ms,
    spread_emit_fn emit, void *arg);

/* Emit the slices due by now_mono_ms (call at least every slice). */
void spread_due(
    struct spread *, uint64_t now_mono_ms, spread_emit_fn emit, void *arg);

/* Emit everything left at once (at exit, or to drain in tests). */
void spread_drain(
    struct spread *, uint64_t now_mono_ms, spread_emit_fn emit, void *arg);

void spread_get_stats(const struct spread *, struct spread_stats *);

#endif
