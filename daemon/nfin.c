/*
 * nfin.c: NetFlow v5/v9 and IPFIX ingest, run by the ingest thread; see
 * nfin.h. Everything here belongs to that thread; nfin_snapshot() copies
 * the counters for the API.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "flowrec.h"
#include "jsonlog.h"
#include "log.h"
#include "nfin.h"
#include "nftmpl.h"
#include "store.h"
#include "util.h"

#define EXP_SLOTS (2 * NFIN_MAX_EXPORTERS) /* a power of two */

/* A template the HA peer offered, checked (nfin_offer). */
struct offer {
	struct netflow_tkey k;
	struct netflow_template t;
};

/* A data set that came before its template. */
struct pend {
	struct netflow_hdr h; /* h.exporter: who sent it */
	uint16_t set_id;
	uint32_t len;
	uint8_t *data;
	uint64_t mono_ms;
};

struct nfin {
	struct nfin_conf conf;
	struct engine *engine;
	struct store *store;
	struct netflow_cache *cache;
	uint64_t k0, k1;

	struct nfin_exporter *ex; /* dense */
	size_t n_ex;
	uint32_t slot[EXP_SLOTS]; /* index + 1 into ex, 0 empty */
	uint64_t exporters_overflow;
	uint64_t datagrams, records;

	struct pend pend[NFIN_PENDING_MAX];
	size_t n_pend;
	uint64_t pend_bytes;

	struct netflow_tkey *persisted; /* what the store holds */
	size_t n_persisted;
	bool sync; /* templates went without a withdrawal: check the store */
	uint64_t restored;
	uint64_t last_expire_ms;

	/* templates the HA peer offered (nfin_offer), for the next tick */
	pthread_mutex_t mu;
	struct offer *offers[NFIN_OFFERS_MAX];
	size_t n_offers;
	uint64_t offers_refused; /* the queue was full */
	uint64_t peer_learned, peer_had, peer_bad;

	struct netflow_msg msg;
	struct netflow_template t;
	struct log_ratelimit rl;
};

struct nfin *
nfin_new(const struct nfin_conf *c, struct engine *engine, struct store *st)
{
	struct nfin *n = xcalloc(1, sizeof(*n));
	uint64_t seed = now_mono_ms() ^ ((uint64_t)(uintptr_t)n << 16);

	n->conf = *c;
	if (n->conf.template_max_age_ms == 0)
		n->conf.template_max_age_ms = 3600 * 1000;
	if (n->conf.pending_ms == 0)
		n->conf.pending_ms = 10 * 1000;
	n->engine = engine;
	n->store = st;
	n->k0 = siphash13(seed, now_wall_ms(), &seed, sizeof(seed));
	n->k1 = siphash13(n->k0, seed, &n, sizeof(n));
	n->cache = netflow_cache_new(NULL, n->k0, n->k1);
	n->rl = (struct log_ratelimit)LOG_RATELIMIT_INIT(10000, 5);
	pthread_mutex_init(&n->mu, NULL);
	return n;
}

void
nfin_free(struct nfin *n)
{
	if (n == NULL)
		return;
	for (size_t i = 0; i < n->n_pend; i++)
		free(n->pend[i].data);
	for (size_t i = 0; i < n->n_offers; i++)
		free(n->offers[i]);
	pthread_mutex_destroy(&n->mu);
	netflow_cache_free(n->cache);
	free(n->ex);
	free(n->persisted);
	free(n);
}

void
nfin_set_store(struct nfin *n, struct store *st)
{
	n->store = st;
}

static bool
addr_eq(const struct sflow_addr *a, const struct sflow_addr *b)
{
	return a->family == b->family &&
	    memcmp(a->a, b->a, a->family == 4 ? 4 : 16) == 0;
}

static bool
tkey_eq(const struct netflow_tkey *a, const struct netflow_tkey *b)
{
	return addr_eq(&a->exporter, &b->exporter) && a->domain == b->domain &&
	    a->version == b->version && a->id == b->id;
}

