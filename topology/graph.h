/*
 * graph.h: the fabric model (nodes, ports, links, roles) built from the
 * switches' facts (lldp.h) and the operator's import (import.h), its
 * change events, and the agent+ifIndex lookup of the flow engine. PURE:
 * no I/O, no logging.
 *
 * The topology thread calls topo_graph_build() after each poll round and
 * publishes the result. A graph is immutable once built: any thread may
 * read it and call topo_lookup() on it without locks, as long as it
 * holds a reference (reference counting is the publisher's job). Only
 * the thread that dropped the last reference calls topo_graph_free().
 *
 * NODES are switches. A polled switch (SNMP reached it at least once)
 * is named by its sysName, else its lldpLocSysName, else its polled
 * address; when two polled switches give the same name, the one whose
 * (name, address) sorts later is renamed "name@address" (counted in
 * stats.dup_names). Hosts are not nodes: they appear as the `peer` of
 * edge ports.
 *
 * PORTS are every IF-MIB interface of a polled switch (lo and the
 * management port included), named by ifName, else ifDescr, else the
 * ifIndex in decimal, plus imported ports (below).
 *
 * LINKS. Switch A's LLDP neighbour on port pa names switch B when, in
 * this order, its chassis id equals B's lldpLocChassisId, its sysName
 * equals B's node name or sysName (else, for a neighbour that is not a
 * station-only device, its short name, before the first dot, compares
 * equal ignoring case and names a single switch), or one of its
 * management addresses is B's polled address, an address B reports for
 * itself (lldpLocManAddrTable) or B's imported agent. B's port pb is found
 * by lldp_find_port() (port id, then description; abbreviations allowed),
 * or, when B is known only from the import, by port name. Then:
 *  - pa-pb becomes one link, whichever side saw it (A sees B and B sees
 *    A: one link); one seen from one side only is marked one_sided;
 *  - a neighbour on an unmapped local port is skipped (stats.unmapped);
 *  - pb not found: pa faces a switch but has no link, and is not an edge
 *    port (stats.peer_port_unknown);
 *  - pa or pb already on another link: the first link stays
 *    (stats.link_conflicts); switches are taken in name order, their
 *    neighbours in local port order, so the result is deterministic;
 *  - a neighbour that names no node (a station, or a switch not polled
 *    yet) makes pa an edge port whose `peer` is that neighbour's name
 *    (else its chassis id): the host. peer_host is set unless the
 *    neighbour advertises bridge or router capabilities (a switch that
 *    is not polled is no evidence of hosts for the roles). A neighbour
 *    that is A itself (a looped cable) is ignored (stats.self_loops).
 * LINKS ARE KEPT until something contradicts them: a discovered link of
 * `prev` that LLDP no longer shows stays (with its name and one_sided)
 * while both its ports exist, neither is on another link and neither
 * shows any LLDP neighbour. lldpd drops a neighbour the moment the
 * carrier goes, on both ends (seen in the lab), so without this a link
 * going down would read as "link removed". A kept link is removed when
 * a port or node disappears or another neighbour shows up on a port.
 * Link names are "<node1>:<port1>-<node2>:<port2>", ends in name order,
 * unless the import names the link (below) or it is kept from `prev`; a
 * name too long or already taken gets a hash or a "#n" suffix.
 *
 * LINK STATUS: down if either port's ifOperStatus is known and not up(1),
 * else up if either is known up, else unknown (imported ports have no
 * status). When one end is on a polled switch that is now unreachable,
 * its facts are stale: the status then comes from the reachable end if
 * that end is down, else the link keeps its status from the previous
 * graph (or the stale facts' if it is new). So an unreachable switch
 * raises a NODE_UNREACHABLE event, not a burst of link events.
 *
 * EDGE PORTS: ports with no link that do not face a known switch.
 *
 * ROLES. A config override (topo_input.roles, by node name) always wins
 * (role_source config). Otherwise (role_source lldp), per connected
 * component of the switch graph (nodes joined by links, whatever their
 * status; isolated nodes are `other`), with "hosted" meaning the node has
 * an edge port whose LLDP neighbour is a host:
 *  1. if the component is bipartite (two-colourable, as a two-tier
 *     leaf-spine is) and all hosted nodes lie on one side, that side is
 *     leaves and the other spines (so a leaf whose hosts run no LLDP is
 *     still a leaf);
 *  2. if it is bipartite with no hosted node at all (e.g. an import-only
 *     fabric), the smaller side is spines and the larger leaves; equal
 *     sides are `other`;
 *  3. otherwise (a leaf-leaf peer link, a loop among spines, hosts on
 *     both sides): a leaf is a hosted node with a non-hosted switch
 *     neighbour; a spine is a node without hosts, with at least two
 *     switch neighbours, all of them leaves; the rest is `other`.
 * No step iterates, so a neighbour loop (A-B-C-A) terminates: it is not
 * bipartite, and none of its nodes is a spine or a leaf by step 3.
 * In every step a spine has ≥ 2 neighbours, a leaf ≥ 1.
 *
 * IMPORT MERGE (the import is merged into discovery, never the other way
 * round; to replace discovery by an import, build with no switches):
 *  - an imported node is the discovered node with the same name, else the
 *    one whose polled or own address is its agent; else it is a new node
 *    (source import, polled false, reachable false, agent = its agent);
 *  - its agent, if not the polled address, becomes another address of the
 *    node (lookups match it);
 *  - an imported port is the node's port with the same ifIndex, else with
 *    the same name (normalised: Gi1/0/4 = GigabitEthernet1/0/4). Discovery
 *    wins on a node both define: its port name, speed and status are
 *    kept; an imported port whose name and ifIndex designate two
 *    different discovered ports, or a name that disagrees with the
 *    discovered port of that ifIndex, counts as stats.import_conflicts.
 *    An imported port that matches none is added (source import, speed 0,
 *    status unknown). Within one imported node, a second port with the
 *    same ifIndex or name is a conflict and skipped;
 *  - an imported link whose ends (node and port names, resolved as above)
 *    are the two ends of a discovered link is that link: it keeps its
 *    discovered status and source lldp, and takes the imported name;
 *  - an imported link with an end on another link (discovered or imported
 *    earlier) contradicts it: discovery wins, the imported link is dropped
 *    and counted in stats.import_conflicts;
 *  - an imported link whose node or port is unknown is dropped and
 *    counted in stats.import_unresolved;
 *  - any other imported link is added (source import), even on a port
 *    where discovery saw a host: the operator knows better there;
 *  - imported links are taken in the import's order; an imported link
 *    name that is empty or already taken by an earlier imported link
 *    counts as a conflict, and the link gets the generated name.
 *
 * VERSION AND EVENTS. topo_graph_build() compares the new graph with
 * `prev`: nodes by name, ports by (node name, ifIndex; name if ifIndex
 * 0), links by name. Each difference is an event (below); version is
 * prev->version + 1 if there is any, else prev->version; without prev
 * it is 1 and the events are NODE_ADDED and LINK_ADDED for everything.
 * A changed timeMark or remIndex in LLDP changes nothing of the graph.
 */
