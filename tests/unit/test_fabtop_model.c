/*
 * test_fabtop_model.c: fabtop's frame model (tui/model.c). Frames
 * recorded from the lab's fabmond (the .frames in tests/golden/fabtop/, and the
 * daemon's own golden frames in tests/golden/ws/ when they exist) become
 * the state the views draw; bad frames change nothing; a frame that
 * changes nothing shown does not bump the generation.
 */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "t.h"

#define LAB    "tests/golden/fabtop/lab.frames"
#define VALLEY "tests/golden/fabtop/valley.frames"

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n)
		n = 0;
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* Apply every line of a frames file; returns the frames applied. */
static int
apply_file(struct model *m, const char *path)
{
	size_t len;
	char *buf = slurp(path, &len), *p, *nl;
	int n = 0;

	if (buf == NULL)
		return -1;
	for (p = buf; *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		if (nl == NULL)
			nl = p + strlen(p);
		if (nl > p &&
		    model_apply(m, p, (size_t)(nl - p), 1000) != MF_BAD)
			n++;
		if (*nl == '\0')
			break;
	}
	free(buf);
	return n;
}

static enum mframe
apply(struct model *m, const char *s)
{
	return model_apply(m, s, strlen(s), 2000);
}

static void
test_lab_frames(void)
{
	struct model *m = model_new();
	const struct m_node *l1;
	const struct m_dir *d;
	const struct m_lstate *ls;
	size_t spines = 0, hosts = 0;

	T_EQ(apply_file(m, LAB), 11);
	T_EQ(m->bad, 0);
	T_STREQ(m->version, "0.1.0");
	T_OK(m->push_ms == 1000);
	T_STREQ(m->ha_role, "STANDALONE");
	T_STREQ(m->health_status, "ok");
	/* the fabric: 2 spines, 4 leaves, 8 links, all up */
	T_EQ(m->nnodes, 6);
	T_EQ(m->nlinks, 8);
	for (size_t i = 0; i < m->nnodes; i++)
		spines += strcmp(m->nodes[i].role, "spine") == 0;
	T_EQ(spines, 2);
	l1 = model_node(m, "l1");
	T_OK(l1 != NULL);
	if (l1 != NULL) {
		T_STREQ(l1->role, "leaf");
		T_EQ(l1->reachable, 1);
		for (size_t i = 0; i < l1->nports; i++)
			hosts += l1->ports[i].peer_is_host;
		T_EQ(hosts, 2); /* h1, h2 */
	}
	T_OK(model_node(m, "nope") == NULL);
	T_OK(model_link(m, "l1:swp1-s1:swp1") != NULL);
	/* the link state, found by name and by its ends */
	T_EQ(m->nlstates, 8);
	ls = model_lstate(m, "l1:swp1-s1:swp1");
	T_OK(ls != NULL && strcmp(ls->status, "up") == 0);
	T_OK(ls != NULL && strcmp(ls->dir[0].from_node, "l1") == 0 &&
	    strcmp(ls->dir[1].from_node, "s1") == 0);
	d = model_dir_from(m, "l1", "swp1");
	T_OK(d != NULL && d == &ls->dir[0]);
	d = model_dir_to(m, "l1", "swp1");
	T_OK(d != NULL && d == &ls->dir[1]);
	T_OK(d != NULL && d->bps > 0 && d->speed_bps == 1e10);
	T_OK(model_dir_from(m, "l1", "swp3") == NULL); /* an edge port */
	/* top-N: h3's one flow to h6 first (1000 pps), then h1's */
	T_OK(m->nflows > 1);
	T_STREQ(m->flows[0].src, "10.2.2.13");
	T_STREQ(m->flows[0].in_node, "l2");
	T_OK(m->flows[0].proto == 17 && m->flows[0].dport == 54 &&
	    m->flows[0].sport == 40000);
	T_STREQ(m->flows[1].src, "10.2.1.11");
	T_STREQ(m->flows[1].in_port, "swp3");
	T_OK(m->ntalkers > 0 && m->nstacks > 0);
	/* the trace: ECMP over both spines, shares of each stage add up */
	T_STREQ(m->trace_topic, "trace/2");
	T_EQ(m->nhops, 6);
	T_OK(m->trace_stages == 3);
	T_STREQ(m->ingress_host, "h1");
	T_STREQ(m->egress_host, "h5");
	T_OK(!m->dies);
	for (double st = 1; st <= 3; st++) {
		double sum = 0;
		int n = 0;

		for (size_t i = 0; i < m->nhops; i++)
			if (m->hops[i].stage == st) {
				sum += m->hops[i].share;
				n++;
			}
		T_EQ(n, 2);
		T_OK(fabs(sum - 1) < 1e-6);
	}
	T_EQ(m->nholes, 0);
	T_OK(m->nevents > 0);
	model_free(m);
}

