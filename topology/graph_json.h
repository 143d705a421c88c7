/*
 * graph_json.h: render a topology snapshot as JSON (jansson). PURE.
 * Called on the API thread with a reference to the snapshot held.
 */
#ifndef FABMON_GRAPH_JSON_H
#define FABMON_GRAPH_JSON_H

#include <jansson.h>

#include "topo.h"

/* sFlow-RT's GET /topology/json: nodes, ports, links and version. */
json_t *graph_json_sflowrt(const struct topo_snap *);

/*
 * GET /api/v1/topology: every node with its role and ports (speed,
 * status, edge, the LLDP peer), every link with its status, the edge
 * ports, the polled addresses, the recent events and the counters, each
 * fact with its source (lldp / import / config).
 */
json_t *graph_json_v1(const struct topo_snap *);

#endif
