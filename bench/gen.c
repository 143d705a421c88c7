/*
 * gen.c: synthetic sFlow v5 datagrams for the benchmarks (see gen.h).
 * Runs on the caller's thread; one struct gen per thread.
 *
 * Layouts (sflow_version_5.txt), all 32-bit words in network order:
 *   datagram:      version=5, address_type=1, IPv4 agent, sub_agent_id,
 *                  sequence_number, uptime, num_samples      (28 bytes)
 *   flow_sample:   tag=1, length, sequence_number, source_id,
 *                  sampling_rate, sample_pool, drops, input, output,
 *                  num_records, then sampled_header (tag 1) and
 *                  extended_switch (tag 1001)                (216 bytes)
 *   counters_sample: tag=2, length, sequence_number, source_id,
 *                  num_records, then generic interface counters (tag 1,
 *                  88 bytes)                                  (116 bytes)
 */
#include <arpa/inet.h>
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"

#define HDR_LEN      28
#define SAMPLED_LEN  128 /* bytes of the packet in the sampled header */
#define FLOW_BODY    (32 + 8 + 16 + SAMPLED_LEN + 8 + 16)
#define COUNTER_BODY (12 + 8 + 88)
#define FLOW_LEN     (8 + FLOW_BODY)
#define COUNTER_LEN  (8 + COUNTER_BODY)
#define TAG_FLOW     1
#define TAG_COUNTERS 2
#define FRAME_LEN    1518 /* 1,500 bytes of IP, Ethernet header, FCS */
#define IF_SPEED     25000000000ull

/* Datagrams per ms of gen_datagram()'s virtual clock (20k/s). */
#define VCLOCK_PER_MS 20

struct cur {
	uint8_t *b;
	size_t n;
};

static uint32_t
rnd(struct gen *g)
{
	g->rs ^= g->rs << 13;
	g->rs ^= g->rs >> 7;
	g->rs ^= g->rs << 17;
	return (uint32_t)(g->rs >> 11);
}

/* splitmix64's finaliser: seeds, and values that must look random. */
static uint64_t
mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint32_t
get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return ntohl(v);
}

static void
set32(uint8_t *p, uint32_t v)
{
	v = htonl(v);
	memcpy(p, &v, 4);
}

static void
set64(uint8_t *p, uint64_t v)
{
	set32(p, (uint32_t)(v >> 32));
	set32(p + 4, (uint32_t)v);
}

static void
put32(struct cur *c, uint32_t v)
{
	set32(c->b + c->n, v);
	c->n += 4;
}

static void
put(struct cur *c, const void *p, size_t n)
{
	memcpy(c->b + c->n, p, n);
	c->n += n;
}

