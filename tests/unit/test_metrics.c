/*
 * test_metrics.c: sFlow-RT counter metrics (metrics.c): spec and agent
 * selector parsing (good and bad, errors naming the token), /metric
 * aggregations and winners, /table rows, the Prometheus text (golden,
 * label escaping, UTF-8 cleaning) and, when promtool is installed, that
 * promtool accepts it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "metrics.h"
#include "t.h"
#include "util.h"

#define NOW 1700000100000ull

/*
 * Four interfaces, deliberately out of order:
 *	A 10.0.0.1 #1  leaf1 swp1  in 100 B/s  out 1234.5  up/up
 *	B 10.0.0.1 #2  leaf1 swp2  in 300 B/s              up/down
 *	C 10.0.0.2 #1  leaf2 -     in 300 B/s  out 0.1     up/up
 *	D 2001:db8::1 #5  -  'e"t\h<nl>0'  in ucast 1/3    down/unknown
 */
static struct ifc_rates R[4];

static void
rate(struct ifc_rates *r, enum ifc_field f, double v)
{
	r->r[f] = v;
	r->have |= IFC_BIT(f);
}

static void
fixture(void)
{
	struct ifc_rates *a = &R[3], *b = &R[2], *c = &R[1], *d = &R[0];

	memset(R, 0, sizeof(R));
	for (int i = 0; i < 4; i++) {
		R[i].in_util = R[i].out_util = -1;
		R[i].source = IFC_SRC_SFLOW;
	}
	a->agent.family = b->agent.family = c->agent.family = 4;
	a->agent.a[0] = b->agent.a[0] = c->agent.a[0] = 10;
	a->agent.a[3] = b->agent.a[3] = 1;
	c->agent.a[3] = 2;
	a->ifindex = 1;
	b->ifindex = 2;
	c->ifindex = 1;
	a->speed = b->speed = c->speed = 1000000000;
	a->iftype = b->iftype = c->iftype = 6;
	a->direction = b->direction = c->direction = 1;
	a->admin = a->oper = b->admin = c->admin = c->oper = IFC_UP;
	b->oper = IFC_DOWN;
	a->promisc = 1;
	c->promisc = 2;
	rate(a, IFC_IN_OCTETS, 100);
	rate(a, IFC_OUT_OCTETS, 1234.5);
	rate(a, IFC_IN_UCAST, 10);
	rate(a, IFC_IN_MCAST, 2);
	rate(a, IFC_IN_BCAST, 1);
	rate(a, IFC_IN_DISCARDS, 1);
	rate(a, IFC_OUT_DISCARDS, 2);
	a->in_util = 0.5;
	rate(b, IFC_IN_OCTETS, 300);
	rate(c, IFC_IN_OCTETS, 300);
	rate(c, IFC_OUT_OCTETS, 0.1);
	a->updated_ms = NOW - 1000;
	b->updated_ms = NOW - 2000;
	c->updated_ms = NOW - 500;
	d->agent.family = 6;
	d->agent.a[0] = 0x20;
	d->agent.a[1] = 0x01;
	d->agent.a[2] = 0x0d;
	d->agent.a[3] = 0xb8;
	d->agent.a[15] = 1;
	d->ifindex = 5;
	d->admin = IFC_DOWN;
	d->iftype = 161;
	rate(d, IFC_IN_UCAST, 1.0 / 3);
	d->updated_ms = NOW - 3000;
}

static const char *d_ifname = "e\"t\\h\n0";

static void
names(void *arg, const struct sflow_addr *agent, uint32_t ifindex,
    const char **node, const char **ifname)
{
	(void)arg;
	if (agent->family == 4 && agent->a[3] == 1) {
		*node = "leaf1";
		*ifname = ifindex == 1 ? "swp1" : "swp2";
	} else if (agent->family == 4 && agent->a[3] == 2) {
		*node = "leaf2";
	} else if (agent->family == 6) {
		*ifname = d_ifname;
	}
}

static struct metrics_src
src(void)
{
	struct metrics_src s = { R, 4, names, NULL, NOW };

	fixture();
	return s;
}

static struct metrics_spec
spec(const char *s)
{
	struct metrics_spec sp;
	char err[256] = "";

	if (metrics_spec_parse(s, &sp, err, sizeof(err)) != 0)
		T_FAIL("spec '%s': %s", s, err);
	return sp;
}

static struct metrics_agents
agents(const char *s)
{
	struct metrics_agents ag;
	char err[256] = "";

	if (metrics_agents_parse(s, &ag, err, sizeof(err)) != 0)
		T_FAIL("agents '%s': %s", s, err);
	return ag;
}

