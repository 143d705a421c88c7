/*
 * test_sflow.c: unit tests for the sFlow v5 decoder (sflow.c), its JSON
 * rendering (sflow_json.c) and the per-agent accounting (agents.c).
 *
 * Datagrams are built here with a small XDR writer, so each test shows
 * the wire layout it relies on. The decoder always reads an exact-size
 * heap copy (decode()), so ASan reports any read past the datagram.
 *
 * With FABMON_SEEDS=DIR in the environment, every datagram built here is
 * also written to DIR, to seed the fuzz corpus (tests/fuzz/make_seeds.py).
 */
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agents.h"
#include "sflow.h"
#include "sflow_json.h"
#include "t.h"
#include "util.h"

/* ---- XDR builder ----------------------------------------------------- */

#define X_DEPTH 8
#define X_ENDS  64

struct xdr {
	uint8_t b[16384];
	size_t n;
	size_t open[X_DEPTH]; /* offsets of the length words to patch */
	int depth;
	size_t ends[X_ENDS]; /* where each top-level sample ends */
	int nends;
};

static void
xreset(struct xdr *x)
{
	memset(x, 0, sizeof(*x));
}

static void
xraw(struct xdr *x, const void *p, size_t n)
{
	if (x->n + n > sizeof(x->b))
		abort(); /* a test bug */
	memcpy(x->b + x->n, p, n);
	x->n += n;
}

static void
x32(struct xdr *x, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16),
		(uint8_t)(v >> 8), (uint8_t)v };

	xraw(x, b, 4);
}

static void
x64(struct xdr *x, uint64_t v)
{
	x32(x, (uint32_t)(v >> 32));
	x32(x, (uint32_t)v);
}

/* Fixed-size opaque: the bytes, then zeros up to a multiple of 4. */
static void
xfixed(struct xdr *x, const void *p, size_t n)
{
	static const uint8_t zero[4];

	xraw(x, p, n);
	xraw(x, zero, (4 - n % 4) % 4);
}

/* Variable-length opaque or string: the length, then as above. */
static void
xopaque(struct xdr *x, const void *p, size_t n)
{
	x32(x, (uint32_t)n);
	xfixed(x, p, n);
}

static void
xstr(struct xdr *x, const char *s)
{
	xopaque(x, s, strlen(s));
}

/* Open a tagged structure (sample or record); xend() patches its length. */
static void
xbegin(struct xdr *x, uint32_t tag)
{
	if (x->depth == X_DEPTH)
		abort();
	x32(x, tag);
	x->open[x->depth++] = x->n;
	x32(x, 0);
}

static void
xend(struct xdr *x)
{
	size_t at = x->open[--x->depth];
	uint32_t len = (uint32_t)(x->n - at - 4);

	x->b[at] = (uint8_t)(len >> 24);
	x->b[at + 1] = (uint8_t)(len >> 16);
	x->b[at + 2] = (uint8_t)(len >> 8);
	x->b[at + 3] = (uint8_t)len;
	if (x->depth == 0 && x->nends < X_ENDS)
		x->ends[x->nends++] = x->n;
}

/* Overwrite the u32 at byte offset `at` (to break a length or a count). */
static void
xpatch(struct xdr *x, size_t at, uint32_t v)
{
	x->b[at] = (uint8_t)(v >> 24);
	x->b[at + 1] = (uint8_t)(v >> 16);
	x->b[at + 2] = (uint8_t)(v >> 8);
	x->b[at + 3] = (uint8_t)v;
}

static void
xaddr4(struct xdr *x, uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	uint8_t ip[4] = { a, b, c, d };

	x32(x, 1);
	xraw(x, ip, 4);
}

static const uint8_t AGENT6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0xab, 0xcd };

/* Datagram header with an IPv4 agent: 28 bytes. */
#define HDR4 28
static void
dg4(struct xdr *x, uint32_t agent, uint32_t sub, uint32_t seq, uint32_t uptime,
    uint32_t nsamples)
{
	xreset(x);
	x32(x, 5);
	x32(x, 1);
	x32(x, agent);
	x32(x, sub);
	x32(x, seq);
	x32(x, uptime);
	x32(x, nsamples);
}

/* Datagram header with an IPv6 agent: 40 bytes. */
static void
dg6(struct xdr *x, uint32_t sub, uint32_t seq, uint32_t uptime,
    uint32_t nsamples)
{
	xreset(x);
	x32(x, 5);
	x32(x, 2);
	xraw(x, AGENT6, 16);
	x32(x, sub);
	x32(x, seq);
	x32(x, uptime);
	x32(x, nsamples);
}

