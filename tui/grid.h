/*
 * grid.h: a screen as a grid of cells (a character, attributes, a colour
 * index). PURE: the views draw into a grid, tui/main.c copies it to
 * ncurses, and the golden tests print it as text. Not thread-safe; one
 * owner (fabtop's main thread).
 */
#ifndef FABMON_GRID_H
#define FABMON_GRID_H

#include <stddef.h>
#include <stdint.h>

/* Attributes: a bit set. */
enum {
	GA_BOLD = 1,
	GA_REVERSE = 2,
	GA_UNDERLINE = 4,
	GA_DIM = 8,
};

/* Colour indexes; main.c maps them to colour pairs, or to nothing. */
enum gcolor {
	GC_DEFAULT,
	GC_GOOD,   /* green: up, connected, low utilisation */
	GC_WARN,   /* yellow: busy, backup, stale */
	GC_BAD,    /* red: down, discards, black holes, errors */
	GC_INFO,   /* cyan: headings, hosts */
	GC_ACCENT, /* magenta: elephants, the selected tab */
	GC_COUNT,
};

/* Glyphs with a Unicode and an ASCII form. */
enum glyph {
	G_HLINE,
	G_VLINE,
	G_TL,
	G_TR,
	G_BL,
	G_BR,
	G_TEE,   /* an ECMP branch: ├ or | */
	G_ELBOW, /* the last branch: └ or ` */
	G_FULL,  /* a full bar cell */
	G_EMPTY, /* an empty bar cell */
	G_DOT,   /* a status dot */
	G_CROSS, /* a failure mark */
	G_UP,    /* sort descending mark */
	G_COUNT_,
};

struct gcell {
	uint32_t ch; /* a code point of width 1 */
	uint8_t attr;
	uint8_t color;
};

struct grid {
	int w, h;
	int utf8; /* 0: ASCII only (the locale is not UTF-8) */
	struct gcell *cells;
};

/* A w x h grid of blanks (w, h >= 1; larger ones are cut to 1000x500). */
struct grid *grid_new(int w, int h, int utf8);
void grid_free(struct grid *);
void grid_clear(struct grid *);
/* 1 if both have the same size and cells. */
int grid_equal(const struct grid *, const struct grid *);
/* Copy b into a (same size). */
void grid_copy(struct grid *a, const struct grid *b);

/* The cell at (x, y), or NULL outside. */
struct gcell *grid_at(struct grid *, int x, int y);
void grid_put(struct grid *, int x, int y, uint32_t ch, int attr, int color);
uint32_t grid_glyph(const struct grid *, enum glyph);

/*
 * Write UTF-8 text at (x, y), at most maxw columns (maxw < 0: to the right
 * edge). Code points that are not known to be one column wide, control
 * characters and (in ASCII mode) anything not ASCII are drawn as '?'. A
 * string cut short ends with an ellipsis. Returns the columns written.
 */
int grid_text(
    struct grid *, int x, int y, int maxw, int attr, int color, const char *s);
int grid_printf(struct grid *, int x, int y, int maxw, int attr, int color,
    const char *fmt, ...) __attribute__((format(printf, 7, 8)));
/* The columns that grid_text() would use for s, without a limit. */
int grid_text_width(const struct grid *, const char *s);
/* Right-aligned in [x, x+w). Returns w. */
int grid_rtext(
    struct grid *, int x, int y, int w, int attr, int color, const char *s);

/* Set the attributes and colour of w cells (the characters stay). */
void grid_style(struct grid *, int x, int y, int w, int attr, int color);
/* w cells of ch. */
void grid_fill(
    struct grid *, int x, int y, int w, uint32_t ch, int attr, int color);
void grid_hline(struct grid *, int x, int y, int w, int attr, int color);
/* A frame around [x, x+w) x [y, y+h), its inside blanked. */
void grid_box(struct grid *, int x, int y, int w, int h, int attr, int color);
/*
 * A bar of w cells filled to pct (0..100) percent, with eighths of a cell
 * in Unicode mode. Any traffic above 0 shows at least a sliver. The
 * colour follows the level (good, busy at 50, bad at 80) unless color is
 * not GC_DEFAULT.
 */
void grid_bar(struct grid *, int x, int y, int w, double pct, int color);

/*
 * The grid as text: one line per row, trailing blanks removed, UTF-8 or
 * ASCII. Returns a malloc'ed string the caller frees.
 */
char *grid_dump(const struct grid *);

/* Decode one UTF-8 code point at s (NUL-terminated); sets *len (>= 1).
 * Invalid bytes give 0xfffd with *len 1. */
uint32_t grid_utf8_next(const char *s, size_t *len);

#endif
