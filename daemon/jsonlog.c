/*
 * jsonlog.c: the JSON flow-log export; see jsonlog.h and docs/jsonlog.md.
 *
 * jsonlog_format() is pure. The rest is a thread shell: jsonlog_put() and
 * jsonlog_flush() run on the ingest thread (the one producer), the writer
 * on its own thread, and open/close on main.
 *
 * The queue is a ring of record copies. The producer only fills free
 * slots and the writer only reads taken ones, both under the mutex for
 * the indexes alone: the writer takes up to TAKE records, formats and
 * writes them without the lock, then gives the slots back. So the ingest
 * thread waits at most for a few index updates, never for the disk.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "jsonlog.h"
#include "log.h"
#include "util.h"

#define STAGE       64           /* records the producer stages per hand-over */
#define TAKE        1024         /* records the writer takes per round */
#define WBUF        (256 * 1024) /* lines per write(): one buffer */
#define DGRAM_BATCH 64           /* datagrams per sendmmsg() */
#define CHECK_MS    1000         /* stat() the file's path at most this often */
#define STALL_MS    1000         /* a datagram reader stalled this long */
#define STALLED_MS  10           /* the wait per batch while it stays so */

/* The latest time formatted: 9999-12-31T23:59:59.999Z. */
#define MS_MAX 253402300799999LL

enum target { TARGET_FILE, TARGET_UDP, TARGET_UNIX };

struct jsonlog {
	/* Fixed at open. */
	enum target kind;
	char *path; /* the file, or the unix socket */
	uint64_t max_bytes;
	unsigned keep;
	size_t cap;
	struct sockaddr_un sun_addr; /* TARGET_UNIX */
	char target[160];

	/* The producer's (the ingest thread). */
	struct jsonlog_rec stage[STAGE];
	size_t nstage;

	/* Shared, under mu. */
	pthread_mutex_t mu;
	pthread_cond_t wake;
	struct jsonlog_rec *ring;
	size_t head; /* the next free slot */
	size_t tail; /* the oldest taken slot */
	size_t count;
	bool stop;
	struct jsonlog_stats st;

	/* The writer's. */
	pthread_t thread;
	int fd;         /* -1: the file could not be reopened */
	bool connected; /* TARGET_UNIX: a reader is there */
	bool is_reg;    /* a regular file: rotated and truncated */
	dev_t dev;
	ino_t ino;
	uint64_t size; /* of the file, as we wrote it */
	uint64_t last_check_ms;
	uint64_t rotate_after_ms; /* no rotation before (after a failure) */
	bool stalled;             /* the datagram reader stopped reading */
	bool abandon;             /* ... while jsonlog_close() waits */
	char *wbuf;
	struct mmsghdr msgs[DGRAM_BATCH];
	struct iovec iov[DGRAM_BATCH];
	struct {
		uint64_t written, errors, bytes, rotations;
	} d; /* counted since the last merge into st */
	char err[128];
	bool err_new;
	struct log_ratelimit rl;
};

/* ---- the formatter (pure) -------------------------------------------- */

static const char hexd[] = "0123456789abcdef";

static const char *const source_name[] = {
	[JSONLOG_SFLOW] = "sflow",
	[JSONLOG_NETFLOW5] = "netflow5",
	[JSONLOG_NETFLOW9] = "netflow9",
	[JSONLOG_IPFIX] = "ipfix",
};

static inline char *
put_mem(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

/* A string literal, its length known at compile time. */
#define LIT(p, s) put_mem((p), (s), sizeof(s) - 1)

static char *
put_u64(char *p, uint64_t v)
{
	char tmp[20];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0)
		*p++ = tmp[--n];
	return p;
}

static inline char *
put_2d(char *p, unsigned v)
{
	*p++ = (char)('0' + v / 10);
	*p++ = (char)('0' + v % 10);
	return p;
}

/*
 * Unix ms as "2026-11-22T11:03:04.123Z", clamped to years 1970..9999 so
 * that it is always 24 characters. The date is computed (H. Hinnant's
 * civil_from_days) rather than by gmtime_r(), which takes glibc's time
 * zone lock on every call.
 */
