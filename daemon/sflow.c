/*
 * sflow.c: sFlow v5 decoder (sflow.org/sflow_version_5.txt, the host
 * structures, and the drop notification extension). PURE: no I/O, no
 * logging, no allocation. Runs in whichever thread calls it.
 *
 * Each structure is entered through a cursor bounded by its own length, so
 * a lying inner length can never read past its parent. XDR pads opaque
 * data to 4 bytes; the pad is skipped, not checked.
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <string.h>

#include "sflow.h"
#include "util.h"

struct cur {
	const uint8_t *p;
	size_t rem;
	bool bad; /* a read ran past the end */
};

uint32_t
sflow_rd32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	    ((uint32_t)p[2] << 8) | p[3];
}

static uint32_t
get32(struct cur *c)
{
	uint32_t v;

	if (c->rem < 4) {
		c->bad = true;
		c->rem = 0;
		return 0;
	}
	v = sflow_rd32(c->p);
	c->p += 4;
	c->rem -= 4;
	return v;
}

static uint64_t
get64(struct cur *c)
{
	uint64_t hi = get32(c);

	return (hi << 32) | get32(c);
}

/* Take n bytes plus XDR padding; NULL (and bad) if they are not there. */
static const uint8_t *
getn(struct cur *c, size_t n)
{
	size_t padded = (n + 3) & ~(size_t)3;
	const uint8_t *p = c->p;

	if (n > c->rem || padded > c->rem) {
		/* A last opaque without its pad is tolerated. */
		if (n <= c->rem && !c->bad) {
			c->p += c->rem;
			c->rem = 0;
			return p;
		}
		c->bad = true;
		c->rem = 0;
		return NULL;
	}
	c->p += padded;
	c->rem -= padded;
	return p;
}

/* A variable-length opaque/string: u32 length, then the bytes. */
static const uint8_t *
get_opaque(struct cur *c, uint32_t max, uint32_t *lenp)
{
	uint32_t n = get32(c);

	*lenp = 0;
	if (c->bad || n > max || n > c->rem) {
		c->bad = true;
		return NULL;
	}
	*lenp = n;
	return getn(c, n);
}

static void
getmac(struct cur *c, uint8_t mac[6])
{
	/* XDR "opaque mac[6]" takes 8 bytes on the wire. */
	const uint8_t *p = getn(c, 6);

	if (p != NULL)
		memcpy(mac, p, 6);
	else
		memset(mac, 0, 6);
}

/* Returns false for an address type this version does not define. */
static bool
get_addr(struct cur *c, struct sflow_addr *a)
{
	uint32_t type = get32(c);
	const uint8_t *p;

	memset(a, 0, sizeof(*a));
	switch (type) {
	case 0: /* UNKNOWN: no address follows */
		return !c->bad;
	case 1:
		if ((p = getn(c, 4)) == NULL)
			return false;
		a->family = 4;
		memcpy(a->a, p, 4);
		return true;
	case 2:
		if ((p = getn(c, 16)) == NULL)
			return false;
		a->family = 6;
		memcpy(a->a, p, 16);
		return true;
	default:
		c->bad = true;
		return false;
	}
}

static void
count(struct sflow_datagram *dg, enum sflow_err e)
{
	if (dg->errs[e] < UINT32_MAX)
		dg->errs[e]++;
}

const char *
sflow_err_name(enum sflow_err e)
{
	static const char *names[SFLOW_ERR__MAX] = {
		[SFLOW_OK] = "ok",
		[SFLOW_ERR_TRUNCATED] = "truncated",
		[SFLOW_ERR_VERSION] = "bad_version",
		[SFLOW_ERR_ADDRESS] = "bad_address_type",
		[SFLOW_ERR_LENGTH] = "sample_overrun",
		[SFLOW_ERR_COUNT] = "bad_count",
		[SFLOW_ERR_RECORD] = "length_mismatch",
		[SFLOW_ERR_OVERSIZE] = "oversize",
		[SFLOW_ERR_HEADER] = "bad_sampled_header",
	};

	if ((unsigned)e < SFLOW_ERR__MAX && names[e] != NULL)
		return names[e];
	return "unknown";
}

/*
 * Discard reasons, from the sFlow drop-notification extension (the names
 * sflowtool prints). Codes 0-15 follow ICMP unreachable codes; 256 and up
 * are switch and Linux drop reasons.
 */
