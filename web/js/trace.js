// trace.js: the Trace view. A filter box (examples, key completion) sends
// {"op":"trace","filter":...} over /ws; the path of topic trace/{id} is
// drawn onto its own map as the hops appear (ECMP shares, the discard
// point) and listed in a hop table. fabmond builds the path; this only
// draws it.

import {h, clear, kv, SortTable, fmtFps, fmtTime, visible, $} from './util.js';
import {FabricMap} from './map.js';

// DESIGN §4's keys, used when GET ./flowkeys/json does not exist (404).
export const BUILTIN_KEYS = [
	'macsource', 'macdestination', 'ethernetprotocol', 'vlan', 'priority',
	'ipsource', 'ipdestination', 'ipprotocol', 'iptos', 'ipdscp', 'ipttl',
	'ip6source', 'ip6destination', 'ip6nexthdr',
	'tcpsourceport', 'tcpdestinationport', 'tcpflags', 'udpsourceport', 'udpdestinationport',
	'icmptype', 'icmpcode',
	'inputifindex', 'outputifindex', 'direction', 'stack', 'agent', 'discardreason',
	'node:inputifindex', 'node:outputifindex', 'link:inputifindex', 'link:outputifindex',
	'ipsource.1', 'ipdestination.1', 'udpdestinationport.1', 'tcpdestinationport.1',
	'or:', 'null:', 'mask:', 'first:stack:.:ip:ip6',
];

const HINTS = {
	ipprotocol: ['6', '17', '1', '58'],
	stack: ['eth.ip.udp', 'eth.ip.tcp', 'eth.ip.icmp', 'eth.ip6.udp', 'eth.ip6.tcp'],
	discardreason: ['none', 'acl', 'ttl_exceeded', 'host_unreachable', 'net_unreachable', 'no_buffer'],
	'link:inputifindex': ['null'], 'link:outputifindex': ['null'],
	direction: ['ingress', 'egress'],
};

export const EXAMPLES = [
	['UDP 53 from h1', 'ipsource=10.2.1.11&udpdestinationport=53'],
	['one 5-tuple', 'ipsource=10.2.1.11&ipdestination=10.2.4.15&udpsourceport=40123&udpdestinationport=53'],
	['to a rack', 'ipdestination=10.2.4.0/24'],
	['web', 'ipprotocol=6&tcpdestinationport=80,443'],
	['discarded', 'discardreason!=none'],
	['not DNS', 'ipdestination=10.2.0.0/16&udpdestinationport!=53'],
];

export class TraceView {
	constructor(feed, {tooltip, select}) {
		this.feed = feed;
		this.input = $('#trace-filter');
		this.suggest = $('#trace-suggest');
		this.status = $('#trace-status');
		this.summary = $('#trace-summary');
		this.stopBtn = $('#trace-stop');
		this.keys = BUILTIN_KEYS;
		this.keysLoaded = false;
		this.map = new FabricMap($('#map-trace'), {tooltip, showTrace: true,
			onSelect: (what) => select(what)});
		this.hops = new SortTable([
			{key: 'stage', label: 'stage', num: true},
			{key: 'node', label: 'switch'},
			{key: 'role', label: 'role'},
			{key: 'in', label: 'in', value: (r) => `${r.inPort ?? '–'} ← ${r.from ?? '?'}`,
				sortValue: (r) => r.inPort},
			{key: 'out', label: 'out', value: (r) => r.discard ? `discard (${r.discard.reason})`
				: `${r.outPort ?? r.outIfIndex ?? '–'} → ${r.to ?? '?'}`, sortValue: (r) => r.outPort},
			{key: 'ttl', label: 'TTL', num: true},
			{key: 'fps', label: 'rate', num: true, fmt: fmtFps},
			{key: 'share', label: 'share', num: true, fmt: (v) => v === null || v === undefined ? '–' : `${Math.round(v * 100)} %`},
			{key: 'lastSeen', label: 'last seen', fmt: fmtTime},
		], {sortKey: 'stage', desc: false, empty: 'no matching samples yet',
			rowKey: (r) => `${r.stage}:${r.node}`});
		$('#trace-hops').append(this.hops.el);
		this.t0 = null;
		this.firstMs = null;
		this.unTopic = null;

		for (const [label, f] of EXAMPLES)
			$('#trace-examples').append(h('button', {type: 'button', class: 'example', title: f,
				onclick: () => { this.input.value = f; this.input.focus(); }}, label));
		$('#trace-form').addEventListener('submit', (ev) => {
			ev.preventDefault();
			this.closeSuggest();
			this.start(this.input.value.trim());
		});
		this.stopBtn.addEventListener('click', () => this.stop());
		this.input.addEventListener('input', () => this.complete());
		this.input.addEventListener('keydown', (ev) => this.completeKey(ev));
		this.input.addEventListener('blur', () => setTimeout(() => this.closeSuggest(), 150));

		feed.on('fabric', (t) => this.map.setTopology(t));
		feed.on('links', (l) => this.visible && this.map.setLinks(l));
		feed.on('blackholes', (b) => this.visible && this.map.setBlackholes(b));
		feed.on('@trace', (t) => this.bind(t));
		this.renderSummary(null);
	}

