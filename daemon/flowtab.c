/*
 * flowtab.c: one flow definition's table of smoothed rates; see flowtab.h
 * for the formula, the eviction policy and the thread model. PURE: no
 * I/O, no logging. Owned by the engine thread; snapshots are read by any.
 *
 * Layout. Entries live in one dense array (removal moves the last entry
 * into the hole), so that eviction can sample uniformly and a sweep is a
 * linear scan. They are found through a chained hash on (key, data
 * source), and each data source threads its entries on a doubly linked
 * list, so that a per-source top-n never scans other sources. Keys of up
 * to KEY_INLINE bytes are stored in the entry; longer ones on the heap.
 */
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "flowtab.h"
#include "util.h"

#define NIL        UINT32_MAX
#define F_EDGE     0x01
#define F_CORE     0x02
#define KEY_INLINE 32
/* Move the epoch once now is this many smoothing times past it. */
#define REBASE_T 256.0
/* Entries checked for expiry by each add. */
#define SWEEP_STEP 2

struct fent {
	double acc;   /* SUM x * exp((t_i - epoch) / t) */
	double total; /* SUM x */
	uint64_t first_ms;
	uint64_t last_ms;
	uint64_t samples;
	uint32_t keyhash;
	uint32_t hnext; /* hash chain */
	uint32_t src;
	uint32_t sprev; /* the source's list */
	uint32_t snext;
	uint16_t keylen;
	uint8_t flags;
	union {
		char *p;
		char in[KEY_INLINE];
	} key;
};

struct fsrc {
	struct sflow_addr agent; /* normalised: unused bytes zero */
	uint32_t ds;
	uint32_t hash;
	uint32_t hnext; /* hash chain, or the free list */
	uint32_t head;  /* first entry */
	uint32_t count; /* entries */
	bool live;      /* false: on the free list */
};

struct flowtab {
	struct flowtab_conf conf;
	double inv_tau_ms; /* 1 / (t * 1000) */
	uint64_t epoch_ms;
	uint64_t k0, k1; /* SipHash key */
	uint64_t rng;

	struct fent *ents;
	uint32_t n, cap;
	uint32_t *buckets;
	uint32_t bmask;
	uint32_t sweep;

	struct fsrc *srcs;
	uint32_t nsrcs; /* high-water mark */
	uint32_t srccap;
	uint32_t src_free;
	uint32_t live_srcs;
	uint32_t *sbuckets;
	uint32_t sbmask;
	uint32_t cache_src; /* the last source looked up, or NIL */

	size_t key_heap; /* estimated heap bytes of long keys */
	uint64_t inserts, updates, evictions, expired, rejected, rebases;

	void (*gone_cb)(void *, const struct flowtab_info *, enum flowtab_gone);
	void *gone_arg;
	bool in_cb;
};

/* What a query merges: a live entry or a snapshot's copy of one. */
struct cand {
	double acc;
	const char *key;
	const struct sflow_addr *agent;
	uint32_t keyhash;
	uint32_t ds;
	uint32_t keylen;
	uint8_t flags;
};

struct snent {
	double acc;
	struct sflow_addr agent;
	uint32_t ds;
	uint32_t keyhash;
	uint32_t keylen;
	size_t keyoff;
	uint8_t flags;
};

struct flowtab_snapshot {
	uint64_t time_ms;
	uint64_t epoch_ms;
	double inv_tau_ms;
	double t;
	struct flowtab_stats stats;
	struct snent *ents;
	size_t n;
	char *keys;
};

/* ---- hashing ---------------------------------------------------------- */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                               \
	do {                                                                   \
		v0 += v1;                                                      \
		v1 = ROTL(v1, 13);                                             \
		v1 ^= v0;                                                      \
		v0 = ROTL(v0, 32);                                             \
		v2 += v3;                                                      \
		v3 = ROTL(v3, 16);                                             \
		v3 ^= v2;                                                      \
		v0 += v3;                                                      \
		v3 = ROTL(v3, 21);                                             \
		v3 ^= v0;                                                      \
		v2 += v1;                                                      \
		v1 = ROTL(v1, 17);                                             \
		v1 ^= v2;                                                      \
		v2 = ROTL(v2, 32);                                             \
	} while (0)

/*
 * SipHash-1-3 with a secret key: keys come from packets, and a hash an
 * attacker can predict would let him build long chains.
 */
