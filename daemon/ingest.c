/*
 * ingest.c: the ingest thread. It receives sFlow datagrams with recvmmsg in
 * batches, hands each to agents_process() (pure decode and accounting), and
 * publishes an immutable snapshot every push period. It is the only owner
 * of the agent table.
 *
 * Kernel drops are read per socket from SO_RXQ_OVFL, which the kernel
 * attaches to every received datagram: the count of datagrams it had to
 * drop on that socket because the receive buffer was full.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/sock_diag.h>
#include <unistd.h>

#include "engine.h"
#include "forward.h"
#include "fwddef.h"
#include "ingest.h"
#include "log.h"
#include "netflow.h"
#include "nfin.h"
#include "util.h"

#define BATCH 64

struct ingest {
	const struct conf *conf;
	struct snap_slot *out;
	void (*wake)(void *);
	void *wake_arg;

	int fds[INGEST_MAX_SOCKETS];
	char listen[INGEST_MAX_SOCKETS][64];
	char proto[INGEST_MAX_SOCKETS][8];
	bool is_netflow[INGEST_MAX_SOCKETS];
	char netflow_skipped[2][128];
	struct nfin *nf; /* NULL: NetFlow off */
	/* who may relay NetFlow with the exporter's address (fwddef.h) */
	struct sflow_addr relay_from[CONF_MAX_LISTEN + 1];
	int n_relay_from;
	uint64_t relayed, relay_refused;
	int rcvbuf[INGEST_MAX_SOCKETS];
	uint32_t ovfl[INGEST_MAX_SOCKETS]; /* last SO_RXQ_OVFL per socket */
	int n;
	size_t dgram_max; /* longer datagrams are cut and counted oversize */

	struct agents *agents;
	struct engine *engine; /* may be NULL: accounting only */
	struct snap_slot *engine_out;
	struct forward *fwd; /* NULL: no forwarding */
	struct forward_dgram fwd_batch[BATCH];
	uint64_t started_ms;
	uint64_t kernel_drops;
	uint64_t recv_errors;
	uint64_t last_datagram_mono_ms;
	uint64_t now_mono; /* of the batch being processed */
	uint64_t pause_us[3], pause_max_us[3]; /* see ingest_snap */
	struct log_ratelimit rl_pause;
	uint64_t rng; /* next_period()'s state */

	struct log_ratelimit rl;
	struct log_ratelimit rl_bad;
	pthread_t thread;
	atomic_bool stop;
	bool running;

	/* recvmmsg buffers */
	uint8_t *bufs;
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_storage from[BATCH];
	char cbuf[BATCH][CMSG_SPACE(sizeof(uint32_t))];
};

/*
 * Bind a UDP socket for sFlow or NetFlow (netflow true). Returns 0, or -1
 * with why in err.
 */
static int
open_socket(
    struct ingest *in, const char *spec, bool netflow, char *err, size_t errlen)
{
	const char *what = netflow ? "netflow" : "sflow";
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, one = 1, zero = 0, size = in->conf->sflow_rcvbuf;
	socklen_t olen = sizeof(size);

