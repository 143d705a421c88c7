/*
 * netflow.c: NetFlow v5, NetFlow v9 (RFC 3954) and IPFIX (RFC 7011)
 * decoding, the template cache with its sampling state, and the mapping
 * onto the engine's flow record. PURE: no I/O, no logging; the cache
 * allocates with the x* allocators. Runs in the thread that owns the
 * cache (an ingest worker, or main for --decode).
 *
 * Every structure is entered through a cursor bounded by its own length:
 * the message (an IPFIX message by its length field), each set by its
 * set length, each template and record by what its fields say, so a
 * lying inner length never reads past its parent. Templates are checked
 * before they are cached (every record shorter than a set can be and at
 * least one byte long, the field count and scope count sane), so that a
 * data set walk always advances and always ends.
 */
#include <stdlib.h>
#include <string.h>

#include "flowrec.h"
#include "netflow.h"
#include "util.h"

/* ---- reading ------------------------------------------------------------ */

static uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t
rd32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	    ((uint32_t)p[2] << 8) | p[3];
}

/* An unsigned integer of 1..8 bytes (IPFIX reduced-size encoding). */
static bool
rd_uint(const uint8_t *p, uint32_t len, uint64_t *v)
{
	uint64_t x = 0;

	if (len == 0 || len > 8)
		return false;
	for (uint32_t i = 0; i < len; i++)
		x = (x << 8) | p[i];
	*v = x;
	return true;
}

static bool
all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return false;
	return true;
}

static uint64_t
sat_mul(uint64_t a, uint64_t b)
{
	if (a != 0 && b > UINT64_MAX / a)
		return UINT64_MAX;
	return a * b;
}

/* ---- names --------------------------------------------------------------- */

const char *
netflow_err_name(enum netflow_err e)
{
	static const char *names[NETFLOW_ERR__MAX] = {
		[NETFLOW_OK] = "ok",
		[NETFLOW_ERR_TRUNCATED] = "truncated",
		[NETFLOW_ERR_VERSION] = "bad_version",
		[NETFLOW_ERR_LENGTH] = "bad_length",
		[NETFLOW_ERR_NO_TEMPLATE] = "no_template",
		[NETFLOW_ERR_TEMPLATE] = "bad_template",
		[NETFLOW_ERR_TEMPLATE_LIMIT] = "template_limit",
		[NETFLOW_ERR_RECORD] = "bad_record",
		[NETFLOW_ERR_SET_ID] = "bad_set_id",
		[NETFLOW_ERR_OVERSIZE] = "oversize",
	};

	if ((unsigned)e < NETFLOW_ERR__MAX && names[e] != NULL)
		return names[e];
	return "unknown";
}

const char *
netflow_tmpl_op_name(enum netflow_tmpl_op op)
{
	switch (op) {
	case NETFLOW_TMPL_NEW:
		return "new";
	case NETFLOW_TMPL_REPLACED:
		return "replaced";
	case NETFLOW_TMPL_REFRESHED:
		return "refreshed";
	case NETFLOW_TMPL_WITHDRAWN:
		return "withdrawn";
	case NETFLOW_TMPL_WITHDRAWN_ALL:
		return "withdrawn_all";
	case NETFLOW_TMPL_REFUSED:
		return "refused";
	case NETFLOW_TMPL_BAD:
		return "bad";
	case NETFLOW_TMPL_NOT_KEPT:
		return "not_kept";
	}
	return "unknown";
}

const char *
netflow_sampling_src_name(enum netflow_sampling_src s)
{
	switch (s) {
	case NETFLOW_SAMPLING_NONE:
		return "none";
	case NETFLOW_SAMPLING_HEADER:
		return "header";
	case NETFLOW_SAMPLING_RECORD:
		return "record";
	case NETFLOW_SAMPLING_SAMPLER:
		return "sampler";
	case NETFLOW_SAMPLING_TEMPLATE:
		return "template";
	case NETFLOW_SAMPLING_EXPORTER:
		return "exporter";
	}
	return "unknown";
}

/* ---- templates ----------------------------------------------------------- */

enum netflow_err
netflow_template_check(struct netflow_template *t)
{
	uint32_t fixed = 0, nvar = 0;

	if (t->id < 256 || t->n_fields == 0 ||
	    t->n_fields > NETFLOW_FIELDS_MAX || t->n_scope > t->n_fields ||
	    (t->options && t->n_scope == 0) || (!t->options && t->n_scope))
		return NETFLOW_ERR_TEMPLATE;
	for (uint16_t i = 0; i < t->n_fields; i++) {
		uint16_t len = t->f[i].len;

		if (len == NETFLOW_VARLEN)
			nvar++;
		else
			fixed += len;
	}
	/*
	 * A record must fit in a set (65535 bytes with its 4-byte header):
	 * a template whose shortest record cannot is an overflow.
	 */
	if (fixed + nvar > 65535 - 4)
		return NETFLOW_ERR_TEMPLATE;
	/*
	 * Zero-length fields are legal (Cisco sends a v9 "System" scope of
	 * length 0) and carry nothing; but records that take no bytes at
	 * all would never end a data set.
	 */
	if (fixed + nvar == 0)
		return NETFLOW_ERR_TEMPLATE;
	t->min_len = fixed + nvar;
	t->varlen = nvar > 0;
	return NETFLOW_OK;
}

/* ---- the cache ------------------------------------------------------------
 */

#define NF_SAMPLERS_MAX 32

struct nf_tentry {
	uint16_t id;
	bool options;
	uint16_t n_fields;
	uint16_t n_scope;
	uint32_t min_len;
	bool varlen;
	struct netflow_field *f;
	uint64_t last_ms;
};

struct nf_sampler {
	uint8_t scope; /* NETFLOW_OPT_SAMPLER or NETFLOW_OPT_TEMPLATE */
	uint64_t key;
	uint32_t rate;
};

struct nf_domain {
	bool used;
	struct sflow_addr exporter;
	uint32_t domain;
	uint16_t version;
	uint32_t next;       /* hash chain: index + 1; 0 ends it */
	struct nf_tentry *t; /* sorted by id */
	uint32_t n_t;
	uint32_t cap_t;
	struct nf_sampler samplers[NF_SAMPLERS_MAX];
	uint32_t n_samplers;
	uint32_t evict;        /* the next sampler slot to reuse when full */
	uint32_t default_rate; /* 0: none */
	bool has_init;
	int64_t init_ms; /* systemInitTimeMilliseconds */
};

struct netflow_cache {
	struct netflow_limits lim;
	uint64_t k0, k1;
	struct nf_domain *d;
	uint32_t n_d; /* slots in use or freed: d[0..n_d) */
	uint32_t cap_d;
	uint32_t *buckets; /* index + 1 of a chain's first domain */
	uint32_t n_buckets;
	struct netflow_stats st;
};

struct netflow_cache *
netflow_cache_new(const struct netflow_limits *lim, uint64_t k0, uint64_t k1)
{
	struct netflow_cache *c = xcalloc(1, sizeof(*c));

	if (lim != NULL)
		c->lim = *lim;
	if (c->lim.max_templates == 0)
		c->lim.max_templates = 4096;
	if (c->lim.max_per_domain == 0)
		c->lim.max_per_domain = 512;
	if (c->lim.max_domains == 0)
		c->lim.max_domains = 1024;
	c->k0 = k0;
	c->k1 = k1;
	c->n_buckets = 16;
	while (
	    c->n_buckets < 2 * c->lim.max_domains && c->n_buckets < (1u << 24))
		c->n_buckets <<= 1;
	c->buckets = xcalloc(c->n_buckets, sizeof(*c->buckets));
	return c;
}

static void
tentry_free(struct nf_tentry *e)
{
	free(e->f);
	e->f = NULL;
}

void
netflow_cache_free(struct netflow_cache *c)
{
	if (c == NULL)
		return;
	for (uint32_t i = 0; i < c->n_d; i++) {
		for (uint32_t j = 0; j < c->d[i].n_t; j++)
			tentry_free(&c->d[i].t[j]);
		free(c->d[i].t);
	}
	free(c->d);
	free(c->buckets);
	free(c);
}

const struct netflow_stats *
netflow_cache_stats(const struct netflow_cache *c)
{
	return &c->st;
}

static uint32_t
dom_hash(const struct netflow_cache *c, const struct sflow_addr *a,
    uint32_t domain, uint16_t version)
{
	uint8_t buf[23];

	buf[0] = a->family;
	memcpy(buf + 1, a->a, 16);
	buf[17] = (uint8_t)(domain >> 24);
	buf[18] = (uint8_t)(domain >> 16);
	buf[19] = (uint8_t)(domain >> 8);
	buf[20] = (uint8_t)domain;
	buf[21] = (uint8_t)(version >> 8);
	buf[22] = (uint8_t)version;
	return (uint32_t)siphash13(c->k0, c->k1, buf, sizeof(buf)) &
	    (c->n_buckets - 1);
}

static bool
addr_eq(const struct sflow_addr *a, const struct sflow_addr *b)
{
	return a->family == b->family && memcmp(a->a, b->a, 16) == 0;
}

/* The domain's index, or -1. */
static int64_t
dom_find(const struct netflow_cache *c, const struct sflow_addr *a,
    uint32_t domain, uint16_t version)
{
	uint32_t i = c->buckets[dom_hash(c, a, domain, version)];

	while (i != 0) {
		const struct nf_domain *d = &c->d[i - 1];

		if (d->domain == domain && d->version == version &&
		    addr_eq(&d->exporter, a))
			return (int64_t)i - 1;
		i = d->next;
	}
	return -1;
}

