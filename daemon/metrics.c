/*
 * metrics.c: sFlow-RT counter metrics: spec and agent-selector parsing,
 * /metric and /table JSON, Prometheus text. PURE: no I/O, no logging.
 * Called by the API threads on a copy of the rates (see metrics.h); it
 * keeps no state.
 *
 * Strings from the network (port names) reach JSON and Prometheus label
 * values through utf8 cleaning: jansson refuses invalid UTF-8, and so
 * does Prometheus. Numbers are printed with snprintf and read back with
 * strtod, both in the C locale, which fabmond never changes.
 */
#include <arpa/inet.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "util.h"

enum kind {
	K_NUM,  /* a number everywhere */
	K_STR,  /* a string in JSON, a number in Prometheus */
	K_NAME, /* a string in JSON, a label in Prometheus */
};

static const struct mdef {
	const char *name;
	enum kind kind;
	int field; /* enum ifc_field of a plain rate, else -1 */
	const char *help;
} defs[METRICS_N] = {
	[METRIC_IFINDEX] = { "ifindex", K_NUM, -1, "ifIndex" },
	[METRIC_IFNAME] = { "ifname", K_NAME, -1, "port name" },
	[METRIC_IFTYPE] = { "iftype", K_STR, -1, "ifType, an IANAifType" },
	[METRIC_IFSPEED] = { "ifspeed", K_NUM, -1, "ifSpeed, bits per second" },
	[METRIC_IFDIRECTION] = { "ifdirection", K_STR, -1,
	    "ifDirection: 0 unknown, 1 full-duplex, 2 half-duplex, 3 in, "
	    "4 out" },
	[METRIC_IFADMINSTATUS] = { "ifadminstatus", K_STR, -1,
	    "ifAdminStatus: 1 up, 0 otherwise" },
	[METRIC_IFOPERSTATUS] = { "ifoperstatus", K_STR, -1,
	    "ifOperStatus: 1 up, 0 otherwise" },
	[METRIC_IFPROMISCUOUSMODE] = { "ifpromiscuousmode", K_NUM, -1,
	    "ifPromiscuousMode: 1 true, 0 false" },
	[METRIC_IFINOCTETS] = { "ifinoctets", K_NUM, IFC_IN_OCTETS,
	    "ifInOctets, bytes per second" },
	[METRIC_IFINUCASTPKTS] = { "ifinucastpkts", K_NUM, IFC_IN_UCAST,
	    "ifInUcastPkts, packets per second" },
	[METRIC_IFINMULTICASTPKTS] = { "ifinmulticastpkts", K_NUM, IFC_IN_MCAST,
	    "ifInMulticastPkts, packets per second" },
	[METRIC_IFINBROADCASTPKTS] = { "ifinbroadcastpkts", K_NUM, IFC_IN_BCAST,
	    "ifInBroadcastPkts, packets per second" },
	[METRIC_IFINDISCARDS] = { "ifindiscards", K_NUM, IFC_IN_DISCARDS,
	    "ifInDiscards, packets per second" },
	[METRIC_IFINERRORS] = { "ifinerrors", K_NUM, IFC_IN_ERRORS,
	    "ifInErrors, packets per second" },
	[METRIC_IFINUNKNOWNPROTOS] = { "ifinunknownprotos", K_NUM,
	    IFC_IN_UNKNOWN, "ifInUnknownProtos, packets per second" },
	[METRIC_IFOUTOCTETS] = { "ifoutoctets", K_NUM, IFC_OUT_OCTETS,
	    "ifOutOctets, bytes per second" },
	[METRIC_IFOUTUCASTPKTS] = { "ifoutucastpkts", K_NUM, IFC_OUT_UCAST,
	    "ifOutUcastPkts, packets per second" },
	[METRIC_IFOUTMULTICASTPKTS] = { "ifoutmulticastpkts", K_NUM,
	    IFC_OUT_MCAST, "ifOutMulticastPkts, packets per second" },
	[METRIC_IFOUTBROADCASTPKTS] = { "ifoutbroadcastpkts", K_NUM,
	    IFC_OUT_BCAST, "ifOutBroadcastPkts, packets per second" },
	[METRIC_IFOUTDISCARDS] = { "ifoutdiscards", K_NUM, IFC_OUT_DISCARDS,
	    "ifOutDiscards, packets per second" },
	[METRIC_IFOUTERRORS] = { "ifouterrors", K_NUM, IFC_OUT_ERRORS,
	    "ifOutErrors, packets per second" },
	[METRIC_IFINUTILIZATION] = { "ifinutilization", K_NUM, -1,
	    "ifinoctets * 800 / ifspeed, percent" },
	[METRIC_IFOUTUTILIZATION] = { "ifoututilization", K_NUM, -1,
	    "ifoutoctets * 800 / ifspeed, percent" },
	[METRIC_IFINPKTS] = { "ifinpkts", K_NUM, -1,
	    "ifinucastpkts + ifinmulticastpkts + ifinbroadcastpkts" },
	[METRIC_IFOUTPKTS] = { "ifoutpkts", K_NUM, -1,
	    "ifoutucastpkts + ifoutmulticastpkts + ifoutbroadcastpkts" },
	[METRIC_IFDISCARDS] = { "ifdiscards", K_NUM, -1,
	    "ifindiscards + ifoutdiscards" },
	[METRIC_IFERRORS] = { "iferrors", K_NUM, -1,
	    "ifinerrors + ifouterrors" },
};

