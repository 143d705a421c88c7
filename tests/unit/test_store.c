/*
 * test_store.c: the SQLite store (daemon/store.c) in temporary
 * directories: migrations from an empty file and from every earlier
 * schema version with data surviving, hourly rollups against
 * hand-computed sums (and a late minute rolled again), retention at its
 * exact limits, definitions, event upserts, topology rows, the readers'
 * JSON (history buckets, top sums, event filters), a corrupt file moved
 * aside byte for byte, and the queue bound.
 */
#include <ftw.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"
#include "t.h"
#include "util.h"

#define DAY 86400

static char tmpdir[64];
static char path[128];

static int
rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	return remove(p);
}

/* A fresh temporary directory; path is its fabmon.db. */
static void
fresh(void)
{
	if (tmpdir[0])
		nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/fabmon-store-XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/fabmon.db", tmpdir);
}

static void
cleanup(void)
{
	if (tmpdir[0])
		nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	tmpdir[0] = '\0';
}

static struct store_conf
conf(void)
{
	struct store_conf c = { .path = path,
		.minute_days = 7,
		.hour_days = 90,
		.top_days = 7,
		.event_days = 30,
		.batch_ms = 50,
		.queue_max = 100000 };

	return c;
}

static struct store *
open_conf(const struct store_conf *c)
{
	char err[256] = "";
	struct store *s = store_open(c, err, sizeof(err));

	if (s == NULL)
		T_FAIL("store_open: %s", err);
	return s;
}

static struct store *
open_default(void)
{
	struct store_conf c = conf();

	return open_conf(&c);
}

static int64_t
now_sec(void)
{
	return (int64_t)(now_wall_ms() / 1000);
}

static int64_t
floor_to(int64_t t, int64_t m)
{
	return t / m * m;
}

static int64_t
ceil_to(int64_t t, int64_t m)
{
	return (t + m - 1) / m * m;
}

/* ---- raw SQL on the file (what an operator's sqlite3 sees) ------- */

static sqlite3 *
raw(void)
{
	sqlite3 *db = NULL;

	if (sqlite3_open(path, &db) != SQLITE_OK)
		T_FAIL("sqlite3_open %s", path);
	sqlite3_busy_timeout(db, 2000);
	return db;
}

/*
 * Run sql with n int64 parameters; returns the first column of the
 * first row as an integer, or -1 if there is no row. Errors fail.
 */
static int64_t
sq(sqlite3 *db, const char *sql, int n, ...)
{
	sqlite3_stmt *q = NULL;
	va_list ap;
	int64_t v = -1;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK) {
		T_FAIL("prepare %s: %s", sql, sqlite3_errmsg(db));
		return -1;
	}
	va_start(ap, n);
	for (int i = 1; i <= n; i++)
		sqlite3_bind_int64(q, i, va_arg(ap, int64_t));
	va_end(ap);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW)
		if (v == -1)
			v = sqlite3_column_int64(q, 0);
	if (rc != SQLITE_DONE)
		T_FAIL("%s: %s", sql, sqlite3_errmsg(db));
	sqlite3_finalize(q);
	return v;
}

/* The same, for a real first column. */
static double
sqd(sqlite3 *db, const char *sql, int n, ...)
{
	sqlite3_stmt *q = NULL;
	va_list ap;
	double v = NAN;

	if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK) {
		T_FAIL("prepare %s: %s", sql, sqlite3_errmsg(db));
		return NAN;
	}
	va_start(ap, n);
	for (int i = 1; i <= n; i++)
		sqlite3_bind_int64(q, i, va_arg(ap, int64_t));
	va_end(ap);
	if (sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_double(q, 0);
	sqlite3_finalize(q);
	return v;
}

/* The first column of the first row as text (static buffer). */
static const char *
sqs(sqlite3 *db, const char *sql)
{
	static char buf[512];
	sqlite3_stmt *q = NULL;
	const char *t;

	buf[0] = '\0';
	if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK) {
		T_FAIL("prepare %s: %s", sql, sqlite3_errmsg(db));
		return buf;
	}
	if (sqlite3_step(q) == SQLITE_ROW &&
	    (t = (const char *)sqlite3_column_text(q, 0)) != NULL)
		snprintf(buf, sizeof(buf), "%s", t);
	sqlite3_finalize(q);
	return buf;
}

#define I64(x) ((int64_t)(x))

static int
feq(double a, double b)
{
	return fabs(a - b) <= 1e-9 * (fabs(a) + fabs(b) + 1);
}

