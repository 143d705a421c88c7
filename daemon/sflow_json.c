/*
 * sflow_json.c: sflowtool-compatible JSON rendering of sFlow datagrams.
 * PURE: no I/O. Every value is a JSON string, keys come in decode order,
 * and prefixes ("discarded_", "inner_") are glued in front of keys, as
 * sflowtool does. Strings from the wire are escaped byte by byte.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sflow.h"
#include "sflow_json.h"
#include "jw.h"
#include "util.h"

static size_t
prefix_push(struct jw *w, const char *p)
{
	size_t old = strlen(w->prefix);

	snprintf(w->prefix + old, sizeof(w->prefix) - old, "%s", p);
	return old;
}

static void
prefix_pop(struct jw *w, size_t old)
{
	w->prefix[old] = '\0';
}

/* ---- value formats (docs/decode-json.md §1) ---- */

static void
fmt_mac(char *buf, const uint8_t *m)
{
	snprintf(buf, 13, "%02x%02x%02x%02x%02x%02x", m[0], m[1], m[2], m[3],
	    m[4], m[5]);
}

/* IPv4 dotted; IPv6 as all 8 groups of 4 hex digits (sflowtool's form). */
static void
fmt_ip(char *buf, size_t len, int family, const uint8_t *a)
{
	if (family == 4) {
		snprintf(buf, len, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
	} else if (family == 6) {
		size_t o = 0;

		for (int i = 0; i < 16; i += 2)
			o += (size_t)snprintf(buf + o, len - o, "%s%02x%02x",
			    i ? ":" : "", a[i], a[i + 1]);
	} else {
		snprintf(buf, len, "-");
	}
}

static void
jw_kip(struct jw *w, const char *key, int family, const uint8_t *a)
{
	char buf[48];

	fmt_ip(buf, sizeof(buf), family, a);
	jw_ks(w, key, buf);
}

static void
jw_ktag(struct jw *w, const char *key, uint32_t tag)
{
	jw_kf(w, key, "%u:%u", tag >> 12, tag & 0xfff);
}

static void
fmt_port(char *buf, size_t len, const struct sflow_if *p)
{
	switch (p->format) {
	case SFLOW_IF_INDEX:
		snprintf(buf, len, "%u", p->value);
		break;
	case SFLOW_IF_DISCARD:
		snprintf(buf, len, "dropCode %u", p->value);
		break;
	case SFLOW_IF_MULTIPLE:
		snprintf(buf, len, "multiple %u", p->value);
		break;
	default:
		snprintf(buf, len, "format==%u %u", p->format, p->value);
		break;
	}
}

static void
jw_discard(struct jw *w, uint32_t code)
{
	const char *name = sflow_discard_reason_name(code);

	jw_ku(w, "discardCode", code);
	jw_ks(w, "discardReason", name ? name : "NotFound");
}

/* ---- sampled header (§6.1) ---- */

static void
print_layers(struct jw *w, const struct pkt_layers *l, uint32_t frame_len,
    uint32_t stripped, bool from_eth, uint32_t hdr_len)
{
	char key[32];

	if (from_eth && l->has_eth) {
		if (hdr_len < 14)
			return;
		jw_kmac(w, "dstMAC", l->dst_mac);
		jw_kmac(w, "srcMAC", l->src_mac);
		for (int i = 0; i < l->n_vlans && i < PKT_MAX_VLANS; i++) {
			if (i == 0) {
				jw_ku(w, "decodedVLAN", l->vlan[0]);
				jw_ku(w, "decodedPriority", l->vlan_pcp[0]);
			} else {
				snprintf(key, sizeof(key), "decodedVLAN.%d", i);
				jw_ku(w, key, l->vlan[i]);
				snprintf(
				    key, sizeof(key), "decodedPriority.%d", i);
				jw_ku(w, key, l->vlan_pcp[i]);
			}
		}
		if (l->has_snap_oui) {
			jw_kf(w, "VSNAP_OUI", "%02X-%02X-%02X", l->snap_oui[0],
			    l->snap_oui[1], l->snap_oui[2]);
			return;
		}
		/* sflowtool stops before the type under 20 bytes in all. */
		if (!l->ethertype_valid || hdr_len < 20)
			return;
		jw_ku(w, "ethernet_type", l->ethertype);
	}
	if (l->ip_version == 0)
		return;
	jw_kf(w, "IPSize", "%" PRId64,
	    (int64_t)frame_len - (int64_t)stripped - (int64_t)l->l3_off);
	if (l->ip_version == 4) {
		jw_ku(w, "ip.tot_len", l->ip_len);
		jw_kip(w, "srcIP", 4, l->src_ip);
		jw_kip(w, "dstIP", 4, l->dst_ip);
		jw_ku(w, "IPProtocol", l->ip_proto);
		jw_ku(w, "IPTOS", l->ip_tos);
		jw_ku(w, "IPTTL", l->ip_ttl);
		jw_ku(w, "IPID", l->ip_id);
		if (l->ip_frag_off > 0) {
			jw_ku(w, "IPFragmentOffset", l->ip_frag_off);
			return;
		}
	} else {
		jw_ku(w, "IPTOS", l->ip_tos);
		jw_kf(w, "IP6_label", "0x%x", l->ip6_flow_label);
		if (l->ip_len == 40) /* payload length 0: a jumbogram */
			jw_ks(w, "IPV6_payloadLen", "<jumbo>");
		else
			jw_ku(w, "IPV6_payloadLen", (uint64_t)l->ip_len - 40);
		jw_ku(w, "IPTTL", l->ip_ttl);
		jw_kip(w, "srcIP6", 6, l->src_ip);
		jw_kip(w, "dstIP6", 6, l->dst_ip);
		for (int i = 0; i < l->n_ext; i++) {
			if (i == 0)
				snprintf(
				    key, sizeof(key), "IP6HeaderExtension");
			else
				snprintf(key, sizeof(key),
				    "IP6HeaderExtension.%d", i);
			jw_ku(w, key, l->ext[i]);
		}
		jw_ku(w, "IPProtocol", l->ip_proto);
	}
	if (!l->has_l4)
		return;
	switch (l->ip_proto) {
	case 1:
	case 58:
		jw_ku(w, "ICMPType", l->icmp_type);
		jw_ku(w, "ICMPCode", l->icmp_code);
		break;
	case 6:
		jw_ku(w, "TCPSrcPort", l->src_port);
		jw_ku(w, "TCPDstPort", l->dst_port);
		if (l->has_tcp_flags)
			jw_ku(w, "TCPFlags", l->tcp_flags);
		break;
	case 17:
		jw_ku(w, "UDPSrcPort", l->src_port);
		jw_ku(w, "UDPDstPort", l->dst_port);
		jw_ku(w, "UDPBytes", l->udp_len);
		break;
	}
}

static void
print_header(struct jw *w, const struct sflow_record *r)
{
	const uint8_t *h = r->u.hdr.header;
	uint32_t n = r->u.hdr.header_len;

	jw_ks(w, "flowSampleType", "HEADER");
	jw_ku(w, "headerProtocol", r->u.hdr.protocol);
	jw_ku(w, "sampledPacketSize", r->u.hdr.frame_length);
	jw_ku(w, "strippedBytes", r->u.hdr.stripped);
	jw_ku(w, "headerLen", n);
	jw_key(w, "headerBytes");
	jw_raw(w, "\"", 1);
	for (uint32_t i = 0; i < n; i++) {
		char hex[4];

		snprintf(hex, sizeof(hex), "%s%02X", i ? "-" : "", h[i]);
		jw_str(w, hex);
	}
	jw_raw(w, "\"", 1);
	if (!r->u.hdr.parsed)
		return;
	print_layers(w, &r->u.hdr.pkt.outer, r->u.hdr.frame_length,
	    r->u.hdr.stripped, r->u.hdr.protocol == 1, n);
	if (r->u.hdr.pkt.has_inner) {
		/* The inner frame starts after the 8-byte VXLAN header. */
		size_t inner_off = r->u.hdr.pkt.udp_payload_off + 8;
		size_t old;

		jw_ku(w, "decodedVNI", r->u.hdr.pkt.vxlan_vni);
		old = prefix_push(w, "inner_");
		print_layers(w, &r->u.hdr.pkt.inner, r->u.hdr.frame_length,
		    r->u.hdr.stripped, true,
		    n > inner_off ? (uint32_t)(n - inner_off) : 0);
		prefix_pop(w, old);
	}
}

static void
print_sampled_ip(struct jw *w, const struct sflow_record *r)
{
	bool v4 = r->tag == SFLOW_FLOW_IPV4;

	jw_ks(w, "flowSampleType", v4 ? "IPV4" : "IPV6");
	jw_ku(w, "sampledPacketSize", r->u.ip.length);
	jw_ku(w, "IPSize", r->u.ip.length);
	jw_kip(w, v4 ? "srcIP" : "srcIP6", r->u.ip.src.family, r->u.ip.src.a);
	jw_kip(w, v4 ? "dstIP" : "dstIP6", r->u.ip.dst.family, r->u.ip.dst.a);
	jw_ku(w, "IPProtocol", r->u.ip.protocol);
	jw_ku(w, v4 ? "IPTOS" : "priority", r->u.ip.tos);
	switch (r->u.ip.protocol) {
	case 1:
		jw_ku(w, "ICMPType", r->u.ip.dst_port);
		break;
	case 6:
		jw_ku(w, "TCPSrcPort", r->u.ip.src_port);
		jw_ku(w, "TCPDstPort", r->u.ip.dst_port);
		jw_ku(w, "TCPFlags", r->u.ip.tcp_flags);
		break;
	case 17:
		jw_ku(w, "UDPSrcPort", r->u.ip.src_port);
		jw_ku(w, "UDPDstPort", r->u.ip.dst_port);
		break;
	}
}

static void
print_gateway(struct jw *w, const struct sflow_record *r)
{
	struct sflow_as_segment seg;
	uint32_t off = 0;
	struct jw path = { 0 };

	jw_ks(w, "extendedType", "GATEWAY");
	jw_kip(w, "bgp_nexthop", r->u.gw.next_hop.family, r->u.gw.next_hop.a);
	jw_ku(w, "my_as", r->u.gw.as);
	jw_ku(w, "src_as", r->u.gw.src_as);
	jw_ku(w, "src_peer_as", r->u.gw.src_peer_as);
	jw_raw(&path, "", 0);
	while (sflow_as_segment_next(r, &off, &seg) > 0) {
		if (seg.n == 0)
			continue;
		if (path.len > 0)
			jw_raw(&path, "-", 1);
		if (seg.type == 1)
			jw_raw(&path, "(", 1);
		for (uint32_t i = 0; i < seg.n; i++) {
			char num[16];

			snprintf(num, sizeof(num), "%s%u", i ? "-" : "",
			    sflow_rd32(seg.as + i * 4));
			jw_str(&path, num);
		}
		if (seg.type == 1)
			jw_raw(&path, ")", 1);
	}
	if (path.len > 0)
		jw_ks(w, "dst_as_path", path.buf);
	free(path.buf);
	jw_ku(w, "dst_as", r->u.gw.dst_as);
	jw_ku(w, "dst_peer_as", r->u.gw.dst_peer_as);
	if (r->u.gw.n_communities > 0) {
		struct jw com = { 0 };

		for (uint32_t i = 0; i < r->u.gw.n_communities; i++) {
			char num[16];

			snprintf(num, sizeof(num), "%s%u", i ? "-" : "",
			    sflow_rd32(r->u.gw.communities + i * 4));
			jw_str(&com, num);
		}
		jw_ks(w, "BGP_communities", com.buf);
		free(com.buf);
	}
	jw_ku(w, "BGP_localpref", r->u.gw.localpref);
}

static void
print_flow_record(struct jw *w, const struct sflow_record *r)
{
	switch (r->tag) {
	case SFLOW_FLOW_HEADER:
		print_header(w, r);
		break;
	case SFLOW_FLOW_ETHERNET:
		jw_ks(w, "flowSampleType", "ETHERNET");
		jw_ku(w, "ethernet_type", r->u.eth.type);
		jw_ku(w, "ethernet_len", r->u.eth.length);
		jw_kmac(w, "ethernet_src", r->u.eth.src_mac);
		jw_kmac(w, "ethernet_dst", r->u.eth.dst_mac);
		break;
	case SFLOW_FLOW_IPV4:
	case SFLOW_FLOW_IPV6:
		print_sampled_ip(w, r);
		break;
	case SFLOW_FLOW_EXT_SWITCH:
		jw_ks(w, "extendedType", "SWITCH");
		jw_ku(w, "in_vlan", r->u.sw.src_vlan);
		jw_ku(w, "in_priority", r->u.sw.src_priority);
		jw_ku(w, "out_vlan", r->u.sw.dst_vlan);
		jw_ku(w, "out_priority", r->u.sw.dst_priority);
		break;
	case SFLOW_FLOW_EXT_ROUTER:
		jw_ks(w, "extendedType", "ROUTER");
		jw_kip(w, "nextHop", r->u.rtr.next_hop.family,
		    r->u.rtr.next_hop.a);
		jw_ku(w, "srcSubnetMask", r->u.rtr.src_mask);
		jw_ku(w, "dstSubnetMask", r->u.rtr.dst_mask);
		break;
	case SFLOW_FLOW_EXT_GATEWAY:
		print_gateway(w, r);
		break;
	case SFLOW_FLOW_EGRESS_QUEUE:
		jw_ks(w, "extendedType", "egress_queue");
		jw_ku(w, "egress_queue_id", r->u.u32);
		break;
	case SFLOW_FLOW_FUNCTION:
		jw_ks(w, "extendedType", "function");
		if (r->u.str.len > 0)
			jw_kbytes(w, "symbol", r->u.str.str, r->u.str.len);
		break;
	case SFLOW_FLOW_TRANSIT_DELAY:
		jw_ks(w, "extendedType", "transit_delay");
		jw_ku(w, "transit_delay_nS", r->u.u32);
		break;
	case SFLOW_FLOW_QUEUE_DEPTH:
		jw_ks(w, "extendedType", "queue_depth");
		jw_ku(w, "queue_depth_bytes", r->u.u32);
		break;
	case SFLOW_FLOW_HW_TRAP:
		jw_ks(w, "extendedType", "hw_trap");
		if (r->u.str.len > 0)
			jw_kbytes(
			    w, "hw_trap_group", r->u.str.str, r->u.str.len);
		if (r->u.str.len2 > 0)
			jw_kbytes(
			    w, "hw_trap_name", r->u.str.str2, r->u.str.len2);
		break;
	case SFLOW_FLOW_LINUX_REASON:
		jw_ks(w, "extendedType", "linux_reason");
		if (r->u.str.len > 0)
			jw_kbytes(
			    w, "linux_drop_reason", r->u.str.str, r->u.str.len);
		break;
	}
}

static void
print_table(struct jw *w, const struct sflow_record *r)
{
	for (uint32_t i = 0; i < r->u.table.n; i++) {
		const struct sflow_field *f = &r->u.table.fields[i];
		uint64_t v = r->u.table.v[i];

		switch (f->type) {
		case SFLOW_F_U32:
		case SFLOW_F_U64:
			jw_ku(w, f->name, v);
			break;
		case SFLOW_F_HEX64:
			jw_kf(w, f->name, "%016" PRIx64, v);
			break;
		case SFLOW_F_FLOAT: {
			uint32_t bits = (uint32_t)v;
			float fl;

			memcpy(&fl, &bits, sizeof(fl));
			jw_kf(w, f->name, "%.3f", (double)fl);
			break;
		}
		case SFLOW_F_PERCENT:
			if ((uint32_t)v == UINT32_MAX)
				jw_ks(w, f->name, "unknown");
			else
				jw_kf(w, f->name, "%.2f", (double)v / 100.0);
			break;
		}
	}
}

static void
print_counter_record(struct jw *w, const struct sflow_record *r)
{
	switch (r->tag) {
	case SFLOW_CTR_PORTNAME:
		if (r->u.str.len > 0)
			jw_kbytes(w, "ifName", r->u.str.str, r->u.str.len);
		return;
	case SFLOW_CTR_HOST_DESCR: {
		const uint8_t *u = r->u.hostdescr.uuid;

		if (r->u.hostdescr.hostname_len > 0)
			jw_kbytes(w, "hostname", r->u.hostdescr.hostname,
			    r->u.hostdescr.hostname_len);
		jw_kf(w, "UUID",
		    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		    "%02x%02x%02x%02x%02x%02x",
		    u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9],
		    u[10], u[11], u[12], u[13], u[14], u[15]);
		jw_ku(w, "machine_type", r->u.hostdescr.machine_type);
		jw_ku(w, "os_name", r->u.hostdescr.os_name);
		if (r->u.hostdescr.os_release_len > 0)
			jw_kbytes(w, "os_release", r->u.hostdescr.os_release,
			    r->u.hostdescr.os_release_len);
		return;
	}
	case SFLOW_CTR_HOST_ADAPTERS: {
		const uint8_t *p = r->u.adapters.list;

		jw_open(w, "adaptor_list", '[');
		/* The list was bounds-checked by the decoder. */
		for (uint32_t i = 0; i < r->u.adapters.n_adapters; i++) {
			uint32_t ifindex = sflow_rd32(p);
			uint32_t nmac = sflow_rd32(p + 4);

			p += 8;
			jw_open(w, NULL, '{');
			jw_ku(w, "ifIndex", ifindex);
			jw_ku(w, "MACs", nmac);
			jw_open(w, "mac_list", '[');
			for (uint32_t m = 0; m < nmac; m++, p += 8) {
				char mac[13];

				fmt_mac(mac, p);
				jw_sep(w);
				jw_raw(w, "\"", 1);
				jw_str(w, mac);
				jw_raw(w, "\"", 1);
			}
			jw_close(w, ']');
			jw_close(w, '}');
		}
		jw_close(w, ']');
		return;
	}
	default:
		print_table(w, r);
		return;
	}
}

