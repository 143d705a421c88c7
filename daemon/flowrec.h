/*
 * flowrec.h: the flow record (what one sampled packet gives the flow
 * engine) and the flow keys evaluated on it, in sFlow-RT's vocabulary.
 * PURE: no I/O, no logging. The ingest thread fills and evaluates flow
 * records; compiled keys are immutable, so any thread may evaluate them.
 *
 * KEY VALUES, as strings (the flow table's key is the values of a key
 * list joined with ","), in the formats sFlow-RT uses:
 *
 *   macsource, macdestination   12 uppercase hex digits: "0CC47A3EF10E"
 *   ethernetprotocol            the ethertype, decimal: "2048"
 *   vlan, priority              the outermost 802.1Q tag of the sampled
 *                               header, decimal; when the header has no
 *                               tag, the extended switch record's input
 *                               VLAN (1..4095) and priority. Switches
 *                               often sample after stripping the tag, so
 *                               that record is the only place it shows.
 *   vlansource, vlandestination, prioritysource, prioritydestination
 *                               the extended switch record, decimal
 *   ipsource, ipdestination     IPv4 dotted quad: "10.0.1.5"
 *   ipprotocol, iptos, ipttl    IPv4 fields, decimal (for iptos and the
 *                               ip6 ones below, sFlow-RT's documentation
 *                               shows no value; decimal as sflowtool)
 *   ipdscp                      IPv4 TOS >> 2, decimal
 *   ip6source, ip6destination   IPv6, RFC 5952 text: "2001:db8::1"
 *   ip6nexthdr, ip6tos, ip6ttl, ip6dscp
 *                               the IPv6 upper-layer protocol, traffic
 *                               class, hop limit, class >> 2; decimal
 *   tcpsourceport, tcpdestinationport, udpsourceport, udpdestinationport
 *                               decimal
 *   tcpflags                    9 binary digits, NS first, FIN last:
 *                               "000010010" is SYN+ACK (so that filters
 *                               like tcpflags~.......1. select SYNs). NS
 *                               is always 0: only byte 13 is decoded.
 *   icmptype, icmpcode          ICMP (IPv4), decimal
 *   icmp6type, icmp6code        ICMPv6, decimal
 *   vni                         the VXLAN network identifier, decimal
 *   inputifindex, outputifindex the ifIndex in decimal, or "internal"
 *                               (0x3FFFFFFF), "discard" (format 1, and
 *                               the output of a discard sample) or
 *                               "multiple" (format 2)
 *   direction                   "ingress" when the data source is the
 *                               input port, "egress" when it is the
 *                               output port, else no value
 *   stack                       the protocol stack: "eth.ip.tcp", and
 *                               behind VXLAN the whole of it:
 *                               "eth.ip.udp.vxlan.eth.ip.tcp"
 *   agent                       the sFlow agent address (as above)
 *
 * A key has NO VALUE when the sample does not carry it (ipsource of an
 * IPv6 packet, tcpflags of a UDP packet, ports of a fragment...). In a
 * key list, sFlow-RT skips a sample for a flow when any key has no value;
 * flowkeys_eval() says so, and writes "null" in its place.
 *
 * THE .1 SUFFIX selects the inner layer behind VXLAN: ipsource.1,
 * macsource.1, tcpdestinationport.1... (the packet keys only). An inner
 * key has no value when there is no inner layer.
 *
 * KEY FUNCTIONS are written func:arg:arg...; an argument that is itself a
 * function goes in square brackets, as in sFlow-RT:
 *   or:k1:k2...        the value of the first key that has one
 *   null:k[:default]   k's value, or default ("null" if not given)
 *   mask:k:bits        k (an address key) with the host bits cleared:
 *                      mask:ipsource:24 gives "10.0.1.0"; bits beyond
 *                      the address length are the address length
 *   first:k:sep:v...   k's value split at sep; the first piece that is one
 *                      of the v's: first:stack:.:ip:ip6 gives "ip" for
 *                      eth.ip.tcp and "ip6" for eth.ip6.udp
 *   prefix:k:sep:n     the first n pieces of k split at sep, rejoined
 *   suffix:k:sep:n     the last n pieces
 *   node:inputifindex, node:outputifindex
 *                      the topology node (switch) name of the port
 *   link:inputifindex, link:outputifindex
 *                      the name of the fabric link on that port; no
 *                      value for an edge port, so link:inputifindex=null
 *                      selects traffic entering the fabric
 * The topology keys come from the flowrec_ctx callback: no value when it
 * is absent or misses (unknown agent), and never asked for the ifIndex 0,
 * internal, discard or multiple.
 *
 * NAMES (of keys and functions) are matched ignoring case; sFlow-RT's
 * documentation writes them in lower case.
 */
#ifndef FABMON_FLOWREC_H
#define FABMON_FLOWREC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "packet.h"
#include "sflow.h"

