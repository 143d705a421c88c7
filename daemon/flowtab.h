/*
 * flowtab.h: one flow definition's table of smoothed flow rates, and its
 * top-N queries (sFlow-RT's /activeflows). PURE: no I/O, no logging.
 *
 * Thread model: the engine thread owns a table and is the only thread that
 * calls anything taking a struct flowtab. Once per push period it takes a
 * flowtab_snapshot(), an immutable copy of the per-data-source top-n, and
 * publishes it; API threads then answer /activeflows with
 * flowtab_snapshot_top() on that snapshot, which is safe from any thread.
 * flowtab_top() answers the same query on the live table, for the owner
 * itself (thresholds, tests).
 *
 * Entries are keyed by (key, agent, dataSource). The key is an opaque byte
 * string: the joined flowKeys.
 *
 * Smoothing. Each sample adds x (bytes or frames, already scaled by the
 * sampling rate) at time t_i. The value of an entry at time `now` is
 *
 *	value(now) = (1/t) * SUM_i x_i * exp(-(now - t_i) / t)
 *
 * with t the definition's smoothing time in seconds: an exponentially
 * weighted moving average of the rate, in units per second. It is linear,
 * so a query sees the same number whatever the pattern of updates and
 * queries before it; its DC gain is 1, so a constant rate R converges to R
 * (to within the sampling ripple: with samples every d seconds the value
 * swings +-d/2t around R, its time average being exactly R), and its time
 * integral is exactly the sum of the samples. A step to 0 decays as
 * exp(-dt/t). This matches what sFlow-RT documents (its code is not
 * public): rates per second, smoothed over t (default 2 s), a sparse flow
 * spiking and decaying, a square wave under a long t showing its average.
 *
 * It costs one exp() per update: the table keeps every accumulator in a
 * shared reference frame, acc = SUM x_i * exp((t_i - epoch) / t), so that
 * value(now) = acc * exp(-(now - epoch) / t) / t. All entries decay by the
 * same factor, so comparing accumulators compares current values without
 * any exp(). The epoch moves forward (every accumulator rescaled, O(N))
 * once `now` is 256 t past it, long before exp() could overflow.
 *
 * Top-N (sFlow-RT's n). For each data source (agent, ifIndex) only its n
 * largest entries take part in a query; then entries with the same key
 * are merged across agents and data sources by the aggregation mode.
 *
 * Bounded memory. At most max_entries entries. Inserting into a full
 * table removes the entry with the smallest current value among 16 picked
 * at random (O(1)); the current value is recency and size together, so
 * idle and small flows go first and heavy hitters stay. It counts as an
 * eviction, or as an expiry if the entry had expired anyway. The limit of
 * any bounded table: a heavy key stays only if its samples come more often
 * than the table turns over (max_entries / new keys per second); an
 * evicted key comes back with its history lost.
 *
 * Expiry. An entry expires when it has not been updated for
 * FLOWTAB_EXPIRE_T smoothing times and its value is below
 * FLOWTAB_EPSILON. Expired entries are removed lazily: each add checks
 * one entry (a cursor sweeping the table), eviction takes them first (they
 * are the smallest), and flowtab_expire() sweeps them all.
 *
 * Costs: flowtab_add() is O(1): one exp(), two SipHashes, about three
 * cache lines. flowtab_top() and flowtab_snapshot() scan every entry once
 * (O(entries log n)); flowtab_snapshot_top() merges only the snapshot's
 * per-source top-n.
 */
#ifndef FABMON_FLOWTAB_H
#define FABMON_FLOWTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sflow.h"

/* Idle for this many smoothing times and below epsilon: expired. */
#define FLOWTAB_EXPIRE_T 10
/* A value (per second) this small is zero for every display. */
#define FLOWTAB_EPSILON 1e-3
/* Entries compared to pick one to evict from a full table. */
#define FLOWTAB_EVICT_SAMPLES 16
/*
 * Shortest smoothing time: a smaller t is raised to it. sFlow-RT itself
 * adjusts t into [0.2, 600]; the floor here only bounds the cost of
 * moving the epoch (O(entries) every 256 t).
 */
#define FLOWTAB_T_MIN 0.01
/* Longest key accepted, in bytes. */
#define FLOWTAB_KEY_MAX 65535

struct flowtab;
struct flowtab_snapshot;

