// The building blocks of flow verdicts shared by the checks: who a flow is
// between, what "not seen" can prove at a capture, what the packets say of a
// flow that did not arrive (where it stopped, which direction broke), and how
// flow verdicts add up to a check's result. Pure.
import { combine, decisiveOf, type DecisivePacket, type Probe, type FlowKind, type FlowObservation, type FlowVerdict, type Sighting, type Verdict } from './model.js';
import type { Observations } from './observations.js';
import { icmpShortName } from '../decode/icmp.js';

const probeIndexes = new WeakMap<readonly Probe[], { byName: Map<string, Probe>; hostOf: Map<string, Probe> }>();

/**
 * The probes by name, and each node's host probe (the first of each, as a
 * search would find), built once per probe list: a search per flow costs
 * flows × probes, 150 million steps at 1,000 nodes.
 */
export function probeIndex(probes: readonly Probe[]): { byName: Map<string, Probe>; hostOf: Map<string, Probe> } {
  let idx = probeIndexes.get(probes);
  if (!idx) {
    idx = { byName: new Map(), hostOf: new Map() };
    for (const p of probes) {
      if (!idx.byName.has(p.name)) idx.byName.set(p.name, p);
      if (p.role === 'host' && !idx.hostOf.has(p.node)) idx.hostOf.set(p.node, p);
    }
    probeIndexes.set(probes, idx);
  }
  return idx;
}

const probeNamed = (o: Observations, name: string | undefined) => (name === undefined ? undefined : probeIndex(o.probes).byName.get(name));
export const ipOf = (o: Observations, name: string | undefined) => probeNamed(o, name)?.ip ?? '?';
export const nodeOfProbe = (o: Observations, name: string | undefined) => probeNamed(o, name)?.node ?? '?';
/** The host probe of a node, by the index. */
export const hostOf = (o: Observations, node: string) => probeIndex(o.probes).hostOf.get(node);

export function byKind(o: Observations, ...kinds: FlowKind[]): FlowObservation[] {
  return o.flows.filter((f) => kinds.includes(f.flow.kind));
}

export function flowBase(f: FlowObservation, o: Observations) {
  return {
    flow: f.flow.id, kind: f.flow.kind, proto: f.flow.proto,
    from: `${f.flow.from} (${ipOf(o, f.flow.from)})`, to: `${f.flow.to ?? 'external'} (${f.flow.dstIP.includes(':') ? `[${f.flow.dstIP}]` : f.flow.dstIP}:${f.flow.dstPort})`,
    ...(f.sent?.retried ? { retried: true } : {}),
  };
}

/** Addresses that belong to a node: what its host probe saw on its interfaces, and what the API says. */
export function nodeAddresses(o: Observations, node: string): Set<string> {
  const host = hostOf(o, node);
  const inv = host ? o.inventory.get(host.name)?.addresses ?? [] : [];
  const api = o.nodes.find((n) => n.name === node)?.addresses ?? [];
  return new Set([...inv, ...api]);
}

/**
 * Why a packet's absence at `probe`'s capture proves nothing, or undefined
 * when it does: the capture must be complete (no kernel drops) and must have
 * seen packets of the same direction for other flows (its positive control).
 */
export function absenceUnproven(o: Observations, probe: string | undefined, direction: 'received' | 'replies'): string | undefined {
  const c = probe ? o.controls.get(probe) : undefined;
  if (!c) return `there is no capture from ${probe ?? 'the receiver'}`;
  if (!c.complete) return `the capture at ${probe} is incomplete (kernel drops or its size cap): absence there proves nothing`;
  if (c[direction] === 0) {
    return direction === 'received' ? `the capture at ${probe} saw none of the traffic sent to it (no control)` : `the capture at ${probe} saw no reply to any of its flows (no control)`;
  }
  return undefined;
}