static uint64_t
siphash13(uint64_t k0, uint64_t k1, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t v0 = k0 ^ 0x736f6d6570736575ull;
	uint64_t v1 = k1 ^ 0x646f72616e646f6dull;
	uint64_t v2 = k0 ^ 0x6c7967656e657261ull;
	uint64_t v3 = k1 ^ 0x7465646279746573ull;
	uint64_t m, b = (uint64_t)len << 56;
	size_t i, tail = len & 7;

	for (i = 0; i + 8 <= len; i += 8) {
		m = 0;
		for (int j = 7; j >= 0; j--)
			m = m << 8 | p[i + (size_t)j];
		v3 ^= m;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t j = 0; j < tail; j++)
		b |= (uint64_t)p[i + j] << (8 * j);
	v3 ^= b;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

static uint64_t
mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint64_t
rng_next(struct flowtab *ft)
{
	/* xorshift64* */
	ft->rng ^= ft->rng >> 12;
	ft->rng ^= ft->rng << 25;
	ft->rng ^= ft->rng >> 27;
	return ft->rng * 0x2545f4914f6cdd1dull;
}

static uint32_t
ent_bucket(const struct flowtab *ft, uint32_t keyhash, uint32_t src)
{
	uint64_t h = ((uint64_t)keyhash << 32 | src) * 0x9e3779b97f4a7c15ull;

	return (uint32_t)(h >> 32) & ft->bmask;
}

static size_t
addr_len(const struct sflow_addr *a)
{
	return a->family == 4 ? 4 : a->family == 6 ? 16 : 0;
}

static void
addr_norm(struct sflow_addr *dst, const struct sflow_addr *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->family = src->family;
	memcpy(dst->a, src->a, addr_len(src));
}

static bool
addr_eq(const struct sflow_addr *a, const struct sflow_addr *b)
{
	return a->family == b->family && memcmp(a->a, b->a, addr_len(a)) == 0;
}

/* Order agents for tie-breaks: family, then bytes. */
static int
addr_cmp(const struct sflow_addr *a, const struct sflow_addr *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->a, b->a, addr_len(a));
}

static int
key_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen ? 1 : 0;
}

static const char *
ent_key(const struct fent *e)
{
	return e->keylen <= KEY_INLINE ? e->key.in : e->key.p;
}

static double
ft_scale(uint64_t epoch_ms, double inv_tau_ms, double t, uint64_t now_ms)
{
	/* value = acc * exp(-(now - epoch) / t) / t */
	return exp(-(double)(int64_t)(now_ms - epoch_ms) * inv_tau_ms) / t;
}

/* ---- data sources ----------------------------------------------------- */

static uint32_t
src_hash(const struct flowtab *ft, const struct sflow_addr *agent,
    uint32_t ds)
{
	uint8_t buf[21];

	buf[0] = agent->family;
	memcpy(buf + 1, agent->a, 16);
	buf[17] = (uint8_t)ds;
	buf[18] = (uint8_t)(ds >> 8);
	buf[19] = (uint8_t)(ds >> 16);
	buf[20] = (uint8_t)(ds >> 24);
	return (uint32_t)siphash13(ft->k0, ft->k1, buf, sizeof(buf));
}

static void
src_rehash(struct flowtab *ft, uint32_t nb)
{
	free(ft->sbuckets);
	ft->sbuckets = xmalloc((size_t)nb * sizeof(*ft->sbuckets));
	memset(ft->sbuckets, 0xff, (size_t)nb * sizeof(*ft->sbuckets));
	ft->sbmask = nb - 1;
	for (uint32_t i = 0; i < ft->nsrcs; i++) {
		struct fsrc *s = &ft->srcs[i];
		uint32_t b;

		if (!s->live)
			continue;
		b = s->hash & ft->sbmask;
		s->hnext = ft->sbuckets[b];
		ft->sbuckets[b] = i;
	}
}

/* The index of (agent, ds), or NIL. */
static uint32_t
src_lookup(const struct flowtab *ft, const struct sflow_addr *agent,
    uint32_t ds, uint32_t h)
{
	for (uint32_t i = ft->sbuckets[h & ft->sbmask]; i != NIL;
	    i = ft->srcs[i].hnext) {
		const struct fsrc *s = &ft->srcs[i];

		if (s->hash == h && s->ds == ds && addr_eq(&s->agent, agent))
			return i;
	}
	return NIL;
}

/*
 * The index of (agent, ds), created with no entries if new. A source
 * lives while it has entries: the caller must add one (or release it).
 */
