/*
 * flowtab.c: one flow definition's table of smoothed rates; see flowtab.h
 * for the formula, the eviction policy and the thread model. PURE: no
 * I/O, no logging. Owned by the engine thread; snapshots are read by any.
 *
 * Layout. Entries live in one dense array (removal moves the last entry
 * into the hole), so that eviction can sample uniformly and the sweeps
 * and the per-source top-n are linear scans, which the hardware
 * prefetches. They are found through an open-addressing index of
 * (entry, 32-bit hash of key and source) slots with linear probing: a
 * lookup touches one slot run and, but for a rare tag collision, only the
 * entry it wants.
 *
 * An entry is one cache line (struct fent): what an update reads, with
 * keys of up to KEY_HOT bytes. What only creation, the flow log, the
 * snapshots and the expiry read lives in parallel arrays, moved with it:
 * first_ms and avg_i (cold, always), the flow log's marks (made on first
 * use), keys of KEY_HOT + 1 to KEY_WIDE bytes (wide, made when the first
 * such key comes). Longer keys are on the heap. A table of short keys
 * (IPv4 pairs and 5-tuples) holds 80 bytes an entry, where one entry of
 * two cache lines held 128.
 */
#include <assert.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "flowtab.h"
#include "util.h"

#define NIL    UINT32_MAX
#define F_EDGE 0x01
#define F_CORE 0x02
_Static_assert(F_EDGE == 1 && F_CORE == 2, "flowtab_add_ref() ors the bools");
/* keys of up to this many bytes are in the entry's own cache line:
 * packed IPv4 pairs and 5-tuples */
#define KEY_HOT 16
/* ... up to this many in the wide array (IPv6 pairs, fabmon_flows' keys);
 * longer ones on the heap */
#define KEY_WIDE 48
/* an entry's size and alignment: one cache line */
#define FENT_ALIGN 64
/* Move the epoch once now is this many smoothing times past it. */
#define REBASE_T 256.0
/* Entries checked for expiry by each add. */
#define SWEEP_STEP 1
/* ... prefetched this many entries ahead */
#define SWEEP_AHEAD 8

struct fent {
	/* what sweeps and updates read, with keys of up to KEY_HOT bytes:
	 * an update of an entry with a key that short reads nothing else */
	double acc; /* SUM x * exp((t_i - epoch) / t) */
	uint64_t last_ms;
	double total; /* SUM x */
	uint64_t samples;
	uint32_t keyhash; /* of the key alone: queries merge on it */
	uint32_t src;
	uint16_t keylen;
	uint8_t flags;
	/* unique among the table's entries since the last wrap of
	 * serial_next (flowtab_serial_wraps()): a flowtab_pos names it */
	uint32_t serial;
	union {
		char *p; /* keylen > KEY_WIDE */
		char in[KEY_HOT];
	} key;
} __attribute__((aligned(FENT_ALIGN)));
_Static_assert(sizeof(struct fent) == FENT_ALIGN, "fent is 64 bytes");

/* An entry's cold part (ft->cold[i] for ft->ents[i]). */
struct fcold {
	uint64_t first_ms;
	/* total - t * value at the last flowtab_snapshot_avg() (0 if the
	 * entry is newer): the integral of the value up to then */
	double avg_i;
};

/* An entry's flow log marks (ft->marks[i], once the log has marked). */
struct fmark {
	double total; /* total when the flow log last reported it */
	uint64_t ms;  /* ... and when (0: never; first_ms is the start) */
};

/* A key of KEY_HOT + 1 to KEY_WIDE bytes (ft->wide[i]). */
struct fwide {
	char k[KEY_WIDE];
};

/*
 * An index slot: an entry (or a source), and the hash that placed it; h 0
 * marks an empty slot.
 */
struct slot {
	uint32_t idx;
	uint32_t h;
};

struct fsrc {
	struct sflow_addr agent; /* normalised: unused bytes zero */
	uint32_t ds;
	uint32_t hash;      /* never 0 */
	uint32_t next_free; /* on the free list */
	uint32_t count;     /* entries */
	uint32_t id;        /* flowtab_src.id, 0: none */
	bool live;          /* false: on the free list */
};

struct flowtab {
	struct flowtab_conf conf;
	double inv_tau_ms; /* 1 / (t * 1000) */
	uint64_t epoch_ms;
	/* maybe_rebase() is called once now - epoch_ms reaches this (a
	 * little early: it checks exactly) */
	int64_t rebase_span;
	uint64_t k0, k1;   /* the keys' hash key (mumhash()) */
	uint64_t ks;       /* ... its mumhash_seed() */
	uint64_t sk0, sk1; /* ... of the sources: conf.src_seed */
	/* weight() of the latest add, for the next add at the same time
	 * (g_ms UINT64_MAX: none yet) */
	uint64_t g_ms, g_epoch;
	double g;
	uint64_t rng;

	struct fent *ents;
	struct fcold *cold;  /* cap of them */
	struct fmark *marks; /* NULL, or cap of them */
	struct fwide *wide;  /* NULL, or cap of them */
	uint32_t n, cap;
	uint32_t serial_next; /* the last entry's serial */
	uint32_t serial_wraps;
	uint32_t last_i;    /* the entry of the latest add */
	size_t ents_bytes;  /* allocated: cap entries or a little more */
	struct slot *slots; /* power-of-two size, at most 3/4 full */
	uint32_t smask;
	uint32_t sweep;

	struct fsrc *srcs;
	uint32_t nsrcs; /* high-water mark */
	uint32_t srccap;
	uint32_t src_free;
	uint32_t live_srcs;
	struct slot *sslots; /* the sources' index, like the entries' */
	uint32_t ssmask;
	uint32_t cache_src; /* the last source looked up, or NIL */
	/* by_id[id]: the source with flowtab_src.id id, or NIL; grown to
	 * the largest id seen */
	uint32_t *by_id;
	uint32_t by_id_n;

	uint64_t avg_ms; /* the last flowtab_snapshot_avg(), 0: none */

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
	uint64_t first_ms, last_ms;
	uint32_t src; /* in the snapshot's srcs */
	uint32_t keyhash;
	uint32_t keyoff;
	uint32_t keylen; /* as text: may be longer than FLOWTAB_KEY_MAX */
	uint8_t flags;
};

struct snsrc {
	struct sflow_addr agent;
	uint32_t ds;
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
	struct snsrc *srcs;
	size_t n_srcs;
};

/* ---- hashing ---------------------------------------------------------- */

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

/*
 * The index hash of (key, source), from the key's hash and the source's
 * (not its index, so that flowtab_prepare() can place a sample before the
 * source is looked up); never 0, which marks an empty slot.
 */
