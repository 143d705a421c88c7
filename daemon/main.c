/*
 * main.c: fabmond's entry point. It parses the configuration, then either
 * checks it (-n), decodes a capture (--decode), or runs the daemon: the
 * ingest thread plus the libwebsockets service loop on this thread.
 */
#include <malloc.h>
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <libwebsockets.h>
#include <signal.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "conf.h"
#include "decode.h"
#include "engine.h"
#include "forward.h"
#include "ha.h"
#include "hasync.h"
#include "history.h"
#include "topn.h"
#include "store.h"
#include "topo_json.h"
#include "thresholds.h"
#include "ingest.h"
#include "jsonlog.h"
#include "nfin.h"
#include "snmp.h"
#include "topo.h"
#include "log.h"
#include "logring.h"
#include "util.h"

/* malloc arenas (M_ARENA_MAX) */
#define FABMON_ARENAS 2
/* blocks from this size up are mapped apart (M_MMAP_THRESHOLD) */
#define FABMON_MMAP_THRESHOLD (1 << 20)

static volatile sig_atomic_t quit;

static void
on_signal(int sig)
{
	(void)sig;
	quit = 1;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: fabmond [-dnv] [-f FILE] [--sflow ADDR:PORT] "
	    "[--http ADDR:PORT]\n"
	    "               [--db PATH] [--state-dir DIR] "
	    "[--snmp-seed ADDR]... [--snmp-community C]\n"
	    "               [-o SECTION.KEY=VALUE]...\n"
	    "       fabmond --decode FILE.pcap [--sflow ADDR:PORT]\n"
	    "\n"
	    "  -d            stay in the foreground, log to stderr\n"
	    "  -f FILE       configuration file (INI)\n"
	    "  -n            check the configuration, print it normalised, "
	    "exit\n"
	    "  -o K=V        set any configuration key, e.g. "
	    "-o engine.push_ms=200\n"
	    "  -v            more logging (debug)\n"
	    "  --decode F    print each sFlow datagram of a pcap as JSON\n"
	    "  --version     print the version\n");
}

static void
wake_lws(void *arg)
{
	lws_cancel_service(arg);
}

/* Make the state directory (and parents) if it is missing. */
static int
make_dirs(const char *path)
{
	char buf[4096];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) == -1 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, 0755) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

/* Replay one stored definition through the API handler that took it. */
struct restore {
	struct api_ctx *api;
	enum store_def_kind kind;
	size_t ok, failed;
};

static void
restore_def(void *arg, const char *name, const char *json)
{
	struct restore *rs = arg;
	struct req q = { 0 };
	struct reply r = { 0 };

	q.method = LWSHUMETH_PUT;
	q.body = json;
	q.body_len = strlen(json);
	snprintf(q.args[0], sizeof(q.args[0]), "%s", name);
	q.n_args = 1;
	switch (rs->kind) {
	case STORE_FLOWDEF:
		api_flow_put(rs->api, &q, &r);
		break;
	case STORE_THRESHOLD:
		api_threshold_put(rs->api, &q, &r);
		break;
	case STORE_FORWARDING:
		api_forwarding_put(rs->api, &q, &r);
		break;
	case STORE_TOPO_IMPORT:
		api_topology_put(rs->api, &q, &r);
		break;
	case STORE_NF_TEMPLATE: /* restore_templates() */
		return;
	}
	if (r.status >= 200 && r.status < 300) {
		rs->ok++;
	} else {
		rs->failed++;
		log_warnx("store",
		    "stored definition %s no longer accepted: %s", name,
		    r.body ? r.body : "");
	}
	free((void *)r.body);
}

static void
restore_defs(struct api_ctx *api, struct store *st)
{
	static const struct {
		enum store_def_kind kind;
		const char *what;
	} kinds[] = {
		{ STORE_FLOWDEF, "flow definitions" },
		{ STORE_THRESHOLD, "thresholds" },
		{ STORE_FORWARDING, "forwarding targets" },
		{ STORE_TOPO_IMPORT, "topology import" },
	};

	api->restoring = true;
	for (size_t i = 0; i < nitems(kinds); i++) {
		struct restore rs = { api, kinds[i].kind, 0, 0 };

		if (store_load_defs(st, kinds[i].kind, restore_def, &rs) < 0)
			log_warnx("store", "cannot read the stored %s",
			    kinds[i].what);
		else if (rs.ok + rs.failed > 0)
			log_info("store", "restored %zu %s (%zu refused)",
			    rs.ok, kinds[i].what, rs.failed);
	}
	api->restoring = false;
}

