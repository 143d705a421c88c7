/*
 * test_graph.c: the fabric model (topology/graph.c) on walks recorded in
 * the lab (tests/unit/walks/lab-*.txt; lab-info.txt is the lab's own
 * account of its cabling), on the pitfall walks, and on small fabrics
 * generated here as walk text. Run from the repository root.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "graph_json.h"
#include "labwalk.h"
#include "t.h"
#include "util.h"
#include "walk.h"

#define WALKS "tests/unit/walks/"

static const char *const lab_sw[] = { "s1", "s2", "l1", "l2", "l3", "l4" };

static struct sflow_addr
ip(const char *s)
{
	struct sflow_addr a;

	memset(&a, 0, sizeof(a));
	if (inet_pton(AF_INET, s, a.a) == 1)
		a.family = 4;
	else if (inet_pton(AF_INET6, s, a.a) == 1)
		a.family = 6;
	return a;
}

/* Facts from walk text; `edit` (may be NULL) replaces one line. */
static void
facts_text(const char *text, struct sw_facts *f)
{
	struct walk *w = walk_parse_text(text, "t", NULL);

	lldp_facts_from_walk(w, f);
	walk_free(w);
}

static void
facts_file(
    const char *file, struct sw_facts *f, const char *from, const char *to)
{
	char path[256], *text;

	snprintf(path, sizeof(path), WALKS "%s", file);
	text = slurp(path);
	if (from != NULL) {
		char *at = strstr(text, from);
		char *out;

		if (at == NULL) {
			T_FAIL("%s: no \"%s\"", file, from);
		} else {
			out = xmalloc(strlen(text) + strlen(to) + 1);
			memcpy(out, text, (size_t)(at - text));
			strcpy(out + (at - text), to);
			strcat(out, at + strlen(from));
			free(text);
			text = out;
		}
	}
	facts_text(text, f);
	free(text);
}

/* The lab as the poller would hand it over. */
struct lab {
	struct sw_facts f[6];
	struct topo_switch sw[6];
	struct topo_input in;
};

static void
lab_load(struct lab *L)
{
	memset(L, 0, sizeof(*L));
	for (size_t i = 0; i < 6; i++) {
		char file[64];

		snprintf(file, sizeof(file), "lab-%s.txt", lab_sw[i]);
		facts_file(file, &L->f[i], NULL, NULL);
		L->sw[i].addr = ip(info("switch.%s.mgmt", lab_sw[i]));
		L->sw[i].reachable = true;
		L->sw[i].last_poll_ms = 1000;
		L->sw[i].facts = &L->f[i];
	}
	L->in.switches = L->sw;
	L->in.n_switches = 6;
}

/* Replace switch `name`'s facts by those of another recording. */
static void
lab_swap(struct lab *L, const char *name, const char *file, const char *from,
    const char *to)
{
	for (size_t i = 0; i < 6; i++)
		if (strcmp(lab_sw[i], name) == 0) {
			lldp_facts_free(&L->f[i]);
			facts_file(file, &L->f[i], from, to);
		}
}

static void
lab_free(struct lab *L)
{
	for (size_t i = 0; i < 6; i++)
		lldp_facts_free(&L->f[i]);
}

static const struct topo_port *
port_of(const struct topo_graph *g, const char *node, const char *port)
{
	return topo_port_by_name(g, topo_node_by_name(g, node), port);
}

static size_t
count_ev(const struct topo_events *ev, enum topo_event_type t, const char *name)
{
	size_t n = 0;

	for (size_t i = 0; i < ev->n; i++)
		if (ev->ev[i].type == t &&
		    (name == NULL || strcmp(ev->ev[i].link, name) == 0 ||
		        strcmp(ev->ev[i].node, name) == 0))
			n++;
	return n;
}

static void
dump_events(const struct topo_events *ev)
{
	for (size_t i = 0; i < ev->n; i++)
		printf("#     %s %s %s %s %s %s %lld->%lld %s->%s\n",
		    topo_event_type_name(ev->ev[i].type), ev->ev[i].node,
		    ev->ev[i].port, ev->ev[i].node2, ev->ev[i].port2,
		    ev->ev[i].link, (long long)ev->ev[i].old_val,
		    (long long)ev->ev[i].new_val, ev->ev[i].old_str,
		    ev->ev[i].new_str);
}

/*
 * Every cabled port of the lab, checked against lab-info.txt: fabric
 * ports are on a link to the right peer port, host ports are edge ports
 * that name their host.
 */
static void
check_lab_graph(const struct topo_graph *g)
{
	size_t fabric = 0;

	T_EQ(g->n_nodes, 6);
	T_EQ(g->n_links, 8);
	for (size_t s = 0; s < nitems(lab_sw); s++) {
		const char *sw = lab_sw[s];
		const struct topo_node *n = topo_node_by_name(g, sw);
		char ports[128], *save = NULL, *port;

		T_OK(n != NULL);
		if (n == NULL)
			continue;
		T_EQ(n->role, sw[0] == 's' ? TOPO_ROLE_SPINE : TOPO_ROLE_LEAF);
		T_EQ(n->role_source, TOPO_SRC_LLDP);
		T_EQ(n->n_neighbors, sw[0] == 's' ? 4 : 2);
		T_OK(n->polled && n->reachable);
		snprintf(
		    ports, sizeof(ports), "%s", info("switch.%s.ports", sw));
		for (port = strtok_r(ports, " ", &save); port != NULL;
		     port = strtok_r(NULL, " ", &save)) {
			const struct topo_port *p = port_of(g, sw, port);
			char peer[64], *colon;

			snprintf(peer, sizeof(peer), "%s",
			    info("port.%s.%s.peer", sw, port));
			colon = strchr(peer, ':');
			T_OK(p != NULL && colon != NULL);
			if (p == NULL || colon == NULL)
				continue;
			*colon = '\0';
			T_EQ(p->ifindex,
			    atoi(info("port.%s.%s.ifindex", sw, port)));
			T_EQ(p->speed_mbps, 10000);
			T_EQ(p->oper, 1);
			T_STREQ(p->peer, peer);
			if (strcmp(info("port.%s.%s.kind", sw, port),
			        "fabric") == 0) {
				const struct topo_link *l;
				const struct topo_port *q;

				fabric++;
				T_OK(!p->edge && !p->peer_host);
				T_OK(p->link != TOPO_NONE);
				if (p->link == TOPO_NONE)
					continue;
				l = &g->links[p->link];
				q = &g->ports[l->port1] == p
				    ? &g->ports[l->port2]
				    : &g->ports[l->port1];
				T_STREQ(g->nodes[q->node].name, peer);
				T_STREQ(q->name, colon + 1);
				T_EQ(q->ifindex,
				    atoi(info("port.%s.%s."
				              "peer_ifindex",
				        sw, port)));
				T_EQ(l->status, TOPO_LINK_UP);
				T_EQ(l->source, TOPO_SRC_LLDP);
				T_OK(!l->one_sided);
			} else {
				char where[64];

				/* a host port: edge, named after its host */
				T_OK(p->edge && p->peer_host);
				T_EQ(p->link, TOPO_NONE);
				snprintf(
				    where, sizeof(where), "%s:%s", sw, port);
				T_STREQ(info("host.%s.port", peer), where);
			}
		}
		T_EQ(n->n_hosts,
		    sw[0] == 'l' ? (sw[1] == '1' || sw[1] == '4' ? 2 : 1) : 0);
		/* lo and mgmt0: edge ports without a peer */
		T_OK(port_of(g, sw, "lo") != NULL &&
		    port_of(g, sw, "lo")->edge &&
		    port_of(g, sw, "lo")->peer[0] == '\0');
		T_OK(port_of(g, sw, "mgmt0") != NULL &&
		    port_of(g, sw, "mgmt0")->edge);
	}
	T_EQ(fabric, 16); /* 8 links seen from both ends */
	T_OK(topo_link_by_name(g, "l1:swp1-s1:swp1") != NULL);
	T_OK(topo_link_by_name(g, "l4:swp2-s2:swp4") != NULL);
	T_EQ(g->stats.unmapped + g->stats.dup_names +
	        g->stats.peer_port_unknown + g->stats.link_conflicts +
	        g->stats.self_loops + g->stats.addr_conflicts,
	    0);
}

