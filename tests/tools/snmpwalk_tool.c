/*
 * snmpwalk_tool: a command-line front end to the SNMP poller
 * (topology/snmp.c), for the integration tests and for operators.
 *
 *   snmpwalk_tool [-v 2c|3] [-c COMM] [-u USER] [-a PROTO] [-A PASS]
 *       [-x PROTO] [-X PASS] [-t MS] [-r N] [-R MAXREP] [-m MAXVBS]
 *       [-P PARALLEL] [-n COPIES] [-Z PASS] [-H] [-q] [-d]...
 *       TARGET[,TARGET...] SUBTREE...
 *
 * Every target (each one COPIES times) is walked concurrently by one
 * poller. For each walk, in the order they finish, it prints one
 * "OID = TYPE: value" line per varbind (unless -q), then
 *   status=ok target=T requests=N ms=M vbs=K end_ms=E [err="..."]
 * where ms is the walk's own duration and end_ms the time it finished,
 * from the start of the program. With several walks each block starts
 * with "# walk K target=T". -H prints every string as Hex-STRING.
 * -Z PASS runs a second round ("# round 2") of the same walks in the same
 * process with PASS as the SNMPv3 auth pass phrase: it checks that a pass
 * phrase change is followed (net-snmp's USM table is process-wide).
 * Exit status: 0 if every walk is WALK_OK, 1 otherwise, 2 on bad usage.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "snmp.h"
#include "util.h"
#include "walk.h"

struct ctx {
	int hex;
	int quiet;
	int multi;
	int not_ok;
	int finished;
	uint64_t t0;
};

struct one {
	struct ctx *ctx;
	int k;
};

static const char *
status_name(enum walk_status s)
{
	switch (s) {
	case WALK_OK:
		return "ok";
	case WALK_TIMEOUT:
		return "timeout";
	case WALK_AUTH:
		return "auth";
	case WALK_PARTIAL:
		return "partial";
	case WALK_ERROR:
		return "error";
	}
	return "?";
}

static void
print_oid(const uint32_t *o, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf(".%" PRIu32, o[i]);
}

static void
print_vb(const struct walk_vb *vb, int hex)
{
	int printable = 1;

	print_oid(vb->oid, vb->oid_len);
	printf(" = ");
	switch (vb->type) {
	case WALK_INT:
		printf("INTEGER: %" PRId64 "\n", vb->num);
		break;
	case WALK_UINT:
		printf("UINT: %" PRIu64 "\n", (uint64_t)vb->num);
		break;
	case WALK_U64:
		printf("Counter64: %" PRIu64 "\n", (uint64_t)vb->num);
		break;
	case WALK_STR:
		for (uint32_t i = 0; i < vb->str_len; i++)
			if (!isprint(vb->str[i]) || vb->str[i] == '"' ||
			    vb->str[i] == '\\')
				printable = 0;
		if (printable && !hex) {
			printf("STRING: \"%.*s\"\n", (int)vb->str_len,
			    (const char *)vb->str);
			break;
		}
		printf("Hex-STRING:");
		for (uint32_t i = 0; i < vb->str_len; i++)
			printf(" %02X", vb->str[i]);
		printf("\n");
		break;
	case WALK_OID:
		printf("OID: ");
		print_oid(vb->oid_val, vb->oid_val_len);
		printf("\n");
		break;
	case WALK_IPADDR:
		printf("IpAddress: %u.%u.%u.%u\n", vb->str[0], vb->str[1],
		    vb->str[2], vb->str[3]);
		break;
	default:
		printf("NULL\n");
		break;
	}
}

static void
done(void *arg, struct walk *w)
{
	struct one *o = arg;
	struct ctx *c = o->ctx;

	if (c->multi)
		printf("# walk %d target=%s\n", o->k, w->target);
	if (!c->quiet)
		for (size_t i = 0; i < w->n; i++)
			print_vb(&w->vbs[i], c->hex);
	printf("status=%s target=%s requests=%" PRIu32 " ms=%" PRIu64
	       " vbs=%zu end_ms=%" PRIu64,
	    status_name(w->status), w->target, w->requests,
	    w->finished_ms - w->started_ms, w->n, w->finished_ms - c->t0);
	if (w->err[0] != '\0')
		printf(" err=\"%s\"", w->err);
	printf("\n");
	fflush(stdout);
	if (w->status != WALK_OK)
		c->not_ok = 1;
	c->finished++;
	walk_free(w);
	free(o);
}

static int
queue(struct snmp_poller *p, struct ctx *c, const char *t,
    const struct snmp_creds *cr, char **subtrees, size_t n, size_t max_vbs,
    int k)
{
	struct one *o = xcalloc(1, sizeof(*o));

	o->ctx = c;
	o->k = k;
	if (snmp_poller_walk(p, t, cr, (const char *const *)subtrees, n,
	        max_vbs, done, o) != 0) {
		fprintf(
		    stderr, "snmpwalk_tool: bad target '%s' or subtree\n", t);
		free(o);
		return -1;
	}
	return 0;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: snmpwalk_tool [-v 2c|3] [-c COMM] [-u USER] [-a PROTO] "
	    "[-A PASS] [-x PROTO] [-X PASS]\n"
	    "       [-t MS] [-r N] [-R MAXREP] [-m MAXVBS] [-P PARALLEL] "
	    "[-n COPIES] [-Z PASS] [-H] [-q] [-d]\n"
	    "       TARGET[,TARGET...] SUBTREE...\n");
	exit(2);
}

static int
num(const char *s, int lo, int hi)
{
	char *e;
	long v = strtol(s, &e, 10);

	if (*s == '\0' || *e != '\0' || v < lo || v > hi)
		usage();
	return (int)v;
}

int
main(int argc, char **argv)
{
	struct snmp_creds cr;
	struct snmp_poller *p;
	struct ctx c = { 0 };
	char err[160], *targets, *t, *save = NULL;
	const char *round2 = NULL;
	int ch, verbose = 0, parallel = 64, copies = 1, k = 0;
	size_t max_vbs = 0, ntargets = 0;

	snmp_creds_init(&cr);
	while ((ch = getopt(argc, argv, "v:c:u:a:A:x:X:t:r:R:m:P:n:Z:Hqd")) !=
	    -1) {
		switch (ch) {
		case 'v':
			if (strcmp(optarg, "2c") == 0 ||
			    strcmp(optarg, "2") == 0)
				cr.version = 2;
			else if (strcmp(optarg, "3") == 0)
				cr.version = 3;
			else
				usage();
			break;
		case 'c':
			snprintf(
			    cr.community, sizeof(cr.community), "%s", optarg);
			break;
		case 'u':
			snprintf(cr.user, sizeof(cr.user), "%s", optarg);
			break;
		case 'a':
			snprintf(
			    cr.auth_proto, sizeof(cr.auth_proto), "%s", optarg);
			break;
		case 'A':
			snprintf(
			    cr.auth_pass, sizeof(cr.auth_pass), "%s", optarg);
			break;
		case 'x':
			snprintf(
			    cr.priv_proto, sizeof(cr.priv_proto), "%s", optarg);
			break;
		case 'X':
			snprintf(
			    cr.priv_pass, sizeof(cr.priv_pass), "%s", optarg);
			break;
		case 't':
			cr.timeout_ms = num(optarg, 1, 600000);
			break;
		case 'r':
			cr.retries = num(optarg, 0, 20);
			break;
		case 'R':
			cr.max_repetitions = num(optarg, 1, 1000);
			break;
		case 'm':
			max_vbs = (size_t)num(optarg, 1, 10000000);
			break;
		case 'P':
			parallel = num(optarg, 1, 10000);
			break;
		case 'n':
			copies = num(optarg, 1, 100000);
			break;
		case 'Z':
			round2 = optarg;
			break;
		case 'H':
			c.hex = 1;
			break;
		case 'q':
			c.quiet = 1;
			break;
		case 'd':
			verbose++;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 2)
		usage();
	if (snmp_creds_check(&cr, err, sizeof(err)) != 0) {
		fprintf(stderr, "snmpwalk_tool: %s\n", err);
		return 2;
	}
	snmp_global_init(verbose);
	c.t0 = now_mono_ms();
	p = snmp_poller_new(parallel);
	targets = xstrdup(argv[0]);
	for (t = strtok_r(targets, ",", &save); t != NULL;
	     t = strtok_r(NULL, ",", &save))
		ntargets++;
	c.multi = ntargets * (size_t)copies > 1;
	free(targets);
	for (int round = 1; round <= (round2 != NULL ? 2 : 1); round++) {
		if (round == 2) {
			printf("# round 2\n");
			snprintf(
			    cr.auth_pass, sizeof(cr.auth_pass), "%s", round2);
			if (snmp_creds_check(&cr, err, sizeof(err)) != 0) {
				fprintf(stderr, "snmpwalk_tool: -Z: %s\n", err);
				return 2;
			}
		}
		targets = xstrdup(argv[0]);
		for (t = strtok_r(targets, ",", &save); t != NULL;
		     t = strtok_r(NULL, ",", &save)) {
			for (int i = 0; i < copies; i++) {
				if (queue(p, &c, t, &cr, argv + 1,
				        (size_t)argc - 1, max_vbs, k++) != 0) {
					snmp_poller_free(p);
					free(targets);
					snmp_global_shutdown();
					return 2;
				}
			}
		}
		free(targets);
		while (snmp_poller_run(p, 1000) > 0)
			;
	}
	snmp_poller_free(p);
	snmp_global_shutdown();
	return c.not_ok ? 1 : 0;
}
