/*
 * test_lldp.c: one switch's facts from its walk (topology/lldp.c), on
 * walks recorded in the lab (tests/unit/walks/lab-*.txt, with the lab's
 * own account of its cabling in lab-info.txt) and on hand-written
 * pitfall walks (pitfall-*.txt). Run from the repository root.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "labwalk.h"
#include "lldp.h"
#include "t.h"
#include "util.h"
#include "walk.h"

#define WALKS "tests/unit/walks/"


/* Facts from a recorded walk; every line of a fixture must parse. */
static int
load(const char *file, struct sw_facts *f)
{
	char path[256], *text;
	struct walk *w;
	size_t bad = 0;
	int rc;

	snprintf(path, sizeof(path), WALKS "%s", file);
	text = slurp(path);
	w = walk_parse_text(text, file, &bad);
	if (bad != 0)
		T_FAIL("%s: %zu lines did not parse", file, bad);
	rc = lldp_facts_from_walk(w, f);
	walk_free(w);
	free(text);
	return rc;
}

/* lab-info.txt: `lab.sh info` at recording time, key=value lines. */

static const struct lldp_neighbor *
nbr_on(const struct sw_facts *f, uint32_t ifindex)
{
	const struct lldp_neighbor *found = NULL;

	for (size_t i = 0; i < f->n_nbrs; i++)
		if (f->nbrs[i].ifindex == ifindex) {
			if (found != NULL)
				T_FAIL("two neighbours on ifIndex %u", ifindex);
			found = &f->nbrs[i];
		}
	return found;
}

static const struct lldp_locport *
locport(const struct sw_facts *f, uint32_t num)
{
	for (size_t i = 0; i < f->n_ports; i++)
		if (f->ports[i].num == num)
			return &f->ports[i];
	return NULL;
}

static bool
has_addr(const struct lldp_neighbor *nb, const char *ip)
{
	char buf[64];

	for (size_t i = 0; i < nb->n_addrs; i++)
		if (strcmp(addr_fmt(buf, sizeof(buf), nb->addrs[i].family,
		               nb->addrs[i].a),
		        ip) == 0)
			return true;
	return false;
}

static const struct lldp_mgmt *
mgmt_of(const struct sw_facts *f, const char *ip)
{
	char buf[64];

	for (size_t i = 0; i < f->n_mgmt; i++)
		if (strcmp(addr_fmt(buf, sizeof(buf), f->mgmt[i].addr.family,
		               f->mgmt[i].addr.a),
		        ip) == 0)
			return &f->mgmt[i];
	return NULL;
}

/*
 * All six lab switches: identity, interfaces, and one neighbour per
 * cabled port, checked against what the lab says it cabled.
 */
