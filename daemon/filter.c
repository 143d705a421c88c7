/*
 * filter.c: parse sFlow-RT filter expressions into a tree of typed
 * comparisons, and match flow records against it (see filter.h). PURE:
 * no I/O, no logging. Parsing runs where a flow definition is accepted;
 * matching runs in the ingest thread, so values are compiled to binary
 * (numbers, prefixes, MACs) once, here, rather than formatted per sample.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "filter.h"
#include "util.h"

enum fop { OP_EQ, OP_NE, OP_RE, OP_NRE };

struct pfx4 {
	uint32_t net, mask;
};

struct pfx6 {
	uint64_t net[2], mask[2];
};

/* One comparison: key op value-list, compiled by the key's type. */
struct fcmp {
	struct flowkey *key;
	enum flowkey_type type;
	enum fop op;
	/* = or != on a number or an IPv4 address read straight from the
	 * record (flowkey_direct()): matched without flowkey_value() */
	enum flowkey_direct fast;
	bool has_null; /* the list has `null` */
	/* NUM, MAC (48 bits), IFINDEX (plain ifIndexes): sorted, unique */
	uint64_t *nums;
	size_t n_nums;
	bool if_internal, if_discard, if_multiple;
	struct pfx4 *p4;
	size_t n_p4;
	struct pfx6 *p6;
	size_t n_p6;
	char **strs;
	size_t *str_len;
	size_t n_strs;
	regex_t *res;
	size_t n_res;
};

enum nkind { N_TRUE, N_OR, N_AND, N_CMP };

struct fnode {
	enum nkind kind;
	struct fnode **kids; /* N_OR, N_AND */
	size_t n_kids;
	struct fcmp *cmp; /* N_CMP */
};

struct filter {
	struct fnode *root;
	char *text;
	bool topo;
};

/* ---- freeing ----------------------------------------------------------- */

static void
cmp_free(struct fcmp *c)
{
	if (c == NULL)
		return;
	flowkey_free(c->key);
	free(c->nums);
	free(c->p4);
	free(c->p6);
	for (size_t i = 0; i < c->n_strs; i++)
		free(c->strs[i]);
	free(c->strs);
	free(c->str_len);
	for (size_t i = 0; i < c->n_res; i++)
		regfree(&c->res[i]);
	free(c->res);
	free(c);
}

static void
node_free(struct fnode *n)
{
	if (n == NULL)
		return;
	for (size_t i = 0; i < n->n_kids; i++)
		node_free(n->kids[i]);
	free(n->kids);
	cmp_free(n->cmp);
	free(n);
}

void
filter_free(struct filter *f)
{
	if (f == NULL)
		return;
	node_free(f->root);
	free(f->text);
	free(f);
}

/* ---- parsing ----------------------------------------------------------- */

struct fparse {
	const char *s;
	size_t n, i;
	int depth;
	bool topo;
	char *err;
	size_t errlen;
	bool failed;
	long re_budget; /* regex atoms left, after expansion (re_cost) */
};

/* Report an error at 0-based index at (1-based in the message). */
static void
ferr(struct fparse *p, size_t at, const char *fmt, ...)
{
	char msg[320];
	va_list ap;

	p->failed = true;
	if (p->err == NULL || p->errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errlen, "%s at %zu", msg, at + 1);
}

/* "unexpected 'c' at N", for any byte c. */
static void
ferr_char(struct fparse *p, size_t at)
{
	char q[16];

	ferr(p, at, "unexpected '%s'", str_snippet(q, sizeof(q), p->s + at, 1));
}

static void
skip_ws(struct fparse *p)
{
	while (p->i < p->n && isspace((unsigned char)p->s[p->i]))
		p->i++;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void
add_num(struct fcmp *c, uint64_t v)
{
	c->nums = xrealloc(c->nums, (c->n_nums + 1) * sizeof(*c->nums));
	c->nums[c->n_nums++] = v;
}

/* An unsigned decimal or 0x hex number; false if s[0..n) is not one. */
static bool
parse_u64(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	unsigned base = 10;
	size_t i = 0;

	if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
	}
	if (i == n)
		return false;
	for (; i < n; i++) {
		int d;

		if (s[i] >= '0' && s[i] <= '9')
			d = s[i] - '0';
		else if (base == 16 && isxdigit((unsigned char)s[i]))
			d = tolower((unsigned char)s[i]) - 'a' + 10;
		else
			return false;
		if (v > (max - (uint64_t)d) / base)
			return false;
		v = v * base + (uint64_t)d;
	}
	*out = v;
	return true;
}

