/*
 * rollup.c: per-minute link rollups; see rollup.h. PURE.
 *
 * Rows live in an array, found through an open-addressing index on
 * (minute, link, dir); rollup_take() moves the ended minutes out and
 * rebuilds the index of what is left (a minute's worth of rows).
 */
#include <stdlib.h>
#include <string.h>

#include "rollup.h"
#include "util.h"

struct rollup {
	struct store_link_minute *rows;
	size_t n, max;
	uint32_t *idx; /* row + 1, 0 empty */
	size_t mask;
	uint64_t refused;
};

static uint64_t
row_hash(int64_t minute, const char *link, uint8_t dir)
{
	uint64_t h =
	    siphash13(0x726f6c6c7570ull, (uint64_t)minute, link, strlen(link));

	return h ^ dir;
}

static void
reindex(struct rollup *r)
{
	memset(r->idx, 0, (r->mask + 1) * sizeof(*r->idx));
	for (size_t i = 0; i < r->n; i++) {
		const struct store_link_minute *w = &r->rows[i];
		size_t j = row_hash(w->minute, w->link, w->dir) & r->mask;

		while (r->idx[j] != 0)
			j = (j + 1) & r->mask;
		r->idx[j] = (uint32_t)i + 1;
	}
}

struct rollup *
rollup_new(size_t max_rows)
{
	struct rollup *r = xcalloc(1, sizeof(*r));
	size_t cap = 16;

	while (cap < max_rows * 2)
		cap *= 2;
	r->max = max_rows;
	r->rows = xcalloc(max_rows ? max_rows : 1, sizeof(*r->rows));
	r->idx = xcalloc(cap, sizeof(*r->idx));
	r->mask = cap - 1;
	return r;
}

void
rollup_free(struct rollup *r)
{
	if (r == NULL)
		return;
	free(r->rows);
	free(r->idx);
	free(r);
}

static struct store_link_minute *
row_get(struct rollup *r, const struct rollup_in *in, int64_t minute)
{
	size_t j = row_hash(minute, in->link, in->dir) & r->mask;
	struct store_link_minute *w;

	for (; r->idx[j] != 0; j = (j + 1) & r->mask) {
		w = &r->rows[r->idx[j] - 1];
		if (w->minute == minute && w->dir == in->dir &&
		    strcmp(w->link, in->link) == 0)
			return w;
	}
	if (r->n >= r->max)
		return NULL;
	w = &r->rows[r->n];
	memset(w, 0, sizeof(*w));
	w->minute = minute;
	w->dir = in->dir;
	snprintf(w->link, sizeof(w->link), "%s", in->link);
	snprintf(w->node1, sizeof(w->node1), "%s", in->node1);
	snprintf(w->port1, sizeof(w->port1), "%s", in->port1);
	snprintf(w->node2, sizeof(w->node2), "%s", in->node2);
	snprintf(w->port2, sizeof(w->port2), "%s", in->port2);
	w->util_max = -1;
	r->idx[j] = (uint32_t)++r->n;
	return w;
}

static void
acc(double *sum, double rate, double s)
{
	if (rate >= 0)
		*sum += rate * s;
}

int
rollup_add(struct rollup *r, const struct rollup_in *in, uint64_t t0_ms,
    uint64_t t1_ms)
{
	int rc = 0;

	while (t0_ms < t1_ms) {
		int64_t minute = (int64_t)(t0_ms / 60000) * 60;
		uint64_t end = (uint64_t)(minute + 60) * 1000;
		uint64_t e = t1_ms < end ? t1_ms : end;
		double s = (double)(e - t0_ms) / 1000.0;
		struct store_link_minute *w = row_get(r, in, minute);

		if (w == NULL) {
			r->refused++;
			rc = -1;
		} else {
			acc(&w->bytes, in->bytes_s, s);
			acc(&w->packets, in->packets_s, s);
			acc(&w->discards, in->discards_s, s);
			acc(&w->errors, in->errors_s, s);
			if (in->util > w->util_max)
				w->util_max = in->util;
			if (in->speed_bps > 0)
				w->speed_bps = in->speed_bps;
			snprintf(w->source, sizeof(w->source), "%s",
			    in->source ? in->source : "");
		}
		t0_ms = e;
	}
	return rc;
}

static int
row_cmp(const void *a, const void *b)
{
	const struct store_link_minute *x = a, *y = b;
	int c;

	if (x->minute != y->minute)
		return x->minute < y->minute ? -1 : 1;
	if ((c = strcmp(x->link, y->link)) != 0)
		return c;
	return (int)x->dir - (int)y->dir;
}

size_t
rollup_take(struct rollup *r, uint64_t now_ms, struct store_link_minute **out)
{
	size_t k = 0, keep = 0;

	*out = xcalloc(r->n + 1, sizeof(**out));
	for (size_t i = 0; i < r->n; i++) {
		if ((uint64_t)(r->rows[i].minute + 60) * 1000 <= now_ms)
			(*out)[k++] = r->rows[i];
		else
			r->rows[keep++] = r->rows[i];
	}
	r->n = keep;
	reindex(r);
	qsort(*out, k, sizeof(**out), row_cmp);
	return k;
}

uint64_t
rollup_refused(const struct rollup *r)
{
	return r->refused;
}
