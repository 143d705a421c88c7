/*
 * topo.h: the topology thread. It polls the switches over SNMP (through
 * snmp.c), turns each walk into facts (lldp.c), builds the fabric graph
 * (graph.c) when its input changes, and publishes an immutable struct
 * topo_snap every 2 s and after each change. Discovery starts from the
 * configured seeds (addresses or CIDRs) and every sFlow agent seen, and
 * crawls on through the LLDP management addresses of neighbouring
 * switches.
 */
#ifndef FABMON_TOPO_H
#define FABMON_TOPO_H

#include <stdatomic.h>
#include <stdint.h>

#include "conf.h"
#include "import.h"
#include "sflow.h"
#include "snap.h"

struct topo_graph;
struct topo_events;

/* One polled address, as the API shows it. */
struct topo_target_info {
	char addr[64];
	char why[8];         /* seed, cidr, agent, lldp, import */
	char state[16];      /* new, ok, unreachable, never */
	char cred[8];        /* v2c, v3, or "" when none worked yet */
	char node[128];      /* its sysName, once known */
	uint64_t last_ok_ms; /* wall clock; 0 never */
	uint64_t last_poll_ms;
	uint32_t polls;
	uint32_t failures;
	char err[160];
};

#define TOPO_RECENT_EVENTS 256

struct topo_event_info {
	uint64_t ts_ms; /* wall clock */
	uint64_t version;
	char type[24];  /* link_down, link_up, node_added, ... */
	char text[800]; /* what an operator reads */
};

struct topo_shared; /* private to topo.c */

/*
 * What the API and the engine read: immutable once published. A new
 * snapshot comes every 2 s (and soon after a walk that changed something),
 * but a new graph only when the switches' facts, their reachability, the
 * import or the roles changed: the snapshots in between share the graph,
 * the import and the events (the same pointers, held by reference), so
 * `graph` changes exactly when `version` may.
 */
struct topo_snap {
	struct snap base;
	uint64_t version;
	uint64_t built_ms;              /* when this snapshot was published */
	const struct topo_graph *graph; /* shared, held by the snapshot */
	struct topo_import import;      /* the operator's last PUT (shared) */
	uint64_t import_ms;             /* when it was PUT; 0 never */
	bool restored; /* the stored fabric: no switch polled yet */
	/* each node's last poll now, by index into graph->nodes (the graph's
	 * own last_poll_ms are as of its build) */
	uint64_t *node_last_poll_ms;
	struct topo_target_info *targets;
	size_t n_targets;
	struct topo_event_info *events; /* newest last (shared) */
	size_t n_events;
	struct topo_shared *shared; /* what holds graph, import, events */
	/* counters for /api/v1/health */
	uint64_t walks, walk_timeouts, walk_auth_failures, walk_errors;
	uint64_t bad_varbinds; /* hostile or odd SNMP answers */
};

struct topo;

/*
 * Create the topology thread's state; ingest (may be NULL) is read to
 * find new sFlow agents. wake(arg) is called after each publish.
 */
struct topo *topo_new(const struct conf *, struct snap_slot *out,
    struct snap_slot *ingest, void (*wake)(void *), void *wake_arg);
/*
 * Before topo_start: publish SNMP IF-MIB counter rates (struct ifc_snap,
 * counters.h) into out after each counter walk (snmp.counters_s).
 */
void topo_set_counters(struct topo *, struct snap_slot *out);
/*
 * Before topo_start: every SNMP walk runs *pace times less often (read
 * at each walk; another thread sets it: the HA BACKUP leaves polling to
 * the MASTER). When it drops, status and counter walks run at once.
 */
void topo_set_pace(struct topo *, const atomic_int *pace);
/*
 * Before topo_start: the fabric as it was last discovered (the store's
 * copy, in the sFlow-RT form of GET /topology/json). It is published at
 * once, marked restored, and fills in (merged like an import) for the
 * switches not polled yet, until as many switches have been polled as it
 * had, or two poll periods have passed. Moves *im's arrays.
 */
void topo_set_restored(struct topo *, struct topo_import *im);
int topo_start(struct topo *);
void topo_stop(struct topo *);

/*
 * Check the SNMP credentials of a configuration without any I/O (for
 * start-up and -n). Returns 0, or -1 with why in err.
 */
int topo_check_conf(const struct conf *, char *err, size_t errlen);

/*
 * Any thread: replace the operator import. Moves *im's arrays (im is
 * left empty). Returns 0, or -1 if an earlier import is still queued.
 */
int topo_put_import(void *topo, struct topo_import *im);

#endif
