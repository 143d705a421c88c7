/*
 * conf.h: fabmond's configuration: defaults, the INI file (libinih), and
 * flags, which override the file. Parsed once by main before any thread
 * starts; read-only afterwards, so every thread may read it.
 */
#ifndef FABMON_CONF_H
#define FABMON_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#define CONF_MAX_LISTEN 8
#define CONF_MAX_SEEDS  64
#define CONF_MAX_ROLES  1024

struct conf {
	char *sflow_listen[CONF_MAX_LISTEN]; /* ADDR:PORT, e.g. "[::]:6343" */
	int n_sflow_listen;
	int sflow_rcvbuf;       /* bytes asked for SO_RCVBUF(FORCE) */
	int sflow_max_datagram; /* longer ones are cut and counted oversize */
	int sflow_counters;     /* 0: ignore counter samples for rates */
	int netflow_enable;
	char *netflow_listen[CONF_MAX_LISTEN]; /* none: 2055 and 4739 */
	int n_netflow_listen;
	char *netflow_relay_from[CONF_MAX_LISTEN]; /* addresses */
	int n_netflow_relay_from;
	int netflow_template_max_age_s;
	int netflow_pending_s;
	char *jsonlog_file; /* the JSON flow log (jsonlog.h): one of */
	char *jsonlog_udp;
	char *jsonlog_unix;
	int jsonlog_max_mb;
	int jsonlog_keep;
	int jsonlog_queue;
	char *http_listen; /* ADDR:PORT */
	char *http_token;  /* writes need it when set */
	int http_max_body; /* request body limit, bytes */
	char *web_dir;     /* NULL: found beside the binary */
	char *ws_origins;  /* NULL: same host only */
	int ws_max_clients;
	char *ha_notify_fifo; /* NULL: STANDALONE (ha/ha.h) */
	char *ha_track_file;
	char *ha_instance;
	char *ha_vip;
	char *ha_peer; /* ADDR:PORT of the peer's HTTP API */
	char *ha_secret;
	char *ha_forward_to;         /* VIP-feed: the peer's sFlow ADDR:PORT */
	char *ha_forward_netflow_to; /* ... and NetFlow ADDR:PORT */
	int ha_backup_poll_factor;   /* BACKUP: SNMP walks this many times
	                              * rarer */
	int elephant_pct;            /* % of the ingress edge port's speed */
	int busy_pct; /* a fabric link this busy can have collisions */
	char *state_dir;
	char *db; /* NULL: <state_dir>/fabmon.db */
	int store_enable;
	int store_minute_days, store_hour_days, store_top_days;
	int store_event_days;
	int store_batch_ms;
	char *snmp_seeds[CONF_MAX_SEEDS];
	int n_snmp_seeds;
	char *snmp_community;
	int snmp_enable;    /* 0: no SNMP at all (import only) */
	char *snmp_v3_user; /* NULL: no v3 credential */
	char *snmp_v3_auth;
	char *snmp_v3_auth_pass;
	char *snmp_v3_priv;
	char *snmp_v3_priv_pass;
	int snmp_timeout_ms;
	int snmp_retries;
	int snmp_poll_s;     /* full walk period */
	int snmp_status_s;   /* ifOperStatus period */
	int snmp_counters_s; /* IF-MIB counters period; 0 off */
	int snmp_max_parallel;
	char *topo_roles[CONF_MAX_ROLES]; /* "NODE=ROLE" */
	int n_topo_roles;
	int push_ms;      /* snapshot period, 100..60000 */
	int trace_idle_s; /* unviewed traces live this long */
	int blackhole_quiet_s;
	int max_agents;  /* agent table bound */
	char *log_level; /* warn | info | debug */
};

/* Fill in the zero-config defaults. */
void conf_defaults(struct conf *);
void conf_free(struct conf *);

/*
 * Set one key, named "section.key" (the INI's [section] key = value).
 * List keys (sflow.listen, snmp.seed) append. Returns 0, or -1 with a
 * message in err.
 */
int conf_set(struct conf *, const char *key, const char *value, char *err,
    size_t errlen);

/*
 * Empty a list key (sflow.listen, snmp.seed), so that flags replace what
 * the file said instead of adding to it. Returns 0, or -1 if not a list.
 */
int conf_clear_list(struct conf *, const char *key);

/* Parse an INI text; returns 0, or -1 with "line N: why" in err. */
int conf_parse_string(
    struct conf *, const char *text, char *err, size_t errlen);
/* Parse an INI file; returns 0, or -1 with "FILE:N: why" in err. */
int conf_parse_file(struct conf *, const char *path, char *err, size_t errlen);

/* Print the configuration as a normalised INI file (fabmond -n). */
void conf_print(const struct conf *, FILE *);

/* The database path: db, or <state_dir>/fabmon.db. Caller frees. */
char *conf_db_path(const struct conf *);

/*
 * Parse "ADDR:PORT", "[V6ADDR]:PORT", ":PORT", "PORT" or "ADDR" into a
 * socket address (an empty address means every address, IPv6 dual-stack).
 * Returns 0, or -1 if it is not a valid address and port.
 */
int addrport_parse(const char *s, int default_port, struct sockaddr_storage *ss,
    socklen_t *sslen);

/*
 * Parse "ADDR" or "ADDR/LEN" (IPv4 or IPv6). family is 4 or 6, addr holds
 * the address (IPv4 in the first 4 bytes), prefix the length (32 or 128
 * for a plain address). Returns 0, or -1.
 */
int cidr_parse(const char *s, int *family, uint8_t addr[16], int *prefix);

#endif
