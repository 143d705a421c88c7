/*
 * fuzz_lldp.c: libFuzzer target for the topology model. The input is
 * recorded `snmpwalk -On` text: walk_parse_text → lldp_facts_from_walk →
 * topo_graph_build with that switch and a second copy of it under
 * another address, renamed after the first switch's first neighbour so
 * that the two link up; then a rebuild against the first graph with the
 * copy unreachable and a small import, lookups on every port, and the
 * invariants of lldp.h and graph.h checked (abort on violation).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "lldp.h"
#include "walk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint64_t sink;

#define CHECK(c)                                                               \
	do {                                                                   \
		if (!(c)) {                                                    \
			fprintf(                                               \
			    stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c);    \
			abort();                                               \
		}                                                              \
	} while (0)

static void
check_str(const char *s, size_t cap)
{
	CHECK(memchr(s, '\0', cap) != NULL);
	sink += strlen(s);
}

static void
check_facts(const struct sw_facts *f)
{
	check_str(f->sys_name, sizeof(f->sys_name));
	check_str(f->lldp_sys_name, sizeof(f->lldp_sys_name));
	CHECK(f->n_ifs <= LLDP_MAX_ROWS && f->n_ports <= LLDP_MAX_ROWS &&
	    f->n_nbrs <= LLDP_MAX_ROWS && f->n_mgmt <= LLDP_MAX_ROWS);
	for (size_t i = 0; i < f->n_ifs; i++) {
		CHECK(i == 0 || f->ifs[i - 1].ifindex < f->ifs[i].ifindex);
		CHECK(lldp_find_if(f, f->ifs[i].ifindex) == &f->ifs[i]);
		check_str(f->ifs[i].name, sizeof(f->ifs[i].name));
		check_str(f->ifs[i].alias, sizeof(f->ifs[i].alias));
	}
	for (size_t i = 0; i < f->n_ports; i++) {
		CHECK(i == 0 || f->ports[i - 1].num < f->ports[i].num);
		CHECK((f->ports[i].ifindex == 0) ==
		    (f->ports[i].how == LLDP_MAP_NONE));
	}
	for (size_t i = 0; i < f->n_nbrs; i++) {
		const struct lldp_neighbor *nb = &f->nbrs[i];

		CHECK(i == 0 || f->nbrs[i - 1].local_port < nb->local_port ||
		    (f->nbrs[i - 1].local_port == nb->local_port &&
		        f->nbrs[i - 1].rem_index < nb->rem_index));
		CHECK(nb->n_addrs <= LLDP_NBR_ADDRS);
		check_str(nb->sys_name, sizeof(nb->sys_name));
		check_str(nb->port_desc, sizeof(nb->port_desc));
		/* a neighbour's port, looked up on its own switch */
		sink += lldp_find_port(
		    f, nb->port_subtype, nb->port, nb->port_len, nb->port_desc);
	}
}

static void
check_graph(const struct topo_graph *g)
{
	struct topo_hit h;

	for (size_t i = 0; i < g->n_nodes; i++) {
		const struct topo_node *n = &g->nodes[i];

		CHECK(i == 0 || strcmp(g->nodes[i - 1].name, n->name) < 0);
		CHECK(topo_node_by_name(g, n->name) == n);
		if (n->polled)
			CHECK(topo_node_by_addr(g, &n->agent) == n);
		CHECK(n->first_port + n->n_ports <= g->n_ports);
		for (uint32_t k = 0; k < n->n_ports; k++)
			CHECK(g->ports[n->first_port + k].node == i);
	}
	for (size_t i = 0; i < g->n_ports; i++) {
		const struct topo_port *p = &g->ports[i];
		const struct topo_node *n = &g->nodes[p->node];

		CHECK(p->node < g->n_nodes);
		check_str(p->name, sizeof(p->name));
		check_str(p->peer, sizeof(p->peer));
		if (p->link != TOPO_NONE) {
			CHECK(p->link < g->n_links && !p->edge);
			CHECK(g->links[p->link].port1 == i ||
			    g->links[p->link].port2 == i);
		}
		if (p->ifindex != 0)
			CHECK(topo_port_by_ifindex(g, n, p->ifindex) == p);
		if (n->polled && p->ifindex != 0 &&
		    p->ifindex < SFLOW_IF_INTERNAL) {
			CHECK(topo_lookup(g, &n->agent, p->ifindex, &h) == 1);
			CHECK(h.node == n && h.port == p);
			CHECK((h.link != NULL) == (p->link != TOPO_NONE));
			if (h.link != NULL)
				CHECK(h.peer_port != p && h.peer_node != NULL);
		}
	}
	for (size_t i = 0; i < g->n_links; i++) {
		const struct topo_link *l = &g->links[i];

		CHECK(l->port1 < g->n_ports && l->port2 < g->n_ports);
		CHECK(g->ports[l->port1].link == i &&
		    g->ports[l->port2].link == i);
		CHECK(topo_link_by_name(g, l->name) == l);
		CHECK(i == 0 || strcmp(g->links[i - 1].name, l->name) < 0);
	}
	for (size_t i = 0; i < g->n_nodes; i++) {
		CHECK(topo_lookup(g, &g->nodes[i].agent, 0, &h) == 0);
		CHECK(topo_lookup(
		          g, &g->nodes[i].agent, SFLOW_IF_INTERNAL, &h) == 0);
	}
}

