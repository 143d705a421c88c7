/*
 * fuzz_packet.c: libFuzzer target for the sampled-header parser. The
 * first byte picks where the packet starts (mod 3: Ethernet, IPv4, IPv6);
 * the rest is the header as an agent would sample it.
 *
 * The parser is handed exactly the bytes after the first, so any read
 * past `len` is a read past the fuzzer's buffer, which ASan reports. The
 * checks below are what packet.h promises about the result.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "packet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint64_t sink;

static void
check_layers(const struct pkt_layers *l, size_t len)
{
	if (memchr(l->stack, '\0', sizeof(l->stack)) == NULL)
		abort(); /* must stay a C string */
	if (l->n_ext > PKT_MAX_EXT)
		abort();
	if (l->ip_version != 0 && l->ip_version != 4 && l->ip_version != 6)
		abort();
	/* The IP header was found inside the bytes. */
	if (l->ip_version != 0 && l->l3_off >= len)
		abort();
	if (l->has_l4 && l->ip_version == 0)
		abort();
	sink += strlen(l->stack) + l->n_vlans + l->ethertype + l->ip_proto +
	    l->ip_tos + l->ip_ttl + l->ip_id + l->ip_len + l->ip_frag_off +
	    l->ip6_flow_label + l->src_port + l->dst_port + l->tcp_flags +
	    l->udp_len + l->icmp_type + l->icmp_code + l->src_ip[15] +
	    l->dst_ip[15] + l->dst_mac[5] + l->src_mac[5];
	for (int i = 0; i < l->n_ext; i++)
		sink += l->ext[i];
	for (int i = 0; i < l->n_vlans && i < PKT_MAX_VLANS; i++)
		sink += l->vlan[i] + l->vlan_pcp[i];
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum pkt_start starts[3] = { PKT_START_ETHERNET,
		PKT_START_IPV4, PKT_START_IPV6 };
	struct pkt_info in;
	const uint8_t *p;
	size_t len;
	enum pkt_stop st;

	if (size < 1)
		return 0;
	p = data + 1;
	len = size - 1;
	st = pkt_parse(p, len, starts[data[0] % 3], &in);
	if (st != in.stop || st > PKT_FRAGMENT)
		abort();
	sink += strlen(pkt_stop_name(st));
	check_layers(&in.outer, len);
	if (in.has_inner) {
		/* One level of VXLAN only, and only behind UDP 4789. */
		if (in.outer.dst_port != 4789 || !in.outer.has_l4)
			abort();
		check_layers(&in.inner, len);
		sink += in.vxlan_vni;
	} else if (in.inner.has_eth || in.inner.stack[0] != '\0') {
		abort();
	}
	if (in.udp_payload_off + in.udp_payload_len > len)
		abort();
	for (size_t i = 0; i < in.udp_payload_len; i++)
		sink += p[in.udp_payload_off + i];
	return 0;
}
