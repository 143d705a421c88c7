/*
 * graph.c: the fabric model, its change events and its lookups; see
 * graph.h for the rules. PURE: no I/O, no logging. Built on the topology
 * thread; read by any thread that holds a reference.
 *
 * A build runs in stages over growing arrays (nodes, ports, links), with
 * hash indexes for every "find the node/port that..." question, so that
 * it stays O(n log n) in the number of ports and neighbours. Only the
 * last stage sorts the arrays into their published order and builds the
 * indexes that the lookups use.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "util.h"

/* qsort, except that an empty array may be NULL (qsort's may not). */
static void
sort_array(
    void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
}

/*
 * Address index values carry a rank above the node index: the polled
 * address beats an imported agent, which beats an address a switch
 * reports for itself. A node index of NODE_MASK means "claimed by two
 * nodes at the same rank": a miss.
 */
#define RANK_SHIFT  28
#define NODE_MASK   ((1u << RANK_SHIFT) - 1)
#define RANK_POLLED 0u
#define RANK_IMPORT 1u
#define RANK_SELF   2u
#define AMBIG       UINT32_MAX /* a name index value shared by several */

struct topo_graph_idx {
	struct lldp_idx *node_name; /* name → node */
	struct lldp_idx *node_addr; /* address → rank | node */
	struct lldp_idx *port_key;  /* (node, ifindex) → port */
	struct lldp_idx *port_name; /* (node, normalised name) → port */
	struct lldp_idx *link_name; /* name → link */
};

/* Per-link build state. */
struct blink {
	uint8_t seen; /* 1: seen from port1's node, 2: from port2's */
	uint32_t imp; /* the import link that names it, or TOPO_NONE */
	const struct topo_link *carried; /* kept from prev (its name, its
	                                  * one_sided), or NULL */
};

struct gb {
	struct topo_graph *g;
	const struct topo_input *in;
	const struct topo_graph *prev;
	size_t cap_nodes, cap_ports, cap_links;
	const struct sw_facts **facts; /* per node; NULL: import only */
	uint8_t *addr_imp;             /* per node: addrs[] from the import */
	struct blink *bl;              /* per link */
	size_t n_polled;
	struct topo_graph_idx x;     /* over build-time indexes */
	struct lldp_idx *node_short; /* lower-case short name → node */
	struct lldp_idx *node_chassis;
	struct lldp_idx *imp_name; /* imported node name → node */
	struct lldp_idx *imp_port; /* (node, imported port name) → port */
};

/* ---- names ----------------------------------------------------------- */

const char *
topo_role_name(enum topo_role r)
{
	switch (r) {
	case TOPO_ROLE_SPINE:
		return "spine";
	case TOPO_ROLE_LEAF:
		return "leaf";
	default:
		return "other";
	}
}

int
topo_role_parse(const char *s, enum topo_role *role)
{
	if (strcmp(s, "spine") == 0)
		*role = TOPO_ROLE_SPINE;
	else if (strcmp(s, "leaf") == 0)
		*role = TOPO_ROLE_LEAF;
	else if (strcmp(s, "other") == 0)
		*role = TOPO_ROLE_OTHER;
	else
		return -1;
	return 0;
}

const char *
topo_source_name(enum topo_source s)
{
	switch (s) {
	case TOPO_SRC_LLDP:
		return "lldp";
	case TOPO_SRC_IMPORT:
		return "import";
	case TOPO_SRC_CONFIG:
		return "config";
	default:
		return "?";
	}
}

const char *
topo_link_status_name(enum topo_link_status s)
{
	switch (s) {
	case TOPO_LINK_UP:
		return "up";
	case TOPO_LINK_DOWN:
		return "down";
	default:
		return "unknown";
	}
}

const char *
topo_event_type_name(enum topo_event_type t)
{
	static const char *const names[] = {
		[TOPO_EV_NODE_ADDED] = "node_added",
		[TOPO_EV_NODE_REMOVED] = "node_removed",
		[TOPO_EV_NODE_UNREACHABLE] = "node_unreachable",
		[TOPO_EV_NODE_REACHABLE] = "node_reachable",
		[TOPO_EV_NODE_CHANGED] = "node_changed",
		[TOPO_EV_ROLE_CHANGED] = "role_changed",
		[TOPO_EV_LINK_ADDED] = "link_added",
		[TOPO_EV_LINK_REMOVED] = "link_removed",
		[TOPO_EV_LINK_UP] = "link_up",
		[TOPO_EV_LINK_DOWN] = "link_down",
		[TOPO_EV_LINK_CHANGED] = "link_changed",
		[TOPO_EV_PORT_ADDED] = "port_added",
		[TOPO_EV_PORT_REMOVED] = "port_removed",
		[TOPO_EV_PORT_UP] = "port_up",
		[TOPO_EV_PORT_DOWN] = "port_down",
		[TOPO_EV_PORT_SPEED] = "port_speed",
		[TOPO_EV_PORT_CHANGED] = "port_changed",
	};

	if ((size_t)t < nitems(names) && names[t] != NULL)
		return names[t];
	return "?";
}

/* ---- keys ------------------------------------------------------------ */

static void
scopy(char *dst, size_t cap, const char *src)
{
	size_t len = strlen(src), n = len;

	if (n >= cap)
		n = cap - 1;
	/* never cut a UTF-8 sequence: back off over continuation bytes */
	while (n > 0 && n < len && ((uint8_t)src[n] & 0xc0) == 0x80)
		n--;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* An address as a key; IPv4-mapped IPv6 as IPv4. 0 if no address. */
static size_t
addr_key(const struct sflow_addr *a, uint8_t key[17])
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0xff, 0xff };

	if (a->family == 4) {
		key[0] = 4;
		memcpy(key + 1, a->a, 4);
		return 5;
	}
	if (a->family == 6) {
		if (memcmp(a->a, v4mapped, 12) == 0) {
			key[0] = 4;
			memcpy(key + 1, a->a + 12, 4);
			return 5;
		}
		key[0] = 6;
		memcpy(key + 1, a->a, 16);
		return 17;
	}
	return 0;
}

static bool
addr_eq(const struct sflow_addr *x, const struct sflow_addr *y)
{
	uint8_t kx[17], ky[17];
	size_t nx = addr_key(x, kx), ny = addr_key(y, ky);

	return nx != 0 && nx == ny && memcmp(kx, ky, nx) == 0;
}

static size_t
port_key(uint32_t node, uint32_t ifindex, uint8_t key[8])
{
	memcpy(key, &node, 4);
	memcpy(key + 4, &ifindex, 4);
	return 8;
}

/* (node, name) with the name normalised (or as is, for imp_port). */
static size_t
pname_key(uint32_t node, const char *name, bool norm, uint8_t *key)
{
	char buf[LLDP_DESC_MAX];

	if (norm)
		lldp_name_norm(name, buf, sizeof(buf));
	else
		scopy(buf, sizeof(buf), name);
	memcpy(key, &node, 4);
	memcpy(key + 4, buf, strlen(buf));
	return 4 + strlen(buf);
}

/* The short, lower-case form of a host name ("s1" of "S1.dc.example"),
 * or "" for names that are not host names (addresses, empty). */
static size_t
short_name(const char *name, char *out, size_t cap)
{
	size_t n = 0;

	if (!((name[0] >= 'a' && name[0] <= 'z') ||
	        (name[0] >= 'A' && name[0] <= 'Z')))
		return 0;
	for (; name[n] != '\0' && name[n] != '.' && n + 1 < cap; n++)
		out[n] = (char)(name[n] >= 'A' && name[n] <= 'Z'
		        ? name[n] - 'A' + 'a'
		        : name[n]);
	out[n] = '\0';
	return n;
}

static uint32_t
idx_get(const struct lldp_idx *x, const void *key, size_t len)
{
	const uint32_t *v = lldp_idx_find(x, key, len);

	return v != NULL && *v != AMBIG ? *v : TOPO_NONE;
}

static void
idx_put_unique(struct lldp_idx *x, const void *key, size_t len, uint32_t v)
{
	bool created;
	uint32_t *slot = lldp_idx_slot(x, key, len, v, &created);

	if (!created && *slot != v)
		*slot = AMBIG;
}

static void
idx_put_first(struct lldp_idx *x, const void *key, size_t len, uint32_t v)
{
	lldp_idx_slot(x, key, len, v, NULL);
}

/* ---- build: nodes and ports ------------------------------------------ */

