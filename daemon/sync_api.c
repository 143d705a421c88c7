/*
 * sync_api.c: /api/v1/ha/sync, where the HA peer's configuration writes
 * arrive (hasync.h), signed with ha.secret instead of the write token.
 * Runs on the lws service thread; the store is read through the history
 * API's read connection.
 */
#include <jansson.h>
#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "hasync.h"
#include "hasync_msg.h"
#include "nfin.h"
#include "nftmpl.h"
#include "store.h"
#include "util.h"

static const int store_kind[] = {
	[HASYNC_FLOW] = STORE_FLOWDEF,
	[HASYNC_THRESHOLD] = STORE_THRESHOLD,
	[HASYNC_TOPOLOGY] = STORE_TOPO_IMPORT,
	[HASYNC_NFTMPL] = STORE_NF_TEMPLATE,
};

/* The signature header, or "" (a request without one is refused). */
static void
signature(const struct req *q, char *buf, size_t len)
{
	buf[0] = '\0';
	if (q->wsi == NULL ||
	    lws_hdr_custom_copy(
	        q->wsi, buf, (int)len, "x-fabmon-signature:", 19) <= 0)
		buf[0] = '\0';
}

static bool
secret_ok(struct api_ctx *api, struct reply *r)
{
	const char *sec = api->conf->ha_secret;

	if (sec == NULL || *sec == '\0') {
		api_reply_error(r, HTTP_STATUS_NOT_FOUND,
		    "no configuration sync here (ha.secret is not set)");
		return false;
	}
	return true;
}

static bool
fresh(int64_t ts, struct reply *r)
{
	int64_t now = (int64_t)now_wall_ms();

	if (ts < now - HASYNC_MAX_SKEW_MS || ts > now + HASYNC_MAX_SKEW_MS) {
		api_reply_error(r, HTTP_STATUS_FORBIDDEN,
		    "stale or future ts (clocks more than %d s apart?)",
		    HASYNC_MAX_SKEW_MS / 1000);
		return false;
	}
	return true;
}

/*
 * A NetFlow template from the peer: checked here, handed to the ingest
 * thread (202), which adds it if it has none of that key. A deletion is
 * ignored (204): each daemon ages its own templates; so is a template
 * for a daemon without NetFlow input.
 */
static void
nftmpl_offer(struct api_ctx *api, const struct hasync_msg *m, struct reply *r)
{
	struct netflow_tkey k;
	struct netflow_template t;
	char err[128], want[NFTMPL_NAME_MAX];

	if (m->json == NULL) {
		r->status = HTTP_STATUS_NO_CONTENT;
		return;
	}
	if (nftmpl_from_json(
	        m->json, strlen(m->json), &k, &t, err, sizeof(err)) != 0) {
		api_reply_error(r, HTTP_STATUS_BAD_REQUEST, "%s", err);
		return;
	}
	nftmpl_name(want, sizeof(want), &k);
	if (strcmp(want, m->name) != 0) {
		api_reply_error(r, HTTP_STATUS_BAD_REQUEST,
		    "the template's name is %s, not %s", want, m->name);
		return;
	}
	if (api->nfin == NULL) { /* netflow.enable=0: nothing to do */
		r->status = HTTP_STATUS_NO_CONTENT;
		return;
	}
	if (nfin_offer(api->nfin, &k, &t) != 0) {
		api_reply_error(r, HTTP_STATUS_SERVICE_UNAVAILABLE,
		    "too many templates waiting for the ingest thread");
		return;
	}
	api_reply_json(r, 202, json_pack("{s:s}", "template", want));
}

