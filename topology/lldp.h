/*
 * lldp.h: one switch's facts (interfaces, LLDP ports and neighbours) from
 * its SNMP walk. PURE: no I/O, no logging, no net-snmp.
 *
 * The topology thread walks a switch (topology/snmp.c), turns the walk
 * into a struct sw_facts with lldp_facts_from_walk(), and hands the facts
 * to topo_graph_build() (graph.h). Facts are immutable once built, so
 * they may be read by any thread that holds them; the thread that built
 * them frees them with lldp_facts_free().
 *
 * OIDs read (numeric, no MIB files):
 *	sysName			1.3.6.1.2.1.1.5.0
 *	ifDescr / ifOperStatus	1.3.6.1.2.1.2.2.1.{2,8}.ifIndex
 *	ifSpeed			1.3.6.1.2.1.2.2.1.5.ifIndex (if no ifHighSpeed)
 *	ifName / ifHighSpeed / ifAlias
 *				1.3.6.1.2.1.31.1.1.1.{1,15,18}.ifIndex
 *	lldpLocChassisIdSubtype/ChassisId/SysName
 *				1.0.8802.1.1.2.1.3.{1,2,3}.0
 *	lldpLocPortTable	1.0.8802.1.1.2.1.3.7.1.{2,3,4}.portNum
 *	lldpLocManAddrTable	1.0.8802.1.1.2.1.3.8.1.c.subtype.len.addr
 *	lldpRemTable		1.0.8802.1.1.2.1.4.1.1.{4..9,12}
 *				    .timeMark.localPortNum.remIndex
 *	lldpRemManAddrTable	1.0.8802.1.1.2.1.4.2.1.c
 *				    .timeMark.localPortNum.remIndex
 *				    .subtype.len.addr
 *	dot1dBasePortIfIndex	1.3.6.1.2.1.17.1.4.1.2.bridgePort
 *
 * Bad input never fails the conversion: a cell of the wrong type, a
 * malformed or duplicate index, a row beyond the bounds below, a local
 * port that maps to no ifIndex, each is skipped and counted in
 * sw_facts.stats. Everything is O(n log n) in the number of varbinds.
 */
#ifndef FABMON_LLDP_H
#define FABMON_LLDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sflow.h" /* struct sflow_addr */
#include "walk.h"

#define LLDP_NAME_MAX  128   /* sysName, ifName..., with the NUL */
#define LLDP_DESC_MAX  128   /* ifDescr, ifAlias, port descriptions */
#define LLDP_ID_MAX    255   /* chassis and port ids (raw bytes) */
#define LLDP_NBR_ADDRS 4     /* management addresses kept per neighbour */
#define LLDP_MAX_ROWS  16384 /* per table; further rows are counted */

/*
 * Longer strings are cut. Every string is NUL-terminated valid UTF-8:
 * control characters and invalid bytes become '?', trailing NULs and
 * blanks are dropped.
 */

/* LLDP system capabilities, in the 802.1AB TLV bit order. */
#define LLDP_CAP_OTHER     0x0001
#define LLDP_CAP_REPEATER  0x0002
#define LLDP_CAP_BRIDGE    0x0004
#define LLDP_CAP_WLAN      0x0008
#define LLDP_CAP_ROUTER    0x0010
#define LLDP_CAP_TELEPHONE 0x0020
#define LLDP_CAP_DOCSIS    0x0040
#define LLDP_CAP_STATION   0x0080

/* Chassis and port id subtypes (LldpChassisIdSubtype, LldpPortIdSubtype). */
#define LLDP_CHASSIS_MAC  4
#define LLDP_CHASSIS_ADDR 5
#define LLDP_PORT_ALIAS   1 /* ifAlias */
#define LLDP_PORT_MAC     3
#define LLDP_PORT_ADDR    4
#define LLDP_PORT_IFNAME  5
#define LLDP_PORT_LOCAL   7

/* How an LLDP local port number was mapped to an ifIndex (DESIGN §3). */
enum lldp_map {
	LLDP_MAP_NONE = 0, /* unmapped: the neighbour's ifindex is 0 */
	LLDP_MAP_IFINDEX,  /* the port number is the ifIndex */
	LLDP_MAP_BRIDGE,   /* bridge port, through dot1dBasePortIfIndex */
	LLDP_MAP_DESC,     /* lldpLocPortDesc = ifDescr / ifAlias / ifName */
	LLDP_MAP_PORTID,   /* lldpLocPortId = ifName (or ifIndex, "local") */
	LLDP_MAP_ASSUMED,  /* no IF-MIB to check against: taken on trust */
	LLDP_MAP__MAX
};

