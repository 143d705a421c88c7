/*
 * test_ifcounters.c: counter readings -> rates (ifcounters.c): hand-
 * computed rates for 64- and 32-bit counters, wraps, resets, implausible
 * jumps, too-soon readings, the sFlow-over-SNMP preference, the table
 * bound, expiry and ordering, and ifc_from_sflow() on a real XDR counter
 * sample decoded by sflow.c.
 */
#include <math.h>
#include <stdlib.h>

#include "ifcounters.h"
#include "sflow.h"
#include "t.h"
#include "util.h"

#define T_NEAR(a, b)                                                           \
	do {                                                                   \
		double t_x_ = (a), t_y_ = (b);                                 \
		if (!(fabs(t_x_ - t_y_) <= 1e-9 * (1 + fabs(t_y_))))           \
			T_FAIL("%s == %.17g, expected %.17g", #a, t_x_, t_y_); \
	} while (0)

#define GBIT 1000000000ull

static struct sflow_addr
v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	struct sflow_addr x = { 0 };

	x.family = 4;
	x.a[0] = a;
	x.a[1] = b;
	x.a[2] = c;
	x.a[3] = d;
	return x;
}

static struct ifc_reading
reading(uint32_t ifindex, enum ifc_source src, uint64_t speed)
{
	struct ifc_reading rd;

	memset(&rd, 0, sizeof(rd));
	rd.agent = v4(10, 0, 0, 1);
	rd.ifindex = ifindex;
	rd.source = src;
	rd.speed = speed;
	rd.admin = IFC_UP;
	rd.oper = IFC_UP;
	return rd;
}

static void
set(struct ifc_reading *rd, enum ifc_field f, uint64_t v, int wide)
{
	rd->c[f] = v;
	rd->have |= IFC_BIT(f);
	if (wide)
		rd->wide |= IFC_BIT(f);
	else
		rd->wide &= ~IFC_BIT(f);
}

/* The one interface of a table (asserting there is exactly one). */
static struct ifc_rates
only(struct ifc_table *t)
{
	struct ifc_rates r, *all;
	size_t n;

	memset(&r, 0, sizeof(r));
	all = ifc_rates_all(t, &n);
	if (n != 1) {
		T_FAIL("%zu interfaces, expected 1", n);
		free(all);
		return r;
	}
	r = all[0];
	free(all);
	return r;
}

static void
rates_64bit(void)
{
	struct ifc_table *t = ifc_new(16, 1);
	struct ifc_reading rd = reading(3, IFC_SRC_SFLOW, GBIT);
	struct ifc_rates r;
	struct ifc_stats st;

	set(&rd, IFC_IN_OCTETS, 1000000, 1);
	set(&rd, IFC_OUT_OCTETS, 5000000000ull, 1);
	set(&rd, IFC_IN_UCAST, 100, 0);
	T_EQ(ifc_update(t, &rd, 1000, 1700000000000ull), 0);
	r = only(t);
	T_EQ(r.have, 0);
	T_OK(r.in_util < 0 && r.out_util < 0);
	T_EQ(r.speed, GBIT);
	T_EQ(r.admin, IFC_UP);
	/* 10 s later: +12.5 MB in, +25 MB out, +5000 packets in */
	set(&rd, IFC_IN_OCTETS, 1000000 + 12500000, 1);
	set(&rd, IFC_OUT_OCTETS, 5000000000ull + 25000000, 1);
	set(&rd, IFC_IN_UCAST, 5100, 0);
	rd.oper = IFC_DOWN;
	T_EQ(ifc_update(t, &rd, 11000, 1700000010000ull), 1);
	r = only(t);
	T_EQ(r.have,
	    IFC_BIT(IFC_IN_OCTETS) | IFC_BIT(IFC_OUT_OCTETS) |
	        IFC_BIT(IFC_IN_UCAST));
	T_NEAR(r.r[IFC_IN_OCTETS], 1250000);
	T_NEAR(r.r[IFC_OUT_OCTETS], 2500000);
	T_NEAR(r.r[IFC_IN_UCAST], 500);
	/* 1.25 MB/s * 8 = 10 Mb/s = 1% of 1 Gb/s */
	T_NEAR(r.in_util, 1.0);
	T_NEAR(r.out_util, 2.0);
	T_EQ(r.interval_ms, 10000);
	T_EQ(r.updated_ms, 1700000010000ull);
	T_EQ(r.oper, IFC_DOWN);
	T_EQ(r.ifindex, 3);
	T_EQ(r.source, IFC_SRC_SFLOW);
	T_EQ(r.discontinuities, 0);
	/* A counter missing from one reading has no rate; the rest do. */
	rd.have &= ~IFC_BIT(IFC_IN_UCAST);
	set(&rd, IFC_IN_OCTETS, 1000000 + 12500000 + 500000, 1);
	T_EQ(ifc_update(t, &rd, 13000, 1700000012000ull), 1);
	r = only(t);
	T_EQ(r.have, IFC_BIT(IFC_IN_OCTETS) | IFC_BIT(IFC_OUT_OCTETS));
	T_NEAR(r.r[IFC_IN_OCTETS], 250000);
	T_NEAR(r.r[IFC_OUT_OCTETS], 0);
	/* Unknown speed: no utilisation, rates still. */
	rd.speed = 0;
	set(&rd, IFC_IN_OCTETS, 1000000 + 12500000 + 500000 + 1000, 1);
	T_EQ(ifc_update(t, &rd, 14000, 1700000013000ull), 1);
	r = only(t);
	T_NEAR(r.r[IFC_IN_OCTETS], 1000);
	T_OK(r.in_util < 0 && r.out_util < 0);
	ifc_stats(t, &st);
	T_EQ(st.readings, 4);
	T_EQ(st.ifaces, 1);
	T_EQ(st.max_ifaces, 16);
	ifc_free(t);
}

