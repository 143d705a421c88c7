/*
 * blackhole.c: black-hole detection; see blackhole.h. PURE.
 *
 * Groups live in an array found through an open-addressing index on the
 * hash of (type, node, prefix, reason); a group whose event closed is
 * forgotten after another quiet time. TTL loops use a direct-mapped
 * table of 5-tuples, each with a 256-bit set of the TTLs seen in its
 * current window.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blackhole.h"
#include "util.h"

struct group {
	struct bh_event e;
	uint64_t hash;
	double acc; /* sum of sampling rates, decayed to acc_ms */
	uint64_t acc_ms;
	bool open; /* the event opened (second sample) */
	bool live; /* the slot is used */
};

struct ttlslot {
	uint64_t key; /* 0: empty */
	uint64_t first_ms;
	uint8_t bits[32];
	uint16_t distinct;
};

struct bh {
	struct bh_conf conf;
	struct group *g;
	size_t n;      /* high-water mark of g */
	uint32_t *idx; /* group + 1, 0 empty; tombstones UINT32_MAX */
	size_t mask;
	struct ttlslot *ttl;
	uint64_t next_id;
	struct bh_stats st;
};

#define TOMB UINT32_MAX

const char *
bh_type_name(enum bh_type t)
{
	switch (t) {
	case BH_DISCARD:
		return "discard";
	case BH_VALLEY:
		return "valley";
	case BH_TTL_LOOP:
		return "ttl_loop";
	}
	return "?";
}

void
bh_prefix(const struct sflow_addr *a, char *buf, size_t len)
{
	uint8_t m[16] = { 0 };

	if (a->family == 4) {
		memcpy(m, a->a, 3);
		addr_fmt(buf, len, 4, m);
		snprintf(buf + strlen(buf), len - strlen(buf), "/24");
	} else if (a->family == 6) {
		memcpy(m, a->a, 8);
		addr_fmt(buf, len, 6, m);
		snprintf(buf + strlen(buf), len - strlen(buf), "/64");
	} else if (len > 0) {
		buf[0] = '\0';
	}
}

struct bh *
bh_new(const struct bh_conf *c)
{
	struct bh *b = xcalloc(1, sizeof(*b));
	size_t cap = 16;

	b->conf = *c;
	if (b->conf.max_keys == 0)
		b->conf.max_keys = 1;
	while (cap < b->conf.max_keys * 2)
		cap *= 2;
	b->g = xcalloc(b->conf.max_keys, sizeof(*b->g));
	b->idx = xcalloc(cap, sizeof(*b->idx));
	b->mask = cap - 1;
	b->ttl = xcalloc(BH_TTL_SLOTS, sizeof(*b->ttl));
	b->next_id = 1;
	return b;
}

void
bh_free(struct bh *b)
{
	if (b == NULL)
		return;
	free(b->g);
	free(b->idx);
	free(b->ttl);
	free(b);
}

static uint64_t
group_hash(
    enum bh_type t, const char *node, const char *prefix, const char *reason)
{
	char k[BH_NAME_MAX * 3 + 80];
	int n =
	    snprintf(k, sizeof(k), "%d|%s|%s|%s", (int)t, node, prefix, reason);

	return siphash13(0x626c61636bull, 0x686f6c65ull, k, (size_t)n) | 1;
}

static void
reindex(struct bh *b)
{
	memset(b->idx, 0, (b->mask + 1) * sizeof(*b->idx));
	for (size_t i = 0; i < b->n; i++) {
		size_t j;

		if (!b->g[i].live)
			continue;
		for (j = b->g[i].hash & b->mask; b->idx[j] != 0;
		     j = (j + 1) & b->mask)
			;
		b->idx[j] = (uint32_t)i + 1;
	}
}