static char *
put_time(char *p, int64_t ms)
{
	int64_t days, era, y;
	unsigned sod, msec, doe, yoe, doy, mp, d, m;

	if (ms < 0)
		ms = 0;
	if (ms > MS_MAX)
		ms = MS_MAX;
	msec = (unsigned)(ms % 1000);
	days = ms / 1000 / 86400;
	sod = (unsigned)(ms / 1000 % 86400);
	days += 719468; /* from 0000-03-01 */
	era = days / 146097;
	doe = (unsigned)(days - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = (int64_t)yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y += m <= 2;
	p = put_2d(p, (unsigned)(y / 100));
	p = put_2d(p, (unsigned)(y % 100));
	*p++ = '-';
	p = put_2d(p, m);
	*p++ = '-';
	p = put_2d(p, d);
	*p++ = 'T';
	p = put_2d(p, sod / 3600);
	*p++ = ':';
	p = put_2d(p, sod / 60 % 60);
	*p++ = ':';
	p = put_2d(p, sod % 60);
	*p++ = '.';
	*p++ = (char)('0' + msec / 100);
	p = put_2d(p, msec % 100);
	*p++ = 'Z';
	return p;
}

/* IPv4 dotted, IPv6 canonical (RFC 5952, as inet_ntop writes it). */
static char *
put_addr(char *p, const struct sflow_addr *a)
{
	if (a->family == 4) {
		for (int i = 0; i < 4; i++) {
			if (i > 0)
				*p++ = '.';
			p = put_u64(p, a->a[i]);
		}
		return p;
	}
	if (inet_ntop(AF_INET6, a->a, p, INET6_ADDRSTRLEN) == NULL)
		return LIT(p, "?");
	return p + strlen(p);
}

/*
 * A name as a JSON string body. Names come from SNMP (sysName, ifName)
 * and the topology import, so anything may be in them: it ends at the
 * first NUL or at max; '"' and '\\' are escaped, control bytes and DEL
 * become \u00XX, valid UTF-8 passes through, and any other byte b becomes
 * \u00bb, so that the line always parses. At most 6 bytes out per byte in.
 */
static char *
put_str(char *p, const char *s, size_t max)
{
	const uint8_t *u = (const uint8_t *)s;
	size_t i = 0, n;

	while (i < max && u[i] != 0) {
		uint8_t c = u[i];

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			*p++ = (char)c;
			i++;
		} else if (c == '"' || c == '\\') {
			*p++ = '\\';
			*p++ = (char)c;
			i++;
		} else if (c >= 0x80 &&
		    (n = utf8_seq_len(u + i, max - i)) > 0) {
			p = put_mem(p, (const char *)u + i, n);
			i += n;
		} else {
			p = LIT(p, "\\u00");
			*p++ = hexd[c >> 4];
			*p++ = hexd[c & 15];
			i++;
		}
	}
	return p;
}

static char *
put_mac(char *p, const uint8_t *m)
{
	for (int i = 0; i < 6; i++) {
		if (i > 0)
			*p++ = ':';
		*p++ = hexd[m[i] >> 4];
		*p++ = hexd[m[i] & 15];
	}
	return p;
}

/* The field order is the contract (docs/jsonlog.md); each after the
 * first starts with its comma. */
