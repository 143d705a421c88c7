/*
 * snmp.c: the SNMP poller (snmp.h), on net-snmp's single-session API. It
 * runs on the topology thread only; it is the only file of the project
 * that includes net-snmp headers.
 *
 * One walk = one net-snmp session (one UDP socket) and a small state
 * machine: [SNMPv3 engine-ID probe] -> GETBULK ... per subtree [-> GET of
 * the root when a subtree is empty] -> done. At most max_parallel walks
 * are in flight; the others wait in a FIFO. snmp_poller_run() polls all
 * sockets at once, so a dead switch only ever costs its own slot.
 *
 * What net-snmp (5.9.3) does that shapes this file:
 * - snmp_sess_open() of an SNMPv3 session probes the agent's engine ID
 *   with a *synchronous* request: a dead v3 switch would block the thread
 *   for timeout * (retries + 1). SNMP_FLAGS_DONT_PROBE only postpones it:
 *   snmp_sess_open() clears the flag once the session is open, and the
 *   first send then runs the same synchronous probe from inside
 *   snmpv3_build(). So we set the flag again after opening, send the probe
 *   (an empty noAuthNoPriv GET) asynchronously ourselves, and create the
 *   USM user from the session as snmp_sess_open() would have.
 * - The USM user table is process-wide, keyed by (engine ID, user), and
 *   usm_create_user_from_session() never updates the keys of an existing
 *   entry: after a pass phrase change (or a wrong one first) the old key
 *   would stick until restart. We drop an entry whose keys differ first.
 * - The library's own retries re-send the same request silently. We set
 *   the session's retries to 0 and re-send ourselves, so that
 *   walk->requests is exact and the retry policy does not depend on the
 *   net-snmp version. (net-snmp still re-sends once by itself on an
 *   SNMPv3 notInTimeWindow report: that is the time synchronisation.)
 * - A received Report reaches the callback twice, as SEC_ERROR and then as
 *   RECEIVED_MESSAGE (the order and the SEC_ERROR differ between
 *   versions), and an agent that could not authenticate or decrypt a
 *   request answers with request-id 0, matched by msgID only.
 *
 * The net-snmp callback only records what happened (j->act); the sending,
 * the USM set-up, closing sessions and calling the user's callback happen
 * afterwards in snmp_poller_run(), never inside the library.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <arpa/inet.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/library/keytools.h>
#include <net-snmp/library/large_fd_set.h>
#include <net-snmp/library/snmpusm.h>

#include "snmp.h"
#include "util.h"
#include "walk.h"

#define DEFAULT_TIMEOUT_MS 1000
#define DEFAULT_RETRIES    2
#define DEFAULT_MAXREP     25
#define MAX_RETRIES        20
#define MAX_SUBTREES       64
#define KU_CACHE           4
#define SNMP_APP           "fabmon"

enum job_state {
	J_QUEUED,
	J_PROBE, /* SNMPv3: waiting for the engine-ID report */
	J_WALK,
	J_DONE, /* status set; to be closed and handed over */
};

/* What the net-snmp callback found; acted upon by job_step(). */
enum job_act {
	A_NONE,   /* waiting for the outstanding request */
	A_PROBED, /* engine ID known: set up the USM user, start walking */
	A_NEXT,   /* send the next request of the walk */
	A_RETRY,  /* the outstanding request timed out */
};

enum job_mode {
	M_BULK, /* GETBULK from last[] */
	M_GET,  /* GET of the root: the subtree held nothing */
};

struct subtree {
	oid o[MAX_OID_LEN];
	size_t len;
};

struct job {
	struct job *next; /* queue link */
	char peer[80];    /* net-snmp transport spec, "udp:a.b.c.d:161" */
	struct snmp_creds c;
	struct subtree *roots;
	size_t nroots;
	size_t cur; /* subtree being walked */
	enum job_mode mode;
	oid last[MAX_OID_LEN]; /* ask for what follows this */
	size_t last_len;
	size_t in_cur;   /* varbinds taken from the current subtree */
	size_t sub_done; /* subtrees that ended normally */
	size_t sub_err;  /* subtrees stopped by an agent error */
	int maxrep;
	struct walk *w;
	snmp_walk_done_fn *done;
	void *arg;
	void *sessp;
	enum job_state state;
	enum job_act act;
	int fatal; /* WALK_* that ended the walk early, or -1 */
	int cancelled;
	int reqid;         /* outstanding request, 0: none */
	netsnmp_pdu *req;  /* a copy of it, for our own re-sends */
	int tries;         /* sends of the outstanding request */
	int tw_reports;    /* notInTimeWindow reports for it */
	int report_seen;   /* report_msgid is valid */
	long report_msgid; /* the last Report handled */
	uint64_t sent_ms;  /* last send */
};

struct ku_entry {
	int used;
	const oid *auth;
	char pass[128];
	u_char ku[USM_AUTH_KU_LEN];
	size_t len;
};

struct snmp_poller {
	int max_parallel;
	struct job **active;
	int nactive;
	struct job *qhead, *qtail;
	int nqueued;
	struct pollfd *pfd;
	netsnmp_large_fd_set fds;
	int fds_size;
	int closing; /* in snmp_poller_free: no new walks */
	struct ku_entry ku[KU_CACHE];
	unsigned ku_next;
};

/* ------------------------------------------------------------ credentials */

struct proto {
	const char *name;
	oid *o;
	size_t len;
};

static const struct proto auth_protos[] = {
	{ "SHA", usmHMACSHA1AuthProtocol, OID_LENGTH(usmHMACSHA1AuthProtocol) },
	{ "SHA1", usmHMACSHA1AuthProtocol,
	    OID_LENGTH(usmHMACSHA1AuthProtocol) },
	{ "SHA-1", usmHMACSHA1AuthProtocol,
	    OID_LENGTH(usmHMACSHA1AuthProtocol) },
	{ "SHA-224", usmHMAC128SHA224AuthProtocol,
	    OID_LENGTH(usmHMAC128SHA224AuthProtocol) },
	{ "SHA-256", usmHMAC192SHA256AuthProtocol,
	    OID_LENGTH(usmHMAC192SHA256AuthProtocol) },
	{ "SHA-384", usmHMAC256SHA384AuthProtocol,
	    OID_LENGTH(usmHMAC256SHA384AuthProtocol) },
	{ "SHA-512", usmHMAC384SHA512AuthProtocol,
	    OID_LENGTH(usmHMAC384SHA512AuthProtocol) },
	{ "MD5", usmHMACMD5AuthProtocol, OID_LENGTH(usmHMACMD5AuthProtocol) },
};

