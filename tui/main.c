/*
 * main.c: fabtop, the console of fabmon. A client of fabmond's /ws that
 * renders what the daemon pushes (it computes nothing itself):
 *
 *   fabtop [--host HOST[:PORT]] [--token T]           the ncurses console
 *   fabtop --trace FILTER [--seconds N] [--json]      hops as lines
 *   fabtop --json [--seconds N]                       raw frames, one a line
 *   fabtop --once [--json]                            one snapshot
 *
 * The frames go through the pure model (model.c), the views draw the
 * model into a grid (view*.c), and this file copies the grid to ncurses,
 * only the cells that changed and only when something changed. The only
 * tui/ file that includes ncurses; conn.c owns libwebsockets and the
 * loop. One thread: everything runs in conn_run()'s callbacks.
 */
#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <langinfo.h>
#include <locale.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include "conn.h"
#include "grid.h"
#include "model.h"
#include "util.h"
#include "view.h"

#define DEFAULT_HOST "127.0.0.1"
#define DEFAULT_PORT 8008
#define PEND_MAX     32 /* topics held while paused */
#define SEEN_MAX     4096
#define THIN_MAX     16 /* topics watched for their cost */
#define THIN_MS      40 /* a frame that costs more thins its topic */

enum mode { M_TUI, M_TRACE, M_JSON, M_ONCE };

static const char *const all_topics[] = {
	"fabric",
	"links",
	"top",
	"blackholes",
	"events",
	"health",
	"ha",
};
#define NTOPICS (sizeof(all_topics) / sizeof(all_topics[0]))

/* A topic's newest frame, held while the display is paused. */
struct pend {
	char topic[MODEL_NAME_MAX + 1];
	char *text;
	size_t len;
	uint64_t rx;
};

/*
 * A topic whose frames cost more than THIN_MS to apply (a fabric of
 * thousands of links) is thinned: after a frame that cost C, the frames
 * of the next 3C are dropped, so that fabtop spends at most a quarter of
 * a core on it. The newest frame always wins, as on the server.
 */
struct thin {
	char topic[MODEL_NAME_MAX + 1];
	uint64_t next; /* monotonic ms; frames before it are dropped */
	uint64_t dropped;
};

struct app {
	enum mode mode;
	struct model *m;
	struct ui u;
	struct conn *c;
	char host[256];
	int port;
	const char *token;
	int json, once, verbose;
	double seconds; /* script modes: stop after this long (0: never) */
	uint64_t t0;    /* start, monotonic ms */
	int rc;         /* the exit status */

	/* requests */
	long long next_id;
	long long trace_op, join_op; /* ids of the ops in flight, or -1 */
	long long following;         /* the trace id followed, or -1 */
	char filter[MODEL_TEXT_MAX + 1];
	int ever_open;

	/* the terminal */
	struct grid *grid, *shown;
	int utf8, color, curses;
	int wake[2];
	int empty_inputs;
	uint64_t drawn_gen;
	uint64_t draws, blits;

	/* paused frames */
	struct pend pend[PEND_MAX];
	size_t npend;
	struct thin thin[THIN_MAX];
	size_t nthin;

	/* --trace: hops printed, as "stage node in out" */
	char **seen;
	size_t nseen;
	int trace_done;

	/* --once: the first frame of each topic */
	char *first[NTOPICS];
	size_t first_len[NTOPICS];
};

/* Signal handlers reach only file-scope state: two flags and the pipe. */
static volatile sig_atomic_t got_quit, got_winch;
static int wake_fd = -1; /* the signal handlers' end of app.wake */

static void
on_signal(int sig)
{
	int e = errno;

	if (sig == SIGWINCH)
		got_winch = 1;
	else
		got_quit = 1;
	if (wake_fd >= 0)
		(void)!write(wake_fd, "", 1);
	errno = e;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: fabtop [--host HOST[:PORT]] [--token T]\n"
	    "       fabtop --trace FILTER [--seconds N] [--json] [--once]\n"
	    "       fabtop --json [--seconds N]\n"
	    "       fabtop --once [--json]\n"
	    "\n"
	    "  --host H[:P]   fabmond's address (default %s:%d)\n"
	    "  --token T      the API token, for traces (or $FABTOP_TOKEN)\n"
	    "  --trace F      print the hops of a trace as they appear, then "
	    "a summary\n"
	    "  --seconds N    stop after N seconds (script modes)\n"
	    "  --json         print the raw frames, one a line\n"
	    "  --once         print the first frame of each topic, then "
	    "exit\n"
	    "  --ascii        no Unicode box and bar characters\n"
	    "  --version      print the version\n"
	    "Keys: 1-5 Tab views, / trace, s sort, p pause, ? help, q quit.\n",
	    DEFAULT_HOST, DEFAULT_PORT);
}

/* ---- requests --------------------------------------------------------- */

static void
send_op(struct app *a, char *text)
{
	if (a->c != NULL)
		(void)conn_send(a->c, text);
	free(text);
}

static void
subscribe(struct app *a)
{
	if (a->mode == M_TRACE)
		return;
	send_op(a, model_op_subscribe(a->next_id++, all_topics, NTOPICS));
}

