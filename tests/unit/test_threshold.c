/*
 * test_threshold.c: threshold parsing (defaults, errors, limits),
 * rendering and round trips, filter matching, evaluation sequences with
 * hand-computed expectations, the key bound, sweeps, a comparison with a
 * naive model on random input, and event records.
 */
#include <math.h>
#include <stdlib.h>

#include "logring.h"
#include "threshold.h"
#include "t.h"
#include "util.h"

static int
parse(const char *name, const char *s, struct threshold *t, char *err)
{
	return threshold_parse(name, s, strlen(s), t, err, 256);
}

/* The rendering of t, keys sorted, compact; the caller frees it. */
static char *
render(const struct threshold *t)
{
	json_t *o = threshold_json(t);
	char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);

	json_decref(o);
	return s;
}

static void
test_defaults(void)
{
	struct threshold t;
	char err[256] = "";
	char *s;

	T_EQ(parse("util", "{\"metric\":\"ifinutilization\",\"value\":80}", &t,
	         err),
	    0);
	T_STREQ(err, "");
	T_STREQ(t.name, "util");
	T_STREQ(t.metric, "ifinutilization");
	T_OK(t.value == 80);
	T_OK(!t.by_flow);
	T_EQ(t.timeout, 60);
	T_EQ(t.n_filter, 0);
	s = render(&t);
	T_STREQ(s,
	    "{\"byFlow\":false,\"metric\":\"ifinutilization\","
	    "\"name\":\"util\",\"timeout\":60,\"value\":80}");
	free(s);
	/* null and {} are no filter */
	T_EQ(parse("u", "{\"metric\":\"m\",\"value\":1,\"filter\":null}", &t,
	         err),
	    0);
	T_EQ(t.n_filter, 0);
	T_EQ(
	    parse("u", "{\"metric\":\"m\",\"value\":1,\"filter\":{}}", &t, err),
	    0);
	T_EQ(t.n_filter, 0);
}

static void
test_full_and_round_trip(void)
{
	static const char *body =
	    "{\"metric\":\"ddos\",\"value\":100,\"byFlow\":true,"
	    "\"timeout\":60,\"filter\":{\"ifspeed\":[\"10000000000\"]}}";
	struct threshold t, t2;
	char err[256] = "";
	char *s;

	T_EQ(parse("ddos", body, &t, err), 0);
	T_STREQ(err, "");
	T_STREQ(t.metric, "ddos");
	T_OK(t.value == 100);
	T_OK(t.by_flow);
	T_EQ(t.timeout, 60);
	T_EQ(t.n_filter, 1);
	T_STREQ(t.filter[0].attr, "ifspeed");
	T_EQ(t.filter[0].n, 1);
	T_STREQ(threshold_filter_value(&t, &t.filter[0], 0), "10000000000");
	s = render(&t);
	T_STREQ(s,
	    "{\"byFlow\":true,\"filter\":{\"ifspeed\":"
	    "[\"10000000000\"]},\"metric\":\"ddos\",\"name\":\"ddos\","
	    "\"timeout\":60,\"value\":100}");
	/* GET output can be PUT back, to an identical struct */
	T_EQ(parse("ddos", s, &t2, err), 0);
	T_OK(memcmp(&t, &t2, sizeof(t)) == 0);
	free(s);

	/* numbers as filter text; reals; a lone value; attribute order */
	T_EQ(parse("x.1",
	         "{\"value\":-2.5,\"metric\":\"max:if_in-util.x\","
	         "\"timeout\":86400,\"filter\":{\"node\":\"leaf1\","
	         "\"ifspeed\":[10000000000,1e9,2.5,-0.0,\"25G\"]}}",
	         &t, err),
	    0);
	T_STREQ(err, "");
	T_OK(t.value == -2.5);
	T_EQ(t.timeout, 86400);
	T_EQ(t.n_filter, 2);
	T_STREQ(t.filter[0].attr, "ifspeed"); /* sorted */
	T_EQ(t.filter[0].n, 5);
	T_STREQ(threshold_filter_value(&t, &t.filter[0], 0), "10000000000");
	T_STREQ(threshold_filter_value(&t, &t.filter[0], 1), "1000000000");
	T_STREQ(threshold_filter_value(&t, &t.filter[0], 2), "2.5");
	T_STREQ(threshold_filter_value(&t, &t.filter[0], 3), "-0");
	T_STREQ(threshold_filter_value(&t, &t.filter[0], 4), "25G");
	T_STREQ(t.filter[1].attr, "node");
	T_EQ(t.filter[1].n, 1);
	T_STREQ(threshold_filter_value(&t, &t.filter[1], 0), "leaf1");
	s = render(&t);
	T_STREQ(s,
	    "{\"byFlow\":false,\"filter\":{\"ifspeed\":"
	    "[\"10000000000\",\"1000000000\",\"2.5\",\"-0\",\"25G\"],"
	    "\"node\":[\"leaf1\"]},\"metric\":\"max:if_in-util.x\","
	    "\"name\":\"x.1\",\"timeout\":86400,\"value\":-2.5}");
	T_EQ(parse("x.1", s, &t2, err), 0);
	T_OK(memcmp(&t, &t2, sizeof(t)) == 0);
	free(s);

	/* The same filter written in another order is the same struct. */
	T_EQ(parse("o",
	         "{\"metric\":\"m\",\"value\":1,\"filter\":"
	         "{\"b\":[\"1\"],\"a\":[\"2\",\"3\"]}}",
	         &t, err),
	    0);
	T_EQ(parse("o",
	         "{\"filter\":{\"a\":[\"2\",\"3\"],\"b\":\"1\"},"
	         "\"value\":1.0,\"metric\":\"m\"}",
	         &t2, err),
	    0);
	T_OK(memcmp(&t, &t2, sizeof(t)) == 0);

	/* -0 and non-integral values survive the round trip exactly */
	T_EQ(parse("z", "{\"metric\":\"m\",\"value\":-0.0}", &t, err), 0);
	s = render(&t);
	T_EQ(parse("z", s, &t2, err), 0);
	T_OK(memcmp(&t, &t2, sizeof(t)) == 0);
	free(s);
	T_EQ(parse("z", "{\"metric\":\"m\",\"value\":0.1}", &t, err), 0);
	s = render(&t);
	T_OK(strstr(s, "\"value\":0.1") != NULL);
	T_EQ(parse("z", s, &t2, err), 0);
	T_OK(memcmp(&t, &t2, sizeof(t)) == 0);
	free(s);
}

