// map.js: the fabric map (SVG). Spines on the top row, leaves below, the
// hosts on their edge ports under them. Every fabric link is drawn once
// per direction, coloured and sized by that direction's utilisation
// (topic links); black holes (topic blackholes) and ECMP collisions
// (topic top) are marked on nodes and link directions; a trace (topic
// trace/{id}) is drawn over it hop by hop.
//
// The layout is rebuilt only when the topology version changes; every
// push period only the attributes of the existing elements change.

import {s, h, clear, fmtBps, fmtPps, fmtPct, fmtFps, fmtTime, fmtCount, bhKind, ellipsize, visible} from './util.js';
import {utilColor, utilWidth, NO_DATA, ALARM, WARN, LEGEND_TICKS, utilPos} from './palette.js';

const ROW_SPINE = 80;
const ROW_LEAF = 270;
const ROW_HOST = 420;
const COL = 130;
const DIR_OFFSET = 5;
const BOX_W = 104;     // a switch's box (COL leaves a gap between two)
const HOST_W = 76;
const LABEL_MAX = 12;  // characters of a name on the map; the rest in the details

// A switch that SNMP reached once and no longer answers. An imported
// switch that nothing polls (a site without SNMP) is not "unreachable":
// nobody tried.
export const unreachable = (n) => !!n && n.polled === true && n.reachable === false;
// A port or edge whose status is known to be down ("unknown" is not).
export const operDown = (oper) => /down|notPresent/i.test(oper || '');

// Keep a label inside its box: cut to LABEL_MAX characters, then, if it
// is still wider than the box (wide glyphs, the wall's larger type),
// squeezed to fit with textLength. Measured when the map is laid out on
// screen, estimated when it is hidden (the trace view's map).
function fitLabel(t, avail) {
	t.removeAttribute('textLength');
	t.removeAttribute('lengthAdjust');
	let w = 0;
	try {
		w = t.getComputedTextLength();
	} catch (e) { /* not rendered */ }
	if (!w) {
		const fs = parseFloat(getComputedStyle(t).fontSize) || 17;
		w = [...t.textContent].length * 0.68 * fs;
	}
	if (w > avail) {
		t.setAttribute('textLength', avail.toFixed(1));
		t.setAttribute('lengthAdjust', 'spacingAndGlyphs');
	}
}

const natural = (a, b) => a.localeCompare(b, 'en', {numeric: true});

export function isDark() {
	return document.documentElement.classList.contains('theme-dark');
}

export class FabricMap {
	constructor(container, {onSelect, tooltip, showTrace = false} = {}) {
		this.container = container;
		this.onSelect = onSelect;
		this.tooltip = tooltip;
		this.showTrace = showTrace;
		this.version = null;
		this.pos = new Map();         // node or host name -> {x, y, kind}
		this.linkEls = new Map();     // link name -> {g, dirs: {"from>to": {line, arrow, hit}}}
		this.nodeEls = new Map();     // name -> g
		this.edgeEls = new Map();     // "node:port" -> line
		this.topo = null;
		this.links = null;
		this.bh = null;
		this.top = null;
		this.trace = null;
		this.traceSegs = new Map();   // segment key -> element (kept to animate only new ones)
		this.selected = null;
		this.svg = s('svg', {class: 'fabric-map', role: 'img', 'aria-label': 'fabric map',
			preserveAspectRatio: 'xMidYMid meet'});
		this.gLinks = s('g', {class: 'layer-links'});
		this.gEdges = s('g', {class: 'layer-edges'});
		this.gNodes = s('g', {class: 'layer-nodes'});
		this.gMarks = s('g', {class: 'layer-marks'});
		this.gTrace = s('g', {class: 'layer-trace'});
		this.svg.append(this.gEdges, this.gLinks, this.gTrace, this.gNodes, this.gMarks);
		this.empty = h('p', {class: 'hint map-empty'}, 'Waiting for the topology (topic fabric)…');
		container.append(this.empty, this.svg);
	}

	// ---- topology: the layout ---------------------------------------
	setTopology(topo) {
		this.topo = topo;
		if (!topo || !topo.nodes || topo.nodes.length === 0) {
			this.empty.hidden = false;
			this.empty.textContent = topo === null
				? 'No topology yet: fabmond has not discovered the fabric (SNMP/LLDP) nor had one imported.'
				: 'Waiting for the topology (topic fabric)…';
			this.svg.classList.add('hidden');
			this.version = null;
			return;
		}
		this.empty.hidden = true;
		this.svg.classList.remove('hidden');
		if (topo.version === this.version && this.pos.size)
			return this.refresh();
		this.version = topo.version;
		this.layout(topo);
		this.refresh();
	}

