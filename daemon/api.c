/*
 * api.c: REST endpoints on the libwebsockets service thread (main).
 *
 *	GET /api/v1/health	daemon and per-agent ingest health
 *	GET /agents/json	sFlow-RT's agent list
 *	GET /version		sFlow-RT's version string (text)
 *
 * Each handler renders a reply from the latest immutable snapshot into a
 * buffer, then lws writes it out as the socket allows. Nothing blocks.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <limits.h>
#include <unistd.h>
#include <libwebsockets.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>

#include "api.h"
#include "hasync.h"
#include "engine.h"
#include "ha.h"
#include "graph.h"
#include "ingest.h"
#include "topo.h"
#include "log.h"
#include "logring.h"
#include "util.h"
#include "ws.h"

struct pss {
	/* Parked long-polls: a list on the api_ctx, service thread only. */
	struct lws *wsi;
	struct pss *wnext, **wprev;
	bool parked;
	bool answer; /* parked, and the next WRITEABLE sends the answer */
	struct api_poll poll;

	char *buf; /* the reply: LWS_PRE bytes, then the body */
	size_t len;
	size_t off;
	int method;
	char path[512];
	bool want_body;
	bool too_big;
	char *body; /* the request body, NUL-terminated */
	size_t body_len;
};

struct route {
	int method;
	const char *path;
	void (*fn)(struct api_ctx *, const struct req *, struct reply *);
};

static json_t *
addr_json(const struct sflow_addr *a)
{
	char buf[64];

	if (a->family == 0)
		return json_null();
	return json_string(addr_fmt(buf, sizeof(buf), a->family, a->a));
}

/* The ingest thread's pauses (ingest.h), in milliseconds. */
static json_t *
pause_json(const uint64_t *us)
{
	static const char *const names[] = INGEST_PAUSE_NAMES;
	json_t *o = json_object();

	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
		json_object_set_new(
		    o, names[k], json_real((double)us[k] / 1000.0));
	return o;
}

static json_t *
errs_json(const uint64_t *errs)
{
	json_t *o = json_object();

	for (int i = 1; i < SFLOW_ERR__MAX; i++)
		json_object_set_new(
		    o, sflow_err_name(i), json_integer((json_int_t)errs[i]));
	return o;
}

static json_t *
agent_json(const struct agent_stats *a, uint64_t now_ms, uint64_t now_mono)
{
	json_t *o = json_object();

	json_object_set_new(
	    o, "agent", a->header_ok ? addr_json(&a->addr) : json_null());
	json_object_set_new(o, "subAgentId", json_integer(a->sub_agent_id));
	json_object_set_new(o, "source", addr_json(&a->source));
	json_object_set_new(o, "decodable", json_boolean(a->header_ok));
	json_object_set_new(o, "datagrams", json_integer(a->datagrams));
	json_object_set_new(o, "bytes", json_integer(a->bytes));
	json_object_set_new(o, "samples", json_integer(a->samples));
	json_object_set_new(o, "flowSamples", json_integer(a->flow_samples));
	json_object_set_new(
	    o, "counterSamples", json_integer(a->counter_samples));
	json_object_set_new(
	    o, "discardSamples", json_integer(a->discard_samples));
	json_object_set_new(
	    o, "unknownSamples", json_integer(a->other_samples));
	json_object_set_new(o, "badDatagrams", json_integer(a->bad_datagrams));
	json_object_set_new(o, "errors", errs_json(a->errs));
	json_object_set_new(o, "seqLost", json_integer(a->seq_lost));
	json_object_set_new(o, "seqReordered", json_integer(a->seq_reordered));
	json_object_set_new(o, "seqResets", json_integer(a->seq_resets));
	json_object_set_new(o, "samplesLost", json_integer(a->samples_lost));
	json_object_set_new(o, "agentDrops", json_integer(a->agent_drops));
	json_object_set_new(o, "lastSeq", json_integer(a->last_seq));
	json_object_set_new(o, "uptimeMs", json_integer(a->last_uptime_ms));
	json_object_set_new(o, "firstSeen", json_integer(a->first_seen_ms));
	json_object_set_new(o, "lastSeen", json_integer(a->last_seen_ms));
	json_object_set_new(o, "lastSeenAgoMs",
	    json_integer(now_mono >= a->last_seen_mono_ms
	            ? now_mono - a->last_seen_mono_ms
	            : 0));
	(void)now_ms;
	return o;
}

