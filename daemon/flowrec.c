/*
 * flowrec.c: flow records from sFlow samples, and sFlow-RT's flow keys
 * and key functions evaluated on them (see flowrec.h for the formats).
 * PURE: no I/O, no logging. Run by the ingest thread (records) and by
 * whichever thread compiles a flow definition (keys).
 */
#include <assert.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "flowrec.h"
#include "util.h"

/* ---- records ----------------------------------------------------------- */

void
flowrec_stack_cat(char *dst, size_t dstlen, const char *add)
{
	size_t have = strlen(dst), n = strlen(add);

	if (n == 0 || have + (have ? 1 : 0) + n + 1 > dstlen)
		return;
	if (have)
		dst[have++] = '.';
	memcpy(dst + have, add, n + 1);
}

/* Copy what the keys need from a parsed header layer. */
void
flowrec_layer_from_pkt(struct flowrec_layer *l, const struct pkt_layers *p)
{
	memset(l, 0, sizeof(*l));
	if (p->has_eth) {
		l->have |= FLOWREC_ETH;
		memcpy(l->src_mac, p->src_mac, 6);
		memcpy(l->dst_mac, p->dst_mac, 6);
	}
	if (p->ethertype_valid) {
		l->have |= FLOWREC_ETHTYPE;
		l->ethertype = p->ethertype;
	}
	if (p->n_vlans > 0) {
		l->have |= FLOWREC_VLAN;
		l->vlan = p->vlan[0];
		l->pcp = p->vlan_pcp[0];
	}
	if (p->ip_version == 4 || p->ip_version == 6) {
		/* The parser sets the version only once the fixed header
		 * (addresses, TTL, class) was all there. */
		l->have |= (p->ip_version == 4 ? FLOWREC_IP4 : FLOWREC_IP6) |
		    FLOWREC_TTL;
		memcpy(l->src_ip, p->src_ip, 16);
		memcpy(l->dst_ip, p->dst_ip, 16);
		l->ip_proto = p->ip_proto;
		l->ip_tos = p->ip_tos;
		l->ip_ttl = p->ip_ttl;
	}
	if (p->has_l4) {
		switch (p->ip_proto) {
		case 6:
			l->have |= FLOWREC_PORTS;
			if (p->has_tcp_flags) {
				l->have |= FLOWREC_TCPFLAGS;
				l->tcp_flags = p->tcp_flags;
			}
			break;
		case 17:
			l->have |= FLOWREC_PORTS;
			break;
		case 1:
		case 58:
			l->have |= FLOWREC_ICMP;
			l->icmp_type = p->icmp_type;
			l->icmp_code = p->icmp_code;
			break;
		}
		l->src_port = p->src_port;
		l->dst_port = p->dst_port;
	}
	memcpy(l->stack, p->stack, sizeof(l->stack));
	l->stack[sizeof(l->stack) - 1] = '\0';
}

/*
 * Without a sampled header, the outer layer comes from the sampled
 * Ethernet and IPv4/IPv6 records (sFlow v5 §5.2), as far as they go: they
 * carry no TTL and no ICMP fields. Each record is folded in as it comes
 * (the record cursor reuses its struct), the stack written at the end.
 */
static void
rlayer_eth(struct flowrec_layer *l, const struct sflow_record *r)
{
	if (l->have & FLOWREC_ETH)
		return;
	l->have |= FLOWREC_ETH;
	memcpy(l->src_mac, r->u.eth.src_mac, 6);
	memcpy(l->dst_mac, r->u.eth.dst_mac, 6);
	if (r->u.eth.type <= 0xffff && r->u.eth.type > 1500) {
		l->have |= FLOWREC_ETHTYPE;
		l->ethertype = (uint16_t)r->u.eth.type;
	}
}

static void
rlayer_ip(struct flowrec_layer *l, const struct sflow_record *r)
{
	if (l->have & (FLOWREC_IP4 | FLOWREC_IP6))
		return;
	if (r->tag == SFLOW_FLOW_IPV4) {
		l->have |= FLOWREC_IP4;
		memcpy(l->src_ip, r->u.ip.src.a, 4);
		memcpy(l->dst_ip, r->u.ip.dst.a, 4);
	} else {
		l->have |= FLOWREC_IP6;
		memcpy(l->src_ip, r->u.ip.src.a, 16);
		memcpy(l->dst_ip, r->u.ip.dst.a, 16);
	}
	l->ip_proto = (uint8_t)r->u.ip.protocol;
	l->ip_tos = (uint8_t)r->u.ip.tos;
	if (r->u.ip.protocol == 6)
		l->have |= FLOWREC_PORTS | FLOWREC_TCPFLAGS;
	else if (r->u.ip.protocol == 17)
		l->have |= FLOWREC_PORTS;
	l->tcp_flags = (uint8_t)r->u.ip.tcp_flags;
	l->src_port = (uint16_t)r->u.ip.src_port;
	l->dst_port = (uint16_t)r->u.ip.dst_port;
}

static void
rlayer_stack(struct flowrec_layer *l)
{
	l->stack[0] = '\0';
	if (l->have & FLOWREC_ETH)
		flowrec_stack_cat(l->stack, sizeof(l->stack), "eth");
	if (!(l->have & (FLOWREC_IP4 | FLOWREC_IP6)))
		return;
	flowrec_stack_cat(
	    l->stack, sizeof(l->stack), (l->have & FLOWREC_IP4) ? "ip" : "ip6");
	switch (l->ip_proto) {
	case 6:
		flowrec_stack_cat(l->stack, sizeof(l->stack), "tcp");
		break;
	case 17:
		flowrec_stack_cat(l->stack, sizeof(l->stack), "udp");
		break;
	case 1:
		flowrec_stack_cat(l->stack, sizeof(l->stack), "icmp");
		break;
	case 58:
		flowrec_stack_cat(l->stack, sizeof(l->stack), "icmp6");
		break;
	}
}

/*
 * Some agents report the captured length as frame_length (uacctd: the
 * NFLOG snap length, 128), so that bytes come out as if every packet
 * were 128 bytes long. Where the sampled IP header says the packet was
 * longer than that, believe the IP header: its offset plus the IP total
 * length, plus the 4-byte FCS after an Ethernet header, as sFlow counts.
 */
static uint32_t
frame_len_fix(uint32_t frame_length, const struct pkt_layers *p)
{
	uint64_t from_ip;

	if (p->ip_version == 0 || p->ip_len == 0)
		return frame_length;
	from_ip = (uint64_t)p->l3_off + p->ip_len + (p->has_eth ? 4 : 0);
	return from_ip > frame_length && from_ip <= 65535 + 64
	    ? (uint32_t)from_ip
	    : frame_length;
}

/* flowrec_from_sample() clears all of a record but l and stack. */
_Static_assert(offsetof(struct flow_rec, stack) ==
            offsetof(struct flow_rec, l) + sizeof(((struct flow_rec *)0)->l) &&
        offsetof(struct flow_rec, has_switch) ==
            offsetof(struct flow_rec, stack) +
                sizeof(((struct flow_rec *)0)->stack),
    "l, then stack, then has_switch");

int
flowrec_from_sample(struct flow_rec *rec, const struct sflow_datagram *dg,
    struct sflow_sample *s)
{
	struct sflow_record r;
	struct flowrec_layer rl; /* from the sampled Ethernet/IP records */
	uint32_t eth_len = 0, ip_len = 0;

	/*
	 * All but the layers and the stack (416 bytes a sample need not
	 * clear): a layer is written whole before n_layers counts it, and
	 * what reads l[0] regardless reads its have bits first. rl is
	 * cleared once a record needs it: headers are the common case.
	 */
	memset(rec, 0, offsetof(struct flow_rec, l));
	memset(&rec->has_switch, 0,
	    sizeof(*rec) - offsetof(struct flow_rec, has_switch));
	rec->l[0].have = rec->l[1].have = 0;
	rec->stack[0] = '\0';
	rl.have = 0;
	if (!s->known ||
	    (s->tag != SFLOW_SAMPLE_FLOW &&
	        s->tag != SFLOW_SAMPLE_FLOW_EXPANDED &&
	        s->tag != SFLOW_SAMPLE_DISCARD))
		return -1;
	rec->agent = dg->agent;
	rec->sample_tag = s->tag;
	rec->source_type = s->source_type;
	rec->source_index = s->source_index;
	rec->sampling_rate = s->sampling_rate;
	rec->sample_pool = s->sample_pool;
	rec->drops = s->drops;
	rec->input = s->input;
	rec->output = s->output;
	if (s->tag == SFLOW_SAMPLE_DISCARD) {
		rec->dropped = true;
		rec->sampling_rate = 1;
		rec->discard_ifindex = s->output.value;
		rec->output.format = SFLOW_IF_DISCARD;
		rec->output.value = s->discard_reason;
	}
	if (rec->output.format == SFLOW_IF_DISCARD)
		rec->discard_reason = rec->output.value;