static void
rates_32bit_wrap(void)
{
	struct ifc_table *t = ifc_new(16, 2);
	struct ifc_reading rd = reading(4, IFC_SRC_SNMP, GBIT);
	struct ifc_rates r;

	set(&rd, IFC_IN_UCAST, 0xffffff00u, 0);
	set(&rd, IFC_IN_OCTETS, 4294000000u, 0); /* SNMP ifInOctets */
	set(&rd, IFC_OUT_UCAST, 1000, 0);
	T_EQ(ifc_update(t, &rd, 0, 0), 0);
	/* 2 s: ucast wraps by 0x100 + 0x100 = 512, octets by 1967296 */
	set(&rd, IFC_IN_UCAST, 0x100, 0);
	set(&rd, IFC_IN_OCTETS, 1000000, 0);
	set(&rd, IFC_OUT_UCAST, 3000, 0);
	T_EQ(ifc_update(t, &rd, 2000, 2000), 1);
	r = only(t);
	T_NEAR(r.r[IFC_IN_UCAST], 256);
	T_NEAR(
	    r.r[IFC_IN_OCTETS], (1000000.0 + 4294967296.0 - 4294000000.0) / 2);
	T_NEAR(r.r[IFC_OUT_UCAST], 1000);
	T_EQ(r.discontinuities, 0);
	/* Upper bits of a 32-bit counter are ignored, not subtracted. */
	set(&rd, IFC_OUT_UCAST, 0x500000000ull + 4000, 0);
	set(&rd, IFC_IN_UCAST, 0x100, 0);
	set(&rd, IFC_IN_OCTETS, 1000000, 0);
	T_EQ(ifc_update(t, &rd, 3000, 3000), 1);
	r = only(t);
	T_NEAR(r.r[IFC_OUT_UCAST], 1000);
	/* A counter switching from 64- to 32-bit has no rate that round. */
	set(&rd, IFC_IN_OCTETS, 2000000, 1);
	set(&rd, IFC_OUT_UCAST, 5000, 0);
	T_EQ(ifc_update(t, &rd, 4000, 4000), 1);
	r = only(t);
	T_OK(!(r.have & IFC_BIT(IFC_IN_OCTETS)));
	T_OK(r.have & IFC_BIT(IFC_OUT_UCAST));
	ifc_free(t);
}

static void
reset_64bit(void)
{
	struct ifc_table *t = ifc_new(16, 3);
	struct ifc_reading rd = reading(5, IFC_SRC_SFLOW, GBIT);
	struct ifc_rates r;
	struct ifc_stats st;

	set(&rd, IFC_IN_OCTETS, 10000000, 1);
	set(&rd, IFC_IN_UCAST, 10000, 0);
	T_EQ(ifc_update(t, &rd, 0, 0), 0);
	set(&rd, IFC_IN_OCTETS, 20000000, 1);
	set(&rd, IFC_IN_UCAST, 20000, 0);
	T_EQ(ifc_update(t, &rd, 1000, 1000), 1);
	T_EQ(only(t).have, IFC_BIT(IFC_IN_OCTETS) | IFC_BIT(IFC_IN_UCAST));
	/* The device rebooted: the 64-bit counter went down. */
	set(&rd, IFC_IN_OCTETS, 4000, 1);
	set(&rd, IFC_IN_UCAST, 30000, 0);
	T_EQ(ifc_update(t, &rd, 2000, 2000), 0);
	r = only(t);
	T_EQ(r.have, 0); /* no rate at all that round */
	T_OK(r.in_util < 0);
	T_EQ(r.discontinuities, 1);
	T_EQ(r.updated_ms, 2000);
	ifc_stats(t, &st);
	T_EQ(st.discontinuities, 1);
	/* The reset reading is the new baseline. */
	set(&rd, IFC_IN_OCTETS, 4000 + 3000, 1);
	set(&rd, IFC_IN_UCAST, 30000 + 30, 0);
	T_EQ(ifc_update(t, &rd, 5000, 5000), 1);
	r = only(t);
	T_NEAR(r.r[IFC_IN_OCTETS], 1000);
	T_NEAR(r.r[IFC_IN_UCAST], 10);
	T_EQ(r.discontinuities, 1);
	ifc_free(t);
}

