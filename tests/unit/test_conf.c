/*
 * test_conf.c: configuration defaults, keys, INI parsing and ADDR:PORT.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>

#include "conf.h"
#include "t.h"

static void
test_defaults(void)
{
	struct conf c;
	char *db;

	conf_defaults(&c);
	T_EQ(c.n_sflow_listen, 0); /* ingest then binds [::]:6343 */
	T_STREQ(c.http_listen, "[::]:8008");
	T_EQ(c.push_ms, 1000);
	T_EQ(c.sflow_rcvbuf, 16 << 20);
	T_OK(c.state_dir != NULL && c.state_dir[0] == '/');
	db = conf_db_path(&c);
	T_OK(strstr(db, "/fabmon.db") != NULL);
	free(db);
	conf_free(&c);
}

static void
test_addrport(void)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t sl;

	T_EQ(addrport_parse("10.1.2.3:6343", 1, &ss, &sl), 0);
	T_EQ(ss.ss_family, AF_INET);
	T_EQ(ntohs(sin->sin_port), 6343);
	T_EQ(ntohl(sin->sin_addr.s_addr), 0x0a010203);
	T_EQ(addrport_parse("[2001:db8::1]:80", 1, &ss, &sl), 0);
	T_EQ(ss.ss_family, AF_INET6);
	T_EQ(ntohs(sin6->sin6_port), 80);
	T_EQ(addrport_parse("2001:db8::1", 9, &ss, &sl), 0);
	T_EQ(ntohs(sin6->sin6_port), 9);
	T_EQ(addrport_parse(":7000", 9, &ss, &sl), 0);
	T_EQ(ss.ss_family, AF_INET6); /* every address, dual-stack */
	T_EQ(ntohs(sin6->sin6_port), 7000);
	T_EQ(addrport_parse("7001", 9, &ss, &sl), 0);
	T_EQ(ntohs(sin6->sin6_port), 7001);
	T_EQ(addrport_parse("127.0.0.1", 8008, &ss, &sl), 0);
	T_EQ(ntohs(sin->sin_port), 8008);
	/* Not addresses or not ports. */
	T_EQ(addrport_parse("1.2.3.4:65536", 1, &ss, &sl), -1);
	T_EQ(addrport_parse("1.2.3.4:", 1, &ss, &sl), -1);
	T_EQ(addrport_parse("1.2.3.4:-1", 1, &ss, &sl), -1);
	T_EQ(addrport_parse("[::1", 1, &ss, &sl), -1);
	T_EQ(addrport_parse("[::1]x", 1, &ss, &sl), -1);
	T_EQ(addrport_parse("host.example:80", 1, &ss, &sl), -1);
	T_EQ(addrport_parse("999.1.1.1:80", 1, &ss, &sl), -1);
	T_EQ(addrport_parse(NULL, 1, &ss, &sl), -1);
	T_EQ(addrport_parse("", 1, &ss, &sl), 0); /* every address */
}

static void
test_parse(void)
{
	struct conf c;
	char err[256];

	conf_defaults(&c);
	T_EQ(conf_parse_string(&c,
		 "[sflow]\nlisten = 0.0.0.0:6343\nlisten = [::]:6344\n"
		 "; a comment\n[engine]\npush_ms = 250\n[snmp]\n"
		 "seed = 10.0.0.0/24\nseed = 10.0.0.0/24\n",
		 err, sizeof(err)),
	    0);
	T_EQ(c.n_sflow_listen, 2);
	T_STREQ(c.sflow_listen[1], "[::]:6344");
	T_EQ(c.push_ms, 250);
	T_EQ(c.n_snmp_seeds, 1); /* a repeated value is kept once */
	/* Flags replace lists. */
	T_EQ(conf_clear_list(&c, "sflow.listen"), 0);
	T_EQ(c.n_sflow_listen, 0);
	T_EQ(conf_clear_list(&c, "engine.push_ms"), -1);
	conf_free(&c);

	conf_defaults(&c);
	T_EQ(conf_parse_string(&c, "[engine]\npush_ms = 1000\npush_ms = 5\n",
		 err, sizeof(err)),
	    -1);
	T_STREQ(err, "line 3: engine.push_ms: '5' is not an integer in "
		     "100..60000");
	T_EQ(conf_parse_string(&c, "[x]\ny\n", err, sizeof(err)), -1);
	T_STREQ(err, "line 2: syntax error");
	T_EQ(conf_set(&c, "http.listen", "nope:1", err, sizeof(err)), -1);
	T_EQ(conf_set(&c, "http.listen", "[::1]:1", err, sizeof(err)), 0);
	T_STREQ(c.http_listen, "[::1]:1");
	T_EQ(conf_set(&c, "nope.key", "1", err, sizeof(err)), -1);
	T_STREQ(err, "unknown key 'nope.key'");
	T_EQ(conf_set(&c, "store.state_dir", "", err, sizeof(err)), -1);
	conf_free(&c);
}

static void
test_list_bound(void)
{
	struct conf c;
	char err[256], v[32];
	int i, rc = 0;

	conf_defaults(&c);
	for (i = 0; i < CONF_MAX_LISTEN + 1 && rc == 0; i++) {
		snprintf(v, sizeof(v), "127.0.0.1:%d", 1000 + i);
		rc = conf_set(&c, "sflow.listen", v, err, sizeof(err));
	}
	T_EQ(rc, -1);
	T_EQ(c.n_sflow_listen, CONF_MAX_LISTEN);
	conf_free(&c);
}

int
main(void)
{
	t_suite = "conf";
	T_RUN(test_defaults);
	T_RUN(test_addrport);
	T_RUN(test_parse);
	T_RUN(test_list_bound);
	return t_done();
}
