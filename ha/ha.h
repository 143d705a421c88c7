/*
 * ha.h: fabmond's side of the keepalived VRRP pair (DESIGN §8, ha/).
 *
 * A thread of its own reads keepalived's notify FIFO (the role of this
 * daemon's VRRP instance: MASTER, BACKUP, FAULT), polls the peer fabmond's
 * GET /api/v1/ha for its state, and once a second judges this daemon's
 * health (ingest alive, store writable, topology fresh) and writes it to
 * the track file keepalived watches (atomically: a temporary file renamed
 * over it), so that a sick daemon gives up the VIP. Every role change is
 * an event in the store (type "ha").
 *
 * Without ha.notify_fifo the role is STANDALONE and no thread runs.
 */
#ifndef FABMON_HA_H
#define FABMON_HA_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "conf.h"
#include "snap.h"

struct store;
struct forward;

struct ha_in {
	const struct conf *conf;  /* ha.* keys */
	struct snap_slot *ingest; /* struct ingest_snap: ingest alive */
	struct snap_slot *topo;   /* struct topo_snap: topology fresh */
	struct store *store;      /* NULL without one: writable, events */
	uint64_t started_ms;
	/*
	 * VIP-feed (DESIGN §8 b): while MASTER, forward every received
	 * datagram to forward_to (the peer's sFlow ADDR:PORT) through
	 * forward (a target named "fabmon-ha"); never while BACKUP or FAULT,
	 * nor during a split brain. NULL either: dual-feed, nothing is
	 * forwarded.
	 */
	struct forward *forward;
	const char *forward_to;
	/* ... and what came to the NetFlow/IPFIX sockets to this one (the
	 * peer's NetFlow ADDR:PORT; target "fabmon-ha-netflow"), NULL: not */
	const char *forward_netflow_to;
	/*
	 * Set to ha.backup_poll_factor while BACKUP, else 1: the topology
	 * thread's SNMP pace (topo_set_pace). NULL: not kept.
	 */
	atomic_int *snmp_pace;
};

struct ha;

/*
 * Start the HA thread (NULL and no thread when ha.notify_fifo is unset:
 * STANDALONE). Returns NULL with a message in err when the set-up is bad
 * (the FIFO cannot be created or opened, the track file's directory is
 * not writable): fabmond then exits with it.
 */
struct ha *ha_start(
    const struct ha_in *, bool *failed, char *err, size_t errlen);
void ha_stop(struct ha *);

/*
 * The GET /api/v1/ha body (daemon/API.md); a NULL ha is STANDALONE.
 * Any thread; the caller owns the reference.
 */
json_t *ha_json(struct ha *, uint64_t started_ms);

#endif
