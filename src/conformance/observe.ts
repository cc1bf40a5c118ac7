// From decoded captures to observations: for every flow, where its token was
// seen and with which IP header (innermost, so encapsulation does not hide
// NAT), plus the reply. Pure.
import { innermostIp, inner, outermostIp, type DecodedPacket, type Icmp } from '../decode/layers.js';
import { hostProbe, replyToken, type Flow, type FlowObservation, type Probe, type ProbeInventory, type SentFlow, type Sighting } from './model.js';

export interface CaptureData {
  probe: string;
  packets: DecodedPacket[];
  complete: boolean;
}

function sighting(capture: string, p: DecodedPacket): Sighting | undefined {
  const ip = innermostIp(p);
  if (!ip) return undefined;
  const s: Sighting = { capture, src: ip.src, dst: ip.dst, packet: p.index, encapsulation: p.encapsulation };
  if (ip.kind === 'ipv4') {
    s.length = ip.totalLength;
    s.df = ip.df;
  }
  const tcp = inner(p, 'tcp');
  if (tcp) s.tcpFlags = tcp.flags;
  const out = outermostIp(p);
  if (out && out !== ip) {
    s.outerSrc = out.src;
    s.outerDst = out.dst;
    if (out.kind === 'ipv4' && ip.kind === 'ipv4') s.overhead = out.totalLength - ip.totalLength;
  }
  const sll = inner(p, 'sll');
  if (sll?.ifindex !== undefined) s.ifindex = sll.ifindex;
  return s;
}

/** token → sightings, per capture. */
export function indexTokens(cap: CaptureData): Map<string, Sighting[]> {
  const byToken = new Map<string, Sighting[]>();
  for (const p of cap.packets) {
    if (!p.token) continue;
    const s = sighting(cap.probe, p);
    if (!s) continue;
    const list = byToken.get(p.token);
    if (list) list.push(s);
    else byToken.set(p.token, [s]);
  }
  return byToken;
}

/** Distinct tokens each capture saw: the positive control that makes "not seen" mean something. */
export function tokensPerCapture(index: Map<string, Map<string, Sighting[]>>): Map<string, number> {
  return new Map([...index].map(([probe, m]) => [probe, m.size]));
}

export interface ObserveInput {
  flows: Flow[];
  sent: Map<string, SentFlow>;
  probes: Probe[];
  inventory: Map<string, ProbeInventory>;
  captures: CaptureData[];
}

/** ICMP "fragmentation needed" errors in a capture that quote a datagram src → dst:port. */
function fragNeeded(cap: CaptureData | undefined, src: string, dst: string, port: number): Sighting[] {
  return (cap?.packets ?? []).flatMap((p) => {
    const icmp = p.layers.find((l): l is Icmp => l.kind === 'icmp' && !l.quoted);
    if (!icmp || icmp.type !== 3 || icmp.code !== 4) return [];
    const q = p.layers.find((l) => l.kind === 'ipv4' && l.quoted);
    const qudp = p.layers.find((l) => l.kind === 'udp' && l.quoted);
    if (!q || q.kind !== 'ipv4' || q.src !== src || q.dst !== dst || !qudp || qudp.kind !== 'udp' || qudp.dstPort !== port) return [];
    const s = sighting(cap!.probe, p);
    return s ? [{ ...s, ...(icmp.mtu !== undefined ? { icmpMtu: icmp.mtu } : {}) }] : [];
  });
}

/** ARP requests for `target` in a capture: an on-link destination nothing answered for. */
function arpRequests(cap: CaptureData | undefined, sender: string, target: string): Sighting[] {
  return (cap?.packets ?? []).flatMap((p) => {
    const arp = p.layers.find((l) => l.kind === 'arp');
    return arp && arp.kind === 'arp' && arp.op === 1 && arp.senderIP === sender && arp.targetIP === target
      ? [{ capture: cap!.probe, src: arp.senderIP, dst: arp.targetIP, packet: p.index, encapsulation: [] }] : [];
  });
}

/** The TCP source ports `src` used towards dst:port in a capture. */
function sourcePorts(cap: CaptureData | undefined, src: string, dst: string, port: number): Set<number> {
  const ports = new Set<number>();
  for (const p of cap?.packets ?? []) {
    const ip = innermostIp(p);
    const tcp = inner(p, 'tcp');
    if (ip && tcp && ip.src === src && ip.dst === dst && tcp.dstPort === port) ports.add(tcp.srcPort);
  }
  return ports;
}

