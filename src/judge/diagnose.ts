// The likely cause of each failure: from a failed flow (or API finding) and
// the bundle's facts (the probes' addresses, the nodes' routes, rules, links,
// nat and filter tables, the captures' ARP and ICMP), the node and subsystem
// most likely at fault, in one line that names the fact. A check's diagnosis
// is the one that explains most of its failed flows. Pure: report check and
// bundle facts in, diagnosis out; it never changes a verdict.
//
// The questions, in order (the first that finds something answers):
//   1. identity: does an end's interface lack the address the API gives it?
//   2. IPAM: is an end's address held twice, or in two nodes' pod CIDRs?
//   3. rewrite: did the packet arrive with another source, and whose is it?
//   4. egress: did pod traffic leave for the outside unmasqueraded?
//   5. MTU: where on the path is a link smaller than the datagram?
//   6. lost: an ICMP error and who sent it; a node on the path without a
//      route; a pod whose gateway never answers ARP; a FORWARD policy of DROP.
import type { CheckDiagnosis, CheckResult, Diagnosis, FlowObservation, FlowVerdict, Probe, ProbeInventory, Sighting, Subsystem } from '../conformance/model.js';
import { SUBSYSTEMS, hostProbe } from '../conformance/model.js';
import type { Observations } from '../conformance/observations.js';
import { isLive } from '../conformance/observations.js';
import type { CaptureIndex } from '../conformance/observe.js';
import { familyOf, inCidr } from '../conformance/ip.js';
import { overlappingCidrs } from '../conformance/checks-api.js';
import { icmpMessage } from '../decode/icmp.js';
import {
  dropsPackets, forwardPolicy, isDefault, linkByName, longestMatch, parseRoutes, routeLookup, snapshotGaps, snatRules, snatRulesFor, sourceRules, type Route,
} from './node-facts.js';

export interface DiagnoseInput {
  obs: Observations;
  /** The captures' ARP requests and replies, per probe (from observe.ts's indexes). */
  indexes: Map<string, Pick<CaptureIndex, 'arpRequests' | 'arpReplies'>>;
}

/** VXLAN and Geneve over IPv4 add 50 bytes to the inner IP packet (outer IP, UDP, header, inner Ethernet); WireGuard 60; IP-in-IP 20. */
const TUNNEL_OVERHEAD: Record<string, number> = { vxlan: 50, geneve: 50, wireguard: 60, ipip: 20, sit: 20, gre: 24, gretap: 38 };

/** What every diagnosis of one run reads (diagnoseContext builds it once). */
export interface DiagnoseContext extends DiagnoseInput {
  byFlow: Map<string, FlowObservation>;
  /** address → node and interface. */
  owners: Map<string, { node: string; dev?: string }>;
  /** IPAM findings by address: the node blamed and why. */
  ipam: Map<string, { node: string; why: string }>;
  nodeOrder: string[];
}

const one = (subsystem: Subsystem, node: string | undefined, text: string): Diagnosis => ({ subsystem, nodes: node ? [node] : [], text });

function hostInv(x: DiagnoseContext, node: string): ProbeInventory | undefined {
  const h = hostProbe(x.obs.probes, node);
  return h ? x.obs.inventory.get(h.name) : undefined;
}

const probeNamed = (x: DiagnoseContext, name: string | undefined) => x.obs.probes.find((p) => p.name === name);

/** `2: eth0    inet 172.18.0.11/24 …` lines: address → interface. */
function addrDevices(addrText: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of addrText.split('\n')) {
    const m = /^\d+:\s+(\S+)\s+inet6?\s+([^/\s]+)\//.exec(line.trim());
    if (m) out.set(m[2]!, m[1]!.split('@')[0]!);
  }
  return out;
}

function ownersOf(o: Observations): Map<string, { node: string; dev?: string }> {
  const owners = new Map<string, { node: string; dev?: string }>();
  for (const n of o.nodes) for (const a of n.addresses) owners.set(a, { node: n.name });
  for (const p of o.probes.filter((q) => q.role === 'host')) {
    const inv = o.inventory.get(p.name);
    if (!inv) continue;
    const devs = addrDevices(inv.addrText);
    for (const a of inv.addresses) owners.set(a, { node: p.node, ...(devs.get(a) ? { dev: devs.get(a)! } : {}) });
  }
  return owners;
}

