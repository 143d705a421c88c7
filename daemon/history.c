/*
 * history.c: the history thread; see history.h.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "blackhole.h"
#include "counters.h"
#include "engine.h"
#include "graph.h"
#include "graph_json.h"
#include "history.h"
#include "ingest.h"
#include "jtext.h"
#include "log.h"
#include "rollup.h"
#include "threshold.h"
#include "topo.h"
#include "topn.h"
#include "util.h"

#define TICK_MS 1000
/* ticks between two malloc_trim() */
#define TRIM_TICKS  10
#define MAX_GAP_MS  5000 /* a longer stall counts as this long */
#define ROLLUP_ROWS (1 << 18)

/* A flow's bytes in one minute, in one scope. */
struct topacc {
	int64_t minute;
	char scope[STORE_NAME_MAX];
	char flow[STORE_KEY_MAX];
	double bytes;
};

#define TOPACC_MAX 20000
/* the accumulators' index: a power of two, over twice TOPACC_MAX */
#define TOPACC_SLOTS (1u << 16)

struct history {
	struct history_in in;
	pthread_t th;
	atomic_bool stop;
	pthread_mutex_t mu;          /* st_pub only */
	struct history_stats st;     /* the history thread's own */
	struct history_stats st_pub; /* a copy at the end of each tick */
	struct rollup *ru;
	uint64_t last_ms;
	uint64_t topo_version; /* the last stored */
	uint64_t topo_event_ms;
	int64_t thresh_id;
	struct topacc *top;
	size_t n_top;
	uint32_t *top_idx; /* on (minute, scope, flow): entry + 1, 0 empty */
	/* black-hole events stored: id, and whether its end was */
	struct bh_seen {
		uint64_t id;
		bool ended;
		uint64_t stored_ms;
	} * bh;
	size_t n_bh;
	/* top-N (topn.h): the link directions of this tick */
	struct topn *tn;
	struct elephant_dir *dirs;
	size_t n_dirs, cap_dirs;
};

static double
sum_rate(const struct ifc_rates *r, const enum ifc_field *f, size_t n)
{
	double s = 0;

	if (r == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!(r->have & IFC_BIT(f[i])))
			return -1;
		s += r->r[f[i]];
	}
	return s;
}

/* Add two rates where one may be unknown (< 0). */
static double
add_known(double a, double b)
{
	if (a < 0)
		return b;
	if (b < 0)
		return a;
	return a + b;
}

static void
dir_rates(struct rollup_in *ri, const struct ifc_rates *tx,
    const struct ifc_rates *rx)
{
	static const enum ifc_field out_oct[] = { IFC_OUT_OCTETS },
	                            in_oct[] = { IFC_IN_OCTETS },
	                            out_pk[] = { IFC_OUT_UCAST, IFC_OUT_MCAST,
		                            IFC_OUT_BCAST },
	                            in_pk[] = { IFC_IN_UCAST, IFC_IN_MCAST,
		                            IFC_IN_BCAST },
	                            out_dis[] = { IFC_OUT_DISCARDS },
	                            in_dis[] = { IFC_IN_DISCARDS },
	                            out_err[] = { IFC_OUT_ERRORS },
	                            in_err[] = { IFC_IN_ERRORS };
	const struct ifc_rates *src;

	ri->bytes_s = sum_rate(tx, out_oct, 1);
	src = tx;
	if (ri->bytes_s < 0) {
		ri->bytes_s = sum_rate(rx, in_oct, 1);
		src = rx;
	}
	ri->packets_s = sum_rate(tx, out_pk, 3);
	if (ri->packets_s < 0)
		ri->packets_s = sum_rate(rx, in_pk, 3);
	ri->discards_s =
	    add_known(sum_rate(tx, out_dis, 1), sum_rate(rx, in_dis, 1));
	ri->errors_s =
	    add_known(sum_rate(tx, out_err, 1), sum_rate(rx, in_err, 1));
	/*
	 * Utilisation from the same end as the bytes, so that the two agree:
	 * the larger of both ends' readings was biased upwards, each end's
	 * counters being read at its own moment (an agent's counter cache
	 * skews one interval up, the next down).
	 */
	ri->util = -1;
	if (src == tx && tx != NULL)
		ri->util = tx->out_util;
	else if (src == rx && rx != NULL)
		ri->util = rx->in_util;
	if (ri->util < 0 && tx != NULL)
		ri->util = tx->out_util;
	if (ri->util < 0 && rx != NULL)
		ri->util = rx->in_util;
	ri->speed_bps = tx != NULL && tx->speed ? (double)tx->speed
	    : rx != NULL                        ? (double)rx->speed
	                                        : 0;
	ri->source = src == NULL           ? ""
	    : src->source == IFC_SRC_SFLOW ? "sflow"
	                                   : "snmp";
}