/* The topology thread's state, for operators and keepalived's health. */
static json_t *
topology_health(struct api_ctx *api)
{
	struct topo_snap *ts = api->topology
	    ? (struct topo_snap *)snap_slot_get(api->topology)
	    : NULL;
	json_t *o = json_object();
	size_t reach = 0, polled = 0, down = 0;

	if (ts == NULL) {
		json_object_set_new(o, "version", json_null());
		return o;
	}
	for (size_t i = 0; i < ts->graph->n_nodes; i++) {
		polled += ts->graph->nodes[i].polled;
		reach +=
		    ts->graph->nodes[i].polled && ts->graph->nodes[i].reachable;
	}
	for (size_t i = 0; i < ts->graph->n_links; i++)
		down += ts->graph->links[i].status == TOPO_LINK_DOWN;
	json_object_set_new(
	    o, "version", json_integer((json_int_t)ts->version));
	json_object_set_new(o, "ageMs",
	    json_integer((json_int_t)(now_wall_ms() - ts->built_ms)));
	json_object_set_new(
	    o, "nodes", json_integer((json_int_t)ts->graph->n_nodes));
	json_object_set_new(o, "polled", json_integer((json_int_t)polled));
	json_object_set_new(
	    o, "unreachable", json_integer((json_int_t)(polled - reach)));
	json_object_set_new(
	    o, "links", json_integer((json_int_t)ts->graph->n_links));
	json_object_set_new(o, "linksDown", json_integer((json_int_t)down));
	json_object_set_new(o, "walks", json_integer((json_int_t)ts->walks));
	json_object_set_new(
	    o, "walkTimeouts", json_integer((json_int_t)ts->walk_timeouts));
	json_object_set_new(o, "walkAuthFailures",
	    json_integer((json_int_t)ts->walk_auth_failures));
	json_object_set_new(
	    o, "badVarbinds", json_integer((json_int_t)ts->bad_varbinds));
	snap_put(&ts->base);
	return o;
}

/* Each flow definition's table: size, evictions, what matched. */
static json_t *
flows_health(struct api_ctx *api)
{
	struct engine_snap *es = api->engine_snap
	    ? (struct engine_snap *)snap_slot_get(api->engine_snap)
	    : NULL;
	json_t *a = json_array();

	for (size_t i = 0; es != NULL && i < es->n; i++) {
		const struct engine_flow *f = &es->flows[i];
		json_t *o = json_object();

		json_object_set_new(o, "name", json_string(f->def.name));
		json_object_set_new(
		    o, "entries", json_integer((json_int_t)f->stats.entries));
		json_object_set_new(o, "maxEntries",
		    json_integer((json_int_t)f->stats.max_entries));
		json_object_set_new(o, "evictions",
		    json_integer((json_int_t)f->stats.evictions));
		json_object_set_new(
		    o, "expired", json_integer((json_int_t)f->stats.expired));
		json_object_set_new(
		    o, "matched", json_integer((json_int_t)f->matched));
		json_object_set_new(
		    o, "keyless", json_integer((json_int_t)f->keyless));
		json_object_set_new(o, "memBytes",
		    json_integer((json_int_t)f->stats.mem_bytes));
		json_array_append_new(a, o);
	}
	if (es != NULL)
		snap_put(&es->base);
	return a;
}

/* The flow engine's sample cache (engine.c): how often it is found. */
static json_t *
cache_health(struct api_ctx *api)
{
	struct engine_snap *es = api->engine_snap
	    ? (struct engine_snap *)snap_slot_get(api->engine_snap)
	    : NULL;
	json_t *o;

	if (es == NULL)
		return json_null();
	o = json_pack("{s:I, s:I, s:I, s:I, s:I}", "found",
	    (json_int_t)es->cache.hits, "notFound",
	    (json_int_t)es->cache.misses, "stale", (json_int_t)es->cache.stale,
	    "entries", (json_int_t)es->cache.entries, "memBytes",
	    (json_int_t)es->cache.bytes);
	snap_put(&es->base);
	return o;
}

