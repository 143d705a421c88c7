/*
 * fwd_api.c: sFlow-RT's forwarding endpoints, on the lws service thread.
 *
 *	PUT|GET|DELETE /forwarding/{name}/json	one target
 *	GET /forwarding/json			every target
 *
 * GET adds fabmon's counters to sFlow-RT's fields: datagrams and bytes
 * sent, errors (dropped), and the datagrams not sent because of a loop
 * or the agents filter.
 */
#include <libwebsockets.h>
#include <stdlib.h>

#include "api.h"
#include "forward.h"
#include "store.h"
#include "util.h"

static json_t *
target_json(const struct fwddef *d, const struct forward_stats *st)
{
	json_t *o = fwddef_json(d);

	json_object_set_new(
	    o, "datagrams", json_integer((json_int_t)st->datagrams));
	json_object_set_new(o, "bytes", json_integer((json_int_t)st->bytes));
	json_object_set_new(o, "errors", json_integer((json_int_t)st->errors));
	json_object_set_new(o, "looped", json_integer((json_int_t)st->looped));
	json_object_set_new(
	    o, "skipped", json_integer((json_int_t)st->skipped));
	json_object_set_new(o, "lastError",
	    st->last_error[0] ? json_string(st->last_error) : json_null());
	return o;
}

json_t *
api_forwarding_json(struct api_ctx *api)
{
	struct fwddef *d = xcalloc(FWDDEF_MAX, sizeof(*d));
	struct forward_stats *st = xcalloc(FWDDEF_MAX, sizeof(*st));
	size_t n =
	    api->forward ? forward_list(api->forward, d, st, FWDDEF_MAX) : 0;
	json_t *o = json_object();

	for (size_t i = 0; i < n; i++)
		json_object_set_new(o, d[i].name, target_json(&d[i], &st[i]));
	free(d);
	free(st);
	return o;
}

void
api_forwarding_put(struct api_ctx *api, const struct req *q, struct reply *r)
{
	struct fwddef d;
	char err[256];

	if (fwddef_parse(q->args[0], q->body ? q->body : "", q->body_len, &d,
	        err, sizeof(err)) != 0) {
		api_reply_error(r, HTTP_STATUS_BAD_REQUEST, "%s", err);
		return;
	}
	if (forward_put(api->forward, &d, err, sizeof(err)) < 0) {
		api_reply_error(r, HTTP_STATUS_CONFLICT, "%s", err);
		return;
	}
	api_persist(api, STORE_FORWARDING, q->args[0], q->body, q->body_len);
	r->status = HTTP_STATUS_NO_CONTENT;
	r->body = xstrdup("");
}

void
api_forwarding_get(struct api_ctx *api, const struct req *q, struct reply *r)
{
	struct fwddef d;
	struct forward_stats st;

	if (forward_get(api->forward, q->args[0], &d, &st) != 0) {
		api_reply_error(
		    r, HTTP_STATUS_NOT_FOUND, "no forwarding '%s'", q->args[0]);
		return;
	}
	api_reply_json(r, HTTP_STATUS_OK, target_json(&d, &st));
}

void
api_forwarding_delete(struct api_ctx *api, const struct req *q, struct reply *r)
{
	if (forward_delete(api->forward, q->args[0]) != 0) {
		api_reply_error(
		    r, HTTP_STATUS_NOT_FOUND, "no forwarding '%s'", q->args[0]);
		return;
	}
	api_persist(api, STORE_FORWARDING, q->args[0], NULL, 0);
	r->status = HTTP_STATUS_NO_CONTENT;
	r->body = xstrdup("");
}

void
api_forwarding_list(struct api_ctx *api, const struct req *q, struct reply *r)
{
	(void)q;
	api_reply_json(r, HTTP_STATUS_OK, api_forwarding_json(api));
}
