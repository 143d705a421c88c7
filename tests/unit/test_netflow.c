/*
 * test_netflow.c: unit tests for the NetFlow v5/v9 and IPFIX decoder and
 * its template cache (netflow.c), the mapping onto the engine's flow
 * record, and the --decode JSON (netflow_json.c).
 *
 * Datagrams are built here byte by byte, so each test shows the wire
 * layout it relies on. The decoder always reads an exact-size heap copy
 * (decode()), so ASan reports any read past the datagram.
 *
 * With FABMON_SEEDS=DIR in the environment, the datagrams each test
 * decodes are also written to DIR/unit-NAME in fuzz_netflow.c's input
 * format (a selector byte, a 16-bit length, the datagram; repeated), to
 * seed tests/fuzz/corpus/netflow.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flowrec.h"
#include "netflow.h"
#include "t.h"
#include "util.h"

/* ---- a datagram builder ------------------------------------------------ */

struct nb {
	uint8_t b[70000];
	size_t n;
	size_t set_at; /* the open set's header */
	int version;
};

static void
braw(struct nb *x, const void *p, size_t n)
{
	if (x->n + n > sizeof(x->b))
		abort(); /* a test bug */
	memcpy(x->b + x->n, p, n);
	x->n += n;
}

static void
b8(struct nb *x, uint8_t v)
{
	braw(x, &v, 1);
}

static void
b16(struct nb *x, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	braw(x, b, 2);
}

static void
b32(struct nb *x, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16),
		(uint8_t)(v >> 8), (uint8_t)v };

	braw(x, b, 4);
}

static void
b64(struct nb *x, uint64_t v)
{
	b32(x, (uint32_t)(v >> 32));
	b32(x, (uint32_t)v);
}

static void
bzero_(struct nb *x, size_t n)
{
	while (n-- > 0)
		b8(x, 0);
}

static void
put16(struct nb *x, size_t at, uint16_t v)
{
	x->b[at] = (uint8_t)(v >> 8);
	x->b[at + 1] = (uint8_t)v;
}

#define IP4(a, b, c, d) ((uint32_t)(a) << 24 | (b) << 16 | (c) << 8 | (d))

static void
v5_hdr(struct nb *x, uint16_t count, uint32_t uptime, uint32_t secs,
    uint32_t nsecs, uint16_t sampling)
{
	memset(x, 0, sizeof(*x));
	x->version = 5;
	b16(x, 5);
	b16(x, count);
	b32(x, uptime);
	b32(x, secs);
	b32(x, nsecs);
	b32(x, 77); /* sequence */
	b8(x, 1);   /* engine type */
	b8(x, 2);   /* engine id */
	b16(x, sampling);
}

static void
v5_rec(struct nb *x, uint32_t src, uint32_t dst, uint16_t in, uint16_t out,
    uint32_t pkts, uint32_t bytes, uint32_t first, uint32_t last,
    uint16_t sport, uint16_t dport, uint8_t flags, uint8_t proto, uint8_t tos)
{
	b32(x, src);
	b32(x, dst);
	b32(x, IP4(10, 0, 0, 254)); /* next hop */
	b16(x, in);
	b16(x, out);
	b32(x, pkts);
	b32(x, bytes);
	b32(x, first);
	b32(x, last);
	b16(x, sport);
	b16(x, dport);
	b8(x, 0);
	b8(x, flags);
	b8(x, proto);
	b8(x, tos);
	b16(x, 65001); /* src AS */
	b16(x, 65002); /* dst AS */
	b8(x, 24);
	b8(x, 16);
	b16(x, 0);
}

static void
v9_hdr(struct nb *x, uint16_t count, uint32_t uptime, uint32_t secs,
    uint32_t source_id)
{
	memset(x, 0, sizeof(*x));
	x->version = 9;
	b16(x, 9);
	b16(x, count);
	b32(x, uptime);
	b32(x, secs);
	b32(x, 1000); /* sequence */
	b32(x, source_id);
}

static void
ipfix_hdr(struct nb *x, uint32_t secs, uint32_t domain)
{
	memset(x, 0, sizeof(*x));
	x->version = 10;
	b16(x, 10);
	b16(x, 0); /* length: ipfix_end() */
	b32(x, secs);
	b32(x, 2000); /* sequence */
	b32(x, domain);
}

static void
ipfix_end(struct nb *x)
{
	put16(x, 2, (uint16_t)x->n);
}

static void
set_open(struct nb *x, uint16_t id)
{
	x->set_at = x->n;
	b16(x, id);
	b16(x, 0);
}

/* Close the set after `pad` zero bytes of padding. */
static void
set_close(struct nb *x, size_t pad)
{
	bzero_(x, pad);
	put16(x, x->set_at + 2, (uint16_t)(x->n - x->set_at));
}

/* A template field; pen != 0 makes it an IPFIX enterprise field. */
static void
tf(struct nb *x, uint16_t id, uint16_t len)
{
	b16(x, id);
	b16(x, len);
}

static void
tfe(struct nb *x, uint16_t id, uint16_t len, uint32_t pen)
{
	b16(x, (uint16_t)(id | 0x8000));
	b16(x, len);
	b32(x, pen);
}

/* ---- seeds for the fuzzer ------------------------------------------------ */

static char seed_path[512];

static void
seed_begin(const char *name)
{
	const char *dir = getenv("FABMON_SEEDS");
	FILE *f;

	seed_path[0] = '\0';
	if (dir == NULL || *dir == '\0')
		return;
	snprintf(seed_path, sizeof(seed_path), "%s/unit-%s", dir, name);
	if ((f = fopen(seed_path, "wb")) != NULL)
		fclose(f);
}

static void
seed_add(uint8_t sel, const uint8_t *p, size_t n)
{
	uint8_t h[3] = { sel, (uint8_t)(n >> 8), (uint8_t)n };
	FILE *f;

	if (seed_path[0] == '\0' || (f = fopen(seed_path, "ab")) == NULL)
		return;
	fwrite(h, 1, 3, f);
	fwrite(p, 1, n, f);
	fclose(f);
}

/* ---- decoding ------------------------------------------------------------ */

#define MAXR 64
#define MAXS 16
#define MAXT 16

struct dset {
	uint16_t id;
	enum netflow_set_kind kind;
	enum netflow_err status;
	uint32_t nrec;
};

static struct {
	enum netflow_err open;
	struct netflow_hdr h;
	uint32_t errs[NETFLOW_ERR__MAX];
	int ns, nr, nt;
	struct dset s[MAXS];
	struct netflow_rec r[MAXR];
	struct flow_rec fr[MAXR];
	int fr_rc[MAXR];
	enum netflow_tmpl_op op[MAXT];
	uint16_t tid[MAXT];
	/* the first data set kept for a retry */
	bool kept;
	uint16_t kept_id;
	uint8_t kept_body[65536];
	size_t kept_len;
} D;

static const struct sflow_addr EXP4 = { 4, { 192, 0, 2, 10 } };
static const struct sflow_addr EXP4B = { 4, { 192, 0, 2, 11 } };

static uint64_t now_ms = 1000000;

/* Walk every set, template and record of the datagram in x. */
static void
decode_from(struct netflow_cache *c, const struct sflow_addr *exp,
    const uint8_t *src, size_t len)
{
	uint8_t *buf = xmalloc(len ? len : 1);
	struct netflow_msg *m = xmalloc(sizeof(*m));
	struct netflow_template *t = xmalloc(sizeof(*t));
	struct netflow_set *s;
	struct netflow_rec r;

	memcpy(buf, src, len);
	seed_add(exp == &EXP4B ? 1 : 0, src, len);
	memset(&D, 0, offsetof(__typeof__(D), kept_body));
	D.open = netflow_open(m, c, exp, buf, len, now_ms);
	D.h = m->h;
	while (D.open == NETFLOW_OK && (s = netflow_set_next(m)) != NULL) {
		struct dset *ds = D.ns < MAXS ? &D.s[D.ns] : NULL;
		enum netflow_tmpl_op op;

		if (ds != NULL) {
			ds->id = s->id;
			ds->kind = s->kind;
			ds->status = s->status;
		}
		D.ns++;
		if (s->status == NETFLOW_ERR_NO_TEMPLATE && !D.kept) {
			D.kept = true;
			D.kept_id = s->id;
			D.kept_len = s->len;
			memcpy(D.kept_body, s->data, s->len);
		}
		while (netflow_template_next(s, t, &op) > 0) {
			if (D.nt < MAXT) {
				D.op[D.nt] = op;
				D.tid[D.nt] = t->id;
			}
			D.nt++;
		}
		while (netflow_record_next(s, &r) > 0) {
			if (D.nr < MAXR) {
				D.r[D.nr] = r;
				D.fr_rc[D.nr] =
				    netflow_to_flowrec(&D.fr[D.nr], &r, &m->h);
			}
			D.nr++;
			if (ds != NULL)
				ds->nrec++;
		}
	}
	memcpy(D.errs, m->errs, sizeof(D.errs));
	free(t);
	free(m);
	free(buf);
}

static void
decode(struct netflow_cache *c, const struct nb *x)
{
	decode_from(c, &EXP4, x->b, x->n);
}

/* Retry a kept set, as the daemon will after buffering it. */
static void
retry(struct netflow_cache *c, const struct netflow_hdr *hp, uint16_t id,
    const uint8_t *kept, size_t len)
{
	struct netflow_msg *m = xmalloc(sizeof(*m));
	uint8_t *body = xmalloc(len ? len : 1);
	struct netflow_hdr h = *hp;
	struct netflow_set *s;
	struct netflow_rec r;

	memcpy(body, kept, len);
	memset(&D, 0, offsetof(__typeof__(D), kept_body));
	D.open = netflow_open_set(m, c, &h, id, body, len, now_ms);
	while (D.open == NETFLOW_OK && (s = netflow_set_next(m)) != NULL) {
		if (D.ns < MAXS) {
			D.s[D.ns].id = s->id;
			D.s[D.ns].kind = s->kind;
			D.s[D.ns].status = s->status;
		}
		D.ns++;
		while (netflow_record_next(s, &r) > 0) {
			if (D.nr < MAXR)
				D.r[D.nr] = r;
			D.nr++;
		}
	}
	memcpy(D.errs, m->errs, sizeof(D.errs));
	free(body);
	free(m);
}

static uint32_t
nerrs(void)
{
	uint32_t n = 0;

	for (int i = 1; i < NETFLOW_ERR__MAX; i++)
		n += D.errs[i];
	return n;
}

static struct netflow_cache *
cache(void)
{
	return netflow_cache_new(NULL, 1, 2);
}

/* A key's value on a mapped record, "null" when it has none. */
static const char *
key(const struct flow_rec *fr, const char *expr)
{
	static char out[FLOWKEY_VALUE_MAX];
	char err[128];
	struct flowkey *k = flowkey_parse(expr, err, sizeof(err));

	if (k == NULL) {
		T_FAIL("key %s: %s", expr, err);
		return "";
	}
	flowkey_eval(k, fr, NULL, out, sizeof(out));
	flowkey_free(k);
	return out;
}

