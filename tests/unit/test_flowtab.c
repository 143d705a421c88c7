/*
 * test_flowtab.c: the flow table (daemon/flowtab.c).
 *
 * Smoothing is checked against values computed by hand from
 * value(now) = (1/t) SUM x_i exp(-(now - t_i)/t); the top-N queries
 * against a naive reference kept here (every sample in an array, every
 * value recomputed from scratch at each check) on random sample streams;
 * the bound, eviction and expiry on streams built to exercise them.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flowtab.h"
#include "t.h"
#include "util.h"

#define T_NEAR(a, b, rel)                                                      \
	do {                                                                   \
		double t_x_ = (a), t_y_ = (b);                                 \
		double t_m_ =                                                  \
		    fabs(t_x_) > fabs(t_y_) ? fabs(t_x_) : fabs(t_y_);         \
		if (!(fabs(t_x_ - t_y_) <= (rel)*t_m_ + 1e-300))               \
			T_FAIL("%s == %.17g, expected %s == %.17g (rel %g)",   \
			    #a, t_x_, #b, t_y_, (double)(rel));                \
	} while (0)

static struct flowtab_src
src4(uint8_t last, uint32_t ds, bool edge, bool core)
{
	struct flowtab_src s;

	memset(&s, 0, sizeof(s));
	s.agent.family = 4;
	s.agent.a[0] = 10;
	s.agent.a[3] = last;
	s.ds = ds;
	s.edge = edge;
	s.core = core;
	return s;
}

static bool
addr_same(const struct sflow_addr *x, const struct sflow_addr *y)
{
	return x->family == y->family && memcmp(x->a, y->a, 4) == 0;
}

static struct flowtab *
mk(double t, unsigned n, size_t max)
{
	struct flowtab_conf c = {
		.t = t, .n = n, .max_entries = max, .seed = 42
	};

	return flowtab_new(&c);
}

static double
value_of(const struct flowtab *ft, const char *key, const struct flowtab_src *s,
    uint64_t now)
{
	struct flowtab_info info;

	if (!flowtab_get(ft, key, strlen(key), s, now, &info))
		return -1;
	return info.value;
}

static uint64_t rs;

static uint64_t
rnd(void)
{
	rs ^= rs >> 12;
	rs ^= rs << 25;
	rs ^= rs >> 27;
	return rs * 0x2545f4914f6cdd1dull;
}

/* Uniform in [0, n). */
static uint32_t
rndn(uint32_t n)
{
	return (uint32_t)(((rnd() >> 32) * n) >> 32);
}

static double
rnd01(void)
{
	return (double)(rnd() >> 11) / 9007199254740992.0;
}

/* ---- smoothing -------------------------------------------------------- */

/*
 * Constant rate R, a sample every d: after N samples the value at the
 * last one is (x/t) (1 - e^(-Nd/t)) / (1 - e^(-d/t)), x = R d. Between
 * samples it decays, so it swings around R by +-d/2t (2.5% for 100 ms
 * and t = 2 s): its time average, which is the value half-way between two
 * samples to second order, is ref.
 */
static void
test_constant_rate(void)
{
	const double t = 2, R = 125000, d = 0.1, x = R * d;
	struct flowtab *ft = mk(t, 5, 100);
	struct flowtab_src s = src4(1, 3, true, false);
	uint64_t t0 = 1000000, now = t0;
	int N = 0;

	for (; now <= t0 + 5 * 2000; now += 100, N++)
		T_EQ(flowtab_add(ft, "f", 1, &s, x, now), N == 0 ? 1 : 0);
	now -= 100;
	T_NEAR(value_of(ft, "f", &s, now),
	    x / t * (1 - exp(-N * d / t)) / (1 - exp(-d / t)), 1e-12);
	/* within 1% of R from 5t on, half-way between samples */
	T_OK(fabs(value_of(ft, "f", &s, now + 50) / R - 1) < 0.01);
	/* and the ripple is the sampling's: +-d/2t (times the transient) */
	T_OK(value_of(ft, "f", &s, now) <
	    R * (1 + d / (2 * t)) * (1 - exp(-N * d / t)) * 1.001);
	T_OK(value_of(ft, "f", &s, now + 99) >
	    R * (1 - d / (2 * t)) * (1 - exp(-N * d / t)) * 0.999);
	flowtab_free(ft);

	/* Samples every 10 ms: the ripple is 0.25%, so 1% at any time. */
	ft = mk(t, 5, 100);
	for (now = t0; now <= t0 + 5 * 2000; now += 10)
		flowtab_add(ft, "f", 1, &s, R * 0.01, now);
	now -= 10;
	for (int k = 0; k < 10; k++)
		T_OK(fabs(value_of(ft, "f", &s, now + (uint64_t)k) / R - 1) <
		    0.01);
	flowtab_free(ft);
}

/* A step from R to 0 decays as exp(-dt/t): check at t and 2t. */
static void
test_step_decay(void)
{
	const double t = 2, R = 1e6;
	struct flowtab *ft = mk(t, 5, 100);
	struct flowtab_src s = src4(1, 3, false, false);
	struct flowtab_src o = src4(2, 4, false, false);
	uint64_t now;
	double v0;

	for (now = 0; now <= 40000; now += 100)
		flowtab_add(ft, "f", 1, &s, R * 0.1, now);
	now -= 100;
	v0 = value_of(ft, "f", &s, now);
	T_OK(fabs(v0 / R - 1) < 0.026);
	/* Other traffic, queries and sweeps in between change nothing. */
	for (uint64_t u = now + 1; u < now + 4000; u += 37) {
		flowtab_add(ft, "other", 5, &o, 1, u);
		flowtab_expire(ft, u);
	}
	T_NEAR(value_of(ft, "f", &s, now + 2000), v0 * exp(-1), 1e-12);
	T_NEAR(value_of(ft, "f", &s, now + 4000), v0 * exp(-2), 1e-12);
	T_NEAR(value_of(ft, "f", &s, now + 500), v0 * exp(-0.25), 1e-12);
	flowtab_free(ft);
}

/*
 * The integral of value(t) over a stretch where no sample arrives is
 * t (v(a) - v(b)); over all time it is the sum of the samples.
 */
struct integ {
	double area;
	double prev; /* value just after the previous sample */
	uint64_t prev_ms;
	bool any;
};

static void
integ_add(struct integ *in, struct flowtab *ft, const char *key,
    const struct flowtab_src *s, double x, uint64_t now, double t)
{
	if (in->any)
		in->area += t * (in->prev - value_of(ft, key, s, now));
	flowtab_add(ft, key, strlen(key), s, x, now);
	in->prev = value_of(ft, key, s, now);
	in->prev_ms = now;
	in->any = true;
}

/*
 * Irregular intervals: the same rate R delivered as chunks at random
 * times. Same total, same time-averaged rate (R), the same decay once the
 * stream stops; and an update pattern with any interleaving of queries,
 * sweeps and other keys gives the same values to the last bits.
 */
static void
test_irregular(void)
{
	const double t = 2, R = 50000;
	struct flowtab *reg = mk(t, 5, 100), *irr = mk(t, 5, 100);
	struct flowtab *busy = mk(t, 5, 100);
	struct flowtab_src s = src4(1, 1, false, false);
	struct flowtab_src o = src4(9, 9, false, false);
	struct integ ir = { 0 }, ii = { 0 };
	double total_r = 0, total_i = 0, win_r = 0, win_i = 0, before;
	/* time averages over the segments that start after W0 */
	const uint64_t T = 60000, W0 = 10000;
	uint64_t now, prev, ws_r = 0, ws_i = 0;

	rs = 0x1234567;
	for (now = 100; now <= T; now += 100) {
		before = ir.area;
		integ_add(&ir, reg, "f", &s, R * 0.1, now, t);
		if (now - 100 >= W0) {
			if (ws_r == 0)
				ws_r = now - 100;
			win_r += ir.area - before;
		}
		total_r += R * 0.1;
	}
	for (prev = 0, now = 0; now < T;) {
		uint64_t gap = 10 + rndn(181);
		double x;

		now = prev + gap > T ? T : prev + gap;
		x = R * (double)(now - prev) / 1000.0;
		before = ii.area;
		integ_add(&ii, irr, "f", &s, x, now, t);
		if (prev >= W0) {
			if (ws_i == 0)
				ws_i = prev;
			win_i += ii.area - before;
		}
		flowtab_add(busy, "f", 1, &s, x, now);
		for (int k = rndn(4); k > 0; k--) {
			flowtab_add(busy, "g", 1, &o, rnd01(), now);
			flowtab_expire(busy, now + rndn(50));
			(void)value_of(busy, "f", &s, now + rndn(100));
		}
		total_i += x;
		prev = now;
	}
	T_NEAR(total_r, total_i, 1e-12);
	/* the tail after the last sample: t v(T) */
	ir.area += t * ir.prev;
	ii.area += t * ii.prev;
	T_NEAR(ir.area, total_r, 1e-12);
	T_NEAR(ii.area, total_i, 1e-12);
	/* the time-averaged rate is R, both ways */
	T_OK(fabs(win_r / ((double)(T - ws_r) / 1000) / R - 1) < 0.01);
	T_OK(fabs(win_i / ((double)(T - ws_i) / 1000) / R - 1) < 0.01);
	printf("#   time-averaged rate / R: regular %.5f, irregular %.5f\n",
	    win_r / ((double)(T - ws_r) / 1000) / R,
	    win_i / ((double)(T - ws_i) / 1000) / R);
	/* after the stream: both decay from ~R the same way */
	for (int k = 1; k <= 3; k++) {
		double vr = value_of(reg, "f", &s, T + 2000 * (uint64_t)k);
		double vi = value_of(irr, "f", &s, T + 2000 * (uint64_t)k);

		T_OK(fabs(vr / (R * exp(-k)) - 1) < 0.03);
		T_OK(fabs(vi / (R * exp(-k)) - 1) < 0.05);
	}
	/* exact whatever the update pattern */
	T_NEAR(value_of(busy, "f", &s, T + 777),
	    value_of(irr, "f", &s, T + 777), 1e-13);
	flowtab_free(reg);
	flowtab_free(irr);
	flowtab_free(busy);
}