struct restore_nf {
	struct nfin *nf;
	size_t ok, failed;
};

static void
restore_template(void *arg, const char *name, const char *json)
{
	struct restore_nf *rn = arg;

	if (nfin_restore(rn->nf, name, json) == 0)
		rn->ok++;
	else
		rn->failed++;
}

/*
 * NetFlow v9/IPFIX templates kept from the last run, so that data sent
 * right after a restart decodes without waiting for the exporter's next
 * template refresh (which may be minutes away).
 */
static void
restore_templates(struct nfin *nf, struct store *st)
{
	struct restore_nf rn = { nf, 0, 0 };

	if (nf == NULL || st == NULL)
		return;
	nfin_set_store(nf, st);
	if (store_load_defs(st, STORE_NF_TEMPLATE, restore_template, &rn) < 0)
		log_warnx("store", "cannot read the stored NetFlow templates");
	else if (rn.ok + rn.failed > 0)
		log_info("store",
		    "restored %zu NetFlow templates (%zu refused)", rn.ok,
		    rn.failed);
}

/*
 * The history thread's built-in flow definitions (history.h), created at
 * each start and never stored: an operator who deletes them loses the
 * top-flows history until the next start.
 */
static void
builtin_flows(struct api_ctx *api)
{
	static const char *const defs[][2] = {
		{ HISTORY_LINK_FLOW, TOPN_LINK_DEF },
		{ TOPN_FLOW, TOPN_FLOW_DEF },
	};

	api->restoring = true;
	/* The link state's estimates, collisions, /api/v1/top, the ws
	 * topics and the stored top flows read them. */
	for (size_t i = 0; i < nitems(defs); i++) {
		struct restore rs = { api, STORE_FLOWDEF, 0, 0 };

		restore_def(&rs, defs[i][0], defs[i][1]);
	}
	api->restoring = false;
}

/* The fabric as last discovered, for the topology thread to start from. */
static void
restore_topology(struct store *st, struct topo *topo)
{
	uint64_t version = 0;
	char *s = store_load_topology(st, &version), *sr = NULL;
	char err[256], ignored[256];
	struct topo_import im;
	json_t *o;

	if (s == NULL)
		return;
	o = json_loads(s, 0, NULL);
	if (o != NULL && json_object_get(o, "sflowrt") != NULL)
		sr = json_dumps(json_object_get(o, "sflowrt"), JSON_COMPACT);
	json_decref(o);
	free(s);
	if (sr == NULL)
		return;
	if (topo_import_parse(sr, strlen(sr), &im, err, sizeof(err), ignored,
	        sizeof(ignored)) != 0) {
		log_warnx("store", "stored topology unreadable: %s", err);
	} else {
		log_info("store",
		    "restored the fabric of topology version %llu: "
		    "%zu nodes, %zu links, until the switches are polled",
		    (unsigned long long)version, im.n_nodes, im.n_links);
		topo_set_restored(topo, &im);
	}
	free(sr);
}

