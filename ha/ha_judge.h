/*
 * ha_judge.h: the decisions of the HA pair, as plain data. PURE: no I/O.
 * The HA thread (ha.c) samples the daemon once a second, and asks:
 *
 *   - is this daemon healthy? (ha_health_judge): ingest alive, sFlow
 *     arriving, the store writable, the topology fresh, the HTTP API
 *     answering; each failure is a reason with a name;
 *   - what goes into keepalived's track file? (ha_track_value): 0 keeps
 *     the VRRP instance up; anything else makes it FAULT (the template
 *     tracks the file with weight 0), so the VIP moves to the peer. A sick
 *     daemon only steps down when its peer is known to be able to take
 *     over (answering, healthy, MASTER or BACKUP): two sick daemons keep
 *     one VIP rather than none;
 *   - is this a split brain? (ha_split_brain): both daemons say MASTER,
 *     or keepalived heard another master (MASTER_RX_LOWER_PRI) lately;
 *   - what did the peer answer? (ha_peer_parse): its GET /api/v1/ha, the
 *     whole HTTP response as read from a socket (hostile input).
 *
 * Any thread may call these; they keep no state of their own.
 */
#ifndef FABMON_HA_JUDGE_H
#define FABMON_HA_JUDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ha_fifo.h"

/* Health reasons: bits of ha_health_judge()'s answer. */
#define HA_R_INGEST   0x01u /* the ingest thread has not looped lately */
#define HA_R_SFLOW    0x02u /* no sFlow datagram yet, or for 10 s */
#define HA_R_STORE    0x04u /* the store is degraded (its writes fail) */
#define HA_R_TOPOLOGY 0x08u /* no topology, or no switch polled lately */
#define HA_R_API      0x10u /* our own HTTP API does not answer */
#define HA_R_STOPPING 0x20u /* fabmond is shutting down */
#define HA_R_ALL      0x3fu

/* How long each signal may be quiet before it is a reason. */
#define HA_SFLOW_SILENT_MS 10000
#define HA_TOPO_BUILT_MS   15000 /* the topology thread republishes / 2 s */
#define HA_TOPO_POLL_MIN_MS                                                    \
	30000              /* a switch answered SNMP at least this recently */
#define HA_API_FAILS  3    /* consecutive self-checks (one a second) */
#define HA_PEER_FRESH 3500 /* ms: a peer answer older than this is stale */
#define HA_SPLIT_RX_MS                                                         \
	5000 /* MASTER_RX_LOWER_PRI counts as a split brain this long */

struct ha_health_in {
	uint64_t uptime_ms; /* since fabmond started */
	uint32_t push_ms;   /* engine.push_ms */
	/* ingest (struct ingest_snap) */
	bool ingest_known;           /* a snapshot exists */
	uint64_t ingest_loop_age_ms; /* now - loop_mono_ms */
	bool datagram_seen;          /* any datagram since start */
	uint64_t datagram_age_ms;    /* now - last_datagram_mono_ms */
	/* the store: absent (store.enable=0) is fine */
	bool store_present;
	bool store_degraded;
	/* topology (struct topo_snap) */
	bool snmp_enabled;          /* 0: import only, nothing to poll */
	bool topo_known;            /* a snapshot exists */
	bool topo_restored;         /* still the stored copy: nothing polled */
	uint64_t topo_built_age_ms; /* now - built_ms (wall clock) */
	bool topo_polled;           /* some switch answered once */
	uint64_t topo_ok_age_ms;    /* since the newest successful walk */
	uint32_t snmp_status_s;     /* snmp.status_s */
	uint32_t snmp_poll_s;       /* snmp.poll_s */
	/* our own HTTP API */
	uint32_t api_failures; /* consecutive failed self-checks */
	bool stopping;
};

/* The reasons (HA_R_* bits); 0 is healthy. */
unsigned ha_health_judge(const struct ha_health_in *);
/* A reason bit's name: "ingest", "sflow", "store", "topology", "api",
 * "stopping"; NULL for anything else. */
const char *ha_reason_name(unsigned bit);
/* Write the names of reasons as "a,b" into buf; returns buf. */
char *ha_reasons_text(unsigned reasons, char *buf, size_t len);

/* What we know of the peer, from its GET /api/v1/ha. */
struct ha_peer_view {
	bool known;            /* it answered at least once */
	uint64_t answered_age; /* ms since its last answer */
	enum ha_role role;
	bool healthy; /* its health.ok (true for a peer without it) */
};

/*
 * The track file's value: 0 (keep the VRRP instance up) unless reasons
 * is not 0 AND the peer can take over (a fresh answer, healthy, MASTER
 * or BACKUP); then 1 (FAULT). HA_R_STOPPING always gives 1.
 */
int ha_track_value(unsigned reasons, const struct ha_peer_view *peer);

/*
 * A split brain: we are MASTER and the peer's fresh answer says MASTER
 * too, or keepalived reported MASTER_RX_LOWER_PRI rx_age ms ago (less
 * than HA_SPLIT_RX_MS; UINT64_MAX: never).
 */
bool ha_split_brain(
    enum ha_role self, const struct ha_peer_view *peer, uint64_t rx_age);

/* The peer's answer, from GET /api/v1/ha. */
struct ha_peer_answer {
	int status; /* the HTTP status */
	enum ha_role role;
	bool role_valid; /* "role" was one of MASTER BACKUP FAULT UNKNOWN */
	bool healthy;    /* "health":{"ok":...}; true when absent */
	int64_t since;   /* -1 unknown */
	char instance[HA_NAME_MAX];
	char address[64]; /* its own "address", "" if absent */
};

/*
 * Parse a whole HTTP/1.x response (status line, headers, and a body
 * with Content-Length, chunked, or up to the end). Returns 0 when it is
 * a 200 with the JSON object of GET /api/v1/ha (role required), -1
 * otherwise (with out->status set when the status line was readable).
 * Strings are cut to fit and control characters become '?'.
 */
int ha_peer_parse(const char *resp, size_t len, struct ha_peer_answer *out);

#endif
