/*
 * test_fabtop_view.c: fabtop's grid and views (tui/grid.c, tui/view*.c):
 * text is cut and escaped into its columns, bars and numbers read right,
 * every view draws at every size (1x1 to 300x120) from recorded and
 * from empty models, and keys and clicks move between views.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "grid.h"
#include "model.h"
#include "t.h"
#include "view.h"

static char *
row(const struct grid *g, int y)
{
	char *d = grid_dump(g), *p = d;

	for (int i = 0; i < y && p != NULL; i++) {
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	if (p == NULL)
		p = d + strlen(d);
	{
		char *nl = strchr(p, '\n');
		size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);
		char *r = malloc(n + 1);

		memcpy(r, p, n);
		r[n] = '\0';
		free(d);
		return r;
	}
}

static void
load(struct model *m, const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (f == NULL) {
		T_FAIL("cannot read %s", path);
		return;
	}
	while ((n = getline(&line, &cap, f)) > 0)
		model_apply(m, line, (size_t)n, 1795337700000ULL);
	free(line);
	fclose(f);
}

static void
test_text(void)
{
	struct grid *g = grid_new(10, 2, 1);
	char *r;

	T_EQ(grid_text(g, 0, 0, 5, 0, 0, "abcdefgh"), 5);
	r = row(g, 0);
	T_STREQ(r, "abcd\xe2\x80\xa6"); /* cut: an ellipsis */
	free(r);
	grid_clear(g);
	/* controls, a wide character, a combining mark: '?' each */
	grid_text(g, 0, 0, -1, 0, 0,
	    "a\tb\xe4\xba\xa4"
	    "c\xcc\x81"
	    "d");
	r = row(g, 0);
	T_STREQ(r, "a?b?c?d");
	free(r);
	/* right edge: no write past it */
	T_EQ(grid_text(g, 8, 1, -1, 0, 0, "xyz"), 2);
	T_EQ(grid_text(g, 10, 1, -1, 0, 0, "xyz"), 0);
	T_EQ(grid_text(g, -3, 1, 2, 0, 0, "xyz"), 2); /* off-grid: dropped */
	grid_free(g);
	/* ASCII mode: no Unicode at all */
	g = grid_new(10, 1, 0);
	grid_text(g, 0, 0, -1, 0, 0, "\xc3\xa9t\xc3\xa9 abcdefgh");
	r = row(g, 0);
	T_STREQ(r, "?t? abcde~");
	free(r);
	grid_free(g);
}

static void
test_bar(void)
{
	struct grid *g = grid_new(10, 4, 1), *a = grid_new(10, 3, 0);
	char *r;

	grid_bar(g, 0, 0, 10, 50, 0);
	r = row(g, 0);
	T_STREQ(
	    r, "\u2588\u2588\u2588\u2588\u2588\u00b7\u00b7\u00b7\u00b7\u00b7");
	free(r);
	grid_bar(g, 0, 1, 4, 0.0001, 0); /* any traffic shows */
	r = row(g, 1);
	T_STREQ(r, "\u258f\u00b7\u00b7\u00b7");
	free(r);
	T_EQ(grid_at(g, 0, 0)->color, GC_WARN); /* 50%: busy */
	grid_bar(g, 0, 2, 4, 1e9, 0);           /* more than 100%: full */
	T_EQ(grid_at(g, 3, 2)->color, GC_BAD);
	grid_bar(g, 0, 3, 4, NAN, 0);
	r = row(g, 3);
	T_STREQ(r, "\u00b7\u00b7\u00b7\u00b7");
	free(r);
	grid_bar(a, 0, 0, 10, 55, 0);
	grid_bar(a, 0, 1, 10, 0.5, 0);
	r = grid_dump(a);
	T_STREQ(r, "######....\n:.........\n\n"); /* 5.5 rounds up */
	free(r);
	grid_free(g);
	grid_free(a);
}

