/*
 * graph_json.c: topology snapshots as JSON. PURE: no I/O.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "graph.h"
#include "graph_json.h"
#include "jw.h"
#include "util.h"

static json_t *
addr_json(const struct sflow_addr *a)
{
	char buf[INET6_ADDRSTRLEN];

	if (a->family == 0)
		return json_null();
	return json_string(addr_fmt(buf, sizeof(buf), a->family, a->a));
}

static const char *
oper_name(uint8_t oper)
{
	static const char *names[] = { "unknown", "up", "down", "testing",
		"unknown", "dormant", "notPresent", "lowerLayerDown" };

	return oper < nitems(names) ? names[oper] : "unknown";
}

json_t *
graph_json_sflowrt(const struct topo_snap *ts)
{
	const struct topo_graph *g = ts->graph;
	json_t *o = json_object(), *nodes = json_object(),
	       *links = json_object();

	for (size_t i = 0; i < g->n_nodes; i++) {
		const struct topo_node *n = &g->nodes[i];
		json_t *jn = json_object(), *ports = json_object();

		if (n->agent.family != 0)
			json_object_set_new(jn, "agent", addr_json(&n->agent));
		for (uint32_t p = n->first_port; p < n->first_port + n->n_ports;
		     p++) {
			const struct topo_port *pt = &g->ports[p];
			char ix[16];

			if (pt->ifindex == 0)
				continue;
			snprintf(ix, sizeof(ix), "%u", pt->ifindex);
			json_object_set_new(
			    ports, pt->name, json_pack("{s:s}", "ifindex", ix));
		}
		json_object_set_new(jn, "ports", ports);
		json_object_set_new(nodes, n->name, jn);
	}
	for (size_t i = 0; i < g->n_links; i++) {
		const struct topo_link *l = &g->links[i];
		const struct topo_port *p1 = &g->ports[l->port1];
		const struct topo_port *p2 = &g->ports[l->port2];

		json_object_set_new(links, l->name,
		    json_pack("{s:s,s:s,s:s,s:s}", "node1",
		        g->nodes[p1->node].name, "port1", p1->name, "node2",
		        g->nodes[p2->node].name, "port2", p2->name));
	}
	json_object_set_new(o, "nodes", nodes);
	json_object_set_new(o, "links", links);
	json_object_set_new(o, "version", json_integer((json_int_t)g->version));
	return o;
}

static json_t *
port_json(const struct topo_graph *g, const struct topo_port *p)
{
	json_t *o = json_object();

	json_object_set_new(o, "name", json_string(p->name));
	json_object_set_new(
	    o, "ifindex", p->ifindex ? json_integer(p->ifindex) : json_null());
	json_object_set_new(o, "speedMbps",
	    p->speed_mbps ? json_integer(p->speed_mbps) : json_null());
	json_object_set_new(o, "oper", json_string(oper_name(p->oper)));
	json_object_set_new(o, "edge", json_boolean(p->edge));
	json_object_set_new(o, "link",
	    p->link != TOPO_NONE ? json_string(g->links[p->link].name)
	                         : json_null());
	json_object_set_new(
	    o, "peer", p->peer[0] ? json_string(p->peer) : json_null());
	json_object_set_new(o, "peerIsHost", json_boolean(p->peer_host));
	json_object_set_new(
	    o, "source", json_string(topo_source_name(p->source)));
	return o;
}

json_t *
graph_json_v1(const struct topo_snap *ts)
{
	const struct topo_graph *g = ts->graph;
	json_t *o = json_object(), *nodes = json_array(), *links = json_array(),
	       *edge = json_array(), *targets = json_array(),
	       *events = json_array(), *stats = json_object(),
	       *imp = json_object();
	size_t first_ev = ts->n_events > 100 ? ts->n_events - 100 : 0;

	json_object_set_new(o, "version", json_integer((json_int_t)g->version));
	json_object_set_new(
	    o, "builtAt", json_integer((json_int_t)ts->built_ms));
	for (size_t i = 0; i < g->n_nodes; i++) {
		const struct topo_node *n = &g->nodes[i];
		json_t *jn = json_object(), *ports = json_array(),
		       *addrs = json_array();
		uint64_t last_poll;

		json_object_set_new(jn, "name", json_string(n->name));
		json_object_set_new(jn, "agent", addr_json(&n->agent));
		for (int a = 0; a < n->n_addrs; a++)
			json_array_append_new(addrs, addr_json(&n->addrs[a]));
		json_object_set_new(jn, "addresses", addrs);
		json_object_set_new(
		    jn, "role", json_string(topo_role_name(n->role)));
		json_object_set_new(jn, "roleSource",
		    json_string(topo_source_name(n->role_source)));
		json_object_set_new(
		    jn, "source", json_string(topo_source_name(n->source)));
		json_object_set_new(jn, "polled", json_boolean(n->polled));
		json_object_set_new(
		    jn, "reachable", json_boolean(n->reachable));
		last_poll = ts->node_last_poll_ms ? ts->node_last_poll_ms[i]
		                                  : n->last_poll_ms;
		json_object_set_new(jn, "lastPoll",
		    last_poll ? json_integer((json_int_t)last_poll)
		              : json_null());
		json_object_set_new(jn, "chassis",
		    n->chassis[0] ? json_string(n->chassis) : json_null());
		json_object_set_new(
		    jn, "neighbors", json_integer(n->n_neighbors));
		json_object_set_new(jn, "hosts", json_integer(n->n_hosts));
		for (uint32_t p = n->first_port; p < n->first_port + n->n_ports;
		     p++) {
			const struct topo_port *pt = &g->ports[p];

			json_array_append_new(ports, port_json(g, pt));
			if (pt->edge)
				json_array_append_new(edge,
				    json_pack("{s:s,s:s,s:o,s:o}", "node",
				        n->name, "port", pt->name, "ifindex",
				        pt->ifindex ? json_integer(pt->ifindex)
				                    : json_null(),
				        "peer",
				        pt->peer[0] ? json_string(pt->peer)
				                    : json_null()));
		}
		json_object_set_new(jn, "ports", ports);
		json_array_append_new(nodes, jn);
	}
	for (size_t i = 0; i < g->n_links; i++) {
		const struct topo_link *l = &g->links[i];
		const struct topo_port *p1 = &g->ports[l->port1];
		const struct topo_port *p2 = &g->ports[l->port2];

		json_array_append_new(links,
		    json_pack("{s:s,s:s,s:s,s:i,s:s,s:s,s:i,s:s,s:s,s:b}",
		        "name", l->name, "node1", g->nodes[p1->node].name,
		        "port1", p1->name, "ifindex1", (json_int_t)p1->ifindex,
		        "node2", g->nodes[p2->node].name, "port2", p2->name,
		        "ifindex2", (json_int_t)p2->ifindex, "status",
		        topo_link_status_name(l->status), "source",
		        topo_source_name(l->source), "oneSided", l->one_sided));
	}
	for (size_t i = 0; i < ts->n_targets; i++) {
		const struct topo_target_info *t = &ts->targets[i];

		json_array_append_new(targets,
		    json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:i,s:i,s:s}",
		        "address", t->addr, "why", t->why, "state", t->state,
		        "credentials", t->cred, "node", t->node, "lastOk",
		        t->last_ok_ms ? json_integer((json_int_t)t->last_ok_ms)
		                      : json_null(),
		        "lastPoll",
		        t->last_poll_ms
		            ? json_integer((json_int_t)t->last_poll_ms)
		            : json_null(),
		        "polls", (json_int_t)t->polls, "failures",
		        (json_int_t)t->failures, "error", t->err));
	}
	for (size_t i = first_ev; i < ts->n_events; i++) {
		const struct topo_event_info *e = &ts->events[i];

		json_array_append_new(events,
		    json_pack("{s:I,s:I,s:s,s:s}", "ts", (json_int_t)e->ts_ms,
		        "version", (json_int_t)e->version, "type", e->type,
		        "text", e->text));
	}
	json_object_set_new(
	    stats, "walks", json_integer((json_int_t)ts->walks));
	json_object_set_new(
	    stats, "walkTimeouts", json_integer((json_int_t)ts->walk_timeouts));
	json_object_set_new(stats, "walkAuthFailures",
	    json_integer((json_int_t)ts->walk_auth_failures));
	json_object_set_new(
	    stats, "walkErrors", json_integer((json_int_t)ts->walk_errors));
	json_object_set_new(
	    stats, "badVarbinds", json_integer((json_int_t)ts->bad_varbinds));
	json_object_set_new(
	    stats, "unmappedNeighbors", json_integer(g->stats.unmapped));
	json_object_set_new(
	    stats, "linkConflicts", json_integer(g->stats.link_conflicts));
	json_object_set_new(
	    stats, "importConflicts", json_integer(g->stats.import_conflicts));
	json_object_set_new(stats, "importUnresolved",
	    json_integer(g->stats.import_unresolved));
	json_object_set_new(imp, "at",
	    ts->import_ms ? json_integer((json_int_t)ts->import_ms)
	                  : json_null());
	json_object_set_new(
	    imp, "nodes", json_integer((json_int_t)ts->import.n_nodes));
	json_object_set_new(
	    imp, "links", json_integer((json_int_t)ts->import.n_links));
	json_object_set_new(o, "nodes", nodes);
	json_object_set_new(o, "links", links);
	json_object_set_new(o, "edgePorts", edge);
	json_object_set_new(o, "targets", targets);
	json_object_set_new(o, "events", events);
	json_object_set_new(o, "stats", stats);
	json_object_set_new(o, "import", imp);
	return o;
}

/* ---- the same as text ------------------------------------------------- */

