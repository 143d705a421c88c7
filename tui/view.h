/*
 * view.h: fabtop's screens, drawn from the model into a grid, and the
 * keys and clicks that move between them. PURE: no curses, no I/O (the
 * clock comes in ui.now_ms), so that a screen is a function of the
 * frames and the keys, and golden tests can print it. One owner: the
 * main thread.
 */
#ifndef FABMON_VIEW_H
#define FABMON_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include "grid.h"
#include "model.h"

enum view_id {
	V_FABRIC,
	V_TOP,
	V_TRACE,
	V_HOLES,
	V_DETAIL,
	V_COUNT,
};

/* Keys: printable ASCII as itself, control keys as below. */
enum {
	K_UP = 0x110000,
	K_DOWN,
	K_LEFT,
	K_RIGHT,
	K_PGUP,
	K_PGDN,
	K_HOME,
	K_END,
	K_ENTER,
	K_ESC,
	K_TAB,
	K_BTAB,
	K_BACKSPACE,
	K_KILL, /* ^U: clear the input */
};

/* What the caller must do after a key or a click. */
enum ui_action {
	UA_NONE,    /* nothing changed */
	UA_DRAW,    /* draw again */
	UA_QUIT,    /* leave */
	UA_PAUSE,   /* ui.paused flipped */
	UA_TRACE,   /* start a trace of ui.input */
	UA_UNTRACE, /* stop following the trace */
};

enum ui_conn {
	UC_CONNECTING,   /* never connected yet */
	UC_CONNECTED,    /* the websocket is open */
	UC_DISCONNECTED, /* lost; retrying */
	UC_REPLAY,       /* frames from a file (tests) */
};

/* Sort orders. */
enum { SORT_TOP_BPS, SORT_TOP_SRC, SORT_TOP_DST, SORT_TOP_INGRESS, SORT_TOP_N };
enum {
	SORT_LINK_NAME,
	SORT_LINK_UTIL,
	SORT_LINK_DISCARDS,
	SORT_LINK_N,
};

struct ui {
	enum view_id view;
	int sel[V_COUNT];   /* the selected row of each view's list */
	int first[V_COUNT]; /* the first row shown (scrolling) */
	int sort_top, sort_links;
	int paused, help;
	int prompt; /* typing a trace filter into input */
	char input[MODEL_TEXT_MAX + 1];
	char detail[MODEL_NAME_MAX + 1]; /* the detail view's node */

	/* Set by the caller. */
	enum ui_conn conn;
	char host[128];    /* HOST:PORT, as shown */
	char why[128];     /* why the connection is down */
	uint64_t now_ms;   /* wall clock */
	uint64_t retry_ms; /* the next connection attempt, 0: none */
	int trace_pending; /* a trace op is out, no reply yet */
	char trace_msg[MODEL_TEXT_MAX + 1]; /* e.g. the server's error */
	char note[96]; /* shown in the status line, e.g. "thinned links" */

	/* Set by the views: where the list is, for the mouse. */
	int tab_x[V_COUNT + 1];
	int list_y, list_rows, list_count;
	char pick[MODEL_NAME_MAX + 1]; /* the node the selected row is
	                                  about: Enter shows its detail */
};

void ui_init(struct ui *);

/* Draw the whole screen: tabs, the current view, the status line, the
 * prompt and the help. Updates ui's list geometry and scrolling. */
void view_draw(struct grid *, const struct model *, struct ui *);

/* The status line alone into row y (script modes print it too). */
void view_status(struct grid *, const struct model *, const struct ui *, int y);

/* A key (see the K_ values). */
enum ui_action view_key(struct ui *, const struct model *, int key);
/* A click at (x, y) selects a tab or a row. On a double click the caller
 * draws the screen again and then sends K_ENTER (the detail). */
enum ui_action view_click(
    struct ui *, const struct model *, int x, int y, int dbl);

/* The data is stale after this long without a frame. */
uint64_t view_stale_ms(const struct model *);

/* ---- for the view_*.c files ------------------------------------------ */

void view_fabric(
    struct grid *, const struct model *, struct ui *, int y0, int y1);
void view_top(struct grid *, const struct model *, struct ui *, int y0, int y1);
void view_trace(
    struct grid *, const struct model *, struct ui *, int y0, int y1);
void view_holes(
    struct grid *, const struct model *, struct ui *, int y0, int y1);
void view_detail(
    struct grid *, const struct model *, struct ui *, int y0, int y1);

/*
 * Scroll a list of count items into rows rows starting at y: clamps the
 * selection, moves ui->first[v] so that it shows, records the geometry
 * for the mouse. Returns the first item to draw.
 */
int view_list(struct ui *, enum view_id, int count, int y, int rows);
/* Highlight row y as selected (reverse video over the width). */
void view_mark(struct grid *, int y);
/* A centred, dim line of text (for "waiting for ..."). */
void view_note(struct grid *, int y, const char *text);

/* Formatting; each returns buf. NaN prints "-". */
char *fmt_bps(char *buf, size_t len, double bps);    /* 1.23M */
char *fmt_num(char *buf, size_t len, double v);      /* 0.5 12 1.2k */
char *fmt_int(char *buf, size_t len, double v);      /* 42, - */
char *fmt_count(char *buf, size_t len, double v);    /* 6 120 12.3k */
char *fmt_pct(char *buf, size_t len, double pct);    /* 0.4% 45% */
char *fmt_age(char *buf, size_t len, double ms);     /* 5s 3m 2h 4d */
char *fmt_clock(char *buf, size_t len, double ms);   /* HH:MM:SS */
char *fmt_speed(char *buf, size_t len, double mbps); /* 10G 100M */
const char *fmt_proto(char *buf, size_t len, double proto);
const char *view_arrow(const struct grid *); /* "→" or "->" */

#endif