static void
test_valley_frames(void)
{
	struct model *m = model_new();
	size_t valley = 0, loops = 0;

	T_EQ(apply_file(m, VALLEY), 11);
	/* the black holes of a missing route on l4 */
	T_EQ(m->nholes, 4);
	for (size_t i = 0; i < m->nholes; i++) {
		valley += strcmp(m->holes[i].type, "valley") == 0;
		loops += strcmp(m->holes[i].type, "ttl_loop") == 0;
		T_STREQ(m->holes[i].prefix, "10.2.4.0/24");
		T_OK(isnan(m->holes[i].end)); /* open */
		T_OK(m->holes[i].nev > 0);
	}
	T_OK(valley >= 1 && loops >= 1);
	T_EQ(model_holes_at(m, "l4"), 2);
	/* the trace bounces l4 <-> s1 until the TTL runs out */
	T_OK(m->trace_stages > 50);
	T_OK(m->nhops > 50);
	T_OK(*m->egress_node == '\0');
	model_free(m);
}

/*
 * The daemon's own golden frames (tests/golden/ws/, recorded by
 * tests/golden/ws/record.py), when they exist: one session made of them
 * (hello, the topics, a trace reply and its frame) gives every part of
 * the model, and every view draws it.
 */
static int
apply_ws(struct model *m, const char *name, enum mframe want)
{
	char path[256];
	size_t len;
	char *buf;
	enum mframe k;

	snprintf(path, sizeof(path), "tests/golden/ws/%s.json", name);
	if ((buf = slurp(path, &len)) == NULL)
		return 0;
	k = model_apply(m, buf, len, 1795337900000ULL);
	if (k != want)
		T_FAIL("%s: frame type %d, expected %d", path, k, want);
	free(buf);
	return 1;
}

static void
test_ws_golden(void)
{
	static const char *const topics[] = { "fabric", "links", "top",
		"blackholes", "events", "health", "ha", "linktop" };
	struct model *m = model_new();
	int n = 0;

	if (!apply_ws(m, "hello", MF_HELLO)) {
		printf("# no tests/golden/ws frames yet\n");
		model_free(m);
		return;
	}
	n++;
	for (size_t i = 0; i < sizeof(topics) / sizeof(topics[0]); i++)
		n += apply_ws(m, topics[i], MF_EVENT);
	n += apply_ws(m, "reply", MF_REPLY);
	n += apply_ws(m, "trace", MF_EVENT);
	n += apply_ws(m, "error", MF_ERROR);
	printf("# %d golden frames of tests/golden/ws applied\n", n);
	T_EQ(m->bad, 0);
	T_OK(m->push_ms > 0);
	T_EQ(m->nnodes, 6);
	T_EQ(m->nlinks, 8);
	T_EQ(m->nlstates, 8);
	T_OK(model_dir_from(m, "l1", "swp1") != NULL);
	T_OK(m->nflows > 0 && m->ntalkers > 0 && m->nstacks > 0);
	T_OK(m->nport_util > 0);
	T_OK(m->nholes > 0);
	T_OK(m->nevents > 0);
	T_OK(*m->ha_role != '\0');
	T_OK(*m->health_status != '\0');
	T_OK(*m->trace_topic != '\0');
	T_OK(m->nhops > 0 && m->trace_stages > 0);
	T_OK(*m->ingress_node != '\0');
	T_OK(*m->error != '\0');
	for (int t = 0; t < MT_COUNT; t++)
		if (!m->topic[t].seen || m->topic[t].null)
			T_FAIL("topic %d: not seen, or null", t);
	model_free(m);
}

