/*
 * thresholds.c: the threshold registry and its evaluation; see
 * thresholds.h. The registry (defs, version) is under the mutex; the
 * evaluation states belong to the ingest thread.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "counters.h"
#include "engine.h"
#include "graph.h"
#include "logring.h"
#include "metrics.h"
#include "thresholds.h"
#include "topo.h"
#include "util.h"

/* Disarmed keys kept per threshold. */
#define KEYS_MAX 100000

struct live {
	struct threshold *def; /* our copy */
	struct thresh_state *st;
};

struct thresholds {
	struct logring *events;
	pthread_mutex_t mu;
	struct threshold **defs; /* sorted by name */
	size_t n;
	atomic_uint_fast64_t version;
	uint64_t fired, untracked; /* under mu, for stats */
	size_t tracked;

	/* Ingest thread only. */
	uint64_t applied;
	struct live *live;
	size_t n_live;
};

struct thresholds *
thresholds_new(struct logring *events)
{
	struct thresholds *t = xcalloc(1, sizeof(*t));

	t->events = events;
	pthread_mutex_init(&t->mu, NULL);
	return t;
}

static void
live_clear(struct thresholds *t)
{
	for (size_t i = 0; i < t->n_live; i++) {
		free(t->live[i].def);
		thresh_state_free(t->live[i].st);
	}
	free(t->live);
	t->live = NULL;
	t->n_live = 0;
}

void
thresholds_free(struct thresholds *t)
{
	if (t == NULL)
		return;
	live_clear(t);
	for (size_t i = 0; i < t->n; i++)
		free(t->defs[i]);
	free(t->defs);
	pthread_mutex_destroy(&t->mu);
	free(t);
}

static ssize_t
find(struct thresholds *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->defs[i]->name, name) == 0)
			return (ssize_t)i;
	return -1;
}

static struct threshold *
dup_def(const struct threshold *d)
{
	struct threshold *c = xmalloc(sizeof(*c));

	memcpy(c, d, sizeof(*c));
	return c;
}

static int
cmp_def(const void *a, const void *b)
{
	return strcmp((*(struct threshold *const *)a)->name,
	    (*(struct threshold *const *)b)->name);
}

int
thresholds_put(
    struct thresholds *t, const struct threshold *d, char *err, size_t errlen)
{
	ssize_t i;

	pthread_mutex_lock(&t->mu);
	i = find(t, d->name);
	if (i >= 0 && memcmp(t->defs[i], d, sizeof(*d)) == 0) {
		pthread_mutex_unlock(&t->mu);
		return 1; /* re-PUT by a script: keep the armed state */
	}
	if (i < 0 && t->n >= THRESHOLD_MAX) {
		pthread_mutex_unlock(&t->mu);
		snprintf(
		    err, errlen, "too many thresholds (%d)", THRESHOLD_MAX);
		return -1;
	}
	if (i >= 0) {
		free(t->defs[i]);
		t->defs[i] = dup_def(d);
	} else {
		t->defs = xrealloc(t->defs, (t->n + 1) * sizeof(*t->defs));
		t->defs[t->n++] = dup_def(d);
		qsort(t->defs, t->n, sizeof(*t->defs), cmp_def);
	}
	atomic_fetch_add(&t->version, 1);
	pthread_mutex_unlock(&t->mu);
	return 0;
}

int
thresholds_delete(struct thresholds *t, const char *name)
{
	ssize_t i;

	pthread_mutex_lock(&t->mu);
	i = find(t, name);
	if (i >= 0) {
		free(t->defs[i]);
		memmove(&t->defs[i], &t->defs[i + 1],
		    (t->n - (size_t)i - 1) * sizeof(*t->defs));
		t->n--;
		atomic_fetch_add(&t->version, 1);
	}
	pthread_mutex_unlock(&t->mu);
	return i >= 0 ? 0 : -1;
}

int
thresholds_get(struct thresholds *t, const char *name, struct threshold **out)
{
	ssize_t i;

	pthread_mutex_lock(&t->mu);
	i = find(t, name);
	if (i >= 0)
		*out = dup_def(t->defs[i]);
	pthread_mutex_unlock(&t->mu);
	return i >= 0 ? 0 : -1;
}