#ifndef FABMON_GRAPH_H
#define FABMON_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "import.h"
#include "lldp.h"
#include "sflow.h"

#define TOPO_NONE       UINT32_MAX /* no link, no node */
#define TOPO_NODE_ADDRS 4          /* addresses kept per node besides agent */
#define TOPO_EVENTS_MAX 65536      /* per build; more are counted */

enum topo_role {
	TOPO_ROLE_OTHER = 0,
	TOPO_ROLE_SPINE,
	TOPO_ROLE_LEAF,
};

/* Where a fact comes from. */
enum topo_source {
	TOPO_SRC_LLDP = 0, /* SNMP/LLDP discovery (roles: inferred) */
	TOPO_SRC_IMPORT,   /* PUT /topology/json */
	TOPO_SRC_CONFIG,   /* the config file (role overrides) */
};

enum topo_link_status {
	TOPO_LINK_UNKNOWN = 0,
	TOPO_LINK_UP,
	TOPO_LINK_DOWN,
};

/* "spine", "lldp", "up"...: for the API, events and logs. */
const char *topo_role_name(enum topo_role);
const char *topo_source_name(enum topo_source);
const char *topo_link_status_name(enum topo_link_status);
/* "spine"/"leaf"/"other" → 0 and *role, else -1 (config parsing). */
int topo_role_parse(const char *, enum topo_role *role);

struct topo_node {
	char name[TOPO_NAME_MAX];
	struct sflow_addr agent; /* the polled address; for an import-only
	                          * node its imported agent (family 0: none) */
	/* other addresses that lookups match: its LLDP management
	 * addresses, its imported agent */
	struct sflow_addr addrs[TOPO_NODE_ADDRS];
	uint8_t n_addrs;
	char chassis[LLDP_ID_MAX * 3 + 1]; /* lldpLocChassisId as text */
	enum topo_role role;
	enum topo_source role_source; /* lldp (inferred) or config */
	enum topo_source source;      /* lldp (polled) or import */
	bool polled;                  /* facts from SNMP exist */
	bool reachable;               /* the last poll succeeded */
	uint64_t last_poll_ms;        /* as given in topo_input */
	uint32_t first_port;          /* its ports: ports[first_port..] */
	uint32_t n_ports;
	uint32_t n_neighbors; /* distinct switches it has links with */
	uint32_t n_hosts;     /* edge ports with an LLDP host behind */
};

