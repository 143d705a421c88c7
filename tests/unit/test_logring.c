/*
 * test_logring.c: the bounded log: IDs, wrap-around, newest-first
 * queries, max, after = -1, after beyond the newest ID, frees, and a
 * writer and a reader thread at once (run it under ASan/TSan).
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "logring.h"
#include "t.h"
#include "util.h"

static atomic_ulong freed;

static void
free_rec(void *p)
{
	atomic_fetch_add(&freed, 1);
	free(p);
}

/* A record holding the ID it is expected to get. */
static void *
rec(uint64_t id)
{
	uint64_t *p = xmalloc(sizeof(*p));

	*p = id;
	return p;
}

struct seen {
	size_t n;
	uint64_t id[64];
	int bad; /* a record that does not hold its ID */
};

static void
visit(void *arg, uint64_t id, const void *r)
{
	struct seen *s = arg;

	if (*(const uint64_t *)r != id)
		s->bad++;
	if (s->n < nitems(s->id))
		s->id[s->n] = id;
	s->n++;
}

/* Query and compare with the expected IDs (a 0-terminated list). */
static int
query_is(struct logring *r, int64_t after, size_t max, const uint64_t *want)
{
	struct seen s = { 0 };
	size_t n, i;

	n = logring_query(r, after, max, visit, &s);
	if (n != s.n || s.bad)
		return 0;
	for (i = 0; want[i] != 0; i++)
		if (i >= s.n || s.id[i] != want[i])
			return 0;
	return i == s.n;
}

#define IDS(...) ((const uint64_t[]){ __VA_ARGS__, 0 })

static void
test_empty(void)
{
	struct logring *r = logring_new(4, free_rec);
	struct logring_stats st;

	T_EQ(logring_last_id(r), 0);
	T_OK(query_is(r, -1, 10, IDS(0)));
	T_OK(query_is(r, 0, 10, IDS(0)));
	T_OK(query_is(r, 7, 10, IDS(0)));
	T_OK(!logring_ready(r, -1));
	T_OK(!logring_ready(r, 0));
	T_OK(!logring_ready(r, 7));
	logring_stats(r, &st);
	T_EQ(st.len, 0);
	T_EQ(st.capacity, 4);
	T_EQ(st.appended, 0);
	T_EQ(st.dropped, 0);
	logring_free(r);
	logring_free(NULL);
}

static void
test_ids_and_order(void)
{
	struct logring *r = logring_new(4, free_rec);

	T_EQ(logring_append(r, rec(1)), 1);
	T_EQ(logring_append(r, rec(2)), 2);
	T_EQ(logring_append(r, rec(3)), 3);
	T_EQ(logring_last_id(r), 3);
	T_OK(query_is(r, -1, 10, IDS(3, 2, 1)));
	T_OK(query_is(r, 0, 10, IDS(3, 2, 1)));
	T_OK(query_is(r, 1, 10, IDS(3, 2)));
	T_OK(query_is(r, 2, 10, IDS(3)));
	T_OK(query_is(r, 3, 10, IDS(0)));
	/* max keeps the newest */
	T_OK(query_is(r, -1, 2, IDS(3, 2)));
	T_OK(query_is(r, 0, 1, IDS(3)));
	T_OK(query_is(r, -1, 0, IDS(0)));
	T_OK(logring_ready(r, -1));
	T_OK(logring_ready(r, 2));
	T_OK(!logring_ready(r, 3));
	logring_free(r);
}

static void
test_wrap(void)
{
	struct logring *r = logring_new(4, free_rec);
	struct logring_stats st;

	atomic_store(&freed, 0);
	for (uint64_t i = 1; i <= 10; i++)
		T_EQ(logring_append(r, rec(i)), i);
	/* 1..6 fell off, each freed once, as it fell */
	T_EQ(atomic_load(&freed), 6);
	logring_stats(r, &st);
	T_EQ(st.len, 4);
	T_EQ(st.appended, 10);
	T_EQ(st.dropped, 6);
	T_OK(query_is(r, -1, 100, IDS(10, 9, 8, 7)));
	/* 6 fell off: the client sees the gap, 6 is not invented */
	T_OK(query_is(r, 5, 100, IDS(10, 9, 8, 7)));
	T_OK(query_is(r, 0, 100, IDS(10, 9, 8, 7)));
	T_OK(query_is(r, 7, 100, IDS(10, 9, 8)));
	T_OK(query_is(r, 8, 100, IDS(10, 9)));
	T_OK(query_is(r, 9, 2, IDS(10)));
	T_OK(query_is(r, 10, 100, IDS(0)));
	T_OK(query_is(r, 5, 3, IDS(10, 9, 8)));
	logring_free(r);
	T_EQ(atomic_load(&freed), 10);
}

