// detail.js: link and node detail. A link: its live state (topic links),
// the last minutes as pushed (kept in the page while it is open), its
// history charts from the store (GET ./api/v1/history/links/{link}, uPlot)
// and the flows on it (topic linktop/{link}). A switch: its ports with
// their live state, and its black holes.

import uPlot from '../node_modules/uplot/dist/uPlot.esm.js';
import {h, clear, kv, SortTable, fmtBps, fmtPps, fmtPct, fmtCount, fmtTime, fmtFps, fmtProto, bhKind, getJSON, visible, $} from './util.js';
import {isDark, unreachable, operDown} from './map.js';

const SERIES_COLORS = ['#5fa8ff', '#f4c542'];   // blue / yellow, dir 1 also dashed
const LIVE_POINTS = 600;                        // ~10 min at 1 s pushes
// Time ticks in whole seconds and up: the live chart spans a few seconds
// when the page has just opened, and uPlot would tick every 250 ms.
const TIME_INCRS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600,
	43200, 86400, 172800, 604800];

function siAxis(unit) {
	return (u, vals) => vals.map((v) => v === null ? '' : fmtBps(v).replace('b/s', unit));
}

// xRange: [from, to] in seconds, the history's whole range (a few stored
// points then sit where they belong in it, instead of one point on a
// zero-width axis); none: uPlot fits the data (the live chart).
function chartOpts(title, width, series, yfmt, height = 220, xRange = null) {
	const dark = isDark();
	const ink = dark ? '#c9d1d9' : '#1f2328';
	const grid = dark ? 'rgba(255,255,255,0.08)' : 'rgba(0,0,0,0.08)';
	return {
		title, width, height,
		cursor: {drag: {x: true, y: false}},
		scales: {x: xRange ? {time: true, range: () => xRange} : {time: true}},
		axes: [
			{stroke: ink, grid: {stroke: grid}, ticks: {stroke: grid}, incrs: TIME_INCRS, space: 70},
			{stroke: ink, grid: {stroke: grid}, ticks: {stroke: grid}, values: yfmt, size: 80},
		],
		series: [{}, ...series.map((sr, i) => Object.assign({
			stroke: SERIES_COLORS[i % 2], width: 2, dash: i % 2 ? [8, 4] : undefined,
			spanGaps: false,   // (uPlot's default points: drawn where they are sparse)
			value: (u, v) => v === null || v === undefined ? '–' : yfmt(u, [v])[0],
		}, sr))],
	};
}

// Point arrays per direction -> uPlot's [xs, ys0, ys1] on the union of
// their times (seconds), with null where a direction has no point.
function align(dirs, field) {
	const ts = [...new Set(dirs.flatMap((d) => (d.points || []).map((p) => p.t)))].sort((a, b) => a - b);
	const idx = new Map(ts.map((t, i) => [t, i]));
	const out = [ts];
	for (const d of dirs) {
		const ys = new Array(ts.length).fill(null);
		for (const p of d.points || []) {
			const v = p[field];
			ys[idx.get(p.t)] = v === undefined || v < 0 ? null : v;
		}
		out.push(ys);
	}
	return out;
}

export class DetailView {
	constructor(feed, {select}) {
		this.feed = feed;
		this.select = select;
		this.body = $('#detail-body');
		this.linkSel = $('#detail-link');
		this.nodeSel = $('#detail-node');
		this.linkSel.addEventListener('change', () => this.linkSel.value && select({kind: 'link', name: this.linkSel.value}));
		this.nodeSel.addEventListener('change', () => this.nodeSel.value && select({kind: 'node', name: this.nodeSel.value}));
		this.what = null;
		this.charts = [];
		this.live = new Map();   // link -> [{t, bps0, bps1}] from pushed frames
		this.histTimer = null;
		this.linktopUnsub = null;
		this.range = 3600;
		feed.on('fabric', (t) => this.fillSelects(t));
		feed.on('links', (l) => this.onLinks(l));
		feed.on('top', () => this.visible && this.what && this.what.kind === 'node' && this.renderNodeLive());
		feed.on('blackholes', () => this.visible && this.what && this.what.kind === 'node' && this.renderNodeLive());
		window.addEventListener('resize', () => this.resize());
	}