static void
addr_put(struct lldp_idx *idx, struct topo_graph_stats *st,
    const struct sflow_addr *a, uint32_t node, uint32_t rank)
{
	uint8_t key[17];
	size_t len = addr_key(a, key);
	uint32_t v = rank << RANK_SHIFT | node, *slot, orank, onode;
	bool created;

	if (len == 0)
		return;
	slot = lldp_idx_slot(idx, key, len, v, &created);
	if (created)
		return;
	orank = *slot >> RANK_SHIFT;
	onode = *slot & NODE_MASK;
	if (rank < orank || (onode == node && rank <= orank)) {
		*slot = v;
		return;
	}
	if (rank > orank || onode == node)
		return;
	st->addr_conflicts++;
	/* the same polled address twice: the first switch keeps it */
	if (rank != RANK_POLLED)
		*slot = rank << RANK_SHIFT | NODE_MASK;
}

static uint32_t
addr_get(const struct lldp_idx *idx, const struct sflow_addr *a)
{
	uint8_t key[17];
	size_t len = addr_key(a, key);
	const uint32_t *v;

	if (len == 0 || (v = lldp_idx_find(idx, key, len)) == NULL ||
	    (*v & NODE_MASK) == NODE_MASK)
		return TOPO_NONE;
	return *v & NODE_MASK;
}

static uint32_t
new_node(struct gb *b, const char *name)
{
	struct topo_graph *g = b->g;
	struct topo_node *n;
	char sn[TOPO_NAME_MAX];

	if (g->n_nodes == b->cap_nodes) {
		b->cap_nodes = b->cap_nodes ? b->cap_nodes * 2 : 16;
		g->nodes = xrealloc(g->nodes, b->cap_nodes * sizeof(*g->nodes));
		b->facts = xrealloc(b->facts, b->cap_nodes * sizeof(*b->facts));
		b->addr_imp = xrealloc(b->addr_imp, b->cap_nodes);
	}
	n = &g->nodes[g->n_nodes];
	memset(n, 0, sizeof(*n));
	scopy(n->name, sizeof(n->name), name);
	b->facts[g->n_nodes] = NULL;
	b->addr_imp[g->n_nodes] = 0;
	idx_put_first(
	    b->x.node_name, n->name, strlen(n->name), (uint32_t)g->n_nodes);
	if (short_name(n->name, sn, sizeof(sn)) > 0)
		idx_put_unique(
		    b->node_short, sn, strlen(sn), (uint32_t)g->n_nodes);
	return (uint32_t)g->n_nodes++;
}

static void
node_add_addr(
    struct gb *b, uint32_t node, const struct sflow_addr *a, bool imported)
{
	struct topo_node *n = &b->g->nodes[node];

	if (a->family != 4 && a->family != 6)
		return;
	if (addr_eq(&n->agent, a))
		return;
	for (size_t i = 0; i < n->n_addrs; i++)
		if (addr_eq(&n->addrs[i], a))
			return;
	if (n->n_addrs >= TOPO_NODE_ADDRS)
		return;
	if (imported)
		b->addr_imp[node] |= (uint8_t)(1u << n->n_addrs);
	n->addrs[n->n_addrs++] = *a;
}

static uint32_t
port_find(const struct gb *b, uint32_t node, uint32_t ifindex)
{
	uint8_t key[8];

	if (ifindex == 0)
		return TOPO_NONE;
	return idx_get(b->x.port_key, key, port_key(node, ifindex, key));
}

static uint32_t
pname_find(const struct gb *b, uint32_t node, const char *name)
{
	uint8_t key[4 + LLDP_DESC_MAX];

	if (name == NULL || name[0] == '\0')
		return TOPO_NONE;
	return idx_get(b->x.port_name, key, pname_key(node, name, true, key));
}

static uint32_t
new_port(struct gb *b, uint32_t node, uint32_t ifindex, const char *name,
    enum topo_source src)
{
	struct topo_graph *g = b->g;
	struct topo_port *p;
	uint32_t pi = (uint32_t)g->n_ports;
	uint8_t key[4 + LLDP_DESC_MAX];

	if (g->n_ports == b->cap_ports) {
		b->cap_ports = b->cap_ports ? b->cap_ports * 2 : 64;
		g->ports = xrealloc(g->ports, b->cap_ports * sizeof(*g->ports));
	}
	p = &g->ports[g->n_ports++];
	memset(p, 0, sizeof(*p));
	p->node = node;
	p->ifindex = ifindex;
	p->link = TOPO_NONE;
	p->edge = true;
	p->source = src;
	if (name != NULL && name[0] != '\0')
		scopy(p->name, sizeof(p->name), name);
	else
		snprintf(p->name, sizeof(p->name), "%u", ifindex);
	if (ifindex != 0)
		idx_put_first(
		    b->x.port_key, key, port_key(node, ifindex, key), pi);
	idx_put_unique(
	    b->x.port_name, key, pname_key(node, p->name, true, key), pi);
	return pi;
}

static int
cand_cmp(const void *a, const void *b)
{
	const struct topo_switch *const *x = a, *const *y = b;
	const struct sw_facts *fx = (*x)->facts, *fy = (*y)->facts;
	const char *nx = fx->sys_name[0] ? fx->sys_name : fx->lldp_sys_name;
	const char *ny = fy->sys_name[0] ? fy->sys_name : fy->lldp_sys_name;
	uint8_t kx[17] = { 0 }, ky[17] = { 0 };
	int c = strcmp(nx, ny);

	if (c != 0)
		return c;
	addr_key(&(*x)->addr, kx);
	addr_key(&(*y)->addr, ky);
	return memcmp(kx, ky, sizeof(kx));
}

static void
add_polled_ports(struct gb *b, uint32_t node, const struct sw_facts *f)
{
	for (size_t i = 0; i < f->n_ifs; i++) {
		const struct lldp_if *x = &f->ifs[i];
		uint32_t pi;

		if (port_find(b, node, x->ifindex) != TOPO_NONE)
			continue;
		pi = new_port(b, node, x->ifindex,
		    x->name[0] ? x->name : x->descr, TOPO_SRC_LLDP);
		b->g->ports[pi].speed_mbps = x->speed_mbps;
		b->g->ports[pi].oper = x->oper;
	}
	/* LLDP ports that IF-MIB did not list (mapped "assumed") */
	for (size_t i = 0; i < f->n_ports; i++) {
		const struct lldp_locport *lp = &f->ports[i];
		char text[LLDP_ID_MAX * 3 + 1];

		if (lp->ifindex == 0 ||
		    port_find(b, node, lp->ifindex) != TOPO_NONE)
			continue;
		lldp_id_text(false, lp->id_subtype, lp->id, lp->id_len, text,
		    sizeof(text));
		new_port(b, node, lp->ifindex, text, TOPO_SRC_LLDP);
	}
	for (size_t i = 0; i < f->n_nbrs; i++)
		if (f->nbrs[i].ifindex != 0 &&
		    port_find(b, node, f->nbrs[i].ifindex) == TOPO_NONE)
			new_port(
			    b, node, f->nbrs[i].ifindex, NULL, TOPO_SRC_LLDP);
}

static void
add_polled_nodes(struct gb *b)
{
	const struct topo_input *in = b->in;
	const struct topo_switch **c;
	size_t n = 0;

	c = xcalloc(in->n_switches + 1, sizeof(*c));
	for (size_t i = 0; i < in->n_switches; i++)
		if (in->switches[i].facts != NULL)
			c[n++] = &in->switches[i];
	sort_array(c, n, sizeof(*c), cand_cmp);
	for (size_t i = 0; i < n; i++) {
		const struct sw_facts *f = c[i]->facts;
		const char *base =
		    f->sys_name[0] ? f->sys_name : f->lldp_sys_name;
		char name[TOPO_NAME_MAX], at[64];
		struct topo_node *nd;
		uint32_t ni;

		addr_fmt(at, sizeof(at), c[i]->addr.family == 6 ? 6 : 4,
		    c[i]->addr.a);
		if (c[i]->addr.family != 4 && c[i]->addr.family != 6)
			scopy(at, sizeof(at), "?");
		if (base[0] == '\0')
			base = at;
		scopy(name, sizeof(name), base);
		if (idx_get(b->x.node_name, name, strlen(name)) != TOPO_NONE) {
			b->g->stats.dup_names++;
			/* "name@addr", the name cut to fit */
			if (snprintf(name, sizeof(name), "%.*s@%s",
			        (int)(sizeof(name) - strlen(at) - 2), base,
			        at) < 0)
				name[0] = '\0';
			for (unsigned k = 2; idx_get(b->x.node_name, name,
			                         strlen(name)) != TOPO_NONE;
			     k++)
				if (snprintf(name, sizeof(name), "%.*s@%s#%u",
				        (int)(sizeof(name) - strlen(at) - 14),
				        base, at, k) < 0)
					name[0] = '\0';
		}
		ni = new_node(b, name);
		nd = &b->g->nodes[ni];
		b->facts[ni] = f;
		nd->agent = c[i]->addr;
		nd->source = TOPO_SRC_LLDP;
		nd->polled = true;
		nd->reachable = c[i]->reachable;
		nd->last_poll_ms = c[i]->last_poll_ms;
		if (f->chassis_len > 0) {
			uint8_t key[1 + LLDP_ID_MAX];

			lldp_id_text(true, f->chassis_subtype, f->chassis,
			    f->chassis_len, nd->chassis, sizeof(nd->chassis));
			key[0] = f->chassis_subtype;
			memcpy(key + 1, f->chassis, f->chassis_len);
			idx_put_unique(b->node_chassis, key,
			    1 + (size_t)f->chassis_len, ni);
		}
		add_polled_ports(b, ni, f);
	}
	b->n_polled = b->g->n_nodes;
	/* addresses once every node exists, so that ranks compare fairly */
	for (size_t i = 0; i < b->n_polled; i++)
		addr_put(b->x.node_addr, &b->g->stats, &b->g->nodes[i].agent,
		    (uint32_t)i, RANK_POLLED);
	for (size_t i = 0; i < b->n_polled; i++) {
		const struct sw_facts *f = b->facts[i];

		for (size_t k = 0; k < f->n_self_addrs; k++) {
			node_add_addr(b, (uint32_t)i, &f->self_addrs[k], false);
			addr_put(b->x.node_addr, &b->g->stats,
			    &f->self_addrs[k], (uint32_t)i, RANK_SELF);
		}
	}
	free(c);
}