	layout(topo) {
		const byRole = (r) => topo.nodes.filter((n) => n.role === r).map((n) => n.name).sort(natural);
		const spines = byRole('spine');
		const leaves = byRole('leaf');
		const others = byRole('other');
		const known = new Set(topo.nodes.map((n) => n.name));
		// Hosts: the LLDP neighbours on edge ports, under the first leaf
		// that has them; ports without a neighbour are listed in the node
		// detail, not drawn.
		const hosts = [];
		const hostSeen = new Set();
		const edges = [];
		const lowerRow = [...leaves, ...others];
		const nodeByName = new Map(topo.nodes.map((n) => [n.name, n]));
		for (const name of lowerRow) {
			const n = nodeByName.get(name);
			const mine = (n.ports || []).filter((p) => p.edge && p.peer && !known.has(p.peer))
				.sort((a, b) => natural(a.name, b.name));
			for (const p of mine) {
				edges.push({node: name, port: p.name, host: p.peer, oper: p.oper});
				if (!hostSeen.has(p.peer)) {
					hostSeen.add(p.peer);
					hosts.push({name: p.peer, under: name});
				}
			}
		}
		// Spines whose role is "other" but sit above: keep them with the
		// leaves; the config's role override fixes a wrong guess.
		const cols = Math.max(spines.length, lowerRow.length, hosts.length, 3);
		const W = cols * COL + 40;
		const H = (hosts.length ? ROW_HOST + 70 : ROW_LEAF + 80);
		this.svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
		// A big fabric scrolls sideways rather than shrinking to dots.
		this.svg.style.minWidth = cols > 16 ? `${W}px` : '';
		this.container.classList.toggle('wide-fabric', cols > 16);
		this.W = W;
		this.H = H;
		const place = (names, y, kind) => {
			const step = W / names.length;
			names.forEach((nm, i) => this.pos.set(nm, {x: step * (i + 0.5), y, kind}));
		};
		this.pos.clear();
		place(spines, ROW_SPINE, 'spine');
		place(lowerRow, ROW_LEAF, 'leaf');
		// Hosts: centred under their leaf where there is room, else spread.
		if (hosts.length) {
			const step = W / hosts.length;
			hosts.forEach((hh, i) => this.pos.set(hh.name, {x: step * (i + 0.5), y: ROW_HOST, kind: 'host'}));
		}
		this.drawNodes(topo, spines, lowerRow, hosts, nodeByName);
		this.drawLinks(topo);
		this.drawEdges(edges);
		this.traceSegs.clear();
		clear(this.gTrace);
	}

	drawNodes(topo, spines, lower, hosts, nodeByName) {
		clear(this.gNodes);
		this.nodeEls.clear();
		for (const name of [...spines, ...lower]) {
			const n = nodeByName.get(name);
			const p = this.pos.get(name);
			const role = n.role;
			const g = s('g', {class: `node ${role}` + (unreachable(n) ? ' unreachable' : ''),
				transform: `translate(${p.x},${p.y})`, tabindex: 0, 'aria-label': `${role} ${name}`,
				data: {node: name, role, kind: 'switch'}});
			g.append(
				s('rect', {x: -BOX_W / 2, y: -20, width: BOX_W, height: 40, rx: 8, class: 'node-box'}),
				s('text', {class: 'node-label', 'text-anchor': 'middle', y: 6, data: {fit: BOX_W - 12}},
					ellipsize(visible(name), LABEL_MAX)),
				s('text', {class: 'node-role', 'text-anchor': 'middle', y: -26}, role === 'other' ? '' : role),
			);
			this.hook(g, {kind: 'node', name});
			this.gNodes.append(g);
			this.nodeEls.set(name, g);
		}
		for (const hh of hosts) {
			const p = this.pos.get(hh.name);
			const g = s('g', {class: 'node host', transform: `translate(${p.x},${p.y})`, tabindex: 0,
				'aria-label': `host ${hh.name}`, data: {node: hh.name, role: 'host', kind: 'host'}});
			g.append(
				s('rect', {x: -HOST_W / 2, y: -14, width: HOST_W, height: 28, rx: 14, class: 'node-box'}),
				s('text', {class: 'node-label host-label', 'text-anchor': 'middle', y: 5, data: {fit: HOST_W - 10}},
					ellipsize(visible(hh.name), LABEL_MAX - 2)),
			);
			this.hook(g, {kind: 'host', name: hh.name});
			this.gNodes.append(g);
			this.nodeEls.set(hh.name, g);
		}
		this.fitLabels();
	}

