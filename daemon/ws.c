/*
 * ws.c: the /ws push channel (DESIGN §7, daemon/API.md), on the lws
 * service thread.
 *
 * A topic's frame is the body of a GET (api_call: the same handlers as
 * HTTP) wrapped in {"v":1,"t":"event","topic","seq","ts","data"}. Each
 * push period the frame of every topic with a subscriber is built once
 * and shared (refcounted) by all its subscribers. A client holds at most
 * one unsent frame per topic: a newer one replaces it ("superseded"), so
 * a slow client gets the latest state and never a backlog. lws buffers
 * the rest of a partly sent frame itself and only asks for more once it
 * is gone, so a stuck socket holds one frame, not a queue.
 */
#include <assert.h>
#include <jansson.h>
#include <libwebsockets.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api.h"
#include "log.h"
#include "snap.h"
#include "topo.h"
#include "util.h"
#include "ws.h"

#define WS_MAX_SUBS    24    /* topics per client */
#define WS_MAX_TOPICS  512   /* distinct topics subscribed at once */
#define WS_TOPIC_MAX   160   /* bytes of a topic name */
#define WS_RX_MAX      65536 /* one client message */
#define WS_MAX_REPLIES 16    /* replies queued for one client */
#define WS_MAX_BAD     100   /* bad messages before a client is dropped */
#define WS_EVENTS_MAX  "50"  /* stored events in the events topic */
#define WS_TOP_MAX     "20"
/*
 * A frame goes out in fragments of this size: lws_write() keeps what the
 * socket does not take in a copy of its own, which for a 13 MB fabric
 * frame was a second copy of it for each client.
 */
#define WS_CHUNK 65536

struct ws_frame {
	int refs;
	size_t len;
	unsigned char buf[]; /* LWS_PRE bytes, then the text */
};

struct ws_topic {
	char name[WS_TOPIC_MAX];
	int subs;
	uint64_t seq;
	uint64_t version; /* fabric: the topology version framed */
	struct ws_frame *latest;
	bool gone; /* trace/...: the trace no longer exists */
};

struct ws_sub {
	struct ws_topic *topic;
	struct ws_frame *pending; /* not sent yet; NULL: up to date */
	uint64_t sent_seq;
};

struct ws_client {
	struct lws *wsi;
	struct ws_client *next;
	struct ws_sub subs[WS_MAX_SUBS];
	int n_subs;
	int rr; /* round robin over subs when writing */
	struct ws_frame *replies[WS_MAX_REPLIES];
	int n_replies;
	struct ws_frame *out; /* being sent, in fragments; NULL: none */
	size_t out_off;       /* bytes of it sent */
	unsigned char *chunk; /* LWS_PRE + WS_CHUNK bytes, for a fragment */
	char *rx;
	size_t rx_len;
	bool rx_overflow;
	bool authed; /* the token came with the upgrade request */
	unsigned bad;
	bool linked;
};

_Static_assert(
    sizeof(struct ws_client) <= WS_SESSION_SIZE, "WS_SESSION_SIZE too small");

struct ws_hub {
	struct api_ctx *api;
	struct lws_context *ctx;
	lws_sorted_usec_list_t sul;
	struct ws_client *clients;
	struct ws_topic *topics[WS_MAX_TOPICS];
	int n_topics;
	struct ws_stats st;
};

static const char *const static_topics[] = { "fabric", "links", "top",
	"blackholes", "events", "health", "ha" };

/* ---- frames ----------------------------------------------------------- */

/* A frame of len bytes of text, for the caller to fill in. */
static struct ws_frame *
frame_alloc(size_t len)
{
	struct ws_frame *f = xmalloc(sizeof(*f) + LWS_PRE + len + 1);

	f->refs = 1;
	f->len = len;
	f->buf[LWS_PRE + len] = '\0';
	return f;
}

static struct ws_frame *
frame_new(const char *text, size_t len)
{
	struct ws_frame *f = frame_alloc(len);

	memcpy(f->buf + LWS_PRE, text, len);
	return f;
}