static inline uint32_t
slot_hash(uint32_t keyhash, uint32_t srchash)
{
	/* both are keyed hashes, each uniform on its own: their xor is too,
	 * and it differs for one key from two sources */
	uint32_t h = keyhash ^ srchash;

	return h ? h : 1;
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

static inline const char *
ent_key(const struct flowtab *ft, const struct fent *e)
{
	if (e->keylen <= KEY_HOT)
		return e->key.in;
	if (e->keylen <= KEY_WIDE)
		return ft->wide[e - ft->ents].k;
	return e->key.p;
}

static double
ft_scale(uint64_t epoch_ms, double inv_tau_ms, double t, uint64_t now_ms)
{
	/* value = acc * exp(-(now - epoch) / t) / t */
	return exp(-(double)(int64_t)(now_ms - epoch_ms) * inv_tau_ms) / t;
}

/* ---- data sources ----------------------------------------------------- */

/* Never 0, which marks an empty index slot. */
static uint32_t
src_hash_k(
    uint64_t k0, uint64_t k1, const struct sflow_addr *agent, uint32_t ds)
{
	uint32_t h = sflow_addr_hash(k0, k1, agent, ds);

	return h ? h : 1;
}

static uint32_t
src_hash(const struct flowtab *ft, const struct sflow_addr *agent, uint32_t ds)
{
	return src_hash_k(ft->sk0, ft->sk1, agent, ds);
}

static void
src_keys(uint64_t seed, uint64_t *k0, uint64_t *k1)
{
	*k0 = mix64(seed ^ 0x510e527fade682d1ull);
	*k1 = mix64(seed ^ 0x9b05688c2b3e6c1full);
}

uint32_t
flowtab_src_hash(uint64_t src_seed, const struct flowtab_src *src)
{
	struct sflow_addr a;
	uint64_t k0, k1;

	src_keys(src_seed, &k0, &k1);
	addr_norm(&a, &src->agent);
	return src_hash_k(k0, k1, &a, src->ds);
}

static void
slot_put(struct slot *slots, uint32_t mask, uint32_t h, uint32_t idx)
{
	uint32_t j = h & mask;

	while (slots[j].h != 0)
		j = (j + 1) & mask;
	slots[j].h = h;
	slots[j].idx = idx;
}

/* The slot that holds idx, placed by hash h. */
static uint32_t
slot_find(const struct slot *slots, uint32_t mask, uint32_t h, uint32_t idx)
{
	uint32_t j = h & mask;

	while (slots[j].idx != idx || slots[j].h != h) {
		assert(slots[j].h != 0);
		j = (j + 1) & mask;
	}
	return j;
}

/*
 * Empty slot i, shifting back the slots after it that would no longer be
 * found (linear probing needs no tombstones).
 */
static void
slot_del(struct slot *slots, uint32_t mask, uint32_t i)
{
	uint32_t j = i, k;

	for (;;) {
		j = (j + 1) & mask;
		if (slots[j].h == 0)
			break;
		k = slots[j].h & mask;
		/* stays if its home k lies cyclically in (i, j] */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		slots[i] = slots[j];
		i = j;
	}
	slots[i].h = 0;
	slots[i].idx = 0;
}

static void
src_rehash(struct flowtab *ft, uint32_t ns)
{
	free(ft->sslots);
	ft->sslots = xcalloc(ns, sizeof(*ft->sslots));
	ft->ssmask = ns - 1;
	for (uint32_t i = 0; i < ft->nsrcs; i++)
		if (ft->srcs[i].live)
			slot_put(ft->sslots, ft->ssmask, ft->srcs[i].hash, i);
}

/* The index of (agent, ds) hashed h in srcs through slots, or NIL. */
static uint32_t
fsrc_find(const struct slot *slots, uint32_t mask, const struct fsrc *srcs,
    const struct sflow_addr *agent, uint32_t ds, uint32_t h)
{
	for (uint32_t j = h & mask; slots[j].h != 0; j = (j + 1) & mask) {
		const struct fsrc *s;

		if (slots[j].h != h)
			continue;
		s = &srcs[slots[j].idx];
		if (s->ds == ds && addr_eq(&s->agent, agent))
			return slots[j].idx;
	}
	return NIL;
}

/* The index of (agent, ds), or NIL. */
static uint32_t
src_lookup(const struct flowtab *ft, const struct sflow_addr *agent,
    uint32_t ds, uint32_t h)
{
	return fsrc_find(ft->sslots, ft->ssmask, ft->srcs, agent, ds, h);
}

/* Make room in by_id for id (NIL-filled). */
static void
by_id_grow(struct flowtab *ft, uint32_t id)
{
	uint32_t n = ft->by_id_n ? ft->by_id_n : 64;

	if (id < ft->by_id_n)
		return;
	while (n <= id)
		n *= 2;
	ft->by_id = xrealloc(ft->by_id, (size_t)n * sizeof(*ft->by_id));
	for (uint32_t j = ft->by_id_n; j < n; j++)
		ft->by_id[j] = NIL;
	ft->by_id_n = n;
}

/* Source i is the one with id (0: none); by_id has room for it. */
static uint32_t
src_bind(struct flowtab *ft, uint32_t i, uint32_t id)
{
	/* One registry per table: a source has one id. Should another
	 * come, the first stays and the other is looked up by address. */
	if (id != 0 && ft->srcs[i].id == 0) {
		ft->srcs[i].id = id;
		ft->by_id[id] = i;
	}
	return i;
}

/*
 * The index of (agent, ds), created with no entries if new. A source
 * lives while it has entries: the caller must add one (or release it).
 */
static uint32_t
src_get(struct flowtab *ft, const struct flowtab_src *src, uint32_t h)
{
	struct sflow_addr a;
	struct fsrc *s;
	uint32_t i;

	if (src->id != 0 && src->id < ft->by_id_n && ft->by_id[src->id] != NIL)
		return ft->by_id[src->id];
	addr_norm(&a, &src->agent);
	if (src->id != 0)
		by_id_grow(ft, src->id);
	if (ft->cache_src != NIL) {
		s = &ft->srcs[ft->cache_src];
		if (s->ds == src->ds && addr_eq(&s->agent, &a))
			return src_bind(ft, ft->cache_src, src->id);
	}
	i = src_lookup(ft, &a, src->ds, h);
	if (i != NIL)
		return src_bind(ft, ft->cache_src = i, src->id);

	if (ft->src_free != NIL) {
		i = ft->src_free;
		ft->src_free = ft->srcs[i].next_free;
	} else {
		if (ft->nsrcs == ft->srccap) {
			ft->srccap = ft->srccap ? ft->srccap * 2 : 16;
			ft->srcs = xrealloc(
			    ft->srcs, (size_t)ft->srccap * sizeof(*ft->srcs));
		}
		i = ft->nsrcs++;
	}
	s = &ft->srcs[i];
	s->agent = a;
	s->ds = src->ds;
	s->hash = h;
	s->count = 0;
	s->id = 0;
	s->live = true;
	ft->live_srcs++;
	if ((size_t)ft->live_srcs > (size_t)(ft->ssmask + 1) / 4 * 3)
		src_rehash(ft, (ft->ssmask + 1) * 2); /* puts s too */
	else
		slot_put(ft->sslots, ft->ssmask, h, i);
	return src_bind(ft, ft->cache_src = i, src->id);
}

/* Free a source that has no entries left. */
static void
src_release(struct flowtab *ft, uint32_t i)
{
	struct fsrc *s = &ft->srcs[i];

	assert(s->count == 0);
	slot_del(ft->sslots, ft->ssmask,
	    slot_find(ft->sslots, ft->ssmask, s->hash, i));
	if (s->id != 0)
		ft->by_id[s->id] = NIL;
	s->live = false;
	s->next_free = ft->src_free;
	ft->src_free = i;
	ft->live_srcs--;
	if (ft->cache_src == i)
		ft->cache_src = NIL;
}

/* ---- the source registry ---------------------------------------------- */

struct flowtab_srcids {
	uint32_t serial; /* the memos' owner: never 0, one per registry */
	uint64_t k0, k1; /* the tables' source hash key */
	uint32_t max;
	struct fsrc *ids; /* ids[id]; ids[0] unused */
	uint32_t n, cap;  /* ids given: 1 .. n */
	struct slot *slots;
	uint32_t mask;
	uint64_t overflow;
};

struct flowtab_srcids *
flowtab_srcids_new(uint64_t src_seed, uint32_t max)
{
	static atomic_uint serials;
	struct flowtab_srcids *r = xcalloc(1, sizeof(*r));

	do
		r->serial = atomic_fetch_add(&serials, 1) + 1;
	while (r->serial == 0);
	src_keys(src_seed, &r->k0, &r->k1);
	r->max = max < NIL - 1 ? max : NIL - 2;
	r->mask = 63;
	r->slots = xcalloc(r->mask + 1, sizeof(*r->slots));
	return r;
}

void
flowtab_srcids_free(struct flowtab_srcids *r)
{
	if (r == NULL)
		return;
	free(r->ids);
	free(r->slots);
	free(r);
}

static void
srcids_lookup(struct flowtab_srcids *r, struct flowtab_src *src)
{
	struct sflow_addr a;
	uint32_t h, id;

	addr_norm(&a, &src->agent);
	h = src_hash_k(r->k0, r->k1, &a, src->ds);
	src->hash = h;
	src->id = 0;
	id = fsrc_find(r->slots, r->mask, r->ids, &a, src->ds, h);
	if (id != NIL) {
		src->id = id;
		return;
	}
	if (r->n >= r->max) {
		r->overflow++;
		return;
	}
	if (r->n + 1 >= r->cap) {
		r->cap = r->cap ? 2 * r->cap : 64;
		r->ids = xrealloc(r->ids, (size_t)r->cap * sizeof(*r->ids));
	}
	src->id = ++r->n;
	memset(&r->ids[src->id], 0, sizeof(r->ids[src->id]));
	r->ids[src->id].agent = a;
	r->ids[src->id].ds = src->ds;
	r->ids[src->id].hash = h;
	r->ids[src->id].id = src->id;
	if ((size_t)r->n > (size_t)(r->mask + 1) / 4 * 3) {
		free(r->slots);
		r->mask = 2 * r->mask + 1;
		r->slots = xcalloc((size_t)r->mask + 1, sizeof(*r->slots));
		for (uint32_t i = 1; i <= r->n; i++)
			slot_put(r->slots, r->mask, r->ids[i].hash, i);
	} else {
		slot_put(r->slots, r->mask, h, src->id);
	}
}

void
flowtab_srcids_stamp(struct flowtab_srcids *r, struct flowtab_src *src,
    struct sflow_src_memo *memo)
{
	if (memo != NULL && memo->owner == r->serial && memo->ds == src->ds) {
		src->id = memo->id;
		src->hash = memo->hash;
		return;
	}
	srcids_lookup(r, src);
	/* a source past the registry's end (id 0) is looked up, and
	 * counted in its overflow, at each sample, as without a memo */
	if (memo != NULL && src->id != 0) {
		memo->owner = r->serial;
		memo->ds = src->ds;
		memo->id = src->id;
		memo->hash = src->hash;
	}
}

uint32_t
flowtab_srcids_count(const struct flowtab_srcids *r)
{
	return r->n;
}

uint64_t
flowtab_srcids_overflow(const struct flowtab_srcids *r)
{
	return r->overflow;
}

/* ---- entries ---------------------------------------------------------- */

/* A parallel array of ncap elements of size sz, the first n of old's. */
static void *
par_grow(void *old, size_t sz, uint32_t n, uint32_t ncap)
{
	void *p = xmalloc_huge((size_t)ncap * sz);

	if (n > 0)
		memcpy(p, old, (size_t)n * sz);
	free(old);
	return p;
}

/*
 * Room for ncap entries or more (up to max_entries: a huge page's
 * rounding is used), aligned (realloc would not keep the alignment).
 */
static void
ents_grow(struct flowtab *ft, size_t ncap)
{
	size_t bytes = ncap * sizeof(struct fent);
	struct fent *ne = xalloc_big(FENT_ALIGN, &bytes);

	if (ft->n > 0)
		memcpy(ne, ft->ents, (size_t)ft->n * sizeof(*ne));
	free(ft->ents);
	ft->ents = ne;
	ft->ents_bytes = bytes;
	ncap = bytes / sizeof(*ne);
	ft->cap =
	    (uint32_t)(ncap < ft->conf.max_entries ? ncap
	                                           : ft->conf.max_entries);
	ft->cold = par_grow(ft->cold, sizeof(*ft->cold), ft->n, ft->cap);
	if (ft->marks != NULL)
		ft->marks =
		    par_grow(ft->marks, sizeof(*ft->marks), ft->n, ft->cap);
	if (ft->wide != NULL)
		ft->wide =
		    par_grow(ft->wide, sizeof(*ft->wide), ft->n, ft->cap);
}

/* The parallel arrays made on first use. */
static void
marks_need(struct flowtab *ft)
{
	if (ft->marks == NULL)
		ft->marks = xcalloc(ft->cap ? ft->cap : 1, sizeof(*ft->marks));
}

static void
wide_need(struct flowtab *ft)
{
	if (ft->wide == NULL)
		ft->wide = xmalloc_huge(
		    (size_t)(ft->cap ? ft->cap : 1) * sizeof(*ft->wide));
}

static uint32_t
ent_hash(const struct flowtab *ft, const struct fent *e)
{
	return slot_hash(e->keyhash, ft->srcs[e->src].hash);
}

/* An index of ns slots or more (a huge page's rounding is used). */
static void
ent_rehash(struct flowtab *ft, uint32_t ns)
{
	size_t bytes = (size_t)ns * sizeof(struct slot);

	free(ft->slots);
	ft->slots = xalloc_big(64, &bytes); /* a slot line: 8 slots */
	memset(ft->slots, 0, bytes);
	ns = (uint32_t)(bytes / sizeof(struct slot));
	assert((ns & (ns - 1)) == 0); /* HUGE_PAGE is a power of two */
	ft->smask = ns - 1;
	for (uint32_t i = 0; i < ft->n; i++)
		slot_put(ft->slots, ft->smask, ent_hash(ft, &ft->ents[i]), i);
}

/* a[0 .. 16) == b[0 .. 16) */
static inline bool
eq16(const char *a, const char *b)
{
	uint64_t a0, a1, b0, b1;

	memcpy(&a0, a, 8);
	memcpy(&b0, b, 8);
	memcpy(&a1, a + 8, 8);
	memcpy(&b1, b + 8, 8);
	return ((a0 ^ b0) | (a1 ^ b1)) == 0;
}

/*
 * a[0 .. n) == b[0 .. n). Up to 48 bytes without memcmp(): a call for a
 * few bytes, whose vector loads also read past n, so that comparing a
 * short key would read the entry's second cache line too.
 */
static inline __attribute__((always_inline)) bool
key_eq(const char *a, const char *b, size_t n)
{
	uint64_t a0, a1, b0, b1;
	uint32_t c0, c1, d0, d1;

	if (n > 48)
		return memcmp(a, b, n) == 0;
	if (n > 32) /* 16, 16, then the last 16 (overlapping) */
		return eq16(a, b) && eq16(a + 16, b + 16) &&
		    eq16(a + n - 16, b + n - 16);
	if (n > 16) /* the first 16, then the last 16 (overlapping) */
		return eq16(a, b) && eq16(a + n - 16, b + n - 16);
	if (n >= 8) { /* two 8-byte words, overlapping below 16 */
		memcpy(&a0, a, 8);
		memcpy(&b0, b, 8);
		memcpy(&a1, a + n - 8, 8);
		memcpy(&b1, b + n - 8, 8);
		return ((a0 ^ b0) | (a1 ^ b1)) == 0;
	}
	if (n >= 4) {
		memcpy(&c0, a, 4);
		memcpy(&d0, b, 4);
		memcpy(&c1, a + n - 4, 4);
		memcpy(&d1, b + n - 4, 4);
		return ((c0 ^ d0) | (c1 ^ d1)) == 0;
	}
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

/* Is entry i (key, source si)? Inline: the add's fast path is one check. */
static inline __attribute__((always_inline)) bool
ent_is(const struct flowtab *ft, uint32_t i, const char *key, size_t keylen,
    uint32_t kh, uint32_t si)
{
	const struct fent *e = &ft->ents[i];

	return e->keyhash == kh && e->src == si && e->keylen == keylen &&
	    key_eq(ent_key(ft, e), key, keylen);
}

static uint32_t
ent_find(const struct flowtab *ft, const char *key, size_t keylen, uint32_t kh,
    uint32_t si, uint32_t h)
{
	for (uint32_t j = h & ft->smask; ft->slots[j].h != 0;
	     j = (j + 1) & ft->smask)
		if (ft->slots[j].h == h &&
		    ent_is(ft, ft->slots[j].idx, key, keylen, kh, si))
			return ft->slots[j].idx;
	return NIL;
}

/* The slot that holds entry i. */
static uint32_t
slot_of(const struct flowtab *ft, uint32_t i)
{
	return slot_find(ft->slots, ft->smask, ent_hash(ft, &ft->ents[i]), i);
}

static size_t
key_heap_cost(size_t keylen)
{
	/* malloc: 8 bytes of header, 16-byte granules, 32 at least */
	size_t c = (keylen + 8 + 15) & ~(size_t)15;

	return c < 32 ? 32 : c;
}

static void
ent_info(const struct flowtab *ft, uint32_t i, uint64_t now_ms,
    struct flowtab_info *info)
{
	const struct fent *e = &ft->ents[i];
	const struct fsrc *s = &ft->srcs[e->src];

	info->key = ent_key(ft, e);
	info->keylen = e->keylen;
	info->agent = s->agent;
	info->ds = s->ds;
	info->edge = (e->flags & F_EDGE) != 0;
	info->core = (e->flags & F_CORE) != 0;
	info->value =
	    e->acc * ft_scale(ft->epoch_ms, ft->inv_tau_ms, ft->conf.t, now_ms);
	info->total = e->total;
	info->samples = e->samples;
	info->first_ms = ft->cold[i].first_ms;
	info->last_ms = e->last_ms;
	info->mark_ms = info->first_ms;
	info->since_mark = e->total;
	if (ft->marks != NULL) {
		if (ft->marks[i].ms != 0)
			info->mark_ms = ft->marks[i].ms;
		info->since_mark -= ft->marks[i].total;
	}
}

/* Point the index at entry `from`'s new place `to`, then move it there. */
static void
ent_move(struct flowtab *ft, uint32_t from, uint32_t to)
{
	ft->slots[slot_of(ft, from)].idx = to;
	ft->ents[to] = ft->ents[from];
	ft->cold[to] = ft->cold[from];
	if (ft->marks != NULL)
		ft->marks[to] = ft->marks[from];
	if (ft->wide != NULL && ft->ents[to].keylen > KEY_HOT &&
	    ft->ents[to].keylen <= KEY_WIDE)
		memcpy(ft->wide[to].k, ft->wide[from].k, ft->ents[to].keylen);
}

static void
ent_remove(
    struct flowtab *ft, uint32_t i, enum flowtab_gone why, uint64_t now_ms)
{
	struct fent *e = &ft->ents[i];

	if (why == FLOWTAB_EVICTED)
		ft->evictions++;
	else
		ft->expired++;
	if (ft->gone_cb != NULL) {
		struct flowtab_info info;

		ent_info(ft, i, now_ms, &info);
		ft->in_cb = true;
		ft->gone_cb(ft->gone_arg, &info, why);
		ft->in_cb = false;
	}
	slot_del(ft->slots, ft->smask, slot_of(ft, i));
	if (--ft->srcs[e->src].count == 0)
		src_release(ft, e->src);
	if (e->keylen > KEY_WIDE) {
		ft->key_heap -= key_heap_cost(e->keylen);
		free(e->key.p);
	}
	if (i != ft->n - 1)
		ent_move(ft, ft->n - 1, i);
	ft->n--;
}

static bool
ent_expired(
    const struct flowtab *ft, const struct fent *e, uint64_t now_ms, double thr)
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
		if (ft->sweep + SWEEP_AHEAD < ft->n) /* last_ms, acc */
			__builtin_prefetch(&ft->ents[ft->sweep + SWEEP_AHEAD]);
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
	if (ent_expired(ft, &ft->ents[victim], now_ms, thr))
		ent_remove(ft, victim, FLOWTAB_EXPIRED, now_ms);
	else
		ent_remove(ft, victim, FLOWTAB_EVICTED, now_ms);
}

/* ---- public: table ---------------------------------------------------- */

struct flowtab *
flowtab_new(const struct flowtab_conf *conf)
{
	struct flowtab *ft = xcalloc(1, sizeof(*ft));

	assert(conf->t > 0 && isfinite(conf->t));
	assert(conf->n >= 1);
	assert(conf->max_entries >= 1 && conf->max_entries <= (1u << 30));
	ft->conf = *conf;
	if (ft->conf.t < FLOWTAB_T_MIN)
		ft->conf.t = FLOWTAB_T_MIN;
	ft->inv_tau_ms = 1.0 / (ft->conf.t * 1000.0);
	{
		double span = REBASE_T / ft->inv_tau_ms * 0.999;

		ft->rebase_span =
		    span < 0x1p62 ? (int64_t)span : (int64_t)0x1p62;
	}
	ft->g_ms = UINT64_MAX;
	ft->k0 = mix64(conf->seed ^ 0x6a09e667f3bcc908ull);
	ft->k1 = mix64(conf->seed ^ 0xbb67ae8584caa73bull);
	ft->ks = mumhash_seed(ft->k0, ft->k1);
	ft->rng = mix64(conf->seed ^ 0x3c6ef372fe94f82bull) | 1;
	src_keys(conf->src_seed, &ft->sk0, &ft->sk1);
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
		if (ft->ents[i].keylen > KEY_WIDE)
			free(ft->ents[i].key.p);
	free(ft->ents);
	free(ft->cold);
	free(ft->marks);
	free(ft->wide);
	free(ft->slots);
	free(ft->srcs);
	free(ft->sslots);
	free(ft->by_id);
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

void
flowtab_prepare(const struct flowtab *ft, const char *key, size_t keylen,
    const struct flowtab_src *src, struct flowtab_ref *ref)
{
	ref->kh = (uint32_t)mumhash_s(ft->k0, ft->k1, ft->ks, key, keylen);
	if (src->hash != 0) {
		ref->sh = src->hash;
	} else {
		struct sflow_addr a;

		addr_norm(&a, &src->agent);
		ref->sh = src_hash(ft, &a, src->ds);
	}
	ref->h = slot_hash(ref->kh, ref->sh);
	ref->hint = 0;
	ref->wide = keylen > KEY_HOT;
	__builtin_prefetch(&ft->slots[ref->h & ft->smask]);
	if (src->id != 0 && src->id < ft->by_id_n)
		__builtin_prefetch(&ft->by_id[src->id]);
	else
		__builtin_prefetch(&ft->sslots[ref->sh & ft->ssmask]);
}

void
flowtab_prefetch(const struct flowtab *ft, const struct flowtab_src *src,
    struct flowtab_ref *ref)
{
	/* With an id the add finds the source in by_id (in cache) and reads
	 * the source's own line only for a new entry: nothing to fetch. */
	if (src->id == 0 || src->id >= ft->by_id_n)
		for (uint32_t j = ref->sh & ft->ssmask; ft->sslots[j].h != 0;
		     j = (j + 1) & ft->ssmask)
			if (ft->sslots[j].h == ref->sh) {
				__builtin_prefetch(
				    &ft->srcs[ft->sslots[j].idx]);
				break;
			}
	for (uint32_t j = ref->h & ft->smask; ft->slots[j].h != 0;
	     j = (j + 1) & ft->smask)
		if (ft->slots[j].h == ref->h) {
			uint32_t i = ft->slots[j].idx;

			/* a wide key is read from its own array */
			__builtin_prefetch(&ft->ents[i]);
			if (ref->wide && ft->wide != NULL)
				__builtin_prefetch(&ft->wide[i]);
			ref->hint = j + 1;
			return;
		}
}

int
flowtab_add(struct flowtab *ft, const char *key, size_t keylen,
    const struct flowtab_src *src, double x, uint64_t now_ms)
{
	struct flowtab_ref ref = { 0 };

	if (keylen <= FLOWTAB_KEY_MAX) /* else add_ref rejects it */
		flowtab_prepare(ft, key, keylen, src, &ref);
	return flowtab_add_ref(ft, key, keylen, src, &ref, x, now_ms);
}

/* An update of entry i by x at now_ms, g the weight at now_ms. */
static inline __attribute__((always_inline)) void
ent_update(struct flowtab *ft, uint32_t i, const struct flowtab_src *src,
    double x, double g, uint64_t now_ms)
{
	struct fent *e = &ft->ents[i];

	ft->last_i = i;
	e->acc += x * g;
	e->total += x;
	e->samples++;
	/* first_ms <= last_ms: it is in the cold array, and read only for
	 * a sample older than the latest */
	if ((int64_t)(now_ms - e->last_ms) > 0)
		e->last_ms = now_ms;
	else if ((int64_t)(now_ms - e->last_ms) < 0 &&
	    (int64_t)(now_ms - ft->cold[i].first_ms) < 0)
		ft->cold[i].first_ms = now_ms;
	e->flags = (uint8_t)((unsigned)src->edge | (unsigned)src->core << 1);
}

/* The weight of an add at now_ms, after the rebase it may be due. */
static double
weight_now(struct flowtab *ft, uint64_t now_ms)
{
	if (ft->n > 0 && (int64_t)(now_ms - ft->epoch_ms) >= ft->rebase_span)
		maybe_rebase(ft, now_ms);
	if (ft->g_ms != now_ms || ft->g_epoch != ft->epoch_ms) {
		ft->g = weight(ft, now_ms);
		ft->g_ms = now_ms;
		ft->g_epoch = ft->epoch_ms;
	}
	return ft->g;
}

static int add_slow(struct flowtab *, const char *, size_t,
    const struct flowtab_src *, const struct flowtab_ref *, double, uint64_t);

/*
 * Most adds update an entry that flowtab_prefetch() found (ref->hint), of
 * a source with an id, at the instant of the add before: no rebase to
 * check, no weight to compute, no source to look up by address. Those
 * take the few instructions here; the others add_slow(). (Forced inline
 * into engine.c's pipeline, it ran 3 % slower in engine_bench.)
 */
int
flowtab_add_ref(struct flowtab *ft, const char *key, size_t keylen,
    const struct flowtab_src *src, const struct flowtab_ref *ref, double x,
    uint64_t now_ms)
{
	uint32_t j = ref->hint - 1;

	if (ref->hint == 0 || j > ft->smask || ft->slots[j].h != ref->h ||
	    now_ms != ft->g_ms || ft->epoch_ms != ft->g_epoch || src->id == 0 ||
	    src->id >= ft->by_id_n || !(x >= 0) || !isfinite(x) ||
	    !ent_is(
	        ft, ft->slots[j].idx, key, keylen, ref->kh, ft->by_id[src->id]))
		return add_slow(ft, key, keylen, src, ref, x, now_ms);
	assert(!ft->in_cb);
	ent_update(ft, ft->slots[j].idx, src, x, ft->g, now_ms);
	ft->updates++;
	if (!ft->conf.no_sweep)
		sweep_step(ft, now_ms, FLOWTAB_EPSILON * ft->conf.t * ft->g,
		    SWEEP_STEP);
	return 0;
}

static __attribute__((noinline)) int
add_slow(struct flowtab *ft, const char *key, size_t keylen,
    const struct flowtab_src *src, const struct flowtab_ref *ref, double x,
    uint64_t now_ms)
{
	uint32_t si, kh = ref->kh, i;
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
	g = weight_now(ft, now_ms);
	si = src_get(ft, src, ref->sh);
	/* the slot the prefetch saw first: the source's line is not needed
	 * when it holds the entry */
	if (ref->hint != 0 && ref->hint - 1 <= ft->smask &&
	    ft->slots[ref->hint - 1].h == ref->h &&
	    ent_is(ft, ft->slots[ref->hint - 1].idx, key, keylen, kh, si))
		i = ft->slots[ref->hint - 1].idx;
	else if (ft->srcs[si].count == 0)
		i = NIL; /* a new source: a new entry */
	else
		i = ent_find(ft, key, keylen, kh, si, ref->h);

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
			ents_grow(ft, ncap);
		}
		if ((size_t)ft->n + 1 > (size_t)(ft->smask + 1) / 4 * 3)
			ent_rehash(ft, (ft->smask + 1) * 2);
		i = ft->n++;
		e = &ft->ents[i];
		memset(e, 0, sizeof(*e));
		e->keyhash = kh;
		e->src = si;
		e->keylen = (uint16_t)keylen;
		if ((e->serial = ++ft->serial_next) == 0) {
			ft->serial_wraps++;
			e->serial = ++ft->serial_next;
		}
		if (keylen > KEY_WIDE) {
			e->key.p = xmalloc(keylen);
			memcpy(e->key.p, key, keylen);
			ft->key_heap += key_heap_cost(keylen);
		} else if (keylen > KEY_HOT) {
			wide_need(ft);
			memcpy(ft->wide[i].k, key, keylen);
		} else if (keylen > 0)
			memcpy(e->key.in, key, keylen);
		e->last_ms = now_ms;
		ft->cold[i].first_ms = now_ms;
		ft->cold[i].avg_i = 0;
		if (ft->marks != NULL)
			memset(&ft->marks[i], 0, sizeof(ft->marks[i]));
		slot_put(ft->slots, ft->smask, ref->h, i);
		ft->inserts++;
		created = 1;
	} else
		ft->updates++;
	ent_update(ft, i, src, x, g, now_ms);

	if (!ft->conf.no_sweep)
		sweep_step(
		    ft, now_ms, FLOWTAB_EPSILON * ft->conf.t * g, SWEEP_STEP);
	return created;
}