static const struct ifc_rates *
port_rates(const struct topo_graph *g, const struct topo_port *p,
    const struct ifc_rates *r, size_t n)
{
	const struct topo_node *nd = &g->nodes[p->node];

	if (p->ifindex == 0 || nd->agent.family == 0)
		return NULL;
	return ifc_rates_find(r, n, &nd->agent, p->ifindex);
}

/* Flow-sample estimates: bytes/s per (link, receiving node). */
struct est {
	char link[TOPO_NAME_MAX];
	char node[TOPO_NAME_MAX];
	double bytes_s;
};

/*
 * The estimates in the order they were met, and an index on (link, node):
 * a link's entries are thousands at 1,000 switches, looked up for each
 * entry of the links' flow table and for each link direction.
 */
struct est_acc {
	const struct topo_graph *g;
	struct est *e;
	size_t n, cap;
	uint32_t *idx; /* entry + 1, 0 empty; 2 * cap slots */
};

static size_t
est_slot(const struct est_acc *a, const char *link, const char *node)
{
	size_t mask = 2 * a->cap - 1;
	size_t j = (siphash13(0x657374ull, 0, link, strlen(link)) ^
	               siphash13(0x657374ull, 1, node, strlen(node))) &
	    mask;

	for (; a->idx[j] != 0; j = (j + 1) & mask) {
		const struct est *x = &a->e[a->idx[j] - 1];

		if (strcmp(x->link, link) == 0 && strcmp(x->node, node) == 0)
			break;
	}
	return j;
}

static void
est_cb(void *arg, const struct flowtab_hit *hit)
{
	struct est_acc *a = arg;
	struct topo_hit th;
	char link[TOPO_NAME_MAX];
	size_t len = 0, i, j;

	while (
	    len < hit->keylen && hit->key[len] != ',' && len < sizeof(link) - 1)
		len++;
	memcpy(link, hit->key, len);
	link[len] = '\0';
	if (!topo_lookup(a->g, &hit->agent, hit->ds, &th))
		return;
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 32;
		a->e = xrealloc(a->e, a->cap * sizeof(*a->e));
		free(a->idx);
		a->idx = xcalloc(2 * a->cap, sizeof(*a->idx));
		for (i = 0; i < a->n; i++)
			a->idx[est_slot(a, a->e[i].link, a->e[i].node)] =
			    (uint32_t)i + 1;
	}
	j = est_slot(a, link, th.node->name);
	if (a->idx[j] == 0) {
		i = a->n++;
		memset(&a->e[i], 0, sizeof(a->e[i]));
		snprintf(a->e[i].link, sizeof(a->e[i].link), "%s", link);
		snprintf(
		    a->e[i].node, sizeof(a->e[i].node), "%s", th.node->name);
		a->idx[j] = (uint32_t)i + 1;
	}
	a->e[a->idx[j] - 1].bytes_s += hit->value;
}

static double
est_of(const struct est_acc *a, const char *link, const char *to_node)
{
	size_t j;

	if (a->n == 0)
		return -1;
	j = est_slot(a, link, to_node);
	return a->idx[j] != 0 ? a->e[a->idx[j] - 1].bytes_s : -1;
}

/*
 * Does this node's agent send flow samples (in the last minute)? memo[node]
 * keeps the answer for the tick (0: not asked yet, 1: no, 2: yes): a node
 * has up to 64 link ends, and the agents are a thousand.
 */
static bool
sends_flows(const struct ingest_snap *is, const struct topo_graph *g,
    uint32_t node, uint8_t *memo, uint64_t mono)
{
	const struct topo_node *nd = &g->nodes[node];

	if (memo[node] != 0)
		return memo[node] == 2;
	memo[node] = 1;
	for (size_t i = 0; is != NULL && i < is->n_agents; i++) {
		const struct agent_stats *a = &is->agents[i];

		if (a->addr.family == nd->agent.family &&
		    memcmp(a->addr.a, nd->agent.a, sizeof(a->addr.a)) == 0 &&
		    a->flow_samples > 0 &&
		    mono - a->last_seen_mono_ms < 60000) {
			memo[node] = 2;
			break;
		}
	}
	return memo[node] == 2;
}

/* A rate, or null when unknown (< 0). */
static void
num_or_null(struct jtext *w, const char *key, double v)
{
	if (v >= 0)
		jtext_real(w, key, v);
	else
		jtext_null(w, key);
}

/* {"node", "port"}, left out where jansson's json_pack() failed. */
static void
node_port(struct jtext *w, const char *key, const char *node, const char *port)
{
	if (!jtext_str_ok(node) || !jtext_str_ok(port))
		return;
	jtext_open(w, key, '{');
	jtext_str(w, "node", node);
	jtext_str(w, "port", port);
	jtext_close(w, '}');
}

