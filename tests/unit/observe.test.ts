// observe(): from decoded captures to per-flow observations. On crafted
// captures (fixtures/crafted) for evidence without a token (ICMP errors
// quoting a flow, an unanswered ARP request), and on recorded bundles for
// what each capture point shows of real flows.
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { captureComplete, type RunBundle } from '../../src/bundle/model.js';
import type { Flow, FlowObservation, Probe, SentFlow, Sighting } from '../../src/conformance/model.js';
import { indexCapture, observe, type CaptureData } from '../../src/conformance/observe.js';
import { decodeCapture } from '../../src/decode/buffer.js';
import { flowBy, loadBundle, probe, sentOf, type Case } from '../helpers/bundles.js';
import { ROOT } from '../helpers/lab.js';

const packets = (name: string) => decodeCapture(readFileSync(`${ROOT}fixtures/crafted/${name}`));
const probes: Probe[] = [
  { name: 'a', node: 'n1', role: 'pod', ip: '10.244.1.2' },
  { name: 'b', node: 'n2', role: 'pod', ip: '198.51.100.10' },
];
const flow = (over: Partial<Flow>): Flow => ({ id: 'f1', token: 'podwire/x/f1', kind: 'pod-pod-mtu', proto: 'udp', from: 'a', to: 'b', dstIP: '198.51.100.10', dstPort: 9999, mtu: true, ...over });
const sent = (over: Partial<SentFlow>): SentFlow => ({ id: 'f1', src: '10.244.1.2', sports: [40060], errno: 0, reply: '', ...over });

