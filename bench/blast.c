/*
 * blast.c: sends synthetic sFlow v5 datagrams (gen.c) at a given rate, to
 * measure a collector's ingest (bench/lossless.py drives it against
 * fabmond). Single-threaded.
 *
 *   blast --to ADDR:PORT --rate DGRAMS_PER_S --count N [--seed S]
 *         [--pool P] [--churn] [--batch B] [--state FILE]
 *         [--agents A] [--ports N] [--flows F] [--live]
 *
 * It generates a pool of P datagrams first, then sends N of them, cycling
 * through the pool, with sendmmsg in batches paced against
 * CLOCK_MONOTONIC (rate 0: as fast as it can). Each datagram is stamped
 * again just before it goes (gen_stamp()), so every agent's datagram
 * sequence, and every data source's sample sequence, goes up by one with
 * no gap: a collector that counts gaps as loss sees exactly what the
 * network lost. --state FILE keeps the sequences from one run to the
 * next, so that consecutive runs look like agents that kept running.
 *
 * --agents, --ports and --flows change gen.h's profile (50 agents, 48
 * ports, 95,000 flows; bench/scale.py asks for 1,000 x 64 and 1M).
 * --live makes each datagram just before it goes (gen_datagram_at())
 * instead of cycling through a pool: a pool of 20,000 datagrams carries
 * about 110,000 flow samples, so it could never show 1M flows, and a pool
 * that could would not fit in memory. Live datagrams cost about a
 * microsecond each to make, which the pacing absorbs.
 *
 * A full socket buffer (EAGAIN, ENOBUFS) is waited out and the datagram
 * sent again, never dropped; the retries are counted. At the end it
 * prints one line of JSON: what was actually sent. SIGINT or SIGTERM
 * ends the run early, after the batch in flight, with the same line for
 * what was sent until then (bench/scale.py and latency.py keep a
 * background load going for as long as they measure, then stop it).
 *   {"sent":N,"seconds":S,"rate":R,"flowSamples":F,"counterSamples":C,
 *    "bytes":B,"retries":X,"requestedRate":Q}
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "gen.h"

#define BATCH_MAX 1024

/* Set by SIGINT/SIGTERM: stop after the batch in flight. */
static volatile sig_atomic_t stopping;

static void
on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

struct dgram {
	uint8_t b[GEN_MAX_DATAGRAM];
	uint16_t len;
	uint8_t flow_samples;
	uint8_t counter_samples;
};

struct opts {
	const char *to;
	const char *state;
	uint64_t rate;
	uint64_t count;
	uint64_t seed;
	uint64_t pool;
	uint64_t batch;
	uint32_t agents, ports, flows;
	int churn;
	int live;
};

static void
usage(void)
{
	fprintf(stderr,
	    "usage: blast --to ADDR:PORT --rate DGRAMS_PER_S --count N "
	    "[--seed S] [--pool P]\n"
	    "             [--churn] [--batch B] [--state FILE]\n"
	    "             [--agents A] [--ports N] [--flows F] [--live]\n"
	    "  --rate 0 sends as fast as it can; --pool defaults to 20000, "
	    "--batch to 64\n"
	    "  (datagrams per sendmmsg); --state FILE continues the "
	    "sequence numbers of\n"
	    "  the run that wrote it. --agents/--ports/--flows default to "
	    "50/48/95000;\n"
	    "  --live makes every datagram as it goes instead of cycling "
	    "through a pool.\n");
	exit(2);
}

static void die(const char *, ...)
    __attribute__((format(printf, 1, 2), noreturn));

static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "blast: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static uint64_t
num(const char *opt, const char *s, uint64_t min, uint64_t max)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (*s == '\0' || *s == '-' || *end != '\0' || errno != 0 || v < min ||
	    v > max) {
		fprintf(stderr,
		    "blast: %s '%s': not a whole number in %llu..%llu\n", opt,
		    s, (unsigned long long)min, (unsigned long long)max);
		exit(2);
	}
	return v;
}

