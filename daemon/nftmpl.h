/*
 * nftmpl.h: NetFlow v9/IPFIX templates as JSON, to keep them in the
 * store across restarts (and to hand them to the HA peer). PURE: no I/O,
 * no logging. Any thread.
 *
 *   {"exporter":"192.0.2.1","domain":0,"version":9,"id":256,
 *    "options":false,"scope":0,"fields":[[8,4,0],[12,4,0],[1,4,0]]}
 *
 * fields are [id, length, enterprise number]; length 65535 is variable.
 */
#ifndef FABMON_NFTMPL_H
#define FABMON_NFTMPL_H

#include <stddef.h>

#include "netflow.h"

#define NFTMPL_NAME_MAX 80

/* The store's name of a template: "9/192.0.2.1/0/256". */
void nftmpl_name(char *buf, size_t len, const struct netflow_tkey *k);

/* The JSON of a template (malloc'ed; the caller frees). */
char *nftmpl_to_json(
    const struct netflow_tkey *k, const struct netflow_template *t);

/*
 * Parse what nftmpl_to_json() wrote (or anything else: it comes from a
 * file or a peer). Returns 0 with *k and *t filled and checked
 * (netflow_template_check), or -1 with why in err.
 */
int nftmpl_from_json(const char *json, size_t len, struct netflow_tkey *k,
    struct netflow_template *t, char *err, size_t errlen);

#endif