const char *
sflow_discard_reason_name(uint32_t r)
{
	static const char *low[] = { "net_unreachable", "host_unreachable",
		"protocol_unreachable", "port_unreachable", "frag_needed",
		"src_route_failed", "dst_net_unknown", "dst_host_unknown",
		"src_host_isolated", "dst_net_prohibited",
		"dst_host_prohibited", "dst_net_tos_unreachable",
		"dst_host_tos_unreacheable", "comm_admin_prohibited",
		"host_precedence_violation", "precedence_cutoff" };
	static const char *high[] = { "unknown", "ttl_exceeded", "acl",
		"no_buffer_space", "red", "traffic_shaping", "pkt_too_big",
		"src_mac_is_multicast", "vlan_tag_mismatch",
		"ingress_vlan_filter", "ingress_spanning_tree_filter",
		"port_list_is_empty", "port_loopback_filter", "blackhole_route",
		"non_ip", "uc_dip_over_mc_dmac", "dip_is_loopback_address",
		"sip_is_mc", "sip_is_loopback_address", "ip_header_corrupted",
		"ipv4_sip_is_limited_bc", "ipv6_mc_dip_reserved_scope",
		"ipv6_mc_dip_interface_local_scope", "unresolved_neigh",
		"mc_reverse_path_forwarding", "non_routable_packet",
		"decap_error", "overlay_smac_is_mc", "unknown_l2", "unknown_l3",
		"unknown_l3_exception", "unknown_buffer", "unknown_tunnel",
		"unknown_l4", "sip_is_unspecified", "mlag_port_isolation",
		"blackhole_arp_neigh", "src_mac_is_dmac", "dmac_is_reserved",
		"sip_is_class_e", "mc_dmac_mismatch", "sip_is_dip",
		"dip_is_local_network", "dip_is_link_local",
		"overlay_smac_is_dmac", "egress_vlan_filter",
		"uc_reverse_path_forwarding", "split_horizon", "locked_port",
		"dmac_filter", "blackhole_nexthop", "vxlan_parsing",
		"llc_snap_parsing", "vlan_parsing", "pppoe_ppp_parsing",
		"mpls_parsing", "arp_parsing", "ip_1_parsing", "ip_n_parsing",
		"gre_parsing", "udp_parsing", "tcp_parsing", "ipsec_parsing",
		"sctp_parsing", "dccp_parsing", "gtp_parsing", "esp_parsing",
		"unknown_parsing", "pkt_too_small", "unhandled_proto",
		"ipv6disabled", "invalid_proto", "ip_noproto", "skb_csum",
		"skb_ucopy_fault", "dev_ready", "dev_hdr", "dup_frag",
		"skb_gso_seg", "reverse_path_forwarding", "icmp_parsing",
		"tcp_md5notfound", "tcp_md5unexpected", "tcp_md5failure",
		"tcp_flags", "tcp_zerowindow", "tcp_old_data", "tcp_overwindow",
		"tcp_ofomerge", "tcp_rfc7323_paws", "tcp_invalid_sequence",
		"tcp_reset", "tcp_invalid_syn", "tcp_close", "tcp_fastopen",
		"tcp_old_ack", "tcp_too_old_ack", "tcp_ack_unsent_data",
		"tcp_ofo_queue_prune", "tcp_ofo_drop", "tcp_minttl",
		"ipv6_bad_exthdr", "ipv6_ndisc_frag", "ipv6_ndisc_hop_limit",
		"ipv6_ndisc_bad_code", "ipv6_ndisc_bad_options",
		"ipv6_ndisc_ns_otherhost", "tap_filter", "tap_txfilter",
		"tc_ingress", "tc_egress", "xdp", "cpu_backlog",
		"bpf_cgroup_egress", "xfrm_policy", "socket_filter" };

	if (r < nitems(low))
		return low[r];
	if (r >= 256 && r - 256 < nitems(high))
		return high[r - 256];
	return NULL;
}

enum sflow_err
sflow_datagram_open(struct sflow_datagram *dg, const uint8_t *buf, size_t len)
{
	struct cur c = { buf, len, false };

	memset(dg, 0, sizeof(*dg));
	dg->done = true;
	dg->version = get32(&c);
	if (c.bad) {
		count(dg, SFLOW_ERR_TRUNCATED);
		return SFLOW_ERR_TRUNCATED;
	}
	if (dg->version != 5) {
		count(dg, SFLOW_ERR_VERSION);
		return SFLOW_ERR_VERSION;
	}
	if (c.rem >= 4 && sflow_rd32(c.p) > 2) {
		count(dg, SFLOW_ERR_ADDRESS);
		return SFLOW_ERR_ADDRESS;
	}
	get_addr(&c, &dg->agent);
	dg->sub_agent_id = get32(&c);
	dg->seq = get32(&c);
	dg->uptime_ms = get32(&c);
	dg->n_samples = get32(&c);
	if (c.bad) {
		count(dg, SFLOW_ERR_TRUNCATED);
		return SFLOW_ERR_TRUNCATED;
	}
	dg->p = c.p;
	dg->rem = c.rem;
	dg->done = false;
	return SFLOW_OK;
}

