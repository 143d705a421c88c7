/*
 * test_jsonlog.c: the JSON flow log (daemon/jsonlog.c). The formatter: an
 * exact IPv4 line, IPv6 text, every combination of optional fields (the
 * keys present and in order, parsed back with jansson), hostile names,
 * the time against gmtime_r, snprintf-like cutting and the worst-case
 * length. The writer, on real targets in a temporary directory: a file
 * round trip, rotation (the exact files and lines kept), reopening after
 * the file is removed or moved, a full queue (a FIFO nobody reads yet),
 * ENOSPC (/dev/full), UDP (IPv4, IPv6, refused), unix datagram sockets (a
 * reader, a late reader, a reader that never reads), and bad targets.
 * Prints the formatter's and the file writer's lines per second.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "jsonlog.h"
#include "t.h"
#include "util.h"

static char tmpdir[64];

static int
rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	return remove(p);
}

static void
cleanup(void)
{
	if (tmpdir[0] != '\0')
		nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A path in the test's directory. */
static const char *
tpath(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", tmpdir, name);
	return buf;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
addr4(struct sflow_addr *a, uint8_t b0, uint8_t b1, uint8_t b2, uint8_t b3)
{
	memset(a, 0, sizeof(*a));
	a->family = 4;
	a->a[0] = b0;
	a->a[1] = b1;
	a->a[2] = b2;
	a->a[3] = b3;
}

/*
 * Record number seq (in packets): its line length varies with seq, so
 * that rotation cuts in different places.
 */
static struct jsonlog_rec
rec_n(uint64_t seq)
{
	struct jsonlog_rec r;

	memset(&r, 0, sizeof(r));
	r.source = (uint8_t)(seq % 4);
	r.have = JSONLOG_HAVE_ADDRS | JSONLOG_HAVE_PORTS | JSONLOG_HAVE_PROTO |
	    JSONLOG_HAVE_IN_IF | JSONLOG_HAVE_OUT_IF;
	addr4(&r.exporter, 10, 0, 0, (uint8_t)(1 + seq % 3));
	snprintf(r.node, sizeof(r.node), "leaf%u", (unsigned)(seq % 7));
	snprintf(r.link, sizeof(r.link), "leaf%u:swp%u--spine1:swp%u",
	    (unsigned)(seq % 7), (unsigned)(seq % 1000), (unsigned)(seq % 13));
	addr4(&r.src, 192, 168, (uint8_t)(seq >> 8), (uint8_t)seq);
	addr4(&r.dst, 10, 1, 2, 3);
	r.src_port = (uint16_t)(1024 + seq % 60000);
	r.dst_port = 443;
	r.protocol = 6;
	r.in_if = 3;
	r.out_if = 1;
	r.bytes = seq * 1500;
	r.packets = seq;
	r.start_ms = r.end_ms = 1795345384123LL + (int64_t)seq;
	r.sampling_rate = 1;
	return r;
}

/* The record number of a line, or -1 if it is not JSON with packets. */
static int64_t
line_seq(const char *s, size_t n)
{
	json_error_t e;
	json_t *o = json_loadb(s, n, 0, &e);
	json_t *p;
	int64_t v = -1;

	if (o == NULL) {
		printf("#   not JSON (%s): %.*s\n", e.text, (int)n, s);
		return -1;
	}
	if ((p = json_object_get(o, "packets")) != NULL && json_is_integer(p))
		v = json_integer_value(p);
	json_decref(o);
	return v;
}

/*
 * Read a JSON Lines file: every line must parse; their record numbers go
 * to seqs (up to max). Returns the lines, or -1 if the file is missing.
 */
static long
read_jsonl(const char *path, int64_t *seqs, size_t max, int *bad)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	long count = 0;

	if (f == NULL)
		return -1;
	while ((n = getline(&line, &cap, f)) > 0) {
		int64_t s;

		if (line[n - 1] != '\n')
			(*bad)++; /* a torn last line */
		s = line_seq(line, (size_t)n);
		if (s < 0)
			(*bad)++;
		if ((size_t)count < max)
			seqs[count] = s;
		count++;
	}
	free(line);
	fclose(f);
	return count;
}

static bool
starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool
exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* Wait until the writer has written (or lost) everything queued. */
static bool
wait_idle(struct jsonlog *j, int ms)
{
	struct jsonlog_stats st;

	for (int i = 0; i < ms / 10; i++) {
		jsonlog_get_stats(j, &st);
		if (st.written + st.write_errors == st.queued)
			return true;
		sleep_ms(10);
	}
	return false;
}

/* Wait until the writer has written (or lost) n lines. */
static bool
wait_done(struct jsonlog *j, uint64_t n, int ms)
{
	struct jsonlog_stats st;

	for (int i = 0; i < ms / 10; i++) {
		jsonlog_get_stats(j, &st);
		if (st.written + st.write_errors >= n)
			return true;
		sleep_ms(10);
	}
	return false;
}

/* ---- the formatter ------------------------------------------------------ */

static struct jsonlog_rec
full_v4(void)
{
	struct jsonlog_rec r;
	static const uint8_t sm[6] = { 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };
	static const uint8_t dm[6] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55 };

	memset(&r, 0, sizeof(r));
	r.source = JSONLOG_SFLOW;
	r.have = JSONLOG_HAVE_ADDRS | JSONLOG_HAVE_PORTS | JSONLOG_HAVE_PROTO |
	    JSONLOG_HAVE_TOS | JSONLOG_HAVE_TCP_FLAGS | JSONLOG_HAVE_IN_IF |
	    JSONLOG_HAVE_OUT_IF | JSONLOG_HAVE_VLAN | JSONLOG_HAVE_MACS;
	addr4(&r.exporter, 10, 0, 0, 1);
	strcpy(r.node, "leaf1");
	strcpy(r.link, "leaf1:swp1--spine1:swp1");
	strcpy(r.in_port, "swp3");
	strcpy(r.out_port, "swp1");
	addr4(&r.src, 192, 168, 1, 10);
	addr4(&r.dst, 10, 1, 2, 3);
	r.src_port = 43210;
	r.dst_port = 443;
	r.protocol = 6;
	r.tcp_flags = 0x18;
	r.in_if = 3;
	r.out_if = 1;
	r.vlan = 100;
	memcpy(r.src_mac, sm, 6);
	memcpy(r.dst_mac, dm, 6);
	r.bytes = 1500000;
	r.packets = 1000;
	r.start_ms = r.end_ms = 1795345384123LL;
	r.sampling_rate = 1000;
	return r;
}

