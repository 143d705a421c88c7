/*
 * grid.c: the cell grid the views draw into (see grid.h). PURE: no I/O,
 * no curses; the text dump is how the golden tests see a screen. Runs on
 * fabtop's main thread.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grid.h"
#include "util.h"

#define GRID_W_MAX 1000
#define GRID_H_MAX 500

static const uint32_t glyph_utf8[G_COUNT_] = {
	[G_HLINE] = 0x2500,
	[G_VLINE] = 0x2502,
	[G_TL] = 0x250c,
	[G_TR] = 0x2510,
	[G_BL] = 0x2514,
	[G_BR] = 0x2518,
	[G_TEE] = 0x251c,
	[G_ELBOW] = 0x2514,
	[G_FULL] = 0x2588,
	[G_EMPTY] = 0x00b7,
	[G_DOT] = 0x25cf,
	[G_CROSS] = 0x2716,
	[G_UP] = 0x25bc,
};
static const uint32_t glyph_ascii[G_COUNT_] = {
	[G_HLINE] = '-',
	[G_VLINE] = '|',
	[G_TL] = '+',
	[G_TR] = '+',
	[G_BL] = '+',
	[G_BR] = '+',
	[G_TEE] = '|',
	[G_ELBOW] = '`',
	[G_FULL] = '#',
	[G_EMPTY] = '.',
	[G_DOT] = '*',
	[G_CROSS] = 'X',
	[G_UP] = 'v',
};

struct grid *
grid_new(int w, int h, int utf8)
{
	struct grid *g = xcalloc(1, sizeof(*g));

	g->w = w < 1 ? 1 : w > GRID_W_MAX ? GRID_W_MAX : w;
	g->h = h < 1 ? 1 : h > GRID_H_MAX ? GRID_H_MAX : h;
	g->utf8 = utf8 != 0;
	g->cells = xcalloc((size_t)g->w * (size_t)g->h, sizeof(*g->cells));
	grid_clear(g);
	return g;
}

void
grid_free(struct grid *g)
{
	if (g == NULL)
		return;
	free(g->cells);
	free(g);
}

void
grid_clear(struct grid *g)
{
	size_t n = (size_t)g->w * (size_t)g->h;

	for (size_t i = 0; i < n; i++) {
		g->cells[i].ch = ' ';
		g->cells[i].attr = 0;
		g->cells[i].color = GC_DEFAULT;
	}
}

int
grid_equal(const struct grid *a, const struct grid *b)
{
	if (a == NULL || b == NULL || a->w != b->w || a->h != b->h)
		return 0;
	return memcmp(a->cells, b->cells,
	           (size_t)a->w * (size_t)a->h * sizeof(*a->cells)) == 0;
}

void
grid_copy(struct grid *a, const struct grid *b)
{
	if (a->w != b->w || a->h != b->h)
		return;
	memcpy(a->cells, b->cells,
	    (size_t)a->w * (size_t)a->h * sizeof(*a->cells));
	a->utf8 = b->utf8;
}

struct gcell *
grid_at(struct grid *g, int x, int y)
{
	if (x < 0 || y < 0 || x >= g->w || y >= g->h)
		return NULL;
	return &g->cells[(size_t)y * (size_t)g->w + (size_t)x];
}

void
grid_put(struct grid *g, int x, int y, uint32_t ch, int attr, int color)
{
	struct gcell *c = grid_at(g, x, y);

	if (c == NULL)
		return;
	c->ch = ch;
	c->attr = (uint8_t)attr;
	c->color = (uint8_t)(color >= 0 && color < GC_COUNT ? color : 0);
}

uint32_t
grid_glyph(const struct grid *g, enum glyph k)
{
	if (k < 0 || k >= G_COUNT_)
		return '?';
	return g->utf8 ? glyph_utf8[k] : glyph_ascii[k];
}

uint32_t
grid_utf8_next(const char *s, size_t *len)
{
	const uint8_t *u = (const uint8_t *)s;
	size_t n = 0, l;
	uint32_t cp;

	while (n < 4 && u[n] != '\0')
		n++;
	if (n == 0) {
		*len = 1;
		return 0;
	}
	l = utf8_seq_len(u, n);
	if (l == 0) {
		*len = 1;
		return 0xfffd;
	}
	*len = l;
	if (l == 1)
		return u[0];
	cp = u[0] & (l == 2 ? 0x1f : l == 3 ? 0x0f : 0x07);
	for (size_t i = 1; i < l; i++)
		cp = cp << 6 | (u[i] & 0x3f);
	return cp;
}

/*
 * Code points drawn as they are: those known to take exactly one column
 * in every UTF-8 terminal (no combining marks, no wide East Asian ones,
 * no controls). Anything else from the network shows as '?', so that a
 * name can never shift the columns after it.
 */
static int
narrow(uint32_t cp, int utf8)
{
	if (cp >= 0x20 && cp < 0x7f)
		return 1;
	if (!utf8)
		return 0;
	return (cp >= 0xa0 && cp <= 0x2ff) || /* Latin-1, Latin ext. */
	    (cp >= 0x370 && cp <= 0x482) ||   /* Greek, Cyrillic */
	    (cp >= 0x48a && cp <= 0x52f) ||   /* (no Cyrillic marks) */
	    (cp >= 0x2010 && cp <= 0x2027) || /* dashes, quotes, ... */
	    (cp >= 0x2190 && cp <= 0x21ff) || /* arrows */
	    (cp >= 0x2500 && cp <= 0x25ff) || /* box, blocks, shapes */
	    (cp >= 0x2713 && cp <= 0x2718);   /* check and cross marks */
}

static uint32_t
shown(uint32_t cp, int utf8)
{
	return narrow(cp, utf8) ? cp : '?';
}

