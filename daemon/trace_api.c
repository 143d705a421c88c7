/*
 * trace_api.c: live traces (DESIGN §5), on the lws service thread.
 *
 *   POST   /api/v1/trace        {"filter": "..."}  -> 201 {"id", ...}
 *   GET    /api/v1/trace        every trace
 *   GET    /api/v1/trace/{id}   the path now (trace.h), and a view
 *   DELETE /api/v1/trace/{id}
 *
 * A trace is measured by a flow definition of its own, "trace-{id}",
 * keyed by TRACE_KEYS, with the trace's filter. Each GET counts as a
 * viewer; a trace nobody has looked at for engine.trace_idle_s is
 * deleted (checked on every request that reaches the API).
 */
#include <libwebsockets.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "blackhole.h"
#include "engine.h"
#include "flowdef.h"
#include "history.h"
#include "topo.h"
#include "trace.h"
#include "util.h"

#define TRACE_MAX        64
#define TRACE_FILTER_MAX 1024

struct trace_ent {
	unsigned id;
	char filter[TRACE_FILTER_MAX];
	uint64_t created_ms, viewed_ms; /* wall clock */
};

struct trace_reg {
	struct trace_ent t[TRACE_MAX];
	size_t n;
	unsigned next_id;
};

static struct trace_reg *
reg(struct api_ctx *api)
{
	if (api->traces == NULL) {
		api->traces = xcalloc(1, sizeof(*api->traces));
		api->traces->next_id = 1;
	}
	return api->traces;
}

static void
def_name(char *buf, size_t len, unsigned id)
{
	snprintf(buf, len, "trace-%u", id);
}

static void
remove_at(struct api_ctx *api, size_t i)
{
	struct trace_reg *tr = reg(api);
	char name[32];

	def_name(name, sizeof(name), tr->t[i].id);
	engine_delete(api->engine, name);
	tr->t[i] = tr->t[--tr->n];
}

void
api_trace_expire(struct api_ctx *api)
{
	uint64_t now = now_wall_ms(),
	         idle = (uint64_t)api->conf->trace_idle_s * 1000;

	if (api->traces == NULL)
		return;
	for (size_t i = 0; i < api->traces->n;)
		if (now - api->traces->t[i].viewed_ms > idle)
			remove_at(api, i);
		else
			i++;
}

static struct trace_ent *
find(struct api_ctx *api, const char *arg, size_t *at)
{
	struct trace_reg *tr = reg(api);
	char *end;
	unsigned long id = strtoul(arg, &end, 10);

	if (*end != '\0' || end == arg)
		return NULL;
	for (size_t i = 0; i < tr->n; i++)
		if (tr->t[i].id == id) {
			if (at != NULL)
				*at = i;
			return &tr->t[i];
		}
	return NULL;
}

static json_t *
ent_json(struct api_ctx *api, const struct trace_ent *t)
{
	return json_pack("{s:i, s:s, s:I, s:I, s:I}", "id", t->id, "filter",
	    t->filter, "created", (json_int_t)t->created_ms, "lastViewed",
	    (json_int_t)t->viewed_ms, "expires",
	    (json_int_t)(t->viewed_ms +
	        (uint64_t)api->conf->trace_idle_s * 1000));
}

