/*
 * store.c: the SQLite store; see store.h for the contract and
 * docs/STORE.md for the schema, its versions and its views.
 *
 * Threads: producers (any thread) append copies to a mutex-protected
 * queue and return; the store thread ("store") owns the one write
 * connection. Each cycle it takes what is queued, commits it in batches
 * (one transaction each, at most BATCH_ROWS rows), then rolls completed
 * hours up and deletes a little past retention, each in short
 * transactions of their own. The readers (store_reader) open their own
 * read-only connections on the calling thread; WAL lets them read while
 * the store thread writes.
 *
 * Locks: mu guards the queue, the cycle counters and the stats; dbmu
 * guards the write connection (the store thread during a cycle, and
 * store_load_* at start). Nobody holds mu while touching the disk, so a
 * producer waits at most for a list append.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "store.h"
#include "util.h"

#define BATCH_ROWS       20000 /* rows per transaction at most */
#define RETRY_MS         2000  /* degraded: one attempt per this long */
#define BUSY_MS          1000  /* the writer's busy timeout */
#define READER_BUSY_MS   5000
#define ROLLUP_GRACE_S   120  /* an hour is rolled up this long after it ends */
#define ROLLUP_PER_CYCLE 24   /* hours rolled up per cycle at most */
#define RET_ROWS         1000 /* rows per retention DELETE */
#define RET_STMTS        5    /* retention DELETEs per cycle at most */
#define RET_PERIOD_MS    60000 /* retention runs this often when idle */
#define RETRY_DEFS_MAX   1000  /* definitions kept for a retry */
#define POINTS_MAX       10000 /* history points per query */
#define ROWS_MAX         10000 /* top flows / events per query */
#define DAY_S            86400
#define TIME_MAX         INT64_C(253402300799) /* 9999-12-31T23:59:59Z */

/* ---- schema ------------------------------------------------------ */

/*
 * The migrations: step k (1-based) takes the schema from version k-1 to
 * k. Append new steps; never edit a released one (a database at version
 * k has run exactly steps 1..k).
 */
static const char *const migrations[] = {
	/* 1: the core tables. */
	"CREATE TABLE nodes ("
	" name TEXT PRIMARY KEY,"
	" role TEXT, agent TEXT, source TEXT,"
	" updated INTEGER NOT NULL"
	") WITHOUT ROWID;"
	"CREATE TABLE ports ("
	" node TEXT NOT NULL, name TEXT NOT NULL,"
	" ifindex INTEGER, speed_mbps INTEGER, oper TEXT,"
	" edge INTEGER NOT NULL DEFAULT 0, link TEXT, peer TEXT, source TEXT,"
	" PRIMARY KEY (node, name)"
	") WITHOUT ROWID;"
	"CREATE TABLE links ("
	" id INTEGER PRIMARY KEY,"
	" name TEXT NOT NULL UNIQUE,"
	" node1 TEXT, port1 TEXT, node2 TEXT, port2 TEXT,"
	" status TEXT, source TEXT,"
	" in_topology INTEGER NOT NULL DEFAULT 0,"
	" first_seen INTEGER NOT NULL, updated INTEGER NOT NULL"
	");"
	"CREATE TABLE topology_versions ("
	" id INTEGER PRIMARY KEY,"
	" version INTEGER NOT NULL, time INTEGER NOT NULL, json TEXT NOT NULL"
	");"
	"CREATE TABLE defs ("
	" kind TEXT NOT NULL, name TEXT NOT NULL, json TEXT NOT NULL,"
	" updated INTEGER NOT NULL,"
	" PRIMARY KEY (kind, name)"
	") WITHOUT ROWID;"
	"CREATE TABLE link_minute ("
	" link_id INTEGER NOT NULL, minute INTEGER NOT NULL,"
	" dir INTEGER NOT NULL,"
	" bytes REAL NOT NULL, packets REAL NOT NULL,"
	" discards REAL NOT NULL, errors REAL NOT NULL,"
	" util_max REAL NOT NULL, speed REAL, source TEXT NOT NULL,"
	" PRIMARY KEY (link_id, minute, dir)"
	") WITHOUT ROWID;"
	"CREATE TABLE top_minute ("
	" scope TEXT NOT NULL, minute INTEGER NOT NULL, rank INTEGER NOT NULL,"
	" keys TEXT NOT NULL, flow TEXT NOT NULL,"
	" bytes REAL NOT NULL, frames REAL NOT NULL,"
	" PRIMARY KEY (scope, minute, rank)"
	") WITHOUT ROWID;"
	"CREATE TABLE events ("
	" id INTEGER PRIMARY KEY,"
	" type TEXT NOT NULL, ref TEXT NOT NULL,"
	" start_ms INTEGER NOT NULL, end_ms INTEGER,"
	" node TEXT, link TEXT, reason TEXT, value REAL, detail TEXT,"
	" updated INTEGER NOT NULL,"
	" UNIQUE (type, ref)"
	");"
	"CREATE TABLE traces ("
	" id INTEGER PRIMARY KEY,"
	" name TEXT NOT NULL UNIQUE, filter TEXT,"
	" created INTEGER NOT NULL, json TEXT"
	");",

	/* 2: hourly rollups, the store's own state, time indexes. */
	"CREATE TABLE meta ("
	" key TEXT PRIMARY KEY, value"
	") WITHOUT ROWID;"
	"CREATE TABLE link_hour ("
	" link_id INTEGER NOT NULL, hour INTEGER NOT NULL,"
	" dir INTEGER NOT NULL,"
	" bytes REAL NOT NULL, packets REAL NOT NULL,"
	" discards REAL NOT NULL, errors REAL NOT NULL,"
	" util_max REAL NOT NULL, speed REAL, source TEXT NOT NULL,"
	" minutes INTEGER NOT NULL,"
	" PRIMARY KEY (link_id, hour, dir)"
	") WITHOUT ROWID;"
	"CREATE INDEX link_minute_time ON link_minute (minute);"
	"CREATE INDEX link_hour_time ON link_hour (hour);"
	"CREATE INDEX top_minute_time ON top_minute (minute);"
	"CREATE INDEX events_start ON events (start_ms);"
	"CREATE INDEX events_end ON events (end_ms);",

	/* 3: views for an operator with nothing but `sqlite3 fabmon.db`. */
	"CREATE VIEW v_link_minute AS SELECT"
	" l.name AS link, m.dir,"
	" CASE m.dir WHEN 0 THEN l.node1 ELSE l.node2 END AS from_node,"
	" CASE m.dir WHEN 0 THEN l.port1 ELSE l.port2 END AS from_port,"
	" CASE m.dir WHEN 0 THEN l.node2 ELSE l.node1 END AS to_node,"
	" CASE m.dir WHEN 0 THEN l.port2 ELSE l.port1 END AS to_port,"
	" strftime('%Y-%m-%dT%H:%M:%SZ', m.minute, 'unixepoch') AS time,"
	" m.minute,"
	" round(m.bytes * 8 / 60 / 1e6, 3) AS mbps,"
	" round(m.packets / 60, 1) AS pps,"
	" CASE WHEN m.speed > 0"
	"  THEN round(m.bytes * 8 / 60 * 100 / m.speed, 2) END AS util_pct,"
	" round(m.util_max, 2) AS util_max_pct,"
	" m.discards, m.errors, m.source"
	" FROM link_minute m JOIN links l ON l.id = m.link_id;"
	"CREATE VIEW v_link_hour AS SELECT"
	" l.name AS link, h.dir,"
	" CASE h.dir WHEN 0 THEN l.node1 ELSE l.node2 END AS from_node,"
	" CASE h.dir WHEN 0 THEN l.port1 ELSE l.port2 END AS from_port,"
	" CASE h.dir WHEN 0 THEN l.node2 ELSE l.node1 END AS to_node,"
	" CASE h.dir WHEN 0 THEN l.port2 ELSE l.port1 END AS to_port,"
	" strftime('%Y-%m-%dT%H:%M:%SZ', h.hour, 'unixepoch') AS time,"
	" h.hour,"
	" round(h.bytes * 8 / 3600 / 1e6, 3) AS mbps,"
	" round(h.packets / 3600, 1) AS pps,"
	" CASE WHEN h.speed > 0"
	"  THEN round(h.bytes * 8 / 3600 * 100 / h.speed, 2) END AS util_pct,"
	" round(h.util_max, 2) AS util_max_pct,"
	" h.discards, h.errors, h.source, h.minutes"
	" FROM link_hour h JOIN links l ON l.id = h.link_id;"
	"CREATE VIEW v_busiest_links_last_hour AS SELECT"
	" l.name AS link, m.dir,"
	" CASE m.dir WHEN 0 THEN l.node1 || ':' || l.port1"
	"  ELSE l.node2 || ':' || l.port2 END AS from_port,"
	" CASE m.dir WHEN 0 THEN l.node2 || ':' || l.port2"
	"  ELSE l.node1 || ':' || l.port1 END AS to_port,"
	" round(sum(m.bytes) * 8 / 3600 / 1e6, 3) AS avg_mbps,"
	" round(max(m.util_max), 2) AS util_max_pct,"
	" sum(m.discards) AS discards, sum(m.errors) AS errors,"
	" count(*) AS minutes"
	" FROM link_minute m JOIN links l ON l.id = m.link_id"
	" WHERE m.minute >= CAST(strftime('%s', 'now') AS INTEGER) - 3600"
	" GROUP BY m.link_id, m.dir"
	" ORDER BY avg_mbps DESC;"
	"CREATE VIEW v_top_flows_last_hour AS SELECT"
	" scope, flow, keys,"
	" round(sum(bytes) * 8 / 3600 / 1e6, 3) AS avg_mbps,"
	" sum(bytes) AS bytes, sum(frames) AS frames,"
	" count(*) AS minutes"
	" FROM top_minute"
	" WHERE minute >= CAST(strftime('%s', 'now') AS INTEGER) - 3600"
	" GROUP BY scope, flow, keys"
	" ORDER BY scope, bytes DESC;"
	"CREATE VIEW v_events AS SELECT"
	" id, type, ref,"
	" strftime('%Y-%m-%dT%H:%M:%fZ', start_ms / 1000.0, 'unixepoch')"
	"  AS start,"
	" CASE WHEN end_ms IS NOT NULL THEN"
	"  strftime('%Y-%m-%dT%H:%M:%fZ', end_ms / 1000.0, 'unixepoch')"
	"  END AS end,"
	" round((coalesce(end_ms,"
	"  CAST(strftime('%s', 'now') AS INTEGER) * 1000) - start_ms)"
	"  / 1000.0, 1) AS duration_s,"
	" node, link, reason, value, detail, start_ms, end_ms"
	" FROM events;"
	"CREATE VIEW v_open_events AS SELECT * FROM v_events"
	" WHERE end_ms IS NULL;"
	"CREATE VIEW v_topology AS SELECT"
	" id, version,"
	" strftime('%Y-%m-%dT%H:%M:%fZ', time / 1000.0, 'unixepoch') AS time,"
	" json_array_length(json, '$.nodes') AS nodes,"
	" json_array_length(json, '$.links') AS links"
	" FROM topology_versions;",
};

