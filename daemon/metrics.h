/*
 * metrics.h: sFlow-RT's interface counter metrics over ifcounters.h's
 * rates: metric names and specs, agent selectors, and three renderings:
 * /metric/{agent}/{metric}/json, /table/{agent}/{metrics}/json, and the
 * Prometheus text format. PURE: no I/O, no logging.
 *
 * Everything here works on plain data the caller passes in (a copy of the
 * rates, from ifc_rates_all()), so any thread may call any function, as
 * long as nobody changes that data meanwhile. The renderers take a NULL
 * agent selector as ALL; the spec is required.
 *
 * Metric values. Rates are per second (octets: bytes/s); utilisations are
 * percent of ifspeed. Like sFlow-RT, some metrics are strings in JSON:
 *	ifname          the port name (from the names callback)
 *	iftype          "ethernetCsmacd", "ieee8023adLag"..., else the number
 *	ifdirection     "unknown", "full-duplex", "half-duplex", "in", "out"
 *	ifadminstatus   "up", "down" (other IF-MIB values by their names)
 *	ifoperstatus    the same
 * In Prometheus they are numbers (the IANAifType, the direction code, 1 up
 * / 0 otherwise), except ifname, which is only a label. ifpromiscuousmode
 * is 1 or 0 in both. fabmon adds ifinpkts and ifoutpkts (ucast + mcast +
 * bcast, present when all three are), ifdiscards and iferrors (in + out,
 * present when both are).
 */
#ifndef FABMON_METRICS_H
#define FABMON_METRICS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ifcounters.h"
#include "sflow.h"

#define METRICS_ITEMS_MAX  64 /* items in a metric spec */
#define METRICS_AGENTS_MAX 64 /* items in an agent selector */
#define METRICS_NAME_MAX   64 /* bytes in an item, without the NUL */

enum metrics_id {
	METRIC_IFINDEX,
	METRIC_IFNAME,
	METRIC_IFTYPE,
	METRIC_IFSPEED,
	METRIC_IFDIRECTION,
	METRIC_IFADMINSTATUS,
	METRIC_IFOPERSTATUS,
	METRIC_IFPROMISCUOUSMODE,
	METRIC_IFINOCTETS,
	METRIC_IFINUCASTPKTS,
	METRIC_IFINMULTICASTPKTS,
	METRIC_IFINBROADCASTPKTS,
	METRIC_IFINDISCARDS,
	METRIC_IFINERRORS,
	METRIC_IFINUNKNOWNPROTOS,
	METRIC_IFOUTOCTETS,
	METRIC_IFOUTUCASTPKTS,
	METRIC_IFOUTMULTICASTPKTS,
	METRIC_IFOUTBROADCASTPKTS,
	METRIC_IFOUTDISCARDS,
	METRIC_IFOUTERRORS,
	METRIC_IFINUTILIZATION,
	METRIC_IFOUTUTILIZATION,
	METRIC_IFINPKTS,
	METRIC_IFOUTPKTS,
	METRIC_IFDISCARDS,
	METRIC_IFERRORS,
	METRICS_N
};

/*
 * Aggregations across data sources. var is the population variance (0
 * for one value); med, q1 and q3 interpolate linearly between the sorted
 * values (R's type 7); iqr is q3 - q1. String metrics take max and min
 * only, comparing the strings bytewise.
 */
enum metrics_agg {
	METRICS_AGG_MAX,
	METRICS_AGG_MIN,
	METRICS_AGG_SUM,
	METRICS_AGG_AVG,
	METRICS_AGG_VAR,
	METRICS_AGG_SDEV,
	METRICS_AGG_MED,
	METRICS_AGG_Q1,
	METRICS_AGG_Q3,
	METRICS_AGG_IQR,
	METRICS_AGG_N
};

struct metrics_item {
	enum metrics_agg agg;
	enum metrics_id id;
};

struct metrics_spec {
	bool all; /* "ALL": item[] holds every metric, in enum order, max */
	size_t n;
	struct metrics_item item[METRICS_ITEMS_MAX];
};

struct metrics_agent {
	bool is_addr;
	struct sflow_addr addr; /* is_addr; IPv4-mapped IPv6 taken as IPv4 */
	char name[METRICS_NAME_MAX + 1]; /* else a node name */
};

struct metrics_agents {
	bool all; /* "ALL" */
	size_t n;
	struct metrics_agent item[METRICS_AGENTS_MAX];
};

