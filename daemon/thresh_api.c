/*
 * thresh_api.c: sFlow-RT's thresholds and events, on the lws service
 * thread.
 *
 *	PUT|GET|DELETE /threshold/{name}/json	one threshold
 *	GET /threshold/json			every threshold
 *	GET /events/json?eventID&maxEvents&timeout&thresholdID
 *						the event log, a long-poll
 */
#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "flowdef.h"
#include "logring.h"
#include "store.h"
#include "thresholds.h"
#include "util.h"

#define EVENTS_DEFAULT 100
#define EVENTS_MAX     10000

void
api_threshold_put(struct api_ctx *api, const struct req *q, struct reply *r)
{
	struct threshold *d = xmalloc(sizeof(*d));
	char err[512];

	if (threshold_parse(q->args[0], q->body ? q->body : "", q->body_len, d,
	        err, sizeof(err)) != 0)
		api_reply_error(r, HTTP_STATUS_BAD_REQUEST, "%s", err);
	else if (thresholds_put(api->thresholds, d, err, sizeof(err)) < 0)
		api_reply_error(r, HTTP_STATUS_CONFLICT, "%s", err);
	else {
		api_persist(
		    api, STORE_THRESHOLD, q->args[0], q->body, q->body_len);
		r->status = HTTP_STATUS_NO_CONTENT;
		r->body = xstrdup("");
	}
	free(d);
}

void
api_threshold_get(struct api_ctx *api, const struct req *q, struct reply *r)
{
	struct threshold *d;

	if (thresholds_get(api->thresholds, q->args[0], &d) != 0) {
		api_reply_error(
		    r, HTTP_STATUS_NOT_FOUND, "no threshold '%s'", q->args[0]);
		return;
	}
	api_reply_json(r, HTTP_STATUS_OK, threshold_json(d));
	free(d);
}

void
api_threshold_delete(struct api_ctx *api, const struct req *q, struct reply *r)
{
	if (thresholds_delete(api->thresholds, q->args[0]) != 0) {
		api_reply_error(
		    r, HTTP_STATUS_NOT_FOUND, "no threshold '%s'", q->args[0]);
		return;
	}
	api_persist(api, STORE_THRESHOLD, q->args[0], NULL, 0);
	r->status = HTTP_STATUS_NO_CONTENT;
	r->body = xstrdup("");
}

void
api_threshold_list(struct api_ctx *api, const struct req *q, struct reply *r)
{
	size_t n;
	struct threshold **d = thresholds_list(api->thresholds, &n);
	json_t *o = json_object();

	(void)q;
	for (size_t i = 0; i < n; i++) {
		json_object_set_new(o, d[i]->name, threshold_json(d[i]));
		free(d[i]);
	}
	free(d);
	api_reply_json(r, HTTP_STATUS_OK, o);
}

struct events_ctx {
	const char *name;
	size_t max;
	json_t *a;
};

static void
events_one(void *arg, uint64_t id, const void *rec)
{
	struct events_ctx *ec = arg;
	const struct thresh_event *e = rec;

	if (json_array_size(ec->a) >= ec->max ||
	    (ec->name[0] != '\0' && strcmp(ec->name, e->threshold_id) != 0))
		return;
	json_array_append_new(ec->a, thresh_event_json(id, e));
}

static int
events_render(struct api_ctx *api, const struct api_poll *p, struct reply *r)
{
	struct events_ctx ec = { p->name, p->max, json_array() };

	(void)api;
	logring_query(
	    p->ring, p->after, p->name[0] ? SIZE_MAX : p->max, events_one, &ec);
	if (json_array_size(ec.a) == 0 && !p->timed_out) {
		json_decref(ec.a);
		return 0;
	}
	api_reply_json(r, HTTP_STATUS_OK, ec.a);
	return 1;
}

void
api_events(struct api_ctx *api, const struct req *q, struct reply *r)
{
	struct api_poll p = { 0 };
	char name[sizeof(p.name)];

	if (api_poll_args(q, r, &p, "eventID", "maxEvents", EVENTS_DEFAULT,
	        EVENTS_MAX) != 0)
		return;
	if (api_query_arg(q, "thresholdID", name, sizeof(name)) != NULL) {
		if (!flowdef_name_ok(name)) {
			api_reply_error(r, HTTP_STATUS_BAD_REQUEST,
			    "thresholdID: not a threshold name");
			return;
		}
		snprintf(p.name, sizeof(p.name), "%s", name);
	}
	p.render = events_render;
	p.ring = api->eventlog;
	if (p.ring == NULL) {
		api_reply_json(r, HTTP_STATUS_OK, json_array());
		return;
	}
	p.timed_out = now_mono_ms() >= p.deadline_mono_ms;
	if (events_render(api, &p, r))
		return;
	r->wait = true;
	r->poll = p;
}