static uint32_t
src_get(struct flowtab *ft, const struct flowtab_src *src)
{
	struct sflow_addr a;
	struct fsrc *s;
	uint32_t h, i;

	addr_norm(&a, &src->agent);
	if (ft->cache_src != NIL) {
		s = &ft->srcs[ft->cache_src];
		if (s->ds == src->ds && addr_eq(&s->agent, &a))
			return ft->cache_src;
	}
	h = src_hash(ft, &a, src->ds);
	i = src_lookup(ft, &a, src->ds, h);
	if (i != NIL)
		return ft->cache_src = i;

	if (ft->src_free != NIL) {
		i = ft->src_free;
		ft->src_free = ft->srcs[i].hnext;
	} else {
		if (ft->nsrcs == ft->srccap) {
			ft->srccap = ft->srccap ? ft->srccap * 2 : 16;
			ft->srcs = xrealloc(ft->srcs,
			    (size_t)ft->srccap * sizeof(*ft->srcs));
		}
		i = ft->nsrcs++;
	}
	s = &ft->srcs[i];
	s->agent = a;
	s->ds = src->ds;
	s->hash = h;
	s->head = NIL;
	s->count = 0;
	s->live = true;
	s->hnext = ft->sbuckets[h & ft->sbmask];
	ft->sbuckets[h & ft->sbmask] = i;
	ft->live_srcs++;
	if (ft->live_srcs > ft->sbmask + 1)
		src_rehash(ft, (ft->sbmask + 1) * 2);
	return ft->cache_src = i;
}

/* Free a source that has no entries left. */
static void
src_release(struct flowtab *ft, uint32_t i)
{
	struct fsrc *s = &ft->srcs[i];
	uint32_t *pp = &ft->sbuckets[s->hash & ft->sbmask];

	assert(s->count == 0);
	while (*pp != i) {
		assert(*pp != NIL);
		pp = &ft->srcs[*pp].hnext;
	}
	*pp = s->hnext;
	s->live = false;
	s->hnext = ft->src_free;
	ft->src_free = i;
	ft->live_srcs--;
	if (ft->cache_src == i)
		ft->cache_src = NIL;
}

/* ---- entries ---------------------------------------------------------- */

static void
ent_rehash(struct flowtab *ft, uint32_t nb)
{
	free(ft->buckets);
	ft->buckets = xmalloc((size_t)nb * sizeof(*ft->buckets));
	memset(ft->buckets, 0xff, (size_t)nb * sizeof(*ft->buckets));
	ft->bmask = nb - 1;
	for (uint32_t i = 0; i < ft->n; i++) {
		struct fent *e = &ft->ents[i];
		uint32_t b = ent_bucket(ft, e->keyhash, e->src);

		e->hnext = ft->buckets[b];
		ft->buckets[b] = i;
	}
}

static uint32_t
ent_find(const struct flowtab *ft, const char *key, size_t keylen,
    uint32_t kh, uint32_t si)
{
	for (uint32_t i = ft->buckets[ent_bucket(ft, kh, si)]; i != NIL;
	    i = ft->ents[i].hnext) {
		const struct fent *e = &ft->ents[i];

		if (e->keyhash == kh && e->src == si && e->keylen == keylen &&
		    memcmp(ent_key(e), key, keylen) == 0)
			return i;
	}
	return NIL;
}

static size_t
key_heap_cost(size_t keylen)
{
	/* malloc: 8 bytes of header, 16-byte granules, 32 at least */
	size_t c = (keylen + 8 + 15) & ~(size_t)15;

	return c < 32 ? 32 : c;
}

static void
ent_info(const struct flowtab *ft, const struct fent *e, uint64_t now_ms,
    struct flowtab_info *info)
{
	const struct fsrc *s = &ft->srcs[e->src];

	info->key = ent_key(e);
	info->keylen = e->keylen;
	info->agent = s->agent;
	info->ds = s->ds;
	info->edge = (e->flags & F_EDGE) != 0;
	info->core = (e->flags & F_CORE) != 0;
	info->value = e->acc * ft_scale(ft->epoch_ms, ft->inv_tau_ms,
	    ft->conf.t, now_ms);
	info->total = e->total;
	info->samples = e->samples;
	info->first_ms = e->first_ms;
	info->last_ms = e->last_ms;
}

/* Point whatever refers to entry `from` at `to`, then move it there. */
static void
ent_move(struct flowtab *ft, uint32_t from, uint32_t to)
{
	struct fent *e = &ft->ents[from];
	uint32_t *pp = &ft->buckets[ent_bucket(ft, e->keyhash, e->src)];

	while (*pp != from) {
		assert(*pp != NIL);
		pp = &ft->ents[*pp].hnext;
	}
	*pp = to;
	if (e->sprev != NIL)
		ft->ents[e->sprev].snext = to;
	else
		ft->srcs[e->src].head = to;
	if (e->snext != NIL)
		ft->ents[e->snext].sprev = to;
	ft->ents[to] = *e;
}