static void
dir_text(struct jtext *w, const struct rollup_in *ri, double est_bytes_s,
    double speed_bps)
{
	double bps = ri->bytes_s >= 0 ? ri->bytes_s * 8 : -1;
	const char *src = ri->source && ri->source[0] ? ri->source : NULL;
	double util = ri->util;
	bool est = false;

	if (bps < 0 && est_bytes_s >= 0) {
		bps = est_bytes_s * 8;
		src = "estimate";
		est = true;
		util = speed_bps > 0 ? bps / speed_bps * 100 : -1;
	}
	jtext_open(w, NULL, '{');
	jtext_int(w, "dir", ri->dir);
	node_port(w, "from", ri->dir ? ri->node2 : ri->node1,
	    ri->dir ? ri->port2 : ri->port1);
	node_port(w, "to", ri->dir ? ri->node1 : ri->node2,
	    ri->dir ? ri->port1 : ri->port2);
	num_or_null(w, "bps", bps);
	num_or_null(w, "pps", est ? -1 : ri->packets_s);
	num_or_null(w, "utilization", util);
	num_or_null(w, "discards", est ? -1 : ri->discards_s);
	num_or_null(w, "errors", est ? -1 : ri->errors_s);
	if (speed_bps > 0)
		jtext_real(w, "speedBps", speed_bps);
	else
		jtext_null(w, "speedBps");
	if (src != NULL)
		jtext_str(w, "source", src);
	else
		jtext_null(w, "source");
	jtext_close(w, '}');
}

/* The link's "ends"; left out where jansson's json_pack() failed. */
static void
ends_text(struct jtext *w, const struct topo_graph *g,
    const struct topo_port *const p[2], const struct ifc_rates *const r[2],
    const bool flows[2])
{
	for (int k = 0; k < 2; k++)
		if (!jtext_str_ok(g->nodes[p[k]->node].name) ||
		    !jtext_str_ok(p[k]->name))
			return;
	jtext_open(w, "ends", '[');
	for (int k = 0; k < 2; k++) {
		jtext_open(w, NULL, '{');
		jtext_str(w, "node", g->nodes[p[k]->node].name);
		jtext_str(w, "port", p[k]->name);
		if (r[k] == NULL)
			jtext_null(w, "counters");
		else
			jtext_str(w, "counters",
			    r[k]->source == IFC_SRC_SFLOW ? "sflow" : "snmp");
		jtext_bool(w, "flows", flows[k]);
		jtext_close(w, '}');
	}
	jtext_close(w, ']');
}

/* A link direction as topn.h sees it (the same numbers as dir_json). */
static void
add_dir(struct history *h, const struct rollup_in *ri, double est_bytes_s,
    double speed_bps)
{
	struct elephant_dir *d;
	double bps = ri->bytes_s >= 0 ? ri->bytes_s * 8
	    : est_bytes_s >= 0        ? est_bytes_s * 8
	                              : -1;

	if (h->n_dirs == h->cap_dirs) {
		h->cap_dirs = h->cap_dirs ? h->cap_dirs * 2 : 64;
		h->dirs = xrealloc(h->dirs, h->cap_dirs * sizeof(*h->dirs));
	}
	d = &h->dirs[h->n_dirs++];
	snprintf(d->link, sizeof(d->link), "%s", ri->link);
	snprintf(
	    d->from, sizeof(d->from), "%s", ri->dir ? ri->node2 : ri->node1);
	snprintf(d->to, sizeof(d->to), "%s", ri->dir ? ri->node1 : ri->node2);
	d->bps = bps;
	d->utilization = ri->util >= 0  ? ri->util
	    : bps >= 0 && speed_bps > 0 ? bps / speed_bps * 100
	                                : -1;
}

/* A collision opened or ended: an event in the store. */
static void
collision_cb(void *arg, const struct elephant_coll *c, bool opened)
{
	struct history *h = arg;
	struct store_event se = { 0 };
	json_t *d = topn_collision_json(c);
	char *txt = json_dumps(d, JSON_COMPACT);

	(void)opened;
	json_decref(d);
	snprintf(se.type, sizeof(se.type), "collision");
	snprintf(se.ref, sizeof(se.ref), "%llu-%llu",
	    (unsigned long long)h->in.started_ms, (unsigned long long)c->id);
	se.start_ms = (int64_t)c->start_ms;
	se.end_ms = (int64_t)c->end_ms;
	snprintf(se.node, sizeof(se.node), "%s", c->to);
	snprintf(se.link, sizeof(se.link), "%s", c->link);
	snprintf(se.reason, sizeof(se.reason), "ecmp_collision");
	se.value = c->elephants;
	snprintf(se.detail, sizeof(se.detail), "%s", txt ? txt : "");
	free(txt);
	store_event(h->in.store, &se);
	h->st.events++;
}

/* The top-N of this second (topn.h), published for the API. */
static void
top(struct history *h, const struct topo_snap *ts, const struct engine_snap *es,
    const struct ifc_rates *r, size_t n, uint64_t now)
{
	struct topn_in in = { .g = ts->graph,
		.topology_version = ts->version,
		.es = es,
		.rates = r,
		.n_rates = n,
		.dirs = h->dirs,
		.n_dirs = h->n_dirs,
		.elephant_pct = h->in.elephant_pct,
		.busy_pct = h->in.busy_pct,
		.now_ms = now,
		.now_mono_ms = now_mono_ms() };
	struct top_snap *t;

	if (h->in.top_out == NULL || es == NULL)
		return;
	t = topn_compute(h->tn, &in, collision_cb, h);
	snap_slot_publish(h->in.top_out, &t->base);
}

