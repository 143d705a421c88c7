/*
 * netflow.h: the NetFlow v5, NetFlow v9 (RFC 3954) and IPFIX (RFC 7011)
 * decoder, and the template cache it needs. PURE: no I/O, no logging;
 * the cache allocates (x* allocators). The cache and the messages that
 * use it belong to one thread (the ingest worker that owns the exporter
 * shard); nothing here locks.
 *
 * The decoder is a set of bounded cursors over the caller's buffer, as in
 * sflow.h:
 *
 *	struct netflow_msg m;
 *	struct netflow_set *s;
 *	struct netflow_rec r;
 *
 *	if (netflow_open(&m, cache, &exporter, buf, len, now_ms) != NETFLOW_OK)
 *		...			(m.errs says why; nothing to walk)
 *	while ((s = netflow_set_next(&m)) != NULL) {
 *		if (s->status == NETFLOW_ERR_NO_TEMPLATE)
 *			keep m.h, s->id and a copy of s->data[0..s->len) to
 *			retry later with netflow_open_set();
 *		while (netflow_record_next(s, &r) > 0)
 *			...		(flow records, and options records)
 *	}
 *
 * A v5 datagram is one set (NETFLOW_SET_V5) of fixed records. In v9 and
 * IPFIX, template and options template sets go into the cache, and
 * options data (the sampler tables) into its sampling state, as the walk
 * reaches them: a set is applied when the caller walks it with
 * netflow_template_next() / netflow_record_next(), or else when
 * netflow_set_next() moves past it. So walk every message to the end
 * (netflow_set_next() returning NULL), or templates may be missed.
 *
 * Records point into `buf` (raw bytes, the frame section) and must not
 * outlive it; everything else in them is copied. Every error is counted
 * in m.errs[] by class and, when there is a cache, in its stats; decoding
 * carries on wherever the lengths still let it find the next structure:
 * a bad template loses that template (or the rest of its set when its
 * length cannot be known), a bad set length loses the rest of the message.
 * Unknown set IDs and enterprise-specific fields are skipped by length.
 */
#ifndef FABMON_NETFLOW_H
#define FABMON_NETFLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "packet.h"
#include "sflow.h"

struct flow_rec;

/* Error classes, counted per message and in the cache's stats. */
enum netflow_err {
	NETFLOW_OK = 0,
	NETFLOW_ERR_TRUNCATED,   /* ends inside the header; an IPFIX
	                          * message longer than the datagram; v5
	                          * records cut short */
	NETFLOW_ERR_VERSION,     /* not version 5, 9 or 10 */
	NETFLOW_ERR_LENGTH,      /* a set length < 4 or past the end; an
	                          * IPFIX message length < 16 */
	NETFLOW_ERR_NO_TEMPLATE, /* a data set whose template is unknown */
	NETFLOW_ERR_TEMPLATE,    /* a bad template: zero-length records, field
	                          * count absurd or past the set, record
	                          * length overflow, bad scope count,
	                          * template ID < 256 */
	NETFLOW_ERR_TEMPLATE_LIMIT, /* the cache refused a template (full) */
	NETFLOW_ERR_RECORD,         /* a data record runs past its set (a
	                             * variable-length field's length) */
	NETFLOW_ERR_SET_ID,         /* a reserved set ID (skipped) */
	NETFLOW_ERR_OVERSIZE,       /* bigger than the receive buffer (set by
	                             * the ingest thread, never here) */
	NETFLOW_ERR__MAX
};

/* The name of an error class ("truncated", "no_template"...). */
const char *netflow_err_name(enum netflow_err);

/* UDP ports NetFlow/IPFIX exporters usually send to. */
#define NETFLOW_PORT_NETFLOW 2055
#define NETFLOW_PORT_IPFIX   4739

#define NETFLOW_FIELDS_MAX 256   /* fields in one template: more is refused */
#define NETFLOW_VARLEN     65535 /* a template field length: variable */
#define NETFLOW_V5_MAX     30    /* records a v5 datagram may hold */