void
flowtab_last_pos(const struct flowtab *ft, struct flowtab_pos *pos)
{
	pos->idx = ft->last_i;
	pos->serial = ft->last_i < ft->n ? ft->ents[ft->last_i].serial : 0;
}

uint32_t
flowtab_serial_wraps(const struct flowtab *ft)
{
	return ft->serial_wraps;
}

void
flowtab_prefetch_pos(const struct flowtab *ft, const struct flowtab_pos *pos)
{
	if (pos->idx < ft->cap)
		__builtin_prefetch(&ft->ents[pos->idx]);
}

int
flowtab_add_pos(struct flowtab *ft, const struct flowtab_pos *pos,
    const struct flowtab_src *src, double x, uint64_t now_ms)
{
	uint32_t i = pos->idx;

	if (i >= ft->n || ft->ents[i].serial != pos->serial || !(x >= 0) ||
	    !isfinite(x))
		return -1;
	assert(!ft->in_cb);
	ent_update(ft, i, src, x, weight_now(ft, now_ms), now_ms);
	ft->updates++;
	if (!ft->conf.no_sweep)
		sweep_step(ft, now_ms, FLOWTAB_EPSILON * ft->conf.t * ft->g,
		    SWEEP_STEP);
	return 0;
}

bool
flowtab_get(const struct flowtab *ft, const char *key, size_t keylen,
    const struct flowtab_src *src, uint64_t now_ms, struct flowtab_info *info)
{
	struct sflow_addr a;
	uint32_t si, i, kh;

	if (keylen > FLOWTAB_KEY_MAX)
		return false;
	addr_norm(&a, &src->agent);
	si = src_lookup(ft, &a, src->ds, src_hash(ft, &a, src->ds));
	if (si == NIL)
		return false;
	kh = (uint32_t)mumhash_s(ft->k0, ft->k1, ft->ks, key, keylen);
	i = ent_find(ft, key, keylen, kh, si, slot_hash(kh, ft->srcs[si].hash));
	if (i == NIL)
		return false;
	ent_info(ft, i, now_ms, info);
	return true;
}

