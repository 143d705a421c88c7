/*
 * test_jtext.c: jtext.c against jansson itself, on random reals, random
 * byte strings and random trees, indented, plain and compact.
 */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jtext.h"
#include "t.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t
rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

static double
rnd_real(void)
{
	static const double some[] = { 0.0, -0.0, 1.0, -1.0, 0.1, 1e20, 1e21,
		1e-5, 1e-7, 123456789012345678.0, 1e300, 5e-324, 2.5e-308, 25e9,
		100.0, 99.99999999999999, NAN, INFINITY, -INFINITY };
	uint64_t r = rnd();
	double d;

	switch (r % 4) {
	case 0:
		return some[(r >> 8) % (sizeof(some) / sizeof(some[0]))];
	case 1:
		return (double)(int64_t)(rnd() >> (rnd() % 64));
	case 2:
		return (double)(rnd() % 1000000) / (double)(1 + rnd() % 1000);
	default:
		r = rnd();
		memcpy(&d, &r, sizeof(d));
		return d;
	}
}

/* Random bytes, mostly ASCII, some control bytes and (in)valid UTF-8. */
static void
rnd_str(char *s, size_t cap)
{
	static const char *const pieces[] = { "a", "swp1", "-", " ", "\"", "\\",
		"/", "\n", "\t", "\x01", "\x1f", "\x7f", "\xc3\xa9",
		"\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xc0\xaf", "\xed\xa0\x80",
		"\xff", "\xe2\x82", "\xf4\x90\x80\x80" };
	size_t n = 0, k = rnd() % 6;
	bool valid = rnd() % 4 != 0;

	s[0] = '\0';
	for (size_t i = 0; i < k; i++) {
		size_t p = rnd() % (sizeof(pieces) / sizeof(pieces[0]));
		const char *x = pieces[valid && p >= 15 ? p % 15 : p];
		size_t l = strlen(x);

		if (n + l + 1 > cap)
			break;
		memcpy(s + n, x, l + 1);
		n += l;
	}
}

static void
test_reals(void)
{
	for (int i = 0; i < 200000; i++) {
		double v = rnd_real();
		json_t *j = json_real(v);
		struct jtext w = { .compact = true };
		char *want;

		jtext_real(&w, NULL, v);
		if (j == NULL) {
			T_OK(w.len == 0);
			free(w.buf);
			continue;
		}
		want = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
		T_STREQ(w.buf, want);
		if (t_failed_now) {
			printf("# %.17g\n", v);
			i = 1 << 30;
		}
		free(want);
		free(w.buf);
		json_decref(j);
	}
}

static void
test_strings(void)
{
	char s[64];

	for (int i = 0; i < 100000; i++) {
		json_t *j;
		struct jtext w = { .indent = 1 };
		char *want;

		rnd_str(s, sizeof(s));
		j = json_string(s);
		T_EQ(jtext_str_ok(s), j != NULL);
		jtext_str(&w, NULL, s);
		if (j == NULL) {
			T_OK(w.len == 0);
			free(w.buf);
			continue;
		}
		want = json_dumps(j, JSON_ENCODE_ANY | JSON_INDENT(1));
		T_STREQ(w.buf, want);
		free(want);
		free(w.buf);
		json_decref(j);
		if (t_failed_now)
			break;
	}
}

/* The same random value into jansson (returned, NULL where it refuses
 * one) and into w. */
static json_t *
gen(struct jtext *w, const char *key, int depth)
{
	char s[64];
	uint64_t r = rnd() % (depth > 4 ? 6 : 9);
	json_t *o;

	switch (r) {
	case 0: {
		double v = rnd_real();

		jtext_real(w, key, v);
		return json_real(v);
	}
	case 1: {
		long long v = (long long)(rnd() >> (rnd() % 64));

		jtext_int(w, key, v);
		return json_integer(v);
	}
	case 2:
		rnd_str(s, sizeof(s));
		jtext_str(w, key, s);
		return json_string(s);
	case 3:
		jtext_bool(w, key, r & 1);
		return json_boolean(r & 1);
	case 4:
	case 5:
		jtext_null(w, key);
		return json_null();
	case 6:
	case 7:
		o = json_object();
		jtext_open(w, key, '{');
		for (int i = 0, n = (int)(rnd() % 5); i < n; i++) {
			char k[16];

			snprintf(k, sizeof(k), "k%d", i);
			json_object_set_new(o, k, gen(w, k, depth + 1));
		}
		jtext_close(w, '}');
		return o;
	default:
		o = json_array();
		jtext_open(w, key, '[');
		for (int i = 0, n = (int)(rnd() % 5); i < n; i++)
			json_array_append_new(o, gen(w, NULL, depth + 1));
		jtext_close(w, ']');
		return o;
	}
}

static void
test_trees(void)
{
	static const size_t flags[] = { JSON_INDENT(1), JSON_INDENT(2),
		JSON_INDENT(3), 0, JSON_COMPACT };

	for (int i = 0; i < 20000 && !t_failed_now; i++) {
		size_t f = flags[i % 5];
		struct jtext w = { .indent = (int)(f & 0x1f),
			.compact = (f & JSON_COMPACT) != 0 };
		json_t *o = json_object();
		char *want;

		/* the root is an object (what the callers write) */
		jtext_open(&w, NULL, '{');
		for (int k = 0, n = (int)(rnd() % 4); k < n; k++) {
			char key[16];

			snprintf(key, sizeof(key), "m%d", k);
			json_object_set_new(o, key, gen(&w, key, 0));
		}
		jtext_close(&w, '}');
		want = json_dumps(o, f | JSON_PRESERVE_ORDER);
		T_STREQ(w.buf, want);
		free(want);
		free(w.buf);
		json_decref(o);
	}
}

int
main(void)
{
	t_suite = "jtext";
	T_RUN(test_reals);
	T_RUN(test_strings);
	T_RUN(test_trees);
	return t_done();
}