static void
test_lab_graph(void)
{
	struct lab L;
	struct topo_events ev = { 0 };
	struct topo_graph *g;

	lab_load(&L);
	g = topo_graph_build(&L.in, NULL, &ev);
	check_lab_graph(g);
	T_EQ(g->version, 1);
	/* the first graph: everything is new */
	T_EQ(ev.n, 6 + 8);
	T_EQ(count_ev(&ev, TOPO_EV_NODE_ADDED, NULL), 6);
	T_EQ(count_ev(&ev, TOPO_EV_LINK_ADDED, NULL), 8);
	/* the published order: nodes by name, ports by node then ifindex,
	 * links by name */
	for (size_t i = 1; i < g->n_nodes; i++)
		T_OK(strcmp(g->nodes[i - 1].name, g->nodes[i].name) < 0);
	for (size_t i = 1; i < g->n_links; i++)
		T_OK(strcmp(g->links[i - 1].name, g->links[i].name) < 0);
	for (size_t i = 1; i < g->n_ports; i++)
		T_OK(g->ports[i - 1].node < g->ports[i].node ||
		    (g->ports[i - 1].node == g->ports[i].node &&
		        g->ports[i - 1].ifindex < g->ports[i].ifindex));
	for (size_t i = 0; i < g->n_nodes; i++)
		for (uint32_t k = 0; k < g->nodes[i].n_ports; k++)
			T_EQ(g->ports[g->nodes[i].first_port + k].node, i);
	topo_events_free(&ev);
	topo_graph_free(g);
	lab_free(&L);
}

/* The flow engine's lookups on the lab, with the misses. */
static void
test_lab_lookup(void)
{
	struct lab L;
	struct topo_graph *g;
	struct topo_hit h;
	struct sflow_addr a;

	lab_load(&L);
	g = topo_graph_build(&L.in, NULL, NULL);
	/* l1 swp1 (ifindex 2) goes to s1 swp1 */
	a = ip("10.99.0.21");
	T_EQ(topo_lookup(g, &a, 2, &h), 1);
	T_STREQ(h.node ? h.node->name : NULL, "l1");
	T_EQ(h.node ? h.node->role : 9, TOPO_ROLE_LEAF);
	T_STREQ(h.port ? h.port->name : NULL, "swp1");
	T_OK(h.port && !h.port->edge && h.port->speed_mbps == 10000);
	T_STREQ(h.link ? h.link->name : NULL, "l1:swp1-s1:swp1");
	T_STREQ(h.peer_node ? h.peer_node->name : NULL, "s1");
	T_STREQ(h.peer_port ? h.peer_port->name : NULL, "swp1");
	/* every port of the lab, both ends of every link */
	for (size_t s = 0; s < nitems(lab_sw); s++) {
		char ports[128], *save = NULL, *port;

		a = ip(info("switch.%s.mgmt", lab_sw[s]));
		snprintf(ports, sizeof(ports), "%s",
		    info("switch.%s.ports", lab_sw[s]));
		for (port = strtok_r(ports, " ", &save); port != NULL;
		     port = strtok_r(NULL, " ", &save)) {
			uint32_t ifx = (uint32_t)atoi(
			    info("port.%s.%s.ifindex", lab_sw[s], port));
			bool fabric =
			    strcmp(info("port.%s.%s.kind", lab_sw[s], port),
			        "fabric") == 0;

			T_EQ(topo_lookup(g, &a, ifx, &h), 1);
			T_STREQ(h.port ? h.port->name : NULL, port);
			T_EQ(h.link != NULL, fabric);
			T_EQ(h.port ? h.port->edge : 0, !fabric);
			if (fabric && h.peer_node != NULL) {
				char want[TOPO_NAME_MAX + TOPO_PORT_MAX + 2];

				snprintf(want, sizeof(want), "%s:%s",
				    h.peer_node->name, h.peer_port->name);
				T_STREQ(want,
				    info("port.%s.%s.peer", lab_sw[s], port));
			}
		}
	}
	/* an edge port: l1 swp3 (4) */
	a = ip("10.99.0.21");
	T_EQ(topo_lookup(g, &a, 4, &h), 1);
	T_OK(h.port && h.port->edge && h.link == NULL && h.peer_node == NULL);
	T_STREQ(h.port ? h.port->peer : NULL, "h1");
	/* misses: special ifindexes, unknown agents */
	T_EQ(topo_lookup(g, &a, 0, &h), 0);
	T_OK(h.node == NULL);
	T_EQ(topo_lookup(g, &a, 0x3fffffff, &h), 0);
	T_EQ(topo_lookup(g, &a, 0x40000100, &h), 0);
	a = ip("10.99.0.99");
	T_EQ(topo_lookup(g, &a, 2, &h), 0);
	T_OK(h.node == NULL && h.port == NULL && h.link == NULL);
	a = ip("10.2.1.11"); /* a host: not a node */
	T_EQ(topo_lookup(g, &a, 2, &h), 0);
	memset(&a, 0, sizeof(a));
	T_EQ(topo_lookup(g, &a, 2, &h), 0);
	/* a known agent, an unknown ifIndex: the node, no port */
	a = ip("10.99.0.11");
	T_EQ(topo_lookup(g, &a, 77, &h), 1);
	T_STREQ(h.node ? h.node->name : NULL, "s1");
	T_OK(h.port == NULL && h.link == NULL);
	/* an IPv4-mapped IPv6 agent is its IPv4 address */
	a = ip("::ffff:10.99.0.11");
	T_EQ(topo_lookup(g, &a, 2, &h), 1);
	T_STREQ(h.peer_node ? h.peer_node->name : NULL, "l1");
	T_OK(topo_node_by_addr(g, &a) == topo_node_by_name(g, "s1"));
	T_OK(topo_lookup(NULL, &a, 2, &h) == 0);
	topo_graph_free(g);
	lab_free(&L);
}

/* A switch SNMP never reached is no node: its samples are misses. */
static void
test_never_reached(void)
{
	struct lab L;
	struct topo_graph *g;
	struct topo_hit h;
	struct topo_switch sw[7];
	struct sflow_addr a = ip("10.99.0.30");

	lab_load(&L);
	memcpy(sw, L.sw, sizeof(L.sw));
	memset(&sw[6], 0, sizeof(sw[6]));
	sw[6].addr = a;
	L.in.switches = sw;
	L.in.n_switches = 7;
	g = topo_graph_build(&L.in, NULL, NULL);
	T_EQ(g->n_nodes, 6);
	T_EQ(topo_lookup(g, &a, 2, &h), 0);
	topo_graph_free(g);
	lab_free(&L);
}

/* Timemarks and remIndexes change after a flap; the graph does not. */
static void
test_timemark_no_bump(void)
{
	struct lab L;
	struct topo_events ev = { 0 };
	struct topo_graph *g1, *g2;

	lab_load(&L);
	g1 = topo_graph_build(&L.in, NULL, NULL);
	lab_swap(&L, "l1", "lab-l1-relink.txt", NULL, NULL);
	lab_swap(&L, "s1", "lab-s1-relink.txt", NULL, NULL);
	T_OK(L.f[2].nbrs[0].time_mark != 200 || L.f[2].nbrs[0].rem_index != 4);
	g2 = topo_graph_build(&L.in, g1, &ev);
	check_lab_graph(g2);
	T_EQ(ev.n, 0);
	if (ev.n)
		dump_events(&ev);
	T_EQ(g2->version, g1->version);
	topo_events_free(&ev);
	topo_graph_free(g1);
	topo_graph_free(g2);
	lab_free(&L);
}

/*
 * Recorded in the lab: `ip link set swp1 down` on l1. Both ends lose
 * the LLDP neighbour at once; the link must go down, not away. Then
 * back up (recorded after the flap, with new timeMarks).
 */
