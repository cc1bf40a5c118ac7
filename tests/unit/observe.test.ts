// observe(): from decoded captures to per-flow observations. On crafted
// captures (fixtures/crafted) for evidence without a token (ICMP errors
// quoting a flow, an unanswered ARP request), and on recorded bundles for
// what each capture point shows of real flows.
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { captureComplete, type RunBundle } from '../../src/bundle/model.js';
import type { Flow, FlowObservation, Probe, ProbeInventory, SentFlow, Sighting } from '../../src/conformance/model.js';
import { indexCapture, observe, type CaptureData } from '../../src/conformance/observe.js';
import { decodeCapture } from '../../src/decode/buffer.js';
import type { Arp, DecodedPacket, Icmp, Ipv4, Layer, Sll, Tcp } from '../../src/decode/layers.js';
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
    // IPv6: the length is the header's 40 bytes and the payload length (a SYN: 20 bytes of TCP header, 20 of options); no router fragments it (DF in effect), no fragment header here.
    expect(idx.segments.get('fd00:77::1|40090|fd00:77::2|8080')![0]).toMatchObject({ length: 40 + 40, df: true, fragment: false });
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
      else expect(o.atReceiver, o.flow.id).toEqual([]);
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
    // Another flow's reply, though on the wire at this sender, is not this flow's answer.
    const other = (await loadBundle('clean-hostgw')).flows.flows.find((x) => x.kind === 'pod-pod-same' && x.proto === 'tcp' && x.from === f.from)!;
    expect((await look(() => `${other.token}.from.${other.to}`)).answerAtSender).toEqual([]);
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

// Hand-made packets, for what no capture file shows.
const v4 = (src: string, dst: string, extra: Partial<Ipv4> = {}): Ipv4 => ({
  kind: 'ipv4', src, dst, protocol: 6, ttl: 64, id: 1, ihl: 20, totalLength: 60, df: true, mf: false, fragmentOffset: 0, hasOptions: false, fragment: false, ...extra,
});
const tcp = (srcPort: number, dstPort: number, flags: string, extra: Partial<Tcp> = {}): Tcp => ({ kind: 'tcp', srcPort, dstPort, seq: 0, ack: 0, flags, payloadLength: 0, ...extra });
const sll = (ifindex: number, packetType: number): Sll => ({ kind: 'sll', version: 2, packetType, protocol: 0x0800, ifindex, arphrd: 1 });
const arp = (senderIP: string, targetIP: string, op = 1): Arp => ({ kind: 'arp', op, senderMAC: '0a:58:0a:f4:01:02', senderIP, targetMAC: '00:00:00:00:00:00', targetIP });
let idx = 0;
const pkt = (layers: Layer[], token?: string): DecodedPacket => ({
  index: idx++, tsSec: 0, tsNsec: 0, caplen: 100, origLen: 100, linktype: 276, layers, encapsulation: [], token, truncated: false, fragment: false, issue: undefined,
});
const OUT = 4;
const IN = 0;