/* Message header; what a saved data set needs to be decoded again. */
struct netflow_hdr {
	uint16_t version;           /* 5, 9 or 10 (IPFIX) */
	uint16_t count;             /* v5, v9: the declared record count */
	uint32_t length;            /* IPFIX: the message length */
	uint32_t uptime_ms;         /* v5, v9: sysUpTime at export */
	uint32_t unix_secs;         /* the export time */
	uint32_t unix_nsecs;        /* v5 */
	uint32_t seq;               /* sequence number */
	uint32_t domain;            /* v9 source ID, IPFIX observation domain;
	                             * v5: engine_type << 8 | engine_id */
	uint8_t engine_type;        /* v5 */
	uint8_t engine_id;          /* v5 */
	uint16_t sampling;          /* v5: mode << 14 | interval */
	struct sflow_addr exporter; /* the datagram's source address */
};

/* A template field. IPFIX enterprise fields have pen != 0. */
struct netflow_field {
	uint16_t id;  /* information element ID (enterprise bit cleared);
	               * v9 options scope fields: the scope type (1 system,
	               * 2 interface, 3 line card, 4 cache, 5 template) */
	uint16_t len; /* bytes, or NETFLOW_VARLEN */
	uint32_t pen; /* private enterprise number, 0 for IANA */
};

struct netflow_template {
	uint16_t id;       /* 256..65535 */
	bool options;      /* an options template */
	uint16_t n_fields; /* 0: a withdrawal (IPFIX) */
	uint16_t n_scope;  /* options: the first n_scope fields are scope */
	uint32_t min_len;  /* shortest record: fixed lengths, +1 per
	                    * variable-length field */
	bool varlen;       /* has variable-length fields */
	struct netflow_field f[NETFLOW_FIELDS_MAX];
};

/*
 * Check a template's consistency (what the parser also checks, for
 * templates read back from the store or the HA peer): returns NETFLOW_OK
 * or NETFLOW_ERR_TEMPLATE. Fills in min_len and varlen.
 */
enum netflow_err netflow_template_check(struct netflow_template *t);

/* ---- the template cache ----------------------------------------------- */

/* Where templates live: (exporter, domain, version, template ID). */
struct netflow_tkey {
	struct sflow_addr exporter;
	uint32_t domain;
	uint16_t version; /* 9 or 10: v9 and IPFIX IDs are apart */
	uint16_t id;
};

struct netflow_limits {
	uint32_t max_templates;  /* in all; 0: 4096 */
	uint32_t max_per_domain; /* per (exporter, domain, version); 0: 512 */
	uint32_t max_domains;    /* (exporter, domain, version); 0: 1024 */
};

/* What the cache did with a template record. */
enum netflow_tmpl_op {
	NETFLOW_TMPL_NEW = 0,
	NETFLOW_TMPL_REPLACED,  /* same ID, another definition: data after it
	                         * uses the new one */
	NETFLOW_TMPL_REFRESHED, /* same ID, same definition */
	NETFLOW_TMPL_WITHDRAWN, /* IPFIX field count 0 */
	NETFLOW_TMPL_WITHDRAWN_ALL, /* IPFIX: all (options) templates */
	NETFLOW_TMPL_REFUSED,  /* the cache is full: NETFLOW_ERR_TEMPLATE_LIMIT
	                        */
	NETFLOW_TMPL_BAD,      /* inconsistent: NETFLOW_ERR_TEMPLATE */
	NETFLOW_TMPL_NOT_KEPT, /* parsed without a cache */
};

const char *netflow_tmpl_op_name(enum netflow_tmpl_op);