static void
ent_remove(struct flowtab *ft, uint32_t i, enum flowtab_gone why,
    uint64_t now_ms)
{
	struct fent *e = &ft->ents[i];
	struct fsrc *s = &ft->srcs[e->src];
	uint32_t *pp;

	if (why == FLOWTAB_EVICTED)
		ft->evictions++;
	else
		ft->expired++;
	if (ft->gone_cb != NULL) {
		struct flowtab_info info;

		ent_info(ft, e, now_ms, &info);
		ft->in_cb = true;
		ft->gone_cb(ft->gone_arg, &info, why);
		ft->in_cb = false;
	}

	pp = &ft->buckets[ent_bucket(ft, e->keyhash, e->src)];
	while (*pp != i) {
		assert(*pp != NIL);
		pp = &ft->ents[*pp].hnext;
	}
	*pp = e->hnext;
	if (e->sprev != NIL)
		ft->ents[e->sprev].snext = e->snext;
	else
		s->head = e->snext;
	if (e->snext != NIL)
		ft->ents[e->snext].sprev = e->sprev;
	if (--s->count == 0)
		src_release(ft, e->src);
	if (e->keylen > KEY_INLINE) {
		ft->key_heap -= key_heap_cost(e->keylen);
		free(e->key.p);
	}
	if (i != ft->n - 1)
		ent_move(ft, ft->n - 1, i);
	ft->n--;
}

static bool
ent_expired(const struct flowtab *ft, const struct fent *e, uint64_t now_ms,
    double thr)
{
	int64_t idle = (int64_t)(now_ms - e->last_ms);

	return (double)idle * ft->inv_tau_ms >= FLOWTAB_EXPIRE_T &&
	    e->acc < thr;
}

/* exp((now - epoch) / t): the weight of a sample at now. */
static double
weight(const struct flowtab *ft, uint64_t now_ms)
{
	return exp((double)(int64_t)(now_ms - ft->epoch_ms) * ft->inv_tau_ms);
}

/*
 * Move the epoch to now once it is REBASE_T smoothing times behind, so
 * that weights stay far from overflow. O(entries), every 256 t.
 */
static void
maybe_rebase(struct flowtab *ft, uint64_t now_ms)
{
	double f;

	if ((double)(int64_t)(now_ms - ft->epoch_ms) * ft->inv_tau_ms <
	    REBASE_T)
		return;
	f = exp(-(double)(now_ms - ft->epoch_ms) * ft->inv_tau_ms);
	for (uint32_t i = 0; i < ft->n; i++)
		ft->ents[i].acc *= f;
	ft->epoch_ms = now_ms;
	ft->rebases++;
}

/* Check a few entries at the sweep cursor; remove the expired ones. */
static void
sweep_step(struct flowtab *ft, uint64_t now_ms, double thr, unsigned steps)
{
	while (steps-- > 0 && ft->n > 0) {
		if (ft->sweep >= ft->n)
			ft->sweep = 0;
		if (ent_expired(ft, &ft->ents[ft->sweep], now_ms, thr))
			ent_remove(ft, ft->sweep, FLOWTAB_EXPIRED, now_ms);
		else
			ft->sweep++;
	}
}

/*
 * Make room in a full table: of FLOWTAB_EVICT_SAMPLES entries picked at
 * random, remove the one with the smallest value now (the smallest acc,
 * as all share the epoch).
 */
static void
make_room(struct flowtab *ft, uint64_t now_ms, double thr)
{
	uint32_t victim = NIL;

	for (int k = 0; k < FLOWTAB_EVICT_SAMPLES; k++) {
		uint32_t i = (uint32_t)(((rng_next(ft) >> 32) * ft->n) >> 32);

		if (victim == NIL || ft->ents[i].acc < ft->ents[victim].acc)
			victim = i;
	}
	ent_remove(ft, victim,
	    ent_expired(ft, &ft->ents[victim], now_ms, thr) ? FLOWTAB_EXPIRED
							    : FLOWTAB_EVICTED,
	    now_ms);
}

/* ---- public: table ---------------------------------------------------- */

struct flowtab *
flowtab_new(const struct flowtab_conf *conf)
{
	struct flowtab *ft = xcalloc(1, sizeof(*ft));

	assert(conf->t > 0 && isfinite(conf->t));
	assert(conf->n >= 1);
	assert(conf->max_entries >= 1 && conf->max_entries <= (1u << 31));
	ft->conf = *conf;
	ft->inv_tau_ms = 1.0 / (conf->t * 1000.0);
	ft->k0 = mix64(conf->seed ^ 0x6a09e667f3bcc908ull);
	ft->k1 = mix64(conf->seed ^ 0xbb67ae8584caa73bull);
	ft->rng = mix64(conf->seed ^ 0x3c6ef372fe94f82bull) | 1;
	ft->cache_src = NIL;
	ft->src_free = NIL;
	ft->epoch_ms = 0;
	ent_rehash(ft, 64);
	src_rehash(ft, 16);
	return ft;
}