static const char *
sample_type_name(uint32_t tag)
{
	switch (tag) {
	case SFLOW_SAMPLE_FLOW:
	case SFLOW_SAMPLE_FLOW_EXPANDED:
		return "FLOWSAMPLE";
	case SFLOW_SAMPLE_COUNTERS:
	case SFLOW_SAMPLE_COUNTERS_EXPANDED:
		return "COUNTERSSAMPLE";
	case SFLOW_SAMPLE_DISCARD:
		return "DISCARD";
	}
	return NULL;
}

/* The first error class counted since `before`, or 0. */
static enum sflow_err
new_error(const struct sflow_datagram *dg, const uint32_t *before)
{
	for (int i = 1; i < SFLOW_ERR__MAX; i++)
		if (dg->errs[i] != before[i])
			return (enum sflow_err)i;
	return SFLOW_OK;
}

static void
print_sample(struct jw *w, struct sflow_datagram *dg, struct sflow_sample *s,
    enum sflow_err *first_err)
{
	struct sflow_record r;
	uint32_t before[SFLOW_ERR__MAX];
	enum sflow_err e;
	char port[48];
	size_t old = 0;
	bool discard = s->tag == SFLOW_SAMPLE_DISCARD;
	bool flow =
	    s->tag == SFLOW_SAMPLE_FLOW || s->tag == SFLOW_SAMPLE_FLOW_EXPANDED;

