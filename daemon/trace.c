/*
 * trace.c: a trace's path from its observations; see trace.h. PURE.
 */
#include <stdlib.h>
#include <string.h>

#include "trace.h"
#include "util.h"

struct hop {
	struct sflow_addr agent;
	char in[24], out[24], reason[48];
	long ttl;
	double fps;
	uint64_t first_ms, last_ms;
	int stage;
	double share;
};

/* Split "in,out,ttl,reason"; false if it is not that. */
static bool
parse_key(const char *key, struct hop *h)
{
	char buf[160], *f[5], *save = NULL, *end;
	int n = 0;

	snprintf(buf, sizeof(buf), "%s", key);
	for (char *p = strtok_r(buf, ",", &save); p != NULL && n < 5;
	     p = strtok_r(NULL, ",", &save))
		f[n++] = p;
	if (n != 4)
		return false;
	h->ttl = strtol(f[2], &end, 10);
	if (*end != '\0' || end == f[2] || h->ttl < 0 || h->ttl > 255)
		return false;
	snprintf(h->in, sizeof(h->in), "%s", f[0]);
	snprintf(h->out, sizeof(h->out), "%s", f[1]);
	snprintf(h->reason, sizeof(h->reason), "%s", f[3]);
	return true;
}

static bool
same_hop(const struct hop *a, const struct hop *b)
{
	return a->ttl == b->ttl && strcmp(a->in, b->in) == 0 &&
	    strcmp(a->out, b->out) == 0 && strcmp(a->reason, b->reason) == 0 &&
	    a->agent.family == b->agent.family &&
	    memcmp(a->agent.a, b->agent.a, sizeof(a->agent.a)) == 0;
}

/* Highest TTL first; in a stage, the busiest first. */
static int
hop_cmp(const void *x, const void *y)
{
	const struct hop *a = x, *b = y;

	if (a->ttl != b->ttl)
		return a->ttl > b->ttl ? -1 : 1;
	if (a->fps != b->fps)
		return a->fps > b->fps ? -1 : 1;
	return memcmp(a->agent.a, b->agent.a, sizeof(a->agent.a));
}

/* What the topology knows of (agent, ifIndex text); hit zeroed if none. */
static bool
port_of(const struct topo_graph *g, const struct sflow_addr *agent,
    const char *ifx, struct topo_hit *hit)
{
	char *end;
	unsigned long v;

	memset(hit, 0, sizeof(*hit));
	if (g == NULL)
		return false;
	v = strtoul(ifx, &end, 10);
	if (*end != '\0' || end == ifx || v > UINT32_MAX)
		return false;
	return topo_lookup(g, agent, (uint32_t)v, hit) && hit->port != NULL;
}

static json_t *
str_or_null(const char *s)
{
	return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}

static json_t *
ifindex_json(const char *ifx)
{
	char *end;
	unsigned long v = strtoul(ifx, &end, 10);

	return *end == '\0' && end != ifx ? json_integer((json_int_t)v)
	                                  : json_string(ifx);
}

/* The far end of a port: its link's other node, or the host behind it. */
static json_t *
beyond(const struct topo_hit *hit)
{
	if (hit->peer_node != NULL)
		return json_string(hit->peer_node->name);
	if (hit->port != NULL && hit->port->peer[0] != '\0')
		return json_string(hit->port->peer);
	return json_null();
}