/* "ifindex", "bridge"...: for the API and logs. */
const char *lldp_map_name(enum lldp_map);

/* One IF-MIB interface. */
struct lldp_if {
	uint32_t ifindex;
	char name[LLDP_NAME_MAX];  /* ifName */
	char descr[LLDP_DESC_MAX]; /* ifDescr */
	char alias[LLDP_DESC_MAX]; /* ifAlias */
	uint32_t speed_mbps;       /* ifHighSpeed, else ifSpeed / 1e6 */
	uint8_t oper;              /* ifOperStatus: 1 up, 2 down... 0 unknown */
};

/* One row of lldpLocPortTable, with its mapping. */
struct lldp_locport {
	uint32_t num; /* lldpLocPortNum */
	uint8_t id_subtype;
	uint8_t id_len;
	uint8_t id[LLDP_ID_MAX];
	char desc[LLDP_DESC_MAX];
	uint32_t ifindex; /* 0: unmapped */
	enum lldp_map how;
};

/* One neighbour: a row of lldpRemTable and its management addresses. */
struct lldp_neighbor {
	uint32_t local_port; /* lldpRemLocalPortNum */
	uint32_t rem_index;  /* lldpRemIndex */
	uint32_t time_mark;  /* of the row that was kept */
	uint32_t ifindex;    /* local ifIndex, 0 if unmapped */
	enum lldp_map how;
	uint8_t chassis_subtype;
	uint8_t chassis_len;
	uint8_t chassis[LLDP_ID_MAX];
	uint8_t port_subtype;
	uint8_t port_len;
	uint8_t port[LLDP_ID_MAX];
	char port_desc[LLDP_DESC_MAX];
	char sys_name[LLDP_NAME_MAX];
	uint16_t caps;   /* LLDP_CAP_* enabled */
	bool caps_known; /* lldpRemSysCapEnabled was given */
	uint8_t n_addrs;
	struct sflow_addr addrs[LLDP_NBR_ADDRS];
};

/* A neighbour's management address, for the crawl. */
struct lldp_mgmt {
	struct sflow_addr addr;
	uint32_t ifindex; /* local ifIndex where it was seen, 0 unknown */
	uint16_t caps;    /* of that neighbour, if caps_known */
	bool caps_known;  /* false also when no neighbour row matched */
	char sys_name[LLDP_NAME_MAX];
};

/* Problems met while reading a walk. None of them is fatal. */
struct lldp_stats {
	uint32_t wrong_type;  /* a cell of an unexpected SNMP type */
	uint32_t bad_index;   /* a malformed table index */
	uint32_t bad_value;   /* a value out of range (e.g. a subtype) */
	uint32_t duplicate;   /* the same cell twice: the first is kept */
	uint32_t too_many;    /* rows beyond LLDP_MAX_ROWS, dropped */
	uint32_t stale;       /* neighbour rows under an older timeMark */
	uint32_t unmapped;    /* neighbours on a port with no ifIndex */
	uint32_t orphan_addr; /* management addresses with no neighbour */
	uint32_t map[LLDP_MAP__MAX]; /* local ports, by how they mapped */
};

struct lldp_names; /* private name indexes, see lldp_find_port() */

struct sw_facts {
	char sys_name[LLDP_NAME_MAX];      /* sysName */
	char lldp_sys_name[LLDP_NAME_MAX]; /* lldpLocSysName */
	uint8_t chassis_subtype;           /* lldpLocChassisIdSubtype, 0 none */
	uint8_t chassis_len;
	uint8_t chassis[LLDP_ID_MAX];

	struct lldp_if *ifs; /* sorted by ifindex, unique */
	size_t n_ifs;
	struct lldp_locport *ports; /* sorted by num, unique */
	size_t n_ports;
	struct lldp_neighbor *nbrs; /* sorted by (local_port, rem_index) */
	size_t n_nbrs;
	struct sflow_addr *self_addrs; /* lldpLocManAddrTable, unique */
	size_t n_self_addrs;
	struct lldp_mgmt *mgmt; /* every neighbour address, unique, sorted */
	size_t n_mgmt;

	struct lldp_stats stats;
	struct lldp_names *names; /* private */
};

