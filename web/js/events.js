// events.js: black holes now (topic blackholes) and the event history
// from the store (GET ./api/v1/events?from=-86400&type=...), with filters.
// The history's newest rows also come pushed (topic events): a stored
// event shows without pressing "Load" again.

import {h, clear, SortTable, fmtFps, fmtTime, fmtDateTime, fmtDuration, getJSON, $} from './util.js';

function evidence(e) {
	const ev = e.evidence || [];
	if (!ev.length)
		return '–';
	const x = ev[0];
	return `${x.src} → ${x.dst} in ${x.inPort ?? '?'} out ${x.outPort ?? '?'} ttl ${x.ttl ?? '?'}` +
		(ev.length > 1 ? ` (+${ev.length - 1})` : '');
}

export class EventsView {
	constructor(feed, {select}) {
		this.feed = feed;
		this.select = select;
		this.live = new SortTable([
			{key: 'state', label: 'state', value: (r) => r.end ? 'ended' : '● open', sortValue: (r) => r.end ? 0 : 1},
			{key: 'type', label: 'type'},
			{key: 'reason', label: 'reason'},
			{key: 'node', label: 'switch'},
			{key: 'prefix', label: 'destination'},
			{key: 'fps', label: 'rate', num: true, fmt: fmtFps},
			{key: 'samples', label: 'samples', num: true, cls: 'wall-hide'},
			{key: 'start', label: 'since', fmt: fmtTime},
			{key: 'dur', label: 'for', value: (r) => fmtDuration((r.end || r.lastSeen || Date.now()) - r.start),
				sortValue: (r) => (r.end || r.lastSeen || 0) - r.start},
			{key: 'evidence', label: 'evidence', value: evidence, sortValue: () => 0, cls: 'wall-hide'},
		], {sortKey: 'state', empty: 'no black hole: every sampled packet leaves the fabric where it should',
			onRow: (r) => select({kind: 'node', name: r.node}), rowKey: (r) => `${r.type}:${r.node}:${r.prefix}:${r.reason}`});
		this.hist = new SortTable([
			{key: 'start', label: 'start', fmt: fmtDateTime},
			{key: 'end', label: 'end', fmt: (v, r) => v === null || v === undefined ? 'open' : (v === r.start ? '' : fmtTime(v))},
			{key: 'type', label: 'type'},
			{key: 'reason', label: 'reason'},
			{key: 'node', label: 'switch', fmt: (v) => v || ''},
			{key: 'link', label: 'link', fmt: (v) => v || '', cls: 'wall-hide'},
			{key: 'text', label: 'detail', value: (r) => this.detailText(r), sortValue: () => 0},
		], {sortKey: 'start', empty: 'no stored events in this range', rowKey: (r) => String(r.id)});
		$('#bh-live').append(this.live.el);
		$('#ev-table').append(this.hist.el);
		this.bhType = $('#bh-type');
		this.bhText = $('#bh-text');
		for (const el of [this.bhType, this.bhText])
			el.addEventListener('input', () => this.renderLive(this.feed.latest('blackholes')));
		$('#ev-form').addEventListener('submit', (ev) => {
			ev.preventDefault();
			this.load();
		});
		for (const el of [$('#ev-type'), $('#ev-range')])
			el.addEventListener('change', () => this.load());
		$('#ev-text').addEventListener('input', () => this.renderHist());
		this.rows = [];
		this.loaded = false;
		feed.on('blackholes', (d) => this.visible && this.renderLive(d));
		feed.on('events', (d) => this.visible && this.merge(d));
	}

	show() {
		this.visible = true;
		this.renderLive(this.feed.latest('blackholes'));
		if (!this.loaded)
			this.load();
	}

	hide() {
		this.visible = false;
	}

	renderLive(bh) {
		if (bh === undefined)
			return;
		if (bh === null) {
			this.live.empty = 'no data yet';
			this.live.render([]);
			return;
		}
		const st = bh.stats || {};
		$('#bh-stats').textContent = `${st.open ?? 0} open · ${st.opened ?? 0} opened, ${st.closed ?? 0} closed since start`;
		const type = this.bhType.value, text = this.bhText.value.trim().toLowerCase();
		this.live.render((bh.events || []).filter((e) => (!type || e.type === type) &&
			(!text || `${e.node} ${e.prefix} ${e.reason}`.toLowerCase().includes(text)))
			.map((e) => Object.assign({_class: e.end ? 'ended' : 'open alarm'}, e)));
	}

	async load() {
		const range = $('#ev-range').value, type = $('#ev-type').value;
		const q = new URLSearchParams({from: `-${range}`, max: '1000'});
		if (type)
			q.set('type', type);
		this.loaded = true;
		this.query = {range: Number(range), type};
		$('#ev-status').textContent = 'loading…';
		try {
			const j = await getJSON(`./api/v1/events?${q}`);
			this.rows = j.events || [];
			$('#ev-status').textContent = `${this.rows.length} events${this.rows.length >= 1000 ? ' (the newest 1000)' : ''}, loaded ${fmtTime(Date.now())}`;
		} catch (e) {
			this.rows = [];
			$('#ev-status').textContent = e.status === 503
				? 'no history: this fabmond runs without a store (store.enable = 0)'
				: `cannot load the history: ${e.message}`;
		}
		this.renderHist();
	}

	// Pushed stored events (newest 50) join the loaded history.
	merge(d) {
		if (!d || !d.events || !this.query)
			return;
		const since = Date.now() - this.query.range * 1000;
		const have = new Map(this.rows.map((r) => [r.id, r]));
		let changed = false;
		for (const e of d.events) {
			if (this.query.type && e.type !== this.query.type)
				continue;
			if ((e.end ?? Date.now()) < since)
				continue;
			const old = have.get(e.id);
			if (!old || old.end !== e.end || old.value !== e.value) {
				have.set(e.id, e);
				changed = true;
			}
		}
		if (changed) {
			this.rows = [...have.values()];
			$('#ev-status').textContent = `${this.rows.length} events, updated ${fmtTime(Date.now())} (pushed)`;
			this.renderHist();
		}
	}

	detailText(r) {
		const d = r.detail || {};
		if (d.text)
			return d.text;
		if (r.type === 'blackhole')
			return `${d.prefix || ''} ${d.fps !== undefined ? fmtFps(d.fps) : ''} ${d.samples !== undefined ? `${d.samples} samples` : ''}`.trim();
		const s = JSON.stringify(d);
		return s === '{}' ? '' : s.slice(0, 160);
	}

	renderHist() {
		const text = $('#ev-text').value.trim().toLowerCase();
		this.hist.render(this.rows.filter((r) => !text ||
			`${r.type} ${r.reason} ${r.node || ''} ${r.link || ''} ${this.detailText(r)}`.toLowerCase().includes(text))
			.map((r) => Object.assign({_class: r.type === 'blackhole' ? 'alarm-row' : ''}, r)));
	}
}
