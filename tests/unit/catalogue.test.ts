// Verdicts are pure functions of observations: the judges' branches that the
// recorded bundles do not reach, on hand-made observations of a clean
// 2-node run (every flow seen as sent, replies back, egress SNATed).
import { describe, expect, test } from 'vitest';
import { CHECK_IDS, CHECKS, PROFILE_CHOICES, selectChecks } from '../../src/conformance/catalogue.js';
import { planFlows } from '../../src/conformance/flows.js';
import { combine, type FlowObservation, type FlowVerdict, type Probe, type Sighting } from '../../src/conformance/model.js';
import type { Observations } from '../../src/conformance/observations.js';
import { parseRunOptions } from '../../src/conformance/options.js';
import { absenceUnproven, icmpText, nothingToJudge, outcome } from '../../src/conformance/verdicts.js';
import { UsageError } from '../../src/errors.js';

const probes: Probe[] = [
  { name: 'pw-pod-n1-a', node: 'n1', role: 'pod', ip: '10.244.1.2', port: 7000 },
  { name: 'pw-pod-n1-b', node: 'n1', role: 'pod', ip: '10.244.1.3', port: 7000 },
  { name: 'pw-host-n1', node: 'n1', role: 'host', ip: '172.18.0.11', port: 7000 },
  { name: 'pw-pod-n2-a', node: 'n2', role: 'pod', ip: '10.244.2.2', port: 7000 },
  { name: 'pw-pod-n2-b', node: 'n2', role: 'pod', ip: '10.244.2.3', port: 7000 },
  { name: 'pw-host-n2', node: 'n2', role: 'host', ip: '172.18.0.12', port: 7000 },
];
const nodeIPs = new Map([['n1', '172.18.0.11'], ['n2', '172.18.0.12']]);
const EXTERNAL = { ip: '198.51.100.10', port: 80 };
const flows = planFlows('r1', probes, nodeIPs, EXTERNAL);
const at = (capture: string, src: string, dst: string, extra: Partial<Sighting> = {}): Sighting => ({ capture, src, dst, packet: 0, encapsulation: [], ...extra });
const ipOf = (name?: string) => probes.find((p) => p.name === name)?.ip ?? '';
const nodeOf = (name: string) => probes.find((p) => p.name === name)!.node;

/** A clean run: every flow seen exactly as sent, replies back, egress SNATed on the node. */
function cleanObservations(): Observations {
  const obs: FlowObservation[] = flows.map((flow, i) => {
    const src = ipOf(flow.from);
    const node = nodeOf(flow.from);
    const host = `pw-host-${node}`;
    const mtu = flow.kind === 'pod-pod-mtu';
    return {
      flow,
      sent: { id: flow.id, src, sports: [40000 + i], errno: 0, reply: `${flow.token}.from.${flow.to ?? 'internet'}`, ...(mtu ? { size: 1450 } : {}) },
      atReceiver: flow.to ? [at(flow.to, src, flow.dstIP, mtu ? { length: 1450, df: true, fragment: false } : {})] : [],
      atSender: [at(flow.from, src, flow.dstIP, mtu ? { length: 1450, df: true } : {})],
      atUplink: flow.kind === 'pod-external' ? [at(host, nodeIPs.get(node)!, flow.dstIP)] : flow.kind === 'pod-pod-cross' ? [at(host, src, flow.dstIP)] : [],
      replyAtSender: [at(flow.from, flow.dstIP, src)],
      answerAtSender: [at(flow.from, flow.dstIP, src)],
      icmpAtSender: [],
      handshakeAtUplink: [],
      handshakeAtSender: [],
      synAtReceiver: [],
      synAckAtReceiver: [],
      synAckAtSender: [],
      arpAtSender: [],
    };
  });
  return {
    probes,
    inventory: new Map(probes.map((p) => [p.name, { addresses: p.role === 'host' ? [p.ip, p.node === 'n1' ? '10.244.1.1' : '10.244.2.1'] : [p.ip], routes: '', addrText: '' }])),
    flows: obs,
    controls: new Map(probes.map((p) => [p.name, { complete: true, received: 5, replies: 5 }])),
    nodes: [{ name: 'n1', addresses: ['172.18.0.11'], podCIDRs: ['10.244.1.0/24'] }, { name: 'n2', addresses: ['172.18.0.12'], podCIDRs: ['10.244.2.0/24'] }],
    pods: probes.filter((p) => p.role === 'pod').map((p) => ({ namespace: 'x', name: p.name, hostNetwork: false, podIPs: [p.ip], node: p.node, phase: 'Running' })),
    external: EXTERNAL,
    egressSnat: 'node',
    coverage: [{ node: 'n1', covered: true }, { node: 'n2', covered: true }],
  };
}

const judge = (id: string, o: Observations) => CHECKS.find((c) => c.id === id)!.judge(o);
const find = (o: Observations, kind: string, proto?: string, from = 'pw-pod-n1-a') => o.flows.find((x) => x.flow.kind === kind && (!proto || x.flow.proto === proto) && x.flow.from === from)!;
const verdictOf = (id: string, o: Observations, f: FlowObservation) => judge(id, o).flows.find((x) => x.flow === f.flow.id)!;

describe('on a clean run', () => {
  test.each(CHECKS.map((c) => c.id))('%s passes', (id) => {
    const r = judge(id, cleanObservations());
    expect(r.result, r.reason).toBe('passed');
    expect(r.flows.every((f) => f.verdict === 'passed')).toBe(true);
  });
});

describe('with nothing to judge', () => {
  test.each([
    ['NM-1.1', 'no same-node pod flows were planned'],
    ['NM-1.2', 'no cross-node pod flows: the cluster has one node'],
    ['NM-1.3', 'no pod-to-pod flows were planned'],
    ['NM-2.1', 'no node-to-local-pod flows were planned'],
    ['NM-2.2', 'no node-to-remote-pod flows: the cluster has one node'],
    ['NM-2.3', 'no pod-to-node flows were planned'],
    ['NM-2.4', 'no pod-to-node flows were planned'],
    ['NM-3.3', 'no identity flows were planned'],
    ['NM-4.1', 'no egress flows were planned'],
    ['NM-4.2', 'no cross-node pod flows: the cluster has one node'],
    ['NM-5.1', 'no full-size flows: the cluster has one node'],
  ])('%s on one node with no flows of its kind is skipped: "%s" (only cross-node checks blame the cluster\'s size)', (id, reason) => {
    const o = cleanObservations();
    o.coverage = [{ node: 'n1', covered: true }];
    o.flows = [];
    o.probes = o.probes.filter((p) => p.role === 'host');
    expect(judge(id, o)).toEqual({ result: 'skipped', reason, flows: [] });
  });
});

describe('the catalogue', () => {
  test('every check states its rule as a sentence of its own', () => {
    for (const c of CHECKS) {
      expect(c.rule, c.id).toMatch(/^[A-Z].{40,}\.$/);
      expect(c.title.length, c.id).toBeGreaterThan(10);
    }
    expect(new Set(CHECKS.map((c) => c.rule)).size).toBe(CHECKS.length);
  });
});