static struct ws_frame *
frame_ref(struct ws_frame *f)
{
	if (f != NULL)
		f->refs++;
	return f;
}

static void
frame_unref(struct ws_frame *f)
{
	if (f != NULL && --f->refs == 0)
		free(f);
}

/* A JSON object → a frame (the reference to o is dropped). */
static struct ws_frame *
frame_json(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT);
	struct ws_frame *f = frame_new(s, strlen(s));

	free(s);
	json_decref(o);
	return f;
}

/* ---- topics ----------------------------------------------------------- */

/*
 * The handlers answer indented JSON (for curl); a frame is one line.
 * Drop the whitespace outside strings, in place.
 */
static size_t
json_squeeze(char *s)
{
	size_t o = 0;
	bool str = false, esc = false;

	for (size_t i = 0; s[i] != '\0'; i++) {
		char ch = s[i];

		if (str) {
			if (esc)
				esc = false;
			else if (ch == '\\')
				esc = true;
			else if (ch == '"')
				str = false;
		} else if (ch == '"')
			str = true;
		else if (ch == ' ' || ch == '\n' || ch == '\t' || ch == '\r')
			continue;
		s[o++] = ch;
	}
	s[o] = '\0';
	return o;
}

/* The GET behind a topic; false for a name that is not one. */
static bool
topic_source(const char *name, char *path, size_t plen, const char **query)
{
	static const struct {
		const char *topic, *path, *query;
	} map[] = {
		{ "fabric", "/api/v1/topology", NULL },
		{ "links", "/api/v1/links", NULL },
		{ "top", "/api/v1/top", "max=" WS_TOP_MAX },
		{ "blackholes", "/api/v1/blackholes", NULL },
		{ "events", "/api/v1/events", "from=0&max=" WS_EVENTS_MAX },
		{ "health", "/api/v1/health", NULL },
		{ "ha", "/api/v1/ha", NULL },
	};
	const char *arg;

	*query = NULL;
	for (size_t i = 0; i < nitems(map); i++)
		if (strcmp(name, map[i].topic) == 0) {
			snprintf(path, plen, "%s", map[i].path);
			*query = map[i].query;
			return true;
		}
	if (strncmp(name, "trace/", 6) == 0) {
		arg = name + 6;
		if (arg[0] == '\0' || strspn(arg, "0123456789") != strlen(arg))
			return false;
		snprintf(path, plen, "/api/v1/trace/%s", arg);
		return true;
	}
	if (strncmp(name, "linktop/", 8) == 0) {
		arg = name + 8;
		if (arg[0] == '\0' || strchr(arg, '/') != NULL)
			return false;
		snprintf(path, plen, "/api/v1/top/link/%s", arg);
		return true;
	}
	return false;
}

static uint64_t
topology_version(struct ws_hub *h)
{
	struct topo_snap *ts =
	    h->api->topology ? (void *)snap_slot_get(h->api->topology) : NULL;
	uint64_t v = 0;

	if (ts != NULL) {
		v = ts->version;
		snap_put(&ts->base);
	}
	return v;
}