/* Compare a JSON value, dumped compactly in order, with a golden string. */
#define T_JSON(j, want)                                                        \
	do {                                                                   \
		json_t *t_j_ = (j);                                            \
		char *t_s_ = json_dumps(t_j_,                                  \
		    JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);     \
		T_STREQ(t_s_, want);                                           \
		free(t_s_);                                                    \
		json_decref(t_j_);                                             \
	} while (0)

static json_t *
metric(const char *ag, const char *sp)
{
	struct metrics_src s = src();
	struct metrics_agents a = agents(ag);
	struct metrics_spec m = spec(sp);

	return metrics_metric_json(&s, &a, &m);
}

static json_t *
table(const char *ag, const char *sp)
{
	struct metrics_src s = src();
	struct metrics_agents a = agents(ag);
	struct metrics_spec m = spec(sp);

	return metrics_table_json(&s, &a, &m);
}

static char *
prom(const char *ag, const char *sp)
{
	struct metrics_src s = src();
	struct metrics_agents a = agents(ag);
	struct metrics_spec m = spec(sp);

	return metrics_prometheus(&s, &a, &m);
}

/* ---- parsing --------------------------------------------------------- */

static void
spec_good(void)
{
	struct metrics_spec sp, sp2;
	char err[256] = "", buf[4096], many[1024] = "";
	size_t full;

	T_EQ(metrics_spec_parse("ifinoctets", &sp, err, sizeof(err)), 0);
	T_EQ(sp.n, 1);
	T_OK(!sp.all);
	T_EQ(sp.item[0].agg, METRICS_AGG_MAX);
	T_EQ(sp.item[0].id, METRIC_IFINOCTETS);
	T_EQ(metrics_spec_parse(
	         "sum:ifinoctets,min:ifname,avg:ifoututilization,iqr:ifinpkts,"
	         "q1:iferrors,sdev:ifspeed,var:ifindex,med:ifdiscards,"
	         "q3:ifoutpkts,max:ifoperstatus",
	         &sp, err, sizeof(err)),
	    0);
	T_STREQ(err, "");
	T_EQ(sp.n, 10);
	T_EQ(sp.item[0].agg, METRICS_AGG_SUM);
	T_EQ(sp.item[1].agg, METRICS_AGG_MIN);
	T_EQ(sp.item[1].id, METRIC_IFNAME);
	T_EQ(sp.item[2].agg, METRICS_AGG_AVG);
	T_EQ(sp.item[2].id, METRIC_IFOUTUTILIZATION);
	T_EQ(sp.item[3].agg, METRICS_AGG_IQR);
	T_EQ(sp.item[3].id, METRIC_IFINPKTS);
	T_EQ(sp.item[9].id, METRIC_IFOPERSTATUS);
	/* formats to text that parses back to the same */
	T_EQ(metrics_spec_format(&sp, buf, sizeof(buf)), strlen(buf));
	T_STREQ(buf,
	    "sum:ifinoctets,min:ifname,avg:ifoututilization,iqr:ifinpkts,"
	    "q1:iferrors,sdev:ifspeed,var:ifindex,med:ifdiscards,"
	    "q3:ifoutpkts,max:ifoperstatus");
	T_EQ(metrics_spec_parse(buf, &sp2, err, sizeof(err)), 0);
	T_OK(memcmp(&sp, &sp2, sizeof(sp)) == 0);
	/* a short buffer: cut, NUL-terminated, the full length returned */
	full = strlen(buf);
	T_EQ(metrics_spec_format(&sp, buf, 5), full);
	T_STREQ(buf, "sum:");
	T_EQ(metrics_spec_parse("ALL", &sp, err, sizeof(err)), 0);
	T_OK(sp.all);
	T_EQ(sp.n, METRICS_N);
	T_EQ(sp.item[METRIC_IFERRORS].id, METRIC_IFERRORS);
	T_EQ(metrics_spec_format(&sp, buf, sizeof(buf)), 3);
	T_STREQ(buf, "ALL");
	T_STREQ(metrics_name(METRIC_IFOUTBROADCASTPKTS), "ifoutbroadcastpkts");
	T_STREQ(metrics_agg_name(METRICS_AGG_SDEV), "sdev");
	T_OK(metrics_name(METRICS_N) == NULL);
	/* 64 items is the limit */
	for (int i = 0; i < 64; i++)
		strcat(many, i ? ",ifindex" : "ifindex");
	T_EQ(metrics_spec_parse(many, &sp, err, sizeof(err)), 0);
	T_EQ(sp.n, 64);
	strcat(many, ",ifindex");
	T_EQ(metrics_spec_parse(many, &sp, err, sizeof(err)), -1);
	T_STREQ(err, "more than 64 metrics");
}

