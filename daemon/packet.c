/*
 * packet.c: parse a sampled packet header. PURE: no I/O, no logging.
 * Every read is checked against the remaining length first.
 */
#include <string.h>

#include "packet.h"

#define ETH_P_IPV4   0x0800
#define ETH_P_IPV6   0x86dd
#define ETH_P_8021Q  0x8100
#define ETH_P_8021AD 0x88a8
#define ETH_P_QINQ1  0x9100
#define ETH_P_QINQ2  0x9200
#define ETH_P_QINQ3  0x9300
#define VXLAN_PORT   4789

static uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

/*
 * Append "." name (name alone first) to l->stack; a name that does not
 * fit is left out. It runs for every layer of every sampled header: the
 * length is kept in l->stack_len and the name's comes from the literal.
 */
_Static_assert(PKT_STACK_LEN <= UINT8_MAX, "stack_len is a uint8_t");
#define STACK_ADD(l, lit) stack_add((l), (lit), sizeof(lit) - 1)

static void
stack_add(struct pkt_layers *l, const char *name, size_t len)
{
	size_t have = l->stack_len;
	size_t add = len + (have ? 1 : 0);

	if (have + add + 1 > sizeof(l->stack))
		return;
	if (have)
		l->stack[have++] = '.';
	memcpy(l->stack + have, name, len + 1);
	l->stack_len = (uint8_t)(have + len);
}

struct parser {
	const uint8_t *buf;
	size_t len;
	struct pkt_info *info;
	int depth; /* 0 outer, 1 inner (behind VXLAN) */
};

static enum pkt_stop parse_l3(
    struct parser *, struct pkt_layers *, size_t off, uint16_t ethertype);

static enum pkt_stop
parse_eth(struct parser *ps, struct pkt_layers *l, size_t off)
{
	uint16_t type;

	if (ps->len - off < 14)
		return PKT_TRUNCATED;
	l->has_eth = true;
	memcpy(l->dst_mac, ps->buf + off, 6);
	memcpy(l->src_mac, ps->buf + off + 6, 6);
	type = rd16(ps->buf + off + 12);
	off += 14;
	STACK_ADD(l, "eth");
	while (type == ETH_P_8021Q || type == ETH_P_8021AD ||
	    type == ETH_P_QINQ1 || type == ETH_P_QINQ2 || type == ETH_P_QINQ3) {
		uint16_t tci;

		if (ps->len - off < 4)
			return PKT_TRUNCATED;
		tci = rd16(ps->buf + off);
		if (l->n_vlans < PKT_MAX_VLANS) {
			l->vlan[l->n_vlans] = tci & 0x0fff;
			l->vlan_pcp[l->n_vlans] = (uint8_t)(tci >> 13);
		}
		/* Deeper tag stacks are legal but rare: count, keep two. */
		if (l->n_vlans < 255)
			l->n_vlans++;
		STACK_ADD(l, "dot1q");
		type = rd16(ps->buf + off + 2);
		off += 4;
	}
	if (type <= 1500) {
		/*
		 * An 802.3 length, not an ethertype: look for LLC/SNAP. SNAP
		 * with OUI 0 carries an ethertype; LLC SAP 06 is IPv4.
		 */
		const uint8_t *llc = ps->buf + off;
		size_t rem = ps->len - off;

		if (rem >= 8 && llc[0] == 0xaa && llc[1] == 0xaa &&
		    llc[2] == 0x03) {
			if (llc[3] != 0 || llc[4] != 0 || llc[5] != 0) {
				l->has_snap_oui = true;
				memcpy(l->snap_oui, llc + 3, 3);
				return PKT_UNSUPPORTED;
			}
			type = rd16(llc + 6);
			off += 8;
		} else if (rem >= 3 && llc[0] == 0x06 && llc[1] == 0x06) {
			type = ETH_P_IPV4;
			off += 3;
		} else {
			return rem < 3 ? PKT_TRUNCATED : PKT_UNSUPPORTED;
		}
	}
	l->ethertype = type;
	l->ethertype_valid = true;
	return parse_l3(ps, l, off, type);
}

