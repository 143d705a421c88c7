/*
 * lldp.c: one switch's facts from its SNMP walk; see lldp.h. PURE: no
 * I/O, no logging. Runs on the topology thread.
 *
 * The walk is a flat list of varbinds in whatever order the agent sent
 * them. Every varbind of interest becomes a "cell" (table, index,
 * column); the cells are sorted once, so that each table row is a run of
 * consecutive cells and duplicates sit next to each other. Nothing below
 * compares every row with every other: a hostile agent can send up to
 * walk.max_vbs varbinds, and sorting or hashing keeps that O(n log n).
 */
#include <stdlib.h>
#include <string.h>

#include "lldp.h"
#include "util.h"

/* qsort, except that an empty array may be NULL (qsort's may not). */
static void
sort_array(
    void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
}

#define AMBIG UINT32_MAX /* an index value shared by several interfaces */

/* ---- text ----------------------------------------------------------- */

/*
 * Copy an SNMP string into a C string that any client can print: cut to
 * cap, trailing NULs and blanks dropped (some agents pad), control bytes
 * and invalid UTF-8 replaced with '?'. A multi-byte character is never
 * cut in half.
 */
static void
text_copy(char *dst, size_t cap, const uint8_t *s, size_t n)
{
	size_t i = 0, o = 0;

	while (n > 0 &&
	    (s[n - 1] == '\0' || s[n - 1] == ' ' || s[n - 1] == '\t' ||
	        s[n - 1] == '\r' || s[n - 1] == '\n'))
		n--;
	while (i < n && o + 1 < cap) {
		size_t len = utf8_seq_len(s + i, n - i);

		if (len <= 1) {
			uint8_t c = s[i];

			dst[o++] =
			    (char)(len == 0 || c < 0x20 || c == 0x7f ? '?' : c);
			i++;
			continue;
		}
		if (o + len >= cap)
			break;
		memcpy(dst + o, s + i, len);
		o += len;
		i += len;
	}
	dst[o] = '\0';
}

static const struct {
	const char *abbr;
	const char *full;
} name_prefixes[] = {
	/* Cisco IOS / NX-OS / IOS-XR, Arista, Dell, Linux */
	{ "gi", "gigabitethernet" },
	{ "gig", "gigabitethernet" },
	{ "gige", "gigabitethernet" },
	{ "te", "tengigabitethernet" },
	{ "ten", "tengigabitethernet" },
	{ "tengig", "tengigabitethernet" },
	{ "tengige", "tengigabitethernet" },
	{ "fa", "fastethernet" },
	{ "fas", "fastethernet" },
	{ "et", "ethernet" },
	{ "eth", "ethernet" },
	{ "po", "port-channel" },
	{ "portchannel", "port-channel" },
	{ "fo", "fortygigabitethernet" },
	{ "fortygig", "fortygigabitethernet" },
	{ "fortygige", "fortygigabitethernet" },
	{ "hu", "hundredgigabitethernet" },
	{ "hundredgig", "hundredgigabitethernet" },
	{ "hundredgige", "hundredgigabitethernet" },
	{ "twe", "twentyfivegigabitethernet" },
	{ "twentyfivegige", "twentyfivegigabitethernet" },
	{ "tw", "twogigabitethernet" },
	{ "twogig", "twogigabitethernet" },
	{ "twogige", "twogigabitethernet" },
	{ "fi", "fivegigabitethernet" },
	{ "fivegige", "fivegigabitethernet" },
	{ "be", "bundle-ether" },
	{ "vl", "vlan" },
	{ "lo", "loopback" },
	{ "ma", "management" },
	{ "mgmt", "management" },
	{ "tu", "tunnel" },
	{ "se", "serial" },
};

char *
lldp_name_norm(const char *in, char *out, size_t cap)
{
	char buf[LLDP_DESC_MAX];
	size_t n = 0, p = 0, o = 0;
	const char *rest;

	/* lower case, blanks dropped */
	for (const char *s = in; *s != '\0' && n + 1 < sizeof(buf); s++) {
		char c = *s;

		if (c == ' ' || c == '\t')
			continue;
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		buf[n++] = c;
	}
	buf[n] = '\0';
	/* the alphabetic prefix: "gi" of "gi1/0/4", "port-channel" of... */
	while (p < n && ((buf[p] >= 'a' && buf[p] <= 'z') || buf[p] == '-'))
		p++;
	rest = buf;
	for (size_t i = 0; p > 0 && i < nitems(name_prefixes); i++) {
		if (strlen(name_prefixes[i].abbr) == p &&
		    memcmp(buf, name_prefixes[i].abbr, p) == 0) {
			const char *f = name_prefixes[i].full;

			while (*f != '\0' && o + 1 < cap)
				out[o++] = *f++;
			rest = buf + p;
			break;
		}
	}
	while (*rest != '\0' && o + 1 < cap)
		out[o++] = *rest++;
	if (cap > 0)
		out[o < cap ? o : cap - 1] = '\0';
	return out;
}

static bool
printable(const uint8_t *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return true;
}

char *
lldp_id_text(bool chassis, uint8_t subtype, const uint8_t *id, size_t len,
    char *buf, size_t cap)
{
	bool mac =
	    chassis ? subtype == LLDP_CHASSIS_MAC : subtype == LLDP_PORT_MAC;
	bool addr =
	    chassis ? subtype == LLDP_CHASSIS_ADDR : subtype == LLDP_PORT_ADDR;
	size_t o = 0;

	if (cap == 0)
		return buf;
	buf[0] = '\0';
	/* networkAddress: an IANA address family octet, then the address */
	if (addr && cap >= 46 &&
	    ((len == 5 && id[0] == 1) || (len == 17 && id[0] == 2))) {
		uint8_t a[16] = { 0 };

		memcpy(a, id + 1, len - 1);
		return addr_fmt(buf, cap, len == 5 ? 4 : 6, a);
	}
	if (!mac && printable(id, len)) {
		text_copy(buf, cap, id, len);
		return buf;
	}
	for (size_t i = 0; i < len && o + (i > 0 ? 3 : 2) < cap; i++) {
		static const char hex[] = "0123456789abcdef";

		if (i > 0)
			buf[o++] = ':';
		buf[o++] = hex[id[i] >> 4];
		buf[o++] = hex[id[i] & 15];
	}
	buf[o] = '\0';
	return buf;
}