static void
test_bad_frames(void)
{
	struct model *m = model_new();
	static const char *const bad[] = {
		"",
		"garbage{",
		"[]",
		"null",
		"42",
		"\"text\"",
		"{}",
		"{\"v\":2,\"t\":\"event\",\"topic\":\"fabric\",\"data\":{}}",
		"{\"v\":\"1\",\"t\":\"event\",\"topic\":\"fabric\"}",
		"{\"v\":1,\"t\":7}",
		"{\"v\":1,\"t\":\"event\"}",
		"{\"v\":1,\"t\":\"event\",\"topic\":5,\"data\":{}}",
		"{\"v\":1,\"t\":\"event\",\"topic\":\"fabric\",\"data\":{}} x",
	};
	uint64_t gen;

	T_EQ(apply_file(m, LAB), 11);
	gen = m->gen;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		T_EQ(apply(m, bad[i]), MF_BAD);
	T_EQ(m->bad, sizeof(bad) / sizeof(bad[0]));
	T_EQ(m->gen, gen);
	T_EQ(m->nnodes, 6); /* untouched */
	/* a message type we don't know, a topic we don't show: ignored */
	T_EQ(apply(m, "{\"v\":1,\"t\":\"news\",\"data\":1}"), MF_OTHER);
	T_EQ(apply(m,
	         "{\"v\":1,\"t\":\"event\",\"topic\":\"linktop/x\","
	         "\"data\":{}}"),
	    MF_EVENT);
	T_EQ(apply(m,
	         "{\"v\":1,\"t\":\"event\",\"topic\":\"trace/99\","
	         "\"data\":{\"hops\":[]}}"),
	    MF_EVENT);
	T_EQ(m->nhops, 6); /* not our trace */
	T_EQ(m->gen, gen);
	model_free(m);
}

/* Fields of the wrong type read as unknown; names are made printable
 * and cut; lists are bounded. */
static void
test_hostile_fields(void)
{
	struct model *m = model_new();
	char *big = malloc(200000), *frame = malloc(260000);
	const struct m_node *n;

	memset(big, 'A', 199999);
	big[199999] = '\0';
	snprintf(frame, 260000,
	    "{\"v\":1,\"t\":\"event\",\"topic\":\"fabric\",\"seq\":1,"
	    "\"data\":{\"version\":\"four\",\"nodes\":["
	    "{\"name\":\"s\\u0001p\\u001b[31mine\\u007f\\u0085\","
	    "\"role\":7,\"reachable\":\"yes\",\"ports\":\"many\"},"
	    "{\"name\":\"%s\",\"ports\":[null,1,{\"name\":{\"x\":1},"
	    "\"speedMbps\":\"fast\",\"ifindex\":1e308,\"edge\":1}]},"
	    "{\"name\":12345},{\"name\":\"\"},{\"role\":\"spine\"},3,null],"
	    "\"links\":{\"a\":1}}}",
	    big);
	T_EQ(apply(m, frame), MF_EVENT);
	T_EQ(m->nnodes, 3); /* nameless ones are skipped */
	T_OK(isnan(m->topo_version));
	T_EQ(m->nlinks, 0);
	n = model_node(m, "12345"); /* a number reads as its text */
	T_OK(n != NULL);
	for (size_t i = 0; i < m->nnodes; i++) {
		const char *s = m->nodes[i].name;

		T_OK(strlen(s) <= MODEL_NAME_MAX);
		for (const char *p = s; *p; p++)
			T_OK((unsigned char)*p >= 0x20 && *p != 0x7f);
		if (s[0] == 'A') {
			T_EQ(strlen(s), MODEL_NAME_MAX);
			T_STREQ(s + MODEL_NAME_MAX - 3, "...");
			T_EQ(m->nodes[i].nports, 1); /* null and 1 skipped */
			T_STREQ(m->nodes[i].ports[0].name, "");
			T_OK(isnan(m->nodes[i].ports[0].speed_mbps));
			T_OK(m->nodes[i].ports[0].ifindex == 1e308);
			T_EQ(m->nodes[i].ports[0].edge, 0);
		}
		if (s[0] == 's') {
			T_STREQ(s, "s?p?[31mine??");
			T_STREQ(m->nodes[i].role, "7");
			T_EQ(m->nodes[i].reachable, -1);
			T_EQ(m->nodes[i].nports, 0);
		}
	}
	free(big);
	free(frame);
	model_free(m);
}

