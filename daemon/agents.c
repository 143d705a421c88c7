/*
 * agents.c: per-agent accounting; see agents.h. PURE: no I/O, no logging.
 * Owned by the ingest thread.
 */
#include <stdlib.h>
#include <string.h>

#include "agents.h"
#include "util.h"

struct agents {
	struct agent_stats *slots; /* open addressing, power-of-two size */
	size_t cap;
	size_t n;
	size_t max;
	uint64_t overflow;
	uint64_t datagrams;
	uint64_t samples;
	uint64_t errs[SFLOW_ERR__MAX];
	enum sflow_err last_err;
};

/* Gaps larger than this are a restart or garbage, not lost datagrams. */
#define SEQ_GAP_MAX 100000u

struct agents *
agents_new(size_t max_agents)
{
	struct agents *t = xcalloc(1, sizeof(*t));

	t->cap = 64;
	t->slots = xcalloc(t->cap, sizeof(*t->slots));
	t->max = max_agents ? max_agents : 1;
	return t;
}

void
agents_free(struct agents *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->cap; i++)
		free(t->slots[i].sources);
	free(t->slots);
	free(t);
}

static uint64_t
key_hash(const struct sflow_addr *a, uint32_t sub, bool header_ok)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	for (int i = 0; i < 16; i++)
		h = (h ^ a->a[i]) * 1099511628211ull;
	h = (h ^ a->family) * 1099511628211ull;
	h = (h ^ sub) * 1099511628211ull;
	return (h ^ header_ok) * 1099511628211ull;
}

static bool
key_eq(const struct agent_stats *s, const struct sflow_addr *a, uint32_t sub,
    bool header_ok)
{
	return s->addr.family == a->family && s->sub_agent_id == sub &&
	    s->header_ok == header_ok && memcmp(s->addr.a, a->a, 16) == 0;
}

static void
grow(struct agents *t)
{
	struct agent_stats *old = t->slots;
	size_t oldcap = t->cap;

	t->cap *= 2;
	t->slots = xcalloc(t->cap, sizeof(*t->slots));
	for (size_t i = 0; i < oldcap; i++) {
		size_t j;

		if (old[i].datagrams == 0)
			continue;
		j = key_hash(
		        &old[i].addr, old[i].sub_agent_id, old[i].header_ok) &
		    (t->cap - 1);
		while (t->slots[j].datagrams != 0)
			j = (j + 1) & (t->cap - 1);
		t->slots[j] = old[i];
	}
	free(old);
}

/* Find or create; NULL when the table is full. Used slots have datagrams>0. */
static struct agent_stats *
lookup(struct agents *t, const struct sflow_addr *a, uint32_t sub,
    bool header_ok, uint64_t now_ms)
{
	size_t j;

	if ((t->n + 1) * 4 > t->cap * 3)
		grow(t);
	j = key_hash(a, sub, header_ok) & (t->cap - 1);
	while (t->slots[j].datagrams != 0) {
		if (key_eq(&t->slots[j], a, sub, header_ok))
			return &t->slots[j];
		j = (j + 1) & (t->cap - 1);
	}
	if (t->n >= t->max)
		return NULL;
	memset(&t->slots[j], 0, sizeof(t->slots[j]));
	t->slots[j].addr = *a;
	t->slots[j].sub_agent_id = sub;
	t->slots[j].header_ok = header_ok;
	t->slots[j].first_seen_ms = now_ms;
	t->n++;
	return &t->slots[j];
}

/*
 * A late datagram has a lower sequence number and an uptime a little lower;
 * a restarted agent's uptime falls back much further. Sequence numbers are
 * compared as signed differences, so the 2^32 wrap is not a restart.
 */
#define REORDER_WINDOW_MS 10000u

