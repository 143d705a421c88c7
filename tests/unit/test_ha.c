/*
 * test_ha.c: the HA pair's pure code: keepalived's notify FIFO lines
 * (ha_fifo.c), and the health, track-file, split-brain and peer-answer
 * decisions (ha_judge.c).
 */
#include <stdlib.h>
#include <string.h>

#include "ha_fifo.h"
#include "ha_judge.h"
#include "t.h"

static int
parse(const char *s, struct ha_fifo_msg *m)
{
	return ha_fifo_parse(s, strlen(s), m);
}

/* What keepalived 2.2's notify_fifo() writes: "%s \"%s\" %s %d\n". */
static void
fifo_keepalived_lines(void)
{
	struct ha_fifo_msg m;

	T_EQ(parse("INSTANCE \"VI_1\" MASTER 100", &m), 0);
	T_EQ(m.kind, HA_FIFO_INSTANCE);
	T_STREQ(m.name, "VI_1");
	T_EQ(m.state, HA_VRRP_MASTER);
	T_EQ(m.priority, 100);
	T_EQ(parse("GROUP \"G1\" BACKUP 0", &m), 0);
	T_EQ(m.kind, HA_FIFO_GROUP);
	T_EQ(m.state, HA_VRRP_BACKUP);
	T_EQ(m.priority, 0);
	T_EQ(parse("INSTANCE \"FABMON\" FAULT 150", &m), 0);
	T_EQ(m.state, HA_VRRP_FAULT);
	T_EQ(parse("INSTANCE \"FABMON\" STOP 150", &m), 0);
	T_EQ(m.state, HA_VRRP_STOP);
	T_EQ(parse("INSTANCE \"FABMON\" DELETED 150", &m), 0);
	T_EQ(m.state, HA_VRRP_DELETED);
	T_EQ(parse("INSTANCE \"x\" MASTER_RX_LOWER_PRI 255", &m), 0);
	T_EQ(m.state, HA_VRRP_MASTER_RX_LOWER_PRI);
	T_EQ(m.priority, 255);
	T_EQ(parse("INSTANCE \"x\" MASTER_PRIORITY 90", &m), 0);
	T_EQ(m.state, HA_VRRP_MASTER_PRIORITY);
	T_EQ(parse("INSTANCE \"x\" BACKUP_PRIORITY 80", &m), 0);
	T_EQ(m.state, HA_VRRP_BACKUP_PRIORITY);
	/* a CR (a FIFO fed by hand), blanks */
	T_EQ(parse("INSTANCE \"VI_1\" BACKUP 100\r", &m), 0);
	T_EQ(parse("  INSTANCE  \"VI 1\"\tMASTER  7  ", &m), 0);
	T_STREQ(m.name, "VI 1");
	T_EQ(m.priority, 7);
	/* the checker's lines on a shared notify_fifo: not ours, not bad */
	T_EQ(parse("VS [192.168.201.15]:tcp:80 UP", &m), 1);
	T_EQ(parse("RS [1.2.3.4]:tcp:80 [192.168.201.15]:tcp:80 DOWN", &m), 1);
}