static void
t_str(struct jw *w, const char *s)
{
	jw_raw(w, "\"", 1);
	jw_escaped(w, (const uint8_t *)s, strlen(s));
	jw_raw(w, "\"", 1);
}

/* A string member; NULL is null. */
static void
t_kstr(struct jw *w, const char *key, const char *v)
{
	jw_key(w, key);
	if (v != NULL)
		t_str(w, v);
	else
		jw_raw(w, "null", 4);
}

static void
t_kint(struct jw *w, const char *key, int64_t v)
{
	char buf[24];

	jw_key(w, key);
	jw_raw(
	    w, buf, (size_t)snprintf(buf, sizeof(buf), "%lld", (long long)v));
}

/* An integer member, null when 0 (unknown). */
static void
t_kint0(struct jw *w, const char *key, int64_t v)
{
	if (v != 0) {
		t_kint(w, key, v);
	} else {
		jw_key(w, key);
		jw_raw(w, "null", 4);
	}
}

static void
t_kbool(struct jw *w, const char *key, bool v)
{
	jw_key(w, key);
	jw_raw(w, v ? "true" : "false", v ? 4 : 5);
}

static void
t_addr(struct jw *w, const struct sflow_addr *a)
{
	char buf[INET6_ADDRSTRLEN];

	if (a->family == 0)
		jw_raw(w, "null", 4);
	else
		t_str(w, addr_fmt(buf, sizeof(buf), a->family, a->a));
}