struct netflow_stats {
	uint64_t messages;        /* opened, whatever came of them */
	uint64_t records;         /* flow records decoded */
	uint64_t options_records; /* options records decoded */
	uint64_t errs[NETFLOW_ERR__MAX];
	uint64_t templates_new;
	uint64_t templates_replaced;
	uint64_t templates_refreshed;
	uint64_t templates_withdrawn;
	uint64_t templates_expired;
	uint64_t samplers_learned; /* sampling rates taken from options */
	uint64_t samplers_refused; /* a domain's sampler table was full */
	uint32_t templates;        /* in the cache now */
	uint32_t domains;          /* (exporter, domain, version) now */
};

struct netflow_cache;

/*
 * A new, empty cache: lim NULL for the defaults. (k0, k1) key the hash of
 * exporter addresses (they come from the network: keep it secret, as for
 * sflow_addr_hash). The caller owns it: netflow_cache_free().
 */
struct netflow_cache *netflow_cache_new(
    const struct netflow_limits *lim, uint64_t k0, uint64_t k1);
void netflow_cache_free(struct netflow_cache *);

/* The running totals (valid until the next call on the cache). */
const struct netflow_stats *netflow_cache_stats(const struct netflow_cache *);

/* Look a template up: 1 with *out filled, 0 if unknown. */
int netflow_cache_get(const struct netflow_cache *, const struct netflow_tkey *,
    struct netflow_template *out);

/*
 * Add or replace a template (as a template set does; also to restore the
 * templates saved by netflow_cache_foreach()). A template with n_fields 0
 * withdraws k->id. Returns NETFLOW_OK, NETFLOW_ERR_TEMPLATE (inconsistent)
 * or NETFLOW_ERR_TEMPLATE_LIMIT (full: refused); *op (may be NULL) says
 * what happened. now_ms stamps it for netflow_cache_expire().
 */
enum netflow_err netflow_cache_put(struct netflow_cache *,
    const struct netflow_tkey *, const struct netflow_template *,
    uint64_t now_ms, enum netflow_tmpl_op *op);

/*
 * Every template, for persistence and for the HA peer: cb gets a key and
 * a template that are valid during the call only. The cache must not be
 * changed from cb.
 */
void netflow_cache_foreach(const struct netflow_cache *,
    void (*cb)(void *arg, const struct netflow_tkey *,
        const struct netflow_template *, uint64_t last_ms),
    void *arg);

/*
 * Drop the templates neither refreshed nor used since now_ms - max_age_ms
 * (an exporter that went away), and the domains left empty (with their
 * sampling state). Returns how many templates went. Not while a message
 * of this cache is being walked: call it between datagrams.
 */
size_t netflow_cache_expire(
    struct netflow_cache *, uint64_t now_ms, uint64_t max_age_ms);

/* ---- messages, sets, records ------------------------------------------ */

enum netflow_set_kind {
	NETFLOW_SET_V5 = 0,           /* the records of a v5 datagram */
	NETFLOW_SET_TEMPLATE,         /* v9 ID 0, IPFIX ID 2 */
	NETFLOW_SET_OPTIONS_TEMPLATE, /* v9 ID 1, IPFIX ID 3 */
	NETFLOW_SET_DATA,             /* ID >= 256, a flow template */
	NETFLOW_SET_OPTIONS_DATA,     /* ID >= 256, an options template */
	NETFLOW_SET_UNKNOWN,          /* a data set without template, or a
	                               * reserved ID: not decoded */
};

struct netflow_msg;

struct netflow_set {
	uint16_t id;
	enum netflow_set_kind kind;
	enum netflow_err status; /* NETFLOW_OK, NETFLOW_ERR_NO_TEMPLATE
	                          * (keep data[0..len) to retry) or
	                          * NETFLOW_ERR_SET_ID */
	const uint8_t *data;     /* the body, after the 4-byte set header
	                          * (v5: the records) */
	uint32_t len;
	uint32_t offset; /* of the set header in the message */

	/* Cursor state: private to the decoder. */
	struct netflow_msg *m;
	const uint8_t *p;
	size_t rem;
	uint32_t n_read;
	bool done;