static char *
format_line(char *p, const struct jsonlog_rec *r)
{
	uint32_t h = r->have;

	p = LIT(p, "{\"time\":\"");
	p = put_time(p, r->end_ms);
	p = LIT(p, "\",\"source\":\"");
	if (r->source < nitems(source_name))
		p = put_mem(
		    p, source_name[r->source], strlen(source_name[r->source]));
	else
		p = LIT(p, "unknown");
	*p++ = '"';
	if (r->exporter.family == 4 || r->exporter.family == 6) {
		p = LIT(p, ",\"exporter\":\"");
		p = put_addr(p, &r->exporter);
		*p++ = '"';
	}
	if (r->node[0] != '\0') {
		p = LIT(p, ",\"node\":\"");
		p = put_str(p, r->node, sizeof(r->node));
		*p++ = '"';
	}
	if (r->link[0] != '\0') {
		p = LIT(p, ",\"link\":\"");
		p = put_str(p, r->link, sizeof(r->link));
		*p++ = '"';
	}
	if (h & JSONLOG_HAVE_ADDRS) {
		if (r->src.family == 4 || r->src.family == 6) {
			p = LIT(p, ",\"src_ip\":\"");
			p = put_addr(p, &r->src);
			*p++ = '"';
		}
		if (r->dst.family == 4 || r->dst.family == 6) {
			p = LIT(p, ",\"dst_ip\":\"");
			p = put_addr(p, &r->dst);
			*p++ = '"';
		}
	}
	if (h & JSONLOG_HAVE_PORTS) {
		p = LIT(p, ",\"src_port\":");
		p = put_u64(p, r->src_port);
		p = LIT(p, ",\"dst_port\":");
		p = put_u64(p, r->dst_port);
	}
	if (h & JSONLOG_HAVE_PROTO) {
		p = LIT(p, ",\"protocol\":");
		p = put_u64(p, r->protocol);
	}
	if (h & JSONLOG_HAVE_TOS) {
		p = LIT(p, ",\"tos\":");
		p = put_u64(p, r->tos);
	}
	if (h & JSONLOG_HAVE_TCP_FLAGS) {
		p = LIT(p, ",\"tcp_flags\":");
		p = put_u64(p, r->tcp_flags);
	}
	if (h & JSONLOG_HAVE_ICMP) {
		p = LIT(p, ",\"icmp_type\":");
		p = put_u64(p, r->icmp_type);
		p = LIT(p, ",\"icmp_code\":");
		p = put_u64(p, r->icmp_code);
	}
	if (h & JSONLOG_HAVE_IN_IF) {
		p = LIT(p, ",\"in_if\":");
		p = put_u64(p, r->in_if);
	}
	if (h & JSONLOG_HAVE_OUT_IF) {
		p = LIT(p, ",\"out_if\":");
		p = put_u64(p, r->out_if);
	}
	if (r->in_port[0] != '\0') {
		p = LIT(p, ",\"in_port\":\"");
		p = put_str(p, r->in_port, sizeof(r->in_port));
		*p++ = '"';
	}
	if (r->out_port[0] != '\0') {
		p = LIT(p, ",\"out_port\":\"");
		p = put_str(p, r->out_port, sizeof(r->out_port));
		*p++ = '"';
	}
	if (h & JSONLOG_HAVE_VLAN) {
		p = LIT(p, ",\"vlan\":");
		p = put_u64(p, r->vlan);
	}
	if (h & JSONLOG_HAVE_MACS) {
		p = LIT(p, ",\"src_mac\":\"");
		p = put_mac(p, r->src_mac);
		p = LIT(p, "\",\"dst_mac\":\"");
		p = put_mac(p, r->dst_mac);
		*p++ = '"';
	}
	p = LIT(p, ",\"bytes\":");
	p = put_u64(p, r->bytes);
	p = LIT(p, ",\"packets\":");
	p = put_u64(p, r->packets);
	p = LIT(p, ",\"start\":\"");
	p = put_time(p, r->start_ms);
	p = LIT(p, "\",\"end\":\"");
	p = put_time(p, r->end_ms);
	p = LIT(p, "\",\"sampling_rate\":");
	p = put_u64(p, r->sampling_rate);
	if (r->dropped)
		p = LIT(p, ",\"dropped\":true");
	return LIT(p, "}\n");
}

size_t
jsonlog_format(char *buf, size_t len, const struct jsonlog_rec *r)
{
	char scratch[JSONLOG_LINE_MAX];
	size_t n;

	/* The writer always has room: format in place. Otherwise go through
	 * a line that always fits, and cut it like snprintf. */
	if (len >= JSONLOG_LINE_MAX) {
		n = (size_t)(format_line(buf, r) - buf);
		buf[n] = '\0';
		return n;
	}
	n = (size_t)(format_line(scratch, r) - scratch);
	if (len > 0) {
		size_t c = n < len ? n : len - 1;

		memcpy(buf, scratch, c);
		buf[c] = '\0';
	}
	return n;
}

/* ---- the producer (the ingest thread) ---------------------------------- */