/* ---- the naive reference ---------------------------------------------- */

#define R_AGENTS 8
#define R_DSS    4
#define R_KEYS   300

struct rsample {
	uint32_t key, agent, ds;
	double x;
	uint64_t t;
	uint8_t flags;
	bool dropped;
};

struct rent {
	bool live;
	double value, total;
	uint64_t samples, last;
	uint8_t flags;
};

struct rcand {
	uint32_t key, agent, ds;
	double value;
	uint8_t flags;
};

static struct {
	double t;
	unsigned n;
	struct sflow_addr agents[R_AGENTS];
	char keys[R_KEYS][64];
	struct rsample *s;
	size_t ns, cap;
	struct rent e[R_KEYS][R_AGENTS][R_DSS];
	struct rcand *c; /* per-source top-n, all sources */
	size_t nc;
	uint64_t gone_checked;
	uint64_t now; /* time of the add in progress */
	bool bad_gone;
} ref;

static void
ref_agents(void)
{
	for (int a = 0; a < R_AGENTS; a++) {
		struct sflow_addr *ad = &ref.agents[a];

		memset(ad, 0, sizeof(*ad));
		if (a % 3 == 2) { /* some IPv6 agents */
			ad->family = 6;
			ad->a[0] = 0xfd;
			ad->a[15] = (uint8_t)(R_AGENTS - a);
		} else {
			ad->family = 4;
			ad->a[0] = 10;
			ad->a[3] = (uint8_t)(200 - a);
		}
	}
	for (int k = 0; k < R_KEYS; k++) {
		if (k % 5 == 0) /* longer than an inline key */
			snprintf(ref.keys[k], sizeof(ref.keys[k]),
			    "10.%d.%d.7,192.168.100.%d,6,%d,443", k % 7, k,
			    k % 13, 1024 + k);
		else
			snprintf(ref.keys[k], sizeof(ref.keys[k]), "h%d", k);
	}
}

static int
ref_addr_cmp(const struct sflow_addr *a, const struct sflow_addr *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->a, b->a, a->family == 4 ? 4 : 16);
}

/* Recompute every (key, agent, ds) from scratch at `now`. */
static void
ref_compute(size_t upto, uint64_t now)
{
	memset(ref.e, 0, sizeof(ref.e));
	for (size_t i = 0; i < upto; i++) {
		const struct rsample *s = &ref.s[i];
		struct rent *e = &ref.e[s->key][s->agent][s->ds];

		if (s->dropped)
			continue;
		e->value += s->x *
		    exp(-((double)(int64_t)(now - s->t)) / 1000.0 / ref.t) /
		    ref.t;
		e->total += s->x;
		if (!e->live || (int64_t)(s->t - e->last) > 0)
			e->last = s->t;
		e->live = true;
		e->samples++;
		e->flags = s->flags; /* the latest added */
	}
}

static int
cand_desc(const void *pa, const void *pb)
{
	const struct rcand *a = pa, *b = pb;
	int c;

	if (a->value != b->value)
		return a->value > b->value ? -1 : 1;
	c = strcmp(ref.keys[a->key], ref.keys[b->key]);
	return c;
}

/* Each source's n largest, as the table defines them. */
static void
ref_topn(void)
{
	struct rcand tmp[R_KEYS];

	ref.nc = 0;
	for (int a = 0; a < R_AGENTS; a++)
		for (int d = 0; d < R_DSS; d++) {
			size_t k = 0;

			for (int key = 0; key < R_KEYS; key++) {
				const struct rent *e = &ref.e[key][a][d];

				if (!e->live)
					continue;
				tmp[k].key = (uint32_t)key;
				tmp[k].agent = (uint32_t)a;
				tmp[k].ds = (uint32_t)d;
				tmp[k].value = e->value;
				tmp[k].flags = e->flags;
				k++;
			}
			qsort(tmp, k, sizeof(tmp[0]), cand_desc);
			for (size_t j = 0; j < k && j < ref.n; j++)
				ref.c[ref.nc++] = tmp[j];
		}
}

struct rhit {
	uint32_t key, agent, ds, merged;
	double value;
	bool used;
};

static int
rhit_desc(const void *pa, const void *pb)
{
	const struct rhit *a = pa, *b = pb;

	if (a->value != b->value)
		return a->value > b->value ? -1 : 1;
	return strcmp(ref.keys[a->key], ref.keys[b->key]);
}

static bool
rc_better(const struct rcand *a, const struct rcand *b)
{
	int c;

	if (a->value != b->value)
		return a->value > b->value;
	if ((a->flags & 1) != (b->flags & 1))
		return (a->flags & 1) != 0;
	c = ref_addr_cmp(&ref.agents[a->agent], &ref.agents[b->agent]);
	if (c != 0)
		return c < 0;
	return a->ds < b->ds;
}

/* The query, naively: filter, merge by key, sort everything, cut. */
static size_t
ref_query(const struct flowtab_query *q, struct rhit *out)
{
	struct rhit h[R_KEYS];
	struct rcand best[R_KEYS];
	size_t n = 0, k;

	memset(h, 0, sizeof(h));
	for (size_t i = 0; i < ref.nc; i++) {
		const struct rcand *c = &ref.c[i];
		struct rhit *x = &h[c->key];
		bool edge = c->flags & 1, core = c->flags & 2;

		if (q->filter == FLOWTAB_ONE &&
		    ref_addr_cmp(&ref.agents[c->agent], &q->agent) != 0)
			continue;
		if ((q->filter == FLOWTAB_EDGE || q->agg == FLOWTAB_AGG_EDGE) &&
		    !edge)
			continue;
		if ((q->filter == FLOWTAB_CORE || q->agg == FLOWTAB_AGG_CORE) &&
		    !core)
			continue;
		if (!x->used) {
			x->used = true;
			x->key = c->key;
			x->value = c->value;
			x->merged = 1;
			best[c->key] = *c;
		} else {
			x->merged++;
			if (q->agg == FLOWTAB_AGG_MAX ||
			    q->agg == FLOWTAB_AGG_CORE)
				x->value =
				    c->value > x->value ? c->value : x->value;
			else
				x->value += c->value;
			if (rc_better(c, &best[c->key]))
				best[c->key] = *c;
		}
	}
	for (int key = 0; key < R_KEYS; key++) {
		if (!h[key].used || !(h[key].value >= q->min_value))
			continue;
		out[n] = h[key];
		out[n].agent = best[key].agent;
		out[n].ds = best[key].ds;
		n++;
	}
	qsort(out, n, sizeof(out[0]), rhit_desc);
	k = q->max_flows ? q->max_flows : n;
	return n < k ? n : k;
}

static int
agent_index(const struct sflow_addr *a)
{
	for (int i = 0; i < R_AGENTS; i++)
		if (ref_addr_cmp(a, &ref.agents[i]) == 0)
			return i;
	return -1;
}

static uint64_t n_compared;

static void
compare(const struct flowtab_hit *got, size_t ngot, const struct rhit *want,
    size_t nwant, const char *what)
{
	if (ngot != nwant) {
		T_FAIL("%s: %zu hits, expected %zu", what, ngot, nwant);
		return;
	}
	for (size_t i = 0; i < ngot; i++) {
		const struct rhit *w = &want[i];
		const char *wk = ref.keys[w->key];

		n_compared++;
		if (got[i].keylen != strlen(wk) ||
		    memcmp(got[i].key, wk, got[i].keylen) != 0) {
			T_FAIL("%s: hit %zu is %.*s, expected %s", what, i,
			    (int)got[i].keylen, got[i].key, wk);
			return;
		}
		T_NEAR(got[i].value, w->value, 1e-9);
		if (ref_addr_cmp(&got[i].agent, &ref.agents[w->agent]) != 0 ||
		    got[i].ds != 100 + w->ds || got[i].merged != w->merged) {
			T_FAIL("%s: hit %zu (%s): agent %d ds %u merged %u, "
			       "expected agent %u ds %u merged %u",
			    what, i, wk, agent_index(&got[i].agent), got[i].ds,
			    got[i].merged, w->agent, 100 + w->ds, w->merged);
			return;
		}
	}
}

/*
 * The table said it removed an entry: check that it deserved it
 * (expired: idle for 10 t and below epsilon, per the reference), that
 * its totals are right, and drop its samples from the reference.
 */
