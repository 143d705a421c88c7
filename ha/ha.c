/*
 * ha.c: fabmond's side of the keepalived pair (see ha.h). One thread, the
 * HA thread, owns everything here but the published copy (struct ha_pub,
 * under mu) that ha_json() reads from the lws service thread.
 *
 * The thread sleeps in poll() on: keepalived's notify FIFO, the peer's
 * and our own HTTP sockets (a GET each second, non-blocking, with a short
 * deadline), and an eventfd that ha_stop() writes. Once a second it
 * judges this daemon's health from the snapshots (ha_judge.c), writes the
 * track file keepalived watches (a temporary file renamed over it, so
 * keepalived never reads half a number), looks whether the VIP is on one
 * of our interfaces, and notes split brains. Role changes, split brains
 * and stepping down for sickness are events in the store (type "ha"),
 * each with a start and, once over, an end.
 *
 * Why the FIFO is opened read-write: a reader-only open blocks until a
 * writer comes, and reads EOF whenever keepalived closes it (restart,
 * reload). keepalived opens it read-write too, and removes it on exit
 * only if it created it; fabmond creates it first, and reopens it if
 * the file is replaced behind its back (its inode changes).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "forward.h"
#include "fwddef.h"
#include "ha.h"
#include "ha_fifo.h"
#include "ha_judge.h"
#include "ingest.h"
#include "log.h"
#include "store.h"
#include "topo.h"
#include "util.h"

#define HA_TICK_MS      1000
#define HA_HTTP_TIMEOUT 800         /* ms for one GET, connect to last byte */
#define HA_HTTP_MAX     262144      /* a longer answer is refused */
#define HA_FWD_NAME     "fabmon-ha" /* the VIP-feed forwarding target */
#define HA_FWD_NAME_NF  "fabmon-ha-netflow" /* ... for NetFlow/IPFIX */
#define HA_REF_MAX      64

/* A stored event that has a start and not yet an end. */
struct open_event {
	bool open;
	char ref[HA_REF_MAX];
	uint64_t start;
	char reason[32];
	double value;
	json_t *detail; /* as it was at the start; the end keeps it */
};

/* One GET, a second: to the peer (its /api/v1/ha) or to ourselves. */
struct hpoll {
	const char *what; /* "peer", "self" */
	const char *path;
	bool configured;
	struct sockaddr_storage sa;
	socklen_t salen;
	char host[96]; /* for the Host header, and the API */
	int fd;
	enum { HP_IDLE, HP_CONNECTING, HP_SENDING, HP_READING } st;
	uint64_t deadline; /* mono */
	char req[256];
	size_t req_len, req_off;
	char *buf;
	size_t len, cap;
	/* results */
	uint64_t polls, failures;
	uint32_t consecutive_fails;
	uint64_t last_ok_mono, last_ok_wall; /* 0: never */
	char err[128];                       /* the last failure, "" if ok */
	struct ha_peer_answer ans;           /* peer only */
};

/* What ha_json() shows: copied under mu. */
struct ha_pub {
	enum ha_role role;
	uint64_t since;
	const char *source; /* "keepalived", "vip", "none" */
	enum ha_vrrp vrrp;
	int priority;        /* -1 unknown */
	uint64_t last_event; /* wall ms of the last FIFO line, 0 never */
	char heard_name[HA_NAME_MAX];
	uint64_t lines, bad_lines, other_lines;
	int holds_vip; /* -1 unknown (no ha.vip) */
	char self_addr[64];
	unsigned reasons;
	int track;
	uint64_t track_errors;
	bool split;
	bool forwarding;
	/* the peer */
	bool peer_known;
	enum ha_role peer_role;
	bool peer_healthy;
	int64_t peer_since;
	uint64_t peer_last_seen; /* wall ms */
	bool peer_reachable;
	char peer_err[128];
};

struct ha {
	const struct conf *conf;
	struct snap_slot *ingest, *topo;
	struct store *store;
	uint64_t started_ms;
	struct forward *forward;
	struct fwddef fwd; /* the VIP-feed target, when forward_to is set */
	bool fwd_ok;
	struct fwddef fwd_nf; /* ... NetFlow's, when forward_netflow_to is */
	atomic_int *snmp_pace;
	bool fwd_nf_ok;

	pthread_t thread;
	bool running;
	atomic_bool stop;
	int wake_fd;

	int fifo_fd;
	dev_t fifo_dev;
	ino_t fifo_ino;
	struct ha_linebuf lb;

	struct hpoll peer, self;
	int vip_family; /* 0: no ha.vip */
	uint8_t vip[16];

	/* the thread's own state */
	enum ha_role role;
	uint64_t since;
	bool heard;             /* a FIFO line for our instance came */
	uint64_t rx_lower_mono; /* MASTER_RX_LOWER_PRI; 0 never */
	uint64_t split_since;   /* 0: no split brain now */
	uint64_t sick_since;    /* 0: not stepping down now */
	unsigned sick_reasons;
	int track; /* what the track file holds; -1 not written yet */
	char node[64];
	unsigned refs; /* events' refs */
	struct open_event ev_role, ev_split, ev_sick;
	struct log_ratelimit rl_track, rl_fifo, rl_http;

	pthread_mutex_t mu;
	struct ha_pub pub;
};

/* ---- small helpers --------------------------------------------------- */