static void
implausible(void)
{
	struct ifc_table *t = ifc_new(16, 4);
	struct ifc_reading rd = reading(6, IFC_SRC_SFLOW, GBIT);
	struct ifc_rates r;

	/* 1 Gb/s = 125 MB/s; 2x line rate is 250 MB/s */
	set(&rd, IFC_OUT_OCTETS, 0, 1);
	T_EQ(ifc_update(t, &rd, 0, 0), 0);
	set(&rd, IFC_OUT_OCTETS, 240000000, 1); /* 1.92x: jitter, kept */
	T_EQ(ifc_update(t, &rd, 1000, 1000), 1);
	T_NEAR(only(t).r[IFC_OUT_OCTETS], 240000000);
	T_NEAR(only(t).out_util, 192);
	set(&rd, IFC_OUT_OCTETS, 240000000 + 260000000, 1); /* 2.08x */
	T_EQ(ifc_update(t, &rd, 2000, 2000), 0);
	r = only(t);
	T_EQ(r.discontinuities, 1);
	T_EQ(r.have, 0);
	ifc_free(t);

	/*
	 * A 32-bit wrap implying more than the speed allows is a reset:
	 * at 10 Mb/s, 100 -> 50 would be ~4.3 GB in 10 s.
	 */
	t = ifc_new(16, 5);
	rd = reading(7, IFC_SRC_SNMP, 10000000);
	set(&rd, IFC_IN_OCTETS, 100, 0);
	set(&rd, IFC_IN_UCAST, 100, 0);
	T_EQ(ifc_update(t, &rd, 0, 0), 0);
	set(&rd, IFC_IN_OCTETS, 50, 0);
	set(&rd, IFC_IN_UCAST, 200, 0);
	T_EQ(ifc_update(t, &rd, 10000, 10000), 0);
	T_EQ(only(t).discontinuities, 1);
	/* ... and so is a wrapped packet counter: > 2 * 10M/672 pps */
	set(&rd, IFC_IN_OCTETS, 1050, 0);
	set(&rd, IFC_IN_UCAST, 100, 0);
	T_EQ(ifc_update(t, &rd, 20000, 20000), 0);
	T_EQ(only(t).discontinuities, 2);
	/* With the speed unknown the same decrease is a wrap. */
	rd.speed = 0;
	set(&rd, IFC_IN_OCTETS, 50, 0);
	set(&rd, IFC_IN_UCAST, 200, 0);
	T_EQ(ifc_update(t, &rd, 30000, 30000), 1);
	r = only(t);
	T_NEAR(r.r[IFC_IN_OCTETS], (50 + 4294967296.0 - 1050) / 10);
	T_NEAR(r.r[IFC_IN_UCAST], 10);
	T_EQ(r.discontinuities, 2);
	ifc_free(t);
}

/*
 * An agent's cached answer: net-snmp refreshes IF-MIB every ~3 s, so a
 * poll can repeat the previous one exactly while the port is busy. It is
 * held, the next reading spans both intervals; a second repeat is real.
 */
static void
snmp_stale_repeat(void)
{
	struct ifc_table *t = ifc_new(16, 12);
	struct ifc_reading rd = reading(5, IFC_SRC_SNMP, GBIT);
	struct ifc_stats st;
	struct ifc_rates r;

	set(&rd, IFC_IN_UCAST, 0, 1);
	set(&rd, IFC_OUT_UCAST, 7, 1);
	T_EQ(ifc_update(t, &rd, 10000, 10000), 0);
	set(&rd, IFC_IN_UCAST, 3000, 1);
	T_EQ(ifc_update(t, &rd, 13000, 13000), 1);
	T_NEAR(only(t).r[IFC_IN_UCAST], 1000);
	/* The same counters 3 s later: held, rates and time unchanged. */
	T_EQ(ifc_update(t, &rd, 16000, 16000), 0);
	r = only(t);
	T_NEAR(r.r[IFC_IN_UCAST], 1000);
	T_EQ(r.updated_ms, 13000);
	T_EQ(r.interval_ms, 3000);
	/* The next reading: 6000 packets over the 6 s since the baseline,
	 * not 6000 over 3 s. */
	set(&rd, IFC_IN_UCAST, 9000, 1);
	T_EQ(ifc_update(t, &rd, 19000, 19000), 1);
	r = only(t);
	T_NEAR(r.r[IFC_IN_UCAST], 1000);
	T_EQ(r.interval_ms, 6000);
	/* Traffic stops: one repeat is held, the second one is taken. */
	T_EQ(ifc_update(t, &rd, 22000, 22000), 0);
	T_NEAR(only(t).r[IFC_IN_UCAST], 1000);
	T_EQ(ifc_update(t, &rd, 25000, 25000), 1);
	r = only(t);
	T_NEAR(r.r[IFC_IN_UCAST], 0);
	T_EQ(r.interval_ms, 6000);
	/* An idle port repeating itself is not held: no rate was moving. */
	T_EQ(ifc_update(t, &rd, 28000, 28000), 1);
	T_EQ(only(t).interval_ms, 3000);
	/* A repeat that differs in one counter is fresh. */
	set(&rd, IFC_IN_UCAST, 12000, 1);
	T_EQ(ifc_update(t, &rd, 31000, 31000), 1);
	set(&rd, IFC_OUT_UCAST, 8, 1);
	T_EQ(ifc_update(t, &rd, 34000, 34000), 1);
	T_NEAR(only(t).r[IFC_IN_UCAST], 0);
	ifc_stats(t, &st);
	T_EQ(st.stale, 2);
	ifc_free(t);
}

