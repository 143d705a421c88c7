/*
 * api.h: the HTTP API, served by libwebsockets on the main thread.
 * Handlers only read published snapshots: nothing here blocks.
 */
#ifndef FABMON_API_H
#define FABMON_API_H

#include "conf.h"
#include "snap.h"

struct lws_context;

struct api_ctx {
	const struct conf *conf;
	struct snap_slot *ingest; /* struct ingest_snap */
	uint64_t started_ms;
	uint64_t bad_requests; /* garbage requests, shown in health */
};

/*
 * Create the lws context serving the API on conf->http_listen. Returns
 * NULL with a message in err. The api_ctx must outlive the context.
 */
struct lws_context *api_start(struct api_ctx *, char *err, size_t errlen);

#define FABMON_VERSION "0.1.0"

#endif