static void
test_errors(void)
{
	static char too_many_attrs[1024], too_many_vals[1024], long_value[512],
	    long_metric[128], too_much_text[40000];
	static const struct {
		const char *name, *doc, *err;
	} cases[] = {
		{ "a/b", "{\"metric\":\"m\",\"value\":1}",
		    "threshold name 'a/b': 1 to 64" },
		{ "", "{\"metric\":\"m\",\"value\":1}", "threshold name ''" },
		{ "a\x01", "{\"metric\":\"m\",\"value\":1}",
		    "threshold name 'a\\x01'" },
		{ "t", "{\"metric\":", "bad JSON at line 1 column" },
		{ "t", "{\n\"metric\":\"m\",\n}",
		    "bad JSON at line 3 column 1" },
		{ "t", "[]", "a threshold is a JSON object" },
		{ "t", "{}", "metric: missing" },
		{ "t", "{\"metric\":\"m\"}", "value: missing" },
		{ "t", "{\"value\":1}", "metric: missing" },
		{ "t", "{\"metric\":3,\"value\":1}", "metric: not a string" },
		{ "t", "{\"metric\":\"\",\"value\":1}",
		    "metric: '' is not 1 to 64 of [A-Za-z0-9_.:-]" },
		{ "t", "{\"metric\":\"a b\",\"value\":1}",
		    "metric: 'a b' is not 1 to 64" },
		{ "t", "{\"metric\":\"m\",\"value\":\"100\"}",
		    "value: not a number" },
		{ "t", "{\"metric\":\"m\",\"value\":null}",
		    "value: not a number" },
		{ "t", "{\"metric\":\"m\",\"value\":1e400}", "bad JSON" },
		{ "t", "{\"metric\":\"m\",\"value\":1,\"byFlow\":1}",
		    "byFlow: not true or false" },
		{ "t", "{\"metric\":\"m\",\"value\":1,\"timeout\":0}",
		    "timeout: an integer number of seconds in 1..86400" },
		{ "t", "{\"metric\":\"m\",\"value\":1,\"timeout\":86401}",
		    "timeout: an integer" },
		{ "t", "{\"metric\":\"m\",\"value\":1,\"timeout\":1.5}",
		    "timeout: an integer" },
		{ "t", "{\"metric\":\"m\",\"value\":1,\"timeout\":\"60\"}",
		    "timeout: an integer" },
		{ "t", "{\"metric\":\"m\",\"value\":1,\"fitler\":{}}",
		    "unknown field 'fitler'" },
		{ "t", "{\"metric\":\"m\",\"value\":1,\"a\\u0001\":1}",
		    "unknown field 'a\\x01'" },
		{ "t", "{\"metric\":\"m\",\"value\":1,\"name\":\"u\"}",
		    "name: does not match the URL ('t')" },
		{ "t", "{\"metric\":\"m\",\"value\":1,\"value\":2}",
		    "bad JSON" },
		{ "t", "{\"metric\":\"m\",\"value\":1,\"filter\":\"x\"}",
		    "filter: not an object of attribute: [values]" },
		{ "t",
		    "{\"metric\":\"m\",\"value\":1,\"filter\":"
		    "{\"if speed\":[\"1\"]}}",
		    "filter: attribute 'if speed' is not 1 to 64 of "
		    "[A-Za-z0-9_.-]" },
		{ "t",
		    "{\"metric\":\"m\",\"value\":1,\"filter\":"
		    "{\"\":[\"1\"]}}",
		    "filter: attribute '' is not" },
		{ "t",
		    "{\"metric\":\"m\",\"value\":1,\"filter\":"
		    "{\"ifspeed\":[]}}",
		    "filter.ifspeed: an empty list matches nothing" },
		{ "t",
		    "{\"metric\":\"m\",\"value\":1,\"filter\":"
		    "{\"a\":[\"1\"],\"ifspeed\":[\"1\",true]}}",
		    "filter.ifspeed[1]: not a string or a number" },
		{ "t",
		    "{\"metric\":\"m\",\"value\":1,\"filter\":"
		    "{\"ifspeed\":{}}}",
		    "filter.ifspeed: not a list of strings or numbers" },
		{ "t",
		    "{\"metric\":\"m\",\"value\":1,\"filter\":"
		    "{\"ifspeed\":[[\"1\"]]}}",
		    "filter.ifspeed[0]: not a string or a number" },
		{ "t", too_many_attrs, "filter: more than 16 attributes" },
		{ "t", too_many_vals, "filter.x: more than 64 values" },
		{ "t", long_value, "filter.x[0]: 'aaaaaaaaaa" },
		{ "t", long_metric, "metric: 'mmmmmmmm" },
		{ "t", too_much_text,
		    "filter: the values take more than 8192 bytes in all" },
	};
	struct threshold zero;
	size_t o;

	memset(&zero, 0, sizeof(zero));
	o = (size_t)snprintf(too_many_attrs, sizeof(too_many_attrs),
	    "{\"metric\":\"m\",\"value\":1,\"filter\":{");
	for (int i = 0; i < 17; i++)
		o += (size_t)snprintf(too_many_attrs + o,
		    sizeof(too_many_attrs) - o, "%s\"a%d\":[\"1\"]",
		    i ? "," : "", i);
	snprintf(too_many_attrs + o, sizeof(too_many_attrs) - o, "}}");
	o = (size_t)snprintf(too_many_vals, sizeof(too_many_vals),
	    "{\"metric\":\"m\",\"value\":1,\"filter\":{\"x\":[");
	for (int i = 0; i < 65; i++)
		o += (size_t)snprintf(too_many_vals + o,
		    sizeof(too_many_vals) - o, "%s%d", i ? "," : "", i);
	snprintf(too_many_vals + o, sizeof(too_many_vals) - o, "]}}");
	o = (size_t)snprintf(long_value, sizeof(long_value),
	    "{\"metric\":\"m\",\"value\":1,\"filter\":{\"x\":[\"");
	memset(long_value + o, 'a', 256);
	snprintf(long_value + o + 256, sizeof(long_value) - o - 256, "\"]}}");
	o = (size_t)snprintf(
	    long_metric, sizeof(long_metric), "{\"value\":1,\"metric\":\"");
	memset(long_metric + o, 'm', 65);
	snprintf(long_metric + o + 65, sizeof(long_metric) - o - 65, "\"}");
	/* 16 x 64 values of 20 bytes: within the per-key limits, over the
	 * total */
	o = (size_t)snprintf(too_much_text, sizeof(too_much_text),
	    "{\"metric\":\"m\",\"value\":1,\"filter\":{");
	for (int i = 0; i < 16; i++) {
		o += (size_t)snprintf(too_much_text + o,
		    sizeof(too_much_text) - o, "%s\"a%d\":[", i ? "," : "", i);
		for (int j = 0; j < 64; j++)
			o += (size_t)snprintf(too_much_text + o,
			    sizeof(too_much_text) - o, "%s\"%020d\"",
			    j ? "," : "", j);
		o += (size_t)snprintf(
		    too_much_text + o, sizeof(too_much_text) - o, "]");
	}
	snprintf(too_much_text + o, sizeof(too_much_text) - o, "}}");

	for (size_t i = 0; i < nitems(cases); i++) {
		struct threshold t;
		char err[256] = "";

		memset(&t, 0xa5, sizeof(t));
		T_EQ(parse(cases[i].name, cases[i].doc, &t, err), -1);
		if (strncmp(err, cases[i].err, strlen(cases[i].err)) != 0)
			T_FAIL("case %zu: '%s', expected '%s'", i, err,
			    cases[i].err);
		if (memcmp(&t, &zero, sizeof(t)) != 0)
			T_FAIL("case %zu: out not zeroed", i);
	}
}