static void
spec_bad(void)
{
	static const struct {
		const char *spec, *err;
	} cases[] = {
		{ "", "metric 1 is empty" },
		{ "ifinoctets,,ifoutoctets", "metric 2 is empty" },
		{ "ifinoctets,", "metric 2 is empty" },
		{ "ifinoctets,ifinoctet",
		    "metric 2 'ifinoctet': unknown metric" },
		{ "IFINOCTETS", "metric 1 'IFINOCTETS': unknown metric" },
		{ " ifinoctets", "metric 1 ' ifinoctets': unknown metric" },
		{ "max:", "metric 1 'max:': unknown metric" },
		{ "foo:ifinoctets",
		    "metric 1 'foo:ifinoctets': unknown aggregation 'foo' "
		    "(max, min, sum, avg, var, sdev, med, q1, q3, iqr)" },
		{ ":ifinoctets",
		    "metric 1 ':ifinoctets': unknown aggregation ''" },
		{ "max:sum:ifinoctets",
		    "metric 1 'max:sum:ifinoctets': unknown metric" },
		{ "ifinoctets,sum:ifadminstatus",
		    "metric 2 'sum:ifadminstatus': ifadminstatus is a string: "
		    "max or min only" },
		{ "avg:ifname", "metric 1 'avg:ifname': ifname is a string" },
		{ "ifinoctets,ALL", "metric 2: ALL must stand alone" },
		{ "sum:ALL", "metric 1: ALL must stand alone" },
		{ "a\x01\xff", "metric 1 'a\\x01\\xff': unknown metric" },
		{ "max:"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "a",
		    "metric 1 'max:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...': "
		    "longer than 64 bytes" },
	};

	for (size_t i = 0; i < nitems(cases); i++) {
		struct metrics_spec sp;
		char err[256] = "";

		T_EQ(metrics_spec_parse(cases[i].spec, &sp, err, sizeof(err)),
		    -1);
		if (strncmp(err, cases[i].err, strlen(cases[i].err)) != 0)
			T_FAIL("case %zu: '%s', expected '%s'", i, err,
			    cases[i].err);
	}
}

static void
agents_good(void)
{
	struct metrics_agents ag = agents(
	    "10.0.0.1;leaf2;2001:db8:0:0::1;::ffff:10.0.0.9;spine-1.dc_2");
	struct sflow_addr a = { 0 }, a6 = { 0 };
	char many[2048] = "", err[256];

	T_OK(!ag.all);
	T_EQ(ag.n, 5);
	T_OK(ag.item[0].is_addr);
	T_EQ(ag.item[0].addr.family, 4);
	T_EQ(ag.item[0].addr.a[3], 1);
	T_OK(!ag.item[1].is_addr);
	T_STREQ(ag.item[1].name, "leaf2");
	T_EQ(ag.item[2].addr.family, 6);
	T_EQ(ag.item[2].addr.a[15], 1);
	T_EQ(ag.item[3].addr.family, 4); /* IPv4-mapped: as IPv4 */
	T_EQ(ag.item[3].addr.a[3], 9);
	T_STREQ(ag.item[4].name, "spine-1.dc_2");
	/* matching: by address, mapped or not, or by node name */
	a.family = 4;
	a.a[0] = 10;
	a.a[3] = 9;
	a.a[8] = 0x77; /* junk past the address does not matter */
	T_OK(metrics_agents_match(&ag, &a, NULL));
	a.a[3] = 3;
	T_OK(!metrics_agents_match(&ag, &a, NULL));
	T_OK(!metrics_agents_match(&ag, &a, "leaf3"));
	T_OK(metrics_agents_match(&ag, &a, "leaf2"));
	a6.family = 6;
	a6.a[10] = a6.a[11] = 0xff;
	a6.a[12] = 10;
	a6.a[15] = 1;
	T_OK(metrics_agents_match(&ag, &a6, NULL)); /* ::ffff:10.0.0.1 */
	a6.a[12] = 11;
	T_OK(!metrics_agents_match(&ag, &a6, NULL));
	ag = agents("ALL");
	T_OK(ag.all);
	T_OK(metrics_agents_match(&ag, &a6, NULL));
	T_OK(metrics_agents_match(NULL, &a6, NULL));
	for (int i = 0; i < 64; i++)
		strcat(many, i ? ";n" : "n");
	T_EQ(metrics_agents_parse(many, &ag, err, sizeof(err)), 0);
	T_EQ(ag.n, 64);
	strcat(many, ";n");
	T_EQ(metrics_agents_parse(many, &ag, err, sizeof(err)), -1);
	T_STREQ(err, "more than 64 agents");
}