static void
links_snap_free(struct snap *s)
{
	struct links_snap *ls = (struct links_snap *)s;

	free(ls->json);
	free(ls);
}

static void
links(struct history *h, const struct topo_snap *ts, uint64_t t0, uint64_t t1)
{
	const struct topo_graph *g = ts->graph;
	struct engine_snap *es = h->in.engine
	    ? (struct engine_snap *)snap_slot_get(h->in.engine)
	    : NULL;
	struct ifc_snap *sn =
	    h->in.snmp ? (struct ifc_snap *)snap_slot_get(h->in.snmp) : NULL;
	struct ingest_snap *is = h->in.ingest
	    ? (struct ingest_snap *)snap_slot_get(h->in.ingest)
	    : NULL;
	const struct ifc_rates *r;
	bool r_owned;
	size_t n = ifc_rates_merged(es ? es->ifc : NULL, sn, t1, &r, &r_owned);
	struct est_acc est = { .g = g };
	/* the text of GET /api/v1/links, as jansson wrote its tree before
	 * (JSON_INDENT(1)) */
	struct jtext w = { .indent = 1 };
	uint8_t *memo = xcalloc(g->n_nodes + 1, 1);
	uint64_t mono = now_mono_ms();

	for (size_t i = 0; es != NULL && i < es->n; i++)
		if (strcmp(es->flows[i].def.name, HISTORY_LINK_FLOW) == 0)
			flowtab_snapshot_foreach(
			    es->flows[i].tab, es->taken_mono_ms, est_cb, &est);
	jtext_open(&w, NULL, '{');
	jtext_int(&w, "time", (long long)t1);
	jtext_int(&w, "topologyVersion", (long long)ts->version);
	jtext_open(&w, "links", '[');
	h->n_dirs = 0;
	for (size_t i = 0; i < g->n_links; i++) {
		const struct topo_link *l = &g->links[i];
		const struct topo_port *p1 = &g->ports[l->port1],
		                       *p2 = &g->ports[l->port2];
		const struct ifc_rates *r1 = port_rates(g, p1, r, n),
		                       *r2 = port_rates(g, p2, r, n);
		const struct topo_port *const ends[2] = { p1, p2 };
		const struct ifc_rates *const ends_r[2] = { r1, r2 };
		const bool flows[2] = {
			sends_flows(is, g, p1->node, memo, mono),
			sends_flows(is, g, p2->node, memo, mono),
		};
		struct rollup_in ri = { .link = l->name,
			.node1 = g->nodes[p1->node].name,
			.port1 = p1->name,
			.node2 = g->nodes[p2->node].name,
			.port2 = p2->name };
		double speed = p1->speed_mbps ? p1->speed_mbps * 1e6
		    : p2->speed_mbps          ? p2->speed_mbps * 1e6
		                              : 0;

		jtext_open(&w, NULL, '{');
		jtext_str(&w, "name", l->name);
		jtext_str(&w, "status", topo_link_status_name(l->status));
		ends_text(&w, g, ends, ends_r, flows);
		jtext_open(&w, "directions", '[');
		ri.dir = 0;
		dir_rates(&ri, r1, r2);
		add_dir(h, &ri, est_of(&est, l->name, ri.node2),
		    speed > 0 ? speed : ri.speed_bps);
		if ((r1 != NULL || r2 != NULL) &&
		    rollup_add(h->ru, &ri, t0, t1) != 0)
			h->st.refused++;
		dir_text(&w, &ri, est_of(&est, l->name, ri.node2),
		    speed > 0 ? speed : ri.speed_bps);
		ri.dir = 1;
		dir_rates(&ri, r2, r1);
		add_dir(h, &ri, est_of(&est, l->name, ri.node1),
		    speed > 0 ? speed : ri.speed_bps);
		if ((r1 != NULL || r2 != NULL) &&
		    rollup_add(h->ru, &ri, t0, t1) != 0)
			h->st.refused++;
		dir_text(&w, &ri, est_of(&est, l->name, ri.node1),
		    speed > 0 ? speed : ri.speed_bps);
		jtext_close(&w, ']');
		jtext_close(&w, '}');
	}
	jtext_close(&w, ']');
	jtext_close(&w, '}');
	free(memo);
	if (h->in.links_out != NULL) {
		struct links_snap *ls = xcalloc(1, sizeof(*ls));

		snap_init(&ls->base, links_snap_free);
		ls->taken_ms = t1;
		ls->json = xrealloc(w.buf, w.len + 1);
		snap_slot_publish(h->in.links_out, &ls->base);
	} else {
		free(w.buf);
	}
	free(est.e);
	free(est.idx);
	top(h, ts, es, r, n, t1);
	if (is != NULL)
		snap_put(&is->base);
	if (r_owned)
		free((void *)r);
	if (sn != NULL)
		snap_put(&sn->base);
	if (es != NULL)
		snap_put(&es->base);
}