#define SCHEMA_LATEST ((int)nitems(migrations))
_Static_assert(nitems(migrations) == STORE_SCHEMA_VERSION,
    "STORE_SCHEMA_VERSION (store.h) is the number of migration steps");

/* ---- the queue --------------------------------------------------- */

enum item_kind { IT_LINKS, IT_TOP, IT_EVENT, IT_DEF, IT_TOPO };

struct item {
	struct item *next;
	enum item_kind kind;
	size_t n; /* rows: links/top n, otherwise 1 */
	union {
		struct store_link_minute *links;
		struct store_top *top;
		struct store_event *ev;
		struct {
			enum store_def_kind kind;
			char *name;
			char *json; /* NULL: delete */
		} def;
		struct {
			uint64_t version;
			char *json;
		} topo;
	} u;
};

/* The write connection's statements (prepared once, after migrating). */
enum {
	Q_LINK_GET,
	Q_LINK_INS,
	Q_LINK_UPD,
	Q_LM_INS,
	Q_TOP_INS,
	Q_EV_UPSERT,
	Q_DEF_PUT,
	Q_DEF_DEL,
	Q_TOPO_INS,
	Q_NODES_CLEAR,
	Q_PORTS_CLEAR,
	Q_NODE_INS,
	Q_PORT_INS,
	Q_LINKS_UNMARK,
	Q_LINK_TOPO,
	Q_ROLLUP,
	Q_META_GET,
	Q_META_SET,
	Q_META_LOWER,
	Q_MIN_MINUTE,
	Q_RET_LM,
	Q_RET_LH,
	Q_RET_TOP,
	Q_RET_EV,
	Q_RET_TOPO,
	Q_N
};

static const char *const sqls[Q_N] = {
	[Q_LINK_GET] = "SELECT id, node1, port1, node2, port2 FROM links"
	               " WHERE name = ?1",
	[Q_LINK_INS] = "INSERT INTO links (name, node1, port1, node2, port2,"
	               " first_seen, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
	               " ?6)",
	[Q_LINK_UPD] = "UPDATE links SET node1 = ?2, port1 = ?3, node2 = ?4,"
	               " port2 = ?5, updated = ?6 WHERE id = ?1",
	[Q_LM_INS] =
	    "INSERT OR REPLACE INTO link_minute (link_id, minute, dir,"
	    " bytes, packets, discards, errors, util_max, speed,"
	    " source) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	[Q_TOP_INS] = "INSERT OR REPLACE INTO top_minute (scope, minute, rank,"
	              " keys, flow, bytes, frames) VALUES (?1, ?2, ?3, ?4, ?5,"
	              " ?6, ?7)",
	[Q_EV_UPSERT] =
	    "INSERT INTO events (type, ref, start_ms, end_ms, node,"
	    " link, reason, value, detail, updated) VALUES (?1, ?2,"
	    " ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
	    " ON CONFLICT (type, ref) DO UPDATE SET"
	    " start_ms = excluded.start_ms, end_ms = excluded.end_ms,"
	    " node = excluded.node, link = excluded.link,"
	    " reason = excluded.reason, value = excluded.value,"
	    " detail = excluded.detail, updated = excluded.updated",
	[Q_DEF_PUT] = "INSERT OR REPLACE INTO defs (kind, name, json, updated)"
	              " VALUES (?1, ?2, ?3, ?4)",
	[Q_DEF_DEL] = "DELETE FROM defs WHERE kind = ?1 AND name = ?2",
	[Q_TOPO_INS] = "INSERT INTO topology_versions (version, time, json)"
	               " VALUES (?1, ?2, ?3)",
	[Q_NODES_CLEAR] = "DELETE FROM nodes",
	[Q_PORTS_CLEAR] = "DELETE FROM ports",
	[Q_NODE_INS] =
	    "INSERT OR REPLACE INTO nodes (name, role, agent, source,"
	    " updated) VALUES (?1, ?2, ?3, ?4, ?5)",
	[Q_PORT_INS] = "INSERT OR REPLACE INTO ports (node, name, ifindex,"
	               " speed_mbps, oper, edge, link, peer, source) VALUES"
	               " (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[Q_LINKS_UNMARK] = "UPDATE links SET in_topology = 0"
	                   " WHERE in_topology != 0",
	[Q_LINK_TOPO] = "INSERT INTO links (name, node1, port1, node2, port2,"
	                " status, source, in_topology, first_seen, updated)"
	                " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1, ?8, ?8)"
	                " ON CONFLICT (name) DO UPDATE SET"
	                " node1 = excluded.node1, port1 = excluded.port1,"
	                " node2 = excluded.node2, port2 = excluded.port2,"
	                " status = excluded.status, source = excluded.source,"
	                " in_topology = 1, updated = excluded.updated",
	[Q_ROLLUP] =
	    "INSERT OR REPLACE INTO link_hour (link_id, hour, dir,"
	    " bytes, packets, discards, errors, util_max, speed,"
	    " source, minutes)"
	    " SELECT link_id, ?1, dir, sum(bytes), sum(packets),"
	    " sum(discards), sum(errors), max(util_max), max(speed),"
	    " CASE WHEN min(source) = max(source) THEN min(source)"
	    " ELSE 'mixed' END, count(*)"
	    " FROM link_minute WHERE minute >= ?1 AND minute < ?1 + 3600"
	    " GROUP BY link_id, dir",
	[Q_META_GET] = "SELECT value FROM meta WHERE key = ?1",
	[Q_META_SET] =
	    "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
	[Q_META_LOWER] = "UPDATE meta SET value = ?2 WHERE key = ?1"
	                 " AND value > ?2",
	[Q_MIN_MINUTE] = "SELECT min(minute) FROM link_minute",
	[Q_RET_LM] = "DELETE FROM link_minute WHERE (link_id, minute, dir) IN"
	             " (SELECT link_id, minute, dir FROM link_minute"
	             " WHERE minute < ?1 LIMIT ?2)",
	[Q_RET_LH] = "DELETE FROM link_hour WHERE (link_id, hour, dir) IN"
	             " (SELECT link_id, hour, dir FROM link_hour"
	             " WHERE hour < ?1 LIMIT ?2)",
	[Q_RET_TOP] = "DELETE FROM top_minute WHERE (scope, minute, rank) IN"
	              " (SELECT scope, minute, rank FROM top_minute"
	              " WHERE minute < ?1 LIMIT ?2)",
	[Q_RET_EV] = "DELETE FROM events WHERE id IN (SELECT id FROM events"
	             " WHERE end_ms IS NOT NULL AND end_ms < ?1 LIMIT ?2)",
	[Q_RET_TOPO] = "DELETE FROM topology_versions WHERE id IN"
	               " (SELECT id FROM topology_versions WHERE time < ?1"
	               " AND id < (SELECT max(id) FROM topology_versions)"
	               " LIMIT ?2)",
};

struct store {
	struct store_conf conf;
	char *path;
	pthread_t thread;

	pthread_mutex_t mu;  /* the queue, the counters, the stats */
	pthread_cond_t wake; /* to the thread: work, sync or stop */
	pthread_cond_t done; /* from the thread: a cycle ended */
	struct item *head, *tail;
	uint64_t cycles_started, cycles_done;
	bool kick, stop;
	struct store_stats st;
	struct log_ratelimit rl_queue;

	pthread_mutex_t dbmu; /* the write connection */
	sqlite3 *db;
	sqlite3_stmt *q[Q_N];

	/* Store thread only. */
	struct item *retry, *retry_tail; /* definitions of a failed batch */
	size_t n_retry;
	uint64_t retry_at;    /* degraded: mono ms of the next attempt */
	uint64_t ret_next_ms; /* mono ms of the next retention pass */
	bool rollup_known;    /* rollup_next is loaded */
	int64_t rollup_next;  /* the first hour not yet rolled up */
	char errbuf[256];     /* the failure of the batch in hand */
	struct log_ratelimit rl_row;
};

static const char *const def_kinds[] = {
	[STORE_FLOWDEF] = "flow",
	[STORE_THRESHOLD] = "threshold",
	[STORE_FORWARDING] = "forwarding",
	[STORE_TOPO_IMPORT] = "topology",
	[STORE_NF_TEMPLATE] = "netflow_template",
};

static const char *
def_kind_name(enum store_def_kind k)
{
	return (unsigned)k < nitems(def_kinds) ? def_kinds[k] : NULL;
}

/* ---- small helpers ----------------------------------------------- */

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Bind a string, NULL when empty (so that IS NULL works in SQL). */
static void
bind_text(sqlite3_stmt *q, int i, const char *s)
{
	if (s == NULL || s[0] == '\0')
		sqlite3_bind_null(q, i);
	else
		sqlite3_bind_text(q, i, s, -1, SQLITE_TRANSIENT);
}

/* Copy a fixed-size string field so that it is terminated. */
static void
fix_str(char *s, size_t size)
{
	s[size - 1] = '\0';
}

static int64_t
now_s(void)
{
	return (int64_t)(now_wall_ms() / 1000);
}

static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/*
 * Errors that fail the whole batch (the disk, the file, the lock):
 * everything else is a problem with one row, which is skipped.
 */
static bool
rc_is_fatal(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_FULL:
	case SQLITE_IOERR:
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_NOMEM:
	case SQLITE_READONLY:
	case SQLITE_CORRUPT:
	case SQLITE_CANTOPEN:
	case SQLITE_PROTOCOL:
	case SQLITE_NOTADB:
	case SQLITE_ABORT:
	case SQLITE_INTERRUPT:
	case SQLITE_PERM:
		return true;
	}
	return false;
}

