/*
 * ifcounters.c: interface counter readings -> per-second rates. PURE: no
 * I/O, no logging. Runs on whichever thread owns the table (the engine
 * thread in fabmond); see ifcounters.h for the rules.
 *
 * Interfaces live in a dense array; an open-addressing index (linear
 * probing, SipHash-keyed because agents and ifIndexes come from packets)
 * maps (agent, ifIndex) to it. Expiry compacts the array and rebuilds
 * the index: it runs rarely and touches everything anyway.
 */
#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ifcounters.h"
#include "util.h"

#define U32_UNKNOWN 0xffffffffull
/*
 * The smallest Ethernet frame on the wire: 64 bytes, 8 of preamble and
 * 12 of inter-frame gap. Line rate / this is the most packets a port can
 * count per second; a wrapped 32-bit packet counter above 2x that reset.
 */
#define MIN_WIRE_FRAME 84
#define PLAUSIBLE_X    2.0 /* jitter in arrival times inflates rates */

struct ent {
	struct ifc_rates st; /* what ifc_rates_all() copies */
	uint64_t base_c[IFC_N];
	uint32_t base_have, base_wide;
	uint64_t base_mono;
	bool has_base;
	bool held;          /* the last SNMP reading was a stale repeat */
	uint64_t last_mono; /* latest reading taken: source freshness */
	uint64_t seen_mono; /* latest reading of any kind: expiry */
	uint32_t hash;
};

struct slot {
	uint32_t h; /* 0: empty */
	uint32_t idx;
};

struct ifc_table {
	struct ent *ents;
	size_t n, cap, max;
	struct slot *slots;
	uint32_t mask; /* slots - 1; slots a power of 2, >= 2n */
	uint64_t k0, k1;
	uint64_t readings, refused, ignored, too_soon, stale, discontinuities;
	/* ifc_rates_all()'s order: ents[ord[0 .. ord_n)] sorted by (agent,
	 * ifIndex); entries are only appended between two expiries, so
	 * the next call sorts only the new ones and merges them in */
	uint32_t *ord;
	size_t ord_n, ord_cap;
};

/* ---- hashing --------------------------------------------------------- */

static uint64_t
mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static size_t
addr_len(const struct sflow_addr *a)
{
	return a->family == 4 ? 4 : a->family == 6 ? 16 : 0;
}

/* A copy with the bytes past the address zeroed, so memcmp/hash agree. */
static void
addr_norm(struct sflow_addr *dst, const struct sflow_addr *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->family = src->family;
	memcpy(dst->a, src->a, addr_len(src));
}

int
ifc_key_cmp(const struct sflow_addr *a, uint32_t ia, const struct sflow_addr *b,
    uint32_t ib)
{
	struct sflow_addr na, nb;
	int c;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	addr_norm(&na, a);
	addr_norm(&nb, b);
	if ((c = memcmp(na.a, nb.a, sizeof(na.a))) != 0)
		return c < 0 ? -1 : 1;
	return ia < ib ? -1 : ia > ib ? 1 : 0;
}

/* The index hash of a normalised key; never 0, which marks an empty slot. */
static uint32_t
key_hash(const struct ifc_table *t, const struct sflow_addr *a, uint32_t ifx)
{
	return sflow_addr_hash(t->k0, t->k1, a, ifx);
}

/* ---- the table ------------------------------------------------------- */

static void
slots_build(struct ifc_table *t, size_t nslots)
{
	free(t->slots);
	t->slots = xcalloc(nslots, sizeof(*t->slots));
	t->mask = (uint32_t)(nslots - 1);
	for (size_t i = 0; i < t->n; i++) {
		uint32_t j = t->ents[i].hash & t->mask;

		while (t->slots[j].h != 0)
			j = (j + 1) & t->mask;
		t->slots[j].h = t->ents[i].hash;
		t->slots[j].idx = (uint32_t)i;
	}
}