/* Copy the stage into the ring, as much as fits; count the rest dropped. */
static void
hand_over(struct jsonlog *j)
{
	size_t n = j->nstage, k, first;
	bool was_empty;

	pthread_mutex_lock(&j->mu);
	k = j->cap - j->count;
	if (k > n)
		k = n;
	first = j->cap - j->head; /* slots before the ring wraps */
	if (first > k)
		first = k;
	memcpy(&j->ring[j->head], j->stage, first * sizeof(j->stage[0]));
	memcpy(
	    &j->ring[0], j->stage + first, (k - first) * sizeof(j->stage[0]));
	j->head = (j->head + k) % j->cap;
	was_empty = j->count == 0;
	j->count += k;
	j->st.queued += k;
	j->st.dropped_full += n - k;
	/* The writer only sleeps on an empty queue. */
	if (was_empty && k > 0)
		pthread_cond_signal(&j->wake);
	pthread_mutex_unlock(&j->mu);
	j->nstage = 0;
}

void
jsonlog_put(struct jsonlog *j, const struct jsonlog_rec *r)
{
	if (j == NULL)
		return;
	j->stage[j->nstage++] = *r;
	if (j->nstage == STAGE)
		hand_over(j);
}

void
jsonlog_flush(struct jsonlog *j)
{
	if (j != NULL && j->nstage > 0)
		hand_over(j);
}

/* ---- the writer thread ------------------------------------------------- */

