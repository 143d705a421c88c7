/*
 * ha_judge.c: health, the track file's value, split brain, and the
 * peer's answer (see ha_judge.h). PURE: no I/O; the HA thread (ha.c)
 * calls it once a second, the unit test and the fuzzer with anything.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ha_judge.h"

static const char *const reason_names[] = { "ingest", "sflow", "store",
	"topology", "api", "stopping" };

const char *
ha_reason_name(unsigned bit)
{
	for (unsigned i = 0; i < sizeof(reason_names) / sizeof(reason_names[0]);
	     i++)
		if (bit == 1u << i)
			return reason_names[i];
	return NULL;
}

char *
ha_reasons_text(unsigned reasons, char *buf, size_t len)
{
	size_t o = 0;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	for (unsigned i = 0; i < sizeof(reason_names) / sizeof(reason_names[0]);
	     i++) {
		size_t need = strlen(reason_names[i]) + (o ? 1 : 0);

		if (!(reasons & (1u << i)))
			continue;
		if (need >= len - o)
			break; /* whole names only */
		snprintf(
		    buf + o, len - o, "%s%s", o ? "," : "", reason_names[i]);
		o += need;
	}
	return buf;
}

static uint64_t
max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

unsigned
ha_health_judge(const struct ha_health_in *in)
{
	unsigned r = 0;
	/* ingest publishes every push period (api.c uses the same bound) */
	uint64_t ingest_max = (uint64_t)in->push_ms * 5 + 2000;
	uint64_t poll_max;

	if (in->stopping)
		r |= HA_R_STOPPING;
	if (in->ingest_known ? in->ingest_loop_age_ms >= ingest_max
	                     : in->uptime_ms >= ingest_max)
		r |= HA_R_INGEST;
	/*
	 * Telemetry must be arriving: a daemon whose switches' datagrams no
	 * longer reach it shows a stale fabric, even though every thread is
	 * fine. One that has heard none since it started has nothing to
	 * show yet (no grace period: a peer just started must not look like
	 * a better MASTER than one that has its windows).
	 */
	if (!in->datagram_seen || in->datagram_age_ms >= HA_SFLOW_SILENT_MS)
		r |= HA_R_SFLOW;
	if (in->store_present && in->store_degraded)
		r |= HA_R_STORE;
	/*
	 * The topology thread republishes every 2 s: an old snapshot means
	 * the thread is stuck. With SNMP on, some switch must have answered
	 * within a few status periods (a collector cut off from the switches'
	 * management addresses has a frozen fabric), and the stored copy of
	 * the fabric, shown until the first polls, is not fresh yet.
	 */
	poll_max = max_u64(HA_TOPO_POLL_MIN_MS,
	    3000 *
	        (uint64_t)(in->snmp_status_s < in->snmp_poll_s
	                ? in->snmp_status_s
	                : in->snmp_poll_s));
	if (!in->topo_known || in->topo_built_age_ms >= HA_TOPO_BUILT_MS)
		r |= HA_R_TOPOLOGY;
	else if (in->snmp_enabled &&
	    (in->topo_restored || !in->topo_polled ||
	        in->topo_ok_age_ms >= poll_max))
		r |= HA_R_TOPOLOGY;
	if (in->api_failures >= HA_API_FAILS)
		r |= HA_R_API;
	return r;
}

static bool
peer_can_take_over(const struct ha_peer_view *p)
{
	return p != NULL && p->known && p->answered_age < HA_PEER_FRESH &&
	    p->healthy &&
	    (p->role == HA_ROLE_MASTER || p->role == HA_ROLE_BACKUP);
}

int
ha_track_value(unsigned reasons, const struct ha_peer_view *peer)
{
	if (reasons & HA_R_STOPPING)
		return 1;
	if (reasons == 0)
		return 0;
	return peer_can_take_over(peer) ? 1 : 0;
}

bool
ha_split_brain(
    enum ha_role self, const struct ha_peer_view *peer, uint64_t rx_age)
{
	if (self != HA_ROLE_MASTER)
		return false;
	if (rx_age < HA_SPLIT_RX_MS)
		return true;
	return peer != NULL && peer->known &&
	    peer->answered_age < HA_PEER_FRESH && peer->role == HA_ROLE_MASTER;
}

/* ---- the peer's HTTP answer ------------------------------------------ */

/* A bounded view of the response. */
struct span {
	const char *p;
	size_t n;
};

/* The line at s (up to CRLF or LF); s moves past it. false at the end. */
static bool
next_line(struct span *s, struct span *line)
{
	const char *nl = memchr(s->p, '\n', s->n);
	size_t n;

	if (nl == NULL)
		return false;
	n = (size_t)(nl - s->p);
	line->p = s->p;
	line->n = n > 0 && s->p[n - 1] == '\r' ? n - 1 : n;
	s->p += n + 1;
	s->n -= n + 1;
	return true;
}