#define IP4(a, b, c, d)                                                        \
	((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

/* ---- samples and records ------------------------------------------- */

/* Ethernet/IPv4/UDP 10.0.1.5:4444 -> 10.2.0.9:53 and 4 payload bytes. */
/* clang-format off */
static const uint8_t PKT_UDP[46] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x01,	/* dst MAC */
	0x02, 0x00, 0x00, 0x00, 0x00, 0x02,	/* src MAC */
	0x08, 0x00,				/* IPv4 */
	0x45, 0x00, 0x00, 32, 0x12, 0x34, 0x00, 0x00, 64, 17, 0x00, 0x00,
	10, 0, 1, 5,
	10, 2, 0, 9,
	0x11, 0x5c, 0x00, 0x35, 0x00, 12, 0x00, 0x00, /* UDP 4444 -> 53 */
	'a', 'b', 'c', 'd'
};
/* clang-format on */

static void
flow_begin(struct xdr *x, uint32_t seq, uint32_t srcid, uint32_t rate,
    uint32_t pool, uint32_t drops, uint32_t in, uint32_t out, uint32_t nrec)
{
	xbegin(x, SFLOW_SAMPLE_FLOW);
	x32(x, seq);
	x32(x, srcid);
	x32(x, rate);
	x32(x, pool);
	x32(x, drops);
	x32(x, in);
	x32(x, out);
	x32(x, nrec);
}

static void
ctr_begin(struct xdr *x, uint32_t seq, uint32_t srcid, uint32_t nrec)
{
	xbegin(x, SFLOW_SAMPLE_COUNTERS);
	x32(x, seq);
	x32(x, srcid);
	x32(x, nrec);
}

static void
ctrx_begin(
    struct xdr *x, uint32_t seq, uint32_t type, uint32_t index, uint32_t nrec)
{
	xbegin(x, SFLOW_SAMPLE_COUNTERS_EXPANDED);
	x32(x, seq);
	x32(x, type);
	x32(x, index);
	x32(x, nrec);
}

static void
rec_header(struct xdr *x, uint32_t proto, uint32_t frame, uint32_t stripped,
    const uint8_t *pkt, size_t n)
{
	xbegin(x, SFLOW_FLOW_HEADER);
	x32(x, proto);
	x32(x, frame);
	x32(x, stripped);
	xopaque(x, pkt, n);
	xend(x);
}

static void
rec_switch(
    struct xdr *x, uint32_t svlan, uint32_t spri, uint32_t dvlan, uint32_t dpri)
{
	xbegin(x, SFLOW_FLOW_EXT_SWITCH);
	x32(x, svlan);
	x32(x, spri);
	x32(x, dvlan);
	x32(x, dpri);
	xend(x);
}

static void
rec_router(struct xdr *x)
{
	xbegin(x, SFLOW_FLOW_EXT_ROUTER);
	xaddr4(x, 10, 0, 0, 254);
	x32(x, 24);
	x32(x, 16);
	xend(x);
}

/* AS path: SEQUENCE [100 200 300], SET [400 500]; 3 communities. */
static void
rec_gateway(struct xdr *x)
{
	xbegin(x, SFLOW_FLOW_EXT_GATEWAY);
	x32(x, 2);
	xraw(x, AGENT6, 16); /* an IPv6 BGP next hop */
	x32(x, 65000);
	x32(x, 65001);
	x32(x, 65002);
	x32(x, 2);
	x32(x, 2); /* AS_SEQUENCE */
	x32(x, 3);
	x32(x, 100);
	x32(x, 200);
	x32(x, 300);
	x32(x, 1); /* AS_SET */
	x32(x, 2);
	x32(x, 400);
	x32(x, 500);
	x32(x, 3);
	x32(x, 0xfde80001);
	x32(x, 2);
	x32(x, 3);
	x32(x, 150);
	xend(x);
}

/*
 * A compact flow sample from ds 0:3 with an internal input port and an
 * output of format 1 (discarded, reason 256), and four records.
 */
static void
add_flow_compact(struct xdr *x)
{
	flow_begin(x, 42, 3, 1024, 5000, 2, 0x3fffffff, 0x40000100, 4);
	rec_header(x, 1, 1518, 4, PKT_UDP, sizeof(PKT_UDP));
	rec_switch(x, 10, 3, 20, 5);
	rec_router(x);
	rec_gateway(x);
	xend(x);
}

/* A compact flow sample from ds 1:5 (a VLAN), output "multiple 7". */
static void
add_flow_multiple(struct xdr *x)
{
	flow_begin(x, 43, 1u << 24 | 5, 256, 6000, 0, 12, 0x80000007, 1);
	rec_header(x, 1, 64, 0, PKT_UDP, sizeof(PKT_UDP));
	xend(x);
}

/* An expanded flow sample: index and port values over 30 bits. */
static void
add_flow_expanded(struct xdr *x)
{
	xbegin(x, SFLOW_SAMPLE_FLOW_EXPANDED);
	x32(x, 9);
	x32(x, 0);          /* source type */
	x32(x, 0x01000005); /* source index: more than 24 bits */
	x32(x, 512);
	x32(x, 100000);
	x32(x, 1);
	x32(x, 0);          /* input format: ifIndex */
	x32(x, 0xc0000001); /* as a compact port this would be format 3 */
	x32(x, 1);          /* output format: discarded */
	x32(x, 258);
	x32(x, 1);
	rec_switch(x, 1, 0, 2, 0);
	xend(x);
}

static void
rec_generic(struct xdr *x, uint32_t ifindex, uint64_t in_oct, uint64_t out_oct)
{
	xbegin(x, SFLOW_CTR_GENERIC);
	x32(x, ifindex);
	x32(x, 6);               /* ethernetCsmacd */
	x64(x, 100000000000ull); /* 100G */
	x32(x, 1);               /* full duplex */
	x32(x, 3);               /* admin and oper up */
	x64(x, in_oct);
	for (uint32_t i = 0; i < 6; i++)
		x32(x, 1000 + i);
	x64(x, out_oct);
	for (uint32_t i = 0; i < 6; i++)
		x32(x, 2000 + i);
	xend(x);
}

/* A record of n consecutive u32 values starting at `first`. */
static void
rec_u32s(struct xdr *x, uint32_t tag, uint32_t n, uint32_t first)
{
	xbegin(x, tag);
	for (uint32_t i = 0; i < n; i++)
		x32(x, first + i);
	xend(x);
}

static void
rec_portname(struct xdr *x, const void *name, size_t n)
{
	xbegin(x, SFLOW_CTR_PORTNAME);
	xopaque(x, name, n);
	xend(x);
}

static void
add_counters(struct xdr *x)
{
	ctr_begin(x, 1, 3, 3);
	rec_generic(x, 3, 123456789012ull, 987654321098ull);
	rec_u32s(x, SFLOW_CTR_ETHERNET, 13, 1);
	rec_portname(x, "swp1", 4);
	xend(x);
}

static const uint8_t UUID[16] = { 0x8f, 0x1c, 0x02, 0x03, 0x04, 0x05, 0x06,
	0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0xff };

static void
rec_host_cpu(struct xdr *x, int nfields)
{
	xbegin(x, SFLOW_CTR_HOST_CPU);
	x32(x, 0x3e800000); /* 0.25 */
	x32(x, 0x3f000000); /* 0.5 */
	x32(x, 0x3f800000); /* 1.0 */
	for (int i = 3; i < nfields; i++)
		x32(x, (uint32_t)(100 + i));
	xend(x);
}

/* Host structures, in an expanded counter sample. */
static void
add_host(struct xdr *x)
{
	static const uint8_t mac1[6] = { 0xaa, 0xbb, 0xcc, 0, 0, 1 };
	static const uint8_t mac2[6] = { 0xaa, 0xbb, 0xcc, 0, 0, 2 };
	static const uint8_t mac3[6] = { 0xaa, 0xbb, 0xcc, 0, 0, 3 };

	ctrx_begin(x, 2, 2, 0x01000000, 6);
	xbegin(x, SFLOW_CTR_HOST_DESCR);
	xstr(x, "leaf1");
	xraw(x, UUID, 16);
	x32(x, 3); /* x86_64 */
	x32(x, 2); /* linux */
	xstr(x, "6.1.0");
	xend(x);
	xbegin(x, SFLOW_CTR_HOST_ADAPTERS);
	x32(x, 2);
	x32(x, 1);
	x32(x, 1);
	xfixed(x, mac1, 6);
	x32(x, 2);
	x32(x, 2);
	xfixed(x, mac2, 6);
	xfixed(x, mac3, 6);
	xend(x);
	rec_host_cpu(x, 17); /* the original 68-byte form */
	xbegin(x, SFLOW_CTR_HOST_MEMORY);
	for (uint64_t i = 0; i < 7; i++)
		x64(x, (i + 1) << 33);
	for (uint32_t i = 0; i < 4; i++)
		x32(x, 70 + i);
	xend(x);
	xbegin(x, SFLOW_CTR_HOST_DISK);
	x64(x, 1ull << 40);
	x64(x, 1ull << 39);
	x32(x, 1234); /* 12.34% */
	x32(x, 11);
	x64(x, 5000000000ull);
	x32(x, 12);
	x32(x, 13);
	x64(x, 6000000000ull);
	x32(x, 14);
	xend(x);
	xbegin(x, SFLOW_CTR_HOST_NETIO);
	x64(x, 7000000000ull);
	x32(x, 21);
	x32(x, 22);
	x32(x, 23);
	x64(x, 8000000000ull);
	x32(x, 24);
	x32(x, 25);
	x32(x, 26);
	xend(x);
	xend(x);
}

/* The longer host_cpu and the mib2 tables. */
static void
add_mib2(struct xdr *x)
{
	ctrx_begin(x, 3, 2, 7, 5);
	rec_host_cpu(x, 20);
	rec_u32s(x, SFLOW_CTR_MIB2_IP, 19, 300);
	rec_u32s(x, SFLOW_CTR_MIB2_ICMP, 25, 400);
	rec_u32s(x, SFLOW_CTR_MIB2_TCP, 15, 500);
	rec_u32s(x, SFLOW_CTR_MIB2_UDP, 7, 600);
	xend(x);
}

/* A discarded-packet sample, dropped by an ACL, with drop records. */
static void
add_discard(struct xdr *x)
{
	xbegin(x, SFLOW_SAMPLE_DISCARD);
	x32(x, 77);
	x32(x, 0);
	x32(x, 9);
	x32(x, 3);   /* drops */
	x32(x, 9);   /* input */
	x32(x, 0);   /* output: unknown */
	x32(x, 258); /* acl */
	x32(x, 7);
	rec_header(x, 1, 1000, 4, PKT_UDP, sizeof(PKT_UDP));
	xbegin(x, SFLOW_FLOW_HW_TRAP);
	xstr(x, "acl");
	xstr(x, "ingress_flow_action_drop");
	xend(x);
	rec_u32s(x, SFLOW_FLOW_EGRESS_QUEUE, 1, 5);
	xbegin(x, SFLOW_FLOW_FUNCTION);
	xstr(x, "ip_forward");
	xend(x);
	rec_u32s(x, SFLOW_FLOW_TRANSIT_DELAY, 1, 1500);
	rec_u32s(x, SFLOW_FLOW_QUEUE_DEPTH, 1, 65536);
	xbegin(x, SFLOW_FLOW_LINUX_REASON);
	xstr(x, "NETFILTER_DROP");
	xend(x);
	xend(x);
}

/* An enterprise sample type fabmond does not know (RTMETRIC). */
static void
add_unknown(struct xdr *x)
{
	xbegin(x, SFLOW_TAG(4300, 1002));
	x32(x, 0xdeadbeef);
	xstr(x, "rtmetric");
	xend(x);
}

/* Every kind of sample above, in one datagram. */
static void
build_all(struct xdr *x)
{
	dg4(x, IP4(10, 0, 0, 1), 7, 1001, 123456, 8);
	add_flow_compact(x);
	add_flow_multiple(x);
	add_flow_expanded(x);
	add_counters(x);
	add_host(x);
	add_mib2(x);
	add_discard(x);
	add_unknown(x);
}

/* ---- decoding helper ------------------------------------------------- */

#define MAXS 16
#define MAXR 24

/* A datagram decoded in full: every sample and record, as returned. */
struct dec {
	uint8_t *buf; /* the exact-size copy the records point into */
	enum sflow_err open;
	struct sflow_datagram dg;
	int ns;
	struct sflow_sample s[MAXS];
	int nr[MAXS];
	struct sflow_record r[MAXS][MAXR];
};

static struct dec D;

/*
 * Decode len bytes into D. The loops are bounded so that a decoder that
 * never ends would fail the test instead of hanging it.
 */
static void
decode(const uint8_t *p, size_t len)
{
	struct sflow_sample s;
	struct sflow_record r;

	free(D.buf);
	memset(&D, 0, sizeof(D));
	if ((D.buf = malloc(len ? len : 1)) == NULL)
		abort();
	memcpy(D.buf, p, len);
	D.open = sflow_datagram_open(&D.dg, D.buf, len);
	while (D.ns < 100000 && sflow_sample_next(&D.dg, &s) > 0) {
		int nr = 0;

		while (nr < 100000 && sflow_record_next(&s, &r) > 0) {
			if (D.ns < MAXS && nr < MAXR)
				D.r[D.ns][nr] = r;
			nr++;
		}
		if (D.ns < MAXS) {
			D.s[D.ns] = s;
			D.nr[D.ns] = nr;
		}
		D.ns++;
	}
}

static void
decodex(const struct xdr *x)
{
	decode(x->b, x->n);
}

/* A table record's field by name; fails the test if it is missing. */
#define FIELD(r, name) field_(r, name, __LINE__)
static uint64_t
field_(const struct sflow_record *r, const char *name, int line)
{
	for (uint32_t i = 0; i < r->u.table.n; i++)
		if (strcmp(r->u.table.fields[i].name, name) == 0)
			return r->u.table.v[i];
	T_FAIL("line %d: no field %s in record %u:%u", line, name, r->tag >> 12,
	    r->tag & 0xfff);
	return UINT64_MAX;
}

static bool
has_field(const struct sflow_record *r, const char *name)
{
	for (uint32_t i = 0; i < r->u.table.n; i++)
		if (strcmp(r->u.table.fields[i].name, name) == 0)
			return true;
	return false;
}

static bool
bytes_eq(const uint8_t *p, uint32_t n, const char *s)
{
	return p != NULL && n == strlen(s) && memcmp(p, s, n) == 0;
}

/* Write a datagram to $FABMON_SEEDS/unit-NAME, for the fuzz corpus. */
static void
seed(const char *name, const struct xdr *x)
{
	const char *dir = getenv("FABMON_SEEDS");
	char path[512];
	FILE *f;

	if (dir == NULL || *dir == '\0')
		return;
	snprintf(path, sizeof(path), "%s/unit-%s", dir, name);
	if ((f = fopen(path, "wb")) == NULL)
		return;
	fwrite(x->b, 1, x->n, f);
	fclose(f);
}

/* ---- datagram header ------------------------------------------------- */

static void
header_ipv4(void)
{
	struct xdr x;

	dg4(&x, IP4(192, 0, 2, 1), 17, 0xfffffffe, 4000000000u, 0);
	seed("header4", &x);
	decodex(&x);
	T_EQ(D.open, SFLOW_OK);
	T_EQ(D.dg.version, 5);
	T_EQ(D.dg.agent.family, 4);
	T_OK(memcmp(D.dg.agent.a, "\xc0\x00\x02\x01", 4) == 0);
	T_EQ(D.dg.sub_agent_id, 17);
	T_EQ(D.dg.seq, 0xfffffffe);
	T_EQ(D.dg.uptime_ms, 4000000000u);
	T_EQ(D.dg.n_samples, 0);
	T_EQ(D.ns, 0);
	T_EQ(sflow_datagram_errors(&D.dg), 0);
}

static void
header_ipv6(void)
{
	struct xdr x;

	dg6(&x, 3, 99, 1234, 1);
	add_counters(&x);
	seed("header6", &x);
	decodex(&x);
	T_EQ(D.open, SFLOW_OK);
	T_EQ(D.dg.agent.family, 6);
	T_OK(memcmp(D.dg.agent.a, AGENT6, 16) == 0);
	T_EQ(D.dg.sub_agent_id, 3);
	T_EQ(D.dg.seq, 99);
	T_EQ(D.dg.uptime_ms, 1234);
	T_EQ(D.dg.n_samples, 1);
	T_EQ(D.ns, 1);
	T_EQ(D.s[0].tag, SFLOW_SAMPLE_COUNTERS);
	T_EQ(sflow_datagram_errors(&D.dg), 0);
}

/* Address type 0 (UNKNOWN) is legal: no address bytes follow. */
static void
header_unknown_address(void)
{
	struct xdr x;

	xreset(&x);
	x32(&x, 5);
	x32(&x, 0);
	x32(&x, 1);
	x32(&x, 2);
	x32(&x, 3);
	x32(&x, 0);
	decodex(&x);
	T_EQ(D.open, SFLOW_OK);
	T_EQ(D.dg.agent.family, 0);
	T_EQ(D.dg.sub_agent_id, 1);
	T_EQ(D.dg.seq, 2);
	T_EQ(D.dg.uptime_ms, 3);
}

/* ---- flow samples ---------------------------------------------------- */

static void
flow_compact(void)
{
	struct xdr x;
	const struct sflow_sample *s;
	const struct sflow_record *r;
	struct sflow_as_segment seg;
	uint32_t off = 0;

	dg4(&x, IP4(10, 0, 0, 1), 0, 1, 2, 2);
	add_flow_compact(&x);
	add_flow_multiple(&x);
	seed("flow_compact", &x);
	decodex(&x);
	T_EQ(D.open, SFLOW_OK);
	T_EQ(D.ns, 2);
	T_EQ(sflow_datagram_errors(&D.dg), 0);

	s = &D.s[0];
	T_EQ(s->tag, SFLOW_SAMPLE_FLOW);
	T_OK(s->known);
	T_EQ(s->seq, 42);
	T_EQ(s->source_type, 0);
	T_EQ(s->source_index, 3);
	T_EQ(s->sampling_rate, 1024);
	T_EQ(s->sample_pool, 5000);
	T_EQ(s->drops, 2);
	/* 0x3fffffff: format 0, the "internal" ifIndex */
	T_EQ(s->input.format, SFLOW_IF_INDEX);
	T_EQ(s->input.value, SFLOW_IF_INTERNAL);
	/* 0x40000100: format 1 (discarded), reason 256 */
	T_EQ(s->output.format, SFLOW_IF_DISCARD);
	T_EQ(s->output.value, 256);
	T_EQ(s->n_records, 4);
	T_EQ(D.nr[0], 4);

	r = &D.r[0][0];
	T_EQ(r->tag, SFLOW_FLOW_HEADER);
	T_OK(!r->counter);
	T_OK(r->decoded);
	T_EQ(r->u.hdr.protocol, 1);
	T_EQ(r->u.hdr.frame_length, 1518);
	T_EQ(r->u.hdr.stripped, 4);
	T_EQ(r->u.hdr.header_len, sizeof(PKT_UDP));
	T_OK(memcmp(r->u.hdr.header, PKT_UDP, sizeof(PKT_UDP)) == 0);
	T_OK(r->u.hdr.parsed);
	T_EQ(r->u.hdr.pkt.stop, PKT_OK);
	T_EQ(r->u.hdr.pkt.outer.ip_proto, 17);
	T_EQ(r->u.hdr.pkt.outer.src_port, 4444);
	T_EQ(r->u.hdr.pkt.outer.dst_port, 53);
	T_STREQ(r->u.hdr.pkt.outer.stack, "eth.ip.udp");

	r = &D.r[0][1];
	T_EQ(r->tag, SFLOW_FLOW_EXT_SWITCH);
	T_OK(r->decoded);
	T_EQ(r->u.sw.src_vlan, 10);
	T_EQ(r->u.sw.src_priority, 3);
	T_EQ(r->u.sw.dst_vlan, 20);
	T_EQ(r->u.sw.dst_priority, 5);

	r = &D.r[0][2];
	T_EQ(r->tag, SFLOW_FLOW_EXT_ROUTER);
	T_OK(r->decoded);
	T_EQ(r->u.rtr.next_hop.family, 4);
	T_OK(memcmp(r->u.rtr.next_hop.a, "\x0a\x00\x00\xfe", 4) == 0);
	T_EQ(r->u.rtr.src_mask, 24);
	T_EQ(r->u.rtr.dst_mask, 16);

	r = &D.r[0][3];
	T_EQ(r->tag, SFLOW_FLOW_EXT_GATEWAY);
	T_OK(r->decoded);
	T_EQ(r->u.gw.next_hop.family, 6);
	T_OK(memcmp(r->u.gw.next_hop.a, AGENT6, 16) == 0);
	T_EQ(r->u.gw.as, 65000);
	T_EQ(r->u.gw.src_as, 65001);
	T_EQ(r->u.gw.src_peer_as, 65002);
	T_EQ(r->u.gw.n_segments, 2);
	T_EQ(r->u.gw.dst_peer_as, 100); /* first AS of the path */
	T_EQ(r->u.gw.dst_as, 500);      /* last AS of the path */
	T_EQ(r->u.gw.n_communities, 3);
	T_EQ(sflow_rd32(r->u.gw.communities), 0xfde80001);
	T_EQ(sflow_rd32(r->u.gw.communities + 8), 3);
	T_EQ(r->u.gw.localpref, 150);
	T_EQ(sflow_as_segment_next(r, &off, &seg), 1);
	T_EQ(seg.type, 2);
	T_EQ(seg.n, 3);
	T_EQ(sflow_rd32(seg.as), 100);
	T_EQ(sflow_rd32(seg.as + 8), 300);
	T_EQ(sflow_as_segment_next(r, &off, &seg), 1);
	T_EQ(seg.type, 1);
	T_EQ(seg.n, 2);
	T_EQ(sflow_rd32(seg.as + 4), 500);
	T_EQ(sflow_as_segment_next(r, &off, &seg), 0);
	T_EQ(off, r->u.gw.segments_len);
	/* Only a decoded gateway record has segments to walk. */
	off = 0;
	T_EQ(sflow_as_segment_next(&D.r[0][1], &off, &seg), 0);

	s = &D.s[1];
	T_EQ(s->seq, 43);
	T_EQ(s->source_type, 1);
	T_EQ(s->source_index, 5);
	T_EQ(s->input.format, SFLOW_IF_INDEX);
	T_EQ(s->input.value, 12);
	/* 0x80000007: format 2, 7 output ports */
	T_EQ(s->output.format, SFLOW_IF_MULTIPLE);
	T_EQ(s->output.value, 7);
	T_EQ(D.nr[1], 1);
}

static void
flow_expanded(void)
{
	struct xdr x;
	const struct sflow_sample *s = &D.s[0];

	dg4(&x, IP4(10, 0, 0, 1), 0, 1, 2, 1);
	add_flow_expanded(&x);
	seed("flow_expanded", &x);
	decodex(&x);
	T_EQ(D.ns, 1);
	T_EQ(sflow_datagram_errors(&D.dg), 0);
	T_EQ(s->tag, SFLOW_SAMPLE_FLOW_EXPANDED);
	T_OK(s->known);
	T_EQ(s->seq, 9);
	T_EQ(s->source_type, 0);
	T_EQ(s->source_index, 0x01000005);
	T_EQ(s->sampling_rate, 512);
	T_EQ(s->sample_pool, 100000);
	T_EQ(s->drops, 1);
	/* The value is a whole u32: no bits are taken for the format. */
	T_EQ(s->input.format, 0);
	T_EQ(s->input.value, 0xc0000001);
	T_EQ(s->output.format, SFLOW_IF_DISCARD);
	T_EQ(s->output.value, 258);
	T_EQ(D.nr[0], 1);
	T_EQ(D.r[0][0].u.sw.dst_vlan, 2);
}

/* ---- counter samples ------------------------------------------------- */

static void
counters(void)
{
	struct xdr x;
	const struct sflow_record *r;

	dg4(&x, IP4(10, 0, 0, 1), 0, 1, 2, 3);
	add_counters(&x);
	add_host(&x);
	add_mib2(&x);
	seed("counters", &x);
	decodex(&x);
	T_EQ(D.ns, 3);
	T_EQ(sflow_datagram_errors(&D.dg), 0);

	/* 0:2, compact source id */
	T_EQ(D.s[0].tag, SFLOW_SAMPLE_COUNTERS);
	T_EQ(D.s[0].seq, 1);
	T_EQ(D.s[0].source_type, 0);
	T_EQ(D.s[0].source_index, 3);
	T_EQ(D.nr[0], 3);
	r = &D.r[0][0];
	T_EQ(r->tag, SFLOW_CTR_GENERIC);
	T_OK(r->counter);
	T_OK(r->decoded);
	T_EQ(r->u.table.n, 19);
	T_EQ(FIELD(r, "ifIndex"), 3);
	T_EQ(FIELD(r, "networkType"), 6);
	T_EQ(FIELD(r, "ifSpeed"), 100000000000ull);
	T_EQ(FIELD(r, "ifStatus"), 3);
	/* 64-bit counters, over 2^32 */
	T_EQ(FIELD(r, "ifInOctets"), 123456789012ull);
	T_EQ(FIELD(r, "ifInUcastPkts"), 1000);
	T_EQ(FIELD(r, "ifInUnknownProtos"), 1005);
	T_EQ(FIELD(r, "ifOutOctets"), 987654321098ull);
	T_EQ(FIELD(r, "ifOutUcastPkts"), 2000);
	T_EQ(FIELD(r, "ifPromiscuousMode"), 2005);
	/* The positions that ifc_from_sflow() reads by (sflow.h). */
	T_OK(r->u.table.fields == sflow_generic_fields);
	T_EQ(r->u.table.n, SFLOW_GEN__N);
	T_EQ(r->u.table.v[SFLOW_GEN_IFINDEX], 3);
	T_EQ(r->u.table.v[SFLOW_GEN_SPEED], 100000000000ull);
	T_EQ(r->u.table.v[SFLOW_GEN_IN_OCTETS], 123456789012ull);
	T_EQ(r->u.table.v[SFLOW_GEN_IN_UNKNOWN], 1005);
	T_EQ(r->u.table.v[SFLOW_GEN_OUT_OCTETS], 987654321098ull);
	T_EQ(r->u.table.v[SFLOW_GEN_OUT_UCAST], 2000);
	T_EQ(r->u.table.v[SFLOW_GEN_PROMISC], 2005);
	T_STREQ(
	    sflow_generic_fields[SFLOW_GEN_NETWORK_TYPE].name, "networkType");
	T_STREQ(sflow_generic_fields[SFLOW_GEN_DIRECTION].name, "ifDirection");
	T_STREQ(sflow_generic_fields[SFLOW_GEN_STATUS].name, "ifStatus");
	T_STREQ(sflow_generic_fields[SFLOW_GEN_IN_UCAST].name, "ifInUcastPkts");
	T_STREQ(
	    sflow_generic_fields[SFLOW_GEN_IN_MCAST].name, "ifInMulticastPkts");
	T_STREQ(
	    sflow_generic_fields[SFLOW_GEN_IN_BCAST].name, "ifInBroadcastPkts");
	T_STREQ(
	    sflow_generic_fields[SFLOW_GEN_IN_DISCARDS].name, "ifInDiscards");
	T_STREQ(sflow_generic_fields[SFLOW_GEN_IN_ERRORS].name, "ifInErrors");
	T_STREQ(sflow_generic_fields[SFLOW_GEN_OUT_MCAST].name,
	    "ifOutMulticastPkts");
	T_STREQ(sflow_generic_fields[SFLOW_GEN_OUT_BCAST].name,
	    "ifOutBroadcastPkts");
	T_STREQ(
	    sflow_generic_fields[SFLOW_GEN_OUT_DISCARDS].name, "ifOutDiscards");
	T_STREQ(sflow_generic_fields[SFLOW_GEN_OUT_ERRORS].name, "ifOutErrors");
	r = &D.r[0][1];
	T_EQ(r->tag, SFLOW_CTR_ETHERNET);
	T_EQ(r->u.table.n, 13);
	T_EQ(FIELD(r, "dot3StatsAlignmentErrors"), 1);
	T_EQ(FIELD(r, "dot3StatsSymbolErrors"), 13);
	r = &D.r[0][2];
	T_EQ(r->tag, SFLOW_CTR_PORTNAME);
	T_OK(r->decoded);
	T_OK(bytes_eq(r->u.str.str, r->u.str.len, "swp1"));

	/* 0:4, expanded source id */
	T_EQ(D.s[1].tag, SFLOW_SAMPLE_COUNTERS_EXPANDED);
	T_EQ(D.s[1].seq, 2);
	T_EQ(D.s[1].source_type, 2);
	T_EQ(D.s[1].source_index, 0x01000000);
	T_EQ(D.nr[1], 6);
	r = &D.r[1][0];
	T_EQ(r->tag, SFLOW_CTR_HOST_DESCR);
	T_OK(r->decoded);
	T_OK(bytes_eq(
	    r->u.hostdescr.hostname, r->u.hostdescr.hostname_len, "leaf1"));
	T_OK(memcmp(r->u.hostdescr.uuid, UUID, 16) == 0);
	T_EQ(r->u.hostdescr.machine_type, 3);
	T_EQ(r->u.hostdescr.os_name, 2);
	T_OK(bytes_eq(
	    r->u.hostdescr.os_release, r->u.hostdescr.os_release_len, "6.1.0"));
	r = &D.r[1][1];
	T_EQ(r->tag, SFLOW_CTR_HOST_ADAPTERS);
	T_OK(r->decoded);
	T_EQ(r->u.adapters.n_adapters, 2);
	/* (ifIndex, count, 1 MAC) + (ifIndex, count, 2 MACs) */
	T_EQ(r->u.adapters.list_len, 8 + 8 + 8 + 16);
	T_EQ(sflow_rd32(r->u.adapters.list + 16), 2);
	T_OK(memcmp(r->u.adapters.list + 32, "\xaa\xbb\xcc\x00\x00\x03", 6) ==
	    0);
	r = &D.r[1][2];
	T_EQ(r->tag, SFLOW_CTR_HOST_CPU);
	T_OK(r->decoded);
	/* The 68-byte form has no cpu_steal, guest, guest_nice. */
	T_EQ(r->u.table.n, 17);
	T_EQ(FIELD(r, "cpu_load_one"), 0x3e800000);
	T_EQ(FIELD(r, "cpu_load_fifteen"), 0x3f800000);
	T_EQ(FIELD(r, "cpu_proc_run"), 103);
	T_EQ(FIELD(r, "cpu_contexts"), 116);
	T_OK(!has_field(r, "cpu_steal"));
	r = &D.r[1][3];
	T_EQ(r->tag, SFLOW_CTR_HOST_MEMORY);
	T_EQ(r->u.table.n, 11);
	T_EQ(FIELD(r, "mem_total"), 1ull << 33);
	T_EQ(FIELD(r, "swap_free"), 7ull << 33);
	T_EQ(FIELD(r, "page_in"), 70);
	T_EQ(FIELD(r, "swap_out"), 73);
	r = &D.r[1][4];
	T_EQ(r->tag, SFLOW_CTR_HOST_DISK);
	T_EQ(r->u.table.n, 9);
	T_EQ(FIELD(r, "disk_total"), 1ull << 40);
	T_EQ(FIELD(r, "disk_partition_max_used"), 1234);
	T_EQ(FIELD(r, "disk_bytes_read"), 5000000000ull);
	T_EQ(FIELD(r, "disk_bytes_written"), 6000000000ull);
	T_EQ(FIELD(r, "disk_write_time"), 14);
	r = &D.r[1][5];
	T_EQ(r->tag, SFLOW_CTR_HOST_NETIO);
	T_EQ(r->u.table.n, 8);
	T_EQ(FIELD(r, "nio_bytes_in"), 7000000000ull);
	T_EQ(FIELD(r, "nio_drops_in"), 23);
	T_EQ(FIELD(r, "nio_bytes_out"), 8000000000ull);
	T_EQ(FIELD(r, "nio_drops_out"), 26);

	T_EQ(D.nr[2], 5);
	r = &D.r[2][0];
	T_EQ(r->tag, SFLOW_CTR_HOST_CPU);
	T_EQ(r->u.table.n, 20);
	T_EQ(FIELD(r, "cpu_steal"), 117);
	T_EQ(FIELD(r, "cpu_guest_nice"), 119);
	r = &D.r[2][1];
	T_EQ(r->tag, SFLOW_CTR_MIB2_IP);
	T_EQ(r->u.table.n, 19);
	T_EQ(FIELD(r, "ipForwarding"), 300);
	T_EQ(FIELD(r, "ipFragCreates"), 318);
	r = &D.r[2][2];
	T_EQ(r->tag, SFLOW_CTR_MIB2_ICMP);
	T_EQ(r->u.table.n, 25);
	T_EQ(FIELD(r, "icmpInMsgs"), 400);
	T_EQ(FIELD(r, "icmpOutAddrMaskReps"), 424);
	r = &D.r[2][3];
	T_EQ(r->tag, SFLOW_CTR_MIB2_TCP);
	T_EQ(r->u.table.n, 15);
	T_EQ(FIELD(r, "tcpRtoAlgorithm"), 500);
	T_EQ(FIELD(r, "tcpInCsumErrors"), 514);
	r = &D.r[2][4];
	T_EQ(r->tag, SFLOW_CTR_MIB2_UDP);
	T_EQ(r->u.table.n, 7);
	T_EQ(FIELD(r, "udpInDatagrams"), 600);
	T_EQ(FIELD(r, "udpInCsumErrors"), 606);
}

/*
 * Optional trailing fields: an older agent's 16-byte mib2 UDP record and
 * a 68-byte host_cpu are complete; fewer than the required are not.
 */
static void
counters_short_tables(void)
{
	struct xdr x;

	dg4(&x, IP4(10, 0, 0, 1), 0, 1, 2, 1);
	ctr_begin(&x, 1, 3, 4);
	rec_u32s(&x, SFLOW_CTR_MIB2_UDP, 4, 1);
	rec_u32s(&x, SFLOW_CTR_MIB2_UDP, 3, 1);
	rec_host_cpu(&x, 16);
	rec_u32s(&x, SFLOW_CTR_ETHERNET, 12, 1);
	xend(&x);
	decodex(&x);
	T_EQ(D.nr[0], 4);
	T_OK(D.r[0][0].decoded);
	T_EQ(D.r[0][0].u.table.n, 4);
	T_OK(!D.r[0][1].decoded);
	T_OK(!D.r[0][2].decoded);
	T_OK(!D.r[0][3].decoded);
	T_EQ(D.dg.errs[SFLOW_ERR_RECORD], 3);
	T_EQ(sflow_datagram_errors(&D.dg), 3);
}

/* ---- discard samples ------------------------------------------------- */

static void
discard(void)
{
	struct xdr x;
	const struct sflow_sample *s = &D.s[0];
	const struct sflow_record *r;

	dg4(&x, IP4(10, 0, 0, 1), 0, 1, 2, 1);
	add_discard(&x);
	seed("discard", &x);
	decodex(&x);
	T_EQ(D.ns, 1);
	T_EQ(sflow_datagram_errors(&D.dg), 0);
	T_EQ(s->tag, SFLOW_SAMPLE_DISCARD);
	T_OK(s->known);
	T_EQ(s->seq, 77);
	T_EQ(s->source_type, 0);
	T_EQ(s->source_index, 9);
	T_EQ(s->drops, 3);
	T_EQ(s->input.format, 0);
	T_EQ(s->input.value, 9);
	T_EQ(s->output.format, 0);
	T_EQ(s->output.value, 0);
	T_EQ(s->discard_reason, 258);
	T_STREQ(sflow_discard_reason_name(s->discard_reason), "acl");
	T_EQ(D.nr[0], 7);
	r = &D.r[0][0];
	T_EQ(r->tag, SFLOW_FLOW_HEADER);
	T_OK(!r->counter);
	T_EQ(r->u.hdr.pkt.outer.dst_port, 53);
	r = &D.r[0][1];
	T_EQ(r->tag, SFLOW_FLOW_HW_TRAP);
	T_OK(r->decoded);
	T_OK(bytes_eq(r->u.str.str, r->u.str.len, "acl"));
	T_OK(
	    bytes_eq(r->u.str.str2, r->u.str.len2, "ingress_flow_action_drop"));
	T_EQ(D.r[0][2].tag, SFLOW_FLOW_EGRESS_QUEUE);
	T_EQ(D.r[0][2].u.u32, 5);
	T_OK(bytes_eq(D.r[0][3].u.str.str, D.r[0][3].u.str.len, "ip_forward"));
	T_EQ(D.r[0][4].u.u32, 1500);
	T_EQ(D.r[0][5].u.u32, 65536);
	T_OK(bytes_eq(
	    D.r[0][6].u.str.str, D.r[0][6].u.str.len, "NETFILTER_DROP"));
}

static void
discard_reason_names(void)
{
	T_STREQ(sflow_discard_reason_name(0), "net_unreachable");
	T_STREQ(sflow_discard_reason_name(15), "precedence_cutoff");
	T_OK(sflow_discard_reason_name(16) == NULL);
	T_OK(sflow_discard_reason_name(255) == NULL);
	T_STREQ(sflow_discard_reason_name(256), "unknown");
	T_STREQ(sflow_discard_reason_name(257), "ttl_exceeded");
	T_STREQ(sflow_discard_reason_name(258), "acl");
	T_STREQ(sflow_discard_reason_name(262), "pkt_too_big");
	/* sflowtool's typos 33 and 36 are corrected (D6). */
	T_STREQ(sflow_discard_reason_name(332), "dev_hdr");
	T_STREQ(sflow_discard_reason_name(366), "tc_egress");
	T_OK(sflow_discard_reason_name(33) == NULL);
	T_OK(sflow_discard_reason_name(36) == NULL);
	T_STREQ(sflow_discard_reason_name(371), "socket_filter");
	T_OK(sflow_discard_reason_name(372) == NULL);
	T_OK(sflow_discard_reason_name(999) == NULL);
	T_OK(sflow_discard_reason_name(UINT32_MAX) == NULL);
}

static void
err_names(void)
{
	T_STREQ(sflow_err_name(SFLOW_OK), "ok");
	T_STREQ(sflow_err_name(SFLOW_ERR_TRUNCATED), "truncated");
	T_STREQ(sflow_err_name(SFLOW_ERR_VERSION), "bad_version");
	T_STREQ(sflow_err_name(SFLOW_ERR_ADDRESS), "bad_address_type");
	T_STREQ(sflow_err_name(SFLOW_ERR_LENGTH), "sample_overrun");
	T_STREQ(sflow_err_name(SFLOW_ERR_COUNT), "bad_count");
	T_STREQ(sflow_err_name(SFLOW_ERR_RECORD), "length_mismatch");
	T_STREQ(sflow_err_name(SFLOW_ERR_OVERSIZE), "oversize");
	T_STREQ(sflow_err_name(SFLOW_ERR_HEADER), "bad_sampled_header");
	T_STREQ(sflow_err_name(SFLOW_ERR__MAX), "unknown");
	T_STREQ(sflow_err_name((enum sflow_err) - 1), "unknown");
}

/* ---- unknown samples and records ------------------------------------- */

static void
unknown_skipped(void)
{
	struct xdr x;

	dg4(&x, IP4(10, 0, 0, 1), 0, 1, 2, 3);
	add_unknown(&x);
	flow_begin(&x, 5, 3, 1, 1, 0, 1, 2, 3);
	rec_u32s(&x, SFLOW_TAG(0, 9999), 3, 1);
	rec_u32s(&x, SFLOW_TAG(0, 1004), 0, 0); /* empty, unknown here */
	rec_switch(&x, 7, 0, 8, 0);
	xend(&x);
	ctr_begin(&x, 6, 3, 2);
	rec_u32s(&x, SFLOW_TAG(0, 99), 5, 1);
	rec_generic(&x, 3, 1, 2);
	xend(&x);
	seed("unknown", &x);
	decodex(&x);
	T_EQ(D.ns, 3);
	T_EQ(sflow_datagram_errors(&D.dg), 0);
	T_EQ(D.s[0].tag, SFLOW_TAG(4300, 1002));
	T_OK(!D.s[0].known);
	T_EQ(D.s[0].len, 16);
	T_EQ(D.nr[0], 0);
	T_EQ(D.s[1].seq, 5);
	T_EQ(D.nr[1], 3);
	T_EQ(D.r[1][0].tag, SFLOW_TAG(0, 9999));
	T_OK(!D.r[1][0].decoded);
	T_EQ(D.r[1][0].len, 12);
	T_OK(!D.r[1][1].decoded);
	T_OK(D.r[1][2].decoded);
	T_EQ(D.r[1][2].u.sw.src_vlan, 7);
	T_EQ(D.nr[2], 2);
	T_OK(!D.r[2][0].decoded);
	T_OK(D.r[2][0].counter);
	T_OK(D.r[2][1].decoded);
	T_EQ(FIELD(&D.r[2][1], "ifOutOctets"), 2);
}

/* ---- errors ---------------------------------------------------------- */

static void
err_version(void)
{
	struct xdr x;
	struct sflow_sample s;

	dg4(&x, IP4(10, 0, 0, 1), 0, 1, 2, 1);
	add_counters(&x);
	xpatch(&x, 0, 4);
	seed("version4", &x);
	decodex(&x);
	T_EQ(D.open, SFLOW_ERR_VERSION);
	T_EQ(D.dg.version, 4);
	T_EQ(D.dg.errs[SFLOW_ERR_VERSION], 1);
	T_EQ(sflow_datagram_errors(&D.dg), 1);
	T_EQ(D.ns, 0);
	/* A failed open leaves a datagram that yields nothing. */
	T_EQ(sflow_sample_next(&D.dg, &s), 0);
}

static void
err_address(void)
{
	struct xdr x;

	dg4(&x, IP4(10, 0, 0, 1), 0, 1, 2, 1);
	add_counters(&x);
	xpatch(&x, 4, 7);
	seed("address7", &x);
	decodex(&x);
	T_EQ(D.open, SFLOW_ERR_ADDRESS);
	T_EQ(D.dg.errs[SFLOW_ERR_ADDRESS], 1);
	T_EQ(sflow_datagram_errors(&D.dg), 1);
	T_EQ(D.ns, 0);
}

/* The same record decoded from two buffers: equal in every field. */
static bool
record_eq(const struct sflow_record *a, const struct sflow_record *b)
{
	if (a->tag != b->tag || a->len != b->len || a->decoded != b->decoded ||
	    a->counter != b->counter || memcmp(a->data, b->data, a->len) != 0)
		return false;
	if (!a->decoded)
		return true;
	if (a->counter && a->tag != SFLOW_CTR_PORTNAME &&
	    a->tag != SFLOW_CTR_HOST_DESCR && a->tag != SFLOW_CTR_HOST_ADAPTERS)
		return a->u.table.n == b->u.table.n &&
		    memcmp(a->u.table.v, b->u.table.v,
		        sizeof(a->u.table.v[0]) * a->u.table.n) == 0;
	switch (a->tag) {
	case SFLOW_FLOW_HEADER:
		return a->u.hdr.header_len == b->u.hdr.header_len &&
		    a->u.hdr.frame_length == b->u.hdr.frame_length &&
		    a->u.hdr.pkt.stop == b->u.hdr.pkt.stop &&
		    a->u.hdr.pkt.outer.src_port ==
		    b->u.hdr.pkt.outer.src_port &&
		    memcmp(a->u.hdr.pkt.outer.src_ip, b->u.hdr.pkt.outer.src_ip,
		        16) == 0;
	case SFLOW_FLOW_EXT_GATEWAY:
		return a->u.gw.dst_as == b->u.gw.dst_as &&
		    a->u.gw.localpref == b->u.gw.localpref &&
		    a->u.gw.segments_len == b->u.gw.segments_len;
	default:
		return true; /* the same bytes, decoded the same way */
	}
}

/*
 * Cut the all-samples datagram at every length. Each prefix must decode
 * the samples it holds completely and exactly as the whole datagram
 * does, and count exactly one error of the class the cut implies.
 */
static void
err_truncated_every_length(void)
{
	struct xdr x;
	static struct dec full;

	build_all(&x);
	seed("all", &x);
	decodex(&x);
	T_EQ(D.ns, 8);
	T_EQ(x.nends, 8);
	T_EQ(sflow_datagram_errors(&D.dg), 0);
	full = D;
	D.buf = NULL; /* `full` owns it now */
	for (size_t n = 0; n <= x.n; n++) {
		enum sflow_err want;
		int k = 0;
		size_t prev;
		bool bad = false;

		while (k < x.nends && x.ends[k] <= n)
			k++;
		prev = k ? x.ends[k - 1] : HDR4;
		if (n < HDR4)
			want = SFLOW_ERR_TRUNCATED;
		else if (n == x.n)
			want = SFLOW_OK;
		else if (n == prev)
			want = SFLOW_ERR_COUNT;
		else if (n - prev < 8)
			want = SFLOW_ERR_TRUNCATED; /* inside tag/length */
		else
			want = SFLOW_ERR_LENGTH;
		decode(x.b, n);
		bad |= D.open != (n < HDR4 ? SFLOW_ERR_TRUNCATED : SFLOW_OK);
		bad |= sflow_datagram_errors(&D.dg) != (want ? 1u : 0u);
		bad |= want != SFLOW_OK && D.dg.errs[want] != 1;
		if (n >= HDR4)
			bad |= D.dg.seq != 1001 || D.dg.uptime_ms != 123456 ||
			    D.dg.sub_agent_id != 7 || D.dg.n_samples != 8;
		bad |= D.ns != (n < HDR4 ? 0 : k);
		for (int i = 0; i < D.ns && i < MAXS; i++) {
			bad |= D.s[i].tag != full.s[i].tag ||
			    D.s[i].len != full.s[i].len ||
			    D.s[i].seq != full.s[i].seq ||
			    D.s[i].source_index != full.s[i].source_index ||
			    D.s[i].drops != full.s[i].drops ||
			    D.s[i].output.value != full.s[i].output.value ||
			    D.nr[i] != full.nr[i];
			for (int j = 0; j < D.nr[i] && j < MAXR; j++)
				bad |= !record_eq(&D.r[i][j], &full.r[i][j]);
		}
		if (bad)
			T_FAIL("cut at %zu of %zu: open %d, %d samples, %u "
			       "errors, want %s",
			    n, x.n, D.open, D.ns, sflow_datagram_errors(&D.dg),
			    sflow_err_name(want));
	}
	free(full.buf);
}

static void
err_sample_overrun(void)
{
	struct xdr x;

	dg4(&x, IP4(10, 0, 0, 1), 0, 1, 2, 3);
	add_counters(&x);
	add_discard(&x);
	add_counters(&x);
	/* The second sample claims more bytes than the datagram holds. */
	xpatch(&x, x.ends[0] + 4, (uint32_t)(x.n - x.ends[0]));
	seed("sample_overrun", &x);
	decodex(&x);
	T_EQ(D.ns, 1);
	T_EQ(D.nr[0], 3);
	T_EQ(D.dg.errs[SFLOW_ERR_LENGTH], 1);
	T_EQ(sflow_datagram_errors(&D.dg), 1);

	/* The largest length there is. */
	xpatch(&x, x.ends[0] + 4, UINT32_MAX);
	decodex(&x);
	T_EQ(D.ns, 1);
	T_EQ(D.dg.errs[SFLOW_ERR_LENGTH], 1);
}

static void
err_record_overrun(void)
{
	struct xdr x;
	size_t rec2;

	dg4(&x, IP4(10, 0, 0, 1), 0, 1, 2, 2);
	flow_begin(&x, 1, 3, 1, 1, 0, 1, 2, 3);
	rec_switch(&x, 1, 0, 2, 0);
	rec2 = x.n;
	rec_router(&x);
	rec_switch(&x, 3, 0, 4, 0);
	xend(&x);
	add_counters(&x);
	/* The router record overruns its sample, not the datagram. */
	xpatch(&x, rec2 + 4, 1000);
	seed("record_overrun", &x);
	decodex(&x);
	T_EQ(D.ns, 2);
	T_EQ(D.nr[0], 1);
	T_EQ(D.r[0][0].u.sw.src_vlan, 1);
	T_EQ(D.dg.errs[SFLOW_ERR_LENGTH], 1);
	T_EQ(sflow_datagram_errors(&D.dg), 1);
	/* The sample's own length still finds the next sample. */
	T_EQ(D.s[1].tag, SFLOW_SAMPLE_COUNTERS);
	T_EQ(D.nr[1], 3);
	T_EQ(FIELD(&D.r[1][0], "ifInOctets"), 123456789012ull);
}

static void
err_record_short(void)
{
	struct xdr x;

	dg4(&x, IP4(10, 0, 0, 1), 0, 1, 2, 1);
	flow_begin(&x, 1, 3, 1, 1, 0, 1, 2, 4);
	/* A switch record with 2 of its 4 words. */
	rec_u32s(&x, SFLOW_FLOW_EXT_SWITCH, 2, 1);
	rec_router(&x);
	/* A gateway record cut inside its AS path. */
	xbegin(&x, SFLOW_FLOW_EXT_GATEWAY);
	xaddr4(&x, 1, 2, 3, 4);
	x32(&x, 1);
	x32(&x, 2);
	x32(&x, 3);
	x32(&x, 1);
	x32(&x, 2);
	x32(&x, 5); /* 5 ASes, 1 present */
	x32(&x, 65000);
	xend(&x);
	/* A header record whose opaque runs past the record. */
	xbegin(&x, SFLOW_FLOW_HEADER);
	x32(&x, 1);
	x32(&x, 100);
	x32(&x, 0);
	x32(&x, 64);
	xfixed(&x, PKT_UDP, 16);
	xend(&x);
	xend(&x);
	seed("record_short", &x);
	decodex(&x);
	T_EQ(D.ns, 1);
	T_EQ(D.nr[0], 4);
	T_EQ(D.r[0][0].tag, SFLOW_FLOW_EXT_SWITCH);
	T_OK(!D.r[0][0].decoded);
	T_EQ(D.r[0][0].len, 8);
	T_OK(D.r[0][1].decoded);
	T_EQ(D.r[0][1].u.rtr.dst_mask, 16);
	T_OK(!D.r[0][2].decoded);
	T_OK(!D.r[0][3].decoded);
	T_EQ(D.dg.errs[SFLOW_ERR_RECORD], 3);
	T_EQ(sflow_datagram_errors(&D.dg), 3);
	/* An undecoded gateway has no path to walk. */
	{
		uint32_t off = 0;
		struct sflow_as_segment seg;

		T_EQ(sflow_as_segment_next(&D.r[0][2], &off, &seg), 0);
	}
}

/* A count far above the bytes: one real sample, then the end. */
static void
err_count_samples(void)
{
	struct xdr x;

	dg4(&x, IP4(10, 0, 0, 1), 0, 1, 2, UINT32_MAX);
	add_counters(&x);
	seed("count_samples", &x);
	decodex(&x);
	T_EQ(D.dg.n_samples, UINT32_MAX);
	T_EQ(D.ns, 1);
	T_EQ(D.dg.errs[SFLOW_ERR_COUNT], 1);
	T_EQ(sflow_datagram_errors(&D.dg), 1);
}

static void
err_count_records(void)
{
	struct xdr x;
	size_t nrec_at;

	dg4(&x, IP4(10, 0, 0, 1), 0, 1, 2, 2);
	ctr_begin(&x, 1, 3, 1);
	nrec_at = x.n - 4;
	rec_generic(&x, 3, 1, 2);
	xend(&x);
	add_counters(&x);
	xpatch(&x, nrec_at, UINT32_MAX);
	seed("count_records", &x);
	decodex(&x);
	T_EQ(D.s[0].n_records, UINT32_MAX);
	T_EQ(D.nr[0], 1);
	T_EQ(D.ns, 2);
	T_EQ(D.nr[1], 3);
	T_EQ(D.dg.errs[SFLOW_ERR_COUNT], 1);
	T_EQ(sflow_datagram_errors(&D.dg), 1);
}

static void
err_zero_lengths(void)
{
	struct xdr x;

	dg4(&x, IP4(10, 0, 0, 1), 0, 1, 2, 4);
	/* A known sample with no bytes: too short for its own header. */
	xbegin(&x, SFLOW_SAMPLE_FLOW);
	xend(&x);
	/* An unknown one with no bytes is just empty. */
	xbegin(&x, SFLOW_TAG(1, 1));
	xend(&x);
	flow_begin(&x, 8, 3, 1, 1, 0, 1, 2, 3);
	xbegin(&x, SFLOW_TAG(0, 2000)); /* an unknown flow record */
	xend(&x);
	xbegin(&x, SFLOW_FLOW_EXT_SWITCH); /* a known one */
	xend(&x);
	rec_switch(&x, 5, 0, 6, 0);
	xend(&x);
	add_counters(&x);
	seed("zero_lengths", &x);
	decodex(&x);
	T_EQ(D.ns, 4);
	T_EQ(D.s[0].tag, SFLOW_SAMPLE_FLOW);
	T_EQ(D.s[0].len, 0);
	T_OK(!D.s[0].known);
	T_EQ(D.nr[0], 0);
	T_OK(!D.s[1].known);
	T_EQ(D.s[1].len, 0);
	T_EQ(D.s[2].seq, 8);
	T_EQ(D.nr[2], 3);
	T_OK(!D.r[2][0].decoded);
	T_EQ(D.r[2][0].len, 0);
	T_OK(!D.r[2][1].decoded);
	T_OK(D.r[2][2].decoded);
	T_EQ(D.r[2][2].u.sw.dst_vlan, 6);
	T_EQ(D.nr[3], 3);
	T_EQ(D.dg.errs[SFLOW_ERR_LENGTH], 1);
	T_EQ(D.dg.errs[SFLOW_ERR_RECORD], 1);
	T_EQ(sflow_datagram_errors(&D.dg), 2);
}

static void
trailing_bytes(void)
{
	struct xdr x;

	dg4(&x, IP4(10, 0, 0, 1), 0, 1, 2, 1);
	add_counters(&x);
	/* Bytes after the declared samples, even a plausible sample. */
	add_counters(&x);
	x32(&x, 0xffffffff);
	seed("trailing", &x);
	decodex(&x);
	T_EQ(D.ns, 1);
	T_EQ(sflow_datagram_errors(&D.dg), 0);
	/* Bytes after the declared records of a sample, likewise. */
	dg4(&x, IP4(10, 0, 0, 1), 0, 1, 2, 1);
	ctr_begin(&x, 1, 3, 1);
	rec_generic(&x, 3, 1, 2);
	x32(&x, 0x12345678);
	xend(&x);
	decodex(&x);
	T_EQ(D.ns, 1);
	T_EQ(D.nr[0], 1);
	T_EQ(sflow_datagram_errors(&D.dg), 0);
}

/* A sampled header the parser finds impossible is counted, not fatal. */
static void
err_bad_sampled_header(void)
{
	struct xdr x;
	uint8_t pkt[sizeof(PKT_UDP)];

	memcpy(pkt, PKT_UDP, sizeof(pkt));
	pkt[14] = 0x43; /* IHL 3 */
	dg4(&x, IP4(10, 0, 0, 1), 0, 1, 2, 1);
	flow_begin(&x, 1, 3, 1, 1, 0, 1, 2, 2);
	rec_header(&x, 1, 100, 0, pkt, sizeof(pkt));
	rec_switch(&x, 1, 0, 2, 0);
	xend(&x);
	decodex(&x);
	T_EQ(D.nr[0], 2);
	T_OK(D.r[0][0].decoded);
	T_EQ(D.r[0][0].u.hdr.pkt.stop, PKT_BAD_HEADER);
	T_EQ(D.dg.errs[SFLOW_ERR_HEADER], 1);
	T_EQ(sflow_datagram_errors(&D.dg), 1);
	T_OK(D.r[0][1].decoded);
}

static bool
all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i] != 0)
			return false;
	return true;
}

