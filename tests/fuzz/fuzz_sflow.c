/*
 * fuzz_sflow.c: libFuzzer target for the sFlow decoder, its JSON printer
 * and the agent table. The input is one UDP payload.
 *
 * Besides crashes, it checks what the headers promise: every pointer a
 * record hands out is readable for its length (we read every byte, so
 * ASan checks the bounds), the loops end, and the JSON is one valid line
 * whatever the input (jansson parses it back). Flow samples are also
 * keyed as the flow engine keys them: packed through a memo, the key
 * unpacks to exactly flowkeys_eval()'s text. And the input itself, as a
 * packed key, unpacks within its bound.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agents.h"
#include "flowrec.h"
#include "sflow.h"
#include "sflow_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Results go here so the compiler cannot drop the reads. */
static volatile uint64_t sink;

static void
touch(const uint8_t *p, size_t n)
{
	uint64_t sum = 0;

	if (n > 0 && p == NULL)
		abort();
	for (size_t i = 0; i < n; i++)
		sum += p[i];
	sink += sum;
}

static void
touch_layers(const struct pkt_layers *l)
{
	if (memchr(l->stack, '\0', sizeof(l->stack)) == NULL)
		abort(); /* stack must stay a C string */
	if (l->n_ext > PKT_MAX_EXT)
		abort();
	sink += strlen(l->stack) + l->n_vlans + l->src_port + l->dst_port +
	    l->ip_proto + l->l3_off;
	for (int i = 0; i < l->n_ext; i++)
		sink += l->ext[i];
}

static void
touch_header(const struct sflow_record *r)
{
	const struct pkt_info *pi = &r->u.hdr.pkt;

	touch(r->u.hdr.header, r->u.hdr.header_len);
	if (!r->u.hdr.parsed)
		return;
	touch_layers(&pi->outer);
	if (pi->has_inner)
		touch_layers(&pi->inner);
	if (pi->udp_payload_off + pi->udp_payload_len > r->u.hdr.header_len)
		abort(); /* the payload must lie inside the header */
	if (pi->udp_payload_len > 0)
		touch(
		    r->u.hdr.header + pi->udp_payload_off, pi->udp_payload_len);
}

static void
touch_gateway(const struct sflow_record *r)
{
	struct sflow_as_segment seg;
	uint32_t off = 0, nseg = 0;

	while (sflow_as_segment_next(r, &off, &seg) > 0) {
		for (uint32_t i = 0; i < seg.n; i++)
			sink += sflow_rd32(seg.as + (size_t)i * 4);
		if (++nseg > r->u.gw.n_segments)
			abort(); /* more segments than declared */
	}
	if (r->decoded && nseg != r->u.gw.n_segments)
		abort(); /* a decoded path walks back in full */
	if (r->decoded)
		touch(r->u.gw.communities, (size_t)r->u.gw.n_communities * 4);
}

static void
touch_record(const struct sflow_record *r)
{
	touch(r->data, r->len);
	if (!r->decoded)
		return;
	if (r->counter) {
		switch (r->tag) {
		case SFLOW_CTR_PORTNAME:
			touch(r->u.str.str, r->u.str.len);
			return;
		case SFLOW_CTR_HOST_DESCR:
			touch(r->u.hostdescr.hostname,
			    r->u.hostdescr.hostname_len);
			touch(r->u.hostdescr.os_release,
			    r->u.hostdescr.os_release_len);
			return;
		case SFLOW_CTR_HOST_ADAPTERS:
			touch(r->u.adapters.list, r->u.adapters.list_len);
			return;
		default:
			if (r->u.table.n > SFLOW_TABLE_MAX)
				abort();
			for (uint32_t i = 0; i < r->u.table.n; i++)
				sink += r->u.table.v[i] +
				    strlen(r->u.table.fields[i].name);
			return;
		}
	}
	switch (r->tag) {
	case SFLOW_FLOW_HEADER:
		touch_header(r);
		break;
	case SFLOW_FLOW_EXT_GATEWAY:
		touch_gateway(r);
		break;
	case SFLOW_FLOW_FUNCTION:
	case SFLOW_FLOW_LINUX_REASON:
	case SFLOW_FLOW_HW_TRAP:
		touch(r->u.str.str, r->u.str.len);
		touch(r->u.str.str2, r->u.str.len2);
		break;
	default:
		break;
	}
}

/*
 * Walk every sample and record; every structure takes 8 bytes at least.
 * Returns the number of errors counted.
 */
static uint32_t
walk(const uint8_t *data, size_t size)
{
	struct sflow_datagram dg;
	struct sflow_sample s;
	struct sflow_record r;
	size_t ns = 0, nr = 0;

	if (sflow_datagram_open(&dg, data, size) != SFLOW_OK) {
		if (sflow_datagram_errors(&dg) != 1)
			abort();
		return 1;
	}
	while (sflow_sample_next(&dg, &s) > 0) {
		if (++ns > size / 8)
			abort();
		sink += s.tag + s.seq + s.source_index + s.input.value +
		    s.output.value + s.discard_reason;
		if (s.known && s.tag == SFLOW_SAMPLE_DISCARD)
			sink += (uintptr_t)sflow_discard_reason_name(
			    s.discard_reason);
		while (sflow_record_next(&s, &r) > 0) {
			if (++nr > size / 8)
				abort();
			touch_record(&r);
		}
		/* Once done, a sample stays done. */
		if (sflow_record_next(&s, &r) != 0)
			abort();
	}
	if (sflow_sample_next(&dg, &s) != 0)
		abort();
	for (int i = 0; i < SFLOW_ERR__MAX; i++)
		sink += (uintptr_t)sflow_err_name((enum sflow_err)i);
	return sflow_datagram_errors(&dg);
}