static void
track_datagram_seq(struct agent_stats *st, const struct sflow_datagram *dg)
{
	int32_t d = (int32_t)(dg->seq - st->last_seq);
	uint32_t back = st->last_uptime_ms - dg->uptime_ms;

	if (st->datagrams == 1) {
		/* First datagram: a baseline, nothing to compare with. */
	} else if (d > 0 && (uint32_t)d - 1 <= SEQ_GAP_MAX) {
		st->seq_lost += (uint32_t)d - 1;
	} else if (d <= 0 && (uint32_t) - (int64_t)d <= SEQ_GAP_MAX &&
	    back <= REORDER_WINDOW_MS) {
		/* Late or duplicate: it was counted lost when the gap opened.
		 */
		st->seq_reordered++;
		if (d < 0 && st->seq_lost > 0)
			st->seq_lost--;
		return; /* keep the newest sequence as the reference */
	} else {
		st->seq_resets++; /* restarted, or a jump too big to trust */
	}
	st->last_seq = dg->seq;
	st->last_uptime_ms = dg->uptime_ms;
}

/*
 * An agent's source table starts this small and doubles at 3/4 full up to
 * AGENT_MAX_SOURCES: a switch of 64 ports has 128 sources (flow and
 * counter samples), and the full table at once was 8 MB at 1,000 agents.
 */
#define AGENT_SOURCES_MIN 16

/*
 * Where key starts probing: the high half of a 64-bit multiplicative
 * hash. The low bits of key * 2654435761 (what this took before) follow
 * the key's low bits, so ifIndexes in a row clustered, and probes ran long
 * once the table shrank to what the agent uses.
 */
static uint32_t
source_home(uint32_t key, uint32_t cap)
{
	return (uint32_t)(((uint64_t)key * 0x9e3779b97f4a7c15ull) >> 32) &
	    (cap - 1);
}

static uint32_t
source_slot(const struct agent_source *t, uint32_t cap, uint32_t key)
{
	uint32_t j = source_home(key, cap);

	while (t[j].used && t[j].key != key)
		j = (j + 1) & (cap - 1);
	return j;
}

static void
sources_grow(struct agent_stats *st, uint32_t cap)
{
	struct agent_source *old = st->sources;

	st->sources = xcalloc(cap, sizeof(*st->sources));
	for (uint32_t i = 0; old != NULL && i < st->sources_cap; i++)
		if (old[i].used)
			st->sources[source_slot(st->sources, cap, old[i].key)] =
			    old[i];
	st->sources_cap = cap;
	free(old);
}

/* The sample's source in st's table (NULL when the table is full). */
static struct agent_source *
track_sample_seq(struct agent_stats *st, const struct sflow_sample *s)
{
	uint32_t kind = s->tag == SFLOW_SAMPLE_DISCARD ? 2
	    : (s->tag == SFLOW_SAMPLE_FLOW ||
	          s->tag == SFLOW_SAMPLE_FLOW_EXPANDED)
	    ? 1
	    : 0;
	uint32_t key = ((s->source_type & 0x3) << 30) |
	    ((s->source_index & 0x0fffffff) << 2) | kind;
	uint32_t j, mask;
	struct agent_source *src;

	if (st->sources == NULL)
		sources_grow(st, AGENT_SOURCES_MIN);
	else if (st->n_sources * 4 >= st->sources_cap * 3 &&
	    st->sources_cap < AGENT_MAX_SOURCES)
		sources_grow(st, st->sources_cap * 2);
	mask = st->sources_cap - 1;
	j = source_home(key, st->sources_cap);
	for (uint32_t probes = 0;; probes++, j = (j + 1) & mask) {
		if (probes == st->sources_cap ||
		    (!st->sources[j].used &&
		        st->n_sources * 4 >= AGENT_MAX_SOURCES * 3)) {
			st->sources_overflow++;
			return NULL;
		}
		if (!st->sources[j].used || st->sources[j].key == key)
			break;
	}
	src = &st->sources[j];
	if (!src->used) {
		src->used = 1;
		src->key = key;
		st->n_sources++;
	} else {
		if (s->seq > src->last_seq &&
		    s->seq - src->last_seq - 1 <= SEQ_GAP_MAX)
			st->samples_lost += s->seq - src->last_seq - 1;
		if (kind != 0 && s->drops > src->last_drops)
			st->agent_drops += s->drops - src->last_drops;
	}
	src->last_seq = s->seq;
	if (kind != 0)
		src->last_drops = s->drops;
	return src;
}

