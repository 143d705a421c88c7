// lib.mjs: shared by the browser tests. playwright-core (npm) drives
// Debian's /usr/bin/chromium: never `npx playwright install`, never a
// downloaded browser. Tests print TAP-like "ok - NAME" / "not ok - NAME"
// lines, and "# ..." comments, which tests/run.sh counts.

import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {chromium} from 'playwright-core';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
// Screenshots of every view are test artefacts (build/ is git-ignored);
// ARTIFACTS moves them.
export const ARTIFACTS = path.resolve(process.env.ARTIFACTS || path.join(ROOT, 'build', 'artifacts', 'web'));

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
	'--disable-background-networking', '--disable-component-update', '--disable-sync'];

let failures = 0;
let passes = 0;

export function ok(cond, name, why = '') {
	if (cond) {
		passes++;
		console.log(`ok - ${name}`);
	} else {
		failures++;
		console.log(`not ok - ${name}${why ? `: ${String(why).replace(/\s+/g, ' ').slice(0, 600)}` : ''}`);
	}
	return !!cond;
}

export function note(s) {
	for (const line of String(s).split('\n'))
		console.log(`# ${line}`);
}

export const result = () => ({passes, failures});

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Poll fn() until it returns something truthy or the time runs out;
// returns the last value.
export async function until(fn, ms, step = 100) {
	const end = Date.now() + ms;
	let v;
	for (;;) {
		try {
			v = await fn();
		} catch (e) {
			v = undefined;
		}
		if (v || Date.now() >= end)
			return v;
		await sleep(step);
	}
}

export async function launch() {
	return chromium.launch({executablePath: CHROMIUM, args: ARGS});
}

// Every console error/warning, uncaught exception and CSP violation of a
// page, each stamped with the phase the test was in, so that a test can
// allow what it provokes (the websocket failing while it killed fabmond).
export class Watch {
	constructor() {
		this.phase = 'load';
		this.msgs = [];
	}