static void werr(struct jsonlog *j, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A write/send/open error: kept for health, logged at a bounded rate. */
static void
werr(struct jsonlog *j, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(j->err, sizeof(j->err), fmt, ap);
	va_end(ap);
	j->err_new = true;
	log_warnx_rl(&j->rl, "jsonlog", "%s", j->err);
}

/* Under mu: move what the writer counted into the shared stats. */
static void
merge(struct jsonlog *j)
{
	j->st.written += j->d.written;
	j->st.write_errors += j->d.errors;
	j->st.bytes += j->d.bytes;
	j->st.rotations += j->d.rotations;
	memset(&j->d, 0, sizeof(j->d));
	if (j->err_new) {
		snprintf(
		    j->st.last_error, sizeof(j->st.last_error), "%s", j->err);
		j->err_new = false;
	}
}

/*
 * Open the file for appending, and note what it is. O_NONBLOCK only for
 * the open itself: a FIFO without a reader fails (ENXIO) instead of
 * blocking; writes block, on the writer thread only. Returns the errno.
 */
static int
file_open(struct jsonlog *j)
{
	struct stat st;
	int fd, flags;

	fd = open(j->path,
	    O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
	    0640);
	if (fd < 0)
		return errno;
	if (fstat(fd, &st) != 0) {
		int e = errno;

		close(fd);
		return e;
	}
	flags = fcntl(fd, F_GETFL);
	if (flags != -1)
		(void)fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
	if (j->fd >= 0)
		close(j->fd);
	j->fd = fd;
	j->is_reg = S_ISREG(st.st_mode);
	j->dev = st.st_dev;
	j->ino = st.st_ino;
	j->size = j->is_reg ? (uint64_t)st.st_size : 0;
	return 0;
}

/*
 * At most once a second: has the path been moved, removed or replaced
 * (logrotate without copytruncate, or rm)? Then open the path again. A
 * file truncated in place (copytruncate) only resets our size.
 */
static void
file_check(struct jsonlog *j, uint64_t now)
{
	struct stat st;
	int e;

	if (now - j->last_check_ms < CHECK_MS)
		return;
	j->last_check_ms = now;
	if (j->fd >= 0 && stat(j->path, &st) == 0 && st.st_dev == j->dev &&
	    st.st_ino == j->ino) {
		if (j->is_reg)
			j->size = (uint64_t)st.st_size;
		return;
	}
	if (j->fd >= 0)
		log_info(
		    "jsonlog", "%s was moved or removed: reopening", j->path);
	if ((e = file_open(j)) != 0) {
		/* Lines go nowhere rather than into a removed file: counted
		 * in write_errors until the path can be opened again. */
		if (j->fd >= 0) {
			close(j->fd);
			j->fd = -1;
		}
		werr(j, "open %s: %s", j->path, strerror(e));
	}
}

/*
 * Rotate: file.(keep-1) -> file.keep (replacing it: the oldest goes), ...,
 * file -> file.1, then open a new file. A failure leaves the current file
 * in place and waits a second before the next try.
 */
static void
file_rotate(struct jsonlog *j, uint64_t now)
{
	char from[PATH_MAX + 16], to[PATH_MAX + 16];
	int e;

	for (unsigned k = j->keep - 1; k >= 1; k--) {
		snprintf(from, sizeof(from), "%s.%u", j->path, k);
		snprintf(to, sizeof(to), "%s.%u", j->path, k + 1);
		if (rename(from, to) != 0 && errno != ENOENT)
			goto fail;
	}
	snprintf(to, sizeof(to), "%s.1", j->path);
	if (rename(j->path, to) != 0)
		goto fail;
	j->d.rotations++;
	if ((e = file_open(j)) != 0) {
		close(j->fd);
		j->fd = -1;
		werr(j, "open %s after rotation: %s", j->path, strerror(e));
	}
	return;
fail:
	e = errno;
	werr(j, "rotate %s: %s", j->path, strerror(e));
	j->rotate_after_ms = now + CHECK_MS;
}

/*
 * Write wbuf[0, len), which holds nlines whole lines, in one write() (or
 * more if it is cut short). On an error, the lines written whole count as
 * written and the rest as lost; a line cut in the middle is truncated
 * away (or ended, where it cannot be) so that the file stays JSON Lines.
 */
static void
file_flush(struct jsonlog *j, size_t len, size_t nlines)
{
	size_t off = 0, whole = 0, lines_ok = 0;
	int e = 0;

	if (j->fd < 0) {
		j->d.errors += nlines;
		return;
	}
	while (off < len) {
		ssize_t w = write(j->fd, j->wbuf + off, len - off);

		if (w > 0) {
			off += (size_t)w;
		} else if (w < 0 && errno == EINTR) {
			continue;
		} else {
			e = w < 0 ? errno : EIO;
			break;
		}
	}
	if (off == len) {
		j->d.written += nlines;
		j->d.bytes += len;
		j->size += len;
		return;
	}
	for (size_t i = 0; i < off; i++)
		if (j->wbuf[i] == '\n') {
			lines_ok++;
			whole = i + 1;
		}
	if (whole < off) {
		if (j->is_reg &&
		    ftruncate(j->fd, (off_t)(j->size + whole)) == 0)
			off = whole;
		else if (write(j->fd, "\n", 1) == 1)
			off++;
	}
	j->size += off;
	j->d.written += lines_ok;
	j->d.bytes += whole;
	j->d.errors += nlines - lines_ok;
	werr(j, "write %s: %s (%zu lines lost)", j->path, strerror(e),
	    nlines - lines_ok);
}

/* A line goes to a new file if it would take the file past max_bytes
 * (a file holds at least one line, however long). */
static void
file_write(struct jsonlog *j, size_t first, size_t k, uint64_t now)
{
	size_t wlen = 0, nlines = 0, idx = first;
	bool may_rotate = j->is_reg && now >= j->rotate_after_ms;

	for (size_t i = 0; i < k; i++) {
		size_t n;

		if (WBUF - wlen < JSONLOG_LINE_MAX) {
			file_flush(j, wlen, nlines);
			wlen = nlines = 0;
		}
		n = jsonlog_format(j->wbuf + wlen, WBUF - wlen, &j->ring[idx]);
		if (++idx == j->cap)
			idx = 0;
		if (may_rotate && j->fd >= 0 && j->size + wlen > 0 &&
		    j->size + wlen + n > j->max_bytes) {
			if (wlen > 0) {
				file_flush(j, wlen, nlines);
				memmove(j->wbuf, j->wbuf + wlen, n);
				wlen = nlines = 0;
			}
			file_rotate(j, now);
			may_rotate = j->is_reg && now >= j->rotate_after_ms;
		}
		wlen += n;
		nlines++;
	}
	if (wlen > 0)
		file_flush(j, wlen, nlines);
}

/* TARGET_UNIX: (re)connect to the reader's socket, which may come later
 * or be replaced; until then, lines are lost and counted. */
static bool
unix_connect(struct jsonlog *j)
{
	if (j->connected)
		return true;
	if (connect(j->fd, (struct sockaddr *)&j->sun_addr,
	        sizeof(j->sun_addr)) != 0) {
		werr(j, "connect %s: %s", j->path, strerror(errno));
		return false;
	}
	log_info("jsonlog", "%s: connected", j->target);
	j->connected = true;
	return true;
}

/* A reader stalled: is jsonlog_close() waiting? Then give up on it. */
static void
stalled(struct jsonlog *j)
{
	j->stalled = true;
	pthread_mutex_lock(&j->mu);
	if (j->stop)
		j->abandon = true;
	pthread_mutex_unlock(&j->mu);
}

/*
 * Send msgs[0, m), one datagram a line. A full socket buffer (a slow
 * reader) is waited on for up to STALL_MS; past that the rest of the batch
 * is lost, and until a datagram goes through again each batch waits only
 * STALLED_MS, so that a reader that stopped reading costs lines, never the
 * queue's progress; once jsonlog_close() waits, everything left is lost.
 * A refused datagram (no reader right now) is lost alone.
 */
static void
dgram_send(struct jsonlog *j, size_t m)
{
	uint64_t stall_since = 0;
	size_t s = 0;

	while (s < m) {
		int r, e;

		if (j->abandon ||
		    (j->kind == TARGET_UNIX && !unix_connect(j))) {
			j->d.errors += m - s;
			return;
		}
		r = sendmmsg(j->fd, j->msgs + s, (unsigned)(m - s),
		    MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r > 0) {
			for (int i = 0; i < r; i++) {
				j->d.written++;
				j->d.bytes += j->msgs[s + i].msg_len;
			}
			s += (size_t)r;
			stall_since = 0;
			j->stalled = false;
			continue;
		}
		e = errno;
		if (e == EINTR)
			continue;
		if (e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS) {
			uint64_t now = now_mono_ms();
			uint64_t limit = j->stalled ? STALLED_MS : STALL_MS;
			struct pollfd pfd = { .fd = j->fd, .events = POLLOUT };

			if (stall_since == 0)
				stall_since = now;
			if (now - stall_since < limit) {
				(void)poll(&pfd, 1,
				    (int)(limit - (now - stall_since)));
				continue;
			}
			werr(j, "%s: the reader stalls (%zu lines lost)",
			    j->target, m - s);
			j->d.errors += m - s;
			stalled(j);
			return;
		}
		werr(j, "send to %s: %s", j->target, strerror(e));
		if (j->kind == TARGET_UNIX &&
		    (e == ECONNREFUSED || e == ENOTCONN || e == ENOENT))
			j->connected = false;
		j->d.errors++;
		s++;
	}
}

static void
dgram_write(struct jsonlog *j, size_t first, size_t k)
{
	size_t idx = first, i = 0;

	while (i < k) {
		size_t m = 0, off = 0;

		if (j->abandon) {
			j->d.errors += k - i;
			return;
		}
		for (; m < DGRAM_BATCH && i < k; m++, i++) {
			size_t n = jsonlog_format(
			    j->wbuf + off, WBUF - off, &j->ring[idx]);

			if (++idx == j->cap)
				idx = 0;
			j->iov[m].iov_base = j->wbuf + off;
			j->iov[m].iov_len = n;
			memset(&j->msgs[m], 0, sizeof(j->msgs[m]));
			j->msgs[m].msg_hdr.msg_iov = &j->iov[m];
			j->msgs[m].msg_hdr.msg_iovlen = 1;
			off += n;
		}
		dgram_send(j, m);
	}
}

static void *
writer_main(void *arg)
{
	struct jsonlog *j = arg;

	thread_role("fab-jsonlog", THREAD_NICE_BULK);
	pthread_mutex_lock(&j->mu);
	for (;;) {
		size_t first, k;
		uint64_t now;

		while (j->count == 0 && !j->stop) {
			struct timespec ts;

			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&j->wake, &j->mu, &ts);
			if (j->count == 0 && !j->stop &&
			    j->kind == TARGET_FILE) {
				/* Idle: notice a removed file anyway. */
				pthread_mutex_unlock(&j->mu);
				file_check(j, now_mono_ms());
				pthread_mutex_lock(&j->mu);
				merge(j);
			}
		}
		if (j->count == 0)
			break; /* stopping, and everything is written */
		first = j->tail;
		k = j->count < TAKE ? j->count : TAKE;
		pthread_mutex_unlock(&j->mu);

		now = now_mono_ms();
		if (j->kind == TARGET_FILE) {
			file_check(j, now);
			file_write(j, first, k, now);
		} else {
			dgram_write(j, first, k);
		}

		pthread_mutex_lock(&j->mu);
		j->tail = (first + k) % j->cap;
		j->count -= k;
		merge(j);
	}
	pthread_mutex_unlock(&j->mu);
	return NULL;
}