static void
test_format_v4(void)
{
	struct jsonlog_rec r = full_v4();
	char buf[JSONLOG_LINE_MAX];
	const char *want =
	    "{\"time\":\"2026-11-22T11:03:04.123Z\",\"source\":\"sflow\","
	    "\"exporter\":\"10.0.0.1\",\"node\":\"leaf1\","
	    "\"link\":\"leaf1:swp1--spine1:swp1\",\"src_ip\":\"192.168.1.10\","
	    "\"dst_ip\":\"10.1.2.3\",\"src_port\":43210,\"dst_port\":443,"
	    "\"protocol\":6,\"tos\":0,\"tcp_flags\":24,\"in_if\":3,"
	    "\"out_if\":1,\"in_port\":\"swp3\",\"out_port\":\"swp1\","
	    "\"vlan\":100,\"src_mac\":\"aa:bb:cc:dd:ee:ff\","
	    "\"dst_mac\":\"00:11:22:33:44:55\",\"bytes\":1500000,"
	    "\"packets\":1000,\"start\":\"2026-11-22T11:03:04.123Z\","
	    "\"end\":\"2026-11-22T11:03:04.123Z\",\"sampling_rate\":1000}\n";

	T_EQ(jsonlog_format(buf, sizeof(buf), &r), strlen(want));
	T_STREQ(buf, want);

	/* time is end; start may differ; dropped only when true */
	r.start_ms = 951868799999LL; /* a leap day's last ms */
	r.end_ms = 951868800000LL;
	r.dropped = true;
	r.source = JSONLOG_IPFIX;
	jsonlog_format(buf, sizeof(buf), &r);
	T_OK(starts_with(buf,
	    "{\"time\":\"2000-03-01T00:00:00.000Z\","
	    "\"source\":\"ipfix\",\"exporter\":"));
	T_OK(strstr(buf,
	         "\"start\":\"2000-02-29T23:59:59.999Z\","
	         "\"end\":\"2000-03-01T00:00:00.000Z\","
	         "\"sampling_rate\":1000,\"dropped\":true}\n") != NULL);
}

static void
test_format_v6(void)
{
	struct jsonlog_rec r = full_v4();
	char buf[JSONLOG_LINE_MAX];
	static const uint8_t s6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0x01 };
	static const uint8_t d6[16] = { 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x02,
		0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55 };
	static const uint8_t m6[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff,
		0xff, 10, 0, 0, 9 };

	r.source = JSONLOG_NETFLOW9;
	r.src.family = r.dst.family = r.exporter.family = 6;
	memcpy(r.src.a, s6, 16);
	memcpy(r.dst.a, d6, 16);
	memcpy(r.exporter.a, m6, 16);
	jsonlog_format(buf, sizeof(buf), &r);
	T_OK(strstr(buf,
	         "\"source\":\"netflow9\","
	         "\"exporter\":\"::ffff:10.0.0.9\",") != NULL);
	T_OK(strstr(buf,
	         "\"src_ip\":\"2001:db8::1\","
	         "\"dst_ip\":\"fe80::211:22ff:fe33:4455\",") != NULL);

	/* An address of unknown family is left out, the rest stays. */
	r.exporter.family = 0;
	r.src.family = 0;
	jsonlog_format(buf, sizeof(buf), &r);
	T_OK(strstr(buf, "exporter") == NULL);
	T_OK(strstr(buf, "src_ip") == NULL);
	T_OK(strstr(buf,
	         "\"link\":\"leaf1:swp1--spine1:swp1\","
	         "\"dst_ip\":\"fe80::211:22ff:fe33:4455\",") != NULL);
	T_EQ(line_seq(buf, strlen(buf)), 1000);
}

/* Every key in its place, in the contract's order. */
static const char *const key_order[] = { "time", "source", "exporter", "node",
	"link", "src_ip", "dst_ip", "src_port", "dst_port", "protocol", "tos",
	"tcp_flags", "icmp_type", "icmp_code", "in_if", "out_if", "in_port",
	"out_port", "vlan", "src_mac", "dst_mac", "bytes", "packets", "start",
	"end", "sampling_rate", "dropped" };

/* Whether key k is expected for combination c (bits 0-9: have; 10-13:
 * node, link, in_port, out_port set; 14: dropped). */
static bool
key_expected(const char *k, unsigned c)
{
	static const struct {
		const char *key;
		unsigned bit;
	} opt[] = { { "src_ip", 0 }, { "dst_ip", 0 }, { "src_port", 1 },
		{ "dst_port", 1 }, { "protocol", 2 }, { "tos", 3 },
		{ "tcp_flags", 4 }, { "in_if", 5 }, { "out_if", 6 },
		{ "vlan", 7 }, { "src_mac", 8 }, { "dst_mac", 8 },
		{ "icmp_type", 9 }, { "icmp_code", 9 }, { "node", 10 },
		{ "link", 11 }, { "in_port", 12 }, { "out_port", 13 },
		{ "dropped", 14 } };

	for (size_t i = 0; i < nitems(opt); i++)
		if (strcmp(k, opt[i].key) == 0)
			return (c >> opt[i].bit) & 1;
	return true; /* required */
}