/** `ICMP host unreachable from 172.18.0.1 (packet #12 at pw-pod-node-1-a)`; ICMPv6 by its own names. */
export function icmpText(s: Sighting): string {
  const v6 = s.src.includes(':');
  const name = icmpShortName(v6, s.icmpType ?? -1, s.icmpCode ?? -1);
  const mtu = s.icmpMtu !== undefined && (v6 ? s.icmpType === 2 : s.icmpType === 3 && s.icmpCode === 4) ? ` (next-hop MTU ${s.icmpMtu})` : '';
  return `ICMP ${name}${mtu} from ${s.src} (packet #${s.packet} at ${s.capture})`;
}

/** For a flow that never arrived: the packet as sent (sender's capture), or the connection attempt when no data left. */
function sentPacket(f: FlowObservation): { p: Sighting; what: string } | undefined {
  if (f.atSender[0]) return { p: f.atSender[0], what: 'sent as' };
  if (f.handshakeAtSender[0]) return { p: f.handshakeAtSender[0], what: `no connection: its SYN (${f.handshakeAtSender[0].tcpFlags ?? ''}) left as` };
  if (f.arpAtSender[0]) return { p: f.arpAtSender[0], what: 'nothing left: only an unanswered ARP who-has,' };
  return undefined;
}

/**
 * A TCP flow whose SYN reached the receiver, which answered with a SYN-ACK
 * that never reached the sender: the forward path works and the return path
 * from the receiver's node is what broke.
 */
export function brokenReturnPath(o: Observations, f: FlowObservation): { text: string; decisive: DecisivePacket } | undefined {
  const syn = f.synAtReceiver[0];
  const synAck = f.synAckAtReceiver[0];
  if (!syn || !synAck || f.synAckAtSender.length > 0) return undefined;
  if (absenceUnproven(o, f.flow.from, 'replies')) return undefined;
  const from = nodeOfProbe(o, f.flow.from);
  const to = nodeOfProbe(o, f.flow.to);
  return {
    text: `its SYN reached ${f.flow.to} (${syn.src} > ${syn.dst}, packet #${syn.packet} at ${syn.capture}) and the SYN-ACK left it (${synAck.src} > ${synAck.dst}, packet #${synAck.packet}), but never reached ${f.flow.from}: the return path from ${to} to ${from} is broken`,
    decisive: decisiveOf(synAck, `SYN-ACK sent by ${f.flow.to}, never received by ${f.flow.from}: return path ${to} -> ${from} broken`),
  };
}

/**
 * What a verdict on a flow that never arrived says of the sender's side, and
 * its decisive packet. `positive` when those packets prove the failure on
 * their own, whatever the receiver's capture can prove: an error came back
 * (ICMP unreachable), the return path dropped the SYN-ACK, or nothing left
 * because nothing answered ARP for the destination.
 */
export function notReceived(o: Observations, f: FlowObservation): { text: string; decisive?: DecisivePacket; positive: boolean } {
  const icmp = f.icmpAtSender.length ? `; ${f.icmpAtSender.map(icmpText).join('; ')}` : '';
  const err = f.sent?.errno ? ` (sender: ${f.sent.error ?? `errno ${f.sent.errno}`})` : '';
  const back = brokenReturnPath(o, f);
  if (back) return { text: `${err}; ${back.text}${icmp}`, decisive: back.decisive, positive: true };
  const unreachable = f.icmpAtSender.find((s) => s.icmpType === 3 || s.icmpType === 1);
  const s = sentPacket(f);
  if (!s) {
    return unreachable
      ? { text: `${err}${icmp}`, decisive: decisiveOf(unreachable, 'ICMP error for the flow'), positive: true }
      : { text: `${err}; nothing of it in the sender's capture${icmp}`, positive: false };
  }
  const arpOnly = s.p === f.arpAtSender[0] && o.controls.get(f.flow.from)?.complete === true;
  return {
    text: `${err}; ${s.what} ${s.p.src} > ${s.p.dst}, packet #${s.p.packet} at ${s.p.capture}${icmp}`,
    decisive: decisiveOf(s.p, `${s.what.replace(/ as$/, '')}; never received at ${f.flow.to ?? f.flow.dstIP}`),
    positive: !!unreachable || arpOnly,
  };
}

