/*
 * test_engine.c: the flow engine's sample cache against the engine
 * without it. Two engines take the same datagrams (bench/gen.c's: flows
 * that repeat, then churn, with counter samples among them), the same
 * definition changes and the same clock jumps (so that entries expire
 * and others move into their places, and cached positions go stale);
 * at each step their tables must be the same, entry for entry, bit for
 * bit, with the same counters. The cache must have been used: found
 * samples and stale positions are counted.
 */
#include <stdlib.h>
#include <string.h>

#include "t.h"

#include "agents.h"
#include "engine.h"
#include "flowdef.h"
#include "flowtab.h"
#include "gen.h"
#include "util.h"

static uint64_t mono = 1000000;

struct side {
	struct engine *e;
	struct agents *ag;
};

static void
to_engine(void *arg, const struct sflow_datagram *dg, struct sflow_sample *s)
{
	engine_sample(arg, dg, s, mono);
}

static void
put(struct side *sd, int n, const char *name, const char *json)
{
	char err[256];

	for (int i = 0; i < n; i++) {
		struct flowdef fd;

		T_OK(flowdef_parse(
		         name, json, strlen(json), &fd, err, sizeof(err)) == 0);
		T_OK(engine_put(sd[i].e, &fd, err, sizeof(err)) >= 0);
	}
}

/* datagrams from g into both engines, a tick every 64 */
static void
feed(struct side *sd, struct gen *g, int n, uint64_t step_ms)
{
	struct sflow_addr src = { .family = 4, .a = { 127, 0, 0, 1 } };
	uint8_t b[GEN_MAX_DATAGRAM];

	for (int i = 0; i < n; i++) {
		size_t len = gen_datagram(g, b, sizeof(b), NULL);

		if (i % 64 == 0) {
			mono += step_ms;
			engine_tick(sd[0].e, mono);
			engine_tick(sd[1].e, mono);
		}
		for (int k = 0; k < 2; k++)
			agents_process(sd[k].ag, &src, b, len, 0, mono, mono,
			    to_engine, sd[k].e);
	}
}

struct hits {
	struct flowtab_hit *h;
	char **keys;
	size_t n, cap;
};

static void
collect(void *arg, const struct flowtab_hit *h)
{
	struct hits *hs = arg;

	if (hs->n == hs->cap) {
		hs->cap = hs->cap ? 2 * hs->cap : 1024;
		hs->h = realloc(hs->h, hs->cap * sizeof(*hs->h));
		hs->keys = realloc(hs->keys, hs->cap * sizeof(*hs->keys));
	}
	hs->h[hs->n] = *h;
	hs->keys[hs->n] = malloc(h->keylen + 1);
	memcpy(hs->keys[hs->n], h->key, h->keylen);
	hs->n++;
}

static void
hits_free(struct hits *hs)
{
	for (size_t i = 0; i < hs->n; i++)
		free(hs->keys[i]);
	free(hs->h);
	free(hs->keys);
}

/* Both engines' tables, the same? Returns the entries compared. */
static size_t
same(struct side *sd)
{
	struct engine_snap *a = engine_snapshot(sd[0].e, mono),
	                   *b = engine_snapshot(sd[1].e, mono);
	size_t entries = 0;

	T_EQ(a->n, b->n);
	T_EQ(a->samples, b->samples);
	for (size_t f = 0; f < a->n && f < b->n; f++) {
		const struct engine_flow *fa = &a->flows[f], *fb = &b->flows[f];
		struct hits ha = { 0 }, hb = { 0 };

		T_STREQ(fa->def.name, fb->def.name);
		T_EQ(fa->matched, fb->matched);
		T_EQ(fa->keyless, fb->keyless);
		T_EQ(fa->stats.entries, fb->stats.entries);
		T_EQ(fa->stats.inserts, fb->stats.inserts);
		T_EQ(fa->stats.updates, fb->stats.updates);
		T_EQ(fa->stats.expired, fb->stats.expired);
		T_EQ(fa->stats.evictions, fb->stats.evictions);
		flowtab_snapshot_foreach(fa->tab, mono, collect, &ha);
		flowtab_snapshot_foreach(fb->tab, mono, collect, &hb);
		T_EQ(ha.n, hb.n);
		for (size_t i = 0; i < ha.n && i < hb.n; i++) {
			const struct flowtab_hit *x = &ha.h[i], *y = &hb.h[i];

			if (x->keylen != y->keylen ||
			    memcmp(ha.keys[i], hb.keys[i], x->keylen) != 0 ||
			    memcmp(&x->value, &y->value, sizeof(x->value)) !=
			        0 ||
			    x->ds != y->ds || x->first_ms != y->first_ms ||
			    x->last_ms != y->last_ms ||
			    memcmp(&x->agent, &y->agent, sizeof(x->agent)) !=
			        0) {
				T_FAIL("%s: entry %zu differs (values %.17g, "
				       "%.17g)",
				    fa->def.name, i, x->value, y->value);
				break;
			}
		}
		entries += ha.n;
		hits_free(&ha);
		hits_free(&hb);
	}
	snap_put(&a->base);
	snap_put(&b->base);
	return entries;
}

