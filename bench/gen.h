/*
 * gen.h: synthetic sFlow v5 datagrams for the benchmarks (engine_bench,
 * blast). Deterministic by seed; no I/O except gen_state_save/load.
 *
 * The profile (the benchmark issue's): agents 10.99.0.1 ... with `ports`
 * ports each, `flows` distinct flows; each datagram is filled with samples
 * while they fit in GEN_MAX_DATAGRAM bytes (about 1,300 bytes, 6-7
 * samples): 90% flow samples (a 128-byte sampled header of an
 * Ethernet/IPv4/TCP-or-UDP packet plus extended_switch), 10% counter
 * samples (generic interface counters).
 *
 * Flows: by default a flow belongs to one agent and always shows at the
 * same input and output ports, as a flow on its path through a fabric
 * does. With `churn` each flow sample carries a flow of any agent on
 * random ports, so nearly every sample is a new flow table entry.
 *
 * Sequence numbers: gen_datagram() stamps each datagram with the next
 * sequence number of its agent, and each sample with the next sequence
 * number of its (agent, data source, kind), a sample pool that grows by
 * the sampling rate, and counters that only grow. gen_stamp() re-stamps a
 * datagram that is sent again, so a sender that cycles through a pool of
 * datagrams still shows gap-free sequences.
 *
 * One struct gen belongs to one thread.
 */
#ifndef FABMON_BENCH_GEN_H
#define FABMON_BENCH_GEN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* SFLOW-MIB's default sflowRcvrMaximumDatagramSize; fabmond's minimum. */
#define GEN_MAX_DATAGRAM  1400
#define GEN_SAMPLING_RATE 1000

/* Byte offsets in a datagram with an IPv4 agent address (sFlow v5). */
#define GEN_OFF_AGENT    8  /* after version and address type */
#define GEN_OFF_SEQ      16 /* after the address and sub_agent_id */
#define GEN_OFF_UPTIME   20
#define GEN_OFF_NSAMPLES 24

struct gen_conf {
	uint64_t seed;
	uint32_t agents; /* 1..65535: 10.99.0.1, 10.99.0.2, ... */
	uint32_t ports;  /* ifIndex 1..ports on every agent, 1..65535 */
	uint32_t flows;  /* >= agents unless churn */
	int churn;
};

#define GEN_CONF_DEFAULT                                                       \
	{                                                                      \
		.seed = 1, .agents = 50, .ports = 48, .flows = 95000,          \
		.churn = 0                                                     \
	}

/* What one datagram carries. */
struct gen_meta {
	uint32_t agent; /* 1..agents */
	uint32_t flow_samples;
	uint32_t counter_samples;
};

struct gen {
	struct gen_conf conf;
	uint64_t rs;          /* xorshift64 state, never 0 */
	uint64_t n;           /* datagrams generated: the virtual clock */
	uint32_t *uptime0;    /* per agent: its uptime at clock 0, ms */
	uint32_t *dgram_seq;  /* per agent: last datagram sequence number */
	uint32_t *sample_seq; /* per agent, source 0..ports and kind */
};

/*
 * Checks conf and sets g up. Returns 0, or -1 with a message in err when
 * conf is out of range. gen_free() releases what it allocated.
 */
int gen_init(
    struct gen *g, const struct gen_conf *conf, char *err, size_t errlen);
void gen_free(struct gen *g);

/*
 * Writes the next datagram into buf (cap >= GEN_MAX_DATAGRAM), stamped
 * as gen_stamp() does on a virtual clock of 20 datagrams per ms. Returns
 * its length (<= GEN_MAX_DATAGRAM); fills meta when it is not NULL.
 */
size_t gen_datagram(
    struct gen *g, uint8_t *buf, size_t cap, struct gen_meta *meta);

/*
 * gen_datagram(), stamped on a real clock instead of the virtual one:
 * the next datagram, with the next sequence numbers of its agent and data
 * sources and uptime = the agent's boot offset + clock_ms, as
 * gen_stamp(g, buf, len, clock_ms) would stamp it. A sender that makes
 * each datagram just before it goes (blast --live) uses it: with many
 * flows (1M), a pool that fits in memory would carry only some of them.
 */
size_t gen_datagram_at(struct gen *g, uint8_t *buf, size_t cap,
    struct gen_meta *meta, uint32_t clock_ms);

/*
 * Stamps buf, a datagram of len bytes that gen_datagram() wrote: the
 * next sequence number of its agent, uptime = the agent's boot offset +
 * clock_ms, and for each sample the next sequence number of its data
 * source, with a sample pool and counters to match.
 */
void gen_stamp(struct gen *g, uint8_t *buf, size_t len, uint32_t clock_ms);

/* Forgets every sequence number: all agents restart from 1. */
void gen_restart(struct gen *g);

/* A datagram's sequence number (GEN_OFF_SEQ), read and written. */
uint32_t gen_seq(const uint8_t *buf);
void gen_set_seq(uint8_t *buf, uint32_t seq);

/*
 * The sequence numbers as text, so that a later process with the same
 * agents and ports continues them (blast --state). gen_state_load()
 * returns 0, or -1 with a message in err (the agents or ports differ, the
 * file is malformed).
 */
int gen_state_save(const struct gen *g, FILE *f);
int gen_state_load(struct gen *g, FILE *f, char *err, size_t errlen);

#endif