static struct group *
group_get(struct bh *b, enum bh_type t, const char *node, const char *prefix,
    const char *reason, uint64_t now)
{
	uint64_t h = group_hash(t, node, prefix, reason);
	size_t j, free_slot = SIZE_MAX;
	struct group *g;

	for (j = h & b->mask; b->idx[j] != 0; j = (j + 1) & b->mask) {
		if (b->idx[j] == TOMB) {
			if (free_slot == SIZE_MAX)
				free_slot = j;
			continue;
		}
		g = &b->g[b->idx[j] - 1];
		if (g->hash == h && g->e.type == t &&
		    strcmp(g->e.node, node) == 0 &&
		    strcmp(g->e.prefix, prefix) == 0 &&
		    strcmp(g->e.reason, reason) == 0)
			return g;
	}
	if (free_slot == SIZE_MAX)
		free_slot = j;
	/* a free array slot: past the high-water mark, or a dead one */
	for (size_t i = 0; i < b->n; i++)
		if (!b->g[i].live) {
			g = &b->g[i];
			goto found;
		}
	if (b->n >= b->conf.max_keys) {
		b->st.refused++;
		return NULL;
	}
	g = &b->g[b->n++];
found:
	memset(g, 0, sizeof(*g));
	g->live = true;
	g->hash = h;
	g->e.type = t;
	snprintf(g->e.node, sizeof(g->e.node), "%s", node);
	snprintf(g->e.prefix, sizeof(g->e.prefix), "%s", prefix);
	snprintf(g->e.reason, sizeof(g->e.reason), "%s", reason);
	g->e.start_ms = now;
	g->acc_ms = now;
	b->idx[free_slot] = (uint32_t)(g - b->g) + 1;
	return g;
}

static void
bh_signal(struct bh *b, enum bh_type t, const char *reason,
    const struct bh_sample *s, uint64_t now)
{
	char prefix[64];
	struct group *g;
	struct bh_evidence *ev;

	bh_prefix(&s->dst, prefix, sizeof(prefix));
	if ((g = group_get(b, t, s->node, prefix, reason, now)) == NULL)
		return;
	if (g->e.end_ms != 0) { /* it had ended: a new event */
		g->e.end_ms = 0;
		g->e.start_ms = now;
		g->e.samples = 0;
		g->e.n_ev = 0;
		g->open = false;
		g->acc = 0;
		g->acc_ms = now;
	}
	g->acc = g->acc * exp(-(double)(now - g->acc_ms) / BH_RATE_TAU_MS) +
	    (double)s->sampling_rate;
	g->acc_ms = now;
	g->e.fps = g->acc / (BH_RATE_TAU_MS / 1000.0);
	g->e.samples++;
	g->e.last_ms = now;
	memmove(
	    &g->e.ev[1], &g->e.ev[0], (BH_EVIDENCE - 1) * sizeof(g->e.ev[0]));
	ev = &g->e.ev[0];
	memset(ev, 0, sizeof(*ev));
	ev->ms = now;
	snprintf(ev->in_port, sizeof(ev->in_port), "%s", s->in_port);
	snprintf(ev->out_port, sizeof(ev->out_port), "%s", s->out_port);
	if (s->src.family != 0)
		addr_fmt(ev->src, sizeof(ev->src), s->src.family, s->src.a);
	if (s->dst.family != 0)
		addr_fmt(ev->dst, sizeof(ev->dst), s->dst.family, s->dst.a);
	ev->ttl = s->ttl;
	if (g->e.n_ev < BH_EVIDENCE)
		g->e.n_ev++;
	if (!g->open && g->e.samples >= 2) {
		g->open = true;
		g->e.id = b->next_id++;
		b->st.opened++;
	}
}

