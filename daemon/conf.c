/*
 * conf.c: defaults, INI parsing through libinih, and normalised printing.
 * Runs in main before the threads start.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "util.h"

enum ktype { K_STR, K_LIST, K_INT, K_ADDR, K_ADDRLIST, K_LEVEL };

struct key {
	const char *name; /* section.key */
	enum ktype type;
	size_t off;       /* offset of the field in struct conf */
	size_t count_off; /* lists: offset of the count */
	int max;          /* lists: capacity; ints: maximum */
	int min;          /* ints: minimum */
	int port;         /* addresses: default port */
	const char *help;
	int secret; /* never printed by -n */
};

#define F(f) offsetof(struct conf, f)
static const struct key keys[] = {
	{ "sflow.listen", K_ADDRLIST, F(sflow_listen), F(n_sflow_listen),
	    CONF_MAX_LISTEN, 0, 6343,
	    "UDP address:port for sFlow; repeat for several" },
	{ "sflow.rcvbuf", K_INT, F(sflow_rcvbuf), 0, 1 << 30, 65536, 0,
	    "socket receive buffer, bytes" },
	{ "sflow.max_datagram", K_INT, F(sflow_max_datagram), 0, 65535, 1400, 0,
	    "largest sFlow datagram accepted whole, bytes" },
	{ "sflow.counters", K_INT, F(sflow_counters), 0, 1, 0, 0,
	    "1: interface rates from the agents' counter samples where "
	    "sent (else SNMP); 0: SNMP only, for agents whose counters are "
	    "wrong (uacctd)" },
	{ "netflow.enable", K_INT, F(netflow_enable), 0, 1, 0, 0,
	    "1: take NetFlow v5/v9 and IPFIX (netflow.listen, else UDP 2055 "
	    "and 4739 on every address, skipped with a warning when taken); "
	    "0: none" },
	{ "netflow.listen", K_ADDRLIST, F(netflow_listen), F(n_netflow_listen),
	    CONF_MAX_LISTEN, 0, 2055,
	    "UDP address:port for NetFlow/IPFIX; repeat for several (a port "
	    "that cannot be bound stops start-up)" },
	{ "netflow.relay_from", K_LIST, F(netflow_relay_from),
	    F(n_netflow_relay_from), CONF_MAX_LISTEN, 0, 0,
	    "addresses whose relayed NetFlow (a forwarding target with "
	    "\"relay\":true, as the HA peer sends) keeps the exporter's "
	    "address; the ha.peer address always may; repeat" },
	{ "netflow.template_max_age_s", K_INT, F(netflow_template_max_age_s), 0,
	    30 * 86400, 60, 0,
	    "a template neither refreshed nor used this long is dropped, "
	    "seconds" },
	{ "netflow.pending_s", K_INT, F(netflow_pending_s), 0, 600, 1, 0,
	    "data sets that come before their template wait this long for "
	    "it, seconds" },
	{ "flowlog.json_file", K_STR, F(jsonlog_file), 0, 0, 0, 0,
	    "write every flow sample and NetFlow record as a line of JSON "
	    "to this file (docs/jsonlog.md)" },
	{ "flowlog.json_udp", K_STR, F(jsonlog_udp), 0, 0, 0, 0,
	    "... or send each line as a UDP datagram to HOST:PORT" },
	{ "flowlog.json_unix", K_STR, F(jsonlog_unix), 0, 0, 0, 0,
	    "... or to this unix datagram socket" },
	{ "flowlog.json_max_mb", K_INT, F(jsonlog_max_mb), 0, 1 << 20, 1, 0,
	    "rotate the JSON file past this size, MiB" },
	{ "flowlog.json_keep", K_INT, F(jsonlog_keep), 0, 1000, 1, 0,
	    "rotated JSON files kept (FILE.1 ... FILE.N)" },
	{ "flowlog.json_queue", K_INT, F(jsonlog_queue), 0, 1 << 24, 1024, 0,
	    "lines queued for the writer at most; beyond it they are dropped "
	    "and counted" },
	{ "http.listen", K_ADDR, F(http_listen), 0, 0, 0, 8008,
	    "HTTP/websocket address:port" },
	{ "http.token", K_STR, F(http_token), 0, 0, 0, 0,
	    "bearer token that writes (PUT/POST/DELETE) need; unset: none", 1 },
	{ "http.max_body", K_INT, F(http_max_body), 0, 1 << 30, 1024, 0,
	    "largest request body, bytes" },
	{ "http.web_dir", K_STR, F(web_dir), 0, 0, 0, 0,
	    "the web page's files (default: web/ beside the build, else "
	    "PREFIX/share/fabmon/web)" },
	{ "http.ws_origins", K_STR, F(ws_origins), 0, 0, 0, 0,
	    "websocket Origins accepted besides the page's own host: a comma "
	    "list of scheme://host[:port], or * for any" },
	{ "http.ws_max_clients", K_INT, F(ws_max_clients), 0, 100000, 1, 0,
	    "most websocket clients at once" },
	{ "store.state_dir", K_STR, F(state_dir), 0, 0, 0, 0,
	    "directory for the database and state" },
	{ "store.db", K_STR, F(db), 0, 0, 0, 0,
	    "SQLite database path (default STATE_DIR/fabmon.db)" },
	{ "store.enable", K_INT, F(store_enable), 0, 1, 0, 0,
	    "1: keep history, definitions and topology in the database; "
	    "0: nothing survives a restart" },
	{ "store.minute_days", K_INT, F(store_minute_days), 0, 3650, 1, 0,
	    "days of per-minute link rollups kept" },
	{ "store.hour_days", K_INT, F(store_hour_days), 0, 36500, 1, 0,
	    "days of hourly link rollups kept" },
	{ "store.top_days", K_INT, F(store_top_days), 0, 3650, 1, 0,
	    "days of per-minute top flows kept" },
	{ "store.event_days", K_INT, F(store_event_days), 0, 36500, 1, 0,
	    "days of ended events kept" },
	{ "store.batch_ms", K_INT, F(store_batch_ms), 0, 60000, 10, 0,
	    "the store commits what is queued at least this often, ms" },
	{ "snmp.enable", K_INT, F(snmp_enable), 0, 1, 0, 0,
	    "1: discover the fabric over SNMP; 0: only the imported topology" },
	{ "snmp.seed", K_LIST, F(snmp_seeds), F(n_snmp_seeds), CONF_MAX_SEEDS,
	    0, 0, "switch address or CIDR to poll; repeat" },
	{ "snmp.community", K_STR, F(snmp_community), 0, 0, 0, 0,
	    "SNMP v2c community", 1 },
	{ "snmp.v3_user", K_STR, F(snmp_v3_user), 0, 0, 0, 0,
	    "SNMPv3 user, tried after the community (authPriv)" },
	{ "snmp.v3_auth", K_STR, F(snmp_v3_auth), 0, 0, 0, 0,
	    "SNMPv3 auth protocol: SHA, SHA-256 or MD5" },
	{ "snmp.v3_auth_pass", K_STR, F(snmp_v3_auth_pass), 0, 0, 0, 0,
	    "SNMPv3 auth passphrase", 1 },
	{ "snmp.v3_priv", K_STR, F(snmp_v3_priv), 0, 0, 0, 0,
	    "SNMPv3 privacy protocol: AES or DES" },
	{ "snmp.v3_priv_pass", K_STR, F(snmp_v3_priv_pass), 0, 0, 0, 0,
	    "SNMPv3 privacy passphrase", 1 },
	{ "snmp.timeout_ms", K_INT, F(snmp_timeout_ms), 0, 60000, 50, 0,
	    "SNMP request timeout, milliseconds" },
	{ "snmp.retries", K_INT, F(snmp_retries), 0, 10, 0, 0,
	    "SNMP retries per request" },
	{ "snmp.poll_s", K_INT, F(snmp_poll_s), 0, 86400, 1, 0,
	    "full re-poll interval per switch, seconds" },
	{ "snmp.status_s", K_INT, F(snmp_status_s), 0, 3600, 1, 0,
	    "ifOperStatus poll interval per switch, seconds" },
	{ "snmp.counters_s", K_INT, F(snmp_counters_s), 0, 3600, 0, 0,
	    "IF-MIB counter poll interval per switch, seconds; 0 off "
	    "(sFlow counter samples win where a switch sends them)" },
	{ "snmp.max_parallel", K_INT, F(snmp_max_parallel), 0, 4096, 1, 0,
	    "switches polled at once" },
	{ "topology.role", K_LIST, F(topo_roles), F(n_topo_roles),
	    CONF_MAX_ROLES, 0, 0,
	    "role override NODE=spine|leaf|other; repeat" },
	{ "engine.push_ms", K_INT, F(push_ms), 0, 60000, 100, 0,
	    "snapshot/push period, milliseconds" },
	{ "blackhole.quiet_s", K_INT, F(blackhole_quiet_s), 0, 86400, 1, 0,
	    "a black-hole event ends once its signal has been quiet this long, "
	    "seconds" },
	{ "engine.trace_idle_s", K_INT, F(trace_idle_s), 0, 86400, 5, 0,
	    "a trace nobody has viewed for this long is deleted, seconds" },
	{ "engine.max_agents", K_INT, F(max_agents), 0, 1 << 20, 1, 0,
	    "most sFlow agents tracked" },
	{ "ha.notify_fifo", K_STR, F(ha_notify_fifo), 0, 0, 0, 0,
	    "keepalived's notify_fifo path (fabmond creates and reads it); "
	    "unset: STANDALONE" },
	{ "ha.track_file", K_STR, F(ha_track_file), 0, 0, 0, 0,
	    "the track_file keepalived watches: fabmond writes 0 while "
	    "healthy, 1 to step down" },
	{ "ha.instance", K_STR, F(ha_instance), 0, 0, 0, 0,
	    "the vrrp_instance name in the notify FIFO" },
	{ "ha.vip", K_STR, F(ha_vip), 0, 0, 0, 0,
	    "the virtual IP address, shown to the clients" },
	{ "ha.peer", K_ADDR, F(ha_peer), 0, 0, 0, 8008,
	    "the peer fabmond's HTTP address:port" },
	{ "ha.secret", K_STR, F(ha_secret), 0, 0, 0, 0,
	    "shared secret between the pair (config sync)", 1 },
	{ "ha.forward_to", K_ADDR, F(ha_forward_to), 0, 0, 0, 6343,
	    "VIP-feed: the peer's sFlow address:port; while MASTER, fabmond "
	    "forwards every datagram there. Unset: dual-feed" },
	{ "ha.forward_netflow_to", K_ADDR, F(ha_forward_netflow_to), 0, 0, 0,
	    2055,
	    "VIP-feed: the peer's NetFlow/IPFIX address:port, where the "
	    "MASTER forwards what its NetFlow sockets receive (with "
	    "ha.forward_to)" },
	{ "ha.backup_poll_factor", K_INT, F(ha_backup_poll_factor), 0, 100, 1,
	    0,
	    "while BACKUP, SNMP walks run this many times less often (the "
	    "MASTER owns polling; on becoming MASTER the status and counter "
	    "walks run at once); 1: as often as the MASTER" },
	{ "fabric.elephant_pct", K_INT, F(elephant_pct), 0, 100, 1, 0,
	    "an elephant is a flow at or above this % of its ingress edge "
	    "port's speed" },
	{ "fabric.busy_pct", K_INT, F(busy_pct), 0, 100, 1, 0,
	    "a fabric link at or above this % utilisation carrying two "
	    "elephants is an ECMP collision" },
	{ "log.level", K_LEVEL, F(log_level), 0, 0, 0, 0,
	    "warn, info or debug" },
};
#undef F

