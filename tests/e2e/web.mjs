#!/usr/bin/env node
// web.mjs URL [--driver]: the web page against a fabmond in the lab
// (tests/integration/lab_web.py runs it inside the collector c1, whose
// loopback serves http://127.0.0.1:8008/).
//
// With --driver the lab runner does what a browser cannot: this script
// prints "@@ ACTION ARGS" and waits for a line "done" (or "error WHY") on
// stdin. Actions: hping start|stop, blackhole on|off, daemon kill|start.
// Without --driver only the checks that need no action run.
//
// Checks: the map (2 spines, 4 leaves, 8 links drawn per direction), the
// hping3 trace typed into the page (l1 -> one spine -> l4), top-N, status,
// link/node detail, the valley-routing black hole on the map and in the
// events, the stale banner while fabmond is down and the recovery without
// reload, wall mode, no view wider than the window, and no console error
// or CSP violation. Every view is screenshot with the lab's real data
// into build/artifacts/web/lab-*.png (ARTIFACTS moves them): map, trace
// (the hping3 path, and ECMP over both spines), top-N, black holes (map
// and list), link and switch detail, status, the stale banner, and wall
// mode (map, top, events, status).

import readline from 'node:readline';
import {ok, note, until, sleep, launch, Watch, openPage, mapSummary, wallChecks, wallShots, shot, overflowX,
	ARTIFACTS, allowFlowkeys404, allowDown, result} from './lib.mjs';

const base = process.argv[2] || 'http://127.0.0.1:8008/';
const DRIVER = process.argv.includes('--driver');

// ---- the driver protocol ---------------------------------------------
const lines = [];
let waiter = null;
if (DRIVER) {
	const rl = readline.createInterface({input: process.stdin});
	rl.on('line', (l) => {
		if (waiter) {
			const w = waiter;
			waiter = null;
			w(l);
		} else {
			lines.push(l);
		}
	});
}
async function action(...args) {
	console.log(`@@ ${args.join(' ')}`);
	const line = lines.length ? lines.shift() : await new Promise((r) => { waiter = r; });
	if (line !== 'done')
		throw new Error(`action ${args.join(' ')}: ${line}`);
}

// Each view once it shows the lab's data: a screenshot, and no part of it
// wider than the window.
const shots = [];
const wide = [];
async function snap(page, name, opts = {fullPage: true}) {
	await shot(page, `lab-${name}`, opts);
	shots.push(name);
	wide.push(...(await overflowX(page)).map((x) => `${name}: ${x}`));
}

const text = (page, sel) => page.evaluate((s) => {
	const e = document.querySelector(s);
	return e ? e.textContent : null;
}, sel);

async function main() {
	const browser = await launch();
	const watch = new Watch();
	const csp = [];
	let page;
	try {
		const opened = await openPage(browser, base, watch);
		page = opened.page;
		await checkMap(page, opened.loadMs);
		if (DRIVER) {
			await checkTrace(page);
			await checkTop(page);
			await checkStatus(page);
			await checkDetail(page);
			await checkEcmp(page);
			await action('hping', 'stop');
			await checkBlackhole(page);
			await checkReconnect(page, watch);
		}
		csp.push(...await page.evaluate(() => window.__csp || []));
		watch.phase = 'wall';
		await wallChecks(browser, base, watch, 'web/');
		// the wall with traffic on it: hping3 from every source port
		if (DRIVER)
			await action('hping', 'ecmp');
		const wall = await wallShots(browser, base, watch, 'lab-');
		if (DRIVER)
			await action('hping', 'stop');
		ok(Object.keys(wall).length === 0, 'web/wall mode: map, top, events, status each fit 1920x1080 (screenshots)',
			JSON.stringify(wall));
		note(`screenshots in ${ARTIFACTS}: ${shots.join(' ')}`);
		ok(wide.length === 0, `web/no view wider than the window (${shots.length} views)`, wide.join(' | '));
	} catch (e) {
		ok(false, 'web/the test ran to its end', e && e.stack || e);
	} finally {
		const bad = watch.unexpected((m) => allowFlowkeys404(m) || allowDown(m));
		ok(bad.length === 0, 'web/no console errors, page errors or warnings',
			bad.map((m) => `[${m.phase} ${m.type}] ${m.text} ${m.url}`).join(' | '));
		ok(csp.length === 0 && !watch.msgs.some((m) => /Content.Security.Policy/i.test(m.text)),
			'web/no Content-Security-Policy violation', csp.join(' | '));
		note(`console messages allowed: ${watch.msgs.length - bad.length} ` +
			'(the flowkeys 404 fallback, websocket failures while fabmond was down)');
		await browser.close();
	}
	const r = result();
	note(`${r.passes} passed, ${r.failures} failed (web.mjs)`);
	process.exit(r.failures ? 1 : 0);
}

