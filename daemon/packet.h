/*
 * packet.h: the sampled-header parser. PURE: no I/O, no logging.
 *
 * It parses a packet header as an sFlow agent sampled it: Ethernet with
 * 802.1Q/802.1ad (QinQ) tags, IPv4, IPv6 with extension headers, TCP, UDP,
 * ICMP and ICMPv6, and one level of VXLAN (UDP 4789) whose inner Ethernet
 * frame is parsed into `inner`. A header is usually cut short (128 bytes),
 * so every layer is optional: the parser fills what the bytes hold and
 * never reads past `len`.
 */
#ifndef FABMON_PACKET_H
#define FABMON_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What the first byte of the buffer is. Values match sFlow header_protocol. */
enum pkt_start {
	PKT_START_ETHERNET = 1,
	PKT_START_IPV4 = 11,
	PKT_START_IPV6 = 12,
};

/* Why a layer stopped being parsed; 0 when the parse was complete. */
enum pkt_stop {
	PKT_OK = 0,
	PKT_TRUNCATED,   /* the bytes ended inside a header */
	PKT_BAD_HEADER,  /* a length or version field is impossible */
	PKT_UNSUPPORTED, /* an ethertype or protocol we do not parse */
	PKT_FRAGMENT,    /* a non-first IP fragment: no L4 header */
};

#define PKT_MAX_VLANS 2
#define PKT_MAX_EXT   16
#define PKT_STACK_LEN 64

/* One parsed layer set: the outer packet, or the one behind VXLAN. */
struct pkt_layers {
	bool has_eth;
	uint8_t dst_mac[6];
	uint8_t src_mac[6];
	uint8_t n_vlans;
	uint16_t vlan[PKT_MAX_VLANS];    /* VLAN IDs, outermost first */
	uint8_t vlan_pcp[PKT_MAX_VLANS]; /* priority code points */
	uint16_t ethertype;   /* after the tags (and an LLC/SNAP header) */
	bool ethertype_valid; /* false: an 802.3 frame with no ethertype */
	bool has_snap_oui;    /* SNAP with a non-zero OUI: parse stopped */
	uint8_t snap_oui[3];
	uint16_t l3_off; /* offset of the IP header in the buffer */

	uint8_t ip_version; /* 0, 4 or 6 */
	uint8_t src_ip[16]; /* IPv4 in the first 4 bytes */
	uint8_t dst_ip[16];
	uint8_t ip_proto; /* IPv4 protocol, or IPv6 upper-layer next header */
	uint8_t ip_tos;   /* IPv4 TOS, or IPv6 traffic class */
	uint8_t ip_ttl;   /* IPv4 TTL, or IPv6 hop limit */
	uint16_t ip_id;
	uint32_t ip_len; /* IPv4 total length; IPv6 payload length + 40 */
	uint16_t ip_frag_off;
	bool ip_more_frags;
	uint32_t ip6_flow_label;
	uint8_t n_ext;            /* IPv6 extension headers walked */
	uint8_t ext[PKT_MAX_EXT]; /* their next-header numbers */

	bool has_l4;        /* the first 8 bytes of the L4 header are there */
	bool has_tcp_flags; /* TCP byte 13 was captured too */
	uint16_t src_port;
	uint16_t dst_port;
	uint8_t tcp_flags;
	uint16_t udp_len;
	uint8_t icmp_type;
	uint8_t icmp_code;

	/* e.g. "eth.ip.udp" or "eth.dot1q.ip6.tcp" (sFlow-RT's `stack` key) */
	char stack[PKT_STACK_LEN];
	uint8_t stack_len; /* strlen(stack): layers append without strlen */
};

struct pkt_info {
	struct pkt_layers outer;
	bool has_inner; /* a VXLAN-encapsulated frame was found */
	uint32_t vxlan_vni;
	struct pkt_layers inner;
	enum pkt_stop stop; /* why parsing ended early, if it did */

	/* The UDP payload of the outer packet (for reading captures). */
	size_t udp_payload_off;
	size_t udp_payload_len;
};

/*
 * Parse `len` bytes starting with the given layer into `out` (zeroed first).
 * Returns out->stop: PKT_OK, or why it stopped. The parse never fails in a
 * way that loses what was read before the stop.
 */
enum pkt_stop pkt_parse(
    const uint8_t *buf, size_t len, enum pkt_start start, struct pkt_info *out);

/* A short name for a stop reason, for counters and logs. */
const char *pkt_stop_name(enum pkt_stop);

#endif