static void
test_after_beyond_last(void)
{
	struct logring *r = logring_new(8, NULL); /* NULL: free(3) */

	for (uint64_t i = 1; i <= 5; i++)
		logring_append(r, rec(i));
	/* A client that saw ID 900 from the previous run, or the HA peer:
	 * answered with the newest, not left waiting. */
	T_OK(query_is(r, 900, 3, IDS(5, 4, 3)));
	T_OK(query_is(r, 6, 100, IDS(5, 4, 3, 2, 1)));
	T_OK(query_is(r, INT64_MAX, 1, IDS(5)));
	T_OK(logring_ready(r, 6));
	T_OK(logring_ready(r, INT64_MAX));
	T_OK(!logring_ready(r, 5));
	T_OK(query_is(r, -7, 2, IDS(5, 4)));
	logring_free(r);
}

static void
test_capacity_one(void)
{
	struct logring *r = logring_new(1, free_rec);
	struct logring_stats st;

	atomic_store(&freed, 0);
	logring_append(r, rec(1));
	logring_append(r, rec(2));
	T_EQ(atomic_load(&freed), 1);
	T_OK(query_is(r, -1, 5, IDS(2)));
	T_OK(query_is(r, 0, 5, IDS(2)));
	T_OK(query_is(r, 2, 5, IDS(0)));
	logring_stats(r, &st);
	T_EQ(st.len, 1);
	T_EQ(st.dropped, 1);
	logring_free(r);
	T_EQ(atomic_load(&freed), 2);
}

/* One writer, one reader that follows like a long-poll client. */
#define N_CONC 200000

struct reader {
	struct logring *r;
	atomic_int started;
	int bad;
	uint64_t seen, queries;
};

struct follow {
	uint64_t prev; /* the previous ID in this query, 0 at the start */
	int64_t after;
	uint64_t top;
	int bad;
	size_t n;
};

static void
follow_visit(void *arg, uint64_t id, const void *r)
{
	struct follow *f = arg;

	if (*(const uint64_t *)r != id)
		f->bad++;
	if (f->prev != 0 && id != f->prev - 1)
		f->bad++; /* not newest first, or a hole inside the ring */
	if (f->after >= 0 && id <= (uint64_t)f->after)
		f->bad++;
	if (f->n == 0)
		f->top = id;
	f->prev = id;
	f->n++;
}

static void *
reader_main(void *arg)
{
	struct reader *rd = arg;
	int64_t after = -1;
	uint64_t last_seen = 0;

	atomic_store(&rd->started, 1);
	while (last_seen < N_CONC) {
		struct follow f = { 0 };
		uint64_t last = logring_last_id(rd->r);

		if (last < last_seen)
			rd->bad++; /* the atomic went backwards */
		if (!logring_ready(rd->r, after))
			continue;
		f.after = after;
		logring_query(rd->r, after, 50, follow_visit, &f);
		rd->bad += f.bad;
		rd->queries++;
		if (f.n > 0) {
			if (f.top < last)
				rd->bad++; /* older than the ID read before */
			rd->seen += f.n;
			after = (int64_t)f.top;
			last_seen = f.top;
		}
	}
	return NULL;
}

static void
test_concurrent(void)
{
	struct logring *r = logring_new(64, free_rec);
	struct reader rd = { .r = r };
	struct logring_stats st;
	pthread_t th;
	int wbad = 0;

	atomic_store(&freed, 0);
	T_EQ(pthread_create(&th, NULL, reader_main, &rd), 0);
	while (!atomic_load(&rd.started))
		sched_yield();
	for (uint64_t i = 1; i <= N_CONC; i++) {
		if (logring_append(r, rec(i)) != i)
			wbad++;
		if (i % 1000 == 0)
			sched_yield(); /* let the reader in, even on one CPU */
	}
	pthread_join(th, NULL);
	T_EQ(wbad, 0);
	T_EQ(rd.bad, 0);
	T_OK(rd.seen > 0 && rd.queries > 0);
	logring_stats(r, &st);
	T_EQ(st.appended, N_CONC);
	T_EQ(st.dropped, N_CONC - 64);
	T_EQ(atomic_load(&freed), N_CONC - 64);
	logring_free(r);
	T_EQ(atomic_load(&freed), N_CONC);
}

int
main(void)
{
	t_suite = "logring";
	T_RUN(test_empty);
	T_RUN(test_ids_and_order);
	T_RUN(test_wrap);
	T_RUN(test_after_beyond_last);
	T_RUN(test_capacity_one);
	T_RUN(test_concurrent);
	return t_done();
}