	fitLabels() {
		for (const t of this.gNodes.querySelectorAll('text[data-fit]'))
			fitLabel(t, Number(t.dataset.fit));
	}

	// Offset a segment a->b to its right-hand side (SVG y grows down), so
	// that the two directions of a link run side by side.
	static offset(a, b, d) {
		const dx = b.x - a.x, dy = b.y - a.y;
		const len = Math.hypot(dx, dy) || 1;
		const nx = -dy / len * d, ny = dx / len * d;
		return [{x: a.x + nx, y: a.y + ny}, {x: b.x + nx, y: b.y + ny}];
	}

	drawLinks(topo) {
		clear(this.gLinks);
		this.linkEls.clear();
		for (const l of topo.links || []) {
			const a = this.pos.get(l.node1), b = this.pos.get(l.node2);
			if (!a || !b)
				continue;
			const g = s('g', {class: `link status-${l.status || 'unknown'}`, data: {link: l.name}});
			const dirs = {};
			for (const [f, t, dir] of [[l.node1, l.node2, 0], [l.node2, l.node1, 1]]) {
				const pa = this.pos.get(f), pb = this.pos.get(t);
				const [p, q] = FabricMap.offset(pa, pb, DIR_OFFSET);
				const line = s('line', {class: 'dir', x1: p.x, y1: p.y, x2: q.x, y2: q.y,
					stroke: NO_DATA, 'stroke-width': 2.5,
					data: {link: l.name, dir, from: f, to: t}});
				// an arrowhead 62 % of the way, pointing from -> to
				const ax = p.x + (q.x - p.x) * 0.62, ay = p.y + (q.y - p.y) * 0.62;
				const ang = Math.atan2(q.y - p.y, q.x - p.x) * 180 / Math.PI;
				const arrow = s('path', {class: 'arrow', d: 'M -6 -5 L 6 0 L -6 5 z', fill: NO_DATA,
					transform: `translate(${ax},${ay}) rotate(${ang})`});
				const hit = s('line', {class: 'hit', x1: p.x, y1: p.y, x2: q.x, y2: q.y,
					stroke: 'transparent', 'stroke-width': 12});
				this.hook(hit, {kind: 'link', name: l.name, dir, from: f, to: t});
				g.append(line, arrow, hit);
				dirs[`${f}>${t}`] = {line, arrow, hit, p, q, dir};
			}
			this.gLinks.append(g);
			this.linkEls.set(l.name, {g, dirs, link: l});
		}
	}

	drawEdges(edges) {
		clear(this.gEdges);
		this.edgeEls.clear();
		for (const e of edges) {
			const a = this.pos.get(e.node), b = this.pos.get(e.host);
			if (!a || !b)
				continue;
			const line = s('line', {class: 'edge' + (operDown(e.oper) ? ' down' : ''),
				x1: a.x, y1: a.y, x2: b.x, y2: b.y, stroke: NO_DATA, 'stroke-width': 2,
				data: {node: e.node, port: e.port, host: e.host}});
			const hit = s('line', {class: 'hit', x1: a.x, y1: a.y, x2: b.x, y2: b.y,
				stroke: 'transparent', 'stroke-width': 12});
			this.hook(hit, {kind: 'edge', name: `${e.node}:${e.port}`, node: e.node, port: e.port, host: e.host});
			this.gEdges.append(line, hit);
			this.edgeEls.set(`${e.node}:${e.port}`, {line, e});
		}
	}

	// ---- live state -------------------------------------------------
	setLinks(ls) {
		this.links = ls;
		this.paintLinks();
	}

	setBlackholes(bh) {
		this.bh = bh;
		this.paintMarks();
	}

	setTop(top) {
		this.top = top;
		this.paintEdges();
		this.paintMarks();
	}

