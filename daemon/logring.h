/*
 * logring.h: a bounded, thread-safe log of opaque records with increasing
 * IDs: sFlow-RT's flow log (/flows/json) and event log (/events/json).
 * PURE: no I/O.
 *
 * The writer (the ingest/engine thread) appends; the API thread (the
 * libwebsockets service loop) queries. A mutex inside guards the records;
 * the newest ID is also kept in an atomic so that the API thread can poll
 * it cheaply to decide whether a waiting long-poll client can be answered.
 *
 * IDs are 1, 2, 3, ... and never repeat within a ring's life. When the
 * ring is full, each append drops the oldest record (its free function is
 * called), so a client that falls behind by more than the capacity sees a
 * gap in the IDs, never a stale or repeated record.
 */
#ifndef FABMON_LOGRING_H
#define FABMON_LOGRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct logring;

struct logring_stats {
	size_t len;        /* records held now */
	size_t capacity;   /* records held at most */
	uint64_t appended; /* since creation; also the newest ID */
	uint64_t dropped;  /* fell off the end (freed) before logring_free */
};

/*
 * A ring that holds at most capacity (>= 1) records. free_rec frees a
 * record that falls off the end or is still held at logring_free; NULL
 * means free(3). Never returns NULL (out of memory aborts). Any thread;
 * the caller owns the ring.
 */
struct logring *logring_new(size_t capacity, void (*free_rec)(void *));

/* Free the ring and every record it holds. NULL is a no-op. */
void logring_free(struct logring *);

/*
 * Append rec, which the ring owns from now on (it must not be NULL, nor
 * touched by the caller again: it may be freed by the next append).
 * Returns its ID. Meant for the one writer thread, but safe from any.
 * A record that falls off is freed outside the lock, so that a reader is
 * never held up by free_rec.
 */
uint64_t logring_append(struct logring *, void *rec);

/* The newest ID, 0 if none yet. Any thread; a lock-free atomic read. */
uint64_t logring_last_id(struct logring *);

/*
 * True if logring_query(after, max >= 1) would visit at least one record
 * now: what a long-poll waiter checks before answering. Any thread;
 * lock-free.
 */
bool logring_ready(struct logring *, int64_t after);

/*
 * Visit the records with ID > after, NEWEST FIRST, at most max of them,
 * calling fn(arg, id, rec) for each under the ring's lock: fn must not
 * block nor call the ring, and must not keep rec (copy what it needs).
 * Returns how many were visited. Any thread.
 *
 * after < 0 (sFlow-RT's -1) means "the newest max records".
 *
 * after > the newest ID is treated as -1 too. It happens when the daemon
 * restarted (IDs start again at 1) or a client moved to the HA peer,
 * whose IDs are its own. sFlow-RT clients loop on the newest ID they saw
 * (flowID, eventID); if such a client's ID were taken literally it would
 * wait, unanswered, until this ring caught up with the old numbering.
 * Answering with the newest records hands it an ID from this ring's
 * numbering instead.
 *
 * If records after `after` have already fallen off, the oldest ones
 * held are the oldest visited: the client sees the gap in the IDs.
 */
size_t logring_query(struct logring *, int64_t after, size_t max,
    void (*fn)(void *arg, uint64_t id, const void *rec), void *arg);

/* A consistent snapshot of the counters. Any thread. */
void logring_stats(struct logring *, struct logring_stats *);

#endif