/* Merge one imported port into node ni (see graph.h). */
static void
import_port(struct gb *b, uint32_t ni, const struct topo_import_port *ip)
{
	struct topo_graph *g = b->g;
	uint32_t by_if = port_find(b, ni, ip->ifindex);
	uint32_t by_name = pname_find(b, ni, ip->name);
	uint32_t pi;
	uint8_t key[4 + LLDP_DESC_MAX];

	if (by_if != TOPO_NONE) {
		if (g->ports[by_if].source == TOPO_SRC_IMPORT ||
		    (ip->name[0] != '\0' && by_name != by_if))
			g->stats.import_conflicts++;
		pi = by_if;
	} else if (by_name != TOPO_NONE) {
		if (g->ports[by_name].source == TOPO_SRC_IMPORT ||
		    (ip->ifindex != 0 && g->ports[by_name].ifindex != 0 &&
		        g->ports[by_name].ifindex != ip->ifindex))
			g->stats.import_conflicts++;
		pi = by_name;
	} else {
		pi = new_port(b, ni, ip->ifindex, ip->name, TOPO_SRC_IMPORT);
	}
	/* imported links name ports as the import does */
	if (ip->name[0] != '\0')
		idx_put_first(
		    b->imp_port, key, pname_key(ni, ip->name, false, key), pi);
}

static void
add_import_nodes(struct gb *b)
{
	const struct topo_import *imp = b->in->import;

	if (imp == NULL)
		return;
	for (size_t i = 0; i < imp->n_nodes; i++) {
		const struct topo_import_node *in = &imp->nodes[i];
		char name[TOPO_NAME_MAX];
		uint32_t ni;

		scopy(name, sizeof(name), in->name);
		if (name[0] == '\0') {
			b->g->stats.import_unresolved++;
			continue;
		}
		ni = idx_get(b->x.node_name, name, strlen(name));
		if (ni == TOPO_NONE)
			ni = addr_get(b->x.node_addr, &in->agent);
		if (ni == TOPO_NONE) {
			ni = new_node(b, name);
			b->g->nodes[ni].source = TOPO_SRC_IMPORT;
			if (in->agent.family == 4 || in->agent.family == 6)
				b->g->nodes[ni].agent = in->agent;
		} else {
			node_add_addr(b, ni, &in->agent, true);
		}
		addr_put(
		    b->x.node_addr, &b->g->stats, &in->agent, ni, RANK_IMPORT);
		idx_put_first(b->imp_name, name, strlen(name), ni);
		for (size_t k = 0; k < in->n_ports; k++)
			import_port(b, ni, &in->ports[k]);
	}
}

/* ---- build: links ---------------------------------------------------- */

/* (node name, ifindex) order of two ports. */
static int
end_cmp(const struct topo_graph *g, uint32_t p, uint32_t q)
{
	const struct topo_port *a = &g->ports[p], *c = &g->ports[q];
	int r = strcmp(g->nodes[a->node].name, g->nodes[c->node].name);

	if (r != 0)
		return r;
	if (a->ifindex != c->ifindex)
		return a->ifindex < c->ifindex ? -1 : 1;
	return strcmp(a->name, c->name);
}

static uint32_t
new_link(struct gb *b, uint32_t pa, uint32_t pb, enum topo_source src)
{
	struct topo_graph *g = b->g;
	struct topo_link *l;
	uint32_t li = (uint32_t)g->n_links;

	if (g->n_links == b->cap_links) {
		b->cap_links = b->cap_links ? b->cap_links * 2 : 16;
		g->links = xrealloc(g->links, b->cap_links * sizeof(*g->links));
		b->bl = xrealloc(b->bl, b->cap_links * sizeof(*b->bl));
	}
	l = &g->links[g->n_links++];
	memset(l, 0, sizeof(*l));
	if (end_cmp(g, pa, pb) > 0) {
		uint32_t t = pa;

		pa = pb;
		pb = t;
	}
	l->port1 = pa;
	l->port2 = pb;
	l->source = src;
	b->bl[li].seen = 0;
	b->bl[li].imp = TOPO_NONE;
	b->bl[li].carried = NULL;
	g->ports[pa].link = g->ports[pb].link = li;
	g->ports[pa].edge = g->ports[pb].edge = false;
	g->ports[pa].peer_host = g->ports[pb].peer_host = false;
	scopy(g->ports[pa].peer, sizeof(g->ports[pa].peer),
	    g->nodes[g->ports[pb].node].name);
	scopy(g->ports[pb].peer, sizeof(g->ports[pb].peer),
	    g->nodes[g->ports[pa].node].name);
	return li;
}

/* The node an LLDP neighbour names, or TOPO_NONE (see graph.h). */
static uint32_t
resolve(const struct gb *b, const struct lldp_neighbor *nb)
{
	uint32_t n;
	char sn[TOPO_NAME_MAX];

	if (nb->chassis_len > 0) {
		uint8_t key[1 + LLDP_ID_MAX];

		key[0] = nb->chassis_subtype;
		memcpy(key + 1, nb->chassis, nb->chassis_len);
		n = idx_get(b->node_chassis, key, 1 + (size_t)nb->chassis_len);
		if (n != TOPO_NONE)
			return n;
	}
	if (nb->sys_name[0] != '\0') {
		n = idx_get(b->x.node_name, nb->sys_name, strlen(nb->sys_name));
		if (n != TOPO_NONE)
			return n;
		if (!(nb->caps_known && nb->caps == LLDP_CAP_STATION) &&
		    short_name(nb->sys_name, sn, sizeof(sn)) > 0 &&
		    (n = idx_get(b->node_short, sn, strlen(sn))) != TOPO_NONE)
			return n;
	}
	for (size_t i = 0; i < nb->n_addrs; i++)
		if ((n = addr_get(b->x.node_addr, &nb->addrs[i])) != TOPO_NONE)
			return n;
	return TOPO_NONE;
}

/* The port of node bn that neighbour nb describes, or TOPO_NONE. */
static uint32_t
peer_port(const struct gb *b, uint32_t bn, const struct lldp_neighbor *nb)
{
	const struct sw_facts *f = b->facts[bn];
	char text[LLDP_ID_MAX * 3 + 1];
	uint32_t p;

	if (f != NULL) {
		uint32_t ifx = lldp_find_port(
		    f, nb->port_subtype, nb->port, nb->port_len, nb->port_desc);

		return ifx != 0 ? port_find(b, bn, ifx) : TOPO_NONE;
	}
	/* known from the import only: by port name */
	if (nb->port_subtype != LLDP_PORT_MAC &&
	    nb->port_subtype != LLDP_PORT_ADDR && nb->port_len > 0) {
		lldp_id_text(false, nb->port_subtype, nb->port, nb->port_len,
		    text, sizeof(text));
		if ((p = pname_find(b, bn, text)) != TOPO_NONE)
			return p;
	}
	return pname_find(b, bn, nb->port_desc);
}