/*
 * The record cursor reuses its struct, and only a parsed sampled header
 * fills u.hdr.pkt (sflow.c zeroes the rest of a record around it): after
 * a parsed header, a header it does not parse, a bad one and another
 * record must still leave nothing of it behind.
 */
static void
record_cleared(void)
{
	struct xdr x;
	const struct sflow_record *r;
	size_t sw_end = offsetof(struct sflow_record, u) + sizeof(r->u.sw);

	dg4(&x, IP4(10, 0, 0, 1), 0, 1, 2, 1);
	flow_begin(&x, 1, 3, 1, 1, 0, 1, 2, 6);
	rec_header(&x, 1, 100, 0, PKT_UDP, sizeof(PKT_UDP));
	rec_header(&x, 2, 100, 0, PKT_UDP, sizeof(PKT_UDP)); /* 802.3 */
	rec_header(&x, 1, 100, 0, PKT_UDP, sizeof(PKT_UDP));
	xbegin(&x, SFLOW_FLOW_HEADER); /* its header longer than the record */
	x32(&x, 1);
	x32(&x, 100);
	x32(&x, 0);
	x32(&x, 200);
	xraw(&x, PKT_UDP, 8);
	xend(&x);
	rec_header(&x, 1, 100, 0, PKT_UDP, sizeof(PKT_UDP));
	rec_switch(&x, 1, 0, 2, 0);
	xend(&x);
	decodex(&x);
	T_EQ(D.nr[0], 6);
	T_EQ(D.dg.errs[SFLOW_ERR_RECORD], 1);
	T_EQ(sflow_datagram_errors(&D.dg), 1);
	r = &D.r[0][0];
	T_OK(r->decoded && r->u.hdr.parsed);
	T_STREQ(r->u.hdr.pkt.outer.stack, "eth.ip.udp");
	r = &D.r[0][1];
	T_OK(r->decoded && !r->u.hdr.parsed);
	T_EQ(r->u.hdr.protocol, 2);
	T_EQ(r->u.hdr.header_len, sizeof(PKT_UDP));
	T_OK(all_zero(&r->u.hdr.pkt, sizeof(r->u.hdr.pkt)));
	r = &D.r[0][2];
	T_OK(r->decoded && r->u.hdr.parsed);
	T_EQ(r->u.hdr.pkt.outer.dst_port, 53);
	r = &D.r[0][3];
	T_OK(!r->decoded && !r->u.hdr.parsed);
	T_OK(all_zero(&r->u.hdr.pkt, sizeof(r->u.hdr.pkt)));
	r = &D.r[0][5];
	T_EQ(r->tag, SFLOW_FLOW_EXT_SWITCH);
	T_OK(r->decoded);
	T_EQ(r->u.sw.dst_vlan, 2);
	T_OK(all_zero((const uint8_t *)r + sw_end, sizeof(*r) - sw_end));
}