#define FIELD(c, k, T) ((T *)((char *)(c) + (k)->off))

static char *
default_state_dir(void)
{
	const char *xdg, *home;
	char buf[PATH_MAX];

	if (geteuid() == 0)
		return xstrdup("/var/lib/fabmon");
	if ((xdg = getenv("XDG_STATE_HOME")) != NULL && *xdg == '/') {
		snprintf(buf, sizeof(buf), "%s/fabmon", xdg);
		return xstrdup(buf);
	}
	if ((home = getenv("HOME")) != NULL && *home == '/') {
		snprintf(buf, sizeof(buf), "%s/.local/state/fabmon", home);
		return xstrdup(buf);
	}
	return xstrdup("/tmp/fabmon");
}

void
conf_defaults(struct conf *c)
{
	memset(c, 0, sizeof(*c));
	c->sflow_rcvbuf = 16 << 20;
	/* SFLOW-MIB's default is 1400; 9216 covers jumbo-frame agents. */
	c->sflow_max_datagram = 9216;
	c->sflow_counters = 1;
	c->netflow_enable = 1;
	c->netflow_template_max_age_s = 3600;
	c->netflow_pending_s = 10;
	c->jsonlog_max_mb = 100;
	c->jsonlog_keep = 5;
	c->jsonlog_queue = 65536;
	c->http_listen = xstrdup("[::]:8008");
	c->http_max_body = 8 << 20;
	c->state_dir = default_state_dir();
	c->store_enable = 1;
	c->store_minute_days = 7;
	c->store_hour_days = 90;
	c->store_top_days = 7;
	c->store_event_days = 90;
	c->store_batch_ms = 1000;
	c->snmp_enable = 1;
	c->snmp_community = xstrdup("public");
	c->snmp_v3_auth = xstrdup("SHA");
	c->snmp_v3_priv = xstrdup("AES");
	c->snmp_timeout_ms = 1000;
	c->snmp_retries = 2;
	c->snmp_poll_s = 60;
	c->snmp_status_s = 5;
	c->snmp_counters_s = 10;
	c->snmp_max_parallel = 64;
	c->push_ms = 1000;
	c->trace_idle_s = 300;
	c->ws_max_clients = 256;
	c->elephant_pct = 10;
	c->ha_backup_poll_factor = 6;
	c->busy_pct = 80;
	c->blackhole_quiet_s = 30;
	c->max_agents = 65536;
	c->log_level = xstrdup("info");
}