static void
test_optional_fields(void)
{
	char buf[JSONLOG_LINE_MAX];
	int bad = 0;

	for (unsigned c = 0; c < 1u << 15; c++) {
		struct jsonlog_rec r = full_v4();
		json_error_t e;
		json_t *o, *v;
		void *it;
		size_t want = 0, n;

		r.have = c & 0x3ff;
		r.icmp_type = 3;
		r.icmp_code = 1;
		if (!(c & 1u << 10))
			r.node[0] = '\0';
		if (!(c & 1u << 11))
			r.link[0] = '\0';
		if (!(c & 1u << 12))
			r.in_port[0] = '\0';
		if (!(c & 1u << 13))
			r.out_port[0] = '\0';
		r.dropped = (c & 1u << 14) != 0;
		n = jsonlog_format(buf, sizeof(buf), &r);
		if (n == 0 || buf[n - 1] != '\n' ||
		    strchr(buf, '\n') != buf + n - 1)
			bad++;
		if ((o = json_loadb(buf, n, 0, &e)) == NULL) {
			if (bad++ == 0)
				T_FAIL("not JSON (%s): %s", e.text, buf);
			continue;
		}
		/* jansson keeps insertion order: walk both lists. */
		it = json_object_iter(o);
		for (size_t i = 0; i < nitems(key_order); i++) {
			if (!key_expected(key_order[i], c))
				continue;
			want++;
			if (it == NULL ||
			    strcmp(json_object_iter_key(it), key_order[i]) !=
			        0) {
				if (bad++ == 0)
					T_FAIL(
					    "combination %#x: expected %s at "
					    "%zu: %s",
					    c, key_order[i], want, buf);
				break;
			}
			it = json_object_iter_next(o, it);
		}
		if (json_object_size(o) != want && bad++ == 0)
			T_FAIL("combination %#x: %zu keys, expected %zu: %s", c,
			    json_object_size(o), want, buf);
		/* values, where present */
		if ((v = json_object_get(o, "icmp_code")) != NULL &&
		    json_integer_value(v) != 1)
			bad++;
		if ((v = json_object_get(o, "vlan")) != NULL &&
		    json_integer_value(v) != 100)
			bad++;
		if ((v = json_object_get(o, "dst_mac")) != NULL &&
		    strcmp(json_string_value(v), "00:11:22:33:44:55") != 0)
			bad++;
		if ((v = json_object_get(o, "dropped")) != NULL &&
		    !json_is_true(v))
			bad++;
		json_decref(o);
	}
	T_EQ(bad, 0);
}

/* Names from SNMP, as hostile as they come, parsed back with jansson. */
static void
test_escaping(void)
{
	struct jsonlog_rec r = full_v4();
	char buf[JSONLOG_LINE_MAX];
	json_error_t e;
	json_t *o;
	size_t n;
	char want_link[200];

	/* quotes, backslash, C0 controls, DEL, UTF-8, a stray byte */
	strcpy(r.node, "a\"b\\c\x01\x1f\x7f \xc3\xa9</script>\xff\n\t");
	/* a full array without its NUL */
	memset(r.link, 'L', sizeof(r.link));
	r.link[0] = '"';
	/* UTF-8 cut by the array's end */
	memset(r.in_port, 'p', sizeof(r.in_port));
	r.in_port[sizeof(r.in_port) - 1] = (char)0xc3;
	/* an overlong encoding of '/', and a surrogate */
	strcpy(r.out_port, "\xc0\xaf-\xed\xa0\x80");
	n = jsonlog_format(buf, sizeof(buf), &r);
	for (size_t i = 0; i < n - 1; i++)
		if ((uint8_t)buf[i] < 0x20) {
			T_FAIL("a raw control byte at %zu", i);
			break;
		}
	T_OK(strstr(buf,
	         "\"node\":\"a\\\"b\\\\c\\u0001\\u001f\\u007f "
	         "\xc3\xa9</script>\\u00ff\\u000a\\u0009\"") != NULL);
	if ((o = json_loadb(buf, n, 0, &e)) == NULL) {
		T_FAIL("not JSON (%s): %s", e.text, buf);
		return;
	}
	T_STREQ(json_string_value(json_object_get(o, "node")),
	    "a\"b\\c\x01\x1f\x7f \xc3\xa9</script>\xc3\xbf\n\t");
	memset(want_link, 'L', sizeof(r.link));
	want_link[0] = '"';
	want_link[sizeof(r.link)] = '\0';
	T_STREQ(json_string_value(json_object_get(o, "link")), want_link);
	{
		char want_port[sizeof(r.in_port) + 2];

		memset(want_port, 'p', sizeof(r.in_port) - 1);
		memcpy(want_port + sizeof(r.in_port) - 1, "\xc3\x83", 3);
		T_STREQ(json_string_value(json_object_get(o, "in_port")),
		    want_port);
	}
	T_STREQ(json_string_value(json_object_get(o, "out_port")),
	    "\xc3\x80\xc2\xaf-\xc3\xad\xc2\xa0\xc2\x80");
	T_EQ(json_integer_value(json_object_get(o, "packets")), 1000);
	json_decref(o);
}

/* The time, against gmtime_r, over the whole range and at its edges. */
static void
test_time(void)
{
	static const int64_t edge[] = { 0, 1, 999, 1000, 86399999, 86400000,
		951782400000LL, 951868799999LL, 946684800000LL, 4102444800000LL,
		4107542400000LL, 253402300799999LL };
	char buf[JSONLOG_LINE_MAX], want[40], got[40];
	uint64_t x = 88172645463325252ull;
	int bad = 0;

	for (size_t i = 0; i < nitems(edge) + 20000; i++) {
		struct jsonlog_rec r = full_v4();
		int64_t ms;
		time_t t;
		struct tm tm;
		const char *s;

		if (i < nitems(edge)) {
			ms = edge[i];
		} else {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			ms = (int64_t)(x % 253402300800000ull);
		}
		r.start_ms = ms;
		t = (time_t)(ms / 1000);
		gmtime_r(&t, &tm);
		strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(want + strlen(want), sizeof(want) - strlen(want),
		    ".%03dZ", (int)(ms % 1000));
		jsonlog_format(buf, sizeof(buf), &r);
		s = strstr(buf, "\"start\":\"") + 9;
		snprintf(got, sizeof(got), "%.24s", s);
		if (strcmp(got, want) != 0 && bad++ < 3)
			T_FAIL("%" PRId64 ": %s, expected %s", ms, got, want);
	}
	T_EQ(bad, 0);

	/* clamped: before 1970 and after 9999 */
	{
		struct jsonlog_rec r = full_v4();

		r.start_ms = -5;
		r.end_ms = INT64_MAX;
		jsonlog_format(buf, sizeof(buf), &r);
		T_OK(strstr(buf,
		         "\"start\":\"1970-01-01T00:00:00.000Z\","
		         "\"end\":\"9999-12-31T23:59:59.999Z\"") != NULL);
		T_OK(
		    starts_with(buf, "{\"time\":\"9999-12-31T23:59:59.999Z\""));
	}
}