struct threshold **
thresholds_list(struct thresholds *t, size_t *n)
{
	struct threshold **out;

	pthread_mutex_lock(&t->mu);
	out = xcalloc(t->n + 1, sizeof(*out));
	for (size_t i = 0; i < t->n; i++)
		out[i] = dup_def(t->defs[i]);
	*n = t->n;
	pthread_mutex_unlock(&t->mu);
	return out;
}

/* Take the registry's definitions; a changed threshold starts afresh,
 * an unchanged one keeps its armed state. */
static void
apply(struct thresholds *t)
{
	uint64_t v = atomic_load(&t->version);
	struct live *nl;
	size_t n;

	if (v == t->applied)
		return;
	pthread_mutex_lock(&t->mu);
	n = t->n;
	nl = xcalloc(n + 1, sizeof(*nl));
	for (size_t i = 0; i < n; i++) {
		nl[i].def = dup_def(t->defs[i]);
		for (size_t j = 0; j < t->n_live; j++) {
			if (t->live[j].st != NULL &&
			    memcmp(t->live[j].def, nl[i].def,
			        sizeof(*nl[i].def)) == 0) {
				nl[i].st = t->live[j].st;
				t->live[j].st = NULL;
				break;
			}
		}
		if (nl[i].st == NULL)
			nl[i].st = thresh_state_new(KEYS_MAX);
	}
	pthread_mutex_unlock(&t->mu);
	live_clear(t);
	t->live = nl;
	t->n_live = n;
	t->applied = v;
}

/* What a filter sees of one data source. */
struct src_attrs {
	const struct sflow_addr *agent;
	uint32_t ds;
	const struct topo_snap *ts;
	const struct ifc_rates *rates; /* counter metrics only */
	char buf[64];
};

static const char *
attr_fn(void *arg, const char *name)
{
	struct src_attrs *a = arg;
	struct topo_hit hit;

	if (strcmp(name, "agent") == 0)
		return addr_fmt(
		    a->buf, sizeof(a->buf), a->agent->family, a->agent->a);
	if (strcmp(name, "dataSource") == 0) {
		snprintf(a->buf, sizeof(a->buf), "%u", a->ds);
		return a->buf;
	}
	if (strcmp(name, "ifspeed") == 0 && a->rates != NULL) {
		snprintf(a->buf, sizeof(a->buf), "%llu",
		    (unsigned long long)a->rates->speed);
		return a->buf;
	}
	if ((strcmp(name, "node") == 0 || strcmp(name, "ifname") == 0) &&
	    a->ts != NULL && topo_lookup(a->ts->graph, a->agent, a->ds, &hit)) {
		if (name[0] == 'n')
			return hit.node->name;
		return hit.port != NULL ? hit.port->name : NULL;
	}
	return NULL;
}

struct eval {
	struct thresholds *t;
	struct live *l;
	const struct topo_snap *ts;
	uint64_t mono, wall;
	size_t fired;
	/* Not byFlow: the largest flow per data source, gathered first. */
	struct best {
		struct sflow_addr agent;
		uint32_t ds;
		double value;
	} * best;
	size_t n_best, cap_best;
};

static void
fire(struct eval *ev, const struct sflow_addr *agent, uint32_t ds,
    const char *flowkey, size_t fklen, double value)
{
	char key[4096], a[64], d[16];
	struct thresh_event *e;
	int n;

	addr_fmt(a, sizeof(a), agent->family, agent->a);
	snprintf(d, sizeof(d), "%u", ds);
	n = snprintf(key, sizeof(key), "%s|%s|%.*s", a, d, (int)fklen,
	    flowkey ? flowkey : "");
	if (n < 0 || (size_t)n >= sizeof(key))
		n = sizeof(key) - 1;
	if (!thresh_check(
	        ev->l->st, ev->l->def, key, (size_t)n, value, ev->mono))
		return;
	if (flowkey != NULL) {
		char *fk = xmalloc(fklen + 1);

		memcpy(fk, flowkey, fklen);
		fk[fklen] = '\0';
		e = thresh_event_new(ev->l->def, ev->wall, value, a, d, fk);
		free(fk);
	} else {
		e = thresh_event_new(ev->l->def, ev->wall, value, a, d, NULL);
	}
	logring_append(ev->t->events, e);
	ev->fired++;
}

static bool
passes(struct eval *ev, const struct sflow_addr *agent, uint32_t ds,
    const struct ifc_rates *r)
{
	struct src_attrs sa = { agent, ds, ev->ts, r, { 0 } };

	return ev->l->def->n_filter == 0 ||
	    threshold_filter_match(ev->l->def, attr_fn, &sa);
}