static void
on_gone(void *arg, const struct flowtab_info *info, enum flowtab_gone why)
{
	int a = agent_index(&info->agent), key = -1;
	uint32_t d = info->ds - 100;
	double v = 0, total = 0, idle_t;
	uint64_t last = 0, cnt = 0;

	(void)arg;
	for (int k = 0; k < R_KEYS; k++)
		if (strlen(ref.keys[k]) == info->keylen &&
		    memcmp(ref.keys[k], info->key, info->keylen) == 0)
			key = k;
	if (a < 0 || key < 0 || d >= R_DSS) {
		ref.bad_gone = true;
		return;
	}
	for (size_t i = 0; i < ref.ns; i++) {
		struct rsample *s = &ref.s[i];

		if (s->dropped || s->key != (uint32_t)key ||
		    s->agent != (uint32_t)a || s->ds != d)
			continue;
		if (i == ref.ns - 1) {
			/* never the entry being added to */
			ref.bad_gone = true;
			return;
		}
		v += s->x *
		    exp(-((double)(int64_t)(ref.now - s->t)) / 1000.0 / ref.t) /
		    ref.t;
		total += s->x;
		if (cnt == 0 || s->t > last)
			last = s->t;
		cnt++;
		s->dropped = true;
	}
	if (cnt != info->samples || last != info->last_ms ||
	    fabs(total - info->total) > 1e-9 * total ||
	    fabs(v - info->value) > 1e-9 * v + 1e-300)
		ref.bad_gone = true;
	idle_t = (double)(int64_t)(ref.now - last) / 1000 / ref.t;
	if (why == FLOWTAB_EXPIRED &&
	    (v >= FLOWTAB_EPSILON || idle_t < FLOWTAB_EXPIRE_T))
		ref.bad_gone = true;
	ref.gone_checked++;
}

struct rcfg {
	uint64_t seed;
	double t;
	unsigned n;
	size_t samples;
	uint32_t mean_gap_ms;
	size_t max_entries;
	bool mixed_flags; /* flags vary per sample, not per source */
	/* the engine's way: sources from a flowtab_srcids registry, and
	 * each sample prepared, prefetched a sample later and added two
	 * samples later (flowtab_add_ref(), engine.c's pipe_run()) */
	bool piped;
};

/* A sample on its way through the engine's pipeline. */
struct rpend {
	struct rsample s;
	struct flowtab_src src;
	struct flowtab_ref ref;
};

/* p added: to the reference and, with the ref it was prepared with, to
 * the table. */
static void
ref_add(struct flowtab *ft, struct rpend *p)
{
	const char *key = ref.keys[p->s.key];

	ref.s[ref.ns++] = p->s;
	ref.now = p->s.t;
	if (flowtab_add_ref(
	        ft, key, strlen(key), &p->src, &p->ref, p->s.x, p->s.t) < 0)
		T_FAIL("add rejected");
}

/*
 * Every query shape at `at`, on the live table (ft) or a snapshot (sn),
 * against the reference.
 */
static void
check_queries(const struct flowtab *ft, const struct flowtab_snapshot *sn,
    uint64_t at, const struct rcfg *cfg, int check, struct flowtab_hit *hits,
    struct rhit *want)
{
	static const enum flowtab_filter filters[] = { FLOWTAB_ALL, FLOWTAB_ONE,
		FLOWTAB_ONE, FLOWTAB_EDGE, FLOWTAB_CORE };
	static const enum flowtab_agg aggs[] = { FLOWTAB_AGG_MAX,
		FLOWTAB_AGG_SUM, FLOWTAB_AGG_EDGE, FLOWTAB_AGG_CORE };
	static const size_t maxflows[] = { 1, 7, 50, 0 };
	char what[128];

	double mid;

	ref_compute(ref.ns, at);
	ref_topn();
	/* a minValue off any value by far more than 1e-9 */
	mid = ref.nc > 0 ? ref.c[ref.nc / 2].value * (1 - 1e-6) : 0;
	for (size_t i = 0; i < nitems(filters) * nitems(aggs) * 8; i++) {
		size_t f = i / (nitems(aggs) * 8), a = i / 8 % nitems(aggs);
		size_t m = i / 2 % 4, mv = i % 2, nw, ng;
		struct flowtab_query q;

		memset(&q, 0, sizeof(q));
		q.filter = filters[f];
		q.agent = ref.agents[((size_t)check + f) % R_AGENTS];
		q.agg = aggs[a];
		q.max_flows = maxflows[m];
		q.min_value = mv ? mid : 0;
		nw = ref_query(&q, want);
		if (ft != NULL)
			ng = flowtab_top(ft, &q, at, hits, 2 * R_KEYS);
		else
			ng = flowtab_snapshot_top(sn, &q, at, hits, 2 * R_KEYS);
		snprintf(what, sizeof(what),
		    "seed %llu check %d %s filter %zu agg %zu maxFlows %zu "
		    "minValue %zu",
		    (unsigned long long)cfg->seed, check,
		    ft ? "live" : "snapshot", f, a, maxflows[m], mv);
		compare(hits, ng, want, nw, what);
	}
}

static void
ref_run(const struct rcfg *cfg)
{
	struct flowtab_conf fc = { .t = cfg->t,
		.n = cfg->n,
		.max_entries = cfg->max_entries,
		.seed = cfg->seed * 7 };
	struct flowtab *ft = flowtab_new(&fc);
	struct flowtab_srcids *ids = flowtab_srcids_new(fc.src_seed, 1000);
	struct rpend pend[3];
	uint64_t pn = 0, pd = 0; /* samples [pd, pn) are in the pipeline */
	struct flowtab_hit *hits = xmalloc(2 * R_KEYS * sizeof(*hits));
	struct rhit *want = xmalloc(R_KEYS * sizeof(*want));
	struct flowtab_stats st;
	struct flowtab_snapshot *sn;
	uint64_t now = 5000000, qt;
	int checks = 0;

	rs = cfg->seed;
	ref.t = cfg->t;
	ref.n = cfg->n;
	ref.ns = 0;
	ref.bad_gone = false;
	ref.cap = cfg->samples;
	ref.s = xcalloc(ref.cap, sizeof(*ref.s));
	ref.c = xmalloc(R_AGENTS * R_DSS * R_KEYS * sizeof(*ref.c));
	flowtab_set_gone_cb(ft, on_gone, NULL);

	for (size_t i = 0; i < cfg->samples; i++) {
		struct rpend *p = &pend[pn % 3];
		struct rsample *s = &p->s;
		struct flowtab_src src;
		uint32_t hot = rndn(10);
		const char *key;

		memset(s, 0, sizeof(*s));
		now += rndn(2 * cfg->mean_gap_ms + 1);
		/* a skewed key popularity, so that top-N means something */
		if (hot < 6)
			s->key = rndn(20);
		else if (hot < 9)
			s->key = rndn(100);
		else
			s->key = rndn(R_KEYS);
		s->agent = rndn(R_AGENTS);
		s->ds = rndn(R_DSS);
		s->x = 64.0 * (1 + rndn(1500)) * (1 + rndn(4)) * 1000;
		s->t = now;
		if (rndn(20) == 0) /* a little out of order */
			s->t = now - rndn(50);
		if (cfg->mixed_flags)
			s->flags = (uint8_t)rndn(4);
		else /* leaves' ports 0-1 edge, 2-3 core; spines core */
			s->flags = s->agent < 4 ? (s->ds < 2 ? 1 : 2) : 2;
		memset(&src, 0, sizeof(src));
		src.agent = ref.agents[s->agent];
		/* unused address bytes are ignored */
		if (src.agent.family == 4)
			src.agent.a[9] = (uint8_t)rnd();
		src.ds = 100 + s->ds;
		src.edge = s->flags & 1;
		src.core = s->flags & 2;
		key = ref.keys[s->key];
		if (!cfg->piped) {
			ref.s[ref.ns++] = *s;
			ref.now = s->t;
			if (flowtab_add(
			        ft, key, strlen(key), &src, s->x, s->t) < 0)
				T_FAIL("add rejected");
		} else {
			p->src = src;
			flowtab_srcids_stamp(ids, &p->src, NULL);
			if (pn - pd == 2)
				ref_add(ft, &pend[pd++ % 3]);
			if (pn > pd)
				flowtab_prefetch(ft, &pend[(pn - 1) % 3].src,
				    &pend[(pn - 1) % 3].ref);
			flowtab_prepare(ft, key, strlen(key), &p->src, &p->ref);
			pn++;
		}

		if ((i + 1) % (cfg->samples / 8) != 0)
			continue;
		while (pd < pn) { /* the pipeline flushed */
			flowtab_prefetch(
			    ft, &pend[pd % 3].src, &pend[pd % 3].ref);
			ref_add(ft, &pend[pd++ % 3]);
		}
		/* A check: now, and a snapshot read a little later. */
		checks++;
		qt = now + rndn((uint32_t)(3000 * cfg->t));
		sn = flowtab_snapshot(ft, qt);
		check_queries(ft, NULL, qt, cfg, checks, hits, want);
		check_queries(NULL, sn, qt + rndn((uint32_t)(2000 * cfg->t)),
		    cfg, checks, hits, want);
		flowtab_snapshot_free(sn);
	}
	T_EQ(checks, 8);
	T_OK(!ref.bad_gone);
	flowtab_stats(ft, &st);
	if (cfg->max_entries >= R_KEYS * R_AGENTS * R_DSS)
		T_EQ(st.evictions, 0);
	else
		T_OK(st.evictions > 0);
	T_EQ(st.inserts - st.evictions - st.expired, st.entries);
	T_EQ(st.inserts + st.updates, cfg->samples);
	if (cfg->t < 1)
		T_OK(st.rebases > 0);
	printf("#   seed %llu t %g n %u: %zu entries, %llu expired, %llu "
	       "evicted, %llu rebases\n",
	    (unsigned long long)cfg->seed, cfg->t, cfg->n, st.entries,
	    (unsigned long long)st.expired, (unsigned long long)st.evictions,
	    (unsigned long long)st.rebases);
	flowtab_free(ft);
	flowtab_srcids_free(ids);
	free(ref.s);
	free(ref.c);
	free(hits);
	free(want);
}