/* Like snprintf: the full length, a NUL-terminated prefix. */
static void
test_cut(void)
{
	struct jsonlog_rec r = full_v4();
	char full[JSONLOG_LINE_MAX], small[40];
	size_t n = jsonlog_format(full, sizeof(full), &r);

	memset(small, 'X', sizeof(small));
	T_EQ(jsonlog_format(small, 20, &r), n);
	T_EQ(strlen(small), 19);
	T_OK(memcmp(small, full, 19) == 0);
	T_EQ(small[20], 'X');
	T_EQ(jsonlog_format(small, 0, &r), n);
	T_EQ(small[0], '{');
	T_EQ(jsonlog_format(small, 1, &r), n);
	T_EQ(small[0], '\0');
}

/* The longest line there can be still fits JSONLOG_LINE_MAX. */
static void
test_worst_case(void)
{
	struct jsonlog_rec r;
	char buf[JSONLOG_LINE_MAX];
	size_t n;

	memset(&r, 0xff, sizeof(r));
	r.source = JSONLOG_NETFLOW5;
	r.exporter.family = r.src.family = r.dst.family = 6;
	/* the longest IPv6 text: 8 groups of 4 hex digits */
	for (int i = 0; i < 16; i++)
		r.exporter.a[i] = r.src.a[i] = r.dst.a[i] = 0xab;
	memset(r.node, 0x01, sizeof(r.node)); /* 6 bytes out per byte */
	memset(r.link, 0x01, sizeof(r.link));
	memset(r.in_port, 0x80, sizeof(r.in_port));
	memset(r.out_port, 0x1f, sizeof(r.out_port));
	r.start_ms = r.end_ms = 253402300799999LL;
	r.dropped = true;
	n = jsonlog_format(buf, sizeof(buf), &r);
	printf("# worst-case line: %zu bytes (JSONLOG_LINE_MAX %d)\n", n,
	    JSONLOG_LINE_MAX);
	T_OK(n < JSONLOG_LINE_MAX);
	T_OK(strstr(buf, "\"packets\":18446744073709551615,") != NULL);
	{
		json_error_t e;
		json_t *o = json_loadb(buf, n, JSON_DECODE_INT_AS_REAL, &e);

		T_OK(o != NULL);
		T_EQ(json_object_size(o), nitems(key_order));
		json_decref(o);
	}
}

/* ---- the writer --------------------------------------------------------- */

static void
test_file_roundtrip(void)
{
	enum { N = 10000 };
	char path[128], err[256];
	struct jsonlog_conf c = { 0 };
	struct jsonlog *j;
	struct jsonlog_stats st;
	struct stat sb;
	static int64_t seqs[N + 1];
	int bad = 0;
	long lines;

	c.file = tpath(path, sizeof(path), "round.json");
	if ((j = jsonlog_open(&c, err, sizeof(err))) == NULL) {
		T_FAIL("open: %s", err);
		return;
	}
	jsonlog_get_stats(j, &st);
	T_OK(strncmp(st.target, "file:", 5) == 0 &&
	    strcmp(st.target + 5, path) == 0);
	for (uint64_t i = 0; i < N; i++) {
		struct jsonlog_rec r = rec_n(i);

		jsonlog_put(j, &r);
		if (i % 1000 == 999)
			jsonlog_flush(j);
	}
	jsonlog_close(j);
	lines = read_jsonl(path, seqs, N + 1, &bad);
	T_EQ(lines, N);
	T_EQ(bad, 0);
	for (long i = 0; i < lines && i < N; i++)
		if (seqs[i] != i) {
			T_FAIL("line %ld holds record %" PRId64, i, seqs[i]);
			break;
		}
	{
		mode_t um = umask(0);

		umask(um);
		T_OK(stat(path, &sb) == 0);
		T_EQ(sb.st_mode & 0777, 0640 & ~um);
	}

	/* Appends: a second run adds to the same file. */
	if ((j = jsonlog_open(&c, err, sizeof(err))) == NULL) {
		T_FAIL("open again: %s", err);
		return;
	}
	for (uint64_t i = N; i < N + 10; i++) {
		struct jsonlog_rec r = rec_n(i);

		jsonlog_put(j, &r);
	}
	jsonlog_flush(j);
	T_OK(wait_done(j, 10, 5000));
	jsonlog_get_stats(j, &st);
	T_EQ(st.queued, 10);
	T_EQ(st.written, 10);
	T_EQ(st.write_errors, 0);
	T_EQ(st.dropped_full, 0);
	T_STREQ(st.last_error, "");
	jsonlog_close(j);
	T_EQ(read_jsonl(path, NULL, 0, &bad), N + 10);
	T_EQ(bad, 0);
}

/*
 * Rotation, against a model: a line that would take the file past
 * max_bytes starts a new one; with keep = 2 only the last three files
 * (file, file.1, file.2) are left, each holding exactly the lines the
 * model says, and the lines of older files are gone.
 */
static void
test_rotation(void)
{
	enum { N = 400, MAXB = 4096, KEEP = 2 };
	char path[128], name[160], err[256];
	struct jsonlog_conf c = { 0 };
	struct jsonlog *j;
	static size_t file_of[N]; /* the model: which file each line is in */
	size_t nfiles = 1, cur = 0, lost = 0, total = 0;
	int bad = 0;

	for (size_t i = 0; i < N; i++) {
		char buf[JSONLOG_LINE_MAX];
		struct jsonlog_rec r = rec_n(i);
		size_t n = jsonlog_format(buf, sizeof(buf), &r);

		if (cur > 0 && cur + n > MAXB) {
			nfiles++;
			cur = 0;
		}
		cur += n;
		file_of[i] = nfiles - 1;
	}
	T_OK(nfiles > KEEP + 2); /* some files rotate away */

	c.file = tpath(path, sizeof(path), "rot.json");
	c.max_bytes = MAXB;
	c.keep = KEEP;
	if ((j = jsonlog_open(&c, err, sizeof(err))) == NULL) {
		T_FAIL("open: %s", err);
		return;
	}
	for (size_t i = 0; i < N; i++) {
		struct jsonlog_rec r = rec_n(i);

		jsonlog_put(j, &r);
		if (i % 37 == 0) /* batches of all sizes */
			jsonlog_flush(j);
	}
	jsonlog_close(j);

	/* file.k holds the model's file nfiles-1-k */
	for (unsigned k = 0; k <= KEEP + 1; k++) {
		static int64_t seqs[N];
		size_t want = 0, first = SIZE_MAX;
		long got;
		struct stat sb;

		if (k == 0)
			snprintf(name, sizeof(name), "%s", path);
		else
			snprintf(name, sizeof(name), "%s.%u", path, k);
		got = read_jsonl(name, seqs, N, &bad);
		if (k == KEEP + 1) {
			T_EQ(got, -1); /* beyond keep: gone */
			break;
		}
		for (size_t i = 0; i < N; i++)
			if (file_of[i] == nfiles - 1 - k) {
				if (first == SIZE_MAX)
					first = i;
				want++;
			}
		T_EQ(got, want);
		for (long i = 0; i < got; i++)
			if (seqs[i] != (int64_t)(first + (size_t)i)) {
				T_FAIL("%s line %ld: record %" PRId64
				       ", expected %zu",
				    name, i, seqs[i], first + (size_t)i);
				break;
			}
		T_OK(stat(name, &sb) == 0 && sb.st_size <= MAXB);
		total += (size_t)(got > 0 ? got : 0);
	}
	for (size_t i = 0; i < N; i++)
		if (file_of[i] + KEEP + 1 < nfiles)
			lost++;
	T_EQ(bad, 0);
	T_OK(lost > 0);
	T_EQ(total, N - lost);
}