static void
fifo_bad_lines(void)
{
	static const char *const bad[] = {
		"",
		"INSTANCE",
		"INSTANCE VI_1 MASTER 100",    /* no quotes */
		"INSTANCE \"VI_1 MASTER 100",  /* unterminated */
		"INSTANCE \"\" MASTER 100",    /* empty name */
		"INSTANCE \"VI_1\"MASTER 100", /* no blank */
		"INSTANCE \"VI_1\" MASTERX 100",
		"INSTANCE \"VI_1\" master 100", /* case matters */
		"INSTANCE \"VI_1\" {UNKNOWN} 100",
		"INSTANCE \"VI_1\" MASTER",
		"INSTANCE \"VI_1\" MASTER 256",
		"INSTANCE \"VI_1\" MASTER -1",
		"INSTANCE \"VI_1\" MASTER 1000",
		"INSTANCE \"VI_1\" MASTER 10x",
		"INSTANCE \"VI_1\" MASTER 100 extra",
		"INSTANCEX \"VI_1\" MASTER 100",
		"instance \"VI_1\" MASTER 100",
		"INSTANCE \"a\x1b[2Jb\" MASTER 100", /* a control character */
		"INSTANCE\"VI_1\" MASTER 100",
	};
	struct ha_fifo_msg m;
	char longname[200];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse(bad[i], &m) != -1)
			T_FAIL("accepted: %s", bad[i]);
	/* a name longer than HA_NAME_MAX - 1 */
	memset(longname, 0, sizeof(longname));
	strcpy(longname, "INSTANCE \"");
	memset(longname + 10, 'n', HA_NAME_MAX);
	strcat(longname, "\" MASTER 1");
	T_EQ(parse(longname, &m), -1);
	longname[10 + HA_NAME_MAX - 1] = '\0';
	strcat(longname, "\" MASTER 1");
	T_EQ(parse(longname, &m), 0);
	T_EQ(strlen(m.name), HA_NAME_MAX - 1);
	/* a NUL inside the line is not the end of it */
	T_EQ(ha_fifo_parse("INSTANCE \"a\" MASTER 1\0x", 23, &m), -1);
}

static void
fifo_roles(void)
{
	T_EQ(ha_role_of(HA_VRRP_MASTER, HA_ROLE_UNKNOWN), HA_ROLE_MASTER);
	T_EQ(ha_role_of(HA_VRRP_BACKUP, HA_ROLE_MASTER), HA_ROLE_BACKUP);
	T_EQ(ha_role_of(HA_VRRP_FAULT, HA_ROLE_MASTER), HA_ROLE_FAULT);
	T_EQ(ha_role_of(HA_VRRP_STOP, HA_ROLE_MASTER), HA_ROLE_FAULT);
	T_EQ(ha_role_of(HA_VRRP_DELETED, HA_ROLE_BACKUP), HA_ROLE_FAULT);
	T_EQ(ha_role_of(HA_VRRP_MASTER_RX_LOWER_PRI, HA_ROLE_MASTER),
	    HA_ROLE_MASTER);
	T_EQ(ha_role_of(HA_VRRP_MASTER_PRIORITY, HA_ROLE_UNKNOWN),
	    HA_ROLE_MASTER);
	T_EQ(ha_role_of(HA_VRRP_BACKUP_PRIORITY, HA_ROLE_UNKNOWN),
	    HA_ROLE_BACKUP);
	T_STREQ(ha_role_name(HA_ROLE_FAULT), "FAULT");
	T_STREQ(ha_role_name((enum ha_role)99), "UNKNOWN");
	T_EQ(ha_role_parse("BACKUP"), HA_ROLE_BACKUP);
	T_EQ(ha_role_parse("backup"), HA_ROLE_UNKNOWN);
	T_EQ(ha_role_parse(NULL), HA_ROLE_UNKNOWN);
	T_STREQ(
	    ha_vrrp_name(HA_VRRP_MASTER_RX_LOWER_PRI), "MASTER_RX_LOWER_PRI");
	T_STREQ(ha_vrrp_name(HA_VRRP_NONE), "NONE");
}

struct lines {
	char got[8][HA_LINE_MAX + 1];
	size_t n;
};

static void
collect(void *arg, const char *line, size_t len)
{
	struct lines *l = arg;

	if (l->n < 8) {
		memcpy(l->got[l->n], line, len);
		l->got[l->n][len] = '\0';
		l->n++;
	}
}

