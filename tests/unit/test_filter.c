/*
 * test_filter.c: unit tests for the filter language (filter.c): parsing
 * (precedence, parentheses, lists, CIDR, null, the four operators,
 * whitespace), every error message with its position, matching on flow
 * records built by hand, and the bounds (nesting, list length, expression
 * length), which must give errors, never crashes.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "flowrec.h"
#include "t.h"
#include "util.h"

/* ---- records --------------------------------------------------------- */

static void
set_stack(struct flow_rec *r)
{
	snprintf(r->stack, sizeof(r->stack), "%s", r->l[0].stack);
}

/*
 * Agent 10.0.0.1, data source 1 = input 1, output 2 (ingress); Ethernet
 * 02:00:00:00:00:01 -> 02:00:00:00:00:02, 10.0.1.5 -> 10.2.0.9, TTL 64,
 * UDP 4444 -> 53.
 */
static struct flow_rec
rec_udp4(void)
{
	struct flow_rec r;
	struct flowrec_layer *l = &r.l[0];

	memset(&r, 0, sizeof(r));
	r.agent.family = 4;
	memcpy(r.agent.a, "\x0a\x00\x00\x01", 4);
	r.sample_tag = SFLOW_SAMPLE_FLOW;
	r.source_index = 1;
	r.sampling_rate = 1000;
	r.input.value = 1;
	r.output.value = 2;
	r.frame_length = 100;
	r.n_layers = 1;
	l->have = FLOWREC_ETH | FLOWREC_ETHTYPE | FLOWREC_IP4 | FLOWREC_TTL |
	    FLOWREC_PORTS;
	memcpy(l->src_mac, "\x02\x00\x00\x00\x00\x01", 6);
	memcpy(l->dst_mac, "\x02\x00\x00\x00\x00\x02", 6);
	l->ethertype = 0x0800;
	memcpy(l->src_ip, "\x0a\x00\x01\x05", 4);
	memcpy(l->dst_ip, "\x0a\x02\x00\x09", 4);
	l->ip_proto = 17;
	l->ip_ttl = 64;
	l->src_port = 4444;
	l->dst_port = 53;
	snprintf(l->stack, sizeof(l->stack), "eth.ip.udp");
	set_stack(&r);
	return r;
}

/*
 * Agent 10.0.0.2, internal input, discarded (reason 258); 802.1Q VLAN 30,
 * 2001:db8::1 -> 2001:db8:1::2, TCP 40000 -> 443 SYN.
 */
