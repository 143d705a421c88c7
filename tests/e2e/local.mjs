#!/usr/bin/env node
// local.mjs: the web page against a fabmond on loopback, no lab (a few
// seconds; for the daemon suite). It starts $BUILD/fabmond (BUILD:
// build/asan under tests/run.sh, else build) with its own ports and state
// dir and SNMP off, PUTs the lab's leaf-spine topology (2 spines, 4
// leaves, 8 links) and checks:
// - the page loads with no console error and no CSP violation, draws the
//   map from the pushed topology, and shows the HA role;
// - a bad trace filter shows the daemon's error; key completion falls
//   back to the built-in keys (fabmond has no ./flowkeys/json);
// - an ECMP collision and a trace's discard point are marked (synthetic
//   frames: the lab cannot make either); the recorded golden frames
//   (tests/golden/ws) render in every view;
// - with http.token, a trace needs ?token= on the page's URL;
// - behind a reverse proxy under a prefix (/fabmon/, a small proxy here
//   that also passes the websocket upgrade) everything still works: the
//   page's URLs are all relative;
// - fabmond killed: the stale banner; restarted on the same port: the
//   page recovers without a reload;
// - wall mode: large type, no controls, rotation.
// Every process it starts is stopped by PID.

import {spawn} from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {ok, note, until, sleep, launch, Watch, openPage, mapSummary, wallChecks,
	allowFlowkeys404, allowDown, result} from './lib.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BUILD = process.env.BUILD || 'build';
const FABMOND = path.resolve(ROOT, BUILD, 'fabmond');

function freePort() {
	return new Promise((resolve, reject) => {
		const s = net.createServer();
		s.once('error', reject);
		s.listen(0, '127.0.0.1', () => {
			const p = s.address().port;
			s.close(() => resolve(p));
		});
	});
}

class Daemon {
	constructor(tmp, httpPort, sflowPort, extra = []) {
		this.tmp = tmp;
		this.extra = extra;
		this.httpPort = httpPort;
		this.sflowPort = sflowPort;
		this.log = fs.openSync(path.join(tmp, 'fabmond.log'), 'a');
		this.proc = null;
	}

	async start() {
		this.proc = spawn(FABMOND, ['-d', '--sflow', `127.0.0.1:${this.sflowPort}`,
			'--http', `127.0.0.1:${this.httpPort}`, '--state-dir', path.join(this.tmp, 'state'),
			'-o', 'snmp.enable=0', '-o', 'engine.push_ms=250', ...this.extra],
		{stdio: ['ignore', this.log, this.log]});
		this.stopping = false;
		this.exited = new Promise((r) => this.proc.once('exit', (code, sig) => {
			if (!this.stopping)
				note(`fabmond exited by itself or was signalled from outside (${sig || code})`);
			r();
		}));
		return until(async () => (await get(this.url('/version'))).status === 200, 10000, 50);
	}

	url(p = '/') {
		return `http://127.0.0.1:${this.httpPort}${p}`;
	}

	async stop(signal = 'SIGTERM') {
		if (!this.proc || this.proc.exitCode !== null || this.proc.signalCode !== null)
			return;
		this.stopping = true;
		this.proc.kill(signal);
		const t = setTimeout(() => this.proc.kill('SIGKILL'), 10000);
		await this.exited;
		clearTimeout(t);
	}
}