static const struct proto priv_protos[] = {
	{ "AES", usmAESPrivProtocol, OID_LENGTH(usmAESPrivProtocol) },
	{ "AES128", usmAESPrivProtocol, OID_LENGTH(usmAESPrivProtocol) },
	{ "AES-128", usmAESPrivProtocol, OID_LENGTH(usmAESPrivProtocol) },
	{ "DES", usmDESPrivProtocol, OID_LENGTH(usmDESPrivProtocol) },
};

static const struct proto *
proto_find(const struct proto *t, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(t[i].name, name) == 0)
			return &t[i];
	return NULL;
}

static int
cstr_ok(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

void
snmp_creds_init(struct snmp_creds *c)
{
	memset(c, 0, sizeof(*c));
	c->version = 2;
	snprintf(c->community, sizeof(c->community), "public");
	snprintf(c->auth_proto, sizeof(c->auth_proto), "SHA");
	snprintf(c->priv_proto, sizeof(c->priv_proto), "AES");
	c->timeout_ms = DEFAULT_TIMEOUT_MS;
	c->retries = DEFAULT_RETRIES;
	c->max_repetitions = DEFAULT_MAXREP;
}

int
snmp_creds_check(const struct snmp_creds *c, char *err, size_t errlen)
{
#define BAD(...)                                                               \
	do {                                                                   \
		if (err != NULL && errlen > 0)                                 \
			snprintf(err, errlen, __VA_ARGS__);                    \
		return -1;                                                     \
	} while (0)
	if (c->version != 2 && c->version != 3)
		BAD("SNMP version %d: only 2 (v2c) and 3", c->version);
	if (!cstr_ok(c->community, sizeof(c->community)) ||
	    !cstr_ok(c->user, sizeof(c->user)) ||
	    !cstr_ok(c->auth_proto, sizeof(c->auth_proto)) ||
	    !cstr_ok(c->auth_pass, sizeof(c->auth_pass)) ||
	    !cstr_ok(c->priv_proto, sizeof(c->priv_proto)) ||
	    !cstr_ok(c->priv_pass, sizeof(c->priv_pass)))
		BAD("unterminated string in the SNMP credentials");
	if (c->timeout_ms < 0 || c->timeout_ms > 600000)
		BAD("SNMP timeout %d ms out of range", c->timeout_ms);
	if (c->retries < 0 || c->retries > MAX_RETRIES)
		BAD("SNMP retries %d out of range 0..%d", c->retries,
		    MAX_RETRIES);
	if (c->max_repetitions < 0 || c->max_repetitions > 1000)
		BAD("SNMP max-repetitions %d out of range", c->max_repetitions);
	if (c->version == 2) {
		if (c->community[0] == '\0')
			BAD("empty SNMP community");
		return 0;
	}
	if (c->user[0] == '\0')
		BAD("SNMPv3 needs a user");
	if (c->auth_pass[0] == '\0') {
		if (c->priv_pass[0] != '\0')
			BAD("SNMPv3 privacy needs authentication");
		return 0;
	}
	if (proto_find(auth_protos, nitems(auth_protos),
	        c->auth_proto[0] ? c->auth_proto : "SHA") == NULL)
		BAD("unknown SNMPv3 auth protocol '%s' (SHA, SHA-224, "
		    "SHA-256, SHA-384, SHA-512, MD5)",
		    c->auth_proto);
	if (strlen(c->auth_pass) < USM_LENGTH_P_MIN)
		BAD("SNMPv3 auth pass phrase shorter than %d characters",
		    USM_LENGTH_P_MIN);
	if (c->priv_pass[0] == '\0')
		return 0;
	if (proto_find(priv_protos, nitems(priv_protos),
	        c->priv_proto[0] ? c->priv_proto : "AES") == NULL)
		BAD("unknown SNMPv3 privacy protocol '%s' (AES, DES)",
		    c->priv_proto);
	if (strlen(c->priv_pass) < USM_LENGTH_P_MIN)
		BAD("SNMPv3 privacy pass phrase shorter than %d characters",
		    USM_LENGTH_P_MIN);
	return 0;
#undef BAD
}

/*
 * Pass phrase -> Ku costs a million hash-block operations (a few ms):
 * remember the last few, since one credential set usually serves a whole
 * fabric.
 */
static int
ku_get(struct snmp_poller *p, const struct proto *auth, const char *pass,
    u_char *ku, size_t *len)
{
	struct ku_entry *e;

	for (int i = 0; i < KU_CACHE; i++) {
		e = &p->ku[i];
		if (e->used && e->auth == auth->o &&
		    strcmp(e->pass, pass) == 0) {
			memcpy(ku, e->ku, e->len);
			*len = e->len;
			return 0;
		}
	}
	*len = USM_AUTH_KU_LEN;
	if (generate_Ku(auth->o, (u_int)auth->len, (const u_char *)pass,
	        strlen(pass), ku, len) != SNMPERR_SUCCESS)
		return -1;
	e = &p->ku[p->ku_next++ % KU_CACHE];
	e->used = 1;
	e->auth = auth->o;
	snprintf(e->pass, sizeof(e->pass), "%s", pass);
	memcpy(e->ku, ku, *len);
	e->len = *len;
	return 0;
}

/* ------------------------------------------------------------ targets, OIDs */

/*
 * Target string -> net-snmp transport spec ("udp:1.2.3.4:161",
 * "udp6:[::1]:161"). Addresses are checked with inet_pton, so net-snmp
 * never sees a name it would resolve. Returns 0 or -1.
 */
static int
target_parse(const char *t, char *spec, size_t speclen)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *a, *port = NULL;
	size_t alen;
	int v6 = 0, force4 = 0, force6 = 0;
	unsigned long pn = 161;
	unsigned char buf[16];

	if (t == NULL)
		return -1;
	if (strncmp(t, "udp:", 4) == 0) {
		t += 4;
		force4 = 1;
	} else if (strncmp(t, "udp6:", 5) == 0) {
		t += 5;
		force6 = 1;
	}
	if (t[0] == '[') {
		const char *e = strchr(t, ']');

		if (e == NULL)
			return -1;
		a = t + 1;
		alen = (size_t)(e - a);
		if (e[1] == ':')
			port = e + 2;
		else if (e[1] != '\0')
			return -1;
		v6 = 1;
	} else {
		const char *c1 = strchr(t, ':');

		a = t;
		if (c1 != NULL && strchr(c1 + 1, ':') != NULL) {
			alen = strlen(t); /* a bare IPv6 address, no port */
			v6 = 1;
		} else if (c1 != NULL) {
			alen = (size_t)(c1 - t);
			port = c1 + 1;
		} else {
			alen = strlen(t);
		}
	}
	if (alen == 0 || alen >= sizeof(addr) || (force4 && v6))
		return -1;
	memcpy(addr, a, alen);
	addr[alen] = '\0';
	if (port != NULL) {
		char *e;

		if (*port < '0' || *port > '9')
			return -1;
		errno = 0;
		pn = strtoul(port, &e, 10);
		if (errno || *e != '\0' || pn == 0 || pn > 65535)
			return -1;
	}
	if (!v6 && !force6 && inet_pton(AF_INET, addr, buf) == 1)
		return snprintf(spec, speclen, "udp:%s:%lu", addr, pn) <
		        (int)speclen
		    ? 0
		    : -1;
	if (inet_pton(AF_INET6, addr, buf) == 1)
		return snprintf(spec, speclen, "udp6:[%s]:%lu", addr, pn) <
		        (int)speclen
		    ? 0
		    : -1;
	return -1;
}