static void
test_reference(void)
{
	static const struct rcfg cfgs[] = {
		{ 1, 2, 5, 6000, 5, 1u << 20, false },
		{ 2, 2, 1, 6000, 5, 1u << 20, false },
		{ 3, 0.2, 3, 6000, 30, 1u << 20, false },
		{ 4, 10, 5, 4000, 20, 1u << 20, true },
		{ 5, 1, 20, 8000, 10, 1u << 20, true },
		{ 6, 0.5, 5, 6000, 40, 1u << 20, false },
		{ 7, 2, 5, 6000, 1, 1u << 20, false, true },
		{ 8, 0.1, 3, 6000, 10, 1u << 20, true, true },
		/* n above any source's entries: snapshots keep them all */
		{ 9, 1, 1000, 6000, 10, 1u << 20, true },
	};

	ref_agents();
	n_compared = 0;
	ref.gone_checked = 0;
	for (size_t i = 0; i < nitems(cfgs); i++)
		ref_run(&cfgs[i]);
	printf("#   %llu hits compared, %llu expiries checked\n",
	    (unsigned long long)n_compared,
	    (unsigned long long)ref.gone_checked);
	T_OK(n_compared > 10000);
	T_OK(ref.gone_checked > 1000);
}

/*
 * With a table too small, the reference still matches once it drops what
 * the table reports evicted (the callback), and every removal is checked.
 */
static void
test_reference_evicting(void)
{
	static const struct rcfg cfgs[] = {
		{ 11, 2, 5, 6000, 5, 500, false },
		{ 12, 0.2, 3, 6000, 30, 100, true },
		{ 13, 1, 5, 6000, 1, 300, false, true },
	};

	ref_agents();
	ref.gone_checked = 0;
	for (size_t i = 0; i < nitems(cfgs); i++)
		ref_run(&cfgs[i]);
	T_OK(ref.gone_checked > 1000);
}

/* ---- bounded memory ---------------------------------------------------- */

static bool heavy_gone;

static void
bound_gone(void *arg, const struct flowtab_info *info, enum flowtab_gone why)
{
	(void)arg;
	(void)why;
	if (info->keylen >= 5 && memcmp(info->key, "heavy", 5) == 0)
		heavy_gone = true;
}

/*
 * 1000 entries and 100k distinct mouse keys: at any time some 2000 mice
 * are active (a window sliding through the key space), each at rate r,
 * and 20 heavy keys run at 10 r. Memory stays put, evictions are counted,
 * the heavy keys are never evicted and are the top 20, with exact values.
 *
 * (A bounded table keeps a heavy key only if its samples come more often
 * than the table turns over: here every 20 ms against some 200 ms. Were
 * the mice drawn from all 100k keys at once, a 10 r key would be sampled
 * less often than the table turns over, and no recency or size policy
 * could keep it.)
 */
static void
test_bounded(void)
{
	const double t = 2, w = 1000;
	struct flowtab *ft = mk(t, 1000, 1000);
	struct flowtab_src s = src4(1, 1, true, false);
	struct flowtab_stats st;
	struct flowtab_hit hits[20];
	struct flowtab_query q = {
		.filter = FLOWTAB_ALL, .max_flows = 20, .agg = FLOWTAB_AGG_MAX
	};
	size_t mem_half = 0, n, distinct = 0;
	uint64_t now = 0, last_heavy[20] = { 0 };
	double acc[20] = { 0 };
	uint8_t *seen = xcalloc(110000, 1);
	char key[64];
	const uint64_t T = 41000;

	heavy_gone = false;
	flowtab_set_gone_cb(ft, bound_gone, NULL);
	rs = 99;
	for (now = 0; now < T; now++) {
		/* one heavy sample per ms: each heavy every 20 ms, 50 w/s */
		uint32_t h = (uint32_t)(now % 20);

		snprintf(key, sizeof(key), "heavy-%u", h);
		acc[h] =
		    acc[h] * exp(-(double)(now - last_heavy[h]) / 1000.0 / t) +
		    w;
		last_heavy[h] = now;
		flowtab_add(ft, key, strlen(key), &s, w, now);
		/* ten mouse samples per ms over 2000 keys: 5 w/s each */
		for (int k = 0; k < 10; k++) {
			uint32_t m = (uint32_t)(now * 5 / 2) + rndn(2000);

			if (!seen[m]) {
				seen[m] = 1;
				distinct++;
			}
			snprintf(key, sizeof(key), "mouse-%u", m);
			flowtab_add(ft, key, strlen(key), &s, w, now);
		}
		flowtab_stats(ft, &st);
		if (st.entries > 1000)
			T_FAIL("%zu entries", st.entries);
		if (now == T / 2)
			mem_half = st.mem_bytes;
	}
	now--;
	flowtab_stats(ft, &st);
	T_OK(distinct >= 100000);
	T_EQ(st.entries, 1000);
	T_OK(st.evictions > 100000);
	T_EQ(st.inserts - st.evictions - st.expired, st.entries);
	T_OK(st.mem_bytes <= mem_half);
	T_OK(st.mem_bytes < 1000 * 200 + 64 * 1024);
	T_OK(st.sources == 1);
	T_OK(!heavy_gone);
	n = flowtab_top(ft, &q, now, hits, 20);
	T_EQ(n, 20);
	for (size_t i = 0; i < n; i++) {
		double dt;
		unsigned h;

		snprintf(
		    key, sizeof(key), "%.*s", (int)hits[i].keylen, hits[i].key);
		if (sscanf(key, "heavy-%u", &h) != 1 || h >= 20) {
			T_FAIL("hit %zu is %.*s", i, (int)hits[i].keylen,
			    hits[i].key);
			continue;
		}
		dt = (double)(now - last_heavy[h]) / 1000.0;
		T_NEAR(hits[i].value, acc[h] * exp(-dt / t) / t, 1e-9);
	}
	printf("#   %zu distinct keys, %llu evictions, %llu expired, %zu "
	       "bytes\n",
	    distinct, (unsigned long long)st.evictions,
	    (unsigned long long)st.expired, st.mem_bytes);
	free(seen);
	flowtab_free(ft);
}

/* ---- aggregation ------------------------------------------------------- */

/*
 * One packet stream seen by leaf1 (edge port in), the spine and leaf2
 * (fabric ports in): EDGE and MAX count it once, SUM three times.
 */