/* Run a statement to its end; returns the last sqlite3_step code. */
static int
step_done(sqlite3_stmt *q)
{
	int rc;

	while ((rc = sqlite3_step(q)) == SQLITE_ROW)
		;
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* ---- opening, checking, migrating -------------------------------- */

/*
 * PRAGMA quick_check: 1 ok, 0 corrupt or not a database, -1 some other
 * error (cannot open, locked...), which is no reason to move it aside.
 */
static int
db_check(sqlite3 *db, char *why, size_t whylen)
{
	sqlite3_stmt *q = NULL;
	int rc, ok = 0;

	rc = sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &q, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *r = (const char *)sqlite3_column_text(q, 0);

		ok = r != NULL && strcmp(r, "ok") == 0;
		if (!ok) {
			/* Its report has several lines: one log line. */
			seterr(why, whylen, "quick_check: %s", r ? r : "?");
			for (char *c = why; *c; c++)
				if (*c == '\n')
					*c = ' ';
		}
	} else {
		rc = sqlite3_extended_errcode(db);
		seterr(why, whylen, "%s", sqlite3_errmsg(db));
		if ((rc & 0xff) != SQLITE_NOTADB &&
		    (rc & 0xff) != SQLITE_CORRUPT)
			ok = -1;
	}
	sqlite3_finalize(q);
	return ok;
}

/*
 * Rename path (and its -wal, -shm) to path.corrupt-<unix seconds>[.N],
 * never replacing an existing file. Returns 0 with the new name in to.
 */
static int
move_aside(const char *path, char *to, size_t tolen)
{
	static const char *const sfx[] = { "-wal", "-shm" };
	char base[PATH_MAX], src[PATH_MAX + 8], dst[PATH_MAX + 8];
	long t = (long)time(NULL);

	for (int i = 0; i < 1000; i++) {
		if (i == 0)
			snprintf(base, sizeof(base), "%s.corrupt-%ld", path, t);
		else
			snprintf(base, sizeof(base), "%s.corrupt-%ld.%d", path,
			    t, i);
		/* The name and its companions must all be free. */
		snprintf(src, sizeof(src), "%s-wal", base);
		snprintf(dst, sizeof(dst), "%s-shm", base);
		if (access(base, F_OK) == 0 || access(src, F_OK) == 0 ||
		    access(dst, F_OK) == 0)
			continue;
		/* link + unlink: fails rather than replaces (EEXIST). */
		if (link(path, base) != 0) {
			if (errno == EEXIST)
				continue;
			if (rename(path, base) != 0)
				return -1;
		} else if (unlink(path) != 0) {
			return -1;
		}
		for (size_t k = 0; k < nitems(sfx); k++) {
			snprintf(src, sizeof(src), "%s%s", path, sfx[k]);
			snprintf(dst, sizeof(dst), "%s%s", base, sfx[k]);
			if (access(src, F_OK) == 0 && rename(src, dst) != 0)
				log_warn("store", "rename %s", src);
		}
		if (tolen > 0) {
			size_t l = strlen(base);

			l = l < tolen ? l : tolen - 1;
			memcpy(to, base, l);
			to[l] = '\0';
		}
		return 0;
	}
	errno = EEXIST;
	return -1;
}

static int
exec_sql(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		seterr(err, errlen, "%s", msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
	}
	return rc;
}

static int
user_version(sqlite3 *db, int *v)
{
	sqlite3_stmt *q = NULL;
	int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL);

	if (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		*v = sqlite3_column_int(q, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(q);
	return rc;
}

/* Run migration steps from the current version up to upto. */
static int
migrate(sqlite3 *db, int upto, char *err, size_t errlen)
{
	int v = 0, v0, rc;
	char sql[64];

	if ((rc = user_version(db, &v)) != SQLITE_OK) {
		seterr(err, errlen, "user_version: %s", sqlite3_errstr(rc));
		return -1;
	}
	if (v > SCHEMA_LATEST) {
		seterr(err, errlen,
		    "schema version %d is newer than this fabmond's (%d)", v,
		    SCHEMA_LATEST);
		return -1;
	}
	for (v0 = v; v < upto; v++) {
		char e[200] = "";

		if (exec_sql(db, "BEGIN IMMEDIATE", e, sizeof(e)) != SQLITE_OK)
			goto fail;
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		if (exec_sql(db, migrations[v], e, sizeof(e)) != SQLITE_OK ||
		    exec_sql(db, sql, e, sizeof(e)) != SQLITE_OK ||
		    exec_sql(db, "COMMIT", e, sizeof(e)) != SQLITE_OK) {
			exec_sql(db, "ROLLBACK", NULL, 0);
			goto fail;
		}
		if (v0 > 0)
			log_info(
			    "store", "schema migrated to version %d", v + 1);
		continue;
	fail:
		seterr(err, errlen, "migration to version %d: %s", v + 1, e);
		return -1;
	}
	return 0;
}

static int
db_pragmas(sqlite3 *db, char *err, size_t errlen)
{
	sqlite3_stmt *q = NULL;
	int rc, wal = 0;

	sqlite3_busy_timeout(db, BUSY_MS);
	rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &q, NULL);
	if (rc == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW) {
		const char *m = (const char *)sqlite3_column_text(q, 0);

		wal = m != NULL && strcmp(m, "wal") == 0;
	}
	sqlite3_finalize(q);
	if (!wal) {
		seterr(err, errlen, "cannot set journal_mode=WAL: %s",
		    sqlite3_errmsg(db));
		return -1;
	}
	/*
	 * NORMAL: in WAL mode a commit is not synced, so power loss may
	 * lose the last commits, but the file stays consistent; a process
	 * crash loses nothing that was committed.
	 */
	if (exec_sql(db,
	        "PRAGMA synchronous = NORMAL;"
	        "PRAGMA journal_size_limit = 67108864;",
	        err, errlen) != SQLITE_OK)
		return -1;
	return 0;
}

/*
 * Open path for writing; a file that is not a database or fails
 * quick_check is moved aside (moved gets its new name) and a fresh one
 * created.
 */
static sqlite3 *
db_open(
    const char *path, char *moved, size_t movedlen, char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	char why[256] = "";
	int rc;

	for (int attempt = 0; attempt < 2; attempt++) {
		rc = sqlite3_open_v2(path, &db,
		    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
		        SQLITE_OPEN_NOMUTEX,
		    NULL);
		if (rc != SQLITE_OK) {
			seterr(err, errlen, "%s: %s", path,
			    db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
			sqlite3_close(db);
			return NULL;
		}
		sqlite3_busy_timeout(db, BUSY_MS);
		/*
		 * Until the file is known good, closing it must not
		 * checkpoint or delete a WAL: a corrupt file's WAL is
		 * moved aside with it, as it was.
		 */
		sqlite3_db_config(
		    db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
		rc = db_check(db, why, sizeof(why));
		if (rc == 1) {
			sqlite3_db_config(
			    db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 0, NULL);
			return db;
		}
		sqlite3_close(db);
		db = NULL;
		if (rc < 0) {
			seterr(err, errlen, "%s: %s", path, why);
			return NULL;
		}
		if (attempt > 0)
			break;
		/* Not ours to fix: keep it for a post-mortem, start anew. */
		if (move_aside(path, moved, movedlen) != 0) {
			seterr(err, errlen,
			    "%s is corrupt (%s) and cannot be "
			    "moved aside: %s",
			    path, why, strerror(errno));
			return NULL;
		}
		log_warnx("store",
		    "DATABASE %s IS CORRUPT (%s): moved aside to %s; "
		    "starting with an empty database",
		    path, why, moved);
	}
	seterr(
	    err, errlen, "%s: fresh database fails its check: %s", path, why);
	return NULL;
}

int
store_test_migrate(const char *path, int upto)
{
	sqlite3 *db = NULL;
	char err[256];
	int r = -1;

	if (upto < 0 || upto > SCHEMA_LATEST)
		return -1;
	if (sqlite3_open_v2(path, &db,
	        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
	        NULL) == SQLITE_OK &&
	    db_pragmas(db, err, sizeof(err)) == 0 &&
	    migrate(db, upto, err, sizeof(err)) == 0)
		r = 0;
	sqlite3_close(db);
	return r;
}

/* ---- meta -------------------------------------------------------- */

static int
meta_get(struct store *s, const char *key, int64_t *v)
{
	sqlite3_stmt *q = s->q[Q_META_GET];
	int rc, found = 0;

	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(q)) == SQLITE_ROW &&
	    sqlite3_column_type(q, 0) != SQLITE_NULL) {
		*v = sqlite3_column_int64(q, 0);
		found = 1;
	}
	sqlite3_reset(q);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? found : -1;
}

static int
meta_set(struct store *s, const char *key, int64_t v)
{
	sqlite3_stmt *q = s->q[Q_META_SET];

	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, v);
	return step_done(q);
}

/* ---- applying items (store thread, inside a transaction) --------- */

/*
 * Each apply returns SQLITE_OK, or a row error (the row is skipped and
 * counted), or a fatal error (rc_is_fatal: the batch is rolled back).
 */