/* The same through the stats of a live jsonlog: rotations counted. */
static void
test_rotation_stats(void)
{
	char path[128], err[256];
	struct jsonlog_conf c = { 0 };
	struct jsonlog *j;
	struct jsonlog_stats st;
	struct jsonlog_rec r = rec_n(5);
	char buf[JSONLOG_LINE_MAX];
	size_t n = jsonlog_format(buf, sizeof(buf), &r);

	c.file = tpath(path, sizeof(path), "rotstats.json");
	c.max_bytes = 3 * n; /* three lines a file */
	c.keep = 1;
	if ((j = jsonlog_open(&c, err, sizeof(err))) == NULL) {
		T_FAIL("open: %s", err);
		return;
	}
	for (int i = 0; i < 10; i++)
		jsonlog_put(j, &r);
	jsonlog_flush(j);
	T_OK(wait_done(j, 10, 5000));
	jsonlog_get_stats(j, &st);
	T_EQ(st.rotations, 3); /* 3+3+3+1 */
	T_EQ(st.written, 10);
	T_EQ(st.bytes, 10 * n);
	jsonlog_close(j);
	{
		int bad = 0;
		char p1[160];

		snprintf(p1, sizeof(p1), "%s.1", path);
		T_EQ(read_jsonl(path, NULL, 0, &bad), 1);
		T_EQ(read_jsonl(p1, NULL, 0, &bad), 3);
		snprintf(p1, sizeof(p1), "%s.2", path);
		T_OK(!exists(p1));
		T_EQ(bad, 0);
	}
}

/*
 * An external logrotate: the file is removed (or moved away) under the
 * writer; within a second or so it opens the path again, and the lines
 * after go to the new file.
 */
static void
reopen_case(bool move)
{
	char path[128], moved[160], err[256];
	struct jsonlog_conf c = { 0 };
	struct jsonlog *j;
	static int64_t seqs[100];
	int bad = 0, waited = 0;

	c.file = tpath(path, sizeof(path), move ? "moved.json" : "rm.json");
	snprintf(moved, sizeof(moved), "%s.old", path);
	if ((j = jsonlog_open(&c, err, sizeof(err))) == NULL) {
		T_FAIL("open: %s", err);
		return;
	}
	for (uint64_t i = 0; i < 100; i++) {
		struct jsonlog_rec r = rec_n(i);

		jsonlog_put(j, &r);
	}
	jsonlog_flush(j);
	T_OK(wait_done(j, 100, 5000));
	if (move)
		T_OK(rename(path, moved) == 0);
	else
		T_OK(unlink(path) == 0);
	while (!exists(path) && waited < 5000) {
		sleep_ms(10);
		waited += 10;
	}
	T_OK(exists(path));
	printf("# reopened after %d ms\n", waited);
	for (uint64_t i = 100; i < 150; i++) {
		struct jsonlog_rec r = rec_n(i);

		jsonlog_put(j, &r);
	}
	jsonlog_close(j);
	T_EQ(read_jsonl(path, seqs, 100, &bad), 50);
	T_EQ(seqs[0], 100);
	T_EQ(seqs[49], 149);
	if (move) {
		T_EQ(read_jsonl(moved, seqs, 100, &bad), 100);
		T_EQ(seqs[99], 99);
	}
	T_EQ(bad, 0);
}

static void
test_reopen_removed(void)
{
	reopen_case(false);
}

static void
test_reopen_moved(void)
{
	reopen_case(true);
}

/* The FIFO's reader: counts the lines it reads, each parsed. */
struct pipe_rx {
	int fd;
	long lines;
	int bad;
};

static void *
pipe_rx_main(void *arg)
{
	struct pipe_rx *rx = arg;
	static char acc[1 << 16];
	size_t have = 0;
	ssize_t n;

	while ((n = read(rx->fd, acc + have, sizeof(acc) - have)) > 0) {
		char *s = acc, *nl;

		have += (size_t)n;
		while (
		    (nl = memchr(s, '\n', have - (size_t)(s - acc))) != NULL) {
			if (line_seq(s, (size_t)(nl - s + 1)) < 0)
				rx->bad++;
			rx->lines++;
			s = nl + 1;
		}
		have -= (size_t)(s - acc);
		memmove(acc, s, have);
	}
	if (have > 0)
		rx->bad++;
	return NULL;
}

/*
 * A full queue: the target is a FIFO that nobody reads yet, so the writer
 * blocks in write() while the producer floods. The producer never blocks:
 * what does not fit is dropped and counted; once the reader reads, every
 * queued line arrives.
 */