static void
test_link_down_up(void)
{
	struct lab L;
	struct topo_events ev = { 0 };
	struct topo_graph *g1, *g2, *g3;
	const struct topo_link *l;
	struct topo_hit h;
	struct sflow_addr a = ip("10.99.0.21");

	lab_load(&L);
	g1 = topo_graph_build(&L.in, NULL, NULL);
	lab_swap(&L, "l1", "lab-l1-down.txt", NULL, NULL);
	lab_swap(&L, "s1", "lab-s1-down.txt", NULL, NULL);
	T_EQ(L.f[0].n_nbrs, 3);
	T_EQ(L.f[2].n_nbrs, 3);
	g2 = topo_graph_build(&L.in, g1, &ev);
	T_EQ(g2->version, g1->version + 1);
	T_EQ(g2->n_links, 8);
	l = topo_link_by_name(g2, "l1:swp1-s1:swp1");
	T_OK(l != NULL);
	T_EQ(l ? l->status : 0, TOPO_LINK_DOWN);
	T_EQ(count_ev(&ev, TOPO_EV_LINK_DOWN, "l1:swp1-s1:swp1"), 1);
	T_EQ(count_ev(&ev, TOPO_EV_PORT_DOWN, NULL), 2);
	T_EQ(count_ev(&ev, TOPO_EV_LINK_REMOVED, NULL), 0);
	T_EQ(ev.n, 3);
	if (ev.n != 3)
		dump_events(&ev);
	for (size_t i = 0; i < ev.n; i++)
		if (ev.ev[i].type == TOPO_EV_LINK_DOWN) {
			T_STREQ(ev.ev[i].node, "l1");
			T_STREQ(ev.ev[i].port, "swp1");
			T_EQ(ev.ev[i].ifindex, 2);
			T_STREQ(ev.ev[i].node2, "s1");
			T_STREQ(ev.ev[i].port2, "swp1");
			T_STREQ(ev.ev[i].old_str, "up");
			T_STREQ(ev.ev[i].new_str, "down");
		} else if (ev.ev[i].type == TOPO_EV_PORT_DOWN) {
			T_EQ(ev.ev[i].old_val, 1);
			T_EQ(ev.ev[i].new_val, 2);
		}
	/* the flow engine still sees a fabric port */
	T_EQ(topo_lookup(g2, &a, 2, &h), 1);
	T_OK(h.link != NULL && h.port && !h.port->edge);
	/* roles hold */
	T_EQ(topo_node_by_name(g2, "l1")->role, TOPO_ROLE_LEAF);
	T_EQ(topo_node_by_name(g2, "s1")->role, TOPO_ROLE_SPINE);
	topo_events_free(&ev);

	/* the same down state polled again: nothing new */
	g3 = topo_graph_build(&L.in, g2, &ev);
	T_EQ(ev.n, 0);
	T_EQ(g3->version, g2->version);
	topo_graph_free(g3);
	topo_events_free(&ev);

	lab_swap(&L, "l1", "lab-l1-relink.txt", NULL, NULL);
	lab_swap(&L, "s1", "lab-s1-relink.txt", NULL, NULL);
	g3 = topo_graph_build(&L.in, g2, &ev);
	check_lab_graph(g3);
	T_EQ(g3->version, g2->version + 1);
	T_EQ(count_ev(&ev, TOPO_EV_LINK_UP, "l1:swp1-s1:swp1"), 1);
	T_EQ(count_ev(&ev, TOPO_EV_PORT_UP, NULL), 2);
	T_EQ(count_ev(&ev, TOPO_EV_LINK_ADDED, NULL), 0);
	T_EQ(ev.n, 3);
	topo_events_free(&ev);
	topo_graph_free(g1);
	topo_graph_free(g2);
	topo_graph_free(g3);
	lab_free(&L);
}

/* A link down by ifOperStatus while LLDP still shows the neighbour. */
static void
test_link_down_oper_only(void)
{
	struct lab L;
	struct topo_events ev = { 0 };
	struct topo_graph *g1, *g2;

	lab_load(&L);
	g1 = topo_graph_build(&L.in, NULL, NULL);
	/* l3 swp2 (ifindex 3) goes lowerLayerDown(7) */
	lab_swap(&L, "l3", "lab-l3.txt", ".1.3.6.1.2.1.2.2.1.8.3 = INTEGER: 1",
	    ".1.3.6.1.2.1.2.2.1.8.3 = INTEGER: 7");
	g2 = topo_graph_build(&L.in, g1, &ev);
	T_EQ(g2->version, g1->version + 1);
	T_EQ(count_ev(&ev, TOPO_EV_LINK_DOWN, "l3:swp2-s2:swp3"), 1);
	T_EQ(count_ev(&ev, TOPO_EV_PORT_DOWN, "l3"), 1);
	T_EQ(ev.n, 2);
	topo_events_free(&ev);
	topo_graph_free(g1);
	topo_graph_free(g2);
	lab_free(&L);
}

/*
 * l2 stops answering SNMP: its stale facts keep its links in their last
 * state; the only event is node_unreachable. A reachable peer that says
 * its port is down still takes the link down.
 */
static void
test_unreachable(void)
{
	struct lab L;
	struct topo_events ev = { 0 };
	struct topo_graph *g1, *g2, *g3, *g4;
	const struct topo_node *n;
	const struct topo_link *l;

	lab_load(&L);
	g1 = topo_graph_build(&L.in, NULL, NULL);
	L.sw[3].reachable = false; /* l2, stale facts kept */
	L.sw[3].last_poll_ms = 2000;
	g2 = topo_graph_build(&L.in, g1, &ev);
	T_EQ(g2->version, g1->version + 1);
	T_EQ(ev.n, 1);
	T_EQ(count_ev(&ev, TOPO_EV_NODE_UNREACHABLE, "l2"), 1);
	T_EQ(ev.n ? ev.ev[0].old_val : 9, 1);
	T_EQ(ev.n ? ev.ev[0].new_val : 9, 0);
	n = topo_node_by_name(g2, "l2");
	T_OK(n != NULL && n->polled && !n->reachable);
	T_EQ(n ? n->last_poll_ms : 0, 2000);
	l = topo_link_by_name(g2, "l2:swp1-s1:swp2");
	T_EQ(l ? l->status : 0, TOPO_LINK_UP);
	T_EQ(n ? n->role : 9, TOPO_ROLE_LEAF);
	topo_events_free(&ev);

	/* the stale facts say swp2 is down, but they are stale: the links
	 * keep their last state */
	lab_swap(&L, "l2", "lab-l2.txt", ".1.3.6.1.2.1.2.2.1.8.3 = INTEGER: 1",
	    ".1.3.6.1.2.1.2.2.1.8.3 = INTEGER: 2");
	g3 = topo_graph_build(&L.in, g2, &ev);
	l = topo_link_by_name(g3, "l2:swp2-s2:swp2");
	T_EQ(l ? l->status : 0, TOPO_LINK_UP);
	T_EQ(count_ev(&ev, TOPO_EV_LINK_DOWN, NULL), 0);
	topo_events_free(&ev);
	lab_swap(&L, "l2", "lab-l2.txt", NULL, NULL);

	/* s1, reachable, says its port to l2 went down: believed */
	lab_swap(&L, "s1", "lab-s1.txt", ".1.3.6.1.2.1.2.2.1.8.3 = INTEGER: 1",
	    ".1.3.6.1.2.1.2.2.1.8.3 = INTEGER: 2");
	g4 = topo_graph_build(&L.in, g3, &ev);
	l = topo_link_by_name(g4, "l2:swp1-s1:swp2");
	T_EQ(l ? l->status : 0, TOPO_LINK_DOWN);
	T_EQ(count_ev(&ev, TOPO_EV_LINK_DOWN, "l2:swp1-s1:swp2"), 1);
	topo_events_free(&ev);
	topo_graph_free(g4);

	/* l2 back */
	lab_swap(&L, "s1", "lab-s1.txt", NULL, NULL);
	L.sw[3].reachable = true;
	g4 = topo_graph_build(&L.in, g2, &ev);
	T_EQ(count_ev(&ev, TOPO_EV_NODE_REACHABLE, "l2"), 1);
	T_EQ(ev.n, 1);
	check_lab_graph(g4);
	topo_events_free(&ev);
	topo_graph_free(g1);
	topo_graph_free(g2);
	topo_graph_free(g3);
	topo_graph_free(g4);
	lab_free(&L);
}

static void
test_speed_change(void)
{
	struct lab L;
	struct topo_events ev = { 0 };
	struct topo_graph *g1, *g2;

	lab_load(&L);
	g1 = topo_graph_build(&L.in, NULL, NULL);
	lab_swap(&L, "l3", "lab-l3.txt",
	    ".1.3.6.1.2.1.31.1.1.1.15.4 = Gauge32: 10000",
	    ".1.3.6.1.2.1.31.1.1.1.15.4 = Gauge32: 25000");
	g2 = topo_graph_build(&L.in, g1, &ev);
	T_EQ(g2->version, g1->version + 1);
	T_EQ(ev.n, 1);
	T_EQ(count_ev(&ev, TOPO_EV_PORT_SPEED, "l3"), 1);
	if (ev.n == 1) {
		T_STREQ(ev.ev[0].port, "swp3");
		T_EQ(ev.ev[0].ifindex, 4);
		T_EQ(ev.ev[0].old_val, 10000);
		T_EQ(ev.ev[0].new_val, 25000);
	}
	T_EQ(port_of(g2, "l3", "swp3")->speed_mbps, 25000);
	topo_events_free(&ev);
	topo_graph_free(g1);
	topo_graph_free(g2);
	lab_free(&L);
}

