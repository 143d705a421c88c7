/*
 * fuzz_netflow.c: libFuzzer target for the NetFlow v5/v9 and IPFIX
 * decoder, its template cache, the flow_rec mapping and the --decode JSON.
 *
 * An input is a sequence of datagrams, each as a selector byte (which of
 * 8 exporters sent it: IPv4 or IPv6, 4 addresses; bit 3: walk only every
 * other set, bit 4: walk it again without a cache), a 16-bit big-endian
 * length and the bytes (a last length that overruns takes what is left),
 * so that templates in one datagram meet data in the next. Every input
 * starts from empty caches, so a crash replays from its file alone. The
 * caches are small (8 templates, 4 a domain, 4 domains) so that the
 * limits are hit too.
 *
 * Besides crashes, it checks what the header promises: every pointer a
 * record hands out is readable for its length (we read every byte, so
 * ASan checks the bounds), the walks end, rates are >= 1, the cache stays
 * within its limits, templates saved and restored decode the same, and
 * the JSON is one valid line whatever the input, with decodeError exactly
 * when the walk counted an error.
 *
 * Seeds (tests/fuzz/corpus/netflow): fixture-* are the NetFlow/IPFIX
 * fixtures' UDP payloads in this format (template files first), unit-* the
 * datagrams test_netflow builds (FABMON_SEEDS=DIR build/tests/test_netflow).
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flowrec.h"
#include "netflow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_DGRAMS  64
#define MAX_PENDING 4

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
check_rec(const struct netflow_rec *r, const struct netflow_hdr *h,
    const uint8_t *buf, size_t len)
{
	struct flow_rec fr;

	/* The record lies inside the datagram. */
	if (r->data < buf || r->data + r->len > buf + len)
		abort();
	touch(r->data, r->len);
	if (r->have & NETFLOW_HAVE_FRAME) {
		if (r->frame < r->data ||
		    r->frame + r->frame_len > r->data + r->len)
			abort();
		touch(r->frame, r->frame_len);
		if (memchr(r->pkt.outer.stack, '\0',
		        sizeof(r->pkt.outer.stack)) == NULL)
			abort();
	}
	if (r->sampling_rate < 1)
		abort();
	if (!r->options && r->scaled_packets < r->packets)
		abort();
	if ((r->src.family != 0 && r->src.family != 4 && r->src.family != 6))
		abort();
	if (netflow_to_flowrec(&fr, r, h) != (r->options ? -1 : 0))
		abort();
	if (memchr(fr.stack, '\0', sizeof(fr.stack)) == NULL || fr.n_layers > 2)
		abort();
	if (!r->options && fr.sampling_rate < 1)
		abort();
	sink += fr.frame_length + fr.sampling_rate + fr.l[0].have;
	sink += (uintptr_t)netflow_sampling_src_name(r->sampling_src);
}

struct pending {
	struct netflow_hdr h;
	uint16_t id;
	size_t len;
	uint8_t *body;
};

/*
 * Walk one datagram; returns the errors counted. With `skim`, only every
 * other set is walked: netflow_set_next() must apply the others itself.
 */
static uint32_t
walk(struct netflow_cache *c, const struct sflow_addr *exp, const uint8_t *buf,
    size_t len, struct pending *pend, int *npend, bool skim)
{
	struct netflow_msg *m = malloc(sizeof(*m));
	struct netflow_template *t = malloc(sizeof(*t));
	struct netflow_set *s;
	struct netflow_rec r;
	enum netflow_tmpl_op op;
	size_t nsets = 0, nrec, ntmpl;
	uint32_t errs;

	if (m == NULL || t == NULL)
		abort();
	if (netflow_open(m, c, exp, buf, len, 1000) != NETFLOW_OK) {
		if (netflow_msg_errors(m) != 1 || netflow_set_next(m) != NULL)
			abort();
		free(t);
		free(m);
		return 1;
	}
	while ((s = netflow_set_next(m)) != NULL) {
		if (++nsets > len / 4 + 1)
			abort(); /* every set takes 4 bytes */
		if (s->data < buf || s->data + s->len > buf + len)
			abort();
		touch(s->data, s->len);
		if (s->status == NETFLOW_ERR_NO_TEMPLATE && pend != NULL &&
		    *npend < MAX_PENDING) {
			struct pending *p = &pend[(*npend)++];

			p->h = m->h;
			p->id = s->id;
			p->len = s->len;
			p->body = malloc(s->len ? s->len : 1);
			if (p->body == NULL)
				abort();
			memcpy(p->body, s->data, s->len);
		}
		if (skim && nsets % 2 == 0)
			continue;
		ntmpl = 0;
		while (netflow_template_next(s, t, &op) > 0) {
			if (++ntmpl > s->len / 4)
				abort();
			if (t->n_fields > NETFLOW_FIELDS_MAX ||
			    t->n_scope > t->n_fields)
				abort();
			sink += op + t->id;
			sink += (uintptr_t)netflow_tmpl_op_name(op);
		}
		nrec = 0;
		while (netflow_record_next(s, &r) > 0) {
			if (++nrec > s->len + 1)
				abort(); /* every record takes a byte */
			check_rec(&r, &m->h, buf, len);
		}
		/* Once done, a set stays done. */
		if (netflow_record_next(s, &r) != 0 ||
		    netflow_template_next(s, t, &op) != 0)
			abort();
	}
	if (netflow_set_next(m) != NULL)
		abort();
	errs = netflow_msg_errors(m);
	free(t);
	free(m);
	return errs;
}

