/*
 * api.h: the HTTP API, served by libwebsockets on the main thread.
 * Handlers only read published snapshots or queue work for another
 * thread: nothing here blocks.
 */
#ifndef FABMON_API_H
#define FABMON_API_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "conf.h"
#include "snap.h"

struct lws;
struct lws_context;
struct topo_import;
struct engine;
struct logring;
struct forward;
struct thresholds;
struct store;
struct store_reader;
struct history;
struct trace_reg;
struct bh_event;
struct reply;
struct pss;
struct api_ctx;

/*
 * A long-poll (sFlow-RT's /flows/json and /events/json): a handler that
 * has nothing to answer yet fills reply.poll instead of a body. api.c
 * parks the request, and calls render again whenever another thread wakes
 * the service loop, and once more at the deadline with timed_out set. The
 * request is answered as soon as render returns 1.
 */
struct api_poll {
	/* 1: r is filled (the answer); 0: nothing yet. Service thread. */
	int (*render)(
	    struct api_ctx *, const struct api_poll *, struct reply *r);
	struct logring *ring;
	int64_t after; /* records with an ID above this */
	size_t max;
	char name[72]; /* "" any */
	uint64_t deadline_mono_ms;
	bool timed_out; /* the last call: answer even if empty */
};

struct api_ctx {
	const struct conf *conf;
	struct snap_slot *ingest;   /* struct ingest_snap */
	struct snap_slot *topology; /* struct topo_snap */
	uint64_t started_ms;
	uint64_t bad_requests; /* garbage requests, shown in health */
	/*
	 * Hand an operator import to the topology thread; takes ownership
	 * of *im (its arrays are moved out). Returns 0, or -1 if busy.
	 */
	int (*topo_import)(void *arg, struct topo_import *im);
	void *topo_arg;
	struct engine *engine;           /* flow definitions */
	struct snap_slot *engine_snap;   /* struct engine_snap */
	struct snap_slot *snmp_counters; /* struct ifc_snap (SNMP) */
	struct forward *forward;         /* forwarding targets */
	struct thresholds *thresholds;
	struct logring *flowlog;  /* struct engine_flowrec */
	struct logring *eventlog; /* struct thresh_event */
	/* The store (NULL: store.enable=0): definitions written through,
	 * and the history API's read connection (service thread only). */
	struct store *store;
	struct store_reader *reader;
	const char *db_path;
	struct history *history;
	struct snap_slot *links; /* struct links_snap (history.h) */
	struct snap_slot *top;   /* struct top_snap (topn.h) */
	bool restoring; /* replaying stored definitions: don't store back */
	struct trace_reg *traces; /* trace_api.c (service thread only) */
	/* Parked long-polls (service thread only). */
	struct pss *waiters;
	size_t n_waiters;
	uint64_t polls_refused; /* over API_MAX_WAITERS */
	struct ws_hub *ws;      /* ws.c (service thread only) */
	struct ha *ha;          /* ha/ha.h; NULL: STANDALONE */
	struct hasync *hasync;  /* config sync with the peer; NULL: none */
	struct nfin *nfin;      /* NetFlow ingest, for the peer's templates */
	bool syncing;           /* applying the peer's write: don't send back */
	uint64_t sync_applied, sync_refused;
	uint64_t ws_refused; /* upgrades without the subprotocol */
};

/* Long-polls parked at once; beyond it a poll is answered 503. */
#define API_MAX_WAITERS 256
/* Longest long-poll timeout, seconds. */
#define API_MAX_POLL_S 300

/* A request, as a handler sees it. */
struct req {
	int method; /* LWSHUMETH_* */
	const char *path;
	const char *body; /* NUL-terminated; NULL without a body */
	size_t body_len;
	struct lws *wsi;   /* for headers and query arguments; NULL: api_call */
	const char *query; /* api_call() only: "a=b&c=d", not encoded */
	/* The path segments matched by '*' in the route, in order. */
	char args[4][128];
	int n_args;
};

/* What a handler fills in. */
struct reply {
	int status;
	const char *type; /* default application/json */
	char *body;       /* malloc'ed, NUL-terminated */
	bool wait;        /* park the request: poll says how */
	struct api_poll poll;
};

/*
 * The value of query argument `name` (without "=") copied into buf,
 * urldecoded; returns buf, or NULL if absent or longer than len - 1.
 */
const char *api_query_arg(
    const struct req *, const char *name, char *buf, size_t len);

/*
 * Answer a request as if it came over HTTP (the websocket's topics and
 * ops, ws.c): the same routes and handlers. Service thread only. r->body
 * is the caller's to free.
 */
void api_call(struct api_ctx *, int method, const char *path, const char *query,
    const char *body, size_t len, struct reply *r);

