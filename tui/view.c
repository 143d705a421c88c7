/*
 * view.c: the frame around the views (the tab bar, the status line, the
 * filter prompt, the help), keys and clicks, and the number formats the
 * views share. PURE (see view.h). Runs on fabtop's main thread.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "view.h"

static const char *const tab_long[V_COUNT] = {
	"Fabric",
	"Top-N",
	"Trace",
	"Black holes",
	"Detail",
};
static const char *const tab_short[V_COUNT] = {
	"Fabric",
	"Top",
	"Trace",
	"Holes",
	"Detail",
};

void
ui_init(struct ui *u)
{
	memset(u, 0, sizeof(*u));
	u->view = V_FABRIC;
	u->conn = UC_CONNECTING;
}

/* ---- formats ---------------------------------------------------------- */

/* Three significant digits with an SI prefix: 950, 1.23k, 45.6M. */
static char *
si(char *buf, size_t len, double v, const char *unit)
{
	static const char *const pfx[] = { "", "k", "M", "G", "T", "P" };
	int i = 0;

	if (isnan(v)) {
		snprintf(buf, len, "-");
		return buf;
	}
	if (v < 0)
		v = 0;
	while (v >= 999.5 && i < 5) {
		v /= 1000;
		i++;
	}
	if (v >= 999.5)
		snprintf(buf, len, ">999%s%s", pfx[i], unit);
	else if (v == 0)
		snprintf(buf, len, "0%s", unit);
	else if (i == 0 && v < 9.95)
		snprintf(buf, len, "%.1f%s", v, unit);
	else if (i == 0)
		snprintf(buf, len, "%.0f%s", v, unit);
	else if (v < 9.995)
		snprintf(buf, len, "%.2f%s%s", v, pfx[i], unit);
	else if (v < 99.95)
		snprintf(buf, len, "%.1f%s%s", v, pfx[i], unit);
	else
		snprintf(buf, len, "%.0f%s%s", v, pfx[i], unit);
	return buf;
}

char *
fmt_bps(char *buf, size_t len, double bps)
{
	if (!isnan(bps) && bps > 0 && bps < 9.95)
		bps = round(bps); /* bits: no tenths */
	return si(buf, len, bps, "");
}

char *
fmt_num(char *buf, size_t len, double v)
{
	return si(buf, len, v, "");
}

char *
fmt_int(char *buf, size_t len, double v)
{
	if (isnan(v))
		snprintf(buf, len, "-");
	else if (fabs(v) >= 1e15)
		snprintf(buf, len, "%s", v < 0 ? "-huge" : "huge");
	else
		snprintf(buf, len, "%.0f", v);
	return buf;
}

char *
fmt_count(char *buf, size_t len, double v)
{
	if (!isnan(v) && v >= 0 && v < 999.5)
		snprintf(buf, len, "%.0f", v);
	else
		si(buf, len, v, "");
	return buf;
}

char *
fmt_pct(char *buf, size_t len, double pct)
{
	if (isnan(pct))
		snprintf(buf, len, "-");
	else if (pct <= 0)
		snprintf(buf, len, "0%%");
	else if (pct < 0.1)
		snprintf(buf, len, "<.1%%");
	else if (pct < 9.95)
		snprintf(buf, len, "%.1f%%", pct);
	else
		snprintf(buf, len, "%.0f%%", pct > 999 ? 999 : pct);
	return buf;
}

char *
fmt_age(char *buf, size_t len, double ms)
{
	double s = ms / 1000;

	if (isnan(ms))
		snprintf(buf, len, "-");
	else if (s < 0)
		snprintf(buf, len, "0s");
	else if (s < 100)
		snprintf(buf, len, "%.0fs", floor(s));
	else if (s < 6000)
		snprintf(buf, len, "%.0fm", floor(s / 60));
	else if (s < 360000)
		snprintf(buf, len, "%.0fh", floor(s / 3600));
	else
		snprintf(buf, len, "%.0fd", fmin(floor(s / 86400), 9999));
	return buf;
}

char *
fmt_clock(char *buf, size_t len, double ms)
{
	time_t t;
	struct tm tm;

	if (isnan(ms) || ms < 0 || ms > 1e15) {
		snprintf(buf, len, "-");
		return buf;
	}
	t = (time_t)(ms / 1000);
	if (localtime_r(&t, &tm) == NULL)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%02d:%02d:%02d", tm.tm_hour, tm.tm_min,
		    tm.tm_sec);
	return buf;
}