static bool
header_is(const struct span *line, const char *name, struct span *value)
{
	size_t nl = strlen(name);

	if (line->n <= nl || line->p[nl] != ':' ||
	    strncasecmp(line->p, name, nl) != 0)
		return false;
	value->p = line->p + nl + 1;
	value->n = line->n - nl - 1;
	while (value->n > 0 && (*value->p == ' ' || *value->p == '\t')) {
		value->p++;
		value->n--;
	}
	while (value->n > 0 &&
	    (value->p[value->n - 1] == ' ' || value->p[value->n - 1] == '\t'))
		value->n--;
	return true;
}

/* A decimal (or, for chunks, hex) number of at most 9 digits. */
static bool
span_number(const struct span *v, int base, size_t *out)
{
	size_t x = 0, i;

	if (v->n == 0)
		return false;
	for (i = 0; i < v->n && i < 10; i++) {
		char c = v->p[i];
		int d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			break;
		x = x * (size_t)base + (size_t)d;
	}
	if (i == 0 || i >= 10 || (i < v->n && base == 10))
		return false;
	*out = x;
	return true;
}

/* Decode a chunked body into dst (at most cap bytes). -1 if malformed. */
static int
dechunk(struct span body, char *dst, size_t cap, size_t *outlen)
{
	size_t o = 0;

	for (;;) {
		struct span line;
		size_t n;

		if (!next_line(&body, &line) || !span_number(&line, 16, &n))
			return -1;
		if (n == 0)
			break;
		if (n > body.n || n > cap - o)
			return -1;
		memcpy(dst + o, body.p, n);
		o += n;
		body.p += n;
		body.n -= n;
		if (!next_line(&body, &line) || line.n != 0)
			return -1;
	}
	*outlen = o;
	return 0;
}

static void
copy_clean(char *dst, size_t cap, const char *src)
{
	size_t i = 0;

	for (; src != NULL && src[i] != '\0' && i + 1 < cap; i++) {
		unsigned char c = (unsigned char)src[i];

		dst[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	if (cap > 0)
		dst[i] = '\0';
}

int
ha_peer_parse(const char *resp, size_t len, struct ha_peer_answer *out)
{
	struct span s = { resp, len }, line, v, body;
	size_t clen = 0;
	bool have_clen = false, chunked = false;
	char *json = NULL;
	size_t jlen;
	json_t *o, *x, *h;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	out->since = -1;
	out->healthy = true;
	if (!next_line(&s, &line) || line.n < 12 ||
	    memcmp(line.p, "HTTP/1.", 7) != 0 || line.p[8] != ' ')
		return -1;
	v.p = line.p + 9;
	v.n = 3;
	if (line.n > 12 && line.p[12] != ' ')
		return -1;
	if (!span_number(&v, 10, &clen) || clen < 100 || clen > 599)
		return -1;
	out->status = (int)clen;
	clen = 0;
	for (;;) {
		if (!next_line(&s, &line))
			return -1; /* the headers never ended */
		if (line.n == 0)
			break;
		if (header_is(&line, "Content-Length", &v)) {
			if (!span_number(&v, 10, &clen))
				return -1;
			have_clen = true;
		} else if (header_is(&line, "Transfer-Encoding", &v)) {
			chunked =
			    v.n == 7 && strncasecmp(v.p, "chunked", 7) == 0;
		}
	}
	if (out->status != 200)
		return -1;
	body = s;
	if (chunked) {
		json = malloc(body.n + 1);
		if (json == NULL || dechunk(body, json, body.n, &jlen) != 0)
			goto out;
	} else {
		if (have_clen) {
			if (clen > body.n)
				return -1; /* cut short */
			body.n = clen;
		}
		json = malloc(body.n + 1);
		if (json == NULL)
			return -1;
		memcpy(json, body.p, body.n);
		jlen = body.n;
	}
	o = json_loadb(json, jlen, JSON_REJECT_DUPLICATES, NULL);
	if (o == NULL)
		goto out;
	if (!json_is_object(o) ||
	    !json_is_string(x = json_object_get(o, "role")))
		goto done;
	out->role = ha_role_parse(json_string_value(x));
	out->role_valid = out->role != HA_ROLE_UNKNOWN ||
	    strcmp(json_string_value(x), "UNKNOWN") == 0;
	if (json_is_integer(x = json_object_get(o, "since")))
		out->since = json_integer_value(x);
	if (json_is_string(x = json_object_get(o, "instance")))
		copy_clean(
		    out->instance, sizeof(out->instance), json_string_value(x));
	if (json_is_string(x = json_object_get(o, "address")))
		copy_clean(
		    out->address, sizeof(out->address), json_string_value(x));
	h = json_object_get(o, "health");
	if (json_is_object(h) && json_is_boolean(x = json_object_get(h, "ok")))
		out->healthy = json_is_true(x);
	rc = out->role_valid ? 0 : -1;
done:
	json_decref(o);
out:
	free(json);
	return rc;
}
