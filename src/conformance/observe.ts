// From decoded captures to observations: for every flow, where its token was
// seen and with which IP header (innermost, so encapsulation does not hide
// NAT), the reply, and for flows that did not get through, the packets that
// say where they stopped (the connection's SYN and SYN-ACK, ICMP errors, ARP).
// Each capture is indexed once, so the cost is captures + flows, not their
// product. Pure.
import { innermostIp, inner, outermostIp, type DecodedPacket, type IpLayer } from '../decode/layers.js';
import { addressOf, flowFamily } from './families.js';
import { replyToken, type Flow, type FlowObservation, type Probe, type ProbeInventory, type SentFlow, type Sighting, type Uplink } from './model.js';

export interface CaptureData {
  probe: string;
  packets: DecodedPacket[];
  /** tcpdump wrote every packet its filter accepted and the kernel dropped none: absence in it means something. */
  complete: boolean;
}

/** SLL packet type of a packet this host sent (PACKET_OUTGOING). */
const OUTGOING = 4;

/**
 * One copy of each string an index keeps (addresses, TCP flags): the decoder
 * makes new ones for every packet, and an index of a 1,000-node run keeps
 * a million sightings.
 */
type Intern = (s: string) => string;
function interner(): Intern {
  const seen = new Map<string, string>();
  return (s) => {
    const had = seen.get(s);
    if (had !== undefined) return had;
    seen.set(s, s);
    return s;
  };
}
/** Shared by the sightings of unencapsulated packets (never written to). */
const NO_ENCAPSULATION: DecodedPacket['encapsulation'] = [];

/** An IP packet's length, header included. */
const ipLength = (ip: IpLayer) => (ip.kind === 'ipv4' ? ip.totalLength : 40 + ip.payloadLength);

function sighting(capture: string, p: DecodedPacket, intern: Intern = (s) => s): Sighting | undefined {
  const ip = innermostIp(p);
  if (!ip) return undefined;
  const s: Sighting = { capture, src: intern(ip.src), dst: intern(ip.dst), packet: p.index, encapsulation: p.encapsulation.length ? p.encapsulation : NO_ENCAPSULATION };
  if (ip.kind === 'ipv4') {
    s.length = ip.totalLength;
    s.df = ip.df;
    s.fragment = ip.mf || ip.fragmentOffset > 0;
  } else {
    // IPv6: no router fragments (as if DF were always set); only the sender can, with a fragment header.
    s.length = 40 + ip.payloadLength;
    s.df = true;
    s.fragment = ip.fragment !== undefined;
  }
  const tcp = inner(p, 'tcp');
  if (tcp) s.tcpFlags = intern(tcp.flags);
  const out = outermostIp(p);
  if (out && out !== ip) {
    s.outerSrc = intern(out.src);
    s.outerDst = intern(out.dst);
    s.overhead = ipLength(out) - ipLength(ip);
  }
  const sll = inner(p, 'sll');
  if (sll) {
    if (sll.ifindex !== undefined) s.ifindex = sll.ifindex;
    s.outgoing = sll.packetType === OUTGOING;
  }
  return s;
}

const push = <K, V>(m: Map<K, V[]>, k: K, v: V) => {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
};

const tuple = (src: string, sport: number, dst: string, dport: number) => `${src}|${sport}|${dst}|${dport}`;

/** One pass over a capture: token packets, TCP segments by 4-tuple, ICMP errors by the tuple they quote, ARP requests. */
export interface CaptureIndex {
  probe: string;
  complete: boolean;
  tokens: Map<string, Sighting[]>;
  /** TCP segments keyed `src|sport|dst|dport` (innermost header). */
  segments: Map<string, Sighting[]>;
  /** The same segments keyed `sport|dst|dport`, whatever their source (a SNATed source keeps its port). */
  segmentsAnySource: Map<string, Sighting[]>;
  /** ICMP errors keyed by the quoted `src|sport|dst|dport`. */
  icmpErrors: Map<string, Sighting[]>;
  /** ARP requests keyed `sender|target`. */
  arpRequests: Map<string, Sighting[]>;
  /** ARP replies keyed `sender|target` (the sender is the address that was asked for). */
  arpReplies: Map<string, Sighting[]>;
}

/**
 * What of a capture's TCP segments the index keeps: all (the default), or,
 * as `observe` asks, only those with SYN set and those from `segmentsFrom`
 * (external targets, whose any segment back is the egress reply). Observe
 * reads nothing else of them, and a busy node's capture holds mostly data
 * and ACK segments.
 */
export interface IndexOptions {
  segmentsFrom?: ReadonlySet<string>;
  /** Shares the strings kept (tokens, addresses) across the captures indexed with these options: a token is in several captures. */
  intern?: Intern;
}

/** The index options `observe` needs for these flows. */
export function indexOptionsFor(flows: readonly Flow[]): IndexOptions {
  return { segmentsFrom: new Set(flows.filter((f) => f.kind === 'pod-external').map((f) => f.dstIP)), intern: interner() };
}