/**
 * IPAM findings: an address in the pod CIDRs of two nodes blames the node
 * listed later (its range was handed out already); an address held by two
 * live pods blames the later of their nodes.
 */
function ipamOf(o: Observations, order: string[]): Map<string, { node: string; why: string }> {
  const out = new Map<string, { node: string; why: string }>();
  const rank = (n: string) => { const i = order.indexOf(n); return i < 0 ? order.length : i; };
  const overlaps: { later: string; earlier: string; a: string; b: string }[] = [];
  const nodes = o.nodes.filter((n) => n.podCIDRs.length);
  // The sorted search NM-3.2 uses (O(N log N); comparing every pair of nodes is quadratic at thousands of nodes).
  for (const { i, x, j, y } of overlappingCidrs(nodes)) {
    const [a, b] = [nodes[i]!.podCIDRs[x]!, nodes[j]!.podCIDRs[y]!];
    const [first, second] = rank(nodes[i]!.name) <= rank(nodes[j]!.name) ? [[nodes[i]!.name, a], [nodes[j]!.name, b]] : [[nodes[j]!.name, b], [nodes[i]!.name, a]];
    overlaps.push({ earlier: first![0]!, a: first![1]!, later: second![0]!, b: second![1]! });
  }
  const owners = new Map<string, { pod: string; node?: string }[]>();
  for (const p of o.pods.filter(isLive)) for (const ip of p.podIPs) owners.set(ip, [...(owners.get(ip) ?? []), { pod: `${p.namespace}/${p.name}`, ...(p.node ? { node: p.node } : {}) }]);
  const addresses = new Set([...owners.keys(), ...o.probes.map((p) => p.ip)]);
  for (const ip of addresses) {
    const ov = overlaps.find((v) => inCidr(ip, v.a) && inCidr(ip, v.b));
    if (ov) {
      out.set(ip, { node: ov.later, why: `${ov.later}'s pod CIDR ${ov.b} overlaps ${ov.earlier}'s ${ov.a}: IPAM on both hands out addresses such as ${ip}` });
      continue;
    }
    const who = owners.get(ip) ?? [];
    if (who.length > 1) {
      const node = who.map((w) => w.node ?? '').sort((p, q) => rank(p) - rank(q)).pop()!;
      out.set(ip, { node, why: `${ip} is held by ${who.length} live pods (${who.map((w) => `${w.pod} on ${w.node ?? '?'}`).join(', ')}): IPAM handed it out twice` });
    }
  }
  return out;
}

// ------------------------------------------------------------ 1. identity

function identityOf(x: DiagnoseContext, ends: (Probe | undefined)[]): Diagnosis | undefined {
  for (const p of ends) {
    if (!p || p.role !== 'pod') continue;
    const addrs = x.obs.inventory.get(p.name)?.addresses ?? [];
    if (addrs.length && !addrs.includes(p.ip)) {
      return one('interface-address', p.node, `${p.name}'s eth0 has ${addrs.join(', ')}, but the API says its IP is ${p.ip}: the address on the interface is not the pod's status IP (on ${p.node})`);
    }
  }
  return undefined;
}

// ------------------------------------------------------------ 2. IPAM

function ipamFor(x: DiagnoseContext, ips: string[]): Diagnosis | undefined {
  for (const ip of ips) {
    const b = x.ipam.get(ip);
    if (b) return one('ipam', b.node, b.why);
  }
  return undefined;
}

// ------------------------------------------------------------ 3. rewrite

/** What the node's nat table says of a packet from src to dst: the MASQUERADE/SNAT rule that matches it (one to `addr` first), none, or that the table is missing. */
function natFact(x: DiagnoseContext, node: string, src: string, dst: string, addr?: string): string {
  const inv = hostInv(x, node);
  const all = snatRules(inv?.firewall);
  const gaps = snapshotGaps(inv?.firewall);
  if (!inv?.firewall || (all.length === 0 && gaps.length === inv.firewall.length)) return ` (${node}'s nat table is not in the bundle: ${gaps.join('; ') || 'no snapshot'})`;
  if (all.length === 0) return ` (${node}'s nat table has no MASQUERADE or SNAT rule)`;
  const rules = snatRulesFor(inv.firewall, src, dst);
  if (rules.length === 0) return ` (none of the ${all.length} MASQUERADE/SNAT rule(s) of ${node}'s nat table matches ${src} > ${dst} by address)`;
  const best = (addr ? rules.find((r) => r.includes(addr)) : undefined) ?? rules[0]!;
  return ` (nat on ${node}: \`${best}\`${rules.length > 1 ? ` and ${rules.length - 1} more matching MASQUERADE/SNAT rule(s)` : ''})`;
}