	setTrace(tr) {
		this.trace = tr;
		this.paintTrace();
	}

	refresh() {
		this.fitLabels();
		this.paintLinks();
		this.paintEdges();
		this.paintMarks();
		this.paintTrace();
	}

	paintLinks() {
		const dark = isDark();
		const state = new Map(((this.links && this.links.links) || []).map((l) => [l.name, l]));
		for (const [name, el] of this.linkEls) {
			const l = state.get(name);
			// (keeps the selection: every push repaints)
			const sel = this.selected && this.selected.kind === 'link' && this.selected.name === name;
			el.g.setAttribute('class', `link status-${(l && l.status) || el.link.status || 'unknown'}${sel ? ' selected' : ''}`);
			for (const d of Object.values(el.dirs)) {
				const from = d.line.dataset.from, to = d.line.dataset.to;
				const st = l && (l.directions || []).find((x) => x.from && x.from.node === from && x.to && x.to.node === to);
				let color = NO_DATA, width = 2.5, cls = 'dir';
				if (st && st.source && st.utilization !== null && st.utilization !== undefined) {
					color = utilColor(st.utilization, dark);
					width = utilWidth(st.utilization);
					if (st.source === 'estimate')
						cls += ' estimate';
				} else {
					cls += ' nodata';
				}
				d.line.setAttribute('stroke', color);
				d.line.setAttribute('stroke-width', width.toFixed(2));
				d.line.setAttribute('class', cls);
				d.arrow.setAttribute('fill', color);
				d.state = st || null;
			}
		}
		this.refreshDetails();
	}

	paintEdges() {
		const dark = isDark();
		const util = (this.top && this.top.ports && this.top.ports.utilization) || [];
		const byPort = new Map();
		for (const p of util) {
			const k = `${p.node}:${p.port}`;
			const cur = byPort.get(k) || {};
			cur[p.dir] = p;
			byPort.set(k, cur);
		}
		for (const [k, el] of this.edgeEls) {
			const m = byPort.get(k);
			el.state = m || null;
			const v = m ? Math.max(m.in ? m.in.value : 0, m.out ? m.out.value : 0) : null;
			el.line.setAttribute('stroke', v === null ? NO_DATA : utilColor(v, dark));
			el.line.setAttribute('stroke-width', v === null ? 2 : utilWidth(v).toFixed(2));
		}
	}

	paintMarks() {
		clear(this.gMarks);
		// Black holes: a magenta dashed ring around the node, and a badge
		// with the reasons; never colour alone.
		const open = ((this.bh && this.bh.events) || []).filter((e) => e.end === null || e.end === undefined);
		const byNode = new Map();
		for (const e of open) {
			if (!byNode.has(e.node))
				byNode.set(e.node, []);
			byNode.get(e.node).push(e);
		}
		for (const g of this.nodeEls.values())
			g.classList.remove('blackhole');
		for (const [node, evs] of byNode) {
			const p = this.pos.get(node);
			const g = this.nodeEls.get(node);
			if (!p)
				continue;
			g && g.classList.add('blackhole');
			const reasons = [...new Set(evs.map((e) => e.reason))].join(', ');
			const m = s('g', {class: 'mark blackhole-mark', transform: `translate(${p.x},${p.y})`,
				data: {node, marker: 'blackhole', reasons}});
			m.append(
				s('rect', {x: -BOX_W / 2 - 10, y: -42, width: BOX_W + 20, height: 72, rx: 14, fill: 'none', stroke: ALARM,
					'stroke-width': 4, 'stroke-dasharray': '8 5', class: 'bh-ring'}),
				s('g', {transform: `translate(${BOX_W / 2 + 8},-40)`},
					s('circle', {r: 13, fill: ALARM}),
					s('text', {class: 'bh-glyph', 'text-anchor': 'middle', y: 6}, '⊘')),
				s('text', {class: 'mark-label bh-label', 'text-anchor': 'middle',
					y: p.kind === 'spine' ? -52 : 50}, `black hole: ${reasons}`),
			);
			this.hook(m, {kind: 'node', name: node});
			this.gMarks.append(m);
		}
		// Collisions: an orange diamond with "×N" on the busy direction.
		for (const c of (this.top && this.top.collisions) || []) {
			const el = this.linkEls.get(c.link);
			const d = el && el.dirs[`${c.from}>${c.to}`] ||
				el && Object.values(el.dirs).find((x) => x.line.dataset.from === (c.from && c.from.node || c.from));
			if (!d)
				continue;
			const mx = (d.p.x + d.q.x) / 2, my = (d.p.y + d.q.y) / 2;
			const n = c.count ?? (c.elephants || []).length;
			const m = s('g', {class: 'mark collision-mark', transform: `translate(${mx},${my})`,
				data: {link: c.link, marker: 'collision'}});
			m.append(
				s('path', {d: 'M 0 -15 L 15 0 L 0 15 L -15 0 z', fill: WARN, stroke: '#000', 'stroke-width': 1.5}),
				s('text', {class: 'coll-glyph', 'text-anchor': 'middle', y: 5}, `×${n}`),
			);
			this.hook(m, {kind: 'link', name: c.link, collision: c});
			this.gMarks.append(m);
		}
	}

