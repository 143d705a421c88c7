/*
 * walk.h: the result of walking one switch over SNMP, as plain data.
 * PURE types and helpers: no net-snmp here. topology/snmp.c fills a
 * struct walk from the wire; topology/lldp.c reads it; tests build one by
 * hand or from recorded `snmpwalk -On` text (walk_parse_text).
 *
 * A walk is owned by one thread at a time and handed over whole.
 */
#ifndef FABMON_WALK_H
#define FABMON_WALK_H

#include <stddef.h>
#include <stdint.h>

#define WALK_OID_MAX 64

enum walk_type {
	WALK_INT,    /* INTEGER */
	WALK_UINT,   /* Counter32, Gauge32, Unsigned32, TimeTicks */
	WALK_U64,    /* Counter64 */
	WALK_STR,    /* OCTET STRING (any bytes) */
	WALK_OID,    /* OBJECT IDENTIFIER: value in oid_val */
	WALK_IPADDR, /* IpAddress: 4 bytes in str */
	WALK_NULL,   /* NULL, noSuchObject, noSuchInstance, endOfMibView */
};

struct walk_vb {
	uint32_t oid[WALK_OID_MAX];
	uint8_t oid_len;
	uint8_t type; /* enum walk_type */
	int64_t num;  /* INT, UINT, U64 (U64 stored as its bits) */
	uint8_t *str; /* STR, IPADDR: malloc'ed, str_len bytes (+ a NUL) */
	uint32_t str_len;
	uint32_t oid_val[WALK_OID_MAX]; /* OID values */
	uint8_t oid_val_len;
};

enum walk_status {
	WALK_OK = 0,
	WALK_TIMEOUT, /* no answer after the retries */
	WALK_AUTH,    /* SNMPv3 authentication / unknown user / wrong community
	               * where the agent says so */
	WALK_PARTIAL, /* some subtrees done, then a timeout or error */
	WALK_ERROR,   /* anything else; see err */
};

struct walk {
	char target[80]; /* the address that was polled */
	enum walk_status status;
	char err[160];       /* human-readable, for logs and the API */
	uint64_t started_ms; /* monotonic */
	uint64_t finished_ms;
	uint32_t requests;   /* PDUs sent, retries included */
	struct walk_vb *vbs; /* in the order received */
	size_t n;
	size_t cap;
	size_t max_vbs; /* bound: further varbinds are dropped and
	                 * status becomes WALK_PARTIAL */
};

/* A new empty walk bounded to max_vbs varbinds (0: 200000). */
struct walk *walk_new(const char *target, size_t max_vbs);
void walk_free(struct walk *);

/*
 * Append a varbind (copies str). Returns 0, or -1 when the bound is hit
 * (the walk is then marked WALK_PARTIAL).
 */
int walk_add(struct walk *, const uint32_t *oid, size_t oid_len,
    enum walk_type type, int64_t num, const uint8_t *str, size_t str_len,
    const uint32_t *oid_val, size_t oid_val_len);

/*
 * True if oid[0..len) starts with prefix[0..plen). Sets *rest to the
 * suffix (the table index) and *rest_len to its length when non-NULL.
 */
int walk_oid_prefix(const uint32_t *oid, size_t len, const uint32_t *prefix,
    size_t plen, const uint32_t **rest, size_t *rest_len);

/*
 * Parse `snmpwalk -On -Oe`-style text ("  .1.3.6.1... = TYPE: value" lines,
 * types INTEGER, STRING, Hex-STRING, Counter32, Gauge32, Timeticks,
 * Counter64, OID, IpAddress, "" (empty string), No Such Object...) into a
 * walk. For tests and recorded fixtures. Returns a walk (never NULL); lines
 * it cannot parse are counted in *bad_lines if given.
 */
struct walk *walk_parse_text(
    const char *text, const char *target, size_t *bad_lines);

#endif