int
main(int argc, char **argv)
{
	enum {
		O_SFLOW = 256,
		O_HTTP,
		O_DB,
		O_STATE,
		O_SEED,
		O_COMM,
		O_DECODE,
		O_VERSION
	};
	static const struct option longopts[] = {
		{ "sflow", required_argument, NULL, O_SFLOW },
		{ "http", required_argument, NULL, O_HTTP },
		{ "db", required_argument, NULL, O_DB },
		{ "state-dir", required_argument, NULL, O_STATE },
		{ "snmp-seed", required_argument, NULL, O_SEED },
		{ "snmp-community", required_argument, NULL, O_COMM },
		{ "decode", required_argument, NULL, O_DECODE },
		{ "version", no_argument, NULL, O_VERSION },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	/* Flags are applied after the file, so they win: keep them. */
	struct {
		const char *key;
		const char *value;
	} sets[256];
	int nsets = 0, foreground = 0, check = 0, verbose = 0, ch;
	int decode_port = 6343;
	const char *file = NULL, *decode = NULL;
	struct conf conf;
	char err[512];
	struct api_ctx api;
	struct snap_slot ingest_slot, topo_slot, engine_slot, snmp_ifc_slot;
	struct snap_slot links_slot, top_slot;
	struct logring *flowlog;
	struct forward *fwd;
	struct logring *eventlog;
	struct thresholds *th;
	struct engine *engine;
	struct jsonlog *jsonlog = NULL;
	atomic_int snmp_pace = 1; /* ha.c sets it, topo.c reads it */
	struct ingest *ing;
	struct topo *topo;
	struct lws_context *ctx;
	struct store *store = NULL;
	struct history *hist = NULL;
	char *db_path = NULL;

	while (
	    (ch = getopt_long(argc, argv, "df:hno:v", longopts, NULL)) != -1) {
		const char *key = NULL;

		switch (ch) {
		case 'd':
			foreground = 1;
			break;
		case 'f':
			file = optarg;
			break;
		case 'n':
			check = 1;
			break;
		case 'v':
			verbose++;
			break;
		case 'o': {
			char *eq = strchr(optarg, '=');

			if (eq == NULL) {
				fprintf(stderr,
				    "fabmond: -o wants "
				    "SECTION.KEY=VALUE, not '%s'\n",
				    optarg);
				return 1;
			}
			*eq = '\0';
			if (nsets < (int)nitems(sets)) {
				sets[nsets].key = optarg;
				sets[nsets++].value = eq + 1;
			}
			break;
		}
		case O_SFLOW:
			key = "sflow.listen";
			break;
		case O_HTTP:
			key = "http.listen";
			break;
		case O_DB:
			key = "store.db";
			break;
		case O_STATE:
			key = "store.state_dir";
			break;
		case O_SEED:
			key = "snmp.seed";
			break;
		case O_COMM:
			key = "snmp.community";
			break;
		case O_DECODE:
			decode = optarg;
			break;
		case O_VERSION:
			printf("fabmond %s\n", FABMON_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
		if (key != NULL && nsets < (int)nitems(sets)) {
			sets[nsets].key = key;
			sets[nsets++].value = optarg;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 1;
	}
	if (decode != NULL) {
		/* Decode what was sent to the --sflow port (default 6343). */
		for (int i = 0; i < nsets; i++) {
			struct sockaddr_storage ss;
			socklen_t sl;

			if (strcmp(sets[i].key, "sflow.listen") != 0)
				continue;
			if (addrport_parse(sets[i].value, 6343, &ss, &sl) !=
			    0) {
				fprintf(stderr,
				    "fabmond: --sflow '%s' is not "
				    "ADDR:PORT\n",
				    sets[i].value);
				return 1;
			}
			decode_port =
			    ntohs(((struct sockaddr_in *)&ss)->sin_port);
		}
		return decode_pcap_file(decode, decode_port, stdout);
	}

	conf_defaults(&conf);
	if (file != NULL && conf_parse_file(&conf, file, err, sizeof(err))) {
		fprintf(stderr, "fabmond: %s\n", err);
		return 1;
	}
	/* A list given by flags replaces the file's list. */
	for (int i = 0; i < nsets; i++) {
		bool first = true;

		for (int j = 0; j < i; j++)
			if (strcmp(sets[j].key, sets[i].key) == 0)
				first = false;
		if (first)
			conf_clear_list(&conf, sets[i].key);
	}
	for (int i = 0; i < nsets; i++) {
		if (conf_set(&conf, sets[i].key, sets[i].value, err,
		        sizeof(err)) != 0) {
			fprintf(stderr, "fabmond: flag: %s\n", err);
			return 1;
		}
	}
	if (topo_check_conf(&conf, err, sizeof(err)) != 0) {
		fprintf(stderr, "fabmond: %s\n", err);
		return 1;
	}
	if (check) {
		conf_print(&conf, stdout);
		conf_free(&conf);
		return 0;
	}

	log_init(1,
	    verbose                                    ? LOG_LVL_DEBUG
	        : strcmp(conf.log_level, "debug") == 0 ? LOG_LVL_DEBUG
	        : strcmp(conf.log_level, "warn") == 0  ? LOG_LVL_WARN
	                                               : LOG_LVL_INFO);
	if (make_dirs(conf.state_dir) != 0) {
		fprintf(stderr, "fabmond: state directory %s: %s\n",
		    conf.state_dir, strerror(errno));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	/*
	 * glibc gives each thread that allocates an arena of its own (up to
	 * 8 per core), each keeping the memory it freed: at 1,000 switches
	 * that was hundreds of MiB at rest (bench/README, scale). Nothing
	 * here allocates per datagram, so fewer arenas cost no contention.
	 * MALLOC_ARENA_MAX in the environment still decides.
	 */
	if (getenv("MALLOC_ARENA_MAX") == NULL)
		mallopt(M_ARENA_MAX, FABMON_ARENAS);
	/*
	 * The threads build blocks of megabytes and free them every push
	 * period: the engine's snapshots (54 MB a generation at 1,000
	 * switches and 1M flows), the interface rates, the links and
	 * topology documents, the queries' merges. glibc's default threshold
	 * rises to the size of the largest mapped block freed (up to 32 MiB),
	 * after which such blocks come from the arenas, and the holes they
	 * leave stay resident until malloc_trim(): up to 200 MiB above the
	 * live heap before each trim (scale.py). Mapped, a freed block goes
	 * back at once; the page faults cost no measurable ingest rate there.
	 * MALLOC_MMAP_THRESHOLD_ in the environment still decides.
	 */
	if (getenv("MALLOC_MMAP_THRESHOLD_") == NULL)
		mallopt(M_MMAP_THRESHOLD, FABMON_MMAP_THRESHOLD);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (conf.store_enable) {
		struct store_conf sc = { 0 };

		db_path = conf_db_path(&conf);
		sc.path = db_path;
		sc.minute_days = (unsigned)conf.store_minute_days;
		sc.hour_days = (unsigned)conf.store_hour_days;
		sc.top_days = (unsigned)conf.store_top_days;
		sc.event_days = (unsigned)conf.store_event_days;
		sc.batch_ms = (unsigned)conf.store_batch_ms;
		sc.queue_max = 100000;
		if ((store = store_open(&sc, err, sizeof(err))) == NULL) {
			fprintf(
			    stderr, "fabmond: store %s: %s\n", db_path, err);
			return 1;
		}
	}

	memset(&api, 0, sizeof(api));
	api.conf = &conf;
	api.ingest = &ingest_slot;
	api.started_ms = now_wall_ms();
	snap_slot_init(&ingest_slot);
	snap_slot_init(&topo_slot);
	snap_slot_init(&engine_slot);
	snap_slot_init(&snmp_ifc_slot);
	snap_slot_init(&links_slot);
	api.links = &links_slot;
	snap_slot_init(&top_slot);
	api.top = &top_slot;
	api.snmp_counters = &snmp_ifc_slot;
	api.topology = &topo_slot;
	api.store = store;
	api.db_path = db_path;
	/* net-snmp's globals: set up once, before any thread. */
	snmp_global_init(verbose >= 3 ? 1 : 0);

	ctx = api_start(&api, err, sizeof(err));
	if (ctx == NULL) {
		fprintf(stderr, "fabmond: %s\n", err);
		return 1;
	}
	engine = engine_new(&topo_slot);
	flowlog = logring_new(ENGINE_FLOWLOG_MAX, engine_flowlog_free);
	engine_set_flowlog(engine, flowlog);
	api.flowlog = flowlog;
	eventlog = logring_new(ENGINE_EVENTLOG_MAX, thresh_event_free);
	th = thresholds_new(eventlog);
	engine_set_thresholds(engine, th, &snmp_ifc_slot);
	engine_set_counters(engine, conf.sflow_counters != 0);
	engine_set_blackholes(engine, (uint64_t)conf.blackhole_quiet_s * 1000);
	api.eventlog = eventlog;
	api.thresholds = th;
	api.engine = engine;
	api.engine_snap = &engine_slot;
	if (conf.jsonlog_file || conf.jsonlog_udp || conf.jsonlog_unix) {
		struct jsonlog_conf jc = { .file = conf.jsonlog_file,
			.udp = conf.jsonlog_udp,
			.unix_path = conf.jsonlog_unix,
			.max_bytes = (uint64_t)conf.jsonlog_max_mb << 20,
			.keep = (unsigned)conf.jsonlog_keep,
			.queue_max = (size_t)conf.jsonlog_queue };

		if ((jsonlog = jsonlog_open(&jc, err, sizeof(err))) == NULL) {
			fprintf(stderr, "fabmond: flowlog: %s\n", err);
			return 1;
		}
		engine_set_jsonlog(engine, jsonlog);
	}
	ing = ingest_new(&conf, &ingest_slot, engine, &engine_slot, wake_lws,
	    ctx, err, sizeof(err));
	if (ing == NULL) {
		fprintf(stderr, "fabmond: %s\n", err);
		lws_context_destroy(ctx);
		return 1;
	}
	fwd = forward_new();
	api.forward = fwd;
	ingest_set_forward(ing, fwd);
	restore_templates(ingest_netflow(ing), store);
	api.nfin = ingest_netflow(ing);
	if (!foreground) {
		/* Sockets are bound: errors so far went to the terminal. */
		if (daemon(0, 0) == -1) {
			fprintf(
			    stderr, "fabmond: daemon: %s\n", strerror(errno));
			return 1;
		}
		log_init(0, verbose ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	}
	if (ingest_start(ing) != 0) {
		log_warnx("main", "cannot start the ingest thread");
		return 1;
	}
	topo = topo_new(&conf, &topo_slot, &ingest_slot, wake_lws, ctx);
	topo_set_counters(topo, &snmp_ifc_slot);
	topo_set_pace(topo, &snmp_pace);
	api.topo_import = topo_put_import;
	api.topo_arg = topo;
	api.hasync = hasync_start(&conf, err, sizeof(err));
	if (api.hasync == NULL && err[0] != '\0') {
		fprintf(stderr, "fabmond: %s\n", err);
		return 1;
	}
	if (store != NULL) {
		restore_defs(&api, store);
		restore_topology(store, topo);
	}
	builtin_flows(&api);
	if (topo_start(topo) != 0) {
		log_warnx("main", "cannot start the topology thread");
		return 1;
	}
	{
		/* Without a store it still publishes the link state. */
		struct history_in hi = { .store = store,
			.topo = &topo_slot,
			.engine = &engine_slot,
			.snmp = &snmp_ifc_slot,
			.thresh_events = eventlog,
			.started_ms = api.started_ms,
			.ingest = &ingest_slot,
			.links_out = &links_slot,
			.top_out = &top_slot,
			.elephant_pct = conf.elephant_pct,
			.busy_pct = conf.busy_pct };

		hist = history_start(&hi);
		api.history = hist;
	}
	{
		struct ha_in hin = { .conf = &conf,
			.ingest = &ingest_slot,
			.topo = &topo_slot,
			.store = store,
			.started_ms = api.started_ms,
			.forward = fwd,
			.forward_to = conf.ha_forward_to,
			.forward_netflow_to = conf.ha_forward_netflow_to,
			.snmp_pace = &snmp_pace };
		bool failed;

		api.ha = ha_start(&hin, &failed, err, sizeof(err));
		if (failed) {
			log_warnx("main", "%s", err);
			fprintf(stderr, "fabmond: %s\n", err);
			return 1;
		}
	}
	log_info("main", "fabmond %s: http on %s, state in %s", FABMON_VERSION,
	    conf.http_listen, conf.state_dir);
	while (!quit) {
		if (lws_service(ctx, 0) < 0)
			break;
	}
	log_info("main", "shutting down");
	ha_stop(api.ha);
	hasync_stop(api.hasync);
	history_stop(hist);
	ingest_stop(ing);
	topo_stop(topo);
	snap_slot_clear(&engine_slot);
	engine_free(engine);
	jsonlog_close(jsonlog);
	lws_context_destroy(ctx);
	logring_free(flowlog);
	thresholds_free(th);
	logring_free(eventlog);
	forward_free(fwd);
	snap_slot_clear(&topo_slot);
	snap_slot_clear(&ingest_slot);
	snap_slot_clear(&snmp_ifc_slot);
	snap_slot_clear(&links_slot);
	snap_slot_clear(&top_slot);
	snmp_global_shutdown();
	store_reader_close(api.reader);
	api_trace_free(&api);
	store_close(store);
	free(db_path);
	conf_free(&conf);
	return 0;
}
