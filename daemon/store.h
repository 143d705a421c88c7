/*
 * store.h: the SQLite store (DESIGN §6). One thread owns the only write
 * connection: every other thread hands it copies of what to write, queued
 * in memory, and never waits on the disk. The thread commits the queue in
 * batches (one transaction per batch, prepared statements, WAL), rolls the
 * minute rollups up into hours, and deletes what is past retention in
 * small batches.
 *
 * Failure handling:
 *   - a file that is not a database, or fails PRAGMA quick_check, is
 *     renamed <path>.corrupt-<unix time> (never overwritten) with a loud
 *     log line, and a fresh database is created;
 *   - a full disk (SQLITE_FULL, SQLITE_IOERR) makes the store degraded:
 *     the failed batch is dropped and counted per kind, new work keeps
 *     queueing (bounded by queue_max: beyond it, dropped and counted), and
 *     the thread retries every 2 s until a write succeeds; definitions
 *     of a failed batch are not dropped but retried (up to 1000);
 *   - kill -9: WAL and one transaction per batch lose at most the last
 *     batch.
 *
 * The schema is versioned (PRAGMA user_version) and migrated at open from
 * any earlier version; docs/STORE.md documents it with its SQL views.
 *
 * Reads (the history API) use a store_reader: its own read-only connection,
 * on the calling thread, so a long query never blocks ingest or writes.
 */
#ifndef FABMON_STORE_H
#define FABMON_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_NAME_MAX 128 /* node, port, link, definition names */
#define STORE_KEY_MAX  256 /* a flow key */
#define STORE_JSON_MAX 4096

struct store_conf {
	const char *path;     /* the database file */
	unsigned minute_days; /* minute rollups kept (7) */
	unsigned hour_days;   /* hourly rollups kept (90) */
	unsigned top_days;    /* top flows kept (7) */
	unsigned event_days;  /* events kept (90) */
	unsigned batch_ms;    /* commit the queue at least this often (1000) */
	size_t queue_max;     /* items queued at most (100000) */
};

/* Definitions kept across restarts, as the JSON the API accepted. */
enum store_def_kind {
	STORE_FLOWDEF,     /* PUT /flow/{name}/json */
	STORE_THRESHOLD,   /* PUT /threshold/{name}/json */
	STORE_FORWARDING,  /* PUT /forwarding/{name}/json */
	STORE_TOPO_IMPORT, /* PUT /topology/json (name "import") */
	STORE_NF_TEMPLATE  /* a NetFlow v9/IPFIX template (nftmpl.h) */
};

/*
 * One direction of one link over one minute. dir 0 is node1:port1 ->
 * node2:port2 as the topology names the link; 1 the way back. Counts are
 * what crossed in the minute; util_max the largest utilisation (percent)
 * of the minute's readings; source "sflow", "snmp" or "estimate" (from
 * flow samples).
 */
struct store_link_minute {
	int64_t minute; /* unix seconds, a multiple of 60 */
	char link[STORE_NAME_MAX];
	char node1[STORE_NAME_MAX], port1[STORE_NAME_MAX];
	char node2[STORE_NAME_MAX], port2[STORE_NAME_MAX];
	uint8_t dir;
	double bytes, packets, discards, errors;
	double util_max;  /* percent */
	double speed_bps; /* 0: unknown */
	char source[12];
};

/*
 * One of the top flows of a minute: scope is a link name, or "edge" for
 * fabric-wide (measured at edge ingress only). rank 1 is the largest.
 */
struct store_top {
	int64_t minute;
	char scope[STORE_NAME_MAX];
	uint16_t rank;
	char keys[STORE_KEY_MAX]; /* the definition's key names */
	char flow[STORE_KEY_MAX]; /* the flow key, as /activeflows shows it */
	double bytes, frames;     /* in the minute (scaled by sampling) */
};

/*
 * An event. type: "blackhole", "elephant", "threshold", "topology", "ha".
 * A producer that later ends an event sends it again with the same
 * (type, ref) and end_ms set: the row is updated, not duplicated.
 */
struct store_event {
	char type[16];
	char ref[STORE_NAME_MAX]; /* the producer's id, unique per type */
	int64_t start_ms;         /* unix ms */
	int64_t end_ms;           /* 0: still open */
	char node[STORE_NAME_MAX];
	char link[STORE_NAME_MAX];
	char reason[STORE_NAME_MAX];
	double value;
	char detail[STORE_JSON_MAX]; /* a JSON object, or "" */
};

struct store_stats {
	int schema_version;
	bool degraded;          /* the last write failed */
	char last_error[256];   /* "" or the last failure */
	char moved_aside[512];  /* "" or where a corrupt file went at open */
	uint64_t queued;        /* items waiting now */
	uint64_t written;       /* items committed */
	uint64_t batches;       /* transactions committed */
	uint64_t dropped_queue; /* items dropped: queue full */
	/* items dropped because their batch failed, by kind */
	uint64_t dropped_links, dropped_top, dropped_events, dropped_defs,
	    dropped_topology;
	uint64_t retention_deleted; /* rows deleted by retention */
	uint64_t last_commit_ms;    /* unix ms, 0: never */
	uint64_t last_batch_us;     /* how long the last commit took */
	uint64_t db_bytes;          /* the file's size (plus its WAL) */
};

