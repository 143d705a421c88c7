/*
 * fuzz_ifmib.c: IF-MIB counter walks (as snmpwalk -On text, which
 * walk_parse_text turns into the varbinds the poller would hand over)
 * into interface readings and rates. Readings are sorted and unique by
 * ifIndex, never 0; rates stay finite.
 */
#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ifmib.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	struct sflow_addr a = { .family = 4, .a = { 10, 0, 0, 1 } };
	struct ifc_table *t = ifc_new(64, 7);
	struct ifc_reading *r;
	struct ifc_rates *all;
	struct walk *w;
	uint64_t bad = 0;
	size_t n, na;

	memcpy(text, data, size);
	text[size] = '\0';
	w = walk_parse_text(text, "fuzz", NULL);
	ifmib_readings(w, &a, &r, &n, &bad);
	for (size_t i = 0; i < n; i++) {
		assert(r[i].ifindex != 0);
		assert(i == 0 || r[i - 1].ifindex < r[i].ifindex);
		ifc_update(t, &r[i], 1000, 1000);
	}
	/* The same walk again later, and then with every counter doubled. */
	for (size_t i = 0; i < n; i++)
		ifc_update(t, &r[i], 2000, 2000);
	for (size_t i = 0; i < n; i++) {
		for (int f = 0; f < IFC_N; f++)
			r[i].c[f] *= 2;
		ifc_update(t, &r[i], 3000, 3000);
	}
	all = ifc_rates_all(t, &na);
	for (size_t i = 0; i < na; i++)
		for (int f = 0; f < IFC_N; f++)
			if (all[i].have & IFC_BIT(f))
				assert(isfinite(all[i].r[f]) && all[i].r[f] >= 0);
	free(all);
	free(r);
	ifc_free(t);
	walk_free(w);
	free(text);
	return 0;
}
