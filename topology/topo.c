/*
 * topo.c: the topology thread. It owns the SNMP poller (snmp.c), every
 * switch's last facts (lldp.c) and the operator import, builds the graph
 * (graph.c) and publishes a struct topo_snap. See topo.h.
 *
 * Each switch has two schedules: a full walk (identity, IF-MIB, LLDP,
 * BRIDGE-MIB) every snmp.poll_s, and a status walk (ifOperStatus and
 * ifHighSpeed) every snmp.status_s, so a link going down shows within one
 * status interval. A switch that stops answering is marked unreachable at
 * once (the poller has already retried); its facts stay as they were.
 *
 * Credentials are tried in order (the v2c community, then the v3 user if
 * one is configured) until one works; the one that worked is remembered
 * per switch.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "counters.h"
#include "graph.h"
#include "ifmib.h"
#include "ingest.h"
#include "lldp.h"
#include "log.h"
#include "snmp.h"
#include "topo.h"
#include "util.h"
#include "walk.h"

#define MAX_TARGETS   65536
#define MAX_CIDR_HOST 65536 /* addresses one seed may expand to */
#define TICK_MS       100
#define BUILD_MIN_MS  200  /* coalesce publishes after changes */
#define REPUBLISH_MS  2000 /* refresh poll times in the API (HA: alive) */
#define MAX_CREDS     2

enum walk_kind { WK_NONE, WK_FULL, WK_STATUS, WK_COUNTERS };

/* Interfaces whose counters are kept (and their expiry). */
#define MAX_IFACES       (1 << 20)
#define IFACE_MAX_AGE_MS (10 * 60 * 1000)

struct target {
	char addr[64]; /* for snmp_poller_walk and the API */
	struct sflow_addr a;
	char why[8];
	int cred;     /* index into creds once one worked, else -1 */
	int cred_try; /* the one being tried */
	bool ever_ok;
	bool reachable;
	enum walk_kind in_flight;
	uint64_t next_full; /* monotonic ms */
	uint64_t next_status;
	uint64_t next_counters;
	uint32_t polls;
	uint32_t failures;
	bool have_facts;
	struct sw_facts facts;
	uint64_t facts_sig; /* topo_facts_sig() of facts, when have_facts */
	uint64_t last_ok_wall;
	uint64_t last_poll_wall;
	char err[160];
};

/*
 * What snapshots share until the graph changes: the graph, a copy of the
 * import it was built with, and the recent events as of its build (they
 * come only with builds). The last snapshot to go frees it.
 */
/*
 * The operator import's arrays, shared by the thread and every graph built
 * from them: a copy for each graph was 6 MB at 1,000 switches x 64 ports.
 */
struct import_hold {
	atomic_int ref;
	struct topo_import im;
};

struct topo_shared {
	atomic_int ref;
	struct topo_graph *graph;
	struct topo_import import;       /* the arrays are import_hold's */
	struct import_hold *import_hold; /* a reference, or NULL */
	struct topo_event_info *events;  /* newest last */
	size_t n_events;
};

struct topo {
	const struct conf *conf;
	struct snap_slot *out;
	struct snap_slot *ingest;
	struct snap_slot *counters_out; /* struct ifc_snap; may be NULL */
	const atomic_int *pace; /* walks this many times rarer; NULL: 1 */
	int pace_was;
	struct ifc_table *ifc; /* SNMP counter rates */
	uint64_t last_ifc_expire;
	void (*wake)(void *);
	void *wake_arg;

	pthread_t thread;
	atomic_bool stop;
	bool running;

	/* The import hand-over from the API thread. */
	pthread_mutex_t mu;
	struct topo_import pending;
	bool has_pending;

	/* Owned by the topology thread from here on. */
	struct snmp_poller *poller;
	struct snmp_creds creds[MAX_CREDS];
	const char *cred_name[MAX_CREDS];
	int n_creds;
	struct target **targets;
	size_t n_targets;
	size_t cap_targets;
	struct topo_import import;
	struct import_hold *import_hold; /* owns import's arrays, or NULL */
	uint64_t import_ms;
	uint64_t import_sig;         /* topo_import_sig(&import) */
	struct topo_import restored; /* topo_set_restored(), until polled */
	uint64_t restored_sig;
	bool have_restored;
	size_t restored_agents;  /* its nodes with an agent address */
	uint64_t restored_until; /* mono: dropped by then in any case */
	struct topo_role_cfg *roles;
	size_t n_roles;
	struct topo_snap *cur; /* our reference to the last published */
	uint64_t sig_key;      /* for the fingerprints (graph.h) */
	uint64_t built_sig;    /* topo_input_sig() of cur's graph */
	bool dirty;            /* publish soon */
	uint64_t last_publish;
	struct topo_event_info ring[TOPO_RECENT_EVENTS];
	size_t ring_head; /* next slot */
	size_t ring_n;
	uint64_t walks, timeouts, auth_failures, errors, bad_varbinds;
	struct log_ratelimit rl;
};

