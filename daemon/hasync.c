/*
 * hasync.c: the configuration-sync thread; see hasync.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hasync.h"
#include "hasync_msg.h"
#include "log.h"
#include "util.h"

#define QUEUE_MAX  1024
#define TIMEOUT_MS 2000
#define ROLES_MS   2000
/*
 * A BACKUP pulls again this often: anti-entropy for a write whose message
 * was lost (the BACKUP was restarting), and for what the MASTER had not
 * committed to its store yet at the last pull (store.batch_ms).
 */
#define REPULL_MS      30000
#define REPULL_SOON_MS 3000
#define RESP_MAX       (16u << 20)

struct item {
	struct item *next;
	int kind;
	char *name;
	char *json;
};

struct hasync {
	const struct conf *conf;
	struct sockaddr_storage peer, self;
	socklen_t peer_len, self_len;
	char peer_text[80];

	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct item *head, **tail;
	size_t queued;
	atomic_bool stop;

	/* counters, under mu */
	uint64_t sent, failed, dropped, pulls, pulled, pull_failures;
	char peer_role[16], self_role[16];
	char last_error[320];
	uint64_t last_pull_ms;
	uint64_t next_pull_mono;
	bool need_pull;
};

/* ---- a small blocking HTTP/1.1 client ---------------------------------- */

static int
wait_fd(int fd, short ev, int ms)
{
	struct pollfd p = { fd, ev, 0 };
	int r;

	do
		r = poll(&p, 1, ms);
	while (r < 0 && errno == EINTR);
	return r > 0 ? 0 : -1;
}

/*
 * One request with "Connection: close". Returns the status (and the body,
 * malloc'ed, in *out), or -1 with why in err.
 */