const char *
lldp_map_name(enum lldp_map m)
{
	switch (m) {
	case LLDP_MAP_NONE:
		return "none";
	case LLDP_MAP_IFINDEX:
		return "ifindex";
	case LLDP_MAP_BRIDGE:
		return "bridge";
	case LLDP_MAP_DESC:
		return "desc";
	case LLDP_MAP_PORTID:
		return "portid";
	case LLDP_MAP_ASSUMED:
		return "assumed";
	default:
		return "?";
	}
}

/* ---- hash index ------------------------------------------------------ */

struct idx_ent {
	uint64_t hash; /* 0: empty slot */
	size_t koff;
	uint32_t klen;
	uint32_t val;
};

struct lldp_idx {
	struct idx_ent *e;
	size_t cap; /* a power of two */
	size_t n;
	uint8_t *keys; /* every key, back to back */
	size_t klen, kcap;
	uint64_t k0, k1, ks; /* idx_hash()'s key, and its mumhash_seed() */
};

/*
 * mumhash() (util.h) under a per-index key. The key comes from the
 * index's own heap address, so that a switch cannot pick interface
 * names that all collide (it cannot know the address in advance). The
 * ingest thread hashes two keys a flow sample (topo_lookup(): the agent,
 * then the port). With byte-at-a-time FNV-1a, lldp_idx_find() took 3.8 %
 * of its time (as shipped, 200,000 datagrams/s); with this, 1.9 %.
 */
static uint64_t
idx_hash(const struct lldp_idx *x, const void *key, size_t len)
{
	uint64_t h = mumhash_s(x->k0, x->k1, x->ks, key, len);

	return h ? h : 1;
}

struct lldp_idx *
lldp_idx_new(size_t expected)
{
	struct lldp_idx *x = xcalloc(1, sizeof(*x));

	x->cap = 16;
	while (x->cap < expected * 2)
		x->cap *= 2;
	x->e = xcalloc(x->cap, sizeof(*x->e));
	x->k0 = (uint64_t)(uintptr_t)x * 0x9e3779b97f4a7c15ull;
	x->k1 = (x->k0 ^ 0x6a09e667f3bcc908ull) * 0xbf58476d1ce4e5b9ull;
	x->ks = mumhash_seed(x->k0, x->k1);
	return x;
}

void
lldp_idx_free(struct lldp_idx *x)
{
	if (x == NULL)
		return;
	free(x->e);
	free(x->keys);
	free(x);
}

static struct idx_ent *
idx_probe(const struct lldp_idx *x, const void *key, size_t len, uint64_t h)
{
	size_t i = (size_t)h & (x->cap - 1);

	for (;;) {
		struct idx_ent *e = &x->e[i];

		if (e->hash == 0 ||
		    (e->hash == h && e->klen == len &&
		        (len == 0 || memcmp(x->keys + e->koff, key, len) == 0)))
			return e;
		i = (i + 1) & (x->cap - 1);
	}
}

static void
idx_grow(struct lldp_idx *x)
{
	struct idx_ent *old = x->e;
	size_t ocap = x->cap;

	x->cap *= 2;
	x->e = xcalloc(x->cap, sizeof(*x->e));
	for (size_t i = 0; i < ocap; i++) {
		size_t j;

		if (old[i].hash == 0)
			continue;
		j = (size_t)old[i].hash & (x->cap - 1);
		while (x->e[j].hash != 0)
			j = (j + 1) & (x->cap - 1);
		x->e[j] = old[i];
	}
	free(old);
}

uint32_t *
lldp_idx_slot(struct lldp_idx *x, const void *key, size_t len, uint32_t init,
    bool *created)
{
	uint64_t h = idx_hash(x, key, len);
	struct idx_ent *e = idx_probe(x, key, len, h);

	if (e->hash != 0) {
		if (created != NULL)
			*created = false;
		return &e->val;
	}
	if ((x->n + 1) * 2 > x->cap) {
		idx_grow(x);
		e = idx_probe(x, key, len, h);
	}
	if (x->klen + len > x->kcap) {
		x->kcap = (x->klen + len) * 2 + 64;
		x->keys = xrealloc(x->keys, x->kcap);
	}
	if (len > 0)
		memcpy(x->keys + x->klen, key, len);
	e->hash = h;
	e->koff = x->klen;
	e->klen = (uint32_t)len;
	e->val = init;
	x->klen += len;
	x->n++;
	if (created != NULL)
		*created = true;
	return &e->val;
}

const uint32_t *
lldp_idx_find(const struct lldp_idx *x, const void *key, size_t len)
{
	struct idx_ent *e;

	if (x == NULL)
		return NULL;
	e = idx_probe(x, key, len, idx_hash(x, key, len));
	return e->hash != 0 ? &e->val : NULL;
}

/* Insert; a key already bound to another value becomes AMBIG. */
static void
idx_put_unique(struct lldp_idx *x, const void *key, size_t len, uint32_t v)
{
	bool created;
	uint32_t *slot = lldp_idx_slot(x, key, len, v, &created);

	if (!created && *slot != v)
		*slot = AMBIG;
}

/* The value of a normalised name, 0 if missing or ambiguous. */
static uint32_t
idx_name(const struct lldp_idx *x, const char *name)
{
	char norm[LLDP_DESC_MAX];
	const uint32_t *v;

	if (name == NULL || name[0] == '\0')
		return 0;
	lldp_name_norm(name, norm, sizeof(norm));
	v = lldp_idx_find(x, norm, strlen(norm));
	return v != NULL && *v != AMBIG ? *v : 0;
}

static void
idx_put_name(struct lldp_idx *x, const char *name, uint32_t v)
{
	char norm[LLDP_DESC_MAX];

	if (name[0] == '\0' || v == 0)
		return;
	lldp_name_norm(name, norm, sizeof(norm));
	idx_put_unique(x, norm, strlen(norm), v);
}