/* Callback context: which target a walk was for. */
struct walk_ctx {
	struct topo *t;
	struct target *tg;
	enum walk_kind kind;
};

static const char *const full_subtrees[] = {
	"1.3.6.1.2.1.1.5.0",       /* sysName */
	"1.3.6.1.2.1.31.1.1.1.1",  /* ifName */
	"1.3.6.1.2.1.2.2.1.2",     /* ifDescr */
	"1.3.6.1.2.1.31.1.1.1.18", /* ifAlias */
	"1.3.6.1.2.1.31.1.1.1.15", /* ifHighSpeed */
	"1.3.6.1.2.1.2.2.1.5",     /* ifSpeed (fallback) */
	"1.3.6.1.2.1.2.2.1.8",     /* ifOperStatus */
	"1.0.8802.1.1.2.1.3",      /* lldpLocalSystemData */
	"1.0.8802.1.1.2.1.4.1",    /* lldpRemTable */
	"1.0.8802.1.1.2.1.4.2",    /* lldpRemManAddrTable */
	"1.3.6.1.2.1.17.1.4.1.2",  /* dot1dBasePortIfIndex */
};
static const char *const status_subtrees[] = {
	"1.3.6.1.2.1.2.2.1.8",     /* ifOperStatus */
	"1.3.6.1.2.1.31.1.1.1.15", /* ifHighSpeed */
};

static void
addr_text(const struct sflow_addr *a, char *buf, size_t len)
{
	char tmp[INET6_ADDRSTRLEN];

	if (a->family == 6) {
		inet_ntop(AF_INET6, a->a, tmp, sizeof(tmp));
		snprintf(buf, len, "[%s]", tmp);
	} else {
		inet_ntop(AF_INET, a->a, tmp, sizeof(tmp));
		snprintf(buf, len, "%s", tmp);
	}
}

static struct target *
target_find(struct topo *t, const struct sflow_addr *a)
{
	for (size_t i = 0; i < t->n_targets; i++)
		if (t->targets[i]->a.family == a->family &&
		    memcmp(t->targets[i]->a.a, a->a, 16) == 0)
			return t->targets[i];
	return NULL;
}

static struct target *
target_add(
    struct topo *t, const struct sflow_addr *a, const char *why, uint64_t now)
{
	struct target *tg = target_find(t, a);

	if (tg != NULL || a->family == 0)
		return tg;
	if (t->n_targets >= MAX_TARGETS) {
		log_warnx_rl(&t->rl, "topology",
		    "more than %d addresses to "
		    "poll; ignoring more",
		    MAX_TARGETS);
		return NULL;
	}
	if (t->n_targets == t->cap_targets) {
		t->cap_targets = t->cap_targets ? t->cap_targets * 2 : 64;
		t->targets =
		    xrealloc(t->targets, t->cap_targets * sizeof(*t->targets));
	}
	tg = xcalloc(1, sizeof(*tg));
	tg->a = *a;
	addr_text(a, tg->addr, sizeof(tg->addr));
	snprintf(tg->why, sizeof(tg->why), "%s", why);
	tg->cred = -1;
	/* Spread the first polls over a second. */
	tg->next_full = now + (t->n_targets * 37) % 1000;
	t->targets[t->n_targets++] = tg;
	t->dirty = true;
	return tg;
}

/* Seeds: an address, or a CIDR expanded to its host addresses. */
static void
add_seeds(struct topo *t, uint64_t now)
{
	for (int i = 0; i < t->conf->n_snmp_seeds; i++) {
		struct sflow_addr a = { 0 };
		uint8_t base[16];
		int fam, plen, bits;
		uint64_t count, first, last;

		if (cidr_parse(t->conf->snmp_seeds[i], &fam, base, &plen) != 0)
			continue; /* conf_set checked it */
		bits = (fam == 4 ? 32 : 128) - plen;
		if (bits == 0) {
			a.family = (uint8_t)fam;
			memcpy(a.a, base, 16);
			target_add(t, &a, "seed", now);
			continue;
		}
		if (bits > 16) {
			log_warnx("topology",
			    "seed %s: larger than %d "
			    "addresses; use a longer prefix",
			    t->conf->snmp_seeds[i], MAX_CIDR_HOST);
			continue;
		}
		count = 1ull << bits;
		/* IPv4: skip the network and broadcast addresses of a /30+ */
		first = (fam == 4 && bits >= 2) ? 1 : 0;
		last = (fam == 4 && bits >= 2) ? count - 2 : count - 1;
		for (uint64_t h = first; h <= last; h++) {
			uint8_t *p = base + (fam == 4 ? 4 : 16);
			uint64_t carry = h;

			a.family = (uint8_t)fam;
			memcpy(a.a, base, 16);
			/* add h to the host part (the prefix bits are kept) */
			p = a.a + (fam == 4 ? 4 : 16);
			for (int k = 1; carry && k <= (fam == 4 ? 4 : 16);
			     k++) {
				unsigned v = p[-k] + (carry & 0xff);

				p[-k] = (uint8_t)v;
				carry = (carry >> 8) + (v >> 8);
			}
			target_add(t, &a, "cidr", now);
		}
	}
}

