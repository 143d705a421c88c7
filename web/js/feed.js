// feed.js: the one connection to fabmond, the /ws push channel
// (API.md "The push channel: /ws", subprotocol fabmon.v1).
//
// It keeps the latest frame of every topic (the daemon sends the latest,
// never a backlog), re-subscribes and re-joins the trace after a
// reconnect, and reconnects with back-off: 0.5 s doubling to 10 s. The
// views only render what it hands them; nothing here computes fabric
// state.
//
// ?transport=poll swaps the websocket for GETs of the same bodies once a
// push period (each topic's data is exactly a GET body): for a reverse
// proxy that cannot pass websockets. The default is /ws.

const BACKOFF_MIN = 500;
const BACKOFF_MAX = 10000;
const REPLY_TIMEOUT = 10000;

// topic -> the GET whose body is its data (API.md's topic table)
function topicURL(topic) {
	const fixed = {
		fabric: './api/v1/topology', links: './api/v1/links', top: './api/v1/top',
		blackholes: './api/v1/blackholes', events: './api/v1/events?max=50',
		health: './api/v1/health', ha: './api/v1/ha',
	};
	if (fixed[topic])
		return fixed[topic];
	if (topic.startsWith('trace/'))
		return `./api/v1/trace/${encodeURIComponent(topic.slice(6))}`;
	if (topic.startsWith('linktop/'))
		return `./api/v1/top/link/${encodeURIComponent(topic.slice(8))}`;
	return null;
}

// The websocket URL relative to the page. A ?token=T on the page's URL
// (fabmond with http.token: creating traces needs it) goes along.
export function wsURL(loc = location) {
	const u = new URL('ws', loc.href);
	u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
	const token = new URLSearchParams(loc.search).get('token');
	u.search = token ? `?token=${encodeURIComponent(token)}` : '';
	u.hash = '';
	return u.href;
}

function authHeaders() {
	const token = new URLSearchParams(location.search).get('token');
	return token ? {Authorization: `Bearer ${token}`} : {};
}

export class Feed {
	constructor({transport = 'ws', url = wsURL()} = {}) {
		this.transport = transport;
		this.url = url;
		this.ws = null;
		this.state = 'connecting';   // connecting | open | down
		this.hello = null;
		this.frames = new Map();     // topic -> {data, seq, ts, at}
		this.wanted = new Set();     // topics to (re)subscribe
		this.listeners = new Map();  // topic or '@state', '@hello', '@trace' -> Set(fn)
		this.pending = new Map();    // op id -> {resolve, reject, timer}
		this.nextId = 1;
		this.backoff = BACKOFF_MIN;
		this.retryAt = null;
		this.attempt = 0;
		this.lastFrameAt = null;     // when the last message arrived (ms)
		this.lastDataTs = null;      // the newest frame's ts (daemon clock)
		this.downSince = null;       // when the connection was lost
		this.trace = null;           // {id, filter, topic}
		this.pollTimer = null;
		this.connect();
	}

	// ---- listeners --------------------------------------------------
	on(topic, fn) {
		if (!this.listeners.has(topic))
			this.listeners.set(topic, new Set());
		this.listeners.get(topic).add(fn);
		const f = this.frames.get(topic);
		if (f && !topic.startsWith('@'))
			fn(f.data, f);
		return () => this.listeners.get(topic).delete(fn);
	}

	emit(topic, ...args) {
		for (const fn of this.listeners.get(topic) || []) {
			try {
				fn(...args);
			} catch (e) {
				console.warn(`fabmon: a view failed on ${topic}:`, e);
			}
		}
	}

	latest(topic) {
		const f = this.frames.get(topic);
		return f ? f.data : undefined;
	}

	pushMs() {
		return (this.hello && this.hello.pushMs) || 1000;
	}

	setState(st) {
		if (st === this.state)
			return;
		if (st === 'down' && this.downSince === null)
			this.downSince = Date.now();
		if (st === 'open')
			this.downSince = null;
		this.state = st;
		this.emit('@state', st);
	}

	// ---- connection -------------------------------------------------
	connect() {
		this.retryAt = null;
		this.attempt++;
		if (this.transport === 'poll')
			return this.startPolling();
		if (this.state !== 'down')
			this.setState('connecting');
		let ws;
		try {
			ws = new WebSocket(this.url, 'fabmon.v1');
		} catch (e) {
			console.warn('fabmon: websocket:', e);
			return this.scheduleReconnect();
		}
		this.ws = ws;
		this.connectStarted = Date.now();
		this.watchSilence();
		ws.onopen = () => {
			if (ws !== this.ws)
				return;
			this.sendSubscriptions();
		};
		ws.onmessage = (ev) => {
			if (ws !== this.ws)
				return;
			let msg;
			try {
				msg = JSON.parse(ev.data);
			} catch (e) {
				console.warn('fabmon: a frame that is not JSON');
				return;
			}
			this.onMessage(msg);
		};
		ws.onclose = () => {
			if (ws !== this.ws)
				return;
			this.ws = null;
			this.failPending('connection lost');
			this.setState('down');
			this.scheduleReconnect();
		};
		// onerror is always followed by onclose; the browser logs nothing
		// to the console for a refused websocket beyond its own line.
		ws.onerror = () => {};
	}

