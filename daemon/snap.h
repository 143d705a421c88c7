/*
 * snap.h: hand immutable snapshots from a producer thread to readers.
 *
 * A producer builds a snapshot, then publishes it into a slot; the slot
 * owns one reference. A reader takes a reference with snap_slot_get() and
 * drops it with snap_put(); the last reference frees the snapshot. Any
 * thread may call these.
 */
#ifndef FABMON_SNAP_H
#define FABMON_SNAP_H

#include <pthread.h>
#include <stdatomic.h>

struct snap {
	atomic_int ref;
	void (*free)(struct snap *);
};

struct snap_slot {
	pthread_mutex_t mu;
	struct snap *cur;
};

void snap_init(struct snap *, void (*free_fn)(struct snap *));
void snap_slot_init(struct snap_slot *);
/* Publish s (the slot takes over the caller's reference). */
void snap_slot_publish(struct snap_slot *, struct snap *s);
/* A new reference to the current snapshot, or NULL if none yet. */
struct snap *snap_slot_get(struct snap_slot *);
void snap_put(struct snap *);
/* Drop the slot's snapshot (at shutdown). */
void snap_slot_clear(struct snap_slot *);

#endif