size_t
flowtab_log_active(struct flowtab *ft, uint64_t now_ms, uint64_t timeout_ms,
    void (*cb)(void *arg, const struct flowtab_info *), void *arg)
{
	size_t n = 0;

	assert(!ft->in_cb);
	marks_need(ft);
	for (uint32_t i = 0; i < ft->n; i++) {
		struct fent *e = &ft->ents[i];
		struct fmark *m = &ft->marks[i];
		uint64_t mark = m->ms ? m->ms : ft->cold[i].first_ms;
		struct flowtab_info info;

		if (now_ms - mark < timeout_ms || e->total <= m->total)
			continue;
		ent_info(ft, i, now_ms, &info);
		ft->in_cb = true;
		cb(arg, &info);
		ft->in_cb = false;
		m->ms = now_ms;
		m->total = e->total;
		n++;
	}
	return n;
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
	st->mem_bytes = sizeof(*ft) + ft->ents_bytes +
	    (size_t)ft->cap *
	        (sizeof(*ft->cold) + (ft->marks ? sizeof(*ft->marks) : 0) +
	            (ft->wide ? sizeof(*ft->wide) : 0)) +
	    ((size_t)ft->smask + 1) * sizeof(*ft->slots) +
	    (size_t)ft->srccap * sizeof(*ft->srcs) +
	    ((size_t)ft->ssmask + 1) * sizeof(*ft->sslots) +
	    (size_t)ft->by_id_n * sizeof(*ft->by_id) + ft->key_heap;
}