	show() {
		this.visible = true;
		this.resize();
	}

	hide() {
		this.visible = false;
		clearInterval(this.histTimer);
		this.histTimer = null;
		this.dropLinktop();
	}

	fillSelects(topo) {
		const fill = (sel, names) => {
			const cur = sel.value;
			clear(sel).append(h('option', {value: ''}, '—'));
			for (const n of names)
				sel.append(h('option', {value: n, selected: n === cur}, n));
		};
		fill(this.linkSel, ((topo && topo.links) || []).map((l) => l.name).sort());
		fill(this.nodeSel, ((topo && topo.nodes) || []).map((n) => n.name).sort((a, b) => a.localeCompare(b, 'en', {numeric: true})));
	}

	// Keep the last minutes of every link's pushed state for the live
	// chart (no arithmetic: the frames' values as they came).
	onLinks(ls) {
		if (!ls || !ls.links)
			return;
		const t = (ls.time || Date.now()) / 1000;
		for (const l of ls.links) {
			let arr = this.live.get(l.name);
			if (!arr)
				this.live.set(l.name, arr = []);
			if (arr.length && arr[arr.length - 1].t >= t)
				continue;
			const d = l.directions || [];
			arr.push({t, bps0: d[0] ? d[0].bps : null, bps1: d[1] ? d[1].bps : null,
				u0: d[0] ? d[0].utilization : null, u1: d[1] ? d[1].utilization : null});
			if (arr.length > LIVE_POINTS)
				arr.shift();
		}
		if (this.visible && this.what && this.what.kind === 'link')
			this.renderLinkLive();
		if (this.visible && this.what && this.what.kind === 'node')
			this.renderNodeLive();
	}

	open(what) {
		this.what = what;
		this.destroyCharts();
		this.dropLinktop();
		clearInterval(this.histTimer);
		clear(this.body);
		this.linkSel.value = what.kind === 'link' ? what.name : '';
		this.nodeSel.value = what.kind === 'node' ? what.name : '';
		if (what.kind === 'link')
			this.openLink(what.name);
		else if (what.kind === 'node')
			this.openNode(what.name);
	}

	destroyCharts() {
		for (const c of this.charts)
			c.destroy();
		this.charts = [];
		this.liveChart = null;
	}

	dropLinktop() {
		if (this.linktopUnsub) {
			this.linktopUnsub();
			this.feed.unsubscribe(this.linktopTopic);
			this.linktopUnsub = null;
		}
	}

	width() {
		return Math.max(320, Math.min(2400, this.body.clientWidth - 10));
	}

	resize() {
		const w = this.width();
		for (const c of this.charts)
			c.setSize({width: w, height: c.height});
	}