static void
test_edge_dedupe(void)
{
	const double t = 2, R = 80000;
	struct flowtab *ft = mk(t, 5, 100);
	struct flowtab_src path[3] = { src4(11, 5, true, false),
		src4(1, 49, false, true), src4(12, 50, false, true) };
	struct flowtab_hit h[4];
	struct flowtab_query q = { .filter = FLOWTAB_ALL, .max_flows = 10 };
	struct flowtab_snapshot *sn;
	uint64_t now;
	double one;
	size_t n;

	for (now = 0; now <= 20000; now += 10)
		for (int i = 0; i < 3; i++) {
			flowtab_add(ft, "10.0.1.5,10.0.2.9", 17, &path[i],
			    R * 0.01, now);
			/* some other flow at the spine only */
			if (i == 1)
				flowtab_add(ft, "other", 5, &path[i], 5, now);
		}
	now -= 10;
	one = value_of(ft, "10.0.1.5,10.0.2.9", &path[0], now);
	T_OK(fabs(one / R - 1) < 0.01);

	q.agg = FLOWTAB_AGG_EDGE;
	n = flowtab_top(ft, &q, now, h, 4);
	T_EQ(n, 1);
	T_NEAR(h[0].value, one, 1e-12);
	T_EQ(h[0].merged, 1);
	T_EQ(h[0].agent.a[3], 11);
	T_EQ(h[0].ds, 5);

	q.agg = FLOWTAB_AGG_MAX;
	n = flowtab_top(ft, &q, now, h, 4);
	T_EQ(n, 2);
	T_NEAR(h[0].value, one, 1e-12);
	T_EQ(h[0].merged, 3);
	T_EQ(h[0].agent.a[3], 11); /* a tie: the edge entry names it */
	T_OK(h[1].value < h[0].value);
	T_OK(h[1].keylen == 5 && memcmp(h[1].key, "other", 5) == 0);

	q.agg = FLOWTAB_AGG_SUM;
	n = flowtab_top(ft, &q, now, h, 4);
	T_EQ(n, 2);
	T_NEAR(h[0].value, 3 * one, 1e-12);
	T_EQ(h[0].merged, 3);

	q.agg = FLOWTAB_AGG_CORE;
	n = flowtab_top(ft, &q, now, h, 4);
	T_EQ(n, 2);
	T_NEAR(h[0].value, one, 1e-12);
	T_EQ(h[0].merged, 2);
	T_EQ(h[0].agent.a[3], 1); /* tie, no edge: lowest address */

	/* the EDGE agent filter with MAX, and one agent */
	q.filter = FLOWTAB_EDGE;
	q.agg = FLOWTAB_AGG_MAX;
	n = flowtab_top(ft, &q, now, h, 4);
	T_EQ(n, 1);
	T_NEAR(h[0].value, one, 1e-12);
	q.filter = FLOWTAB_ONE;
	q.agent = path[2].agent;
	q.agg = FLOWTAB_AGG_SUM;
	n = flowtab_top(ft, &q, now, h, 4);
	T_EQ(n, 1);
	T_NEAR(h[0].value, one, 1e-12);
	T_EQ(h[0].ds, 50);

	/* the same from a snapshot, read 1 s later */
	sn = flowtab_snapshot(ft, now);
	flowtab_add(ft, "late", 4, &path[0], 1e12, now + 1);
	q.filter = FLOWTAB_ALL;
	q.agg = FLOWTAB_AGG_SUM;
	n = flowtab_snapshot_top(sn, &q, now + 1000, h, 4);
	T_EQ(n, 2);
	T_NEAR(h[0].value, 3 * one * exp(-0.5), 1e-12);
	T_EQ(flowtab_snapshot_time(sn), now);
	flowtab_snapshot_free(sn);
	flowtab_free(ft);
}

/* n per data source: a source shows only its n largest. */
static void
test_topn_per_source(void)
{
	struct flowtab *ft = mk(1, 3, 100);
	struct flowtab_src a = src4(1, 1, false, false);
	struct flowtab_src b = src4(2, 1, false, false);
	struct flowtab_hit h[10];
	struct flowtab_query q = { .filter = FLOWTAB_ALL,
		.agg = FLOWTAB_AGG_MAX };
	char key[16];
	size_t n;

	for (int i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		flowtab_add(ft, key, strlen(key), &a, 100.0 * (i + 1), 1000);
	}
	/* k0 is the smallest at a, but the largest at b */
	flowtab_add(ft, "k0", 2, &b, 5000, 1000);
	n = flowtab_top(ft, &q, 1000, h, 10);
	T_EQ(n, 4);
	T_OK(n == 4 && h[0].keylen == 2 && memcmp(h[0].key, "k0", 2) == 0);
	T_NEAR(h[0].value, 5000, 1e-12);
	T_EQ(h[0].agent.a[3], 2);
	T_OK(n == 4 && memcmp(h[1].key, "k9", 2) == 0 &&
	    memcmp(h[2].key, "k8", 2) == 0 && memcmp(h[3].key, "k7", 2) == 0);
	/* maxFlows and minValue */
	q.max_flows = 2;
	T_EQ(flowtab_top(ft, &q, 1000, h, 10), 2);
	q.max_flows = 0;
	q.min_value = 900;
	T_EQ(flowtab_top(ft, &q, 1000, h, 10), 3);
	T_EQ(flowtab_top(ft, &q, 1000, h, 1), 1);
	q.min_value = 1e9;
	T_EQ(flowtab_top(ft, &q, 1000, h, 10), 0);
	flowtab_free(ft);
}

/* ---- expiry, limits, bookkeeping --------------------------------------- */

static int n_expired_cb;

static void
count_gone(void *arg, const struct flowtab_info *info, enum flowtab_gone why)
{
	(void)arg;
	(void)info;
	if (why == FLOWTAB_EXPIRED)
		n_expired_cb++;
}

static void
test_expiry(void)
{
	struct flowtab *ft = mk(1, 5, 100);
	struct flowtab_src s = src4(1, 1, false, false);
	struct flowtab_stats st;

	n_expired_cb = 0;
	flowtab_set_gone_cb(ft, count_gone, NULL);
	flowtab_add(ft, "small", 5, &s, 1, 0);
	flowtab_add(ft, "big", 3, &s, 1e9, 0);
	T_EQ(flowtab_expire(ft, 5000), 0); /* idle < 10 t */
	T_EQ(flowtab_expire(ft, 9999), 0);
	T_EQ(flowtab_expire(ft, 10000), 1); /* small: e^-10 < 1e-3 */
	T_OK(value_of(ft, "small", &s, 10000) < 0);
	T_OK(value_of(ft, "big", &s, 10000) > 1e3); /* 1e9 e^-10: not yet */
	T_EQ(flowtab_expire(ft, 25000), 0);         /* 1e9 e^-25 = 0.014 */
	T_EQ(flowtab_expire(ft, 28000), 1);         /* 1e9 e^-28 = 7e-4 */
	T_EQ(n_expired_cb, 2);
	flowtab_stats(ft, &st);
	T_EQ(st.entries, 0);
	T_EQ(st.sources, 0);
	T_EQ(st.expired, 2);

	/* lazily: adds sweep the table */
	for (int i = 0; i < 50; i++) {
		char key[16];

		snprintf(key, sizeof(key), "old%d", i);
		flowtab_add(ft, key, strlen(key), &s, 1, 100000);
	}
	for (int i = 0; i < 100; i++) /* one entry checked per add */
		flowtab_add(ft, "new", 3, &s, 1, 200000 + (uint64_t)i);
	flowtab_stats(ft, &st);
	T_EQ(st.entries, 1);
	T_EQ(st.expired, 52);
	flowtab_free(ft);
}

/* conf.key_text for test_key_text: each byte as 2 hex digits. */
static size_t
hex_text(const char *key, size_t keylen, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (size_t i = 0; i < keylen && o + 2 < outlen; i++) {
		out[o++] = hex[(uint8_t)key[i] >> 4];
		out[o++] = hex[(uint8_t)key[i] & 15];
	}
	out[o] = '\0';
	return o;
}

static void
key_hit(void *arg, const struct flowtab_hit *h)
{
	int *seen = arg;

	if (h->keylen == 6 && memcmp(h->key, "616263", 6) == 0)
		seen[0]++;
	else if (h->keylen == 2 && memcmp(h->key, "7a", 2) == 0)
		seen[1]++;
	else
		seen[2]++;
}

/*
 * conf.key_text: snapshots hold the keys as text, and merge and sort on
 * it; the table itself hands out the keys as added. conf.no_sweep: adds
 * leave expiry to flowtab_expire().
 */