/* What a layer holds: bits of flowrec_layer.have. */
enum {
	FLOWREC_ETH = 1 << 0,      /* MAC addresses */
	FLOWREC_ETHTYPE = 1 << 1,  /* ethertype */
	FLOWREC_VLAN = 1 << 2,     /* an 802.1Q tag: vlan, pcp */
	FLOWREC_IP4 = 1 << 3,      /* addresses, proto, tos */
	FLOWREC_IP6 = 1 << 4,      /* addresses, next header, class */
	FLOWREC_TTL = 1 << 5,      /* TTL / hop limit */
	FLOWREC_PORTS = 1 << 6,    /* TCP or UDP ports (by ip_proto) */
	FLOWREC_TCPFLAGS = 1 << 7, /* tcp_flags */
	FLOWREC_ICMP = 1 << 8,     /* ICMP or ICMPv6 type and code */
};

/* One decoded layer set: the outer packet, or the one behind VXLAN. */
struct flowrec_layer {
	uint16_t have; /* FLOWREC_* bits */
	uint8_t src_mac[6];
	uint8_t dst_mac[6];
	uint16_t ethertype;
	uint16_t vlan;
	uint8_t pcp;
	uint8_t ip_proto; /* IPv4 protocol or IPv6 upper-layer header */
	uint8_t ip_tos;   /* IPv4 TOS or IPv6 traffic class */
	uint8_t ip_ttl;
	uint8_t src_ip[16]; /* IPv4 in the first 4 bytes */
	uint8_t dst_ip[16];
	uint16_t src_port;
	uint16_t dst_port;
	uint8_t tcp_flags;
	uint8_t icmp_type;
	uint8_t icmp_code;
	char stack[PKT_STACK_LEN]; /* this layer's stack, "eth.ip.tcp" */
};

/*
 * Everything the flow engine takes from one flow or discard sample. It is
 * a self-contained copy: it does not point into the datagram buffer, so
 * it stays valid after the buffer is reused.
 */
struct flow_rec {
	struct sflow_addr agent; /* the datagram's agent address */
	uint32_t sample_tag;     /* SFLOW_SAMPLE_FLOW, _FLOW_EXPANDED or
	                          * _DISCARD */
	bool dropped;            /* a discarded-packet sample (0:5) */
	uint32_t source_type;    /* 0 ifIndex, 1 VLAN, 2 entity */
	uint32_t source_index;
	uint32_t sampling_rate; /* 1 for a discard sample: each notified
	                         * packet counts once */
	uint32_t sample_pool;
	uint32_t drops;
	struct sflow_if input;
	struct sflow_if output;   /* a discard sample's is {SFLOW_IF_DISCARD,
	                           * reason}: where the packet went */
	uint32_t discard_reason;  /* output.value when output is a discard */
	uint32_t discard_ifindex; /* a discard sample's own output field:
	                           * the port it was heading to, 0 unknown */

	/* From the sampled header (else the sampled Ethernet/IP records). */
	uint32_t frame_length; /* bytes on the wire, 0 unknown */
	uint32_t stripped;
	uint32_t header_protocol; /* 1 Ethernet, 11 IPv4, 12 IPv6; 0 none */
	bool has_header;          /* a sampled header was parsed */
	uint8_t n_layers;         /* 0 (nothing decoded), 1, or 2 (VXLAN) */
	uint32_t vxlan_vni;       /* when n_layers == 2 */
	struct flowrec_layer l[2];
	char stack[2 * PKT_STACK_LEN]; /* l[0].stack, then "." l[1].stack */

	/* The extended switch record. */
	bool has_switch;
	uint32_t src_vlan;
	uint32_t src_priority;
	uint32_t dst_vlan;
	uint32_t dst_priority;

	/* NULL, or the memo of the sample's data source (sflow_sample.memo)
	 * for the flow engine's source registry */
	struct sflow_src_memo *src_memo;
};

/*
 * Fill `rec` from a sample just returned by sflow_sample_next() on `dg`,
 * walking its records with sflow_record_next() (so the sample's record
 * cursor is used up). Returns 0 for a flow, expanded flow or discard
 * sample, -1 for any other sample (rec is then zeroed, and the records
 * are left unread). Bad records do not fail it: what decodes is used.
 */
int flowrec_from_sample(struct flow_rec *rec, const struct sflow_datagram *dg,
    struct sflow_sample *s);

/* A layer of the record from a parsed header (what the keys need); also
 * NetFlow/IPFIX's sampled frame sections (netflow.c). */
void flowrec_layer_from_pkt(struct flowrec_layer *, const struct pkt_layers *);
/* Append "." add to the stack string dst (nothing if it does not fit). */
void flowrec_stack_cat(char *dst, size_t dstlen, const char *add);