static const char *
sa_text(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	const void *a = ss->ss_family == AF_INET6
	    ? (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr
	    : (const void *)&((const struct sockaddr_in *)ss)->sin_addr;

	if (inet_ntop(ss->ss_family, a, buf, (socklen_t)len) == NULL)
		snprintf(buf, len, "?");
	return buf;
}

static void
publish(struct ha *h)
{
	struct ha_pub *p = &h->pub;

	pthread_mutex_lock(&h->mu);
	p->role = h->role;
	p->since = h->since;
	p->source = h->heard            ? "keepalived"
	    : h->role == HA_ROLE_MASTER ? "vip"
	                                : "none";
	snprintf(p->self_addr, sizeof(p->self_addr), "%s", h->node);
	p->track = h->track;
	p->split = h->split_since != 0;
	p->peer_known = h->peer.last_ok_mono != 0;
	p->peer_role = h->peer.ans.role;
	p->peer_healthy = h->peer.ans.healthy;
	p->peer_since = h->peer.ans.since;
	p->peer_last_seen = h->peer.last_ok_wall;
	p->peer_reachable =
	    h->peer.consecutive_fails == 0 && h->peer.last_ok_mono != 0;
	snprintf(p->peer_err, sizeof(p->peer_err), "%s", h->peer.err);
	pthread_mutex_unlock(&h->mu);
}

/* ---- events ---------------------------------------------------------- */

/*
 * Store an event. ref names it for the store (the same ref again, with an
 * end, closes it): "<prefix>-<start>-<n>", n counting, so that two events
 * of one millisecond (BACKUP then MASTER at start) stay two rows.
 */
static void
event(struct ha *h, const char *ref, uint64_t start, uint64_t end,
    const char *reason, double value, json_t *detail)
{
	struct store_event e;
	char *d;

	if (h->store == NULL) {
		json_decref(detail);
		return;
	}
	memset(&e, 0, sizeof(e));
	snprintf(e.type, sizeof(e.type), "ha");
	snprintf(e.ref, sizeof(e.ref), "%s", ref);
	e.start_ms = (int64_t)start;
	e.end_ms = (int64_t)end;
	snprintf(e.node, sizeof(e.node), "%s", h->node);
	snprintf(e.reason, sizeof(e.reason), "%s", reason);
	e.value = value;
	d = json_dumps(detail, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (d != NULL && strlen(d) < sizeof(e.detail))
		snprintf(e.detail, sizeof(e.detail), "%s", d);
	free(d);
	json_decref(detail);
	store_event(h->store, &e);
}

/* Open an event (stored with no end); takes detail. */
static void
ev_open(struct ha *h, struct open_event *oe, const char *prefix, uint64_t start,
    const char *reason, double value, json_t *detail)
{
	if (oe->open)
		json_decref(oe->detail);
	oe->open = true;
	snprintf(oe->ref, sizeof(oe->ref), "%s-%llu-%u", prefix,
	    (unsigned long long)start, ++h->refs);
	oe->start = start;
	snprintf(oe->reason, sizeof(oe->reason), "%s", reason);
	oe->value = value;
	oe->detail = detail;
	event(h, oe->ref, start, 0, reason, value, json_incref(detail));
}

/* Close it: the same row, with its end, and key: why (if any) added. */
static void
ev_close(struct ha *h, struct open_event *oe, uint64_t end, const char *key,
    const char *why)
{
	if (!oe->open)
		return;
	if (why != NULL)
		json_object_set_new(oe->detail, key, json_string(why));
	event(h, oe->ref, oe->start, end > oe->start ? end : oe->start + 1,
	    oe->reason, oe->value, oe->detail);
	oe->detail = NULL;
	oe->open = false;
}

static json_t *
role_detail(struct ha *h, enum ha_role role, enum ha_role prev)
{
	const struct conf *c = h->conf;

	return json_pack("{s:s, s:s, s:s, s:i, s:s?, s:s?, s:s?, s:s?}", "role",
	    ha_role_name(role), "previous", ha_role_name(prev), "vrrpState",
	    ha_vrrp_name(h->pub.vrrp), "priority", h->pub.priority, "instance",
	    c->ha_instance ? c->ha_instance
	                   : (h->pub.heard_name[0] ? h->pub.heard_name : NULL),
	    "vip", c->ha_vip, "peer", c->ha_peer, "peerRole",
	    h->peer.last_ok_mono ? ha_role_name(h->peer.ans.role) : NULL);
}

/* ---- VIP-feed: the MASTER forwards every datagram to the peer -------- */

/* Put or delete one VIP-feed target. */
static void
forwarding_one(struct ha *h, const struct fwddef *d, bool want)
{
	char err[128];

	if (want) {
		int r = forward_put(h->forward, d, err, sizeof(err));

		if (r == 0)
			log_info("ha",
			    "VIP-feed: forwarding every %s datagram to the "
			    "peer's %s:%d",
			    d->netflow ? "NetFlow/IPFIX" : "sFlow",
			    d->addr_text, d->port);
		else if (r < 0)
			log_warnx_rl(&h->rl_track, "ha",
			    "VIP-feed: cannot forward to the peer: %s", err);
	} else if (forward_delete(h->forward, d->name) == 0) {
		log_info("ha",
		    "VIP-feed: no longer forwarding %s to the peer (%s)",
		    d->netflow ? "NetFlow/IPFIX" : "sFlow",
		    h->split_since ? "split brain" : ha_role_name(h->role));
	}
}

static void
forwarding(struct ha *h)
{
	bool want = h->forward != NULL && h->fwd_ok &&
	    h->role == HA_ROLE_MASTER && h->split_since == 0;

	if (h->forward == NULL || !h->fwd_ok)
		return;
	forwarding_one(h, &h->fwd, want);
	if (h->fwd_nf_ok)
		forwarding_one(h, &h->fwd_nf, want);
	pthread_mutex_lock(&h->mu);
	h->pub.forwarding = want;
	pthread_mutex_unlock(&h->mu);
}

/* ---- the role -------------------------------------------------------- */

static int holds_vip(struct ha *);
static void hp_start(struct ha *, struct hpoll *);

static void
set_role(struct ha *h, enum ha_role role, const char *why)
{
	uint64_t now = now_wall_ms();
	enum ha_role prev = h->role;

	if (role == prev)
		return;
	log_info("ha", "role %s -> %s (%s)", ha_role_name(prev),
	    ha_role_name(role), why);
	ev_close(h, &h->ev_role, now, "next", ha_role_name(role));
	h->role = role;
	h->since = now;
	/* The MASTER owns SNMP polling; a BACKUP polls rarely, enough to
	 * stay warm (DESIGN §8). */
	if (h->snmp_pace != NULL)
		atomic_store(h->snmp_pace,
		    role == HA_ROLE_BACKUP ? h->conf->ha_backup_poll_factor
		                           : 1);
	if (role != HA_ROLE_UNKNOWN)
		ev_open(h, &h->ev_role, "role", now, ha_role_name(role),
		    h->pub.priority, role_detail(h, role, prev));
	forwarding(h);
	/* Show the new state at once: the VIP (keepalived adds or removes
	 * it before it writes the FIFO), and what the peer says now. */
	pthread_mutex_lock(&h->mu);
	h->pub.holds_vip = holds_vip(h);
	pthread_mutex_unlock(&h->mu);
	hp_start(h, &h->peer);
	publish(h);
}

/* Is this line about the instance we follow? */
static bool
ours(struct ha *h, const struct ha_fifo_msg *m)
{
	const char *want = h->conf->ha_instance;

	if (want != NULL)
		return strcmp(m->name, want) == 0;
	/* Unset: the first instance heard (a pair runs one). */
	return m->kind == HA_FIFO_INSTANCE &&
	    (h->pub.heard_name[0] == '\0' ||
	        strcmp(h->pub.heard_name, m->name) == 0);
}

static void
fifo_line(void *arg, const char *line, size_t len)
{
	struct ha *h = arg;
	struct ha_fifo_msg m;
	int r = ha_fifo_parse(line, len, &m);
	char esc[160];

	if (r != 0) {
		pthread_mutex_lock(&h->mu);
		if (r < 0)
			h->pub.bad_lines++;
		else
			h->pub.other_lines++;
		pthread_mutex_unlock(&h->mu);
		if (r < 0)
			log_warnx_rl(&h->rl_fifo, "ha",
			    "notify FIFO: a line that is not keepalived's: %s",
			    str_escape(
			        esc, sizeof(esc), (const uint8_t *)line, len));
		return;
	}
	if (!ours(h, &m)) {
		pthread_mutex_lock(&h->mu);
		h->pub.other_lines++;
		pthread_mutex_unlock(&h->mu);
		log_debug("ha", "notify FIFO: %s \"%s\" %s is not ours",
		    m.kind == HA_FIFO_GROUP ? "GROUP" : "INSTANCE", m.name,
		    ha_vrrp_name(m.state));
		return;
	}
	pthread_mutex_lock(&h->mu);
	h->pub.lines++;
	h->pub.vrrp = m.state;
	h->pub.priority = m.priority;
	h->pub.last_event = now_wall_ms();
	snprintf(h->pub.heard_name, sizeof(h->pub.heard_name), "%s", m.name);
	pthread_mutex_unlock(&h->mu);
	h->heard = true;
	log_info("ha", "keepalived: %s \"%s\" %s %d",
	    m.kind == HA_FIFO_GROUP ? "GROUP" : "INSTANCE", m.name,
	    ha_vrrp_name(m.state), m.priority);
	if (m.state == HA_VRRP_MASTER_RX_LOWER_PRI) {
		/* Another master on the wire: the two did not hear each
		 * other for a while. The tick turns it into an event. */
		h->rx_lower_mono = now_mono_ms();
		log_warnx("ha",
		    "keepalived heard another MASTER (of lower "
		    "priority): split brain");
	}
	set_role(h, ha_role_of(m.state, h->role), "keepalived");
	publish(h);
}

/* ---- the FIFO -------------------------------------------------------- */

static int
fifo_open(struct ha *h, char *err, size_t errlen)
{
	const char *path = h->conf->ha_notify_fifo;
	struct stat st;
	int fd;

	if (stat(path, &st) == 0) {
		if (!S_ISFIFO(st.st_mode)) {
			snprintf(err, errlen,
			    "ha.notify_fifo %s exists and is not a FIFO", path);
			return -1;
		}
	} else if (errno != ENOENT || mkfifo(path, 0600) != 0) {
		snprintf(err, errlen, "ha.notify_fifo %s: %s", path,
		    strerror(errno));
		return -1;
	}
	fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1 || fstat(fd, &st) != 0) {
		snprintf(err, errlen, "ha.notify_fifo %s: %s", path,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	if (h->fifo_fd != -1)
		close(h->fifo_fd);
	h->fifo_fd = fd;
	h->fifo_dev = st.st_dev;
	h->fifo_ino = st.st_ino;
	h->lb.len = 0;
	h->lb.skipping = false;
	return 0;
}

/* keepalived may have removed the FIFO it created, or made another. */
static void
fifo_check(struct ha *h)
{
	struct stat st;
	char err[256];

	if (stat(h->conf->ha_notify_fifo, &st) == 0 && S_ISFIFO(st.st_mode) &&
	    st.st_dev == h->fifo_dev && st.st_ino == h->fifo_ino)
		return;
	if (fifo_open(h, err, sizeof(err)) == 0)
		log_info("ha", "notify FIFO %s replaced: reopened",
		    h->conf->ha_notify_fifo);
	else
		log_warnx_rl(&h->rl_fifo, "ha", "%s", err);
}

static void
fifo_read(struct ha *h)
{
	char buf[4096];

	for (;;) {
		ssize_t n = read(h->fifo_fd, buf, sizeof(buf));

		if (n > 0) {
			ha_linebuf_feed(&h->lb, buf, (size_t)n, fifo_line, h);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		break; /* EAGAIN; never EOF: we hold a writer too */
	}
	pthread_mutex_lock(&h->mu);
	h->pub.bad_lines += h->lb.overlong;
	pthread_mutex_unlock(&h->mu);
	h->lb.overlong = 0;
}

/* ---- HTTP, a GET a second -------------------------------------------- */

static void
hp_close(struct hpoll *p)
{
	if (p->fd != -1)
		close(p->fd);
	p->fd = -1;
	p->st = HP_IDLE;
}

static void
hp_fail(struct ha *h, struct hpoll *p, const char *fmt, const char *arg)
{
	p->failures++;
	p->consecutive_fails++;
	snprintf(p->err, sizeof(p->err), fmt, arg);
	if (p->consecutive_fails == 3)
		log_warnx_rl(
		    &h->rl_http, "ha", "%s %s: %s", p->what, p->host, p->err);
	hp_close(p);
}

static void
hp_start(struct ha *h, struct hpoll *p)
{
	int fd;

	if (!p->configured || p->st != HP_IDLE)
		return;
	p->polls++;
	p->len = 0;
	fd = socket(
	    p->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		hp_fail(h, p, "socket: %s", strerror(errno));
		return;
	}
	p->fd = fd;
	p->deadline = now_mono_ms() + HA_HTTP_TIMEOUT;
	p->req_len = (size_t)snprintf(p->req, sizeof(p->req),
	    "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: fabmond-ha\r\n"
	    "Accept: application/json\r\nConnection: close\r\n\r\n",
	    p->path, p->host);
	p->req_off = 0;
	if (connect(fd, (struct sockaddr *)&p->sa, p->salen) == 0)
		p->st = HP_SENDING;
	else if (errno == EINPROGRESS)
		p->st = HP_CONNECTING;
	else
		hp_fail(h, p, "connect: %s", strerror(errno));
}

/*
 * Is the answer whole? (Connection: close would tell, but only once the
 * server closes; lws may keep it open after the body.) buf is NUL
 * terminated, so strtoul() stops inside it whatever the peer sent.
 */
static bool
hp_complete(const struct hpoll *p)
{
	const char *end = memmem(p->buf, p->len, "\r\n\r\n", 4), *cl;
	size_t hlen, body;

	if (end == NULL)
		return false;
	hlen = (size_t)(end - p->buf) + 4;
	body = p->len - hlen;
	cl = memmem(p->buf, hlen, "\r\nContent-Length:", 17);
	if (cl == NULL)
		cl = memmem(p->buf, hlen, "\r\ncontent-length:", 17);
	if (cl != NULL)
		return body >= strtoul(cl + 17, NULL, 10);
	return body >= 5 && memcmp(p->buf + p->len - 5, "0\r\n\r\n", 5) == 0;
}

static void
hp_done(struct ha *h, struct hpoll *p)
{
	struct ha_peer_answer a;
	int r = ha_peer_parse(p->buf ? p->buf : "", p->len, &a);
	bool ok = p == &h->self ? a.status == 200 : r == 0;

	hp_close(p);
	if (!ok) {
		char what[32];

		snprintf(what, sizeof(what), "HTTP %d", a.status);
		hp_fail(
		    h, p, "a bad answer (%s)", a.status ? what : "not HTTP");
		return;
	}
	if (p->consecutive_fails >= 3)
		log_info("ha", "%s %s answers again", p->what, p->host);
	if (p == &h->peer && (p->last_ok_mono == 0 || p->ans.role != a.role))
		log_info("ha", "peer %s is %s", p->host, ha_role_name(a.role));
	p->consecutive_fails = 0;
	p->err[0] = '\0';
	p->last_ok_mono = now_mono_ms();
	p->last_ok_wall = now_wall_ms();
	if (p == &h->peer)
		p->ans = a;
}

static void
hp_step(struct ha *h, struct hpoll *p, short revents)
{
	if (p->st == HP_IDLE)
		return;
	if (now_mono_ms() >= p->deadline) {
		hp_fail(h, p, "%s", "no answer in time");
		return;
	}
	if (revents == 0)
		return;
	if (p->st == HP_CONNECTING) {
		int e = 0;
		socklen_t el = sizeof(e);

		getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &e, &el);
		if (e != 0) {
			hp_fail(h, p, "connect: %s", strerror(e));
			return;
		}
		p->st = HP_SENDING;
	}
	if (p->st == HP_SENDING) {
		ssize_t n = send(p->fd, p->req + p->req_off,
		    p->req_len - p->req_off, MSG_NOSIGNAL);

		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			hp_fail(h, p, "send: %s", strerror(errno));
			return;
		}
		if (n > 0)
			p->req_off += (size_t)n;
		if (p->req_off == p->req_len)
			p->st = HP_READING;
		return;
	}
	for (;;) {
		ssize_t n;

		if (p->cap - p->len < 4096) {
			if (p->cap >= HA_HTTP_MAX) {
				hp_fail(h, p, "%s", "the answer is too long");
				return;
			}
			p->cap = p->cap ? p->cap * 2 : 8192;
			p->buf = xrealloc(p->buf, p->cap);
		}
		/* one byte kept for a NUL: hp_complete() reads numbers */
		n = recv(p->fd, p->buf + p->len, p->cap - p->len - 1, 0);
		if (n > 0) {
			p->len += (size_t)n;
			p->buf[p->len] = '\0';
			if (hp_complete(p)) {
				hp_done(h, p);
				return;
			}
			continue;
		}
		if (n == 0) {
			hp_done(h, p);
			return;
		}
		if (errno == EAGAIN || errno == EINTR)
			return;
		hp_fail(h, p, "recv: %s", strerror(errno));
		return;
	}
}

static short
hp_events(const struct hpoll *p)
{
	switch (p->st) {
	case HP_CONNECTING:
	case HP_SENDING:
		return POLLOUT;
	case HP_READING:
		return POLLIN;
	case HP_IDLE:
		break;
	}
	return 0;
}

/*
 * ADDR:PORT (conf.c's form) to a socket address; an any-address (our own
 * http.listen of 0.0.0.0 or ::) becomes loopback.
 */
static int
hp_setup(struct hpoll *p, const char *what, const char *addr, int defport,
    const char *path)
{
	char a[64];

	p->what = what;
	p->path = path;
	p->fd = -1;
	if (addr == NULL || addrport_parse(addr, defport, &p->sa, &p->salen))
		return -1;
	if (p->sa.ss_family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)&p->sa;

		if (s->sin_addr.s_addr == htonl(INADDR_ANY))
			s->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		snprintf(p->host, sizeof(p->host), "%s:%d",
		    sa_text(&p->sa, a, sizeof(a)), ntohs(s->sin_port));
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&p->sa;

		if (IN6_IS_ADDR_UNSPECIFIED(&s->sin6_addr))
			s->sin6_addr = in6addr_loopback;
		snprintf(p->host, sizeof(p->host), "[%s]:%d",
		    sa_text(&p->sa, a, sizeof(a)), ntohs(s->sin6_port));
	}
	p->configured = true;
	return 0;
}

/* ---- the track file -------------------------------------------------- */

/*
 * Write it whole into a temporary file, then rename it over the track
 * file: keepalived (inotify) never reads half a number. Written every
 * tick, so that its mtime is a heartbeat (ha/fabmon-ha-check).
 */
static int
track_write(struct ha *h, int value, char *err, size_t errlen)
{
	const char *path = h->conf->ha_track_file;
	char tmp[4096], txt[16];
	int fd, n;

	if (path == NULL)
		return 0;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	n = snprintf(txt, sizeof(txt), "%d\n", value);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd == -1 || write(fd, txt, (size_t)n) != n || close(fd) != 0 ||
	    rename(tmp, path) != 0) {
		int e = errno;

		if (fd != -1)
			unlink(tmp);
		snprintf(
		    err, errlen, "ha.track_file %s: %s", path, strerror(e));
		return -1;
	}
	return 0;
}