static void
test_lab_facts(void)
{
	static const char *const sws[] = { "s1", "s2", "l1", "l2", "l3", "l4" };

	for (size_t s = 0; s < nitems(sws); s++) {
		const char *sw = sws[s];
		struct sw_facts f;
		char file[64], idtext[64], ports[128], *save = NULL, *port;
		size_t nports = 0;

		snprintf(file, sizeof(file), "lab-%s.txt", sw);
		T_EQ(load(file, &f), 0);
		T_STREQ(f.sys_name, sw);
		T_STREQ(f.lldp_sys_name, sw);
		/* lldpd takes the chassis id from the first swp port */
		T_EQ(f.chassis_subtype, LLDP_CHASSIS_MAC);
		T_STREQ(lldp_id_text(true, f.chassis_subtype, f.chassis,
		            f.chassis_len, idtext, sizeof(idtext)),
		    info("port.%s.swp1.mac", sw));
		T_EQ(f.n_self_addrs, 1);
		T_EQ(f.n_self_addrs ? f.self_addrs[0].family : 0, 4);

		snprintf(
		    ports, sizeof(ports), "%s", info("switch.%s.ports", sw));
		for (port = strtok_r(ports, " ", &save); port != NULL;
		     port = strtok_r(NULL, " ", &save)) {
			uint32_t ifx = (uint32_t)atoi(
			    info("port.%s.%s.ifindex", sw, port));
			char peer[64], *colon;
			const struct lldp_if *x = lldp_find_if(&f, ifx);
			const struct lldp_locport *lp = locport(&f, ifx);
			const struct lldp_neighbor *nb = nbr_on(&f, ifx);
			bool host;

			nports++;
			T_OK(ifx > 0);
			T_OK(x != NULL);
			if (x != NULL) {
				T_STREQ(x->name, port);
				T_STREQ(x->descr, port);
				T_EQ(x->speed_mbps, 10000);
				T_EQ(x->oper, 1);
			}
			/* the lab's local port number is the ifIndex */
			T_OK(lp != NULL);
			if (lp != NULL) {
				T_EQ(lp->ifindex, ifx);
				T_EQ(lp->how, LLDP_MAP_IFINDEX);
				T_EQ(lp->id_subtype, LLDP_PORT_IFNAME);
			}
			snprintf(peer, sizeof(peer), "%s",
			    info("port.%s.%s.peer", sw, port));
			colon = strchr(peer, ':');
			T_OK(colon != NULL);
			T_OK(nb != NULL);
			if (nb == NULL || colon == NULL)
				continue;
			*colon = '\0';
			host = peer[0] == 'h';
			T_STREQ(nb->sys_name, peer);
			T_EQ(nb->port_subtype, LLDP_PORT_IFNAME);
			T_STREQ(lldp_id_text(false, nb->port_subtype, nb->port,
			            nb->port_len, idtext, sizeof(idtext)),
			    colon + 1);
			T_STREQ(nb->port_desc, colon + 1);
			T_OK(nb->caps_known);
			T_EQ(nb->caps,
			    host ? LLDP_CAP_STATION : LLDP_CAP_ROUTER);
			T_EQ(nb->chassis_subtype, LLDP_CHASSIS_MAC);
			/* management address: a switch's mgmt IP, a host's
			 * own address */
			T_EQ(nb->n_addrs, 1);
			T_OK(has_addr(nb,
			    host ? info("host.%s.ip", peer)
			         : info("switch.%s.mgmt", peer)));
			T_OK(mgmt_of(&f,
			         host ? info("host.%s.ip", peer)
			              : info("switch.%s.mgmt", peer)) != NULL);
		}
		/* lo, the swp ports, mgmt0 */
		T_EQ(f.n_ifs, nports + 2);
		T_EQ(f.n_ports, nports);
		T_EQ(f.n_nbrs, nports);
		T_EQ(f.n_mgmt, nports);
		T_EQ(f.stats.map[LLDP_MAP_IFINDEX], nports);
		T_EQ(f.stats.wrong_type + f.stats.bad_index +
		        f.stats.bad_value + f.stats.duplicate +
		        f.stats.too_many + f.stats.stale + f.stats.unmapped +
		        f.stats.orphan_addr,
		    0);
		lldp_facts_free(&f);
	}
}

/*
 * The mapping chain on a Cisco-like switch whose LLDP port numbers are
 * bridge ports (pitfall-acc1.txt explains each port).
 */
static void
test_mapping_chain(void)
{
	static const struct {
		uint32_t num, ifindex;
		enum lldp_map how;
	} want[] = {
		{ 1, 10101, LLDP_MAP_BRIDGE }, /* ifIndex 1 exists: Vlan1 */
		{ 2, 10102, LLDP_MAP_BRIDGE },
		{ 3, 10103, LLDP_MAP_BRIDGE }, /* MAC id, no name at all */
		{ 4, 10104, LLDP_MAP_BRIDGE },
		{ 5, 10105, LLDP_MAP_DESC },   /* MAC id; desc "Gi1/0/5" */
		{ 6, 10106, LLDP_MAP_PORTID }, /* GigabitEthernet1/0/6 */
		{ 7, 10107, LLDP_MAP_PORTID }, /* local "10107" */
		{ 8, 0, LLDP_MAP_NONE },
		{ 9, 10201, LLDP_MAP_BRIDGE },
	};
	struct sw_facts f;

	T_EQ(load("pitfall-acc1.txt", &f), 0);
	T_EQ(f.n_ports, nitems(want));
	for (size_t i = 0; i < nitems(want); i++) {
		const struct lldp_locport *lp = locport(&f, want[i].num);

		T_OK(lp != NULL);
		if (lp == NULL)
			continue;
		if (lp->ifindex != want[i].ifindex || lp->how != want[i].how)
			T_FAIL("port %u: ifindex %u by %s, expected %u by %s",
			    lp->num, lp->ifindex, lldp_map_name(lp->how),
			    want[i].ifindex, lldp_map_name(want[i].how));
	}
	T_EQ(f.stats.map[LLDP_MAP_BRIDGE], 5);
	T_EQ(f.stats.map[LLDP_MAP_DESC], 1);
	T_EQ(f.stats.map[LLDP_MAP_PORTID], 2);
	T_EQ(f.stats.map[LLDP_MAP_NONE], 1);
	/* the neighbour on port 8 has no ifIndex, and is counted */
	T_EQ(f.stats.unmapped, 1);
	T_OK(nbr_on(&f, 0) != NULL);
	T_STREQ(nbr_on(&f, 0)->sys_name, "srv8");
	lldp_facts_free(&f);
}