	// ---- link -------------------------------------------------------
	openLink(name) {
		const topo = this.feed.latest('fabric');
		const l = topo && (topo.links || []).find((x) => x.name === name);
		this.body.append(h('h2', {class: 'detail-title'}, `Link ${name}`));
		if (l)
			this.body.append(h('p', {class: 'hint'}, `${l.node1}:${l.port1} (ifIndex ${l.ifindex1}) ↔ ${l.node2}:${l.port2} (ifIndex ${l.ifindex2}) · ${l.source || ''}` +
				(l.oneSided ? ' · seen from one side only' : '')));
		this.liveBox = h('div', {class: 'cols live-dirs'});
		this.body.append(this.liveBox);
		this.body.append(h('h3', null, 'Live (as pushed, since this page opened)'));
		this.liveChartBox = h('div', {class: 'chart'});
		this.body.append(this.liveChartBox);
		const rangeSel = h('select', {class: 'controls', 'aria-label': 'history range'},
			...[[3600, 'last hour'], [21600, 'last 6 hours'], [86400, 'last 24 hours'], [604800, 'last 7 days']]
				.map(([v, t]) => h('option', {value: v, selected: v === this.range}, t)));
		rangeSel.addEventListener('change', () => {
			this.range = Number(rangeSel.value);
			this.loadHistory(name);
		});
		this.body.append(h('h3', null, 'History (from the store) ', rangeSel));
		this.histStatus = h('p', {class: 'hint'}, 'loading…');
		this.histBox = h('div', {class: 'charts'});
		this.body.append(this.histStatus, this.histBox);
		this.body.append(h('h3', null, 'Flows on this link now'));
		this.flows = new SortTable([
			{key: 'src', label: 'source'},
			{key: 'srcPort', label: 'sport', num: true},
			{key: 'dst', label: 'destination'},
			{key: 'dstPort', label: 'dport', num: true},
			{key: 'proto', label: 'proto', fmt: fmtProto},
			{key: 'to', label: 'into'},
			{key: 'bps', label: 'rate', num: true, fmt: fmtBps},
		], {sortKey: 'bps', empty: 'no flows on this link now'});
		this.body.append(this.flows.el);
		this.linktopTopic = `linktop/${name}`;
		this.linktopUnsub = this.feed.on(this.linktopTopic, (d) => this.flows.render((d && d.flows) || []));
		this.feed.subscribe(this.linktopTopic);
		this.renderLinkLive();
		this.loadHistory(name);
		this.histTimer = setInterval(() => this.visible && this.loadHistory(name), 60000);
	}

	renderLinkLive() {
		const name = this.what.name;
		const ls = this.feed.latest('links');
		const st = ls && (ls.links || []).find((x) => x.name === name);
		clear(this.liveBox);
		if (!st) {
			this.liveBox.append(h('p', {class: 'hint'}, 'no link state yet'));
		} else {
			for (const d of st.directions || []) {
				this.liveBox.append(h('div', {class: 'col card', data: {dir: d.dir}},
					h('h4', null, `${d.from.node}:${d.from.port} → ${d.to.node}:${d.to.port}`),
					kv([['rate', fmtBps(d.bps)], ['packets', fmtPps(d.pps)], ['utilisation', fmtPct(d.utilization)],
						['speed', fmtBps(d.speedBps)], ['discards', `${fmtCount(d.discards)}/s`],
						['errors', `${fmtCount(d.errors)}/s`], ['measured by', d.source || 'nothing']])));
			}
			this.liveBox.append(h('div', {class: 'col card'}, h('h4', null, 'ends'),
				kv((st.ends || []).map((e) => [`${e.node}:${e.port}`,
					`counters ${e.counters || 'none'} · flow samples ${e.flows ? 'yes' : 'no'}`])),
				h('p', null, `status ${st.status}`)));
		}
		const arr = this.live.get(name) || [];
		const data = [arr.map((p) => p.t), arr.map((p) => p.bps0), arr.map((p) => p.bps1)];
		if (!this.liveChart) {
			const dirs = st ? st.directions : [];
			const lab = (i) => dirs[i] ? visible(`${dirs[i].from.node}→${dirs[i].to.node}`) : `dir ${i}`;
			this.liveChart = new uPlot(chartOpts('rate (b/s)', this.width(),
				[{label: lab(0)}, {label: lab(1)}], siAxis('b/s'), 180), data, this.liveChartBox);
			this.charts.push(this.liveChart);
		} else {
			this.liveChart.setData(data);
		}
	}