struct flowtab_conf {
	double t;   /* smoothing seconds, > 0 (sFlow-RT: 2); see T_MIN */
	unsigned n; /* top-n per data source, >= 1 (sFlow-RT: 5) */
	size_t max_entries; /* 1 .. 2^30 */
	uint64_t seed;      /* hash key and eviction sampling; random in prod */
	/* the sources' hash key: tables with the same one take the same
	 * flowtab_src.hash, computed once for all of them */
	uint64_t src_seed;
	/*
	 * NULL: keys are text. Else the keys added are in another form (the
	 * flow engine's packed keys, flowkeys_pack_memo()), and this gives
	 * a key's text into out (outlen >= 4 * keylen + 1), returning its
	 * length. Snapshots hold the keys as text, so what reads them
	 * (flowtab_snapshot_top(), _foreach()) gets text; the table itself
	 * (flowtab_top(), flowtab_get(), the callbacks' info) hands out the
	 * form it holds. A key's text must tell it apart, as its bytes do.
	 */
	size_t (*key_text)(
	    const char *key, size_t keylen, char *out, size_t outlen);
	/*
	 * The owner calls flowtab_expire() often (the engine: every
	 * second): adds then leave expiry to it instead of checking an
	 * entry or so each (SWEEP_STEP), which costs them the entries'
	 * cache lines.
	 */
	bool no_sweep;
};

/* Where a sample was seen. */
struct flowtab_src {
	struct sflow_addr agent;
	uint32_t ds; /* dataSource: the ifIndex */
	bool edge;   /* entering the fabric at an edge port (aggMode edge) */
	bool core;   /* seen on a fabric link (aggMode core) */
	/* 0, or flowtab_src_hash(the table's src_seed, this source) */
	uint32_t hash;
	/* 0, or this source's id in a struct flowtab_srcids (with hash
	 * set by it too): a table then finds the source by the id, an
	 * array index, instead of looking it up by address. Every source
	 * given to a table must come from the same registry, or have 0. */
	uint32_t id;
};

/* The hash of a source for tables with conf.src_seed == src_seed. */
uint32_t flowtab_src_hash(uint64_t src_seed, const struct flowtab_src *);

/*
 * A registry of data sources, for a caller that adds each sample to
 * several tables (the engine): the source is looked up once per sample
 * here, and each table then indexes its own sources by the id. Ids are
 * 1, 2, ... in order of first sight and are never reused; once max
 * sources are known, new ones get id 0 (the tables look those up by
 * address, as without a registry). Not thread-safe: the tables' owner
 * thread uses it.
 */
struct flowtab_srcids;
struct flowtab_srcids *flowtab_srcids_new(uint64_t src_seed, uint32_t max);
void flowtab_srcids_free(struct flowtab_srcids *);
/*
 * Set src->hash (as flowtab_src_hash(src_seed, src)) and src->id. memo:
 * NULL, or where the caller keeps this registry's answer for the source
 * (agents.c: one per agent and data source, src->agent always the same):
 * when it holds the answer for src->ds, no lookup is needed. It is
 * written here, tagged with the registry and the ds, so one memo may
 * serve several registries in turn, or several ds, and still be right.
 */
void flowtab_srcids_stamp(struct flowtab_srcids *, struct flowtab_src *src,
    struct sflow_src_memo *memo);
/* Sources known (ids given), and sources seen once the registry was full. */
uint32_t flowtab_srcids_count(const struct flowtab_srcids *);
uint64_t flowtab_srcids_overflow(const struct flowtab_srcids *);

/*
 * Which entries a query reads. ALL: every agent; ONE: q.agent only;
 * EDGE/CORE: entries flagged edge/core, from every agent.
 */
enum flowtab_filter {
	FLOWTAB_ALL,
	FLOWTAB_ONE,
	FLOWTAB_EDGE,
	FLOWTAB_CORE,
};

/*
 * How entries with the same key merge. MAX: the largest (a packet seen by
 * every switch on its path counts once). SUM: all added. EDGE: the sum of
 * the entries flagged edge (each packet counted once, at its ingress edge
 * port, even when the key's traffic enters at several leaves). CORE: the
 * largest of the entries flagged core (the busiest fabric link's view; a
 * packet crosses several core ports, so a sum would count it again).
 */
enum flowtab_agg {
	FLOWTAB_AGG_MAX,
	FLOWTAB_AGG_SUM,
	FLOWTAB_AGG_EDGE,
	FLOWTAB_AGG_CORE,
};

struct flowtab_query {
	enum flowtab_filter filter;
	struct sflow_addr agent; /* FLOWTAB_ONE */
	size_t max_flows;        /* 0: no limit but the output's size */
	double min_value;        /* hits have value >= min_value */
	enum flowtab_agg agg;
};

/*
 * One merged flow. key points into the table (valid until the table's
 * next add, expire or free) or into the snapshot (valid while it lives).
 * agent/ds: for MAX and CORE the winning entry, for SUM and EDGE the
 * largest contributor; ties go to an edge entry, then the lowest agent
 * address, then the lowest ifIndex. merged: how many entries were merged.
 */
