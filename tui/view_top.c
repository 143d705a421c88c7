/*
 * view_top.c: view 2, top-N: the fabric's largest flows measured where
 * they enter it (each packet once), sortable; then ECMP collisions, top
 * talkers and protocol stacks when there is room. Topic top. PURE.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "view.h"

static const char *const sort_names[SORT_TOP_N] = {
	"bps",
	"source",
	"destination",
	"ingress",
};

struct frow {
	const struct m_flow *f;
	int by;
};

/* Addresses sort as text; good enough to group them. */
static int
cmp_rows(const void *x, const void *y)
{
	const struct frow *a = x, *b = y;
	int c = 0;
	double va = isnan(a->f->bps) ? -1 : a->f->bps;
	double vb = isnan(b->f->bps) ? -1 : b->f->bps;

	if (a->by == SORT_TOP_SRC)
		c = strcmp(a->f->src, b->f->src);
	else if (a->by == SORT_TOP_DST)
		c = strcmp(a->f->dst, b->f->dst);
	else if (a->by == SORT_TOP_INGRESS) {
		c = strcmp(a->f->in_node, b->f->in_node);
		if (c == 0)
			c = strcmp(a->f->in_port, b->f->in_port);
	}
	if (c != 0)
		return c;
	if (va != vb)
		return va > vb ? -1 : 1;
	return a->f < b->f ? -1 : a->f > b->f;
}

static char *
port_of(char *buf, size_t len, double p)
{
	if (isnan(p))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.0f", fmin(fmax(p, 0), 1e9));
	return buf;
}

/* Talkers or stacks: a small table at x, width w. */
static void
sums(struct grid *g, int x, int y, int w, int rows, const char *title,
    const struct m_sum *s, size_t n)
{
	char a[32], b[32];

	grid_text(g, x, y, w, GA_BOLD, GC_DEFAULT, title);
	grid_rtext(g, x + w - 14, y, 7, GA_BOLD, GC_DEFAULT, "BPS");
	grid_rtext(g, x + w - 6, y, 6, GA_BOLD, GC_DEFAULT, "FLOWS");
	for (int i = 0; i < rows && (size_t)i < n; i++) {
		grid_text(g, x, y + 1 + i, w - 15, 0, GC_DEFAULT, s[i].name);
		grid_rtext(g, x + w - 14, y + 1 + i, 7, 0, GC_DEFAULT,
		    fmt_bps(a, sizeof(a), s[i].bps));
		grid_rtext(g, x + w - 6, y + 1 + i, 6, 0, GC_DEFAULT,
		    fmt_count(b, sizeof(b), s[i].flows));
	}
}