/* sFlow counter samples are the agent's own fresh reading: never held. */
static void
sflow_repeat_not_held(void)
{
	struct ifc_table *t = ifc_new(16, 13);
	struct ifc_reading rd = reading(6, IFC_SRC_SFLOW, GBIT);
	struct ifc_stats st;

	set(&rd, IFC_IN_UCAST, 0, 1);
	T_EQ(ifc_update(t, &rd, 10000, 10000), 0);
	set(&rd, IFC_IN_UCAST, 500, 1);
	T_EQ(ifc_update(t, &rd, 11000, 11000), 1);
	T_EQ(ifc_update(t, &rd, 12000, 12000), 1);
	T_NEAR(only(t).r[IFC_IN_UCAST], 0);
	ifc_stats(t, &st);
	T_EQ(st.stale, 0);
	ifc_free(t);
}

static void
too_soon(void)
{
	struct ifc_table *t = ifc_new(16, 6);
	struct ifc_reading rd = reading(8, IFC_SRC_SFLOW, GBIT);
	struct ifc_stats st;
	struct ifc_rates r;

	set(&rd, IFC_IN_OCTETS, 0, 1);
	T_EQ(ifc_update(t, &rd, 10000, 10000), 0);
	set(&rd, IFC_IN_OCTETS, 500, 1);
	T_EQ(ifc_update(t, &rd, 10099, 10099), 0); /* 99 ms: dropped */
	r = only(t);
	T_EQ(r.have, 0);
	T_EQ(r.updated_ms, 10000);
	/* The first baseline was kept: 1000 bytes over 1 s. */
	set(&rd, IFC_IN_OCTETS, 1000, 1);
	T_EQ(ifc_update(t, &rd, 11000, 11000), 1);
	r = only(t);
	T_NEAR(r.r[IFC_IN_OCTETS], 1000);
	T_EQ(r.interval_ms, 1000);
	/* Exactly 100 ms is enough. */
	set(&rd, IFC_IN_OCTETS, 1100, 1);
	T_EQ(ifc_update(t, &rd, 11100, 11100), 1);
	T_NEAR(only(t).r[IFC_IN_OCTETS], 1000);
	ifc_stats(t, &st);
	T_EQ(st.too_soon, 1);
	T_EQ(st.readings, 4);
	ifc_free(t);
}

static void
source_preference(void)
{
	struct ifc_table *t = ifc_new(16, 7);
	struct ifc_reading sf = reading(9, IFC_SRC_SFLOW, GBIT);
	struct ifc_reading sn = reading(9, IFC_SRC_SNMP, GBIT);
	struct ifc_stats st;
	struct ifc_rates r;

	set(&sf, IFC_IN_OCTETS, 0, 1);
	T_EQ(ifc_update(t, &sf, 0, 0), 0);
	set(&sf, IFC_IN_OCTETS, 10000, 1);
	T_EQ(ifc_update(t, &sf, 10000, 10000), 1);
	/* SNMP while sFlow is under 30 s old: ignored, even its status */
	set(&sn, IFC_IN_OCTETS, 99999999, 1);
	sn.oper = IFC_DOWN;
	T_EQ(ifc_update(t, &sn, 20000, 20000), 0);
	T_EQ(ifc_update(t, &sn, 39999, 39999), 0);
	r = only(t);
	T_EQ(r.source, IFC_SRC_SFLOW);
	T_NEAR(r.r[IFC_IN_OCTETS], 1000);
	T_EQ(r.oper, IFC_UP);
	ifc_stats(t, &st);
	T_EQ(st.ignored, 2);
	/* sFlow silent for 30 s: SNMP takes over, baseline restarts */
	T_EQ(ifc_update(t, &sn, 40000, 40000), 0);
	r = only(t);
	T_EQ(r.source, IFC_SRC_SNMP);
	T_EQ(r.have, 0);
	T_EQ(r.oper, IFC_DOWN);
	set(&sn, IFC_IN_OCTETS, 99999999 + 50000, 1);
	T_EQ(ifc_update(t, &sn, 50000, 50000), 1);
	r = only(t);
	T_NEAR(r.r[IFC_IN_OCTETS], 5000);
	/* sFlow is back: it takes over at once */
	set(&sf, IFC_IN_OCTETS, 20000, 1);
	T_EQ(ifc_update(t, &sf, 55000, 55000), 0);
	r = only(t);
	T_EQ(r.source, IFC_SRC_SFLOW);
	T_EQ(r.have, 0);
	T_EQ(r.oper, IFC_UP);
	/* and SNMP is ignored again */
	T_EQ(ifc_update(t, &sn, 56000, 56000), 0);
	T_EQ(only(t).source, IFC_SRC_SFLOW);
	set(&sf, IFC_IN_OCTETS, 30000, 1);
	T_EQ(ifc_update(t, &sf, 60000, 60000), 1);
	T_NEAR(only(t).r[IFC_IN_OCTETS], 2000);
	ifc_stats(t, &st);
	T_EQ(st.ignored, 3);
	T_EQ(st.discontinuities, 0);
	ifc_free(t);
}

