/*
 * conn.c: the websocket client of fabmond's /ws and fabtop's event loop
 * (see conn.h), after the libwebsockets v4.1.6 minimal examples
 * ws-client/minimal-ws-client (the connection and its retry timer) and
 * raw/minimal-raw-file (a file descriptor adopted into the loop). The only
 * tui/ file that includes libwebsockets. Runs on fabtop's main thread.
 */
#include <errno.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "util.h"

#define PROTO_WS       "fabmon.v1"
#define PROTO_FD       "fabtop-fd"
#define RETRY_FIRST_MS 500
#define RETRY_MAX_MS   5000
#define SENDQ_MAX      64

struct conn {
	struct lws_context *ctx;
	struct conn_opts o;
	struct conn_hooks h;
	char host[300];  /* the Host header: HOST:PORT */
	char auth[1100]; /* the Authorization header's value, or "" */

	lws_sorted_usec_list_t sul_connect; /* the next attempt */
	lws_sorted_usec_list_t sul_tick;
	lws_sorted_usec_list_t sul_silence;
	struct lws *wsi; /* the websocket, while it exists */
	int open;        /* established */
	int retrying;    /* sul_connect is scheduled */
	unsigned tries;  /* attempts since the last open */
	int stop;

	/* the message being received */
	char *rx;
	size_t rxlen, rxcap;
	int rx_in_msg, rx_drop;
	uint64_t oversize;

	/* the silence watchdog: drop a connection that sent nothing for
	 * silence_ms (0: off) */
	uint64_t last_rx_ms;
	uint64_t connect_ms; /* the attempt under way began */
	unsigned silence_ms;
	uint64_t silent_drops;

	/* messages waiting for the socket to be writable */
	char *sendq[SENDQ_MAX];
	size_t sendq_len[SENDQ_MAX];
	size_t nsend;
};

/* Wait before the next attempt: 0.5 s, doubling, at most 5 s. */
static unsigned
retry_ms(struct conn *c)
{
	unsigned ms = RETRY_FIRST_MS;

	for (unsigned i = 0; i < c->tries && ms < RETRY_MAX_MS; i++)
		ms *= 2;
	c->tries++;
	return ms < RETRY_MAX_MS ? ms : RETRY_MAX_MS;
}

static void
sendq_clear(struct conn *c)
{
	for (size_t i = 0; i < c->nsend; i++)
		free(c->sendq[i]);
	c->nsend = 0;
}

/* The keepalive: a PING after 5 s of silence, hang up after 12 s (a
 * server that vanished without a FIN: a failover, a cable). */
static const uint32_t backoff_unused[] = { RETRY_FIRST_MS };
static const lws_retry_bo_t idle_policy = {
	.retry_ms_table = backoff_unused,
	.retry_ms_table_count = 1,
	.conceal_count = 1,
	.secs_since_valid_ping = 5,
	.secs_since_valid_hangup = 12,
	.jitter_percent = 0,
};

static void connect_now(lws_sorted_usec_list_t *sul);

/* Lost, or never made: tell the caller, try again later. */
static void
lost(struct conn *c, const char *why)
{
	unsigned ms;

	c->wsi = NULL;
	c->open = 0;
	c->rx_in_msg = 0;
	sendq_clear(c);
	if (c->stop || c->retrying)
		return;
	c->retrying = 1;
	ms = retry_ms(c);
	lws_sul_schedule(c->ctx, 0, &c->sul_connect, connect_now,
	    (lws_usec_t)ms * LWS_US_PER_MS);
	if (c->h.closed != NULL)
		c->h.closed(c->h.arg, why, ms);
}

static void
connect_now(lws_sorted_usec_list_t *sul)
{
	struct conn *c = lws_container_of(sul, struct conn, sul_connect);
	struct lws_client_connect_info i;

	c->retrying = 0;
	if (c->stop || c->wsi != NULL)
		return;
	c->connect_ms = now_mono_ms();
	memset(&i, 0, sizeof(i));
	i.context = c->ctx;
	i.address = c->o.host;
	i.port = c->o.port;
	i.path = "/ws";
	i.host = c->host;
	i.origin = NULL; /* not a browser: fabmond accepts no Origin */
	i.protocol = PROTO_WS;
	i.local_protocol_name = PROTO_WS;
	i.pwsi = &c->wsi;
	i.userdata = c;
	i.retry_and_idle_policy = &idle_policy;
	/* On failure CLIENT_CONNECTION_ERROR may have run already: lost()
	 * then schedules one retry, not two. */
	if (lws_client_connect_via_info(&i) == NULL)
		lost(c, "cannot connect");
}

static void
tick(lws_sorted_usec_list_t *sul)
{
	struct conn *c = lws_container_of(sul, struct conn, sul_tick);

	if (c->stop)
		return;
	lws_sul_schedule(c->ctx, 0, &c->sul_tick, tick,
	    (lws_usec_t)c->o.tick_ms * LWS_US_PER_MS);
	if (c->h.tick != NULL)
		c->h.tick(c->h.arg);
}