static char *
health(struct api_ctx *api)
{
	struct ingest_snap *is = (void *)snap_slot_get(api->ingest);
	uint64_t now = now_wall_ms(), mono = now_mono_ms();
	json_t *o = json_object(), *ing, *agents, *listen, *store_h;
	const char *status = "ok";
	char *out;

	json_object_set_new(o, "version", json_string(FABMON_VERSION));
	json_object_set_new(o, "now", json_integer(now));
	json_object_set_new(o, "startedAt", json_integer(api->started_ms));
	json_object_set_new(
	    o, "uptimeSeconds", json_integer((now - api->started_ms) / 1000));
	json_object_set_new(
	    o, "httpBadRequests", json_integer(api->bad_requests));
	ing = json_object();
	agents = json_array();
	if (is != NULL) {
		/* The ingest thread publishes every push period. */
		uint64_t stale = mono - is->loop_mono_ms;
		bool alive = stale < (uint64_t)api->conf->push_ms * 5 + 2000;

		if (!alive)
			status = "degraded";
		json_object_set_new(ing, "alive", json_boolean(alive));
		json_object_set_new(ing, "snapshotAgeMs", json_integer(stale));
		json_object_set_new(ing, "lastDatagramAgoMs",
		    is->last_datagram_mono_ms
		        ? json_integer(mono - is->last_datagram_mono_ms)
		        : json_null());
		listen = json_array();
		for (int i = 0; i < is->n_sockets; i++) {
			json_t *l = json_object();

			json_object_set_new(
			    l, "address", json_string(is->listen[i]));
			json_object_set_new(
			    l, "rcvbuf", json_integer(is->rcvbuf[i]));
			json_object_set_new(
			    l, "protocol", json_string(is->proto[i]));
			json_array_append_new(listen, l);
		}
		json_object_set_new(ing, "listen", listen);
		json_object_set_new(
		    ing, "datagrams", json_integer(is->totals.datagrams));
		json_object_set_new(
		    ing, "samples", json_integer(is->totals.samples));
		json_object_set_new(
		    ing, "kernelDrops", json_integer(is->kernel_drops));
		json_object_set_new(
		    ing, "recvErrors", json_integer(is->recv_errors));
		json_object_set_new(ing, "pauseMs", pause_json(is->pause_us));
		json_object_set_new(
		    ing, "pauseMaxMs", pause_json(is->pause_max_us));
		json_object_set_new(
		    ing, "agents", json_integer(is->totals.n_agents));
		json_object_set_new(ing, "agentsOverflow",
		    json_integer(is->totals.agents_overflow));
		json_object_set_new(ing, "errors", errs_json(is->totals.errs));
		for (size_t i = 0; i < is->n_agents; i++)
			json_array_append_new(
			    agents, agent_json(&is->agents[i], now, mono));
	} else {
		status = "starting";
	}
	store_h = api_store_health(api, &status);
	json_object_set_new(o, "status", json_string(status));
	json_object_set_new(o, "ingest", ing);
	json_object_set_new(o, "netflow", api_netflow_health(api, is));
	json_object_set_new(o, "jsonlog", api_jsonlog_health(api));
	json_object_set_new(o, "topology", topology_health(api));
	json_object_set_new(o, "flows", flows_health(api));
	json_object_set_new(o, "flowCache", cache_health(api));
	json_object_set_new(o, "forwarding", api_forwarding_json(api));
	json_object_set_new(o, "ws", api_ws_health(api));
	json_object_set_new(o, "store", store_h);
	json_object_set_new(o, "agents", agents);
	out = json_dumps(o, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (is != NULL)
		snap_put(&is->base);
	return out;
}

/* sFlow-RT's /agents/json: an object keyed by agent address. */
static char *
agents_rt(struct api_ctx *api)
{
	struct ingest_snap *is = (void *)snap_slot_get(api->ingest);
	uint64_t mono = now_mono_ms(), now = now_wall_ms();
	json_t *o = json_object();
	char *out;

	for (size_t i = 0; is != NULL && i < is->n_agents; i++) {
		const struct agent_stats *a = &is->agents[i];
		char key[64], src[64];
		json_t *e, *srcs;

		if (!a->header_ok)
			continue;
		addr_fmt(key, sizeof(key), a->addr.family, a->addr.a);
		if (a->sub_agent_id != 0) {
			size_t l = strlen(key);

			snprintf(
			    key + l, sizeof(key) - l, ":%u", a->sub_agent_id);
		}
		e = json_object();
		srcs = json_array();
		json_array_append_new(srcs,
		    json_string(addr_fmt(
		        src, sizeof(src), a->source.family, a->source.a)));
		json_object_set_new(e, "sFlowDatagramSource", srcs);
		json_object_set_new(
		    e, "sFlowDatagramsReceived", json_integer(a->datagrams));
		json_object_set_new(
		    e, "sFlowDatagramsLost", json_integer(a->seq_lost));
		json_object_set_new(e, "sFlowDatagramsOutOfOrder",
		    json_integer(a->seq_reordered));
		json_object_set_new(
		    e, "sFlowFlowSamples", json_integer(a->flow_samples));
		json_object_set_new(
		    e, "sFlowCounterSamples", json_integer(a->counter_samples));
		json_object_set_new(
		    e, "sFlowDiscardSamples", json_integer(a->discard_samples));
		json_object_set_new(
		    e, "sFlowFlowLostSamples", json_integer(a->samples_lost));
		json_object_set_new(
		    e, "sFlowFlowDrops", json_integer(a->agent_drops));
		json_object_set_new(
		    e, "uptime", json_integer(a->last_uptime_ms));
		/* sFlow-RT reports both as milliseconds ago. */
		json_object_set_new(e, "firstSeen",
		    json_integer(
		        now > a->first_seen_ms ? now - a->first_seen_ms : 0));
		json_object_set_new(
		    e, "lastSeen", json_integer(mono - a->last_seen_mono_ms));
		json_object_set_new(o, key, e);
	}
	out = json_dumps(o, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (is != NULL)
		snap_put(&is->base);
	return out;
}

static char *
error_body(const char *msg)
{
	json_t *o = json_pack("{s:s}", "error", msg);
	char *out = json_dumps(o, JSON_COMPACT);

	json_decref(o);
	return out;
}

void
api_reply_error(struct reply *r, int status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r->status = status;
	r->type = "application/json";
	free(r->body);
	r->body = error_body(msg);
}

void
api_reply_json(struct reply *r, int status, json_t *o)
{
	r->status = status;
	r->type = "application/json";
	free(r->body);
	r->body = json_dumps(o, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	json_decref(o);
}

static void
h_health(struct api_ctx *api, const struct req *q, struct reply *r)
{
	(void)q;
	r->body = health(api);
}

static void
h_agents(struct api_ctx *api, const struct req *q, struct reply *r)
{
	(void)q;
	r->body = agents_rt(api);
}

static void
h_version(struct api_ctx *api, const struct req *q, struct reply *r)
{
	(void)api;
	(void)q;
	r->type = "text/plain";
	r->body = xstrdup(FABMON_VERSION);
}

/*
 * The routes. A path matches exactly, or by prefix when it ends in '/'.
 * Handlers run on the lws service thread: they read snapshots or queue
 * work for another thread, and never block.
 */
/* GET /api/v1/ha: the VRRP role (STANDALONE without keepalived). */
static void
h_ha(struct api_ctx *api, const struct req *q, struct reply *r)
{
	json_t *o = ha_json(api->ha, api->started_ms);

	(void)q;
	if (api->hasync != NULL) {
		json_t *s = hasync_json(api->hasync);

		json_object_set_new(
		    s, "applied", json_integer((json_int_t)api->sync_applied));
		json_object_set_new(
		    s, "refused", json_integer((json_int_t)api->sync_refused));
		json_object_set_new(o, "sync", s);
	}
	api_reply_json(r, HTTP_STATUS_OK, o);
}

static const struct route routes[] = {
	{ LWSHUMETH_GET, "/api/v1/health", h_health },
	{ LWSHUMETH_POST, "/api/v1/ha/sync", api_ha_sync_post },
	{ LWSHUMETH_GET, "/api/v1/ha/sync", api_ha_sync_get },
	{ LWSHUMETH_GET, "/agents/json", h_agents },
	{ LWSHUMETH_GET, "/version", h_version },
	{ LWSHUMETH_GET, "/topology/json", api_topology_get },
	{ LWSHUMETH_PUT, "/topology/json", api_topology_put },
	{ LWSHUMETH_GET, "/api/v1/topology", api_topology_v1 },
	{ LWSHUMETH_GET, "/api/v1/topology/lookup", api_topology_lookup },
	{ LWSHUMETH_GET, "/flow/json", api_flow_list },
	{ LWSHUMETH_PUT, "/flow/*/json", api_flow_put },
	{ LWSHUMETH_GET, "/flow/*/json", api_flow_get },
	{ LWSHUMETH_DELETE, "/flow/*/json", api_flow_delete },
	{ LWSHUMETH_GET, "/activeflows/*/*/json", api_activeflows },
	{ LWSHUMETH_GET, "/flows/json", api_flows_log },
	{ LWSHUMETH_GET, "/flowkeys/json", api_flowkeys },
	{ LWSHUMETH_GET, "/metric/*/*/json", api_metric },
	{ LWSHUMETH_GET, "/threshold/json", api_threshold_list },
	{ LWSHUMETH_PUT, "/threshold/*/json", api_threshold_put },
	{ LWSHUMETH_GET, "/threshold/*/json", api_threshold_get },
	{ LWSHUMETH_DELETE, "/threshold/*/json", api_threshold_delete },
	{ LWSHUMETH_GET, "/events/json", api_events },
	{ LWSHUMETH_GET, "/forwarding/json", api_forwarding_list },
	{ LWSHUMETH_PUT, "/forwarding/*/json", api_forwarding_put },
	{ LWSHUMETH_GET, "/forwarding/*/json", api_forwarding_get },
	{ LWSHUMETH_DELETE, "/forwarding/*/json", api_forwarding_delete },
	{ LWSHUMETH_GET, "/table/*/*/json", api_table },
	{ LWSHUMETH_GET, "/prometheus/metrics/*/*/txt", api_prometheus },
	{ LWSHUMETH_GET, "/api/v1/history/links/*", api_history_links },
	{ LWSHUMETH_GET, "/api/v1/history/top", api_history_top },
	{ LWSHUMETH_GET, "/api/v1/events", api_store_events },
	{ LWSHUMETH_GET, "/api/v1/blackholes", api_blackholes },
	{ LWSHUMETH_GET, "/api/v1/links", api_links },
	{ LWSHUMETH_GET, "/api/v1/ha", h_ha },
	{ LWSHUMETH_GET, "/api/v1/top", api_top },
	{ LWSHUMETH_GET, "/api/v1/top/link/*", api_top_link },
	{ LWSHUMETH_GET, "/api/v1/prometheus", api_prometheus_fabmon },
	{ LWSHUMETH_POST, "/api/v1/trace", api_trace_post },
	{ LWSHUMETH_GET, "/api/v1/trace", api_trace_list },
	{ LWSHUMETH_GET, "/api/v1/trace/*", api_trace_get },
	{ LWSHUMETH_DELETE, "/api/v1/trace/*", api_trace_delete },
};

/*
 * Match a path against a route pattern: '*' stands for one non-empty
 * segment, captured into q->args. Returns true on a match.
 */
static bool
path_match(const char *pat, const char *path, struct req *q)
{
	q->n_args = 0;
	while (*pat != '\0') {
		if (*pat == '*') {
			size_t n = strcspn(path, "/");

			if (n == 0 || n >= sizeof(q->args[0]) ||
			    q->n_args >= (int)nitems(q->args))
				return false;
			memcpy(q->args[q->n_args], path, n);
			q->args[q->n_args++][n] = '\0';
			path += n;
			pat++;
			continue;
		}
		if (*pat != *path)
			return false;
		pat++;
		path++;
	}
	return *path == '\0';
}

/* Route a request; fills r. Never blocks. */
static void
route(struct api_ctx *api, struct req *q, struct reply *r)
{
	bool path_known = false;
	int method = q->method == LWSHUMETH_HEAD ? LWSHUMETH_GET : q->method;

	r->status = HTTP_STATUS_OK;
	r->type = "application/json";
	api_trace_expire(api);
	for (size_t i = 0; i < nitems(routes); i++) {
		if (!path_match(routes[i].path, q->path, q))
			continue;
		path_known = true;
		if (routes[i].method == method) {
			routes[i].fn(api, q, r);
			return;
		}
	}
	if (path_known)
		api_reply_error(r, HTTP_STATUS_METHOD_NOT_ALLOWED,
		    "method not allowed on %s", q->path);
	else
		api_reply_error(r, HTTP_STATUS_NOT_FOUND, "no such resource");
}

void
api_call(struct api_ctx *api, int method, const char *path, const char *query,
    const char *body, size_t len, struct reply *r)
{
	struct req q = { .method = method,
		.path = path,
		.query = query,
		.body = body,
		.body_len = len };

	memset(r, 0, sizeof(*r));
	route(api, &q, r);
	assert(!r->wait); /* no long-poll is reachable from here */
}

const char *
api_query_arg(const struct req *q, const char *name, char *buf, size_t len)
{
	size_t nl = strlen(name);
	char frag[2048];

	/*
	 * lws_hdr_copy_fragment() fails alike for a missing fragment and one
	 * longer than the buffer (so lws_get_urlarg_by_name() with a small
	 * buffer misses arguments after a long one): read every fragment
	 * into a large buffer, then copy the value.
	 */
	if (q->wsi == NULL) {
		/* api_call(): "a=b&c=d", not encoded */
		const char *p = q->query;

		while (p != NULL && *p != '\0') {
			size_t n = strcspn(p, "&");

			if (n > nl && strncmp(p, name, nl) == 0 &&
			    p[nl] == '=') {
				if (n - nl - 1 >= len)
					return NULL;
				memcpy(buf, p + nl + 1, n - nl - 1);
				buf[n - nl - 1] = '\0';
				return buf;
			}
			p += n + (p[n] == '&');
		}
		return NULL;
	}
	for (int i = 0; i < 64; i++) {
		int n = lws_hdr_copy_fragment(q->wsi, frag, (int)sizeof(frag),
		    WSI_TOKEN_HTTP_URI_ARGS, i);

		if (n < 0)
			break;
		if ((size_t)n > nl && strncmp(frag, name, nl) == 0 &&
		    frag[nl] == '=') {
			if ((size_t)n - nl - 1 >= len)
				return NULL;
			memcpy(buf, frag + nl + 1, (size_t)n - nl);
			return buf;
		}
	}
	return NULL;
}

/* A write needs the token, when one is configured (DESIGN §7). */
static bool
authorized(struct api_ctx *api, struct lws *wsi)
{
	char hdr[512];
	const char *tok = api->conf->http_token;
	int n;

	if (tok == NULL || *tok == '\0')
		return true;
	n = lws_hdr_copy(wsi, hdr, sizeof(hdr), WSI_TOKEN_HTTP_AUTHORIZATION);
	if (n > 7 && strncasecmp(hdr, "Bearer ", 7) == 0 &&
	    strcmp(hdr + 7, tok) == 0)
		return true;
	n = lws_hdr_custom_copy(wsi, hdr, sizeof(hdr), "x-auth-token:", 13);
	return n > 0 && strcmp(hdr, tok) == 0;
}

static int
send_reply(struct lws *wsi, struct pss *pss, struct reply *r)
{
	uint8_t hbuf[LWS_PRE + 1024], *start = &hbuf[LWS_PRE], *p = start,
	                              *end = &hbuf[sizeof(hbuf) - 1];

	if (r->body == NULL)
		r->body = xstrdup("");
	pss->len = strlen(r->body);
	free(pss->buf);
	/*
	 * The body moves behind LWS_PRE bytes in its own block, grown in
	 * place: a second copy of a 13 MB topology was the peak of a GET.
	 */
	pss->buf = xrealloc(r->body, LWS_PRE + pss->len + 1);
	memmove(pss->buf + LWS_PRE, pss->buf, pss->len + 1);
	r->body = NULL;
	pss->off = 0;
	if (lws_add_http_common_headers(
	        wsi, (unsigned)r->status, r->type, pss->len, &p, end) ||
	    lws_add_http_header_by_name(wsi,
	        (const unsigned char *)"cache-control:",
	        (const unsigned char *)"no-store", 8, &p, end) ||
	    lws_finalize_write_http_header(wsi, start, &p, end))
		return 1;
	if (pss->method == LWSHUMETH_HEAD || pss->len == 0) {
		free(pss->buf);
		pss->buf = NULL;
		if (lws_http_transaction_completed(wsi))
			return -1;
		return 0;
	}
	lws_callback_on_writable(wsi);
	return 0;
}

static void
unpark(struct api_ctx *api, struct pss *pss)
{
	if (!pss->parked)
		return;
	*pss->wprev = pss->wnext;
	if (pss->wnext != NULL)
		pss->wnext->wprev = pss->wprev;
	pss->parked = false;
	api->n_waiters--;
}

static void
pss_reset(struct api_ctx *api, struct pss *pss)
{
	unpark(api, pss);
	free(pss->buf);
	free(pss->body);
	memset(pss, 0, sizeof(*pss));
}

/* Answer at once with an error, and count the bad request. */
static int
refuse(struct api_ctx *api, struct lws *wsi, struct pss *pss, int status,
    const char *fmt, const char *arg)
{
	struct reply r = { 0 };

	api->bad_requests++;
	api_reply_error(&r, status, fmt, arg);
	return send_reply(wsi, pss, &r);
}

/*
 * Park a long-poll: it is answered from LWS_CALLBACK_HTTP_WRITEABLE once
 * its render finds records (checked on every wake of the service loop) or
 * at its deadline (an lws timer on the connection).
 */
static int
park(struct api_ctx *api, struct lws *wsi, struct pss *pss,
    const struct api_poll *p)
{
	uint64_t now = now_mono_ms(), left;
	struct reply r = { 0 };

	if (api->n_waiters >= API_MAX_WAITERS) {
		api->polls_refused++;
		api_reply_error(&r, HTTP_STATUS_SERVICE_UNAVAILABLE,
		    "too many long-polls waiting (%d)", API_MAX_WAITERS);
		return send_reply(wsi, pss, &r);
	}
	pss->poll = *p;
	pss->wsi = wsi;
	pss->wnext = api->waiters;
	if (api->waiters != NULL)
		api->waiters->wprev = &pss->wnext;
	pss->wprev = &api->waiters;
	api->waiters = pss;
	pss->parked = true;
	pss->answer = false;
	api->n_waiters++;
	left = p->deadline_mono_ms > now ? p->deadline_mono_ms - now : 0;
	lws_set_timer_usecs(wsi, (lws_usec_t)left * 1000);
	/* lws's own timeout, as a backstop should the timer be lost. */
	lws_set_timeout(
	    wsi, PENDING_TIMEOUT_HTTP_CONTENT, (int)(left / 1000) + 30);
	return 0;
}

/* Ask every parked poll that may have an answer to write it. */
static void
wake_waiters(struct api_ctx *api)
{
	for (struct pss *p = api->waiters; p != NULL; p = p->wnext) {
		if (p->answer)
			continue;
		if (p->poll.ring != NULL &&
		    (int64_t)logring_last_id(p->poll.ring) <= p->poll.after)
			continue; /* nothing new: skip the render */
		p->answer = true;
		lws_callback_on_writable(p->wsi);
	}
}

/* In WRITEABLE: render a parked poll; send it, or keep waiting. */
static int
answer_parked(struct api_ctx *api, struct lws *wsi, struct pss *pss)
{
	struct reply r = { 0 };

	pss->answer = false;
	if (now_mono_ms() >= pss->poll.deadline_mono_ms)
		pss->poll.timed_out = true;
	r.status = HTTP_STATUS_OK;
	r.type = "application/json";
	if (!pss->poll.render(api, &pss->poll, &r)) {
		free(r.body);
		return 0; /* records, but none this poll wants */
	}
	unpark(api, pss);
	lws_set_timer_usecs(wsi, LWS_SET_TIMER_USEC_CANCEL);
	lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
	return send_reply(wsi, pss, &r);
}

int
api_poll_args(const struct req *q, struct reply *r, struct api_poll *p,
    const char *idname, const char *maxname, size_t dflt, size_t lim)
{
	char arg[64], *end;

	p->after = -1;
	p->max = dflt;
	p->deadline_mono_ms = now_mono_ms();
	if (api_query_arg(q, idname, arg, sizeof(arg)) != NULL) {
		long long v = strtoll(arg, &end, 10);

		if (*end != '\0' || end == arg || v < -1) {
			api_reply_error(r, HTTP_STATUS_BAD_REQUEST,
			    "%s: an integer >= -1", idname);
			return -1;
		}
		p->after = v;
	}
	if (api_query_arg(q, maxname, arg, sizeof(arg)) != NULL) {
		unsigned long v = strtoul(arg, &end, 10);

		if (*end != '\0' || end == arg || v < 1 || v > lim) {
			api_reply_error(r, HTTP_STATUS_BAD_REQUEST,
			    "%s: an integer in 1..%zu", maxname, lim);
			return -1;
		}
		p->max = v;
	}
	if (api_query_arg(q, "timeout", arg, sizeof(arg)) != NULL) {
		double v = strtod(arg, &end);

		if (*end != '\0' || end == arg || !(v >= 0) ||
		    v > API_MAX_POLL_S) {
			api_reply_error(r, HTTP_STATUS_BAD_REQUEST,
			    "timeout: seconds in 0..%d", API_MAX_POLL_S);
			return -1;
		}
		p->deadline_mono_ms += (uint64_t)(v * 1000);
	}
	return 0;
}

static int
callback_http(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	struct pss *pss = user;
	struct api_ctx *api = lws_context_user(lws_get_context(wsi));
	struct reply r = { 0 };
	struct req q;
	char *uri = NULL;
	int ulen = 0;

	switch (reason) {
	case LWS_CALLBACK_HTTP:
		if (pss == NULL)
			return -1;
		pss_reset(api, pss);
		pss->method = lws_http_get_uri_and_method(wsi, &uri, &ulen);
		if (pss->method < 0 || uri == NULL || ulen <= 0 ||
		    (size_t)ulen >= sizeof(pss->path)) {
			api->bad_requests++;
			lws_return_http_status(
			    wsi, HTTP_STATUS_BAD_REQUEST, NULL);
			return -1;
		}
		memcpy(pss->path, uri, (size_t)ulen);
		pss->path[ulen] = '\0';
		if (pss->method == LWSHUMETH_PUT ||
		    pss->method == LWSHUMETH_POST ||
		    pss->method == LWSHUMETH_DELETE ||
		    pss->method == LWSHUMETH_PATCH) {
			char cl[32];

			/* the peer's sync is signed with ha.secret instead */
			if (strcmp(pss->path, "/api/v1/ha/sync") != 0 &&
			    !authorized(api, wsi))
				return refuse(api, wsi, pss,
				    HTTP_STATUS_UNAUTHORIZED,
				    "%s needs the write token (Authorization: "
				    "Bearer TOKEN)",
				    pss->path);
			if (lws_hdr_copy(wsi, cl, sizeof(cl),
			        WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0 &&
			    strtoull(cl, NULL, 10) >
			        (unsigned long long)api->conf->http_max_body)
				return refuse(api, wsi, pss,
				    HTTP_STATUS_REQ_ENTITY_TOO_LARGE,
				    "request body over the limit (%s)",
				    "http.max_body");
			/*
			 * lws 4.1 does not decode a chunked request body: say
			 * so rather than route an empty one.
			 */
			if (lws_hdr_total_length(
			        wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0 &&
			    lws_hdr_total_length(
			        wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0)
				return refuse(api, wsi, pss, 411,
				    "%s: send the body with a Content-Length "
				    "(chunked bodies are not taken)",
				    pss->path);
			/* The body arrives in LWS_CALLBACK_HTTP_BODY. */
			pss->want_body = true;
			if (lws_hdr_total_length(
			        wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0)
				return 0;
		}
		q.method = pss->method;
		q.path = pss->path;
		q.body = NULL;
		q.body_len = 0;
		q.wsi = wsi;
		route(api, &q, &r);
		if (r.wait)
			return park(api, wsi, pss, &r.poll);
		if (r.status >= 400)
			api->bad_requests++;
		return send_reply(wsi, pss, &r);
	case LWS_CALLBACK_HTTP_BODY:
		if (pss == NULL || !pss->want_body)
			return -1;
		if (pss->body_len + len > (size_t)api->conf->http_max_body) {
			pss->too_big = true;
			return 0; /* drain, answer 413 at completion */
		}
		pss->body = xrealloc(pss->body, pss->body_len + len + 1);
		memcpy(pss->body + pss->body_len, in, len);
		pss->body_len += len;
		pss->body[pss->body_len] = '\0';
		return 0;
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		if (pss == NULL || !pss->want_body)
			return -1;
		pss->want_body = false;
		if (pss->too_big)
			return refuse(api, wsi, pss,
			    HTTP_STATUS_REQ_ENTITY_TOO_LARGE,
			    "request body over the limit (%s)",
			    "http.max_body");
		q.method = pss->method;
		q.path = pss->path;
		q.body = pss->body ? pss->body : "";
		q.body_len = pss->body_len;
		q.wsi = wsi;
		route(api, &q, &r);
		if (r.status >= 400)
			api->bad_requests++;
		return send_reply(wsi, pss, &r);
	case LWS_CALLBACK_HTTP_WRITEABLE: {
		size_t chunk;
		int final;

		if (pss != NULL && pss->parked && pss->answer)
			return answer_parked(api, wsi, pss);
		if (pss == NULL || pss->buf == NULL)
			break;
		chunk = pss->len - pss->off;
		if (chunk > 16384)
			chunk = 16384;
		final = pss->off + chunk == pss->len;
		/*
		 * lws may write framing into the LWS_PRE bytes before the
		 * pointer: those hold the part of the body already sent.
		 */
		if (lws_write(wsi,
		        (unsigned char *)pss->buf + LWS_PRE + pss->off, chunk,
		        final ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) !=
		    (int)chunk)
			return 1;
		pss->off += chunk;
		if (!final) {
			lws_callback_on_writable(wsi);
			return 0;
		}
		free(pss->buf);
		pss->buf = NULL;
		if (lws_http_transaction_completed(wsi))
			return -1;
		return 0;
	}
	case LWS_CALLBACK_TIMER:
		/* A parked poll's deadline: answer, even if empty. */
		if (pss != NULL && pss->parked) {
			pss->poll.deadline_mono_ms = 0;
			pss->answer = true;
			lws_callback_on_writable(wsi);
		}
		return 0;
	case LWS_CALLBACK_ESTABLISHED:
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		/* A websocket without the subprotocol fabmon.v1 lands here:
		 * refuse it rather than hold a socket nothing talks to. */
		api->ws_refused++;
		return reason == LWS_CALLBACK_ESTABLISHED ? -1 : 1;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		/* Another thread woke us: new records may answer polls. */
		wake_waiters(api);
		return 0;
	case LWS_CALLBACK_CLOSED_HTTP:
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
		/* lws calls these with no session data when a request was
		 * refused before it bound one (e.g. headers too long). */
		if (pss != NULL)
			pss_reset(api, pss);
		break;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
	{ "http", callback_http, sizeof(struct pss), 0, 0, NULL, 0 },
	{ WS_PROTOCOL, ws_callback, WS_SESSION_SIZE, 4096, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

#define MOUNT(nxt, point)                                                      \
	{                                                                      \
		.mount_next = (nxt), .mountpoint = (point),                    \
		.protocol = "http", .origin_protocol = LWSMPRO_CALLBACK,       \
		.mountpoint_len = sizeof(point) - 1                            \
	}

static const struct lws_http_mount mount_activeflows =
    MOUNT(NULL, "/activeflows");
static const struct lws_http_mount mount_threshold =
    MOUNT(&mount_activeflows, "/threshold");
static const struct lws_http_mount mount_events =
    MOUNT(&mount_threshold, "/events");
static const struct lws_http_mount mount_forwarding =
    MOUNT(&mount_events, "/forwarding");
static const struct lws_http_mount mount_prometheus =
    MOUNT(&mount_forwarding, "/prometheus");
static const struct lws_http_mount mount_table =
    MOUNT(&mount_prometheus, "/table");
static const struct lws_http_mount mount_metric =
    MOUNT(&mount_table, "/metric");
static const struct lws_http_mount mount_flowkeys =
    MOUNT(&mount_metric, "/flowkeys");
static const struct lws_http_mount mount_flows =
    MOUNT(&mount_flowkeys, "/flows");
static const struct lws_http_mount mount_flow = MOUNT(&mount_flows, "/flow");
static const struct lws_http_mount mount_topology =
    MOUNT(&mount_flow, "/topology");
static const struct lws_http_mount mount_version =
    MOUNT(&mount_topology, "/version");
static const struct lws_http_mount mount_agents =
    MOUNT(&mount_version, "/agents");
static const struct lws_http_mount mount_api = MOUNT(&mount_agents, "/api");

/*
 * The web page (web/): static files under "/", behind every API mount
 * (lws takes the longest matching mountpoint). No caching of index.html,
 * so that a new build shows after a reload.
 */
static struct lws_http_mount mount_web = {
	.mount_next = &mount_api,
	.mountpoint = "/",
	.mountpoint_len = 1,
	.origin_protocol = LWSMPRO_FILE,
	.def = "index.html",
	.cache_max_age = 0,
};
static char web_dir[PATH_MAX];

#ifndef FABMON_SHARE
#define FABMON_SHARE "/usr/local/share/fabmon"
#endif

/* http.web_dir, else web/ beside the build (build/fabmond -> web/),
 * else FABMON_SHARE/web. Returns "" when none has an index.html. */
static const char *
find_web_dir(const struct conf *conf)
{
	char exe[PATH_MAX], probe[PATH_MAX + 32];
	ssize_t n;

	if (conf->web_dir != NULL)
		return conf->web_dir;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		char *slash;

		exe[n] = '\0';
		/* build/fabmond and build/asan/fabmond: try ../web, ../../web
		 */
		for (int up = 1; up <= 2; up++) {
			slash = strrchr(exe, '/');
			if (slash == NULL)
				break;
			*slash = '\0';
			snprintf(
			    probe, sizeof(probe), "%s/../web/index.html", exe);
			if (access(probe, R_OK) == 0) {
				snprintf(
				    probe, sizeof(probe), "%s/../web", exe);
				if (realpath(probe, web_dir) != NULL)
					return web_dir;
			}
		}
	}
	if (access(FABMON_SHARE "/web/index.html", R_OK) == 0)
		return FABMON_SHARE "/web";
	return "";
}

static void
lws_log_emit(int level, const char *line)
{
	char buf[512];
	size_t n = strlen(line);

	if (n > 0 && line[n - 1] == '\n')
		n--;
	snprintf(buf, sizeof(buf), "%.*s", (int)n, line);
	if (level & LLL_ERR)
		log_warnx("http", "%s", buf);
	else
		log_debug("http", "%s", buf);
}

struct lws_context *
api_start(struct api_ctx *api, char *err, size_t errlen)
{
	struct lws_context_creation_info info;
	struct sockaddr_storage ss;
	socklen_t sl;
	static char iface[INET6_ADDRSTRLEN];
	struct lws_context *ctx;
	int port;

	if (addrport_parse(api->conf->http_listen, 8008, &ss, &sl) != 0) {
		snprintf(err, errlen, "http listen '%s' is not ADDR:PORT",
		    api->conf->http_listen);
		return NULL;
	}
	lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_emit);
	memset(&info, 0, sizeof(info));
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		port = ntohs(sin->sin_port);
		if (sin->sin_addr.s_addr != htonl(INADDR_ANY)) {
			inet_ntop(
			    AF_INET, &sin->sin_addr, iface, sizeof(iface));
			info.iface = iface;
		}
		info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		port = ntohs(sin6->sin6_port);
		if (!IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr)) {
			inet_ntop(
			    AF_INET6, &sin6->sin6_addr, iface, sizeof(iface));
			info.iface = iface;
		}
	}
	info.port = port;
	info.protocols = protocols;
	{
		const char *wd = find_web_dir(api->conf);

		if (wd[0] != '\0') {
			mount_web.origin = wd;
			info.mounts = &mount_web;
			log_info("http", "web page from %s", wd);
		} else {
			info.mounts = &mount_api;
			log_warnx("http",
			    "no web page: no index.html in "
			    "http.web_dir, web/ or " FABMON_SHARE "/web");
		}
	}
	info.user = api;
	info.vhost_name = "fabmond";
	info.server_string = "fabmond/" FABMON_VERSION;
	info.options |=
	    LWS_SERVER_OPTION_HTTP_HEADERS_SECURITY_BEST_PRACTICES_ENFORCE;
	ctx = lws_create_context(&info);
	if (ctx == NULL)
		snprintf(err, errlen,
		    "cannot serve HTTP on %s (address in "
		    "use, or not local?)",
		    api->conf->http_listen);
	return ctx;
}