/* The exporter's counters, NULL when the table is full. */
static struct nfin_exporter *
exporter(struct nfin *n, const struct sflow_addr *a, uint64_t now_ms)
{
	struct sflow_addr k = { .family = a->family };
	uint64_t h;
	size_t i;

	memcpy(k.a, a->a, a->family == 4 ? 4 : 16);
	h = siphash13(n->k0, n->k1, &k, sizeof(k));
	for (i = h & (EXP_SLOTS - 1); n->slot[i] != 0;
	     i = (i + 1) & (EXP_SLOTS - 1))
		if (addr_eq(&n->ex[n->slot[i] - 1].addr, &k))
			return &n->ex[n->slot[i] - 1];
	if (n->n_ex == NFIN_MAX_EXPORTERS) {
		n->exporters_overflow++;
		return NULL;
	}
	if (n->n_ex % 64 == 0)
		n->ex = xrealloc(n->ex, (n->n_ex + 64) * sizeof(*n->ex));
	memset(&n->ex[n->n_ex], 0, sizeof(*n->ex));
	n->ex[n->n_ex].addr = k;
	n->ex[n->n_ex].first_seen_ms = now_ms;
	n->slot[i] = (uint32_t)++n->n_ex;
	return &n->ex[n->n_ex - 1];
}

/* ---- templates in the store ------------------------------------------ */

static void
persist(struct nfin *n, const struct netflow_tkey *k,
    const struct netflow_template *t)
{
	char name[NFTMPL_NAME_MAX];
	size_t i;

	if (n->store == NULL)
		return;
	nftmpl_name(name, sizeof(name), k);
	if (t != NULL) {
		char *js = nftmpl_to_json(k, t);

		store_put_def(n->store, STORE_NF_TEMPLATE, name, js);
		free(js);
	} else {
		store_put_def(n->store, STORE_NF_TEMPLATE, name, NULL);
	}
	for (i = 0; i < n->n_persisted; i++)
		if (tkey_eq(&n->persisted[i], k))
			break;
	if (t == NULL && i < n->n_persisted) {
		n->persisted[i] = n->persisted[--n->n_persisted];
	} else if (t != NULL && i == n->n_persisted) {
		if (n->n_persisted % 64 == 0)
			n->persisted = xrealloc(n->persisted,
			    (n->n_persisted + 64) * sizeof(*n->persisted));
		n->persisted[n->n_persisted++] = *k;
	}
}

/* Delete from the store what the cache no longer has (expired, or
 * withdrawn all at once). */
static void
persist_sync(struct nfin *n)
{
	for (size_t i = 0; i < n->n_persisted;) {
		struct netflow_tkey k = n->persisted[i];

		if (netflow_cache_get(n->cache, &k, &n->t)) {
			i++;
			continue;
		}
		persist(n, &k, NULL); /* removes entry i */
	}
	n->sync = false;
}

int
nfin_restore(struct nfin *n, const char *name, const char *json)
{
	struct netflow_tkey k;
	char err[128], want[NFTMPL_NAME_MAX];

	if (nftmpl_from_json(json, strlen(json), &k, &n->t, err, sizeof(err)) !=
	        0 ||
	    (nftmpl_name(want, sizeof(want), &k), strcmp(want, name) != 0) ||
	    netflow_cache_put(n->cache, &k, &n->t, now_mono_ms(), NULL) !=
	        NETFLOW_OK) {
		if (n->store != NULL)
			store_put_def(n->store, STORE_NF_TEMPLATE, name, NULL);
		return -1;
	}
	if (n->n_persisted % 64 == 0)
		n->persisted = xrealloc(n->persisted,
		    (n->n_persisted + 64) * sizeof(*n->persisted));
	n->persisted[n->n_persisted++] = k;
	n->restored++;
	return 0;
}

/* ---- records ---------------------------------------------------------- */

static uint8_t
source_of(uint16_t version)
{
	return version == 5 ? JSONLOG_NETFLOW5
	    : version == 9  ? JSONLOG_NETFLOW9
	                    : JSONLOG_IPFIX;
}