struct ifc_table *
ifc_new(size_t max_ifaces, uint64_t seed)
{
	struct ifc_table *t;

	assert(max_ifaces > 0 && max_ifaces < UINT32_MAX / 4);
	t = xcalloc(1, sizeof(*t));
	t->max = max_ifaces;
	t->k0 = mix64(seed ^ 0x6a09e667f3bcc908ull);
	t->k1 = mix64(seed ^ 0xbb67ae8584caa73bull);
	slots_build(t, 16);
	return t;
}

void
ifc_free(struct ifc_table *t)
{
	if (t == NULL)
		return;
	free(t->ents);
	free(t->slots);
	free(t->ord);
	free(t);
}

static struct ent *
lookup(const struct ifc_table *t, const struct sflow_addr *a, uint32_t ifx,
    uint32_t h)
{
	for (uint32_t j = h & t->mask; t->slots[j].h != 0;
	     j = (j + 1) & t->mask) {
		struct ent *e = &t->ents[t->slots[j].idx];

		if (t->slots[j].h == h && e->st.ifindex == ifx &&
		    e->st.agent.family == a->family &&
		    memcmp(e->st.agent.a, a->a, sizeof(a->a)) == 0)
			return e;
	}
	return NULL;
}

static struct ent *
insert(
    struct ifc_table *t, const struct sflow_addr *a, uint32_t ifx, uint32_t h)
{
	struct ent *e;
	uint32_t j;

	assert(t->n < t->max);
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		if (t->cap > t->max)
			t->cap = t->max;
		t->ents = xrealloc(t->ents, t->cap * sizeof(*t->ents));
	}
	e = &t->ents[t->n];
	memset(e, 0, sizeof(*e));
	e->st.agent = *a;
	e->st.ifindex = ifx;
	e->st.in_util = e->st.out_util = -1;
	e->hash = h;
	t->n++;
	if (t->n * 2 > (size_t)t->mask + 1) {
		slots_build(t, ((size_t)t->mask + 1) * 2);
	} else {
		for (j = h & t->mask; t->slots[j].h != 0; j = (j + 1) & t->mask)
			;
		t->slots[j].h = h;
		t->slots[j].idx = (uint32_t)(t->n - 1);
	}
	return e;
}

/* ---- rates ----------------------------------------------------------- */

static bool
is_octets(int f)
{
	return f == IFC_IN_OCTETS || f == IFC_OUT_OCTETS;
}

/* The most a counter can plausibly count per second, 0 if unknown. */
static double
plausible_max(int f, uint64_t speed)
{
	if (speed == 0)
		return 0;
	if (is_octets(f))
		return PLAUSIBLE_X * (double)speed / 8;
	return PLAUSIBLE_X * (double)speed / (8 * MIN_WIRE_FRAME);
}

static void
clear_rates(struct ifc_rates *st)
{
	memset(st->r, 0, sizeof(st->r));
	st->have = 0;
	st->in_util = st->out_util = -1;
	st->interval_ms = 0;
}

/* Make the reading the status and the baseline. */
static void
take(struct ent *e, const struct ifc_reading *rd, uint64_t mono, uint64_t wall)
{
	e->st.speed = rd->speed;
	e->st.admin = rd->admin;
	e->st.oper = rd->oper;
	e->st.iftype = rd->iftype;
	e->st.direction = rd->direction;
	e->st.promisc = rd->promisc;
	e->st.updated_ms = wall;
	memcpy(e->base_c, rd->c, sizeof(e->base_c));
	e->base_have = rd->have & ((1u << IFC_N) - 1);
	e->base_wide = rd->wide;
	e->base_mono = mono;
	e->has_base = true;
	e->held = false;
	e->last_mono = mono;
}

/*
 * Rates from the baseline to rd into r[], their bits into *have.
 * Returns false on a discontinuity.
 */
