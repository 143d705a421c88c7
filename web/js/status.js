// status.js: which collector serves the page and its HA role (topic ha;
// STANDALONE without keepalived), the peer, per-agent health and sampling
// loss (topic health), the store and the push channel.

import {h, clear, kv, SortTable, fmtCount, fmtTime, fmtDuration, fmtRate, $} from './util.js';

export class StatusView {
	constructor(feed) {
		this.feed = feed;
		this.agents = new SortTable([
			{key: 'agent', label: 'agent', value: (r) => r.agent ?? `(undecodable) ${r.source}`},
			{key: 'node', label: 'switch', value: (r) => this.nodeOf(r.agent), title: 'the switch whose agent this is (topology)'},
			{key: 'subAgentId', label: 'sub', num: true, cls: 'wall-hide'},
			{key: 'lastSeenAgoMs', label: 'last seen', num: true, fmt: (v) => v === null || v === undefined ? '–' : `${fmtDuration(v)} ago`},
			{key: 'datagrams', label: 'datagrams', num: true, fmt: fmtCount},
			{key: 'flowSamples', label: 'flow samples', num: true, fmt: fmtCount},
			{key: 'counterSamples', label: 'counter samples', num: true, fmt: fmtCount, cls: 'wall-hide'},
			{key: 'discardSamples', label: 'discard samples', num: true, fmt: fmtCount, cls: 'wall-hide'},
			{key: 'seqLost', label: 'datagrams lost', num: true, fmt: fmtCount},
			{key: 'samplesLost', label: 'samples lost', num: true, fmt: fmtCount},
			{key: 'agentDrops', label: 'agent drops', num: true, fmt: fmtCount, cls: 'wall-hide'},
			{key: 'seqResets', label: 'restarts', num: true, fmt: fmtCount, cls: 'wall-hide'},
			{key: 'badDatagrams', label: 'bad', num: true, fmt: fmtCount, cls: 'wall-hide'},
		], {sortKey: 'agent', desc: false, empty: 'no sFlow agent seen yet', rowKey: (r) => `${r.agent}:${r.subAgentId}`});
		$('#st-agents').append(this.agents.el);
		feed.on('health', (d) => this.visible && this.renderHealth(d));
		feed.on('ha', (d) => this.visible && this.renderHA(d));
		feed.on('@hello', () => this.visible && this.renderCollector());
		feed.on('@state', () => this.visible && this.renderCollector());
	}

	// agent address -> switch name, from the topology
	nodeOf(agent) {
		const topo = this.feed.latest('fabric');
		const n = topo && (topo.nodes || []).find((x) => x.agent === agent || (x.addresses || []).includes(agent));
		return n ? n.name : '–';
	}

	show() {
		this.visible = true;
		this.renderCollector();
		this.renderHA(this.feed.latest('ha'));
		this.renderHealth(this.feed.latest('health'));
	}

	hide() {
		this.visible = false;
	}

	renderCollector() {
		const hl = this.feed.hello || {};
		const hh = this.feed.latest('health') || {};
		clear($('#st-collector')).append(kv([
			['serving this page', location.host],
			['fabmond', hl.version || hh.version || '–'],
			['status', hh.status || '–'],
			['up since', hh.startedAt ? `${fmtTime(hh.startedAt)} (${fmtDuration(hh.uptimeSeconds * 1000)})` : '–'],
			['push period', `${this.feed.pushMs()} ms`],
			['connection', this.feed.state + (this.feed.transport === 'poll' ? ' (polling)' : ' (/ws)')],
		]));
	}