/* dist1's local port numbers are ifIndexes whose names agree. */
static void
test_mapping_ifindex(void)
{
	struct sw_facts f;

	T_EQ(load("pitfall-dist1.txt", &f), 0);
	T_EQ(f.n_ports, 2);
	T_EQ(f.ports[0].ifindex, 49);
	T_EQ(f.ports[0].how, LLDP_MAP_IFINDEX);
	T_EQ(f.ports[1].ifindex, 50);
	T_EQ(f.ports[1].how, LLDP_MAP_IFINDEX);
	/* the sysName and LLDP's system name differ: both kept */
	T_STREQ(f.sys_name, "dist1");
	T_STREQ(f.lldp_sys_name, "dist1.example.net");
	lldp_facts_free(&f);
}

/* The port number is an existing ifIndex, but the names say otherwise. */
static void
test_mapping_contradiction(void)
{
	static const char text[] =
	    ".1.3.6.1.2.1.1.5.0 = STRING: \"x\"\n"
	    ".1.3.6.1.2.1.31.1.1.1.1.3 = STRING: \"Ethernet3\"\n"
	    ".1.3.6.1.2.1.31.1.1.1.1.7 = STRING: \"Ethernet7\"\n"
	    ".1.0.8802.1.1.2.1.3.7.1.2.3 = INTEGER: 5\n"
	    ".1.0.8802.1.1.2.1.3.7.1.3.3 = STRING: \"Et7\"\n"
	    ".1.0.8802.1.1.2.1.3.7.1.2.7 = INTEGER: 5\n"
	    ".1.0.8802.1.1.2.1.3.7.1.3.7 = STRING: \"Eth3\"\n"
	    ".1.0.8802.1.1.2.1.3.7.1.2.9 = INTEGER: 5\n"
	    ".1.0.8802.1.1.2.1.3.7.1.3.9 = STRING: \"Ethernet9\"\n";
	struct walk *w = walk_parse_text(text, "x", NULL);
	struct sw_facts f;

	lldp_facts_from_walk(w, &f);
	T_EQ(f.n_ports, 3);
	T_EQ(locport(&f, 3)->ifindex, 7);
	T_EQ(locport(&f, 3)->how, LLDP_MAP_PORTID);
	T_EQ(locport(&f, 7)->ifindex, 3);
	T_EQ(locport(&f, 9)->ifindex, 0);
	lldp_facts_free(&f);
	walk_free(w);
}

/* A walk without IF-MIB (an agent that only has LLDP-MIB). */
static void
test_mapping_no_ifmib(void)
{
	static const char text[] =
	    ".1.0.8802.1.1.2.1.3.3.0 = STRING: \"bare\"\n"
	    ".1.0.8802.1.1.2.1.3.7.1.3.1 = STRING: \"p1\"\n"
	    ".1.0.8802.1.1.2.1.3.7.1.3.2 = STRING: \"p2\"\n"
	    ".1.3.6.1.2.1.17.1.4.1.2.2 = INTEGER: 12\n";
	struct walk *w = walk_parse_text(text, "x", NULL);
	struct sw_facts f;

	T_EQ(lldp_facts_from_walk(w, &f), 0);
	T_STREQ(f.sys_name, "");
	T_STREQ(f.lldp_sys_name, "bare");
	T_EQ(f.n_ifs, 0);
	T_EQ(locport(&f, 1)->ifindex, 1);
	T_EQ(locport(&f, 1)->how, LLDP_MAP_ASSUMED);
	T_EQ(locport(&f, 2)->ifindex, 12);
	T_EQ(f.stats.map[LLDP_MAP_ASSUMED], 2);
	lldp_facts_free(&f);
	walk_free(w);
}