static bool
compute(const struct ent *e, const struct ifc_reading *rd, double secs,
    double *r, uint32_t *have)
{
	*have = 0;
	for (int f = 0; f < IFC_N; f++) {
		uint32_t bit = IFC_BIT(f);
		uint64_t cur = rd->c[f], prev = e->base_c[f], delta;
		bool wrapped = false;
		double rate, lim;

		if (!(rd->have & bit) || !(e->base_have & bit))
			continue;
		/*
		 * SNMP falling back from ifHCInOctets to ifInOctets: the two
		 * are different counters, nothing to subtract.
		 */
		if ((rd->wide ^ e->base_wide) & bit)
			continue;
		if (!(rd->wide & bit)) {
			cur &= 0xffffffffull;
			prev &= 0xffffffffull;
		}
		if (cur >= prev) {
			delta = cur - prev;
		} else if (rd->wide & bit) {
			return false; /* a 64-bit counter never wraps */
		} else {
			delta = cur + 0x100000000ull - prev;
			wrapped = true;
		}
		rate = (double)delta / secs;
		lim = plausible_max(f, rd->speed);
		if (lim > 0 && rate > lim && (wrapped || is_octets(f)))
			return false;
		r[f] = rate;
		*have |= bit;
	}
	return true;
}

/*
 * An SNMP reading that repeats the baseline exactly, for an interface
 * whose counters were moving: the agent answered from its cache (net-snmp
 * refreshes IF-MIB on a ~3 s timer, not per request), not a port that
 * stopped. See ifcounters.h.
 */
static bool
stale_repeat(const struct ent *e, const struct ifc_reading *rd)
{
	uint32_t common = rd->have & e->base_have & ((1u << IFC_N) - 1);
	bool moving = false;

	if (rd->source != IFC_SRC_SNMP || e->held || common == 0 ||
	    ((rd->wide ^ e->base_wide) & common) != 0)
		return false;
	for (int f = 0; f < IFC_N; f++) {
		if ((e->st.have & IFC_BIT(f)) && e->st.r[f] > 0)
			moving = true;
		if ((common & IFC_BIT(f)) && rd->c[f] != e->base_c[f])
			return false;
	}
	return moving;
}

int
ifc_update(struct ifc_table *t, const struct ifc_reading *rd, uint64_t mono,
    uint64_t wall)
{
	struct sflow_addr a;
	struct ent *e;
	uint32_t h, have;
	double r[IFC_N] = { 0 };

	assert(rd->source == IFC_SRC_SFLOW || rd->source == IFC_SRC_SNMP);
	t->readings++;
	addr_norm(&a, &rd->agent);
	h = key_hash(t, &a, rd->ifindex);
	if ((e = lookup(t, &a, rd->ifindex, h)) == NULL) {
		if (t->n >= t->max) {
			t->refused++;
			return -1;
		}
		e = insert(t, &a, rd->ifindex, h);
		e->st.source = rd->source;
		e->seen_mono = mono;
		take(e, rd, mono, wall);
		return 0;
	}
	e->seen_mono = mono;
	if (rd->source != e->st.source) {
		if (e->st.source == IFC_SRC_SFLOW &&
		    (mono < e->last_mono ||
		        mono - e->last_mono < IFC_SFLOW_FRESH_MS)) {
			t->ignored++;
			return 0;
		}
		e->st.source = rd->source;
		clear_rates(&e->st);
		take(e, rd, mono, wall);
		return 0;
	}
	if (mono < e->base_mono) {
		/* The caller's clock went back: a bug; start over anyway. */
		clear_rates(&e->st);
		take(e, rd, mono, wall);
		return 0;
	}
	if (mono - e->base_mono < IFC_MIN_INTERVAL_MS) {
		/*
		 * Keep the older baseline: the next reading then gets an
		 * interval long enough to mean something.
		 */
		t->too_soon++;
		return 0;
	}
	if (stale_repeat(e, rd)) {
		/*
		 * Keep the baseline and the rates: the next reading spans
		 * both intervals. A second repeat in a row is a real stop.
		 */
		e->held = true;
		t->stale++;
		return 0;
	}
	if (!compute(e, rd, (double)(mono - e->base_mono) / 1000, r, &have)) {
		e->st.discontinuities++;
		t->discontinuities++;
		clear_rates(&e->st);
		take(e, rd, mono, wall);
		return 0;
	}
	memcpy(e->st.r, r, sizeof(r));
	e->st.have = have;
	e->st.interval_ms = mono - e->base_mono;
	e->st.in_util = e->st.out_util = -1;
	if (rd->speed > 0) {
		if (have & IFC_BIT(IFC_IN_OCTETS))
			e->st.in_util =
			    r[IFC_IN_OCTETS] * 8 / (double)rd->speed * 100;
		if (have & IFC_BIT(IFC_OUT_OCTETS))
			e->st.out_util =
			    r[IFC_OUT_OCTETS] * 8 / (double)rd->speed * 100;
	}
	take(e, rd, mono, wall);
	return have != 0;
}