static void
test_key_text(void)
{
	struct flowtab_conf c = { .t = 1,
		.n = 5,
		.max_entries = 100,
		.seed = 42,
		.key_text = hex_text,
		.no_sweep = true };
	struct flowtab *ft = flowtab_new(&c);
	struct flowtab_src a = src4(1, 1, true, false);
	struct flowtab_src b = src4(2, 1, true, false);
	struct flowtab_query q = { .filter = FLOWTAB_ALL,
		.agg = FLOWTAB_AGG_SUM };
	struct flowtab_hit hits[4];
	struct flowtab_snapshot *sn;
	struct flowtab_stats st;
	int seen[3] = { 0 };

	flowtab_add(ft, "abc", 3, &a, 100, 0);
	flowtab_add(ft, "abc", 3, &b, 100, 0);
	flowtab_add(ft, "z", 1, &a, 50, 0);
	T_EQ(flowtab_top(ft, &q, 0, hits, 4), 2);
	T_EQ(hits[0].keylen, 3);
	T_OK(memcmp(hits[0].key, "abc", 3) == 0);

	sn = flowtab_snapshot(ft, 0);
	T_EQ(flowtab_snapshot_top(sn, &q, 0, hits, 4), 2);
	T_EQ(hits[0].keylen, 6);
	T_OK(memcmp(hits[0].key, "616263", 6) == 0);
	T_EQ(hits[0].merged, 2);
	T_NEAR(hits[0].value, 200, 1e-9);
	T_EQ(hits[1].keylen, 2);
	T_OK(memcmp(hits[1].key, "7a", 2) == 0);
	flowtab_snapshot_foreach(sn, 0, key_hit, seen);
	T_EQ(seen[0], 2);
	T_EQ(seen[1], 1);
	T_EQ(seen[2], 0);
	flowtab_snapshot_free(sn);

	/* long after: adds expire nothing; flowtab_expire() does */
	for (int i = 0; i < 50; i++)
		flowtab_add(ft, "new", 3, &a, 1, 100000 + (uint64_t)i);
	flowtab_stats(ft, &st);
	T_EQ(st.entries, 4);
	T_EQ(st.expired, 0);
	T_EQ(flowtab_expire(ft, 100050), 3);
	flowtab_stats(ft, &st);
	T_EQ(st.entries, 1);
	flowtab_free(ft);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/*
 * mumhash(), the tables' key hash: every input bit and every length
 * changes it, about half its bits flip for one input bit, and 200,000
 * keys like the engine's (a packed 5-tuple counting up) collide as random
 * 32-bit values would, in either half.
 */
static void
test_mumhash(void)
{
	uint8_t buf[80];
	double flips = 0, tries = 0;
	enum { N = 200000 };
	uint64_t *h = xmalloc(N * sizeof(*h)), *lo = xmalloc(N * sizeof(*lo));
	size_t same = 0, same_lo = 0;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 37 + 11);
	T_EQ(mumhash(1, 2, buf, 20), mumhash(1, 2, buf, 20));
	T_OK(mumhash(1, 2, buf, 20) != mumhash(1, 3, buf, 20));
	T_OK(mumhash(1, 2, buf, 20) != mumhash(3, 2, buf, 20));
	for (size_t len = 0; len <= 64; len++) {
		uint64_t base = mumhash(7, 9, buf, len);

		if (len > 0 && base == mumhash(7, 9, buf, len - 1))
			T_FAIL("length %zu hashes as %zu", len, len - 1);
		for (size_t bit = 0; bit < 8 * len; bit++) {
			uint64_t x;

			buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			x = mumhash(7, 9, buf, len) ^ base;
			buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			if (x == 0)
				T_FAIL("bit %zu of %zu bytes changes nothing",
				    bit, len);
			flips += __builtin_popcountll(x);
			tries += 64;
		}
	}
	T_OK(flips / tries > 0.45 && flips / tries < 0.55);
	printf("#   mumhash: %.4f of the bits flip for one input bit\n",
	    flips / tries);

	for (uint32_t i = 0; i < N; i++) {
		uint8_t k[16] = { 1, 10, 0, 0, 1, 1, 10, 0, 0, 2, 3, 0, 0, 3,
			0x50, 0 };

		k[3] = (uint8_t)(i >> 8);
		k[4] = (uint8_t)i;
		k[12] = (uint8_t)(i >> 16);
		h[i] = mumhash(0x1234, 0x5678, k, sizeof(k));
		lo[i] = h[i] & 0xffffffffu;
		h[i] >>= 32;
	}
	qsort(h, N, sizeof(*h), cmp_u64);
	qsort(lo, N, sizeof(*lo), cmp_u64);
	for (size_t i = 1; i < N; i++) {
		same += h[i] == h[i - 1];
		same_lo += lo[i] == lo[i - 1];
	}
	/* expected N^2 / 2^33 = 4.7 each */
	printf("#   mumhash: %zu and %zu 32-bit collisions in %d keys\n", same,
	    same_lo, N);
	T_OK(same <= 16 && same_lo <= 16);
	free(h);
	free(lo);
}

/* A long idle gap: the epoch moves, nothing overflows, values stay exact. */
static void
test_rebase(void)
{
	struct flowtab *ft = mk(0.2, 5, 100);
	struct flowtab_src s = src4(1, 1, false, false);
	struct flowtab_stats st;
	double v = 0;
	uint64_t now = 0;

	for (int i = 0; i < 3000; i++, now += 50) {
		flowtab_add(ft, "f", 1, &s, 1e15, now);
		v = v * exp(-0.05 / 0.2) + 1e15;
	}
	now -= 50;
	T_NEAR(value_of(ft, "f", &s, now), v / 0.2, 1e-10);
	flowtab_stats(ft, &st);
	T_OK(st.rebases >= 2);
	/* an hour later: nothing left, and the table still works */
	now += 3600000;
	flowtab_add(ft, "g", 1, &s, 10, now);
	T_NEAR(value_of(ft, "g", &s, now), 50, 1e-12);
	T_OK(value_of(ft, "f", &s, now) < 1e-300);
	flowtab_free(ft);

	/* t below the floor is raised to it: adds every ms stay O(1) */
	ft = mk(0.0001, 5, 100);
	for (now = 0; now < 1000; now++)
		flowtab_add(ft, "f", 1, &s, 1, now);
	T_NEAR(value_of(ft, "f", &s, 999),
	    (1 - exp(-100)) / (1 - exp(-0.1)) / FLOWTAB_T_MIN, 1e-12);
	flowtab_stats(ft, &st);
	T_EQ(st.rebases, 0);
	flowtab_free(ft);
}

static void
test_add_info(void)
{
	struct flowtab *ft = mk(2, 5, 100);
	struct flowtab_src s = src4(1, 7, true, false);
	struct flowtab_src s6 = src4(1, 7, false, true);
	struct flowtab_info info;
	struct flowtab_stats st;
	char longkey[300];

	T_EQ(flowtab_add(ft, "a", 1, &s, 100, 1000), 1);
	T_EQ(flowtab_add(ft, "a", 1, &s, 50, 3000), 0);
	T_EQ(flowtab_add(ft, "a", 1, &s, 25, 2000), 0); /* out of order */
	T_OK(flowtab_get(ft, "a", 1, &s, 3000, &info));
	T_NEAR(info.total, 175, 1e-15);
	T_EQ(info.samples, 3);
	T_EQ(info.first_ms, 1000);
	T_EQ(info.last_ms, 3000);
	T_NEAR(info.value, (100 * exp(-1) + 50 + 25 * exp(-0.5)) / 2, 1e-12);
	T_OK(info.edge && !info.core);
	T_EQ(info.ds, 7);

	/* the latest sample's flags */
	flowtab_add(ft, "a", 1, &s6, 0, 3000);
	T_OK(flowtab_get(ft, "a", 1, &s, 3000, &info));
	T_OK(!info.edge && info.core);

	/* another family is another agent */
	s6.agent.family = 6;
	T_OK(!flowtab_get(ft, "a", 1, &s6, 3000, &info));

	/* rejects */
	T_EQ(flowtab_add(ft, "b", 1, &s, -1, 3000), -1);
	T_EQ(flowtab_add(ft, "b", 1, &s, NAN, 3000), -1);
	T_EQ(flowtab_add(ft, "b", 1, &s, INFINITY, 3000), -1);
	T_EQ(flowtab_add(ft, "b", FLOWTAB_KEY_MAX + 1, &s, 1, 3000), -1);
	T_OK(!flowtab_get(ft, "b", 1, &s, 3000, &info));

	/* empty and long keys (heap-allocated: ASan checks the frees) */
	T_EQ(flowtab_add(ft, "", 0, &s, 1, 3000), 1);
	T_OK(flowtab_get(ft, "", 0, &s, 3000, &info));
	memset(longkey, 'x', sizeof(longkey));
	T_EQ(flowtab_add(ft, longkey, sizeof(longkey), &s, 1, 3000), 1);
	T_OK(flowtab_get(ft, longkey, sizeof(longkey), &s, 3000, &info));
	T_EQ(info.keylen, sizeof(longkey));
	T_OK(memcmp(info.key, longkey, sizeof(longkey)) == 0);
	flowtab_stats(ft, &st);
	T_EQ(st.rejected, 4);
	T_EQ(st.entries, 3);
	T_EQ(st.inserts, 3);
	T_EQ(st.sources, 1);
	flowtab_free(ft);
}

/*
 * The staged add (prepare, prefetch, add_ref), pipelined two samples
 * deep as the engine does it, with the table growing, evicting and
 * expiring between the stages, gives exactly what plain adds give; and
 * a source hash computed once for several tables is what each computes.
 * Sources come three ways, mixed for the same source: plain, with the
 * hash, and stamped by a registry of ids (too small for all 32 sources,
 * so that some of them have no id); sources are freed and come back as
 * the table evicts.
 */
