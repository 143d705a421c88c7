/*
 * ingest.h: the ingest thread: UDP sockets (IPv4 and IPv6, recvmmsg, a big
 * SO_RCVBUF), decoding, and per-agent accounting. It owns the agent table
 * and publishes a struct ingest_snap every push period.
 */
#ifndef FABMON_INGEST_H
#define FABMON_INGEST_H

#include <stdint.h>

#include "agents.h"
#include "conf.h"
#include "nfin.h"
#include "snap.h"

#define INGEST_MAX_SOCKETS (2 * CONF_MAX_LISTEN) /* sFlow, then NetFlow */

/* What the API reads: immutable once published. */
struct ingest_snap {
	struct snap base;
	uint64_t taken_ms;   /* wall clock */
	uint64_t started_ms; /* when ingest started */
	uint64_t last_datagram_mono_ms;
	uint64_t loop_mono_ms; /* the thread's last loop: liveness */
	uint64_t kernel_drops; /* SO_RXQ_OVFL: dropped by the kernel */
	uint64_t recv_errors;
	int n_sockets;
	char listen[INGEST_MAX_SOCKETS][64]; /* bound addresses */
	char proto[INGEST_MAX_SOCKETS][8];   /* "sflow" or "netflow" */
	int rcvbuf[INGEST_MAX_SOCKETS];      /* granted sizes (bytes) */
	struct agents_totals totals;
	size_t n_agents;
	struct agent_stats *agents; /* sorted; sources are NULL */
	struct nfin_snap *netflow;  /* NULL: NetFlow off */
	uint64_t netflow_relayed;   /* relay frames taken (fwddef.h) */
	uint64_t netflow_relay_refused;
	/* default NetFlow ports that could not be bound ("[::]:2055: ...") */
	char netflow_skipped[2][128];
	/*
	 * How long the thread stayed away from its sockets in one stretch
	 * (INGEST_PAUSE_*), the longest in the period before this snapshot
	 * (publish: the snapshot before it) and since the start, in
	 * microseconds. A pause longer than the receive buffer lasts at the
	 * rate coming in loses datagrams with the CPU to spare.
	 */
	uint64_t pause_us[3], pause_max_us[3];
};

/* What pause_us[] times: the once-a-loop work (definition changes, the
 * second's expiry), one batch of datagrams, the snapshots. */
enum { INGEST_PAUSE_TICK, INGEST_PAUSE_BATCH, INGEST_PAUSE_PUBLISH };
#define INGEST_PAUSE_NAMES                                                     \
	{                                                                      \
		"tick", "batch", "publish"                                     \
	}
/* A pause this long (microseconds) is logged (at most 5 in 10 s). */
#define INGEST_PAUSE_LOG_US 100000

struct ingest;
struct engine;

/*
 * Bind the sockets now, so that a bad address fails start-up with a precise
 * message (returns NULL, with why in err). wake(arg) is called after each
 * publish, from the ingest thread (fabmond passes lws_cancel_service).
 */
struct ingest *ingest_new(const struct conf *, struct snap_slot *out,
    struct engine *engine, struct snap_slot *engine_out, void (*wake)(void *),
    void *wake_arg, char *err, size_t errlen);
/* Start the thread; returns 0 or -1. */
struct forward;
/* Before ingest_start: forward every received datagram through fwd. */
void ingest_set_forward(struct ingest *, struct forward *fwd);
/*
 * Before ingest_start: the NetFlow side (its engine and store), NULL when
 * netflow.enable is 0 (ingest then opens no NetFlow socket).
 */
struct nfin *ingest_netflow(struct ingest *);
int ingest_start(struct ingest *);
/* Stop and join the thread, close the sockets, free everything. */
void ingest_stop(struct ingest *);

#endif