/* Create a trace of a->filter and follow it once the reply comes. */
static void
trace_create(struct app *a)
{
	a->trace_op = a->next_id++;
	a->u.trace_pending = 1;
	if (a->c != NULL && conn_is_open(a->c))
		send_op(a, model_op_trace(a->trace_op, a->filter, a->token));
}

static void
trace_start(struct app *a, const char *filter)
{
	if (a->following >= 0)
		send_op(a, model_op_untrace(a->next_id++, a->following));
	a->following = -1;
	a->join_op = -1;
	snprintf(a->filter, sizeof(a->filter), "%s", filter);
	model_set_trace(a->m, -1, a->filter);
	a->u.trace_msg[0] = '\0';
	a->nseen = 0;
	trace_create(a);
}

static void
trace_stop(struct app *a)
{
	if (a->following >= 0)
		send_op(a, model_op_untrace(a->next_id++, a->following));
	a->following = -1;
	a->trace_op = a->join_op = -1;
	a->filter[0] = '\0';
	a->u.trace_pending = 0;
	a->u.trace_msg[0] = '\0';
	model_set_trace(a->m, -1, "");
}

static void
on_open(void *arg)
{
	struct app *a = arg;

	a->ever_open = 1;
	a->u.conn = UC_CONNECTED;
	a->u.why[0] = '\0';
	a->u.retry_ms = 0;
	subscribe(a);
	/*
	 * The trace we followed: join it again by its id. After a restart
	 * or a failover the daemon may not know it (an error) or know
	 * another trace by that id (another filter): then create it anew.
	 */
	if (a->following >= 0) {
		a->join_op = a->next_id++;
		send_op(a, model_op_join(a->join_op, a->following, a->token));
	} else if (a->trace_op >= 0 || (a->mode == M_TRACE && !a->trace_done))
		trace_create(a);
}

static void
on_closed(void *arg, const char *why, unsigned retry)
{
	struct app *a = arg;

	a->u.conn = a->ever_open ? UC_DISCONNECTED : UC_CONNECTING;
	model_clean(a->u.why, sizeof(a->u.why), why != NULL ? why : "");
	a->u.retry_ms = now_wall_ms() + retry;
	if (a->verbose && a->mode != M_TUI)
		fprintf(stderr, "fabtop: %s:%d: %s; retry in %.1fs\n", a->host,
		    a->port, a->u.why, retry / 1000.0);
}

/* Replies and errors to our ops. */
static void
on_reply(struct app *a, enum mframe k)
{
	long long id = isnan(k == MF_ERROR ? a->m->error_id : a->m->reply_id)
	    ? -2
	    : (long long)(k == MF_ERROR ? a->m->error_id : a->m->reply_id);

	if (k == MF_REPLY && id == a->trace_op) {
		a->trace_op = -1;
		a->u.trace_pending = 0;
		a->following = (long long)a->m->trace_id;
	} else if (k == MF_REPLY && id == a->join_op) {
		a->join_op = -1;
		if (strcmp(a->m->reply_filter, a->filter) != 0) {
			/* another trace by that id: not ours */
			send_op(
			    a, model_op_untrace(a->next_id++, a->following));
			a->following = -1;
			model_set_trace(a->m, -1, a->filter);
			trace_create(a);
		}
	} else if (k == MF_ERROR && id == a->join_op) {
		a->join_op = -1;
		a->following = -1;
		model_set_trace(a->m, -1, a->filter);
		trace_create(a);
	} else if (k == MF_ERROR && id == a->trace_op) {
		a->trace_op = -1;
		a->u.trace_pending = 0;
		snprintf(a->u.trace_msg, sizeof(a->u.trace_msg),
		    "trace: %.240s", a->m->error);
		if (a->mode == M_TRACE) {
			fprintf(stderr, "fabtop: %s\n", a->u.trace_msg);
			a->rc = 1;
			a->trace_done = 1;
			conn_stop(a->c);
		}
	}
}

/* ---- script modes ----------------------------------------------------- */

/*
 * One frame, one line. A frame with a control byte or bad UTF-8 anywhere
 * (a newline of pretty-printed JSON, or a raw escape sequence a hostile
 * server sent) is written again by jansson, compact and escaped; one that
 * is not JSON is not written at all, so that nothing reaches the terminal
 * unescaped.
 */
static void
print_line(FILE *f, const char *text, size_t len)
{
	json_t *j;
	char *s;
	size_t i;

	for (i = 0; i < len;) {
		const uint8_t *u = (const uint8_t *)text + i;
		size_t l = utf8_seq_len(u, len - i);

		if (l == 0 || *u < 0x20 || *u == 0x7f)
			break;
		i += l;
	}
	if (i == len) {
		fwrite(text, 1, len, f);
		fputc('\n', f);
		fflush(f);
		return;
	}
	j = json_loadb(text, len, 0, NULL);
	if (j == NULL)
		return;
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (s != NULL) {
		fprintf(f, "%s\n", s);
		fflush(f);
	}
	free(s);
}

static const char *
or_dash(const char *s)
{
	return s != NULL && *s != '\0' ? s : "-";
}