static void
test_bounds(void)
{
	struct model *m = model_new();
	size_t cap = 64 + (MODEL_LIST_MAX + 50) * 16;
	char *f = malloc(cap);
	size_t o = 0;

	o += (size_t)snprintf(f + o, cap - o,
	    "{\"v\":1,\"t\":\"event\",\"topic\":\"top\",\"data\":{\"flows\":[");
	for (int i = 0; i < MODEL_LIST_MAX + 50; i++)
		o += (size_t)snprintf(
		    f + o, cap - o, "%s{\"bps\":%d}", i ? "," : "", i);
	snprintf(f + o, cap - o, "]}}");
	T_EQ(apply(m, f), MF_EVENT);
	T_EQ(m->nflows, MODEL_LIST_MAX);
	T_EQ(m->cut, 50);
	T_STREQ(m->flows[0].src, "");
	T_OK(isnan(m->flows[0].proto));
	free(f);
	model_free(m);
}

static void
test_clean(void)
{
	char b[8];

	T_STREQ(model_clean(b, sizeof(b), "abc"), "abc");
	T_STREQ(model_clean(b, sizeof(b), "a\tb\nc"), "a?b?c");
	T_STREQ(model_clean(b, sizeof(b), "abcdefgh"), "abcd...");
	T_STREQ(model_clean(b, sizeof(b), "\xff\xfe"), "??");
	T_STREQ(model_clean(b, sizeof(b), "\xc3\xa9t\xc3\xa9"),
	    "\xc3\xa9t\xc3\xa9");
	/* a cut never splits a character */
	T_STREQ(model_clean(b, sizeof(b), "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"),
	    "\xc3\xa9\xc3\xa9...");
	T_STREQ(model_clean(b, 4, "abcdef"), "...");
	T_STREQ(model_clean(b, 1, "abc"), "");
	T_STREQ(model_clean(b, sizeof(b), NULL), "");
}