static void
flow_hit(void *arg, const struct flowtab_hit *h)
{
	struct eval *ev = arg;

	if (!passes(ev, &h->agent, h->ds, NULL))
		return;
	if (ev->l->def->by_flow) {
		fire(ev, &h->agent, h->ds, h->key, h->keylen, h->value);
		return;
	}
	for (size_t i = 0; i < ev->n_best; i++) {
		struct best *b = &ev->best[i];

		if (b->ds == h->ds && b->agent.family == h->agent.family &&
		    memcmp(b->agent.a, h->agent.a, 16) == 0) {
			if (h->value > b->value)
				b->value = h->value;
			return;
		}
	}
	if (ev->n_best == ev->cap_best) {
		ev->cap_best = ev->cap_best ? ev->cap_best * 2 : 64;
		ev->best = xrealloc(ev->best, ev->cap_best * sizeof(*ev->best));
	}
	ev->best[ev->n_best].agent = h->agent;
	ev->best[ev->n_best].ds = h->ds;
	ev->best[ev->n_best].value = h->value;
	ev->n_best++;
}

/* Is (agent, ifindex) in is (sorted by key)? */
static bool
has_iface(const struct ifc_snap *is, const struct ifc_rates *r)
{
	size_t lo = 0, hi = is != NULL ? is->n : 0;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = ifc_key_cmp(&is->rates[mid].agent,
		    is->rates[mid].ifindex, &r->agent, r->ifindex);

		if (c == 0)
			return ifc_sflow_wins(&is->rates[mid], now_wall_ms());
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* The interfaces of is, but not those that `first` has already given. */
static void
eval_counters(struct eval *ev, const struct ifc_snap *is,
    const struct ifc_snap *first, enum metrics_id id)
{
	for (size_t i = 0; is != NULL && i < is->n; i++) {
		const struct ifc_rates *r = &is->rates[i];
		double v;

		if (has_iface(first, r) || !metrics_number(r, id, &v) ||
		    !passes(ev, &r->agent, r->ifindex, r))
			continue;
		fire(ev, &r->agent, r->ifindex, NULL, 0, v);
	}
}

size_t
thresholds_eval(struct thresholds *t, const struct engine_snap *es,
    const struct ifc_snap *snmp, const struct topo_snap *ts, uint64_t mono_ms,
    uint64_t wall_ms)
{
	struct eval ev = { 0 };
	uint64_t untracked = 0;
	size_t tracked = 0;

	apply(t);
	ev.t = t;
	ev.ts = ts;
	ev.mono = mono_ms;
	ev.wall = wall_ms;
	for (size_t i = 0; i < t->n_live; i++) {
		struct live *l = &t->live[i];
		const struct engine_flow *f = NULL;
		struct thresh_stats st;
		int id;

		ev.l = l;
		for (size_t k = 0; es != NULL && k < es->n; k++)
			if (strcmp(es->flows[k].def.name, l->def->metric) == 0)
				f = &es->flows[k];
		if (f != NULL) {
			ev.n_best = 0;
			flowtab_snapshot_foreach(
			    f->tab, es->taken_mono_ms, flow_hit, &ev);
			for (size_t k = 0; k < ev.n_best; k++)
				fire(&ev, &ev.best[k].agent, ev.best[k].ds,
				    NULL, 0, ev.best[k].value);
		} else if ((id = metrics_id_lookup(l->def->metric)) >= 0) {
			/* sFlow counters first; SNMP for the rest. */
			eval_counters(&ev, es ? es->ifc : NULL, NULL,
			    (enum metrics_id)id);
			eval_counters(&ev, snmp, es ? es->ifc : NULL,
			    (enum metrics_id)id);
		}
		thresh_sweep(l->st, l->def, mono_ms);
		thresh_stats(l->st, &st);
		untracked += st.untracked;
		tracked += st.tracked;
	}
	free(ev.best);
	pthread_mutex_lock(&t->mu);
	t->fired += ev.fired;
	t->untracked = untracked;
	t->tracked = tracked;
	pthread_mutex_unlock(&t->mu);
	return ev.fired;
}

void
thresholds_stats(struct thresholds *t, struct thresholds_stats *s)
{
	pthread_mutex_lock(&t->mu);
	s->events = t->fired;
	s->untracked = t->untracked;
	s->tracked = t->tracked;
	pthread_mutex_unlock(&t->mu);
}