static void
fifo_linebuf(void)
{
	struct ha_linebuf lb;
	struct lines l;
	const char *s = "INSTANCE \"VI_1\" BACKUP 100\nINSTANCE \"VI_1\" MAS";
	char big[HA_LINE_MAX + 10];

	memset(&lb, 0, sizeof(lb));
	memset(&l, 0, sizeof(l));
	/* a line split over reads, as a pipe may deliver it */
	ha_linebuf_feed(&lb, s, strlen(s), collect, &l);
	T_EQ(l.n, 1);
	T_STREQ(l.got[0], "INSTANCE \"VI_1\" BACKUP 100");
	ha_linebuf_feed(&lb, "TER 100\n", 8, collect, &l);
	T_EQ(l.n, 2);
	T_STREQ(l.got[1], "INSTANCE \"VI_1\" MASTER 100");
	/* an overlong line is dropped whole, the next one comes through */
	memset(big, 'x', sizeof(big));
	ha_linebuf_feed(&lb, big, sizeof(big), collect, &l);
	ha_linebuf_feed(&lb, "\nok\n", 4, collect, &l);
	T_EQ(l.n, 3);
	T_STREQ(l.got[2], "ok");
	T_EQ(lb.overlong, 1);
	/* exactly HA_LINE_MAX fits */
	memset(&lb, 0, sizeof(lb));
	memset(&l, 0, sizeof(l));
	memset(big, 'y', HA_LINE_MAX);
	big[HA_LINE_MAX] = '\n';
	ha_linebuf_feed(&lb, big, HA_LINE_MAX + 1, collect, &l);
	T_EQ(l.n, 1);
	T_EQ(strlen(l.got[0]), HA_LINE_MAX);
	T_EQ(lb.overlong, 0);
}

/* A daemon up for a minute with everything fresh. */
static struct ha_health_in
healthy(void)
{
	struct ha_health_in in;

	memset(&in, 0, sizeof(in));
	in.uptime_ms = 60000;
	in.push_ms = 1000;
	in.ingest_known = true;
	in.ingest_loop_age_ms = 200;
	in.datagram_seen = true;
	in.datagram_age_ms = 300;
	in.store_present = true;
	in.snmp_enabled = true;
	in.topo_known = true;
	in.topo_built_age_ms = 1500;
	in.topo_polled = true;
	in.topo_ok_age_ms = 4000;
	in.snmp_status_s = 5;
	in.snmp_poll_s = 60;
	return in;
}

static void
judge_health(void)
{
	struct ha_health_in in = healthy();
	char buf[64];

	T_EQ(ha_health_judge(&in), 0);
	in.ingest_loop_age_ms = 7000; /* 5 push periods + 2 s */
	T_EQ(ha_health_judge(&in), HA_R_INGEST);
	in = healthy();
	in.ingest_known = false;
	T_EQ(ha_health_judge(&in), HA_R_INGEST);
	in.uptime_ms = 1000; /* just started: no snapshot yet is fine */
	in.topo_polled = false;
	T_EQ(ha_health_judge(&in), HA_R_TOPOLOGY);
	in = healthy();
	in.datagram_age_ms = HA_SFLOW_SILENT_MS - 1;
	T_EQ(ha_health_judge(&in), 0);
	in.datagram_age_ms = HA_SFLOW_SILENT_MS;
	T_EQ(ha_health_judge(&in), HA_R_SFLOW);
	/* nothing heard since start: nothing to show, even at once */
	in.datagram_seen = false;
	in.uptime_ms = 100;
	T_EQ(ha_health_judge(&in), HA_R_SFLOW);
	in = healthy();
	in.store_degraded = true;
	T_EQ(ha_health_judge(&in), HA_R_STORE);
	in.store_present = false; /* store.enable=0 */
	T_EQ(ha_health_judge(&in), 0);
	in = healthy();
	in.topo_known = false;
	T_EQ(ha_health_judge(&in), HA_R_TOPOLOGY);
	in = healthy();
	in.topo_built_age_ms = HA_TOPO_BUILT_MS; /* the thread is stuck */
	T_EQ(ha_health_judge(&in), HA_R_TOPOLOGY);
	in = healthy();
	in.topo_restored = true;
	T_EQ(ha_health_judge(&in), HA_R_TOPOLOGY);
	in = healthy();
	in.topo_ok_age_ms = HA_TOPO_POLL_MIN_MS; /* max(30 s, 3 x 5 s) */
	T_EQ(ha_health_judge(&in), HA_R_TOPOLOGY);
	in.snmp_status_s = 20; /* 3 x 20 s */
	T_EQ(ha_health_judge(&in), 0);
	in.snmp_enabled = false; /* import only: nothing to poll */
	in.topo_polled = false;
	in.topo_ok_age_ms = 999999;
	T_EQ(ha_health_judge(&in), 0);
	in = healthy();
	in.api_failures = HA_API_FAILS - 1;
	T_EQ(ha_health_judge(&in), 0);
	in.api_failures = HA_API_FAILS;
	T_EQ(ha_health_judge(&in), HA_R_API);
	in.stopping = true;
	in.store_degraded = true;
	T_EQ(ha_health_judge(&in), HA_R_API | HA_R_STOPPING | HA_R_STORE);
	T_STREQ(ha_reasons_text(
	            HA_R_API | HA_R_STOPPING | HA_R_STORE, buf, sizeof(buf)),
	    "store,api,stopping");
	T_STREQ(ha_reasons_text(0, buf, sizeof(buf)), "");
	T_STREQ(ha_reasons_text(HA_R_ALL, buf, 10), "ingest");
	T_STREQ(ha_reason_name(HA_R_SFLOW), "sflow");
	T_OK(ha_reason_name(3) == NULL);
	T_OK(ha_reason_name(0x40) == NULL);
}