/*
 * A server that stopped sending without closing (after an HA failover
 * the old master can keep the TCP connection half-open) is given up after
 * silence_ms, sooner than the PING/hang-up policy. Checked 4 times a
 * second, apart from the caller's tick (which redraws).
 */
#define SILENCE_CHECK_MS 250
#define HANDSHAKE_MS     3000

static void
silence(lws_sorted_usec_list_t *sul)
{
	struct conn *c = lws_container_of(sul, struct conn, sul_silence);

	if (c->stop)
		return;
	lws_sul_schedule(c->ctx, 0, &c->sul_silence, silence,
	    (lws_usec_t)SILENCE_CHECK_MS * LWS_US_PER_MS);
	if (c->open && c->wsi != NULL && c->silence_ms > 0 &&
	    now_mono_ms() - c->last_rx_ms > c->silence_ms) {
		c->silent_drops++;
		lws_set_timeout(
		    c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
		lost(c, "no frame from fabmond");
	} else if (!c->open && c->wsi != NULL &&
	    now_mono_ms() - c->connect_ms > HANDSHAKE_MS) {
		/* a hung server accepts the TCP connection and never answers
		 * the upgrade: try again (the VIP may have moved meanwhile) */
		lws_set_timeout(
		    c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
		lost(c, "no answer to the websocket upgrade");
	}
}

static void
rx(struct conn *c, struct lws *wsi, const char *in, size_t len)
{
	c->last_rx_ms = now_mono_ms();
	if (!c->rx_in_msg) {
		c->rx_in_msg = 1;
		c->rxlen = 0;
		c->rx_drop = 0;
	}
	if (!c->rx_drop && c->rxlen + len > CONN_MSG_MAX) {
		c->rx_drop = 1;
		c->oversize++;
	}
	if (!c->rx_drop && len > 0) {
		if (c->rxlen + len > c->rxcap) {
			size_t cap = c->rxcap ? c->rxcap : 65536;

			while (cap < c->rxlen + len)
				cap *= 2;
			c->rx = xrealloc(c->rx, cap);
			c->rxcap = cap;
		}
		memcpy(c->rx + c->rxlen, in, len);
		c->rxlen += len;
	}
	if (lws_is_final_fragment(wsi) &&
	    lws_remaining_packet_payload(wsi) == 0) {
		c->rx_in_msg = 0;
		if (!c->rx_drop && c->h.frame != NULL)
			c->h.frame(c->h.arg, c->rx, c->rxlen);
		/* a huge message does not keep its buffer */
		if (c->rxcap > (1u << 20)) {
			free(c->rx);
			c->rx = NULL;
			c->rxcap = 0;
		}
	}
}

static int
cb_ws(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
    size_t len)
{
	struct conn *c = user;
	char why[128];

	switch (reason) {
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
		if (c != NULL && c->auth[0] != '\0') {
			unsigned char **p = in, *end = *p + len;

			if (lws_add_http_header_by_name(wsi,
			        (const unsigned char *)"authorization:",
			        (const unsigned char *)c->auth,
			        (int)strlen(c->auth), p, end))
				return -1;
		}
		break;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		c->open = 1;
		c->last_rx_ms = now_mono_ms();
		c->tries = 0;
		if (c->h.opened != NULL)
			c->h.opened(c->h.arg);
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		rx(c, wsi, in, len);
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (c->nsend > 0) {
			char *m = c->sendq[0];
			size_t n = c->sendq_len[0];
			int w = lws_write(wsi, (unsigned char *)m + LWS_PRE, n,
			    LWS_WRITE_TEXT);

			free(m);
			memmove(c->sendq, c->sendq + 1,
			    (c->nsend - 1) * sizeof(c->sendq[0]));
			memmove(c->sendq_len, c->sendq_len + 1,
			    (c->nsend - 1) * sizeof(c->sendq_len[0]));
			c->nsend--;
			if (w < (int)n)
				return -1;
			if (c->nsend > 0)
				lws_callback_on_writable(wsi);
		}
		break;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		/* c == NULL: before the session; wsi != c->wsi: one given up
		 * (silence) while a new attempt is under way */
		if (c == NULL || (c->wsi != NULL && wsi != c->wsi))
			break;
		snprintf(why, sizeof(why), "%s",
		    in != NULL ? (const char *)in : "connection failed");
		/* lws says "conn fail: errno 111" and the like */
		if (strstr(why, "111") != NULL || strstr(why, "refused"))
			snprintf(why, sizeof(why), "connection refused");
		lost(c, why);
		break;
	case LWS_CALLBACK_CLIENT_CLOSED:
		if (c != NULL && (c->wsi == NULL || wsi == c->wsi))
			lost(c, "connection closed");
		break;
	default:
		break;
	}
	return 0;
}

/* The terminal and the wake-up pipe, adopted as raw files. */
static int
cb_fd(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
    size_t len)
{
	struct conn *c = lws_get_opaque_user_data(wsi);
	int fd;

	(void)user;
	(void)in;
	(void)len;
	if (c == NULL)
		return 0;
	switch (reason) {
	case LWS_CALLBACK_RAW_RX_FILE:
		fd = (int)(intptr_t)lws_get_socket_fd(wsi);
		if (fd == c->o.wake_fd) {
			char buf[64];

			while (read(fd, buf, sizeof(buf)) > 0)
				;
			if (c->h.wake != NULL)
				c->h.wake(c->h.arg);
		} else if (c->h.input != NULL)
			c->h.input(c->h.arg);
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{ PROTO_WS, cb_ws, 0, 65536, 0, NULL, 0 },
	{ PROTO_FD, cb_fd, 0, 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

static void
log_emit(int level, const char *line)
{
	(void)level;
	fprintf(stderr, "fabtop: lws: %s", line);
}

static int
adopt(struct conn *c, int fd)
{
	lws_sock_file_fd_type u;
	struct lws *w;

	u.filefd = (lws_filefd_type)(long long)fd;
	w = lws_adopt_descriptor_vhost(lws_get_vhost_by_name(c->ctx, "default"),
	    LWS_ADOPT_RAW_FILE_DESC, u, PROTO_FD, NULL);
	if (w == NULL)
		return -1;
	lws_set_opaque_user_data(w, c);
	return 0;
}

struct conn *
conn_new(const struct conn_opts *o, const struct conn_hooks *h, char *err,
    size_t errlen)
{
	struct lws_context_creation_info info;
	struct conn *c = xcalloc(1, sizeof(*c));

	c->o = *o;
	c->h = *h;
	if (strchr(o->host, ':') != NULL)
		snprintf(c->host, sizeof(c->host), "[%s]:%d", o->host, o->port);
	else
		snprintf(c->host, sizeof(c->host), "%s:%d", o->host, o->port);
	if (o->token != NULL)
		snprintf(c->auth, sizeof(c->auth), "Bearer %s", o->token);
	lws_set_log_level(
	    o->verbose ? LLL_ERR | LLL_WARN : 0, o->verbose ? log_emit : NULL);
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.retry_and_idle_policy = &idle_policy;
	info.gid = -1;
	info.uid = -1;
	c->ctx = lws_create_context(&info);
	if (c->ctx == NULL) {
		snprintf(err, errlen, "libwebsockets: cannot create a context");
		free(c);
		return NULL;
	}
	if ((o->input_fd >= 0 && adopt(c, o->input_fd) != 0) ||
	    (o->wake_fd >= 0 && adopt(c, o->wake_fd) != 0)) {
		snprintf(err, errlen, "libwebsockets: cannot watch a file");
		lws_context_destroy(c->ctx);
		free(c);
		return NULL;
	}
	lws_sul_schedule(c->ctx, 0, &c->sul_connect, connect_now, 1);
	if (o->tick_ms > 0)
		lws_sul_schedule(c->ctx, 0, &c->sul_tick, tick,
		    (lws_usec_t)o->tick_ms * LWS_US_PER_MS);
	lws_sul_schedule(c->ctx, 0, &c->sul_silence, silence,
	    (lws_usec_t)SILENCE_CHECK_MS * LWS_US_PER_MS);
	return c;
}

int
conn_run(struct conn *c)
{
	while (!c->stop)
		if (lws_service(c->ctx, 0) < 0)
			break;
	return 0;
}

void
conn_stop(struct conn *c)
{
	c->stop = 1;
	lws_cancel_service(c->ctx);
}

void
conn_free(struct conn *c)
{
	if (c == NULL)
		return;
	c->stop = 1;
	lws_sul_cancel(&c->sul_connect);
	lws_sul_cancel(&c->sul_tick);
	lws_sul_cancel(&c->sul_silence);
	lws_context_destroy(c->ctx);
	sendq_clear(c);
	free(c->rx);
	free(c);
}

int
conn_send(struct conn *c, const char *text)
{
	size_t n = strlen(text);
	char *m;

	if (!c->open || c->wsi == NULL || c->nsend == SENDQ_MAX)
		return -1;
	m = xmalloc(LWS_PRE + n + 1);
	memcpy(m + LWS_PRE, text, n + 1);
	c->sendq[c->nsend] = m;
	c->sendq_len[c->nsend++] = n;
	lws_callback_on_writable(c->wsi);
	return 0;
}

int
conn_is_open(const struct conn *c)
{
	return c->open;
}

uint64_t
conn_oversize(const struct conn *c)
{
	return c->oversize;
}

void
conn_set_silence_ms(struct conn *c, unsigned ms)
{
	c->silence_ms = ms;
}