/* A switch disappears from the input: node and its links removed. */
static void
test_node_removed(void)
{
	struct lab L;
	struct topo_events ev = { 0 };
	struct topo_graph *g1, *g2;

	lab_load(&L);
	g1 = topo_graph_build(&L.in, NULL, NULL);
	L.in.n_switches = 5; /* without l4 */
	g2 = topo_graph_build(&L.in, g1, &ev);
	T_EQ(g2->n_nodes, 5);
	T_EQ(g2->n_links, 6);
	T_EQ(count_ev(&ev, TOPO_EV_NODE_REMOVED, "l4"), 1);
	T_EQ(count_ev(&ev, TOPO_EV_LINK_REMOVED, NULL), 2);
	/* the spines now see l4 as an unpolled neighbour: an edge port
	 * that names it */
	T_OK(port_of(g2, "s1", "swp4")->edge);
	T_STREQ(port_of(g2, "s1", "swp4")->peer, "l4");
	T_EQ(count_ev(&ev, TOPO_EV_PORT_CHANGED, NULL), 2);
	T_EQ(g2->version, 2);
	topo_events_free(&ev);
	topo_graph_free(g1);
	topo_graph_free(g2);
	lab_free(&L);
}

static void
test_role_override(void)
{
	struct lab L;
	struct topo_events ev = { 0 };
	struct topo_graph *g1, *g2;
	struct topo_role_cfg rc[2];

	lab_load(&L);
	g1 = topo_graph_build(&L.in, NULL, NULL);
	memset(rc, 0, sizeof(rc));
	snprintf(rc[0].name, sizeof(rc[0].name), "l1");
	rc[0].role = TOPO_ROLE_OTHER;
	snprintf(rc[1].name, sizeof(rc[1].name), "nosuch");
	rc[1].role = TOPO_ROLE_SPINE;
	L.in.roles = rc;
	L.in.n_roles = 2;
	g2 = topo_graph_build(&L.in, g1, &ev);
	T_EQ(topo_node_by_name(g2, "l1")->role, TOPO_ROLE_OTHER);
	T_EQ(topo_node_by_name(g2, "l1")->role_source, TOPO_SRC_CONFIG);
	T_EQ(topo_node_by_name(g2, "l2")->role_source, TOPO_SRC_LLDP);
	T_EQ(ev.n, 1);
	T_EQ(count_ev(&ev, TOPO_EV_ROLE_CHANGED, "l1"), 1);
	T_STREQ(ev.n ? ev.ev[0].old_str : NULL, "leaf");
	T_STREQ(ev.n ? ev.ev[0].new_str : NULL, "other");
	T_EQ(g2->version, 2);
	topo_events_free(&ev);
	topo_graph_free(g1);
	topo_graph_free(g2);
	lab_free(&L);
}

/* The input order does not matter. */
static void
test_deterministic(void)
{
	struct lab L;
	struct topo_events ev = { 0 };
	struct topo_graph *g1, *g2;
	struct topo_switch rev[6];

	lab_load(&L);
	g1 = topo_graph_build(&L.in, NULL, NULL);
	for (size_t i = 0; i < 6; i++)
		rev[i] = L.sw[5 - i];
	L.in.switches = rev;
	g2 = topo_graph_build(&L.in, g1, &ev);
	T_EQ(ev.n, 0);
	T_EQ(g2->n_ports, g1->n_ports);
	for (size_t i = 0; i < g1->n_links && i < g2->n_links; i++) {
		T_STREQ(g1->links[i].name, g2->links[i].name);
		T_EQ(g1->links[i].port1, g2->links[i].port1);
	}
	topo_events_free(&ev);
	topo_graph_free(g1);
	topo_graph_free(g2);
	lab_free(&L);
}

/*
 * acc1 and dist1 (pitfall walks): bridge-port numbering, abbreviated and
 * MAC port ids on the remote side, a FQDN against a short sysName.
 */
static void
test_pitfall_graph(void)
{
	struct sw_facts f[2];
	struct topo_switch sw[2];
	struct topo_input in;
	struct topo_graph *g;
	const struct topo_port *p;
	const struct topo_link *l;
	struct topo_hit h;

	memset(sw, 0, sizeof(sw));
	memset(&in, 0, sizeof(in));
	facts_file("pitfall-acc1.txt", &f[0], NULL, NULL);
	facts_file("pitfall-dist1.txt", &f[1], NULL, NULL);
	sw[0].addr = ip("10.0.0.1");
	sw[1].addr = ip("10.0.0.2");
	sw[0].reachable = sw[1].reachable = true;
	sw[0].facts = &f[0];
	sw[1].facts = &f[1];
	in.switches = sw;
	in.n_switches = 2;
	g = topo_graph_build(&in, NULL, NULL);
	T_EQ(g->n_nodes, 2);
	T_EQ(g->n_links, 2);
	/* LLDP port 4 = bridge port 4 = Gi1/0/4 (10104); dist1 calls it
	 * GigabitEthernet1/0/4, acc1 calls dist1's port Te1/1/1 */
	p = port_of(g, "acc1", "Gi1/0/4");
	T_OK(p != NULL && p->ifindex == 10104 && p->link != TOPO_NONE);
	l = p && p->link != TOPO_NONE ? &g->links[p->link] : NULL;
	T_STREQ(
	    l ? l->name : NULL, "acc1:Gi1/0/4-dist1:TenGigabitEthernet1/1/1");
	T_OK(l && !l->one_sided && l->status == TOPO_LINK_UP);
	T_EQ(l ? g->ports[l->port2].ifindex : 0, 49);
	/* bridge port 9 = Te1/1/1 (10201) to dist1's port with a MAC id */
	p = port_of(g, "acc1", "Te1/1/1");
	T_OK(p != NULL && p->ifindex == 10201 && p->link != TOPO_NONE);
	l = p && p->link != TOPO_NONE ? &g->links[p->link] : NULL;
	T_EQ(l ? g->ports[l->port2].ifindex : 0, 50);
	T_OK(l && !l->one_sided);
	/* hosts */
	T_STREQ(port_of(g, "acc1", "Gi1/0/1")->peer, "srv1");
	T_OK(port_of(g, "acc1", "Gi1/0/1")->edge);
	T_STREQ(port_of(g, "acc1", "Gi1/0/5")->peer, "srv5");
	T_STREQ(port_of(g, "acc1", "Gi1/0/6")->peer, "srv6");
	/* no sysName (wrong type): the chassis id names the host */
	T_STREQ(port_of(g, "acc1", "Gi1/0/7")->peer, "00:50:56:00:00:07");
	/* ifName of the wrong type: ifDescr names the port */
	T_OK(port_of(g, "acc1", "GigabitEthernet1/0/8") != NULL);
	T_EQ(g->stats.unmapped, 1);
	T_EQ(topo_node_by_name(g, "acc1")->n_hosts, 5);
	T_EQ(topo_node_by_name(g, "acc1")->role, TOPO_ROLE_LEAF);
	/* one neighbour switch only: not a spine */
	T_EQ(topo_node_by_name(g, "dist1")->role, TOPO_ROLE_OTHER);
	/* dist1 answers to the address it reports in LLDP too */
	T_EQ(topo_lookup(g, &sw[1].addr, 49, &h), 1);
	T_STREQ(h.peer_port ? h.peer_port->name : NULL, "Gi1/0/4");
	T_STREQ(topo_node_by_name(g, "dist1")->chassis, "00:1a:2b:99:00:00");
	topo_graph_free(g);

	/* without dist1's facts: acc1 sees "dist1.example.net", a switch
	 * that is not polled: edge ports that name it */
	in.n_switches = 1;
	g = topo_graph_build(&in, NULL, NULL);
	T_EQ(g->n_links, 0);
	p = port_of(g, "acc1", "Gi1/0/4");
	T_OK(p && p->edge);
	T_STREQ(p ? p->peer : NULL, "dist1.example.net");
	topo_graph_free(g);
	lldp_facts_free(&f[0]);
	lldp_facts_free(&f[1]);
}

/* ---- generated fabrics --------------------------------------------- */

/*
 * A switch as walk text: sysName, swpK on ifIndex K+1, and per port a
 * neighbour "name:port" (a switch: caps router, chassis id = its name
 * as subtype local) or "name" (a host: station only).
 */
struct gen_port {
	const char *peer; /* NULL: nothing on it */
	int oper;         /* 0: up */
};