static void
test_limits(void)
{
	struct threshold t;
	char err[256] = "", doc[20000], name[80];
	size_t o;

	/* 16 attributes of 64 values each, 64-byte names and metric */
	o = (size_t)snprintf(doc, sizeof(doc),
	    "{\"metric\":\"%064d\",\"value\":1,\"timeout\":1,\"filter\":{", 7);
	for (int i = 0; i < 16; i++) {
		o += (size_t)snprintf(doc + o, sizeof(doc) - o,
		    "%s\"%063d%c\":[", i ? "," : "", 0, 'a' + i);
		for (int j = 0; j < 64; j++)
			o += (size_t)snprintf(doc + o, sizeof(doc) - o, "%s%d",
			    j ? "," : "", j * 1000 + i);
		o += (size_t)snprintf(doc + o, sizeof(doc) - o, "]");
	}
	snprintf(doc + o, sizeof(doc) - o, "}}");
	memset(name, 'n', 64);
	name[64] = '\0';
	T_EQ(parse(name, doc, &t, err), 0);
	T_STREQ(err, "");
	T_EQ(strlen(t.metric), 64);
	T_EQ(t.timeout, 1);
	T_EQ(t.n_filter, 16);
	T_EQ(t.filter[15].n, 64);
	T_STREQ(threshold_filter_value(&t, &t.filter[15], 63), "63015");
	/* a 255-byte value fits */
	o = (size_t)snprintf(doc, sizeof(doc),
	    "{\"metric\":\"m\",\"value\":1,\"filter\":{\"x\":[\"");
	memset(doc + o, 'v', 255);
	snprintf(doc + o + 255, sizeof(doc) - o - 255, "\"]}}");
	T_EQ(parse("t", doc, &t, err), 0);
	T_EQ(strlen(threshold_filter_value(&t, &t.filter[0], 0)), 255);
	/* a 65-byte name does not */
	name[64] = 'n';
	name[65] = '\0';
	T_EQ(parse(name, "{\"metric\":\"m\",\"value\":1}", &t, err), -1);
	/* not NUL-terminated input: only len bytes are read */
	{
		const char *doc2 = "{\"metric\":\"m\",\"value\":1}xyz";

		T_EQ(threshold_parse(
		         "t", doc2, strlen(doc2) - 3, &t, err, sizeof(err)),
		    0);
		T_EQ(threshold_parse(
		         "t", doc2, strlen(doc2) - 2, &t, err, sizeof(err)),
		    -1);
	}
	/* a tiny err buffer is not overrun */
	{
		char small[8];

		memset(small, 'x', sizeof(small));
		T_EQ(threshold_parse("t", "{}", 2, &t, small, 5), -1);
		T_EQ(strlen(small), 4);
		T_EQ(small[5], 'x');
	}
}

