/*
 * forward.c: forwarding of raw datagrams; see forward.h. The ingest
 * thread owns the sockets; the mutex guards the definitions and the
 * counters, taken once per batch.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "forward.h"
#include "util.h"

#define BATCH_MAX 64

struct target {
	struct fwddef def;
	int fd;
	struct sockaddr_storage ss;
	socklen_t sl;
	struct forward_stats delta; /* since the last merge */
};

struct forward {
	pthread_mutex_t mu;
	struct fwddef defs[FWDDEF_MAX];
	struct forward_stats stats[FWDDEF_MAX];
	size_t n;
	atomic_uint_fast64_t version;

	/* Ingest thread only. */
	uint64_t applied;
	struct target t[FWDDEF_MAX];
	size_t nt;
};

struct forward *
forward_new(void)
{
	struct forward *f = xcalloc(1, sizeof(*f));

	pthread_mutex_init(&f->mu, NULL);
	return f;
}

static void
close_targets(struct forward *f)
{
	for (size_t i = 0; i < f->nt; i++)
		if (f->t[i].fd >= 0)
			close(f->t[i].fd);
	f->nt = 0;
}

void
forward_free(struct forward *f)
{
	if (f == NULL)
		return;
	close_targets(f);
	pthread_mutex_destroy(&f->mu);
	free(f);
}

static ssize_t
find(struct forward *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->defs[i].name, name) == 0)
			return (ssize_t)i;
	return -1;
}

int
forward_put(struct forward *f, const struct fwddef *d, char *err, size_t errlen)
{
	ssize_t i;

	pthread_mutex_lock(&f->mu);
	i = find(f, d->name);
	if (i >= 0 && memcmp(&f->defs[i], d, sizeof(*d)) == 0) {
		pthread_mutex_unlock(&f->mu);
		return 1;
	}
	if (i < 0) {
		if (f->n >= FWDDEF_MAX) {
			pthread_mutex_unlock(&f->mu);
			snprintf(err, errlen,
			    "too many forwarding targets (%d)", FWDDEF_MAX);
			return -1;
		}
		i = (ssize_t)f->n++;
		memset(&f->stats[i], 0, sizeof(f->stats[i]));
	}
	f->defs[i] = *d;
	atomic_fetch_add(&f->version, 1);
	pthread_mutex_unlock(&f->mu);
	return 0;
}

int
forward_delete(struct forward *f, const char *name)
{
	ssize_t i;

	pthread_mutex_lock(&f->mu);
	i = find(f, name);
	if (i >= 0) {
		f->n--;
		f->defs[i] = f->defs[f->n];
		f->stats[i] = f->stats[f->n];
		atomic_fetch_add(&f->version, 1);
	}
	pthread_mutex_unlock(&f->mu);
	return i >= 0 ? 0 : -1;
}

int
forward_get(struct forward *f, const char *name, struct fwddef *def,
    struct forward_stats *st)
{
	ssize_t i;

	pthread_mutex_lock(&f->mu);
	i = find(f, name);
	if (i >= 0) {
		*def = f->defs[i];
		*st = f->stats[i];
	}
	pthread_mutex_unlock(&f->mu);
	return i >= 0 ? 0 : -1;
}

size_t
forward_list(struct forward *f, struct fwddef *defs, struct forward_stats *st,
    size_t max)
{
	size_t n;

	pthread_mutex_lock(&f->mu);
	n = f->n < max ? f->n : max;
	memcpy(defs, f->defs, n * sizeof(*defs));
	memcpy(st, f->stats, n * sizeof(*st));
	pthread_mutex_unlock(&f->mu);
	return n;
}

static void
target_open(struct target *t)
{
	memset(&t->ss, 0, sizeof(t->ss));
	if (t->def.addr.family == 4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&t->ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)t->def.port);
		memcpy(&sin->sin_addr, t->def.addr.a, 4);
		t->sl = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&t->ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)t->def.port);
		memcpy(&sin6->sin6_addr, t->def.addr.a, 16);
		t->sl = sizeof(*sin6);
	}
	/* Unconnected: a connected socket would fail the next send with
	 * the ICMP error of an earlier one. */
	t->fd = socket(t->ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	if (t->fd < 0) {
		t->delta.errors++;
		snprintf(t->delta.last_error, sizeof(t->delta.last_error),
		    "socket: %s", strerror(errno));
	}
}

/* Take the API's definitions (ingest thread). */
static void
apply(struct forward *f)
{
	uint64_t v = atomic_load(&f->version);

	if (v == f->applied)
		return;
	close_targets(f);
	pthread_mutex_lock(&f->mu);
	for (size_t i = 0; i < f->n; i++) {
		memset(&f->t[i], 0, sizeof(f->t[i]));
		f->t[i].def = f->defs[i];
	}
	f->nt = f->n;
	pthread_mutex_unlock(&f->mu);
	for (size_t i = 0; i < f->nt; i++)
		target_open(&f->t[i]);
	f->applied = v;
}

static bool
same_host(const struct sockaddr_storage *ss, const struct sflow_addr *a)
{
	if (ss->ss_family == AF_INET && a->family == 4)
		return memcmp(&((const struct sockaddr_in *)ss)->sin_addr, a->a,
		           4) == 0;
	if (ss->ss_family == AF_INET6) {
		const uint8_t *b =
		    (const uint8_t *)&((const struct sockaddr_in6 *)ss)
		        ->sin6_addr;

		if (a->family == 6)
			return memcmp(b, a->a, 16) == 0;
		if (IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)b))
			return memcmp(b + 12, a->a, 4) == 0;
	}
	return false;
}