/* ---- the VIP and our own address ------------------------------------- */

static int
holds_vip(struct ha *h)
{
	struct ifaddrs *ifs, *i;
	int found = 0;

	if (h->vip_family == 0)
		return -1;
	if (getifaddrs(&ifs) != 0)
		return -1;
	for (i = ifs; i != NULL && !found; i = i->ifa_next) {
		const struct sockaddr *sa = i->ifa_addr;

		if (sa == NULL)
			continue;
		if (sa->sa_family == AF_INET && h->vip_family == 4)
			found =
			    memcmp(&((const struct sockaddr_in *)sa)->sin_addr,
			        h->vip, 4) == 0;
		else if (sa->sa_family == AF_INET6 && h->vip_family == 6)
			found =
			    memcmp(
			        &((const struct sockaddr_in6 *)sa)->sin6_addr,
			        h->vip, 16) == 0;
	}
	freeifaddrs(ifs);
	return found;
}

/*
 * Our address toward the peer (a connected UDP socket sends nothing), or
 * the host name: the events' node, and "address" in the API.
 */
static void
find_node(struct ha *h)
{
	struct sockaddr_storage me;
	socklen_t ml = sizeof(me);
	int fd;

	if (h->peer.configured &&
	    (fd = socket(h->peer.sa.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0)) !=
	        -1) {
		if (connect(fd, (struct sockaddr *)&h->peer.sa,
		        h->peer.salen) == 0 &&
		    getsockname(fd, (struct sockaddr *)&me, &ml) == 0) {
			sa_text(&me, h->node, sizeof(h->node));
			close(fd);
			return;
		}
		close(fd);
	}
	if (h->node[0] == '\0' && gethostname(h->node, sizeof(h->node)) != 0)
		snprintf(h->node, sizeof(h->node), "fabmond");
	h->node[sizeof(h->node) - 1] = '\0';
}