static void
t_sflowrt(struct jw *w, const struct topo_snap *ts)
{
	const struct topo_graph *g = ts->graph;

	jw_open(w, "nodes", '{');
	for (size_t i = 0; i < g->n_nodes; i++) {
		const struct topo_node *n = &g->nodes[i];

		jw_open(w, n->name, '{');
		if (n->agent.family != 0) {
			jw_key(w, "agent");
			t_addr(w, &n->agent);
		}
		jw_open(w, "ports", '{');
		for (uint32_t p = n->first_port; p < n->first_port + n->n_ports;
		     p++) {
			const struct topo_port *pt = &g->ports[p];
			char ix[16];

			if (pt->ifindex == 0)
				continue;
			snprintf(ix, sizeof(ix), "%u", pt->ifindex);
			jw_open(w, pt->name, '{');
			t_kstr(w, "ifindex", ix);
			jw_close(w, '}');
		}
		jw_close(w, '}');
		jw_close(w, '}');
	}
	jw_close(w, '}');
	jw_open(w, "links", '{');
	for (size_t i = 0; i < g->n_links; i++) {
		const struct topo_link *l = &g->links[i];
		const struct topo_port *p1 = &g->ports[l->port1];
		const struct topo_port *p2 = &g->ports[l->port2];

		jw_open(w, l->name, '{');
		t_kstr(w, "node1", g->nodes[p1->node].name);
		t_kstr(w, "port1", p1->name);
		t_kstr(w, "node2", g->nodes[p2->node].name);
		t_kstr(w, "port2", p2->name);
		jw_close(w, '}');
	}
	jw_close(w, '}');
	t_kint(w, "version", (int64_t)g->version);
}