	while (sflow_record_next(s, &r) > 0) {
		if (!r.decoded)
			continue;
		switch (r.tag) {
		case SFLOW_FLOW_HEADER:
			/* The first parsed header wins; agents send one. */
			if (rec->has_header || !r.u.hdr.parsed)
				break;
			rec->has_header = true;
			rec->header_protocol = r.u.hdr.protocol;
			rec->frame_length = r.u.hdr.frame_length;
			rec->stripped = r.u.hdr.stripped;
			rec->frame_length = frame_len_fix(
			    rec->frame_length, &r.u.hdr.pkt.outer);
			flowrec_layer_from_pkt(&rec->l[0], &r.u.hdr.pkt.outer);
			rec->n_layers = 1;
			if (r.u.hdr.pkt.has_inner) {
				flowrec_layer_from_pkt(
				    &rec->l[1], &r.u.hdr.pkt.inner);
				rec->vxlan_vni = r.u.hdr.pkt.vxlan_vni;
				rec->n_layers = 2;
			}
			break;
		case SFLOW_FLOW_ETHERNET:
			if (rl.have == 0)
				memset(&rl, 0, sizeof(rl));
			if (!(rl.have & FLOWREC_ETH))
				eth_len = r.u.eth.length;
			rlayer_eth(&rl, &r);
			break;
		case SFLOW_FLOW_IPV4:
		case SFLOW_FLOW_IPV6:
			if (rl.have == 0)
				memset(&rl, 0, sizeof(rl));
			if (!(rl.have & (FLOWREC_IP4 | FLOWREC_IP6)))
				ip_len = r.u.ip.length;
			rlayer_ip(&rl, &r);
			break;
		case SFLOW_FLOW_EXT_SWITCH:
			rec->has_switch = true;
			rec->src_vlan = r.u.sw.src_vlan;
			rec->src_priority = r.u.sw.src_priority;
			rec->dst_vlan = r.u.sw.dst_vlan;
			rec->dst_priority = r.u.sw.dst_priority;
			break;
		default:
			break;
		}
	}
	/* Also when the header was too short to give anything. */
	if (rl.have != 0 && (!rec->has_header || rec->l[0].have == 0)) {
		rlayer_stack(&rl);
		rec->l[0] = rl;
		rec->n_layers = 1;
		if (!rec->has_header)
			rec->frame_length =
			    (rl.have & FLOWREC_ETH) ? eth_len : ip_len;
	}
	if (rec->n_layers > 0)
		flowrec_stack_cat(
		    rec->stack, sizeof(rec->stack), rec->l[0].stack);
	if (rec->n_layers > 1)
		flowrec_stack_cat(
		    rec->stack, sizeof(rec->stack), rec->l[1].stack);
	return 0;
}

/* ---- the key registry -------------------------------------------------- */

enum fk {
	K_MACSOURCE,
	K_MACDESTINATION,
	K_ETHERNETPROTOCOL,
	K_VLAN,
	K_PRIORITY,
	K_IPSOURCE,
	K_IPDESTINATION,
	K_IPPROTOCOL,
	K_IPTOS,
	K_IPDSCP,
	K_IPTTL,
	K_IP6SOURCE,
	K_IP6DESTINATION,
	K_IP6NEXTHDR,
	K_IP6TOS,
	K_IP6DSCP,
	K_IP6TTL,
	K_TCPSOURCEPORT,
	K_TCPDESTINATIONPORT,
	K_TCPFLAGS,
	K_UDPSOURCEPORT,
	K_UDPDESTINATIONPORT,
	K_ICMPTYPE,
	K_ICMPCODE,
	K_ICMP6TYPE,
	K_ICMP6CODE,
	K_VNI,
	K_VLANSOURCE,
	K_VLANDESTINATION,
	K_PRIORITYSOURCE,
	K_PRIORITYDESTINATION,
	K_INPUTIFINDEX,
	K_OUTPUTIFINDEX,
	K_DIRECTION,
	K_STACK,
	K_AGENT,
	K_DISCARDREASON,
	/* functions */
	F_OR,
	F_NULL,
	F_MASK,
	F_FIRST,
	F_PREFIX,
	F_SUFFIX,
	F_NODE,
	F_LINK,
};

struct keydef {
	const char *name;
	enum fk id;
	enum flowkey_type type;
	bool layered; /* a packet key: takes the .1 suffix */
};

static const struct keydef keydefs[] = {
	{ "macsource", K_MACSOURCE, FLOWKEY_MAC, true },
	{ "macdestination", K_MACDESTINATION, FLOWKEY_MAC, true },
	{ "ethernetprotocol", K_ETHERNETPROTOCOL, FLOWKEY_NUM, true },
	{ "vlan", K_VLAN, FLOWKEY_NUM, true },
	{ "priority", K_PRIORITY, FLOWKEY_NUM, true },
	{ "ipsource", K_IPSOURCE, FLOWKEY_ADDR, true },
	{ "ipdestination", K_IPDESTINATION, FLOWKEY_ADDR, true },
	{ "ipprotocol", K_IPPROTOCOL, FLOWKEY_NUM, true },
	{ "iptos", K_IPTOS, FLOWKEY_NUM, true },
	{ "ipdscp", K_IPDSCP, FLOWKEY_NUM, true },
	{ "ipttl", K_IPTTL, FLOWKEY_NUM, true },
	{ "ip6source", K_IP6SOURCE, FLOWKEY_ADDR, true },
	{ "ip6destination", K_IP6DESTINATION, FLOWKEY_ADDR, true },
	{ "ip6nexthdr", K_IP6NEXTHDR, FLOWKEY_NUM, true },
	{ "ip6tos", K_IP6TOS, FLOWKEY_NUM, true },
	{ "ip6dscp", K_IP6DSCP, FLOWKEY_NUM, true },
	{ "ip6ttl", K_IP6TTL, FLOWKEY_NUM, true },
	{ "tcpsourceport", K_TCPSOURCEPORT, FLOWKEY_NUM, true },
	{ "tcpdestinationport", K_TCPDESTINATIONPORT, FLOWKEY_NUM, true },
	{ "tcpflags", K_TCPFLAGS, FLOWKEY_STR, true },
	{ "udpsourceport", K_UDPSOURCEPORT, FLOWKEY_NUM, true },
	{ "udpdestinationport", K_UDPDESTINATIONPORT, FLOWKEY_NUM, true },
	{ "icmptype", K_ICMPTYPE, FLOWKEY_NUM, true },
	{ "icmpcode", K_ICMPCODE, FLOWKEY_NUM, true },
	{ "icmp6type", K_ICMP6TYPE, FLOWKEY_NUM, true },
	{ "icmp6code", K_ICMP6CODE, FLOWKEY_NUM, true },
	{ "vni", K_VNI, FLOWKEY_NUM, false },
	{ "vlansource", K_VLANSOURCE, FLOWKEY_NUM, false },
	{ "vlandestination", K_VLANDESTINATION, FLOWKEY_NUM, false },
	{ "prioritysource", K_PRIORITYSOURCE, FLOWKEY_NUM, false },
	{ "prioritydestination", K_PRIORITYDESTINATION, FLOWKEY_NUM, false },
	{ "inputifindex", K_INPUTIFINDEX, FLOWKEY_IFINDEX, false },
	{ "outputifindex", K_OUTPUTIFINDEX, FLOWKEY_IFINDEX, false },
	{ "direction", K_DIRECTION, FLOWKEY_STR, false },
	{ "stack", K_STACK, FLOWKEY_STR, false },
	{ "agent", K_AGENT, FLOWKEY_ADDR, false },
	/* fabmon's: why the packet was dropped, "none" if it was not */
	{ "discardreason", K_DISCARDREASON, FLOWKEY_STR, false },
};

static const struct {
	const char *name;
	enum fk id;
} funcdefs[] = {
	{ "or", F_OR },
	{ "null", F_NULL },
	{ "mask", F_MASK },
	{ "first", F_FIRST },
	{ "prefix", F_PREFIX },
	{ "suffix", F_SUFFIX },
	{ "node", F_NODE },
	{ "link", F_LINK },
};

struct flowkey {
	enum fk id;
	uint8_t layer; /* 0 outer, 1 inner (the .1 suffix) */
	enum flowkey_direct direct;
	enum flowkey_type type;
	bool topo;     /* needs the topology, here or below */
	bool out_port; /* node:/link: of outputifindex */
	unsigned n;    /* mask bits; prefix/suffix pieces */
	struct flowkey **args;
	size_t n_args;
	char **lits; /* literal arguments, NUL-terminated */
	size_t *lit_len;
	size_t n_lits;
	char *text;
};

struct flowkeys {
	struct flowkey **k;
	size_t n;
};

/* ---- parsing ----------------------------------------------------------- */