	async attach(page) {
		// CSP violations also fire a DOM event: count them independently
		// of the console text.
		await page.addInitScript(() => {
			window.__csp = [];
			document.addEventListener('securitypolicyviolation', (e) =>
				window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
		});
		page.on('console', (m) => {
			if (m.type() === 'error' || m.type() === 'warning' || /Content.Security.Policy/i.test(m.text()))
				this.msgs.push({phase: this.phase, type: m.type(), text: m.text(), url: (m.location() || {}).url || ''});
		});
		page.on('pageerror', (e) => this.msgs.push({phase: this.phase, type: 'pageerror', text: String(e && e.stack || e), url: ''}));
		return page;
	}

	// The messages not explained by allow(msg) -> bool.
	unexpected(allow = () => false) {
		return this.msgs.filter((m) => !allow(m));
	}
}

// What a healthy run may log: the page asks for sFlow-RT's
// ./flowkeys/json for key completion and falls back to its built-in list
// when fabmond answers 404; the browser logs that 404 as an error.
export function allowFlowkeys404(m) {
	return m.type === 'error' && /status of 404/.test(m.text) && /\/flowkeys\/json$/.test(m.url);
}

// While the test has fabmond down, the browser logs every failed
// reconnection attempt, and any request cut when it was killed (the
// favicon, a history GET).
export function allowDown(m) {
	return m.phase === 'down' && m.type === 'error' &&
		(/WebSocket connection to .* failed/.test(m.text) ||
		 /Failed to load resource: net::ERR_/.test(m.text));
}

export async function openPage(browser, url, watch, viewport = {width: 1600, height: 1000}) {
	const page = await browser.newPage({viewport});
	await watch.attach(page);
	const t0 = Date.now();
	await page.goto(url, {waitUntil: 'load'});
	return {page, loadMs: Date.now() - t0};
}

// Summaries of the map a test checks.
export async function mapSummary(page, sel = '#map-main') {
	return page.evaluate((sel) => {
		const root = document.querySelector(sel);
		const nodes = [...root.querySelectorAll('g.node')].map((g) => ({name: g.dataset.node, role: g.dataset.role}));
		const links = [...root.querySelectorAll('g.link')].map((g) => ({
			name: g.dataset.link,
			dirs: [...g.querySelectorAll('line.dir')].map((l) => ({dir: l.dataset.dir, from: l.dataset.from,
				to: l.dataset.to, stroke: l.getAttribute('stroke'), width: l.getAttribute('stroke-width'),
				cls: l.getAttribute('class')})),
		}));
		return {nodes, links};
	}, sel);
}

export async function visibleControls(page) {
	return page.evaluate(() => [...document.querySelectorAll('input, select, button, textarea, nav a')]
		.filter((e) => {
			const r = e.getBoundingClientRect();
			const st = getComputedStyle(e);
			return r.width > 0 && r.height > 0 && st.visibility !== 'hidden' && st.display !== 'none';
		}).map((e) => e.outerHTML.slice(0, 80)));
}

// A screenshot of the page as it is, into ARTIFACTS/NAME.png. Finite
// animations (the trace drawn stage by stage) are finished, infinite ones
// (the black-hole pulse) stopped, so that the picture is the steady state.
export async function shot(page, name, {fullPage = false, hover = false} = {}) {
	fs.mkdirSync(ARTIFACTS, {recursive: true});
	if (!hover) {   // no tooltip left from the last click
		await page.mouse.move(1, 1);
		await page.evaluate(() => { const t = document.querySelector('#tooltip'); if (t) t.hidden = true; });
	}
	const file = path.join(ARTIFACTS, `${name}.png`);
	await page.screenshot({path: file, fullPage, animations: 'disabled'});
	return file;
}

// The views of the page that must not scroll sideways: a name from the
// network, however long, wraps or is cut, and never widens the page.
export async function overflowX(page) {
	return page.evaluate(() => {
		const w = document.documentElement.clientWidth;
		const out = [];
		if (document.documentElement.scrollWidth > w + 1)
			out.push(`page ${document.documentElement.scrollWidth} > ${w}`);
		for (const e of document.querySelectorAll('main .view:not([hidden]) *')) {
			const r = e.getBoundingClientRect();
			if (r.width > 0 && r.right > w + 1 && !e.closest('.map-box.wide-fabric, .table-wrap'))
				out.push(`${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ''}.${e.getAttribute('class') || ''} right ${Math.round(r.right)}`);
		}
		return out.slice(0, 5);
	});
}

// Wall mode at the NOC wall's 1920x1080, each view in turn (one page,
// no rotation: the hash picks the view), screenshot into
// ARTIFACTS/PREFIXwall-VIEW.png. Returns {view: problems} for the views
// whose content is cut at the right or the bottom of the screen.
export async function wallShots(browser, base, watch, prefix, views = ['map', 'top', 'events', 'status']) {
	const bad = {};
	const u = new URL(`?wall=1&rotate=600&views=${views.join(',')}`, base);
	const {page} = await openPage(browser, u.href, watch, {width: 1920, height: 1080});
	await until(() => page.evaluate(() => window.fabmon.feed.state === 'open' && window.fabmon.feed.latest('health')), 5000);
	await sleep(700);   // a few pushes: every panel filled
	for (const v of views) {
		await page.evaluate((v) => { location.hash = `#${v}`; }, v);
		await until(() => page.evaluate((v) => document.body.dataset.view === v, v), 3000);
		await sleep(v === 'events' ? 600 : 250);   // the events view loads the history
		await shot(page, `${prefix}wall-${v}`);
		const fit = await page.evaluate(() => {
			const out = [];
			const H = window.innerHeight, W = window.innerWidth;
			if (document.documentElement.scrollHeight > H + 2)
				out.push(`page height ${document.documentElement.scrollHeight}`);
			// a table wider than its column: cut on the wall (no scrolling)
			for (const w of document.querySelectorAll('main .view:not([hidden]) .table-wrap'))
				if (w.scrollWidth > w.clientWidth + 1)
					out.push(`table ${w.parentElement.id || ''} cut at the right (${w.scrollWidth} > ${w.clientWidth})`);
			for (const e of document.querySelectorAll('header *, main .view:not([hidden]) *')) {
				const r = e.getBoundingClientRect();
				if (r.width === 0 || r.height === 0 || getComputedStyle(e).visibility === 'hidden')
					continue;
				if (r.right > W + 1)
					out.push(`${e.tagName.toLowerCase()}.${e.getAttribute('class') || ''} right ${Math.round(r.right)}`);
				else if (r.bottom > H + 1)
					out.push(`${e.tagName.toLowerCase()}.${e.getAttribute('class') || ''} cut at the bottom (${Math.round(r.bottom)})`);
			}
			return out.slice(0, 5);
		});
		if (fit.length)
			bad[v] = fit;
	}
	await page.close();
	return bad;
}

// The wall-mode checks, shared by the lab and the local test.
export async function wallChecks(browser, base, watch, prefix) {
	const {page} = await openPage(browser, new URL('?wall=1&rotate=2', base).href, watch,
		{width: 1920, height: 1080});
	await until(() => page.evaluate(() => document.body.dataset.view), 3000);
	const info = await page.evaluate(() => ({
		wall: document.documentElement.classList.contains('wall'),
		dark: document.documentElement.classList.contains('theme-dark'),
		font: parseFloat(getComputedStyle(document.body).fontSize),
		label: parseFloat(getComputedStyle(document.querySelector('#wall-title')).fontSize),
		title: document.querySelector('#wall-title').textContent,
		view: document.body.dataset.view,
		overflow: document.documentElement.scrollHeight <= window.innerHeight + 2,
	}));
	ok(info.wall && info.dark, `${prefix}wall mode: dark theme`, JSON.stringify(info));
	ok(info.font >= 24, `${prefix}wall mode: large type (body ${info.font}px, view title ${info.label}px)`,
		JSON.stringify(info));
	const ctl = await visibleControls(page);
	ok(ctl.length === 0, `${prefix}wall mode: no controls visible`, ctl.join(' '));
	ok(info.overflow, `${prefix}wall mode: fits the screen, no scrolling`, JSON.stringify(info));
	const seen = new Set([info.view]);
	const t0 = Date.now();
	await until(async () => {
		seen.add(await page.evaluate(() => document.body.dataset.view));
		return seen.size >= 3;
	}, 9000, 200);
	ok(seen.size >= 3, `${prefix}wall mode: views rotate (?rotate=2: ${[...seen].join(' → ')} in ${((Date.now() - t0) / 1000).toFixed(1)} s)`,
		[...seen].join(','));
	await page.close();
}