static bool
addr_is(const struct sflow_addr *a, int family, const char *text)
{
	struct sflow_addr b;

	return sflow_addr_parse(text, &b) == 0 && a->family == family &&
	    b.family == family && memcmp(a->a, b.a, 16) == 0;
}

/* ---- NetFlow v5 ------------------------------------------------------------
 */

static void
v5_records(void)
{
	struct netflow_cache *c = cache();
	struct nb x;

	seed_begin("v5");
	/* Export at 1700000000.5 s, uptime 100 s; 1 in 64 (mode 1). */
	v5_hdr(&x, 2, 100000, 1700000000, 500000000, 1 << 14 | 64);
	v5_rec(&x, IP4(10, 0, 1, 5), IP4(10, 0, 2, 7), 3, 4, 10, 15000, 90000,
	    99000, 40000, 443, 0x18, 6, 0x20);
	v5_rec(&x, IP4(10, 0, 1, 6), IP4(10, 0, 2, 8), 5, 6, 1, 84, 99500,
	    99500, 0, 0x0300, 0, 1, 0);
	decode(c, &x);
	T_EQ(D.open, NETFLOW_OK);
	T_EQ(nerrs(), 0);
	T_EQ(D.h.version, 5);
	T_EQ(D.h.domain, 1 << 8 | 2);
	T_EQ(D.ns, 1);
	T_EQ(D.s[0].kind, NETFLOW_SET_V5);
	T_EQ(D.nr, 2);
	T_OK(addr_is(&D.r[0].src, 4, "10.0.1.5"));
	T_OK(addr_is(&D.r[0].dst, 4, "10.0.2.7"));
	T_OK(addr_is(&D.r[0].next_hop, 4, "10.0.0.254"));
	T_EQ(D.r[0].in_if, 3);
	T_EQ(D.r[0].out_if, 4);
	T_EQ(D.r[0].packets, 10);
	T_EQ(D.r[0].bytes, 15000);
	T_EQ(D.r[0].src_port, 40000);
	T_EQ(D.r[0].dst_port, 443);
	T_EQ(D.r[0].tcp_flags, 0x18);
	T_EQ(D.r[0].proto, 6);
	T_EQ(D.r[0].tos, 0x20);
	T_EQ(D.r[0].src_as, 65001);
	T_EQ(D.r[0].dst_mask, 16);
	/* first = export - (uptime - first) */
	T_EQ(D.r[0].first_ms, 1700000000500 - 10000);
	T_EQ(D.r[0].last_ms, 1700000000500 - 1000);
	T_EQ(D.r[0].sampling_rate, 64);
	T_EQ(D.r[0].sampling_src, NETFLOW_SAMPLING_HEADER);
	T_EQ(D.r[0].scaled_packets, 640);
	T_EQ(D.r[0].scaled_bytes, 960000);
	/* ICMP type/code from the destination port (type 3, code 0). */
	T_OK(D.r[1].have & NETFLOW_HAVE_ICMP);
	T_EQ(D.r[1].icmp_type, 3);
	T_EQ(D.r[1].icmp_code, 0);
	T_OK(!(D.r[0].have & NETFLOW_HAVE_ICMP));
	netflow_cache_free(c);
}

static void
v5_bad(void)
{
	struct netflow_cache *c = cache();
	struct nb x;

	seed_begin("v5-bad");
	/* Three records declared, two there: the two decode. */
	v5_hdr(&x, 3, 1000, 1700000000, 0, 0);
	v5_rec(&x, 1, 2, 3, 4, 1, 100, 0, 0, 1, 2, 0, 17, 0);
	v5_rec(&x, 1, 2, 3, 4, 1, 100, 0, 0, 1, 2, 0, 17, 0);
	decode(c, &x);
	T_EQ(D.open, NETFLOW_OK);
	T_EQ(D.errs[NETFLOW_ERR_TRUNCATED], 1);
	T_EQ(D.nr, 2);
	T_EQ(D.r[0].sampling_rate, 1);
	T_EQ(D.r[0].sampling_src, NETFLOW_SAMPLING_NONE);
	/* Cut inside the header. */
	x.n = 20;
	decode(c, &x);
	T_EQ(D.open, NETFLOW_ERR_TRUNCATED);
	T_EQ(D.errs[NETFLOW_ERR_TRUNCATED], 1);
	T_EQ(D.ns, 0);
	/* An unknown version, and too short for one. */
	x.b[1] = 7;
	x.n = 24;
	decode(c, &x);
	T_EQ(D.open, NETFLOW_ERR_VERSION);
	T_EQ(D.errs[NETFLOW_ERR_VERSION], 1);
	x.n = 1;
	decode(c, &x);
	T_EQ(D.open, NETFLOW_ERR_TRUNCATED);
	decode(c, &x);
	T_EQ(netflow_cache_stats(c)->errs[NETFLOW_ERR_TRUNCATED], 4);
	T_EQ(netflow_cache_stats(c)->errs[NETFLOW_ERR_VERSION], 1);
	netflow_cache_free(c);
}

/* ---- NetFlow v9
 * --------------------------------------------------------------- */

/* Template 260: a v9 IPv4 flow, 39 bytes a record. */
static void
v9_template_260(struct nb *x)
{
	set_open(x, 0);
	b16(x, 260);
	b16(x, 13);
	tf(x, 8, 4);  /* IPV4_SRC_ADDR */
	tf(x, 12, 4); /* IPV4_DST_ADDR */
	tf(x, 7, 2);  /* L4_SRC_PORT */
	tf(x, 11, 2); /* L4_DST_PORT */
	tf(x, 4, 1);  /* PROTOCOL */
	tf(x, 2, 4);  /* IN_PKTS */
	tf(x, 1, 4);  /* IN_BYTES */
	tf(x, 10, 2); /* INPUT_SNMP */
	tf(x, 14, 2); /* OUTPUT_SNMP */
	tf(x, 22, 4); /* FIRST_SWITCHED */
	tf(x, 21, 4); /* LAST_SWITCHED */
	tf(x, 61, 1); /* DIRECTION */
	tf(x, 48, 2); /* FLOW_SAMPLER_ID */
	set_close(x, 0);
}

static void
v9_rec_260(struct nb *x, uint32_t src, uint16_t dport, uint32_t pkts,
    uint32_t bytes, uint8_t dir, uint16_t sampler)
{
	b32(x, src);
	b32(x, IP4(10, 9, 9, 9));
	b16(x, 5555);
	b16(x, dport);
	b8(x, 17);
	b32(x, pkts);
	b32(x, bytes);
	b16(x, 7);
	b16(x, 8);
	b32(x, 50000); /* first, in sysUpTime ms */
	b32(x, 59000); /* last */
	b8(x, dir);
	b16(x, sampler);
}

static void
v9_template_and_data(void)
{
	struct netflow_cache *c = cache();
	struct nb x;

	seed_begin("v9-basic");
	v9_hdr(&x, 3, 60000, 1700000000, 42);
	v9_template_260(&x);
	set_open(&x, 260);
	v9_rec_260(&x, IP4(10, 1, 1, 1), 53, 4, 400, 0, 0);
	v9_rec_260(&x, IP4(10, 1, 1, 2), 123, 2, 152, 1, 0);
	set_close(&x, 2); /* padding */
	decode(c, &x);
	T_EQ(D.open, NETFLOW_OK);
	T_EQ(nerrs(), 0);
	T_EQ(D.h.domain, 42);
	T_EQ(D.ns, 2);
	T_EQ(D.s[0].kind, NETFLOW_SET_TEMPLATE);
	T_EQ(D.nt, 1);
	T_EQ(D.op[0], NETFLOW_TMPL_NEW);
	T_EQ(D.tid[0], 260);
	T_EQ(D.s[1].kind, NETFLOW_SET_DATA);
	T_EQ(D.nr, 2);
	T_OK(addr_is(&D.r[0].src, 4, "10.1.1.1"));
	T_OK(addr_is(&D.r[0].dst, 4, "10.9.9.9"));
	T_EQ(D.r[0].template_id, 260);
	T_EQ(D.r[0].dst_port, 53);
	T_EQ(D.r[0].proto, 17);
	T_EQ(D.r[0].packets, 4);
	T_EQ(D.r[0].bytes, 400);
	T_EQ(D.r[0].in_if, 7);
	T_EQ(D.r[0].out_if, 8);
	T_EQ(D.r[0].first_ms, 1700000000000 - 10000);
	T_EQ(D.r[0].last_ms, 1700000000000 - 1000);
	T_EQ(D.r[0].direction, 0);
	T_EQ(D.r[1].direction, 1);
	T_EQ(D.r[0].sampler_id, 0);
	T_EQ(D.r[0].sampling_rate, 1);
	T_EQ(netflow_cache_stats(c)->templates, 1);
	T_EQ(netflow_cache_stats(c)->records, 2);

	/* Trailing zeros after the last set are padding, not an error. */
	bzero_(&x, 8);
	decode(c, &x);
	T_EQ(nerrs(), 0);
	T_EQ(D.nr, 2);
	T_EQ(D.op[0], NETFLOW_TMPL_REFRESHED);
	netflow_cache_free(c);
}

