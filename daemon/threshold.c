/*
 * threshold.c: parse and render sFlow-RT thresholds, evaluate them per
 * key with a hold-down, and render their events. PURE: no I/O.
 * Definitions are parsed on the API thread; a thresh_state is used only
 * by the engine thread; events are rendered on the API thread.
 *
 * Strict about what it does not know, like flowdef.c: a misspelt field
 * ("fitler") is an error the operator sees, not a threshold that fires
 * on every interface.
 */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flowdef.h"
#include "threshold.h"
#include "util.h"

#define METRIC_CHARS                                                           \
	"abcdefghijklmnopqrstuvwxyz"                                           \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:-"
#define ATTR_CHARS                                                             \
	"abcdefghijklmnopqrstuvwxyz"                                           \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"

static bool
chars_ok(const char *s, size_t max, const char *set)
{
	size_t n = strlen(s);

	return n >= 1 && n <= max && strspn(s, set) == n;
}

bool
threshold_metric_ok(const char *s)
{
	return chars_ok(s, THRESHOLD_METRIC_MAX, METRIC_CHARS);
}

#define FAIL(...)                                                              \
	do {                                                                   \
		snprintf(err, errlen, __VA_ARGS__);                            \
		goto fail;                                                     \
	} while (0)

/* A number as filter text: integers exactly, reals as the shortest
 * %g that reads back as the same double. */
static void
number_text(json_t *v, char *buf, size_t len)
{
	double d;

	if (json_is_integer(v)) {
		snprintf(
		    buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return;
	}
	d = json_real_value(v);
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, len, "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			return;
	}
}

/* Copy one filter value (a string or a number) into t->text. */
static int
filter_value(struct threshold *t, struct threshold_filter *f, json_t *v,
    size_t idx, char *err, size_t errlen)
{
	char num[64], snip[200];
	const char *s;
	size_t n;

	if (json_is_string(v)) {
		s = json_string_value(v);
		n = json_string_length(v);
		if (strlen(s) != n) {
			snprintf(err, errlen, "filter.%s[%zu]: contains NUL",
			    f->attr, idx);
			return -1;
		}
		if (n > THRESHOLD_VALUE_MAX) {
			snprintf(err, errlen,
			    "filter.%s[%zu]: '%s' is longer than %d bytes",
			    f->attr, idx, str_snippet(snip, sizeof(snip), s, n),
			    THRESHOLD_VALUE_MAX);
			return -1;
		}
	} else if (json_is_number(v)) {
		number_text(v, num, sizeof(num));
		s = num;
		n = strlen(num);
	} else {
		snprintf(err, errlen,
		    "filter.%s[%zu]: not a string or a number", f->attr, idx);
		return -1;
	}
	if (t->text_len + n + 1 > sizeof(t->text)) {
		snprintf(err, errlen,
		    "filter: the values take more than %d bytes in all",
		    THRESHOLD_FILTER_TEXT);
		return -1;
	}
	f->off[f->n++] = (uint16_t)t->text_len;
	memcpy(t->text + t->text_len, s, n);
	t->text_len += n + 1; /* the NUL is already there: t was zeroed */
	return 0;
}

static int
filter_cmp(const void *a, const void *b)
{
	return strcmp(((const struct threshold_filter *)a)->attr,
	    ((const struct threshold_filter *)b)->attr);
}

/* Store the values in filter order, so that the text is canonical too. */
static void
lay_out_text(struct threshold *t)
{
	char old[sizeof(t->text)];
	size_t o = 0;

	memcpy(old, t->text, sizeof(old));
	memset(t->text, 0, sizeof(t->text));
	for (size_t i = 0; i < t->n_filter; i++) {
		struct threshold_filter *f = &t->filter[i];

		for (size_t j = 0; j < f->n; j++) {
			size_t n = strlen(old + f->off[j]) + 1;

			memcpy(t->text + o, old + f->off[j], n);
			f->off[j] = (uint16_t)o;
			o += n;
		}
	}
	assert(o == t->text_len);
}

