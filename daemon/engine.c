/*
 * engine.c: the flow engine; see engine.h. The definitions' registry is
 * shared with the API thread under a mutex; everything else belongs to
 * the ingest thread.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "filter.h"
#include "flowrec.h"
#include "blackhole.h"
#include "counters.h"
#include "graph.h"
#include "jsonlog.h"
#include "logring.h"
#include "spread.h"
#include "thresholds.h"
#include "topo.h"
#include "util.h"

/*
 * pipe_run()'s stages: a sample's keys are hashed and its index slots
 * prefetched; PIPE_SLOT_D samples later its entries are prefetched; and
 * ENGINE_PIPE samples later it is added, while the keys of the sample at
 * hand are packed: one more place than the pipeline holds. (The other
 * splits of 2 to 4 samples ran 1 to 6 % slower in engine_bench.)
 */
_Static_assert(ENGINE_PIPE == 3, "pipe_run(): slots 2 samples ahead");
#define PIPE_SLOT_D 2
/* a power of two, for the pipeline, the sample waiting for the cache
 * stage and the one at hand */
#define PIPE_RING 8
#define PIPE_MASK (PIPE_RING - 1)
_Static_assert(PIPE_RING >= ENGINE_PIPE + 2, "the ring holds the pipeline");

/*
 * The sample cache: what every definition did with a sample (filtered
 * out, keyless, or the position of its entry), by the sample's
 * fingerprint, for the next sample with the same one. See engine_record().
 */
#define SC_MAX_FLOWS 14               /* more: no cache */
#define SC_MIN       (1u << 12)       /* entries */
#define SC_MAX       (1u << 17)       /* ... at most 16 MiB */
#define SC_SKIP      UINT32_MAX       /* the filter said no */
#define SC_KEYLESS   (UINT32_MAX - 1) /* a key had no value */
#define SC_NONE      (UINT32_MAX - 2) /* not known: do not cache */
#define SC_WAYS      2
struct sc_set {
	uint64_t fp[SC_WAYS];
	uint32_t gen[SC_WAYS]; /* e->sc_gen when made; 0: empty */
	uint32_t next;         /* the way to replace next */
	uint32_t unused;
	/* then, for each way, a struct flowtab_pos per definition */
};

struct compiled {
	struct engine *e;
	struct flowdef def;
	struct flowkeys *keys;
	struct filter *filter; /* NULL: none */
	struct flowtab *tab;
	uint32_t *key_ids; /* the keys' ids in the engine's memo */
	size_t keybuf_len;
	/* The samples in the pipeline (see engine_sample()): their keys and
	 * their places in the table; pending: to be added. */
	char *keybuf[PIPE_RING];
	size_t keylen[PIPE_RING];
	struct flowtab_ref ref[PIPE_RING];
	/* the entry's position, from the sample cache (hit) or the add */
	struct flowtab_pos pos[PIPE_RING];
	bool pending[PIPE_RING];
	bool hit[PIPE_RING]; /* pending by pos, not by key */
	uint32_t wraps;      /* flowtab_serial_wraps() seen */
	uint64_t matched;
	uint64_t keyless;
};

/* A sample in the pipeline: what its adds need once its record is gone. */
struct pipe_sample {
	struct flowtab_src src;
	uint64_t mono_ms;
	uint32_t sampling_rate;
	uint32_t frame_length;
	bool prefetched;
	/* the input port's lookup, for lookup_cb() at the keys */
	bool have_in;
	bool in_rec; /* the lookup applies (an ifIndex, a topology) */
	struct topo_hit hit;
	uint64_t fp;  /* the sample cache's fingerprint */
	uint32_t gen; /* e->sc_gen at the keys */
	bool fill;    /* cache what the adds find */
};

struct op {
	struct op *next;
	bool del;
	struct compiled *c; /* put */
	char name[FLOWDEF_NAME_MAX + 1];
};

struct engine {
	struct snap_slot *topo_slot;
	uint64_t src_seed; /* every table's: a sample's source hashed once */
	struct flowtab_srcids *srcids; /* ... and looked up once */
	struct bh *bh;                 /* black holes (NULL: off) */
	uint64_t bh_tick_ms;

	/* Shared with the API thread. */
	pthread_mutex_t mu;
	struct flowdef *defs; /* the registry, as the API sees it */
	size_t n_defs;
	struct op *ops, **ops_tail;

	/* Ingest thread only. */
	struct compiled **flows;
	size_t n_flows;
	/* the keys' strings of the sample at hand, shared by the flows */
	struct flowkey_memo *memo;
	/* the input port's lookup of the record at hand (engine_record()),
	 * for lookup_cb(): NULL when there is none */
	const struct flow_rec *in_rec;
	const struct topo_hit *in_hit; /* NULL: not found */
	struct topo_snap *topo;        /* our reference */
	uint64_t samples;
	uint64_t last_expire;
	struct ifc_table *ifc; /* sFlow counter samples -> rates */
	bool use_counters;
	uint64_t ifc_readings; /* at the last snapshot of it */
	struct ifc_snap *ifc_last;
	uint64_t ifc_expired_at;
	struct logring *flowlog; /* NULL: no flow log */
	struct thresholds *th;   /* NULL: none */
	struct snap_slot *snmp_ifc;
	bool logged; /* records appended since engine_logged() */
	/* samples [pipe_done, pipe_next) are in the pipeline, and [pipe_next,
	 * seq_next) wait for their keys; their records are recs[n & PIPE_MASK]
	 */
	struct pipe_sample pipe[PIPE_RING];
	struct flow_rec recs[PIPE_RING];
	uint64_t pipe_next, pipe_done, seq_next;
	/* the sample cache: sc_cap entries, in sets of SC_WAYS of sc_stride
	 * bytes (NULL: off) */
	bool sc_on; /* wanted (engine_set_cache()) */
	uint8_t *sc;
	uint32_t sc_cap;
	size_t sc_stride;
	uint32_t sc_gen;
	uint64_t sc_k0, sc_k1;
	uint64_t sc_hits, sc_misses, sc_stale;
	uint64_t flowlog_records;
	struct spread *spread;   /* NetFlow records replayed over time */
	struct jsonlog *jsonlog; /* NULL: no JSON flow log */
	uint64_t netflow_records;
};

static void engine_record(void *, const struct flow_rec *, uint64_t);

/* ---- the sample cache ------------------------------------------------- */

