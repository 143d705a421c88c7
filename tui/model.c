/*
 * model.c: /ws frames -> fabtop's state (see model.h). PURE: jansson and
 * nothing else. Each topic's state lives in an arena of its own, built
 * afresh from every frame of that topic and freed with the next one: a
 * frame is small next to the work of drawing it, and rebuilding leaves
 * nothing stale behind. Runs on fabtop's main thread.
 *
 * Everything in a frame is untrusted: a field of the wrong type reads as
 * unknown, strings are cut and made printable, lists are bounded. A
 * frame that is not a JSON object is counted and ignored.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "util.h"

/* ---- arenas ----------------------------------------------------------- */

struct m_chunk {
	struct m_chunk *next;
	size_t used, size;
	max_align_t data[];
};

struct m_arena {
	struct m_chunk *head;
};

static struct m_arena *
arena_new(void)
{
	return xcalloc(1, sizeof(struct m_arena));
}

static void
arena_free(struct m_arena *a)
{
	struct m_chunk *c, *next;

	if (a == NULL)
		return;
	for (c = a->head; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	free(a);
}

/* n zeroed bytes, aligned for any type. */
static void *
arena_alloc(struct m_arena *a, size_t n)
{
	struct m_chunk *c = a->head;
	size_t al = sizeof(max_align_t);
	void *p;

	n = (n + al - 1) / al * al;
	if (c == NULL || c->size - c->used < n) {
		size_t size = n > 65536 ? n : 65536;

		c = xmalloc(sizeof(*c) + size);
		c->size = size;
		c->used = 0;
		c->next = a->head;
		a->head = c;
	}
	p = (char *)c->data + c->used;
	c->used += n;
	memset(p, 0, n);
	return p;
}

/* ---- cleaning --------------------------------------------------------- */

char *
model_clean(char *buf, size_t buflen, const char *s)
{
	size_t o = 0, n;
	const uint8_t *u = (const uint8_t *)s;

	if (buflen == 0)
		return buf;
	if (s == NULL) {
		buf[0] = '\0';
		return buf;
	}
	n = strlen(s);
	for (size_t i = 0; i < n;) {
		size_t l = utf8_seq_len(u + i, n - i);
		uint32_t cp = u[i];

		if (l >= 2)
			cp = l == 2
			    ? (uint32_t)(u[i] & 0x1f) << 6 | (u[i + 1] & 0x3f)
			    : 0x800; /* only C1 controls matter */
		if (l == 0 || cp < 0x20 || cp == 0x7f ||
		    (cp >= 0x80 && cp < 0xa0)) {
			/* a control character or a bad byte: shown as '?' */
			if (o + 1 >= buflen)
				goto cut;
			buf[o++] = '?';
			i += l ? l : 1;
			continue;
		}
		if (o + l >= buflen)
			goto cut;
		memcpy(buf + o, u + i, l);
		o += l;
		i += l;
	}
	buf[o] = '\0';
	return buf;
cut:
	/* Say that it was cut: "..." replaces the last whole characters. */
	while (o > 0 && o + 3 >= buflen) {
		o--;
		while (o > 0 && ((uint8_t)buf[o] & 0xc0) == 0x80)
			o--;
	}
	if (o + 3 < buflen) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

/* ---- building a topic's state ---------------------------------------- */

struct build {
	struct model *m;
	struct m_arena *a;
	uint64_t h; /* FNV-1a over every value kept */
};

static void
hash_bytes(struct build *b, const void *p, size_t n)
{
	const uint8_t *u = p;

	for (size_t i = 0; i < n; i++) {
		b->h ^= u[i];
		b->h *= 0x100000001b3ULL;
	}
}

static const char *
keep_str(struct build *b, const char *s, size_t max)
{
	char tmp[MODEL_TEXT_MAX + 1];
	char *p;
	size_t n;

	if (s == NULL || *s == '\0') {
		hash_bytes(b, "", 1);
		return "";
	}
	if (max > MODEL_TEXT_MAX)
		max = MODEL_TEXT_MAX;
	model_clean(tmp, max + 1, s);
	n = strlen(tmp);
	hash_bytes(b, tmp, n + 1);
	p = arena_alloc(b->a, n + 1);
	memcpy(p, tmp, n + 1);
	return p;
}

/*
 * A name: a string, or a number (written as one), or an object with a
 * "node" (and "port") field; "" otherwise.
 */
static const char *
b_name_of(struct build *b, const json_t *v, size_t max)
{
	char tmp[64];

	if (json_is_string(v))
		return keep_str(b, json_string_value(v), max);
	if (json_is_integer(v)) {
		snprintf(
		    tmp, sizeof(tmp), "%lld", (long long)json_integer_value(v));
		return keep_str(b, tmp, max);
	}
	if (json_is_real(v)) {
		snprintf(tmp, sizeof(tmp), "%g", json_real_value(v));
		return keep_str(b, tmp, max);
	}
	if (json_is_object(v)) {
		const json_t *n = json_object_get(v, "node");
		const json_t *p = json_object_get(v, "port");
		char buf[2 * MODEL_NAME_MAX + 2];

		if (json_is_string(n) && json_is_string(p)) {
			snprintf(buf, sizeof(buf), "%.*s:%.*s", MODEL_NAME_MAX,
			    json_string_value(n), MODEL_NAME_MAX,
			    json_string_value(p));
			return keep_str(b, buf, max);
		}
		if (json_is_string(n))
			return keep_str(b, json_string_value(n), max);
	}
	return keep_str(b, NULL, max);
}

static const char *
b_str(struct build *b, const json_t *o, const char *key)
{
	return b_name_of(b, json_object_get(o, key), MODEL_NAME_MAX);
}

static const char *
b_text(struct build *b, const json_t *o, const char *key)
{
	return b_name_of(b, json_object_get(o, key), MODEL_TEXT_MAX);
}

static double
num_of(const json_t *v)
{
	double d;

	if (json_is_integer(v))
		return (double)json_integer_value(v);
	if (json_is_real(v)) {
		d = json_real_value(v);
		return isfinite(d) ? d : NAN;
	}
	return NAN;
}

static double
b_num(struct build *b, const json_t *o, const char *key)
{
	double d = num_of(json_object_get(o, key));
	uint64_t bits = 0;

	if (!isnan(d))
		memcpy(&bits, &d, sizeof(bits));
	else
		bits = 0x7ff8000000000001ULL;
	hash_bytes(b, &bits, sizeof(bits));
	return d;
}

/* 1, 0, or -1 when not a boolean. */
static int
b_bool(struct build *b, const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	int r = json_is_boolean(v) ? json_is_true(v) : -1;
	int8_t c = (int8_t)r;

	hash_bytes(b, &c, 1);
	return r;
}

/* An array's length, bounded; the entries beyond are counted in cut. */
static size_t
b_count(struct build *b, const json_t *arr, size_t max)
{
	size_t n = json_array_size(arr); /* 0 for a non-array */

	if (n > max) {
		b->m->cut += n - max;
		n = max;
	}
	hash_bytes(b, &n, sizeof(n));
	return n;
}

static void *
b_array(struct build *b, size_t n, size_t size)
{
	return n == 0 ? NULL : arena_alloc(b->a, n * size);
}

/*
 * Names sort as people read them: l2 before l10 (strverscmp). qsort() of
 * nothing is undefined with a NULL base: skip it.
 */
static void
sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
}

static int
cmp_node(const void *x, const void *y)
{
	return strverscmp(
	    ((const struct m_node *)x)->name, ((const struct m_node *)y)->name);
}

static int
cmp_link(const void *x, const void *y)
{
	return strverscmp(
	    ((const struct m_link *)x)->name, ((const struct m_link *)y)->name);
}

static int
cmp_lstate(const void *x, const void *y)
{
	return strverscmp(((const struct m_lstate *)x)->name,
	    ((const struct m_lstate *)y)->name);
}

/* ---- topics ----------------------------------------------------------- */

static void
build_fabric(struct build *b, const json_t *d)
{
	struct model *m = b->m;
	const json_t *nodes = json_object_get(d, "nodes");
	const json_t *links = json_object_get(d, "links");
	size_t nn = b_count(b, nodes, MODEL_NODES_MAX);
	size_t nl = b_count(b, links, MODEL_LINKS_MAX);

	m->topo_version = b_num(b, d, "version");
	m->nodes = b_array(b, nn, sizeof(*m->nodes));
	m->nnodes = 0;
	for (size_t i = 0; i < nn; i++) {
		const json_t *o = json_array_get(nodes, i);
		const json_t *ports = json_object_get(o, "ports");
		struct m_node *n = &m->nodes[m->nnodes];
		size_t np;

		if (!json_is_object(o) ||
		    *(n->name = b_str(b, o, "name")) == '\0')
			continue;
		m->nnodes++;
		n->agent = b_str(b, o, "agent");
		n->role = b_str(b, o, "role");
		n->reachable = b_bool(b, o, "reachable");
		np = b_count(b, ports, MODEL_PORTS_MAX);
		n->ports = b_array(b, np, sizeof(*n->ports));
		for (size_t j = 0; j < np; j++) {
			const json_t *po = json_array_get(ports, j);
			struct m_port *p = &n->ports[n->nports];

			if (!json_is_object(po))
				continue;
			n->nports++;
			p->name = b_str(b, po, "name");
			p->ifindex = b_num(b, po, "ifindex");
			p->speed_mbps = b_num(b, po, "speedMbps");
			p->oper = b_str(b, po, "oper");
			p->edge = b_bool(b, po, "edge") == 1;
			p->link = b_str(b, po, "link");
			p->peer = b_str(b, po, "peer");
			p->peer_is_host = b_bool(b, po, "peerIsHost") == 1;
		}
	}
	sort(m->nodes, m->nnodes, sizeof(*m->nodes), cmp_node);
	m->links = b_array(b, nl, sizeof(*m->links));
	m->nlinks = 0;
	for (size_t i = 0; i < nl; i++) {
		const json_t *o = json_array_get(links, i);
		struct m_link *l = &m->links[m->nlinks];

		if (!json_is_object(o) ||
		    *(l->name = b_str(b, o, "name")) == '\0')
			continue;
		m->nlinks++;
		l->node1 = b_str(b, o, "node1");
		l->port1 = b_str(b, o, "port1");
		l->node2 = b_str(b, o, "node2");
		l->port2 = b_str(b, o, "port2");
		l->status = b_str(b, o, "status");
	}
	sort(m->links, m->nlinks, sizeof(*m->links), cmp_link);
}

static void
build_dir(struct build *b, struct m_dir *d, const json_t *o)
{
	const json_t *from = json_object_get(o, "from");
	const json_t *to = json_object_get(o, "to");

	d->from_node = b_str(b, from, "node");
	d->from_port = b_str(b, from, "port");
	d->to_node = b_str(b, to, "node");
	d->to_port = b_str(b, to, "port");
	d->source = b_str(b, o, "source");
	d->bps = b_num(b, o, "bps");
	d->pps = b_num(b, o, "pps");
	d->util = b_num(b, o, "utilization");
	d->discards = b_num(b, o, "discards");
	d->errors = b_num(b, o, "errors");
	d->speed_bps = b_num(b, o, "speedBps");
}

static void
unknown_dir(struct m_dir *d)
{
	d->from_node = d->from_port = d->to_node = d->to_port = "";
	d->source = "";
	d->bps = d->pps = d->util = d->discards = d->errors = NAN;
	d->speed_bps = NAN;
}

/* node:port ends of every direction, sorted, for the detail view. */
struct m_end {
	const char *node, *port;
	const struct m_dir *dir;
	int out; /* the direction leaves node:port */
};

struct m_ends {
	struct m_end *e;
	size_t n;
};

static int
cmp_end(const void *x, const void *y)
{
	const struct m_end *a = x, *b = y;
	int c = strcmp(a->node, b->node);

	if (c == 0)
		c = strcmp(a->port, b->port);
	return c != 0 ? c : a->out - b->out;
}

static void
build_links(struct build *b, const json_t *d)
{
	struct model *m = b->m;
	const json_t *links = json_object_get(d, "links");
	size_t nl = b_count(b, links, MODEL_LINKS_MAX);
	struct m_ends *ends;

	m->lstates = b_array(b, nl, sizeof(*m->lstates));
	m->nlstates = 0;
	for (size_t i = 0; i < nl; i++) {
		const json_t *o = json_array_get(links, i);
		const json_t *dirs = json_object_get(o, "directions");
		const json_t *endsj = json_object_get(o, "ends");
		struct m_lstate *l = &m->lstates[m->nlstates];
		size_t nd = b_count(b, dirs, 2);

		if (!json_is_object(o) ||
		    *(l->name = b_str(b, o, "name")) == '\0')
			continue;
		m->nlstates++;
		l->status = b_str(b, o, "status");
		unknown_dir(&l->dir[0]);
		unknown_dir(&l->dir[1]);
		for (size_t j = 0; j < nd; j++) {
			const json_t *dj = json_array_get(dirs, j);
			double k = num_of(json_object_get(dj, "dir"));
			size_t at = k == 0 ? 0 : k == 1 ? 1 : j;

			if (json_is_object(dj))
				build_dir(b, &l->dir[at], dj);
		}
		for (size_t j = 0; j < 2; j++) {
			const json_t *e = json_array_get(endsj, j);

			l->counters[j] = b_str(b, e, "counters");
			l->flows[j] = b_bool(b, e, "flows");
		}
	}
	sort(m->lstates, m->nlstates, sizeof(*m->lstates), cmp_lstate);
	/* The index of ends: two per direction. */
	ends = arena_alloc(b->a, sizeof(*ends));
	ends->e = b_array(b, m->nlstates * 4, sizeof(*ends->e));
	for (size_t i = 0; i < m->nlstates; i++)
		for (int j = 0; j < 2; j++) {
			const struct m_dir *dr = &m->lstates[i].dir[j];

			if (*dr->from_node != '\0')
				ends->e[ends->n++] =
				    (struct m_end){ dr->from_node,
					    dr->from_port, dr, 1 };
			if (*dr->to_node != '\0')
				ends->e[ends->n++] =
				    (struct m_end){ dr->to_node, dr->to_port,
					    dr, 0 };
		}
	sort(ends->e, ends->n, sizeof(*ends->e), cmp_end);
	m->ends_ = ends;
}

static void
build_portvals(
    struct build *b, const json_t *arr, struct m_portval **out, size_t *nout)
{
	size_t n = b_count(b, arr, MODEL_LIST_MAX);
	struct m_portval *v = b_array(b, n, sizeof(*v));

	*nout = 0;
	for (size_t i = 0; i < n; i++) {
		const json_t *o = json_array_get(arr, i);
		struct m_portval *p = &v[*nout];

		if (!json_is_object(o))
			continue;
		(*nout)++;
		p->node = b_str(b, o, "node");
		p->port = b_str(b, o, "port");
		p->link = b_str(b, o, "link");
		p->dir = b_str(b, o, "dir");
		p->source = b_str(b, o, "source");
		p->value = b_num(b, o, "value");
		p->bps = b_num(b, o, "bps");
		p->speed_bps = b_num(b, o, "speedBps");
	}
	*out = v;
}

static void
build_sums(struct build *b, const json_t *arr, const char *namekey,
    struct m_sum **out, size_t *nout)
{
	size_t n = b_count(b, arr, MODEL_LIST_MAX);
	struct m_sum *v = b_array(b, n, sizeof(*v));

	*nout = 0;
	for (size_t i = 0; i < n; i++) {
		const json_t *o = json_array_get(arr, i);
		struct m_sum *s = &v[*nout];

		if (!json_is_object(o))
			continue;
		(*nout)++;
		s->name = b_str(b, o, namekey);
		s->bps = b_num(b, o, "bps");
		s->flows = b_num(b, o, "flows");
	}
	*out = v;
}

static void
build_top(struct build *b, const json_t *d)
{
	struct model *m = b->m;
	const json_t *flows = json_object_get(d, "flows");
	const json_t *ports = json_object_get(d, "ports");
	const json_t *coll = json_object_get(d, "collisions");
	size_t nf = b_count(b, flows, MODEL_LIST_MAX);
	size_t nc = b_count(b, coll, MODEL_LIST_MAX);

	m->flows = b_array(b, nf, sizeof(*m->flows));
	m->nflows = 0;
	for (size_t i = 0; i < nf; i++) {
		const json_t *o = json_array_get(flows, i);
		const json_t *in = json_object_get(o, "ingress");
		struct m_flow *f = &m->flows[m->nflows];

		if (!json_is_object(o))
			continue;
		m->nflows++;
		f->key = b_text(b, o, "key");
		f->src = b_str(b, o, "src");
		f->dst = b_str(b, o, "dst");
		f->stack = b_str(b, o, "stack");
		f->proto = b_num(b, o, "proto");
		f->sport = b_num(b, o, "srcPort");
		f->dport = b_num(b, o, "dstPort");
		f->bps = b_num(b, o, "bps");
		f->in_node = b_str(b, in, "node");
		f->in_port = b_str(b, in, "port");
		f->elephant = b_bool(b, o, "elephant") == 1;
	}
	build_sums(b, json_object_get(d, "talkers"), "address", &m->talkers,
	    &m->ntalkers);
	build_sums(
	    b, json_object_get(d, "stacks"), "stack", &m->stacks, &m->nstacks);
	build_portvals(b, json_object_get(ports, "utilization"), &m->port_util,
	    &m->nport_util);
	build_portvals(b, json_object_get(ports, "discards"), &m->port_disc,
	    &m->nport_disc);
	build_portvals(
	    b, json_object_get(ports, "errors"), &m->port_err, &m->nport_err);
	m->elephant_pct = b_num(b, json_object_get(d, "elephants"), "percent");
	m->collisions = b_array(b, nc, sizeof(*m->collisions));
	m->ncollisions = 0;
	for (size_t i = 0; i < nc; i++) {
		const json_t *o = json_array_get(coll, i);
		struct m_collision *c = &m->collisions[m->ncollisions];
		const json_t *el = json_object_get(o, "elephants");

		if (!json_is_object(o))
			continue;
		m->ncollisions++;
		c->link = b_str(b, o, "link");
		c->from = b_str(b, o, "from");
		c->to = b_str(b, o, "to");
		c->util = b_num(b, o, "utilization");
		c->bps = b_num(b, o, "bps");
		c->elephants =
		    json_is_array(el) ? (double)json_array_size(el) : NAN;
	}
}

static void
build_trace(struct build *b, const json_t *d)
{
	struct model *m = b->m;
	const json_t *hops = json_object_get(d, "hops");
	const json_t *in = json_object_get(d, "ingress");
	const json_t *eg = json_object_get(d, "egress");
	const json_t *dies = json_object_get(d, "diesAt");
	size_t nh = b_count(b, hops, MODEL_LIST_MAX);

	m->trace_stages = b_num(b, d, "stages");
	m->trace_fps = b_num(b, d, "fps");
	m->ingress_node = b_str(b, in, "node");
	m->ingress_port = b_str(b, in, "port");
	m->ingress_host = b_str(b, in, "host");
	m->egress_node = b_str(b, eg, "node");
	m->egress_port = b_str(b, eg, "port");
	m->egress_host = b_str(b, eg, "host");
	m->dies = json_is_object(dies);
	m->dies_node = b_str(b, dies, "node");
	m->dies_reason = b_str(b, dies, "reason");
	m->dies_stage = b_num(b, dies, "stage");
	m->hops = b_array(b, nh, sizeof(*m->hops));
	m->nhops = 0;
	for (size_t i = 0; i < nh; i++) {
		const json_t *o = json_array_get(hops, i);
		const json_t *disc = json_object_get(o, "discard");
		struct m_hop *h = &m->hops[m->nhops];

		if (!json_is_object(o))
			continue;
		m->nhops++;
		h->stage = b_num(b, o, "stage");
		h->node = b_str(b, o, "node");
		h->role = b_str(b, o, "role");
		h->agent = b_str(b, o, "agent");
		h->in_port = b_str(b, o, "inPort");
		h->in_ifindex = b_num(b, o, "inIfIndex");
		h->in_link = b_str(b, o, "inLink");
		h->from = b_str(b, o, "from");
		h->out_port = b_str(b, o, "outPort");
		h->out_if = b_str(b, o, "outIfIndex");
		h->out_link = b_str(b, o, "outLink");
		h->to = b_str(b, o, "to");
		h->ttl = b_num(b, o, "ttl");
		h->fps = b_num(b, o, "fps");
		h->share = b_num(b, o, "share");
		h->discarded = json_is_object(disc);
		h->discard = b_str(b, disc, "reason");
	}
}

static void
build_holes(struct build *b, const json_t *d)
{
	struct model *m = b->m;
	const json_t *ev = json_object_get(d, "events");
	const json_t *st = json_object_get(d, "stats");
	size_t n = b_count(b, ev, MODEL_LIST_MAX);

	m->holes = b_array(b, n, sizeof(*m->holes));
	m->nholes = 0;
	for (size_t i = 0; i < n; i++) {
		const json_t *o = json_array_get(ev, i);
		const json_t *evid = json_object_get(o, "evidence");
		struct m_hole *h = &m->holes[m->nholes];
		size_t ne = b_count(b, evid, MODEL_EVIDENCE_MAX);

		if (!json_is_object(o))
			continue;
		m->nholes++;
		h->id = b_num(b, o, "id");
		h->type = b_str(b, o, "type");
		h->node = b_str(b, o, "node");
		h->prefix = b_str(b, o, "prefix");
		h->reason = b_str(b, o, "reason");
		h->start = b_num(b, o, "start");
		h->last_seen = b_num(b, o, "lastSeen");
		h->end = b_num(b, o, "end");
		h->fps = b_num(b, o, "fps");
		h->samples = b_num(b, o, "samples");
		for (size_t j = 0; j < ne; j++) {
			const json_t *e = json_array_get(evid, j);
			struct m_evidence *x = &h->ev[h->nev];

			if (!json_is_object(e))
				continue;
			h->nev++;
			x->time = b_num(b, e, "time");
			x->ttl = b_num(b, e, "ttl");
			x->in_port = b_str(b, e, "inPort");
			x->out_port = b_str(b, e, "outPort");
			x->src = b_str(b, e, "src");
			x->dst = b_str(b, e, "dst");
		}
	}
	m->bh_open = b_num(b, st, "open");
	m->bh_samples = b_num(b, st, "samples");
	m->bh_opened = b_num(b, st, "opened");
	m->bh_closed = b_num(b, st, "closed");
}

static void
build_events(struct build *b, const json_t *d)
{
	struct model *m = b->m;
	const json_t *ev = json_is_array(d) ? d : json_object_get(d, "events");
	size_t n = b_count(b, ev, MODEL_LIST_MAX);

	m->events = b_array(b, n, sizeof(*m->events));
	m->nevents = 0;
	for (size_t i = 0; i < n; i++) {
		const json_t *o = json_array_get(ev, i);
		struct m_event *e = &m->events[m->nevents];

		if (!json_is_object(o))
			continue;
		m->nevents++;
		e->id = b_num(b, o, "id");
		e->type = b_str(b, o, "type");
		e->ref = b_str(b, o, "ref");
		e->node = b_str(b, o, "node");
		e->link = b_str(b, o, "link");
		e->reason = b_str(b, o, "reason");
		e->start = b_num(b, o, "start");
		e->end = b_num(b, o, "end");
		e->value = b_num(b, o, "value");
		e->text = b_text(b, json_object_get(o, "detail"), "text");
		if (*e->text == '\0')
			e->text =
			    b_str(b, json_object_get(o, "detail"), "prefix");
	}
}

static void
build_ha(struct build *b, const json_t *d)
{
	struct model *m = b->m;
	const json_t *peer = json_object_get(d, "peer");

	m->ha_role = b_str(b, d, "role");
	m->ha_since = b_num(b, d, "since");
	m->ha_instance = b_str(b, d, "instance");
	m->ha_vip = b_str(b, d, "vip");
	m->ha_peer = b_str(b, peer, "address");
	m->ha_peer_role = b_str(b, peer, "role");
}

static void
build_health(struct build *b, const json_t *d)
{
	struct model *m = b->m;
	const json_t *in = json_object_get(d, "ingest");

	m->health_status = b_str(b, d, "status");
	m->health_version = b_str(b, d, "version");
	/* Not hashed: counters that move every second are not shown. */
	m->uptime_s = num_of(json_object_get(d, "uptimeSeconds"));
	m->datagrams = num_of(json_object_get(in, "datagrams"));
	m->agents = num_of(json_object_get(in, "agents"));
	m->kernel_drops = num_of(json_object_get(in, "kernelDrops"));
	m->ws_clients =
	    num_of(json_object_get(json_object_get(d, "ws"), "clients"));
}

typedef void (*build_fn)(struct build *, const json_t *);

static const struct {
	const char *name;
	build_fn fn;
} topics[MT_COUNT] = {
	[MT_FABRIC] = { "fabric", build_fabric },
	[MT_LINKS] = { "links", build_links },
	[MT_TOP] = { "top", build_top },
	[MT_BLACKHOLES] = { "blackholes", build_holes },
	[MT_EVENTS] = { "events", build_events },
	[MT_HEALTH] = { "health", build_health },
	[MT_HA] = { "ha", build_ha },
	[MT_TRACE] = { "trace", build_trace },
};

/* Reset a topic's fields to "nothing": an empty JSON object gives every
 * string "" and every number NaN. */
static uint64_t
rebuild(struct model *m, enum mtopic t, const json_t *data)
{
	struct build b = { m, arena_new(), 0xcbf29ce484222325ULL };
	json_t *empty = NULL;
	struct m_arena *old = m->topic[t].arena;

	if (!json_is_object(data) && !(t == MT_EVENTS && json_is_array(data)))
		data = empty = json_object();
	if (t == MT_LINKS)
		m->ends_ = NULL;
	topics[t].fn(&b, data);
	m->topic[t].arena = b.a;
	arena_free(old);
	json_decref(empty);
	return b.h;
}

/* ---- frames ----------------------------------------------------------- */

struct model *
model_new(void)
{
	struct model *m = xcalloc(1, sizeof(*m));

	for (int t = 0; t < MT_COUNT; t++)
		rebuild(m, t, NULL);
	m->version = "";
	m->push_ms = NAN;
	m->trace_id = -1;
	m->reply_id = NAN;
	m->error_id = NAN;
	return m;
}

void
model_free(struct model *m)
{
	if (m == NULL)
		return;
	for (int t = 0; t < MT_COUNT; t++)
		arena_free(m->topic[t].arena);
	free(m);
}

static struct m_ends *
ends_of(const struct model *m)
{
	return m->ends_;
}

static void
apply_topic(struct model *m, enum mtopic t, const json_t *f, uint64_t now)
{
	struct m_topic *tp = &m->topic[t];
	const json_t *data = json_object_get(f, "data");
	double seq = num_of(json_object_get(f, "seq"));
	int was_null = tp->null, was_seen = tp->seen;
	uint64_t h;

	if (tp->seen && !isnan(seq) && !isnan(tp->seq) && seq > tp->seq + 1)
		tp->gaps += (uint64_t)(seq - tp->seq - 1);
	tp->seq = seq;
	tp->ts = num_of(json_object_get(f, "ts"));
	tp->rx_ms = now;
	tp->seen = 1;
	tp->null = data == NULL || json_is_null(data);
	m->rx_ms = now;
	h = rebuild(m, t, tp->null ? NULL : data);
	if (!was_seen || was_null != tp->null || h != tp->hash)
		m->gen++;
	tp->hash = h;
}

static int
topic_of(const char *name, const struct model *m)
{
	for (int t = 0; t < MT_COUNT; t++)
		if (t != MT_TRACE && strcmp(name, topics[t].name) == 0)
			return t;
	if (m->trace_topic[0] != '\0' && strcmp(name, m->trace_topic) == 0)
		return MT_TRACE;
	return -1;
}

void
model_set_trace(struct model *m, long long id, const char *filter)
{
	struct m_topic *tp = &m->topic[MT_TRACE];

	if (id >= 0)
		snprintf(
		    m->trace_topic, sizeof(m->trace_topic), "trace/%lld", id);
	else
		m->trace_topic[0] = '\0';
	model_clean(m->trace_filter, sizeof(m->trace_filter),
	    filter != NULL ? filter : "");
	m->trace_id = (double)id;
	rebuild(m, MT_TRACE, NULL);
	tp->seen = tp->null = 0;
	tp->seq = NAN;
	tp->gaps = 0;
	tp->hash = 0;
	m->gen++;
}

static void
apply_reply(struct model *m, const json_t *f)
{
	const json_t *d = json_object_get(f, "data");
	const json_t *topic = json_object_get(d, "topic");
	const json_t *tr = json_object_get(d, "trace");
	double id = num_of(json_object_get(tr, "id"));

	m->reply_id = num_of(json_object_get(f, "id"));
	model_clean(m->reply_filter, sizeof(m->reply_filter),
	    json_is_string(json_object_get(tr, "filter"))
	        ? json_string_value(json_object_get(tr, "filter"))
	        : "");
	/* A trace created or joined: follow it (unless it already is). */
	if (json_is_string(topic) &&
	    strncmp(json_string_value(topic), "trace/", 6) == 0 && !isnan(id) &&
	    id >= 0 && id < 1e15 &&
	    strcmp(json_string_value(topic), m->trace_topic) != 0) {
		const json_t *flt = json_object_get(tr, "filter");

		model_set_trace(m, (long long)id,
		    json_is_string(flt) ? json_string_value(flt) : "");
	}
}

static void
apply_hello(struct model *m, const json_t *f, uint64_t now)
{
	const json_t *d = json_object_get(f, "data");
	const json_t *ha = json_object_get(d, "ha");
	const json_t *v = json_object_get(d, "version");

	model_clean(m->hello_version, sizeof(m->hello_version),
	    json_is_string(v) ? json_string_value(v) : "");
	m->version = m->hello_version;
	m->push_ms = num_of(json_object_get(d, "pushMs"));
	if (json_is_object(ha)) {
		json_t *fake = json_pack("{s:O}", "data", ha);

		apply_topic(m, MT_HA, fake, now);
		json_decref(fake);
	}
	m->gen++;
}

enum mframe
model_apply(struct model *m, const char *text, size_t len, uint64_t now)
{
	json_error_t err;
	json_t *f = json_loadb(text, len, 0, &err);
	const json_t *v, *t;
	const char *ts;
	enum mframe r = MF_OTHER;

	if (!json_is_object(f)) {
		json_decref(f);
		m->bad++;
		return MF_BAD;
	}
	v = json_object_get(f, "v");
	t = json_object_get(f, "t");
	/* An incompatible version (or none that reads as 1) is not ours. */
	if ((v != NULL && num_of(v) != 1) || !json_is_string(t)) {
		json_decref(f);
		m->bad++;
		return MF_BAD;
	}
	ts = json_string_value(t);
	if (strcmp(ts, "event") == 0) {
		const json_t *topic = json_object_get(f, "topic");
		int k;

		if (!json_is_string(topic)) {
			json_decref(f);
			m->bad++;
			return MF_BAD;
		}
		k = topic_of(json_string_value(topic), m);
		if (k >= 0)
			apply_topic(m, k, f, now);
		m->frames++;
		r = MF_EVENT;
	} else if (strcmp(ts, "hello") == 0) {
		apply_hello(m, f, now);
		r = MF_HELLO;
	} else if (strcmp(ts, "reply") == 0) {
		apply_reply(m, f);
		r = MF_REPLY;
	} else if (strcmp(ts, "error") == 0) {
		const json_t *e = json_object_get(f, "error");

		model_clean(m->error, sizeof(m->error),
		    json_is_string(e) ? json_string_value(e) : "error");
		m->error_id = num_of(json_object_get(f, "id"));
		m->gen++;
		r = MF_ERROR;
	}
	json_decref(f);
	return r;
}

/*
 * The top-level "topic" of a frame from its first bytes, without parsing
 * the rest (fabmond writes it before "data"): a scan that follows strings
 * and nesting. NULL when it is not found there.
 */
static const char *
peek_topic(const char *t, size_t len, char *buf, size_t buflen)
{
	size_t i = 0, end = len < 4096 ? len : 4096;
	int depth = 0, key = 0;
	char raw[MODEL_TEXT_MAX + 1];

	while (i < end) {
		char c = t[i];

		if (c == '"') {
			size_t j = ++i;

			while (i < end && t[i] != '"' && t[i] != '\\')
				i++;
			if (i >= end || t[i] == '\\')
				return NULL; /* an escape: let jansson read it
				              */
			if (depth == 1 && key && i - j == 5 &&
			    memcmp(t + j, "topic", 5) == 0) {
				size_t k = i + 1, v;

				while (k < end &&
				    (t[k] == ' ' || t[k] == ':' ||
				        t[k] == '\t' || t[k] == '\n' ||
				        t[k] == '\r'))
					k++;
				if (k >= end || t[k] != '"')
					return NULL;
				v = ++k;
				while (k < end && t[k] != '"' && t[k] != '\\')
					k++;
				if (k >= end || t[k] == '\\' ||
				    k - v >= buflen || k - v >= sizeof(raw))
					return NULL;
				memcpy(raw, t + v, k - v);
				raw[k - v] = '\0';
				return model_clean(buf, buflen, raw);
			}
			key = 0;
		} else if (c == '{') {
			depth++;
			key = depth == 1;
		} else if (c == '[') {
			depth++;
			key = 0;
		} else if (c == '}' || c == ']') {
			if (--depth <= 0)
				return NULL;
		} else if (c == ',')
			key = depth == 1;
		i++;
	}
	return NULL;
}

const char *
model_frame_topic(const char *text, size_t len, char *buf, size_t buflen)
{
	json_t *f;
	const json_t *t;

	if (buflen == 0)
		return buf;
	if (peek_topic(text, len, buf, buflen) != NULL)
		return buf;
	f = json_loadb(text, len, 0, NULL);
	t = json_object_get(f, "topic");
	model_clean(buf, buflen, json_is_string(t) ? json_string_value(t) : "");
	json_decref(f);
	return buf;
}

/* ---- ops -------------------------------------------------------------- */

static char *
dump(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT);

	json_decref(o);
	if (s == NULL)
		abort(); /* out of memory */
	return s;
}