/* ---- open and close (main) --------------------------------------------- */

/* "HOST:PORT" or "[V6]:PORT" into host and port. */
static int
split_hostport(
    const char *s, char *host, size_t hostlen, char *port, size_t portlen)
{
	const char *h = s, *he, *p;
	char *end;
	unsigned long v;

	if (*s == '[') {
		h = s + 1;
		if ((he = strchr(h, ']')) == NULL || he[1] != ':')
			return -1;
		p = he + 2;
	} else {
		if ((he = strrchr(s, ':')) == NULL)
			return -1;
		if (memchr(s, ':', (size_t)(he - s)) != NULL)
			return -1; /* an IPv6 address needs its brackets */
		p = he + 1;
	}
	if (he == h || (size_t)(he - h) >= hostlen || *p == '\0' ||
	    strlen(p) >= portlen)
		return -1;
	errno = 0;
	v = strtoul(p, &end, 10);
	if (errno != 0 || *end != '\0' || *p < '0' || *p > '9' || v == 0 ||
	    v > 65535)
		return -1;
	memcpy(host, h, (size_t)(he - h));
	host[he - h] = '\0';
	snprintf(port, portlen, "%lu", v);
	return 0;
}

static int
open_udp(struct jsonlog *j, const char *spec, char *err, size_t errlen)
{
	struct addrinfo hints, *res, *ai;
	char host[256], port[8];
	int rc, e = 0;

	if (split_hostport(spec, host, sizeof(host), port, sizeof(port)) != 0) {
		snprintf(err, errlen,
		    "jsonlog: udp \"%s\": expected HOST:PORT or [IPV6]:PORT "
		    "(port 1-65535)",
		    spec);
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(
		    err, errlen, "jsonlog: udp %s: %s", spec, gai_strerror(rc));
		return -1;
	}
	/* The first address that takes a connected socket. */
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

		if (fd < 0) {
			e = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			j->fd = fd;
			break;
		}
		e = errno;
		close(fd);
	}
	freeaddrinfo(res);
	if (j->fd < 0) {
		snprintf(err, errlen, "jsonlog: udp %s: %s", spec, strerror(e));
		return -1;
	}
	return 0;
}