describe('evidence without a token, on crafted captures', () => {
  const icmpOf = (f: Flow, s: SentFlow | undefined, capture = 'a') => observe({
    flows: [f], probes, inventory: new Map(), sent: new Map(s ? [['f1', s]] : []),
    captures: [{ probe: capture, packets: packets('icmp-errors.pcap'), complete: true }],
  }).observations[0]!.icmpAtSender;

  test.each([
    ['fragmentation needed, quoting a UDP datagram', { dstIP: '198.51.100.10', dstPort: 9999 }, { sports: [40060] }, { packet: 0, src: '172.18.0.1', dst: '10.244.1.2', icmpType: 3, icmpCode: 4, icmpMtu: 1450 }],
    ['time exceeded, quoting a TCP segment', { proto: 'tcp', dstIP: '198.51.100.10', dstPort: 8080 }, { sports: [40061] }, { packet: 1, icmpType: 11, icmpCode: 0 }],
    ['ICMPv6 packet too big', { dstIP: '2001:db8::10', dstPort: 9999 }, { src: 'fd00:10:244:1::2', sports: [40062] }, { packet: 2, src: 'fd00:18::1', dst: 'fd00:10:244:1::2', icmpType: 2, icmpCode: 0, icmpMtu: 1280 }],
    ['ICMPv6 destination unreachable', { proto: 'tcp', dstIP: '2001:db8::10', dstPort: 8080 }, { src: 'fd00:10:244:1::2', sports: [40063] }, { packet: 3, icmpType: 1, icmpCode: 1 }],
    ['one of several source ports', { dstIP: '198.51.100.10', dstPort: 9999 }, { sports: [41000, 40060] }, { packet: 0, icmpType: 3, icmpMtu: 1450 }],
  ] satisfies [string, Partial<Flow>, Partial<SentFlow>, Partial<Sighting>][])('an ICMP error quoting the flow\'s (src, sport, dst, dport) is the flow\'s: %s', (_, f, s, want) => {
    const got = icmpOf(flow(f), sent(s));
    expect(got).toEqual([expect.objectContaining({ capture: 'a', ...want })]);
    if (!('icmpMtu' in want)) expect(got[0]).not.toHaveProperty('icmpMtu');
  });

  test.each([
    ['another destination port', { dstPort: 7173 }, {}],
    ['another source port', {}, { sports: [40061] }],
    ['another source address', {}, { src: '10.244.1.9' }],
    ['another destination', { dstIP: '198.51.100.11' }, {}],
    ['no source port reported', {}, { sports: [] }],
  ] satisfies [string, Partial<Flow>, Partial<SentFlow>][])('an ICMP error quoting %s is not the flow\'s', (_, f, s) => {
    expect(icmpOf(flow(f), sent(s))).toEqual([]);
  });

  test('nor is one without a sender report, or one seen at another probe than the sender', () => {
    expect(icmpOf(flow({}), undefined)).toEqual([]);
    expect(icmpOf(flow({}), sent({}), 'b')).toEqual([]);
  });

  test('at most three pieces of each kind of evidence are kept', () => {
    const icmp = packets('icmp-errors.pcap')[0]!;
    const many = [0, 1, 2, 3, 4].map((i) => ({ ...icmp, index: i }));
    const o = observe({ flows: [flow({})], probes, inventory: new Map(), sent: new Map([['f1', sent({})]]), captures: [{ probe: 'a', packets: many, complete: true }] });
    expect(o.observations[0]!.icmpAtSender.map((s) => s.packet)).toEqual([0, 1, 2]);
  });

  test('a flow of which nothing left names the ARP request the sender made for its destination', () => {
    const run = (src: string, dst: string, over: Partial<FlowObservation> = {}) => observe({
      flows: [flow({ kind: 'pod-pod-same', dstIP: dst, ...over.flow })], probes, inventory: new Map(),
      sent: new Map([['f1', sent({ src, errno: 113, error: 'EHOSTUNREACH' })]]),
      captures: [{ probe: 'a', packets: packets('arp.pcap'), complete: true }],
    }).observations[0]!.arpAtSender;
    expect(run('10.244.1.2', '10.244.1.1')).toEqual([{ capture: 'a', packet: 0, src: '10.244.1.2', dst: '10.244.1.1', encapsulation: [] }]);
    // Someone else's request, a request for another address, or an ARP reply, is not this flow's.
    expect(run('10.244.1.9', '10.244.1.1')).toEqual([]);
    expect(run('10.244.1.2', '10.244.1.7')).toEqual([]);
    expect(run('10.244.1.1', '10.244.1.2')).toEqual([]);
  });

  test('a capture is indexed once: tokens, TCP segments by 4-tuple, ICMP errors by the tuple they quote, ARP requests by sender and target', () => {
    const idx = indexCapture({ probe: 'c', packets: [...packets('icmp-errors.pcap'), ...packets('tcp-udp-ipv6.pcap'), ...packets('arp.pcap')], complete: false });
    expect(idx).toMatchObject({ probe: 'c', complete: false });
    expect([...idx.tokens.keys()].sort()).toEqual(['podwire/fx/icmp-echo-1', 'podwire/fx/v6-tcp-1', 'podwire/fx/v6-udp-1']);
    expect(idx.tokens.get('podwire/fx/icmp-echo-1')!.map((s) => `${s.src}>${s.dst}`)).toEqual(['10.244.1.2>10.244.2.2', '10.244.2.2>10.244.1.2']);
    expect([...idx.segments.keys()].sort()).toEqual(['10.244.1.2|40092|10.244.2.2|8080', 'fd00:77::1|40090|fd00:77::2|8080']);
    expect(idx.segments.get('10.244.1.2|40092|10.244.2.2|8080')).toEqual([{ capture: 'c', src: '10.244.1.2', dst: '10.244.2.2', packet: 2, encapsulation: [], length: 52, df: true, fragment: false, tcpFlags: 'S' }]);
    expect(idx.segments.get('fd00:77::1|40090|fd00:77::2|8080')![0]).not.toHaveProperty('length');
    expect([...idx.icmpErrors.keys()].sort()).toEqual([
      '10.244.1.2|40060|198.51.100.10|9999', '10.244.1.2|40061|198.51.100.10|8080', 'fd00:10:244:1::2|40062|2001:db8::10|9999', 'fd00:10:244:1::2|40063|2001:db8::10|8080']);
    expect([...idx.arpRequests.keys()]).toEqual(['10.244.1.2|10.244.1.1']);
  });

  test('a sighting carries the innermost header, its size and DF, and the tunnel it came in', () => {
    const [v] = packets('vxlan-4789.pcap');
    const idx = indexCapture({ probe: 'u', packets: [v!], complete: true });
    const [s] = [...idx.tokens.values()][0]!;
    expect(s).toMatchObject({ capture: 'u', src: '10.244.1.2', dst: '10.244.2.2', encapsulation: ['vxlan'], outerSrc: '172.18.0.11', outerDst: '172.18.0.12', fragment: false });
    expect(s!.overhead).toBe(50);
    const frag = indexCapture({ probe: 'f', packets: packets('ipv4-options-frag.pcap'), complete: true });
    expect([...frag.tokens.values()].flat().map((x) => x.fragment)).toEqual([false, true]);
    const sll2 = indexCapture({ probe: 's', packets: packets('linktype-sll2.pcap'), complete: true });
    expect([...sll2.tokens.values()].flat().map((x) => [x.ifindex, x.outgoing])).toEqual([[2, false], [3, true]]);
    const plain = indexCapture({ probe: 'p', packets: packets('linktype-raw.pcap'), complete: true });
    for (const x of [...plain.tokens.values()].flat()) {
      expect(x).not.toHaveProperty('outerSrc');
      expect(x).not.toHaveProperty('ifindex');
      expect(x).not.toHaveProperty('outgoing');
    }
  });
});