static int
http(const struct sockaddr_storage *ss, socklen_t sl, const char *method,
    const char *path, const char *sig, const char *body, char **out, char *err,
    size_t errlen)
{
	char head[1024];
	size_t blen = body ? strlen(body) : 0, cap = 4096, n = 0;
	char *buf = NULL, *p;
	int fd, status = -1, hl;

	*out = NULL;
	fd = socket(
	    ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (const struct sockaddr *)ss, sl) != 0 &&
	    errno != EINPROGRESS) {
		snprintf(err, errlen, "connect: %s", strerror(errno));
		goto out;
	}
	if (wait_fd(fd, POLLOUT, TIMEOUT_MS) != 0) {
		snprintf(err, errlen, "connect: timed out");
		goto out;
	}
	{
		int e = 0;
		socklen_t el = sizeof(e);

		getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el);
		if (e != 0) {
			snprintf(err, errlen, "connect: %s", strerror(e));
			goto out;
		}
	}
	hl = snprintf(head, sizeof(head),
	    "%s %s HTTP/1.1\r\nHost: fabmon\r\nConnection: close\r\n"
	    "%s%s%s"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
	    method, path, sig ? "X-Fabmon-Signature: " : "", sig ? sig : "",
	    sig ? "\r\n" : "", blen);
	if (hl < 0 || (size_t)hl >= sizeof(head)) {
		snprintf(err, errlen, "request line too long");
		goto out;
	}
	buf = xmalloc(cap);
	for (size_t off = 0, tot = (size_t)hl + blen; off < tot;) {
		const char *src =
		    off < (size_t)hl ? head + off : body + (off - (size_t)hl);
		size_t left = off < (size_t)hl ? (size_t)hl - off : tot - off;
		ssize_t w = send(fd, src, left, MSG_NOSIGNAL);

		if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (wait_fd(fd, POLLOUT, TIMEOUT_MS) != 0) {
				snprintf(err, errlen, "send: timed out");
				goto out;
			}
			continue;
		}
		if (w <= 0) {
			snprintf(err, errlen, "send: %s", strerror(errno));
			goto out;
		}
		off += (size_t)w;
	}
	for (;;) {
		ssize_t r;

		if (n + 1 == cap) {
			if (cap >= RESP_MAX) {
				snprintf(err, errlen, "answer too long");
				goto out;
			}
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		r = recv(fd, buf + n, cap - 1 - n, 0);
		if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (wait_fd(fd, POLLIN, TIMEOUT_MS) != 0) {
				snprintf(err, errlen, "answer: timed out");
				goto out;
			}
			continue;
		}
		if (r < 0) {
			snprintf(err, errlen, "recv: %s", strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1 ||
	    (p = strstr(buf, "\r\n\r\n")) == NULL) {
		snprintf(err, errlen, "not an HTTP answer");
		status = -1;
		goto out;
	}
	*out = xstrdup(p + 4);
out:
	free(buf);
	close(fd);
	return status;
}

/* ---- the queue ------------------------------------------------------- */

static void
item_free(struct item *it)
{
	free(it->name);
	free(it->json);
	free(it);
}

void
hasync_put(struct hasync *s, int kind, const char *name, const char *json)
{
	struct item *it;

	if (s == NULL || hasync_kind_name(kind) == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	if (s->queued == QUEUE_MAX) {
		s->dropped++;
		s->need_pull = true;
		pthread_mutex_unlock(&s->mu);
		return;
	}
	it = xcalloc(1, sizeof(*it));
	it->kind = kind;
	it->name = xstrdup(name);
	it->json = json ? xstrdup(json) : NULL;
	*s->tail = it;
	s->tail = &it->next;
	s->queued++;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->mu);
}

static void
set_error(struct hasync *s, const char *what, const char *why)
{
	pthread_mutex_lock(&s->mu);
	snprintf(s->last_error, sizeof(s->last_error), "%s: %s", what, why);
	pthread_mutex_unlock(&s->mu);
}

/* Send a signed message to (peer) or through (self) a daemon's API. */
static int
post(struct hasync *s, bool to_self, int kind, const char *name,
    const char *json, bool pull)
{
	char *body =
	    hasync_build((int64_t)now_wall_ms(), kind, name, json, pull);
	char sig[7 + HASYNC_SIG_HEX + 1], err[128], *resp = NULL;
	int st;

	hasync_sign(s->conf->ha_secret, body, strlen(body), sig);
	st = http(to_self ? &s->self : &s->peer,
	    to_self ? s->self_len : s->peer_len, "POST", "/api/v1/ha/sync", sig,
	    body, &resp, err, sizeof(err));
	if (st < 200 || st >= 300) {
		if (st > 0)
			snprintf(err, sizeof(err), "HTTP %d %.100s", st,
			    resp ? resp : "");
		set_error(s, to_self ? "apply" : "send", err);
		log_warnx("hasync", "%s %s %s: %s",
		    to_self ? "cannot apply" : "cannot send",
		    hasync_kind_name(kind), name, err);
	}
	free(body);
	free(resp);
	return st >= 200 && st < 300 ? 0 : -1;
}

/* ---- roles and pulls --------------------------------------------------- */

/* A daemon's role from its GET /api/v1/ha, "" if it does not answer. */
static void
role_of(struct hasync *s, bool self, char *out, size_t len)
{
	char err[128], *resp = NULL;
	json_t *o;

	out[0] = '\0';
	if (http(self ? &s->self : &s->peer, self ? s->self_len : s->peer_len,
	        "GET", "/api/v1/ha", NULL, NULL, &resp, err,
	        sizeof(err)) == 200 &&
	    (o = json_loads(resp, 0, NULL)) != NULL) {
		const char *r = json_string_value(json_object_get(o, "role"));

		snprintf(out, len, "%s", r ? r : "");
		json_decref(o);
	}
	free(resp);
}

/* A daemon's stored definitions of a kind: {name: json}, or NULL. */
static json_t *
list(struct hasync *s, bool self, int kind)
{
	char path[96], q[64], sig[7 + HASYNC_SIG_HEX + 1], err[128];
	char *resp = NULL;
	json_t *o = NULL, *defs, *e, *m = NULL;
	size_t i;
	int st;

	snprintf(q, sizeof(q), "kind=%s&ts=%llu", hasync_kind_name(kind),
	    (unsigned long long)now_wall_ms());
	snprintf(path, sizeof(path), "/api/v1/ha/sync?%s", q);
	hasync_sign(s->conf->ha_secret, q, strlen(q), sig);
	st = http(self ? &s->self : &s->peer, self ? s->self_len : s->peer_len,
	    "GET", path, sig, NULL, &resp, err, sizeof(err));
	if (st != 200) {
		if (st > 0)
			snprintf(err, sizeof(err), "HTTP %d", st);
		set_error(s, self ? "list own" : "list the peer's", err);
		goto out;
	}
	if ((o = json_loads(resp, 0, NULL)) == NULL ||
	    !json_is_array(defs = json_object_get(o, "defs"))) {
		set_error(s, "list", "not a list");
		goto out;
	}
	m = json_object();
	json_array_foreach(defs, i, e)
	{
		const char *n = json_string_value(json_object_get(e, "name"));
		json_t *js = json_object_get(e, "json");

		if (n != NULL && json_is_string(js))
			json_object_set(m, n, js);
	}
out:
	json_decref(o);
	free(resp);
	return m;
}

/* Make our stored definitions the MASTER's. Returns 0 or -1. */
static int
pull(struct hasync *s, uint64_t *n_changed)
{
	uint64_t changed = 0;

	for (int kind = HASYNC_FLOW; kind <= HASYNC_NFTMPL; kind++) {
		json_t *theirs = list(s, false, kind), *ours, *v;
		const char *n;
		int rc = 0;

		if (theirs == NULL)
			return -1;
		if ((ours = list(s, true, kind)) == NULL) {
			json_decref(theirs);
			return -1;
		}
		json_object_foreach(theirs, n, v)
		{
			json_t *o = json_object_get(ours, n);

			/* a template we have stays: ours came from the
			 * exporter, or from the peer before */
			if (o != NULL &&
			    (json_equal(o, v) || kind == HASYNC_NFTMPL))
				continue;
			rc |=
			    post(s, true, kind, n, json_string_value(v), true);
			changed++;
		}
		json_object_foreach(ours, n, v)
		{
			if (json_object_get(theirs, n) != NULL ||
			    kind == HASYNC_NFTMPL)
				continue;
			rc |= post(s, true, kind, n, NULL, true);
			changed++;
		}
		json_decref(theirs);
		json_decref(ours);
		if (rc != 0)
			return -1;
	}
	pthread_mutex_lock(&s->mu);
	s->pulled += changed;
	pthread_mutex_unlock(&s->mu);
	*n_changed = changed;
	if (changed > 0)
		log_info("hasync",
		    "took %llu definition changes from the MASTER %s",
		    (unsigned long long)changed, s->peer_text);
	return 0;
}

static void
roles(struct hasync *s)
{
	char me[16], peer[16];
	uint64_t changed = 0;
	bool want;

	role_of(s, true, me, sizeof(me));
	role_of(s, false, peer, sizeof(peer));
	pthread_mutex_lock(&s->mu);
	snprintf(s->self_role, sizeof(s->self_role), "%s", me);
	snprintf(s->peer_role, sizeof(s->peer_role), "%s", peer);
	/* the peer is not (or no longer) the MASTER: pull when it is */
	if (strcmp(peer, "MASTER") != 0)
		s->need_pull = true;
	want = (s->need_pull || now_mono_ms() >= s->next_pull_mono) &&
	    strcmp(me, "BACKUP") == 0 && strcmp(peer, "MASTER") == 0;
	pthread_mutex_unlock(&s->mu);
	if (!want)
		return;
	if (pull(s, &changed) == 0) {
		pthread_mutex_lock(&s->mu);
		/* after a change, once more soon: what the MASTER wrote just
		 * before may not have been committed to its store yet */
		s->next_pull_mono = now_mono_ms() +
		    (changed || s->need_pull ? REPULL_SOON_MS : REPULL_MS);
		s->need_pull = false;
		s->pulls++;
		s->last_pull_ms = now_wall_ms();
		pthread_mutex_unlock(&s->mu);
	} else {
		pthread_mutex_lock(&s->mu);
		s->pull_failures++;
		pthread_mutex_unlock(&s->mu);
	}
}

static void *
hasync_main(void *arg)
{
	struct hasync *s = arg;
	uint64_t next_roles = 0;

	thread_role("fab-hasync", 0);
	while (!atomic_load(&s->stop)) {
		struct item *batch;
		struct timespec ts;

		pthread_mutex_lock(&s->mu);
		if (s->head == NULL) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 500 * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&s->cond, &s->mu, &ts);
		}
		batch = s->head;
		s->head = NULL;
		s->tail = &s->head;
		s->queued = 0;
		pthread_mutex_unlock(&s->mu);
		while (batch != NULL) {
			struct item *it = batch;
			int rc =
			    post(s, false, it->kind, it->name, it->json, false);

			batch = it->next;
			pthread_mutex_lock(&s->mu);
			if (rc == 0)
				s->sent++;
			else {
				/* the peer pulls what it missed when it is
				 * BACKUP again; or we pull when it is MASTER */
				s->failed++;
				s->need_pull = true;
			}
			pthread_mutex_unlock(&s->mu);
			item_free(it);
		}
		if (now_mono_ms() >= next_roles) {
			roles(s);
			next_roles = now_mono_ms() + ROLES_MS;
		}
	}
	return NULL;
}