/* ---- cells ----------------------------------------------------------- */

/*
 * Tables, in the order they are built. ifTable and ifXTable share one
 * table so that an interface is one run of cells; ifXTable columns are
 * stored as IFX + column.
 */
enum tab { T_IF, T_LOCPORT, T_REM, T_BRIDGE };
#define IFX 100

struct cell {
	uint8_t tab;
	uint8_t col;
	uint32_t k[3];
	uint32_t seq; /* position in the walk: the first of duplicates wins */
	const struct walk_vb *vb;
};

struct addr_row {
	uint32_t port, rem;
	struct sflow_addr a;
};

struct lldp_names {
	struct lldp_idx *ifname, *ifdescr, *ifalias; /* norm name → ifindex */
	struct lldp_idx *locid;   /* subtype + raw port id → ifindex */
	struct lldp_idx *loctext; /* norm textual port id → ifindex */
	struct lldp_idx *locdesc; /* norm port description → ifindex */
};

static const uint32_t oid_sysname[] = { 1, 3, 6, 1, 2, 1, 1, 5 };
static const uint32_t oid_iftable[] = { 1, 3, 6, 1, 2, 1, 2, 2, 1 };
static const uint32_t oid_ifxtable[] = { 1, 3, 6, 1, 2, 1, 31, 1, 1, 1 };
static const uint32_t oid_lldploc[] = { 1, 0, 8802, 1, 1, 2, 1, 3 };
static const uint32_t oid_lldprem[] = { 1, 0, 8802, 1, 1, 2, 1, 4, 1, 1 };
static const uint32_t oid_lldpremaddr[] = { 1, 0, 8802, 1, 1, 2, 1, 4, 2, 1 };
static const uint32_t oid_bridgeport[] = { 1, 3, 6, 1, 2, 1, 17, 1, 4, 1, 2 };

#define PFX(vb, o, r, rl)                                                      \
	walk_oid_prefix((vb)->oid, (vb)->oid_len, (o), nitems(o), (r), (rl))