/* 12 hex digits, optionally ':' or '-' between the bytes. */
static bool
parse_mac(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	int digits = 0;

	for (size_t i = 0; i < n; i++) {
		char ch = s[i];

		if ((ch == ':' || ch == '-') && digits % 2 == 0 && digits > 0 &&
		    digits < 12 && i + 1 < n && s[i + 1] != ':' &&
		    s[i + 1] != '-')
			continue;
		if (!isxdigit((unsigned char)ch) || digits == 12)
			return false;
		v = v << 4 |
		    (uint64_t)(isdigit((unsigned char)ch)
		            ? ch - '0'
		            : tolower((unsigned char)ch) - 'a' + 10);
		digits++;
	}
	if (digits != 12)
		return false;
	*out = v;
	return true;
}

static uint64_t
mac_u64(const uint8_t *m)
{
	uint64_t v = 0;

	for (int i = 0; i < 6; i++)
		v = v << 8 | m[i];
	return v;
}

static uint64_t
rd64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* An address or CIDR prefix; reports its own errors. */
static bool
add_prefix(struct fparse *p, struct fcmp *c, const char *s, size_t n, size_t at)
{
	char buf[64], q[200];
	const char *slash = memchr(s, '/', n);
	size_t alen = slash != NULL ? (size_t)(slash - s) : n;
	uint8_t a[16];
	uint64_t bits;
	int fam;

	if (alen >= sizeof(buf))
		goto bad_addr;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	if (inet_pton(AF_INET, buf, a) == 1)
		fam = 4;
	else if (inet_pton(AF_INET6, buf, a) == 1)
		fam = 6;
	else
		goto bad_addr;
	bits = fam == 4 ? 32 : 128;
	if (slash != NULL) {
		size_t plen = n - alen - 1;

		/* decimal digits only: no 0x, no sign */
		if (plen == 0 || plen > 3 ||
		    strspn(slash + 1, "0123456789") < plen ||
		    !parse_u64(slash + 1, plen, bits, &bits)) {
			ferr(p, at, "bad CIDR '%s'",
			    str_snippet(q, sizeof(q), s, n));
			return false;
		}
	}
	if (fam == 4) {
		uint32_t mask = bits == 0 ? 0 : 0xffffffffu << (32 - bits);
		uint32_t net = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 |
		    (uint32_t)a[2] << 8 | a[3];

		c->p4 = xrealloc(c->p4, (c->n_p4 + 1) * sizeof(*c->p4));
		c->p4[c->n_p4].mask = mask;
		c->p4[c->n_p4].net = net & mask;
		c->n_p4++;
	} else {
		struct pfx6 x;

		for (int h = 0; h < 2; h++) {
			uint64_t b = bits > 64u * h ? bits - 64u * h : 0;

			x.mask[h] = b >= 64 ? UINT64_MAX
			    : b == 0        ? 0
			                    : UINT64_MAX << (64 - b);
			x.net[h] = rd64(a + 8 * h) & x.mask[h];
		}
		c->p6 = xrealloc(c->p6, (c->n_p6 + 1) * sizeof(*c->p6));
		c->p6[c->n_p6++] = x;
	}
	return true;
bad_addr:
	ferr(p, at, "bad address '%s'", str_snippet(q, sizeof(q), s, n));
	return false;
}

/*
 * How big a regex gets once compiled, in atoms. glibc's regcomp() copies
 * the tree under a repetition: x+ is x x*, x{n,m} is m copies of x, and
 * nested repetitions multiply, so "(((a{99}){99}){99})" or "f++++..."
 * take gigabytes (the fuzzer found the second). And regexec() time grows
 * with the square of the atoms: (a?){500}a{120}bc takes 85 us per
 * match on a 122-character value, for every sample, against 0.5 us for
 * the patterns sFlow-RT users write (tcpflags~.......1.). A filter comes
 * from a client, so its regexes share a budget of FILTER_RE_BUDGET atoms
 * (matching then stays under ~25 us), and the forms POSIX leaves
 * undefined are refused: adjacent repetitions (Java's lazy and possessive
 * x*? x*+ among them) and back-references (exponential to match).
 * Returns the cost, or -1 with *why set.
 */