static void
ring_push(struct topo *t, const struct topo_event *e, uint64_t version,
    uint64_t now_wall)
{
	struct topo_event_info *ei = &t->ring[t->ring_head];
	const char *type = topo_event_type_name(e->type);

	memset(ei, 0, sizeof(*ei));
	ei->ts_ms = now_wall;
	ei->version = version;
	snprintf(ei->type, sizeof(ei->type), "%s", type);
	switch (e->type) {
	case TOPO_EV_LINK_ADDED:
	case TOPO_EV_LINK_REMOVED:
	case TOPO_EV_LINK_UP:
	case TOPO_EV_LINK_DOWN:
	case TOPO_EV_LINK_CHANGED:
		if (e->old_str[0])
			snprintf(ei->text, sizeof(ei->text),
			    "link %s %s:%s - %s:%s (%s -> %s)", e->link,
			    e->node, e->port, e->node2, e->port2, e->old_str,
			    e->new_str);
		else
			snprintf(ei->text, sizeof(ei->text),
			    "link %s %s:%s - %s:%s", e->link, e->node, e->port,
			    e->node2, e->port2);
		break;
	case TOPO_EV_PORT_SPEED:
		snprintf(ei->text, sizeof(ei->text),
		    "port %s:%s (ifIndex %u) speed %lld -> %lld Mb/s", e->node,
		    e->port, e->ifindex, (long long)e->old_val,
		    (long long)e->new_val);
		break;
	case TOPO_EV_PORT_ADDED:
	case TOPO_EV_PORT_REMOVED:
	case TOPO_EV_PORT_CHANGED:
		snprintf(ei->text, sizeof(ei->text), "port %s:%s (ifIndex %u)",
		    e->node, e->port, e->ifindex);
		break;
	case TOPO_EV_PORT_UP:
	case TOPO_EV_PORT_DOWN:
		snprintf(ei->text, sizeof(ei->text),
		    "port %s:%s (ifIndex %u) oper %lld -> %lld", e->node,
		    e->port, e->ifindex, (long long)e->old_val,
		    (long long)e->new_val);
		break;
	case TOPO_EV_ROLE_CHANGED:
		snprintf(ei->text, sizeof(ei->text), "node %s role %s -> %s",
		    e->node, e->old_str, e->new_str);
		break;
	default:
		snprintf(ei->text, sizeof(ei->text), "node %s", e->node);
		break;
	}
	t->ring_head = (t->ring_head + 1) % TOPO_RECENT_EVENTS;
	if (t->ring_n < TOPO_RECENT_EVENTS)
		t->ring_n++;
	/* Port adds and changes come in bursts as links form: the link
	 * events say what matters. */
	if (e->type != TOPO_EV_PORT_ADDED && e->type != TOPO_EV_PORT_CHANGED)
		log_info("topology", "v%llu %s: %s",
		    (unsigned long long)version, ei->type, ei->text);
}

/* A hold of im's arrays (taken over), one reference; NULL if empty. */
static struct import_hold *
hold_new(const struct topo_import *im)
{
	struct import_hold *h;

	if (im->n_nodes == 0 && im->n_links == 0 && im->nodes == NULL &&
	    im->links == NULL)
		return NULL;
	h = xcalloc(1, sizeof(*h));
	atomic_init(&h->ref, 1);
	h->im = *im;
	return h;
}

static void
hold_put(struct import_hold *h)
{
	if (h == NULL || atomic_fetch_sub(&h->ref, 1) != 1)
		return;
	topo_import_clear(&h->im);
	free(h);
}

static void
shared_put(struct topo_shared *sh)
{
	if (sh == NULL || atomic_fetch_sub(&sh->ref, 1) != 1)
		return;
	topo_graph_free(sh->graph);
	hold_put(sh->import_hold);
	free(sh->events);
	free(sh);
}

static void
snap_free_fn(struct snap *s)
{
	struct topo_snap *ts = (struct topo_snap *)s;

	shared_put(ts->shared);
	free(ts->node_last_poll_ms);
	free(ts->targets);
	free(ts);
}

static const char *
target_state(const struct target *tg)
{
	if (tg->polls == 0)
		return "new";
	if (!tg->ever_ok)
		return "never";
	return tg->reachable ? "ok" : "unreachable";
}