static void
test_staged(void)
{
	struct flowtab_conf c = {
		.t = 0.5, .n = 3, .max_entries = 300, .seed = 7, .src_seed = 99
	};
	struct flowtab *a = flowtab_new(&c), *b = flowtab_new(&c);
	struct flowtab_srcids *ids = flowtab_srcids_new(99, 20);
	struct {
		char key[16];
		size_t len;
		struct flowtab_src src;
		struct flowtab_ref ref;
		double x;
		uint64_t now;
	} p[3];
	uint64_t lcg = 12345, now = 1000;
	size_t n = 0, checked = 0;
	int created_a = 0, created_b = 0;

	for (int i = 0; i < 20000 + 2; i++) {
		if (i >= 2) { /* add the one prepared two samples ago */
			int k = (i - 2) % 3;

			created_b +=
			    flowtab_add_ref(b, p[k].key, p[k].len, &p[k].src,
			        &p[k].ref, p[k].x, p[k].now) == 1;
		}
		if (i >= 1 && i - 1 < 20000)
			flowtab_prefetch(
			    b, &p[(i - 1) % 3].src, &p[(i - 1) % 3].ref);
		if (i < 20000) {
			int k = i % 3;

			lcg = lcg * 6364136223846793005ull +
			    1442695040888963407ull;
			p[k].len = (size_t)snprintf(p[k].key, sizeof(p[k].key),
			    "k%u", (unsigned)(lcg >> 33) % 700);
			p[k].src = src4((uint8_t)(lcg >> 20 & 3),
			    (lcg >> 24) & 7, false, false);
			if (i % 3 == 1) { /* with the hash given */
				p[k].src.hash = flowtab_src_hash(99, &p[k].src);
			} else if (i % 3 ==
			    2) { /* ... and an id, as the engine */
				uint32_t h = flowtab_src_hash(99, &p[k].src);

				flowtab_srcids_stamp(ids, &p[k].src, NULL);
				T_EQ(p[k].src.hash, h);
			}
			p[k].x = (double)((lcg >> 40) % 1000);
			now += (lcg >> 50) % 3 == 0 ? 37 : 0;
			p[k].now = now;
			flowtab_prepare(
			    b, p[k].key, p[k].len, &p[k].src, &p[k].ref);
			created_a += flowtab_add(a, p[k].key, p[k].len,
			                 &p[k].src, p[k].x, p[k].now) == 1;
			n++;
		}
	}
	T_EQ(created_a, created_b);
	for (unsigned k = 0; k < 700; k++)
		for (uint8_t ag = 0; ag < 4; ag++)
			for (uint32_t ds = 0; ds < 8; ds++) {
				struct flowtab_src s =
				    src4(ag, ds, false, false);
				struct flowtab_info ia, ib;
				char key[16];
				size_t len = (size_t)snprintf(
				    key, sizeof(key), "k%u", k);
				bool fa =
				         flowtab_get(a, key, len, &s, now, &ia),
				     fb =
				         flowtab_get(b, key, len, &s, now, &ib);

				T_EQ(fa, fb);
				if (fa && fb) {
					T_NEAR(ia.value, ib.value, 0);
					T_NEAR(ia.total, ib.total, 0);
					T_EQ(ia.samples, ib.samples);
					checked++;
				}
			}
	T_OK(checked > 100);
	T_EQ(flowtab_srcids_count(ids), 20);
	T_OK(flowtab_srcids_overflow(ids) > 0);
	printf("#   staged: %zu samples, %zu entries compared\n", n, checked);
	flowtab_srcids_free(ids);
	flowtab_free(a);
	flowtab_free(b);
}

/*
 * Source ids while sources come and go: a table of 6 entries fed 64
 * sources (40 with ids, the rest past the registry's end) evicts and
 * frees a source at nearly every add, and its slots are reused by other
 * sources. Every add is checked against a table fed the same samples
 * without ids: the same entry created or updated, under the same source.
 */
static void
test_srcids_churn(void)
{
	struct flowtab_conf c = {
		.t = 1, .n = 2, .max_entries = 6, .seed = 3, .src_seed = 5
	};
	struct flowtab *a = flowtab_new(&c), *b = flowtab_new(&c);
	struct flowtab_srcids *ids = flowtab_srcids_new(5, 40);
	uint64_t lcg = 777, now = 5000;
	size_t found = 0;

	for (int i = 0; i < 30000; i++) {
		struct flowtab_src sa, sb;
		struct flowtab_ref fr;
		struct flowtab_info ia, ib;
		char key[8];
		size_t len;
		int ca, cb;

		lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
		len = (size_t)snprintf(
		    key, sizeof(key), "k%u", (unsigned)(lcg >> 40) % 3);
		sa = src4(
		    (uint8_t)(lcg >> 33 & 7), (lcg >> 36) & 7, false, false);
		sb = sa;
		flowtab_srcids_stamp(ids, &sb, NULL);
		now += (lcg >> 50) % 4 == 0 ? 100 : 0;
		ca = flowtab_add(a, key, len, &sa, 1000, now);
		flowtab_prepare(b, key, len, &sb, &fr);
		flowtab_prefetch(b, &sb, &fr);
		cb = flowtab_add_ref(b, key, len, &sb, &fr, 1000, now);
		T_EQ(ca, cb);
		T_OK(flowtab_get(a, key, len, &sa, now, &ia));
		T_OK(flowtab_get(b, key, len, &sa, now, &ib));
		T_EQ(ia.samples, ib.samples);
		T_NEAR(ia.total, ib.total, 0);
		T_OK(addr_same(&ib.agent, &sa.agent) && ib.ds == sa.ds);
		found++;
	}
	T_EQ(flowtab_srcids_count(ids), 40);
	T_OK(flowtab_srcids_overflow(ids) > 0);
	T_EQ(found, 30000);
	flowtab_srcids_free(ids);
	flowtab_free(a);
	flowtab_free(b);
}

/*
 * The caller's memo of a source's registry answer (agents.c's): used
 * when it is this registry's and for this ds, and else looked up and
 * rewritten; never written for a source past the registry's end.
 */
static void
test_srcids_memo(void)
{
	struct flowtab_srcids *r1 = flowtab_srcids_new(5, 3),
	                      *r2 = flowtab_srcids_new(5, 8);
	struct sflow_src_memo m = { 0 }, none = { 0 };
	struct flowtab_src a = src4(1, 7, false, false), b, x;

	/* r2 knows other sources first, so its ids differ from r1's */
	for (uint32_t ds = 0; ds < 2; ds++) {
		x = src4(9, ds, false, false);
		flowtab_srcids_stamp(r2, &x, NULL);
	}
	b = a;
	flowtab_srcids_stamp(r1, &b, &m);
	T_EQ(b.id, 1);
	T_EQ(b.hash, flowtab_src_hash(5, &a));
	T_EQ(m.id, 1);
	T_EQ(m.ds, 7);
	T_EQ(m.hash, b.hash);
	T_OK(m.owner != 0);
	/* used as it is: a memo said to hold id 3 gives 3 */
	m.id = 3;
	x = a;
	flowtab_srcids_stamp(r1, &x, &m);
	T_EQ(x.id, 3);
	T_EQ(x.hash, b.hash);
	m.id = 1;
	/* another ds: looked up, and the memo now holds that one */
	x = src4(1, 8, false, false);
	flowtab_srcids_stamp(r1, &x, &m);
	T_EQ(x.id, 2);
	T_EQ(m.id, 2);
	T_EQ(m.ds, 8);
	/* another registry: looked up there (its own id) */
	x = src4(1, 8, false, false);
	flowtab_srcids_stamp(r2, &x, &m);
	T_EQ(x.id, 3);
	T_EQ(m.id, 3);
	x = src4(1, 8, false, false);
	flowtab_srcids_stamp(r1, &x, &m);
	T_EQ(x.id, 2);
	/* past the end of r1 (3 ids): id 0, overflow counted at each
	 * sample, the memo left alone */
	x = src4(2, 1, false, false);
	flowtab_srcids_stamp(r1, &x, NULL);
	T_EQ(x.id, 3);
	for (int i = 0; i < 2; i++) {
		x = src4(2, 2, false, false);
		flowtab_srcids_stamp(r1, &x, &none);
		T_EQ(x.id, 0);
		T_EQ(x.hash, flowtab_src_hash(5, &x));
		T_EQ(none.owner, 0);
	}
	T_EQ(flowtab_srcids_overflow(r1), 2);
	flowtab_srcids_free(r1);
	flowtab_srcids_free(r2);
}

/* The value of snapshot sn's only entry (-1: none). */
static double
snap_value(const struct flowtab_snapshot *sn)
{
	struct flowtab_query q = { .filter = FLOWTAB_ALL,
		.agg = FLOWTAB_AGG_SUM };
	struct flowtab_hit h[2];

	if (flowtab_snapshot_top(sn, &q, flowtab_snapshot_time(sn), h, 2) != 1)
		return -1;
	return h[0].value;
}

/*
 * An exporter sending a burst every second: the value is a sawtooth
 * (1270 after a burst, 771 before the next, for 1000/s at t = 2). Point
 * snapshots taken every second read it at their phase; averaged ones
 * read 1000 at every phase.
 */
static void
test_snapshot_avg_phase(void)
{
	const double t = 2, x = 1000;
	const uint64_t t0 = 1000000, phase[] = { 0, 1, 250, 500, 999 };
	struct flowtab_src s = src4(1, 3, true, false);
	double lo = 1e300, hi = 0;

	for (size_t p = 0; p < sizeof(phase) / sizeof(phase[0]); p++) {
		struct flowtab *ft = mk(t, 5, 100);
		double vp = 0, va = 0;

		for (uint64_t k = 0; k < 60; k++) {
			struct flowtab_snapshot *sn;
			uint64_t at = t0 + 1000 * k + phase[p];

			flowtab_add(ft, "f", 1, &s, x, t0 + 1000 * k);
			if (k < 3)
				continue;
			sn = flowtab_snapshot(ft, at);
			vp = snap_value(sn);
			flowtab_snapshot_free(sn);
			sn = flowtab_snapshot_avg(ft, at);
			va = snap_value(sn);
			flowtab_snapshot_free(sn);
		}
		T_NEAR(va, x, 1e-9);
		lo = vp < lo ? vp : lo;
		hi = vp > hi ? vp : hi;
		flowtab_free(ft);
	}
	/* the point values swing: what the averaging takes away */
	T_NEAR(hi, x / t / (1 - exp(-1 / t)), 1e-9);
	T_OK(lo < 0.8 * x);
}

/*
 * Averaged snapshots at irregular times against the mean computed from
 * the raw samples: SUM x_i * (exp(-(a - t_i)/t) - exp(-(b - t_i)/t)) /
 * (b - a), with (a - t_i)+. The first snapshot, and one after a gap
 * longer than FLOWTAB_AVG_MAX_T smoothing times, read the point value.
 */