	// ---- the trace overlay ------------------------------------------
	paintTrace() {
		if (!this.showTrace)
			return;
		const tr = this.trace;
		if (!tr || !tr.hops) {
			clear(this.gTrace);
			this.traceSegs.clear();
			this.svg.classList.remove('tracing');
			return;
		}
		const want = new Map();
		const seg = (key, a, b, share, stage, kind) => {
			if (!want.has(key))
				want.set(key, {a, b, share, stage, kind});
			else
				want.get(key).share = Math.max(want.get(key).share, share);
		};
		for (const hop of tr.hops) {
			const here = this.pos.get(hop.node);
			if (!here)
				continue;
			if (!hop.inLink && hop.from && this.pos.get(hop.from) && this.pos.get(hop.from).kind === 'host')
				seg(`${hop.from}>${hop.node}`, hop.from, hop.node, 1, hop.stage - 0.5, 'edge');
			if (hop.to && this.pos.get(hop.to) && !hop.discard)
				seg(`${hop.node}>${hop.to}`, hop.node, hop.to, hop.share ?? 1, hop.stage, hop.outLink ? 'link' : 'edge');
		}
		// the fabric steps back while a path is drawn over it
		this.svg.classList.toggle('tracing', want.size > 0);
		// remove the segments gone from the path
		for (const [k, el] of this.traceSegs) {
			if (!want.has(k)) {
				el.remove();
				this.traceSegs.delete(k);
			}
		}
		for (const [k, sg] of want) {
			const pa = this.pos.get(sg.a), pb = this.pos.get(sg.b);
			const [p, q] = sg.kind === 'link' ? FabricMap.offset(pa, pb, DIR_OFFSET) : [pa, pb];
			let g = this.traceSegs.get(k);
			if (!g) {
				g = s('g', {class: 'trace-seg new', data: {seg: k, from: sg.a, to: sg.b}});
				const path = s('path', {class: 'trace-path', d: `M ${p.x} ${p.y} L ${q.x} ${q.y}`, pathLength: 100});
				// Each stage draws after the one before it (CSSOM, CSP-safe).
				path.style.animationDelay = `${Math.max(0, sg.stage - 1) * 0.35}s`;
				g.append(path, s('text', {class: 'share-label', 'text-anchor': 'middle',
					x: (p.x + q.x) / 2 + 10, y: (p.y + q.y) / 2}));
				this.gTrace.append(g);
				this.traceSegs.set(k, g);
			}
			const label = g.querySelector('text');
			label.textContent = sg.share < 0.995 ? `${Math.round(sg.share * 100)} %` : '';
			g.dataset.share = sg.share.toFixed(3);
		}
		// the discard point
		const old = this.gTrace.querySelector('.dies-mark');
		old && old.remove();
		const dies = tr.diesAt;
		if (dies && this.pos.get(dies.node)) {
			const p = this.pos.get(dies.node);
			this.gTrace.append(s('g', {class: 'dies-mark', transform: `translate(${p.x},${p.y})`,
				data: {node: dies.node}},
				s('circle', {r: 34, fill: 'none', stroke: ALARM, 'stroke-width': 5}),
				s('path', {d: 'M -24 -24 L 24 24', stroke: ALARM, 'stroke-width': 5}),
				s('text', {class: 'mark-label', 'text-anchor': 'middle', y: 52}, `dies: ${dies.reason || 'discard'}`)));
		}
	}