static void
records(struct nfin *n, struct nfin_exporter *ex, struct netflow_set *s,
    uint64_t now_ms, uint64_t mono_ms, uint32_t *data_records)
{
	const struct netflow_hdr *h = &s->m->h;
	struct netflow_rec r;
	struct flow_rec fr;

	while (netflow_record_next(s, &r) > 0) {
		struct engine_nf nf;

		(*data_records)++;
		if (r.options) {
			if (ex != NULL)
				ex->options_records++;
			continue;
		}
		n->records++;
		if (ex != NULL) {
			ex->records++;
			ex->sampling_rate = r.sampling_rate;
		}
		if (n->engine == NULL || netflow_to_flowrec(&fr, &r, h) != 0)
			continue;
		memset(&nf, 0, sizeof(nf));
		nf.source = source_of(h->version);
		nf.packets = r.packets ? r.packets : 1;
		nf.rate = r.sampling_rate ? r.sampling_rate : 1;
		nf.scaled_bytes = r.scaled_bytes;
		nf.scaled_packets = r.scaled_packets;
		nf.start_ms = nf.end_ms = (int64_t)now_ms;
		/*
		 * The record's own times, when they make sense: the flow
		 * ended in the last day, and lasted at most a day.
		 */
		if ((r.have & NETFLOW_HAVE_FIRST) &&
		    (r.have & NETFLOW_HAVE_LAST) && r.last_ms >= r.first_ms &&
		    r.last_ms - r.first_ms <= 86400000 &&
		    r.last_ms > (int64_t)now_ms - 86400000 &&
		    r.last_ms < (int64_t)now_ms + 86400000) {
			nf.start_ms = r.first_ms;
			nf.end_ms = r.last_ms;
		}
		engine_netflow(n->engine, &fr, &nf, mono_ms);
	}
}

/* ---- data sets that came before their template ------------------------ */

static void
pend_drop(struct nfin *n, size_t i)
{
	n->pend_bytes -= n->pend[i].len;
	free(n->pend[i].data);
	n->pend[i] = n->pend[--n->n_pend];
}

static void
pend_add(struct nfin *n, struct nfin_exporter *ex, const struct netflow_set *s,
    uint64_t mono_ms)
{
	struct pend *p;

	if (n->n_pend == NFIN_PENDING_MAX ||
	    n->pend_bytes + s->len > NFIN_PENDING_MAX_BYTES) {
		if (ex != NULL)
			ex->pending_refused++;
		return;
	}
	p = &n->pend[n->n_pend++];
	p->h = s->m->h;
	p->set_id = s->id;
	p->len = s->len;
	p->data = xmalloc(s->len ? s->len : 1);
	memcpy(p->data, s->data, s->len);
	p->mono_ms = mono_ms;
	n->pend_bytes += s->len;
}

/* A template came from `from`: decode its buffered sets that now can. */
static void
pend_retry(struct nfin *n, struct nfin_exporter *ex,
    const struct sflow_addr *from, uint64_t now_ms, uint64_t mono_ms)
{
	for (size_t i = 0; i < n->n_pend;) {
		struct pend *p = &n->pend[i];
		struct netflow_tkey k = { 0 };
		struct netflow_set *s;
		uint32_t dr = 0;

		k.exporter = p->h.exporter;
		k.domain = p->h.domain;
		k.version = p->h.version;
		k.id = p->set_id;
		if (!addr_eq(&p->h.exporter, from) ||
		    !netflow_cache_get(n->cache, &k, &n->t)) {
			i++;
			continue;
		}
		if (netflow_open_set(&n->msg, n->cache, &p->h, p->set_id,
		        p->data, p->len, mono_ms) == NETFLOW_OK)
			while ((s = netflow_set_next(&n->msg)) != NULL)
				records(n, ex, s, now_ms, mono_ms, &dr);
		if (ex != NULL) {
			ex->pending_decoded++;
			ex->pending_records += dr;
			for (int e = 0; e < NETFLOW_ERR__MAX; e++)
				ex->errs[e] += n->msg.errs[e];
		}
		pend_drop(n, i);
	}
}

/* ---- datagrams -------------------------------------------------------- */