async function checkMap(page, loadMs) {
	const t0 = Date.now();
	const m = await until(async () => {
		const s = await mapSummary(page);
		return s.links.length === 8 ? s : null;
	}, 30000, 100);
	const painted = Date.now() - t0;
	note(`page load ${loadMs} ms (load event), map drawn ${painted} ms later`);
	const got = m || await mapSummary(page);
	const spines = got.nodes.filter((n) => n.role === 'spine').map((n) => n.name).sort();
	const leaves = got.nodes.filter((n) => n.role === 'leaf').map((n) => n.name).sort();
	ok(spines.join() === 's1,s2', 'web/map: 2 spines s1 s2 on the top row', spines);
	ok(leaves.join() === 'l1,l2,l3,l4', 'web/map: 4 leaves l1 l2 l3 l4', leaves);
	const topo = await page.evaluate(() => fetch('./api/v1/topology').then((r) => r.json()));
	const want = topo.links.map((l) => l.name).sort();
	const names = got.links.map((l) => l.name).sort();
	ok(names.length === 8 && names.join() === want.join() &&
		names.every((n) => /^l[1-4]:swp[12]-s[12]:swp[1-4]$/.test(n)),
	'web/map: the 8 fabric links with their names', names.join(' '));
	ok(got.links.every((l) => l.dirs.length === 2 && l.dirs[0].from === l.dirs[1].to),
		'web/map: every link drawn once per direction', JSON.stringify(got.links[0]));
	const ys = await page.evaluate(() => {
		const pos = (n) => document.querySelector(`#map-main g.node[data-node="${n}"]`).transform.baseVal[0].matrix.f;
		return {s1: pos('s1'), l1: pos('l1'), h1: document.querySelector('#map-main g.node[data-node="h1"]') ? pos('h1') : null};
	});
	ok(ys.s1 < ys.l1 && (ys.h1 === null || ys.l1 < ys.h1), 'web/map: spines above leaves above hosts', JSON.stringify(ys));
	// The links frames colour each direction (SNMP counters: a few polls).
	const colored = await until(async () => {
		const s = await mapSummary(page);
		const dirs = s.links.flatMap((l) => l.dirs);
		return dirs.length === 16 && dirs.every((d) => !/nodata/.test(d.cls)) ? dirs : null;
	}, 30000, 500);
	ok(colored, 'web/map: every direction coloured from topic links',
		JSON.stringify((await mapSummary(page)).links.flatMap((l) => l.dirs).filter((d) => /nodata/.test(d.cls))));
	const role = await text(page, '#chip-role');
	ok(/STANDALONE/.test(role), 'web/header: the HA role (STANDALONE)', role);
	const coll = await text(page, '#chip-collector');
	ok(coll && coll.includes('127.0.0.1:8008') && /fabmond \d/.test(coll), 'web/header: the collector serving the page', coll);
	await snap(page, 'map', {});
}

async function typeFilter(page) {
	// Key completion: "ipsou" + Tab completes the key.
	const input = page.locator('#trace-filter');
	await input.fill('');
	await input.focus();
	await page.keyboard.type('ipsou');
	await until(() => page.evaluate(() => !document.querySelector('#trace-suggest').hidden), 2000);
	const sugg = await page.evaluate(() => [...document.querySelectorAll('#trace-suggest li')].map((l) => l.textContent));
	await page.keyboard.press('Tab');
	const v1 = await input.inputValue();
	ok(sugg.includes('ipsource') && v1 === 'ipsource=', 'web/trace: key completion (ipsou + Tab -> ipsource=)',
		`${sugg} -> ${v1}`);
	await page.keyboard.type('10.2.1.11&ipdestination=10.2.4.15&udpdestinationport=53');
	await until(() => page.evaluate(() => document.querySelector('#trace-suggest').hidden), 1000);
}