static int
cell_cmp(const void *a, const void *b)
{
	const struct cell *x = a, *y = b;

	if (x->tab != y->tab)
		return x->tab < y->tab ? -1 : 1;
	for (int i = 0; i < 3; i++)
		if (x->k[i] != y->k[i])
			return x->k[i] < y->k[i] ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * An IP address from a table index "subtype.len.addr..." (the address is
 * an OCTET STRING, not IMPLIED: its length is always there; accepting
 * it without would read a truncated index as another address). Returns
 * 1 for an IPv4/IPv6 address, 0 for another kind of address (skipped),
 * -1 for a malformed index.
 */
static int
index_addr(const uint32_t *r, size_t n, struct sflow_addr *a)
{
	size_t want;

	if (n < 2 || r[1] != n - 2)
		return -1;
	if (r[0] == 1)
		want = 4;
	else if (r[0] == 2)
		want = 16;
	else
		return 0;
	if (r[1] != want)
		return -1;
	memset(a, 0, sizeof(*a));
	a->family = want == 4 ? 4 : 6;
	for (size_t i = 0; i < want; i++) {
		if (r[2 + i] > 255)
			return -1;
		a->a[i] = (uint8_t)r[2 + i];
	}
	return 1;
}

static int
addr_cmp(const struct sflow_addr *x, const struct sflow_addr *y)
{
	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	return memcmp(x->a, y->a, x->family == 4 ? 4 : 16);
}

static int
addr_row_cmp(const void *a, const void *b)
{
	const struct addr_row *x = a, *y = b;

	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	if (x->rem != y->rem)
		return x->rem < y->rem ? -1 : 1;
	return addr_cmp(&x->a, &y->a);
}

static int
sflow_addr_cmp(const void *a, const void *b)
{
	return addr_cmp(a, b);
}

static int
mgmt_cmp(const void *a, const void *b)
{
	const struct lldp_mgmt *x = a, *y = b;
	int c = addr_cmp(&x->addr, &y->addr);

	if (c != 0)
		return c;
	/* among duplicates, the one that knows its neighbour first */
	return (int)y->caps_known - (int)x->caps_known;
}

/* Walk state while building facts. */
struct build {
	const struct walk *w;
	struct sw_facts *f;
	struct cell *cells;
	size_t n_cells;
	struct addr_row *rem_addrs;
	size_t n_rem_addrs;
	uint32_t *bridge_k, *bridge_v; /* bridge port → ifIndex, sorted */
	size_t n_bridge;
	bool got_sysname, got_locsysname, got_chassis_subtype, got_chassis;
};

static void
add_cell(struct build *b, enum tab tab, uint32_t col, const uint32_t *k,
    size_t kn, const struct walk_vb *vb, size_t seq)
{
	struct cell *c;

	if (col > 255)
		return; /* a column none of the tables has */
	c = &b->cells[b->n_cells++];
	memset(c, 0, sizeof(*c));
	c->tab = (uint8_t)tab;
	c->col = (uint8_t)col;
	for (size_t i = 0; i < kn && i < 3; i++)
		c->k[i] = k[i];
	c->seq = (uint32_t)seq;
	c->vb = vb;
}

static bool
is_num(const struct walk_vb *vb)
{
	return vb->type == WALK_INT || vb->type == WALK_UINT ||
	    vb->type == WALK_U64;
}

/* A scalar: the first one wins, the others count as duplicates. */
static bool
scalar_first(struct build *b, bool *got)
{
	if (*got) {
		b->f->stats.duplicate++;
		return false;
	}
	*got = true;
	return true;
}

static void
read_scalar_str(
    struct build *b, const struct walk_vb *vb, bool *got, char *dst, size_t cap)
{
	if (vb->type != WALK_STR) {
		if (vb->type != WALK_NULL)
			b->f->stats.wrong_type++;
		return;
	}
	if (scalar_first(b, got))
		text_copy(dst, cap, vb->str, vb->str_len);
}

/* Sort each varbind into a cell, an address row or a scalar. */
static void
collect(struct build *b)
{
	const struct walk *w = b->w;
	struct sw_facts *f = b->f;

	b->cells = xcalloc(w->n ? w->n : 1, sizeof(*b->cells));
	b->rem_addrs = xcalloc(w->n ? w->n : 1, sizeof(*b->rem_addrs));
	for (size_t i = 0; i < w->n; i++) {
		const struct walk_vb *vb = &w->vbs[i];
		const uint32_t *r;
		size_t rl;

		if (vb->type == WALK_NULL)
			continue; /* noSuchObject etc.: nothing there */
		if (PFX(vb, oid_sysname, &r, &rl)) {
			if (rl != 1 || r[0] != 0)
				f->stats.bad_index++;
			else
				read_scalar_str(b, vb, &b->got_sysname,
				    f->sys_name, sizeof(f->sys_name));
		} else if (PFX(vb, oid_iftable, &r, &rl)) {
			if (rl < 1 || (r[0] != 2 && r[0] != 5 && r[0] != 8))
				continue;
			if (rl != 2 || r[1] == 0 || r[1] > INT32_MAX)
				f->stats.bad_index++;
			else
				add_cell(b, T_IF, r[0], r + 1, 1, vb, i);
		} else if (PFX(vb, oid_ifxtable, &r, &rl)) {
			if (rl < 1 || (r[0] != 1 && r[0] != 15 && r[0] != 18))
				continue;
			if (rl != 2 || r[1] == 0 || r[1] > INT32_MAX)
				f->stats.bad_index++;
			else
				add_cell(b, T_IF, IFX + r[0], r + 1, 1, vb, i);
		} else if (PFX(vb, oid_lldprem, &r, &rl)) {
			uint32_t k[3];

			if (rl < 1 || r[0] < 4 || r[0] > 12)
				continue;
			if (rl != 4 || r[2] == 0) {
				f->stats.bad_index++;
				continue;
			}
			k[0] = r[2]; /* localPortNum */
			k[1] = r[3]; /* remIndex */
			k[2] = r[1]; /* timeMark: sorts the newest last */
			add_cell(b, T_REM, r[0], k, 3, vb, i);
		} else if (PFX(vb, oid_lldpremaddr, &r, &rl)) {
			struct addr_row *ar = &b->rem_addrs[b->n_rem_addrs];
			int rc;

			if (rl < 1 || r[0] < 3 || r[0] > 5)
				continue;
			if (rl < 4 || r[2] == 0 ||
			    (rc = index_addr(r + 4, rl - 4, &ar->a)) < 0) {
				f->stats.bad_index++;
				continue;
			}
			if (rc == 0)
				continue;
			ar->port = r[2];
			ar->rem = r[3];
			b->n_rem_addrs++;
		} else if (PFX(vb, oid_lldploc, &r, &rl)) {
			if (rl == 2 && r[1] == 0 && r[0] >= 1 && r[0] <= 3) {
				if (r[0] == 3) {
					read_scalar_str(b, vb,
					    &b->got_locsysname,
					    f->lldp_sys_name,
					    sizeof(f->lldp_sys_name));
				} else if (r[0] == 1) {
					if (!is_num(vb))
						f->stats.wrong_type++;
					else if (vb->num < 1 || vb->num > 7)
						f->stats.bad_value++;
					else if (scalar_first(b,
					             &b->got_chassis_subtype))
						f->chassis_subtype =
						    (uint8_t)vb->num;
				} else if (vb->type != WALK_STR) {
					f->stats.wrong_type++;
				} else if (scalar_first(b, &b->got_chassis)) {
					size_t n = vb->str_len;

					if (n > LLDP_ID_MAX) {
						n = LLDP_ID_MAX;
						f->stats.bad_value++;
					}
					memcpy(f->chassis, vb->str, n);
					f->chassis_len = (uint8_t)n;
				}
			} else if (rl >= 3 && r[0] == 7 && r[1] == 1 &&
			    r[2] >= 2 && r[2] <= 4) {
				if (rl != 4 || r[3] == 0)
					f->stats.bad_index++;
				else
					add_cell(b, T_LOCPORT, r[2], r + 3, 1,
					    vb, i);
			} else if (rl >= 3 && r[0] == 8 && r[1] == 1 &&
			    r[2] >= 3 && r[2] <= 6) {
				/* lldpLocManAddrTable: the address is the
				 * index; one column suffices */
				struct sflow_addr a;
				int rc = index_addr(r + 3, rl - 3, &a);

				if (rc < 0)
					f->stats.bad_index++;
				else if (rc > 0 &&
				    f->n_self_addrs < LLDP_MAX_ROWS) {
					f->self_addrs = xrealloc(f->self_addrs,
					    (f->n_self_addrs + 1) * sizeof(a));
					f->self_addrs[f->n_self_addrs++] = a;
				} else if (rc > 0) {
					f->stats.too_many++;
				}
			}
		} else if (PFX(vb, oid_bridgeport, &r, &rl)) {
			if (rl != 1 || r[0] == 0)
				f->stats.bad_index++;
			else
				add_cell(b, T_BRIDGE, 0, r, 1, vb, i);
		}
	}
	sort_array(b->cells, b->n_cells, sizeof(*b->cells), cell_cmp);
}

/* Cells [i, end) of one row: same table and index. */
static size_t
row_end(const struct build *b, size_t i)
{
	size_t j = i + 1;

	while (j < b->n_cells && b->cells[j].tab == b->cells[i].tab &&
	    memcmp(b->cells[j].k, b->cells[i].k, sizeof(b->cells[i].k)) == 0)
		j++;
	return j;
}

/* The cell of column col in [i, end), or NULL; duplicates are counted. */
static const struct walk_vb *
row_col(struct build *b, size_t i, size_t end, uint8_t col, int want)
{
	const struct walk_vb *vb = NULL;

	for (size_t j = i; j < end; j++) {
		if (b->cells[j].col != col)
			continue;
		if (vb != NULL) {
			b->f->stats.duplicate++;
			continue;
		}
		vb = b->cells[j].vb;
	}
	if (vb == NULL)
		return NULL;
	if ((want == WALK_INT && !is_num(vb)) ||
	    (want == WALK_STR && vb->type != WALK_STR)) {
		b->f->stats.wrong_type++;
		return NULL;
	}
	return vb;
}

static void
col_str(
    struct build *b, size_t i, size_t end, uint8_t col, char *dst, size_t cap)
{
	const struct walk_vb *vb = row_col(b, i, end, col, WALK_STR);

	if (vb != NULL)
		text_copy(dst, cap, vb->str, vb->str_len);
}

/* A subtype column (1..7), 0 if missing or out of range. */
static uint8_t
col_subtype(struct build *b, size_t i, size_t end, uint8_t col)
{
	const struct walk_vb *vb = row_col(b, i, end, col, WALK_INT);

	if (vb == NULL)
		return 0;
	if (vb->num < 1 || vb->num > 7) {
		b->f->stats.bad_value++;
		return 0;
	}
	return (uint8_t)vb->num;
}

static uint8_t
col_id(struct build *b, size_t i, size_t end, uint8_t col, uint8_t *dst)
{
	const struct walk_vb *vb = row_col(b, i, end, col, WALK_STR);
	size_t n;

	if (vb == NULL)
		return 0;
	n = vb->str_len;
	if (n > LLDP_ID_MAX) {
		n = LLDP_ID_MAX;
		b->f->stats.bad_value++;
	}
	memcpy(dst, vb->str, n);
	return (uint8_t)n;
}

/* ifTable and ifXTable cells → f->ifs, sorted by ifIndex. */
static size_t
build_ifs(struct build *b, size_t i)
{
	struct sw_facts *f = b->f;
	size_t cap = 0;

	while (i < b->n_cells && b->cells[i].tab == T_IF) {
		size_t end = row_end(b, i);
		struct lldp_if *x;
		const struct walk_vb *vb;

		if (f->n_ifs >= LLDP_MAX_ROWS) {
			f->stats.too_many++;
			i = end;
			continue;
		}
		if (f->n_ifs == cap) {
			cap = cap ? cap * 2 : 64;
			f->ifs = xrealloc(f->ifs, cap * sizeof(*f->ifs));
		}
		x = &f->ifs[f->n_ifs++];
		memset(x, 0, sizeof(*x));
		x->ifindex = b->cells[i].k[0];
		col_str(b, i, end, 2, x->descr, sizeof(x->descr));
		col_str(b, i, end, IFX + 1, x->name, sizeof(x->name));
		col_str(b, i, end, IFX + 18, x->alias, sizeof(x->alias));
		if ((vb = row_col(b, i, end, 8, WALK_INT)) != NULL) {
			if (vb->num < 1 || vb->num > 7)
				f->stats.bad_value++;
			else
				x->oper = (uint8_t)vb->num;
		}
		/* ifHighSpeed, else ifSpeed (bit/s, saturates at 4.3G) */
		if ((vb = row_col(b, i, end, IFX + 15, WALK_INT)) != NULL) {
			if (vb->num < 0 || vb->num > UINT32_MAX)
				f->stats.bad_value++;
			else
				x->speed_mbps = (uint32_t)vb->num;
		}
		if ((vb = row_col(b, i, end, 5, WALK_INT)) != NULL &&
		    x->speed_mbps == 0 && vb->num > 0 && vb->num <= UINT32_MAX)
			x->speed_mbps = (uint32_t)(vb->num / 1000000);
		i = end;
	}
	return i;
}

static size_t
build_locports(struct build *b, size_t i)
{
	struct sw_facts *f = b->f;
	size_t cap = 0;

	while (i < b->n_cells && b->cells[i].tab == T_LOCPORT) {
		size_t end = row_end(b, i);
		struct lldp_locport *p;

		if (f->n_ports >= LLDP_MAX_ROWS) {
			f->stats.too_many++;
			i = end;
			continue;
		}
		if (f->n_ports == cap) {
			cap = cap ? cap * 2 : 64;
			f->ports = xrealloc(f->ports, cap * sizeof(*f->ports));
		}
		p = &f->ports[f->n_ports++];
		memset(p, 0, sizeof(*p));
		p->num = b->cells[i].k[0];
		p->id_subtype = col_subtype(b, i, end, 2);
		p->id_len = col_id(b, i, end, 3, p->id);
		col_str(b, i, end, 4, p->desc, sizeof(p->desc));
		i = end;
	}
	return i;
}

/*
 * BITS are sent most significant bit first: bit 0 (other) is 0x80 of
 * the first octet. The LLDP TLV numbers them the other way round.
 */
static uint16_t
caps_from_bits(const uint8_t *s, size_t n)
{
	uint16_t caps = 0;

	for (int bit = 0; bit < 16 && (size_t)(bit / 8) < n; bit++)
		if (s[bit / 8] & (0x80 >> (bit % 8)))
			caps |= (uint16_t)(1u << bit);
	return caps;
}

static size_t
build_rem(struct build *b, size_t i)
{
	struct sw_facts *f = b->f;
	size_t cap = 0;

	while (i < b->n_cells && b->cells[i].tab == T_REM) {
		size_t end = row_end(b, i);
		struct lldp_neighbor *nb;
		const struct walk_vb *vb;

		if (f->n_nbrs >= LLDP_MAX_ROWS) {
			f->stats.too_many++;
			i = end;
			continue;
		}
		if (f->n_nbrs == cap) {
			cap = cap ? cap * 2 : 64;
			f->nbrs = xrealloc(f->nbrs, cap * sizeof(*f->nbrs));
		}
		nb = &f->nbrs[f->n_nbrs++];
		memset(nb, 0, sizeof(*nb));
		nb->local_port = b->cells[i].k[0];
		nb->rem_index = b->cells[i].k[1];
		nb->time_mark = b->cells[i].k[2];
		nb->chassis_subtype = col_subtype(b, i, end, 4);
		nb->chassis_len = col_id(b, i, end, 5, nb->chassis);
		nb->port_subtype = col_subtype(b, i, end, 6);
		nb->port_len = col_id(b, i, end, 7, nb->port);
		col_str(b, i, end, 8, nb->port_desc, sizeof(nb->port_desc));
		col_str(b, i, end, 9, nb->sys_name, sizeof(nb->sys_name));
		if ((vb = row_col(b, i, end, 12, WALK_STR)) != NULL) {
			nb->caps = caps_from_bits(vb->str, vb->str_len);
			nb->caps_known = true;
		}
		i = end;
	}
	return i;
}

static int
nbr_key_cmp(const void *a, const void *b)
{
	const struct lldp_neighbor *x = a, *y = b;

	if (x->local_port != y->local_port)
		return x->local_port < y->local_port ? -1 : 1;
	if (x->rem_index != y->rem_index)
		return x->rem_index < y->rem_index ? -1 : 1;
	return x->time_mark < y->time_mark ? -1 : x->time_mark > y->time_mark;
}

/* Same local port, then same neighbour identity, newest last. */
static int
nbr_ident_cmp(const void *a, const void *b)
{
	const struct lldp_neighbor *x = a, *y = b;
	int c;

	if (x->local_port != y->local_port)
		return x->local_port < y->local_port ? -1 : 1;
	if (x->chassis_subtype != y->chassis_subtype)
		return x->chassis_subtype < y->chassis_subtype ? -1 : 1;
	if (x->chassis_len != y->chassis_len)
		return x->chassis_len < y->chassis_len ? -1 : 1;
	if ((c = memcmp(x->chassis, y->chassis, x->chassis_len)) != 0)
		return c;
	if (x->port_subtype != y->port_subtype)
		return x->port_subtype < y->port_subtype ? -1 : 1;
	if (x->port_len != y->port_len)
		return x->port_len < y->port_len ? -1 : 1;
	if ((c = memcmp(x->port, y->port, x->port_len)) != 0)
		return c;
	if (x->time_mark != y->time_mark)
		return x->time_mark < y->time_mark ? -1 : 1;
	return x->rem_index < y->rem_index ? -1 : x->rem_index > y->rem_index;
}

/*
 * Drop the rows that an older timeMark left behind: first, one
 * (localPort, remIndex) under several timeMarks (agents that implement
 * the TimeFilter index show a row once per timeMark); then one neighbour
 * (chassis id + port id) twice on a local port, under two remIndexes,
 * as after a flap on agents that keep the old row until its TTL ends.
 */
static void
dedup_neighbors(struct sw_facts *f)
{
	size_t o = 0;

	sort_array(f->nbrs, f->n_nbrs, sizeof(*f->nbrs), nbr_key_cmp);
	for (size_t i = 0; i < f->n_nbrs; i++) {
		if (i + 1 < f->n_nbrs &&
		    f->nbrs[i + 1].local_port == f->nbrs[i].local_port &&
		    f->nbrs[i + 1].rem_index == f->nbrs[i].rem_index) {
			f->stats.stale++;
			continue;
		}
		if (o != i)
			f->nbrs[o] = f->nbrs[i];
		o++;
	}
	f->n_nbrs = o;
	sort_array(f->nbrs, f->n_nbrs, sizeof(*f->nbrs), nbr_ident_cmp);
	o = 0;
	for (size_t i = 0; i < f->n_nbrs; i++) {
		const struct lldp_neighbor *x = &f->nbrs[i];
		const struct lldp_neighbor *y = &f->nbrs[i + 1];

		/* an empty identity says nothing: never merged */
		if (i + 1 < f->n_nbrs && (x->chassis_len || x->port_len) &&
		    x->local_port == y->local_port &&
		    x->chassis_subtype == y->chassis_subtype &&
		    x->chassis_len == y->chassis_len &&
		    memcmp(x->chassis, y->chassis, x->chassis_len) == 0 &&
		    x->port_subtype == y->port_subtype &&
		    x->port_len == y->port_len &&
		    memcmp(x->port, y->port, x->port_len) == 0) {
			f->stats.stale++;
			continue;
		}
		if (o != i)
			f->nbrs[o] = f->nbrs[i];
		o++;
	}
	f->n_nbrs = o;
	sort_array(f->nbrs, f->n_nbrs, sizeof(*f->nbrs), nbr_key_cmp);
}

static size_t
build_bridge(struct build *b, size_t i)
{
	size_t n = 0, start = i;

	while (i < b->n_cells && b->cells[i].tab == T_BRIDGE)
		i++;
	b->bridge_k = xcalloc(i - start + 1, sizeof(uint32_t));
	b->bridge_v = xcalloc(i - start + 1, sizeof(uint32_t));
	for (size_t j = start; j < i; j++) {
		const struct walk_vb *vb = b->cells[j].vb;

		if (n > 0 && b->bridge_k[n - 1] == b->cells[j].k[0]) {
			b->f->stats.duplicate++;
			continue;
		}
		if (!is_num(vb)) {
			b->f->stats.wrong_type++;
			continue;
		}
		if (vb->num <= 0 || vb->num > INT32_MAX) {
			b->f->stats.bad_value++;
			continue;
		}
		b->bridge_k[n] = b->cells[j].k[0];
		b->bridge_v[n++] = (uint32_t)vb->num;
	}
	b->n_bridge = n;
	return i;
}

static uint32_t
bridge_ifindex(const struct build *b, uint32_t port)
{
	size_t lo = 0, hi = b->n_bridge;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (b->bridge_k[mid] < port)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < b->n_bridge && b->bridge_k[lo] == port ? b->bridge_v[lo]
	                                                   : 0;
}

const struct lldp_if *
lldp_find_if(const struct sw_facts *f, uint32_t ifindex)
{
	size_t lo = 0, hi = f->n_ifs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->ifs[mid].ifindex < ifindex)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < f->n_ifs && f->ifs[lo].ifindex == ifindex ? &f->ifs[lo]
	                                                      : NULL;
}