void
api_trace_post(struct api_ctx *api, const struct req *q, struct reply *r)
{
	struct trace_reg *tr = reg(api);
	json_error_t je;
	json_t *body, *spec;
	const char *filter;
	struct flowdef d;
	struct trace_ent *t;
	char name[32], err[512], *s;

	body = q->body ? json_loadb(q->body, q->body_len, 0, &je) : NULL;
	filter = json_string_value(json_object_get(body, "filter"));
	if (filter == NULL || filter[0] == '\0' ||
	    strlen(filter) >= TRACE_FILTER_MAX) {
		json_decref(body);
		api_reply_error(r, HTTP_STATUS_BAD_REQUEST,
		    "a trace needs {\"filter\": \"...\"} (sFlow-RT filter "
		    "syntax, e.g. ipsource=10.2.1.11&udpdestinationport=53)");
		return;
	}
	if (tr->n >= TRACE_MAX) {
		json_decref(body);
		api_reply_error(r, HTTP_STATUS_SERVICE_UNAVAILABLE,
		    "%d traces already: delete one first", TRACE_MAX);
		return;
	}
	def_name(name, sizeof(name), tr->next_id);
	spec = json_pack("{s:s, s:s, s:s, s:f, s:i}", "keys", TRACE_KEYS,
	    "value", "frames", "filter", filter, "t", 2.0, "n", 50);
	s = json_dumps(spec, JSON_COMPACT);
	json_decref(spec);
	if (flowdef_parse(name, s, strlen(s), &d, err, sizeof(err)) != 0 ||
	    engine_put(api->engine, &d, err, sizeof(err)) < 0) {
		free(s);
		json_decref(body);
		api_reply_error(r, HTTP_STATUS_BAD_REQUEST, "%s", err);
		return;
	}
	free(s);
	t = &tr->t[tr->n++];
	t->id = tr->next_id++;
	snprintf(t->filter, sizeof(t->filter), "%s", filter);
	t->created_ms = t->viewed_ms = now_wall_ms();
	json_decref(body);
	api_reply_json(
	    r, 201, ent_json(api, t)); /* lws 4.1 has no name for it */
}

void
api_trace_list(struct api_ctx *api, const struct req *q, struct reply *r)
{
	struct trace_reg *tr = reg(api);
	json_t *a = json_array();

	(void)q;
	for (size_t i = 0; i < tr->n; i++)
		json_array_append_new(a, ent_json(api, &tr->t[i]));
	api_reply_json(r, HTTP_STATUS_OK, a);
}

/* The trace's flow table entries, as observations. */
struct obs_acc {
	struct trace_obs *o;
	size_t n, cap;
	int64_t mono_to_wall;
};

static void
obs_cb(void *arg, const struct flowtab_hit *h)
{
	struct obs_acc *a = arg;
	struct trace_obs *o;

	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 64;
		a->o = xrealloc(a->o, a->cap * sizeof(*a->o));
	}
	o = &a->o[a->n++];
	memset(o, 0, sizeof(*o));
	o->agent = h->agent;
	o->ds = h->ds;
	snprintf(o->key, sizeof(o->key), "%.*s", (int)h->keylen, h->key);
	o->fps = h->value;
	o->first_ms = (uint64_t)((int64_t)h->first_ms + a->mono_to_wall);
	o->last_ms = (uint64_t)((int64_t)h->last_ms + a->mono_to_wall);
}

void
api_trace_get(struct api_ctx *api, const struct req *q, struct reply *r)
{
	struct trace_ent *t = find(api, q->args[0], NULL);
	struct engine_snap *es;
	struct topo_snap *ts;
	struct obs_acc acc = { 0 };
	char name[32];
	json_t *o, *path;

	if (t == NULL) {
		api_reply_error(
		    r, HTTP_STATUS_NOT_FOUND, "no trace '%s'", q->args[0]);
		return;
	}
	t->viewed_ms = now_wall_ms();
	acc.mono_to_wall = (int64_t)now_wall_ms() - (int64_t)now_mono_ms();
	def_name(name, sizeof(name), t->id);
	es = api->engine_snap ? (void *)snap_slot_get(api->engine_snap) : NULL;
	ts = api->topology ? (void *)snap_slot_get(api->topology) : NULL;
	for (size_t i = 0; es != NULL && i < es->n; i++)
		if (strcmp(es->flows[i].def.name, name) == 0)
			flowtab_snapshot_foreach(
			    es->flows[i].tab, es->taken_mono_ms, obs_cb, &acc);
	path = trace_path_json(ts ? ts->graph : NULL, acc.o, acc.n);
	o = ent_json(api, t);
	json_object_update(o, path);
	json_decref(path);
	free(acc.o);
	if (ts != NULL)
		snap_put(&ts->base);
	if (es != NULL)
		snap_put(&es->base);
	api_reply_json(r, HTTP_STATUS_OK, o);
}

