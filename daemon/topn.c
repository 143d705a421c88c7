/*
 * topn.c: fabric-wide top-N; see topn.h. topn_compute() runs on the
 * history thread; the API handlers at the end on the lws service thread.
 */
#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "engine.h"
#include "graph.h"
#include "history.h"
#include "topn.h"
#include "topo.h"
#include "util.h"

#define COLLISION_QUIET_MS 10000

struct topn {
	struct elephant_tracker tr;
};

struct topn *
topn_new(void)
{
	return xcalloc(1, sizeof(struct topn));
}

void
topn_free(struct topn *t)
{
	free(t);
}

static void
top_snap_free(struct snap *s)
{
	struct top_snap *t = (struct top_snap *)s;

	free(t->flows);
	free(t->elephants);
	free(t->talkers);
	free(t->stacks);
	for (int i = 0; i < TOPN_NLISTS; i++)
		free(t->ports[i]);
	free(t->thresholds);
	free(t->collisions);
	free(t);
}

static void
cpy(char *dst, size_t len, const char *src, size_t n)
{
	if (n >= len)
		n = len - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* "src,dst,proto,sp,dp[,stack]" */
bool
topn_parse_key(const char *key, size_t len, struct topn_flow *f)
{
	const char *p = key, *end = key + len, *field[7];
	size_t flen[7];
	int n = 0;
	char num[24], *e;

	while (n < 7) {
		const char *c = memchr(p, ',', (size_t)(end - p));

		field[n] = p;
		flen[n] = (size_t)((c ? c : end) - p);
		n++;
		if (c == NULL)
			break;
		p = c + 1;
	}
	if (n < 5)
		return false;
	memset(f, 0, sizeof(*f));
	cpy(f->key, sizeof(f->key), key, (size_t)(field[4] + flen[4] - key));
	cpy(f->src, sizeof(f->src), field[0], flen[0]);
	cpy(f->dst, sizeof(f->dst), field[1], flen[1]);
	cpy(num, sizeof(num), field[2], flen[2]);
	f->proto = (int)strtol(num, &e, 10);
	if (*e != '\0' || e == num)
		return false;
	cpy(num, sizeof(num), field[3], flen[3]);
	f->sport = strtol(num, &e, 10);
	if (*e != '\0' || e == num)
		f->sport = -1;
	cpy(num, sizeof(num), field[4], flen[4]);
	f->dport = strtol(num, &e, 10);
	if (*e != '\0' || e == num)
		f->dport = -1;
	if (n >= 6)
		cpy(f->stack, sizeof(f->stack), field[5], flen[5]);
	if (n == 7) {
		cpy(num, sizeof(num), field[6], flen[6]);
		f->in_ifindex = (uint32_t)strtoul(num, &e, 10);
		if (*e != '\0')
			f->in_ifindex = 0;
	}
	return true;
}

static const struct engine_flow *
flow_named(const struct engine_snap *es, const char *name)
{
	for (size_t i = 0; es != NULL && i < es->n; i++)
		if (strcmp(es->flows[i].def.name, name) == 0)
			return &es->flows[i];
	return NULL;
}

/*
 * Sum bps by name: the names are sorted, then runs folded (TOPN_SCAN
 * flows; a linear lookup per flow was quadratic and took most of the
 * history thread at 1,000 switches).
 */
static int
name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct topn_sum *)a)->name,
	    ((const struct topn_sum *)b)->name);
}

static size_t
sum_fold(struct topn_sum *a, size_t n)
{
	size_t o = 0;

	if (n == 0)
		return 0;
	qsort(a, n, sizeof(*a), name_cmp);
	for (size_t i = 1; i < n; i++) {
		if (strcmp(a[i].name, a[o].name) == 0) {
			a[o].bps += a[i].bps;
			a[o].flows += a[i].flows;
		} else
			a[++o] = a[i];
	}
	return o + 1;
}

static void
sum_put(struct topn_sum *a, size_t i, const char *name, double bps)
{
	cpy(a[i].name, sizeof(a[i].name), name, strlen(name));
	a[i].bps = bps;
	a[i].flows = 1;
}

