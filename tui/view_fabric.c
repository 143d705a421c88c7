/*
 * view_fabric.c: view 1, the fabric: spines and leaves (with their hosts
 * and black holes), then every link with both directions' utilisation,
 * rate and discards. Topics fabric and links. PURE (see view.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "view.h"

static const char *const sort_names[SORT_LINK_N] = {
	"name",
	"busiest",
	"discards",
};

static double
busiest(const struct m_lstate *s)
{
	double a, b;

	if (s == NULL)
		return -1;
	a = isnan(s->dir[0].util) ? -1 : s->dir[0].util;
	b = isnan(s->dir[1].util) ? -1 : s->dir[1].util;
	return a > b ? a : b;
}

static double
discards(const struct m_lstate *s)
{
	double d = 0;
	int known = 0;

	if (s == NULL)
		return NAN;
	for (int i = 0; i < 2; i++)
		if (!isnan(s->dir[i].discards)) {
			d += s->dir[i].discards;
			known = 1;
		}
	return known ? d : NAN;
}

/* A row of the link table, with its sort key. */
struct lrow {
	double k;
	const char *name;
	size_t i;
};

static int
cmp_rows(const void *x, const void *y)
{
	const struct lrow *a = x, *b = y;

	if (a->k != b->k)
		return a->k > b->k ? -1 : 1;
	return strcmp(a->name, b->name);
}

/* Links of a node up, and in all, from its ports (no scan of links). */
static void
node_links(const struct model *m, const struct m_node *n, int *up, int *all)
{
	*up = *all = 0;
	for (size_t i = 0; i < n->nports; i++) {
		const struct m_link *l;
		const struct m_lstate *s;
		const char *st;

		if (*n->ports[i].link == '\0')
			continue;
		l = model_link(m, n->ports[i].link);
		s = model_lstate(m, n->ports[i].link);
		st = s != NULL && *s->status != '\0' ? s->status
		    : l != NULL                      ? l->status
		                                     : "";
		(*all)++;
		*up += strcmp(st, "up") == 0;
	}
}

/*
 * One role's nodes, flowed over lines from y; at most maxl lines.
 * Returns the lines used.
 */
static int
draw_nodes(struct grid *g, const struct model *m, int y, int maxl,
    const char *label, const char *role, int other)
{
	int x0 = 9, x = x0, lines = 1, shown = 0, total = 0, last_x = x0;

	for (size_t i = 0; i < m->nnodes; i++) {
		const char *r = m->nodes[i].role;
		int is = other
		    ? strcmp(r, "spine") != 0 && strcmp(r, "leaf") != 0
		    : strcmp(r, role) == 0;

		total += is;
	}
	if (total == 0 || maxl <= 0)
		return 0;
	grid_text(g, 1, y, 8, GA_BOLD, GC_DEFAULT, label);
	for (size_t i = 0; i < m->nnodes; i++) {
		const struct m_node *n = &m->nodes[i];
		const char *r = n->role;
		int is = other
		    ? strcmp(r, "spine") != 0 && strcmp(r, "leaf") != 0
		    : strcmp(r, role) == 0;
		char hosts[96], cnt[32];
		size_t nh = 0, holes;
		int up, all, w, hl = 0;

		if (!is)
			continue;
		hosts[0] = '\0';
		for (size_t j = 0; j < n->nports; j++) {
			const struct m_port *p = &n->ports[j];

			if (!p->peer_is_host || *p->peer == '\0')
				continue;
			if (nh < 3) {
				size_t l = strlen(hosts);

				snprintf(hosts + l, sizeof(hosts) - l, "%s%s",
				    nh ? " " : "", p->peer);
			}
			nh++;
		}
		if (nh > 3) {
			size_t l = strlen(hosts);

			snprintf(hosts + l, sizeof(hosts) - l, " +%zu", nh - 3);
		}
		node_links(m, n, &up, &all);
		snprintf(cnt, sizeof(cnt), "%d/%d", up, all);
		holes = model_holes_at(m, n->name);
		w = 2 + grid_text_width(g, n->name) + (holes ? 1 : 0) + 1 +
		    (int)strlen(cnt) +
		    (nh ? 1 + grid_text_width(g, hosts) : 0) + 3;
		if (x + w > g->w && x > x0) {
			if (lines == maxl) {
				char more[32];
				int mx = x, ml;

				ml = snprintf(more, sizeof(more), "+%d more",
				    total - shown);
				if (mx + ml > g->w && last_x > x0) {
					/* the last one makes room for it */
					mx = last_x;
					ml = snprintf(more, sizeof(more),
					    "+%d more", total - shown + 1);
				}
				grid_fill(g, mx, y, g->w - mx, ' ', 0, 0);
				grid_text(
				    g, mx, y, -1, GA_DIM, GC_DEFAULT, more);
				return lines;
			}
			lines++;
			y++;
			x = x0;
		}
		last_x = x;
		grid_put(g, x, y, grid_glyph(g, G_DOT), 0,
		    n->reachable == 1       ? GC_GOOD
		        : n->reachable == 0 ? GC_BAD
		                            : GC_DEFAULT);
		x += 2;
		x += grid_text(g, x, y, -1, GA_BOLD,
		    n->reachable == 0 ? GC_BAD : GC_DEFAULT, n->name);
		if (holes) {
			x += grid_text(g, x, y, -1, GA_BOLD, GC_BAD, "!");
			hl = 1;
		}
		x += 1;
		x += grid_text(g, x, y, -1, up < all ? GA_BOLD : GA_DIM,
		    up < all ? GC_BAD : GC_DEFAULT, cnt);
		if (nh) {
			x += 1;
			x += grid_text(g, x, y, -1, 0, GC_INFO, hosts);
		}
		(void)hl;
		x += 3;
		shown++;
	}
	return lines;
}