size_t
ifc_expire(struct ifc_table *t, uint64_t mono, uint64_t max_age_ms)
{
	size_t o = 0, gone;

	for (size_t i = 0; i < t->n; i++) {
		const struct ent *e = &t->ents[i];

		if (mono > e->seen_mono && mono - e->seen_mono > max_age_ms)
			continue;
		if (o != i)
			t->ents[o] = *e;
		o++;
	}
	gone = t->n - o;
	if (gone > 0) {
		t->n = o;
		t->ord_n = 0; /* entries moved: sort them all again */
		slots_build(t, (size_t)t->mask + 1);
	}
	return gone;
}

static int
ord_cmp(const void *pa, const void *pb, void *arg)
{
	const struct ent *e = arg;
	const struct ifc_rates *a = &e[*(const uint32_t *)pa].st,
	                       *b = &e[*(const uint32_t *)pb].st;

	return ifc_key_cmp(&a->agent, a->ifindex, &b->agent, b->ifindex);
}

/*
 * Bring t->ord up to t->n entries: the new ones sorted, then merged with
 * the old order from the back (ord has room for both).
 */
static void
ord_update(struct ifc_table *t)
{
	size_t old = t->ord_n, i, j, k;

	if (old == t->n)
		return;
	if (t->ord_cap < t->n) {
		t->ord_cap = t->cap;
		t->ord = xrealloc(t->ord, t->ord_cap * sizeof(*t->ord));
	}
	for (i = old; i < t->n; i++)
		t->ord[i] = (uint32_t)i;
	qsort_r(t->ord + old, t->n - old, sizeof(*t->ord), ord_cmp, t->ents);
	if (old > 0) {
		uint32_t *add = xmalloc((t->n - old) * sizeof(*add));

		memcpy(add, t->ord + old, (t->n - old) * sizeof(*add));
		i = old;        /* the old order's end */
		j = t->n - old; /* the new ones' end */
		k = t->n;
		while (j > 0) {
			if (i > 0 &&
			    ord_cmp(&t->ord[i - 1], &add[j - 1], t->ents) > 0)
				t->ord[--k] = t->ord[--i];
			else
				t->ord[--k] = add[--j];
		}
		free(add);
	}
	t->ord_n = t->n;
}

/*
 * The entries are copied in the order of their index (ord_update()): a
 * sort of the copies themselves (216 bytes each) took glibc's merge sort
 * a buffer as large as the copy again, 14 MB at 64,000 interfaces, and a
 * sort of every index at each snapshot was half of the time a snapshot
 * took at 48,000 interfaces.
 */
struct ifc_rates *
ifc_rates_all(struct ifc_table *t, size_t *n)
{
	struct ifc_rates *out;

	*n = t->n;
	if (t->n == 0)
		return NULL;
	ord_update(t);
	out = xmalloc_huge(t->n * sizeof(*out)); /* megabytes, each snapshot */
	for (size_t i = 0; i < t->n; i++)
		out[i] = t->ents[t->ord[i]].st;
	return out;
}

void
ifc_stats(const struct ifc_table *t, struct ifc_stats *s)
{
	memset(s, 0, sizeof(*s));
	s->ifaces = t->n;
	s->max_ifaces = t->max;
	s->readings = t->readings;
	s->refused = t->refused;
	s->ignored = t->ignored;
	s->too_soon = t->too_soon;
	s->stale = t->stale;
	s->discontinuities = t->discontinuities;
}

/* ---- sFlow ----------------------------------------------------------- */

/*
 * The counters of the generic record by their position in it (sflow.h),
 * -1 for the fields that are status, not counters. Positions, not names:
 * this runs for every counter sample.
 */