static void
parse(struct opts *o, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "to", required_argument, NULL, 't' },
		{ "rate", required_argument, NULL, 'r' },
		{ "count", required_argument, NULL, 'c' },
		{ "seed", required_argument, NULL, 's' },
		{ "pool", required_argument, NULL, 'p' },
		{ "batch", required_argument, NULL, 'b' },
		{ "state", required_argument, NULL, 'S' },
		{ "churn", no_argument, NULL, 'C' },
		{ "agents", required_argument, NULL, 'A' },
		{ "ports", required_argument, NULL, 'P' },
		{ "flows", required_argument, NULL, 'F' },
		{ "live", no_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch, have_rate = 0;

	memset(o, 0, sizeof(*o));
	o->seed = 1;
	o->pool = 20000;
	o->batch = 64;
	{
		struct gen_conf d = GEN_CONF_DEFAULT;

		o->agents = d.agents;
		o->ports = d.ports;
		o->flows = d.flows;
	}
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 't':
			o->to = optarg;
			break;
		case 'r':
			o->rate = num("--rate", optarg, 0, 100000000);
			have_rate = 1;
			break;
		case 'c':
			o->count = num("--count", optarg, 1, UINT64_MAX >> 1);
			break;
		case 's':
			o->seed = num("--seed", optarg, 0, UINT64_MAX);
			break;
		case 'p':
			o->pool = num("--pool", optarg, 1, 10000000);
			break;
		case 'b':
			o->batch = num("--batch", optarg, 1, BATCH_MAX);
			break;
		case 'S':
			o->state = optarg;
			break;
		case 'C':
			o->churn = 1;
			break;
		case 'A':
			o->agents = (uint32_t)num("--agents", optarg, 1, 65535);
			break;
		case 'P':
			o->ports = (uint32_t)num("--ports", optarg, 1, 65535);
			break;
		case 'F':
			o->flows =
			    (uint32_t)num("--flows", optarg, 1, UINT32_MAX);
			break;
		case 'L':
			o->live = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc) {
		fprintf(
		    stderr, "blast: unexpected argument '%s'\n", argv[optind]);
		usage();
	}
	if (o->to == NULL || !have_rate || o->count == 0) {
		fprintf(stderr, "blast: --to, --rate and --count are needed\n");
		usage();
	}
}

/* ADDR:PORT or [ADDR6]:PORT, numeric only. Returns a socket connected
 * to it. */
static int
open_to(const char *spec)
{
	struct addrinfo hints, *ai;
	char host[256];
	const char *colon = strrchr(spec, ':'), *h = spec;
	size_t hl;
	int fd, rc, sndbuf = 4 << 20;

	if (colon == NULL || colon[1] == '\0')
		die("--to '%s': not ADDR:PORT", spec);
	hl = (size_t)(colon - spec);
	if (hl >= 2 && spec[0] == '[' && spec[hl - 1] == ']') {
		h = spec + 1;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof(host))
		die("--to '%s': not ADDR:PORT", spec);
	memcpy(host, h, hl);
	host[hl] = '\0';
	num("--to port", colon + 1, 1, 65535);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, colon + 1, &hints, &ai)) != 0)
		die("--to '%s': %s", spec, gai_strerror(rc));
	fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		die("socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1)
		die("connect %s: %s", spec, strerror(errno));
	freeaddrinfo(ai);
	return fd;
}

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
sleep_until(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000u),
		(long)(ns % 1000000000u) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
	        EINTR &&
	    !stopping)
		;
}

/*
 * Sends msgs[0..n) in order, all of them: a full buffer is waited out and
 * the rest sent again. Anything else is fatal (ECONNREFUSED: nobody
 * listens at --to, and datagrams were lost).
 */
static void
send_all(
    int fd, struct mmsghdr *msgs, unsigned n, const char *to, uint64_t *retries)
{
	unsigned off = 0;

	while (off < n) {
		int r = sendmmsg(fd, msgs + off, n - off, 0);

		if (r > 0) {
			off += (unsigned)r;
			continue;
		}
		if (r == 0 || errno == EINTR) {
			(*retries)++;
			continue;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == ENOBUFS) {
			struct timespec ts = { 0, 50000 };

			(*retries)++;
			nanosleep(&ts, NULL);
			continue;
		}
		if (errno == ECONNREFUSED)
			die("%s refused the datagrams: is the collector "
			    "listening?",
			    to);
		die("sendmmsg to %s: %s", to, strerror(errno));
	}
}

static void
state_load(struct gen *g, const char *path)
{
	char err[256];
	FILE *f = fopen(path, "r");

	if (f == NULL) {
		if (errno == ENOENT)
			return; /* the first run: agents start at 1 */
		die("--state %s: %s", path, strerror(errno));
	}
	if (gen_state_load(g, f, err, sizeof(err)) != 0)
		die("--state %s: %s", path, err);
	fclose(f);
}

