#!/usr/bin/env node
// local.mjs: the web page against a fabmond on loopback, no lab (about
// 45 s; for the daemon suite). It starts $BUILD/fabmond (BUILD:
// build/asan under tests/run.sh, else build) with its own ports and state
// dir and SNMP off, PUTs the lab's leaf-spine topology (2 spines, 4
// leaves, 8 links), feeds it synthetic sFlow (sflowgen.mjs: counters on
// every port, four flows, a valley on l2) and checks:
// - the page loads with no console error and no CSP violation, draws the
//   map from the pushed topology, and shows the HA role;
// - a bad trace filter shows the daemon's error; key completion falls
//   back to the built-in keys (fabmond has no ./flowkeys/json);
// - fabmond killed: the stale banner; restarted on the same port: the
//   page recovers without a reload;
// - through Debian's nginx under /fabmon/ (an unprivileged instance
//   started here with its config, pid, logs and temp paths in the test's
//   temp dir, stopped by PID): the page loads, its websocket goes through
//   nginx (101 in nginx's access log), the map goes live; Host passed as
//   $http_host, so fabmond's Origin check accepts it (with $host, which
//   drops the port, fabmond refuses the handshake);
// - with the sFlow: links coloured per direction, top-N, a trace typed
//   into the page (l1 -> s1 -> l4), the valley on the map and in the list,
//   link and switch detail, status; every view screenshot into
//   build/artifacts/web/local-*.png, none wider than the window;
// - an ECMP collision and a trace's discard point are marked (synthetic
//   frames: the lab cannot make either); the recorded golden frames
//   (tests/golden/ws) render in every view;
// - with http.token, a trace needs ?token= on the page's URL;
// - hostile names (<script>, <img onerror>, quotes, a 127-byte name,
//   control characters) in switch, port, link and host names and in
//   trace filters typed into the page: shown as text, no script runs, no
//   dialog, no element injected, no console error, the layout holds;
// - wall mode: large type, no controls, rotation, and each view fits
//   1920x1080 (screenshots).
// Every process it starts is stopped by PID.

import {spawn} from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {ok, note, until, sleep, launch, Watch, openPage, mapSummary, wallChecks, wallShots, shot, overflowX,
	ARTIFACTS, allowFlowkeys404, allowDown, result} from './lib.mjs';
import {SflowGen} from './sflowgen.mjs';

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
		this.exited = new Promise((r) => {
			this.proc.once('exit', (code, sig) => {
				if (!this.stopping)
					note(`fabmond exited by itself or was signalled from outside (${sig || code})`);
				r();
			});
			// a binary being rebuilt under us: a failed check, not a crash
			this.proc.once('error', (e) => {
				note(`fabmond did not start: ${e.message}`);
				r();
			});
		});
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

// Debian's nginx as the reverse proxy that serves fabmond under /fabmon/
// (prefix stripped by proxy_pass http://fabmond/, websocket upgrade
// passed), started as an unprivileged-port instance whose config, pid,
// logs and temp paths all live in dir. It passes the browser's Host
// through ($http_host: host AND port), so that fabmond's Origin check
// (API.md: Origin must match Host, or be in http.ws_origins) accepts the
// page's websocket with no extra fabmond config. /fabmon-host/ is the same
// with the common "proxy_set_header Host $host", which drops the port:
// fabmond must refuse that handshake (the test shows why the README
// says $http_host).
export const NGINX = process.env.NGINX || '/usr/sbin/nginx';

function nginxConf(dir, port, upstream) {
	const loc = (prefix, host) => `
		location ${prefix} {
			proxy_pass http://127.0.0.1:${upstream}/;
			proxy_http_version 1.1;
			proxy_set_header Upgrade $http_upgrade;
			proxy_set_header Connection $connection_upgrade;
			proxy_set_header Host ${host};
			proxy_read_timeout 1h;
		}`;
	const user = process.getuid && process.getuid() === 0 ? 'user nobody nogroup;' : '';
	return `# written by tests/e2e/local.mjs; nginx -p ${dir} -c ${dir}/nginx.conf
${user}
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 128; }
http {
	access_log ${dir}/access.log;
	client_body_temp_path ${dir}/body;
	proxy_temp_path ${dir}/proxy;
	fastcgi_temp_path ${dir}/fastcgi;
	uwsgi_temp_path ${dir}/uwsgi;
	scgi_temp_path ${dir}/scgi;
	# the workers (nobody) cannot reach the test's private temp dir: buffer
	# responses in memory only
	proxy_max_temp_file_size 0;
	map $http_upgrade $connection_upgrade { default upgrade; '' close; }
	server {
		listen 127.0.0.1:${port};
		location = /fabmon { return 301 /fabmon/; }${loc('/fabmon/', '$http_host')}${loc('/fabmon-host/', '$host')}
		location / { return 404 "not under /fabmon/\n"; }
	}
}
`;
}