static double
elapsed(const struct app *a)
{
	return (double)(now_mono_ms() - a->t0) / 1000;
}

static void
print_hop(const struct app *a, const struct m_hop *h, int summary)
{
	char out[MODEL_NAME_MAX + 20], st[32], ttl[32];

	if (h->discarded)
		snprintf(out, sizeof(out), "discard(%s)", or_dash(h->discard));
	else
		snprintf(out, sizeof(out), "%s",
		    *h->out_port ? h->out_port : or_dash(h->out_if));
	if (!summary)
		printf("%6.2fs ", elapsed(a));
	else
		printf("  ");
	printf("stage %s  %s  in %s from %s  out %s to %s  ttl %s",
	    fmt_int(st, sizeof(st), h->stage), or_dash(h->node),
	    or_dash(h->in_port), or_dash(h->from), out, or_dash(h->to),
	    fmt_int(ttl, sizeof(ttl), h->ttl));
	if (summary)
		printf("  %.1f fps  share %.0f%%", isnan(h->fps) ? 0 : h->fps,
		    isnan(h->share) ? 0 : h->share * 100);
	printf("\n");
}

/* New hops, each printed once as it appears. */
static void
trace_print_new(struct app *a)
{
	const struct model *m = a->m;

	for (size_t i = 0; i < m->nhops; i++) {
		const struct m_hop *h = &m->hops[i];
		char key[4 * MODEL_NAME_MAX + 64];
		int known = 0;

		snprintf(key, sizeof(key), "%g|%s|%s|%s%s", h->stage, h->node,
		    h->in_port, h->discarded ? "!" : "",
		    *h->out_port ? h->out_port : h->out_if);
		for (size_t j = 0; j < a->nseen && !known; j++)
			known = strcmp(a->seen[j], key) == 0;
		if (known || a->nseen == SEEN_MAX)
			continue;
		if (a->seen == NULL)
			a->seen = xcalloc(SEEN_MAX, sizeof(*a->seen));
		a->seen[a->nseen++] = xstrdup(key);
		print_hop(a, h, 0);
	}
	fflush(stdout);
}

static void
trace_summary(struct app *a)
{
	const struct model *m = a->m;
	char b[32];

	if (a->json)
		return;
	printf("# summary after %.1fs: trace %s, %s\n", elapsed(a),
	    m->trace_id >= 0 ? fmt_int(b, sizeof(b), m->trace_id) : "(none)",
	    a->filter);
	if (!m->topic[MT_TRACE].seen || m->nhops == 0) {
		printf("# no matching traffic seen\n");
		fflush(stdout);
		return;
	}
	printf("# %s stages, %.1f fps", fmt_int(b, sizeof(b), m->trace_stages),
	    isnan(m->trace_fps) ? 0 : m->trace_fps);
	if (*m->ingress_node)
		printf(", in %s at %s:%s", or_dash(m->ingress_host),
		    m->ingress_node, m->ingress_port);
	if (*m->egress_node)
		printf(", out %s:%s to %s", m->egress_node, m->egress_port,
		    or_dash(m->egress_host));
	printf("\n");
	if (m->dies)
		printf("# dies at %s (stage %s): %s\n", or_dash(m->dies_node),
		    fmt_int(b, sizeof(b), m->dies_stage),
		    or_dash(m->dies_reason));
	for (size_t i = 0; i < m->nhops; i++)
		print_hop(a, &m->hops[i], 1);
	fflush(stdout);
}

/* --once as text: the views, drawn tall enough for everything. */
static void
once_text(struct app *a)
{
	struct winsize ws;
	int w = 100;
	static const enum view_id vs[] = { V_FABRIC, V_TOP, V_HOLES };

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
		w = ws.ws_col;
	else if (getenv("COLUMNS") != NULL && atoi(getenv("COLUMNS")) >= 40)
		w = atoi(getenv("COLUMNS"));
	a->u.now_ms = now_wall_ms();
	for (size_t i = 0; i < sizeof(vs) / sizeof(vs[0]); i++) {
		struct grid *g = grid_new(w, 500, a->utf8);
		char *s;
		size_t n;

		a->u.view = vs[i];
		switch (vs[i]) {
		case V_FABRIC:
			view_fabric(g, a->m, &a->u, 0, g->h);
			break;
		case V_TOP:
			view_top(g, a->m, &a->u, 0, g->h);
			break;
		default:
			view_holes(g, a->m, &a->u, 0, g->h);
			break;
		}
		/* no selection in a snapshot */
		for (int y = 0; y < g->h; y++)
			for (int x = 0; x < g->w; x++)
				grid_at(g, x, y)->attr &= ~GA_REVERSE;
		s = grid_dump(g);
		n = strlen(s);
		while (n > 0 && s[n - 1] == '\n')
			n--;
		printf("%.*s\n\n", (int)n, s);
		free(s);
		grid_free(g);
	}
	{
		struct grid *g = grid_new(w, 1, a->utf8);
		char *s;

		view_status(g, a->m, &a->u, 0);
		s = grid_dump(g);
		printf("%s", s);
		free(s);
		grid_free(g);
	}
	fflush(stdout);
}