static void
gen(struct sw_facts *f, const char *name, const struct gen_port *ports,
    size_t n)
{
	char *t = xmalloc(65536);
	size_t o = 0;

#define P(...) o += (size_t)snprintf(t + o, 65536 - o, __VA_ARGS__)
	P(".1.3.6.1.2.1.1.5.0 = STRING: \"%s\"\n", name);
	P(".1.0.8802.1.1.2.1.3.1.0 = INTEGER: 7\n");
	P(".1.0.8802.1.1.2.1.3.2.0 = STRING: \"%s\"\n", name);
	for (size_t i = 0; i < n; i++) {
		char peer[64], *colon;

		P(".1.3.6.1.2.1.31.1.1.1.1.%zu = STRING: \"swp%zu\"\n", i + 2,
		    i + 1);
		P(".1.3.6.1.2.1.31.1.1.1.15.%zu = Gauge32: 10000\n", i + 2);
		P(".1.3.6.1.2.1.2.2.1.8.%zu = INTEGER: %d\n", i + 2,
		    ports[i].oper ? ports[i].oper : 1);
		P(".1.0.8802.1.1.2.1.3.7.1.2.%zu = INTEGER: 5\n", i + 2);
		P(".1.0.8802.1.1.2.1.3.7.1.3.%zu = STRING: \"swp%zu\"\n", i + 2,
		    i + 1);
		if (ports[i].peer == NULL)
			continue;
		snprintf(peer, sizeof(peer), "%s", ports[i].peer);
		colon = strchr(peer, ':');
		if (colon != NULL)
			*colon++ = '\0';
		P(".1.0.8802.1.1.2.1.4.1.1.4.0.%zu.%zu = INTEGER: 7\n", i + 2,
		    i + 1);
		P(".1.0.8802.1.1.2.1.4.1.1.5.0.%zu.%zu = STRING: \"%s\"\n",
		    i + 2, i + 1, peer);
		P(".1.0.8802.1.1.2.1.4.1.1.6.0.%zu.%zu = INTEGER: 5\n", i + 2,
		    i + 1);
		P(".1.0.8802.1.1.2.1.4.1.1.7.0.%zu.%zu = STRING: \"%s\"\n",
		    i + 2, i + 1, colon ? colon : "eth0");
		P(".1.0.8802.1.1.2.1.4.1.1.9.0.%zu.%zu = STRING: \"%s\"\n",
		    i + 2, i + 1, peer);
		P(".1.0.8802.1.1.2.1.4.1.1.12.0.%zu.%zu = Hex-STRING: %s\n",
		    i + 2, i + 1, colon ? "08" : "01");
	}
#undef P
	facts_text(t, f);
	free(t);
}

struct fab {
	struct sw_facts f[8];
	struct topo_switch sw[8];
	struct topo_input in;
	size_t n;
};

static void
fab_add(struct fab *F, const char *name, const struct gen_port *ports, size_t n)
{
	char a[32];

	gen(&F->f[F->n], name, ports, n);
	snprintf(a, sizeof(a), "10.0.0.%zu", F->n + 1);
	F->sw[F->n].addr = ip(a);
	F->sw[F->n].reachable = true;
	F->sw[F->n].facts = &F->f[F->n];
	F->n++;
	F->in.switches = F->sw;
	F->in.n_switches = F->n;
}

static void
fab_free(struct fab *F)
{
	for (size_t i = 0; i < F->n; i++)
		lldp_facts_free(&F->f[i]);
}

static enum topo_role
role(const struct topo_graph *g, const char *name)
{
	const struct topo_node *n = topo_node_by_name(g, name);

	return n ? n->role : (enum topo_role) - 1;
}

/* A loop A-B-C-A among would-be spines: roles terminate, as other. */
static void
test_roles_loop(void)
{
	struct fab F;
	struct topo_graph *g;
	const struct gen_port a[] = { { "B:swp1", 0 }, { "C:swp2", 0 },
		{ "L1:swp1", 0 } };
	const struct gen_port b[] = { { "A:swp1", 0 }, { "C:swp1", 0 },
		{ "L2:swp1", 0 } };
	const struct gen_port c[] = { { "B:swp2", 0 }, { "A:swp2", 0 } };
	const struct gen_port l1[] = { { "A:swp3", 0 }, { "h1", 0 } };
	const struct gen_port l2[] = { { "B:swp3", 0 }, { "h2", 0 } };

	memset(&F, 0, sizeof(F));
	fab_add(&F, "A", a, 3);
	fab_add(&F, "B", b, 3);
	fab_add(&F, "C", c, 2);
	g = topo_graph_build(&F.in, NULL, NULL);
	T_EQ(g->n_links, 3);
	T_EQ(role(g, "A"), TOPO_ROLE_OTHER);
	T_EQ(role(g, "B"), TOPO_ROLE_OTHER);
	T_EQ(role(g, "C"), TOPO_ROLE_OTHER);
	topo_graph_free(g);
	/* with leaves under them: the leaves are leaves, the loop is not
	 * made of spines */
	fab_add(&F, "L1", l1, 2);
	fab_add(&F, "L2", l2, 2);
	g = topo_graph_build(&F.in, NULL, NULL);
	T_EQ(g->n_links, 5);
	T_EQ(role(g, "L1"), TOPO_ROLE_LEAF);
	T_EQ(role(g, "L2"), TOPO_ROLE_LEAF);
	T_EQ(role(g, "A"), TOPO_ROLE_OTHER);
	T_EQ(role(g, "B"), TOPO_ROLE_OTHER);
	T_EQ(role(g, "C"), TOPO_ROLE_OTHER);
	topo_graph_free(g);
	fab_free(&F);
}

/*
 * A leaf whose hosts run no LLDP is still a leaf (bipartite rule), and
 * a fabric with no host evidence at all: the smaller side is spines.
 */
static void
test_roles_bipartite(void)
{
	struct fab F;
	struct topo_graph *g;
	const struct gen_port s1[] = { { "L1:swp1", 0 }, { "L2:swp1", 0 },
		{ "L3:swp1", 0 } };
	const struct gen_port s2[] = { { "L1:swp2", 0 }, { "L2:swp2", 0 },
		{ "L3:swp2", 0 } };
	const struct gen_port l1[] = { { "S1:swp1", 0 }, { "S2:swp1", 0 },
		{ "h1", 0 } };
	const struct gen_port l2[] = { { "S1:swp2", 0 }, { "S2:swp2", 0 },
		{ NULL, 0 } };
	const struct gen_port l3[] = { { "S1:swp3", 0 }, { "S2:swp3", 0 },
		{ "h3", 0 } };
	const struct gen_port l3q[] = { { "S1:swp3", 0 }, { "S2:swp3", 0 },
		{ NULL, 0 } };
	const struct gen_port l1q[] = { { "S1:swp1", 0 }, { "S2:swp1", 0 },
		{ NULL, 0 } };

	memset(&F, 0, sizeof(F));
	fab_add(&F, "S1", s1, 3);
	fab_add(&F, "S2", s2, 3);
	fab_add(&F, "L1", l1, 3);
	fab_add(&F, "L2", l2, 3);
	fab_add(&F, "L3", l3, 3);
	g = topo_graph_build(&F.in, NULL, NULL);
	T_EQ(g->n_links, 6);
	T_EQ(role(g, "S1"), TOPO_ROLE_SPINE);
	T_EQ(role(g, "S2"), TOPO_ROLE_SPINE);
	T_EQ(role(g, "L1"), TOPO_ROLE_LEAF);
	T_EQ(role(g, "L2"), TOPO_ROLE_LEAF); /* no host seen */
	T_EQ(role(g, "L3"), TOPO_ROLE_LEAF);
	topo_graph_free(g);
	/* no host anywhere: 2 against 3 */
	fab_free(&F);
	memset(&F, 0, sizeof(F));
	fab_add(&F, "S1", s1, 3);
	fab_add(&F, "S2", s2, 3);
	fab_add(&F, "L1", l1q, 3);
	fab_add(&F, "L2", l2, 3);
	fab_add(&F, "L3", l3q, 3);
	g = topo_graph_build(&F.in, NULL, NULL);
	T_EQ(role(g, "S1"), TOPO_ROLE_SPINE);
	T_EQ(role(g, "L2"), TOPO_ROLE_LEAF);
	topo_graph_free(g);
	/* 2 against 2, no host: no clue */
	F.in.n_switches = 4;
	F.f[3].n_nbrs = 0; /* L2 out; S1/S2 see it as an unpolled switch */
	g = topo_graph_build(&F.in, NULL, NULL);
	T_EQ(role(g, "S1"), TOPO_ROLE_OTHER);
	T_EQ(role(g, "L1"), TOPO_ROLE_OTHER);
	topo_graph_free(g);
	fab_free(&F);
}