/* ---- queries ---------------------------------------------------------- */

/* A per-source heap slot: the entry and its acc, to compare in place. */
struct hslot {
	double acc;
	uint32_t idx;
};

/*
 * Within a data source: a larger acc first, then the smaller key, so that
 * which n entries a source shows does not depend on insertion order.
 */
static bool
hs_before(
    const struct flowtab *ft, const struct hslot *a, const struct hslot *b)
{
	const struct fent *ea, *eb;

	if (a->acc != b->acc)
		return a->acc > b->acc;
	ea = &ft->ents[a->idx];
	eb = &ft->ents[b->idx];
	return key_cmp(ent_key(ft, ea), ea->keylen, ent_key(ft, eb),
	           eb->keylen) < 0;
}

/* Where source si's heap lives in topn.h, and how full it is. */
struct heapref {
	uint32_t off;
	uint32_t cap; /* min(n, entries) */
	uint32_t cnt;
};

/* The per-source top-n of one scan. */
struct topn {
	struct hslot *h;
	struct heapref *r; /* by source */
	size_t total;      /* heap slots */
};

/*
 * Keep the n first entries of every source for which pass[] is set (NULL:
 * every source) in one sequential pass over the entries: each source has
 * a min-heap of min(n, its entries) slots whose root is the worst kept.
 * O(entries log n) time, O(entries) memory at most.
 */
