// util.js: DOM building, human units and times. No state.
//
// Everything the page shows comes from the network, so text is always set
// with textContent (never innerHTML), and styles only through classes or
// the CSSOM: fabmond's Content-Security-Policy has no 'unsafe-inline'.

const SVGNS = 'http://www.w3.org/2000/svg';

// Names come from switches and operators: a control character or a bidi
// override in one (an ESC sequence in an ifAlias, U+202E turning the rest
// of a row around) is shown escaped, never acted on: \xNN for the C0 and
// C1 controls and DEL, \uNNNN for the bidi controls (legible in any font,
// as a network engineer would write them).
const CTRL = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
export function visible(v) {
	return String(v).replace(CTRL, (c) => {
		const n = c.charCodeAt(0);
		return n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
	});
}

// At most n characters of s, the last one an ellipsis when it was cut.
export function ellipsize(v, n) {
	const a = [...String(v)];
	return a.length <= n ? a.join('') : `${a.slice(0, n - 1).join('')}…`;
}

function apply(el, attrs) {
	for (const [k, v] of Object.entries(attrs || {})) {
		if (v === undefined || v === null || v === false)
			continue;
		if (k === 'class')
			el.setAttribute('class', v);
		else if (k === 'text')
			el.textContent = visible(v);
		else if (k === 'data')
			for (const [dk, dv] of Object.entries(v))
				el.dataset[dk] = dv;
		else if (k.startsWith('on') && typeof v === 'function')
			el.addEventListener(k.slice(2), v);
		else if (v === true)
			el.setAttribute(k, '');
		else
			el.setAttribute(k, v);
	}
	return el;
}

function append(el, kids) {
	for (const c of kids.flat(Infinity)) {
		if (c === null || c === undefined || c === false)
			continue;
		el.append(c instanceof Node ? c : document.createTextNode(visible(c)));
	}
	return el;
}

// h('td', {class: 'num'}, 'text', child...): an HTML element.
export function h(tag, attrs, ...kids) {
	return append(apply(document.createElement(tag), attrs), kids);
}

// s('line', {x1: 0, ...}): an SVG element.
export function s(tag, attrs, ...kids) {
	return append(apply(document.createElementNS(SVGNS, tag), attrs), kids);
}

export function clear(el) {
	while (el.firstChild)
		el.firstChild.remove();
	return el;
}

export function $(sel, root = document) {
	return root.querySelector(sel);
}

export function $$(sel, root = document) {
	return [...root.querySelectorAll(sel)];
}