export function indexCapture(cap: CaptureData, opts: IndexOptions = {}): CaptureIndex {
  const intern = opts.intern ?? interner();
  const idx: CaptureIndex = { probe: cap.probe, complete: cap.complete, tokens: new Map(), segments: new Map(), segmentsAnySource: new Map(), icmpErrors: new Map(), arpRequests: new Map(), arpReplies: new Map() };
  for (const p of cap.packets) {
    const arp = p.layers.find((l) => l.kind === 'arp');
    if (arp && arp.kind === 'arp') {
      const seen = { capture: cap.probe, src: arp.senderIP, dst: arp.targetIP, packet: p.index, encapsulation: [] };
      if (arp.op === 1) push(idx.arpRequests, `${arp.senderIP}|${arp.targetIP}`, seen);
      else if (arp.op === 2) push(idx.arpReplies, `${arp.senderIP}|${arp.targetIP}`, seen);
      continue;
    }
    // A sighting is made only for a packet the index keeps (most TCP segments of a busy capture are not kept).
    const ip = innermostIp(p);
    if (!ip) continue;
    let made: Sighting | undefined;
    const s = () => (made ??= sighting(cap.probe, p, intern)!);
    if (p.token) push(idx.tokens, intern(p.token), s());
    const icmp = p.layers.find((l) => (l.kind === 'icmp' || l.kind === 'icmpv6') && !l.quoted);
    if (icmp && (icmp.kind === 'icmp' || icmp.kind === 'icmpv6') && icmp.error) {
      const q = p.layers.find((l) => (l.kind === 'ipv4' || l.kind === 'ipv6') && l.quoted);
      const ql4 = p.layers.find((l) => (l.kind === 'tcp' || l.kind === 'udp') && l.quoted);
      if (q && (q.kind === 'ipv4' || q.kind === 'ipv6') && ql4 && (ql4.kind === 'tcp' || ql4.kind === 'udp')) {
        push(idx.icmpErrors, tuple(q.src, ql4.srcPort, q.dst, ql4.dstPort), { ...s(), icmpType: icmp.type, icmpCode: icmp.code, ...(icmp.mtu !== undefined ? { icmpMtu: icmp.mtu } : {}) });
      }
      continue;
    }
    const tcp = inner(p, 'tcp');
    if (tcp && (!opts.segmentsFrom || tcp.flags.includes('S') || opts.segmentsFrom.has(ip.src))) {
      push(idx.segments, tuple(ip.src, tcp.srcPort, ip.dst, tcp.dstPort), s());
      push(idx.segmentsAnySource, `${tcp.srcPort}|${ip.dst}|${tcp.dstPort}`, s());
    }
  }
  return idx;
}

export interface ObserveInput {
  flows: Flow[];
  sent: Map<string, SentFlow>;
  probes: Probe[];
  inventory: Map<string, ProbeInventory>;
  captures: CaptureData[];
  /** The captures already indexed (with `indexOptionsFor(flows)`), instead of `captures`: the judge indexes each as it decodes it and keeps no packets. */
  indexes?: Map<string, CaptureIndex>;
}

/** How many of the packets addressed to a probe its capture saw: requests it received, and replies to its own flows. */
export interface CaptureControl {
  complete: boolean;
  /** Distinct flows to this probe seen at its capture. */
  received: number;
  /** Distinct replies to this probe's flows seen at its capture. */
  replies: number;
}

export interface Observed {
  observations: FlowObservation[];
  /** Per probe with a capture: its positive controls and completeness. */
  controls: Map<string, CaptureControl>;
  indexes: Map<string, CaptureIndex>;
}

const isSyn = (s: Sighting) => s.tcpFlags?.includes('S') === true && !s.tcpFlags.includes('A');
const isSynAck = (s: Sighting) => s.tcpFlags?.includes('S') === true && s.tcpFlags.includes('A');

/** The uplink answer of the sending node for this flow: which devices its packets leave by. */
function uplinkOf(input: ObserveInput, host: Probe | undefined, src: string, dst: string): Uplink | { reason: string } {
  if (!host) return { reason: 'the sending node has no host probe' };
  const answers = input.inventory.get(host.name)?.uplinks;
  const u = answers?.find((a) => a.src === src && a.dst === dst);
  if (!u) return { reason: `no route lookup on ${host.node} for ${src} > ${dst}` };
  if (u.devices.length === 0) return { reason: `the route of ${src} > ${dst} on ${host.node} is unknown: ${u.reason ?? 'no device'}` };
  return u;
}