/* ---- the tick -------------------------------------------------------- */

static void
sample(struct ha *h, struct ha_health_in *in)
{
	const struct conf *c = h->conf;
	uint64_t mono = now_mono_ms(), wall = now_wall_ms();
	struct ingest_snap *is = (void *)snap_slot_get(h->ingest);
	struct topo_snap *ts = h->topo ? (void *)snap_slot_get(h->topo) : NULL;

	memset(in, 0, sizeof(*in));
	in->uptime_ms = wall > h->started_ms ? wall - h->started_ms : 0;
	in->push_ms = (uint32_t)c->push_ms;
	if (is != NULL) {
		in->ingest_known = true;
		in->ingest_loop_age_ms =
		    mono > is->loop_mono_ms ? mono - is->loop_mono_ms : 0;
		in->datagram_seen = is->last_datagram_mono_ms != 0;
		in->datagram_age_ms = mono > is->last_datagram_mono_ms
		    ? mono - is->last_datagram_mono_ms
		    : 0;
		snap_put(&is->base);
	}
	if (h->store != NULL) {
		struct store_stats st;

		store_get_stats(h->store, &st);
		in->store_present = true;
		in->store_degraded = st.degraded;
	}
	in->snmp_enabled = c->snmp_enable != 0;
	{
		/* a BACKUP polls this many times less often: wait as long
		 * for a switch's answer before calling the topology stale */
		int pace = h->snmp_pace ? atomic_load(h->snmp_pace) : 1;

		if (pace < 1)
			pace = 1;
		in->snmp_status_s = (uint32_t)(c->snmp_status_s * pace);
		in->snmp_poll_s = (uint32_t)(c->snmp_poll_s * pace);
	}
	if (ts != NULL) {
		uint64_t newest = 0;

		in->topo_known = true;
		in->topo_restored = ts->restored;
		in->topo_built_age_ms =
		    wall > ts->built_ms ? wall - ts->built_ms : 0;
		for (size_t i = 0; i < ts->n_targets; i++)
			if (ts->targets[i].last_ok_ms > newest)
				newest = ts->targets[i].last_ok_ms;
		in->topo_polled = newest != 0;
		in->topo_ok_age_ms =
		    newest && wall > newest ? wall - newest : 0;
		snap_put(&ts->base);
	}
	in->api_failures = h->self.consecutive_fails;
	in->stopping = atomic_load(&h->stop);
}