/*
 * The topology's node name and port name of (agent, ifindex); the
 * callback sets either to NULL if unknown (both are NULL on entry). The
 * strings stay the callback's and must stay valid until the renderer
 * that called it returns. They need not be valid UTF-8: renderers clean.
 */
typedef void (*metrics_names_fn)(void *arg, const struct sflow_addr *agent,
    uint32_t ifindex, const char **node, const char **ifname);

struct metrics_src {
	const struct ifc_rates *rates; /* any order; unique (agent, ifindex) */
	size_t n;
	metrics_names_fn names; /* NULL: no names */
	void *arg;
	uint64_t now_wall_ms; /* lastUpdate = now_wall_ms - updated_ms */
};

/* The id of a metric name ("ifinutilization"), or -1. */
int metrics_id_lookup(const char *name);
/*
 * One interface's value of a numeric metric (as Prometheus shows it:
 * status 1 up / 0 otherwise); false if it has none (ifname never). For
 * thresholds on counter metrics.
 */
bool metrics_number(const struct ifc_rates *, enum metrics_id, double *out);

/* "ifinoctets"..., and "max"...; NULL if out of range. */
const char *metrics_name(enum metrics_id);
const char *metrics_agg_name(enum metrics_agg);

/*
 * Parse an agent selector: "ALL", or 1..64 items joined by ';', each an
 * IPv4 or IPv6 address or a node name (1..64 of [A-Za-z0-9_.-]).
 * Returns 0, or -1 with the reason, naming the item, in err.
 */
int metrics_agents_parse(
    const char *s, struct metrics_agents *, char *err, size_t errlen);

/* Does the selector take agent (whose node name is node, maybe NULL)? */
bool metrics_agents_match(const struct metrics_agents *,
    const struct sflow_addr *agent, const char *node);

/*
 * Parse a metric spec: "ALL", or 1..64 items joined by ',', each
 * [agg:]name with agg one of max min sum avg var sdev med q1 q3 iqr
 * (default max). Returns 0, or -1 with the reason in err, naming the
 * item and its position (1-based).
 */
int metrics_spec_parse(
    const char *s, struct metrics_spec *, char *err, size_t errlen);

/*
 * The spec as text that parses back to the same spec ("ALL", or items
 * with their agg written out). Like snprintf: returns the length it
 * needs, writes at most len bytes, NUL-terminated if len > 0.
 */
size_t metrics_spec_format(const struct metrics_spec *, char *buf, size_t len);

/*
 * /metric/{agent}/{metric}/json: an array, one object per spec item.
 * max/min: {"agent","dataSource","metricN","metricName","metricValue",
 * "lastUpdate","lastUpdateMax","lastUpdateMin"}, agent and dataSource
 * (the ifIndex as a string) those of the winner; on equal values the
 * first in (agent, ifIndex) order wins. Other aggregations: the same
 * without agent and dataSource, lastUpdate being the oldest contributor's
 * age. metricN counts the data sources that have the metric; with none,
 * {"metricName","metricN":0}. Ages are in ms. The caller owns the result.
 */
json_t *metrics_metric_json(const struct metrics_src *,
    const struct metrics_agents *, const struct metrics_spec *);

/*
 * /table/{agent}/{metrics}/json: an array of rows, one per data source
 * that has every metric of the spec (with ALL: that has any, each row
 * holding the ones it has), sorted by (agent, ifIndex); a row is an array
 * of {"agent","dataSource","metricName","metricValue","lastUpdate"} in
 * spec order. Aggregations are ignored. The caller owns the result.
 */
json_t *metrics_table_json(const struct metrics_src *,
    const struct metrics_agents *, const struct metrics_spec *);

/*
 * Prometheus text exposition format 0.0.4, as a malloc'ed string the
 * caller frees ("" if nothing). One gauge per numeric metric of the spec
 * (duplicates once, ifname never; aggregations ignored), named
 * sflow_<metric>, its HELP and TYPE lines before its samples, which are
 * contiguous and sorted by (agent, ifIndex). Labels: agent, datasource,
 * ifname, node; ifname and node are left out when unknown. Values use
 * the shortest of %.15g and %.17g that reads back exactly; non-finite
 * values are skipped.
 */
char *metrics_prometheus(const struct metrics_src *,
    const struct metrics_agents *, const struct metrics_spec *);

#endif