class Nginx {
	constructor(dir, port, upstream) {
		this.dir = dir;
		this.port = port;
		fs.mkdirSync(dir, {recursive: true});
		this.conf = path.join(dir, 'nginx.conf');
		fs.writeFileSync(this.conf, nginxConf(dir, port, upstream));
		this.proc = null;
	}

	async start() {
		const log = fs.openSync(path.join(this.dir, 'nginx.out'), 'a');
		// -e: the error log before the config is read (the default is
		// /var/log/nginx); daemon off: the PID spawned is the master's.
		this.proc = spawn(NGINX, ['-e', path.join(this.dir, 'error.log'), '-p', this.dir, '-c', this.conf,
			'-g', 'daemon off;'], {stdio: ['ignore', log, log]});
		this.exited = new Promise((r) => {
			this.proc.once('exit', r);
			this.proc.once('error', r);
		});
		const up = await until(async () => this.proc.exitCode === null &&
			(await get(`http://127.0.0.1:${this.port}/fabmon/version`)).status === 200, 10000, 50);
		return up;
	}

	log(name = 'error.log') {
		try {
			return fs.readFileSync(path.join(this.dir, name), 'utf8');
		} catch (e) {
			return '';
		}
	}

	// SIGQUIT: a graceful stop would wait for the page's websocket; TERM
	// is nginx's fast shutdown, by the master's PID.
	async stop() {
		if (!this.proc || this.proc.exitCode !== null || this.proc.signalCode !== null)
			return;
		this.proc.kill('SIGTERM');
		const t = setTimeout(() => this.proc.kill('SIGKILL'), 10000);
		await this.exited;
		clearTimeout(t);
	}
}

// A raw websocket handshake as a browser at origin sends it: the status
// (101, or fabmond's 403 passed on by nginx).
function handshake(url, origin) {
	return new Promise((resolve) => {
		const req = http.request(url, {headers: {Connection: 'Upgrade', Upgrade: 'websocket',
			'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': Buffer.from('fabmon-web-test!').toString('base64'),
			'Sec-WebSocket-Protocol': 'fabmon.v1', Origin: origin}});
		req.on('upgrade', (res, sock) => {
			sock.destroy();
			resolve(res.statusCode);
		});
		req.on('response', (res) => {
			res.resume();
			resolve(res.statusCode);
		});
		req.on('error', (e) => resolve(String(e)));
		req.end();
	});
}