/* A link seen from one end only; a port claimed by two links. */
static void
test_one_sided_and_conflicts(void)
{
	struct fab F;
	struct topo_graph *g;
	const struct topo_link *l;
	const struct gen_port a[] = { { "B:swp1", 0 }, { "B:swp1", 0 },
		{ "A:swp1", 0 }, { "C:swp9", 0 } };
	const struct gen_port b[] = { { NULL, 0 } };
	const struct gen_port c[] = { { "nobody", 0 } };

	memset(&F, 0, sizeof(F));
	fab_add(&F, "A", a, 4);
	fab_add(&F, "B", b, 1);
	fab_add(&F, "C", c, 1);
	g = topo_graph_build(&F.in, NULL, NULL);
	T_EQ(g->n_links, 1);
	l = topo_link_by_name(g, "A:swp1-B:swp1");
	T_OK(l != NULL && l->one_sided);
	/* A swp2 also claims B swp1 */
	T_EQ(g->stats.link_conflicts, 1);
	T_OK(!port_of(g, "A", "swp2")->edge);
	T_STREQ(port_of(g, "A", "swp2")->peer, "B");
	/* A sees itself */
	T_EQ(g->stats.self_loops, 1);
	/* C has no swp9 */
	T_EQ(g->stats.peer_port_unknown, 1);
	T_OK(!port_of(g, "A", "swp4")->edge);
	T_EQ(port_of(g, "A", "swp4")->link, TOPO_NONE);
	topo_graph_free(g);
	fab_free(&F);
}

/* Two switches with one sysName: the second is renamed name@addr. */
static void
test_dup_names(void)
{
	struct lab L;
	struct topo_graph *g;
	struct topo_switch sw[7];
	struct topo_hit h;
	struct sflow_addr a = ip("10.99.0.99");

	lab_load(&L);
	memcpy(sw, L.sw, sizeof(L.sw));
	sw[6] = L.sw[2]; /* l1 again */
	sw[6].addr = a;
	L.in.switches = sw;
	L.in.n_switches = 7;
	g = topo_graph_build(&L.in, NULL, NULL);
	T_EQ(g->n_nodes, 7);
	T_EQ(g->stats.dup_names, 1);
	T_OK(topo_node_by_name(g, "l1@10.99.0.99") != NULL);
	T_EQ(topo_lookup(g, &a, 2, &h), 1);
	T_STREQ(h.node ? h.node->name : NULL, "l1@10.99.0.99");
	a = ip("10.99.0.21");
	T_EQ(topo_lookup(g, &a, 2, &h), 1);
	T_STREQ(h.node ? h.node->name : NULL, "l1");
	/* the spines still link to one of them; nothing crashed */
	T_OK(g->n_links >= 8);
	topo_graph_free(g);
	lab_free(&L);
}

/* ---- import -------------------------------------------------------- */

struct imp {
	struct topo_import im;
	struct topo_import_node nodes[16];
	struct topo_import_port ports[16][8];
	struct topo_import_link links[16];
};

static struct topo_import_node *
imp_node(struct imp *I, const char *name, const char *agent)
{
	struct topo_import_node *n = &I->nodes[I->im.n_nodes];

	memset(n, 0, sizeof(*n));
	snprintf(n->name, sizeof(n->name), "%s", name);
	if (agent != NULL)
		n->agent = ip(agent);
	n->ports = I->ports[I->im.n_nodes];
	I->im.nodes = I->nodes;
	I->im.n_nodes++;
	return n;
}

static void
imp_port(struct topo_import_node *n, const char *name, uint32_t ifindex)
{
	struct topo_import_port *p = &n->ports[n->n_ports++];

	snprintf(p->name, sizeof(p->name), "%s", name);
	p->ifindex = ifindex;
}

static void
imp_link(struct imp *I, const char *name, const char *n1, const char *p1,
    const char *n2, const char *p2)
{
	struct topo_import_link *l = &I->links[I->im.n_links++];

	memset(l, 0, sizeof(*l));
	snprintf(l->name, sizeof(l->name), "%s", name);
	snprintf(l->node1, sizeof(l->node1), "%s", n1);
	snprintf(l->port1, sizeof(l->port1), "%s", p1);
	snprintf(l->node2, sizeof(l->node2), "%s", n2);
	snprintf(l->port2, sizeof(l->port2), "%s", p2);
	I->im.links = I->links;
}

/* The lab as an operator would import it (lab-info.txt). */
static void
imp_lab(struct imp *I)
{
	memset(I, 0, sizeof(*I));
	for (size_t s = 0; s < nitems(lab_sw); s++) {
		struct topo_import_node *n =
		    imp_node(I, lab_sw[s], info("switch.%s.mgmt", lab_sw[s]));
		char ports[128], *save = NULL, *port;

		snprintf(ports, sizeof(ports), "%s",
		    info("switch.%s.ports", lab_sw[s]));
		for (port = strtok_r(ports, " ", &save); port != NULL;
		     port = strtok_r(NULL, " ", &save)) {
			char peer[64], *colon;

			imp_port(n, port,
			    (uint32_t)atoi(
			        info("port.%s.%s.ifindex", lab_sw[s], port)));
			snprintf(peer, sizeof(peer), "%s",
			    info("port.%s.%s.peer", lab_sw[s], port));
			colon = strchr(peer, ':');
			if (lab_sw[s][0] != 's' || colon == NULL)
				continue;
			*colon = '\0';
			{
				char name[140];

				snprintf(name, sizeof(name), "%s-%s", peer,
				    lab_sw[s]);
				imp_link(
				    I, name, peer, colon + 1, lab_sw[s], port);
			}
		}
	}
}

/*
 * A fabric without SNMP: the import alone gives the same lookups as
 * discovery (node, port, edge, peer node and port; roles).
 */
static void
test_import_only(void)
{
	struct lab L;
	struct imp I;
	struct topo_input in;
	struct topo_graph *gd, *gi;
	struct topo_events ev = { 0 };

	lab_load(&L);
	imp_lab(&I);
	gd = topo_graph_build(&L.in, NULL, NULL);
	memset(&in, 0, sizeof(in));
	in.import = &I.im;
	gi = topo_graph_build(&in, NULL, &ev);
	T_EQ(gi->n_nodes, 6);
	T_EQ(gi->n_links, 8);
	T_EQ(gi->stats.import_conflicts + gi->stats.import_unresolved, 0);
	for (size_t s = 0; s < nitems(lab_sw); s++) {
		struct sflow_addr a = ip(info("switch.%s.mgmt", lab_sw[s]));
		const struct topo_node *n = topo_node_by_name(gi, lab_sw[s]);

		T_OK(n != NULL && n->source == TOPO_SRC_IMPORT && !n->polled &&
		    !n->reachable);
		T_EQ(n ? n->role : 9,
		    lab_sw[s][0] == 's' ? TOPO_ROLE_SPINE : TOPO_ROLE_LEAF);
		for (uint32_t ifx = 0; ifx < 8; ifx++) {
			struct topo_hit hd, hi;
			int rd = topo_lookup(gd, &a, ifx, &hd);
			int ri = topo_lookup(gi, &a, ifx, &hi);

			T_EQ(rd, ri);
			if (rd == 0)
				continue;
			T_STREQ(hd.node->name, hi.node->name);
			T_EQ(hd.node->role, hi.node->role);
			/* the import lists only the swp ports */
			if (hd.port == NULL || hi.port == NULL ||
			    strncmp(hd.port->name, "swp", 3) != 0)
				continue;
			T_STREQ(hd.port->name, hi.port->name);
			T_EQ(hd.port->edge, hi.port->edge);
			T_EQ(hd.link != NULL, hi.link != NULL);
			if (hd.link && hi.link) {
				T_STREQ(hd.peer_node->name, hi.peer_node->name);
				T_STREQ(hd.peer_port->name, hi.peer_port->name);
				T_EQ(hd.peer_port->ifindex,
				    hi.peer_port->ifindex);
				T_EQ(hi.link->source, TOPO_SRC_IMPORT);
				T_EQ(hi.link->status, TOPO_LINK_UNKNOWN);
			}
		}
	}
	T_OK(topo_link_by_name(gi, "l1-s1") != NULL);
	T_EQ(gi->version, 1);
	T_EQ(count_ev(&ev, TOPO_EV_LINK_ADDED, NULL), 8);
	topo_events_free(&ev);
	topo_graph_free(gd);
	topo_graph_free(gi);
	lab_free(&L);
}