/* Attributes of a fake data source, for threshold_filter_match. */
struct source {
	const char *kv[8][2];
	int calls;
};

static const char *
source_attr(void *arg, const char *name)
{
	struct source *s = arg;

	s->calls++;
	for (size_t i = 0; i < nitems(s->kv) && s->kv[i][0] != NULL; i++)
		if (strcmp(s->kv[i][0], name) == 0)
			return s->kv[i][1];
	return NULL;
}

static void
test_filter_match(void)
{
	struct threshold t;
	char err[256];
	struct source a = { { { "agent", "10.0.0.2" },
	    { "ifspeed", "10000000000" }, { "ifname", "swp1" } } };
	struct source b = { { { "agent", "10.0.0.3" },
	    { "ifspeed", "10000000000" } } };
	struct source c = { { { "agent", "10.0.0.1" } } };
	struct source d = { { { "agent", "10.0.0.1" },
	    { "ifspeed", "1000000000" } } };
	struct source none = { { { NULL, NULL } } };

	T_EQ(parse("f",
	         "{\"metric\":\"m\",\"value\":1,\"filter\":{"
	         "\"agent\":[\"10.0.0.1\",\"10.0.0.2\"],"
	         "\"ifspeed\":[10000000000]}}",
	         &t, err),
	    0);
	T_OK(threshold_filter_match(&t, source_attr, &a));
	T_OK(!threshold_filter_match(&t, source_attr, &b)); /* agent */
	T_OK(!threshold_filter_match(&t, source_attr, &c)); /* no ifspeed */
	T_OK(!threshold_filter_match(&t, source_attr, &d)); /* ifspeed */
	T_OK(!threshold_filter_match(&t, source_attr, &none));
	/* exact and case-sensitive */
	T_EQ(parse("f",
	         "{\"metric\":\"m\",\"value\":1,\"filter\":{"
	         "\"ifname\":[\"swp1\"]}}",
	         &t, err),
	    0);
	a.kv[2][1] = "SWP1";
	T_OK(!threshold_filter_match(&t, source_attr, &a));
	a.kv[2][1] = "swp10";
	T_OK(!threshold_filter_match(&t, source_attr, &a));
	a.kv[2][1] = "swp1";
	T_OK(threshold_filter_match(&t, source_attr, &a));
	/* no filter: everything passes without asking */
	T_EQ(parse("f", "{\"metric\":\"m\",\"value\":1}", &t, err), 0);
	none.calls = 0;
	T_OK(threshold_filter_match(&t, source_attr, &none));
	T_EQ(none.calls, 0);
}

