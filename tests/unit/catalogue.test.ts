// Verdicts are pure functions of observations: each path of the judges,
// on hand-made observations.
import { describe, expect, test } from 'vitest';
import { CHECKS, selectChecks, type Observations } from '../../src/conformance/catalogue.js';
import { planFlows } from '../../src/conformance/flows.js';
import { parseRunOptions } from '../../src/conformance/options.js';
import type { FlowObservation, Probe, Sighting } from '../../src/conformance/model.js';
import { parseInventory, parseSenderOutput, senderScript } from '../../src/conformance/sender.js';
import { UsageError } from '../../src/cli/args.js';

const probes: Probe[] = [
  { name: 'pw-pod-n1-a', node: 'n1', role: 'pod', ip: '10.244.1.2' },
  { name: 'pw-pod-n1-b', node: 'n1', role: 'pod', ip: '10.244.1.3' },
  { name: 'pw-host-n1', node: 'n1', role: 'host', ip: '172.18.0.11' },
  { name: 'pw-pod-n2-a', node: 'n2', role: 'pod', ip: '10.244.2.2' },
  { name: 'pw-pod-n2-b', node: 'n2', role: 'pod', ip: '10.244.2.3' },
  { name: 'pw-host-n2', node: 'n2', role: 'host', ip: '172.18.0.12' },
];
const nodeIPs = new Map([['n1', '172.18.0.11'], ['n2', '172.18.0.12']]);
const flows = planFlows('r1', probes, nodeIPs, { ip: '198.51.100.10', port: 80 }, (p) => (p.startsWith('pw-pod-') ? 1450 : undefined));
const at = (capture: string, src: string, dst: string, extra: Partial<Sighting> = {}): Sighting => ({ capture, src, dst, packet: 0, encapsulation: [], ...extra });
const ipOf = (name?: string) => probes.find((p) => p.name === name)?.ip ?? '';

/** A clean run: every flow seen exactly as sent, replies back, egress SNATed. */
function cleanObservations(): Observations {
  const obs: FlowObservation[] = flows.map((flow) => {
    const src = ipOf(flow.from);
    const host = `pw-host-${probes.find((p) => p.name === flow.from)!.node}`;
    return {
      flow,
      sent: { id: flow.id, src, exitCode: 0, reply: `${flow.token}.from.${flow.to ?? 'internet'}` },
      atReceiver: flow.to ? [at(flow.to, src, flow.dstIP, flow.size ? { length: flow.size, df: true } : {})] : [],
      atSender: [at(flow.from, src, flow.dstIP)],
      atUplink: flow.kind === 'pod-external' ? [at(host, nodeIPs.get(probes.find((p) => p.name === flow.from)!.node)!, flow.dstIP)]
        : flow.kind.endsWith('cross') ? [at(host, src, flow.dstIP)] : [],
      replyAtSender: [at(flow.from, flow.to ? flow.dstIP : flow.dstIP, src)],
      answerAtSender: [at(flow.from, flow.dstIP, src)],
      fragNeededAtSender: [],
      handshakeAtUplink: [],
      handshakeAtSender: [],
      arpAtSender: [],
    };
  });
  return {
    probes,
    inventory: new Map(probes.map((p) => [p.name, { addresses: p.role === 'host' ? [p.ip, p.node === 'n1' ? '10.244.1.1' : '10.244.2.1'] : [p.ip], routes: '', addrText: '' }])),
    flows: obs,
    controls: new Map(probes.map((p) => [p.name, 5])),
    nodes: [{ name: 'n1', addresses: ['172.18.0.11'], podCIDRs: ['10.244.1.0/24'] }, { name: 'n2', addresses: ['172.18.0.12'], podCIDRs: ['10.244.2.0/24'] }],
    pods: probes.filter((p) => p.role === 'pod').map((p) => ({ namespace: 'x', name: p.name, hostNetwork: false, podIPs: [p.ip], node: p.node })),
    external: { ip: '198.51.100.10', port: 80 },
  };
}

const judge = (id: string, o: Observations) => CHECKS.find((c) => c.id === id)!.judge(o);