static enum pkt_stop
parse_l4(struct parser *ps, struct pkt_layers *l, size_t off)
{
	const uint8_t *p = ps->buf + off;
	size_t rem = ps->len - off;

	switch (l->ip_proto) {
	case 6: /* TCP */
		STACK_ADD(l, "tcp");
		/* Ports from 8 bytes on (as sflowtool); flags need 14. */
		if (rem < 8)
			return PKT_TRUNCATED;
		l->has_l4 = true;
		l->src_port = rd16(p);
		l->dst_port = rd16(p + 2);
		if (rem < 14)
			return PKT_TRUNCATED;
		l->has_tcp_flags = true;
		l->tcp_flags = p[13];
		return PKT_OK;
	case 17: /* UDP */
		STACK_ADD(l, "udp");
		if (rem < 8)
			return PKT_TRUNCATED;
		l->has_l4 = true;
		l->src_port = rd16(p);
		l->dst_port = rd16(p + 2);
		l->udp_len = rd16(p + 4);
		if (ps->depth == 0) {
			ps->info->udp_payload_off = off + 8;
			ps->info->udp_payload_len = rem - 8;
		}
		/* One level of VXLAN: 8-byte header with the I flag set. */
		if (ps->depth == 0 && l->dst_port == VXLAN_PORT && rem >= 16 &&
		    (p[8] & 0x08)) {
			enum pkt_stop st;

			STACK_ADD(l, "vxlan");
			ps->info->has_inner = true;
			ps->info->vxlan_vni = ((uint32_t)p[12] << 16) |
			    ((uint32_t)p[13] << 8) | p[14];
			ps->depth = 1;
			st = parse_eth(ps, &ps->info->inner, off + 16);
			ps->depth = 0;
			return st;
		}
		return PKT_OK;
	case 1:  /* ICMP */
	case 58: /* ICMPv6 */
		if (l->ip_proto == 1)
			STACK_ADD(l, "icmp");
		else
			STACK_ADD(l, "icmp6");
		if (rem < 8) /* the fixed ICMP header */
			return PKT_TRUNCATED;
		l->has_l4 = true;
		l->icmp_type = p[0];
		l->icmp_code = p[1];
		return PKT_OK;
	default:
		return PKT_OK;
	}
}

static enum pkt_stop
parse_ipv4(struct parser *ps, struct pkt_layers *l, size_t off)
{
	const uint8_t *p = ps->buf + off;
	size_t rem = ps->len - off;
	size_t ihl;

	STACK_ADD(l, "ip");
	l->l3_off = (uint16_t)off;
	if (rem < 20)
		return PKT_TRUNCATED;
	if ((p[0] >> 4) != 4)
		return PKT_BAD_HEADER;
	ihl = (size_t)(p[0] & 0x0f) * 4;
	if (ihl < 20)
		return PKT_BAD_HEADER;
	l->ip_version = 4;
	l->ip_tos = p[1];
	l->ip_len = rd16(p + 2);
	l->ip_id = rd16(p + 4);
	l->ip_more_frags = (p[6] & 0x20) != 0;
	l->ip_frag_off = rd16(p + 6) & 0x1fff;
	l->ip_ttl = p[8];
	l->ip_proto = p[9];
	memcpy(l->src_ip, p + 12, 4);
	memcpy(l->dst_ip, p + 16, 4);
	if (l->ip_frag_off != 0)
		return PKT_FRAGMENT;
	if (rem < ihl)
		return PKT_TRUNCATED;
	return parse_l4(ps, l, off + ihl);
}