/* The sampler tables: an options template and its data, as Cisco sends. */
static void
v9_options_sampling(void)
{
	struct netflow_cache *c = cache();
	struct nb x;

	seed_begin("v9-sampler");
	v9_hdr(&x, 2, 60000, 1700000000, 0);
	set_open(&x, 1);
	b16(&x, 257);
	b16(&x, 4);    /* scope length: one field */
	b16(&x, 12);   /* option length: three fields */
	tf(&x, 1, 0);  /* scope System, zero length (as Cisco sends) */
	tf(&x, 48, 1); /* FLOW_SAMPLER_ID */
	tf(&x, 49, 1); /* FLOW_SAMPLER_MODE */
	tf(&x, 50, 4); /* FLOW_SAMPLER_RANDOM_INTERVAL */
	set_close(&x, 2);
	set_open(&x, 257);
	b8(&x, 1);
	b8(&x, 2);
	b32(&x, 30000);
	b8(&x, 2);
	b8(&x, 2);
	b32(&x, 1000);
	set_close(&x, 0);
	v9_template_260(&x);
	set_open(&x, 260);
	v9_rec_260(&x, IP4(10, 1, 1, 1), 53, 4, 400, 0, 1);
	v9_rec_260(&x, IP4(10, 1, 1, 2), 53, 1, 100, 0, 2);
	v9_rec_260(&x, IP4(10, 1, 1, 3), 53, 1, 100, 0, 9);
	set_close(&x, 0);
	decode(c, &x);
	T_EQ(nerrs(), 0);
	T_EQ(D.ns, 4);
	T_EQ(D.s[0].kind, NETFLOW_SET_OPTIONS_TEMPLATE);
	T_EQ(D.op[0], NETFLOW_TMPL_NEW);
	T_EQ(D.s[1].kind, NETFLOW_SET_OPTIONS_DATA);
	T_EQ(D.nr, 5);
	T_OK(D.r[0].options);
	T_EQ(D.r[0].opt.scope, NETFLOW_OPT_SAMPLER);
	T_EQ(D.r[0].opt.key, 1);
	T_EQ(D.r[0].opt.rate, 30000);
	T_EQ(D.r[0].opt.algorithm, 2);
	T_EQ(D.fr_rc[0], -1); /* not a flow */
	T_EQ(D.r[2].sampler_id, 1);
	T_EQ(D.r[2].sampling_rate, 30000);
	T_EQ(D.r[2].sampling_src, NETFLOW_SAMPLING_SAMPLER);
	T_EQ(D.r[2].scaled_bytes, 12000000);
	T_EQ(D.r[3].sampling_rate, 1000);
	/* Sampler 9 is unknown: unscaled. */
	T_EQ(D.r[4].sampling_rate, 1);
	T_EQ(D.r[4].sampling_src, NETFLOW_SAMPLING_NONE);
	T_EQ(netflow_cache_stats(c)->samplers_learned, 2);
	T_EQ(netflow_cache_stats(c)->options_records, 2);

	/* An exporter-wide rate (no sampler ID): sampler 9 falls back to
	 * it, sampler 1 keeps its own. */
	v9_hdr(&x, 2, 60000, 1700000000, 0);
	set_open(&x, 1);
	b16(&x, 258);
	b16(&x, 4);
	b16(&x, 8);
	tf(&x, 1, 0);
	tf(&x, 35, 1); /* SAMPLING_ALGORITHM */
	tf(&x, 34, 4); /* SAMPLING_INTERVAL */
	set_close(&x, 2);
	set_open(&x, 258);
	b8(&x, 2);
	b32(&x, 100);
	set_close(&x, 3);
	set_open(&x, 260);
	v9_rec_260(&x, IP4(10, 1, 1, 3), 53, 1, 100, 0, 9);
	v9_rec_260(&x, IP4(10, 1, 1, 3), 53, 1, 100, 0, 1);
	set_close(&x, 0);
	decode(c, &x);
	T_EQ(nerrs(), 0);
	T_EQ(D.nr, 3);
	T_EQ(D.r[0].opt.scope, NETFLOW_OPT_EXPORTER);
	T_EQ(D.r[0].opt.rate, 100);
	T_EQ(D.r[1].sampling_rate, 100);
	T_EQ(D.r[1].sampling_src, NETFLOW_SAMPLING_EXPORTER);
	T_EQ(D.r[2].sampling_rate, 30000);

	/* Another exporter shares nothing with this one. */
	v9_hdr(&x, 2, 60000, 1700000000, 0);
	v9_template_260(&x);
	set_open(&x, 260);
	v9_rec_260(&x, IP4(10, 1, 1, 3), 53, 1, 100, 0, 1);
	set_close(&x, 0);
	decode_from(c, &EXP4B, x.b, x.n);
	T_EQ(D.nr, 1);
	T_EQ(D.r[0].sampling_rate, 1);
	T_EQ(D.op[0], NETFLOW_TMPL_NEW);
	T_EQ(netflow_cache_stats(c)->domains, 2);
	netflow_cache_free(c);
}

/* ---- IPFIX ------------------------------------------------------------------
 */

static void
ipfix_template_scope_sampling(void)
{
	struct netflow_cache *c = cache();
	struct nb x;

	seed_begin("ipfix-template-scope");
	ipfix_hdr(&x, 1700000000, 7);
	set_open(&x, 2);
	b16(&x, 300); /* flows */
	b16(&x, 4);
	tf(&x, 8, 4);
	tf(&x, 12, 4);
	tf(&x, 1, 8); /* octetDeltaCount */
	tf(&x, 2, 8); /* packetDeltaCount */
	b16(&x, 301); /* the same, unsampled */
	b16(&x, 4);
	tf(&x, 8, 4);
	tf(&x, 12, 4);
	tf(&x, 1, 8);
	tf(&x, 2, 8);
	set_close(&x, 0);
	set_open(&x, 3);
	b16(&x, 400);
	b16(&x, 5);     /* field count */
	b16(&x, 2);     /* scope field count */
	tf(&x, 149, 4); /* observationDomainId */
	tf(&x, 145, 2); /* templateId */
	tf(&x, 304, 1); /* selectorAlgorithm */
	tf(&x, 305, 4); /* samplingPacketInterval */
	tf(&x, 306, 4); /* samplingPacketSpace */
	set_close(&x, 0);
	set_open(&x, 400);
	b32(&x, 7);
	b16(&x, 300);
	b8(&x, 1);
	b32(&x, 1);
	b32(&x, 999);
	set_close(&x, 0);
	set_open(&x, 300);
	b32(&x, IP4(10, 0, 0, 1));
	b32(&x, IP4(10, 0, 0, 2));
	b64(&x, 1500);
	b64(&x, 1);
	set_close(&x, 0);
	set_open(&x, 301);
	b32(&x, IP4(10, 0, 0, 1));
	b32(&x, IP4(10, 0, 0, 2));
	b64(&x, 1500);
	b64(&x, 1);
	set_close(&x, 0);
	ipfix_end(&x);
	decode(c, &x);
	T_EQ(D.open, NETFLOW_OK);
	T_EQ(nerrs(), 0);
	T_EQ(D.h.version, 10);
	T_EQ(D.h.length, x.n);
	T_EQ(D.h.domain, 7);
	T_EQ(D.nt, 3);
	T_EQ(D.nr, 3);
	T_EQ(D.r[0].opt.scope, NETFLOW_OPT_TEMPLATE);
	T_EQ(D.r[0].opt.key, 300);
	T_EQ(D.r[0].opt.rate, 1000);
	T_EQ(D.r[1].sampling_rate, 1000);
	T_EQ(D.r[1].sampling_src, NETFLOW_SAMPLING_TEMPLATE);
	T_EQ(D.r[1].scaled_bytes, 1500000);
	T_EQ(D.r[2].sampling_rate, 1);
	netflow_cache_free(c);
}

/* Enterprise fields skipped by length; variable-length fields. */
static void
ipfix_varlen_enterprise(void)
{
	struct netflow_cache *c = cache();
	struct nb x;
	uint8_t name[300];

	memset(name, 'a', sizeof(name));
	seed_begin("ipfix-varlen");
	ipfix_hdr(&x, 1700000000, 1);
	set_open(&x, 2);
	b16(&x, 256);
	b16(&x, 5);
	tf(&x, 8, 4);
	tfe(&x, 1, 4, 29305);           /* reverse octetDeltaCount: skipped */
	tf(&x, 96, NETFLOW_VARLEN);     /* applicationName */
	tfe(&x, 77, NETFLOW_VARLEN, 9); /* an enterprise varlen */
	tf(&x, 11, 2);
	set_close(&x, 0);
	set_open(&x, 256);
	/* short form lengths */
	b32(&x, IP4(10, 0, 0, 1));
	b32(&x, 999999);
	b8(&x, 3);
	braw(&x, "dns", 3);
	b8(&x, 0);
	b16(&x, 53);
	/* the long form: 255, then 16 bits */
	b32(&x, IP4(10, 0, 0, 2));
	b32(&x, 999999);
	b8(&x, 255);
	b16(&x, 300);
	braw(&x, name, 300);
	b8(&x, 255);
	b16(&x, 2);
	braw(&x, "xy", 2);
	b16(&x, 443);
	set_close(&x, 1); /* one byte of padding: less than a record */
	ipfix_end(&x);
	decode(c, &x);
	T_EQ(nerrs(), 0);
	T_EQ(D.nt, 1);
	T_EQ(D.nr, 2);
	T_OK(addr_is(&D.r[0].src, 4, "10.0.0.1"));
	T_EQ(D.r[0].dst_port, 53);
	T_OK(!(D.r[0].have & NETFLOW_HAVE_BYTES)); /* the reverse was skipped */
	T_EQ(D.r[0].len, 4 + 4 + 4 + 1 + 2);
	T_OK(addr_is(&D.r[1].src, 4, "10.0.0.2"));
	T_EQ(D.r[1].dst_port, 443);
	T_EQ(D.r[1].len, 4 + 4 + 303 + 5 + 2);

	/* A variable length that runs past the set: bad_record. */
	ipfix_hdr(&x, 1700000000, 1);
	set_open(&x, 256);
	b32(&x, IP4(10, 0, 0, 1));
	b32(&x, 1);
	b8(&x, 200); /* 200 bytes that are not there */
	braw(&x, "abc", 3);
	set_close(&x, 0);
	ipfix_end(&x);
	decode(c, &x);
	T_EQ(D.errs[NETFLOW_ERR_RECORD], 1);
	T_EQ(D.nr, 0);
	netflow_cache_free(c);
}

/* A sampled frame (dataLinkFrameSection), Ethernet/802.1Q/IPv4/UDP. */
static const uint8_t frame_udp[] = {
	0x18, 0x2a, 0xd3, 0x6e, 0x50, 0x3f, 0xb4, 0x02, 0x16, 0x55, 0x92, 0xf4,
	0x81, 0x00, 0x00, 0xe7, 0x08, 0x00, /* eth, vlan 231 */
	0x45, 0x00, 0x00, 0x60, 0x8f, 0x00, 0x00, 0x00, 0x77, 0x11, 0xe9, 0xb0,
	51, 51, 51, 51, 52, 52, 52, 52,                 /* IPv4, TTL 119, UDP */
	0xd8, 0xcd, 0x2e, 0x01, 0x00, 0x4c, 0xda, 0x0f, /* 55501 -> 11777 */
};

/* The same packet behind two MPLS labels and a pseudowire control word. */
static const uint8_t frame_mpls[] = {
	0x02, 0, 0, 0, 0, 0x03, 0x02, 0, 0, 0, 0, 0x04, 0x88, 0x47, /* eth */
	0x49, 0x3e, 0xc2, 0xff, 0x00, 0x01, 0x13, 0xff, /* labels, S on 2nd */
	0x00, 0x00, 0x00, 0x00,                         /* control word */
	0x44, 0x4c, 0xa8, 0x98, 0xa5, 0x0d, 0x30, 0x63, 0xea, 0x2b, 0x6e, 0x10,
	0x08, 0x00, /* inner eth */
	0x45, 0x00, 0x00, 0x60, 0x8f, 0x00, 0x00, 0x00, 0x3e, 0x06, 0xe9, 0xb0,
	198, 51, 100, 3, 198, 51, 100, 4,                           /* TCP */
	0x01, 0xbb, 0x70, 0xef, 0, 0, 0, 1, 0, 0, 0, 1, 0x50, 0x18, /* flags */
};