static void
test_queue_full(void)
{
	enum { N = 20000 };
	char path[128], err[256];
	struct jsonlog_conf c = { 0 };
	struct jsonlog *j;
	struct jsonlog_stats st;
	struct pipe_rx rx = { 0 };
	pthread_t th;
	double t0, dt;
	static struct jsonlog_rec recs[64];

	c.file = tpath(path, sizeof(path), "fifo");
	c.queue_max = 100;
	T_OK(mkfifo(path, 0600) == 0);
	/* Without a reader the open must fail, not hang. */
	T_OK(jsonlog_open(&c, err, sizeof(err)) == NULL);
	T_OK(strstr(err, "FIFO") != NULL);
	rx.fd = open(path, O_RDONLY | O_NONBLOCK);
	T_OK(rx.fd >= 0);
	if ((j = jsonlog_open(&c, err, sizeof(err))) == NULL) {
		T_FAIL("open: %s", err);
		return;
	}
	for (uint64_t i = 0; i < nitems(recs); i++)
		recs[i] = rec_n(i);
	t0 = now_s();
	for (uint64_t i = 0; i < N; i++)
		jsonlog_put(j, &recs[i % nitems(recs)]);
	jsonlog_flush(j);
	dt = now_s() - t0;
	printf("# %d puts against a stuck writer: %.1f M puts/s\n", N,
	    N / dt / 1e6);
	jsonlog_get_stats(j, &st);
	T_EQ(st.queued + st.dropped_full, N);
	T_OK(st.dropped_full > 0);
	T_OK(st.queued >= 100); /* the ring, and what the pipe took */
	/* Now read: everything queued arrives. */
	fcntl(rx.fd, F_SETFL, fcntl(rx.fd, F_GETFL) & ~O_NONBLOCK);
	pthread_create(&th, NULL, pipe_rx_main, &rx);
	{
		uint64_t queued = st.queued;

		T_OK(wait_done(j, queued, 10000));
		jsonlog_get_stats(j, &st);
		jsonlog_close(j);
		pthread_join(th, NULL);
		close(rx.fd);
		T_EQ(st.written, queued);
		T_EQ(st.write_errors, 0);
		T_EQ(rx.lines, (long)queued);
		T_EQ(rx.bad, 0);
	}
}

/* ENOSPC: counted, kept in last_error, never fatal, retried per batch. */
static void
test_write_error(void)
{
	char err[256];
	struct jsonlog_conf c = { .file = "/dev/full" };
	struct jsonlog *j;
	struct jsonlog_stats st;

	if ((j = jsonlog_open(&c, err, sizeof(err))) == NULL) {
		printf("# /dev/full: %s (skipped)\n", err);
		return;
	}
	for (uint64_t i = 0; i < 500; i++) {
		struct jsonlog_rec r = rec_n(i);

		jsonlog_put(j, &r);
		if (i % 100 == 99) {
			jsonlog_flush(j);
			sleep_ms(5); /* several batches, each tried */
		}
	}
	T_OK(wait_done(j, 500, 5000));
	jsonlog_get_stats(j, &st);
	T_EQ(st.queued, 500);
	T_EQ(st.written, 0);
	T_EQ(st.write_errors, 500);
	T_EQ(st.bytes, 0);
	T_OK(strstr(st.last_error, "No space left") != NULL);
	/* and it goes on: more lines, more errors, no hang */
	for (uint64_t i = 0; i < 10; i++) {
		struct jsonlog_rec r = rec_n(i);

		jsonlog_put(j, &r);
	}
	jsonlog_flush(j);
	T_OK(wait_done(j, 510, 5000));
	jsonlog_close(j);
}

/* A datagram reader: up to want datagrams, each one line, parsed. */
struct dgram_rx {
	int fd;
	size_t want;
	size_t got;
	int bad;
	int64_t last_seq;
	bool in_order;
};

static void *
dgram_rx_main(void *arg)
{
	struct dgram_rx *rx = arg;
	char buf[4096];

	rx->in_order = true;
	rx->last_seq = -1;
	while (rx->got < rx->want) {
		struct pollfd p = { .fd = rx->fd, .events = POLLIN };
		ssize_t n;
		int64_t s;

		if (poll(&p, 1, 3000) <= 0)
			break;
		if ((n = recv(rx->fd, buf, sizeof(buf), 0)) <= 0)
			break;
		if (buf[n - 1] != '\n' || memchr(buf, '\n', (size_t)n - 1))
			rx->bad++; /* one line, with its newline */
		if ((s = line_seq(buf, (size_t)n)) < 0)
			rx->bad++;
		if (s <= rx->last_seq)
			rx->in_order = false;
		rx->last_seq = s;
		rx->got++;
	}
	return NULL;
}

static void
dgram_roundtrip(const char *spec, int rfd, size_t n)
{
	char err[256];
	struct jsonlog_conf c = { .udp = spec };
	struct jsonlog *j;
	struct dgram_rx rx = { .fd = rfd, .want = n };
	pthread_t th;

	if ((j = jsonlog_open(&c, err, sizeof(err))) == NULL) {
		T_FAIL("open %s: %s", spec, err);
		return;
	}
	pthread_create(&th, NULL, dgram_rx_main, &rx);
	for (uint64_t i = 0; i < n; i++) {
		struct jsonlog_rec r = rec_n(i);

		jsonlog_put(j, &r);
		if (i % 50 == 49) {
			jsonlog_flush(j);
			sleep_ms(2);
		}
	}
	jsonlog_close(j);
	pthread_join(th, NULL);
	T_EQ(rx.got, n);
	T_EQ(rx.bad, 0);
	T_OK(rx.in_order);
}

static int
bound_udp(int family, int *port)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd = socket(family, SOCK_DGRAM, 0), big = 1 << 22;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)&ss;

		s->sin_family = AF_INET;
		s->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sl = sizeof(*s);
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;

		s->sin6_family = AF_INET6;
		s->sin6_addr = in6addr_loopback;
		sl = sizeof(*s);
	}
	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, sl) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	sl = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	*port =
	    ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
	                            : ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

static void
test_udp(void)
{
	char spec[64];
	int port, fd;

	if ((fd = bound_udp(AF_INET, &port)) < 0) {
		T_FAIL("bind 127.0.0.1");
		return;
	}
	snprintf(spec, sizeof(spec), "127.0.0.1:%d", port);
	dgram_roundtrip(spec, fd, 500);
	close(fd);
	if ((fd = bound_udp(AF_INET6, &port)) < 0) {
		printf("# no IPv6 loopback: [::1] skipped\n");
		return;
	}
	snprintf(spec, sizeof(spec), "[::1]:%d", port);
	dgram_roundtrip(spec, fd, 200);
	close(fd);
}

/* Nobody listens: ICMP port unreachable comes back as ECONNREFUSED on a
 * later send. Counted, never fatal, and the books balance. */