/*
 * The peer as the judgement sees it. An answer counts only if the last
 * poll succeeded and it came after our own role changed: when we have
 * just become MASTER, the answer the peer gave a second ago (MASTER,
 * healthy) is why we did not need to, not a proof that it can take over
 * now; a dead peer must not make a sick survivor step down too.
 */
static void
peer_view(struct ha *h, struct ha_peer_view *v)
{
	memset(v, 0, sizeof(*v));
	if (h->peer.last_ok_mono == 0 || h->peer.consecutive_fails > 0 ||
	    h->peer.last_ok_wall < h->since)
		return;
	v->known = true;
	v->answered_age = now_mono_ms() - h->peer.last_ok_mono;
	v->role = h->peer.ans.role;
	v->healthy = h->peer.ans.healthy;
}

static json_t *
reasons_json(unsigned reasons)
{
	json_t *a = json_array();

	for (unsigned b = 1; b & HA_R_ALL; b <<= 1)
		if (reasons & b)
			json_array_append_new(
			    a, json_string(ha_reason_name(b)));
	return a;
}

static void
tick(struct ha *h)
{
	struct ha_health_in in;
	struct ha_peer_view pv;
	unsigned reasons;
	int track, vip;
	uint64_t now = now_wall_ms(), mono = now_mono_ms();
	bool split;
	char err[256], rs[96];

	if (h->fifo_fd != -1)
		fifo_check(h);
	if (h->node[0] == '\0' || strcmp(h->node, "?") == 0 ||
	    (mono / HA_TICK_MS) % 30 == 0)
		find_node(h);
	vip = holds_vip(h);
	/*
	 * Until keepalived has spoken (fabmond restarted under a running
	 * keepalived, which writes only on changes: ha/README.md has it
	 * reload, with fifo_write_vrrp_states_on_reload), the VIP on one of
	 * our interfaces says MASTER.
	 */
	if (!h->heard && vip >= 0)
		set_role(h, vip ? HA_ROLE_MASTER : HA_ROLE_UNKNOWN,
		    vip ? "the VIP is ours" : "the VIP is not ours");

	sample(h, &in);
	reasons = ha_health_judge(&in);
	peer_view(h, &pv);
	track = ha_track_value(reasons, &pv);
	if (reasons != h->pub.reasons)
		log_info("ha", "health: %s",
		    reasons ? ha_reasons_text(reasons, rs, sizeof(rs)) : "ok");
	if (track_write(h, track, err, sizeof(err)) != 0) {
		pthread_mutex_lock(&h->mu);
		h->pub.track_errors++;
		pthread_mutex_unlock(&h->mu);
		log_warnx_rl(&h->rl_track, "ha", "%s", err);
	} else if (track != h->track) {
		if (track != 0)
			log_warnx("ha",
			    "unhealthy (%s) and the peer can take over: "
			    "stepping down (track file %d)",
			    ha_reasons_text(reasons, rs, sizeof(rs)), track);
		else
			log_info("ha", "track file 0: %s",
			    reasons ? "unhealthy, but the peer cannot take over"
			            : "healthy");
		h->track = track;
	}
	/* Stepping down for sickness: an event while it lasts. */
	if (track != 0 && !(reasons & HA_R_STOPPING) && h->sick_since == 0) {
		h->sick_since = now;
		h->sick_reasons = reasons;
		ev_open(h, &h->ev_sick, "unhealthy", now, "unhealthy", reasons,
		    json_pack("{s:o, s:s, s:s?}", "reasons",
		        reasons_json(reasons), "role", ha_role_name(h->role),
		        "peerRole", ha_role_name(pv.role)));
	} else if (track == 0 && h->sick_since != 0) {
		ev_close(h, &h->ev_sick, now, "ended",
		    reasons ? "the peer cannot take over" : "healthy");
		h->sick_since = 0;
	}

	split = ha_split_brain(h->role, &pv,
	    h->rx_lower_mono ? mono - h->rx_lower_mono : UINT64_MAX);
	if (split && h->split_since == 0) {
		bool by_peer = pv.known && pv.role == HA_ROLE_MASTER;

		h->split_since = now;
		log_warnx("ha", "split brain: %s",
		    by_peer ? "the peer says MASTER too"
		            : "keepalived heard another MASTER");
		ev_open(h, &h->ev_split, "split", now, "split_brain", 0,
		    json_pack("{s:s, s:s?, s:b}", "how",
		        by_peer ? "peer" : "vrrp", "peer", h->conf->ha_peer,
		        "holdsVip", vip == 1));
	} else if (!split && h->split_since != 0) {
		log_info("ha", "split brain over: %s is %s", h->peer.host,
		    pv.known ? ha_role_name(pv.role) : "not answering");
		ev_close(h, &h->ev_split, now, "peerRole",
		    pv.known ? ha_role_name(pv.role) : "silent");
		h->split_since = 0;
	}
	forwarding(h);
	pthread_mutex_lock(&h->mu);
	h->pub.holds_vip = vip;
	h->pub.reasons = reasons;
	pthread_mutex_unlock(&h->mu);
	publish(h);
	hp_start(h, &h->peer);
	hp_start(h, &h->self);
}