static const signed char generic_counter[SFLOW_GEN__N] = {
	[SFLOW_GEN_IFINDEX] = -1,
	[SFLOW_GEN_NETWORK_TYPE] = -1,
	[SFLOW_GEN_SPEED] = -1,
	[SFLOW_GEN_DIRECTION] = -1,
	[SFLOW_GEN_STATUS] = -1,
	[SFLOW_GEN_IN_OCTETS] = IFC_IN_OCTETS,
	[SFLOW_GEN_IN_UCAST] = IFC_IN_UCAST,
	[SFLOW_GEN_IN_MCAST] = IFC_IN_MCAST,
	[SFLOW_GEN_IN_BCAST] = IFC_IN_BCAST,
	[SFLOW_GEN_IN_DISCARDS] = IFC_IN_DISCARDS,
	[SFLOW_GEN_IN_ERRORS] = IFC_IN_ERRORS,
	[SFLOW_GEN_IN_UNKNOWN] = IFC_IN_UNKNOWN,
	[SFLOW_GEN_OUT_OCTETS] = IFC_OUT_OCTETS,
	[SFLOW_GEN_OUT_UCAST] = IFC_OUT_UCAST,
	[SFLOW_GEN_OUT_MCAST] = IFC_OUT_MCAST,
	[SFLOW_GEN_OUT_BCAST] = IFC_OUT_BCAST,
	[SFLOW_GEN_OUT_DISCARDS] = IFC_OUT_DISCARDS,
	[SFLOW_GEN_OUT_ERRORS] = IFC_OUT_ERRORS,
	[SFLOW_GEN_PROMISC] = -1,
};

int
ifc_from_sflow(struct ifc_reading *rd, const struct sflow_addr *agent,
    const struct sflow_record *r)
{
	const struct sflow_field *fl;
	uint32_t n;

	if (r->tag != SFLOW_CTR_GENERIC || !r->counter || !r->decoded ||
	    r->u.table.fields != sflow_generic_fields ||
	    r->u.table.n > SFLOW_TABLE_MAX)
		return -1;
	fl = r->u.table.fields;
	/* The decoder gives all SFLOW_GEN__N fields or none; be safe anyway. */
	n = r->u.table.n < SFLOW_GEN__N ? r->u.table.n : SFLOW_GEN__N;
	if (n <= SFLOW_GEN_IFINDEX)
		return -1;
	memset(rd, 0, sizeof(*rd));
	addr_norm(&rd->agent, agent);
	rd->source = IFC_SRC_SFLOW;
	for (uint32_t i = 0; i < n; i++) {
		bool wide = fl[i].type == SFLOW_F_U64;
		uint64_t v = r->u.table.v[i];
		/* sFlow sends -1 for a counter the agent does not have */
		bool unknown = wide ? v == UINT64_MAX : v == U32_UNKNOWN;
		int f;

		switch (i) {
		case SFLOW_GEN_IFINDEX:
			rd->ifindex = (uint32_t)v;
			break;
		case SFLOW_GEN_NETWORK_TYPE:
			rd->iftype = (uint32_t)v;
			break;
		case SFLOW_GEN_SPEED:
			rd->speed = unknown ? 0 : v;
			break;
		case SFLOW_GEN_DIRECTION:
			rd->direction = v <= 4 ? (uint32_t)v : 0;
			break;
		case SFLOW_GEN_STATUS:
			rd->admin = v & 1 ? IFC_UP : IFC_DOWN;
			rd->oper = v & 2 ? IFC_UP : IFC_DOWN;
			break;
		case SFLOW_GEN_PROMISC:
			/* sFlow: 0 false, 1 true; TruthValue: 1, 2 */
			rd->promisc = v == 1 ? 1 : v == 0 ? 2 : 0;
			break;
		default:
			f = generic_counter[i];
			if (f < 0 || unknown)
				break;
			rd->c[f] = v;
			rd->have |= IFC_BIT(f);
			if (wide)
				rd->wide |= IFC_BIT(f);
			break;
		}
	}
	return 0;
}