/*
 * A sample's fingerprint: a keyed hash of every field of its record that
 * a key or a filter reads, that is all of them but the sampling rate, the
 * pool, the drops and the frame's length and stripped bytes (the value,
 * not the flow). Two samples with the same fingerprint get the same
 * filters' answers and the same keys for as long as the definitions and
 * the topology stay (the cache's generation). 64 bits, keyed at random
 * per process: two different records share one with a chance of 2^-64
 * per lookup, which a sender cannot aim at.
 */
static uint64_t
sc_fingerprint(const struct engine *e, const struct flow_rec *rec)
{
	union {
		struct flow_rec r;
		uint8_t b[sizeof(struct flow_rec)];
	} u;
	size_t n = offsetof(struct flow_rec, l),
	       sw = offsetof(struct flow_rec, src_memo) -
	    offsetof(struct flow_rec, has_switch),
	       ll = offsetof(struct flowrec_layer, stack),
	       st = strnlen(rec->stack, sizeof(rec->stack) - 1);
	unsigned nl = rec->n_layers <= 2 ? rec->n_layers : 2;

	_Static_assert(offsetof(struct flow_rec, l) +
	            offsetof(struct flow_rec, src_memo) -
	            offsetof(struct flow_rec, has_switch) +
	            2 * offsetof(struct flowrec_layer, stack) +
	            sizeof(((struct flow_rec *)0)->stack) + 1 <=
	        sizeof(struct flow_rec),
	    "the fingerprint's fields fit a record");
	memcpy(u.b, rec, n);
	u.r.sampling_rate = u.r.sample_pool = u.r.drops = 0;
	u.r.frame_length = u.r.stripped = 0;
	memcpy(u.b + n, &rec->has_switch, sw);
	n += sw;
	for (unsigned i = 0; i < nl; i++, n += ll)
		memcpy(u.b + n, &rec->l[i], ll);
	u.b[n++] = (uint8_t)st;
	memcpy(u.b + n, rec->stack, st);
	n += st;
	return mumhash(e->sc_k0, e->sc_k1, u.b, n);
}

static struct sc_set *
sc_set(const struct engine *e, uint64_t fp)
{
	return (struct sc_set *)(e->sc +
	    (size_t)(fp & (e->sc_cap / SC_WAYS - 1)) * e->sc_stride);
}

static struct flowtab_pos *
sc_pos(const struct engine *e, const struct sc_set *set, unsigned way)
{
	return (struct flowtab_pos *)(set + 1) + way * e->n_flows;
}

/* The way of set that holds fp in this generation, or SC_WAYS. */
static unsigned
sc_way(const struct engine *e, const struct sc_set *set, uint64_t fp)
{
	unsigned w = 0;

	while (w < SC_WAYS && (set->fp[w] != fp || set->gen[w] != e->sc_gen))
		w++;
	return w;
}

/* Forget every entry: a new generation. */
static void
sc_flush(struct engine *e)
{
	if (e->sc == NULL)
		return;
	if (++e->sc_gen == 0) {
		memset(e->sc, 0, (size_t)e->sc_cap / SC_WAYS * e->sc_stride);
		e->sc_gen = 1;
	}
}

/*
 * A fresh cache of cap entries (SC_MIN at least) for the definitions now
 * (none: off).
 */
static void
sc_alloc(struct engine *e, uint32_t cap)
{
	size_t bytes;

	free(e->sc);
	e->sc = NULL;
	e->sc_cap = 0;
	if (cap < SC_MIN)
		cap = SC_MIN;
	if (!e->sc_on || e->n_flows == 0 || e->n_flows > SC_MAX_FLOWS)
		return;
	e->sc_stride =
	    (sizeof(struct sc_set) +
	        SC_WAYS * e->n_flows * sizeof(struct flowtab_pos) + 63) /
	    64 * 64;
	bytes = (size_t)cap / SC_WAYS * e->sc_stride;
	e->sc = xalloc_big(64, &bytes);
	memset(e->sc, 0, bytes);
	e->sc_cap = cap;
	e->sc_gen = 1;
}

/*
 * Twice the largest table, as a power of two in [SC_MIN, SC_MAX]: each
 * entry of the table with the finest keys has a fingerprint of its own
 * at least.
 */
static uint32_t
sc_want(const struct engine *e)
{
	uint32_t most = 0, want = SC_MIN;

	for (size_t i = 0; i < e->n_flows; i++) {
		struct flowtab_stats st;

		flowtab_stats(e->flows[i]->tab, &st);
		if (st.entries > most)
			most = (uint32_t)st.entries;
	}
	while (want < SC_MAX && want < 2 * (uint64_t)most)
		want *= 2;
	return want;
}

/* Sample k's cache entry, if any: its definitions' answers and entries. */
static bool
sc_lookup(struct engine *e, struct pipe_sample *ps, unsigned k)
{
	struct sc_set *set = sc_set(e, ps->fp);
	const struct flowtab_pos *pos;
	unsigned w = sc_way(e, set, ps->fp);

	if (w == SC_WAYS) {
		e->sc_misses++;
		return false;
	}
	e->sc_hits++;
	set->next = (w + 1) % SC_WAYS;
	pos = sc_pos(e, set, w);
	for (size_t i = 0; i < e->n_flows; i++) {
		struct compiled *c = e->flows[i];

		c->pos[k] = pos[i];
		c->pending[k] = c->hit[k] = false;
		if (pos[i].idx == SC_SKIP)
			continue;
		c->matched++;
		if (pos[i].idx == SC_KEYLESS) {
			c->keyless++;
			continue;
		}
		c->pending[k] = c->hit[k] = true;
		flowtab_prefetch_pos(c->tab, &pos[i]);
	}
	ps->prefetched = true; /* no index slot to read */
	return true;
}

/* What sample k's definitions did, for the next sample like it. */
static void
sc_fill(struct engine *e, const struct pipe_sample *ps, unsigned k)
{
	struct sc_set *set;
	struct flowtab_pos *pos;
	unsigned w;

	if (e->sc == NULL || ps->gen != e->sc_gen)
		return;
	for (size_t i = 0; i < e->n_flows; i++)
		if (e->flows[i]->pos[k].idx == SC_NONE)
			return;
	/* its own way (a refill), else an empty one, else the next */
	set = sc_set(e, ps->fp);
	w = sc_way(e, set, ps->fp);
	for (unsigned v = 0; w == SC_WAYS && v < SC_WAYS; v++)
		if (set->gen[v] != e->sc_gen)
			w = v;
	if (w == SC_WAYS)
		w = set->next;
	set->fp[w] = ps->fp;
	set->gen[w] = e->sc_gen;
	set->next = (w + 1) % SC_WAYS;
	pos = sc_pos(e, set, w);
	for (size_t i = 0; i < e->n_flows; i++)
		pos[i] = e->flows[i]->pos[k];
}

