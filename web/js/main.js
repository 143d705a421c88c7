// main.js: the page. One Feed (/ws), the views, the hash router, the
// header (collector, HA role, health, connection), the stale banner, the
// theme, and the NOC wall mode (?wall=1&rotate=SECONDS).

import {Feed} from './feed.js';
import {h, clear, fmtTime, fmtFps, fmtPct, fmtBps, bhKind, visible, $, $$} from './util.js';
import {FabricMap, legend} from './map.js';
import {TopView} from './topn.js';
import {TraceView} from './trace.js';
import {EventsView} from './events.js';
import {DetailView} from './detail.js';
import {StatusView} from './status.js';

const params = new URLSearchParams(location.search);
const WALL = params.get('wall') === '1';
const ROTATE_S = Math.max(2, Number(params.get('rotate')) || 20);
const WALL_VIEWS = (params.get('views') || 'map,top,events,status').split(',').filter(Boolean);
const BASE_TOPICS = ['fabric', 'links', 'top', 'blackholes', 'events', 'health', 'ha'];

const VIEWS = [
	['map', 'Map'], ['top', 'Top-N'], ['trace', 'Trace'], ['events', 'Black holes'],
	['detail', 'Detail'], ['status', 'Status'],
];

// ---- theme ---------------------------------------------------------
const root = document.documentElement;
function setTheme(t) {
	root.classList.toggle('theme-dark', t === 'dark');
	root.classList.toggle('theme-light', t !== 'dark');
}
let theme = 'dark';
try {
	theme = WALL ? 'dark' : (params.get('theme') || localStorage.getItem('fabmon.theme') || 'dark');
} catch (e) { /* storage may be off */ }
setTheme(theme);
if (WALL)
	root.classList.add('wall');

// ---- tooltip -------------------------------------------------------
const tipEl = $('#tooltip');
const tooltip = {
	show(content, ev) {
		clear(tipEl).append(content);
		tipEl.hidden = false;
		this.move(ev);
	},
	move(ev) {
		if (tipEl.hidden || !ev)
			return;
		const pad = 14;
		let x = ev.clientX + pad, y = ev.clientY + pad;
		const r = tipEl.getBoundingClientRect();
		if (x + r.width > window.innerWidth)
			x = ev.clientX - r.width - pad;
		if (y + r.height > window.innerHeight)
			y = ev.clientY - r.height - pad;
		tipEl.style.left = `${Math.max(0, x)}px`;
		tipEl.style.top = `${Math.max(0, y)}px`;
	},
	hide() {
		tipEl.hidden = true;
	},
};

// ---- the feed and the views ----------------------------------------
const feed = new Feed({transport: params.get('transport') === 'poll' ? 'poll' : 'ws'});
feed.subscribe(...BASE_TOPICS);

function openDetail(what) {
	if (what.kind === 'link')
		location.hash = `#link/${encodeURIComponent(what.name)}`;
	else if (what.kind === 'node')
		location.hash = `#node/${encodeURIComponent(what.name)}`;
}

const mapDetails = $('#map-details');
const map = new FabricMap($('#map-main'), {
	tooltip,
	onSelect: (what, el, refresh) => {
		clear(mapDetails).append(el);
		if (what.kind === 'link' && !refresh)
			views.top.prefer(what.name);
	},
});
feed.on('fabric', (t) => map.setTopology(t));
feed.on('links', (l) => map.setLinks(l));
feed.on('blackholes', (b) => {
	map.setBlackholes(b);
	renderMapLists();
});
feed.on('top', (t) => {
	map.setTop(t);
	renderMapLists();
});
legend($('#map-legend'));

function renderMapLists() {
	const bh = feed.latest('blackholes');
	const box = clear($('#map-bh'));
	const open = ((bh && bh.events) || []).filter((e) => !e.end);
	if (!open.length)
		box.append(h('p', {class: 'ok-text'}, 'none open'));
	for (const e of open)
		box.append(h('p', {class: 'alarm clickable', data: {node: e.node},
			onclick: () => openDetail({kind: 'node', name: e.node})},
		`⊘ ${e.node}: ${bhKind(e)} → ${e.prefix}, ${fmtFps(e.fps)} since ${fmtTime(e.start)}`));
	const top = feed.latest('top');
	const cbox = clear($('#map-coll'));
	const coll = (top && top.collisions) || [];
	if (!coll.length)
		cbox.append(h('p', {class: 'ok-text'}, 'none'));
	for (const c of coll)
		cbox.append(h('p', {class: 'warn clickable', onclick: () => openDetail({kind: 'link', name: c.link})},
			`◆ ${c.link} ${nodeName(c.from)}→${nodeName(c.to)}: ${fmtPct(c.utilization)} (${fmtBps(c.bps)}), ` +
			`${c.count ?? (c.elephants || []).length} elephants`));
}
const nodeName = (x) => (x && typeof x === 'object') ? x.node : x;

const mapView = {
	show() {
		map.refresh();
	},
	hide() {},
};
const views = {
	map: mapView,
	top: new TopView(feed, {select: openDetail}),
	trace: new TraceView(feed, {tooltip, select: openDetail}),
	events: new EventsView(feed, {select: openDetail}),
	detail: new DetailView(feed, {select: openDetail}),
	status: new StatusView(feed),
};

// ---- navigation ----------------------------------------------------
const nav = $('#nav');
for (const [name, label] of VIEWS)
	nav.append(h('a', {href: `#${name}`, class: 'nav-link', data: {view: name}}, label));