static void
agents_bad(void)
{
	static const struct {
		const char *s, *err;
	} cases[] = {
		{ "", "agent 1 is empty" },
		{ "10.0.0.1;;leaf1", "agent 2 is empty" },
		{ "10.0.0.1;", "agent 2 is empty" },
		{ "leaf 1",
		    "agent 1 'leaf 1': not an IP address or a node name" },
		{ "10.0.0.1;10.0.0.256/24",
		    "agent 2 '10.0.0.256/24': not an IP address" },
		{ "10.0.0.1;ALL", "agent 2: ALL must stand alone" },
		{ "all", "" }, /* a node name: fine */
		{ "x\n", "agent 1 'x\\x0a': not an IP address" },
		{ "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
		  "bbbbb",
		    "agent 1 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb...': "
		    "longer than 64 bytes" },
	};

	for (size_t i = 0; i < nitems(cases); i++) {
		struct metrics_agents ag;
		char err[256] = "";
		int rc =
		    metrics_agents_parse(cases[i].s, &ag, err, sizeof(err));

		if (cases[i].err[0] == '\0') {
			T_EQ(rc, 0);
			continue;
		}
		T_EQ(rc, -1);
		if (strncmp(err, cases[i].err, strlen(cases[i].err)) != 0)
			T_FAIL("case %zu: '%s', expected '%s'", i, err,
			    cases[i].err);
	}
}

/* ---- /metric --------------------------------------------------------- */

static void
metric_max_min(void)
{
	/* B and C tie at 300: B is first in (agent, ifIndex) order */
	T_JSON(metric("ALL", "ifinoctets"),
	    "[{\"agent\":\"10.0.0.1\",\"dataSource\":\"2\",\"metricN\":3,"
	    "\"metricName\":\"ifinoctets\",\"metricValue\":300,"
	    "\"lastUpdate\":2000,\"lastUpdateMax\":2000,"
	    "\"lastUpdateMin\":500}]");
	T_JSON(metric("ALL", "min:ifinoctets,max:ifoutoctets"),
	    "[{\"agent\":\"10.0.0.1\",\"dataSource\":\"1\",\"metricN\":3,"
	    "\"metricName\":\"ifinoctets\",\"metricValue\":100,"
	    "\"lastUpdate\":1000,\"lastUpdateMax\":2000,"
	    "\"lastUpdateMin\":500},"
	    "{\"agent\":\"10.0.0.1\",\"dataSource\":\"1\",\"metricN\":2,"
	    "\"metricName\":\"ifoutoctets\",\"metricValue\":1234.5,"
	    "\"lastUpdate\":1000,\"lastUpdateMax\":1000,"
	    "\"lastUpdateMin\":500}]");
	/* the agent selector: by node name, by address (mapped too) */
	T_JSON(metric("leaf2", "ifinoctets"),
	    "[{\"agent\":\"10.0.0.2\",\"dataSource\":\"1\",\"metricN\":1,"
	    "\"metricName\":\"ifinoctets\",\"metricValue\":300,"
	    "\"lastUpdate\":500,\"lastUpdateMax\":500,"
	    "\"lastUpdateMin\":500}]");
	T_JSON(
	    metric("::ffff:10.0.0.2;2001:db8::1", "ifinoctets,ifinucastpkts"),
	    "[{\"agent\":\"10.0.0.2\",\"dataSource\":\"1\",\"metricN\":1,"
	    "\"metricName\":\"ifinoctets\",\"metricValue\":300,"
	    "\"lastUpdate\":500,\"lastUpdateMax\":500,"
	    "\"lastUpdateMin\":500},"
	    "{\"agent\":\"2001:db8::1\",\"dataSource\":\"5\",\"metricN\":1,"
	    "\"metricName\":\"ifinucastpkts\","
	    "\"metricValue\":0.33333333333333331,"
	    "\"lastUpdate\":3000,\"lastUpdateMax\":3000,"
	    "\"lastUpdateMin\":3000}]");
	/* nobody has it; an agent that matches nothing */
	T_JSON(metric("ALL", "ifouterrors"),
	    "[{\"metricName\":\"ifouterrors\",\"metricN\":0}]");
	T_JSON(metric("10.9.9.9;nosuchnode", "ifinoctets"),
	    "[{\"metricName\":\"ifinoctets\",\"metricN\":0}]");
}