void
view_fabric(struct grid *g, const struct model *m, struct ui *u, int y0, int y1)
{
	const struct m_topic *ft = &m->topic[MT_FABRIC];
	int y = y0, wa = 4, wb = 4, bw, rows, first, up = 0, wide;
	int x_st, x_d0, x_d1, x_disc, x_err;
	struct lrow *idx;
	char a[32], b[32], c[32];

	if (!ft->seen) {
		view_note(g, y0 + (y1 - y0) / 2,
		    "waiting for the topology (topic fabric)");
		return;
	}
	if (ft->null) {
		view_note(g, y0 + (y1 - y0) / 2,
		    "fabmond has no topology yet (no switch discovered)");
		return;
	}
	for (size_t i = 0; i < m->nlinks; i++) {
		const struct m_lstate *s = model_lstate(m, m->links[i].name);
		const char *st = s != NULL && *s->status != '\0'
		    ? s->status
		    : m->links[i].status;
		int la = grid_text_width(g, m->links[i].node1) + 1 +
		    grid_text_width(g, m->links[i].port1);
		int lb = grid_text_width(g, m->links[i].node2) + 1 +
		    grid_text_width(g, m->links[i].port2);

		up += strcmp(st, "up") == 0;
		wa = la > wa ? la : wa;
		wb = lb > wb ? lb : wb;
	}
	grid_printf(g, 1, y, -1, GA_BOLD, GC_DEFAULT, "Fabric");
	grid_printf(g, 8, y, -1, 0, GC_DEFAULT,
	    "topology v%s  %zu nodes  %zu links (%d up)  sorted by %s",
	    fmt_int(a, sizeof(a), m->topo_version), m->nnodes, m->nlinks, up,
	    sort_names[u->sort_links % SORT_LINK_N]);
	if ((size_t)up < m->nlinks)
		grid_style(g, 8, y, g->w - 8, GA_BOLD, GC_BAD);
	y++;
	{
		int room = (y1 - y) / 4 > 1 ? (y1 - y) / 4 : 1;

		y += draw_nodes(g, m, y, room, "spines", "spine", 0);
		y += draw_nodes(g, m, y, room, "leaves", "leaf", 0);
		y += draw_nodes(g, m, y, room, "other", "", 1);
	}
	y++;
	if (y >= y1 - 1)
		return;
	if (m->nlinks == 0) {
		view_note(g, y, "no links between switches yet");
		return;
	}
	/* the columns */
	wide = g->w >= 110;
	wa = wa > 22 ? 22 : wa;
	wb = wb > 22 ? 22 : wb;
	bw = (g->w - (2 + wa + 3 + wb + 1 + 6 + 2 * 15 + 7 + (wide ? 7 : 0))) /
	    2;
	bw = bw < 3 ? 3 : bw > 40 ? 40 : bw;
	x_st = 2 + wa + 3 + wb + 1;
	x_d0 = x_st + 6;
	x_d1 = x_d0 + bw + 15;
	x_disc = x_d1 + bw + 15;
	x_err = x_disc + 7;
	grid_text(g, 2, y, wa + 3 + wb, GA_BOLD, GC_DEFAULT, "LINK (A - B)");
	grid_text(g, x_st, y, 5, GA_BOLD, GC_DEFAULT, "STATE");
	for (int d = 0; d < 2; d++) {
		int xd = d ? x_d1 : x_d0;

		grid_printf(g, xd, y, bw, GA_BOLD, GC_DEFAULT, "%s%s%s",
		    d ? "B" : "A", view_arrow(g), d ? "A" : "B");
		grid_rtext(g, xd + bw + 1, y, 5, GA_BOLD, GC_DEFAULT, "util");
		grid_rtext(g, xd + bw + 7, y, 6, GA_BOLD, GC_DEFAULT, "bps");
	}
	grid_rtext(g, x_disc, y, 6, GA_BOLD, GC_DEFAULT, "DISC/s");
	if (wide)
		grid_rtext(g, x_err, y, 6, GA_BOLD, GC_DEFAULT, "ERR/s");
	y++;
	if (!m->topic[MT_LINKS].seen || m->topic[MT_LINKS].null)
		grid_text(g, x_d0 + 5, y - 1, bw + 8, GA_DIM, GC_WARN,
		    m->topic[MT_LINKS].seen ? "(no link state yet)"
		                            : "(waiting for links)");
	idx = xmalloc((m->nlinks + 1) * sizeof(*idx));
	for (size_t i = 0; i < m->nlinks; i++) {
		const struct m_lstate *s = model_lstate(m, m->links[i].name);
		double k = 0;

		if (u->sort_links == SORT_LINK_UTIL)
			k = busiest(s);
		else if (u->sort_links == SORT_LINK_DISCARDS)
			k = isnan(discards(s)) ? -1 : discards(s);
		idx[i] = (struct lrow){ k, m->links[i].name, i };
	}
	qsort(idx, m->nlinks, sizeof(*idx), cmp_rows);
	rows = y1 - y;
	first = view_list(u, V_FABRIC, (int)m->nlinks, y, rows);
	for (int r = 0; r < rows && first + r < (int)m->nlinks; r++, y++) {
		const struct m_link *l = &m->links[idx[first + r].i];
		const struct m_lstate *s = model_lstate(m, l->name);
		const char *st =
		    s != NULL && *s->status != '\0' ? s->status : l->status;
		int stc = strcmp(st, "up") == 0 ? GC_GOOD
		    : strcmp(st, "down") == 0   ? GC_BAD
		                                : GC_WARN;
		double disc = discards(s);
		int x;

		snprintf(a, sizeof(a), "%s:%s", l->node1, l->port1);
		x = 2 + grid_text(g, 2, y, wa, 0, GC_DEFAULT, a);
		x = 2 + wa + 1;
		grid_put(g, x, y, grid_glyph(g, G_HLINE), GA_DIM, GC_DEFAULT);
		snprintf(b, sizeof(b), "%s:%s", l->node2, l->port2);
		grid_text(g, x + 2, y, wb, 0, GC_DEFAULT, b);
		grid_text(g, x_st, y, 4, strcmp(st, "up") ? GA_BOLD : 0, stc,
		    *st ? st : "?");
		for (int d = 0; d < 2; d++) {
			const struct m_dir *dr = s != NULL ? &s->dir[d] : NULL;
			int xd = d == 0 ? x_d0 : x_d1;
			double util = dr != NULL ? dr->util : NAN;

			grid_bar(g, xd, y, bw, util, GC_DEFAULT);
			grid_rtext(g, xd + bw + 1, y, 5, 0, GC_DEFAULT,
			    fmt_pct(c, sizeof(c), util));
			grid_rtext(g, xd + bw + 7, y, 6,
			    dr != NULL && strcmp(dr->source, "estimate") == 0
			        ? GA_DIM
			        : 0,
			    GC_DEFAULT,
			    fmt_bps(c, sizeof(c), dr != NULL ? dr->bps : NAN));
		}
		grid_rtext(g, x_disc, y, 6, disc > 0 ? GA_BOLD : 0,
		    disc > 0 ? GC_BAD : GC_DEFAULT,
		    fmt_num(c, sizeof(c), disc));
		if (wide && s != NULL) {
			double e = 0;

			for (int d = 0; d < 2; d++)
				e += isnan(s->dir[d].errors) ? 0
				                             : s->dir[d].errors;
			grid_rtext(g, x_err, y, 6, e > 0 ? GA_BOLD : 0,
			    e > 0 ? GC_BAD : GC_DEFAULT,
			    fmt_num(c, sizeof(c), e));
		}
		if (first + r == u->sel[V_FABRIC]) {
			view_mark(g, y);
			snprintf(u->pick, sizeof(u->pick), "%s", l->node1);
		}
	}
	free(idx);
}