static const char *const agg_names[METRICS_AGG_N] = {
	[METRICS_AGG_MAX] = "max",
	[METRICS_AGG_MIN] = "min",
	[METRICS_AGG_SUM] = "sum",
	[METRICS_AGG_AVG] = "avg",
	[METRICS_AGG_VAR] = "var",
	[METRICS_AGG_SDEV] = "sdev",
	[METRICS_AGG_MED] = "med",
	[METRICS_AGG_Q1] = "q1",
	[METRICS_AGG_Q3] = "q3",
	[METRICS_AGG_IQR] = "iqr",
};

const char *
metrics_name(enum metrics_id id)
{
	return (unsigned)id < METRICS_N ? defs[id].name : NULL;
}

const char *
metrics_agg_name(enum metrics_agg agg)
{
	return (unsigned)agg < METRICS_AGG_N ? agg_names[agg] : NULL;
}

/* ---- string building ------------------------------------------------- */

struct sb {
	char *p;
	size_t n, cap;
};

static void
sb_add(struct sb *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		while (b->n + n + 1 > b->cap)
			b->cap = b->cap ? b->cap * 2 : 256;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void
sb_str(struct sb *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

/* The bytes of s, each invalid UTF-8 byte as U+FFFD; escape for labels. */
static void
sb_utf8(struct sb *b, const char *s, bool label)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t n = strlen(s);

	for (size_t i = 0; i < n;) {
		size_t l = utf8_seq_len(p + i, n - i);

		if (l == 0) {
			sb_add(b, "\xef\xbf\xbd", 3);
			i++;
		} else if (label && p[i] == '\\') {
			sb_add(b, "\\\\", 2);
			i++;
		} else if (label && p[i] == '"') {
			sb_add(b, "\\\"", 2);
			i++;
		} else if (label && p[i] == '\n') {
			sb_add(b, "\\n", 2);
			i++;
		} else {
			sb_add(b, s + i, l);
			i += l;
		}
	}
	if (b->p == NULL)
		sb_add(b, "", 0);
}

static json_t *
json_str_clean(const char *s)
{
	struct sb b = { 0 };
	json_t *j;

	sb_utf8(&b, s, false);
	j = json_stringn(b.p, b.n);
	free(b.p);
	return j;
}

/* Shortest of %.15g and %.17g that reads back as v. */
static void
fmt_num(char *buf, size_t len, double v)
{
	snprintf(buf, len, "%.15g", v);
	if (strtod(buf, NULL) != v)
		snprintf(buf, len, "%.17g", v);
}

/* Integers as JSON integers (112, not 112.0), the rest as reals. */
static json_t *
num_json(double v)
{
	if (v == floor(v) && fabs(v) < 9007199254740992.0)
		return json_integer((json_int_t)v);
	return json_real(v);
}

/* ---- agent selectors ------------------------------------------------- */

/* An IPv4-mapped IPv6 address (::ffff:a.b.c.d) as the IPv4 address. */
static void
addr_unmap(struct sflow_addr *dst, const struct sflow_addr *src)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff,
		0xff };

	memset(dst, 0, sizeof(*dst));
	if (src->family == 6 && memcmp(src->a, mapped, 12) == 0) {
		dst->family = 4;
		memcpy(dst->a, src->a + 12, 4);
	} else if (src->family == 4) {
		dst->family = 4;
		memcpy(dst->a, src->a, 4);
	} else if (src->family == 6) {
		dst->family = 6;
		memcpy(dst->a, src->a, 16);
	}
}