static void
cache_agrees(void)
{
	struct gen_conf rep = GEN_CONF_DEFAULT, churn = GEN_CONF_DEFAULT;
	struct gen g1, g2;
	struct side sd[2];
	struct engine_cache_stats cs, off;
	char err[256];

	rep.flows = 3000; /* repeating: the cache finds most samples */
	churn.churn = 1;  /* the same flows on any agent and port */
	churn.flows = 3000;
	churn.seed = 7;
	T_OK(gen_init(&g1, &rep, err, sizeof(err)) == 0);
	T_OK(gen_init(&g2, &churn, err, sizeof(err)) == 0);
	for (int k = 0; k < 2; k++) {
		sd[k].e = engine_new(NULL);
		sd[k].ag = agents_new(1000);
	}
	engine_set_cache(sd[1].e, false);
	put(sd, 2, "pairs", "{\"keys\":\"ipsource,ipdestination\",\"t\":2}");
	put(sd, 2, "tcp5",
	    "{\"keys\":\"ipsource,ipdestination,tcpsourceport,"
	    "tcpdestinationport\",\"filter\":\"ipprotocol=6\"}");
	put(sd, 2, "dst", "{\"keys\":\"ipdestination\",\"value\":\"frames\"}");
	put(sd, 2, "ports", "{\"keys\":\"agent,inputifindex,outputifindex\"}");
	put(sd, 2, "dns",
	    "{\"keys\":\"ipsource\",\"filter\":\"udpdestinationport=53\"}");
	put(sd, 2, "stack", "{\"keys\":\"stack,macsource\"}");

	feed(sd, &g1, 4000, 10);
	T_OK(same(sd) > 1000);
	/* churn among the repeating flows: new entries, and a clock that
	 * runs fast enough for old ones to expire (pairs' t is 2 s) */
	for (int r = 0; r < 4; r++) {
		feed(sd, &g2, 500, 200);
		feed(sd, &g1, 1500, 40);
		same(sd);
	}
	/* a definition changes and one goes: the cache starts again */
	put(sd, 2, "dst", "{\"keys\":\"ipdestination,ipprotocol\"}");
	for (int k = 0; k < 2; k++)
		T_OK(engine_delete(sd[k].e, "ports") == 0);
	feed(sd, &g1, 3000, 30);
	same(sd);
	/* a long gap: most entries expire, the cache names them still */
	mono += 60000;
	feed(sd, &g1, 3000, 10);
	T_OK(same(sd) > 1000);

	engine_cache_stats(sd[0].e, &cs);
	engine_cache_stats(sd[1].e, &off);
	printf("# cache: %llu found, %llu not, %llu stale\n",
	    (unsigned long long)cs.hits, (unsigned long long)cs.misses,
	    (unsigned long long)cs.stale);
	T_OK(cs.hits > cs.misses); /* it was used */
	T_OK(cs.stale > 0);        /* and positions went stale */
	T_EQ(off.hits + off.misses, 0);
	T_EQ(off.entries, 0);
	for (int k = 0; k < 2; k++) {
		engine_free(sd[k].e);
		agents_free(sd[k].ag);
	}
	gen_free(&g1);
	gen_free(&g2);
}

int
main(void)
{
	t_suite = "engine";
	T_RUN(cache_agrees);
	return t_done();
}