	if (in->n == INGEST_MAX_SOCKETS) {
		snprintf(err, errlen, "too many listening sockets");
		return -1;
	}
	if (addrport_parse(
	        spec, netflow ? NETFLOW_PORT_NETFLOW : 6343, &ss, &sl) != 0) {
		snprintf(
		    err, errlen, "%s listen '%s' is not ADDR:PORT", what, spec);
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1 && ss.ss_family == AF_INET6 && errno == EAFNOSUPPORT &&
	    strncmp(spec, "[::]", 4) == 0) {
		/* No IPv6 on this host: fall back to IPv4 any. */
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		uint16_t port = ((struct sockaddr_in6 *)&ss)->sin6_port;

		memset(&ss, 0, sizeof(ss));
		sin->sin_family = AF_INET;
		sin->sin_port = port;
		sl = sizeof(*sin);
		fd = socket(
		    AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	}
	if (fd == -1) {
		snprintf(
		    err, errlen, "socket for %s: %s", spec, strerror(errno));
		return -1;
	}
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
	/* FORCE works as root past rmem_max; fall back to the capped one. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) ==
	    -1)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (bind(fd, (struct sockaddr *)&ss, sl) == -1) {
		snprintf(
		    err, errlen, "bind %s %s: %s", what, spec, strerror(errno));
		close(fd);
		return -1;
	}
	getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, &olen);
	in->fds[in->n] = fd;
	in->rcvbuf[in->n] = size / 2; /* the kernel doubles it for overhead */
	in->is_netflow[in->n] = netflow;
	snprintf(in->proto[in->n], sizeof(in->proto[0]), "%s", what);
	snprintf(in->listen[in->n], sizeof(in->listen[0]), "%s", spec);
	in->n++;
	log_info(
	    "ingest", "%s listening on %s, SO_RCVBUF %d", what, spec, size / 2);
	return 0;
}

/*
 * NetFlow/IPFIX sockets: the configured ones (each must bind), or else
 * the usual ports on every address, skipped with a warning when another
 * program (or another fabmond) has them: zero configuration must not
 * stop an sFlow-only site from starting.
 */
static int
open_netflow(struct ingest *in, char *err, size_t errlen)
{
	static const char *const dflt[] = { "[::]:2055", "[::]:4739" };
	const struct conf *c = in->conf;

	if (!c->netflow_enable)
		return 0;
	for (int i = 0; i < c->n_netflow_listen; i++)
		if (open_socket(in, c->netflow_listen[i], true, err, errlen) !=
		    0)
			return -1;
	if (c->n_netflow_listen > 0)
		return 0;
	for (size_t i = 0; i < nitems(dflt); i++) {
		char why[sizeof(in->netflow_skipped[0]) - 16];

		if (open_socket(in, dflt[i], true, why, sizeof(why)) == 0)
			continue;
		log_warnx("ingest",
		    "NetFlow/IPFIX not taken on %s: %s "
		    "(set netflow.listen or netflow.enable=0)",
		    dflt[i], why);
		snprintf(in->netflow_skipped[i], sizeof(in->netflow_skipped[i]),
		    "%s", why);
	}
	return 0;
}

static void from_addr(const struct sockaddr_storage *, struct sflow_addr *);

/* netflow.relay_from, and the HA peer's address. */
static int
relay_sources(struct ingest *in, char *err, size_t errlen)
{
	const struct conf *c = in->conf;

	for (int i = 0; i < c->n_netflow_relay_from; i++) {
		if (sflow_addr_parse(c->netflow_relay_from[i],
		        &in->relay_from[in->n_relay_from]) != 0) {
			snprintf(err, errlen,
			    "netflow.relay_from '%s' is not an address",
			    c->netflow_relay_from[i]);
			return -1;
		}
		in->n_relay_from++;
	}
	if (c->ha_peer != NULL) {
		struct sockaddr_storage ss;
		socklen_t sl;

		if (addrport_parse(c->ha_peer, 8008, &ss, &sl) == 0)
			from_addr(&ss, &in->relay_from[in->n_relay_from++]);
	}
	return 0;
}

/*
 * A relay frame from the HA peer (fwddef.h): the datagram behind it, and
 * its exporter's address in *src. Returns false to drop it: a relay frame
 * from an address not allowed to relay, or malformed (counted).
 */
static bool
relay_unwrap(
    struct ingest *in, struct sflow_addr *src, const uint8_t **buf, size_t *len)
{
	struct sflow_addr ex;
	int r = fwddef_relay_peek(*buf, *len, &ex);
	bool trusted = false;