static void
test_udp_refused(void)
{
	char spec[64], err[256];
	struct jsonlog_conf c = { .udp = spec };
	struct jsonlog *j;
	struct jsonlog_stats st;
	int port, fd = bound_udp(AF_INET, &port);

	close(fd); /* a port that was free a moment ago */
	snprintf(spec, sizeof(spec), "127.0.0.1:%d", port);
	if ((j = jsonlog_open(&c, err, sizeof(err))) == NULL) {
		T_FAIL("open: %s", err);
		return;
	}
	for (int round = 0; round < 3; round++) {
		for (uint64_t i = 0; i < 10; i++) {
			struct jsonlog_rec r = rec_n(i);

			jsonlog_put(j, &r);
		}
		jsonlog_flush(j);
		T_OK(wait_done(j, 10 * (uint64_t)(round + 1), 5000));
		sleep_ms(50);
	}
	jsonlog_get_stats(j, &st);
	jsonlog_close(j);
	T_EQ(st.queued, 30);
	T_EQ(st.written + st.write_errors, 30);
	T_OK(st.write_errors >= 1);
	T_OK(strstr(st.last_error, "refused") != NULL);
}

static int
bound_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* A reader there from the start (the kernel queues 10 datagrams by
 * default: the writer waits for room, the reader drains). */
static void
test_unix(void)
{
	enum { N = 1000 };
	char path[128], err[256];
	struct jsonlog_conf c = { 0 };
	struct jsonlog *j;
	struct jsonlog_stats st;
	struct dgram_rx rx = { .want = N };
	pthread_t th;

	c.unix_path = tpath(path, sizeof(path), "rx.sock");
	if ((rx.fd = bound_unix(path)) < 0) {
		T_FAIL("bind %s", path);
		return;
	}
	if ((j = jsonlog_open(&c, err, sizeof(err))) == NULL) {
		T_FAIL("open: %s", err);
		return;
	}
	pthread_create(&th, NULL, dgram_rx_main, &rx);
	for (uint64_t i = 0; i < N; i++) {
		struct jsonlog_rec r = rec_n(i);

		jsonlog_put(j, &r);
	}
	jsonlog_flush(j);
	T_OK(wait_done(j, N, 10000));
	jsonlog_get_stats(j, &st);
	jsonlog_close(j);
	pthread_join(th, NULL);
	close(rx.fd);
	T_EQ(rx.got, N);
	T_EQ(rx.bad, 0);
	T_OK(rx.in_order);
	T_EQ(st.written, N);
	T_EQ(st.write_errors, 0);
	T_OK(strncmp(st.target, "unix:", 5) == 0);
}

/* The reader starts later: lines before it are lost and counted; once it
 * is there, lines arrive. */
static void
test_unix_late_reader(void)
{
	char path[128], err[256];
	struct jsonlog_conf c = { 0 };
	struct jsonlog *j;
	struct jsonlog_stats st;
	struct dgram_rx rx = { .want = 20 };
	pthread_t th;

	c.unix_path = tpath(path, sizeof(path), "late.sock");
	if ((j = jsonlog_open(&c, err, sizeof(err))) == NULL) {
		T_FAIL("open: %s", err);
		return;
	}
	for (uint64_t i = 0; i < 10; i++) {
		struct jsonlog_rec r = rec_n(i);

		jsonlog_put(j, &r);
	}
	jsonlog_flush(j);
	T_OK(wait_done(j, 10, 5000));
	jsonlog_get_stats(j, &st);
	T_EQ(st.write_errors, 10);
	T_OK(strstr(st.last_error, "No such file") != NULL);
	if ((rx.fd = bound_unix(path)) < 0) {
		T_FAIL("bind %s", path);
		jsonlog_close(j);
		return;
	}
	pthread_create(&th, NULL, dgram_rx_main, &rx);
	for (uint64_t i = 10; i < 30; i++) {
		struct jsonlog_rec r = rec_n(i);

		jsonlog_put(j, &r);
	}
	jsonlog_flush(j);
	T_OK(wait_done(j, 30, 5000));
	jsonlog_get_stats(j, &st);
	jsonlog_close(j);
	pthread_join(th, NULL);
	close(rx.fd);
	T_EQ(rx.got, 20);
	T_EQ(rx.bad, 0);
	T_EQ(st.written, 20);
	T_EQ(st.write_errors, 10);
}

/* A reader that never reads: close still returns promptly, and every
 * queued line is either written or counted lost. */
static void
test_unix_stalled(void)
{
	enum { N = 5000 };
	char path[128], err[256];
	struct jsonlog_conf c = { 0 };
	struct jsonlog *j;
	struct jsonlog_stats st;
	int fd;
	double t0, dt;

	c.unix_path = tpath(path, sizeof(path), "stuck.sock");
	if ((fd = bound_unix(path)) < 0) {
		T_FAIL("bind %s", path);
		return;
	}
	if ((j = jsonlog_open(&c, err, sizeof(err))) == NULL) {
		T_FAIL("open: %s", err);
		return;
	}
	for (uint64_t i = 0; i < N; i++) {
		struct jsonlog_rec r = rec_n(i);

		jsonlog_put(j, &r);
	}
	t0 = now_s();
	jsonlog_close(j); /* counters: gone with it; check what arrived */
	dt = now_s() - t0;
	printf("# close with a stalled reader: %.2f s\n", dt);
	T_OK(dt < 5);
	{
		size_t got = 0;
		char buf[4096];

		while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
			got++;
		T_OK(got >= 1 && got < N); /* the socket's queue, no more */
	}
	close(fd);

	/* Live, with the counters: the books balance while it stalls. */
	if ((fd = bound_unix(path)) < 0 ||
	    (j = jsonlog_open(&c, err, sizeof(err))) == NULL) {
		T_FAIL("reopen");
		return;
	}
	for (uint64_t i = 0; i < 300; i++) {
		struct jsonlog_rec r = rec_n(i);

		jsonlog_put(j, &r);
	}
	jsonlog_flush(j);
	T_OK(wait_done(j, 300, 10000));
	jsonlog_get_stats(j, &st);
	T_EQ(st.written + st.write_errors, 300);
	T_OK(st.write_errors > 0);
	T_OK(strstr(st.last_error, "stalls") != NULL);
	jsonlog_close(j);
	close(fd);
}