static int
sum_cmp(const void *a, const void *b)
{
	double x = ((const struct topn_sum *)a)->bps,
	       y = ((const struct topn_sum *)b)->bps;

	return x > y ? -1 : x < y ? 1 : 0;
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The edge flows: flows, elephants, talkers, stacks. */
static void
edge_flows(struct top_snap *ts, const struct topn_in *in)
{
	const struct engine_flow *f = flow_named(in->es, TOPN_FLOW);
	struct flowtab_query q = { .filter = FLOWTAB_EDGE,
		.agg = FLOWTAB_AGG_EDGE,
		.max_flows = TOPN_SCAN };
	struct flowtab_hit *hits;
	size_t n;

	if (f == NULL)
		return;
	hits = xcalloc(TOPN_SCAN, sizeof(*hits));
	/*
	 * As of the snapshot, not now: the snapshot has no samples after it
	 * was taken, so a later time would only decay its values (by up to
	 * exp(-push period / t): 40 % at 1 s and t = 2 s), by as much as this
	 * thread's tick happens to lag the ingest thread's snapshot.
	 */
	n = flowtab_snapshot_top(
	    f->tab, &q, in->es->taken_mono_ms, hits, TOPN_SCAN);
	ts->talkers = xcalloc(n + 1, sizeof(*ts->talkers));
	ts->stacks = xcalloc(n + 1, sizeof(*ts->stacks));
	ts->flows = xcalloc(TOPN_KEEP, sizeof(*ts->flows));
	ts->elephants = xcalloc(TOPN_KEEP, sizeof(*ts->elephants));
	for (size_t i = 0; i < n; i++) {
		struct topn_flow fl;
		struct topo_hit th;

		if (!topn_parse_key(hits[i].key, hits[i].keylen, &fl))
			continue;
		fl.bps = hits[i].value * 8;
		if (in->g != NULL && fl.in_ifindex != 0 &&
		    topo_lookup(in->g, &hits[i].agent, fl.in_ifindex, &th) &&
		    th.port != NULL) {
			fl.has_ingress = true;
			cpy(fl.node, sizeof(fl.node), th.node->name,
			    strlen(th.node->name));
			cpy(fl.port, sizeof(fl.port), th.port->name,
			    strlen(th.port->name));
			fl.speed_bps = th.port->speed_mbps * 1e6;
		}
		fl.elephant =
		    elephant_is(fl.bps, fl.speed_bps, in->elephant_pct);
		sum_put(ts->talkers, ts->n_talkers++, fl.src, fl.bps);
		sum_put(ts->stacks, ts->n_stacks++,
		    fl.stack[0] ? fl.stack : "unknown", fl.bps);
		if (ts->n_flows < TOPN_KEEP)
			ts->flows[ts->n_flows++] = fl;
		if (fl.elephant && ts->n_elephants < TOPN_KEEP)
			ts->elephants[ts->n_elephants++] = fl;
	}
	free(hits);
	ts->n_talkers = sum_fold(ts->talkers, ts->n_talkers);
	ts->n_stacks = sum_fold(ts->stacks, ts->n_stacks);
	if (ts->n_talkers > 1)
		qsort(
		    ts->talkers, ts->n_talkers, sizeof(*ts->talkers), sum_cmp);
	if (ts->n_stacks > 1)
		qsort(ts->stacks, ts->n_stacks, sizeof(*ts->stacks), sum_cmp);
	if (ts->n_talkers > TOPN_KEEP)
		ts->n_talkers = TOPN_KEEP;
	if (ts->n_stacks > TOPN_KEEP)
		ts->n_stacks = TOPN_KEEP;
	/* the snapshot keeps only what it shows (a sum for each of up to
	 * TOPN_SCAN flows was 1.6 MB a list) */
	ts->talkers =
	    xrealloc(ts->talkers, (ts->n_talkers + 1) * sizeof(*ts->talkers));
	ts->stacks =
	    xrealloc(ts->stacks, (ts->n_stacks + 1) * sizeof(*ts->stacks));
}

/*
 * A port direction's place in one list: its value, and seq = 2 * its rate's
 * index + the direction, the order in which ports() meets them.
 */
struct port_pick {
	double value;
	size_t seq;
};

/*
 * Does a come before b in a list: the larger value first, then the one met
 * first, as a stable sort of every port by value would place them.
 */
static bool
pick_before(const struct port_pick *a, const struct port_pick *b)
{
	if (a->value != b->value)
		return a->value > b->value;
	return a->seq < b->seq;
}

static int
pick_cmp(const void *a, const void *b)
{
	return pick_before(a, b) ? -1 : pick_before(b, a) ? 1 : 0;
}

/*
 * The TOPN_KEEP first of a list so far, in a heap whose root is the last of
 * them: a port that comes before the root takes its place.
 */
struct port_heap {
	struct port_pick h[TOPN_KEEP];
	size_t n;
};

static void
heap_offer(struct port_heap *ph, double value, size_t seq)
{
	struct port_pick x = { .value = value, .seq = seq };
	size_t i;

	if (ph->n < TOPN_KEEP) {
		for (i = ph->n++; i > 0 && pick_before(&ph->h[(i - 1) / 2], &x);
		     i = (i - 1) / 2)
			ph->h[i] = ph->h[(i - 1) / 2];
		ph->h[i] = x;
		return;
	}
	if (!pick_before(&x, &ph->h[0]))
		return;
	for (i = 0;;) {
		size_t c = 2 * i + 1;

		if (c >= ph->n)
			break;
		if (c + 1 < ph->n && pick_before(&ph->h[c], &ph->h[c + 1]))
			c++;
		if (!pick_before(&x, &ph->h[c]))
			break;
		ph->h[i] = ph->h[c];
		i = c;
	}
	ph->h[i] = x;
}

/* A port direction as a list shows it, without its value. */
static void
port_fill(struct topn_port *p, const struct topn_in *in,
    const struct ifc_rates *r, int dir)
{
	struct topo_hit th;
	enum ifc_field oct = dir ? IFC_OUT_OCTETS : IFC_IN_OCTETS;

	memset(p, 0, sizeof(*p));
	if (in->g != NULL && topo_lookup(in->g, &r->agent, r->ifindex, &th) &&
	    th.port != NULL) {
		cpy(p->node, sizeof(p->node), th.node->name,
		    strlen(th.node->name));
		cpy(p->port, sizeof(p->port), th.port->name,
		    strlen(th.port->name));
		if (th.link != NULL)
			cpy(p->link, sizeof(p->link), th.link->name,
			    strlen(th.link->name));
	} else {
		addr_fmt(p->node, sizeof(p->node), r->agent.family, r->agent.a);
		snprintf(p->port, sizeof(p->port), "ifIndex %u", r->ifindex);
	}
	p->speed_bps = (double)r->speed;
	p->source = r->source;
	p->out = dir == 1;
	p->bps = (r->have & IFC_BIT(oct)) ? r->r[oct] * 8 : -1;
}

/*
 * The TOPN_KEEP first ports of each list (utilisation, discards, errors,
 * each direction of a port apart). Only they are kept, and only they are
 * looked up in the topology: at 1,000 switches x 64 ports, a copy of every
 * port in each list (328 bytes each) was 120 MiB per snapshot.
 */
static void
ports(struct top_snap *ts, const struct topn_in *in)
{
	struct port_heap *ph = xcalloc(TOPN_NLISTS, sizeof(*ph));

	for (size_t i = 0; i < in->n_rates; i++) {
		const struct ifc_rates *r = &in->rates[i];

		for (int dir = 0; dir < 2; dir++) {
			enum ifc_field dis = dir ? IFC_OUT_DISCARDS
			                         : IFC_IN_DISCARDS,
			               err =
			                   dir ? IFC_OUT_ERRORS : IFC_IN_ERRORS;
			double util = dir ? r->out_util : r->in_util;
			size_t seq = 2 * i + (size_t)dir;

			if (util >= 0)
				heap_offer(&ph[TOPN_UTIL], util, seq);
			if ((r->have & IFC_BIT(dis)) && r->r[dis] > 0)
				heap_offer(&ph[TOPN_DISCARDS], r->r[dis], seq);
			if ((r->have & IFC_BIT(err)) && r->r[err] > 0)
				heap_offer(&ph[TOPN_ERRORS], r->r[err], seq);
		}
	}
	for (int l = 0; l < TOPN_NLISTS; l++) {
		size_t n = ph[l].n;

		qsort(ph[l].h, n, sizeof(ph[l].h[0]), pick_cmp);
		ts->ports[l] = xcalloc(n + 1, sizeof(struct topn_port));
		for (size_t k = 0; k < n; k++) {
			struct topn_port *p = &ts->ports[l][k];

			port_fill(p, in, &in->rates[ph[l].h[k].seq / 2],
			    (int)(ph[l].h[k].seq % 2));
			p->value = ph[l].h[k].value;
		}
		ts->n_ports[l] = n;
	}
	free(ph);
}

/* The per-speed thresholds: one per distinct edge-port speed. */
static void
thresholds(struct top_snap *ts, const struct topn_in *in)
{
	const struct topo_graph *g = in->g;
	double *speeds;
	size_t n = 0;

	if (g == NULL)
		return;
	/*
	 * The edge ports with a neighbour behind them (LLDP saw a host), so
	 * that loopbacks and management ports add no speed; if none has one
	 * (hosts without LLDP), every edge port.
	 */
	speeds = xcalloc(g->n_ports + 1, sizeof(*speeds));
	for (int pass = 0; pass < 2 && n == 0; pass++)
		for (size_t i = 0; i < g->n_ports; i++)
			if (g->ports[i].edge && g->ports[i].speed_mbps > 0 &&
			    (pass == 1 || g->ports[i].peer[0] != '\0'))
				speeds[n++] = g->ports[i].speed_mbps * 1e6;
	ts->thresholds = xcalloc(n + 1, sizeof(*ts->thresholds));
	ts->n_thresholds =
	    elephant_thresholds(speeds, n, in->elephant_pct, ts->thresholds);
	free(speeds);
}

/* What entered each switch over each link, as (link, node, 5-tuple). */
struct seen_acc {
	const struct topo_graph *g;
	struct elephant_seen *s;
	char (*keys)[ELEPHANT_KEY_MAX];
	char (*links)[ELEPHANT_NAME_MAX];
	size_t n, cap;
};

/* The key is "LINK,5-tuple"; the agent names the receiving node (the
 * data source may not be the port: only the node is taken from it). */
static void
seen_cb(void *arg, const struct flowtab_hit *hit)
{
	struct seen_acc *a = arg;
	const char *comma = memchr(hit->key, ',', hit->keylen);
	const struct topo_node *nd;

	if (comma == NULL) /* cannot be: keys have commas */
		return;
	if ((nd = topo_node_by_addr(a->g, &hit->agent)) == NULL)
		return;
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 256;
		a->s = xrealloc(a->s, a->cap * sizeof(*a->s));
		a->keys = xrealloc(a->keys, a->cap * sizeof(*a->keys));
		a->links = xrealloc(a->links, a->cap * sizeof(*a->links));
	}
	cpy(a->keys[a->n], ELEPHANT_KEY_MAX, comma + 1,
	    hit->keylen - (size_t)(comma + 1 - hit->key));
	cpy(a->links[a->n], ELEPHANT_NAME_MAX, hit->key,
	    (size_t)(comma - hit->key));
	/* the node's name lives in the graph, which outlives the call */
	a->s[a->n].node = nd->name;
	a->n++;
}

