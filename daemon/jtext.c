/*
 * jtext.c: JSON text as jansson writes it; see jtext.h. PURE.
 *
 * What follows jansson 2.14's dump.c and strconv.c: the indentation (a
 * newline and depth x n spaces before each member and before a non-empty
 * container's closing bracket, "[]" and "{}" when empty), ": " between a
 * key and its value (":" compact), the escapes of a string (\\ \" \b \f
 * \n \r \t, any other control byte as \u00XX in capitals, all else as
 * is), and a real as "%.17g" with ".0" added when it would read as an
 * integer and the exponent's '+' and leading zeros removed.
 */
#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "jtext.h"
#include "util.h"

static void
put(struct jtext *w, const char *s, size_t n)
{
	if (w->len + n + 1 > w->cap) {
		while (w->len + n + 1 > w->cap)
			w->cap = w->cap ? w->cap * 2 : 4096;
		w->buf = xrealloc(w->buf, w->cap);
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = '\0';
}

/* jansson's dump_indent() */
static void
indent(struct jtext *w, int depth, bool space)
{
	static const char spaces[] = "                                ";

	if (w->indent > 0) {
		size_t n = (size_t)depth * (size_t)w->indent;

		put(w, "\n", 1);
		while (n > 0) {
			size_t k =
			    n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;

			put(w, spaces, k);
			n -= k;
		}
	} else if (space && !w->compact)
		put(w, " ", 1);
}

bool
jtext_str_ok(const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n;) {
		size_t k = utf8_seq_len((const uint8_t *)s + i, n - i);

		if (k == 0)
			return false;
		i += k;
	}
	return true;
}

static void
quoted(struct jtext *w, const char *s)
{
	const char *run = s;
	char seq[8];

	put(w, "\"", 1);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		const char *e = NULL;

		if (c == '\\')
			e = "\\\\";
		else if (c == '"')
			e = "\\\"";
		else if (c == '\b')
			e = "\\b";
		else if (c == '\f')
			e = "\\f";
		else if (c == '\n')
			e = "\\n";
		else if (c == '\r')
			e = "\\r";
		else if (c == '\t')
			e = "\\t";
		else if (c < 0x20) {
			snprintf(seq, sizeof(seq), "\\u%04X", c);
			e = seq;
		}
		if (e == NULL)
			continue;
		put(w, run, (size_t)(s - run));
		put(w, e, strlen(e));
		run = s + 1;
	}
	put(w, run, (size_t)(s - run));
	put(w, "\"", 1);
}

/* Before a value: its separator, indentation and key. */
static void
member(struct jtext *w, const char *key)
{
	if (w->depth > 0) {
		if (w->empty[w->depth - 1]) {
			indent(w, w->depth, false);
			w->empty[w->depth - 1] = false;
		} else {
			put(w, ",", 1);
			indent(w, w->depth, true);
		}
	}
	if (key != NULL) {
		quoted(w, key);
		put(w, w->compact ? ":" : ": ", w->compact ? 1 : 2);
	}
}

void
jtext_open(struct jtext *w, const char *key, char bracket)
{
	assert(w->depth < JTEXT_DEPTH);
	member(w, key);
	put(w, &bracket, 1);
	w->empty[w->depth++] = true;
}

void
jtext_close(struct jtext *w, char bracket)
{
	assert(w->depth > 0);
	if (!w->empty[--w->depth])
		indent(w, w->depth, false);
	put(w, &bracket, 1);
}

void
jtext_str(struct jtext *w, const char *key, const char *s)
{
	if (!jtext_str_ok(s))
		return;
	member(w, key);
	quoted(w, s);
}

/* jansson's jsonp_dtostr() with its default precision, 17 */
void
jtext_real(struct jtext *w, const char *key, double v)
{
	char buf[64], *start, *end;
	size_t n;

	if (!isfinite(v))
		return;
	n = (size_t)snprintf(buf, sizeof(buf), "%.17g", v);
	if (strchr(buf, '.') == NULL && strchr(buf, 'e') == NULL) {
		memcpy(buf + n, ".0", 3);
		n += 2;
	}
	/* the exponent: no '+', no leading zeros */
	if ((start = strchr(buf, 'e')) != NULL) {
		start++;
		end = start + 1;
		if (*start == '-')
			start++;
		while (*end == '0')
			end++;
		if (end != start) {
			memmove(start, end, n - (size_t)(end - buf) + 1);
			n -= (size_t)(end - start);
		}
	}
	member(w, key);
	put(w, buf, n);
}

void
jtext_int(struct jtext *w, const char *key, long long v)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%lld", v);

	member(w, key);
	put(w, buf, (size_t)n);
}

void
jtext_bool(struct jtext *w, const char *key, bool v)
{
	member(w, key);
	put(w, v ? "true" : "false", v ? 4 : 5);
}

void
jtext_null(struct jtext *w, const char *key)
{
	member(w, key);
	put(w, "null", 4);
}