static void
topn_scan(const struct flowtab *ft, const uint8_t *pass, const double *acc,
    struct topn *t)
{
	size_t n = ft->conf.n, total = 0;

	t->r = xcalloc((size_t)ft->nsrcs + 1, sizeof(*t->r));
	for (uint32_t si = 0; si < ft->nsrcs; si++) {
		t->r[si].off = (uint32_t)total;
		if (ft->srcs[si].live && (pass == NULL || pass[si]))
			t->r[si].cap = ft->srcs[si].count < n
			    ? ft->srcs[si].count
			    : (uint32_t)n;
		total += t->r[si].cap;
	}
	t->total = total;
	t->h = xmalloc((total ? total : 1) * sizeof(*t->h));
	for (uint32_t i = 0; i < ft->n; i++) {
		const struct fent *e = &ft->ents[i];
		struct heapref *r = &t->r[e->src];
		struct hslot x = { acc ? acc[i] : e->acc, i },
		             *hp = t->h + r->off;
		size_t j, k = r->cnt;

		if (k < r->cap) {
			/* sift up */
			for (j = k;
			     j > 0 && hs_before(ft, &hp[(j - 1) / 2], &x);
			     j = (j - 1) / 2)
				hp[j] = hp[(j - 1) / 2];
			hp[j] = x;
			r->cnt++;
			continue;
		}
		if (k == 0 || !hs_before(ft, &x, &hp[0]))
			continue;
		/* replace the root, sift down */
		for (j = 0;;) {
			size_t c = 2 * j + 1;

			if (c >= k)
				break;
			if (c + 1 < k && hs_before(ft, &hp[c], &hp[c + 1]))
				c++;
			if (!hs_before(ft, &x, &hp[c]))
				break;
			hp[j] = hp[c];
			j = c;
		}
		hp[j] = x;
	}
}

