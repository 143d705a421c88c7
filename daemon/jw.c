/*
 * jw.c: the JSON writer of the --decode output; see jw.h. PURE.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "jw.h"
#include "util.h"

void
jw_raw(struct jw *w, const char *s, size_t n)
{
	if (w->len + n + 1 > w->cap) {
		while (w->len + n + 1 > w->cap)
			w->cap = w->cap ? w->cap * 2 : 1024;
		w->buf = xrealloc(w->buf, w->cap);
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = '\0';
}

void
jw_str(struct jw *w, const char *s)
{
	jw_raw(w, s, strlen(s));
}

/*
 * Escape a string from the wire: it ends at the first NUL (C strings in
 * fixed-size fields are padded with them); JSON specials and control bytes
 * are escaped; valid UTF-8 passes through; any other byte b becomes
 * \u00bb, so the line is always valid JSON.
 */
void
jw_escaped(struct jw *w, const uint8_t *s, size_t n)
{
	char tmp[8];

	for (size_t i = 0; i < n;) {
		uint8_t c = s[i];
		size_t u;

		if (c == 0)
			break;
		if (c == '"' || c == '\\') {
			tmp[0] = '\\';
			tmp[1] = (char)c;
			jw_raw(w, tmp, 2);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(tmp, sizeof(tmp), "\\u%04x", c);
			jw_raw(w, tmp, 6);
			i++;
		} else if ((u = utf8_seq_len(s + i, n - i)) > 0) {
			jw_raw(w, (const char *)s + i, u);
			i += u;
		} else {
			snprintf(tmp, sizeof(tmp), "\\u%04x", c);
			jw_raw(w, tmp, 6);
			i++;
		}
	}
}

void
jw_sep(struct jw *w)
{
	if (!w->first[w->depth])
		jw_raw(w, ",", 1);
	w->first[w->depth] = false;
}

void
jw_key(struct jw *w, const char *key)
{
	jw_sep(w);
	jw_raw(w, "\"", 1);
	jw_str(w, w->prefix);
	jw_escaped(w, (const uint8_t *)key, strlen(key));
	jw_raw(w, "\":", 2);
}

void
jw_open(struct jw *w, const char *key, char bracket)
{
	if (key != NULL)
		jw_key(w, key);
	else if (w->depth >= 0)
		jw_sep(w);
	jw_raw(w, &bracket, 1);
	if (w->depth + 1 < JW_DEPTH)
		w->depth++;
	w->first[w->depth] = true;
}

void
jw_close(struct jw *w, char bracket)
{
	jw_raw(w, &bracket, 1);
	if (w->depth > 0)
		w->depth--;
}

/* A key with a string value taken from the wire (escaped). */
void
jw_kbytes(struct jw *w, const char *key, const uint8_t *v, size_t n)
{
	jw_key(w, key);
	jw_raw(w, "\"", 1);
	jw_escaped(w, v, n);
	jw_raw(w, "\"", 1);
}

void
jw_ks(struct jw *w, const char *key, const char *v)
{
	jw_kbytes(w, key, (const uint8_t *)v, strlen(v));
}

void
jw_kf(struct jw *w, const char *key, const char *fmt, ...)
{
	char buf[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	jw_ks(w, key, buf);
}

void
jw_ku(struct jw *w, const char *key, uint64_t v)
{
	jw_kf(w, key, "%" PRIu64, v);
}

void
jw_kmac(struct jw *w, const char *key, const uint8_t *m)
{
	jw_kf(w, key, "%02x%02x%02x%02x%02x%02x", m[0], m[1], m[2], m[3], m[4],
	    m[5]);
}

void
jw_ktime(struct jw *w, const char *key, uint64_t secs)
{
	time_t t = (time_t)secs;
	struct tm tm;
	char buf[64];

	if (localtime_r(&t, &tm) == NULL ||
	    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S%z", &tm) == 0)
		snprintf(buf, sizeof(buf), "-");
	jw_ks(w, key, buf);
}