void
flowtab_free(struct flowtab *ft)
{
	if (ft == NULL)
		return;
	for (uint32_t i = 0; i < ft->n; i++)
		if (ft->ents[i].keylen > KEY_INLINE)
			free(ft->ents[i].key.p);
	free(ft->ents);
	free(ft->buckets);
	free(ft->srcs);
	free(ft->sbuckets);
	free(ft);
}

void
flowtab_set_gone_cb(struct flowtab *ft,
    void (*cb)(void *, const struct flowtab_info *, enum flowtab_gone),
    void *arg)
{
	ft->gone_cb = cb;
	ft->gone_arg = arg;
}

int
flowtab_add(struct flowtab *ft, const char *key, size_t keylen,
    const struct flowtab_src *src, double x, uint64_t now_ms)
{
	uint32_t si, kh, i;
	struct fent *e;
	double g;
	int created = 0;

	assert(!ft->in_cb);
	if (!(x >= 0) || !isfinite(x) || keylen > FLOWTAB_KEY_MAX) {
		ft->rejected++;
		return -1;
	}
	if (ft->n == 0)
		ft->epoch_ms = now_ms; /* nothing to rescale */
	else
		maybe_rebase(ft, now_ms);
	g = weight(ft, now_ms);
	si = src_get(ft, src);
	kh = (uint32_t)siphash13(ft->k0, ft->k1, key, keylen);
	i = ft->srcs[si].count ? ent_find(ft, key, keylen, kh, si) : NIL;

	if (i == NIL) {
		/*
		 * Count the new entry before making room: eviction must not
		 * free this source under us.
		 */
		ft->srcs[si].count++;
		if (ft->n >= ft->conf.max_entries)
			make_room(ft, now_ms, FLOWTAB_EPSILON * ft->conf.t * g);
		if (ft->n == ft->cap) {
			size_t ncap = ft->cap ? (size_t)ft->cap * 2 : 64;

			if (ncap > ft->conf.max_entries)
				ncap = ft->conf.max_entries;
			ft->ents = xrealloc(ft->ents, ncap * sizeof(*ft->ents));
			ft->cap = (uint32_t)ncap;
		}
		if (ft->n + 1 > ft->bmask + 1)
			ent_rehash(ft, (ft->bmask + 1) * 2);
		i = ft->n++;
		e = &ft->ents[i];
		memset(e, 0, sizeof(*e));
		e->keyhash = kh;
		e->src = si;
		e->keylen = (uint16_t)keylen;
		if (keylen > KEY_INLINE) {
			e->key.p = xmalloc(keylen);
			memcpy(e->key.p, key, keylen);
			ft->key_heap += key_heap_cost(keylen);
		} else if (keylen > 0)
			memcpy(e->key.in, key, keylen);
		e->first_ms = e->last_ms = now_ms;
		e->hnext = ft->buckets[ent_bucket(ft, kh, si)];
		ft->buckets[ent_bucket(ft, kh, si)] = i;
		e->sprev = NIL;
		e->snext = ft->srcs[si].head;
		if (e->snext != NIL)
			ft->ents[e->snext].sprev = i;
		ft->srcs[si].head = i;
		ft->inserts++;
		created = 1;
	} else {
		e = &ft->ents[i];
		ft->updates++;
	}
	e->acc += x * g;
	e->total += x;
	e->samples++;
	if ((int64_t)(now_ms - e->last_ms) > 0)
		e->last_ms = now_ms;
	if ((int64_t)(now_ms - e->first_ms) < 0)
		e->first_ms = now_ms;
	e->flags = (uint8_t)((src->edge ? F_EDGE : 0) | (src->core ? F_CORE : 0));

	sweep_step(ft, now_ms, FLOWTAB_EPSILON * ft->conf.t * g, SWEEP_STEP);
	return created;
}

bool
flowtab_get(const struct flowtab *ft, const char *key, size_t keylen,
    const struct flowtab_src *src, uint64_t now_ms, struct flowtab_info *info)
{
	struct sflow_addr a;
	uint32_t si, i;

	if (keylen > FLOWTAB_KEY_MAX)
		return false;
	addr_norm(&a, &src->agent);
	si = src_lookup(ft, &a, src->ds, src_hash(ft, &a, src->ds));
	if (si == NIL)
		return false;
	i = ent_find(ft, key, keylen,
	    (uint32_t)siphash13(ft->k0, ft->k1, key, keylen), si);
	if (i == NIL)
		return false;
	ent_info(ft, &ft->ents[i], now_ms, info);
	return true;
}