/* TTL loops: distinct TTLs of one 5-tuple on fabric links. */
bool
bh_ttl_track(struct bh *b, const struct bh_flow *s, uint64_t now)
{
	struct {
		uint8_t src[16], dst[16];
		uint16_t sport, dport;
		uint8_t proto, family;
	} k;
	struct ttlslot *t;
	uint64_t h;

	if (s->ttl < 0 || s->ttl > 255 || s->dst.family == 0)
		return false;
	memset(&k, 0, sizeof(k));
	memcpy(k.src, s->src.a, sizeof(k.src));
	memcpy(k.dst, s->dst.a, sizeof(k.dst));
	k.sport = s->sport;
	k.dport = s->dport;
	k.proto = s->proto;
	k.family = s->dst.family;
	h = siphash13(0x74746cull, 0x6c6f6f70ull, &k, sizeof(k)) | 1;
	t = &b->ttl[h & (BH_TTL_SLOTS - 1)];
	if (t->key != h || now - t->first_ms > BH_TTL_WINDOW_MS) {
		memset(t, 0, sizeof(*t));
		t->key = h;
		t->first_ms = now;
	}
	if (!(t->bits[s->ttl / 8] & (1u << (s->ttl % 8)))) {
		t->bits[s->ttl / 8] |= (uint8_t)(1u << (s->ttl % 8));
		t->distinct++;
	}
	return t->distinct > BH_TTL_DIAMETER;
}

void
bh_observe(struct bh *b, const struct bh_sample *s, uint64_t now)
{
	bool any = false;

	if (s->discard) {
		bh_signal(b, BH_DISCARD,
		    s->discard_reason[0] ? s->discard_reason : "unknown", s,
		    now);
		any = true;
	}
	if (s->valley) {
		bh_signal(b, BH_VALLEY,
		    s->valley_kind[0] ? s->valley_kind : "valley", s, now);
		any = true;
	}
	if (s->on_fabric_link) {
		struct bh_flow f = { s->src, s->dst, s->proto, s->sport,
			s->dport, s->ttl };

		if (bh_ttl_track(b, &f, now))
			bh_signal(b, BH_TTL_LOOP, "ttl_loop", s, now);
		any = true;
	}
	if (s->ttl_loop) {
		bh_signal(b, BH_TTL_LOOP, "ttl_loop", s, now);
		any = true;
	}
	if (any)
		b->st.samples++;
}

void
bh_tick(struct bh *b, uint64_t now)
{
	bool changed = false;

	for (size_t i = 0; i < b->n; i++) {
		struct group *g = &b->g[i];

		if (!g->live)
			continue;
		if (g->e.end_ms == 0 &&
		    now - g->e.last_ms >= b->conf.quiet_ms) {
			if (g->open) {
				g->e.end_ms = g->e.last_ms;
				b->st.closed++;
			} else {
				g->live =
				    false; /* one sample: never an event */
				changed = true;
			}
		} else if (g->e.end_ms != 0 &&
		    now - g->e.last_ms >= 2 * b->conf.quiet_ms) {
			g->live = false;
			changed = true;
		}
	}
	if (changed)
		reindex(b);
}

static int
ev_cmp(const void *x, const void *y)
{
	const struct bh_event *a = x, *c = y;

	if (a->start_ms != c->start_ms)
		return a->start_ms > c->start_ms ? -1 : 1;
	return a->id > c->id ? -1 : a->id < c->id ? 1 : 0;
}

size_t
bh_events(const struct bh *b, uint64_t now, struct bh_event **out)
{
	size_t k = 0;

	(void)now;
	*out = xcalloc(b->n + 1, sizeof(**out));
	for (size_t i = 0; i < b->n; i++)
		if (b->g[i].live && b->g[i].open)
			(*out)[k++] = b->g[i].e;
	qsort(*out, k, sizeof(**out), ev_cmp);
	return k;
}

void
bh_stats(const struct bh *b, struct bh_stats *st)
{
	*st = b->st;
	st->open = 0;
	for (size_t i = 0; i < b->n; i++)
		if (b->g[i].live && b->g[i].open && b->g[i].e.end_ms == 0)
			st->open++;
}