static void
test_formats(void)
{
	char b[32];

	T_STREQ(fmt_bps(b, sizeof(b), 0), "0");
	T_STREQ(fmt_bps(b, sizeof(b), 950), "950");
	T_STREQ(fmt_bps(b, sizeof(b), 1234), "1.23k");
	T_STREQ(fmt_bps(b, sizeof(b), 45600000), "45.6M");
	T_STREQ(fmt_bps(b, sizeof(b), 999999), "1.00M");
	T_STREQ(fmt_bps(b, sizeof(b), 1e10), "10.0G");
	T_STREQ(fmt_bps(b, sizeof(b), NAN), "-");
	T_STREQ(fmt_bps(b, sizeof(b), -3), "0");
	T_STREQ(fmt_bps(b, sizeof(b), 1e300), ">999P");
	T_STREQ(fmt_num(b, sizeof(b), 0.5), "0.5");
	T_STREQ(fmt_count(b, sizeof(b), 6), "6");
	T_STREQ(fmt_count(b, sizeof(b), 31900), "31.9k");
	T_STREQ(fmt_pct(b, sizeof(b), 0), "0%");
	T_STREQ(fmt_pct(b, sizeof(b), 0.0007), "<.1%");
	T_STREQ(fmt_pct(b, sizeof(b), 4.44), "4.4%");
	T_STREQ(fmt_pct(b, sizeof(b), 45.4), "45%");
	T_STREQ(fmt_pct(b, sizeof(b), 1e9), "999%");
	T_STREQ(fmt_age(b, sizeof(b), 5400), "5s");
	T_STREQ(fmt_age(b, sizeof(b), 600000), "10m");
	T_STREQ(fmt_age(b, sizeof(b), 7200e3), "2h");
	T_STREQ(fmt_age(b, sizeof(b), -5), "0s");
	T_STREQ(fmt_speed(b, sizeof(b), 10000), "10G");
	T_STREQ(fmt_speed(b, sizeof(b), 100), "100M");
	T_STREQ(fmt_speed(b, sizeof(b), 2500), "2.50G");
	T_STREQ(fmt_proto(b, sizeof(b), 17), "udp");
	T_STREQ(fmt_proto(b, sizeof(b), 99), "99");
	T_STREQ(fmt_clock(b, sizeof(b), NAN), "-");
	T_STREQ(fmt_clock(b, sizeof(b), 1e300), "-");
}

/* Every view at every size, from full, empty and hostile models. */
static void
test_all_sizes(void)
{
	static const int sizes[][2] = { { 1, 1 }, { 2, 2 }, { 10, 3 },
		{ 39, 7 }, { 40, 8 }, { 41, 9 }, { 60, 15 }, { 80, 24 },
		{ 81, 25 }, { 120, 40 }, { 200, 60 }, { 300, 120 } };
	const char *files[] = { NULL, "tests/golden/fabtop/lab.frames",
		"tests/golden/fabtop/valley.frames",
		"tests/golden/fabtop/hostile.frames",
		"tests/golden/fabtop/discard.frames" };

	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		struct model *m = model_new();
		struct ui u;

		if (files[f] != NULL)
			load(m, files[f]);
		ui_init(&u);
		u.now_ms = 1795337700000ULL;
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
			for (int utf8 = 0; utf8 < 2; utf8++)
				for (int v = 0; v < V_COUNT; v++) {
					struct grid *g = grid_new(
					    sizes[s][0], sizes[s][1], utf8);

					u.view = (enum view_id)v;
					u.help = v == V_DETAIL;
					u.prompt = v == V_TRACE;
					u.sel[v] = 1000000; /* clamped */
					view_draw(g, m, &u);
					T_OK(u.sel[v] >= 0);
					T_OK(u.list_rows >= 0);
					grid_free(g);
				}
		model_free(m);
	}
}

static void
test_keys(void)
{
	struct model *m = model_new();
	struct grid *g = grid_new(80, 24, 1);
	struct ui u;
	const char *typed = "ipsource=1.2.3.4";

	load(m, "tests/golden/fabtop/lab.frames");
	ui_init(&u);
	view_draw(g, m, &u);
	T_EQ(view_key(&u, m, '3'), UA_DRAW);
	T_EQ(u.view, V_TRACE);
	T_EQ(view_key(&u, m, K_TAB), UA_DRAW);
	T_EQ(u.view, V_HOLES);
	T_EQ(view_key(&u, m, K_BTAB), UA_DRAW);
	T_EQ(view_key(&u, m, K_BTAB), UA_DRAW);
	T_EQ(u.view, V_TOP);
	T_EQ(view_key(&u, m, 's'), UA_DRAW);
	T_EQ(u.sort_top, SORT_TOP_SRC);
	T_EQ(view_key(&u, m, 'p'), UA_PAUSE);
	T_EQ(u.paused, 1);
	T_EQ(view_key(&u, m, '?'), UA_DRAW);
	T_EQ(u.help, 1);
	T_EQ(view_key(&u, m, 'j'), UA_DRAW); /* any key closes the help */
	T_EQ(u.help, 0);
	/* the prompt: typed, edited, sent; the current filter comes first */
	T_EQ(view_key(&u, m, '/'), UA_DRAW);
	T_EQ(u.view, V_TRACE);
	T_STREQ(u.input, m->trace_filter);
	T_EQ(view_key(&u, m, K_KILL), UA_DRAW);
	for (const char *p = typed; *p; p++)
		view_key(&u, m, *p);
	view_key(&u, m, 'x');
	view_key(&u, m, K_BACKSPACE);
	T_EQ(view_key(&u, m, 'q'), UA_DRAW); /* typed, not quit */
	view_key(&u, m, K_BACKSPACE);
	T_STREQ(u.input, typed);
	T_EQ(view_key(&u, m, K_ENTER), UA_TRACE);
	T_EQ(u.prompt, 0);
	T_EQ(view_key(&u, m, 't'), UA_DRAW);
	T_EQ(view_key(&u, m, K_ESC), UA_DRAW);
	T_EQ(u.prompt, 0);
	T_EQ(view_key(&u, m, 'x'), UA_UNTRACE);
	/* Enter: the detail of the selected row's node */
	view_key(&u, m, '1');
	view_key(&u, m, K_DOWN);
	view_key(&u, m, K_DOWN);
	view_draw(g, m, &u);
	T_EQ(u.sel[V_FABRIC], 2);
	T_STREQ(u.pick, "l2"); /* the third link, l2:swp1-s1:swp2 */
	T_EQ(view_key(&u, m, K_ENTER), UA_DRAW);
	T_EQ(u.view, V_DETAIL);
	T_STREQ(u.detail, "l2");
	view_key(&u, m, ']');
	T_STREQ(u.detail, "l3");
	view_key(&u, m, K_LEFT);
	view_key(&u, m, K_LEFT);
	T_STREQ(u.detail, "l1");
	view_key(&u, m, K_LEFT); /* wraps */
	T_STREQ(u.detail, "s2");
	/* End and PgDn are clamped when drawn */
	view_key(&u, m, '1');
	view_key(&u, m, K_END);
	view_key(&u, m, K_PGDN);
	view_draw(g, m, &u);
	T_EQ(u.sel[V_FABRIC], 7);
	T_EQ(view_key(&u, m, 'Q'), UA_QUIT);
	grid_free(g);
	model_free(m);
}