static int
parse_filter(struct threshold *t, json_t *o, char *err, size_t errlen)
{
	char snip[200];
	const char *k;
	json_t *vals, *v;
	size_t i;

	if (json_is_null(o))
		return 0;
	if (!json_is_object(o)) {
		snprintf(err, errlen,
		    "filter: not an object of attribute: [values]");
		return -1;
	}
	if (json_object_size(o) > THRESHOLD_FILTER_KEYS) {
		snprintf(err, errlen, "filter: more than %d attributes",
		    THRESHOLD_FILTER_KEYS);
		return -1;
	}
	json_object_foreach(o, k, vals)
	{
		struct threshold_filter *f = &t->filter[t->n_filter];

		if (!chars_ok(k, THRESHOLD_ATTR_MAX, ATTR_CHARS)) {
			snprintf(err, errlen,
			    "filter: attribute '%s' is not 1 to %d of "
			    "[A-Za-z0-9_.-]",
			    str_snippet(snip, sizeof(snip), k, strlen(k)),
			    THRESHOLD_ATTR_MAX);
			return -1;
		}
		memcpy(f->attr, k, strlen(k) + 1);
		if (!json_is_array(vals)) {
			if (!json_is_string(vals) && !json_is_number(vals)) {
				snprintf(err, errlen,
				    "filter.%s: not a list of strings or "
				    "numbers",
				    k);
				return -1;
			}
			/* a lone value is a list of one */
			if (filter_value(t, f, vals, 0, err, errlen) != 0)
				return -1;
			t->n_filter++;
			continue;
		}
		if (json_array_size(vals) == 0) {
			snprintf(err, errlen,
			    "filter.%s: an empty list matches nothing", k);
			return -1;
		}
		if (json_array_size(vals) > THRESHOLD_FILTER_VALS) {
			snprintf(err, errlen, "filter.%s: more than %d values",
			    k, THRESHOLD_FILTER_VALS);
			return -1;
		}
		json_array_foreach(vals, i, v)
		{
			if (filter_value(t, f, v, i, err, errlen) != 0)
				return -1;
		}
		t->n_filter++;
	}
	/* One order for the same filter, however it was written: equal
	 * thresholds compare equal with memcmp. */
	qsort(t->filter, t->n_filter, sizeof(t->filter[0]), filter_cmp);
	lay_out_text(t);
	return 0;
}

int
threshold_parse(const char *name, const char *json, size_t len,
    struct threshold *t, char *err, size_t errlen)
{
	char snip[200];
	json_error_t je;
	json_t *root = NULL, *v;
	const char *k;
	bool have_metric = false, have_value = false;

	memset(t, 0, sizeof(*t));
	if (!flowdef_name_ok(name))
		FAIL("threshold name '%s': 1 to %d of [A-Za-z0-9_.-]",
		    str_snippet(snip, sizeof(snip), name, strlen(name)),
		    THRESHOLD_NAME_MAX);
	t->timeout = 60;
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL)
		FAIL("bad JSON at line %d column %d: %s", je.line, je.column,
		    je.text);
	if (!json_is_object(root))
		FAIL("a threshold is a JSON object");
	json_object_foreach(root, k, v)
	{
		if (strcmp(k, "metric") == 0) {
			const char *s = json_string_value(v);

			if (s == NULL)
				FAIL("metric: not a string");
			if (strlen(s) != json_string_length(v) ||
			    !threshold_metric_ok(s))
				FAIL("metric: '%s' is not 1 to %d of "
				     "[A-Za-z0-9_.:-]",
				    str_snippet(snip, sizeof(snip), s,
				        json_string_length(v)),
				    THRESHOLD_METRIC_MAX);
			memcpy(t->metric, s, strlen(s) + 1);
			have_metric = true;
		} else if (strcmp(k, "value") == 0) {
			if (!json_is_number(v) ||
			    !isfinite(json_number_value(v)))
				FAIL("value: not a number");
			t->value = json_number_value(v);
			have_value = true;
		} else if (strcmp(k, "byFlow") == 0) {
			if (!json_is_boolean(v))
				FAIL("byFlow: not true or false");
			t->by_flow = json_is_true(v);
		} else if (strcmp(k, "timeout") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) < 1 ||
			    json_integer_value(v) > THRESHOLD_TIMEOUT_MAX)
				FAIL("timeout: an integer number of seconds "
				     "in 1..%d",
				    THRESHOLD_TIMEOUT_MAX);
			t->timeout = (int)json_integer_value(v);
		} else if (strcmp(k, "filter") == 0) {
			if (parse_filter(t, v, err, errlen) != 0)
				goto fail;
		} else if (strcmp(k, "name") == 0) {
			/* GET output echoed back: must agree with the URL */
			if (!json_is_string(v) ||
			    strcmp(json_string_value(v), name) != 0)
				FAIL("name: does not match the URL ('%s')",
				    name);
		} else {
			FAIL("unknown field '%s'",
			    str_snippet(snip, sizeof(snip), k, strlen(k)));
		}
	}
	if (!have_metric)
		FAIL("metric: missing");
	if (!have_value)
		FAIL("value: missing");
	memcpy(t->name, name, strlen(name) + 1);
	json_decref(root);
	return 0;
fail:
	json_decref(root);
	memset(t, 0, sizeof(*t));
	return -1;
}

/* Whole numbers as JSON integers (sFlow-RT shows "threshold":100, not
 * 100.0); the rest, and -0, as reals, which jansson prints exactly. */