static void
topology(struct history *h, const struct topo_snap *ts)
{
	json_t *o;
	char *s;

	uint64_t seen = h->topo_event_ms;

	for (size_t i = 0; i < ts->n_events; i++) {
		const struct topo_event_info *ev = &ts->events[i];
		struct store_event se = { 0 };

		if (ev->ts_ms <= seen)
			continue;
		if (ev->ts_ms > h->topo_event_ms)
			h->topo_event_ms = ev->ts_ms;
		snprintf(se.type, sizeof(se.type), "topology");
		snprintf(se.ref, sizeof(se.ref), "%llu-%zu-%s",
		    (unsigned long long)ev->ts_ms, i, ev->type);
		se.start_ms = se.end_ms = (int64_t)ev->ts_ms;
		snprintf(se.reason, sizeof(se.reason), "%s", ev->type);
		o = json_pack("{s:s, s:I}", "text", ev->text, "version",
		    (json_int_t)ev->version);
		s = json_dumps(o, JSON_COMPACT);
		snprintf(se.detail, sizeof(se.detail), "%s", s ? s : "");
		free(s);
		json_decref(o);
		store_event(h->in.store, &se);
		h->st.events++;
	}
	if (ts->version == h->topo_version || ts->graph->n_nodes == 0)
		return;
	/*
	 * The v1 form fills the tables; the sFlow-RT form restores. As text:
	 * a jansson tree of it was over 100 MB at 1,000 switches, kept in
	 * this thread's malloc arena (graph_json.h).
	 */
	s = graph_text_v1(ts, true);
	if (s != NULL) {
		store_topology(h->in.store, ts->version, s);
		h->st.topologies++;
	}
	free(s);
	h->topo_version = ts->version;
}

/*
 * The index slot of (minute, scope, flow): where the first accumulator
 * with them is, or the empty slot that ends their probe. The first in the
 * array, as the linear search this replaced found it (two accumulators can
 * hold the same text once the fields cut a long one).
 */
static size_t
top_slot(const struct history *h, int64_t minute, const char *scope,
    const char *flow, bool *found)
{
	size_t mask = TOPACC_SLOTS - 1, best = 0;
	size_t j = (siphash13((uint64_t)minute, 0x73636f7065ull, scope,
	                strlen(scope)) ^
	               siphash13((uint64_t)minute, 0x666c6f77ull, flow,
	                   strlen(flow))) &
	    mask;

	*found = false;
	for (; h->top_idx[j] != 0; j = (j + 1) & mask) {
		const struct topacc *a = &h->top[h->top_idx[j] - 1];

		if (a->minute == minute && strcmp(a->flow, flow) == 0 &&
		    strcmp(a->scope, scope) == 0 &&
		    (!*found || h->top_idx[j] < h->top_idx[best])) {
			best = j;
			*found = true;
		}
	}
	return *found ? best : j;
}

static void
top_reindex(struct history *h)
{
	bool found;

	memset(h->top_idx, 0, TOPACC_SLOTS * sizeof(*h->top_idx));
	for (size_t i = 0; i < h->n_top; i++) {
		const struct topacc *a = &h->top[i];
		size_t j = top_slot(h, a->minute, a->scope, a->flow, &found);

		if (!found)
			h->top_idx[j] = (uint32_t)i + 1;
	}
}

static void
top_add(struct history *h, int64_t minute, const char *scope, const char *flow,
    double bytes)
{
	struct topacc *a;
	bool found;
	size_t j = top_slot(h, minute, scope, flow, &found);

	if (found) {
		h->top[h->top_idx[j] - 1].bytes += bytes;
		return;
	}
	if (h->n_top >= TOPACC_MAX)
		return;
	a = &h->top[h->n_top++];
	a->minute = minute;
	snprintf(a->scope, sizeof(a->scope), "%s", scope);
	snprintf(a->flow, sizeof(a->flow), "%s", flow);
	a->bytes = bytes;
	/* indexed under its text as stored (cut to the fields' size) */
	j = top_slot(h, a->minute, a->scope, a->flow, &found);
	if (!found)
		h->top_idx[j] = (uint32_t)h->n_top;
}

/* Cut s after its n-th comma-separated field. */
static void
cut_fields(char *s, int n)
{
	for (char *c = s; (c = strchr(c, ',')) != NULL; c++)
		if (--n == 0) {
			*c = '\0';
			return;
		}
}