static void
judge_track(void)
{
	struct ha_peer_view p = { true, 500, HA_ROLE_BACKUP, true };

	/* healthy: keep the VIP whatever the peer */
	T_EQ(ha_track_value(0, &p), 0);
	T_EQ(ha_track_value(0, NULL), 0);
	/* sick with a peer that can take over: step down */
	T_EQ(ha_track_value(HA_R_SFLOW, &p), 1);
	p.role = HA_ROLE_MASTER;
	T_EQ(ha_track_value(HA_R_STORE, &p), 1);
	/* ... but not to a peer that is sick, FAULT, silent or unknown */
	p.healthy = false;
	T_EQ(ha_track_value(HA_R_STORE, &p), 0);
	p.healthy = true;
	p.role = HA_ROLE_FAULT;
	T_EQ(ha_track_value(HA_R_STORE, &p), 0);
	p.role = HA_ROLE_UNKNOWN;
	T_EQ(ha_track_value(HA_R_STORE, &p), 0);
	p.role = HA_ROLE_BACKUP;
	p.answered_age = HA_PEER_FRESH;
	T_EQ(ha_track_value(HA_R_STORE, &p), 0);
	p.answered_age = 0;
	p.known = false;
	T_EQ(ha_track_value(HA_R_STORE, &p), 0);
	T_EQ(ha_track_value(HA_R_STORE, NULL), 0);
	/* stopping: always */
	T_EQ(ha_track_value(HA_R_STOPPING, NULL), 1);
}

static void
judge_split(void)
{
	struct ha_peer_view p = { true, 500, HA_ROLE_MASTER, true };

	T_OK(ha_split_brain(HA_ROLE_MASTER, &p, UINT64_MAX));
	T_OK(!ha_split_brain(HA_ROLE_BACKUP, &p, UINT64_MAX));
	T_OK(!ha_split_brain(HA_ROLE_FAULT, &p, 0));
	p.answered_age = HA_PEER_FRESH; /* a stale answer proves nothing */
	T_OK(!ha_split_brain(HA_ROLE_MASTER, &p, UINT64_MAX));
	p.answered_age = 0;
	p.role = HA_ROLE_BACKUP;
	T_OK(!ha_split_brain(HA_ROLE_MASTER, &p, UINT64_MAX));
	/* keepalived heard another master lately */
	T_OK(ha_split_brain(HA_ROLE_MASTER, &p, HA_SPLIT_RX_MS - 1));
	T_OK(!ha_split_brain(HA_ROLE_MASTER, &p, HA_SPLIT_RX_MS));
	T_OK(ha_split_brain(HA_ROLE_MASTER, NULL, 0));
	T_OK(!ha_split_brain(HA_ROLE_MASTER, NULL, UINT64_MAX));
}

static int
peer(const char *s, struct ha_peer_answer *a)
{
	return ha_peer_parse(s, strlen(s), a);
}

