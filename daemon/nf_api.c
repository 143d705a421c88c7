/*
 * nf_api.c: the NetFlow/IPFIX and JSON flow-log parts of /api/v1/health.
 * Runs on the lws service thread, from the ingest and engine snapshots.
 */
#include <jansson.h>

#include "api.h"
#include "engine.h"
#include "ingest.h"
#include "netflow.h"
#include "util.h"

/* Error classes by name, the non-zero ones only. */
static json_t *
nf_errs(const uint64_t *errs)
{
	json_t *o = json_object();

	for (int e = 1; e < NETFLOW_ERR__MAX; e++)
		if (errs[e] != 0)
			json_object_set_new(o, netflow_err_name(e),
			    json_integer((json_int_t)errs[e]));
	return o;
}

static json_t *
exporter_json(const struct nfin_exporter *x, uint64_t now)
{
	char a[64];
	json_t *o = json_object();

	addr_fmt(a, sizeof(a), x->addr.family, x->addr.a);
	json_object_set_new(o, "address", json_string(a));
	json_object_set_new(o, "version", json_integer(x->version));
	json_object_set_new(o, "domain", json_integer(x->domain));
	json_object_set_new(o, "datagrams", json_integer(x->datagrams));
	json_object_set_new(o, "bytes", json_integer(x->bytes));
	json_object_set_new(o, "records", json_integer(x->records));
	json_object_set_new(
	    o, "optionsRecords", json_integer(x->options_records));
	json_object_set_new(o, "samplingRate", json_integer(x->sampling_rate));
	json_object_set_new(o, "templatesNew", json_integer(x->templates_new));
	json_object_set_new(
	    o, "templatesReplaced", json_integer(x->templates_replaced));
	json_object_set_new(
	    o, "templatesWithdrawn", json_integer(x->templates_withdrawn));
	json_object_set_new(
	    o, "pendingDecoded", json_integer(x->pending_decoded));
	json_object_set_new(
	    o, "pendingRecords", json_integer(x->pending_records));
	json_object_set_new(
	    o, "pendingExpired", json_integer(x->pending_expired));
	json_object_set_new(
	    o, "pendingRefused", json_integer(x->pending_refused));
	json_object_set_new(o, "seqGaps", json_integer(x->seq_gaps));
	json_object_set_new(o, "seqLost", json_integer(x->seq_lost));
	json_object_set_new(o, "errors", nf_errs(x->errs));
	json_object_set_new(o, "lastSeenAgoMs",
	    json_integer(now > x->last_seen_ms ? now - x->last_seen_ms : 0));
	return o;
}

json_t *
api_netflow_health(struct api_ctx *api, const struct ingest_snap *is)
{
	struct engine_snap *es = (void *)snap_slot_get(api->engine_snap);
	const struct nfin_snap *ns = is ? is->netflow : NULL;
	uint64_t now = now_wall_ms();
	json_t *o = json_object(), *ex, *skipped = json_array();

	json_object_set_new(o, "enabled", json_boolean(ns != NULL));
	for (int i = 0; is != NULL && i < 2; i++)
		if (is->netflow_skipped[i][0] != '\0')
			json_array_append_new(
			    skipped, json_string(is->netflow_skipped[i]));
	json_object_set_new(o, "notListening", skipped);
	if (ns != NULL) {
		const struct netflow_stats *c = &ns->cache;

		json_object_set_new(
		    o, "datagrams", json_integer(ns->datagrams));
		json_object_set_new(o, "records", json_integer(ns->records));
		json_object_set_new(
		    o, "optionsRecords", json_integer(c->options_records));
		json_object_set_new(o, "templates", json_integer(c->templates));
		json_object_set_new(o, "domains", json_integer(c->domains));
		json_object_set_new(
		    o, "templatesExpired", json_integer(c->templates_expired));
		json_object_set_new(o, "templatesRestored",
		    json_integer(ns->templates_restored));
		json_object_set_new(o, "templatesFromPeer",
		    json_pack("{s:I, s:I, s:I, s:I, s:I}", "learned",
		        (json_int_t)ns->peer_learned, "had",
		        (json_int_t)ns->peer_had, "bad",
		        (json_int_t)ns->peer_bad, "waiting",
		        (json_int_t)ns->peer_offered, "refused",
		        (json_int_t)ns->peer_refused));
		json_object_set_new(
		    o, "samplersLearned", json_integer(c->samplers_learned));
		json_object_set_new(o, "pending", json_integer(ns->pending));
		json_object_set_new(
		    o, "pendingBytes", json_integer(ns->pending_bytes));
		json_object_set_new(o, "exportersOverflow",
		    json_integer(ns->exporters_overflow));
		json_object_set_new(
		    o, "relayed", json_integer(is->netflow_relayed));
		json_object_set_new(
		    o, "relayRefused", json_integer(is->netflow_relay_refused));
		json_object_set_new(o, "errors", nf_errs(c->errs));
		if (es != NULL) {
			json_t *sp = json_object();

			json_object_set_new(
			    sp, "records", json_integer(es->spread.records));
			json_object_set_new(
			    sp, "spread", json_integer(es->spread.spread));
			json_object_set_new(
			    sp, "active", json_integer(es->spread.active));
			json_object_set_new(
			    sp, "full", json_integer(es->spread.full));
			json_object_set_new(
			    sp, "slices", json_integer(es->spread.slices));
			json_object_set_new(o, "spread", sp);
		}
		ex = json_array();
		for (size_t i = 0; i < ns->n_exporters; i++)
			json_array_append_new(
			    ex, exporter_json(&ns->exporters[i], now));
		json_object_set_new(o, "exporters", ex);
	}
	if (es != NULL)
		snap_put(&es->base);
	return o;
}

json_t *
api_jsonlog_health(struct api_ctx *api)
{
	struct engine_snap *es = (void *)snap_slot_get(api->engine_snap);
	json_t *o = json_object();

	json_object_set_new(
	    o, "enabled", json_boolean(es != NULL && es->jsonlog_on));
	if (es != NULL && es->jsonlog_on) {
		const struct jsonlog_stats *s = &es->jsonlog;

		json_object_set_new(o, "target", json_string(s->target));
		json_object_set_new(o, "queued", json_integer(s->queued));
		json_object_set_new(o, "written", json_integer(s->written));
		json_object_set_new(
		    o, "droppedFull", json_integer(s->dropped_full));
		json_object_set_new(
		    o, "writeErrors", json_integer(s->write_errors));
		json_object_set_new(o, "rotations", json_integer(s->rotations));
		json_object_set_new(o, "bytes", json_integer(s->bytes));
		json_object_set_new(o, "lastError",
		    s->last_error[0] ? json_string(s->last_error)
		                     : json_null());
	}
	if (es != NULL)
		snap_put(&es->base);
	return o;
}