static json_t *
number_json(double d)
{
	if (!isfinite(d))
		return json_null();
	if (d == trunc(d) && fabs(d) <= 9007199254740992.0 &&
	    !(d == 0 && signbit(d)))
		return json_integer((json_int_t)d);
	return json_real(d);
}

json_t *
threshold_json(const struct threshold *t)
{
	json_t *o = json_object();

	json_object_set_new(o, "name", json_string(t->name));
	json_object_set_new(o, "metric", json_string(t->metric));
	json_object_set_new(o, "value", number_json(t->value));
	json_object_set_new(o, "byFlow", json_boolean(t->by_flow));
	json_object_set_new(o, "timeout", json_integer(t->timeout));
	if (t->n_filter > 0) {
		json_t *fo = json_object();

		for (size_t i = 0; i < t->n_filter; i++) {
			const struct threshold_filter *f = &t->filter[i];
			json_t *a = json_array();

			for (size_t j = 0; j < f->n; j++)
				json_array_append_new(a,
				    json_string(
				        threshold_filter_value(t, f, j)));
			json_object_set_new(fo, f->attr, a);
		}
		json_object_set_new(o, "filter", fo);
	}
	return o;
}

const char *
threshold_filter_value(
    const struct threshold *t, const struct threshold_filter *f, size_t i)
{
	assert(i < f->n && f->off[i] < sizeof(t->text));
	return t->text + f->off[i];
}

bool
threshold_filter_match(const struct threshold *t,
    const char *(*attr)(void *arg, const char *name), void *arg)
{
	for (size_t i = 0; i < t->n_filter; i++) {
		const struct threshold_filter *f = &t->filter[i];
		const char *have = attr(arg, f->attr);
		size_t j;

		if (have == NULL)
			return false;
		for (j = 0; j < f->n; j++)
			if (strcmp(have, threshold_filter_value(t, f, j)) == 0)
				break;
		if (j == f->n)
			return false;
	}
	return true;
}

/*
 * Evaluation. Only disarmed keys have an entry (threshold.h); an entry
 * is either still above the threshold, or below since below_since.
 */
struct tkey {
	struct tkey *next;
	uint64_t hash;
	uint64_t last_seen;   /* the last check, ms */
	uint64_t below_since; /* the first check of the current run below */
	bool below;
	size_t len;
	char key[];
};

struct thresh_state {
	struct tkey **bucket;
	size_t nbucket; /* a power of 2 */
	size_t count, max_keys;
	uint64_t k0, k1; /* SipHash key */
	uint64_t fired, untracked;
};

static uint64_t
splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

struct thresh_state *
thresh_state_new(size_t max_keys)
{
	struct thresh_state *s = xcalloc(1, sizeof(*s));
	int local;

	s->max_keys = max_keys;
	s->nbucket = 16;
	s->bucket = xcalloc(s->nbucket, sizeof(*s->bucket));
	/*
	 * The hash key: pure code has no entropy source, so it comes from
	 * heap and stack addresses, which ASLR randomises per process. That
	 * is enough to keep a remote sender from predicting collisions; the
	 * bound on keys limits the damage if it could.
	 */
	s->k0 = splitmix64((uint64_t)(uintptr_t)s);
	s->k1 = splitmix64((uint64_t)(uintptr_t)&local ^ s->k0);
	return s;
}

