// Which flows a run sends: pod↔pod on each node and across every ordered
// node pair (TCP and UDP), node agent → pods (local and remote), pod → every
// node, pod → the external target, and one full-size DF datagram per ordered
// node pair (the MTU check). Each goes to the port its receiver's listener
// bound (chosen per run). O(N²) tiny flows; the execs that carry them stay
// O(N) (one sender per probe). Pure.
import { makeToken } from '../decode/token.js';
import { type Flow, type FlowKind, type Probe, type Proto } from './model.js';
import type { ExternalTarget } from './observations.js';
import { runFamilies, targetOf, viewProbes, type Family } from './families.js';
import { familyOf } from './ip.js';

/** `--pairs`: every ordered pair of nodes, or a sample in which each node sends to and receives from K others. */
export type Pairs = { mode: 'all' } | { mode: 'sample'; k: number; seed: number };

/** Up to this many nodes, `--pairs` defaults to all; above it, to a sample of DEFAULT_SAMPLE_K. */
export const ALL_PAIRS_UP_TO = 32;
export const DEFAULT_SAMPLE_K = 8;

/** FNV-1a: a stable, seedless order of node names, the same in every run. */
function fnv(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** How many runs with seeds 0, 1, … together test every ordered pair of `n` nodes at K per node. */
export const runsToCover = (n: number, k: number) => Math.max(1, Math.ceil((n - 1) / Math.max(1, Math.min(k, n - 1))));

/**
 * The remote nodes each node sends to. Sampled: the nodes on a ring in a
 * fixed order (by a hash of their names), each sending to the K nodes after
 * it at the offsets its seed selects (window `seed mod runsToCover`), so it
 * also receives from K; seeds 0 … runsToCover-1 cover every ordered pair
 * exactly once. A fault on one node is caught by every sample; a fault on one
 * ordered pair with probability K/(N-1) per run.
 */
export function remotePeers(nodes: readonly string[], pairs: Pairs): Map<string, string[]> {
  const peers = new Map<string, string[]>();
  if (pairs.mode === 'all' || nodes.length - 1 <= pairs.k) {
    for (const n of nodes) peers.set(n, nodes.filter((m) => m !== n));
    return peers;
  }
  const ring = [...nodes].sort((a, b) => fnv(a) - fnv(b) || (a < b ? -1 : 1));
  const n = ring.length;
  const window = pairs.seed % runsToCover(n, pairs.k);
  ring.forEach((node, i) => {
    const offsets = Array.from({ length: pairs.k }, (_, j) => window * pairs.k + j + 1).filter((o) => o < n);
    peers.set(node, offsets.map((o) => ring[(i + o) % n]!));
  });
  return peers;
}

/**
 * The destinations whose uplink a node's host probe must look up before
 * traffic: only pod `a` sends flows that leave the node (cross-node and
 * egress), to the `a` pods of its peers and to the external target. O(K)
 * per node, not O(N): the whole cluster's pods would make the inventory
 * O(N²) (4,000 lookups per node at 1,000 nodes).
 */
export function uplinkQueries(node: string, podIPs: ReadonlyMap<string, { a?: string }>, peers: ReadonlyMap<string, readonly string[]>, external?: ExternalTarget): { src: string; dst: string }[] {
  const src = podIPs.get(node)?.a;
  if (!src) return [];
  const dsts = (peers.get(node) ?? []).map((n) => podIPs.get(n)?.a).filter((ip): ip is string => !!ip);
  return [...new Set([...dsts, ...(external ? [external.ip] : [])])].map((dst) => ({ src, dst }));
}

/**
 * Probes without a bound port (their listener did not start) receive no
 * flows. `peers`, when given, are the remote nodes each node sends to (as
 * chosen before the inventory, for the nodes then ready); nodes without
 * probes drop out of it. Every flow is planned once per family (default:
 * every family all pod probes have an address of), with that family's
 * addresses, node addresses and external target.
 */
export function planFlows(run: string, probes: Probe[], nodeIPs: ReadonlyMap<string, string | readonly string[]>, external?: ExternalTarget | readonly ExternalTarget[], pairs: Pairs = { mode: 'all' }, chosen?: ReadonlyMap<string, readonly string[]>, families?: readonly Family[]): Flow[] {
  const flows: Flow[] = [];
  const counter = { n: 0 };
  const targets: readonly ExternalTarget[] = external === undefined ? [] : 'ip' in external ? [external] : external;
  for (const f of families ?? runFamilies(probes)) {
    const ips = new Map<string, string>();
    for (const [node, v] of nodeIPs) {
      const ip = (typeof v === 'string' ? [v] : v).find((x) => familyOf(x) === f);
      if (ip) ips.set(node, ip);
    }
    planFamily(flows, counter, run, viewProbes(probes, f).probes, ips, targetOf(targets, f), pairs, chosen);
  }
  return flows;
}

function planFamily(flows: Flow[], counter: { n: number }, run: string, probes: Probe[], nodeIPs: Map<string, string>, external: ExternalTarget | undefined, pairs: Pairs, chosen?: ReadonlyMap<string, readonly string[]>): void {
  const add = (kind: FlowKind, proto: Proto, from: Probe, to: Probe | undefined, dstIP: string, dstPort: number, mtu = false) => {
    const id = `f${++counter.n}`;
    flows.push({ id, token: makeToken(run, id), kind, proto, from: from.name, ...(to ? { to: to.name } : {}), dstIP, dstPort, ...(mtu ? { mtu: true } : {}) });
  };
  const listening = (p: Probe | undefined): p is Probe & { port: number } => !!p && p.port !== undefined;
  const both = (kind: FlowKind, from: Probe, to: Probe & { port: number }) => {
    add(kind, 'tcp', from, to, to.ip, to.port);
    add(kind, 'udp', from, to, to.ip, to.port);
  };
  const nodes = [...new Set(probes.map((p) => p.node))].sort();
  const peers = chosen ?? remotePeers(nodes, pairs);
  // Indexed once: a linear search per node and peer is O(N²) at 1,000 nodes.
  const bySlot = new Map<string, Probe>();
  for (const p of probes) {
    const slot = `${p.node}|${p.name.endsWith('-a') ? 'a' : p.name.endsWith('-b') ? 'b' : '?'}`;
    if (p.role === 'pod' && !bySlot.has(slot)) bySlot.set(slot, p);
  }
  const hosts = new Map<string, Probe>();
  for (const p of probes) if (p.role === 'host' && !hosts.has(p.node)) hosts.set(p.node, p);
  const pod = (node: string, suffix: 'a' | 'b') => bySlot.get(`${node}|${suffix}`);
  const present = new Set(nodes);
  for (const node of nodes) {
    const a = pod(node, 'a');
    const b = pod(node, 'b');
    const h = hosts.get(node);
    if (a && listening(b)) both('pod-pod-same', a, b);
    if (b && listening(a)) both('pod-pod-same', b, a);
    // Node agents: TCP (the model's rule is reachability without NAT; pod↔pod carries both protocols).
    if (h) for (const p of [a, b]) if (listening(p)) add('host-pod-same', 'tcp', h, p, p.ip, p.port);
    const mine = new Set(peers.get(node) ?? []);
    for (const other of [...mine].filter((x) => present.has(x)).sort()) {
      const remote = pod(other, 'a');
      if (!listening(remote)) continue;
      if (a) {
        both('pod-pod-cross', a, remote);
        add('pod-pod-mtu', 'udp', a, remote, remote.ip, remote.port, true);
      }
      if (h) add('host-pod-cross', 'tcp', h, remote, remote.ip, remote.port);
    }
    if (a) {
      for (const target of [node, ...mine].filter((x) => present.has(x)).sort()) {
        const th = hosts.get(target);
        const ip = nodeIPs.get(target);
        if (listening(th) && ip) add('pod-node', 'tcp', a, th, ip, th.port);
      }
      if (external) add('pod-external', 'tcp', a, undefined, external.ip, external.port);
    }
  }
}