	jw_open(w, NULL, '{');
	jw_ktag(w, "sampleType_tag", s->tag);
	if (!s->known) {
		/* A standard sample too short for its own header. */
		if (sample_type_name(s->tag) != NULL && *first_err == 0)
			*first_err = SFLOW_ERR_LENGTH;
		if (sample_type_name(s->tag) != NULL)
			jw_ks(
			    w, "decodeError", sflow_err_name(SFLOW_ERR_LENGTH));
		jw_close(w, '}');
		return;
	}
	jw_ks(w, "sampleType", sample_type_name(s->tag));
	jw_ku(w, "sampleSequenceNo", s->seq);
	jw_kf(w, "sourceId", "%u:%u", s->source_type, s->source_index);
	if (flow) {
		jw_ku(w, "meanSkipCount", s->sampling_rate);
		jw_ku(w, "samplePool", s->sample_pool);
	}
	if (flow || discard) {
		jw_ku(w, "dropEvents", s->drops);
		fmt_port(port, sizeof(port), &s->input);
		jw_ks(w, "inputPort", port);
		fmt_port(port, sizeof(port), &s->output);
		jw_ks(w, "outputPort", port);
	}
	if (discard)
		jw_discard(w, s->discard_reason);
	else if (flow && s->output.format == SFLOW_IF_DISCARD)
		jw_discard(w, s->output.value);
	else if (flow && s->input.format == SFLOW_IF_DISCARD)
		jw_discard(w, s->input.value);
	jw_open(w, "elements", '[');
	if (discard)
		old = prefix_push(w, "discarded_");
	for (;;) {
		int more;

		memcpy(before, dg->errs, sizeof(before));
		more = sflow_record_next(s, &r);
		e = new_error(dg, before);
		if (more <= 0)
			break;
		jw_open(w, NULL, '{');
		jw_ktag(
		    w, r.counter ? "counterBlock_tag" : "flowBlock_tag", r.tag);
		if (r.decoded) {
			if (r.counter)
				print_counter_record(w, &r);
			else
				print_flow_record(w, &r);
		}
		if (e != SFLOW_OK) {
			/* e.g. a sampled header we could not parse fully */
			jw_ks(w, "decodeError", sflow_err_name(e));
			if (*first_err == 0)
				*first_err = e;
		}
		jw_close(w, '}');
	}
	if (discard)
		prefix_pop(w, old);
	jw_close(w, ']');
	if (e != SFLOW_OK) {
		jw_ks(w, "decodeError", sflow_err_name(e));
		if (*first_err == 0)
			*first_err = e;
	}
	jw_close(w, '}');
}

