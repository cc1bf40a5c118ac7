// Path latency (extended, informational): the TCP handshake round-trip time
// each sender measured on its own capture, SYN out to SYN-ACK back, per path
// class and encapsulation. It never decides a verdict. Pure.
import { inner, innermostIp, type DecodedPacket } from '../decode/layers.js';
import type { CaptureData } from './observe.js';
import type { FlowKind, FlowObservation, Sighting } from './model.js';
import type { PathFingerprint } from './fingerprint.js';

export type PathClass = PathFingerprint['path'];

export interface PathLatency {
  path: PathClass;
  encapsulation: string;
  /** TCP flows whose handshake was seen whole at the sender. */
  samples: number;
  medianMs: number;
  p90Ms: number;
  maxMs: number;
}

/** The same classes as the dataplane fingerprint, so a latency reads next to the encapsulation that carried it. */
const CLASS: Partial<Record<FlowKind, PathClass>> = {
  'pod-pod-same': 'same-node',
  'pod-pod-cross': 'cross-node',
  'host-pod-cross': 'node-to-pod',
  'pod-external': 'egress',
};
const ORDER: PathClass[] = ['same-node', 'cross-node', 'node-to-pod', 'egress'];

const ms = (p: DecodedPacket) => p.tsSec * 1000 + p.tsNsec / 1e6;

export type TcpIndex = Map<string, { flags: string; at: number }[]>;

/** The SYN and SYN-ACK segments of one capture (all a handshake's time needs) keyed `src|sport|dst|dport` (innermost header), in capture order. */
export function tcpIndex(cap: CaptureData): TcpIndex {
  const idx: TcpIndex = new Map();
  for (const p of cap.packets) {
    const ip = innermostIp(p);
    const tcp = inner(p, 'tcp');
    if (!ip || !tcp || !tcp.flags.includes('S')) continue;
    const k = `${ip.src}|${tcp.srcPort}|${ip.dst}|${tcp.dstPort}`;
    const list = idx.get(k) ?? [];
    list.push({ flags: tcp.flags, at: ms(p) });
    idx.set(k, list);
  }
  return idx;
}

const isSyn = (f: string) => f.includes('S') && !f.includes('A');
const isSynAck = (f: string) => f.includes('S') && f.includes('A');

/**
 * One flow's handshake RTT at the sender, or undefined when its capture does
 * not hold both halves. The SYN is the last one before the first SYN-ACK: a
 * retransmitted SYN restarts the clock (the SYN-ACK answers the latest), and
 * on a node's `-i any` capture the later copy of a SYN is the one on the wire.
 */
function handshakeMs(o: FlowObservation, idx: TcpIndex): number | undefined {
  const sent = o.sent;
  if (!sent || o.flow.proto !== 'tcp') return undefined;
  for (const sport of sent.sports) {
    const synAck = (idx.get(`${o.flow.dstIP}|${o.flow.dstPort}|${sent.src}|${sport}`) ?? []).find((x) => isSynAck(x.flags));
    if (!synAck) continue;
    const syns = (idx.get(`${sent.src}|${sport}|${o.flow.dstIP}|${o.flow.dstPort}`) ?? []).filter((x) => isSyn(x.flags) && x.at <= synAck.at);
    const syn = syns[syns.length - 1];
    if (syn) return synAck.at - syn.at;
  }
  return undefined;
}

/** The flow's outermost sighting leaving its node names the encapsulation (as in the fingerprint); same-node traffic has none. */
function encapsulationOf(o: FlowObservation, path: PathClass): string {
  if (path === 'same-node') return 'none';
  const wire = o.atUplink.reduce<Sighting | undefined>((best, s) => (!best || s.encapsulation.length > best.encapsulation.length ? s : best), undefined);
  if (!wire) return 'unknown';
  return wire.encapsulation.length ? wire.encapsulation.join('/') : 'none';
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], q: number): number {
  const i = Math.max(0, Math.ceil(q * sorted.length) - 1);
  return sorted[Math.min(i, sorted.length - 1)]!;
}

const round = (x: number) => Math.round(x * 1000) / 1000;

/** `captures`: decoded captures, or their TCP indexes already built (the judge builds them as it decodes, keeping no packets). */
export function pathLatency(obs: readonly FlowObservation[], captures: readonly CaptureData[] | ReadonlyMap<string, TcpIndex>): PathLatency[] {
  const indexes = new Map<string, TcpIndex>(captures instanceof Map ? captures : []);
  const list: readonly CaptureData[] = Array.isArray(captures) ? captures : [];
  const indexOf = (probe: string) => {
    let idx = indexes.get(probe);
    if (!idx) {
      const cap = list.find((c) => c.probe === probe);
      idx = cap ? tcpIndex(cap) : new Map();
      indexes.set(probe, idx);
    }
    return idx;
  };
  const groups = new Map<string, { path: PathClass; encapsulation: string; values: number[] }>();
  for (const o of obs) {
    const path = CLASS[o.flow.kind];
    if (!path || o.flow.proto !== 'tcp') continue;
    const rtt = handshakeMs(o, indexOf(o.flow.from));
    if (rtt === undefined) continue;
    const encapsulation = encapsulationOf(o, path);
    const k = `${path}|${encapsulation}`;
    const g = groups.get(k) ?? { path, encapsulation, values: [] };
    g.values.push(rtt);
    groups.set(k, g);
  }
  return [...groups.values()]
    .sort((a, b) => ORDER.indexOf(a.path) - ORDER.indexOf(b.path) || a.encapsulation.localeCompare(b.encapsulation))
    .map((g) => {
      const v = [...g.values].sort((a, b) => a - b);
      return { path: g.path, encapsulation: g.encapsulation, samples: v.length, medianMs: round(percentile(v, 0.5)), p90Ms: round(percentile(v, 0.9)), maxMs: round(v[v.length - 1]!) };
    });
}
