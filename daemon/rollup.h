/*
 * rollup.h: per-minute link rollups from rates (DESIGN §6). PURE.
 *
 * The history thread samples every link direction's rates (bytes/s,
 * packets/s, discards/s, errors/s from interface counters; utilisation
 * in percent) once a second and hands each one over with the interval it
 * held for. The rollup integrates them into whole minutes of wall-clock
 * time, splitting an interval that crosses a minute boundary, and keeps
 * the largest utilisation seen in each minute. A minute is handed out
 * once it has ended. A minute the daemon saw only part of (start, stop,
 * a stall) holds only what was seen.
 */
#ifndef FABMON_ROLLUP_H
#define FABMON_ROLLUP_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct rollup_in {
	const char *link;
	const char *node1, *port1, *node2, *port2;
	uint8_t dir;        /* 0: node1:port1 -> node2:port2 */
	double bytes_s;     /* < 0: unknown */
	double packets_s;   /* < 0: unknown */
	double discards_s;  /* < 0: unknown */
	double errors_s;    /* < 0: unknown */
	double util;        /* percent, < 0 unknown */
	double speed_bps;   /* 0 unknown */
	const char *source; /* "sflow", "snmp", "estimate" */
};

struct rollup;

/* At most max_rows (link direction, minute) rows held at once. */
struct rollup *rollup_new(size_t max_rows);
void rollup_free(struct rollup *);

/*
 * in held over [t0_ms, t1_ms) (wall clock). Returns 0, or -1 if the row
 * table is full (counted; the sample is lost).
 */
int rollup_add(struct rollup *, const struct rollup_in *in, uint64_t t0_ms,
    uint64_t t1_ms);

/*
 * Every row of a minute that ended at or before now_ms, sorted by
 * (minute, link, dir); the caller frees *out. Returns how many.
 */
size_t rollup_take(
    struct rollup *, uint64_t now_ms, struct store_link_minute **out);

/* Rows refused since the start (table full). */
uint64_t rollup_refused(const struct rollup *);

#endif