/*
 * Neighbours are keyed on (localPort, remIndex): an older timeMark of
 * the same key, or the same neighbour under an older remIndex, is stale.
 */
static void
test_timemark(void)
{
	struct sw_facts f, g;
	const struct lldp_neighbor *nb;

	T_EQ(load("pitfall-acc1.txt", &f), 0);
	T_EQ(f.stats.stale, 2);
	T_EQ(f.n_nbrs, 8);
	nb = nbr_on(&f, 10105);
	T_OK(nb != NULL);
	if (nb != NULL) {
		T_STREQ(nb->sys_name, "srv5");
		T_EQ(nb->time_mark, 500);
		T_EQ(nb->rem_index, 7);
		/* its address row carries the older timeMark: still its */
		T_OK(has_addr(nb, "192.168.1.5"));
	}
	nb = nbr_on(&f, 10106);
	T_OK(nb != NULL);
	if (nb != NULL) {
		T_STREQ(nb->sys_name, "srv6");
		T_EQ(nb->rem_index, 8);
	}
	lldp_facts_free(&f);

	/* The lab, before and after l1's swp1 flapped: new timeMark and
	 * remIndex on both ends, the same neighbours. */
	static const char *const pairs[][2] = {
		{ "lab-l1.txt", "lab-l1-relink.txt" },
		{ "lab-s1.txt", "lab-s1-relink.txt" },
	};
	for (size_t i = 0; i < nitems(pairs); i++) {
		T_EQ(load(pairs[i][0], &f), 0);
		T_EQ(load(pairs[i][1], &g), 0);
		T_EQ(f.n_nbrs, g.n_nbrs);
		T_EQ(g.stats.stale, 0);
		T_OK(f.nbrs[0].time_mark != g.nbrs[0].time_mark);
		T_OK(f.nbrs[0].rem_index != g.nbrs[0].rem_index);
		for (size_t k = 0; k < f.n_nbrs && k < g.n_nbrs; k++) {
			T_EQ(f.nbrs[k].ifindex, g.nbrs[k].ifindex);
			T_STREQ(f.nbrs[k].sys_name, g.nbrs[k].sys_name);
			T_EQ(f.nbrs[k].n_addrs, g.nbrs[k].n_addrs);
		}
		lldp_facts_free(&f);
		lldp_facts_free(&g);
	}
}

/* One (localPort, remIndex) under several timeMarks (TimeFilter). */
static void
test_timefilter_rows(void)
{
	static const char text[] =
	    ".1.3.6.1.2.1.31.1.1.1.1.5 = STRING: \"e5\"\n"
	    ".1.0.8802.1.1.2.1.4.1.1.9.0.5.1 = STRING: \"old\"\n"
	    ".1.0.8802.1.1.2.1.4.1.1.9.4000000000.5.1 = STRING: \"new\"\n"
	    ".1.0.8802.1.1.2.1.4.1.1.9.30.5.1 = STRING: \"mid\"\n"
	    ".1.0.8802.1.1.2.1.4.1.1.9.30.5.2 = STRING: \"other\"\n";
	struct walk *w = walk_parse_text(text, "x", NULL);
	struct sw_facts f;

	T_EQ(lldp_facts_from_walk(w, &f), -1); /* no identity */
	T_EQ(f.n_nbrs, 2);
	T_EQ(f.stats.stale, 2);
	T_STREQ(f.nbrs[0].sys_name, "new");
	T_EQ(f.nbrs[0].time_mark, 4000000000u);
	/* another neighbour on the same port (empty ids): kept */
	T_STREQ(f.nbrs[1].sys_name, "other");
	T_EQ(f.nbrs[0].ifindex, 5);
	lldp_facts_free(&f);
	walk_free(w);
}

