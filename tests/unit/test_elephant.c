/* test_elephant.c: elephant thresholds, ECMP collisions, their events. */
#include <stdlib.h>
#include <string.h>

#include "elephant.h"
#include "t.h"

static void
test_thresholds(void)
{
	double speeds[] = { 10e9, 0, 1e9, 10e9, 25e9, 1e9 };
	struct elephant_threshold th[6];
	size_t n = elephant_thresholds(speeds, 6, 10, th);

	/* one per distinct speed, ascending, zero skipped */
	T_EQ(n, 3);
	T_OK(th[0].speed_bps == 1e9 && th[0].bps == 1e8);
	T_OK(th[1].speed_bps == 10e9 && th[1].bps == 1e9);
	T_OK(th[2].speed_bps == 25e9 && th[2].bps == 2.5e9);
	T_OK(elephant_is(1e9, 10e9, 10));
	T_OK(!elephant_is(0.99e9, 10e9, 10));
	T_OK(!elephant_is(5e9, 0, 10)); /* no speed: never */
	T_EQ(elephant_thresholds(speeds, 0, 10, th), 0);
}

static struct elephant_dir
dir(const char *link, const char *from, const char *to, double util)
{
	struct elephant_dir d;

	memset(&d, 0, sizeof(d));
	strcpy(d.link, link);
	strcpy(d.from, from);
	strcpy(d.to, to);
	d.utilization = util;
	d.bps = util * 1e8;
	return d;
}

static void
test_collisions(void)
{
	struct elephant_dir dirs[] = {
		dir("l1-s1", "l1", "s1", 92), /* busy, two elephants */
		dir("l1-s1", "s1", "l1", 95), /* busy, one elephant */
		dir("l1-s2", "l1", "s2", 40), /* idle: two elephants, fine */
		dir("l2-s1", "l2", "s1", -1), /* unknown utilisation */
	};
	/* sorted for the binary search */
	const char *el[] = { "a,b,6,1,2", "c,d,6,3,4", "e,f,17,5,6" };
	struct elephant_seen seen[] = {
		{ "l1-s1", "s1", "a,b,6,1,2" },
		{ "l1-s1", "s1", "a,b,6,1,2" }, /* again: counted once */
		{ "l1-s1", "s1", "mouse" },
		{ "l1-s1", "s1", "c,d,6,3,4" },
		{ "l1-s1", "l1", "e,f,17,5,6" },
		{ "l1-s1", "l1", "mouse" },
		{ "l1-s2", "s2", "a,b,6,1,2" },
		{ "l1-s2", "s2", "e,f,17,5,6" },
		{ "l2-s1", "s1", "a,b,6,1,2" },
		{ "l2-s1", "s1", "c,d,6,3,4" },
	};
	struct elephant_coll out[4];
	size_t n = elephant_collisions(dirs, 4, 80, seen, 10, el, 3, out, 4);

	T_EQ(n, 1);
	T_STREQ(out[0].link, "l1-s1");
	T_STREQ(out[0].to, "s1");
	T_EQ(out[0].elephants, 2);
	T_EQ(out[0].n_keys, 2);
	T_STREQ(out[0].keys[0], "a,b,6,1,2");
	T_STREQ(out[0].keys[1], "c,d,6,3,4");
	/* the threshold is inclusive; max bounds the output */
	dirs[2].utilization = 80;
	T_EQ(elephant_collisions(dirs, 4, 80, seen, 10, el, 3, out, 4), 2);
	T_EQ(elephant_collisions(dirs, 4, 80, seen, 10, el, 3, out, 1), 1);
	/* no elephants: none */
	T_EQ(elephant_collisions(dirs, 4, 80, seen, 10, el, 0, out, 4), 0);
}

struct log {
	int opened, closed;
	uint64_t last_end, last_start;
};

static void
cb(void *arg, const struct elephant_coll *c, bool opened)
{
	struct log *l = arg;

	if (opened)
		l->opened++;
	else {
		l->closed++;
		l->last_end = c->end_ms;
		l->last_start = c->start_ms;
	}
}

static void
test_tracker(void)
{
	struct elephant_tracker *t = calloc(1, sizeof(*t));
	struct elephant_coll c;
	struct log l = { 0 };

	memset(&c, 0, sizeof(c));
	strcpy(c.link, "l1-s1");
	strcpy(c.to, "s1");
	c.elephants = 2;
	elephant_track(t, &c, 1, 1000, 10000, cb, &l);
	T_EQ(l.opened, 1);
	T_EQ(t->n, 1);
	elephant_track(t, &c, 1, 2000, 10000, cb, &l);
	elephant_track(t, NULL, 0, 11000, 10000, cb, &l);
	T_EQ(l.opened, 1); /* still the same event */
	T_EQ(l.closed, 0); /* quiet 9 s < 10 s */
	T_EQ(t->ev[0].start_ms, 1000);
	elephant_track(t, NULL, 0, 12000, 10000, cb, &l);
	T_EQ(l.closed, 1);
	T_EQ(l.last_start, 1000);
	T_EQ(l.last_end, 12000);
	T_EQ(t->n, 0);
	/* it comes back: a new event with a new id */
	elephant_track(t, &c, 1, 20000, 10000, cb, &l);
	T_EQ(l.opened, 2);
	T_EQ(t->ev[0].id, 2);
	/* the other direction is another event */
	strcpy(c.to, "l1");
	elephant_track(t, &c, 1, 20500, 10000, cb, &l);
	T_EQ(t->n, 2);
	/* bounded */
	for (int i = 0; i < ELEPHANT_MAX_COLL + 5; i++) {
		snprintf(c.link, sizeof(c.link), "x%d", i);
		elephant_track(t, &c, 1, 21000, 10000, NULL, NULL);
	}
	T_EQ(t->n, ELEPHANT_MAX_COLL);
	T_EQ(t->refused, 7);
	free(t);
}

int
main(void)
{
	t_suite = "elephant";
	T_RUN(test_thresholds);
	T_RUN(test_collisions);
	T_RUN(test_tracker);
	return t_done();
}
