/*
 * snap.c: reference-counted snapshot hand-over; see snap.h.
 */
#include <stddef.h>

#include "snap.h"

void
snap_init(struct snap *s, void (*free_fn)(struct snap *))
{
	atomic_init(&s->ref, 1);
	s->free = free_fn;
}

void
snap_slot_init(struct snap_slot *sl)
{
	pthread_mutex_init(&sl->mu, NULL);
	sl->cur = NULL;
}

void
snap_put(struct snap *s)
{
	if (s != NULL && atomic_fetch_sub(&s->ref, 1) == 1)
		s->free(s);
}

void
snap_slot_publish(struct snap_slot *sl, struct snap *s)
{
	struct snap *old;

	pthread_mutex_lock(&sl->mu);
	old = sl->cur;
	sl->cur = s;
	pthread_mutex_unlock(&sl->mu);
	snap_put(old); /* freed outside the lock */
}

struct snap *
snap_slot_get(struct snap_slot *sl)
{
	struct snap *s;

	pthread_mutex_lock(&sl->mu);
	s = sl->cur;
	if (s != NULL)
		atomic_fetch_add(&s->ref, 1);
	pthread_mutex_unlock(&sl->mu);
	return s;
}

void
snap_slot_clear(struct snap_slot *sl)
{
	snap_slot_publish(sl, NULL);
}