static void
bound_and_expiry(void)
{
	struct ifc_table *t = ifc_new(2, 8);
	struct ifc_reading a = reading(1, IFC_SRC_SFLOW, 0);
	struct ifc_reading b = reading(2, IFC_SRC_SFLOW, 0);
	struct ifc_reading c = reading(3, IFC_SRC_SFLOW, 0);
	struct ifc_stats st;
	struct ifc_rates *all;
	size_t n;

	set(&a, IFC_IN_OCTETS, 0, 1);
	set(&b, IFC_IN_OCTETS, 0, 1);
	set(&c, IFC_IN_OCTETS, 0, 1);
	T_EQ(ifc_update(t, &a, 0, 0), 0);
	T_EQ(ifc_update(t, &b, 50000, 50000), 0);
	T_EQ(ifc_update(t, &c, 50000, 50000), -1);
	T_EQ(ifc_update(t, &c, 51000, 51000), -1);
	ifc_stats(t, &st);
	T_EQ(st.refused, 2);
	T_EQ(st.ifaces, 2);
	/* Known interfaces still update in a full table. */
	set(&b, IFC_IN_OCTETS, 1000, 1);
	T_EQ(ifc_update(t, &b, 51000, 51000), 1);
	/* a is 61 s old, b 10 s: a goes; exactly max_age stays */
	T_EQ(ifc_expire(t, 60000, 60000), 0);
	T_EQ(ifc_expire(t, 61000, 60000), 1);
	all = ifc_rates_all(t, &n);
	T_EQ(n, 1);
	if (n == 1)
		T_EQ(all[0].ifindex, 2);
	free(all);
	/* Room again; the expired one comes back as new (no rates). */
	T_EQ(ifc_update(t, &c, 62000, 62000), 0);
	T_EQ(ifc_update(t, &a, 62000, 62000), -1);
	set(&b, IFC_IN_OCTETS, 3000, 1);
	T_EQ(ifc_update(t, &b, 53000, 53000), 1); /* b still found */
	T_EQ(ifc_expire(t, 1000000, 1000), 2);
	all = ifc_rates_all(t, &n);
	T_EQ(n, 0);
	T_OK(all == NULL);
	ifc_stats(t, &st);
	T_EQ(st.ifaces, 0);
	T_EQ(st.refused, 3);
	ifc_free(t);
}

/* Many interfaces over several agents: the index grows and stays right. */
/*
 * The order kept between snapshots: interfaces added a few at a time in a
 * random order, with a copy after each batch and an expiry between, are
 * always every interface, each once, in (agent, ifIndex) order.
 */
static void
sorted_incrementally(void)
{
	struct ifc_table *t = ifc_new(4000, 11);
	uint64_t rng = 0x9e3779b97f4a7c15ull, mono = 1000;
	size_t want = 0, bad = 0, batches = 0;
	uint8_t *have = calloc(4000, 1);

	for (int b = 0; b < 60; b++) {
		int add = 1 + (int)(rng % 97);

		for (int k = 0; k < add; k++) {
			uint32_t id;
			struct ifc_reading rd;

			rng ^= rng << 13;
			rng ^= rng >> 7;
			rng ^= rng << 17;
			id = (uint32_t)(rng % 4000);
			rd = reading(id % 200 + 1, IFC_SRC_SFLOW, 0);
			rd.agent = v4(10, 0, (uint8_t)(id / 200 / 10),
			    (uint8_t)(id / 200 % 10));
			set(&rd, IFC_IN_OCTETS, 1, 1);
			ifc_update(t, &rd, mono, 0);
			if (!have[id]) {
				have[id] = 1;
				want++;
			}
		}
		if (b == 30) { /* everything older goes: new ones from here */
			mono += 100000;
			ifc_expire(t, mono, 50000);
			memset(have, 0, 4000);
			want = 0;
		}
		{
			size_t n;
			struct ifc_rates *all = ifc_rates_all(t, &n);

			batches++;
			if (n != want)
				bad++;
			for (size_t i = 1; i < n; i++)
				if (ifc_key_cmp(&all[i - 1].agent,
				        all[i - 1].ifindex, &all[i].agent,
				        all[i].ifindex) >= 0)
					bad++;
			free(all);
		}
		mono += 10;
	}
	T_EQ(batches, 60);
	T_EQ(bad, 0);
	free(have);
	ifc_free(t);
}