/** TCP segments to dst:port whose source (address, port) `keep` accepts, optionally only on one interface. */
function segmentsTo(cap: CaptureData | undefined, dst: string, port: number, keep: (src: string, srcPort: number) => boolean, ifindex?: number): Sighting[] {
  return (cap?.packets ?? []).flatMap((p) => {
    const ip = innermostIp(p);
    const tcp = inner(p, 'tcp');
    if (!ip || !tcp || ip.dst !== dst || tcp.dstPort !== port || !keep(ip.src, tcp.srcPort)) return [];
    const s = sighting(cap!.probe, p);
    return s && (ifindex === undefined || s.ifindex === ifindex) ? [s] : [];
  });
}

export function observe(input: ObserveInput): { observations: FlowObservation[]; tokenIndex: Map<string, Map<string, Sighting[]>> } {
  const tokenIndex = new Map(input.captures.map((c) => [c.probe, indexTokens(c)]));
  const byName = new Map(input.probes.map((p) => [p.name, p]));
  const capOf = new Map(input.captures.map((c) => [c.probe, c]));
  const seen = (probe: string | undefined, token: string) => (probe ? tokenIndex.get(probe)?.get(token) ?? [] : []);

  const observations = input.flows.map((flow): FlowObservation => {
    const sender = byName.get(flow.from)!;
    const host = hostProbe(input.probes, sender.node);
    const uplinkIf = host ? input.inventory.get(host.name)?.uplinkIfindex : undefined;
    const sent = input.sent.get(flow.id);
    const obs: FlowObservation = {
      flow,
      ...(sent ? { sent } : {}),
      atReceiver: seen(flow.to, flow.token),
      atSender: seen(flow.from, flow.token),
      atUplink: seen(host?.name, flow.token).filter((s) => uplinkIf === undefined || s.ifindex === uplinkIf),
      replyAtSender: flow.to ? seen(flow.from, replyToken(flow.token, flow.to)) : [],
      answerAtSender: sent?.reply.startsWith(`${flow.token}.from.`) ? seen(flow.from, sent.reply) : [],
      fragNeededAtSender: flow.kind === 'pod-pod-mtu' && sent ? fragNeeded(capOf.get(flow.from), sent.src, flow.dstIP, flow.dstPort) : [],
      handshakeAtUplink: [],
      handshakeAtSender: [],
      arpAtSender: [],
    };
    if (obs.atSender.length === 0 && sent && flow.proto === 'tcp') {
      // The data never left: the connection attempt (SYN and retries) as the sender's capture saw it.
      obs.handshakeAtSender = segmentsTo(capOf.get(flow.from), flow.dstIP, flow.dstPort, (src) => src === sent.src).slice(0, 3);
    }
    if (obs.atSender.length === 0 && obs.handshakeAtSender.length === 0 && sent) obs.arpAtSender = arpRequests(capOf.get(flow.from), sent.src, flow.dstIP).slice(0, 3);
    if (flow.kind === 'pod-external') {
      // An external target need not echo a token: its reply is any packet from target:port back to the sender.
      obs.replyAtSender = (capOf.get(flow.from)?.packets ?? []).flatMap((p) => {
        const ip = innermostIp(p);
        const tcp = inner(p, 'tcp');
        if (!ip || !tcp || ip.src !== flow.dstIP || tcp.srcPort !== flow.dstPort || (sent && ip.dst !== sent.src)) return [];
        const s = sighting(flow.from, p);
        return s ? [s] : [];
      }).slice(0, 3);
    }
    // Only the uplink checks (NM-4.1 egress, NM-4.2 cross-node) read it.
    if (obs.atUplink.length === 0 && sent && host && flow.proto === 'tcp' && (flow.kind === 'pod-external' || flow.kind === 'pod-pod-cross')) {
      // No token got out (the connection failed): its SYNs on the uplink, matched by the source port the sender used.
      const ports = sourcePorts(capOf.get(flow.from), sent.src, flow.dstIP, flow.dstPort);
      obs.handshakeAtUplink = segmentsTo(capOf.get(host.name), flow.dstIP, flow.dstPort, (_, srcPort) => ports.has(srcPort), uplinkIf).slice(0, 3);
    }
    return obs;
  });
  return { observations, tokenIndex };
}
