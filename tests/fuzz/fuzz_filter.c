/*
 * fuzz_filter.c: libFuzzer target for the filter language and the flow
 * key parser. The input is an expression: it is compiled as a filter,
 * as a single key and as a key list, and whatever compiles is matched or
 * evaluated against a few fixed flow records (IPv4/UDP, IPv6/TCP with a
 * discard, VXLAN, an empty record) with a fake topology.
 *
 * The parsers stop at a NUL as C text does, so the input is copied into
 * a buffer of its exact size plus a NUL. The checks are what flowrec.h
 * and filter.h promise: an error message on failure, bounded values on
 * success.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "flowrec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint64_t sink;

static int
lookup(void *arg, const struct sflow_addr *agent, uint32_t ifindex,
    const char **node, const char **link)
{
	(void)arg;
	if (agent->family != 4 || agent->a[3] != 1)
		return 0;
	*node = "leaf1";
	*link = ifindex == 1 ? "leaf1:swp1-spine1:swp1" : NULL;
	return 1;
}

static void
layer(struct flowrec_layer *l, int v6, uint8_t proto, const char *stack)
{
	l->have = FLOWREC_ETH | FLOWREC_ETHTYPE | FLOWREC_TTL |
	    (v6 ? FLOWREC_IP6 : FLOWREC_IP4) | FLOWREC_PORTS |
	    (proto == 6 ? FLOWREC_TCPFLAGS : 0);
	memcpy(l->src_mac, "\x02\x00\x00\x00\x00\x01", 6);
	memcpy(l->dst_mac, "\x02\x00\x00\x00\x00\x02", 6);
	l->ethertype = v6 ? 0x86dd : 0x0800;
	if (v6) {
		memcpy(l->src_ip, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01",
		    16);
		memcpy(l->dst_ip,
		    "\x20\x01\x0d\xb8\0\x01\0\0\0\0\0\0\0\0\0\x02", 16);
	} else {
		memcpy(l->src_ip, "\x0a\x00\x01\x05", 4);
		memcpy(l->dst_ip, "\x0a\x02\x00\x09", 4);
	}
	l->ip_proto = proto;
	l->ip_tos = 0xb8;
	l->ip_ttl = 64;
	l->src_port = 4444;
	l->dst_port = proto == 17 ? 53 : 443;
	l->tcp_flags = 0x12;
	strcpy(l->stack, stack);
}

static struct flow_rec recs[4];

static void
init_recs(void)
{
	struct flow_rec *r;

	/* IPv4/UDP from an edge port, agent 10.0.0.1 */
	r = &recs[0];
	r->agent.family = 4;
	memcpy(r->agent.a, "\x0a\x00\x00\x01", 4);
	r->source_index = 2;
	r->input.value = 2;
	r->output.value = 1;
	r->n_layers = 1;
	layer(&r->l[0], 0, 17, "eth.ip.udp");
	strcpy(r->stack, "eth.ip.udp");
	/* IPv6/TCP, discarded; internal input; VLAN tag */
	r = &recs[1];
	r->agent.family = 6;
	r->agent.a[15] = 1;
	r->input.value = SFLOW_IF_INTERNAL;
	r->output.format = SFLOW_IF_DISCARD;
	r->output.value = 258;
	r->dropped = true;
	r->n_layers = 1;
	layer(&r->l[0], 1, 6, "eth.dot1q.ip6.tcp");
	r->l[0].have |= FLOWREC_VLAN;
	r->l[0].vlan = 30;
	strcpy(r->stack, "eth.dot1q.ip6.tcp");
	r->has_switch = true;
	r->src_vlan = 0xffffffff;
	/* VXLAN: IPv4/UDP outside, IPv6/TCP inside; multiple output */
	r = &recs[2];
	r->agent.family = 4;
	memcpy(r->agent.a, "\x0a\x00\x00\x01", 4);
	r->input.value = 1;
	r->output.format = SFLOW_IF_MULTIPLE;
	r->output.value = 3;
	r->n_layers = 2;
	r->vxlan_vni = 5001;
	layer(&r->l[0], 0, 17, "eth.ip.udp.vxlan");
	layer(&r->l[1], 1, 6, "eth.ip6.tcp");
	strcpy(r->stack, "eth.ip.udp.vxlan.eth.ip6.tcp");
	/* recs[3]: all zero, nothing decoded */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct flowrec_ctx ctx = { lookup, NULL };
	char err[256], val[FLOWKEY_VALUE_MAX], *text;
	struct filter *f;
	struct flowkey *k;
	struct flowkeys *ks;

	if (!ready) {
		init_recs();
		ready = 1;
	}
	if ((text = malloc(size + 1)) == NULL)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';

	err[0] = 'x';
	f = filter_parse(text, err, sizeof(err));
	if (f == NULL) {
		if (err[0] == '\0' || memchr(err, '\0', sizeof(err)) == NULL)
			abort(); /* an error must say why */
	} else {
		if (strcmp(filter_text(f), text) != 0)
			abort();
		for (size_t i = 0; i < 4; i++) {
			int a = filter_match(f, &recs[i], &ctx);
			int b = filter_match(f, &recs[i], NULL);

			if ((a != 0 && a != 1) || (b != 0 && b != 1))
				abort();
			/* only the topology keys may see the ctx */
			if (!filter_uses_topology(f) && a != b)
				abort();
			sink += (uint64_t)a + (uint64_t)b;
		}
		filter_free(f);
	}

	k = flowkey_parse(text, err, sizeof(err));
	if (k != NULL) {
		for (size_t i = 0; i < 4; i++) {
			int rc =
			    flowkey_eval(k, &recs[i], &ctx, val, sizeof(val));
			size_t n = strnlen(val, sizeof(val));

			if (n == sizeof(val) ||
			    (rc == 0 && strcmp(val, "null")))
				abort();
			sink += n;
		}
		flowkey_free(k);
	}

	ks = flowkeys_parse(text, err, sizeof(err));
	if (ks != NULL) {
		size_t max = flowkeys_strmax(ks);
		char *out = malloc(max);

		if (out == NULL || flowkeys_count(ks) > FLOWKEYS_MAX)
			abort();
		for (size_t i = 0; i < 4; i++) {
			int rc = flowkeys_eval(ks, &recs[i], &ctx, out, max);

			if (rc < 0 || strlen(out) >= max)
				abort(); /* strmax is enough */
			sink += strlen(out);
		}
		free(out);
		flowkeys_free(ks);
	}
	free(text);
	return 0;
}
