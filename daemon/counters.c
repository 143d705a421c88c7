/*
 * counters.c: snapshots of an interface counter table; see counters.h.
 * Runs on the thread that owns the table.
 */
#include <stdlib.h>

#include "counters.h"
#include "util.h"

static void
ifc_snap_free(struct snap *s)
{
	struct ifc_snap *is = (struct ifc_snap *)s;

	free(is->rates);
	free(is);
}

struct ifc_snap *
ifc_snap_take(const struct ifc_table *t, uint64_t wall_ms)
{
	struct ifc_snap *is = xcalloc(1, sizeof(*is));

	snap_init(&is->base, ifc_snap_free);
	is->taken_ms = wall_ms;
	is->rates = ifc_rates_all(t, &is->n);
	ifc_stats(t, &is->stats);
	return is;
}