char *
model_op_subscribe(long long id, const char *const *topics_, size_t n)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_string(topics_[i]));
	return dump(json_pack("{s:s, s:I, s:o}", "op", "subscribe", "id",
	    (json_int_t)id, "topics", arr));
}

char *
model_op_trace(long long id, const char *filter, const char *token)
{
	json_t *o = json_pack("{s:s, s:I, s:s?}", "op", "trace", "id",
	    (json_int_t)id, "filter", filter);

	if (o == NULL) /* filter is not valid UTF-8 */
		o = json_pack("{s:s, s:I, s:s}", "op", "trace", "id",
		    (json_int_t)id, "filter", "");
	if (token != NULL)
		json_object_set_new(o, "token", json_string(token));
	return dump(o);
}

char *
model_op_join(long long id, long long trace, const char *token)
{
	json_t *o = json_pack("{s:s, s:I, s:I}", "op", "trace", "id",
	    (json_int_t)id, "trace", (json_int_t)trace);

	if (token != NULL)
		json_object_set_new(o, "token", json_string(token));
	return dump(o);
}

char *
model_op_untrace(long long id, long long trace)
{
	return dump(json_pack("{s:s, s:I, s:I}", "op", "untrace", "id",
	    (json_int_t)id, "trace", (json_int_t)trace));
}

