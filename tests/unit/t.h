/*
 * t.h: a minimal unit-test harness. Each check prints nothing on success;
 * each test prints "ok - suite/name" or "not ok - suite/name: why" lines
 * that tests/run.sh counts. main() calls T_RUN(test) for each, then t_done().
 */
#ifndef FABMON_T_H
#define FABMON_T_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const char *t_suite = "unit";
static int t_failed_now;
static int t_pass, t_fail;

#define T_FAIL(...)                                                     \
	do {                                                            \
		if (!t_failed_now)                                      \
			printf("#   %s:%d: ", __FILE__, __LINE__);      \
		else                                                    \
			printf("#   %s:%d: ", __FILE__, __LINE__);      \
		printf(__VA_ARGS__);                                    \
		printf("\n");                                           \
		t_failed_now = 1;                                       \
	} while (0)

#define T_OK(c)                                                         \
	do {                                                            \
		if (!(c))                                               \
			T_FAIL("check failed: %s", #c);                 \
	} while (0)

#define T_EQ(a, b)                                                      \
	do {                                                            \
		uint64_t t_a_ = (uint64_t)(a), t_b_ = (uint64_t)(b);    \
		if (t_a_ != t_b_)                                       \
			T_FAIL("%s == %" PRIu64 ", expected %s == %"    \
			    PRIu64, #a, t_a_, #b, t_b_);                \
	} while (0)

#define T_STREQ(a, b)                                                   \
	do {                                                            \
		const char *t_a_ = (a), *t_b_ = (b);                    \
		if (t_a_ == NULL || t_b_ == NULL ||                     \
		    strcmp(t_a_, t_b_) != 0)                            \
			T_FAIL("%s == \"%s\", expected \"%s\"", #a,     \
			    t_a_ ? t_a_ : "(null)",                     \
			    t_b_ ? t_b_ : "(null)");                    \
	} while (0)

typedef void (*t_fn)(void);

static inline void
t_run(const char *name, t_fn fn)
{
	t_failed_now = 0;
	fn();
	if (t_failed_now) {
		printf("not ok - %s/%s\n", t_suite, name);
		t_fail++;
	} else {
		printf("ok - %s/%s\n", t_suite, name);
		t_pass++;
	}
	fflush(stdout);
}

#define T_RUN(fn) t_run(#fn, fn)

static inline int
t_done(void)
{
	printf("# %s: %d passed, %d failed\n", t_suite, t_pass, t_fail);
	return t_fail ? 1 : 0;
}

#endif
