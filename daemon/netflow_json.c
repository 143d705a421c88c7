/*
 * netflow_json.c: NetFlow v5/v9 and IPFIX datagrams as one line of JSON
 * each, for `fabmond --decode` (docs/decode-json.md, NetFlow/IPFIX). PURE:
 * no I/O. In the spirit of sflow_json.c: every value is a JSON string,
 * keys come in decode order, and the datagram keys that sFlow has too
 * (datagramSourceIP, pcapFrame...) keep their sFlow names. Run by main.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jw.h"
#include "netflow.h"
#include "util.h"

/* IPv4 dotted; IPv6 as all 8 groups of 4 hex digits, as sFlow's output. */
static void
jw_kip(struct jw *w, const char *key, const struct sflow_addr *a)
{
	char buf[48];

	if (a->family == 4) {
		snprintf(buf, sizeof(buf), "%u.%u.%u.%u", a->a[0], a->a[1],
		    a->a[2], a->a[3]);
	} else if (a->family == 6) {
		size_t o = 0;

		for (int i = 0; i < 16; i += 2)
			o += (size_t)snprintf(buf + o, sizeof(buf) - o,
			    "%s%02x%02x", i ? ":" : "", a->a[i], a->a[i + 1]);
	} else {
		snprintf(buf, sizeof(buf), "-");
	}
	jw_ks(w, key, buf);
}

/* Raw bytes as UPPERCASE hex joined by '-' (sFlow's headerBytes). */
static void
jw_khex(struct jw *w, const char *key, const uint8_t *p, size_t n)
{
	jw_key(w, key);
	jw_raw(w, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		char hex[4];

		snprintf(hex, sizeof(hex), "%s%02X", i ? "-" : "", p[i]);
		jw_raw(w, hex, strlen(hex));
	}
	jw_raw(w, "\"", 1);
}

/* ---- the datagram ----------------------------------------------------------
 */

/* The first error class counted since `before`, or 0. */
static enum netflow_err
new_error(const struct netflow_msg *m, const uint32_t *before)
{
	for (int i = 1; i < NETFLOW_ERR__MAX; i++)
		if (m->errs[i] != before[i])
			return (enum netflow_err)i;
	return NETFLOW_OK;
}

static const char *
set_type_name(const struct netflow_set *s)
{
	switch (s->kind) {
	case NETFLOW_SET_V5:
		return "V5";
	case NETFLOW_SET_TEMPLATE:
		return "TEMPLATE";
	case NETFLOW_SET_OPTIONS_TEMPLATE:
		return "OPTIONS_TEMPLATE";
	case NETFLOW_SET_DATA:
		return "DATA";
	case NETFLOW_SET_OPTIONS_DATA:
		return "OPTIONS_DATA";
	case NETFLOW_SET_UNKNOWN:
		break;
	}
	return s->status == NETFLOW_ERR_NO_TEMPLATE ? "DATA" : "RESERVED";
}

static void
print_template(
    struct jw *w, const struct netflow_template *t, enum netflow_tmpl_op op)
{
	jw_open(w, NULL, '{');
	jw_ku(w, "templateId", t->id);
	jw_ks(w, "templateStatus", netflow_tmpl_op_name(op));
	jw_ku(w, "fieldCount", t->n_fields);
	if (t->options)
		jw_ku(w, "scopeFieldCount", t->n_scope);
	jw_open(w, "fields", '[');
	for (uint16_t i = 0; i < t->n_fields && i < NETFLOW_FIELDS_MAX; i++) {
		const struct netflow_field *f = &t->f[i];

		jw_open(w, NULL, '{');
		jw_ku(w, "type", f->id);
		if (f->pen != 0)
			jw_ku(w, "enterprise", f->pen);
		jw_ku(w, "length", f->len);
		if (t->options && i < t->n_scope)
			jw_ks(w, "scope", "true");
		jw_close(w, '}');
	}
	jw_close(w, ']');
	jw_close(w, '}');
}