/*
 * Fill *out from a walk (out is overwritten; free it with
 * lldp_facts_free() whatever this returns). Returns 0 if the walk held
 * the switch's identity (a sysName, an lldpLocSysName or a chassis id),
 * -1 if it held none of them (the facts are then mostly empty).
 *
 * Neighbours are keyed on (localPortNum, remIndex), never on the
 * timeMark: when one key shows up under several timeMarks, the newest
 * row is kept; when one local port shows the same neighbour (chassis id
 * and port id) under several remIndexes, the row with the newest
 * timeMark is kept. Different neighbours on one port are all kept (a
 * hub, or several hosts behind one port). Each dropped row counts as
 * stats.stale.
 *
 * A management-address row is attached to the neighbour with the same
 * (localPortNum, remIndex); failing that, to the only neighbour on that
 * local port (some agents number the two tables differently); failing
 * that, it only goes into the crawl list and counts as orphan_addr.
 *
 * Local port → ifIndex, first that applies (the ifIndex is recorded in
 * ports[].ifindex and nbrs[].ifindex, the method in .how):
 *  1. the port number is an existing ifIndex and the port's names (id,
 *     description) agree with it or point nowhere else;
 *  2. the port number is a bridge port whose dot1dBasePortIfIndex is an
 *     existing ifIndex, with the same proviso;
 *  3. lldpLocPortDesc equals an ifDescr, an ifAlias or an ifName;
 *  4. lldpLocPortId (subtypes interfaceName, local, interfaceAlias)
 *     equals an ifName (an ifAlias first for interfaceAlias), or, for
 *     subtype local, is an ifIndex in decimal (Junos), or equals an
 *     ifDescr; a MAC port id (subtype 3) cannot be matched by name;
 *  5. when the walk had no IF-MIB at all: the bridge port's ifIndex,
 *     else the port number, taken on trust (LLDP_MAP_ASSUMED).
 * Names compare with lldp_name_norm(), so that Gi1/0/4 matches
 * GigabitEthernet1/0/4; a name that several interfaces share matches
 * none of them.
 */
int lldp_facts_from_walk(const struct walk *, struct sw_facts *out);

/* Free what a sw_facts holds (not the struct). Safe on a zeroed one. */
void lldp_facts_free(struct sw_facts *);

/*
 * The ifIndex of the port of `f` that a neighbour describes by its port
 * id (subtype, id, id_len) and port description (may be NULL or ""), or
 * 0 if none. Tried in order: the port id against lldpLocPortId (same
 * subtype and bytes: this also matches MAC port ids); a textual port id
 * against ifName, lldpLocPortId, ifDescr, ifAlias (normalised names);
 * a "local" port id in decimal as an ifIndex; then the description
 * against lldpLocPortDesc, ifDescr, ifAlias, ifName.
 */
uint32_t lldp_find_port(const struct sw_facts *f, uint8_t subtype,
    const uint8_t *id, size_t id_len, const char *desc);

/* The interface with that ifIndex, or NULL (binary search). */
const struct lldp_if *lldp_find_if(const struct sw_facts *, uint32_t ifindex);

/*
 * Normalise an interface name for comparison into out (cap bytes, at
 * least 1): lower case, blanks dropped, and a known vendor prefix spelt
 * out, so that "Gi1/0/4", "gi 1/0/4" and "GigabitEthernet1/0/4" are
 * equal, as are Te/Ten/TenGigE, Eth/Et/Ethernet, Po/Port-channel, Fa,
 * Fo, Hu, Twe, Vl, Lo, Mgmt... Returns out.
 */
char *lldp_name_norm(const char *in, char *out, size_t cap);

/*
 * A chassis or port id as text into buf (cap ≥ 1): a MAC as
 * "02:fb:00:11:00:01", a network address as an IP, printable text as is,
 * anything else as colon-separated hex. `chassis` selects the chassis id
 * subtype numbering (else the port id one). Returns buf.
 */
char *lldp_id_text(bool chassis, uint8_t subtype, const uint8_t *id, size_t len,
    char *buf, size_t cap);

/*
 * A small hash index from byte-string keys to uint32 values, used by
 * lldp.c and graph.c (open addressing, keys copied). Not thread-safe to
 * modify; safe to read from several threads once built.
 */
struct lldp_idx;

struct lldp_idx *lldp_idx_new(size_t expected);
void lldp_idx_free(struct lldp_idx *);
/*
 * The value slot of key, inserted (set to `init`) if missing; *created
 * says which. The pointer is valid until the next insertion.
 */
uint32_t *lldp_idx_slot(struct lldp_idx *, const void *key, size_t len,
    uint32_t init, bool *created);
/* The value slot of key, or NULL. */
const uint32_t *lldp_idx_find(
    const struct lldp_idx *, const void *key, size_t len);

#endif