/* Find or make the domain; -1 if the table is full. */
static int64_t
dom_get(struct netflow_cache *c, const struct sflow_addr *a, uint32_t domain,
    uint16_t version)
{
	int64_t found = dom_find(c, a, domain, version);
	uint32_t i, h;
	struct nf_domain *d;

	if (found >= 0)
		return found;
	if (c->st.domains >= c->lim.max_domains)
		return -1;
	/* Reuse a freed slot, else grow. */
	for (i = 0; i < c->n_d; i++)
		if (!c->d[i].used)
			break;
	if (i == c->n_d) {
		if (c->n_d == c->cap_d) {
			c->cap_d = c->cap_d ? c->cap_d * 2 : 16;
			c->d = xrealloc(c->d, c->cap_d * sizeof(*c->d));
		}
		c->n_d++;
	}
	d = &c->d[i];
	memset(d, 0, sizeof(*d));
	d->used = true;
	d->exporter = *a;
	d->domain = domain;
	d->version = version;
	h = dom_hash(c, a, domain, version);
	d->next = c->buckets[h];
	c->buckets[h] = i + 1;
	c->st.domains++;
	return i;
}

static void
dom_drop(struct netflow_cache *c, uint32_t i)
{
	struct nf_domain *d = &c->d[i];
	uint32_t h = dom_hash(c, &d->exporter, d->domain, d->version);
	uint32_t *link = &c->buckets[h];

	while (*link != 0 && *link != i + 1)
		link = &c->d[*link - 1].next;
	if (*link == i + 1)
		*link = d->next;
	for (uint32_t j = 0; j < d->n_t; j++)
		tentry_free(&d->t[j]);
	free(d->t);
	c->st.templates -= d->n_t;
	memset(d, 0, sizeof(*d));
	c->st.domains--;
}