static void
link_discovered(struct gb *b)
{
	struct topo_graph *g = b->g;

	for (size_t a = 0; a < b->n_polled; a++) {
		const struct sw_facts *f = b->facts[a];

		for (size_t i = 0; i < f->n_nbrs; i++) {
			const struct lldp_neighbor *nb = &f->nbrs[i];
			uint32_t pa, bn, pb, la, lb;
			struct topo_port *p;

			if (nb->ifindex == 0) {
				g->stats.unmapped++;
				continue;
			}
			pa = port_find(b, (uint32_t)a, nb->ifindex);
			if (pa == TOPO_NONE)
				continue; /* cannot be: ports cover nbrs */
			p = &g->ports[pa];
			bn = resolve(b, nb);
			if (bn == a) {
				g->stats.self_loops++;
				continue;
			}
			if (bn == TOPO_NONE) {
				/* a host, or a switch not polled (yet) */
				if (p->peer[0] == '\0') {
					if (nb->sys_name[0] != '\0')
						scopy(p->peer, sizeof(p->peer),
						    nb->sys_name);
					else
						lldp_id_text(true,
						    nb->chassis_subtype,
						    nb->chassis,
						    nb->chassis_len, p->peer,
						    sizeof(p->peer));
					/* a bridge or router we do not poll
					 * is no host */
					p->peer_host = p->peer[0] != '\0' &&
					    !(nb->caps_known &&
					        (nb->caps &
					            (LLDP_CAP_BRIDGE |
					                LLDP_CAP_ROUTER)));
				}
				continue;
			}
			if (p->link == TOPO_NONE) {
				p->edge = false;
				p->peer_host = false;
				scopy(p->peer, sizeof(p->peer),
				    g->nodes[bn].name);
			}
			pb = peer_port(b, bn, nb);
			if (pb == TOPO_NONE) {
				g->stats.peer_port_unknown++;
				continue;
			}
			la = g->ports[pa].link;
			lb = g->ports[pb].link;
			if (la != TOPO_NONE && la == lb) {
				/* the other side saw it first */
			} else if (la != TOPO_NONE || lb != TOPO_NONE) {
				g->stats.link_conflicts++;
				continue;
			} else {
				la = new_link(b, pa, pb, TOPO_SRC_LLDP);
			}
			b->bl[la].seen |= g->links[la].port1 == pa ? 1 : 2;
		}
	}
}

static uint32_t
import_end(const struct gb *b, const char *node, const char *port)
{
	char name[TOPO_NAME_MAX];
	uint8_t key[4 + LLDP_DESC_MAX];
	uint32_t ni, p;

	scopy(name, sizeof(name), node);
	ni = idx_get(b->imp_name, name, strlen(name));
	if (ni == TOPO_NONE)
		ni = idx_get(b->x.node_name, name, strlen(name));
	if (ni == TOPO_NONE || port[0] == '\0')
		return TOPO_NONE;
	p = idx_get(b->imp_port, key, pname_key(ni, port, false, key));
	return p != TOPO_NONE ? p : pname_find(b, ni, port);
}

static void
link_imported(struct gb *b)
{
	const struct topo_import *imp = b->in->import;
	struct topo_graph *g = b->g;

	if (imp == NULL)
		return;
	for (size_t i = 0; i < imp->n_links; i++) {
		const struct topo_import_link *il = &imp->links[i];
		uint32_t p1 = import_end(b, il->node1, il->port1);
		uint32_t p2 = import_end(b, il->node2, il->port2);
		uint32_t l1, l2, li;

		if (p1 == TOPO_NONE || p2 == TOPO_NONE ||
		    g->ports[p1].node == g->ports[p2].node) {
			g->stats.import_unresolved++;
			continue;
		}
		l1 = g->ports[p1].link;
		l2 = g->ports[p2].link;
		if (l1 != TOPO_NONE && l1 == l2) {
			/* discovery confirms it: it takes the import's name */
			if (b->bl[l1].imp == TOPO_NONE)
				b->bl[l1].imp = (uint32_t)i;
			else
				g->stats.import_conflicts++;
			continue;
		}
		if (l1 != TOPO_NONE || l2 != TOPO_NONE) {
			g->stats.import_conflicts++;
			continue;
		}
		li = new_link(b, p1, p2, TOPO_SRC_IMPORT);
		b->bl[li].seen = 3;
		b->bl[li].imp = (uint32_t)i;
	}
}

/*
 * Keep the previous graph's discovered links that LLDP no longer shows,
 * as long as nothing contradicts them: both ports still exist, neither
 * is on another link, and neither shows an LLDP neighbour now. lldpd
 * (like most agents) drops a neighbour the moment the carrier goes, on
 * both ends, so without this a link going down would read as a link
 * removed, and coming back up as a new link.
 */
static void
carry_links(struct gb *b)
{
	const struct topo_graph *pg = b->prev;
	struct topo_graph *g = b->g;

	for (size_t i = 0; pg != NULL && i < pg->n_links; i++) {
		const struct topo_link *pl = &pg->links[i];
		uint32_t p[2];
		size_t k;

		if (pl->source != TOPO_SRC_LLDP)
			continue; /* imported links live in the import */
		for (k = 0; k < 2; k++) {
			const struct topo_port *q =
			    &pg->ports[k ? pl->port2 : pl->port1];
			const char *nn = pg->nodes[q->node].name;
			uint32_t ni = idx_get(b->x.node_name, nn, strlen(nn));

			p[k] = ni == TOPO_NONE ? TOPO_NONE
			                       : port_find(b, ni, q->ifindex);
			if (p[k] == TOPO_NONE ||
			    g->ports[p[k]].link != TOPO_NONE ||
			    g->ports[p[k]].peer[0] != '\0')
				break;
		}
		if (k < 2 || g->ports[p[0]].node == g->ports[p[1]].node)
			continue;
		b->bl[new_link(b, p[0], p[1], TOPO_SRC_LLDP)].carried = pl;
	}
}

/* ---- build: status, roles -------------------------------------------- */

static enum topo_link_status
port_status(const struct topo_port *p)
{
	if (p->oper == 0)
		return TOPO_LINK_UNKNOWN;
	return p->oper == 1 ? TOPO_LINK_UP : TOPO_LINK_DOWN;
}

static enum topo_link_status
combine(enum topo_link_status a, enum topo_link_status c)
{
	if (a == TOPO_LINK_DOWN || c == TOPO_LINK_DOWN)
		return TOPO_LINK_DOWN;
	if (a == TOPO_LINK_UP || c == TOPO_LINK_UP)
		return TOPO_LINK_UP;
	return TOPO_LINK_UNKNOWN;
}

/* The same link (same two ends) in the previous graph, or NULL. */
static const struct topo_link *
prev_link(const struct gb *b, const struct topo_link *l)
{
	const struct topo_graph *g = b->g, *pg = b->prev;
	const struct topo_port *e[2] = { &g->ports[l->port1],
		&g->ports[l->port2] };
	const struct topo_node *pn;
	const struct topo_port *pp;
	const struct topo_link *pl;

	if (pg == NULL ||
	    (pn = topo_node_by_name(pg, g->nodes[e[0]->node].name)) == NULL ||
	    (pp = topo_port_by_ifindex(pg, pn, e[0]->ifindex)) == NULL ||
	    pp->link == TOPO_NONE)
		return NULL;
	pl = &pg->links[pp->link];
	for (int k = 0; k < 2; k++) {
		const struct topo_port *q =
		    &pg->ports[k ? pl->port2 : pl->port1];

		if (strcmp(pg->nodes[q->node].name,
		        g->nodes[e[1]->node].name) == 0 &&
		    q->ifindex == e[1]->ifindex && q != pp)
			return pl;
	}
	return NULL;
}

static void
set_statuses(struct gb *b)
{
	struct topo_graph *g = b->g;

	for (size_t i = 0; i < g->n_links; i++) {
		struct topo_link *l = &g->links[i];
		const struct topo_port *p1 = &g->ports[l->port1];
		const struct topo_port *p2 = &g->ports[l->port2];
		const struct topo_node *n1 = &g->nodes[p1->node];
		const struct topo_node *n2 = &g->nodes[p2->node];
		bool f1 = !n1->polled || n1->reachable;
		bool f2 = !n2->polled || n2->reachable;
		enum topo_link_status s1 = port_status(p1);
		enum topo_link_status s2 = port_status(p2);
		const struct topo_link *pl;

		if (b->bl[i].carried != NULL)
			l->one_sided = b->bl[i].carried->one_sided;
		else
			l->one_sided =
			    l->source == TOPO_SRC_LLDP && b->bl[i].seen != 3;
		if (f1 && f2)
			l->status = combine(s1, s2);
		else if ((f1 && s1 == TOPO_LINK_DOWN) ||
		    (f2 && s2 == TOPO_LINK_DOWN))
			l->status = TOPO_LINK_DOWN;
		else if ((pl = prev_link(b, l)) != NULL)
			l->status = pl->status;
		else
			l->status = combine(s1, s2);
	}
}