/** The address a flow's packet was rewritten to and which node owns it: masquerade/SNAT on that node. */
function rewriteOf(x: DiagnoseContext, f: FlowObservation, v: FlowVerdict): Diagnosis | undefined {
  const exp = /^(\S+) > (\S+)/.exec(v.expected);
  const d = v.decisive;
  // The decisive packet shows a rewrite when it went where expected from another source (a request or a SYN-ACK of the other direction does not).
  if (!exp || !d || !familyOf(exp[1]!) || d.src === exp[1] || d.dst !== exp[2]) return undefined;
  const was = exp[1]!;
  const seen = d.src;
  const own = x.owners.get(seen);
  const sender = probeNamed(x, f.flow.from);
  if (own) {
    return one('masquerade', own.node, `${seen} is ${own.node}'s address${own.dev ? ` (${own.dev})` : ''}: ${was} was rewritten to it, masquerade/SNAT on ${own.node}${natFact(x, own.node, was, exp[2]!, seen)}`);
  }
  const node = sender?.node;
  return one('masquerade', node, `${was} was rewritten to ${seen}, an address of no node${node ? `: most likely SNAT on the sending node ${node}${natFact(x, node, was, exp[2]!, seen)}` : ''}`);
}

// ------------------------------------------------------------ 4. egress