/* Import and discovery together: the merge rules of graph.h. */
static void
test_import_merge(void)
{
	struct lab L;
	struct imp I;
	struct topo_graph *g, *g2;
	struct topo_import_node *n;
	const struct topo_link *l;
	const struct topo_port *p;
	struct topo_hit h;
	struct sflow_addr a;
	struct topo_events ev = { 0 };

	lab_load(&L);
	memset(&I, 0, sizeof(I));
	/* confirms a discovered link: it takes the imported name */
	n = imp_node(&I, "l1", NULL);
	imp_port(n, "swp1", 2);
	imp_port(n, "uplink-renamed", 3); /* ifIndex 3 is swp2: conflict */
	imp_port(n, "swp9", 10);          /* new: added */
	n = imp_node(&I, "s1", NULL);
	imp_port(n, "swp1", 2);
	imp_link(&I, "L1-S1", "l1", "swp1", "s1", "swp1");
	/* contradicts a discovered link: dropped */
	imp_link(&I, "bogus", "l1", "swp1", "s2", "swp3");
	/* an imported node by agent address, not by name: l3 */
	n = imp_node(&I, "leaf3", "10.99.0.23");
	imp_port(n, "p3", 4);
	/* a firewall SNMP does not reach, cabled to l2's host port */
	n = imp_node(&I, "fw1", "10.99.0.50");
	imp_port(n, "eth1", 7);
	imp_link(&I, "fw1-l2", "fw1", "eth1", "l2", "swp3");
	/* unknown ends */
	imp_link(&I, "ghost", "nosuch", "eth0", "l1", "swp9");
	imp_link(&I, "ghost2", "fw1", "eth9", "l1", "swp9");
	/* l4 gets a second agent address */
	n = imp_node(&I, "l4", "10.99.1.24");
	L.in.import = &I.im;
	g = topo_graph_build(&L.in, NULL, NULL);

	T_EQ(g->n_nodes, 7);
	T_EQ(g->n_links, 9);
	/* uplink-renamed (ifIndex 3 is swp2), leaf3's "p3" (ifIndex 4 is
	 * swp3), the bogus link */
	T_EQ(g->stats.import_conflicts, 3);
	T_EQ(g->stats.import_unresolved, 2);
	l = topo_link_by_name(g, "L1-S1");
	T_OK(l != NULL && l->source == TOPO_SRC_LLDP &&
	    l->status == TOPO_LINK_UP && !l->one_sided);
	T_OK(topo_link_by_name(g, "l1:swp1-s1:swp1") == NULL);
	T_OK(topo_link_by_name(g, "bogus") == NULL);
	/* discovery wins on l1's ports; swp9 is added from the import */
	T_STREQ(port_of(g, "l1", "swp2")->name, "swp2");
	T_EQ(port_of(g, "l1", "swp2")->speed_mbps, 10000);
	p = port_of(g, "l1", "swp9");
	T_OK(p != NULL && p->source == TOPO_SRC_IMPORT && p->ifindex == 10 &&
	    p->oper == 0 && p->edge);
	/* leaf3 is l3 */
	a = ip("10.99.0.23");
	T_EQ(topo_lookup(g, &a, 4, &h), 1);
	T_STREQ(h.node ? h.node->name : NULL, "l3");
	T_STREQ(h.port ? h.port->name : NULL, "swp3");
	/* fw1: imported node and link, found by its agent */
	a = ip("10.99.0.50");
	T_EQ(topo_lookup(g, &a, 7, &h), 1);
	T_STREQ(h.node ? h.node->name : NULL, "fw1");
	T_EQ(h.node ? h.node->source : 9, TOPO_SRC_IMPORT);
	T_STREQ(h.link ? h.link->name : NULL, "fw1-l2");
	T_EQ(h.link ? h.link->source : 9, TOPO_SRC_IMPORT);
	T_STREQ(h.peer_node ? h.peer_node->name : NULL, "l2");
	T_STREQ(h.peer_port ? h.peer_port->name : NULL, "swp3");
	T_EQ(h.link ? h.link->status : 9, TOPO_LINK_UP); /* l2 swp3 is up */
	T_OK(!port_of(g, "l2", "swp3")->edge);
	/* roles: l2 lost its host but stays a leaf; fw1 is other */
	T_EQ(role(g, "l2"), TOPO_ROLE_LEAF);
	T_EQ(role(g, "fw1"), TOPO_ROLE_OTHER);
	T_EQ(role(g, "s1"), TOPO_ROLE_SPINE);
	/* l4 answers on both addresses */
	a = ip("10.99.1.24");
	T_EQ(topo_lookup(g, &a, 2, &h), 1);
	T_STREQ(h.node ? h.node->name : NULL, "l4");
	/* its LLDP address is its agent: the imported one is the only
	 * other */
	T_EQ(topo_node_by_name(g, "l4")->n_addrs, 1);

	/* the import withdrawn: its links and nodes go, discovery stays */
	L.in.import = NULL;
	g2 = topo_graph_build(&L.in, g, &ev);
	check_lab_graph(g2);
	T_EQ(count_ev(&ev, TOPO_EV_NODE_REMOVED, "fw1"), 1);
	T_EQ(count_ev(&ev, TOPO_EV_LINK_REMOVED, "fw1-l2"), 1);
	T_EQ(count_ev(&ev, TOPO_EV_LINK_REMOVED, "L1-S1"), 1);
	T_EQ(count_ev(&ev, TOPO_EV_LINK_ADDED, "l1:swp1-s1:swp1"), 1);
	T_EQ(count_ev(&ev, TOPO_EV_PORT_REMOVED, "l1"), 1);
	topo_events_free(&ev);
	topo_graph_free(g2);
	topo_graph_free(g);
	lab_free(&L);
}

/* Events beyond the per-build bound are counted, not stored. */
static void
test_events_bound(void)
{
	struct imp I;
	struct topo_input in;
	struct topo_graph *g;
	struct topo_events ev = { 0 };
	static struct topo_import_node nodes[TOPO_EVENTS_MAX + 10];

	memset(&I, 0, sizeof(I));
	memset(&in, 0, sizeof(in));
	for (size_t i = 0; i < nitems(nodes); i++)
		snprintf(nodes[i].name, sizeof(nodes[i].name), "n%zu", i);
	I.im.nodes = nodes;
	I.im.n_nodes = nitems(nodes);
	in.import = &I.im;
	g = topo_graph_build(&in, NULL, &ev);
	T_EQ(g->n_nodes, nitems(nodes));
	T_EQ(ev.n, TOPO_EVENTS_MAX);
	T_EQ(ev.dropped, 10);
	T_EQ(g->version, 1);
	topo_events_free(&ev);
	topo_graph_free(g);
}

static void
test_names(void)
{
	enum topo_role r;

	T_STREQ(topo_role_name(TOPO_ROLE_SPINE), "spine");
	T_STREQ(topo_source_name(TOPO_SRC_CONFIG), "config");
	T_STREQ(topo_link_status_name(TOPO_LINK_UNKNOWN), "unknown");
	T_STREQ(topo_event_type_name(TOPO_EV_LINK_DOWN), "link_down");
	T_STREQ(topo_event_type_name((enum topo_event_type)999), "?");
	T_EQ(topo_role_parse("leaf", &r), 0);
	T_EQ(r, TOPO_ROLE_LEAF);
	T_EQ(topo_role_parse("Leaf", &r), -1);
}

/* The input fingerprint of the lab, its facts' fingerprints computed. */
static uint64_t
lab_sig(const struct lab *L, uint64_t import_sig, uint64_t key)
{
	uint64_t sig[6];

	for (size_t i = 0; i < L->in.n_switches; i++)
		sig[i] = topo_facts_sig(L->sw[i].facts, key);
	return topo_input_sig(&L->in, sig, import_sig, key);
}

/*
 * The fingerprints that decide whether topo.c builds a graph: the same
 * for inputs that give the same graph (the same walks parsed again, a
 * new timeMark or remIndex, a newer poll), different as soon as a fact
 * the graph reads, a switch's reachability, the import or the roles
 * change; and whenever they stay the same, a build with the last graph
 * as `prev` has no event and keeps the version.
 */