static void
compiled_free(struct compiled *c)
{
	if (c == NULL)
		return;
	flowkeys_free(c->keys);
	filter_free(c->filter);
	flowtab_free(c->tab);
	free(c->key_ids);
	for (int k = 0; k < PIPE_RING; k++)
		free(c->keybuf[k]);
	free(c);
}

static void gone_cb(void *, const struct flowtab_info *, enum flowtab_gone);

static struct compiled *
compile(struct engine *e, const struct flowdef *d, char *err, size_t errlen)
{
	struct compiled *c = xcalloc(1, sizeof(*c));
	struct flowtab_conf tc = { 0 };
	char why[256];

	c->def = *d;
	if ((c->keys = flowkeys_parse(d->keys, why, sizeof(why))) == NULL) {
		snprintf(err, errlen, "keys: %s", why);
		compiled_free(c);
		return NULL;
	}
	if (d->filter[0] != '\0' &&
	    (c->filter = filter_parse(d->filter, why, sizeof(why))) == NULL) {
		snprintf(err, errlen, "filter: %s", why);
		compiled_free(c);
		return NULL;
	}
	tc.t = d->t;
	tc.n = (unsigned)d->n;
	tc.max_entries = ENGINE_MAX_ENTRIES;
	tc.seed = now_mono_ms() ^ (uintptr_t)c;
	tc.src_seed = e->src_seed;
	tc.key_text = flowkey_unpack; /* the keys are packed */
	tc.no_sweep = true;           /* engine_tick() expires every second */
	c->tab = flowtab_new(&tc);
	c->e = e;
	if (d->log && !d->flow_start)
		flowtab_set_gone_cb(c->tab, gone_cb, c);
	c->key_ids = xcalloc(flowkeys_count(c->keys) + 1, sizeof(*c->key_ids));
	c->keybuf_len = flowkeys_packmax(c->keys);
	for (int k = 0; k < PIPE_RING; k++)
		c->keybuf[k] = xmalloc(c->keybuf_len);
	return c;
}

void
engine_flowlog_free(void *p)
{
	free(p);
}

/*
 * Append one flow log record: the interval [start, end] (monotonic ms,
 * turned into wall-clock time here) of key at (agent, ds), and what it
 * carried (bytes or frames, scaled by the sampling rate).
 */
static void
log_flow(struct compiled *c, const char *key, size_t keylen,
    const struct sflow_addr *agent, uint32_t ds, double value,
    uint64_t start_mono, uint64_t end_mono)
{
	struct engine *e = c->e;
	struct engine_flowrec *r;
	int64_t off = (int64_t)now_wall_ms() - (int64_t)now_mono_ms();

	if (e->flowlog == NULL)
		return;
	/* the text of the table's packed key */
	r = xmalloc(sizeof(*r) + FLOWKEY_UNPACK_MAX(keylen));
	snprintf(r->name, sizeof(r->name), "%s", c->def.name);
	r->agent = *agent;
	r->ds = ds;
	r->value = value;
	r->start_ms = (uint64_t)((int64_t)start_mono + off);
	r->end_ms = (uint64_t)((int64_t)end_mono + off);
	r->keylen =
	    flowkey_unpack(key, keylen, r->key, FLOWKEY_UNPACK_MAX(keylen));
	logring_append(e->flowlog, r);
	e->logged = true;
	e->flowlog_records++;
}

/* End of a flow (expired, or evicted from a full table): log what it
 * carried since its last report. */
static void
gone_cb(void *arg, const struct flowtab_info *in, enum flowtab_gone why)
{
	struct compiled *c = arg;

	(void)why;
	if (in->since_mark > 0)
		log_flow(c, in->key, in->keylen, &in->agent, in->ds,
		    in->since_mark, in->mark_ms, in->last_ms);
}

/* A long flow reaching activeTimeout: log its interval so far. */
static void
active_cb(void *arg, const struct flowtab_info *in)
{
	struct compiled *c = arg;

	log_flow(c, in->key, in->keylen, &in->agent, in->ds, in->since_mark,
	    in->mark_ms, in->last_ms);
}

void
engine_set_flowlog(struct engine *e, struct logring *ring)
{
	e->flowlog = ring;
}

void
engine_set_blackholes(struct engine *e, uint64_t quiet_ms)
{
	struct bh_conf c = { .quiet_ms = quiet_ms, .max_keys = 4096 };

	bh_free(e->bh);
	e->bh = bh_new(&c);
}

void
engine_set_jsonlog(struct engine *e, struct jsonlog *jl)
{
	e->jsonlog = jl;
}

void
engine_set_counters(struct engine *e, bool on)
{
	e->use_counters = on;
}

void
engine_set_thresholds(
    struct engine *e, struct thresholds *th, struct snap_slot *snmp_ifc)
{
	e->th = th;
	e->snmp_ifc = snmp_ifc;
}

bool
engine_logged(struct engine *e)
{
	bool was = e->logged;

	e->logged = false;
	return was;
}

struct engine *
engine_new(struct snap_slot *topo)
{
	struct engine *e = xcalloc(1, sizeof(*e));

	e->topo_slot = topo;
	pthread_mutex_init(&e->mu, NULL);
	e->ops_tail = &e->ops;
	e->ifc = ifc_new(ENGINE_MAX_IFACES, now_mono_ms() ^ (uintptr_t)e);
	e->src_seed = siphash13(now_mono_ms(), now_wall_ms(), &e, sizeof(e));
	e->srcids = flowtab_srcids_new(e->src_seed, ENGINE_SRC_IDS);
	e->use_counters = true;
	e->spread = spread_new(0);
	e->memo = flowkey_memo_new();
	e->sc_on = true;
	e->sc_k0 = siphash13(e->src_seed, 0x5c, &e, sizeof(e));
	e->sc_k1 = siphash13(e->src_seed, 0xc5, &e->sc_k0, sizeof(e->sc_k0));
	return e;
}

void
engine_set_cache(struct engine *e, bool on)
{
	engine_flush(e);
	e->sc_on = on;
	sc_alloc(e, e->sc_cap);
}

void
engine_cache_stats(const struct engine *e, struct engine_cache_stats *st)
{
	st->hits = e->sc_hits;
	st->misses = e->sc_misses;
	st->stale = e->sc_stale;
	st->entries = e->sc_cap;
	st->bytes = (uint64_t)e->sc_cap / SC_WAYS * e->sc_stride;
}