struct topo_port {
	uint32_t node;    /* index into nodes */
	uint32_t ifindex; /* 0: imported without one (no lookup) */
	char name[TOPO_PORT_MAX];
	uint32_t speed_mbps;      /* ifHighSpeed; 0 unknown */
	uint8_t oper;             /* ifOperStatus: 1 up, 2 down... 0 unknown */
	uint32_t link;            /* index into links, or TOPO_NONE */
	bool edge;                /* no link and no switch behind it */
	bool peer_host;           /* `peer` is a host: no polled switch, and
	                           * it does not claim bridge/router caps */
	char peer[TOPO_NAME_MAX]; /* the LLDP neighbour's name, "" none */
	enum topo_source source;
};

struct topo_link {
	char name[TOPO_NAME_MAX];
	uint32_t port1, port2; /* indexes into ports; port1's node's
	                        * (name, ifindex) sorts first */
	enum topo_link_status status;
	enum topo_source source; /* lldp (discovered) or import */
	bool one_sided;          /* discovered from one end only */
};

/* Inconsistencies met while building; none is fatal. */
struct topo_graph_stats {
	uint32_t unmapped;          /* neighbours on unmapped local ports */
	uint32_t dup_names;         /* polled switches renamed name@addr */
	uint32_t peer_port_unknown; /* a switch neighbour's port not found */
	uint32_t link_conflicts;    /* a port claimed by two links */
	uint32_t self_loops;        /* a switch that sees itself */
	uint32_t addr_conflicts;    /* one address claimed by two nodes */
	uint32_t import_conflicts;  /* import contradicting discovery */
	uint32_t import_unresolved; /* imported links to unknown ends */
};

struct topo_graph_idx; /* private lookup indexes */

/*
 * Read-only arrays: nodes sorted by name; ports grouped by node (in node
 * order), by ifIndex within a node; links sorted by name.
 */
struct topo_graph {
	uint64_t version;
	struct topo_node *nodes;
	size_t n_nodes;
	struct topo_port *ports;
	size_t n_ports;
	struct topo_link *links;
	size_t n_links;
	struct topo_graph_stats stats;
	struct topo_graph_idx *idx;
};

/* One polled switch, as the poller last saw it. */
struct topo_switch {
	struct sflow_addr addr;       /* the polled (SNMP) address */
	bool reachable;               /* the last poll succeeded */
	uint64_t last_poll_ms;        /* wall clock of the last poll */
	const struct sw_facts *facts; /* from the last good poll, possibly
	                               * stale; NULL: never reached (then
	                               * the switch is not a node) */
};

struct topo_role_cfg {
	char name[TOPO_NAME_MAX];
	enum topo_role role;
};

struct topo_input {
	const struct topo_switch *switches;
	size_t n_switches;
	const struct topo_import *import; /* NULL: none */
	const struct topo_role_cfg *roles;
	size_t n_roles;
};

enum topo_event_type {
	TOPO_EV_NODE_ADDED,
	TOPO_EV_NODE_REMOVED,
	TOPO_EV_NODE_UNREACHABLE, /* a polled node's last poll failed */
	TOPO_EV_NODE_REACHABLE,
	TOPO_EV_NODE_CHANGED, /* its agent, addresses, source or chassis */
	TOPO_EV_ROLE_CHANGED, /* old_str → new_str */
	TOPO_EV_LINK_ADDED,
	TOPO_EV_LINK_REMOVED,
	TOPO_EV_LINK_UP,      /* status became up (old_str → new_str) */
	TOPO_EV_LINK_DOWN,    /* status became down */
	TOPO_EV_LINK_CHANGED, /* other: status unknown, ends, one_sided */
	TOPO_EV_PORT_ADDED,   /* on a node that existed before */
	TOPO_EV_PORT_REMOVED, /* from a node that still exists */
	TOPO_EV_PORT_UP,      /* ifOperStatus old_val → new_val (1) */
	TOPO_EV_PORT_DOWN,    /* ifOperStatus left up(1), or other change */
	TOPO_EV_PORT_SPEED,   /* Mb/s old_val → new_val */
	TOPO_EV_PORT_CHANGED, /* name, edge, peer, link or source */
};

/* "node_added", "link_down"...: for the API. */
const char *topo_event_type_name(enum topo_event_type);

