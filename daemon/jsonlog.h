/*
 * jsonlog.h: the JSON flow-log export (docs/jsonlog.md). One JSON object
 * per flow per line ("JSON Lines"), from every source (sFlow samples scaled
 * by their sampling rate, NetFlow v5/v9 and IPFIX records), for log
 * pipelines: FluentD's in_tail, the Datadog agent.
 *
 * The producer is the ingest thread, a hot path: jsonlog_put() copies the
 * record into a staging array that it owns, and hands the array over to a
 * bounded queue under a mutex every 64 records or on jsonlog_flush(). It
 * never blocks on I/O and never allocates. When the queue is full, records
 * are dropped and counted (dropped_full). A writer thread of this module
 * formats the queued records and writes them:
 *   - file: many lines per write(), O_APPEND; rotated past max_bytes
 *     (file -> file.1 -> ... -> file.keep); reopened when the path's
 *     inode changes or the file is removed (an external logrotate),
 *     checked at most once a second;
 *   - udp, unix: one datagram per line, sendmmsg() in batches.
 * A failed write or send (ENOSPC, ECONNREFUSED, no reader yet) is never
 * fatal: the lines it held are lost and counted in write_errors, the
 * error is kept in last_error and logged (rate-limited), and the next
 * batch tries again.
 */
#ifndef FABMON_JSONLOG_H
#define FABMON_JSONLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sflow.h" /* struct sflow_addr */

/* The longest line jsonlog_format() writes, with its '\n' and NUL. */
#define JSONLOG_LINE_MAX 4096

enum jsonlog_source {
	JSONLOG_SFLOW = 0,
	JSONLOG_NETFLOW5,
	JSONLOG_NETFLOW9,
	JSONLOG_IPFIX
};

enum { /* jsonlog_rec.have: the optional fields that are set */
	JSONLOG_HAVE_ADDRS = 1u << 0,
	JSONLOG_HAVE_PORTS = 1u << 1,
	JSONLOG_HAVE_PROTO = 1u << 2,
	JSONLOG_HAVE_TOS = 1u << 3,
	JSONLOG_HAVE_TCP_FLAGS = 1u << 4,
	JSONLOG_HAVE_IN_IF = 1u << 5,
	JSONLOG_HAVE_OUT_IF = 1u << 6,
	JSONLOG_HAVE_VLAN = 1u << 7,
	JSONLOG_HAVE_MACS = 1u << 8,
	JSONLOG_HAVE_ICMP = 1u << 9,
};

/*
 * One flow (an sFlow sample, a NetFlow/IPFIX record). A plain copy with no
 * pointers, so that it can be queued by value. The strings are NUL-padded
 * arrays; one that fills its array without a NUL is read to its end.
 */
struct jsonlog_rec {
	uint8_t source; /* enum jsonlog_source */
	uint32_t have;
	struct sflow_addr exporter; /* the agent / exporter address */
	char node[128];             /* topology node of the exporter, "" */
	char link[128];             /* the fabric link it entered over, "" */
	char in_port[64], out_port[64]; /* port names from the topology, "" */
	struct sflow_addr src, dst;
	uint16_t src_port, dst_port;
	uint8_t protocol, tos;
	uint16_t tcp_flags;
	uint8_t icmp_type, icmp_code;
	uint32_t in_if, out_if;
	uint16_t vlan;
	uint8_t src_mac[6], dst_mac[6];
	uint64_t bytes, packets;  /* scaled by sampling_rate already */
	int64_t start_ms, end_ms; /* Unix ms */
	uint32_t sampling_rate;   /* >= 1 */
	bool dropped;             /* discarded by the device */
};

/* Where to write: exactly one of file, udp, unix_path (NULL = not used). */
struct jsonlog_conf {
	const char *file; /* path; rotated at max_bytes */
	const char *udp;  /* "HOST:PORT" or "[V6]:PORT", a datagram a line */
	const char *unix_path; /* a unix datagram socket, a datagram a line */
	uint64_t max_bytes;    /* rotate the file past this (0: 100 MiB) */
	unsigned keep;    /* rotated files kept: file.1 .. file.keep (0: 5) */
	size_t queue_max; /* records queued at most (0: 65536) */
};

/*
 * Counters since jsonlog_open(), for /api/v1/health. Every record offered
 * to jsonlog_put() ends up in exactly one of queued or dropped_full, and
 * every queued record once written in exactly one of written or
 * write_errors: after jsonlog_close(), queued == written + write_errors.
 */
struct jsonlog_stats {
	uint64_t queued;       /* records accepted into the queue */
	uint64_t written;      /* lines written or sent whole */
	uint64_t dropped_full; /* records dropped: the queue was full */
	uint64_t write_errors; /* lines lost to a failed write or send */
	uint64_t rotations;    /* file rotations done by jsonlog */
	uint64_t bytes;        /* bytes of the lines written */
	char last_error[128];  /* the last write/send/open error, "" none */
	char target[160];      /* "file:/path", "udp:host:port", "unix:/path" */
};

/*
 * PURE: format one record as a JSON object and "\n" into buf; returns the
 * length (as snprintf: the length it would have had, so >= len means it did
 * not fit; buf is NUL-terminated whenever len > 0). Never more than
 * JSONLOG_LINE_MAX - 1. Any thread.
 */
size_t jsonlog_format(char *buf, size_t len, const struct jsonlog_rec *r);

struct jsonlog;

/*
 * Main, at start: open the target and start the writer thread. A bad path
 * or address returns NULL with a message in err (fabmond exits with it).
 * The conf strings are copied. Free with jsonlog_close().
 */
struct jsonlog *jsonlog_open(
    const struct jsonlog_conf *, char *err, size_t errlen);

/*
 * The ONE producer thread (ingest): queue a copy of r. Never blocks on I/O
 * and never allocates: the record is staged, and the stage goes to the
 * shared queue every 64 records (drops counted there when it is full).
 * NULL is a no-op.
 */
void jsonlog_put(struct jsonlog *, const struct jsonlog_rec *r);

/* The producer thread: hand over what is staged (after each receive
 * batch), so that a quiet period still gets its lines out. NULL: no-op. */
void jsonlog_flush(struct jsonlog *);

/* Any thread: a copy of the counters. NULL gives zeroes. */
void jsonlog_get_stats(struct jsonlog *, struct jsonlog_stats *);

/*
 * Main, at exit, once the producer has stopped: hand over what is staged,
 * let the writer write everything queued (a datagram reader that stalls
 * for over a second loses the rest, counted in write_errors), stop the
 * thread, close the target and free. NULL is a no-op.
 */
void jsonlog_close(struct jsonlog *);

#endif
