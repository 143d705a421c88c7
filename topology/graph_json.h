/*
 * graph_json.h: render a topology snapshot as JSON (jansson). PURE.
 * Called on the API thread with a reference to the snapshot held.
 */
#ifndef FABMON_GRAPH_JSON_H
#define FABMON_GRAPH_JSON_H

#include <jansson.h>
#include <stdbool.h>

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

/*
 * The same documents as compact text, written straight into one buffer
 * with no jansson tree: at 1,000 switches the v1 form's tree took over
 * 100 MB in millions of small allocations, which stayed in the malloc
 * arena of the thread that rendered it (bench/README.md, scale.py). The
 * functions above are their reference (tests/unit/test_graph.c).
 * with_sflowrt adds the sFlow-RT form as the member "sflowrt" (the
 * store's copy). Return a malloc'ed NUL-terminated string, the caller's.
 */
char *graph_text_v1(const struct topo_snap *, bool with_sflowrt);
char *graph_text_sflowrt(const struct topo_snap *);

#endif