	show() {
		this.visible = true;
		this.map.setTopology(this.feed.latest('fabric'));
		this.map.setLinks(this.feed.latest('links'));
		this.map.setBlackholes(this.feed.latest('blackholes'));
		this.loadKeys();
	}

	hide() {
		this.visible = false;
	}

	// sFlow-RT's /flowkeys/json lists the keys seen; fabmond may not have
	// it (404): then the built-in list.
	async loadKeys() {
		if (this.keysLoaded)
			return;
		this.keysLoaded = true;
		try {
			const r = await fetch('./flowkeys/json', {cache: 'no-store'});
			if (!r.ok)
				return;
			const j = await r.json();
			const got = Array.isArray(j) ? j : Object.keys(j || {});
			if (got.length)
				this.keys = [...new Set([...got, ...BUILTIN_KEYS])];
		} catch (e) { /* keep the built-in list */ }
	}

	// ---- completion -------------------------------------------------
	// The clause under the cursor: after the last & | ( or !( .
	clause() {
		const v = this.input.value, c = this.input.selectionStart ?? v.length;
		let i = c;
		while (i > 0 && !'&|()'.includes(v[i - 1]))
			i--;
		return {start: i, end: c, text: v.slice(i, c)};
	}

	complete() {
		const cl = this.clause();
		const m = /^\s*([A-Za-z0-9_.:]*)(?:(!=|!~|~|=)(.*))?$/.exec(cl.text);
		if (!m)
			return this.closeSuggest();
		let items;
		if (m[2] === undefined) {
			const p = m[1].toLowerCase();
			items = this.keys.filter((k) => k.startsWith(p) && k !== p).slice(0, 12)
				.map((k) => ({label: k, insert: k.endsWith(':') ? k : `${k}=`}));
			if (!p)
				items = items.slice(0, 8);
		} else {
			const vals = HINTS[m[1]] || [];
			const last = m[3].split(',').pop();
			items = vals.filter((x) => x.startsWith(last) && x !== last)
				.map((x) => ({label: x, insert: cl.text.slice(0, cl.text.length - last.length) + x, whole: true}));
		}
		if (!items.length)
			return this.closeSuggest();
		this.items = items;
		this.active = 0;
		clear(this.suggest);
		items.forEach((it, i) => this.suggest.append(h('li', {role: 'option', class: i === 0 ? 'active' : null,
			onmousedown: (ev) => { ev.preventDefault(); this.pick(i); }}, it.label)));
		this.suggest.hidden = false;
	}

	closeSuggest() {
		this.suggest.hidden = true;
		this.items = null;
	}

	pick(i) {
		const it = this.items && this.items[i];
		if (!it)
			return;
		const cl = this.clause();
		const v = this.input.value;
		let ins;
		if (it.whole)
			ins = it.insert;
		else
			ins = cl.text.replace(/[A-Za-z0-9_.:]*$/, '') + it.insert;
		this.input.value = v.slice(0, cl.start) + ins + v.slice(cl.end);
		const pos = cl.start + ins.length;
		this.input.setSelectionRange(pos, pos);
		this.closeSuggest();
		this.complete();
	}