/* Management addresses: another remIndex, orphans, IPv6, the crawl. */
static void
test_mgmt_addrs(void)
{
	struct sw_facts f;
	const struct lldp_neighbor *nb;
	const struct lldp_mgmt *m;

	T_EQ(load("pitfall-acc1.txt", &f), 0);
	nb = nbr_on(&f, 10104); /* dist1, remIndex 4 */
	T_OK(nb != NULL);
	if (nb != NULL) {
		T_EQ(nb->rem_index, 4);
		T_EQ(nb->n_addrs, 2);
		T_OK(has_addr(nb, "10.0.0.2")); /* row under remIndex 99 */
		T_OK(has_addr(nb, "fd00::2"));
	}
	T_OK(has_addr(nbr_on(&f, 10101), "192.168.1.1"));
	T_EQ(nbr_on(&f, 10102)->n_addrs, 0);
	T_EQ(f.stats.orphan_addr, 1);
	T_EQ(f.stats.bad_index, 1); /* 1.4.10.0.0: too short */
	/* the crawl list: unique, sorted, the MAC address skipped */
	T_EQ(f.n_mgmt, 5);
	T_EQ(f.mgmt[0].addr.family, 4);
	T_EQ(f.mgmt[f.n_mgmt - 1].addr.family, 6);
	m = mgmt_of(&f, "10.0.0.2");
	T_OK(m != NULL && m->caps_known && (m->caps & LLDP_CAP_BRIDGE) != 0 &&
	    m->ifindex == 10104);
	T_STREQ(m ? m->sys_name : NULL, "dist1.example.net");
	m = mgmt_of(&f, "192.168.1.1");
	T_OK(m != NULL && m->caps == LLDP_CAP_STATION);
	m = mgmt_of(&f, "192.168.9.9"); /* orphan: still crawlable */
	T_OK(m != NULL && !m->caps_known && m->ifindex == 0);
	T_EQ(f.n_self_addrs, 1);
	lldp_facts_free(&f);
}

/* Duplicates, wrong types and capabilities in the pitfall walk. */
static void
test_bad_cells(void)
{
	struct sw_facts f;
	const struct lldp_if *x;
	const struct lldp_neighbor *nb;

	T_EQ(load("pitfall-acc1.txt", &f), 0);
	T_STREQ(f.sys_name, "acc1"); /* the first of two */
	T_EQ(f.stats.duplicate, 2);
	/* ifName INTEGER, lldpRemSysName INTEGER, caps INTEGER */
	T_EQ(f.stats.wrong_type, 3);
	x = lldp_find_if(&f, 10101);
	T_STREQ(x ? x->name : NULL, "Gi1/0/1");
	x = lldp_find_if(&f, 10108);
	T_STREQ(x ? x->name : NULL, "");
	T_STREQ(x ? x->descr : NULL, "GigabitEthernet1/0/8");
	T_EQ(x ? x->oper : 0, 2);
	nb = nbr_on(&f, 10107);
	T_OK(nb != NULL && nb->sys_name[0] == '\0' && !nb->caps_known);
	nb = nbr_on(&f, 10104);
	T_EQ(nb ? nb->caps : 0, LLDP_CAP_BRIDGE | LLDP_CAP_ROUTER);
	nb = nbr_on(&f, 10102); /* two octets of BITS */
	T_EQ(nb ? nb->caps : 0, LLDP_CAP_STATION);
	lldp_facts_free(&f);
}