void
api_trace_delete(struct api_ctx *api, const struct req *q, struct reply *r)
{
	size_t at;

	if (find(api, q->args[0], &at) == NULL) {
		api_reply_error(
		    r, HTTP_STATUS_NOT_FOUND, "no trace '%s'", q->args[0]);
		return;
	}
	remove_at(api, at);
	r->status = HTTP_STATUS_NO_CONTENT;
	r->body = xstrdup("");
}

void
api_trace_free(struct api_ctx *api)
{
	free(api->traces);
	api->traces = NULL;
}

/* ---- black holes ------------------------------------------------------ */

json_t *
api_blackhole_json(const struct bh_event *e)
{
	json_t *o = json_object(), *ev = json_array();

	json_object_set_new(o, "id", json_integer((json_int_t)e->id));
	json_object_set_new(o, "type", json_string(bh_type_name(e->type)));
	json_object_set_new(o, "node", json_string(e->node));
	json_object_set_new(
	    o, "prefix", e->prefix[0] ? json_string(e->prefix) : json_null());
	json_object_set_new(o, "reason", json_string(e->reason));
	json_object_set_new(o, "start", json_integer((json_int_t)e->start_ms));
	json_object_set_new(
	    o, "lastSeen", json_integer((json_int_t)e->last_ms));
	json_object_set_new(o, "end",
	    e->end_ms ? json_integer((json_int_t)e->end_ms) : json_null());
	json_object_set_new(o, "fps", json_real(e->fps));
	json_object_set_new(o, "samples", json_integer((json_int_t)e->samples));
	for (size_t i = 0; i < e->n_ev; i++)
		json_array_append_new(ev,
		    json_pack("{s:I, s:s, s:s, s:s, s:s, s:i}", "time",
		        (json_int_t)e->ev[i].ms, "inPort", e->ev[i].in_port,
		        "outPort", e->ev[i].out_port, "src", e->ev[i].src,
		        "dst", e->ev[i].dst, "ttl", e->ev[i].ttl));
	json_object_set_new(o, "evidence", ev);
	return o;
}

/*
 * GET /api/v1/blackholes[?type=discard|valley|ttl_loop]: the open events
 * and those that ended in the last blackhole.quiet_s, newest first.
 */
void
api_blackholes(struct api_ctx *api, const struct req *q, struct reply *r)
{
	struct engine_snap *es =
	    api->engine_snap ? (void *)snap_slot_get(api->engine_snap) : NULL;
	json_t *o = json_object(), *a = json_array();
	char type[16];
	bool filter = api_query_arg(q, "type", type, sizeof(type)) != NULL;

	for (size_t i = 0; es != NULL && i < es->n_bh; i++) {
		if (filter && strcmp(type, bh_type_name(es->bh[i].type)) != 0)
			continue;
		json_array_append_new(a, api_blackhole_json(&es->bh[i]));
	}
	json_object_set_new(o, "events", a);
	if (es != NULL)
		json_object_set_new(o, "stats",
		    json_pack("{s:I, s:I, s:I, s:I, s:I}", "samples",
		        (json_int_t)es->bh_stats.samples, "opened",
		        (json_int_t)es->bh_stats.opened, "closed",
		        (json_int_t)es->bh_stats.closed, "refused",
		        (json_int_t)es->bh_stats.refused, "open",
		        (json_int_t)es->bh_stats.open));
	if (es != NULL)
		snap_put(&es->base);
	api_reply_json(r, HTTP_STATUS_OK, o);
}

/* ---- Prometheus ------------------------------------------------------- */

