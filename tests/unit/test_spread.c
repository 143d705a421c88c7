/*
 * test_spread.c: spreading NetFlow records over their duration (spread.h)
 * and templates to/from JSON (nftmpl.h).
 */
#include <stdlib.h>

#include "nftmpl.h"
#include "spread.h"
#include "t.h"

struct got {
	uint64_t packets; /* sum of the slices' sampling rates / rate */
	uint64_t bytes;
	unsigned n;
	uint64_t at[400];
	uint32_t rates[400];
};

static void
emit(void *arg, const struct flow_rec *r, uint64_t now)
{
	struct got *g = arg;

	if (g->n < 400) {
		g->at[g->n] = now;
		g->rates[g->n] = r->sampling_rate;
	}
	g->n++;
	g->packets += r->sampling_rate;
	g->bytes += (uint64_t)r->sampling_rate * r->frame_length;
}

static struct flow_rec
rec(uint32_t frame_length)
{
	struct flow_rec r;

	memset(&r, 0, sizeof(r));
	r.frame_length = frame_length;
	r.agent.family = 4;
	return r;
}

/* A 10 s record: 10 slices, 1 s apart, even, adding up exactly. */
static void
ten_seconds(void)
{
	struct spread *sp = spread_new(0);
	struct flow_rec r = rec(500);
	struct got g = { 0 };
	struct spread_stats st;

	spread_add(sp, &r, 1003, 1, 10000, 5000, emit, &g);
	T_EQ(g.n, 1);
	for (uint64_t t = 5000; t <= 20000; t += 100)
		spread_due(sp, t, emit, &g);
	T_EQ(g.n, 10);
	T_EQ(g.packets, 1003);
	T_EQ(g.bytes, 1003 * 500);
	for (unsigned i = 0; i < 10 && i < g.n; i++) {
		T_EQ(g.at[i], 5000 + 1000 * i);
		/* 100 or 101: the remainder goes first */
		T_OK(g.rates[i] == (i < 3 ? 101 : 100));
	}
	spread_get_stats(sp, &st);
	T_EQ(st.records, 1);
	T_EQ(st.spread, 1);
	T_EQ(st.slices, 10);
	T_EQ(st.active, 0);
	spread_free(sp);
}

/* The sampling rate multiplies each slice's packets. */
static void
sampled(void)
{
	struct spread *sp = spread_new(0);
	struct flow_rec r = rec(100);
	struct got g = { 0 };

	spread_add(sp, &r, 30, 512, 3000, 0, emit, &g);
	spread_due(sp, 1000, emit, &g);
	spread_due(sp, 2000, emit, &g);
	spread_due(sp, 3000, emit, &g);
	T_EQ(g.n, 3);
	T_EQ(g.packets, 30 * 512);
	T_EQ(g.rates[0], 10 * 512);
	spread_free(sp);
}

/* Short records, single packets and zero durations go at once. */
static void
at_once(void)
{
	struct spread *sp = spread_new(0);
	struct flow_rec r = rec(100);
	struct got g = { 0 };
	struct spread_stats st;

	spread_add(sp, &r, 50, 1, 1400, 0, emit, &g);
	spread_add(sp, &r, 1, 1, 60000, 0, emit, &g);
	spread_add(sp, &r, 7, 1, 0, 0, emit, &g);
	T_EQ(g.n, 3);
	T_EQ(g.packets, 58);
	spread_get_stats(sp, &st);
	T_EQ(st.active, 0);
	T_EQ(st.spread, 0);
	spread_free(sp);
}

/* Full: counted at once, never lost; a long one is capped in slices. */
static void
full_and_capped(void)
{
	struct spread *sp = spread_new(2);
	struct flow_rec r = rec(100);
	struct got g = { 0 };
	struct spread_stats st;

	spread_add(sp, &r, 100, 1, 5000, 0, emit, &g);
	spread_add(sp, &r, 100, 1, 5000, 0, emit, &g);
	spread_add(sp, &r, 100, 1, 5000, 0, emit, &g); /* full */
	spread_get_stats(sp, &st);
	T_EQ(st.full, 1);
	T_EQ(st.active, 2);
	T_EQ(g.packets, 20 + 20 + 100);
	spread_drain(sp, 100, emit, &g);
	T_EQ(g.packets, 300);
	spread_free(sp);

	sp = spread_new(0);
	memset(&g, 0, sizeof(g));
	spread_add(sp, &r, 100000, 1, 86400000, 0, emit, &g);
	for (uint64_t t = 0; t <= 400000; t += 1000)
		spread_due(sp, t, emit, &g);
	T_EQ(g.n, SPREAD_MAX_SLICES);
	T_EQ(g.packets, 100000);
	spread_free(sp);
}