/* ---- lookups ---------------------------------------------------------- */

const struct m_node *
model_node(const struct model *m, const char *name)
{
	struct m_node key = { .name = name };

	if (m->nnodes == 0 || name == NULL)
		return NULL;
	return bsearch(&key, m->nodes, m->nnodes, sizeof(key), cmp_node);
}

const struct m_link *
model_link(const struct model *m, const char *name)
{
	struct m_link key = { .name = name };

	if (m->nlinks == 0 || name == NULL)
		return NULL;
	return bsearch(&key, m->links, m->nlinks, sizeof(key), cmp_link);
}

const struct m_lstate *
model_lstate(const struct model *m, const char *name)
{
	struct m_lstate key = { .name = name };

	if (m->nlstates == 0 || name == NULL)
		return NULL;
	return bsearch(&key, m->lstates, m->nlstates, sizeof(key), cmp_lstate);
}

static const struct m_dir *
find_end(const struct model *m, const char *node, const char *port, int out)
{
	const struct m_ends *ends = ends_of(m);
	struct m_end key = { node, port, NULL, out };
	const struct m_end *e;

	if (ends == NULL || ends->n == 0 || node == NULL || port == NULL)
		return NULL;
	e = bsearch(&key, ends->e, ends->n, sizeof(key), cmp_end);
	return e != NULL ? e->dir : NULL;
}

const struct m_dir *
model_dir_from(const struct model *m, const char *node, const char *port)
{
	return find_end(m, node, port, 1);
}

const struct m_dir *
model_dir_to(const struct model *m, const char *node, const char *port)
{
	return find_end(m, node, port, 0);
}

const struct m_portval *
model_port_util(
    const struct model *m, const char *node, const char *port, const char *dir)
{
	for (size_t i = 0; i < m->nport_util; i++) {
		const struct m_portval *p = &m->port_util[i];

		if (strcmp(p->node, node) == 0 && strcmp(p->port, port) == 0 &&
		    strcmp(p->dir, dir) == 0)
			return p;
	}
	return NULL;
}

size_t
model_holes_at(const struct model *m, const char *node)
{
	size_t n = 0;

	for (size_t i = 0; i < m->nholes; i++)
		if (isnan(m->holes[i].end) &&
		    strcmp(m->holes[i].node, node) == 0)
			n++;
	return n;
}
