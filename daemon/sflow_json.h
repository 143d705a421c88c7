/*
 * sflow_json.h: render a decoded sFlow datagram as one line of JSON in
 * sflowtool's -j format (docs/decode-json.md). PURE: no I/O.
 */
#ifndef FABMON_SFLOW_JSON_H
#define FABMON_SFLOW_JSON_H

#include <stddef.h>
#include <stdint.h>

struct sflow_json_meta {
	const char *source_ip; /* datagramSourceIP */
	uint64_t unix_secs;    /* unixSecondsUTC (the capture time) */
	long pcap_frame;       /* 1-based frame number, or 0 */
};

/*
 * Returns a malloc'ed, NUL-terminated JSON object followed by "\n", for
 * the datagram in buf[0..len). Always valid JSON, whatever the input.
 * The caller frees it.
 */
char *sflow_json_datagram(
    const uint8_t *buf, size_t len, const struct sflow_json_meta *meta);

#endif