static struct flow_rec
rec_tcp6(void)
{
	struct flow_rec r;
	struct flowrec_layer *l = &r.l[0];

	memset(&r, 0, sizeof(r));
	r.agent.family = 4;
	memcpy(r.agent.a, "\x0a\x00\x00\x02", 4);
	r.sample_tag = SFLOW_SAMPLE_FLOW;
	r.source_index = 5;
	r.input.value = SFLOW_IF_INTERNAL;
	r.output.format = SFLOW_IF_DISCARD;
	r.output.value = 258;
	r.discard_reason = 258;
	r.n_layers = 1;
	l->have = FLOWREC_ETH | FLOWREC_ETHTYPE | FLOWREC_VLAN | FLOWREC_IP6 |
	    FLOWREC_TTL | FLOWREC_PORTS | FLOWREC_TCPFLAGS;
	memcpy(l->src_mac, "\x0c\xc4\x7a\x3e\xf1\x0e", 6);
	memcpy(l->dst_mac, "\xff\xff\xff\xff\xff\xff", 6);
	l->ethertype = 0x86dd;
	l->vlan = 30;
	l->pcp = 5;
	memcpy(l->src_ip, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
	memcpy(l->dst_ip, "\x20\x01\x0d\xb8\0\x01\0\0\0\0\0\0\0\0\0\x02", 16);
	l->ip_proto = 6;
	l->ip_tos = 0xb8;
	l->ip_ttl = 3;
	l->src_port = 40000;
	l->dst_port = 443;
	l->tcp_flags = 0x02;
	snprintf(l->stack, sizeof(l->stack), "eth.dot1q.ip6.tcp");
	set_stack(&r);
	return r;
}

static struct flow_rec U4, T6;

/* Agent 10.0.0.1: port 1 is on a fabric link, 2 is an edge port. */
static int
lookup(void *arg, const struct sflow_addr *agent, uint32_t ifindex,
    const char **node, const char **link)
{
	(void)arg;
	if (agent->family != 4 || agent->a[3] != 1)
		return 0;
	*node = "leaf1";
	*link = ifindex == 1 ? "leaf1:swp1-spine1:swp1" : NULL;
	return 1;
}

static const struct flowrec_ctx CTX = { lookup, NULL };

/* ---- helpers --------------------------------------------------------- */

/* 1 match, 0 no match, -1 parse error (message in last_err). */
static char last_err[512];

static int
m(const char *expr, const struct flow_rec *r)
{
	struct filter *f = filter_parse(expr, last_err, sizeof(last_err));
	int rc;

	if (f == NULL)
		return -1;
	rc = filter_match(f, r, &CTX);
	filter_free(f);
	return rc;
}

#define MATCH(expr, r)                                                         \
	do {                                                                   \
		int m_ = m((expr), (r));                                       \
		if (m_ != 1)                                                   \
			T_FAIL("'%s' should match %s (got %d%s%s)", (expr),    \
			    #r, m_, m_ < 0 ? ": " : "",                        \
			    m_ < 0 ? last_err : "");                           \
	} while (0)

#define NOMATCH(expr, r)                                                       \
	do {                                                                   \
		int m_ = m((expr), (r));                                       \
		if (m_ != 0)                                                   \
			T_FAIL("'%s' should not match %s (got %d%s%s)",        \
			    (expr), #r, m_, m_ < 0 ? ": " : "",                \
			    m_ < 0 ? last_err : "");                           \
	} while (0)

/* The error for an expression that must not parse. */
static const char *
ferr(const char *expr)
{
	static char err[512];
	struct filter *f = filter_parse(expr, err, sizeof(err));

	if (f != NULL) {
		filter_free(f);
		return "(parsed)";
	}
	return err;
}

#define ERR(expr, want) T_STREQ(ferr(expr), (want))

/* ---- tests ----------------------------------------------------------- */

static void
numbers(void)
{
	MATCH("udpdestinationport=53", &U4);
	MATCH("udpdestinationport=053", &U4);
	MATCH("udpdestinationport=0x35", &U4);
	NOMATCH("udpdestinationport=54", &U4);
	MATCH("udpdestinationport=54,53,55", &U4);
	NOMATCH("udpdestinationport=54,55", &U4);
	MATCH("udpdestinationport!=54,55", &U4);
	NOMATCH("udpdestinationport!=54,53", &U4);
	MATCH("ipprotocol=6,17", &U4);
	MATCH("ethernetprotocol=2048", &U4);
	NOMATCH("ethernetprotocol!=2048,2054,34525", &T6);
	MATCH("vlan=30", &T6);
	MATCH("priority=5", &T6);
	MATCH("ipttl=64", &U4);
	MATCH("ip6ttl=3", &T6);
	MATCH("ip6dscp=46", &T6);
	MATCH("tcpdestinationport=443&tcpsourceport=40000", &T6);
	/* a port of the wrong protocol has no value */
	NOMATCH("tcpdestinationport=53", &U4);
	MATCH("tcpdestinationport!=53", &U4);
	MATCH("or:tcpdestinationport:udpdestinationport=53", &U4);
	MATCH("or:tcpdestinationport:udpdestinationport=443", &T6);
	/* the largest number, and lists sorted for bsearch */
	NOMATCH("vlan=18446744073709551615", &T6);
	{
		char big[4096];
		size_t o = (size_t)snprintf(big, sizeof(big), "vlan=");

		for (int i = 600; i > 0; i--)
			o += (size_t)snprintf(big + o, sizeof(big) - o, "%d%s",
			    i * 3, i > 1 ? "," : "");
		MATCH(big, &T6); /* 30 = 10 * 3 */
		o = (size_t)snprintf(big, sizeof(big), "vlan=");
		for (int i = 600; i > 0; i--)
			o += (size_t)snprintf(big + o, sizeof(big) - o, "%d%s",
			    i * 3 + 1, i > 1 ? "," : "");
		NOMATCH(big, &T6);
		NOMATCH("vlan=1,2,3,4,5,6,7,8,9,10,11,12,13,31,32", &T6);
		MATCH("vlan=1,2,3,4,5,6,7,8,9,10,11,12,13,30,31,32", &T6);
		MATCH("vlan=30,30,30,1,1", &T6);
	}
}

static void
addresses(void)
{
	MATCH("ipsource=10.0.1.5", &U4);
	NOMATCH("ipsource=10.0.1.6", &U4);
	MATCH("ipsource=10.0.0.0/8", &U4);
	MATCH("ipsource=10.0.1.0/24", &U4);
	MATCH("ipsource=10.0.1.4/31", &U4);
	NOMATCH("ipsource=10.0.1.6/31", &U4);
	MATCH("ipsource=10.0.1.5/32", &U4);
	MATCH("ipsource=0.0.0.0/0", &U4);
	MATCH("ipsource=10.9.9.9/8", &U4); /* host bits are ignored */
	MATCH("ipsource=192.168.0.0/16,10.0.0.0/8", &U4);
	NOMATCH("ipsource=192.168.0.0/16,172.16.0.0/12", &U4);
	MATCH("ipsource!=192.168.0.0/16,172.16.0.0/12", &U4);
	/* an IPv4 prefix never matches IPv6, and the reverse */
	NOMATCH("ipsource=::/0", &U4);
	MATCH("ip6source=2001:db8::/32", &T6);
	MATCH("ip6source=2001:db8::1", &T6);
	MATCH("ip6source=2001:0DB8:0000::0001", &T6);
	NOMATCH("ip6source=2001:db8::2", &T6);
	MATCH("ip6destination=2001:db8:1::/48", &T6);
	NOMATCH("ip6destination=2001:db8:2::/48", &T6);
	MATCH("ip6destination=2001:db8:1::2/128", &T6);
	MATCH("ip6destination=2001:db8:1::3/127", &T6);
	NOMATCH("ip6destination=2001:db8:1::4/127", &T6);
	MATCH("ip6destination=2001:db8:1::/65", &T6);
	MATCH("ip6destination=::/0", &T6);
	NOMATCH("ip6destination=0.0.0.0/0", &T6);
	MATCH("ip6destination=10.0.0.0/8,2001:db8::/16", &T6);
	MATCH("agent=10.0.0.1", &U4);
	MATCH("agent=10.0.0.0/30", &T6);
	MATCH("or:ipsource:ip6source=2001:db8::/32,10.0.0.0/8", &T6);
	MATCH("or:ipsource:ip6source=2001:db8::/32,10.0.0.0/8", &U4);
	MATCH("mask:ipsource:24=10.0.1.0", &U4);
	NOMATCH("mask:ipsource:24=10.0.1.5", &U4);
	MATCH("mask:ip6source:16=2001::/16", &T6);
	/* an IPv6 agent: not the IPv4 fast path's, still matched */
	{
		struct flow_rec A6 = U4;
		static const uint8_t a6[16] = { 0x20, 0x01, 0x0d,
			0xb8, [15] = 1 };

		A6.agent.family = 6;
		memcpy(A6.agent.a, a6, 16);
		MATCH("agent=2001:db8::1", &A6);
		MATCH("agent=2001:db8::/32", &A6);
		NOMATCH("agent=10.0.0.0/8", &A6);
		MATCH("agent!=10.0.0.0/8", &A6);
		NOMATCH("agent=2001:db8::2", &A6);
	}
}

static void
macs_ifindex_strings(void)
{
	MATCH("macsource=020000000001", &U4);
	MATCH("macsource=02:00:00:00:00:01", &U4);
	MATCH("macsource=02-00-00-00-00-01", &U4);
	MATCH("macsource=0CC47A3EF10E", &T6);
	MATCH("macsource=0cc47a3ef10e", &T6);
	MATCH("macdestination=FFFFFFFFFFFF", &T6);
	NOMATCH("macdestination=FFFFFFFFFFFE,000000000000", &T6);

	MATCH("inputifindex=1", &U4);
	MATCH("outputifindex=2,3", &U4);
	MATCH("inputifindex=internal", &T6);
	MATCH("inputifindex=INTERNAL", &T6);
	NOMATCH("inputifindex=1073741823", &T6);
	MATCH("outputifindex=discard", &T6);
	MATCH("outputifindex!=discard", &U4);
	NOMATCH("outputifindex=multiple", &T6);
	NOMATCH("outputifindex=258", &T6);

	MATCH("stack=eth.ip.udp", &U4);
	NOMATCH("stack=eth.ip", &U4);
	NOMATCH("stack=ETH.IP.UDP", &U4); /* strings are case-sensitive */
	MATCH("stack=eth.ip6.tcp,eth.ip.udp", &U4);
	MATCH("first:stack:.:ip:ip6=ip", &U4);
	MATCH("first:stack:.:ip:ip6=ip6", &T6);
	MATCH("direction=ingress", &U4);
	NOMATCH("direction=ingress,egress", &T6);
	MATCH("direction=null", &T6);
	MATCH("tcpflags=000000010", &T6);
	MATCH("ipsource=10.0.1.5&tcpflags!=000000010", &U4);
}

static void
nulls(void)
{
	MATCH("ip6source=null", &U4);
	NOMATCH("ip6source!=null", &U4);
	NOMATCH("ipsource=null", &U4);
	MATCH("ipsource!=null", &U4);
	MATCH("ipsource=null,10.0.1.5", &U4);
	MATCH("ip6source=null,10.0.1.5", &U4);
	MATCH("tcpflags=null", &U4);
	MATCH("vlan=null", &U4);
	MATCH("vni=null", &U4);
	/* != is the negation of =: true without a value */
	MATCH("ip6source!=2001:db8::1", &U4);
	/* null:k gives the string "null", which `null` also matches */
	MATCH("null:ip6source=null", &U4);
	NOMATCH("null:ipsource=null", &U4);
	MATCH("null:ipsource=10.0.1.5", &U4);
	MATCH("null:ip6source:none=none", &U4);
	/* topology: link:inputifindex=null selects edge ports */
	NOMATCH("link:inputifindex=null", &U4); /* port 1: fabric */
	MATCH("link:outputifindex=null", &U4);  /* port 2: edge */
	MATCH("link:inputifindex=leaf1:swp1-spine1:swp1", &U4);
	MATCH("node:inputifindex=leaf1&node:outputifindex=leaf1", &U4);
	MATCH("node:inputifindex=null", &T6); /* agent 10.0.0.2: unknown */
	MATCH("link:inputifindex!=null|link:outputifindex=null", &U4);
	/* without a ctx the topology keys have no value */
	{
		char err[256];
		struct filter *f =
		    filter_parse("link:inputifindex=null", err, sizeof(err));

		T_OK(f != NULL);
		T_EQ(filter_match(f, &U4, NULL), 1);
		T_EQ(filter_match(f, &U4, &CTX), 0);
		filter_free(f);
	}
}

static void
regexes(void)
{
	MATCH("stack~eth\\.ip\\.udp", &U4);
	MATCH("stack~.*udp", &U4);
	NOMATCH("stack~ip", &U4);           /* anchored: the whole value */
	NOMATCH("stack~eth", &U4);          /* not a prefix match */
	MATCH("stack~.*\\.(tcp|udp)", &U4); /* '|' inside a group */
	MATCH("stack~eth(\\.dot1q)?\\.ip6?\\.(tcp|udp)", &T6);
	MATCH("stack!~.*tcp", &U4);
	NOMATCH("stack!~.*udp", &U4);
	MATCH("stack~.*tcp,.*udp", &U4); /* a list: any pattern */
	MATCH("stack~.*tcp , .*udp", &U4);
	MATCH("stack~e.{1,3}ip.*", &U4); /* ',' inside braces */
	MATCH("stack~[a-z.]*", &U4);
	MATCH("stack~[|,)a-z.]*", &U4);   /* '|', ',' and ')' in a class */
	MATCH("tcpflags~.......1.", &T6); /* sFlow-RT's SYN filter */
	NOMATCH("tcpflags~....1..1.", &T6);
	NOMATCH("tcpflags~.......1.", &U4); /* no value: no match */
	MATCH("tcpflags!~.......1.", &U4);
	/* typed keys match their string form */
	MATCH("ipsource~10\\.0\\..*", &U4);
	MATCH("ip6source~2001:db8::.*", &T6);
	MATCH("macsource~0CC47A.*", &T6);
	MATCH("inputifindex~int.*", &T6);
	MATCH("udpdestinationport~5.", &U4);
	MATCH("(stack~.*(tcp|udp))&vlan=null", &U4);
	MATCH("stack~.*\\)|stack~.*udp", &U4);
}

static void
precedence(void)
{
	/* & binds tighter than |: a | b & c is a | (b & c) */
	MATCH("vlan=1|ipprotocol=17&udpdestinationport=53", &U4);
	MATCH("ipprotocol=17|vlan=1&vlan=2", &U4);
	NOMATCH("(ipprotocol=17|vlan=1)&vlan=2", &U4);
	MATCH("vlan=1&vlan=2|ipprotocol=17", &U4);
	NOMATCH("vlan=1&(vlan=2|ipprotocol=17)", &U4);
	MATCH("(vlan=1|ipprotocol=17)&(udpdestinationport=53|vlan=2)", &U4);
	NOMATCH("(vlan=1|ipprotocol=6)&(udpdestinationport=53|vlan=2)", &U4);
	MATCH("((((ipprotocol=17))))", &U4);
	MATCH("vlan=1|vlan=2|vlan=3|ipprotocol=17", &U4);
	NOMATCH("ipprotocol=17&udpdestinationport=53&ipttl=63", &U4);
	MATCH("ipprotocol=17&udpdestinationport=53&ipttl=64", &U4);
	MATCH("ip6nexthdr=6&(vlan=1|vlan=30)&ip6ttl=3|vlan=99", &T6);
	NOMATCH("ipprotocol=6&(vlan=1|vlan=30)&ip6ttl=3|vlan=99", &T6);
}

static void
whitespace(void)
{
	MATCH("  ipsource = 10.0.1.5 ", &U4);
	MATCH("ipsource= 10.0.1.5\t&\nudpdestinationport =53", &U4);
	MATCH(" ( ipsource=10.0.0.0/8 | vlan=1 ) & ( udpdestinationport = 53 , "
	      "54 ) ",
	    &U4);
	MATCH("udpdestinationport != 54 ,55", &U4);
	MATCH("stack ~ .*udp ", &U4);
	MATCH("stack !~ .*tcp", &U4);
	/* inside a value, whitespace is kept */
	NOMATCH("null:ip6source:ab=a b", &U4);
	MATCH("null:ip6source:ab= ab ", &U4);
	NOMATCH("stack=eth.ip .udp", &U4);
}

static void
empty_and_api(void)
{
	char err[256];
	struct filter *f;

	f = filter_parse("", err, sizeof(err));
	T_OK(f != NULL);
	T_EQ(filter_match(f, &U4, NULL), 1);
	T_STREQ(filter_text(f), "");
	T_OK(!filter_uses_topology(f));
	filter_free(f);
	f = filter_parse(" \t ", err, sizeof(err));
	T_OK(f != NULL);
	T_EQ(filter_match(f, &T6, NULL), 1);
	filter_free(f);
	f = filter_parse(
	    "ipsource=10.0.0.0/8&link:inputifindex=null", err, sizeof(err));
	T_OK(f != NULL);
	T_STREQ(filter_text(f), "ipsource=10.0.0.0/8&link:inputifindex=null");
	T_OK(filter_uses_topology(f));
	filter_free(f);
	filter_free(NULL);
	/* errlen 0 and a NULL err are fine */
	T_OK(filter_parse("(", NULL, 0) == NULL);
	T_OK(filter_parse("(", err, 0) == NULL);
	/* a short err buffer is cut, NUL-terminated */
	T_OK(filter_parse("ipsourc=1", err, 8) == NULL);
	T_STREQ(err, "unknown");
}

static void
errors(void)
{
	ERR("ipsourc=10.0.0.1", "unknown key 'ipsourc' at 1");
	ERR("vlan=1&ipsourc=10.0.0.1", "unknown key 'ipsourc' at 8");
	ERR("vlan=1|vlan=2)", "unexpected ')' at 14");
	ERR(")", "unexpected ')' at 1");
	ERR("()", "unexpected ')' at 2");
	ERR("(vlan=1)x", "unexpected 'x' at 9");
	ERR("(vlan=1)\377", "unexpected '\\xff' at 9");
	ERR("(vlan=1 \001)", "bad number '1 \\x01' at 7");
	ERR("(vlan=1) (vlan=2)", "unexpected '(' at 10");
	ERR("ipsource=10.0.0.0/33", "bad CIDR '10.0.0.0/33' at 10");
	ERR("ipsource=10.0.0.0/", "bad CIDR '10.0.0.0/' at 10");
	ERR("ipsource=10.0.0.0/0x8", "bad CIDR '10.0.0.0/0x8' at 10");
	ERR("ipsource=10.0.0.0/+8", "bad CIDR '10.0.0.0/+8' at 10");
	ERR("ipsource=10.0.0.0/0008", "bad CIDR '10.0.0.0/0008' at 10");
	ERR("ip6source=::/08", "(parsed)");
	ERR("ip6source=2001:db8::/129", "bad CIDR '2001:db8::/129' at 11");
	ERR("ipsource=10.0.0.1,10.0.0", "bad address '10.0.0' at 19");
	ERR("ipsource=foo", "bad address 'foo' at 10");
	ERR("agent=10.0.0.1/x", "bad CIDR '10.0.0.1/x' at 7");
	ERR("udpdestinationport=dns", "bad number 'dns' at 20");
	ERR("vlan=-1", "bad number '-1' at 6");
	ERR("vlan=18446744073709551616",
	    "bad number '18446744073709551616' at 6");
	ERR("vlan=0x", "bad number '0x' at 6");
	ERR("macsource=0200000000", "bad MAC address '0200000000' at 11");
	ERR("macsource=02:00:00:00:00:0g",
	    "bad MAC address '02:00:00:00:00:0g' at 11");
	ERR("macsource=02::00:00:00:00:01",
	    "bad MAC address '02::00:00:00:00:01' at 11");
	ERR("inputifindex=eth0", "bad ifIndex 'eth0' at 14");
	ERR("inputifindex=4294967296", "bad ifIndex '4294967296' at 14");
	ERR("ipsource 10.0.0.1",
	    "expected '=', '!=', '~' or '!~' after 'ipsource' at 10");
	ERR("vlan!1", "expected '=', '!=', '~' or '!~' after 'vlan' at 5");
	ERR("vlan", "expected '=', '!=', '~' or '!~' after 'vlan' at 5");
	ERR("vlan=", "missing value at 6");
	ERR("vlan= &vlan=1", "missing value at 7");
	ERR("vlan=1,,2", "empty value at 8");
	ERR("vlan=1,", "empty value at 8");
	ERR("vlan=1, ,2", "empty value at 9");
	ERR("vlan=1&", "unexpected end of filter at 8");
	ERR("vlan=1|", "unexpected end of filter at 8");
	ERR("(", "unexpected end of filter at 2");
	ERR("(vlan=1", "expected ')' at 8");
	ERR("((vlan=1)", "expected ')' at 10");
	ERR("&vlan=1", "unexpected '&' at 1");
	ERR("vlan=1&&vlan=2", "unexpected '&' at 8");
	ERR("vlan=1||vlan=2", "unexpected '|' at 8");
	ERR("=1", "unexpected '=' at 1");
	ERR("!=1", "unexpected '!' at 1");
	ERR("mask:ipsource:33=1.2.3.4", "(parsed)"); /* clamped, see flowrec */
	ERR("mask:stack:8=x", "mask: 'stack' is not an address key at 6");
	ERR("vlan=1&or:[ipsource=1", "missing ']' for this '[' at 11");
	ERR("node:ipsource=x",
	    "node: needs inputifindex or outputifindex at 6");
	/* the reason is the C library's (glibc's here) */
	T_OK(strncmp(ferr("stack~(tcp"), "bad regex '(tcp' at 7: ", 23) == 0);
	T_OK(strncmp(ferr("vlan=1&stack~.*,a{2"),
	         "bad regex 'a{2' at 17: ", 23) == 0);
	T_OK(strncmp(ferr("stack~[a"), "bad regex '[a' at 7: ", 21) == 0);
	T_OK(strncmp(ferr("stack~a\\"), "bad regex 'a\\' at 7: ", 21) == 0);
	T_OK(strncmp(ferr("stack~*a"), "bad regex '*a' at 7: ", 21) == 0);
	ERR("vlan=1\001", "bad number '1\\x01' at 6");
	/* regexes that would take gigabytes to compile, or that POSIX
	 * leaves undefined (the fuzzer found "f++++..." eating 2 GB) */
	ERR("stack~f+++++++++++++++++++++++++++++++++++++++++++",
	    "bad regex 'f+++++++++++++++++++++++++++++++++++++++...' at 9: "
	    "repeated quantifier");
	ERR("stack~(((a{99}){99}){99})",
	    "bad regex '(((a{99}){99}){99})' at 7: too complex");
	ERR("stack~((((((((((((((((a+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+",
	    "bad regex '((((((((((((((((a+)+)+)+)+)+)+)+)+)+)+)+...' at 7: "
	    "too complex");
	ERR("stack~.*?", "bad regex '.*?' at 9: repeated quantifier");
	ERR("stack~a{2}{3}", "bad regex 'a{2}{3}' at 11: repeated quantifier");
	ERR("stack~(a)\\1",
	    "bad regex '(a)\\1' at 10: "
	    "back-references are not supported");
	ERR("stack~a{32767}", "bad regex 'a{32767}' at 7: too complex");
	ERR("stack~a{2,32767}", "bad regex 'a{2,32767}' at 7: too complex");
	/* the budget is shared by the filter's regexes */
	ERR("stack~a{200}|stack~a{200}|stack~a{200}",
	    "bad regex 'a{200}' at 33: too complex");
	ERR("stack~a{200}|stack~a{200}", "(parsed)");
	ERR("stack~(a?){500}a{120}bc",
	    "bad regex '(a?){500}a{120}bc' at 7: too complex");
	ERR("stack~(a|b|c){3,5}[[:alpha:]]*x+", "(parsed)");
	/* a long token is cut in the message */
	ERR("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=1",
	    "unknown key 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...' at 1");
}

static void
bounds(void)
{
	char *s = xmalloc(16384);
	size_t o;
	char err[256];
	struct filter *f;

	/* FILTER_DEPTH_MAX parentheses parse; one more is an error */
	o = 0;
	for (int i = 0; i < FILTER_DEPTH_MAX; i++)
		s[o++] = '(';
	o += (size_t)sprintf(s + o, "ipprotocol=17");
	for (int i = 0; i < FILTER_DEPTH_MAX; i++)
		s[o++] = ')';
	s[o] = '\0';
	MATCH(s, &U4);
	memmove(s + 1, s, o + 1);
	s[0] = '(';
	s[o + 1] = ')';
	s[o + 2] = '\0';
	ERR(s, "parentheses nested deeper than 64 at 65");
	/* deep nesting far beyond: still an error, not a stack overflow */
	memset(s, '(', 4000);
	s[4000] = '\0';
	ERR(s, "parentheses nested deeper than 64 at 65");

	/* FILTER_LIST_MAX values parse; one more is an error */
	o = (size_t)sprintf(s, "vlan=");
	for (int i = 0; i < FILTER_LIST_MAX; i++)
		o += (size_t)sprintf(s + o, "%s1", i ? "," : "");
	f = filter_parse(s, err, sizeof(err));
	T_OK(f != NULL);
	T_EQ(filter_match(f, &U4, NULL), 0);
	filter_free(f);
	strcat(s, ",1");
	ERR(s, "more than 1024 values at 2054");

	/* a long chain of comparisons (n-ary, not a deep tree) */
	o = 0;
	for (int i = 0; i < 400; i++)
		o += (size_t)sprintf(s + o, "%sipttl=64", i ? "&" : "");
	T_OK(o <= FILTER_EXPR_MAX);
	MATCH(s, &U4);
	NOMATCH(s, &T6);
	o = 0;
	for (int i = 0; i < 400; i++)
		o += (size_t)sprintf(s + o, "%svlan=%d", i ? "|" : "", i + 1);
	MATCH(s, &T6);
	NOMATCH(s, &U4);

	/* FILTER_EXPR_MAX characters; more is an error */
	memset(s, ' ', FILTER_EXPR_MAX);
	memcpy(s + FILTER_EXPR_MAX - 6, "vlan=1", 6);
	s[FILTER_EXPR_MAX] = '\0';
	f = filter_parse(s, err, sizeof(err));
	T_OK(f != NULL);
	filter_free(f);
	memset(s, 'v', 10000);
	s[10000] = '\0';
	ERR(s, "filter longer than 4096 characters at 4097");
	memset(s, '(', 10000);
	ERR(s, "filter longer than 4096 characters at 4097");
	free(s);
}

int
main(void)
{
	t_suite = "filter";
	U4 = rec_udp4();
	T6 = rec_tcp6();
	T_RUN(numbers);
	T_RUN(addresses);
	T_RUN(macs_ifindex_strings);
	T_RUN(nulls);
	T_RUN(regexes);
	T_RUN(precedence);
	T_RUN(whitespace);
	T_RUN(empty_and_api);
	T_RUN(errors);
	T_RUN(bounds);
	return t_done();
}
