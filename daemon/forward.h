/*
 * forward.h: re-send raw sFlow datagrams to other collectors (sFlow-RT's
 * /forwarding/{name}/json; the HA pair's VIP-feed uses the same). The
 * definitions are shared with the API thread under a mutex; the sockets
 * and the sending belong to the ingest thread, which forwards each
 * received batch with one sendmmsg() per target.
 *
 * Loops: a datagram is never forwarded to the address it came from, nor
 * at all when it came from an address that is itself a forwarding target
 * (the HA peer forwarding to us): two daemons forwarding to each other
 * then pass each datagram once, never round and round.
 */
#ifndef FABMON_FORWARD_H
#define FABMON_FORWARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "fwddef.h"

struct forward;

struct forward_stats {
	uint64_t datagrams; /* sent */
	uint64_t bytes;
	uint64_t errors;  /* sendmmsg failures and short sends (dropped) */
	uint64_t looped;  /* not sent: it came from a forwarding target */
	uint64_t skipped; /* not sent: its agent is not in "agents" */
	char last_error[96];
};

struct forward *forward_new(void);
void forward_free(struct forward *);

/* Any thread. 0 (1 if unchanged), or -1 with why (too many targets). */
int forward_put(
    struct forward *, const struct fwddef *, char *err, size_t errlen);
/* Any thread. 0, or -1 if there is no such target. */
int forward_delete(struct forward *, const char *name);
/* Any thread: a definition and its counters; 0, or -1 if absent. */
int forward_get(struct forward *, const char *name, struct fwddef *def,
    struct forward_stats *st);
/* Any thread: how many targets (at most max) were copied into defs/st. */
size_t forward_list(struct forward *, struct fwddef *defs,
    struct forward_stats *st, size_t max);

/* One received datagram, as the ingest thread hands it over. */
struct forward_dgram {
	const uint8_t *buf;
	size_t len;
	const struct sockaddr_storage *from;
};

/*
 * Ingest thread: forward a batch (applying definition changes first) to
 * the targets of its protocol: netflow says it came to a NetFlow/IPFIX
 * socket.
 */
void forward_batch(
    struct forward *, const struct forward_dgram *, size_t n, bool netflow);

#endif