void
view_top(struct grid *g, const struct model *m, struct ui *u, int y0, int y1)
{
	const struct m_topic *t = &m->topic[MT_TOP];
	int y = y0, wa = 11, rows, first, extra = 0, coll = 0, nel = 0;
	int x_dst, x_pr, x_sp, x_dp, x_in, x_bps, win;
	struct frow *idx;
	char a[64], b[64], c[64];

	grid_text(g, 1, y, -1, GA_BOLD, GC_DEFAULT, "Top flows");
	if (!t->seen || t->null) {
		view_note(g, y0 + (y1 - y0) / 2,
		    t->seen ? "fabmond has no top-N yet"
		            : "waiting for top-N (topic top)");
		return;
	}
	for (size_t i = 0; i < m->nflows; i++) {
		int l = grid_text_width(g, m->flows[i].src);

		wa = l > wa ? l : wa;
		l = grid_text_width(g, m->flows[i].dst);
		wa = l > wa ? l : wa;
		nel += m->flows[i].elephant;
	}
	grid_printf(g, 11, y, -1, 0, GC_DEFAULT,
	    "%zu at the edge  elephants %d  collisions %zu  sorted by %s",
	    m->nflows, nel, m->ncollisions,
	    sort_names[u->sort_top % SORT_TOP_N]);
	if (m->ncollisions > 0)
		grid_style(g, 11, y, g->w - 11, GA_BOLD, GC_BAD);
	y++;
	/* the columns: the addresses get what the others leave */
	win = 13;
	wa = wa > 39 ? 39 : wa;
	if (2 + 4 + 2 * (wa + 1) + 6 + 6 + 6 + win + 1 + 8 > g->w)
		wa = (g->w - (2 + 4 + 6 + 6 + 6 + win + 1 + 8)) / 2 - 1;
	if (wa < 7)
		wa = 7;
	x_dst = 6 + wa + 1;
	x_pr = x_dst + wa + 1;
	x_sp = x_pr + 6;
	x_dp = x_sp + 6;
	x_in = x_dp + 6;
	x_bps = x_in + win + 1;
	grid_rtext(g, 1, y, 3, GA_BOLD, GC_DEFAULT, "#");
	grid_text(g, 5, y, wa, GA_BOLD, GC_DEFAULT, "SOURCE");
	grid_text(g, x_dst, y, wa, GA_BOLD, GC_DEFAULT, "DESTINATION");
	grid_text(g, x_pr, y, 5, GA_BOLD, GC_DEFAULT, "PROTO");
	grid_rtext(g, x_sp, y, 5, GA_BOLD, GC_DEFAULT, "SPORT");
	grid_rtext(g, x_dp, y, 5, GA_BOLD, GC_DEFAULT, "DPORT");
	grid_text(g, x_in, y, win, GA_BOLD, GC_DEFAULT, "INGRESS");
	grid_rtext(g, x_bps, y, 7, GA_BOLD, GC_DEFAULT, "BPS");
	y++;
	/* room below for collisions, talkers and stacks */
	rows = y1 - y;
	if (m->ncollisions > 0 && rows >= 12) {
		coll = (int)(m->ncollisions < 3 ? m->ncollisions : 3);
		extra += coll + 2;
	}
	if ((m->ntalkers > 0 || m->nstacks > 0) && rows - extra >= 14) {
		size_t k = m->ntalkers > m->nstacks ? m->ntalkers : m->nstacks;
		int want = (int)(k < 5 ? k : 5) + 2;

		/* large screens: more of them */
		if (rows - extra > 40)
			want = (int)(k < 10 ? k : 10) + 2;
		extra += want;
	}
	if (m->nflows > 0 && (int)m->nflows < rows - extra)
		extra = rows - (int)m->nflows; /* the flows need less */
	rows -= extra;
	if (m->nflows == 0) {
		view_note(g, y, "no flow entering the fabric");
		rows = 1;
	}
	idx = xmalloc((m->nflows + 1) * sizeof(*idx));
	for (size_t i = 0; i < m->nflows; i++)
		idx[i] = (struct frow){ &m->flows[i], u->sort_top };
	qsort(idx, m->nflows, sizeof(*idx), cmp_rows);
	first = view_list(u, V_TOP, (int)m->nflows, y, rows);
	for (int r = 0; r < rows && first + r < (int)m->nflows; r++) {
		const struct m_flow *f = idx[first + r].f;
		int yy = y + r;

		grid_printf(
		    g, 1, yy, 3, GA_DIM, GC_DEFAULT, "%3d", first + r + 1);
		grid_text(g, 5, yy, wa, 0, GC_DEFAULT, f->src);
		grid_text(g, x_dst, yy, wa, 0, GC_DEFAULT, f->dst);
		grid_text(g, x_pr, yy, 5, 0, GC_DEFAULT,
		    *f->stack != '\0' && isnan(f->proto)
		        ? f->stack
		        : fmt_proto(a, sizeof(a), f->proto));
		grid_rtext(g, x_sp, yy, 5, 0, GC_DEFAULT,
		    port_of(a, sizeof(a), f->sport));
		grid_rtext(g, x_dp, yy, 5, 0, GC_DEFAULT,
		    port_of(a, sizeof(a), f->dport));
		if (*f->in_node != '\0')
			snprintf(b, sizeof(b), "%s:%s", f->in_node, f->in_port);
		else
			snprintf(b, sizeof(b), "?");
		grid_text(g, x_in, yy, win, 0, GC_INFO, b);
		grid_rtext(g, x_bps, yy, 7, f->elephant ? GA_BOLD : 0,
		    f->elephant ? GC_ACCENT : GC_DEFAULT,
		    fmt_bps(c, sizeof(c), f->bps));
		if (f->elephant)
			grid_text(g, x_bps + 8, yy, 1, GA_BOLD, GC_ACCENT, "E");
		if (first + r == u->sel[V_TOP]) {
			view_mark(g, yy);
			snprintf(u->pick, sizeof(u->pick), "%s", f->in_node);
		}
	}
	free(idx);
	y += rows + 1;
	if (coll > 0 && y < y1) {
		grid_text(g, 1, y++, -1, GA_BOLD, GC_BAD,
		    "ECMP collisions (busy links carrying 2+ elephants)");
		for (int i = 0; i < coll && y < y1; i++, y++) {
			const struct m_collision *k = &m->collisions[i];

			grid_printf(g, 2, y, -1, 0, GC_BAD,
			    "%s  %s%s%s  %s  %s  %s elephants", k->link,
			    k->from, view_arrow(g), k->to,
			    fmt_pct(a, sizeof(a), k->util),
			    fmt_bps(b, sizeof(b), k->bps),
			    fmt_int(c, sizeof(c), k->elephants));
		}
		y++;
	}
	if (y + 2 < y1 && (m->ntalkers > 0 || m->nstacks > 0)) {
		int w = (g->w - 3) / 2, n = y1 - y - 1;

		sums(g, 1, y, w, n, "TOP TALKERS", m->talkers, m->ntalkers);
		sums(g, 2 + w, y, w, n, "STACKS", m->stacks, m->nstacks);
	}
}
