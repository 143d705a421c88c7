/*
 * elephant.h: elephants and ECMP collisions (DESIGN §5), pure code.
 *
 * An elephant is a flow at or above pct % of its ingress edge port's
 * speed. The thresholds are generated from the speeds the topology has,
 * one per distinct speed, never listed by hand. A fabric link direction
 * at or above busy % that carries two or more elephants is a collision:
 * ECMP hashed two large flows onto one link while others may be idle.
 * Collisions are events with a start and an end: one opens when first
 * seen and ends once it has not been seen for quiet_ms.
 *
 * Any thread; a tracker belongs to one.
 */
#ifndef FABMON_ELEPHANT_H
#define FABMON_ELEPHANT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ELEPHANT_KEY_MAX  160
#define ELEPHANT_NAME_MAX 96
#define ELEPHANT_PER_COLL 8 /* elephant keys kept per collision */
#define ELEPHANT_MAX_COLL 256

struct elephant_threshold {
	double speed_bps;
	double bps; /* speed_bps * pct / 100 */
};

/*
 * The distinct speeds of speeds[0..n) (zeros skipped), ascending, with
 * their thresholds, into out (room for n). Returns how many.
 */
size_t elephant_thresholds(
    const double *speeds, size_t n, int pct, struct elephant_threshold *out);

/* bps at or above pct % of speed_bps (false without a speed). */
bool elephant_is(double bps, double speed_bps, int pct);

/* A fabric link direction now: `to` receives. */
struct elephant_dir {
	char link[ELEPHANT_NAME_MAX];
	char from[ELEPHANT_NAME_MAX], to[ELEPHANT_NAME_MAX];
	double utilization; /* %, < 0 unknown */
	double bps;
};

/* A flow seen entering node `node` over link `link`. */
struct elephant_seen {
	const char *link;
	const char *node;
	const char *key;
};

struct elephant_coll {
	char link[ELEPHANT_NAME_MAX];
	char from[ELEPHANT_NAME_MAX], to[ELEPHANT_NAME_MAX];
	double utilization, bps;
	char keys[ELEPHANT_PER_COLL][ELEPHANT_KEY_MAX];
	unsigned n_keys;    /* kept in keys (at most ELEPHANT_PER_COLL) */
	unsigned elephants; /* all the elephants on it */
	uint64_t start_ms;  /* tracker: when it opened */
	uint64_t last_ms;   /* tracker: last seen */
	uint64_t end_ms;    /* tracker: 0 while open */
	uint64_t id;        /* tracker: its number */
};

/*
 * The collisions now: every direction in dirs at or above busy % whose
 * seen flows include two or more distinct keys of elephants[0..ne)
 * (which must be sorted with strcmp). Returns how many went into out
 * (at most max).
 */
size_t elephant_collisions(const struct elephant_dir *dirs, size_t n_dirs,
    int busy_pct, const struct elephant_seen *seen, size_t n_seen,
    const char *const *elephants, size_t ne, struct elephant_coll *out,
    size_t max);

/*
 * Collision events over time, keyed by (link, to). update() takes the
 * collisions now; a new one opens (start_ms = now), a known one is
 * refreshed, one unseen for quiet_ms ends (end_ms set) and is reported
 * once more, then forgotten. Every change calls cb(arg, event, opened).
 */
struct elephant_tracker {
	struct elephant_coll ev[ELEPHANT_MAX_COLL];
	size_t n;
	uint64_t next_id;
	uint64_t refused; /* no room */
};

void elephant_track(struct elephant_tracker *, const struct elephant_coll *now,
    size_t n, uint64_t now_ms, uint64_t quiet_ms,
    void (*cb)(void *, const struct elephant_coll *, bool opened), void *arg);

#endif
