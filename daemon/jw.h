/*
 * jw.h: a small JSON writer for the --decode output (sflow_json.c,
 * netflow_json.c): one growing buffer, members separated as they come,
 * keys with an optional prefix, string values escaped (they may come from
 * the wire). PURE. Any thread; a writer belongs to one.
 */
#ifndef FABMON_JW_H
#define FABMON_JW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JW_DEPTH 16

/* Start as { 0 } with depth -1; buf is the caller's to free. */
struct jw {
	char *buf;
	size_t len;
	size_t cap;
	bool first[JW_DEPTH]; /* no member written yet at this depth */
	int depth;
	char prefix[64]; /* put before every key */
};

void jw_raw(struct jw *, const char *s, size_t n);
void jw_str(struct jw *, const char *s);
/* Bytes from the wire, up to the first NUL: JSON specials and control
 * bytes escaped, valid UTF-8 as is, any other byte as \u00XX. */
void jw_escaped(struct jw *, const uint8_t *s, size_t n);
void jw_sep(struct jw *);
void jw_key(struct jw *, const char *key);
/* Open '{' or '[' (as the member key, or as an element when key is NULL). */
void jw_open(struct jw *, const char *key, char bracket);
void jw_close(struct jw *, char bracket);
void jw_kbytes(struct jw *, const char *key, const uint8_t *v, size_t n);
void jw_ks(struct jw *, const char *key, const char *v);
void jw_kf(struct jw *, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void jw_ku(struct jw *, const char *key, uint64_t v);
/* A MAC as 12 lowercase hex digits. */
void jw_kmac(struct jw *, const char *key, const uint8_t *m);
/* Unix seconds as local ISO 8601 with the offset, or "-". */
void jw_ktime(struct jw *, const char *key, uint64_t secs);

#endif
