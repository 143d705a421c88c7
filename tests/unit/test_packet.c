/*
 * test_packet.c: unit tests for the sampled-header parser (packet.c).
 *
 * Every packet is built byte by byte here, so each test states exactly
 * what is on the wire. pkt_parse() always gets an exact-size heap copy
 * (see parse()), so that ASan reports any read past `len`.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "packet.h"
#include "t.h"

/* ---- packet builder ------------------------------------------------ */

struct pk {
	uint8_t b[2048];
	size_t n;
};

static void
put(struct pk *p, const void *v, size_t n)
{
	if (p->n + n > sizeof(p->b))
		abort(); /* a test bug, not a parser bug */
	memcpy(p->b + p->n, v, n);
	p->n += n;
}

static void
put8(struct pk *p, uint8_t v)
{
	put(p, &v, 1);
}

static void
put16(struct pk *p, uint16_t v)
{
	put8(p, (uint8_t)(v >> 8));
	put8(p, (uint8_t)v);
}

static void
put32(struct pk *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p, (uint16_t)v);
}

static void
put0(struct pk *p, size_t n)
{
	while (n-- > 0)
		put8(p, 0);
}

static const uint8_t MAC_D[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t MAC_S[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 };
static const uint8_t MAC_ID[6] = { 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f };
static const uint8_t MAC_IS[6] = { 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f };
static const uint8_t IP_S[4] = { 10, 0, 1, 5 };
static const uint8_t IP_D[4] = { 10, 2, 0, 9 };
static const uint8_t IP_IS[4] = { 192, 168, 7, 1 };
static const uint8_t IP_ID[4] = { 192, 168, 7, 2 };
static const uint8_t IP6_S[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0x01 };
static const uint8_t IP6_D[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0x02 };

static void
eth(struct pk *p, const uint8_t dst[6], const uint8_t src[6], uint16_t type)
{
	put(p, dst, 6);
	put(p, src, 6);
	put16(p, type);
}

/* A tag's TPID is the previous ethertype; this writes TCI + next type. */
static void
tag(struct pk *p, uint8_t pcp, uint16_t vid, uint16_t next)
{
	put16(p, (uint16_t)(pcp << 13 | (vid & 0x0fff)));
	put16(p, next);
}

struct ip4 {
	uint8_t ihl; /* in 4-byte words; 0 means 5 */
	uint8_t tos;
	uint16_t tot_len;
	uint16_t id;
	uint16_t frag; /* flags << 13 | offset */
	uint8_t ttl;
	uint8_t proto;
	const uint8_t *src, *dst;
};

static void
ipv4(struct pk *p, const struct ip4 *h)
{
	uint8_t ihl = h->ihl ? h->ihl : 5;

	put8(p, (uint8_t)(0x40 | ihl));
	put8(p, h->tos);
	put16(p, h->tot_len);
	put16(p, h->id);
	put16(p, h->frag);
	put8(p, h->ttl);
	put8(p, h->proto);
	put16(p, 0); /* checksum: the parser does not check it */
	put(p, h->src ? h->src : IP_S, 4);
	put(p, h->dst ? h->dst : IP_D, 4);
	/* Options: a router alert (4 bytes) per extra word. */
	for (int i = 5; i < ihl; i++)
		put32(p, 0x94040000);
}

static void
ipv6(struct pk *p, uint8_t tc, uint32_t flow, uint16_t plen, uint8_t nh,
    uint8_t hlim)
{
	put32(p, 6u << 28 | (uint32_t)tc << 20 | (flow & 0xfffff));
	put16(p, plen);
	put8(p, nh);
	put8(p, hlim);
	put(p, IP6_S, 16);
	put(p, IP6_D, 16);
}

/* A TLV-style extension header (hop-by-hop, routing, dst opts). */
static void
ext6(struct pk *p, uint8_t nh, uint8_t len8)
{
	put8(p, nh);
	put8(p, len8);
	put0(p, 6 + (size_t)len8 * 8); /* Pad1/PadN options: all zero */
}

static void
frag6(struct pk *p, uint8_t nh, uint16_t off, bool more, uint32_t id)
{
	put8(p, nh);
	put8(p, 0);
	put16(p, (uint16_t)(off << 3 | (more ? 1 : 0)));
	put32(p, id);
}

static void
tcp(struct pk *p, uint16_t sport, uint16_t dport, uint8_t flags)
{
	put16(p, sport);
	put16(p, dport);
	put32(p, 1000); /* seq */
	put32(p, 0);    /* ack */
	put8(p, 0x50);  /* data offset 5 */
	put8(p, flags);
	put16(p, 65535);
	put16(p, 0);
	put16(p, 0);
}

static void
udp(struct pk *p, uint16_t sport, uint16_t dport, uint16_t len)
{
	put16(p, sport);
	put16(p, dport);
	put16(p, len);
	put16(p, 0);
}

/*
 * Parse an exact-size heap copy of the first n bytes, so that ASan sees
 * a read of byte n as a heap overflow rather than a read of our slack.
 */
static enum pkt_stop
parse(const struct pk *p, size_t n, enum pkt_start start, struct pkt_info *out)
{
	uint8_t *copy = malloc(n ? n : 1);
	enum pkt_stop st;

	if (copy == NULL)
		abort();
	memcpy(copy, p->b, n);
	st = pkt_parse(copy, n, start, out);
	free(copy);
	return st;
}

/* ---- well-formed packets --------------------------------------------- */

/* Ethernet + IPv4 (ttl 63, tos 0xb8, id 0x1234) + TCP SYN|ACK. */
static void
build_eth_ip_tcp(struct pk *p)
{
	struct ip4 h = { .tos = 0xb8,
		.tot_len = 40,
		.id = 0x1234,
		.frag = 0x4000 /* DF */,
		.ttl = 63,
		.proto = 6 };

	memset(p, 0, sizeof(*p));
	eth(p, MAC_D, MAC_S, 0x0800);
	ipv4(p, &h);
	tcp(p, 43210, 443, 0x12);
}

static void
eth_ipv4_tcp(void)
{
	struct pk p;
	struct pkt_info in;
	const struct pkt_layers *l = &in.outer;

	build_eth_ip_tcp(&p);
	T_EQ(parse(&p, p.n, PKT_START_ETHERNET, &in), PKT_OK);
	T_EQ(in.stop, PKT_OK);
	T_OK(l->has_eth);
	T_OK(memcmp(l->dst_mac, MAC_D, 6) == 0);
	T_OK(memcmp(l->src_mac, MAC_S, 6) == 0);
	T_EQ(l->n_vlans, 0);
	T_EQ(l->ethertype, 0x0800);
	T_EQ(l->l3_off, 14);
	T_EQ(l->ip_version, 4);
	T_OK(memcmp(l->src_ip, IP_S, 4) == 0);
	T_OK(memcmp(l->dst_ip, IP_D, 4) == 0);
	T_EQ(l->ip_proto, 6);
	T_EQ(l->ip_tos, 0xb8);
	T_EQ(l->ip_ttl, 63);
	T_EQ(l->ip_id, 0x1234);
	T_EQ(l->ip_len, 40);
	T_EQ(l->ip_frag_off, 0);
	T_OK(!l->ip_more_frags); /* DF is not MF */
	T_OK(l->has_l4);
	T_EQ(l->src_port, 43210);
	T_EQ(l->dst_port, 443);
	T_EQ(l->tcp_flags, 0x12);
	T_STREQ(l->stack, "eth.ip.tcp");
	T_OK(!in.has_inner);
	/* Not UDP: no payload to report. */
	T_EQ(in.udp_payload_off, 0);
	T_EQ(in.udp_payload_len, 0);
}

static void
dot1q_single(void)
{
	struct pk p = { .n = 0 };
	struct pkt_info in;
	struct ip4 h = { .tot_len = 28, .ttl = 64, .proto = 17 };

	eth(&p, MAC_D, MAC_S, 0x8100);
	tag(&p, 5, 100, 0x0800);
	ipv4(&p, &h);
	udp(&p, 4444, 53, 8);
	T_EQ(parse(&p, p.n, PKT_START_ETHERNET, &in), PKT_OK);
	T_EQ(in.outer.n_vlans, 1);
	T_EQ(in.outer.vlan[0], 100);
	T_EQ(in.outer.vlan_pcp[0], 5);
	T_EQ(in.outer.ethertype, 0x0800);
	T_EQ(in.outer.l3_off, 18);
	T_EQ(in.outer.src_port, 4444);
	T_EQ(in.outer.dst_port, 53);
	T_EQ(in.outer.udp_len, 8);
	T_STREQ(in.outer.stack, "eth.dot1q.ip.udp");
}

static void
qinq(void)
{
	struct pk p = { .n = 0 };
	struct pkt_info in;
	struct ip4 h = { .tot_len = 28, .ttl = 64, .proto = 17 };

	/* 802.1ad service tag outside, 802.1Q customer tag inside. */
	eth(&p, MAC_D, MAC_S, 0x88a8);
	tag(&p, 3, 200, 0x8100);
	tag(&p, 0, 10, 0x0800);
	ipv4(&p, &h);
	udp(&p, 1000, 2000, 8);
	T_EQ(parse(&p, p.n, PKT_START_ETHERNET, &in), PKT_OK);
	T_EQ(in.outer.n_vlans, 2);
	T_EQ(in.outer.vlan[0], 200);
	T_EQ(in.outer.vlan_pcp[0], 3);
	T_EQ(in.outer.vlan[1], 10);
	T_EQ(in.outer.vlan_pcp[1], 0);
	T_EQ(in.outer.l3_off, 22);
	T_EQ(in.outer.src_port, 1000);
	T_EQ(in.outer.dst_port, 2000);
	T_STREQ(in.outer.stack, "eth.dot1q.dot1q.ip.udp");
}

/* Three tags: all are walked and counted, only the first two are kept. */
static void
vlan_three_tags(void)
{
	struct pk p = { .n = 0 };
	struct pkt_info in;
	struct ip4 h = { .tot_len = 28, .ttl = 64, .proto = 17 };

	eth(&p, MAC_D, MAC_S, 0x9100);
	tag(&p, 1, 11, 0x8100);
	tag(&p, 2, 22, 0x8100);
	tag(&p, 3, 33, 0x0800);
	ipv4(&p, &h);
	udp(&p, 1, 2, 8);
	T_EQ(parse(&p, p.n, PKT_START_ETHERNET, &in), PKT_OK);
	T_EQ(in.outer.n_vlans, 3);
	T_EQ(in.outer.vlan[0], 11);
	T_EQ(in.outer.vlan[1], 22);
	T_EQ(in.outer.vlan_pcp[1], 2);
	T_EQ(in.outer.l3_off, 26);
	T_EQ(in.outer.dst_port, 2);
	T_STREQ(in.outer.stack, "eth.dot1q.dot1q.dot1q.ip.udp");
}

/*
 * The stack string is PKT_STACK_LEN bytes with its NUL: a layer whose name
 * does not fit is left out, and stack_len stays strlen(stack). Nine tags:
 * "eth" + 9 x ".dot1q" + ".ip" is 60 characters and ".udp" no longer fits;
 * twelve: the tenth tag ends at 63, the rest, ip and udp are left out.
 */
static void
stack_full(void)
{
	static const struct {
		int tags;
		int dot1q_shown;
		const char *tail;
	} c[] = { { 9, 9, ".ip" }, { 10, 10, "" }, { 12, 10, "" } };

	for (size_t k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		struct pk p = { .n = 0 };
		struct pkt_info in;
		struct ip4 h = { .tot_len = 28, .ttl = 64, .proto = 17 };
		char want[128] = "eth";

		eth(&p, MAC_D, MAC_S, 0x8100);
		for (int i = 0; i < c[k].tags; i++)
			tag(&p, 0, (uint16_t)(i + 1),
			    i + 1 < c[k].tags ? 0x8100 : 0x0800);
		ipv4(&p, &h);
		udp(&p, 1, 2, 8);
		for (int i = 0; i < c[k].dot1q_shown; i++)
			strcat(want, ".dot1q");
		strcat(want, c[k].tail);
		T_EQ(parse(&p, p.n, PKT_START_ETHERNET, &in), PKT_OK);
		T_EQ(in.outer.n_vlans, c[k].tags);
		T_EQ(in.outer.dst_port, 2);
		T_STREQ(in.outer.stack, want);
		T_EQ(in.outer.stack_len, strlen(in.outer.stack));
		T_OK(in.outer.stack_len < PKT_STACK_LEN);
	}
}

/*
 * docs/decode-json.md §6.1: tags of type 0x9200 and 0x9300 count as VLAN
 * tags too (as in sflowtool's decodeLinkLayer).
 */
static void
vlan_tpid_9200_9300(void)
{
	struct pk p = { .n = 0 };
	struct pkt_info in;
	struct ip4 h = { .tot_len = 28, .ttl = 64, .proto = 17 };

	eth(&p, MAC_D, MAC_S, 0x9200);
	tag(&p, 0, 300, 0x9300);
	tag(&p, 0, 301, 0x0800);
	ipv4(&p, &h);
	udp(&p, 1, 2, 8);
	parse(&p, p.n, PKT_START_ETHERNET, &in);
	T_EQ(in.stop, PKT_OK);
	T_EQ(in.outer.n_vlans, 2);
	T_EQ(in.outer.vlan[0], 300);
	T_EQ(in.outer.vlan[1], 301);
	T_EQ(in.outer.ethertype, 0x0800);
	T_EQ(in.outer.ip_version, 4);
}

/*
 * docs/decode-json.md §6.1: an 802.3 frame (length <= 1500) with an
 * LLC/SNAP header whose OUI is 0 carries an ethertype; the parse goes on
 * with it.
 */
static void
ieee8023_snap(void)
{
	struct pk p = { .n = 0 };
	struct pkt_info in;
	struct ip4 h = { .tot_len = 28, .ttl = 64, .proto = 17 };

	eth(&p, MAC_D, MAC_S, 8 + 28); /* 802.3 length */
	put8(&p, 0xaa);                /* DSAP: SNAP */
	put8(&p, 0xaa);                /* SSAP: SNAP */
	put8(&p, 0x03);                /* UI */
	put8(&p, 0);                   /* OUI 00-00-00 */
	put16(&p, 0);
	put16(&p, 0x0800);
	ipv4(&p, &h);
	udp(&p, 7, 9, 8);
	parse(&p, p.n, PKT_START_ETHERNET, &in);
	T_EQ(in.stop, PKT_OK);
	T_EQ(in.outer.ethertype, 0x0800);
	T_EQ(in.outer.ip_version, 4);
	T_EQ(in.outer.l3_off, 22);
	T_EQ(in.outer.dst_port, 9);
}

/*
 * Ethernet, IPv6, hop-by-hop (8 bytes), destination options (16 bytes),
 * a first fragment (offset 0, M set), UDP with 4 bytes of payload.
 */
static void
build_ip6_ext(struct pk *p)
{
	memset(p, 0, sizeof(*p));
	eth(p, MAC_D, MAC_S, 0x86dd);
	ipv6(p, 0xb8, 0x12345, 8 + 16 + 8 + 8 + 4, 0, 61);
	ext6(p, 60, 0);
	ext6(p, 44, 1);
	frag6(p, 17, 0, true, 0xdeadbeef);
	udp(p, 5353, 5354, 12);
	put32(p, 0xcafef00d);
}

static void
ipv6_ext_udp(void)
{
	struct pk p;
	struct pkt_info in;
	const struct pkt_layers *l = &in.outer;

	build_ip6_ext(&p);
	T_EQ(parse(&p, p.n, PKT_START_ETHERNET, &in), PKT_OK);
	T_EQ(l->ethertype, 0x86dd);
	T_EQ(l->ip_version, 6);
	T_EQ(l->l3_off, 14);
	T_EQ(l->ip_tos, 0xb8);
	T_EQ(l->ip6_flow_label, 0x12345);
	T_EQ(l->ip_ttl, 61);
	T_EQ(l->ip_len, 40 + 44);
	T_OK(memcmp(l->src_ip, IP6_S, 16) == 0);
	T_OK(memcmp(l->dst_ip, IP6_D, 16) == 0);
	T_EQ(l->n_ext, 3);
	T_EQ(l->ext[0], 0);
	T_EQ(l->ext[1], 60);
	T_EQ(l->ext[2], 44);
	/* The first fragment: offset 0, more to come, low 16 bits of id. */
	T_EQ(l->ip_frag_off, 0);
	T_OK(l->ip_more_frags);
	T_EQ(l->ip_id, 0xbeef);
	T_EQ(l->ip_proto, 17);
	T_OK(l->has_l4);
	T_EQ(l->src_port, 5353);
	T_EQ(l->dst_port, 5354);
	T_EQ(l->udp_len, 12);
	T_STREQ(l->stack, "eth.ip6.udp");
	T_EQ(in.udp_payload_off, 14 + 40 + 32 + 8);
	T_EQ(in.udp_payload_len, 4);
}

/* AH counts its length in 4-byte units minus 2, unlike the others. */
static void
ipv6_ah_tcp(void)
{
	struct pk p = { .n = 0 };
	struct pkt_info in;

	ipv6(&p, 0, 0, 24 + 20, 51, 64);
	put8(&p, 6); /* next: TCP */
	put8(&p, 4); /* (4 + 2) * 4 = 24 bytes */
	put0(&p, 22);
	tcp(&p, 22, 50000, 0x18);
	T_EQ(parse(&p, p.n, PKT_START_IPV6, &in), PKT_OK);
	T_EQ(in.outer.n_ext, 1);
	T_EQ(in.outer.ext[0], 51);
	T_EQ(in.outer.ip_proto, 6);
	T_EQ(in.outer.src_port, 22);
	T_EQ(in.outer.dst_port, 50000);
	T_EQ(in.outer.tcp_flags, 0x18);
	T_STREQ(in.outer.stack, "ip6.tcp");
}

static void
ipv6_fragment_nonfirst(void)
{
	struct pk p = { .n = 0 };
	struct pkt_info in;
	const struct pkt_layers *l = &in.outer;

	eth(&p, MAC_D, MAC_S, 0x86dd);
	ipv6(&p, 0, 0, 8 + 16, 44, 64);
	frag6(&p, 17, 185, false, 0x00010203);
	/* Looks like UDP, but it is the middle of the datagram. */
	udp(&p, 1, 2, 3);
	put0(&p, 8);
	T_EQ(parse(&p, p.n, PKT_START_ETHERNET, &in), PKT_FRAGMENT);
	T_EQ(l->ip_version, 6);
	T_EQ(l->n_ext, 1);
	T_EQ(l->ext[0], 44);
	T_EQ(l->ip_frag_off, 185);
	T_OK(!l->ip_more_frags);
	T_EQ(l->ip_id, 0x0203);
	T_EQ(l->ip_proto, 17);
	T_OK(!l->has_l4);
	T_EQ(l->src_port, 0);
	T_EQ(in.udp_payload_off, 0);
}

static void
icmp_v4_v6(void)
{
	struct pk p = { .n = 0 };
	struct pkt_info in;
	struct ip4 h = { .tot_len = 28, .ttl = 64, .proto = 1 };

	eth(&p, MAC_D, MAC_S, 0x0800);
	ipv4(&p, &h);
	put8(&p, 3); /* destination unreachable */
	put8(&p, 4); /* fragmentation needed */
	put16(&p, 0);
	put32(&p, 1500);
	T_EQ(parse(&p, p.n, PKT_START_ETHERNET, &in), PKT_OK);
	T_OK(in.outer.has_l4);
	T_EQ(in.outer.icmp_type, 3);
	T_EQ(in.outer.icmp_code, 4);
	T_EQ(in.outer.src_port, 0);
	T_STREQ(in.outer.stack, "eth.ip.icmp");

	memset(&p, 0, sizeof(p));
	eth(&p, MAC_D, MAC_S, 0x86dd);
	ipv6(&p, 0, 0, 8, 58, 255);
	put8(&p, 135); /* neighbour solicitation */
	put8(&p, 0);
	put16(&p, 0);
	put32(&p, 0);
	T_EQ(parse(&p, p.n, PKT_START_ETHERNET, &in), PKT_OK);
	T_EQ(in.outer.ip_proto, 58);
	T_OK(in.outer.has_l4);
	T_EQ(in.outer.icmp_type, 135);
	T_EQ(in.outer.icmp_code, 0);
	T_STREQ(in.outer.stack, "eth.ip6.icmp6");

	/* One byte is not even the type. */
	T_EQ(parse(&p, 14 + 40 + 1, PKT_START_ETHERNET, &in), PKT_TRUNCATED);
	T_OK(!in.outer.has_l4);
}

static void
ipv4_options(void)
{
	struct pk p = { .n = 0 };
	struct pkt_info in;
	struct ip4 h = {
		.ihl = 6, .tot_len = 24 + 8 + 2, .ttl = 1, .proto = 17
	};

	eth(&p, MAC_D, MAC_S, 0x0800);
	ipv4(&p, &h);
	udp(&p, 520, 521, 10);
	put16(&p, 0xabcd);
	T_EQ(parse(&p, p.n, PKT_START_ETHERNET, &in), PKT_OK);
	T_EQ(in.outer.ip_ttl, 1);
	T_OK(in.outer.has_l4);
	/* The ports come after the options, not at byte 20. */
	T_EQ(in.outer.src_port, 520);
	T_EQ(in.outer.dst_port, 521);
	T_EQ(in.udp_payload_off, 14 + 24 + 8);
	T_EQ(in.udp_payload_len, 2);

	/* Cut inside the options: the IP fields are there, no L4. */
	T_EQ(parse(&p, 14 + 22, PKT_START_ETHERNET, &in), PKT_TRUNCATED);
	T_EQ(in.outer.ip_version, 4);
	T_EQ(in.outer.ip_ttl, 1);
	T_OK(!in.outer.has_l4);
}

static void
ipv4_fragments(void)
{
	struct pk p = { .n = 0 };
	struct pkt_info in;
	/* Offset 185 (1480 bytes) with MF: a middle fragment. */
	struct ip4 h = { .tot_len = 1500,
		.id = 7,
		.frag = 0x2000 | 185,
		.ttl = 64,
		.proto = 17 };

	eth(&p, MAC_D, MAC_S, 0x0800);
	ipv4(&p, &h);
	udp(&p, 1, 2, 3); /* payload bytes, not a UDP header */
	T_EQ(parse(&p, p.n, PKT_START_ETHERNET, &in), PKT_FRAGMENT);
	T_EQ(in.outer.ip_version, 4);
	T_EQ(in.outer.ip_id, 7);
	T_EQ(in.outer.ip_frag_off, 185);
	T_OK(in.outer.ip_more_frags);
	T_EQ(in.outer.ip_proto, 17);
	T_OK(!in.outer.has_l4);
	T_EQ(in.outer.src_port, 0);
	T_STREQ(pkt_stop_name(in.stop), "fragment");

	/* The first fragment (offset 0, MF) has its L4 header. */
	memset(&p, 0, sizeof(p));
	h.frag = 0x2000;
	eth(&p, MAC_D, MAC_S, 0x0800);
	ipv4(&p, &h);
	udp(&p, 1, 2, 1480);
	T_EQ(parse(&p, p.n, PKT_START_ETHERNET, &in), PKT_OK);
	T_OK(in.outer.ip_more_frags);
	T_OK(in.outer.has_l4);
	T_EQ(in.outer.dst_port, 2);
}

/*
 * Ethernet/IPv4/UDP to 4789, VXLAN (I flag, VNI 0x123456), and an inner
 * Ethernet/IPv4/TCP frame with 6 bytes of TCP payload. The offsets:
 * outer IP 14, UDP 34, VXLAN 42, inner Ethernet 50, inner IP 64, inner
 * TCP 84, payload 104, end 110.
 */
static void
build_vxlan(struct pk *p)
{
	struct ip4 oh = { .tot_len = 20 + 8 + 8 + 14 + 20 + 20 + 6,
		.id = 0x0101,
		.ttl = 255,
		.proto = 17 };
	struct ip4 ih = { .tos = 0x10,
		.tot_len = 46,
		.id = 0x4242,
		.ttl = 30,
		.proto = 6,
		.src = IP_IS,
		.dst = IP_ID };

	memset(p, 0, sizeof(*p));
	eth(p, MAC_D, MAC_S, 0x0800);
	ipv4(p, &oh);
	udp(p, 49152, 4789, 8 + 8 + 14 + 20 + 20 + 6);
	put8(p, 0x08); /* I flag */
	put0(p, 3);
	put8(p, 0x12);
	put8(p, 0x34);
	put8(p, 0x56);
	put8(p, 0);
	eth(p, MAC_ID, MAC_IS, 0x0800);
	ipv4(p, &ih);
	tcp(p, 8080, 33000, 0x10);
	put(p, "hello!", 6);
}

static void
vxlan(void)
{
	struct pk p;
	struct pkt_info in;

	build_vxlan(&p);
	T_EQ(p.n, 110);
	T_EQ(parse(&p, p.n, PKT_START_ETHERNET, &in), PKT_OK);
	T_OK(in.has_inner);
	T_EQ(in.vxlan_vni, 0x123456);
	T_EQ(in.outer.dst_port, 4789);
	T_EQ(in.outer.src_port, 49152);
	T_STREQ(in.outer.stack, "eth.ip.udp.vxlan");
	/* The outer UDP payload is the VXLAN header and the inner frame. */
	T_EQ(in.udp_payload_off, 42);
	T_EQ(in.udp_payload_len, 110 - 42);
	T_OK(in.inner.has_eth);
	T_OK(memcmp(in.inner.dst_mac, MAC_ID, 6) == 0);
	T_OK(memcmp(in.inner.src_mac, MAC_IS, 6) == 0);
	T_EQ(in.inner.ethertype, 0x0800);
	/* Offsets are into the whole buffer, not the inner frame. */
	T_EQ(in.inner.l3_off, 64);
	T_EQ(in.inner.ip_version, 4);
	T_OK(memcmp(in.inner.src_ip, IP_IS, 4) == 0);
	T_OK(memcmp(in.inner.dst_ip, IP_ID, 4) == 0);
	T_EQ(in.inner.ip_proto, 6);
	T_EQ(in.inner.ip_tos, 0x10);
	T_EQ(in.inner.ip_ttl, 30);
	T_EQ(in.inner.ip_id, 0x4242);
	T_OK(in.inner.has_l4);
	T_EQ(in.inner.src_port, 8080);
	T_EQ(in.inner.dst_port, 33000);
	T_EQ(in.inner.tcp_flags, 0x10);
	T_STREQ(in.inner.stack, "eth.ip.tcp");

	/* Without the I flag it is just UDP to port 4789. */
	p.b[42] = 0x00;
	T_EQ(parse(&p, p.n, PKT_START_ETHERNET, &in), PKT_OK);
	T_OK(!in.has_inner);
	T_EQ(in.vxlan_vni, 0);
	T_OK(!in.inner.has_eth);
	T_STREQ(in.outer.stack, "eth.ip.udp");
}

/* VXLAN in VXLAN: only one level is decoded, the inner UDP stays UDP. */
static void
vxlan_one_level(void)
{
	struct pk p = { .n = 0 };
	struct pkt_info in;
	struct ip4 h = { .tot_len = 100, .ttl = 9, .proto = 17 };

	eth(&p, MAC_D, MAC_S, 0x0800);
	ipv4(&p, &h);
	udp(&p, 1, 4789, 100);
	put32(&p, 0x08000000);
	put32(&p, 0x00000100);
	eth(&p, MAC_ID, MAC_IS, 0x0800);
	ipv4(&p, &h);
	udp(&p, 2, 4789, 100);
	put32(&p, 0x08000000);
	put32(&p, 0x00000200);
	eth(&p, MAC_D, MAC_D, 0x0800);
	T_EQ(parse(&p, p.n, PKT_START_ETHERNET, &in), PKT_OK);
	T_OK(in.has_inner);
	T_EQ(in.vxlan_vni, 1);
	T_EQ(in.inner.dst_port, 4789);
	T_STREQ(in.inner.stack, "eth.ip.udp");
	/* The payload is the outer one, never the inner. */
	T_EQ(in.udp_payload_off, 42);
}

static void
start_ipv4(void)
{
	struct pk p = { .n = 0 };
	struct pkt_info in;
	struct ip4 h = { .tot_len = 28 + 5, .id = 99, .ttl = 64, .proto = 17 };

	ipv4(&p, &h);
	udp(&p, 123, 123, 13);
	put(&p, "ntp!!", 5);
	T_EQ(parse(&p, p.n, PKT_START_IPV4, &in), PKT_OK);
	T_OK(!in.outer.has_eth);
	T_EQ(in.outer.ethertype, 0);
	T_EQ(in.outer.l3_off, 0);
	T_EQ(in.outer.ip_version, 4);
	T_EQ(in.outer.ip_id, 99);
	T_EQ(in.outer.src_port, 123);
	T_EQ(in.udp_payload_off, 28);
	T_EQ(in.udp_payload_len, 5);
	T_STREQ(in.outer.stack, "ip.udp");

	/*
	 * IPv4 bytes parsed as IPv6: too short for the fixed header, then
	 * long enough but with the wrong version. Never a guess.
	 */
	T_EQ(parse(&p, p.n, PKT_START_IPV6, &in), PKT_TRUNCATED);
	memset(&p, 0, sizeof(p));
	ipv4(&p, &h);
	put0(&p, 40);
	T_EQ(parse(&p, p.n, PKT_START_IPV6, &in), PKT_BAD_HEADER);
}

static void
start_ipv6(void)
{
	struct pk p = { .n = 0 };
	struct pkt_info in;

	ipv6(&p, 0x02, 0xfffff, 20, 6, 1);
	tcp(&p, 179, 40000, 0x02);
	T_EQ(parse(&p, p.n, PKT_START_IPV6, &in), PKT_OK);
	T_OK(!in.outer.has_eth);
	T_EQ(in.outer.l3_off, 0);
	T_EQ(in.outer.ip_version, 6);
	T_EQ(in.outer.ip_tos, 0x02);
	T_EQ(in.outer.ip6_flow_label, 0xfffff);
	T_EQ(in.outer.ip_len, 60);
	T_EQ(in.outer.n_ext, 0);
	T_EQ(in.outer.src_port, 179);
	T_EQ(in.outer.tcp_flags, 0x02);
	T_STREQ(in.outer.stack, "ip6.tcp");
}

/* ---- truncation ---------------------------------------------------- */

/*
 * Every prefix of the VXLAN packet. The parser stops with TRUNCATED when
 * the bytes end inside a header it needs, and keeps what it read before:
 * the checks below are per header boundary. It needs 14 bytes of TCP
 * (ports and flags), so a cut after that is a complete parse; and a cut
 * inside the VXLAN header leaves a complete UDP packet (no inner frame).
 * With 8 to 13 bytes of TCP, the ports may or may not be reported (the
 * JSON wants them, docs/decode-json.md D11), but if they are they must
 * be right.
 */
static void
truncate_vxlan(void)
{
	struct pk p;
	struct pkt_info in;

	build_vxlan(&p);
	for (size_t n = 0; n <= p.n; n++) {
		enum pkt_stop st = parse(&p, n, PKT_START_ETHERNET, &in);
		bool bad = false;

		if ((n >= 42 && n < 50) || (n >= 92 && n < 98))
			bad |= st != PKT_OK && st != PKT_TRUNCATED;
		else
			bad |= st != (n >= 98 ? PKT_OK : PKT_TRUNCATED);
		bad |= in.outer.has_eth != (n >= 14);
		if (n >= 14) {
			bad |= memcmp(in.outer.dst_mac, MAC_D, 6) != 0;
			bad |= memcmp(in.outer.src_mac, MAC_S, 6) != 0;
			bad |= in.outer.ethertype != 0x0800;
		}
		bad |= (in.outer.ip_version == 4) != (n >= 34);
		if (n >= 34)
			bad |= memcmp(in.outer.src_ip, IP_S, 4) != 0 ||
			    in.outer.ip_ttl != 255 || in.outer.ip_proto != 17;
		bad |= in.outer.has_l4 != (n >= 42);
		if (n >= 42)
			bad |= in.outer.dst_port != 4789 ||
			    in.udp_payload_off != 42 ||
			    in.udp_payload_len != n - 42;
		bad |= in.has_inner != (n >= 50);
		if (n >= 50)
			bad |= in.vxlan_vni != 0x123456;
		bad |= in.inner.has_eth != (n >= 64);
		if (n >= 64)
			bad |= memcmp(in.inner.src_mac, MAC_IS, 6) != 0;
		bad |= (in.inner.ip_version == 4) != (n >= 84);
		if (n >= 84)
			bad |= memcmp(in.inner.dst_ip, IP_ID, 4) != 0 ||
			    in.inner.ip_id != 0x4242;
		if (n < 92 || n >= 98)
			bad |= in.inner.has_l4 != (n >= 98);
		if (in.inner.has_l4)
			bad |= in.inner.src_port != 8080 ||
			    in.inner.dst_port != 33000;
		if (n >= 98)
			bad |= in.inner.tcp_flags != 0x10;
		bad |= in.outer.stack_len != strlen(in.outer.stack) ||
		    in.inner.stack_len != strlen(in.inner.stack);
		if (bad)
			T_FAIL("prefix %zu: stop %s, stack \"%s\" / \"%s\"", n,
			    pkt_stop_name(st), in.outer.stack, in.inner.stack);
	}
}

/*
 * Every prefix of the IPv6 extension-header packet. Offsets: IPv6 14,
 * hop-by-hop 54, destination options 62, fragment 78, UDP 86, payload 94,
 * end 98. A header cut short is listed in ext[] as the one being walked.
 */
static void
truncate_ip6_ext(void)
{
	struct pk p;
	struct pkt_info in;
	static const uint8_t want_ext[3] = { 0, 60, 44 };

	build_ip6_ext(&p);
	T_EQ(p.n, 98);
	for (size_t n = 0; n <= p.n; n++) {
		enum pkt_stop st = parse(&p, n, PKT_START_ETHERNET, &in);
		const struct pkt_layers *l = &in.outer;
		size_t ext = n >= 78 ? 3 : n >= 62 ? 2 : n >= 54 ? 1 : 0;
		bool bad = false;

		bad |= st != (n >= 94 ? PKT_OK : PKT_TRUNCATED);
		bad |= l->has_eth != (n >= 14);
		if (n >= 14)
			bad |= memcmp(l->src_mac, MAC_S, 6) != 0 ||
			    l->ethertype != 0x86dd;
		bad |= (l->ip_version == 6) != (n >= 54);
		if (n >= 54)
			bad |= memcmp(l->dst_ip, IP6_D, 16) != 0 ||
			    l->ip_ttl != 61 || l->ip6_flow_label != 0x12345;
		bad |= l->n_ext != ext;
		for (size_t i = 0; i < l->n_ext && i < 3; i++)
			bad |= l->ext[i] != want_ext[i];
		if (n >= 86)
			bad |= l->ip_proto != 17 || l->ip_id != 0xbeef ||
			    !l->ip_more_frags;
		bad |= l->has_l4 != (n >= 94);
		if (n >= 94)
			bad |= l->src_port != 5353 || l->dst_port != 5354 ||
			    in.udp_payload_len != n - 94;
		if (bad)
			T_FAIL("prefix %zu: stop %s, n_ext %u, stack \"%s\"", n,
			    pkt_stop_name(st), l->n_ext, l->stack);
	}
}

/* The tag loop must check each 4-byte tag against the length. */
static void
truncate_vlan_tags(void)
{
	struct pk p = { .n = 0 };
	struct pkt_info in;

	eth(&p, MAC_D, MAC_S, 0x8100);
	for (int i = 0; i < 8; i++)
		tag(&p, 0, (uint16_t)(i + 1), 0x8100);
	for (size_t n = 0; n <= p.n; n++) {
		T_EQ(parse(&p, n, PKT_START_ETHERNET, &in), PKT_TRUNCATED);
		if (n >= 18)
			T_EQ(in.outer.vlan[0], 1);
		if (n >= 22)
			T_EQ(in.outer.vlan[1], 2);
	}
	/* 8 tags, the last announcing a 9th: all 8 are counted. */
	T_EQ(in.outer.n_vlans, 8);
}

/* ---- bad headers ----------------------------------------------------- */

static void
bad_ipv4(void)
{
	struct pk p;
	struct pkt_info in;

	/* Version 6 behind ethertype 0x0800. */
	build_eth_ip_tcp(&p);
	p.b[14] = 0x65;
	T_EQ(parse(&p, p.n, PKT_START_ETHERNET, &in), PKT_BAD_HEADER);
	T_OK(in.outer.has_eth);
	T_EQ(in.outer.ip_version, 0);
	T_OK(!in.outer.has_l4);
	T_STREQ(pkt_stop_name(in.stop), "bad_header");

	/* IHL 4: shorter than the fixed header. */
	build_eth_ip_tcp(&p);
	p.b[14] = 0x44;
	T_EQ(parse(&p, p.n, PKT_START_ETHERNET, &in), PKT_BAD_HEADER);
	T_OK(!in.outer.has_l4);
	p.b[14] = 0x40;
	T_EQ(parse(&p, p.n, PKT_START_ETHERNET, &in), PKT_BAD_HEADER);

	/* The same without Ethernet. */
	memset(&p, 0, sizeof(p));
	ipv4(&p, &(struct ip4){ .tot_len = 28, .ttl = 1, .proto = 17 });
	udp(&p, 1, 2, 8);
	T_EQ(parse(&p, p.n, PKT_START_IPV4, &in), PKT_OK);
	p.b[0] = 0x43;
	T_EQ(parse(&p, p.n, PKT_START_IPV4, &in), PKT_BAD_HEADER);
	p.b[0] = 0x55;
	T_EQ(parse(&p, p.n, PKT_START_IPV4, &in), PKT_BAD_HEADER);
	T_OK(!in.outer.has_l4);

	/* IHL 15 (60 bytes) with 40 bytes of packet: truncated. */
	build_eth_ip_tcp(&p);
	p.b[14] = 0x4f;
	T_EQ(parse(&p, p.n, PKT_START_ETHERNET, &in), PKT_TRUNCATED);
	T_EQ(in.outer.ip_version, 4);
	T_OK(!in.outer.has_l4);
}

static void
bad_ipv6_version(void)
{
	struct pk p = { .n = 0 };
	struct pkt_info in;

	eth(&p, MAC_D, MAC_S, 0x86dd);
	ipv6(&p, 0, 0, 8, 17, 64);
	udp(&p, 1, 2, 8);
	p.b[14] = 0x40;
	T_EQ(parse(&p, p.n, PKT_START_ETHERNET, &in), PKT_BAD_HEADER);
	T_EQ(in.outer.ip_version, 0);
}

static void
unsupported(void)
{
	struct pk p = { .n = 0 };
	struct pkt_info in;

	eth(&p, MAC_D, MAC_S, 0x0806); /* ARP */
	put16(&p, 1);
	put16(&p, 0x0800);
	put8(&p, 6);
	put8(&p, 4);
	put16(&p, 1);
	put0(&p, 20);
	T_EQ(parse(&p, p.n, PKT_START_ETHERNET, &in), PKT_UNSUPPORTED);
	T_OK(in.outer.has_eth);
	T_EQ(in.outer.ethertype, 0x0806);
	T_EQ(in.outer.ip_version, 0);
	T_STREQ(in.outer.stack, "eth");
	T_STREQ(pkt_stop_name(in.stop), "unsupported");

	/* A header_protocol that pkt_parse does not start from. */
	T_EQ(parse(&p, p.n, (enum pkt_start)15, &in), PKT_UNSUPPORTED);
	T_OK(!in.outer.has_eth);

	/* An upper layer it does not parse is a complete parse. */
	memset(&p, 0, sizeof(p));
	ipv6(&p, 0, 0, 4, 132, 64); /* SCTP */
	put32(&p, 0x0b590b59);
	T_EQ(parse(&p, p.n, PKT_START_IPV6, &in), PKT_OK);
	T_EQ(in.outer.ip_proto, 132);
	T_OK(!in.outer.has_l4);
	T_STREQ(in.outer.stack, "ip6");
}

/* 20 destination-options headers: the walk stops at PKT_MAX_EXT. */
static void
ipv6_ext_bound(void)
{
	struct pk p = { .n = 0 };
	struct pkt_info in;

	ipv6(&p, 0, 0, 20 * 8 + 8, 60, 64);
	for (int i = 0; i < 20; i++)
		ext6(&p, i == 19 ? 17 : 60, 0);
	udp(&p, 1, 2, 8);
	T_EQ(parse(&p, p.n, PKT_START_IPV6, &in), PKT_BAD_HEADER);
	T_EQ(in.outer.n_ext, PKT_MAX_EXT);
	for (int i = 0; i < PKT_MAX_EXT; i++)
		T_EQ(in.outer.ext[i], 60);
	T_OK(!in.outer.has_l4);

	/* Exactly 16 is the bound: the 17th header makes it bad. */
	memset(&p, 0, sizeof(p));
	ipv6(&p, 0, 0, 16 * 8 + 8, 60, 64);
	for (int i = 0; i < 16; i++)
		ext6(&p, i == 15 ? 17 : 60, 0);
	udp(&p, 1, 2, 8);
	T_EQ(parse(&p, p.n, PKT_START_IPV6, &in), PKT_BAD_HEADER);
	T_EQ(in.outer.n_ext, 16);
	memset(&p, 0, sizeof(p));
	ipv6(&p, 0, 0, 15 * 8 + 8, 60, 64);
	for (int i = 0; i < 15; i++)
		ext6(&p, i == 14 ? 17 : 60, 0);
	udp(&p, 1, 2, 8);
	T_EQ(parse(&p, p.n, PKT_START_IPV6, &in), PKT_OK);
	T_EQ(in.outer.n_ext, 15);
	T_EQ(in.outer.dst_port, 2);

	/* An extension header whose length runs past the end. */
	memset(&p, 0, sizeof(p));
	ipv6(&p, 0, 0, 16, 0, 64);
	put8(&p, 17);
	put8(&p, 255); /* 2048 bytes */
	put0(&p, 14);
	T_EQ(parse(&p, p.n, PKT_START_IPV6, &in), PKT_TRUNCATED);
	T_EQ(in.outer.n_ext, 1);
	T_OK(!in.outer.has_l4);
}

static void
stop_names(void)
{
	T_STREQ(pkt_stop_name(PKT_OK), "ok");
	T_STREQ(pkt_stop_name(PKT_TRUNCATED), "truncated");
	T_STREQ(pkt_stop_name(PKT_BAD_HEADER), "bad_header");
	T_STREQ(pkt_stop_name(PKT_UNSUPPORTED), "unsupported");
	T_STREQ(pkt_stop_name(PKT_FRAGMENT), "fragment");
	T_STREQ(pkt_stop_name((enum pkt_stop)77), "unknown");
}

int
main(void)
{
	t_suite = "packet";
	T_RUN(eth_ipv4_tcp);
	T_RUN(dot1q_single);
	T_RUN(qinq);
	T_RUN(vlan_three_tags);
	T_RUN(stack_full);
	T_RUN(vlan_tpid_9200_9300);
	T_RUN(ieee8023_snap);
	T_RUN(ipv6_ext_udp);
	T_RUN(ipv6_ah_tcp);
	T_RUN(ipv6_fragment_nonfirst);
	T_RUN(icmp_v4_v6);
	T_RUN(ipv4_options);
	T_RUN(ipv4_fragments);
	T_RUN(vxlan);
	T_RUN(vxlan_one_level);
	T_RUN(start_ipv4);
	T_RUN(start_ipv6);
	T_RUN(truncate_vxlan);
	T_RUN(truncate_ip6_ext);
	T_RUN(truncate_vlan_tags);
	T_RUN(bad_ipv4);
	T_RUN(bad_ipv6_version);
	T_RUN(unsupported);
	T_RUN(ipv6_ext_bound);
	T_RUN(stop_names);
	return t_done();
}
