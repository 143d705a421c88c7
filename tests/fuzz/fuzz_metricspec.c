/*
 * fuzz_metricspec.c: the metric spec and agent selector parsers on
 * arbitrary bytes, then the three renderers on a fixed set of interfaces.
 *
 * Input: the metric spec, then optionally '\n' and the agent selector
 * (without one: ALL). A spec that parses formats to text that parses to
 * the same spec; whatever parses renders to well-formed output: one
 * /metric object per item naming its metric, /table rows no longer than
 * the spec, valid JSON strings, Prometheus text of whole lines without
 * NaN or infinities.
 */
#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
names(void *arg, const struct sflow_addr *agent, uint32_t ifindex,
    const char **node, const char **ifname)
{
	(void)arg;
	if (agent->family == 4) {
		*node = agent->a[3] == 1 ? "leaf1" : "le\"af\\2\n";
		*ifname = ifindex == 1 ? "swp1" : "sw\xffp\xe2\x82";
	}
}

static void
fixture(struct ifc_rates *r)
{
	memset(r, 0, 4 * sizeof(*r));
	for (int i = 0; i < 4; i++) {
		r[i].agent.family = 4;
		r[i].agent.a[0] = 10;
		r[i].agent.a[3] = (uint8_t)(1 + i / 2);
		r[i].ifindex = (uint32_t)(1 + i % 2);
		r[i].source = IFC_SRC_SFLOW;
		r[i].speed = i == 3 ? 0 : 1000000000;
		r[i].admin = i % 3;
		r[i].oper = 1 + i % 2;
		r[i].iftype = i == 2 ? 0 : 6 + (uint32_t)i;
		r[i].direction = (uint32_t)i;
		r[i].promisc = (uint32_t)i % 3;
		r[i].have = i == 3 ? 0 : ((1u << IFC_N) - 1) >> i;
		for (int f = 0; f < IFC_N; f++)
			r[i].r[f] = 1000.0 * f + i / 3.0;
		r[i].in_util = i == 3 ? -1 : 0.5 * i;
		r[i].out_util = i == 1 ? -1 : 12.5;
		r[i].updated_ms = 1000 * (uint64_t)i;
	}
	r[3].agent.family = 6;
	r[3].agent.a[15] = 1;
	r[0].r[IFC_IN_OCTETS] = 1e17 / 3;
	r[1].r[IFC_IN_UCAST] = NAN;
}

static void
render(const struct metrics_agents *ag, const struct metrics_spec *sp)
{
	struct ifc_rates r[4];
	struct metrics_src src = { r, 4, names, NULL, 2500 };
	json_t *j;
	char *s;

	fixture(r);
	j = metrics_metric_json(&src, ag, sp);
	assert(json_array_size(j) == sp->n);
	for (size_t i = 0; i < sp->n; i++) {
		json_t *o = json_array_get(j, i);

		assert(
		    strcmp(json_string_value(json_object_get(o, "metricName")),
		        metrics_name(sp->item[i].id)) == 0);
		assert(json_is_integer(json_object_get(o, "metricN")));
	}
	s = json_dumps(j, JSON_COMPACT);
	assert(s != NULL);
	free(s);
	json_decref(j);

	j = metrics_table_json(&src, ag, sp);
	assert(json_array_size(j) <= 4);
	for (size_t i = 0; i < json_array_size(j); i++) {
		size_t n = json_array_size(json_array_get(j, i));

		assert(n > 0 && n <= sp->n);
		assert(sp->all || n == sp->n);
	}
	s = json_dumps(j, JSON_COMPACT);
	assert(s != NULL);
	free(s);
	json_decref(j);

	s = metrics_prometheus(&src, ag, sp);
	assert(s != NULL);
	assert(s[0] == '\0' || s[strlen(s) - 1] == '\n');
	assert(strstr(s, " nan") == NULL && strstr(s, " inf") == NULL &&
	    strstr(s, "Inf") == NULL);
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct metrics_spec sp, sp2;
	struct metrics_agents ag;
	char err[256], *buf, *nl, fmt[4096];
	const char *agents = "ALL";
	size_t n;
	int spec_rc, ag_rc;

	buf = malloc(size + 1);
	assert(buf != NULL);
	memcpy(buf, data, size);
	buf[size] = '\0';
	if ((nl = strchr(buf, '\n')) != NULL) {
		*nl = '\0';
		agents = nl + 1;
	}
	err[0] = '\0';
	spec_rc = metrics_spec_parse(buf, &sp, err, sizeof(err));
	assert(spec_rc == 0 || (spec_rc == -1 && err[0] != '\0'));
	err[0] = '\0';
	ag_rc = metrics_agents_parse(agents, &ag, err, sizeof(err));
	assert(ag_rc == 0 || (ag_rc == -1 && err[0] != '\0'));
	if (spec_rc == 0) {
		assert(sp.n >= 1 && sp.n <= METRICS_ITEMS_MAX);
		n = metrics_spec_format(&sp, fmt, sizeof(fmt));
		assert(n < sizeof(fmt) && strlen(fmt) == n);
		assert(metrics_spec_parse(fmt, &sp2, err, sizeof(err)) == 0);
		assert(memcmp(&sp, &sp2, sizeof(sp)) == 0);
	}
	if (ag_rc == 0)
		assert(ag.all || (ag.n >= 1 && ag.n <= METRICS_AGENTS_MAX));
	if (spec_rc == 0 && ag_rc == 0)
		render(&ag, &sp);
	free(buf);
	return 0;
}