/* ---- the terminal ----------------------------------------------------- */

static int
color_pair_of(int c)
{
	return c > 0 && c < GC_COUNT ? c : 0;
}

static void
curses_start(struct app *a)
{
	initscr();
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(50);
	curs_set(0);
	mousemask(BUTTON1_CLICKED | BUTTON1_DOUBLE_CLICKED, NULL);
	a->color = 0;
	if (has_colors() &&
	    (getenv("NO_COLOR") == NULL || *getenv("NO_COLOR") == '\0')) {
		static const short fg[GC_COUNT] = {
			[GC_GOOD] = COLOR_GREEN,
			[GC_WARN] = COLOR_YELLOW,
			[GC_BAD] = COLOR_RED,
			[GC_INFO] = COLOR_CYAN,
			[GC_ACCENT] = COLOR_MAGENTA,
		};

		start_color();
		use_default_colors();
		for (int i = 1; i < GC_COUNT; i++)
			init_pair((short)i, fg[i], -1);
		a->color = 1;
	}
	a->curses = 1;
}

static void
curses_end(struct app *a)
{
	if (a->curses) {
		endwin();
		a->curses = 0;
	}
}

/* Copy the cells that differ from what the terminal shows. */
static void
blit(struct app *a)
{
	struct grid *g = a->grid, *s = a->shown;
	int full = s == NULL || s->w != g->w || s->h != g->h;

	for (int y = 0; y < g->h; y++)
		for (int x = 0; x < g->w; x++) {
			const struct gcell *c = grid_at(g, x, y);
			const struct gcell *o = full ? NULL : grid_at(s, x, y);
			attr_t at = 0;

			if (o != NULL && o->ch == c->ch && o->attr == c->attr &&
			    o->color == c->color)
				continue;
			if (c->attr & GA_BOLD)
				at |= A_BOLD;
			if (c->attr & GA_REVERSE)
				at |= A_REVERSE;
			if (c->attr & GA_UNDERLINE)
				at |= A_UNDERLINE;
			if (c->attr & GA_DIM)
				at |= a->color ? A_DIM : 0;
			if (a->utf8) {
				wchar_t wc[2] = { (wchar_t)c->ch, 0 };
				cchar_t cc;

				setcchar(&cc, wc, at,
				    (short)(a->color ? color_pair_of(c->color)
				                     : 0),
				    NULL);
				mvadd_wch(y, x, &cc);
			} else {
				chtype ch = c->ch < 0x80 ? c->ch : '?';

				if (a->color)
					at |=
					    COLOR_PAIR(color_pair_of(c->color));
				mvaddch(y, x, ch | at);
			}
		}
	if (full)
		clearok(curscr, TRUE);
	refresh();
	if (a->shown == NULL || full) {
		grid_free(a->shown);
		a->shown = grid_new(g->w, g->h, g->utf8);
	}
	grid_copy(a->shown, g);
	a->blits++;
}

/* Draw the model; touch the terminal only if the screen changed. */
static void
redraw(struct app *a)
{
	if (!a->curses)
		return;
	if (a->grid == NULL || a->grid->w != COLS || a->grid->h != LINES) {
		grid_free(a->grid);
		a->grid = grid_new(COLS, LINES, a->utf8);
	}
	a->u.now_ms = now_wall_ms();
	view_draw(a->grid, a->m, &a->u);
	a->draws++;
	a->drawn_gen = a->m->gen;
	if (!grid_equal(a->grid, a->shown))
		blit(a);
}

static void
resize(struct app *a)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 &&
	    ws.ws_col > 0)
		resizeterm(ws.ws_row, ws.ws_col);
	grid_free(a->shown);
	a->shown = NULL;
	clear();
	redraw(a);
}

static void
act(struct app *a, enum ui_action r)
{
	switch (r) {
	case UA_QUIT:
		got_quit = 1;
		conn_stop(a->c);
		return;
	case UA_PAUSE:
		if (!a->u.paused) {
			/* apply what came meanwhile, in order */
			for (size_t i = 0; i < a->npend; i++) {
				model_apply(a->m, a->pend[i].text,
				    a->pend[i].len, a->pend[i].rx);
				free(a->pend[i].text);
			}
			a->npend = 0;
		}
		break;
	case UA_TRACE:
		trace_start(a, a->u.input);
		break;
	case UA_UNTRACE:
		trace_stop(a);
		break;
	default:
		break;
	}
	if (r != UA_NONE)
		redraw(a);
}

static int
key_of(int ch)
{
	switch (ch) {
	case KEY_UP:
		return K_UP;
	case KEY_DOWN:
		return K_DOWN;
	case KEY_LEFT:
		return K_LEFT;
	case KEY_RIGHT:
		return K_RIGHT;
	case KEY_PPAGE:
		return K_PGUP;
	case KEY_NPAGE:
		return K_PGDN;
	case KEY_HOME:
		return K_HOME;
	case KEY_END:
		return K_END;
	case KEY_ENTER:
	case '\n':
	case '\r':
		return K_ENTER;
	case 27:
		return K_ESC;
	case '\t':
		return K_TAB;
	case KEY_BTAB:
		return K_BTAB;
	case KEY_BACKSPACE:
	case 127:
	case 8:
		return K_BACKSPACE;
	case 21:
		return K_KILL;
	default:
		return ch >= 0x20 && ch < 0x7f ? ch : -1;
	}
}