/* ---- JSON ------------------------------------------------------------ */

/* Every value in the tree is a string (docs/decode-json.md §1). */
static bool
json_all_strings(json_t *j)
{
	const char *k;
	json_t *v;
	size_t i;

	if (json_is_object(j)) {
		json_object_foreach(
		    j, k, v) if (!json_all_strings(v)) return false;
		return true;
	}
	if (json_is_array(j)) {
		json_array_foreach(
		    j, i, v) if (!json_all_strings(v)) return false;
		return true;
	}
	return json_is_string(j);
}

/*
 * Render a datagram and check the line: one JSON object (no duplicate
 * keys, only strings) followed by "\n". The caller frees it.
 */
#define JSON(p, n) json_(p, n, __LINE__)
static char *
json_(const uint8_t *p, size_t n, int line)
{
	struct sflow_json_meta m = { "192.0.2.100", 1662715598, 0 };
	uint8_t *copy = malloc(n ? n : 1);
	json_error_t err;
	json_t *j;
	char *s;
	size_t len;

	if (copy == NULL)
		abort();
	memcpy(copy, p, n);
	s = sflow_json_datagram(copy, n, &m);
	free(copy);
	len = strlen(s);
	if (len < 2 || strcmp(s + len - 2, "}\n") != 0 ||
	    memchr(s, '\n', len - 1) != NULL)
		T_FAIL("line %d: not one line ending in }: %s", line, s);
	j = json_loads(s, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
	if (j == NULL)
		T_FAIL("line %d: invalid JSON (%s at %d): %s", line, err.text,
		    err.position, s);
	else if (!json_all_strings(j))
		T_FAIL("line %d: a value is not a string: %s", line, s);
	json_decref(j);
	return s;
}

#define T_HAS(s, sub)                                                          \
	do {                                                                   \
		if (strstr(s, sub) == NULL)                                    \
			T_FAIL("no %s in %s", sub, s);                         \
	} while (0)
#define T_HASNT(s, sub)                                                        \
	do {                                                                   \
		if (strstr(s, sub) != NULL)                                    \
			T_FAIL("unexpected %s in %s", sub, s);                 \
	} while (0)

static void
json_flow(void)
{
	struct xdr x;
	char *s;

	dg4(&x, IP4(10, 0, 0, 1), 7, 1001, 123456, 3);
	add_flow_compact(&x);
	add_flow_multiple(&x);
	add_flow_expanded(&x);
	s = JSON(x.b, x.n);
	T_HAS(s, "{\"datagramSourceIP\":\"192.0.2.100\",");
	T_HAS(s,
	    "\"datagramVersion\":\"5\",\"agentSubId\":\"7\","
	    "\"agent\":\"10.0.0.1\",\"packetSequenceNo\":\"1001\","
	    "\"sysUpTime\":\"123456\",\"samplesInPacket\":\"3\"");
	T_HAS(s, "\"sampleType_tag\":\"0:1\",\"sampleType\":\"FLOWSAMPLE\"");
	T_HAS(s, "\"sourceId\":\"0:3\",\"meanSkipCount\":\"1024\"");
	T_HAS(s, "\"inputPort\":\"1073741823\"");
	T_HAS(s,
	    "\"outputPort\":\"dropCode 256\",\"discardCode\":\"256\","
	    "\"discardReason\":\"unknown\"");
	T_HAS(s, "\"outputPort\":\"multiple 7\"");
	T_HAS(s, "\"sourceId\":\"1:5\"");
	T_HAS(s, "\"dstMAC\":\"020000000001\",\"srcMAC\":\"020000000002\"");
	T_HAS(s, "\"srcIP\":\"10.0.1.5\",\"dstIP\":\"10.2.0.9\"");
	T_HAS(s, "\"UDPSrcPort\":\"4444\",\"UDPDstPort\":\"53\"");
	T_HAS(s, "\"IPSize\":\"1500\""); /* 1518 - 4 - 14 */
	T_HAS(s, "\"IPID\":\"4660\"");   /* 0x1234, no byte swap (D4) */
	T_HAS(s, "\"extendedType\":\"SWITCH\",\"in_vlan\":\"10\"");
	T_HAS(s, "\"nextHop\":\"10.0.0.254\",\"srcSubnetMask\":\"24\"");
	T_HAS(s,
	    "\"bgp_nexthop\":\"2001:0db8:0000:0000:0000:0000:0000:"
	    "abcd\"");
	T_HAS(s,
	    "\"dst_as_path\":\"100-200-300-(400-500)\","
	    "\"dst_as\":\"500\",\"dst_peer_as\":\"100\"");
	T_HAS(s,
	    "\"BGP_communities\":\"4259840001-2-3\","
	    "\"BGP_localpref\":\"150\"");
	/* The expanded sample: full-width values, format 1 decoded. */
	T_HAS(s, "\"sourceId\":\"0:16777221\"");
	T_HAS(s, "\"inputPort\":\"3221225473\"");
	T_HAS(s,
	    "\"outputPort\":\"dropCode 258\",\"discardCode\":\"258\","
	    "\"discardReason\":\"acl\"");
	T_HASNT(s, "decodeError");
	free(s);

	/* D9: an expanded port format over 3. */
	dg4(&x, IP4(10, 0, 0, 1), 7, 1001, 123456, 1);
	add_flow_expanded(&x);
	xpatch(&x, HDR4 + 8 + 32, 5);
	s = JSON(x.b, x.n);
	T_HAS(s, "\"outputPort\":\"format==5 258\"");
	T_HASNT(s, "discardCode");
	free(s);
}

static void
json_counters(void)
{
	struct xdr x;
	char *s;

	dg6(&x, 0, 5, 6, 3);
	add_counters(&x);
	add_host(&x);
	add_mib2(&x);
	s = JSON(x.b, x.n);
	T_HAS(s, "\"agent\":\"2001:0db8:0000:0000:0000:0000:0000:abcd\"");
	T_HAS(s, "\"sampleType\":\"COUNTERSSAMPLE\"");
	T_HAS(s,
	    "\"counterBlock_tag\":\"0:1\",\"ifIndex\":\"3\","
	    "\"networkType\":\"6\",\"ifSpeed\":\"100000000000\"");
	T_HAS(s, "\"ifInOctets\":\"123456789012\"");
	T_HAS(s, "\"ifOutOctets\":\"987654321098\"");
	T_HAS(s, "\"dot3StatsSymbolErrors\":\"13\"");
	T_HAS(s, "\"counterBlock_tag\":\"0:1005\",\"ifName\":\"swp1\"}");
	T_HAS(s, "\"sourceId\":\"2:16777216\"");
	T_HAS(s,
	    "\"hostname\":\"leaf1\",\"UUID\":\"8f1c0203-0405-0607-0809-"
	    "0a0b0c0d0eff\",\"machine_type\":\"3\",\"os_name\":\"2\","
	    "\"os_release\":\"6.1.0\"");
	T_HAS(s,
	    "\"adaptor_list\":[{\"ifIndex\":\"1\",\"MACs\":\"1\","
	    "\"mac_list\":[\"aabbcc000001\"]},{\"ifIndex\":\"2\","
	    "\"MACs\":\"2\",\"mac_list\":[\"aabbcc000002\","
	    "\"aabbcc000003\"]}]");
	T_HAS(s,
	    "\"cpu_load_one\":\"0.250\",\"cpu_load_five\":\"0.500\","
	    "\"cpu_load_fifteen\":\"1.000\"");
	T_HAS(s, "\"cpu_contexts\":\"116\"}");   /* the 68-byte form */
	T_HAS(s, "\"cpu_guest_nice\":\"119\"}"); /* the longer form */
	T_HAS(s, "\"disk_partition_max_used\":\"12.34\"");
	T_HAS(s, "\"nio_bytes_out\":\"8000000000\"");
	T_HAS(s, "\"ipFragCreates\":\"318\"");
	T_HAS(s, "\"icmpOutAddrMaskReps\":\"424\"");
	T_HAS(s, "\"tcpInCsumErrors\":\"514\"");
	T_HAS(s, "\"udpInCsumErrors\":\"606\"");
	T_HASNT(s, "decodeError");
	free(s);
}

static void
json_discard(void)
{
	struct xdr x;
	char *s;

	dg4(&x, IP4(10, 0, 0, 1), 0, 1, 2, 1);
	add_discard(&x);
	s = JSON(x.b, x.n);
	T_HAS(s,
	    "\"sampleType_tag\":\"0:5\",\"sampleType\":\"DISCARD\","
	    "\"sampleSequenceNo\":\"77\",\"sourceId\":\"0:9\","
	    "\"dropEvents\":\"3\",\"inputPort\":\"9\","
	    "\"outputPort\":\"0\",\"discardCode\":\"258\","
	    "\"discardReason\":\"acl\",\"elements\":[");
	T_HAS(s,
	    "{\"discarded_flowBlock_tag\":\"0:1\","
	    "\"discarded_flowSampleType\":\"HEADER\"");
	T_HAS(s, "\"discarded_UDPDstPort\":\"53\"");
	T_HAS(s,
	    "{\"discarded_flowBlock_tag\":\"0:1041\","
	    "\"discarded_extendedType\":\"hw_trap\","
	    "\"discarded_hw_trap_group\":\"acl\","
	    "\"discarded_hw_trap_name\":\"ingress_flow_action_drop\"}");
	T_HAS(s, "\"discarded_egress_queue_id\":\"5\"");
	T_HAS(s, "\"discarded_symbol\":\"ip_forward\"");
	T_HAS(s, "\"discarded_transit_delay_nS\":\"1500\"");
	T_HAS(s, "\"discarded_queue_depth_bytes\":\"65536\"");
	T_HAS(s, "\"discarded_linux_drop_reason\":\"NETFILTER_DROP\"");
	T_HASNT(s, "\"flowBlock_tag\"");
	free(s);

	/* An unlisted reason is NotFound. */
	dg4(&x, IP4(10, 0, 0, 1), 0, 1, 2, 1);
	add_discard(&x);
	xpatch(&x, HDR4 + 8 + 24, 999);
	s = JSON(x.b, x.n);
	T_HAS(s, "\"discardCode\":\"999\",\"discardReason\":\"NotFound\"");
	free(s);
}

static void
json_unknown(void)
{
	struct xdr x;
	char *s;

	dg4(&x, IP4(10, 0, 0, 1), 0, 1, 2, 2);
	add_unknown(&x);
	flow_begin(&x, 5, 3, 1, 1, 0, 1, 2, 1);
	rec_u32s(&x, SFLOW_TAG(0, 1005), 3, 1);
	xend(&x);
	s = JSON(x.b, x.n);
	T_HAS(s, "\"samples\":[{\"sampleType_tag\":\"4300:1002\"},");
	T_HAS(s, "\"elements\":[{\"flowBlock_tag\":\"0:1005\"}]");
	T_HASNT(s, "decodeError");
	free(s);
}

/*
 * Every prefix of the all-samples datagram renders as valid JSON (json_()
 * checks that), and every cut one says why it stopped, as the last key.
 */
static void
json_truncated(void)
{
	struct xdr x;
	char *s;

	build_all(&x);
	for (size_t n = 0; n <= x.n; n++) {
		s = JSON(x.b, n);
		if (n < x.n && strstr(s, "\"decodeError\":\"") == NULL)
			T_FAIL("cut at %zu: no decodeError: %s", n, s);
		if (n == x.n && strstr(s, "decodeError") != NULL)
			T_FAIL("whole: decodeError: %s", s);
		if (n == 2)
			T_HAS(s,
			    "\"samples\":[],\"decodeError\":"
			    "\"truncated\"}\n");
		if (n == 10)
			T_HAS(s,
			    "\"datagramVersion\":\"5\",\"samples\":[],"
			    "\"decodeError\":\"truncated\"}\n");
		if (n == x.ends[0] + 12)
			T_HAS(s, "}],\"decodeError\":\"sample_overrun\"}\n");
		if (n == x.ends[1])
			T_HAS(s, "}],\"decodeError\":\"bad_count\"}\n");
		free(s);
	}
}

static void
json_errors(void)
{
	struct xdr x;
	char *s;

	dg4(&x, IP4(10, 0, 0, 1), 0, 1, 2, 1);
	add_counters(&x);
	xpatch(&x, 0, 4);
	s = JSON(x.b, x.n);
	T_HAS(s,
	    "\"datagramVersion\":\"4\",\"samples\":[],"
	    "\"decodeError\":\"bad_version\"}\n");
	free(s);
	xpatch(&x, 0, 5);
	xpatch(&x, 4, 7);
	s = JSON(x.b, x.n);
	T_HAS(s, "\"samples\":[],\"decodeError\":\"bad_address_type\"}\n");
	free(s);

	/* A short record: its element and the datagram say so. */
	dg4(&x, IP4(10, 0, 0, 1), 0, 1, 2, 1);
	flow_begin(&x, 1, 3, 1, 1, 0, 1, 2, 2);
	rec_u32s(&x, SFLOW_FLOW_EXT_SWITCH, 2, 1);
	rec_switch(&x, 5, 0, 6, 0);
	xend(&x);
	s = JSON(x.b, x.n);
	T_HAS(s,
	    "{\"flowBlock_tag\":\"0:1001\",\"decodeError\":"
	    "\"length_mismatch\"}");
	T_HAS(s, "\"in_vlan\":\"5\"");
	T_HAS(s, "\"decodeError\":\"length_mismatch\"}\n");
	free(s);

	/* Garbage of every small size. */
	for (size_t n = 0; n < 64; n++) {
		uint8_t junk[64];

		memset(junk, 0xff, sizeof(junk));
		free(JSON(junk, n));
		memset(junk, 0, sizeof(junk));
		junk[3] = 5;
		free(JSON(junk, n));
	}
}

/* D8: bytes from the wire are JSON-escaped, never copied raw. */
static void
json_escape(void)
{
	static const uint8_t name[] = { 'p', 0x22, 0x5c, 0x01, 0xff, 'q' };
	struct xdr x;
	char *s;

	dg4(&x, IP4(10, 0, 0, 1), 0, 1, 2, 1);
	ctr_begin(&x, 1, 3, 1);
	rec_portname(&x, name, sizeof(name));
	xend(&x);
	seed("escape", &x);
	s = JSON(x.b, x.n);
	T_HAS(s, "\"ifName\":\"p\\\"\\\\\\u0001\\u00ffq\"");
	free(s);
}

/*
 * The ifName of the first element of the first sample, as decoded; NULL
 * if it is missing or holds a NUL (which strdup would hide).
 */
static char *
json_ifname(const struct xdr *x)
{
	char *s = JSON(x->b, x->n), *v = NULL;
	json_t *j = json_loads(s, JSON_ALLOW_NUL, NULL);
	json_t *e = json_object_get(
	    json_array_get(json_object_get(
	                       json_array_get(json_object_get(j, "samples"), 0),
	                       "elements"),
	        0),
	    "ifName");

	if (json_is_string(e) &&
	    strlen(json_string_value(e)) == json_string_length(e))
		v = strdup(json_string_value(e));
	else
		T_FAIL("ifName missing or with a NUL in %s", s);
	json_decref(j);
	free(s);
	return v;
}

/*
 * docs/decode-json.md §1: a string from the wire is "the bytes, cut at a
 * NUL" (as sflowtool prints it); D8 adds the escaping, not the NULs.
 * Agents that pad a name with NULs inside its length exist.
 */
static void
json_string_nul(void)
{
	struct xdr x;
	char *v;

	dg4(&x, IP4(10, 0, 0, 1), 0, 1, 2, 1);
	ctr_begin(&x, 1, 3, 1);
	rec_portname(&x, "swp1\0\0\0\0", 8);
	xend(&x);
	seed("portname_nul", &x);
	v = json_ifname(&x);
	T_STREQ(v, "swp1");
	free(v);
}

/*
 * D8: only bytes that are not valid UTF-8 become \u00XX. A valid UTF-8
 * name must decode to the same characters, not to one per byte.
 */
static void
json_string_utf8(void)
{
	struct xdr x;
	char *v;

	dg4(&x, IP4(10, 0, 0, 1), 0, 1, 2, 1);
	ctr_begin(&x, 1, 3, 1);
	rec_portname(&x, "caf\xc3\xa9", 5);
	xend(&x);
	seed("portname_utf8", &x);
	v = json_ifname(&x);
	T_STREQ(v, "caf\xc3\xa9");
	free(v);
}

/*
 * docs/decode-json.md §6.1 and D11: L4 keys are printed only when 8 bytes
 * of L4 are present, and then TCPFlags only when TCP byte 13 is.
 */
static void
json_l4_short_header(void)
{
	/* clang-format off */
	static const uint8_t pkt[30] = {
		0x45, 0x00, 0x00, 40, 0x00, 0x01, 0x00, 0x00, 64, 6, 0, 0,
		10, 0, 0, 1,
		10, 0, 0, 2,
		0x04, 0xd2, 0x00, 0x50, 0, 0, 0, 1, 0, 0 /* TCP 1234 -> 80 */
	};
	/* clang-format on */
	struct xdr x;
	char *s;

	dg4(&x, IP4(10, 0, 0, 1), 0, 1, 2, 1);
	flow_begin(&x, 1, 3, 1, 1, 0, 1, 2, 1);
	rec_header(&x, 11, 40, 0, pkt, sizeof(pkt));
	xend(&x);
	seed("tcp_short", &x);
	s = JSON(x.b, x.n);
	T_HAS(s, "\"IPProtocol\":\"6\"");
	T_HAS(s, "\"TCPSrcPort\":\"1234\",\"TCPDstPort\":\"80\"");
	T_HASNT(s, "TCPFlags");
	free(s);

	/* ICMP with 4 bytes: too short for any L4 key. */
	dg4(&x, IP4(10, 0, 0, 1), 0, 1, 2, 1);
	flow_begin(&x, 1, 3, 1, 1, 0, 1, 2, 1);
	xbegin(&x, SFLOW_FLOW_HEADER);
	x32(&x, 11);
	x32(&x, 28);
	x32(&x, 0);
	x32(&x, 24);
	xraw(&x, pkt, 20);
	xraw(&x, "\x03\x04\x00\x00", 4);
	xend(&x);
	xend(&x);
	x.b[HDR4 + 8 + 32 + 8 + 16 + 9] = 1; /* IPProtocol 1 */
	s = JSON(x.b, x.n);
	T_HAS(s, "\"IPProtocol\":\"1\"");
	T_HASNT(s, "ICMPType");
	free(s);
}

/*
 * An IPv6 payload length of 65535 is legal; the JSON must print it as is
 * (docs/decode-json.md §6.1: IPV6_payloadLen).
 */
static void
json_ipv6_payload_len(void)
{
	uint8_t pkt[48] = { 0x60, 0, 0, 0, 0xff, 0xff, 17, 64 };
	struct xdr x;
	char *s;

	pkt[8 + 15] = 1;
	pkt[24 + 15] = 2;
	pkt[40 + 1] = 7; /* UDP 7 -> 9 */
	pkt[40 + 3] = 9;
	pkt[40 + 4] = 0xff;
	pkt[40 + 5] = 0xff;
	dg4(&x, IP4(10, 0, 0, 1), 0, 1, 2, 1);
	flow_begin(&x, 1, 3, 1, 1, 0, 1, 2, 1);
	rec_header(&x, 12, 65575, 0, pkt, sizeof(pkt));
	xend(&x);
	seed("ipv6_jumbo_len", &x);
	s = JSON(x.b, x.n);
	T_HAS(s, "\"UDPDstPort\":\"9\"");
	T_HAS(s, "\"IPV6_payloadLen\":\"65535\"");
	free(s);

	/* 0 is a jumbogram's payload length. */
	pkt[4] = pkt[5] = 0;
	dg4(&x, IP4(10, 0, 0, 1), 0, 1, 2, 1);
	flow_begin(&x, 1, 3, 1, 1, 0, 1, 2, 1);
	rec_header(&x, 12, 65575, 0, pkt, sizeof(pkt));
	xend(&x);
	s = JSON(x.b, x.n);
	T_HAS(s, "\"IPV6_payloadLen\":\"<jumbo>\"");
	free(s);
}

/*
 * docs/decode-json.md §6.1: an 802.3 frame that is not SNAP with OUI 0
 * (here STP: LLC 42-42-03) stops before ethernet_type, and so does an
 * Ethernet header shorter than 20 bytes in all.
 */
static void
json_ethernet_stops(void)
{
	/* clang-format off */
	static const uint8_t stp[24] = {
		0x01, 0x80, 0xc2, 0x00, 0x00, 0x00,	/* dst MAC */
		0x02, 0x00, 0x00, 0x00, 0x00, 0x02,	/* src MAC */
		0x00, 0x26,				/* 802.3 length */
		0x42, 0x42, 0x03,			/* LLC: STP */
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00
	};
	/* clang-format on */
	struct xdr x;
	char *s;

	dg4(&x, IP4(10, 0, 0, 1), 0, 1, 2, 2);
	flow_begin(&x, 1, 3, 1, 1, 0, 1, 2, 1);
	rec_header(&x, 1, 64, 4, stp, sizeof(stp));
	xend(&x);
	flow_begin(&x, 2, 3, 1, 1, 0, 1, 2, 1);
	rec_header(&x, 1, 64, 4, PKT_UDP, 16);
	xend(&x);
	seed("eth_stops", &x);
	s = JSON(x.b, x.n);
	T_HAS(s, "\"dstMAC\":\"0180c2000000\"");
	T_HAS(s, "\"headerLen\":\"16\"");
	T_HASNT(s, "ethernet_type");
	free(s);
}

/* VXLAN: the inner frame's keys carry the inner_ prefix (E4). */
static void
json_vxlan(void)
{
	uint8_t pkt[128];
	size_t n = 0;
	struct xdr x;
	char *s;

	/* outer Ethernet/IPv4/UDP to 4789, VXLAN VNI 100, inner = PKT_UDP */
	memcpy(pkt, PKT_UDP, 34);
	pkt[23] = 17;
	n = 34;
	memcpy(pkt + n, "\xc0\x00\x12\xb5\x00\x44\x00\x00", 8); /* ->4789 */
	n += 8;
	memcpy(pkt + n, "\x08\x00\x00\x00\x00\x00\x64\x00", 8);
	n += 8;
	memcpy(pkt + n, PKT_UDP, sizeof(PKT_UDP));
	n += sizeof(PKT_UDP);
	dg4(&x, IP4(10, 0, 0, 1), 0, 1, 2, 1);
	flow_begin(&x, 1, 3, 1, 1, 0, 1, 2, 1);
	rec_header(&x, 1, 200, 4, pkt, n);
	xend(&x);
	seed("vxlan", &x);
	s = JSON(x.b, x.n);
	T_HAS(s, "\"UDPDstPort\":\"4789\"");
	T_HAS(s, "\"decodedVNI\":\"100\",\"inner_dstMAC\":\"020000000001\"");
	T_HAS(s, "\"inner_ethernet_type\":\"2048\",\"inner_IPSize\":\"132\"");
	T_HAS(s, "\"inner_srcIP\":\"10.0.1.5\"");
	T_HAS(s, "\"inner_UDPDstPort\":\"53\"");
	free(s);
}

/* ---- agents ---------------------------------------------------------- */

static const struct sflow_addr SRC1 = { 4, { 192, 0, 2, 1 } };
static const struct sflow_addr SRC9 = { 4, { 192, 0, 2, 9 } };

/* A datagram from agent `agent` with one flow sample from ds 0:3. */
static void
agent_dg(struct xdr *x, uint32_t agent, uint32_t seq, uint32_t uptime,
    uint32_t sseq, uint32_t drops)
{
	dg4(x, agent, 0, seq, uptime, 1);
	flow_begin(x, sseq, 3, 100, sseq * 100, drops, 1, 2, 2);
	rec_switch(x, 1, 0, 1, 0);
	rec_u32s(x, SFLOW_TAG(0, 1234), 1, 0); /* an unknown record */
	xend(x);
}

static uint32_t
feed(struct agents *t, const struct sflow_addr *src, const struct xdr *x)
{
	uint8_t *copy = malloc(x->n ? x->n : 1);
	uint32_t n;

	if (copy == NULL)
		abort();
	memcpy(copy, x->b, x->n);
	n = agents_process(t, src, copy, x->n, 0, 1000, 1000, NULL, NULL);
	free(copy);
	return n;
}

/* A copy of one agent's stats, found by its address. */
static struct agent_stats
agent_get(const struct agents *t, const struct sflow_addr *a, bool header_ok)
{
	struct agent_stats *all, st;
	size_t n;

	memset(&st, 0, sizeof(st));
	all = agents_snapshot(t, &n);
	for (size_t i = 0; i < n; i++)
		if (all[i].header_ok == header_ok &&
		    all[i].addr.family == a->family &&
		    memcmp(all[i].addr.a, a->a, 16) == 0)
			st = all[i];
	free(all);
	return st;
}

static const struct sflow_addr AG1 = { 4, { 10, 0, 0, 1 } };
static const struct sflow_addr AG2 = { 4, { 10, 0, 0, 2 } };

static void
agents_seq_lost(void)
{
	struct agents *t = agents_new(16);
	struct agent_stats st;
	struct xdr x;
	static const uint32_t seqs[] = { 1, 2, 3, 5 };

	for (size_t i = 0; i < nitems(seqs); i++) {
		agent_dg(
		    &x, IP4(10, 0, 0, 1), seqs[i], seqs[i] * 1000, seqs[i], 0);
		T_EQ(feed(t, &SRC1, &x), 1);
	}
	st = agent_get(t, &AG1, true);
	T_EQ(st.datagrams, 4);
	T_EQ(st.bytes, 4 * x.n);
	T_EQ(st.samples, 4);
	T_EQ(st.flow_samples, 4);
	T_EQ(st.records, 8);
	T_EQ(st.unknown_records, 4);
	T_EQ(st.seq_lost, 1);
	T_EQ(st.seq_reordered, 0);
	T_EQ(st.seq_resets, 0);
	T_EQ(st.last_seq, 5);
	T_EQ(st.bad_datagrams, 0);
	T_OK(st.header_ok);
	T_OK(memcmp(st.source.a, SRC1.a, 4) == 0);
	agents_free(t);
}

/*
 * Datagram 4 is sent before 5, so its uptime is lower too: a late
 * datagram, not a restart. It was counted lost when 5 came; now it is
 * found, and the next datagram (6) opens no gap.
 */
static void
agents_seq_reordered(void)
{
	struct agents *t = agents_new(16);
	struct agent_stats st;
	struct xdr x;
	static const uint32_t seqs[] = { 1, 2, 3, 5, 4 };

	for (size_t i = 0; i < nitems(seqs); i++) {
		agent_dg(
		    &x, IP4(10, 0, 0, 1), seqs[i], seqs[i] * 1000, seqs[i], 0);
		feed(t, &SRC1, &x);
	}
	st = agent_get(t, &AG1, true);
	T_EQ(st.seq_reordered, 1);
	T_EQ(st.seq_lost, 0);
	T_EQ(st.seq_resets, 0);
	agent_dg(&x, IP4(10, 0, 0, 1), 6, 6000, 6, 0);
	feed(t, &SRC1, &x);
	st = agent_get(t, &AG1, true);
	T_EQ(st.seq_lost, 0);
	T_EQ(st.seq_resets, 0);
	T_EQ(st.last_seq, 6);
	agents_free(t);
}

/* The same, with a late datagram whose uptime equals the newest one. */
static void
agents_seq_reordered_same_uptime(void)
{
	struct agents *t = agents_new(16);
	struct agent_stats st;
	struct xdr x;
	static const uint32_t seqs[] = { 1, 2, 3, 5, 4 };

	for (size_t i = 0; i < nitems(seqs); i++) {
		agent_dg(&x, IP4(10, 0, 0, 1), seqs[i], 7000, seqs[i], 0);
		feed(t, &SRC1, &x);
	}
	st = agent_get(t, &AG1, true);
	T_EQ(st.seq_reordered, 1);
	T_EQ(st.seq_lost, 0);
	T_EQ(st.seq_resets, 0);
	T_EQ(st.last_seq, 5);
	agents_free(t);
}

/*
 * The 32-bit sequence number wraps after 2^32 datagrams while the agent
 * keeps running (its uptime goes on): that is neither a restart nor a
 * loss.
 */
static void
agents_seq_wrap(void)
{
	struct agents *t = agents_new(16);
	struct agent_stats st;
	struct xdr x;
	static const uint32_t seqs[] = { 0xfffffffe, 0xffffffff, 0, 1 };

	for (uint32_t i = 0; i < nitems(seqs); i++) {
		agent_dg(&x, IP4(10, 0, 0, 1), seqs[i], 1000 + i, i + 1, 0);
		feed(t, &SRC1, &x);
	}
	st = agent_get(t, &AG1, true);
	T_EQ(st.datagrams, 4);
	T_EQ(st.seq_resets, 0);
	T_EQ(st.seq_lost, 0);
	T_EQ(st.seq_reordered, 0);
	T_EQ(st.last_seq, 1);
	agents_free(t);
}

static void
agents_restart(void)
{
	struct agents *t = agents_new(16);
	struct agent_stats st;
	struct xdr x;

	agent_dg(&x, IP4(10, 0, 0, 2), 100, 100000, 1, 0);
	feed(t, &SRC1, &x);
	agent_dg(&x, IP4(10, 0, 0, 2), 101, 101000, 2, 0);
	feed(t, &SRC1, &x);
	/* Rebooted: uptime and sequence numbers start again. */
	agent_dg(&x, IP4(10, 0, 0, 2), 1, 500, 1, 0);
	feed(t, &SRC1, &x);
	agent_dg(&x, IP4(10, 0, 0, 2), 2, 1500, 2, 0);
	feed(t, &SRC1, &x);
	st = agent_get(t, &AG2, true);
	T_EQ(st.datagrams, 4);
	T_EQ(st.seq_resets, 1);
	T_EQ(st.seq_lost, 0);
	T_EQ(st.seq_reordered, 0);
	T_EQ(st.last_seq, 2);
	T_EQ(st.last_uptime_ms, 1500);
	agents_free(t);
}

static void
agents_garbage(void)
{
	struct agents *t = agents_new(16);
	struct agent_stats st;
	struct agents_totals tot;
	struct xdr x;

	xreset(&x);
	xraw(&x, "not sflow at all", 16);
	T_EQ(feed(t, &SRC9, &x), 0);
	/* Keyed by the UDP source: the header named no agent. */
	st = agent_get(t, &SRC9, false);
	T_EQ(st.datagrams, 1);
	T_OK(!st.header_ok);
	T_EQ(st.errs[SFLOW_ERR_VERSION], 1);
	T_EQ(st.bad_datagrams, 1);
	T_EQ(st.samples, 0);
	xreset(&x);
	xraw(&x, "\x00\x00\x00", 3);
	feed(t, &SRC9, &x);
	st = agent_get(t, &SRC9, false);
	T_EQ(st.datagrams, 2);
	T_EQ(st.errs[SFLOW_ERR_TRUNCATED], 1);
	T_EQ(st.errs[SFLOW_ERR_VERSION], 1);
	T_EQ(st.bad_datagrams, 2);
	agents_totals(t, &tot);
	T_EQ(tot.datagrams, 2);
	T_EQ(tot.n_agents, 1);
	T_EQ(tot.errs[SFLOW_ERR_VERSION], 1);
	T_EQ(tot.errs[SFLOW_ERR_TRUNCATED], 1);
	T_EQ(tot.agents_overflow, 0);

	/* An agent that sends good datagrams too is a separate entry. */
	agent_dg(&x, IP4(192, 0, 2, 9), 1, 1, 1, 0);
	feed(t, &SRC9, &x);
	agents_totals(t, &tot);
	T_EQ(tot.n_agents, 2);
	st = agent_get(t, &SRC9, true);
	T_EQ(st.datagrams, 1);
	T_EQ(st.bad_datagrams, 0);
	agents_free(t);
}

static void
agents_overflow(void)
{
	struct agents *t = agents_new(2);
	struct agents_totals tot;
	struct xdr x;

	for (uint32_t a = 1; a <= 3; a++) {
		agent_dg(&x, IP4(10, 0, 0, a), 1, 1, 1, 0);
		T_EQ(feed(t, &SRC1, &x), a <= 2 ? 1 : 0);
	}
	/* A known agent still gets in. */
	agent_dg(&x, IP4(10, 0, 0, 1), 2, 2, 2, 0);
	T_EQ(feed(t, &SRC1, &x), 1);
	agents_totals(t, &tot);
	T_EQ(tot.agents_overflow, 1);
	T_EQ(tot.n_agents, 2);
	T_EQ(tot.datagrams, 4);
	T_EQ(tot.samples, 3);
	agents_free(t);
}

static void
agents_drops_and_samples(void)
{
	struct agents *t = agents_new(16);
	struct agent_stats st;
	struct xdr x;
	static const uint32_t drops[] = { 0, 5, 7 };

	for (uint32_t i = 0; i < 3; i++) {
		agent_dg(&x, IP4(10, 0, 0, 1), i + 1, i + 1, i + 1, drops[i]);
		feed(t, &SRC1, &x);
	}
	st = agent_get(t, &AG1, true);
	T_EQ(st.agent_drops, 7);
	T_EQ(st.samples_lost, 0);
	/* Samples 4 and 5 of this source never came. */
	agent_dg(&x, IP4(10, 0, 0, 1), 4, 4, 6, 7);
	feed(t, &SRC1, &x);
	st = agent_get(t, &AG1, true);
	T_EQ(st.samples_lost, 2);
	T_EQ(st.agent_drops, 7);
	T_EQ(st.seq_lost, 0);

	/* Counter samples of the same ds are a separate sequence. */
	dg4(&x, IP4(10, 0, 0, 1), 0, 5, 5, 1);
	add_counters(&x); /* ds 0:3, seq 1 */
	feed(t, &SRC1, &x);
	st = agent_get(t, &AG1, true);
	T_EQ(st.samples_lost, 2);
	T_EQ(st.counter_samples, 1);
	agents_free(t);
}

/* Enough agents to grow the hash table several times: none is lost. */
static void
agents_many(void)
{
	struct agents *t = agents_new(1000);
	struct agents_totals tot;
	struct agent_stats *all;
	struct xdr x;
	size_t n;
	bool bad = false;

	for (uint32_t round = 1; round <= 2; round++)
		for (uint32_t a = 0; a < 300; a++) {
			agent_dg(&x, IP4(10, 1, a >> 8, a & 0xff), round, round,
			    round, 0);
			feed(t, &SRC1, &x);
		}
	agents_totals(t, &tot);
	T_EQ(tot.n_agents, 300);
	T_EQ(tot.agents_overflow, 0);
	all = agents_snapshot(t, &n);
	T_EQ(n, 300);
	for (size_t i = 0; i < n; i++) {
		/* Sorted by address, each seen twice, in sequence. */
		bad |= all[i].datagrams != 2 || all[i].seq_lost != 0 ||
		    all[i].seq_resets != 0 || all[i].sources != NULL;
		bad |= all[i].addr.a[2] != i >> 8 ||
		    all[i].addr.a[3] != (i & 0xff);
	}
	T_OK(!bad);
	free(all);
	agents_free(t);
}

/* More data sources than the per-agent table holds: bounded, counted. */
static void
agents_sources_overflow(void)
{
	struct agents *t = agents_new(4);
	struct agent_stats st;
	struct xdr x;

	dg4(&x, IP4(10, 0, 0, 1), 0, 1, 1, 600);
	for (uint32_t i = 0; i < 600; i++) {
		ctr_begin(&x, 1, i, 0);
		xend(&x);
	}
	T_EQ(feed(t, &SRC1, &x), 600);
	st = agent_get(t, &AG1, true);
	T_EQ(st.counter_samples, 600);
	/* At most 3/4 of AGENT_MAX_SOURCES are used, the rest counted. */
	T_EQ(st.n_sources, AGENT_MAX_SOURCES * 3 / 4);
	T_EQ(st.sources_overflow, 600 - AGENT_MAX_SOURCES * 3 / 4);
	agents_free(t);
}

static void
agents_last_err(void)
{
	struct agents *t = agents_new(1);
	struct xdr x;

	agent_dg(&x, IP4(10, 0, 0, 1), 1, 1, 1, 0);
	feed(t, &SRC1, &x);
	T_EQ(agents_last_error(t), SFLOW_OK);
	x.b[0] = 4;
	feed(t, &SRC1, &x);
	/* Over the bound (a second agent), still reported. */
	T_EQ(agents_last_error(t), SFLOW_ERR_VERSION);
	x.b[0] = 0;
	dg4(&x, IP4(10, 0, 0, 1), 0, 2, 2, 2);
	add_counters(&x);
	feed(t, &SRC1, &x);
	T_EQ(agents_last_error(t), SFLOW_ERR_COUNT);
	agent_dg(&x, IP4(10, 0, 0, 1), 3, 3, 3, 0);
	feed(t, &SRC1, &x);
	T_EQ(agents_last_error(t), SFLOW_OK);
	agents_free(t);
}

struct each_ctx {
	int samples;
	int records;
};

static void
each_cb(void *arg, const struct sflow_datagram *dg, struct sflow_sample *s)
{
	struct each_ctx *c = arg;
	struct sflow_record r;

	(void)dg;
	c->samples++;
	while (sflow_record_next(s, &r) > 0)
		c->records++;
}

static void
agents_callback_and_oversize(void)
{
	struct agents *t = agents_new(16);
	struct each_ctx c = { 0, 0 };
	struct agent_stats st;
	struct xdr x;

	build_all(&x);
	T_EQ(agents_process(t, &SRC1, x.b, x.n, 1, 5, 5, each_cb, &c), 8);
	/* The unknown sample is counted but not handed over. */
	T_EQ(c.samples, 7);
	T_EQ(c.records, 4 + 1 + 1 + 3 + 6 + 5 + 7);
	st = agent_get(t, &AG1, true);
	T_EQ(st.samples, 8);
	T_EQ(st.flow_samples, 3);
	T_EQ(st.counter_samples, 3);
	T_EQ(st.discard_samples, 1);
	T_EQ(st.other_samples, 1);
	T_EQ(st.errs[SFLOW_ERR_OVERSIZE], 1);
	T_EQ(st.bad_datagrams, 1);
	T_EQ(st.first_seen_ms, 5);
	T_EQ(st.last_seen_mono_ms, 5);
	agents_free(t);
}

struct memo_ctx {
	struct sflow_src_memo *m[8];
	uint32_t key[8];
	int n;
	uint32_t mark; /* written into each memo */
	int kept;      /* memos that held the mark already */
};

static void
memo_cb(void *arg, const struct sflow_datagram *dg, struct sflow_sample *s)
{
	struct memo_ctx *c = arg;

	(void)dg;
	T_OK(s->memo != NULL);
	if (c->n < 8 && s->memo != NULL) {
		c->kept += s->memo->owner == c->mark;
		c->key[c->n] = s->tag ^ s->source_type << 24 ^ s->source_index;
		c->m[c->n++] = s->memo;
		s->memo->owner = c->mark;
	}
}

/*
 * Each sample handed over points at its data source's memo: the same
 * memo for the same source in the next datagram, with what was written
 * there kept; another memo for another source.
 */
static void
agents_source_memo(void)
{
	struct agents *t = agents_new(16);
	struct memo_ctx c1 = { .mark = 7 }, c2 = { .mark = 7 };
	struct xdr x;

	build_all(&x);
	agents_process(t, &SRC1, x.b, x.n, 0, 5, 5, memo_cb, &c1);
	agents_process(t, &SRC1, x.b, x.n, 0, 6, 6, memo_cb, &c2);
	T_EQ(c1.n, 7);
	T_EQ(c2.n, 7);
	T_EQ(c2.kept, 7);
	for (int i = 0; i < c1.n; i++) {
		T_OK(c1.m[i] == c2.m[i]);
		for (int j = 0; j < i; j++)
			T_EQ(c1.m[i] == c1.m[j], c1.key[i] == c1.key[j]);
	}
	agents_free(t);
}

int
main(void)
{
	t_suite = "sflow";
	T_RUN(agents_source_memo);
	T_RUN(header_ipv4);
	T_RUN(header_ipv6);
	T_RUN(header_unknown_address);
	T_RUN(flow_compact);
	T_RUN(flow_expanded);
	T_RUN(counters);
	T_RUN(counters_short_tables);
	T_RUN(discard);
	T_RUN(discard_reason_names);
	T_RUN(err_names);
	T_RUN(unknown_skipped);
	T_RUN(err_version);
	T_RUN(err_address);
	T_RUN(err_truncated_every_length);
	T_RUN(err_sample_overrun);
	T_RUN(err_record_overrun);
	T_RUN(err_record_short);
	T_RUN(err_count_samples);
	T_RUN(err_count_records);
	T_RUN(err_zero_lengths);
	T_RUN(trailing_bytes);
	T_RUN(err_bad_sampled_header);
	T_RUN(record_cleared);
	T_RUN(json_flow);
	T_RUN(json_counters);
	T_RUN(json_discard);
	T_RUN(json_unknown);
	T_RUN(json_truncated);
	T_RUN(json_errors);
	T_RUN(json_escape);
	T_RUN(json_string_nul);
	T_RUN(json_string_utf8);
	T_RUN(json_vxlan);
	T_RUN(json_l4_short_header);
	T_RUN(json_ipv6_payload_len);
	T_RUN(json_ethernet_stops);
	T_RUN(agents_seq_lost);
	T_RUN(agents_seq_reordered);
	T_RUN(agents_seq_reordered_same_uptime);
	T_RUN(agents_seq_wrap);
	T_RUN(agents_restart);
	T_RUN(agents_garbage);
	T_RUN(agents_overflow);
	T_RUN(agents_drops_and_samples);
	T_RUN(agents_many);
	T_RUN(agents_sources_overflow);
	T_RUN(agents_last_err);
	T_RUN(agents_callback_and_oversize);
	free(D.buf);
	return t_done();
}