static const struct lldp_locport *
find_locport(const struct sw_facts *f, uint32_t num)
{
	size_t lo = 0, hi = f->n_ports;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->ports[mid].num < num)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < f->n_ports && f->ports[lo].num == num ? &f->ports[lo]
	                                                  : NULL;
}

/* A decimal ifIndex written as text (Junos's "local" port ids). */
static uint32_t
text_ifindex(const uint8_t *s, size_t n)
{
	uint64_t v = 0;

	if (n == 0 || n > 10)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	return v > 0 && v <= INT32_MAX ? (uint32_t)v : 0;
}

/* Step 3 of the chain: the description against the IF-MIB names. */
static uint32_t
map_by_desc(const struct sw_facts *f, const char *desc)
{
	uint32_t v;

	if ((v = idx_name(f->names->ifdescr, desc)) != 0 ||
	    (v = idx_name(f->names->ifalias, desc)) != 0 ||
	    (v = idx_name(f->names->ifname, desc)) != 0)
		return v;
	return 0;
}

/* Step 4: the port id against ifName (and the ifIndex for "local"). */
static uint32_t
map_by_portid(
    const struct sw_facts *f, uint8_t subtype, const uint8_t *id, size_t len)
{
	char text[LLDP_DESC_MAX];
	uint32_t v;

	if (subtype != LLDP_PORT_IFNAME && subtype != LLDP_PORT_LOCAL &&
	    subtype != LLDP_PORT_ALIAS)
		return 0; /* a MAC or an address names no interface */
	text_copy(text, sizeof(text), id, len);
	if (subtype == LLDP_PORT_ALIAS &&
	    (v = idx_name(f->names->ifalias, text)) != 0)
		return v;
	if ((v = idx_name(f->names->ifname, text)) != 0)
		return v;
	if (subtype == LLDP_PORT_LOCAL && (v = text_ifindex(id, len)) != 0 &&
	    lldp_find_if(f, v) != NULL)
		return v;
	return idx_name(f->names->ifdescr, text);
}