static void
on_input(void *arg)
{
	struct app *a = arg;
	int ch, any = 0;

	while ((ch = getch()) != ERR) {
		any = 1;
		if (ch == KEY_RESIZE) {
			/* resizeterm()'s own echo of the resize() done on
			 * SIGWINCH: calling it again would loop for ever */
			redraw(a);
		} else if (ch == KEY_MOUSE) {
			MEVENT ev;

			if (getmouse(&ev) == OK) {
				int dbl =
				    (ev.bstate & BUTTON1_DOUBLE_CLICKED) != 0;
				enum ui_action r =
				    view_click(&a->u, a->m, ev.x, ev.y, dbl);

				act(a, r);
				if (dbl && r == UA_DRAW)
					act(a, view_key(&a->u, a->m, K_ENTER));
			}
		} else if (ch == 12) { /* ^L */
			clearok(curscr, TRUE);
			grid_free(a->shown);
			a->shown = NULL;
			redraw(a);
		} else if (key_of(ch) >= 0)
			act(a, view_key(&a->u, a->m, key_of(ch)));
		if (got_quit)
			return;
	}
	/* readable but nothing to read, again and again: the terminal is
	 * gone (EOF); leave rather than spin */
	a->empty_inputs = any ? 0 : a->empty_inputs + 1;
	if (a->empty_inputs > 50) {
		got_quit = 1;
		conn_stop(a->c);
	}
}

/* ---- frames ----------------------------------------------------------- */

static int
topic_index(const char *t)
{
	for (size_t i = 0; i < NTOPICS; i++)
		if (strcmp(t, all_topics[i]) == 0)
			return (int)i;
	return -1;
}

static void
hold(struct app *a, const char *text, size_t len, uint64_t now)
{
	char topic[MODEL_NAME_MAX + 1];
	size_t i;

	model_frame_topic(text, len, topic, sizeof(topic));
	for (i = 0; i < a->npend; i++)
		if (strcmp(a->pend[i].topic, topic) == 0)
			break;
	if (i == a->npend) {
		if (a->npend == PEND_MAX)
			return;
		a->npend++;
		snprintf(
		    a->pend[i].topic, sizeof(a->pend[i].topic), "%s", topic);
	} else
		free(a->pend[i].text);
	a->pend[i].text = xmalloc(len);
	memcpy(a->pend[i].text, text, len);
	a->pend[i].len = len;
	a->pend[i].rx = now;
	a->m->rx_ms = now; /* the data is fresh, only not shown */
}

static int
once_complete(const struct app *a)
{
	for (size_t i = 0; i < NTOPICS; i++)
		if (a->first[i] == NULL)
			return 0;
	return 1;
}

static struct thin *
thin_of(struct app *a, const char *topic)
{
	for (size_t i = 0; i < a->nthin; i++)
		if (strcmp(a->thin[i].topic, topic) == 0)
			return &a->thin[i];
	if (a->nthin == THIN_MAX)
		return NULL;
	snprintf(
	    a->thin[a->nthin].topic, sizeof(a->thin[0].topic), "%s", topic);
	return &a->thin[a->nthin++];
}

/* The status line names the topics being thinned. */
static void
thin_note(struct app *a)
{
	size_t o = 0;

	a->u.note[0] = '\0';
	for (size_t i = 0; i < a->nthin; i++)
		if (a->thin[i].next != 0 && o + 1 < sizeof(a->u.note))
			o += (size_t)snprintf(a->u.note + o,
			    sizeof(a->u.note) - o, "%s%s", o ? "," : "thinned ",
			    a->thin[i].topic);
	if (o >= sizeof(a->u.note))
		a->u.note[sizeof(a->u.note) - 1] = '\0';
}

/*
 * From the hello's push period, in every mode: a connection silent for 2
 * push periods (at least 1.5 s) is given up and made again (after a
 * failover the old master's can stay half-open; the new master answers at
 * the same address).
 */
static void
silence_from_hello(struct app *a, const char *text, size_t len)
{
	json_t *o, *push;
	double p = 1000;

	if (len < 12 || memmem(text, len, "\"hello\"", 7) == NULL ||
	    (o = json_loadb(text, len, 0, NULL)) == NULL)
		return;
	if (json_is_string(json_object_get(o, "t")) &&
	    strcmp(json_string_value(json_object_get(o, "t")), "hello") == 0) {
		push = json_object_get(json_object_get(o, "data"), "pushMs");
		if (json_is_number(push) && json_number_value(push) > 0 &&
		    json_number_value(push) < 3600000)
			p = json_number_value(push);
		conn_set_silence_ms(
		    a->c, p * 2 > 1500 ? (unsigned)(p * 2) : 1500);
	}
	json_decref(o);
}