uint32_t
agents_process(struct agents *t, const struct sflow_addr *src,
    const uint8_t *buf, size_t len, int truncated, uint64_t now_ms,
    uint64_t mono_ms, agents_sample_fn each, void *arg)
{
	struct sflow_datagram dg;
	struct sflow_sample s;
	struct sflow_record r;
	struct agent_stats *st;
	struct agent_source *as;
	enum sflow_err e;
	uint32_t n = 0;

	t->datagrams++;
	t->last_err = SFLOW_OK;
	e = sflow_datagram_open(&dg, buf, len);
	if (truncated)
		dg.errs[SFLOW_ERR_OVERSIZE]++;
	if (e != SFLOW_OK)
		st = lookup(t, src, 0, false, now_ms);
	else
		st = lookup(t, &dg.agent, dg.sub_agent_id, true, now_ms);
	if (st == NULL) {
		t->overflow++;
		for (int i = 1; i < SFLOW_ERR__MAX; i++) {
			t->errs[i] += dg.errs[i];
			if (dg.errs[i] && t->last_err == SFLOW_OK)
				t->last_err = (enum sflow_err)i;
		}
		return 0;
	}
	st->datagrams++;
	st->bytes += len;
	st->source = *src;
	st->last_seen_ms = now_ms;
	st->last_seen_mono_ms = mono_ms;
	if (e == SFLOW_OK) {
		track_datagram_seq(st, &dg);
		while (sflow_sample_next(&dg, &s) > 0) {
			n++;
			st->samples++;
			switch (s.tag) {
			case SFLOW_SAMPLE_FLOW:
			case SFLOW_SAMPLE_FLOW_EXPANDED:
				st->flow_samples++;
				break;
			case SFLOW_SAMPLE_COUNTERS:
			case SFLOW_SAMPLE_COUNTERS_EXPANDED:
				st->counter_samples++;
				break;
			case SFLOW_SAMPLE_DISCARD:
				st->discard_samples++;
				break;
			default:
				st->other_samples++;
				break;
			}
			if (!s.known)
				continue;
			as = track_sample_seq(st, &s);
			if (each != NULL) {
				s.memo = as != NULL ? &as->memo : NULL;
				each(arg, &dg, &s);
			} else {
				/* Walk the records so their errors count. */
				while (sflow_record_next(&s, &r) > 0) {
					st->records++;
					if (!r.decoded)
						st->unknown_records++;
				}
			}
		}
	}
	if (sflow_datagram_errors(&dg) > 0)
		st->bad_datagrams++;
	for (int i = 1; i < SFLOW_ERR__MAX; i++) {
		st->errs[i] += dg.errs[i];
		t->errs[i] += dg.errs[i];
		if (dg.errs[i] && t->last_err == SFLOW_OK)
			t->last_err = (enum sflow_err)i;
	}
	t->samples += n;
	return n;
}

enum sflow_err
agents_last_error(const struct agents *t)
{
	return t->last_err;
}

void
agents_totals(const struct agents *t, struct agents_totals *out)
{
	memset(out, 0, sizeof(*out));
	out->datagrams = t->datagrams;
	out->samples = t->samples;
	memcpy(out->errs, t->errs, sizeof(out->errs));
	out->agents_overflow = t->overflow;
	out->n_agents = t->n;
}

static int
cmp_agent(const void *a, const void *b)
{
	const struct agent_stats *x = a, *y = b;
	int c;

	if (x->header_ok != y->header_ok)
		return x->header_ok ? -1 : 1;
	if (x->addr.family != y->addr.family)
		return x->addr.family < y->addr.family ? -1 : 1;
	if ((c = memcmp(x->addr.a, y->addr.a, 16)) != 0)
		return c;
	return x->sub_agent_id < y->sub_agent_id
	    ? -1
	    : x->sub_agent_id > y->sub_agent_id;
}

struct agent_stats *
agents_snapshot(const struct agents *t, size_t *n)
{
	struct agent_stats *out = xcalloc(t->n ? t->n : 1, sizeof(*out));
	size_t k = 0;

	for (size_t i = 0; i < t->cap; i++) {
		if (t->slots[i].datagrams == 0)
			continue;
		out[k] = t->slots[i];
		out[k].sources = NULL;
		k++;
	}
	qsort(out, k, sizeof(*out), cmp_agent);
	*n = k;
	return out;
}