/* The fallback chain of lldp.h for one local port number. */
static uint32_t
map_port(const struct build *b, uint32_t num, const struct lldp_locport *lp,
    enum lldp_map *how)
{
	const struct sw_facts *f = b->f;
	uint32_t by_desc = 0, by_id = 0, named, br;

	if (lp != NULL) {
		by_desc = map_by_desc(f, lp->desc);
		by_id = map_by_portid(f, lp->id_subtype, lp->id, lp->id_len);
	}
	named = by_desc ? by_desc : by_id;
	if (f->n_ifs == 0) {
		*how = LLDP_MAP_ASSUMED;
		return (br = bridge_ifindex(b, num)) != 0 ? br : num;
	}
	if (lldp_find_if(f, num) != NULL && (named == 0 || named == num)) {
		*how = LLDP_MAP_IFINDEX;
		return num;
	}
	br = bridge_ifindex(b, num);
	if (br != 0 && lldp_find_if(f, br) != NULL &&
	    (named == 0 || named == br)) {
		*how = LLDP_MAP_BRIDGE;
		return br;
	}
	if (by_desc != 0) {
		*how = LLDP_MAP_DESC;
		return by_desc;
	}
	if (by_id != 0) {
		*how = LLDP_MAP_PORTID;
		return by_id;
	}
	*how = LLDP_MAP_NONE;
	return 0;
}

