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
ifc_snap_take(struct ifc_table *t, uint64_t wall_ms)
{
	struct ifc_snap *is = xcalloc(1, sizeof(*is));

	snap_init(&is->base, ifc_snap_free);
	is->taken_ms = wall_ms;
	is->rates = ifc_rates_all(t, &is->n);
	ifc_stats(t, &is->stats);
	return is;
}

size_t
ifc_rates_merge(const struct ifc_snap *sflow, const struct ifc_snap *snmp,
    uint64_t now_wall_ms, struct ifc_rates **out)
{
	const struct ifc_rates *a = sflow ? sflow->rates : NULL,
	                       *b = snmp ? snmp->rates : NULL;
	size_t na = sflow ? sflow->n : 0, nb = snmp ? snmp->n : 0;
	size_t i = 0, j = 0, n = 0;

	*out = xcalloc(na + nb + 1, sizeof(**out));
	while (i < na || j < nb) {
		int c = i == na ? 1
		    : j == nb   ? -1
		                : ifc_key_cmp(&a[i].agent, a[i].ifindex,
		                      &b[j].agent, b[j].ifindex);

		if (c < 0) {
			(*out)[n++] = a[i++];
		} else if (c > 0) {
			(*out)[n++] = b[j++];
		} else {
			(*out)[n++] =
			    ifc_sflow_wins(&a[i], now_wall_ms) ? a[i] : b[j];
			i++;
			j++;
		}
	}
	return n;
}

size_t
ifc_rates_merged(const struct ifc_snap *sflow, const struct ifc_snap *snmp,
    uint64_t now_wall_ms, const struct ifc_rates **out, bool *owned)
{
	const struct ifc_snap *only = snmp == NULL || snmp->n == 0 ? sflow
	    : sflow == NULL || sflow->n == 0                       ? snmp
	                                                           : NULL;
	struct ifc_rates *m;
	size_t n;

	if (only != NULL) {
		*out = only->rates;
		*owned = false;
		return only->n;
	}
	n = ifc_rates_merge(sflow, snmp, now_wall_ms, &m);
	*out = m;
	*owned = true;
	return n;
}

const struct ifc_rates *
ifc_rates_find(const struct ifc_rates *r, size_t n,
    const struct sflow_addr *agent, uint32_t ifindex)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c =
		    ifc_key_cmp(&r[mid].agent, r[mid].ifindex, agent, ifindex);

		if (c == 0)
			return &r[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}