static void
ipfix_frame_section(void)
{
	struct netflow_cache *c = cache();
	struct nb x;
	const struct flow_rec *fr = &D.fr[0];

	seed_begin("ipfix-frame");
	ipfix_hdr(&x, 1700000000, 1);
	set_open(&x, 2);
	b16(&x, 384);
	b16(&x, 5);
	tf(&x, 10, 4);
	tf(&x, 14, 4);
	tf(&x, 61, 1);
	tf(&x, 312, 2);
	tf(&x, 315, NETFLOW_VARLEN);
	set_close(&x, 0);
	set_open(&x, 384);
	b32(&x, 582);
	b32(&x, 0);
	b8(&x, 0);
	b16(&x, 114);
	b8(&x, sizeof(frame_udp));
	braw(&x, frame_udp, sizeof(frame_udp));
	b32(&x, 1022);
	b32(&x, 0);
	b8(&x, 0);
	b16(&x, 1540);
	b8(&x, sizeof(frame_mpls));
	braw(&x, frame_mpls, sizeof(frame_mpls));
	set_close(&x, 0);
	ipfix_end(&x);
	decode(c, &x);
	T_EQ(nerrs(), 0);
	T_EQ(D.nr, 2);
	T_OK(D.r[0].have & NETFLOW_HAVE_FRAME);
	T_EQ(D.r[0].frame_len, sizeof(frame_udp));
	T_EQ(D.r[0].frame_size, 114);
	T_EQ(D.r[0].bytes, 114);
	T_EQ(D.r[0].packets, 1);
	T_OK(addr_is(&D.r[0].src, 4, "51.51.51.51"));
	T_OK(addr_is(&D.r[0].dst, 4, "52.52.52.52"));
	T_EQ(D.r[0].src_port, 55501);
	T_EQ(D.r[0].dst_port, 11777);
	T_EQ(D.r[0].proto, 17);
	T_EQ(D.r[0].ttl, 119);
	T_EQ(D.r[0].vlan, 231);
	T_EQ(D.r[0].src_mac[0], 0xb4);
	T_EQ(D.r[0].mpls_labels, 0);
	/* The engine's record has the whole parsed header. */
	T_EQ(D.fr_rc[0], 0);
	T_OK(fr->has_header);
	T_EQ(fr->header_protocol, 1);
	T_STREQ(fr->stack, "eth.dot1q.ip.udp");
	T_STREQ(key(fr, "vlan"), "231");
	T_STREQ(key(fr, "udpdestinationport"), "11777");
	T_STREQ(key(fr, "ipttl"), "119");
	T_STREQ(key(fr, "macsource"), "B402165592F4");
	T_EQ(fr->frame_length, 114);
	T_EQ(fr->sampling_rate, 1);

	/* MPLS: the IP and TCP behind the labels, the outer MACs. */
	T_EQ(D.r[1].mpls_labels, 2);
	T_OK(addr_is(&D.r[1].src, 4, "198.51.100.3"));
	T_EQ(D.r[1].proto, 6);
	T_EQ(D.r[1].src_port, 443);
	T_EQ(D.r[1].tcp_flags, 0x18);
	T_EQ(D.r[1].src_mac[5], 0x04);
	T_EQ(D.r[1].bytes, 1540);
	T_STREQ(D.fr[1].stack, "eth.mpls.eth.ip.tcp");
	T_STREQ(key(&D.fr[1], "ipsource"), "198.51.100.3");
	T_STREQ(key(&D.fr[1], "tcpflags"), "000011000");
	netflow_cache_free(c);
}

/* Data before its template: counted, kept, and decoded on a retry. */
static void
no_template_retry(void)
{
	struct netflow_cache *c = cache();
	struct nb x;

	seed_begin("no-template");
	v9_hdr(&x, 1, 60000, 1700000000, 0);
	set_open(&x, 260);
	v9_rec_260(&x, IP4(10, 1, 1, 1), 53, 4, 400, 0, 0);
	set_close(&x, 0);
	decode(c, &x);
	T_EQ(D.open, NETFLOW_OK);
	T_EQ(D.ns, 1);
	T_EQ(D.s[0].kind, NETFLOW_SET_UNKNOWN);
	T_EQ(D.s[0].status, NETFLOW_ERR_NO_TEMPLATE);
	T_EQ(D.errs[NETFLOW_ERR_NO_TEMPLATE], 1);
	T_EQ(D.nr, 0);
	T_OK(D.kept);
	T_EQ(D.kept_len, 36);
	T_EQ(netflow_cache_stats(c)->errs[NETFLOW_ERR_NO_TEMPLATE], 1);

	{
		static uint8_t keep[65536];
		size_t klen = D.kept_len;
		uint16_t kid = D.kept_id;
		struct netflow_hdr h = D.h;
		struct nb t;

		memcpy(keep, D.kept_body, klen);
		/* Still no template: the retry says so again. */
		retry(c, &h, kid, keep, klen);
		T_EQ(D.open, NETFLOW_OK);
		T_EQ(D.ns, 1);
		T_EQ(D.s[0].status, NETFLOW_ERR_NO_TEMPLATE);
		T_EQ(D.nr, 0);
		/* The template comes; the retry decodes the kept set. */
		v9_hdr(&t, 1, 61000, 1700000001, 0);
		v9_template_260(&t);
		decode(c, &t);
		T_EQ(D.op[0], NETFLOW_TMPL_NEW);
		retry(c, &h, kid, keep, klen);
	}
	T_EQ(D.ns, 1);
	T_EQ(D.s[0].kind, NETFLOW_SET_DATA);
	T_EQ(D.s[0].status, NETFLOW_OK);
	T_EQ(nerrs(), 0);
	T_EQ(D.nr, 1);
	T_OK(addr_is(&D.r[0].src, 4, "10.1.1.1"));
	/* times from the saved header, not the template's */
	T_EQ(D.r[0].first_ms, 1700000000000 - 10000);

	/* A retry that is not a data set is refused. */
	{
		struct netflow_msg m;
		uint8_t b[4] = { 0 };

		T_EQ(netflow_open_set(&m, c, &D.h, 0, b, 4, 0),
		    NETFLOW_ERR_LENGTH);
		T_OK(netflow_set_next(&m) == NULL);
	}
	netflow_cache_free(c);
}

/* In one message: data, its template, data again. */
static void
data_before_template_same_message(void)
{
	struct netflow_cache *c = cache();
	struct nb x;

	seed_begin("data-template-data");
	v9_hdr(&x, 3, 60000, 1700000000, 0);
	set_open(&x, 260);
	v9_rec_260(&x, IP4(10, 1, 1, 1), 53, 4, 400, 0, 0);
	set_close(&x, 0);
	v9_template_260(&x);
	set_open(&x, 260);
	v9_rec_260(&x, IP4(10, 1, 1, 2), 53, 4, 400, 0, 0);
	set_close(&x, 0);
	decode(c, &x);
	T_EQ(D.ns, 3);
	T_EQ(D.s[0].status, NETFLOW_ERR_NO_TEMPLATE);
	T_EQ(D.s[2].kind, NETFLOW_SET_DATA);
	T_EQ(D.nr, 1);
	T_OK(addr_is(&D.r[0].src, 4, "10.1.1.2"));
	T_EQ(D.errs[NETFLOW_ERR_NO_TEMPLATE], 1);
	netflow_cache_free(c);
}

static void
ipfix_template_a(struct nb *x, uint16_t id)
{
	set_open(x, 2);
	b16(x, id);
	b16(x, 3);
	tf(x, 8, 4);
	tf(x, 12, 4);
	tf(x, 2, 4);
	set_close(x, 0);
}

static void
ipfix_template_b(struct nb *x, uint16_t id)
{
	set_open(x, 2);
	b16(x, id);
	b16(x, 3);
	tf(x, 2, 4);
	tf(x, 27, 16);
	tf(x, 28, 16);
	set_close(x, 0);
}

/* Template 500 changes layout mid-stream: data after it uses the new one. */
static void
template_replaced(void)
{
	struct netflow_cache *c = cache();
	struct nb x;
	uint8_t a6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	uint8_t b6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 };

	seed_begin("template-replaced");
	ipfix_hdr(&x, 1700000000, 1);
	ipfix_template_a(&x, 500);
	set_open(&x, 500);
	b32(&x, IP4(10, 0, 0, 1));
	b32(&x, IP4(10, 0, 0, 2));
	b32(&x, 5);
	set_close(&x, 0);
	ipfix_template_b(&x, 500);
	set_open(&x, 500);
	b32(&x, 6);
	braw(&x, a6, 16);
	braw(&x, b6, 16);
	set_close(&x, 0);
	ipfix_end(&x);
	decode(c, &x);
	T_EQ(nerrs(), 0);
	T_EQ(D.nt, 2);
	T_EQ(D.op[0], NETFLOW_TMPL_NEW);
	T_EQ(D.op[1], NETFLOW_TMPL_REPLACED);
	T_EQ(D.nr, 2);
	T_EQ(D.r[0].ip_version, 4);
	T_EQ(D.r[0].packets, 5);
	T_EQ(D.r[1].ip_version, 6);
	T_OK(addr_is(&D.r[1].src, 6, "2001:db8::1"));
	T_OK(addr_is(&D.r[1].dst, 6, "2001:db8::2"));
	T_EQ(D.r[1].packets, 6);
	T_STREQ(key(&D.fr[1], "ip6destination"), "2001:db8::2");
	T_STREQ(key(&D.fr[1], "stack"), "ip6");
	T_STREQ(key(&D.fr[1], "ipsource"), "null");

	/* The same again: refreshed, nothing changes. */
	ipfix_hdr(&x, 1700000001, 1);
	ipfix_template_b(&x, 500);
	ipfix_end(&x);
	decode(c, &x);
	T_EQ(D.op[0], NETFLOW_TMPL_REFRESHED);
	T_EQ(netflow_cache_stats(c)->templates, 1);
	T_EQ(netflow_cache_stats(c)->templates_new, 1);
	T_EQ(netflow_cache_stats(c)->templates_replaced, 1);
	T_EQ(netflow_cache_stats(c)->templates_refreshed, 1);

	/* A v9 template 500 from the same exporter is another one. */
	v9_hdr(&x, 1, 60000, 1700000000, 1);
	set_open(&x, 0);
	b16(&x, 500);
	b16(&x, 1);
	tf(&x, 8, 4);
	set_close(&x, 0);
	decode(c, &x);
	T_EQ(D.op[0], NETFLOW_TMPL_NEW);
	T_EQ(netflow_cache_stats(c)->templates, 2);
	netflow_cache_free(c);
}