// A rate with SI prefixes: fmtRate(1.5e9, 'b/s') -> "1.50 Gb/s".
export function fmtRate(v, unit = 'b/s') {
	if (v === null || v === undefined || Number.isNaN(v))
		return '–';
	const a = Math.abs(v);
	const steps = [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
	for (const [m, p] of steps)
		if (a >= m)
			return `${sig(v / m)} ${p}${unit}`;
	return `${sig(v)} ${unit}`;
}

export const fmtBps = (v) => fmtRate(v, 'b/s');
// Packets per second: "kpps", "Mpps" as operators say it.
export const fmtPps = (v) => fmtRate(v, 'pps');
export const fmtFps = (v) => fmtRate(v, 'fps');

// Three significant digits, no exponent.
function sig(x) {
	const a = Math.abs(x);
	if (a === 0)
		return '0';
	if (a >= 100)
		return x.toFixed(0);
	if (a >= 10)
		return x.toFixed(1);
	if (a >= 1)
		return x.toFixed(2);
	return x.toPrecision(2);
}

export function fmtPct(v) {
	if (v === null || v === undefined || v < 0)
		return '–';
	if (v === 0)
		return '0 %';
	if (v < 0.01)
		return '<0.01 %';
	return `${sig(v)} %`;
}

export function fmtCount(v) {
	if (v === null || v === undefined)
		return '–';
	if (Math.abs(v) >= 1e6)
		return fmtRate(v, '');
	return Number.isInteger(v) ? v.toLocaleString('en') : sig(v);
}

const pad = (n) => String(n).padStart(2, '0');

// HH:MM:SS in local time.
export function fmtTime(ms) {
	if (!ms)
		return '–';
	const d = new Date(ms);
	return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

// YYYY-MM-DD HH:MM:SS in local time.
export function fmtDateTime(ms) {
	if (!ms)
		return '–';
	const d = new Date(ms);
	return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${fmtTime(ms)}`;
}

// "3 s", "4 min", "2 h 5 min", "3 d".
export function fmtDuration(ms) {
	if (ms === null || ms === undefined)
		return '–';
	const s = Math.max(0, Math.round(ms / 1000));
	if (s < 90)
		return `${s} s`;
	const m = Math.round(s / 60);
	if (m < 90)
		return `${m} min`;
	const hr = Math.floor(m / 60);
	if (hr < 48)
		return `${hr} h ${m % 60} min`;
	return `${Math.floor(hr / 24)} d ${hr % 24} h`;
}

const PROTOS = {1: 'ICMP', 6: 'TCP', 17: 'UDP', 47: 'GRE', 50: 'ESP', 58: 'ICMPv6', 132: 'SCTP'};
export function fmtProto(p) {
	if (p === null || p === undefined)
		return '–';
	return PROTOS[p] || String(p);
}

// A sortable table: columns [{key, label, fmt, num, title}], rows of
// objects; clicking a header sorts by it (again: reverses). The sort state
// lives in the returned object so that a re-render keeps it.
export class SortTable {
	constructor(columns, {sortKey, desc = true, empty = 'nothing yet', onRow, rowKey} = {}) {
		this.columns = columns;
		this.sortKey = sortKey || columns[0].key;
		this.desc = desc;
		this.empty = empty;
		this.onRow = onRow;
		this.rowKey = rowKey;
		this.rows = [];
		this.thead = h('thead');
		this.tbody = h('tbody');
		this.table = h('table', {class: 'grid'}, this.thead, this.tbody);
		// a table wider than its column scrolls in its own box, never the
		// page
		this.el = h('div', {class: 'table-wrap'}, this.table);
		this.renderHead();
	}

	renderHead() {
		const tr = h('tr');
		for (const c of this.columns) {
			const active = c.key === this.sortKey;
			const th = h('th', {
				class: (c.num ? 'num ' : '') + 'sortable' + (active ? ' sorted' : '') + (c.cls ? ` ${c.cls}` : ''),
				title: c.title || `sort by ${c.label}`,
				'aria-sort': active ? (this.desc ? 'descending' : 'ascending') : 'none',
				data: {key: c.key},
				onclick: () => this.sortBy(c.key),
			}, c.label, active ? (this.desc ? ' ▼' : ' ▲') : '');
			tr.append(th);
		}
		clear(this.thead).append(tr);
	}

	sortBy(key) {
		if (key === this.sortKey)
			this.desc = !this.desc;
		else {
			this.sortKey = key;
			const c = this.columns.find((x) => x.key === key);
			this.desc = !!(c && c.num);
		}
		this.renderHead();
		this.render(this.rows);
	}

	render(rows) {
		this.rows = rows || [];
		const col = this.columns.find((c) => c.key === this.sortKey);
		const get = col && col.sortValue ? col.sortValue : (r) => r[this.sortKey];
		const sorted = [...this.rows].sort((a, b) => {
			const x = get(a), y = get(b);
			let c;
			if (x === y)
				c = 0;
			else if (x === null || x === undefined)
				c = 1;
			else if (y === null || y === undefined)
				c = -1;
			else if (typeof x === 'number' && typeof y === 'number')
				c = this.desc ? y - x : x - y;
			else
				c = this.desc ? String(y).localeCompare(String(x), 'en', {numeric: true})
					: String(x).localeCompare(String(y), 'en', {numeric: true});
			return c;
		});
		clear(this.tbody);
		if (sorted.length === 0) {
			this.tbody.append(h('tr', {class: 'empty'},
				h('td', {colspan: this.columns.length}, this.empty)));
			return;
		}
		for (const r of sorted) {
			const tr = h('tr');
			if (this.rowKey)
				tr.dataset.key = this.rowKey(r);
			if (r._class)
				tr.className = r._class;
			for (const c of this.columns) {
				const v = c.value ? c.value(r) : r[c.key];
				const out = c.fmt ? c.fmt(v, r) : v;
				tr.append(h('td', {class: [c.num ? 'num' : '', c.cls || ''].join(' ').trim() || null},
					out instanceof Node ? out : cell(out)));
			}
			if (this.onRow) {
				tr.classList.add('clickable');
				tr.addEventListener('click', () => this.onRow(r));
			}
			this.tbody.append(tr);
		}
	}
}

// A cell's text; a long one (a 127-byte switch name, an IPv6 flow, an
// event's JSON) is cut to the column's width with an ellipsis, the whole
// text in its title, so that one name never widens the page.
function cell(out) {
	if (out === null || out === undefined)
		return '–';
	const t = String(out);
	return t.length > 24 ? h('span', {class: 'cut', title: visible(t)}, t) : t;
}

// A small key → value list (dl).
export function kv(pairs) {
	const dl = h('dl', {class: 'kv'});
	for (const [k, v] of pairs) {
		if (v === undefined)
			continue;
		dl.append(h('dt', null, k), h('dd', null, v instanceof Node ? v : String(v ?? '–')));
	}
	return dl;
}

// fetch JSON relative to the page; throws an Error with the status.
export async function getJSON(url, opts) {
	const r = await fetch(url, Object.assign({cache: 'no-store'}, opts));
	if (!r.ok) {
		let msg = `${r.status} ${r.statusText}`;
		try {
			const j = await r.json();
			if (j && j.error)
				msg += `: ${j.error}`;
		} catch (e) { /* not JSON */ }
		const err = new Error(msg);
		err.status = r.status;
		throw err;
	}
	return r.json();
}

// A black hole's kind: "valley/hairpin", or just "ttl_loop" when the
// reason repeats the type.
export function bhKind(e) {
	return !e.reason || e.reason === e.type ? e.type : `${e.type}/${e.reason}`;
}