/* Build the topic's frame now; it becomes the topic's latest. */
static void
topic_build(struct ws_hub *h, struct ws_topic *t)
{
	char path[WS_TOPIC_MAX + 32], head[WS_TOPIC_MAX * 2 + 96], *text;
	const char *query, *tail;
	struct reply r;
	json_t *name;
	char *qname;
	size_t hl, bl, tl;
	bool ok;

	ok = topic_source(t->name, path, sizeof(path), &query);
	assert(ok);
	if (strcmp(t->name, "fabric") == 0)
		t->version = topology_version(h);
	api_call(h->api, LWSHUMETH_GET, path, query, NULL, 0, &r);
	ok = r.status == HTTP_STATUS_OK && r.body != NULL;
	if (!ok && strncmp(t->name, "trace/", 6) == 0 &&
	    r.status == HTTP_STATUS_NOT_FOUND)
		t->gone = true;
	name = json_string(t->name);
	qname = json_dumps(name, JSON_ENCODE_ANY);
	json_decref(name);
	t->seq++;
	hl = (size_t)snprintf(head, sizeof(head),
	    "{\"v\":1,\"t\":\"event\",\"topic\":%s,\"seq\":%llu,\"ts\":%llu,"
	    "\"data\":",
	    qname, (unsigned long long)t->seq,
	    (unsigned long long)now_wall_ms());
	free(qname);
	bl = ok ? json_squeeze(r.body) : 4;
	tail = t->gone ? ",\"error\":\"no such trace\"}" : "}";
	tl = strlen(tail);
	/*
	 * The answer becomes the frame in its own block, grown and moved up
	 * behind the header: at 1,000 switches the fabric's is 13 MB, and
	 * each copy of it was in the push's peak.
	 */
	frame_unref(t->latest);
	if (ok) {
		size_t lead = offsetof(struct ws_frame, buf) + LWS_PRE + hl;

		t->latest = xrealloc(r.body, lead + bl + tl + 1);
		memmove((char *)t->latest + lead, t->latest, bl);
		t->latest->refs = 1;
		t->latest->len = hl + bl + tl;
	} else {
		free(r.body);
		t->latest = frame_alloc(hl + bl + tl);
	}
	text = (char *)t->latest->buf + LWS_PRE;
	memcpy(text, head, hl);
	if (!ok)
		memcpy(text + hl, "null", bl);
	memcpy(text + hl + bl, tail, tl);
	text[hl + bl + tl] = '\0';
	h->st.frames_built++;
}

static struct ws_topic *
topic_find(struct ws_hub *h, const char *name)
{
	for (int i = 0; i < h->n_topics; i++)
		if (strcmp(h->topics[i]->name, name) == 0)
			return h->topics[i];
	return NULL;
}

static void
topic_release(struct ws_hub *h, struct ws_topic *t)
{
	if (--t->subs > 0)
		return;
	for (int i = 0; i < h->n_topics; i++)
		if (h->topics[i] == t) {
			h->topics[i] = h->topics[--h->n_topics];
			break;
		}
	frame_unref(t->latest);
	free(t);
}

/* ---- clients ---------------------------------------------------------- */

static void
client_queue_reply(struct ws_hub *h, struct ws_client *c, json_t *o)
{
	if (c->n_replies == WS_MAX_REPLIES) {
		/* a client that never reads its replies */
		json_decref(o);
		h->st.replies_dropped++;
		return;
	}
	c->replies[c->n_replies++] = frame_json(o);
	lws_callback_on_writable(c->wsi);
}

static void
reply_ok(struct ws_hub *h, struct ws_client *c, json_t *id, json_t *data)
{
	client_queue_reply(h, c,
	    json_pack("{s:i, s:s, s:O?, s:b, s:o}", "v", 1, "t", "reply", "id",
	        id, "ok", 1, "data", data));
}