#define NAME_CHARS                                                             \
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"

int
metrics_agents_parse(
    const char *s, struct metrics_agents *ag, char *err, size_t errlen)
{
	char snip[200];
	size_t pos = 0;

	memset(ag, 0, sizeof(*ag));
	if (strcmp(s, "ALL") == 0) {
		ag->all = true;
		return 0;
	}
	for (size_t item = 1;; item++) {
		const char *tok = s + pos;
		size_t len = strcspn(tok, ";");
		struct metrics_agent *a;
		struct sflow_addr raw = { 0 };
		char buf[METRICS_NAME_MAX + 1];

		str_snippet(snip, sizeof(snip), tok, len);
		if (len == 0) {
			snprintf(err, errlen, "agent %zu is empty", item);
			return -1;
		}
		if (len > METRICS_NAME_MAX) {
			snprintf(err, errlen,
			    "agent %zu '%s': longer than %d bytes", item, snip,
			    METRICS_NAME_MAX);
			return -1;
		}
		if (ag->n == METRICS_AGENTS_MAX) {
			snprintf(err, errlen, "more than %d agents",
			    METRICS_AGENTS_MAX);
			return -1;
		}
		memcpy(buf, tok, len);
		buf[len] = '\0';
		a = &ag->item[ag->n];
		if (inet_pton(AF_INET, buf, raw.a) == 1) {
			raw.family = 4;
			a->is_addr = true;
		} else if (inet_pton(AF_INET6, buf, raw.a) == 1) {
			raw.family = 6;
			a->is_addr = true;
		} else if (strcmp(buf, "ALL") == 0) {
			snprintf(err, errlen, "agent %zu: ALL must stand alone",
			    item);
			return -1;
		} else if (strspn(buf, NAME_CHARS) == len) {
			memcpy(a->name, buf, len + 1);
		} else {
			snprintf(err, errlen,
			    "agent %zu '%s': not an IP address or a node name",
			    item, snip);
			return -1;
		}
		if (a->is_addr)
			addr_unmap(&a->addr, &raw);
		ag->n++;
		pos += len;
		if (s[pos] == '\0')
			return 0;
		pos++; /* the ';' */
	}
}

bool
metrics_agents_match(const struct metrics_agents *ag,
    const struct sflow_addr *agent, const char *node)
{
	struct sflow_addr a;

	if (ag == NULL || ag->all)
		return true;
	addr_unmap(&a, agent);
	for (size_t i = 0; i < ag->n; i++) {
		const struct metrics_agent *it = &ag->item[i];

		if (it->is_addr) {
			if (a.family != 0 && a.family == it->addr.family &&
			    memcmp(a.a, it->addr.a, sizeof(a.a)) == 0)
				return true;
		} else if (node != NULL && strcmp(node, it->name) == 0) {
			return true;
		}
	}
	return false;
}

