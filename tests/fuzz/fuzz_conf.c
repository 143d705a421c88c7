/*
 * fuzz_conf.c: libFuzzer target for the configuration parser. The input
 * is an INI text; its first line is also tried as an ADDR:PORT.
 *
 * conf_parse_string() stops at a NUL as C text does, so the input is
 * copied into a NUL-terminated buffer of its exact size plus one. Leaks
 * matter here (LeakSanitizer runs at the end of each libFuzzer run): the
 * daemon parses once, but conf_free must free whatever a failed parse
 * left behind.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint64_t sink;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *devnull;
	struct conf c;
	struct sockaddr_storage ss;
	socklen_t sl;
	char err[256], *text, *nl, *db;
	int rc;

	if (devnull == NULL && (devnull = fopen("/dev/null", "w")) == NULL)
		abort();
	if ((text = malloc(size + 1)) == NULL)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';

	err[0] = '\0';
	conf_defaults(&c);
	rc = conf_parse_string(&c, text, err, sizeof(err));
	/* A failure always says why; the result stays within its bounds. */
	if (rc != 0 && (rc != -1 || err[0] == '\0'))
		abort();
	if (c.n_sflow_listen < 0 || c.n_sflow_listen > CONF_MAX_LISTEN ||
	    c.n_snmp_seeds < 0 || c.n_snmp_seeds > CONF_MAX_SEEDS)
		abort();
	if (memchr(err, '\0', sizeof(err)) == NULL)
		abort();
	conf_print(&c, devnull);
	db = conf_db_path(&c);
	sink += strlen(db);
	free(db);
	conf_free(&c);

	/* The first line as a listen address, with both default ports. */
	if ((nl = strchr(text, '\n')) != NULL)
		*nl = '\0';
	if (addrport_parse(text, 6343, &ss, &sl) == 0) {
		if ((ss.ss_family != AF_INET && ss.ss_family != AF_INET6) ||
		    sl > sizeof(ss))
			abort();
		sink += sl;
	}
	sink += (uint64_t)addrport_parse(text, 0, &ss, &sl);
	free(text);
	return 0;
}
