/*
 * recvcount.c: the bare UDP receiver that bench/lossless.py measures next
 * to fabmond and the peer collectors: it binds a port, reads datagrams
 * with recvmmsg and counts them and their bytes, and does nothing else.
 * Its lossless rate is what the kernel's loopback path and one reading
 * thread allow, the ceiling for any collector. Single-threaded.
 *
 *   recvcount [--bind ADDR] [--port PORT] [--rcvbuf BYTES] [--batch N]
 *
 * It asks for SO_RCVBUFFORCE (so that net.core.rmem_max does not cap it
 * when it runs as root), else SO_RCVBUF, of --rcvbuf bytes (16 MiB by
 * default, as fabmond's sflow.rcvbuf), binds ADDR:PORT (127.0.0.1, and
 * port 0 for any free one), and prints one line of JSON when it is ready:
 *   {"port":P,"rcvbuf":R}
 * where R is what the kernel granted (half of what SO_RCVBUF reads back,
 * as fabmond reports it). On SIGUSR1 it prints its counts, and on SIGTERM
 * or SIGINT it prints them and exits 0:
 *   {"datagrams":N,"bytes":B,"truncated":T,"recvErrors":E,"calls":C}
 * "truncated" counts datagrams longer than the 65,536-byte slot (none
 * with sFlow); "calls" the recvmmsg calls that returned datagrams.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define BATCH_MAX 1024
#define SLOT      65536

struct counts {
	uint64_t datagrams;
	uint64_t bytes;
	uint64_t truncated;
	uint64_t errors;
	uint64_t calls;
};

static volatile sig_atomic_t report_wanted;
static volatile sig_atomic_t stop_wanted;

static void
on_signal(int sig)
{
	if (sig == SIGUSR1)
		report_wanted = 1;
	else
		stop_wanted = 1;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: recvcount [--bind ADDR] [--port PORT] [--rcvbuf BYTES] "
	    "[--batch N]\n"
	    "  counts the datagrams it receives; SIGUSR1 prints the counts, "
	    "SIGTERM\n"
	    "  prints them and exits. Defaults: 127.0.0.1, port 0 (any), "
	    "16 MiB, 64.\n");
	exit(2);
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
		    "recvcount: %s '%s': not a whole number in %llu..%llu\n",
		    opt, s, (unsigned long long)min, (unsigned long long)max);
		exit(2);
	}
	return v;
}

/* Binds a UDP socket to host:port with the receive buffer asked for.
 * Exits with a message when it cannot. */
static int
open_socket(const char *host, const char *port, int rcvbuf)
{
	struct addrinfo hints, *ai;
	struct timeval tv = { 0, 100000 };
	int fd, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	if ((rc = getaddrinfo(host, port, &hints, &ai)) != 0) {
		fprintf(stderr, "recvcount: %s port %s: %s\n", host, port,
		    gai_strerror(rc));
		exit(1);
	}
	fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		fprintf(stderr, "recvcount: socket: %s\n", strerror(errno));
		exit(1);
	}
	/* FORCE needs CAP_NET_ADMIN; without it rmem_max caps the size. */
	if (setsockopt(
	        fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) == -1)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	/*
	 * A blocked recvmmsg returns at least every 100 ms, so that a signal
	 * that came just before it blocked is not left waiting for traffic.
	 */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
		fprintf(stderr, "recvcount: bind %s port %s: %s\n", host, port,
		    strerror(errno));
		exit(1);
	}
	freeaddrinfo(ai);
	return fd;
}

static void
print_counts(const struct counts *c)
{
	printf("{\"datagrams\":%llu,\"bytes\":%llu,\"truncated\":%llu,"
	       "\"recvErrors\":%llu,\"calls\":%llu}\n",
	    (unsigned long long)c->datagrams, (unsigned long long)c->bytes,
	    (unsigned long long)c->truncated, (unsigned long long)c->errors,
	    (unsigned long long)c->calls);
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "bind", required_argument, NULL, 'b' },
		{ "port", required_argument, NULL, 'p' },
		{ "rcvbuf", required_argument, NULL, 'r' },
		{ "batch", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static uint8_t bufs[BATCH_MAX][SLOT];
	static struct mmsghdr msgs[BATCH_MAX];
	static struct iovec iov[BATCH_MAX];
	const char *host = "127.0.0.1", *port = "0";
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct sigaction sa;
	struct counts c;
	unsigned batch = 64;
	int ch, fd, rcvbuf = 16 << 20, got = 0;
	socklen_t ol = sizeof(got);
	char serv[NI_MAXSERV];

	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'b':
			host = optarg;
			break;
		case 'p':
			num("--port", optarg, 0, 65535);
			port = optarg;
			break;
		case 'r':
			rcvbuf = (int)num("--rcvbuf", optarg, 4096, 1 << 30);
			break;
		case 'n':
			batch = (unsigned)num("--batch", optarg, 1, BATCH_MAX);
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	/* No SA_RESTART: a signal interrupts recvmmsg (EINTR). */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	fd = open_socket(host, port, rcvbuf);
	getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &ol);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == -1 ||
	    getnameinfo((struct sockaddr *)&ss, sl, NULL, 0, serv, sizeof(serv),
	        NI_NUMERICSERV) != 0) {
		fprintf(
		    stderr, "recvcount: getsockname: %s\n", strerror(errno));
		return 1;
	}
	/* The kernel doubles the size for its overhead; fabmond halves it. */
	printf("{\"port\":%s,\"rcvbuf\":%d}\n", serv, got / 2);
	fflush(stdout);

	for (unsigned i = 0; i < batch; i++) {
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = SLOT;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	memset(&c, 0, sizeof(c));
	while (!stop_wanted) {
		int n;

		if (report_wanted) {
			report_wanted = 0;
			print_counts(&c);
		}
		/* Blocks for the first datagram, then takes what is queued. */
		n = recvmmsg(fd, msgs, batch, MSG_WAITFORONE, NULL);
		if (n < 0) {
			if (errno != EINTR && errno != EAGAIN &&
			    errno != EWOULDBLOCK)
				c.errors++;
			continue;
		}
		c.calls++;
		c.datagrams += (uint64_t)n;
		for (int i = 0; i < n; i++) {
			c.bytes += msgs[i].msg_len;
			if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC)
				c.truncated++;
		}
	}
	print_counts(&c);
	close(fd);
	return 0;
}
