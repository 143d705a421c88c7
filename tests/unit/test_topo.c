/*
 * test_topo.c: the topology thread (topology/topo.c) with SNMP off, fed
 * imports. It publishes a snapshot every 2 s, but builds a graph only when
 * the graph's input changed: the snapshots in between share the graph, its
 * version, the import and the events.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "graph.h"
#include "snap.h"
#include "t.h"
#include "topo.h"
#include "topo_json.h"
#include "util.h"

#define FABRIC_A                                                               \
	"{\"nodes\":{\"leaf1\":{\"agent\":\"10.99.0.21\",\"ports\":"           \
	"{\"swp1\":{\"ifindex\":\"2\"},\"swp2\":{\"ifindex\":\"3\"}}},"        \
	"\"spine1\":{\"agent\":\"10.99.0.11\",\"ports\":{\"swp1\":"            \
	"{\"ifindex\":\"2\"},\"swp2\":{\"ifindex\":\"3\"}}}},"                 \
	"\"links\":{\"l1-s1\":{\"node1\":\"leaf1\",\"port1\":\"swp1\","        \
	"\"node2\":\"spine1\",\"port2\":\"swp1\"}}}"
/* A second link. */
#define FABRIC_B                                                               \
	"{\"nodes\":{\"leaf1\":{\"agent\":\"10.99.0.21\",\"ports\":"           \
	"{\"swp1\":{\"ifindex\":\"2\"},\"swp2\":{\"ifindex\":\"3\"}}},"        \
	"\"spine1\":{\"agent\":\"10.99.0.11\",\"ports\":{\"swp1\":"            \
	"{\"ifindex\":\"2\"},\"swp2\":{\"ifindex\":\"3\"}}}},"                 \
	"\"links\":{\"l1-s1\":{\"node1\":\"leaf1\",\"port1\":\"swp1\","        \
	"\"node2\":\"spine1\",\"port2\":\"swp1\"},\"l1-s1b\":{\"node1\":"      \
	"\"leaf1\",\"port1\":\"swp2\",\"node2\":\"spine1\",\"port2\":"         \
	"\"swp2\"}}}"

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void
put(struct topo *t, const char *json)
{
	struct topo_import im;
	char err[256] = "", ign[256];

	T_EQ(topo_import_parse(
	         json, strlen(json), &im, err, sizeof(err), ign, sizeof(ign)),
	    0);
	T_STREQ(err, "");
	T_EQ(topo_put_import(t, &im), 0);
	topo_import_clear(&im);
}

/*
 * The first snapshot newer than `after` (NULL: any) for which ok() holds,
 * within timeout_ms; NULL if none came.
 */
static struct topo_snap *
wait_snap(struct snap_slot *slot, const struct topo_snap *after,
    bool (*ok)(const struct topo_snap *, const struct topo_snap *),
    long timeout_ms)
{
	for (long waited = 0; waited <= timeout_ms; waited += 10) {
		struct topo_snap *ts = (struct topo_snap *)snap_slot_get(slot);

		if (ts != NULL && ts != after && (ok == NULL || ok(ts, after)))
			return ts;
		if (ts != NULL)
			snap_put(&ts->base);
		sleep_ms(10);
	}
	return NULL;
}

static bool
has_links(const struct topo_snap *ts, const struct topo_snap *after)
{
	return ts->graph->n_links > 0 && ts->version != after->version;
}

static bool
any(const struct topo_snap *ts, const struct topo_snap *after)
{
	(void)ts;
	(void)after;
	return true;
}

static bool
newer_import(const struct topo_snap *ts, const struct topo_snap *after)
{
	return ts->import_ms != after->import_ms;
}

static bool
other_version(const struct topo_snap *ts, const struct topo_snap *after)
{
	return ts->version != after->version;
}

static void
test_shared_graph(void)
{
	struct conf c;
	struct snap_slot slot;
	struct topo *t;
	struct topo_snap *s0, *s1, *s2, *s3, *s4;
	char err[256];

	conf_defaults(&c);
	T_EQ(conf_set(&c, "snmp.enable", "0", err, sizeof(err)), 0);
	snap_slot_init(&slot);
	t = topo_new(&c, &slot, NULL, NULL, NULL);
	T_EQ(topo_start(t), 0);

	/* the empty graph at once */
	s0 = wait_snap(&slot, NULL, NULL, 2000);
	T_OK(s0 != NULL);
	if (s0 == NULL)
		goto out;
	T_EQ(s0->graph->n_nodes, 0);

	put(t, FABRIC_A);
	s1 = wait_snap(&slot, s0, has_links, 3000);
	T_OK(s1 != NULL);
	if (s1 == NULL)
		goto out0;
	T_EQ(s1->version, s0->version + 1);
	T_EQ(s1->graph->n_nodes, 2);
	T_EQ(s1->graph->n_links, 1);
	T_EQ(s1->import.n_nodes, 2);
	T_OK(s1->n_events > 0);

	/* the refresh 2 s later shares the graph, import and events */
	s2 = wait_snap(&slot, s1, any, 3000);
	T_OK(s2 != NULL);
	if (s2 == NULL)
		goto out1;
	T_OK(s2->built_ms >= s1->built_ms);
	T_OK(s2->graph == s1->graph);
	T_EQ(s2->version, s1->version);
	T_OK(s2->import.nodes == s1->import.nodes);
	T_OK(s2->events == s1->events);
	T_EQ(s2->n_events, s1->n_events);

	/* the same fabric PUT again: a new import time, the same graph */
	put(t, FABRIC_A);
	s3 = wait_snap(&slot, s2, newer_import, 3000);
	T_OK(s3 != NULL);
	if (s3 == NULL)
		goto out2;
	T_OK(s3->graph == s1->graph);
	T_EQ(s3->version, s1->version);

	/* another link: a new graph and version, and s1's is still whole */
	put(t, FABRIC_B);
	s4 = wait_snap(&slot, s3, other_version, 3000);
	T_OK(s4 != NULL);
	if (s4 != NULL) {
		T_OK(s4->graph != s1->graph);
		T_EQ(s4->version, s1->version + 1);
		T_EQ(s4->graph->n_links, 2);
		T_OK(topo_link_by_name(s4->graph, "l1-s1b") != NULL);
		T_OK(s4->events != s1->events);
		T_OK(s4->n_events > s1->n_events);
		T_STREQ(s4->events[s4->n_events - 1].type, "link_added");
		snap_put(&s4->base);
	}
	snap_put(&s3->base);
out2:
	snap_put(&s2->base);
	T_EQ(s1->graph->n_links, 1);
	T_OK(topo_link_by_name(s1->graph, "l1-s1") != NULL);
out1:
	snap_put(&s1->base);
out0:
	snap_put(&s0->base);
out:
	topo_stop(t);
	snap_slot_clear(&slot);
	conf_free(&c);
}

int
main(void)
{
	t_suite = "topo";
	T_RUN(test_shared_graph);
	return t_done();
}