	if (r == 0)
		return true;
	for (int i = 0; i < in->n_relay_from; i++)
		if (in->relay_from[i].family == src->family &&
		    memcmp(in->relay_from[i].a, src->a,
		        src->family == 4 ? 4 : 16) == 0)
			trusted = true;
	if (r < 0 || !trusted) {
		char a[64];

		in->relay_refused++;
		log_warnx_rl(&in->rl_bad, "ingest",
		    "NetFlow relay frame from %s refused (%s)",
		    addr_fmt(a, sizeof(a), src->family, src->a),
		    r < 0 ? "malformed" : "not in netflow.relay_from");
		return false;
	}
	in->relayed++;
	*src = ex;
	*buf += FWD_RELAY_HDR;
	*len -= FWD_RELAY_HDR;
	return true;
}

struct ingest *
ingest_new(const struct conf *c, struct snap_slot *out, struct engine *engine,
    struct snap_slot *engine_out, void (*wake)(void *), void *wake_arg,
    char *err, size_t errlen)
{
	struct ingest *in = xcalloc(1, sizeof(*in));

	in->engine = engine;
	in->engine_out = engine_out;
	in->conf = c;
	in->out = out;
	in->wake = wake;
	in->wake_arg = wake_arg;
	if (c->n_sflow_listen == 0) {
		if (open_socket(in, "[::]:6343", false, err, errlen) != 0)
			goto fail;
	}
	for (int i = 0; i < c->n_sflow_listen; i++)
		if (open_socket(in, c->sflow_listen[i], false, err, errlen) !=
		    0)
			goto fail;
	if (open_netflow(in, err, errlen) != 0)
		goto fail;
	if (c->netflow_enable) {
		struct nfin_conf nc = {
			.template_max_age_ms =
			    (uint64_t)c->netflow_template_max_age_s * 1000,
			.pending_ms = (uint64_t)c->netflow_pending_s * 1000,
		};

		in->nf = nfin_new(&nc, engine, NULL);
		if (relay_sources(in, err, errlen) != 0)
			goto fail;
	}
	in->agents = agents_new((size_t)c->max_agents);
	in->dgram_max = (size_t)c->sflow_max_datagram;
	/* One spare byte per buffer: a datagram that fills it was cut. */
	in->bufs = xmalloc((size_t)BATCH * (in->dgram_max + 1));
	in->started_ms = now_wall_ms();
	in->rng = (now_mono_ms() << 20) ^ (uint64_t)(uintptr_t)in ^
	    0x9e3779b97f4a7c15ull;
	in->rl = (struct log_ratelimit)LOG_RATELIMIT_INIT(10000, 5);
	in->rl_bad = (struct log_ratelimit)LOG_RATELIMIT_INIT(10000, 5);
	in->rl_pause = (struct log_ratelimit)LOG_RATELIMIT_INIT(10000, 5);
	atomic_init(&in->stop, false);
	return in;
fail:
	for (int i = 0; i < in->n; i++)
		close(in->fds[i]);
	free(in);
	return NULL;
}

static void
snap_free(struct snap *s)
{
	struct ingest_snap *is = (struct ingest_snap *)s;

	free(is->agents);
	nfin_snap_free(is->netflow);
	free(is);
}

/*
 * A reading of socket k's cumulative drop counter (it wraps at 2^32).
 * Readings come from two places, SO_MEMINFO now and SO_RXQ_OVFL stamped
 * on each datagram when it was queued, so an older (smaller) value can
 * arrive after a newer one: only a forward step counts.
 */
static void
drops_seen(struct ingest *in, int k, uint32_t v)
{
	if ((int32_t)(v - in->ovfl[k]) > 0) {
		in->kernel_drops += (uint32_t)(v - in->ovfl[k]);
		in->ovfl[k] = v;
	}
}

/*
 * SO_RXQ_OVFL only comes with the next datagram: drops at the end of a
 * burst would stay unseen until more traffic came. The socket's drop
 * counter (SO_MEMINFO) is read at each publish as well.
 */
static void
meminfo_drops(struct ingest *in)
{
#ifdef SO_MEMINFO
	for (int k = 0; k < in->n; k++) {
		uint32_t mi[SK_MEMINFO_VARS];
		socklen_t len = sizeof(mi);

		if (getsockopt(in->fds[k], SOL_SOCKET, SO_MEMINFO, mi, &len) !=
		        0 ||
		    len <= SK_MEMINFO_DROPS * sizeof(uint32_t))
			continue;
		drops_seen(in, k, mi[SK_MEMINFO_DROPS]);
	}
#else
	(void)in;
#endif
}

/* A pause of kind k that began at t0 (now_mono_us()) ends now. */
static void
pause_end(struct ingest *in, int k, uint64_t t0)
{
	static const char *const names[] = INGEST_PAUSE_NAMES;
	uint64_t d = now_mono_us() - t0;

	if (d > in->pause_us[k])
		in->pause_us[k] = d;
	if (d > in->pause_max_us[k])
		in->pause_max_us[k] = d;
	if (d >= INGEST_PAUSE_LOG_US)
		log_warnx_rl(&in->rl_pause, "ingest",
		    "away from the sockets for %.1f ms (%s): datagrams queue "
		    "meanwhile",
		    (double)d / 1000.0, names[k]);
}

static void
publish(struct ingest *in, uint64_t mono)
{
	struct ingest_snap *is = xcalloc(1, sizeof(*is));

	snap_init(&is->base, snap_free);
	is->taken_ms = now_wall_ms();
	is->started_ms = in->started_ms;
	is->last_datagram_mono_ms = in->last_datagram_mono_ms;
	is->loop_mono_ms = mono;
	meminfo_drops(in);
	is->kernel_drops = in->kernel_drops;
	is->recv_errors = in->recv_errors;
	is->n_sockets = in->n;
	memcpy(is->listen, in->listen, sizeof(is->listen));
	memcpy(is->rcvbuf, in->rcvbuf, sizeof(is->rcvbuf));
	memcpy(is->proto, in->proto, sizeof(is->proto));
	memcpy(is->netflow_skipped, in->netflow_skipped,
	    sizeof(is->netflow_skipped));
	memcpy(is->pause_us, in->pause_us, sizeof(is->pause_us));
	memcpy(is->pause_max_us, in->pause_max_us, sizeof(is->pause_max_us));
	memset(in->pause_us, 0, sizeof(in->pause_us));
	if (in->nf != NULL) {
		is->netflow = nfin_snapshot(in->nf);
		is->netflow_relayed = in->relayed;
		is->netflow_relay_refused = in->relay_refused;
	}
	agents_totals(in->agents, &is->totals);
	is->agents = agents_snapshot(in->agents, &is->n_agents);
	snap_slot_publish(in->out, &is->base);
	if (in->engine != NULL)
		snap_slot_publish(
		    in->engine_out, &engine_snapshot(in->engine, mono)->base);
	if (in->wake != NULL)
		in->wake(in->wake_arg);
}

static void
from_addr(const struct sockaddr_storage *ss, struct sflow_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)ss;