async function checkTrace(page) {
	await action('hping', 'start');
	await page.evaluate(() => { location.hash = '#trace'; });
	await typeFilter(page);
	const t0 = Date.now();
	await page.keyboard.press('Enter');
	const path = await until(async () => {
		const p = await page.evaluate(() => document.querySelector('#trace-summary').dataset.path || '');
		return /^l1,s[12],l4$/.test(p) ? p : null;
	}, 20000, 100);
	const shown = Date.now() - t0;
	const pageMs = await page.evaluate(() => document.querySelector('#trace-status').dataset.firstMs);
	note(`trace: path on the page ${shown} ms after Enter (the page's own count: ${pageMs} ms from the trace op)`);
	ok(path, `web/trace: the hping3 path l1 -> one spine -> l4 shows (${path})`,
		await page.evaluate(() => document.querySelector('#trace-summary').textContent));
	const spine = path ? path.split(',')[1] : 's1';
	const segs = await until(async () => {
		const s = await page.evaluate(() => [...document.querySelectorAll('#map-trace .trace-seg')]
			.map((g) => `${g.dataset.from}>${g.dataset.to}`));
		return ['h1>l1', `l1>${spine}`, `${spine}>l4`, 'l4>h5'].every((k) => s.includes(k)) ? s : null;
	}, 5000);
	ok(segs, `web/trace: drawn on the map h1 → l1 → ${spine} → l4 → h5`,
		await page.evaluate(() => [...document.querySelectorAll('#map-trace .trace-seg')].map((g) => g.dataset.seg).join(' ')));
	const summary = await text(page, '#trace-summary');
	ok(/h1 on l1:swp3/.test(summary) && /h5 on l4:swp3/.test(summary) && /nowhere/.test(summary),
		'web/trace: ingress h1 on l1, egress h5 on l4, no discard', summary);
	const rows = await page.evaluate(() => [...document.querySelectorAll('#trace-hops tbody tr')].map((tr) =>
		[...tr.children].map((td) => td.textContent)));
	note(`hops: ${rows.map((r) => r.join(' | ')).join(' ;; ')}`);
	ok(rows.length === 3 && rows[0][1] === 'l1' && rows[2][1] === 'l4' && rows.every((r) => r[7] === '100 %'),
		'web/trace: the hop table (3 stages, shares 100 %)', JSON.stringify(rows));
	await snap(page, 'trace');
	// the keys list: ./flowkeys/json or the built-in one
	return spine;
}

async function checkTop(page) {
	await page.evaluate(() => { location.hash = '#top'; });
	const row = await until(() => page.evaluate(() => [...document.querySelectorAll('#top-flows tbody tr')]
		.map((tr) => [...tr.children].map((td) => td.textContent))
		.find((r) => r[0] === '10.2.1.11' && r[2] === '10.2.4.15' && r[3] === '53')), 15000, 250);
	ok(row && /^[\d.]+ [kMG]?b\/s$/.test(row[7]) && row[6] === 'l1:swp3' && row[4] === 'UDP',
		'web/top: the hping3 flow, at l1:swp3, in human units', JSON.stringify(row));
	// sorting: click "source" -> ascending by source
	await page.click('#top-flows th[data-key="src"]');
	const sorted = await page.evaluate(() => document.querySelector('#top-flows th[data-key="src"]').getAttribute('aria-sort'));
	await page.click('#top-flows th[data-key="bps"]');
	ok(sorted === 'ascending', 'web/top: sortable columns', sorted);
	const talker = await page.evaluate(() => document.querySelector('#top-talkers tbody').textContent);
	ok(/10\.2\.1\.11/.test(talker), 'web/top: top talkers', talker);
	await snap(page, 'top');
}

async function checkStatus(page) {
	await page.evaluate(() => { location.hash = '#status'; });
	// The page lists exactly the agents of fabmond's health (the lab's
	// switches that sampled something: at least the trace's path).
	const want = await page.evaluate(() => fetch('./api/v1/health').then((r) => r.json())
		.then((hh) => hh.agents.map((a) => a.agent).sort()));
	const agents = await until(async () => {
		const a = await page.evaluate(() => [...document.querySelectorAll('#st-agents tbody tr')]
			.map((tr) => tr.children[0].textContent).sort());
		return a.length >= want.length && a.length >= 3 ? a : null;
	}, 10000, 250);
	ok(agents && want.every((a) => agents.includes(a)) &&
		agents.every((a) => /^10\.99\.0\.(1[12]|2[1-4])$/.test(a)) &&
		['10.99.0.21', '10.99.0.24'].every((a) => agents.includes(a)),
	`web/status: the switches' sFlow agents (${agents && agents.join(' ')}) with their loss columns`,
	`${agents} vs health ${want}`);
	const ha = await text(page, '#st-ha');
	ok(/STANDALONE/.test(ha), 'web/status: HA role STANDALONE', ha);
	const hdr = await page.evaluate(() => [...document.querySelectorAll('#st-agents th')].map((t) => t.textContent).join('|'));
	ok(/datagrams lost/.test(hdr) && /samples lost/.test(hdr), 'web/status: sampling loss shown', hdr);
	await snap(page, 'status');
}