/* A new graph from `in`, its events into the ring, and what shares it. */
static struct topo_shared *
build(struct topo *t, const struct topo_input *in, uint64_t wall)
{
	struct topo_shared *sh = xcalloc(1, sizeof(*sh));
	struct topo_events ev = { 0 };

	atomic_init(&sh->ref, 1);
	sh->graph = topo_graph_build(in, t->cur ? t->cur->graph : NULL, &ev);
	for (size_t i = 0; i < ev.n; i++)
		ring_push(t, &ev.ev[i], sh->graph->version, wall);
	topo_events_free(&ev);
	sh->import = t->import;
	sh->import_hold = t->import_hold;
	if (sh->import_hold != NULL)
		atomic_fetch_add(&sh->import_hold->ref, 1);
	sh->events = xcalloc(t->ring_n + 1, sizeof(*sh->events));
	for (size_t i = 0; i < t->ring_n; i++)
		sh->events[i] = t->ring[(t->ring_head + TOPO_RECENT_EVENTS -
		                            t->ring_n + i) %
		    TOPO_RECENT_EVENTS];
	sh->n_events = t->ring_n;
	return sh;
}

/*
 * Publish a snapshot: with a new graph if the graph's input differs from
 * what the last graph was built from, else sharing the last one (the
 * targets' poll times and the counters are what changed then). Building
 * a graph of 1,000 switches allocates tens of MB: rebuilding it every 2 s
 * whether or not anything changed kept hundreds of MiB in malloc's
 * arenas (bench/README.md, scale.py).
 */
static void
publish(struct topo *t, uint64_t mono)
{
	struct topo_switch *sw = xcalloc(t->n_targets + 1, sizeof(*sw));
	uint64_t *sig = xcalloc(t->n_targets + 1, sizeof(*sig));
	struct topo_input in = { 0 };
	struct topo_snap *ts;
	struct topo_shared *sh;
	uint64_t wall = now_wall_ms(), in_sig, imp_sig = 0;
	size_t n = 0, k = 0;

	for (size_t i = 0; i < t->n_targets; i++) {
		struct target *tg = t->targets[i];

		if (!tg->have_facts)
			continue;
		sw[n].addr = tg->a;
		sw[n].reachable = tg->reachable;
		sw[n].last_poll_ms = tg->last_poll_wall;
		sw[n].facts = &tg->facts;
		sig[n] = tg->facts_sig;
		n++;
	}
	in.switches = sw;
	in.n_switches = n;
	if (t->import.n_nodes || t->import.n_links) {
		in.import = &t->import;
		imp_sig = t->import_sig;
	}
	/*
	 * The stored fabric fills in, merged like an import, for the
	 * switches not polled yet; it goes once as many switches have been
	 * polled as it had, or after two poll periods.
	 */
	if (t->have_restored &&
	    (n >= t->restored_agents || mono >= t->restored_until)) {
		/* live facts: the stored fabric has served its time */
		topo_import_clear(&t->restored);
		t->have_restored = false;
	}
	if (t->have_restored && in.import == NULL) {
		in.import = &t->restored;
		/* not the same graph as an equal import: sh->import differs */
		imp_sig = t->restored_sig ^ 0x5245535430524544ull;
	}
	in.roles = t->roles;
	in.n_roles = t->n_roles;

	in_sig = topo_input_sig(&in, sig, imp_sig, t->sig_key);
	if (t->cur == NULL || in_sig != t->built_sig) {
		sh = build(t, &in, wall);
		t->built_sig = in_sig;
	} else {
		sh = t->cur->shared;
		atomic_fetch_add(&sh->ref, 1);
	}
	free(sw);
	free(sig);

	ts = xcalloc(1, sizeof(*ts));
	snap_init(&ts->base, snap_free_fn);
	ts->shared = sh;
	ts->graph = sh->graph;
	ts->version = sh->graph->version;
	ts->built_ms = wall;
	ts->import = sh->import; /* the arrays stay sh's */
	ts->import_ms = t->import_ms;
	ts->restored = t->have_restored && in.import == &t->restored;
	ts->events = sh->events;
	ts->n_events = sh->n_events;
	ts->node_last_poll_ms =
	    xcalloc(sh->graph->n_nodes + 1, sizeof(*ts->node_last_poll_ms));
	for (size_t i = 0; i < sh->graph->n_nodes; i++)
		ts->node_last_poll_ms[i] = sh->graph->nodes[i].last_poll_ms;
	ts->targets = xcalloc(t->n_targets + 1, sizeof(*ts->targets));
	for (size_t i = 0; i < t->n_targets; i++) {
		struct target *tg = t->targets[i];
		struct topo_target_info *ti = &ts->targets[k];
		const struct topo_node *nd;

		/* A polled node's agent is the address it was polled at. */
		if (tg->have_facts &&
		    (nd = topo_node_by_addr(sh->graph, &tg->a)) != NULL &&
		    nd->polled && nd->agent.family == tg->a.family &&
		    memcmp(nd->agent.a, tg->a.a, sizeof(tg->a.a)) == 0)
			ts->node_last_poll_ms[nd - sh->graph->nodes] =
			    tg->last_poll_wall;
		/* CIDR probes that never answered are noise in the API. */
		if (strcmp(tg->why, "cidr") == 0 && !tg->ever_ok)
			continue;
		snprintf(ti->addr, sizeof(ti->addr), "%s", tg->addr);
		snprintf(ti->why, sizeof(ti->why), "%s", tg->why);
		snprintf(ti->state, sizeof(ti->state), "%s", target_state(tg));
		snprintf(ti->cred, sizeof(ti->cred), "%s",
		    tg->cred >= 0 ? t->cred_name[tg->cred] : "");
		if (tg->have_facts)
			snprintf(ti->node, sizeof(ti->node), "%s",
			    tg->facts.sys_name[0] ? tg->facts.sys_name
			                          : tg->facts.lldp_sys_name);
		ti->last_ok_ms = tg->last_ok_wall;
		ti->last_poll_ms = tg->last_poll_wall;
		ti->polls = tg->polls;
		ti->failures = tg->failures;
		snprintf(ti->err, sizeof(ti->err), "%s", tg->err);
		k++;
	}
	ts->n_targets = k;
	ts->walks = t->walks;
	ts->walk_timeouts = t->timeouts;
	ts->walk_auth_failures = t->auth_failures;
	ts->walk_errors = t->errors;
	ts->bad_varbinds = t->bad_varbinds;

	/* The slot takes one reference; we keep one as `prev`. */
	atomic_fetch_add(&ts->base.ref, 1);
	snap_slot_publish(t->out, &ts->base);
	if (t->cur != NULL)
		snap_put(&t->cur->base);
	t->cur = ts;
	t->dirty = false;
	t->last_publish = mono;
	if (t->wake != NULL)
		t->wake(t->wake_arg);
}