/* errs: what the walk counted (UINT32_MAX: unknown); decodeError iff > 0. */
static void
check_json(struct netflow_cache *c, const struct sflow_addr *exp,
    const uint8_t *buf, size_t len, uint32_t errs)
{
	struct netflow_json_meta meta = { exp, 1700000000, 1 };
	json_error_t err;
	json_t *j;
	char *s = netflow_json_datagram(c, buf, len, &meta);
	size_t n = strlen(s);

	if (n < 3 || s[0] != '{' || strcmp(s + n - 2, "}\n") != 0 ||
	    memchr(s, '\n', n - 1) != NULL)
		abort();
	j = json_loadb(s, n, JSON_REJECT_DUPLICATES, &err);
	if (j == NULL || !json_is_object(j) ||
	    !json_is_array(json_object_get(j, "sets")))
		abort();
	if (errs != UINT32_MAX &&
	    (json_object_get(j, "decodeError") != NULL) != (errs > 0))
		abort();
	json_decref(j);
	free(s);
}

static void
save_cb(void *arg, const struct netflow_tkey *k,
    const struct netflow_template *t, uint64_t last_ms)
{
	struct netflow_cache *to = arg;
	enum netflow_tmpl_op op;

	(void)last_ms;
	/* What the cache holds is consistent, and fits again. */
	if (netflow_cache_put(to, k, t, 2000, &op) != NETFLOW_OK ||
	    op != NETFLOW_TMPL_NEW)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct netflow_limits lim = { 8, 4, 4 };
	struct netflow_cache *c = netflow_cache_new(&lim, 1, 2);
	struct netflow_cache *jc = netflow_cache_new(&lim, 1, 2);
	struct netflow_cache *c2 = netflow_cache_new(&lim, 3, 4);
	struct pending pend[MAX_PENDING];
	int npend = 0, n = 0;
	const struct netflow_stats *st;

	while (size > 0 && n++ < MAX_DGRAMS) {
		struct sflow_addr exp = { 4, { 192, 0, 2, 0 } };
		uint8_t sel = data[0];
		size_t len = 0;
		uint8_t *buf;
		uint32_t errs;

		if (size >= 3)
			len = (size_t)data[1] << 8 | data[2];
		data += size >= 3 ? 3 : size;
		size -= size >= 3 ? 3 : size;
		if (len > size)
			len = size;
		if (sel & 4) {
			exp.family = 6;
			exp.a[0] = 0x20;
			exp.a[1] = 0x01;
		}
		exp.a[15] = exp.a[3] = sel & 3;
		if (exp.family == 4)
			memset(exp.a + 4, 0, 12);
		/* An exact-size copy, so ASan sees any read past it. */
		buf = malloc(len ? len : 1);
		if (buf == NULL)
			abort();
		memcpy(buf, data, len);
		sink += netflow_sniff(buf, len);
		errs = walk(c, &exp, buf, len, pend, &npend, (sel & 8) != 0);
		/* A skimmed walk misses the errors of data it did not walk. */
		check_json(jc, &exp, buf, len, (sel & 8) ? UINT32_MAX : errs);
		/* Without a cache: templates parse, nothing is kept. */
		if (sel & 16)
			walk(NULL, &exp, buf, len, NULL, NULL, false);
		free(buf);
		data += len;
		size -= len;
	}
	/* The kept sets, retried once the rest has been seen. */
	for (int i = 0; i < npend; i++) {
		struct netflow_msg *m = malloc(sizeof(*m));
		struct netflow_set *s;
		struct netflow_rec r;

		if (m == NULL)
			abort();
		if (netflow_open_set(m, c, &pend[i].h, pend[i].id, pend[i].body,
		        pend[i].len, 2000) == NETFLOW_OK) {
			if ((s = netflow_set_next(m)) == NULL)
				abort();
			while (netflow_record_next(s, &r) > 0)
				check_rec(&r, &m->h, pend[i].body, pend[i].len);
			if (netflow_set_next(m) != NULL)
				abort();
		}
		free(m);
		free(pend[i].body);
	}
	st = netflow_cache_stats(c);
	if (st->templates > lim.max_templates || st->domains > lim.max_domains)
		abort();
	netflow_cache_foreach(c, save_cb, c2);
	if (netflow_cache_stats(c2)->templates != st->templates)
		abort();
	netflow_cache_expire(c, 1000000, 100);
	if (netflow_cache_stats(c)->templates != 0 ||
	    netflow_cache_stats(c)->domains != 0)
		abort();
	for (int i = 0; i < NETFLOW_ERR__MAX; i++)
		sink += (uintptr_t)netflow_err_name((enum netflow_err)i);
	netflow_cache_free(c);
	netflow_cache_free(jc);
	netflow_cache_free(c2);
	return 0;
}
