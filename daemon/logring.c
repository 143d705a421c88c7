/*
 * logring.c: a bounded log of opaque records with increasing IDs, behind
 * a mutex. PURE: no I/O. Appended to by the ingest/engine thread, queried
 * by the API thread (see logring.h).
 *
 * The record with ID i lives in slot (i - 1) % capacity, so the IDs need
 * no storage of their own: with last the newest ID and len = min(last,
 * capacity), the ring holds IDs last - len + 1 .. last.
 */
#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "logring.h"
#include "util.h"

struct logring {
	pthread_mutex_t mu;
	void **slot;
	size_t capacity;
	void (*free_rec)(void *);
	_Atomic uint64_t last; /* written under mu; read anywhere */
	uint64_t dropped;      /* under mu */
};

struct logring *
logring_new(size_t capacity, void (*free_rec)(void *))
{
	struct logring *r;

	assert(capacity >= 1);
	r = xcalloc(1, sizeof(*r));
	r->slot = xcalloc(capacity, sizeof(*r->slot));
	r->capacity = capacity;
	r->free_rec = free_rec != NULL ? free_rec : free;
	atomic_init(&r->last, 0);
	if (pthread_mutex_init(&r->mu, NULL) != 0)
		abort(); /* only fails for want of memory */
	return r;
}

void
logring_free(struct logring *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->capacity; i++)
		if (r->slot[i] != NULL)
			r->free_rec(r->slot[i]);
	pthread_mutex_destroy(&r->mu);
	free(r->slot);
	free(r);
}

uint64_t
logring_append(struct logring *r, void *rec)
{
	void *old;
	uint64_t id;
	size_t i;

	assert(rec != NULL);
	pthread_mutex_lock(&r->mu);
	id = atomic_load_explicit(&r->last, memory_order_relaxed) + 1;
	i = (size_t)((id - 1) % r->capacity);
	old = r->slot[i];
	r->slot[i] = rec;
	if (old != NULL)
		r->dropped++;
	/* release: a lock-free reader that sees id also sees the record */
	atomic_store_explicit(&r->last, id, memory_order_release);
	pthread_mutex_unlock(&r->mu);
	/* No reader can reach old any more: free it without the lock. */
	if (old != NULL)
		r->free_rec(old);
	return id;
}

uint64_t
logring_last_id(struct logring *r)
{
	return atomic_load_explicit(&r->last, memory_order_acquire);
}

bool
logring_ready(struct logring *r, int64_t after)
{
	uint64_t last = logring_last_id(r);

	/* after > last counts as -1 (logring.h), so only after == last waits */
	return last > 0 && (after < 0 || (uint64_t)after != last);
}

size_t
logring_query(struct logring *r, int64_t after, size_t max,
    void (*fn)(void *arg, uint64_t id, const void *rec), void *arg)
{
	uint64_t last, len, first, id;
	size_t n = 0;

	pthread_mutex_lock(&r->mu);
	last = atomic_load_explicit(&r->last, memory_order_relaxed);
	len = last < r->capacity ? last : r->capacity;
	first = last - len + 1; /* the oldest ID held (last + 1 if none) */
	if (after < 0 || (uint64_t)after > last)
		after = -1; /* see logring.h: a stale or foreign ID */
	if (after >= 0 && (uint64_t)after + 1 > first)
		first = (uint64_t)after + 1;
	for (id = last; id >= first && id > 0 && n < max; id--, n++)
		fn(arg, id, r->slot[(id - 1) % r->capacity]);
	pthread_mutex_unlock(&r->mu);
	return n;
}

void
logring_stats(struct logring *r, struct logring_stats *st)
{
	pthread_mutex_lock(&r->mu);
	st->appended = atomic_load_explicit(&r->last, memory_order_relaxed);
	st->capacity = r->capacity;
	st->len =
	    st->appended < r->capacity ? (size_t)st->appended : r->capacity;
	st->dropped = r->dropped;
	pthread_mutex_unlock(&r->mu);
}
