// sflowgen.mjs: synthetic sFlow v5 for the local browser tests, so that
// the page shows real frames from a loopback fabmond (links coloured from
// counter samples, top-N flows, a trace with hops, a valley black hole)
// without a lab. The layouts follow the sFlow v5 spec
// (sflow.org/sflow_version_5.txt), as tests/integration/sflowgen.py.
//
// Fabric is a description of the imported topology: every node's agent
// and ports (name -> ifIndex); flows are paths through it. Counters grow
// at each port's configured rate, so fabmond computes steady rates.

import dgram from 'node:dgram';

const u32 = (...v) => {
	const b = Buffer.alloc(4 * v.length);
	v.forEach((x, i) => b.writeUInt32BE(x >>> 0, 4 * i));
	return b;
};
const u64 = (v) => {
	const b = Buffer.alloc(8);
	b.writeBigUInt64BE(BigInt(Math.floor(v)));
	return b;
};
const ip4 = (a) => Buffer.from(a.split('.').map(Number));

function csum(b) {
	let s = 0;
	for (let i = 0; i < b.length; i += 2)
		s += (b[i] << 8) + (b[i + 1] || 0);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return ~s & 0xffff;
}

// An Ethernet/IPv4/UDP header (no payload bytes) and the frame's length.
export function udpFrame(src, dst, sport, dport, {payload = 1400, ttl = 64} = {}) {
	const eth = Buffer.concat([Buffer.from('020000000002020000000001', 'hex'), Buffer.from([8, 0])]);
	const ulen = 8 + payload;
	const ip = Buffer.alloc(20);
	ip.writeUInt8(0x45, 0);
	ip.writeUInt16BE(20 + ulen, 2);
	ip.writeUInt16BE(1, 4);
	ip.writeUInt8(ttl, 8);
	ip.writeUInt8(17, 9);
	ip4(src).copy(ip, 12);
	ip4(dst).copy(ip, 16);
	ip.writeUInt16BE(csum(ip), 10);
	const udp = Buffer.alloc(8);
	udp.writeUInt16BE(sport, 0);
	udp.writeUInt16BE(dport, 2);
	udp.writeUInt16BE(ulen, 4);
	return {frame: Buffer.concat([eth, ip, udp]), len: eth.length + 20 + ulen};
}

function flowSample(seq, rate, pool, {frame, len}, inp, out) {
	const pad = Buffer.alloc((4 - frame.length % 4) % 4);
	const rec = Buffer.concat([u32(1, len + 4, 0, frame.length), frame, pad]);   // proto 1: Ethernet
	const body = Buffer.concat([u32(seq, inp, rate, pool, 0, inp, out, 1), u32(1, rec.length), rec]);
	return Buffer.concat([u32(1, body.length), body]);
}

function counterSample(seq, ifindex, speed, c) {
	const rec = Buffer.concat([u32(ifindex, 6), u64(speed), u32(1, 3), u64(c.inOctets),
		u32(c.inPkts, 0, 0, c.inDisc || 0, 0, 0), u64(c.outOctets), u32(c.outPkts, 0, 0, c.outDisc || 0, 0, 0)]);
	const body = Buffer.concat([u32(seq, ifindex, 1), u32(1, rec.length), rec]);
	return Buffer.concat([u32(2, body.length), body]);
}

function datagram(agent, seq, uptime, samples) {
	return Buffer.concat([u32(5, 1), ip4(agent), u32(0, seq, uptime, samples.length), ...samples]);
}

// new SflowGen(port, {nodes: {name: {agent, ports: {swp1: 2, ...}}}})
// .port(node, port, {inBps, outBps}): that port's counter rates;
// .flow({src, dst, sport, dport, hops: [[node, inPort, outPort], ...], sps}):
//   a flow sampled `sps` times a second at every hop (TTL down by one per
//   hop); start() sends every 100 ms until stop().
export class SflowGen {
	constructor(port, fabric, {rate = 1000, speed = 10e9} = {}) {
		this.port = port;
		this.fabric = fabric;
		this.rate = rate;
		this.speed = speed;
		this.rates = new Map();     // "node:port" -> {inBps, outBps}
		this.counters = new Map();  // "node:port" -> octets and packets so far
		this.flows = [];
		this.seq = new Map();       // agent -> datagram seq
		this.sseq = new Map();      // "agent:ifindex" -> sample seq
		this.t0 = Date.now();
		this.last = Date.now();
		this.sock = dgram.createSocket('udp4');
		this.timer = null;
		this.ticks = 0;
	}

	setPort(node, port, r) {
		this.rates.set(`${node}:${port}`, r);
		return this;
	}

	flow(f) {
		this.flows.push(f);
		return this;
	}

	next(map, key) {
		const v = (map.get(key) || 0) + 1;
		map.set(key, v);
		return v;
	}

	tick() {
		const now = Date.now();
		const dt = (now - this.last) / 1000;
		this.last = now;
		this.ticks++;
		const per = new Map();   // agent -> samples
		const add = (agent, smp) => {
			if (!per.has(agent))
				per.set(agent, []);
			per.get(agent).push(smp);
		};
		// counter samples every 500 ms, as a short sFlow polling interval
		if (this.ticks % 5 === 1) {
			for (const [name, n] of Object.entries(this.fabric.nodes)) {
				for (const [pname, ifx] of Object.entries(n.ports)) {
					const k = `${name}:${pname}`;
					const r = this.rates.get(k) || {inBps: 0, outBps: 0};
					const c = this.counters.get(k) || {inOctets: 0, outOctets: 0, inPkts: 0, outPkts: 0, at: this.t0};
					const el = (now - c.at) / 1000;
					c.inOctets += r.inBps * el / 8;
					c.outOctets += r.outBps * el / 8;
					c.inPkts += Math.round(r.inBps * el / 8 / 1000);
					c.outPkts += Math.round(r.outBps * el / 8 / 1000);
					c.at = now;
					this.counters.set(k, c);
					add(n.agent, counterSample(this.next(this.sseq, `${n.agent}:c${ifx}`), ifx, this.speed, c));
				}
			}
		}
		for (const f of this.flows) {
			const count = Math.max(1, Math.round((f.sps || 20) * dt));
			f.hops.forEach(([node, inp, out], i) => {
				const n = this.fabric.nodes[node];
				const ifIn = n.ports[inp], ifOut = out === null ? 0 : n.ports[out];
				const fr = udpFrame(f.src, f.dst, f.sport, f.dport, {ttl: (f.ttl || 64) - i});
				for (let j = 0; j < count; j++)
					add(n.agent, flowSample(this.next(this.sseq, `${n.agent}:f${ifIn}`), this.rate,
						this.next(this.sseq, `${n.agent}:pool`) * this.rate, fr, ifIn, ifOut));
			});
		}
		const uptime = now - this.t0;
		for (const [agent, smps] of per) {
			// at most 8 samples per datagram: well under 1500 bytes
			for (let i = 0; i < smps.length; i += 8)
				this.sock.send(datagram(agent, this.next(this.seq, agent), uptime, smps.slice(i, i + 8)),
					this.port, '127.0.0.1');
		}
	}

	start() {
		this.tick();
		this.timer = setInterval(() => this.tick(), 100);
		return this;
	}

	stop() {
		clearInterval(this.timer);
		this.timer = null;
	}

	close() {
		this.stop();
		this.sock.close();
	}
}
