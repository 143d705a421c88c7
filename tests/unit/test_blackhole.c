/* test_blackhole.c: black-hole events from synthetic samples. */
#include <stdlib.h>
#include <string.h>

#include "blackhole.h"
#include "t.h"

static struct bh_sample
smp(const char *node, uint8_t dst_last, int ttl)
{
	struct bh_sample s;

	memset(&s, 0, sizeof(s));
	snprintf(s.node, sizeof(s.node), "%s", node);
	snprintf(s.in_port, sizeof(s.in_port), "swp1");
	snprintf(s.out_port, sizeof(s.out_port), "swp2");
	s.src.family = s.dst.family = 4;
	memcpy(s.src.a, "\x0a\x02\x01\x0b", 4);
	memcpy(s.dst.a, "\x0a\x02\x04\x00", 4);
	s.dst.a[3] = dst_last;
	s.proto = 17;
	s.sport = 40000;
	s.dport = 53;
	s.ttl = ttl;
	s.sampling_rate = 10;
	return s;
}

static size_t
events(struct bh *b, uint64_t now, struct bh_event **ev)
{
	return bh_events(b, now, ev);
}

/* A valley opens at its second sample, closes when quiet, and a new
 * burst is a new event. */
static void
test_valley_lifecycle(void)
{
	struct bh_conf c = { .quiet_ms = 5000, .max_keys = 16 };
	struct bh *b = bh_new(&c);
	struct bh_sample s = smp("l4", 15, 61);
	struct bh_event *ev;
	uint64_t t = 1000000, id;

	s.valley = true;
	snprintf(s.valley_kind, sizeof(s.valley_kind), "valley");
	bh_observe(b, &s, t);
	T_EQ(events(b, t, &ev), 0); /* one sample is not an event */
	free(ev);
	s.dst.a[3] = 16; /* the same /24 */
	bh_observe(b, &s, t + 100);
	T_EQ(events(b, t + 100, &ev), 1);
	T_STREQ(ev[0].node, "l4");
	T_STREQ(ev[0].prefix, "10.2.4.0/24");
	T_STREQ(ev[0].reason, "valley");
	T_EQ(ev[0].type, BH_VALLEY);
	T_EQ(ev[0].samples, 2);
	T_EQ(ev[0].start_ms, t);
	T_EQ(ev[0].end_ms, 0);
	T_EQ(ev[0].n_ev, 2);
	T_STREQ(ev[0].ev[0].dst, "10.2.4.16"); /* newest first */
	/* 20 frames (2 samples x rate 10) over the 10 s time constant */
	T_OK(ev[0].fps > 1.9 && ev[0].fps <= 2.0);
	id = ev[0].id;
	free(ev);
	bh_tick(b, t + 4000); /* not quiet long enough */
	T_EQ(events(b, t + 4000, &ev), 1);
	T_EQ(ev[0].end_ms, 0);
	free(ev);
	bh_tick(b, t + 100 + 5000);
	T_EQ(events(b, t + 5100, &ev), 1);
	T_EQ(ev[0].end_ms, t + 100); /* ended at its last sample */
	free(ev);
	/* a new burst: a new event */
	bh_observe(b, &s, t + 6000);
	bh_observe(b, &s, t + 6001);
	T_EQ(events(b, t + 6001, &ev), 1);
	T_OK(ev[0].id != id);
	T_EQ(ev[0].start_ms, t + 6000);
	T_EQ(ev[0].end_ms, 0);
	free(ev);
	/* ended, then forgotten after another quiet time */
	bh_tick(b, t + 6001 + 5000);
	bh_tick(b, t + 6001 + 10000);
	T_EQ(events(b, t + 16001, &ev), 0);
	free(ev);
	bh_free(b);
}

/* Discards group by reason; other prefixes and nodes are other events. */
static void
test_discard_groups(void)
{
	struct bh_conf c = { .quiet_ms = 5000, .max_keys = 3 };
	struct bh *b = bh_new(&c);
	struct bh_event *ev;
	struct bh_stats st;
	const char *why[] = { "acl", "acl", "ttl_exceeded", "ttl_exceeded",
		"red", "red", "no_buffer_space" };

	for (size_t i = 0; i < sizeof(why) / sizeof(why[0]); i++) {
		struct bh_sample s = smp("s1", 1, 64);

		s.discard = true;
		snprintf(
		    s.discard_reason, sizeof(s.discard_reason), "%s", why[i]);
		bh_observe(b, &s, 1000 + i);
	}
	T_EQ(events(b, 2000, &ev), 3);
	free(ev);
	bh_stats(b, &st);
	T_EQ(st.refused, 1); /* the fourth group: max_keys 3 */
	T_EQ(st.open, 3);
	bh_free(b);
}

/* The same 5-tuple with more TTLs than the fabric's diameter loops. */
static void
test_ttl_loop(void)
{
	struct bh_conf c = { .quiet_ms = 5000, .max_keys = 16 };
	struct bh *b = bh_new(&c);
	struct bh_event *ev;
	int ttl;

	/* a normal path: three TTLs, seen again and again */
	for (int i = 0; i < 30; i++) {
		struct bh_sample s = smp("s1", 15, 63 - i % 3);

		s.on_fabric_link = true;
		bh_observe(b, &s, 1000 + (uint64_t)i);
	}
	T_EQ(events(b, 2000, &ev), 0);
	free(ev);
	/* bouncing: the TTL keeps falling */
	for (ttl = 63; ttl > 50; ttl--) {
		struct bh_sample s = smp("l4", 15, ttl);

		s.on_fabric_link = true;
		bh_observe(b, &s, 3000 + (uint64_t)(63 - ttl));
	}
	T_EQ(events(b, 4000, &ev), 1);
	T_EQ(ev[0].type, BH_TTL_LOOP);
	T_STREQ(ev[0].node, "l4");
	T_STREQ(ev[0].reason, "ttl_loop");
	free(ev);
	bh_free(b);
}

static void
test_prefix(void)
{
	struct sflow_addr a = { .family = 6 };
	char buf[64];

	memcpy(a.a,
	    "\x20\x01\x0d\xb8\x00\x01\x00\x02\x00\x00\x00\x00\x00\x00"
	    "\x00\x09",
	    16);
	bh_prefix(&a, buf, sizeof(buf));
	T_STREQ(buf, "2001:db8:1:2::/64");
	a.family = 0;
	bh_prefix(&a, buf, sizeof(buf));
	T_STREQ(buf, "");
}

int
main(void)
{
	t_suite = "blackhole";
	T_RUN(test_valley_lifecycle);
	T_RUN(test_discard_groups);
	T_RUN(test_ttl_loop);
	T_RUN(test_prefix);
	return t_done();
}