/* This second's top flows, from the built-in definitions. */
static void
top_flows(struct history *h, uint64_t now, double dt)
{
	struct engine_snap *es = h->in.engine
	    ? (struct engine_snap *)snap_slot_get(h->in.engine)
	    : NULL;
	int64_t minute = (int64_t)(now / 60000) * 60;
	struct flowtab_hit hits[500];

	if (es == NULL)
		return;
	for (size_t i = 0; i < es->n; i++) {
		const struct engine_flow *f = &es->flows[i];
		struct flowtab_query q = { 0 };
		bool edge = strcmp(f->def.name, TOPN_FLOW) == 0;
		size_t n;

		if (!edge && strcmp(f->def.name, HISTORY_LINK_FLOW) != 0)
			continue;
		q.filter = edge ? FLOWTAB_EDGE : FLOWTAB_ALL;
		q.agg = edge ? FLOWTAB_AGG_EDGE : FLOWTAB_AGG_MAX;
		q.max_flows = nitems(hits);
		n = flowtab_snapshot_top(
		    f->tab, &q, es->taken_mono_ms, hits, nitems(hits));
		for (size_t k = 0; k < n; k++) {
			char key[STORE_KEY_MAX + STORE_NAME_MAX], *comma;
			size_t len = hits[k].keylen < sizeof(key) - 1
			    ? hits[k].keylen
			    : sizeof(key) - 1;

			memcpy(key, hits[k].key, len);
			key[len] = '\0';
			/*
			 * Both keys hold 5-tuples (TOPN_5TUPLE), the link's
			 * after its name: a minute sums them by their first
			 * three fields (source, destination, protocol).
			 */
			comma = edge ? NULL : strchr(key, ',');
			if (!edge && comma == NULL)
				continue;
			if (comma != NULL)
				*comma = '\0';
			cut_fields(edge ? key : comma + 1, 3);
			if (edge) {
				top_add(
				    h, minute, "edge", key, hits[k].value * dt);
			} else {
				top_add(h, minute, key, comma + 1,
				    hits[k].value * dt);
			}
		}
	}
	snap_put(&es->base);
}

static int
top_cmp(const void *a, const void *b)
{
	const struct topacc *x = a, *y = b;
	int c;

	if (x->minute != y->minute)
		return x->minute < y->minute ? -1 : 1;
	if ((c = strcmp(x->scope, y->scope)) != 0)
		return c;
	return x->bytes > y->bytes ? -1 : x->bytes < y->bytes ? 1 : 0;
}

static int
top_ord_cmp(const void *pa, const void *pb, void *arg)
{
	const struct topacc *t = arg;
	uint32_t ia = *(const uint32_t *)pa, ib = *(const uint32_t *)pb;
	int c = top_cmp(&t[ia], &t[ib]);

	/* ties keep their order: the stable sort glibc's qsort() made */
	return c != 0 ? c : ia < ib ? -1 : ia > ib;
}

/*
 * Sort the accumulators by top_cmp(), stably, through their indices and a
 * permutation in place: qsort() of the 400-byte entries took a buffer of
 * 8 MB every tick.
 */
static void
top_sort(struct history *h)
{
	uint32_t *ord = xmalloc((h->n_top + 1) * sizeof(*ord));

	for (size_t i = 0; i < h->n_top; i++)
		ord[i] = (uint32_t)i;
	qsort_r(ord, h->n_top, sizeof(*ord), top_ord_cmp, h->top);
	/* entry i becomes the old entry ord[i]; a placed one is UINT32_MAX */
	for (size_t i = 0; i < h->n_top; i++) {
		struct topacc tmp;
		size_t j = i;

		if (ord[i] == UINT32_MAX)
			continue;
		tmp = h->top[i];
		for (;;) {
			size_t k = ord[j];

			ord[j] = UINT32_MAX;
			if (k == i) {
				h->top[j] = tmp;
				break;
			}
			h->top[j] = h->top[k];
			j = k;
		}
	}
	free(ord);
}

/* A scope of an ended minute, for choosing the busiest links. */
struct topgrp {
	int64_t minute;
	const char *scope;
	double bytes; /* of its top K */
	bool keep;
};

static int
grp_cmp(const void *a, const void *b)
{
	const struct topgrp *x = a, *y = b;

	if (x->minute != y->minute)
		return x->minute < y->minute ? -1 : 1;
	return x->bytes > y->bytes ? -1 : x->bytes < y->bytes ? 1 : 0;
}

static bool
grp_keep(const struct topgrp *g, size_t n, int64_t minute, const char *scope)
{
	for (size_t i = 0; i < n; i++)
		if (g[i].minute == minute && strcmp(g[i].scope, scope) == 0)
			return g[i].keep;
	return false;
}

/*
 * The ended minutes' top K per scope, to the store: fabric-wide, and for
 * the HISTORY_TOP_LINKS links whose top K carried the most that minute
 * (a big fabric would otherwise write K rows for every link, every
 * minute: docs/STORE.md has the growth).
 */