uint32_t
sflow_datagram_errors(const struct sflow_datagram *dg)
{
	uint32_t n = 0;

	for (int i = 1; i < SFLOW_ERR__MAX; i++)
		n += dg->errs[i];
	return n;
}

/* The sample header fields; returns false if the body is too short. */
static bool
sample_header(struct sflow_sample *s, struct cur *c)
{
	uint32_t v;

	switch (s->tag) {
	case SFLOW_SAMPLE_FLOW:
		s->seq = get32(c);
		v = get32(c);
		s->source_type = v >> 24;
		s->source_index = v & 0x00ffffff;
		s->sampling_rate = get32(c);
		s->sample_pool = get32(c);
		s->drops = get32(c);
		v = get32(c);
		s->input.format = v >> 30;
		s->input.value = v & 0x3fffffff;
		v = get32(c);
		s->output.format = v >> 30;
		s->output.value = v & 0x3fffffff;
		break;
	case SFLOW_SAMPLE_FLOW_EXPANDED:
		s->seq = get32(c);
		s->source_type = get32(c);
		s->source_index = get32(c);
		s->sampling_rate = get32(c);
		s->sample_pool = get32(c);
		s->drops = get32(c);
		s->input.format = get32(c);
		s->input.value = get32(c);
		s->output.format = get32(c);
		s->output.value = get32(c);
		break;
	case SFLOW_SAMPLE_COUNTERS:
		s->seq = get32(c);
		v = get32(c);
		s->source_type = v >> 24;
		s->source_index = v & 0x00ffffff;
		break;
	case SFLOW_SAMPLE_COUNTERS_EXPANDED:
		s->seq = get32(c);
		s->source_type = get32(c);
		s->source_index = get32(c);
		break;
	case SFLOW_SAMPLE_DISCARD:
		s->seq = get32(c);
		s->source_type = get32(c);
		s->source_index = get32(c);
		s->drops = get32(c);
		s->input.value = get32(c);
		s->output.value = get32(c);
		s->discard_reason = get32(c);
		/* Its ports are plain ifIndexes (format 0), 0 if unknown. */
		break;
	default:
		return true;
	}
	s->n_records = get32(c);
	return !c->bad;
}

int
sflow_sample_next(struct sflow_datagram *dg, struct sflow_sample *s)
{
	struct cur c = { dg->p, dg->rem, false };
	struct cur body;
	uint32_t tag, len;

	memset(s, 0, sizeof(*s));
	if (dg->done)
		return 0;
	if (dg->samples_read >= dg->n_samples || c.rem == 0) {
		/*
		 * Fewer samples than declared is an error; bytes left after
		 * the declared samples are ignored, as sflowtool and
		 * Wireshark do.
		 */
		if (dg->samples_read < dg->n_samples)
			count(dg, SFLOW_ERR_COUNT);
		dg->done = true;
		return 0;
	}
	tag = get32(&c);
	len = get32(&c);
	if (c.bad) {
		count(dg, SFLOW_ERR_TRUNCATED);
		dg->done = true;
		return 0;
	}
	if (len > c.rem) {
		/* Without a trustworthy length there is no next sample. */
		count(dg, SFLOW_ERR_LENGTH);
		dg->done = true;
		return 0;
	}
	body.p = c.p;
	body.rem = len;
	body.bad = false;
	dg->p = c.p + len;
	dg->rem = c.rem - len;
	dg->samples_read++;

	s->tag = tag;
	s->len = len;
	s->dg = dg;
	s->known = tag == SFLOW_SAMPLE_FLOW || tag == SFLOW_SAMPLE_COUNTERS ||
	    tag == SFLOW_SAMPLE_FLOW_EXPANDED ||
	    tag == SFLOW_SAMPLE_COUNTERS_EXPANDED ||
	    tag == SFLOW_SAMPLE_DISCARD;
	if (!s->known) {
		s->done = true;
		return 1;
	}
	if (!sample_header(s, &body)) {
		count(dg, SFLOW_ERR_LENGTH);
		s->known = false;
		s->done = true;
		return 1;
	}
	s->p = body.p;
	s->rem = body.rem;
	return 1;
}

