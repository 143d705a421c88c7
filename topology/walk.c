/*
 * walk.c: the plain-data SNMP walk result, and a parser for recorded
 * `snmpwalk -On` text. PURE: no I/O, no net-snmp.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "walk.h"

#define WALK_DEFAULT_MAX 200000

struct walk *
walk_new(const char *target, size_t max_vbs)
{
	struct walk *w = xcalloc(1, sizeof(*w));

	snprintf(w->target, sizeof(w->target), "%s", target ? target : "");
	w->max_vbs = max_vbs ? max_vbs : WALK_DEFAULT_MAX;
	return w;
}

void
walk_free(struct walk *w)
{
	if (w == NULL)
		return;
	for (size_t i = 0; i < w->n; i++)
		free(w->vbs[i].str);
	free(w->vbs);
	free(w);
}

int
walk_add(struct walk *w, const uint32_t *oid, size_t oid_len,
    enum walk_type type, int64_t num, const uint8_t *str, size_t str_len,
    const uint32_t *oid_val, size_t oid_val_len)
{
	struct walk_vb *vb;

	if (w->n >= w->max_vbs || oid_len > WALK_OID_MAX ||
	    oid_val_len > WALK_OID_MAX || str_len > UINT32_MAX - 1) {
		if (w->status == WALK_OK)
			w->status = WALK_PARTIAL;
		if (w->err[0] == '\0')
			snprintf(w->err, sizeof(w->err), "%s",
			    w->n >= w->max_vbs ? "too many varbinds"
			                       : "varbind too large");
		return -1;
	}
	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 256;
		w->vbs = xrealloc(w->vbs, w->cap * sizeof(*w->vbs));
	}
	vb = &w->vbs[w->n++];
	memset(vb, 0, sizeof(*vb));
	memcpy(vb->oid, oid, oid_len * sizeof(*oid));
	vb->oid_len = (uint8_t)oid_len;
	vb->type = (uint8_t)type;
	vb->num = num;
	if (type == WALK_STR || type == WALK_IPADDR) {
		vb->str = xmalloc(str_len + 1);
		if (str_len)
			memcpy(vb->str, str, str_len);
		vb->str[str_len] = '\0';
		vb->str_len = (uint32_t)str_len;
	}
	if (type == WALK_OID && oid_val_len) {
		memcpy(vb->oid_val, oid_val, oid_val_len * sizeof(*oid_val));
		vb->oid_val_len = (uint8_t)oid_val_len;
	}
	return 0;
}

int
walk_oid_prefix(const uint32_t *oid, size_t len, const uint32_t *prefix,
    size_t plen, const uint32_t **rest, size_t *rest_len)
{
	if (len < plen || memcmp(oid, prefix, plen * sizeof(*oid)) != 0)
		return 0;
	if (rest != NULL)
		*rest = oid + plen;
	if (rest_len != NULL)
		*rest_len = len - plen;
	return 1;
}

/* Parse ".1.3.6" or "1.3.6" into oid[]; returns the length or -1. */
static int
parse_oid(const char *s, const char *end, uint32_t *oid)
{
	int n = 0;

	if (s < end && *s == '.')
		s++;
	while (s < end) {
		unsigned long v;
		char *e;

		if (!isdigit((unsigned char)*s) || n >= WALK_OID_MAX)
			return -1;
		errno = 0;
		v = strtoul(s, &e, 10);
		if (errno || v > UINT32_MAX || e > end)
			return -1;
		oid[n++] = (uint32_t)v;
		s = e;
		if (s < end) {
			if (*s != '.')
				return -1;
			s++;
			if (s == end)
				return -1;
		}
	}
	return n;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* One line: ".OID = TYPE: value" or ".OID = value-less form". */
static int
parse_line(struct walk *w, const char *line, const char *end)
{
	uint32_t oid[WALK_OID_MAX], val[WALK_OID_MAX];
	const char *eq, *v, *colon;
	char type[32];
	size_t tl;
	int n, vn;

	while (line < end && isspace((unsigned char)*line))
		line++;
	eq = memchr(line, '=', (size_t)(end - line));
	if (eq == NULL || eq - line < 2)
		return -1;
	{
		const char *oe = eq;

		while (oe > line && isspace((unsigned char)oe[-1]))
			oe--;
		if ((n = parse_oid(line, oe, oid)) <= 0)
			return -1;
	}
	v = eq + 1;
	while (v < end && *v == ' ')
		v++;
	if (end - v >= 2 && v[0] == '"' && v[1] == '"' && end - v == 2)
		return walk_add(w, oid, (size_t)n, WALK_STR, 0,
		           (const uint8_t *)"", 0, NULL, 0) == 0
		    ? 0
		    : -1;
	if ((end - v >= 14 && memcmp(v, "No Such Object", 14) == 0) ||
	    (end - v >= 16 && memcmp(v, "No Such Instance", 16) == 0) ||
	    (end - v >= 9 && memcmp(v, "No more v", 9) == 0))
		return walk_add(w, oid, (size_t)n, WALK_NULL, 0, NULL, 0, NULL,
		           0) == 0
		    ? 0
		    : -1;
	colon = memchr(v, ':', (size_t)(end - v));
	if (colon == NULL || (tl = (size_t)(colon - v)) >= sizeof(type))
		return -1;
	memcpy(type, v, tl);
	type[tl] = '\0';
	v = colon + 1;
	if (v < end && *v == ' ')
		v++;
	if (strcmp(type, "INTEGER") == 0) {
		/* "up(1)" or "5" */
		const char *p = memchr(v, '(', (size_t)(end - v));
		long long x = strtoll(p ? p + 1 : v, NULL, 10);

		return walk_add(w, oid, (size_t)n, WALK_INT, x, NULL, 0, NULL,
		           0) == 0
		    ? 0
		    : -1;
	}
	if (strcmp(type, "Counter32") == 0 || strcmp(type, "Gauge32") == 0 ||
	    strcmp(type, "Unsigned32") == 0 || strcmp(type, "Counter64") == 0 ||
	    strcmp(type, "Timeticks") == 0) {
		const char *p = v;
		unsigned long long x;

		if (strcmp(type, "Timeticks") == 0 && *p == '(')
			p++;
		x = strtoull(p, NULL, 10);
		return walk_add(w, oid, (size_t)n,
		           strcmp(type, "Counter64") == 0 ? WALK_U64
		                                          : WALK_UINT,
		           (int64_t)x, NULL, 0, NULL, 0) == 0
		    ? 0
		    : -1;
	}
	if (strcmp(type, "STRING") == 0) {
		size_t len = (size_t)(end - v);

		/* snmpwalk quotes printable strings */
		if (len >= 2 && v[0] == '"' && v[len - 1] == '"') {
			v++;
			len -= 2;
		} else if (len >= 1 && v[0] == '"') {
			v++; /* continued on the next lines */
			len--;
		}
		return walk_add(w, oid, (size_t)n, WALK_STR, 0,
		           (const uint8_t *)v, len, NULL, 0) == 0
		    ? 0
		    : -1;
	}
	if (strcmp(type, "Hex-STRING") == 0) {
		uint8_t buf[1024];
		size_t len = 0;

		while (v < end && len < sizeof(buf)) {
			int hi, lo;

			while (v < end && isspace((unsigned char)*v))
				v++;
			if (end - v < 2)
				break;
			hi = hexval(v[0]);
			lo = hexval(v[1]);
			if (hi < 0 || lo < 0)
				return -1;
			buf[len++] = (uint8_t)(hi << 4 | lo);
			v += 2;
		}
		return walk_add(w, oid, (size_t)n, WALK_STR, 0, buf, len, NULL,
		           0) == 0
		    ? 0
		    : -1;
	}
	if (strcmp(type, "OID") == 0) {
		const char *e2 = end;

		while (e2 > v && isspace((unsigned char)e2[-1]))
			e2--;
		if ((vn = parse_oid(v, e2, val)) < 0)
			return -1;
		return walk_add(w, oid, (size_t)n, WALK_OID, 0, NULL, 0, val,
		           (size_t)vn) == 0
		    ? 0
		    : -1;
	}
	if (strcmp(type, "IpAddress") == 0) {
		unsigned a, b, c, d;
		uint8_t ip[4];

		if (sscanf(v, "%u.%u.%u.%u", &a, &b, &c, &d) != 4 || a > 255 ||
		    b > 255 || c > 255 || d > 255)
			return -1;
		ip[0] = (uint8_t)a;
		ip[1] = (uint8_t)b;
		ip[2] = (uint8_t)c;
		ip[3] = (uint8_t)d;
		return walk_add(w, oid, (size_t)n, WALK_IPADDR, 0, ip, 4, NULL,
		           0) == 0
		    ? 0
		    : -1;
	}
	return -1;
}

/*
 * snmpwalk wraps long Hex-STRING values onto further lines, and prints
 * strings with newlines over several lines: a line that does not start
 * with an OID continues the previous varbind.
 */
static void
continue_line(struct walk *w, const char *p, const char *end, int hex)
{
	struct walk_vb *vb = &w->vbs[w->n - 1];
	size_t add = (size_t)(end - p) + 1;
	uint8_t *s;

	if (vb->str_len + add > 65536)
		return;
	s = xrealloc(vb->str, vb->str_len + add + 1);
	if (hex) {
		size_t len = vb->str_len;

		while (p + 1 < end) {
			int hi, lo;

			while (p < end && isspace((unsigned char)*p))
				p++;
			if (end - p < 2 || (hi = hexval(p[0])) < 0 ||
			    (lo = hexval(p[1])) < 0)
				break;
			s[len++] = (uint8_t)(hi << 4 | lo);
			p += 2;
		}
		vb->str_len = (uint32_t)len;
	} else {
		s[vb->str_len] = '\n';
		memcpy(s + vb->str_len + 1, p, (size_t)(end - p));
		vb->str_len += (uint32_t)add;
		/* drop the closing quote of a quoted multi-line string */
		if (vb->str_len > 0 && s[vb->str_len - 1] == '"')
			vb->str_len--;
	}
	s[vb->str_len] = '\0';
	vb->str = s;
}

struct walk *
walk_parse_text(const char *text, const char *target, size_t *bad_lines)
{
	struct walk *w = walk_new(target, 0);
	const char *p = text;
	size_t bad = 0;
	int last = 0; /* 1: a Hex-STRING, 2: a STRING may continue */

	while (p != NULL && *p != '\0') {
		const char *nl = strchr(p, '\n');
		const char *end = nl ? nl : p + strlen(p);
		const char *q = p;

		while (q < end && isspace((unsigned char)*q))
			q++;
		if (q == end || *q == '#') {
			/* blank or comment */
		} else if (last && w->n > 0 &&
		    !(*q == '.' && q + 1 < end &&
		        isdigit((unsigned char)q[1]))) {
			continue_line(w, q, end, last == 1);
		} else if (parse_line(w, q, end) != 0) {
			bad++;
			last = 0;
		} else {
			/* bounded to this line: strstr could find the next */
			const char *t = memmem(q, (size_t)(end - q), "= ", 2);

			last = 0;
			if (t != NULL && (size_t)(end - t) > 12 &&
			    memcmp(t + 2, "Hex-STRING:", 11) == 0)
				last = 1;
			else if (t != NULL && (size_t)(end - t) > 8 &&
			    memcmp(t + 2, "STRING:", 7) == 0)
				last = 2;
		}
		p = nl ? nl + 1 : NULL;
	}
	if (bad_lines != NULL)
		*bad_lines = bad;
	return w;
}