char *
fmt_speed(char *buf, size_t len, double mbps)
{
	if (isnan(mbps) || mbps <= 0)
		snprintf(buf, len, "-");
	else if (mbps >= 1000 && fmod(mbps, 1000) == 0)
		snprintf(buf, len, "%.0fG", fmin(mbps / 1000, 1e6));
	else
		si(buf, len, mbps * 1e6, "");
	return buf;
}

const char *
fmt_proto(char *buf, size_t len, double p)
{
	if (p == 6)
		return "tcp";
	if (p == 17)
		return "udp";
	if (p == 1)
		return "icmp";
	if (p == 58)
		return "icmp6";
	if (p == 132)
		return "sctp";
	if (p == 47)
		return "gre";
	if (isnan(p))
		return "-";
	snprintf(buf, len, "%.0f", fmin(fmax(p, 0), 1e9));
	return buf;
}

const char *
view_arrow(const struct grid *g)
{
	return g->utf8 ? "\u2192" : "->";
}

/* ---- lists ------------------------------------------------------------ */

int
view_list(struct ui *u, enum view_id v, int count, int y, int rows)
{
	if (rows < 0)
		rows = 0;
	if (u->sel[v] >= count)
		u->sel[v] = count - 1;
	if (u->sel[v] < 0)
		u->sel[v] = 0;
	if (u->first[v] > u->sel[v])
		u->first[v] = u->sel[v];
	if (rows > 0 && u->sel[v] >= u->first[v] + rows)
		u->first[v] = u->sel[v] - rows + 1;
	if (u->first[v] > count - rows)
		u->first[v] = count - rows;
	if (u->first[v] < 0)
		u->first[v] = 0;
	u->list_y = y;
	u->list_rows = rows;
	u->list_count = count;
	return u->first[v];
}

void
view_mark(struct grid *g, int y)
{
	for (int x = 0; x < g->w; x++) {
		struct gcell *c = grid_at(g, x, y);

		if (c != NULL)
			c->attr |= GA_REVERSE;
	}
}

void
view_note(struct grid *g, int y, const char *text)
{
	int n = grid_text_width(g, text);
	int x = n < g->w ? (g->w - n) / 2 : 0;

	grid_text(g, x, y, g->w, GA_DIM, GC_DEFAULT, text);
}

/* ---- the frame -------------------------------------------------------- */

uint64_t
view_stale_ms(const struct model *m)
{
	double p = isnan(m->push_ms) || m->push_ms <= 0 ? 1000 : m->push_ms;

	return (uint64_t)fmax(3000, 3 * fmin(p, 3600e3));
}

static void
draw_tabs(struct grid *g, const struct model *m, struct ui *u)
{
	int x = 0, need = 8;
	const char *const *names = tab_long;
	char badge[32];
	size_t open = 0;

	for (size_t i = 0; i < m->nholes; i++)
		open += isnan(m->holes[i].end);
	for (int i = 0; i < V_COUNT; i++)
		need += grid_text_width(g, tab_long[i]) + 4;
	if (need > g->w)
		names = tab_short;
	grid_fill(g, 0, 0, g->w, ' ', GA_REVERSE, GC_DEFAULT);
	x += grid_text(
	    g, x, 0, -1, GA_REVERSE | GA_BOLD, GC_DEFAULT, " fabtop ");
	for (int i = 0; i < V_COUNT; i++) {
		int sel = (int)u->view == i;
		int attr = sel ? GA_BOLD : GA_REVERSE;

		u->tab_x[i] = x;
		x += grid_printf(g, x, 0, -1, attr,
		    sel ? GC_ACCENT : GC_DEFAULT, " %d %s", i + 1, names[i]);
		if (i == V_HOLES && open > 0) {
			snprintf(badge, sizeof(badge), "(%zu)", open);
			x += grid_text(
			    g, x, 0, -1, attr | GA_BOLD, GC_BAD, badge);
		}
		x += grid_text(g, x, 0, -1, attr, GC_DEFAULT, " ");
	}
	u->tab_x[V_COUNT] = x;
}

/* Pieces of the status line, left to right, each with its colour. */
struct piece {
	char text[400];
	int attr, color;
};

