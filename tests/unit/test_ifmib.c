/*
 * test_ifmib.c: IF-MIB counter walks (snmpwalk -On text, as net-snmp
 * answers on the lab switches) turned into interface readings, and the
 * rates two walks give.
 */
#include <stdlib.h>

#include "ifmib.h"
#include "t.h"

static const char walk1[] =
    ".1.3.6.1.2.1.2.2.1.7.3 = INTEGER: 1\n"
    ".1.3.6.1.2.1.2.2.1.7.4 = INTEGER: 1\n"
    ".1.3.6.1.2.1.2.2.1.8.3 = INTEGER: 1\n"
    ".1.3.6.1.2.1.2.2.1.8.4 = INTEGER: 7\n"
    ".1.3.6.1.2.1.2.2.1.13.3 = Counter32: 4294967295\n"
    ".1.3.6.1.2.1.2.2.1.13.4 = Counter32: 5\n"
    ".1.3.6.1.2.1.2.2.1.14.3 = Counter32: 0\n"
    ".1.3.6.1.2.1.31.1.1.1.6.3 = Counter64: 1000000\n"
    ".1.3.6.1.2.1.31.1.1.1.6.4 = Counter64: 5\n"
    ".1.3.6.1.2.1.31.1.1.1.7.3 = Counter64: 100\n"
    ".1.3.6.1.2.1.31.1.1.1.10.3 = Counter64: 18446744073709551615\n"
    ".1.3.6.1.2.1.31.1.1.1.15.3 = Gauge32: 10000\n"
    /* hostile: wrong types, index 0, extra index parts, other columns */
    ".1.3.6.1.2.1.31.1.1.1.6.5 = Counter32: 7\n"
    ".1.3.6.1.2.1.2.2.1.8.6 = STRING: \"up\"\n"
    ".1.3.6.1.2.1.2.2.1.13.0 = Counter32: 1\n"
    ".1.3.6.1.2.1.2.2.1.13.3.1 = Counter32: 1\n"
    ".1.3.6.1.2.1.2.2.1.2.3 = STRING: \"swp2\"\n";

static const char walk2[] =
    ".1.3.6.1.2.1.2.2.1.13.3 = Counter32: 9\n"
    ".1.3.6.1.2.1.31.1.1.1.6.3 = Counter64: 126000000\n"
    ".1.3.6.1.2.1.31.1.1.1.10.3 = Counter64: 62499999\n"
    ".1.3.6.1.2.1.31.1.1.1.15.3 = Gauge32: 10000\n";

static void
test_readings(void)
{
	struct walk *w = walk_parse_text(walk1, "t", NULL);
	struct sflow_addr a = { .family = 4, .a = { 10, 99, 0, 21 } };
	struct ifc_reading *r;
	size_t n;
	uint64_t bad = 0;

	ifmib_readings(w, &a, &r, &n, &bad);
	T_EQ(n, 2);
	T_EQ(bad, 4); /* 6.5 Counter32, 8.6 STRING, 13.0, 13.3.1 */
	T_EQ(r[0].ifindex, 3);
	T_EQ(r[1].ifindex, 4);
	T_EQ(r[0].admin, 1);
	T_EQ(r[0].oper, 1);
	T_EQ(r[1].oper, 7); /* lowerLayerDown, as IF-MIB says */
	T_EQ(r[0].speed, 10000000000ull);
	T_EQ(r[0].c[IFC_IN_OCTETS], 1000000);
	T_EQ(r[0].c[IFC_IN_DISCARDS], 4294967295u);
	T_EQ(r[0].c[IFC_OUT_OCTETS], UINT64_MAX);
	T_EQ(r[0].have,
	    IFC_BIT(IFC_IN_OCTETS) | IFC_BIT(IFC_IN_UCAST) |
	        IFC_BIT(IFC_OUT_OCTETS) | IFC_BIT(IFC_IN_DISCARDS) |
	        IFC_BIT(IFC_IN_ERRORS));
	T_EQ(r[0].wide,
	    IFC_BIT(IFC_IN_OCTETS) | IFC_BIT(IFC_IN_UCAST) |
	        IFC_BIT(IFC_OUT_OCTETS));
	T_EQ(r[0].source, IFC_SRC_SNMP);
	T_OK(r[0].agent.family == 4 && r[0].agent.a[3] == 21);
	free(r);
	walk_free(w);
}

/* Two walks 5 s apart: a 64-bit octet counter that grew by 125 MB is
 * 25 MB/s = 2% of 10 Gb/s; a 32-bit one that wrapped from 2^32-1 to 9
 * grew by 10; the 64-bit one that went from 2^64-1 to 62499999 is a
 * reset (no rates that round), not a wrap. */
static void
test_rates(void)
{
	struct walk *w1 = walk_parse_text(walk1, "t", NULL),
	            *w2 = walk_parse_text(walk2, "t", NULL);
	struct sflow_addr a = { .family = 4, .a = { 10, 99, 0, 21 } };
	struct ifc_table *t = ifc_new(16, 1);
	struct ifc_reading *r;
	struct ifc_rates *all;
	size_t n, na;
	uint64_t bad = 0;

	ifmib_readings(w1, &a, &r, &n, &bad);
	for (size_t i = 0; i < n; i++)
		ifc_update(t, &r[i], 1000, 1000);
	free(r);
	ifmib_readings(w2, &a, &r, &n, &bad);
	T_EQ(n, 1);
	T_EQ(ifc_update(t, &r[0], 6000, 6000), 0); /* out octets reset */
	free(r);
	all = ifc_rates_all(t, &na);
	T_EQ(na, 2);
	T_EQ(all[0].have, 0);
	T_EQ(all[0].discontinuities, 1);
	free(all);
	ifc_free(t);
	walk_free(w1);
	walk_free(w2);

	/* Without the reset: the wrap and the rate. */
	w1 = walk_parse_text(walk1, "t", NULL);
	t = ifc_new(16, 1);
	ifmib_readings(w1, &a, &r, &n, &bad);
	r[0].have &= ~IFC_BIT(IFC_OUT_OCTETS);
	ifc_update(t, &r[0], 1000, 1000);
	free(r);
	w2 = walk_parse_text(walk2, "t", NULL);
	ifmib_readings(w2, &a, &r, &n, &bad);
	r[0].have &= ~IFC_BIT(IFC_OUT_OCTETS);
	T_EQ(ifc_update(t, &r[0], 6000, 6000), 1);
	free(r);
	all = ifc_rates_all(t, &na);
	T_OK(all[0].r[IFC_IN_OCTETS] == 25000000.0);
	T_OK(all[0].in_util == 2.0);
	T_OK(all[0].r[IFC_IN_DISCARDS] == 2.0); /* 10 in 5 s */
	free(all);
	ifc_free(t);
	walk_free(w1);
	walk_free(w2);
}

int
main(void)
{
	t_suite = "ifmib";
	T_RUN(test_readings);
	T_RUN(test_rates);
	return t_done();
}