/*
 * Zero a record before it is filled. Most of it is u.hdr.pkt, which
 * pkt_parse() zeroes itself: for a sampled header (keep_pkt) it is left
 * to decode_header(), which zeroes it when it does not parse. The record
 * comes out the same as with one memset; one per record cost 2.5 % of the
 * ingest thread.
 */
static void
record_clear(struct sflow_record *r, bool keep_pkt)
{
	const size_t at = offsetof(struct sflow_record, u.hdr.pkt);
	const size_t end = at + sizeof(r->u.hdr.pkt);

	if (!keep_pkt) {
		memset(r, 0, sizeof(*r));
		return;
	}
	memset(r, 0, at);
	memset((uint8_t *)r + end, 0, sizeof(*r) - end);
}

static bool
decode_header(struct sflow_record *r, struct cur *c, struct sflow_datagram *dg)
{
	enum pkt_start start;

	r->u.hdr.protocol = get32(c);
	r->u.hdr.frame_length = get32(c);
	r->u.hdr.stripped = get32(c);
	r->u.hdr.header = get_opaque(c, 65535, &r->u.hdr.header_len);
	switch (c->bad ? 0 : r->u.hdr.protocol) {
	case 1:
		start = PKT_START_ETHERNET;
		break;
	case 11:
		start = PKT_START_IPV4;
		break;
	case 12:
		start = PKT_START_IPV6;
		break;
	default:
		/* bad, or a header we do not parse: raw bytes only */
		memset(&r->u.hdr.pkt, 0, sizeof(r->u.hdr.pkt));
		return !c->bad;
	}
	pkt_parse(r->u.hdr.header, r->u.hdr.header_len, start, &r->u.hdr.pkt);
	r->u.hdr.parsed = true;
	/*
	 * A header cut short by the agent is normal; only an impossible one
	 * is an error worth counting.
	 */
	if (r->u.hdr.pkt.stop == PKT_BAD_HEADER)
		count(dg, SFLOW_ERR_HEADER);
	return true;
}

static bool
decode_gateway(struct sflow_record *r, struct cur *c)
{
	const uint8_t *start;
	uint32_t i;

	if (!get_addr(c, &r->u.gw.next_hop))
		return false;
	r->u.gw.as = get32(c);
	r->u.gw.src_as = get32(c);
	r->u.gw.src_peer_as = get32(c);
	r->u.gw.n_segments = get32(c);
	start = c->p;
	/* Each segment takes 8 bytes at least: bound the loop by bytes. */
	if (c->bad || r->u.gw.n_segments > c->rem / 8)
		return false;
	for (i = 0; i < r->u.gw.n_segments; i++) {
		uint32_t n;
		const uint8_t *as;

		get32(c); /* type */
		n = get32(c);
		if (c->bad || n > c->rem / 4)
			return false;
		as = getn(c, (size_t)n * 4);
		if (as == NULL)
			return false;
		if (n > 0) {
			if (r->u.gw.dst_peer_as == 0 && i == 0)
				r->u.gw.dst_peer_as = sflow_rd32(as);
			r->u.gw.dst_as = sflow_rd32(as + (n - 1) * 4);
		}
	}
	r->u.gw.segments = start;
	r->u.gw.segments_len = (uint32_t)(c->p - start);
	r->u.gw.n_communities = get32(c);
	if (c->bad || r->u.gw.n_communities > c->rem / 4)
		return false;
	r->u.gw.communities = getn(c, (size_t)r->u.gw.n_communities * 4);
	r->u.gw.localpref = get32(c);
	return !c->bad;
}

int
sflow_as_segment_next(
    const struct sflow_record *r, uint32_t *off, struct sflow_as_segment *seg)
{
	const uint8_t *p = r->u.gw.segments + *off;
	uint32_t rem = r->u.gw.segments_len - *off;

	if (r->tag != SFLOW_FLOW_EXT_GATEWAY || !r->decoded || rem < 8)
		return 0;
	seg->type = sflow_rd32(p);
	seg->n = sflow_rd32(p + 4);
	/* Already validated by decode_gateway, checked again for safety. */
	if (seg->n > (rem - 8) / 4)
		return 0;
	seg->as = p + 8;
	*off += 8 + seg->n * 4;
	return 1;
}

/* Fixed-layout counter records: the table drives decoding and printing. */
#define U32(n)                                                                 \
	{                                                                      \
		n, SFLOW_F_U32                                                 \
	}