static const char *
opt_scope_name(enum netflow_opt_scope s)
{
	switch (s) {
	case NETFLOW_OPT_EXPORTER:
		return "exporter";
	case NETFLOW_OPT_SAMPLER:
		return "sampler";
	case NETFLOW_OPT_TEMPLATE:
		return "template";
	case NETFLOW_OPT_NONE:
		break;
	}
	return "none";
}

static void
print_options_record(struct jw *w, const struct netflow_rec *r)
{
	jw_ks(w, "recordType", "OPTIONS");
	if (r->have & NETFLOW_HAVE_IN_IF)
		jw_ku(w, "inputPort", r->in_if);
	if (r->have & NETFLOW_HAVE_SAMPLER_ID)
		jw_ku(w, "samplerId", r->sampler_id);
	if (r->opt.algorithm != 0)
		jw_ku(w, "samplingAlgorithm", r->opt.algorithm);
	if (r->opt.scope != NETFLOW_OPT_NONE) {
		jw_ku(w, "samplingRate", r->opt.rate);
		jw_ks(w, "samplingScope", opt_scope_name(r->opt.scope));
		if (r->opt.scope == NETFLOW_OPT_TEMPLATE)
			jw_ku(w, "scopeTemplateId", r->opt.key);
	}
	if (r->opt.has_init_ms)
		jw_kf(w, "systemInitTimeMs", "%" PRId64, r->opt.init_ms);
}

static void
print_flow_record(struct jw *w, const struct netflow_rec *r)
{
	uint32_t h = r->have;
	bool v6 = r->ip_version == 6;

	jw_ks(w, "recordType", "FLOW");
	if (h & NETFLOW_HAVE_SRC_ADDR)
		jw_kip(w, v6 ? "srcIP6" : "srcIP", &r->src);
	if (h & NETFLOW_HAVE_DST_ADDR)
		jw_kip(w, v6 ? "dstIP6" : "dstIP", &r->dst);
	if (h & NETFLOW_HAVE_NEXT_HOP)
		jw_kip(w, "nextHop", &r->next_hop);
	if (h & NETFLOW_HAVE_BGP_NEXT_HOP)
		jw_kip(w, "bgpNextHop", &r->bgp_next_hop);
	if (h & NETFLOW_HAVE_IN_IF)
		jw_ku(w, "inputPort", r->in_if);
	if (h & NETFLOW_HAVE_OUT_IF)
		jw_ku(w, "outputPort", r->out_if);
	if (h & NETFLOW_HAVE_DIRECTION)
		jw_ks(w, "direction",
		    r->direction == 0       ? "ingress"
		        : r->direction == 1 ? "egress"
		                            : "unknown");
	if (h & NETFLOW_HAVE_PACKETS)
		jw_ku(w, "packets", r->packets);
	if (h & NETFLOW_HAVE_BYTES)
		jw_ku(w, "bytes", r->bytes);
	jw_ku(w, "samplingRate", r->sampling_rate);
	jw_ks(w, "samplingSource", netflow_sampling_src_name(r->sampling_src));
	if (h & NETFLOW_HAVE_PACKETS)
		jw_ku(w, "scaledPackets", r->scaled_packets);
	if (h & NETFLOW_HAVE_BYTES)
		jw_ku(w, "scaledBytes", r->scaled_bytes);
	if (h & NETFLOW_HAVE_FIRST)
		jw_kf(w, "firstSwitched", "%" PRId64, r->first_ms);
	if (h & NETFLOW_HAVE_LAST)
		jw_kf(w, "lastSwitched", "%" PRId64, r->last_ms);
	if (h & NETFLOW_HAVE_SRC_PORT)
		jw_ku(w, "srcPort", r->src_port);
	if (h & NETFLOW_HAVE_DST_PORT)
		jw_ku(w, "dstPort", r->dst_port);
	if (h & NETFLOW_HAVE_PROTO)
		jw_ku(w, "IPProtocol", r->proto);
	if (h & NETFLOW_HAVE_TOS)
		jw_ku(w, "IPTOS", r->tos);
	if (h & NETFLOW_HAVE_TCP_FLAGS)
		jw_ku(w, "TCPFlags", r->tcp_flags);
	if (h & NETFLOW_HAVE_ICMP) {
		jw_ku(w, "ICMPType", r->icmp_type);
		jw_ku(w, "ICMPCode", r->icmp_code);
	}
	if (h & NETFLOW_HAVE_TTL)
		jw_ku(w, "IPTTL", r->ttl);
	if (h & NETFLOW_HAVE_AS) {
		jw_ku(w, "srcAS", r->src_as);
		jw_ku(w, "dstAS", r->dst_as);
	}
	if (h & NETFLOW_HAVE_MASKS) {
		jw_ku(w, "srcMask", r->src_mask);
		jw_ku(w, "dstMask", r->dst_mask);
	}
	if (h & NETFLOW_HAVE_SRC_MAC)
		jw_kmac(w, "srcMAC", r->src_mac);
	if (h & NETFLOW_HAVE_DST_MAC)
		jw_kmac(w, "dstMAC", r->dst_mac);
	if (h & NETFLOW_HAVE_VLAN)
		jw_ku(w, "in_vlan", r->vlan);
	if (h & NETFLOW_HAVE_POST_VLAN)
		jw_ku(w, "out_vlan", r->post_vlan);
	if (h & NETFLOW_HAVE_FWD_STATUS)
		jw_ku(w, "forwardingStatus", r->fwd_status);
	if (h & NETFLOW_HAVE_SAMPLER_ID)
		jw_ku(w, "samplerId", r->sampler_id);
	if (h & NETFLOW_HAVE_FRAME) {
		if (r->frame_size > 0)
			jw_ku(w, "sampledPacketSize", r->frame_size);
		jw_ku(w, "headerProtocol", (uint64_t)r->frame_start);
		jw_ku(w, "headerLen", r->frame_len);
		jw_khex(w, "headerBytes", r->frame, r->frame_len);
		if (r->mpls_labels > 0) {
			jw_ku(w, "mplsLabels", r->mpls_labels);
			jw_kf(w, "stack", "eth.mpls%s%s",
			    r->pkt.outer.stack[0] ? "." : "",
			    r->pkt.outer.stack);
		} else if (r->pkt.outer.stack[0] != '\0') {
			jw_ks(w, "stack", r->pkt.outer.stack);
		}
	}
}