static void
many_and_sorted(void)
{
	struct ifc_table *t = ifc_new(5000, 9);
	struct ifc_rates *all;
	size_t n;
	int bad = 0;

	for (int round = 0; round < 2; round++) {
		for (int i = 2999; i >= 0; i--) {
			struct ifc_reading rd =
			    reading((uint32_t)(i % 1000), IFC_SRC_SFLOW, 0);

			if (i >= 2000) {
				rd.agent.family = 6;
				memset(rd.agent.a, 0, 16);
				rd.agent.a[0] = 0x20;
				rd.agent.a[15] = 1;
			} else {
				rd.agent =
				    v4(10, 0, 0, (uint8_t)(2 - i / 1000));
				rd.agent.a[7] =
				    0xee; /* junk past the address */
			}
			set(&rd, IFC_IN_OCTETS, (uint64_t)round * i, 1);
			if (ifc_update(t, &rd, (uint64_t)round * 1000, 0) !=
			    round)
				bad++;
		}
	}
	T_EQ(bad, 0);
	all = ifc_rates_all(t, &n);
	T_EQ(n, 3000);
	for (size_t i = 1; i < n; i++)
		if (ifc_key_cmp(&all[i - 1].agent, all[i - 1].ifindex,
		        &all[i].agent, all[i].ifindex) >= 0)
			bad++;
	T_EQ(bad, 0);
	if (n == 3000) {
		/* 10.0.0.1 first, then 10.0.0.2, then the IPv6 agent */
		T_EQ(all[0].agent.family, 4);
		T_EQ(all[0].agent.a[3], 1);
		T_EQ(all[0].agent.a[7], 0); /* normalised */
		T_EQ(all[1000].agent.a[3], 2);
		T_EQ(all[2000].agent.family, 6);
		T_EQ(all[2999].ifindex, 999);
		/* 10.0.0.1 ifindex 7 came from i = 1007: 1007 bytes/s */
		T_NEAR(all[7].r[IFC_IN_OCTETS], 1007);
	}
	free(all);
	ifc_free(t);
}

/* ---- ifc_from_sflow on a real datagram ---------------------------------- */

struct xdr {
	uint8_t b[2048];
	size_t n;
	size_t open[4];
	int depth;
};

static void
x32(struct xdr *x, uint32_t v)
{
	if (x->n + 4 > sizeof(x->b))
		abort(); /* a test bug */
	x->b[x->n++] = (uint8_t)(v >> 24);
	x->b[x->n++] = (uint8_t)(v >> 16);
	x->b[x->n++] = (uint8_t)(v >> 8);
	x->b[x->n++] = (uint8_t)v;
}

static void
x64(struct xdr *x, uint64_t v)
{
	x32(x, (uint32_t)(v >> 32));
	x32(x, (uint32_t)v);
}

static void
xbegin(struct xdr *x, uint32_t tag)
{
	x32(x, tag);
	x->open[x->depth++] = x->n;
	x32(x, 0);
}

static void
xend(struct xdr *x)
{
	size_t at = x->open[--x->depth];
	uint32_t len = (uint32_t)(x->n - at - 4);

	x->b[at] = (uint8_t)(len >> 24);
	x->b[at + 1] = (uint8_t)(len >> 16);
	x->b[at + 2] = (uint8_t)(len >> 8);
	x->b[at + 3] = (uint8_t)len;
}

/* A datagram from 192.0.2.9 with one counter sample: generic + ethernet. */
static void
build(struct xdr *x, uint64_t speed, uint32_t status, uint32_t promisc)
{
	memset(x, 0, sizeof(*x));
	x32(x, 5);
	x32(x, 1);
	x32(x, 0xc0000209u);
	x32(x, 0);
	x32(x, 1);
	x32(x, 1000);
	x32(x, 1);
	xbegin(x, SFLOW_SAMPLE_COUNTERS);
	x32(x, 1); /* seq */
	x32(x, 7); /* source id: ifIndex 7 */
	x32(x, 2); /* records */
	xbegin(x, SFLOW_CTR_ETHERNET);
	for (int i = 0; i < 13; i++)
		x32(x, 0);
	xend(x);
	xbegin(x, SFLOW_CTR_GENERIC);
	x32(x, 7);            /* ifIndex */
	x32(x, 6);            /* networkType */
	x64(x, speed);        /* ifSpeed */
	x32(x, 1);            /* ifDirection: full */
	x32(x, status);       /* ifStatus */
	x64(x, 123456789012); /* ifInOctets */
	x32(x, 1000);         /* ifInUcastPkts */
	x32(x, 0xffffffffu);  /* ifInMulticastPkts: unknown */
	x32(x, 5);            /* ifInBroadcastPkts */
	x32(x, 6);            /* ifInDiscards */
	x32(x, 7);            /* ifInErrors */
	x32(x, 8);            /* ifInUnknownProtos */
	x64(x, UINT64_MAX);   /* ifOutOctets: unknown */
	x32(x, 2000);         /* ifOutUcastPkts */
	x32(x, 11);           /* ifOutMulticastPkts */
	x32(x, 12);           /* ifOutBroadcastPkts */
	x32(x, 13);           /* ifOutDiscards */
	x32(x, 14);           /* ifOutErrors */
	x32(x, promisc);      /* ifPromiscuousMode */
	xend(x);
	xend(x);
}

/* Decode x; fill rd from its generic record. Returns ifc_from_sflow()'s
 * result for it, and that of the ethernet record in *eth_rc. */
static int
decode(struct xdr *x, struct ifc_reading *rd, int *eth_rc)
{
	struct sflow_datagram dg;
	struct sflow_sample s;
	struct sflow_record r;
	uint8_t *copy = malloc(x->n);
	int rc = -2;

	memcpy(copy, x->b, x->n);
	if (sflow_datagram_open(&dg, copy, x->n) != SFLOW_OK) {
		free(copy);
		return -3;
	}
	while (sflow_sample_next(&dg, &s) > 0)
		while (sflow_record_next(&s, &r) > 0) {
			if (r.tag == SFLOW_CTR_GENERIC)
				rc = ifc_from_sflow(rd, &dg.agent, &r);
			else
				*eth_rc = ifc_from_sflow(rd, &dg.agent, &r);
		}
	T_EQ(sflow_datagram_errors(&dg), 0);
	free(copy);
	return rc;
}