/* A frame that says the same thing again changes nothing. */
static void
test_generation(void)
{
	struct model *m = model_new();
	const char *a = "{\"v\":1,\"t\":\"event\",\"topic\":\"ha\",\"seq\":1,"
	                "\"ts\":5,\"data\":{\"role\":\"MASTER\"}}";
	const char *b = "{\"v\":1,\"t\":\"event\",\"topic\":\"ha\",\"seq\":2,"
	                "\"ts\":6,\"data\":{\"role\":\"MASTER\",\"x\":1}}";
	const char *c = "{\"v\":1,\"t\":\"event\",\"topic\":\"ha\",\"seq\":5,"
	                "\"ts\":7,\"data\":{\"role\":\"BACKUP\"}}";
	const char *d = "{\"v\":1,\"t\":\"event\",\"topic\":\"ha\",\"seq\":6,"
	                "\"ts\":8,\"data\":null}";
	uint64_t g;

	apply(m, a);
	g = m->gen;
	T_STREQ(m->ha_role, "MASTER");
	apply(m, b); /* an extra field, a new seq: nothing shown changed */
	T_EQ(m->gen, g);
	T_EQ(m->topic[MT_HA].rx_ms, 2000);
	apply(m, c);
	T_OK(m->gen > g);
	T_STREQ(m->ha_role, "BACKUP");
	T_EQ(m->topic[MT_HA].gaps, 2); /* seq 3 and 4 missed */
	g = m->gen;
	apply(m, d); /* not ready: known as such, the state is gone */
	T_OK(m->gen > g);
	T_EQ(m->topic[MT_HA].null, 1);
	T_STREQ(m->ha_role, "");
	/* health counters that move every second are not "a change" */
	apply(m,
	    "{\"v\":1,\"t\":\"event\",\"topic\":\"health\",\"data\":"
	    "{\"status\":\"ok\",\"uptimeSeconds\":1}}");
	g = m->gen;
	apply(m,
	    "{\"v\":1,\"t\":\"event\",\"topic\":\"health\",\"data\":"
	    "{\"status\":\"ok\",\"uptimeSeconds\":2}}");
	T_EQ(m->gen, g);
	model_free(m);
}

static void
test_trace_follow(void)
{
	struct model *m = model_new();
	const char *reply = "{\"v\":1,\"t\":\"reply\",\"id\":3,\"ok\":true,"
	                    "\"data\":{\"trace\":{\"id\":7,\"filter\":"
	                    "\"ipsource=1.2.3.4\"},\"topic\":\"trace/7\"}}";
	const char *frame =
	    "{\"v\":1,\"t\":\"event\",\"topic\":\"trace/7\",\"data\":{"
	    "\"stages\":2,\"fps\":10,\"diesAt\":{\"node\":\"s1\",\"stage\":2,"
	    "\"reason\":\"acl\"},\"hops\":[{\"stage\":1,\"node\":\"l1\","
	    "\"outIfIndex\":2,\"share\":1},{\"stage\":2,\"node\":\"s1\","
	    "\"outIfIndex\":\"discard\",\"outPort\":null,"
	    "\"discard\":{\"reason\":\"acl\"}}]}}";

	T_EQ(apply(m, frame), MF_EVENT);
	T_EQ(m->nhops, 0); /* not asked for */
	T_EQ(apply(m, reply), MF_REPLY);
	T_STREQ(m->trace_topic, "trace/7");
	T_STREQ(m->trace_filter, "ipsource=1.2.3.4");
	T_STREQ(m->reply_filter, "ipsource=1.2.3.4");
	T_OK(m->reply_id == 3);
	T_EQ(apply(m, frame), MF_EVENT);
	T_EQ(m->nhops, 2);
	T_OK(m->dies);
	T_STREQ(m->dies_node, "s1");
	T_STREQ(m->dies_reason, "acl");
	T_STREQ(m->hops[0].out_if, "2"); /* a number as text */
	T_OK(m->hops[1].discarded);
	T_STREQ(m->hops[1].discard, "acl");
	T_STREQ(m->hops[1].out_if, "discard");
	T_STREQ(m->hops[1].out_port, "");
	T_OK(isnan(m->hops[1].share));
	model_set_trace(m, -1, "");
	T_STREQ(m->trace_topic, "");
	T_EQ(m->nhops, 0);
	T_EQ(apply(m,
	         "{\"v\":1,\"t\":\"error\",\"id\":4,\"error\":"
	         "\"filter: bad\\nthing\"}"),
	    MF_ERROR);
	T_STREQ(m->error, "filter: bad?thing");
	T_OK(m->error_id == 4);
	model_free(m);
}