size_t
flowtab_expire(struct flowtab *ft, uint64_t now_ms)
{
	uint64_t before = ft->expired;
	double thr;

	assert(!ft->in_cb);
	if (ft->n == 0)
		return 0;
	maybe_rebase(ft, now_ms);
	thr = FLOWTAB_EPSILON * ft->conf.t * weight(ft, now_ms);
	for (uint32_t i = 0; i < ft->n;) {
		if (ent_expired(ft, &ft->ents[i], now_ms, thr))
			ent_remove(ft, i, FLOWTAB_EXPIRED, now_ms);
		else
			i++;
	}
	return (size_t)(ft->expired - before);
}

void
flowtab_stats(const struct flowtab *ft, struct flowtab_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->entries = ft->n;
	st->max_entries = ft->conf.max_entries;
	st->sources = ft->live_srcs;
	st->inserts = ft->inserts;
	st->updates = ft->updates;
	st->evictions = ft->evictions;
	st->expired = ft->expired;
	st->rejected = ft->rejected;
	st->rebases = ft->rebases;
	st->mem_bytes = sizeof(*ft) + (size_t)ft->cap * sizeof(*ft->ents) +
	    ((size_t)ft->bmask + 1) * sizeof(*ft->buckets) +
	    (size_t)ft->srccap * sizeof(*ft->srcs) +
	    ((size_t)ft->sbmask + 1) * sizeof(*ft->sbuckets) + ft->key_heap;
}

/* ---- queries ---------------------------------------------------------- */

/*
 * Within a data source: a larger acc first, then the smaller key, so that
 * which n entries a source shows does not depend on insertion order.
 */
static bool
ent_before(const struct flowtab *ft, uint32_t a, uint32_t b)
{
	const struct fent *ea = &ft->ents[a], *eb = &ft->ents[b];

	if (ea->acc != eb->acc)
		return ea->acc > eb->acc;
	return key_cmp(ent_key(ea), ea->keylen, ent_key(eb), eb->keylen) < 0;
}

/*
 * The n first entries of source si (in no particular order) into out,
 * which holds conf.n. A min-heap of the best so far: O(count log n).
 */
static size_t
src_topn(const struct flowtab *ft, uint32_t si, uint32_t *out)
{
	size_t n = ft->conf.n, k = 0;

	for (uint32_t i = ft->srcs[si].head; i != NIL; i = ft->ents[i].snext) {
		size_t j;

		if (k < n) {
			/* sift up: the root is the worst kept */
			j = k++;
			while (j > 0 && ent_before(ft, out[(j - 1) / 2], i)) {
				out[j] = out[(j - 1) / 2];
				j = (j - 1) / 2;
			}
			out[j] = i;
			continue;
		}
		if (!ent_before(ft, i, out[0]))
			continue;
		/* replace the root, sift down */
		j = 0;
		for (;;) {
			size_t c = 2 * j + 1;

			if (c >= k)
				break;
			if (c + 1 < k && ent_before(ft, out[c], out[c + 1]))
				c++;
			if (!ent_before(ft, i, out[c]))
				break;
			out[j] = out[c];
			j = c;
		}
		out[j] = i;
	}
	return k;
}

static bool
flags_pass(const struct flowtab_query *q, uint8_t flags)
{
	if ((q->filter == FLOWTAB_EDGE || q->agg == FLOWTAB_AGG_EDGE) &&
	    !(flags & F_EDGE))
		return false;
	if ((q->filter == FLOWTAB_CORE || q->agg == FLOWTAB_AGG_CORE) &&
	    !(flags & F_CORE))
		return false;
	return true;
}

/* Which entry a merged hit names: the larger, then edge, agent, ds. */
static bool
cand_better(const struct cand *a, const struct cand *b)
{
	int c;

	if (a->acc != b->acc)
		return a->acc > b->acc;
	if ((a->flags & F_EDGE) != (b->flags & F_EDGE))
		return (a->flags & F_EDGE) != 0;
	if ((c = addr_cmp(a->agent, b->agent)) != 0)
		return c < 0;
	return a->ds < b->ds;
}

struct group {
	uint32_t first; /* a candidate with the key; NIL: empty slot */
	uint32_t best;
	uint32_t merged;
	double agg; /* acc units */
	double value;
};

/* Hit order: larger value first, then the smaller key. */
static bool
group_before(const struct group *a, const struct group *b,
    const struct cand *c)
{
	const struct cand *ca = &c[a->first], *cb = &c[b->first];

	if (a->value != b->value)
		return a->value > b->value;
	return key_cmp(ca->key, ca->keylen, cb->key, cb->keylen) < 0;
}