/* A threshold of 100 with a 60 s hold-down. */
static void
thr(struct threshold *t, double value, int timeout)
{
	char err[256], doc[128];

	snprintf(doc, sizeof(doc),
	    "{\"metric\":\"m\",\"value\":%g,\"timeout\":%d}", value, timeout);
	if (parse("t", doc, t, err) != 0)
		T_FAIL("%s", err);
}

static bool
chk(struct thresh_state *s, const struct threshold *t, const char *key,
    double v, uint64_t now)
{
	return thresh_check(s, t, key, strlen(key), v, now);
}

static size_t
tracked(struct thresh_state *s)
{
	struct thresh_stats st;

	thresh_stats(s, &st);
	return st.tracked;
}

static void
test_eval_fire_once(void)
{
	struct threshold t;
	struct thresh_state *s = thresh_state_new(100);
	struct thresh_stats st;

	thr(&t, 100, 60);
	T_OK(!chk(s, &t, "a", 99.9, 0)); /* armed, below: not stored */
	T_EQ(tracked(s), 0);
	T_OK(chk(s, &t, "a", 150, 1000)); /* rises: fires */
	T_EQ(tracked(s), 1);
	T_OK(!chk(s, &t, "a", 200, 2000)); /* still above: silent */
	T_OK(!chk(s, &t, "a", 100, 3000)); /* at the threshold: above */
	T_OK(!chk(s, &t, "a", 1e9, 50000));
	T_OK(chk(s, &t, "b", 100, 3000)); /* equal fires, per key */
	thresh_stats(s, &st);
	T_EQ(st.fired, 2);
	T_EQ(st.untracked, 0);
	T_EQ(st.tracked, 2);
	thresh_state_free(s);
	thresh_state_free(NULL);
}

static void
test_eval_hold_down(void)
{
	struct threshold t;
	struct thresh_state *s = thresh_state_new(100);

	thr(&t, 100, 60);
	/* below for less than the timeout, then above: no event */
	T_OK(chk(s, &t, "a", 150, 0));
	T_OK(!chk(s, &t, "a", 50, 1000));   /* below from 1 s */
	T_OK(!chk(s, &t, "a", 50, 60999));  /* 59.999 s below */
	T_OK(!chk(s, &t, "a", 150, 61000)); /* still disarmed */
	T_EQ(tracked(s), 1);
	/* the rise restarted the count: 59 s below is not enough */
	T_OK(!chk(s, &t, "a", 50, 62000));
	T_OK(!chk(s, &t, "a", 50, 121000));
	T_OK(!chk(s, &t, "a", 101, 121500));
	/* below for the whole timeout, then above: an event */
	T_OK(!chk(s, &t, "a", 50, 122000));
	T_OK(!chk(s, &t, "a", 50, 150000));
	T_OK(!chk(s, &t, "a", 50, 182000)); /* 60 s below: re-armed */
	T_EQ(tracked(s), 0);
	T_OK(!chk(s, &t, "a", 50, 183000)); /* armed, below */
	T_OK(chk(s, &t, "a", 150, 184000));
	T_OK(!chk(s, &t, "a", 150, 185000));
	thresh_state_free(s);
}