		a->family = 4;
		memcpy(a->a, &sin->sin_addr, 4);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)ss;

		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			a->family = 4;
			memcpy(a->a, (const uint8_t *)&sin6->sin6_addr + 12, 4);
		} else {
			a->family = 6;
			memcpy(a->a, &sin6->sin6_addr, 16);
		}
	}
}

static void
sample_to_engine(
    void *arg, const struct sflow_datagram *dg, struct sflow_sample *s)
{
	struct ingest *in = arg;

	engine_sample(in->engine, dg, s, in->now_mono);
}

static void
drain(struct ingest *in, int k)
{
	int fd = in->fds[k];

	for (int rounds = 0; rounds < 64; rounds++) {
		uint64_t now = now_wall_ms(), mono = now_mono_ms(), t0;
		int got;

		for (int i = 0; i < BATCH; i++) {
			in->iov[i].iov_base =
			    in->bufs + (size_t)i * (in->dgram_max + 1);
			in->iov[i].iov_len = in->dgram_max + 1;
			memset(&in->msgs[i].msg_hdr, 0,
			    sizeof(in->msgs[i].msg_hdr));
			in->msgs[i].msg_hdr.msg_iov = &in->iov[i];
			in->msgs[i].msg_hdr.msg_iovlen = 1;
			in->msgs[i].msg_hdr.msg_name = &in->from[i];
			in->msgs[i].msg_hdr.msg_namelen = sizeof(in->from[i]);
			in->msgs[i].msg_hdr.msg_control = in->cbuf[i];
			in->msgs[i].msg_hdr.msg_controllen =
			    sizeof(in->cbuf[i]);
		}
		got = recvmmsg(fd, in->msgs, BATCH, MSG_DONTWAIT, NULL);
		t0 = now_mono_us();
		if (got <= 0) {
			if (got < 0 && errno != EAGAIN && errno != EINTR &&
			    errno != EWOULDBLOCK) {
				in->recv_errors++;
				log_warnx_rl(&in->rl, "ingest", "recvmmsg: %s",
				    strerror(errno));
			}
			return;
		}
		for (int i = 0; i < got; i++) {
			struct msghdr *mh = &in->msgs[i].msg_hdr;
			struct forward_dgram *fw = &in->fwd_batch[i];
			struct sflow_addr src;
			struct cmsghdr *cm;
			size_t len = in->msgs[i].msg_len;
			int trunc = (mh->msg_flags & MSG_TRUNC) != 0 ||
			    len > in->dgram_max;

			for (cm = CMSG_FIRSTHDR(mh); cm != NULL;
			     cm = CMSG_NXTHDR(mh, cm)) {
				if (cm->cmsg_level == SOL_SOCKET &&
				    cm->cmsg_type == SO_RXQ_OVFL) {
					uint32_t v;

					memcpy(&v, CMSG_DATA(cm), sizeof(v));
					/* cumulative per socket; wraps at 2^32
					 */
					drops_seen(in, k, v);
				}
			}
			if (len > in->dgram_max)
				len = in->dgram_max;
			from_addr(&in->from[i], &src);
			fw->buf = in->iov[i].iov_base;
			fw->len = len;
			fw->from = &in->from[i];
			in->now_mono = mono;
			if (in->is_netflow[k]) {
				const uint8_t *b = in->iov[i].iov_base;
				size_t l = len;

				if (relay_unwrap(in, &src, &b, &l))
					nfin_process(in->nf, &src, b, l, trunc,
					    now, mono);
				continue;
			}
			agents_process(in->agents, &src, in->iov[i].iov_base,
			    len, trunc, now, mono,
			    in->engine ? sample_to_engine : NULL, in);
			if (agents_last_error(in->agents) != SFLOW_OK) {
				char a[64];

				log_warnx_rl(&in->rl_bad, "ingest",
				    "bad datagram from %s: %s (%zu bytes)",
				    addr_fmt(a, sizeof(a), src.family, src.a),
				    sflow_err_name(
				        agents_last_error(in->agents)),
				    len);
			}
		}
		in->last_datagram_mono_ms = mono;
		if (in->fwd != NULL)
			forward_batch(in->fwd, in->fwd_batch, (size_t)got,
			    in->is_netflow[k]);
		pause_end(in, INGEST_PAUSE_BATCH, t0);
		if (got < BATCH)
			return;
	}
}

