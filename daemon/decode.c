/*
 * decode.c: `fabmond --decode FILE.pcap`. libpcap reads the capture (pcap
 * or pcapng); the link layer is stripped here and the IP/UDP layers by the
 * pure packet parser, then each UDP payload is printed as sflowtool-style
 * JSON. Every UDP datagram to `port` (0: any port) is taken as sFlow.
 */
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "packet.h"
#include "sflow_json.h"
#include "util.h"

/* Where the packet starts and which layer it is, per link type. */
static int
link_start(int dlt, const uint8_t *p, size_t caplen, size_t *off,
    enum pkt_start *start)
{
	uint16_t proto;

	switch (dlt) {
	case DLT_EN10MB:
		*off = 0;
		*start = PKT_START_ETHERNET;
		return 0;
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
		if (caplen < 1)
			return -1;
		*off = 0;
		*start = (p[0] >> 4) == 6 ? PKT_START_IPV6 : PKT_START_IPV4;
		return 0;
	case DLT_LINUX_SLL: /* 16-byte cooked header, protocol at 14 */
		if (caplen < 16)
			return -1;
		proto = (uint16_t)((p[14] << 8) | p[15]);
		*off = 16;
		break;
	case DLT_LINUX_SLL2: /* 20-byte cooked header, protocol at 0 */
		if (caplen < 20)
			return -1;
		proto = (uint16_t)((p[0] << 8) | p[1]);
		*off = 20;
		break;
	case DLT_NULL:
	case DLT_LOOP: /* 4-byte address family, either byte order */
		if (caplen < 5)
			return -1;
		*off = 4;
		*start = (p[4] >> 4) == 6 ? PKT_START_IPV6 : PKT_START_IPV4;
		return 0;
	default:
		return -1;
	}
	if (proto == 0x0800)
		*start = PKT_START_IPV4;
	else if (proto == 0x86dd)
		*start = PKT_START_IPV6;
	else
		return -1;
	return 0;
}

int
decode_pcap_file(const char *path, int port, FILE *out)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	pcap_t *pc;
	long frame = 0;
	int rc, dlt;

	pc = pcap_open_offline(path, errbuf);
	if (pc == NULL) {
		fprintf(stderr, "fabmond: %s\n", errbuf);
		return 1;
	}
	dlt = pcap_datalink(pc);
	while ((rc = pcap_next_ex(pc, &h, &data)) == 1) {
		struct sflow_json_meta meta;
		struct pkt_info pi;
		enum pkt_start start;
		const struct pkt_layers *l = &pi.outer;
		char src[64];
		size_t off;
		char *json;

		frame++;
		if (link_start(dlt, data, h->caplen, &off, &start) != 0)
			continue;
		pkt_parse(data + off, h->caplen - off, start, &pi);
		if (!l->has_l4 || l->ip_proto != 17 || pi.udp_payload_off == 0)
			continue;
		if (port != 0 && l->dst_port != port)
			continue;
		/* The payload: the UDP length says, the capture may cut. */
		if (l->udp_len >= 8 &&
		    (size_t)l->udp_len - 8 < pi.udp_payload_len)
			pi.udp_payload_len = (size_t)l->udp_len - 8;
		addr_fmt(src, sizeof(src), l->ip_version, l->src_ip);
		meta.source_ip = src;
		meta.unix_secs = (uint64_t)h->ts.tv_sec;
		meta.pcap_frame = frame;
		json = sflow_json_datagram(
		    data + off + pi.udp_payload_off, pi.udp_payload_len, &meta);
		fputs(json, out);
		fflush(out);
		free(json);
	}
	if (rc == -1) {
		/*
		 * A capture cut short (a killed tcpdump) still holds whole
		 * records before the cut: they were printed. Warn, succeed.
		 */
		fprintf(stderr, "fabmond: %s: %s after %ld frames\n", path,
		    pcap_geterr(pc), frame);
		pcap_close(pc);
		return 0;
	}
	pcap_close(pc);
	return 0;
}
