/*
 * sflow.h: the sFlow v5 decoder. PURE: no I/O, no logging, no allocation.
 *
 * The decoder is a pair of bounded cursors over the caller's buffer:
 *
 *	struct sflow_datagram dg;
 *	struct sflow_sample s;
 *	struct sflow_record r;
 *
 *	if (sflow_datagram_open(&dg, buf, len) != SFLOW_OK) ...
 *	while (sflow_sample_next(&dg, &s) > 0)
 *		while (sflow_record_next(&s, &r) > 0)
 *			...
 *
 * Nothing is copied: records point into `buf`, which must outlive them.
 * Every error is counted in dg.errs[] by class, and decoding carries on
 * wherever the lengths still let it find the next structure: a bad record
 * loses that record, a bad sample length loses the rest of the datagram.
 * Unknown samples and records are skipped by their length, never fatal.
 */
#ifndef FABMON_SFLOW_H
#define FABMON_SFLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "packet.h"

/* Error classes, counted per agent and shown in /api/v1/health. */
enum sflow_err {
	SFLOW_OK = 0,
	SFLOW_ERR_TRUNCATED, /* the datagram ends inside its header */
	SFLOW_ERR_VERSION,   /* not sFlow version 5 */
	SFLOW_ERR_ADDRESS,   /* unknown agent/next-hop address type */
	SFLOW_ERR_LENGTH,    /* a sample or record length overruns its parent */
	SFLOW_ERR_COUNT,     /* sample/record count disagrees with the bytes */
	SFLOW_ERR_RECORD,   /* a known record is inconsistent with its length */
	SFLOW_ERR_OVERSIZE, /* bigger than the receive buffer (set by ingest) */
	SFLOW_ERR_HEADER,   /* a sampled header could not be parsed fully */
	SFLOW_ERR__MAX
};

/* The name of an error class, e.g. "truncated", for counters and logs. */
const char *sflow_err_name(enum sflow_err);

/* sFlow data_format = enterprise << 12 | format. */
#define SFLOW_TAG(ent, fmt) (((uint32_t)(ent) << 12) | (uint32_t)(fmt))

enum sflow_sample_type {
	SFLOW_SAMPLE_FLOW = SFLOW_TAG(0, 1),
	SFLOW_SAMPLE_COUNTERS = SFLOW_TAG(0, 2),
	SFLOW_SAMPLE_FLOW_EXPANDED = SFLOW_TAG(0, 3),
	SFLOW_SAMPLE_COUNTERS_EXPANDED = SFLOW_TAG(0, 4),
	SFLOW_SAMPLE_DISCARD = SFLOW_TAG(0, 5),
};

enum sflow_record_type {
	/* flow records */
	SFLOW_FLOW_HEADER = SFLOW_TAG(0, 1),
	SFLOW_FLOW_ETHERNET = SFLOW_TAG(0, 2),
	SFLOW_FLOW_IPV4 = SFLOW_TAG(0, 3),
	SFLOW_FLOW_IPV6 = SFLOW_TAG(0, 4),
	SFLOW_FLOW_EXT_SWITCH = SFLOW_TAG(0, 1001),
	SFLOW_FLOW_EXT_ROUTER = SFLOW_TAG(0, 1002),
	SFLOW_FLOW_EXT_GATEWAY = SFLOW_TAG(0, 1003),
	/* drop-notification records (sflow.org/sflow_drops.txt) */
	SFLOW_FLOW_EGRESS_QUEUE = SFLOW_TAG(0, 1036),
	SFLOW_FLOW_FUNCTION = SFLOW_TAG(0, 1038),
	SFLOW_FLOW_TRANSIT_DELAY = SFLOW_TAG(0, 1039),
	SFLOW_FLOW_QUEUE_DEPTH = SFLOW_TAG(0, 1040),
	SFLOW_FLOW_HW_TRAP = SFLOW_TAG(0, 1041),
	SFLOW_FLOW_LINUX_REASON = SFLOW_TAG(0, 1042),
	/* counter records */
	SFLOW_CTR_GENERIC = SFLOW_TAG(0, 1),
	SFLOW_CTR_ETHERNET = SFLOW_TAG(0, 2),
	SFLOW_CTR_VLAN = SFLOW_TAG(0, 5),
	SFLOW_CTR_PROCESSOR = SFLOW_TAG(0, 1001),
	SFLOW_CTR_OPENFLOW_PORT = SFLOW_TAG(0, 1004),
	SFLOW_CTR_PORTNAME = SFLOW_TAG(0, 1005),
	SFLOW_CTR_HOST_DESCR = SFLOW_TAG(0, 2000),
	SFLOW_CTR_HOST_ADAPTERS = SFLOW_TAG(0, 2001),
	SFLOW_CTR_HOST_PARENT = SFLOW_TAG(0, 2002),
	SFLOW_CTR_HOST_CPU = SFLOW_TAG(0, 2003),
	SFLOW_CTR_HOST_MEMORY = SFLOW_TAG(0, 2004),
	SFLOW_CTR_HOST_DISK = SFLOW_TAG(0, 2005),
	SFLOW_CTR_HOST_NETIO = SFLOW_TAG(0, 2006),
	SFLOW_CTR_MIB2_IP = SFLOW_TAG(0, 2007),
	SFLOW_CTR_MIB2_ICMP = SFLOW_TAG(0, 2008),
	SFLOW_CTR_MIB2_TCP = SFLOW_TAG(0, 2009),
	SFLOW_CTR_MIB2_UDP = SFLOW_TAG(0, 2010),
	SFLOW_CTR_OVS_DP = SFLOW_TAG(0, 2207),
};