static void
test_bad_targets(void)
{
	static const char *const bad_udp[] = { "nohostport", "host:", ":514",
		"host:0", "host:65536", "host:12x", "::1:514", "[::1]514",
		"[::1", "[]:514" };
	char err[256], path[128], longp[200];
	struct jsonlog_conf c = { 0 };

	/* none, and two */
	T_OK(jsonlog_open(&c, err, sizeof(err)) == NULL);
	T_OK(strstr(err, "exactly one") != NULL);
	c.file = "/tmp/x.json";
	c.udp = "127.0.0.1:514";
	T_OK(jsonlog_open(&c, err, sizeof(err)) == NULL);
	T_OK(strstr(err, "exactly one") != NULL);

	/* a directory that does not exist is not created */
	memset(&c, 0, sizeof(c));
	c.file = tpath(path, sizeof(path), "no/such/dir/flows.json");
	T_OK(jsonlog_open(&c, err, sizeof(err)) == NULL);
	T_OK(strstr(err, path) != NULL);
	T_OK(strstr(err, "No such file or directory") != NULL);
	T_OK(strstr(err, "directory must exist") != NULL);
	T_OK(!exists(tpath(path, sizeof(path), "no")));
	/* a directory is not a file */
	c.file = tmpdir;
	T_OK(jsonlog_open(&c, err, sizeof(err)) == NULL);
	T_OK(strstr(err, "Is a directory") != NULL);

	memset(&c, 0, sizeof(c));
	for (size_t i = 0; i < nitems(bad_udp); i++) {
		c.udp = bad_udp[i];
		if (jsonlog_open(&c, err, sizeof(err)) != NULL) {
			T_FAIL("udp \"%s\" was taken", bad_udp[i]);
			continue;
		}
		if (strstr(err, "expected HOST:PORT") == NULL)
			T_FAIL("udp \"%s\": %s", bad_udp[i], err);
	}
	memset(&c, 0, sizeof(c));
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	c.unix_path = longp;
	T_OK(jsonlog_open(&c, err, sizeof(err)) == NULL);
	T_OK(strstr(err, "longer than") != NULL);

	/* NULL is a no-op everywhere */
	{
		struct jsonlog_stats st;

		memset(&st, 0xaa, sizeof(st));
		jsonlog_get_stats(NULL, &st);
		T_EQ(st.queued, 0);
		T_STREQ(st.target, "");
	}
	jsonlog_put(NULL, NULL);
	jsonlog_flush(NULL);
	jsonlog_close(NULL);
}

/* ---- throughput (printed, not asserted) --------------------------------- */

static void
test_throughput(void)
{
	enum { NREC = 64, LOOPS = 1000000 };
	static struct jsonlog_rec recs[NREC];
	char buf[JSONLOG_LINE_MAX], path[128], err[256];
	size_t total = 0;
	double t0, dt;

	for (int i = 0; i < NREC; i++) {
		recs[i] = full_v4();
		recs[i].packets = (uint64_t)i * 7919;
		recs[i].bytes = recs[i].packets * 1234;
		recs[i].end_ms += i * 1000;
		if (i % 2) { /* half IPv6 */
			recs[i].src.family = recs[i].dst.family = 6;
			memset(recs[i].src.a, 0, 16);
			recs[i].src.a[0] = 0x20;
			recs[i].src.a[1] = 0x01;
			recs[i].src.a[15] = (uint8_t)i;
			memcpy(recs[i].dst.a, recs[i].src.a, 16);
			recs[i].dst.a[14] = 0x12;
		}
	}
	t0 = now_s();
	for (int i = 0; i < LOOPS; i++)
		total += jsonlog_format(buf, sizeof(buf), &recs[i % NREC]);
	dt = now_s() - t0;
	printf("# jsonlog_format: %.2f M lines/s, %.0f MB/s (%zu B/line)\n",
	    LOOPS / dt / 1e6, (double)total / dt / 1e6, total / LOOPS);

	/* End to end: put, queue, format, write to a file, as fast as the
	 * writer goes (the test waits for room; ingest would drop). */
	{
		enum { N = 500000 };
		struct jsonlog_conf c = { 0 };
		struct jsonlog *j;
		struct jsonlog_stats st;

		c.file = tpath(path, sizeof(path), "speed.json");
		if ((j = jsonlog_open(&c, err, sizeof(err))) == NULL) {
			T_FAIL("open: %s", err);
			return;
		}
		t0 = now_s();
		for (int i = 0; i < N; i++) {
			jsonlog_put(j, &recs[i % NREC]);
			if (i % 640 != 639)
				continue;
			jsonlog_flush(j);
			for (;;) {
				jsonlog_get_stats(j, &st);
				if (st.queued - st.written < 32768)
					break;
				sleep_ms(1);
			}
		}
		jsonlog_flush(j);
		T_OK(wait_idle(j, 60000));
		dt = now_s() - t0;
		jsonlog_get_stats(j, &st);
		jsonlog_close(j);
		printf("# file writer: %.2f M lines/s, %.0f MB/s sustained "
		       "(%zu-byte records, queue %d)\n",
		    (double)st.written / dt / 1e6, (double)st.bytes / dt / 1e6,
		    sizeof(struct jsonlog_rec), 65536);
		T_EQ(st.queued, N);
		T_EQ(st.dropped_full, 0);
		T_EQ(st.written, N);
		unlink(path);
	}
}

int
main(void)
{
	t_suite = "jsonlog";
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/fabmon-jsonlog-XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	T_RUN(test_format_v4);
	T_RUN(test_format_v6);
	T_RUN(test_optional_fields);
	T_RUN(test_escaping);
	T_RUN(test_time);
	T_RUN(test_cut);
	T_RUN(test_worst_case);
	T_RUN(test_file_roundtrip);
	T_RUN(test_rotation);
	T_RUN(test_rotation_stats);
	T_RUN(test_reopen_removed);
	T_RUN(test_reopen_moved);
	T_RUN(test_queue_full);
	T_RUN(test_write_error);
	T_RUN(test_udp);
	T_RUN(test_udp_refused);
	T_RUN(test_unix);
	T_RUN(test_unix_late_reader);
	T_RUN(test_unix_stalled);
	T_RUN(test_bad_targets);
	T_RUN(test_throughput);
	cleanup();
	return t_done();
}