	// A connection that has gone silent is dead even if the socket is
	// not closed: after an HA failover the old master may keep the TCP
	// connection half-open without sending (keepalived stopped, its link
	// down, fabmond hung). Give up on it after 2 push periods (at least
	// 1.5 s) without a message, and reconnect to the same address: the
	// new master answers there within the 2 s a failover may take.
	watchSilence() {
		if (this.watchdog)
			return;
		this.watchdog = setInterval(() => {
			const ws = this.ws;
			// a hung server accepts the connection and never answers
			// the upgrade: try again (the VIP may have moved)
			if (ws && ws.readyState === WebSocket.CONNECTING &&
			    Date.now() - this.connectStarted > 3000) {
				this.ws = null;
				try {
					ws.close();
				} catch (e) { /* still connecting */ }
				this.setState('down');
				this.scheduleReconnect();
				return;
			}
			if (!ws || this.state !== 'open' || !this.lastFrameAt)
				return;
			if (Date.now() - this.lastFrameAt < Math.max(1500, 2 * this.pushMs()))
				return;
			this.ws = null;
			try {
				ws.close();
			} catch (e) { /* already closing */ }
			this.failPending('no frame from fabmond');
			this.setState('down');
			this.scheduleReconnect();
		}, 500);
	}

	scheduleReconnect() {
		const delay = this.backoff;
		this.backoff = Math.min(this.backoff * 2, BACKOFF_MAX);
		this.retryAt = Date.now() + delay;
		this.emit('@state', this.state);
		clearTimeout(this.retryTimer);
		this.retryTimer = setTimeout(() => this.connect(), delay);
	}

	// Try now (the banner's "retry now").
	retryNow() {
		if (this.state === 'open')
			return;
		clearTimeout(this.retryTimer);
		this.connect();
	}

	failPending(why) {
		for (const [, p] of this.pending) {
			clearTimeout(p.timer);
			p.reject(new Error(why));
		}
		this.pending.clear();
	}

	onMessage(msg) {
		this.lastFrameAt = Date.now();
		if (msg.v !== 1) {
			console.warn(`fabmon: protocol version ${msg.v}, this page speaks 1`);
			if (msg.v > 1)
				return;
		}
		switch (msg.t) {
		case 'hello':
			this.hello = msg.data || {};
			this.backoff = BACKOFF_MIN;
			this.attempt = 0;
			this.setState('open');
			this.emit('@hello', this.hello);
			if (this.hello.ha)
				this.store('ha', this.hello.ha, {seq: null, ts: this.hello.now});
			break;
		case 'event':
			if (this.state !== 'open')
				this.setState('open');
			this.store(msg.topic, msg.data, msg);
			break;
		case 'reply':
		case 'error': {
			const p = this.pending.get(msg.id);
			if (!p) {
				if (msg.t === 'error')
					console.warn(`fabmon: daemon error: ${msg.error}`);
				return;
			}
			this.pending.delete(msg.id);
			clearTimeout(p.timer);
			if (msg.t === 'reply' && msg.ok !== false)
				p.resolve(msg.data);
			else
				p.reject(new Error(msg.error || 'refused'));
			break;
		}
		default:
			break;   // new message types never break a client
		}
	}

	store(topic, data, msg) {
		const f = {data, seq: msg.seq, ts: msg.ts, at: Date.now()};
		this.frames.set(topic, f);
		if (msg.ts)
			this.lastDataTs = msg.ts;
		this.emit(topic, data, f);
		this.emit('@frame', topic, f);
	}

	// ---- ops --------------------------------------------------------
	request(op) {
		if (this.transport === 'poll')
			return Promise.reject(new Error('no websocket'));
		return new Promise((resolve, reject) => {
			if (!this.ws || this.ws.readyState !== WebSocket.OPEN)
				return reject(new Error('not connected'));
			const id = this.nextId++;
			// Browsers cannot send headers with a websocket: the token
			// also rides in the op that needs it.
			const token = op.op === 'trace' && new URLSearchParams(location.search).get('token');
			if (token)
				op = Object.assign({token}, op);
			const timer = setTimeout(() => {
				this.pending.delete(id);
				reject(new Error('no reply'));
			}, REPLY_TIMEOUT);
			this.pending.set(id, {resolve, reject, timer});
			this.ws.send(JSON.stringify(Object.assign({id}, op)));
		});
	}