static void
print_set(struct jw *w, struct netflow_msg *m, struct netflow_set *s,
    const uint32_t *before, enum netflow_err *first)
{
	enum netflow_err e;

	jw_open(w, NULL, '{');
	if (s->kind != NETFLOW_SET_V5) {
		jw_ku(w, "setId", s->id);
		jw_ku(w, "setLength", (uint64_t)s->len + 4);
	}
	jw_ks(w, "setType", set_type_name(s));
	if (s->kind == NETFLOW_SET_TEMPLATE ||
	    s->kind == NETFLOW_SET_OPTIONS_TEMPLATE) {
		struct netflow_template *t = xmalloc(sizeof(*t));
		enum netflow_tmpl_op op;

		jw_open(w, "templates", '[');
		while (netflow_template_next(s, t, &op) > 0)
			print_template(w, t, op);
		jw_close(w, ']');
		free(t);
	} else if (s->kind == NETFLOW_SET_V5 || s->kind == NETFLOW_SET_DATA ||
	    s->kind == NETFLOW_SET_OPTIONS_DATA) {
		struct netflow_rec r;

		if (s->kind != NETFLOW_SET_V5)
			jw_ku(w, "templateId", s->t.id);
		jw_open(w, "records", '[');
		while (netflow_record_next(s, &r) > 0) {
			jw_open(w, NULL, '{');
			if (r.options)
				print_options_record(w, &r);
			else
				print_flow_record(w, &r);
			jw_close(w, '}');
		}
		jw_close(w, ']');
	}
	e = new_error(m, before);
	if (e != NETFLOW_OK) {
		jw_ks(w, "decodeError", netflow_err_name(e));
		if (*first == NETFLOW_OK)
			*first = e;
	}
	jw_close(w, '}');
}