/* ---- metric specs ---------------------------------------------------- */

static int
spec_all(struct metrics_spec *sp)
{
	sp->all = true;
	sp->n = METRICS_N;
	for (size_t i = 0; i < METRICS_N; i++) {
		sp->item[i].agg = METRICS_AGG_MAX;
		sp->item[i].id = (enum metrics_id)i;
	}
	return 0;
}

static int
lookup_n(const char *const *names, size_t nnames, const char *s, size_t len)
{
	for (size_t i = 0; i < nnames; i++)
		if (strlen(names[i]) == len && memcmp(names[i], s, len) == 0)
			return (int)i;
	return -1;
}

static int
metric_lookup(const char *s, size_t len)
{
	for (size_t i = 0; i < METRICS_N; i++)
		if (strlen(defs[i].name) == len &&
		    memcmp(defs[i].name, s, len) == 0)
			return (int)i;
	return -1;
}

int
metrics_spec_parse(
    const char *s, struct metrics_spec *sp, char *err, size_t errlen)
{
	char snip[200];
	size_t pos = 0;

	memset(sp, 0, sizeof(*sp));
	if (strcmp(s, "ALL") == 0)
		return spec_all(sp);
	for (size_t item = 1;; item++) {
		const char *tok = s + pos, *name, *colon;
		size_t len = strcspn(tok, ","), nlen;
		int agg = METRICS_AGG_MAX, id;

		str_snippet(snip, sizeof(snip), tok, len);
		if (len == 0) {
			snprintf(err, errlen, "metric %zu is empty", item);
			return -1;
		}
		if (len > METRICS_NAME_MAX) {
			snprintf(err, errlen,
			    "metric %zu '%s': longer than %d bytes", item, snip,
			    METRICS_NAME_MAX);
			return -1;
		}
		if (sp->n == METRICS_ITEMS_MAX) {
			snprintf(err, errlen, "more than %d metrics",
			    METRICS_ITEMS_MAX);
			return -1;
		}
		name = tok;
		nlen = len;
		if ((colon = memchr(tok, ':', len)) != NULL) {
			char asnip[200];

			agg = lookup_n(agg_names, METRICS_AGG_N, tok,
			    (size_t)(colon - tok));
			if (agg < 0) {
				str_snippet(asnip, sizeof(asnip), tok,
				    (size_t)(colon - tok));
				snprintf(err, errlen,
				    "metric %zu '%s': unknown aggregation "
				    "'%s' (max, min, sum, avg, var, sdev, "
				    "med, q1, q3, iqr)",
				    item, snip, asnip);
				return -1;
			}
			name = colon + 1;
			nlen = len - (size_t)(colon - tok) - 1;
		}
		if (nlen == 3 && memcmp(name, "ALL", 3) == 0) {
			snprintf(err, errlen,
			    "metric %zu: ALL must stand alone", item);
			return -1;
		}
		if ((id = metric_lookup(name, nlen)) < 0) {
			snprintf(err, errlen, "metric %zu '%s': unknown metric",
			    item, snip);
			return -1;
		}
		if (defs[id].kind != K_NUM && agg != METRICS_AGG_MAX &&
		    agg != METRICS_AGG_MIN) {
			snprintf(err, errlen,
			    "metric %zu '%s': %s is a string: max or min "
			    "only",
			    item, snip, defs[id].name);
			return -1;
		}
		sp->item[sp->n].agg = (enum metrics_agg)agg;
		sp->item[sp->n].id = (enum metrics_id)id;
		sp->n++;
		pos += len;
		if (s[pos] == '\0')
			return 0;
		pos++; /* the ',' */
	}
}