	completeKey(ev) {
		if (!this.items || this.suggest.hidden)
			return;
		const lis = [...this.suggest.children];
		if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
			ev.preventDefault();
			this.active = (this.active + (ev.key === 'ArrowDown' ? 1 : lis.length - 1)) % lis.length;
			lis.forEach((li, i) => li.classList.toggle('active', i === this.active));
		} else if (ev.key === 'Tab' || (ev.key === 'Enter' && this.items)) {
			ev.preventDefault();
			this.pick(this.active);
		} else if (ev.key === 'Escape') {
			this.closeSuggest();
		}
	}

	// ---- the trace --------------------------------------------------
	async start(filter) {
		if (!filter) {
			this.say('Type a filter, e.g. ipsource=10.2.1.11&udpdestinationport=53', 'warn');
			return;
		}
		this.say(`starting a trace of ${filter}…`);
		this.t0 = performance.now();
		this.firstMs = null;
		this.status.dataset.firstMs = '';
		try {
			const t = await this.feed.startTrace(filter);
			this.say(`trace ${t.id}: waiting for matching samples…`);
		} catch (e) {
			this.say(`fabmond refused the trace: ${e.message}`, 'alarm');
		}
	}

	async stop() {
		await this.feed.stopTrace();
		this.say('trace stopped (fabmond drops it once nobody views it)');
	}

	bind(t) {
		this.unTopic && this.unTopic();
		this.unTopic = null;
		this.stopBtn.disabled = !t;
		this.map.setTrace(null);
		this.hops.render([]);
		this.status.dataset.traceId = t ? t.id : '';
		if (!t) {
			this.renderSummary(null);
			return;
		}
		if (this.input.value.trim() === '')
			this.input.value = t.filter;
		this.unTopic = this.feed.on(t.topic, (d) => this.render(d));
	}

	render(tr) {
		if (!tr) {
			this.renderSummary(null);
			return;
		}
		const complete = tr.hops && tr.hops.length > 0 && tr.ingress && (tr.egress || tr.diesAt);
		if (complete && this.firstMs === null && this.t0 !== null) {
			this.firstMs = performance.now() - this.t0;
			this.status.dataset.firstMs = String(Math.round(this.firstMs));
		}
		const n = (tr.hops || []).length;
		if (n === 0)
			this.say(`trace ${tr.id}: waiting for matching samples…`);
		else if (tr.diesAt)
			this.say(`trace ${tr.id}: the traffic dies at ${tr.diesAt.node} (${tr.diesAt.reason || 'discard'})`, 'alarm');
		else
			this.say(`trace ${tr.id}: ${tr.stages} stages, ${fmtFps(tr.fps)}` +
				(this.firstMs !== null ? ` · path shown ${(this.firstMs / 1000).toFixed(1)} s after the trace started` : ''));
		this.map.setTrace(tr);
		this.hops.render(tr.hops || []);
		this.renderSummary(tr);
	}

	renderSummary(tr) {
		clear(this.summary);
		if (!tr) {
			this.summary.append(h('p', {class: 'hint'},
				'A trace is a filter: fabmond follows the matching samples switch by switch and shows every ECMP branch with its share, and where the traffic dies.'));
			return;
		}
		const ep = (e) => !e ? 'not an edge port'
			: e.host ? `${e.host} on ${e.node}:${e.port}` : `${e.node}:${e.port} (no LLDP neighbour known)`;
		const path = [];
		const stages = new Map();
		for (const hp of tr.hops || []) {
			if (!stages.has(hp.stage))
				stages.set(hp.stage, []);
			stages.get(hp.stage).push(hp);
		}
		for (const [, hs] of [...stages].sort((a, b) => a[0] - b[0]))
			path.push(hs.map((x) => hs.length > 1 ? `${x.node} (${Math.round(x.share * 100)} %)` : x.node).join(' | '));
		// A loop (valley routing) has a stage per TTL: show its start and
		// end, and name the switches it bounces between.
		let shown = path.join(' → ');
		if (path.length > 8)
			shown = `${path.slice(0, 5).join(' → ')} → … ${path.length - 7} more stages … → ${path.slice(-2).join(' → ')}`;
		const count = new Map();
		for (const hp of tr.hops || [])
			count.set(hp.node, (count.get(hp.node) || 0) + 1);
		const loops = [...count].filter(([, n]) => n > 2).map(([nm]) => nm);
		this.summary.append(kv([
			['filter', tr.filter],
			['path', shown || '–'],
			['loop', loops.length ? `the path revisits ${loops.join(', ')} (TTL ${Math.max(...tr.hops.map((x) => x.ttl))} → ${Math.min(...tr.hops.map((x) => x.ttl))})` : undefined],
			['ingress', ep(tr.ingress)],
			['egress', ep(tr.egress)],
			['dies at', tr.diesAt ? `${tr.diesAt.node} stage ${tr.diesAt.stage}: ${tr.diesAt.reason}` : 'nowhere'],
			['rate', fmtFps(tr.fps)],
			['expires', fmtTime(tr.expires)],
		]));
		this.summary.dataset.path = (tr.hops || []).map((x) => x.node).join(',');
	}

	say(text, cls = '') {
		this.status.textContent = visible(text);
		this.status.className = `trace-status ${cls}`;
	}
}