static void
template_withdrawal(void)
{
	struct netflow_cache *c = cache();
	struct netflow_template t;
	struct netflow_tkey k = { EXP4, 1, 10, 600 };
	struct nb x;

	seed_begin("withdrawal");
	ipfix_hdr(&x, 1700000000, 1);
	ipfix_template_a(&x, 600);
	ipfix_template_a(&x, 601);
	set_open(&x, 3);
	b16(&x, 602);
	b16(&x, 2);
	b16(&x, 1);
	tf(&x, 145, 2);
	tf(&x, 34, 4);
	set_close(&x, 0);
	ipfix_end(&x);
	decode(c, &x);
	T_EQ(nerrs(), 0);
	T_EQ(netflow_cache_stats(c)->templates, 3);
	T_EQ(netflow_cache_get(c, &k, &t), 1);
	T_EQ(t.n_fields, 3);
	T_EQ(t.min_len, 12);

	/* Withdraw 600: its data has no template any more. */
	ipfix_hdr(&x, 1700000001, 1);
	set_open(&x, 2);
	b16(&x, 600);
	b16(&x, 0);
	set_close(&x, 0);
	set_open(&x, 600);
	bzero_(&x, 12);
	set_close(&x, 0);
	ipfix_end(&x);
	decode(c, &x);
	T_EQ(D.op[0], NETFLOW_TMPL_WITHDRAWN);
	T_EQ(D.s[1].status, NETFLOW_ERR_NO_TEMPLATE);
	T_EQ(netflow_cache_get(c, &k, &t), 0);
	T_EQ(netflow_cache_stats(c)->templates, 2);

	/* Withdraw all data templates (ID 2 in set 2): the options one stays.
	 */
	ipfix_hdr(&x, 1700000002, 1);
	set_open(&x, 2);
	b16(&x, 2);
	b16(&x, 0);
	set_close(&x, 0);
	ipfix_end(&x);
	decode(c, &x);
	T_EQ(D.op[0], NETFLOW_TMPL_WITHDRAWN_ALL);
	T_EQ(netflow_cache_stats(c)->templates, 1);
	/* And all options templates. */
	ipfix_hdr(&x, 1700000003, 1);
	set_open(&x, 3);
	b16(&x, 3);
	b16(&x, 0);
	set_close(&x, 0);
	ipfix_end(&x);
	decode(c, &x);
	T_EQ(D.op[0], NETFLOW_TMPL_WITHDRAWN_ALL);
	T_EQ(netflow_cache_stats(c)->templates, 0);
	T_EQ(netflow_cache_stats(c)->templates_withdrawn, 3);
	T_EQ(nerrs(), 0);
	netflow_cache_free(c);
}

/* ---- bad templates ----------------------------------------------------------
 */

static void
bad_templates(void)
{
	struct netflow_cache *c = cache();
	struct nb x;

	seed_begin("bad-templates");
	/* Zero-length fields only: records of no bytes. Then a good one. */
	ipfix_hdr(&x, 1700000000, 1);
	set_open(&x, 2);
	b16(&x, 700);
	b16(&x, 2);
	tf(&x, 8, 0);
	tf(&x, 12, 0);
	b16(&x, 701);
	b16(&x, 1);
	tf(&x, 8, 4);
	set_close(&x, 0);
	ipfix_end(&x);
	decode(c, &x);
	T_EQ(D.nt, 2);
	T_EQ(D.op[0], NETFLOW_TMPL_BAD);
	T_EQ(D.op[1], NETFLOW_TMPL_NEW);
	T_EQ(D.errs[NETFLOW_ERR_TEMPLATE], 1);

	/* One zero-length field among others is fine (it carries nothing). */
	ipfix_hdr(&x, 1700000000, 1);
	set_open(&x, 2);
	b16(&x, 702);
	b16(&x, 2);
	tf(&x, 8, 0);
	tf(&x, 12, 4);
	set_close(&x, 0);
	set_open(&x, 702);
	b32(&x, IP4(1, 2, 3, 4));
	set_close(&x, 0);
	ipfix_end(&x);
	decode(c, &x);
	T_EQ(nerrs(), 0);
	T_EQ(D.op[0], NETFLOW_TMPL_NEW);
	T_EQ(D.nr, 1);
	T_OK(addr_is(&D.r[0].dst, 4, "1.2.3.4"));
	T_OK(!(D.r[0].have & NETFLOW_HAVE_SRC_ADDR));

	/* An absurd field count: more fields than the set holds. The set
	 * ends there; the next set is read. */
	ipfix_hdr(&x, 1700000000, 1);
	set_open(&x, 2);
	b16(&x, 703);
	b16(&x, 1000);
	tf(&x, 8, 4);
	tf(&x, 12, 4);
	set_close(&x, 0);
	ipfix_template_a(&x, 704);
	ipfix_end(&x);
	decode(c, &x);
	T_EQ(D.errs[NETFLOW_ERR_TEMPLATE], 1);
	T_EQ(D.nt, 1);
	T_EQ(D.op[0], NETFLOW_TMPL_NEW);
	T_EQ(D.tid[0], 704);

	/* More fields than a template may have, but they fit: refused, and
	 * the template after it is read. */
	ipfix_hdr(&x, 1700000000, 1);
	set_open(&x, 2);
	b16(&x, 705);
	b16(&x, NETFLOW_FIELDS_MAX + 1);
	for (int i = 0; i <= NETFLOW_FIELDS_MAX; i++)
		tf(&x, 8, 1);
	b16(&x, 706);
	b16(&x, 1);
	tf(&x, 8, 4);
	set_close(&x, 0);
	ipfix_end(&x);
	decode(c, &x);
	T_EQ(D.nt, 2);
	T_EQ(D.op[0], NETFLOW_TMPL_BAD);
	T_EQ(D.op[1], NETFLOW_TMPL_NEW);
	T_EQ(D.tid[1], 706);
	T_EQ(D.errs[NETFLOW_ERR_TEMPLATE], 1);

	/* A record longer than a set can be: a length overflow. */
	ipfix_hdr(&x, 1700000000, 1);
	set_open(&x, 2);
	b16(&x, 707);
	b16(&x, 20);
	for (int i = 0; i < 20; i++)
		tf(&x, 8, 4000);
	set_close(&x, 0);
	ipfix_end(&x);
	decode(c, &x);
	T_EQ(D.op[0], NETFLOW_TMPL_BAD);
	T_EQ(D.errs[NETFLOW_ERR_TEMPLATE], 1);

	/* Options: no scope field, more scope fields than fields. */
	ipfix_hdr(&x, 1700000000, 1);
	set_open(&x, 3);
	b16(&x, 708);
	b16(&x, 1);
	b16(&x, 0);
	tf(&x, 34, 4);
	b16(&x, 709);
	b16(&x, 1);
	b16(&x, 2);
	tf(&x, 34, 4);
	set_close(&x, 0);
	ipfix_end(&x);
	decode(c, &x);
	T_EQ(D.nt, 2);
	T_EQ(D.op[0], NETFLOW_TMPL_BAD);
	T_EQ(D.op[1], NETFLOW_TMPL_BAD);
	T_EQ(D.errs[NETFLOW_ERR_TEMPLATE], 2);

	/* A template ID below 256 (not a withdrawal). */
	ipfix_hdr(&x, 1700000000, 1);
	set_open(&x, 2);
	b16(&x, 100);
	b16(&x, 1);
	tf(&x, 8, 4);
	set_close(&x, 0);
	ipfix_end(&x);
	decode(c, &x);
	T_EQ(D.op[0], NETFLOW_TMPL_BAD);
	T_EQ(D.errs[NETFLOW_ERR_TEMPLATE], 1);

	/* v9 options lengths that are not whole fields: the set ends. */
	v9_hdr(&x, 1, 1000, 1700000000, 0);
	set_open(&x, 1);
	b16(&x, 710);
	b16(&x, 3);
	b16(&x, 4);
	tf(&x, 1, 4);
	tf(&x, 34, 4);
	set_close(&x, 0);
	decode(c, &x);
	T_EQ(D.nt, 0);
	T_EQ(D.errs[NETFLOW_ERR_TEMPLATE], 1);

	/* v9 has no withdrawal: a field count of 0 is bad. */
	v9_hdr(&x, 1, 1000, 1700000000, 0);
	set_open(&x, 0);
	b16(&x, 711);
	b16(&x, 0);
	set_close(&x, 0);
	decode(c, &x);
	T_EQ(D.errs[NETFLOW_ERR_TEMPLATE], 1);

	/* None of these got into the cache. */
	T_EQ(netflow_cache_stats(c)->templates, 4); /* 701 702 704 706 */
	netflow_cache_free(c);
}

/* The checks also hold for templates restored from the store. */
static void
template_check(void)
{
	struct netflow_cache *c = cache();
	struct netflow_template *t = xcalloc(1, sizeof(*t));
	struct netflow_tkey k = { EXP4, 1, 10, 800 };
	enum netflow_tmpl_op op;

	t->id = 800;
	t->n_fields = 2;
	t->f[0] = (struct netflow_field){ 8, 4, 0 };
	t->f[1] = (struct netflow_field){ 96, NETFLOW_VARLEN, 0 };
	T_EQ(netflow_template_check(t), NETFLOW_OK);
	T_EQ(t->min_len, 5);
	T_OK(t->varlen);
	T_EQ(netflow_cache_put(c, &k, t, 5, &op), NETFLOW_OK);
	T_EQ(op, NETFLOW_TMPL_NEW);
	t->f[0].len = 0;
	t->f[1].len = 0;
	T_EQ(netflow_template_check(t), NETFLOW_ERR_TEMPLATE);
	T_EQ(netflow_cache_put(c, &k, t, 5, &op), NETFLOW_ERR_TEMPLATE);
	T_EQ(op, NETFLOW_TMPL_BAD);
	t->f[0].len = 4;
	t->options = true; /* without scope */
	T_EQ(netflow_template_check(t), NETFLOW_ERR_TEMPLATE);
	t->n_scope = 3;
	T_EQ(netflow_template_check(t), NETFLOW_ERR_TEMPLATE);
	t->options = false;
	t->n_scope = 0;
	t->n_fields = NETFLOW_FIELDS_MAX + 1;
	T_EQ(netflow_cache_put(c, &k, t, 5, &op), NETFLOW_ERR_TEMPLATE);
	t->id = 12;
	t->n_fields = 1;
	T_EQ(netflow_template_check(t), NETFLOW_ERR_TEMPLATE);
	free(t);
	netflow_cache_free(c);
}

/* ---- lengths
 * ------------------------------------------------------------------ */

