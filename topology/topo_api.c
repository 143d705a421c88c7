/*
 * topo_api.c: the topology endpoints, on the lws service thread. They read
 * the latest struct topo_snap, or queue an import for the topology thread.
 *
 *	GET /topology/json	sFlow-RT's format: nodes, ports, links, version
 *	PUT /topology/json	replace the operator import (merged with
 *				discovery by graph.c)
 *	GET /api/v1/topology	the fabric with roles, edge ports, status and
 *				the source of each fact
 */
#include <libwebsockets.h>
#include <string.h>

#include "api.h"
#include "graph_json.h"
#include "topo.h"
#include "topo_json.h"
#include "util.h"

static struct topo_snap *
get_snap(struct api_ctx *api)
{
	if (api->topology == NULL)
		return NULL;
	return (struct topo_snap *)snap_slot_get(api->topology);
}

void
api_topology_get(struct api_ctx *api, const struct req *q, struct reply *r)
{
	struct topo_snap *ts = get_snap(api);

	(void)q;
	if (ts == NULL) {
		api_reply_error(r, HTTP_STATUS_SERVICE_UNAVAILABLE,
		    "topology not built yet");
		return;
	}
	api_reply_json(r, HTTP_STATUS_OK, graph_json_sflowrt(ts));
	snap_put(&ts->base);
}

void
api_topology_v1(struct api_ctx *api, const struct req *q, struct reply *r)
{
	struct topo_snap *ts = get_snap(api);

	(void)q;
	if (ts == NULL) {
		api_reply_error(r, HTTP_STATUS_SERVICE_UNAVAILABLE,
		    "topology not built yet");
		return;
	}
	api_reply_json(r, HTTP_STATUS_OK, graph_json_v1(ts));
	snap_put(&ts->base);
}

void
api_topology_put(struct api_ctx *api, const struct req *q, struct reply *r)
{
	struct topo_import im;
	char err[512], ignored[512];
	size_t nodes, links;
	json_t *o, *ign;

	if (topo_import_parse(q->body, q->body_len, &im, err, sizeof(err),
		ignored, sizeof(ignored)) != 0) {
		api_reply_error(r, HTTP_STATUS_BAD_REQUEST, "%s", err);
		return;
	}
	nodes = im.n_nodes;
	links = im.n_links;
	if (api->topo_import == NULL ||
	    api->topo_import(api->topo_arg, &im) != 0) {
		topo_import_clear(&im);
		api_reply_error(r, HTTP_STATUS_SERVICE_UNAVAILABLE,
		    "the topology thread has not taken the previous import "
		    "yet; retry");
		return;
	}
	o = json_object();
	json_object_set_new(o, "nodes", json_integer((json_int_t)nodes));
	json_object_set_new(o, "links", json_integer((json_int_t)links));
	ign = json_array();
	for (char *s = ignored, *t; *s != '\0'; s = t) {
		t = strchr(s, ',');
		if (t == NULL)
			t = s + strlen(s);
		json_array_append_new(ign, json_stringn(s, (size_t)(t - s)));
		if (*t == ',')
			t++;
	}
	json_object_set_new(o, "ignored", ign);
	api_reply_json(r, HTTP_STATUS_OK, o);
}
