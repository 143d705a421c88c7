/*
 * spread.c: replaying NetFlow records over their duration; see spread.h.
 * PURE. The active records sit in an array in no order; each second's
 * pass visits the due ones. A binary heap would order them, but the pass
 * is a linear walk over at most `max` entries once per slice, which costs
 * less than the samples it stands for.
 */
#include <stdlib.h>
#include <string.h>

#include "spread.h"
#include "util.h"

struct spread_item {
	struct flow_rec rec;
	uint64_t packets_left;
	uint32_t rate;
	uint32_t slices_left;
	uint64_t next_ms;
};

struct spread {
	struct spread_item *items;
	size_t n, max;
	uint64_t next_due; /* the earliest next_ms, UINT64_MAX: none */
	struct spread_stats st;
};

struct spread *
spread_new(size_t max)
{
	struct spread *sp = xcalloc(1, sizeof(*sp));

	sp->max = max ? max : 65536;
	sp->next_due = UINT64_MAX;
	return sp;
}

void
spread_free(struct spread *sp)
{
	if (sp == NULL)
		return;
	free(sp->items);
	free(sp);
}

static uint32_t
sat_rate(uint64_t rate, uint64_t packets)
{
	if (packets != 0 && rate > UINT32_MAX / packets)
		return UINT32_MAX;
	return (uint32_t)(rate * packets);
}

/* One slice of it: its share of what is left, as even as integers go. */
static void
slice(struct spread_item *it, uint64_t now, spread_emit_fn emit, void *arg)
{
	uint64_t p = it->packets_left / it->slices_left;
	struct flow_rec r;

	/* the remainder goes to the first slices, one packet each */
	if (it->packets_left % it->slices_left != 0)
		p++;
	it->packets_left -= p;
	it->slices_left--;
	it->next_ms += SPREAD_SLICE_MS;
	r = it->rec;
	r.sampling_rate = sat_rate(it->rate, p);
	emit(arg, &r, now);
}

void
spread_add(struct spread *sp, const struct flow_rec *rec, uint64_t packets,
    uint32_t rate, uint64_t duration_ms, uint64_t now, spread_emit_fn emit,
    void *arg)
{
	struct spread_item it;
	uint64_t k;

	if (packets == 0)
		packets = 1;
	if (rate == 0)
		rate = 1;
	sp->st.records++;
	k = (duration_ms + SPREAD_SLICE_MS / 2) / SPREAD_SLICE_MS;
	if (k > SPREAD_MAX_SLICES)
		k = SPREAD_MAX_SLICES;
	if (k > packets)
		k = packets;
	if (k >= 2 && sp->n == sp->max) {
		sp->st.full++;
		k = 1;
	}
	memset(&it, 0, sizeof(it));
	it.rec = *rec;
	it.packets_left = packets;
	it.rate = rate;
	it.slices_left = k < 2 ? 1 : (uint32_t)k;
	it.next_ms = now;
	slice(&it, now, emit, arg);
	sp->st.slices++;
	if (it.slices_left == 0)
		return;
	sp->st.spread++;
	if (sp->n % 1024 == 0)
		sp->items = xrealloc(sp->items, (sp->n + 1024) * sizeof(it));
	sp->items[sp->n++] = it;
	if (it.next_ms < sp->next_due)
		sp->next_due = it.next_ms;
}

void
spread_due(struct spread *sp, uint64_t now, spread_emit_fn emit, void *arg)
{
	uint64_t next = UINT64_MAX;

	if (now < sp->next_due)
		return;
	for (size_t i = 0; i < sp->n;) {
		struct spread_item *it = &sp->items[i];

		if (it->next_ms <= now) {
			slice(it, now, emit, arg);
			sp->st.slices++;
		}
		if (it->slices_left == 0) {
			sp->items[i] = sp->items[--sp->n];
			continue;
		}
		if (it->next_ms < next)
			next = it->next_ms;
		i++;
	}
	sp->next_due = next;
}

void
spread_drain(struct spread *sp, uint64_t now, spread_emit_fn emit, void *arg)
{
	for (size_t i = 0; i < sp->n; i++) {
		struct spread_item *it = &sp->items[i];

		it->slices_left = 1; /* all that is left, in one */
		slice(it, now, emit, arg);
		sp->st.slices++;
	}
	sp->n = 0;
	sp->next_due = UINT64_MAX;
}

void
spread_get_stats(const struct spread *sp, struct spread_stats *st)
{
	*st = sp->st;
	st->active = sp->n;
	st->max = sp->max;
}