/* A 128-byte Ethernet/IPv4/TCP-or-UDP header of flow f. */
static void
header(uint8_t *h, uint32_t f)
{
	uint32_t src = htonl(0x0a000000 | (f * 2654435761u >> 12)),
	         dst = htonl(0x0a800000 | (f % 4099));
	uint16_t sp = htons((uint16_t)(1024 + f % 50000)),
	         dp = htons((uint16_t)(f % 7 == 0 ? 53 : 443));

	memset(h, 0, SAMPLED_LEN);
	memcpy(
	    h, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00", 14);
	h[14] = 0x45;
	h[16] = (FRAME_LEN - 18) >> 8; /* IP total length */
	h[17] = (FRAME_LEN - 18) & 0xff;
	h[22] = 64;
	h[23] = f % 7 == 0 ? 17 : 6;
	memcpy(h + 26, &src, 4);
	memcpy(h + 30, &dst, 4);
	memcpy(h + 34, &sp, 2);
	memcpy(h + 36, &dp, 2);
	if (h[23] == 6)
		h[47] = 0x10; /* ACK */
}

/*
 * Which flow a flow sample of `agent` carries. In a real fabric a flow is
 * seen on the few switches of its path, each time at the same ports; so a
 * flow belongs to one agent here and has fixed ports (flow_port()).
 * churn: every sample a flow of any agent on random ports, so that nearly
 * every sample is a new table entry (the worst case: a scan or a DDoS of
 * random sources).
 */
static uint32_t
flow_of(struct gen *g, uint32_t agent)
{
	uint32_t agents = g->conf.agents;

	if (g->conf.churn)
		return rnd(g) % g->conf.flows;
	return agent - 1 + agents * (rnd(g) % (g->conf.flows / agents));
}

static uint32_t
flow_port(struct gen *g, uint32_t f, uint32_t salt)
{
	if (g->conf.churn)
		return 1 + rnd(g) % g->conf.ports;
	return 1 + (f * 2654435761u ^ salt) % g->conf.ports;
}

/* Sequence numbers and pools are left 0: gen_stamp() fills them. */
static void
flow_sample(struct gen *g, struct cur *c, uint32_t agent)
{
	uint8_t h[SAMPLED_LEN];
	uint32_t f = flow_of(g, agent), in = flow_port(g, f, 0),
	         out = flow_port(g, f, 0x5bd1e995u);

	if (out == in) /* a packet leaves by another port than it came */
		out = in % g->conf.ports + 1;
	header(h, f);
	put32(c, TAG_FLOW);
	put32(c, FLOW_BODY);
	put32(c, 0); /* sequence_number */
	put32(c, in);
	put32(c, GEN_SAMPLING_RATE);
	put32(c, 0); /* sample_pool */
	put32(c, 0); /* drops */
	put32(c, in);
	put32(c, out);
	put32(c, 2);
	put32(c, 1); /* sampled header */
	put32(c, 16 + SAMPLED_LEN);
	put32(c, 1); /* ethernet */
	put32(c, FRAME_LEN);
	put32(c, 4); /* stripped: the FCS */
	put32(c, SAMPLED_LEN);
	put(c, h, SAMPLED_LEN);
	put32(c, 1001); /* extended switch */
	put32(c, 16);
	put32(c, 10);
	put32(c, 0);
	put32(c, 10);
	put32(c, 0);
}

static void
counter_sample(struct cur *c, uint32_t port)
{
	put32(c, TAG_COUNTERS);
	put32(c, COUNTER_BODY);
	put32(c, 0); /* sequence_number */
	put32(c, port);
	put32(c, 1);
	put32(c, 1); /* generic interface counters */
	put32(c, 88);
	put32(c, port);
	put32(c, 6); /* ethernetCsmacd */
	put32(c, (uint32_t)(IF_SPEED >> 32));
	put32(c, (uint32_t)IF_SPEED);
	put32(c, 1);                /* full duplex */
	put32(c, 3);                /* admin and oper up */
	memset(c->b + c->n, 0, 64); /* the counters, then ifPromiscuousMode */
	c->n += 64;
}

/*
 * Counters that only grow with the sample's sequence number s: each port
 * its own load, in bytes and packets per counter interval.
 */
static void
counters_fill(uint8_t *p, uint32_t port, uint32_t s)
{
	uint64_t load = 1 + mix64(port) % 1000, in = (uint64_t)s * load,
	         out = (uint64_t)s * (1 + mix64(port + 65536) % 1000);

	set64(p + 24, in * 1000000);           /* ifInOctets */
	set32(p + 32, (uint32_t)(in * 1000));  /* ifInUcastPkts */
	set32(p + 36, (uint32_t)in);           /* ifInMulticastPkts */
	set32(p + 40, s);                      /* ifInBroadcastPkts */
	set32(p + 44, s / 64);                 /* ifInDiscards */
	set32(p + 48, 0);                      /* ifInErrors */
	set32(p + 52, 0);                      /* ifInUnknownProtos */
	set64(p + 56, out * 1000000);          /* ifOutOctets */
	set32(p + 64, (uint32_t)(out * 1000)); /* ifOutUcastPkts */
	set32(p + 68, (uint32_t)out);          /* ifOutMulticastPkts */
	set32(p + 72, s);                      /* ifOutBroadcastPkts */
	set32(p + 76, s / 128);                /* ifOutDiscards */
	set32(p + 80, 0);                      /* ifOutErrors */
}

int
gen_init(struct gen *g, const struct gen_conf *conf, char *err, size_t errlen)
{
	memset(g, 0, sizeof(*g));
	if (conf->agents < 1 || conf->agents > 65535) {
		snprintf(
		    err, errlen, "agents %u: not in 1..65535", conf->agents);
		return -1;
	}
	if (conf->ports < 1 || conf->ports > 65535) {
		snprintf(err, errlen, "ports %u: not in 1..65535", conf->ports);
		return -1;
	}
	if (conf->flows < 1 || (!conf->churn && conf->flows < conf->agents)) {
		snprintf(err, errlen,
		    "flows %u: at least 1, and one per agent (%u) unless churn",
		    conf->flows, conf->agents);
		return -1;
	}
	g->conf = *conf;
	g->rs = mix64(conf->seed);
	if (g->rs == 0)
		g->rs = 1;
	g->uptime0 = calloc(conf->agents, sizeof(*g->uptime0));
	g->dgram_seq = calloc(conf->agents, sizeof(*g->dgram_seq));
	g->sample_seq = calloc((size_t)conf->agents * (conf->ports + 1) * 2,
	    sizeof(*g->sample_seq));
	if (g->uptime0 == NULL || g->dgram_seq == NULL ||
	    g->sample_seq == NULL) {
		gen_free(g);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* Agents booted up to 30 days ago. */
	for (uint32_t a = 0; a < conf->agents; a++)
		g->uptime0[a] = rnd(g) % (30u * 86400 * 1000);
	return 0;
}

void
gen_free(struct gen *g)
{
	free(g->uptime0);
	free(g->dgram_seq);
	free(g->sample_seq);
	g->uptime0 = g->dgram_seq = g->sample_seq = NULL;
}

size_t
gen_datagram(struct gen *g, uint8_t *buf, size_t cap, struct gen_meta *meta)
{
	return gen_datagram_at(
	    g, buf, cap, meta, (uint32_t)(g->n / VCLOCK_PER_MS));
}

size_t
gen_datagram_at(struct gen *g, uint8_t *buf, size_t cap, struct gen_meta *meta,
    uint32_t clock_ms)
{
	struct cur c = { buf, 0 };
	uint32_t agent = 1 + rnd(g) % g->conf.agents, n = 0, nf = 0;

	assert(cap >= GEN_MAX_DATAGRAM);
	(void)cap;
	put32(&c, 5);
	put32(&c, 1); /* IPv4 */
	put32(&c, 0x0a630000 | agent);
	put32(&c, 0); /* sub_agent_id */
	put32(&c, 0); /* sequence_number */
	put32(&c, 0); /* uptime */
	put32(&c, 0); /* num_samples */
	/*
	 * An agent sends when the next sample would not fit; drawing the
	 * kind first and stopping there keeps 10% counter samples.
	 */
	for (;;) {
		int counter = rnd(g) % 10 == 0;

		if (c.n + (counter ? COUNTER_LEN : FLOW_LEN) > GEN_MAX_DATAGRAM)
			break;
		if (counter) {
			counter_sample(&c, 1 + rnd(g) % g->conf.ports);
		} else {
			flow_sample(g, &c, agent);
			nf++;
		}
		n++;
	}
	set32(buf + GEN_OFF_NSAMPLES, n);
	gen_stamp(g, buf, c.n, clock_ms);
	g->n++;
	if (meta != NULL) {
		meta->agent = agent;
		meta->flow_samples = nf;
		meta->counter_samples = n - nf;
	}
	return c.n;
}

/* The sequence state of one data source's samples of one kind. */
static uint32_t *
source_seq(struct gen *g, uint32_t agent, uint32_t src, int counter)
{
	size_t i = (size_t)(agent - 1) * (g->conf.ports + 1) + src;

	return &g->sample_seq[i * 2 + (counter != 0)];
}

/*
 * The sample pool: every packet the source saw so far, so about the
 * sampling rate per sample, give or take the sampler's randomness; it
 * only grows.
 */
static uint32_t
sample_pool(uint32_t agent, uint32_t src, uint32_t s)
{
	uint64_t jitter =
	    mix64((uint64_t)agent << 48 | (uint64_t)src << 32 | s);

	return s * GEN_SAMPLING_RATE + (uint32_t)(jitter % GEN_SAMPLING_RATE);
}

void
gen_stamp(struct gen *g, uint8_t *buf, size_t len, uint32_t clock_ms)
{
	uint32_t agent = get32(buf + GEN_OFF_AGENT) & 0xffff, n;
	size_t off = HDR_LEN;

	assert(len >= HDR_LEN && get32(buf) == 5 && get32(buf + 4) == 1);
	assert(agent >= 1 && agent <= g->conf.agents);
	set32(buf + GEN_OFF_SEQ, ++g->dgram_seq[agent - 1]);
	set32(buf + GEN_OFF_UPTIME, g->uptime0[agent - 1] + clock_ms);
	n = get32(buf + GEN_OFF_NSAMPLES);
	for (uint32_t i = 0; i < n; i++) {
		uint8_t *b = buf + off + 8; /* the sample's body */
		uint32_t blen = get32(buf + off + 4),
		         src = get32(b + 4) & 0xffffff, s;
		int counter = get32(buf + off) == TAG_COUNTERS;

		assert(off + 8 + blen <= len && src <= g->conf.ports);
		s = ++*source_seq(g, agent, src, counter);
		set32(b, s);
		if (counter)
			counters_fill(b + 20, src, s);
		else
			set32(b + 12, sample_pool(agent, src, s));
		off += 8 + blen;
	}
	(void)len;
}

void
gen_restart(struct gen *g)
{
	memset(g->dgram_seq, 0, g->conf.agents * sizeof(*g->dgram_seq));
	memset(g->sample_seq, 0,
	    (size_t)g->conf.agents * (g->conf.ports + 1) * 2 *
	        sizeof(*g->sample_seq));
}

uint32_t
gen_seq(const uint8_t *buf)
{
	return get32(buf + GEN_OFF_SEQ);
}

void
gen_set_seq(uint8_t *buf, uint32_t seq)
{
	set32(buf + GEN_OFF_SEQ, seq);
}

#define STATE_MAGIC "fabmon-gen-state 1"

int
gen_state_save(const struct gen *g, FILE *f)
{
	size_t ns = (size_t)g->conf.agents * (g->conf.ports + 1) * 2;

	fprintf(f, "%s agents %u ports %u\n", STATE_MAGIC, g->conf.agents,
	    g->conf.ports);
	for (uint32_t a = 0; a < g->conf.agents; a++)
		fprintf(f, "%u\n", g->dgram_seq[a]);
	for (size_t i = 0; i < ns; i++)
		fprintf(f, "%u\n", g->sample_seq[i]);
	return ferror(f) ? -1 : 0;
}

int
gen_state_load(struct gen *g, FILE *f, char *err, size_t errlen)
{
	size_t ns = (size_t)g->conf.agents * (g->conf.ports + 1) * 2;
	unsigned agents, ports;
	char magic[64];

	if (fgets(magic, sizeof(magic), f) == NULL ||
	    strncmp(magic, STATE_MAGIC " ", strlen(STATE_MAGIC) + 1) != 0 ||
	    sscanf(magic + strlen(STATE_MAGIC), " agents %u ports %u", &agents,
	        &ports) != 2) {
		snprintf(err, errlen, "not a %s file", STATE_MAGIC);
		return -1;
	}
	if (agents != g->conf.agents || ports != g->conf.ports) {
		snprintf(err, errlen,
		    "saved for %u agents x %u ports, not %u x %u", agents,
		    ports, g->conf.agents, g->conf.ports);
		return -1;
	}
	for (uint32_t a = 0; a < g->conf.agents; a++)
		if (fscanf(f, "%u", &g->dgram_seq[a]) != 1)
			goto short_file;
	for (size_t i = 0; i < ns; i++)
		if (fscanf(f, "%u", &g->sample_seq[i]) != 1)
			goto short_file;
	return 0;
short_file:
	snprintf(err, errlen, "truncated or malformed");
	return -1;
}