void
engine_free(struct engine *e)
{
	if (e == NULL)
		return;
	engine_flush(e);
	for (size_t i = 0; i < e->n_flows; i++)
		compiled_free(e->flows[i]);
	free(e->flows);
	bh_free(e->bh);
	while (e->ops != NULL) {
		struct op *o = e->ops;

		e->ops = o->next;
		compiled_free(o->c);
		free(o);
	}
	if (e->topo != NULL)
		snap_put(&e->topo->base);
	if (e->ifc_last != NULL)
		snap_put(&e->ifc_last->base);
	ifc_free(e->ifc);
	spread_free(e->spread);
	flowkey_memo_free(e->memo);
	flowtab_srcids_free(e->srcids);
	free(e->sc);
	free(e->defs);
	pthread_mutex_destroy(&e->mu);
	free(e);
}

static ssize_t
def_index(struct engine *e, const char *name)
{
	for (size_t i = 0; i < e->n_defs; i++)
		if (strcmp(e->defs[i].name, name) == 0)
			return (ssize_t)i;
	return -1;
}

static int
cmp_def(const void *a, const void *b)
{
	return strcmp(((const struct flowdef *)a)->name,
	    ((const struct flowdef *)b)->name);
}

static void
queue(struct engine *e, struct op *o)
{
	o->next = NULL;
	*e->ops_tail = o;
	e->ops_tail = &o->next;
}

int
engine_put(struct engine *e, const struct flowdef *d, char *err, size_t errlen)
{
	struct compiled *c = compile(e, d, err, errlen);
	struct op *o;
	ssize_t i;
	int rc = 0;

	if (c == NULL)
		return -1;
	pthread_mutex_lock(&e->mu);
	i = def_index(e, d->name);
	if (i >= 0 && memcmp(&e->defs[i], d, sizeof(*d)) == 0) {
		pthread_mutex_unlock(&e->mu);
		compiled_free(c);
		return 1; /* scripts re-PUT their flows: keep the counts */
	}
	if (i < 0 && e->n_defs >= FLOWDEF_MAX) {
		pthread_mutex_unlock(&e->mu);
		compiled_free(c);
		snprintf(
		    err, errlen, "too many flow definitions (%d)", FLOWDEF_MAX);
		return -1;
	}
	if (i < 0) {
		e->defs = xrealloc(e->defs, (e->n_defs + 1) * sizeof(*e->defs));
		e->defs[e->n_defs++] = *d;
		qsort(e->defs, e->n_defs, sizeof(*e->defs), cmp_def);
	} else {
		e->defs[i] = *d;
	}
	o = xcalloc(1, sizeof(*o));
	o->c = c;
	snprintf(o->name, sizeof(o->name), "%s", d->name);
	queue(e, o);
	pthread_mutex_unlock(&e->mu);
	return rc;
}

int
engine_delete(struct engine *e, const char *name)
{
	struct op *o;
	ssize_t i;

	pthread_mutex_lock(&e->mu);
	i = def_index(e, name);
	if (i < 0) {
		pthread_mutex_unlock(&e->mu);
		return -1;
	}
	memmove(&e->defs[i], &e->defs[i + 1],
	    (e->n_defs - (size_t)i - 1) * sizeof(*e->defs));
	e->n_defs--;
	o = xcalloc(1, sizeof(*o));
	o->del = true;
	snprintf(o->name, sizeof(o->name), "%s", name);
	queue(e, o);
	pthread_mutex_unlock(&e->mu);
	return 0;
}

int
engine_get(struct engine *e, const char *name, struct flowdef *out)
{
	ssize_t i;

	pthread_mutex_lock(&e->mu);
	i = def_index(e, name);
	if (i >= 0)
		*out = e->defs[i];
	pthread_mutex_unlock(&e->mu);
	return i >= 0 ? 0 : -1;
}

struct flowdef *
engine_list(struct engine *e, size_t *n)
{
	struct flowdef *out;

	pthread_mutex_lock(&e->mu);
	out = xcalloc(e->n_defs + 1, sizeof(*out));
	memcpy(out, e->defs, e->n_defs * sizeof(*out));
	*n = e->n_defs;
	pthread_mutex_unlock(&e->mu);
	return out;
}

static ssize_t
flow_index(struct engine *e, const char *name)
{
	for (size_t i = 0; i < e->n_flows; i++)
		if (strcmp(e->flows[i]->def.name, name) == 0)
			return (ssize_t)i;
	return -1;
}

void
engine_tick(struct engine *e, uint64_t mono_ms)
{
	struct op *ops;
	bool changed;

	engine_flush(e);
	pthread_mutex_lock(&e->mu);
	ops = e->ops;
	e->ops = NULL;
	e->ops_tail = &e->ops;
	pthread_mutex_unlock(&e->mu);
	changed = ops != NULL;
	while (ops != NULL) {
		struct op *o = ops;
		ssize_t i = flow_index(e, o->name);

		ops = o->next;
		if (o->del) {
			if (i >= 0) {
				compiled_free(e->flows[i]);
				e->flows[i] = e->flows[--e->n_flows];
			}
		} else if (i >= 0) {
			compiled_free(e->flows[i]);
			e->flows[i] = o->c;
		} else {
			e->flows = xrealloc(
			    e->flows, (e->n_flows + 1) * sizeof(*e->flows));
			e->flows[e->n_flows++] = o->c;
		}
		free(o);
	}
	if (changed) {
		/* The memo's ids again, for the keys in use now (so that it
		 * does not grow with every definition ever put). */
		flowkey_memo_clear(e->memo);
		for (size_t i = 0; i < e->n_flows; i++)
			flowkey_memo_bind(
			    e->memo, e->flows[i]->keys, e->flows[i]->key_ids);
		/* what the cache says is of the old definitions */
		sc_alloc(e, e->sc_cap);
	}
	/* A fresh view of the topology for node:/link: and edge/core. */
	if (e->topo_slot != NULL) {
		struct topo_snap *ts =
		    (struct topo_snap *)snap_slot_get(e->topo_slot);

		if (ts != e->topo)
			sc_flush(e); /* keys and filters may read it */
		if (e->topo != NULL)
			snap_put(&e->topo->base);
		e->topo = ts;
	}
	spread_due(e->spread, mono_ms, engine_record, e);
	if (e->bh != NULL && mono_ms - e->bh_tick_ms >= 1000) {
		bh_tick(e->bh, now_wall_ms());
		e->bh_tick_ms = mono_ms;
	}
	if (mono_ms - e->last_expire >= 1000) {
		for (size_t i = 0; i < e->n_flows; i++) {
			struct compiled *c = e->flows[i];

			flowtab_expire(c->tab, mono_ms);
			if (c->def.log && !c->def.flow_start)
				flowtab_log_active(c->tab, mono_ms,
				    (uint64_t)c->def.active_timeout * 1000,
				    active_cb, c);
		}
		e->last_expire = mono_ms;
	}
	/* the cache grows with the tables (a fresh one: it starts empty) */
	if (e->sc != NULL && e->sc_cap < SC_MAX) {
		uint32_t want = sc_want(e);

		if (want > e->sc_cap)
			sc_alloc(e, want);
	}
}