static int
link_id(struct store *s, const struct store_link_minute *m, int64_t now_ms,
    int64_t *id)
{
	sqlite3_stmt *q = s->q[Q_LINK_GET];
	const char *names[4] = { m->node1, m->port1, m->node2, m->port2 };
	bool differ = false;
	int rc;

	sqlite3_bind_text(q, 1, m->link, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(q, 0);
		for (int i = 0; i < 4; i++) {
			const char *c =
			    (const char *)sqlite3_column_text(q, i + 1);

			if (names[i][0] != '\0' &&
			    (c == NULL || strcmp(c, names[i]) != 0))
				differ = true;
		}
		sqlite3_reset(q);
		if (!differ)
			return SQLITE_OK;
		/* The link was re-cabled or first seen without names. */
		q = s->q[Q_LINK_UPD];
		sqlite3_bind_int64(q, 1, *id);
		for (int i = 0; i < 4; i++)
			bind_text(q, i + 2, names[i]);
		sqlite3_bind_int64(q, 6, now_ms);
		return step_done(q);
	}
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return rc;
	q = s->q[Q_LINK_INS];
	sqlite3_bind_text(q, 1, m->link, -1, SQLITE_STATIC);
	for (int i = 0; i < 4; i++)
		bind_text(q, i + 2, names[i]);
	sqlite3_bind_int64(q, 6, now_ms);
	if ((rc = step_done(q)) != SQLITE_OK)
		return rc;
	*id = sqlite3_last_insert_rowid(s->db);
	return SQLITE_OK;
}

static int
apply_link(struct store *s, struct store_link_minute *m, int64_t now_ms)
{
	sqlite3_stmt *q = s->q[Q_LM_INS];
	int64_t id = 0;
	int rc;

	fix_str(m->link, sizeof(m->link));
	fix_str(m->node1, sizeof(m->node1));
	fix_str(m->port1, sizeof(m->port1));
	fix_str(m->node2, sizeof(m->node2));
	fix_str(m->port2, sizeof(m->port2));
	fix_str(m->source, sizeof(m->source));
	if (m->link[0] == '\0' || m->dir > 1)
		return SQLITE_MISMATCH;
	if ((rc = link_id(s, m, now_ms, &id)) != SQLITE_OK)
		return rc;
	sqlite3_bind_int64(q, 1, id);
	sqlite3_bind_int64(q, 2, m->minute);
	sqlite3_bind_int(q, 3, m->dir);
	sqlite3_bind_double(q, 4, m->bytes);
	sqlite3_bind_double(q, 5, m->packets);
	sqlite3_bind_double(q, 6, m->discards);
	sqlite3_bind_double(q, 7, m->errors);
	sqlite3_bind_double(q, 8, m->util_max);
	if (m->speed_bps > 0)
		sqlite3_bind_double(q, 9, m->speed_bps);
	else
		sqlite3_bind_null(q, 9);
	sqlite3_bind_text(
	    q, 10, m->source[0] ? m->source : "unknown", -1, SQLITE_STATIC);
	return step_done(q);
}

static int
apply_top(struct store *s, struct store_top *t)
{
	sqlite3_stmt *q = s->q[Q_TOP_INS];

	fix_str(t->scope, sizeof(t->scope));
	fix_str(t->keys, sizeof(t->keys));
	fix_str(t->flow, sizeof(t->flow));
	if (t->scope[0] == '\0')
		return SQLITE_MISMATCH;
	sqlite3_bind_text(q, 1, t->scope, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, t->minute);
	sqlite3_bind_int(q, 3, t->rank);
	sqlite3_bind_text(q, 4, t->keys, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 5, t->flow, -1, SQLITE_STATIC);
	sqlite3_bind_double(q, 6, t->bytes);
	sqlite3_bind_double(q, 7, t->frames);
	return step_done(q);
}

static int
apply_event(struct store *s, struct store_event *e, int64_t now_ms)
{
	sqlite3_stmt *q = s->q[Q_EV_UPSERT];

	fix_str(e->type, sizeof(e->type));
	fix_str(e->ref, sizeof(e->ref));
	fix_str(e->node, sizeof(e->node));
	fix_str(e->link, sizeof(e->link));
	fix_str(e->reason, sizeof(e->reason));
	fix_str(e->detail, sizeof(e->detail));
	if (e->type[0] == '\0')
		return SQLITE_MISMATCH;
	sqlite3_bind_text(q, 1, e->type, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, e->ref, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, e->start_ms);
	if (e->end_ms != 0)
		sqlite3_bind_int64(q, 4, e->end_ms);
	else
		sqlite3_bind_null(q, 4);
	bind_text(q, 5, e->node);
	bind_text(q, 6, e->link);
	bind_text(q, 7, e->reason);
	sqlite3_bind_double(q, 8, e->value);
	bind_text(q, 9, e->detail);
	sqlite3_bind_int64(q, 10, now_ms);
	return step_done(q);
}

static int
apply_def(struct store *s, struct item *it, int64_t now_ms)
{
	const char *kind = def_kind_name(it->u.def.kind);
	sqlite3_stmt *q;

	if (kind == NULL)
		return SQLITE_MISMATCH;
	q = s->q[it->u.def.json ? Q_DEF_PUT : Q_DEF_DEL];
	sqlite3_bind_text(q, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, it->u.def.name, -1, SQLITE_STATIC);
	if (it->u.def.json) {
		sqlite3_bind_text(q, 3, it->u.def.json, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 4, now_ms);
	}
	return step_done(q);
}