describe('delivery (NM-1.x, NM-2.x)', () => {
  test('NM-1.2: a SNATed source fails the flow and names expected and seen addresses', () => {
    const o = cleanObservations();
    const f = find(o, 'pod-pod-cross', 'tcp');
    f.atReceiver = [at(f.flow.to!, '172.18.0.11', f.flow.dstIP, { packet: 7 })];
    const r = judge('NM-1.2', o);
    expect(r.result).toBe('failed');
    const bad = r.flows.filter((x) => x.verdict === 'failed');
    expect(bad).toHaveLength(1);
    expect(bad[0]).toMatchObject({ expected: '10.244.1.2 > 10.244.2.2', observed: '172.18.0.11 > 10.244.2.2 at pw-pod-n2-a (packet #7)', decisive: { packet: 7, role: 'as received' } });
    expect(bad[0]!.captures).toEqual(['pw-pod-n2-a', 'pw-pod-n1-a']);
    expect(r.reason).toBe(`1 of 4 cross-node pod flow(s) failed: pw-pod-n1-a (10.244.1.2) -> pw-pod-n2-a (10.244.2.2:7000): expected 10.244.1.2 > 10.244.2.2, saw 172.18.0.11 > 10.244.2.2 at pw-pod-n2-a (packet #7)`);
  });

  test('a rewritten destination fails too, whichever of several copies shows it', () => {
    const o = cleanObservations();
    const f = find(o, 'pod-pod-same', 'udp');
    f.atReceiver = [f.atReceiver[0]!, at(f.flow.to!, f.atReceiver[0]!.src, '10.96.0.10', { packet: 3 })];
    expect(verdictOf('NM-1.1', o, f)).toMatchObject({ verdict: 'failed', observed: '10.244.1.2 > 10.96.0.10 at pw-pod-n1-b (packet #3)' });
  });

  test.each([
    ['its capture saw its control', { complete: true, received: 1, replies: 0 }, 'failed', 'not seen at pw-pod-n1-b; sent as 10.244.1.2 > 10.244.1.3, packet #0 at pw-pod-n1-a'],
    ['its capture saw none of the traffic sent to it', { complete: true, received: 0, replies: 9 }, 'inconclusive', 'not seen at pw-pod-n1-b, but the capture at pw-pod-n1-b saw none of the traffic sent to it (no control); sent as 10.244.1.2 > 10.244.1.3, packet #0 at pw-pod-n1-a'],
    ['its capture is incomplete', { complete: false, received: 9, replies: 9 }, 'inconclusive', 'not seen at pw-pod-n1-b, but the capture at pw-pod-n1-b is incomplete (kernel drops or its size cap): absence there proves nothing; sent as 10.244.1.2 > 10.244.1.3, packet #0 at pw-pod-n1-a'],
    ['there is no capture from it', undefined, 'inconclusive', 'not seen at pw-pod-n1-b, but there is no capture from pw-pod-n1-b; sent as 10.244.1.2 > 10.244.1.3, packet #0 at pw-pod-n1-a'],
  ] as const)('a packet not seen at the receiver, when %s, is %s', (_, control, verdict, observed) => {
    const o = cleanObservations();
    const f = find(o, 'pod-pod-same', 'udp');
    f.atReceiver = [];
    if (control) o.controls.set(f.flow.to!, { ...control });
    else o.controls.delete(f.flow.to!);
    expect(verdictOf('NM-1.1', o, f)).toMatchObject({ verdict, observed });
    expect(judge('NM-1.1', o).result).toBe(verdict);
  });

  test('a flow that never arrived names the packet as sent, the SYN, or the unanswered ARP as decisive', () => {
    const o = cleanObservations();
    const f = find(o, 'pod-pod-cross', 'tcp');
    f.atReceiver = [];
    f.atSender = [at(f.flow.from, '10.244.1.2', f.flow.dstIP, { packet: 3 })];
    const v = () => verdictOf('NM-1.2', o, f);
    expect(v()).toMatchObject({ verdict: 'failed', decisive: { capture: f.flow.from, packet: 3, src: '10.244.1.2', dst: '10.244.2.2', role: 'sent; never received at pw-pod-n2-a' } });
    f.atSender = [];
    f.handshakeAtSender = [at(f.flow.from, '10.244.1.2', f.flow.dstIP, { packet: 1, tcpFlags: 'S' })];
    expect(v()).toMatchObject({
      observed: 'not seen at pw-pod-n2-a; no connection: its SYN (S) left as 10.244.1.2 > 10.244.2.2, packet #1 at pw-pod-n1-a',
      decisive: { packet: 1, role: 'no connection: its SYN (S) left; never received at pw-pod-n2-a' },
    });
    f.handshakeAtSender = [at(f.flow.from, '10.244.1.2', f.flow.dstIP, { packet: 1 })];
    expect(v().observed).toContain('its SYN () left as');
    f.handshakeAtSender = [];
    f.arpAtSender = [at(f.flow.from, '10.244.1.2', f.flow.dstIP, { packet: 0 })];
    f.sent!.errno = 113;
    f.sent!.error = 'EHOSTUNREACH';
    expect(v()).toMatchObject({
      verdict: 'failed', observed: 'not seen at pw-pod-n2-a (sender: EHOSTUNREACH); nothing left: only an unanswered ARP who-has, 10.244.1.2 > 10.244.2.2, packet #0 at pw-pod-n1-a',
    });
    delete f.sent!.error;
    expect(v().observed).toBe('not seen at pw-pod-n2-a (sender: errno 113); nothing left: only an unanswered ARP who-has, 10.244.1.2 > 10.244.2.2, packet #0 at pw-pod-n1-a');
    f.arpAtSender = [];
    expect(v()).toMatchObject({ verdict: 'failed', observed: "not seen at pw-pod-n2-a (sender: errno 113); nothing of it in the sender's capture" });
    expect(v().decisive).toBeUndefined();
  });

  test.each([
    ['an unanswered ARP, sender capture complete', { arp: true, senderComplete: true }, 'failed'],
    ['an unanswered ARP, sender capture incomplete', { arp: true, senderComplete: false }, 'inconclusive'],
    ['an ICMP host unreachable', { icmp: [3, 1] }, 'failed'],
    ['an ICMP parameter problem (not an unreachable)', { icmp: [12, 0] }, 'inconclusive'],
    ['an ICMPv6 destination unreachable', { icmp: [1, 3] }, 'failed'],
    ['only the packet as sent', {}, 'inconclusive'],
  ] as const)('at a receiver that cannot prove absence, %s at the sender makes the flow %s', (_, e, verdict) => {
    const o = cleanObservations();
    const f = find(o, 'pod-pod-cross', 'udp');
    f.atReceiver = [];
    o.controls.set(f.flow.to!, { complete: false, received: 3, replies: 3 });
    if ('arp' in e) {
      f.atSender = [];
      f.arpAtSender = [at(f.flow.from, '10.244.1.2', f.flow.dstIP)];
      o.controls.set(f.flow.from, { complete: e.senderComplete, received: 3, replies: 3 });
    }
    if ('icmp' in e) f.icmpAtSender = [at(f.flow.from, '172.18.0.1', '10.244.1.2', { icmpType: e.icmp[0], icmpCode: e.icmp[1], packet: 4 })];
    expect(verdictOf('NM-1.2', o, f).verdict).toBe(verdict);
  });

  test('an ICMP error alone, nothing of the flow in the sender\'s capture, fails it with the ICMP packet as decisive', () => {
    const o = cleanObservations();
    const f = find(o, 'pod-pod-cross', 'udp');
    f.atReceiver = [];
    f.atSender = [];
    f.icmpAtSender = [at(f.flow.from, '172.18.0.1', '10.244.1.2', { icmpType: 3, icmpCode: 0, packet: 6 })];
    o.controls.set(f.flow.to!, { complete: false, received: 0, replies: 0 });
    expect(verdictOf('NM-1.2', o, f)).toMatchObject({
      verdict: 'failed', observed: 'not seen at pw-pod-n2-a; ICMP network unreachable from 172.18.0.1 (packet #6 at pw-pod-n1-a)',
      decisive: { capture: 'pw-pod-n1-a', packet: 6, src: '172.18.0.1', role: 'ICMP error for the flow' },
    });
    // A time-exceeded is named but is not an unreachable: nothing proves the loss then.
    f.icmpAtSender = [at(f.flow.from, '172.18.0.1', '10.244.1.2', { icmpType: 11, icmpCode: 0, packet: 6 })];
    expect(verdictOf('NM-1.2', o, f)).toMatchObject({
      verdict: 'inconclusive',
      observed: "not seen at pw-pod-n2-a, but the capture at pw-pod-n2-a is incomplete (kernel drops or its size cap): absence there proves nothing; nothing of it in the sender's capture; ICMP TTL exceeded in transit from 172.18.0.1 (packet #6 at pw-pod-n1-a)",
    });
  });

  test('the broken return path: SYN received, SYN-ACK sent, not at the sender, whose capture sees replies', () => {
    const o = cleanObservations();
    const f = find(o, 'pod-pod-cross', 'tcp');
    f.atReceiver = [];
    f.atSender = [];
    f.handshakeAtSender = [at(f.flow.from, '10.244.1.2', f.flow.dstIP, { tcpFlags: 'S' })];
    f.synAtReceiver = [at(f.flow.to!, '10.244.1.2', f.flow.dstIP, { packet: 2, tcpFlags: 'S' })];
    f.synAckAtReceiver = [at(f.flow.to!, f.flow.dstIP, '10.244.1.2', { packet: 3, tcpFlags: 'SA' })];
    f.sent!.errno = 110;
    f.sent!.error = 'ETIMEDOUT';
    const v = () => verdictOf('NM-1.2', o, f);
    expect(v()).toMatchObject({
      verdict: 'failed',
      observed: 'not seen at pw-pod-n2-a (sender: ETIMEDOUT); its SYN reached pw-pod-n2-a (10.244.1.2 > 10.244.2.2, packet #2 at pw-pod-n2-a) and the SYN-ACK left it (10.244.2.2 > 10.244.1.2, packet #3), but never reached pw-pod-n1-a: the return path from n2 to n1 is broken',
      decisive: { capture: 'pw-pod-n2-a', packet: 3, src: '10.244.2.2', dst: '10.244.1.2', role: 'SYN-ACK sent by pw-pod-n2-a, never received by pw-pod-n1-a: return path n2 -> n1 broken' },
    });
    // Proven on its own, even where the receiver's capture could not prove the data's absence.
    o.controls.set(f.flow.to!, { complete: false, received: 0, replies: 0 });
    expect(v().verdict).toBe('failed');
    // The SYN-ACK did arrive: not the return path.
    f.synAckAtSender = [at(f.flow.from, f.flow.dstIP, '10.244.1.2', { tcpFlags: 'SA' })];
    expect(v()).toMatchObject({ verdict: 'inconclusive' });
    expect(v().observed).not.toContain('return path');
    // No SYN-ACK left the receiver, or no SYN arrived: not the return path either.
    f.synAckAtSender = [];
    o.controls.set(f.flow.to!, { complete: true, received: 1, replies: 1 });
    for (const edit of [() => { f.synAckAtReceiver = []; }, () => { f.synAtReceiver = []; f.synAckAtReceiver = [at(f.flow.to!, f.flow.dstIP, '10.244.1.2', { tcpFlags: 'SA' })]; }]) {
      edit();
      expect(v().observed).not.toContain('return path');
      expect(v().decisive!.role).toBe('no connection: its SYN (S) left; never received at pw-pod-n2-a');
    }
  });

  test('NM-2.1: a source that is not an address of the node fails, even when unchanged on the wire', () => {
    const o = cleanObservations();
    const f = find(o, 'host-pod-same', 'tcp', 'pw-host-n1');
    f.sent!.src = '192.0.2.9';
    f.atReceiver = [at(f.flow.to!, '192.0.2.9', f.flow.dstIP)];
    const r = judge('NM-2.1', o);
    expect(r.result).toBe('failed');
    expect(r.reason).toContain('the source as sent, 192.0.2.9, is not an address of n1');
  });

  test('a node\'s addresses are its host probe\'s interfaces and its own API addresses (not another node\'s)', () => {
    const o = cleanObservations();
    o.inventory.delete('pw-host-n2');
    const f = find(o, 'host-pod-cross', 'tcp', 'pw-host-n2');
    expect(f.sent!.src).toBe('172.18.0.12');
    expect(verdictOf('NM-2.2', o, f).verdict).toBe('passed'); // n2's InternalIP in the API
    o.nodes[1]!.addresses = [];
    expect(verdictOf('NM-2.2', o, f)).toMatchObject({ verdict: 'failed', observed: '172.18.0.12 > 10.244.1.2 at pw-pod-n1-a; the source as sent, 172.18.0.12, is not an address of n2' });
  });

  test('NM-2.x: a node agent flow without a sender report is undecided, expected from "?"', () => {
    const o = cleanObservations();
    const f = find(o, 'host-pod-cross', 'tcp', 'pw-host-n1');
    delete f.sent;
    expect(verdictOf('NM-2.2', o, f)).toMatchObject({ verdict: 'inconclusive', expected: '? > 10.244.2.2', observed: 'the sender did not report this flow' });
  });

  test('a flow the sender sent twice says so on its verdict', () => {
    const o = cleanObservations();
    const f = find(o, 'pod-pod-cross', 'udp');
    f.sent!.retried = true;
    expect(verdictOf('NM-1.2', o, f).retried).toBe(true);
    expect(verdictOf('NM-1.2', o, find(o, 'pod-pod-cross', 'tcp'))).not.toHaveProperty('retried');
  });

  test('a flow between probes the run does not know is named with "?"', () => {
    const o = cleanObservations();
    const f = find(o, 'pod-pod-cross', 'udp');
    f.flow = { ...f.flow, from: 'ghost', to: 'phantom' };
    f.atReceiver = [];
    o.controls.set('phantom', { complete: true, received: 1, replies: 1 });
    o.controls.set('ghost', { complete: true, received: 1, replies: 1 });
    expect(verdictOf('NM-1.2', o, f)).toMatchObject({ from: 'ghost (?)', expected: '? > ?' });
    expect(verdictOf('NM-1.3', o, f)).toMatchObject({ expected: '? > 10.244.1.2' });
    const toNode = find(o, 'pod-node', 'tcp');
    toNode.flow = { ...toNode.flow, to: 'phantom' };
    expect(verdictOf('NM-2.4', o, toNode).expected).toBe(`delivered to ? (${toNode.flow.dstIP}) and answered`);
  });
});