/** A flow not seen at its receiver: failed when that capture can prove the absence or the sender's packets prove the failure, else inconclusive. */
export function undelivered(o: Observations, f: FlowObservation, base: Omit<FlowVerdict, 'verdict' | 'observed'>): FlowVerdict {
  const unproven = absenceUnproven(o, f.flow.to, 'received');
  const gone = notReceived(o, f);
  if (unproven && !gone.positive) return { ...base, verdict: 'inconclusive', observed: `not seen at ${f.flow.to}, but ${unproven}${gone.text}` };
  return {
    ...base, verdict: 'failed', observed: `not seen at ${f.flow.to}${gone.text}`,
    ...(gone.decisive ? { decisive: gone.decisive } : {}),
  };
}

/** The forward packet at the receiver: delivered, with the expected source and destination, in a capture that can prove absence. */
export function judgeDelivery(o: Observations, f: FlowObservation, expectSrc: string, expectDst: string, extra?: (v: FlowVerdict) => FlowVerdict): FlowVerdict {
  // Both ends' captures: as sent at the sender, as received at the receiver.
  const base = { ...flowBase(f, o), expected: `${expectSrc} > ${expectDst}`, captures: [f.flow.to ?? '', f.flow.from] };
  if (!f.sent) return { ...base, verdict: 'inconclusive', observed: 'the sender did not report this flow' };
  const bad = f.atReceiver.find((s) => s.src !== expectSrc || s.dst !== expectDst);
  if (bad) return { ...base, verdict: 'failed', observed: `${bad.src} > ${bad.dst} at ${bad.capture} (packet #${bad.packet})`, decisive: decisiveOf(bad, 'as received') };
  const s = f.atReceiver[0];
  if (!s) return undelivered(o, f, base);
  const v: FlowVerdict = { ...base, verdict: 'passed', observed: `${s.src} > ${s.dst} at ${s.capture}`, decisive: decisiveOf(s, 'as received') };
  return extra ? extra(v) : v;
}

export interface CheckOutcome {
  result: Verdict;
  reason: string;
  flows: FlowVerdict[];
}

/** Why a check has no flows to judge: too few nodes, or nodes the run could not probe. */
export function nothingToJudge(o: Observations, what: string, crossNode: boolean): string {
  const covered = o.coverage.filter((c) => c.covered).length;
  const missing = o.coverage.length - covered;
  if (covered === 0) return `no ${what} flows: no node could be probed`;
  if (crossNode && covered < 2) return `no ${what} flows: ${covered === o.coverage.length ? 'the cluster has one node' : `only one of ${o.coverage.length} nodes could be probed`}`;
  return `no ${what} flows were planned${missing ? ` (${missing} node(s) not covered)` : ''}`;
}

export function outcome(flows: FlowVerdict[], what: string, none: string): CheckOutcome {
  const r = combine(flows);
  const failed = flows.filter((f) => f.verdict === 'failed');
  const inconclusive = flows.filter((f) => f.verdict === 'inconclusive');
  const reason =
    r === 'passed' ? `${flows.filter((f) => f.verdict === 'passed').length} ${what} flow(s) passed`
      : r === 'failed' ? `${failed.length} of ${flows.length} ${what} flow(s) failed: ${failed.slice(0, 3).map((f) => `${f.from} -> ${f.to}: expected ${f.expected}, saw ${f.observed}`).join('; ')}${failed.length > 3 ? '; …' : ''}`
        : r === 'inconclusive' ? `${inconclusive.length} ${what} flow(s) could not be decided: ${inconclusive[0]!.observed}`
          : none;
  return { result: r, reason, flows };
}