void api_reply_error(struct reply *, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Render o into the reply and drop the caller's reference to it. */
void api_reply_json(struct reply *, int status, json_t *o);
/*
 * Keep a definition the API accepted (json NULL: deleted) so that it
 * comes back after a restart. No-op without a store or while restoring.
 */
void api_persist(
    struct api_ctx *, int kind, const char *name, const char *json, size_t len);

/* hist_api.c: /api/v1/history/..., /api/v1/events, health's store. */
void api_history_links(struct api_ctx *, const struct req *, struct reply *);
void api_history_top(struct api_ctx *, const struct req *, struct reply *);
void api_store_events(struct api_ctx *, const struct req *, struct reply *);
void api_links(struct api_ctx *, const struct req *, struct reply *);
json_t *api_store_health(struct api_ctx *, const char **status);

/* trace_api.c: black holes now (engine snapshot). */
void api_blackholes(struct api_ctx *, const struct req *, struct reply *);
/* GET /api/v1/prometheus: black holes open and link state, for a scrape. */
void api_prometheus_fabmon(
    struct api_ctx *, const struct req *, struct reply *);
json_t *api_blackhole_json(const struct bh_event *);

/* trace_api.c: live traces. */
void api_trace_post(struct api_ctx *, const struct req *, struct reply *);
void api_trace_list(struct api_ctx *, const struct req *, struct reply *);
void api_trace_get(struct api_ctx *, const struct req *, struct reply *);
void api_trace_delete(struct api_ctx *, const struct req *, struct reply *);
/* Delete the traces nobody viewed for engine.trace_idle_s. */
void api_trace_expire(struct api_ctx *);
void api_trace_free(struct api_ctx *);

/* topn.c: GET /api/v1/top and /api/v1/top/link/{link}. */
void api_top(struct api_ctx *, const struct req *, struct reply *);
void api_top_link(struct api_ctx *, const struct req *, struct reply *);

/* ws.c: the /ws push channel (protocol WS_PROTOCOL). */
struct ws_hub;
json_t *api_ws_health(struct api_ctx *);
/* nf_api.c: health's "netflow" (from is, may be NULL) and "jsonlog". */
struct ingest_snap;
json_t *api_netflow_health(struct api_ctx *, const struct ingest_snap *is);
json_t *api_jsonlog_health(struct api_ctx *);

/* Topology handlers (topology/topo_api.c). */
void api_topology_get(struct api_ctx *, const struct req *, struct reply *);
void api_topology_put(struct api_ctx *, const struct req *, struct reply *);
void api_topology_v1(struct api_ctx *, const struct req *, struct reply *);
void api_topology_lookup(struct api_ctx *, const struct req *, struct reply *);

/* Flow handlers (daemon/flow_api.c). */
void api_flow_put(struct api_ctx *, const struct req *, struct reply *);
void api_flow_get(struct api_ctx *, const struct req *, struct reply *);
void api_flow_delete(struct api_ctx *, const struct req *, struct reply *);
void api_flow_list(struct api_ctx *, const struct req *, struct reply *);
void api_activeflows(struct api_ctx *, const struct req *, struct reply *);
void api_flows_log(struct api_ctx *, const struct req *, struct reply *);
void api_flowkeys(struct api_ctx *, const struct req *, struct reply *);

/* Forwarding handlers (daemon/fwd_api.c). */
void api_forwarding_put(struct api_ctx *, const struct req *, struct reply *);
void api_forwarding_get(struct api_ctx *, const struct req *, struct reply *);
void api_forwarding_delete(
    struct api_ctx *, const struct req *, struct reply *);
void api_forwarding_list(struct api_ctx *, const struct req *, struct reply *);
/* Every target with its counters, for health. */
json_t *api_forwarding_json(struct api_ctx *);

/* Threshold and event handlers (daemon/thresh_api.c). */
void api_threshold_put(struct api_ctx *, const struct req *, struct reply *);
/* sync_api.c: the HA peer's configuration writes (hasync.h). */
void api_ha_sync_post(struct api_ctx *, const struct req *, struct reply *);
void api_ha_sync_get(struct api_ctx *, const struct req *, struct reply *);
/* api_persist()'s hook: send our own write to the peer. */
void api_ha_sync_write(
    struct api_ctx *, int store_kind, const char *name, const char *json);
void api_threshold_get(struct api_ctx *, const struct req *, struct reply *);
void api_threshold_delete(struct api_ctx *, const struct req *, struct reply *);
void api_threshold_list(struct api_ctx *, const struct req *, struct reply *);
void api_events(struct api_ctx *, const struct req *, struct reply *);

/* Counter metric handlers (daemon/metric_api.c). */
void api_metric(struct api_ctx *, const struct req *, struct reply *);
void api_table(struct api_ctx *, const struct req *, struct reply *);
void api_prometheus(struct api_ctx *, const struct req *, struct reply *);

/*
 * The long-poll arguments shared by /flows/json and /events/json: the ID
 * argument (idname: "flowID", "eventID"; absent: -1), the count
 * (maxname: "maxFlows", "maxEvents"; default dflt, at most lim) and
 * timeout (seconds, default 0). Returns 0, or -1 with r filled (400).
 */
int api_poll_args(const struct req *, struct reply *r, struct api_poll *p,
    const char *idname, const char *maxname, size_t dflt, size_t lim);

/*
 * Create the lws context serving the API on conf->http_listen. Returns
 * NULL with a message in err. The api_ctx must outlive the context.
 */
struct lws_context *api_start(struct api_ctx *, char *err, size_t errlen);

#define FABMON_VERSION "0.1.0"

#endif
