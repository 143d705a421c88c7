/*
 * flow_api.c: sFlow-RT's flow endpoints, on the lws service thread.
 *
 *	PUT|GET|DELETE /flow/{name}/json	a flow definition
 *	GET /flow/json				every definition
 *	GET /activeflows/{agent}/{name}/json?maxFlows&minValue&aggMode
 *						the top flows
 *	GET /flows/json?name&flowID&maxFlows&timeout	the flow log
 *
 * Definitions are checked and compiled here and queued for the ingest
 * thread (engine_put); reads come from the engine's last snapshot.
 */
#include <libwebsockets.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "engine.h"
#include "flowrec.h"
#include "logring.h"
#include "store.h"
#include "util.h"

#define ACTIVE_DEFAULT 100 /* maxFlows when not given */
#define ACTIVE_MAX     10000

void
api_flow_put(struct api_ctx *api, const struct req *q, struct reply *r)
{
	struct flowdef d;
	char err[512];
	int rc;

	if (flowdef_parse(q->args[0], q->body ? q->body : "", q->body_len, &d,
	        err, sizeof(err)) != 0) {
		api_reply_error(r, HTTP_STATUS_BAD_REQUEST, "%s", err);
		return;
	}
	rc = engine_put(api->engine, &d, err, sizeof(err));
	if (rc < 0) {
		api_reply_error(r, HTTP_STATUS_BAD_REQUEST, "%s", err);
		return;
	}
	api_persist(api, STORE_FLOWDEF, q->args[0], q->body, q->body_len);
	r->status = HTTP_STATUS_NO_CONTENT;
	r->body = xstrdup("");
}

void
api_flow_get(struct api_ctx *api, const struct req *q, struct reply *r)
{
	struct flowdef d;

	if (engine_get(api->engine, q->args[0], &d) != 0) {
		api_reply_error(
		    r, HTTP_STATUS_NOT_FOUND, "no flow '%s'", q->args[0]);
		return;
	}
	api_reply_json(r, HTTP_STATUS_OK, flowdef_json(&d));
}

void
api_flow_delete(struct api_ctx *api, const struct req *q, struct reply *r)
{
	if (engine_delete(api->engine, q->args[0]) != 0) {
		api_reply_error(
		    r, HTTP_STATUS_NOT_FOUND, "no flow '%s'", q->args[0]);
		return;
	}
	api_persist(api, STORE_FLOWDEF, q->args[0], NULL, 0);
	r->status = HTTP_STATUS_NO_CONTENT;
	r->body = xstrdup("");
}

void
api_flow_list(struct api_ctx *api, const struct req *q, struct reply *r)
{
	size_t n;
	struct flowdef *d = engine_list(api->engine, &n);
	json_t *o = json_object();

	(void)q;
	for (size_t i = 0; i < n; i++)
		json_object_set_new(o, d[i].name, flowdef_json(&d[i]));
	free(d);
	api_reply_json(r, HTTP_STATUS_OK, o);
}

static int
parse_agent(const char *s, struct flowtab_query *fq)
{
	if (strcmp(s, "ALL") == 0 || strcmp(s, "TOPOLOGY") == 0) {
		fq->filter = FLOWTAB_ALL;
		return 0;
	}
	if (strcmp(s, "EDGE") == 0) {
		fq->filter = FLOWTAB_EDGE;
		return 0;
	}
	if (strcmp(s, "CORE") == 0) {
		fq->filter = FLOWTAB_CORE;
		return 0;
	}
	fq->filter = FLOWTAB_ONE;
	return sflow_addr_parse(s, &fq->agent);
}