#define RE_NEST_MAX 32

struct recost {
	const char *s;
	size_t n, i;
	const char *why;
	size_t why_at;
};

static long re_alt(struct recost *, int);

/* An interval {n}, {n,} or {n,m} at c->i; its copy count, or 0. */
static long
re_interval(struct recost *c)
{
	long lo = 0, hi = -1;
	size_t i = c->i + 1;

	if (i >= c->n || !isdigit((unsigned char)c->s[i]))
		return 0; /* a literal '{' */
	while (i < c->n && isdigit((unsigned char)c->s[i]) && lo <= 100000)
		lo = lo * 10 + (c->s[i++] - '0');
	if (i < c->n && c->s[i] == ',') {
		i++;
		if (i < c->n && isdigit((unsigned char)c->s[i])) {
			hi = 0;
			while (i < c->n && isdigit((unsigned char)c->s[i]) &&
			    hi <= 100000)
				hi = hi * 10 + (c->s[i++] - '0');
		} else {
			hi = lo + 1; /* {n,}: n copies and a star */
		}
	}
	if (i >= c->n || c->s[i] != '}')
		return 0; /* regcomp() will say what is wrong */
	c->i = i + 1;
	return (hi > lo ? hi : lo) > 0 ? (hi > lo ? hi : lo) : 1;
}

static long
re_seq(struct recost *c, int depth)
{
	long sum = 0, last = 0;
	bool quant = false; /* the previous element was a repetition */

	while (c->i < c->n && c->s[c->i] != '|' && c->s[c->i] != ')') {
		char ch = c->s[c->i];
		long atom, times = 0;
		size_t at = c->i;

		if (ch == '*' || ch == '?' || ch == '+' ||
		    (ch == '{' && c->i + 1 < c->n &&
		        isdigit((unsigned char)c->s[c->i + 1]))) {
			if (quant) {
				c->why = "repeated quantifier";
				c->why_at = at;
				return -1;
			}
			if (ch == '{') {
				times = re_interval(c);
			} else {
				times = ch == '+' ? 2 : 1;
				c->i++;
			}
			if (times > 0 && last > 0) {
				sum += last * (times - 1);
				last *= times;
				quant = true;
				if (sum > FILTER_RE_BUDGET)
					return sum;
				continue;
			}
			if (times == 0)
				c->i++; /* a literal '{' */
			atom = 1;
		} else if (ch == '(') {
			if (depth >= RE_NEST_MAX) {
				c->why = "groups nested too deep";
				c->why_at = at;
				return -1;
			}
			c->i++;
			if ((atom = re_alt(c, depth + 1)) < 0)
				return -1;
			if (c->i < c->n && c->s[c->i] == ')')
				c->i++;
			atom++;
		} else if (ch == '[') {
			c->i++;
			if (c->i < c->n && c->s[c->i] == '^')
				c->i++;
			if (c->i < c->n && c->s[c->i] == ']')
				c->i++;
			while (c->i < c->n && c->s[c->i] != ']') {
				if (c->s[c->i] == '[' && c->i + 1 < c->n &&
				    strchr(":.=", c->s[c->i + 1]) != NULL) {
					char close = c->s[c->i + 1];

					c->i += 2;
					while (c->i + 1 < c->n &&
					    !(c->s[c->i] == close &&
					        c->s[c->i + 1] == ']'))
						c->i++;
					c->i++;
				}
				c->i++;
			}
			c->i++;
			atom = 1;
		} else if (ch == '\\') {
			if (c->i + 1 < c->n &&
			    isdigit((unsigned char)c->s[c->i + 1])) {
				c->why = "back-references are not supported";
				c->why_at = at;
				return -1;
			}
			c->i += 2;
			atom = 1;
		} else {
			c->i++;
			atom = 1;
		}
		sum += atom;
		last = atom;
		quant = false;
		if (sum > FILTER_RE_BUDGET)
			return sum;
	}
	return sum;
}

static long
re_alt(struct recost *c, int depth)
{
	long sum = re_seq(c, depth), more;

	while (sum >= 0 && sum <= FILTER_RE_BUDGET && c->i < c->n &&
	    c->s[c->i] == '|') {
		c->i++;
		if ((more = re_seq(c, depth)) < 0)
			return -1;
		sum += more + 1;
	}
	return sum;
}