static int
group_sort_cmp_r(const struct group *a, const struct group *b,
    const struct cand *c)
{
	if (group_before(a, b, c))
		return -1;
	if (group_before(b, a, c))
		return 1;
	return 0;
}

/*
 * Merge candidates with the same key by q->agg, keep those >= minValue,
 * and write the best k, sorted, to out. O(nc + groups log k).
 */
static size_t
merge_select(const struct cand *c, size_t nc, const struct flowtab_query *q,
    double scale, struct flowtab_hit *out, size_t max)
{
	struct group *g, **heap;
	size_t ng, k = max, nh = 0;
	bool is_max = q->agg == FLOWTAB_AGG_MAX || q->agg == FLOWTAB_AGG_CORE;

	if (q->max_flows != 0 && q->max_flows < k)
		k = q->max_flows;
	if (k == 0 || nc == 0)
		return 0;
	for (ng = 16; ng < 2 * nc; ng *= 2)
		;
	g = xmalloc(ng * sizeof(*g));
	for (size_t i = 0; i < ng; i++)
		g[i].first = NIL;

	for (size_t i = 0; i < nc; i++) {
		size_t s = (size_t)(mix64(c[i].keyhash) & (ng - 1));
		struct group *gr;

		for (;; s = (s + 1) & (ng - 1)) {
			const struct cand *f;

			gr = &g[s];
			if (gr->first == NIL)
				break;
			f = &c[gr->first];
			if (f->keyhash == c[i].keyhash &&
			    f->keylen == c[i].keylen &&
			    memcmp(f->key, c[i].key, c[i].keylen) == 0)
				break;
		}
		if (gr->first == NIL) {
			gr->first = gr->best = (uint32_t)i;
			gr->merged = 1;
			gr->agg = c[i].acc;
			continue;
		}
		gr->merged++;
		if (is_max) {
			if (c[i].acc > gr->agg)
				gr->agg = c[i].acc;
		} else
			gr->agg += c[i].acc;
		if (cand_better(&c[i], &c[gr->best]))
			gr->best = (uint32_t)i;
	}

	/* A min-heap of the k best groups: the root is the worst kept. */
	heap = xmalloc(k * sizeof(*heap));
	for (size_t s = 0; s < ng; s++) {
		struct group *gr = &g[s];
		size_t j;

		if (gr->first == NIL)
			continue;
		gr->value = gr->agg * scale;
		if (!(gr->value >= q->min_value))
			continue;
		if (nh < k) {
			j = nh++;
			while (j > 0 && group_before(heap[(j - 1) / 2], gr, c)) {
				heap[j] = heap[(j - 1) / 2];
				j = (j - 1) / 2;
			}
			heap[j] = gr;
			continue;
		}
		if (!group_before(gr, heap[0], c))
			continue;
		j = 0;
		for (;;) {
			size_t ch = 2 * j + 1;

			if (ch >= nh)
				break;
			if (ch + 1 < nh &&
			    group_before(heap[ch], heap[ch + 1], c))
				ch++;
			if (!group_before(gr, heap[ch], c))
				break;
			heap[j] = heap[ch];
			j = ch;
		}
		heap[j] = gr;
	}

	/* Sort the kept groups best first (insertion sort: k is small). */
	for (size_t i = 1; i < nh; i++) {
		struct group *x = heap[i];
		size_t j = i;

		while (j > 0 && group_sort_cmp_r(x, heap[j - 1], c) < 0) {
			heap[j] = heap[j - 1];
			j--;
		}
		heap[j] = x;
	}
	for (size_t i = 0; i < nh; i++) {
		const struct group *gr = heap[i];
		const struct cand *b = &c[gr->best];

		out[i].key = c[gr->first].key;
		out[i].keylen = c[gr->first].keylen;
		out[i].value = gr->value;
		out[i].agent = *b->agent;
		out[i].ds = b->ds;
		out[i].merged = gr->merged;
	}
	free(heap);
	free(g);
	return nh;
}

/* Does source si pass the query's agent filter? */
static bool
src_pass(const struct flowtab_query *q, const struct sflow_addr *agent)
{
	struct sflow_addr a;

	if (q->filter != FLOWTAB_ONE)
		return true;
	addr_norm(&a, &q->agent);
	return addr_eq(agent, &a);
}