static void reply_error(struct ws_hub *h, struct ws_client *c, json_t *id,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
reply_error(
    struct ws_hub *h, struct ws_client *c, json_t *id, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	client_queue_reply(h, c,
	    json_pack("{s:i, s:s, s:O?, s:s}", "v", 1, "t", "error", "id",
	        id ? id : json_null(), "error", msg));
}

static struct ws_sub *
client_sub(struct ws_client *c, const char *name)
{
	for (int i = 0; i < c->n_subs; i++)
		if (strcmp(c->subs[i].topic->name, name) == 0)
			return &c->subs[i];
	return NULL;
}

/*
 * Subscribe c to a topic. Returns 1 (subscribed, the current frame
 * queued), 0 (already), -1 (unknown name), -2 (too many).
 */
static int
client_subscribe(struct ws_hub *h, struct ws_client *c, const char *name)
{
	char path[WS_TOPIC_MAX + 32];
	const char *query;
	struct ws_topic *t;
	struct ws_sub *s;

	if (strlen(name) >= WS_TOPIC_MAX ||
	    !topic_source(name, path, sizeof(path), &query))
		return -1;
	if (client_sub(c, name) != NULL)
		return 0;
	if (c->n_subs == WS_MAX_SUBS)
		return -2;
	t = topic_find(h, name);
	if (t == NULL) {
		if (h->n_topics == WS_MAX_TOPICS)
			return -2;
		t = xcalloc(1, sizeof(*t));
		snprintf(t->name, sizeof(t->name), "%s", name);
		h->topics[h->n_topics++] = t;
	}
	t->subs++;
	/* The current state at once: built now unless it is fresh. */
	if (t->latest == NULL)
		topic_build(h, t);
	s = &c->subs[c->n_subs++];
	s->topic = t;
	s->pending = frame_ref(t->latest);
	s->sent_seq = 0;
	lws_callback_on_writable(c->wsi);
	return 1;
}

static void
client_unsub_at(struct ws_hub *h, struct ws_client *c, int i)
{
	frame_unref(c->subs[i].pending);
	topic_release(h, c->subs[i].topic);
	c->subs[i] = c->subs[--c->n_subs];
}

static bool
client_unsubscribe(struct ws_hub *h, struct ws_client *c, const char *name)
{
	for (int i = 0; i < c->n_subs; i++)
		if (strcmp(c->subs[i].topic->name, name) == 0) {
			client_unsub_at(h, c, i);
			return true;
		}
	return false;
}

static json_t *
client_topics(struct ws_client *c)
{
	json_t *a = json_array();

	for (int i = 0; i < c->n_subs; i++)
		json_array_append_new(a, json_string(c->subs[i].topic->name));
	return a;
}

static void
client_free(struct ws_hub *h, struct ws_client *c)
{
	while (c->n_subs > 0)
		client_unsub_at(h, c, c->n_subs - 1);
	for (int i = 0; i < c->n_replies; i++)
		frame_unref(c->replies[i]);
	c->n_replies = 0;
	frame_unref(c->out);
	c->out = NULL;
	free(c->chunk);
	c->chunk = NULL;
	free(c->rx);
	c->rx = NULL;
	if (c->linked) {
		for (struct ws_client **p = &h->clients; *p; p = &(*p)->next)
			if (*p == c) {
				*p = c->next;
				break;
			}
		c->linked = false;
		h->st.clients--;
	}
}

/* ---- ops -------------------------------------------------------------- */

static bool
token_ok(struct ws_hub *h, struct ws_client *c, json_t *msg)
{
	const char *want = h->api->conf->http_token, *got;

	if (want == NULL || want[0] == '\0' || c->authed)
		return true;
	got = json_string_value(json_object_get(msg, "token"));
	return got != NULL && strcmp(got, want) == 0;
}

static void
op_subscribe(
    struct ws_hub *h, struct ws_client *c, json_t *id, json_t *msg, bool sub)
{
	json_t *topics = json_object_get(msg, "topics"), *v, *unknown;
	size_t i;

	if (!json_is_array(topics)) {
		reply_error(h, c, id, "%s needs \"topics\": [names]",
		    sub ? "subscribe" : "unsubscribe");
		return;
	}
	unknown = json_array();
	json_array_foreach(topics, i, v)
	{
		const char *name = json_string_value(v);
		int rc;

		if (name == NULL) {
			json_array_append_new(unknown, json_null());
			continue;
		}
		if (!sub) {
			client_unsubscribe(h, c, name);
			continue;
		}
		rc = client_subscribe(h, c, name);
		if (rc == -1)
			json_array_append_new(unknown, json_string(name));
		else if (rc == -2) {
			json_decref(unknown);
			reply_error(h, c, id,
			    "too many subscriptions (at most %d a client)",
			    WS_MAX_SUBS);
			return;
		}
	}
	reply_ok(h, c, id,
	    json_pack(
	        "{s:o, s:o}", "topics", client_topics(c), "unknown", unknown));
}

static void
op_trace(struct ws_hub *h, struct ws_client *c, json_t *id, json_t *msg)
{
	json_t *filter = json_object_get(msg, "filter"),
	       *join = json_object_get(msg, "trace"), *body, *tr, *err;
	char path[64], topic[64];
	struct reply r;
	char *s;

	if (json_is_integer(join)) {
		snprintf(path, sizeof(path), "/api/v1/trace/%lld",
		    (long long)json_integer_value(join));
		api_call(h->api, LWSHUMETH_GET, path, NULL, NULL, 0, &r);
	} else if (json_is_string(filter)) {
		if (!token_ok(h, c, msg)) {
			reply_error(h, c, id,
			    "a trace needs the token (http.token): in the "
			    "upgrade request, ?token= or \"token\"");
			return;
		}
		body = json_pack("{s:O}", "filter", filter);
		s = json_dumps(body, JSON_COMPACT);
		json_decref(body);
		api_call(h->api, LWSHUMETH_POST, "/api/v1/trace", NULL, s,
		    strlen(s), &r);
		free(s);
	} else {
		reply_error(h, c, id,
		    "trace needs \"filter\": \"...\" or \"trace\": ID");
		return;
	}
	tr = r.body ? json_loads(r.body, 0, NULL) : NULL;
	free(r.body);
	if (r.status != 200 && r.status != 201) {
		err = json_object_get(tr, "error");
		reply_error(h, c, id, "%s",
		    json_is_string(err) ? json_string_value(err) : "failed");
		json_decref(tr);
		return;
	}
	snprintf(topic, sizeof(topic), "trace/%lld",
	    (long long)json_integer_value(json_object_get(tr, "id")));
	if (client_subscribe(h, c, topic) < 0) {
		json_decref(tr);
		reply_error(h, c, id,
		    "too many subscriptions (at most %d a client)",
		    WS_MAX_SUBS);
		return;
	}
	/* only the entry: the path follows in the topic's frames */
	json_object_del(tr, "hops");
	reply_ok(
	    h, c, id, json_pack("{s:o, s:s}", "trace", tr, "topic", topic));
}

static void
op_untrace(struct ws_hub *h, struct ws_client *c, json_t *id, json_t *msg)
{
	json_t *t = json_object_get(msg, "trace");
	char topic[64];

	if (!json_is_integer(t)) {
		reply_error(h, c, id, "untrace needs \"trace\": ID");
		return;
	}
	snprintf(topic, sizeof(topic), "trace/%lld",
	    (long long)json_integer_value(t));
	if (!client_unsubscribe(h, c, topic)) {
		reply_error(h, c, id, "not viewing trace %lld",
		    (long long)json_integer_value(t));
		return;
	}
	reply_ok(h, c, id, json_pack("{s:o}", "topics", client_topics(c)));
}

/* One whole message from the client. */
static void
client_message(
    struct ws_hub *h, struct ws_client *c, const char *text, size_t len)
{
	json_error_t je;
	json_t *msg = json_loadb(text, len, 0, &je), *id;
	const char *op;

	if (!json_is_object(msg)) {
		h->st.bad_messages++;
		c->bad++;
		reply_error(h, c, NULL, "not a JSON object: %s", je.text);
		json_decref(msg);
		return;
	}
	id = json_object_get(msg, "id");
	op = json_string_value(json_object_get(msg, "op"));
	if (op == NULL)
		op = "";
	if (strcmp(op, "subscribe") == 0)
		op_subscribe(h, c, id, msg, true);
	else if (strcmp(op, "unsubscribe") == 0)
		op_subscribe(h, c, id, msg, false);
	else if (strcmp(op, "trace") == 0)
		op_trace(h, c, id, msg);
	else if (strcmp(op, "untrace") == 0)
		op_untrace(h, c, id, msg);
	else if (strcmp(op, "ping") == 0)
		reply_ok(h, c, id,
		    json_pack("{s:I}", "now", (json_int_t)now_wall_ms()));
	else {
		h->st.bad_messages++;
		c->bad++;
		reply_error(h, c, id,
		    "unknown op '%.40s': subscribe, unsubscribe, trace, "
		    "untrace or ping",
		    op);
	}
	json_decref(msg);
}

/* ---- the push --------------------------------------------------------- */

static void
push(struct ws_hub *h)
{
	uint64_t t0 = now_mono_us(), version = 0;
	bool version_read = false;

	for (int i = 0; i < h->n_topics; i++) {
		struct ws_topic *t = h->topics[i];

		if (t->gone)
			continue;
		if (strcmp(t->name, "fabric") == 0) {
			if (!version_read) {
				version = topology_version(h);
				version_read = true;
			}
			if (t->latest != NULL && version == t->version)
				continue;
		}
		topic_build(h, t);
	}
	for (struct ws_client *c = h->clients; c != NULL; c = c->next) {
		bool any = false;

		for (int i = 0; i < c->n_subs; i++) {
			struct ws_sub *s = &c->subs[i];

			if (s->topic->latest == NULL ||
			    s->topic->latest == s->pending ||
			    s->topic->seq == s->sent_seq)
				continue;
			if (s->pending != NULL) {
				h->st.superseded++;
				frame_unref(s->pending);
			}
			s->pending = frame_ref(s->topic->latest);
			any = true;
		}
		if (any)
			lws_callback_on_writable(c->wsi);
	}
	h->st.last_push_us = now_mono_us() - t0;
	h->st.pushes++;
}

static void
push_cb(lws_sorted_usec_list_t *sul)
{
	struct ws_hub *h = lws_container_of(sul, struct ws_hub, sul);

	if (h->clients != NULL)
		push(h);
	lws_sul_schedule(h->ctx, 0, &h->sul, push_cb,
	    (lws_usec_t)h->api->conf->push_ms * LWS_US_PER_MS);
}

/*
 * The next frame to send: a reply first, else the next pending topic
 * frame (round robin); NULL when there is none. The caller owns it.
 */
static struct ws_frame *
client_next(struct ws_hub *h, struct ws_client *c)
{
	struct ws_frame *f;
	struct ws_sub *s = NULL;

	if (c->n_replies > 0) {
		f = c->replies[0];
		memmove(c->replies, c->replies + 1,
		    (size_t)(--c->n_replies) * sizeof(c->replies[0]));
		return f;
	}
	for (int k = 0; k < c->n_subs; k++) {
		int i = (c->rr + k) % c->n_subs;

		if (c->subs[i].pending != NULL) {
			s = &c->subs[i];
			c->rr = i + 1;
			break;
		}
	}
	if (s == NULL)
		return NULL;
	f = s->pending;
	s->pending = NULL;
	s->sent_seq = s->topic->seq;
	/* a gone trace: told once, then dropped */
	if (s->topic->gone)
		client_unsub_at(h, c, (int)(s - c->subs));
	return f;
}

/*
 * Write the next fragment of the frame being sent (starting the next
 * frame if none is), and ask to write again while anything is left.
 */
static int
client_write(struct ws_hub *h, struct ws_client *c)
{
	struct ws_frame *f;
	size_t n;
	int flags;

	if (c->out == NULL) {
		c->out = client_next(h, c);
		c->out_off = 0;
	}
	if ((f = c->out) == NULL)
		return 0;
	n = f->len - c->out_off < WS_CHUNK ? f->len - c->out_off : WS_CHUNK;
	/* the fragment in a buffer of the client's: lws writes its header
	 * into the LWS_PRE bytes before it, which in the frame hold text
	 * that other clients have yet to send */
	if (c->chunk == NULL)
		c->chunk = xmalloc(LWS_PRE + WS_CHUNK);
	memcpy(c->chunk + LWS_PRE, f->buf + LWS_PRE + c->out_off, n);
	flags = lws_write_ws_flags(
	    LWS_WRITE_TEXT, c->out_off == 0, c->out_off + n == f->len);
	if (lws_write(c->wsi, c->chunk + LWS_PRE, n,
	        (enum lws_write_protocol)flags) < (int)n)
		return -1;
	c->out_off += n;
	if (c->out_off < f->len) {
		lws_callback_on_writable(c->wsi);
		return 0;
	}
	h->st.frames_sent++;
	h->st.bytes_sent += f->len;
	frame_unref(f);
	c->out = NULL;
	/* more to send: ask again (lws waits until this one is out) */
	if (c->n_replies > 0)
		lws_callback_on_writable(c->wsi);
	else
		for (int i = 0; i < c->n_subs; i++)
			if (c->subs[i].pending != NULL) {
				lws_callback_on_writable(c->wsi);
				break;
			}
	return 0;
}

/* ---- the handshake ---------------------------------------------------- */

/* "scheme://host[:port]" → "host[:port]", lower-cased, into buf. */
static void
origin_host(const char *origin, char *buf, size_t len)
{
	const char *p = strstr(origin, "://");
	size_t i = 0;

	p = p ? p + 3 : origin;
	for (; *p != '\0' && *p != '/' && i + 1 < len; p++)
		buf[i++] = (char)((*p >= 'A' && *p <= 'Z') ? *p + 32 : *p);
	buf[i] = '\0';
}

static bool
origin_allowed(struct ws_hub *h, struct lws *wsi)
{
	char origin[256], host[256], oh[256];
	const char *list = h->api->conf->ws_origins, *p;

	if (lws_hdr_copy(wsi, origin, sizeof(origin), WSI_TOKEN_ORIGIN) <= 0)
		return true; /* not a browser: fabtop, scripts */
	origin_host(origin, oh, sizeof(oh));
	if (lws_hdr_copy(wsi, host, sizeof(host), WSI_TOKEN_HOST) > 0) {
		for (char *q = host; *q; q++)
			if (*q >= 'A' && *q <= 'Z')
				*q = (char)(*q + 32);
		if (strcmp(oh, host) == 0)
			return true;
	}
	for (p = list; p != NULL && *p != '\0';) {
		size_t n = strcspn(p, ",");
		char want[256];

		while (n > 0 && *p == ' ') {
			p++;
			n--;
		}
		snprintf(want, sizeof(want), "%.*s", (int)n, p);
		if (strcmp(want, "*") == 0 || strcasecmp(want, origin) == 0)
			return true;
		p += n + (p[n] == ',');
	}
	return false;
}

static bool
upgrade_path_ok(struct lws *wsi)
{
	char uri[256];
	int n = lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI);

	/* "/ws", or ".../ws" behind a reverse proxy that kept its prefix */
	return n >= 3 && strcmp(uri + n - 3, "/ws") == 0;
}