static void
collisions(struct topn *tn, struct top_snap *ts, const struct topn_in *in,
    void (*cb)(void *, const struct elephant_coll *, bool), void *arg)
{
	const struct engine_flow *f = flow_named(in->es, HISTORY_LINK_FLOW);
	struct seen_acc sa = { .g = in->g };
	struct elephant_coll *now;
	const char **el;
	size_t n = 0;

	if (f != NULL && in->g != NULL && ts->n_elephants >= 2)
		flowtab_snapshot_foreach(
		    f->tab, in->es->taken_mono_ms, seen_cb, &sa);
	for (size_t i = 0; i < sa.n; i++) {
		sa.s[i].key = sa.keys[i];
		sa.s[i].link = sa.links[i];
	}
	el = xcalloc(ts->n_elephants + 1, sizeof(*el));
	for (size_t i = 0; i < ts->n_elephants; i++)
		el[i] = ts->elephants[i].key;
	qsort(el, ts->n_elephants, sizeof(*el), str_cmp);
	now = xcalloc(ELEPHANT_MAX_COLL, sizeof(*now));
	if (sa.n > 0)
		n = elephant_collisions(in->dirs, in->n_dirs, in->busy_pct,
		    sa.s, sa.n, el, ts->n_elephants, now, ELEPHANT_MAX_COLL);
	elephant_track(
	    &tn->tr, now, n, in->now_ms, COLLISION_QUIET_MS, cb, arg);
	ts->collisions = xcalloc(tn->tr.n + 1, sizeof(*ts->collisions));
	memcpy(ts->collisions, tn->tr.ev, tn->tr.n * sizeof(*ts->collisions));
	ts->n_collisions = tn->tr.n;
	free(now);
	free(el);
	free(sa.s);
	free(sa.keys);
	free(sa.links);
}