describe('NM-1.3 replies', () => {
  test('a reply from another address, or to another address, fails with the reply as decisive', () => {
    const o = cleanObservations();
    const f = find(o, 'pod-pod-cross', 'udp');
    f.replyAtSender = [at(f.flow.from, '172.18.0.12', '10.244.1.2', { packet: 8 })];
    expect(verdictOf('NM-1.3', o, f)).toMatchObject({
      verdict: 'failed', expected: '10.244.2.2 > 10.244.1.2', observed: 'reply 172.18.0.12 > 10.244.1.2 at pw-pod-n1-a (packet #8)',
      decisive: { capture: 'pw-pod-n1-a', packet: 8, role: 'reply as received' },
    });
    f.replyAtSender = [at(f.flow.from, '10.244.2.2', '10.244.1.99', { packet: 8 })];
    expect(verdictOf('NM-1.3', o, f).verdict).toBe('failed');
  });

  test('a delivered flow the sender did not report, with no reply on the wire at a sender capture that sees replies, fails', () => {
    const o = cleanObservations();
    const f = find(o, 'pod-pod-cross', 'udp');
    delete f.sent;
    f.replyAtSender = [];
    expect(verdictOf('NM-1.3', o, f)).toMatchObject({ verdict: 'failed', expected: '10.244.2.2 > 10.244.1.2' });
  });

  test('the reply is expected at the source the sender bound to', () => {
    const o = cleanObservations();
    const f = find(o, 'pod-pod-cross', 'udp');
    f.sent!.src = '10.244.1.200';
    f.replyAtSender = [at(f.flow.from, '10.244.2.2', '10.244.1.200')];
    expect(verdictOf('NM-1.3', o, f)).toMatchObject({ verdict: 'passed', expected: '10.244.2.2 > 10.244.1.200' });
    delete f.sent;
    expect(verdictOf('NM-1.3', o, f)).toMatchObject({ verdict: 'failed', expected: '10.244.2.2 > 10.244.1.2' });
  });

  test.each([
    ['the request was not delivered', (f: FlowObservation) => { f.atReceiver = []; }, 'inconclusive', 'the request was not delivered (see NM-1.1/NM-1.2)'],
    ['the sender got the reply but its capture lacks it', () => {}, 'inconclusive', 'the sender got the reply, but its capture did not show it'],
    ['no reply at all, capture with control', (f: FlowObservation) => { f.sent!.reply = ''; }, 'failed',
      'no reply seen at pw-pod-n1-a although pw-pod-n2-a received the request (10.244.1.2 > 10.244.2.2, packet #0 at pw-pod-n2-a): the return path n2 -> n1 is broken'],
    ['no reply at all, capture without control', (f: FlowObservation, o: Observations) => { f.sent!.reply = ''; o.controls.set(f.flow.from, { complete: true, received: 1, replies: 0 }); }, 'inconclusive',
      'no reply seen at pw-pod-n1-a, but the capture at pw-pod-n1-a saw no reply to any of its flows (no control)'],
    ['the answer came from another probe', (f: FlowObservation) => { f.sent!.reply = `${f.flow.token}.from.pw-pod-n2-b`; }, 'failed', expect.stringContaining('the return path n2 -> n1 is broken')],
  ] as const)('no reply seen, when %s: %s', (_, edit, verdict, observed) => {
    const o = cleanObservations();
    const f = find(o, 'pod-pod-cross', 'udp');
    f.replyAtSender = [];
    edit(f, o);
    const v = verdictOf('NM-1.3', o, f);
    expect(v).toMatchObject({ verdict, observed });
    if (verdict === 'failed') {
      expect(v.captures).toEqual(['pw-pod-n1-a', 'pw-pod-n2-a']);
      expect(v.decisive).toMatchObject({ capture: 'pw-pod-n2-a', role: 'request as received; no reply reached the sender (return path n2 -> n1)' });
    } else expect(v.captures).toEqual(['pw-pod-n1-a']);
  });
});

