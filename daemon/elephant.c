/*
 * elephant.c: elephants and ECMP collisions; see elephant.h. Pure.
 */
#include <stdlib.h>
#include <string.h>

#include "elephant.h"

static int
dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y ? 1 : 0;
}

size_t
elephant_thresholds(
    const double *speeds, size_t n, int pct, struct elephant_threshold *out)
{
	double *s = malloc((n ? n : 1) * sizeof(*s));
	size_t m = 0, k = 0;

	if (s == NULL)
		abort();
	for (size_t i = 0; i < n; i++)
		if (speeds[i] > 0)
			s[m++] = speeds[i];
	qsort(s, m, sizeof(*s), dbl_cmp);
	for (size_t i = 0; i < m; i++) {
		if (k > 0 && out[k - 1].speed_bps == s[i])
			continue;
		out[k].speed_bps = s[i];
		out[k].bps = s[i] * pct / 100.0;
		k++;
	}
	free(s);
	return k;
}

bool
elephant_is(double bps, double speed_bps, int pct)
{
	return speed_bps > 0 && bps > 0 && bps >= speed_bps * pct / 100.0;
}

static bool
is_elephant(const char *key, const char *const *el, size_t ne)
{
	size_t lo = 0, hi = ne;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(el[mid], key);

		if (c == 0)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static void
copy(char *dst, size_t len, const char *src)
{
	size_t n = strlen(src);

	if (n >= len)
		n = len - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

size_t
elephant_collisions(const struct elephant_dir *dirs, size_t n_dirs,
    int busy_pct, const struct elephant_seen *seen, size_t n_seen,
    const char *const *elephants, size_t ne, struct elephant_coll *out,
    size_t max)
{
	size_t n = 0;

	for (size_t d = 0; d < n_dirs && n < max; d++) {
		const struct elephant_dir *dir = &dirs[d];
		struct elephant_coll *c = &out[n];

		if (dir->utilization < busy_pct || dir->utilization < 0)
			continue;
		memset(c, 0, sizeof(*c));
		for (size_t s = 0; s < n_seen; s++) {
			bool dup = false;

			if (strcmp(seen[s].link, dir->link) != 0 ||
			    strcmp(seen[s].node, dir->to) != 0 ||
			    !is_elephant(seen[s].key, elephants, ne))
				continue;
			/* the same flow may be listed twice (two samples'
			 * sources): count distinct keys */
			for (unsigned k = 0; k < c->n_keys && !dup; k++)
				dup = strncmp(c->keys[k], seen[s].key,
				          ELEPHANT_KEY_MAX - 1) == 0;
			if (dup)
				continue;
			if (c->n_keys < ELEPHANT_PER_COLL)
				copy(c->keys[c->n_keys++], ELEPHANT_KEY_MAX,
				    seen[s].key);
			c->elephants++;
		}
		if (c->elephants < 2)
			continue;
		copy(c->link, sizeof(c->link), dir->link);
		copy(c->from, sizeof(c->from), dir->from);
		copy(c->to, sizeof(c->to), dir->to);
		c->utilization = dir->utilization;
		c->bps = dir->bps;
		n++;
	}
	return n;
}

static bool
same(const struct elephant_coll *a, const struct elephant_coll *b)
{
	return strcmp(a->link, b->link) == 0 && strcmp(a->to, b->to) == 0;
}

void
elephant_track(struct elephant_tracker *t, const struct elephant_coll *now,
    size_t n, uint64_t now_ms, uint64_t quiet_ms,
    void (*cb)(void *, const struct elephant_coll *, bool opened), void *arg)
{
	for (size_t i = 0; i < n; i++) {
		struct elephant_coll *e = NULL;

		for (size_t k = 0; k < t->n && e == NULL; k++)
			if (same(&t->ev[k], &now[i]))
				e = &t->ev[k];
		if (e != NULL) {
			uint64_t start = e->start_ms, id = e->id;

			*e = now[i];
			e->start_ms = start;
			e->id = id;
			e->last_ms = now_ms;
			continue;
		}
		if (t->n == ELEPHANT_MAX_COLL) {
			t->refused++;
			continue;
		}
		e = &t->ev[t->n++];
		*e = now[i];
		e->start_ms = e->last_ms = now_ms;
		e->end_ms = 0;
		e->id = ++t->next_id;
		if (cb != NULL)
			cb(arg, e, true);
	}
	for (size_t k = 0; k < t->n;) {
		struct elephant_coll *e = &t->ev[k];

		if (now_ms - e->last_ms < quiet_ms) {
			k++;
			continue;
		}
		e->end_ms = now_ms;
		if (cb != NULL)
			cb(arg, e, false);
		t->ev[k] = t->ev[--t->n];
	}
}