/* A label value: backslash, double quote and newline escaped. */
static void
label(char *out, size_t len, const char *s)
{
	size_t o = 0;

	for (; *s != '\0' && o + 3 < len; s++) {
		if (*s == '\\' || *s == '"') {
			out[o++] = '\\';
			out[o++] = *s;
		} else if (*s == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else {
			out[o++] = *s;
		}
	}
	out[o] = '\0';
}

static void append(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
append(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(*buf + *len, *cap - *len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < *cap - *len)
			break;
		*cap = *cap * 2 + (size_t)n;
		*buf = xrealloc(*buf, *cap);
	}
	*len += (size_t)n;
}

/*
 * GET /api/v1/prometheus: fabmon's own series for a Prometheus scrape:
 * the black-hole events open now, and the link state (history.h).
 */
void
api_prometheus_fabmon(struct api_ctx *api, const struct req *q, struct reply *r)
{
	struct engine_snap *es =
	    api->engine_snap ? (void *)snap_slot_get(api->engine_snap) : NULL;
	struct links_snap *ls =
	    api->links ? (struct links_snap *)snap_slot_get(api->links) : NULL;
	size_t len = 0, cap = 4096;
	char *b = xmalloc(cap);
	json_t *lj = ls && ls->json ? json_loads(ls->json, 0, NULL) : NULL;
	size_t i;
	json_t *l;

	(void)q;
	b[0] = '\0';
	append(&b, &len, &cap,
	    "# HELP fabmon_blackhole_active A black-hole event is open.\n"
	    "# TYPE fabmon_blackhole_active gauge\n");
	for (i = 0; es != NULL && i < es->n_bh; i++) {
		const struct bh_event *e = &es->bh[i];
		char node[2 * BH_NAME_MAX], reason[2 * BH_NAME_MAX];

		if (e->end_ms != 0)
			continue;
		label(node, sizeof(node), e->node);
		label(reason, sizeof(reason), e->reason);
		append(&b, &len, &cap,
		    "fabmon_blackhole_active{type=\"%s\",node=\"%s\","
		    "prefix=\"%s\",reason=\"%s\"} 1\n",
		    bh_type_name(e->type), node, e->prefix, reason);
	}
	append(&b, &len, &cap,
	    "# HELP fabmon_blackhole_fps Frames per second a black hole "
	    "stands for.\n# TYPE fabmon_blackhole_fps gauge\n");
	for (i = 0; es != NULL && i < es->n_bh; i++) {
		const struct bh_event *e = &es->bh[i];
		char node[2 * BH_NAME_MAX], reason[2 * BH_NAME_MAX];

		if (e->end_ms != 0)
			continue;
		label(node, sizeof(node), e->node);
		label(reason, sizeof(reason), e->reason);
		append(&b, &len, &cap,
		    "fabmon_blackhole_fps{type=\"%s\",node=\"%s\",prefix=\"%"
		    "s\","
		    "reason=\"%s\"} %.6g\n",
		    bh_type_name(e->type), node, e->prefix, reason, e->fps);
	}
	static const char *const metric[][3] = {
		{ "bps", "fabmon_link_bps", "Bits per second on a link." },
		{ "utilization", "fabmon_link_utilization",
		    "Utilisation of a link, percent." },
		{ "discards", "fabmon_link_discards",
		    "Discards per second on a link." },
		{ "errors", "fabmon_link_errors",
		    "Errors per second on a link." },
	};
	for (size_t m = 0; m < nitems(metric); m++) {
		append(&b, &len, &cap, "# HELP %s %s\n# TYPE %s gauge\n",
		    metric[m][1], metric[m][2], metric[m][1]);
		json_array_foreach(json_object_get(lj, "links"), i, l)
		{
			size_t k;
			json_t *d;

			json_array_foreach(
			    json_object_get(l, "directions"), k, d)
			{
				const json_t *v =
				    json_object_get(d, metric[m][0]);
				char ln[256], fr[256], to[256];
				const char *src = json_string_value(
				    json_object_get(d, "source"));

				if (!json_is_number(v))
					continue;
				label(ln, sizeof(ln),
				    json_string_value(
				        json_object_get(l, "name")));
				label(fr, sizeof(fr),
				    json_string_value(json_object_get(
				        json_object_get(d, "from"), "node")));
				label(to, sizeof(to),
				    json_string_value(json_object_get(
				        json_object_get(d, "to"), "node")));
				append(&b, &len, &cap,
				    "%s{link=\"%s\",from=\"%s\",to=\"%s\","
				    "source=\"%s\"} %.6g\n",
				    metric[m][1], ln, fr, to, src ? src : "",
				    json_number_value(v));
			}
		}
	}
	json_decref(lj);
	if (ls != NULL)
		snap_put(&ls->base);
	if (es != NULL)
		snap_put(&es->base);
	r->status = HTTP_STATUS_OK;
	r->type = "text/plain; version=0.0.4; charset=utf-8";
	r->body = b;
}
