/*
 * decode.c: `fabmond --decode FILE.pcap`. libpcap reads the capture (pcap
 * or pcapng); the link layer is stripped here and the IP/UDP layers by the
 * pure packet parser, then each UDP payload is printed as one line of
 * JSON: sflowtool-style for sFlow, and fabmon's NetFlow/IPFIX format
 * (docs/decode-json.md). Every UDP datagram to `port` (the sFlow port)
 * is taken as sFlow, as before; datagrams to the NetFlow/IPFIX ports
 * (2055, 4739, 9995, 9996), or that look like NetFlow v5/v9 or IPFIX
 * wherever they go (netflow_sniff), are NetFlow; with port 0, every
 * other UDP datagram is sFlow. NetFlow templates and sampling learnt
 * from earlier datagrams decode the later ones, across files too: FILE
 * may be a comma-separated list (when no file has that very name), read
 * in order as one capture, e.g. templates.pcap,data.pcap. Runs in main.
 */
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "netflow.h"
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

/* The usual NetFlow/IPFIX collector ports. */
static bool
netflow_port(int port)
{
	return port == NETFLOW_PORT_NETFLOW || port == NETFLOW_PORT_IPFIX ||
	    port == 9995 || port == 9996;
}

/*
 * Decode one capture file; frames are numbered on from *frame, so that a
 * list of files reads as one (mergecap -a) capture. Returns 0, or 1 if the
 * file cannot be read.
 */
static int
decode_one(const char *path, int port, FILE *out, struct netflow_cache *nc,
    long *frame)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	pcap_t *pc;
	int rc, dlt;

	pc = pcap_open_offline(path, errbuf);
	if (pc == NULL) {
		fprintf(stderr, "fabmond: %s\n", errbuf);
		return 1;
	}
	dlt = pcap_datalink(pc);
	while ((rc = pcap_next_ex(pc, &h, &data)) == 1) {
		struct sflow_json_meta meta;
		struct netflow_json_meta nmeta;
		struct sflow_addr exporter;
		struct pkt_info pi;
		enum pkt_start start;
		const struct pkt_layers *l = &pi.outer;
		const uint8_t *payload;
		char src[64];
		size_t off;
		char *json;
		bool sflow;

		(*frame)++;
		if (link_start(dlt, data, h->caplen, &off, &start) != 0)
			continue;
		pkt_parse(data + off, h->caplen - off, start, &pi);
		if (!l->has_l4 || l->ip_proto != 17 || pi.udp_payload_off == 0)
			continue;
		/* The payload: the UDP length says, the capture may cut. */
		if (l->udp_len >= 8 &&
		    (size_t)l->udp_len - 8 < pi.udp_payload_len)
			pi.udp_payload_len = (size_t)l->udp_len - 8;
		payload = data + off + pi.udp_payload_off;
		if (port != 0 && l->dst_port == port)
			sflow = true;
		else if ((port != 0 && netflow_port(l->dst_port)) ||
		    netflow_sniff(payload, pi.udp_payload_len))
			sflow = false;
		else if (port == 0)
			sflow = true;
		else
			continue;
		if (sflow) {
			addr_fmt(src, sizeof(src), l->ip_version, l->src_ip);
			meta.source_ip = src;
			meta.unix_secs = (uint64_t)h->ts.tv_sec;
			meta.pcap_frame = *frame;
			json = sflow_json_datagram(
			    payload, pi.udp_payload_len, &meta);
		} else {
			memset(&exporter, 0, sizeof(exporter));
			exporter.family = l->ip_version;
			memcpy(
			    exporter.a, l->src_ip, l->ip_version == 4 ? 4 : 16);
			nmeta.exporter = &exporter;
			nmeta.unix_secs = (uint64_t)h->ts.tv_sec;
			nmeta.pcap_frame = *frame;
			json = netflow_json_datagram(
			    nc, payload, pi.udp_payload_len, &nmeta);
		}
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
		    pcap_geterr(pc), *frame);
	}
	pcap_close(pc);
	return 0;
}

int
decode_pcap_file(const char *path, int port, FILE *out)
{
	struct netflow_cache *nc = netflow_cache_new(NULL, 0, 0);
	long frame = 0;
	int rc = 0;
	FILE *f;

	/* A file by that name wins over a list. */
	if (strchr(path, ',') == NULL || (f = fopen(path, "rb")) != NULL) {
		if (strchr(path, ',') != NULL)
			fclose(f);
		rc = decode_one(path, port, out, nc, &frame);
	} else {
		char *list = xstrdup(path), *save = NULL, *p;

		for (p = strtok_r(list, ",", &save); p != NULL && rc == 0;
		     p = strtok_r(NULL, ",", &save))
			rc = decode_one(p, port, out, nc, &frame);
		free(list);
	}
	netflow_cache_free(nc);
	return rc;
}