	/* Data sets: the template, a copy (the cache may replace it while
	 * the set is walked). Last: the rest is reset without it. */
	struct netflow_template t;
};

struct netflow_msg {
	struct netflow_hdr h;
	uint32_t errs[NETFLOW_ERR__MAX]; /* errors so far, by class */
	uint32_t n_sets;                 /* sets handed out so far */
	uint32_t n_records;              /* records handed out so far */

	/* Cursor state: private to the decoder. */
	struct netflow_cache *cache;
	int64_t dom; /* the domain's slot in the cache, -1 not known yet */
	uint64_t now_ms;
	const uint8_t *base;
	const uint8_t *p;
	size_t rem;
	bool done;
	bool cut;    /* the message is longer than the datagram */
	bool single; /* opened on one saved set (netflow_open_set) */
	bool have_set;
	struct netflow_set set; /* the current set */
};

/*
 * Open a datagram from `exporter` (the UDP source address): parse its
 * header. cache may be NULL (v9/IPFIX data sets then have no template).
 * now_ms is the caller's clock, for template ageing only. Returns
 * NETFLOW_OK, or the error that makes the datagram unusable (also counted
 * in m->errs and the cache's stats).
 */
enum netflow_err netflow_open(struct netflow_msg *m,
    struct netflow_cache *cache, const struct sflow_addr *exporter,
    const uint8_t *buf, size_t len, uint64_t now_ms);

/*
 * Open a message made of one data set saved when it came back with
 * NETFLOW_ERR_NO_TEMPLATE: hdr is the m->h of its message, (set_id, body,
 * len) its s->id and a copy of s->data[0..s->len). netflow_set_next()
 * then hands that set out once: decoded if the template has come since,
 * else NETFLOW_ERR_NO_TEMPLATE again (and counted again).
 */
enum netflow_err netflow_open_set(struct netflow_msg *m,
    struct netflow_cache *cache, const struct netflow_hdr *hdr, uint16_t set_id,
    const uint8_t *body, size_t len, uint64_t now_ms);

/*
 * The next set, or NULL at the end of the message. The set lives in *m
 * and is overwritten by the next call; what the previous set held (its
 * templates, its options data) is applied to the cache first.
 */
struct netflow_set *netflow_set_next(struct netflow_msg *m);

/*
 * Next template of a template or options template set: 1 with *t and
 * *op (may be NULL) filled, once the cache has taken it; 0 at the end.
 * A template that cannot be parsed ends its set (counted).
 */
int netflow_template_next(struct netflow_set *s, struct netflow_template *t,
    enum netflow_tmpl_op *op);

/* Bits of netflow_rec.have: which fields the record carried. */
enum {
	NETFLOW_HAVE_SRC_ADDR = 1u << 0,
	NETFLOW_HAVE_DST_ADDR = 1u << 1,
	NETFLOW_HAVE_SRC_PORT = 1u << 2,
	NETFLOW_HAVE_DST_PORT = 1u << 3,
	NETFLOW_HAVE_PROTO = 1u << 4,
	NETFLOW_HAVE_TOS = 1u << 5,
	NETFLOW_HAVE_TCP_FLAGS = 1u << 6,
	NETFLOW_HAVE_ICMP = 1u << 7, /* from an ICMP field or, for ICMP
	                              * flows, the destination port */
	NETFLOW_HAVE_TTL = 1u << 8,
	NETFLOW_HAVE_IN_IF = 1u << 9,
	NETFLOW_HAVE_OUT_IF = 1u << 10,
	NETFLOW_HAVE_DIRECTION = 1u << 11,
	NETFLOW_HAVE_VLAN = 1u << 12,
	NETFLOW_HAVE_POST_VLAN = 1u << 13,
	NETFLOW_HAVE_SRC_MAC = 1u << 14,
	NETFLOW_HAVE_DST_MAC = 1u << 15,
	NETFLOW_HAVE_BYTES = 1u << 16,
	NETFLOW_HAVE_PACKETS = 1u << 17,
	NETFLOW_HAVE_FIRST = 1u << 18, /* first_ms is absolute */
	NETFLOW_HAVE_LAST = 1u << 19,
	NETFLOW_HAVE_NEXT_HOP = 1u << 20,
	NETFLOW_HAVE_BGP_NEXT_HOP = 1u << 21,
	NETFLOW_HAVE_AS = 1u << 22,
	NETFLOW_HAVE_MASKS = 1u << 23,
	NETFLOW_HAVE_FWD_STATUS = 1u << 24,
	NETFLOW_HAVE_SAMPLER_ID = 1u << 25,
	NETFLOW_HAVE_FRAME = 1u << 26, /* a frame/IP header section */
};