#define U64(n)                                                                 \
	{                                                                      \
		n, SFLOW_F_U64                                                 \
	}
#define FLT(n)                                                                 \
	{                                                                      \
		n, SFLOW_F_FLOAT                                               \
	}
#define PCT(n)                                                                 \
	{                                                                      \
		n, SFLOW_F_PERCENT                                             \
	}

const struct sflow_field sflow_generic_fields[SFLOW_GEN__N] = {
	[SFLOW_GEN_IFINDEX] = U32("ifIndex"),
	[SFLOW_GEN_NETWORK_TYPE] = U32("networkType"),
	[SFLOW_GEN_SPEED] = U64("ifSpeed"),
	[SFLOW_GEN_DIRECTION] = U32("ifDirection"),
	[SFLOW_GEN_STATUS] = U32("ifStatus"),
	[SFLOW_GEN_IN_OCTETS] = U64("ifInOctets"),
	[SFLOW_GEN_IN_UCAST] = U32("ifInUcastPkts"),
	[SFLOW_GEN_IN_MCAST] = U32("ifInMulticastPkts"),
	[SFLOW_GEN_IN_BCAST] = U32("ifInBroadcastPkts"),
	[SFLOW_GEN_IN_DISCARDS] = U32("ifInDiscards"),
	[SFLOW_GEN_IN_ERRORS] = U32("ifInErrors"),
	[SFLOW_GEN_IN_UNKNOWN] = U32("ifInUnknownProtos"),
	[SFLOW_GEN_OUT_OCTETS] = U64("ifOutOctets"),
	[SFLOW_GEN_OUT_UCAST] = U32("ifOutUcastPkts"),
	[SFLOW_GEN_OUT_MCAST] = U32("ifOutMulticastPkts"),
	[SFLOW_GEN_OUT_BCAST] = U32("ifOutBroadcastPkts"),
	[SFLOW_GEN_OUT_DISCARDS] = U32("ifOutDiscards"),
	[SFLOW_GEN_OUT_ERRORS] = U32("ifOutErrors"),
	[SFLOW_GEN_PROMISC] = U32("ifPromiscuousMode"),
};
static const struct sflow_field f_ethernet[] = {
	U32("dot3StatsAlignmentErrors"), U32("dot3StatsFCSErrors"),
	U32("dot3StatsSingleCollisionFrames"),
	U32("dot3StatsMultipleCollisionFrames"), U32("dot3StatsSQETestErrors"),
	U32("dot3StatsDeferredTransmissions"), U32("dot3StatsLateCollisions"),
	U32("dot3StatsExcessiveCollisions"),
	U32("dot3StatsInternalMacTransmitErrors"),
	U32("dot3StatsCarrierSenseErrors"), U32("dot3StatsFrameTooLongs"),
	U32("dot3StatsInternalMacReceiveErrors"), U32("dot3StatsSymbolErrors")
};
static const struct sflow_field f_vlan[] = { U32("in_vlan"), U64("octets"),
	U32("ucastPkts"), U32("multicastPkts"), U32("broadcastPkts"),
	U32("discards") };
static const struct sflow_field f_processor[] = { PCT("5s_cpu"), PCT("1m_cpu"),
	PCT("5m_cpu"), U64("total_memory_bytes"), U64("free_memory_bytes") };
static const struct sflow_field f_openflow[] = {
	{ "openflow_datapath_id", SFLOW_F_HEX64 }, U32("openflow_port")
};
static const struct sflow_field f_ovs_dp[] = { U32("OVS_dp_hits"),
	U32("OVS_dp_misses"), U32("OVS_dp_lost"), U32("OVS_dp_mask_hits"),
	U32("OVS_dp_flows"), U32("OVS_dp_masks") };
static const struct sflow_field f_host_parent[] = { U32("parent_dsClass"),
	U32("parent_dsIndex") };
static const struct sflow_field f_host_cpu[] = { FLT("cpu_load_one"),
	FLT("cpu_load_five"), FLT("cpu_load_fifteen"), U32("cpu_proc_run"),
	U32("cpu_proc_total"), U32("cpu_num"), U32("cpu_speed"),
	U32("cpu_uptime"), U32("cpu_user"), U32("cpu_nice"), U32("cpu_system"),
	U32("cpu_idle"), U32("cpu_wio"), U32("cpuintr"), U32("cpu_sintr"),
	U32("cpuinterrupts"), U32("cpu_contexts"), U32("cpu_steal"),
	U32("cpu_guest"), U32("cpu_guest_nice") };