size_t
metrics_spec_format(const struct metrics_spec *sp, char *buf, size_t len)
{
	size_t o = 0;

	if (len > 0)
		buf[0] = '\0';
	if (sp->all)
		return (size_t)snprintf(buf, len, "ALL");
	for (size_t i = 0; i < sp->n; i++) {
		const char *sep = i ? "," : "";
		const char *agg = agg_names[sp->item[i].agg];
		const char *name = defs[sp->item[i].id].name;
		int k;

		if (o < len)
			k = snprintf(
			    buf + o, len - o, "%s%s:%s", sep, agg, name);
		else
			k = snprintf(NULL, 0, "%s%s:%s", sep, agg, name);
		o += (size_t)k;
	}
	return o;
}

/* ---- values ---------------------------------------------------------- */

/* One data source, with what the names callback said about it. */
struct row {
	const struct ifc_rates *r;
	const char *node, *ifname; /* NULL unknown */
	char agent[48];
	char ds[12];
	uint64_t age; /* ms since updated_ms */
};

struct val {
	double num;      /* K_NUM, K_STR */
	const char *str; /* K_STR, K_NAME: static, the row's, or buf */
	char buf[16];
};

static const char *
status_name(int s)
{
	static const char *const names[] = { NULL, "up", "down", "testing",
		"unknown", "dormant", "notPresent", "lowerLayerDown" };

	return s >= 1 && s <= 7 ? names[s] : "unknown";
}

static const char *
iftype_name(uint32_t t, char *buf, size_t len)
{
	switch (t) {
	case 1:
		return "other";
	case 6:
		return "ethernetCsmacd";
	case 7:
		return "iso88023Csmacd";
	case 24:
		return "softwareLoopback";
	case 53:
		return "propVirtual";
	case 71:
		return "ieee80211";
	case 131:
		return "tunnel";
	case 135:
		return "l2vlan";
	case 136:
		return "l3ipvlan";
	case 161:
		return "ieee8023adLag";
	case 209:
		return "bridge";
	default:
		snprintf(buf, len, "%u", t);
		return buf;
	}
}

static bool
sum_of(const struct ifc_rates *r, const int *f, size_t nf, double *out)
{
	*out = 0;
	for (size_t i = 0; i < nf; i++) {
		if (!(r->have & IFC_BIT(f[i])))
			return false;
		*out += r->r[f[i]];
	}
	return true;
}

/* The value of metric id for a row; false if the row does not have it. */
static bool
get_value(enum metrics_id id, const struct row *w, struct val *v)
{
	static const char *const dirs[] = { "unknown", "full-duplex",
		"half-duplex", "in", "out" };
	static const int inpkts[] = { IFC_IN_UCAST, IFC_IN_MCAST,
		IFC_IN_BCAST };
	static const int outpkts[] = { IFC_OUT_UCAST, IFC_OUT_MCAST,
		IFC_OUT_BCAST };
	static const int discards[] = { IFC_IN_DISCARDS, IFC_OUT_DISCARDS };
	static const int errors[] = { IFC_IN_ERRORS, IFC_OUT_ERRORS };
	const struct ifc_rates *r = w->r;
	bool ok = true;

	v->num = 0;
	v->str = NULL;
	if (defs[id].field >= 0) {
		if (!(r->have & IFC_BIT(defs[id].field)))
			return false;
		v->num = r->r[defs[id].field];
		return isfinite(v->num);
	}
	switch (id) {
	case METRIC_IFINDEX:
		v->num = r->ifindex;
		break;
	case METRIC_IFNAME:
		v->str = w->ifname;
		ok = w->ifname != NULL && w->ifname[0] != '\0';
		break;
	case METRIC_IFTYPE:
		v->num = r->iftype;
		v->str = iftype_name(r->iftype, v->buf, sizeof(v->buf));
		ok = r->iftype != 0;
		break;
	case METRIC_IFSPEED:
		v->num = (double)r->speed;
		ok = r->speed != 0;
		break;
	case METRIC_IFDIRECTION:
		v->num = r->direction <= 4 ? r->direction : 0;
		v->str = dirs[(int)v->num];
		break;
	case METRIC_IFADMINSTATUS:
	case METRIC_IFOPERSTATUS: {
		int s = id == METRIC_IFADMINSTATUS ? r->admin : r->oper;

		v->num = s == IFC_UP;
		v->str = status_name(s);
		ok = s != 0;
		break;
	}
	case METRIC_IFPROMISCUOUSMODE:
		v->num = r->promisc == 1;
		ok = r->promisc == 1 || r->promisc == 2;
		break;
	case METRIC_IFINUTILIZATION:
		v->num = r->in_util;
		ok = r->in_util >= 0;
		break;
	case METRIC_IFOUTUTILIZATION:
		v->num = r->out_util;
		ok = r->out_util >= 0;
		break;
	case METRIC_IFINPKTS:
		ok = sum_of(r, inpkts, nitems(inpkts), &v->num);
		break;
	case METRIC_IFOUTPKTS:
		ok = sum_of(r, outpkts, nitems(outpkts), &v->num);
		break;
	case METRIC_IFDISCARDS:
		ok = sum_of(r, discards, nitems(discards), &v->num);
		break;
	case METRIC_IFERRORS:
		ok = sum_of(r, errors, nitems(errors), &v->num);
		break;
	default:
		return false;
	}
	return ok && isfinite(v->num);
}