static void
test_eval_oscillation(void)
{
	struct threshold t;
	struct thresh_state *s = thresh_state_new(100);
	struct thresh_stats st;
	int events = 0;

	/* flapping around the threshold every second for 10 minutes */
	thr(&t, 100, 60);
	for (uint64_t i = 0; i < 600; i++)
		events += chk(s, &t, "a", i % 2 ? 90 : 110, i * 1000);
	T_EQ(events, 1);
	thresh_stats(s, &st);
	T_EQ(st.fired, 1);
	/* with a 1 s timeout, each rise after a full second below fires */
	thr(&t, 100, 1);
	thresh_state_free(s);
	s = thresh_state_new(100);
	events = 0;
	for (uint64_t i = 0; i < 30; i++) /* above, below, below, ... */
		events += chk(s, &t, "a", i % 3 ? 90 : 110, i * 1000);
	T_EQ(events, 10);
	thresh_state_free(s);
}

static void
test_eval_unseen(void)
{
	struct threshold t;
	struct thresh_state *s = thresh_state_new(100);

	thr(&t, 100, 60);
	/* not checked at all for the timeout: re-armed, fires again */
	T_OK(chk(s, &t, "a", 150, 0));
	T_OK(chk(s, &t, "a", 150, 60000));
	/* 59.999 s unseen: still disarmed */
	T_OK(!chk(s, &t, "a", 150, 119999));
	/* last seen below at 1 s, next at 61 s above: unseen for 60 s */
	T_OK(chk(s, &t, "b", 150, 0));
	T_OK(!chk(s, &t, "b", 50, 1000));
	T_OK(chk(s, &t, "b", 150, 61000));
	/* time going backwards counts as none passing */
	T_OK(chk(s, &t, "c", 150, 100000));
	T_OK(!chk(s, &t, "c", 150, 5000));
	T_OK(!chk(s, &t, "c", 150, 100000 + 59999));
	/* NaN is no data: ignored, and it does not refresh the key */
	T_OK(!chk(s, &t, "d", NAN, 0));
	T_EQ(tracked(s), 3);
	T_OK(chk(s, &t, "d", 150, 0));
	T_OK(!chk(s, &t, "d", NAN, 30000));
	T_OK(chk(s, &t, "d", 150, 60000));
	thresh_state_free(s);
}

static void
test_eval_by_flow_keys(void)
{
	struct threshold t;
	struct thresh_state *s = thresh_state_new(100);
	static const char k1[] = "10.0.0.1|3|10.0.0.5,10.0.0.9";
	static const char k2[] = "10.0.0.1|3|10.0.0.5,10.0.0.8";
	static const char k3[] = "10.0.0.1|4|10.0.0.5,10.0.0.9";

	thr(&t, 100, 60);
	T_OK(chk(s, &t, k1, 200, 0));
	T_OK(chk(s, &t, k2, 200, 0));
	T_OK(chk(s, &t, k3, 200, 0));
	/* k1 dips for the whole timeout; k2 and k3 stay above */
	T_OK(!chk(s, &t, k1, 10, 1000));
	for (uint64_t ms = 1000; ms <= 61000; ms += 10000) {
		T_OK(!chk(s, &t, k2, 200, ms));
		T_OK(!chk(s, &t, k3, 200, ms));
	}
	T_OK(!chk(s, &t, k1, 10, 61000));
	T_OK(chk(s, &t, k1, 200, 62000));
	T_OK(!chk(s, &t, k2, 200, 62000));
	T_OK(!chk(s, &t, k3, 200, 62000));
	/* keys are bytes: a prefix, or an embedded NUL, is another key */
	T_OK(thresh_check(s, &t, "ab\0c", 4, 200, 0));
	T_OK(thresh_check(s, &t, "ab\0d", 4, 200, 0));
	T_OK(thresh_check(s, &t, "ab", 2, 200, 0));
	T_OK(thresh_check(s, &t, "", 0, 200, 0));
	T_OK(!thresh_check(s, &t, "ab\0c", 4, 200, 1));
	T_OK(!thresh_check(s, &t, "", 0, 200, 1));
	thresh_state_free(s);
}

static void
test_eval_many_keys(void)
{
	struct threshold t;
	struct thresh_state *s = thresh_state_new(5000);
	char key[32];
	int fired = 0, refired = 0;

	thr(&t, 100, 60);
	for (int i = 0; i < 5000; i++) {
		snprintf(
		    key, sizeof(key), "10.0.%d.%d|%d", i / 256, i % 256, i);
		fired += chk(s, &t, key, 101, 0);
	}
	for (int i = 0; i < 5000; i++) {
		snprintf(
		    key, sizeof(key), "10.0.%d.%d|%d", i / 256, i % 256, i);
		refired += chk(s, &t, key, 101, 1000);
	}
	T_EQ(fired, 5000);
	T_EQ(refired, 0);
	T_EQ(tracked(s), 5000);
	thresh_state_free(s);
}