describe('evidence rules, on hand-made packets', () => {
  const hp: Probe[] = [
    { name: 'p', node: 'n1', role: 'pod', ip: '10.244.1.2' },
    { name: 'h', node: 'n1', role: 'host', ip: '172.18.0.11' },
    { name: 'q', node: 'n2', role: 'pod', ip: '10.244.2.2' },
  ];
  const inventory = new Map<string, ProbeInventory>([['h', { addresses: ['172.18.0.11'], routes: '', addrText: '', uplinks: [{ src: '10.244.1.2', dst: '10.244.2.2', devices: [{ name: 'eth0', ifindex: 2 }] }] }]]);
  const tcpFlow: Flow = { id: 'f1', token: 'podwire/x/f1', kind: 'pod-pod-cross', proto: 'tcp', from: 'p', to: 'q', dstIP: '10.244.2.2', dstPort: 7000 };
  const failed: SentFlow = { id: 'f1', src: '10.244.1.2', sports: [40001], errno: 110, error: 'ETIMEDOUT', reply: '' };
  const run = (captures: Record<string, DecodedPacket[]>, opts: { flows?: Flow[]; sent?: SentFlow[]; probes?: Probe[] } = {}) => observe({
    flows: opts.flows ?? [tcpFlow], probes: opts.probes ?? hp, inventory,
    sent: new Map((opts.sent ?? [failed]).map((x) => [x.id, x])),
    captures: Object.entries(captures).map(([probe, packets]) => ({ probe, packets, complete: true })),
  });
  const syn = (src = '10.244.1.2', sport = 40001, dst = '10.244.2.2', dport = 7000, flags = 'S', link: Layer[] = []) => pkt([...link, v4(src, dst), tcp(sport, dport, flags)]);

  test('a frame without an IP header is no sighting, whatever bytes it carries', () => {
    const i = indexCapture({ probe: 'c', packets: [pkt([{ kind: 'eth', src: 'a', dst: 'b', type: 0x88cc }], 'podwire/x/f1')], complete: true });
    expect([i.tokens.size, i.segments.size, i.icmpErrors.size, i.arpRequests.size]).toEqual([0, 0, 0, 0]);
  });

  test('a fragment that is not the first is a fragment, without MF too', () => {
    const i = indexCapture({ probe: 'c', packets: [pkt([v4('10.244.1.2', '10.244.2.2', { protocol: 17, fragmentOffset: 185, mf: false })], 'podwire/x/f1')], complete: true });
    expect(i.tokens.get('podwire/x/f1')![0]).toMatchObject({ fragment: true, df: true, length: 60 });
  });

  test('tunnel overhead is measured across families too: IPv6 in IPv4 costs the outer IPv4 header, IPv4 in IPv6 the outer IPv6 header', () => {
    const i = indexCapture({ probe: 'c', packets: packets('ip6in4.pcap'), complete: true });
    const seen = [...i.tokens.values()].flat();
    expect(seen.map((x) => [x.encapsulation.join('/'), x.outerSrc, x.overhead])).toEqual([['ipip', '172.18.0.11', 20], ['ip6ip', 'fd00:77::1', 40]]);
  });

  test('SLL v1 has no interface index; its packet type still says whether the host sent it', () => {
    const i = indexCapture({ probe: 'c', packets: packets('linktype-sll.pcap'), complete: true });
    const seen = [...i.tokens.values()].flat();
    expect(seen.map((x) => x.outgoing)).toEqual([false, true]);
    for (const x of seen) expect(x).not.toHaveProperty('ifindex');
  });

  test('an ICMP error whose quotation stops before the transport header cannot be matched to a flow, and is not a segment', () => {
    const cut: Icmp = { kind: 'icmp', type: 3, code: 1, error: true };
    const i = indexCapture({ probe: 'c', packets: [pkt([v4('172.18.0.1', '10.244.1.2', { protocol: 1 }), cut, v4('10.244.1.2', '10.244.2.2', { quoted: true })])], complete: true });
    expect([i.icmpErrors.size, i.segments.size]).toEqual([0, 0]);
  });

  test('TCP evidence: the connection\'s SYNs (not its other segments) at the sender and the receiver, when no data got through', () => {
    const o = run({
      p: [syn(), syn('10.244.1.2', 40001, '10.244.2.2', 7000, 'A'), syn('10.244.1.2', 40001, '10.244.2.2', 7000, 'FA'), syn('10.244.1.2', 40001, '10.244.2.2', 7000, 'R')],
      q: [syn(), syn('10.244.1.2', 40001, '10.244.2.2', 7000, 'A'), syn('10.244.2.2', 7000, '10.244.1.2', 40001, 'SA')],
    }).observations[0]!;
    expect(o.handshakeAtSender.map((x) => x.tcpFlags)).toEqual(['S']);
    expect(o.synAtReceiver.map((x) => x.tcpFlags)).toEqual(['S']);
    expect(o.synAckAtReceiver.map((x) => [x.capture, x.tcpFlags])).toEqual([['q', 'SA']]);
  });

  test('at most three SYN-ACKs are kept', () => {
    const o = run({ p: [1, 2, 3, 4, 5].map(() => syn('10.244.2.2', 7000, '10.244.1.2', 40001, 'SA')) }).observations[0]!;
    expect(o.synAckAtSender).toHaveLength(3);
  });

  test('an unanswered ARP is evidence only when nothing of the flow left the sender', () => {
    const who = pkt([arp('10.244.1.2', '10.244.2.2')]);
    expect(run({ p: [who] }).observations[0]!.arpAtSender).toHaveLength(1);
    expect(run({ p: [who, syn()] }).observations[0]!.arpAtSender).toEqual([]);
    expect(run({ p: [who, pkt([v4('10.244.1.2', '10.244.2.2'), tcp(40001, 7000, 'PA')], 'podwire/x/f1')] }).observations[0]!.arpAtSender).toEqual([]);
    // An ARP reply is not a request.
    expect(run({ p: [pkt([arp('10.244.1.2', '10.244.2.2', 2)])] }).observations[0]!.arpAtSender).toEqual([]);
  });

  test('on the uplink, only copies the node sent out of the uplink devices count', () => {
    const copy = (ifindex: number, type: number) => pkt([sll(ifindex, type), v4('10.244.1.2', '10.244.2.2'), tcp(40001, 7000, 'PA')], 'podwire/x/f1');
    const ok: SentFlow = { ...failed, errno: 0, reply: '' };
    const o = run({ h: [copy(5, 3), copy(3, IN), copy(2, IN), copy(3, OUT), copy(2, OUT)] }, { sent: [ok] }).observations[0]!;
    expect(o.atUplink.map((x) => [x.ifindex, x.outgoing])).toEqual([[2, true]]);
  });

  test('the SYN hunt on the uplink: SYNs of the flow\'s source ports to its destination and port, leaving by an uplink device, whatever source NAT gave them', () => {
    const on = (ifindex: number, type: number) => [sll(ifindex, type)];
    const o = run({
      h: [
        syn('10.244.1.2', 40001, '10.244.2.2', 7000, 'S', on(2, OUT)),
        syn('172.18.0.11', 40001, '10.244.2.2', 7000, 'S', on(2, OUT)), // SNATed on the way out: still this flow's
        syn('10.244.1.2', 40001, '10.244.9.9', 7000, 'S', on(2, OUT)), // same port, another destination
        syn('10.244.1.2', 40001, '10.244.2.2', 7001, 'S', on(2, OUT)), // another destination port
        syn('10.244.1.2', 40002, '10.244.2.2', 7000, 'S', on(2, OUT)), // another source port
        syn('10.244.1.2', 40001, '10.244.2.2', 7000, 'S', on(3, OUT)), // not an uplink device
        syn('10.244.1.2', 40001, '10.244.2.2', 7000, 'S', on(2, IN)), // coming in
        syn('10.244.1.2', 40001, '10.244.2.2', 7000, 'A', on(2, OUT)), // not a SYN
      ],
    }).observations[0]!;
    expect(o.handshakeAtUplink.map((x) => x.src)).toEqual(['10.244.1.2', '172.18.0.11']);
  });

  test('TCP and UDP ports are different ports: a UDP flow takes no TCP segment of the same port numbers as its evidence', () => {
    const udpFlow: Flow = { ...tcpFlow, proto: 'udp' };
    const udpSent: SentFlow = { id: 'f1', src: '10.244.1.2', sports: [40001], errno: 0, reply: '' };
    const o = run({ p: [syn()], h: [syn('10.244.1.2', 40001, '10.244.2.2', 7000, 'S', [sll(2, OUT)])], q: [syn()] }, { flows: [udpFlow], sent: [udpSent] }).observations[0]!;
    expect([o.handshakeAtSender, o.handshakeAtUplink, o.synAtReceiver, o.synAckAtSender]).toEqual([[], [], [], []]);
  });

  test('a node agent\'s flow is read on the uplink only when it goes to another node, and only as it leaves', () => {
    const hostProbes: Probe[] = [...hp, { name: 'r', node: 'n1', role: 'pod', ip: '10.244.1.3' }];
    const agent = (over: Partial<Flow>): Flow => ({ id: 'f1', token: 'podwire/x/f1', kind: 'host-pod-cross', proto: 'tcp', from: 'h', to: 'q', dstIP: '10.244.2.2', dstPort: 7000, ...over });
    const copy = (dst: string, ifindex: number, type: number) => pkt([sll(ifindex, type), v4('172.18.0.11', dst), tcp(40001, 7000, 'PA')], 'podwire/x/f1');
    const sentOk: SentFlow = { id: 'f1', src: '172.18.0.11', sports: [40001], errno: 0, reply: '' };
    const cross = run({ h: [copy('10.244.2.2', 2, IN), copy('10.244.2.2', 2, OUT)] }, { flows: [agent({})], sent: [sentOk], probes: hostProbes }).observations[0]!;
    expect(cross.atUplink.map((x) => [x.ifindex, x.outgoing])).toEqual([[2, true]]);
    const local = run({ h: [copy('10.244.1.3', 2, OUT)] }, { flows: [agent({ kind: 'host-pod-same', to: 'r', dstIP: '10.244.1.3' })], sent: [sentOk], probes: hostProbes }).observations[0]!;
    expect(local.atSender).toHaveLength(1);
    expect(local.atUplink).toEqual([]);
  });

  test('a host probe without a capture, or a sender the run does not know, leaves the evidence empty without failing', () => {
    const o = run({ p: [syn()] }).observations[0]!;
    expect(o.handshakeAtUplink).toEqual([]);
    const ghost = run({ p: [] }, { flows: [{ ...tcpFlow, from: 'ghost' }], sent: [] }).observations[0]!;
    expect(ghost).toMatchObject({ atSender: [], handshakeAtSender: [], atUplink: [] });
    expect(ghost).not.toHaveProperty('uplinkUnknown'); // no sender, no uplink question
  });

  test('a capture\'s received control counts the flows that reached it, not the flows sent to it', () => {
    const other: Flow = { ...tcpFlow, id: 'f2', token: 'podwire/x/f2', proto: 'udp' };
    const c = run({ q: [pkt([v4('10.244.1.2', '10.244.2.2', { protocol: 17 })], 'podwire/x/f2')], p: [] }, { flows: [tcpFlow, other] }).controls;
    expect(c.get('q')).toEqual({ complete: true, received: 1, replies: 0 });
    expect(c.get('p')).toEqual({ complete: true, received: 0, replies: 0 });
    expect(c.has('h')).toBe(false);
  });
});