/* What flowkey_num(), flowkey_ip4() and pack_value() read directly. */
static enum flowkey_direct
direct_kind(enum fk id)
{
	switch (id) {
	case K_ETHERNETPROTOCOL:
	case K_IPPROTOCOL:
	case K_IPTOS:
	case K_IPDSCP:
	case K_IP6NEXTHDR:
	case K_IP6TOS:
	case K_IP6DSCP:
	case K_TCPSOURCEPORT:
	case K_TCPDESTINATIONPORT:
	case K_UDPSOURCEPORT:
	case K_UDPDESTINATIONPORT:
		return FLOWKEY_DIRECT_NUM;
	case K_IPSOURCE:
	case K_IPDESTINATION:
	case K_AGENT:
		return FLOWKEY_DIRECT_IP4;
	case K_MACSOURCE:
	case K_MACDESTINATION:
	case K_INPUTIFINDEX:
	case K_OUTPUTIFINDEX:
		return FLOWKEY_DIRECT_OTHER;
	default:
		return FLOWKEY_DIRECT_NONE;
	}
}

struct kparse {
	const char *s; /* the text; positions are s-relative */
	size_t pos0;   /* 0-based offset of s in the caller's text */
	char *err;
	size_t errlen;
};

/* Report an error at s-relative index i (1-based in the message). */
static void
kerr(struct kparse *p, size_t i, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (p->err == NULL || p->errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errlen, "%s at %zu", msg, p->pos0 + i + 1);
}

static bool
name_is(const char *s, size_t n, const char *name)
{
	return strlen(name) == n && strncasecmp(s, name, n) == 0;
}