static void
test_name_norm(void)
{
	static const char *const same[][2] = {
		{ "Gi1/0/4", "GigabitEthernet1/0/4" },
		{ "gi 1/0/4", "GigabitEthernet1/0/4" },
		{ "Te1/1/1", "TenGigabitEthernet1/1/1" },
		{ "Ten1/1/1", "TenGigE1/1/1" },
		{ "Eth1/1", "Ethernet1/1" },
		{ "Et1", "Ethernet1" },
		{ "Po10", "Port-channel10" },
		{ "port-channel10", "Port-Channel10" },
		{ "Fa0/1", "FastEthernet0/1" },
		{ "Hu0/0/0/1", "HundredGigE0/0/0/1" },
		{ "Fo1/0/1", "FortyGigabitEthernet1/0/1" },
		{ "Twe1/0/1", "TwentyFiveGigE1/0/1" },
		{ "Vl10", "Vlan10" },
		{ "Ma1", "Management1" },
		{ "BE100", "Bundle-Ether100" },
		{ "swp1", "SWP1" },
	};
	static const char *const differ[][2] = {
		{ "Gi1/0/4", "Gi1/0/40" },
		{ "Gi1/0/4", "Te1/0/4" },
		{ "ge-0/0/1", "GigabitEthernet0/0/1" }, /* Junos: its own */
		{ "Eth1/1", "Et1/2" },
		{ "swp1", "swp10" },
	};
	char a[128], b[128], small[4];

	for (size_t i = 0; i < nitems(same); i++)
		if (strcmp(lldp_name_norm(same[i][0], a, sizeof(a)),
		        lldp_name_norm(same[i][1], b, sizeof(b))) != 0)
			T_FAIL(
			    "%s != %s (%s, %s)", same[i][0], same[i][1], a, b);
	for (size_t i = 0; i < nitems(differ); i++)
		if (strcmp(lldp_name_norm(differ[i][0], a, sizeof(a)),
		        lldp_name_norm(differ[i][1], b, sizeof(b))) == 0)
			T_FAIL("%s == %s", differ[i][0], differ[i][1]);
	T_STREQ(
	    lldp_name_norm("Gi1/0/4", a, sizeof(a)), "gigabitethernet1/0/4");
	/* always terminated, whatever the room */
	T_STREQ(lldp_name_norm("GigabitEthernet1/0/4", small, sizeof(small)),
	    "gig");
	T_STREQ(lldp_name_norm("", a, sizeof(a)), "");
}

/* The neighbour side: which of dist1's ports does acc1 describe? */
static void
test_find_port(void)
{
	static const uint8_t mac50[] = { 0x00, 0x1a, 0x2b, 0x99, 0x00, 0x32 };
	static const uint8_t other_mac[] = { 2, 0, 0, 0, 0, 1 };
	struct sw_facts f;

	T_EQ(load("pitfall-dist1.txt", &f), 0);
	/* a MAC port id, equal to lldpLocPortId */
	T_EQ(lldp_find_port(&f, LLDP_PORT_MAC, mac50, 6, NULL), 50);
	/* an abbreviated name for "TenGigabitEthernet1/1/1" */
	T_EQ(lldp_find_port(
	         &f, LLDP_PORT_IFNAME, (const uint8_t *)"Te1/1/1", 7, NULL),
	    49);
	T_EQ(lldp_find_port(
	         &f, LLDP_PORT_LOCAL, (const uint8_t *)"ten1/1/2", 8, ""),
	    50);
	/* a MAC that names nothing: the description decides */
	T_EQ(lldp_find_port(
	         &f, LLDP_PORT_MAC, other_mac, 6, "TenGigabitEthernet1/1/2"),
	    50);
	T_EQ(lldp_find_port(&f, LLDP_PORT_MAC, other_mac, 6, "Te1/1/2"), 50);
	T_EQ(lldp_find_port(&f, LLDP_PORT_MAC, other_mac, 6, NULL), 0);
	T_EQ(lldp_find_port(&f, LLDP_PORT_IFNAME, (const uint8_t *)"Te1/1/9", 7,
	         "nothing"),
	    0);
	/* a MAC subtype never matches by name, even if printable */
	T_EQ(lldp_find_port(
	         &f, LLDP_PORT_MAC, (const uint8_t *)"Te1/1/1", 7, NULL),
	    0);
	lldp_facts_free(&f);

	T_EQ(load("pitfall-acc1.txt", &f), 0);
	T_EQ(lldp_find_port(&f, LLDP_PORT_IFNAME,
	         (const uint8_t *)"GigabitEthernet1/0/4", 20, NULL),
	    10104);
	T_EQ(lldp_find_port(
	         &f, LLDP_PORT_LOCAL, (const uint8_t *)"10107", 5, NULL),
	    10107);
	T_EQ(lldp_find_port(
	         &f, LLDP_PORT_IFNAME, (const uint8_t *)"x", 1, "uplink dist1"),
	    10201); /* ifAlias */
	lldp_facts_free(&f);
}