static void
metric_strings(void)
{
	/* "up" > "down": max finds an up port, min a down one */
	T_JSON(metric("ALL", "ifadminstatus,min:ifadminstatus,ifoperstatus"),
	    "[{\"agent\":\"10.0.0.1\",\"dataSource\":\"1\",\"metricN\":4,"
	    "\"metricName\":\"ifadminstatus\",\"metricValue\":\"up\","
	    "\"lastUpdate\":1000,\"lastUpdateMax\":3000,"
	    "\"lastUpdateMin\":500},"
	    "{\"agent\":\"2001:db8::1\",\"dataSource\":\"5\",\"metricN\":4,"
	    "\"metricName\":\"ifadminstatus\",\"metricValue\":\"down\","
	    "\"lastUpdate\":3000,\"lastUpdateMax\":3000,"
	    "\"lastUpdateMin\":500},"
	    "{\"agent\":\"10.0.0.1\",\"dataSource\":\"1\",\"metricN\":3,"
	    "\"metricName\":\"ifoperstatus\",\"metricValue\":\"up\","
	    "\"lastUpdate\":1000,\"lastUpdateMax\":2000,"
	    "\"lastUpdateMin\":500}]");
	/* ifname from the callback; C has none; bytewise "swp2" is max */
	T_JSON(metric("ALL", "ifname,min:ifname"),
	    "[{\"agent\":\"10.0.0.1\",\"dataSource\":\"2\",\"metricN\":3,"
	    "\"metricName\":\"ifname\",\"metricValue\":\"swp2\","
	    "\"lastUpdate\":2000,\"lastUpdateMax\":3000,"
	    "\"lastUpdateMin\":1000},"
	    "{\"agent\":\"2001:db8::1\",\"dataSource\":\"5\",\"metricN\":3,"
	    "\"metricName\":\"ifname\",\"metricValue\":\"e\\\"t\\\\h\\n0\","
	    "\"lastUpdate\":3000,\"lastUpdateMax\":3000,"
	    "\"lastUpdateMin\":1000}]");
	T_JSON(metric("2001:db8::1", "iftype,ifdirection,ifspeed"),
	    "[{\"agent\":\"2001:db8::1\",\"dataSource\":\"5\",\"metricN\":1,"
	    "\"metricName\":\"iftype\",\"metricValue\":\"ieee8023adLag\","
	    "\"lastUpdate\":3000,\"lastUpdateMax\":3000,"
	    "\"lastUpdateMin\":3000},"
	    "{\"agent\":\"2001:db8::1\",\"dataSource\":\"5\",\"metricN\":1,"
	    "\"metricName\":\"ifdirection\",\"metricValue\":\"unknown\","
	    "\"lastUpdate\":3000,\"lastUpdateMax\":3000,"
	    "\"lastUpdateMin\":3000},"
	    "{\"metricName\":\"ifspeed\",\"metricN\":0}]");
}

static void
metric_aggregates(void)
{
	/* in octets: 100, 300, 300 */
	T_JSON(metric("ALL", "sum:ifinoctets,avg:ifinoctets"),
	    "[{\"metricN\":3,\"metricName\":\"ifinoctets\","
	    "\"metricValue\":700,\"lastUpdate\":2000,"
	    "\"lastUpdateMax\":2000,\"lastUpdateMin\":500},"
	    "{\"metricN\":3,\"metricName\":\"ifinoctets\","
	    "\"metricValue\":233.33333333333334,\"lastUpdate\":2000,"
	    "\"lastUpdateMax\":2000,\"lastUpdateMin\":500}]");
	/* q1: 100 + (300 - 100) * 0.5 = 200; med 300; q3 300; iqr 100 */
	T_JSON(metric("ALL",
	           "q1:ifinoctets,med:ifinoctets,q3:ifinoctets,"
	           "iqr:ifinoctets"),
	    "[{\"metricN\":3,\"metricName\":\"ifinoctets\","
	    "\"metricValue\":200,\"lastUpdate\":2000,"
	    "\"lastUpdateMax\":2000,\"lastUpdateMin\":500},"
	    "{\"metricN\":3,\"metricName\":\"ifinoctets\","
	    "\"metricValue\":300,\"lastUpdate\":2000,"
	    "\"lastUpdateMax\":2000,\"lastUpdateMin\":500},"
	    "{\"metricN\":3,\"metricName\":\"ifinoctets\","
	    "\"metricValue\":300,\"lastUpdate\":2000,"
	    "\"lastUpdateMax\":2000,\"lastUpdateMin\":500},"
	    "{\"metricN\":3,\"metricName\":\"ifinoctets\","
	    "\"metricValue\":100,\"lastUpdate\":2000,"
	    "\"lastUpdateMax\":2000,\"lastUpdateMin\":500}]");
	/* var: mean 700/3; (100-m)^2 + 2 (300-m)^2 = 80000/3, / 3 */
	{
		json_t *a = metric("ALL", "var:ifinoctets,sdev:ifinoctets");
		double var = json_number_value(
		    json_object_get(json_array_get(a, 0), "metricValue"));
		double sdev = json_number_value(
		    json_object_get(json_array_get(a, 1), "metricValue"));

		T_OK(fabs(var - 80000.0 / 9) < 1e-6);
		T_OK(fabs(sdev - 94.280904158206) < 1e-6);
		json_decref(a);
	}
	/* fabmon's sums: only where all parts are present (A) */
	T_JSON(metric("ALL", "sum:ifinpkts,ifdiscards,sum:ifinutilization"),
	    "[{\"metricN\":1,\"metricName\":\"ifinpkts\","
	    "\"metricValue\":13,\"lastUpdate\":1000,"
	    "\"lastUpdateMax\":1000,\"lastUpdateMin\":1000},"
	    "{\"agent\":\"10.0.0.1\",\"dataSource\":\"1\",\"metricN\":1,"
	    "\"metricName\":\"ifdiscards\",\"metricValue\":3,"
	    "\"lastUpdate\":1000,\"lastUpdateMax\":1000,"
	    "\"lastUpdateMin\":1000},"
	    "{\"metricN\":1,\"metricName\":\"ifinutilization\","
	    "\"metricValue\":0.5,\"lastUpdate\":1000,"
	    "\"lastUpdateMax\":1000,\"lastUpdateMin\":1000}]");
	/* a count of promiscuous ports: A 1, C 0, the rest unknown */
	T_JSON(metric("ALL", "sum:ifpromiscuousmode"),
	    "[{\"metricN\":2,\"metricName\":\"ifpromiscuousmode\","
	    "\"metricValue\":1,\"lastUpdate\":1000,"
	    "\"lastUpdateMax\":1000,\"lastUpdateMin\":500}]");
}

