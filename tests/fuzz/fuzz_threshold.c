/*
 * fuzz_threshold.c: the threshold body parser on arbitrary bytes. Input
 * starting with '@' carries its own threshold name up to the first
 * newline. A threshold that parses renders and parses again to the same
 * struct, matches a data source that has its first values, and drives a
 * short evaluation sequence whose outcome is known.
 */
#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "threshold.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct src {
	const struct threshold *t;
	int mode; /* 0: first values, 1: nothing, 2: last values */
};

static const char *
src_attr(void *arg, const char *name)
{
	struct src *s = arg;

	if (s->mode == 1)
		return NULL;
	for (size_t i = 0; i < s->t->n_filter; i++) {
		const struct threshold_filter *f = &s->t->filter[i];

		if (strcmp(f->attr, name) == 0)
			return threshold_filter_value(
			    s->t, f, s->mode == 0 ? 0 : f->n - 1u);
	}
	return NULL;
}

/* key is NUL-terminated at keylen (and may hold NULs before). */
static void
evaluate(const struct threshold *t, const char *key, size_t keylen)
{
	struct thresh_state *s = thresh_state_new(1);
	uint64_t hold = (uint64_t)t->timeout * 1000;
	struct thresh_stats st;
	struct thresh_event *ev;
	double lo;
	bool same;
	json_t *o;
	char *txt;

	/* armed, at the threshold: fires once, then stays quiet */
	assert(thresh_check(s, t, key, keylen, t->value, 0));
	assert(!thresh_check(s, t, key, keylen, t->value, 1));
	/* below for the hold-down: re-armed, fires again */
	lo = t->value - fabs(t->value) - 1; /* maybe -inf: still below */
	assert(!thresh_check(s, t, key, keylen, lo, 2));
	assert(!thresh_check(s, t, key, keylen, lo, 2 + hold));
	assert(thresh_check(s, t, key, keylen, t->value, 3 + hold));
	/* a second key does not fit: reported anyway, untracked */
	same = keylen == 5 && memcmp(key, "other", 5) == 0;
	assert(thresh_check(s, t, "other", 5, t->value, 4 + hold) == !same);
	thresh_stats(s, &st);
	assert(st.tracked == 1 && st.untracked == (same ? 0 : 1));
	thresh_sweep(s, t, 4 + 2 * hold);
	thresh_stats(s, &st);
	assert(st.tracked == 0);
	thresh_state_free(s);

	ev =
	    thresh_event_new(t, 1, t->value, key, "3", t->by_flow ? key : NULL);
	o = thresh_event_json(7, ev);
	txt = json_dumps(o, JSON_COMPACT);
	assert(txt != NULL);
	free(txt);
	json_decref(o);
	thresh_event_free(ev);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct threshold t, t2; /* 11 KB each: not on the stack */
	char name[128] = "fuzz", err[256], key[33];
	const uint8_t *nl;
	struct src src = { &t, 0 };
	json_t *o;
	char *s;
	size_t keylen;

	if (size > 0 && data[0] == '@' &&
	    (nl = memchr(data, '\n', size < 100 ? size : 100)) != NULL) {
		memcpy(name, data + 1, (size_t)(nl - data) - 1);
		name[nl - data - 1] = '\0';
		size -= (size_t)(nl - data) + 1;
		data = nl + 1;
	}
	/* The body as is, not NUL-terminated: only size bytes are read. */
	if (threshold_parse(
	        name, (const char *)data, size, &t, err, sizeof(err)) != 0) {
		assert(strlen(err) > 0);
		return 0;
	}
	o = threshold_json(&t);
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	assert(s != NULL);
	assert(threshold_parse(name, s, strlen(s), &t2, err, sizeof(err)) == 0);
	assert(memcmp(&t, &t2, sizeof(t)) == 0);
	free(s);

	assert(threshold_filter_match(&t, src_attr, &src));
	src.mode = 2;
	assert(threshold_filter_match(&t, src_attr, &src));
	src.mode = 1;
	assert(threshold_filter_match(&t, src_attr, &src) == (t.n_filter == 0));

	keylen = size < sizeof(key) - 1 ? size : sizeof(key) - 1;
	memcpy(key, data, keylen);
	key[keylen] = '\0';
	evaluate(&t, key, keylen);
	return 0;
}