describe('verdicts', () => {
  test.each(CHECKS.map((c) => c.id))('%s passes on a clean run', (id) => {
    const r = judge(id, cleanObservations());
    expect(r.result, r.reason).toBe('passed');
  });

  test('NM-1.2: a SNATed source fails the flow and names expected and seen addresses', () => {
    const o = cleanObservations();
    const f = o.flows.find((x) => x.flow.kind === 'pod-pod-cross' && x.flow.from === 'pw-pod-n1-a')!;
    f.atReceiver = [at(f.flow.to!, '172.18.0.11', f.flow.dstIP, { packet: 7 })];
    const r = judge('NM-1.2', o);
    expect(r.result).toBe('failed');
    const bad = r.flows.filter((x) => x.verdict === 'failed');
    expect(bad).toHaveLength(1);
    expect(bad[0]).toMatchObject({ expected: '10.244.1.2 > 10.244.2.2', observed: '172.18.0.11 > 10.244.2.2 at pw-pod-n2-a (packet #7)' });
    expect(bad[0]!.captures).toEqual(['pw-pod-n2-a', 'pw-pod-n1-a']);
  });

  test('a packet not seen fails only when the same capture saw its control; otherwise it is inconclusive', () => {
    const o = cleanObservations();
    const f = o.flows.find((x) => x.flow.kind === 'pod-pod-same')!;
    f.atReceiver = [];
    expect(judge('NM-1.1', o).result).toBe('failed');
    o.controls.set(f.flow.to!, 0);
    expect(judge('NM-1.1', o).result).toBe('inconclusive');
  });

  test('NM-2.1: a source that is not an address of the node fails, even when unchanged on the wire', () => {
    const o = cleanObservations();
    const f = o.flows.find((x) => x.flow.kind === 'host-pod-same')!;
    f.sent!.src = '192.0.2.9';
    f.atReceiver = [at(f.flow.to!, '192.0.2.9', f.flow.dstIP)];
    const r = judge('NM-2.1', o);
    expect(r.result).toBe('failed');
    expect(r.reason).toContain('is not an address of n1');
  });

  test('NM-4.1: a pod IP leaving the uplink fails; no target or a failed connection is inconclusive', () => {
    const o = cleanObservations();
    const f = o.flows.find((x) => x.flow.kind === 'pod-external')!;
    f.atUplink = [at('pw-host-n1', '10.244.1.2', '198.51.100.10')];
    expect(judge('NM-4.1', o).result).toBe('failed');
    f.atUplink = [];
    f.sent!.exitCode = 1;
    expect(judge('NM-4.1', o)).toMatchObject({ result: 'inconclusive' });
    const { external: _, ...noTarget } = cleanObservations();
    expect(judge('NM-4.1', noTarget)).toMatchObject({ result: 'inconclusive', reason: expect.stringContaining('--external-target') });
  });

  test('NM-4.1: a connection that failed is judged by its SYN on the uplink: a pod source fails, with the SYN as decisive packet', () => {
    const o = cleanObservations();
    const f = o.flows.find((x) => x.flow.kind === 'pod-external')!;
    f.atUplink = [];
    f.replyAtSender = [];
    f.sent!.exitCode = 1;
    f.handshakeAtUplink = [at('pw-host-n1', '10.244.1.2', '198.51.100.10', { packet: 7, tcpFlags: 'S' })];
    const r = judge('NM-4.1', o);
    expect(r.result).toBe('failed');
    expect(r.flows.find((x) => x.flow === f.flow.id)!.decisive).toEqual({ capture: 'pw-host-n1', packet: 7, src: '10.244.1.2', dst: '198.51.100.10', role: "SYN on n1's uplink" });
    f.handshakeAtUplink = [at('pw-host-n1', '172.18.0.11', '198.51.100.10')];
    expect(judge('NM-4.1', o).result).toBe('inconclusive');
  });

  test('a flow that never arrived names the packet as sent, the SYN, or the unanswered ARP as decisive', () => {
    const o = cleanObservations();
    const f = o.flows.find((x) => x.flow.kind === 'pod-pod-cross' && x.flow.proto === 'tcp')!;
    f.atReceiver = [];
    f.atSender = [at(f.flow.from, '10.244.1.2', f.flow.dstIP, { packet: 3 })];
    const v = () => judge('NM-1.2', o).flows.find((x) => x.flow === f.flow.id)!;
    expect(v()).toMatchObject({ verdict: 'failed', decisive: { capture: f.flow.from, packet: 3, role: expect.stringContaining('never received') } });
    f.atSender = [];
    f.handshakeAtSender = [at(f.flow.from, '10.244.1.2', f.flow.dstIP, { packet: 1, tcpFlags: 'S' })];
    expect(v().observed).toMatch(/no connection: its SYN \(S\) left as 10\.244\.1\.2 > 10\.244\.2\.2, packet #1/);
    f.handshakeAtSender = [];
    f.arpAtSender = [at(f.flow.from, '10.244.1.2', f.flow.dstIP, { packet: 0 })];
    expect(v().observed).toMatch(/unanswered ARP/);
  });

  test('NM-5.1: a full-size DF datagram passes when it arrives or draws "fragmentation needed", fails when it vanishes', () => {
    const o = cleanObservations();
    const f = o.flows.find((x) => x.flow.kind === 'pod-pod-mtu')!;
    expect(f.flow).toMatchObject({ proto: 'udp', dstPort: 7173, size: 1450 });
    f.atReceiver = [];
    f.atSender = [at(f.flow.from, '10.244.1.2', f.flow.dstIP, { packet: 9, length: 1450, df: true })];
    const r = judge('NM-5.1', o);
    expect(r.result).toBe('failed');
    expect(r.flows.find((x) => x.flow === f.flow.id)).toMatchObject({ observed: expect.stringContaining('1450 bytes with DF (packet #9'), decisive: { packet: 9 } });
    f.fragNeededAtSender = [at(f.flow.from, '10.244.1.1', '10.244.1.2', { icmpMtu: 1400 })];
    expect(judge('NM-5.1', o).result).toBe('passed');
    // Path control: when small datagrams between the same pods do not arrive either, size is not the question.
    f.fragNeededAtSender = [];
    o.flows.find((x) => x.flow.kind === 'pod-pod-cross' && x.flow.proto === 'udp' && x.flow.from === f.flow.from && x.flow.to === f.flow.to)!.atReceiver = [];
    expect(judge('NM-5.1', o)).toMatchObject({ result: 'inconclusive', reason: expect.stringContaining('not a question of size') });
  });

  test('NM-4.2: an inner source rewritten to the node address fails', () => {
    const o = cleanObservations();
    const f = o.flows.find((x) => x.flow.kind === 'pod-pod-cross')!;
    f.atUplink = [at('pw-host-n1', '172.18.0.11', f.flow.dstIP, { encapsulation: ['vxlan'], outerSrc: '172.18.0.11', outerDst: '172.18.0.12' })];
    expect(judge('NM-4.2', o).result).toBe('failed');
  });

  test('NM-3.1 and NM-3.2 judge the API: duplicates, overlaps, pod IPs outside their node, pod IPs equal to node IPs', () => {
    const o = cleanObservations();
    o.pods.push({ namespace: 'y', name: 'dup', hostNetwork: false, podIPs: ['10.244.1.2'], node: 'n1' });
    expect(judge('NM-3.1', o)).toMatchObject({ result: 'failed', reason: expect.stringContaining('10.244.1.2 is held by x/pw-pod-n1-a, y/dup') });
    const p = cleanObservations();
    p.nodes[1]!.podCIDRs = ['10.244.1.0/24'];
    expect(judge('NM-3.2', p)).toMatchObject({ result: 'failed', reason: expect.stringContaining('pod CIDRs overlap') });
    const q = cleanObservations();
    q.pods.push({ namespace: 'y', name: 'odd', hostNetwork: false, podIPs: ['172.18.0.12'], node: 'n2' });
    expect(judge('NM-3.2', q).reason).toMatch(/an address of node n2.*outside n2's pod CIDR/);
  });

  test('NM-3.3: answered by another probe fails', () => {
    const o = cleanObservations();
    const f = o.flows.find((x) => x.flow.kind === 'pod-pod-cross')!;
    f.sent!.reply = `${f.flow.token}.from.pw-pod-n2-b`;
    expect(judge('NM-3.3', o)).toMatchObject({ result: 'failed' });
  });
});

describe('flows', () => {
  test('every ordered node pair, both protocols; execs stay one per probe', () => {
    const cross = flows.filter((f) => f.kind === 'pod-pod-cross');
    expect(cross.map((f) => `${f.from}>${f.to}/${f.proto}`).sort()).toEqual([
      'pw-pod-n1-a>pw-pod-n2-a/tcp', 'pw-pod-n1-a>pw-pod-n2-a/udp', 'pw-pod-n2-a>pw-pod-n1-a/tcp', 'pw-pod-n2-a>pw-pod-n1-a/udp']);
    expect(new Set(flows.map((f) => f.token)).size).toBe(flows.length);
    expect(flows.every((f) => f.token.startsWith('podwire/r1/'))).toBe(true);
  });

  test('the sender script binds each flow to the source the route lookup names, and its report parses', () => {
    const script = senderScript(flows.filter((f) => f.from === 'pw-pod-n1-a'));
    // One route lookup per destination, all in one `ip -batch`; each flow binds to the source it names.
    const dsts = new Set(flows.filter((f) => f.from === 'pw-pod-n1-a').map((f) => f.dstIP));
    expect(script.match(/^route get /gm)!.length).toBe(dsts.size);
    expect(script).toContain('[ "$1" = src ] && src=$2');
    expect(script).toContain('bind=$src');
    expect(script.match(/^send /gm)!.length).toBe(flows.filter((f) => f.from === 'pw-pod-n1-a').length);
    const sent = parseSenderOutput('SENT f1 10.244.1.2 0 podwire/r1/f1.from.pw-pod-n1-b\nnoise\nSENT f2 - 98 no-route\n');
    expect(sent.get('f1')).toEqual({ id: 'f1', src: '10.244.1.2', exitCode: 0, reply: 'podwire/r1/f1.from.pw-pod-n1-b' });
    expect(sent.get('f2')!.exitCode).toBe(98);
  });

  test('inventory: pod probes count eth0 only; host probes name their uplink', () => {
    const out = '== addr\n1: lo    inet 127.0.0.1/8 scope host lo\n2: eth0    inet 10.244.1.2/24 brd x\n3: cni0    inet 10.244.1.1/24\n== route\ndefault via 172.18.0.1 dev eth0\n== uplink eth0 2\n';
    expect(parseInventory(out, 'pod')).toMatchObject({ addresses: ['10.244.1.2'], uplink: 'eth0', uplinkIfindex: 2 });
    expect(parseInventory(out, 'host').addresses).toEqual(['10.244.1.2', '10.244.1.1']);
  });
});

describe('selection and options', () => {
  test('--only takes ids and rule families; --skip removes', () => {
    expect(selectChecks(['NM-1'], []).map((c) => c.id)).toEqual(['NM-1.1', 'NM-1.2', 'NM-1.3']);
    expect(selectChecks(['NM-4.*', 'NM-3.1'], ['NM-4.2']).map((c) => c.id)).toEqual(['NM-3.1', 'NM-4.1']);
    expect(() => selectChecks(['NM-7'], [])).toThrow(/unknown check id `NM-7`/);
  });

  test.each([
    [['--external-target', '1.2.3.4'], /IPv4:PORT/],
    [['--external-target', '1.2.3.4:0'], /IPv4:PORT/],
    [['--only', 'NM-1', '--skip', 'NM-1'], /leave no check/],
    [['--timeout', 'soon'], /`--timeout`/],
    [['--probe-image', 'bad image'], /`--probe-image`/],
  ])('%j is refused', (argv, message) => {
    expect(() => parseRunOptions(argv)).toThrow(UsageError);
    expect(() => parseRunOptions(argv)).toThrow(message);
  });

  test('defaults', () => {
    expect(parseRunOptions([])).toMatchObject({ probeImage: 'nicolaka/netshoot:v0.13', reportDir: 'reports', keep: false, timeoutS: 120, only: [], skip: [] });
  });
});