describe('NM-2.4 pods reach every node', () => {
  const toNode = (o: Observations) => o.flows.find((x) => x.flow.kind === 'pod-node' && x.flow.from === 'pw-pod-n1-a' && x.flow.to === 'pw-host-n2')!;

  test('delivered from the pod IP and answered: passed without a note', () => {
    const o = cleanObservations();
    expect(verdictOf('NM-2.4', o, toNode(o))).toEqual({
      flow: toNode(o).flow.id, kind: 'pod-node', proto: 'tcp', from: 'pw-pod-n1-a (10.244.1.2)', to: 'pw-host-n2 (172.18.0.12:7000)', verdict: 'passed',
      expected: 'delivered to n2 (172.18.0.12) and answered', observed: '10.244.1.2 > 172.18.0.12 at pw-host-n2; the reply came back', captures: ['pw-host-n2', 'pw-pod-n1-a'],
      decisive: { capture: 'pw-host-n2', packet: 0, src: '10.244.1.2', dst: '172.18.0.12', role: 'as received' },
    });
  });

  test.each([
    ['a reply on the wire, though the sender says it got none', (f: FlowObservation) => { f.sent!.reply = ''; }, 'inconclusive',
      'delivered (10.244.1.2 > 172.18.0.12), but the sender got no reply though its capture shows one'],
    ['no reply, and the sender capture saw no replies at all', (f: FlowObservation, o: Observations) => { f.sent!.reply = ''; f.replyAtSender = []; o.controls.set(f.flow.from, { complete: true, received: 2, replies: 0 }); }, 'inconclusive',
      'delivered (10.244.1.2 > 172.18.0.12), but the sender got no reply, and the capture at pw-pod-n1-a saw no reply to any of its flows (no control)'],
    ['no reply, an answer from someone else', (f: FlowObservation) => { f.sent!.reply = `${f.flow.token}.from.pw-host-n1`; f.replyAtSender = []; f.sent!.error = 'ECONNRESET'; }, 'failed',
      'delivered as 10.244.1.2 > 172.18.0.12 (packet #0 at pw-host-n2), but no reply reached pw-pod-n1-a (ECONNRESET)'],
    ['no reply at all', (f: FlowObservation) => { f.sent!.reply = ''; f.replyAtSender = []; }, 'failed',
      'delivered as 10.244.1.2 > 172.18.0.12 (packet #0 at pw-host-n2), but no reply reached pw-pod-n1-a'],
  ] as const)('delivered but %s: %s', (_, edit, verdict, observed) => {
    const o = cleanObservations();
    const f = toNode(o);
    edit(f, o);
    const v = verdictOf('NM-2.4', o, f);
    expect(v).toMatchObject({ verdict, observed });
    if (verdict === 'failed') expect(v.decisive).toMatchObject({ capture: 'pw-host-n2', role: 'request as received; no reply reached the sender (return path n2 -> n1)' });
    else expect(v.decisive).toBeUndefined();
  });

  test('not delivered: judged as any flow that did not arrive; without a sender report: undecided', () => {
    const o = cleanObservations();
    const f = toNode(o);
    f.atReceiver = [];
    expect(verdictOf('NM-2.4', o, f)).toMatchObject({ verdict: 'failed', observed: 'not seen at pw-host-n2; sent as 10.244.1.2 > 172.18.0.12, packet #0 at pw-pod-n1-a' });
    delete f.sent;
    expect(verdictOf('NM-2.4', o, f)).toMatchObject({ verdict: 'inconclusive', observed: 'the sender did not report this flow' });
  });
});

describe('NM-3.3 identity', () => {
  test('answered by another probe fails, naming it and the answer on the wire', () => {
    const o = cleanObservations();
    const f = find(o, 'pod-pod-cross', 'tcp');
    f.sent!.reply = `${f.flow.token}.from.pw-pod-n2-b`;
    f.answerAtSender = [at(f.flow.from, '10.244.2.2', '10.244.1.2', { packet: 12 })];
    const r = judge('NM-3.3', o);
    expect(r.result).toBe('failed');
    expect(r.flows.find((x) => x.flow === f.flow.id)).toMatchObject({
      verdict: 'failed', expected: 'answered by pw-pod-n2-a', captures: ['pw-pod-n1-a'],
      observed: 'answered by pw-pod-n2-b: 10.244.2.2 > 10.244.1.2, packet #12 at pw-pod-n1-a', decisive: { packet: 12, role: 'answer from pw-pod-n2-b' },
    });
    f.answerAtSender = [];
    expect(verdictOf('NM-3.3', o, f)).toMatchObject({ verdict: 'failed', observed: expect.stringMatching(/^answered by pw-pod-n2-b/) });
    expect(verdictOf('NM-3.3', o, f).decisive).toBeUndefined();
  });

  test('answered by the right probe: passed when the reply is on the wire, with the answer as decisive', () => {
    const o = cleanObservations();
    const f = find(o, 'pod-pod-same', 'udp');
    f.answerAtSender = [at(f.flow.from, '10.244.1.3', '10.244.1.2', { packet: 4 })];
    expect(verdictOf('NM-3.3', o, f)).toMatchObject({ verdict: 'passed', observed: 'answered by pw-pod-n1-b (seen on the wire)', decisive: { packet: 4, role: 'answer from pw-pod-n1-b' } });
  });

  test.each([
    [['10.244.1.2'], 'passed', 'eth0 has 10.244.1.2'],
    [['10.244.1.2', '10.244.1.77'], 'passed', 'eth0 has 10.244.1.2, 10.244.1.77'],
    [['10.244.1.77'], 'failed', 'eth0 has 10.244.1.77'],
    [[], 'inconclusive', 'eth0 has nothing'],
  ] as const)('a pod probe whose interface has %j: %s', (addresses, verdict, observed) => {
    const o = cleanObservations();
    o.inventory.set('pw-pod-n1-a', { addresses: [...addresses], routes: '', addrText: '' });
    expect(judge('NM-3.3', o).flows.find((x) => x.flow === 'addr-pw-pod-n1-a')).toEqual({
      flow: 'addr-pw-pod-n1-a', kind: 'inventory', proto: '-', from: 'pw-pod-n1-a', to: 'pw-pod-n1-a', expected: 'eth0 has 10.244.1.2', observed, captures: [], verdict,
    });
  });

  test('a probe with no inventory is undecided; host probes are not judged on their interfaces', () => {
    const o = cleanObservations();
    o.inventory.delete('pw-pod-n2-b');
    const r = judge('NM-3.3', o);
    expect(r.flows.find((x) => x.flow === 'addr-pw-pod-n2-b')!.verdict).toBe('inconclusive');
    expect(r.flows.filter((x) => x.kind === 'inventory').map((x) => x.flow)).toEqual(['addr-pw-pod-n1-a', 'addr-pw-pod-n1-b', 'addr-pw-pod-n2-a', 'addr-pw-pod-n2-b']);
    expect(r.flows.filter((x) => x.kind !== 'inventory')).toHaveLength(12);
    expect(r.result).toBe('inconclusive');
  });

  test('no answer is undecided; answered by the receiver with no reply on the wire is undecided too (the evidence disagrees), whatever the control', () => {
    const o = cleanObservations();
    const f = find(o, 'pod-pod-cross', 'udp');
    f.sent!.reply = '';
    expect(verdictOf('NM-3.3', o, f)).toMatchObject({ verdict: 'inconclusive', observed: 'no answer' });
    f.sent!.reply = `${f.flow.token}.from.pw-pod-n2-a`;
    f.replyAtSender = [];
    expect(verdictOf('NM-3.3', o, f)).toMatchObject({ verdict: 'inconclusive', observed: "answered by pw-pod-n2-a, but the reply is not in pw-pod-n1-a's capture" });
    o.controls.set('pw-pod-n1-a', { complete: true, received: 3, replies: 0 });
    expect(verdictOf('NM-3.3', o, f)).toMatchObject({ verdict: 'inconclusive', observed: "answered by pw-pod-n2-a, but the reply is not in pw-pod-n1-a's capture" });
    // Answered by another probe still fails, control or not.
    f.sent!.reply = `${f.flow.token}.from.pw-pod-n2-b`;
    expect(verdictOf('NM-3.3', o, f)).toMatchObject({ verdict: 'failed', observed: expect.stringMatching(/^answered by pw-pod-n2-b/) });
  });
});