struct store;

/*
 * Open (creating or migrating) the database and start the store thread.
 * NULL with err set if it cannot (a corrupt file is moved aside first, so
 * only an unwritable path fails).
 */
struct store *store_open(const struct store_conf *, char *err, size_t errlen);
/* Commit what is queued, stop the thread, close. NULL is a no-op. */
void store_close(struct store *);

/* Queue writes. Any thread; copies everything; never blocks on the disk. */
void store_link_minutes(
    struct store *, const struct store_link_minute *, size_t n);
void store_top_flows(struct store *, const struct store_top *, size_t n);
void store_event(struct store *, const struct store_event *);
/* json NULL: delete the definition. */
void store_put_def(
    struct store *, enum store_def_kind, const char *name, const char *json);
/*
 * A new topology version: graph_json is what GET /api/v1/topology
 * answers (nodes, ports, links); the store fills nodes, ports, links and
 * topology_versions from it, and keeps the JSON for the restart.
 */
void store_topology(struct store *, uint64_t version, const char *graph_json);
/*
 * Block until everything queued before the call is committed, or its
 * batch failed (tests). Any thread but the store's. While degraded, up to
 * the next retry (2 s).
 */
void store_sync(struct store *);

void store_get_stats(struct store *, struct store_stats *);

/*
 * At start, before the other threads: the stored definitions of a kind,
 * each passed to cb (name, json). Returns how many, -1 on error.
 */
int store_load_defs(struct store *, enum store_def_kind,
    void (*cb)(void *arg, const char *name, const char *json), void *arg);
/* The latest stored topology JSON (caller frees), or NULL. */
char *store_load_topology(struct store *, uint64_t *version);

/* ---- reads ---------------------------------------------------------- */

struct store_reader;

struct store_reader *store_reader_open(
    const char *path, char *err, size_t errlen);
void store_reader_close(struct store_reader *);

/*
 * GET /api/v1/history/links/{link}?from&to&step: unix seconds; step is
 * rounded up to 60 or, past minute retention or for step >= 3600, to
 * whole hours from the hourly table. Buckets are [t, t + step) with t a
 * multiple of step; "from" and "to" in the answer are the bounds of the
 * buckets [from, to) touches. A point per bucket with rows: bps = bytes
 * in the bucket * 8 / step, pps = packets / step, utilMax the max,
 * discards and errors sums, source "mixed" if the rows disagree. More
 * than 10000 buckets, from >= to or step <= 0: NULL with err. Returns
 *   {"link", "from", "to", "step", "table": "minute"|"hour",
 *    "directions": [{"dir", "from": {node, port}, "to": {node, port},
 *      "points": [{"t", "bps", "pps", "utilMax", "discards", "errors",
 *                  "source"}]}]}
 * or NULL with err (unknown link: err starts "not found").
 */
json_t *store_q_link_history(struct store_reader *, const char *link,
    int64_t from, int64_t to, int64_t step, char *err, size_t errlen);
/*
 * GET /api/v1/history/top?link=L|edge=1&from&to[&max]: the flows of scope
 * summed over the minutes in [from, to), largest first, at most max (0:
 * 100); bps = bytes * 8 / (to - from), minutes = minutes in the top; a
 * scope without rows gives no flows (not an error):
 *   {"scope", "from", "to", "flows": [{"flow", "keys", "bytes", "frames",
 *     "bps", "minutes"}]}
 */
json_t *store_q_top(struct store_reader *, const char *scope, int64_t from,
    int64_t to, size_t max, char *err, size_t errlen);
/*
 * GET /api/v1/events?from&to&type[&max]: events overlapping [from, to)
 * (unix ms; open events overlap everything after their start), newest
 * first: {"events": [{"id", "type", "ref", "start", "end", "node",
 * "link", "reason", "value", "detail": {...}}]}
 */
json_t *store_q_events(struct store_reader *, int64_t from, int64_t to,
    const char *type, size_t max, char *err, size_t errlen);

/*
 * The stored definitions of a kind, as committed so far:
 * [{"name","json"}...] sorted by name (json the text the API took), or
 * NULL with why in err.
 */
json_t *store_q_defs(
    struct store_reader *, enum store_def_kind, char *err, size_t errlen);

/* ---- tests only ---------------------------------------------------- */

/* The schema version this build writes (PRAGMA user_version). */
#define STORE_SCHEMA_VERSION 3

/*
 * Create or migrate the database at path up to schema version upto
 * (0..STORE_SCHEMA_VERSION) by running only the first upto migration
 * steps, as an older fabmond would have left it. Returns 0 or -1. Not
 * for the daemon: tests use it to check migrations from every version.
 */
int store_test_migrate(const char *path, int upto);

#endif