/* A status walk: fold ifOperStatus and ifHighSpeed into the facts. */
static void
merge_status(struct topo *t, struct target *tg, const struct walk *w)
{
	static const uint32_t oper[] = { 1, 3, 6, 1, 2, 1, 2, 2, 1, 8 };
	static const uint32_t speed[] = { 1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 15 };
	bool changed = false;

	for (size_t i = 0; i < w->n; i++) {
		const struct walk_vb *vb = &w->vbs[i];
		const uint32_t *rest;
		size_t rl;
		struct lldp_if *lif;
		int is_oper;

		if (walk_oid_prefix(
		        vb->oid, vb->oid_len, oper, nitems(oper), &rest, &rl))
			is_oper = 1;
		else if (walk_oid_prefix(vb->oid, vb->oid_len, speed,
		             nitems(speed), &rest, &rl))
			is_oper = 0;
		else
			continue;
		if (rl != 1 || (vb->type != (is_oper ? WALK_INT : WALK_UINT))) {
			t->bad_varbinds++;
			continue;
		}
		lif = (struct lldp_if *)lldp_find_if(&tg->facts, rest[0]);
		if (lif == NULL)
			continue; /* a new interface: the next full walk */
		if (is_oper) {
			if (vb->num < 0 || vb->num > 7) {
				t->bad_varbinds++;
				continue;
			}
			if (lif->oper != (uint8_t)vb->num)
				changed = true;
			lif->oper = (uint8_t)vb->num;
		} else if (vb->num > 0 &&
		    lif->speed_mbps != (uint32_t)vb->num) {
			lif->speed_mbps = (uint32_t)vb->num;
			changed = true;
		}
	}
	if (changed) {
		tg->facts_sig = topo_facts_sig(&tg->facts, t->sig_key);
		t->dirty = true;
	}
}

/* A counter walk: rates into the table, and a fresh snapshot out. */
static void
merge_counters(
    struct topo *t, struct target *tg, const struct walk *w, uint64_t mono)
{
	struct ifc_reading *rd;
	size_t n;
	uint64_t wall = now_wall_ms();

	ifmib_readings(w, &tg->a, &rd, &n, &t->bad_varbinds);
	for (size_t i = 0; i < n; i++)
		ifc_update(t->ifc, &rd[i], mono, wall);
	free(rd);
	if (mono - t->last_ifc_expire > 60000) {
		ifc_expire(t->ifc, mono, IFACE_MAX_AGE_MS);
		t->last_ifc_expire = mono;
	}
	if (t->counters_out != NULL)
		snap_slot_publish(
		    t->counters_out, &ifc_snap_take(t->ifc, wall)->base);
}

static void
crawl(struct topo *t, const struct sw_facts *f, uint64_t mono)
{
	for (size_t i = 0; i < f->n_mgmt; i++) {
		const struct lldp_mgmt *m = &f->mgmt[i];

		/* Follow switches and routers; a station is a host. */
		if (m->caps_known &&
		    !(m->caps & (LLDP_CAP_BRIDGE | LLDP_CAP_ROUTER)))
			continue;
		target_add(t, &m->addr, "lldp", mono);
	}
}

static void start_walk(struct topo *, struct target *, enum walk_kind);

/* How many times rarer walks run now (HA BACKUP: ha.backup_poll_factor). */
static uint64_t
pace(const struct topo *t)
{
	int p = t->pace != NULL ? atomic_load(t->pace) : 1;

	return p > 1 ? (uint64_t)p : 1;
}