/** observe() on a recorded bundle, as judge() calls it. */
async function observed(name: Case, edit?: (b: RunBundle) => void) {
  const b = await loadBundle(name);
  edit?.(b);
  const captures: CaptureData[] = b.captures.map((c) => ({ probe: c.probe, packets: decodeCapture(c.data, c.probe), complete: captureComplete(c.stats, c.maxPackets) }));
  const o = observe({ flows: b.flows.flows, sent: new Map(b.flows.sent.map((s) => [s.id, s])), probes: b.probes.probes, inventory: new Map(Object.entries(b.probes.inventory)), captures });
  const of = (id: string) => o.observations.find((x) => x.flow.id === id)!;
  return { b, ...o, of };
}
const addrs = (l: Sighting[]) => l.map((s) => `${s.capture} ${s.src} > ${s.dst}`);

describe('what each capture point shows, on recorded bundles', () => {
  test('clean host-gw: every flow is seen as sent at the receiver, the sender, and (replies) back at the sender', async () => {
    const { b, observations } = await observed('clean-hostgw');
    for (const o of observations) {
      const src = sentOf(b, o.flow.id).src;
      expect(o.sent).toEqual(sentOf(b, o.flow.id));
      if (o.flow.to) {
        expect(o.atReceiver.length, o.flow.id).toBeGreaterThan(0);
        for (const s of o.atReceiver) expect([s.capture, s.src, s.dst], o.flow.id).toEqual([o.flow.to, src, o.flow.dstIP]);
        for (const s of o.replyAtSender) expect([s.capture, s.src, s.dst], o.flow.id).toEqual([o.flow.from, o.flow.dstIP, src]);
        expect(o.answerAtSender).toEqual(o.replyAtSender);
      }
      expect(o.atSender.length, o.flow.id).toBeGreaterThan(0);
      for (const s of o.atSender) expect([s.capture, s.src, s.dst]).toEqual([o.flow.from, src, o.flow.dstIP]);
      expect(o.replyAtSender.length, o.flow.id).toBeGreaterThan(0);
      // Nothing went wrong: no evidence of failure is collected.
      for (const k of ['icmpAtSender', 'handshakeAtUplink', 'handshakeAtSender', 'synAtReceiver', 'synAckAtReceiver', 'arpAtSender'] as const) expect(o[k], `${o.flow.id} ${k}`).toEqual([]);
      expect(o.uplinkUnknown).toBeUndefined();
      // TCP: the SYN-ACK came back to the sender.
      expect(o.synAckAtSender.length > 0, o.flow.id).toBe(o.flow.proto === 'tcp');
      for (const s of o.synAckAtSender) expect(s.tcpFlags).toBe('SA');
    }
  });

  test('clean host-gw: positive controls count, per capture, the flows received and the flows answered', async () => {
    const { b, controls } = await observed('clean-hostgw');
    expect([...controls.keys()].sort()).toEqual(b.probes.probes.map((p) => p.name).sort());
    for (const p of b.probes.probes) {
      expect(controls.get(p.name), p.name).toEqual({
        complete: true,
        received: b.flows.flows.filter((f) => f.to === p.name).length,
        replies: b.flows.flows.filter((f) => f.from === p.name).length,
      });
    }
  });

  test('clean host-gw: only traffic leaving by the uplink is "on the uplink": one copy per pod flow leaving the node, none for flows that stay', async () => {
    const { b, observations } = await observed('clean-hostgw');
    for (const o of observations) {
      const host = `pw-host-${probe(b, o.flow.from).node}`;
      const leaves = o.flow.kind === 'pod-pod-cross' || o.flow.kind === 'pod-external' || o.flow.kind === 'host-pod-cross';
      expect(o.atUplink.length, o.flow.id).toBe(leaves ? 1 : 0);
      for (const s of o.atUplink) expect(s).toMatchObject({ capture: host, ifindex: 2, outgoing: true, encapsulation: [] });
    }
    // Egress leaves SNATed to the node; in-cluster traffic keeps the pod IP.
    const egress = observations.find((o) => o.flow.kind === 'pod-external' && o.flow.from === 'pw-pod-node-1-a')!;
    expect(addrs(egress.atUplink)).toEqual(['pw-host-node-1 172.18.0.11 > 198.51.100.10']);
    // The external target echoes no token: its reply is the connection's segments back to the pod, from the SYN-ACK on (at most three).
    expect(egress.replyAtSender).toHaveLength(3);
    expect(egress.replyAtSender[0]).toMatchObject({ capture: 'pw-pod-node-1-a', src: '198.51.100.10', dst: '10.244.1.2', tcpFlags: 'SA' });
    const cross = flowBy(b, 'pod-pod-cross', 'udp', 'pw-pod-node-1-a');
    expect(addrs(observations.find((o) => o.flow.id === cross.id)!.atUplink)).toEqual(['pw-host-node-1 10.244.1.2 > 10.244.2.2']);
    // A node agent's own flow to a remote pod: its copy leaving eth0, from its capture.
    const agent = observations.find((o) => o.flow.kind === 'host-pod-cross' && o.flow.from === 'pw-host-node-1')!;
    expect(agent.atUplink).toEqual(agent.atSender.filter((s) => s.ifindex === 2));
  });

  test('clean vxlan: a cross-node packet leaves twice, plain on flannel.1 and inside VXLAN on eth0 (50 bytes more)', async () => {
    const { b, of } = await observed('clean-vxlan');
    const f = flowBy(b, 'pod-pod-cross', 'udp', 'pw-pod-node-1-a');
    const up = of(f.id).atUplink;
    expect(up.map((s) => [s.ifindex, s.encapsulation, s.src, s.dst, s.outerSrc, s.outerDst, s.overhead])).toEqual([
      [3, [], '10.244.1.3', '10.244.2.2', undefined, undefined, undefined],
      [2, ['vxlan'], '10.244.1.3', '10.244.2.2', '172.18.0.11', '172.18.0.12', 50],
    ]);
  });

  test('missing-route: a TCP flow that never carried data is followed by its SYNs (sender, uplink) and, where they arrived, the receiver\'s SYN-ACKs', async () => {
    const { b, of } = await observed('missing-route');
    const out = of(flowBy(b, 'pod-pod-cross', 'tcp', 'pw-pod-node-1-a').id);
    expect(out.atSender).toEqual([]);
    expect(out.handshakeAtSender).toHaveLength(3); // four SYNs were sent; three are kept
    for (const s of out.handshakeAtSender) expect(s).toMatchObject({ capture: 'pw-pod-node-1-a', src: '10.244.1.3', dst: '10.244.2.3', tcpFlags: 'S' });
    expect(out.handshakeAtUplink).toHaveLength(3);
    for (const s of out.handshakeAtUplink) expect(s).toMatchObject({ capture: 'pw-host-node-1', ifindex: 2, outgoing: true, src: '10.244.1.3', tcpFlags: 'S' });
    expect([out.synAtReceiver, out.synAckAtReceiver, out.synAckAtSender, out.arpAtSender]).toEqual([[], [], [], []]);

    const back = of(flowBy(b, 'pod-pod-cross', 'tcp', 'pw-pod-node-2-a').id);
    expect(back.synAtReceiver).toHaveLength(3);
    for (const s of back.synAtReceiver) expect(s).toMatchObject({ capture: 'pw-pod-node-1-a', src: '10.244.2.3', dst: '10.244.1.3', tcpFlags: 'S' });
    expect(back.synAckAtReceiver).toHaveLength(3); // six were sent (retransmissions)
    for (const s of back.synAckAtReceiver) expect(s).toMatchObject({ capture: 'pw-pod-node-1-a', src: '10.244.1.3', dst: '10.244.2.3', tcpFlags: 'SA' });
    expect(back.synAckAtSender).toEqual([]);

    // The node agent's flow: refused by the router with an ICMP error that quotes its SYN.
    const agent = of(flowBy(b, 'host-pod-cross', 'tcp', 'pw-host-node-1').id);
    expect(agent.icmpAtSender).toEqual([expect.objectContaining({ capture: 'pw-host-node-1', src: '172.18.0.1', dst: '172.18.0.11', icmpType: 3, icmpCode: 0 })]);
  });

  test('missing-route: the SYN and SYN-ACK of a flow are looked for only when its data never arrived; a delivered UDP flow has none', async () => {
    const { b, of } = await observed('missing-route');
    const udp = of(flowBy(b, 'pod-pod-cross', 'udp', 'pw-pod-node-2-a').id);
    expect(udp.atReceiver.length).toBeGreaterThan(0);
    expect([udp.synAtReceiver, udp.synAckAtReceiver, udp.handshakeAtSender, udp.synAckAtSender]).toEqual([[], [], [], []]);
    const delivered = of(flowBy(b, 'pod-node', 'tcp', 'pw-pod-node-1-a', 'pw-host-node-2').id);
    expect(delivered.synAtReceiver).toEqual([]);
    expect(delivered.synAckAtSender.length).toBeGreaterThan(0);
  });

  test('no-egress-snat: the failed connection\'s SYNs leave the uplink with the pod IP', async () => {
    const { b, of } = await observed('no-egress-snat');
    const f = of(flowBy(b, 'pod-external', 'tcp', 'pw-pod-node-1-a').id);
    expect(f.atUplink).toEqual([]);
    expect(f.handshakeAtUplink.length).toBeGreaterThan(0);
    for (const s of f.handshakeAtUplink) expect(s).toMatchObject({ capture: 'pw-host-node-1', src: '10.244.1.2', dst: '198.51.100.10', tcpFlags: 'S', ifindex: 2 });
    expect(f.replyAtSender).toEqual([]);
  });

  test('wrong-status-ip: a flow to an address nobody holds shows the ARP request nobody answered; the answer from a probe is its answer, whoever it names', async () => {
    const { b, of } = await observed('wrong-status-ip');
    const f = of(flowBy(b, 'pod-pod-same', 'udp', 'pw-pod-node-2-a').id);
    expect(f.atReceiver).toEqual([]);
    expect(f.arpAtSender.length).toBeGreaterThan(0);
    expect(f.arpAtSender[0]).toMatchObject({ capture: 'pw-pod-node-2-a', src: '10.244.2.2', dst: '10.244.2.103' });
    expect(f.arpAtSender.length).toBeLessThanOrEqual(3);
  });

  test('the answer at the sender is read from the token the sender reported, and only when it is this flow\'s', async () => {
    const f = (await loadBundle('clean-hostgw')).flows.flows.find((x) => x.kind === 'pod-pod-same' && x.proto === 'udp')!;
    const look = async (reply: (token: string) => string) => (await observed('clean-hostgw', (b) => { sentOf(b, f.id).reply = reply(f.token); })).of(f.id);
    expect((await look((t) => `${t}.from.${f.to}`)).answerAtSender).toHaveLength(1);
    expect((await look(() => '')).answerAtSender).toEqual([]);
    expect((await look((t) => `${t}x.from.${f.to}`)).answerAtSender).toEqual([]);
    // The reply on the wire is looked up by the receiver's reply token, whatever the sender reported.
    expect((await look(() => '')).replyAtSender).toHaveLength(1);
  });

  test.each([
    ['the node\'s host probe is gone', (b: RunBundle) => { b.probes.probes = b.probes.probes.filter((p) => p.name !== 'pw-host-node-1'); }, 'the sending node has no host probe'],
    ['it made no route lookups', (b: RunBundle) => { delete b.probes.inventory['pw-host-node-1']!.uplinks; }, 'no route lookup on node-1 for 10.244.1.2 > 10.244.2.2'],
    ['its inventory is missing', (b: RunBundle) => { delete b.probes.inventory['pw-host-node-1']; }, 'no route lookup on node-1 for 10.244.1.2 > 10.244.2.2'],
    ['the lookup found no device', (b: RunBundle) => { for (const u of b.probes.inventory['pw-host-node-1']!.uplinks!) { u.devices = []; u.reason = 'no route'; } }, 'the route of 10.244.1.2 > 10.244.2.2 on node-1 is unknown: no route'],
  ])('the uplink of a pod flow is unknown when %s, and then nothing is taken for it', async (_, edit, reason) => {
    const { b, of } = await observed('clean-hostgw', edit);
    const o = of(flowBy(b, 'pod-pod-cross', 'tcp', 'pw-pod-node-1-a').id);
    expect(o.uplinkUnknown).toBe(reason);
    expect(o.atUplink).toEqual([]);
    expect(o.handshakeAtUplink).toEqual([]);
    // Same-node flows never look at the uplink.
    expect(of(flowBy(b, 'pod-pod-same', 'tcp', 'pw-pod-node-1-a').id).uplinkUnknown).toBeUndefined();
  });

  test('a route lookup is matched on the pod\'s address and the destination', async () => {
    const { b, of } = await observed('clean-hostgw', (x) => {
      for (const u of x.probes.inventory['pw-host-node-1']!.uplinks!) if (u.dst === '198.51.100.10') u.src = '10.244.1.99';
    });
    expect(of(flowBy(b, 'pod-external', 'tcp', 'pw-pod-node-1-a').id).uplinkUnknown).toBe('no route lookup on node-1 for 10.244.1.2 > 198.51.100.10');
    expect(of(flowBy(b, 'pod-pod-cross', 'tcp', 'pw-pod-node-1-a').id).uplinkUnknown).toBeUndefined();
  });

  test('a lookup naming another device than the one the packets left by finds nothing on the uplink', async () => {
    const { b, of } = await observed('clean-hostgw', (x) => {
      for (const u of x.probes.inventory['pw-host-node-1']!.uplinks!) u.devices = [{ name: 'eth1', ifindex: 9 }];
    });
    const f = of(flowBy(b, 'pod-pod-cross', 'tcp', 'pw-pod-node-1-a').id);
    expect(f.uplinkUnknown).toBeUndefined();
    expect(f.atUplink).toEqual([]);
    expect(f.handshakeAtUplink).toEqual([]); // the data left (elsewhere): no SYN hunt
    const agent = of(flowBy(b, 'host-pod-cross', 'tcp', 'pw-host-node-1').id);
    expect(agent.atUplink).toEqual([]);
  });

  test('a flow without a sender report is still looked for by its token, but not by its ports', async () => {
    const { b, of } = await observed('missing-route', (x) => { x.flows.sent = x.flows.sent.filter((s) => s.id !== flowBy(x, 'pod-pod-cross', 'tcp', 'pw-pod-node-2-a').id); });
    const back = of(flowBy(b, 'pod-pod-cross', 'tcp', 'pw-pod-node-2-a').id);
    expect(back).not.toHaveProperty('sent');
    expect([back.synAtReceiver, back.synAckAtReceiver, back.handshakeAtSender, back.handshakeAtUplink, back.icmpAtSender, back.arpAtSender]).toEqual([[], [], [], [], [], []]);
    const udp = of(flowBy(b, 'pod-pod-cross', 'udp', 'pw-pod-node-2-a').id);
    expect(udp.atReceiver.length).toBeGreaterThan(0);
  });
});
