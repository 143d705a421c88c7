/*
 * threshold.h: sFlow-RT thresholds (PUT /threshold/{name}/json) as plain
 * data, their evaluation state, and the events they raise
 * (/events/json). PURE: no I/O.
 *
 *	{"metric":"ddos","value":100,"byFlow":true,"timeout":60,
 *	 "filter":{"ifspeed":["10000000000"]}}
 *
 * A struct threshold is parsed on the API thread and copied to the
 * engine; it is fixed-size with no pointers, so copies are plain
 * assignments and two thresholds are equal iff memcmp says so (parsing
 * zeroes every unused byte).
 *
 * A struct thresh_state belongs to the one thread that evaluates (the
 * engine). Events are struct thresh_event records, appended by the engine
 * to a logring (logring.h) and rendered by the API thread.
 */
#ifndef FABMON_THRESHOLD_H
#define FABMON_THRESHOLD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define THRESHOLD_NAME_MAX    64   /* bytes, without the NUL */
#define THRESHOLD_METRIC_MAX  64   /* bytes, without the NUL */
#define THRESHOLD_ATTR_MAX    64   /* filter attribute name */
#define THRESHOLD_FILTER_KEYS 16   /* attributes per filter */
#define THRESHOLD_FILTER_VALS 64   /* values per attribute */
#define THRESHOLD_VALUE_MAX   255  /* bytes in one filter value */
#define THRESHOLD_FILTER_TEXT 8192 /* all filter values, with NULs */
#define THRESHOLD_TIMEOUT_MAX 86400
#define THRESHOLD_MAX         256 /* thresholds per daemon */

struct threshold_filter {
	char attr[THRESHOLD_ATTR_MAX + 1];
	uint16_t n;                          /* 1..THRESHOLD_FILTER_VALS */
	uint16_t off[THRESHOLD_FILTER_VALS]; /* into struct threshold.text */
};

struct threshold {
	char name[THRESHOLD_NAME_MAX + 1];
	char metric[THRESHOLD_METRIC_MAX + 1]; /* flow def or counter metric */
	double value;                          /* finite */
	bool by_flow;                          /* one key per flow, too */
	int timeout; /* seconds, 1..86400, default 60: see thresh_check */
	/* filter: every attribute must have one of its values */
	size_t n_filter; /* 0: every data source passes */
	struct threshold_filter filter[THRESHOLD_FILTER_KEYS];
	size_t text_len;                  /* bytes of text in use */
	char text[THRESHOLD_FILTER_TEXT]; /* NUL-terminated values */
};

/* True if s is 1..64 of [A-Za-z0-9_.:-], the characters of a metric. */
bool threshold_metric_ok(const char *s);

/*
 * Parse a threshold body for `name` (checked like a flow name:
 * flowdef_name_ok). json need not be NUL-terminated. Returns 0, or -1
 * with the reason in err: bad JSON with its line and column, an unknown
 * field naming it, a wrong type or range naming the field (and, in a
 * filter, the attribute and the value's position), a missing field.
 * out is always written (zeroed on error). Any thread.
 *
 * Filter values may be strings or numbers; numbers are kept as their
 * text ("ifspeed":[10000000000] is "10000000000"). A lone value stands
 * for a list of one. "filter":null or {} is no filter.
 */
int threshold_parse(const char *name, const char *json, size_t len,
    struct threshold *out, char *err, size_t errlen);

/*
 * The threshold as GET /threshold/{name}/json shows it (sFlow-RT field
 * names, plus "name"); it parses back to an equal struct. The caller
 * owns the result. Any thread.
 */
json_t *threshold_json(const struct threshold *);

/* Value i (0 <= i < f->n) of filter attribute f of t. */
const char *threshold_filter_value(
    const struct threshold *t, const struct threshold_filter *f, size_t i);

/*
 * True if a data source passes t's filter: for every attribute, attr(arg,
 * name) returns the source's value as text and it is one of the listed
 * values (exact, case-sensitive). attr returns NULL for an attribute the
 * source does not have: that is no match. No filter: true. Any thread.
 */