/* Interface encodings (sFlow v5 §5.1: the top 2 bits of a compact port). */
enum sflow_if_format {
	SFLOW_IF_INDEX = 0,    /* value is an ifIndex; see SFLOW_IF_INTERNAL */
	SFLOW_IF_DISCARD = 1,  /* packet dropped; value is the reason code */
	SFLOW_IF_MULTIPLE = 2, /* value is the number of ports, 0 unknown */
};
#define SFLOW_IF_INTERNAL 0x3fffffffu /* "internal" / local to the switch */

struct sflow_if {
	uint32_t format; /* enum sflow_if_format; other values are kept */
	uint32_t value;
};

/* A discard reason's name ("ttl_exceeded", "acl"...), or NULL if unknown. */
const char *sflow_discard_reason_name(uint32_t reason);

struct sflow_addr {
	uint8_t family; /* 0 unknown, 4, or 6 */
	uint8_t a[16];  /* IPv4 in the first 4 bytes */
};

struct sflow_datagram {
	uint32_t version;
	struct sflow_addr agent;
	uint32_t sub_agent_id;
	uint32_t seq;
	uint32_t uptime_ms;
	uint32_t n_samples; /* as declared; may be a lie */

	/* Cursor state: private to the decoder. */
	const uint8_t *p;
	size_t rem;
	uint32_t samples_read;
	bool done;

	/* Errors seen so far, by class; errs[0] is unused. */
	uint32_t errs[SFLOW_ERR__MAX];
};

/*
 * What a consumer remembers of a data source between its samples, kept by
 * the caller that walks them (agents.c keeps one per agent and source) so
 * that the consumer need not look the source up again (flowtab_srcids).
 * Its words are the consumer's; all zero at first.
 */
struct sflow_src_memo {
	uint32_t owner; /* which consumer wrote it; 0: none */
	uint32_t ds;
	uint32_t id;
	uint32_t hash;
};

struct sflow_sample {
	uint32_t tag; /* SFLOW_TAG(enterprise, format), see enum above */
	uint32_t len; /* length of the sample's data */
	bool known;   /* one of the five standard sample types */

	uint32_t seq;
	uint32_t source_type; /* 0 ifIndex, 1 VLAN, 2 physical entity */
	uint32_t source_index;
	uint32_t sampling_rate; /* flow samples only */
	uint32_t sample_pool;
	uint32_t drops;
	struct sflow_if input; /* flow and discard samples */
	struct sflow_if output;
	uint32_t discard_reason; /* discard samples only: where the packet
	                          * died is `output` if known, else `input` */
	uint32_t n_records;      /* as declared */
	/* NULL, or the caller's memo of this sample's data source: set by
	 * the caller, after sflow_sample_next() */
	struct sflow_src_memo *memo;

	/* Cursor state: private to the decoder. */
	struct sflow_datagram *dg;
	const uint8_t *p;
	size_t rem;
	uint32_t records_read;
	bool done;
};

/* Field types of fixed-layout counter records. */
enum sflow_ftype {
	SFLOW_F_U32,
	SFLOW_F_U64,
	SFLOW_F_HEX64,   /* u64 printed as 16 hex digits */
	SFLOW_F_FLOAT,   /* IEEE 754 single, kept as its bits */
	SFLOW_F_PERCENT, /* hundredths of a percent; 0xffffffff unknown */
};

struct sflow_field {
	const char *name; /* sflowtool -j name */
	enum sflow_ftype type;
};

#define SFLOW_TABLE_MAX 32

/*
 * The generic interface counter record (SFLOW_CTR_GENERIC) has a layout
 * fixed by the sFlow v5 spec: its decoded r->u.table.fields is always
 * sflow_generic_fields, and field i of it is at position i below, so a
 * reader can take a field by position instead of comparing its name.
 */
enum sflow_generic_pos {
	SFLOW_GEN_IFINDEX,
	SFLOW_GEN_NETWORK_TYPE,
	SFLOW_GEN_SPEED,
	SFLOW_GEN_DIRECTION,
	SFLOW_GEN_STATUS,
	SFLOW_GEN_IN_OCTETS,
	SFLOW_GEN_IN_UCAST,
	SFLOW_GEN_IN_MCAST,
	SFLOW_GEN_IN_BCAST,
	SFLOW_GEN_IN_DISCARDS,
	SFLOW_GEN_IN_ERRORS,
	SFLOW_GEN_IN_UNKNOWN,
	SFLOW_GEN_OUT_OCTETS,
	SFLOW_GEN_OUT_UCAST,
	SFLOW_GEN_OUT_MCAST,
	SFLOW_GEN_OUT_BCAST,
	SFLOW_GEN_OUT_DISCARDS,
	SFLOW_GEN_OUT_ERRORS,
	SFLOW_GEN_PROMISC,
	SFLOW_GEN__N
};