static void
top_take(struct history *h, uint64_t now)
{
	struct store_top *rows = xcalloc(h->n_top + 1, sizeof(*rows));
	struct topgrp *g = xcalloc(h->n_top + 1, sizeof(*g));
	size_t n = 0, keep = 0, rank = 0, ng = 0, links = 0;

	top_sort(h);
	for (size_t i = 0; i < h->n_top; i++) {
		const struct topacc *a = &h->top[i];

		if ((uint64_t)(a->minute + 60) * 1000 > now)
			continue;
		if (ng == 0 || a->minute != g[ng - 1].minute ||
		    strcmp(a->scope, g[ng - 1].scope) != 0) {
			g[ng].minute = a->minute;
			g[ng].scope = a->scope;
			ng++;
			rank = 0;
		}
		if (++rank <= HISTORY_TOP_K)
			g[ng - 1].bytes += a->bytes;
	}
	qsort(g, ng, sizeof(*g), grp_cmp);
	for (size_t i = 0; i < ng; i++) {
		if (i == 0 || g[i].minute != g[i - 1].minute)
			links = 0;
		g[i].keep = strcmp(g[i].scope, "edge") == 0 ||
		    links++ < HISTORY_TOP_LINKS;
	}
	for (size_t i = 0; i < h->n_top; i++) {
		const struct topacc *a = &h->top[i];

		if ((uint64_t)(a->minute + 60) * 1000 > now)
			continue;
		if (i == 0 || a->minute != h->top[i - 1].minute ||
		    strcmp(a->scope, h->top[i - 1].scope) != 0)
			rank = 0;
		if (++rank > HISTORY_TOP_K ||
		    !grp_keep(g, ng, a->minute, a->scope))
			continue;
		rows[n].minute = a->minute;
		snprintf(rows[n].scope, sizeof(rows[n].scope), "%s", a->scope);
		rows[n].rank = (uint16_t)rank;
		snprintf(rows[n].keys, sizeof(rows[n].keys), "%s",
		    HISTORY_FLOW_KEYS);
		snprintf(rows[n].flow, sizeof(rows[n].flow), "%s", a->flow);
		rows[n].bytes = a->bytes;
		n++;
	}
	/* only now: g points into the ended entries */
	for (size_t i = 0; i < h->n_top; i++)
		if ((uint64_t)(h->top[i].minute + 60) * 1000 > now)
			h->top[keep++] = h->top[i];
	h->n_top = keep;
	top_reindex(h);
	free(g);
	if (n > 0)
		store_top_flows(h->in.store, rows, n);
	h->st.top_rows += n;
	free(rows);
}

/*
 * Black-hole events (from the engine's snapshot) to the store: when one
 * opens, every minute while it lasts (its rate and evidence), and when
 * it ends. The (type, ref) upsert keeps one row per event.
 */
static void
blackholes(struct history *h, uint64_t now)
{
	struct engine_snap *es = h->in.engine
	    ? (struct engine_snap *)snap_slot_get(h->in.engine)
	    : NULL;
	size_t keep = 0;

	if (es == NULL)
		return;
	for (size_t i = 0; i < es->n_bh; i++) {
		const struct bh_event *e = &es->bh[i];
		struct bh_seen *s = NULL;
		struct store_event se = { 0 };
		json_t *d;
		char *txt;

		for (size_t k = 0; k < h->n_bh && s == NULL; k++)
			if (h->bh[k].id == e->id)
				s = &h->bh[k];
		if (s != NULL && s->ended == (e->end_ms != 0) &&
		    now - s->stored_ms < 60000)
			continue;
		if (s == NULL) {
			if (h->n_bh >= 4096)
				continue;
			s = &h->bh[h->n_bh++];
			s->id = e->id;
		}
		s->ended = e->end_ms != 0;
		s->stored_ms = now;
		snprintf(se.type, sizeof(se.type), "blackhole");
		snprintf(se.ref, sizeof(se.ref), "%llu-%llu",
		    (unsigned long long)h->in.started_ms,
		    (unsigned long long)e->id);
		se.start_ms = (int64_t)e->start_ms;
		se.end_ms = (int64_t)e->end_ms;
		snprintf(se.node, sizeof(se.node), "%s", e->node);
		/* "discard:acl", "valley:hairpin"; "valley", not
		 * "valley:valley" */
		if (strcmp(bh_type_name(e->type), e->reason) == 0)
			snprintf(se.reason, sizeof(se.reason), "%s", e->reason);
		else
			snprintf(se.reason, sizeof(se.reason), "%s:%.100s",
			    bh_type_name(e->type), e->reason);
		se.value = e->fps;
		d = api_blackhole_json(e);
		txt = json_dumps(d, JSON_COMPACT);
		json_decref(d);
		snprintf(se.detail, sizeof(se.detail), "%s", txt ? txt : "");
		free(txt);
		store_event(h->in.store, &se);
		h->st.events++;
	}
	/* forget the events the engine no longer shows */
	for (size_t k = 0; k < h->n_bh; k++) {
		bool shown = false;

		for (size_t i = 0; i < es->n_bh && !shown; i++)
			shown = es->bh[i].id == h->bh[k].id;
		if (shown)
			h->bh[keep++] = h->bh[k];
	}
	h->n_bh = keep;
	snap_put(&es->base);
}