int
snmp_target_check(const char *target)
{
	char spec[80];

	return target_parse(target, spec, sizeof(spec));
}

/* "1.3.6.1.2.1" or ".1.3.6.1.2.1" -> oid[]; no MIB lookups. */
static int
oid_parse(const char *s, struct subtree *st)
{
	size_t n = 0;

	if (s == NULL)
		return -1;
	if (*s == '.')
		s++;
	while (*s != '\0') {
		unsigned long long v = 0;
		int digits = 0;

		while (*s >= '0' && *s <= '9') {
			v = v * 10 + (unsigned long long)(*s - '0');
			if (v > 0xffffffffULL || ++digits > 10)
				return -1;
			s++;
		}
		if (digits == 0 || n >= MAX_OID_LEN)
			return -1;
		st->o[n++] = (oid)v;
		if (*s == '.') {
			s++;
			if (*s == '\0')
				return -1;
		} else if (*s != '\0') {
			return -1;
		}
	}
	/* BER needs two arcs, the first one 0..2 */
	if (n < 2 || st->o[0] > 2 || (st->o[0] < 2 && st->o[1] > 39))
		return -1;
	st->len = n;
	return 0;
}

static void
oid_fmt(char *buf, size_t len, const oid *o, size_t n)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && off + 1 < len; i++) {
		int k =
		    snprintf(buf + off, len - off, ".%lu", (unsigned long)o[i]);

		if (k < 0 || (size_t)k >= len - off) {
			if (len > 4)
				snprintf(buf + (len - 4), 4, "...");
			break;
		}
		off += (size_t)k;
	}
}

static int
oid_in(const oid *o, size_t n, const struct subtree *root)
{
	return n > root->len &&
	    memcmp(o, root->o, root->len * sizeof(oid)) == 0;
}

/* ------------------------------------------------------------ varbinds */

/*
 * Append one varbind, converted to walk.h's types. Every value is read
 * only after its type and length have been checked, so a hostile agent can
 * at worst get its varbind stored as WALK_NULL. Returns -1 when the walk
 * is full (walk_add then set WALK_PARTIAL), else 0.
 */
static int
vb_add(struct job *j, const netsnmp_variable_list *v)
{
	uint32_t name[WALK_OID_MAX], val[WALK_OID_MAX];
	size_t vn = 0;
	enum walk_type type = WALK_NULL;
	int64_t num = 0;
	const uint8_t *str = NULL;
	size_t slen = 0;

	if (v->name_length > WALK_OID_MAX)
		return 0; /* no room in a walk_vb: skip */
	for (size_t i = 0; i < v->name_length; i++)
		name[i] = (uint32_t)v->name[i];
	switch (v->type) {
	case ASN_INTEGER:
		if (v->val.integer != NULL && v->val_len >= sizeof(long)) {
			type = WALK_INT;
			num = (int64_t)*v->val.integer;
		}
		break;
	case ASN_COUNTER:
	case ASN_GAUGE: /* = ASN_UNSIGNED */
	case ASN_TIMETICKS:
	case ASN_UINTEGER:
		if (v->val.integer != NULL && v->val_len >= sizeof(long)) {
			type = WALK_UINT;
			num = (int64_t)(uint32_t)*v->val.integer;
		}
		break;
	case ASN_COUNTER64:
#ifdef NETSNMP_WITH_OPAQUE_SPECIAL_TYPES
	case ASN_OPAQUE_COUNTER64:
	case ASN_OPAQUE_U64:
#endif
		if (v->val.counter64 != NULL &&
		    v->val_len >= sizeof(struct counter64)) {
			uint64_t hi = v->val.counter64->high & 0xffffffffUL;
			uint64_t lo = v->val.counter64->low & 0xffffffffUL;

			type = WALK_U64;
			num = (int64_t)(hi << 32 | lo);
		}
		break;
#ifdef NETSNMP_WITH_OPAQUE_SPECIAL_TYPES
	case ASN_OPAQUE_I64:
		if (v->val.counter64 != NULL &&
		    v->val_len >= sizeof(struct counter64)) {
			uint64_t hi = v->val.counter64->high & 0xffffffffUL;
			uint64_t lo = v->val.counter64->low & 0xffffffffUL;

			type = WALK_INT;
			num = (int64_t)(hi << 32 | lo);
		}
		break;
#endif
	case ASN_OCTET_STR:
	case ASN_OPAQUE:
	case ASN_BIT_STR:
	case ASN_NSAP:
		if (v->val_len == 0 || v->val.string != NULL) {
			type = WALK_STR;
			str = v->val.string;
			slen = v->val_len;
		}
		break;
	case ASN_IPADDRESS:
		if (v->val.string != NULL && v->val_len == 4) {
			type = WALK_IPADDR;
			str = v->val.string;
			slen = 4;
		}
		break;
	case ASN_OBJECT_ID:
		if (v->val.objid != NULL && v->val_len % sizeof(oid) == 0 &&
		    v->val_len / sizeof(oid) <= WALK_OID_MAX) {
			type = WALK_OID;
			vn = v->val_len / sizeof(oid);
			for (size_t i = 0; i < vn; i++)
				val[i] = (uint32_t)v->val.objid[i];
		}
		break;
	default: /* NULL, exceptions, floats: WALK_NULL */
		break;
	}
	return walk_add(
	    j->w, name, v->name_length, type, num, str, slen, val, vn);
}