static int
lookup_cb(void *arg, const struct sflow_addr *agent, uint32_t ifindex,
    const char **node, const char **link)
{
	struct engine *e = arg;
	struct topo_hit hit;
	const struct topo_hit *h = &hit;

	*node = NULL;
	*link = NULL;
	if (e->in_rec != NULL && agent == &e->in_rec->agent &&
	    ifindex == e->in_rec->input.value) {
		/* the record's input port: engine_record() looked it up */
		if ((h = e->in_hit) == NULL)
			return 0;
	} else if (e->topo == NULL ||
	    !topo_lookup(e->topo->graph, agent, ifindex, &hit)) {
		return 0;
	}
	*node = h->node->name;
	if (h->link != NULL)
		*link = h->link->name;
	return 1;
}

/* Drain the records of a sample the engine does not use, so that their
 * decode errors are still counted. */
static void
drain(struct sflow_sample *s)
{
	struct sflow_record r;

	while (sflow_record_next(s, &r) > 0)
		;
}

/* A counter sample: its generic interface record gives the rates. */
static void
counter_sample(struct engine *e, const struct sflow_datagram *dg,
    struct sflow_sample *s, uint64_t mono_ms)
{
	struct sflow_record r;
	struct ifc_reading rd;

	while (sflow_record_next(s, &r) > 0)
		if (ifc_from_sflow(&rd, &dg->agent, &r) == 0)
			ifc_update(e->ifc, &rd, mono_ms,
			    now_wall_ms() - (now_mono_ms() - mono_ms));
}

static void
port_text(char *buf, size_t len, const struct topo_hit *h, bool have,
    const struct sflow_if *ifx)
{
	if (have && h->port != NULL)
		snprintf(buf, len, "%s", h->port->name);
	else if (ifx->format == SFLOW_IF_DISCARD)
		snprintf(buf, len, "discard");
	else
		snprintf(buf, len, "%u", ifx->value);
}

/*
 * The black-hole signals of one sample (blackhole.h), from the topology:
 * a discard, a leaf sending what came from a spine back up (valley) or
 * a spine sending it back down where it came from (hairpin), and, for
 * samples that came over a fabric link, the TTL for loop tracking.
 */
static void
blackhole_signals(
    struct engine *e, const struct flow_rec *rec, const struct topo_hit *inp)
{
	const struct flowrec_layer *L = &rec->l[0];
	struct topo_hit in = { 0 }, out = { 0 };
	bool have_in = inp != NULL, have_out = false, discard, fabric;
	bool valley = false, hairpin = false, loop = false;
	struct bh_flow f = { .ttl = -1 };
	uint64_t now = 0;
	struct bh_sample s;

	if (have_in)
		in = *inp;
	discard = rec->dropped || rec->output.format == SFLOW_IF_DISCARD;
	fabric = have_in && in.link != NULL;
	/* the common case: from a host port, forwarded: nothing to check */
	if (!discard && !fabric)
		return;
	if (rec->output.format == SFLOW_IF_INDEX)
		have_out = topo_lookup(
		    e->topo->graph, &rec->agent, rec->output.value, &out);
	if (have_in && have_out && in.peer_node != NULL &&
	    out.peer_node != NULL) {
		valley = in.node->role == TOPO_ROLE_LEAF &&
		    in.peer_node->role == TOPO_ROLE_SPINE &&
		    out.peer_node->role == TOPO_ROLE_SPINE;
		hairpin = in.node->role == TOPO_ROLE_SPINE &&
		    in.peer_node == out.peer_node;
	}
	if (L->have & (FLOWREC_IP4 | FLOWREC_IP6)) {
		uint8_t fam = (L->have & FLOWREC_IP4) ? 4 : 6;

		f.src.family = f.dst.family = fam;
		memcpy(f.src.a, L->src_ip, fam == 4 ? 4 : 16);
		memcpy(f.dst.a, L->dst_ip, fam == 4 ? 4 : 16);
		f.proto = L->ip_proto;
	}
	if (L->have & FLOWREC_PORTS) {
		f.sport = L->src_port;
		f.dport = L->dst_port;
	}
	f.ttl = (L->have & FLOWREC_TTL) ? L->ip_ttl : -1;
	if (fabric) {
		now = now_wall_ms();
		loop = bh_ttl_track(e->bh, &f, now);
	}
	/* only now, for the few samples that signal, the whole sample */
	if (!discard && !valley && !hairpin && !loop)
		return;
	memset(&s, 0, sizeof(s));
	s.discard = discard;
	s.ttl_loop = loop;
	if (discard) {
		const char *why =
		    sflow_discard_reason_name(rec->discard_reason);

		if (why != NULL)
			snprintf(s.discard_reason, sizeof(s.discard_reason),
			    "%s", why);
		else
			snprintf(s.discard_reason, sizeof(s.discard_reason),
			    "%u", rec->discard_reason);
	}
	if (valley || hairpin) {
		s.valley = true;
		snprintf(s.valley_kind, sizeof(s.valley_kind), "%s",
		    valley ? "valley" : "hairpin");
	}
	if (have_in || have_out)
		snprintf(s.node, sizeof(s.node), "%s",
		    (have_in ? in.node : out.node)->name);
	else
		addr_fmt(
		    s.node, sizeof(s.node), rec->agent.family, rec->agent.a);
	port_text(s.in_port, sizeof(s.in_port), &in, have_in, &rec->input);
	port_text(s.out_port, sizeof(s.out_port), &out, have_out, &rec->output);
	s.src = f.src;
	s.dst = f.dst;
	s.proto = f.proto;
	s.sport = f.sport;
	s.dport = f.dport;
	s.ttl = f.ttl;
	s.sampling_rate = rec->sampling_rate ? rec->sampling_rate : 1;
	bh_observe(e->bh, &s, now ? now : now_wall_ms());
}

/* ---- the pipeline ------------------------------------------------------ */