static bool
upgrade_token(struct ws_hub *h, struct lws *wsi)
{
	const char *want = h->api->conf->http_token, *v;
	char buf[512];

	if (want == NULL || want[0] == '\0')
		return true;
	if (lws_hdr_copy(wsi, buf, sizeof(buf), WSI_TOKEN_HTTP_AUTHORIZATION) >
	        0 &&
	    strncasecmp(buf, "Bearer ", 7) == 0 && strcmp(buf + 7, want) == 0)
		return true;
	if (lws_hdr_custom_copy(wsi, buf, sizeof(buf), "x-auth-token:", 13) >
	        0 &&
	    strcmp(buf, want) == 0)
		return true;
	/* lws copies the whole "token=T" and answers a pointer to T */
	if ((v = lws_get_urlarg_by_name(wsi, "token=", buf, sizeof(buf))) !=
	        NULL &&
	    strcmp(v, want) == 0)
		return true;
	return false;
}

/* ---- the lws protocol ------------------------------------------------- */

int
ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	struct api_ctx *api = lws_context_user(lws_get_context(wsi));
	struct ws_client *c = user;
	struct ws_hub *h = api->ws;

	switch (reason) {
	case LWS_CALLBACK_PROTOCOL_INIT:
		if (api->ws == NULL) {
			api->ws = xcalloc(1, sizeof(*api->ws));
			api->ws->api = api;
			api->ws->ctx = lws_get_context(wsi);
			lws_sul_schedule(api->ws->ctx, 0, &api->ws->sul,
			    push_cb,
			    (lws_usec_t)api->conf->push_ms * LWS_US_PER_MS);
		}
		return 0;
	case LWS_CALLBACK_PROTOCOL_DESTROY:
		if (h != NULL) {
			lws_sul_cancel(&h->sul);
			for (int i = 0; i < h->n_topics; i++) {
				frame_unref(h->topics[i]->latest);
				free(h->topics[i]);
			}
			free(h);
			api->ws = NULL;
		}
		return 0;
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		if (h == NULL)
			return 1;
		if (!upgrade_path_ok(wsi) || !origin_allowed(h, wsi) ||
		    h->st.clients >= (uint64_t)api->conf->ws_max_clients) {
			h->st.refused++;
			return 1; /* lws answers 403 */
		}
		return 0;
	case LWS_CALLBACK_ESTABLISHED: {
		json_t *topics = json_array(), *hello;
		struct reply r;

		memset(c, 0, sizeof(*c));
		c->wsi = wsi;
		c->authed = upgrade_token(h, wsi);
		c->next = h->clients;
		h->clients = c;
		c->linked = true;
		h->st.clients++;
		h->st.connections++;
		for (size_t i = 0; i < nitems(static_topics); i++)
			json_array_append_new(
			    topics, json_string(static_topics[i]));
		json_array_append_new(topics, json_string("trace/ID"));
		json_array_append_new(topics, json_string("linktop/LINK"));
		api_call(api, LWSHUMETH_GET, "/api/v1/ha", NULL, NULL, 0, &r);
		hello = json_pack("{s:i, s:s, s:{s:s, s:i, s:o, s:o?, s:I}}",
		    "v", 1, "t", "hello", "data", "version", FABMON_VERSION,
		    "pushMs", api->conf->push_ms, "topics", topics, "ha",
		    r.body ? json_loads(r.body, 0, NULL) : NULL, "now",
		    (json_int_t)now_wall_ms());
		free(r.body);
		client_queue_reply(h, c, hello);
		return 0;
	}
	case LWS_CALLBACK_RECEIVE:
		if (c->rx_overflow || c->rx_len + len > WS_RX_MAX) {
			c->rx_overflow = true;
		} else {
			c->rx = xrealloc(c->rx, c->rx_len + len + 1);
			memcpy(c->rx + c->rx_len, in, len);
			c->rx_len += len;
		}
		if (!lws_is_final_fragment(wsi) ||
		    lws_remaining_packet_payload(wsi) > 0)
			return 0;
		if (c->rx_overflow) {
			h->st.bad_messages++;
			c->bad++;
			reply_error(
			    h, c, NULL, "message over %d bytes", WS_RX_MAX);
		} else
			client_message(h, c, c->rx ? c->rx : "", c->rx_len);
		c->rx_len = 0;
		c->rx_overflow = false;
		if (c->bad > WS_MAX_BAD) {
			lws_close_reason(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION,
			    (unsigned char *)"too many bad messages", 21);
			return -1;
		}
		return 0;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return client_write(h, c);
	case LWS_CALLBACK_CLOSED:
		if (h != NULL && c != NULL)
			client_free(h, c);
		return 0;
	default:
		return 0;
	}
}

/* ---- health ----------------------------------------------------------- */

void
ws_get_stats(struct api_ctx *api, struct ws_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (api->ws != NULL) {
		*st = api->ws->st;
		st->refused += api->ws_refused;
		for (struct ws_client *c = api->ws->clients; c; c = c->next)
			st->subscriptions += (uint64_t)c->n_subs;
	}
}

json_t *
api_ws_health(struct api_ctx *api)
{
	struct ws_stats st;

	ws_get_stats(api, &st);
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
	                 "s:I}",
	    "clients", (json_int_t)st.clients, "connections",
	    (json_int_t)st.connections, "subscriptions",
	    (json_int_t)st.subscriptions, "framesBuilt",
	    (json_int_t)st.frames_built, "framesSent",
	    (json_int_t)st.frames_sent, "superseded", (json_int_t)st.superseded,
	    "bytesSent", (json_int_t)st.bytes_sent, "badMessages",
	    (json_int_t)st.bad_messages, "refused", (json_int_t)st.refused,
	    "repliesDropped", (json_int_t)st.replies_dropped, "lastPushUs",
	    (json_int_t)st.last_push_us);
}
