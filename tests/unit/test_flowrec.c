/*
 * test_flowrec.c: unit tests for flow records and flow keys (flowrec.c).
 *
 * Two sources of samples: the recorded fixtures (../shared/fixtures/pcap,
 * or $FIXTURES), whose expected key values are those `fabmond --decode`
 * and tshark show for the same samples (quoted next to each check), and
 * datagrams built here with a small XDR writer for what no fixture has
 * (VXLAN, 802.1Q, sampled IPv4 records without a header, discard samples,
 * an IPv6 agent).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flowrec.h"
#include "packet.h"
#include "sflow.h"
#include "t.h"
#include "util.h"

/* ---- XDR builder (as in test_sflow.c) -------------------------------- */

#define X_DEPTH 8

struct xdr {
	uint8_t b[8192];
	size_t n;
	size_t open[X_DEPTH];
	int depth;
};

static void
xreset(struct xdr *x)
{
	memset(x, 0, sizeof(*x));
}

static void
xraw(struct xdr *x, const void *p, size_t n)
{
	if (x->n + n > sizeof(x->b))
		abort(); /* a test bug */
	memcpy(x->b + x->n, p, n);
	x->n += n;
}

static void
x32(struct xdr *x, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16),
		(uint8_t)(v >> 8), (uint8_t)v };

	xraw(x, b, 4);
}

static void
xopaque(struct xdr *x, const void *p, size_t n)
{
	static const uint8_t zero[4];

	x32(x, (uint32_t)n);
	xraw(x, p, n);
	xraw(x, zero, (4 - n % 4) % 4);
}

static void
xbegin(struct xdr *x, uint32_t tag)
{
	if (x->depth == X_DEPTH)
		abort();
	x32(x, tag);
	x->open[x->depth++] = x->n;
	x32(x, 0);
}

static void
xend(struct xdr *x)
{
	size_t at = x->open[--x->depth];
	uint32_t len = (uint32_t)(x->n - at - 4);

	x->b[at] = (uint8_t)(len >> 24);
	x->b[at + 1] = (uint8_t)(len >> 16);
	x->b[at + 2] = (uint8_t)(len >> 8);
	x->b[at + 3] = (uint8_t)len;
}