static void
state_save(const struct gen *g, const char *path)
{
	char tmp[4096];
	FILE *f;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		die("--state %s: path too long", path);
	if ((f = fopen(tmp, "w")) == NULL)
		die("--state %s: %s", tmp, strerror(errno));
	if (gen_state_save(g, f) != 0 || fclose(f) != 0)
		die("--state %s: write: %s", tmp, strerror(errno));
	if (rename(tmp, path) != 0)
		die("--state %s: %s", path, strerror(errno));
}

int
main(int argc, char **argv)
{
	struct gen_conf gc = GEN_CONF_DEFAULT;
	static struct mmsghdr msgs[BATCH_MAX];
	static struct iovec iov[BATCH_MAX];
	struct opts o;
	struct gen g;
	struct dgram *pool;
	uint64_t pool_n;
	uint64_t t0, t1, i, batch, retries = 0;
	uint64_t flows = 0, counters = 0, bytes = 0;
	char err[256];
	int fd;

	parse(&o, argc, argv);
	{
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_stop; /* no SA_RESTART: wake the sleep */
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
	}
	fd = open_to(o.to);
	gc.seed = o.seed;
	gc.churn = o.churn;
	gc.agents = o.agents;
	gc.ports = o.ports;
	gc.flows = o.flows;
	if (gen_init(&g, &gc, err, sizeof(err)) != 0)
		die("%s", err);
	/* --live: a batch's worth of buffers, filled just before sending. */
	pool_n = o.live ? BATCH_MAX : o.pool;
	if ((pool = calloc(pool_n, sizeof(*pool))) == NULL)
		die("--pool %llu: out of memory", (unsigned long long)pool_n);
	for (i = 0; !o.live && i < o.pool; i++) {
		struct gen_meta m;

		pool[i].len = (uint16_t)gen_datagram(
		    &g, pool[i].b, sizeof(pool[i].b), &m);
		pool[i].flow_samples = (uint8_t)m.flow_samples;
		pool[i].counter_samples = (uint8_t)m.counter_samples;
	}
	/* What was stamped while generating is not what is sent. */
	if (!o.live)
		gen_restart(&g);
	if (o.state != NULL)
		state_load(&g, o.state);
	/*
	 * Batches no bigger than about a millisecond's worth, so that a low
	 * rate is not sent in bursts; and no bigger than the pool, since a
	 * batch stamps its datagrams in place.
	 */
	batch = o.batch;
	if (o.rate > 0 && batch > o.rate / 1000)
		batch = o.rate / 1000 ? o.rate / 1000 : 1;
	if (!o.live && batch > o.pool)
		batch = o.pool;
	for (i = 0; i < batch; i++) {
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	t0 = mono_ns();
	for (i = 0; i < o.count && !stopping;) {
		uint64_t n = o.count - i < batch ? o.count - i : batch;
		uint32_t clock_ms;

		if (o.rate > 0) {
			/* When datagram i is due: behind, send at once. */
			uint64_t due =
			    t0 + (uint64_t)((double)i * 1e9 / (double)o.rate);

			if (mono_ns() < due)
				sleep_until(due);
			if (stopping)
				break;
		}
		clock_ms = (uint32_t)(mono_ns() / 1000000u);
		for (uint64_t k = 0; k < n; k++) {
			struct dgram *d = &pool[o.live ? k : (i + k) % o.pool];

			if (o.live) {
				struct gen_meta m;

				d->len = (uint16_t)gen_datagram_at(
				    &g, d->b, sizeof(d->b), &m, clock_ms);
				d->flow_samples = (uint8_t)m.flow_samples;
				d->counter_samples = (uint8_t)m.counter_samples;
			} else {
				gen_stamp(&g, d->b, d->len, clock_ms);
			}
			iov[k].iov_base = d->b;
			iov[k].iov_len = d->len;
			flows += d->flow_samples;
			counters += d->counter_samples;
			bytes += d->len;
		}
		send_all(fd, msgs, (unsigned)n, o.to, &retries);
		i += n;
	}
	t1 = mono_ns();
	if (o.state != NULL)
		state_save(&g, o.state);
	{
		double s = (double)(t1 - t0) / 1e9;

		printf("{\"sent\":%llu,\"seconds\":%.6f,\"rate\":%.0f,"
		       "\"flowSamples\":%llu,\"counterSamples\":%llu,"
		       "\"bytes\":%llu,\"retries\":%llu,"
		       "\"requestedRate\":%llu}\n",
		    (unsigned long long)i, s, s > 0 ? (double)i / s : 0.0,
		    (unsigned long long)flows, (unsigned long long)counters,
		    (unsigned long long)bytes, (unsigned long long)retries,
		    (unsigned long long)o.rate);
	}
	close(fd);
	gen_free(&g);
	free(pool);
	return 0;
}