static void
length_errors(void)
{
	struct netflow_cache *c = cache();
	struct nb x;

	seed_begin("lengths");
	/* A set length under 4: the rest of the message is lost. */
	ipfix_hdr(&x, 1700000000, 1);
	ipfix_template_a(&x, 900);
	b16(&x, 900);
	b16(&x, 2);
	bzero_(&x, 12);
	ipfix_end(&x);
	decode(c, &x);
	T_EQ(D.errs[NETFLOW_ERR_LENGTH], 1);
	T_EQ(D.ns, 1);
	T_EQ(D.nt, 1);

	/* A set length past the message. */
	ipfix_hdr(&x, 1700000000, 1);
	b16(&x, 900);
	b16(&x, 200);
	bzero_(&x, 12);
	ipfix_end(&x);
	decode(c, &x);
	T_EQ(D.errs[NETFLOW_ERR_LENGTH], 1);
	T_EQ(D.ns, 0);

	/* An IPFIX message length under the header. */
	ipfix_hdr(&x, 1700000000, 1);
	put16(&x, 2, 10);
	bzero_(&x, 8);
	decode(c, &x);
	T_EQ(D.open, NETFLOW_ERR_LENGTH);

	/* Longer than the datagram: what came decodes, counted truncated. */
	ipfix_hdr(&x, 1700000000, 1);
	set_open(&x, 900);
	b32(&x, IP4(10, 0, 0, 1));
	b32(&x, IP4(10, 0, 0, 2));
	b32(&x, 1);
	set_close(&x, 0);
	put16(&x, 2, (uint16_t)(x.n + 100));
	decode(c, &x);
	T_EQ(D.open, NETFLOW_OK);
	T_EQ(D.errs[NETFLOW_ERR_TRUNCATED], 1);
	T_EQ(nerrs(), 1);
	T_EQ(D.nr, 1);

	/* A set cut by the end of such a message: truncated, counted once. */
	ipfix_hdr(&x, 1700000000, 1);
	set_open(&x, 900);
	b32(&x, IP4(10, 0, 0, 1));
	b32(&x, IP4(10, 0, 0, 2));
	b32(&x, 1);
	set_close(&x, 0);
	put16(&x, x.set_at + 2, 40);
	put16(&x, 2, (uint16_t)(x.n + 24));
	decode(c, &x);
	T_EQ(D.errs[NETFLOW_ERR_TRUNCATED], 1);
	T_EQ(nerrs(), 1);
	T_EQ(D.ns, 0);

	/* Bytes after the message are not read. */
	ipfix_hdr(&x, 1700000000, 1);
	set_open(&x, 900);
	b32(&x, IP4(10, 0, 0, 1));
	b32(&x, IP4(10, 0, 0, 2));
	b32(&x, 1);
	set_close(&x, 0);
	ipfix_end(&x);
	b32(&x, 0xdeadbeef);
	b32(&x, 0xdeadbeef);
	decode(c, &x);
	T_EQ(nerrs(), 0);
	T_EQ(D.nr, 1);

	/* A reserved set ID is skipped by its length. */
	ipfix_hdr(&x, 1700000000, 1);
	set_open(&x, 5);
	b32(&x, 0);
	set_close(&x, 0);
	set_open(&x, 900);
	b32(&x, IP4(10, 0, 0, 1));
	b32(&x, IP4(10, 0, 0, 2));
	b32(&x, 1);
	set_close(&x, 0);
	ipfix_end(&x);
	decode(c, &x);
	T_EQ(D.errs[NETFLOW_ERR_SET_ID], 1);
	T_EQ(D.ns, 2);
	T_EQ(D.s[0].status, NETFLOW_ERR_SET_ID);
	T_EQ(D.nr, 1);

	/* A v9 set past the end, not zeros: bad_length. */
	v9_hdr(&x, 1, 1000, 1700000000, 0);
	b16(&x, 260);
	b16(&x, 100);
	b32(&x, 1);
	decode(c, &x);
	T_EQ(D.errs[NETFLOW_ERR_LENGTH], 1);
	netflow_cache_free(c);
}

/* ---- the cache
 * ------------------------------------------------------------------ */

static void
cache_limits(void)
{
	struct netflow_limits lim = { 3, 2, 2 };
	struct netflow_cache *c = netflow_cache_new(&lim, 1, 2);
	struct nb x;

	seed_begin("limits");
	ipfix_hdr(&x, 1700000000, 1);
	ipfix_template_a(&x, 1000);
	ipfix_template_a(&x, 1001);
	ipfix_template_a(&x, 1002); /* third in the domain: refused */
	set_open(&x, 1002);
	bzero_(&x, 12);
	set_close(&x, 0);
	ipfix_end(&x);
	decode(c, &x);
	T_EQ(D.nt, 3);
	T_EQ(D.op[2], NETFLOW_TMPL_REFUSED);
	T_EQ(D.errs[NETFLOW_ERR_TEMPLATE_LIMIT], 1);
	T_EQ(D.s[3].status, NETFLOW_ERR_NO_TEMPLATE);
	/* Replacing one that is there is still possible. */
	ipfix_hdr(&x, 1700000000, 1);
	ipfix_template_b(&x, 1001);
	ipfix_end(&x);
	decode(c, &x);
	T_EQ(D.op[0], NETFLOW_TMPL_REPLACED);

	/* Another domain: one more template fits in all. */
	ipfix_hdr(&x, 1700000000, 2);
	ipfix_template_a(&x, 1000);
	ipfix_template_a(&x, 1001);
	ipfix_end(&x);
	decode(c, &x);
	T_EQ(D.op[0], NETFLOW_TMPL_NEW);
	T_EQ(D.op[1], NETFLOW_TMPL_REFUSED);
	/* A third domain: refused. */
	ipfix_hdr(&x, 1700000000, 3);
	ipfix_template_a(&x, 1000);
	ipfix_end(&x);
	decode(c, &x);
	T_EQ(D.op[0], NETFLOW_TMPL_REFUSED);
	T_EQ(netflow_cache_stats(c)->templates, 3);
	T_EQ(netflow_cache_stats(c)->domains, 2);
	T_EQ(netflow_cache_stats(c)->errs[NETFLOW_ERR_TEMPLATE_LIMIT], 3);
	netflow_cache_free(c);
}

struct saved {
	int n;
	struct netflow_tkey k[8];
	struct netflow_template *t[8];
};

static void
save_cb(void *arg, const struct netflow_tkey *k,
    const struct netflow_template *t, uint64_t last_ms)
{
	struct saved *s = arg;

	(void)last_ms;
	if (s->n < 8) {
		s->k[s->n] = *k;
		s->t[s->n] = xmalloc(sizeof(*t));
		memcpy(s->t[s->n], t, sizeof(*t));
		s->n++;
	}
}

/* Persisted templates decode data after a restart; old ones expire. */
static void
cache_persist_expire(void)
{
	struct netflow_cache *c = cache(), *c2 = cache();
	struct saved sv = { 0 };
	struct nb x;

	seed_begin("persist");
	now_ms = 1000;
	v9_hdr(&x, 1, 60000, 1700000000, 0);
	v9_template_260(&x);
	decode(c, &x);
	ipfix_hdr(&x, 1700000000, 1);
	ipfix_template_a(&x, 1000);
	ipfix_end(&x);
	decode(c, &x);
	netflow_cache_foreach(c, save_cb, &sv);
	T_EQ(sv.n, 2);
	for (int i = 0; i < sv.n; i++) {
		T_EQ(netflow_cache_put(c2, &sv.k[i], sv.t[i], 5000, NULL),
		    NETFLOW_OK);
		free(sv.t[i]);
	}
	T_EQ(netflow_cache_stats(c2)->templates, 2);
	v9_hdr(&x, 1, 60000, 1700000000, 0);
	set_open(&x, 260);
	v9_rec_260(&x, IP4(10, 1, 1, 1), 53, 4, 400, 0, 0);
	set_close(&x, 0);
	now_ms = 20000;
	decode(c2, &x); /* uses 260 at 20 s */
	T_EQ(nerrs(), 0);
	T_EQ(D.nr, 1);
	T_EQ(D.r[0].dst_port, 53);
	/* At 30 s, drop what was not seen for 15 s: the IPFIX one. */
	T_EQ(netflow_cache_expire(c2, 30000, 15000), 1);
	T_EQ(netflow_cache_stats(c2)->templates, 1);
	T_EQ(netflow_cache_stats(c2)->domains, 1);
	T_EQ(netflow_cache_stats(c2)->templates_expired, 1);
	T_EQ(netflow_cache_expire(c2, 100000, 15000), 1);
	T_EQ(netflow_cache_stats(c2)->domains, 0);
	decode(c2, &x);
	T_EQ(D.errs[NETFLOW_ERR_NO_TEMPLATE], 1);
	now_ms = 1000000;
	netflow_cache_free(c);
	netflow_cache_free(c2);
}

/* ---- fields
 * ------------------------------------------------------------------ */

static void
ipfix_times_and_sizes(void)
{
	struct netflow_cache *c = cache();
	struct nb x;

	seed_begin("times");
	ipfix_hdr(&x, 1700000000, 1);
	set_open(&x, 2);
	b16(&x, 1100);
	b16(&x, 5);
	tf(&x, 1, 4);   /* octetDeltaCount, reduced to 4 bytes */
	tf(&x, 2, 2);   /* packetDeltaCount, 2 bytes */
	tf(&x, 152, 8); /* flowStartMilliseconds */
	tf(&x, 155, 8); /* flowEndMicroseconds (NTP) */
	tf(&x, 6, 2);   /* tcpControlBits, 2 bytes */
	b16(&x, 1101);
	b16(&x, 3);
	tf(&x, 22, 4);  /* flowStartSysUpTime */
	tf(&x, 21, 4);  /* flowEndSysUpTime */
	tf(&x, 159, 4); /* flowEndDeltaMicroseconds: beats 21 */
	set_close(&x, 0);
	set_open(&x, 3);
	b16(&x, 1102);
	b16(&x, 2);
	b16(&x, 1);
	tf(&x, 149, 4);
	tf(&x, 160, 8); /* systemInitTimeMilliseconds */
	set_close(&x, 0);
	set_open(&x, 1100);
	b32(&x, 123456);
	b16(&x, 789);
	b64(&x, 1699999999123);
	/* NTP: 1699999999.5 s since 1970 */
	b32(&x, (uint32_t)(1699999999u + 2208988800u));
	b32(&x, 0x80000000u);
	b16(&x, 0x0112); /* ECE, SYN, ACK... */
	set_close(&x, 0);
	set_open(&x, 1101);
	b32(&x, 1000);
	b32(&x, 2000);
	b32(&x, 3000000); /* 3 s before the export */
	set_close(&x, 0);
	set_open(&x, 1102);
	b32(&x, 1);
	b64(&x, 1690000000000);
	set_close(&x, 0);
	set_open(&x, 1101);
	b32(&x, 1000);
	b32(&x, 2000);
	b32(&x, 0);
	set_close(&x, 0);
	ipfix_end(&x);
	decode(c, &x);
	T_EQ(nerrs(), 0);
	T_EQ(D.nr, 4);
	T_EQ(D.r[0].bytes, 123456);
	T_EQ(D.r[0].packets, 789);
	T_EQ(D.r[0].first_ms, 1699999999123);
	T_EQ(D.r[0].last_ms, 1699999999500);
	T_EQ(D.r[0].tcp_flags, 0x0112);
	/* No init time yet: the uptimes cannot be placed. */
	T_OK(!(D.r[1].have & NETFLOW_HAVE_FIRST));
	T_EQ(D.r[1].last_ms, 1700000000000 - 3000);
	/* After the options data: init + uptime. */
	T_OK(D.r[2].options);
	T_OK(D.r[2].opt.has_init_ms);
	T_EQ(D.r[3].first_ms, 1690000000000 + 1000);
	T_EQ(D.r[3].last_ms, 1700000000000);
	netflow_cache_free(c);
}