describe('NM-4.1 egress', () => {
  const egress = (o: Observations) => find(o, 'pod-external');

  test.each([
    ['node', '172.18.0.11', 'passed'],
    ['node', '10.244.1.1', 'passed'], // any address of the node (its bridge's too)
    ['node', '10.244.1.2', 'failed'],
    ['node', '203.0.113.7', 'failed'],
    ['off-node', '10.244.1.2', 'passed'],
    ['off-node', '172.18.0.11', 'failed'],
    ['none', '10.244.1.2', 'passed'],
    ['none', '172.18.0.11', 'failed'],
  ] as const)('declared egress SNAT %s: leaving the uplink as %s is %s', (design, src, verdict) => {
    const o = cleanObservations();
    o.egressSnat = design;
    egress(o).atUplink = [at('pw-host-n1', src, '198.51.100.10', { packet: 5 })];
    const v = verdictOf('NM-4.1', o, egress(o));
    expect(v.verdict).toBe(verdict);
    if (verdict === 'failed') {
      const why = design === 'node' ? 'not SNATed to a node address' : 'SNATed on the node, though egress SNAT was declared off the node';
      expect(v).toMatchObject({ observed: `left n1's uplink as ${src} > 198.51.100.10 (packet #5 at pw-host-n1): ${why}`, decisive: { capture: 'pw-host-n1', packet: 5, role: "on n1's uplink" } });
    } else {
      expect(v).toMatchObject({ observed: `left as ${src} > 198.51.100.10; reply 198.51.100.10 > 10.244.1.2`, decisive: { role: "on n1's uplink" } });
    }
  });

  test.each([
    ['node', "a node address > 198.51.100.10 on n1's uplink; reply to 10.244.1.2"],
    ['off-node', "the pod IP 10.244.1.2 (egress SNAT off the node) > 198.51.100.10 on n1's uplink; reply to 10.244.1.2"],
    ['none', "the pod IP 10.244.1.2 (egress SNAT nowhere) > 198.51.100.10 on n1's uplink; reply to 10.244.1.2"],
  ] as const)('declared %s, the expectation reads: %s', (design, expected) => {
    const o = cleanObservations();
    o.egressSnat = design;
    expect(verdictOf('NM-4.1', o, egress(o))).toMatchObject({ expected, captures: ['pw-host-n1', 'pw-pod-n1-a'], to: 'external (198.51.100.10:80)' });
  });

  test('a connection that failed is judged by its SYN on the uplink: a pod source fails, with the SYN as decisive packet; a node source is undecided', () => {
    const o = cleanObservations();
    const f = egress(o);
    f.atUplink = [];
    f.replyAtSender = [];
    f.sent!.errno = 110;
    f.sent!.error = 'ETIMEDOUT';
    f.handshakeAtUplink = [at('pw-host-n1', '10.244.1.2', '198.51.100.10', { packet: 7, tcpFlags: 'S' })];
    const r = judge('NM-4.1', o);
    expect(r.result).toBe('failed');
    expect(r.flows.find((x) => x.flow === f.flow.id)).toMatchObject({
      observed: "the connection's SYN left n1's uplink as 10.244.1.2 > 198.51.100.10 (packet #7 at pw-host-n1): not SNATed to a node address, and no reply came back",
      decisive: { capture: 'pw-host-n1', packet: 7, src: '10.244.1.2', dst: '198.51.100.10', role: "SYN on n1's uplink" },
    });
    f.handshakeAtUplink = [at('pw-host-n1', '172.18.0.11', '198.51.100.10')];
    expect(verdictOf('NM-4.1', o, f)).toMatchObject({
      verdict: 'inconclusive', observed: 'the connection to 198.51.100.10:80 failed (ETIMEDOUT): target unreachable or port closed; its SYN left as 172.18.0.11 > 198.51.100.10',
    });
    f.handshakeAtUplink = [];
    delete f.sent!.error;
    expect(verdictOf('NM-4.1', o, f).observed).toBe('the connection to 198.51.100.10:80 failed (errno 110): target unreachable or port closed');
  });

  test('nothing on the uplink for a connection that went through is undecided', () => {
    const o = cleanObservations();
    egress(o).atUplink = [];
    expect(verdictOf('NM-4.1', o, egress(o))).toMatchObject({ verdict: 'inconclusive', observed: "no token packet on n1's uplink" });
    delete egress(o).sent;
    expect(verdictOf('NM-4.1', o, egress(o))).toMatchObject({ verdict: 'inconclusive', observed: "no token packet on n1's uplink" });
  });

  test('no reply at the sender: failed when its capture sees replies, undecided otherwise', () => {
    const o = cleanObservations();
    const f = egress(o);
    f.replyAtSender = [];
    f.atUplink = [at('pw-host-n1', '172.18.0.11', '198.51.100.10', { packet: 9 })];
    expect(verdictOf('NM-4.1', o, f)).toMatchObject({
      verdict: 'failed', observed: 'left as 172.18.0.11 > 198.51.100.10 (packet #9 at pw-host-n1), but no reply reached pw-pod-n1-a', decisive: { packet: 9, role: "on n1's uplink; no reply came back" },
    });
    o.controls.set('pw-pod-n1-a', { complete: true, received: 3, replies: 0 });
    expect(verdictOf('NM-4.1', o, f)).toMatchObject({
      verdict: 'inconclusive', observed: 'left as 172.18.0.11 > 198.51.100.10; no reply seen at pw-pod-n1-a, but the capture at pw-pod-n1-a saw no reply to any of its flows (no control)',
    });
    o.controls.set('pw-pod-n1-a', { complete: false, received: 3, replies: 3 });
    expect(verdictOf('NM-4.1', o, f)).toMatchObject({
      verdict: 'inconclusive', observed: 'left as 172.18.0.11 > 198.51.100.10; no reply seen at pw-pod-n1-a, but the capture at pw-pod-n1-a is incomplete (kernel drops or its size cap): absence there proves nothing',
    });
  });

  test('an unknown uplink is undecided with its reason; no target is skipped; no egress flows is skipped with why', () => {
    const o = cleanObservations();
    egress(o).uplinkUnknown = 'no route lookup on n1 for 10.244.1.2 > 198.51.100.10';
    expect(verdictOf('NM-4.1', o, egress(o))).toMatchObject({ verdict: 'inconclusive', observed: 'no route lookup on n1 for 10.244.1.2 > 198.51.100.10' });
    const { external: _, ...noTarget } = cleanObservations();
    expect(judge('NM-4.1', noTarget)).toEqual({ result: 'skipped', reason: 'no external target: pass --external-target IP:PORT (a lab provides one)', flows: [] });
    const none = cleanObservations();
    none.flows = none.flows.filter((x) => x.flow.kind !== 'pod-external');
    expect(judge('NM-4.1', none)).toEqual({ result: 'skipped', reason: 'no egress flows were planned', flows: [] });
  });
});

describe('NM-4.2 in-cluster traffic on the wire', () => {
  test('an inner source rewritten to the node address fails, naming the encapsulation', () => {
    const o = cleanObservations();
    const f = find(o, 'pod-pod-cross', 'udp');
    f.atUplink = [at('pw-host-n1', '172.18.0.11', f.flow.dstIP, { packet: 2, encapsulation: ['vxlan'], outerSrc: '172.18.0.11', outerDst: '172.18.0.12' })];
    expect(verdictOf('NM-4.2', o, f)).toMatchObject({
      verdict: 'failed', observed: '172.18.0.11 > 10.244.2.2 inside vxlan on the uplink (packet #2 at pw-host-n1)', decisive: { packet: 2, role: "on n1's uplink" }, captures: ['pw-host-n1'],
    });
    // Any bad copy fails, even after a good one.
    f.atUplink = [at('pw-host-n1', '10.244.1.2', f.flow.dstIP), at('pw-host-n1', '172.18.0.11', f.flow.dstIP, { packet: 4 })];
    expect(verdictOf('NM-4.2', o, f)).toMatchObject({ verdict: 'failed', observed: '172.18.0.11 > 10.244.2.2 on the uplink (packet #4 at pw-host-n1)' });
  });

  test('an encapsulated packet with the pod IP inside passes, naming tunnel and outer addresses', () => {
    const o = cleanObservations();
    const f = find(o, 'pod-pod-cross', 'udp');
    f.atUplink = [at('pw-host-n1', '10.244.1.2', f.flow.dstIP, { encapsulation: ['geneve'], outerSrc: '172.18.0.11', outerDst: '172.18.0.12' })];
    expect(verdictOf('NM-4.2', o, f)).toMatchObject({ verdict: 'passed', expected: "10.244.1.2 > 10.244.2.2 (inner) on n1's uplink", observed: '10.244.1.2 > 10.244.2.2 inside geneve (172.18.0.11 > 172.18.0.12)' });
  });

  test('nested encapsulations are named outer to inner', () => {
    const o = cleanObservations();
    const f = find(o, 'pod-pod-cross', 'udp');
    const tunnel = { encapsulation: ['vxlan', 'esp'], outerSrc: '172.18.0.11', outerDst: '172.18.0.12' };
    f.atUplink = [at('pw-host-n1', '10.244.1.2', f.flow.dstIP, tunnel)];
    expect(verdictOf('NM-4.2', o, f).observed).toBe('10.244.1.2 > 10.244.2.2 inside vxlan/esp (172.18.0.11 > 172.18.0.12)');
    f.atUplink = [at('pw-host-n1', '172.18.0.11', f.flow.dstIP, { ...tunnel, packet: 3 })];
    expect(verdictOf('NM-4.2', o, f).observed).toBe('172.18.0.11 > 10.244.2.2 inside vxlan/esp on the uplink (packet #3 at pw-host-n1)');
  });

  test('a connection that carried no data is judged by its SYN; nothing on the uplink is undecided', () => {
    const o = cleanObservations();
    const f = find(o, 'pod-pod-cross', 'tcp');
    f.atUplink = [];
    f.handshakeAtUplink = [at('pw-host-n1', '10.244.1.2', f.flow.dstIP, { tcpFlags: 'S' })];
    expect(verdictOf('NM-4.2', o, f)).toMatchObject({ verdict: 'passed', observed: '10.244.1.2 > 10.244.2.2 (its SYN: the connection carried no data)' });
    f.handshakeAtUplink = [at('pw-host-n1', '172.18.0.11', f.flow.dstIP, { tcpFlags: 'S' })];
    expect(verdictOf('NM-4.2', o, f).verdict).toBe('failed');
    f.handshakeAtUplink = [];
    o.controls.set('pw-host-n1', { complete: true, received: 2, replies: 0 });
    expect(verdictOf('NM-4.2', o, f)).toMatchObject({ verdict: 'inconclusive', observed: "not seen leaving n1's uplink (the capture there saw 2 flows to its node)" });
    o.controls.delete('pw-host-n1');
    expect(verdictOf('NM-4.2', o, f).observed).toBe("not seen leaving n1's uplink (the capture there saw 0 flows to its node)");
    f.uplinkUnknown = 'the sending node has no host probe';
    expect(verdictOf('NM-4.2', o, f)).toMatchObject({ verdict: 'inconclusive', observed: 'the sending node has no host probe' });
  });
});

