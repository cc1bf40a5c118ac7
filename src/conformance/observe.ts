// From decoded captures to observations: for every flow, where its token was
// seen and with which IP header (innermost, so encapsulation does not hide
// NAT), plus the reply. Pure.
import { innermostIp, inner, outermostIp, type DecodedPacket } from '../decode/layers.js';
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

export function observe(input: ObserveInput): { observations: FlowObservation[]; tokenIndex: Map<string, Map<string, Sighting[]>> } {
  const tokenIndex = new Map(input.captures.map((c) => [c.probe, indexTokens(c)]));
  const byName = new Map(input.probes.map((p) => [p.name, p]));
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
    };
    if (flow.kind === 'pod-external') {
      // An external target need not echo a token: its reply is any packet from target:port back to the sender.
      const cap = input.captures.find((c) => c.probe === flow.from);
      obs.replyAtSender = (cap?.packets ?? []).flatMap((p) => {
        const ip = innermostIp(p);
        const tcp = inner(p, 'tcp');
        if (!ip || !tcp || ip.src !== flow.dstIP || tcp.srcPort !== flow.dstPort || (sent && ip.dst !== sent.src)) return [];
        const s = sighting(flow.from, p);
        return s ? [s] : [];
      }).slice(0, 3);
    }
    return obs;
  });
  return { observations, tokenIndex };
}