/* A string member, or NULL. */
static const char *
jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* An integer member, also from a numeric string (sFlow-RT's ifindex). */
static bool
jint(const json_t *o, const char *k, int64_t *v)
{
	json_t *j = json_object_get(o, k);
	char *end;

	if (json_is_integer(j)) {
		*v = json_integer_value(j);
		return true;
	}
	if (json_is_string(j)) {
		*v = strtoll(json_string_value(j), &end, 10);
		return end != json_string_value(j) && *end == '\0';
	}
	return false;
}

/*
 * The i-th member of an array of objects with "name", or of an object
 * keyed by name (sFlow-RT's form): returns the object, name in *name.
 */
static json_t *
jnamed(json_t *c, void **iter, size_t i, const char **name)
{
	json_t *o;

	if (json_is_array(c)) {
		o = json_array_get(c, i);
		*name = jstr(o, "name");
		return o;
	}
	if (!json_is_object(c) || *iter == NULL)
		return NULL;
	o = json_object_iter_value(*iter);
	*name = json_object_iter_key(*iter);
	*iter = json_object_iter_next(c, *iter);
	return o;
}

static int
apply_topo_node(struct store *s, const char *name, json_t *n, int64_t now_ms)
{
	sqlite3_stmt *q = s->q[Q_NODE_INS];
	json_t *ports = json_object_get(n, "ports");
	void *iter = json_is_object(ports) ? json_object_iter(ports) : NULL;
	size_t np = json_is_array(ports) ? json_array_size(ports)
	                                 : json_object_size(ports);
	int rc;

	sqlite3_bind_text(q, 1, name, -1, SQLITE_TRANSIENT);
	bind_text(q, 2, jstr(n, "role"));
	bind_text(q, 3, jstr(n, "agent"));
	bind_text(q, 4, jstr(n, "source"));
	sqlite3_bind_int64(q, 5, now_ms);
	if ((rc = step_done(q)) != SQLITE_OK)
		return rc;
	q = s->q[Q_PORT_INS];
	for (size_t i = 0; i < np; i++) {
		const char *pname = NULL;
		json_t *p = jnamed(ports, &iter, i, &pname);
		int64_t v;

		if (!json_is_object(p) || pname == NULL)
			continue;
		sqlite3_bind_text(q, 1, name, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(q, 2, pname, -1, SQLITE_TRANSIENT);
		if (jint(p, "ifindex", &v))
			sqlite3_bind_int64(q, 3, v);
		if (jint(p, "speedMbps", &v))
			sqlite3_bind_int64(q, 4, v);
		bind_text(q, 5, jstr(p, "oper"));
		sqlite3_bind_int(
		    q, 6, json_is_true(json_object_get(p, "edge")));
		bind_text(q, 7, jstr(p, "link"));
		bind_text(q, 8, jstr(p, "peer"));
		bind_text(q, 9, jstr(p, "source"));
		rc = step_done(q);
		sqlite3_clear_bindings(q);
		if (rc != SQLITE_OK)
			return rc;
	}
	return SQLITE_OK;
}

/*
 * A topology version: nodes and ports are replaced by the new ones;
 * links are upserted (their ids are what the history rows refer to)
 * and flagged in_topology.
 */
static int
apply_topo(struct store *s, struct item *it, int64_t now_ms)
{
	json_t *g, *nodes, *links;
	void *iter;
	size_t n;
	int rc;

	g = json_loads(it->u.topo.json, 0, NULL);
	if (!json_is_object(g)) {
		json_decref(g);
		return SQLITE_MISMATCH;
	}
	nodes = json_object_get(g, "nodes");
	links = json_object_get(g, "links");
	sqlite3_bind_int64(s->q[Q_TOPO_INS], 1, (int64_t)it->u.topo.version);
	sqlite3_bind_int64(s->q[Q_TOPO_INS], 2, now_ms);
	sqlite3_bind_text(
	    s->q[Q_TOPO_INS], 3, it->u.topo.json, -1, SQLITE_STATIC);
	if ((rc = step_done(s->q[Q_TOPO_INS])) != SQLITE_OK ||
	    (rc = step_done(s->q[Q_NODES_CLEAR])) != SQLITE_OK ||
	    (rc = step_done(s->q[Q_PORTS_CLEAR])) != SQLITE_OK ||
	    (rc = step_done(s->q[Q_LINKS_UNMARK])) != SQLITE_OK)
		goto out;
	iter = json_is_object(nodes) ? json_object_iter(nodes) : NULL;
	n = json_is_array(nodes) ? json_array_size(nodes)
	                         : json_object_size(nodes);
	for (size_t i = 0; i < n; i++) {
		const char *name = NULL;
		json_t *o = jnamed(nodes, &iter, i, &name);

		if (!json_is_object(o) || name == NULL)
			continue;
		if ((rc = apply_topo_node(s, name, o, now_ms)) != SQLITE_OK)
			goto out;
	}
	iter = json_is_object(links) ? json_object_iter(links) : NULL;
	n = json_is_array(links) ? json_array_size(links)
	                         : json_object_size(links);
	for (size_t i = 0; i < n; i++) {
		sqlite3_stmt *q = s->q[Q_LINK_TOPO];
		const char *name = NULL;
		json_t *o = jnamed(links, &iter, i, &name);

		if (!json_is_object(o) || name == NULL)
			continue;
		sqlite3_bind_text(q, 1, name, -1, SQLITE_TRANSIENT);
		bind_text(q, 2, jstr(o, "node1"));
		bind_text(q, 3, jstr(o, "port1"));
		bind_text(q, 4, jstr(o, "node2"));
		bind_text(q, 5, jstr(o, "port2"));
		bind_text(q, 6, jstr(o, "status"));
		bind_text(q, 7, jstr(o, "source"));
		sqlite3_bind_int64(q, 8, now_ms);
		if ((rc = step_done(q)) != SQLITE_OK)
			goto out;
	}
	rc = SQLITE_OK;
out:
	json_decref(g);
	/*
	 * The tree of a 1,000-switch fabric is over 100 MB of small
	 * blocks, freed into this thread's malloc arena, which glibc keeps
	 * (180 MiB of RSS at rest, bench/README). A new topology version is
	 * rare (only a real change makes one): give it back now.
	 */
	malloc_trim(0);
	return rc;
}

/* ---- batches (store thread) -------------------------------------- */

static void
item_free(struct item *it)
{
	switch (it->kind) {
	case IT_LINKS:
		free(it->u.links);
		break;
	case IT_TOP:
		free(it->u.top);
		break;
	case IT_EVENT:
		free(it->u.ev);
		break;
	case IT_DEF:
		free(it->u.def.name);
		free(it->u.def.json);
		break;
	case IT_TOPO:
		free(it->u.topo.json);
		break;
	}
	free(it);
}

/* Count n rows of an item's kind as dropped (under mu). */
static void
count_dropped(struct store_stats *st, enum item_kind k, uint64_t n)
{
	switch (k) {
	case IT_LINKS:
		st->dropped_links += n;
		break;
	case IT_TOP:
		st->dropped_top += n;
		break;
	case IT_EVENT:
		st->dropped_events += n;
		break;
	case IT_DEF:
		st->dropped_defs += n;
		break;
	case IT_TOPO:
		st->dropped_topology += n;
		break;
	}
}

static const char *const kind_names[] = { "link minute", "top flow", "event",
	"definition", "topology" };

/* A row the database refused (not the disk): skip it, count it. */
static void
row_error(struct store *s, enum item_kind k, int rc)
{
	log_warnx_rl(&s->rl_row, "store", "%s row refused: %s", kind_names[k],
	    sqlite3_errstr(rc));
	pthread_mutex_lock(&s->mu);
	count_dropped(&s->st, k, 1);
	pthread_mutex_unlock(&s->mu);
}

/* Apply one item; row errors are counted here, a fatal one returned. */
static int
apply_item(struct store *s, struct item *it, int64_t now_ms, int64_t *minmin,
    uint64_t *rows)
{
	int rc = SQLITE_OK;

	for (size_t i = 0; i < it->n; i++) {
		switch (it->kind) {
		case IT_LINKS:
			rc = apply_link(s, &it->u.links[i], now_ms);
			if (rc == SQLITE_OK && it->u.links[i].minute < *minmin)
				*minmin = it->u.links[i].minute;
			break;
		case IT_TOP:
			rc = apply_top(s, &it->u.top[i]);
			break;
		case IT_EVENT:
			rc = apply_event(s, it->u.ev, now_ms);
			break;
		case IT_DEF:
			rc = apply_def(s, it, now_ms);
			break;
		case IT_TOPO:
			/* Many statements: all or none of them. */
			rc = sqlite3_exec(
			    s->db, "SAVEPOINT topo", NULL, NULL, NULL);
			if (rc == SQLITE_OK)
				rc = apply_topo(s, it, now_ms);
			if (rc != SQLITE_OK && !rc_is_fatal(rc))
				sqlite3_exec(s->db, "ROLLBACK TO topo", NULL,
				    NULL, NULL);
			if (!rc_is_fatal(rc) &&
			    sqlite3_exec(s->db, "RELEASE topo", NULL, NULL,
			        NULL) != SQLITE_OK)
				rc = sqlite3_errcode(s->db);
			break;
		}
		if (rc == SQLITE_OK)
			(*rows)++;
		else if (rc_is_fatal(rc))
			return rc;
		else
			row_error(s, it->kind, rc);
	}
	return SQLITE_OK;
}

/* A write failed: note it (under mu) and log it. */
static void
write_failed(struct store *s, const char *what, int rc)
{
	uint64_t now = now_mono_ms();
	bool was;

	snprintf(s->errbuf, sizeof(s->errbuf), "%s: %s", what,
	    s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
	pthread_mutex_lock(&s->mu);
	was = s->st.degraded;
	s->st.degraded = true;
	snprintf(s->st.last_error, sizeof(s->st.last_error), "%s", s->errbuf);
	pthread_mutex_unlock(&s->mu);
	s->retry_at = now + RETRY_MS;
	if (!was)
		log_warnx("store",
		    "write failed, store degraded (retrying every %d s): %s",
		    RETRY_MS / 1000, s->errbuf);
}

static void
write_ok(struct store *s)
{
	bool was;

	pthread_mutex_lock(&s->mu);
	was = s->st.degraded;
	s->st.degraded = false;
	pthread_mutex_unlock(&s->mu);
	if (was)
		log_info("store", "writes succeed again, no longer degraded");
}

static void
rollback(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Lower rollup_next so that a late minute's hour is rolled up again. */
static int
rollup_lower(struct store *s, int64_t minute)
{
	int64_t h = floor_div(minute, 3600) * 3600;
	sqlite3_stmt *q = s->q[Q_META_LOWER];

	/* Never re-roll an hour whose minutes retention has begun to delete. */
	if (s->conf.minute_days) {
		int64_t cut = now_s() - (int64_t)s->conf.minute_days * DAY_S;

		if (h < cut)
			h = floor_div(cut + 3599, 3600) * 3600;
	}
	sqlite3_bind_text(q, 1, "rollup_next", -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, h);
	return step_done(q);
}

/*
 * Commit items [first, end) in one transaction. On a fatal error the
 * transaction is rolled back and its items are counted as dropped, but
 * definitions, which are small and are what an operator typed, are
 * kept to be tried again with the next batch.
 */
static bool
commit_batch(
    struct store *s, struct item *first, struct item *end, uint64_t nrows)
{
	int64_t now_ms = (int64_t)now_wall_ms(), minmin = INT64_MAX;
	uint64_t rows = 0, us;
	struct timespec a, b;
	const char *what = "begin";
	struct item *it;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &a);
	rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	for (it = first; rc == SQLITE_OK && it != end; it = it->next) {
		what = kind_names[it->kind];
		rc = apply_item(s, it, now_ms, &minmin, &rows);
	}
	if (rc == SQLITE_OK && minmin != INT64_MAX) {
		what = "rollup mark";
		rc = rollup_lower(s, minmin);
	}
	if (rc == SQLITE_OK) {
		what = "commit";
		rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	us = (uint64_t)(((int64_t)b.tv_sec - (int64_t)a.tv_sec) * 1000000 +
	    ((int64_t)b.tv_nsec - (int64_t)a.tv_nsec) / 1000);
	if (rc == SQLITE_OK) {
		/* rollup_next was lowered (and clamped): read it again. */
		if (minmin != INT64_MAX &&
		    floor_div(minmin, 3600) * 3600 < s->rollup_next)
			s->rollup_known = false;
		pthread_mutex_lock(&s->mu);
		s->st.written += rows;
		s->st.batches++;
		s->st.last_commit_ms = now_wall_ms();
		s->st.last_batch_us = us;
		s->st.queued -= nrows;
		pthread_mutex_unlock(&s->mu);
		write_ok(s);
		return true;
	}
	rollback(s);
	/* What the rollback undid may include a rollup_next we lowered. */
	s->rollup_known = false;
	write_failed(s, what, rc);
	/* commit_items counts what leaves the queue: not the kept defs. */
	return false;
}

/*
 * Commit a list of items in batches of at most BATCH_ROWS rows; frees
 * the items, except the definitions of a failed batch, which move to
 * the retry list. Returns how many batches failed.
 */
static int
commit_items(struct store *s, struct item *list)
{
	int failures = 0;

	while (list != NULL) {
		struct item *end = list, *it, *next;
		uint64_t rows = 0;
		bool failed;

		do {
			rows += end->n;
			end = end->next;
		} while (end != NULL && rows + end->n <= BATCH_ROWS);
		failed = !commit_batch(s, list, end, rows);
		failures += failed;
		for (it = list; it != end; it = next) {
			next = it->next;
			if (failed && it->kind == IT_DEF &&
			    s->n_retry < RETRY_DEFS_MAX) {
				/* Still queued: it goes first next time. */
				it->next = NULL;
				if (s->retry_tail)
					s->retry_tail->next = it;
				else
					s->retry = it;
				s->retry_tail = it;
				s->n_retry++;
				continue;
			}
			if (failed) {
				pthread_mutex_lock(&s->mu);
				count_dropped(&s->st, it->kind, it->n);
				s->st.queued -= it->n;
				pthread_mutex_unlock(&s->mu);
			}
			item_free(it);
		}
		list = end;
	}
	return failures;
}

/* ---- rollups and retention (store thread) ------------------------ */

static void
rollup(struct store *s)
{
	int64_t last = floor_div(now_s() - ROLLUP_GRACE_S, 3600) * 3600;
	sqlite3_stmt *q;
	int rc, n;

	if (!s->rollup_known) {
		int64_t v, min;

		rc = meta_get(s, "rollup_next", &v);
		if (rc < 0)
			return;
		q = s->q[Q_MIN_MINUTE];
		if (sqlite3_step(q) != SQLITE_ROW ||
		    sqlite3_column_type(q, 0) == SQLITE_NULL) {
			sqlite3_reset(q);
			return; /* nothing to roll up yet */
		}
		min = floor_div(sqlite3_column_int64(q, 0), 3600) * 3600;
		sqlite3_reset(q);
		/* Unset (a new or migrated file), or behind the oldest row. */
		s->rollup_next = rc == 1 && v > min ? v : min;
		s->rollup_known = true;
	}
	for (n = 0; n < ROLLUP_PER_CYCLE && s->rollup_next + 3600 <= last;
	     n++) {
		int64_t h = s->rollup_next;

		rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
		if (rc == SQLITE_OK) {
			q = s->q[Q_ROLLUP];
			sqlite3_bind_int64(q, 1, h);
			rc = step_done(q);
		}
		if (rc == SQLITE_OK)
			rc = meta_set(s, "rollup_next", h + 3600);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			rollback(s);
			write_failed(s, "hourly rollup", rc);
			return;
		}
		s->rollup_next = h + 3600;
		write_ok(s);
	}
}

/*
 * Delete what is past retention, RET_ROWS rows per statement (each its
 * own short transaction), RET_STMTS statements per cycle; runs again at
 * once while a statement hit its limit, else after RET_PERIOD_MS.
 */
static void
retention(struct store *s)
{
	struct {
		int q;
		unsigned days;
		int64_t unit; /* the column's unit per second */
	} t[] = {
		{ Q_RET_LM, s->conf.minute_days, 1 },
		{ Q_RET_LH, s->conf.hour_days, 1 },
		{ Q_RET_TOP, s->conf.top_days, 1 },
		{ Q_RET_EV, s->conf.event_days, 1000 },
		{ Q_RET_TOPO, s->conf.event_days, 1000 },
	};
	uint64_t now = now_mono_ms(), deleted = 0;
	int64_t wall = now_s();
	int stmts = 0;
	bool more = false;

	if (now < s->ret_next_ms)
		return;
	for (size_t i = 0; i < nitems(t) && stmts < RET_STMTS; i++) {
		int64_t cut;

		if (t[i].days == 0)
			continue; /* kept forever */
		cut = (wall - (int64_t)t[i].days * DAY_S) * t[i].unit;
		/*
		 * Minutes not rolled up yet stay until they are (and
		 * while it is not known how far that is: none, or an error).
		 */
		if (t[i].q == Q_RET_LM && !s->rollup_known)
			continue;
		if (t[i].q == Q_RET_LM && s->rollup_next < cut)
			cut = s->rollup_next;
		for (; stmts < RET_STMTS; stmts++) {
			sqlite3_stmt *q = s->q[t[i].q];
			int rc, n;

			sqlite3_bind_int64(q, 1, cut);
			sqlite3_bind_int(q, 2, RET_ROWS);
			rc = step_done(q);
			if (rc != SQLITE_OK) {
				write_failed(s, "retention", rc);
				return;
			}
			n = sqlite3_changes(s->db);
			deleted += (uint64_t)n;
			if (n < RET_ROWS)
				break;
			more = true;
		}
		if (stmts >= RET_STMTS)
			more = true;
	}
	if (deleted) {
		pthread_mutex_lock(&s->mu);
		s->st.retention_deleted += deleted;
		pthread_mutex_unlock(&s->mu);
	}
	s->ret_next_ms = more ? 0 : now + RET_PERIOD_MS;
}

/* ---- the thread -------------------------------------------------- */

static void
cycle(struct store *s, struct item *list)
{
	/* Definitions that failed before go first, to keep their order. */
	if (s->retry != NULL) {
		s->retry_tail->next = list;
		list = s->retry;
		s->retry = s->retry_tail = NULL;
		s->n_retry = 0;
	}
	pthread_mutex_lock(&s->dbmu);
	/*
	 * Rollups and retention write too: not after a failure (the disk
	 * is full), but they may be what shows the disk has room again.
	 */
	if (commit_items(s, list) == 0) {
		rollup(s);
		retention(s);
	}
	pthread_mutex_unlock(&s->dbmu);
}

static void
deadline_ts(struct timespec *ts, uint64_t mono_ms)
{
	ts->tv_sec = (time_t)(mono_ms / 1000);
	ts->tv_nsec = (long)(mono_ms % 1000) * 1000000;
}

static void *
store_main(void *arg)
{
	struct store *s = arg;
	uint64_t next = now_mono_ms() + s->conf.batch_ms;

	thread_role("fab-store", THREAD_NICE_BULK);
	pthread_mutex_lock(&s->mu);
	for (;;) {
		struct item *list;
		uint64_t c, now;
		bool stop;

		for (;;) {
			uint64_t wake = next;
			struct timespec ts;

			if (s->stop)
				break;
			now = now_mono_ms();
			if (s->st.degraded) {
				/* Back off, but let a sync or a timer in. */
				if (wake < s->retry_at)
					wake = s->retry_at;
				if (s->kick && s->retry_at < wake)
					wake = s->retry_at;
			} else if (s->kick) {
				break;
			}
			if (now >= wake)
				break;
			deadline_ts(&ts, wake);
			pthread_cond_timedwait(&s->wake, &s->mu, &ts);
		}
		stop = s->stop;
		s->kick = false;
		c = ++s->cycles_started;
		list = s->head;
		s->head = s->tail = NULL;
		pthread_mutex_unlock(&s->mu);

		next = now_mono_ms() + s->conf.batch_ms;
		cycle(s, list);

		pthread_mutex_lock(&s->mu);
		s->cycles_done = c;
		pthread_cond_broadcast(&s->done);
		if (stop && s->head == NULL)
			break;
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* ---- open, close ------------------------------------------------- */

static int
prepare_all(struct store *s, char *err, size_t errlen)
{
	for (int i = 0; i < Q_N; i++) {
		int rc = sqlite3_prepare_v3(s->db, sqls[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &s->q[i], NULL);

		if (rc != SQLITE_OK) {
			seterr(err, errlen, "prepare %d: %s", i,
			    sqlite3_errmsg(s->db));
			return -1;
		}
	}
	return 0;
}

static void
store_free(struct store *s)
{
	struct item *it, *next;

	for (int i = 0; i < Q_N; i++)
		sqlite3_finalize(s->q[i]);
	if (s->db != NULL && sqlite3_close(s->db) != SQLITE_OK)
		log_warnx("store", "close: %s", sqlite3_errmsg(s->db));
	for (it = s->head; it != NULL; it = next) {
		next = it->next;
		item_free(it);
	}
	for (it = s->retry; it != NULL; it = next) {
		next = it->next;
		item_free(it);
	}
	pthread_cond_destroy(&s->wake);
	pthread_cond_destroy(&s->done);
	pthread_mutex_destroy(&s->mu);
	pthread_mutex_destroy(&s->dbmu);
	free(s->path);
	free(s);
}

struct store *
store_open(const struct store_conf *c, char *err, size_t errlen)
{
	struct store *s;
	pthread_condattr_t ca;
	struct log_ratelimit rl = LOG_RATELIMIT_INIT(10000, 5);
	int rc;

	if (c == NULL || c->path == NULL || c->path[0] == '\0') {
		seterr(err, errlen, "store: no database path");
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	s->conf = *c;
	s->path = xstrdup(c->path);
	s->conf.path = s->path;
	if (s->conf.batch_ms == 0)
		s->conf.batch_ms = 1000;
	if (s->conf.queue_max == 0)
		s->conf.queue_max = 100000;
	s->rl_queue = rl;
	s->rl_row = rl;
	pthread_mutex_init(&s->mu, NULL);
	pthread_mutex_init(&s->dbmu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->wake, &ca);
	pthread_cond_init(&s->done, &ca);
	pthread_condattr_destroy(&ca);

	s->db = db_open(
	    s->path, s->st.moved_aside, sizeof(s->st.moved_aside), err, errlen);
	if (s->db == NULL)
		goto fail;
	if (db_pragmas(s->db, err, errlen) != 0 ||
	    migrate(s->db, SCHEMA_LATEST, err, errlen) != 0 ||
	    prepare_all(s, err, errlen) != 0)
		goto fail;
	/* The readers choose the hourly table past minute retention. */
	if (meta_set(s, "minute_days", s->conf.minute_days) != SQLITE_OK) {
		seterr(err, errlen, "%s: %s", s->path, sqlite3_errmsg(s->db));
		goto fail;
	}
	/*
	 * Events still open were left by a daemon that stopped without
	 * ending them (a crash, kill -9, power): nothing will ever end them
	 * now, so they end at their last update, when they were last known
	 * to hold. This run's events all start after this.
	 */
	if (sqlite3_exec(s->db,
	        "UPDATE events SET end_ms = max(updated, start_ms)"
	        " WHERE end_ms IS NULL",
	        NULL, NULL, NULL) != SQLITE_OK) {
		seterr(err, errlen, "%s: %s", s->path, sqlite3_errmsg(s->db));
		goto fail;
	}
	if (sqlite3_changes(s->db) > 0)
		log_info("store", "%d events left open by the last run ended",
		    sqlite3_changes(s->db));
	s->st.schema_version = SCHEMA_LATEST;
	rc = pthread_create(&s->thread, NULL, store_main, s);
	if (rc != 0) {
		seterr(err, errlen, "store thread: %s", strerror(rc));
		goto fail;
	}
	log_info("store", "%s: schema version %d", s->path, SCHEMA_LATEST);
	return s;
fail:
	store_free(s);
	return NULL;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	if (s->n_retry)
		log_warnx("store", "closing: %zu definitions not written: %s",
		    s->n_retry, s->st.last_error);
	store_free(s);
}

/* ---- producers --------------------------------------------------- */

/* The backlog at which the thread commits at once, not at its timer. */
static size_t
kick_rows(const struct store *s)
{
	size_t half = s->conf.queue_max / 2;

	return half < BATCH_ROWS ? (half ? half : 1) : BATCH_ROWS;
}

/* Count rows that did not fit (under mu). */
static void
queue_full(struct store *s, size_t n)
{
	s->st.dropped_queue += n;
	log_warnx_rl(&s->rl_queue, "store",
	    "queue full (%zu items): %zu dropped", s->conf.queue_max, n);
}

/*
 * Append an item; what does not fit under queue_max is dropped and
 * counted: the tail of an array, or the whole of a single item.
 */
static void
enqueue(struct store *s, struct item *it)
{
	pthread_mutex_lock(&s->mu);
	if (s->st.queued + it->n > s->conf.queue_max) {
		size_t fit = s->st.queued < s->conf.queue_max
		    ? (size_t)(s->conf.queue_max - s->st.queued)
		    : 0;

		if (it->kind != IT_LINKS && it->kind != IT_TOP)
			fit = 0;
		queue_full(s, it->n - fit);
		it->n = fit;
		if (fit == 0) {
			pthread_mutex_unlock(&s->mu);
			item_free(it);
			return;
		}
	}
	s->st.queued += it->n;
	if (s->tail)
		s->tail->next = it;
	else
		s->head = it;
	s->tail = it;
	if (s->st.queued >= kick_rows(s) && !s->kick) {
		s->kick = true;
		pthread_cond_signal(&s->wake);
	}
	pthread_mutex_unlock(&s->mu);
}

static struct item *
item_new(enum item_kind k, size_t n)
{
	struct item *it = xcalloc(1, sizeof(*it));

	it->kind = k;
	it->n = n;
	return it;
}

/*
 * How many of n rows fit now; the rest are counted as dropped at once,
 * so that a flood does not copy what would be dropped anyway.
 */
static size_t
room(struct store *s, size_t n)
{
	size_t r;

	pthread_mutex_lock(&s->mu);
	r = s->st.queued < s->conf.queue_max
	    ? (size_t)(s->conf.queue_max - s->st.queued)
	    : 0;
	if (r < n)
		queue_full(s, n - r);
	pthread_mutex_unlock(&s->mu);
	return n < r ? n : r;
}

void
store_link_minutes(struct store *s, const struct store_link_minute *m, size_t n)
{
	struct item *it;

	if (s == NULL || m == NULL || (n = room(s, n)) == 0)
		return;
	it = item_new(IT_LINKS, n);
	it->u.links = xmalloc(n * sizeof(*m));
	memcpy(it->u.links, m, n * sizeof(*m));
	enqueue(s, it);
}

void
store_top_flows(struct store *s, const struct store_top *t, size_t n)
{
	struct item *it;

	if (s == NULL || t == NULL || (n = room(s, n)) == 0)
		return;
	it = item_new(IT_TOP, n);
	it->u.top = xmalloc(n * sizeof(*t));
	memcpy(it->u.top, t, n * sizeof(*t));
	enqueue(s, it);
}

void
store_event(struct store *s, const struct store_event *e)
{
	struct item *it;

	if (s == NULL || e == NULL)
		return;
	it = item_new(IT_EVENT, 1);
	it->u.ev = xmalloc(sizeof(*e));
	memcpy(it->u.ev, e, sizeof(*e));
	enqueue(s, it);
}

void
store_put_def(struct store *s, enum store_def_kind kind, const char *name,
    const char *json)
{
	struct item *it;

	if (s == NULL || name == NULL || def_kind_name(kind) == NULL)
		return;
	it = item_new(IT_DEF, 1);
	it->u.def.kind = kind;
	it->u.def.name = xstrdup(name);
	it->u.def.json = json ? xstrdup(json) : NULL;
	enqueue(s, it);
}

void
store_topology(struct store *s, uint64_t version, const char *graph_json)
{
	struct item *it;

	if (s == NULL || graph_json == NULL)
		return;
	it = item_new(IT_TOPO, 1);
	it->u.topo.version = version;
	it->u.topo.json = xstrdup(graph_json);
	enqueue(s, it);
}

void
store_sync(struct store *s)
{
	uint64_t c;

	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	/* The next cycle to start takes everything queued so far. */
	c = s->cycles_started;
	s->kick = true;
	pthread_cond_signal(&s->wake);
	while (s->cycles_done <= c)
		pthread_cond_wait(&s->done, &s->mu);
	pthread_mutex_unlock(&s->mu);
}

void
store_get_stats(struct store *s, struct store_stats *out)
{
	char wal[PATH_MAX + 8];
	struct stat sb;
	uint64_t bytes = 0;

	if (s == NULL) {
		memset(out, 0, sizeof(*out));
		return;
	}
	pthread_mutex_lock(&s->mu);
	*out = s->st;
	pthread_mutex_unlock(&s->mu);
	if (stat(s->path, &sb) == 0)
		bytes += (uint64_t)sb.st_size;
	snprintf(wal, sizeof(wal), "%s-wal", s->path);
	if (stat(wal, &sb) == 0)
		bytes += (uint64_t)sb.st_size;
	out->db_bytes = bytes;
}

/* ---- loading at start -------------------------------------------- */

int
store_load_defs(struct store *s, enum store_def_kind kind,
    void (*cb)(void *arg, const char *name, const char *json), void *arg)
{
	const char *k = def_kind_name(kind);
	sqlite3_stmt *q = NULL;
	int n = 0, rc;

	if (s == NULL || k == NULL)
		return -1;
	pthread_mutex_lock(&s->dbmu);
	rc = sqlite3_prepare_v2(s->db,
	    "SELECT name, json FROM defs WHERE kind = ?1 ORDER BY name", -1, &q,
	    NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(q, 1, k, -1, SQLITE_STATIC);
		while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
			cb(arg, (const char *)sqlite3_column_text(q, 0),
			    (const char *)sqlite3_column_text(q, 1));
			n++;
		}
	}
	if (rc != SQLITE_DONE) {
		log_warnx("store", "loading %s definitions: %s", k,
		    sqlite3_errmsg(s->db));
		n = -1;
	}
	sqlite3_finalize(q);
	pthread_mutex_unlock(&s->dbmu);
	return n;
}

char *
store_load_topology(struct store *s, uint64_t *version)
{
	sqlite3_stmt *q = NULL;
	char *json = NULL;
	int rc;

	if (s == NULL)
		return NULL;
	pthread_mutex_lock(&s->dbmu);
	rc = sqlite3_prepare_v2(s->db,
	    "SELECT version, json FROM topology_versions"
	    " ORDER BY id DESC LIMIT 1",
	    -1, &q, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (version)
			*version = (uint64_t)sqlite3_column_int64(q, 0);
		json = xstrdup((const char *)sqlite3_column_text(q, 1));
	} else if (rc != SQLITE_DONE) {
		log_warnx(
		    "store", "loading the topology: %s", sqlite3_errmsg(s->db));
	}
	sqlite3_finalize(q);
	pthread_mutex_unlock(&s->dbmu);
	return json;
}

/* ---- readers ----------------------------------------------------- */

struct store_reader {
	pthread_mutex_t mu; /* one query at a time per connection */
	sqlite3 *db;
};

struct store_reader *
store_reader_open(const char *path, char *err, size_t errlen)
{
	struct store_reader *r;
	sqlite3 *db = NULL;
	int rc;

	rc = sqlite3_open_v2(
	    path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		seterr(err, errlen, "%s: %s", path,
		    db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, READER_BUSY_MS);
	r = xcalloc(1, sizeof(*r));
	pthread_mutex_init(&r->mu, NULL);
	r->db = db;
	return r;
}

void
store_reader_close(struct store_reader *r)
{
	if (r == NULL)
		return;
	sqlite3_close(r->db);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

static sqlite3_stmt *
rprepare(struct store_reader *r, const char *sql, char *err, size_t errlen)
{
	sqlite3_stmt *q = NULL;

	if (sqlite3_prepare_v2(r->db, sql, -1, &q, NULL) != SQLITE_OK) {
		seterr(err, errlen, "query: %s", sqlite3_errmsg(r->db));
		return NULL;
	}
	return q;
}

static json_t *
jtext(sqlite3_stmt *q, int col)
{
	const char *t = (const char *)sqlite3_column_text(q, col);

	return t ? json_string(t) : json_null();
}

static json_t *
endpoint(sqlite3_stmt *q, int col)
{
	return json_pack(
	    "{s:o,s:o}", "node", jtext(q, col), "port", jtext(q, col + 1));
}

json_t *
store_q_link_history(struct store_reader *r, const char *link, int64_t from,
    int64_t to, int64_t step, char *err, size_t errlen)
{
	sqlite3_stmt *q = NULL;
	json_t *o = NULL, *dirs[2] = { NULL, NULL }, *pts[2];
	int64_t id, minute_days = 7, gran, start, end, npoints;
	bool hour;
	int rc;

	if (r == NULL || link == NULL) {
		seterr(err, errlen, "no link");
		return NULL;
	}
	if (from < 0 || from >= to || to > TIME_MAX) {
		seterr(err, errlen,
		    "bad range: from (%lld) must be >= 0 and before to (%lld), "
		    "to at most %lld",
		    (long long)from, (long long)to, (long long)TIME_MAX);
		return NULL;
	}
	if (step <= 0) {
		seterr(err, errlen, "bad step: %lld (must be > 0 seconds)",
		    (long long)step);
		return NULL;
	}
	pthread_mutex_lock(&r->mu);
	q = rprepare(
	    r, "SELECT value FROM meta WHERE key = 'minute_days'", err, errlen);
	if (q == NULL)
		goto out;
	if (sqlite3_step(q) == SQLITE_ROW)
		minute_days = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	hour = step >= 3600 ||
	    (minute_days > 0 && from < now_s() - minute_days * DAY_S);
	gran = hour ? 3600 : 60;
	if (step > INT64_MAX / 2)
		step = INT64_MAX / 2;
	step = (step + gran - 1) / gran * gran;
	start = floor_div(from, step) * step;
	end = floor_div(to + step - 1, step) * step;
	npoints = (end - start) / step;
	if (npoints > POINTS_MAX) {
		seterr(err, errlen,
		    "too many points: %lld (at most %d; use a larger step)",
		    (long long)npoints, POINTS_MAX);
		q = NULL;
		goto out;
	}

	q = rprepare(r,
	    "SELECT id, node1, port1, node2, port2 FROM links WHERE name = ?1",
	    err, errlen);
	if (q == NULL)
		goto out;
	sqlite3_bind_text(q, 1, link, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc != SQLITE_ROW) {
		if (rc == SQLITE_DONE)
			seterr(err, errlen, "not found: link %s", link);
		else
			seterr(err, errlen, "query: %s", sqlite3_errmsg(r->db));
		goto out;
	}
	id = sqlite3_column_int64(q, 0);
	o = json_pack("{s:s,s:I,s:I,s:I,s:s}", "link", link, "from",
	    (json_int_t)start, "to", (json_int_t)end, "step", (json_int_t)step,
	    "table", hour ? "hour" : "minute");
	for (int d = 0; d < 2; d++) {
		pts[d] = json_array();
		dirs[d] = json_pack("{s:i,s:o,s:o,s:o}", "dir", d, "from",
		    endpoint(q, d == 0 ? 1 : 3), "to",
		    endpoint(q, d == 0 ? 3 : 1), "points", pts[d]);
	}
	sqlite3_finalize(q);

	q = rprepare(r,
	    hour ? "SELECT dir, (hour - ?2) / ?4, sum(bytes), sum(packets),"
	           " max(util_max), sum(discards), sum(errors), min(source),"
	           " max(source) FROM link_hour WHERE link_id = ?1"
	           " AND hour >= ?2 AND hour < ?3 GROUP BY 1, 2 ORDER BY 1, 2"
	         : "SELECT dir, (minute - ?2) / ?4, sum(bytes), sum(packets),"
	           " max(util_max), sum(discards), sum(errors), min(source),"
	           " max(source) FROM link_minute WHERE link_id = ?1"
	           " AND minute >= ?2 AND minute < ?3 GROUP BY 1, 2"
	           " ORDER BY 1, 2",
	    err, errlen);
	if (q == NULL)
		goto fail;
	sqlite3_bind_int64(q, 1, id);
	sqlite3_bind_int64(q, 2, start);
	sqlite3_bind_int64(q, 3, end);
	sqlite3_bind_int64(q, 4, step);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		int d = sqlite3_column_int(q, 0);
		int64_t b = sqlite3_column_int64(q, 1);
		const char *smin = (const char *)sqlite3_column_text(q, 7);
		char src[32];

		if (d < 0 || d > 1)
			continue;
		snprintf(src, sizeof(src), "%s", smin ? smin : "");
		if (smin == NULL ||
		    strcmp(src, (const char *)sqlite3_column_text(q, 8)) != 0)
			snprintf(src, sizeof(src), "mixed");
		json_array_append_new(pts[d],
		    json_pack("{s:I,s:f,s:f,s:f,s:f,s:f,s:s}", "t",
		        (json_int_t)(start + b * step), "bps",
		        sqlite3_column_double(q, 2) * 8 / (double)step, "pps",
		        sqlite3_column_double(q, 3) / (double)step, "utilMax",
		        sqlite3_column_double(q, 4), "discards",
		        sqlite3_column_double(q, 5), "errors",
		        sqlite3_column_double(q, 6), "source", src));
	}
	if (rc != SQLITE_DONE) {
		seterr(err, errlen, "query: %s", sqlite3_errmsg(r->db));
		goto fail;
	}
	json_object_set_new(
	    o, "directions", json_pack("[o,o]", dirs[0], dirs[1]));
	dirs[0] = dirs[1] = NULL;
	goto out;
fail:
	json_decref(o);
	o = NULL;
out:
	json_decref(dirs[0]);
	json_decref(dirs[1]);
	sqlite3_finalize(q);
	pthread_mutex_unlock(&r->mu);
	return o;
}

json_t *
store_q_top(struct store_reader *r, const char *scope, int64_t from, int64_t to,
    size_t max, char *err, size_t errlen)
{
	sqlite3_stmt *q;
	json_t *o = NULL, *flows;
	int rc;

	if (r == NULL || scope == NULL || scope[0] == '\0') {
		seterr(err, errlen, "no scope (a link name, or edge)");
		return NULL;
	}
	if (from >= to) {
		seterr(err, errlen,
		    "bad range: from (%lld) must be before to "
		    "(%lld)",
		    (long long)from, (long long)to);
		return NULL;
	}
	if (max == 0 || max > ROWS_MAX)
		max = max == 0 ? 100 : ROWS_MAX;
	pthread_mutex_lock(&r->mu);
	q = rprepare(r,
	    "SELECT flow, keys, sum(bytes) AS b, sum(frames),"
	    " count(DISTINCT minute) FROM top_minute"
	    " WHERE scope = ?1 AND minute >= ?2 AND minute < ?3"
	    " GROUP BY flow, keys ORDER BY b DESC, flow LIMIT ?4",
	    err, errlen);
	if (q == NULL)
		goto out;
	sqlite3_bind_text(q, 1, scope, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, from);
	sqlite3_bind_int64(q, 3, to);
	sqlite3_bind_int64(q, 4, (int64_t)max);
	flows = json_array();
	while ((rc = sqlite3_step(q)) == SQLITE_ROW)
		json_array_append_new(flows,
		    json_pack("{s:o,s:o,s:f,s:f,s:f,s:I}", "flow", jtext(q, 0),
		        "keys", jtext(q, 1), "bytes",
		        sqlite3_column_double(q, 2), "frames",
		        sqlite3_column_double(q, 3), "bps",
		        sqlite3_column_double(q, 2) * 8 / (double)(to - from),
		        "minutes", (json_int_t)sqlite3_column_int64(q, 4)));
	if (rc != SQLITE_DONE) {
		seterr(err, errlen, "query: %s", sqlite3_errmsg(r->db));
		json_decref(flows);
		goto out;
	}
	o = json_pack("{s:s,s:I,s:I,s:o}", "scope", scope, "from",
	    (json_int_t)from, "to", (json_int_t)to, "flows", flows);
out:
	sqlite3_finalize(q);
	pthread_mutex_unlock(&r->mu);
	return o;
}

json_t *
store_q_defs(
    struct store_reader *r, enum store_def_kind kind, char *err, size_t errlen)
{
	const char *k = def_kind_name(kind);
	sqlite3_stmt *q;
	json_t *o = NULL;
	int rc;

	if (r == NULL || k == NULL) {
		seterr(err, errlen, "no reader or no such kind");
		return NULL;
	}
	pthread_mutex_lock(&r->mu);
	q = rprepare(r,
	    "SELECT name, json FROM defs WHERE kind = ?1 ORDER BY name", err,
	    errlen);
	if (q == NULL)
		goto out;
	sqlite3_bind_text(q, 1, k, -1, SQLITE_STATIC);
	o = json_array();
	while ((rc = sqlite3_step(q)) == SQLITE_ROW)
		json_array_append_new(o,
		    json_pack(
		        "{s:o,s:o}", "name", jtext(q, 0), "json", jtext(q, 1)));
	if (rc != SQLITE_DONE) {
		seterr(err, errlen, "%s", sqlite3_errmsg(r->db));
		json_decref(o);
		o = NULL;
	}
out:
	sqlite3_finalize(q);
	pthread_mutex_unlock(&r->mu);
	return o;
}

json_t *
store_q_events(struct store_reader *r, int64_t from, int64_t to,
    const char *type, size_t max, char *err, size_t errlen)
{
	sqlite3_stmt *q;
	json_t *o = NULL, *evs;
	int rc;

	if (r == NULL) {
		seterr(err, errlen, "no reader");
		return NULL;
	}
	if (from >= to) {
		seterr(err, errlen,
		    "bad range: from (%lld) must be before to "
		    "(%lld)",
		    (long long)from, (long long)to);
		return NULL;
	}
	if (max == 0 || max > ROWS_MAX)
		max = max == 0 ? 1000 : ROWS_MAX;
	if (type != NULL && type[0] == '\0')
		type = NULL;
	pthread_mutex_lock(&r->mu);
	q = rprepare(r,
	    "SELECT id, type, ref, start_ms, end_ms, node, link, reason,"
	    " value, detail FROM events"
	    " WHERE start_ms < ?2 AND (end_ms IS NULL OR end_ms >= ?1)"
	    " AND (?3 IS NULL OR type = ?3)"
	    " ORDER BY start_ms DESC, id DESC LIMIT ?4",
	    err, errlen);
	if (q == NULL)
		goto out;
	sqlite3_bind_int64(q, 1, from);
	sqlite3_bind_int64(q, 2, to);
	if (type)
		sqlite3_bind_text(q, 3, type, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, (int64_t)max);
	evs = json_array();
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *d = (const char *)sqlite3_column_text(q, 9);
		json_t *detail = d ? json_loads(d, 0, NULL) : NULL;

		if (!json_is_object(detail)) {
			json_decref(detail);
			detail = json_object();
		}
		json_array_append_new(evs,
		    json_pack("{s:I,s:o,s:o,s:I,s:o,s:o,s:o,s:o,s:f,s:o}", "id",
		        (json_int_t)sqlite3_column_int64(q, 0), "type",
		        jtext(q, 1), "ref", jtext(q, 2), "start",
		        (json_int_t)sqlite3_column_int64(q, 3), "end",
		        sqlite3_column_type(q, 4) == SQLITE_NULL
		            ? json_null()
		            : json_integer(sqlite3_column_int64(q, 4)),
		        "node", jtext(q, 5), "link", jtext(q, 6), "reason",
		        jtext(q, 7), "value", sqlite3_column_double(q, 8),
		        "detail", detail));
	}
	if (rc != SQLITE_DONE) {
		seterr(err, errlen, "query: %s", sqlite3_errmsg(r->db));
		json_decref(evs);
		goto out;
	}
	o = json_pack("{s:o}", "events", evs);
out:
	sqlite3_finalize(q);
	pthread_mutex_unlock(&r->mu);
	return o;
}