#define HDR "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"

static void
peer_answers(void)
{
	struct ha_peer_answer a;
	const char *body =
	    "{\"role\":\"BACKUP\",\"since\":1795339575097,"
	    "\"instance\":\"FABMON\",\"address\":\"10.99.0.102\","
	    "\"health\":{\"ok\":false,\"reasons\":[\"sflow\"]}}";
	char resp[1024];

	/* what lws sends: content-length */
	snprintf(resp, sizeof(resp), HDR "content-length: %zu\r\n\r\n%s",
	    strlen(body), body);
	T_EQ(peer(resp, &a), 0);
	T_EQ(a.status, 200);
	T_EQ(a.role, HA_ROLE_BACKUP);
	T_OK(!a.healthy);
	T_EQ(a.since, 1795339575097LL);
	T_STREQ(a.instance, "FABMON");
	T_STREQ(a.address, "10.99.0.102");
	/* Content-Length cut short: -1 */
	snprintf(resp, sizeof(resp), HDR "Content-Length: %zu\r\n\r\n%s",
	    strlen(body) + 1, body);
	T_EQ(peer(resp, &a), -1);
	/* up to the end, without a length; LF-only lines */
	T_EQ(peer("HTTP/1.0 200 OK\n\n{\"role\":\"MASTER\"}", &a), 0);
	T_EQ(a.role, HA_ROLE_MASTER);
	T_OK(a.healthy); /* an older peer without health */
	T_EQ(a.since, -1);
	/* chunked */
	T_EQ(peer(HDR "Transfer-Encoding: chunked\r\n\r\n"
	              "5\r\n{\"rol\r\n"
	              "c;ext=1\r\ne\":\"FAULT\"}\r\n0\r\n\r\n",
	         &a),
	    0);
	T_EQ(a.role, HA_ROLE_FAULT);
	T_EQ(peer(HDR "Transfer-Encoding: chunked\r\n\r\n"
	              "ff\r\n{\"role\":\"FAULT\"}\r\n0\r\n\r\n",
	         &a),
	    -1);
	/* a control character in a string is neutralised */
	T_EQ(peer(HDR "\r\n{\"role\":\"BACKUP\",\"instance\":\"a\\u001bb\"}",
	         &a),
	    0);
	T_STREQ(a.instance, "a?b");
	/* STANDALONE, unknown roles, other statuses, junk */
	T_EQ(peer(HDR "\r\n{\"role\":\"STANDALONE\"}", &a), -1);
	T_EQ(peer(HDR "\r\n{\"role\":\"UNKNOWN\"}", &a), 0);
	T_EQ(a.role, HA_ROLE_UNKNOWN);
	T_EQ(peer(HDR "\r\n{\"role\":3}", &a), -1);
	T_EQ(peer(HDR "\r\n[\"role\"]", &a), -1);
	T_EQ(peer(HDR "\r\n{\"role\":\"MASTER\",\"role\":\"BACKUP\"}", &a), -1);
	T_EQ(peer("HTTP/1.1 404 Not Found\r\n\r\n{\"role\":\"MASTER\"}", &a),
	    -1);
	T_EQ(a.status, 404);
	T_EQ(peer("HTTP/1.1 200 OK\r\nContent-Length: 5", &a), -1);
	T_EQ(peer("HTTP/1.1 2000 OK\r\n\r\n{}", &a), -1);
	T_EQ(peer("SSH-2.0-OpenSSH\r\n", &a), -1);
	T_EQ(peer("", &a), -1);
	T_EQ(peer(HDR "Content-Length: 99999999999\r\n\r\n{}", &a), -1);
}

int
main(void)
{
	t_suite = "ha";
	T_RUN(fifo_keepalived_lines);
	T_RUN(fifo_bad_lines);
	T_RUN(fifo_roles);
	T_RUN(fifo_linebuf);
	T_RUN(judge_health);
	T_RUN(judge_track);
	T_RUN(judge_split);
	T_RUN(peer_answers);
	return t_done();
}
