// The judges on recorded bundles (fixtures/bundles/: real 2-node lab runs,
// `--profile strict`): what each clean lab and each fault must give, flow by
// flow where the fault is about a direction or a packet.
import { describe, expect, test } from 'vitest';
import { CHECK_IDS, CHECKS } from '../../src/conformance/catalogue.js';
import type { Verdict } from '../../src/conformance/model.js';
import { FAULTS } from '../../src/lab/faults.js';
import { exitCodeOf } from '../../src/report/model.js';
import {
  CASES, checkOf, crossNode, flowBy, flowsOf, ids, idsOf, judge, loadBundle, nodeOf, probe, results, sentOf, tally, verdictOf, verdicts, type Case,
} from '../helpers/bundles.js';

/** Each case's check results under `--profile strict`: the checks named here, every other check passed. */
const EXPECTED: Record<(typeof CASES)[number], Partial<Record<Exclude<Verdict, 'passed'>, string[]>>> = {
  'clean-hostgw': {},
  'clean-vxlan': {},
  'missing-route': { failed: ['NM-1.2', 'NM-1.3', 'NM-2.2', 'NM-2.3', 'NM-2.4'], inconclusive: ['NM-3.3', 'NM-5.1'] },
  'pod-to-node-snat': { failed: ['NM-2.3'] },
  'masquerade-all': { failed: ['NM-1.2', 'NM-2.3', 'NM-4.2'] },
  'no-egress-snat': { failed: ['NM-4.1'] },
  'mtu-blackhole': { failed: ['NM-5.1'] },
  'wrong-status-ip': { failed: ['NM-1.1', 'NM-1.2', 'NM-2.1', 'NM-2.2', 'NM-2.3', 'NM-3.3', 'NM-4.1', 'NM-4.2'], inconclusive: ['NM-1.3', 'NM-5.1'] },
};

describe('every recorded case', () => {
  test.each(CASES)('%s: each check gives the result the case calls for', async (name) => {
    const r = judge(await loadBundle(name));
    const want = Object.fromEntries(CHECK_IDS.map((id) => [id, 'passed']));
    for (const [verdict, checks] of Object.entries(EXPECTED[name])) for (const id of checks) want[id] = verdict;
    expect(results(r)).toEqual(want);
    const failed = EXPECTED[name].failed?.length ?? 0;
    const inconclusive = EXPECTED[name].inconclusive?.length ?? 0;
    expect(r.summary).toEqual({ passed: CHECK_IDS.length - failed - inconclusive, failed, inconclusive, skipped: 0, total: CHECK_IDS.length });
    expect(exitCodeOf(r)).toBe(failed ? 1 : 0);
  });

  test.each(CASES)('%s: a check fails only on failed flows, and each failed flow names the packet that decided it, from a capture it lists', async (name) => {
    const r = judge(await loadBundle(name));
    for (const c of r.checks) {
      if (c.result === 'failed') expect(verdicts(c, 'failed').length, c.id).toBeGreaterThan(0);
      else expect(verdicts(c, 'failed'), c.id).toEqual([]);
      for (const f of verdicts(c, 'failed').filter((x) => x.kind !== 'api' && x.kind !== 'inventory')) {
        expect(f.decisive, `${c.id} ${f.flow}`).toBeDefined();
        expect(f.captures, `${c.id} ${f.flow}`).toContain(f.decisive!.capture);
      }
    }
  });

  test.each(FAULTS.filter((f) => (CASES as readonly string[]).includes(f.name) && f.name !== 'missing-route').map((f) => [f.name, f] as const))(
    '%s: fails exactly the checks the lab\'s fault declaration says catch it, and leaves undecided exactly those it declares',
    async (name, fault) => {
      const r = judge(await loadBundle(name as Case));
      expect(r.checks.filter((c) => c.result === 'failed').map((c) => c.id)).toEqual([...fault.caughtBy]);
      expect(r.checks.filter((c) => c.result === 'inconclusive').map((c) => c.id)).toEqual([...fault.undecided]);
    },
  );

  // The core NM-2.4 (pods reach every node) fails too: node-1's SYN-ACK to a node-2 pod is lost.
  test('missing-route: fails exactly the checks the lab\'s fault declaration says catch it', async () => {
    const r = judge(await loadBundle('missing-route'));
    expect(r.checks.filter((c) => c.result === 'failed').map((c) => c.id)).toEqual([...FAULTS.find((f) => f.name === 'missing-route')!.caughtBy]);
  });
});