/* Sequence numbers: v5 counts flows, v9 export packets, IPFIX records. */
static void
seq_check(struct nfin_exporter *ex, const struct netflow_hdr *h,
    uint32_t data_records)
{
	uint32_t next;

	if (ex->seq_known && ex->version == h->version &&
	    ex->domain == h->domain) {
		int32_t d = (int32_t)(h->seq - ex->next_seq);

		/* behind: reordered, or the exporter restarted; ignored */
		if (d > 0) {
			ex->seq_gaps++;
			ex->seq_lost += (uint64_t)d;
		}
	}
	if (h->version == 9)
		next = h->seq + 1;
	else if (h->version == 5)
		next = h->seq + h->count;
	else
		next = h->seq + data_records;
	ex->seq_known = true;
	ex->next_seq = next;
}

void
nfin_process(struct nfin *n, const struct sflow_addr *src, const uint8_t *buf,
    size_t len, bool truncated, uint64_t now_ms, uint64_t mono_ms)
{
	struct nfin_exporter *ex = exporter(n, src, now_ms);
	struct netflow_set *s;
	enum netflow_err rc;
	uint32_t dr = 0;
	bool learned = false;

	n->datagrams++;
	if (ex != NULL) {
		ex->datagrams++;
		ex->bytes += len;
		ex->last_seen_ms = now_ms;
		if (truncated)
			ex->errs[NETFLOW_ERR_OVERSIZE]++;
	}
	/* The cache ages templates on the monotonic clock. */
	rc = netflow_open(&n->msg, n->cache, src, buf, len, mono_ms);
	if (rc != NETFLOW_OK) {
		if (ex != NULL)
			for (int e = 0; e < NETFLOW_ERR__MAX; e++)
				ex->errs[e] += n->msg.errs[e];
		log_debug("netflow", "bad datagram: %s (%zu bytes)",
		    netflow_err_name(rc), len);
		return;
	}
	while ((s = netflow_set_next(&n->msg)) != NULL) {
		enum netflow_tmpl_op op;

		switch (s->kind) {
		case NETFLOW_SET_TEMPLATE:
		case NETFLOW_SET_OPTIONS_TEMPLATE:
			while (netflow_template_next(s, &n->t, &op) > 0) {
				struct netflow_tkey k = { 0 };

				k.exporter = n->msg.h.exporter;
				k.domain = n->msg.h.domain;
				k.version = n->msg.h.version;
				k.id = n->t.id;
				switch (op) {
				case NETFLOW_TMPL_NEW:
				case NETFLOW_TMPL_REPLACED:
					persist(n, &k, &n->t);
					learned = true;
					if (ex == NULL)
						break;
					if (op == NETFLOW_TMPL_NEW)
						ex->templates_new++;
					else
						ex->templates_replaced++;
					break;
				case NETFLOW_TMPL_WITHDRAWN:
					persist(n, &k, NULL);
					if (ex != NULL)
						ex->templates_withdrawn++;
					break;
				case NETFLOW_TMPL_WITHDRAWN_ALL:
					n->sync = true;
					if (ex != NULL)
						ex->templates_withdrawn++;
					break;
				default:
					break;
				}
			}
			break;
		case NETFLOW_SET_V5:
		case NETFLOW_SET_DATA:
		case NETFLOW_SET_OPTIONS_DATA:
			records(n, ex, s, now_ms, mono_ms, &dr);
			break;
		case NETFLOW_SET_UNKNOWN:
			if (s->status == NETFLOW_ERR_NO_TEMPLATE)
				pend_add(n, ex, s, mono_ms);
			break;
		}
	}
	if (ex != NULL) {
		for (int e = 0; e < NETFLOW_ERR__MAX; e++)
			ex->errs[e] += n->msg.errs[e];
		seq_check(ex, &n->msg.h, dr);
		ex->version = n->msg.h.version;
		ex->domain = n->msg.h.domain;
	}
	if (netflow_msg_errors(&n->msg) > 0)
		log_warnx_rl(&n->rl, "netflow",
		    "datagram with %u errors (%zu bytes, version %u)",
		    netflow_msg_errors(&n->msg), len, n->msg.h.version);
	if (learned && n->n_pend > 0)
		pend_retry(n, ex, src, now_ms, mono_ms);
	if (n->sync)
		persist_sync(n);
}