static json_t *
hop_json(const struct topo_graph *g, const struct hop *h, json_t **ingress,
    json_t **egress, bool first, bool last)
{
	struct topo_hit in, out;
	bool have_in = port_of(g, &h->agent, h->in, &in),
	     have_out = port_of(g, &h->agent, h->out, &out);
	const struct topo_node *node = have_in ? in.node
	    : have_out                         ? out.node
	                                       : NULL;
	char agent[64];
	json_t *o = json_object();

	if (node == NULL && g != NULL) {
		struct topo_hit any;

		/* the agent alone names the switch */
		if (topo_lookup(g, &h->agent, 0, &any))
			node = any.node;
	}
	addr_fmt(agent, sizeof(agent), h->agent.family, h->agent.a);
	json_object_set_new(o, "stage", json_integer(h->stage));
	json_object_set_new(
	    o, "node", node ? json_string(node->name) : json_string(agent));
	json_object_set_new(o, "role",
	    node ? json_string(topo_role_name(node->role)) : json_null());
	json_object_set_new(o, "agent", json_string(agent));
	json_object_set_new(
	    o, "inPort", have_in ? json_string(in.port->name) : json_null());
	json_object_set_new(o, "inIfIndex", ifindex_json(h->in));
	json_object_set_new(o, "inLink",
	    have_in && in.link ? json_string(in.link->name) : json_null());
	json_object_set_new(o, "from", have_in ? beyond(&in) : json_null());
	json_object_set_new(
	    o, "outPort", have_out ? json_string(out.port->name) : json_null());
	json_object_set_new(o, "outIfIndex", ifindex_json(h->out));
	json_object_set_new(o, "outLink",
	    have_out && out.link ? json_string(out.link->name) : json_null());
	json_object_set_new(o, "to", have_out ? beyond(&out) : json_null());
	json_object_set_new(o, "ttl", json_integer(h->ttl));
	json_object_set_new(o, "fps", json_real(h->fps));
	json_object_set_new(o, "share", json_real(h->share));
	json_object_set_new(
	    o, "firstSeen", json_integer((json_int_t)h->first_ms));
	json_object_set_new(
	    o, "lastSeen", json_integer((json_int_t)h->last_ms));
	json_object_set_new(o, "discard",
	    strcmp(h->reason, "none") != 0
	        ? json_pack("{s:s}", "reason", h->reason)
	        : json_null());
	if (first && have_in && in.port->edge && *ingress == NULL)
		*ingress = json_pack("{s:o, s:s, s:o}", "node",
		    str_or_null(node ? node->name : NULL), "port",
		    in.port->name, "host", str_or_null(in.port->peer));
	if (last && have_out && out.port->edge && *egress == NULL)
		*egress = json_pack("{s:o, s:s, s:o}", "node",
		    str_or_null(node ? node->name : NULL), "port",
		    out.port->name, "host", str_or_null(out.port->peer));
	return o;
}

json_t *
trace_path_json(
    const struct topo_graph *g, const struct trace_obs *obs, size_t n)
{
	struct hop *h = xcalloc(n + 1, sizeof(*h));
	json_t *o = json_object(), *hops = json_array(), *ingress = NULL,
	       *egress = NULL, *dies = NULL;
	size_t nh = 0, i, j;
	double max = 0, total = 0;
	int stage = 0;

	for (i = 0; i < n; i++) {
		struct hop t = { 0 };

		if (!parse_key(obs[i].key, &t) || !(obs[i].fps > 0))
			continue;
		t.agent = obs[i].agent;
		t.fps = obs[i].fps;
		t.first_ms = obs[i].first_ms;
		t.last_ms = obs[i].last_ms;
		for (j = 0; j < nh && !same_hop(&h[j], &t); j++)
			;
		if (j < nh) { /* the same hop from another data source */
			h[j].fps += t.fps;
			if (t.first_ms < h[j].first_ms)
				h[j].first_ms = t.first_ms;
			if (t.last_ms > h[j].last_ms)
				h[j].last_ms = t.last_ms;
		} else {
			h[nh++] = t;
		}
	}
	for (i = 0; i < nh; i++)
		if (h[i].fps > max)
			max = h[i].fps;
	for (i = j = 0; i < nh; i++) /* the decaying remains of old paths */
		if (h[i].fps >= TRACE_MIN_SHARE * max)
			h[j++] = h[i];
	nh = j;
	qsort(h, nh, sizeof(*h), hop_cmp);
	for (i = 0; i < nh; i = j) {
		double sum = 0;

		stage++;
		for (j = i; j < nh && h[j].ttl == h[i].ttl; j++)
			sum += h[j].fps;
		for (size_t k = i; k < j; k++) {
			h[k].stage = stage;
			h[k].share = sum > 0 ? h[k].fps / sum : 0;
		}
		if (i == 0)
			total = sum;
	}
	for (i = 0; i < nh; i++) {
		json_t *hj = hop_json(g, &h[i], &ingress, &egress,
		    h[i].stage == 1, h[i].stage == stage);

		if (json_object_get(hj, "discard") != NULL &&
		    !json_is_null(json_object_get(hj, "discard")) &&
		    dies == NULL)
			dies = json_pack("{s:O, s:O, s:O}", "node",
			    json_object_get(hj, "node"), "stage",
			    json_object_get(hj, "stage"), "reason",
			    json_object_get(
			        json_object_get(hj, "discard"), "reason"));
		json_array_append_new(hops, hj);
	}
	json_object_set_new(o, "stages", json_integer(stage));
	json_object_set_new(o, "fps", json_real(total));
	json_object_set_new(o, "ingress", ingress ? ingress : json_null());
	json_object_set_new(o, "egress", egress ? egress : json_null());
	json_object_set_new(o, "diesAt", dies ? dies : json_null());
	json_object_set_new(o, "hops", hops);
	free(h);
	return o;
}