static int
u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The switch graph as adjacency lists (CSR), without duplicates. */
static void
adjacency(const struct topo_graph *g, uint32_t **off_out, uint32_t **adj_out)
{
	uint64_t *e = xcalloc(2 * g->n_links + 1, sizeof(*e));
	uint32_t *off = xcalloc(g->n_nodes + 1, sizeof(*off));
	uint32_t *adj;
	size_t n = 0, m = 0;

	for (size_t i = 0; i < g->n_links; i++) {
		uint64_t a = g->ports[g->links[i].port1].node;
		uint64_t c = g->ports[g->links[i].port2].node;

		if (a == c)
			continue;
		e[n++] = a << 32 | c;
		e[n++] = c << 32 | a;
	}
	sort_array(e, n, sizeof(*e), u64_cmp);
	adj = xcalloc(n + 1, sizeof(*adj));
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && e[i] == e[i - 1])
			continue;
		adj[m++] = (uint32_t)e[i];
		off[(e[i] >> 32) + 1]++;
	}
	for (size_t i = 0; i < g->n_nodes; i++)
		off[i + 1] += off[i];
	free(e);
	*off_out = off;
	*adj_out = adj;
}

/* Step 3 of the role rules, for the nodes of one component. */
static void
roles_by_rules(struct topo_graph *g, const uint32_t *list, size_t n,
    const uint32_t *off, const uint32_t *adj)
{
	for (size_t i = 0; i < n; i++) {
		struct topo_node *x = &g->nodes[list[i]];

		x->role = TOPO_ROLE_OTHER;
		if (x->n_hosts == 0)
			continue;
		for (uint32_t k = off[list[i]]; k < off[list[i] + 1]; k++)
			if (g->nodes[adj[k]].n_hosts == 0)
				x->role = TOPO_ROLE_LEAF;
	}
	for (size_t i = 0; i < n; i++) {
		struct topo_node *x = &g->nodes[list[i]];
		bool all = true;

		if (x->n_hosts > 0 || x->n_neighbors < 2)
			continue;
		for (uint32_t k = off[list[i]]; k < off[list[i] + 1]; k++)
			all &= g->nodes[adj[k]].role == TOPO_ROLE_LEAF;
		if (all)
			x->role = TOPO_ROLE_SPINE;
	}
}

static void
infer_roles(struct gb *b)
{
	struct topo_graph *g = b->g;
	uint32_t *off, *adj, *list = xcalloc(g->n_nodes + 1, sizeof(*list));
	int8_t *color = xcalloc(g->n_nodes + 1, sizeof(*color));

	adjacency(g, &off, &adj);
	for (size_t i = 0; i < g->n_ports; i++) {
		const struct topo_port *p = &g->ports[i];

		if (p->edge && p->peer_host)
			g->nodes[p->node].n_hosts++;
	}
	for (size_t i = 0; i < g->n_nodes; i++) {
		g->nodes[i].n_neighbors = off[i + 1] - off[i];
		g->nodes[i].role = TOPO_ROLE_OTHER;
		g->nodes[i].role_source = TOPO_SRC_LLDP;
		color[i] = -1;
	}
	for (size_t s = 0; s < g->n_nodes; s++) {
		size_t n = 0, head = 0, side[2] = { 0, 0 },
		       hosted[2] = { 0, 0 };
		bool bip = true;
		int leaf_side;

		if (color[s] >= 0 || off[s + 1] == off[s])
			continue; /* done, or isolated: other */
		/* breadth-first: two-colour one component */
		color[s] = 0;
		list[n++] = (uint32_t)s;
		while (head < n) {
			uint32_t u = list[head++];

			for (uint32_t k = off[u]; k < off[u + 1]; k++) {
				uint32_t v = adj[k];

				if (color[v] < 0) {
					color[v] = (int8_t)(1 - color[u]);
					list[n++] = v;
				} else if (color[v] == color[u]) {
					bip = false;
				}
			}
		}
		for (size_t i = 0; i < n; i++) {
			side[color[list[i]]]++;
			hosted[color[list[i]]] += g->nodes[list[i]].n_hosts > 0;
		}
		leaf_side = -1;
		if (bip && hosted[0] > 0 && hosted[1] == 0)
			leaf_side = 0;
		else if (bip && hosted[1] > 0 && hosted[0] == 0)
			leaf_side = 1;
		else if (bip && hosted[0] == 0 && hosted[1] == 0 &&
		    side[0] != side[1])
			leaf_side = side[0] > side[1] ? 0 : 1;
		else if (bip && hosted[0] == 0 && hosted[1] == 0)
			continue; /* a symmetric fabric with no clue: other */
		if (leaf_side < 0) {
			roles_by_rules(g, list, n, off, adj);
			continue;
		}
		for (size_t i = 0; i < n; i++) {
			struct topo_node *x = &g->nodes[list[i]];

			if (color[list[i]] == leaf_side)
				x->role = TOPO_ROLE_LEAF;
			else if (x->n_neighbors >= 2)
				x->role = TOPO_ROLE_SPINE;
		}
	}
	for (size_t i = 0; i < b->in->n_roles; i++) {
		const struct topo_role_cfg *rc = &b->in->roles[i];
		char name[TOPO_NAME_MAX];
		uint32_t ni;

		scopy(name, sizeof(name), rc->name);
		ni = idx_get(b->x.node_name, name, strlen(name));
		if (ni != TOPO_NONE) {
			g->nodes[ni].role = rc->role;
			g->nodes[ni].role_source = TOPO_SRC_CONFIG;
		}
	}
	free(off);
	free(adj);
	free(list);
	free(color);
}

/* ---- build: final order and indexes ---------------------------------- */

/* qsort has no context argument: sort (name, index) pairs. */
struct name_ord {
	const char *name;
	uint32_t i;
};

static int
name_order_cmp(const void *a, const void *b)
{
	const struct name_ord *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c != 0 ? c : (x->i < y->i ? -1 : x->i > y->i);
}

struct port_ord {
	uint32_t node, ifindex, old;
};

static int
port_order_cmp(const void *a, const void *b)
{
	const struct port_ord *x = a, *y = b;

	if (x->node != y->node)
		return x->node < y->node ? -1 : 1;
	if (x->ifindex != y->ifindex)
		return x->ifindex < y->ifindex ? -1 : 1;
	return x->old < y->old ? -1 : x->old > y->old;
}

static uint32_t
name_hash(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s != '\0')
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

static void
name_links(struct gb *b, struct lldp_idx *names)
{
	struct topo_graph *g = b->g;
	const struct topo_import *imp = b->in->import;

	/* the operator's names first: they are what flow keys show */
	for (size_t i = 0; i < g->n_links; i++) {
		struct topo_link *l = &g->links[i];
		bool created;

		if (b->bl[i].imp == TOPO_NONE)
			continue;
		scopy(l->name, sizeof(l->name), imp->links[b->bl[i].imp].name);
		created = false;
		if (l->name[0] != '\0')
			lldp_idx_slot(names, l->name, strlen(l->name),
			    (uint32_t)i, &created);
		if (!created) {
			/* empty, or two imported links with one name */
			g->stats.import_conflicts++;
			l->name[0] = '\0';
		}
	}
	/* then a kept link's previous name */
	for (size_t i = 0; i < g->n_links; i++) {
		struct topo_link *l = &g->links[i];
		bool created = false;

		if (b->bl[i].carried == NULL || l->name[0] != '\0')
			continue;
		scopy(l->name, sizeof(l->name), b->bl[i].carried->name);
		if (l->name[0] != '\0')
			lldp_idx_slot(names, l->name, strlen(l->name),
			    (uint32_t)i, &created);
		if (!created)
			l->name[0] = '\0';
	}
	for (size_t i = 0; i < g->n_links; i++) {
		struct topo_link *l = &g->links[i];
		const struct topo_port *p1 = &g->ports[l->port1];
		const struct topo_port *p2 = &g->ports[l->port2];
		char base[TOPO_NAME_MAX * 3];
		bool created;

		if (l->name[0] != '\0')
			continue;
		if (snprintf(base, sizeof(base), "%s:%s-%s:%s",
		        g->nodes[p1->node].name, p1->name,
		        g->nodes[p2->node].name, p2->name) < 0)
			base[0] = '\0';
		if (strlen(base) < sizeof(l->name))
			memcpy(l->name, base, strlen(base) + 1);
		else if (snprintf(l->name, sizeof(l->name), "%.*s~%08x",
		             (int)sizeof(l->name) - 10, base,
		             name_hash(base)) < 0)
			l->name[0] = '\0';
		for (unsigned k = 2;; k++) {
			lldp_idx_slot(names, l->name, strlen(l->name),
			    (uint32_t)i, &created);
			if (created)
				break;
			if (snprintf(l->name, sizeof(l->name), "%.*s#%u",
			        (int)sizeof(l->name) - 12, base, k) < 0)
				l->name[0] = '\0';
		}
	}
}

