/*
 * nfin.h: NetFlow v5/v9 and IPFIX ingest. The ingest thread owns it: it
 * hands each datagram from a NetFlow/IPFIX socket to nfin_process(),
 * which decodes it (netflow.h) with the template cache, counts it per
 * exporter, buffers data sets that came before their template, keeps
 * the templates in the store, and gives each flow record to the engine.
 */
#ifndef FABMON_NFIN_H
#define FABMON_NFIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netflow.h"
#include "sflow.h"

/* Data sets buffered while their template is awaited, in all. */
#define NFIN_PENDING_MAX       1024
#define NFIN_PENDING_MAX_BYTES (4u << 20)
/* Exporters counted one by one; beyond that, in `exporters_overflow`. */
#define NFIN_MAX_EXPORTERS 4096
/* Templates from the HA peer waiting for the ingest thread's next tick. */
#define NFIN_OFFERS_MAX 4096

struct nfin_conf {
	uint64_t template_max_age_ms; /* unused templates expire (1 h) */
	uint64_t pending_ms;          /* buffered data sets wait (10 s) */
};

/* Per exporter (the UDP source address), for /api/v1/health. */
struct nfin_exporter {
	struct sflow_addr addr;
	uint16_t version; /* of the last datagram: 5, 9 or 10 */
	uint32_t domain;  /* of the last datagram */
	uint64_t datagrams, bytes;
	uint64_t records, options_records;
	uint64_t errs[NETFLOW_ERR__MAX];
	uint64_t templates_new, templates_replaced, templates_withdrawn;
	uint64_t pending_decoded; /* buffered sets decoded once their
	                           * template came */
	uint64_t pending_records; /* records (flow and options) in them */
	uint64_t pending_expired; /* ... dropped: it never came */
	uint64_t pending_refused; /* not buffered: the buffer was full */
	uint64_t seq_gaps;        /* sequence numbers skipped forward */
	uint64_t seq_lost;        /* v5, IPFIX: records; v9: export packets */
	uint32_t sampling_rate;   /* of the last flow record */
	uint64_t first_seen_ms, last_seen_ms; /* wall clock */

	/* private */
	bool seq_known;
	uint32_t next_seq;
};

struct nfin_snap {
	struct netflow_stats cache; /* the template cache's totals */
	uint64_t datagrams, records;
	uint64_t pending, pending_bytes; /* buffered now */
	uint64_t templates_restored;     /* from the store at start */
	/* templates the HA peer offered (nfin_offer): waiting, refused
	 * (queue full), learned, already had, bad (the cache refused it) */
	uint64_t peer_offered, peer_refused;
	uint64_t peer_learned, peer_had, peer_bad;
	uint64_t exporters_overflow;
	size_t n_exporters;
	struct nfin_exporter *exporters; /* sorted by address */
};

struct nfin;
struct engine;
struct store;

/* engine and store may be NULL. */
struct nfin *nfin_new(
    const struct nfin_conf *, struct engine *, struct store *);
void nfin_free(struct nfin *);
/* Before the ingest thread starts: keep templates in st (may be NULL). */
void nfin_set_store(struct nfin *, struct store *st);

/*
 * Before the ingest thread starts: a template the store kept (its
 * name and JSON, nftmpl.h). Returns 0, or -1 if it is refused (it is
 * then deleted from the store).
 */
int nfin_restore(struct nfin *, const char *name, const char *json);

/*
 * Any thread: a template from the HA peer (checked: nftmpl_from_json),
 * copied and taken at the ingest thread's next nfin_tick(): added to the
 * cache (and the store) if it has no template of that exporter, domain
 * and id; one it has stays (it came from the exporter). Returns 0, or -1
 * if NFIN_OFFERS_MAX offers already wait (counted).
 */
int nfin_offer(struct nfin *, const struct netflow_tkey *,
    const struct netflow_template *);

/* Ingest thread: one datagram from `src`. */
void nfin_process(struct nfin *, const struct sflow_addr *src,
    const uint8_t *buf, size_t len, bool truncated, uint64_t now_ms,
    uint64_t mono_ms);

/* Ingest thread, at least once a second: expiry of templates and of
 * buffered sets. */
void nfin_tick(struct nfin *, uint64_t now_ms, uint64_t mono_ms);

/* Ingest thread: a copy of the counters (the caller frees with
 * nfin_snap_free). */
struct nfin_snap *nfin_snapshot(struct nfin *);
void nfin_snap_free(struct nfin_snap *);

#endif