/* ---- /table ---------------------------------------------------------- */

static void
table_rows(void)
{
	json_t *t;

	/* D has no ifinoctets: no row; rows in (agent, ifIndex) order */
	T_JSON(table("ALL", "ifindex,sum:ifinoctets"),
	    "[[{\"agent\":\"10.0.0.1\",\"dataSource\":\"1\","
	    "\"metricName\":\"ifindex\",\"metricValue\":1,"
	    "\"lastUpdate\":1000},"
	    "{\"agent\":\"10.0.0.1\",\"dataSource\":\"1\","
	    "\"metricName\":\"ifinoctets\",\"metricValue\":100,"
	    "\"lastUpdate\":1000}],"
	    "[{\"agent\":\"10.0.0.1\",\"dataSource\":\"2\","
	    "\"metricName\":\"ifindex\",\"metricValue\":2,"
	    "\"lastUpdate\":2000},"
	    "{\"agent\":\"10.0.0.1\",\"dataSource\":\"2\","
	    "\"metricName\":\"ifinoctets\",\"metricValue\":300,"
	    "\"lastUpdate\":2000}],"
	    "[{\"agent\":\"10.0.0.2\",\"dataSource\":\"1\","
	    "\"metricName\":\"ifindex\",\"metricValue\":1,"
	    "\"lastUpdate\":500},"
	    "{\"agent\":\"10.0.0.2\",\"dataSource\":\"1\","
	    "\"metricName\":\"ifinoctets\",\"metricValue\":300,"
	    "\"lastUpdate\":500}]]");
	/* spec order, strings as strings; C has no ifname */
	T_JSON(table("leaf1;leaf2", "ifoperstatus,ifname"),
	    "[[{\"agent\":\"10.0.0.1\",\"dataSource\":\"1\","
	    "\"metricName\":\"ifoperstatus\",\"metricValue\":\"up\","
	    "\"lastUpdate\":1000},"
	    "{\"agent\":\"10.0.0.1\",\"dataSource\":\"1\","
	    "\"metricName\":\"ifname\",\"metricValue\":\"swp1\","
	    "\"lastUpdate\":1000}],"
	    "[{\"agent\":\"10.0.0.1\",\"dataSource\":\"2\","
	    "\"metricName\":\"ifoperstatus\",\"metricValue\":\"down\","
	    "\"lastUpdate\":2000},"
	    "{\"agent\":\"10.0.0.1\",\"dataSource\":\"2\","
	    "\"metricName\":\"ifname\",\"metricValue\":\"swp2\","
	    "\"lastUpdate\":2000}]]");
	T_JSON(table("ALL", "ifouterrors"), "[]");
	/* ALL: every data source, each with what it has */
	t = table("ALL", "ALL");
	T_EQ(json_array_size(t), 4);
	/* D: ifindex ifname iftype ifdirection ifadminstatus ifinucastpkts */
	T_EQ(json_array_size(json_array_get(t, 3)), 6);
	T_STREQ(json_string_value(json_object_get(
	            json_array_get(json_array_get(t, 3), 5), "metricName")),
	    "ifinucastpkts");
	/* A: 8 status + in/out octets, 3 pkts, 2 discards, in util, 2 sums */
	T_EQ(json_array_size(json_array_get(t, 0)), 8 + 2 + 3 + 2 + 1 + 2);
	json_decref(t);
}