// The page through nginx: it loads under /fabmon/, its websocket is
// ws://.../fabmon/ws through nginx (101 in nginx's access log), the map
// goes live and keeps receiving frames, and a detail view's GETs
// (history, uPlot) work under the prefix.
async function nginxCheck(browser, d, tmp, watch, csp) {
	if (!fs.existsSync(NGINX)) {
		ok(false, 'web-local/nginx installed (make deps: nginx-light)', `${NGINX} missing`);
		return;
	}
	const nport = await freePort();
	const ng = new Nginx(path.join(tmp, 'nginx'), nport, d.httpPort);
	try {
		const t0 = Date.now();
		const up = await ng.start();
		ok(up, `web-local/nginx: an unprivileged instance on 127.0.0.1:${nport} (pid ${ng.proc.pid}) proxies /fabmon/ to fabmond`,
			ng.log() + ng.log('nginx.out'));
		if (!up)
			return;
		note(`nginx up in ${Date.now() - t0} ms: ${ng.conf}`);
		const base = `http://127.0.0.1:${nport}/fabmon/`;
		const idx = await get(base);
		ok(idx.status === 200 && /<script type="module" src="\.\/js\/main\.js">/.test(idx.body) &&
			/script-src 'self'/.test(idx.headers['content-security-policy'] || ''),
		'web-local/nginx: /fabmon/ serves the page with fabmond\'s CSP', `${idx.status}`);
		const origin = `http://127.0.0.1:${nport}`;
		const hs = await handshake(`${origin}/fabmon/ws`, origin);
		const hsHost = await handshake(`${origin}/fabmon-host/ws`, origin);
		// fabmond refuses a handshake by closing the connection: nginx
		// answers 502 for it
		ok(hs === 101 && hsHost !== 101,
			`web-local/nginx: Host passed as $http_host, the Origin matches (101); with $host (port dropped) fabmond refuses (${hsHost})`,
			`$http_host ${hs}, $host ${hsHost}`);

		const pp = (await openPage(browser, base, watch)).page;
		const live = await until(async () => {
			const s = await mapSummary(pp);
			const st = await pp.evaluate(() => ({state: window.fabmon.feed.state,
				chip: document.querySelector('#chip-conn').textContent,
				seq: (window.fabmon.feed.frames.get('links') || {}).seq}));
			return s.links.length === 8 && st.state === 'open' && /live/.test(st.chip) ? st : null;
		}, 10000);
		const wsUrl = await pp.evaluate(() => window.fabmon.feed.url);
		ok(live && wsUrl === `ws://127.0.0.1:${nport}/fabmon/ws`,
			'web-local/nginx: the page loads under /fabmon/, its websocket goes through nginx, the map is live',
			`${wsUrl} ${JSON.stringify(live)}`);
		// frames keep coming through the proxy (push period 250 ms)
		const later = await until(() => pp.evaluate((s0) => {
			const f = window.fabmon.feed.frames.get('links');
			return f && f.seq >= s0 + 4 && Date.now() - f.at < 1000 ? f.seq : null;
		}, live ? live.seq : 0), 5000);
		const coloured = await until(async () => {
			const s = await mapSummary(pp);
			return s.links.flatMap((l) => l.dirs).filter((x) => !/nodata/.test(x.cls)).length >= 14;
		}, 8000);
		ok(later && coloured, 'web-local/nginx: pushed frames keep arriving, links coloured from the sFlow counters',
			`seq ${live && live.seq} → ${later}`);
		await pp.evaluate(() => { location.hash = `#link/${encodeURIComponent('l1:swp1-s1:swp1')}`; });
		const charts = await until(() => pp.evaluate(() => {
			const n = document.querySelectorAll('#detail-body .uplot').length;
			const st = (document.querySelector('#detail-body p.hint:nth-of-type(2)') || {}).textContent || '';
			const none = document.querySelector('#detail-body .no-data');
			return n >= 1 && /rows, step/.test(st) && (n >= 5 || none) ? `${n} charts; ${st}` : null;
		}), 8000);
		ok(charts, 'web-local/nginx: link detail under /fabmon/ (uPlot from node_modules, history GET)', charts);
		await shot(pp, 'local-nginx-detail');
		await pp.evaluate(() => { location.hash = '#map'; });
		await sleep(300);
		await shot(pp, 'local-nginx-map');
		csp.push(...await pp.evaluate(() => window.__csp || []));
		await pp.close();
		const acc = ng.log('access.log');
		ok(/"GET \/fabmon\/ws HTTP\/1\.1" 101 /.test(acc), 'web-local/nginx: its access log has the page\'s websocket upgrade (101)',
			acc.split('\n').filter((l) => /\/ws/.test(l)).join(' | '));
		// (the refused handshake through /fabmon-host/ is logged: expected)
		const errs = ng.log().split('\n').filter((l) => /\[(error|crit|alert|emerg)\]/.test(l) &&
			!/request: "GET \/fabmon-host\/ws /.test(l));
		ok(errs.length === 0, 'web-local/nginx: no error in its error log', errs.join(' | '));
	} finally {
		await ng.stop();
		ok(ng.proc === null || ng.proc.exitCode !== null || ng.proc.signalCode !== null,
			'web-local/nginx stopped by its PID');
	}
}

// The topology document as SflowGen's fabric: agents and ifIndexes.
function genFabric(doc) {
	return {nodes: Object.fromEntries(Object.entries(doc.nodes).map(([n, v]) => [n, {agent: v.agent,
		ports: Object.fromEntries(Object.entries(v.ports).map(([p, x]) => [p, Number(x.ifindex)]))}]))};
}

// Live sFlow for the lab's topology: every link direction at its own
// utilisation (from the quiet end of the scale to 92 %, so the map shows
// the whole ramp), the edge ports, four UDP flows across the fabric
// (h1 → h5 over s1 is the trace), and a valley on l2 (a packet from s1
// sent up to s2 again): a real black hole.
const LINK_UTIL = {   // [leaf → spine, spine → leaf] in %
	'1-1': [45, 3], '1-2': [12, 0.5], '2-1': [0.02, 70], '2-2': [92, 25],
	'3-1': [5, 0.001], '3-2': [0.1, 55], '4-1': [33, 81], '4-2': [8, 0],
};
function labSflow(port) {
	const gen = new SflowGen(port, genFabric(labTopology()));
	const G = 1e8;   // 1 % of 10G
	for (const [k, [up, down]] of Object.entries(LINK_UTIL)) {
		const [l, sp] = k.split('-');
		gen.setPort(`l${l}`, `swp${sp}`, {outBps: up * G, inBps: down * G});
		gen.setPort(`s${sp}`, `swp${l}`, {inBps: up * G, outBps: down * G});
	}
	[[20, 2], [6, 30], [0.3, 11], [15, 60]].forEach(([i, o], n) =>
		gen.setPort(`l${n + 1}`, 'swp3', {inBps: i * G, outBps: o * G}));
	gen.flow({src: '10.2.1.11', dst: '10.2.4.15', sport: 40123, dport: 53, sps: 30,
		hops: [['l1', 'swp3', 'swp1'], ['s1', 'swp1', 'swp4'], ['l4', 'swp1', 'swp3']]});
	gen.flow({src: '10.2.2.12', dst: '10.2.3.14', sport: 5001, dport: 5201, sps: 60,
		hops: [['l2', 'swp3', 'swp2'], ['s2', 'swp2', 'swp3'], ['l3', 'swp2', 'swp3']]});
	gen.flow({src: '10.2.3.13', dst: '10.2.1.11', sport: 33000, dport: 443, sps: 12,
		hops: [['l3', 'swp3', 'swp1'], ['s1', 'swp3', 'swp1'], ['l1', 'swp1', 'swp3']]});
	gen.flow({src: '10.2.4.15', dst: '10.2.2.12', sport: 53, dport: 40123, sps: 8,
		hops: [['l4', 'swp3', 'swp2'], ['s2', 'swp4', 'swp2'], ['l2', 'swp2', 'swp3']]});
	gen.flow({src: '10.2.1.12', dst: '10.2.4.16', sport: 7000, dport: 7001, sps: 5,
		hops: [['l2', 'swp1', 'swp2']]});
	return gen;
}

// Every view with the live data of labSflow(), checked and screenshot
// into build/artifacts/web/local-*.png: the map (links coloured, the
// valley on l2), top-N (the flows), trace (typed; the path l1 → s1 → l4
// from the samples), black holes, link detail (its live chart), status
// (the six agents), and the light theme's map.
async function liveViews(browser, d, watch, csp) {
	const {page} = await openPage(browser, d.url('/'), watch);
	const coloured = await until(async () => {
		const s = await mapSummary(page);
		const dirs = s.links.flatMap((l) => l.dirs);
		return dirs.length === 16 && dirs.every((x) => !/nodata/.test(x.cls)) ? dirs : null;
	}, 10000);
	const widths = coloured ? coloured.map((x) => Number(x.width)) : [];
	ok(coloured && Math.max(...widths) > Math.min(...widths) + 4,
		'web-local/live sFlow: every link direction coloured and sized from its counters',
		JSON.stringify(coloured && coloured.map((x) => `${x.from}>${x.to} ${x.stroke} ${x.width}`)));
	const bh = await until(() => page.evaluate(() => {
		const m = document.querySelector('#map-main .blackhole-mark[data-node="l2"]');
		return m ? `${m.dataset.reasons} | ${document.querySelector('#map-bh').textContent}` : null;
	}), 10000);
	ok(bh && /valley/.test(bh), 'web-local/live sFlow: the valley on l2 marked on the map', bh);
	await page.click('#map-main g.link[data-link="l4:swp1-s1:swp4"] .hit');
	await sleep(300);
	await shot(page, 'local-map', {hover: true});

	await page.evaluate(() => { location.hash = '#top'; });
	const top = await until(() => page.evaluate(() => {
		const rows = [...document.querySelectorAll('#top-flows tbody tr')].map((tr) => tr.textContent);
		const ports = document.querySelectorAll('#top-ports-util tbody tr:not(.empty)').length;
		return rows.length >= 4 && rows.some((r) => /10\.2\.1\.11.*10\.2\.4\.15/.test(r)) && ports > 0 ? rows : null;
	}), 10000);
	ok(top, 'web-local/live sFlow: top-N flows at the edge and the busiest ports', top && top.join(' | '));
	await page.selectOption('#linktop-select', 'l1:swp1-s1:swp1');
	await until(() => page.evaluate(() => document.querySelectorAll('#linktop-table tbody tr:not(.empty)').length > 0), 5000);
	await shot(page, 'local-top', {fullPage: true});

	await page.evaluate(() => { location.hash = '#trace'; });
	await page.fill('#trace-filter', 'ipsource=10.2.1.11&ipdestination=10.2.4.15');
	await page.press('#trace-filter', 'Enter');
	const path = await until(() => page.evaluate(() => {
		const p = document.querySelector('#trace-summary').dataset.path;
		return p === 'l1,s1,l4' && document.querySelectorAll('#map-trace .trace-seg').length >= 2 ? p : null;
	}), 10000);
	ok(path, 'web-local/live sFlow: a trace typed into the page shows the path l1 → s1 → l4',
		await page.evaluate(() => document.querySelector('#trace-summary').textContent));
	await shot(page, 'local-trace', {fullPage: true});   // (the drawing animation finished by shot())

	await page.evaluate(() => { location.hash = '#events'; });
	const ev = await until(() => page.evaluate(() => [...document.querySelectorAll('#bh-live tbody tr')]
		.map((tr) => tr.textContent).find((t) => /valley/.test(t) && /l2/.test(t))), 5000);
	ok(ev, 'web-local/live sFlow: the valley in the black-hole list', ev);
	await until(() => page.evaluate(() => /events/.test(document.querySelector('#ev-status').textContent)), 5000);
	await shot(page, 'local-events', {fullPage: true});

	await page.evaluate(() => { location.hash = `#link/${encodeURIComponent('l1:swp1-s1:swp1')}`; });
	const live = await until(() => page.evaluate(() => {
		const cards = document.querySelectorAll('#detail-body .live-dirs .card').length;
		const flows = [...document.querySelectorAll('#detail-body table.grid tbody tr:not(.empty)')].length;
		const charts = document.querySelectorAll('#detail-body .uplot').length;
		const none = !!document.querySelector('#detail-body .no-data');
		return cards === 3 && flows > 0 && charts >= 1 && (charts >= 5 || none) ? {cards, flows, charts, none} : null;
	}), 8000);
	ok(live, 'web-local/live sFlow: link detail: both directions, charts, the flows on it', JSON.stringify(live));
	await sleep(1200);   // a few more pushed points in the live chart
	await shot(page, 'local-detail-link', {fullPage: true});
	await page.evaluate(() => { location.hash = '#node/l2'; });
	await until(() => page.evaluate(() => document.querySelectorAll('#detail-body table.grid tbody tr').length >= 3), 5000);
	await sleep(300);
	await shot(page, 'local-detail-node', {fullPage: true});

	await page.evaluate(() => { location.hash = '#status'; });
	const agents = await until(() => page.evaluate(() => {
		const n = document.querySelectorAll('#st-agents tbody tr:not(.empty)').length;
		return n === 6 ? n : null;
	}), 5000);
	ok(agents, 'web-local/live sFlow: status lists the six agents', agents);
	await shot(page, 'local-status', {fullPage: true});

	// the light theme (the toggle; remembered in localStorage)
	await page.evaluate(() => { location.hash = '#map'; });
	await page.click('#theme-toggle');
	await sleep(500);
	await shot(page, 'local-map-light');
	await page.click('#theme-toggle');
	const over = [];
	for (const v of ['map', 'top', 'trace', 'events', 'status']) {
		await page.evaluate((v) => { location.hash = `#${v}`; }, v);
		await sleep(150);
		over.push(...(await overflowX(page)).map((x) => `${v}: ${x}`));
	}
	ok(over.length === 0, 'web-local/live sFlow: no view wider than the window', over.join(' | '));
	csp.push(...await page.evaluate(() => window.__csp || []));
	await page.close();
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

// Names are data from the network: a switch, port, link or host name
// can hold markup, quotes, control characters or be as long as the
// import allows (127 bytes for nodes and links, 63 for ports). Each
// payload sets window.__pwned if it ever runs.
const XSS = {
	script: '<script>window.__pwned="script"</script>',
	img: '<img src=x onerror=window.__pwned="img">',
	quotes: `"'><svg onload=window.__pwned="svg">`,
	long: `leaf-${'W'.repeat(122)}`,
	ctl: 'ctl\u0001\u0007\u001b[31m\u007f\u202eevil',
	port: '<img src=x onerror=window.__pwned="port">',
	portLong: `p${'-'.repeat(62)}`,
	portAmp: '&lt;b&gt;&amp;"\'`${x}',
	link: '<iframe src=javascript:window.__pwned="link">',
	host: '<script>window.__pwned="host"</script>',
};

// A fabric whose names are the payloads: spines s1 and XSS.quotes; leaves
// l1, XSS.script, XSS.img, XSS.long, XSS.ctl, each on both spines.
function hostileTopology() {
	const leaves = ['l1', XSS.script, XSS.img, XSS.long, XSS.ctl];
	const spines = ['s1', XSS.quotes];
	const nodes = {}, links = {};
	const lport = (i) => [XSS.port, XSS.portLong][i] || `swp${i + 1}`;
	spines.forEach((sp, i) => {
		nodes[sp] = {agent: `10.98.0.1${i + 1}`, ports: Object.fromEntries(leaves.map((_, j) =>
			[i === 1 && j === 1 ? XSS.portAmp : `swp${j + 1}`, {ifindex: String(j + 2)}]))};
	});
	leaves.forEach((lf, j) => {
		nodes[lf] = {agent: `10.98.0.2${j + 1}`, ports: Object.fromEntries([0, 1, 2].map((i) =>
			[lport(i), {ifindex: String(i + 2)}]))};
		spines.forEach((sp, i) => {
			const spPort = i === 1 && j === 1 ? XSS.portAmp : `swp${j + 1}`;
			const name = j === 1 && i === 0 ? XSS.link : (j === 3 && i === 1 ? `${XSS.long}`.slice(0, 120) + '-link' : `${lf.slice(0, 40)}-${sp.slice(0, 40)}-${i}`);
			links[name] = {node1: lf, port1: lport(i), node2: sp, port2: spPort};
		});
	});
	return {nodes, links};
}

// The hostile names through the import, the map, every view, the detail
// of a hostile switch and link, a black hole and a trace on hostile
// switches, a host name (synthetic frame: only LLDP names hosts), and
// hostile trace filters typed into the page: shown as text, never run,
// no console error, no view wider than the window.
async function hostileCheck(browser, tmp, watch, csp) {
	const dir = path.join(tmp, 'hostile');
	fs.mkdirSync(dir);
	const t = new Daemon(dir, await freePort(), await freePort());
	let gen = null;
	try {
		ok(await t.start(), 'web-local/hostile: a fabmond for the hostile names starts');
		const doc = hostileTopology();
		const put = await get(t.url('/topology/json'), {method: 'PUT', body: JSON.stringify(doc)});
		let pj = {};
		try {
			pj = JSON.parse(put.body);
		} catch (e) { /* shown below */ }
		ok(put.status === 200 && pj.nodes === 7 && pj.links === 10,
			'web-local/hostile: topology with <script>, <img onerror>, quotes, a 127-byte name, control characters imported',
			`${put.status} ${put.body}`);
		// a trace through two hostile leaves, and a valley on XSS.script
		gen = new SflowGen(t.sflowPort, genFabric(doc));
		gen.flow({src: '10.7.0.1', dst: '10.7.0.2', sport: 1000, dport: 2000, sps: 20,
			hops: [[XSS.img, 'swp3', XSS.portLong], [XSS.quotes, 'swp3', XSS.portAmp], [XSS.script, XSS.portLong, 'swp3']]});
		gen.flow({src: '10.7.0.3', dst: '10.7.0.4', sport: 1000, dport: 2000, sps: 5,
			hops: [[XSS.script, XSS.port, XSS.portLong]]});
		for (const [n, v] of Object.entries(doc.nodes))
			for (const p of Object.keys(v.ports))
				gen.setPort(n, p, {inBps: 3e9 * Math.random(), outBps: 3e9 * Math.random()});
		gen.start();

		const dialogs = [];
		const {page} = await openPage(browser, t.url('/'), watch);
		page.on('dialog', (dl) => {
			dialogs.push(`${dl.type()}: ${dl.message()}`);
			dl.dismiss().catch(() => {});
		});
		const safe = async (where) => {
			const r = await page.evaluate(() => ({
				pwned: window.__pwned,
				inj: [...document.querySelectorAll('img, iframe, object, embed, script:not([src]), [onerror], [onload], [onclick], svg svg')]
					.map((e) => e.outerHTML.slice(0, 80)),
			}));
			const over = await overflowX(page);
			return {where, ...r, over};
		};
		const bad = [];
		const check = async (where) => {
			const r = await safe(where);
			if (r.pwned !== undefined || r.inj.length || r.over.length)
				bad.push(JSON.stringify(r));
		};
		const drawn = await until(async () => {
			const s = await mapSummary(page);
			return s.nodes.length === 7 && s.links.length === 10 ? s : null;
		}, 10000);
		const names = drawn ? drawn.nodes.map((n) => n.name) : [];
		ok(drawn && [XSS.script, XSS.img, XSS.quotes, XSS.long, XSS.ctl].every((n) => names.includes(n)),
			'web-local/hostile: every hostile switch drawn on the map, its name intact in the data',
			JSON.stringify(names));
		// the labels: text, cut to the box, the controls made visible
		const labels = await page.evaluate(() => [...document.querySelectorAll('#map-main g.node')].map((g) => {
			const box = g.querySelector('.node-box').getBBox();
			const lab = g.querySelector('.node-label');
			return {name: g.dataset.node, text: lab.textContent, w: lab.getBBox().width, box: box.width};
		}));
		const lab = (n) => labels.find((x) => x.name === n) || {};
		const opts = await page.evaluate(() => document.querySelector('#detail-node').textContent);
		ok(labels.every((x) => x.w <= x.box + 2) && lab(XSS.script).text.startsWith('<script>') &&
			opts.includes('ctl\\x01\\x07\\x1b[31m\\x7f\\u202eevil'),
		'web-local/hostile: map labels are text, fit their boxes (long names cut with …), control characters shown escaped (\\x1b)',
		`${JSON.stringify(labels)} ${JSON.stringify(opts)}`);
		const bh = await until(() => page.evaluate((n) => {
			const m = [...document.querySelectorAll('#map-main .blackhole-mark')].find((x) => x.dataset.node === n);
			return m ? document.querySelector('#map-bh').textContent : null;
		}, XSS.script), 10000);
		ok(bh && bh.includes(XSS.script), 'web-local/hostile: a black hole on the <script> switch, its name as text', bh);
		await page.click(`#map-main g.link[data-link="${XSS.link.replace(/"/g, '\\"')}"] .hit`, {force: true}).catch(() => {});
		await sleep(300);
		await check('map');
		await shot(page, 'local-hostile-map');

		// a host name: LLDP only, so a synthetic fabric frame with one
		const host = await page.evaluate((hn) => {
			const f = window.fabmon.feed;
			const fab = JSON.parse(JSON.stringify(f.latest('fabric')));
			const n = fab.nodes.find((x) => x.name === 'l1');
			const p = n.ports.find((x) => x.name === 'swp3') || n.ports[0];
			Object.assign(p, {edge: true, peer: hn, peerIsHost: true, link: null});
			fab.version += 1000;
			f.store('fabric', fab, {seq: 0, ts: Date.now()});
			const g = [...document.querySelectorAll('#map-main g.node.host')].find((x) => x.dataset.node === hn);
			return g ? g.textContent : null;
		}, XSS.host);
		ok(host && host.startsWith('<script>'), 'web-local/hostile: a host named <script> drawn as text', host);
		await check('map with a hostile host');

		for (const v of ['top', 'events', 'status']) {
			await page.evaluate((v) => { location.hash = `#${v}`; }, v);
			await sleep(400);
			await check(v);
		}
		await page.evaluate(() => { location.hash = '#events'; });
		await until(() => page.evaluate(() => /events/.test(document.querySelector('#ev-status').textContent)), 5000);
		const evText = await page.evaluate(() => document.querySelector('#view-events').innerText);
		ok(evText.includes(XSS.script), 'web-local/hostile: the black hole on <script> listed as text', evText.slice(0, 300));
		await shot(page, 'local-hostile-events', {fullPage: true});

		for (const [kind, name] of [['node', XSS.script], ['node', XSS.long], ['node', XSS.quotes], ['link', XSS.link]]) {
			await page.evaluate(([k, n]) => { location.hash = `#${k}/${encodeURIComponent(n)}`; }, [kind, name]);
			await until(() => page.evaluate(() => document.querySelectorAll('#detail-body table.grid tbody tr').length > 0), 5000);
			await sleep(300);
			await check(`detail ${kind} ${name.slice(0, 20)}`);
		}
		const title = await page.evaluate(() => document.querySelector('#detail-body .detail-title').textContent);
		ok(title === `Link ${XSS.link}`, 'web-local/hostile: the <iframe> link\'s detail titled with its name as text', title);
		await shot(page, 'local-hostile-detail-link', {fullPage: true});
		await page.evaluate((n) => { location.hash = `#node/${encodeURIComponent(n)}`; }, XSS.img);
		const peers = await until(() => page.evaluate(() => [...document.querySelectorAll('#detail-body table.grid tbody tr')]
			.map((tr) => [...tr.children].map((td) => td.textContent)).filter((r) => r.length > 5)), 5000);
		ok(peers && peers.some((r) => r[1] === XSS.port && r[5] === 's1') && peers.some((r) => r[1] === XSS.portLong && r[5] === XSS.quotes),
			'web-local/hostile: the <img> switch\'s ports: the hostile port and peer names as text', JSON.stringify(peers));
		await shot(page, 'local-hostile-detail-node', {fullPage: true});

		// trace filters typed into the page: one fabmond refuses (its
		// error echoes the filter), two it accepts, one whose path runs
		// over the hostile switches
		await page.evaluate(() => { location.hash = '#trace'; });
		const said = [];
		for (const f of ['ipsource=<script>window.__pwned="filter"</script>',
			'stack=<img src=x onerror=window.__pwned="filter2">',
			`stack="'><svg onload=window.__pwned="filter3">`,
			'ipsource=10.7.0.1']) {
			await page.fill('#trace-filter', '');
			await page.focus('#trace-filter');
			await page.keyboard.type(f, {delay: 0});
			await page.keyboard.press('Escape');
			await page.keyboard.press('Enter');
			said.push(await until(() => page.evaluate(() => {
				const s = document.querySelector('#trace-status').textContent;
				const sum = document.querySelector('#trace-summary dl');
				return /refused/.test(s) || (/waiting|stages/.test(s) && sum) ? `${s} || ${sum ? sum.textContent : ''}` : null;
			}), 5000));
			await check(`trace ${f}`);
		}
		ok(/refused.*<script>window.__pwned="filter"<\/script>/.test(said[0] || '') &&
			said[1] && said[1].includes('<img src=x onerror=window.__pwned="filter2">') &&
			said[2] && said[2].includes(`"'><svg onload=window.__pwned="filter3">`),
		'web-local/hostile: trace filters with markup: the refusal and the accepted filters shown as text', said.slice(0, 3).join(' ## '));
		const path3 = await until(() => page.evaluate(() => {
			const p = document.querySelector('#trace-summary').dataset.path || '';
			return p.split(',').length === 3 ? p : null;
		}), 10000);
		ok(path3 === [XSS.img, XSS.quotes, XSS.script].join(','),
			'web-local/hostile: a trace over the hostile switches: path and hop table as text', path3);
		await check('trace over hostile switches');
		await shot(page, 'local-hostile-trace', {fullPage: true});

		// wall mode with the hostile names
		const wall = await wallShots(browser, t.url('/'), watch, 'local-hostile-', ['map', 'events']);
		ok(Object.keys(wall).length === 0, 'web-local/hostile: wall mode: the hostile names fit the screen', JSON.stringify(wall));

		ok(dialogs.length === 0, 'web-local/hostile: no dialog opened', dialogs.join(' | '));
		ok(bad.length === 0, 'web-local/hostile: no payload ran, no element injected, no view wider than the window',
			bad.join(' | '));
		csp.push(...await page.evaluate(() => window.__csp || []));
		await page.close();
	} finally {
		gen && gen.close();
		await t.stop();
	}
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
	let gen = null;
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
		gen = labSflow(d.sflowPort).start();

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
		// (the daemon's own next frame replaces it: handed and read in one
		// go, the page renders it synchronously).
		const coll = await page.evaluate(() => {
			const f = window.fabmon.feed;
			const top = Object.assign({}, f.latest('top') || {}, {collisions: [{id: 1, link: 'l1:swp1-s1:swp1',
				from: 'l1', to: 's1', utilization: 91.5, bps: 9.15e9, count: 2,
				elephants: ['10.2.1.11,10.2.4.15,17,1,53', '10.2.1.12,10.2.4.16,17,2,53'],
				start: Date.now(), lastSeen: Date.now()}]});
			f.store('top', top, {seq: 0, ts: Date.now()});
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

		// behind Debian's nginx, under /fabmon/
		await nginxCheck(browser, d, tmp, watch, csp);
		await liveViews(browser, d, watch, csp);

		await goldenFrames(browser, d, watch, csp);
		await tokenCheck(browser, tmp, watch, csp);
		await hostileCheck(browser, tmp, watch, csp);

		watch.phase = 'wall';
		await wallChecks(browser, d.url('/'), watch, 'web-local/');
		const wall = await wallShots(browser, d.url('/'), watch, 'local-');
		ok(Object.keys(wall).length === 0, 'web-local/wall mode: map, top, events, status each fit 1920x1080 (screenshots)',
			JSON.stringify(wall));
		note(`screenshots: ${fs.readdirSync(ARTIFACTS).filter((f) => /^local-/.test(f)).length} in ${ARTIFACTS}`);
	} catch (e) {
		ok(false, 'web-local/the test ran to its end', e && e.stack || e);
	} finally {
		const bad = watch.unexpected((m) => allowFlowkeys404(m) || allowDown(m));
		ok(bad.length === 0, 'web-local/no console errors, page errors or warnings',
			bad.map((m) => `[${m.phase} ${m.type}] ${m.text} ${m.url}`).join(' | '));
		ok(csp.length === 0, 'web-local/no Content-Security-Policy violation', csp.join(' | '));
		if (browser)
			await browser.close();
		gen && gen.close();
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