/* The other ways options data gives a rate. */
static void
sampling_fields(void)
{
	struct netflow_cache *c = cache();
	struct nb x;
	double p1 = 0.001, p2 = 1e-300;
	uint64_t b1, b2;

	memcpy(&b1, &p1, 8);
	memcpy(&b2, &p2, 8);
	seed_begin("sampling-fields");
	ipfix_hdr(&x, 1700000000, 1);
	set_open(&x, 3);
	b16(&x, 1400);
	b16(&x, 3);
	b16(&x, 1);
	tf(&x, 302, 4); /* selectorId */
	tf(&x, 309, 4); /* samplingSize */
	tf(&x, 310, 4); /* samplingPopulation */
	b16(&x, 1401);
	b16(&x, 2);
	b16(&x, 1);
	tf(&x, 302, 4);
	tf(&x, 311, 8); /* samplingProbability */
	set_close(&x, 0);
	set_open(&x, 1400);
	b32(&x, 1);
	b32(&x, 3);
	b32(&x, 3000);
	set_close(&x, 0);
	set_open(&x, 1401);
	b32(&x, 2);
	b64(&x, b1);
	b32(&x, 3);
	b64(&x, b2);
	set_close(&x, 0);
	ipfix_end(&x);
	decode(c, &x);
	T_EQ(nerrs(), 0);
	T_EQ(D.nr, 3);
	T_EQ(D.r[0].opt.scope, NETFLOW_OPT_SAMPLER);
	T_EQ(D.r[0].opt.rate, 1000);
	T_EQ(D.r[1].opt.key, 2);
	T_EQ(D.r[1].opt.rate, 1000);
	T_EQ(D.r[2].opt.rate, UINT32_MAX);
	netflow_cache_free(c);
}

/* v9 options scopes: an interface, a template; a full sampler table. */
static void
v9_option_scopes(void)
{
	struct netflow_cache *c = cache();
	struct nb x;

	seed_begin("v9-scopes");
	v9_hdr(&x, 4, 60000, 1700000000, 3);
	set_open(&x, 1);
	b16(&x, 270);
	b16(&x, 4);
	b16(&x, 4);
	tf(&x, 2, 4);  /* scope: interface */
	tf(&x, 34, 4); /* SAMPLING_INTERVAL */
	b16(&x, 271);
	b16(&x, 4);
	b16(&x, 4);
	tf(&x, 5, 2); /* scope: template */
	tf(&x, 34, 4);
	set_close(&x, 0);
	set_open(&x, 270);
	b32(&x, 12);
	b32(&x, 0); /* no rate: nothing learnt */
	set_close(&x, 0);
	set_open(&x, 271);
	b16(&x, 280);
	b32(&x, 512);
	set_close(&x, 2);
	set_open(&x, 0);
	b16(&x, 280);
	b16(&x, 3);
	tf(&x, 8, 4);
	tf(&x, 192, 1); /* IP_TTL... as IPFIX's ipTTL */
	tf(&x, 2, 4);
	set_close(&x, 0);
	set_open(&x, 280);
	b32(&x, IP4(10, 0, 0, 1));
	b8(&x, 61);
	b32(&x, 2);
	set_close(&x, 3);
	decode(c, &x);
	T_EQ(nerrs(), 0);
	T_EQ(D.nr, 3);
	T_OK(D.r[0].options);
	T_EQ(D.r[0].in_if, 12);
	T_EQ(D.r[0].opt.scope, NETFLOW_OPT_NONE);
	T_EQ(D.r[1].opt.scope, NETFLOW_OPT_TEMPLATE);
	T_EQ(D.r[1].opt.key, 280);
	T_EQ(D.r[2].sampling_rate, 512);
	T_EQ(D.r[2].sampling_src, NETFLOW_SAMPLING_TEMPLATE);
	T_EQ(D.r[2].ttl, 61);
	T_STREQ(key(&D.fr[2], "ipttl"), "61");
	T_STREQ(key(&D.fr[2], "stack"), "ip");

	/* More samplers than a domain keeps: the oldest make room. */
	v9_hdr(&x, 2, 60000, 1700000000, 3);
	set_open(&x, 1);
	b16(&x, 272);
	b16(&x, 4);
	b16(&x, 8);
	tf(&x, 1, 0);
	tf(&x, 48, 2);
	tf(&x, 50, 4);
	set_close(&x, 2);
	set_open(&x, 272);
	for (int i = 1; i <= 40; i++) {
		b16(&x, (uint16_t)i);
		b32(&x, (uint32_t)(100 + i));
	}
	set_close(&x, 0);
	decode(c, &x);
	T_EQ(D.nr, 40);
	T_EQ(netflow_cache_stats(c)->samplers_refused, 9); /* 1 + 40 - 32 */
	netflow_cache_free(c);
}

/* A frame section with VXLAN: the engine gets both layers. */
static void
frame_vxlan(void)
{
	static const uint8_t frame[] = {
		2,
		0,
		0,
		0,
		0,
		1,
		2,
		0,
		0,
		0,
		0,
		2,
		0x08,
		0x00, /* eth */
		0x45,
		0,
		0,
		78,
		0,
		0,
		0,
		0,
		64,
		17,
		0,
		0,
		10,
		0,
		0,
		1,
		10,
		0,
		0,
		2, /* IPv4 UDP */
		0x30,
		0x39,
		0x12,
		0xb5,
		0,
		58,
		0,
		0, /* -> 4789 */
		0x08,
		0,
		0,
		0,
		0,
		0,
		42,
		0, /* VXLAN, VNI 42 */
		2,
		0,
		0,
		0,
		0,
		3,
		2,
		0,
		0,
		0,
		0,
		4,
		0x08,
		0x00, /* inner eth */
		0x45,
		0,
		0,
		20,
		0,
		0,
		0,
		0,
		64,
		1,
		0,
		0,
		192,
		168,
		0,
		1,
		192,
		168,
		0,
		2, /* inner IPv4, ICMP */
		8,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
	};
	struct netflow_cache *c = cache();
	struct nb x;

	seed_begin("frame-vxlan");
	ipfix_hdr(&x, 1700000000, 1);
	set_open(&x, 2);
	b16(&x, 384);
	b16(&x, 1);
	tf(&x, 315, NETFLOW_VARLEN);
	set_close(&x, 0);
	set_open(&x, 384);
	b8(&x, sizeof(frame));
	braw(&x, frame, sizeof(frame));
	set_close(&x, 0);
	ipfix_end(&x);
	decode(c, &x);
	T_EQ(nerrs(), 0);
	T_EQ(D.nr, 1);
	T_EQ(D.fr[0].n_layers, 2);
	T_EQ(D.fr[0].vxlan_vni, 42);
	T_STREQ(D.fr[0].stack, "eth.ip.udp.vxlan.eth.ip.icmp");
	T_STREQ(key(&D.fr[0], "ipsource.1"), "192.168.0.1");
	T_STREQ(key(&D.fr[0], "icmptype.1"), "8");
	T_EQ(D.r[0].bytes, 14 + 78); /* no frame size: the IP length */
	netflow_cache_free(c);
}

/* Templates with both address families; the ipVersion field decides. */
static void
address_families(void)
{
	struct netflow_cache *c = cache();
	struct nb x;
	uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 9 };
	uint8_t z6[16] = { 0 };

	seed_begin("families");
	ipfix_hdr(&x, 1700000000, 1);
	set_open(&x, 2);
	b16(&x, 1200);
	b16(&x, 4);
	tf(&x, 8, 4);
	tf(&x, 12, 4);
	tf(&x, 27, 16);
	tf(&x, 28, 16);
	b16(&x, 1201);
	b16(&x, 5);
	tf(&x, 60, 1);
	tf(&x, 8, 4);
	tf(&x, 12, 4);
	tf(&x, 27, 16);
	tf(&x, 28, 16);
	set_close(&x, 0);
	set_open(&x, 1200);
	b32(&x, IP4(10, 0, 0, 1)); /* v4, v6 zero */
	b32(&x, IP4(10, 0, 0, 2));
	braw(&x, z6, 16);
	braw(&x, z6, 16);
	b32(&x, 0); /* v4 zero, v6 set */
	b32(&x, 0);
	braw(&x, v6, 16);
	braw(&x, v6, 16);
	set_close(&x, 0);
	set_open(&x, 1201);
	b8(&x, 6); /* ipVersion 6, though both are set */
	b32(&x, IP4(10, 0, 0, 1));
	b32(&x, IP4(10, 0, 0, 2));
	braw(&x, v6, 16);
	braw(&x, v6, 16);
	set_close(&x, 0);
	ipfix_end(&x);
	decode(c, &x);
	T_EQ(nerrs(), 0);
	T_EQ(D.nr, 3);
	T_EQ(D.r[0].ip_version, 4);
	T_OK(addr_is(&D.r[0].src, 4, "10.0.0.1"));
	T_EQ(D.r[1].ip_version, 6);
	T_OK(addr_is(&D.r[1].src, 6, "2001:db8::9"));
	T_EQ(D.r[2].ip_version, 6);
	T_STREQ(key(&D.fr[2], "ip6source"), "2001:db8::9");
	netflow_cache_free(c);
}

/* ---- the engine's record
 * --------------------------------------------------------- */

