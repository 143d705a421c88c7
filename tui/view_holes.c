/*
 * view_holes.c: view 4, black holes (open ones and those that ended
 * lately: discards, valley routing, TTL loops) with the evidence of the
 * selected one, then the stored events, newest first. Topics blackholes
 * and events. PURE.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "view.h"

static void
draw_events(struct grid *g, const struct model *m, int y, int y1)
{
	const struct m_topic *t = &m->topic[MT_EVENTS];
	char a[32], b[32], c[32];
	int x_type = 10, x_node = 21, x_what = 30, x_val = g->w - 8;

	if (y >= y1)
		return;
	grid_text(g, 1, y, -1, GA_BOLD, GC_DEFAULT, "Events");
	grid_text(g, 8, y, -1, GA_DIM, GC_DEFAULT, "stored, newest first");
	y++;
	if (!t->seen || t->null) {
		if (y < y1)
			grid_text(g, 2, y, -1, GA_DIM, GC_DEFAULT,
			    t->seen ? "none: fabmond runs without a store"
			            : "waiting for events (topic events)");
		return;
	}
	if (m->nevents == 0) {
		if (y < y1)
			grid_text(g, 2, y, -1, GA_DIM, GC_DEFAULT, "none");
		return;
	}
	if (y < y1) {
		grid_text(g, 1, y, 8, GA_BOLD, GC_DEFAULT, "START");
		grid_text(g, x_type, y, 10, GA_BOLD, GC_DEFAULT, "TYPE");
		grid_text(g, x_node, y, 8, GA_BOLD, GC_DEFAULT, "NODE");
		grid_text(g, x_what, y, x_val - x_what - 1, GA_BOLD, GC_DEFAULT,
		    "WHAT");
		grid_rtext(g, x_val, y, 7, GA_BOLD, GC_DEFAULT, "VALUE");
		y++;
	}
	for (size_t i = 0; i < m->nevents && y < y1; i++, y++) {
		const struct m_event *e = &m->events[i];
		int open = isnan(e->end),
		    hole = strcmp(e->type, "blackhole") == 0;
		char what[MODEL_TEXT_MAX + 2 * MODEL_NAME_MAX + 40];

		grid_text(g, 1, y, 8, 0, GC_DEFAULT,
		    fmt_clock(a, sizeof(a), e->start));
		grid_text(g, x_type, y, 10, hole && open ? GA_BOLD : 0,
		    hole ? GC_BAD : GC_DEFAULT, e->type);
		grid_text(g, x_node, y, 8, 0, GC_DEFAULT, e->node);
		if (open && !isnan(e->start))
			snprintf(b, sizeof(b), " (open)");
		else if (e->end > e->start)
			snprintf(b, sizeof(b), " (%s)",
			    fmt_age(c, sizeof(c), e->end - e->start));
		else
			b[0] = '\0';
		snprintf(what, sizeof(what), "%s%s%s%s%s%s", e->reason, b,
		    *e->link ? " " : "", e->link, *e->text ? " " : "", e->text);
		grid_text(
		    g, x_what, y, x_val - x_what - 1, 0, GC_DEFAULT, what);
		if (e->value != 0)
			grid_rtext(g, x_val, y, 7, 0, GC_DEFAULT,
			    fmt_num(a, sizeof(a), e->value));
	}
}

void
view_holes(struct grid *g, const struct model *m, struct ui *u, int y0, int y1)
{
	const struct m_topic *t = &m->topic[MT_BLACKHOLES];
	int y = y0, rows, first, nopen = 0, x_node, x_pfx, x_reason, x_fps,
	    x_start, x_state, wp;
	char a[64], b[32], c[32];

	grid_text(g, 1, y, -1, GA_BOLD, GC_DEFAULT, "Black holes");
	if (!t->seen || t->null) {
		grid_text(g, 13, y, -1, GA_DIM, GC_DEFAULT,
		    t->seen ? "not measured yet"
		            : "waiting for black holes (topic blackholes)");
		draw_events(g, m, y + 2, y1);
		return;
	}
	for (size_t i = 0; i < m->nholes; i++)
		nopen += isnan(m->holes[i].end);
	grid_printf(g, 13, y, -1, nopen ? GA_BOLD : 0, nopen ? GC_BAD : GC_GOOD,
	    "%d open, %zu ended lately", nopen, m->nholes - (size_t)nopen);
	if (!isnan(m->bh_samples))
		grid_printf(g, 13 + 30, y, -1, GA_DIM, GC_DEFAULT,
		    "samples %s  opened %s  closed %s",
		    fmt_count(a, sizeof(a), m->bh_samples),
		    fmt_count(b, sizeof(b), m->bh_opened),
		    fmt_count(c, sizeof(c), m->bh_closed));
	y++;
	wp = g->w >= 100 ? 20 : 15;
	x_node = 11;
	x_pfx = x_node + 9;
	x_reason = x_pfx + wp + 1;
	x_fps = x_reason + 17;
	x_start = x_fps + 8;
	x_state = x_start + 9;
	if (m->nholes > 0) {
		grid_text(g, 1, y, 9, GA_BOLD, GC_DEFAULT, "TYPE");
		grid_text(g, x_node, y, 8, GA_BOLD, GC_DEFAULT, "NODE");
		grid_text(g, x_pfx, y, wp, GA_BOLD, GC_DEFAULT, "PREFIX");
		grid_text(g, x_reason, y, 16, GA_BOLD, GC_DEFAULT, "REASON");
		grid_rtext(g, x_fps, y, 7, GA_BOLD, GC_DEFAULT, "FPS");
		grid_text(g, x_start, y, 8, GA_BOLD, GC_DEFAULT, "STARTED");
		grid_text(g, x_state, y, -1, GA_BOLD, GC_DEFAULT, "STATE");
		y++;
	} else
		grid_text(g, 2, y++, -1, GA_DIM, GC_DEFAULT,
		    "none: no discards, no valley routing, no TTL loops");
	/* the black holes get up to half of the body, events the rest */
	rows = (y1 - y0) / 2 - 4;
	if (rows < 2)
		rows = 2;
	if (rows > (int)m->nholes)
		rows = (int)m->nholes;
	first = view_list(u, V_HOLES, (int)m->nholes, y, rows);
	for (int r = 0; r < rows && first + r < (int)m->nholes; r++, y++) {
		const struct m_hole *h = &m->holes[first + r];
		int open = isnan(h->end);

		grid_text(g, 1, y, 9, open ? GA_BOLD : 0,
		    open ? GC_BAD : GC_DEFAULT, h->type);
		grid_text(g, x_node, y, 8, GA_BOLD, GC_DEFAULT, h->node);
		grid_text(g, x_pfx, y, wp, 0, GC_DEFAULT, h->prefix);
		grid_text(g, x_reason, y, 16, 0, GC_DEFAULT, h->reason);
		grid_rtext(g, x_fps, y, 7, 0, GC_DEFAULT,
		    fmt_num(a, sizeof(a), h->fps));
		grid_text(g, x_start, y, 8, 0, GC_DEFAULT,
		    fmt_clock(a, sizeof(a), h->start));
		if (open)
			grid_printf(g, x_state, y, -1, GA_BOLD, GC_BAD,
			    "open %s",
			    fmt_age(
			        b, sizeof(b), (double)u->now_ms - h->start));
		else
			grid_printf(g, x_state, y, -1, 0, GC_GOOD,
			    "ended %s ago",
			    fmt_age(b, sizeof(b), (double)u->now_ms - h->end));
		if (first + r == u->sel[V_HOLES]) {
			view_mark(g, y);
			snprintf(u->pick, sizeof(u->pick), "%s", h->node);
		}
	}
	/* the selected one's evidence: the last samples that showed it */
	if (m->nholes > 0 && u->sel[V_HOLES] < (int)m->nholes && y < y1) {
		const struct m_hole *h = &m->holes[u->sel[V_HOLES]];
		int n = (int)h->nev, room = (y1 - y) / 3;

		if (n > room)
			n = room > 1 ? room : 1;
		grid_printf(g, 1, y++, -1, GA_DIM, GC_DEFAULT,
		    "evidence at %s:", h->node);
		for (int i = 0; i < n && y < y1; i++, y++) {
			const struct m_evidence *e = &h->ev[i];

			grid_printf(g, 3, y, -1, 0, GC_DEFAULT,
			    "%s  in %s out %s  %s %s %s  ttl %s",
			    fmt_clock(a, sizeof(a), e->time), e->in_port,
			    e->out_port, e->src, view_arrow(g), e->dst,
			    fmt_int(c, sizeof(c), e->ttl));
		}
	}
	draw_events(g, m, y + 1, y1);
}