void
api_activeflows(struct api_ctx *api, const struct req *q, struct reply *r)
{
	struct flowtab_query fq = { 0 };
	struct engine_snap *es;
	struct flowtab_hit *hits;
	const struct engine_flow *f = NULL;
	char arg[64], *end;
	size_t n;
	json_t *a;

	if (parse_agent(q->args[0], &fq) != 0) {
		api_reply_error(r, HTTP_STATUS_BAD_REQUEST,
		    "agent '%s': an "
		    "address, ALL, TOPOLOGY, EDGE or CORE",
		    q->args[0]);
		return;
	}
	fq.max_flows = ACTIVE_DEFAULT;
	fq.agg = FLOWTAB_AGG_MAX;
	if (api_query_arg(q, "maxFlows", arg, sizeof(arg)) != NULL) {
		unsigned long v = strtoul(arg, &end, 10);

		if (*end != '\0' || end == arg || v < 1 || v > ACTIVE_MAX) {
			api_reply_error(r, HTTP_STATUS_BAD_REQUEST,
			    "maxFlows: an integer in 1..%d", ACTIVE_MAX);
			return;
		}
		fq.max_flows = v;
	}
	if (api_query_arg(q, "minValue", arg, sizeof(arg)) != NULL) {
		fq.min_value = strtod(arg, &end);
		if (*end != '\0' || end == arg || !isfinite(fq.min_value)) {
			api_reply_error(
			    r, HTTP_STATUS_BAD_REQUEST, "minValue: a number");
			return;
		}
	}
	if (api_query_arg(q, "aggMode", arg, sizeof(arg)) != NULL) {
		if (strcasecmp(arg, "max") == 0)
			fq.agg = FLOWTAB_AGG_MAX;
		else if (strcasecmp(arg, "sum") == 0)
			fq.agg = FLOWTAB_AGG_SUM;
		else if (strcasecmp(arg, "edge") == 0)
			fq.agg = FLOWTAB_AGG_EDGE;
		else if (strcasecmp(arg, "core") == 0)
			fq.agg = FLOWTAB_AGG_CORE;
		else {
			api_reply_error(r, HTTP_STATUS_BAD_REQUEST,
			    "aggMode: max, sum, edge or core");
			return;
		}
	}
	/* The registry is the truth: a deleted flow is gone at once. */
	{
		struct flowdef d;

		if (engine_get(api->engine, q->args[1], &d) != 0) {
			api_reply_error(r, HTTP_STATUS_NOT_FOUND,
			    "no flow '%s'", q->args[1]);
			return;
		}
	}
	es = (struct engine_snap *)snap_slot_get(api->engine_snap);
	for (size_t i = 0; es != NULL && i < es->n; i++)
		if (strcmp(es->flows[i].def.name, q->args[1]) == 0)
			f = &es->flows[i];
	if (f == NULL) {
		/* defined a moment ago: no data yet */
		if (es != NULL)
			snap_put(&es->base);
		api_reply_json(r, HTTP_STATUS_OK, json_array());
		return;
	}
	hits = xcalloc(fq.max_flows, sizeof(*hits));
	/* as of the snapshot: later, its values would only decay (the
	 * samples since are not in it) */
	n = flowtab_snapshot_top(
	    f->tab, &fq, es->taken_mono_ms, hits, fq.max_flows);
	a = json_array();
	for (size_t i = 0; i < n; i++) {
		char agent[64], ds[16];
		json_t *o = json_object();

		snprintf(ds, sizeof(ds), "%u", hits[i].ds);
		json_object_set_new(
		    o, "key", json_stringn(hits[i].key, hits[i].keylen));
		json_object_set_new(o, "agent",
		    json_string(addr_fmt(agent, sizeof(agent),
		        hits[i].agent.family, hits[i].agent.a)));
		json_object_set_new(o, "dataSource", json_string(ds));
		json_object_set_new(o, "value", json_real(hits[i].value));
		json_array_append_new(a, o);
	}
	free(hits);
	snap_put(&es->base);
	api_reply_json(r, HTTP_STATUS_OK, a);
}

/*
 * sFlow-RT's flow log: GET /flows/json?name&flowID&maxFlows&timeout.
 * Records newer than flowID, newest first (a client loops on the first
 * record's flowID), optionally only those of flow `name`. With a timeout
 * and nothing to say yet the request waits, up to timeout seconds, for
 * the first record.
 */