static long
re_cost(const char *s, size_t n, const char **why, size_t *why_at)
{
	struct recost c = { s, n, 0, NULL, 0 };
	long cost = 0;

	/* A stray ')' ends re_alt(); carry on after it. */
	while (c.i < n) {
		long part = re_alt(&c, 0);

		if (part < 0) {
			*why = c.why;
			*why_at = c.why_at;
			return -1;
		}
		cost += part + 1;
		if (cost > FILTER_RE_BUDGET)
			break;
		c.i++;
	}
	return cost;
}

static bool
add_regex(struct fparse *p, struct fcmp *c, const char *s, size_t n, size_t at)
{
	char *pat, q[200], why[128];
	const char *bad = NULL;
	size_t bad_at = 0;
	long cost;
	int rc;

	cost = re_cost(s, n, &bad, &bad_at);
	if (cost < 0 || cost > p->re_budget) {
		p->failed = true;
		if (p->err != NULL && p->errlen > 0)
			snprintf(p->err, p->errlen, "bad regex '%s' at %zu: %s",
			    str_snippet(q, sizeof(q), s, n),
			    cost < 0 ? at + bad_at + 1 : at + 1,
			    cost < 0 ? bad : "too complex");
		return false;
	}
	p->re_budget -= cost;
	pat = xmalloc(n + 5);
	/* Anchored at both ends, as Java's Pattern.matches(). */
	memcpy(pat, "^(", 2);
	memcpy(pat + 2, s, n);
	memcpy(pat + 2 + n, ")$", 3);
	c->res = xrealloc(c->res, (c->n_res + 1) * sizeof(*c->res));
	rc = regcomp(&c->res[c->n_res], pat, REG_EXTENDED | REG_NOSUB);
	free(pat);
	if (rc != 0) {
		regerror(rc, &c->res[c->n_res], why, sizeof(why));
		regfree(&c->res[c->n_res]);
		/* The position goes with the token, the reason after it. */
		p->failed = true;
		if (p->err != NULL && p->errlen > 0)
			snprintf(p->err, p->errlen, "bad regex '%s' at %zu: %s",
			    str_snippet(q, sizeof(q), s, n), at + 1, why);
		return false;
	}
	c->n_res++;
	return true;
}

/* Compile one list item s[0..n) found at index `at`. */
static bool
add_value(struct fparse *p, struct fcmp *c, const char *s, size_t n, size_t at)
{
	char q[200];
	uint64_t v;

	if (c->op == OP_RE || c->op == OP_NRE)
		return add_regex(p, c, s, n, at);
	if (n == 4 && memcmp(s, "null", 4) == 0) {
		c->has_null = true;
		return true;
	}
	switch (c->type) {
	case FLOWKEY_NUM:
		if (!parse_u64(s, n, UINT64_MAX, &v)) {
			ferr(p, at, "bad number '%s'",
			    str_snippet(q, sizeof(q), s, n));
			return false;
		}
		add_num(c, v);
		return true;
	case FLOWKEY_MAC:
		if (!parse_mac(s, n, &v)) {
			ferr(p, at, "bad MAC address '%s'",
			    str_snippet(q, sizeof(q), s, n));
			return false;
		}
		add_num(c, v);
		return true;
	case FLOWKEY_ADDR:
		return add_prefix(p, c, s, n, at);
	case FLOWKEY_IFINDEX:
		if (n == 8 && strncasecmp(s, "internal", 8) == 0)
			c->if_internal = true;
		else if (n == 7 && strncasecmp(s, "discard", 7) == 0)
			c->if_discard = true;
		else if (n == 8 && strncasecmp(s, "multiple", 8) == 0)
			c->if_multiple = true;
		else if (parse_u64(s, n, UINT32_MAX, &v))
			add_num(c, v);
		else {
			ferr(p, at, "bad ifIndex '%s'",
			    str_snippet(q, sizeof(q), s, n));
			return false;
		}
		return true;
	case FLOWKEY_STR:
	default:
		c->strs = xrealloc(c->strs, (c->n_strs + 1) * sizeof(*c->strs));
		c->str_len =
		    xrealloc(c->str_len, (c->n_strs + 1) * sizeof(*c->str_len));
		c->strs[c->n_strs] = xmalloc(n + 1);
		memcpy(c->strs[c->n_strs], s, n);
		c->strs[c->n_strs][n] = '\0';
		c->str_len[c->n_strs++] = n;
		return true;
	}
}