static void
test_eval_bound(void)
{
	struct threshold t;
	struct thresh_state *s = thresh_state_new(2);
	struct thresh_stats st;

	thr(&t, 100, 60);
	T_OK(chk(s, &t, "k1", 150, 0));
	T_OK(chk(s, &t, "k2", 150, 0));
	T_OK(!chk(s, &t, "k0", 50, 0)); /* armed below: takes no room */
	/* full: k3 is reported, not stored, and fires on each check */
	T_OK(chk(s, &t, "k3", 150, 0));
	T_OK(chk(s, &t, "k3", 150, 1000));
	T_OK(!chk(s, &t, "k1", 150, 1000)); /* tracked keys unaffected */
	thresh_stats(s, &st);
	T_EQ(st.tracked, 2);
	T_EQ(st.fired, 4);
	T_EQ(st.untracked, 2);
	/* k1 re-arms after a full timeout below, and frees room for k3 */
	T_OK(!chk(s, &t, "k1", 50, 2000));
	T_OK(!chk(s, &t, "k1", 50, 62000));
	T_OK(chk(s, &t, "k3", 150, 62000));
	T_OK(!chk(s, &t, "k3", 150, 63000));
	thresh_stats(s, &st);
	T_EQ(st.tracked, 2);
	T_EQ(st.fired, 5);
	T_EQ(st.untracked, 2);
	thresh_state_free(s);
	/* a bound of 0 tracks nothing and still reports */
	s = thresh_state_new(0);
	T_OK(chk(s, &t, "k", 150, 0));
	T_OK(chk(s, &t, "k", 150, 1));
	thresh_stats(s, &st);
	T_EQ(st.tracked, 0);
	T_EQ(st.untracked, 2);
	thresh_state_free(s);
}

static void
test_sweep(void)
{
	struct threshold t;
	struct thresh_state *s = thresh_state_new(100);

	thr(&t, 100, 60);
	T_OK(chk(s, &t, "k1", 150, 0));
	T_OK(chk(s, &t, "k2", 150, 30000));
	T_OK(chk(s, &t, "k3", 150, 0));
	T_OK(!chk(s, &t, "k3", 50, 40000)); /* seen at 40 s, below */
	thresh_sweep(s, &t, 59999);
	T_EQ(tracked(s), 3);
	thresh_sweep(s, &t, 60000); /* k1 unseen for 60 s */
	T_EQ(tracked(s), 2);
	thresh_sweep(s, &t, 89999);
	T_EQ(tracked(s), 2);
	thresh_sweep(s, &t, 90000); /* k2 */
	T_EQ(tracked(s), 1);
	T_OK(chk(s, &t, "k2", 150, 90001));
	T_OK(!chk(s, &t, "k3", 150, 90001)); /* seen at 40 s: disarmed */
	thresh_sweep(s, &t, 10); /* time going backwards drops nothing */
	T_EQ(tracked(s), 2);
	thresh_sweep(s, &t, 1000000);
	T_EQ(tracked(s), 0);
	thresh_state_free(s);
}

/*
 * A naive model: every key has a record, armed or not, in a plain
 * array; the rules of threshold.h written out directly.
 */
struct model_key {
	bool disarmed, below;
	uint64_t last_seen, below_since;
};

static int rearm_unseen, rearm_below;

static bool
model_check(
    struct model_key *k, const struct threshold *t, double v, uint64_t now)
{
	uint64_t hold = (uint64_t)t->timeout * 1000;

	if (isnan(v))
		return false;
	if (k->disarmed && now < k->last_seen)
		now = k->last_seen;
	if (k->disarmed && now - k->last_seen >= hold) {
		k->disarmed = false;
		rearm_unseen++;
	}
	if (k->disarmed && v < t->value && k->below &&
	    now - k->below_since >= hold) {
		k->disarmed = false;
		rearm_below++;
		k->last_seen = now;
		return false;
	}
	k->last_seen = now;
	if (!k->disarmed) {
		if (v >= t->value) {
			k->disarmed = true;
			k->below = false;
			return true;
		}
		return false;
	}
	if (v >= t->value)
		k->below = false;
	else if (!k->below) {
		k->below = true;
		k->below_since = now;
	}
	return false;
}

static uint64_t rng = 88172645463325252ULL;