/* POST: apply one write from the peer, as if a client had made it. */
void
api_ha_sync_post(struct api_ctx *api, const struct req *q, struct reply *r)
{
	char sig[128], err[160];
	struct hasync_msg m;
	struct req sub = { 0 };

	if (!secret_ok(api, r))
		return;
	signature(q, sig, sizeof(sig));
	if (q->body == NULL ||
	    !hasync_verify(api->conf->ha_secret, q->body, q->body_len, sig)) {
		api->sync_refused++;
		api_reply_error(r, HTTP_STATUS_FORBIDDEN,
		    "bad or missing X-Fabmon-Signature (ha.secret differs?)");
		return;
	}
	if (hasync_parse(q->body, q->body_len, &m, err, sizeof(err)) != 0) {
		api->sync_refused++;
		api_reply_error(r, HTTP_STATUS_BAD_REQUEST, "%s", err);
		return;
	}
	if (!fresh(m.ts, r)) {
		api->sync_refused++;
		free(m.json);
		return;
	}
	sub.method = m.json ? LWSHUMETH_PUT : LWSHUMETH_DELETE;
	sub.body = m.json;
	sub.body_len = m.json ? strlen(m.json) : 0;
	snprintf(sub.args[0], sizeof(sub.args[0]), "%s", m.name);
	sub.n_args = 1;
	/* applied and stored here, never sent back */
	api->syncing = true;
	switch (m.kind) {
	case HASYNC_FLOW:
		(m.json ? api_flow_put : api_flow_delete)(api, &sub, r);
		break;
	case HASYNC_THRESHOLD:
		(m.json ? api_threshold_put : api_threshold_delete)(
		    api, &sub, r);
		break;
	case HASYNC_TOPOLOGY:
		if (m.json != NULL)
			api_topology_put(api, &sub, r);
		else
			r->status = HTTP_STATUS_NO_CONTENT;
		break;
	case HASYNC_NFTMPL:
		nftmpl_offer(api, &m, r);
		break;
	}
	api->syncing = false;
	/* a deletion of what is not here is what the peer wanted */
	if (m.json == NULL && r->status == HTTP_STATUS_NOT_FOUND) {
		free(r->body);
		r->body = NULL;
		r->status = HTTP_STATUS_NO_CONTENT;
	}
	if (r->status >= 200 && r->status < 300)
		api->sync_applied++;
	free(m.json);
}

/* GET ?kind=K&ts=T: the stored definitions of a kind, for a pull. */
void
api_ha_sync_get(struct api_ctx *api, const struct req *q, struct reply *r)
{
	char sig[128], kind[32], ts[32], signed_q[96], err[256];
	json_t *defs;
	int k;

	if (!secret_ok(api, r))
		return;
	signature(q, sig, sizeof(sig));
	if (api_query_arg(q, "kind", kind, sizeof(kind)) == NULL ||
	    api_query_arg(q, "ts", ts, sizeof(ts)) == NULL ||
	    (k = hasync_kind_parse(kind)) < 0) {
		api_reply_error(r, HTTP_STATUS_BAD_REQUEST,
		    "needs kind (flow, threshold, topology, "
		    "netflow_template) and ts");
		return;
	}
	snprintf(signed_q, sizeof(signed_q), "kind=%s&ts=%s", kind, ts);
	if (!hasync_verify(
	        api->conf->ha_secret, signed_q, strlen(signed_q), sig)) {
		api->sync_refused++;
		api_reply_error(r, HTTP_STATUS_FORBIDDEN,
		    "bad or missing X-Fabmon-Signature (ha.secret differs?)");
		return;
	}
	if (!fresh(strtoll(ts, NULL, 10), r))
		return;
	if (api->store == NULL) {
		api_reply_error(r, HTTP_STATUS_SERVICE_UNAVAILABLE,
		    "no store (store.enable=0): nothing to list");
		return;
	}
	if (api->reader == NULL &&
	    (api->reader = store_reader_open(api->db_path, err, sizeof(err))) ==
	        NULL) {
		api_reply_error(r, HTTP_STATUS_SERVICE_UNAVAILABLE, "%s", err);
		return;
	}
	/*
	 * What was written in the last batch (store.batch_ms) may not be
	 * committed yet; waiting for it would block the service thread. Such
	 * a write reaches the peer as a message of its own anyway.
	 */
	defs = store_q_defs(api->reader, store_kind[k], err, sizeof(err));
	if (defs == NULL) {
		api_reply_error(r, HTTP_STATUS_SERVICE_UNAVAILABLE, "%s", err);
		return;
	}
	api_reply_json(r, HTTP_STATUS_OK,
	    json_pack("{s:s, s:o}", "kind", kind, "defs", defs));
}

/* Where api_persist() sends the API's own writes (not the peer's). */
void
api_ha_sync_write(
    struct api_ctx *api, int store_k, const char *name, const char *json)
{
	if (api->hasync == NULL || api->syncing || api->restoring)
		return;
	for (size_t k = 0; k < nitems(store_kind); k++)
		if (store_kind[k] == store_k)
			hasync_put(api->hasync, (int)k, name, json);
}