/* ---- Prometheus ------------------------------------------------------ */

static void
prometheus_golden(void)
{
	char *s = prom("ALL",
	    "ifinoctets,ifname,ifoperstatus,min:ifinoctets,ifinucastpkts,"
	    "ifouterrors,ifspeed");

	T_STREQ(s,
	    "# HELP sflow_ifinoctets ifInOctets, bytes per second\n"
	    "# TYPE sflow_ifinoctets gauge\n"
	    "sflow_ifinoctets{agent=\"10.0.0.1\",datasource=\"1\","
	    "ifname=\"swp1\",node=\"leaf1\"} 100\n"
	    "sflow_ifinoctets{agent=\"10.0.0.1\",datasource=\"2\","
	    "ifname=\"swp2\",node=\"leaf1\"} 300\n"
	    "sflow_ifinoctets{agent=\"10.0.0.2\",datasource=\"1\","
	    "node=\"leaf2\"} 300\n"
	    "# HELP sflow_ifoperstatus ifOperStatus: 1 up, 0 otherwise\n"
	    "# TYPE sflow_ifoperstatus gauge\n"
	    "sflow_ifoperstatus{agent=\"10.0.0.1\",datasource=\"1\","
	    "ifname=\"swp1\",node=\"leaf1\"} 1\n"
	    "sflow_ifoperstatus{agent=\"10.0.0.1\",datasource=\"2\","
	    "ifname=\"swp2\",node=\"leaf1\"} 0\n"
	    "sflow_ifoperstatus{agent=\"10.0.0.2\",datasource=\"1\","
	    "node=\"leaf2\"} 1\n"
	    "# HELP sflow_ifinucastpkts ifInUcastPkts, packets per second\n"
	    "# TYPE sflow_ifinucastpkts gauge\n"
	    "sflow_ifinucastpkts{agent=\"10.0.0.1\",datasource=\"1\","
	    "ifname=\"swp1\",node=\"leaf1\"} 10\n"
	    "sflow_ifinucastpkts{agent=\"2001:db8::1\",datasource=\"5\","
	    "ifname=\"e\\\"t\\\\h\\n0\"} 0.33333333333333331\n"
	    "# HELP sflow_ifspeed ifSpeed, bits per second\n"
	    "# TYPE sflow_ifspeed gauge\n"
	    "sflow_ifspeed{agent=\"10.0.0.1\",datasource=\"1\","
	    "ifname=\"swp1\",node=\"leaf1\"} 1000000000\n"
	    "sflow_ifspeed{agent=\"10.0.0.1\",datasource=\"2\","
	    "ifname=\"swp2\",node=\"leaf1\"} 1000000000\n"
	    "sflow_ifspeed{agent=\"10.0.0.2\",datasource=\"1\","
	    "node=\"leaf2\"} 1000000000\n");
	free(s);
	/* numbers: the shortest exact form; big counters stay exact */
	s = prom("leaf2", "ifoutoctets");
	T_STREQ(s,
	    "# HELP sflow_ifoutoctets ifOutOctets, bytes per second\n"
	    "# TYPE sflow_ifoutoctets gauge\n"
	    "sflow_ifoutoctets{agent=\"10.0.0.2\",datasource=\"1\","
	    "node=\"leaf2\"} 0.1\n");
	free(s);
	s = prom("10.9.9.9", "ALL");
	T_STREQ(s, "");
	free(s);
}

static void
prometheus_numbers(void)
{
	struct metrics_src s = src();
	struct metrics_agents ag = agents("leaf2");
	struct metrics_spec sp = spec("ifinoctets,ifoutoctets");
	char *out;

	R[1].r[IFC_IN_OCTETS] = 123456789012345678.0; /* 2^56 + ... */
	R[1].r[IFC_OUT_OCTETS] = INFINITY;            /* skipped */
	out = metrics_prometheus(&s, &ag, &sp);
	T_STREQ(out,
	    "# HELP sflow_ifinoctets ifInOctets, bytes per second\n"
	    "# TYPE sflow_ifinoctets gauge\n"
	    "sflow_ifinoctets{agent=\"10.0.0.2\",datasource=\"1\","
	    "node=\"leaf2\"} 1.2345678901234568e+17\n");
	free(out);
	/* and JSON neither: no data source has a finite value */
	T_JSON(metrics_metric_json(&s, &ag, &sp),
	    "[{\"agent\":\"10.0.0.2\",\"dataSource\":\"1\",\"metricN\":1,"
	    "\"metricName\":\"ifinoctets\","
	    "\"metricValue\":1.2345678901234568e17,\"lastUpdate\":500,"
	    "\"lastUpdateMax\":500,\"lastUpdateMin\":500},"
	    "{\"metricName\":\"ifoutoctets\",\"metricN\":0}]");
}