static struct sflow_addr
addr4(uint8_t last)
{
	struct sflow_addr a;

	memset(&a, 0, sizeof(a));
	a.family = 4;
	a.a[0] = 10;
	a.a[3] = last;
	return a;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sw_facts f, f2;
	struct topo_switch sw[2];
	struct topo_input in;
	struct topo_import im;
	struct topo_import_node inode;
	struct topo_import_port iport[2];
	struct topo_import_link ilink;
	struct topo_events ev = { 0 };
	struct topo_graph *g1, *g2;
	struct walk *w;
	char *text;

	if ((text = malloc(size + 1)) == NULL)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	w = walk_parse_text(text, "fuzz", NULL);
	free(text);
	lldp_facts_from_walk(w, &f);
	lldp_facts_from_walk(w, &f2);
	walk_free(w);
	check_facts(&f);

	/* The copy becomes the first neighbour, as far as names go. */
	if (f2.n_nbrs > 0) {
		const struct lldp_neighbor *nb = &f.nbrs[0];

		memcpy(f2.sys_name, nb->sys_name, sizeof(f2.sys_name));
		f2.chassis_subtype = nb->chassis_subtype;
		f2.chassis_len = nb->chassis_len;
		memcpy(f2.chassis, nb->chassis, nb->chassis_len);
	}
	memset(sw, 0, sizeof(sw));
	sw[0].addr = addr4(1);
	sw[0].reachable = true;
	sw[0].facts = &f;
	sw[1].addr = addr4(2);
	sw[1].reachable = true;
	sw[1].facts = &f2;
	memset(&in, 0, sizeof(in));
	in.switches = sw;
	in.n_switches = 2;
	g1 = topo_graph_build(&in, NULL, &ev);
	check_graph(g1);

	/* Again, the copy unreachable, with an import that names ports of
	 * the first switch and links one of them to a new node. */
	memset(&im, 0, sizeof(im));
	memset(&inode, 0, sizeof(inode));
	memset(iport, 0, sizeof(iport));
	memset(&ilink, 0, sizeof(ilink));
	snprintf(inode.name, sizeof(inode.name), "imported");
	inode.agent = addr4(3);
	snprintf(iport[0].name, sizeof(iport[0].name), "p1");
	iport[0].ifindex = 1;
	inode.ports = iport;
	inode.n_ports = 1;
	snprintf(ilink.name, sizeof(ilink.name), "imp-link");
	snprintf(ilink.node1, sizeof(ilink.node1), "imported");
	snprintf(ilink.port1, sizeof(ilink.port1), "p1");
	if (g1->n_nodes > 0 && g1->nodes[0].n_ports > 0) {
		const struct topo_port *p = &g1->ports[g1->nodes[0].first_port];

		snprintf(
		    ilink.node2, sizeof(ilink.node2), "%s", g1->nodes[0].name);
		snprintf(ilink.port2, sizeof(ilink.port2), "%s", p->name);
	}
	im.nodes = &inode;
	im.n_nodes = 1;
	im.links = &ilink;
	im.n_links = 1;
	in.import = &im;
	sw[1].reachable = false;
	g2 = topo_graph_build(&in, g1, &ev);
	check_graph(g2);
	CHECK(g2->version == g1->version || g2->version == g1->version + 1);
	for (size_t i = 0; i < ev.n; i++)
		sink += strlen(topo_event_type_name(ev.ev[i].type)) +
		    strlen(ev.ev[i].link);

	topo_events_free(&ev);
	topo_graph_free(g1);
	topo_graph_free(g2);
	lldp_facts_free(&f);
	lldp_facts_free(&f2);
	return 0;
}