/* The address to reach our own API: the listen address, or loopback
 * for "any". */
static int
self_addr(struct hasync *s, const char *listen)
{
	if (addrport_parse(listen, 8008, &s->self, &s->self_len) != 0)
		return -1;
	if (s->self.ss_family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&s->self;

		if (in->sin_addr.s_addr == htonl(INADDR_ANY))
			in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&s->self;

		if (IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr))
			in6->sin6_addr = in6addr_loopback;
	}
	return 0;
}

struct hasync *
hasync_start(const struct conf *c, char *err, size_t errlen)
{
	struct hasync *s;
	sigset_t all, old;
	int rc;

	err[0] = '\0';
	if (c->ha_peer == NULL || c->ha_secret == NULL || !*c->ha_secret)
		return NULL;
	s = xcalloc(1, sizeof(*s));
	s->conf = c;
	s->tail = &s->head;
	s->need_pull = true;
	if (addrport_parse(c->ha_peer, 8008, &s->peer, &s->peer_len) != 0 ||
	    self_addr(s, c->http_listen) != 0) {
		snprintf(
		    err, errlen, "ha.peer or http.listen is not ADDR:PORT");
		free(s);
		return NULL;
	}
	snprintf(s->peer_text, sizeof(s->peer_text), "%s", c->ha_peer);
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cond, NULL);
	atomic_init(&s->stop, false);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&s->thread, NULL, hasync_main, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start the sync thread");
		free(s);
		return NULL;
	}
	log_info("hasync", "configuration sync with %s", c->ha_peer);
	return s;
}

json_t *
hasync_json(struct hasync *s)
{
	json_t *o;

	if (s == NULL)
		return json_null();
	pthread_mutex_lock(&s->mu);
	o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:s, s:o}",
	    "sent", (json_int_t)s->sent, "failed", (json_int_t)s->failed,
	    "dropped", (json_int_t)s->dropped, "queued", (json_int_t)s->queued,
	    "pulls", (json_int_t)s->pulls, "pulled", (json_int_t)s->pulled,
	    "pullFailures", (json_int_t)s->pull_failures, "peerRole",
	    s->peer_role, "selfRole", s->self_role, "lastError",
	    s->last_error[0] ? json_string(s->last_error) : json_null());
	pthread_mutex_unlock(&s->mu);
	return o;
}

void
hasync_stop(struct hasync *s)
{
	if (s == NULL)
		return;
	atomic_store(&s->stop, true);
	pthread_mutex_lock(&s->mu);
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	while (s->head != NULL) {
		struct item *it = s->head;

		s->head = it->next;
		item_free(it);
	}
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cond);
	free(s);
}