static void
test_id_text(void)
{
	static const uint8_t mac[] = { 0x02, 0xfb, 0x00, 0x11, 0x00, 0x01 };
	static const uint8_t ip4[] = { 1, 10, 99, 0, 11 };
	static const uint8_t bin[] = { 'a', 0, 0xff };
	char buf[64], small[6];

	T_STREQ(lldp_id_text(true, LLDP_CHASSIS_MAC, mac, 6, buf, sizeof(buf)),
	    "02:fb:00:11:00:01");
	T_STREQ(lldp_id_text(false, LLDP_PORT_MAC, mac, 6, buf, sizeof(buf)),
	    "02:fb:00:11:00:01");
	T_STREQ(lldp_id_text(true, LLDP_CHASSIS_ADDR, ip4, 5, buf, sizeof(buf)),
	    "10.99.0.11");
	T_STREQ(lldp_id_text(false, LLDP_PORT_IFNAME, (const uint8_t *)"swp1",
	            4, buf, sizeof(buf)),
	    "swp1");
	T_STREQ(lldp_id_text(false, LLDP_PORT_LOCAL, bin, 3, buf, sizeof(buf)),
	    "61:00:ff");
	T_STREQ(lldp_id_text(true, 7, bin, 0, buf, sizeof(buf)), "");
	T_STREQ(
	    lldp_id_text(true, LLDP_CHASSIS_MAC, mac, 6, small, sizeof(small)),
	    "02:fb");
}

/* Strings from the network come out as printable, valid UTF-8. */
static void
test_text_sanitised(void)
{
	struct walk *w = walk_new("x", 0);
	static const uint32_t sysname[] = { 1, 3, 6, 1, 2, 1, 1, 5, 0 };
	static const uint32_t ifname[] = { 1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 1,
		7 };
	static const uint32_t ifalias[] = { 1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 18,
		7 };
	static const uint8_t name[] = "sw\x01\x7f\xc3\xa9\xff\xe2\x82";
	static const uint8_t padded[] = { 'e', '7', 0, 0, ' ' };
	char long_name[300];
	struct sw_facts f;

	memset(long_name, 'x', sizeof(long_name));
	memcpy(long_name + LLDP_DESC_MAX - 2, "\xc3\xa9", 2); /* é cut */
	walk_add(w, sysname, nitems(sysname), WALK_STR, 0, name,
	    sizeof(name) - 1, NULL, 0);
	walk_add(w, ifname, nitems(ifname), WALK_STR, 0, padded, sizeof(padded),
	    NULL, 0);
	walk_add(w, ifalias, nitems(ifalias), WALK_STR, 0,
	    (const uint8_t *)long_name, sizeof(long_name), NULL, 0);
	T_EQ(lldp_facts_from_walk(w, &f), 0);
	T_STREQ(f.sys_name, "sw??\xc3\xa9???");
	T_EQ(f.n_ifs, 1);
	T_STREQ(f.ifs[0].name, "e7");
	T_EQ(strlen(f.ifs[0].alias), LLDP_DESC_MAX - 2);
	lldp_facts_free(&f);
	walk_free(w);
}

/*
 * A hostile agent: rows beyond the bounds, every kind of malformed
 * index, and it must stay fast (no O(n²) on 100k varbinds).
 */