static void
test_snapshot_avg_exact(void)
{
	const double t = 1.5;
	struct flowtab *ft = mk(t, 5, 100);
	struct flowtab_src s = src4(2, 7, false, true);
	uint64_t st[400], now = 5000000, prev = 0;
	double sx[400], total = 0;
	size_t ns = 0, checks = 0;
	struct flowtab_snapshot *sn;

	rs = 99;
	for (int round = 0; round < 40; round++) {
		uint64_t until = now + 1 + rndn(round == 20 ? 9000 : 2999);
		double want = 0;

		for (; ns < 400; ns++) {
			now += 1 + rndn(150);
			if (now > until)
				break;
			st[ns] = now;
			sx[ns] = 1 + rndn(5000);
			total += sx[ns];
			flowtab_add(ft, "g", 1, &s, sx[ns], now);
		}
		now = until;
		sn = flowtab_snapshot_avg(ft, now);
		for (size_t i = 0; i < ns; i++) {
			double b = (double)(now - st[i]) / 1000;
			double a =
			    st[i] > prev ? 0 : (double)(prev - st[i]) / 1000;

			want += sx[i] * (exp(-a / t) - exp(-b / t));
		}
		if (prev == 0 || now - prev > FLOWTAB_AVG_MAX_T * t * 1000)
			T_NEAR(
			    snap_value(sn), value_of(ft, "g", &s, now), 1e-9);
		else {
			/* a difference of integrals: exact to the total's
			 * rounding, whatever the mean (a quiet flow's is
			 * tiny) */
			double got = snap_value(sn),
			       w = want * 1000 / (double)(now - prev);

			if (!(fabs(got - w) <= 1e-9 * w +
			            1e-12 * total * 1000 /
			                (double)(now - prev)))
				T_FAIL("mean %.17g, expected %.17g", got, w);
			checks++;
		}
		flowtab_snapshot_free(sn);
		prev = now;
	}
	T_OK(checks >= 30);
	flowtab_free(ft);

	/* entries born in the window: averaged since their first sample;
	 * one born at the snapshot's time reads its value then */
	ft = mk(2, 5, 100);
	flowtab_add(ft, "old", 3, &s, 100, 1000);
	flowtab_snapshot_free(flowtab_snapshot_avg(ft, 2000));
	flowtab_add(ft, "new", 3, &s, 700, 2700);
	flowtab_add(ft, "now", 3, &s, 900, 3000);
	sn = flowtab_snapshot_avg(ft, 3000);
	{
		struct flowtab_query q = { .filter = FLOWTAB_ALL,
			.agg = FLOWTAB_AGG_SUM };
		struct flowtab_hit h[4];
		double v[3] = { 0 };

		T_EQ(flowtab_snapshot_top(sn, &q, 3000, h, 4), 3);
		for (int i = 0; i < 3; i++)
			v[h[i].key[1] == 'l'         ? 0
			        : h[i].key[1] == 'e' ? 1
			                             : 2] = h[i].value;
		/* old: the mean over (2000, 3000] */
		T_NEAR(v[0], 100 * (exp(-0.5) - exp(-1.0)), 1e-9);
		/* new: over (2700, 3000] */
		T_NEAR(v[1], 700 * (1 - exp(-0.15)) / 0.3, 1e-9);
		/* now: its value at 3000 */
		T_NEAR(v[2], 900 / 2.0, 1e-9);
	}
	flowtab_snapshot_free(sn);
	flowtab_free(ft);

	/* the top-n of a source is chosen by the mean: a burst 1 ms old
	 * (of an entry older than the window) has the larger value but the
	 * smaller mean */
	ft = mk(2, 1, 100);
	flowtab_add(ft, "burst", 5, &s, 1, 900);
	for (now = 1000; now <= 20000; now += 100) {
		flowtab_add(ft, "steady", 6, &s, 100, now);
		if (now == 19000)
			flowtab_snapshot_free(flowtab_snapshot_avg(ft, now));
	}
	flowtab_add(ft, "burst", 5, &s, 3000, 19999);
	sn = flowtab_snapshot_avg(ft, 20000);
	{
		struct flowtab_query q = { .filter = FLOWTAB_ALL,
			.agg = FLOWTAB_AGG_SUM };
		struct flowtab_hit h[2];

		T_EQ(flowtab_snapshot_top(sn, &q, 20000, h, 2), 1);
		T_OK(h[0].keylen == 6 && memcmp(h[0].key, "steady", 6) == 0);
		T_NEAR(h[0].value, 1000, 0.01);
		flowtab_snapshot_free(sn);
		sn = flowtab_snapshot(ft, 20000);
		T_EQ(flowtab_snapshot_top(sn, &q, 20000, h, 2), 1);
		T_OK(h[0].keylen == 5 && memcmp(h[0].key, "burst", 5) == 0);
	}
	flowtab_snapshot_free(sn);
	flowtab_free(ft);
}

/*
 * The flow log's marks, on keys held in each of an entry's places (the hot
 * line, the cold line, the heap), and across the table's growth after the
 * marks were first used.
 */
struct logged {
	char key[80];
	size_t keylen;
	uint64_t mark_ms, first_ms;
	double since_mark;
};

static void
log_cb(void *arg, const struct flowtab_info *in)
{
	struct logged *l = arg;
	struct logged *o = &l[l[0].keylen++ + 1];

	o->keylen = in->keylen;
	memcpy(o->key, in->key, in->keylen);
	o->mark_ms = in->mark_ms;
	o->first_ms = in->first_ms;
	o->since_mark = in->since_mark;
}

static void
test_log_marks(void)
{
	struct flowtab *ft = mk(1, 3, 1000);
	struct flowtab_src a = src4(1, 1, false, false);
	static const char *const keys[] = {
		"short",                             /* 5: hot */
		"10.1.2.7,192.168.100.9,6,1030,443", /* 33: cold */
		"fd00::1:2:3:4,fd00::5:6:7:8,6,1030,443,eth.ip6.tcp", /* heap */
	};
	struct logged l[1 + 300];
	struct flowtab_info info;
	char key[48];

	for (int k = 0; k < 3; k++)
		flowtab_add(
		    ft, keys[k], strlen(keys[k]), &a, 10.0 * (k + 1), 1000);
	/* out of order: an older sample moves first_ms back */
	flowtab_add(ft, keys[1], strlen(keys[1]), &a, 1, 900);
	memset(l, 0, sizeof(l));
	T_EQ(flowtab_log_active(ft, 5000, 2000, log_cb, l), 3);
	for (size_t i = 1; i <= l[0].keylen && i <= 3; i++) {
		int k = -1;

		for (int j = 0; j < 3; j++)
			if (strlen(keys[j]) == l[i].keylen &&
			    memcmp(keys[j], l[i].key, l[i].keylen) == 0)
				k = j;
		T_OK(k >= 0);
		if (k < 0)
			continue;
		T_EQ(l[i].first_ms, k == 1 ? 900 : 1000);
		T_EQ(l[i].mark_ms, l[i].first_ms); /* never reported before */
		T_NEAR(l[i].since_mark, 10.0 * (k + 1) + (k == 1), 1e-12);
	}
	/* nothing new: nothing reported */
	memset(l, 0, sizeof(l));
	T_EQ(flowtab_log_active(ft, 9000, 2000, log_cb, l), 0);
	/* the table grows (64 entries, then more) with the marks in use */
	for (int i = 0; i < 200; i++) {
		snprintf(key, sizeof(key), "grow-%d-0123456789abcdef", i);
		flowtab_add(ft, key, strlen(key), &a, 1, 9000);
	}
	flowtab_add(ft, keys[2], strlen(keys[2]), &a, 7, 9000);
	T_OK(flowtab_get(ft, keys[2], strlen(keys[2]), &a, 9000, &info));
	T_EQ(info.mark_ms, 5000);
	T_NEAR(info.since_mark, 7, 1e-12);
	T_EQ(info.first_ms, 1000);
	snprintf(key, sizeof(key), "grow-%d-0123456789abcdef", 150);
	T_OK(flowtab_get(ft, key, strlen(key), &a, 9000, &info));
	T_EQ(info.mark_ms, 9000);
	T_NEAR(info.since_mark, 1, 1e-12);
	memset(l, 0, sizeof(l));
	T_EQ(flowtab_log_active(ft, 12000, 2000, log_cb, l), 201);
	flowtab_free(ft);
}

int
main(void)
{
	t_suite = "flowtab";
	T_RUN(test_constant_rate);
	T_RUN(test_step_decay);
	T_RUN(test_irregular);
	T_RUN(test_reference);
	T_RUN(test_reference_evicting);
	T_RUN(test_bounded);
	T_RUN(test_edge_dedupe);
	T_RUN(test_topn_per_source);
	T_RUN(test_expiry);
	T_RUN(test_key_text);
	T_RUN(test_mumhash);
	T_RUN(test_rebase);
	T_RUN(test_add_info);
	T_RUN(test_staged);
	T_RUN(test_srcids_churn);
	T_RUN(test_srcids_memo);
	T_RUN(test_snapshot_avg_phase);
	T_RUN(test_snapshot_avg_exact);
	T_RUN(test_log_marks);
	return t_done();
}
