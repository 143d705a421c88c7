/*
 * blackhole.h: black-hole detection (DESIGN §5). PURE.
 *
 * The engine hands over each flow sample that shows one of three signals,
 * already resolved against the topology:
 *   BH_DISCARD   the agent dropped the packet (output format "discard",
 *                or a discarded-packet sample), with its reason;
 *   BH_VALLEY    a leaf forwarded a packet that came from a spine to a
 *                spine again ("valley"), or a spine sent a packet back to
 *                the leaf it came from ("hairpin"): leaf-spine routing
 *                never does either, so a route is missing somewhere;
 *   BH_TTL_LOOP  the same 5-tuple was seen on fabric links with more
 *                distinct TTLs, within BH_TTL_WINDOW_MS, than a path
 *                through the fabric can have (BH_TTL_DIAMETER): it loops.
 * Signals are grouped by (type, node, destination prefix, reason) into
 * events. An event opens at its second sample within the quiet time, and
 * closes once its signal has been quiet for quiet_ms. Each carries its
 * start and end, the frames per second it stands for (the samples scaled
 * by their sampling rate, smoothed over BH_RATE_TAU_MS), a count, and the
 * last BH_EVIDENCE samples as evidence.
 *
 * Bounded: at most max_keys groups (beyond: refused, counted) and
 * BH_TTL_SLOTS 5-tuples tracked for TTL loops (a newer one takes an old
 * one's slot). Owner thread only; bh_events() copies out.
 */
#ifndef FABMON_BLACKHOLE_H
#define FABMON_BLACKHOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sflow.h"

#define BH_EVIDENCE      4
#define BH_TTL_DIAMETER  3 /* routers on the longest leaf-spine path */
#define BH_TTL_WINDOW_MS 10000
#define BH_TTL_SLOTS     (1 << 14)
#define BH_RATE_TAU_MS   10000.0
#define BH_NAME_MAX      128

enum bh_type {
	BH_DISCARD,
	BH_VALLEY,
	BH_TTL_LOOP,
};

/* One sample as the engine saw it. */
struct bh_sample {
	char node[BH_NAME_MAX]; /* name, or the agent's address */
	char in_port[BH_NAME_MAX], out_port[BH_NAME_MAX]; /* names or ifIndex */
	struct sflow_addr src, dst;                       /* family 0: not IP */
	uint8_t proto;
	uint16_t sport, dport;
	int ttl; /* -1 unknown */
	uint32_t sampling_rate;
	/* the signals, as the engine resolved them */
	bool discard;
	char discard_reason[BH_NAME_MAX];
	bool valley;
	char valley_kind[16]; /* "valley" or "hairpin" */
	bool on_fabric_link;  /* it arrived over a leaf-spine link: track */
	bool ttl_loop;        /* bh_ttl_track() said so already */
};

/* What TTL-loop tracking needs of a sample. */
struct bh_flow {
	struct sflow_addr src, dst;
	uint8_t proto;
	uint16_t sport, dport;
	int ttl; /* -1 unknown */
};

struct bh_evidence {
	uint64_t ms;
	char in_port[BH_NAME_MAX], out_port[BH_NAME_MAX];
	char src[48], dst[48];
	int ttl;
};

struct bh_event {
	uint64_t id; /* unique while the process runs */
	enum bh_type type;
	char node[BH_NAME_MAX];
	char prefix[64]; /* "10.2.4.0/24", "2001:db8::/64", "" not IP */
	char reason[BH_NAME_MAX];
	uint64_t start_ms, last_ms, end_ms; /* wall clock; end 0: open */
	double fps;                         /* at last_ms */
	uint64_t samples;
	struct bh_evidence ev[BH_EVIDENCE]; /* newest first */
	size_t n_ev;
};

struct bh_conf {
	uint64_t quiet_ms; /* an event ends once quiet this long */
	size_t max_keys;
};

struct bh_stats {
	uint64_t samples; /* bh_observe() calls with a signal */
	uint64_t opened, closed;
	uint64_t refused; /* new groups beyond max_keys */
	size_t open;      /* events open now */
};

struct bh;

struct bh *bh_new(const struct bh_conf *);
void bh_free(struct bh *);

/* A sample at now_ms (wall clock). Cheap: a hash lookup or two. */
void bh_observe(struct bh *, const struct bh_sample *, uint64_t now_ms);

/*
 * TTL-loop tracking alone, for the hot path (every sample that came over
 * a fabric link): true if this 5-tuple now shows a loop. The caller then
 * builds the whole sample and hands it to bh_observe() with ttl_loop
 * set (and on_fabric_link clear, or the TTL would count twice).
 */
bool bh_ttl_track(struct bh *, const struct bh_flow *, uint64_t now_ms);

/*
 * Close the events quiet since quiet_ms, and forget closed groups after
 * as long again. Call about once a second.
 */
void bh_tick(struct bh *, uint64_t now_ms);

/*
 * The open events and those closed in the last quiet_ms, newest start
 * first, at most max; the caller frees *out. Returns how many.
 */
size_t bh_events(const struct bh *, uint64_t now_ms, struct bh_event **out);

void bh_stats(const struct bh *, struct bh_stats *);

const char *bh_type_name(enum bh_type);

/* The /24 (IPv4) or /64 (IPv6) around a, as text; "" if not IP. */
void bh_prefix(const struct sflow_addr *a, char *buf, size_t len);

#endif