static const char *bad_node = "sp\xffine\xe2\x82";

static void
bad_names(void *arg, const struct sflow_addr *agent, uint32_t ifindex,
    const char **node, const char **ifname)
{
	(void)arg;
	(void)agent;
	(void)ifindex;
	*node = bad_node;
	*ifname = "\xc3\xa9th0\xc0\xaf"; /* é, then an overlong '/' */
}

static void
utf8_cleaning(void)
{
	struct metrics_src s = src();
	struct metrics_agents ag = agents("2001:db8::1");
	struct metrics_spec sp = spec("ifinucastpkts,ifname");
	char *out;

	s.names = bad_names;
	out = metrics_prometheus(&s, &ag, &sp);
	T_STREQ(out,
	    "# HELP sflow_ifinucastpkts ifInUcastPkts, packets per second\n"
	    "# TYPE sflow_ifinucastpkts gauge\n"
	    "sflow_ifinucastpkts{agent=\"2001:db8::1\",datasource=\"5\","
	    "ifname=\"\xc3\xa9th0\xef\xbf\xbd\xef\xbf\xbd\","
	    "node=\"sp\xef\xbf\xbdine\xef\xbf\xbd\xef\xbf\xbd\"} "
	    "0.33333333333333331\n");
	free(out);
	T_JSON(metrics_table_json(&s, &ag, &sp),
	    "[[{\"agent\":\"2001:db8::1\",\"dataSource\":\"5\","
	    "\"metricName\":\"ifinucastpkts\","
	    "\"metricValue\":0.33333333333333331,\"lastUpdate\":3000},"
	    "{\"agent\":\"2001:db8::1\",\"dataSource\":\"5\","
	    "\"metricName\":\"ifname\","
	    "\"metricValue\":\"\xc3\xa9th0\xef\xbf\xbd\xef\xbf\xbd\","
	    "\"lastUpdate\":3000}]]");
	/* the selector matches the node name as the callback gave it */
	ag = agents("spine");
	out = metrics_prometheus(&s, &ag, &sp);
	T_STREQ(out, "");
	free(out);
}

/* promtool check metrics on everything the fixture renders. */
static void
promtool_check(void)
{
	char path[] = "/tmp/fabmon_metrics_XXXXXX", cmd[256];
	char *s = prom("ALL", "ALL");
	FILE *f;
	int fd, rc;

	T_OK(strstr(s, "sflow_ifname") == NULL);
	T_OK(strstr(s, "sflow_iferrors") == NULL); /* nobody has it */
	T_OK(strstr(s, " nan") == NULL && strstr(s, "Inf") == NULL &&
	    strstr(s, " inf") == NULL);
	if ((fd = mkstemp(path)) < 0 || (f = fdopen(fd, "w")) == NULL) {
		T_FAIL("mkstemp");
		free(s);
		return;
	}
	fputs(s, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s > %s.out 2>&1",
	    path, path);
	rc = system(cmd);
	if (rc != 0) {
		char line[512];

		snprintf(cmd, sizeof(cmd), "%s.out", path);
		if ((f = fopen(cmd, "r")) != NULL) {
			while (fgets(line, sizeof(line), f) != NULL)
				printf("#   promtool: %s", line);
			fclose(f);
		}
		T_FAIL("promtool check metrics exited %d", rc);
	}
	snprintf(cmd, sizeof(cmd), "%s.out", path);
	unlink(cmd);
	unlink(path);
	free(s);
}

int
main(void)
{
	t_suite = "metrics";
	T_RUN(spec_good);
	T_RUN(spec_bad);
	T_RUN(agents_good);
	T_RUN(agents_bad);
	T_RUN(metric_max_min);
	T_RUN(metric_strings);
	T_RUN(metric_aggregates);
	T_RUN(table_rows);
	T_RUN(prometheus_golden);
	T_RUN(prometheus_numbers);
	T_RUN(utf8_cleaning);
	if (system("command -v promtool >/dev/null 2>&1") == 0) {
		T_RUN(promtool_check);
	} else {
		printf("ok - metrics/promtool_check # SKIP promtool not "
		       "installed\n");
		t_pass++;
	}
	return t_done();
}