struct top_snap *
topn_compute(struct topn *tn, const struct topn_in *in,
    void (*cb)(void *, const struct elephant_coll *, bool opened), void *arg)
{
	struct top_snap *ts = xcalloc(1, sizeof(*ts));

	snap_init(&ts->base, top_snap_free);
	ts->time = in->now_ms;
	ts->topology_version = in->topology_version;
	ts->elephant_pct = in->elephant_pct;
	ts->busy_pct = in->busy_pct;
	edge_flows(ts, in);
	ports(ts, in);
	thresholds(ts, in);
	collisions(tn, ts, in, cb, arg);
	return ts;
}

/* ---- the API (service thread) ----------------------------------------- */

static json_t *
port_or_null(long p)
{
	return p < 0 ? json_null() : json_integer(p);
}

static json_t *
flow_json(const struct topn_flow *f)
{
	json_t *o = json_object();

	json_object_set_new(o, "key", json_string(f->key));
	json_object_set_new(o, "src", json_string(f->src));
	json_object_set_new(o, "dst", json_string(f->dst));
	json_object_set_new(o, "proto", json_integer(f->proto));
	json_object_set_new(o, "srcPort", port_or_null(f->sport));
	json_object_set_new(o, "dstPort", port_or_null(f->dport));
	json_object_set_new(
	    o, "stack", f->stack[0] ? json_string(f->stack) : json_null());
	json_object_set_new(o, "bps", json_real(f->bps));
	json_object_set_new(o, "ingress",
	    f->has_ingress
	        ? json_pack("{s:s, s:s, s:o}", "node", f->node, "port", f->port,
	              "speedBps",
	              f->speed_bps > 0 ? json_real(f->speed_bps) : json_null())
	        : json_null());
	json_object_set_new(o, "elephant", json_boolean(f->elephant));
	return o;
}