let current = null;
function showView(name) {
	if (!views[name])
		name = 'map';
	if (current !== name) {
		if (current)
			views[current].hide();
		for (const sec of $$('.view'))
			sec.hidden = sec.dataset.view !== name;
		for (const a of $$('.nav-link'))
			a.classList.toggle('active', a.dataset.view === name);
		current = name;
		const sec = $(`#view-${name}`);
		$('#wall-title').textContent = sec ? sec.dataset.title : '';
		document.body.dataset.view = name;
		views[name].show();
	}
	tooltip.hide();
}

function route() {
	let hash = location.hash.replace(/^#/, '');
	try {
		hash = decodeURIComponent(hash);
	} catch (e) { /* a hand-typed % that is not an escape: as it is */ }
	const m = /^(link|node)\/(.+)$/.exec(hash);
	if (m) {
		showView('detail');
		views.detail.open({kind: m[1], name: m[2]});
		return;
	}
	showView(hash || 'map');
}
window.addEventListener('hashchange', route);

// ---- header: collector, role, health, connection --------------------
const chip = (id, text, cls) => {
	const el = $(id);
	el.textContent = visible(text);
	el.className = `chip ${cls || ''}`;
};
function renderHeader() {
	const hl = feed.hello;
	chip('#chip-collector', `${location.host}${hl && hl.version ? ` · fabmond ${hl.version}` : ''}`);
	const ha = feed.latest('ha');
	if (ha)
		chip('#chip-role', ha.role + (ha.peer && ha.peer.role ? ` · peer ${ha.peer.role}` : ''),
			`role role-${String(ha.role).toLowerCase()}`);
	else
		chip('#chip-role', 'role –');
	const hh = feed.latest('health');
	// while the channel is down, the last role and health are history
	const old = feed.state === 'open' ? '' : ' chip-old';
	chip('#chip-health', hh ? `health ${hh.status}` : 'health –', (hh ? `health-${hh.status}` : '') + old);
	$('#chip-role').classList.toggle('chip-old', !!old);
	const st = feed.state;
	chip('#chip-conn', st === 'open' ? (feed.transport === 'poll' ? '● polling' : '● live') :
		st === 'connecting' ? '○ connecting' : '✕ disconnected', `conn-${st}`);
}
feed.on('@hello', renderHeader);
feed.on('@state', () => {
	renderHeader();
	renderBanner();
});
feed.on('ha', renderHeader);
feed.on('health', renderHeader);

// ---- the stale banner ----------------------------------------------
const banner = $('#banner');
const bannerText = $('#banner-text');
$('#banner-retry').addEventListener('click', () => feed.retryNow());
function staleLimit() {
	return Math.max(5000, 3 * feed.pushMs());
}
function renderBanner() {
	const now = Date.now();
	let text = null;
	const since = feed.lastFrameAt || feed.downSince;
	if (feed.state === 'down') {
		const retry = feed.retryAt ? Math.max(0, Math.ceil((feed.retryAt - now) / 1000)) : 0;
		text = (feed.lastFrameAt ? `Disconnected from fabmond — data stale since ${fmtTime(since)}`
			: `Cannot reach fabmond (since ${fmtTime(since)})`) +
			` — reconnecting${retry ? ` in ${retry} s` : '…'}`;
	} else if (feed.state === 'open' && feed.lastFrameAt && now - feed.lastFrameAt > staleLimit()) {
		text = `No update from fabmond — data stale since ${fmtTime(feed.lastFrameAt)}`;
	}
	banner.hidden = text === null;
	root.classList.toggle('stale', text !== null);
	if (text !== null) {
		bannerText.textContent = text;
		banner.dataset.since = fmtTime(since);
	}
}
setInterval(() => {
	renderBanner();
	if (WALL)
		$('#clock').textContent = fmtTime(Date.now());
}, 1000);

// ---- theme toggle ----------------------------------------------------
$('#theme-toggle').addEventListener('click', () => {
	theme = root.classList.contains('theme-dark') ? 'light' : 'dark';
	setTheme(theme);
	try {
		localStorage.setItem('fabmon.theme', theme);
	} catch (e) { /* ignore */ }
	legend($('#map-legend'));
	map.refresh();
	views.trace.map.refresh();
	if (current === 'detail' && views.detail.what)
		views.detail.open(views.detail.what);
});

// ---- wall mode -----------------------------------------------------
if (WALL) {
	// the wall's event history: the stored black holes, not every port flap
	$('#ev-type').value = 'blackhole';
	const bar = h('div', {id: 'wall-progress'});
	document.body.append(bar);
	const rotation = WALL_VIEWS.filter((v) => views[v]);
	let i = Math.max(0, rotation.indexOf(location.hash.replace(/^#/, '')));
	let started = Date.now();
	showView(rotation[i] || 'map');
	setInterval(() => {
		const el = Date.now() - started;
		if (el >= ROTATE_S * 1000) {
			i = (i + 1) % rotation.length;
			showView(rotation[i]);
			started = Date.now();
		}
		bar.style.width = `${Math.min(100, 100 * (Date.now() - started) / (ROTATE_S * 1000))}%`;
	}, 250);
	document.body.dataset.rotate = String(ROTATE_S);
	// Full screen needs a user gesture: the first key or click.
	const fs = () => {
		if (!document.fullscreenElement && root.requestFullscreen)
			root.requestFullscreen().catch(() => {});
	};
	window.addEventListener('keydown', fs, {once: true});
	window.addEventListener('click', fs, {once: true});
} else {
	route();
}
renderHeader();
renderBanner();

// For the browser tests and the curious: the live objects.
window.fabmon = {feed, views, map};
