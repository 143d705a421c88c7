/*
 * model.h: fabtop's picture of the fabric, built from the daemon's /ws
 * frames (daemon/API.md, "The push channel"). PURE: text in, state out,
 * jansson only. fabtop computes nothing: the model keeps what the frames
 * say, cleaned (strings cut and made printable, lists bounded, fields of
 * the wrong type read as unknown) so that no frame can upset a view.
 * One owner: fabtop's main thread.
 */
#ifndef FABMON_MODEL_H
#define FABMON_MODEL_H

#include <stddef.h>
#include <stdint.h>

#define MODEL_NAME_MAX 64  /* bytes of a name kept (node, port, link) */
#define MODEL_TEXT_MAX 256 /* bytes of a longer text kept (filter) */
/* Bounds on what one frame may add; the rest is counted, not kept. */
#define MODEL_NODES_MAX    4096
#define MODEL_PORTS_MAX    512 /* per node */
#define MODEL_LINKS_MAX    65536
#define MODEL_LIST_MAX     1000 /* flows, talkers, hops, events, ... */
#define MODEL_EVIDENCE_MAX 8

/* Topics, in the order the status line lists them. */
enum mtopic {
	MT_FABRIC,
	MT_LINKS,
	MT_TOP,
	MT_BLACKHOLES,
	MT_EVENTS,
	MT_HEALTH,
	MT_HA,
	MT_TRACE,
	MT_COUNT,
};

/* What model_apply() saw. */
enum mframe {
	MF_BAD,   /* not a frame: not JSON, no "t", wrong "v" */
	MF_HELLO, /* the server's hello */
	MF_EVENT, /* a topic frame (also one for a topic we don't show) */
	MF_REPLY, /* a reply to an op */
	MF_ERROR, /* an error reply */
	MF_OTHER, /* a message type we don't know: ignored */
};

/*
 * Numbers that may be unknown are doubles, NaN when the frame had null,
 * nothing or something else; strings are never NULL ("" when unknown).
 */
struct m_port {
	const char *name, *oper, *link, *peer;
	double ifindex, speed_mbps;
	int edge, peer_is_host;
};

struct m_node {
	const char *name, *agent, *role;
	int reachable; /* -1 unknown */
	struct m_port *ports;
	size_t nports;
};

struct m_link { /* a link of the topology */
	const char *name, *node1, *port1, *node2, *port2, *status;
};

struct m_dir { /* one direction of a link's state */
	const char *from_node, *from_port, *to_node, *to_port, *source;
	double bps, pps, util, discards, errors, speed_bps;
};

struct m_lstate { /* a link's state, from topic links */
	const char *name, *status;
	struct m_dir dir[2]; /* dir[i] is "dir": i; missing ones are unknown */
	const char *counters[2];
	int flows[2]; /* -1 unknown */
};

struct m_flow {
	const char *key, *src, *dst, *stack, *in_node, *in_port;
	double proto, sport, dport, bps;
	int elephant;
};

struct m_sum { /* a talker or a stack */
	const char *name;
	double bps, flows;
};

struct m_portval { /* top.ports.* */
	const char *node, *port, *link, *dir, *source;
	double value, bps, speed_bps;
};

struct m_collision {
	const char *link, *from, *to;
	double util, bps, elephants;
};

struct m_hop {
	double stage, ttl, fps, share, in_ifindex;
	const char *node, *role, *agent, *in_port, *in_link, *from;
	const char *out_port, *out_if, *out_link, *to;
	const char *discard; /* the reason, "" when the hop forwards */
	int discarded;
};

struct m_evidence {
	double time, ttl;
	const char *in_port, *out_port, *src, *dst;
};

struct m_hole {
	double id, start, last_seen, end, fps, samples; /* end NaN: open */
	const char *type, *node, *prefix, *reason;
	struct m_evidence ev[MODEL_EVIDENCE_MAX];
	size_t nev;
};

struct m_event {
	double id, start, end, value;
	const char *type, *ref, *node, *link, *reason;
	const char *text; /* detail.text, else detail.prefix */
};

struct m_arena; /* the memory of one topic's state */
struct m_ends;  /* an index of link ends, for the lookups */

struct m_topic {
	int seen;       /* a frame came */
	int null;       /* the last one had "data": null (not ready) */
	double seq, ts; /* of the last frame */
	uint64_t rx_ms; /* when it was applied (the caller's clock) */
	uint64_t gaps;  /* frames missed (seq jumps) */
	uint64_t hash;  /* of the kept values, to see a change */
	struct m_arena *arena;
};

struct model {
	uint64_t gen; /* bumps whenever something shown changes */
	struct m_topic topic[MT_COUNT];
	uint64_t rx_ms;       /* the last topic frame (any topic) */
	uint64_t frames, bad; /* frames applied; frames ignored as bad */
	uint64_t cut;         /* list entries beyond the bounds */