static void
on_frame(void *arg, const char *text, size_t len)
{
	struct app *a = arg;
	uint64_t now = now_wall_ms(), t0;
	enum mframe k;
	struct thin *th = NULL;

	if (a->json && (a->mode == M_JSON || a->mode == M_TRACE))
		print_line(stdout, text, len);
	silence_from_hello(a, text, len);
	if (a->mode == M_JSON)
		return; /* printed; nothing to show */
	if (a->mode == M_TUI) {
		char t[MODEL_NAME_MAX + 1];

		model_frame_topic(text, len, t, sizeof(t));
		/* topic frames wait while paused; replies are handled now */
		if (t[0] != '\0' && a->u.paused) {
			hold(a, text, len, now);
			return;
		}
		th = t[0] != '\0' ? thin_of(a, t) : NULL;
		if (th != NULL && now_mono_ms() < th->next) {
			th->dropped++;
			a->m->rx_ms = now; /* fresh, only not shown */
			return;
		}
	}
	t0 = now_mono_ms();
	k = model_apply(a->m, text, len, now);
	if (th != NULL) {
		uint64_t cost = now_mono_ms() - t0;

		th->next = cost > THIN_MS ? t0 + 4 * cost : 0;
		thin_note(a);
	}
	if (k == MF_REPLY || k == MF_ERROR)
		on_reply(a, k);
	switch (a->mode) {
	case M_TUI:
		if (a->m->gen != a->drawn_gen || k == MF_ERROR)
			redraw(a);
		break;
	case M_TRACE:
		if (k == MF_EVENT && a->m->topic[MT_TRACE].seen &&
		    a->m->trace_topic[0] != '\0') {
			char t[MODEL_NAME_MAX + 1];

			model_frame_topic(text, len, t, sizeof(t));
			if (strcmp(t, a->m->trace_topic) != 0)
				break;
			if (!a->json)
				trace_print_new(a);
			if (a->once && a->m->nhops > 0) {
				a->trace_done = 1;
				conn_stop(a->c);
			}
		}
		break;
	case M_ONCE:
		if (k == MF_EVENT) {
			char t[MODEL_NAME_MAX + 1];
			int i;

			model_frame_topic(text, len, t, sizeof(t));
			i = topic_index(t);
			if (i >= 0 && a->first[i] == NULL) {
				a->first[i] = xmalloc(len);
				memcpy(a->first[i], text, len);
				a->first_len[i] = len;
			}
			if (once_complete(a))
				conn_stop(a->c);
		}
		break;
	default:
		break;
	}
}

static void
on_wake(void *arg)
{
	struct app *a = arg;

	if (got_quit) {
		conn_stop(a->c);
		return;
	}
	if (got_winch) {
		got_winch = 0;
		if (a->curses)
			resize(a);
	}
}

static void
on_tick(void *arg)
{
	struct app *a = arg;

	if (a->seconds > 0 && elapsed(a) >= a->seconds) {
		conn_stop(a->c);
		return;
	}
	/* the push age and the retry countdown move */
	if (a->mode == M_TUI)
		redraw(a);
}

/* ---- --replay: the golden screens ------------------------------------- */

static int
replay_key(const char *s)
{
	static const struct {
		const char *name;
		int key;
	} names[] = {
		{ "Up", K_UP },
		{ "Down", K_DOWN },
		{ "Left", K_LEFT },
		{ "Right", K_RIGHT },
		{ "PgUp", K_PGUP },
		{ "PgDn", K_PGDN },
		{ "Home", K_HOME },
		{ "End", K_END },
		{ "Enter", K_ENTER },
		{ "Esc", K_ESC },
		{ "Tab", K_TAB },
		{ "BTab", K_BTAB },
		{ "BS", K_BACKSPACE },
		{ "Space", ' ' },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i].name) == 0)
			return names[i].key;
	return strlen(s) == 1 ? (unsigned char)s[0] : -1;
}

/*
 * Frames from a file (one a line) into the model, keys (comma separated:
 * "j,j,Enter"), then one screen of w x h printed as text. now: the clock
 * (default: the last frame's ts).
 */
static int
replay(struct app *a, const char *path, int view, int w, int h,
    const char *keys, double now)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	uint64_t ts = 0;
	struct grid *g;
	char *s;
	const char *base = strrchr(path, '/');

	if (f == NULL) {
		fprintf(stderr, "fabtop: %s: %s\n", path, strerror(errno));
		return 1;
	}
	while ((n = getline(&line, &cap, f)) > 0) {
		json_t *j = json_loadb(line, (size_t)n, 0, NULL);
		const json_t *t = json_object_get(j, "ts");

		if (json_is_integer(t) && json_integer_value(t) > 0)
			ts = (uint64_t)json_integer_value(t);
		json_decref(j);
		model_apply(a->m, line, (size_t)n, ts);
	}
	free(line);
	fclose(f);
	a->u.conn = UC_REPLAY;
	snprintf(
	    a->u.host, sizeof(a->u.host), "%s", base != NULL ? base + 1 : path);
	a->u.view = (enum view_id)(view - 1);
	g = grid_new(w, h, a->utf8);
	a->u.now_ms = now > 0 ? (uint64_t)now : ts;
	view_draw(g, a->m, &a->u);
	if (keys != NULL) {
		char *copy = xstrdup(keys), *save = NULL;

		for (char *k = strtok_r(copy, ",", &save); k != NULL;
		     k = strtok_r(NULL, ",", &save)) {
			int key = replay_key(k);

			if (key < 0) {
				fprintf(
				    stderr, "fabtop: unknown key '%s'\n", k);
				free(copy);
				grid_free(g);
				return 2;
			}
			if (view_key(&a->u, a->m, key) == UA_TRACE)
				model_set_trace(a->m, -1, a->u.input);
			view_draw(g, a->m, &a->u);
		}
		free(copy);
	}
	s = grid_dump(g);
	fputs(s, stdout);
	free(s);
	grid_free(g);
	return 0;
}

