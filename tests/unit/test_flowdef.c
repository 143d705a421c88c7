/*
 * test_flowdef.c: flow definition parsing, defaults, errors, rendering.
 */
#include <stdlib.h>

#include "flowdef.h"
#include "t.h"

static int
parse(const char *name, const char *s, struct flowdef *d, char *err)
{
	return flowdef_parse(name, s, strlen(s), d, err, 256);
}

static void
test_defaults_and_fields(void)
{
	struct flowdef d;
	char err[256] = "";
	json_t *o;
	char *s;

	T_EQ(parse("udp53", "{\"keys\":\"ipsource,ipdestination\"}", &d, err),
	    0);
	T_STREQ(d.keys, "ipsource,ipdestination");
	T_EQ(d.value, FLOWDEF_BYTES);
	T_EQ(d.n, 5);
	T_OK(d.t == 2);
	T_EQ(d.active_timeout, 60);
	T_OK(!d.log && !d.flow_start);
	/* No filter renders as null, which parses back as no filter. */
	o = flowdef_json(&d);
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	T_OK(strstr(s, "\"filter\":null") != NULL);
	T_EQ(parse("udp53", s, &d, err), 0);
	T_STREQ(d.filter, "");
	free(s);
	T_EQ(parse("trace.1",
		 "{\"keys\":\"link:inputifindex\",\"value\":\"frames\","
		 "\"filter\":\"udpdestinationport=53\",\"t\":0.5,\"n\":20,"
		 "\"log\":true,\"flowStart\":true,\"activeTimeout\":10}",
		 &d, err),
	    0);
	T_EQ(d.value, FLOWDEF_FRAMES);
	T_STREQ(d.filter, "udpdestinationport=53");
	T_OK(d.t == 0.5);
	T_EQ(d.n, 20);
	T_OK(d.log && d.flow_start);
	T_EQ(d.active_timeout, 10);
	/* GET output can be PUT back. */
	o = flowdef_json(&d);
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	{
		struct flowdef d2;

		T_EQ(parse("trace.1", s, &d2, err), 0);
		T_STREQ(err, "");
		T_OK(memcmp(&d, &d2, sizeof(d)) == 0);
	}
	free(s);
}

static void
test_errors(void)
{
	static const struct {
		const char *name, *doc, *err;
	} cases[] = {
		{ "a/b", "{\"keys\":\"x\"}", "flow name 'a/b'" },
		{ "", "{\"keys\":\"x\"}", "flow name ''" },
		{ "f", "{\"keys\":", "bad JSON at line 1" },
		{ "f", "[]", "a flow definition is a JSON object" },
		{ "f", "{}", "keys: missing" },
		{ "f", "{\"keys\":\"\"}", "keys: empty" },
		{ "f", "{\"keys\":3}", "keys: not a string" },
		{ "f", "{\"keys\":\"x\",\"fliter\":\"y\"}",
		    "unknown field 'fliter'" },
		{ "f", "{\"keys\":\"x\",\"value\":\"packets\"}",
		    "value: 'packets' is not bytes or frames" },
		{ "f", "{\"keys\":\"x\",\"t\":0}", "t: a number" },
		{ "f", "{\"keys\":\"x\",\"t\":\"2\"}", "t: a number" },
		{ "f", "{\"keys\":\"x\",\"n\":0}", "n: an integer in 1..1000" },
		{ "f", "{\"keys\":\"x\",\"n\":2.5}", "n: an integer" },
		{ "f", "{\"keys\":\"x\",\"log\":1}", "log: not true or false" },
		{ "f", "{\"keys\":\"x\",\"activeTimeout\":0}",
		    "activeTimeout: an integer" },
		{ "f", "{\"keys\":\"x\",\"name\":\"g\"}",
		    "name: does not match the URL ('f')" },
		{ "f", "{\"keys\":\"x\",\"keys\":\"y\"}", "bad JSON" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct flowdef d;
		char err[256] = "";

		T_EQ(parse(cases[i].name, cases[i].doc, &d, err), -1);
		if (strncmp(err, cases[i].err, strlen(cases[i].err)) != 0)
			T_FAIL("case %zu: '%s', expected '%s'", i, err,
			    cases[i].err);
	}
}

static void
test_names(void)
{
	char longname[80];

	T_OK(flowdef_name_ok("Top-N_1.edge"));
	T_OK(!flowdef_name_ok("a b"));
	T_OK(!flowdef_name_ok("..%2f"));
	memset(longname, 'a', 64);
	longname[64] = '\0';
	T_OK(flowdef_name_ok(longname));
	longname[64] = 'a';
	longname[65] = '\0';
	T_OK(!flowdef_name_ok(longname));
}

int
main(void)
{
	t_suite = "flowdef";
	T_RUN(test_defaults_and_fields);
	T_RUN(test_errors);
	T_RUN(test_names);
	return t_done();
}