static void
test_ops(void)
{
	const char *topics[] = { "links", "top" };
	char *s = model_op_subscribe(7, topics, 2);
	json_t *j = json_loads(s, 0, NULL);

	T_STREQ(json_string_value(json_object_get(j, "op")), "subscribe");
	T_EQ(json_integer_value(json_object_get(j, "id")), 7);
	T_EQ(json_array_size(json_object_get(j, "topics")), 2);
	json_decref(j);
	free(s);
	/* a filter with quotes and backslashes survives as it is */
	s = model_op_trace(8, "a=\"b\"\\c&d~x", "tok");
	j = json_loads(s, 0, NULL);
	T_STREQ(
	    json_string_value(json_object_get(j, "filter")), "a=\"b\"\\c&d~x");
	T_STREQ(json_string_value(json_object_get(j, "token")), "tok");
	json_decref(j);
	free(s);
	s = model_op_join(9, 3, NULL);
	j = json_loads(s, 0, NULL);
	T_EQ(json_integer_value(json_object_get(j, "trace")), 3);
	T_OK(json_object_get(j, "token") == NULL);
	json_decref(j);
	free(s);
	s = model_op_untrace(10, 3);
	j = json_loads(s, 0, NULL);
	T_STREQ(json_string_value(json_object_get(j, "op")), "untrace");
	json_decref(j);
	free(s);
}

/* The topic of a frame, read from its first bytes when it can be. */
static void
test_frame_topic(void)
{
	static const struct {
		const char *frame, *topic;
	} cases[] = {
		{ "{\"v\":1,\"t\":\"event\",\"topic\":\"links\",\"data\":{}}",
		    "links" },
		{ "{ \"topic\" : \"trace/3\" }", "trace/3" },
		/* after "data": jansson reads it */
		{ "{\"data\":{\"topic\":\"no\"},\"topic\":\"top\"}", "top" },
		/* a nested "topic" is not the frame's */
		{ "{\"v\":1,\"t\":\"reply\",\"data\":{\"topic\":\"trace/1\"}}",
		    "" },
		{ "{\"a\":[\"topic\",\"x\"],\"topic\":\"ha\"}", "ha" },
		{ "{\"a\":\"topic\",\"topic\":\"ha\"}", "ha" },
		/* escapes: jansson reads them */
		{ "{\"topic\":\"he\\u006clo\"}", "hello" },
		{ "{\"topic\":\"a\\u0001b\"}", "a?b" },
		{ "{\"topic\":5}", "" },
		{ "not json", "" },
		{ "", "" },
	};
	char buf[16];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		model_frame_topic(
		    cases[i].frame, strlen(cases[i].frame), buf, sizeof(buf));
		T_STREQ(buf, cases[i].topic);
	}
	/* longer than the buffer: cut, marked */
	{
		const char *f = "{\"topic\":\"abcdefghijklmnopqrstuvwxyz\"}";

		model_frame_topic(f, strlen(f), buf, sizeof(buf));
	}
	T_STREQ(buf, "abcdefghijkl...");
}

static void
test_hello(void)
{
	struct model *m = model_new();

	T_EQ(apply(m,
	         "{\"v\":1,\"t\":\"hello\",\"data\":{\"version\":"
	         "\"9.9\",\"pushMs\":250,\"ha\":{\"role\":\"BACKUP\","
	         "\"peer\":{\"address\":\"10.0.0.2\",\"role\":"
	         "\"MASTER\"}}}}"),
	    MF_HELLO);
	T_STREQ(m->version, "9.9");
	T_OK(m->push_ms == 250);
	T_STREQ(m->ha_role, "BACKUP");
	T_STREQ(m->ha_peer, "10.0.0.2");
	T_STREQ(m->ha_peer_role, "MASTER");
	model_free(m);
}

int
main(void)
{
	t_suite = "fabtop_model";
	T_RUN(test_lab_frames);
	T_RUN(test_valley_frames);
	T_RUN(test_ws_golden);
	T_RUN(test_bad_frames);
	T_RUN(test_hostile_fields);
	T_RUN(test_bounds);
	T_RUN(test_clean);
	T_RUN(test_generation);
	T_RUN(test_trace_follow);
	T_RUN(test_ops);
	T_RUN(test_frame_topic);
	T_RUN(test_hello);
	return t_done();
}