/* ------------------------------------------------------------ jobs */

static void job_err(struct job *j, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Keep the first error: it is the cause, later ones are consequences. */
static void
job_err(struct job *j, const char *fmt, ...)
{
	va_list ap;

	if (j->w->err[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(j->w->err, sizeof(j->w->err), fmt, ap);
	va_end(ap);
}

static void
job_fatal(struct job *j, enum walk_status st)
{
	j->fatal = (int)st;
	j->state = J_DONE;
	j->act = A_NONE;
}

static const char *
sess_errstr(void *sessp, char *buf, size_t len)
{
	char *s = NULL;
	int liberr = 0, syserr = 0;

	snmp_sess_error(sessp, &liberr, &syserr, &s);
	snprintf(buf, len, "%s", s != NULL ? s : "unknown error");
	free(s);
	return buf;
}

/* net-snmp's allocators return NULL; ours abort (STYLE: x* semantics). */
static netsnmp_pdu *
pdu_new(int command)
{
	netsnmp_pdu *pdu = snmp_pdu_create(command);

	if (pdu == NULL)
		abort();
	return pdu;
}

static netsnmp_pdu *
pdu_clone(netsnmp_pdu *pdu)
{
	netsnmp_pdu *c = snmp_clone_pdu(pdu);

	if (c == NULL)
		abort();
	return c;
}

/* Send pdu (consumed); keep a copy for our own re-sends unless resend. */
static void
job_send(struct job *j, netsnmp_pdu *pdu, int resend)
{
	char e[128];

	if (!resend) {
		if (j->req != NULL)
			snmp_free_pdu(j->req);
		j->req = pdu_clone(pdu);
		j->tries = 0;
	}
	j->tw_reports = 0;
	j->reqid = snmp_sess_async_send(j->sessp, pdu, NULL, NULL);
	if (j->reqid == 0) {
		snmp_free_pdu(pdu);
		job_err(j, "send to %s: %s", j->peer,
		    sess_errstr(j->sessp, e, sizeof(e)));
		job_fatal(j, WALK_ERROR);
		return;
	}
	j->tries++;
	j->w->requests++;
	j->sent_ms = now_mono_ms();
}

static void
job_send_next(struct job *j)
{
	const struct subtree *r = &j->roots[j->cur];
	netsnmp_pdu *pdu;

	if (j->mode == M_GET) {
		pdu = pdu_new(SNMP_MSG_GET);
		snmp_add_null_var(pdu, r->o, r->len);
	} else {
		pdu = pdu_new(SNMP_MSG_GETBULK);
		pdu->non_repeaters = 0;
		pdu->max_repetitions = j->maxrep;
		snmp_add_null_var(pdu, j->last, j->last_len);
	}
	job_send(j, pdu, 0);
}

static void
job_subtree_begin(struct job *j)
{
	const struct subtree *r = &j->roots[j->cur];

	j->mode = M_BULK;
	memcpy(j->last, r->o, r->len * sizeof(oid));
	j->last_len = r->len;
	j->in_cur = 0;
}

/* The current subtree is over (ok or not): next one, or the end. */
static void
job_subtree_end(struct job *j, int ok)
{
	if (ok)
		j->sub_done++;
	else
		j->sub_err++;
	if (++j->cur >= j->nroots) {
		j->state = J_DONE;
		return;
	}
	job_subtree_begin(j);
	j->act = A_NEXT;
}

static void
job_response(struct job *j, const netsnmp_pdu *pdu)
{
	const struct subtree *r = &j->roots[j->cur];
	const netsnmp_variable_list *v;
	char a[128], b[128];
	int end = 0;

	if (j->mode == M_GET) {
		/* the subtree was empty: is the root itself an object? */
		v = pdu->variables;
		if (pdu->errstat == SNMP_ERR_NOERROR && v != NULL &&
		    snmp_oid_compare(v->name, v->name_length, r->o, r->len) ==
		        0 &&
		    v->type != SNMP_NOSUCHOBJECT &&
		    v->type != SNMP_NOSUCHINSTANCE &&
		    v->type != SNMP_ENDOFMIBVIEW && v->type != ASN_NULL) {
			if (vb_add(j, v) < 0) {
				j->state = J_DONE;
				return;
			}
		}
		job_subtree_end(j, 1);
		return;
	}
	if (pdu->errstat != SNMP_ERR_NOERROR) {
		if (pdu->errstat == SNMP_ERR_TOOBIG && j->maxrep > 1) {
			/* the answer does not fit in a datagram: ask less */
			j->maxrep /= 2;
			j->act = A_NEXT;
			return;
		}
		if (pdu->errstat == SNMP_ERR_NOSUCHNAME) {
			/* v1-style end of view */
			job_subtree_end(j, 1);
			return;
		}
		oid_fmt(a, sizeof(a), r->o, r->len);
		job_err(j, "agent error '%s' walking %s",
		    snmp_errstring(pdu->errstat), a);
		job_subtree_end(j, 0);
		return;
	}
	if (pdu->variables == NULL) {
		oid_fmt(a, sizeof(a), r->o, r->len);
		job_err(j, "empty response walking %s", a);
		job_subtree_end(j, 0);
		return;
	}
	for (v = pdu->variables; v != NULL; v = v->next_variable) {
		if (v->type == SNMP_ENDOFMIBVIEW ||
		    v->type == SNMP_NOSUCHOBJECT ||
		    v->type == SNMP_NOSUCHINSTANCE ||
		    !oid_in(v->name, v->name_length, r)) {
			end = 1;
			break;
		}
		if (v->name_length > MAX_OID_LEN ||
		    snmp_oid_compare(
		        v->name, v->name_length, j->last, j->last_len) <= 0) {
			/* a looping agent: this subtree would never end */
			oid_fmt(a, sizeof(a), v->name,
			    v->name_length > MAX_OID_LEN ? MAX_OID_LEN
			                                 : v->name_length);
			oid_fmt(b, sizeof(b), j->last, j->last_len);
			job_err(j, "OID not increasing: %s after %s", a, b);
			job_subtree_end(j, 0);
			return;
		}
		memcpy(j->last, v->name, v->name_length * sizeof(oid));
		j->last_len = v->name_length;
		j->in_cur++;
		if (vb_add(j, v) < 0) {
			j->state = J_DONE; /* max_vbs: walk_add said why */
			return;
		}
	}
	if (!end) {
		j->act = A_NEXT;
		return;
	}
	if (j->in_cur == 0) {
		j->mode = M_GET;
		j->act = A_NEXT;
		return;
	}
	job_subtree_end(j, 1);
}

static void
job_report(struct job *j, netsnmp_session *sp, const netsnmp_pdu *pdu)
{
	int rt = snmpv3_get_report_type((netsnmp_pdu *)pdu);

	if (j->state == J_PROBE) {
		/* the expected answer: usmStatsUnknownEngineIDs */
		if (pdu->securityEngineIDLen == 0 ||
		    pdu->securityEngineIDLen > SNMP_MAX_ENG_SIZE) {
			job_err(j,
			    "SNMPv3 engine-ID probe: no engine ID in "
			    "the report");
			job_fatal(j, WALK_ERROR);
			return;
		}
		if (sp->securityEngineIDLen == 0) {
			sp->securityEngineID = netsnmp_memdup(
			    pdu->securityEngineID, pdu->securityEngineIDLen);
			sp->securityEngineIDLen = pdu->securityEngineIDLen;
		}
		if (sp->contextEngineIDLen == 0) {
			sp->contextEngineID = netsnmp_memdup(
			    pdu->securityEngineID, pdu->securityEngineIDLen);
			sp->contextEngineIDLen = pdu->securityEngineIDLen;
		}
		if (sp->securityEngineID == NULL || sp->contextEngineID == NULL)
			abort(); /* out of memory (STYLE: x* semantics) */
		j->act = A_PROBED;
		return;
	}
	switch (rt) {
	case SNMPERR_NOT_IN_TIME_WINDOW:
		/*
		 * The agent told us its boots/time (authenticated). net-snmp
		 * re-sends the request once by itself; a second such report
		 * for the same request is dropped by the library: retry.
		 */
		if (++j->tw_reports == 1) {
			j->w->requests++;
			return;
		}
		job_err(j, "SNMPv3: not in time window");
		j->act = A_RETRY;
		return;
	case SNMPERR_UNKNOWN_USER_NAME:
	case SNMPERR_AUTHENTICATION_FAILURE:
	case SNMPERR_UNSUPPORTED_SEC_LEVEL:
	case SNMPERR_DECRYPTION_ERR:
		job_err(j, "SNMPv3: %s", snmp_api_errstring(rt));
		job_fatal(j, WALK_AUTH);
		return;
	default:
		job_err(j, "SNMPv3 report: %s", snmp_api_errstring(rt));
		job_fatal(j, WALK_ERROR);
		return;
	}
}

/*
 * net-snmp's callback, from inside snmp_sess_read2 / snmp_sess_timeout:
 * record only (see the top of the file). Returns 1: "handled".
 */
static int
job_cb(int op, netsnmp_session *sp, int reqid, netsnmp_pdu *pdu, void *magic)
{
	struct job *j = magic;

	if (j == NULL || j->state == J_DONE || j->state == J_QUEUED ||
	    j->act != A_NONE || j->reqid == 0)
		return 1;
	/*
	 * One request at a time per session, so whatever net-snmp matched is
	 * ours; but an agent that could not decrypt or authenticate the
	 * request answers a Report with request-id 0 (matched by msgID).
	 */
	if (reqid != j->reqid &&
	    (pdu == NULL || pdu->command != SNMP_MSG_REPORT))
		return 1;
	switch (op) {
	case NETSNMP_CALLBACK_OP_SEC_ERROR:
		/*
		 * net-snmp 5.9 delivers a received Report twice: as SEC_ERROR,
		 * then as RECEIVED_MESSAGE (other versions: only the latter,
		 * or in the other order). Both go to job_report, once.
		 */
		if (pdu == NULL || pdu->command != SNMP_MSG_REPORT) {
			const char *e = snmp_api_errstring(sp->s_snmp_errno);

			job_err(j, "SNMPv3 security error: %s",
			    sp->s_snmp_errno != 0 && e != NULL && e[0] != '\0'
			        ? e
			        : "wrong user, pass phrase or engine");
			job_fatal(j, WALK_AUTH);
			j->reqid = 0;
			break;
		}
		/* FALLTHROUGH */
	case NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE:
		if (pdu == NULL)
			break;
		if (pdu->command == SNMP_MSG_REPORT) {
			if (j->report_seen && pdu->msgid == j->report_msgid)
				break; /* the same report, delivered again */
			j->report_seen = 1;
			j->report_msgid = pdu->msgid;
			job_report(j, sp, pdu);
		} else if (pdu->command != SNMP_MSG_RESPONSE) {
			job_err(j, "unexpected PDU type %d", pdu->command);
			job_fatal(j, WALK_ERROR);
		} else if (j->state == J_PROBE) {
			job_err(j,
			    "SNMPv3 engine-ID probe: the agent "
			    "answered without a report");
			job_fatal(j, WALK_ERROR);
		} else {
			job_response(j, pdu);
		}
		/*
		 * Unless net-snmp re-sent it (the first notInTimeWindow
		 * report), the library drops the request once we return.
		 */
		if (j->act != A_NONE || j->state == J_DONE)
			j->reqid = 0;
		break;
	case NETSNMP_CALLBACK_OP_TIMED_OUT:
		j->reqid = 0;
		j->act = A_RETRY;
		break;
	case NETSNMP_CALLBACK_OP_SEND_FAILED:
		job_err(j, "send to %s failed", j->peer);
		job_fatal(j, WALK_ERROR);
		break;
	default: /* RESEND (not used: retries are ours), CONNECT... */
		break;
	}
	return 1;
}

static void
job_retry(struct job *j)
{
	char a[128];

	if (j->req != NULL && j->tries <= j->c.retries) {
		job_send(j, pdu_clone(j->req), 1);
		return;
	}
	if (j->state == J_PROBE) {
		job_err(j,
		    "timeout: no answer from %s to %d SNMPv3 "
		    "engine-ID probe(s)",
		    j->peer, j->tries);
	} else {
		oid_fmt(a, sizeof(a), j->last, j->last_len);
		job_err(j,
		    "timeout: no answer from %s after %d request(s) "
		    "at %s",
		    j->peer, j->tries, a);
	}
	job_fatal(j, WALK_TIMEOUT);
}

/*
 * The engine ID is known: make sure the process-wide USM table has this
 * (engine, user) with *these* keys, then let net-snmp add it. Returns 0
 * or -1.
 */
static int
job_usm_user(struct job *j)
{
	netsnmp_session *s = snmp_sess_session(j->sessp);
	struct usmUser *u;
	u_char kul[USM_LENGTH_KU_HASHBLOCK];
	size_t kul_len;
	int same = 1;

	if (s == NULL || s->securityEngineIDLen == 0)
		return -1;
	u = usm_get_user(
	    s->securityEngineID, s->securityEngineIDLen, s->securityName);
	if (u != NULL && s->securityLevel >= SNMP_SEC_LEVEL_AUTHNOPRIV) {
		if (u->authProtocol == NULL ||
		    snmp_oid_compare(u->authProtocol, u->authProtocolLen,
		        s->securityAuthProto, s->securityAuthProtoLen) != 0)
			same = 0;
		kul_len = sizeof(kul);
		if (same &&
		    (generate_kul(s->securityAuthProto,
		         (u_int)s->securityAuthProtoLen, s->securityEngineID,
		         s->securityEngineIDLen, s->securityAuthKey,
		         s->securityAuthKeyLen, kul,
		         &kul_len) != SNMPERR_SUCCESS ||
		        u->authKey == NULL || u->authKeyLen != kul_len ||
		        memcmp(u->authKey, kul, kul_len) != 0))
			same = 0;
	}
	if (u != NULL && same && s->securityLevel == SNMP_SEC_LEVEL_AUTHPRIV) {
		if (u->privProtocol == NULL ||
		    snmp_oid_compare(u->privProtocol, u->privProtocolLen,
		        s->securityPrivProto, s->securityPrivProtoLen) != 0)
			same = 0;
		kul_len = sizeof(kul);
		if (same &&
		    (generate_kul(s->securityAuthProto,
		         (u_int)s->securityAuthProtoLen, s->securityEngineID,
		         s->securityEngineIDLen, s->securityPrivKey,
		         s->securityPrivKeyLen, kul,
		         &kul_len) != SNMPERR_SUCCESS ||
		        u->privKey == NULL || u->privKeyLen != kul_len ||
		        memcmp(u->privKey, kul, kul_len) != 0))
			same = 0;
	}
	if (u != NULL && s->securityLevel == SNMP_SEC_LEVEL_NOAUTH &&
	    u->authProtocol != NULL &&
	    snmp_oid_compare(u->authProtocol, u->authProtocolLen,
	        usmNoAuthProtocol, OID_LENGTH(usmNoAuthProtocol)) != 0)
		same = 0;
	explicit_bzero(kul, sizeof(kul));
	if (u != NULL && !same) {
		usm_remove_user(u);
		usm_free_user(u);
	}
	s->flags &= ~SNMP_FLAGS_USER_CREATED;
	return usm_create_user_from_session(s) == SNMPERR_SUCCESS ? 0 : -1;
}

/* The probe: an empty noAuthNoPriv GET from user "" (RFC 3414 §4). */
static void
job_send_probe(struct job *j)
{
	netsnmp_pdu *pdu = pdu_new(SNMP_MSG_GET);

	pdu->version = SNMP_VERSION_3;
	pdu->securityName = xstrdup("");
	pdu->securityNameLen = 0;
	pdu->securityLevel = SNMP_SEC_LEVEL_NOAUTH;
	pdu->securityModel = SNMP_SEC_MODEL_USM;
	job_send(j, pdu, 0);
}

static void
job_start(struct snmp_poller *p, struct job *j)
{
	netsnmp_session s;
	const struct proto *ap, *pp;
	char *e = NULL;
	int liberr = 0, syserr = 0;

	j->w->started_ms = now_mono_ms();
	snmp_sess_init(&s);
	s.peername = j->peer;
	s.timeout =
	    (long)(j->c.timeout_ms ? j->c.timeout_ms : DEFAULT_TIMEOUT_MS) *
	    1000L;
	s.retries = 0; /* ours: see the top of the file */
	s.callback = job_cb;
	s.callback_magic = j;
	if (j->c.version == 2) {
		s.version = SNMP_VERSION_2c;
		s.community = (u_char *)j->c.community;
		s.community_len = strlen(j->c.community);
	} else {
		s.version = SNMP_VERSION_3;
		s.securityModel = SNMP_SEC_MODEL_USM;
		s.securityName = j->c.user;
		s.securityNameLen = strlen(j->c.user);
		s.flags |= SNMP_FLAGS_DONT_PROBE; /* the probe is ours */
		s.securityLevel = SNMP_SEC_LEVEL_NOAUTH;
		s.securityAuthProto = usmNoAuthProtocol;
		s.securityAuthProtoLen = OID_LENGTH(usmNoAuthProtocol);
		s.securityPrivProto = usmNoPrivProtocol;
		s.securityPrivProtoLen = OID_LENGTH(usmNoPrivProtocol);
		if (j->c.auth_pass[0] != '\0') {
			ap = proto_find(auth_protos, nitems(auth_protos),
			    j->c.auth_proto[0] ? j->c.auth_proto : "SHA");
			s.securityLevel = SNMP_SEC_LEVEL_AUTHNOPRIV;
			s.securityAuthProto = ap->o;
			s.securityAuthProtoLen = ap->len;
			if (ku_get(p, ap, j->c.auth_pass, s.securityAuthKey,
			        &s.securityAuthKeyLen) != 0) {
				job_err(j, "cannot derive the SNMPv3 auth key");
				job_fatal(j, WALK_ERROR);
				return;
			}
			if (j->c.priv_pass[0] != '\0') {
				pp =
				    proto_find(priv_protos, nitems(priv_protos),
				        j->c.priv_proto[0] ? j->c.priv_proto
				                           : "AES");
				s.securityLevel = SNMP_SEC_LEVEL_AUTHPRIV;
				s.securityPrivProto = pp->o;
				s.securityPrivProtoLen = pp->len;
				/* the priv Ku is made with the auth hash */
				if (ku_get(p, ap, j->c.priv_pass,
				        s.securityPrivKey,
				        &s.securityPrivKeyLen) != 0) {
					job_err(j,
					    "cannot derive the SNMPv3 "
					    "privacy key");
					job_fatal(j, WALK_ERROR);
					return;
				}
			}
		}
	}
	j->sessp = snmp_sess_open(&s);
	explicit_bzero(s.securityAuthKey, sizeof(s.securityAuthKey));
	explicit_bzero(s.securityPrivKey, sizeof(s.securityPrivKey));
	if (j->sessp == NULL) {
		snmp_error(&s, &liberr, &syserr, &e);
		job_err(j, "cannot open an SNMP session to %s: %s", j->peer,
		    e != NULL ? e : "unknown error");
		free(e);
		job_fatal(j, WALK_ERROR);
		return;
	}
	j->maxrep =
	    j->c.max_repetitions ? j->c.max_repetitions : DEFAULT_MAXREP;
	j->cur = 0;
	job_subtree_begin(j);
	if (j->c.version == 3) {
		/*
		 * snmp_sess_open clears SNMP_FLAGS_DONT_PROBE once open; left
		 * clear, the first send would run the synchronous probe from
		 * inside snmpv3_build ("delayed probe for engineID").
		 */
		snmp_sess_session(j->sessp)->flags |= SNMP_FLAGS_DONT_PROBE;
		j->state = J_PROBE;
		job_send_probe(j);
	} else {
		j->state = J_WALK;
		job_send_next(j);
	}
}

/* Act on what the callback recorded, until the job waits or is done. */
static void
job_step(struct job *j)
{
	while (j->state != J_DONE && j->act != A_NONE) {
		enum job_act a = j->act;

		j->act = A_NONE;
		switch (a) {
		case A_PROBED:
			if (job_usm_user(j) != 0) {
				job_err(j, "cannot set up the SNMPv3 user");
				job_fatal(j, WALK_ERROR);
				break;
			}
			j->state = J_WALK;
			job_send_next(j);
			break;
		case A_NEXT:
			job_send_next(j);
			break;
		case A_RETRY:
			job_retry(j);
			break;
		case A_NONE:
			break;
		}
	}
}

/* The final status, from how the walk ended. */
static void
job_status(struct job *j)
{
	struct walk *w = j->w;
	int some = w->n > 0 || j->sub_done > 0;

	if (j->cancelled) {
		w->status = WALK_ERROR;
		return;
	}
	if (w->status == WALK_PARTIAL) /* max_vbs, set by walk_add */
		return;
	if (j->fatal >= 0) {
		if (j->fatal == WALK_AUTH || !some)
			w->status = (enum walk_status)j->fatal;
		else
			w->status = WALK_PARTIAL;
		return;
	}
	if (j->sub_err > 0)
		w->status = some ? WALK_PARTIAL : WALK_ERROR;
	else
		w->status = WALK_OK;
}

static void
job_free(struct job *j)
{
	if (j->req != NULL)
		snmp_free_pdu(j->req);
	explicit_bzero(&j->c, sizeof(j->c));
	free(j->roots);
	free(j);
}

/* Close the session, set the status, hand the walk over. */
static void
job_complete(struct job *j)
{
	struct walk *w = j->w;
	snmp_walk_done_fn *done = j->done;
	void *arg = j->arg;

	j->state = J_DONE; /* late callbacks from the close are ignored */
	if (j->sessp != NULL)
		snmp_sess_close(j->sessp);
	j->sessp = NULL;
	job_status(j);
	w->finished_ms = now_mono_ms();
	if (w->started_ms == 0)
		w->started_ms = w->finished_ms;
	job_free(j);
	done(arg, w);
}

/* ------------------------------------------------------------ poller */

struct snmp_poller *
snmp_poller_new(int max_parallel)
{
	struct snmp_poller *p = xcalloc(1, sizeof(*p));

	p->max_parallel = max_parallel > 0 ? max_parallel : 64;
	p->active = xcalloc((size_t)p->max_parallel, sizeof(*p->active));
	p->pfd = xcalloc((size_t)p->max_parallel, sizeof(*p->pfd));
	p->fds_size = FD_SETSIZE;
	netsnmp_large_fd_set_init(&p->fds, p->fds_size);
	return p;
}

int
snmp_poller_walk(struct snmp_poller *p, const char *target,
    const struct snmp_creds *c, const char *const *subtrees, size_t n_subtrees,
    size_t max_vbs, snmp_walk_done_fn *done, void *arg)
{
	struct job *j;
	char spec[80];

	if (p == NULL || p->closing || c == NULL || done == NULL ||
	    subtrees == NULL || n_subtrees == 0 || n_subtrees > MAX_SUBTREES ||
	    target_parse(target, spec, sizeof(spec)) != 0 ||
	    snmp_creds_check(c, NULL, 0) != 0)
		return -1;
	j = xcalloc(1, sizeof(*j));
	j->roots = xcalloc(n_subtrees, sizeof(*j->roots));
	for (size_t i = 0; i < n_subtrees; i++) {
		if (oid_parse(subtrees[i], &j->roots[i]) != 0) {
			free(j->roots);
			free(j);
			return -1;
		}
	}
	j->nroots = n_subtrees;
	snprintf(j->peer, sizeof(j->peer), "%s", spec);
	j->c = *c;
	j->w = walk_new(target, max_vbs);
	j->done = done;
	j->arg = arg;
	j->fatal = -1;
	j->state = J_QUEUED;
	if (p->qtail != NULL)
		p->qtail->next = j;
	else
		p->qhead = j;
	p->qtail = j;
	p->nqueued++;
	return 0;
}

int
snmp_poller_pending(const struct snmp_poller *p)
{
	return p->nactive + p->nqueued;
}

/* Start queued walks into free slots, act, hand finished walks over. */
static void
pump(struct snmp_poller *p)
{
	int changed;

	do {
		changed = 0;
		while (p->nactive < p->max_parallel && p->qhead != NULL) {
			struct job *j = p->qhead;

			p->qhead = j->next;
			if (p->qhead == NULL)
				p->qtail = NULL;
			j->next = NULL;
			p->nqueued--;
			p->active[p->nactive++] = j;
			job_start(p, j);
		}
		for (int i = 0; i < p->nactive;) {
			struct job *j = p->active[i];

			job_step(j);
			if (j->state != J_DONE) {
				i++;
				continue;
			}
			p->active[i] = p->active[--p->nactive];
			job_complete(j); /* may queue new walks */
			changed = 1;
		}
	} while (changed && p->qhead != NULL && p->nactive < p->max_parallel);
}

static int
job_fd(const struct job *j)
{
	netsnmp_transport *t = snmp_sess_transport(j->sessp);

	return t != NULL ? t->sock : -1;
}

/* A safety net should a callback never come: 3 timeouts + 1 s. */
static uint64_t
job_watchdog(const struct job *j)
{
	uint64_t t =
	    (uint64_t)(j->c.timeout_ms ? j->c.timeout_ms : DEFAULT_TIMEOUT_MS);

	return j->sent_ms + 3 * t + 1000;
}

int
snmp_poller_run(struct snmp_poller *p, int timeout_ms)
{
	uint64_t now = now_mono_ms();
	uint64_t deadline =
	    timeout_ms < 0 ? UINT64_MAX : now + (uint64_t)timeout_ms;
	int first = 1;

	for (;;) {
		uint64_t wait;
		int n;

		pump(p);
		if (p->nactive == 0)
			break;
		now = now_mono_ms();
		if (!first && now >= deadline)
			break;
		first = 0;
		wait = deadline > now ? deadline - now : 0;
		for (int i = 0; i < p->nactive; i++) {
			struct job *j = p->active[i];
			struct timeval tv = { 3600, 0 };
			int block = 1, nfds = 0, fd = job_fd(j);
			uint64_t ms, wd;

			if (fd >= p->fds_size) {
				p->fds_size = fd + 64;
				netsnmp_large_fd_set_resize(
				    &p->fds, p->fds_size);
			}
			NETSNMP_LARGE_FD_ZERO(&p->fds);
			snmp_sess_select_info2_flags(j->sessp, &nfds, &p->fds,
			    &tv, &block, NETSNMP_SELECT_NOALARMS);
			if (!block) {
				ms = (uint64_t)tv.tv_sec * 1000 +
				    ((uint64_t)tv.tv_usec + 999) / 1000;
				if (ms < wait)
					wait = ms;
			}
			wd = job_watchdog(j);
			if (j->reqid != 0 && (wd > now ? wd - now : 0) < wait)
				wait = wd > now ? wd - now : 0;
			p->pfd[i].fd = fd;
			p->pfd[i].events = POLLIN;
			p->pfd[i].revents = 0;
		}
		n = poll(p->pfd, (nfds_t)p->nactive,
		    wait > INT32_MAX ? INT32_MAX : (int)wait);
		if (n < 0 && errno != EINTR)
			n = 0; /* cannot happen with valid fds; time out */
		for (int i = 0; n > 0 && i < p->nactive; i++) {
			if (p->pfd[i].revents == 0)
				continue;
			NETSNMP_LARGE_FD_ZERO(&p->fds);
			NETSNMP_LARGE_FD_SET(p->pfd[i].fd, &p->fds);
			/* an error (e.g. ICMP refused) is consumed here */
			snmp_sess_read2(p->active[i]->sessp, &p->fds);
		}
		now = now_mono_ms();
		for (int i = 0; i < p->nactive; i++) {
			struct job *j = p->active[i];

			if (j->state == J_DONE)
				continue;
			snmp_sess_timeout(j->sessp);
			if (j->act == A_NONE && j->state != J_DONE &&
			    j->reqid != 0 && now >= job_watchdog(j)) {
				/* never seen: net-snmp lost the request */
				job_err(j,
				    "internal: no answer nor timeout "
				    "from net-snmp");
				job_fatal(j, WALK_ERROR);
			}
		}
	}
	return snmp_poller_pending(p);
}

void
snmp_poller_free(struct snmp_poller *p)
{
	if (p == NULL)
		return;
	p->closing = 1;
	/* queued walks first, then the active ones: FIFO order of arrival */
	while (p->qhead != NULL || p->nactive > 0) {
		struct job *j;

		if (p->nactive > 0) {
			j = p->active[--p->nactive];
		} else {
			j = p->qhead;
			p->qhead = j->next;
			if (p->qhead == NULL)
				p->qtail = NULL;
			p->nqueued--;
		}
		j->w->err[0] = '\0';
		job_err(j, "cancelled");
		j->cancelled = 1;
		job_complete(j);
	}
	netsnmp_large_fd_set_cleanup(&p->fds);
	explicit_bzero(p->ku, sizeof(p->ku));
	free(p->active);
	free(p->pfd);
	free(p);
}

/* ------------------------------------------------------------ global */

void
snmp_global_init(int verbose)
{
	static const int lib_bool_on[] = {
		NETSNMP_DS_LIB_DONT_READ_CONFIGS,
		NETSNMP_DS_LIB_DONT_PERSIST_STATE,
		NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD,
		NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE,
		NETSNMP_DS_LIB_DONT_LOAD_HOST_FILES,
		NETSNMP_DS_LIB_NO_TOKEN_WARNINGS,
		NETSNMP_DS_LIB_DISABLE_V1,
	};
	struct usmUser *u;
	netsnmp_log_handler *null_log;

	for (size_t i = 0; i < nitems(lib_bool_on); i++)
		netsnmp_ds_set_boolean(
		    NETSNMP_DS_LIBRARY_ID, lib_bool_on[i], 1);
	netsnmp_ds_set_boolean(
	    NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_MIB_ERRORS, 0);
	netsnmp_ds_set_int(
	    NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_MIB_WARNINGS, 0);
	/*
	 * No persistent files: net-snmp's TLS certificate code would
	 * otherwise create <persistent dir>/cert_indexes (by default in
	 * /var/lib/snmp, whatever DONT_PERSIST_STATE says). A path that can
	 * hold no directory makes that a harmless, silent failure.
	 */
	netsnmp_ds_set_string(
	    NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_PERSISTENT_DIR, "/dev/null");
	/* no MIB files: every OID here is numeric */
	netsnmp_ds_set_string(
	    NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_MIBDIRS, "/nonexistent");
	/*
	 * With no log handler at all net-snmp falls back to stderr: a null
	 * one, at least during init_snmp (which still looks for its default
	 * MIB modules, and says so).
	 */
	null_log =
	    netsnmp_register_loghandler(NETSNMP_LOGHANDLER_NONE, LOG_DEBUG);
	init_snmp(SNMP_APP);
	if (verbose > 0) {
		if (null_log != NULL)
			netsnmp_disable_this_loghandler(null_log);
		snmp_enable_stderrlog();
		if (verbose > 1)
			netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
			    NETSNMP_DS_LIB_DUMP_PACKET, 1);
		if (verbose > 2)
			snmp_set_do_debugging(1); /* every debug token */
	}
	/* the user "" that engine-ID probes are sent as (see usm.c) */
	if (usm_get_user(NULL, 0, "") == NULL) {
		u = calloc(1, sizeof(*u));
		if (u == NULL)
			abort();
		u->name = xstrdup("");
		u->secName = xstrdup("");
		u->authProtocolLen = OID_LENGTH(usmNoAuthProtocol);
		u->authProtocol =
		    snmp_duplicate_objid(usmNoAuthProtocol, u->authProtocolLen);
		u->privProtocolLen = OID_LENGTH(usmNoPrivProtocol);
		u->privProtocol =
		    snmp_duplicate_objid(usmNoPrivProtocol, u->privProtocolLen);
		usm_add_user(u);
	}
}

void
snmp_global_shutdown(void)
{
	snmp_shutdown(SNMP_APP);
}
