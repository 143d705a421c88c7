/*
 * ha_fifo.c: keepalived's notify FIFO lines (see ha_fifo.h). PURE: no
 * I/O; the HA thread (ha.c) feeds it what it reads, the unit test and the
 * fuzzer feed it anything.
 */
#include <string.h>

#include "ha_fifo.h"

static const struct {
	const char *name;
	enum ha_vrrp state;
} vrrp_names[] = {
	{ "MASTER", HA_VRRP_MASTER },
	{ "BACKUP", HA_VRRP_BACKUP },
	{ "FAULT", HA_VRRP_FAULT },
	{ "STOP", HA_VRRP_STOP },
	{ "DELETED", HA_VRRP_DELETED },
	{ "MASTER_RX_LOWER_PRI", HA_VRRP_MASTER_RX_LOWER_PRI },
	{ "MASTER_PRIORITY", HA_VRRP_MASTER_PRIORITY },
	{ "BACKUP_PRIORITY", HA_VRRP_BACKUP_PRIORITY },
};

static const char *const role_names[] = {
	[HA_ROLE_UNKNOWN] = "UNKNOWN",
	[HA_ROLE_MASTER] = "MASTER",
	[HA_ROLE_BACKUP] = "BACKUP",
	[HA_ROLE_FAULT] = "FAULT",
};

const char *
ha_vrrp_name(enum ha_vrrp s)
{
	for (size_t i = 0; i < sizeof(vrrp_names) / sizeof(vrrp_names[0]); i++)
		if (vrrp_names[i].state == s)
			return vrrp_names[i].name;
	return "NONE";
}

const char *
ha_role_name(enum ha_role r)
{
	if ((unsigned)r >= sizeof(role_names) / sizeof(role_names[0]))
		return "UNKNOWN";
	return role_names[r];
}

enum ha_role
ha_role_parse(const char *s)
{
	if (s == NULL)
		return HA_ROLE_UNKNOWN;
	for (size_t i = 0; i < sizeof(role_names) / sizeof(role_names[0]); i++)
		if (strcmp(s, role_names[i]) == 0)
			return (enum ha_role)i;
	return HA_ROLE_UNKNOWN;
}

enum ha_role
ha_role_of(enum ha_vrrp s, enum ha_role cur)
{
	switch (s) {
	case HA_VRRP_MASTER:
	case HA_VRRP_MASTER_PRIORITY:
		return HA_ROLE_MASTER;
	case HA_VRRP_BACKUP:
	case HA_VRRP_BACKUP_PRIORITY:
		return HA_ROLE_BACKUP;
	case HA_VRRP_FAULT:
	case HA_VRRP_STOP:
	case HA_VRRP_DELETED:
		return HA_ROLE_FAULT;
	case HA_VRRP_MASTER_RX_LOWER_PRI:
	case HA_VRRP_NONE:
		break;
	}
	return cur;
}

/* A cursor over one line: every read is bounded by end. */
struct cur {
	const char *p, *end;
};

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static size_t
skip_blanks(struct cur *c)
{
	size_t n = 0;

	while (c->p < c->end && is_blank(*c->p)) {
		c->p++;
		n++;
	}
	return n;
}

/* The next run of non-blank bytes. */
static size_t
token(struct cur *c, const char **start)
{
	*start = c->p;
	while (c->p < c->end && !is_blank(*c->p))
		c->p++;
	return (size_t)(c->p - *start);
}

static bool
tok_is(const char *t, size_t n, const char *word)
{
	return n == strlen(word) && memcmp(t, word, n) == 0;
}

int
ha_fifo_parse(const char *line, size_t len, struct ha_fifo_msg *out)
{
	struct cur c = { line, line + len };
	const char *t;
	size_t n;
	int prio = 0;
	bool found = false;

	memset(out, 0, sizeof(*out));
	if (len > 0 && line[len - 1] == '\r')
		c.end--;
	skip_blanks(&c);
	n = token(&c, &t);
	if (tok_is(t, n, "VS") || tok_is(t, n, "RS"))
		return 1; /* the checker's lines, on a shared notify_fifo */
	if (tok_is(t, n, "INSTANCE"))
		out->kind = HA_FIFO_INSTANCE;
	else if (tok_is(t, n, "GROUP"))
		out->kind = HA_FIFO_GROUP;
	else
		return -1;
	if (skip_blanks(&c) == 0 || c.p >= c.end || *c.p != '"')
		return -1;
	c.p++;
	t = c.p;
	while (c.p < c.end && *c.p != '"') {
		unsigned char ch = (unsigned char)*c.p;

		if (ch < 0x20 || ch == 0x7f)
			return -1;
		c.p++;
	}
	n = (size_t)(c.p - t);
	if (c.p >= c.end || n == 0 || n >= sizeof(out->name))
		return -1;
	memcpy(out->name, t, n);
	out->name[n] = '\0';
	c.p++; /* the closing quote */
	if (skip_blanks(&c) == 0)
		return -1;
	n = token(&c, &t);
	for (size_t i = 0; i < sizeof(vrrp_names) / sizeof(vrrp_names[0]); i++)
		if (tok_is(t, n, vrrp_names[i].name)) {
			out->state = vrrp_names[i].state;
			found = true;
		}
	if (!found)
		return -1;
	if (skip_blanks(&c) == 0)
		return -1;
	n = token(&c, &t);
	if (n == 0 || n > 3)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (t[i] < '0' || t[i] > '9')
			return -1;
		prio = prio * 10 + (t[i] - '0');
	}
	if (prio > 255)
		return -1;
	out->priority = prio;
	skip_blanks(&c);
	return c.p == c.end ? 0 : -1;
}

void
ha_linebuf_feed(struct ha_linebuf *lb, const char *data, size_t n,
    void (*cb)(void *arg, const char *line, size_t len), void *arg)
{
	for (size_t i = 0; i < n; i++) {
		char ch = data[i];

		if (ch == '\n') {
			if (!lb->skipping)
				cb(arg, lb->buf, lb->len);
			lb->len = 0;
			lb->skipping = false;
			continue;
		}
		if (lb->skipping)
			continue;
		if (lb->len == sizeof(lb->buf)) {
			lb->skipping = true;
			lb->overlong++;
			lb->len = 0;
			continue;
		}
		lb->buf[lb->len++] = ch;
	}
}