/* Did the datagram come from one of the forwarding targets? */
static bool
from_target(struct forward *f, const struct sockaddr_storage *ss)
{
	for (size_t i = 0; i < f->nt; i++)
		if (same_host(ss, &f->t[i].def.addr))
			return true;
	return false;
}

static void
send_some(struct target *t, struct mmsghdr *m, size_t n, size_t bytes)
{
	size_t done = 0;

	while (done < n) {
		int rc = sendmmsg(t->fd, m + done, (unsigned)(n - done), 0);

		if (rc < 0) {
			if (errno == EINTR)
				continue;
			t->delta.errors += n - done;
			snprintf(t->delta.last_error,
			    sizeof(t->delta.last_error), "sendmmsg: %s",
			    strerror(errno));
			/* ECONNREFUSED etc. is reported once, then the next
			 * call goes through. */
			return;
		}
		done += (size_t)rc;
	}
	t->delta.datagrams += n;
	t->delta.bytes += bytes;
}

/* A NetFlow datagram's "agent": the exporter's UDP source address. */
static int
source_agent(const struct sockaddr_storage *ss, struct sflow_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (ss->ss_family == AF_INET) {
		a->family = 4;
		memcpy(a->a, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	} else if (ss->ss_family == AF_INET6) {
		const struct in6_addr *v6 =
		    &((const struct sockaddr_in6 *)ss)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(v6)) {
			a->family = 4;
			memcpy(a->a, (const uint8_t *)v6 + 12, 4);
		} else {
			a->family = 6;
			memcpy(a->a, v6, 16);
		}
	} else {
		return -1;
	}
	return 0;
}

static uint16_t
source_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return 0;
}

void
forward_batch(
    struct forward *f, const struct forward_dgram *d, size_t n, bool netflow)
{
	struct mmsghdr m[BATCH_MAX];
	struct iovec iov[BATCH_MAX][2];
	uint8_t rhdr[BATCH_MAX][FWD_RELAY_HDR];
	bool loop[BATCH_MAX];
	struct sflow_addr agent[BATCH_MAX];
	bool have_agent[BATCH_MAX];

	apply(f);
	if (f->nt == 0)
		return;
	for (size_t off = 0; off < n; off += BATCH_MAX) {
		size_t k = n - off < BATCH_MAX ? n - off : BATCH_MAX;

		for (size_t i = 0; i < k; i++) {
			loop[i] = from_target(f, d[off + i].from);
			have_agent[i] =
			    (netflow ? source_agent(d[off + i].from, &agent[i])
			             : fwddef_peek_agent(d[off + i].buf,
			                   d[off + i].len, &agent[i])) == 0;
		}
		for (size_t ti = 0; ti < f->nt; ti++) {
			struct target *t = &f->t[ti];
			size_t c = 0, bytes = 0;

			if (t->fd < 0 || t->def.netflow != netflow)
				continue;
			for (size_t i = 0; i < k; i++) {
				if (loop[i]) {
					t->delta.looped++;
					continue;
				}
				if (t->def.n_agents > 0 &&
				    (!have_agent[i] ||
				        !fwddef_wants(&t->def, &agent[i]))) {
					t->delta.skipped++;
					continue;
				}
				memset(&m[c], 0, sizeof(m[c]));
				m[c].msg_hdr.msg_name = &t->ss;
				m[c].msg_hdr.msg_namelen = t->sl;
				m[c].msg_hdr.msg_iov = iov[c];
				m[c].msg_hdr.msg_iovlen = 1;
				iov[c][0].iov_base = (void *)d[off + i].buf;
				iov[c][0].iov_len = d[off + i].len;
				if (t->def.relay && have_agent[i]) {
					/* the exporter's address first */
					fwddef_relay_header(rhdr[c], &agent[i],
					    source_port(d[off + i].from));
					iov[c][1] = iov[c][0];
					iov[c][0].iov_base = rhdr[c];
					iov[c][0].iov_len = FWD_RELAY_HDR;
					m[c].msg_hdr.msg_iovlen = 2;
					bytes += FWD_RELAY_HDR;
				}
				bytes += d[off + i].len;
				c++;
			}
			if (c > 0)
				send_some(t, m, c, bytes);
		}
	}
	/* Fold the counters into what the API reads. */
	pthread_mutex_lock(&f->mu);
	for (size_t ti = 0; ti < f->nt; ti++) {
		struct target *t = &f->t[ti];
		ssize_t i = find(f, t->def.name);

		if (i >= 0) {
			struct forward_stats *s = &f->stats[i];

			s->datagrams += t->delta.datagrams;
			s->bytes += t->delta.bytes;
			s->errors += t->delta.errors;
			s->looped += t->delta.looped;
			s->skipped += t->delta.skipped;
			if (t->delta.last_error[0])
				memcpy(s->last_error, t->delta.last_error,
				    sizeof(s->last_error));
		}
		memset(&t->delta, 0, sizeof(t->delta));
	}
	pthread_mutex_unlock(&f->mu);
}