int
grid_text_width(const struct grid *g, const char *s)
{
	int n = 0;

	(void)g;
	if (s == NULL)
		return 0;
	while (*s != '\0') {
		size_t l;

		(void)grid_utf8_next(s, &l);
		s += l;
		n++;
	}
	return n;
}

int
grid_text(
    struct grid *g, int x, int y, int maxw, int attr, int color, const char *s)
{
	int w, n = 0;

	if (s == NULL)
		return 0;
	if (maxw < 0 || x + maxw > g->w)
		maxw = g->w - x;
	if (maxw <= 0)
		return 0;
	w = grid_text_width(g, s);
	while (*s != '\0' && n < maxw) {
		size_t l;
		uint32_t cp = grid_utf8_next(s, &l);

		if (n == maxw - 1 && w > maxw) {
			/* cut short: the last column says so */
			grid_put(
			    g, x + n, y, g->utf8 ? 0x2026 : '~', attr, color);
			return maxw;
		}
		grid_put(g, x + n, y, shown(cp, g->utf8), attr, color);
		s += l;
		n++;
	}
	return n;
}

int
grid_printf(struct grid *g, int x, int y, int maxw, int attr, int color,
    const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return grid_text(g, x, y, maxw, attr, color, buf);
}

int
grid_rtext(
    struct grid *g, int x, int y, int w, int attr, int color, const char *s)
{
	int n = grid_text_width(g, s);

	if (n >= w)
		grid_text(g, x, y, w, attr, color, s);
	else
		grid_text(g, x + w - n, y, n, attr, color, s);
	return w;
}

void
grid_style(struct grid *g, int x, int y, int w, int attr, int color)
{
	for (int i = 0; i < w; i++) {
		struct gcell *c = grid_at(g, x + i, y);

		if (c != NULL) {
			c->attr = (uint8_t)attr;
			c->color = (uint8_t)color;
		}
	}
}

void
grid_fill(struct grid *g, int x, int y, int w, uint32_t ch, int attr, int color)
{
	for (int i = 0; i < w; i++)
		grid_put(g, x + i, y, ch, attr, color);
}

void
grid_hline(struct grid *g, int x, int y, int w, int attr, int color)
{
	grid_fill(g, x, y, w, grid_glyph(g, G_HLINE), attr, color);
}

void
grid_box(struct grid *g, int x, int y, int w, int h, int attr, int color)
{
	if (w < 2 || h < 2)
		return;
	for (int j = 1; j < h - 1; j++) {
		grid_fill(g, x + 1, y + j, w - 2, ' ', 0, GC_DEFAULT);
		grid_put(g, x, y + j, grid_glyph(g, G_VLINE), attr, color);
		grid_put(
		    g, x + w - 1, y + j, grid_glyph(g, G_VLINE), attr, color);
	}
	grid_hline(g, x + 1, y, w - 2, attr, color);
	grid_hline(g, x + 1, y + h - 1, w - 2, attr, color);
	grid_put(g, x, y, grid_glyph(g, G_TL), attr, color);
	grid_put(g, x + w - 1, y, grid_glyph(g, G_TR), attr, color);
	grid_put(g, x, y + h - 1, grid_glyph(g, G_BL), attr, color);
	grid_put(g, x + w - 1, y + h - 1, grid_glyph(g, G_BR), attr, color);
}

void
grid_bar(struct grid *g, int x, int y, int w, double pct, int color)
{
	double cells;
	int full, eighths;

	if (w <= 0)
		return;
	if (!(pct >= 0)) /* NaN: unknown, an empty bar */
		pct = 0;
	if (pct > 100)
		pct = 100;
	if (color == GC_DEFAULT)
		color = pct >= 80 ? GC_BAD : pct >= 50 ? GC_WARN : GC_GOOD;
	cells = pct / 100.0 * w;
	full = (int)floor(cells);
	eighths = (int)floor((cells - full) * 8);
	if (full == 0 && eighths == 0 && pct > 0)
		eighths = 1; /* any traffic at all shows */
	for (int i = 0; i < w; i++) {
		uint32_t ch;
		int c = color;

		if (i < full)
			ch = grid_glyph(g, G_FULL);
		else if (i == full && eighths > 0)
			/* U+258F is one eighth ... U+2589 seven eighths */
			ch = g->utf8 ? 0x2590 - (uint32_t)eighths
			             : (eighths >= 4 ? '#' : ':');
		else {
			ch = grid_glyph(g, G_EMPTY);
			c = GC_DEFAULT;
		}
		grid_put(g, x + i, y, ch, c == GC_DEFAULT ? GA_DIM : 0, c);
	}
}

static size_t
put_utf8(char *p, uint32_t cp)
{
	if (cp < 0x80) {
		p[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		p[0] = (char)(0xc0 | cp >> 6);
		p[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		p[0] = (char)(0xe0 | cp >> 12);
		p[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		p[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	p[0] = (char)(0xf0 | cp >> 18);
	p[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	p[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	p[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

char *
grid_dump(const struct grid *g)
{
	char *out = xmalloc((size_t)g->h * ((size_t)g->w * 4 + 1) + 1);
	char *p = out;

	for (int y = 0; y < g->h; y++) {
		char *line = p, *end = p;

		for (int x = 0; x < g->w; x++) {
			uint32_t cp =
			    g->cells[(size_t)y * (size_t)g->w + (size_t)x].ch;

			if (!g->utf8 && cp >= 0x80)
				cp = '?';
			p += put_utf8(p, cp);
			if (cp != ' ')
				end = p;
		}
		p = end > line ? end : line;
		*p++ = '\n';
	}
	*p = '\0';
	return out;
}