describe('clean labs', () => {
  // 2 nodes, probes a, b and host on each: per node 2 same-node pod pairs × 2 directions... see the counts.
  test.each([
    ['NM-1.1', 8, '8 same-node pod flow(s) passed'], // a↔b on each node, TCP and UDP
    ['NM-1.2', 4, '4 cross-node pod flow(s) passed'], // node-1-a ↔ node-2-a, TCP and UDP
    ['NM-1.3', 12, '12 reply flow(s) passed'], // the replies of all the above
    ['NM-2.1', 4, '4 node-to-local-pod flow(s) passed'], // host → a and b, per node
    ['NM-2.2', 2, '2 node-to-remote-pod flow(s) passed'], // host → the other node's a
    ['NM-2.3', 4, '4 pod-to-node flow(s) passed'], // each a → both nodes
    ['NM-2.4', 4, '4 pod-to-node flow(s) passed'],
    ['NM-3.1', 4, '4 IPv4 pod IP(s) of 4 live pod(s), all unique'], // hostNetwork probes are not pod-network IPs
    ['NM-3.2', 3, "2 node(s)' pod CIDRs disjoint per family; 4 pod IP(s), none a node's address"], // one finding per node, one for the pod IPs
    ['NM-3.3', 16, '16 identity flow(s) passed'], // 4 pod probes' interfaces + 12 pod-to-pod answers
    ['NM-3.4', 4, "4 pod IP(s) inside their node's pod CIDR"],
    ['NM-4.1', 2, '2 egress flow(s) passed'],
    ['NM-4.2', 4, '4 uplink flow(s) passed'],
    ['NM-5.1', 2, '2 full-size flow(s) passed'], // one per ordered node pair
  ] as const)('%s passes on both dataplanes with %i flows: "%s"', async (id, n, reason) => {
    for (const name of ['clean-hostgw', 'clean-vxlan'] as const) {
      const c = checkOf(judge(await loadBundle(name)), id);
      expect(c, name).toMatchObject({ result: 'passed', reason });
      expect(tally(c), name).toEqual({ passed: n });
    }
  });

  test('a delivered flow is judged at both ends: the receiver\'s packet as received decides, and the verdict names both captures', async () => {
    const b = await loadBundle('clean-hostgw');
    const [a1, a2] = [probe(b, 'pw-pod-node-1-a'), probe(b, 'pw-pod-node-2-a')];
    const f = flowBy(b, 'pod-pod-cross', 'tcp', a1.name, a2.name);
    expect(verdictOf(checkOf(judge(b), 'NM-1.2'), f.id)).toMatchObject({
      kind: 'pod-pod-cross', proto: 'tcp', verdict: 'passed',
      from: `${a1.name} (${a1.ip})`, to: `${a2.name} (${a2.ip}:${a2.port})`,
      expected: `${a1.ip} > ${a2.ip}`, observed: `${a1.ip} > ${a2.ip} at ${a2.name}`,
      captures: [a2.name, a1.name], decisive: { capture: a2.name, src: a1.ip, dst: a2.ip, role: 'as received' },
    });
    expect(verdictOf(checkOf(judge(b), 'NM-1.3'), f.id)).toMatchObject({
      verdict: 'passed', expected: `${a2.ip} > ${a1.ip}`, observed: `reply ${a2.ip} > ${a1.ip}`, captures: [a1.name],
      decisive: { capture: a1.name, src: a2.ip, dst: a1.ip, role: 'reply as received' },
    });
    expect(verdictOf(checkOf(judge(b), 'NM-3.3'), f.id)).toMatchObject({ verdict: 'passed', expected: `answered by ${a2.name}`, observed: `answered by ${a2.name} (seen on the wire)` });
  });

  test('a node agent reaches its pods from the bridge address, an address of its node', async () => {
    const b = await loadBundle('clean-hostgw');
    const f = flowBy(b, 'host-pod-same', 'tcp', 'pw-host-node-1', 'pw-pod-node-1-a');
    expect(sentOf(b, f.id).src).toBe('10.244.1.1');
    expect(b.probes.inventory['pw-host-node-1']!.addresses).toContain('10.244.1.1');
    expect(verdictOf(checkOf(judge(b), 'NM-2.1'), f.id)).toMatchObject({ verdict: 'passed', expected: '10.244.1.1 > 10.244.1.2', observed: '10.244.1.1 > 10.244.1.2 at pw-pod-node-1-a' });
  });

  test.each([
    ['clean-hostgw', 1500],
    ['clean-vxlan', 1450], // the route MTU inside the overlay
  ] as const)('%s: NM-5.1 sends %i-byte DF datagrams and they arrive whole', async (name, size) => {
    const b = await loadBundle(name);
    const c = checkOf(judge(b), 'NM-5.1');
    for (const f of flowsOf(b, ['pod-pod-mtu'])) {
      const [from, to] = [probe(b, f.from), probe(b, f.to!)];
      expect(sentOf(b, f.id).size).toBe(size);
      expect(verdictOf(c, f.id)).toMatchObject({
        verdict: 'passed', captures: [from.name, to.name],
        expected: `a ${size}-byte DF datagram ${from.ip} > ${to.ip} at ${to.name}, or an ICMP "fragmentation needed" at ${from.name}`,
        observed: `arrived whole: ${size} bytes, DF, ${from.ip} > ${to.ip} at ${to.name}`,
      });
    }
  });

  test('egress leaves each node\'s uplink with the node\'s address, and the reply reaches the pod IP', async () => {
    const b = await loadBundle('clean-hostgw');
    const c = checkOf(judge(b), 'NM-4.1');
    for (const f of flowsOf(b, ['pod-external'])) {
      const pod = probe(b, f.from);
      const node = pod.node;
      const nodeIP = probe(b, `pw-host-${node}`).ip;
      expect(verdictOf(c, f.id)).toMatchObject({
        verdict: 'passed', to: 'external (198.51.100.10:80)', captures: [`pw-host-${node}`, pod.name],
        expected: `a node address > 198.51.100.10 on ${node}'s uplink; reply to ${pod.ip}`,
        observed: `left as ${nodeIP} > 198.51.100.10; reply 198.51.100.10 > ${pod.ip}`,
        decisive: { capture: `pw-host-${node}`, src: nodeIP, dst: '198.51.100.10', role: `on ${node}'s uplink` },
      });
    }
  });

  test('cross-node pod traffic leaves the uplink with the pod IP (host-gw: no encapsulation)', async () => {
    const b = await loadBundle('clean-hostgw');
    const c = checkOf(judge(b), 'NM-4.2');
    for (const f of flowsOf(b, ['pod-pod-cross'])) {
      const pod = probe(b, f.from);
      expect(verdictOf(c, f.id)).toMatchObject({
        verdict: 'passed', captures: [`pw-host-${pod.node}`], expected: `${pod.ip} > ${f.dstIP} (inner) on ${pod.node}'s uplink`, observed: `${pod.ip} > ${f.dstIP}`,
        decisive: { capture: `pw-host-${pod.node}`, role: `on ${pod.node}'s uplink` },
      });
    }
  });

  test('the API checks list what they judged', async () => {
    const r = judge(await loadBundle('clean-hostgw'));
    expect(checkOf(r, 'NM-3.1').flows.map((f) => [f.flow, f.observed])).toEqual([
      ['10.244.1.2', `IPv4 10.244.1.2 is held by podwire-${r.runId}/pw-pod-node-1-a only`],
      ['10.244.1.3', `IPv4 10.244.1.3 is held by podwire-${r.runId}/pw-pod-node-1-b only`],
      ['10.244.2.2', `IPv4 10.244.2.2 is held by podwire-${r.runId}/pw-pod-node-2-a only`],
      ['10.244.2.3', `IPv4 10.244.2.3 is held by podwire-${r.runId}/pw-pod-node-2-b only`],
    ]);
    expect(checkOf(r, 'NM-3.2').flows.map((f) => f.observed)).toEqual([
      "node-1 pod CIDR(s) 10.244.1.0/24 overlap no other node's",
      "node-2 pod CIDR(s) 10.244.2.0/24 overlap no other node's",
      '4 pod IP(s) checked against 2 node address(es): none equal',
    ]);
    expect(verdictOf(checkOf(r, 'NM-3.4'), `podwire-${r.runId}/pw-pod-node-2-b 10.244.2.3`)).toMatchObject({
      verdict: 'passed', kind: 'api', expected: "inside node-2's pod CIDR", observed: `pod podwire-${r.runId}/pw-pod-node-2-b has 10.244.2.3, inside node-2's pod CIDR 10.244.2.0/24`,
    });
    expect(verdictOf(checkOf(r, 'NM-3.3'), 'addr-pw-pod-node-1-a')).toMatchObject({ kind: 'inventory', verdict: 'passed', expected: 'eth0 has 10.244.1.2', observed: 'eth0 has 10.244.1.2' });
  });

  test('the report carries the run, its options, coverage, capture counters and counts', async () => {
    const b = await loadBundle('clean-hostgw');
    const r = judge(b);
    expect(r).toMatchObject({
      apiVersion: 'podwire.dev/v1alpha1', kind: 'ConformanceReport', runId: b.run.runId, startedAt: b.run.startedAt, finishedAt: b.run.finishedAt,
      durationMs: Date.parse(b.run.finishedAt) - Date.parse(b.run.startedAt),
      implementation: b.run.implementation,
      cluster: { server: b.run.cluster.server, version: b.run.cluster.version },
      options: { ...b.run.options, profile: 'strict', egressSnat: 'node' },
      coverage: { nodes: 2, covered: 2, notCovered: [], leftOut: [] },
      counts: { probes: 6, flows: 26, captures: 6, execs: b.run.counts.execs, retried: 0 },
      probes: b.probes.probes,
    });
    expect(r.durationMs).toBeGreaterThan(0);
    expect(r.cluster.nodes).toEqual([
      { name: 'node-1', addresses: ['172.18.0.11'], podCIDRs: ['10.244.1.0/24'] },
      { name: 'node-2', addresses: ['172.18.0.12'], podCIDRs: ['10.244.2.0/24'] },
    ]);
    expect(r.captures).toEqual(b.captures.map((c) => ({ probe: c.probe, captured: c.stats.captured, receivedByFilter: c.stats.receivedByFilter, droppedByKernel: 0, complete: true })));
    expect(r.profiles).toEqual({
      core: { passed: 11, failed: 0, skipped: 0, inconclusive: 0, total: 11 },
      strict: { passed: 2, failed: 0, skipped: 0, inconclusive: 0, total: 2 },
      extended: { passed: 1, failed: 0, skipped: 0, inconclusive: 0, total: 1 },
    });
    expect(r.checks.map((c) => [c.title, c.rule])).toEqual(CHECKS.map((c) => [c.title, c.rule]));
    expect(r.checks.map((c) => [c.id, c.profile])).toEqual([
      ['NM-1.1', 'core'], ['NM-1.2', 'core'], ['NM-1.3', 'core'], ['NM-2.1', 'core'], ['NM-2.2', 'core'], ['NM-2.3', 'strict'], ['NM-2.4', 'core'],
      ['NM-3.1', 'core'], ['NM-3.2', 'core'], ['NM-3.3', 'core'], ['NM-3.4', 'strict'], ['NM-4.1', 'core'], ['NM-4.2', 'core'], ['NM-5.1', 'extended'],
    ]);
  });

  test('judging is pure: the same bundle gives the same report twice', async () => {
    const b = await loadBundle('missing-route');
    expect(judge(b)).toEqual(judge(b));
  });

  test('host-gw fingerprint: pod traffic crosses nodes unencapsulated; same-node traffic stays on the node', async () => {
    expect(judge(await loadBundle('clean-hostgw')).dataplane).toEqual([
      { path: 'same-node', encapsulation: 'none (stays on the node)', overheadBytes: 0, samples: 8 },
      { path: 'cross-node', encapsulation: 'none', overheadBytes: 0, samples: 4 },
      { path: 'node-to-pod', encapsulation: 'none', overheadBytes: 0, samples: 2 },
      { path: 'egress', encapsulation: 'none', overheadBytes: 0, samples: 2 },
    ]);
  });

  test('vxlan fingerprint: the 50-byte VXLAN overhead is measured on cross-node and node-to-pod paths, not on egress', async () => {
    const fp = judge(await loadBundle('clean-vxlan')).dataplane;
    expect(fp.find((p) => p.path === 'cross-node')!.overheadBytes).toBe(50);
    expect(fp.find((p) => p.path === 'node-to-pod')!.overheadBytes).toBe(50);
    expect(fp.find((p) => p.path === 'egress')).toEqual({ path: 'egress', encapsulation: 'none', overheadBytes: 0, samples: 2 });
  });

  // A tunnelled packet is seen twice leaving the node (plain on flannel.1, VXLAN on eth0): the outermost copy is what crossed the wire.
  test('vxlan fingerprint: cross-node pod traffic is named VXLAN', async () => {
    const fp = judge(await loadBundle('clean-vxlan')).dataplane;
    expect(fp.find((p) => p.path === 'cross-node')!.encapsulation).toBe('vxlan');
    expect(fp.find((p) => p.path === 'node-to-pod')!.encapsulation).toBe('vxlan');
  });
});