	async loadHistory(name) {
		let j;
		try {
			j = await getJSON(`./api/v1/history/links/${encodeURIComponent(name)}?from=-${this.range}`);
		} catch (e) {
			this.histStatus.textContent = e.status === 503
				? 'no history: this fabmond runs without a store'
				: `cannot load the history: ${e.message}`;
			return;
		}
		if (!this.what || this.what.name !== name)
			return;
		const dirs = j.directions || [];
		const npts = dirs.reduce((a, d) => a + (d.points || []).length, 0);
		this.histStatus.textContent = `${j.table || ''} rows, step ${j.step} s, ${npts} points` +
			(npts === 0 ? ' — the store writes a row per whole minute: the first appears a minute or two after fabmond starts' : '');
		// rebuild the history charts (their series count never changes)
		this.charts = this.charts.filter((c) => {
			if (c === this.liveChart)
				return true;
			c.destroy();
			return false;
		});
		clear(this.histBox);
		if (npts === 0) {
			// four empty frames say less than one line
			this.histBox.append(h('p', {class: 'no-data'}, 'No stored points in this range yet.'));
			return;
		}
		const lab = (i) => dirs[i] ? visible(`${dirs[i].from.node}→${dirs[i].to.node}`) : `dir ${i}`;
		const to = Date.now() / 1000;
		const xr = [to - this.range, to];
		const mk = (title, field, fmt, unitBox) => {
			const box = h('div', {class: 'chart', data: {field}});
			this.histBox.append(box);
			const u = new uPlot(chartOpts(title, this.width(), [{label: lab(0)}, {label: lab(1)}], fmt, unitBox, xr),
				align(dirs, field), box);
			this.charts.push(u);
		};
		mk('rate (b/s)', 'bps', siAxis('b/s'), 200);
		mk('max utilisation (%)', 'utilMax', (u, vals) => vals.map((v) => v === null ? '' : fmtPct(v)), 160);
		mk('discards per second', 'discards', (u, vals) => vals.map((v) => v === null ? '' : fmtCount(v)), 140);
		mk('errors per second', 'errors', (u, vals) => vals.map((v) => v === null ? '' : fmtCount(v)), 140);
	}

	// ---- node -------------------------------------------------------
	openNode(name) {
		const topo = this.feed.latest('fabric');
		const n = topo && (topo.nodes || []).find((x) => x.name === name);
		this.body.append(h('h2', {class: 'detail-title'}, `${n ? n.role : 'switch'} ${name}`));
		if (!n) {
			this.body.append(h('p', {class: 'hint'}, 'not in the topology'));
			return;
		}
		this.body.append(kv([
			['agent', n.agent || '–'], ['addresses', (n.addresses || []).join(', ') || '–'],
			['chassis', n.chassis || '–'], ['role', `${n.role} (${n.roleSource})`],
			['source', n.source], ['polled', `${n.polled ? 'yes' : 'no'}, last ${fmtTime(n.lastPoll)}`],
			['reachable', n.polled ? (unreachable(n) ? 'NO' : 'yes') : '– (not polled: SNMP off, or not reached yet)'],
		]));
		this.nodeBh = h('div');
		this.body.append(h('h3', null, 'Black holes on this switch'), this.nodeBh);
		this.ports = new SortTable([
			{key: 'ifindex', label: 'ifIndex', num: true},
			{key: 'name', label: 'port'},
			{key: 'oper', label: 'status'},
			{key: 'speedMbps', label: 'speed', num: true, fmt: (v) => v ? fmtBps(v * 1e6) : '–'},
			{key: 'kind', label: 'kind', value: (r) => r.link ? 'fabric' : (r.edge ? 'edge' : '')},
			{key: 'peer', label: 'peer', value: (r) => r.peer ? `${r.peer}${r.peerIsHost ? ' (host)' : ''}` : '–'},
			{key: 'inBps', label: 'in', num: true, fmt: fmtBps},
			{key: 'inUtil', label: 'in util', num: true, fmt: fmtPct},
			{key: 'outBps', label: 'out', num: true, fmt: fmtBps},
			{key: 'outUtil', label: 'out util', num: true, fmt: fmtPct},
			{key: 'disc', label: 'discards/s in / out', num: true, fmt: (v) => v ? `${fmtCount(v[0])} / ${fmtCount(v[1])}` : '–',
				sortValue: (r) => r.disc ? Math.max(r.disc[0] || 0, r.disc[1] || 0) : null},
			{key: 'err', label: 'errors/s in / out', num: true, fmt: (v) => v ? `${fmtCount(v[0])} / ${fmtCount(v[1])}` : '–',
				sortValue: (r) => r.err ? Math.max(r.err[0] || 0, r.err[1] || 0) : null},
			{key: 'link', label: 'link', fmt: (v) => v ? h('a', {href: `#link/${encodeURIComponent(v)}`}, v) : '–'},
		], {sortKey: 'ifindex', desc: false, rowKey: (r) => r.name});
		this.portSrc = h('p', {class: 'hint'});
		this.body.append(h('h3', null, 'Ports'), this.ports.el, this.portSrc);
		this.portTable = null;
		this.renderNodeLive();
		// Every port's counters: fabmond's per-interface rates (sFlow-RT's
		// /table), read every 2 s while this is open.
		if (n.agent) {
			const poll = () => this.visible && this.loadPorts(name, n.agent);
			poll();
			this.histTimer = setInterval(poll, 2000);
		}
	}