	// ---- interaction ------------------------------------------------
	hook(el, what) {
		el.addEventListener('pointerenter', (ev) => this.hover(what, ev));
		el.addEventListener('pointermove', (ev) => this.moveTip(ev));
		el.addEventListener('pointerleave', () => this.tooltip && this.tooltip.hide());
		el.addEventListener('click', () => this.select(what));
		el.addEventListener('keydown', (ev) => {
			if (ev.key === 'Enter' || ev.key === ' ')
				this.select(what);
		});
	}

	hover(what, ev) {
		if (!this.tooltip)
			return;
		this.tooltip.show(this.describe(what, true), ev);
	}

	moveTip(ev) {
		this.tooltip && this.tooltip.move(ev);
	}

	select(what) {
		this.selected = what;
		for (const g of this.svg.querySelectorAll('.selected'))
			g.classList.remove('selected');
		if (what.kind === 'node' || what.kind === 'host') {
			const g = this.nodeEls.get(what.name);
			g && g.classList.add('selected');
		} else if (what.kind === 'link') {
			const el = this.linkEls.get(what.name);
			el && el.g.classList.add('selected');
		}
		this.onSelect && this.onSelect(what, this.describe(what, false));
	}

	refreshDetails() {
		if (this.selected && this.onSelect)
			this.onSelect(this.selected, this.describe(this.selected, false), true);
	}

	// What a hover or a click shows: an element built from the latest
	// frames.
	describe(what, brief) {
		const box = h('div', {class: 'describe'});
		if (what.kind === 'link') {
			const el = this.linkEls.get(what.name);
			const l = el && el.link;
			const st = this.links && (this.links.links || []).find((x) => x.name === what.name);
			box.append(h('h3', null, `link ${what.name}`));
			box.append(h('p', null, `status ${(st && st.status) || (l && l.status) || 'unknown'}`));
			const dirs = (st && st.directions) || [];
			for (const d of dirs) {
				if (brief && what.from && d.from.node !== what.from)
					continue;
				box.append(h('p', {class: 'dirline'},
					h('b', null, `${d.from.node}:${d.from.port} → ${d.to.node}:${d.to.port}`), h('br'),
					`${fmtBps(d.bps)} · ${fmtPps(d.pps)} · ${fmtPct(d.utilization)} of ${fmtBps(d.speedBps)}`, h('br'),
					`discards ${fmtCount(d.discards)}/s · errors ${fmtCount(d.errors)}/s · ${d.source || 'no reading'}`));
			}
			if (!dirs.length)
				box.append(h('p', {class: 'hint'}, 'no link state yet'));
			if (st && st.ends && !brief)
				box.append(h('p', {class: 'hint'}, st.ends.map((e) =>
					`${e.node}:${e.port} counters ${e.counters || 'none'}, flows ${e.flows ? 'yes' : 'no'}`).join(' · ')));
			const coll = ((this.top && this.top.collisions) || []).filter((c) => c.link === what.name);
			for (const c of coll)
				box.append(h('p', {class: 'warn'}, `ECMP collision ${c.from}→${c.to}: ${fmtPct(c.utilization)}, ` +
					`${c.count ?? (c.elephants || []).length} elephants: ${(c.elephants || []).join(', ')}`));
			if (!brief)
				box.append(h('p', null, h('a', {href: `#link/${encodeURIComponent(what.name)}`}, 'history and flows →')));
		} else if (what.kind === 'node') {
			const n = this.topo && this.topo.nodes.find((x) => x.name === what.name);
			box.append(h('h3', null, `${n ? n.role : 'switch'} ${what.name}`));
			if (n) {
				box.append(h('p', null, `agent ${n.agent || '–'} · ${unreachable(n) ? 'unreachable' : (n.polled ? 'reachable' : 'not polled')}` +
					` · ${(n.ports || []).length} ports · ${n.neighbors ?? '–'} neighbours · ${n.hosts ?? '–'} hosts`));
			}
			const evs = ((this.bh && this.bh.events) || []).filter((e) => e.node === what.name);
			for (const e of evs)
				box.append(h('p', {class: e.end ? 'hint' : 'alarm'},
					`⊘ ${bhKind(e)} ${e.prefix} ${fmtFps(e.fps)} since ${fmtTime(e.start)}` +
					(e.end ? ` (ended ${fmtTime(e.end)})` : '')));
			if (!brief)
				box.append(h('p', null, h('a', {href: `#node/${encodeURIComponent(what.name)}`}, 'ports and detail →')));
		} else if (what.kind === 'host') {
			box.append(h('h3', null, `host ${what.name}`));
			for (const [k, el] of this.edgeEls)
				if (el.e.host === what.name)
					box.append(h('p', null, `on ${k}` + this.edgeText(el)));
		} else if (what.kind === 'edge') {
			const el = this.edgeEls.get(what.name);
			box.append(h('h3', null, `edge port ${what.name}`), h('p', null, `host ${what.host}` + (el ? this.edgeText(el) : '')));
		}
		return box;
	}