/* A late tick catches up one slice per call, and loses nothing. */
static void
late(void)
{
	struct spread *sp = spread_new(0);
	struct flow_rec r = rec(1);
	struct got g = { 0 };

	spread_add(sp, &r, 60, 1, 6000, 0, emit, &g);
	spread_due(sp, 10000, emit, &g);
	T_EQ(g.n, 2);
	for (int i = 0; i < 10; i++)
		spread_due(sp, 10000, emit, &g);
	T_EQ(g.n, 6);
	T_EQ(g.packets, 60);
	spread_free(sp);
}

static void
template_json(void)
{
	struct netflow_tkey k = { 0 }, k2;
	struct netflow_template t, t2;
	char err[128], name[NFTMPL_NAME_MAX], *js;
	static const char *bad[] = {
		"", "[]", "{}", "nul",
		"{\"exporter\":\"x\",\"domain\":0,\"version\":9,\"id\":256,"
		"\"options\":false,\"scope\":0,\"fields\":[[8,4,0]]}",
		"{\"exporter\":\"10.0.0.1\",\"domain\":0,\"version\":9,"
		"\"id\":255,\"options\":false,\"scope\":0,\"fields\":[[8,4,0]]}",
		"{\"exporter\":\"10.0.0.1\",\"domain\":0,\"version\":9,"
		"\"id\":256,\"options\":false,\"scope\":0,\"fields\":[]}",
		"{\"exporter\":\"10.0.0.1\",\"domain\":0,\"version\":9,"
		"\"id\":256,\"options\":false,\"scope\":0,"
		"\"fields\":[[8,70000,0]]}",
		"{\"exporter\":\"10.0.0.1\",\"domain\":0,\"version\":9,"
		"\"id\":256,\"options\":true,\"scope\":0,\"fields\":[[8,4,0]]}",
		"{\"exporter\":\"10.0.0.1\",\"domain\":-1,\"version\":9,"
		"\"id\":256,\"options\":false,\"scope\":0,\"fields\":[[8,4,0]]}",
	};

	memset(&t, 0, sizeof(t));
	k.exporter.family = 6;
	k.exporter.a[0] = 0x20;
	k.exporter.a[1] = 0x01;
	k.exporter.a[15] = 7;
	k.domain = 4000000000u;
	k.version = 10;
	k.id = 300;
	t.id = 300;
	t.options = true;
	t.n_scope = 1;
	t.n_fields = 3;
	t.f[0] = (struct netflow_field){ 149, 4, 0 };
	t.f[1] = (struct netflow_field){ 34, 4, 0 };
	t.f[2] = (struct netflow_field){ 7, NETFLOW_VARLEN, 29305 };
	T_EQ(netflow_template_check(&t), NETFLOW_OK);
	js = nftmpl_to_json(&k, &t);
	T_OK(nftmpl_from_json(js, strlen(js), &k2, &t2, err, sizeof(err)) ==
	    0);
	T_EQ(k2.exporter.family, 6);
	T_OK(memcmp(k2.exporter.a, k.exporter.a, 16) == 0);
	T_EQ(k2.domain, k.domain);
	T_EQ(k2.version, 10);
	T_EQ(k2.id, 300);
	T_EQ(t2.n_fields, 3);
	T_EQ(t2.n_scope, 1);
	T_OK(t2.options);
	T_EQ(t2.f[2].len, NETFLOW_VARLEN);
	T_EQ(t2.f[2].pen, 29305);
	T_EQ(t2.min_len, t.min_len);
	T_OK(t2.varlen);
	nftmpl_name(name, sizeof(name), &k);
	T_STREQ(name, "10/2001::7/4000000000/300");
	free(js);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (nftmpl_from_json(bad[i], strlen(bad[i]), &k2, &t2, err,
		        sizeof(err)) != -1 ||
		    err[0] == '\0')
			T_FAIL("accepted or no reason: %s", bad[i]);
	}
}

int
main(void)
{
	t_suite = "spread";
	T_RUN(ten_seconds);
	T_RUN(sampled);
	T_RUN(at_once);
	T_RUN(full_and_capped);
	T_RUN(late);
	T_RUN(template_json);
	return t_done();
}
