// topn.js: the Top-N view. Fabric-wide flows measured at the edge (topic
// top), talkers, protocols, the busiest ports, and the flows on one link
// (topic linktop/{link}, subscribed only while a link is chosen).

import {h, clear, SortTable, fmtBps, fmtPct, fmtCount, fmtProto, $} from './util.js';

const nodePort = (p) => p ? `${p.node}:${p.port}` : '–';

function flowColumns(withIngress) {
	const cols = [
		{key: 'src', label: 'source'},
		// (the wall keeps sport: ECMP'd flows differ by it only)
		{key: 'srcPort', label: 'sport', num: true, fmt: (v) => v ?? '–'},
		{key: 'dst', label: 'destination'},
		{key: 'dstPort', label: 'dport', num: true, fmt: (v) => v ?? '–'},
		{key: 'proto', label: 'proto', fmt: fmtProto},
	];
	if (withIngress) {
		cols.push({key: 'stack', label: 'stack', cls: 'wall-hide'});
		cols.push({key: 'ingress', label: 'ingress', value: (r) => nodePort(r.ingress),
			sortValue: (r) => nodePort(r.ingress), cls: 'wall-hide'});
	} else {
		cols.push({key: 'to', label: 'into'});
	}
	cols.push({key: 'bps', label: 'rate', num: true, fmt: fmtBps, title: 'sort by rate (bits/s)'});
	if (withIngress)
		cols.push({key: 'elephant', label: 'elephant', fmt: (v) => v ? '● elephant' : '',
			sortValue: (r) => r.elephant ? 1 : 0});
	return cols;
}

function portColumns(valueLabel, fmtValue) {
	return [
		{key: 'node', label: 'switch'},
		{key: 'port', label: 'port'},
		{key: 'link', label: 'link', fmt: (v) => v || 'edge', cls: 'wall-hide'},
		{key: 'dir', label: 'dir'},
		{key: 'value', label: valueLabel, num: true, fmt: fmtValue},
		{key: 'bps', label: 'rate', num: true, fmt: fmtBps},
		{key: 'speedBps', label: 'speed', num: true, fmt: fmtBps, cls: 'wall-hide'},
		{key: 'source', label: 'from', cls: 'wall-hide'},
	];
}

export class TopView {
	constructor(feed, {select}) {
		this.feed = feed;
		this.select = select;
		this.flows = new SortTable(flowColumns(true), {sortKey: 'bps',
			empty: 'no flows entering the fabric now', rowKey: (r) => r.key});
		this.talkers = new SortTable([
			{key: 'address', label: 'address'},
			{key: 'flows', label: 'flows', num: true},
			{key: 'bps', label: 'rate', num: true, fmt: fmtBps},
		], {sortKey: 'bps', empty: 'none'});
		this.stacks = new SortTable([
			{key: 'stack', label: 'stack'},
			{key: 'flows', label: 'flows', num: true},
			{key: 'bps', label: 'rate', num: true, fmt: fmtBps},
		], {sortKey: 'bps', empty: 'none'});
		this.pUtil = new SortTable(portColumns('util', fmtPct), {sortKey: 'value', empty: 'no port counters yet',
			onRow: (r) => r.link ? select({kind: 'link', name: r.link}) : select({kind: 'node', name: r.node})});
		this.pDisc = new SortTable(portColumns('discards/s', fmtCount), {sortKey: 'value', empty: 'no discards'});
		this.pErr = new SortTable(portColumns('errors/s', fmtCount), {sortKey: 'value', empty: 'no errors'});
		this.linkFlows = new SortTable(flowColumns(false), {sortKey: 'bps', empty: 'no flows on this link now'});
		$('#top-flows').append(this.flows.el);
		$('#top-talkers').append(this.talkers.el);
		$('#top-stacks').append(this.stacks.el);
		$('#top-ports-util').append(this.pUtil.el);
		$('#top-ports-disc').append(this.pDisc.el);
		$('#top-ports-err').append(this.pErr.el);
		$('#linktop-table').append(this.linkFlows.el);
		this.linkSel = $('#linktop-select');
		this.linkSel.addEventListener('change', () => this.setLink(this.linkSel.value));
		this.linkFlows.empty = 'choose a link above (or click one on the map)';
		this.linkFlows.render([]);
		this.link = null;
		this.unLink = null;
		this.pending = null;
		feed.on('top', (d) => this.visible && this.render(d));
		feed.on('fabric', (t) => this.fillLinks(t));
	}

	show() {
		this.visible = true;
		if (this.pending) {
			this.setLink(this.pending);
			this.pending = null;
		} else if (this.link) {
			this.watchLink();
		}
		this.render(this.feed.latest('top'));
	}

	hide() {
		this.visible = false;
		this.unwatchLink();   // keep the choice, not the frames
	}

	// A link clicked on the map becomes this view's link when it shows.
	prefer(link) {
		this.pending = link;
	}

	render(top) {
		if (top === undefined)
			return;
		if (top === null) {
			this.flows.empty = 'no data yet (fabmond is starting)';
			this.flows.render([]);
			return;
		}
		this.flows.render((top.flows || []).map((f) => Object.assign({_class: f.elephant ? 'elephant' : ''}, f)));
		this.talkers.render(top.talkers || []);
		this.stacks.render(top.stacks || []);
		const ports = top.ports || {};
		this.pUtil.render(ports.utilization || []);
		this.pDisc.render((ports.discards || []).filter((p) => p.value > 0));
		this.pErr.render((ports.errors || []).filter((p) => p.value > 0));
	}

	fillLinks(topo) {
		const cur = this.linkSel.value;
		clear(this.linkSel).append(h('option', {value: ''}, 'choose a link…'));
		for (const l of ((topo && topo.links) || []).map((x) => x.name).sort())
			this.linkSel.append(h('option', {value: l, selected: l === cur}, l));
	}

	// Per-link top flows: subscribe to linktop/{link} only while a link
	// is chosen and this view shows.
	setLink(link) {
		if (link === this.link)
			return;
		this.unwatchLink();
		this.link = link || null;
		this.linkSel.value = link || '';
		this.linkFlows.empty = this.link ? 'waiting for the flows on this link…' : 'choose a link above (or click one on the map)';
		this.linkFlows.render([]);
		if (this.link && this.visible)
			this.watchLink();
	}

	watchLink() {
		if (this.unLink || !this.link)
			return;
		const topic = `linktop/${this.link}`;
		this.unLink = this.feed.on(topic, (d) => {
			this.linkFlows.empty = d === null ? 'no data yet' : 'no flows on this link now';
			this.linkFlows.render((d && d.flows) || []);
		});
		this.linkTopic = topic;
		this.feed.subscribe(topic);
	}

	unwatchLink() {
		if (!this.unLink)
			return;
		this.unLink();
		this.unLink = null;
		this.feed.unsubscribe(this.linkTopic);
	}
}