static void
build_names_if(struct sw_facts *f)
{
	struct lldp_names *x = xcalloc(1, sizeof(*x));

	x->ifname = lldp_idx_new(f->n_ifs);
	x->ifdescr = lldp_idx_new(f->n_ifs);
	x->ifalias = lldp_idx_new(f->n_ifs);
	for (size_t i = 0; i < f->n_ifs; i++) {
		idx_put_name(x->ifname, f->ifs[i].name, f->ifs[i].ifindex);
		idx_put_name(x->ifdescr, f->ifs[i].descr, f->ifs[i].ifindex);
		idx_put_name(x->ifalias, f->ifs[i].alias, f->ifs[i].ifindex);
	}
	f->names = x;
}

static void
build_names_loc(struct sw_facts *f)
{
	struct lldp_names *x = f->names;

	x->locid = lldp_idx_new(f->n_ports);
	x->loctext = lldp_idx_new(f->n_ports);
	x->locdesc = lldp_idx_new(f->n_ports);
	for (size_t i = 0; i < f->n_ports; i++) {
		const struct lldp_locport *p = &f->ports[i];
		uint8_t key[1 + LLDP_ID_MAX];

		if (p->ifindex == 0)
			continue;
		if (p->id_len > 0) {
			key[0] = p->id_subtype;
			memcpy(key + 1, p->id, p->id_len);
			idx_put_unique(
			    x->locid, key, 1 + (size_t)p->id_len, p->ifindex);
		}
		if (p->id_subtype != LLDP_PORT_MAC &&
		    p->id_subtype != LLDP_PORT_ADDR && p->id_len > 0) {
			char text[LLDP_DESC_MAX];

			text_copy(text, sizeof(text), p->id, p->id_len);
			idx_put_name(x->loctext, text, p->ifindex);
		}
		idx_put_name(x->locdesc, p->desc, p->ifindex);
	}
}

static void
map_all(struct build *b)
{
	struct sw_facts *f = b->f;

	for (size_t i = 0; i < f->n_ports; i++) {
		struct lldp_locport *p = &f->ports[i];

		p->ifindex = map_port(b, p->num, p, &p->how);
		f->stats.map[p->how]++;
	}
	for (size_t i = 0; i < f->n_nbrs; i++) {
		struct lldp_neighbor *nb = &f->nbrs[i];
		const struct lldp_locport *p = find_locport(f, nb->local_port);

		if (p != NULL) {
			nb->ifindex = p->ifindex;
			nb->how = p->how;
		} else {
			/* a port missing from lldpLocPortTable: numbers only */
			nb->ifindex =
			    map_port(b, nb->local_port, NULL, &nb->how);
		}
		if (nb->ifindex == 0)
			f->stats.unmapped++;
	}
}