	async loadPorts(name, agent) {
		const m = 'ifindex,ifinoctets,ifoutoctets,ifinutilization,ifoututilization,' +
			'ifindiscards,ifoutdiscards,ifinerrors,ifouterrors';
		try {
			const rows = await getJSON(`./table/${encodeURIComponent(agent)}/${m}/json`);
			if (!this.what || this.what.name !== name)
				return;
			const t = new Map();
			for (const row of rows) {
				const o = {};
				for (const c of row)
					o[c.metricName] = c.metricValue;
				t.set(Number(o.ifindex), o);
			}
			this.portTable = t;
			this.portSrc.textContent = `rates from the interface counters (sFlow or SNMP), ${fmtTime(Date.now())}`;
		} catch (e) {
			this.portTable = null;
			this.portSrc.textContent = `no interface counters for ${agent}: ${e.message}`;
		}
		this.renderNodeLive();
	}

	renderNodeLive() {
		if (!this.ports)
			return;
		const name = this.what.name;
		const topo = this.feed.latest('fabric');
		const n = topo && (topo.nodes || []).find((x) => x.name === name);
		if (!n)
			return;
		const ls = this.feed.latest('links');
		const top = this.feed.latest('top');
		const byEnd = new Map();   // "port:in|out" -> {bps, util}
		for (const l of (ls && ls.links) || [])
			for (const d of l.directions || []) {
				if (d.from.node === name)
					byEnd.set(`${d.from.port}:out`, {bps: d.bps, util: d.utilization});
				if (d.to.node === name)
					byEnd.set(`${d.to.port}:in`, {bps: d.bps, util: d.utilization});
			}
		for (const p of (top && top.ports && top.ports.utilization) || [])
			if (p.node === name && !byEnd.has(`${p.port}:${p.dir}`))
				byEnd.set(`${p.port}:${p.dir}`, {bps: p.bps, util: p.value});
		const pair = (a, b) => a === undefined && b === undefined ? null : [a ?? null, b ?? null];
		this.ports.render((n.ports || []).map((p) => {
			const c = this.portTable && this.portTable.get(p.ifindex);
			if (c)
				return Object.assign({}, p, {inBps: c.ifinoctets * 8, inUtil: c.ifinutilization,
					outBps: c.ifoutoctets * 8, outUtil: c.ifoututilization,
					disc: pair(c.ifindiscards, c.ifoutdiscards), err: pair(c.ifinerrors, c.ifouterrors),
					_class: operDown(p.oper) ? 'down' : ''});
			const i = byEnd.get(`${p.name}:in`), o = byEnd.get(`${p.name}:out`);
			return Object.assign({}, p, {inBps: i ? i.bps : null, inUtil: i ? i.util : null,
				outBps: o ? o.bps : null, outUtil: o ? o.util : null, disc: null, err: null,
				_class: operDown(p.oper) ? 'down' : ''});
		}));
		const bh = this.feed.latest('blackholes');
		clear(this.nodeBh);
		const evs = ((bh && bh.events) || []).filter((e) => e.node === name);
		if (!evs.length)
			this.nodeBh.append(h('p', {class: 'hint'}, 'none'));
		for (const e of evs)
			this.nodeBh.append(h('p', {class: e.end ? 'hint' : 'alarm'},
				`⊘ ${bhKind(e)} to ${e.prefix}: ${fmtFps(e.fps)}, since ${fmtTime(e.start)}` + (e.end ? `, ended ${fmtTime(e.end)}` : '')));
	}
}