void
view_status(struct grid *g, const struct model *m, const struct ui *u, int y)
{
	struct piece p[12];
	int n = 0, x = 0;
	uint64_t age =
	    m->rx_ms != 0 && u->now_ms >= m->rx_ms ? u->now_ms - m->rx_ms : 0;
	int fresh = m->rx_ms != 0 && age <= view_stale_ms(m);
	char a[32], b[32];
	const char *role = m->ha_role;
	const char *on = g->utf8 ? "\u25cf" : "*",
	           *off = g->utf8 ? "\u25cb" : "o";
	const char *cross = g->utf8 ? "\u2716" : "X";

	memset(p, 0, sizeof(p));
	if (u->paused) {
		snprintf(p[n].text, sizeof(p[n].text), " PAUSED ");
		p[n].attr = GA_BOLD;
		p[n++].color = GC_WARN;
	}
	switch (u->conn) {
	case UC_CONNECTED:
		snprintf(p[n].text, sizeof(p[n].text), " %s %s %s ",
		    fresh ? on : off, fresh ? "live" : "stale", u->host);
		p[n].color = fresh ? GC_GOOD : GC_WARN;
		p[n++].attr = GA_BOLD;
		break;
	case UC_CONNECTING:
	case UC_DISCONNECTED:
		/* never connected: "connecting"; lost: the data is stale */
		if (u->retry_ms > u->now_ms)
			snprintf(b, sizeof(b), ", retry in %.0fs",
			    ceil((double)(u->retry_ms - u->now_ms) / 1000));
		else
			snprintf(b, sizeof(b), "%s",
			    u->why[0] != '\0' ? ", retrying" : "");
		if (u->conn == UC_CONNECTING)
			snprintf(p[n].text, sizeof(p[n].text),
			    " connecting to %s%s%s%s ", u->host,
			    u->why[0] != '\0' ? ": " : "", u->why, b);
		else
			snprintf(p[n].text, sizeof(p[n].text),
			    " %s stale %s: %s%s ", cross, u->host,
			    u->why[0] != '\0' ? u->why : "disconnected", b);
		p[n].color = u->conn == UC_CONNECTING ? GC_WARN : GC_BAD;
		p[n++].attr = GA_BOLD;
		break;
	case UC_REPLAY:
		snprintf(p[n].text, sizeof(p[n].text), " replay %s ", u->host);
		p[n++].color = GC_INFO;
		break;
	}
	if (*role != '\0') {
		snprintf(p[n].text, sizeof(p[n].text), " %s ", role);
		p[n].color = strcmp(role, "MASTER") == 0 ? GC_GOOD
		    : strcmp(role, "BACKUP") == 0        ? GC_WARN
		    : strcmp(role, "FAULT") == 0         ? GC_BAD
		                                         : GC_DEFAULT;
		p[n++].attr = GA_BOLD;
	}
	if (m->rx_ms != 0)
		snprintf(p[n].text, sizeof(p[n].text), " push %s ago ",
		    fmt_age(a, sizeof(a), (double)age));
	else
		snprintf(p[n].text, sizeof(p[n].text), " no push yet ");
	p[n++].color = fresh ? GC_DEFAULT : GC_WARN;
	if (*m->health_status != '\0' && strcmp(m->health_status, "ok") != 0) {
		snprintf(
		    p[n].text, sizeof(p[n].text), " %s ", m->health_status);
		p[n].attr = GA_BOLD;
		p[n++].color = GC_BAD;
	}
	if (u->note[0] != '\0') {
		snprintf(p[n].text, sizeof(p[n].text), " %s ", u->note);
		p[n++].color = GC_WARN;
	}
	if (*m->version != '\0') {
		snprintf(
		    p[n].text, sizeof(p[n].text), " fabmond %s ", m->version);
		p[n++].color = GC_DEFAULT;
	}
	snprintf(p[n].text, sizeof(p[n].text), " ? help ");
	p[n++].color = GC_DEFAULT;
	grid_fill(g, 0, y, g->w, ' ', GA_REVERSE, GC_DEFAULT);
	for (int i = 0; i < n && x < g->w; i++) {
		if (i > 0)
			x += grid_text(g, x, y, -1, GA_REVERSE, GC_DEFAULT,
			    g->utf8 ? "\u2502" : "|");
		x += grid_text(
		    g, x, y, -1, GA_REVERSE | p[i].attr, p[i].color, p[i].text);
	}
}