/* lookup_cb()'s view of sample k's input port, for its keys. */
static void
in_port(struct engine *e, const struct pipe_sample *ps, unsigned k)
{
	e->in_rec = ps->in_rec ? &e->recs[k] : NULL;
	e->in_hit = ps->have_in ? &ps->hit : NULL;
}

/* Sample k's filters and keys, for every definition. */
static void
pipe_keys(struct engine *e, unsigned k)
{
	const struct flow_rec *rec = &e->recs[k];
	struct flowrec_ctx ctx = { lookup_cb, e };

	in_port(e, &e->pipe[k], k);
	flowkey_memo_next(e->memo);
	for (size_t i = 0; i < e->n_flows; i++) {
		struct compiled *c = e->flows[i];

		c->pending[k] = c->hit[k] = false;
		c->pos[k].idx = SC_NONE;
		if (c->filter != NULL && !filter_match(c->filter, rec, &ctx)) {
			c->pos[k].idx = SC_SKIP;
			continue;
		}
		c->matched++;
		if (flowkeys_pack_memo(c->keys, c->key_ids, e->memo, rec, &ctx,
		        c->keybuf[k], c->keybuf_len, &c->keylen[k]) != 1) {
			c->keyless++;
			c->pos[k].idx = SC_KEYLESS;
			continue;
		}
		c->pending[k] = true;
	}
	e->in_rec = NULL;
}

/*
 * A cached position gone stale (its entry expired, was evicted or
 * moved): c's key for sample k again, from its record, to add by key.
 */
static __attribute__((noinline)) bool
pipe_rekey(
    struct engine *e, struct compiled *c, struct pipe_sample *ps, unsigned k)
{
	struct flowrec_ctx ctx = { lookup_cb, e };
	int r;

	e->sc_stale++;
	ps->fill = true;
	in_port(e, ps, k);
	flowkey_memo_next(e->memo);
	r = flowkeys_pack_memo(c->keys, c->key_ids, e->memo, &e->recs[k], &ctx,
	    c->keybuf[k], c->keybuf_len, &c->keylen[k]);
	flowkey_memo_next(e->memo);
	e->in_rec = NULL;
	if (r != 1) {
		c->pos[k].idx = SC_NONE;
		return false;
	}
	flowtab_prepare(
	    c->tab, c->keybuf[k], c->keylen[k], &ps->src, &c->ref[k]);
	return true;
}

/* Sample n's add to c's table, and flowStart's log record. */
static inline void
pipe_add1(
    struct engine *e, struct compiled *c, struct pipe_sample *ps, unsigned k)
{
	double x = (double)ps->sampling_rate *
	    (c->def.value == FLOWDEF_FRAMES ? 1.0 : (double)ps->frame_length);
	int r;

	c->pending[k] = false;
	if (c->hit[k]) {
		c->hit[k] = false;
		if (flowtab_add_pos(
		        c->tab, &c->pos[k], &ps->src, x, ps->mono_ms) == 0)
			return;
		if (!pipe_rekey(e, c, ps, k))
			return;
	}
	r = flowtab_add_ref(c->tab, c->keybuf[k], c->keylen[k], &ps->src,
	    &c->ref[k], x, ps->mono_ms);
	if (r == 1) {
		if (c->def.log && c->def.flow_start)
			log_flow(c, c->keybuf[k], c->keylen[k], &ps->src.agent,
			    ps->src.ds, x, ps->mono_ms, ps->mono_ms);
		/* serials start again: a position kept from before could
		 * name a new entry */
		if (flowtab_serial_wraps(c->tab) != c->wraps) {
			c->wraps = flowtab_serial_wraps(c->tab);
			sc_flush(e);
		}
	}
	if (!ps->fill)
		return;
	if (r < 0)
		c->pos[k].idx = SC_NONE;
	else
		flowtab_last_pos(c->tab, &c->pos[k]);
}

/*
 * The pipeline's three stages, table by table: a sample added (its entry
 * is in cache), a later one's entries prefetched (their index slots
 * are), and this one's keys hashed and index slots prefetched. Table by
 * table, so that the cache misses are spread out rather than asked for
 * ten at a time, more than the core can have in flight; and the hashes
 * after all the keys are packed, so that they do not read back bytes
 * still in the store buffer.
 */
static void
pipe_run(struct engine *e)
{
	uint64_t n = e->pipe_next;
	bool add = n - e->pipe_done == ENGINE_PIPE;
	bool pf = n - e->pipe_done >= PIPE_SLOT_D;
	unsigned ka = (unsigned)((n - ENGINE_PIPE) & PIPE_MASK),
	         kp = (unsigned)((n - PIPE_SLOT_D) & PIPE_MASK),
	         kn = (unsigned)(n & PIPE_MASK);
	struct pipe_sample *pa = &e->pipe[ka];
	const struct pipe_sample *pp = &e->pipe[kp], *pn = &e->pipe[kn];

	for (size_t i = 0; i < e->n_flows; i++) {
		struct compiled *c = e->flows[i];

		if (add && c->pending[ka])
			pipe_add1(e, c, pa, ka);
		if (pf && c->pending[kp] && !c->hit[kp])
			flowtab_prefetch(c->tab, &pp->src, &c->ref[kp]);
		if (c->pending[kn] && !c->hit[kn])
			flowtab_prepare(c->tab, c->keybuf[kn], c->keylen[kn],
			    &pn->src, &c->ref[kn]);
	}
	if (add && pa->fill)
		sc_fill(e, pa, ka);
	if (pf)
		e->pipe[kp].prefetched = true;
	if (add)
		e->pipe_done++;
	e->pipe_next++;
}

/*
 * The sample waiting for its keys: from the cache when it has the
 * sample's fingerprint, else by its filters and keys; then the
 * pipeline's stages.
 */
static void
pipe_step(struct engine *e)
{
	unsigned k = (unsigned)(e->pipe_next & PIPE_MASK);
	struct pipe_sample *ps = &e->pipe[k];

	ps->gen = e->sc_gen;
	if (e->sc == NULL || !sc_lookup(e, ps, k)) {
		pipe_keys(e, k);
		ps->fill = e->sc != NULL;
	}
	pipe_run(e);
}

/* Sample n's entries prefetched, unless pipe_run() did. */
static void
pipe_prefetch(struct engine *e, uint64_t n)
{
	unsigned k = (unsigned)(n & PIPE_MASK);
	struct pipe_sample *ps = &e->pipe[k];

	if (ps->prefetched)
		return;
	ps->prefetched = true;
	for (size_t i = 0; i < e->n_flows; i++)
		if (e->flows[i]->pending[k] && !e->flows[i]->hit[k])
			flowtab_prefetch(
			    e->flows[i]->tab, &ps->src, &e->flows[i]->ref[k]);
}