void
conf_free(struct conf *c)
{
	for (size_t i = 0; i < nitems(keys); i++) {
		const struct key *k = &keys[i];

		if (k->type == K_LIST || k->type == K_ADDRLIST) {
			char **v = FIELD(c, k, char *);
			int *n = (int *)((char *)c + k->count_off);

			for (int j = 0; j < *n; j++)
				free(v[j]);
			*n = 0;
		} else if (k->type != K_INT) {
			free(*FIELD(c, k, char *));
			*FIELD(c, k, char *) = NULL;
		}
	}
}

int
addrport_parse(const char *s, int default_port, struct sockaddr_storage *ss,
    socklen_t *sslen)
{
	char host[INET6_ADDRSTRLEN + 1] = "";
	const char *portstr = NULL;
	long port = default_port;
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	size_t hl;

	memset(ss, 0, sizeof(*ss));
	if (s == NULL)
		return -1;
	if (s[0] == '[') {
		const char *e = strchr(s, ']');

		if (e == NULL || (size_t)(e - s - 1) >= sizeof(host))
			return -1;
		memcpy(host, s + 1, e - s - 1);
		host[e - s - 1] = '\0';
		if (e[1] == ':')
			portstr = e + 2;
		else if (e[1] != '\0')
			return -1;
	} else if (strchr(s, ':') != NULL &&
	    strchr(s, ':') == strrchr(s, ':')) {
		/* one colon: ADDR:PORT or :PORT */
		hl = strchr(s, ':') - s;
		if (hl >= sizeof(host))
			return -1;
		memcpy(host, s, hl);
		host[hl] = '\0';
		portstr = s + hl + 1;
	} else if (strspn(s, "0123456789") == strlen(s) && *s != '\0') {
		portstr = s; /* just a port */
	} else {
		/* a bare address, IPv4 or IPv6 without brackets */
		if (strlen(s) >= sizeof(host))
			return -1;
		strcpy(host, s);
	}
	if (portstr != NULL) {
		char *end;

		if (*portstr == '\0')
			return -1;
		errno = 0;
		port = strtol(portstr, &end, 10);
		if (errno || *end != '\0' || port < 0 || port > 65535)
			return -1;
	}
	if (host[0] == '\0' || strcmp(host, "::") == 0) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_any;
		sin6->sin6_port = htons((uint16_t)port);
		*sslen = sizeof(*sin6);
		return 0;
	}
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*sslen = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*sslen = sizeof(*sin6);
		return 0;
	}
	return -1;
}