	/* hello */
	const char *version;
	double push_ms;
	char hello_version[MODEL_NAME_MAX + 1];

	/* fabric: GET /api/v1/topology */
	double topo_version;
	struct m_node *nodes; /* sorted by name */
	size_t nnodes;
	struct m_link *links; /* sorted by name */
	size_t nlinks;

	/* links: GET /api/v1/links */
	struct m_lstate *lstates; /* sorted by name */
	size_t nlstates;
	struct m_ends *ends_; /* private: model_dir_from() and _to() */

	/* top: GET /api/v1/top */
	struct m_flow *flows;
	size_t nflows;
	struct m_sum *talkers, *stacks;
	size_t ntalkers, nstacks;
	struct m_portval *port_util, *port_disc, *port_err;
	size_t nport_util, nport_disc, nport_err;
	struct m_collision *collisions;
	size_t ncollisions;
	double elephant_pct;

	/* trace/{id}: GET /api/v1/trace/{id} */
	char trace_topic[MODEL_NAME_MAX + 1]; /* "" when no trace */
	char trace_filter[MODEL_TEXT_MAX + 1];
	double trace_id;
	double trace_stages, trace_fps;
	const char *ingress_node, *ingress_port, *ingress_host;
	const char *egress_node, *egress_port, *egress_host;
	int dies; /* diesAt is set */
	const char *dies_node, *dies_reason;
	double dies_stage;
	struct m_hop *hops;
	size_t nhops;

	/* blackholes: GET /api/v1/blackholes */
	struct m_hole *holes;
	size_t nholes;
	double bh_open, bh_samples, bh_opened, bh_closed;

	/* events: GET /api/v1/events?max=50 */
	struct m_event *events;
	size_t nevents;

	/* ha: GET /api/v1/ha (or the hello's "ha") */
	const char *ha_role, *ha_instance, *ha_vip, *ha_peer, *ha_peer_role;
	double ha_since;

	/* health: GET /api/v1/health */
	const char *health_status, *health_version;
	double uptime_s, datagrams, agents, kernel_drops, ws_clients;

	/* the last reply or error */
	double reply_id;
	char reply_filter[MODEL_TEXT_MAX + 1]; /* its data.trace.filter */
	char error[MODEL_TEXT_MAX + 1];        /* the last error reply's text */
	double error_id;                       /* its id (NaN: none) */
};

/* A new, empty model. Never NULL (allocation failure aborts). */
struct model *model_new(void);
void model_free(struct model *);

/*
 * Apply one message (a JSON text of len bytes, not NUL-terminated) that
 * arrived at now_ms. Topic frames replace that topic's state; gen bumps
 * when a value shown changed. Returns what it was; MF_BAD frames change
 * nothing but the bad counter.
 */
enum mframe model_apply(
    struct model *, const char *text, size_t len, uint64_t now_ms);

/*
 * The topic of a frame ("links", "trace/3", ...) copied into buf, or ""
 * when it is none. For callers that keep frames per topic.
 */
const char *model_frame_topic(
    const char *text, size_t len, char *buf, size_t buflen);

/*
 * Follow a trace: frames of topic "trace/ID" are kept from now on, the
 * previous trace's state is dropped. id < 0: no trace.
 */
void model_set_trace(struct model *, long long id, const char *filter);

/*
 * Ops for the server (daemon/API.md, "Client to server"): a JSON text
 * the caller frees. token may be NULL.
 */
char *model_op_subscribe(long long id, const char *const *topics, size_t n);
char *model_op_trace(long long id, const char *filter, const char *token);
char *model_op_join(long long id, long long trace, const char *token);
char *model_op_untrace(long long id, long long trace);

/* Lookups: NULL when unknown. */
const struct m_node *model_node(const struct model *, const char *name);
const struct m_link *model_link(const struct model *, const char *name);
const struct m_lstate *model_lstate(const struct model *, const char *name);
/* The state of the direction leaving node:port, NULL when none. */
const struct m_dir *model_dir_from(
    const struct model *, const char *node, const char *port);
const struct m_dir *model_dir_to(
    const struct model *, const char *node, const char *port);
/* top.ports.utilization for node:port and "in"/"out". */
const struct m_portval *model_port_util(
    const struct model *, const char *node, const char *port, const char *dir);
/* Open black holes at a node. */
size_t model_holes_at(const struct model *, const char *node);

/* Copy s into a NUL-terminated buf of buflen bytes, made printable (see
 * model.c) and cut at a character boundary. Returns buf. */
char *model_clean(char *buf, size_t buflen, const char *s);

#endif