export function observe(input: ObserveInput): Observed {
  const options = indexOptionsFor(input.flows);
  const indexes = input.indexes ?? new Map(input.captures.map((c) => [c.probe, indexCapture(c, options)]));
  const byName = new Map(input.probes.map((p) => [p.name, p]));
  const hosts = new Map<string, Probe>();
  for (const p of input.probes) if (p.role === 'host' && !hosts.has(p.node)) hosts.set(p.node, p);
  const tokensAt = (probe: string | undefined, token: string) => (probe ? indexes.get(probe)?.tokens.get(token) ?? [] : []);
  const segmentsAt = (probe: string | undefined, key: string) => (probe ? indexes.get(probe)?.segments.get(key) ?? [] : []);

  const observations = input.flows.map((flow): FlowObservation => {
    const sender = byName.get(flow.from);
    const host = sender ? hosts.get(sender.node) : undefined;
    const sent = input.sent.get(flow.id);
    const src = sent?.src ?? (sender ? addressOf(sender, flowFamily(flow.dstIP)) ?? sender.ip : '');
    const sports = sent?.sports ?? [];
    const obs: FlowObservation = {
      flow,
      ...(sent ? { sent } : {}),
      atReceiver: tokensAt(flow.to, flow.token),
      atSender: tokensAt(flow.from, flow.token),
      atUplink: [],
      replyAtSender: flow.to ? tokensAt(flow.from, replyToken(flow.token, flow.to)) : [],
      answerAtSender: sent?.reply.startsWith(`${flow.token}.from.`) ? tokensAt(flow.from, sent.reply) : [],
      icmpAtSender: sports.flatMap((sp) => indexes.get(flow.from)?.icmpErrors.get(tuple(src, sp, flow.dstIP, flow.dstPort)) ?? []).slice(0, 3),
      handshakeAtUplink: [],
      handshakeAtSender: [],
      synAtReceiver: [],
      synAckAtReceiver: [],
      synAckAtSender: [],
      arpAtSender: [],
    };
    if (flow.proto === 'tcp' && sent) {
      // The connection, per flow: the source ports the sender used name its segments in every capture.
      const out = sports.flatMap((sp) => segmentsAt(flow.from, tuple(src, sp, flow.dstIP, flow.dstPort)));
      const back = (probe: string | undefined) => sports.flatMap((sp) => segmentsAt(probe, tuple(flow.dstIP, flow.dstPort, src, sp))).filter(isSynAck);
      if (obs.atSender.length === 0) obs.handshakeAtSender = out.filter(isSyn).slice(0, 3);
      obs.synAckAtSender = back(flow.from).slice(0, 3);
      if (flow.to && obs.atReceiver.length === 0) {
        obs.synAtReceiver = sports.flatMap((sp) => segmentsAt(flow.to, tuple(src, sp, flow.dstIP, flow.dstPort))).filter(isSyn).slice(0, 3);
        obs.synAckAtReceiver = back(flow.to).slice(0, 3);
      }
    }
    if (obs.atSender.length === 0 && obs.handshakeAtSender.length === 0 && sent) {
      obs.arpAtSender = (indexes.get(flow.from)?.arpRequests.get(`${src}|${flow.dstIP}`) ?? []).slice(0, 3);
    }
    if (flow.kind === 'pod-external') {
      // An external target need not echo a token: its reply is any TCP segment from target:port back to the sender.
      obs.replyAtSender = sports.flatMap((sp) => segmentsAt(flow.from, tuple(flow.dstIP, flow.dstPort, src, sp))).slice(0, 3);
    }
    // Only the uplink checks (NM-4.1 egress, NM-4.2 cross-node) read the uplink: pod flows leaving the node.
    if (sender?.role === 'pod' && (flow.kind === 'pod-external' || flow.kind === 'pod-pod-cross')) {
      // The route lookup was made for the pod's address of the flow's family.
      const u = uplinkOf(input, host, addressOf(sender, flowFamily(flow.dstIP)) ?? sender.ip, flow.dstIP);
      if ('devices' in u) {
        const devs = new Set(u.devices.map((d) => d.ifindex));
        const leaving = (s: Sighting) => s.outgoing === true && s.ifindex !== undefined && devs.has(s.ifindex);
        obs.atUplink = tokensAt(host?.name, flow.token).filter(leaving);
        if (obs.atUplink.length === 0 && flow.proto === 'tcp') {
          // No token got out (the connection failed): its SYNs leaving the node, by the ports the sender used (the source may be NATed).
          const anySource = indexes.get(host!.name)?.segmentsAnySource;
          obs.handshakeAtUplink = sports.flatMap((sp) => anySource?.get(`${sp}|${flow.dstIP}|${flow.dstPort}`) ?? []).filter((s) => leaving(s) && isSyn(s)).slice(0, 3);
        }
      } else {
        obs.uplinkUnknown = u.reason;
      }
    }
    if (sender?.role === 'host' && flow.kind === 'host-pod-cross') {
      // The node's own traffic (the fingerprint's node-to-pod path): leaving by any device its pods' traffic leaves by.
      const devs = new Set((input.inventory.get(sender.name)?.uplinks ?? []).flatMap((u) => u.devices.map((d) => d.ifindex)));
      obs.atUplink = obs.atSender.filter((s) => s.outgoing === true && s.ifindex !== undefined && devs.has(s.ifindex));
    }
    return obs;
  });

  const controls = new Map<string, CaptureControl>();
  for (const [probe, idx] of indexes) controls.set(probe, { complete: idx.complete, received: 0, replies: 0 });
  for (const o of observations) {
    const to = o.flow.to ? controls.get(o.flow.to) : undefined;
    if (to && o.atReceiver.length) to.received++;
    const from = controls.get(o.flow.from);
    if (from && o.replyAtSender.length) from.replies++;
  }
  return { observations, controls, indexes };
}