static enum pkt_stop
parse_ipv6(struct parser *ps, struct pkt_layers *l, size_t off)
{
	const uint8_t *p = ps->buf + off;
	size_t rem = ps->len - off;
	uint8_t nh;
	int hops;

	STACK_ADD(l, "ip6");
	l->l3_off = (uint16_t)off;
	if (rem < 40)
		return PKT_TRUNCATED;
	if ((p[0] >> 4) != 6)
		return PKT_BAD_HEADER;
	l->ip_version = 6;
	l->ip_tos = (uint8_t)(((p[0] & 0x0f) << 4) | (p[1] >> 4));
	l->ip6_flow_label =
	    ((uint32_t)(p[1] & 0x0f) << 16) | ((uint32_t)p[2] << 8) | p[3];
	l->ip_len = (uint32_t)rd16(p + 4) + 40;
	nh = p[6];
	l->ip_ttl = p[7];
	memcpy(l->src_ip, p + 8, 16);
	memcpy(l->dst_ip, p + 24, 16);
	off += 40;
	/*
	 * Walk the extension headers to find the upper layer. Bounded: a
	 * header takes at least 8 bytes, and we stop after 16 of them.
	 */
	for (hops = 0; hops < PKT_MAX_EXT; hops++) {
		const uint8_t *e = ps->buf + off;

		rem = ps->len - off;
		if (nh == 0 || nh == 43 || nh == 44 || nh == 51 || nh == 60 ||
		    nh == 135)
			l->ext[l->n_ext++] = nh; /* hops < PKT_MAX_EXT */
		switch (nh) {
		case 0:   /* hop-by-hop */
		case 43:  /* routing */
		case 60:  /* destination options */
		case 135: /* mobility */
			if (rem < 8) {
				l->ip_proto = nh;
				return PKT_TRUNCATED;
			}
			nh = e[0];
			if ((size_t)(e[1] + 1) * 8 > rem) {
				l->ip_proto = nh;
				return PKT_TRUNCATED;
			}
			off += (size_t)(e[1] + 1) * 8;
			continue;
		case 44: /* fragment */
			if (rem < 8) {
				l->ip_proto = nh;
				return PKT_TRUNCATED;
			}
			nh = e[0];
			l->ip_frag_off = rd16(e + 2) >> 3;
			l->ip_more_frags = (e[3] & 1) != 0;
			l->ip_id = rd16(e + 6); /* low bits of the 32-bit id */
			off += 8;
			if (l->ip_frag_off != 0) {
				l->ip_proto = nh;
				return PKT_FRAGMENT;
			}
			continue;
		case 51: /* AH: length in 4-byte units, minus 2 */
			if (rem < 8) {
				l->ip_proto = nh;
				return PKT_TRUNCATED;
			}
			nh = e[0];
			if ((size_t)(e[1] + 2) * 4 > rem) {
				l->ip_proto = nh;
				return PKT_TRUNCATED;
			}
			off += (size_t)(e[1] + 2) * 4;
			continue;
		default:
			l->ip_proto = nh;
			return parse_l4(ps, l, off);
		}
	}
	l->ip_proto = nh;
	return PKT_BAD_HEADER;
}

static enum pkt_stop
parse_l3(
    struct parser *ps, struct pkt_layers *l, size_t off, uint16_t ethertype)
{
	switch (ethertype) {
	case ETH_P_IPV4:
		return parse_ipv4(ps, l, off);
	case ETH_P_IPV6:
		return parse_ipv6(ps, l, off);
	default:
		return PKT_UNSUPPORTED;
	}
}

enum pkt_stop
pkt_parse(
    const uint8_t *buf, size_t len, enum pkt_start start, struct pkt_info *out)
{
	struct parser ps = { buf, len, out, 0 };

	memset(out, 0, sizeof(*out));
	switch (start) {
	case PKT_START_ETHERNET:
		out->stop = parse_eth(&ps, &out->outer, 0);
		break;
	case PKT_START_IPV4:
		out->stop = parse_ipv4(&ps, &out->outer, 0);
		break;
	case PKT_START_IPV6:
		out->stop = parse_ipv6(&ps, &out->outer, 0);
		break;
	default:
		out->stop = PKT_UNSUPPORTED;
		break;
	}
	return out->stop;
}

const char *
pkt_stop_name(enum pkt_stop s)
{
	switch (s) {
	case PKT_OK:
		return "ok";
	case PKT_TRUNCATED:
		return "truncated";
	case PKT_BAD_HEADER:
		return "bad_header";
	case PKT_UNSUPPORTED:
		return "unsupported";
	case PKT_FRAGMENT:
		return "fragment";
	}
	return "unknown";
}
