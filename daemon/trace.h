/*
 * trace.h: where a trace's traffic goes, hop by hop (DESIGN §5). PURE.
 *
 * A trace is a filter. The daemon measures it with a flow definition of
 * its own keyed by TRACE_KEYS, so that every switch that samples the
 * traffic reports, per (input port, output port, TTL, discard reason),
 * the frames per second it sees. trace_path_json() turns those
 * observations into the ordered path:
 *
 *   - a hop is one switch's (input, output) pair; its TTL orders it: the
 *     packet loses one at each router, so the hops with the highest TTL
 *     come first; hops that share a TTL are one stage, ECMP alternatives,
 *     and each one's share is its part of the stage's frames per second;
 *   - the ingress is the first stage's input port if it is an edge port,
 *     the egress the last stage's output port if it is one;
 *   - a hop whose output is a discard is where the traffic dies, with the
 *     reason the agent gave.
 *
 * Observations below TRACE_MIN_SHARE of the busiest one are left out:
 * smoothed rates decay for a while after traffic moves.
 */
#ifndef FABMON_TRACE_H
#define FABMON_TRACE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "graph.h"
#include "sflow.h"

#define TRACE_KEYS      "inputifindex,outputifindex,ipttl,discardreason"
#define TRACE_MIN_SHARE 0.02

/* One observation: one key of the trace's flow table at one agent. */
struct trace_obs {
	struct sflow_addr agent;
	uint32_t ds;       /* the data source that sampled it */
	char key[160];     /* "in,out,ttl,reason" as TRACE_KEYS formats it */
	double fps;        /* frames per second */
	uint64_t first_ms; /* wall clock */
	uint64_t last_ms;
};

/*
 * The path, as a JSON object: {"stages": n, "fps": x, "hops": [...],
 * "ingress", "egress", "diesAt"} (daemon/API.md has every field). g may
 * be NULL (no topology yet: hops carry agents and ifIndexes only).
 */
json_t *trace_path_json(
    const struct topo_graph *g, const struct trace_obs *obs, size_t n);

#endif
