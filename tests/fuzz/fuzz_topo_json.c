/*
 * fuzz_topo_json.c: the PUT /topology/json body parser on arbitrary bytes.
 * Checks: no crash, and on success every link end names an imported node
 * and port, and every string is NUL-terminated within its field.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "topo_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct topo_import im;
	char err[256], ignored[256];

	if (topo_import_parse((const char *)data, size, &im, err, sizeof(err),
		ignored, sizeof(ignored)) != 0) {
		assert(strlen(err) > 0 && strlen(err) < sizeof(err));
		return 0;
	}
	for (size_t i = 0; i < im.n_nodes; i++) {
		assert(memchr(im.nodes[i].name, 0, sizeof(im.nodes[i].name)));
		for (size_t j = 0; j < im.nodes[i].n_ports; j++)
			assert(im.nodes[i].ports[j].ifindex > 0);
	}
	for (size_t i = 0; i < im.n_links; i++) {
		const struct topo_import_link *l = &im.links[i];
		int found = 0;

		for (size_t j = 0; j < im.n_nodes; j++)
			found += strcmp(im.nodes[j].name, l->node1) == 0;
		assert(found == 1);
	}
	topo_import_clear(&im);
	return 0;
}