	async sendSubscriptions() {
		const topics = [...this.wanted].filter((t) => !t.startsWith('trace/'));
		if (topics.length)
			this.request({op: 'subscribe', topics}).catch((e) =>
				console.warn('fabmon: subscribe:', e.message));
		if (this.trace)
			this.rejoinTrace();
	}

	subscribe(...topics) {
		const fresh = topics.filter((t) => !this.wanted.has(t));
		fresh.forEach((t) => this.wanted.add(t));
		if (!fresh.length)
			return;
		if (this.transport === 'poll')
			return this.pollOnce(fresh);
		if (this.ws && this.ws.readyState === WebSocket.OPEN)
			this.request({op: 'subscribe', topics: fresh}).catch((e) =>
				console.warn('fabmon: subscribe:', e.message));
	}

	unsubscribe(...topics) {
		const gone = topics.filter((t) => this.wanted.delete(t));
		gone.forEach((t) => this.frames.delete(t));
		if (!gone.length || this.transport === 'poll')
			return;
		if (this.ws && this.ws.readyState === WebSocket.OPEN)
			this.request({op: 'unsubscribe', topics: gone}).catch(() => {});
	}

	// Start a trace (API.md: op trace); resolves with the trace object.
	async startTrace(filter) {
		await this.stopTrace();
		let tr;
		if (this.transport === 'poll') {
			const r = await fetch('./api/v1/trace', {
				method: 'POST', body: JSON.stringify({filter}),
				headers: Object.assign({'Content-Type': 'application/json'}, authHeaders())});
			const j = await r.json();
			if (!r.ok)
				throw new Error(j.error || `${r.status}`);
			tr = {trace: j, topic: `trace/${j.id}`};
		} else {
			tr = await this.request({op: 'trace', filter});
		}
		this.trace = {id: tr.trace.id, filter, topic: tr.topic || `trace/${tr.trace.id}`, info: tr.trace};
		this.wanted.add(this.trace.topic);
		this.emit('@trace', this.trace);
		if (this.transport === 'poll')
			this.pollOnce([this.trace.topic]);
		return this.trace;
	}

	async stopTrace() {
		const t = this.trace;
		if (!t)
			return;
		this.trace = null;
		this.wanted.delete(t.topic);
		this.frames.delete(t.topic);
		this.emit('@trace', null);
		if (this.transport !== 'poll' && this.ws && this.ws.readyState === WebSocket.OPEN)
			await this.request({op: 'untrace', trace: t.id}).catch(() => {});
	}

	// After a reconnect: join the same trace; if the daemon no longer has
	// it (it restarted, or the peer took over), create it again.
	async rejoinTrace() {
		const t = this.trace;
		try {
			const r = await this.request({op: 'trace', trace: t.id});
			// A restarted daemon numbers its traces from 1 again: the
			// same id may now be someone else's filter.
			if (r && r.trace && r.trace.filter !== undefined && r.trace.filter !== t.filter) {
				await this.request({op: 'untrace', trace: t.id}).catch(() => {});
				throw new Error('another trace');
			}
		} catch (e) {
			if (this.trace !== t)
				return;
			try {
				const tr = await this.request({op: 'trace', filter: t.filter});
				this.wanted.delete(t.topic);
				this.frames.delete(t.topic);
				this.trace = {id: tr.trace.id, filter: t.filter,
					topic: tr.topic || `trace/${tr.trace.id}`, info: tr.trace};
				this.wanted.add(this.trace.topic);
				this.emit('@trace', this.trace);
			} catch (e2) {
				console.warn('fabmon: trace:', e2.message);
			}
		}
	}

	// ---- polling transport ------------------------------------------
	startPolling() {
		clearInterval(this.pollTimer);
		fetch('./api/v1/health', {cache: 'no-store'}).then((r) => r.json()).then((hh) => {
			this.hello = {version: hh.version, pushMs: 1000, topics: [], now: hh.now, transport: 'poll'};
			this.backoff = BACKOFF_MIN;
			this.setState('open');
			this.emit('@hello', this.hello);
			this.pollOnce([...this.wanted]);
			this.pollTimer = setInterval(() => this.pollOnce([...this.wanted]), 1000);
		}).catch(() => {
			this.setState('down');
			this.scheduleReconnect();
		});
	}

	pollOnce(topics) {
		if (this.state !== 'open')
			return;
		let failed = 0;
		Promise.all(topics.map(async (t) => {
			const url = topicURL(t);
			if (!url)
				return;
			try {
				const r = await fetch(url, {cache: 'no-store'});
				if (r.status === 503) {
					this.store(t, null, {ts: Date.now()});
					return;
				}
				if (!r.ok)
					return;
				this.store(t, await r.json(), {ts: Date.now()});
			} catch (e) {
				failed++;
			}
		})).then(() => {
			if (failed && failed === topics.length && this.state === 'open') {
				clearInterval(this.pollTimer);
				this.setState('down');
				this.scheduleReconnect();
			}
		});
	}
}
