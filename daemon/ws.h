/*
 * ws.h: the /ws push channel (ws.c), served by libwebsockets on the
 * service thread next to the HTTP API. The frames and ops are frozen in
 * daemon/API.md ("The push channel").
 */
#ifndef FABMON_WS_H
#define FABMON_WS_H

#include <libwebsockets.h>
#include <stdint.h>

struct api_ctx;

#define WS_PROTOCOL "fabmon.v1"
/* lws's per-connection space for a client (ws.c checks it fits) */
#define WS_SESSION_SIZE 1024

struct ws_stats {
	uint64_t clients;       /* connected now */
	uint64_t connections;   /* accepted since the start */
	uint64_t subscriptions; /* now, over every client */
	uint64_t frames_built;  /* topic frames built */
	uint64_t frames_sent;   /* frames written (topics and replies) */
	uint64_t superseded;    /* replaced by a newer frame before sent */
	uint64_t bytes_sent;
	uint64_t bad_messages;    /* not JSON, unknown op, too long */
	uint64_t refused;         /* handshakes refused */
	uint64_t replies_dropped; /* over a client's reply queue */
	uint64_t pushes;
	uint64_t last_push_us; /* building the last push's frames */
};

/* The lws protocol callback (struct lws_protocols). */
int ws_callback(
    struct lws *, enum lws_callback_reasons, void *user, void *in, size_t len);

/* The counters now. Service thread only. */
void ws_get_stats(struct api_ctx *, struct ws_stats *);

#endif
