/*
 * test_topo_json.c: the sFlow-RT topology import parser.
 */
#include <stdlib.h>

#include "t.h"
#include "topo_json.h"

static int
parse(const char *s, struct topo_import *im, char *err, char *ign)
{
	return topo_import_parse(s, strlen(s), im, err, 256, ign, 256);
}

static void
test_good(void)
{
	struct topo_import im;
	char err[256] = "", ign[256];

	T_EQ(parse("{\"nodes\":{\"leaf1\":{\"agent\":\"10.99.0.21\","
		   "\"ports\":{\"swp1\":{\"ifindex\":\"2\"},\"swp3\":"
		   "{\"ifindex\":4}},\"tags\":1},\"spine1\":{\"agent\":"
		   "\"2001:db8::1\",\"ports\":{\"swp1\":{\"ifindex\":\"2\"}}}},"
		   "\"links\":{\"l1-s1\":{\"node1\":\"leaf1\",\"port1\":"
		   "\"swp1\",\"node2\":\"spine1\",\"port2\":\"swp1\"}},"
		   "\"version\":7,\"extra\":true}",
		 &im, err, ign),
	    0);
	T_STREQ(err, "");
	T_EQ(im.n_nodes, 2);
	T_STREQ(im.nodes[0].name, "leaf1");
	T_EQ(im.nodes[0].agent.family, 4);
	T_EQ(im.nodes[0].agent.a[3], 21);
	T_EQ(im.nodes[0].n_ports, 2);
	T_EQ(im.nodes[0].ports[1].ifindex, 4);
	T_EQ(im.nodes[1].agent.family, 6);
	T_EQ(im.n_links, 1);
	T_STREQ(im.links[0].port2, "swp1");
	T_STREQ(ign, "extra,nodes.leaf1.tags");
	topo_import_clear(&im);
	T_EQ(parse("{}", &im, err, ign), 0);
	T_EQ(im.n_nodes + im.n_links, 0);
}

static void
test_errors(void)
{
	static const struct {
		const char *doc;
		const char *err;
	} cases[] = {
		{ "{\"nodes\":", "bad JSON at line 1 column 9" },
		{ "[]", "the document is not a JSON object" },
		{ "{\"nodes\":[]}", "nodes: not an object" },
		{ "{\"nodes\":{\"a\":{\"agent\":\"10.1\"}}}",
		    "nodes.a.agent: not an IPv4 or IPv6 address" },
		{ "{\"nodes\":{\"a\":{\"ports\":{\"p\":{}}}}}",
		    "nodes.a.ports.p.ifindex: missing" },
		{ "{\"nodes\":{\"a\":{\"ports\":{\"p\":{\"ifindex\":\"x\"}}}}}",
		    "nodes.a.ports.p.ifindex: not an ifIndex (1..4294967295)" },
		{ "{\"nodes\":{\"a\":{\"ports\":{\"p\":{\"ifindex\":0}}}}}",
		    "nodes.a.ports.p.ifindex: not an ifIndex (1..4294967295)" },
		{ "{\"nodes\":{\"a\":{\"ports\":{\"p\":{\"ifindex\":1},"
		  "\"q\":{\"ifindex\":\"1\"}}}}}",
		    "nodes.a.ports.q.ifindex: 1 is also port p" },
		{ "{\"nodes\":{\"a\":{\"ports\":{\"p\":{\"ifindex\":1}}}},"
		  "\"links\":{\"l\":{\"node1\":\"a\",\"port1\":\"p\","
		  "\"node2\":\"b\",\"port2\":\"p\"}}}",
		    "links.l.node2: no node 'b' in nodes" },
		{ "{\"nodes\":{\"a\":{\"ports\":{\"p\":{\"ifindex\":1}}}},"
		  "\"links\":{\"l\":{\"node1\":\"a\",\"port1\":\"q\","
		  "\"node2\":\"a\",\"port2\":\"p\"}}}",
		    "links.l.port1: no port 'q' on node 'a'" },
		{ "{\"nodes\":{\"a\":{\"ports\":{\"p\":{\"ifindex\":1}}}},"
		  "\"links\":{\"l\":{\"node1\":\"a\",\"port1\":\"p\"}}}",
		    "links.l.node2: missing, or not a name" },
		{ "{\"nodes\":{\"a\":{\"ports\":{\"p\":{\"ifindex\":1}}}},"
		  "\"links\":{\"l\":{\"node1\":\"a\",\"port1\":\"p\","
		  "\"node2\":\"a\",\"port2\":\"p\"}}}",
		    "links.l: both ends are a:p" },
		{ "{\"nodes\":{\"a\":{},\"a\":{}}}", "bad JSON" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct topo_import im;
		char err[256] = "", ign[256];

		T_EQ(parse(cases[i].doc, &im, err, ign), -1);
		if (strncmp(err, cases[i].err, strlen(cases[i].err)) != 0)
			T_FAIL("case %zu: '%s', expected '%s'", i, err,
			    cases[i].err);
		T_EQ(im.n_nodes + im.n_links, 0); /* cleared on error */
	}
}

int
main(void)
{
	t_suite = "topo_json";
	T_RUN(test_good);
	T_RUN(test_errors);
	return t_done();
}