#define T_FEQ(a, b)                                                            \
	do {                                                                   \
		double t_fa_ = (a), t_fb_ = (b);                               \
		if (!feq(t_fa_, t_fb_))                                        \
			T_FAIL("%s == %.9g, expected %.9g", #a, t_fa_, t_fb_); \
	} while (0)

/* ---- building rows ------------------------------------------------ */

static struct store_link_minute
lm(const char *link, int64_t minute, int dir, double bytes)
{
	struct store_link_minute m;

	memset(&m, 0, sizeof(m));
	m.minute = minute;
	snprintf(m.link, sizeof(m.link), "%s", link);
	snprintf(m.node1, sizeof(m.node1), "leaf1");
	snprintf(m.port1, sizeof(m.port1), "swp1");
	snprintf(m.node2, sizeof(m.node2), "spine1");
	snprintf(m.port2, sizeof(m.port2), "swp9");
	m.dir = (uint8_t)dir;
	m.bytes = bytes;
	m.packets = bytes / 100;
	m.speed_bps = 1e9;
	snprintf(m.source, sizeof(m.source), "sflow");
	return m;
}

static struct store_top
top(const char *scope, int64_t minute, int rank, const char *flow, double bytes)
{
	struct store_top t;

	memset(&t, 0, sizeof(t));
	t.minute = minute;
	snprintf(t.scope, sizeof(t.scope), "%s", scope);
	t.rank = (uint16_t)rank;
	snprintf(t.keys, sizeof(t.keys), "ipsource,ipdestination");
	snprintf(t.flow, sizeof(t.flow), "%s", flow);
	t.bytes = bytes;
	t.frames = bytes / 1000;
	return t;
}

static struct store_event
ev(const char *type, const char *ref, int64_t start, int64_t end)
{
	struct store_event e;

	memset(&e, 0, sizeof(e));
	snprintf(e.type, sizeof(e.type), "%s", type);
	snprintf(e.ref, sizeof(e.ref), "%s", ref);
	e.start_ms = start;
	e.end_ms = end;
	snprintf(e.node, sizeof(e.node), "leaf1");
	snprintf(e.reason, sizeof(e.reason), "over");
	e.value = 42.5;
	snprintf(e.detail, sizeof(e.detail), "{\"a\":1}");
	return e;
}

struct defs_seen {
	int n;
	char names[8][64];
	char json[8][256];
};

static void
def_cb(void *arg, const char *name, const char *json)
{
	struct defs_seen *d = arg;

	if (d->n < 8) {
		snprintf(d->names[d->n], sizeof(d->names[0]), "%s", name);
		snprintf(d->json[d->n], sizeof(d->json[0]), "%s", json);
	}
	d->n++;
}

static struct store_reader *
reader(void)
{
	char err[256] = "";
	struct store_reader *r = store_reader_open(path, err, sizeof(err));

	if (r == NULL)
		T_FAIL("store_reader_open: %s", err);
	return r;
}

/* ---- tests -------------------------------------------------------- */

static void
test_fresh(void)
{
	struct store *s;
	struct store_stats st;
	sqlite3 *db;

	fresh();
	s = open_default();
	if (s == NULL)
		return;
	store_get_stats(s, &st);
	T_EQ(st.schema_version, STORE_SCHEMA_VERSION);
	T_STREQ(st.moved_aside, "");
	T_OK(!st.degraded);
	T_OK(st.db_bytes > 0);
	db = raw();
	T_EQ(sq(db, "PRAGMA user_version", 0), STORE_SCHEMA_VERSION);
	T_STREQ(sqs(db, "PRAGMA journal_mode"), "wal");
	T_EQ(sq(db,
	         "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND"
	         " name IN ('nodes', 'ports', 'links', 'topology_versions',"
	         " 'defs', 'link_minute', 'link_hour', 'top_minute', 'events',"
	         " 'traces', 'meta')",
	         0),
	    11);
	T_EQ(sq(db,
	         "SELECT count(*) FROM sqlite_master WHERE type = 'view' AND"
	         " name IN ('v_link_minute', 'v_link_hour',"
	         " 'v_busiest_links_last_hour', 'v_top_flows_last_hour',"
	         " 'v_events', 'v_open_events', 'v_topology')",
	         0),
	    7);
	/* Every view runs on an empty database. */
	T_EQ(sq(db,
	         "SELECT (SELECT count(*) FROM v_link_minute) +"
	         " (SELECT count(*) FROM v_link_hour) +"
	         " (SELECT count(*) FROM v_busiest_links_last_hour) +"
	         " (SELECT count(*) FROM v_top_flows_last_hour) +"
	         " (SELECT count(*) FROM v_events) +"
	         " (SELECT count(*) FROM v_open_events) +"
	         " (SELECT count(*) FROM v_topology)",
	         0),
	    0);
	sqlite3_close(db);
	store_close(s);
	/* Opening again is a no-op migration. */
	s = open_default();
	store_close(s);
	cleanup();
}

/*
 * A database left at version k by an older fabmond, with data in the
 * tables that version had, opens, migrates to the latest, and keeps it.
 */
static void
test_migrate_each_version(void)
{
	int64_t h = floor_to(now_sec(), 3600) - 3 * 3600;

	for (int k = 0; k < STORE_SCHEMA_VERSION; k++) {
		struct defs_seen d = { 0 };
		struct store_reader *r;
		struct store *s;
		json_t *o;
		sqlite3 *db;
		char err[256] = "";

		fresh();
		if (k == 0) {
			/* An empty file is an empty database. */
			FILE *f = fopen(path, "w");

			if (f)
				fclose(f);
		}
		T_EQ(store_test_migrate(path, k), 0);
		db = raw();
		T_EQ(sq(db, "PRAGMA user_version", 0), k);
		if (k >= 1) {
			sq(db,
			    "INSERT INTO links (id, name, node1, port1, node2,"
			    " port2, first_seen, updated) VALUES (7, 'L1',"
			    " 'leaf1', 'swp1', 'spine1', 'swp9', 0, 0)",
			    0);
			sq(db,
			    "INSERT INTO link_minute VALUES (7, ?1, 0, 6000, "
			    "60,"
			    " 1, 0, 12.5, 1e9, 'snmp')",
			    1, h + 60);
			sq(db,
			    "INSERT INTO defs VALUES ('flow', 'f1',"
			    " '{\"keys\":\"ipsource\"}', 0)",
			    0);
		}
		sqlite3_close(db);

		s = open_default();
		if (s == NULL)
			continue;
		store_sync(s);
		db = raw();
		T_EQ(sq(db, "PRAGMA user_version", 0), STORE_SCHEMA_VERSION);
		T_EQ(store_load_defs(s, STORE_FLOWDEF, def_cb, &d), k ? 1 : 0);
		if (k >= 1) {
			T_STREQ(d.json[0], "{\"keys\":\"ipsource\"}");
			/* The minute survived and was rolled up. */
			T_EQ(sq(db, "SELECT count(*) FROM link_minute", 0), 1);
			T_FEQ(
			    sqd(db,
			        "SELECT bytes FROM link_hour WHERE link_id = 7"
			        " AND hour = ?1",
			        1, h),
			    6000);
			r = reader();
			o = store_q_link_history(
			    r, "L1", h, h + 3600, 60, err, sizeof(err));
			T_OK(o != NULL);
			T_EQ(json_array_size(json_object_get(
			         json_array_get(
			             json_object_get(o, "directions"), 0),
			         "points")),
			    1);
			json_decref(o);
			store_reader_close(r);
		}
		sqlite3_close(db);
		store_close(s);
	}
	/* A database newer than this build is refused, not touched. */
	fresh();
	T_EQ(store_test_migrate(path, STORE_SCHEMA_VERSION), 0);
	{
		sqlite3 *db = raw();
		char err[256] = "";
		struct store_conf c = conf();

		sq(db, "PRAGMA user_version = 99", 0);
		sqlite3_close(db);
		T_OK(store_open(&c, err, sizeof(err)) == NULL);
		T_OK(strstr(err, "newer") != NULL);
		T_OK(access(path, F_OK) == 0);
	}
	T_EQ(store_test_migrate(path, STORE_SCHEMA_VERSION + 1), -1);
	cleanup();
}

static void
test_rollup(void)
{
	int64_t h = floor_to(now_sec(), 3600) - 3 * 3600;
	struct store_link_minute m[64];
	struct store_reader *r;
	struct store *s;
	sqlite3 *db;
	json_t *o, *pts;
	char err[256] = "";
	size_t n = 0;
	double want = 0;

	fresh();
	s = open_default();
	if (s == NULL)
		return;
	/* dir 0: minute i carries 1000*i bytes, i packets, util i % 7. */
	for (int i = 0; i < 60; i++) {
		m[n] = lm("L", h + 60 * i, 0, 1000.0 * i);
		m[n].packets = i;
		m[n].util_max = i % 7;
		m[n].discards = i % 2;
		m[n].errors = i == 59 ? 3 : 0;
		want += 1000.0 * i;
		n++;
	}
	/* dir 1: two minutes from two sources; one in the next hour. */
	m[n] = lm("L", h + 120, 1, 500);
	m[n++].util_max = 2.5;
	m[n] = lm("L", h + 180, 1, 700);
	snprintf(m[n++].source, sizeof(m[0].source), "snmp");
	m[n++] = lm("L", h + 3600 + 60, 1, 900);
	store_link_minutes(s, m, n);
	store_sync(s);

	db = raw();
	T_FEQ(want, 1770000);
	T_FEQ(sqd(db,
	          "SELECT bytes FROM link_hour h JOIN links l ON"
	          " l.id = h.link_id WHERE l.name = 'L' AND hour = ?1"
	          " AND dir = 0",
	          1, h),
	    1770000);
	T_FEQ(
	    sqd(db, "SELECT packets FROM link_hour WHERE hour = ?1 AND dir = 0",
	        1, h),
	    1770);
	T_FEQ(sqd(db,
	          "SELECT util_max FROM link_hour WHERE hour = ?1 AND dir = 0",
	          1, h),
	    6);
	T_FEQ(sqd(db,
	          "SELECT discards FROM link_hour WHERE hour = ?1 AND dir = 0",
	          1, h),
	    30);
	T_FEQ(
	    sqd(db, "SELECT errors FROM link_hour WHERE hour = ?1 AND dir = 0",
	        1, h),
	    3);
	T_EQ(sq(db, "SELECT minutes FROM link_hour WHERE hour = ?1 AND dir = 0",
	         1, h),
	    60);
	T_FEQ(sqd(db, "SELECT bytes FROM link_hour WHERE hour = ?1 AND dir = 1",
	          1, h),
	    1200);
	T_FEQ(sqd(db,
	          "SELECT util_max FROM link_hour WHERE hour = ?1 AND dir = 1",
	          1, h),
	    2.5);
	T_EQ(sq(db,
	         "SELECT count(*) FROM link_hour WHERE hour = ?1 AND dir = 1"
	         " AND source = 'mixed'",
	         1, h),
	    1);
	T_FEQ(sqd(db, "SELECT bytes FROM link_hour WHERE hour = ?1 AND dir = 1",
	          1, h + 3600),
	    900);
	T_EQ(sq(db, "SELECT count(*) FROM link_hour WHERE hour = ?1", 1,
	         h + 3600),
	    1);
	T_EQ(sq(db, "SELECT count(*) FROM link_hour", 0), 3);
	T_EQ(sq(db, "SELECT value FROM meta WHERE key = 'rollup_next'", 0),
	    floor_to(now_sec() - 120, 3600));

	/* A late minute for a rolled-up hour: the hour is rolled again. */
	m[0] = lm("L", h + 300, 1, 50);
	store_link_minutes(s, m, 1);
	store_sync(s);
	T_FEQ(sqd(db, "SELECT bytes FROM link_hour WHERE hour = ?1 AND dir = 1",
	          1, h),
	    1250);
	T_EQ(sq(db, "SELECT minutes FROM link_hour WHERE hour = ?1 AND dir = 1",
	         1, h),
	    3);
	/* The view agrees: Mb/s over the hour. */
	T_FEQ(sqd(db,
	          "SELECT mbps FROM v_link_hour WHERE link = 'L' AND dir = 0"
	          " AND hour = ?1",
	          1, h),
	    round(1770000.0 * 8 / 3600 / 1e6 * 1000) / 1000);
	sqlite3_close(db);

	/* The hourly table through the reader: bps = bytes * 8 / 3600. */
	r = reader();
	o = store_q_link_history(r, "L", h, h + 7200, 3600, err, sizeof(err));
	T_OK(o != NULL);
	T_STREQ(json_string_value(json_object_get(o, "table")), "hour");
	T_EQ(json_integer_value(json_object_get(o, "step")), 3600);
	pts = json_object_get(
	    json_array_get(json_object_get(o, "directions"), 0), "points");
	T_EQ(json_array_size(pts), 1);
	T_FEQ(json_real_value(json_object_get(json_array_get(pts, 0), "bps")),
	    1770000.0 * 8 / 3600);
	T_FEQ(json_real_value(json_object_get(json_array_get(pts, 0), "pps")),
	    1770.0 / 3600);
	pts = json_object_get(
	    json_array_get(json_object_get(o, "directions"), 1), "points");
	T_EQ(json_array_size(pts), 2);
	T_STREQ(json_string_value(
	            json_object_get(json_array_get(pts, 0), "source")),
	    "mixed");
	json_decref(o);
	store_reader_close(r);
	store_close(s);
	cleanup();
}

/*
 * Rows just past each limit go, rows just inside stay, open events stay
 * whatever their age; more than one DELETE's worth of rows goes in
 * several statements over several cycles.
 */
static void
test_retention(void)
{
	int64_t now = now_sec();
	int64_t mcut = now - 7 * DAY, hcut = now - 90 * DAY,
	        ecut = (now - 30 * DAY) * 1000;
	struct store_stats st;
	struct store *s;
	sqlite3 *db;
	int64_t old = floor_to(mcut - 120, 60);

	fresh();
	T_EQ(store_test_migrate(path, STORE_SCHEMA_VERSION), 0);
	db = raw();
	sq(db, "BEGIN", 0);
	sq(db,
	    "INSERT INTO links (id, name, first_seen, updated)"
	    " VALUES (1, 'L', 0, 0)",
	    0);
	for (int i = 0; i < 2500; i++)
		sq(db,
		    "INSERT INTO link_minute VALUES (1, ?1, 0, 1, 1, 0, 0, 0,"
		    " NULL, 'sflow')",
		    1, old - 60 * i);
	sq(db,
	    "INSERT INTO link_minute VALUES (1, ?1, 0, 1, 1, 0, 0, 0, NULL,"
	    " 'sflow'), (1, ?2, 0, 1, 1, 0, 0, 0, NULL, 'sflow')",
	    2, ceil_to(mcut + 120, 60), floor_to(now - DAY, 60));
	sq(db,
	    "INSERT INTO link_hour VALUES (1, ?1, 0, 1, 1, 0, 0, 0, NULL,"
	    " 'sflow', 60), (1, ?2, 0, 1, 1, 0, 0, 0, NULL, 'sflow', 60)",
	    2, floor_to(hcut - 120, 3600), ceil_to(hcut + 120, 3600));
	sq(db,
	    "INSERT INTO top_minute VALUES ('L', ?1, 1, 'k', 'f', 1, 1),"
	    " ('L', ?2, 1, 'k', 'f', 1, 1)",
	    2, floor_to(mcut - 120, 60), ceil_to(mcut + 120, 60));
	sq(db,
	    "INSERT INTO events (type, ref, start_ms, end_ms, updated) VALUES"
	    " ('threshold', 'old', ?1, ?2, 0),"
	    " ('threshold', 'recent', ?1, ?3, 0),"
	    " ('threshold', 'open', ?1, NULL, 0)",
	    3, ecut - 10 * 1000 * DAY, ecut - 120000, ecut + 120000);
	sq(db,
	    "INSERT INTO topology_versions (version, time, json) VALUES"
	    " (1, ?1, '{}'), (2, ?1, '{}'), (3, ?1, '{}')",
	    1, ecut - 120000);
	/* The rollup is up to date: retention is not held back by it. */
	sq(db, "INSERT INTO meta VALUES ('rollup_next', ?1)", 1,
	    floor_to(now, 3600));
	sq(db, "COMMIT", 0);
	sqlite3_close(db);

	s = open_default();
	if (s == NULL)
		return;
	for (int i = 0; i < 4; i++)
		store_sync(s);
	db = raw();
	T_EQ(sq(db, "SELECT count(*) FROM link_minute", 0), 2);
	T_EQ(sq(db, "SELECT count(*) FROM link_minute WHERE minute < ?1", 1,
	         mcut),
	    0);
	T_EQ(sq(db, "SELECT count(*) FROM link_hour", 0), 1);
	T_EQ(sq(db, "SELECT count(*) FROM link_hour WHERE hour > ?1", 1, hcut),
	    1);
	T_EQ(sq(db, "SELECT count(*) FROM top_minute WHERE minute > ?1", 1,
	         mcut),
	    1);
	T_EQ(sq(db, "SELECT count(*) FROM top_minute", 0), 1);
	T_EQ(sq(db, "SELECT count(*) FROM events WHERE ref = 'old'", 0), 0);
	/* 'open' was left open by the last run: ended at its last update
	 * (here its start, long ago) when the store opened, so it goes too */
	T_EQ(sq(db, "SELECT count(*) FROM events", 0), 1);
	T_EQ(sq(db, "SELECT count(*) FROM events WHERE ref = 'open'", 0), 0);
	T_EQ(sq(db, "SELECT count(*) FROM topology_versions", 0), 1);
	T_EQ(sq(db, "SELECT version FROM topology_versions", 0), 3);
	sqlite3_close(db);
	store_get_stats(s, &st);
	T_EQ(st.retention_deleted, 2500 + 1 + 1 + 1 + 2 + 1);
	store_close(s);
	cleanup();
}

/*
 * Minutes not rolled up yet are not deleted by retention before the
 * rollup has read them (a daemon down for longer than minute_days).
 */
static void
test_retention_waits_for_rollup(void)
{
	int64_t h = floor_to(now_sec() - 8 * DAY, 3600);
	struct store_link_minute m[2];
	struct store *s;
	sqlite3 *db;

	fresh();
	s = open_default();
	if (s == NULL)
		return;
	m[0] = lm("L", h, 0, 100);
	m[1] = lm("L", h + 60, 0, 200);
	store_link_minutes(s, m, 2);
	store_sync(s);
	store_sync(s);
	db = raw();
	T_FEQ(
	    sqd(db, "SELECT bytes FROM link_hour WHERE hour = ?1", 1, h), 300);
	T_EQ(sq(db, "SELECT count(*) FROM link_minute", 0), 0);
	sqlite3_close(db);
	store_close(s);
	cleanup();
}

static void
test_defs(void)
{
	struct defs_seen d = { 0 }, t = { 0 }, f = { 0 };
	struct store *s;

	fresh();
	s = open_default();
	if (s == NULL)
		return;
	store_put_def(s, STORE_FLOWDEF, "f1", "{\"v\":1}");
	store_put_def(s, STORE_FLOWDEF, "f2", "{\"v\":2}");
	store_put_def(s, STORE_THRESHOLD, "t1", "{\"metric\":\"f1\"}");
	store_put_def(s, STORE_FLOWDEF, "f2", NULL);
	store_put_def(s, STORE_FLOWDEF, "f1", "{\"v\":3}");
	store_put_def(s, STORE_TOPO_IMPORT, "import", "{\"nodes\":{}}");
	store_sync(s);
	store_close(s);

	s = open_default();
	if (s == NULL)
		return;
	T_EQ(store_load_defs(s, STORE_FLOWDEF, def_cb, &d), 1);
	T_STREQ(d.names[0], "f1");
	T_STREQ(d.json[0], "{\"v\":3}");
	T_EQ(store_load_defs(s, STORE_THRESHOLD, def_cb, &t), 1);
	T_STREQ(t.json[0], "{\"metric\":\"f1\"}");
	T_EQ(store_load_defs(s, STORE_FORWARDING, def_cb, &f), 0);
	memset(&f, 0, sizeof(f));
	T_EQ(store_load_defs(s, STORE_TOPO_IMPORT, def_cb, &f), 1);
	T_STREQ(f.names[0], "import");
	T_EQ(store_load_defs(s, (enum store_def_kind)99, def_cb, &f), -1);
	store_close(s);
	cleanup();
}

static json_t *
events(struct store_reader *r, int64_t from, int64_t to, const char *type)
{
	char err[256] = "";
	json_t *o = store_q_events(r, from, to, type, 0, err, sizeof(err));

	if (o == NULL)
		T_FAIL("store_q_events: %s", err);
	return json_object_get(o, "events") ? o : NULL;
}

static const char *
ev_ref(json_t *o, size_t i)
{
	return json_string_value(json_object_get(
	    json_array_get(json_object_get(o, "events"), i), "ref"));
}

static void
test_events(void)
{
	int64_t t0 = (int64_t)now_wall_ms() - 3600 * 1000;
	struct store_event e;
	struct store_reader *r;
	struct store *s;
	sqlite3 *db;
	json_t *o, *x;
	char err[256];

	fresh();
	s = open_default();
	if (s == NULL)
		return;
	e = ev("threshold", "busy/10.0.0.1", t0, 0);
	store_event(s, &e);
	store_sync(s);
	db = raw();
	T_EQ(sq(db, "SELECT count(*) FROM v_open_events", 0), 1);
	/* The same (type, ref) ended: updated, not duplicated. */
	e.end_ms = t0 + 5000;
	e.value = 50;
	store_event(s, &e);
	e = ev("elephant", "e1", t0 + 1000, 0);
	e.detail[0] = '\0';
	e.node[0] = '\0';
	store_event(s, &e);
	e = ev("threshold", "ancient", t0 - 100000, t0 - 50000);
	store_event(s, &e);
	store_sync(s);
	T_EQ(sq(db, "SELECT count(*) FROM events", 0), 3);
	T_EQ(sq(db, "SELECT end_ms FROM events WHERE ref = 'busy/10.0.0.1'", 0),
	    t0 + 5000);
	T_EQ(sq(db, "SELECT count(*) FROM v_open_events", 0), 1);
	T_STREQ(sqs(db, "SELECT end FROM v_events WHERE ref = 'e1'"), "");
	T_OK(strchr(sqs(db, "SELECT end FROM v_events WHERE ref = 'ancient'"),
	         'T') != NULL);
	sqlite3_close(db);

	r = reader();
	/* Overlapping [t0 - 1000, t0 + 100000): newest first. */
	o = events(r, t0 - 1000, t0 + 100000, NULL);
	T_EQ(json_array_size(json_object_get(o, "events")), 2);
	T_STREQ(ev_ref(o, 0), "e1");
	T_STREQ(ev_ref(o, 1), "busy/10.0.0.1");
	x = json_array_get(json_object_get(o, "events"), 1);
	T_EQ(json_integer_value(json_object_get(x, "start")), t0);
	T_EQ(json_integer_value(json_object_get(x, "end")), t0 + 5000);
	T_FEQ(json_real_value(json_object_get(x, "value")), 50);
	T_STREQ(json_string_value(json_object_get(x, "node")), "leaf1");
	T_EQ(json_integer_value(
	         json_object_get(json_object_get(x, "detail"), "a")),
	    1);
	x = json_array_get(json_object_get(o, "events"), 0);
	T_OK(json_is_null(json_object_get(x, "end")));
	T_OK(json_is_null(json_object_get(x, "node")));
	T_OK(json_is_object(json_object_get(x, "detail")));
	T_EQ(json_object_size(json_object_get(x, "detail")), 0);
	json_decref(o);
	/* By type. */
	o = events(r, t0 - 1000, t0 + 100000, "threshold");
	T_EQ(json_array_size(json_object_get(o, "events")), 1);
	T_STREQ(ev_ref(o, 0), "busy/10.0.0.1");
	json_decref(o);
	/* After the threshold event ended: only the open one. */
	o = events(r, t0 + 6000, t0 + 7000, NULL);
	T_EQ(json_array_size(json_object_get(o, "events")), 1);
	T_STREQ(ev_ref(o, 0), "e1");
	json_decref(o);
	/* The end is inclusive, the window's end exclusive. */
	o = events(r, t0 + 5000, t0 + 5001, "threshold");
	T_EQ(json_array_size(json_object_get(o, "events")), 1);
	json_decref(o);
	o = events(r, t0 - 200000, t0 - 100000, NULL);
	T_EQ(json_array_size(json_object_get(o, "events")), 0);
	json_decref(o);
	o = events(r, t0 - 200000, t0 + 100000, NULL);
	T_EQ(json_array_size(json_object_get(o, "events")), 3);
	T_STREQ(ev_ref(o, 2), "ancient");
	json_decref(o);
	T_OK(store_q_events(r, 10, 10, NULL, 0, err, sizeof(err)) == NULL);
	T_OK(strstr(err, "bad range") != NULL);
	store_reader_close(r);
	store_close(s);
	/*
	 * Opened again (the last run died with e1 open): e1 ends at its last
	 * update, which was before this open; ended events keep their end.
	 */
	{
		int64_t before = (int64_t)now_wall_ms();

		s = open_default();
		db = raw();
		T_OK(sq(db, "SELECT end_ms FROM events WHERE ref = 'e1'", 0) >=
		        t0 + 1000 &&
		    sq(db, "SELECT end_ms FROM events WHERE ref = 'e1'", 0) <=
		        before);
		T_EQ(
		    sq(db,
		        "SELECT end_ms FROM events WHERE ref = 'busy/10.0.0.1'",
		        0),
		    t0 + 5000);
		T_EQ(sq(db, "SELECT count(*) FROM v_open_events", 0), 0);
		sqlite3_close(db);
		store_close(s);
	}
	cleanup();
}

static const char topo_v1[] =
    "{\"version\":5,\"nodes\":["
    "{\"name\":\"leaf1\",\"role\":\"leaf\",\"agent\":\"10.0.0.1\","
    "\"source\":\"lldp\",\"ports\":["
    "{\"name\":\"swp1\",\"ifindex\":3,\"speedMbps\":10000,\"oper\":\"up\","
    "\"edge\":false,\"link\":\"leaf1-spine1\",\"peer\":null,"
    "\"source\":\"lldp\"},"
    "{\"name\":\"swp2\",\"ifindex\":4,\"speedMbps\":null,\"oper\":\"up\","
    "\"edge\":true,\"link\":null,\"peer\":\"h1\",\"source\":\"lldp\"}]},"
    "{\"name\":\"spine1\",\"role\":\"spine\",\"agent\":null,\"ports\":["
    "{\"name\":\"swp9\",\"ifindex\":12,\"edge\":false,"
    "\"link\":\"leaf1-spine1\"}]}],"
    "\"links\":[{\"name\":\"leaf1-spine1\",\"node1\":\"leaf1\","
    "\"port1\":\"swp1\",\"ifindex1\":3,\"node2\":\"spine1\","
    "\"port2\":\"swp9\",\"ifindex2\":12,\"status\":\"up\","
    "\"source\":\"lldp\",\"oneSided\":false}]}";

/* sFlow-RT's form: objects keyed by name, ifindex as a string. */
static const char topo_v2[] =
    "{\"nodes\":{\"leaf1\":{\"agent\":\"10.0.0.1\",\"ports\":"
    "{\"swp1\":{\"ifindex\":\"3\"}}}},\"links\":{}}";

static void
test_topology(void)
{
	struct store *s;
	sqlite3 *db;
	uint64_t v = 0;
	char *j;

	fresh();
	s = open_default();
	if (s == NULL)
		return;
	T_OK(store_load_topology(s, &v) == NULL);
	store_topology(s, 5, topo_v1);
	store_sync(s);
	db = raw();
	T_EQ(sq(db, "SELECT count(*) FROM nodes", 0), 2);
	T_EQ(sq(db, "SELECT count(*) FROM ports", 0), 3);
	T_EQ(sq(db,
	         "SELECT count(*) FROM ports WHERE node = 'leaf1' AND"
	         " name = 'swp2' AND edge = 1 AND peer = 'h1' AND"
	         " speed_mbps IS NULL AND ifindex = 4",
	         0),
	    1);
	T_STREQ(
	    sqs(db, "SELECT role FROM nodes WHERE name = 'spine1'"), "spine");
	T_EQ(sq(db,
	         "SELECT count(*) FROM links WHERE name = 'leaf1-spine1' AND"
	         " node1 = 'leaf1' AND port1 = 'swp1' AND node2 = 'spine1' AND"
	         " port2 = 'swp9' AND status = 'up' AND in_topology = 1",
	         0),
	    1);
	T_EQ(sq(db, "SELECT version FROM topology_versions", 0), 5);
	T_EQ(sq(db, "SELECT nodes FROM v_topology", 0), 2);

	store_topology(s, 6, topo_v2);
	store_sync(s);
	T_EQ(sq(db, "SELECT count(*) FROM nodes", 0), 1);
	T_EQ(sq(db, "SELECT ifindex FROM ports WHERE node = 'leaf1'", 0), 3);
	/* The link is kept (history refers to it), out of the topology. */
	T_EQ(sq(db, "SELECT in_topology FROM links", 0), 0);
	T_EQ(sq(db, "SELECT count(*) FROM topology_versions", 0), 2);
	/* Not JSON: counted, not stored. */
	store_topology(s, 7, "{nope");
	store_sync(s);
	T_EQ(sq(db, "SELECT count(*) FROM topology_versions", 0), 2);
	sqlite3_close(db);
	store_close(s);

	s = open_default();
	if (s == NULL)
		return;
	j = store_load_topology(s, &v);
	T_EQ(v, 6);
	T_STREQ(j, topo_v2);
	free(j);
	/* A restarted daemon counts versions from 1 again: still latest. */
	store_topology(s, 1, topo_v1);
	store_sync(s);
	j = store_load_topology(s, &v);
	T_EQ(v, 1);
	T_STREQ(j, topo_v1);
	free(j);
	store_close(s);
	cleanup();
}

static json_t *
points(json_t *o, int d)
{
	return json_object_get(
	    json_array_get(json_object_get(o, "directions"), (size_t)d),
	    "points");
}

static double
pt(json_t *o, int d, size_t i, const char *k)
{
	return json_number_value(
	    json_object_get(json_array_get(points(o, d), i), k));
}

static void
test_history(void)
{
	int64_t base = floor_to(now_sec() - 3600, 600), now = now_sec();
	struct store_link_minute m[16];
	struct store_reader *r;
	struct store *s;
	json_t *o, *d;
	char err[256] = "";

	fresh();
	s = open_default();
	if (s == NULL)
		return;
	/* dir 0: minute i has 1000 * (i + 1) bytes, i + 1 packets. */
	for (int i = 0; i < 10; i++) {
		m[i] = lm("L", base + 60 * i, 0, 1000.0 * (i + 1));
		m[i].packets = i + 1;
		m[i].util_max = i;
		m[i].discards = 1;
	}
	m[10] = lm("L", base + 120, 1, 7500);
	m[11] = lm("L", base + 600, 0, 1e6); /* past `to`, own bucket */
	store_link_minutes(s, m, 12);
	store_sync(s);
	r = reader();

	o = store_q_link_history(
	    r, "L", base, base + 600, 300, err, sizeof(err));
	T_OK(o != NULL);
	if (o == NULL)
		goto out;
	T_STREQ(json_string_value(json_object_get(o, "link")), "L");
	T_STREQ(json_string_value(json_object_get(o, "table")), "minute");
	T_EQ(json_integer_value(json_object_get(o, "step")), 300);
	T_EQ(json_integer_value(json_object_get(o, "from")), base);
	T_EQ(json_integer_value(json_object_get(o, "to")), base + 600);
	d = json_array_get(json_object_get(o, "directions"), 0);
	T_EQ(json_integer_value(json_object_get(d, "dir")), 0);
	T_STREQ(json_string_value(
	            json_object_get(json_object_get(d, "from"), "node")),
	    "leaf1");
	T_STREQ(json_string_value(
	            json_object_get(json_object_get(d, "to"), "port")),
	    "swp9");
	d = json_array_get(json_object_get(o, "directions"), 1);
	T_STREQ(json_string_value(
	            json_object_get(json_object_get(d, "from"), "node")),
	    "spine1");
	T_EQ(json_array_size(points(o, 0)), 2);
	/* 1000+...+5000 = 15000 bytes in 300 s: 400 b/s, 15/300 p/s. */
	T_EQ(pt(o, 0, 0, "t"), base);
	T_FEQ(pt(o, 0, 0, "bps"), 15000.0 * 8 / 300);
	T_FEQ(pt(o, 0, 0, "pps"), 15.0 / 300);
	T_FEQ(pt(o, 0, 0, "utilMax"), 4);
	T_FEQ(pt(o, 0, 0, "discards"), 5);
	T_FEQ(pt(o, 0, 0, "errors"), 0);
	T_STREQ(json_string_value(
	            json_object_get(json_array_get(points(o, 0), 0), "source")),
	    "sflow");
	/* 6000+...+10000 = 40000 bytes. */
	T_EQ(pt(o, 0, 1, "t"), base + 300);
	T_FEQ(pt(o, 0, 1, "bps"), 40000.0 * 8 / 300);
	T_FEQ(pt(o, 0, 1, "utilMax"), 9);
	T_EQ(json_array_size(points(o, 1)), 1);
	T_FEQ(pt(o, 1, 0, "bps"), 7500.0 * 8 / 300);
	json_decref(o);

	/* step 90 is rounded up to 120; from inside a bucket. */
	o = store_q_link_history(
	    r, "L", base + 30, base + 600, 90, err, sizeof(err));
	T_OK(o != NULL);
	T_EQ(json_integer_value(json_object_get(o, "step")), 120);
	T_EQ(json_integer_value(json_object_get(o, "from")), base);
	T_EQ(json_array_size(points(o, 0)), 5);
	T_FEQ(pt(o, 0, 4, "bps"), (9000.0 + 10000.0) * 8 / 120);
	json_decref(o);

	/* Errors. */
	T_OK(store_q_link_history(
	         r, "nope", base, base + 600, 60, err, sizeof(err)) == NULL);
	T_OK(strncmp(err, "not found", 9) == 0);
	T_OK(store_q_link_history(r, "L", base, base, 60, err, sizeof(err)) ==
	    NULL);
	T_OK(strstr(err, "bad range") != NULL);
	T_OK(store_q_link_history(
	         r, "L", base, base + 60, 0, err, sizeof(err)) == NULL);
	T_OK(strstr(err, "bad step") != NULL);
	T_OK(store_q_link_history(r, "L", now - 7 * DAY + 600, now + 3600, 60,
	         err, sizeof(err)) == NULL);
	T_OK(strstr(err, "too many points") != NULL);
	T_OK(store_q_link_history(
	         r, "L", 0, INT64_MAX, 3600, err, sizeof(err)) == NULL);
	T_OK(strstr(err, "bad range") != NULL);
	/* Past minute retention: the hourly table. */
	o = store_q_link_history(
	    r, "L", now - 8 * DAY, now, 60, err, sizeof(err));
	T_OK(o != NULL);
	T_STREQ(json_string_value(json_object_get(o, "table")), "hour");
	T_EQ(json_integer_value(json_object_get(o, "step")), 3600);
	json_decref(o);
out:
	store_reader_close(r);
	store_close(s);
	cleanup();
}

static void
test_top(void)
{
	int64_t m0 = floor_to(now_sec() - 600, 60);
	struct store_top t[8];
	struct store_reader *r;
	struct store *s;
	json_t *o, *f;
	char err[256] = "";

	fresh();
	s = open_default();
	if (s == NULL)
		return;
	t[0] = top("L", m0, 1, "A", 100);
	t[1] = top("L", m0, 2, "B", 50);
	t[2] = top("L", m0 + 60, 1, "A", 300);
	t[3] = top("L", m0 + 60, 2, "C", 20);
	t[4] = top("L", m0 + 120, 1, "B", 200); /* at `to`: out */
	t[5] = top("edge", m0, 1, "B", 999);
	store_top_flows(s, t, 6);
	store_sync(s);
	r = reader();
	o = store_q_top(r, "L", m0, m0 + 120, 0, err, sizeof(err));
	T_OK(o != NULL);
	if (o == NULL)
		goto out;
	T_STREQ(json_string_value(json_object_get(o, "scope")), "L");
	f = json_object_get(o, "flows");
	T_EQ(json_array_size(f), 3);
	T_STREQ(
	    json_string_value(json_object_get(json_array_get(f, 0), "flow")),
	    "A");
	T_FEQ(json_number_value(json_object_get(json_array_get(f, 0), "bytes")),
	    400);
	T_FEQ(
	    json_number_value(json_object_get(json_array_get(f, 0), "frames")),
	    0.4);
	T_FEQ(json_number_value(json_object_get(json_array_get(f, 0), "bps")),
	    400.0 * 8 / 120);
	T_EQ(json_integer_value(
	         json_object_get(json_array_get(f, 0), "minutes")),
	    2);
	T_STREQ(
	    json_string_value(json_object_get(json_array_get(f, 0), "keys")),
	    "ipsource,ipdestination");
	T_STREQ(
	    json_string_value(json_object_get(json_array_get(f, 1), "flow")),
	    "B");
	T_STREQ(
	    json_string_value(json_object_get(json_array_get(f, 2), "flow")),
	    "C");
	json_decref(o);
	o = store_q_top(r, "L", m0, m0 + 180, 1, err, sizeof(err));
	f = json_object_get(o, "flows");
	T_EQ(json_array_size(f), 1);
	T_FEQ(json_number_value(json_object_get(json_array_get(f, 0), "bytes")),
	    400);
	json_decref(o);
	o = store_q_top(r, "edge", m0, m0 + 60, 10, err, sizeof(err));
	T_EQ(json_array_size(json_object_get(o, "flows")), 1);
	json_decref(o);
	o = store_q_top(r, "nolink", m0, m0 + 60, 10, err, sizeof(err));
	T_EQ(json_array_size(json_object_get(o, "flows")), 0);
	json_decref(o);
out:
	store_reader_close(r);
	store_close(s);
	cleanup();
}

static int
same_bytes(const char *p, const char *want, size_t n)
{
	char buf[8192];
	FILE *f = fopen(p, "rb");
	size_t got;

	if (f == NULL)
		return 0;
	got = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	return got == n && memcmp(buf, want, n) == 0;
}

static void
write_file(const char *p, const char *data, size_t n)
{
	FILE *f = fopen(p, "wb");

	if (f == NULL || fwrite(data, 1, n, f) != n)
		T_FAIL("writing %s", p);
	if (f)
		fclose(f);
}

static void
test_corrupt(void)
{
	char garbage[4096], wal[160], moved1[512], moved2[512], side[600];
	struct defs_seen d = { 0 };
	struct store_stats st;
	struct store *s;

	for (size_t i = 0; i < sizeof(garbage); i++)
		garbage[i] = (char)("not a database! "[i % 16] ^ (i >> 4));
	fresh();
	write_file(path, garbage, sizeof(garbage));
	s = open_default();
	if (s == NULL)
		return;
	store_get_stats(s, &st);
	snprintf(moved1, sizeof(moved1), "%s", st.moved_aside);
	T_OK(strncmp(moved1, path, strlen(path)) == 0);
	T_OK(strstr(moved1, ".corrupt-") != NULL);
	T_OK(same_bytes(moved1, garbage, sizeof(garbage)));
	/* The fresh database works. */
	store_put_def(s, STORE_FLOWDEF, "f", "{}");
	store_sync(s);
	T_EQ(store_load_defs(s, STORE_FLOWDEF, def_cb, &d), 1);
	store_close(s);

	/* Again within the same second, with a WAL: a new name each. */
	write_file(path, garbage, 100);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	write_file(wal, garbage, 200);
	s = open_default();
	if (s == NULL)
		return;
	store_get_stats(s, &st);
	snprintf(moved2, sizeof(moved2), "%s", st.moved_aside);
	T_OK(moved2[0] != '\0' && strcmp(moved1, moved2) != 0);
	T_OK(same_bytes(moved1, garbage, sizeof(garbage)));
	T_OK(same_bytes(moved2, garbage, 100));
	snprintf(side, sizeof(side), "%s-wal", moved2);
	T_OK(same_bytes(side, garbage, 200));
	T_EQ(st.schema_version, STORE_SCHEMA_VERSION);
	store_close(s);

	/* A real database with a damaged page fails quick_check. */
	fresh();
	T_EQ(store_test_migrate(path, STORE_SCHEMA_VERSION), 0);
	{
		FILE *f = fopen(path, "r+b");

		T_OK(f != NULL);
		if (f) {
			fseek(f, 3 * 4096, SEEK_SET);
			fwrite(garbage, 1, 4096, f);
			fclose(f);
		}
	}
	s = open_default();
	if (s == NULL)
		return;
	store_get_stats(s, &st);
	T_OK(strstr(st.moved_aside, ".corrupt-") != NULL);
	store_close(s);

	/* A path that cannot be created fails with a message. */
	{
		struct store_conf c = conf();
		char err[256] = "";

		c.path = "/nonexistent-dir/x/fabmon.db";
		T_OK(store_open(&c, err, sizeof(err)) == NULL);
		T_OK(err[0] != '\0');
	}
	cleanup();
}

static void
test_queue_max(void)
{
	struct store_link_minute m[25];
	struct store_conf c = conf();
	struct store_stats st;
	struct store_event e = ev("ha", "x", 1, 0);
	struct store *s;
	sqlite3 *db;
	int64_t t = floor_to(now_sec(), 60);

	fresh();
	c.queue_max = 10;
	c.batch_ms = 60000;
	s = open_conf(&c);
	if (s == NULL)
		return;
	for (int i = 0; i < 25; i++)
		m[i] = lm("L", t - 60 * i, 0, i);
	store_link_minutes(s, m, 25);
	store_get_stats(s, &st);
	T_EQ(st.dropped_queue, 15);
	store_sync(s);
	store_get_stats(s, &st);
	T_EQ(st.queued, 0);
	T_EQ(st.written, 10);
	T_OK(st.batches >= 1);
	T_OK(st.last_commit_ms > 0);
	T_OK(!st.degraded);
	T_STREQ(st.last_error, "");
	/*
	 * Full again, a single item does not fit either. Rows count until
	 * committed; an operator's write lock keeps these from committing
	 * (the store waits up to its busy timeout, 1 s) while we look.
	 */
	db = raw();
	sq(db, "BEGIN IMMEDIATE", 0);
	store_link_minutes(s, m, 10);
	store_event(s, &e);
	store_get_stats(s, &st);
	sq(db, "COMMIT", 0);
	sqlite3_close(db);
	T_EQ(st.dropped_queue, 16);
	T_EQ(st.queued, 10);
	store_sync(s);
	store_get_stats(s, &st);
	T_EQ(st.written, 20);
	T_OK(!st.degraded);
	store_close(s);
	cleanup();
}

/* A row the database refuses is counted, the rest of its batch kept. */
static void
test_bad_rows(void)
{
	struct store_link_minute m[3];
	struct store_stats st;
	struct store_event e = ev("", "x", 1, 0);
	struct store *s;
	sqlite3 *db;

	fresh();
	s = open_default();
	if (s == NULL)
		return;
	int64_t t = floor_to(now_sec(), 60);

	m[0] = lm("L", t, 0, 1);
	m[1] = lm("", t, 0, 1);
	m[2] = lm("L", t, 2, 1);
	store_link_minutes(s, m, 3);
	store_event(s, &e);
	store_sync(s);
	store_get_stats(s, &st);
	T_EQ(st.dropped_links, 2);
	T_EQ(st.dropped_events, 1);
	T_EQ(st.written, 1);
	T_OK(!st.degraded);
	db = raw();
	T_EQ(sq(db, "SELECT count(*) FROM link_minute", 0), 1);
	sqlite3_close(db);
	store_close(s);
	cleanup();
}

struct writer {
	struct store *s;
	int64_t base;
};

static void *
write_many(void *arg)
{
	struct writer *w = arg;
	static struct store_link_minute m[500];

	for (int b = 0; b < 20; b++) {
		for (int i = 0; i < 500; i++)
			m[i] = lm(i % 2 ? "A" : "B",
			    w->base + 60 * (b * 250 + i / 2), 0, 1000);
		store_link_minutes(w->s, m, 500);
		store_sync(w->s);
	}
	return NULL;
}

/* Readers on their own connections while the store thread writes. */
static void
test_read_while_writing(void)
{
	struct writer w;
	struct store_reader *r;
	struct store_link_minute m = lm("A", 0, 0, 1);
	struct store_stats st;
	pthread_t th;
	int fails = 0, queries = 0;
	char err[256] = "";

	fresh();
	w.s = open_default();
	if (w.s == NULL)
		return;
	w.base = floor_to(now_sec() - 5 * DAY, 60);
	m.minute = w.base;
	store_link_minutes(w.s, &m, 1);
	store_sync(w.s);
	r = reader();
	pthread_create(&th, NULL, write_many, &w);
	do {
		json_t *o = store_q_link_history(r, "A", w.base,
		    w.base + 4 * DAY, 3600 * 6, err, sizeof(err));

		fails += o == NULL;
		json_decref(o);
		queries++;
		store_get_stats(w.s, &st);
	} while (st.written < 10001 && queries < 100000);
	pthread_join(th, NULL);
	T_EQ(fails, 0);
	T_OK(queries > 1);
	store_get_stats(w.s, &st);
	T_EQ(st.written, 10001);
	store_reader_close(r);
	store_close(w.s);
	cleanup();
}

int
main(void)
{
	t_suite = "store";
	T_RUN(test_fresh);
	T_RUN(test_migrate_each_version);
	T_RUN(test_rollup);
	T_RUN(test_retention);
	T_RUN(test_retention_waits_for_rollup);
	T_RUN(test_defs);
	T_RUN(test_events);
	T_RUN(test_topology);
	T_RUN(test_history);
	T_RUN(test_top);
	T_RUN(test_corrupt);
	T_RUN(test_queue_max);
	T_RUN(test_bad_rows);
	T_RUN(test_read_while_writing);
	cleanup();
	return t_done();
}
