/*
 * view_detail.c: view 5, one node and its ports: speed, status, what is
 * beyond each port, and the traffic both ways (fabric ports from the
 * link state, edge ports from top-N's port list), then the node's black
 * holes. Topics fabric, links, top and blackholes. PURE.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "view.h"

/* The rates of one direction of a port: the link state's, else the
 * port list's (edge ports). */
static void
port_rate(const struct model *m, const char *node, const struct m_port *p,
    int out, double *bps, double *util, double *disc, double *err)
{
	const struct m_dir *d = out ? model_dir_from(m, node, p->name)
	                            : model_dir_to(m, node, p->name);
	const struct m_portval *v;

	*bps = *util = *disc = *err = NAN;
	if (d != NULL) {
		*bps = d->bps;
		*util = d->util;
		*disc = d->discards;
		*err = d->errors;
		return;
	}
	v = model_port_util(m, node, p->name, out ? "out" : "in");
	if (v != NULL) {
		*bps = v->bps;
		*util = v->value;
	}
}

static void
add(double *sum, double v)
{
	if (!isnan(v))
		*sum = isnan(*sum) ? v : *sum + v;
}

void
view_detail(struct grid *g, const struct model *m, struct ui *u, int y0, int y1)
{
	const struct m_node *n = model_node(m, u->detail);
	int y = y0, x, rows, first, wp = 4, wpeer = 4, wl, bw, wide;
	int x_ifx, x_spd, x_oper, x_peer, x_link, x_in, x_out, x_disc, x_err;
	char a[64], b[64];
	size_t holes;

	if (n == NULL && m->nnodes > 0) {
		n = &m->nodes[0];
		snprintf(u->detail, sizeof(u->detail), "%s", n->name);
	}
	grid_text(g, 1, y, -1, GA_BOLD, GC_DEFAULT, "Node");
	if (n == NULL) {
		view_note(g, y0 + (y1 - y0) / 2,
		    m->topic[MT_FABRIC].seen ? "no node in the topology"
		                             : "waiting for the topology");
		return;
	}
	x = 6 + grid_text(g, 6, y, 24, GA_BOLD, GC_INFO, n->name);
	x += 2 + grid_text(g, x + 2, y, -1, 0, GC_DEFAULT, n->role);
	if (*n->agent != '\0')
		x += 2 +
		    grid_printf(
		        g, x + 2, y, -1, 0, GC_DEFAULT, "agent %s", n->agent);
	x += 2 +
	    grid_text(g, x + 2, y, -1, n->reachable == 0 ? GA_BOLD : 0,
	        n->reachable == 1       ? GC_GOOD
	            : n->reachable == 0 ? GC_BAD
	                                : GC_DEFAULT,
	        n->reachable == 1       ? "reachable"
	            : n->reachable == 0 ? "unreachable"
	                                : "");
	grid_printf(g, x + 2, y, -1, GA_DIM, GC_DEFAULT,
	    "%zu ports  [ ] other node", n->nports);
	y++;
	for (size_t i = 0; i < n->nports; i++) {
		int l = grid_text_width(g, n->ports[i].name);

		wp = l > wp ? l : wp;
		l = grid_text_width(g, n->ports[i].peer);
		wpeer = l > wpeer ? l : wpeer;
	}
	wide = g->w >= 120;
	wp = wp > 16 ? 16 : wp;
	wpeer = wpeer > 12 ? 12 : wpeer;
	wl = wide ? 20 : 0;
	x_ifx = 2 + wp + 1;
	x_spd = x_ifx + 6;
	x_oper = x_spd + 6;
	x_peer = x_oper + 6;
	x_link = x_peer + wpeer + 1;
	bw = (g->w - (x_link + wl + 1 + 2 * 14 + 7 + 7)) / 2;
	bw = bw < 4 ? 0 : bw > 30 ? 30 : bw;
	x_in = x_link + wl + 1;
	x_out = x_in + bw + 14;
	x_disc = x_out + bw + 14;
	x_err = x_disc + 7;
	grid_text(g, 2, y, wp, GA_BOLD, GC_DEFAULT, "PORT");
	grid_rtext(g, x_ifx, y, 5, GA_BOLD, GC_DEFAULT, "IFX");
	grid_rtext(g, x_spd, y, 5, GA_BOLD, GC_DEFAULT, "SPEED");
	grid_text(g, x_oper, y, 5, GA_BOLD, GC_DEFAULT, "OPER");
	grid_text(g, x_peer, y, wpeer, GA_BOLD, GC_DEFAULT, "PEER");
	if (wide)
		grid_text(g, x_link, y, wl - 1, GA_BOLD, GC_DEFAULT, "LINK");
	for (int o = 0; o < 2; o++) {
		int xx = o ? x_out : x_in;

		if (bw > 0) {
			grid_text(g, xx, y, bw, GA_BOLD, GC_DEFAULT,
			    o ? "OUT" : "IN");
			grid_rtext(
			    g, xx + bw + 1, y, 5, GA_BOLD, GC_DEFAULT, "util");
			grid_rtext(
			    g, xx + bw + 7, y, 6, GA_BOLD, GC_DEFAULT, "bps");
		} else {
			grid_rtext(g, xx + 1, y, 5, GA_BOLD, GC_DEFAULT,
			    o ? "OUT%" : "IN%");
			grid_rtext(g, xx + 7, y, 6, GA_BOLD, GC_DEFAULT,
			    o ? "OUTbps" : "IN bps");
		}
	}
	grid_rtext(g, x_disc, y, 6, GA_BOLD, GC_DEFAULT, "DISC/s");
	grid_rtext(g, x_err, y, 6, GA_BOLD, GC_DEFAULT, "ERR/s");
	y++;
	holes = model_holes_at(m, n->name);
	rows = y1 - y - (holes ? (int)(holes < 4 ? holes : 4) + 2 : 0);
	if (rows < 1)
		rows = 1;
	first = view_list(u, V_DETAIL, (int)n->nports, y, rows);
	for (int r = 0; r < rows && first + r < (int)n->nports; r++, y++) {
		const struct m_port *p = &n->ports[first + r];
		double disc = NAN, err = NAN;
		int down = *p->oper != '\0' && strcmp(p->oper, "up") != 0;

		grid_text(g, 2, y, wp, GA_BOLD, GC_DEFAULT, p->name);
		grid_rtext(g, x_ifx, y, 5, GA_DIM, GC_DEFAULT,
		    fmt_int(a, sizeof(a), p->ifindex));
		grid_rtext(g, x_spd, y, 5, 0, GC_DEFAULT,
		    fmt_speed(a, sizeof(a), p->speed_mbps));
		grid_text(g, x_oper, y, 5, down ? GA_BOLD : 0,
		    down ? GC_BAD : GC_GOOD, *p->oper ? p->oper : "?");
		grid_text(g, x_peer, y, wpeer, 0,
		    p->peer_is_host ? GC_INFO : GC_DEFAULT, p->peer);
		if (wide)
			grid_text(g, x_link, y, wl - 1, GA_DIM, GC_DEFAULT,
			    *p->link      ? p->link
			        : p->edge ? "edge"
			                  : "");
		for (int o = 0; o < 2; o++) {
			double bps, util, d, e;
			int xx = o ? x_out : x_in;

			port_rate(m, n->name, p, o, &bps, &util, &d, &e);
			add(&disc, d);
			add(&err, e);
			if (bw > 0)
				grid_bar(g, xx, y, bw, util, GC_DEFAULT);
			grid_rtext(g, xx + bw + 1, y, 5, 0, GC_DEFAULT,
			    fmt_pct(a, sizeof(a), util));
			grid_rtext(g, xx + bw + 7, y, 6, 0, GC_DEFAULT,
			    fmt_bps(b, sizeof(b), bps));
		}
		grid_rtext(g, x_disc, y, 6, disc > 0 ? GA_BOLD : 0,
		    disc > 0 ? GC_BAD : GC_DEFAULT,
		    fmt_num(a, sizeof(a), disc));
		grid_rtext(g, x_err, y, 6, err > 0 ? GA_BOLD : 0,
		    err > 0 ? GC_BAD : GC_DEFAULT, fmt_num(a, sizeof(a), err));
		if (first + r == u->sel[V_DETAIL])
			view_mark(g, y);
	}
	if (holes && y + 1 < y1) {
		y = y1 - (int)(holes < 4 ? holes : 4) - 1;
		grid_printf(g, 1, y++, -1, GA_BOLD, GC_BAD,
		    "%zu open black hole%s at %s", holes, holes > 1 ? "s" : "",
		    n->name);
		for (size_t i = 0; i < m->nholes && y < y1; i++) {
			const struct m_hole *h = &m->holes[i];

			if (!isnan(h->end) || strcmp(h->node, n->name) != 0)
				continue;
			grid_printf(g, 3, y++, -1, 0, GC_BAD,
			    "%s %s %s  %s fps since %s", h->type, h->prefix,
			    h->reason, fmt_num(a, sizeof(a), h->fps),
			    fmt_clock(b, sizeof(b), h->start));
		}
	}
}