static void
flowrec_mapping(void)
{
	struct netflow_cache *c = cache();
	struct nb x;
	const struct flow_rec *fr;

	seed_begin("flowrec");
	v9_hdr(&x, 2, 60000, 1700000000, 0);
	set_open(&x, 0);
	b16(&x, 1300);
	b16(&x, 17);
	tf(&x, 8, 4);
	tf(&x, 12, 4);
	tf(&x, 7, 2);
	tf(&x, 11, 2);
	tf(&x, 4, 1);
	tf(&x, 5, 1);
	tf(&x, 6, 1);
	tf(&x, 10, 4);
	tf(&x, 14, 4);
	tf(&x, 61, 1);
	tf(&x, 58, 2); /* SRC_VLAN */
	tf(&x, 59, 2); /* DST_VLAN */
	tf(&x, 56, 6); /* IN_SRC_MAC */
	tf(&x, 80, 6); /* IN_DST_MAC */
	tf(&x, 2, 4);
	tf(&x, 1, 4);
	tf(&x, 89, 1); /* FORWARDING_STATUS */
	set_close(&x, 0);
	set_open(&x, 1300);
	/* 10 packets, 15001 bytes, egress, forwarded */
	b32(&x, IP4(10, 0, 1, 5));
	b32(&x, IP4(10, 0, 2, 7));
	b16(&x, 40000);
	b16(&x, 443);
	b8(&x, 6);
	b8(&x, 0x28);
	b8(&x, 0x12);
	b32(&x, 3);
	b32(&x, 4);
	b8(&x, 1);
	b16(&x, 100);
	b16(&x, 200);
	braw(&x, "\x02\x00\x00\x00\x00\x01", 6);
	braw(&x, "\x02\x00\x00\x00\x00\x02", 6);
	b32(&x, 10);
	b32(&x, 15001);
	b8(&x, 0x40);
	/* dropped by an ACL (status 2, reason 2), ingress */
	b32(&x, IP4(10, 0, 1, 6));
	b32(&x, IP4(10, 0, 2, 8));
	b16(&x, 1);
	b16(&x, 2);
	b8(&x, 17);
	b8(&x, 0);
	b8(&x, 0);
	b32(&x, 3);
	b32(&x, 0);
	b8(&x, 0);
	b16(&x, 100);
	b16(&x, 100);
	braw(&x, "\x02\x00\x00\x00\x00\x01", 6);
	braw(&x, "\x02\x00\x00\x00\x00\x02", 6);
	b32(&x, 0); /* no packets: counts as one */
	b32(&x, 64);
	b8(&x, 0x82);
	set_close(&x, 0);
	decode(c, &x);
	T_EQ(nerrs(), 0);
	T_EQ(D.nr, 2);
	fr = &D.fr[0];
	T_EQ(D.fr_rc[0], 0);
	T_OK(fr->agent.family == 4 && fr->agent.a[3] == 10);
	T_EQ(fr->sample_tag, SFLOW_SAMPLE_FLOW);
	T_EQ(fr->sampling_rate, 10);
	T_EQ(fr->frame_length, 1500); /* 15001 / 10, rounded */
	T_EQ(fr->source_index, 4);    /* egress: the output port */
	T_OK(!fr->has_header);
	T_STREQ(fr->stack, "eth.ip.tcp");
	T_STREQ(key(fr, "agent"), "192.0.2.10");
	T_STREQ(key(fr, "ipsource"), "10.0.1.5");
	T_STREQ(key(fr, "ipdestination"), "10.0.2.7");
	T_STREQ(key(fr, "ipprotocol"), "6");
	T_STREQ(key(fr, "iptos"), "40");
	T_STREQ(key(fr, "ipdscp"), "10");
	T_STREQ(key(fr, "tcpsourceport"), "40000");
	T_STREQ(key(fr, "tcpdestinationport"), "443");
	T_STREQ(key(fr, "tcpflags"), "000010010");
	T_STREQ(key(fr, "udpsourceport"), "null");
	T_STREQ(key(fr, "inputifindex"), "3");
	T_STREQ(key(fr, "outputifindex"), "4");
	T_STREQ(key(fr, "direction"), "egress");
	T_STREQ(key(fr, "vlan"), "100");
	T_STREQ(key(fr, "vlandestination"), "200");
	T_STREQ(key(fr, "macsource"), "020000000001");
	T_STREQ(key(fr, "macdestination"), "020000000002");
	T_STREQ(key(fr, "ethernetprotocol"), "2048");
	T_STREQ(key(fr, "ipttl"), "null");
	T_STREQ(key(fr, "discardreason"), "none");

	fr = &D.fr[1];
	T_EQ(fr->sampling_rate, 1);
	T_EQ(fr->frame_length, 64);
	T_EQ(fr->source_index, 3);
	T_STREQ(key(fr, "direction"), "ingress");
	T_STREQ(key(fr, "udpdestinationport"), "2");
	T_EQ(fr->output.format, SFLOW_IF_DISCARD);
	T_EQ(fr->discard_ifindex, 0); /* heading nowhere known */
	T_STREQ(key(fr, "discardreason"), "acl");
	T_STREQ(key(fr, "outputifindex"), "discard");

	/* The sampling rate times the packets, saturating. */
	{
		struct netflow_rec r;
		struct flow_rec f;

		memset(&r, 0, sizeof(r));
		r.packets = 3000000;
		r.bytes = 3000000ull * 1500;
		r.sampling_rate = 10000;
		T_EQ(netflow_to_flowrec(&f, &r, &D.h), 0);
		T_EQ(f.sampling_rate, UINT32_MAX);
		T_EQ(f.frame_length, 1500);
		T_EQ(f.n_layers, 0);
		T_STREQ(key(&f, "ipsource"), "null");
		r.options = true;
		T_EQ(netflow_to_flowrec(&f, &r, &D.h), -1);
	}
	netflow_cache_free(c);
}

/* ---- JSON
 * ---------------------------------------------------------------------- */

static json_t *
json_of(struct netflow_cache *c, const struct nb *x)
{
	struct netflow_json_meta m = { &EXP4, 1700000000, 3 };
	uint8_t *buf = xmalloc(x->n ? x->n : 1);
	json_error_t err;
	json_t *j;
	char *s;
	size_t len;

	memcpy(buf, x->b, x->n);
	s = netflow_json_datagram(c, buf, x->n, &m);
	len = strlen(s);
	T_OK(len > 2 && s[len - 1] == '\n');
	T_OK(memchr(s, '\n', len - 1) == NULL);
	j = json_loadb(s, len, JSON_REJECT_DUPLICATES, &err);
	if (j == NULL)
		T_FAIL("bad JSON: %s: %s", err.text, s);
	free(s);
	free(buf);
	return j;
}

static const char *
jstr(json_t *o, const char *path)
{
	/* "sets.1.records.0.srcIP" */
	char buf[256], *save = NULL, *tok;
	json_t *cur = o;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok != NULL && cur != NULL;
	     tok = strtok_r(NULL, ".", &save)) {
		if (json_is_array(cur))
			cur = json_array_get(cur, (size_t)atoi(tok));
		else
			cur = json_object_get(cur, tok);
	}
	return cur != NULL && json_is_string(cur) ? json_string_value(cur)
	                                          : "(none)";
}

static void
json_output(void)
{
	struct netflow_cache *c = cache();
	struct nb x;
	json_t *j;

	v9_hdr(&x, 3, 60000, 1700000000, 42);
	v9_template_260(&x);
	set_open(&x, 260);
	v9_rec_260(&x, IP4(10, 1, 1, 1), 53, 4, 400, 1, 0);
	set_close(&x, 0);
	set_open(&x, 261);
	b32(&x, 0);
	set_close(&x, 0);
	j = json_of(c, &x);
	T_STREQ(jstr(j, "datagramSourceIP"), "192.0.2.10");
	T_STREQ(jstr(j, "datagramVersion"), "9");
	T_STREQ(jstr(j, "pcapFrame"), "3");
	T_STREQ(jstr(j, "sourceId"), "42");
	T_STREQ(jstr(j, "sets.0.setType"), "TEMPLATE");
	T_STREQ(jstr(j, "sets.0.templates.0.templateId"), "260");
	T_STREQ(jstr(j, "sets.0.templates.0.templateStatus"), "new");
	T_STREQ(jstr(j, "sets.0.templates.0.fields.12.type"), "48");
	T_STREQ(jstr(j, "sets.1.setType"), "DATA");
	T_STREQ(jstr(j, "sets.1.records.0.srcIP"), "10.1.1.1");
	T_STREQ(jstr(j, "sets.1.records.0.dstPort"), "53");
	T_STREQ(jstr(j, "sets.1.records.0.direction"), "egress");
	T_STREQ(jstr(j, "sets.1.records.0.bytes"), "400");
	T_STREQ(jstr(j, "sets.1.records.0.firstSwitched"), "1699999990000");
	T_STREQ(jstr(j, "sets.2.decodeError"), "no_template");
	T_STREQ(jstr(j, "decodeError"), "no_template");
	json_decref(j);

	/* Whatever the input, valid JSON with decodeError. */
	ipfix_hdr(&x, 1700000000, 1);
	put16(&x, 2, 9);
	j = json_of(c, &x);
	T_STREQ(jstr(j, "decodeError"), "bad_length");
	T_OK(json_is_array(json_object_get(j, "sets")));
	json_decref(j);
	x.n = 1;
	j = json_of(c, &x);
	T_STREQ(jstr(j, "decodeError"), "truncated");
	json_decref(j);

	/* v5 */
	v5_hdr(&x, 1, 100000, 1700000000, 0, 0);
	v5_rec(&x, IP4(10, 0, 1, 5), IP4(10, 0, 2, 7), 3, 4, 10, 15000, 90000,
	    99000, 40000, 443, 0x18, 6, 0x20);
	j = json_of(c, &x);
	T_STREQ(jstr(j, "sets.0.setType"), "V5");
	T_STREQ(jstr(j, "sets.0.records.0.TCPFlags"), "24");
	T_STREQ(jstr(j, "sets.0.records.0.samplingRate"), "1");
	T_STREQ(jstr(j, "engineId"), "2");
	T_OK(json_object_get(j, "decodeError") == NULL);
	json_decref(j);
	netflow_cache_free(c);
}

static void
sniffing(void)
{
	struct nb x;
	static const uint8_t sflow[] = { 0, 0, 0, 5, 0, 0, 0, 1 };

	v5_hdr(&x, 1, 0, 0, 0, 0);
	v5_rec(&x, 1, 2, 3, 4, 1, 1, 0, 0, 1, 2, 0, 6, 0);
	T_OK(netflow_sniff(x.b, x.n));
	T_OK(!netflow_sniff(x.b, x.n - 1));
	v9_hdr(&x, 1, 0, 0, 0);
	v9_template_260(&x);
	T_OK(netflow_sniff(x.b, x.n));
	x.b[21] = 7; /* set ID 7: reserved */
	T_OK(!netflow_sniff(x.b, x.n));
	ipfix_hdr(&x, 0, 0);
	ipfix_template_a(&x, 300);
	ipfix_end(&x);
	T_OK(netflow_sniff(x.b, x.n));
	T_OK(!netflow_sniff(x.b, x.n + 1));
	T_OK(!netflow_sniff(sflow, sizeof(sflow)));
	T_OK(!netflow_sniff(sflow, 0));
	T_STREQ(netflow_err_name(NETFLOW_ERR_NO_TEMPLATE), "no_template");
	T_STREQ(netflow_err_name(NETFLOW_ERR__MAX), "unknown");
	T_STREQ(netflow_tmpl_op_name(NETFLOW_TMPL_REPLACED), "replaced");
	T_STREQ(netflow_sampling_src_name(NETFLOW_SAMPLING_SAMPLER), "sampler");
}

int
main(void)
{
	t_suite = "netflow";
	T_RUN(v5_records);
	T_RUN(v5_bad);
	T_RUN(v9_template_and_data);
	T_RUN(v9_options_sampling);
	T_RUN(ipfix_template_scope_sampling);
	T_RUN(ipfix_varlen_enterprise);
	T_RUN(ipfix_frame_section);
	T_RUN(no_template_retry);
	T_RUN(data_before_template_same_message);
	T_RUN(template_replaced);
	T_RUN(template_withdrawal);
	T_RUN(bad_templates);
	T_RUN(template_check);
	T_RUN(length_errors);
	T_RUN(cache_limits);
	T_RUN(cache_persist_expire);
	T_RUN(ipfix_times_and_sizes);
	T_RUN(sampling_fields);
	T_RUN(v9_option_scopes);
	T_RUN(frame_vxlan);
	T_RUN(address_families);
	T_RUN(flowrec_mapping);
	T_RUN(json_output);
	T_RUN(sniffing);
	return t_done();
}