static void
draw_prompt(struct grid *g, const struct ui *u, int y)
{
	int x, w = grid_text_width(g, u->input);
	int room;

	grid_fill(g, 0, y, g->w, ' ', 0, GC_DEFAULT);
	x = grid_text(g, 0, y, -1, GA_BOLD, GC_INFO, " trace filter: ");
	room = g->w - x - 1;
	if (room < 1)
		return;
	/* the end of a long filter stays in view */
	if (w > room) {
		const char *s = u->input;

		for (int skip = w - room + 1; skip > 0 && *s != '\0'; skip--) {
			size_t l;

			(void)grid_utf8_next(s, &l);
			s += l;
		}
		x += grid_text(g, x, y, 1, GA_DIM, GC_DEFAULT, "<");
		x += grid_text(g, x, y, room - 1, 0, GC_DEFAULT, s);
	} else
		x += grid_text(g, x, y, room, 0, GC_DEFAULT, u->input);
	grid_put(g, x, y, ' ', GA_REVERSE, GC_DEFAULT); /* the cursor */
}

static const char *const help_lines[] = {
	"1-5, Tab       views: fabric, top-N, trace, black holes, detail",
	"Up Down j k    select      PgUp PgDn Home End   scroll",
	"Enter          detail of the selected node (or click twice)",
	"Left Right [ ] detail: the previous or next node",
	"s              sort (top-N: bps, source, destination, ingress;",
	"                     fabric: name, busiest, discards)",
	"/ or t         trace a filter, e.g. ipsource=10.2.1.11",
	"x              stop following the trace",
	"p              pause the display (frames keep coming)",
	"?  Esc         this help        q  quit",
};

static void
draw_help(struct grid *g)
{
	int n = (int)(sizeof(help_lines) / sizeof(help_lines[0]));
	int w = 0, h = n + 4, x, y;

	for (int i = 0; i < n; i++) {
		int l = grid_text_width(g, help_lines[i]);

		w = l > w ? l : w;
	}
	w += 4;
	if (w > g->w)
		w = g->w;
	if (h > g->h - 2)
		h = g->h - 2;
	x = (g->w - w) / 2;
	y = (g->h - h) / 2;
	grid_box(g, x, y, w, h, GA_BOLD, GC_INFO);
	grid_text(g, x + 2, y, w - 4, GA_BOLD, GC_INFO, " fabtop keys ");
	for (int i = 0; i < n && i + 2 < h - 1; i++)
		grid_text(
		    g, x + 2, y + 2 + i, w - 4, 0, GC_DEFAULT, help_lines[i]);
}

void
view_draw(struct grid *g, const struct model *m, struct ui *u)
{
	int body0 = 1, body1 = g->h - 1; /* [body0, body1) */

	grid_clear(g);
	u->list_rows = u->list_count = 0;
	u->pick[0] = '\0';
	if (g->w < 40 || g->h < 8) {
		grid_printf(g, 0, 0, -1, GA_BOLD, GC_WARN,
		    "fabtop: %dx%d is too small (40x8 at least)", g->w, g->h);
		if (g->h > 1)
			view_status(g, m, u, g->h - 1);
		return;
	}
	draw_tabs(g, m, u);
	if (u->prompt)
		body1--;
	switch (u->view) {
	case V_FABRIC:
		view_fabric(g, m, u, body0, body1);
		break;
	case V_TOP:
		view_top(g, m, u, body0, body1);
		break;
	case V_TRACE:
		view_trace(g, m, u, body0, body1);
		break;
	case V_HOLES:
		view_holes(g, m, u, body0, body1);
		break;
	case V_DETAIL:
	default:
		view_detail(g, m, u, body0, body1);
		break;
	}
	if (u->prompt)
		draw_prompt(g, u, body1);
	view_status(g, m, u, g->h - 1);
	if (u->help)
		draw_help(g);
}

/* ---- keys ------------------------------------------------------------- */

static void
detail_step(struct ui *u, const struct model *m, int d)
{
	const struct m_node *n = model_node(m, u->detail);
	long i;

	if (m->nnodes == 0)
		return;
	i = n != NULL ? (long)(n - m->nodes) + d : 0;
	if (i < 0)
		i = (long)m->nnodes - 1;
	if (i >= (long)m->nnodes)
		i = 0;
	snprintf(u->detail, sizeof(u->detail), "%s", m->nodes[i].name);
	u->sel[V_DETAIL] = u->first[V_DETAIL] = 0;
}

static enum ui_action
open_detail(struct ui *u, const struct model *m)
{
	if (u->view == V_DETAIL || model_node(m, u->pick) == NULL)
		return UA_NONE;
	snprintf(u->detail, sizeof(u->detail), "%s", u->pick);
	u->view = V_DETAIL;
	u->sel[V_DETAIL] = u->first[V_DETAIL] = 0;
	return UA_DRAW;
}

