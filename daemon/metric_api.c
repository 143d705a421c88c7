/*
 * metric_api.c: sFlow-RT's counter metrics, on the lws service thread.
 *
 *	GET /metric/{agent}/{metric}/json		one value per metric
 *	GET /table/{agent}/{metrics}/json		one row per interface
 *	GET /prometheus/metrics/{agent}/{metrics}/txt	Prometheus text
 *
 * Interface rates come from two snapshots: sFlow counter samples (the
 * engine's) and SNMP IF-MIB polls (the topology thread's). They are
 * merged here, one record per (agent, ifIndex), sFlow first while it is
 * fresh; node and port names come from the topology.
 */
#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "counters.h"
#include "engine.h"
#include "graph.h"
#include "metrics.h"
#include "topo.h"
#include "util.h"

/* Everything a rendering needs, with the references it holds. */
struct merged {
	struct engine_snap *es;
	struct ifc_snap *snmp;
	struct topo_snap *ts;
	struct ifc_rates *rates;
	size_t n;
};

static void
merged_put(struct merged *m)
{
	if (m->es != NULL)
		snap_put(&m->es->base);
	if (m->snmp != NULL)
		snap_put(&m->snmp->base);
	if (m->ts != NULL)
		snap_put(&m->ts->base);
	free(m->rates);
}

/* Both lists are sorted by (agent, ifIndex): merge them, sFlow first
 * where it gives fresh rates (counters.h: ifc_sflow_wins). */
static void
merge(struct api_ctx *api, struct merged *m)
{
	m->es = api->engine_snap
	    ? (struct engine_snap *)snap_slot_get(api->engine_snap)
	    : NULL;
	m->snmp = api->snmp_counters
	    ? (struct ifc_snap *)snap_slot_get(api->snmp_counters)
	    : NULL;
	m->ts = api->topology ? (struct topo_snap *)snap_slot_get(api->topology)
	                      : NULL;
	m->n = ifc_rates_merge(
	    m->es ? m->es->ifc : NULL, m->snmp, now_wall_ms(), &m->rates);
}

static void
names(void *arg, const struct sflow_addr *agent, uint32_t ifindex,
    const char **node, const char **ifname)
{
	struct merged *m = arg;
	struct topo_hit hit;

	if (m->ts == NULL || !topo_lookup(m->ts->graph, agent, ifindex, &hit))
		return;
	*node = hit.node->name;
	if (hit.port != NULL && hit.port->name[0] != '\0')
		*ifname = hit.port->name;
}

/* Parse {agent} and {metric}; 0, or -1 with r filled (400). */
static int
parse(const struct req *q, struct reply *r, struct metrics_agents *ag,
    struct metrics_spec *sp)
{
	char err[256];

	if (metrics_agents_parse(q->args[0], ag, err, sizeof(err)) != 0) {
		api_reply_error(r, HTTP_STATUS_BAD_REQUEST, "agent: %s", err);
		return -1;
	}
	if (metrics_spec_parse(q->args[1], sp, err, sizeof(err)) != 0) {
		api_reply_error(r, HTTP_STATUS_BAD_REQUEST, "metric: %s", err);
		return -1;
	}
	return 0;
}

enum render { R_METRIC, R_TABLE, R_PROM };

static void
render(
    struct api_ctx *api, const struct req *q, struct reply *r, enum render how)
{
	struct metrics_agents *ag = xcalloc(1, sizeof(*ag));
	struct metrics_spec *sp = xcalloc(1, sizeof(*sp));
	struct merged m = { 0 };
	struct metrics_src src;

	if (parse(q, r, ag, sp) != 0)
		goto out;
	merge(api, &m);
	src.rates = m.rates;
	src.n = m.n;
	src.names = names;
	src.arg = &m;
	src.now_wall_ms = now_wall_ms();
	switch (how) {
	case R_METRIC:
		api_reply_json(
		    r, HTTP_STATUS_OK, metrics_metric_json(&src, ag, sp));
		break;
	case R_TABLE:
		api_reply_json(
		    r, HTTP_STATUS_OK, metrics_table_json(&src, ag, sp));
		break;
	case R_PROM:
		r->status = HTTP_STATUS_OK;
		r->type = "text/plain; version=0.0.4; charset=utf-8";
		r->body = metrics_prometheus(&src, ag, sp);
		break;
	}
	merged_put(&m);
out:
	free(ag);
	free(sp);
}

void
api_metric(struct api_ctx *api, const struct req *q, struct reply *r)
{
	render(api, q, r, R_METRIC);
}

void
api_table(struct api_ctx *api, const struct req *q, struct reply *r)
{
	render(api, q, r, R_TABLE);
}

void
api_prometheus(struct api_ctx *api, const struct req *q, struct reply *r)
{
	render(api, q, r, R_PROM);
}