/*
 * Scan a value list from p->i: up to '&', '|' or ')' outside a regex's
 * groups. With `split`, compile each comma-separated item into c.
 */
static size_t
scan_values(struct fparse *p, struct fcmp *c, bool regex, size_t b, size_t e,
    bool split)
{
	int depth = 0;
	bool in_class = false;
	size_t i, item = b, items = 0;

	for (i = b; i <= e; i++) {
		char ch = i < e ? p->s[i] : '\0';
		bool end = i == e;

		if (!end && regex && ch == '\\' && i + 1 < e) {
			i++;
			continue;
		}
		if (!end && regex && in_class) {
			if (ch == ']')
				in_class = false;
			continue;
		}
		if (!end && regex) {
			if (ch == '[') {
				in_class = true;
				continue;
			}
			if (ch == '(' || ch == '{') {
				depth++;
				continue;
			}
			if ((ch == ')' || ch == '}') && depth > 0) {
				depth--;
				continue;
			}
		}
		if (!end && depth == 0 && (ch == '&' || ch == '|' || ch == ')'))
			return i; /* the end of the list */
		if (!split || (!end && (ch != ',' || depth > 0)))
			continue;
		{
			size_t ib = item, ie = i;

			while (ib < ie && isspace((unsigned char)p->s[ib]))
				ib++;
			while (ie > ib && isspace((unsigned char)p->s[ie - 1]))
				ie--;
			if (ib == ie) {
				ferr(p, ib, "empty value");
				return 0;
			}
			if (++items > FILTER_LIST_MAX) {
				ferr(p, ib, "more than %d values",
				    FILTER_LIST_MAX);
				return 0;
			}
			if (!add_value(p, c, p->s + ib, ie - ib, ib))
				return 0;
			item = i + 1;
		}
	}
	return e;
}

static void
finish_cmp(struct fcmp *c)
{
	size_t o = 0;

	c->fast = FLOWKEY_DIRECT_NONE;
	if (c->op == OP_EQ || c->op == OP_NE) {
		enum flowkey_direct d = flowkey_direct(c->key);

		if ((d == FLOWKEY_DIRECT_NUM && c->type == FLOWKEY_NUM) ||
		    (d == FLOWKEY_DIRECT_IP4 && c->type == FLOWKEY_ADDR))
			c->fast = d;
	}

	if (c->n_nums == 0)
		return;
	qsort(c->nums, c->n_nums, sizeof(*c->nums), cmp_u64);
	for (size_t i = 0; i < c->n_nums; i++)
		if (o == 0 || c->nums[o - 1] != c->nums[i])
			c->nums[o++] = c->nums[i];
	c->n_nums = o;
}

static struct fnode *parse_or(struct fparse *);