static void *
ha_main(void *arg)
{
	struct ha *h = arg;
	uint64_t next = now_mono_ms() + HA_TICK_MS;

	thread_role("fab-ha", 0);
	hp_start(h, &h->peer);
	hp_start(h, &h->self);
	while (!atomic_load(&h->stop)) {
		struct pollfd pf[4];
		struct hpoll *hp[2] = { &h->peer, &h->self };
		uint64_t now = now_mono_ms(),
		         wait = next > now ? next - now : 0;
		nfds_t n = 0;
		int r;

		pf[n++] = (struct pollfd){ h->wake_fd, POLLIN, 0 };
		pf[n++] = (struct pollfd){ h->fifo_fd, POLLIN, 0 };
		for (int i = 0; i < 2; i++) {
			pf[n++] =
			    (struct pollfd){ hp[i]->fd, hp_events(hp[i]), 0 };
			if (hp[i]->st != HP_IDLE &&
			    hp[i]->deadline < now + wait)
				wait = hp[i]->deadline > now
				    ? hp[i]->deadline - now
				    : 0;
		}
		r = poll(pf, n, (int)wait);
		if (r < 0 && errno != EINTR) {
			log_warn("ha", "poll");
			break;
		}
		if (pf[1].revents & POLLIN)
			fifo_read(h);
		for (int i = 0; i < 2; i++)
			hp_step(h, hp[i], r > 0 ? pf[2 + i].revents : 0);
		if (now_mono_ms() >= next) {
			tick(h);
			next += HA_TICK_MS;
			if (next <= now_mono_ms())
				next = now_mono_ms() + HA_TICK_MS;
		}
	}
	return NULL;
}