describe('profiles and declared egress, on recorded bundles', () => {
  test.each([
    ['core', ['core'], ['NM-1.1', 'NM-1.2', 'NM-1.3', 'NM-2.1', 'NM-2.2', 'NM-2.4', 'NM-3.1', 'NM-3.2', 'NM-3.3', 'NM-4.1', 'NM-4.2']],
    ['extended', ['core', 'extended'], ['NM-1.1', 'NM-1.2', 'NM-1.3', 'NM-2.1', 'NM-2.2', 'NM-2.4', 'NM-3.1', 'NM-3.2', 'NM-3.3', 'NM-4.1', 'NM-4.2', 'NM-5.1']],
    ['strict', ['core', 'strict', 'extended'], CHECK_IDS],
  ] as const)('--profile %s judges the checks of %j only', async (profile, profiles, checks) => {
    const r = judge(await loadBundle('clean-hostgw'), { profile });
    expect(r.checks.map((c) => c.id)).toEqual(checks);
    expect(Object.keys(r.profiles)).toEqual(profiles);
    expect(r.options.profile).toBe(profile);
    expect(r.summary).toMatchObject({ passed: checks.length, total: checks.length });
  });

  test('pod-to-node-snat: the default profile passes (exit 0); strict fails NM-2.3 alone (exit 1)', async () => {
    const b = await loadBundle('pod-to-node-snat');
    const core = judge(b, { profile: 'extended' });
    expect(core.summary).toMatchObject({ failed: 0, passed: 12 });
    expect(exitCodeOf(core)).toBe(0);
    const strict = judge(b, { profile: 'strict' });
    expect(strict.checks.filter((c) => c.result === 'failed').map((c) => c.id)).toEqual(['NM-2.3']);
    expect(exitCodeOf(strict)).toBe(1);
  });

  test('a declared off-node egress SNAT fails a clean lab\'s NM-4.1: its uplink shows a node address', async () => {
    const b = await loadBundle('clean-hostgw');
    const r = judge(b, { egressSnat: 'off-node' });
    expect(r.options.egressSnat).toBe('off-node');
    const c = checkOf(r, 'NM-4.1');
    expect(c.result).toBe('failed');
    expect(tally(c)).toEqual({ failed: 2 });
    const f = flowBy(b, 'pod-external', 'tcp', 'pw-pod-node-1-a');
    expect(verdictOf(c, f.id)).toMatchObject({
      expected: "the pod IP 10.244.1.2 (egress SNAT off the node) > 198.51.100.10 on node-1's uplink; reply to 10.244.1.2",
      observed: expect.stringMatching(/^left node-1's uplink as 172\.18\.0\.11 > 198\.51\.100\.10 \(packet #\d+ at pw-host-node-1\): SNATed on the node, though egress SNAT was declared off the node$/),
      decisive: { capture: 'pw-host-node-1', src: '172.18.0.11', role: "on node-1's uplink" },
    });
    // Everything else is unchanged by the declaration.
    expect(r.checks.filter((x) => x.result !== 'passed').map((x) => x.id)).toEqual(['NM-4.1']);
  });

  test.each(['none', 'off-node'] as const)('no-egress-snat declared as --egress-snat %s: the pod IP on the uplink is right, but no reply came back: inconclusive, naming the failed connection', async (egressSnat) => {
    const b = await loadBundle('no-egress-snat');
    const c = checkOf(judge(b, { egressSnat }), 'NM-4.1');
    expect(c.result).toBe('inconclusive');
    const f = flowBy(b, 'pod-external', 'tcp', 'pw-pod-node-1-a');
    const s = sentOf(b, f.id);
    expect(s.errno).not.toBe(0);
    expect(verdictOf(c, f.id)).toMatchObject({
      verdict: 'inconclusive',
      expected: `the pod IP 10.244.1.2 (egress SNAT ${egressSnat === 'none' ? 'nowhere' : 'off the node'}) > 198.51.100.10 on node-1's uplink; reply to 10.244.1.2`,
      observed: `the connection to 198.51.100.10:80 failed (${s.error}): target unreachable or port closed; its SYN left as 10.244.1.2 > 198.51.100.10`,
    });
  });
});

describe('faults', () => {
  test('pod-to-node-snat: NM-2.3 fails exactly the cross-node pod→node flows, with the node address the node saw; NM-2.4 passes them with a note naming the SNAT', async () => {
    const b = await loadBundle('pod-to-node-snat');
    const r = judge(b);
    const cross = flowsOf(b, ['pod-node'], crossNode(b));
    expect(cross).toHaveLength(2);
    const strict = checkOf(r, 'NM-2.3');
    expect(idsOf(strict, 'failed')).toEqual(ids(cross));
    expect(idsOf(strict, 'passed')).toEqual(ids(flowsOf(b, ['pod-node'], (f) => !crossNode(b)(f))));
    expect(strict.reason).toMatch(/^2 of 4 pod-to-node flow\(s\) failed: /);
    const core = checkOf(r, 'NM-2.4');
    expect(tally(core)).toEqual({ passed: 4 });
    for (const f of cross) {
      const sender = probe(b, f.from);
      const senderNodeIP = probe(b, `pw-host-${sender.node}`).ip;
      expect(verdictOf(strict, f.id)).toMatchObject({
        expected: `${sender.ip} > ${f.dstIP}`, observed: expect.stringMatching(new RegExp(`^${senderNodeIP} > ${f.dstIP} at ${f.to} \\(packet #\\d+\\)$`)),
        decisive: { capture: f.to, src: senderNodeIP, dst: f.dstIP, role: 'as received' },
      });
      expect(verdictOf(core, f.id)).toMatchObject({
        verdict: 'passed', expected: `delivered to ${nodeOf(b, f.to)} (${f.dstIP}) and answered`,
        observed: `${senderNodeIP} > ${f.dstIP} at ${f.to}; the reply came back`,
        note: `the node saw ${senderNodeIP}, not the pod IP (SNAT; strict NM-2.3 reads that as a failure)`,
      });
    }
    for (const f of flowsOf(b, ['pod-node'], (x) => !crossNode(b)(x))) expect(verdictOf(core, f.id).note).toBeUndefined();
  });

  test('missing-route (node-1 has no route to node-2\'s pods): forward flows from node-1 die on the way out; TCP flows from node-2 whose SYN arrived name the return path from node-1 to node-2, with the receiver\'s SYN-ACK as decisive packet', async () => {
    const b = await loadBundle('missing-route');
    const r = judge(b);
    const n12 = (from: string, to: string) => (f: { from: string; to?: string }) => nodeOf(b, f.from) === from && nodeOf(b, f.to) === to;
    // The return-path verdicts: every TCP flow node-2 → node-1 that carried no data, in every check that judges delivery.
    const back = flowsOf(b, ['pod-pod-cross', 'pod-node'], (f) => f.proto === 'tcp' && n12('node-2', 'node-1')(f));
    expect(back.map((f) => f.kind).sort()).toEqual(['pod-node', 'pod-pod-cross']);
    for (const [id, f] of [['NM-1.2', back[0]!], ['NM-2.3', back[1]!], ['NM-2.4', back[1]!]] as const) {
      const v = verdictOf(checkOf(r, id), f.id);
      const [sender, receiver] = [probe(b, f.from), b.probes.probes.find((p) => p.name === f.to)!];
      expect(v.verdict, id).toBe('failed');
      expect(v.observed, id).toMatch(new RegExp(`^not seen at ${receiver.name} \\(sender: ETIMEDOUT\\); its SYN reached ${receiver.name} \\(${sender.ip} > ${f.dstIP}, packet #\\d+ at ${receiver.name}\\) and the SYN-ACK left it \\(${f.dstIP} > ${sender.ip}, packet #\\d+\\), but never reached ${sender.name}: the return path from node-1 to node-2 is broken$`));
      expect(v.decisive, id).toMatchObject({
        capture: receiver.name, src: f.dstIP, dst: sender.ip,
        role: `SYN-ACK sent by ${receiver.name}, never received by ${sender.name}: return path node-1 -> node-2 broken`,
      });
    }
    // Forward flows node-1 → node-2 pods fail at the sender's side: the SYN or the datagram left and never arrived.
    const nm12 = checkOf(r, 'NM-1.2');
    const out = flowsOf(b, ['pod-pod-cross'], n12('node-1', 'node-2'));
    for (const f of out) {
      const v = verdictOf(nm12, f.id);
      expect(v.verdict).toBe('failed');
      expect(v.decisive).toMatchObject({ capture: f.from, role: f.proto === 'tcp' ? 'no connection: its SYN (S) left; never received at pw-pod-node-2-a' : 'sent; never received at pw-pod-node-2-a' });
      expect(v.observed).not.toContain('return path');
    }
    // The UDP flow node-2 → node-1 arrived (the forward path works): NM-1.2 passes it, NM-1.3 fails its reply.
    const udpBack = flowBy(b, 'pod-pod-cross', 'udp', 'pw-pod-node-2-a', 'pw-pod-node-1-a');
    expect(idsOf(nm12, 'passed')).toEqual([udpBack.id]);
    const nm13 = checkOf(r, 'NM-1.3');
    expect(idsOf(nm13, 'failed')).toEqual([udpBack.id]);
    expect(verdictOf(nm13, udpBack.id)).toMatchObject({
      captures: ['pw-pod-node-2-a', 'pw-pod-node-1-a'],
      observed: expect.stringMatching(/^no reply seen at pw-pod-node-2-a although pw-pod-node-1-a received the request \(10\.244\.2\.3 > 10\.244\.1\.3, packet #\d+ at pw-pod-node-1-a\): the return path node-1 -> node-2 is broken$/),
      decisive: { capture: 'pw-pod-node-1-a', src: '10.244.2.3', dst: '10.244.1.3', role: 'request as received; no reply reached the sender (return path node-1 -> node-2)' },
      retried: true,
    });
    // Requests that never arrived leave their reply undecided.
    expect(idsOf(nm13, 'inconclusive')).toEqual(ids([...out, back[0]!]));
    for (const id of idsOf(nm13, 'inconclusive')) expect(verdictOf(nm13, id).observed).toBe('the request was not delivered (see NM-1.1/NM-1.2)');
    expect(r.counts.retried).toBe(2);
  });

  test('missing-route: the node agent\'s flow to a node-2 pod draws "network unreachable" from the router, named on the failed verdict', async () => {
    const b = await loadBundle('missing-route');
    const f = flowBy(b, 'host-pod-cross', 'tcp', 'pw-host-node-1');
    const c = checkOf(judge(b), 'NM-2.2');
    expect(idsOf(c, 'failed')).toEqual([f.id]);
    expect(verdictOf(c, f.id).observed).toMatch(/^not seen at pw-pod-node-2-a \(sender: ENETUNREACH\); no connection: its SYN \(S\) left as 172\.18\.0\.11 > 10\.244\.2\.3, packet #\d+ at pw-host-node-1; ICMP network unreachable from 172\.18\.0\.1 \(packet #\d+ at pw-host-node-1\)$/);
  });

  test('missing-route: no answer leaves identity undecided; the MTU probe on a path where small datagrams fail is not about size', async () => {
    const b = await loadBundle('missing-route');
    const r = judge(b);
    const id = checkOf(r, 'NM-3.3');
    expect(id.reason).toBe('4 identity flow(s) could not be decided: no answer');
    expect(idsOf(id, 'inconclusive')).toEqual(ids(flowsOf(b, ['pod-pod-cross'])));
    const mtu = checkOf(r, 'NM-5.1');
    const small = flowBy(b, 'pod-pod-cross', 'udp', 'pw-pod-node-1-a', 'pw-pod-node-2-a');
    const big = flowBy(b, 'pod-pod-mtu', 'udp', 'pw-pod-node-1-a');
    expect(verdictOf(mtu, big.id)).toMatchObject({ verdict: 'inconclusive', observed: `small datagrams on this path do not arrive either (flow ${small.id}, see NM-1.2): not a question of size` });
    expect(verdictOf(mtu, flowBy(b, 'pod-pod-mtu', 'udp', 'pw-pod-node-2-a').id).verdict).toBe('passed');
  });

  test('masquerade-all: every cross-node pod flow arrives from the sender\'s node address, at the receiver and on the uplink; replies are un-NATed back', async () => {
    const b = await loadBundle('masquerade-all');
    const r = judge(b);
    const cross = flowsOf(b, ['pod-pod-cross']);
    for (const id of ['NM-1.2', 'NM-4.2']) expect(idsOf(checkOf(r, id), 'failed'), id).toEqual(ids(cross));
    for (const f of cross) {
      const node = nodeOf(b, f.from)!;
      const nodeIP = probe(b, `pw-host-${node}`).ip;
      expect(verdictOf(checkOf(r, 'NM-1.2'), f.id).decisive).toMatchObject({ capture: f.to, src: nodeIP, dst: f.dstIP, role: 'as received' });
      expect(verdictOf(checkOf(r, 'NM-4.2'), f.id)).toMatchObject({
        observed: expect.stringMatching(new RegExp(`^${nodeIP} > ${f.dstIP} on the uplink \\(packet #\\d+ at pw-host-${node}\\)$`)),
        decisive: { capture: `pw-host-${node}`, src: nodeIP, role: `on ${node}'s uplink` },
      });
    }
    expect(checkOf(r, 'NM-1.3').result).toBe('passed');
  });

  test('no-egress-snat: the connection\'s SYN leaves the uplink with the pod IP and no reply comes back', async () => {
    const b = await loadBundle('no-egress-snat');
    const c = checkOf(judge(b), 'NM-4.1');
    for (const f of flowsOf(b, ['pod-external'])) {
      const pod = probe(b, f.from);
      expect(verdictOf(c, f.id)).toMatchObject({
        verdict: 'failed',
        observed: expect.stringMatching(new RegExp(`^the connection's SYN left ${pod.node}'s uplink as ${pod.ip} > 198\\.51\\.100\\.10 \\(packet #\\d+ at pw-host-${pod.node}\\): not SNATed to a node address, and no reply came back$`)),
        decisive: { capture: `pw-host-${pod.node}`, src: pod.ip, dst: '198.51.100.10', role: `SYN on ${pod.node}'s uplink` },
      });
    }
  });

  test('mtu-blackhole: the 1500-byte DF datagrams leave the sender and vanish without an ICMP error', async () => {
    const b = await loadBundle('mtu-blackhole');
    const c = checkOf(judge(b), 'NM-5.1');
    expect(c.reason).toMatch(/^2 of 2 full-size flow\(s\) failed: /);
    for (const f of flowsOf(b, ['pod-pod-mtu'])) {
      const [from, to] = [probe(b, f.from), probe(b, f.to!)];
      expect(sentOf(b, f.id).size).toBe(1500);
      expect(verdictOf(c, f.id)).toMatchObject({
        verdict: 'failed',
        expected: `a 1500-byte DF datagram ${from.ip} > ${to.ip} at ${to.name}, or an ICMP "fragmentation needed" at ${from.name}`,
        observed: expect.stringMatching(new RegExp(`^sent as ${from.ip} > ${to.ip}, 1500 bytes with DF \\(packet #\\d+ at ${from.name}\\); never seen at ${to.name}, and no ICMP "fragmentation needed" came back: silently dropped$`)),
        decisive: { capture: from.name, src: from.ip, dst: to.ip, role: 'as sent; vanished without an ICMP error' },
      });
    }
  });

  test('wrong-status-ip: the API is self-consistent (NM-3.x pass) but node-2\'s pods hold other addresses: identity fails on their interfaces, egress replies reach the real address', async () => {
    const b = await loadBundle('wrong-status-ip');
    const r = judge(b);
    for (const id of ['NM-3.1', 'NM-3.2', 'NM-3.4']) expect(checkOf(r, id).result, id).toBe('passed');
    const identity = checkOf(r, 'NM-3.3');
    expect(idsOf(identity, 'failed')).toEqual(['addr-pw-pod-node-2-a', 'addr-pw-pod-node-2-b']);
    expect(verdictOf(identity, 'addr-pw-pod-node-2-a')).toMatchObject({ expected: 'eth0 has 10.244.2.102', observed: 'eth0 has 10.244.2.2' });
    const egress = flowBy(b, 'pod-external', 'tcp', 'pw-pod-node-2-a');
    expect(verdictOf(checkOf(r, 'NM-4.1'), egress.id)).toMatchObject({
      verdict: 'failed', observed: expect.stringMatching(/^reply 198\.51\.100\.10 > 10\.244\.2\.2 \(packet #\d+ at pw-pod-node-2-a\) reached the pod addressed to 10\.244\.2\.2, not its pod IP 10\.244\.2\.102$/),
      decisive: { capture: 'pw-pod-node-2-a', dst: '10.244.2.2', role: 'reply as received' },
    });
    // Every failed flow has a node-2 pod at one end.
    for (const c of r.checks) {
      for (const f of verdicts(c, 'failed').filter((x) => x.kind !== 'inventory')) expect(`${f.from} ${f.to}`, `${c.id} ${f.flow}`).toMatch(/pw-pod-node-2-/);
    }
  });

  test('wrong-status-ip: a flow to a stale address nobody holds fails on the sender\'s positive evidence (an ARP nobody answered, ICMP host unreachable)', async () => {
    const b = await loadBundle('wrong-status-ip');
    const f = flowBy(b, 'pod-pod-same', 'udp', 'pw-pod-node-2-a', 'pw-pod-node-2-b');
    const v = verdictOf(checkOf(judge(b), 'NM-1.1'), f.id);
    expect(v.verdict).toBe('failed');
    expect(v.observed).toMatch(/^not seen at pw-pod-node-2-b( \(sender: \w+\))?; nothing left: only an unanswered ARP who-has, 10\.244\.2\.2 > 10\.244\.2\.103, packet #\d+ at pw-pod-node-2-a(; ICMP host unreachable from 10\.244\.2\.2 \(packet #\d+ at pw-pod-node-2-a\))+$/);
    expect(v.decisive).toMatchObject({ capture: 'pw-pod-node-2-a', src: '10.244.2.2', dst: '10.244.2.103', role: expect.stringMatching(/^nothing left: only an unanswered ARP who-has\b.*; never received at pw-pod-node-2-b$/) });
  });
});