static void
test_hostile_sizes(void)
{
	struct walk *w = walk_new("x", 400000);
	uint32_t oid[WALK_OID_MAX];
	struct sw_facts f;
	clock_t t0 = clock();
	static const uint32_t rem[] = { 1, 0, 8802, 1, 1, 2, 1, 4, 1, 1, 9 };
	static const uint32_t ifx[] = { 1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 1 };

	/* 40000 interfaces in reverse order, all named alike */
	for (uint32_t i = 40000; i > 0; i--) {
		memcpy(oid, ifx, sizeof(ifx));
		oid[nitems(ifx)] = i;
		walk_add(w, oid, nitems(ifx) + 1, WALK_STR, 0,
		    (const uint8_t *)"same", 4, NULL, 0);
	}
	/* 40000 neighbours on one port, each under 2 timeMarks */
	for (uint32_t i = 0; i < 80000; i++) {
		memcpy(oid, rem, sizeof(rem));
		oid[nitems(rem)] = i & 1;
		oid[nitems(rem) + 1] = 3;
		oid[nitems(rem) + 2] = i / 2 + 1;
		walk_add(w, oid, nitems(rem) + 3, WALK_STR, 0,
		    (const uint8_t *)"n", 1, NULL, 0);
	}
	/* malformed indexes */
	memcpy(oid, rem, sizeof(rem));
	walk_add(w, oid, nitems(rem) + 2, WALK_STR, 0, NULL, 0, NULL, 0);
	oid[nitems(rem)] = 1;
	oid[nitems(rem) + 1] = 0; /* local port 0 */
	oid[nitems(rem) + 2] = 1;
	walk_add(w, oid, nitems(rem) + 3, WALK_STR, 0, NULL, 0, NULL, 0);
	memcpy(oid, ifx, sizeof(ifx));
	walk_add(w, oid, nitems(ifx), WALK_STR, 0, NULL, 0, NULL, 0);
	oid[nitems(ifx)] = 0x80000000u;
	walk_add(w, oid, nitems(ifx) + 1, WALK_STR, 0, NULL, 0, NULL, 0);

	T_EQ(lldp_facts_from_walk(w, &f), -1);
	T_EQ(f.n_ifs, LLDP_MAX_ROWS);
	T_EQ(f.ifs[0].ifindex, 1);
	/* the first LLDP_MAX_ROWS rows, then the older timeMarks dropped */
	T_EQ(f.n_nbrs, LLDP_MAX_ROWS / 2);
	T_EQ(f.stats.stale, LLDP_MAX_ROWS / 2);
	T_EQ(f.stats.too_many,
	    (40000 - LLDP_MAX_ROWS) + (80000 - LLDP_MAX_ROWS));
	T_EQ(f.stats.bad_index, 4);
	/* the shared name maps no port */
	T_EQ(lldp_find_port(
	         &f, LLDP_PORT_IFNAME, (const uint8_t *)"same", 4, NULL),
	    0);
	T_OK((double)(clock() - t0) / CLOCKS_PER_SEC < 5.0);
	lldp_facts_free(&f);
	walk_free(w);
	/* an empty walk, and freeing twice */
	w = walk_new("x", 0);
	T_EQ(lldp_facts_from_walk(w, &f), -1);
	T_EQ(f.n_ifs + f.n_nbrs + f.n_ports + f.n_mgmt, 0);
	lldp_facts_free(&f);
	lldp_facts_free(&f);
	walk_free(w);
}

static void
test_idx(void)
{
	struct lldp_idx *x = lldp_idx_new(0);
	char key[16];
	bool created;

	for (uint32_t i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "k%u", i);
		*lldp_idx_slot(x, key, strlen(key), 0, &created) = i;
		T_OK(created);
	}
	for (uint32_t i = 0; i < 5000; i++) {
		const uint32_t *v;

		snprintf(key, sizeof(key), "k%u", i);
		v = lldp_idx_find(x, key, strlen(key));
		T_OK(v != NULL && *v == i);
	}
	T_OK(lldp_idx_find(x, "nope", 4) == NULL);
	lldp_idx_slot(x, "k7", 2, 99, &created);
	T_OK(!created);
	lldp_idx_slot(x, "", 0, 42, &created);
	T_OK(created);
	T_EQ(*lldp_idx_find(x, "", 0), 42);
	lldp_idx_free(x);
	T_OK(lldp_idx_find(NULL, "k", 1) == NULL);
}

int
main(void)
{
	t_suite = "lldp";
	info_text = slurp(WALKS "lab-info.txt");
	T_RUN(test_lab_facts);
	T_RUN(test_mapping_chain);
	T_RUN(test_mapping_ifindex);
	T_RUN(test_mapping_contradiction);
	T_RUN(test_mapping_no_ifmib);
	T_RUN(test_timemark);
	T_RUN(test_timefilter_rows);
	T_RUN(test_mgmt_addrs);
	T_RUN(test_bad_cells);
	T_RUN(test_name_norm);
	T_RUN(test_find_port);
	T_RUN(test_id_text);
	T_RUN(test_text_sanitised);
	T_RUN(test_hostile_sizes);
	T_RUN(test_idx);
	free(info_text);
	return t_done();
}