static json_t *
sums_json(const struct topn_sum *s, size_t n, const char *name, size_t max)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n && i < max; i++)
		json_array_append_new(a,
		    json_pack("{s:s, s:f, s:i}", name, s[i].name, "bps",
		        s[i].bps, "flows", (int)s[i].flows));
	return a;
}

static json_t *
ports_json(const struct topn_port *p, size_t n, size_t max)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n && i < max; i++)
		json_array_append_new(a,
		    json_pack("{s:s, s:s, s:o, s:s, s:f, s:o, s:o, s:s}",
		        "node", p[i].node, "port", p[i].port, "link",
		        p[i].link[0] ? json_string(p[i].link) : json_null(),
		        "dir", p[i].out ? "out" : "in", "value", p[i].value,
		        "bps",
		        p[i].bps >= 0 ? json_real(p[i].bps) : json_null(),
		        "speedBps",
		        p[i].speed_bps > 0 ? json_real(p[i].speed_bps)
		                           : json_null(),
		        "source",
		        p[i].source == IFC_SRC_SFLOW ? "sflow" : "snmp"));
	return a;
}

static json_t *
collision_json(const struct elephant_coll *c)
{
	json_t *keys = json_array();

	for (unsigned k = 0; k < c->n_keys; k++)
		json_array_append_new(keys, json_string(c->keys[k]));
	return json_pack("{s:I, s:s, s:s, s:s, s:f, s:f, s:i, s:o, s:I, s:I}",
	    "id", (json_int_t)c->id, "link", c->link, "from", c->from, "to",
	    c->to, "utilization", c->utilization, "bps", c->bps, "count",
	    (int)c->elephants, "elephants", keys, "start",
	    (json_int_t)c->start_ms, "lastSeen", (json_int_t)c->last_ms);
}