/* ---- the API --------------------------------------------------------- */

static void
ha_free(struct ha *h)
{
	if (h == NULL)
		return;
	hp_close(&h->peer);
	hp_close(&h->self);
	json_decref(h->ev_role.detail);
	json_decref(h->ev_split.detail);
	json_decref(h->ev_sick.detail);
	free(h->peer.buf);
	free(h->self.buf);
	if (h->fifo_fd != -1)
		close(h->fifo_fd);
	if (h->wake_fd != -1)
		close(h->wake_fd);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

static int
vip_parse(struct ha *h, const char *s)
{
	char a[64];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);

	if (n >= sizeof(a))
		return -1;
	memcpy(a, s, n);
	a[n] = '\0';
	if (inet_pton(AF_INET, a, h->vip) == 1)
		h->vip_family = 4;
	else if (inet_pton(AF_INET6, a, h->vip) == 1)
		h->vip_family = 6;
	else
		return -1;
	return 0;
}

struct ha *
ha_start(const struct ha_in *in, bool *failed, char *err, size_t errlen)
{
	const struct conf *c = in->conf;
	struct ha *h;

	*failed = false;
	if (c->ha_notify_fifo == NULL)
		return NULL;
	*failed = true;
	h = xcalloc(1, sizeof(*h));
	h->conf = c;
	h->ingest = in->ingest;
	h->topo = in->topo;
	h->store = in->store;
	h->started_ms = in->started_ms;
	h->forward = in->forward;
	h->snmp_pace = in->snmp_pace;
	h->fifo_fd = -1;
	h->wake_fd = -1;
	h->peer.fd = h->self.fd = -1;
	h->track = -1;
	h->since = in->started_ms;
	h->pub.priority = -1;
	h->pub.holds_vip = -1;
	h->pub.since = in->started_ms;
	h->pub.source = "none";
	h->rl_track = (struct log_ratelimit)LOG_RATELIMIT_INIT(60000, 3);
	h->rl_fifo = (struct log_ratelimit)LOG_RATELIMIT_INIT(60000, 5);
	h->rl_http = (struct log_ratelimit)LOG_RATELIMIT_INIT(60000, 5);
	pthread_mutex_init(&h->mu, NULL);
	if (c->ha_vip != NULL && vip_parse(h, c->ha_vip) != 0) {
		snprintf(
		    err, errlen, "ha.vip '%s' is not an IP address", c->ha_vip);
		goto fail;
	}
	if (c->ha_peer != NULL &&
	    hp_setup(&h->peer, "peer", c->ha_peer, 8008, "/api/v1/ha") != 0) {
		snprintf(
		    err, errlen, "ha.peer '%s' is not ADDR:PORT", c->ha_peer);
		goto fail;
	}
	if (hp_setup(&h->self, "self", c->http_listen, 8008, "/version") != 0)
		h->self.configured = false; /* conf.c checked it already */
	if (in->forward != NULL && in->forward_to != NULL) {
		struct sockaddr_storage ss;
		socklen_t sl;
		char a[64], body[160];

		if (addrport_parse(in->forward_to, 6343, &ss, &sl) != 0) {
			snprintf(err, errlen,
			    "the VIP-feed target '%s' is not "
			    "ADDR:PORT",
			    in->forward_to);
			goto fail;
		}
		snprintf(body, sizeof(body), "{\"address\":\"%s\",\"port\":%d}",
		    sa_text(&ss, a, sizeof(a)),
		    ntohs(((struct sockaddr_in *)&ss)->sin_port));
		if (fwddef_parse(HA_FWD_NAME, body, strlen(body), &h->fwd, err,
		        errlen) != 0)
			goto fail;
		h->fwd_ok = true;
		if (in->forward_netflow_to != NULL) {
			if (addrport_parse(
			        in->forward_netflow_to, 2055, &ss, &sl) != 0) {
				snprintf(err, errlen,
				    "the VIP-feed NetFlow target '%s' is not "
				    "ADDR:PORT",
				    in->forward_netflow_to);
				goto fail;
			}
			snprintf(body, sizeof(body),
			    "{\"address\":\"%s\",\"port\":%d,"
			    "\"protocol\":\"netflow\",\"relay\":true}",
			    sa_text(&ss, a, sizeof(a)),
			    ntohs(((struct sockaddr_in *)&ss)->sin_port));
			if (fwddef_parse(HA_FWD_NAME_NF, body, strlen(body),
			        &h->fwd_nf, err, errlen) != 0)
				goto fail;
			h->fwd_nf_ok = true;
		}
	}
	if (fifo_open(h, err, errlen) != 0)
		goto fail;
	/*
	 * Not judged yet: with a peer to take over, say "not ready" until
	 * the first tick (1 s, after the first answer from the peer), so
	 * that a daemon that just started does not claim the VIP on the
	 * strength of the value a previous run (or ExecStopPost) left.
	 */
	h->track = h->peer.configured ? 1 : 0;
	if (track_write(h, h->track, err, errlen) != 0)
		goto fail;
	h->track = -1; /* the first tick logs what it decides */
	find_node(h);
	h->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (h->wake_fd == -1) {
		snprintf(err, errlen, "ha: eventfd: %s", strerror(errno));
		goto fail;
	}
	if (pthread_create(&h->thread, NULL, ha_main, h) != 0) {
		snprintf(err, errlen, "ha: cannot start the thread");
		goto fail;
	}
	h->running = true;
	*failed = false;
	log_info("ha", "following keepalived's notify FIFO %s%s%s%s%s",
	    c->ha_notify_fifo, c->ha_track_file ? ", track file " : "",
	    c->ha_track_file ? c->ha_track_file : "",
	    c->ha_peer ? ", peer " : "", c->ha_peer ? c->ha_peer : "");
	return h;
fail:
	ha_free(h);
	return NULL;
}