static struct fnode *
parse_cmp(struct fparse *p)
{
	const char *s = p->s;
	struct fcmp *c;
	struct fnode *node;
	size_t kb = p->i, ke, vb, ve;
	int bd = 0;
	char q[200];

	while (p->i < p->n) {
		char ch = s[p->i];

		if (ch == '[')
			bd++;
		else if (ch == ']' && bd > 0)
			bd--;
		else if (bd == 0 &&
		    (isspace((unsigned char)ch) || strchr("=!~&|()", ch)))
			break;
		p->i++;
	}
	ke = p->i;
	if (ke == kb) {
		ferr(p, kb, "unexpected '%c'", s[kb]);
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->key = flowkey_parse_n(s + kb, ke - kb, kb, p->err, p->errlen);
	if (c->key == NULL) {
		p->failed = true;
		goto fail;
	}
	c->type = flowkey_type(c->key);
	if (flowkey_uses_topology(c->key))
		p->topo = true;
	skip_ws(p);
	if (p->i < p->n && s[p->i] == '=') {
		c->op = OP_EQ;
		p->i++;
	} else if (p->i < p->n && s[p->i] == '~') {
		c->op = OP_RE;
		p->i++;
	} else if (p->i + 1 < p->n && s[p->i] == '!' && s[p->i + 1] == '=') {
		c->op = OP_NE;
		p->i += 2;
	} else if (p->i + 1 < p->n && s[p->i] == '!' && s[p->i + 1] == '~') {
		c->op = OP_NRE;
		p->i += 2;
	} else {
		ferr(p, p->i, "expected '=', '!=', '~' or '!~' after '%s'",
		    str_snippet(q, sizeof(q), s + kb, ke - kb));
		goto fail;
	}
	skip_ws(p);
	vb = p->i;
	ve = scan_values(
	    p, c, c->op == OP_RE || c->op == OP_NRE, vb, p->n, false);
	p->i = ve;
	while (ve > vb && isspace((unsigned char)s[ve - 1]))
		ve--;
	if (ve == vb) {
		ferr(p, vb, "missing value");
		goto fail;
	}
	scan_values(p, c, c->op == OP_RE || c->op == OP_NRE, vb, ve, true);
	if (p->failed)
		goto fail;
	finish_cmp(c);
	node = xcalloc(1, sizeof(*node));
	node->kind = N_CMP;
	node->cmp = c;
	return node;
fail:
	cmp_free(c);
	return NULL;
}

static struct fnode *
parse_factor(struct fparse *p)
{
	struct fnode *n;
	size_t open;

	skip_ws(p);
	if (p->i >= p->n) {
		ferr(p, p->i, "unexpected end of filter");
		return NULL;
	}
	switch (p->s[p->i]) {
	case '(':
		open = p->i;
		if (++p->depth > FILTER_DEPTH_MAX) {
			ferr(p, open, "parentheses nested deeper than %d",
			    FILTER_DEPTH_MAX);
			return NULL;
		}
		p->i++;
		if ((n = parse_or(p)) == NULL)
			return NULL;
		skip_ws(p);
		if (p->i >= p->n || p->s[p->i] != ')') {
			if (p->i >= p->n)
				ferr(p, p->i, "expected ')'");
			else
				ferr_char(p, p->i);
			node_free(n);
			return NULL;
		}
		p->i++;
		p->depth--;
		return n;
	case ')':
	case '&':
	case '|':
		ferr(p, p->i, "unexpected '%c'", p->s[p->i]);
		return NULL;
	default:
		return parse_cmp(p);
	}
}

static void
add_kid(struct fnode *n, struct fnode *kid)
{
	n->kids = xrealloc(n->kids, (n->n_kids + 1) * sizeof(*n->kids));
	n->kids[n->n_kids++] = kid;
}

/* and := factor ('&' factor)*, or := and ('|' and)*: both n-ary. */
static struct fnode *
parse_list(struct fparse *p, char sep)
{
	struct fnode *first, *n = NULL, *kid;

	first = sep == '&' ? parse_factor(p) : parse_list(p, '&');
	if (first == NULL)
		return NULL;
	for (;;) {
		skip_ws(p);
		if (p->i >= p->n || p->s[p->i] != sep)
			break;
		p->i++;
		kid = sep == '&' ? parse_factor(p) : parse_list(p, '&');
		if (kid == NULL) {
			node_free(n != NULL ? n : first);
			return NULL;
		}
		if (n == NULL) {
			n = xcalloc(1, sizeof(*n));
			n->kind = sep == '&' ? N_AND : N_OR;
			add_kid(n, first);
		}
		add_kid(n, kid);
	}
	return n != NULL ? n : first;
}

static struct fnode *
parse_or(struct fparse *p)
{
	return parse_list(p, '|');
}

struct filter *
filter_parse(const char *expr, char *err, size_t errlen)
{
	struct fparse p = { 0 };
	struct filter *f;
	struct fnode *root;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	p.s = expr;
	p.n = strnlen(expr, FILTER_EXPR_MAX + 1);
	p.err = err;
	p.errlen = errlen;
	p.re_budget = FILTER_RE_BUDGET;
	if (p.n > FILTER_EXPR_MAX) {
		ferr(&p, FILTER_EXPR_MAX, "filter longer than %d characters",
		    FILTER_EXPR_MAX);
		return NULL;
	}
	skip_ws(&p);
	if (p.i == p.n) {
		root = xcalloc(1, sizeof(*root));
		root->kind = N_TRUE;
	} else {
		if ((root = parse_or(&p)) == NULL)
			return NULL;
		skip_ws(&p);
		if (p.i < p.n) {
			ferr_char(&p, p.i);
			node_free(root);
			return NULL;
		}
	}
	f = xcalloc(1, sizeof(*f));
	f->root = root;
	f->text = xstrdup(expr);
	f->topo = p.topo;
	return f;
}

const char *
filter_text(const struct filter *f)
{
	return f->text;
}

bool
filter_uses_topology(const struct filter *f)
{
	return f->topo;
}

/* ---- matching ---------------------------------------------------------- */

static bool
has_num(const struct fcmp *c, uint64_t v)
{
	size_t lo = 0, hi = c->n_nums;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->nums[mid] == v)
			return true;
		if (c->nums[mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static bool
has_ip4(const struct fcmp *c, const uint8_t *a)
{
	uint32_t x = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 |
	    (uint32_t)a[2] << 8 | a[3];

	for (size_t i = 0; i < c->n_p4; i++)
		if ((x & c->p4[i].mask) == c->p4[i].net)
			return true;
	return false;
}

static bool
eq_value(const struct fcmp *c, const struct flowkey_value *v)
{
	switch (v->type) {
	case FLOWKEY_NUM:
		return has_num(c, v->num);
	case FLOWKEY_MAC:
		return has_num(c, mac_u64(v->mac));
	case FLOWKEY_IFINDEX:
		if (v->ifx.format == SFLOW_IF_DISCARD)
			return c->if_discard;
		if (v->ifx.format == SFLOW_IF_MULTIPLE)
			return c->if_multiple;
		if (v->ifx.value == SFLOW_IF_INTERNAL)
			return c->if_internal;
		return has_num(c, v->ifx.value);
	case FLOWKEY_ADDR:
		if (v->addr.family == 4) {
			return has_ip4(c, v->addr.a);
		} else {
			uint64_t hi = rd64(v->addr.a), lo = rd64(v->addr.a + 8);

			for (size_t i = 0; i < c->n_p6; i++)
				if ((hi & c->p6[i].mask[0]) ==
				        c->p6[i].net[0] &&
				    (lo & c->p6[i].mask[1]) == c->p6[i].net[1])
					return true;
		}
		return false;
	case FLOWKEY_STR:
		if (c->has_null && v->len == 4 &&
		    memcmp(v->str, "null", 4) == 0)
			return true;
		for (size_t i = 0; i < c->n_strs; i++)
			if (c->str_len[i] == v->len &&
			    memcmp(c->strs[i], v->str, v->len) == 0)
				return true;
		return false;
	}
	return false;
}

static bool
cmp_match(const struct fcmp *c, const struct flow_rec *r,
    const struct flowrec_ctx *ctx)
{
	struct flowkey_value v;
	char s[FLOWKEY_VALUE_MAX];
	bool has, hit = false;
	uint64_t num;
	uint8_t a4[4];
	int got;

	switch (c->fast) {
	case FLOWKEY_DIRECT_NUM:
		got = flowkey_num(c->key, r, &num);
		hit = got > 0 ? has_num(c, num) : c->has_null;
		return c->op == OP_EQ ? hit : !hit;
	case FLOWKEY_DIRECT_IP4:
		if ((got = flowkey_ip4(c->key, r, a4)) < 0)
			break; /* an IPv6 agent */
		hit = got > 0 ? has_ip4(c, a4) : c->has_null;
		return c->op == OP_EQ ? hit : !hit;
	default:
		break;
	}
	has = flowkey_value(c->key, r, ctx, &v) != 0;
	switch (c->op) {
	case OP_EQ:
	case OP_NE:
		hit = has ? eq_value(c, &v) : c->has_null;
		return c->op == OP_EQ ? hit : !hit;
	case OP_RE:
	case OP_NRE:
		if (has) {
			flowkey_format(&v, s, sizeof(s));
			for (size_t i = 0; i < c->n_res && !hit; i++)
				hit = regexec(&c->res[i], s, 0, NULL, 0) == 0;
		}
		return c->op == OP_RE ? hit : !hit;
	}
	return false;
}

static bool
node_match(const struct fnode *n, const struct flow_rec *r,
    const struct flowrec_ctx *ctx)
{
	switch (n->kind) {
	case N_TRUE:
		return true;
	case N_OR:
		for (size_t i = 0; i < n->n_kids; i++)
			if (node_match(n->kids[i], r, ctx))
				return true;
		return false;
	case N_AND:
		for (size_t i = 0; i < n->n_kids; i++)
			if (!node_match(n->kids[i], r, ctx))
				return false;
		return true;
	case N_CMP:
		return cmp_match(n->cmp, r, ctx);
	}
	return false;
}

int
filter_match(const struct filter *f, const struct flow_rec *r,
    const struct flowrec_ctx *ctx)
{
	return node_match(f->root, r, ctx) ? 1 : 0;
}