/*
 * One change. For link events node/port are the link's first end and
 * node2/port2 its second; for the others node2/port2 are empty.
 */
struct topo_event {
	enum topo_event_type type;
	char node[TOPO_NAME_MAX];
	char port[TOPO_PORT_MAX];
	uint32_t ifindex;
	char node2[TOPO_NAME_MAX];
	char port2[TOPO_PORT_MAX];
	uint32_t ifindex2;
	char link[TOPO_NAME_MAX];
	int64_t old_val, new_val; /* speed, ifOperStatus, reachable (0/1) */
	char old_str[16], new_str[16]; /* role, link status */
};

/* Events appended by topo_graph_build(); owned by the caller. */
struct topo_events {
	struct topo_event *ev;
	size_t n, cap;
	uint32_t dropped; /* beyond TOPO_EVENTS_MAX in one build */
};

/* Free the events' array and zero the struct. */
void topo_events_free(struct topo_events *);

/*
 * Build the graph from `in` (see the rules above). `prev` (may be NULL)
 * is the previously published graph, read but not kept: the new graph
 * never points into it. Change events are appended to *events (may be
 * NULL). Returns a new graph (never NULL), owned by the caller. The
 * inputs are only read during the call.
 */
struct topo_graph *topo_graph_build(const struct topo_input *in,
    const struct topo_graph *prev, struct topo_events *events);

void topo_graph_free(struct topo_graph *);

/*
 * FINGERPRINTS OF THE INPUT, so that the topology thread builds a graph
 * only when topo_graph_build() would see something new: a build whose
 * input has the same fingerprint as the last one's gives the same graph
 * (links kept from `prev` and statuses taken from it are kept again).
 * Each is SipHash under `key` (the caller's secret: LLDP text comes from
 * the network), so a collision is as likely as 2^-64.
 *
 * topo_facts_sig(): everything of a switch's facts that the graph reads
 * (its names and chassis id, the interfaces, the LLDP local ports, the
 * neighbours and its own addresses), not the LLDP timeMark or remIndex
 * (they change nothing of the graph), the crawl list or the stats.
 * topo_import_sig(): the whole import; NULL or an empty one gives 0.
 * topo_input_sig(): the switches (address, reachable, and facts_sig[i],
 * the topo_facts_sig() of in->switches[i].facts, or anything for a NULL
 * one), the import as import_sig (the caller's topo_import_sig() of
 * in->import, kept from when the import changed) and the roles; not the
 * switches' last_poll_ms. Any thread; the arguments are only read.
 */
uint64_t topo_facts_sig(const struct sw_facts *, uint64_t key);
uint64_t topo_import_sig(const struct topo_import *, uint64_t key);
uint64_t topo_input_sig(const struct topo_input *in, const uint64_t *facts_sig,
    uint64_t import_sig, uint64_t key);

/* The answer to a lookup: pointers into the graph, valid while it is. */
struct topo_hit {
	const struct topo_node *node;
	const struct topo_port *port;      /* NULL: unknown ifIndex */
	const struct topo_link *link;      /* NULL: the port has no link */
	const struct topo_node *peer_node; /* the link's other end */
	const struct topo_port *peer_port;
};

/*
 * The hot path of the flow engine, O(1) (two hash probes). `agent` is the
 * sFlow agent address: it matches a node's polled address first, then
 * its imported agent, then the addresses it reports for itself in LLDP
 * (an address two nodes claim at the same rank matches neither). IPv4-
 * mapped IPv6 addresses match their IPv4 form.
 * Returns 0 (and zeroes *hit) for a miss: an unknown agent (including
 * one SNMP never reached and no import names), or the ifIndex 0 or
 * 0x3FFFFFFF (internal) or above. Returns 1 when the agent is a node;
 * hit->port is then NULL if that node has no such ifIndex.
 * Any thread holding a reference to the graph may call it.
 */
int topo_lookup(const struct topo_graph *, const struct sflow_addr *agent,
    uint32_t ifindex, struct topo_hit *hit);

/* Index-based lookups for the API; NULL or TOPO_NONE if absent. */
const struct topo_node *topo_node_by_name(
    const struct topo_graph *, const char *name);
const struct topo_node *topo_node_by_addr(
    const struct topo_graph *, const struct sflow_addr *);
const struct topo_link *topo_link_by_name(
    const struct topo_graph *, const char *name);
const struct topo_port *topo_port_by_ifindex(
    const struct topo_graph *, const struct topo_node *, uint32_t ifindex);
/* By name, normalised (lldp_name_norm); NULL if absent or ambiguous. */
const struct topo_port *topo_port_by_name(
    const struct topo_graph *, const struct topo_node *, const char *name);

#endif