/* Where a record's sampling rate came from. */
enum netflow_sampling_src {
	NETFLOW_SAMPLING_NONE = 0, /* unsampled, or nothing said: rate 1 */
	NETFLOW_SAMPLING_HEADER,   /* the v5 header */
	NETFLOW_SAMPLING_RECORD,   /* a field of the record itself */
	NETFLOW_SAMPLING_SAMPLER,  /* options data for its sampler/selector */
	NETFLOW_SAMPLING_TEMPLATE, /* options data scoped to its template */
	NETFLOW_SAMPLING_EXPORTER, /* options data for the whole domain */
};

const char *netflow_sampling_src_name(enum netflow_sampling_src);

/* What an options record says about sampling (the sampler tables). */
enum netflow_opt_scope {
	NETFLOW_OPT_NONE = 0, /* no sampling information */
	NETFLOW_OPT_EXPORTER, /* for the whole (exporter, domain) */
	NETFLOW_OPT_SAMPLER,  /* for records with this sampler/selector ID */
	NETFLOW_OPT_TEMPLATE, /* for records of this template */
};

struct netflow_rec {
	uint16_t template_id; /* 0 for v5 */
	bool options;         /* an options record: see `opt` */
	uint32_t have;        /* NETFLOW_HAVE_* */
	const uint8_t *data;  /* the raw record */
	uint32_t len;

	/* Flow fields, each valid when its `have` bit is set. */
	uint8_t ip_version; /* 4 or 6 with the addresses, else 0 */
	struct sflow_addr src;
	struct sflow_addr dst;
	struct sflow_addr next_hop;
	struct sflow_addr bgp_next_hop;
	uint16_t src_port;
	uint16_t dst_port;
	uint8_t proto;
	uint8_t tos;
	uint16_t tcp_flags; /* IPFIX may send 2 bytes (NS, CWR, ECE...) */
	uint8_t icmp_type;
	uint8_t icmp_code;
	uint8_t ttl;
	uint32_t in_if;
	uint32_t out_if;
	uint8_t direction; /* 0 ingress, 1 egress */
	uint16_t vlan;
	uint16_t post_vlan;
	uint8_t src_mac[6];
	uint8_t dst_mac[6];
	uint32_t src_as;
	uint32_t dst_as;
	uint8_t src_mask;
	uint8_t dst_mask;
	uint8_t fwd_status; /* forwardingStatus: top 2 bits 1 forwarded,
	                     * 2 dropped, 3 consumed; low 6 bits reason */
	uint32_t sampler_id;
	uint64_t bytes;   /* as exported, not scaled */
	uint64_t packets; /* as exported; 1 for a frame section without a
	                   * packet count */
	int64_t first_ms; /* absolute Unix ms, when the header allows */
	int64_t last_ms;

	/* Sampling: scaled = exported * sampling_rate, saturating. */
	uint32_t sampling_rate; /* >= 1 */
	enum netflow_sampling_src sampling_src;
	uint64_t scaled_bytes;
	uint64_t scaled_packets;

