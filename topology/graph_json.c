/*
 * graph_json.c: topology snapshots as JSON. PURE: no I/O.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "graph.h"
#include "graph_json.h"
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