json_t *
topn_collision_json(const struct elephant_coll *c)
{
	return collision_json(c);
}

static size_t
max_arg(const struct req *q, struct reply *r, size_t dflt)
{
	char arg[32], *end;
	unsigned long v;

	if (api_query_arg(q, "max", arg, sizeof(arg)) == NULL)
		return dflt;
	v = strtoul(arg, &end, 10);
	if (*end != '\0' || end == arg || v < 1 || v > 1000) {
		api_reply_error(
		    r, HTTP_STATUS_BAD_REQUEST, "max: an integer in 1..1000");
		return 0;
	}
	return v;
}

void
api_top(struct api_ctx *api, const struct req *q, struct reply *r)
{
	struct top_snap *ts;
	size_t max = max_arg(q, r, 20);
	json_t *o, *a, *th, *el;

	if (max == 0)
		return;
	ts = api->top ? (struct top_snap *)snap_slot_get(api->top) : NULL;
	if (ts == NULL) {
		api_reply_error(r, HTTP_STATUS_SERVICE_UNAVAILABLE,
		    "no top-N yet: it is computed every second");
		return;
	}
	o = json_object();
	json_object_set_new(o, "time", json_integer((json_int_t)ts->time));
	json_object_set_new(o, "topologyVersion",
	    json_integer((json_int_t)ts->topology_version));
	a = json_array();
	for (size_t i = 0; i < ts->n_flows && i < max; i++)
		json_array_append_new(a, flow_json(&ts->flows[i]));
	json_object_set_new(o, "flows", a);
	json_object_set_new(o, "talkers",
	    sums_json(ts->talkers, ts->n_talkers, "address", max));
	json_object_set_new(
	    o, "stacks", sums_json(ts->stacks, ts->n_stacks, "stack", max));
	json_object_set_new(o, "ports",
	    json_pack("{s:o, s:o, s:o}", "utilization",
	        ports_json(ts->ports[TOPN_UTIL], ts->n_ports[TOPN_UTIL], max),
	        "discards",
	        ports_json(
	            ts->ports[TOPN_DISCARDS], ts->n_ports[TOPN_DISCARDS], max),
	        "errors",
	        ports_json(
	            ts->ports[TOPN_ERRORS], ts->n_ports[TOPN_ERRORS], max)));
	th = json_array();
	for (size_t i = 0; i < ts->n_thresholds; i++)
		json_array_append_new(th,
		    json_pack("{s:f, s:f}", "speedBps",
		        ts->thresholds[i].speed_bps, "bps",
		        ts->thresholds[i].bps));
	el = json_array();
	for (size_t i = 0; i < ts->n_elephants && i < max; i++)
		json_array_append_new(el, flow_json(&ts->elephants[i]));
	json_object_set_new(o, "elephants",
	    json_pack("{s:i, s:o, s:o}", "percent", ts->elephant_pct,
	        "thresholds", th, "flows", el));
	a = json_array();
	for (size_t i = 0; i < ts->n_collisions; i++)
		json_array_append_new(a, collision_json(&ts->collisions[i]));
	json_object_set_new(o, "collisions", a);
	json_object_set_new(o, "busyPercent", json_integer(ts->busy_pct));
	snap_put(&ts->base);
	api_reply_json(r, HTTP_STATUS_OK, o);
}