static const struct sflow_field f_host_mem[] = { U64("mem_total"),
	U64("mem_free"), U64("mem_shared"), U64("mem_buffers"),
	U64("mem_cached"), U64("swap_total"), U64("swap_free"), U32("page_in"),
	U32("page_out"), U32("swap_in"), U32("swap_out") };
static const struct sflow_field f_host_disk[] = { U64("disk_total"),
	U64("disk_free"), PCT("disk_partition_max_used"), U32("disk_reads"),
	U64("disk_bytes_read"), U32("disk_read_time"), U32("disk_writes"),
	U64("disk_bytes_written"), U32("disk_write_time") };
static const struct sflow_field f_host_net[] = { U64("nio_bytes_in"),
	U32("nio_pkts_in"), U32("nio_errs_in"), U32("nio_drops_in"),
	U64("nio_bytes_out"), U32("nio_pkts_out"), U32("nio_errs_out"),
	U32("nio_drops_out") };
static const struct sflow_field f_mib2_ip[] = { U32("ipForwarding"),
	U32("ipDefaultTTL"), U32("ipInReceives"), U32("ipInHdrErrors"),
	U32("ipInAddrErrors"), U32("ipForwDatagrams"), U32("ipInUnknownProtos"),
	U32("ipInDiscards"), U32("ipInDelivers"), U32("ipOutRequests"),
	U32("ipOutDiscards"), U32("ipOutNoRoutes"), U32("ipReasmTimeout"),
	U32("ipReasmReqds"), U32("ipReasmOKs"), U32("ipReasmFails"),
	U32("ipFragOKs"), U32("ipFragFails"), U32("ipFragCreates") };
static const struct sflow_field f_mib2_icmp[] = { U32("icmpInMsgs"),
	U32("icmpInErrors"), U32("icmpInDestUnreachs"), U32("icmpInTimeExcds"),
	U32("icmpInParamProbs"), U32("icmpInSrcQuenchs"),
	U32("icmpInRedirects"), U32("icmpInEchos"), U32("icmpInEchoReps"),
	U32("icmpInTimestamps"), U32("icmpInAddrMasks"),
	U32("icmpInAddrMaskReps"), U32("icmpOutMsgs"), U32("icmpOutErrors"),
	U32("icmpOutDestUnreachs"), U32("icmpOutTimeExcds"),
	U32("icmpOutParamProbs"), U32("icmpOutSrcQuenchs"),
	U32("icmpOutRedirects"), U32("icmpOutEchos"), U32("icmpOutEchoReps"),
	U32("icmpOutTimestamps"), U32("icmpOutTimestampReps"),
	U32("icmpOutAddrMasks"), U32("icmpOutAddrMaskReps") };
static const struct sflow_field f_mib2_tcp[] = { U32("tcpRtoAlgorithm"),
	U32("tcpRtoMin"), U32("tcpRtoMax"), U32("tcpMaxConn"),
	U32("tcpActiveOpens"), U32("tcpPassiveOpens"), U32("tcpAttemptFails"),
	U32("tcpEstabResets"), U32("tcpCurrEstab"), U32("tcpInSegs"),
	U32("tcpOutSegs"), U32("tcpRetransSegs"), U32("tcpInErrs"),
	U32("tcpOutRsts"), U32("tcpInCsumErrors") };
static const struct sflow_field f_mib2_udp[] = { U32("udpInDatagrams"),
	U32("udpNoPorts"), U32("udpInErrors"), U32("udpOutDatagrams"),
	U32("udpRcvbufErrors"), U32("udpSndbufErrors"),
	U32("udpInCsumErrors") };

struct table_def {
	uint32_t tag;
	const struct sflow_field *fields;
	uint32_t n;
	uint32_t min; /* fields that must be present; the rest are optional */
};

#define TABLE(tag, f, min)                                                     \
	{                                                                      \
		tag, f, nitems(f), min                                         \
	}