static enum ui_action
prompt_key(struct ui *u, int key)
{
	size_t n = strlen(u->input);

	switch (key) {
	case K_ESC:
		u->prompt = 0;
		return UA_DRAW;
	case K_ENTER:
		u->prompt = 0;
		return n > 0 ? UA_TRACE : UA_DRAW;
	case K_BACKSPACE:
		if (n > 0)
			u->input[n - 1] = '\0';
		return UA_DRAW;
	case K_KILL:
		u->input[0] = '\0';
		return UA_DRAW;
	default:
		/* the filter language is ASCII */
		if (key >= 0x20 && key < 0x7f && n + 1 < sizeof(u->input)) {
			u->input[n] = (char)key;
			u->input[n + 1] = '\0';
			return UA_DRAW;
		}
		return UA_NONE;
	}
}

enum ui_action
view_key(struct ui *u, const struct model *m, int key)
{
	int *sel = &u->sel[u->view];
	int page = u->list_rows > 1 ? u->list_rows - 1 : 1;

	if (u->prompt)
		return prompt_key(u, key);
	if (u->help && key != '?' && key != 'q' && key != 'Q') {
		u->help = 0;
		return UA_DRAW;
	}
	switch (key) {
	case 'q':
	case 'Q':
		return UA_QUIT;
	case '?':
	case 'h':
		u->help = !u->help;
		return UA_DRAW;
	case K_ESC:
		return UA_NONE;
	case '1':
	case '2':
	case '3':
	case '4':
	case '5':
		u->view = (enum view_id)(key - '1');
		return UA_DRAW;
	case K_TAB:
		u->view = (enum view_id)((u->view + 1) % V_COUNT);
		return UA_DRAW;
	case K_BTAB:
		u->view = (enum view_id)((u->view + V_COUNT - 1) % V_COUNT);
		return UA_DRAW;
	case 'p':
	case 'P':
	case ' ':
		u->paused = !u->paused;
		return UA_PAUSE;
	case 's':
	case 'S':
		if (u->view == V_TOP)
			u->sort_top = (u->sort_top + 1) % SORT_TOP_N;
		else if (u->view == V_FABRIC)
			u->sort_links = (u->sort_links + 1) % SORT_LINK_N;
		else
			return UA_NONE;
		*sel = 0;
		return UA_DRAW;
	case '/':
	case 't':
		u->prompt = 1;
		u->view = V_TRACE;
		if (u->input[0] == '\0' && m->trace_filter[0] != '\0')
			snprintf(
			    u->input, sizeof(u->input), "%s", m->trace_filter);
		return UA_DRAW;
	case 'x':
		if (u->view != V_TRACE || m->trace_topic[0] == '\0')
			return UA_NONE;
		return UA_UNTRACE;
	case K_UP:
	case 'k':
		(*sel)--;
		return UA_DRAW;
	case K_DOWN:
	case 'j':
		(*sel)++;
		return UA_DRAW;
	case K_PGUP:
		*sel -= page;
		return UA_DRAW;
	case K_PGDN:
		*sel += page;
		return UA_DRAW;
	case K_HOME:
	case 'g':
		*sel = 0;
		return UA_DRAW;
	case K_END:
	case 'G':
		*sel = u->list_count > 0 ? u->list_count - 1 : 0;
		return UA_DRAW;
	case K_LEFT:
	case '[':
		if (u->view != V_DETAIL)
			return UA_NONE;
		detail_step(u, m, -1);
		return UA_DRAW;
	case K_RIGHT:
	case ']':
		if (u->view != V_DETAIL)
			return UA_NONE;
		detail_step(u, m, 1);
		return UA_DRAW;
	case K_ENTER:
		return open_detail(u, m);
	default:
		return UA_NONE;
	}
}

enum ui_action
view_click(struct ui *u, const struct model *m, int x, int y, int dbl)
{
	(void)m;
	if (u->help) {
		u->help = 0;
		return UA_DRAW;
	}
	if (y == 0) {
		for (int i = 0; i < V_COUNT; i++)
			if (x >= u->tab_x[i] && x < u->tab_x[i + 1]) {
				u->view = (enum view_id)i;
				return UA_DRAW;
			}
		return UA_NONE;
	}
	if (u->list_rows > 0 && y >= u->list_y &&
	    y < u->list_y + u->list_rows) {
		int i = u->first[u->view] + (y - u->list_y);

		if (i >= u->list_count)
			return UA_NONE;
		(void)dbl; /* the caller draws, then sends K_ENTER */
		u->sel[u->view] = i;
		return UA_DRAW;
	}
	return UA_NONE;
}