/* The first neighbour row whose local port is >= port (or > if after). */
static size_t
nbr_bound(const struct sw_facts *f, uint32_t port, bool after)
{
	size_t lo = 0, hi = f->n_nbrs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint32_t p = f->nbrs[mid].local_port;

		if (p < port || (after && p == port))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void
attach_addrs(struct build *b)
{
	struct sw_facts *f = b->f;
	size_t n = 0, cap = 0;

	sort_array(
	    b->rem_addrs, b->n_rem_addrs, sizeof(*b->rem_addrs), addr_row_cmp);
	for (size_t i = 0; i < b->n_rem_addrs; i++) {
		const struct addr_row *ar = &b->rem_addrs[i];
		struct lldp_neighbor *nb = NULL;
		struct lldp_mgmt *m;
		size_t lo, hi;

		/* one row per column of the table: the same address */
		if (i > 0 && addr_row_cmp(ar, &b->rem_addrs[i - 1]) == 0)
			continue;
		lo = nbr_bound(f, ar->port, false);
		hi = nbr_bound(f, ar->port, true);
		for (size_t j = lo; j < hi; j++)
			if (f->nbrs[j].rem_index == ar->rem)
				nb = &f->nbrs[j];
		if (nb == NULL && hi - lo == 1)
			nb = &f->nbrs[lo];
		if (nb == NULL) {
			f->stats.orphan_addr++;
		} else {
			bool dup = false;

			for (size_t j = 0; j < nb->n_addrs; j++)
				dup |= addr_cmp(&nb->addrs[j], &ar->a) == 0;
			if (!dup && nb->n_addrs < LLDP_NBR_ADDRS)
				nb->addrs[nb->n_addrs++] = ar->a;
		}
		if (n >= LLDP_MAX_ROWS) {
			f->stats.too_many++;
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			f->mgmt = xrealloc(f->mgmt, cap * sizeof(*f->mgmt));
		}
		m = &f->mgmt[n++];
		memset(m, 0, sizeof(*m));
		m->addr = ar->a;
		if (nb != NULL) {
			m->ifindex = nb->ifindex;
			m->caps = nb->caps;
			m->caps_known = nb->caps_known;
			memcpy(m->sys_name, nb->sys_name, sizeof(m->sys_name));
		}
	}
	/* unique by address */
	sort_array(f->mgmt, n, sizeof(*f->mgmt), mgmt_cmp);
	f->n_mgmt = 0;
	for (size_t i = 0; i < n; i++)
		if (f->n_mgmt == 0 ||
		    addr_cmp(&f->mgmt[f->n_mgmt - 1].addr, &f->mgmt[i].addr) !=
		        0)
			f->mgmt[f->n_mgmt++] = f->mgmt[i];
}

static void
unique_self_addrs(struct sw_facts *f)
{
	size_t o = 0;

	sort_array(f->self_addrs, f->n_self_addrs, sizeof(*f->self_addrs),
	    sflow_addr_cmp);
	for (size_t i = 0; i < f->n_self_addrs; i++)
		if (o == 0 ||
		    addr_cmp(&f->self_addrs[o - 1], &f->self_addrs[i]) != 0)
			f->self_addrs[o++] = f->self_addrs[i];
	f->n_self_addrs = o;
}

int
lldp_facts_from_walk(const struct walk *w, struct sw_facts *out)
{
	struct build b;
	size_t i = 0;

	memset(out, 0, sizeof(*out));
	memset(&b, 0, sizeof(b));
	b.w = w;
	b.f = out;
	collect(&b);
	/* cells are sorted by table: T_IF, T_LOCPORT, T_REM, T_BRIDGE */
	i = build_ifs(&b, i);
	i = build_locports(&b, i);
	i = build_rem(&b, i);
	build_bridge(&b, i);
	dedup_neighbors(out);
	build_names_if(out);
	map_all(&b);
	build_names_loc(out);
	attach_addrs(&b);
	unique_self_addrs(out);
	free(b.cells);
	free(b.rem_addrs);
	free(b.bridge_k);
	free(b.bridge_v);
	return b.got_sysname || b.got_locsysname || out->chassis_len > 0 ? 0
	                                                                 : -1;
}

void
lldp_facts_free(struct sw_facts *f)
{
	if (f == NULL)
		return;
	free(f->ifs);
	free(f->ports);
	free(f->nbrs);
	free(f->self_addrs);
	free(f->mgmt);
	if (f->names != NULL) {
		lldp_idx_free(f->names->ifname);
		lldp_idx_free(f->names->ifdescr);
		lldp_idx_free(f->names->ifalias);
		lldp_idx_free(f->names->locid);
		lldp_idx_free(f->names->loctext);
		lldp_idx_free(f->names->locdesc);
		free(f->names);
	}
	memset(f, 0, sizeof(*f));
}

uint32_t
lldp_find_port(const struct sw_facts *f, uint8_t subtype, const uint8_t *id,
    size_t id_len, const char *desc)
{
	const struct lldp_names *x = f->names;
	uint32_t v;

	if (x == NULL)
		return 0;
	if (id_len > 0 && id_len <= LLDP_ID_MAX) {
		uint8_t key[1 + LLDP_ID_MAX];
		const uint32_t *p;

		key[0] = subtype;
		memcpy(key + 1, id, id_len);
		p = lldp_idx_find(x->locid, key, 1 + id_len);
		if (p != NULL && *p != AMBIG)
			return *p;
		if (subtype != LLDP_PORT_MAC && subtype != LLDP_PORT_ADDR) {
			char text[LLDP_DESC_MAX];

			text_copy(text, sizeof(text), id, id_len);
			if ((v = idx_name(x->ifname, text)) != 0 ||
			    (v = idx_name(x->loctext, text)) != 0 ||
			    (v = idx_name(x->ifdescr, text)) != 0 ||
			    (v = idx_name(x->ifalias, text)) != 0)
				return v;
			if (subtype == LLDP_PORT_LOCAL &&
			    (v = text_ifindex(id, id_len)) != 0 &&
			    lldp_find_if(f, v) != NULL)
				return v;
		}
	}
	if (desc != NULL && desc[0] != '\0') {
		if ((v = idx_name(x->locdesc, desc)) != 0 ||
		    (v = idx_name(x->ifdescr, desc)) != 0 ||
		    (v = idx_name(x->ifalias, desc)) != 0 ||
		    (v = idx_name(x->ifname, desc)) != 0)
			return v;
	}
	return 0;
}