static const struct table_def tables[] = {
	TABLE(SFLOW_CTR_GENERIC, sflow_generic_fields,
	    nitems(sflow_generic_fields)),
	TABLE(SFLOW_CTR_ETHERNET, f_ethernet, nitems(f_ethernet)),
	TABLE(SFLOW_CTR_VLAN, f_vlan, nitems(f_vlan)),
	TABLE(SFLOW_CTR_PROCESSOR, f_processor, nitems(f_processor)),
	TABLE(SFLOW_CTR_OPENFLOW_PORT, f_openflow, nitems(f_openflow)),
	TABLE(SFLOW_CTR_OVS_DP, f_ovs_dp, nitems(f_ovs_dp)),
	TABLE(SFLOW_CTR_HOST_PARENT, f_host_parent, nitems(f_host_parent)),
	/* cpu_steal/guest/guest_nice were added later: optional. */
	TABLE(SFLOW_CTR_HOST_CPU, f_host_cpu, 17),
	TABLE(SFLOW_CTR_HOST_MEMORY, f_host_mem, nitems(f_host_mem)),
	TABLE(SFLOW_CTR_HOST_DISK, f_host_disk, nitems(f_host_disk)),
	TABLE(SFLOW_CTR_HOST_NETIO, f_host_net, nitems(f_host_net)),
	TABLE(SFLOW_CTR_MIB2_IP, f_mib2_ip, nitems(f_mib2_ip)),
	TABLE(SFLOW_CTR_MIB2_ICMP, f_mib2_icmp, nitems(f_mib2_icmp)),
	TABLE(SFLOW_CTR_MIB2_TCP, f_mib2_tcp, nitems(f_mib2_tcp)),
	TABLE(SFLOW_CTR_MIB2_UDP, f_mib2_udp, 4),
};

static int
decode_table(struct sflow_record *r, struct cur *c)
{
	const struct table_def *t = NULL;

	for (size_t i = 0; i < nitems(tables); i++)
		if (tables[i].tag == r->tag)
			t = &tables[i];
	if (t == NULL)
		return -1; /* not a table record */
	r->u.table.fields = t->fields;
	r->u.table.n = 0;
	for (uint32_t i = 0; i < t->n; i++) {
		bool wide = t->fields[i].type == SFLOW_F_U64 ||
		    t->fields[i].type == SFLOW_F_HEX64;
		size_t need = wide ? 8 : 4;

		if (c->rem < need) {
			if (i < t->min)
				return 0;
			break;
		}
		r->u.table.v[i] = wide ? get64(c) : get32(c);
		r->u.table.n = i + 1;
	}
	return 1;
}

static bool
decode_counter(struct sflow_record *r, struct cur *c)
{
	int t = decode_table(r, c);
	const uint8_t *p;

	if (t >= 0)
		return t == 1;
	switch (r->tag) {
	case SFLOW_CTR_PORTNAME:
		r->u.str.str = get_opaque(c, 255, &r->u.str.len);
		return !c->bad;
	case SFLOW_CTR_HOST_DESCR:
		r->u.hostdescr.hostname =
		    get_opaque(c, 64, &r->u.hostdescr.hostname_len);
		p = getn(c, 16);
		if (p != NULL)
			memcpy(r->u.hostdescr.uuid, p, 16);
		r->u.hostdescr.machine_type = get32(c);
		r->u.hostdescr.os_name = get32(c);
		r->u.hostdescr.os_release =
		    get_opaque(c, 32, &r->u.hostdescr.os_release_len);
		return !c->bad;
	case SFLOW_CTR_HOST_ADAPTERS: {
		const uint8_t *start;

		r->u.adapters.n_adapters = get32(c);
		start = c->p;
		if (c->bad || r->u.adapters.n_adapters > c->rem / 8)
			return false;
		for (uint32_t i = 0; i < r->u.adapters.n_adapters; i++) {
			uint32_t nmac;

			get32(c); /* ifIndex */
			nmac = get32(c);
			if (c->bad || nmac > c->rem / 8)
				return false;
			getn(c, (size_t)nmac * 8);
		}
		r->u.adapters.list = start;
		r->u.adapters.list_len = (uint32_t)(c->p - start);
		return !c->bad;
	}
	default:
		r->decoded = false;
		return true; /* unknown: skipped by length */
	}
}