struct flowtab_hit {
	const char *key;
	size_t keylen;
	double value; /* per second */
	struct sflow_addr agent;
	uint32_t ds;
	uint32_t merged;
	/* flowtab_snapshot_foreach() only (0 elsewhere): the entry's first
	 * and latest sample (monotonic ms) */
	uint64_t first_ms, last_ms;
};

/* One entry, as flowtab_get() and the removal callback see it. */
struct flowtab_info {
	const char *key;
	size_t keylen;
	struct sflow_addr agent;
	uint32_t ds;
	bool edge, core;   /* flags of the latest sample */
	double value;      /* per second, at the time asked */
	double total;      /* sum of every sample's x since first seen */
	uint64_t samples;  /* samples added since first seen */
	uint64_t first_ms; /* time of the first sample */
	uint64_t last_ms;  /* latest sample time */
	/* The flow log's open interval: since mark_ms (first_ms until
	 * flowtab_log_active() first reported the entry), since_mark of
	 * the total was added. */
	uint64_t mark_ms;
	double since_mark;
};

enum flowtab_gone {
	FLOWTAB_EVICTED,
	FLOWTAB_EXPIRED,
};

struct flowtab_stats {
	size_t entries;
	size_t max_entries;
	size_t sources;     /* data sources with at least one entry */
	uint64_t inserts;   /* entries created */
	uint64_t updates;   /* samples added to an existing entry */
	uint64_t evictions; /* removed from a full table */
	uint64_t expired;
	uint64_t rejected; /* bad value or key too long */
	uint64_t rebases;  /* epoch moves */
	size_t mem_bytes;  /* estimate of the heap this table holds */
};

/* A new, empty table. The caller owns it; free with flowtab_free(). */
struct flowtab *flowtab_new(const struct flowtab_conf *);
void flowtab_free(struct flowtab *);

/*
 * Called for every entry removed by eviction or expiry (not by
 * flowtab_free), from inside flowtab_add() or flowtab_expire(), on the
 * owner thread: the hook for a flow log's "end of flow". info is valid
 * during the call only; the callback must not touch the table.
 */
void flowtab_set_gone_cb(struct flowtab *,
    void (*cb)(void *arg, const struct flowtab_info *, enum flowtab_gone),
    void *arg);

/*
 * Add a sample of value x (>= 0, finite) for (key, src) at now_ms (a
 * monotonic clock). Returns 1 if it created the entry, 0 if it updated
 * one, -1 if it rejected the sample (bad x, key longer than
 * FLOWTAB_KEY_MAX; counted). A full table evicts first. Owner thread.
 */
int flowtab_add(struct flowtab *, const char *key, size_t keylen,
    const struct flowtab_src *src, double x, uint64_t now_ms);

/*
 * The same in stages, so that a caller adding to several tables can
 * overlap their cache misses: flowtab_prepare() hashes (key, src) and
 * prefetches the index slots; flowtab_prefetch() reads the slot (by now
 * in cache) and prefetches the entry; flowtab_add_ref() adds as
 * flowtab_add() does. ref is only hashes and a hint: the table may
 * change between the stages (they only make the add faster), but key and
 * src must be the same at every stage. Owner thread.
 */
struct flowtab_ref {
	uint32_t kh; /* the key's hash */
	uint32_t sh; /* the source's */
	uint32_t h;  /* the index slot's */
	/* 1 + the index slot flowtab_prefetch() saw holding h, 0: none;
	 * flowtab_add_ref() checks it first (and checks the entry's key) */
	uint32_t hint;
	/* the key reaches into the entry's second cache line */
	bool wide;
};
void flowtab_prepare(const struct flowtab *, const char *key, size_t keylen,
    const struct flowtab_src *src, struct flowtab_ref *ref);
void flowtab_prefetch(const struct flowtab *, const struct flowtab_src *src,
    struct flowtab_ref *ref);
int flowtab_add_ref(struct flowtab *, const char *key, size_t keylen,
    const struct flowtab_src *src, const struct flowtab_ref *ref, double x,
    uint64_t now_ms);

/*
 * Where an entry is: its index, and its serial, which no other entry of
 * the table had since the serials last wrapped (flowtab_serial_wraps()
 * counts the wraps, one per 2^32 entries made). A position goes stale
 * when its entry goes or moves (expiry, eviction); flowtab_add_pos()
 * then says so. The flow engine's sample cache keeps positions.
 */
