/*
 * store_load.c: a write load for the store's crash and disk-full tests
 * (tests/integration/store_crash.py, store_diskfull.py).
 *
 *   store_load DB [--rows-per-batch N] [--links K] [--queue-max Q] [--defs]
 *   store_load DB --check
 *
 * The load enqueues link minutes that carry a strictly increasing
 * sequence number: row seq is minute BASE + 60 * seq on link
 * "load-<seq % K>" (BASE is in 2100, so that neither the hourly rollup
 * nor retention touches the rows). It goes on from the highest sequence
 * already in DB. Per batch it prints (stdout, one JSON object a line,
 * flushed):
 *   {"enq": E}                 rows up to E are queued (before the sync)
 *   {"seq": S, "enq": E, ...}  after store_sync: S is the highest
 *                              sequence known committed, plus the stats
 * A batch counts as committed when store_sync returned and no row was
 * dropped meanwhile (this program is the store's only producer). With
 * --defs, each batch also puts the flow definition "def-E" (E as in its
 * "enq" line), to check that definitions outlive failed batches. It
 * runs until killed; SIGTERM or SIGINT close the store cleanly first.
 *
 * --check opens DB with plain sqlite3 and prints
 *   {"integrity": "ok", "rows": N, "maxSeq": M, "holes": H}
 * (H: sequence numbers missing below M; -1 for M when there is none).
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "store.h"
#include "util.h"

#define BASE INT64_C(4102444800) /* 2100-01-01T00:00:00Z */

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: store_load DB [--rows-per-batch N] "
	    "[--links K] [--queue-max Q] | DB --check\n");
	exit(2);
}

/* The highest sequence in the file and the row count; -1: none. */
static int
scan(sqlite3 *db, int64_t *max, int64_t *rows)
{
	sqlite3_stmt *q = NULL;
	int rc;

	*max = -1;
	*rows = 0;
	rc = sqlite3_prepare_v2(db,
	    "SELECT max(minute), count(*) FROM link_minute WHERE minute >= ?1",
	    -1, &q, NULL);
	if (rc != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(q, 1, BASE);
	if ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (sqlite3_column_type(q, 0) != SQLITE_NULL)
			*max = (sqlite3_column_int64(q, 0) - BASE) / 60;
		*rows = sqlite3_column_int64(q, 1);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(q);
	return rc == SQLITE_OK ? 0 : -1;
}

static int
check(const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	char integrity[512] = "";
	size_t len = 0;
	int64_t max, rows;
	json_t *o;
	char *s;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK) {
		fprintf(
		    stderr, "store_load: %s: %s\n", path, sqlite3_errmsg(db));
		return 1;
	}
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &q, NULL) ==
	    SQLITE_OK) {
		while (sqlite3_step(q) == SQLITE_ROW) {
			const char *t = (const char *)sqlite3_column_text(q, 0);

			len += (size_t)snprintf(integrity + len,
			    len < sizeof(integrity) ? sizeof(integrity) - len
			                            : 0,
			    "%s%s", len ? "; " : "", t ? t : "");
			if (len >= sizeof(integrity))
				break;
		}
		sqlite3_finalize(q);
	} else {
		snprintf(
		    integrity, sizeof(integrity), "%s", sqlite3_errmsg(db));
	}
	if (scan(db, &max, &rows) != 0) {
		max = -1;
		rows = -1;
	}
	o = json_pack("{s:s,s:I,s:I,s:I}", "integrity", integrity, "rows",
	    (json_int_t)rows, "maxSeq", (json_int_t)max, "holes",
	    (json_int_t)(max + 1 - rows));
	s = json_dumps(o, JSON_COMPACT);
	printf("%s\n", s);
	free(s);
	json_decref(o);
	sqlite3_close(db);
	return strcmp(integrity, "ok") == 0 ? 0 : 1;
}

static void
print_json(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT);

	printf("%s\n", s);
	fflush(stdout);
	free(s);
	json_decref(o);
}