static bool
decode_flow(struct sflow_record *r, struct cur *c, struct sflow_datagram *dg)
{
	const uint8_t *p;

	switch (r->tag) {
	case SFLOW_FLOW_HEADER:
		return decode_header(r, c, dg);
	case SFLOW_FLOW_ETHERNET:
		r->u.eth.length = get32(c);
		getmac(c, r->u.eth.src_mac);
		getmac(c, r->u.eth.dst_mac);
		r->u.eth.type = get32(c);
		return !c->bad;
	case SFLOW_FLOW_IPV4:
	case SFLOW_FLOW_IPV6: {
		size_t alen = r->tag == SFLOW_FLOW_IPV4 ? 4 : 16;

		r->u.ip.length = get32(c);
		r->u.ip.protocol = get32(c);
		if ((p = getn(c, alen)) != NULL) {
			r->u.ip.src.family = alen == 4 ? 4 : 6;
			memcpy(r->u.ip.src.a, p, alen);
		}
		if ((p = getn(c, alen)) != NULL) {
			r->u.ip.dst.family = alen == 4 ? 4 : 6;
			memcpy(r->u.ip.dst.a, p, alen);
		}
		r->u.ip.src_port = get32(c);
		r->u.ip.dst_port = get32(c);
		r->u.ip.tcp_flags = get32(c);
		r->u.ip.tos = get32(c);
		return !c->bad;
	}
	case SFLOW_FLOW_EXT_SWITCH:
		r->u.sw.src_vlan = get32(c);
		r->u.sw.src_priority = get32(c);
		r->u.sw.dst_vlan = get32(c);
		r->u.sw.dst_priority = get32(c);
		return !c->bad;
	case SFLOW_FLOW_EXT_ROUTER:
		if (!get_addr(c, &r->u.rtr.next_hop))
			return false;
		r->u.rtr.src_mask = get32(c);
		r->u.rtr.dst_mask = get32(c);
		return !c->bad;
	case SFLOW_FLOW_EXT_GATEWAY:
		return decode_gateway(r, c);
	case SFLOW_FLOW_EGRESS_QUEUE:
	case SFLOW_FLOW_TRANSIT_DELAY:
	case SFLOW_FLOW_QUEUE_DEPTH:
		r->u.u32 = get32(c);
		return !c->bad;
	case SFLOW_FLOW_FUNCTION:
	case SFLOW_FLOW_LINUX_REASON:
		r->u.str.str = get_opaque(c, 255, &r->u.str.len);
		return !c->bad;
	case SFLOW_FLOW_HW_TRAP:
		r->u.str.str = get_opaque(c, 255, &r->u.str.len);
		r->u.str.str2 = get_opaque(c, 255, &r->u.str.len2);
		return !c->bad;
	default:
		r->decoded = false;
		return true;
	}
}

int
sflow_record_next(struct sflow_sample *s, struct sflow_record *r)
{
	struct cur c = { s->p, s->rem, false };
	struct cur body;
	uint32_t tag, len;
	bool counter;

	if (s->done || !s->known)
		goto end;
	if (s->records_read >= s->n_records || c.rem == 0) {
		if (s->records_read < s->n_records)
			count(s->dg, SFLOW_ERR_COUNT);
		s->done = true;
		goto end;
	}
	tag = get32(&c);
	len = get32(&c);
	if (c.bad) {
		count(s->dg, SFLOW_ERR_TRUNCATED);
		s->done = true;
		goto end;
	}
	if (len > c.rem) {
		count(s->dg, SFLOW_ERR_LENGTH);
		s->done = true;
		goto end;
	}
	body.p = c.p;
	body.rem = len;
	body.bad = false;
	s->p = c.p + len;
	s->rem = c.rem - len;
	s->records_read++;

	counter = s->tag == SFLOW_SAMPLE_COUNTERS ||
	    s->tag == SFLOW_SAMPLE_COUNTERS_EXPANDED;
	record_clear(r, !counter && tag == SFLOW_FLOW_HEADER);
	r->tag = tag;
	r->data = body.p;
	r->len = len;
	r->counter = counter;
	r->decoded = true;
	if (!(r->counter ? decode_counter(r, &body)
	                 : decode_flow(r, &body, s->dg))) {
		/* Known, but its content does not fit its length. */
		count(s->dg, SFLOW_ERR_RECORD);
		r->decoded = false;
	}
	return 1;
end:
	memset(r, 0, sizeof(*r)); /* callers see a cleared r at the end */
	return 0;
}

int
sflow_addr_parse(const char *s, struct sflow_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, s, out->a) == 1) {
		out->family = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, s, out->a) == 1) {
		out->family = 6;
		return 0;
	}
	memset(out, 0, sizeof(*out));
	return -1;
}

uint32_t
sflow_addr_hash(
    uint64_t k0, uint64_t k1, const struct sflow_addr *a, uint32_t n)
{
	uint8_t buf[21];
	uint32_t h;

	buf[0] = a->family;
	memcpy(buf + 1, a->a, 16);
	buf[17] = (uint8_t)n;
	buf[18] = (uint8_t)(n >> 8);
	buf[19] = (uint8_t)(n >> 16);
	buf[20] = (uint8_t)(n >> 24);
	h = (uint32_t)mumhash(k0, k1, buf, sizeof(buf));
	return h ? h : 1;
}