/* Sample n's adds, for every definition. */
static void
pipe_add(struct engine *e, uint64_t n)
{
	unsigned k = (unsigned)(n & PIPE_MASK);

	for (size_t i = 0; i < e->n_flows; i++)
		if (e->flows[i]->pending[k])
			pipe_add1(e, e->flows[i], &e->pipe[k], k);
	if (e->pipe[k].fill)
		sc_fill(e, &e->pipe[k], k);
}

/*
 * One flow record, from an sFlow sample (built in recs[], where the
 * pipeline keeps it) or a NetFlow slice (copied there): black-hole
 * signals, then every definition's filter, keys and table.
 *
 * With the sample cache, a sample waits one sample for its keys: its
 * fingerprint's cache line is fetched meanwhile. A sample whose
 * fingerprint is there skips every filter, key and index slot: it goes
 * to the entries the cache names (checked by their serials at the add).
 */
static void
engine_record(void *arg, const struct flow_rec *in, uint64_t mono_ms)
{
	struct engine *e = arg;
	unsigned k = (unsigned)(e->seq_next & PIPE_MASK);
	struct pipe_sample *ps = &e->pipe[k];
	struct flow_rec *rec = &e->recs[k];
	bool have_in;

	have_in = e->topo != NULL && in->input.format == SFLOW_IF_INDEX &&
	    topo_lookup(e->topo->graph, &in->agent, in->input.value, &ps->hit);
	if (e->bh != NULL && e->topo != NULL)
		blackhole_signals(e, in, have_in ? &ps->hit : NULL);
	if (e->n_flows == 0)
		return;
	if (in != rec)
		*rec = *in;
	e->samples++;
	memset(&ps->src, 0, sizeof(ps->src));
	ps->src.agent = rec->agent;
	ps->src.ds = rec->source_index;
	/*
	 * Edge: the packet entered the fabric here (its input is an edge
	 * port), so counting only these counts each packet once. Core: it
	 * arrived over a fabric link.
	 */
	if (have_in && ps->hit.port != NULL) {
		ps->src.edge = ps->hit.port->edge;
		ps->src.core = ps->hit.link != NULL;
	}
	flowtab_srcids_stamp(e->srcids, &ps->src, rec->src_memo);
	ps->have_in = have_in;
	ps->in_rec = e->topo != NULL && rec->input.format == SFLOW_IF_INDEX;
	ps->mono_ms = mono_ms;
	ps->sampling_rate = rec->sampling_rate;
	ps->frame_length = rec->frame_length;
	ps->prefetched = false;
	ps->fill = false;
	if (e->sc != NULL) {
		ps->fp = sc_fingerprint(e, rec);
		const uint8_t *set = (const uint8_t *)sc_set(e, ps->fp);

		for (size_t off = 0; off < e->sc_stride; off += 64)
			__builtin_prefetch(set + off);
	}
	e->seq_next++;
	while (e->seq_next - e->pipe_next > (e->sc != NULL ? 1u : 0u))
		pipe_step(e);
}

/* The names the topology gives a port: node, link, port. */
static void
json_port(struct engine *e, const struct sflow_addr *agent,
    const struct sflow_if *ifx, struct jsonlog_rec *j, bool in)
{
	struct topo_hit h;

	if (e->topo == NULL || ifx->format != SFLOW_IF_INDEX ||
	    ifx->value == 0 ||
	    !topo_lookup(e->topo->graph, agent, ifx->value, &h))
		return;
	if (j->node[0] == '\0')
		snprintf(j->node, sizeof(j->node), "%s", h.node->name);
	if (h.port != NULL)
		snprintf(in ? j->in_port : j->out_port, sizeof(j->in_port),
		    "%s", h.port->name);
	if (in && h.link != NULL)
		snprintf(j->link, sizeof(j->link), "%s", h.link->name);
}

/* One line of the JSON flow log (jsonlog.h) for a record. */
static void
json_log(struct engine *e, const struct flow_rec *rec, uint8_t source,
    uint64_t bytes, uint64_t packets, uint32_t rate, int64_t start_ms,
    int64_t end_ms)
{
	const struct flowrec_layer *L = &rec->l[0];
	struct jsonlog_rec j;

	memset(&j, 0, sizeof(j));
	j.source = source;
	j.exporter = rec->agent;
	json_port(e, &rec->agent, &rec->input, &j, true);
	json_port(e, &rec->agent, &rec->output, &j, false);
	if (rec->n_layers > 0 && (L->have & (FLOWREC_IP4 | FLOWREC_IP6))) {
		uint8_t fam = (L->have & FLOWREC_IP4) ? 4 : 6;

		j.have |=
		    JSONLOG_HAVE_ADDRS | JSONLOG_HAVE_PROTO | JSONLOG_HAVE_TOS;
		j.src.family = j.dst.family = fam;
		memcpy(j.src.a, L->src_ip, fam == 4 ? 4 : 16);
		memcpy(j.dst.a, L->dst_ip, fam == 4 ? 4 : 16);
		j.protocol = L->ip_proto;
		j.tos = L->ip_tos;
	}
	if (rec->n_layers > 0 && (L->have & FLOWREC_PORTS)) {
		j.have |= JSONLOG_HAVE_PORTS;
		j.src_port = L->src_port;
		j.dst_port = L->dst_port;
	}
	if (rec->n_layers > 0 && (L->have & FLOWREC_TCPFLAGS)) {
		j.have |= JSONLOG_HAVE_TCP_FLAGS;
		j.tcp_flags = L->tcp_flags;
	}
	if (rec->n_layers > 0 && (L->have & FLOWREC_ICMP)) {
		j.have |= JSONLOG_HAVE_ICMP;
		j.icmp_type = L->icmp_type;
		j.icmp_code = L->icmp_code;
	}
	if (rec->n_layers > 0 && (L->have & FLOWREC_ETH)) {
		j.have |= JSONLOG_HAVE_MACS;
		memcpy(j.src_mac, L->src_mac, 6);
		memcpy(j.dst_mac, L->dst_mac, 6);
	}
	if (rec->n_layers > 0 && (L->have & FLOWREC_VLAN)) {
		j.have |= JSONLOG_HAVE_VLAN;
		j.vlan = L->vlan;
	} else if (rec->has_switch && rec->src_vlan != 0) {
		j.have |= JSONLOG_HAVE_VLAN;
		j.vlan = (uint16_t)rec->src_vlan;
	}
	if (rec->input.format == SFLOW_IF_INDEX) {
		j.have |= JSONLOG_HAVE_IN_IF;
		j.in_if = rec->input.value;
	}
	if (rec->output.format == SFLOW_IF_INDEX) {
		j.have |= JSONLOG_HAVE_OUT_IF;
		j.out_if = rec->output.value;
	} else if (rec->output.format == SFLOW_IF_DISCARD &&
	    rec->discard_ifindex != 0) {
		j.have |= JSONLOG_HAVE_OUT_IF;
		j.out_if = rec->discard_ifindex;
	}
	j.dropped = rec->dropped || rec->output.format == SFLOW_IF_DISCARD;
	j.bytes = bytes;
	j.packets = packets;
	j.sampling_rate = rate ? rate : 1;
	j.start_ms = start_ms;
	j.end_ms = end_ms;
	jsonlog_put(e->jsonlog, &j);
}