int
main(int argc, char **argv)
{
	struct store_conf c = { .minute_days = 7,
		.hour_days = 90,
		.top_days = 7,
		.event_days = 90,
		.batch_ms = 1000,
		.queue_max = 100000 };
	struct store_link_minute *rows;
	struct store_stats st;
	struct sigaction sa;
	struct store *s;
	sqlite3 *db = NULL;
	size_t n = 1000, links = 16;
	bool defs = false;
	int64_t seq, committed, max, count;
	uint64_t t0;
	char err[256];

	if (argc < 2)
		usage();
	c.path = argv[1];
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--check") == 0)
			return check(c.path);
		if (strcmp(argv[i], "--defs") == 0) {
			defs = true;
			continue;
		}
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "--rows-per-batch") == 0)
			n = strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--links") == 0)
			links = strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--queue-max") == 0)
			c.queue_max = strtoul(argv[++i], NULL, 10);
		else
			usage();
	}
	if (n == 0 || links == 0)
		usage();
	log_init(1, LOG_LVL_INFO);
	setvbuf(stdout, NULL, _IOLBF, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	if ((s = store_open(&c, err, sizeof(err))) == NULL) {
		fprintf(stderr, "store_load: %s\n", err);
		return 1;
	}
	if (sqlite3_open_v2(c.path, &db, SQLITE_OPEN_READONLY, NULL) !=
	        SQLITE_OK ||
	    scan(db, &max, &count) != 0) {
		fprintf(
		    stderr, "store_load: %s: %s\n", c.path, sqlite3_errmsg(db));
		return 1;
	}
	sqlite3_close(db);
	seq = max + 1;
	committed = max;
	rows = xcalloc(n, sizeof(*rows));
	t0 = now_mono_ms();
	print_json(json_pack(
	    "{s:I,s:I}", "start", (json_int_t)seq, "rows", (json_int_t)count));
	while (!stop) {
		uint64_t dropped;

		for (size_t i = 0; i < n; i++) {
			struct store_link_minute *m = &rows[i];
			int64_t k = seq + (int64_t)i;

			m->minute = BASE + 60 * k;
			snprintf(m->link, sizeof(m->link), "load-%zu",
			    (size_t)k % links);
			snprintf(m->node1, sizeof(m->node1), "leaf%zu",
			    (size_t)k % links);
			snprintf(m->port1, sizeof(m->port1), "swp1");
			snprintf(m->node2, sizeof(m->node2), "spine1");
			snprintf(m->port2, sizeof(m->port2), "swp%zu",
			    (size_t)k % links);
			m->dir = (uint8_t)(k & 1);
			m->bytes = (double)k;
			m->packets = (double)(k % 1000);
			m->util_max = (double)(k % 100);
			m->speed_bps = 1e10;
			snprintf(m->source, sizeof(m->source), "sflow");
		}
		store_get_stats(s, &st);
		dropped = st.dropped_links + st.dropped_queue;
		store_link_minutes(s, rows, n);
		seq += (int64_t)n;
		if (defs) {
			char name[32], json[48];

			snprintf(name, sizeof(name), "def-%lld",
			    (long long)(seq - 1));
			snprintf(json, sizeof(json), "{\"seq\":%lld}",
			    (long long)(seq - 1));
			store_put_def(s, STORE_FLOWDEF, name, json);
		}
		print_json(json_pack("{s:I}", "enq", (json_int_t)(seq - 1)));
		store_sync(s);
		store_get_stats(s, &st);
		if (st.dropped_links + st.dropped_queue == dropped)
			committed = seq - 1;
		print_json(json_pack("{s:I,s:I,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I,"
		                     "s:I,s:s,s:I}",
		    "seq", (json_int_t)committed, "enq", (json_int_t)(seq - 1),
		    "degraded", st.degraded, "dropped_links",
		    (json_int_t)st.dropped_links, "dropped_queue",
		    (json_int_t)st.dropped_queue, "dropped_defs",
		    (json_int_t)st.dropped_defs, "written",
		    (json_int_t)st.written, "batches", (json_int_t)st.batches,
		    "batch_us", (json_int_t)st.last_batch_us, "db_bytes",
		    (json_int_t)st.db_bytes, "queued", (json_int_t)st.queued,
		    "last_error", st.last_error, "ms",
		    (json_int_t)(now_mono_ms() - t0)));
	}
	store_close(s);
	free(rows);
	return 0;
}