int
nfin_offer(struct nfin *n, const struct netflow_tkey *k,
    const struct netflow_template *t)
{
	struct offer *o = xmalloc(sizeof(*o));

	o->k = *k;
	o->t = *t;
	pthread_mutex_lock(&n->mu);
	if (n->n_offers < NFIN_OFFERS_MAX) {
		n->offers[n->n_offers++] = o;
		o = NULL;
	} else
		n->offers_refused++;
	pthread_mutex_unlock(&n->mu);
	free(o);
	return o == NULL ? 0 : -1;
}

/* The templates the peer offered: those we lack join the cache. */
static void
take_offers(struct nfin *n, uint64_t now_ms, uint64_t mono_ms)
{
	struct offer *offers[NFIN_OFFERS_MAX];
	size_t no;

	pthread_mutex_lock(&n->mu);
	no = n->n_offers;
	memcpy(offers, n->offers, no * sizeof(*offers));
	n->n_offers = 0;
	pthread_mutex_unlock(&n->mu);
	for (size_t i = 0; i < no; i++) {
		const struct netflow_tkey k = offers[i]->k;
		const struct netflow_template *t = &offers[i]->t;

		if (netflow_cache_get(n->cache, &k, &n->t)) {
			n->peer_had++;
		} else if (netflow_cache_put(n->cache, &k, t, mono_ms, NULL) !=
		    NETFLOW_OK) {
			n->peer_bad++;
		} else {
			n->peer_learned++;
			persist(n, &k, t);
			for (size_t j = 0; j < n->n_pend; j++)
				if (addr_eq(
				        &n->pend[j].h.exporter, &k.exporter)) {
					pend_retry(n,
					    exporter(n, &k.exporter, now_ms),
					    &k.exporter, now_ms, mono_ms);
					break;
				}
		}
		free(offers[i]);
	}
}

void
nfin_tick(struct nfin *n, uint64_t now_ms, uint64_t mono_ms)
{
	take_offers(n, now_ms, mono_ms);
	for (size_t i = 0; i < n->n_pend;) {
		struct pend *p = &n->pend[i];

		if (mono_ms - p->mono_ms < n->conf.pending_ms) {
			i++;
			continue;
		}
		{
			struct nfin_exporter *ex =
			    exporter(n, &p->h.exporter, now_ms);

			if (ex != NULL)
				ex->pending_expired++;
		}
		pend_drop(n, i);
	}
	if (mono_ms - n->last_expire_ms >= 60000) {
		n->last_expire_ms = mono_ms;
		if (mono_ms > n->conf.template_max_age_ms &&
		    netflow_cache_expire(
		        n->cache, mono_ms, n->conf.template_max_age_ms) > 0)
			persist_sync(n);
	}
}

static int
cmp_ex(const void *a, const void *b)
{
	const struct nfin_exporter *x = a, *y = b;

	if (x->addr.family != y->addr.family)
		return x->addr.family < y->addr.family ? -1 : 1;
	return memcmp(x->addr.a, y->addr.a, 16);
}

struct nfin_snap *
nfin_snapshot(struct nfin *n)
{
	struct nfin_snap *ns = xcalloc(1, sizeof(*ns));

	ns->cache = *netflow_cache_stats(n->cache);
	ns->datagrams = n->datagrams;
	ns->records = n->records;
	ns->pending = n->n_pend;
	ns->pending_bytes = n->pend_bytes;
	ns->templates_restored = n->restored;
	pthread_mutex_lock(&n->mu);
	ns->peer_offered = n->n_offers;
	ns->peer_refused = n->offers_refused;
	pthread_mutex_unlock(&n->mu);
	ns->peer_learned = n->peer_learned;
	ns->peer_had = n->peer_had;
	ns->peer_bad = n->peer_bad;
	ns->exporters_overflow = n->exporters_overflow;
	ns->n_exporters = n->n_ex;
	ns->exporters = xcalloc(n->n_ex + 1, sizeof(*ns->exporters));
	if (n->n_ex > 0)
		memcpy(ns->exporters, n->ex, n->n_ex * sizeof(*ns->exporters));
	qsort(ns->exporters, ns->n_exporters, sizeof(*ns->exporters), cmp_ex);
	return ns;
}

void
nfin_snap_free(struct nfin_snap *ns)
{
	if (ns == NULL)
		return;
	free(ns->exporters);
	free(ns);
}