static uint64_t
xorshift(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void
test_eval_vs_model(void)
{
	enum { NKEYS = 8, STEPS = 200000 };
	struct model_key model[NKEYS];
	struct threshold t;
	struct thresh_state *s = thresh_state_new(1000);
	uint64_t now = 0;
	int diffs = 0, events = 0;
	size_t want_tracked;

	memset(model, 0, sizeof(model));
	thr(&t, 100, 5);
	for (int i = 0; i < STEPS; i++) {
		char key[16];
		int k = (int)(xorshift() % NKEYS);
		double v = (double)(xorshift() % 200);
		bool got, want;

		now += xorshift() % 300; /* 0..0.3 s, some steps repeat */
		if (xorshift() % 300 == 0)
			now += 4000 + xorshift() % 2000; /* a stall */
		if (xorshift() % 1000 == 0)
			now -= now > 3000 ? xorshift() % 3000 : 0;
		if (xorshift() % 500 == 0)
			v = NAN;
		if (xorshift() % 50 == 0)
			thresh_sweep(s, &t, now); /* must change nothing */
		snprintf(key, sizeof(key), "key%d", k);
		got = chk(s, &t, key, v, now);
		want = model_check(&model[k], &t, v, now);
		events += want;
		if (got != want && diffs++ < 5)
			T_FAIL("step %d key %d value %g at %" PRIu64
			       ": got %d, model %d",
			    i, k, v, now, got, want);
	}
	T_EQ(diffs, 0);
	/* the sequence did exercise both ways of re-arming */
	T_OK(events > 1000);
	T_OK(rearm_unseen > 100);
	T_OK(rearm_below > 100);
	/* what is stored is exactly the model's disarmed keys, once a
	 * sweep has dropped the unseen ones */
	thresh_sweep(s, &t, now);
	want_tracked = 0;
	for (int k = 0; k < NKEYS; k++)
		want_tracked += model[k].disarmed &&
		    !(now > model[k].last_seen &&
		        now - model[k].last_seen >= 5000);
	T_EQ(tracked(s), want_tracked);
	thresh_state_free(s);
}

static void
test_events(void)
{
	struct threshold t;
	struct thresh_event *ev;
	struct logring *r;
	char err[256], *s, agent[100];
	json_t *o;

	T_EQ(
	    parse("ddos", "{\"metric\":\"ddos\",\"value\":100,\"byFlow\":true}",
	        &t, err),
	    0);
	ev = thresh_event_new(
	    &t, 1700000000000ULL, 150.5, "10.0.0.1", "3", "10.0.0.5,10.0.0.9");
	o = thresh_event_json(12, ev);
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	T_STREQ(s,
	    "{\"agent\":\"10.0.0.1\",\"dataSource\":\"3\","
	    "\"eventID\":12,\"flowKey\":\"10.0.0.5,10.0.0.9\","
	    "\"metric\":\"ddos\",\"threshold\":100,\"thresholdID\":"
	    "\"ddos\",\"timestamp\":1700000000000,\"value\":150.5}");
	free(s);
	thresh_event_free(ev);
	/* values are exact: 150.3 reads back as the same double */
	ev = thresh_event_new(&t, 1, 150.3, "10.0.0.1", "3", NULL);
	o = thresh_event_json(1, ev);
	T_OK(json_real_value(json_object_get(o, "value")) == 150.3);
	json_decref(o);
	thresh_event_free(ev);

	/* no flow key; a NaN value; text that is not UTF-8; cut to fit */
	memset(agent, 'a', sizeof(agent) - 1);
	agent[sizeof(agent) - 1] = '\0';
	ev = thresh_event_new(&t, 1, NAN, agent, "\xff", NULL);
	T_EQ(strlen(ev->agent), 63);
	T_OK(ev->flow_key == NULL);
	o = thresh_event_json(1, ev);
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	T_OK(strstr(s, "\"flowKey\"") == NULL);
	T_OK(strstr(s, "\"value\":null") != NULL);
	T_OK(strstr(s, "\"dataSource\":\"\\\\xff\"") != NULL);
	free(s);
	thresh_event_free(ev);
	thresh_event_free(NULL);

	/* the logring owns and frees them (ASan reports a leak if not) */
	r = logring_new(2, thresh_event_free);
	for (int i = 0; i < 5; i++)
		logring_append(r,
		    thresh_event_new(
		        &t, (uint64_t)i, 1.5, "10.0.0.1", "3", "k"));
	logring_free(r);
}

int
main(void)
{
	t_suite = "threshold";
	T_RUN(test_defaults);
	T_RUN(test_full_and_round_trip);
	T_RUN(test_errors);
	T_RUN(test_limits);
	T_RUN(test_filter_match);
	T_RUN(test_eval_fire_once);
	T_RUN(test_eval_hold_down);
	T_RUN(test_eval_oscillation);
	T_RUN(test_eval_unseen);
	T_RUN(test_eval_by_flow_keys);
	T_RUN(test_eval_many_keys);
	T_RUN(test_eval_bound);
	T_RUN(test_sweep);
	T_RUN(test_eval_vs_model);
	T_RUN(test_events);
	return t_done();
}