size_t
flowtab_top(const struct flowtab *ft, const struct flowtab_query *q,
    uint64_t now_ms, struct flowtab_hit *out, size_t max)
{
	struct cand *c;
	uint32_t *top;
	size_t nc = 0, cap, r;

	if (ft->n == 0 || max == 0)
		return 0;
	cap = (size_t)ft->live_srcs * ft->conf.n;
	if (cap > ft->n)
		cap = ft->n;
	c = xmalloc(cap * sizeof(*c));
	top = xmalloc(ft->conf.n * sizeof(*top));
	for (uint32_t si = 0; si < ft->nsrcs; si++) {
		const struct fsrc *s = &ft->srcs[si];
		size_t k;

		if (s->count == 0 || !src_pass(q, &s->agent))
			continue;
		k = src_topn(ft, si, top);
		for (size_t j = 0; j < k; j++) {
			const struct fent *e = &ft->ents[top[j]];

			if (!flags_pass(q, e->flags))
				continue;
			assert(nc < cap);
			c[nc].acc = e->acc;
			c[nc].key = ent_key(e);
			c[nc].keylen = e->keylen;
			c[nc].keyhash = e->keyhash;
			c[nc].agent = &s->agent;
			c[nc].ds = s->ds;
			c[nc].flags = e->flags;
			nc++;
		}
	}
	r = merge_select(c, nc, q,
	    ft_scale(ft->epoch_ms, ft->inv_tau_ms, ft->conf.t, now_ms), out,
	    max);
	free(top);
	free(c);
	return r;
}

/* ---- snapshots -------------------------------------------------------- */

struct flowtab_snapshot *
flowtab_snapshot(const struct flowtab *ft, uint64_t now_ms)
{
	struct flowtab_snapshot *sn = xcalloc(1, sizeof(*sn));
	size_t cap, keycap = 0, keylen = 0;
	uint32_t *top = xmalloc(ft->conf.n * sizeof(*top));

	sn->time_ms = now_ms;
	sn->epoch_ms = ft->epoch_ms;
	sn->inv_tau_ms = ft->inv_tau_ms;
	sn->t = ft->conf.t;
	flowtab_stats(ft, &sn->stats);
	cap = (size_t)ft->live_srcs * ft->conf.n;
	if (cap > ft->n)
		cap = ft->n;
	sn->ents = xmalloc((cap ? cap : 1) * sizeof(*sn->ents));
	for (uint32_t si = 0; si < ft->nsrcs; si++) {
		const struct fsrc *s = &ft->srcs[si];
		size_t k;

		if (s->count == 0)
			continue;
		k = src_topn(ft, si, top);
		for (size_t j = 0; j < k; j++) {
			const struct fent *e = &ft->ents[top[j]];
			struct snent *se = &sn->ents[sn->n++];

			if (keylen + e->keylen > keycap) {
				keycap = keycap ? keycap * 2 : 4096;
				while (keycap < keylen + e->keylen)
					keycap *= 2;
				sn->keys = xrealloc(sn->keys, keycap);
			}
			if (e->keylen > 0)
				memcpy(sn->keys + keylen, ent_key(e),
				    e->keylen);
			se->acc = e->acc;
			se->agent = s->agent;
			se->ds = s->ds;
			se->keyhash = e->keyhash;
			se->keylen = e->keylen;
			se->keyoff = keylen;
			se->flags = e->flags;
			keylen += e->keylen;
		}
	}
	free(top);
	return sn;
}

void
flowtab_snapshot_free(struct flowtab_snapshot *sn)
{
	if (sn == NULL)
		return;
	free(sn->ents);
	free(sn->keys);
	free(sn);
}

size_t
flowtab_snapshot_top(const struct flowtab_snapshot *sn,
    const struct flowtab_query *q, uint64_t now_ms, struct flowtab_hit *out,
    size_t max)
{
	static const char empty[1];
	struct cand *c;
	size_t nc = 0, r;

	if (sn->n == 0 || max == 0)
		return 0;
	c = xmalloc(sn->n * sizeof(*c));
	for (size_t i = 0; i < sn->n; i++) {
		const struct snent *se = &sn->ents[i];

		if (!src_pass(q, &se->agent) || !flags_pass(q, se->flags))
			continue;
		c[nc].acc = se->acc;
		c[nc].key = sn->keys ? sn->keys + se->keyoff : empty;
		c[nc].keylen = se->keylen;
		c[nc].keyhash = se->keyhash;
		c[nc].agent = &se->agent;
		c[nc].ds = se->ds;
		c[nc].flags = se->flags;
		nc++;
	}
	r = merge_select(c, nc, q,
	    ft_scale(sn->epoch_ms, sn->inv_tau_ms, sn->t, now_ms), out, max);
	free(c);
	return r;
}

void
flowtab_snapshot_stats(const struct flowtab_snapshot *sn,
    struct flowtab_stats *st)
{
	*st = sn->stats;
}

uint64_t
flowtab_snapshot_time(const struct flowtab_snapshot *sn)
{
	return sn->time_ms;
}