void
engine_sample(struct engine *e, const struct sflow_datagram *dg,
    struct sflow_sample *s, uint64_t mono_ms)
{
	struct flow_rec *rec = &e->recs[e->seq_next & PIPE_MASK];

	if (e->use_counters &&
	    (s->tag == SFLOW_SAMPLE_COUNTERS ||
	        s->tag == SFLOW_SAMPLE_COUNTERS_EXPANDED)) {
		counter_sample(e, dg, s, mono_ms);
		return;
	}
	if (s->tag != SFLOW_SAMPLE_FLOW &&
	    s->tag != SFLOW_SAMPLE_FLOW_EXPANDED &&
	    s->tag != SFLOW_SAMPLE_DISCARD) {
		drain(s);
		return;
	}
	if ((e->n_flows == 0 && e->bh == NULL && e->jsonlog == NULL) ||
	    flowrec_from_sample(rec, dg, s) != 0) {
		drain(s);
		return;
	}
	rec->src_memo = s->memo;
	if (e->jsonlog != NULL) {
		int64_t now = (int64_t)now_wall_ms();
		uint32_t rate = rec->sampling_rate ? rec->sampling_rate : 1;

		json_log(e, rec, JSONLOG_SFLOW,
		    (uint64_t)rec->frame_length * rate, rate, rate, now, now);
	}
	engine_record(e, rec, mono_ms);
}

void
engine_netflow(struct engine *e, const struct flow_rec *rec,
    const struct engine_nf *nf, uint64_t mono_ms)
{
	e->netflow_records++;
	if (e->jsonlog != NULL)
		json_log(e, rec, nf->source, nf->scaled_bytes,
		    nf->scaled_packets, nf->rate, nf->start_ms, nf->end_ms);
	if (e->n_flows == 0 && e->bh == NULL)
		return;
	spread_add(e->spread, rec, nf->packets, nf->rate,
	    nf->end_ms > nf->start_ms ? (uint64_t)(nf->end_ms - nf->start_ms)
	                              : 0,
	    mono_ms, engine_record, e);
}

void
engine_flush(struct engine *e)
{
	if (e->jsonlog != NULL)
		jsonlog_flush(e->jsonlog);
	while (e->pipe_next < e->seq_next)
		pipe_step(e);
	while (e->pipe_done < e->pipe_next) {
		pipe_prefetch(e, e->pipe_done);
		pipe_add(e, e->pipe_done++);
	}
}

static void
snap_free_fn(struct snap *s)
{
	struct engine_snap *es = (struct engine_snap *)s;

	for (size_t i = 0; i < es->n; i++)
		flowtab_snapshot_free(es->flows[i].tab);
	if (es->ifc != NULL)
		snap_put(&es->ifc->base);
	free(es->bh);
	free(es->flows);
	free(es);
}

static int
cmp_flow(const void *a, const void *b)
{
	return strcmp(((const struct engine_flow *)a)->def.name,
	    ((const struct engine_flow *)b)->def.name);
}

struct engine_snap *
engine_snapshot(struct engine *e, uint64_t mono_ms)
{
	struct engine_snap *es = xcalloc(1, sizeof(*es));

	engine_flush(e);
	snap_init(&es->base, snap_free_fn);
	es->taken_mono_ms = mono_ms;
	if (e->bh != NULL) {
		es->bh_on = true;
		es->n_bh = bh_events(e->bh, now_wall_ms(), &es->bh);
		bh_stats(e->bh, &es->bh_stats);
	}
	es->samples = e->samples;
	engine_cache_stats(e, &es->cache);
	es->flowlog_records = e->flowlog_records;
	es->netflow_records = e->netflow_records;
	spread_get_stats(e->spread, &es->spread);
	if (e->jsonlog != NULL) {
		es->jsonlog_on = true;
		jsonlog_get_stats(e->jsonlog, &es->jsonlog);
	}
	{
		struct ifc_stats st;

		/* A new copy of the rates only when a reading came in. */
		if (mono_ms - e->ifc_expired_at > 60000) {
			ifc_expire(e->ifc, mono_ms, ENGINE_IFACE_MAX_AGE_MS);
			e->ifc_expired_at = mono_ms;
			e->ifc_readings = UINT64_MAX;
		}
		ifc_stats(e->ifc, &st);
		if (e->ifc_last == NULL || st.readings != e->ifc_readings) {
			if (e->ifc_last != NULL)
				snap_put(&e->ifc_last->base);
			e->ifc_last = ifc_snap_take(e->ifc, now_wall_ms());
			e->ifc_readings = st.readings;
		}
		atomic_fetch_add(&e->ifc_last->base.ref, 1);
		es->ifc = e->ifc_last;
	}
	es->flows = xcalloc(e->n_flows + 1, sizeof(*es->flows));
	for (size_t i = 0; i < e->n_flows; i++) {
		struct engine_flow *f = &es->flows[i];

		f->def = e->flows[i]->def;
		f->tab = flowtab_snapshot_avg(e->flows[i]->tab, mono_ms);
		flowtab_stats(e->flows[i]->tab, &f->stats);
		f->matched = e->flows[i]->matched;
		f->keyless = e->flows[i]->keyless;
	}
	es->n = e->n_flows;
	qsort(es->flows, es->n, sizeof(*es->flows), cmp_flow);
	if (e->th != NULL) {
		struct ifc_snap *snmp = e->snmp_ifc
		    ? (struct ifc_snap *)snap_slot_get(e->snmp_ifc)
		    : NULL;

		if (thresholds_eval(e->th, es, snmp, e->topo, mono_ms,
		        now_wall_ms() - (now_mono_ms() - mono_ms)) > 0)
			e->logged = true;
		if (snmp != NULL)
			snap_put(&snmp->base);
	}
	return es;
}