static void
finalize(struct gb *b)
{
	struct topo_graph *g = b->g;
	struct topo_graph_idx *x = xcalloc(1, sizeof(*x));
	struct name_ord *nord = xcalloc(g->n_nodes + 1, sizeof(*nord));
	uint32_t *nmap = xcalloc(g->n_nodes + 1, sizeof(*nmap));
	uint32_t *pmap = xcalloc(g->n_ports + 1, sizeof(*pmap));
	struct name_ord *lord = xcalloc(g->n_links + 1, sizeof(*lord));
	uint32_t *lmap = xcalloc(g->n_links + 1, sizeof(*lmap));
	struct port_ord *pord = xcalloc(g->n_ports + 1, sizeof(*pord));
	struct topo_node *nodes = xcalloc(g->n_nodes + 1, sizeof(*nodes));
	struct topo_port *ports = xcalloc(g->n_ports + 1, sizeof(*ports));
	struct topo_link *links = xcalloc(g->n_links + 1, sizeof(*links));
	uint8_t *addr_imp = xcalloc(g->n_nodes + 1, 1);
	struct lldp_idx *tmp_names = lldp_idx_new(g->n_links);

	name_links(b, tmp_names);
	lldp_idx_free(tmp_names);
	/* nodes by name */
	for (size_t i = 0; i < g->n_nodes; i++) {
		nord[i].name = g->nodes[i].name;
		nord[i].i = (uint32_t)i;
	}
	sort_array(nord, g->n_nodes, sizeof(*nord), name_order_cmp);
	for (size_t i = 0; i < g->n_nodes; i++) {
		nmap[nord[i].i] = (uint32_t)i;
		nodes[i] = g->nodes[nord[i].i];
		addr_imp[i] = b->addr_imp[nord[i].i];
	}
	/* ports by (node, ifindex) */
	for (size_t i = 0; i < g->n_ports; i++) {
		pord[i].node = nmap[g->ports[i].node];
		pord[i].ifindex = g->ports[i].ifindex;
		pord[i].old = (uint32_t)i;
	}
	sort_array(pord, g->n_ports, sizeof(*pord), port_order_cmp);
	for (size_t i = 0; i < g->n_ports; i++) {
		pmap[pord[i].old] = (uint32_t)i;
		ports[i] = g->ports[pord[i].old];
		ports[i].node = pord[i].node;
	}
	/* links by name */
	for (size_t i = 0; i < g->n_links; i++) {
		lord[i].name = g->links[i].name;
		lord[i].i = (uint32_t)i;
	}
	sort_array(lord, g->n_links, sizeof(*lord), name_order_cmp);
	for (size_t i = 0; i < g->n_links; i++) {
		lmap[lord[i].i] = (uint32_t)i;
		links[i] = g->links[lord[i].i];
		links[i].port1 = pmap[links[i].port1];
		links[i].port2 = pmap[links[i].port2];
	}
	for (size_t i = 0; i < g->n_ports; i++)
		if (ports[i].link != TOPO_NONE)
			ports[i].link = lmap[ports[i].link];
	for (size_t i = 0; i < g->n_nodes; i++) {
		nodes[i].first_port = 0;
		nodes[i].n_ports = 0;
	}
	for (size_t i = g->n_ports; i-- > 0;) {
		nodes[ports[i].node].first_port = (uint32_t)i;
		nodes[ports[i].node].n_ports++;
	}
	free(g->nodes);
	free(g->ports);
	free(g->links);
	g->nodes = nodes;
	g->ports = ports;
	g->links = links;

	/* the lookup indexes */
	x->node_name = lldp_idx_new(g->n_nodes);
	x->node_addr = lldp_idx_new(g->n_nodes * 2);
	x->port_key = lldp_idx_new(g->n_ports);
	x->port_name = lldp_idx_new(g->n_ports);
	x->link_name = lldp_idx_new(g->n_links);
	for (size_t i = 0; i < g->n_nodes; i++)
		idx_put_first(x->node_name, g->nodes[i].name,
		    strlen(g->nodes[i].name), (uint32_t)i);
	/* ranks in order, so that collisions are counted once */
	g->stats.addr_conflicts = 0;
	for (uint32_t rank = RANK_POLLED; rank <= RANK_SELF; rank++)
		for (size_t i = 0; i < g->n_nodes; i++) {
			const struct topo_node *n = &g->nodes[i];

			if (rank == (n->polled ? RANK_POLLED : RANK_IMPORT))
				addr_put(x->node_addr, &g->stats, &n->agent,
				    (uint32_t)i, rank);
			for (size_t k = 0; k < n->n_addrs; k++)
				if (rank ==
				    ((addr_imp[i] >> k & 1) ? RANK_IMPORT
				                            : RANK_SELF))
					addr_put(x->node_addr, &g->stats,
					    &n->addrs[k], (uint32_t)i, rank);
		}
	for (size_t i = 0; i < g->n_ports; i++) {
		uint8_t key[4 + LLDP_DESC_MAX];

		if (g->ports[i].ifindex != 0)
			idx_put_first(x->port_key, key,
			    port_key(
			        g->ports[i].node, g->ports[i].ifindex, key),
			    (uint32_t)i);
		idx_put_unique(x->port_name, key,
		    pname_key(g->ports[i].node, g->ports[i].name, true, key),
		    (uint32_t)i);
	}
	for (size_t i = 0; i < g->n_links; i++)
		idx_put_first(x->link_name, g->links[i].name,
		    strlen(g->links[i].name), (uint32_t)i);
	g->idx = x;
	free(nord);
	free(nmap);
	free(pmap);
	free(lord);
	free(lmap);
	free(pord);
	free(addr_imp);
}

/* ---- diff ------------------------------------------------------------ */

struct diff {
	struct topo_events *ev;
	size_t start;
	uint64_t changes;
};

static struct topo_event *
ev_add(struct diff *d, enum topo_event_type type)
{
	struct topo_events *e = d->ev;
	struct topo_event *x;

	d->changes++;
	if (e == NULL)
		return NULL;
	if (e->n - d->start >= TOPO_EVENTS_MAX) {
		e->dropped++;
		return NULL;
	}
	if (e->n == e->cap) {
		e->cap = e->cap ? e->cap * 2 : 32;
		e->ev = xrealloc(e->ev, e->cap * sizeof(*e->ev));
	}
	x = &e->ev[e->n++];
	memset(x, 0, sizeof(*x));
	x->type = type;
	return x;
}

static void
ev_node(struct diff *d, enum topo_event_type type, const struct topo_node *n)
{
	struct topo_event *e = ev_add(d, type);

	if (e != NULL) {
		scopy(e->node, sizeof(e->node), n->name);
		if (type == TOPO_EV_NODE_REACHABLE ||
		    type == TOPO_EV_NODE_UNREACHABLE) {
			e->new_val = n->reachable;
			e->old_val = !n->reachable;
		}
		scopy(e->new_str, sizeof(e->new_str), topo_role_name(n->role));
	}
}

static struct topo_event *
ev_port(struct diff *d, enum topo_event_type type, const struct topo_graph *g,
    const struct topo_port *p)
{
	struct topo_event *e = ev_add(d, type);

	if (e != NULL) {
		scopy(e->node, sizeof(e->node), g->nodes[p->node].name);
		scopy(e->port, sizeof(e->port), p->name);
		e->ifindex = p->ifindex;
	}
	return e;
}

static struct topo_event *
ev_link(struct diff *d, enum topo_event_type type, const struct topo_graph *g,
    const struct topo_link *l)
{
	struct topo_event *e = ev_add(d, type);
	const struct topo_port *p1 = &g->ports[l->port1];
	const struct topo_port *p2 = &g->ports[l->port2];

	if (e != NULL) {
		scopy(e->node, sizeof(e->node), g->nodes[p1->node].name);
		scopy(e->port, sizeof(e->port), p1->name);
		e->ifindex = p1->ifindex;
		scopy(e->node2, sizeof(e->node2), g->nodes[p2->node].name);
		scopy(e->port2, sizeof(e->port2), p2->name);
		e->ifindex2 = p2->ifindex;
		scopy(e->link, sizeof(e->link), l->name);
		scopy(e->new_str, sizeof(e->new_str),
		    topo_link_status_name(l->status));
	}
	return e;
}

/* The port of graph h's node hn matching port p of graph g, or NULL. */
static const struct topo_port *
same_port(const struct topo_graph *h, const struct topo_node *hn,
    const struct topo_port *p)
{
	const struct topo_port *q;

	if (p->ifindex != 0)
		return topo_port_by_ifindex(h, hn, p->ifindex);
	q = topo_port_by_name(h, hn, p->name);
	return q != NULL && q->ifindex == 0 ? q : NULL;
}