/*
 * The topology behind node: and link: keys. lookup() answers for an
 * agent and a plain ifIndex (never 0, internal, discard or multiple): it
 * returns 1 and sets *node (the switch's name, NULL if unknown) and *link
 * (the port's link name, NULL for an edge port or an unknown port), or 0
 * for a miss. The strings must stay valid until the evaluation returns.
 * A NULL ctx or lookup gives no value.
 */
struct flowrec_ctx {
	int (*lookup)(void *arg, const struct sflow_addr *agent,
	    uint32_t ifindex, const char **node, const char **link);
	void *arg;
};

/* ---- keys ------------------------------------------------------------ */

#define FLOWKEY_EXPR_MAX  4096 /* characters of a key expression */
#define FLOWKEY_DEPTH_MAX 64   /* nested functions */
#define FLOWKEY_ARGS_MAX  64   /* arguments of one function */
#define FLOWKEY_VALUE_MAX 256  /* a formatted value, with the NUL */
#define FLOWKEYS_MAX      64   /* keys in a key list */

/* How a key's value compares (filters use it to compile their values). */
enum flowkey_type {
	FLOWKEY_STR = 0, /* a string, compared exactly */
	FLOWKEY_NUM,     /* an unsigned number */
	FLOWKEY_ADDR,    /* an IPv4 or IPv6 address */
	FLOWKEY_MAC,     /* an Ethernet address */
	FLOWKEY_IFINDEX, /* an sFlow interface (ifIndex or special) */
};

/* A key's value, typed; see flowkey_value(). */
struct flowkey_value {
	enum flowkey_type type;
	uint64_t num;
	struct sflow_addr addr;
	uint8_t mac[6];
	struct sflow_if ifx;
	const char *str; /* FLOWKEY_STR: str[0..len), not NUL-terminated;
	                  * points into buf, the record, the key or ctx */
	size_t len;
	char buf[FLOWKEY_VALUE_MAX];
};

struct flowkey;
struct flowkeys;

/*
 * Compile a key expression ("ipsource", "ipsource.1", "or:k1:k2",
 * "mask:ipsource:24", "node:inputifindex"...). Returns NULL on error,
 * with a message in err naming the token and its 1-based position:
 * "unknown key 'ipsourc' at 1". The caller owns the result
 * (flowkey_free).
 */
struct flowkey *flowkey_parse(const char *expr, char *err, size_t errlen);

/*
 * The same for expr[0..len) found at 0-based offset `pos0` of a longer
 * text (a filter, a key list), so that errors give positions in it.
 */
struct flowkey *flowkey_parse_n(
    const char *expr, size_t len, size_t pos0, char *err, size_t errlen);

void flowkey_free(struct flowkey *);

/* The expression as parsed (for display), and the type of its value. */
const char *flowkey_text(const struct flowkey *);
enum flowkey_type flowkey_type(const struct flowkey *);

/* True if the key needs ctx (a node: or link: key, at any depth). */
bool flowkey_uses_topology(const struct flowkey *);

/*
 * The keys read straight from a field of the record, with no function,
 * topology or text between: what flowkey_value() gives them, without its
 * struct, for the hot paths (filters, packed keys).
 *   FLOWKEY_DIRECT_NUM: flowkey_num() gives the number;
 *   FLOWKEY_DIRECT_IP4: flowkey_ip4() the IPv4 address (-1 for an IPv6
 *   agent: flowkey_value() has it);
 *   FLOWKEY_DIRECT_OTHER: a MAC or an ifIndex, packed without the memo.
 */
enum flowkey_direct {
	FLOWKEY_DIRECT_NONE,
	FLOWKEY_DIRECT_NUM,
	FLOWKEY_DIRECT_IP4,
	FLOWKEY_DIRECT_OTHER,
};
enum flowkey_direct flowkey_direct(const struct flowkey *);
/* 1 with *num, 0: no value in r; -1: not a FLOWKEY_DIRECT_NUM key */
int flowkey_num(
    const struct flowkey *, const struct flow_rec *r, uint64_t *num);
/* 1 with a, 0: no value in r; -1: not an IPv4 address (see above) */
int flowkey_ip4(const struct flowkey *, const struct flow_rec *r, uint8_t a[4]);

/*
 * Evaluate a key on a record into a typed value. Returns 1 with *v
 * filled, 0 for no value. ctx may be NULL.
 */
int flowkey_value(const struct flowkey *, const struct flow_rec *,
    const struct flowrec_ctx *, struct flowkey_value *v);

/*
 * Format a value as the key string (see the formats above) into out,
 * always NUL-terminated (cut if outlen < FLOWKEY_VALUE_MAX). Returns the
 * length it has (or would have had).
 */
size_t flowkey_format(const struct flowkey_value *, char *out, size_t outlen);

