/*
 * topo_api.c: the topology endpoints, on the lws service thread. They read
 * the latest struct topo_snap, or queue an import for the topology thread.
 *
 *	GET /topology/json	sFlow-RT's format: nodes, ports, links, version
 *	PUT /topology/json	replace the operator import (merged with
 *				discovery by graph.c)
 *	GET /api/v1/topology	the fabric with roles, edge ports, status and
 *				the source of each fact
 *	GET /api/v1/topology/lookup?agent=A&ifindex=N
 *				the engine's view of one interface
 */
#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "graph.h"
#include "graph_json.h"
#include "topo.h"
#include "topo_json.h"
#include "store.h"
#include "util.h"

static struct topo_snap *
get_snap(struct api_ctx *api)
{
	if (api->topology == NULL)
		return NULL;
	return (struct topo_snap *)snap_slot_get(api->topology);
}

/*
 * Render the latest snapshot with fn, or 503 before the first one. As
 * text, not through a jansson tree: at 1,000 switches the tree of GET
 * /api/v1/topology was over 100 MB and more than a second to build on
 * this thread (graph_json.h).
 */
static void
render(struct api_ctx *api, struct reply *r,
    char *(*fn)(const struct topo_snap *, bool), bool arg)
{
	struct topo_snap *ts = get_snap(api);

	if (ts == NULL) {
		api_reply_error(r, HTTP_STATUS_SERVICE_UNAVAILABLE,
		    "topology not built yet");
		return;
	}
	r->status = HTTP_STATUS_OK;
	r->type = "application/json";
	free(r->body);
	r->body = fn(ts, arg);
	snap_put(&ts->base);
}

static char *
sflowrt_text(const struct topo_snap *ts, bool unused)
{
	(void)unused;
	return graph_text_sflowrt(ts);
}

void
api_topology_get(struct api_ctx *api, const struct req *q, struct reply *r)
{
	(void)q;
	render(api, r, sflowrt_text, false);
}

void
api_topology_v1(struct api_ctx *api, const struct req *q, struct reply *r)
{
	(void)q;
	render(api, r, graph_text_v1, false);
}

/*
 * GET /api/v1/topology/lookup?agent=A&ifindex=N: what the flow engine's
 * node:/link: keys see for that sFlow agent and interface.
 */
void
api_topology_lookup(struct api_ctx *api, const struct req *q, struct reply *r)
{
	struct topo_snap *ts;
	struct sflow_addr a = { 0 };
	struct topo_hit hit;
	char agent[64], ifx[16], *end;
	unsigned long ifindex;
	json_t *o;

	if (api_query_arg(q, "agent", agent, sizeof(agent)) == NULL ||
	    api_query_arg(q, "ifindex", ifx, sizeof(ifx)) == NULL) {
		api_reply_error(r, HTTP_STATUS_BAD_REQUEST,
		    "lookup needs ?agent=ADDRESS&ifindex=N");
		return;
	}
	sflow_addr_parse(agent, &a); /* family 0 if not an address */
	ifindex = strtoul(ifx, &end, 10);
	if (a.family == 0 || *end != '\0' || end == ifx ||
	    ifindex > UINT32_MAX) {
		api_reply_error(r, HTTP_STATUS_BAD_REQUEST,
		    "agent must be an IP address and ifindex a number");
		return;
	}
	if ((ts = get_snap(api)) == NULL) {
		api_reply_error(r, HTTP_STATUS_SERVICE_UNAVAILABLE,
		    "topology not built yet");
		return;
	}
	o = json_object();
	json_object_set_new(
	    o, "version", json_integer((json_int_t)ts->version));
	if (topo_lookup(ts->graph, &a, (uint32_t)ifindex, &hit)) {
		json_object_set_new(o, "node", json_string(hit.node->name));
		json_object_set_new(
		    o, "role", json_string(topo_role_name(hit.node->role)));
	} else {
		json_object_set_new(o, "node", json_null());
	}
	json_object_set_new(
	    o, "port", hit.port ? json_string(hit.port->name) : json_null());
	json_object_set_new(
	    o, "edge", json_boolean(hit.port != NULL && hit.port->edge));
	json_object_set_new(
	    o, "link", hit.link ? json_string(hit.link->name) : json_null());
	json_object_set_new(o, "peerNode",
	    hit.peer_node ? json_string(hit.peer_node->name) : json_null());
	json_object_set_new(o, "peerPort",
	    hit.peer_port ? json_string(hit.peer_port->name) : json_null());
	api_reply_json(r, HTTP_STATUS_OK, o);
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
	api_persist(api, STORE_TOPO_IMPORT, "import", q->body, q->body_len);
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
