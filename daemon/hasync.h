/*
 * hasync.h: configuration sync between the two daemons of an HA pair
 * (DESIGN §8). Its own thread, fed by a bounded queue:
 *
 *  - every definition write the API takes (flows, thresholds, the
 *    topology import; not forwarding targets, which stay per daemon) is
 *    sent to the peer (ha.peer) as a message signed with ha.secret
 *    (hasync_msg.h), which the peer applies through its own API and
 *    stores, without sending it back;
 *  - a BACKUP whose peer is MASTER pulls the MASTER's stored definitions
 *    at start and whenever the peer was unreachable or not MASTER (a
 *    restart, a split brain that healed), and every 30 s (3 s after a
 *    pull that changed something): the MASTER's set wins, what the
 *    BACKUP has beyond it is deleted. NetFlow v9/IPFIX templates are
 *    pulled too, but only added: a template the BACKUP has (from the
 *    exporter itself) stays, and each daemon ages its own. So a BACKUP
 *    that starts with an empty store decodes an exporter's data as soon
 *    as it takes over, without waiting for the exporter's next template
 *    refresh.
 *
 * Blocking HTTP with short timeouts is fine here: nothing else runs on
 * this thread. Roles are read from both daemons' GET /api/v1/ha.
 */
#ifndef FABMON_HASYNC_H
#define FABMON_HASYNC_H

#include <jansson.h>

#include "conf.h"

struct hasync;

/*
 * Start the thread when ha.peer and ha.secret are both set; NULL
 * otherwise (err "" then), or NULL with why in err.
 */
struct hasync *hasync_start(const struct conf *, char *err, size_t errlen);
/* Any thread: queue a write (kind as hasync_msg.h; json NULL: delete).
 * Never blocks; a full queue drops it and asks for a pull instead. */
void hasync_put(struct hasync *, int kind, const char *name, const char *json);
/* Counters for GET /api/v1/ha "sync" (any thread). */
json_t *hasync_json(struct hasync *);
void hasync_stop(struct hasync *);

#endif
