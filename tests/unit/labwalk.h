/*
 * labwalk.h: helpers shared by the tests that read walks recorded in the
 * lab (tests/unit/walks/): a whole-file reader, and lookups in
 * lab-info.txt, the `lab.sh info` output (key=value lines) recorded with
 * them. Static, like t.h: include it once per test program.
 */
#ifndef FABMON_LABWALK_H
#define FABMON_LABWALK_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* lab-info.txt's text, set by the test (slurp it first). */
static char *info_text;

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (f == NULL) {
		printf(
		    "# cannot open %s (run from the repository root)\n", path);
		exit(1);
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = xmalloc((size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n)
		exit(1);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* The value of a lab-info.txt key (printf-style), or "". */
static const char *info(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), unused));

static const char *
info(const char *fmt, ...)
{
	static char val[8][128];
	static int slot;
	char key[128];
	const char *p;
	va_list ap;
	size_t kl;

	va_start(ap, fmt);
	vsnprintf(key, sizeof(key), fmt, ap);
	va_end(ap);
	kl = strlen(key);
	for (p = info_text; p != NULL && *p != '\0';) {
		const char *nl = strchr(p, '\n');
		size_t ll = nl ? (size_t)(nl - p) : strlen(p);

		if (ll > kl && memcmp(p, key, kl) == 0 && p[kl] == '=') {
			char *v = val[slot++ % 8];

			snprintf(
			    v, 128, "%.*s", (int)(ll - kl - 1), p + kl + 1);
			return v;
		}
		p = nl ? nl + 1 : NULL;
	}
	return "";
}

#endif