static void
walk_done(void *arg, struct walk *w)
{
	struct walk_ctx *wc = arg;
	struct topo *t = wc->t;
	struct target *tg = wc->tg;
	enum walk_kind kind = wc->kind;
	uint64_t mono = now_mono_ms();
	bool ok =
	    w->status == WALK_OK || (w->status == WALK_PARTIAL && w->n > 0);

	free(wc);
	tg->in_flight = WK_NONE;
	tg->polls++;
	tg->last_poll_wall = now_wall_ms();
	t->walks++;
	if (w->status == WALK_TIMEOUT)
		t->timeouts++;
	else if (w->status == WALK_AUTH)
		t->auth_failures++;
	else if (w->status != WALK_OK)
		t->errors++;
	if (atomic_load(&t->stop)) {
		walk_free(w);
		return;
	}
	if (ok && kind == WK_FULL) {
		struct sw_facts f;

		if (lldp_facts_from_walk(w, &f) == 0) {
			uint64_t sig = topo_facts_sig(&f, t->sig_key);

			t->bad_varbinds += f.stats.wrong_type +
			    f.stats.bad_index + f.stats.bad_value;
			/* The same facts again publish with the next
			 * refresh, and share the graph. */
			if (!tg->have_facts || sig != tg->facts_sig)
				t->dirty = true;
			if (tg->have_facts)
				lldp_facts_free(&tg->facts);
			tg->facts = f;
			tg->facts_sig = sig;
			tg->have_facts = true;
			crawl(t, &tg->facts, mono);
		} else {
			lldp_facts_free(&f);
			ok = false;
			snprintf(tg->err, sizeof(tg->err), "%s",
			    "the agent answered without sysName or LLDP "
			    "identity");
		}
	} else if (ok && kind == WK_STATUS && tg->have_facts) {
		merge_status(t, tg, w);
	} else if (ok && kind == WK_COUNTERS) {
		merge_counters(t, tg, w, mono);
	}
	if (ok) {
		if (!tg->reachable || tg->cred != tg->cred_try)
			t->dirty = true;
		tg->reachable = true;
		tg->ever_ok = true;
		tg->cred = tg->cred_try;
		tg->last_ok_wall = tg->last_poll_wall;
		tg->err[0] = '\0';
		if (kind == WK_FULL) {
			tg->next_full = mono +
			    (uint64_t)t->conf->snmp_poll_s * 1000 * pace(t);
		}
		if (kind == WK_COUNTERS) {
			/*
			 * At a fixed rate from the schedule, not from the
			 * walk's end: a period that creeps by each walk's
			 * time slides across the agent's own cache refreshes
			 * (ifcounters.h), and every slide is one poll that
			 * spans two refreshes: a rate twice the real one.
			 */
			uint64_t p =
			    (uint64_t)t->conf->snmp_counters_s * 1000 * pace(t);

			tg->next_counters += p;
			if (tg->next_counters <= mono)
				tg->next_counters = mono + p;
		} else {
			tg->next_status = mono +
			    (uint64_t)t->conf->snmp_status_s * 1000 * pace(t);
		}
		walk_free(w);
		return;
	}
	tg->failures++;
	if (w->err[0])
		snprintf(tg->err, sizeof(tg->err), "%.120s (%s)", w->err,
		    t->cred_name[tg->cred_try]);
	walk_free(w);
	/* Not answered with these credentials: try the next set now. */
	if (tg->cred < 0 && tg->cred_try + 1 < t->n_creds) {
		tg->cred_try++;
		start_walk(t, tg, WK_FULL);
		return;
	}
	if (tg->reachable)
		t->dirty = true;
	tg->reachable = false;
	if (tg->cred < 0)
		tg->cred_try = 0;
	if (tg->ever_ok) {
		/* A known switch: keep trying at the status pace. */
		tg->next_full = mono + (uint64_t)t->conf->snmp_status_s * 1000;
	} else {
		/* Never answered (a CIDR probe, a host): try rarely. */
		tg->next_full = mono +
		    (uint64_t)t->conf->snmp_poll_s * 1000 *
		        (strcmp(tg->why, "cidr") == 0 ? 10 : 1);
	}
	tg->next_status = tg->next_full;
}

static void
start_walk(struct topo *t, struct target *tg, enum walk_kind kind)
{
	struct walk_ctx *wc = xcalloc(1, sizeof(*wc));
	const char *const *sub = kind == WK_FULL ? full_subtrees
	    : kind == WK_STATUS                  ? status_subtrees
	                                         : ifmib_subtrees;
	size_t nsub = kind == WK_FULL ? nitems(full_subtrees)
	    : kind == WK_STATUS       ? nitems(status_subtrees)
	                              : ifmib_n_subtrees;
	int cred = tg->cred >= 0 ? tg->cred : tg->cred_try;

	wc->t = t;
	wc->tg = tg;
	wc->kind = kind;
	tg->cred_try = cred;
	if (snmp_poller_walk(t->poller, tg->addr, &t->creds[cred], sub, nsub,
	        200000, walk_done, wc) != 0) {
		free(wc);
		snprintf(
		    tg->err, sizeof(tg->err), "%s", "cannot poll this address");
		tg->next_full = tg->next_status = UINT64_MAX;
		return;
	}
	tg->in_flight = kind;
}