static bool
nodes_differ(const struct topo_node *a, const struct topo_node *c)
{
	if (!addr_eq(&a->agent, &c->agent) &&
	    (a->agent.family != 0 || c->agent.family != 0))
		return true;
	if (a->n_addrs != c->n_addrs || a->source != c->source ||
	    a->polled != c->polled || strcmp(a->chassis, c->chassis) != 0)
		return true;
	for (size_t i = 0; i < a->n_addrs; i++)
		if (!addr_eq(&a->addrs[i], &c->addrs[i]))
			return true;
	return false;
}

/* The names of a link's ends in its graph, for comparing two graphs. */
static bool
links_differ(const struct topo_graph *g, const struct topo_link *l,
    const struct topo_graph *h, const struct topo_link *m)
{
	const struct topo_port *a1 = &g->ports[l->port1];
	const struct topo_port *a2 = &g->ports[l->port2];
	const struct topo_port *b1 = &h->ports[m->port1];
	const struct topo_port *b2 = &h->ports[m->port2];

	return a1->ifindex != b1->ifindex || a2->ifindex != b2->ifindex ||
	    strcmp(a1->name, b1->name) != 0 ||
	    strcmp(a2->name, b2->name) != 0 ||
	    strcmp(g->nodes[a1->node].name, h->nodes[b1->node].name) != 0 ||
	    strcmp(g->nodes[a2->node].name, h->nodes[b2->node].name) != 0 ||
	    l->one_sided != m->one_sided || l->source != m->source;
}

static bool
ports_differ(const struct topo_graph *g, const struct topo_port *p,
    const struct topo_graph *h, const struct topo_port *q)
{
	bool pl = p->link != TOPO_NONE, ql = q->link != TOPO_NONE;

	return strcmp(p->name, q->name) != 0 || p->edge != q->edge ||
	    p->peer_host != q->peer_host || strcmp(p->peer, q->peer) != 0 ||
	    p->source != q->source || pl != ql ||
	    (pl && strcmp(g->links[p->link].name, h->links[q->link].name) != 0);
}

static void
diff_ports(struct diff *d, const struct topo_graph *g,
    const struct topo_node *n, const struct topo_graph *pg,
    const struct topo_node *pn)
{
	for (uint32_t i = n->first_port; i < n->first_port + n->n_ports; i++) {
		const struct topo_port *p = &g->ports[i];
		const struct topo_port *q = same_port(pg, pn, p);
		struct topo_event *e;

		if (q == NULL) {
			ev_port(d, TOPO_EV_PORT_ADDED, g, p);
			continue;
		}
		if (p->speed_mbps != q->speed_mbps &&
		    (e = ev_port(d, TOPO_EV_PORT_SPEED, g, p)) != NULL) {
			e->old_val = q->speed_mbps;
			e->new_val = p->speed_mbps;
		}
		if (p->oper != q->oper &&
		    (e = ev_port(d,
		         p->oper == 1 ? TOPO_EV_PORT_UP : TOPO_EV_PORT_DOWN, g,
		         p)) != NULL) {
			e->old_val = q->oper;
			e->new_val = p->oper;
		}
		if (ports_differ(g, p, pg, q))
			ev_port(d, TOPO_EV_PORT_CHANGED, g, p);
	}
	for (uint32_t i = pn->first_port; i < pn->first_port + pn->n_ports; i++)
		if (same_port(g, n, &pg->ports[i]) == NULL)
			ev_port(d, TOPO_EV_PORT_REMOVED, pg, &pg->ports[i]);
}

static void
diff_graphs(
    struct diff *d, const struct topo_graph *g, const struct topo_graph *pg)
{
	for (size_t i = 0; i < g->n_nodes; i++) {
		const struct topo_node *n = &g->nodes[i];
		const struct topo_node *pn =
		    pg ? topo_node_by_name(pg, n->name) : NULL;
		struct topo_event *e;

		if (pn == NULL) {
			ev_node(d, TOPO_EV_NODE_ADDED, n);
			continue;
		}
		if (n->polled && pn->polled && n->reachable != pn->reachable)
			ev_node(d,
			    n->reachable ? TOPO_EV_NODE_REACHABLE
			                 : TOPO_EV_NODE_UNREACHABLE,
			    n);
		if (n->role != pn->role &&
		    (e = ev_add(d, TOPO_EV_ROLE_CHANGED)) != NULL) {
			scopy(e->node, sizeof(e->node), n->name);
			scopy(e->old_str, sizeof(e->old_str),
			    topo_role_name(pn->role));
			scopy(e->new_str, sizeof(e->new_str),
			    topo_role_name(n->role));
		}
		if (nodes_differ(n, pn) ||
		    (n->reachable != pn->reachable &&
		        !(n->polled && pn->polled)))
			ev_node(d, TOPO_EV_NODE_CHANGED, n);
		diff_ports(d, g, n, pg, pn);
	}
	for (size_t i = 0; pg != NULL && i < pg->n_nodes; i++)
		if (topo_node_by_name(g, pg->nodes[i].name) == NULL)
			ev_node(d, TOPO_EV_NODE_REMOVED, &pg->nodes[i]);
	for (size_t i = 0; i < g->n_links; i++) {
		const struct topo_link *l = &g->links[i];
		const struct topo_link *pl =
		    pg ? topo_link_by_name(pg, l->name) : NULL;
		struct topo_event *e = NULL;

		if (pl == NULL) {
			ev_link(d, TOPO_EV_LINK_ADDED, g, l);
			continue;
		}
		if (l->status != pl->status)
			e = ev_link(d,
			    l->status == TOPO_LINK_UP ? TOPO_EV_LINK_UP
			        : l->status == TOPO_LINK_DOWN
			        ? TOPO_EV_LINK_DOWN
			        : TOPO_EV_LINK_CHANGED,
			    g, l);
		if (e != NULL)
			scopy(e->old_str, sizeof(e->old_str),
			    topo_link_status_name(pl->status));
		if (links_differ(g, l, pg, pl))
			ev_link(d, TOPO_EV_LINK_CHANGED, g, l);
	}
	for (size_t i = 0; pg != NULL && i < pg->n_links; i++)
		if (topo_link_by_name(g, pg->links[i].name) == NULL)
			ev_link(d, TOPO_EV_LINK_REMOVED, pg, &pg->links[i]);
}

/* ---- public ---------------------------------------------------------- */

struct topo_graph *
topo_graph_build(const struct topo_input *in, const struct topo_graph *prev,
    struct topo_events *events)
{
	struct gb b;
	struct diff d;

	memset(&b, 0, sizeof(b));
	b.g = xcalloc(1, sizeof(*b.g));
	b.in = in;
	b.prev = prev;
	b.x.node_name = lldp_idx_new(in->n_switches);
	b.x.node_addr = lldp_idx_new(in->n_switches * 2);
	b.x.port_key = lldp_idx_new(in->n_switches * 8);
	b.x.port_name = lldp_idx_new(in->n_switches * 8);
	b.node_short = lldp_idx_new(in->n_switches);
	b.node_chassis = lldp_idx_new(in->n_switches);
	b.imp_name = lldp_idx_new(in->import ? in->import->n_nodes : 0);
	b.imp_port = lldp_idx_new(16);

	add_polled_nodes(&b);
	add_import_nodes(&b);
	link_discovered(&b);
	link_imported(&b);
	carry_links(&b);
	set_statuses(&b);
	infer_roles(&b);
	finalize(&b);

	memset(&d, 0, sizeof(d));
	d.ev = events;
	d.start = events ? events->n : 0;
	diff_graphs(&d, b.g, prev);
	if (prev == NULL)
		b.g->version = 1;
	else
		b.g->version = prev->version + (d.changes > 0 ? 1 : 0);

	lldp_idx_free(b.x.node_name);
	lldp_idx_free(b.x.node_addr);
	lldp_idx_free(b.x.port_key);
	lldp_idx_free(b.x.port_name);
	lldp_idx_free(b.node_short);
	lldp_idx_free(b.node_chassis);
	lldp_idx_free(b.imp_name);
	lldp_idx_free(b.imp_port);
	free(b.facts);
	free(b.addr_imp);
	free(b.bl);
	return b.g;
}

void
topo_graph_free(struct topo_graph *g)
{
	if (g == NULL)
		return;
	if (g->idx != NULL) {
		lldp_idx_free(g->idx->node_name);
		lldp_idx_free(g->idx->node_addr);
		lldp_idx_free(g->idx->port_key);
		lldp_idx_free(g->idx->port_name);
		lldp_idx_free(g->idx->link_name);
		free(g->idx);
	}
	free(g->nodes);
	free(g->ports);
	free(g->links);
	free(g);
}