char *
graph_text_sflowrt(const struct topo_snap *ts)
{
	struct jw w = { .depth = -1 };

	jw_open(&w, NULL, '{');
	t_sflowrt(&w, ts);
	jw_close(&w, '}');
	return w.buf;
}

static void
t_port(struct jw *w, const struct topo_graph *g, const struct topo_port *p)
{
	jw_open(w, NULL, '{');
	t_kstr(w, "name", p->name);
	t_kint0(w, "ifindex", p->ifindex);
	t_kint0(w, "speedMbps", p->speed_mbps);
	t_kstr(w, "oper", oper_name(p->oper));
	t_kbool(w, "edge", p->edge);
	t_kstr(w, "link", p->link != TOPO_NONE ? g->links[p->link].name : NULL);
	t_kstr(w, "peer", p->peer[0] ? p->peer : NULL);
	t_kbool(w, "peerIsHost", p->peer_host);
	t_kstr(w, "source", topo_source_name(p->source));
	jw_close(w, '}');
}

char *
graph_text_v1(const struct topo_snap *ts, bool with_sflowrt)
{
	const struct topo_graph *g = ts->graph;
	struct jw w = { .depth = -1 };
	size_t first_ev = ts->n_events > 100 ? ts->n_events - 100 : 0;

	jw_open(&w, NULL, '{');
	t_kint(&w, "version", (int64_t)g->version);
	t_kint(&w, "builtAt", (int64_t)ts->built_ms);
	jw_open(&w, "nodes", '[');
	for (size_t i = 0; i < g->n_nodes; i++) {
		const struct topo_node *n = &g->nodes[i];
		uint64_t last_poll = ts->node_last_poll_ms
		    ? ts->node_last_poll_ms[i]
		    : n->last_poll_ms;

		jw_open(&w, NULL, '{');
		t_kstr(&w, "name", n->name);
		jw_key(&w, "agent");
		t_addr(&w, &n->agent);
		jw_open(&w, "addresses", '[');
		for (int a = 0; a < n->n_addrs; a++) {
			jw_sep(&w);
			t_addr(&w, &n->addrs[a]);
		}
		jw_close(&w, ']');
		t_kstr(&w, "role", topo_role_name(n->role));
		t_kstr(&w, "roleSource", topo_source_name(n->role_source));
		t_kstr(&w, "source", topo_source_name(n->source));
		t_kbool(&w, "polled", n->polled);
		t_kbool(&w, "reachable", n->reachable);
		t_kint0(&w, "lastPoll", (int64_t)last_poll);
		t_kstr(&w, "chassis", n->chassis[0] ? n->chassis : NULL);
		t_kint(&w, "neighbors", n->n_neighbors);
		t_kint(&w, "hosts", n->n_hosts);
		jw_open(&w, "ports", '[');
		for (uint32_t p = n->first_port; p < n->first_port + n->n_ports;
		     p++)
			t_port(&w, g, &g->ports[p]);
		jw_close(&w, ']');
		jw_close(&w, '}');
	}
	jw_close(&w, ']');
	jw_open(&w, "links", '[');
	for (size_t i = 0; i < g->n_links; i++) {
		const struct topo_link *l = &g->links[i];
		const struct topo_port *p1 = &g->ports[l->port1];
		const struct topo_port *p2 = &g->ports[l->port2];

		jw_open(&w, NULL, '{');
		t_kstr(&w, "name", l->name);
		t_kstr(&w, "node1", g->nodes[p1->node].name);
		t_kstr(&w, "port1", p1->name);
		t_kint(&w, "ifindex1", p1->ifindex);
		t_kstr(&w, "node2", g->nodes[p2->node].name);
		t_kstr(&w, "port2", p2->name);
		t_kint(&w, "ifindex2", p2->ifindex);
		t_kstr(&w, "status", topo_link_status_name(l->status));
		t_kstr(&w, "source", topo_source_name(l->source));
		t_kbool(&w, "oneSided", l->one_sided);
		jw_close(&w, '}');
	}
	jw_close(&w, ']');
	jw_open(&w, "edgePorts", '[');
	for (size_t i = 0; i < g->n_ports; i++) {
		const struct topo_port *pt = &g->ports[i];

		if (!pt->edge)
			continue;
		jw_open(&w, NULL, '{');
		t_kstr(&w, "node", g->nodes[pt->node].name);
		t_kstr(&w, "port", pt->name);
		t_kint0(&w, "ifindex", pt->ifindex);
		t_kstr(&w, "peer", pt->peer[0] ? pt->peer : NULL);
		jw_close(&w, '}');
	}
	jw_close(&w, ']');
	jw_open(&w, "targets", '[');
	for (size_t i = 0; i < ts->n_targets; i++) {
		const struct topo_target_info *t = &ts->targets[i];

		jw_open(&w, NULL, '{');
		t_kstr(&w, "address", t->addr);
		t_kstr(&w, "why", t->why);
		t_kstr(&w, "state", t->state);
		t_kstr(&w, "credentials", t->cred);
		t_kstr(&w, "node", t->node);
		t_kint0(&w, "lastOk", (int64_t)t->last_ok_ms);
		t_kint0(&w, "lastPoll", (int64_t)t->last_poll_ms);
		t_kint(&w, "polls", t->polls);
		t_kint(&w, "failures", t->failures);
		t_kstr(&w, "error", t->err);
		jw_close(&w, '}');
	}
	jw_close(&w, ']');
	jw_open(&w, "events", '[');
	for (size_t i = first_ev; i < ts->n_events; i++) {
		const struct topo_event_info *e = &ts->events[i];

		jw_open(&w, NULL, '{');
		t_kint(&w, "ts", (int64_t)e->ts_ms);
		t_kint(&w, "version", (int64_t)e->version);
		t_kstr(&w, "type", e->type);
		t_kstr(&w, "text", e->text);
		jw_close(&w, '}');
	}
	jw_close(&w, ']');
	jw_open(&w, "stats", '{');
	t_kint(&w, "walks", (int64_t)ts->walks);
	t_kint(&w, "walkTimeouts", (int64_t)ts->walk_timeouts);
	t_kint(&w, "walkAuthFailures", (int64_t)ts->walk_auth_failures);
	t_kint(&w, "walkErrors", (int64_t)ts->walk_errors);
	t_kint(&w, "badVarbinds", (int64_t)ts->bad_varbinds);
	t_kint(&w, "unmappedNeighbors", g->stats.unmapped);
	t_kint(&w, "linkConflicts", g->stats.link_conflicts);
	t_kint(&w, "importConflicts", g->stats.import_conflicts);
	t_kint(&w, "importUnresolved", g->stats.import_unresolved);
	jw_close(&w, '}');
	jw_open(&w, "import", '{');
	t_kint0(&w, "at", (int64_t)ts->import_ms);
	t_kint(&w, "nodes", (int64_t)ts->import.n_nodes);
	t_kint(&w, "links", (int64_t)ts->import.n_links);
	jw_close(&w, '}');
	if (with_sflowrt) {
		jw_open(&w, "sflowrt", '{');
		t_sflowrt(&w, ts);
		jw_close(&w, '}');
	}
	jw_close(&w, '}');
	return w.buf;
}
