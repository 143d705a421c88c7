/*
 * agents.h: per-agent accounting of the sFlow stream. PURE: no I/O.
 *
 * The ingest thread owns the table. For each datagram it calls
 * agents_process(), which decodes it, checks sequence numbers, and counts
 * samples and errors per agent. agents_snapshot() copies the table for
 * the API thread, which never touches the live table.
 */
#ifndef FABMON_AGENTS_H
#define FABMON_AGENTS_H

#include <stddef.h>
#include <stdint.h>

#include "sflow.h"

/* Per-source (data source) sequence state, to count lost samples. */
struct agent_source {
	uint32_t key; /* type << 24 | index, + sample kind bit */
	uint32_t last_seq;
	uint32_t last_drops;
	uint8_t used;
	/* the flow engine's (sflow_sample.memo) */
	struct sflow_src_memo memo;
};

#define AGENT_MAX_SOURCES 512

struct agent_stats {
	/* Identity: the agent address in the datagram, and sub-agent id. */
	struct sflow_addr addr;
	uint32_t sub_agent_id;
	struct sflow_addr source; /* UDP source of the last datagram */
	bool header_ok;           /* false: keyed by UDP source only */

	uint64_t datagrams;
	uint64_t bytes;
	uint64_t samples;
	uint64_t flow_samples;
	uint64_t counter_samples;
	uint64_t discard_samples;
	uint64_t other_samples; /* unknown sample types, skipped */
	uint64_t records;
	uint64_t unknown_records;
	uint64_t errs[SFLOW_ERR__MAX];
	uint64_t bad_datagrams; /* datagrams with at least one error */

	/* Datagram sequence numbers. */
	uint64_t seq_lost;      /* datagrams missing from sequence gaps */
	uint64_t seq_reordered; /* arrived after a later one */
	uint64_t seq_resets;    /* agent restarted (uptime went back) */
	/* Sample sequence numbers and the agent's own drop counters. */
	uint64_t samples_lost;
	uint64_t agent_drops; /* sum of increases of the `drops` fields */

	uint32_t last_seq;
	uint32_t last_uptime_ms;
	uint64_t first_seen_ms; /* wall clock */
	uint64_t last_seen_ms;
	uint64_t last_seen_mono_ms;

	/* Private: per-source state; not copied into snapshots. */
	struct agent_source *sources;
	uint32_t sources_cap; /* a power of two, up to AGENT_MAX_SOURCES */
	uint32_t n_sources;
	uint64_t sources_overflow;
};

struct agents;

/* Create a table that tracks at most max_agents agents. */
struct agents *agents_new(size_t max_agents);
void agents_free(struct agents *);

/*
 * Account one datagram received from UDP source `src` (family 4 or 6) at
 * wall time now_ms / monotonic mono_ms. `truncated` says the datagram was
 * larger than the receive buffer. Returns the number of samples decoded.
 * The optional `each` callback gets every decoded sample (for the engine).
 */
typedef void (*agents_sample_fn)(
    void *arg, const struct sflow_datagram *, struct sflow_sample *);
uint32_t agents_process(struct agents *, const struct sflow_addr *src,
    const uint8_t *buf, size_t len, int truncated, uint64_t now_ms,
    uint64_t mono_ms, agents_sample_fn each, void *arg);

/*
 * The first error class of the datagram that agents_process() saw last,
 * SFLOW_OK if it was clean (for the ingest thread's rate-limited log).
 */
enum sflow_err agents_last_error(const struct agents *);

/* Totals over every agent, plus the datagrams that could not be keyed. */
struct agents_totals {
	uint64_t datagrams;
	uint64_t samples;
	uint64_t errs[SFLOW_ERR__MAX];
	uint64_t agents_overflow; /* datagrams from agents over the bound */
	size_t n_agents;
};
void agents_totals(const struct agents *, struct agents_totals *);

/*
 * Copy the table: returns a malloc'ed array of *n entries (sorted by
 * address) whose `sources` pointers are NULL. The caller frees it.
 */
struct agent_stats *agents_snapshot(const struct agents *, size_t *n);

#endif