static void
print_header(struct jw *w, const struct netflow_hdr *h)
{
	switch (h->version) {
	case 5:
		jw_ku(w, "count", h->count);
		jw_ku(w, "sysUpTime", h->uptime_ms);
		jw_ku(w, "exportTime", h->unix_secs);
		jw_ku(w, "exportNSecs", h->unix_nsecs);
		jw_ku(w, "packetSequenceNo", h->seq);
		jw_ku(w, "engineType", h->engine_type);
		jw_ku(w, "engineId", h->engine_id);
		jw_ku(w, "samplingMode", h->sampling >> 14);
		jw_ku(w, "samplingInterval", h->sampling & 0x3fff);
		break;
	case 9:
		jw_ku(w, "count", h->count);
		jw_ku(w, "sysUpTime", h->uptime_ms);
		jw_ku(w, "exportTime", h->unix_secs);
		jw_ku(w, "packetSequenceNo", h->seq);
		jw_ku(w, "sourceId", h->domain);
		break;
	default:
		jw_ku(w, "messageLength", h->length);
		jw_ku(w, "exportTime", h->unix_secs);
		jw_ku(w, "packetSequenceNo", h->seq);
		jw_ku(w, "observationDomainId", h->domain);
		break;
	}
}

char *
netflow_json_datagram(struct netflow_cache *cache, const uint8_t *buf,
    size_t len, const struct netflow_json_meta *meta)
{
	static const struct sflow_addr none;
	const struct sflow_addr *exp =
	    meta->exporter != NULL ? meta->exporter : &none;
	struct jw w = { 0 };
	struct netflow_msg *m = xmalloc(sizeof(*m));
	struct netflow_set *s;
	uint32_t before[NETFLOW_ERR__MAX];
	enum netflow_err e, first = NETFLOW_OK;

	w.depth = -1;
	jw_open(&w, NULL, '{');
	jw_kip(&w, "datagramSourceIP", exp);
	jw_ku(&w, "datagramSize", len);
	jw_ku(&w, "unixSecondsUTC", meta->unix_secs);
	jw_ktime(&w, "localtime", meta->unix_secs);
	if (meta->pcap_frame > 0) {
		jw_ktime(&w, "pcapTimestamp", meta->unix_secs);
		jw_ku(&w, "pcapFrame", (uint64_t)meta->pcap_frame);
	}
	if (len >= 2)
		jw_ku(&w, "datagramVersion", (uint64_t)(buf[0] << 8 | buf[1]));
	e = netflow_open(m, cache, exp, buf, len, meta->unix_secs * 1000);
	if (e != NETFLOW_OK) {
		jw_open(&w, "sets", '[');
		jw_close(&w, ']');
		jw_ks(&w, "decodeError", netflow_err_name(e));
		jw_close(&w, '}');
		jw_raw(&w, "\n", 1);
		free(m);
		return w.buf;
	}
	print_header(&w, &m->h);
	/* An IPFIX message longer than the datagram: counted at open. */
	memset(before, 0, sizeof(before));
	first = new_error(m, before);
	jw_open(&w, "sets", '[');
	for (;;) {
		memcpy(before, m->errs, sizeof(before));
		if ((s = netflow_set_next(m)) == NULL)
			break;
		print_set(&w, m, s, before, &first);
	}
	e = new_error(m, before);
	if (first == NETFLOW_OK)
		first = e;
	jw_close(&w, ']');
	if (first != NETFLOW_OK)
		jw_ks(&w, "decodeError", netflow_err_name(first));
	jw_close(&w, '}');
	jw_raw(&w, "\n", 1);
	free(m);
	return w.buf;
}