void
thresh_state_free(struct thresh_state *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->nbucket; i++) {
		struct tkey *e, *next;

		for (e = s->bucket[i]; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(s->bucket);
	free(s);
}

static uint64_t
elapsed(uint64_t now, uint64_t then)
{
	return now > then ? now - then : 0;
}

static void
grow(struct thresh_state *s)
{
	size_t n = s->nbucket * 2;
	struct tkey **b = xcalloc(n, sizeof(*b));

	for (size_t i = 0; i < s->nbucket; i++) {
		struct tkey *e, *next;

		for (e = s->bucket[i]; e != NULL; e = next) {
			next = e->next;
			e->next = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	}
	free(s->bucket);
	s->bucket = b;
	s->nbucket = n;
}

/* Unlink and free *pp. */
static void
drop(struct thresh_state *s, struct tkey **pp)
{
	struct tkey *e = *pp;

	*pp = e->next;
	free(e);
	s->count--;
}

bool
thresh_check(struct thresh_state *s, const struct threshold *t, const char *key,
    size_t keylen, double value, uint64_t now_ms)
{
	uint64_t h, hold;
	struct tkey **pp, *e;

	assert(t->timeout >= 1);
	if (isnan(value))
		return false;
	hold = (uint64_t)t->timeout * 1000;
	h = siphash13(s->k0, s->k1, key, keylen);
	for (pp = &s->bucket[h & (s->nbucket - 1)]; (e = *pp) != NULL;
	     pp = &e->next)
		if (e->hash == h && e->len == keylen &&
		    memcmp(e->key, key, keylen) == 0)
			break;
	/* A clock going backwards must not age the key (threshold.h). */
	if (e != NULL && now_ms < e->last_seen)
		now_ms = e->last_seen;
	/* Not checked for the hold-down time: re-armed, as a sweep would. */
	if (e != NULL && now_ms - e->last_seen >= hold) {
		drop(s, pp);
		e = NULL;
	}
	if (e == NULL) { /* armed */
		if (!(value >= t->value))
			return false;
		s->fired++;
		if (s->count >= s->max_keys) {
			s->untracked++;
			return true;
		}
		if (s->count >= s->nbucket)
			grow(s);
		e = xmalloc(sizeof(*e) + keylen);
		e->hash = h;
		e->last_seen = now_ms;
		e->below_since = 0;
		e->below = false;
		e->len = keylen;
		memcpy(e->key, key, keylen);
		e->next = s->bucket[h & (s->nbucket - 1)];
		s->bucket[h & (s->nbucket - 1)] = e;
		s->count++;
		return true;
	}
	/* disarmed */
	e->last_seen = now_ms;
	if (value >= t->value) {
		e->below = false;
		return false;
	}
	if (!e->below) {
		e->below = true;
		e->below_since = now_ms;
	} else if (now_ms - e->below_since >= hold)
		drop(s, pp); /* below for the whole hold-down: re-armed */
	return false;
}

void
thresh_sweep(struct thresh_state *s, const struct threshold *t, uint64_t now_ms)
{
	uint64_t hold = (uint64_t)t->timeout * 1000;

	assert(t->timeout >= 1);
	for (size_t i = 0; i < s->nbucket; i++) {
		struct tkey **pp = &s->bucket[i];

		while (*pp != NULL)
			if (elapsed(now_ms, (*pp)->last_seen) >= hold)
				drop(s, pp);
			else
				pp = &(*pp)->next;
	}
}

void
thresh_stats(const struct thresh_state *s, struct thresh_stats *st)
{
	st->tracked = s->count;
	st->fired = s->fired;
	st->untracked = s->untracked;
}

/*
 * A JSON string for text that came from the network: as is if it is
 * valid UTF-8 (jansson refuses it otherwise), else escaped like a log
 * line, so that the field is never silently missing.
 */
static json_t *
text_json(const char *s)
{
	json_t *v = json_string(s);
	size_t n;
	char *buf;

	if (v != NULL)
		return v;
	n = strlen(s);
	buf = xmalloc(4 * n + 1);
	str_escape(buf, 4 * n + 1, (const uint8_t *)s, n);
	v = json_string(buf);
	free(buf);
	return v;
}

/* Copy s into dst[size], cut to fit. */
static void
copy_cut(char *dst, size_t size, const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	if (n >= size)
		n = size - 1;
	memcpy(dst, s != NULL ? s : "", n);
	dst[n] = '\0';
}

struct thresh_event *
thresh_event_new(const struct threshold *t, uint64_t timestamp_ms, double value,
    const char *agent, const char *data_source, const char *flow_key)
{
	struct thresh_event *ev = xcalloc(1, sizeof(*ev));

	ev->timestamp_ms = timestamp_ms;
	copy_cut(ev->threshold_id, sizeof(ev->threshold_id), t->name);
	copy_cut(ev->metric, sizeof(ev->metric), t->metric);
	ev->value = value;
	ev->threshold = t->value;
	copy_cut(ev->agent, sizeof(ev->agent), agent);
	copy_cut(ev->data_source, sizeof(ev->data_source), data_source);
	ev->flow_key = flow_key != NULL ? xstrdup(flow_key) : NULL;
	return ev;
}

void
thresh_event_free(void *p)
{
	struct thresh_event *ev = p;

	if (ev == NULL)
		return;
	free(ev->flow_key);
	free(ev);
}

json_t *
thresh_event_json(uint64_t event_id, const struct thresh_event *ev)
{
	json_t *o = json_object();

	json_object_set_new(o, "eventID", json_integer((json_int_t)event_id));
	json_object_set_new(o, "thresholdID", json_string(ev->threshold_id));
	json_object_set_new(o, "metric", json_string(ev->metric));
	json_object_set_new(
	    o, "timestamp", json_integer((json_int_t)ev->timestamp_ms));
	json_object_set_new(o, "value", number_json(ev->value));
	json_object_set_new(o, "threshold", number_json(ev->threshold));
	json_object_set_new(o, "agent", text_json(ev->agent));
	json_object_set_new(o, "dataSource", text_json(ev->data_source));
	if (ev->flow_key != NULL)
		json_object_set_new(o, "flowKey", text_json(ev->flow_key));
	return o;
}
