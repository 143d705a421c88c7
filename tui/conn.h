/*
 * conn.h: fabtop's websocket client of fabmond's /ws (subprotocol
 * fabmon.v1), and the event loop fabtop runs in: libwebsockets' own,
 * which also watches the terminal and a wake-up pipe and keeps a timer,
 * so that fabtop sleeps until a frame, a key, a signal or the timer.
 * It reconnects by itself: 0.5 s after a loss, doubling up to 5 s.
 * Everything here runs on the one thread that calls conn_run().
 */
#ifndef FABMON_CONN_H
#define FABMON_CONN_H

#include <stddef.h>
#include <stdint.h>

/* The longest message accepted; longer ones are dropped, counted. */
#define CONN_MSG_MAX (64u << 20)

struct conn;

struct conn_opts {
	const char *host; /* an address or a name (no brackets) */
	int port;
	const char *token; /* sent as "Authorization: Bearer", or NULL */
	int input_fd;      /* watched for input (the terminal), or -1 */
	int wake_fd;       /* a pipe that signal handlers write to, or -1 */
	unsigned tick_ms;  /* the timer's period, 0: none */
	int verbose;       /* libwebsockets' warnings to stderr */
};

/* Called on conn_run()'s thread; each may call conn_send/conn_stop. */
struct conn_hooks {
	void *arg;
	/* The websocket is open: subscribe. */
	void (*opened)(void *arg);
	/* It closed or could not open; why; the next try in retry_ms. */
	void (*closed)(void *arg, const char *why, unsigned retry_ms);
	/* One whole message (fragments joined), text not NUL-terminated. */
	void (*frame)(void *arg, const char *text, size_t len);
	void (*input)(void *arg); /* input_fd is readable */
	void (*wake)(void *arg);  /* wake_fd is readable (drained) */
	void (*tick)(void *arg);
};

/*
 * A client that starts connecting at once in conn_run(). NULL with a
 * message in err when libwebsockets cannot start. hooks is copied.
 */
struct conn *conn_new(const struct conn_opts *, const struct conn_hooks *,
    char *err, size_t errlen);
/* Run the loop until conn_stop(). Returns 0. */
int conn_run(struct conn *);
void conn_stop(struct conn *);
void conn_free(struct conn *);
/*
 * Queue a text message (copied). Returns 0, or -1 when the websocket is
 * not open (messages are not kept across a reconnection).
 */
int conn_send(struct conn *, const char *text);
int conn_is_open(const struct conn *);
/*
 * Drop the connection (and reconnect) when nothing arrived for ms (0:
 * never): a server that went silent without closing, e.g. the old master
 * after an HA failover. The caller sets it from the push period.
 */
void conn_set_silence_ms(struct conn *, unsigned ms);
/* Messages dropped for being longer than CONN_MSG_MAX. */
uint64_t conn_oversize(const struct conn *);

#endif