static void
test_clicks(void)
{
	struct model *m = model_new();
	struct grid *g = grid_new(80, 24, 1);
	struct ui u;

	load(m, "tests/golden/fabtop/lab.frames");
	ui_init(&u);
	view_draw(g, m, &u);
	/* a tab */
	T_EQ(view_click(&u, m, u.tab_x[V_TOP] + 2, 0, 0), UA_DRAW);
	T_EQ(u.view, V_TOP);
	view_draw(g, m, &u);
	/* a row */
	T_EQ(view_click(&u, m, 10, u.list_y + 1, 0), UA_DRAW);
	T_EQ(u.sel[V_TOP], 1);
	view_draw(g, m, &u);
	T_STREQ(u.pick, "l1");
	/* beyond the list: nothing */
	T_EQ(view_click(&u, m, 10, 22, 0), UA_NONE);
	grid_free(g);
	model_free(m);
}

/* The status line: live, stale, down; the HA role. */
static void
test_status(void)
{
	struct model *m = model_new();
	struct grid *g = grid_new(120, 1, 0);
	struct ui u;
	char *r;
	const char *ha = "{\"v\":1,\"t\":\"event\",\"topic\":\"ha\","
	                 "\"data\":{\"role\":\"MASTER\"}}";

	ui_init(&u);
	snprintf(u.host, sizeof(u.host), "10.0.0.1:8008");
	model_apply(m, ha, strlen(ha), 10000);
	u.conn = UC_CONNECTED;
	u.now_ms = 10500;
	view_status(g, m, &u, 0);
	r = row(g, 0);
	T_STREQ(r, " * live 10.0.0.1:8008 | MASTER | push 0s ago | ? help");
	free(r);
	u.now_ms = 20000; /* 10 s without a frame */
	view_status(g, m, &u, 0);
	r = row(g, 0);
	T_STREQ(r, " o stale 10.0.0.1:8008 | MASTER | push 10s ago | ? help");
	free(r);
	u.conn = UC_DISCONNECTED;
	snprintf(u.why, sizeof(u.why), "connection refused");
	u.retry_ms = 22000;
	view_status(g, m, &u, 0);
	r = row(g, 0);
	T_STREQ(r,
	    " X stale 10.0.0.1:8008: connection refused, retry in 2s "
	    "| MASTER | push 10s ago | ? help");
	free(r);
	u.conn = UC_CONNECTING; /* never connected yet */
	view_status(g, m, &u, 0);
	r = row(g, 0);
	T_STREQ(r,
	    " connecting to 10.0.0.1:8008: connection refused, retry in "
	    "2s | MASTER | push 10s ago | ? help");
	free(r);
	u.paused = 1;
	snprintf(u.note, sizeof(u.note), "thinned links");
	view_status(g, m, &u, 0);
	r = row(g, 0);
	T_STREQ(r,
	    " PAUSED | connecting to 10.0.0.1:8008: connection refused, "
	    "retry in 2s | MASTER | push 10s ago | thinned links | ? "
	    "help");
	free(r);
	grid_free(g);
	model_free(m);
}

int
main(void)
{
	t_suite = "fabtop_view";
	T_RUN(test_text);
	T_RUN(test_bar);
	T_RUN(test_formats);
	T_RUN(test_all_sizes);
	T_RUN(test_keys);
	T_RUN(test_clicks);
	T_RUN(test_status);
	return t_done();
}