static void
thresh_cb(void *arg, uint64_t id, const void *rec)
{
	struct history *h = arg;
	const struct thresh_event *ev = rec;
	struct store_event se = { 0 };
	json_t *o;
	char *s;

	if ((int64_t)id > h->thresh_id)
		h->thresh_id = (int64_t)id;
	snprintf(se.type, sizeof(se.type), "threshold");
	snprintf(se.ref, sizeof(se.ref), "%llu-%llu",
	    (unsigned long long)h->in.started_ms, (unsigned long long)id);
	se.start_ms = se.end_ms = (int64_t)ev->timestamp_ms;
	snprintf(se.reason, sizeof(se.reason), "%s", ev->threshold_id);
	se.value = ev->value;
	o = json_pack("{s:s, s:f, s:s, s:s}", "metric", ev->metric, "threshold",
	    ev->threshold, "agent", ev->agent, "dataSource", ev->data_source);
	if (ev->flow_key != NULL)
		json_object_set_new(o, "flowKey", json_string(ev->flow_key));
	s = json_dumps(o, JSON_COMPACT);
	snprintf(se.detail, sizeof(se.detail), "%s", s ? s : "");
	free(s);
	json_decref(o);
	store_event(h->in.store, &se);
	h->st.events++;
}

static void
tick(struct history *h)
{
	uint64_t now = now_wall_ms(), t0 = h->last_ms;
	struct topo_snap *ts =
	    h->in.topo ? (struct topo_snap *)snap_slot_get(h->in.topo) : NULL;
	struct store_link_minute *rows;
	size_t n;

	if (t0 == 0 || now - t0 > MAX_GAP_MS)
		t0 = now > TICK_MS ? now - TICK_MS : 0;
	if (ts != NULL) {
		links(h, ts, t0, now);
		topology(h, ts);
		top_flows(h, now, (double)(now - t0) / 1000.0);
		blackholes(h, now);
		snap_put(&ts->base);
	}
	if (h->in.thresh_events != NULL)
		logring_query(h->in.thresh_events, h->thresh_id,
		    ENGINE_EVENTLOG_MAX, thresh_cb, h);
	top_take(h, now);
	n = rollup_take(h->ru, now, &rows);
	if (n > 0)
		store_link_minutes(h->in.store, rows, n);
	free(rows);
	h->st.link_minutes += n;
	h->st.ticks++;
	/*
	 * Only the counters are shared, and only this copy: a tick can take
	 * seconds on a large fabric, and /api/v1/health (the lws thread)
	 * must never wait for one.
	 */
	pthread_mutex_lock(&h->mu);
	h->st_pub = h->st;
	pthread_mutex_unlock(&h->mu);
	h->last_ms = now;
}

static void *
history_main(void *arg)
{
	struct history *h = arg;
	unsigned ticks = 0;

	thread_role("fab-history", THREAD_NICE_BULK);
	while (!atomic_load(&h->stop)) {
		struct timespec ts = { 0, 100 * 1000000L };
		uint64_t next = now_mono_ms() + TICK_MS;

		tick(h);
		/*
		 * What the threads build and free every push (JSON of the
		 * links, topics, snapshots: megabytes at 1,000 switches)
		 * stays in glibc's arenas as free memory, fragmented; give
		 * it back to the system now and then (bench/README, scale).
		 */
		if (++ticks % TRIM_TICKS == 0)
			malloc_trim(0);
		while (!atomic_load(&h->stop) && now_mono_ms() < next)
			nanosleep(&ts, NULL);
	}
	return NULL;
}

struct history *
history_start(const struct history_in *in)
{
	struct history *h = xcalloc(1, sizeof(*h));

	h->in = *in;
	h->ru = rollup_new(ROLLUP_ROWS);
	h->top = xcalloc(TOPACC_MAX, sizeof(*h->top));
	h->top_idx = xcalloc(TOPACC_SLOTS, sizeof(*h->top_idx));
	h->bh = xcalloc(4096, sizeof(*h->bh));
	h->tn = topn_new();
	h->thresh_id = 0;
	pthread_mutex_init(&h->mu, NULL);
	if (pthread_create(&h->th, NULL, history_main, h) != 0) {
		log_warnx("history", "cannot start the history thread");
		rollup_free(h->ru);
		free(h);
		return NULL;
	}
	return h;
}

void
history_stop(struct history *h)
{
	if (h == NULL)
		return;
	atomic_store(&h->stop, true);
	pthread_join(h->th, NULL);
	rollup_free(h->ru);
	free(h->top);
	free(h->top_idx);
	free(h->bh);
	topn_free(h->tn);
	free(h->dirs);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

void
history_get_stats(struct history *h, struct history_stats *st)
{
	pthread_mutex_lock(&h->mu);
	*st = h->st_pub;
	pthread_mutex_unlock(&h->mu);
}