/* Binary search: the slot of id, or where it would go (*found false). */
static uint32_t
t_find(const struct nf_domain *d, uint16_t id, bool *found)
{
	uint32_t lo = 0, hi = d->n_t;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (d->t[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < d->n_t && d->t[lo].id == id;
	return lo;
}

static void
t_remove(struct netflow_cache *c, struct nf_domain *d, uint32_t at)
{
	tentry_free(&d->t[at]);
	memmove(&d->t[at], &d->t[at + 1], (d->n_t - at - 1) * sizeof(*d->t));
	d->n_t--;
	c->st.templates--;
}

static void
t_copy_out(const struct nf_tentry *e, struct netflow_template *t)
{
	t->id = e->id;
	t->options = e->options;
	t->n_fields = e->n_fields;
	t->n_scope = e->n_scope;
	t->min_len = e->min_len;
	t->varlen = e->varlen;
	memcpy(t->f, e->f, e->n_fields * sizeof(*e->f));
}

static bool
t_same(const struct nf_tentry *e, const struct netflow_template *t)
{
	return e->options == t->options && e->n_fields == t->n_fields &&
	    e->n_scope == t->n_scope &&
	    memcmp(e->f, t->f, t->n_fields * sizeof(*t->f)) == 0;
}

int
netflow_cache_get(const struct netflow_cache *c, const struct netflow_tkey *k,
    struct netflow_template *out)
{
	int64_t di;
	bool found;
	uint32_t at;

	if (c == NULL ||
	    (di = dom_find(c, &k->exporter, k->domain, k->version)) < 0)
		return 0;
	at = t_find(&c->d[di], k->id, &found);
	if (!found)
		return 0;
	t_copy_out(&c->d[di].t[at], out);
	return 1;
}

/* Withdraw one template, or all (options or not) when all is set. */
static void
cache_withdraw(
    struct netflow_cache *c, uint32_t di, uint16_t id, bool all, bool options)
{
	struct nf_domain *d = &c->d[di];
	bool found;
	uint32_t at;

	if (all) {
		for (uint32_t j = d->n_t; j-- > 0;)
			if (d->t[j].options == options) {
				t_remove(c, d, j);
				c->st.templates_withdrawn++;
			}
		return;
	}
	at = t_find(d, id, &found);
	if (found) {
		t_remove(c, d, at);
		c->st.templates_withdrawn++;
	}
}

enum netflow_err
netflow_cache_put(struct netflow_cache *c, const struct netflow_tkey *k,
    const struct netflow_template *tin, uint64_t now_ms,
    enum netflow_tmpl_op *opp)
{
	struct netflow_template t;
	enum netflow_tmpl_op op;
	struct nf_domain *d;
	struct nf_tentry *e;
	int64_t di;
	bool found;
	uint32_t at;

	if (opp == NULL)
		opp = &op;
	if (tin->n_fields == 0) {
		*opp = NETFLOW_TMPL_WITHDRAWN;
		di = dom_find(c, &k->exporter, k->domain, k->version);
		if (di >= 0)
			cache_withdraw(c, (uint32_t)di, k->id, false, false);
		return NETFLOW_OK;
	}
	if (tin->n_fields > NETFLOW_FIELDS_MAX) {
		*opp = NETFLOW_TMPL_BAD;
		return NETFLOW_ERR_TEMPLATE;
	}
	/* Only the fields in use are copied (and checked). */
	t.id = k->id;
	t.options = tin->options;
	t.n_fields = tin->n_fields;
	t.n_scope = tin->n_scope;
	memcpy(t.f, tin->f, t.n_fields * sizeof(*t.f));
	if (netflow_template_check(&t) != NETFLOW_OK) {
		*opp = NETFLOW_TMPL_BAD;
		return NETFLOW_ERR_TEMPLATE;
	}
	/* Make no domain for a template that could not go in anyway. */
	di = dom_find(c, &k->exporter, k->domain, k->version);
	if (di < 0 && c->st.templates >= c->lim.max_templates) {
		*opp = NETFLOW_TMPL_REFUSED;
		return NETFLOW_ERR_TEMPLATE_LIMIT;
	}
	if (di < 0)
		di = dom_get(c, &k->exporter, k->domain, k->version);
	if (di < 0) {
		*opp = NETFLOW_TMPL_REFUSED;
		return NETFLOW_ERR_TEMPLATE_LIMIT;
	}
	d = &c->d[di];
	at = t_find(d, t.id, &found);
	if (found) {
		e = &d->t[at];
		e->last_ms = now_ms;
		if (t_same(e, &t)) {
			*opp = NETFLOW_TMPL_REFRESHED;
			c->st.templates_refreshed++;
			return NETFLOW_OK;
		}
		e->f = xrealloc(e->f, t.n_fields * sizeof(*e->f));
		*opp = NETFLOW_TMPL_REPLACED;
		c->st.templates_replaced++;
	} else {
		if (c->st.templates >= c->lim.max_templates ||
		    d->n_t >= c->lim.max_per_domain) {
			*opp = NETFLOW_TMPL_REFUSED;
			return NETFLOW_ERR_TEMPLATE_LIMIT;
		}
		if (d->n_t == d->cap_t) {
			d->cap_t = d->cap_t ? d->cap_t * 2 : 8;
			d->t = xrealloc(d->t, d->cap_t * sizeof(*d->t));
		}
		memmove(
		    &d->t[at + 1], &d->t[at], (d->n_t - at) * sizeof(*d->t));
		d->n_t++;
		e = &d->t[at];
		memset(e, 0, sizeof(*e));
		e->f = xmalloc(t.n_fields * sizeof(*e->f));
		c->st.templates++;
		c->st.templates_new++;
		*opp = NETFLOW_TMPL_NEW;
	}
	e->id = t.id;
	e->options = t.options;
	e->n_fields = t.n_fields;
	e->n_scope = t.n_scope;
	e->min_len = t.min_len;
	e->varlen = t.varlen;
	memcpy(e->f, t.f, t.n_fields * sizeof(*e->f));
	e->last_ms = now_ms;
	return NETFLOW_OK;
}

void
netflow_cache_foreach(const struct netflow_cache *c,
    void (*cb)(void *arg, const struct netflow_tkey *,
        const struct netflow_template *, uint64_t last_ms),
    void *arg)
{
	struct netflow_template *t = xmalloc(sizeof(*t));

	for (uint32_t i = 0; i < c->n_d; i++) {
		const struct nf_domain *d = &c->d[i];
		struct netflow_tkey k;

		if (!d->used)
			continue;
		memset(&k, 0, sizeof(k));
		k.exporter = d->exporter;
		k.domain = d->domain;
		k.version = d->version;
		for (uint32_t j = 0; j < d->n_t; j++) {
			t_copy_out(&d->t[j], t);
			k.id = t->id;
			cb(arg, &k, t, d->t[j].last_ms);
		}
	}
	free(t);
}

size_t
netflow_cache_expire(
    struct netflow_cache *c, uint64_t now_ms, uint64_t max_age_ms)
{
	uint64_t cut = now_ms > max_age_ms ? now_ms - max_age_ms : 0;
	size_t n = 0;

	for (uint32_t i = 0; i < c->n_d; i++) {
		struct nf_domain *d = &c->d[i];

		if (!d->used)
			continue;
		for (uint32_t j = d->n_t; j-- > 0;)
			if (d->t[j].last_ms < cut) {
				t_remove(c, d, j);
				n++;
			}
		if (d->n_t == 0)
			dom_drop(c, i);
	}
	c->st.templates_expired += n;
	return n;
}

/* Remember a sampling rate learnt from an options record. */
static void
cache_sampler(struct netflow_cache *c, const struct netflow_hdr *h,
    const struct netflow_rec *r)
{
	struct nf_domain *d;
	int64_t di;

	if (r->opt.scope == NETFLOW_OPT_NONE && !r->opt.has_init_ms)
		return;
	di = dom_get(c, &h->exporter, h->domain, h->version);
	if (di < 0) {
		c->st.samplers_refused++;
		return;
	}
	d = &c->d[di];
	if (r->opt.has_init_ms) {
		d->has_init = true;
		d->init_ms = r->opt.init_ms;
	}
	if (r->opt.scope == NETFLOW_OPT_NONE)
		return;
	c->st.samplers_learned++;
	if (r->opt.scope == NETFLOW_OPT_EXPORTER) {
		d->default_rate = r->opt.rate;
		return;
	}
	for (uint32_t i = 0; i < d->n_samplers; i++)
		if (d->samplers[i].scope == r->opt.scope &&
		    d->samplers[i].key == r->opt.key) {
			d->samplers[i].rate = r->opt.rate;
			return;
		}
	if (d->n_samplers < NF_SAMPLERS_MAX) {
		d->samplers[d->n_samplers++] =
		    (struct nf_sampler){ (uint8_t)r->opt.scope, r->opt.key,
			    r->opt.rate };
		return;
	}
	/* Full: an exporter with that many samplers is odd; round-robin. */
	c->st.samplers_refused++;
	d->samplers[d->evict] = (struct nf_sampler){ (uint8_t)r->opt.scope,
		r->opt.key, r->opt.rate };
	d->evict = (d->evict + 1) % NF_SAMPLERS_MAX;
}

/* ---- messages -------------------------------------------------------------
 */

static void
count(struct netflow_msg *m, enum netflow_err e)
{
	if (m->errs[e] < UINT32_MAX)
		m->errs[e]++;
	if (m->cache != NULL)
		m->cache->st.errs[e]++;
}

uint32_t
netflow_msg_errors(const struct netflow_msg *m)
{
	uint32_t n = 0;

	for (int i = 1; i < NETFLOW_ERR__MAX; i++)
		n += m->errs[i];
	return n;
}

enum netflow_err
netflow_open(struct netflow_msg *m, struct netflow_cache *cache,
    const struct sflow_addr *exporter, const uint8_t *buf, size_t len,
    uint64_t now_ms)
{
	struct netflow_hdr *h = &m->h;

	memset(m, 0, offsetof(struct netflow_msg, set));
	m->set.m = NULL;
	m->cache = cache;
	m->dom = -1;
	m->now_ms = now_ms;
	m->base = buf;
	m->done = true;
	if (exporter != NULL)
		h->exporter = *exporter;
	if (cache != NULL)
		cache->st.messages++;
	if (len < 4) {
		count(m, NETFLOW_ERR_TRUNCATED);
		return NETFLOW_ERR_TRUNCATED;
	}
	h->version = rd16(buf);
	switch (h->version) {
	case 5:
		if (len < 24) {
			count(m, NETFLOW_ERR_TRUNCATED);
			return NETFLOW_ERR_TRUNCATED;
		}
		h->count = rd16(buf + 2);
		h->uptime_ms = rd32(buf + 4);
		h->unix_secs = rd32(buf + 8);
		h->unix_nsecs = rd32(buf + 12);
		h->seq = rd32(buf + 16);
		h->engine_type = buf[20];
		h->engine_id = buf[21];
		h->sampling = rd16(buf + 22);
		h->domain = (uint32_t)h->engine_type << 8 | h->engine_id;
		m->p = buf + 24;
		m->rem = len - 24;
		break;
	case 9:
		if (len < 20) {
			count(m, NETFLOW_ERR_TRUNCATED);
			return NETFLOW_ERR_TRUNCATED;
		}
		h->count = rd16(buf + 2);
		h->uptime_ms = rd32(buf + 4);
		h->unix_secs = rd32(buf + 8);
		h->seq = rd32(buf + 12);
		h->domain = rd32(buf + 16);
		m->p = buf + 20;
		m->rem = len - 20;
		break;
	case 10:
		if (len < 16) {
			count(m, NETFLOW_ERR_TRUNCATED);
			return NETFLOW_ERR_TRUNCATED;
		}
		h->length = rd16(buf + 2);
		h->unix_secs = rd32(buf + 4);
		h->seq = rd32(buf + 8);
		h->domain = rd32(buf + 12);
		if (h->length < 16) {
			count(m, NETFLOW_ERR_LENGTH);
			return NETFLOW_ERR_LENGTH;
		}
		m->p = buf + 16;
		if (h->length > len) {
			/* Decode what came, but say it was cut. */
			count(m, NETFLOW_ERR_TRUNCATED);
			m->cut = true;
			m->rem = len - 16;
		} else {
			/* Bytes after the message are not ours. */
			m->rem = h->length - 16;
		}
		break;
	default:
		count(m, NETFLOW_ERR_VERSION);
		return NETFLOW_ERR_VERSION;
	}
	m->done = false;
	return NETFLOW_OK;
}

enum netflow_err
netflow_open_set(struct netflow_msg *m, struct netflow_cache *cache,
    const struct netflow_hdr *hdr, uint16_t set_id, const uint8_t *body,
    size_t len, uint64_t now_ms)
{
	memset(m, 0, offsetof(struct netflow_msg, set));
	m->set.m = NULL;
	m->h = *hdr;
	m->cache = cache;
	m->dom = -1;
	m->now_ms = now_ms;
	m->base = body;
	m->p = body;
	m->rem = len;
	m->single = true;
	m->done = false;
	/* Only v9/IPFIX data sets are ever kept for a retry. */
	if ((hdr->version != 9 && hdr->version != 10) || set_id < 256 ||
	    len > 65535 - 4) {
		m->done = true;
		count(m, NETFLOW_ERR_LENGTH);
		return NETFLOW_ERR_LENGTH;
	}
	m->set.id = set_id;
	return NETFLOW_OK;
}

/*
 * The message's domain in the cache, or -1. Found once per message:
 * domains are made during a walk but only freed by expiry, between walks.
 */
static int64_t
msg_dom(struct netflow_msg *m)
{
	if (m->cache == NULL)
		return -1;
	if (m->dom < 0)
		m->dom = dom_find(
		    m->cache, &m->h.exporter, m->h.domain, m->h.version);
	return m->dom;
}

/* Look up and copy the set's template; returns false if unknown. */
static bool
set_template(struct netflow_msg *m, struct netflow_set *s)
{
	int64_t di = msg_dom(m);
	struct nf_domain *d;
	bool found;
	uint32_t at;

	if (di < 0)
		return false;
	d = &m->cache->d[di];
	at = t_find(d, s->id, &found);
	if (!found)
		return false;
	d->t[at].last_ms = m->now_ms;
	t_copy_out(&d->t[at], &s->t);
	return true;
}

/* Apply what is left of the current set (templates, options data). */
static void
set_drain(struct netflow_set *s)
{
	struct netflow_template t;
	struct netflow_rec r;

	if (s->done)
		return;
	switch (s->kind) {
	case NETFLOW_SET_TEMPLATE:
	case NETFLOW_SET_OPTIONS_TEMPLATE:
		while (netflow_template_next(s, &t, NULL) > 0)
			;
		break;
	case NETFLOW_SET_OPTIONS_DATA:
		while (netflow_record_next(s, &r) > 0)
			;
		break;
	default:
		break;
	}
	s->done = true;
}

static void
set_begin(struct netflow_msg *m, struct netflow_set *s, uint16_t id,
    const uint8_t *body, size_t len, uint32_t offset)
{
	uint16_t tid = m->h.version == 9 ? 0 : 2; /* template set ID */

	memset(s, 0, offsetof(struct netflow_set, t));
	s->t.id = 0;
	s->t.n_fields = 0;
	s->m = m;
	s->id = id;
	s->data = body;
	s->len = (uint32_t)len;
	s->offset = offset;
	s->p = body;
	s->rem = len;
	if (id == tid) {
		s->kind = NETFLOW_SET_TEMPLATE;
	} else if (id == tid + 1) {
		s->kind = NETFLOW_SET_OPTIONS_TEMPLATE;
	} else if (id < 256) {
		s->kind = NETFLOW_SET_UNKNOWN;
		s->status = NETFLOW_ERR_SET_ID;
		s->done = true;
		count(m, NETFLOW_ERR_SET_ID);
	} else if (set_template(m, s)) {
		s->kind =
		    s->t.options ? NETFLOW_SET_OPTIONS_DATA : NETFLOW_SET_DATA;
	} else {
		s->kind = NETFLOW_SET_UNKNOWN;
		s->status = NETFLOW_ERR_NO_TEMPLATE;
		s->done = true;
		count(m, NETFLOW_ERR_NO_TEMPLATE);
	}
}

struct netflow_set *
netflow_set_next(struct netflow_msg *m)
{
	struct netflow_set *s = &m->set;
	uint16_t id, slen;
	uint32_t offset;

	if (m->have_set) {
		set_drain(s);
		m->have_set = false;
	}
	if (m->done)
		return NULL;
	if (m->h.version == 5) {
		/* One pseudo-set: the records. */
		m->done = true;
		memset(s, 0, offsetof(struct netflow_set, t));
		s->m = m;
		s->kind = NETFLOW_SET_V5;
		s->data = m->p;
		s->len = (uint32_t)m->rem;
		s->offset = 24;
		s->p = m->p;
		s->rem = m->rem;
		if (m->rem < (size_t)m->h.count * 48)
			count(m, NETFLOW_ERR_TRUNCATED);
		m->have_set = true;
		m->n_sets++;
		return s;
	}
	if (m->single) {
		m->done = true;
		set_begin(m, s, m->set.id, m->p, m->rem, 0);
		m->have_set = true;
		m->n_sets++;
		return s;
	}
	/* Fewer than 4 bytes left: padding, not a set. */
	if (m->rem < 4) {
		m->done = true;
		return NULL;
	}
	offset = (uint32_t)(m->p - m->base);
	id = rd16(m->p);
	slen = rd16(m->p + 2);
	if (slen < 4 || slen > m->rem) {
		/*
		 * Zeros at the end of a v9 datagram are padding (some
		 * exporters pad to 4 bytes and more); past the end of a cut
		 * IPFIX message, the truncation was counted already.
		 */
		if (!(m->h.version == 9 && all_zero(m->p, m->rem)) &&
		    !(m->cut && slen > m->rem))
			count(m, NETFLOW_ERR_LENGTH);
		m->done = true;
		return NULL;
	}
	set_begin(m, s, id, m->p + 4, slen - 4u, offset);
	m->p += slen;
	m->rem -= slen;
	m->have_set = true;
	m->n_sets++;
	return s;
}

/* ---- template records -----------------------------------------------------
 */

/*
 * Parse one template record at s->p into *t. Returns 1 (parsed, maybe
 * inconsistent: the caller checks), 0 at the end of the set (padding),
 * -1 when the set cannot be walked further (counted).
 */
static int
parse_template(struct netflow_set *s, struct netflow_template *t)
{
	const uint8_t *p = s->p;
	size_t rem = s->rem, need;
	bool ipfix = s->m->h.version == 10;
	bool opts = s->kind == NETFLOW_SET_OPTIONS_TEMPLATE;
	uint32_t n, nscope;

	if (rem < 4 || all_zero(p, rem))
		return 0; /* padding */
	t->id = rd16(p);
	t->options = opts;
	t->n_scope = 0;
	if (!ipfix && opts) {
		/* v9: id, scope length, option length (bytes). */
		uint32_t sl, ol;

		if (rem < 6)
			goto bad;
		sl = rd16(p + 2);
		ol = rd16(p + 4);
		if (sl % 4 != 0 || ol % 4 != 0 || 6 + sl + ol > rem)
			goto bad;
		n = (sl + ol) / 4;
		nscope = sl / 4;
		p += 6;
		rem -= 6;
	} else {
		n = rd16(p + 2);
		p += 4;
		rem -= 4;
		nscope = 0;
		if (n == 0) {
			/* An IPFIX withdrawal (4 bytes, no scope count). */
			if (!ipfix)
				goto bad; /* v9 has no withdrawal */
			t->n_fields = 0;
			s->p = p;
			s->rem = rem;
			return 1;
		}
		if (opts) {
			if (rem < 2)
				goto bad;
			nscope = rd16(p);
			p += 2;
			rem -= 2;
		}
		/* Each field takes 4 bytes at least. */
		if (n > rem / 4)
			goto bad;
	}
	/*
	 * Walk every field, so that the record's end is known even when
	 * there are more fields than we keep.
	 */
	t->n_fields = n > NETFLOW_FIELDS_MAX ? 0 : (uint16_t)n;
	t->n_scope = (uint16_t)(nscope > n ? 0 : nscope);
	for (uint32_t i = 0; i < n; i++) {
		uint16_t id, len;
		uint32_t pen = 0;

		if (rem < 4)
			goto bad;
		id = rd16(p);
		len = rd16(p + 2);
		need = 4;
		if (ipfix && (id & 0x8000)) {
			if (rem < 8)
				goto bad;
			pen = rd32(p + 4);
			id &= 0x7fff;
			need = 8;
		}
		p += need;
		rem -= need;
		if (i < NETFLOW_FIELDS_MAX) {
			t->f[i].id = id;
			t->f[i].len = len;
			t->f[i].pen = pen;
		}
	}
	s->p = p;
	s->rem = rem;
	if (n > NETFLOW_FIELDS_MAX || nscope > n || (opts && nscope == 0)) {
		/* Absurd, but its length is known: the next one may do. */
		t->n_fields = 0;
		return 2;
	}
	return 1;
bad:
	/* Lengths we cannot trust: nothing after this can be found. */
	count(s->m, NETFLOW_ERR_TEMPLATE);
	s->p += s->rem;
	s->rem = 0;
	return -1;
}

int
netflow_template_next(struct netflow_set *s, struct netflow_template *t,
    enum netflow_tmpl_op *opp)
{
	struct netflow_msg *m = s->m;
	struct netflow_tkey k;
	enum netflow_tmpl_op op;
	enum netflow_err e;
	int rc;

	if (opp == NULL)
		opp = &op;
	if (s->done ||
	    (s->kind != NETFLOW_SET_TEMPLATE &&
	        s->kind != NETFLOW_SET_OPTIONS_TEMPLATE))
		return 0;
	rc = parse_template(s, t);
	if (rc <= 0) {
		s->done = true;
		return 0;
	}
	s->n_read++;
	if (rc == 2) {
		*opp = NETFLOW_TMPL_BAD;
		count(m, NETFLOW_ERR_TEMPLATE);
		return 1;
	}
	if (t->n_fields == 0) {
		/* IPFIX withdrawal: of one template, or of all (ID = set ID).
		 */
		int64_t di = msg_dom(m);

		*opp = t->id == s->id ? NETFLOW_TMPL_WITHDRAWN_ALL
		                      : NETFLOW_TMPL_WITHDRAWN;
		if (t->id < 256 && t->id != s->id) {
			*opp = NETFLOW_TMPL_BAD;
			count(m, NETFLOW_ERR_TEMPLATE);
		} else if (di >= 0) {
			cache_withdraw(m->cache, (uint32_t)di, t->id,
			    t->id == s->id,
			    s->kind == NETFLOW_SET_OPTIONS_TEMPLATE);
		}
		return 1;
	}
	if (netflow_template_check(t) != NETFLOW_OK) {
		*opp = NETFLOW_TMPL_BAD;
		count(m, NETFLOW_ERR_TEMPLATE);
		return 1;
	}
	if (m->cache == NULL) {
		*opp = NETFLOW_TMPL_NOT_KEPT;
		return 1;
	}
	memset(&k, 0, sizeof(k));
	k.exporter = m->h.exporter;
	k.domain = m->h.domain;
	k.version = m->h.version;
	k.id = t->id;
	e = netflow_cache_put(m->cache, &k, t, m->now_ms, opp);
	if (e != NETFLOW_OK)
		count(m, e);
	return 1;
}

/* ---- data records -----------------------------------------------------------
 */

/* Field values gathered from a record, with their precedence. */
struct gather {
	int ipver;
	bool v4s, v4d, v6s, v6d;
	uint8_t s4[4], d4[4], s6[16], d6[16];
	uint64_t bytes, packets;
	int bytes_pri, packets_pri; /* lower wins; 0 none */
	uint32_t in_if, out_if;
	int in_pri, out_pri;
	uint16_t vlan, post_vlan;
	int vlan_pri, post_vlan_pri;
	int smac_pri, dmac_pri;
	bool has_sys_first, has_sys_last;
	uint32_t sys_first, sys_last; /* sysUpTime ms */
	int first_pri, last_pri;
	bool has_init;
	int64_t init_ms;
	uint16_t icmp; /* type << 8 | code */
	bool has_icmp;
	/* sampling in the record */
	uint64_t rate_interval; /* samplingInterval, samplerRandomInterval */
	uint64_t pkt_interval, pkt_space; /* samplingPacketInterval/Space */
	uint64_t size, population;        /* samplingSize/Population */
	bool has_prob;
	double prob;
	bool has_sampler;
	uint64_t sampler;
	bool has_tmpl_scope;
	uint64_t tmpl_scope;
	uint32_t algorithm;
	const uint8_t *frame;
	uint32_t frame_len;
	int frame_pri;
	enum pkt_start frame_start;
};

/* Keep v if its precedence beats what is there (1 best). */
static bool
take(int *have, int pri)
{
	if (*have != 0 && *have <= pri)
		return false;
	*have = pri;
	return true;
}

/* NTP timestamp (seconds since 1900, fraction) to Unix ms. */
static bool
ntp_ms(uint64_t v, int64_t *ms)
{
	uint64_t sec = v >> 32, frac = v & 0xffffffffu;

	if (sec < 2208988800u)
		return false;
	*ms = (int64_t)(sec - 2208988800u) * 1000 +
	    (int64_t)((frac * 1000) >> 32);
	return true;
}

static void
set_first(struct netflow_rec *r, struct gather *g, int64_t ms, int pri)
{
	if (take(&g->first_pri, pri)) {
		r->first_ms = ms;
		r->have |= NETFLOW_HAVE_FIRST;
	}
}

static void
set_last(struct netflow_rec *r, struct gather *g, int64_t ms, int pri)
{
	if (take(&g->last_pri, pri)) {
		r->last_ms = ms;
		r->have |= NETFLOW_HAVE_LAST;
	}
}

/* One IANA field of a data or options record. */
static void
apply_field(struct netflow_rec *r, struct gather *g,
    const struct netflow_hdr *h, uint16_t id, const uint8_t *p, uint32_t len)
{
	uint64_t v = 0;
	bool num = rd_uint(p, len, &v);
	int64_t ms;

	switch (id) {
	case 1:   /* octetDeltaCount, IN_BYTES */
	case 85:  /* octetTotalCount */
	case 23:  /* postOctetDeltaCount, OUT_BYTES */
	case 231: /* initiatorOctets (NSEL) */
	case 312: /* dataLinkFrameSize: a sampled frame's length */
		if (num &&
		    take(&g->bytes_pri,
		        id == 1         ? 1
		            : id == 85  ? 2
		            : id == 23  ? 3
		            : id == 231 ? 4
		                        : 5)) {
			g->bytes = v;
			r->have |= NETFLOW_HAVE_BYTES;
		}
		if (num && id == 312)
			r->frame_size =
			    (uint32_t)(v > UINT32_MAX ? UINT32_MAX : v);
		break;
	case 2:   /* packetDeltaCount, IN_PKTS */
	case 86:  /* packetTotalCount */
	case 24:  /* postPacketDeltaCount, OUT_PKTS */
	case 298: /* initiatorPackets */
		if (num &&
		    take(&g->packets_pri,
		        id == 2        ? 1
		            : id == 86 ? 2
		            : id == 24 ? 3
		                       : 4)) {
			g->packets = v;
			r->have |= NETFLOW_HAVE_PACKETS;
		}
		break;
	case 4: /* protocolIdentifier */
		if (num) {
			r->proto = (uint8_t)v;
			r->have |= NETFLOW_HAVE_PROTO;
		}
		break;
	case 5: /* ipClassOfService */
		if (num) {
			r->tos = (uint8_t)v;
			r->have |= NETFLOW_HAVE_TOS;
		}
		break;
	case 6: /* tcpControlBits: 1 byte in v9, 2 in IPFIX */
		if (num) {
			r->tcp_flags = (uint16_t)v;
			r->have |= NETFLOW_HAVE_TCP_FLAGS;
		}
		break;
	case 7: /* sourceTransportPort */
		if (num) {
			r->src_port = (uint16_t)v;
			r->have |= NETFLOW_HAVE_SRC_PORT;
		}
		break;
	case 11: /* destinationTransportPort */
		if (num) {
			r->dst_port = (uint16_t)v;
			r->have |= NETFLOW_HAVE_DST_PORT;
		}
		break;
	case 8: /* sourceIPv4Address */
		if (len == 4) {
			memcpy(g->s4, p, 4);
			g->v4s = true;
		}
		break;
	case 12: /* destinationIPv4Address */
		if (len == 4) {
			memcpy(g->d4, p, 4);
			g->v4d = true;
		}
		break;
	case 27: /* sourceIPv6Address */
		if (len == 16) {
			memcpy(g->s6, p, 16);
			g->v6s = true;
		}
		break;
	case 28: /* destinationIPv6Address */
		if (len == 16) {
			memcpy(g->d6, p, 16);
			g->v6d = true;
		}
		break;
	case 15: /* ipNextHopIPv4Address */
	case 62: /* ipNextHopIPv6Address */
		if (len == 4 || len == 16) {
			r->next_hop.family = len == 4 ? 4 : 6;
			memset(r->next_hop.a, 0, 16);
			memcpy(r->next_hop.a, p, len);
			r->have |= NETFLOW_HAVE_NEXT_HOP;
		}
		break;
	case 18: /* bgpNextHopIPv4Address */
	case 63: /* bgpNextHopIPv6Address */
		if (len == 4 || len == 16) {
			/* Some send both, one of them zero: keep the other. */
			if ((r->have & NETFLOW_HAVE_BGP_NEXT_HOP) &&
			    all_zero(p, len))
				break;
			r->bgp_next_hop.family = len == 4 ? 4 : 6;
			memset(r->bgp_next_hop.a, 0, 16);
			memcpy(r->bgp_next_hop.a, p, len);
			r->have |= NETFLOW_HAVE_BGP_NEXT_HOP;
		}
		break;
	case 9:  /* sourceIPv4PrefixLength */
	case 29: /* sourceIPv6PrefixLength */
		if (num) {
			r->src_mask = (uint8_t)v;
			r->have |= NETFLOW_HAVE_MASKS;
		}
		break;
	case 13: /* destinationIPv4PrefixLength */
	case 30:
		if (num) {
			r->dst_mask = (uint8_t)v;
			r->have |= NETFLOW_HAVE_MASKS;
		}
		break;
	case 16: /* bgpSourceAsNumber */
		if (num) {
			r->src_as = (uint32_t)v;
			r->have |= NETFLOW_HAVE_AS;
		}
		break;
	case 17: /* bgpDestinationAsNumber */
		if (num) {
			r->dst_as = (uint32_t)v;
			r->have |= NETFLOW_HAVE_AS;
		}
		break;
	case 10:  /* ingressInterface */
	case 252: /* ingressPhysicalInterface */
		if (num && take(&g->in_pri, id == 10 ? 1 : 2)) {
			g->in_if = (uint32_t)v;
			r->have |= NETFLOW_HAVE_IN_IF;
		}
		break;
	case 14:  /* egressInterface */
	case 253: /* egressPhysicalInterface */
		if (num && take(&g->out_pri, id == 14 ? 1 : 2)) {
			g->out_if = (uint32_t)v;
			r->have |= NETFLOW_HAVE_OUT_IF;
		}
		break;
	case 61: /* flowDirection */
		if (num) {
			r->direction = (uint8_t)v;
			r->have |= NETFLOW_HAVE_DIRECTION;
		}
		break;
	case 58:  /* vlanId (v9 SRC_VLAN) */
	case 243: /* dot1qVlanId */
		if (num && take(&g->vlan_pri, id == 58 ? 1 : 2)) {
			g->vlan = (uint16_t)v;
			r->have |= NETFLOW_HAVE_VLAN;
		}
		break;
	case 59:  /* postVlanId (v9 DST_VLAN) */
	case 254: /* postDot1qVlanId */
		if (num && take(&g->post_vlan_pri, id == 59 ? 1 : 2)) {
			g->post_vlan = (uint16_t)v;
			r->have |= NETFLOW_HAVE_POST_VLAN;
		}
		break;
	case 56: /* sourceMacAddress (IN_SRC_MAC) */
	case 81: /* postSourceMacAddress (OUT_SRC_MAC) */
		if (len == 6 && take(&g->smac_pri, id == 56 ? 1 : 2)) {
			memcpy(r->src_mac, p, 6);
			r->have |= NETFLOW_HAVE_SRC_MAC;
		}
		break;
	case 80: /* destinationMacAddress (IN_DST_MAC) */
	case 57: /* postDestinationMacAddress (OUT_DST_MAC) */
		if (len == 6 && take(&g->dmac_pri, id == 80 ? 1 : 2)) {
			memcpy(r->dst_mac, p, 6);
			r->have |= NETFLOW_HAVE_DST_MAC;
		}
		break;
	case 60: /* ipVersion */
		if (num)
			g->ipver = (int)v;
		break;
	case 192: /* ipTTL */
		if (num) {
			r->ttl = (uint8_t)v;
			r->have |= NETFLOW_HAVE_TTL;
		}
		break;
	case 32:  /* icmpTypeCodeIPv4 */
	case 139: /* icmpTypeCodeIPv6 */
		if (num && len == 2) {
			g->icmp = (uint16_t)v;
			g->has_icmp = true;
		}
		break;
	case 176: /* icmpTypeIPv4 */
	case 178: /* icmpTypeIPv6 */
		if (num) {
			g->icmp =
			    (uint16_t)((g->icmp & 0xff) | (v & 0xff) << 8);
			g->has_icmp = true;
		}
		break;
	case 177: /* icmpCodeIPv4 */
	case 179: /* icmpCodeIPv6 */
		if (num) {
			g->icmp = (uint16_t)((g->icmp & 0xff00) | (v & 0xff));
			g->has_icmp = true;
		}
		break;
	case 89: /* forwardingStatus: 1 byte, or 4 with the status low */
		if (num) {
			r->fwd_status = (uint8_t)v;
			r->have |= NETFLOW_HAVE_FWD_STATUS;
		}
		break;
	case 22: /* flowStartSysUpTime (FIRST_SWITCHED) */
		if (num && len <= 4) {
			g->sys_first = (uint32_t)v;
			g->has_sys_first = true;
		}
		break;
	case 21: /* flowEndSysUpTime (LAST_SWITCHED) */
		if (num && len <= 4) {
			g->sys_last = (uint32_t)v;
			g->has_sys_last = true;
		}
		break;
	case 160: /* systemInitTimeMilliseconds */
		if (num) {
			/* Bounded, so that adding an uptime cannot overflow. */
			g->has_init = true;
			g->init_ms = (int64_t)(v & ((1ull << 62) - 1));
		}
		break;
	case 150: /* flowStartSeconds */
		if (num)
			set_first(r, g, (int64_t)(v & 0xffffffffu) * 1000, 4);
		break;
	case 151: /* flowEndSeconds */
		if (num)
			set_last(r, g, (int64_t)(v & 0xffffffffu) * 1000, 4);
		break;
	case 152: /* flowStartMilliseconds */
		if (num)
			set_first(r, g, (int64_t)(v & INT64_MAX), 1);
		break;
	case 153: /* flowEndMilliseconds */
		if (num)
			set_last(r, g, (int64_t)(v & INT64_MAX), 1);
		break;
	case 154: /* flowStartMicroseconds (NTP) */
	case 156: /* flowStartNanoseconds (NTP) */
		if (num && len == 8 && ntp_ms(v, &ms))
			set_first(r, g, ms, 2);
		break;
	case 155: /* flowEndMicroseconds */
	case 157: /* flowEndNanoseconds */
		if (num && len == 8 && ntp_ms(v, &ms))
			set_last(r, g, ms, 2);
		break;
	case 158: /* flowStartDeltaMicroseconds: before the export */
		if (num && len <= 4)
			set_first(r, g,
			    (int64_t)h->unix_secs * 1000 - (int64_t)(v / 1000),
			    3);
		break;
	case 159: /* flowEndDeltaMicroseconds */
		if (num && len <= 4)
			set_last(r, g,
			    (int64_t)h->unix_secs * 1000 - (int64_t)(v / 1000),
			    3);
		break;
	case 34: /* samplingInterval */
	case 50: /* samplerRandomInterval */
		if (num && v > 0)
			g->rate_interval = v;
		break;
	case 305: /* samplingPacketInterval */
		if (num)
			g->pkt_interval = v;
		break;
	case 306: /* samplingPacketSpace */
		if (num)
			g->pkt_space = v;
		break;
	case 309: /* samplingSize */
		if (num)
			g->size = v;
		break;
	case 310: /* samplingPopulation */
		if (num)
			g->population = v;
		break;
	case 311: /* samplingProbability: float64 */
		if (len == 8) {
			double d;

			memcpy(&d, &v, sizeof(d));
			if (d > 0 && d <= 1) {
				g->has_prob = true;
				g->prob = d;
			}
		}
		break;
	case 35:  /* samplingAlgorithm */
	case 49:  /* samplerMode */
	case 304: /* selectorAlgorithm */
		if (num)
			g->algorithm = (uint32_t)v;
		break;
	case 48:  /* samplerId (v9 FLOW_SAMPLER_ID) */
	case 302: /* selectorId */
		if (num) {
			g->has_sampler = true;
			g->sampler = v;
			r->sampler_id = (uint32_t)v;
			r->have |= NETFLOW_HAVE_SAMPLER_ID;
		}
		break;
	case 145: /* templateId (an options scope) */
		if (num) {
			g->has_tmpl_scope = true;
			g->tmpl_scope = v;
		}
		break;
	case 315: /* dataLinkFrameSection */
		if (len > 0 && take(&g->frame_pri, 1)) {
			g->frame = p;
			g->frame_len = len;
			g->frame_start = PKT_START_ETHERNET;
		}
		break;
	case 313: /* ipHeaderPacketSection */
		if (len > 0 && take(&g->frame_pri, 2)) {
			g->frame = p;
			g->frame_len = len;
			g->frame_start =
			    (p[0] >> 4) == 6 ? PKT_START_IPV6 : PKT_START_IPV4;
		}
		break;
	default:
		break; /* not a field fabmon uses */
	}
}

/* v9 options scope fields have their own numbering (RFC 3954 §6.1). */
static void
apply_v9_scope(struct gather *g, struct netflow_rec *r, uint16_t type,
    const uint8_t *p, uint32_t len)
{
	uint64_t v;

	if (!rd_uint(p, len, &v))
		return;
	switch (type) {
	case 2: /* interface */
		if (take(&g->in_pri, 1)) {
			g->in_if = (uint32_t)v;
			r->have |= NETFLOW_HAVE_IN_IF;
		}
		break;
	case 5: /* template */
		g->has_tmpl_scope = true;
		g->tmpl_scope = v;
		break;
	default: /* system, line card, cache: the whole exporter */
		break;
	}
}

/* The rate a record's sampling fields give, 0 if none. */
static uint32_t
gather_rate(const struct gather *g)
{
	uint64_t rate = 0;

	if (g->rate_interval > 0)
		rate = g->rate_interval;
	else if (g->pkt_interval > 0)
		rate = (g->pkt_interval + g->pkt_space) / g->pkt_interval;
	else if (g->size > 0 && g->population >= g->size)
		rate = g->population / g->size;
	else if (g->has_prob)
		rate = 1.0 / g->prob + 0.5 >= 4294967295.0
		    ? UINT32_MAX
		    : (uint64_t)(1.0 / g->prob + 0.5);
	if (rate > UINT32_MAX)
		rate = UINT32_MAX;
	return (uint32_t)rate;
}

/*
 * An Ethernet frame carrying MPLS (RFC 3032): keep the outer MACs and VLAN,
 * skip the label stack, and parse what the bottom label carries: IPv4,
 * IPv6, or a pseudowire control word and an Ethernet frame (RFC 4448).
 */
static void
frame_mpls(struct netflow_rec *r, const struct gather *g)
{
	const struct pkt_layers *l = &r->pkt.outer;
	size_t off, n = 0;
	enum pkt_start start;

	if (g->frame_start != PKT_START_ETHERNET || l->ip_version != 0 ||
	    !l->ethertype_valid ||
	    (l->ethertype != 0x8847 && l->ethertype != 0x8848))
		return;
	off = 14 + 4 * (size_t)l->n_vlans;
	for (;;) {
		if (off + 4 > g->frame_len || n == 255)
			return;
		n++;
		off += 4;
		if (g->frame[off - 2] & 1) /* bottom of stack */
			break;
	}
	if (off >= g->frame_len)
		return;
	switch (g->frame[off] >> 4) {
	case 4:
		start = PKT_START_IPV4;
		break;
	case 6:
		start = PKT_START_IPV6;
		break;
	case 0:
		start = PKT_START_ETHERNET;
		off += 4;
		break;
	default:
		return;
	}
	if (l->has_eth) {
		memcpy(r->src_mac, l->src_mac, 6);
		memcpy(r->dst_mac, l->dst_mac, 6);
		r->have |= NETFLOW_HAVE_SRC_MAC | NETFLOW_HAVE_DST_MAC;
	}
	if (l->n_vlans > 0 && !(r->have & NETFLOW_HAVE_VLAN)) {
		r->vlan = l->vlan[0];
		r->have |= NETFLOW_HAVE_VLAN;
	}
	r->mpls_labels = (uint8_t)n;
	if (off > g->frame_len)
		off = g->frame_len;
	pkt_parse(g->frame + off, g->frame_len - off, start, &r->pkt);
}

static void
fill_from_frame(struct netflow_rec *r, struct gather *g)
{
	const struct pkt_layers *l = &r->pkt.outer;

	pkt_parse(g->frame, g->frame_len, g->frame_start, &r->pkt);
	frame_mpls(r, g);
	r->frame = g->frame;
	r->frame_len = g->frame_len;
	r->frame_start = g->frame_start;
	r->have |= NETFLOW_HAVE_FRAME;
	/* The fields of the record win; the frame fills the gaps. */
	if (l->ip_version != 0 && !(g->v4s || g->v4d || g->v6s || g->v6d)) {
		size_t n = l->ip_version == 4 ? 4 : 16;

		r->ip_version = l->ip_version;
		r->src.family = r->dst.family = l->ip_version;
		memcpy(r->src.a, l->src_ip, n);
		memcpy(r->dst.a, l->dst_ip, n);
		r->have |= NETFLOW_HAVE_SRC_ADDR | NETFLOW_HAVE_DST_ADDR;
	}
	if (l->ip_version != 0) {
		if (!(r->have & NETFLOW_HAVE_PROTO)) {
			r->proto = l->ip_proto;
			r->have |= NETFLOW_HAVE_PROTO;
		}
		if (!(r->have & NETFLOW_HAVE_TOS)) {
			r->tos = l->ip_tos;
			r->have |= NETFLOW_HAVE_TOS;
		}
		if (!(r->have & NETFLOW_HAVE_TTL)) {
			r->ttl = l->ip_ttl;
			r->have |= NETFLOW_HAVE_TTL;
		}
	}
	if (l->has_l4 && (l->ip_proto == 6 || l->ip_proto == 17)) {
		if (!(r->have & NETFLOW_HAVE_SRC_PORT)) {
			r->src_port = l->src_port;
			r->have |= NETFLOW_HAVE_SRC_PORT;
		}
		if (!(r->have & NETFLOW_HAVE_DST_PORT)) {
			r->dst_port = l->dst_port;
			r->have |= NETFLOW_HAVE_DST_PORT;
		}
	}
	if (l->has_tcp_flags && l->ip_proto == 6 &&
	    !(r->have & NETFLOW_HAVE_TCP_FLAGS)) {
		r->tcp_flags = l->tcp_flags;
		r->have |= NETFLOW_HAVE_TCP_FLAGS;
	}
	if (l->has_l4 && (l->ip_proto == 1 || l->ip_proto == 58) &&
	    !g->has_icmp) {
		g->has_icmp = true;
		g->icmp = (uint16_t)(l->icmp_type << 8 | l->icmp_code);
	}
	if (l->has_eth) {
		if (!(r->have & NETFLOW_HAVE_SRC_MAC)) {
			memcpy(r->src_mac, l->src_mac, 6);
			r->have |= NETFLOW_HAVE_SRC_MAC;
		}
		if (!(r->have & NETFLOW_HAVE_DST_MAC)) {
			memcpy(r->dst_mac, l->dst_mac, 6);
			r->have |= NETFLOW_HAVE_DST_MAC;
		}
	}
	if (l->n_vlans > 0 && !(r->have & NETFLOW_HAVE_VLAN)) {
		r->vlan = l->vlan[0];
		r->have |= NETFLOW_HAVE_VLAN;
	}
	if (!(r->have & NETFLOW_HAVE_BYTES) && l->ip_version != 0) {
		r->bytes = (uint64_t)l->l3_off + l->ip_len;
		r->have |= NETFLOW_HAVE_BYTES;
	}
	if (!(r->have & NETFLOW_HAVE_PACKETS)) {
		r->packets = 1;
		r->have |= NETFLOW_HAVE_PACKETS;
	}
}

/* Once every field is in: addresses, times, ICMP, sampling. */
static void
finish_record(struct netflow_rec *r, struct gather *g, struct netflow_msg *m,
    const struct netflow_template *t)
{
	const struct netflow_hdr *h = &m->h;
	bool v6 = false;
	int64_t export_ms = (int64_t)h->unix_secs * 1000 +
	    (h->version == 5 ? h->unix_nsecs / 1000000 : 0);

	/*
	 * Some templates carry both families (one of them zero): the
	 * ipVersion field decides, else the family that has an address.
	 */
	if (g->ipver == 6)
		v6 = g->v6s || g->v6d;
	else if (g->ipver != 4)
		v6 = (g->v6s || g->v6d) &&
		    (!(g->v4s || g->v4d) ||
		        ((all_zero(g->s4, 4) && all_zero(g->d4, 4)) &&
		            !(all_zero(g->s6, 16) && all_zero(g->d6, 16))));
	if (v6 || !(g->v4s || g->v4d))
		v6 = g->v6s || g->v6d;
	if (v6) {
		r->ip_version = 6;
		if (g->v6s) {
			r->src.family = 6;
			memcpy(r->src.a, g->s6, 16);
			r->have |= NETFLOW_HAVE_SRC_ADDR;
		}
		if (g->v6d) {
			r->dst.family = 6;
			memcpy(r->dst.a, g->d6, 16);
			r->have |= NETFLOW_HAVE_DST_ADDR;
		}
	} else if (g->v4s || g->v4d) {
		r->ip_version = 4;
		if (g->v4s) {
			r->src.family = 4;
			memcpy(r->src.a, g->s4, 4);
			r->have |= NETFLOW_HAVE_SRC_ADDR;
		}
		if (g->v4d) {
			r->dst.family = 4;
			memcpy(r->dst.a, g->d4, 4);
			r->have |= NETFLOW_HAVE_DST_ADDR;
		}
	}
	r->in_if = g->in_if;
	r->out_if = g->out_if;
	r->vlan = g->vlan;
	r->post_vlan = g->post_vlan;
	r->bytes = g->bytes;
	r->packets = g->packets;
	if (g->frame != NULL)
		fill_from_frame(r, g);

	/* sysUpTime-relative times: v9 from the header, IPFIX from the
	 * exporter's init time (in the record or its options). */
	if (g->has_sys_first || g->has_sys_last) {
		bool have_base = false;
		int64_t init = 0;
		int64_t di;

		if (h->version != 10) {
			have_base = true;
			init = export_ms - (int64_t)h->uptime_ms;
		} else if (g->has_init) {
			have_base = true;
			init = g->init_ms;
		} else if ((di = msg_dom(m)) >= 0 && m->cache->d[di].has_init) {
			have_base = true;
			init = m->cache->d[di].init_ms;
		}
		if (have_base && h->version != 10) {
			/* Relative to the export: uptime may have wrapped. */
			if (g->has_sys_first)
				set_first(r, g,
				    export_ms -
				        (int64_t)(int32_t)(h->uptime_ms -
				            g->sys_first),
				    5);
			if (g->has_sys_last)
				set_last(r, g,
				    export_ms -
				        (int64_t)(int32_t)(h->uptime_ms -
				            g->sys_last),
				    5);
		} else if (have_base) {
			if (g->has_sys_first)
				set_first(r, g, init + g->sys_first, 5);
			if (g->has_sys_last)
				set_last(r, g, init + g->sys_last, 5);
		}
	}

	/* ICMP: a field, else the type/code that exporters put in the
	 * destination port of ICMP flows (type << 8 | code). */
	if (g->has_icmp) {
		r->icmp_type = (uint8_t)(g->icmp >> 8);
		r->icmp_code = (uint8_t)g->icmp;
		r->have |= NETFLOW_HAVE_ICMP;
	} else if ((r->have & NETFLOW_HAVE_PROTO) &&
	    (r->proto == 1 || r->proto == 58) &&
	    (r->have & NETFLOW_HAVE_DST_PORT)) {
		r->icmp_type = (uint8_t)(r->dst_port >> 8);
		r->icmp_code = (uint8_t)r->dst_port;
		r->have |= NETFLOW_HAVE_ICMP;
	}

	if (r->options) {
		uint32_t rate = gather_rate(g);

		r->opt.algorithm = g->algorithm;
		if (g->has_init) {
			r->opt.has_init_ms = true;
			r->opt.init_ms = g->init_ms;
		}
		if (rate > 0) {
			r->opt.rate = rate;
			if (g->has_sampler) {
				r->opt.scope = NETFLOW_OPT_SAMPLER;
				r->opt.key = g->sampler;
			} else if (g->has_tmpl_scope) {
				r->opt.scope = NETFLOW_OPT_TEMPLATE;
				r->opt.key = g->tmpl_scope;
			} else {
				r->opt.scope = NETFLOW_OPT_EXPORTER;
			}
		}
		r->sampling_rate = 1;
		return;
	}

	/* Sampling: the record, its sampler, its template, the domain. */
	r->sampling_rate = gather_rate(g);
	if (r->sampling_rate > 0) {
		r->sampling_src = NETFLOW_SAMPLING_RECORD;
	} else if (h->version == 5) {
		r->sampling_rate = h->sampling & 0x3fff;
		if (r->sampling_rate > 0)
			r->sampling_src = NETFLOW_SAMPLING_HEADER;
	} else {
		int64_t di = msg_dom(m);
		const struct nf_domain *d = di >= 0 ? &m->cache->d[di] : NULL;

		for (uint32_t i = 0; d != NULL && i < d->n_samplers; i++) {
			const struct nf_sampler *sp = &d->samplers[i];

			if (sp->scope == NETFLOW_OPT_SAMPLER &&
			    g->has_sampler && sp->key == g->sampler) {
				r->sampling_rate = sp->rate;
				r->sampling_src = NETFLOW_SAMPLING_SAMPLER;
				break;
			}
		}
		for (uint32_t i = 0;
		     d != NULL && r->sampling_rate == 0 && i < d->n_samplers;
		     i++) {
			const struct nf_sampler *sp = &d->samplers[i];

			if (sp->scope == NETFLOW_OPT_TEMPLATE && t != NULL &&
			    sp->key == t->id) {
				r->sampling_rate = sp->rate;
				r->sampling_src = NETFLOW_SAMPLING_TEMPLATE;
			}
		}
		if (r->sampling_rate == 0 && d != NULL && d->default_rate) {
			r->sampling_rate = d->default_rate;
			r->sampling_src = NETFLOW_SAMPLING_EXPORTER;
		}
	}
	if (r->sampling_rate == 0) {
		r->sampling_rate = 1;
		r->sampling_src = NETFLOW_SAMPLING_NONE;
	}
	r->scaled_bytes = sat_mul(r->bytes, r->sampling_rate);
	r->scaled_packets = sat_mul(r->packets, r->sampling_rate);
}

/* A v5 record: 48 bytes, fixed. */
static void
v5_record(struct netflow_msg *m, const uint8_t *p, struct netflow_rec *r)
{
	struct gather g;

	memset(&g, 0, sizeof(g));
	memcpy(g.s4, p, 4);
	memcpy(g.d4, p + 4, 4);
	g.v4s = g.v4d = true;
	r->next_hop.family = 4;
	memcpy(r->next_hop.a, p + 8, 4);
	g.in_if = rd16(p + 12);
	g.out_if = rd16(p + 14);
	g.packets = rd32(p + 16);
	g.bytes = rd32(p + 20);
	g.sys_first = rd32(p + 24);
	g.sys_last = rd32(p + 28);
	g.has_sys_first = g.has_sys_last = true;
	r->src_port = rd16(p + 32);
	r->dst_port = rd16(p + 34);
	r->tcp_flags = p[37];
	r->proto = p[38];
	r->tos = p[39];
	r->src_as = rd16(p + 40);
	r->dst_as = rd16(p + 42);
	r->src_mask = p[44];
	r->dst_mask = p[45];
	r->have = NETFLOW_HAVE_NEXT_HOP | NETFLOW_HAVE_IN_IF |
	    NETFLOW_HAVE_OUT_IF | NETFLOW_HAVE_PACKETS | NETFLOW_HAVE_BYTES |
	    NETFLOW_HAVE_SRC_PORT | NETFLOW_HAVE_DST_PORT |
	    NETFLOW_HAVE_TCP_FLAGS | NETFLOW_HAVE_PROTO | NETFLOW_HAVE_TOS |
	    NETFLOW_HAVE_AS | NETFLOW_HAVE_MASKS;
	finish_record(r, &g, m, NULL);
}

/* The length of a field in the record at p (rem left); -1 if it overruns. */
static int64_t
field_len(const struct netflow_field *f, const uint8_t **p, size_t *rem)
{
	uint32_t n;

	if (f->len != NETFLOW_VARLEN)
		return f->len <= *rem ? (int64_t)f->len : -1;
	if (*rem < 1)
		return -1;
	n = (*p)[0];
	*p += 1;
	*rem -= 1;
	if (n == 255) {
		if (*rem < 2)
			return -1;
		n = rd16(*p);
		*p += 2;
		*rem -= 2;
	}
	return n <= *rem ? (int64_t)n : -1;
}

int
netflow_record_next(struct netflow_set *s, struct netflow_rec *r)
{
	struct netflow_msg *m = s->m;
	const struct netflow_template *t = &s->t;
	const uint8_t *p;
	size_t rem;
	struct gather g;

	memset(r, 0, sizeof(*r));
	if (s->done)
		return 0;
	if (s->kind == NETFLOW_SET_V5) {
		if (s->n_read >= m->h.count || s->rem < 48) {
			s->done = true;
			return 0;
		}
		r->data = s->p;
		r->len = 48;
		v5_record(m, s->p, r);
		s->p += 48;
		s->rem -= 48;
		s->n_read++;
		m->n_records++;
		if (m->cache != NULL)
			m->cache->st.records++;
		return 1;
	}
	if (s->kind != NETFLOW_SET_DATA &&
	    s->kind != NETFLOW_SET_OPTIONS_DATA) {
		s->done = true;
		return 0;
	}
	/* Less than the shortest record: padding. */
	if (s->rem < t->min_len || s->rem == 0) {
		s->done = true;
		return 0;
	}
	memset(&g, 0, sizeof(g));
	p = s->p;
	rem = s->rem;
	r->template_id = t->id;
	r->options = t->options;
	r->data = p;
	for (uint16_t i = 0; i < t->n_fields; i++) {
		const struct netflow_field *f = &t->f[i];
		int64_t n = field_len(f, &p, &rem);

		if (n < 0) {
			/* A variable length past the set: nothing more. */
			count(m, NETFLOW_ERR_RECORD);
			s->done = true;
			memset(r, 0, sizeof(*r));
			return 0;
		}
		if (f->pen == 0) {
			if (m->h.version == 9 && i < t->n_scope)
				apply_v9_scope(&g, r, f->id, p, (uint32_t)n);
			else
				apply_field(
				    r, &g, &m->h, f->id, p, (uint32_t)n);
		}
		p += n;
		rem -= (size_t)n;
	}
	r->len = (uint32_t)(p - r->data);
	s->p = p;
	s->rem = rem;
	s->n_read++;
	m->n_records++;
	finish_record(r, &g, m, t);
	if (m->cache != NULL) {
		if (r->options) {
			m->cache->st.options_records++;
			cache_sampler(m->cache, &m->h, r);
		} else {
			m->cache->st.records++;
		}
	}
	return 1;
}

/* ---- sniffing -------------------------------------------------------------
 */

bool
netflow_sniff(const uint8_t *buf, size_t len)
{
	uint16_t count, id, slen;

	if (len < 4)
		return false;
	switch (rd16(buf)) {
	case 5:
		count = rd16(buf + 2);
		return count >= 1 && count <= NETFLOW_V5_MAX &&
		    len >= 24 + (size_t)count * 48;
	case 9:
		if (len < 24)
			return false;
		id = rd16(buf + 20);
		slen = rd16(buf + 22);
		return (id <= 1 || id >= 256) && slen >= 4 && slen <= len - 20;
	case 10:
		return len >= 16 && rd16(buf + 2) == len;
	default:
		return false;
	}
}

/* ---- the engine's record ----------------------------------------------------
 */

/* The outer layer from the record's fields. */
static void
layer_from_fields(struct flowrec_layer *l, const struct netflow_rec *r)
{
	bool ip = (r->have & (NETFLOW_HAVE_SRC_ADDR | NETFLOW_HAVE_DST_ADDR)) &&
	    (r->ip_version == 4 || r->ip_version == 6);

	memset(l, 0, sizeof(*l));
	if ((r->have & NETFLOW_HAVE_SRC_MAC) &&
	    (r->have & NETFLOW_HAVE_DST_MAC)) {
		l->have |= FLOWREC_ETH;
		memcpy(l->src_mac, r->src_mac, 6);
		memcpy(l->dst_mac, r->dst_mac, 6);
		flowrec_stack_cat(l->stack, sizeof(l->stack), "eth");
	}
	if (!ip)
		return;
	l->have |=
	    (r->ip_version == 4 ? FLOWREC_IP4 : FLOWREC_IP6) | FLOWREC_ETHTYPE;
	l->ethertype = r->ip_version == 4 ? 0x0800 : 0x86dd;
	memcpy(l->src_ip, r->src.a, 16);
	memcpy(l->dst_ip, r->dst.a, 16);
	l->ip_proto = r->proto;
	l->ip_tos = r->tos;
	if (r->have & NETFLOW_HAVE_TTL) {
		l->have |= FLOWREC_TTL;
		l->ip_ttl = r->ttl;
	}
	flowrec_stack_cat(
	    l->stack, sizeof(l->stack), r->ip_version == 4 ? "ip" : "ip6");
	if (!(r->have & NETFLOW_HAVE_PROTO))
		return;
	switch (r->proto) {
	case 6:
	case 17:
		if ((r->have & NETFLOW_HAVE_SRC_PORT) &&
		    (r->have & NETFLOW_HAVE_DST_PORT)) {
			l->have |= FLOWREC_PORTS;
			l->src_port = r->src_port;
			l->dst_port = r->dst_port;
		}
		if (r->proto == 6 && (r->have & NETFLOW_HAVE_TCP_FLAGS)) {
			l->have |= FLOWREC_TCPFLAGS;
			l->tcp_flags = (uint8_t)r->tcp_flags;
		}
		flowrec_stack_cat(
		    l->stack, sizeof(l->stack), r->proto == 6 ? "tcp" : "udp");
		break;
	case 1:
	case 58:
		if (r->have & NETFLOW_HAVE_ICMP) {
			l->have |= FLOWREC_ICMP;
			l->icmp_type = r->icmp_type;
			l->icmp_code = r->icmp_code;
		}
		flowrec_stack_cat(l->stack, sizeof(l->stack),
		    r->proto == 1 ? "icmp" : "icmp6");
		break;
	}
}

/*
 * forwardingStatus reason codes (RFC 7270 §4.12) as sFlow discard
 * reasons, where one fits; "unknown" (256) otherwise.
 */
static uint32_t
drop_reason(uint8_t fwd)
{
	switch (fwd & 0x3f) {
	case 1:             /* ACL deny */
	case 2:             /* ACL drop */
		return 258; /* acl */
	case 3:             /* unroutable */
		return 0;   /* net_unreachable */
	case 5:             /* fragmentation and DF set */
		return 4;   /* frag_needed */
	case 7:             /* bad header checksum */
	case 8:             /* bad total length */
	case 9:             /* bad header length */
		return 275; /* ip_header_corrupted */
	case 10:            /* bad TTL */
		return 257; /* ttl_exceeded */
	case 11:            /* policer */
		return 261; /* traffic_shaping */
	default:
		return 256; /* unknown */
	}
}

int
netflow_to_flowrec(struct flow_rec *fr, const struct netflow_rec *r,
    const struct netflow_hdr *h)
{
	uint64_t packets, rate;

	memset(fr, 0, sizeof(*fr));
	if (r->options)
		return -1;
	fr->agent = h->exporter;
	fr->sample_tag = SFLOW_SAMPLE_FLOW;
	fr->source_type = 0;
	fr->input.format = SFLOW_IF_INDEX;
	fr->input.value = r->in_if;
	fr->output.format = SFLOW_IF_INDEX;
	fr->output.value = r->out_if;
	fr->source_index =
	    (r->have & NETFLOW_HAVE_DIRECTION) && r->direction == 1 ? r->out_if
	                                                            : r->in_if;
	if ((r->have & NETFLOW_HAVE_FWD_STATUS) && (r->fwd_status >> 6) == 2) {
		fr->discard_ifindex = r->out_if;
		fr->output.format = SFLOW_IF_DISCARD;
		fr->output.value = drop_reason(r->fwd_status);
		fr->discard_reason = fr->output.value;
	}

	/* One "sample" of frame_length bytes weighed rate * packets. */
	packets = r->packets > 0 ? r->packets : 1;
	rate = sat_mul(packets, r->sampling_rate ? r->sampling_rate : 1);
	fr->sampling_rate = rate > UINT32_MAX ? UINT32_MAX : (uint32_t)rate;
	fr->frame_length = (uint32_t)(r->bytes / packets > UINT32_MAX
	        ? UINT32_MAX
	        : (r->bytes + packets / 2) / packets);

	if (r->have & NETFLOW_HAVE_FRAME) {
		fr->has_header = true;
		fr->header_protocol = (uint32_t)r->frame_start;
		flowrec_layer_from_pkt(&fr->l[0], &r->pkt.outer);
		fr->n_layers = 1;
		if (r->pkt.has_inner) {
			flowrec_layer_from_pkt(&fr->l[1], &r->pkt.inner);
			fr->vxlan_vni = r->pkt.vxlan_vni;
			fr->n_layers = 2;
		}
	} else {
		layer_from_fields(&fr->l[0], r);
		if (fr->l[0].have != 0)
			fr->n_layers = 1;
	}
	if (r->mpls_labels > 0) {
		/* The outer Ethernet and the labels, then what they carry. */
		char st[PKT_STACK_LEN] = "eth.mpls";

		if (!(fr->l[0].have & FLOWREC_ETH)) {
			fr->l[0].have |= FLOWREC_ETH;
			memcpy(fr->l[0].src_mac, r->src_mac, 6);
			memcpy(fr->l[0].dst_mac, r->dst_mac, 6);
		}
		flowrec_stack_cat(st, sizeof(st), fr->l[0].stack);
		memcpy(fr->l[0].stack, st, sizeof(st));
	}
	if (fr->n_layers > 0)
		flowrec_stack_cat(fr->stack, sizeof(fr->stack), fr->l[0].stack);
	if (fr->n_layers > 1)
		flowrec_stack_cat(fr->stack, sizeof(fr->stack), fr->l[1].stack);
	if (r->have & (NETFLOW_HAVE_VLAN | NETFLOW_HAVE_POST_VLAN)) {
		fr->has_switch = true;
		fr->src_vlan = (r->have & NETFLOW_HAVE_VLAN) ? r->vlan : 0;
		fr->dst_vlan = (r->have & NETFLOW_HAVE_POST_VLAN)
		    ? r->post_vlan
		    : fr->src_vlan;
	}
	return 0;
}