static void
from_sflow(void)
{
	struct xdr x;
	struct ifc_reading rd;
	int eth_rc = 99;
	struct sflow_record fake;

	build(&x, 10 * GBIT, 3, 1);
	memset(&rd, 0x5a, sizeof(rd));
	T_EQ(decode(&x, &rd, &eth_rc), 0);
	T_EQ(eth_rc, -1);
	T_EQ(rd.agent.family, 4);
	T_EQ(rd.agent.a[0], 192);
	T_EQ(rd.agent.a[3], 9);
	T_EQ(rd.agent.a[4], 0);
	T_EQ(rd.ifindex, 7);
	T_EQ(rd.source, IFC_SRC_SFLOW);
	T_EQ(rd.iftype, 6);
	T_EQ(rd.speed, 10 * GBIT);
	T_EQ(rd.direction, 1);
	T_EQ(rd.admin, IFC_UP);
	T_EQ(rd.oper, IFC_UP);
	T_EQ(rd.promisc, 1);
	T_EQ(rd.c[IFC_IN_OCTETS], 123456789012ull);
	T_EQ(rd.c[IFC_IN_UCAST], 1000);
	T_EQ(rd.c[IFC_IN_BCAST], 5);
	T_EQ(rd.c[IFC_IN_DISCARDS], 6);
	T_EQ(rd.c[IFC_IN_ERRORS], 7);
	T_EQ(rd.c[IFC_IN_UNKNOWN], 8);
	T_EQ(rd.c[IFC_OUT_UCAST], 2000);
	T_EQ(rd.c[IFC_OUT_MCAST], 11);
	T_EQ(rd.c[IFC_OUT_BCAST], 12);
	T_EQ(rd.c[IFC_OUT_DISCARDS], 13);
	T_EQ(rd.c[IFC_OUT_ERRORS], 14);
	/* all present but the two "unknown" ones; only octets are wide */
	T_EQ(rd.have,
	    ((1u << IFC_N) - 1) & ~IFC_BIT(IFC_IN_MCAST) &
	        ~IFC_BIT(IFC_OUT_OCTETS));
	T_EQ(rd.wide, IFC_BIT(IFC_IN_OCTETS));

	/* admin up, oper down; promiscuous false; speed unknown */
	build(&x, UINT64_MAX, 1, 0);
	T_EQ(decode(&x, &rd, &eth_rc), 0);
	T_EQ(rd.admin, IFC_UP);
	T_EQ(rd.oper, IFC_DOWN);
	T_EQ(rd.promisc, 2);
	T_EQ(rd.speed, 0);
	build(&x, GBIT, 0, 7);
	T_EQ(decode(&x, &rd, &eth_rc), 0);
	T_EQ(rd.admin, IFC_DOWN);
	T_EQ(rd.oper, IFC_DOWN);
	T_EQ(rd.promisc, 0);

	/* Not decoded, or a flow record: refused, reading untouched. */
	memset(&fake, 0, sizeof(fake));
	fake.tag = SFLOW_CTR_GENERIC;
	fake.counter = true;
	rd.ifindex = 4242;
	T_EQ(ifc_from_sflow(&rd, &rd.agent, &fake), -1);
	fake.counter = false;
	fake.decoded = true;
	T_EQ(ifc_from_sflow(&rd, &rd.agent, &fake), -1);
	T_EQ(rd.ifindex, 4242);
}

/*
 * Every field of the generic record a distinct value, written in the
 * spec's order (sFlow v5, counters_sample if_counters): each must land in
 * its own place of the reading. A field mapped to the wrong counter, or
 * the wrong width, shows here.
 */