static json_t *
value_json(enum metrics_id id, const struct val *v)
{
	if (defs[id].kind != K_NUM)
		return json_str_clean(v->str);
	return num_json(v->num);
}

static int
row_cmp(const void *pa, const void *pb)
{
	const struct row *a = pa, *b = pb;

	return ifc_key_cmp(
	    &a->r->agent, a->r->ifindex, &b->r->agent, b->r->ifindex);
}

/* The data sources the selector takes, sorted by (agent, ifIndex). */
static struct row *
rows_get(
    const struct metrics_src *src, const struct metrics_agents *ag, size_t *np)
{
	struct row *rows = xcalloc(src->n ? src->n : 1, sizeof(*rows));
	size_t n = 0;

	for (size_t i = 0; i < src->n; i++) {
		const struct ifc_rates *r = &src->rates[i];
		struct row *w = &rows[n];

		w->r = r;
		w->node = w->ifname = NULL;
		if (src->names != NULL)
			src->names(src->arg, &r->agent, r->ifindex, &w->node,
			    &w->ifname);
		if (!metrics_agents_match(ag, &r->agent, w->node))
			continue;
		addr_fmt(
		    w->agent, sizeof(w->agent), r->agent.family, r->agent.a);
		snprintf(w->ds, sizeof(w->ds), "%u", r->ifindex);
		w->age = src->now_wall_ms > r->updated_ms
		    ? src->now_wall_ms - r->updated_ms
		    : 0;
		n++;
	}
	qsort(rows, n, sizeof(*rows), row_cmp);
	*np = n;
	return rows;
}

/* ---- /metric --------------------------------------------------------- */

static int
dbl_cmp(const void *pa, const void *pb)
{
	double a = *(const double *)pa, b = *(const double *)pb;

	return a < b ? -1 : a > b ? 1 : 0;
}

/* Quantile p of sorted x[0..n), n > 0, interpolating (R type 7). */
static double
quantile(const double *x, size_t n, double p)
{
	double h = (double)(n - 1) * p;
	size_t lo = (size_t)floor(h);
	size_t hi = lo + 1 < n ? lo + 1 : lo;

	return x[lo] + (x[hi] - x[lo]) * (h - (double)lo);
}