char *
sflow_json_datagram(
    const uint8_t *buf, size_t len, const struct sflow_json_meta *m)
{
	struct jw w = { 0 };
	struct sflow_datagram dg;
	struct sflow_sample s;
	uint32_t before[SFLOW_ERR__MAX];
	enum sflow_err e, first_err = SFLOW_OK;

	w.depth = -1;
	jw_open(&w, NULL, '{');
	jw_ks(&w, "datagramSourceIP", m->source_ip ? m->source_ip : "-");
	jw_ku(&w, "datagramSize", len);
	jw_ku(&w, "unixSecondsUTC", m->unix_secs);
	jw_ktime(&w, "localtime", m->unix_secs);
	if (m->pcap_frame > 0) {
		jw_ktime(&w, "pcapTimestamp", m->unix_secs);
		jw_ku(&w, "pcapFrame", (uint64_t)m->pcap_frame);
	}
	e = sflow_datagram_open(&dg, buf, len);
	if (e == SFLOW_OK || e == SFLOW_ERR_ADDRESS) {
		jw_ku(&w, "datagramVersion", dg.version);
	} else if (len >= 4) {
		jw_ku(&w, "datagramVersion", sflow_rd32(buf));
	}
	if (e != SFLOW_OK) {
		jw_open(&w, "samples", '[');
		jw_close(&w, ']');
		jw_ks(&w, "decodeError", sflow_err_name(e));
		jw_close(&w, '}');
		jw_raw(&w, "\n", 1);
		return w.buf;
	}
	jw_ku(&w, "agentSubId", dg.sub_agent_id);
	jw_kip(&w, "agent", dg.agent.family, dg.agent.a);
	jw_ku(&w, "packetSequenceNo", dg.seq);
	jw_ku(&w, "sysUpTime", dg.uptime_ms);
	jw_ku(&w, "samplesInPacket", dg.n_samples);
	jw_open(&w, "samples", '[');
	for (;;) {
		memcpy(before, dg.errs, sizeof(before));
		if (sflow_sample_next(&dg, &s) <= 0)
			break;
		print_sample(&w, &dg, &s, &first_err);
	}
	e = new_error(&dg, before);
	if (first_err == SFLOW_OK)
		first_err = e;
	jw_close(&w, ']');
	if (first_err != SFLOW_OK)
		jw_ks(&w, "decodeError", sflow_err_name(first_err));
	jw_close(&w, '}');
	jw_raw(&w, "\n", 1);
	return w.buf;
}