/* ---- main ------------------------------------------------------------- */

static int
parse_host(struct app *a, const char *arg)
{
	const char *colon;
	char *end;
	long p;

	if (arg[0] == '[') {
		const char *rb = strchr(arg, ']');

		if (rb == NULL || rb - arg - 1 <= 0 ||
		    (size_t)(rb - arg - 1) >= sizeof(a->host))
			return -1;
		snprintf(a->host, sizeof(a->host), "%.*s", (int)(rb - arg - 1),
		    arg + 1);
		colon = rb[1] == ':' ? rb + 1 : NULL;
		if (rb[1] != '\0' && colon == NULL)
			return -1;
	} else {
		colon = strrchr(arg, ':');
		if (colon != NULL && strchr(arg, ':') != colon)
			colon = NULL; /* a bare IPv6 address */
		if (colon != NULL)
			snprintf(a->host, sizeof(a->host), "%.*s",
			    (int)(colon - arg), arg);
		else
			snprintf(a->host, sizeof(a->host), "%s", arg);
	}
	if (a->host[0] == '\0')
		return -1;
	if (colon != NULL) {
		errno = 0;
		p = strtol(colon + 1, &end, 10);
		if (errno != 0 || *end != '\0' || p < 1 || p > 65535)
			return -1;
		a->port = (int)p;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct app a;
	struct conn_opts co;
	struct conn_hooks hooks = { 0 };
	struct sigaction sa;
	const char *trace = NULL, *replay_path = NULL, *keys = NULL;
	int view = 1, rw = 80, rh = 24, ascii = 0, dump = 0;
	double now = 0;
	char err[256];

	memset(&a, 0, sizeof(a));
	a.port = DEFAULT_PORT;
	snprintf(a.host, sizeof(a.host), "%s", DEFAULT_HOST);
	a.token = getenv("FABTOP_TOKEN");
	a.trace_op = a.join_op = a.following = -1;
	a.next_id = 1;
	a.wake[0] = a.wake[1] = -1;
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

#define NEEDARG                                                                \
	do {                                                                   \
		if (v == NULL) {                                               \
			fprintf(stderr, "fabtop: %s needs a value\n", o);      \
			return 2;                                              \
		}                                                              \
		i++;                                                           \
	} while (0)
		if (strcmp(o, "--host") == 0) {
			NEEDARG;
			if (parse_host(&a, v) != 0) {
				fprintf(stderr,
				    "fabtop: --host %s: not HOST[:PORT]\n", v);
				return 2;
			}
		} else if (strcmp(o, "--token") == 0) {
			NEEDARG;
			a.token = v;
		} else if (strcmp(o, "--trace") == 0) {
			NEEDARG;
			trace = v;
		} else if (strcmp(o, "--seconds") == 0) {
			char *end;

			NEEDARG;
			a.seconds = strtod(v, &end);
			if (*end != '\0' || !(a.seconds > 0)) {
				fprintf(stderr,
				    "fabtop: --seconds %s: not a number > 0\n",
				    v);
				return 2;
			}
		} else if (strcmp(o, "--json") == 0)
			a.json = 1;
		else if (strcmp(o, "--once") == 0)
			a.once = 1;
		else if (strcmp(o, "--ascii") == 0)
			ascii = 1;
		else if (strcmp(o, "-v") == 0)
			a.verbose = 1;
		else if (strcmp(o, "--replay") == 0) {
			NEEDARG;
			replay_path = v;
		} else if (strcmp(o, "--view") == 0) {
			NEEDARG;
			view = atoi(v);
		} else if (strcmp(o, "--size") == 0) {
			NEEDARG;
			if (sscanf(v, "%dx%d", &rw, &rh) != 2) {
				fprintf(stderr, "fabtop: --size WxH\n");
				return 2;
			}
		} else if (strcmp(o, "--keys") == 0) {
			NEEDARG;
			keys = v;
		} else if (strcmp(o, "--now") == 0) {
			NEEDARG;
			now = strtod(v, NULL);
		} else if (strcmp(o, "--dump") == 0)
			dump = 1;
		else if (strcmp(o, "--version") == 0) {
			printf("fabtop 0.1.0\n");
			return 0;
		} else if (strcmp(o, "-h") == 0 || strcmp(o, "--help") == 0) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "fabtop: unknown argument %s\n", o);
			usage(stderr);
			return 2;
		}