bool threshold_filter_match(const struct threshold *,
    const char *(*attr)(void *arg, const char *name), void *arg);

/*
 * Evaluation state: one per threshold, owned by the engine thread.
 *
 * A key (agent|dataSource, plus |flowKey with byFlow) is armed until its
 * value rises to or above the threshold: that check fires an event and
 * disarms the key. A disarmed key re-arms once its value has been seen
 * below the threshold continuously for `timeout` seconds (from the first
 * check below to a later check below), or once it has not been checked at
 * all for `timeout` seconds (the data source or the flow went away).
 * sFlow-RT behaves alike; the point of the hold-down is that a value
 * oscillating around the threshold raises one event, not one per
 * sample.
 *
 * Only disarmed keys are stored: an armed key needs no memory, however
 * many keys are checked. At most max_keys are stored. When the table is
 * full, a new key that fires is still reported, but it is not stored
 * (counted as untracked): it stays armed and can fire again on its next
 * check. Missing an event would be worse than repeating one, and the
 * counter tells the operator to raise the bound. Memory: about
 * max_keys * (64 + key length) bytes, plus the hash buckets.
 *
 * Keys come from the network; the hash is SipHash-1-3 with a key per
 * state (taken from ASLR'd addresses), so that a sender cannot predict
 * which keys share a bucket.
 *
 * A state belongs to one threshold definition: when a threshold is
 * replaced, start a new state (its value or timeout may have changed).
 */
struct thresh_state;

struct thresh_stats {
	size_t tracked;     /* keys stored (disarmed) now */
	uint64_t fired;     /* events returned by thresh_check */
	uint64_t untracked; /* of those, not stored: the table was full */
};

/* A state that stores at most max_keys keys. Never returns NULL. */
struct thresh_state *thresh_state_new(size_t max_keys);

/* NULL is a no-op. */
void thresh_state_free(struct thresh_state *);

/*
 * Check key's value at now_ms (monotonic). Returns true if an event
 * fires now; the caller then makes the thresh_event. A NaN value is
 * ignored (no event, no change). now_ms earlier than the key's last
 * check counts as no time passing. Engine thread only.
 */
bool thresh_check(struct thresh_state *, const struct threshold *,
    const char *key, size_t keylen, double value, uint64_t now_ms);

/*
 * Drop (re-arm) the keys not checked for t->timeout seconds. It changes
 * nothing that thresh_check would decide (thresh_check re-arms such keys
 * itself); it gives back their memory and table room. Call it every few
 * seconds.
 */
void thresh_sweep(
    struct thresh_state *, const struct threshold *, uint64_t now_ms);

void thresh_stats(const struct thresh_state *, struct thresh_stats *);

/*
 * An event, as appended to the event logring. Made by thresh_event_new
 * on the engine thread; owned by the logring after the append.
 */
struct thresh_event {
	uint64_t timestamp_ms; /* wall clock */
	char threshold_id[THRESHOLD_NAME_MAX + 1];
	char metric[THRESHOLD_METRIC_MAX + 1];
	double value, threshold;
	char agent[64];
	char data_source[16];
	char *flow_key; /* malloc'ed, or NULL (not byFlow) */
};

/*
 * A new event for t (malloc'ed; never NULL). agent and data_source are
 * cut to fit; flow_key is copied, or NULL. Free it with thresh_event_free
 * (the logring does). Any thread.
 */
struct thresh_event *thresh_event_new(const struct threshold *t,
    uint64_t timestamp_ms, double value, const char *agent,
    const char *data_source, const char *flow_key);

/* Free an event and its flow_key: the logring free function. NULL ok. */
void thresh_event_free(void *);

/*
 * The event as /events/json lists it: eventID, thresholdID, metric,
 * timestamp, value, threshold, agent, dataSource, and flowKey when set.
 * A non-finite value renders as null; text that is not UTF-8 is escaped
 * (\xNN), never dropped. The caller owns the result. Any
 * thread (the API thread, under the logring's lock).
 */
json_t *thresh_event_json(uint64_t event_id, const struct thresh_event *);

#endif