	/* A dataLinkFrameSection (315) or ipHeaderPacketSection (313). */
	const uint8_t *frame; /* into the datagram */
	uint32_t frame_len;
	uint32_t frame_size;        /* dataLinkFrameSize, 0 unknown */
	enum pkt_start frame_start; /* Ethernet, IPv4 or IPv6 */
	uint8_t mpls_labels; /* an MPLS label stack this deep came first: pkt
	                      * is what it carried (IP, or a pseudowire's
	                      * Ethernet frame), the MACs and VLAN are the
	                      * outer frame's */
	struct pkt_info pkt; /* parsed when NETFLOW_HAVE_FRAME */

	/* Options records. */
	struct {
		enum netflow_opt_scope scope;
		uint64_t key;       /* sampler/selector ID, or template ID */
		uint32_t rate;      /* 1 in `rate` packets */
		uint32_t algorithm; /* samplingAlgorithm/samplerMode/
		                     * selectorAlgorithm, 0 unknown */
		bool has_init_ms;   /* systemInitTimeMilliseconds */
		int64_t init_ms;
	} opt;
};

/*
 * Next data record of a v5, data or options data set: 1 with *r filled
 * (sampling resolved; options records applied to the cache), 0 at the
 * end: no more records, padding, or a record that runs past the set
 * (counted). Template and unknown sets have no records.
 */
int netflow_record_next(struct netflow_set *s, struct netflow_rec *r);

/* Total errors counted in a message so far. */
uint32_t netflow_msg_errors(const struct netflow_msg *m);

/*
 * Whether buf looks like a NetFlow v5/v9 or IPFIX datagram (the version,
 * and the lengths agree), for capture files with exporters on unusual
 * ports. It never takes an sFlow datagram (whose first 16 bits are 0).
 */
bool netflow_sniff(const uint8_t *buf, size_t len);

/*
 * Map a flow record onto the engine's record (flowrec.h), so that keys,
 * filters and top-N work for NetFlow/IPFIX: agent = exporter; input and
 * output ifIndex; source_index = the input ifIndex (the output one for an
 * egress flow), so `direction` is "ingress" unless the record says
 * egress; the outer layer from the fields (addresses, protocol, TOS,
 * ports, TCP flags, ICMP, TTL, MACs, and an ethertype from the IP
 * version), or from the frame section when the record has one (then with
 * its VLAN tags and VXLAN inner layer, has_header set); vlanId/postVlanId
 * as the extended switch record's VLANs; a forwardingStatus "dropped"
 * as output format 1 (discard).
 *
 * flow_rec counts one sampled packet of frame_length bytes weighed by
 * sampling_rate; a record is many packets, so sampling_rate = rate *
 * packets (saturating) and frame_length = bytes / packets, rounded: the
 * engine's frames are exact, its bytes off by the rounding (< rate *
 * packets / 2). What does not map: the flow's times (spread them on the
 * daemon side), AS numbers, masks, next hops, the sampler and the domain.
 * Returns 0, or -1 for an options record (fr zeroed).
 */
int netflow_to_flowrec(struct flow_rec *fr, const struct netflow_rec *r,
    const struct netflow_hdr *h);

/* ---- --decode JSON (netflow_json.c) ----------------------------------- */

struct netflow_json_meta {
	const struct sflow_addr *exporter; /* datagramSourceIP, and the key */
	uint64_t unix_secs;                /* unixSecondsUTC (capture time) */
	long pcap_frame;                   /* 1-based frame number, or 0 */
};

/*
 * Decode the datagram buf[0..len) with `cache` (which learns its
 * templates and sampling) and return it as one line of JSON, malloc'ed,
 * "\n"-terminated (docs/decode-json.md, NetFlow/IPFIX). Always valid
 * JSON, whatever the input. The caller frees it.
 */
char *netflow_json_datagram(struct netflow_cache *cache, const uint8_t *buf,
    size_t len, const struct netflow_json_meta *meta);

#endif