async function checkDetail(page) {
	const link = await page.evaluate(() => {
		const tr = window.fabmon.feed.trace;
		const d = tr && window.fabmon.feed.latest(tr.topic);
		return d && d.hops && d.hops[0].outLink;
	});
	await page.evaluate((l) => { location.hash = `#link/${encodeURIComponent(l)}`; }, link);
	// the live chart, and the four history charts (or, before the store's
	// first minute row, one "no stored points" line)
	const charts = await until(async () => {
		const n = await page.evaluate(() => [document.querySelectorAll('#detail-body .uplot').length,
			!!document.querySelector('#detail-body .no-data')]);
		return n[0] >= 5 || (n[0] >= 1 && n[1]) ? n[0] : null;
	}, 8000);
	const hist = await text(page, '#detail-body p.hint:nth-of-type(2)');
	ok(charts, `web/detail: link ${link}: live and history charts (uPlot)`,
		await page.evaluate(() => document.querySelector('#detail-body').textContent.slice(0, 300)));
	const flow = await until(() => page.evaluate(() => [...document.querySelectorAll('#detail-body table.grid tbody tr')]
		.map((tr) => tr.textContent).find((t) => t.includes('10.2.4.15'))), 8000, 250);
	ok(flow, `web/detail: flows on ${link} (topic linktop)`, flow);
	note(`history: ${hist}`);
	await sleep(500);
	await snap(page, 'detail-link');
	await page.evaluate(() => { location.hash = '#node/l1'; });
	const ports = await until(async () => {
		const p = await page.evaluate(() => [...document.querySelectorAll('#detail-body table.grid tbody tr')]
			.map((tr) => [...tr.children].map((td) => td.textContent)));
		return p.length >= 4 ? p : null;
	}, 4000);
	ok(ports && ports.some((p) => p[1] === 'swp3' && /h1/.test(p[5])) && ports.some((p) => p[1] === 'swp1' && /s1/.test(p[5])),
		'web/detail: switch l1\'s ports (h1 on swp3, s1 on swp1)', JSON.stringify(ports));
	await snap(page, 'detail-node');
}

// hping3 without -k: a new source port every packet, hashed over both
// spines; the trace shows both branches with their shares.
async function checkEcmp(page) {
	await action('hping', 'ecmp');
	await page.evaluate(() => { location.hash = '#trace'; });
	await page.fill('#trace-filter', 'ipsource=10.2.1.11&udpdestinationport=10');
	await page.press('#trace-filter', 'Enter');
	const shares = await until(async () => {
		const sh = await page.evaluate(() => Object.fromEntries([...document.querySelectorAll('#map-trace .trace-seg')]
			.map((g) => [g.dataset.seg, [Number(g.dataset.share), g.querySelector('text').textContent]])));
		const a = sh['l1>s1'], b = sh['l1>s2'];
		return a && b && a[0] > 0.2 && b[0] > 0.2 && /%/.test(a[1]) && /%/.test(b[1]) ? sh : null;
	}, 15000, 250);
	ok(shares, `web/trace: ECMP over both spines, each branch with its share (${shares ?
		`s1 ${shares['l1>s1'][1]}, s2 ${shares['l1>s2'][1]}` : 'none'})`,
	await page.evaluate(() => document.querySelector('#trace-summary').textContent));
	await snap(page, 'trace-ecmp');
}

