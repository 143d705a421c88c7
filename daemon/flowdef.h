/*
 * flowdef.h: sFlow-RT flow definitions (PUT /flow/{name}/json) as plain
 * data: parsing, checking and rendering. PURE: no I/O.
 *
 *	{"keys":"ipsource,ipdestination","value":"bytes",
 *	 "filter":"udpdestinationport=53","t":2,"n":5,
 *	 "log":true,"flowStart":true,"activeTimeout":60}
 *
 * The keys and the filter are checked for syntax by the engine's
 * parsers (flowrec.h, filter.h) before a definition is accepted; here
 * they are only strings with bounded lengths.
 */
#ifndef FABMON_FLOWDEF_H
#define FABMON_FLOWDEF_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define FLOWDEF_NAME_MAX   64 /* bytes, without the NUL */
#define FLOWDEF_KEYS_MAX   1024
#define FLOWDEF_FILTER_MAX 4096
#define FLOWDEF_MAX        256 /* definitions per daemon */

enum flowdef_value {
	FLOWDEF_BYTES = 0,
	FLOWDEF_FRAMES,
};

struct flowdef {
	char name[FLOWDEF_NAME_MAX + 1];
	char keys[FLOWDEF_KEYS_MAX + 1];
	enum flowdef_value value;
	char filter[FLOWDEF_FILTER_MAX + 1]; /* "" none */
	double t;           /* smoothing, seconds: (0, 3600], default 2 */
	int n;              /* top-N per data source: 1..1000, default 5 */
	bool log;           /* feed /flows/json */
	bool flow_start;    /* log a flow when it starts, not at its end */
	int active_timeout; /* seconds a logged flow stays open: 1..3600 */
};

/* True if name is 1..64 of [A-Za-z0-9_.-] (it becomes a URL path part). */
bool flowdef_name_ok(const char *name);

/*
 * Parse a definition body for `name`. Returns 0, or -1 with the reason
 * in err (bad JSON with its position, an unknown key naming it, a wrong
 * type or range naming the field, a missing "keys").
 */
int flowdef_parse(const char *name, const char *json, size_t len,
    struct flowdef *out, char *err, size_t errlen);

/* The definition as sFlow-RT shows it (GET /flow/{name}/json). */
json_t *flowdef_json(const struct flowdef *);

#endif