static void
test_input_sig(void)
{
	const uint64_t key = 0x0123456789abcdefull;
	struct lab L;
	struct imp I, J;
	struct topo_events ev = { 0 };
	struct topo_graph *g1, *g2;
	struct topo_role_cfg role = { "l1", TOPO_ROLE_SPINE };
	uint64_t s0, s1, f0, imp;

	lab_load(&L);
	s0 = lab_sig(&L, 0, key);
	T_EQ(lab_sig(&L, 0, key), s0);
	T_OK(lab_sig(&L, 0, key + 1) != s0);
	g1 = topo_graph_build(&L.in, NULL, NULL);

	/* parsed again (other buffers), polled later: the same */
	f0 = topo_facts_sig(&L.f[4], key);
	lab_swap(&L, "l3", "lab-l3.txt", NULL, NULL);
	T_EQ(topo_facts_sig(&L.f[4], key), f0);
	L.sw[4].last_poll_ms = 5000;
	T_EQ(lab_sig(&L, 0, key), s0);

	/* LLDP timeMarks and remIndexes moved on: the same */
	lab_swap(&L, "l1", "lab-l1-relink.txt", NULL, NULL);
	lab_swap(&L, "s1", "lab-s1-relink.txt", NULL, NULL);
	T_EQ(lab_sig(&L, 0, key), s0);
	g2 = topo_graph_build(&L.in, g1, &ev);
	T_EQ(ev.n, 0);
	T_EQ(g2->version, g1->version);
	topo_graph_free(g2);

	/* an interface's ifOperStatus: another graph */
	lab_swap(&L, "l3", "lab-l3.txt", ".1.3.6.1.2.1.2.2.1.8.3 = INTEGER: 1",
	    ".1.3.6.1.2.1.2.2.1.8.3 = INTEGER: 7");
	T_OK(topo_facts_sig(&L.f[4], key) != f0);
	s1 = lab_sig(&L, 0, key);
	T_OK(s1 != s0);
	g2 = topo_graph_build(&L.in, g1, &ev);
	T_EQ(g2->version, g1->version + 1);
	topo_graph_free(g2);
	topo_events_free(&ev);
	lab_swap(&L, "l3", "lab-l3.txt", NULL, NULL);
	T_EQ(lab_sig(&L, 0, key), s0);

	/* a neighbour's port description, its capabilities */
	T_OK(L.f[4].n_nbrs > 0);
	snprintf(L.f[4].nbrs[0].port_desc, sizeof(L.f[4].nbrs[0].port_desc),
	    "%s", "other");
	T_OK(topo_facts_sig(&L.f[4], key) != f0);
	lab_swap(&L, "l3", "lab-l3.txt", NULL, NULL);
	L.f[4].nbrs[0].caps ^= LLDP_CAP_ROUTER;
	T_OK(topo_facts_sig(&L.f[4], key) != f0);
	lab_swap(&L, "l3", "lab-l3.txt", NULL, NULL);

	/* reachability */
	L.sw[2].reachable = false;
	T_OK(lab_sig(&L, 0, key) != s0);
	L.sw[2].reachable = true;
	T_EQ(lab_sig(&L, 0, key), s0);

	/* roles */
	L.in.roles = &role;
	L.in.n_roles = 1;
	T_OK(lab_sig(&L, 0, key) != s0);
	role.role = TOPO_ROLE_LEAF;
	T_OK(lab_sig(&L, 0, key) != s0);
	L.in.roles = NULL;
	L.in.n_roles = 0;

	/* the import: by content, not by address */
	T_EQ(topo_import_sig(NULL, key), 0);
	imp_lab(&I);
	imp_lab(&J);
	imp = topo_import_sig(&I.im, key);
	T_OK(imp != 0);
	T_EQ(topo_import_sig(&J.im, key), imp);
	L.in.import = &I.im;
	T_OK(lab_sig(&L, imp, key) != s0);
	snprintf(J.links[0].name, sizeof(J.links[0].name), "%s", "renamed");
	T_OK(topo_import_sig(&J.im, key) != imp);
	imp_lab(&J);
	J.ports[1][0].ifindex++;
	T_OK(topo_import_sig(&J.im, key) != imp);
	L.in.import = NULL;

	/* a switch whose facts went (never reached: not a node) */
	T_EQ(lab_sig(&L, 0, key), s0);
	{
		uint64_t sig[6];

		for (size_t i = 0; i < 6; i++)
			sig[i] = topo_facts_sig(&L.f[i], key);
		L.sw[5].facts = NULL;
		T_OK(topo_input_sig(&L.in, sig, 0, key) != s0);
		L.sw[5].facts = &L.f[5];
		T_EQ(topo_input_sig(&L.in, sig, 0, key), s0);
	}
	topo_graph_free(g1);
	lab_free(&L);
}

/* text == the jansson tree, parsed back; shows the first difference */
static void
check_text(char *text, json_t *ref)
{
	json_error_t err;
	json_t *got = json_loads(text, 0, &err);

	T_OK(got != NULL);
	if (got == NULL)
		printf("#   %s at %d: %.80s\n", err.text, err.position,
		    text + (err.position > 20 ? err.position - 20 : 0));
	T_OK(got != NULL && json_equal(got, ref));
	json_decref(got);
	json_decref(ref);
	free(text);
}

static void
check_snap_text(const struct topo_snap *ts)
{
	json_t *o;

	check_text(graph_text_v1(ts, false), graph_json_v1(ts));
	check_text(graph_text_sflowrt(ts), graph_json_sflowrt(ts));
	o = graph_json_v1(ts);
	json_object_set_new(o, "sflowrt", graph_json_sflowrt(ts));
	check_text(graph_text_v1(ts, true), o);
}

/*
 * graph_text_v1/sflowrt write what graph_json_v1/sflowrt build, without
 * the tree: on the lab (hosts, edge ports, links), with targets, more
 * events than are listed, poll times from the snapshot or the graph, and
 * an imported fabric whose names need escaping.
 */
static void
test_text(void)
{
	struct lab L;
	struct imp I;
	struct topo_input in;
	struct topo_graph *g, *gi;
	struct topo_snap ts;
	struct topo_target_info tg[2];
	struct topo_event_info ev[120];
	uint64_t polls[6];

	lab_load(&L);
	g = topo_graph_build(&L.in, NULL, NULL);
	memset(&ts, 0, sizeof(ts));
	memset(tg, 0, sizeof(tg));
	memset(ev, 0, sizeof(ev));
	ts.graph = g;
	ts.version = g->version;
	ts.built_ms = 1795337730224ull;
	snprintf(tg[0].addr, sizeof(tg[0].addr), "10.99.0.21");
	snprintf(tg[0].why, sizeof(tg[0].why), "seed");
	snprintf(tg[0].state, sizeof(tg[0].state), "ok");
	snprintf(tg[0].cred, sizeof(tg[0].cred), "v2c");
	snprintf(tg[0].node, sizeof(tg[0].node), "l1");
	tg[0].last_ok_ms = tg[0].last_poll_ms = 1795337729826ull;
	tg[0].polls = 3;
	snprintf(tg[1].addr, sizeof(tg[1].addr), "[2001:db8::1]");
	snprintf(tg[1].why, sizeof(tg[1].why), "lldp");
	snprintf(tg[1].state, sizeof(tg[1].state), "never");
	tg[1].failures = 2;
	snprintf(tg[1].err, sizeof(tg[1].err), "timeout \"x\"\t\\ (v2c)");
	ts.targets = tg;
	ts.n_targets = 2;
	for (size_t i = 0; i < nitems(ev); i++) {
		ev[i].ts_ms = 1795337730000ull + i;
		ev[i].version = 1 + i / 10;
		snprintf(ev[i].type, sizeof(ev[i].type), "link_up");
		snprintf(ev[i].text, sizeof(ev[i].text), "link l%zu \u00e9", i);
	}
	ts.events = ev;
	ts.n_events = nitems(ev);
	ts.walks = 12;
	ts.bad_varbinds = 1;
	ts.import_ms = 1795337000000ull;
	ts.import.n_nodes = 3;
	check_snap_text(&ts);
	for (size_t i = 0; i < g->n_nodes && i < 6; i++)
		polls[i] = i == 2 ? 0 : 1795337731000ull + i;
	ts.node_last_poll_ms = polls;
	check_snap_text(&ts);

	/* names from an import: quotes, backslashes, control bytes */
	imp_lab(&I);
	snprintf(I.nodes[0].name, sizeof(I.nodes[0].name), "s1 \"a\\b\"\x01");
	snprintf(
	    I.links[0].node2, sizeof(I.links[0].node2), "%s", I.nodes[0].name);
	snprintf(I.ports[0][0].name, sizeof(I.ports[0][0].name), "swp1/\x7f");
	memset(&in, 0, sizeof(in));
	in.import = &I.im;
	gi = topo_graph_build(&in, NULL, NULL);
	T_OK(topo_node_by_name(gi, I.nodes[0].name) != NULL);
	memset(&ts, 0, sizeof(ts));
	ts.graph = gi;
	ts.version = gi->version;
	check_snap_text(&ts);
	topo_graph_free(gi);
	topo_graph_free(g);
	lab_free(&L);
}

int
main(void)
{
	t_suite = "graph";
	info_text = slurp(WALKS "lab-info.txt");
	T_RUN(test_lab_graph);
	T_RUN(test_lab_lookup);
	T_RUN(test_never_reached);
	T_RUN(test_timemark_no_bump);
	T_RUN(test_link_down_up);
	T_RUN(test_link_down_oper_only);
	T_RUN(test_unreachable);
	T_RUN(test_speed_change);
	T_RUN(test_node_removed);
	T_RUN(test_role_override);
	T_RUN(test_deterministic);
	T_RUN(test_pitfall_graph);
	T_RUN(test_roles_loop);
	T_RUN(test_roles_bipartite);
	T_RUN(test_one_sided_and_conflicts);
	T_RUN(test_dup_names);
	T_RUN(test_import_only);
	T_RUN(test_import_merge);
	T_RUN(test_events_bound);
	T_RUN(test_names);
	T_RUN(test_input_sig);
	T_RUN(test_text);
	free(info_text);
	return t_done();
}