#undef NEEDARG
	}
	setlocale(LC_ALL, "");
	a.utf8 = !ascii && strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
	a.m = model_new();
	ui_init(&a.u);
	if (strchr(a.host, ':') != NULL)
		snprintf(
		    a.u.host, sizeof(a.u.host), "[%.100s]:%d", a.host, a.port);
	else
		snprintf(
		    a.u.host, sizeof(a.u.host), "%.100s:%d", a.host, a.port);

	if (replay_path != NULL) {
		int r;

		(void)dump; /* --dump is the only output of --replay */
		if (view < 1 || view > V_COUNT || rw < 1 || rh < 1) {
			fprintf(stderr, "fabtop: bad --view or --size\n");
			return 2;
		}
		r = replay(&a, replay_path, view, rw, rh, keys, now);
		model_free(a.m);
		return r;
	}
	a.mode = trace != NULL ? M_TRACE
	    : a.once           ? M_ONCE
	    : a.json           ? M_JSON
	                       : M_TUI;
	if (a.mode == M_TUI &&
	    (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))) {
		fprintf(stderr,
		    "fabtop: not a terminal (use --json, --once or "
		    "--trace for scripts)\n");
		return 2;
	}
	if (a.mode == M_ONCE && a.seconds == 0)
		a.seconds = 10;
	if (trace != NULL) {
		snprintf(a.filter, sizeof(a.filter), "%s", trace);
		model_set_trace(a.m, -1, a.filter);
	}

	/* Signals wake the loop through a pipe; handlers before initscr()
	 * so that ncurses leaves SIGWINCH and SIGINT to us. */
	if (pipe(a.wake) != 0) {
		fprintf(stderr, "fabtop: pipe: %s\n", strerror(errno));
		return 1;
	}
	for (int i = 0; i < 2; i++) {
		fcntl(
		    a.wake[i], F_SETFL, fcntl(a.wake[i], F_GETFL) | O_NONBLOCK);
		fcntl(a.wake[i], F_SETFD, FD_CLOEXEC);
	}
	wake_fd = a.wake[1];
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGWINCH, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	memset(&co, 0, sizeof(co));
	co.host = a.host;
	co.port = a.port;
	co.token = a.token;
	co.input_fd = a.mode == M_TUI ? STDIN_FILENO : -1;
	co.wake_fd = a.wake[0];
	co.tick_ms = 1000;
	co.verbose = a.verbose;
	hooks.arg = &a;
	hooks.opened = on_open;
	hooks.closed = on_closed;
	hooks.frame = on_frame;
	hooks.input = on_input;
	hooks.wake = on_wake;
	hooks.tick = on_tick;
	a.t0 = now_mono_ms();
	if (a.mode == M_TUI)
		curses_start(&a);
	a.c = conn_new(&co, &hooks, err, sizeof(err));
	if (a.c == NULL) {
		curses_end(&a);
		fprintf(stderr, "fabtop: %s\n", err);
		return 1;
	}
	if (a.mode == M_TRACE && !a.json)
		printf("# trace %s on %s\n", a.filter, a.u.host);
	if (a.mode == M_TUI)
		redraw(&a);
	conn_run(a.c);
	curses_end(&a);

	switch (a.mode) {
	case M_TRACE:
		if (!a.ever_open) {
			fprintf(stderr, "fabtop: %s: %s\n", a.u.host,
			    a.u.why[0] ? a.u.why : "could not connect");
			a.rc = 1;
		}
		if (a.u.trace_msg[0] == '\0')
			trace_summary(&a);
		/* a trace we created: the daemon lets it expire */
		break;
	case M_ONCE:
		if (!a.ever_open) {
			fprintf(stderr, "fabtop: %s: %s\n", a.u.host,
			    a.u.why[0] ? a.u.why : "could not connect");
			a.rc = 1;
			break;
		}
		if (a.json) {
			for (size_t i = 0; i < NTOPICS; i++)
				if (a.first[i] != NULL)
					print_line(
					    stdout, a.first[i], a.first_len[i]);
		} else
			once_text(&a);
		if (!once_complete(&a))
			fprintf(stderr, "fabtop: not every topic came\n");
		break;
	case M_JSON:
		if (!a.ever_open) {
			fprintf(stderr, "fabtop: %s: %s\n", a.u.host,
			    a.u.why[0] ? a.u.why : "could not connect");
			a.rc = 1;
		}
		break;
	default:
		if (a.verbose)
			fprintf(stderr,
			    "fabtop: %llu frames, %llu bad, %llu draws, %llu "
			    "screen updates\n",
			    (unsigned long long)a.m->frames,
			    (unsigned long long)a.m->bad,
			    (unsigned long long)a.draws,
			    (unsigned long long)a.blits);
		break;
	}
	conn_free(a.c);
	for (size_t i = 0; i < a.npend; i++)
		free(a.pend[i].text);
	for (size_t i = 0; i < a.nseen; i++)
		free(a.seen[i]);
	free(a.seen);
	for (size_t i = 0; i < NTOPICS; i++)
		free(a.first[i]);
	grid_free(a.grid);
	grid_free(a.shown);
	model_free(a.m);
	close(a.wake[0]);
	close(a.wake[1]);
	return a.rc;
}