static double
aggregate(enum metrics_agg agg, double *x, size_t n)
{
	double sum = 0, mean, var = 0;

	for (size_t i = 0; i < n; i++)
		sum += x[i];
	mean = sum / (double)n;
	for (size_t i = 0; i < n; i++)
		var += (x[i] - mean) * (x[i] - mean);
	var /= (double)n;
	switch (agg) {
	case METRICS_AGG_SUM:
		return sum;
	case METRICS_AGG_AVG:
		return mean;
	case METRICS_AGG_VAR:
		return var;
	case METRICS_AGG_SDEV:
		return sqrt(var);
	default:
		break;
	}
	qsort(x, n, sizeof(*x), dbl_cmp);
	switch (agg) {
	case METRICS_AGG_MED:
		return quantile(x, n, 0.5);
	case METRICS_AGG_Q1:
		return quantile(x, n, 0.25);
	case METRICS_AGG_Q3:
		return quantile(x, n, 0.75);
	case METRICS_AGG_IQR:
		return quantile(x, n, 0.75) - quantile(x, n, 0.25);
	default:
		return NAN; /* max and min are not aggregated here */
	}
}

/* Is a better than b under max (or min)? Strings compare bytewise. */
static bool
better(enum metrics_agg agg, bool str, const struct val *a, const struct val *b)
{
	int c;

	if (str)
		c = strcmp(a->str, b->str);
	else
		c = a->num < b->num ? -1 : a->num > b->num ? 1 : 0;
	return agg == METRICS_AGG_MIN ? c < 0 : c > 0;
}

static json_t *
metric_item(
    const struct row *rows, size_t n, const struct metrics_item *it, double *x)
{
	enum metrics_id id = it->id;
	bool str = defs[id].kind != K_NUM;
	bool pick = it->agg == METRICS_AGG_MAX || it->agg == METRICS_AGG_MIN;
	struct val v, best;
	size_t count = 0, win = 0;
	uint64_t age_max = 0, age_min = 0, age;
	json_t *o = json_object(), *jv;

	for (size_t i = 0; i < n; i++) {
		if (!get_value(id, &rows[i], &v))
			continue;
		if (count == 0 || rows[i].age > age_max)
			age_max = rows[i].age;
		if (count == 0 || rows[i].age < age_min)
			age_min = rows[i].age;
		if (pick && (count == 0 || better(it->agg, str, &v, &best))) {
			best = v;
			if (v.str == v.buf)
				best.str = best.buf;
			win = i;
		}
		x[count++] = v.num;
	}
	if (count == 0) {
		json_object_set_new(
		    o, "metricName", json_string(defs[id].name));
		json_object_set_new(o, "metricN", json_integer(0));
		return o;
	}
	if (pick) {
		json_object_set_new(o, "agent", json_string(rows[win].agent));
		json_object_set_new(o, "dataSource", json_string(rows[win].ds));
		jv = value_json(id, &best);
		age = rows[win].age;
	} else {
		double a = aggregate(it->agg, x, count);

		jv = isfinite(a) ? num_json(a) : json_null();
		age = age_max;
	}
	json_object_set_new(o, "metricN", json_integer((json_int_t)count));
	json_object_set_new(o, "metricName", json_string(defs[id].name));
	json_object_set_new(o, "metricValue", jv);
	json_object_set_new(o, "lastUpdate", json_integer((json_int_t)age));
	json_object_set_new(
	    o, "lastUpdateMax", json_integer((json_int_t)age_max));
	json_object_set_new(
	    o, "lastUpdateMin", json_integer((json_int_t)age_min));
	return o;
}

json_t *
metrics_metric_json(const struct metrics_src *src,
    const struct metrics_agents *ag, const struct metrics_spec *sp)
{
	size_t n;
	struct row *rows = rows_get(src, ag, &n);
	double *x = xcalloc(n ? n : 1, sizeof(*x));
	json_t *a = json_array();

	for (size_t i = 0; i < sp->n; i++)
		json_array_append_new(a, metric_item(rows, n, &sp->item[i], x));
	free(x);
	free(rows);
	return a;
}

