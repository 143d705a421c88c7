/*
 * test_trace.c: a trace's path from observations (no topology: agents
 * and ifIndexes only; the lab test checks the names).
 */
#include <string.h>

#include "t.h"
#include "trace.h"

static struct trace_obs
ob(uint8_t agent, const char *key, double fps)
{
	struct trace_obs o;

	memset(&o, 0, sizeof(o));
	o.agent.family = 4;
	o.agent.a[0] = 10;
	o.agent.a[3] = agent;
	snprintf(o.key, sizeof(o.key), "%s", key);
	o.fps = fps;
	o.first_ms = 1000;
	o.last_ms = 2000;
	return o;
}

static const json_t *
hop(const json_t *p, size_t i, const char *field)
{
	return json_object_get(
	    json_array_get(json_object_get(p, "hops"), i), field);
}

/* Out of order, ECMP in the middle, a duplicate from another source. */
static void
test_order_and_shares(void)
{
	struct trace_obs o[] = {
		ob(24, "2,4,61,none", 100),    /* leaf 4, last */
		ob(11, "2,5,62,none", 30),     /* spine 1 */
		ob(21, "4,2,63,none", 100),    /* leaf 1, first */
		ob(12, "2,5,62,none", 50),     /* spine 2 */
		ob(12, "2,5,62,none", 20),     /* spine 2 again: summed */
		ob(13, "2,5,62,none", 1),      /* below 2%: old noise */
		ob(21, "garbage", 1000),       /* not a trace key: skipped */
		ob(21, "4,2,300,none", 1000),  /* impossible TTL: skipped */
		ob(21, "4,2,63,none,x", 1000), /* five fields: skipped */
	};
	json_t *p = trace_path_json(NULL, o, sizeof(o) / sizeof(o[0]));

	T_EQ(json_integer_value(json_object_get(p, "stages")), 3);
	T_EQ(json_array_size(json_object_get(p, "hops")), 4);
	T_STREQ(json_string_value(hop(p, 0, "agent")), "10.0.0.21");
	T_EQ(json_integer_value(hop(p, 0, "stage")), 1);
	T_EQ(json_integer_value(hop(p, 0, "inIfIndex")), 4);
	/* the busier spine first, with its share of the stage */
	T_STREQ(json_string_value(hop(p, 1, "agent")), "10.0.0.12");
	T_OK(json_real_value(hop(p, 1, "share")) > 0.69 &&
	    json_real_value(hop(p, 1, "share")) < 0.71);
	T_STREQ(json_string_value(hop(p, 2, "agent")), "10.0.0.11");
	T_OK(json_real_value(hop(p, 2, "share")) > 0.29 &&
	    json_real_value(hop(p, 2, "share")) < 0.31);
	T_EQ(json_integer_value(hop(p, 3, "stage")), 3);
	T_OK(json_real_value(json_object_get(p, "fps")) == 100);
	/* no topology: no names, no ingress/egress */
	T_OK(json_is_null(json_object_get(p, "ingress")));
	T_OK(json_is_null(hop(p, 0, "inPort")));
	T_OK(json_is_null(json_object_get(p, "diesAt")));
	json_decref(p);
}

/* Traffic that dies: the hop's discard and where the path ends. */
static void
test_discard(void)
{
	struct trace_obs o[] = {
		ob(21, "4,2,63,none", 100),
		ob(11, "2,discard,62,acl", 100),
	};
	json_t *p = trace_path_json(NULL, o, 2);
	const json_t *d = json_object_get(p, "diesAt");

	T_EQ(json_integer_value(json_object_get(p, "stages")), 2);
	T_STREQ(json_string_value(hop(p, 1, "outIfIndex")), "discard");
	T_STREQ(
	    json_string_value(json_object_get(hop(p, 1, "discard"), "reason")),
	    "acl");
	T_STREQ(json_string_value(json_object_get(d, "node")), "10.0.0.11");
	T_STREQ(json_string_value(json_object_get(d, "reason")), "acl");
	T_EQ(json_integer_value(json_object_get(d, "stage")), 2);
	json_decref(p);
}

static void
test_empty(void)
{
	json_t *p = trace_path_json(NULL, NULL, 0);

	T_EQ(json_integer_value(json_object_get(p, "stages")), 0);
	T_EQ(json_array_size(json_object_get(p, "hops")), 0);
	json_decref(p);
}

int
main(void)
{
	t_suite = "trace";
	T_RUN(test_order_and_shares);
	T_RUN(test_discard);
	T_RUN(test_empty);
	return t_done();
}
