/*
 * topo_json.h: sFlow-RT's topology JSON (PUT /topology/json) to and from
 * plain data. PURE: no I/O.
 */
#ifndef FABMON_TOPO_JSON_H
#define FABMON_TOPO_JSON_H

#include <stddef.h>

#include "import.h"

/* Limits on an import, so that a hostile body cannot exhaust memory. */
#define TOPO_IMPORT_MAX_NODES 100000
#define TOPO_IMPORT_MAX_PORTS 4096 /* per node */
#define TOPO_IMPORT_MAX_LINKS 200000

/*
 * Parse a topology document into `out` (zeroed first; free it with
 * topo_import_clear). Returns 0, or -1 with a message naming the JSON path
 * of the first problem in err (e.g. "links.l1-s1.port1: no port 'swp9' on
 * node 'leaf1'"). Keys it does not know are ignored, but listed in
 * `ignored` (comma-separated, truncated) so the API can report them.
 */
int topo_import_parse(const char *json, size_t len, struct topo_import *out,
    char *err, size_t errlen, char *ignored, size_t ignoredlen);

#endif