/* ---- /table ---------------------------------------------------------- */

json_t *
metrics_table_json(const struct metrics_src *src,
    const struct metrics_agents *ag, const struct metrics_spec *sp)
{
	size_t n;
	struct row *rows = rows_get(src, ag, &n);
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++) {
		json_t *row = json_array();
		bool full = true;

		for (size_t k = 0; k < sp->n; k++) {
			enum metrics_id id = sp->item[k].id;
			struct val v;
			json_t *c;

			if (!get_value(id, &rows[i], &v)) {
				full = false;
				if (sp->all)
					continue;
				break;
			}
			c = json_object();
			json_object_set_new(
			    c, "agent", json_string(rows[i].agent));
			json_object_set_new(
			    c, "dataSource", json_string(rows[i].ds));
			json_object_set_new(
			    c, "metricName", json_string(defs[id].name));
			json_object_set_new(
			    c, "metricValue", value_json(id, &v));
			json_object_set_new(c, "lastUpdate",
			    json_integer((json_int_t)rows[i].age));
			json_array_append_new(row, c);
		}
		if ((full || sp->all) && json_array_size(row) > 0)
			json_array_append_new(a, row);
		else
			json_decref(row);
	}
	free(rows);
	return a;
}

/* ---- Prometheus ------------------------------------------------------ */

static void
prom_labels(struct sb *b, const struct row *w)
{
	sb_str(b, "{agent=\"");
	sb_utf8(b, w->agent, true);
	sb_str(b, "\",datasource=\"");
	sb_str(b, w->ds);
	sb_str(b, "\"");
	if (w->ifname != NULL) {
		sb_str(b, ",ifname=\"");
		sb_utf8(b, w->ifname, true);
		sb_str(b, "\"");
	}
	if (w->node != NULL) {
		sb_str(b, ",node=\"");
		sb_utf8(b, w->node, true);
		sb_str(b, "\"");
	}
	sb_str(b, "}");
}

char *
metrics_prometheus(const struct metrics_src *src,
    const struct metrics_agents *ag, const struct metrics_spec *sp)
{
	size_t n;
	struct row *rows = rows_get(src, ag, &n);
	bool done[METRICS_N] = { false };
	struct sb b = { 0 };

	sb_add(&b, "", 0);
	for (size_t k = 0; k < sp->n; k++) {
		enum metrics_id id = sp->item[k].id;
		bool head = false;

		/* one family per metric: a second block would be invalid */
		if (done[id] || defs[id].kind == K_NAME)
			continue;
		done[id] = true;
		for (size_t i = 0; i < n; i++) {
			struct val v;
			char num[40];

			if (!get_value(id, &rows[i], &v))
				continue;
			if (!head) {
				sb_str(&b, "# HELP sflow_");
				sb_str(&b, defs[id].name);
				sb_str(&b, " ");
				sb_str(&b, defs[id].help);
				sb_str(&b, "\n# TYPE sflow_");
				sb_str(&b, defs[id].name);
				sb_str(&b, " gauge\n");
				head = true;
			}
			sb_str(&b, "sflow_");
			sb_str(&b, defs[id].name);
			prom_labels(&b, &rows[i]);
			fmt_num(num, sizeof(num), v.num);
			sb_str(&b, " ");
			sb_str(&b, num);
			sb_str(&b, "\n");
		}
	}
	free(rows);
	return b.p;
}

int
metrics_id_lookup(const char *name)
{
	return metric_lookup(name, strlen(name));
}

bool
metrics_number(const struct ifc_rates *r, enum metrics_id id, double *out)
{
	struct row w = { 0 };
	struct val v;

	if ((unsigned)id >= METRICS_N || id == METRIC_IFNAME)
		return false;
	w.r = r;
	if (!get_value(id, &w, &v))
		return false;
	*out = v.num;
	return true;
}
