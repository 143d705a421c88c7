/*
 * snmp.h: the SNMP poller. It walks many switches at once from ONE thread
 * (the topology thread), with net-snmp's single-session API, so that a
 * dead or slow switch never stalls the others. Each walk ends as a
 * struct walk (walk.h), handed to a callback.
 *
 * topology/snmp.c is the only file in the project that includes net-snmp
 * headers; this header includes none.
 *
 * Threads: net-snmp keeps process-wide state (the USM user table, the
 * engine-time cache, request ids), so every function here must be called
 * from one and the same thread, the topology thread, and only one poller
 * should exist per process.
 */
#ifndef FABMON_SNMP_H
#define FABMON_SNMP_H

#include <stddef.h>

struct walk;

/*
 * Credentials and timing for one target. Fill it with snmp_creds_init()
 * then override fields. Strings are NUL-terminated; a string that does not
 * fit is rejected by snmp_creds_check().
 */
struct snmp_creds {
	int version;         /* 2: SNMPv2c, 3: SNMPv3 USM */
	char community[64];  /* v2c */
	char user[64];       /* v3 securityName */
	char auth_proto[16]; /* "SHA" (SHA-1, default), "SHA-224",
	                      * "SHA-256", "SHA-384", "SHA-512", "MD5" */
	char auth_pass[128]; /* v3; empty: noAuthNoPriv */
	char priv_proto[16]; /* "AES" (AES-128, default), "DES" */
	char priv_pass[128]; /* v3; empty: authNoPriv */
	int timeout_ms;      /* per request; 0: 1000 */
	int retries;         /* re-sends after a timeout, 0..20 */
	int max_repetitions; /* GETBULK; 0: 25 */
};

/* Defaults: v2c, community "public", SHA/AES, 1000 ms, 2 retries, 25. */
void snmp_creds_init(struct snmp_creds *);

/*
 * Check credentials without any I/O (for config checks). Returns 0, or -1
 * with a reason in err (e.g. an unknown protocol, a v3 pass phrase shorter
 * than 8 characters, an unterminated string).
 */
int snmp_creds_check(const struct snmp_creds *, char *err, size_t errlen);

/*
 * Check a target string without any I/O. Accepted forms (addresses only,
 * never a host name, so nothing ever waits on DNS):
 *   "10.99.0.21"  "10.99.0.21:1161"  "udp:10.99.0.21:161"
 *   "2001:db8::1" "[2001:db8::1]"  "[::1]:1161"  "udp6:[2001:db8::1]:161"
 * The port defaults to 161. IPv6 scope ids ("%eth0") are not accepted.
 * Returns 0 or -1.
 */
int snmp_target_check(const char *target);

/*
 * Call once per process, before any other function here and before other
 * threads start: initialises net-snmp without reading any config, MIB or
 * persistent file, and without logging (verbose 0). verbose 1 sends
 * net-snmp's own log lines to stderr; 2 adds its packet dumps, 3 all
 * of its debug output.
 */
void snmp_global_init(int verbose);

/* Frees net-snmp's global state at exit (after every poller is freed). */
void snmp_global_shutdown(void);

struct snmp_poller;

/*
 * A poller that keeps at most max_parallel walks (one UDP socket each) in
 * flight; further walks wait in FIFO order. max_parallel < 1 means 64.
 * Never returns NULL (out of memory aborts).
 */
struct snmp_poller *snmp_poller_new(int max_parallel);

/* Signature of the completion callback; see snmp_poller_walk(). */
typedef void snmp_walk_done_fn(void *arg, struct walk *w);

/*
 * Queue a GETBULK walk of the given subtrees (numeric OIDs, with or without
 * a leading dot, e.g. "1.3.6.1.2.1.31.1.1.1.1"), one after the other, on
 * target (see snmp_target_check). The strings are copied; the caller keeps
 * ownership of target, creds and subtrees.
 *
 * A subtree that holds no object is read with a GET of the OID itself
 * (so "1.3.6.1.2.1.1.5.0" works, as with snmpwalk). At most max_vbs
 * varbinds are kept (0: walk.h's default); beyond that the walk stops with
 * WALK_PARTIAL.
 *
 * done(arg, w) is called exactly once, from snmp_poller_run() or
 * snmp_poller_free() (never from inside this call), and the callee owns w
 * (free it with walk_free). w->status is WALK_OK, WALK_TIMEOUT (no answer,
 * retries included), WALK_AUTH (the agent reported an SNMPv3
 * authentication, user, security-level or decryption error), WALK_PARTIAL
 * (some varbinds or subtrees done, then a timeout, an agent error, a
 * looping agent, or the max_vbs bound) or WALK_ERROR (see w->err;
 * "cancelled" when the poller is freed). w->requests counts the PDUs sent,
 * retries and the SNMPv3 engine-ID probe included; started_ms is when the
 * walk left the queue, finished_ms when it ended (monotonic).
 * The callback may queue new walks; it must not free the poller.
 *
 * Returns 0, or -1 (done is then never called) if the target, a subtree or
 * the credentials are invalid, if n_subtrees is 0 or more than 64, or
 * while the poller is being freed.
 */
int snmp_poller_walk(struct snmp_poller *, const char *target,
    const struct snmp_creds *, const char *const *subtrees, size_t n_subtrees,
    size_t max_vbs, snmp_walk_done_fn *done, void *arg);

/*
 * Service every walk (start queued ones, send, receive, retry, time out,
 * call the callbacks) for at most timeout_ms (0: only what is ready now;
 * negative: until no walk is left). Returns the number of walks still in
 * progress or queued.
 */
int snmp_poller_run(struct snmp_poller *, int timeout_ms);

/* Walks in progress or queued. */
int snmp_poller_pending(const struct snmp_poller *);

/*
 * Cancel every walk (each callback gets its walk with WALK_ERROR,
 * err "cancelled") and free the poller. NULL is a no-op.
 */
void snmp_poller_free(struct snmp_poller *);

#endif
