/* test_rollup.c: per-minute link rollups against hand-computed values. */
#include <stdlib.h>
#include <string.h>

#include "rollup.h"
#include "t.h"

static struct rollup_in
in(const char *link, uint8_t dir, double bytes_s, double util)
{
	struct rollup_in i = { .link = link,
		.node1 = "l1",
		.port1 = "swp1",
		.node2 = "s1",
		.port2 = "swp1",
		.dir = dir,
		.bytes_s = bytes_s,
		.packets_s = bytes_s / 100,
		.discards_s = -1,
		.errors_s = 2,
		.util = util,
		.speed_bps = 1e9,
		.source = "snmp" };

	return i;
}

static const struct store_link_minute *
find(const struct store_link_minute *rows, size_t n, int64_t minute,
    const char *link, uint8_t dir)
{
	for (size_t i = 0; i < n; i++)
		if (rows[i].minute == minute && rows[i].dir == dir &&
		    strcmp(rows[i].link, link) == 0)
			return &rows[i];
	return NULL;
}

static void
test_split_and_take(void)
{
	struct rollup *r = rollup_new(100);
	struct store_link_minute *rows;
	const struct store_link_minute *w;
	struct rollup_in a = in("l1-s1", 0, 1000, 10);
	struct rollup_in b = in("l1-s1", 1, 500, -1);
	uint64_t t = 1800000000000ull; /* a whole minute: 30,000,000 min */
	size_t n;

	/* 50 s at 1000 B/s, then 20 s crossing into the next minute */
	T_EQ(rollup_add(r, &a, t, t + 50000), 0);
	a.util = 40;
	a.bytes_s = 3000;
	T_EQ(rollup_add(r, &a, t + 50000, t + 70000), 0);
	T_EQ(rollup_add(r, &b, t, t + 60000), 0);

	/* nothing has ended before t + 60 s */
	n = rollup_take(r, t + 59999, &rows);
	T_EQ(n, 0);
	free(rows);

	n = rollup_take(r, t + 60000, &rows);
	T_EQ(n, 2);
	w = find(rows, n, (int64_t)(t / 1000), "l1-s1", 0);
	T_OK(w != NULL);
	if (w != NULL) {
		/* 50 * 1000 + 10 * 3000 */
		T_EQ(w->bytes, 80000);
		T_EQ(w->packets, 600); /* 10/s all along */
		T_EQ(w->errors, 120); /* 2/s over 60 s */
		T_EQ(w->discards, 0); /* unknown: nothing summed */
		T_EQ(w->util_max, 40);
		T_STREQ(w->node2, "s1");
		T_STREQ(w->source, "snmp");
	}
	w = find(rows, n, (int64_t)(t / 1000), "l1-s1", 1);
	T_OK(w != NULL && w->bytes == 30000 && w->util_max < 0);
	/* sorted by (minute, link, dir) */
	T_OK(rows[0].dir == 0 && rows[1].dir == 1);
	free(rows);

	/* the next minute's 10 s stay until it ends */
	n = rollup_take(r, t + 119999, &rows);
	T_EQ(n, 0);
	free(rows);
	n = rollup_take(r, t + 120000, &rows);
	T_EQ(n, 1);
	T_EQ(rows[0].bytes, 30000);
	T_EQ(rows[0].minute, (int64_t)(t / 1000) + 60);
	free(rows);
	rollup_free(r);
}

static void
test_bounded(void)
{
	struct rollup *r = rollup_new(3);
	struct store_link_minute *rows;
	char name[16];
	uint64_t t = 1800000000000ull;

	for (int i = 0; i < 5; i++) {
		struct rollup_in a;

		snprintf(name, sizeof(name), "link%d", i);
		a = in(name, 0, 1, 1);
		T_EQ(rollup_add(r, &a, t, t + 1000), i < 3 ? 0 : -1);
	}
	T_EQ(rollup_refused(r), 2);
	T_EQ(rollup_take(r, t + 60000, &rows), 3);
	free(rows);
	rollup_free(r);
}

int
main(void)
{
	t_suite = "rollup";
	T_RUN(test_split_and_take);
	T_RUN(test_bounded);
	return t_done();
}