static void
schedule(struct topo *t, uint64_t mono)
{
	int now_pace = (int)pace(t);

	/*
	 * Back to the full pace (the HA BACKUP became MASTER): status and
	 * counters now, so that link state is fresh at once, not a slow
	 * period later.
	 */
	if (now_pace < t->pace_was)
		for (size_t i = 0; i < t->n_targets; i++) {
			t->targets[i]->next_status = mono;
			t->targets[i]->next_counters = mono;
		}
	t->pace_was = now_pace;
	for (size_t i = 0; i < t->n_targets; i++) {
		struct target *tg = t->targets[i];

		if (tg->in_flight != WK_NONE)
			continue;
		if (mono >= tg->next_full || !tg->have_facts) {
			if (mono >= tg->next_full)
				start_walk(t, tg, WK_FULL);
		} else if (tg->reachable && mono >= tg->next_status) {
			start_walk(t, tg, WK_STATUS);
		} else if (tg->reachable && t->conf->snmp_counters_s > 0 &&
		    mono >= tg->next_counters) {
			start_walk(t, tg, WK_COUNTERS);
		}
	}
}

/* New sFlow agents are switches to poll. */
static void
agents_from_ingest(struct topo *t, uint64_t mono)
{
	struct ingest_snap *is;

	if (t->ingest == NULL)
		return;
	is = (struct ingest_snap *)snap_slot_get(t->ingest);
	if (is == NULL)
		return;
	for (size_t i = 0; i < is->n_agents; i++)
		if (is->agents[i].header_ok)
			target_add(t, &is->agents[i].addr, "agent", mono);
	snap_put(&is->base);
}

static void
take_import(struct topo *t)
{
	pthread_mutex_lock(&t->mu);
	if (t->has_pending) {
		hold_put(t->import_hold);
		t->import = t->pending;
		t->import_hold = hold_new(&t->import);
		memset(&t->pending, 0, sizeof(t->pending));
		t->has_pending = false;
		t->import_ms = now_wall_ms();
		t->import_sig = topo_import_sig(&t->import, t->sig_key);
		t->dirty = true;
		log_info("topology", "import: %zu nodes, %zu links",
		    t->import.n_nodes, t->import.n_links);
	}
	pthread_mutex_unlock(&t->mu);
}

void
topo_set_restored(struct topo *t, struct topo_import *im)
{
	topo_import_clear(&t->restored);
	t->restored = *im;
	memset(im, 0, sizeof(*im));
	t->have_restored = t->restored.n_nodes > 0;
	t->restored_sig = topo_import_sig(&t->restored, t->sig_key);
	t->restored_agents = 0;
	for (size_t i = 0; i < t->restored.n_nodes; i++)
		if (t->restored.nodes[i].agent.family != 0)
			t->restored_agents++;
	t->restored_until = UINT64_MAX; /* set when the thread starts */
}

int
topo_put_import(void *arg, struct topo_import *im)
{
	struct topo *t = arg;
	int rc = 0;

	pthread_mutex_lock(&t->mu);
	if (t->has_pending) {
		rc = -1;
	} else {
		t->pending = *im;
		memset(im, 0, sizeof(*im));
		t->has_pending = true;
	}
	pthread_mutex_unlock(&t->mu);
	return rc;
}

static void *
topo_main(void *arg)
{
	struct topo *t = arg;
	uint64_t next_agents = 0;

	thread_role("fab-topology", THREAD_NICE_BULK);
	if (t->conf->snmp_enable)
		add_seeds(t, now_mono_ms());
	if (t->have_restored)
		t->restored_until = now_mono_ms() +
		    2 * (uint64_t)t->conf->snmp_poll_s * 1000 + 10000;
	publish(t, now_mono_ms()); /* an empty graph answers at once */
	while (!atomic_load(&t->stop)) {
		uint64_t mono;

		uint64_t t0 = now_mono_ms();

		/*
		 * With no walk in progress the poller returns at once: sleep
		 * out the tick, or this thread spins a whole core between
		 * polls (and with snmp.enable=0, for ever).
		 */
		if (snmp_poller_run(t->poller, TICK_MS) == 0) {
			uint64_t spent = now_mono_ms() - t0;

			if (spent < TICK_MS) {
				struct timespec ts = { 0,
					(long)(TICK_MS - spent) * 1000000L };

				nanosleep(&ts, NULL);
			}
		}
		mono = now_mono_ms();
		take_import(t);
		if (mono >= next_agents && t->conf->snmp_enable) {
			agents_from_ingest(t, mono);
			next_agents = mono + 1000;
		}
		schedule(t, mono);
		if ((t->dirty && mono - t->last_publish >= BUILD_MIN_MS) ||
		    mono - t->last_publish >= REPUBLISH_MS)
			publish(t, mono);
	}
	return NULL;
}