/* ---- fingerprints ----------------------------------------------------- */

/* A running SipHash over fields, each hashed with the state so far. */
struct sig {
	uint64_t key;
	uint64_t h;
};

static void
sig_bytes(struct sig *s, const void *p, size_t len)
{
	s->h = siphash13(s->key, s->h, p, len);
}

static void
sig_u64(struct sig *s, uint64_t v)
{
	sig_bytes(s, &v, sizeof(v));
}

/* With the NUL, so that "ab","c" and "a","bc" differ. */
static void
sig_str(struct sig *s, const char *str)
{
	sig_bytes(s, str, strlen(str) + 1);
}

static void
sig_addr(struct sig *s, const struct sflow_addr *a)
{
	uint8_t buf[17];

	buf[0] = a->family;
	memcpy(buf + 1, a->a, 16);
	sig_bytes(s, buf, sizeof(buf));
}

/* An id as (subtype, length, bytes). */
static void
sig_id(struct sig *s, uint8_t subtype, uint8_t len, const uint8_t *id)
{
	uint8_t buf[2 + LLDP_ID_MAX];

	buf[0] = subtype;
	buf[1] = len;
	memcpy(buf + 2, id, len);
	sig_bytes(s, buf, 2 + (size_t)len);
}

uint64_t
topo_facts_sig(const struct sw_facts *f, uint64_t key)
{
	struct sig s = { key, 0 };

	sig_str(&s, f->sys_name);
	sig_str(&s, f->lldp_sys_name);
	sig_id(&s, f->chassis_subtype, f->chassis_len, f->chassis);
	sig_u64(&s, f->n_ifs);
	for (size_t i = 0; i < f->n_ifs; i++) {
		const struct lldp_if *x = &f->ifs[i];

		sig_u64(
		    &s, (uint64_t)x->ifindex << 32 | (uint64_t)x->oper << 24);
		sig_u64(&s, x->speed_mbps);
		sig_str(&s, x->name);
		sig_str(&s, x->descr);
		sig_str(&s, x->alias);
	}
	sig_u64(&s, f->n_ports);
	for (size_t i = 0; i < f->n_ports; i++) {
		const struct lldp_locport *x = &f->ports[i];

		sig_u64(&s, (uint64_t)x->num << 32 | x->ifindex);
		sig_u64(&s, (uint64_t)x->how);
		sig_id(&s, x->id_subtype, x->id_len, x->id);
		sig_str(&s, x->desc);
	}
	sig_u64(&s, f->n_nbrs);
	for (size_t i = 0; i < f->n_nbrs; i++) {
		const struct lldp_neighbor *x = &f->nbrs[i];

		/* not time_mark, rem_index: see graph.h */
		sig_u64(&s, (uint64_t)x->local_port << 32 | x->ifindex);
		sig_u64(&s,
		    (uint64_t)x->how << 32 | (uint64_t)x->caps << 8 |
		        (uint64_t)x->caps_known);
		sig_id(&s, x->chassis_subtype, x->chassis_len, x->chassis);
		sig_id(&s, x->port_subtype, x->port_len, x->port);
		sig_str(&s, x->port_desc);
		sig_str(&s, x->sys_name);
		sig_u64(&s, x->n_addrs);
		for (size_t k = 0; k < x->n_addrs && k < LLDP_NBR_ADDRS; k++)
			sig_addr(&s, &x->addrs[k]);
	}
	sig_u64(&s, f->n_self_addrs);
	for (size_t i = 0; i < f->n_self_addrs; i++)
		sig_addr(&s, &f->self_addrs[i]);
	return s.h;
}

uint64_t
topo_import_sig(const struct topo_import *im, uint64_t key)
{
	struct sig s = { key, 0 };

	if (im == NULL || (im->n_nodes == 0 && im->n_links == 0))
		return 0;
	sig_u64(&s, im->n_nodes);
	for (size_t i = 0; i < im->n_nodes; i++) {
		const struct topo_import_node *n = &im->nodes[i];

		sig_str(&s, n->name);
		sig_addr(&s, &n->agent);
		sig_u64(&s, n->n_ports);
		for (size_t k = 0; k < n->n_ports; k++) {
			sig_u64(&s, n->ports[k].ifindex);
			sig_str(&s, n->ports[k].name);
		}
	}
	sig_u64(&s, im->n_links);
	for (size_t i = 0; i < im->n_links; i++) {
		const struct topo_import_link *l = &im->links[i];

		sig_str(&s, l->name);
		sig_str(&s, l->node1);
		sig_str(&s, l->port1);
		sig_str(&s, l->node2);
		sig_str(&s, l->port2);
	}
	/* never 0, which stands for no import */
	return s.h != 0 ? s.h : 1;
}

uint64_t
topo_input_sig(const struct topo_input *in, const uint64_t *facts_sig,
    uint64_t import_sig, uint64_t key)
{
	struct sig s = { key, 0 };

	sig_u64(&s, in->n_switches);
	for (size_t i = 0; i < in->n_switches; i++) {
		const struct topo_switch *sw = &in->switches[i];

		sig_addr(&s, &sw->addr);
		sig_u64(&s, sw->facts != NULL ? facts_sig[i] : 0);
		sig_u64(&s,
		    (uint64_t)sw->reachable << 1 |
		        (uint64_t)(sw->facts != NULL));
	}
	sig_u64(&s, in->import != NULL ? import_sig : 0);
	sig_u64(&s, in->n_roles);
	for (size_t i = 0; i < in->n_roles; i++) {
		sig_str(&s, in->roles[i].name);
		sig_u64(&s, (uint64_t)in->roles[i].role);
	}
	return s.h;
}

void
topo_events_free(struct topo_events *e)
{
	if (e == NULL)
		return;
	free(e->ev);
	memset(e, 0, sizeof(*e));
}

const struct topo_node *
topo_node_by_name(const struct topo_graph *g, const char *name)
{
	uint32_t i;

	if (g == NULL || g->idx == NULL || name == NULL)
		return NULL;
	i = idx_get(g->idx->node_name, name, strlen(name));
	return i != TOPO_NONE ? &g->nodes[i] : NULL;
}

const struct topo_node *
topo_node_by_addr(const struct topo_graph *g, const struct sflow_addr *a)
{
	uint32_t i;

	if (g == NULL || g->idx == NULL || a == NULL)
		return NULL;
	i = addr_get(g->idx->node_addr, a);
	return i != TOPO_NONE ? &g->nodes[i] : NULL;
}

const struct topo_link *
topo_link_by_name(const struct topo_graph *g, const char *name)
{
	uint32_t i;

	if (g == NULL || g->idx == NULL || name == NULL)
		return NULL;
	i = idx_get(g->idx->link_name, name, strlen(name));
	return i != TOPO_NONE ? &g->links[i] : NULL;
}

const struct topo_port *
topo_port_by_ifindex(
    const struct topo_graph *g, const struct topo_node *n, uint32_t ifindex)
{
	uint8_t key[8];
	uint32_t i;

	if (g == NULL || g->idx == NULL || n == NULL || ifindex == 0)
		return NULL;
	i = idx_get(g->idx->port_key, key,
	    port_key((uint32_t)(n - g->nodes), ifindex, key));
	return i != TOPO_NONE ? &g->ports[i] : NULL;
}

const struct topo_port *
topo_port_by_name(
    const struct topo_graph *g, const struct topo_node *n, const char *name)
{
	uint8_t key[4 + LLDP_DESC_MAX];
	uint32_t i;

	if (g == NULL || g->idx == NULL || n == NULL || name == NULL ||
	    name[0] == '\0')
		return NULL;
	i = idx_get(g->idx->port_name, key,
	    pname_key((uint32_t)(n - g->nodes), name, true, key));
	return i != TOPO_NONE ? &g->ports[i] : NULL;
}

int
topo_lookup(const struct topo_graph *g, const struct sflow_addr *agent,
    uint32_t ifindex, struct topo_hit *hit)
{
	const struct topo_node *n;
	const struct topo_port *p;

	memset(hit, 0, sizeof(*hit));
	if (ifindex == 0 || ifindex >= SFLOW_IF_INTERNAL ||
	    (n = topo_node_by_addr(g, agent)) == NULL)
		return 0;
	hit->node = n;
	if ((p = topo_port_by_ifindex(g, n, ifindex)) == NULL)
		return 1;
	hit->port = p;
	if (p->link != TOPO_NONE) {
		const struct topo_link *l = &g->links[p->link];
		const struct topo_port *q = &g->ports[l->port1] == p
		    ? &g->ports[l->port2]
		    : &g->ports[l->port1];

		hit->link = l;
		hit->peer_port = q;
		hit->peer_node = &g->nodes[q->node];
	}
	return 1;
}