/* Print a socket address in the canonical ADDR:PORT form. */
static void
addrport_fmt(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)ss;

		inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ntohs(sin->sin_port));
	} else {
		const struct sockaddr_in6 *sin6 = (const void *)ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, ntohs(sin6->sin6_port));
	}
}

int
cidr_parse(const char *s, int *family, uint8_t addr[16], int *prefix)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/');
	size_t al = slash ? (size_t)(slash - s) : strlen(s);
	int max;

	if (al == 0 || al >= sizeof(buf))
		return -1;
	memcpy(buf, s, al);
	buf[al] = '\0';
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, buf, addr) == 1) {
		*family = 4;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, addr) == 1) {
		*family = 6;
		max = 128;
	} else {
		return -1;
	}
	*prefix = max;
	if (slash != NULL) {
		char *end;
		long p;

		errno = 0;
		p = strtol(slash + 1, &end, 10);
		if (errno || end == slash + 1 || *end != '\0' || p < 0 ||
		    p > max)
			return -1;
		*prefix = (int)p;
	}
	return 0;
}

static const struct key *
key_find(const char *name)
{
	for (size_t i = 0; i < nitems(keys); i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

int
conf_set(struct conf *c, const char *name, const char *value, char *err,
    size_t errlen)
{
	const struct key *k = key_find(name);
	char norm[INET6_ADDRSTRLEN + 16];

	if (k == NULL) {
		snprintf(err, errlen, "unknown key '%s'", name);
		return -1;
	}
	switch (k->type) {
	case K_INT: {
		char *end;
		long v;

		errno = 0;
		v = strtol(value, &end, 10);
		if (errno || end == value || *end != '\0' || v < k->min ||
		    v > k->max) {
			snprintf(err, errlen,
			    "%s: '%s' is not an integer in "
			    "%d..%d",
			    name, value, k->min, k->max);
			return -1;
		}
		*FIELD(c, k, int) = (int)v;
		return 0;
	}
	case K_LEVEL:
		if (strcmp(value, "warn") != 0 && strcmp(value, "info") != 0 &&
		    strcmp(value, "debug") != 0) {
			snprintf(err, errlen,
			    "%s: '%s' is not one of warn, "
			    "info, debug",
			    name, value);
			return -1;
		}
		/* FALLTHROUGH */
	case K_STR:
		if (*value == '\0') {
			snprintf(err, errlen, "%s: empty value", name);
			return -1;
		}
		free(*FIELD(c, k, char *));
		*FIELD(c, k, char *) = xstrdup(value);
		return 0;
	case K_ADDR:
	case K_ADDRLIST: {
		struct sockaddr_storage ss;
		socklen_t sl;

		if (addrport_parse(value, k->port, &ss, &sl) != 0) {
			snprintf(err, errlen, "%s: '%s' is not ADDR:PORT", name,
			    value);
			return -1;
		}
		addrport_fmt(&ss, norm, sizeof(norm));
		value = norm;
		if (k->type == K_ADDR) {
			free(*FIELD(c, k, char *));
			*FIELD(c, k, char *) = xstrdup(value);
			return 0;
		}
	}
		/* FALLTHROUGH */
	case K_LIST: {
		char **v = FIELD(c, k, char *);
		int *n = (int *)((char *)c + k->count_off);

		if (strcmp(k->name, "snmp.seed") == 0) {
			uint8_t a[16];
			int fam, plen;

			if (cidr_parse(value, &fam, a, &plen) != 0) {
				snprintf(err, errlen,
				    "%s: '%s' is not an "
				    "address or CIDR",
				    name, value);
				return -1;
			}
		}
		if (strcmp(k->name, "topology.role") == 0) {
			const char *eq = strchr(value, '=');

			if (eq == NULL || eq == value ||
			    (strcmp(eq + 1, "spine") != 0 &&
			        strcmp(eq + 1, "leaf") != 0 &&
			        strcmp(eq + 1, "other") != 0)) {
				snprintf(err, errlen,
				    "%s: '%s' is not "
				    "NODE=spine|leaf|other",
				    name, value);
				return -1;
			}
		}

		if (*value == '\0') {
			snprintf(err, errlen, "%s: empty value", name);
			return -1;
		}
		for (int i = 0; i < *n; i++)
			if (strcmp(v[i], value) == 0)
				return 0; /* a repeat changes nothing */
		if (*n >= k->max) {
			snprintf(err, errlen, "%s: more than %d values", name,
			    k->max);
			return -1;
		}
		v[(*n)++] = xstrdup(value);
		return 0;
	}
	}
	return -1;
}

int
conf_clear_list(struct conf *c, const char *name)
{
	const struct key *k = key_find(name);
	char **v;
	int *n;

	if (k == NULL || (k->type != K_LIST && k->type != K_ADDRLIST))
		return -1;
	v = FIELD(c, k, char *);
	n = (int *)((char *)c + k->count_off);
	for (int j = 0; j < *n; j++)
		free(v[j]);
	*n = 0;
	return 0;
}

struct parse_ctx {
	struct conf *c;
	char *err;
	size_t errlen;
	int failed;
};

static int
ini_cb(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *pc = user;
	char key[128];

	snprintf(key, sizeof(key), "%s.%s", section, name);
	if (conf_set(pc->c, key, value, pc->err, pc->errlen) != 0) {
		pc->failed = 1;
		return 0;
	}
	return 1;
}

static int
parse_result(struct parse_ctx *pc, int rc, const char *where)
{
	char why[256];

	if (rc == 0)
		return 0;
	snprintf(why, sizeof(why), "%s", pc->failed ? pc->err : "syntax error");
	if (rc > 0)
		snprintf(pc->err, pc->errlen, "%s%sline %d: %s", where,
		    *where ? ":" : "", rc, why);
	else
		snprintf(pc->err, pc->errlen, "%s: cannot read: %s", where,
		    rc == -1 ? strerror(errno) : "out of memory");
	return -1;
}

int
conf_parse_string(struct conf *c, const char *text, char *err, size_t errlen)
{
	struct parse_ctx pc = { c, err, errlen, 0 };

	return parse_result(&pc, ini_parse_string(text, ini_cb, &pc), "");
}

int
conf_parse_file(struct conf *c, const char *path, char *err, size_t errlen)
{
	struct parse_ctx pc = { c, err, errlen, 0 };

	return parse_result(&pc, ini_parse(path, ini_cb, &pc), path);
}

char *
conf_db_path(const struct conf *c)
{
	char buf[PATH_MAX];

	if (c->db != NULL)
		return xstrdup(c->db);
	snprintf(buf, sizeof(buf), "%s/fabmon.db", c->state_dir);
	return xstrdup(buf);
}

void
conf_print(const struct conf *c, FILE *f)
{
	char section[32] = "";

	for (size_t i = 0; i < nitems(keys); i++) {
		const struct key *k = &keys[i];
		const char *dot = strchr(k->name, '.');
		char sec[32];
		size_t sl = (size_t)(dot - k->name);

		snprintf(sec, sizeof(sec), "%.*s", (int)sl, k->name);
		if (strcmp(sec, section) != 0) {
			fprintf(f, "%s[%s]\n", i ? "\n" : "", sec);
			snprintf(section, sizeof(section), "%s", sec);
		}
		fprintf(f, "; %s\n", k->help);
		switch (k->type) {
		case K_INT:
			fprintf(f, "%s = %d\n", dot + 1,
			    *(const int *)((const char *)c + k->off));
			break;
		case K_STR:
		case K_ADDR:
		case K_LEVEL: {
			const char *v =
			    *(char *const *)((const char *)c + k->off);

			if (v == NULL && strcmp(k->name, "store.db") == 0) {
				char *d = conf_db_path(c);

				fprintf(f, "%s = %s\n", dot + 1, d);
				free(d);
			} else if (v == NULL) {
				fprintf(f, "; %s = (unset)\n", dot + 1);
			} else if (k->secret) {
				/* -n output goes to terminals and tickets */
				fprintf(f, "%s = (set, %zu characters)\n",
				    dot + 1, strlen(v));
			} else {
				fprintf(f, "%s = %s\n", dot + 1, v);
			}
			break;
		}
		case K_LIST:
		case K_ADDRLIST: {
			char *const *v =
			    (char *const *)((const char *)c + k->off);
			int n = *(const int *)((const char *)c + k->count_off);

			if (n == 0 && k->type == K_ADDRLIST)
				fprintf(f, "%s = [::]:%d\n", dot + 1, k->port);
			for (int j = 0; j < n; j++)
				fprintf(f, "%s = %s\n", dot + 1, v[j]);
			break;
		}
		}
	}
}