	edgeText(el) {
		const m = el.state;
		if (!m)
			return ' · no counters';
		const part = (d, p) => p ? ` · ${d} ${fmtBps(p.bps)} (${fmtPct(p.value)})` : '';
		return part('in', m.in) + part('out', m.out);
	}
}

// The legend: the utilisation ramp with its ticks, and the marker keys.
// The wall's legend has larger type, laid out with room for it (the SVG
// scales to its box: a larger font in the same layout would overlap).
export function legend(container) {
	clear(container);
	const dark = isDark();
	const wall = document.documentElement.classList.contains('wall');
	const fs = wall ? 17 : 12;
	const k = fs / 12;
	const W = wall ? 620 : 520;
	const H = Math.round(46 * k);
	const text = (x, y, t, anchor = 'start') => s('text', {x, y, 'text-anchor': anchor, class: 'legend-text',
		'font-size': fs}, t);
	const textW = (t) => [...t].length * 0.6 * fs;
	const svg = s('svg', {class: 'legend-svg', role: 'img', 'aria-label': 'legend: utilisation colour scale and markers'});
	// the ramp as a gradient, evenly in ramp position
	const grad = s('linearGradient', {id: `ramp-${dark ? 'd' : 'l'}`, x1: 0, x2: 1, y1: 0, y2: 0});
	for (let i = 0; i <= 20; i++) {
		const t = i / 20;
		const pct = t < 0.4 ? Math.pow(10, t / 0.4 * 3 - 3) : 1 + (t - 0.4) / 0.6 * 99;
		grad.append(s('stop', {offset: t, 'stop-color': utilColor(pct, dark)}));
	}
	const x0 = 8 + textW('0.001 %') / 2;
	svg.append(s('defs', null, grad),
		s('rect', {x: x0, y: 4, width: W, height: 14 * k, fill: `url(#${grad.id})`}));
	for (const tk of LEGEND_TICKS) {
		const x = x0 + utilPos(tk) * W;
		svg.append(s('line', {x1: x, x2: x, y1: 4 + 14 * k, y2: 10 + 14 * k, class: 'tick'}),
			text(x, H - 8 * k, `${tk} %`, 'middle'));
	}
	const y1 = 11 * k, y2 = 33 * k, base1 = y1 + fs * 0.36, base2 = y2 + fs * 0.36;
	let x = x0 + W + textW('100 %') / 2 + 30 * k;
	svg.append(s('line', {x1: x, x2: x + 30 * k, y1, y2: y1, stroke: NO_DATA, 'stroke-width': 3 * k}),
		text(x + 36 * k, base1, 'no reading'));
	x += 36 * k + textW('no reading') + 24 * k;
	svg.append(s('line', {x1: x, x2: x + 30 * k, y1, y2: y1, stroke: NO_DATA, 'stroke-width': 3 * k,
		'stroke-dasharray': `${6 * k} ${4 * k}`}), text(x + 36 * k, base1, 'down'));
	x += 36 * k + textW('down') + 24 * k;
	const r = 9 * k;
	svg.append(s('circle', {cx: x + r, cy: y1, r, fill: ALARM}),
		text(x + 2 * r + 5 * k, base1, '⊘ black hole'));
	svg.append(s('path', {d: `M ${x + r} ${y2 - r} L ${x + 2 * r} ${y2} L ${x + r} ${y2 + r} L ${x} ${y2} z`, fill: WARN}),
		text(x + 2 * r + 5 * k, base2, 'ECMP collision'));
	x += 2 * r + 5 * k + textW('ECMP collision') + 8;
	svg.setAttribute('viewBox', `0 0 ${Math.ceil(x)} ${H}`);
	container.append(svg);
}