function egressOf(x: DiagnoseContext, f: FlowObservation): Diagnosis | undefined {
  if (f.flow.kind !== 'pod-external') return undefined;
  const p = probeNamed(x, f.flow.from);
  if (!p) return undefined;
  const s = f.atUplink[0] ?? f.handshakeAtUplink[0];
  if (!s) return undefined;
  const node = p.node;
  const inv = hostInv(x, node);
  if (x.obs.egressSnat !== 'node') {
    const own = x.owners.get(s.src);
    return own ? one('masquerade', own.node, `${s.src} is ${own.node}'s address: egress was SNATed on the node though it was declared ${x.obs.egressSnat}${natFact(x, own.node, p.ip, s.dst, s.src)}`) : undefined;
  }
  if (x.owners.get(s.src)) return undefined;
  const dev = s.ifindex !== undefined ? inv?.links?.find((l) => l.ifindex === s.ifindex)?.name : undefined;
  // A node without the policy rule its peers have for their pods: its pods' traffic takes the main table, away from the SNAT.
  if (inv?.rules !== undefined && sourceRules(inv, p.ip).length === 0) {
    for (const peer of x.nodeOrder.filter((n) => n !== node)) {
      const pinv = hostInv(x, peer);
      const podIP = x.obs.probes.find((q) => q.node === peer && q.role === 'pod')?.ip;
      const r = pinv && podIP ? sourceRules(pinv, podIP)[0] : undefined;
      if (!r) continue;
      const taken = routeLookup(inv, p.ip, f.flow.dstIP).route;
      return one('route', node, `${node} has no policy rule for its pod ${p.ip}, while ${peer} has \`${r.text}\` for its pods: ${p.ip} > ${f.flow.dstIP} takes ${taken ? `\`${taken.text}\`` : 'the main table'} and left${dev ? ` by ${dev}` : ''} unmasqueraded`);
    }
  }
  return one('masquerade', node, `${s.src} > ${s.dst} left ${node}'s uplink${dev ? ` ${dev}` : ''} with the pod's address: no masquerade on ${node}${natFact(x, node, s.src, s.dst)}`);
}

// ------------------------------------------------------------ 5. MTU

interface Hop { node: string; what: string; mtu?: number; size: number }

function overheadOf(x: DiagnoseContext, kind: string | undefined, a: string, b: string): number {
  const seen = x.obs.flows.find((o) => o.flow.kind === 'pod-pod-cross' && probeNamed(x, o.flow.from)?.node === a && probeNamed(x, o.flow.to)?.node === b && o.atUplink[0]?.overhead !== undefined);
  return seen?.atUplink[0]?.overhead ?? (kind ? TUNNEL_OVERHEAD[kind] ?? 0 : 0);
}

/** The device a node sends a tunnel's outer packets to a peer node by (route lookup of the peer's address). */
function underlayTo(x: DiagnoseContext, inv: ProbeInventory | undefined, peerNode: string) {
  const peer = hostProbe(x.obs.probes, peerNode)?.ip;
  return peer && inv ? linkByName(inv.links, routeLookup(inv, '', peer).route?.dev) : undefined;
}

/** The hops of a pod → pod path with the MTU each snapshot gives and the size the datagram has there. */
function pathHops(x: DiagnoseContext, from: Probe, to: Probe, size: number): { hops: Hop[]; tunnel?: string; overhead: number; uplink?: string } {
  const a = from.node;
  const b = to.node;
  const ia = hostInv(x, a);
  const ib = hostInv(x, b);
  const podMtu = (p: Probe) => x.obs.inventory.get(p.name)?.mtu;
  const hops: Hop[] = [{ node: a, what: `${from.name} eth0`, size, ...(podMtu(from) ? { mtu: podMtu(from)! } : {}) }];
  const out = ia ? routeLookup(ia, from.ip, to.ip).route : undefined;
  const dev = linkByName(ia?.links, out?.dev);
  const tunnel = dev?.kind;
  const overhead = tunnel ? overheadOf(x, tunnel, a, b) : 0;
  const hop = (node: string, l: { name: string; mtu?: number } | undefined, at: number, routeMtu?: number) => {
    const mtu = routeMtu ?? l?.mtu;
    if (l) hops.push({ node, what: `${node}'s ${l.name}`, size: at, ...(mtu ? { mtu } : {}) });
  };
  hop(a, dev, size, out?.mtu);
  const up = tunnel ? underlayTo(x, ia, b) : undefined;
  if (up !== dev) hop(a, up, size + overhead);
  // The receiving node's NIC (its route back to the sender's node), then its device to the pod.
  const inB = a !== b ? underlayTo(x, ib, a) : undefined;
  hop(b, inB, size + overhead);
  const toPod = linkByName(ib?.links, ib ? routeLookup(ib, from.ip, to.ip).route?.dev : undefined);
  if (toPod !== inB) hop(b, toPod, size);
  hops.push({ node: b, what: `${to.name} eth0`, size, ...(podMtu(to) ? { mtu: podMtu(to)! } : {}) });
  const wire = up ?? dev;
  return { hops, overhead, ...(tunnel ? { tunnel } : {}), ...(wire ? { uplink: `${wire.name} (MTU ${wire.mtu ?? '?'})` } : {}) };
}

function mtuOf(x: DiagnoseContext, f: FlowObservation): Diagnosis | undefined {
  if (f.flow.kind !== 'pod-pod-mtu') return undefined;
  const from = probeNamed(x, f.flow.from);
  const to = probeNamed(x, f.flow.to);
  const size = f.sent?.size;
  if (!from || !to || !size) return undefined;
  const path = pathHops(x, from, to, size);
  const small = path.hops.find((h) => h.mtu !== undefined && h.mtu < h.size);
  if (small) return one('mtu', small.node, `the ${size}-byte datagram is ${small.size} bytes at ${small.what}, whose MTU is ${small.mtu}: too big there, and no ICMP "fragmentation needed" came back`);
  const wire = path.tunnel ? `, ${size + path.overhead} bytes with ${path.tunnel} on the wire,` : '';
  return one('mtu', from.node, `the ${size}-byte DF datagram${wire} left ${from.node}${path.uplink ? ` by ${path.uplink}` : ''} and vanished without an ICMP "fragmentation needed": the path from ${from.node} to ${to.node} is smaller than ${from.node}'s MTUs (pod ${path.hops[0]!.mtu ?? '?'}${path.tunnel ? `, ${path.hops[1]?.what ?? 'tunnel'} ${path.hops[1]?.mtu ?? '?'}` : ''}) allow`);
}

// ------------------------------------------------------------ 6. lost

/** A node's route to dst that cannot be right: none, one that drops, or the default where the cluster routes dst specifically. */
function routeProblem(x: DiagnoseContext, node: string, src: string, dst: string): string | undefined {
  const inv = hostInv(x, node);
  if (!inv) return undefined;
  const { route } = routeLookup(inv, src, dst);
  if (!route) return `${node} has no route to ${dst}`;
  if (dropsPackets(route)) return `${node} routes ${dst} to ${route.type} (\`${route.text}\`)`;
  if (!isDefault(route)) return undefined;
  const home = x.obs.nodes.find((n) => n.name !== node && n.podCIDRs.some((c) => inCidr(dst, c)));
  if (home) {
    const cidr = home.podCIDRs.find((c) => inCidr(dst, c))!;
    return `${node} has no route to ${home.name}'s pod CIDR ${cidr}: ${dst} takes the default route (\`${route.text}\`)`;
  }
  const dstNode = x.owners.get(dst)?.node ?? x.obs.probes.find((p) => p.ip === dst)?.node;
  for (const peer of x.nodeOrder.filter((n) => n !== node && n !== dstNode)) {
    const pinv = hostInv(x, peer);
    const r: Route | undefined = pinv ? longestMatch(parseRoutes(pinv.routes), 'main', dst) : undefined;
    if (r && !isDefault(r) && !dropsPackets(r)) return `${node} has no route to ${dst} but the default (\`${route.text}\`), while ${peer} has \`${r.text}\``;
  }
  return undefined;
}

function gatewayOf(inv: ProbeInventory | undefined): string | undefined {
  const def = parseRoutes(inv?.routes ?? '').find((r) => r.table === 'main' && isDefault(r) && r.via && familyOf(r.via) === 4);
  return def?.via;
}

/** A pod that asked for its gateway's address and got no answer: neighbour resolution on its node's side of the link. */
function arpOf(x: DiagnoseContext, p: Probe | undefined): Diagnosis | undefined {
  if (!p || p.role !== 'pod') return undefined;
  const gw = gatewayOf(x.obs.inventory.get(p.name));
  const idx = x.indexes.get(p.name);
  if (!gw || !idx) return undefined;
  const asked = idx.arpRequests.get(`${p.ip}|${gw}`) ?? [];
  if (asked.length === 0 || (idx.arpReplies.get(`${gw}|${p.ip}`) ?? []).length > 0) return undefined;
  return one('arp', p.node, `${p.name} asked who-has ${gw} (its default gateway) ${asked.length} time(s), packet #${asked[0]!.packet} at ${asked[0]!.capture}, and no answer came: ${p.node}'s side of its link does not answer ARP for the gateway (proxy ARP)`);
}

function forwardOf(x: DiagnoseContext, node: string, what: string): Diagnosis | undefined {
  const fp = forwardPolicy(hostInv(x, node)?.firewall);
  if (!fp || fp.policy !== 'DROP') return undefined;
  return one('forward-policy', node, `${node}'s FORWARD policy is DROP (\`${fp.text}\`)${fp.rules.length ? ` with ${fp.rules.length} rule(s) before it` : ' and no rule accepts pod traffic'}: ${what} is dropped there`);
}

const isOwn = (p: Probe | undefined, f: FlowObservation, ip: string) => ip === p?.ip || ip === f.sent?.src;

function icmpOf(x: DiagnoseContext, f: FlowObservation, s: Sighting, sender: Probe | undefined): { d?: Diagnosis; note: string } {
  const v6 = s.src.includes(':');
  const name = icmpMessage(v6, s.icmpType ?? -1, s.icmpCode ?? -1);
  const what = `ICMP ${name} from ${s.src} (packet #${s.packet} at ${s.capture})`;
  if (isOwn(sender, f, s.src) && sender) {
    return { d: arpOf(x, sender) ?? one('arp', sender.node, `${what}: ${sender.name}'s own kernel could not reach its next hop (no ARP answer on its link to ${sender.node})`), note: what };
  }
  const own = x.owners.get(s.src);
  if (!own) return { note: `${what}, not a node's address (a router beyond the nodes)` };
  const frag = v6 ? s.icmpType === 2 : s.icmpType === 3 && s.icmpCode === 4;
  const prohibited = v6 ? s.icmpType === 1 && s.icmpCode === 1 : s.icmpType === 3 && [9, 10, 13].includes(s.icmpCode ?? -1);
  const subsystem: Subsystem = frag ? 'mtu' : prohibited ? 'forward-policy' : 'route';
  return { d: one(subsystem, own.node, `${what}: ${s.src} is ${own.node}'s address${own.dev ? ` (${own.dev})` : ''}, which refused to forward it`), note: what };
}

/** A flow (or its reply) that never arrived: which node on its path lacks a route, an ARP answer or a FORWARD accept. */
function lostOf(x: DiagnoseContext, f: FlowObservation): Diagnosis | undefined {
  const sender = probeNamed(x, f.flow.from);
  const receiver = probeNamed(x, f.flow.to);
  if (!sender) return undefined;
  const src = f.sent?.src || sender.ip;
  const arrived = f.atReceiver[0] ?? f.synAtReceiver[0];
  let note = '';
  const icmp = f.icmpAtSender[0];
  if (icmp) {
    const r = icmpOf(x, f, icmp, sender);
    if (r.d) return r.d;
    note = `${r.note}; `;
  }
  if (!arrived) {
    // The request never arrived: the sender's node, then the receiver's.
    const miss = routeProblem(x, sender.node, src, f.flow.dstIP);
    if (miss) return one('route', sender.node, `${note}${miss}`);
    if (receiver && receiver.node !== sender.node) {
      const far = routeProblem(x, receiver.node, src, f.flow.dstIP);
      if (far) return one('route', receiver.node, `${note}${far}`);
    }
    const arp = arpOf(x, sender);
    if (arp) return arp;
    const fwd = (receiver?.role === 'pod' ? forwardOf(x, receiver.node, `traffic to ${receiver.name}`) : undefined)
      ?? (sender.role === 'pod' ? forwardOf(x, sender.node, `traffic from ${sender.name}`) : undefined);
    if (fwd) return fwd;
  } else {
    // The request arrived and the answer did not come back: the return path, from the receiver's node.
    const rnode = receiver?.node ?? x.owners.get(f.flow.dstIP)?.node;
    const back = rnode ? routeProblem(x, rnode, f.flow.dstIP, arrived.src) : undefined;
    if (back && rnode) return one('route', rnode, `${note}the request arrived, the answer did not come back: ${back}`);
    const arp = arpOf(x, receiver) ?? arpOf(x, sender);
    if (arp) return arp;
    const fwd = (receiver?.role === 'pod' ? forwardOf(x, receiver.node, `the answer of ${receiver.name}`) : undefined)
      ?? (sender.role === 'pod' ? forwardOf(x, sender.node, `the answer to ${sender.name}`) : undefined);
    if (fwd) return fwd;
  }
  if (icmp) return one('route', sender.node, `${note}${sender.node} sent it towards that router, which could not deliver it`);
  return undefined;
}

// ------------------------------------------------------------ findings

const IP_TOKEN = /(\d{1,3}(?:\.\d{1,3}){3}|[0-9a-f]*:[0-9a-f:]+)/gi;

function apiFindingOf(x: DiagnoseContext, v: FlowVerdict): Diagnosis | undefined {
  const pair = v.flow.split('/');
  if (pair.length === 2 && pair.every((n) => x.nodeOrder.includes(n))) {
    const later = [...pair].sort((a, b) => x.nodeOrder.indexOf(a) - x.nodeOrder.indexOf(b))[1]!;
    return one('ipam', later, `${v.observed}: ${later}, listed later, got a range already handed out`);
  }
  const ips = [...v.flow.matchAll(IP_TOKEN)].map((m) => m[1]!).filter((ip) => familyOf(ip));
  const known = ipamFor(x, ips);
  if (known) return known;
  const pod = x.obs.pods.find((p) => isLive(p) && ips.some((ip) => p.podIPs.includes(ip)) && p.node);
  return pod ? one('ipam', pod.node, v.observed) : undefined;
}

function addressRowOf(x: DiagnoseContext, v: FlowVerdict): Diagnosis | undefined {
  const p = probeNamed(x, v.from);
  return p ? one('interface-address', p.node, `${p.name}: ${v.observed}, but the API says its IP is ${p.ip}: the address on the interface is not the pod's status IP (on ${p.node})`) : undefined;
}

/** The likely cause of one failed flow verdict, or `unknown` with what is missing. */
export function diagnoseFlow(x: DiagnoseContext, v: FlowVerdict): Diagnosis {
  const found = v.kind === 'api' ? apiFindingOf(x, v) : v.kind === 'inventory' ? addressRowOf(x, v) : flowCause(x, v);
  return found ?? { subsystem: 'unknown', nodes: [], text: 'no fact in the bundle points at a node (see the flow\'s evidence)' };
}

function flowCause(x: DiagnoseContext, v: FlowVerdict): Diagnosis | undefined {
  const f = x.byFlow.get(v.flow);
  if (!f) return undefined;
  const sender = probeNamed(x, f.flow.from);
  const receiver = probeNamed(x, f.flow.to);
  return identityOf(x, [sender, receiver])
    ?? ipamFor(x, [sender?.ip ?? '', f.flow.dstIP])
    ?? egressOf(x, f)
    ?? rewriteOf(x, f, v)
    ?? mtuOf(x, f)
    ?? lostOf(x, f);
}

/** The context the diagnoses of one run share. */
export function diagnoseContext(input: DiagnoseInput): DiagnoseContext {
  const order = [...input.obs.nodes.map((n) => n.name), ...input.obs.probes.map((p) => p.node)].filter((n, i, all) => all.indexOf(n) === i);
  return {
    ...input,
    byFlow: new Map(input.obs.flows.map((f) => [f.flow.id, f])),
    owners: ownersOf(input.obs),
    ipam: ipamOf(input.obs, order),
    nodeOrder: order,
  };
}

/**
 * A failed check with a diagnosis on each failed flow and on the check: the
 * subsystem most of its failed flows point at, and every node they name for
 * it. Other results come back unchanged.
 */
export function diagnoseCheck(c: CheckResult, ctx: DiagnoseContext): CheckResult {
  if (c.result !== 'failed') return c;
  const flows = c.flows.map((v) => (v.verdict === 'failed' ? { ...v, diagnosis: diagnoseFlow(ctx, v) } : v));
  const ds = flows.filter((v) => v.verdict === 'failed').map((v) => v.diagnosis!);
  const summary = summarizeDiagnoses(ds, ctx.nodeOrder);
  return { ...c, flows, diagnosis: summary.subsystem === 'mtu' ? commonNode(flows, ctx, summary) : summary };
}

/**
 * An MTU loss no snapshot explains (a smaller hop off the nodes: a switch or
 * fabric port) is blamed on the sender of each flow; when every failing pair
 * has one node in common and pairs without it pass, that node's link is the
 * smaller hop, and the check names it.
 */
export function commonNode(flows: readonly CheckResult['flows'][number][], ctx: DiagnoseContext, summary: CheckDiagnosis): CheckDiagnosis {
  const nodeOf = new Map(ctx.obs.probes.map((p) => [p.name, p.node]));
  const ends = (v: CheckResult['flows'][number]) => {
    const f = ctx.byFlow.get(v.flow)?.flow;
    return [nodeOf.get(f?.from ?? ''), nodeOf.get(f?.to ?? '')].filter((n): n is string => n !== undefined);
  };
  const failed = flows.filter((v) => v.verdict === 'failed').map(ends);
  const passed = flows.filter((v) => v.verdict === 'passed').map(ends);
  if (failed.length < 2 || passed.length === 0) return summary;
  const common = failed.reduce((acc, e) => acc.filter((n) => e.includes(n)), failed[0]!);
  const node = common.find((n) => passed.every((e) => !e.includes(n)));
  if (!node) return summary;
  return {
    ...summary, nodes: [node],
    text: `every failing pair (${failed.length}) has ${node} at one end and every pair without it passes: the smaller hop is ${node}'s link, or the switch or fabric port it is on (${summary.text})`,
  };
}

/** The check's diagnosis from its flows': the subsystem that explains most (ties: SUBSYSTEMS order), all nodes named for it. */
export function summarizeDiagnoses(ds: readonly Diagnosis[], nodeOrder: readonly string[]): CheckDiagnosis {
  const known = ds.filter((d) => d.subsystem !== 'unknown');
  if (known.length === 0) return { subsystem: 'unknown', nodes: [], text: ds[0]?.text ?? 'no failed flow to diagnose', explains: ds.length, of: ds.length };
  const count = (s: Subsystem) => known.filter((d) => d.subsystem === s).length;
  const best = SUBSYSTEMS.reduce((a, b) => (count(b) > count(a) ? b : a));
  const mine = known.filter((d) => d.subsystem === best);
  const rank = (n: string) => { const i = nodeOrder.indexOf(n); return i < 0 ? nodeOrder.length : i; };
  const nodes = [...new Set(mine.flatMap((d) => d.nodes))].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : 1));
  return { subsystem: best, nodes, text: mine[0]!.text, explains: mine.length, of: ds.length };
}