describe('NM-5.1 full-size datagrams', () => {
  const mtu = (o: Observations) => find(o, 'pod-pod-mtu');

  test.each([
    ['whole, with DF', { length: 1450, df: true, fragment: false }, 'passed', 'arrived whole: 1450 bytes, DF, 10.244.1.2 > 10.244.2.2 at pw-pod-n2-a'],
    ['as a fragment', { length: 1450, df: true, fragment: true }, 'failed', 'arrived as 1450 bytes, DF, a fragment (sent 1450 with DF), 10.244.1.2 > 10.244.2.2, packet #0 at pw-pod-n2-a'],
    ['without DF', { length: 1450, df: false }, 'failed', 'arrived as 1450 bytes, without DF (sent 1450 with DF), 10.244.1.2 > 10.244.2.2, packet #0 at pw-pod-n2-a'],
    ['smaller', { length: 1400, df: true }, 'failed', 'arrived as 1400 bytes, DF (sent 1450 with DF), 10.244.1.2 > 10.244.2.2, packet #0 at pw-pod-n2-a'],
    ['of unknown size (IPv6)', {}, 'failed', 'arrived as ? bytes, without DF (sent 1450 with DF), 10.244.1.2 > 10.244.2.2, packet #0 at pw-pod-n2-a'],
  ] as const)('a datagram that arrived %s: %s', (_, seen, verdict, observed) => {
    const o = cleanObservations();
    mtu(o).atReceiver = [at('pw-pod-n2-a', '10.244.1.2', '10.244.2.2', seen)];
    expect(verdictOf('NM-5.1', o, mtu(o))).toMatchObject({ verdict, observed, decisive: { capture: 'pw-pod-n2-a', role: verdict === 'passed' ? 'as received' : 'as received, not whole' } });
  });

  test.each([
    ['ICMP fragmentation needed', 3, 4, 1400, 'passed', 'drew an ICMP "fragmentation needed" (next-hop MTU 1400) from 172.18.0.1, packet #9 at pw-pod-n1-a'],
    ['ICMPv6 packet too big', 2, 0, 1280, 'passed', 'drew an ICMP "fragmentation needed" (next-hop MTU 1280) from 172.18.0.1, packet #9 at pw-pod-n1-a'],
    ['fragmentation needed without an MTU', 3, 4, undefined, 'passed', 'drew an ICMP "fragmentation needed" (next-hop MTU ?) from 172.18.0.1, packet #9 at pw-pod-n1-a'],
    ['ICMP host unreachable', 3, 1, undefined, 'failed', undefined],
    ['ICMPv6 port unreachable (type 1 code 4)', 1, 4, undefined, 'failed', undefined],
    ['ICMP time exceeded', 11, 0, undefined, 'failed', undefined],
    ['ICMPv6 packet too big, whatever its code', 2, 5, 1280, 'passed', undefined],
  ] as const)('a datagram that vanished, with %s at the sender: %s', (_, type, code, mtuValue, verdict, observed) => {
    const o = cleanObservations();
    const f = mtu(o);
    f.atReceiver = [];
    f.icmpAtSender = [at(f.flow.from, '172.18.0.1', '10.244.1.2', { packet: 9, icmpType: type, icmpCode: code, ...(mtuValue ? { icmpMtu: mtuValue } : {}) })];
    const v = verdictOf('NM-5.1', o, f);
    expect(v.verdict).toBe(verdict);
    if (observed) expect(v).toMatchObject({ observed, decisive: { packet: 9, role: 'ICMP fragmentation needed' } });
  });

  test('a datagram that vanished silently fails with the packet as sent; the small-datagram path control and the captures\' controls keep it honest', () => {
    const o = cleanObservations();
    const f = mtu(o);
    f.atReceiver = [];
    f.atSender = [at(f.flow.from, '10.244.1.2', f.flow.dstIP, { packet: 9, length: 1450, df: true })];
    expect(verdictOf('NM-5.1', o, f)).toMatchObject({
      verdict: 'failed',
      observed: 'sent as 10.244.1.2 > 10.244.2.2, 1450 bytes with DF (packet #9 at pw-pod-n1-a); never seen at pw-pod-n2-a, and no ICMP "fragmentation needed" came back: silently dropped',
      decisive: { packet: 9, role: 'as sent; vanished without an ICMP error' },
    });
    f.atSender = [at(f.flow.from, '10.244.1.2', f.flow.dstIP, { packet: 9 })];
    expect(verdictOf('NM-5.1', o, f).observed).toMatch(/^sent as 10\.244\.1\.2 > 10\.244\.2\.2, \? bytes \(packet #9/);
    // The sender's capture must be able to prove that no ICMP error came back.
    o.controls.set('pw-pod-n1-a', { complete: true, received: 4, replies: 0 });
    expect(verdictOf('NM-5.1', o, f)).toMatchObject({ verdict: 'inconclusive', observed: 'not seen at pw-pod-n2-a, but the capture at pw-pod-n1-a saw no reply to any of its flows (no control)' });
    o.controls.set('pw-pod-n2-a', { complete: true, received: 0, replies: 4 });
    expect(verdictOf('NM-5.1', o, f).observed).toBe('not seen at pw-pod-n2-a, but the capture at pw-pod-n2-a saw none of the traffic sent to it (no control)');
    // Path control: when small datagrams between the same pods do not arrive either, size is not the question.
    const small = o.flows.find((x) => x.flow.kind === 'pod-pod-cross' && x.flow.proto === 'udp' && x.flow.from === f.flow.from && x.flow.to === f.flow.to)!;
    small.atReceiver = [];
    expect(verdictOf('NM-5.1', o, f)).toMatchObject({ verdict: 'inconclusive', observed: `small datagrams on this path do not arrive either (flow ${small.flow.id}, see NM-1.2): not a question of size` });
    expect(judge('NM-5.1', o).reason).toBe(`1 full-size flow(s) could not be decided: small datagrams on this path do not arrive either (flow ${small.flow.id}, see NM-1.2): not a question of size`);
  });

  test('without a size from the sender, the expectation names the route MTU', () => {
    const o = cleanObservations();
    delete mtu(o).sent!.size;
    expect(verdictOf('NM-5.1', o, mtu(o)).expected).toBe('a route-MTU-byte DF datagram 10.244.1.2 > 10.244.2.2 at pw-pod-n2-a, or an ICMP "fragmentation needed" at pw-pod-n1-a');
  });

  test('the path control is the small UDP flow of the same ordered pair, wherever it sits in the run, and no other flow', () => {
    const o = cleanObservations();
    const f = mtu(o);
    f.atReceiver = [];
    // Flows.json order is no contract: the full-size flow first, then look-alikes of other pairs that failed.
    const base = f.flow;
    const lookAlike = (over: Partial<typeof base>): FlowObservation => ({ ...f, flow: { ...base, kind: 'pod-pod-cross', ...over }, atReceiver: [] });
    o.flows = [f, lookAlike({ id: 'x1', from: 'pw-pod-n3-a' }), lookAlike({ id: 'x2', to: 'pw-pod-n3-a' }), lookAlike({ id: 'x3', proto: 'tcp' }), ...o.flows.filter((x) => x !== f)];
    expect(verdictOf('NM-5.1', o, f).verdict).toBe('failed');
    o.flows.find((x) => x.flow.kind === 'pod-pod-cross' && x.flow.proto === 'udp' && x.flow.from === base.from && x.flow.to === base.to && !x.flow.id.startsWith('x'))!.atReceiver = [];
    expect(verdictOf('NM-5.1', o, f).verdict).toBe('inconclusive');
  });

  test('only the UDP small flow of the same pair is the path control', () => {
    const o = cleanObservations();
    const f = mtu(o);
    f.atReceiver = [];
    for (const x of o.flows.filter((y) => y.flow.kind === 'pod-pod-cross' && y.flow !== f.flow && (y.flow.proto === 'tcp' || y.flow.from !== f.flow.from))) x.atReceiver = [];
    expect(verdictOf('NM-5.1', o, f).verdict).toBe('failed');
  });
});

describe('building blocks', () => {
  test.each([
    [3, 0, undefined, 'ICMP network unreachable from 172.18.0.1 (packet #5 at pw-pod-n1-a)'],
    [3, 1, undefined, 'ICMP host unreachable from 172.18.0.1 (packet #5 at pw-pod-n1-a)'],
    [3, 2, undefined, 'ICMP protocol unreachable from 172.18.0.1 (packet #5 at pw-pod-n1-a)'],
    [3, 3, undefined, 'ICMP port unreachable from 172.18.0.1 (packet #5 at pw-pod-n1-a)'],
    [3, 4, 1450, 'ICMP fragmentation needed (next-hop MTU 1450) from 172.18.0.1 (packet #5 at pw-pod-n1-a)'],
    [3, 4, undefined, 'ICMP fragmentation needed from 172.18.0.1 (packet #5 at pw-pod-n1-a)'],
    [3, 9, undefined, 'ICMP network administratively prohibited from 172.18.0.1 (packet #5 at pw-pod-n1-a)'],
    [3, 10, undefined, 'ICMP host administratively prohibited from 172.18.0.1 (packet #5 at pw-pod-n1-a)'],
    [3, 13, undefined, 'ICMP communication administratively prohibited from 172.18.0.1 (packet #5 at pw-pod-n1-a)'],
    [11, 0, undefined, 'ICMP TTL exceeded in transit from 172.18.0.1 (packet #5 at pw-pod-n1-a)'],
    [2, 0, 1280, 'ICMP type 2 code 0 from 172.18.0.1 (packet #5 at pw-pod-n1-a)'],
    [3, 3, 1450, 'ICMP port unreachable from 172.18.0.1 (packet #5 at pw-pod-n1-a)'],
    [1, 4, 1280, 'ICMP type 1 code 4 from 172.18.0.1 (packet #5 at pw-pod-n1-a)'], // the MTU is named for IPv4 "fragmentation needed" only
  ] as const)('ICMP type %i code %i (MTU %s) reads "%s"', (icmpType, icmpCode, icmpMtu, text) => {
    expect(icmpText(at('pw-pod-n1-a', '172.18.0.1', '10.244.1.2', { packet: 5, icmpType, icmpCode, ...(icmpMtu ? { icmpMtu } : {}) }))).toBe(text);
  });

  test('absence is unproven without a capture, in an incomplete one, or without a control of that direction', () => {
    const o = cleanObservations();
    expect(absenceUnproven(o, 'pw-pod-n1-a', 'received')).toBeUndefined();
    expect(absenceUnproven(o, 'pw-pod-n1-a', 'replies')).toBeUndefined();
    expect(absenceUnproven(o, undefined, 'received')).toBe('there is no capture from the receiver');
    expect(absenceUnproven(o, 'nobody', 'replies')).toBe('there is no capture from nobody');
    o.controls.set('pw-pod-n1-a', { complete: true, received: 0, replies: 1 });
    expect(absenceUnproven(o, 'pw-pod-n1-a', 'received')).toBe('the capture at pw-pod-n1-a saw none of the traffic sent to it (no control)');
    expect(absenceUnproven(o, 'pw-pod-n1-a', 'replies')).toBeUndefined();
    o.controls.set('pw-pod-n1-a', { complete: true, received: 1, replies: 0 });
    expect(absenceUnproven(o, 'pw-pod-n1-a', 'received')).toBeUndefined();
    expect(absenceUnproven(o, 'pw-pod-n1-a', 'replies')).toBe('the capture at pw-pod-n1-a saw no reply to any of its flows (no control)');
  });

  test.each([
    [[true, true], false, 'no x flows were planned'],
    [[true, false], false, 'no x flows were planned (1 node(s) not covered)'],
    [[true], true, 'no x flows: the cluster has one node'],
    [[true, false, false], true, 'no x flows: only one of 3 nodes could be probed'],
    [[true, true], true, 'no x flows were planned'],
    [[false, false], false, 'no x flows: no node could be probed'],
    [[], true, 'no x flows: no node could be probed'],
  ] as const)('nothing to judge with coverage %j (cross-node %s): "%s"', (covered, cross, reason) => {
    const o = cleanObservations();
    o.coverage = covered.map((c, i) => ({ node: `n${i + 1}`, covered: c }));
    expect(nothingToJudge(o, 'x', cross)).toBe(reason);
  });

  const v = (flow: string, verdict: FlowVerdict['verdict'], observed = `saw ${flow}`): FlowVerdict =>
    ({ flow, kind: 'pod-pod-same', proto: 'tcp', from: `a${flow}`, to: `b${flow}`, verdict, expected: `e${flow}`, observed, captures: [] });

  test.each([
    [[], 'skipped', 'nothing'],
    [[v('1', 'passed'), v('2', 'passed')], 'passed', '2 x flow(s) passed'],
    [[v('1', 'skipped'), v('2', 'passed')], 'passed', '1 x flow(s) passed'],
    [[v('1', 'skipped')], 'skipped', 'nothing'],
    [[v('1', 'passed'), v('2', 'inconclusive', 'why 2'), v('3', 'inconclusive', 'why 3')], 'inconclusive', '2 x flow(s) could not be decided: why 2'],
    [[v('1', 'inconclusive'), v('2', 'failed'), v('3', 'passed')], 'failed', '1 of 3 x flow(s) failed: a2 -> b2: expected e2, saw saw 2'],
    [[v('1', 'failed'), v('2', 'failed'), v('3', 'failed')], 'failed', '3 of 3 x flow(s) failed: a1 -> b1: expected e1, saw saw 1; a2 -> b2: expected e2, saw saw 2; a3 -> b3: expected e3, saw saw 3'],
    [[v('1', 'failed'), v('2', 'failed'), v('3', 'failed'), v('4', 'failed')], 'failed', '4 of 4 x flow(s) failed: a1 -> b1: expected e1, saw saw 1; a2 -> b2: expected e2, saw saw 2; a3 -> b3: expected e3, saw saw 3; …'],
  ] as const)('flow verdicts %# add up to %s: "%s"', (list, result, reason) => {
    const flowsIn = list.map((x) => ({ ...x }));
    expect(outcome(flowsIn, 'x', 'nothing')).toEqual({ result, reason, flows: flowsIn });
    expect(combine(flowsIn)).toBe(result);
  });
});

describe('selection and options', () => {
  test('--only takes ids and rule families; --skip removes; the default is core and extended', () => {
    expect(selectChecks(['NM-1'], []).map((c) => c.id)).toEqual(['NM-1.1', 'NM-1.2', 'NM-1.3']);
    expect(selectChecks(['NM-4.*', 'NM-3.1'], ['NM-4.2']).map((c) => c.id)).toEqual(['NM-3.1', 'NM-4.1']);
    expect(selectChecks(undefined, undefined).map((c) => c.id)).toEqual(CHECK_IDS.filter((id) => id !== 'NM-2.3' && id !== 'NM-3.4'));
    expect(selectChecks([], ['NM-5']).map((c) => c.id)).not.toContain('NM-5.1');
    expect(() => selectChecks(['NM-7'], [])).toThrow('unknown check id `NM-7` (known: NM-1.1, NM-1.2, NM-1.3, NM-2.1, NM-2.2, NM-2.3, NM-2.4, NM-3.1, NM-3.2, NM-3.3, NM-3.4, NM-4.1, NM-4.2, NM-5.1)');
    expect(() => selectChecks([], ['NM-1.9'])).toThrow(/unknown check id `NM-1\.9`/);
    // Patterns match whole id segments, not any prefix.
    expect(() => selectChecks(['NM-1.1.'], [])).toThrow(/unknown/);
  });

  test.each([
    ['core', ['NM-2'], ['NM-2.1', 'NM-2.2', 'NM-2.4']],
    ['extended', ['NM-2'], ['NM-2.1', 'NM-2.2', 'NM-2.4']],
    ['strict', ['NM-2'], ['NM-2.1', 'NM-2.2', 'NM-2.3', 'NM-2.4']],
    ['core', ['NM-2.3', 'NM-5.1'], ['NM-2.3', 'NM-5.1']], // exact ids run whatever their profile
    ['core', ['NM-5'], []], // a family keeps to the profile
  ] as const)('--profile %s --only %j runs %j', (profile, only, want) => {
    expect(selectChecks([...only], [], profile).map((c) => c.id)).toEqual(want);
  });

  test.each(Object.entries(PROFILE_CHOICES))('--profile %s runs the checks of profiles %j', (choice, profiles) => {
    const got = selectChecks([], [], choice as keyof typeof PROFILE_CHOICES);
    expect(got.map((c) => c.id)).toEqual(CHECKS.filter((c) => (profiles as readonly string[]).includes(c.profile)).map((c) => c.id));
    expect(new Set(got.map((c) => c.profile))).toEqual(new Set(profiles));
  });

  test('--skip by exact id removes a check that --only named outside the profile', () => {
    expect(selectChecks(['NM-2.3', 'NM-1.1'], ['NM-2.3'], 'core').map((c) => c.id)).toEqual(['NM-1.1']);
    expect(selectChecks(['NM-2.3', 'NM-1.1'], [], 'core').map((c) => c.id)).toEqual(['NM-1.1', 'NM-2.3']);
  });

  test('--skip by family drops every check of it, across profiles', () => {
    expect(selectChecks([], ['NM-2', 'NM-3.*'], 'strict').map((c) => c.id)).toEqual(['NM-1.1', 'NM-1.2', 'NM-1.3', 'NM-4.1', 'NM-4.2', 'NM-5.1']);
  });

  test('every check declares the flow kinds it needs', () => {
    expect(Object.fromEntries(CHECKS.map((c) => [c.id, c.flowKinds]))).toEqual({
      'NM-1.1': ['pod-pod-same'], 'NM-1.2': ['pod-pod-cross'], 'NM-1.3': ['pod-pod-same', 'pod-pod-cross'], 'NM-2.1': ['host-pod-same'], 'NM-2.2': ['host-pod-cross'],
      'NM-2.3': ['pod-node'], 'NM-2.4': ['pod-node'], 'NM-3.1': [], 'NM-3.2': [], 'NM-3.3': ['pod-pod-same', 'pod-pod-cross'], 'NM-3.4': [],
      'NM-4.1': ['pod-external'], 'NM-4.2': ['pod-pod-cross'], 'NM-5.1': ['pod-pod-mtu', 'pod-pod-cross'],
    });
  });

  test.each([
    [['--external-target', '1.2.3.4'], /IPv4:PORT/],
    [['--external-target', '1.2.3.4:0'], /IPv4:PORT/],
    [['--external-target', '[1.2.3.4]:80'], /\[IPv6\]:PORT/],
    [['--external-target', '2001:db8::1:80'], /\[IPv6\]:PORT/],
    [['--external-target', '[2001:db8::g]:80'], /\[IPv6\]:PORT/],
    [['--external-target', '[2001:db8::1]:70000'], /\[IPv6\]:PORT/],
    [['--external-target', '1.2.3.4:80', '--external-target', '5.6.7.8:80'], /given twice for IPv4 \(`1.2.3.4:80`, `5.6.7.8:80`\): give at most one per family/],
    [['--ip-family', 'ipv5'], /`--ip-family` to be one of ipv4, ipv6, dual, got `ipv5`/],
    [['--ip-family', 'dual', '--ip-family', 'ipv4'], /takes one value/],
    [['--only', 'NM-1', '--skip', 'NM-1'], /leave no check/],
    [['--only', 'NM-9'], /unknown check id `NM-9`.* in `--only`\/`--skip`/],
    [['--timeout', 'soon'], /`--timeout`/],
    [['--probe-image', 'bad image'], /`--probe-image`/],
    [['--profile', 'paranoid'], 'expected `--profile` to be one of core, extended, strict, got `paranoid`'],
    [['--egress-snat', 'gateway'], 'expected `--egress-snat` to be one of node, off-node, none, got `gateway`'],
    [['--frob'], /unknown flag `--frob` for `podwire run`/],
  ])('%j is refused', (argv, message) => {
    expect(() => parseRunOptions(argv)).toThrow(UsageError);
    expect(() => parseRunOptions(argv)).toThrow(message);
  });

  test('defaults, and the new options', () => {
    expect(parseRunOptions([])).toMatchObject({
      probeImage: 'nicolaka/netshoot:v0.13', reportDir: 'reports', keep: false, timeoutS: 120, only: [], skip: [], profile: 'extended', egressSnat: 'node', requireAllNodes: false,
    });
    expect(parseRunOptions([]).checks.map((c) => c.id)).toEqual(selectChecks([], [], 'extended').map((c) => c.id));
    const o = parseRunOptions(['--profile', 'strict', '--egress-snat', 'off-node', '--require-all-nodes', '--only', 'NM-2', '--external-target', '203.0.113.10:443']);
    expect(o).toMatchObject({ profile: 'strict', egressSnat: 'off-node', requireAllNodes: true, only: ['NM-2'], externalTargets: [{ ip: '203.0.113.10', port: 443 }] });
    expect(o).not.toHaveProperty('families');
    // One target per family, IPv6 in brackets (written in any form, kept in the form captures print); the families to test.
    const d = parseRunOptions(['--external-target', '[2001:DB8:0::10]:443', '--external-target', '203.0.113.10:80', '--ip-family', 'dual']);
    expect(d).toMatchObject({ externalTargets: [{ ip: '2001:db8::10', port: 443 }, { ip: '203.0.113.10', port: 80 }], ipFamily: 'dual', families: [4, 6] });
    expect(parseRunOptions(['--ip-family', 'ipv6']).families).toEqual([6]);
    expect(o.checks.map((c) => c.id)).toEqual(['NM-2.1', 'NM-2.2', 'NM-2.3', 'NM-2.4']);
  });
});

describe('flows', () => {
  test('every ordered node pair, both protocols, to the port each receiver bound; one full-size datagram per pair', () => {
    const cross = flows.filter((f) => f.kind === 'pod-pod-cross');
    expect(cross.map((f) => `${f.from}>${f.to}/${f.proto}`).sort()).toEqual([
      'pw-pod-n1-a>pw-pod-n2-a/tcp', 'pw-pod-n1-a>pw-pod-n2-a/udp', 'pw-pod-n2-a>pw-pod-n1-a/tcp', 'pw-pod-n2-a>pw-pod-n1-a/udp']);
    expect(flows.filter((f) => f.kind === 'pod-pod-mtu')).toEqual([
      expect.objectContaining({ proto: 'udp', from: 'pw-pod-n1-a', to: 'pw-pod-n2-a', dstIP: '10.244.2.2', dstPort: 7000, mtu: true }),
      expect.objectContaining({ proto: 'udp', from: 'pw-pod-n2-a', to: 'pw-pod-n1-a', dstIP: '10.244.1.2', dstPort: 7000, mtu: true }),
    ]);
    expect(new Set(flows.map((f) => f.token)).size).toBe(flows.length);
    expect(flows.every((f) => f.token.startsWith('podwire/r1/'))).toBe(true);
    expect(flows.filter((f) => f.kind === 'pod-external').map((f) => [f.from, f.to, f.dstIP, f.dstPort])).toEqual([['pw-pod-n1-a', undefined, '198.51.100.10', 80], ['pw-pod-n2-a', undefined, '198.51.100.10', 80]]);
  });

  test('a probe whose listener did not bind a port receives nothing', () => {
    const noPort = probes.map((p) => (p.name === 'pw-pod-n2-a' ? { ...p, port: undefined } : p));
    const planned = planFlows('r1', noPort, nodeIPs);
    expect(planned.filter((f) => f.to === 'pw-pod-n2-a')).toEqual([]);
    expect(planned.filter((f) => f.kind === 'pod-external')).toEqual([]);
  });
});
