/*
 * decode.h: `fabmond --decode FILE.pcap`: print each sFlow datagram of a
 * capture as one JSON object per line, with sflowtool -j's field names
 * (docs/decode-json.md). Runs in main, instead of the daemon.
 */
#ifndef FABMON_DECODE_H
#define FABMON_DECODE_H

#include <stdio.h>

/* Returns the process exit code: 0, or 1 if the file cannot be read. */
int decode_pcap_file(const char *path, int port, FILE *out);

#endif