/* errs: what walk() counted; decodeError must be there iff errs > 0. */
static void
check_json(const uint8_t *data, size_t size, uint32_t errs)
{
	struct sflow_json_meta m = { "192.0.2.1", 1700000000, 1 };
	json_error_t err;
	json_t *j;
	char *s = sflow_json_datagram(data, size, &m);
	size_t len = strlen(s);

	/* One line: an object, then "\n", and no other newline. */
	if (len < 3 || s[0] != '{' || strcmp(s + len - 2, "}\n") != 0 ||
	    memchr(s, '\n', len - 1) != NULL)
		abort();
	/* \u0000 is valid JSON (a NUL from the wire), so allow it. */
	j = json_loadb(s, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
	if (j == NULL || !json_is_object(j) ||
	    !json_is_array(json_object_get(j, "samples")))
		abort();
	if ((json_object_get(j, "decodeError") != NULL) != (errs > 0))
		abort();
	json_decref(j);
	free(s);
}

struct each_ctx {
	uint64_t records;
};

static void
each_sample(void *arg, const struct sflow_datagram *dg, struct sflow_sample *s)
{
	struct each_ctx *c = arg;
	struct sflow_record r;

	(void)dg;
	while (sflow_record_next(s, &r) > 0)
		c->records++;
}

/* Key lists with plain keys, words and texts: what pack_value() tells
 * apart. */
static const char *const key_lists[] = {
	"ipsource,ipdestination,tcpsourceport,tcpdestinationport",
	"ipsource,udpsourceport,udpdestinationport,ipprotocol,ipdscp",
	"macsource,macdestination,stack,agent",
	"agent,inputifindex,outputifindex,ipsource.1,ipdestination.1",
	"or:tcpsourceport:udpsourceport:icmptype,vlan,direction",
};
#define N_LISTS (sizeof(key_lists) / sizeof(key_lists[0]))

#define PACK_BUF 4096

static struct flowkey_memo *memo;
static struct flowkeys *lists[N_LISTS];
static uint32_t ids[N_LISTS][8];

static void
pack_sample(void *arg, const struct sflow_datagram *dg, struct sflow_sample *s)
{
	static char want[PACK_BUF], text[PACK_BUF], packed[N_LISTS][PACK_BUF];
	struct flowrec_ctx ctx = { NULL, NULL };
	struct flow_rec r;

	(void)arg;
	if (flowrec_from_sample(&r, dg, s) != 0)
		return;
	flowkey_memo_next(memo);
	for (size_t i = 0; i < N_LISTS; i++) {
		size_t len = 0;
		int w = flowkeys_eval(lists[i], &r, &ctx, want, sizeof(want));
		int p = flowkeys_pack_memo(lists[i], ids[i], memo, &r, &ctx,
		    packed[i], sizeof(packed[i]), &len);

		if (w != p || len > sizeof(packed[i]))
			abort();
		if (p == 1 &&
		    (flowkey_unpack(packed[i], len, text, sizeof(text)) !=
		            strlen(want) ||
		        strcmp(text, want) != 0))
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/*
	 * One table for the whole run, as in the daemon: state carries over
	 * between inputs. 4 agents at most, counting the entries that garbage
	 * from the UDP sources below makes, so memory stays bounded however
	 * long the run.
	 */
	static struct agents *agents;
	static uint64_t runs;
	struct sflow_addr src = { 4, { 192, 0, 2, 0 } };
	struct agents_totals tot;
	struct each_ctx c = { 0 };

	if (agents == NULL) {
		char err[256];

		agents = agents_new(4);
		memo = flowkey_memo_new();
		for (size_t i = 0; i < N_LISTS; i++) {
			lists[i] =
			    flowkeys_parse(key_lists[i], err, sizeof(err));
			if (lists[i] == NULL ||
			    flowkeys_packmax(lists[i]) > PACK_BUF ||
			    flowkeys_count(lists[i]) > 8)
				abort();
			flowkey_memo_bind(memo, lists[i], ids[i]);
		}
	}
	{
		/* the input as a packed key */
		static char out[FLOWKEY_UNPACK_MAX(65536)];
		size_t n = size < 65536 ? size : 65536;

		if (flowkey_unpack((const char *)data, n, out,
		        FLOWKEY_UNPACK_MAX(n)) > 4 * n)
			abort();
	}
	check_json(data, size, walk(data, size));

	/* A few UDP sources, so garbage is keyed several ways. */
	src.a[3] = size > 0 ? data[size - 1] & 3 : 0;
	agents_process(agents, &src, data, size, size > 9000, runs, runs,
	    (size & 1)       ? each_sample
	        : (size & 2) ? pack_sample
	                     : NULL,
	    &c);
	agents_totals(agents, &tot);
	if (tot.n_agents > 4)
		abort();
	if (++runs % 4096 == 0) {
		size_t n;
		struct agent_stats *snap = agents_snapshot(agents, &n);

		if (n != tot.n_agents)
			abort();
		free(snap);
	}
	sink += c.records;
	return 0;
}