static void
from_sflow_mapping(void)
{
	struct xdr x;
	struct ifc_reading rd;
	struct sflow_datagram dg;
	struct sflow_sample s;
	struct sflow_record r, gen;
	int rc = -2, nrec = 0;
	static const struct {
		enum ifc_field f;
		uint64_t v;
	} want[] = {
		{ IFC_IN_OCTETS, 0x0000000500000105ull },
		{ IFC_IN_UCAST, 106 },
		{ IFC_IN_MCAST, 107 },
		{ IFC_IN_BCAST, 108 },
		{ IFC_IN_DISCARDS, 109 },
		{ IFC_IN_ERRORS, 110 },
		{ IFC_IN_UNKNOWN, 111 },
		{ IFC_OUT_OCTETS, 0x0000000c00000112ull },
		{ IFC_OUT_UCAST, 113 },
		{ IFC_OUT_MCAST, 114 },
		{ IFC_OUT_BCAST, 115 },
		{ IFC_OUT_DISCARDS, 116 },
		{ IFC_OUT_ERRORS, 117 },
	};

	memset(&x, 0, sizeof(x));
	x32(&x, 5);
	x32(&x, 1);
	x32(&x, 0xc0000209u);
	x32(&x, 0);
	x32(&x, 1);
	x32(&x, 1000);
	x32(&x, 1);
	xbegin(&x, SFLOW_SAMPLE_COUNTERS);
	x32(&x, 1);
	x32(&x, 101);
	x32(&x, 1);
	xbegin(&x, SFLOW_CTR_GENERIC);
	x32(&x, 101);                   /* ifIndex */
	x32(&x, 102);                   /* networkType */
	x64(&x, 0x0000000300000103ull); /* ifSpeed */
	x32(&x, 4);                     /* ifDirection: out */
	x32(&x, 2);                     /* ifStatus: admin down, oper up */
	for (size_t i = 0; i < nitems(want); i++)
		if (want[i].f == IFC_IN_OCTETS || want[i].f == IFC_OUT_OCTETS)
			x64(&x, want[i].v);
		else
			x32(&x, (uint32_t)want[i].v);
	x32(&x, 1); /* ifPromiscuousMode: true */
	xend(&x);
	xend(&x);

	memset(&rd, 0x5a, sizeof(rd));
	T_EQ(sflow_datagram_open(&dg, x.b, x.n), SFLOW_OK);
	while (sflow_sample_next(&dg, &s) > 0)
		while (sflow_record_next(&s, &r) > 0) {
			nrec++;
			rc = ifc_from_sflow(&rd, &dg.agent, &r);
			gen = r; /* the cursor clears r at the end */
		}
	T_EQ(sflow_datagram_errors(&dg), 0);
	T_EQ(nrec, 1);
	T_EQ(rc, 0);
	T_EQ(rd.ifindex, 101);
	T_EQ(rd.iftype, 102);
	T_EQ(rd.speed, 0x0000000300000103ull);
	T_EQ(rd.direction, 4);
	T_EQ(rd.admin, IFC_DOWN);
	T_EQ(rd.oper, IFC_UP);
	T_EQ(rd.promisc, 1);
	for (size_t i = 0; i < nitems(want); i++)
		if (rd.c[want[i].f] != want[i].v)
			T_FAIL("counter %d: %" PRIu64 ", expected %" PRIu64,
			    (int)want[i].f, rd.c[want[i].f], want[i].v);
	T_EQ(rd.have, (1u << IFC_N) - 1);
	T_EQ(rd.wide, IFC_BIT(IFC_IN_OCTETS) | IFC_BIT(IFC_OUT_OCTETS));

	/* The same record cut short by hand: what is there, no more. */
	gen.u.table.n = SFLOW_GEN_IN_UCAST;
	memset(&rd, 0x5a, sizeof(rd));
	T_EQ(ifc_from_sflow(&rd, &dg.agent, &gen), 0);
	T_EQ(rd.ifindex, 101);
	T_EQ(rd.c[IFC_IN_OCTETS], 0x0000000500000105ull);
	T_EQ(rd.have, IFC_BIT(IFC_IN_OCTETS));
	T_EQ(rd.promisc, 0);
	/* No ifIndex, or a field list that is not the generic one: -1. */
	gen.u.table.n = 0;
	rd.ifindex = 4242;
	T_EQ(ifc_from_sflow(&rd, &dg.agent, &gen), -1);
	gen.u.table.n = SFLOW_GEN__N;
	gen.u.table.fields = sflow_generic_fields + 1;
	T_EQ(ifc_from_sflow(&rd, &dg.agent, &gen), -1);
	T_EQ(rd.ifindex, 4242);
}

/* Two counter samples through the decoder and the table: rates. */
static void
sflow_end_to_end(void)
{
	struct ifc_table *t = ifc_new(4, 10);
	struct xdr x;
	struct ifc_reading rd;
	struct ifc_rates r;
	int eth_rc;

	build(&x, 10 * GBIT, 3, 0);
	T_EQ(decode(&x, &rd, &eth_rc), 0);
	T_EQ(ifc_update(t, &rd, 0, 0), 0);
	rd.c[IFC_IN_OCTETS] += 20000000;
	rd.c[IFC_IN_UCAST] += 400;
	T_EQ(ifc_update(t, &rd, 20000, 20000), 1);
	r = only(t);
	T_NEAR(r.r[IFC_IN_OCTETS], 1000000);
	T_NEAR(r.r[IFC_IN_UCAST], 20);
	T_NEAR(r.in_util, 0.08);
	T_OK(r.out_util < 0); /* ifOutOctets unknown */
	T_OK(!(r.have & IFC_BIT(IFC_IN_MCAST)));
	ifc_free(t);
}

int
main(void)
{
	t_suite = "ifcounters";
	T_RUN(rates_64bit);
	T_RUN(rates_32bit_wrap);
	T_RUN(reset_64bit);
	T_RUN(implausible);
	T_RUN(too_soon);
	T_RUN(snmp_stale_repeat);
	T_RUN(sflow_repeat_not_held);
	T_RUN(source_preference);
	T_RUN(bound_and_expiry);
	T_RUN(many_and_sorted);
	T_RUN(sorted_incrementally);
	T_RUN(from_sflow);
	T_RUN(from_sflow_mapping);
	T_RUN(sflow_end_to_end);
	return t_done();
}