/* The generic record's field list (names as sflowtool -j prints them). */
extern const struct sflow_field sflow_generic_fields[SFLOW_GEN__N];

struct sflow_record {
	uint32_t tag;
	bool counter; /* a counter record (else a flow record) */
	bool decoded; /* known and consistent: `u` is valid */
	const uint8_t *data;
	uint32_t len;

	union {
		struct {
			uint32_t protocol; /* header_protocol: 1 Ethernet... */
			uint32_t frame_length;
			uint32_t stripped;
			uint32_t header_len;
			const uint8_t *header;
			struct pkt_info pkt; /* parsed if protocol is known */
			bool parsed;
		} hdr;
		struct {
			uint32_t length;
			uint8_t src_mac[6];
			uint8_t dst_mac[6];
			uint32_t type;
		} eth;
		struct { /* sampled IPv4 and IPv6 */
			uint32_t length;
			uint32_t protocol;
			struct sflow_addr src;
			struct sflow_addr dst;
			uint32_t src_port;
			uint32_t dst_port;
			uint32_t tcp_flags;
			uint32_t tos; /* IPv6: priority */
		} ip;
		struct {
			uint32_t src_vlan;
			uint32_t src_priority;
			uint32_t dst_vlan;
			uint32_t dst_priority;
		} sw;
		struct {
			struct sflow_addr next_hop;
			uint32_t src_mask;
			uint32_t dst_mask;
		} rtr;
		struct {
			struct sflow_addr next_hop;
			uint32_t as;
			uint32_t src_as;
			uint32_t src_peer_as;
			uint32_t n_segments;
			const uint8_t
			    *segments; /* raw, already bounds-checked */
			uint32_t segments_len;
			uint32_t dst_as; /* last AS of the path, 0 if none */
			uint32_t dst_peer_as; /* first AS of the path */
			uint32_t n_communities;
			const uint8_t *communities;
			uint32_t localpref;
		} gw;
		uint32_t u32; /* egress queue, transit delay, queue depth */
		struct {      /* strings are not NUL-terminated */
			const uint8_t *str;
			uint32_t len;
			const uint8_t *str2; /* hw_trap: the name */
			uint32_t len2;
		} str; /* function symbol, hw_trap group, reason, port name */
		struct {
			const uint8_t *hostname;
			uint32_t hostname_len;
			uint8_t uuid[16];
			uint32_t machine_type;
			uint32_t os_name;
			const uint8_t *os_release;
			uint32_t os_release_len;
		} hostdescr;
		struct {
			uint32_t n_adapters;
			const uint8_t *list; /* bounds-checked raw list */
			uint32_t list_len;
		} adapters;
		struct { /* fixed-layout counter records */
			const struct sflow_field *fields;
			uint32_t n;
			uint64_t v[SFLOW_TABLE_MAX]; /* floats as their bits */
		} table;
	} u;
};

/*
 * Open a datagram: parse its header. Returns SFLOW_OK, or the error class
 * that makes the whole datagram unusable (also counted in dg->errs).
 */
enum sflow_err sflow_datagram_open(
    struct sflow_datagram *dg, const uint8_t *buf, size_t len);

/* Next sample: returns 1 with `s` filled, 0 at the end, never negative. */
int sflow_sample_next(struct sflow_datagram *dg, struct sflow_sample *s);

/* Next record of a known sample: 1 with `r` filled, 0 at the end. */
int sflow_record_next(struct sflow_sample *s, struct sflow_record *r);

/* Total errors counted in a datagram so far. */
uint32_t sflow_datagram_errors(const struct sflow_datagram *dg);

/* An XDR-walkable AS path segment from an extended_gateway record. */
struct sflow_as_segment {
	uint32_t type; /* 1 AS_SET, 2 AS_SEQUENCE */
	uint32_t n;
	const uint8_t *as; /* n big-endian u32s */
};
/* Iterate gw.segments: *off starts at 0. Returns 1 while there is one. */
int sflow_as_segment_next(
    const struct sflow_record *r, uint32_t *off, struct sflow_as_segment *seg);

/*
 * Parse an IPv4 or IPv6 literal into *out (unused bytes zero). Returns 0,
 * or -1 (out zeroed) if s is neither. No DNS: it never blocks.
 */
int sflow_addr_parse(const char *s, struct sflow_addr *out);

/*
 * A keyed (SipHash) 32-bit hash of (a, n), never 0, for hash tables keyed
 * by agent and ifIndex/dataSource: both come from packets, so the key
 * (k0, k1) must be secret. Only family and the 16 bytes count: the
 * caller normalises unused bytes.
 */
uint32_t sflow_addr_hash(
    uint64_t k0, uint64_t k1, const struct sflow_addr *a, uint32_t n);

/* Read a big-endian u32 (helper for the AS lists above). */
uint32_t sflow_rd32(const uint8_t *p);

#endif
