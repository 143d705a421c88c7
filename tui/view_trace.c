/*
 * view_trace.c: view 3, a trace: where the traffic that matches a filter
 * goes, hop by hop, as fabmond measures it (topic trace/{id}). Hops of
 * one stage are ECMP alternatives: the first shows the stage number, the
 * others hang under it, each with its share of the stage. A discard is
 * the point where the traffic dies. PURE.
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "view.h"

static const char *const examples[] = {
	"Press / (or t) and type a filter in the flow filter language, e.g.",
	"ipsource=10.2.1.11&udpdestinationport=53",
	"ipdestination=10.2.4.0/24&ipprotocol=17",
	"The path shows within a push period of the first matching sample.",
};

static int
width_of(
    const struct grid *g, const struct model *m, size_t off, int min, int max)
{
	int w = min;

	for (size_t i = 0; i < m->nhops; i++) {
		const char *s =
		    *(const char *const *)((const char *)&m->hops[i] + off);
		int l = grid_text_width(g, s);

		w = l > w ? l : w;
	}
	return w > max ? max : w;
}

#define COLW(field, min, max)                                                  \
	width_of(g, m, offsetof(struct m_hop, field), min, max)

void
view_trace(struct grid *g, const struct model *m, struct ui *u, int y0, int y1)
{
	const struct m_topic *t = &m->topic[MT_TRACE];
	int y = y0, rows, first, x;
	int wn, wr, wi, wo, wf, wt, x_role, x_in, x_from, x_out, x_to, x_ttl,
	    x_fps, x_sh, bw;
	char a[64], b[64];

	grid_text(g, 1, y, 6, GA_BOLD, GC_DEFAULT, "Trace");
	if (m->trace_topic[0] == '\0') {
		int yy = y0 + (y1 - y0) / 2 - 2;

		if (u->trace_pending)
			view_note(g, yy, "asking fabmond for the trace...");
		else
			for (size_t i = 0; i < 4; i++)
				view_note(g, yy + (int)i + (i > 0) + (i > 2),
				    examples[i]);
		if (u->trace_msg[0] != '\0')
			grid_text(
			    g, 1, y1 - 1, -1, GA_BOLD, GC_BAD, u->trace_msg);
		return;
	}
	x = 7 +
	    grid_text(g, 7, y, -1, GA_BOLD, GC_INFO,
	        fmt_int(a, sizeof(a), m->trace_id));
	grid_text(g, x + 1, y, -1, 0, GC_DEFAULT, m->trace_filter);
	y++;
	if (u->trace_msg[0] != '\0')
		grid_text(g, 1, y++, -1, GA_BOLD, GC_BAD, u->trace_msg);
	if (!t->seen || t->null || m->nhops == 0) {
		view_note(g, y0 + (y1 - y0) / 2,
		    t->seen && !t->null ? "no matching traffic yet"
		                        : "waiting for the path (topic trace)");
		return;
	}
	/* where it enters, leaves or dies */
	x = 1;
	if (*m->ingress_node != '\0')
		x += grid_printf(g, x, y, -1, 0, GC_DEFAULT, "in %s%s%s:%s   ",
		    m->ingress_host, *m->ingress_host ? " at " : "",
		    m->ingress_node, m->ingress_port);
	if (m->dies) {
		x += grid_printf(g, x, y, -1, GA_BOLD, GC_BAD,
		    "%s dies at %s (stage %s): %s   ", g->utf8 ? "\u2716" : "X",
		    *m->dies_node ? m->dies_node : "?",
		    fmt_int(b, sizeof(b), m->dies_stage),
		    *m->dies_reason ? m->dies_reason : "?");
	} else if (*m->egress_node != '\0')
		x += grid_printf(g, x, y, -1, 0, GC_DEFAULT, "out %s:%s%s%s   ",
		    m->egress_node, m->egress_port,
		    *m->egress_host ? " to " : "", m->egress_host);
	else
		x += grid_text(g, x, y, -1, GA_BOLD, GC_WARN,
		    "does not leave the fabric   ");
	grid_printf(g, x, y, -1, GA_DIM, GC_DEFAULT, "%s stages, %s fps",
	    fmt_int(a, sizeof(a), m->trace_stages),
	    fmt_num(b, sizeof(b), m->trace_fps));
	y++;
	/* the columns */
	wn = COLW(node, 4, 16);
	wr = COLW(role, 4, 6);
	wi = COLW(in_port, 2, 12);
	wf = COLW(from, 4, 16);
	wo = COLW(out_port, 3, 12);
	wt = COLW(to, 2, 16);
	for (size_t i = 0; i < m->nhops; i++)
		if (m->hops[i].discarded) {
			int l = 8 + grid_text_width(g, m->hops[i].discard);

			wo = l > wo ? (l > 24 ? 24 : l) : wo;
		}
	x_role = 5 + wn + 1;
	x_in = x_role + wr + 1;
	x_from = x_in + wi + 1;
	x_out = x_from + wf + 1;
	x_to = x_out + wo + 1;
	x_ttl = x_to + wt + 1;
	x_fps = x_ttl + 4;
	x_sh = x_fps + 8;
	bw = g->w - (x_sh + 6) - 1;
	bw = bw > 20 ? 20 : bw;
	grid_text(g, 1, y, 3, GA_BOLD, GC_DEFAULT, "ST");
	grid_text(g, 5, y, wn, GA_BOLD, GC_DEFAULT, "NODE");
	grid_text(g, x_role, y, wr, GA_BOLD, GC_DEFAULT, "ROLE");
	grid_text(g, x_in, y, wi, GA_BOLD, GC_DEFAULT, "IN");
	grid_text(g, x_from, y, wf, GA_BOLD, GC_DEFAULT, "FROM");
	grid_text(g, x_out, y, wo, GA_BOLD, GC_DEFAULT, "OUT");
	grid_text(g, x_to, y, wt, GA_BOLD, GC_DEFAULT, "TO");
	grid_rtext(g, x_ttl, y, 3, GA_BOLD, GC_DEFAULT, "TTL");
	grid_rtext(g, x_fps, y, 7, GA_BOLD, GC_DEFAULT, "FPS");
	grid_rtext(g, x_sh, y, 5, GA_BOLD, GC_DEFAULT, "SHARE");
	y++;
	rows = y1 - y;
	first = view_list(u, V_TRACE, (int)m->nhops, y, rows);
	for (int r = 0; r < rows && first + r < (int)m->nhops; r++, y++) {
		size_t i = (size_t)(first + r);
		const struct m_hop *h = &m->hops[i];
		int same_prev = i > 0 && m->hops[i - 1].stage == h->stage;
		int same_next =
		    i + 1 < m->nhops && m->hops[i + 1].stage == h->stage;
		int bad = h->discarded;

		if (same_prev)
			grid_put(g, 2, y,
			    grid_glyph(g, same_next ? G_TEE : G_ELBOW), GA_DIM,
			    GC_DEFAULT);
		else {
			grid_rtext(g, 1, y, 2, GA_BOLD, GC_DEFAULT,
			    fmt_int(a, sizeof(a), h->stage));
			if (same_next)
				grid_put(g, 3, y, grid_glyph(g, G_TL), GA_DIM,
				    GC_DEFAULT);
		}
		grid_text(
		    g, 5, y, wn, GA_BOLD, bad ? GC_BAD : GC_DEFAULT, h->node);
		grid_text(g, x_role, y, wr, GA_DIM, GC_DEFAULT, h->role);
		grid_text(g, x_in, y, wi, 0, GC_DEFAULT, h->in_port);
		grid_text(g, x_from, y, wf, 0, GC_INFO, h->from);
		if (bad) {
			snprintf(b, sizeof(b), "discard:%s",
			    *h->discard ? h->discard : "?");
			grid_text(g, x_out, y, wo, GA_BOLD, GC_BAD, b);
		} else
			grid_text(g, x_out, y, wo, 0, GC_DEFAULT,
			    *h->out_port ? h->out_port : h->out_if);
		grid_text(g, x_to, y, wt, 0, GC_INFO, h->to);
		grid_rtext(g, x_ttl, y, 3, 0, GC_DEFAULT,
		    fmt_int(a, sizeof(a), h->ttl));
		grid_rtext(g, x_fps, y, 7, 0, GC_DEFAULT,
		    fmt_num(a, sizeof(a), h->fps));
		grid_rtext(g, x_sh, y, 5, 0, GC_DEFAULT,
		    fmt_pct(
		        a, sizeof(a), isnan(h->share) ? NAN : h->share * 100));
		if (bw >= 3)
			grid_bar(g, x_sh + 6, y, bw,
			    isnan(h->share) ? 0 : h->share * 100,
			    bad ? GC_BAD : GC_INFO);
		if ((int)i == u->sel[V_TRACE]) {
			view_mark(g, y);
			snprintf(u->pick, sizeof(u->pick), "%s", h->node);
		}
	}
}