static char *
fk_strndup(const char *s, size_t n)
{
	char *d = xmalloc(n + 1);

	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

void
flowkey_free(struct flowkey *k)
{
	if (k == NULL)
		return;
	for (size_t i = 0; i < k->n_args; i++)
		flowkey_free(k->args[i]);
	for (size_t i = 0; i < k->n_lits; i++)
		free(k->lits[i]);
	free(k->args);
	free(k->lits);
	free(k->lit_len);
	free(k->text);
	free(k);
}

static struct flowkey *
parse_plain(struct kparse *p, size_t b, size_t e)
{
	const char *s = p->s + b;
	size_t n = e - b;
	uint8_t layer = 0;
	char q[200];

	if (n > 2 && s[n - 2] == '.' && s[n - 1] == '1') {
		layer = 1;
		n -= 2;
	}
	for (size_t i = 0; i < nitems(keydefs); i++) {
		struct flowkey *k;

		if (!name_is(s, n, keydefs[i].name))
			continue;
		if (layer && !keydefs[i].layered)
			break;
		k = xcalloc(1, sizeof(*k));
		k->id = keydefs[i].id;
		k->type = keydefs[i].type;
		k->layer = layer;
		k->direct = direct_kind(k->id);
		return k;
	}
	kerr(p, b, "unknown key '%s'",
	    str_snippet(q, sizeof(q), p->s + b, e - b));
	return NULL;
}

struct karg {
	size_t b, e;  /* the argument's text, without brackets */
	bool bracket; /* it was [...]: a key */
};

static struct flowkey *parse_key(struct kparse *, size_t, size_t, int);

/* Parse argument i as a key (bracketed or a plain key name). */
static struct flowkey *
arg_key(struct kparse *p, const struct karg *a, int depth)
{
	if (a->bracket)
		return parse_key(p, a->b, a->e, depth + 1);
	if (a->b == a->e) {
		kerr(p, a->b, "missing key");
		return NULL;
	}
	return parse_plain(p, a->b, a->e);
}

/* Argument i as a literal: not bracketed, not empty. */
static bool
arg_lit(struct kparse *p, const struct karg *a, const char *what)
{
	if (a->bracket) {
		kerr(p, a->b - 1, "expected %s, not a key,", what);
		return false;
	}
	if (a->b == a->e) {
		kerr(p, a->b, "missing %s", what);
		return false;
	}
	if (a->e - a->b >= FLOWKEY_VALUE_MAX) {
		kerr(p, a->b, "%s longer than %d characters", what,
		    FLOWKEY_VALUE_MAX - 1);
		return false;
	}
	return true;
}

static void
add_lit(struct flowkey *k, const char *s, size_t n)
{
	k->lits = xrealloc(k->lits, (k->n_lits + 1) * sizeof(*k->lits));
	k->lit_len = xrealloc(k->lit_len, (k->n_lits + 1) * sizeof(size_t));
	k->lits[k->n_lits] = fk_strndup(s, n);
	k->lit_len[k->n_lits] = n;
	k->n_lits++;
}

static void
add_arg(struct flowkey *k, struct flowkey *a)
{
	k->args = xrealloc(k->args, (k->n_args + 1) * sizeof(*k->args));
	k->args[k->n_args++] = a;
	if (a->topo)
		k->topo = true;
}

/* A small unsigned decimal in s[b..e), at most max; -1 if not one. */
static long
small_num(const char *s, size_t b, size_t e, long max)
{
	long v = 0;

	if (b == e)
		return -1;
	for (size_t i = b; i < e; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
		if (v > max)
			return -1;
	}
	return v;
}

/* Check and compile function `id`'s arguments into k. */
static bool
build_func(struct kparse *p, struct flowkey *k, const struct karg *a, size_t na,
    int depth)
{
	struct flowkey *sub;
	const char *fname = funcdefs[0].name;
	size_t min = 1, max = FLOWKEY_ARGS_MAX;
	char q[200];
	long v;

	for (size_t i = 0; i < nitems(funcdefs); i++)
		if (funcdefs[i].id == k->id)
			fname = funcdefs[i].name;
	switch (k->id) {
	case F_NULL:
		max = 2;
		break;
	case F_MASK:
		min = max = 2;
		break;
	case F_FIRST:
		min = 3;
		break;
	case F_PREFIX:
	case F_SUFFIX:
		min = max = 3;
		break;
	case F_NODE:
	case F_LINK:
		min = max = 1;
		break;
	default:
		break;
	}
	if (na < min) {
		kerr(p, a[na - 1].e, "%s: needs %zu argument%s", fname, min,
		    min > 1 ? "s" : "");
		return false;
	}
	if (na > max) {
		kerr(p, a[max].b - (a[max].bracket ? 1 : 0),
		    "%s: takes at most %zu argument%s", fname, max,
		    max > 1 ? "s" : "");
		return false;
	}
	switch (k->id) {
	case F_OR:
		for (size_t i = 0; i < na; i++) {
			if ((sub = arg_key(p, &a[i], depth)) == NULL)
				return false;
			add_arg(k, sub);
		}
		/* Typed if every alternative has the same type. */
		k->type = k->args[0]->type;
		for (size_t i = 1; i < na; i++)
			if (k->args[i]->type != k->type)
				k->type = FLOWKEY_STR;
		return true;
	case F_NULL:
		if ((sub = arg_key(p, &a[0], depth)) == NULL)
			return false;
		add_arg(k, sub);
		if (na == 2) {
			if (!arg_lit(p, &a[1], "a default value"))
				return false;
			add_lit(k, p->s + a[1].b, a[1].e - a[1].b);
		} else {
			add_lit(k, "null", 4);
		}
		k->type = FLOWKEY_STR;
		return true;
	case F_MASK:
		if ((sub = arg_key(p, &a[0], depth)) == NULL)
			return false;
		add_arg(k, sub);
		if (sub->type != FLOWKEY_ADDR) {
			kerr(p, a[0].b, "mask: '%s' is not an address key",
			    str_snippet(
			        q, sizeof(q), p->s + a[0].b, a[0].e - a[0].b));
			return false;
		}
		if (!arg_lit(p, &a[1], "a mask length"))
			return false;
		if ((v = small_num(p->s, a[1].b, a[1].e, 128)) < 0) {
			kerr(p, a[1].b, "bad mask length '%s'",
			    str_snippet(
			        q, sizeof(q), p->s + a[1].b, a[1].e - a[1].b));
			return false;
		}
		k->n = (unsigned)v;
		k->type = FLOWKEY_ADDR;
		return true;
	case F_FIRST:
	case F_PREFIX:
	case F_SUFFIX:
		if ((sub = arg_key(p, &a[0], depth)) == NULL)
			return false;
		add_arg(k, sub);
		if (!arg_lit(p, &a[1], "a separator"))
			return false;
		add_lit(k, p->s + a[1].b, a[1].e - a[1].b);
		if (k->id != F_FIRST) {
			if (!arg_lit(p, &a[2], "a count"))
				return false;
			v = small_num(p->s, a[2].b, a[2].e, FLOWKEY_VALUE_MAX);
			if (v < 1) {
				kerr(p, a[2].b, "bad count '%s'",
				    str_snippet(q, sizeof(q), p->s + a[2].b,
				        a[2].e - a[2].b));
				return false;
			}
			k->n = (unsigned)v;
		} else {
			for (size_t i = 2; i < na; i++) {
				if (!arg_lit(p, &a[i], "a value"))
					return false;
				add_lit(k, p->s + a[i].b, a[i].e - a[i].b);
			}
		}
		k->type = FLOWKEY_STR;
		return true;
	case F_NODE:
	case F_LINK:
		if (!a[0].bracket &&
		    name_is(p->s + a[0].b, a[0].e - a[0].b, "inputifindex")) {
			k->out_port = false;
		} else if (!a[0].bracket &&
		    name_is(p->s + a[0].b, a[0].e - a[0].b, "outputifindex")) {
			k->out_port = true;
		} else {
			kerr(p, a[0].b - (a[0].bracket ? 1 : 0),
			    "%s: needs inputifindex or outputifindex", fname);
			return false;
		}
		k->type = FLOWKEY_STR;
		k->topo = true;
		return true;
	default:
		break;
	}
	assert(0);
	return false;
}

/*
 * Parse the key expression s[b..e): a plain key, or name:arg:arg... where
 * an argument is [key] or text without ':', '[' or ']'.
 */
static struct flowkey *
parse_key(struct kparse *p, size_t b, size_t e, int depth)
{
	const char *s = p->s;
	struct flowkey *k = NULL;
	struct karg *args = NULL;
	size_t i, f, na = 0;
	char q[200];

	if (depth > FLOWKEY_DEPTH_MAX) {
		kerr(p, b, "key functions nested too deep (more than %d)",
		    FLOWKEY_DEPTH_MAX);
		return NULL;
	}
	if (b == e) {
		kerr(p, b, "missing key");
		return NULL;
	}
	for (i = b; i < e && s[i] != ':' && s[i] != '[' && s[i] != ']'; i++)
		;
	if (i < e && s[i] != ':') {
		kerr(p, i, "unexpected '%c'", s[i]);
		return NULL;
	}
	if (i == e)
		return parse_plain(p, b, e);
	if (i == b) {
		kerr(p, b, "missing function name");
		return NULL;
	}
	k = xcalloc(1, sizeof(*k));
	for (f = 0; f < nitems(funcdefs); f++)
		if (name_is(s + b, i - b, funcdefs[f].name))
			break;
	if (f < nitems(funcdefs)) {
		k->id = funcdefs[f].id;
	} else {
		kerr(p, b, "unknown function '%s'",
		    str_snippet(q, sizeof(q), s + b, i - b));
		goto fail;
	}
	args = xcalloc(FLOWKEY_ARGS_MAX, sizeof(*args));
	for (size_t a = i + 1;;) {
		struct karg *g;

		if (na == FLOWKEY_ARGS_MAX) {
			kerr(p, a, "more than %d arguments", FLOWKEY_ARGS_MAX);
			goto fail;
		}
		g = &args[na++];
		if (a < e && s[a] == '[') {
			int d = 0;
			size_t j;

			for (j = a; j < e; j++) {
				if (s[j] == '[')
					d++;
				else if (s[j] == ']' && --d == 0)
					break;
			}
			if (j == e) {
				kerr(p, a, "missing ']' for this '['");
				goto fail;
			}
			g->b = a + 1;
			g->e = j;
			g->bracket = true;
			a = j + 1;
			if (a < e && s[a] != ':') {
				kerr(p, a, "expected ':' after ']'");
				goto fail;
			}
		} else {
			size_t j;

			for (j = a; j < e && s[j] != ':'; j++) {
				if (s[j] == '[' || s[j] == ']') {
					kerr(p, j, "unexpected '%c'", s[j]);
					goto fail;
				}
			}
			g->b = a;
			g->e = j;
			g->bracket = false;
			a = j;
		}
		if (a >= e)
			break;
		a++; /* the ':' */
	}
	if (!build_func(p, k, args, na, depth))
		goto fail;
	free(args);
	return k;
fail:
	free(args);
	flowkey_free(k);
	return NULL;
}

static void
trim(const char *s, size_t *b, size_t *e)
{
	while (*b < *e && isspace((unsigned char)s[*b]))
		(*b)++;
	while (*e > *b && isspace((unsigned char)s[*e - 1]))
		(*e)--;
}

struct flowkey *
flowkey_parse_n(
    const char *expr, size_t len, size_t pos0, char *err, size_t errlen)
{
	struct kparse p = { expr, pos0, err, errlen };
	struct flowkey *k;
	size_t b = 0, e = len;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (len > FLOWKEY_EXPR_MAX) {
		kerr(&p, FLOWKEY_EXPR_MAX, "key longer than %d characters",
		    FLOWKEY_EXPR_MAX);
		return NULL;
	}
	if (memchr(expr, '\0', len) != NULL) {
		kerr(&p, (size_t)((const char *)memchr(expr, '\0', len) - expr),
		    "unexpected NUL");
		return NULL;
	}
	trim(expr, &b, &e);
	if ((k = parse_key(&p, b, e, 0)) == NULL)
		return NULL;
	k->text = fk_strndup(expr + b, e - b);
	return k;
}

struct flowkey *
flowkey_parse(const char *expr, char *err, size_t errlen)
{
	return flowkey_parse_n(expr, strlen(expr), 0, err, errlen);
}

const char *
flowkey_text(const struct flowkey *k)
{
	return k->text != NULL ? k->text : "";
}

enum flowkey_type
flowkey_type(const struct flowkey *k)
{
	return k->type;
}

bool
flowkey_uses_topology(const struct flowkey *k)
{
	return k->topo;
}

enum flowkey_direct
flowkey_direct(const struct flowkey *k)
{
	return k->direct;
}

/* ---- evaluation -------------------------------------------------------- */

/*
 * Formatting is on the hot path (every key of every flow definition, for
 * every sample), so numbers, IPv4 addresses and MACs are formatted by
 * hand rather than with snprintf()/inet_ntop(): 5x faster for a 5-tuple.
 */
static size_t
fmt_u64(char *b, uint64_t v)
{
	char t[20];
	size_t n = 0;

	do {
		t[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (size_t i = 0; i < n; i++)
		b[i] = t[n - 1 - i];
	b[n] = '\0';
	return n;
}

static size_t
fmt_ip4(char *b, const uint8_t *a)
{
	size_t n = 0;

	for (int i = 0; i < 4; i++) {
		unsigned v = a[i];

		if (i > 0)
			b[n++] = '.';
		if (v >= 100) {
			b[n++] = (char)('0' + v / 100);
			v %= 100;
			b[n++] = (char)('0' + v / 10);
		} else if (v >= 10) {
			b[n++] = (char)('0' + v / 10);
		}
		b[n++] = (char)('0' + v % 10);
	}
	b[n] = '\0';
	return n;
}

/* Upper-case hex, as sFlow-RT shows MACs: "020000000001". */
static size_t
fmt_mac(char *b, const uint8_t *m)
{
	static const char hex[] = "0123456789ABCDEF";

	for (int i = 0; i < 6; i++) {
		b[2 * i] = hex[m[i] >> 4];
		b[2 * i + 1] = hex[m[i] & 15];
	}
	b[12] = '\0';
	return 12;
}

size_t
flowkey_format(const struct flowkey_value *v, char *out, size_t outlen)
{
	char tmp[FLOWKEY_VALUE_MAX];
	/* Straight into out when it holds any format (the hot path: key
	 * strings), else into tmp and then cut. */
	char *b = outlen >= FLOWKEY_VALUE_MAX ? out : tmp;
	const char *src = NULL;
	size_t n;

	switch (v->type) {
	case FLOWKEY_STR:
		src = v->str;
		n = v->len;
		break;
	case FLOWKEY_NUM:
		n = fmt_u64(b, v->num);
		break;
	case FLOWKEY_ADDR:
		if (v->addr.family == 4) {
			n = fmt_ip4(b, v->addr.a);
		} else {
			addr_fmt(
			    b, FLOWKEY_VALUE_MAX, v->addr.family, v->addr.a);
			n = strlen(b);
		}
		break;
	case FLOWKEY_MAC:
		n = fmt_mac(b, v->mac);
		break;
	case FLOWKEY_IFINDEX:
		if (v->ifx.format == SFLOW_IF_DISCARD)
			src = "discard";
		else if (v->ifx.format == SFLOW_IF_MULTIPLE)
			src = "multiple";
		else if (v->ifx.value == SFLOW_IF_INTERNAL)
			src = "internal";
		if (src != NULL) {
			n = strlen(src);
			break;
		}
		n = fmt_u64(b, v->ifx.value);
		break;
	default:
		src = "";
		n = 0;
		break;
	}
	if (src == NULL) {
		if (b == out)
			return n; /* NUL-terminated, n < outlen */
		src = tmp;
	}
	if (outlen > 0) {
		size_t c = n < outlen - 1 ? n : outlen - 1;

		memmove(out, src, c);
		out[c] = '\0';
	}
	return n;
}

/* Turn a typed value into its string form, in place. */
static void
to_str(struct flowkey_value *v)
{
	char tmp[FLOWKEY_VALUE_MAX];
	size_t n;

	if (v->type == FLOWKEY_STR)
		return;
	n = flowkey_format(v, tmp, sizeof(tmp));
	if (n >= sizeof(tmp))
		n = sizeof(tmp) - 1;
	memcpy(v->buf, tmp, n + 1);
	v->str = v->buf;
	v->len = n;
	v->type = FLOWKEY_STR;
}

static int
set_num(struct flowkey_value *v, uint64_t n)
{
	v->type = FLOWKEY_NUM;
	v->num = n;
	return 1;
}

static int
set_str(struct flowkey_value *v, const char *s, size_t n)
{
	v->type = FLOWKEY_STR;
	v->str = s;
	v->len = n;
	return 1;
}

static int
set_addr(struct flowkey_value *v, int family, const uint8_t *a)
{
	v->type = FLOWKEY_ADDR;
	memset(&v->addr, 0, sizeof(v->addr));
	v->addr.family = (uint8_t)family;
	memcpy(v->addr.a, a, family == 4 ? 4 : 16);
	return 1;
}

static int
set_mac(struct flowkey_value *v, const uint8_t *m)
{
	v->type = FLOWKEY_MAC;
	memcpy(v->mac, m, 6);
	return 1;
}

static int
set_ifx(struct flowkey_value *v, struct sflow_if ifx)
{
	if (ifx.format > SFLOW_IF_MULTIPLE)
		return 0; /* not an encoding we know how to show */
	v->type = FLOWKEY_IFINDEX;
	v->ifx = ifx;
	return 1;
}

/* The ext-switch VLAN when the header's layer carries no tag. */
static bool
switch_vlan(const struct flow_rec *r, const struct flowrec_layer *L)
{
	return (L == NULL || !(L->have & FLOWREC_VLAN)) && r->has_switch &&
	    r->src_vlan >= 1 && r->src_vlan <= 4095;
}

static int
eval_topo(const struct flowkey *k, const struct flow_rec *r,
    const struct flowrec_ctx *ctx, struct flowkey_value *v)
{
	struct sflow_if ifx = k->out_port ? r->output : r->input;
	const char *node = NULL, *link = NULL, *name;

	if (ifx.format != SFLOW_IF_INDEX || ifx.value == 0 ||
	    ifx.value >= SFLOW_IF_INTERNAL)
		return 0;
	if (ctx == NULL || ctx->lookup == NULL)
		return 0;
	if (!ctx->lookup(ctx->arg, &r->agent, ifx.value, &node, &link))
		return 0;
	name = k->id == F_NODE ? node : link;
	if (name == NULL)
		return 0;
	return set_str(v, name, strnlen(name, FLOWKEY_VALUE_MAX - 1));
}

/* How many pieces s[0..n) has when split at sep (one more than seps). */
static size_t
count_pieces(const char *s, size_t n, const char *sep, size_t seplen)
{
	size_t c = 1;

	for (size_t i = 0; i + seplen <= n;) {
		if (memcmp(s + i, sep, seplen) == 0) {
			c++;
			i += seplen;
		} else {
			i++;
		}
	}
	return c;
}

static int
eval_split(const struct flowkey *k, struct flowkey_value *v)
{
	const char *s = v->str, *sep = k->lits[0];
	size_t n = v->len, seplen = k->lit_len[0];
	size_t i, start = 0, piece = 0, pieces, want;

	if (k->id == F_FIRST) {
		for (i = 0; i <= n; i++) {
			if (i < n &&
			    (i + seplen > n || memcmp(s + i, sep, seplen) != 0))
				continue;
			for (size_t l = 1; l < k->n_lits; l++)
				if (k->lit_len[l] == i - start &&
				    memcmp(s + start, k->lits[l], i - start) ==
				        0)
					return set_str(v, s + start, i - start);
			start = i + seplen;
			i = start - 1;
		}
		return 0;
	}
	pieces = count_pieces(s, n, sep, seplen);
	if (k->n >= pieces)
		return 1; /* all of it */
	want = k->id == F_PREFIX ? k->n : pieces - k->n;
	for (i = 0; i + seplen <= n;) {
		if (memcmp(s + i, sep, seplen) != 0) {
			i++;
			continue;
		}
		if (++piece == want)
			break;
		i += seplen;
	}
	/* s[i..] starts the separator that ends piece number `want`. */
	if (k->id == F_PREFIX)
		return set_str(v, s, i);
	return set_str(v, s + i + seplen, n - i - seplen);
}

static int
eval(const struct flowkey *k, const struct flow_rec *r,
    const struct flowrec_ctx *ctx, struct flowkey_value *v)
{
	const struct flowrec_layer *L =
	    k->layer < r->n_layers ? &r->l[k->layer] : NULL;
	uint16_t have = L != NULL ? L->have : 0;

	switch (k->id) {
	case K_MACSOURCE:
		return (have & FLOWREC_ETH) ? set_mac(v, L->src_mac) : 0;
	case K_MACDESTINATION:
		return (have & FLOWREC_ETH) ? set_mac(v, L->dst_mac) : 0;
	case K_ETHERNETPROTOCOL:
		return (have & FLOWREC_ETHTYPE) ? set_num(v, L->ethertype) : 0;
	case K_VLAN:
		if (have & FLOWREC_VLAN)
			return set_num(v, L->vlan);
		if (k->layer == 0 && switch_vlan(r, L))
			return set_num(v, r->src_vlan);
		return 0;
	case K_PRIORITY:
		if (have & FLOWREC_VLAN)
			return set_num(v, L->pcp);
		if (k->layer == 0 && switch_vlan(r, L) && r->src_priority <= 7)
			return set_num(v, r->src_priority);
		return 0;
	case K_IPSOURCE:
		return (have & FLOWREC_IP4) ? set_addr(v, 4, L->src_ip) : 0;
	case K_IPDESTINATION:
		return (have & FLOWREC_IP4) ? set_addr(v, 4, L->dst_ip) : 0;
	case K_IPPROTOCOL:
		return (have & FLOWREC_IP4) ? set_num(v, L->ip_proto) : 0;
	case K_IPTOS:
		return (have & FLOWREC_IP4) ? set_num(v, L->ip_tos) : 0;
	case K_IPDSCP:
		return (have & FLOWREC_IP4) ? set_num(v, L->ip_tos >> 2) : 0;
	case K_IPTTL:
		return (have & FLOWREC_IP4) && (have & FLOWREC_TTL)
		    ? set_num(v, L->ip_ttl)
		    : 0;
	case K_IP6SOURCE:
		return (have & FLOWREC_IP6) ? set_addr(v, 6, L->src_ip) : 0;
	case K_IP6DESTINATION:
		return (have & FLOWREC_IP6) ? set_addr(v, 6, L->dst_ip) : 0;
	case K_IP6NEXTHDR:
		return (have & FLOWREC_IP6) ? set_num(v, L->ip_proto) : 0;
	case K_IP6TOS:
		return (have & FLOWREC_IP6) ? set_num(v, L->ip_tos) : 0;
	case K_IP6DSCP:
		return (have & FLOWREC_IP6) ? set_num(v, L->ip_tos >> 2) : 0;
	case K_IP6TTL:
		return (have & FLOWREC_IP6) && (have & FLOWREC_TTL)
		    ? set_num(v, L->ip_ttl)
		    : 0;
	case K_TCPSOURCEPORT:
		return (have & FLOWREC_PORTS) && L->ip_proto == 6
		    ? set_num(v, L->src_port)
		    : 0;
	case K_TCPDESTINATIONPORT:
		return (have & FLOWREC_PORTS) && L->ip_proto == 6
		    ? set_num(v, L->dst_port)
		    : 0;
	case K_UDPSOURCEPORT:
		return (have & FLOWREC_PORTS) && L->ip_proto == 17
		    ? set_num(v, L->src_port)
		    : 0;
	case K_UDPDESTINATIONPORT:
		return (have & FLOWREC_PORTS) && L->ip_proto == 17
		    ? set_num(v, L->dst_port)
		    : 0;
	case K_TCPFLAGS:
		if (!(have & FLOWREC_TCPFLAGS))
			return 0;
		/* NS (bit 8) is in byte 12, which is not decoded. */
		v->buf[0] = '0';
		for (int b = 7; b >= 0; b--)
			v->buf[8 - b] = (L->tcp_flags >> b) & 1 ? '1' : '0';
		v->buf[9] = '\0';
		return set_str(v, v->buf, 9);
	case K_ICMPTYPE:
		return (have & FLOWREC_ICMP) && (have & FLOWREC_IP4)
		    ? set_num(v, L->icmp_type)
		    : 0;
	case K_ICMPCODE:
		return (have & FLOWREC_ICMP) && (have & FLOWREC_IP4)
		    ? set_num(v, L->icmp_code)
		    : 0;
	case K_ICMP6TYPE:
		return (have & FLOWREC_ICMP) && (have & FLOWREC_IP6)
		    ? set_num(v, L->icmp_type)
		    : 0;
	case K_ICMP6CODE:
		return (have & FLOWREC_ICMP) && (have & FLOWREC_IP6)
		    ? set_num(v, L->icmp_code)
		    : 0;
	case K_VNI:
		return r->n_layers > 1 ? set_num(v, r->vxlan_vni) : 0;
	case K_VLANSOURCE:
		/* 0xFFFFFFFF and the like: the agent does not know. */
		return r->has_switch && r->src_vlan <= 4095
		    ? set_num(v, r->src_vlan)
		    : 0;
	case K_VLANDESTINATION:
		return r->has_switch && r->dst_vlan <= 4095
		    ? set_num(v, r->dst_vlan)
		    : 0;
	case K_PRIORITYSOURCE:
		return r->has_switch && r->src_priority <= 7
		    ? set_num(v, r->src_priority)
		    : 0;
	case K_PRIORITYDESTINATION:
		return r->has_switch && r->dst_priority <= 7
		    ? set_num(v, r->dst_priority)
		    : 0;
	case K_INPUTIFINDEX:
		return set_ifx(v, r->input);
	case K_OUTPUTIFINDEX:
		return set_ifx(v, r->output);
	case K_DIRECTION:
		if (r->source_type != 0)
			return 0;
		if (r->input.format == SFLOW_IF_INDEX &&
		    r->input.value == r->source_index)
			return set_str(v, "ingress", 7);
		if (r->output.format == SFLOW_IF_INDEX &&
		    r->output.value == r->source_index)
			return set_str(v, "egress", 6);
		return 0;
	case K_STACK:
		return r->stack[0] != '\0'
		    ? set_str(v, r->stack, strlen(r->stack))
		    : 0;
	case K_AGENT:
		return r->agent.family == 4 || r->agent.family == 6
		    ? set_addr(v, r->agent.family, r->agent.a)
		    : 0;
	case K_DISCARDREASON: {
		const char *s = "none";

		if (r->output.format == SFLOW_IF_DISCARD &&
		    (s = sflow_discard_reason_name(r->discard_reason)) ==
		        NULL) {
			int n = snprintf(
			    v->buf, sizeof(v->buf), "%u", r->discard_reason);

			return set_str(v, v->buf, (size_t)n);
		}
		return set_str(v, s, strlen(s));
	}
	case F_OR:
		for (size_t i = 0; i < k->n_args; i++) {
			if (eval(k->args[i], r, ctx, v)) {
				if (k->type == FLOWKEY_STR)
					to_str(v);
				return 1;
			}
		}
		return 0;
	case F_NULL:
		if (eval(k->args[0], r, ctx, v)) {
			to_str(v);
			return 1;
		}
		return set_str(v, k->lits[0], k->lit_len[0]);
	case F_MASK: {
		unsigned bits, width;

		if (!eval(k->args[0], r, ctx, v) || v->type != FLOWKEY_ADDR)
			return 0;
		width = v->addr.family == 4 ? 32 : 128;
		bits = k->n < width ? k->n : width;
		for (unsigned i = 0; i < width / 8; i++) {
			if (bits >= 8 * (i + 1))
				continue;
			if (bits <= 8 * i)
				v->addr.a[i] = 0;
			else
				v->addr.a[i] &=
				    (uint8_t)(0xff << (8 - (bits - 8 * i)));
		}
		return 1;
	}
	case F_FIRST:
	case F_PREFIX:
	case F_SUFFIX:
		if (!eval(k->args[0], r, ctx, v))
			return 0;
		to_str(v);
		return eval_split(k, v);
	case F_NODE:
	case F_LINK:
		return eval_topo(k, r, ctx, v);
	}
	return 0;
}

int
flowkey_value(const struct flowkey *k, const struct flow_rec *r,
    const struct flowrec_ctx *ctx, struct flowkey_value *v)
{
	v->type = k->type;
	v->str = NULL;
	v->len = 0;
	return eval(k, r, ctx, v);
}

/* as eval() has them, case by case */
static inline __attribute__((always_inline)) int
key_num(const struct flowkey *k, const struct flow_rec *r, uint64_t *num)
{
	const struct flowrec_layer *L =
	    k->layer < r->n_layers ? &r->l[k->layer] : NULL;
	uint16_t have = L != NULL ? L->have : 0;
	uint8_t proto = 0;

	switch (k->id) {
	case K_ETHERNETPROTOCOL:
		if (!(have & FLOWREC_ETHTYPE))
			return 0;
		*num = L->ethertype;
		return 1;
	case K_IPPROTOCOL:
	case K_IPTOS:
	case K_IPDSCP:
		if (!(have & FLOWREC_IP4))
			return 0;
		break;
	case K_IP6NEXTHDR:
	case K_IP6TOS:
	case K_IP6DSCP:
		if (!(have & FLOWREC_IP6))
			return 0;
		break;
	case K_TCPSOURCEPORT:
	case K_TCPDESTINATIONPORT:
		proto = 6;
		break;
	case K_UDPSOURCEPORT:
	case K_UDPDESTINATIONPORT:
		proto = 17;
		break;
	default:
		return -1;
	}
	if (proto != 0) {
		if (!(have & FLOWREC_PORTS) || L->ip_proto != proto)
			return 0;
		*num = k->id == K_TCPSOURCEPORT || k->id == K_UDPSOURCEPORT
		    ? L->src_port
		    : L->dst_port;
		return 1;
	}
	switch (k->id) {
	case K_IPPROTOCOL:
	case K_IP6NEXTHDR:
		*num = L->ip_proto;
		return 1;
	case K_IPTOS:
	case K_IP6TOS:
		*num = L->ip_tos;
		return 1;
	default: /* the DSCPs */
		*num = L->ip_tos >> 2;
		return 1;
	}
}

static inline __attribute__((always_inline)) int
key_ip4(const struct flowkey *k, const struct flow_rec *r, uint8_t a[4])
{
	const struct flowrec_layer *L =
	    k->layer < r->n_layers ? &r->l[k->layer] : NULL;

	switch (k->id) {
	case K_IPSOURCE:
	case K_IPDESTINATION:
		if (L == NULL || !(L->have & FLOWREC_IP4))
			return 0;
		memcpy(a, k->id == K_IPSOURCE ? L->src_ip : L->dst_ip, 4);
		return 1;
	case K_AGENT:
		if (r->agent.family == 6)
			return -1;
		if (r->agent.family != 4)
			return 0;
		memcpy(a, r->agent.a, 4);
		return 1;
	default:
		return -1;
	}
}

int
flowkey_num(const struct flowkey *k, const struct flow_rec *r, uint64_t *num)
{
	return key_num(k, r, num);
}

int
flowkey_ip4(const struct flowkey *k, const struct flow_rec *r, uint8_t a[4])
{
	return key_ip4(k, r, a);
}

int
flowkey_eval(const struct flowkey *k, const struct flow_rec *r,
    const struct flowrec_ctx *ctx, char *out, size_t outlen)
{
	struct flowkey_value v;

	if (!flowkey_value(k, r, ctx, &v)) {
		if (outlen > 0)
			snprintf(out, outlen, "null");
		return 0;
	}
	flowkey_format(&v, out, outlen);
	return 1;
}

/* ---- key lists --------------------------------------------------------- */

void
flowkeys_free(struct flowkeys *ks)
{
	if (ks == NULL)
		return;
	for (size_t i = 0; i < ks->n; i++)
		flowkey_free(ks->k[i]);
	free(ks->k);
	free(ks);
}

struct flowkeys *
flowkeys_parse(const char *list, char *err, size_t errlen)
{
	struct kparse p = { list, 0, err, errlen };
	struct flowkeys *ks;
	size_t len = strlen(list), b = 0, e = len;
	int depth = 0;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (len > FLOWKEY_EXPR_MAX) {
		kerr(&p, FLOWKEY_EXPR_MAX, "key list longer than %d characters",
		    FLOWKEY_EXPR_MAX);
		return NULL;
	}
	ks = xcalloc(1, sizeof(*ks));
	trim(list, &b, &e);
	if (b == e)
		return ks; /* no keys: one total for the flow */
	for (size_t i = b, start = b; i <= e; i++) {
		struct flowkey *k;

		if (i < e && list[i] == '[')
			depth++;
		else if (i < e && list[i] == ']')
			depth--;
		if (i < e && (list[i] != ',' || depth > 0))
			continue;
		if (ks->n == FLOWKEYS_MAX) {
			kerr(&p, start, "more than %d keys", FLOWKEYS_MAX);
			goto fail;
		}
		k = flowkey_parse_n(
		    list + start, i - start, start, err, errlen);
		if (k == NULL)
			goto fail;
		ks->k = xrealloc(ks->k, (ks->n + 1) * sizeof(*ks->k));
		ks->k[ks->n++] = k;
		start = i + 1;
	}
	return ks;
fail:
	flowkeys_free(ks);
	return NULL;
}

size_t
flowkeys_count(const struct flowkeys *ks)
{
	return ks->n;
}

const struct flowkey *
flowkeys_get(const struct flowkeys *ks, size_t i)
{
	assert(i < ks->n);
	return ks->k[i];
}

size_t
flowkeys_strmax(const struct flowkeys *ks)
{
	return ks->n == 0 ? 1 : ks->n * FLOWKEY_VALUE_MAX;
}

int
flowkeys_eval(const struct flowkeys *ks, const struct flow_rec *r,
    const struct flowrec_ctx *ctx, char *out, size_t outlen)
{
	size_t o = 0;
	int all = 1;

	if (outlen == 0)
		return -1;
	out[0] = '\0';
	for (size_t i = 0; i < ks->n; i++) {
		struct flowkey_value v;
		size_t n;

		if (i > 0) {
			if (o + 2 > outlen)
				return -1;
			out[o++] = ',';
			out[o] = '\0';
		}
		if (flowkey_value(ks->k[i], r, ctx, &v)) {
			n = flowkey_format(&v, out + o, outlen - o);
		} else {
			all = 0;
			n = (size_t)snprintf(out + o, outlen - o, "null");
		}
		if (o + n + 1 > outlen)
			return -1; /* cut, and NUL-terminated */
		o += n;
	}
	return all;
}

/* ---- the memo ---------------------------------------------------------- */

/* Values shorter than this (most) are copied as a block of this size. */
#define MEMO_SHORT 32

/*
 * The tags of a packed key's values (flowkeys_pack_memo()): each value is
 * its tag and then, for PK_IP4 4 bytes (network order), PK_MAC 6, PK_U16,
 * PK_U32 and PK_U64 2, 4 and 8 (host order: the packed keys never leave
 * the process; a number takes the smallest that holds it), PK_STR a 2-byte
 * length (host order) and the text.
 */
enum {
	PK_IP4 = 1,
	PK_MAC,
	PK_U16,
	PK_U32,
	PK_U64,
	PK_STR,
};
/* The longest packed value: a text's tag, length and text. */
#define PACK_VALUE_MAX (3 + FLOWKEY_VALUE_MAX)

/* One key's packed value for the current record. */
struct memo_val {
	uint64_t gen; /* the record it is for: valid when memo->gen */
	uint8_t *p;   /* the value: s, or in the out of its first use */
	size_t len;   /* 0: the key has no value */
	uint8_t s[PACK_VALUE_MAX];
};

struct flowkey_memo {
	uint64_t gen;
	struct memo_val *v; /* by id */
	char **text;        /* by id: the key's text */
	uint32_t n, cap;
	uint32_t *index; /* id + 1 by the text's hash, 0 empty */
	uint32_t imask;
};

struct flowkey_memo *
flowkey_memo_new(void)
{
	struct flowkey_memo *m = xcalloc(1, sizeof(*m));

	m->gen = 1;
	return m;
}

void
flowkey_memo_clear(struct flowkey_memo *m)
{
	for (uint32_t i = 0; i < m->n; i++)
		free(m->text[i]);
	m->n = 0;
	if (m->index != NULL)
		memset(m->index, 0, ((size_t)m->imask + 1) * sizeof(*m->index));
	m->gen++;
}

void
flowkey_memo_free(struct flowkey_memo *m)
{
	if (m == NULL)
		return;
	flowkey_memo_clear(m);
	free(m->v);
	free(m->text);
	free(m->index);
	free(m);
}

static uint32_t
memo_hash(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

static void
memo_index_put(struct flowkey_memo *m, uint32_t id)
{
	uint32_t j = memo_hash(m->text[id]) & m->imask;

	while (m->index[j] != 0)
		j = (j + 1) & m->imask;
	m->index[j] = id + 1;
}

static uint32_t
memo_id(struct flowkey_memo *m, const char *text)
{
	uint32_t j, id;

	if (m->index != NULL)
		for (j = memo_hash(text) & m->imask; m->index[j] != 0;
		     j = (j + 1) & m->imask)
			if (strcmp(m->text[m->index[j] - 1], text) == 0)
				return m->index[j] - 1;
	if (m->n == m->cap) {
		uint32_t old = m->cap;

		m->cap = m->cap ? 2 * m->cap : 16;
		m->v = xrealloc(m->v, m->cap * sizeof(*m->v));
		m->text = xrealloc(m->text, m->cap * sizeof(*m->text));
		/* gen 0: never the current record */
		memset(m->v + old, 0, (m->cap - old) * sizeof(*m->v));
	}
	id = m->n++;
	m->text[id] = xstrdup(text);
	/* the index at most half full */
	if (m->index == NULL || 2 * (size_t)m->n > (size_t)m->imask + 1) {
		uint32_t size = m->index == NULL ? 32 : 2 * (m->imask + 1);

		free(m->index);
		m->index = xcalloc(size, sizeof(*m->index));
		m->imask = size - 1;
		for (uint32_t i = 0; i < m->n; i++)
			memo_index_put(m, i);
	} else {
		memo_index_put(m, id);
	}
	return id;
}

void
flowkey_memo_bind(
    struct flowkey_memo *m, const struct flowkeys *ks, uint32_t *ids)
{
	for (size_t i = 0; i < ks->n; i++)
		ids[i] = memo_id(m, flowkey_text(ks->k[i]));
	m->gen++; /* m->v may have moved, and the values with it */
}

void
flowkey_memo_next(struct flowkey_memo *m)
{
	m->gen++;
}

static size_t
pack_num(uint8_t *d, uint64_t v)
{
	if (v <= UINT16_MAX) {
		uint16_t x = (uint16_t)v;

		d[0] = PK_U16;
		memcpy(d + 1, &x, 2);
		return 3;
	}
	if (v <= UINT32_MAX) {
		uint32_t x = (uint32_t)v;

		d[0] = PK_U32;
		memcpy(d + 1, &x, 4);
		return 5;
	}
	d[0] = PK_U64;
	memcpy(d + 1, &v, 8);
	return 9;
}

static size_t
pack_ip4(uint8_t *d, const uint8_t *a)
{
	d[0] = PK_IP4;
	memcpy(d + 1, a, 4);
	return 5;
}

static size_t
pack_mac(uint8_t *d, const uint8_t *m)
{
	d[0] = PK_MAC;
	memcpy(d + 1, m, 6);
	return 7;
}

/* s[0 .. n) as fmt_u64() writes v: digits, no leading 0, at most
 * UINT64_MAX. */
static bool
canon_num(const char *s, size_t n, uint64_t *v)
{
	uint64_t x = 0;

	if (n == 0 || n > 20 || (s[0] == '0' && n > 1))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned c = (unsigned)(s[i] - '0');

		if (c > 9 || x > (UINT64_MAX - c) / 10)
			return false;
		x = x * 10 + c;
	}
	*v = x;
	return true;
}

/* s[0 .. n) as fmt_ip4() writes an address. */
static bool
canon_ip4(const char *s, size_t n, uint8_t *a)
{
	size_t i = 0;

	if (n < 7 || n > 15)
		return false;
	for (int o = 0; o < 4; o++) {
		size_t j = i;
		uint64_t v;

		while (j < n && s[j] != '.')
			j++;
		if (!canon_num(s + i, j - i, &v) || v > 255 ||
		    (o < 3) != (j < n))
			return false;
		a[o] = (uint8_t)v;
		i = j + 1;
	}
	return true;
}

/* s[0 .. n) as fmt_mac() writes a MAC: 12 upper-case hex digits. */
static bool
canon_mac(const char *s, size_t n, uint8_t *m)
{
	if (n != 12)
		return false;
	for (size_t i = 0; i < 12; i++) {
		int c = s[i];
		int v = c >= '0' && c <= '9' ? c - '0'
		    : c >= 'A' && c <= 'F'   ? c - 'A' + 10
		                             : -1;

		if (v < 0)
			return false;
		m[i / 2] = (uint8_t)(i % 2 ? m[i / 2] | v : v << 4);
	}
	return true;
}

/*
 * A value shown as s[0 .. n): packed as the number, IPv4 address or MAC
 * that fmt_u64(), fmt_ip4() or fmt_mac() would show as exactly s, else as
 * the text. So a value's packed form depends on its text alone: the
 * number 80 and a key function's string "80" pack alike, as they show
 * alike (pack_value() packs every value so).
 */
static size_t
pack_text(uint8_t *d, const char *s, size_t n)
{
	uint16_t n16;
	uint64_t v;
	uint8_t b[6];
	size_t i = 0;

	if (n > 0 && s[0] >= '0' && s[0] <= '9') {
		if (canon_num(s, n, &v))
			return pack_num(d, v);
		if (canon_ip4(s, n, b))
			return pack_ip4(d, b);
	}
	if (canon_mac(s, n, b))
		return pack_mac(d, b);
	if (n > FLOWKEY_VALUE_MAX - 1)
		n = FLOWKEY_VALUE_MAX - 1; /* never: the formats bound them */
	n16 = (uint16_t)n;
	d[0] = PK_STR;
	memcpy(d + 1, &n16, 2);
	/* 8 bytes at a time (the last 8 overlapping): memcpy() of a size
	 * not known here is inlined as rep movsq, 30 cycles to start */
	if (n >= 8) {
		for (; i + 8 < n; i += 8)
			memcpy(d + 3 + i, s + i, 8);
		memcpy(d + 3 + n - 8, s + n - 8, 8);
	} else {
		for (; i < n; i++)
			d[3 + i] = (uint8_t)s[i];
	}
	return 3 + n;
}

/*
 * One key's value for r, packed into d (PACK_VALUE_MAX bytes): its length,
 * or 0 if the key has no value. What is packed is what flowkey_format()
 * shows, in the form pack_text() would give that text: a number, an
 * IPv4 address or a MAC in binary, anything else (an IPv6 address, a word
 * like "discard", a name) as text. So two values pack alike exactly when
 * they show alike, and a table has one entry per text. The plain keys
 * that most definitions have are packed straight from the record, the
 * others through flowkey_value().
 */
/*
 * A key that flowkey_direct() names, packed straight from the record: its
 * length, 0 for no value, SIZE_MAX for a value that is not a number, an
 * IPv4 address or a MAC (an IPv6 agent, an ifIndex shown as a word), or
 * a key it does not name.
 */
static inline __attribute__((always_inline)) size_t
pack_direct(const struct flowkey *k, const struct flow_rec *r, uint8_t *d)
{
	const struct flowrec_layer *L;
	uint64_t num;
	uint8_t a4[4];

	switch (k->direct) {
	case FLOWKEY_DIRECT_NUM:
		return key_num(k, r, &num) == 1 ? pack_num(d, num) : 0;
	case FLOWKEY_DIRECT_IP4:
		switch (key_ip4(k, r, a4)) {
		case 1:
			return pack_ip4(d, a4);
		case 0:
			return 0;
		default:
			return SIZE_MAX; /* an IPv6 agent */
		}
	case FLOWKEY_DIRECT_OTHER:
		L = k->layer < r->n_layers ? &r->l[k->layer] : NULL;
		if (k->id == K_MACSOURCE || k->id == K_MACDESTINATION) {
			if (L == NULL || !(L->have & FLOWREC_ETH))
				return 0;
			return pack_mac(
			    d, k->id == K_MACSOURCE ? L->src_mac : L->dst_mac);
		} else { /* the ifIndexes */
			struct sflow_if ifx =
			    k->id == K_INPUTIFINDEX ? r->input : r->output;

			if (ifx.format == SFLOW_IF_INDEX &&
			    ifx.value != SFLOW_IF_INTERNAL)
				return pack_num(d, ifx.value);
		}
		return SIZE_MAX; /* a word, or none */
	default:
		return SIZE_MAX;
	}
}

static size_t
pack_value(const struct flowkey *k, const struct flow_rec *r,
    const struct flowrec_ctx *ctx, uint8_t *d)
{
	struct flowkey_value v;
	char t[FLOWKEY_VALUE_MAX];
	size_t n;

	if (k->direct != FLOWKEY_DIRECT_NONE &&
	    (n = pack_direct(k, r, d)) != SIZE_MAX)
		return n;
	if (k->id == K_STACK)
		return r->stack[0] != '\0'
		    ? pack_text(d, r->stack, strlen(r->stack))
		    : 0;
	if (flowkey_value(k, r, ctx, &v) == 0)
		return 0;
	switch (v.type) {
	case FLOWKEY_NUM:
		return pack_num(d, v.num);
	case FLOWKEY_ADDR:
		if (v.addr.family == 4)
			return pack_ip4(d, v.addr.a);
		break;
	case FLOWKEY_MAC:
		return pack_mac(d, v.mac);
	case FLOWKEY_STR:
		return pack_text(d, v.str, v.len);
	default:
		break;
	}
	n = flowkey_format(&v, t, sizeof(t));
	return pack_text(d, t, n < sizeof(t) ? n : sizeof(t) - 1);
}

size_t
flowkeys_packmax(const struct flowkeys *ks)
{
	/* and MEMO_SHORT of room for the last value's block copy */
	return ks->n * PACK_VALUE_MAX + MEMO_SHORT;
}

int
flowkeys_pack_memo(const struct flowkeys *ks, const uint32_t *ids,
    struct flowkey_memo *m, const struct flow_rec *r,
    const struct flowrec_ctx *ctx, char *out, size_t outlen, size_t *len)
{
	uint8_t *o = (uint8_t *)out, *end = o + outlen;

	for (size_t i = 0; i < ks->n; i++) {
		struct memo_val *mv;

		/* a field of the record: packed again, cheaper than the
		 * memo's bookkeeping */
		if (ks->k[i]->direct != FLOWKEY_DIRECT_NONE &&
		    (size_t)(end - o) >= PACK_VALUE_MAX) {
			size_t n = pack_direct(ks->k[i], r, o);

			if (n == 0)
				return 0;
			if (n != SIZE_MAX) {
				o += n;
				continue;
			}
		}
		mv = &m->v[ids[i]];
		assert(ids[i] < m->n);
		if (mv->gen != m->gen) {
			/*
			 * The first use in this record: packed straight into
			 * out when it has room for any value, and kept there
			 * for the later uses to copy. Packing into the memo
			 * and copying from it at once would read back bytes
			 * still in the store buffer: a store-forwarding
			 * stall for every key.
			 */
			bool direct = (size_t)(end - o) >= PACK_VALUE_MAX;

			mv->gen = m->gen;
			mv->p = direct ? o : mv->s;
			mv->len = pack_value(ks->k[i], r, ctx, mv->p);
			if (mv->len == 0)
				return 0;
			if (direct) {
				o += mv->len;
				continue;
			}
		}
		if (mv->len == 0)
			return 0;
		if (mv->len <= MEMO_SHORT && (size_t)(end - o) >= MEMO_SHORT) {
			/* a copy of fixed size, inlined: loads, then
			 * stores (p may be earlier in this same out, as in
			 * "ipsource,ipsource"); p has PACK_VALUE_MAX bytes:
			 * its buffer or an out's */
			uint8_t t[MEMO_SHORT];

			memcpy(t, mv->p, MEMO_SHORT);
			memcpy(o, t, MEMO_SHORT);
			o += mv->len;
			continue;
		}
		if (mv->len > (size_t)(end - o))
			return -1;
		memmove(o, mv->p, mv->len);
		o += mv->len;
	}
	*len = (size_t)(o - (uint8_t *)out);
	return 1;
}

/* The size of the packed value at p (avail bytes there), SIZE_MAX if it
 * is not one. */
static size_t
packed_size(const uint8_t *p, size_t avail)
{
	static const uint8_t fixed[] = {
		[PK_IP4] = 5,
		[PK_MAC] = 7,
		[PK_U16] = 3,
		[PK_U32] = 5,
		[PK_U64] = 9,
	};
	uint16_t n;

	if (p[0] == PK_STR) {
		if (avail < 3)
			return SIZE_MAX;
		memcpy(&n, p + 1, 2);
		return 3 + (size_t)n;
	}
	return p[0] < sizeof(fixed) && fixed[p[0]] != 0 ? fixed[p[0]]
	                                                : SIZE_MAX;
}

/* The number of a PK_U16, PK_U32 or PK_U64 value (pack_num()). */
static uint64_t
packed_num(const uint8_t *p)
{
	uint64_t v64;
	uint32_t v32;
	uint16_t v16;

	switch (p[0]) {
	case PK_U16:
		memcpy(&v16, p + 1, 2);
		return v16;
	case PK_U32:
		memcpy(&v32, p + 1, 4);
		return v32;
	default:
		memcpy(&v64, p + 1, 8);
		return v64;
	}
}

size_t
flowkey_unpack(const char *key, size_t keylen, char *out, size_t outlen)
{
	const uint8_t *p = (const uint8_t *)key, *end = p + keylen;
	size_t o = 0, values = 0;

	if (outlen == 0)
		return 0;
	while (p < end) {
		char t[FLOWKEY_VALUE_MAX];
		const char *s = t;
		size_t n, need = packed_size(p, (size_t)(end - p));

		if (need > (size_t)(end - p))
			break; /* not a packed key: stop */
		switch (p[0]) {
		case PK_IP4:
			n = fmt_ip4(t, p + 1);
			break;
		case PK_MAC:
			n = fmt_mac(t, p + 1);
			break;
		case PK_STR:
			n = need - 3;
			s = (const char *)p + 3;
			break;
		default:
			n = fmt_u64(t, packed_num(p));
			break;
		}
		p += need;
		if (values++ > 0 && o + 1 < outlen)
			out[o++] = ',';
		if (n > outlen - 1 - o)
			n = outlen - 1 - o;
		memcpy(out + o, s, n);
		o += n;
	}
	out[o] = '\0';
	return o;
}

void
flowkeys_foreach(
    void (*cb)(void *, const char *name, const char *kind, bool layered),
    void *arg)
{
	static const char *const kinds[] = { [FLOWKEY_STR] = "string",
		[FLOWKEY_NUM] = "number",
		[FLOWKEY_ADDR] = "address",
		[FLOWKEY_MAC] = "mac",
		[FLOWKEY_IFINDEX] = "ifindex" };

	for (size_t i = 0; i < nitems(keydefs); i++)
		cb(arg, keydefs[i].name, kinds[keydefs[i].type],
		    keydefs[i].layered);
	for (size_t i = 0; i < nitems(funcdefs); i++)
		cb(arg, funcdefs[i].name, "function", false);
}