/*
 * The time to the next snapshot: the push period, give or take a quarter
 * at random. Exporters send in bursts (uacctd once a second; switches
 * when a datagram fills or their timer fires), and a smoothed rate is a
 * sawtooth between bursts: a snapshot taken at a fixed phase to them
 * reads the same point of the sawtooth every time, so its rates are
 * biased by that phase for as long as it holds. Jitter makes the phase
 * wander, so that rates averaged over a few periods are right.
 */
static uint64_t
next_period(struct ingest *in)
{
	uint64_t p = (uint64_t)in->conf->push_ms;

	/* xorshift64: no need for more */
	in->rng ^= in->rng << 13;
	in->rng ^= in->rng >> 7;
	in->rng ^= in->rng << 17;
	return p - p / 4 + in->rng % (p / 2 + 1);
}

static void *
ingest_main(void *arg)
{
	struct ingest *in = arg;
	struct pollfd pfd[INGEST_MAX_SOCKETS];
	uint64_t next = now_mono_ms(), last_wake = 0;

	thread_role("fab-ingest", 0);
	for (int i = 0; i < in->n; i++) {
		pfd[i].fd = in->fds[i];
		pfd[i].events = POLLIN;
	}
	while (!atomic_load(&in->stop)) {
		uint64_t mono = now_mono_ms(), t0;
		int timeout = mono >= next ? 0 : (int)(next - mono);

		if (timeout > 100)
			timeout = 100; /* notice stop requests promptly */
		int ready = poll(pfd, (nfds_t)in->n, timeout);

		/*
		 * Apply definition changes before the batch: a client that
		 * PUTs a flow and then sends traffic sees that traffic
		 * counted.
		 */
		mono = now_mono_ms();
		t0 = now_mono_us();
		if (in->engine != NULL)
			engine_tick(in->engine, mono);
		if (in->nf != NULL)
			nfin_tick(in->nf, now_wall_ms(), mono);
		pause_end(in, INGEST_PAUSE_TICK, t0);
		if (ready > 0) {
			for (int i = 0; i < in->n; i++)
				if (pfd[i].revents & POLLIN)
					drain(in, i);
			if (in->engine != NULL)
				engine_flush(in->engine);
		}
		mono = now_mono_ms();
		if (mono >= next) {
			t0 = now_mono_us();
			publish(in, mono);
			pause_end(in, INGEST_PAUSE_PUBLISH, t0);
			next = mono + next_period(in);
			last_wake = mono;
		} else if (in->engine != NULL && mono - last_wake >= 20 &&
		    engine_logged(in->engine) && in->wake != NULL) {
			/* New flow log records: answer the long-polls now,
			 * but wake the service loop at most every 20 ms. */
			in->wake(in->wake_arg);
			last_wake = mono;
		}
	}
	return NULL;
}

struct nfin *
ingest_netflow(struct ingest *in)
{
	return in->nf;
}

void
ingest_set_forward(struct ingest *in, struct forward *fwd)
{
	in->fwd = fwd;
}

int
ingest_start(struct ingest *in)
{
	sigset_t all, old;
	int rc;

	publish(in, now_mono_ms()); /* health answers from the first second */
	/* Signals are main's business: the thread starts with them blocked. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&in->thread, NULL, ingest_main, in);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		return -1;
	in->running = true;
	return 0;
}

void
ingest_stop(struct ingest *in)
{
	if (in == NULL)
		return;
	atomic_store(&in->stop, true);
	if (in->running)
		pthread_join(in->thread, NULL);
	for (int i = 0; i < in->n; i++)
		close(in->fds[i]);
	agents_free(in->agents);
	nfin_free(in->nf);
	free(in->bufs);
	free(in);
}