struct flowtab_pos {
	uint32_t idx;
	uint32_t serial;
};
/* The entry of the latest successful add. */
void flowtab_last_pos(const struct flowtab *, struct flowtab_pos *);
uint32_t flowtab_serial_wraps(const struct flowtab *);
void flowtab_prefetch_pos(const struct flowtab *, const struct flowtab_pos *);
/*
 * An add of x to the entry at pos (its key and source are the caller's
 * business): 0, or -1 without a change when pos is stale or x is not a
 * finite value >= 0 (add with the key then).
 */
int flowtab_add_pos(struct flowtab *, const struct flowtab_pos *pos,
    const struct flowtab_src *src, double x, uint64_t now_ms);

/*
 * Look one entry up; fills *info (value at now_ms) and returns true if
 * found. info->key points into the table. Owner thread.
 */
bool flowtab_get(const struct flowtab *, const char *key, size_t keylen,
    const struct flowtab_src *src, uint64_t now_ms, struct flowtab_info *info);

/*
 * The top flows at now_ms for query q, sorted by value descending (ties:
 * key bytes ascending), at most max of them (and q->max_flows). Returns
 * how many were written to out. Owner thread.
 */
size_t flowtab_top(const struct flowtab *, const struct flowtab_query *q,
    uint64_t now_ms, struct flowtab_hit *out, size_t max);

/*
 * The flow log's active timeout (sFlow-RT's activeTimeout): for every
 * entry whose open interval began timeout_ms or more before now_ms and
 * that has grown since, call cb with its info (mark_ms, since_mark: the
 * interval and what it carried), then start a new interval at now_ms. So
 * a long flow is reported every timeout, and the removal callback then
 * reports only what came after the last report. O(entries). Owner
 * thread; cb must not touch the table.
 */
size_t flowtab_log_active(struct flowtab *, uint64_t now_ms,
    uint64_t timeout_ms, void (*cb)(void *arg, const struct flowtab_info *),
    void *arg);

/* Remove every expired entry now (O(entries)). Returns how many. */
size_t flowtab_expire(struct flowtab *, uint64_t now_ms);

void flowtab_stats(const struct flowtab *, struct flowtab_stats *);

/*
 * An immutable copy of what queries read: the n largest entries of each
 * data source at now_ms, and the stats. Owner thread; the caller owns the
 * snapshot, which no longer refers to the table.
 */
struct flowtab_snapshot *flowtab_snapshot(
    const struct flowtab *, uint64_t now_ms);
/*
 * The same, with each entry's value averaged over the window since the
 * previous flowtab_snapshot_avg() of this table: the mean of value(tau)
 * for tau in (prev, now], which the smoothing makes exact and O(1) per
 * entry (the value's integral is total - t * value). The per-source top-n
 * is chosen by that mean. So a snapshot taken every push period P reads
 * the same whatever its phase against an exporter that sends in bursts
 * every P (the sawtooth of +-P/2t around the rate averages out), and two
 * collectors fed the same samples agree. The window is used when it is
 * at most FLOWTAB_AVG_MAX_T smoothing times long; the first snapshot, or
 * one after a longer gap, carries the values at now_ms. An entry whose
 * first sample came within the window is averaged from that sample on
 * (its value at now_ms if that is now_ms), so a new flow shows at once,
 * at its rate rather than diluted by the time before it. Later reads at
 * now_ms > the snapshot's time decay from the mean as usual. Owner
 * thread (it updates every entry's mark: O(entries)).
 */
#define FLOWTAB_AVG_MAX_T 2.0
struct flowtab_snapshot *flowtab_snapshot_avg(
    struct flowtab *, uint64_t now_ms);
void flowtab_snapshot_free(struct flowtab_snapshot *);

/*
 * flowtab_top() on a snapshot, at now_ms (>= the snapshot's time: values
 * keep decaying; no sample after the snapshot is seen). Any thread; the
 * snapshot is only read. Keys point into the snapshot.
 */
size_t flowtab_snapshot_top(const struct flowtab_snapshot *,
    const struct flowtab_query *q, uint64_t now_ms, struct flowtab_hit *out,
    size_t max);
/*
 * Every entry of the snapshot (each data source's top n), unmerged, with
 * its value at now_ms, in no particular order: what thresholds check.
 * Any thread.
 */
void flowtab_snapshot_foreach(const struct flowtab_snapshot *, uint64_t now_ms,
    void (*fn)(void *arg, const struct flowtab_hit *), void *arg);

/* The table's stats as of the snapshot; its time. */
void flowtab_snapshot_stats(
    const struct flowtab_snapshot *, struct flowtab_stats *);
uint64_t flowtab_snapshot_time(const struct flowtab_snapshot *);

#endif
