/*
 * hist_api.c: the history API, answered from the store's read connection
 * on the lws service thread (never from the store thread, so a long query
 * never holds up writes or ingest), the store's part of health, and
 * api_persist(), which writes accepted definitions through to the store.
 *
 * Times: from/to are unix seconds, or negative seconds relative to now
 * (from=-3600), or ISO 8601 UTC (2026-11-22T03:10:00Z).
 */
#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "history.h"
#include "store.h"
#include "util.h"

void
api_persist(struct api_ctx *api, int kind, const char *name, const char *json,
    size_t len)
{
	char *copy = NULL;

	if (api->restoring)
		return;
	if (json != NULL) {
		copy = xmalloc(len + 1);
		memcpy(copy, json, len);
		copy[len] = '\0';
	}
	/* the HA peer gets it too (unless it came from there) */
	api_ha_sync_write(api, kind, name, copy);
	if (api->store != NULL)
		store_put_def(
		    api->store, (enum store_def_kind)kind, name, copy);
	free(copy);
}

/* A time argument, in unix seconds; def if absent. -1 on a bad one. */
static int
time_arg(const struct req *q, const char *name, int64_t def, int64_t now,
    int64_t *out)
{
	char buf[64], *end;
	struct tm tm;
	long long v;

	if (api_query_arg(q, name, buf, sizeof(buf)) == NULL ||
	    buf[0] == '\0') {
		*out = def;
		return 0;
	}
	v = strtoll(buf, &end, 10);
	if (*end == '\0' && end != buf) {
		*out = v < 0 ? now + v : v;
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	end = strptime(buf, "%Y-%m-%dT%H:%M:%S", &tm);
	if (end != NULL && (*end == '\0' || strcmp(end, "Z") == 0)) {
		*out = (int64_t)timegm(&tm);
		return 0;
	}
	return -1;
}

static struct store_reader *
reader(struct api_ctx *api, struct reply *r)
{
	char err[256];

	if (api->store == NULL) {
		api_reply_error(r, HTTP_STATUS_SERVICE_UNAVAILABLE,
		    "no history: the store is off (store.enable=0)");
		return NULL;
	}
	if (api->reader == NULL &&
	    (api->reader = store_reader_open(api->db_path, err, sizeof(err))) ==
	        NULL) {
		api_reply_error(
		    r, HTTP_STATUS_SERVICE_UNAVAILABLE, "history: %s", err);
		return NULL;
	}
	return api->reader;
}

static void
answer(struct reply *r, json_t *o, const char *err)
{
	if (o != NULL)
		api_reply_json(r, HTTP_STATUS_OK, o);
	else
		api_reply_error(r,
		    strncmp(err, "not found", 9) == 0 ? HTTP_STATUS_NOT_FOUND
		                                      : HTTP_STATUS_BAD_REQUEST,
		    "%s", err);
}

/* from, to (default: the last hour) and max (default def, at most cap). */
static int
range_args(const struct req *q, struct reply *r, int64_t *from, int64_t *to,
    size_t *max, size_t def, size_t cap)
{
	int64_t now = (int64_t)(now_wall_ms() / 1000);
	char buf[32], *end;

	if (time_arg(q, "to", now, now, to) != 0 ||
	    time_arg(q, "from", *to - 3600, now, from) != 0) {
		api_reply_error(r, HTTP_STATUS_BAD_REQUEST,
		    "from/to: unix seconds, -seconds (relative to now) or "
		    "YYYY-MM-DDTHH:MM:SSZ");
		return -1;
	}
	if (*from >= *to) {
		api_reply_error(
		    r, HTTP_STATUS_BAD_REQUEST, "from must be < to");
		return -1;
	}
	*max = def;
	if (api_query_arg(q, "max", buf, sizeof(buf)) != NULL) {
		unsigned long v = strtoul(buf, &end, 10);

		if (*end != '\0' || end == buf || v == 0 || v > cap) {
			api_reply_error(
			    r, HTTP_STATUS_BAD_REQUEST, "max: 1 to %zu", cap);
			return -1;
		}
		*max = v;
	}
	return 0;
}

void
api_history_links(struct api_ctx *api, const struct req *q, struct reply *r)
{
	struct store_reader *rd;
	int64_t from, to, step = 60;
	size_t max;
	char buf[32], *end, err[256] = "";
	json_t *o;

	if (range_args(q, r, &from, &to, &max, 10000, 10000) != 0)
		return;
	if (api_query_arg(q, "step", buf, sizeof(buf)) != NULL) {
		step = strtoll(buf, &end, 10);
		if (*end != '\0' || end == buf || step <= 0) {
			api_reply_error(
			    r, HTTP_STATUS_BAD_REQUEST, "step: seconds, > 0");
			return;
		}
	}
	if ((rd = reader(api, r)) == NULL)
		return;
	o = store_q_link_history(
	    rd, q->args[0], from, to, step, err, sizeof(err));
	answer(r, o, err);
}

void
api_history_top(struct api_ctx *api, const struct req *q, struct reply *r)
{
	struct store_reader *rd;
	int64_t from, to;
	size_t max;
	char link[STORE_NAME_MAX], edge[8], err[256] = "";
	const char *scope = NULL;
	json_t *o;

	if (range_args(q, r, &from, &to, &max, 20, 1000) != 0)
		return;
	if (api_query_arg(q, "link", link, sizeof(link)) != NULL && link[0])
		scope = link;
	else if (api_query_arg(q, "edge", edge, sizeof(edge)) != NULL)
		scope = "edge";
	if (scope == NULL) {
		api_reply_error(r, HTTP_STATUS_BAD_REQUEST,
		    "top needs ?link=LINK or ?edge=1");
		return;
	}
	if ((rd = reader(api, r)) == NULL)
		return;
	o = store_q_top(rd, scope, from, to, max, err, sizeof(err));
	answer(r, o, err);
}

void
api_store_events(struct api_ctx *api, const struct req *q, struct reply *r)
{
	struct store_reader *rd;
	int64_t from, to;
	size_t max;
	char type[16], err[256] = "";
	const char *t = NULL;
	json_t *o;

	if (range_args(q, r, &from, &to, &max, 100, 10000) != 0)
		return;
	if (api_query_arg(q, "type", type, sizeof(type)) != NULL && type[0])
		t = type;
	if ((rd = reader(api, r)) == NULL)
		return;
	o = store_q_events(
	    rd, from * 1000, to * 1000, t, max, err, sizeof(err));
	answer(r, o, err);
}

json_t *
api_store_health(struct api_ctx *api, const char **status)
{
	struct store_stats st;
	json_t *o = json_object();

	if (api->store == NULL) {
		json_object_set_new(o, "enabled", json_false());
		return o;
	}
	store_get_stats(api->store, &st);
	if (st.degraded && strcmp(*status, "ok") == 0)
		*status = "degraded";
	json_object_set_new(o, "enabled", json_true());
	json_object_set_new(o, "path", json_string(api->db_path));
	json_object_set_new(
	    o, "schemaVersion", json_integer(st.schema_version));
	json_object_set_new(o, "degraded", json_boolean(st.degraded));
	json_object_set_new(o, "lastError", json_string(st.last_error));
	json_object_set_new(o, "movedAside",
	    st.moved_aside[0] ? json_string(st.moved_aside) : json_null());
	json_object_set_new(o, "queued", json_integer((json_int_t)st.queued));
	json_object_set_new(o, "written", json_integer((json_int_t)st.written));
	json_object_set_new(o, "batches", json_integer((json_int_t)st.batches));
	json_object_set_new(
	    o, "droppedQueueFull", json_integer((json_int_t)st.dropped_queue));
	json_object_set_new(o, "dropped",
	    json_pack("{s:I, s:I, s:I, s:I, s:I}", "links",
	        (json_int_t)st.dropped_links, "top", (json_int_t)st.dropped_top,
	        "events", (json_int_t)st.dropped_events, "definitions",
	        (json_int_t)st.dropped_defs, "topology",
	        (json_int_t)st.dropped_topology));
	json_object_set_new(o, "retentionDeleted",
	    json_integer((json_int_t)st.retention_deleted));
	json_object_set_new(o, "lastCommit",
	    st.last_commit_ms ? json_integer((json_int_t)st.last_commit_ms)
	                      : json_null());
	json_object_set_new(
	    o, "lastBatchUs", json_integer((json_int_t)st.last_batch_us));
	json_object_set_new(
	    o, "dbBytes", json_integer((json_int_t)st.db_bytes));
	if (api->history != NULL) {
		struct history_stats hs;

		history_get_stats(api->history, &hs);
		json_object_set_new(o, "history",
		    json_pack("{s:I, s:I, s:I, s:I}", "linkMinutes",
		        (json_int_t)hs.link_minutes, "topologies",
		        (json_int_t)hs.topologies, "events",
		        (json_int_t)hs.events, "refused",
		        (json_int_t)hs.refused));
	}
	return o;
}

/* GET /api/v1/links: the history thread's latest link state, as is. */
void
api_links(struct api_ctx *api, const struct req *q, struct reply *r)
{
	struct links_snap *ls =
	    api->links ? (struct links_snap *)snap_slot_get(api->links) : NULL;

	(void)q;
	if (ls == NULL || ls->json == NULL) {
		api_reply_error(r, HTTP_STATUS_SERVICE_UNAVAILABLE,
		    "no link state yet: the topology is not known");
		if (ls != NULL)
			snap_put(&ls->base);
		return;
	}
	r->status = HTTP_STATUS_OK;
	r->body = xstrdup(ls->json);
	snap_put(&ls->base);
}