#define FLOWS_DEFAULT 100
#define FLOWS_MAX     10000

struct flows_ctx {
	const char *name;
	size_t max;
	json_t *a;
};

static void
flows_one(void *arg, uint64_t id, const void *rec)
{
	struct flows_ctx *fc = arg;
	const struct engine_flowrec *r = rec;
	char agent[64], ds[16];
	json_t *o;

	if (json_array_size(fc->a) >= fc->max ||
	    (fc->name[0] != '\0' && strcmp(fc->name, r->name) != 0))
		return;
	snprintf(ds, sizeof(ds), "%u", r->ds);
	o = json_object();
	json_object_set_new(o, "agent",
	    json_string(
	        addr_fmt(agent, sizeof(agent), r->agent.family, r->agent.a)));
	json_object_set_new(o, "dataSource", json_string(ds));
	json_object_set_new(o, "end", json_integer((json_int_t)r->end_ms));
	json_object_set_new(o, "flowID", json_integer((json_int_t)id));
	json_object_set_new(o, "flowKeys", json_stringn(r->key, r->keylen));
	json_object_set_new(o, "name", json_string(r->name));
	json_object_set_new(o, "start", json_integer((json_int_t)r->start_ms));
	json_object_set_new(o, "value", json_real(r->value));
	json_array_append_new(fc->a, o);
}

static int
flows_render(struct api_ctx *api, const struct api_poll *p, struct reply *r)
{
	struct flows_ctx fc = { p->name, p->max, json_array() };

	(void)api;
	/* With a name every newer record is looked at, to find max of its
	 * own; without, the ring stops at max. */
	logring_query(
	    p->ring, p->after, p->name[0] ? SIZE_MAX : p->max, flows_one, &fc);
	if (json_array_size(fc.a) == 0 && !p->timed_out) {
		json_decref(fc.a);
		return 0;
	}
	api_reply_json(r, HTTP_STATUS_OK, fc.a);
	return 1;
}

void
api_flows_log(struct api_ctx *api, const struct req *q, struct reply *r)
{
	struct api_poll p = { 0 };
	char name[sizeof(p.name)];

	if (api_poll_args(
	        q, r, &p, "flowID", "maxFlows", FLOWS_DEFAULT, FLOWS_MAX) != 0)
		return;
	if (api_query_arg(q, "name", name, sizeof(name)) != NULL) {
		if (!flowdef_name_ok(name)) {
			api_reply_error(r, HTTP_STATUS_BAD_REQUEST,
			    "name: not a flow name");
			return;
		}
		snprintf(p.name, sizeof(p.name), "%s", name);
	}
	p.render = flows_render;
	p.ring = api->flowlog;
	if (p.ring == NULL) {
		api_reply_json(r, HTTP_STATUS_OK, json_array());
		return;
	}
	p.timed_out = now_mono_ms() >= p.deadline_mono_ms;
	if (flows_render(api, &p, r))
		return;
	r->wait = true;
	r->poll = p;
}

/*
 * GET /flowkeys/json: the keys flow definitions and filters take, for key
 * completion. sFlow-RT lists the keys seen in traffic with the time since
 * each was last seen; fabmond lists every key it can evaluate, each with
 * its kind ("address", "number", "string", "mac", "ifindex", "function"),
 * and "topology" for the node:/link: functions.
 */
static void
flowkey_cb(void *arg, const char *name, const char *kind, bool layered)
{
	json_object_set_new(arg, name,
	    json_pack("{s:s, s:b}", "kind",
	        strcmp(name, "node") == 0 || strcmp(name, "link") == 0
	            ? "topology"
	            : kind,
	        "inner", layered));
}

void
api_flowkeys(struct api_ctx *api, const struct req *q, struct reply *r)
{
	json_t *o = json_object();

	(void)api;
	(void)q;
	flowkeys_foreach(flowkey_cb, o);
	api_reply_json(r, HTTP_STATUS_OK, o);
}