static void
creds_from_conf(struct topo *t)
{
	const struct conf *c = t->conf;
	struct snmp_creds *cr;

	cr = &t->creds[t->n_creds];
	snmp_creds_init(cr);
	cr->version = 2;
	snprintf(cr->community, sizeof(cr->community), "%s", c->snmp_community);
	cr->timeout_ms = c->snmp_timeout_ms;
	cr->retries = c->snmp_retries;
	t->cred_name[t->n_creds++] = "v2c";
	if (c->snmp_v3_user != NULL) {
		cr = &t->creds[t->n_creds];
		snmp_creds_init(cr);
		cr->version = 3;
		snprintf(cr->user, sizeof(cr->user), "%s", c->snmp_v3_user);
		snprintf(cr->auth_proto, sizeof(cr->auth_proto), "%s",
		    c->snmp_v3_auth);
		snprintf(cr->auth_pass, sizeof(cr->auth_pass), "%s",
		    c->snmp_v3_auth_pass ? c->snmp_v3_auth_pass : "");
		snprintf(cr->priv_proto, sizeof(cr->priv_proto), "%s",
		    c->snmp_v3_priv);
		snprintf(cr->priv_pass, sizeof(cr->priv_pass), "%s",
		    c->snmp_v3_priv_pass ? c->snmp_v3_priv_pass : "");
		cr->timeout_ms = c->snmp_timeout_ms;
		cr->retries = c->snmp_retries;
		t->cred_name[t->n_creds++] = "v3";
	}
}

int
topo_check_conf(const struct conf *c, char *err, size_t errlen)
{
	struct topo t = { .conf = c };

	creds_from_conf(&t);
	for (int i = 0; i < t.n_creds; i++) {
		char why[160];

		if (snmp_creds_check(&t.creds[i], why, sizeof(why)) != 0) {
			snprintf(err, errlen, "snmp %s credentials: %s",
			    t.cred_name[i], why);
			return -1;
		}
	}
	return 0;
}

struct topo *
topo_new(const struct conf *c, struct snap_slot *out, struct snap_slot *ingest,
    void (*wake)(void *), void *wake_arg)
{
	struct topo *t = xcalloc(1, sizeof(*t));

	t->conf = c;
	t->out = out;
	t->ingest = ingest;
	t->wake = wake;
	t->wake_arg = wake_arg;
	pthread_mutex_init(&t->mu, NULL);
	atomic_init(&t->stop, false);
	t->rl = (struct log_ratelimit)LOG_RATELIMIT_INIT(60000, 3);
	if (getrandom(&t->sig_key, sizeof(t->sig_key), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(t->sig_key))
		t->sig_key = now_wall_ms() ^ ((uint64_t)(uintptr_t)t << 16);
	creds_from_conf(t);
	t->roles = xcalloc((size_t)c->n_topo_roles + 1, sizeof(*t->roles));
	for (int i = 0; i < c->n_topo_roles; i++) {
		const char *eq = strchr(c->topo_roles[i], '=');
		struct topo_role_cfg *r = &t->roles[t->n_roles];

		if (eq == NULL ||
		    (size_t)(eq - c->topo_roles[i]) >= sizeof(r->name) ||
		    topo_role_parse(eq + 1, &r->role) != 0)
			continue;
		memcpy(
		    r->name, c->topo_roles[i], (size_t)(eq - c->topo_roles[i]));
		t->n_roles++;
	}
	t->poller = snmp_poller_new(c->snmp_max_parallel);
	t->ifc = ifc_new(MAX_IFACES, now_mono_ms() ^ (uintptr_t)t);
	return t;
}

void
topo_set_counters(struct topo *t, struct snap_slot *out)
{
	t->counters_out = out;
}

void
topo_set_pace(struct topo *t, const atomic_int *pace)
{
	t->pace = pace;
}

int
topo_start(struct topo *t)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&t->thread, NULL, topo_main, t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		return -1;
	t->running = true;
	return 0;
}

void
topo_stop(struct topo *t)
{
	if (t == NULL)
		return;
	atomic_store(&t->stop, true);
	if (t->running)
		pthread_join(t->thread, NULL);
	/* Cancelled walks call back into walk_done, which sees stop. */
	snmp_poller_free(t->poller);
	for (size_t i = 0; i < t->n_targets; i++) {
		if (t->targets[i]->have_facts)
			lldp_facts_free(&t->targets[i]->facts);
		free(t->targets[i]);
	}
	free(t->targets);
	hold_put(t->import_hold);
	topo_import_clear(&t->restored);
	topo_import_clear(&t->pending);
	free(t->roles);
	ifc_free(t->ifc);
	if (t->cur != NULL)
		snap_put(&t->cur->base);
	pthread_mutex_destroy(&t->mu);
	free(t);
}