function get(url, {method = 'GET', body} = {}) {
	return new Promise((resolve) => {
		// Content-Length, not chunked: fabmond reads a body of a known length
		const headers = body ? {'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body)} : {};
		const req = http.request(url, {method, headers}, (res) => {
			let data = '';
			res.on('data', (c) => { data += c; });
			res.on('end', () => resolve({status: res.statusCode, body: data, headers: res.headers}));
		});
		req.on('error', () => resolve({status: 0, body: ''}));
		if (body)
			req.write(body);
		req.end();
	});
}

// The lab's fabric as an sFlow-RT topology document.
function labTopology() {
	const nodes = {}, links = {};
	for (const sp of [1, 2])
		nodes[`s${sp}`] = {agent: `10.99.0.1${sp}`, ports: Object.fromEntries([1, 2, 3, 4].map((n) => [`swp${n}`, {ifindex: String(n + 1)}]))};
	for (const l of [1, 2, 3, 4]) {
		nodes[`l${l}`] = {agent: `10.99.0.2${l}`, ports: Object.fromEntries([1, 2, 3].map((n) => [`swp${n}`, {ifindex: String(n + 1)}]))};
		for (const sp of [1, 2])
			links[`l${l}:swp${sp}-s${sp}:swp${l}`] = {node1: `l${l}`, port1: `swp${sp}`, node2: `s${sp}`, port2: `swp${l}`};
	}
	return {nodes, links};
}

// A reverse proxy that serves fabmond under /fabmon/ (prefix stripped, as
// nginx's proxy_pass http://fabmond/ does), websocket upgrades included.
function startProxy(port, target) {
	const strip = (u) => u.replace(/^\/fabmon(?=\/)/, '');
	const srv = http.createServer((req, res) => {
		if (!req.url.startsWith('/fabmon/')) {
			res.writeHead(404).end('not under /fabmon/');
			return;
		}
		const up = http.request({host: '127.0.0.1', port: target, path: strip(req.url), method: req.method,
			headers: req.headers}, (r) => {
			res.writeHead(r.statusCode, r.headers);
			r.pipe(res);
		});
		up.on('error', () => res.writeHead(502).end());
		req.pipe(up);
	});
	srv.on('upgrade', (req, sock, head) => {
		const up = net.connect(target, '127.0.0.1', () => {
			let hdr = `${req.method} ${strip(req.url)} HTTP/1.1\r\n`;
			for (let i = 0; i < req.rawHeaders.length; i += 2)
				hdr += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
			up.write(`${hdr}\r\n`);
			up.write(head);
			sock.pipe(up).pipe(sock);
		});
		up.on('error', () => sock.destroy());
		sock.on('error', () => up.destroy());
	});
	return new Promise((r) => srv.listen(port, '127.0.0.1', () => r(srv)));
}

// The frames the lead recorded from the lab (tests/golden/ws/*.json): the
// page, unsubscribed from the live daemon, is handed each one as if
// pushed, and every view renders it.
async function goldenFrames(browser, d, watch, csp) {
	const dir = path.join(ROOT, 'tests', 'golden', 'ws');
	if (!fs.existsSync(dir)) {
		note('no tests/golden/ws: golden frames not checked');
		return;
	}
	const frames = fs.readdirSync(dir).filter((f) => f.endsWith('.json'))
		.map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')))
		.filter((f) => f.t === 'event');
	const page = (await openPage(browser, d.url('/'), watch)).page;
	await until(() => page.evaluate(() => window.fabmon.feed.state === 'open'), 5000);
	const got = await page.evaluate(async (frames) => {
		const f = window.fabmon.feed;
		f.unsubscribe('fabric', 'links', 'top', 'blackholes', 'events', 'health', 'ha');
		await new Promise((r) => setTimeout(r, 300));
		const trace = frames.find((x) => x.topic.startsWith('trace/'));
		if (trace) {
			f.trace = {id: trace.data.id, filter: trace.data.filter, topic: trace.topic};
			f.emit('@trace', f.trace);
		}
		for (const x of frames)
			f.store(x.topic, x.data, x);
		const out = {};
		const q = (s) => [...document.querySelectorAll(s)];
		for (const v of ['map', 'top', 'trace', 'events', 'status']) {
			location.hash = `#${v}`;
			await new Promise((r) => setTimeout(r, 150));
		}
		out.nodes = q('#map-main g.node').map((g) => g.dataset.node).join(' ');
		out.links = q('#map-main g.link').length;
		out.top = q('#top-flows tbody tr').map((t) => t.textContent).join(' ');
		out.trace = document.querySelector('#trace-summary').dataset.path;
		out.bh = q('#bh-live tbody tr').map((t) => t.textContent).join(' ');
		out.bhMark = q('#map-main .blackhole-mark').map((m) => m.dataset.node).join(' ');
		out.agents = q('#st-agents tbody tr').length;
		// the discard point: the same trace dying at its last hop (a
		// profile-A lab cannot make discard samples: uacctd has none)
		if (trace) {
			location.hash = '#trace';
			const dt = JSON.parse(JSON.stringify(trace.data));
			const last = dt.hops[dt.hops.length - 1];
			last.discard = {reason: 'acl'};
			last.outPort = null;
			last.outIfIndex = 'discard';
			dt.egress = null;
			dt.diesAt = {node: last.node, stage: last.stage, reason: 'acl'};
			f.store(trace.topic, dt, {seq: 99, ts: Date.now()});
			await new Promise((r) => setTimeout(r, 100));
			const m = document.querySelector('#map-trace .dies-mark');
			out.dies = m ? `${m.dataset.node}: ${m.textContent}` : null;
			out.diesStatus = document.querySelector('#trace-status').textContent;
		}
		return out;
	}, frames);
	ok(got.dies && /^l4: dies: acl/.test(got.dies) && /dies at l4 \(acl\)/.test(got.diesStatus),
		'web-local/trace: the discard point (diesAt) marked on the map', `${got.dies} | ${got.diesStatus}`);
	ok(got.links === 8 && /s1/.test(got.nodes) && /l4/.test(got.nodes) && /10\.2\.1\.11/.test(got.top) &&
		/^l1,s[12],l4$/.test(got.trace || '') && /valley/.test(got.bh) && /l4/.test(got.bhMark) && got.agents > 0,
	`web-local/the golden frames (tests/golden/ws, ${frames.length} topics) render in every view`, JSON.stringify(got));
	csp.push(...await page.evaluate(() => window.__csp || []));
	await page.close();
}

// With http.token, creating a trace needs the token: ?token=T on the
// page's URL is passed along.
async function tokenCheck(browser, tmp, watch, csp) {
	const dir = path.join(tmp, 'token');
	fs.mkdirSync(dir);
	const t = new Daemon(dir, await freePort(), await freePort(), ['-o', 'http.token=s3cret']);
	try {
		ok(await t.start(), 'web-local/a fabmond with http.token starts');
		const said = [];
		for (const q of ['', '?token=s3cret']) {
			const page = (await openPage(browser, t.url(`/${q}#trace`), watch)).page;
			await until(() => page.evaluate(() => window.fabmon.feed.state === 'open'), 5000);
			await page.fill('#trace-filter', 'ipsource=10.2.1.11');
			await page.press('#trace-filter', 'Enter');
			said.push(await until(() => page.evaluate(() => {
				const s = document.querySelector('#trace-status').textContent;
				return /refused|waiting/.test(s) ? s : null;
			}), 5000));
			csp.push(...await page.evaluate(() => window.__csp || []));
			await page.close();
		}
		ok(/refused.*token/.test(said[0] || '') && /^trace \d+: waiting/.test(said[1] || ''),
			'web-local/http.token: a trace needs ?token= on the page URL', said.join(' | '));
	} finally {
		await t.stop();
	}
}

async function main() {
	if (!fs.existsSync(FABMOND)) {
		ok(false, 'web-local/fabmond built', `${FABMOND} missing`);
		process.exit(1);
	}
	const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fabmon-web-local-'));
	const d = new Daemon(tmp, await freePort(), await freePort());
	let proxy = null;
	let browser = null;
	const watch = new Watch();
	const csp = [];
	try {
		ok(await d.start(), 'web-local/fabmond starts');
		const idx = await get(d.url('/'));
		ok(idx.status === 200 && /<script type="module" src="\.\/js\/main\.js">/.test(idx.body),
			'web-local/fabmond serves web/index.html at /', `${idx.status}`);
		const csph = idx.headers['content-security-policy'] || '';
		ok(/script-src 'self'/.test(csph) && !/unsafe-inline/.test(csph),
			'web-local/with a strict Content-Security-Policy', csph);
		const js = await get(d.url('/node_modules/uplot/dist/uPlot.esm.js'));
		ok(js.status === 200 && /javascript/.test(js.headers['content-type'] || ''),
			'web-local/uPlot served from web/node_modules as JavaScript', `${js.status} ${js.headers['content-type']}`);
		const put = await get(d.url('/topology/json'), {method: 'PUT', body: JSON.stringify(labTopology())});
		ok(put.status === 200, 'web-local/topology imported', put.body);

		browser = await launch();
		const opened = await openPage(browser, d.url('/'), watch);
		const page = opened.page;
		const m = await until(async () => {
			const s = await mapSummary(page);
			return s.links.length === 8 ? s : null;
		}, 10000);
		note(`page load ${opened.loadMs} ms, map drawn`);
		ok(m && m.nodes.filter((n) => n.role === 'spine').length === 2 &&
			m.nodes.filter((n) => n.role === 'leaf').length === 4,
		'web-local/map from the pushed topology: 2 spines, 4 leaves, 8 links', JSON.stringify(m && m.nodes));
		const role = await until(() => page.evaluate(() => {
			const t = document.querySelector('#chip-role').textContent;
			return /STANDALONE/.test(t) ? t : null;
		}), 5000);
		ok(role, 'web-local/header: HA role STANDALONE', role);

		// An ECMP collision needs links above fabric.busy_pct (80 %) that
		// no lab reaches: hand the map a top frame shaped as API.md says
		// (the daemon's own next frame replaces it).
		await page.evaluate(() => {
			const f = window.fabmon.feed;
			const top = Object.assign({}, f.latest('top') || {}, {collisions: [{id: 1, link: 'l1:swp1-s1:swp1',
				from: 'l1', to: 's1', utilization: 91.5, bps: 9.15e9, count: 2,
				elephants: ['10.2.1.11,10.2.4.15,17,1,53', '10.2.1.12,10.2.4.16,17,2,53'],
				start: Date.now(), lastSeen: Date.now()}]});
			f.store('top', top, {seq: 0, ts: Date.now()});
		});
		const coll = await page.evaluate(() => {
			const m = document.querySelector('#map-main .collision-mark[data-link="l1:swp1-s1:swp1"]');
			return m ? `${m.textContent} | ${document.querySelector('#map-coll').textContent}` : null;
		});
		ok(coll && /×2/.test(coll) && /91\.5 %/.test(coll), 'web-local/map: an ECMP collision is marked on its link', coll);

		// a bad filter: the daemon's error reply is shown
		await page.evaluate(() => { location.hash = '#trace'; });
		await page.fill('#trace-filter', 'ipsource=10.0.0.0/33');
		await page.press('#trace-filter', 'Enter');
		const err = await until(() => page.evaluate(() => {
			const t = document.querySelector('#trace-status').textContent;
			return /refused/.test(t) ? t : null;
		}), 5000);
		ok(err, 'web-local/trace: a bad filter shows fabmond\'s error', err);
		// the built-in key list when ./flowkeys/json is missing
		await page.fill('#trace-filter', '');
		await page.focus('#trace-filter');
		await page.keyboard.type('udpdest');
		await page.keyboard.press('Tab');
		const v = await page.inputValue('#trace-filter');
		ok(v === 'udpdestinationport=', 'web-local/trace: key completion from the built-in keys', v);

		// the stale banner, and the recovery without reload
		await page.evaluate(() => { location.hash = '#map'; window.__notReloaded = true; });
		watch.phase = 'down';
		await d.stop('SIGKILL');
		const banner = await until(() => page.evaluate(() => {
			const b = document.querySelector('#banner');
			return b.hidden ? null : b.textContent;
		}), 5000);
		ok(banner && /stale since \d\d:\d\d:\d\d/.test(banner), 'web-local/fabmond killed: "stale since" banner', banner);
		await sleep(1500);
		ok(await d.start(), 'web-local/fabmond restarted on the same port');
		const t0 = Date.now();
		const back = await until(() => page.evaluate(() => document.querySelector('#banner').hidden &&
			window.fabmon.feed.state === 'open' && window.__notReloaded === true), 15000);
		watch.phase = 'recovered';
		note(`recovered ${Date.now() - t0} ms after the restart`);
		ok(back, 'web-local/the page recovers by itself, without a reload');
		csp.push(...await page.evaluate(() => window.__csp || []));
		await page.close();

		// behind a reverse proxy, under a prefix
		const pport = await freePort();
		proxy = await startProxy(pport, d.httpPort);
		const pp = (await openPage(browser, `http://127.0.0.1:${pport}/fabmon/`, watch)).page;
		const viaProxy = await until(async () => {
			const s = await mapSummary(pp);
			const live = await pp.evaluate(() => window.fabmon.feed.state === 'open');
			return s.links.length === 8 && live;
		}, 10000);
		const wsUrl = await pp.evaluate(() => window.fabmon.feed.url);
		ok(viaProxy && wsUrl === `ws://127.0.0.1:${pport}/fabmon/ws`,
			'web-local/behind a reverse proxy under /fabmon/ (relative URLs, ws under the prefix)', wsUrl);
		csp.push(...await pp.evaluate(() => window.__csp || []));
		await pp.close();

		await goldenFrames(browser, d, watch, csp);
		await tokenCheck(browser, tmp, watch, csp);

		watch.phase = 'wall';
		await wallChecks(browser, d.url('/'), watch, 'web-local/');
	} catch (e) {
		ok(false, 'web-local/the test ran to its end', e && e.stack || e);
	} finally {
		const bad = watch.unexpected((m) => allowFlowkeys404(m) || allowDown(m));
		ok(bad.length === 0, 'web-local/no console errors, page errors or warnings',
			bad.map((m) => `[${m.phase} ${m.type}] ${m.text} ${m.url}`).join(' | '));
		ok(csp.length === 0, 'web-local/no Content-Security-Policy violation', csp.join(' | '));
		if (browser)
			await browser.close();
		if (proxy)
			proxy.close();
		await d.stop();
		if (result().failures)
			note(`fabmond log tail:\n${fs.readFileSync(path.join(tmp, 'fabmond.log'), 'utf8').slice(-1500)}`);
		fs.rmSync(tmp, {recursive: true, force: true});
	}
	const r = result();
	note(`${r.passes} passed, ${r.failures} failed (local.mjs)`);
	process.exit(r.failures ? 1 : 0);
}

main();