#define IP4(a, b, c, d)                                                        \
	((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static const uint8_t AGENT6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0xab, 0xcd };

static void
dg4(struct xdr *x, uint32_t agent, uint32_t nsamples)
{
	xreset(x);
	x32(x, 5);
	x32(x, 1);
	x32(x, agent);
	x32(x, 0);
	x32(x, 1);
	x32(x, 1000);
	x32(x, nsamples);
}

static void
dg6(struct xdr *x, uint32_t nsamples)
{
	xreset(x);
	x32(x, 5);
	x32(x, 2);
	xraw(x, AGENT6, 16);
	x32(x, 0);
	x32(x, 1);
	x32(x, 1000);
	x32(x, nsamples);
}

static void
flow_begin(struct xdr *x, uint32_t srcid, uint32_t rate, uint32_t in,
    uint32_t out, uint32_t nrec)
{
	xbegin(x, SFLOW_SAMPLE_FLOW);
	x32(x, 1);
	x32(x, srcid);
	x32(x, rate);
	x32(x, 5000);
	x32(x, 0);
	x32(x, in);
	x32(x, out);
	x32(x, nrec);
}

static void
rec_header(
    struct xdr *x, uint32_t proto, uint32_t frame, const uint8_t *pkt, size_t n)
{
	xbegin(x, SFLOW_FLOW_HEADER);
	x32(x, proto);
	x32(x, frame);
	x32(x, 4);
	xopaque(x, pkt, n);
	xend(x);
}

static void
rec_switch(
    struct xdr *x, uint32_t svlan, uint32_t spri, uint32_t dvlan, uint32_t dpri)
{
	xbegin(x, SFLOW_FLOW_EXT_SWITCH);
	x32(x, svlan);
	x32(x, spri);
	x32(x, dvlan);
	x32(x, dpri);
	xend(x);
}

/* ---- decoding into records ------------------------------------------- */

#define MAX_RECS 16

static struct flow_rec R[MAX_RECS];
static int n_recs;
static int n_other; /* samples flowrec_from_sample() refused */

/* Decode one datagram from an exact-size heap copy; append its records. */
static void
decode_into(const uint8_t *p, size_t len)
{
	uint8_t *copy = xmalloc(len ? len : 1);
	struct sflow_datagram dg;
	struct sflow_sample s;

	memcpy(copy, p, len);
	if (sflow_datagram_open(&dg, copy, len) == SFLOW_OK) {
		while (sflow_sample_next(&dg, &s) > 0) {
			struct flow_rec tmp;

			if (flowrec_from_sample(&tmp, &dg, &s) != 0) {
				n_other++;
				continue;
			}
			if (n_recs < MAX_RECS)
				R[n_recs++] = tmp;
		}
	}
	free(copy);
}

static void
decode_reset(void)
{
	memset(R, 0, sizeof(R));
	n_recs = 0;
	n_other = 0;
}

static void
decodex(const struct xdr *x)
{
	decode_reset();
	decode_into(x->b, x->n);
}

static uint32_t
rd32le(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

/*
 * Load a classic pcap of Ethernet frames carrying sFlow over UDP (what
 * tests/tools/pcap_send.py reads) and decode every datagram in it.
 * Returns false (with a failure) if the file cannot be read.
 */
static bool
load_fixture(const char *name)
{
	const char *dir = getenv("FIXTURES");
	char path[1024];
	uint8_t *buf;
	long size;
	size_t off = 24;
	FILE *f;

	decode_reset();
	snprintf(path, sizeof(path), "%s/%s",
	    dir != NULL && dir[0] != '\0' ? dir : "../shared/fixtures/pcap",
	    name);
	if ((f = fopen(path, "rb")) == NULL) {
		T_FAIL("cannot open %s", path);
		return false;
	}
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = xmalloc(size > 0 ? (size_t)size : 1);
	if (size < 24 || fread(buf, 1, (size_t)size, f) != (size_t)size) {
		fclose(f);
		free(buf);
		T_FAIL("cannot read %s", path);
		return false;
	}
	fclose(f);
	/* Little-endian classic pcap, link type 1 (Ethernet). */
	if (rd32le(buf) != 0xa1b2c3d4 || rd32le(buf + 20) != 1) {
		free(buf);
		T_FAIL("%s: not a little-endian Ethernet pcap", path);
		return false;
	}
	while (off + 16 <= (size_t)size) {
		uint32_t caplen = rd32le(buf + off + 8);
		struct pkt_info pi;

		off += 16;
		if (caplen > (size_t)size - off)
			break;
		pkt_parse(buf + off, caplen, PKT_START_ETHERNET, &pi);
		if (pi.outer.has_l4 && pi.outer.ip_proto == 17 &&
		    pi.udp_payload_len > 0)
			decode_into(
			    buf + off + pi.udp_payload_off, pi.udp_payload_len);
		off += caplen;
	}
	free(buf);
	return true;
}

/* ---- key helpers ----------------------------------------------------- */

/* The value of key `expr` on r, or "null"; "PARSE ERROR: ..." if bad. */
static const char *
kv(const struct flow_rec *r, const char *expr, const struct flowrec_ctx *ctx)
{
	static char out[FLOWKEY_VALUE_MAX + 64];
	char err[256];
	struct flowkey *k = flowkey_parse(expr, err, sizeof(err));

	if (k == NULL) {
		snprintf(out, sizeof(out), "PARSE ERROR: %s", err);
		return out;
	}
	flowkey_eval(k, r, ctx, out, FLOWKEY_VALUE_MAX);
	flowkey_free(k);
	return out;
}

#define KV(r, key, want)       T_STREQ(kv((r), (key), NULL), (want))
#define KVC(r, key, ctx, want) T_STREQ(kv((r), (key), (ctx)), (want))

/* The error message for a key that must not parse. */
static const char *
kerr(const char *expr)
{
	static char err[256];
	struct flowkey *k = flowkey_parse(expr, err, sizeof(err));

	if (k != NULL) {
		flowkey_free(k);
		return "(parsed)";
	}
	return err;
}

/* ---- fixtures -------------------------------------------------------- */

/*
 * sflow-data-1140.pcap, sample 1 (fabmond --decode; tshark agrees):
 * agent 172.16.0.3, sourceId 0:28, meanSkipCount 1024, inputPort 27,
 * outputPort 28; SWITCH in_vlan 100; HEADER sampledPacketSize 1518,
 * dstMAC 246e96043c08, srcMAC 246e96907a50, ethernet_type 34525,
 * IPTOS 8, IPTTL 64, srcIP6 2a0c:8880:2:0:185:21:130:38 (tshark),
 * IPProtocol 6, TCPSrcPort 46026, TCPDstPort 22, TCPFlags 16 (ACK).
 */
static void
fixture_ipv6_tcp(void)
{
	const struct flow_rec *r = &R[0];

	if (!load_fixture("sflow-data-1140.pcap"))
		return;
	T_EQ(n_recs, 5);
	T_EQ(r->sampling_rate, 1024);
	T_EQ(r->frame_length, 1518);
	T_EQ(r->stripped, 4);
	T_EQ(r->source_index, 28);
	T_OK(r->has_header);
	T_EQ(r->n_layers, 1);
	KV(r, "agent", "172.16.0.3");
	KV(r, "macsource", "246E96907A50");
	KV(r, "macdestination", "246E96043C08");
	KV(r, "ethernetprotocol", "34525");
	KV(r, "vlan", "100"); /* untagged header: the switch record's */
	KV(r, "priority", "0");
	KV(r, "vlansource", "100");
	KV(r, "vlandestination", "100");
	KV(r, "prioritysource", "0");
	KV(r, "ip6source", "2a0c:8880:2:0:185:21:130:38");
	KV(r, "ip6destination", "2a0c:8880:2:0:185:21:130:39");
	KV(r, "ip6nexthdr", "6");
	KV(r, "ip6tos", "8");
	KV(r, "ip6dscp", "2"); /* tshark: DSCP Unknown (2) */
	KV(r, "ip6ttl", "64");
	KV(r, "tcpsourceport", "46026");
	KV(r, "tcpdestinationport", "22");
	KV(r, "tcpflags", "000010000");
	KV(r, "inputifindex", "27");
	KV(r, "outputifindex", "28");
	KV(r, "direction", "egress"); /* sourceId 0:28 is the output */
	KV(r, "stack", "eth.ip6.tcp");
	/* IPv4, UDP, ICMP and inner keys have no value here */
	KV(r, "ipsource", "null");
	KV(r, "ipprotocol", "null");
	KV(r, "ipttl", "null");
	KV(r, "udpsourceport", "null");
	KV(r, "icmptype", "null");
	KV(r, "icmp6type", "null");
	KV(r, "ip6source.1", "null");
	KV(r, "vni", "null");
}

/*
 * Samples 2 and 4 of the same capture: sample 2 sourceId 0:25, input
 * 49001, output 25, SWITCH in_vlan 4294967295 out_vlan 100; srcIP
 * 104.26.8.24, dstIP 45.90.161.46, IPProtocol 6, IPTOS 0, IPTTL 59,
 * TCP 443 -> 56876, TCPFlags 24 (PSH ACK). Sample 4: sourceId 0:28,
 * input 28, output 49001, srcIP 45.90.161.148 dstIP 191.87.91.27, TTL 255,
 * 55658 -> 5555, TCPFlags 2 (SYN).
 */
static void
fixture_ipv4_tcp(void)
{
	const struct flow_rec *r = &R[1], *syn = &R[3];

	if (!load_fixture("sflow-data-1140.pcap"))
		return;
	KV(r, "macsource", "C4CA2BAE3437");
	KV(r, "macdestination", "AE18B04B268A");
	KV(r, "ethernetprotocol", "2048");
	KV(r, "ipsource", "104.26.8.24");
	KV(r, "ipdestination", "45.90.161.46");
	KV(r, "ipprotocol", "6");
	KV(r, "iptos", "0");
	KV(r, "ipdscp", "0");
	KV(r, "ipttl", "59");
	KV(r, "tcpsourceport", "443");
	KV(r, "tcpdestinationport", "56876");
	KV(r, "tcpflags", "000011000");
	KV(r, "inputifindex", "49001");
	KV(r, "outputifindex", "25");
	KV(r, "direction", "egress");
	KV(r, "stack", "eth.ip.tcp");
	/* in_vlan 0xFFFFFFFF is "unknown": no VLAN from anywhere */
	KV(r, "vlan", "null");
	KV(r, "priority", "null");
	KV(r, "vlansource", "null");
	KV(r, "vlandestination", "100");
	KV(r, "ip6source", "null");

	KV(syn, "ipsource", "45.90.161.148");
	KV(syn, "ipdestination", "191.87.91.27");
	KV(syn, "ipttl", "255");
	KV(syn, "tcpsourceport", "55658");
	KV(syn, "tcpdestinationport", "5555");
	KV(syn, "tcpflags", "000000010");
	KV(syn, "direction", "ingress"); /* sourceId 0:28 is the input */
	KV(syn, "vlandestination", "null");
	T_EQ(syn->frame_length, 64);
}

/*
 * sflow-data-icmpv4.pcap: agent 127.0.0.1, sourceId 0:1, inputPort and
 * outputPort 1073741823 (0x3FFFFFFF, internal); srcIP 203.0.113.4, dstIP
 * 203.0.113.5, IPProtocol 1, IPTTL 64, ICMPType 8, ICMPCode 0.
 */
static void
fixture_icmpv4(void)
{
	const struct flow_rec *r = &R[0];

	if (!load_fixture("sflow-data-icmpv4.pcap"))
		return;
	T_EQ(n_recs, 1);
	KV(r, "agent", "127.0.0.1");
	KV(r, "ipsource", "203.0.113.4");
	KV(r, "ipdestination", "203.0.113.5");
	KV(r, "ipprotocol", "1");
	KV(r, "ipttl", "64");
	KV(r, "icmptype", "8");
	KV(r, "icmpcode", "0");
	KV(r, "icmp6type", "null");
	KV(r, "tcpflags", "null");
	KV(r, "stack", "eth.ip.icmp");
	KV(r, "inputifindex", "internal");
	KV(r, "outputifindex", "internal");
	KV(r, "direction", "null");
	KV(r, "vlan", "null"); /* in_vlan 0: untagged */
	KV(r, "vlansource", "0");
}

/*
 * sflow-data-icmpv6.pcap: srcIP6 fe80::d05b:45ff:feee:5ecf, dstIP6
 * 2001:db8::, IPProtocol 58, IPTTL 255, ICMPType 135 (neighbour
 * solicitation), ICMPCode 0.
 */
static void
fixture_icmpv6(void)
{
	const struct flow_rec *r = &R[0];

	if (!load_fixture("sflow-data-icmpv6.pcap"))
		return;
	T_EQ(n_recs, 1);
	KV(r, "ip6source", "fe80::d05b:45ff:feee:5ecf");
	KV(r, "ip6destination", "2001:db8::");
	KV(r, "ip6nexthdr", "58");
	KV(r, "ip6ttl", "255");
	KV(r, "icmp6type", "135");
	KV(r, "icmp6code", "0");
	KV(r, "icmptype", "null");
	KV(r, "stack", "eth.ip6.icmp6");
	KV(r, "first:stack:.:ip:ip6", "ip6");
}

/*
 * The interface encodings: outputPort "dropCode 1" (host_unreachable),
 * 1073741823 (internal), "multiple 7"; and the expanded sample of
 * sflow-data-sflow-ipv4-data.pcap (0:3, sourceId 0:182, meanSkipCount
 * 256, inputPort 0, outputPort 182, in_vlan 0, out_vlan 3001; UDP
 * 50.50.50.50:46622 -> 51.51.51.51:58631, dstMAC 01005e2aaa04,
 * sampledPacketSize 1390).
 */
static void
fixture_interfaces(void)
{
	const struct flow_rec *r = &R[0];

	if (load_fixture("sflow-data-discard-interface.pcap")) {
		KV(r, "outputifindex", "discard");
		KV(r, "inputifindex", "27");
		T_EQ(r->output.format, SFLOW_IF_DISCARD);
		T_EQ(r->discard_reason, 1);
		T_OK(!r->dropped); /* a flow sample, not a discard sample */
		KV(r, "direction", "null");
	}
	if (load_fixture("sflow-data-local-interface.pcap"))
		KV(r, "outputifindex", "internal");
	if (load_fixture("sflow-data-multiple-interfaces.pcap")) {
		KV(r, "outputifindex", "multiple");
		T_EQ(r->output.value, 7);
	}
	if (load_fixture("sflow-data-sflow-ipv4-data.pcap")) {
		T_EQ(n_recs, 1);
		T_EQ(r->sample_tag, SFLOW_SAMPLE_FLOW_EXPANDED);
		T_EQ(r->sampling_rate, 256);
		T_EQ(r->frame_length, 1390);
		KV(r, "inputifindex", "0");
		KV(r, "outputifindex", "182");
		KV(r, "direction", "egress");
		KV(r, "macdestination", "01005E2AAA04");
		KV(r, "macsource", "00FEC8990547");
		KV(r, "ipsource", "50.50.50.50");
		KV(r, "ipdestination", "51.51.51.51");
		KV(r, "udpsourceport", "46622");
		KV(r, "udpdestinationport", "58631");
		KV(r, "tcpsourceport", "null");
		KV(r, "stack", "eth.ip.udp");
		KV(r, "vlan", "null");
		KV(r, "vlandestination", "3001");
	}
}

/*
 * sflow-data-sflow-raw-ipv4.pcap: headerProtocol 11 (IPv4, no Ethernet):
 * srcIP 69.58.92.107, dstIP 92.222.186.1, IPProtocol 1, IPTOS 8, IPTTL
 * 64, ICMPType 0 (echo reply); sourceId 0:2, inputPort 0, outputPort 2.
 */
static void
fixture_raw_ipv4(void)
{
	const struct flow_rec *r = &R[0];

	if (!load_fixture("sflow-data-sflow-raw-ipv4.pcap"))
		return;
	T_EQ(n_recs, 2);
	T_EQ(r->header_protocol, 11);
	KV(r, "stack", "ip.icmp");
	KV(r, "macsource", "null");
	KV(r, "ethernetprotocol", "null");
	KV(r, "ipsource", "69.58.92.107");
	KV(r, "ipdestination", "92.222.186.1");
	KV(&R[1], "ipdestination", "92.222.184.1");
	KV(r, "iptos", "8");
	KV(r, "ipdscp", "2");
	KV(r, "ipttl", "64");
	KV(r, "icmptype", "0");
	KV(r, "direction", "egress");
}

/* ---- built samples ---------------------------------------------------- */

/*
 * Outer 02:00:00:00:00:0a -> 02:00:00:00:00:0b, 192.0.2.1 -> 192.0.2.2
 * UDP 49152 -> 4789, VXLAN VNI 5001; inner 02:..:01 -> 02:..:02 tagged
 * VLAN 7 priority 3, 10.0.1.5 -> 10.2.0.9 TTL 63 TOS 0xb8, TCP 40000 ->
 * 80 SYN.
 */
/* clang-format off */
static const uint8_t PKT_VXLAN[] = {
	0x02, 0, 0, 0, 0, 0x0b, 0x02, 0, 0, 0, 0, 0x0a, 0x08, 0x00,
	0x45, 0x00, 0x00, 0x5e, 0x00, 0x01, 0x00, 0x00, 64, 17, 0, 0,
	192, 0, 2, 1, 192, 0, 2, 2,
	0xc0, 0x00, 0x12, 0xb5, 0x00, 0x4a, 0x00, 0x00,	/* UDP -> 4789 */
	0x08, 0, 0, 0, 0x00, 0x13, 0x89, 0x00,		/* VNI 5001 */
	0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01,
	0x81, 0x00, 0x60, 0x07, 0x08, 0x00,		/* pcp 3, VLAN 7 */
	0x45, 0xb8, 0x00, 0x28, 0x00, 0x02, 0x00, 0x00, 63, 6, 0, 0,
	10, 0, 1, 5, 10, 2, 0, 9,
	0x9c, 0x40, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0,
	0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0,
};

/* 802.1Q VLAN 42 priority 5, IPv6 2001:db8::1 -> 2001:db8::2, UDP 53. */
static const uint8_t PKT_DOT1Q6[] = {
	0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01,
	0x81, 0x00, 0xa0, 0x2a, 0x86, 0xdd,
	0x6b, 0x80, 0x00, 0x00, 0x00, 0x0c, 17, 9,
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
	0x13, 0x88, 0x00, 0x35, 0x00, 0x0c, 0x00, 0x00,
	'a', 'b', 'c', 'd',
};
/* clang-format on */

static void
built_vxlan(void)
{
	struct xdr x;
	const struct flow_rec *r = &R[0];

	dg4(&x, IP4(10, 0, 0, 1), 1);
	flow_begin(&x, 3, 4096, 3, 1, 1);
	rec_header(&x, 1, 1500, PKT_VXLAN, sizeof(PKT_VXLAN));
	xend(&x);
	decodex(&x);
	T_EQ(n_recs, 1);
	T_EQ(r->n_layers, 2);
	T_EQ(r->vxlan_vni, 5001);
	KV(r, "stack", "eth.ip.udp.vxlan.eth.dot1q.ip.tcp");
	KV(r, "vni", "5001");
	KV(r, "macsource", "02000000000A");
	KV(r, "macsource.1", "020000000001");
	KV(r, "macdestination.1", "020000000002");
	KV(r, "ipsource", "192.0.2.1");
	KV(r, "discardreason", "none");
	KV(r, "ipdestination", "192.0.2.2");
	KV(r, "ipsource.1", "10.0.1.5");
	KV(r, "ipdestination.1", "10.2.0.9");
	KV(r, "ipprotocol", "17");
	KV(r, "ipprotocol.1", "6");
	KV(r, "ipttl.1", "63");
	KV(r, "iptos.1", "184");
	KV(r, "ipdscp.1", "46");
	KV(r, "udpdestinationport", "4789");
	KV(r, "udpsourceport", "49152");
	KV(r, "udpdestinationport.1", "null");
	KV(r, "tcpsourceport", "null");
	KV(r, "tcpsourceport.1", "40000");
	KV(r, "tcpdestinationport.1", "80");
	KV(r, "tcpflags.1", "000000010");
	KV(r, "vlan", "null");
	KV(r, "vlan.1", "7");
	KV(r, "priority.1", "3");
	KV(r, "ethernetprotocol.1", "2048");
	KV(r, "IPSOURCE.1", "10.0.1.5"); /* names ignore case */
	KV(r, "first:stack:.:ip:ip6", "ip");
	KV(r, "or:tcpsourceport:tcpsourceport.1", "40000");
	KV(r, "mask:ipsource.1:16", "10.0.0.0");
	KV(r, "direction", "ingress");
}

static void
built_dot1q_ipv6(void)
{
	struct xdr x;
	const struct flow_rec *r = &R[0];

	dg6(&x, 1);
	flow_begin(&x, 4, 100, 4, 9, 2);
	rec_switch(&x, 100, 1, 200, 2);
	rec_header(&x, 1, 80, PKT_DOT1Q6, sizeof(PKT_DOT1Q6));
	xend(&x);
	decodex(&x);
	T_EQ(n_recs, 1);
	KV(r, "agent", "2001:db8::abcd");
	/* the header's tag wins over the switch record */
	KV(r, "vlan", "42");
	KV(r, "priority", "5");
	KV(r, "vlansource", "100");
	KV(r, "prioritysource", "1");
	KV(r, "vlandestination", "200");
	KV(r, "prioritydestination", "2");
	KV(r, "ethernetprotocol", "34525");
	KV(r, "stack", "eth.dot1q.ip6.udp");
	KV(r, "ip6source", "2001:db8::1");
	KV(r, "ip6tos", "184");
	KV(r, "ip6dscp", "46");
	KV(r, "ip6ttl", "9");
	KV(r, "udpsourceport", "5000");
	KV(r, "udpdestinationport", "53");
	KV(r, "mask:ip6source:32", "2001:db8::");
	KV(r, "mask:ip6source:127", "2001:db8::");
	KV(r, "mask:ip6source:128", "2001:db8::1");
	KV(r, "mask:ip6source:0", "::");
	KV(r, "mask:agent:120", "2001:db8::ab00");
	KV(r, "first:stack:.:ip:ip6", "ip6");
	KV(r, "first:stack:.:dot1q", "dot1q");
	KV(r, "first:stack:.:mpls", "null");
	KV(r, "prefix:stack:.:2", "eth.dot1q");
	KV(r, "suffix:stack:.:2", "ip6.udp");
	KV(r, "suffix:stack:.:9", "eth.dot1q.ip6.udp");
	KV(r, "prefix:stack:dot1q.:1", "eth.");
	KV(r, "direction", "ingress");
}

/* Sampled Ethernet and IPv4 records, no header: what they can give. */
static void
built_records_only(void)
{
	static const uint8_t smac[6] = { 0x0c, 0xc4, 0x7a, 0x3e, 0xf1, 0x0e };
	static const uint8_t dmac[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	struct xdr x;
	const struct flow_rec *r = &R[0];

	dg4(&x, IP4(10, 0, 0, 2), 1);
	flow_begin(&x, 5, 512, 5, 6, 2);
	xbegin(&x, SFLOW_FLOW_ETHERNET);
	x32(&x, 1000);
	xraw(&x, smac, 6);
	xraw(&x, (const uint8_t[2]){ 0, 0 }, 2);
	xraw(&x, dmac, 6);
	xraw(&x, (const uint8_t[2]){ 0, 0 }, 2);
	x32(&x, 0x0800);
	xend(&x);
	xbegin(&x, SFLOW_FLOW_IPV4);
	x32(&x, 986);
	x32(&x, 6);
	x32(&x, IP4(10, 1, 1, 1));
	x32(&x, IP4(10, 1, 1, 2));
	x32(&x, 1234);
	x32(&x, 443);
	x32(&x, 0x12);
	x32(&x, 0x20);
	xend(&x);
	xend(&x);
	decodex(&x);
	T_EQ(n_recs, 1);
	T_OK(!r->has_header);
	T_EQ(r->frame_length, 1000);
	KV(r, "macsource", "0CC47A3EF10E");
	KV(r, "macdestination", "FFFFFFFFFFFF");
	KV(r, "ethernetprotocol", "2048");
	KV(r, "ipsource", "10.1.1.1");
	KV(r, "ipdestination", "10.1.1.2");
	KV(r, "ipprotocol", "6");
	KV(r, "iptos", "32");
	KV(r, "ipttl", "null"); /* the record has no TTL */
	KV(r, "tcpsourceport", "1234");
	KV(r, "tcpdestinationport", "443");
	KV(r, "tcpflags", "000010010");
	KV(r, "stack", "eth.ip.tcp");

	/* a header too short to parse: the IPv6 record stands in */
	dg4(&x, IP4(10, 0, 0, 2), 1);
	flow_begin(&x, 5, 512, 5, 6, 2);
	rec_header(&x, 1, 700, dmac, 6);
	xbegin(&x, SFLOW_FLOW_IPV6);
	x32(&x, 686);
	x32(&x, 17);
	xraw(&x, AGENT6, 16);
	xraw(&x, AGENT6, 16);
	x32(&x, 5353);
	x32(&x, 5353);
	x32(&x, 0);
	x32(&x, 0);
	xend(&x);
	xend(&x);
	decodex(&x);
	T_EQ(n_recs, 1);
	T_OK(r->has_header);
	T_EQ(r->frame_length, 700);
	KV(r, "macsource", "null");
	KV(r, "ip6source", "2001:db8::abcd");
	KV(r, "udpdestinationport", "5353");
	KV(r, "stack", "ip6.udp");
}

/* A discarded-packet sample (0:5), dropped by an ACL on its way to 12. */
static void
built_discard(void)
{
	static const uint8_t pkt[] = { 0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0,
		0x02, 0x08, 0x00, 0x45, 0x00, 0x00, 20, 0, 0, 0, 0, 1, 17, 0, 0,
		10, 0, 1, 5, 10, 2, 0, 9 };
	struct xdr x;
	const struct flow_rec *r = &R[0];

	dg4(&x, IP4(10, 0, 0, 3), 2);
	xbegin(&x, SFLOW_SAMPLE_DISCARD);
	x32(&x, 77);
	x32(&x, 0);
	x32(&x, 9);   /* source index */
	x32(&x, 3);   /* drops */
	x32(&x, 9);   /* input */
	x32(&x, 12);  /* output */
	x32(&x, 258); /* acl */
	x32(&x, 1);
	rec_header(&x, 1, 60, pkt, sizeof(pkt));
	xend(&x);
	/* a counter sample: not a flow record */
	xbegin(&x, SFLOW_SAMPLE_COUNTERS);
	x32(&x, 1);
	x32(&x, 9);
	x32(&x, 0);
	xend(&x);
	decodex(&x);
	T_EQ(n_recs, 1);
	T_EQ(n_other, 1);
	T_OK(r->dropped);
	T_EQ(r->sample_tag, SFLOW_SAMPLE_DISCARD);
	T_EQ(r->sampling_rate, 1);
	T_EQ(r->discard_reason, 258);
	T_EQ(r->discard_ifindex, 12);
	T_EQ(r->output.format, SFLOW_IF_DISCARD);
	KV(r, "outputifindex", "discard");
	KV(r, "discardreason", "acl");
	KV(r, "inputifindex", "9");
	KV(r, "direction", "ingress");
	KV(r, "ipsource", "10.0.1.5");
	KV(r, "ipttl", "1");
	KV(r, "stack", "eth.ip.udp"); /* UDP with no UDP header captured */
	KV(r, "udpsourceport", "null");
}

/* ---- functions ---------------------------------------------------- */

static void
functions(void)
{
	struct xdr x;
	const struct flow_rec *r = &R[0];

	dg4(&x, IP4(10, 0, 0, 1), 1);
	flow_begin(&x, 3, 4096, 3, 1, 1);
	rec_header(&x, 1, 1500, PKT_VXLAN, sizeof(PKT_VXLAN));
	xend(&x);
	decodex(&x);
	/* or: the first with a value; typed alternatives stay typed */
	KV(r, "or:tcpsourceport:udpsourceport", "49152");
	KV(r, "or:ip6source:ipsource", "192.0.2.1");
	KV(r, "or:icmptype:ip6source", "null");
	KV(r, "or:ip6source:[mask:ipsource:8]", "192.0.0.0");
	KV(r, "or:ip6source:macsource", "02000000000A");
	/* null: a default for no value */
	KV(r, "null:ip6source", "null");
	KV(r, "null:ip6source:none", "none");
	KV(r, "null:ipsource:none", "192.0.2.1");
	KV(r, "null:[or:ip6source:icmptype]:x", "x");
	/* mask: prefixes; beyond the length, the address */
	KV(r, "mask:ipsource:24", "192.0.2.0");
	KV(r, "mask:ipsource:23", "192.0.2.0");
	KV(r, "mask:ipsource:1", "128.0.0.0");
	KV(r, "mask:ipsource:0", "0.0.0.0");
	KV(r, "mask:ipsource:32", "192.0.2.1");
	KV(r, "mask:ipsource:64", "192.0.2.1");
	KV(r, "mask:ip6source:64", "null");
	KV(r, "mask:[mask:agent:16]:8", "10.0.0.0");
	/* first/prefix/suffix on the whole stack */
	KV(r, "first:stack:.:tcp:udp", "udp");
	KV(r, "first:stack:.:ip6:vxlan", "vxlan");
	KV(r, "first:stack:.:et", "null");
	KV(r, "prefix:stack:.:1", "eth");
	KV(r, "suffix:stack:.:3", "dot1q.ip.tcp");
	KV(r, "first:[prefix:stack:.:2]:.:ip", "ip");
	KV(r, "first:[suffix:stack:.:4]:.:ip:ip6", "ip");
	/* nesting and case */
	KV(r, "OR:[Null:ip6source:a]:ipsource", "a");
	KV(r, "first:[or:ip6source:stack]:.:vxlan", "vxlan");
}

static void
parse_errors(void)
{
	char err[256];
	char deep[4096];
	struct flowkey *k;
	size_t o = 0;

	T_STREQ(kerr("ipsourc"), "unknown key 'ipsourc' at 1");
	T_STREQ(kerr("  ipsourc"), "unknown key 'ipsourc' at 3");
	T_STREQ(kerr(""), "missing key at 1");
	T_STREQ(kerr("ipsource.2"), "unknown key 'ipsource.2' at 1");
	T_STREQ(kerr("inputifindex.1"), "unknown key 'inputifindex.1' at 1");
	T_STREQ(kerr("group:ipsource:x"), "unknown function 'group' at 1");
	T_STREQ(kerr("or:ipsource:bogus"), "unknown key 'bogus' at 13");
	T_STREQ(kerr("or:"), "missing key at 4");
	T_STREQ(kerr("or:ipsource:"), "missing key at 13");
	T_STREQ(kerr(":ipsource"), "missing function name at 1");
	T_STREQ(
	    kerr("mask:stack:8"), "mask: 'stack' is not an address key at 6");
	T_STREQ(kerr("mask:ipsource:129"), "bad mask length '129' at 15");
	T_STREQ(kerr("mask:ipsource:x"), "bad mask length 'x' at 15");
	T_STREQ(kerr("mask:ipsource"), "mask: needs 2 arguments at 14");
	T_STREQ(
	    kerr("mask:ipsource:8:9"), "mask: takes at most 2 arguments at 17");
	T_STREQ(
	    kerr("null:ipsource:a:b"), "null: takes at most 2 arguments at 17");
	T_STREQ(kerr("first:stack:."), "first: needs 3 arguments at 14");
	T_STREQ(kerr("first:stack::ip"), "missing a separator at 13");
	T_STREQ(kerr("prefix:stack:.:0"), "bad count '0' at 16");
	T_STREQ(kerr("first:stack:[stack]:ip"),
	    "expected a separator, not a key, at 13");
	T_STREQ(kerr("node:ipsource"),
	    "node: needs inputifindex or outputifindex at 6");
	T_STREQ(kerr("link:[inputifindex]"),
	    "link: needs inputifindex or outputifindex at 6");
	T_STREQ(
	    kerr("or:[ipsource:ip6source"), "missing ']' for this '[' at 4");
	T_STREQ(kerr("or:[ipsource]x:a"), "expected ':' after ']' at 14");
	T_STREQ(kerr("or:ipsource]"), "unexpected ']' at 12");
	T_STREQ(kerr("ipsource]"), "unexpected ']' at 9");
	T_STREQ(kerr("or:[[ipsource]]"), "unexpected '[' at 5");
	T_STREQ(kerr("or:[]"), "missing key at 5");
	T_STREQ(kerr("ip source"), "unknown key 'ip source' at 1");

	/* nesting beyond FLOWKEY_DEPTH_MAX: an error, not a stack overflow */
	for (int i = 0; i < FLOWKEY_DEPTH_MAX + 1; i++)
		o += (size_t)snprintf(deep + o, sizeof(deep) - o, "or:[");
	o += (size_t)snprintf(deep + o, sizeof(deep) - o, "ipsource");
	for (int i = 0; i < FLOWKEY_DEPTH_MAX + 1; i++)
		deep[o++] = ']';
	deep[o] = '\0';
	T_OK(strstr(kerr(deep), "nested too deep") != NULL);
	/* one level less parses */
	k = flowkey_parse(deep + 4, err, sizeof(err));
	T_OK(k == NULL); /* the brackets no longer balance */
	deep[o - 1] = '\0';
	k = flowkey_parse(deep + 4, err, sizeof(err));
	T_OK(k != NULL);
	flowkey_free(k);

	/* too many arguments, too long */
	o = (size_t)snprintf(deep, sizeof(deep), "or");
	for (int i = 0; i < FLOWKEY_ARGS_MAX + 1; i++)
		o += (size_t)snprintf(deep + o, sizeof(deep) - o, ":ipsource");
	T_OK(strstr(kerr(deep), "more than 64 arguments") != NULL);
	{
		char *big = xmalloc(FLOWKEY_EXPR_MAX + 2);

		memset(big, 'a', FLOWKEY_EXPR_MAX + 1);
		big[FLOWKEY_EXPR_MAX + 1] = '\0';
		T_STREQ(kerr(big), "key longer than 4096 characters at 4097");
		free(big);
	}

	/* positions relative to a longer text */
	k = flowkey_parse_n("x&ipsourc=1" + 2, 7, 2, err, sizeof(err));
	T_OK(k == NULL);
	T_STREQ(err, "unknown key 'ipsourc' at 3");
	k = flowkey_parse_n("ipsource", 8, 0, err, sizeof(err));
	T_OK(k != NULL);
	T_STREQ(flowkey_text(k), "ipsource");
	T_EQ(flowkey_type(k), FLOWKEY_ADDR);
	T_OK(!flowkey_uses_topology(k));
	flowkey_free(k);

	/* types */
	k = flowkey_parse("or:tcpsourceport:udpsourceport", err, sizeof(err));
	T_EQ(flowkey_type(k), FLOWKEY_NUM);
	flowkey_free(k);
	k = flowkey_parse("or:tcpsourceport:ipsource", err, sizeof(err));
	T_EQ(flowkey_type(k), FLOWKEY_STR);
	flowkey_free(k);
	k = flowkey_parse("null:[link:outputifindex]", err, sizeof(err));
	T_EQ(flowkey_type(k), FLOWKEY_STR);
	T_OK(flowkey_uses_topology(k));
	flowkey_free(k);
	k = flowkey_parse("macsource", err, sizeof(err));
	T_EQ(flowkey_type(k), FLOWKEY_MAC);
	flowkey_free(k);
	k = flowkey_parse("outputifindex", err, sizeof(err));
	T_EQ(flowkey_type(k), FLOWKEY_IFINDEX);
	flowkey_free(k);
}

/* ---- topology keys ------------------------------------------------ */

struct fake_topo {
	int calls;
	uint32_t last_ifindex;
};

/*
 * Agent 10.0.0.1 is leaf1: ifIndex 1 is on the fabric link to spine1,
 * 2 is an edge port, 3 faces a switch with no link (no link name); any
 * other agent is unknown.
 */
static int
fake_lookup(void *arg, const struct sflow_addr *agent, uint32_t ifindex,
    const char **node, const char **link)
{
	struct fake_topo *f = arg;

	f->calls++;
	f->last_ifindex = ifindex;
	if (agent->family != 4 || memcmp(agent->a, "\x0a\x00\x00\x01", 4) != 0)
		return 0;
	*node = "leaf1";
	*link = ifindex == 1 ? "leaf1:swp1-spine1:swp1" : NULL;
	return 1;
}

/* One flow sample from agent a.b.c.d with the given ports. */
static void
one_sample(uint32_t agent, uint32_t in, uint32_t out)
{
	struct xdr x;

	dg4(&x, agent, 1);
	flow_begin(&x, 3, 1, in, out, 1);
	rec_header(&x, 1, 1500, PKT_VXLAN, sizeof(PKT_VXLAN));
	xend(&x);
	decodex(&x);
}

static void
topology_keys(void)
{
	struct fake_topo ft = { 0 };
	struct flowrec_ctx ctx = { fake_lookup, &ft };
	struct flowrec_ctx empty = { NULL, NULL };
	const struct flow_rec *r = &R[0];

	/* hit: from the fabric link 1 to the edge port 2 */
	one_sample(IP4(10, 0, 0, 1), 1, 2);
	KVC(r, "node:inputifindex", &ctx, "leaf1");
	KVC(r, "link:inputifindex", &ctx, "leaf1:swp1-spine1:swp1");
	KVC(r, "node:outputifindex", &ctx, "leaf1");
	KVC(r, "link:outputifindex", &ctx, "null"); /* edge port */
	KVC(r, "null:[link:outputifindex]:edge", &ctx, "edge");
	KVC(r, "LINK:InputIfIndex", &ctx, "leaf1:swp1-spine1:swp1");
	T_EQ(ft.calls, 6);
	/* no ctx, or no callback: no value */
	KVC(r, "node:inputifindex", NULL, "null");
	KVC(r, "node:inputifindex", &empty, "null");
	/* an unknown agent: the lookup misses */
	one_sample(IP4(10, 9, 9, 9), 1, 2);
	ft.calls = 0;
	KVC(r, "node:inputifindex", &ctx, "null");
	KVC(r, "link:inputifindex", &ctx, "null");
	T_EQ(ft.calls, 2);
	/* 0, internal, discard, multiple: not even asked */
	ft.calls = 0;
	one_sample(IP4(10, 0, 0, 1), 0, 0x3fffffff);
	KVC(r, "node:inputifindex", &ctx, "null");
	KVC(r, "node:outputifindex", &ctx, "null");
	one_sample(IP4(10, 0, 0, 1), 0x3fffffff, 0x40000102);
	KVC(r, "link:inputifindex", &ctx, "null");
	KVC(r, "node:outputifindex", &ctx, "null");
	KVC(r, "outputifindex", &ctx, "discard");
	one_sample(IP4(10, 0, 0, 1), 0x3fffffff, 0x80000003);
	KVC(r, "node:outputifindex", &ctx, "null");
	KVC(r, "outputifindex", &ctx, "multiple");
	T_EQ(ft.calls, 0);
	/* a known node, a port with no link name: node yes, link no */
	one_sample(IP4(10, 0, 0, 1), 3, 1);
	KVC(r, "node:inputifindex", &ctx, "leaf1");
	KVC(r, "link:inputifindex", &ctx, "null");
	T_EQ(ft.last_ifindex, 3);
}

/* ---- key lists ---------------------------------------------------- */

static void
key_lists(void)
{
	struct fake_topo ft = { 0 };
	struct flowrec_ctx ctx = { fake_lookup, &ft };
	char err[256], out[1024], small[12];
	struct flowkeys *ks;

	one_sample(IP4(10, 0, 0, 1), 1, 2);
	ks = flowkeys_parse(
	    "ipsource,ipdestination,udpdestinationport", err, sizeof(err));
	T_OK(ks != NULL);
	T_EQ(flowkeys_count(ks), 3);
	T_STREQ(flowkey_text(flowkeys_get(ks, 1)), "ipdestination");
	T_OK(flowkeys_strmax(ks) >= 3 * FLOWKEY_VALUE_MAX);
	T_EQ(flowkeys_eval(ks, &R[0], NULL, out, sizeof(out)), 1);
	T_STREQ(out, "192.0.2.1,192.0.2.2,4789");
	T_EQ(flowkeys_eval(ks, &R[0], NULL, small, sizeof(small)), -1);
	T_STREQ(small, "192.0.2.1,1");
	flowkeys_free(ks);

	/* a key without a value: 0, with "null" in its place */
	ks =
	    flowkeys_parse(" link:inputifindex , link:outputifindex,ipsource.1",
	        err, sizeof(err));
	T_OK(ks != NULL);
	T_EQ(flowkeys_eval(ks, &R[0], &ctx, out, sizeof(out)), 0);
	T_STREQ(out, "leaf1:swp1-spine1:swp1,null,10.0.1.5");
	flowkeys_free(ks);

	/* commas inside brackets belong to the key */
	ks = flowkeys_parse("or:[null:ipsource:a,b]:x", err, sizeof(err));
	T_OK(ks == NULL);
	T_STREQ(err, "unknown key 'x' at 24");
	ks = flowkeys_parse(
	    "first:[or:stack:agent]:.:ip,mask:ipsource:8", err, sizeof(err));
	T_OK(ks != NULL);
	T_EQ(flowkeys_count(ks), 2);
	T_EQ(flowkeys_eval(ks, &R[0], NULL, out, sizeof(out)), 1);
	T_STREQ(out, "ip,192.0.0.0");
	flowkeys_free(ks);

	/* no keys: one flow for everything */
	ks = flowkeys_parse("  ", err, sizeof(err));
	T_OK(ks != NULL);
	T_EQ(flowkeys_count(ks), 0);
	T_EQ(flowkeys_eval(ks, &R[0], NULL, out, sizeof(out)), 1);
	T_STREQ(out, "");
	flowkeys_free(ks);

	/* errors give positions in the list */
	ks = flowkeys_parse("ipsource,,ipdestination", err, sizeof(err));
	T_OK(ks == NULL);
	T_STREQ(err, "missing key at 10");
	ks = flowkeys_parse("ipsource,ipdestinatoin", err, sizeof(err));
	T_OK(ks == NULL);
	T_STREQ(err, "unknown key 'ipdestinatoin' at 10");
	ks = flowkeys_parse("ipsource,", err, sizeof(err));
	T_OK(ks == NULL);
	T_STREQ(err, "missing key at 10");
	{
		char many[2048];
		size_t o = 0;

		for (int i = 0; i <= FLOWKEYS_MAX; i++)
			o += (size_t)snprintf(
			    many + o, sizeof(many) - o, "%svlan", i ? "," : "");
		ks = flowkeys_parse(many, err, sizeof(err));
		T_OK(ks == NULL);
		T_STREQ(err, "more than 64 keys at 321");
	}
}

/* ---- packed keys: flowkeys_pack_memo() against flowkeys_eval() ------ */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t
rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state % n);
}

static void
rnd_bytes(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rnd(256);
}

static struct sflow_if
rnd_if(void)
{
	static const struct sflow_if ifs[] = { { 0, 1 }, { 0, 2 }, { 0, 3 },
		{ 0, 0 }, { 0, SFLOW_IF_INTERNAL }, { 1, 2 }, { 2, 3 },
		{ 3, 1 } };

	return ifs[rnd(nitems(ifs))];
}

/*
 * A record for the memo to get wrong: the VXLAN sample with random
 * layers (none, outer only, both), random fields in them, random agents
 * (leaf1, unknown, IPv6) and ports (plain, 0, internal, discard...).
 */
static void
rnd_record(struct flow_rec *r, const struct flow_rec *base)
{
	static const uint8_t protos[] = { 6, 17, 1, 58, 47 };

	*r = *base;
	if (rnd(3) == 0)
		r->agent.a[3] = 9; /* unknown to fake_lookup */
	else if (rnd(5) == 0)
		r->agent.family = 6;
	r->input = rnd_if();
	r->output = rnd_if();
	r->source_index = rnd(4);
	r->n_layers = (uint8_t)rnd(3);
	for (int l = 0; l < 2; l++) {
		struct flowrec_layer *L = &r->l[l];

		L->have = (uint16_t)(rnd(2) ? base->l[l].have : rnd(512));
		rnd_bytes(L->src_ip, rnd(2) ? 4 : 16);
		rnd_bytes(L->dst_ip, 16);
		rnd_bytes(L->src_mac, 6);
		L->ip_proto = protos[rnd(nitems(protos))];
		L->src_port = (uint16_t)rnd(65536);
		L->dst_port = (uint16_t)(rnd(2) ? 53 : rnd(65536));
		L->tcp_flags = (uint8_t)rnd(256);
		L->vlan = (uint16_t)rnd(4096);
		if (rnd(2) == 0) {
			/* few values, so that texts repeat while what the
			 * keys leave out differs */
			memset(L->src_ip, 0, 16);
			memset(L->dst_ip, 0, 16);
			L->src_ip[0] = L->dst_ip[0] = 10;
			L->src_ip[3] = (uint8_t)rnd(3);
			L->dst_ip[3] = (uint8_t)rnd(3);
			memset(L->src_mac, (int)rnd(2), 6);
			L->src_port = (uint16_t)(rnd(2) ? 80 : 443);
			L->dst_port = (uint16_t)rnd(3);
		}
		L->ip_tos = (uint8_t)rnd(256);
		L->ethertype = (uint16_t)(rnd(2) ? 0x0800 : rnd(65536));
	}
	if (rnd(4) == 0)
		r->stack[0] = '\0';
	r->has_switch = rnd(2);
	r->src_vlan = rnd(2) ? 5 : 0xffffffff;
}

/* Key lists that share keys, with .1 suffixes, functions, topology. */
static const char *const memo_lists[] = {
	"ipsource,ipdestination",
	"ipsource.1,ipdestination.1,ipsource",
	"ipdestination,ipsource,tcpsourceport,tcpdestinationport",
	"ipsource,udpsourceport,udpdestinationport,tcpdestinationport.1",
	"udpdestinationport.1,udpsourceport.1,tcpsourceport.1",
	"or:tcpsourceport:udpsourceport:icmptype,"
	"or:tcpdestinationport:udpdestinationport:icmpcode,ipsource",
	"or:tcpsourceport.1:udpsourceport.1:icmptype.1,tcpsourceport.1",
	"null:ipsource:none,null:ipsource,ipsource,null:[ipsource]:x",
	"node:inputifindex,link:inputifindex,node:outputifindex",
	"link:inputifindex,inputifindex,outputifindex,link:outputifindex",
	"null:[link:inputifindex]:edge,node:inputifindex",
	"mask:ipsource:24,mask:ipsource:16,ipsource,mask:ipsource.1:24",
	"macsource,macsource.1,macdestination",
	"stack,first:stack:.:ip:ip6,agent,prefix:stack:.:2",
	"",
	"IPSOURCE,ipsource, ipsource",
	"ip6source,ip6destination,tcpflags,tcpflags.1,ipsource",
	"vlan,priority,vlan.1,direction,discardreason,vni",
	"ipprotocol,ipdscp,icmptype,icmpcode,ipprotocol.1,ipdscp.1,icmpcode.1",
	"or:icmptype:icmpcode,or:[or:udpsourceport:icmptype]:ipprotocol",
	"or:udpsourceport:inputifindex,or:tcpflags:tcpsourceport,ipsource",
	"or:agent:ipdscp,or:stack:ipttl,icmptype.1",
	/* strings that read as numbers, addresses, MACs (packed as those),
	 * or nearly (packed as text): each must unpack to itself */
	"null:vlan:5,null:ipsource:10.0.0.1,null:macsource:010101010101",
	"null:tcpsourceport:80,null:udpdestinationport:2,null:ipdscp:0",
	"null:vlan:05,null:ipsource:10.0.0.01,null:macsource:0101010101ab",
	"null:ipdscp:18446744073709551616,null:ipsource:10.0.0.256",
	"null:vlan:18446744073709551615,null:ipsource:1.2.3,null:ipdscp:-1",
	/* the rest of what flowkey_direct() packs without the memo */
	"ethernetprotocol,iptos,ip6nexthdr,ip6tos,ip6dscp,iptos.1,agent",
	"ethernetprotocol.1,ip6dscp.1,macdestination.1,outputifindex",
};

/*
 * flowkey_num() and flowkey_ip4() give what flowkey_value() gives, for
 * the keys flowkey_direct() names, and -1 for the others.
 */
static void
direct_keys_agree(void)
{
	static const char *const names[] = {
		"ethernetprotocol",
		"ipprotocol",
		"iptos",
		"ipdscp",
		"ip6nexthdr",
		"ip6tos",
		"ip6dscp",
		"tcpsourceport",
		"tcpdestinationport",
		"udpsourceport",
		"udpdestinationport",
		"ipsource",
		"ipdestination",
		"agent",
		"ipprotocol.1",
		"ip6dscp.1",
		"tcpsourceport.1",
		"udpdestinationport.1",
		"ipsource.1",
		"ipdestination.1",
		"macsource",
		"inputifindex",
		"ipttl",
		"stack",
		"vlan",
		"mask:ipsource:24",
	};
	enum { NK = nitems(names) };
	struct flowkey *k[NK];
	size_t with[NK] = { 0 }, without[NK] = { 0 };
	struct flow_rec base, r;
	char err[256];

	one_sample(IP4(10, 0, 0, 1), 1, 2);
	base = R[0];
	for (size_t i = 0; i < NK; i++) {
		k[i] = flowkey_parse(names[i], err, sizeof(err));
		T_OK(k[i] != NULL);
	}
	T_EQ(flowkey_direct(k[0]), FLOWKEY_DIRECT_NUM);
	T_EQ(flowkey_direct(k[11]), FLOWKEY_DIRECT_IP4);
	T_EQ(flowkey_direct(k[20]), FLOWKEY_DIRECT_OTHER);
	T_EQ(flowkey_direct(k[22]), FLOWKEY_DIRECT_NONE);
	T_EQ(flowkey_direct(k[25]), FLOWKEY_DIRECT_NONE);
	for (int round = 0; round < 3000; round++) {
		rnd_record(&r, &base);
		for (size_t i = 0; i < NK; i++) {
			struct flowkey_value v;
			uint64_t num = 0;
			uint8_t a[4] = { 0 };
			int want = flowkey_value(k[i], &r, NULL, &v), got;
			bool ok = true;

			switch (flowkey_direct(k[i])) {
			case FLOWKEY_DIRECT_NUM:
				got = flowkey_num(k[i], &r, &num);
				ok = got == want &&
				    (got == 0 ||
				        (v.type == FLOWKEY_NUM &&
				            v.num == num));
				break;
			case FLOWKEY_DIRECT_IP4:
				got = flowkey_ip4(k[i], &r, a);
				if (got < 0)
					ok = want == 1 && v.addr.family == 6;
				else
					ok = got == want &&
					    (got == 0 ||
					        (v.type == FLOWKEY_ADDR &&
					            v.addr.family == 4 &&
					            memcmp(v.addr.a, a, 4) ==
					                0));
				break;
			default:
				got = 0;
				ok = flowkey_num(k[i], &r, &num) == -1 &&
				    flowkey_ip4(k[i], &r, a) == -1;
				break;
			}
			if (!ok) {
				T_FAIL("round %d, %s: %d, flowkey_value() %d",
				    round, names[i], got, want);
				goto done;
			}
			if (want)
				with[i]++;
			else
				without[i]++;
		}
	}
	/* each key seen with a value and without (the agent and the
	 * input always have one) */
	for (size_t i = 0; i < NK; i++)
		if (with[i] == 0 || (without[i] == 0 && i != 13 && i != 21))
			T_FAIL("%s: %zu with a value, %zu without", names[i],
			    with[i], without[i]);
done:
	for (size_t i = 0; i < NK; i++)
		flowkey_free(k[i]);
}

/* A key's text and its packed form, to check one gives the other. */
struct pair {
	char *text;
	char *packed;
	size_t len;
};

static int
pair_by_text(const void *a, const void *b)
{
	return strcmp(
	    ((const struct pair *)a)->text, ((const struct pair *)b)->text);
}

static int
pair_by_packed(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	int c = memcmp(x->packed, y->packed, x->len < y->len ? x->len : y->len);

	return c != 0 ? c : (x->len > y->len) - (x->len < y->len);
}

#define ROUNDS 3000

/*
 * Every list packed through the memo, the lists in a random order and
 * the memo now and then rebuilt, for random records: unpacked, each key
 * is flowkeys_eval()'s text; each text has one packed key and each packed
 * key one text.
 */
static void
memo_matches_eval(void)
{
	struct fake_topo ft = { 0 };
	struct flowrec_ctx ctx = { fake_lookup, &ft };
	enum { NL = nitems(memo_lists) };
	struct flowkeys *ks[NL];
	uint32_t *ids[NL];
	char *out[NL], *small[NL], want[2048], text[4096], err[256], *src;
	struct flowkey_memo *m = flowkey_memo_new();
	struct flow_rec base, r;
	size_t order[NL], len, slen, np[NL];
	struct pair *pairs[NL];

	one_sample(IP4(10, 0, 0, 1), 1, 2);
	base = R[0];
	for (size_t i = 0; i < NL; i++) {
		ks[i] = flowkeys_parse(memo_lists[i], err, sizeof(err));
		if (ks[i] == NULL) {
			T_FAIL("\"%s\": %s", memo_lists[i], err);
			return;
		}
		ids[i] = xcalloc(flowkeys_count(ks[i]) + 1, sizeof(uint32_t));
		flowkey_memo_bind(m, ks[i], ids[i]);
		out[i] = xmalloc(flowkeys_packmax(ks[i]));
		small[i] = xmalloc(64);
		order[i] = i;
		pairs[i] = xcalloc(ROUNDS, sizeof(struct pair));
		np[i] = 0;
	}
	/* the same text, the same id; another suffix or case, another */
	T_EQ(ids[0][0], ids[1][2]);
	T_EQ(ids[0][1], ids[2][0]);
	T_OK(ids[0][0] != ids[1][0]);
	T_OK(ids[15][0] != ids[15][1]);
	T_EQ(ids[15][1], ids[15][2]); /* " ipsource": trimmed */

	for (int round = 0; round < ROUNDS; round++) {
		rnd_record(&r, &base);
		flowkey_memo_next(m);
		for (size_t i = NL - 1; i > 0; i--) {
			size_t j = rnd((uint32_t)i + 1), t = order[i];

			order[i] = order[j];
			order[j] = t;
		}
		for (size_t n = 0; n < NL; n++) {
			size_t i = order[n], sl = 1 + rnd(63);
			int rc, wrc;

			/* now and then the memo rebuilt, or grown by a new
			 * key, in the middle of a record */
			if (rnd(200) == 0) {
				flowkey_memo_clear(m);
				for (size_t b = 0; b < NL; b++)
					flowkey_memo_bind(m, ks[b], ids[b]);
			}
			if (rnd(100) == 0) {
				char more[32];
				struct flowkeys *x;
				uint32_t xid;

				snprintf(more, sizeof(more), "mask:ipsource:%u",
				    rnd(129));
				x = flowkeys_parse(more, err, sizeof(err));
				T_OK(x != NULL);
				flowkey_memo_bind(m, x, &xid);
				flowkeys_free(x);
			}
			wrc =
			    flowkeys_eval(ks[i], &r, &ctx, want, sizeof(want));
			len = 9999;
			rc = flowkeys_pack_memo(ks[i], ids[i], m, &r, &ctx,
			    out[i], flowkeys_packmax(ks[i]), &len);
			if (rc == 1)
				flowkey_unpack(out[i], len, text, sizeof(text));
			if (rc != wrc || (rc == 1 && strcmp(text, want) != 0)) {
				T_FAIL("round %d, \"%s\": %d \"%s\", "
				       "expected %d \"%s\"",
				    round, memo_lists[i], rc,
				    rc == 1 ? text : "", wrc, want);
				goto done;
			}
			if (rc == 1 && np[i] < ROUNDS) {
				struct pair *pp = &pairs[i][np[i]++];

				pp->text = xstrdup(want);
				pp->packed = xmalloc(len + 1);
				memcpy(pp->packed, out[i], len);
				pp->len = len;
			}
			/* a small out: the same key when it fits, else -1 */
			src = rc == 1 ? xmalloc(len + 1) : NULL;
			if (src != NULL)
				memcpy(src, out[i], len);
			slen = len;
			rc = flowkeys_pack_memo(
			    ks[i], ids[i], m, &r, &ctx, small[i], sl, &len);
			if (wrc == 1 && slen <= sl ? rc != 1 || len != slen ||
			            memcmp(small[i], src, len) != 0
			        : wrc == 1 ? rc != -1
			                   : rc != 0 && rc != -1) {
				T_FAIL("round %d, \"%s\" in %zu bytes: %d, "
				       "expected %d (%zu bytes)",
				    round, memo_lists[i], sl, rc, wrc, slen);
				free(src);
				goto done;
			}
			free(src);
		}
	}
	/* one text, one packed key, and the other way round */
	for (size_t i = 0; i < NL; i++) {
		qsort(pairs[i], np[i], sizeof(struct pair), pair_by_text);
		for (size_t j = 1; j < np[i]; j++)
			if (strcmp(pairs[i][j].text, pairs[i][j - 1].text) ==
			        0 &&
			    pair_by_packed(&pairs[i][j], &pairs[i][j - 1]) != 0)
				T_FAIL("\"%s\": \"%s\" packed two ways",
				    memo_lists[i], pairs[i][j].text);
		qsort(pairs[i], np[i], sizeof(struct pair), pair_by_packed);
		for (size_t j = 1; j < np[i]; j++)
			if (pair_by_packed(&pairs[i][j], &pairs[i][j - 1]) ==
			        0 &&
			    strcmp(pairs[i][j].text, pairs[i][j - 1].text) != 0)
				T_FAIL("\"%s\": \"%s\" and \"%s\" packed alike",
				    memo_lists[i], pairs[i][j].text,
				    pairs[i][j - 1].text);
	}
done:
	for (size_t i = 0; i < NL; i++) {
		for (size_t j = 0; j < np[i]; j++) {
			free(pairs[i][j].text);
			free(pairs[i][j].packed);
		}
		free(pairs[i]);
		flowkeys_free(ks[i]);
		free(ids[i]);
		free(out[i]);
		free(small[i]);
	}
	flowkey_memo_free(m);
}

/* pack_memo() of ks into out, unpacked into text: its return value. */
static int
pack_text(const struct flowkeys *ks, const uint32_t *ids,
    struct flowkey_memo *m, const struct flowrec_ctx *ctx, char *out,
    size_t outlen, char *text, size_t textlen)
{
	size_t len = 0;
	int rc = flowkeys_pack_memo(ks, ids, m, &R[0], ctx, out, outlen, &len);

	text[0] = '\0';
	if (rc == 1)
		flowkey_unpack(out, len, text, textlen);
	return rc;
}

/* Shared keys are evaluated once per record, and again for the next. */
static void
memo_once_per_record(void)
{
	struct fake_topo ft = { 0 };
	struct flowrec_ctx ctx = { fake_lookup, &ft };
	struct flowkey_memo *m = flowkey_memo_new();
	struct flowkeys *a, *b;
	uint32_t ia[2], ib[3];
	char oa[1024], ob[1024], text[1024], err[256];

	a = flowkeys_parse("node:inputifindex,ipsource", err, sizeof(err));
	b = flowkeys_parse(
	    "ipsource,node:inputifindex,link:inputifindex", err, sizeof(err));
	T_OK(a != NULL && b != NULL);
	T_OK(flowkeys_packmax(a) <= sizeof(oa));
	T_OK(flowkeys_packmax(b) <= sizeof(ob));
	flowkey_memo_bind(m, a, ia);
	flowkey_memo_bind(m, b, ib);
	T_EQ(ia[0], ib[1]);
	T_EQ(ia[1], ib[0]);

	one_sample(IP4(10, 0, 0, 1), 1, 2);
	flowkey_memo_next(m);
	T_EQ(pack_text(a, ia, m, &ctx, oa, sizeof(oa), text, sizeof(text)), 1);
	T_STREQ(text, "leaf1,192.0.2.1");
	T_EQ(pack_text(b, ib, m, &ctx, ob, sizeof(ob), text, sizeof(text)), 1);
	T_STREQ(text, "192.0.2.1,leaf1,leaf1:swp1-spine1:swp1");
	T_EQ(ft.calls, 2); /* node: once, link: once */

	/* the next record: an edge port of an unknown agent; a key without
	 * a value ends the packing (link: is not looked up) */
	one_sample(IP4(10, 9, 9, 9), 2, 1);
	flowkey_memo_next(m);
	T_EQ(pack_text(b, ib, m, &ctx, ob, sizeof(ob), text, sizeof(text)), 0);
	T_EQ(pack_text(a, ia, m, &ctx, oa, sizeof(oa), text, sizeof(text)), 0);
	T_EQ(ft.calls, 3);

	/*
	 * Values cached in the memo's own buffers (a small out), then the
	 * memo grown by a bind in the middle of the record: they are
	 * evaluated again, not read from where the memo was.
	 */
	one_sample(IP4(10, 0, 0, 1), 1, 2);
	flowkey_memo_next(m);
	T_EQ(pack_text(a, ia, m, &ctx, oa, 40, text, sizeof(text)), 1);
	T_STREQ(text, "leaf1,192.0.2.1");
	for (int i = 0; i < 100; i++) {
		char more[32];
		struct flowkeys *x;
		uint32_t xid;

		snprintf(more, sizeof(more), "null:vlan:%d", i);
		x = flowkeys_parse(more, err, sizeof(err));
		T_OK(x != NULL);
		flowkey_memo_bind(m, x, &xid);
		T_EQ(xid, 3 + i);
		flowkeys_free(x);
	}
	T_EQ(pack_text(b, ib, m, &ctx, ob, sizeof(ob), text, sizeof(text)), 1);
	T_STREQ(text, "192.0.2.1,leaf1,leaf1:swp1-spine1:swp1");
	/* too small for the key: -1 */
	T_EQ(pack_text(b, ib, m, &ctx, ob, 8, text, sizeof(text)), -1);

	/* cleared and bound again (b only): the ids start over */
	flowkey_memo_clear(m);
	flowkey_memo_bind(m, b, ib);
	T_EQ(ib[0], 0);
	T_EQ(ib[2], 2);
	flowkey_memo_next(m);
	T_EQ(pack_text(b, ib, m, &ctx, ob, sizeof(ob), text, sizeof(text)), 1);
	T_STREQ(text, "192.0.2.1,leaf1,leaf1:swp1-spine1:swp1");
	/* a cut text, NUL-terminated; not a packed key: nothing */
	{
		size_t len = 0;

		flowkey_memo_next(m);
		T_EQ(flowkeys_pack_memo(
		         b, ib, m, &R[0], &ctx, ob, sizeof(ob), &len),
		    1);
		T_EQ(flowkey_unpack(ob, len, text, 12), 11);
		T_STREQ(text, "192.0.2.1,l");
		T_EQ(flowkey_unpack(ob, len - 1, text, sizeof(text)), 15);
		T_STREQ(text, "192.0.2.1,leaf1");
		T_EQ(flowkey_unpack("\x77zz", 3, text, sizeof(text)), 0);
		T_STREQ(text, "");
	}
	flowkeys_free(a);
	flowkeys_free(b);
	flowkey_memo_free(m);
}

/* Every key name compiles, and evaluates on a zeroed record to null. */
static void
all_keys_empty_record(void)
{
	static const char *names[] = { "macsource", "macdestination",
		"ethernetprotocol", "vlan", "priority", "ipsource",
		"ipdestination", "ipprotocol", "iptos", "ipdscp", "ipttl",
		"ip6source", "ip6destination", "ip6nexthdr", "ip6tos",
		"ip6dscp", "ip6ttl", "tcpsourceport", "tcpdestinationport",
		"tcpflags", "udpsourceport", "udpdestinationport", "icmptype",
		"icmpcode", "icmp6type", "icmp6code", "vni", "vlansource",
		"vlandestination", "prioritysource", "prioritydestination",
		"direction", "stack", "agent", "node:inputifindex",
		"link:outputifindex", "ipsource.1", "tcpflags.1" };
	struct flow_rec r;

	memset(&r, 0, sizeof(r));
	r.source_type = 1; /* a VLAN data source: no direction */
	for (size_t i = 0; i < nitems(names); i++)
		if (strcmp(kv(&r, names[i], NULL), "null") != 0)
			T_FAIL("%s = %s on an empty record", names[i],
			    kv(&r, names[i], NULL));
	KV(&r, "inputifindex", "0");
	KV(&r, "null:vlan", "null");
	r.input.format = 3; /* not an encoding sFlow defines */
	KV(&r, "inputifindex", "null");
}

/*
 * uacctd reports the snap length (128) as frame_length: the IP header's
 * total length gives the real size. An honest frame_length (already the
 * larger) and a header without IP are left alone.
 */
static void
built_snap_length(void)
{
	uint8_t pkt[128] = { 0 };
	struct xdr x;

	memcpy(pkt, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00",
	    14);
	pkt[14] = 0x45;
	pkt[16] = 0x04; /* total length 1028: a 1,042-byte frame + FCS */
	pkt[17] = 0x04;
	pkt[22] = 64;
	pkt[23] = 17;
	dg4(&x, IP4(10, 0, 0, 1), 3);
	flow_begin(&x, 3, 10, 3, 1, 1);
	rec_header(&x, 1, 128, pkt, sizeof(pkt));
	xend(&x);
	flow_begin(&x, 3, 10, 3, 1, 1);
	rec_header(&x, 1, 1500, pkt, sizeof(pkt));
	xend(&x);
	pkt[12] = 0x88; /* not IP: nothing to go by */
	pkt[13] = 0xcc;
	flow_begin(&x, 3, 10, 3, 1, 1);
	rec_header(&x, 1, 128, pkt, sizeof(pkt));
	xend(&x);
	decodex(&x);
	T_EQ(n_recs, 3);
	T_EQ(R[0].frame_length, 14 + 1028 + 4);
	T_EQ(R[1].frame_length, 1500);
	T_EQ(R[2].frame_length, 128);
}

int
main(void)
{
	t_suite = "flowrec";
	T_RUN(fixture_ipv6_tcp);
	T_RUN(fixture_ipv4_tcp);
	T_RUN(fixture_icmpv4);
	T_RUN(fixture_icmpv6);
	T_RUN(fixture_interfaces);
	T_RUN(fixture_raw_ipv4);
	T_RUN(built_vxlan);
	T_RUN(built_dot1q_ipv6);
	T_RUN(built_records_only);
	T_RUN(built_discard);
	T_RUN(built_snap_length);
	T_RUN(functions);
	T_RUN(parse_errors);
	T_RUN(topology_keys);
	T_RUN(key_lists);
	T_RUN(memo_matches_eval);
	T_RUN(memo_once_per_record);
	T_RUN(direct_keys_agree);
	T_RUN(all_keys_empty_record);
	return t_done();
}