	renderHA(ha) {
		const box = clear($('#st-ha'));
		if (!ha) {
			box.append(h('p', {class: 'hint'}, ha === null ? 'no HA state yet' : 'waiting for topic ha…'));
			return;
		}
		const peer = ha.peer;
		box.append(kv([
			['role', h('span', {class: `role role-${String(ha.role).toLowerCase()}`}, ha.role)],
			['since', ha.since ? fmtTime(ha.since) : '–'],
			['VRRP instance', ha.instance || '–'],
			['virtual address', ha.vip || '–'],
			['peer', peer ? `${peer.address || '?'}: ${peer.role || 'unknown'}` +
				(peer.lastSeen ? `, seen ${fmtTime(peer.lastSeen)}` : '') : 'none configured'],
		]));
		if (ha.role === 'STANDALONE')
			box.append(h('p', {class: 'hint'}, 'No keepalived pair: this fabmond runs alone.'));
	}

	renderHealth(hh) {
		if (!hh) {
			// (null: fabmond is starting; undefined: no frame yet)
			for (const id of ['#st-ingest', '#st-topo', '#st-store', '#st-ws'])
				clear($(id)).append(h('p', {class: 'hint'}, hh === null ? 'no data yet' : 'waiting for topic health…'));
			this.agents.render([]);
			return;
		}
		this.renderCollector();
		const ig = hh.ingest || {};
		clear($('#st-ingest')).append(kv([
			['alive', ig.alive ? 'yes' : 'NO'],
			['listening', (ig.listen || []).map((l) => l.address).join(', ') || '–'],
			['datagrams', fmtCount(ig.datagrams)],
			['samples', fmtCount(ig.samples)],
			['kernel drops', fmtCount(ig.kernelDrops)],
			['last datagram', ig.lastDatagramAgoMs === null || ig.lastDatagramAgoMs === undefined ? 'never' : `${fmtDuration(ig.lastDatagramAgoMs)} ago`],
			['snapshot age', ig.snapshotAgeMs !== undefined ? `${ig.snapshotAgeMs} ms` : '–'],
			['agents', `${ig.agents ?? '–'}${ig.agentsOverflow ? ` (+${ig.agentsOverflow} over the limit)` : ''}`],
		]));
		this.agents.render((hh.agents || []).map((a) => Object.assign({
			_class: (a.seqLost || a.samplesLost || a.agentDrops) ? 'lossy' : ''}, a)));
		const tp = hh.topology || {};
		clear($('#st-topo')).append(kv([
			['version', tp.version], ['switches', `${tp.nodes ?? '–'} (${tp.polled ?? '–'} polled, ${tp.unreachable ?? 0} unreachable)`],
			['links', `${tp.links ?? '–'} (${tp.linksDown ?? 0} down)`],
			['walks', `${fmtCount(tp.walks)} (${tp.walkTimeouts ?? 0} timeouts, ${tp.walkAuthFailures ?? 0} auth failures)`],
			['age', tp.ageMs !== undefined ? fmtDuration(tp.ageMs) : '–'],
		]));
		const st = hh.store;
		clear($('#st-store')).append(st ? kv([
			['state', st.degraded ? `DEGRADED: ${st.lastError || ''}` : 'ok'],
			['written', fmtCount(st.written)], ['queued', fmtCount(st.queued)],
			['dropped (queue full)', fmtCount(st.droppedQueueFull)],
			['database', st.dbBytes !== undefined ? fmtRate(st.dbBytes, 'B') : '–'],
			['last commit', fmtTime(st.lastCommit)],
		]) : h('p', {class: 'hint'}, 'no store (store.enable = 0)'));
		const ws = hh.ws;
		clear($('#st-ws')).append(ws ? kv([
			['clients', ws.clients], ['subscriptions', ws.subscriptions],
			['frames built / sent', `${fmtCount(ws.framesBuilt)} / ${fmtCount(ws.framesSent)}`],
			['superseded', fmtCount(ws.superseded)], ['sent', fmtRate(ws.bytesSent, 'B')],
			['refused', fmtCount(ws.refused)], ['last push', ws.lastPushUs !== undefined ? `${ws.lastPushUs} µs` : '–'],
		]) : h('p', {class: 'hint'}, '–'));
	}
}
