/*
 * jtext.h: JSON text written as jansson's json_dumps() writes the same
 * tree (JSON_INDENT(n) or JSON_COMPACT, JSON_PRESERVE_ORDER), without the
 * tree: for the large documents a thread rebuilds every second (the links
 * at 1,000 switches: 3.9 MB, which jansson built from about a million
 * allocations). PURE. Any thread; a writer belongs to one.
 *
 * Byte for byte what jansson writes, where jansson refuses a value too: a
 * string that is not valid UTF-8, or a real that is not finite, is left
 * out with its key (json_string()/json_real() return NULL, and
 * json_object_set_new() then sets nothing); so is a container that the
 * caller knows jansson would not have built (see jtext_str_ok()).
 */
#ifndef FABMON_JTEXT_H
#define FABMON_JTEXT_H

#include <stdbool.h>
#include <stddef.h>

#define JTEXT_DEPTH 32

/*
 * Start as { .indent = n } (JSON_INDENT(n)), or { .compact = true }
 * (JSON_COMPACT); buf is the caller's to free, NUL-terminated.
 */
struct jtext {
	char *buf;
	size_t len, cap;
	int indent;
	bool compact;
	int depth;               /* open containers */
	bool empty[JTEXT_DEPTH]; /* nothing written in it yet */
};

/* Would json_string() take s (valid UTF-8)? */
bool jtext_str_ok(const char *s);

/*
 * Each value is written as an object's member when key is not NULL, as an
 * array element (or the whole document) otherwise.
 */
void jtext_open(struct jtext *, const char *key, char bracket);
void jtext_close(struct jtext *, char bracket);
/* Nothing when !jtext_str_ok(s). */
void jtext_str(struct jtext *, const char *key, const char *s);
/* Nothing when v is not finite. */
void jtext_real(struct jtext *, const char *key, double v);
void jtext_int(struct jtext *, const char *key, long long v);
void jtext_bool(struct jtext *, const char *key, bool v);
void jtext_null(struct jtext *, const char *key);

#endif
