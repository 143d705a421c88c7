/*
 * hasync_msg.h: the messages that carry configuration writes between the
 * two daemons of an HA pair (hasync.h), signed with the shared secret
 * (ha.secret). PURE: no I/O. Any thread.
 *
 *   POST /api/v1/ha/sync
 *   X-Fabmon-Signature: sha256=HEX(HMAC-SHA256(secret, body))
 *   {"ts":UNIX_MS,"kind":"flow"|"threshold"|"topology"|"netflow_template",
 *    "name":"web",
 *    "json":"{...the body the API took...}"|null,"origin":"peer"|"pull"}
 *
 * json null deletes. ts bounds replays: a message more than
 * HASYNC_MAX_SKEW_MS away from the receiver's clock is refused. The list
 * a pull reads (GET /api/v1/ha/sync?kind=K&ts=T) is signed over its query
 * string, "kind=K&ts=T".
 */
#ifndef FABMON_HASYNC_MSG_H
#define FABMON_HASYNC_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HASYNC_SIG_HEX     64
#define HASYNC_MAX_SKEW_MS (300 * 1000)
#define HASYNC_NAME_MAX    120

/* The kinds of definitions that are synced: store.h's numbering. */
enum hasync_kind {
	HASYNC_FLOW = 0,
	HASYNC_THRESHOLD,
	HASYNC_TOPOLOGY,
	/* NetFlow v9/IPFIX templates (nftmpl.h): pulled by the BACKUP,
	 * added when missing, never deleted (each daemon ages its own) */
	HASYNC_NFTMPL,
};

const char *hasync_kind_name(int kind);
/* -1 if not a synced kind. */
int hasync_kind_parse(const char *s);

/* "sha256=" + 64 hex digits + NUL into out. */
void hasync_sign(const char *secret, const void *data, size_t len,
    char out[7 + HASYNC_SIG_HEX + 1]);
/* Does sig (the header's value) sign data? Constant time. */
bool hasync_verify(
    const char *secret, const void *data, size_t len, const char *sig);

struct hasync_msg {
	int64_t ts;
	int kind;
	char name[HASYNC_NAME_MAX + 1];
	char *json; /* malloc'ed; NULL: delete */
	bool pull;  /* origin "pull": applied from the peer's list */
};

/* The body of a message (malloc'ed). json NULL: a deletion. */
char *hasync_build(
    int64_t ts, int kind, const char *name, const char *json, bool pull);

/*
 * Parse a body; 0, or -1 with why in err. On success the caller frees
 * m->json.
 */
int hasync_parse(const char *body, size_t len, struct hasync_msg *m, char *err,
    size_t errlen);

#endif