static void
topn_free(struct topn *t)
{
	free(t->h);
	free(t->r);
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
group_before(const struct group *a, const struct group *b, const struct cand *c)
{
	const struct cand *ca = &c[a->first], *cb = &c[b->first];

	if (a->value != b->value)
		return a->value > b->value;
	return key_cmp(ca->key, ca->keylen, cb->key, cb->keylen) < 0;
}

/*
 * Put gr at the root of heap[0 .. n) (merge_select()'s min-heap: the
 * root is the worst) in place of the root, and sift it down.
 */
static void
heap_sift(struct group **heap, size_t n, struct group *gr, const struct cand *c)
{
	size_t j = 0;

	for (;;) {
		size_t ch = 2 * j + 1;

		if (ch >= n)
			break;
		if (ch + 1 < n && group_before(heap[ch], heap[ch + 1], c))
			ch++;
		if (!group_before(gr, heap[ch], c))
			break;
		heap[j] = heap[ch];
		j = ch;
	}
	heap[j] = gr;
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
	{
		uint32_t *slot = xcalloc(ng, sizeof(*slot)); /* group + 1 */
		size_t ngr = 0;

		g = xmalloc(nc * sizeof(*g));
		for (size_t i = 0; i < nc; i++) {
			size_t s = (size_t)(mix64(c[i].keyhash) & (ng - 1));
			struct group *gr;

			for (;; s = (s + 1) & (ng - 1)) {
				const struct cand *f;

				if (slot[s] == 0)
					break;
				gr = &g[slot[s] - 1];
				f = &c[gr->first];
				if (f->keyhash == c[i].keyhash &&
				    f->keylen == c[i].keylen &&
				    memcmp(f->key, c[i].key, c[i].keylen) == 0)
					break;
			}
			if (slot[s] == 0) {
				gr = &g[ngr];
				slot[s] = (uint32_t)++ngr;
				gr->first = gr->best = (uint32_t)i;
				gr->merged = 1;
				gr->agg = c[i].acc;
				continue;
			}
			gr = &g[slot[s] - 1];
			gr->merged++;
			if (is_max) {
				if (c[i].acc > gr->agg)
					gr->agg = c[i].acc;
			} else
				gr->agg += c[i].acc;
			if (cand_better(&c[i], &c[gr->best]))
				gr->best = (uint32_t)i;
		}
		free(slot);
		ng = ngr;
	}

	/* A min-heap of the k best groups: the root is the worst kept. */
	heap = xmalloc(k * sizeof(*heap));
	for (size_t s = 0; s < ng; s++) {
		struct group *gr = &g[s];
		size_t j;

		gr->value = gr->agg * scale;
		if (!(gr->value >= q->min_value))
			continue;
		if (nh < k) {
			j = nh++;
			while (
			    j > 0 && group_before(heap[(j - 1) / 2], gr, c)) {
				heap[j] = heap[(j - 1) / 2];
				j = (j - 1) / 2;
			}
			heap[j] = gr;
			continue;
		}
		if (group_before(gr, heap[0], c))
			heap_sift(heap, nh, gr, c);
	}

	/*
	 * Sort the kept groups best first: the worst (the root) to the end,
	 * again and again. k log k: the insertion sort here before was k^2,
	 * 0.3 s for the top 20,000 that topn.c reads every push.
	 */
	for (size_t n = nh; n > 1; n--) {
		struct group *last = heap[n - 1];

		heap[n - 1] = heap[0];
		heap_sift(heap, n - 1, last, c);
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

/* Does an agent pass the query's filter? qa: q->agent, normalised. */
static bool
src_pass(const struct flowtab_query *q, const struct sflow_addr *qa,
    const struct sflow_addr *agent)
{
	return q->filter != FLOWTAB_ONE || addr_eq(agent, qa);
}

size_t
flowtab_top(const struct flowtab *ft, const struct flowtab_query *q,
    uint64_t now_ms, struct flowtab_hit *out, size_t max)
{
	struct sflow_addr qa;
	struct topn t;
	struct cand *c;
	uint8_t *pass = NULL;
	size_t nc = 0, r;

	if (ft->n == 0 || max == 0)
		return 0;
	if (q->filter == FLOWTAB_ONE) {
		addr_norm(&qa, &q->agent);
		pass = xcalloc((size_t)ft->nsrcs + 1, 1);
		for (uint32_t si = 0; si < ft->nsrcs; si++)
			pass[si] = ft->srcs[si].live &&
			    addr_eq(&ft->srcs[si].agent, &qa);
	}
	topn_scan(ft, pass, NULL, &t);
	c = xmalloc((t.total ? t.total : 1) * sizeof(*c));
	for (uint32_t si = 0; si < ft->nsrcs; si++) {
		const struct fsrc *s = &ft->srcs[si];

		for (uint32_t j = 0; j < t.r[si].cnt; j++) {
			const struct fent *e =
			    &ft->ents[t.h[t.r[si].off + j].idx];

			if (!flags_pass(q, e->flags))
				continue;
			c[nc].acc = e->acc;
			c[nc].key = ent_key(ft, e);
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
	free(c);
	topn_free(&t);
	free(pass);
	return r;
}

/* ---- snapshots -------------------------------------------------------- */

/*
 * A snapshot whose entries carry acc[i] (NULL: their own acc): each
 * source's n largest. Those are chosen first (every entry when no source
 * has more than n: the usual case with many sources), then copied in the
 * order of the table, a sequential read: in the order of the per-source
 * heaps it was a random one, half of the time of a snapshot of 200,000
 * entries over 48,000 sources.
 */
static struct flowtab_snapshot *
snapshot_make(const struct flowtab *ft, uint64_t now_ms, const double *acc)
{
	struct flowtab_snapshot *sn = xcalloc(1, sizeof(*sn));
	size_t nk = 0, keylen = 0, keycap, ns = 0;
	uint32_t *smap; /* source -> its index in sn->srcs + 1, 0: none */
	uint8_t *keep = NULL;
	bool all = true;

	sn->time_ms = now_ms;
	sn->epoch_ms = ft->epoch_ms;
	sn->inv_tau_ms = ft->inv_tau_ms;
	sn->t = ft->conf.t;
	flowtab_stats(ft, &sn->stats);
	if (ft->n == 0)
		return sn;
	for (uint32_t si = 0; si < ft->nsrcs && all; si++)
		all = !ft->srcs[si].live || ft->srcs[si].count <= ft->conf.n;
	if (!all) {
		struct topn t;

		topn_scan(ft, NULL, acc, &t);
		keep = xcalloc(ft->n, 1);
		for (uint32_t si = 0; si < ft->nsrcs; si++)
			for (uint32_t j = 0; j < t.r[si].cnt; j++)
				keep[t.h[t.r[si].off + j].idx] = 1;
		topn_free(&t);
	}
	smap = xcalloc((size_t)ft->nsrcs + 1, sizeof(*smap));
	for (uint32_t i = 0; i < ft->n; i++) {
		const struct fent *e = &ft->ents[i];

		if (keep != NULL && !keep[i])
			continue;
		nk++;
		keylen += e->keylen;
		if (smap[e->src] == 0)
			smap[e->src] = (uint32_t)++ns;
	}
	/* sources in the order they were first met */
	sn->srcs = xmalloc((ns ? ns : 1) * sizeof(*sn->srcs));
	for (uint32_t si = 0; si < ft->nsrcs; si++)
		if (smap[si] != 0) {
			sn->srcs[smap[si] - 1].agent = ft->srcs[si].agent;
			sn->srcs[smap[si] - 1].ds = ft->srcs[si].ds;
		}
	sn->n_srcs = ns;
	/* as text (conf.key_text): about twice the bytes held (an IPv4
	 * address: 5 packed, 7 to 16 as text), grown as needed and the
	 * unused part given back at the end */
	keycap = ft->conf.key_text != NULL ? 2 * keylen + 1 : keylen;
	/* megabytes at every push period (xmalloc_huge()) */
	sn->ents = xmalloc_huge(nk * sizeof(*sn->ents));
	sn->keys = xmalloc_huge(keycap ? keycap : 1);
	keylen = 0;
	for (uint32_t i = 0; i < ft->n; i++) {
		const struct fent *e = &ft->ents[i];
		struct snent *se;
		size_t kl = e->keylen;

		if (keep != NULL && !keep[i])
			continue;
		if (i + SWEEP_AHEAD < ft->n && ft->wide != NULL)
			__builtin_prefetch(&ft->wide[i + SWEEP_AHEAD]);
		se = &sn->ents[sn->n++];
		if (ft->conf.key_text != NULL) {
			if (keycap - keylen < 4 * kl + 1) {
				keycap = 2 * keycap + 4 * kl + 1;
				sn->keys = xrealloc(sn->keys, keycap);
			}
			kl = ft->conf.key_text(ent_key(ft, e), e->keylen,
			    sn->keys + keylen, keycap - keylen);
		} else
			memcpy(sn->keys + keylen, ent_key(ft, e), kl);
		se->acc = acc ? acc[i] : e->acc;
		se->first_ms = ft->cold[i].first_ms;
		se->last_ms = e->last_ms;
		se->src = smap[e->src] - 1;
		se->keyhash = e->keyhash;
		se->keylen = (uint32_t)kl;
		se->keyoff = (uint32_t)keylen;
		se->flags = e->flags;
		keylen += kl;
	}
	if (keycap > keylen + 1)
		sn->keys = xrealloc(sn->keys, keylen + 1);
	free(smap);
	free(keep);
	return sn;
}

struct flowtab_snapshot *
flowtab_snapshot(const struct flowtab *ft, uint64_t now_ms)
{
	return snapshot_make(ft, now_ms, NULL);
}

struct flowtab_snapshot *
flowtab_snapshot_avg(struct flowtab *ft, uint64_t now_ms)
{
	struct flowtab_snapshot *sn;
	double g, t = ft->conf.t, *acc = NULL;
	uint64_t dt = now_ms - ft->avg_ms;
	bool avg = ft->avg_ms != 0 && (int64_t)dt > 0 &&
	    (double)dt <= FLOWTAB_AVG_MAX_T * t * 1000;

	maybe_rebase(ft, now_ms);
	g = ft_scale(ft->epoch_ms, ft->inv_tau_ms, t, now_ms);
	if (ft->n > 0)
		acc = xmalloc(ft->n * sizeof(*acc));
	for (uint32_t i = 0; i < ft->n; i++) {
		struct fent *e = &ft->ents[i];
		/* the value's integral since the entry began */
		double in = e->total - t * e->acc * g;

		/* an entry born in the window: since its first sample (its
		 * integral was 0 then) */
		struct fcold *c = &ft->cold[i];
		uint64_t from = (int64_t)(c->first_ms - ft->avg_ms) > 0
		    ? c->first_ms
		    : ft->avg_ms;

		acc[i] = e->acc;
		if (avg && g > 0 && (int64_t)(now_ms - from) > 0) {
			double m =
			    (in - c->avg_i) * 1000.0 / (double)(now_ms - from);

			acc[i] = m > 0 ? m / g : 0;
		}
		c->avg_i = in;
	}
	ft->avg_ms = now_ms;
	sn = snapshot_make(ft, now_ms, acc);
	free(acc);
	return sn;
}

void
flowtab_snapshot_free(struct flowtab_snapshot *sn)
{
	if (sn == NULL)
		return;
	free(sn->ents);
	free(sn->keys);
	free(sn->srcs);
	free(sn);
}

void
flowtab_snapshot_foreach(const struct flowtab_snapshot *sn, uint64_t now_ms,
    void (*fn)(void *arg, const struct flowtab_hit *), void *arg)
{
	double g = ft_scale(sn->epoch_ms, sn->inv_tau_ms, sn->t, now_ms);

	for (size_t i = 0; i < sn->n; i++) {
		const struct snent *se = &sn->ents[i];
		struct flowtab_hit h = { 0 };

		h.key = sn->keys + se->keyoff;
		h.keylen = se->keylen;
		h.value = se->acc * g;
		h.agent = sn->srcs[se->src].agent;
		h.ds = sn->srcs[se->src].ds;
		h.merged = 1;
		h.first_ms = se->first_ms;
		h.last_ms = se->last_ms;
		fn(arg, &h);
	}
}

size_t
flowtab_snapshot_top(const struct flowtab_snapshot *sn,
    const struct flowtab_query *q, uint64_t now_ms, struct flowtab_hit *out,
    size_t max)
{
	struct sflow_addr qa;
	struct cand *c;
	size_t nc = 0, r;

	if (sn->n == 0 || max == 0)
		return 0;
	addr_norm(&qa, &q->agent);
	c = xmalloc(sn->n * sizeof(*c));
	for (size_t i = 0; i < sn->n; i++) {
		const struct snent *se = &sn->ents[i];

		const struct snsrc *ss = &sn->srcs[se->src];

		if (!src_pass(q, &qa, &ss->agent) || !flags_pass(q, se->flags))
			continue;
		c[nc].acc = se->acc;
		c[nc].key = sn->keys + se->keyoff;
		c[nc].keylen = se->keylen;
		c[nc].keyhash = se->keyhash;
		c[nc].agent = &ss->agent;
		c[nc].ds = ss->ds;
		c[nc].flags = se->flags;
		nc++;
	}
	r = merge_select(c, nc, q,
	    ft_scale(sn->epoch_ms, sn->inv_tau_ms, sn->t, now_ms), out, max);
	free(c);
	return r;
}

void
flowtab_snapshot_stats(
    const struct flowtab_snapshot *sn, struct flowtab_stats *st)
{
	*st = sn->stats;
}

uint64_t
flowtab_snapshot_time(const struct flowtab_snapshot *sn)
{
	return sn->time_ms;
}