/*
 * Evaluate a key into its string: returns 1 with the value in out, or 0
 * with "null" in out when the key has no value. out should hold
 * FLOWKEY_VALUE_MAX bytes.
 */
int flowkey_eval(const struct flowkey *, const struct flow_rec *,
    const struct flowrec_ctx *, char *out, size_t outlen);

/*
 * Compile a key list "k1,k2,..." (commas inside [] belong to the key).
 * The empty list is valid: a flow with no keys (one total). Returns NULL
 * with err set on error; the caller owns the result (flowkeys_free).
 */
struct flowkeys *flowkeys_parse(const char *list, char *err, size_t errlen);
void flowkeys_free(struct flowkeys *);
size_t flowkeys_count(const struct flowkeys *);
const struct flowkey *flowkeys_get(const struct flowkeys *, size_t i);

/* A buffer size for flowkeys_eval() that never cuts the string. */
size_t flowkeys_strmax(const struct flowkeys *);

/*
 * Evaluate a key list into the flow table's key: the values joined with
 * ",", "null" for a key without a value. Returns 1 when every key has a
 * value, 0 when one has none (sFlow-RT does not count the sample for the
 * flow), -1 when out is too small (the string is cut).
 */
int flowkeys_eval(const struct flowkeys *, const struct flow_rec *,
    const struct flowrec_ctx *, char *out, size_t outlen);

/*
 * A cache of key values for one record at a time, shared by key lists.
 * The flow engine keys one record for every definition, and definitions
 * have keys in common (ipsource, ipdestination, stack...): through a
 * memo each distinct key is evaluated and packed once per record, not
 * once per definition. Keys are told apart by their text (flowkey_text():
 * the same text is the same key, whatever list it is in). A memo has one
 * owner thread (the ingest thread).
 */
struct flowkey_memo;

struct flowkey_memo *flowkey_memo_new(void);
void flowkey_memo_free(struct flowkey_memo *);
/* Forget every key: the ids of earlier flowkey_memo_bind() calls are void. */
void flowkey_memo_clear(struct flowkey_memo *);
/*
 * Give each key of ks its memo id in ids[0 .. flowkeys_count(ks)): keys
 * with the same text get the same id. ks is not kept. The values cached
 * are forgotten, as by flowkey_memo_next().
 */
void flowkey_memo_bind(
    struct flowkey_memo *, const struct flowkeys *ks, uint32_t *ids);
/* A new record: every value cached so far is forgotten. O(1). */
void flowkey_memo_next(struct flowkey_memo *);
/*
 * Packed keys: what the flow engine's tables hold. flowkeys_pack_memo()
 * keys r through the memo as flowkeys_eval() does, but each value in a
 * compact binary form (an IPv4 address in 5 bytes, a port in 3, a text
 * with its length) and no separators: shorter keys to hash, compare and
 * hold, and nothing formatted for the samples of flows already in a
 * table. flowkey_unpack() gives the text back: for the same record,
 * exactly flowkeys_eval()'s. Two records whose keys show the same text
 * pack the same, and the other way round, so a table has one entry per
 * text (pack_value() says why).
 *
 * Returns 1 with the packed key in out[0 .. *len) when every key has a
 * value; 0 when one has none (sFlow-RT leaves such a sample out of the
 * flow; out then holds no key); -1 when out is too small.
 * flowkeys_packmax(ks) bytes are always enough. ids come from
 * flowkey_memo_bind() of ks. Between two flowkey_memo_next() every call
 * must pass the same record and ctx (the values cached are that
 * record's), and each call its own out, left as it is until then: a value
 * is packed once, into the out of its first use, and copied from there.
 */
int flowkeys_pack_memo(const struct flowkeys *ks, const uint32_t *ids,
    struct flowkey_memo *, const struct flow_rec *, const struct flowrec_ctx *,
    char *out, size_t outlen, size_t *len);
size_t flowkeys_packmax(const struct flowkeys *ks);
/*
 * The text of a packed key into out (outlen > 0; FLOWKEY_UNPACK_MAX(keylen)
 * bytes are always enough, else the text is cut), NUL-terminated. Returns
 * its length. Bytes that are not a packed key end it. Any thread.
 */
size_t flowkey_unpack(const char *key, size_t keylen, char *out, size_t outlen);
/* an IPv4 address (5 bytes packed) is at most 16 bytes of text, ",",
 * NUL included */
#define FLOWKEY_UNPACK_MAX(keylen) (4 * (size_t)(keylen) + 1)

/*
 * Every key name (kind "string", "number", "address", "mac", "ifindex";
 * layered: takes the ".1" suffix) and key function (kind "function"),
 * for /flowkeys/json. Any thread.
 */
void flowkeys_foreach(
    void (*cb)(void *, const char *name, const char *kind, bool layered),
    void *arg);

#endif