void
ha_stop(struct ha *h)
{
	uint64_t one = 1;
	char err[256];

	if (h == NULL)
		return;
	atomic_store(&h->stop, true);
	if (h->running) {
		if (write(h->wake_fd, &one, sizeof(one)) < 0)
			log_warn("ha", "eventfd");
		pthread_join(h->thread, NULL);
	}
	/*
	 * Hand the VIP over before the rest shuts down: keepalived goes
	 * FAULT on a non-zero track file (ExecStopPost writes the same for
	 * a daemon that dies without coming here).
	 */
	if (track_write(h, 1, err, sizeof(err)) != 0)
		log_warnx("ha", "%s", err);
	if (h->forward != NULL) {
		forward_delete(h->forward, HA_FWD_NAME);
		forward_delete(h->forward, HA_FWD_NAME_NF);
	}
	ev_close(h, &h->ev_role, now_wall_ms(), "ended", "fabmond stopped");
	ev_close(h, &h->ev_split, now_wall_ms(), "ended", "fabmond stopped");
	ev_close(h, &h->ev_sick, now_wall_ms(), "ended", "fabmond stopped");
	ha_free(h);
}

json_t *
ha_json(struct ha *h, uint64_t started_ms)
{
	const struct conf *c;
	struct ha_pub p;
	json_t *o, *peer = NULL, *vrrp, *health;

	if (h == NULL)
		return json_pack("{s:s, s:I, s:n, s:n, s:n}", "role",
		    "STANDALONE", "since", (json_int_t)started_ms, "instance",
		    "peer", "vip");
	c = h->conf;
	pthread_mutex_lock(&h->mu);
	p = h->pub;
	pthread_mutex_unlock(&h->mu);
	if (c->ha_peer != NULL) {
		peer = json_pack("{s:s, s:s?, s:o, s:b, s:o, s:o, s:s?}",
		    "address", c->ha_peer, "role",
		    p.peer_known ? ha_role_name(p.peer_role) : NULL, "lastSeen",
		    p.peer_last_seen
		        ? json_integer((json_int_t)p.peer_last_seen)
		        : json_null(),
		    "reachable", p.peer_reachable, "healthy",
		    p.peer_known ? json_boolean(p.peer_healthy) : json_null(),
		    "since",
		    p.peer_known && p.peer_since >= 0
		        ? json_integer((json_int_t)p.peer_since)
		        : json_null(),
		    "error", p.peer_err[0] ? p.peer_err : NULL);
	}
	vrrp = json_pack("{s:s?, s:o, s:o, s:I, s:I}", "state",
	    p.vrrp != HA_VRRP_NONE ? ha_vrrp_name(p.vrrp) : NULL, "priority",
	    p.priority >= 0 ? json_integer(p.priority) : json_null(),
	    "lastEvent",
	    p.last_event ? json_integer((json_int_t)p.last_event) : json_null(),
	    "lines", (json_int_t)p.lines, "badLines", (json_int_t)p.bad_lines);
	health = json_pack("{s:b, s:o, s:i, s:s?, s:I}", "ok", p.reasons == 0,
	    "reasons", reasons_json(p.reasons), "track",
	    p.track < 0 ? 0 : p.track, "trackFile", c->ha_track_file,
	    "trackErrors", (json_int_t)p.track_errors);
	o = json_pack("{s:s, s:I, s:s?, s:o, s:s?, s:s?, s:o, s:s, s:o, s:o, "
	              "s:b, s:s, s:b}",
	    "role", ha_role_name(p.role), "since", (json_int_t)p.since,
	    "instance",
	    c->ha_instance ? c->ha_instance
	                   : (p.heard_name[0] ? p.heard_name : NULL),
	    "peer", peer ? peer : json_null(), "vip", c->ha_vip, "address",
	    p.self_addr[0] ? p.self_addr : NULL, "holdsVip",
	    p.holds_vip < 0 ? json_null() : json_boolean(p.holds_vip),
	    "roleSource", p.source, "vrrp", vrrp, "health", health,
	    "splitBrain", p.split, "feed", h->fwd_ok ? "vip" : "dual",
	    "forwarding", p.forwarding);
	json_object_set_new(o, "snmpPace",
	    json_integer(h->snmp_pace ? atomic_load(h->snmp_pace) : 1));
	return o;
}