async function checkBlackhole(page) {
	await page.evaluate(() => { location.hash = '#map'; });
	await action('blackhole', 'on');
	const t0 = Date.now();
	const mark = await until(() => page.evaluate(() => {
		const m = document.querySelector('#map-main .blackhole-mark[data-node="l4"]');
		return m ? m.dataset.reasons : null;
	}), 30000, 200);
	note(`black hole on the map ${Date.now() - t0} ms after the route was deleted`);
	ok(mark && /valley/.test(mark), `web/blackhole: valley routing marked on l4 on the map (${mark})`, mark);
	const spines = await page.evaluate(() => [...document.querySelectorAll('#map-main .blackhole-mark')].map((m) => m.dataset.node));
	note(`black-hole markers on: ${spines.join(' ')}`);
	await snap(page, 'map-blackhole', {});
	await page.evaluate(() => { location.hash = '#events'; });
	const row = await until(() => page.evaluate(() => [...document.querySelectorAll('#bh-live tbody tr')]
		.map((tr) => [...tr.children].map((td) => td.textContent))
		.find((r) => r[2] === 'valley' && r[3] === 'l4' && r[4] === '10.2.4.0/24')), 10000, 250);
	ok(row && /open/.test(row[0]), 'web/blackhole: the open valley event in the live list', JSON.stringify(row));
	await until(() => page.evaluate(() => /events/.test(document.querySelector('#ev-status').textContent)), 5000);
	await snap(page, 'events');
	await action('blackhole', 'off');
	// stored: the history (type blackhole) shows it
	await page.selectOption('#ev-type', 'blackhole');
	const stored = await until(async () => {
		await page.click('#ev-form button[type="submit"]');
		await sleep(700);
		return page.evaluate(() => [...document.querySelectorAll('#ev-table tbody tr')]
			.map((tr) => [...tr.children].map((td) => td.textContent))
			.find((r) => r[2] === 'blackhole' && /valley/.test(r[3]) && r[4] === 'l4'));
	}, 20000, 300);
	ok(stored, 'web/blackhole: in the event history from the store', JSON.stringify(stored));
	const ended = await until(() => page.evaluate(() => {
		const rows = [...document.querySelectorAll('#bh-live tbody tr')];
		return rows.length > 0 && rows.every((tr) => tr.classList.contains('ended')) &&
			!document.querySelector('#map-main .blackhole-mark');
	}), 25000, 250);
	ok(ended, 'web/blackhole: ended after the route came back (list and map)',
		await page.evaluate(() => document.querySelector('#bh-live tbody').textContent.slice(0, 300)));
}

async function checkReconnect(page, watch) {
	await page.evaluate(() => { location.hash = '#map'; window.__notReloaded = true; });
	watch.phase = 'down';
	await action('daemon', 'kill');
	const tKill = Date.now();
	const banner = await until(() => page.evaluate(() => {
		const b = document.querySelector('#banner');
		return !b.hidden && b.getBoundingClientRect().height > 0 ? b.textContent : null;
	}), 8000, 100);
	note(`stale banner ${Date.now() - tKill} ms after fabmond was killed: ${banner && banner.trim()}`);
	ok(banner && /stale since \d\d:\d\d:\d\d/.test(banner), 'web/reconnect: "stale since HH:MM:SS" banner while fabmond is down', banner);
	const conn = await text(page, '#chip-conn');
	ok(/disconnected/.test(conn), 'web/reconnect: the header says disconnected', conn);
	await snap(page, 'stale', {});
	await sleep(4000);   // a few attempts: the back-off grows
	const seqBefore = await page.evaluate(() => (window.fabmon.feed.frames.get('links') || {}).seq);
	await action('daemon', 'start');
	const tStart = Date.now();
	const back = await until(() => page.evaluate(() => document.querySelector('#banner').hidden &&
		window.fabmon.feed.state === 'open'), 20000, 100);
	note(`reconnected ${Date.now() - tStart} ms after fabmond answered again`);
	watch.phase = 'recovered';
	ok(back, 'web/reconnect: the banner goes and the page reconnects by itself',
		await page.evaluate(() => `${window.fabmon.feed.state} ${document.querySelector('#banner').textContent}`));
	const fresh = await until(() => page.evaluate((s) => {
		const f = window.fabmon.feed.frames.get('links');
		return f && f.at > Date.now() - 3000 && document.querySelectorAll('#map-main g.link').length === 8;
	}, seqBefore), 30000, 250);
	const same = await page.evaluate(() => window.__notReloaded === true);
	ok(fresh && same, 'web/reconnect: live data again without a reload', `fresh ${fresh} same page ${same}`);
}

main();