static int
open_unix(struct jsonlog *j, char *err, size_t errlen)
{
	if (strlen(j->path) >= sizeof(j->sun_addr.sun_path) ||
	    j->path[0] == '\0') {
		snprintf(err, errlen,
		    "jsonlog: unix socket path \"%.60s\" is empty or longer "
		    "than %zu bytes",
		    j->path, sizeof(j->sun_addr.sun_path) - 1);
		return -1;
	}
	j->sun_addr.sun_family = AF_UNIX;
	memcpy(j->sun_addr.sun_path, j->path, strlen(j->path) + 1);
	j->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (j->fd < 0) {
		snprintf(err, errlen, "jsonlog: socket: %s", strerror(errno));
		return -1;
	}
	/* The reader may start later: not being there is not an error. */
	if (connect(j->fd, (struct sockaddr *)&j->sun_addr,
	        sizeof(j->sun_addr)) == 0)
		j->connected = true;
	else
		log_info("jsonlog", "unix:%s: no reader yet (%s)", j->path,
		    strerror(errno));
	return 0;
}

static void
free_jsonlog(struct jsonlog *j)
{
	if (j->fd >= 0)
		close(j->fd);
	free(j->ring);
	free(j->wbuf);
	free(j->path);
	free(j);
}

struct jsonlog *
jsonlog_open(const struct jsonlog_conf *c, char *err, size_t errlen)
{
	struct jsonlog *j;
	pthread_condattr_t ca;
	sigset_t all, old;
	int n, rc;

	n = (c->file != NULL) + (c->udp != NULL) + (c->unix_path != NULL);
	if (n != 1) {
		snprintf(err, errlen,
		    "jsonlog: set exactly one of json_file, json_udp, "
		    "json_unix (%d set)",
		    n);
		return NULL;
	}
	j = xcalloc(1, sizeof(*j));
	j->fd = -1;
	j->max_bytes = c->max_bytes ? c->max_bytes : 100ull << 20;
	j->keep = c->keep ? c->keep : 5;
	j->cap = c->queue_max ? c->queue_max : 65536;
	j->rl = (struct log_ratelimit)LOG_RATELIMIT_INIT(10000, 5);
	if (c->file != NULL) {
		j->kind = TARGET_FILE;
		j->path = xstrdup(c->file);
		snprintf(j->target, sizeof(j->target), "file:%s", c->file);
		if (strlen(c->file) >= PATH_MAX - 16 || c->file[0] == '\0') {
			snprintf(err, errlen,
			    "jsonlog: file path is empty or too long");
			goto fail;
		}
		if ((rc = file_open(j)) != 0) {
			snprintf(err, errlen, "jsonlog: cannot open %s: %s%s",
			    c->file, strerror(rc),
			    rc == ENOENT ? " (its directory must exist)"
			        : rc == ENXIO
			        ? " (a FIFO needs its reader first)"
			        : "");
			goto fail;
		}
		j->last_check_ms = now_mono_ms();
	} else if (c->udp != NULL) {
		j->kind = TARGET_UDP;
		snprintf(j->target, sizeof(j->target), "udp:%s", c->udp);
		if (open_udp(j, c->udp, err, errlen) != 0)
			goto fail;
	} else {
		j->kind = TARGET_UNIX;
		j->path = xstrdup(c->unix_path);
		snprintf(j->target, sizeof(j->target), "unix:%s", c->unix_path);
		if (open_unix(j, err, errlen) != 0)
			goto fail;
	}
	snprintf(j->st.target, sizeof(j->st.target), "%s", j->target);
	j->ring = xcalloc(j->cap, sizeof(j->ring[0]));
	j->wbuf = xmalloc(WBUF);

	pthread_mutex_init(&j->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&j->wake, &ca);
	pthread_condattr_destroy(&ca);

	/* Signals are main's business: the thread starts with them blocked. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&j->thread, NULL, writer_main, j);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(
		    err, errlen, "jsonlog: pthread_create: %s", strerror(rc));
		pthread_cond_destroy(&j->wake);
		pthread_mutex_destroy(&j->mu);
		goto fail;
	}
	log_info("jsonlog", "writing flow logs to %s", j->target);
	return j;
fail:
	free_jsonlog(j);
	return NULL;
}

void
jsonlog_get_stats(struct jsonlog *j, struct jsonlog_stats *out)
{
	if (j == NULL) {
		memset(out, 0, sizeof(*out));
		return;
	}
	pthread_mutex_lock(&j->mu);
	*out = j->st;
	pthread_mutex_unlock(&j->mu);
}

void
jsonlog_close(struct jsonlog *j)
{
	struct jsonlog_stats st;

	if (j == NULL)
		return;
	jsonlog_flush(j);
	pthread_mutex_lock(&j->mu);
	j->stop = true;
	pthread_cond_signal(&j->wake);
	pthread_mutex_unlock(&j->mu);
	pthread_join(j->thread, NULL);
	st = j->st;
	log_info("jsonlog",
	    "%s closed: %llu lines written, %llu lost to errors, %llu dropped "
	    "(queue full)",
	    j->target, (unsigned long long)st.written,
	    (unsigned long long)st.write_errors,
	    (unsigned long long)st.dropped_full);
	pthread_cond_destroy(&j->wake);
	pthread_mutex_destroy(&j->mu);
	free_jsonlog(j);
}