/* GET /api/v1/top/link/{link}: live, from the engine's snapshot. */
struct link_acc {
	const struct topo_graph *g;
	const char *link;
	size_t len;
	struct topn_flow *f;
	char (*to)[ELEPHANT_NAME_MAX];
	size_t n, cap;
};

static void
link_cb(void *arg, const struct flowtab_hit *hit)
{
	struct link_acc *a = arg;
	const struct topo_node *nd;

	if (hit->keylen <= a->len || hit->key[a->len] != ',' ||
	    memcmp(hit->key, a->link, a->len) != 0)
		return;
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 64;
		a->f = xrealloc(a->f, a->cap * sizeof(*a->f));
		a->to = xrealloc(a->to, a->cap * sizeof(*a->to));
	}
	if (!topn_parse_key(
	        hit->key + a->len + 1, hit->keylen - a->len - 1, &a->f[a->n]))
		return;
	a->f[a->n].bps = hit->value * 8;
	a->to[a->n][0] = '\0';
	if (a->g != NULL && (nd = topo_node_by_addr(a->g, &hit->agent)) != NULL)
		cpy(a->to[a->n], ELEPHANT_NAME_MAX, nd->name, strlen(nd->name));
	a->n++;
}

void
api_top_link(struct api_ctx *api, const struct req *q, struct reply *r)
{
	struct topo_snap *tsn =
	    api->topology ? (void *)snap_slot_get(api->topology) : NULL;
	struct engine_snap *es = NULL;
	const struct engine_flow *f;
	struct link_acc a = { 0 };
	size_t max = max_arg(q, r, 20), *order;
	json_t *o, *arr;

	if (max == 0)
		goto out;
	if (tsn == NULL || topo_link_by_name(tsn->graph, q->args[0]) == NULL) {
		api_reply_error(
		    r, HTTP_STATUS_NOT_FOUND, "no link '%s'", q->args[0]);
		goto out;
	}
	a.g = tsn->graph;
	a.link = q->args[0];
	a.len = strlen(a.link);
	es = api->engine_snap ? (void *)snap_slot_get(api->engine_snap) : NULL;
	f = flow_named(es, HISTORY_LINK_FLOW);
	if (f != NULL)
		flowtab_snapshot_foreach(
		    f->tab, es->taken_mono_ms, link_cb, &a);
	/* largest first: a selection sort of at most max picks */
	order = xcalloc(a.n + 1, sizeof(*order));
	for (size_t i = 0; i < a.n; i++)
		order[i] = i;
	arr = json_array();
	for (size_t k = 0; k < a.n && k < max; k++) {
		size_t best = k;
		json_t *fo;

		for (size_t i = k + 1; i < a.n; i++)
			if (a.f[order[i]].bps > a.f[order[best]].bps)
				best = i;
		size_t t = order[k];
		order[k] = order[best];
		order[best] = t;
		fo = flow_json(&a.f[order[k]]);
		json_object_del(fo, "ingress");
		json_object_del(fo, "elephant");
		json_object_del(fo, "stack");
		json_object_set_new(fo, "to",
		    a.to[order[k]][0] ? json_string(a.to[order[k]])
		                      : json_null());
		json_array_append_new(arr, fo);
	}
	free(order);
	o = json_pack("{s:s, s:I, s:o}", "link", a.link, "time",
	    (json_int_t)now_wall_ms(), "flows", arr);
	api_reply_json(r, HTTP_STATUS_OK, o);
out:
	free(a.f);
	free(a.to);
	if (es != NULL)
		snap_put(&es->base);
	if (tsn != NULL)
		snap_put(&tsn->base);
}
