// The judges on edited copies of recorded bundles: cases a lab cannot
// produce (finished pods, old API servers, IPAM that ignores podCIDRs,
// dual-stack plans, lossy captures, unknown uplinks, small clusters), made by
// editing the API objects, counters, sent records and captures in memory.
import { describe, expect, test } from 'vitest';
import type { CaptureStats, RunBundle } from '../../src/bundle/model.js';
import { innermostIp } from '../../src/decode/layers.js';
import { exitCodeOf } from '../../src/report/model.js';
import {
  captureOf, checkOf, editPod, flowBy, flowsOf, ids, idsOf, isReplyToken, judge, keepOneNode, loadBundle, podItem, podLike, probe, rewriteCapture,
  sentOf, setPodCIDRs, setStats, tally, verdictOf,
} from '../helpers/bundles.js';

const ns = (b: RunBundle) => `podwire-${b.run.runId}`;
/** The report's counters for a capture: what tcpdump said, null where it said nothing. */
const counters = (s: CaptureStats) => ({ captured: s.captured ?? null, receivedByFilter: s.receivedByFilter ?? null, droppedByKernel: s.droppedByKernel ?? null });

describe('NM-3.1 pod IPs unique: live pods only, per family, status.podIP as fallback', () => {
  test.each(['Succeeded', 'Failed'])('a %s pod that kept a running pod\'s IP is a stale IP: passed, with a note naming it', async (phase) => {
    const b = await loadBundle('clean-hostgw');
    b.api.pods.items.push(podLike(b, 'pw-pod-node-1-b', { name: 'old-job', namespace: 'batch', phase, ips: ['10.244.1.2'] }));
    const c = checkOf(judge(b), 'NM-3.1');
    expect(c).toMatchObject({ result: 'passed', reason: '4 IPv4 pod IP(s) of 4 live pod(s), all unique' });
    expect(verdictOf(c, '10.244.1.2')).toMatchObject({
      verdict: 'passed', expected: '10.244.1.2 held by one live pod', observed: `IPv4 10.244.1.2 is held by ${ns(b)}/pw-pod-node-1-a only`,
      note: `also kept by finished pod(s) batch/old-job (${phase}): a stale IP, reused as Kubernetes allows, not a duplicate`,
    });
    expect(verdictOf(c, '10.244.1.3').note).toBeUndefined();
    // Nor does the finished pod count as a pod IP elsewhere.
    expect(checkOf(judge(b), 'NM-3.2').reason).toBe("2 node(s)' pod CIDRs disjoint per family; 4 pod IP(s), none a node's address");
  });

  test.each([
    ['Running', (p: ReturnType<typeof podItem>) => p],
    ['Pending', (p: ReturnType<typeof podItem>) => editPod(p, { phase: 'Pending' })],
    ['without a phase (counted as Pending)', (p: ReturnType<typeof podItem>) => { delete p.status!.phase; return p; }],
  ])('two live pods sharing an IP fail, one %s', async (_, edit) => {
    const b = await loadBundle('clean-hostgw');
    b.api.pods.items.push(edit(podLike(b, 'pw-pod-node-2-b', { name: 'twin', namespace: 'other', ips: ['10.244.2.3'] })));
    const c = checkOf(judge(b), 'NM-3.1');
    expect(c).toMatchObject({ result: 'failed', reason: `1 problem(s): IPv4 10.244.2.3 is held by 2 live pods: ${ns(b)}/pw-pod-node-2-b, other/twin` });
    expect(verdictOf(c, '10.244.2.3')).toMatchObject({ verdict: 'failed', kind: 'api', expected: '10.244.2.3 held by one live pod' });
    expect(tally(c)).toEqual({ passed: 3, failed: 1 });
  });

  test('an API finding names the IP, what was expected and what the API shows', async () => {
    const b = await loadBundle('clean-hostgw');
    b.api.pods.items.push(podLike(b, 'pw-pod-node-2-b', { name: 'twin', namespace: 'other', ips: ['10.244.2.3'] }));
    expect(verdictOf(checkOf(judge(b), 'NM-3.1'), '10.244.2.3')).toEqual({
      flow: '10.244.2.3', kind: 'api', proto: '-', from: 'api', to: 'api', verdict: 'failed', captures: [],
      expected: '10.244.2.3 held by one live pod', observed: `IPv4 10.244.2.3 is held by 2 live pods: ${ns(b)}/pw-pod-node-2-b, other/twin`,
      diagnosis: { subsystem: 'ipam', nodes: ['node-2'], text: `10.244.2.3 is held by 2 live pods (${ns(b)}/pw-pod-node-2-b on node-2, other/twin on node-2): IPAM handed it out twice` },
    });
  });

  test.each([
    [5, false],
    [6, true],
  ])('with %i duplicated IPs the reason lists the first five (and says there are more: %s)', async (n, more) => {
    const b = await loadBundle('clean-hostgw');
    for (let i = 0; i < n; i++) {
      for (const twin of ['x', 'y']) b.api.pods.items.push(podLike(b, 'pw-pod-node-1-a', { name: `dup${i}${twin}`, namespace: 'other', ips: [`10.244.1.${100 + i}`] }));
    }
    const c = checkOf(judge(b), 'NM-3.1');
    expect(c.result).toBe('failed');
    const listed = [0, 1, 2, 3, 4].map((i) => `IPv4 10.244.1.${100 + i} is held by 2 live pods: other/dup${i}x, other/dup${i}y`).join('; ');
    expect(c.reason).toBe(`${n} problem(s): ${listed}${more ? '; …' : ''}`);
  });

  test('findings are ordered by IP, whatever the order of the pod list', async () => {
    const b = await loadBundle('clean-hostgw');
    b.api.pods.items.push(podLike(b, 'pw-pod-node-1-a', { name: 'early', namespace: 'other', ips: ['10.244.0.9'] }));
    b.api.pods.items.reverse();
    expect(checkOf(judge(b), 'NM-3.1').flows.map((f) => f.flow)).toEqual(['10.244.0.9', '10.244.1.2', '10.244.1.3', '10.244.2.2', '10.244.2.3']);
  });

  test('a live pod without an IP yet is neither a duplicate nor counted; only such pods is nothing to judge', async () => {
    const b = await loadBundle('clean-hostgw');
    b.api.pods.items.push(podLike(b, 'pw-pod-node-1-a', { name: 'starting', namespace: 'other', ips: [], phase: 'Pending' }));
    expect(checkOf(judge(b), 'NM-3.1')).toMatchObject({ result: 'passed', reason: '4 IPv4 pod IP(s) of 4 live pod(s), all unique' });
    b.api.pods.items = b.api.pods.items.filter((p) => p.metadata?.name === 'starting');
    expect(checkOf(judge(b), 'NM-3.1').result).toBe('skipped');
  });

  test('several finished pods keeping one IP are all named', async () => {
    const b = await loadBundle('clean-hostgw');
    b.api.pods.items.push(
      podLike(b, 'pw-pod-node-1-b', { name: 'job-1', namespace: 'batch', phase: 'Succeeded', ips: ['10.244.1.3'] }),
      podLike(b, 'pw-pod-node-1-b', { name: 'job-2', namespace: 'batch', phase: 'Failed', ips: ['10.244.1.3'] }),
    );
    expect(verdictOf(checkOf(judge(b), 'NM-3.1'), '10.244.1.3').note).toBe('also kept by finished pod(s) batch/job-1 (Succeeded), batch/job-2 (Failed): a stale IP, reused as Kubernetes allows, not a duplicate');
  });

  test('a duplicate between pods listed with status.podIP only (an older API server) fails', async () => {
    const b = await loadBundle('clean-hostgw');
    editPod(podItem(b, 'pw-pod-node-1-a'), { podIPOnly: true });
    b.api.pods.items.push(podLike(b, 'pw-pod-node-1-a', { name: 'clone', namespace: 'other', ips: ['10.244.1.2'], podIPOnly: true }));
    expect(podItem(b, 'clone').status).not.toHaveProperty('podIPs');
    expect(checkOf(judge(b), 'NM-3.1')).toMatchObject({ result: 'failed', reason: `1 problem(s): IPv4 10.244.1.2 is held by 2 live pods: ${ns(b)}/pw-pod-node-1-a, other/clone` });
  });

  test('hostNetwork pods share their node\'s address by design: not judged as pod IPs', async () => {
    const b = await loadBundle('clean-hostgw');
    b.api.pods.items.push(podLike(b, 'pw-host-node-1', { name: 'node-exporter', namespace: 'monitoring', ips: ['172.18.0.11'] }));
    const r = judge(b);
    expect(checkOf(r, 'NM-3.1')).toMatchObject({ result: 'passed', reason: '4 IPv4 pod IP(s) of 4 live pod(s), all unique' });
    expect(checkOf(r, 'NM-3.2').result).toBe('passed');
  });

  test('dual-stack: each family is counted and judged on its own, duplicates included', async () => {
    const b = await loadBundle('clean-hostgw');
    for (const [name, v6] of [['pw-pod-node-1-a', 'fd00:10:244:1::2'], ['pw-pod-node-1-b', 'fd00:10:244:1::3'], ['pw-pod-node-2-a', 'fd00:10:244:2::2'], ['pw-pod-node-2-b', 'fd00:10:244:2::3']] as const) {
      const p = podItem(b, name);
      editPod(p, { ips: [p.status!.podIP!, v6] });
    }
    expect(checkOf(judge(b), 'NM-3.1')).toMatchObject({
      result: 'passed', reason: 'IPv4: 4 IPv4 pod IP(s) of 4 live pod(s), all unique; IPv6: 4 IPv6 pod IP(s) of 4 live pod(s), all unique',
      families: [{ family: 4, result: 'passed' }, { family: 6, result: 'passed' }],
    });
    b.api.pods.items.push(podLike(b, 'pw-pod-node-2-b', { name: 'v6twin', namespace: 'other', ips: ['fd00:10:244:2::3'] }));
    expect(checkOf(judge(b), 'NM-3.1')).toMatchObject({
      result: 'failed', reason: expect.stringMatching(new RegExp(`^IPv6: 1 problem\\(s\\): IPv6 fd00:10:244:2::3 is held by 2 live pods: ${ns(b)}/pw-pod-node-2-b, other/v6twin; IPv4: 4 IPv4 pod IP`)),
      families: [{ family: 4, result: 'passed' }, { family: 6, result: 'failed' }],
    });
  });

  test('an empty pod list is skipped with the reason, never passed; so is a list of finished and hostNetwork pods only', async () => {
    const b = await loadBundle('clean-hostgw');
    b.api.pods.items = [];
    const r = judge(b);
    expect(checkOf(r, 'NM-3.1')).toEqual(expect.objectContaining({ result: 'skipped', reason: 'no live pod with a pod-network IP was listed: nothing to judge', flows: [] }));
    expect(checkOf(r, 'NM-3.4')).toMatchObject({ result: 'skipped', reason: 'no live pod on a node with a pod CIDR of its family: nothing to judge', flows: [] });
    // The node podCIDRs are still there to judge.
    expect(checkOf(r, 'NM-3.2')).toMatchObject({ result: 'passed', reason: "2 node(s)' pod CIDRs disjoint per family; 0 pod IP(s), none a node's address" });
    expect(r.summary).toMatchObject({ skipped: 2, failed: 0 });
    expect(r.profiles.core).toMatchObject({ skipped: 1 });
    expect(r.profiles.strict).toMatchObject({ skipped: 1 });
    expect(exitCodeOf(r)).toBe(0);

    const c = await loadBundle('clean-hostgw');
    c.api.pods.items = c.api.pods.items.map((p) => (p.spec?.hostNetwork ? p : editPod(p, { phase: 'Succeeded' })));
    expect(checkOf(judge(c), 'NM-3.1').result).toBe('skipped');
  });
});

describe('NM-3.2 address plan (core) and NM-3.4 pods inside their node\'s podCIDR (strict)', () => {
  test('pods outside their node\'s podCIDR, with podCIDRs that overlap nothing (calico-ipam, cluster-pool): NM-3.2 passes, NM-3.4 fails', async () => {
    const b = await loadBundle('clean-hostgw');
    setPodCIDRs(b, 'node-1', ['10.100.1.0/24']);
    setPodCIDRs(b, 'node-2', ['10.100.2.0/24']);
    const r = judge(b);
    expect(checkOf(r, 'NM-3.2')).toMatchObject({ result: 'passed', reason: "2 node(s)' pod CIDRs disjoint per family; 4 pod IP(s), none a node's address" });
    const c = checkOf(r, 'NM-3.4');
    expect(c.result).toBe('failed');
    expect(tally(c)).toEqual({ failed: 4 });
    expect(verdictOf(c, `${ns(b)}/pw-pod-node-1-a 10.244.1.2`)).toMatchObject({
      expected: "inside node-1's pod CIDR", observed: `pod ${ns(b)}/pw-pod-node-1-a has 10.244.1.2, outside node-1's pod CIDR 10.100.1.0/24`,
    });
    expect(c.reason).toBe(`4 problem(s): ${['node-1-a 10.244.1.2', 'node-1-b 10.244.1.3', 'node-2-a 10.244.2.2', 'node-2-b 10.244.2.3']
      .map((x) => { const [p, ip] = x.split(' '); return `pod ${ns(b)}/pw-pod-${p} has ${ip}, outside ${p!.slice(0, 6)}'s pod CIDR 10.100.${p![5]}.0/24`; }).join('; ')}`);
    // Strict only: the default profile passes such a cluster.
    expect(exitCodeOf(judge(b, { profile: 'extended' }))).toBe(0);
    expect(exitCodeOf(r)).toBe(1);
  });

  test('two nodes with overlapping IPv6 podCIDRs fail NM-3.2, naming both; their IPv4 CIDRs are disjoint and not compared across families', async () => {
    const b = await loadBundle('clean-hostgw');
    setPodCIDRs(b, 'node-1', ['10.244.1.0/24', 'fd00:10:244:1::/64']);
    setPodCIDRs(b, 'node-2', ['10.244.2.0/24', 'fd00:10:244::/48']);
    const c = checkOf(judge(b), 'NM-3.2');
    expect(c).toMatchObject({ result: 'failed', reason: expect.stringMatching(/^IPv6: 1 problem\(s\): pod CIDRs overlap: node-1 fd00:10:244:1::\/64 and node-2 fd00:10:244::\/48; IPv4: 2 node/) });
    expect(c.families?.map((f) => [f.family, f.result])).toEqual([[4, 'passed'], [6, 'failed']]);
    expect(c.flows.filter((f) => f.family === 6).map((f) => [f.flow, f.verdict, f.expected])).toEqual([['node-1/node-2', 'failed', 'disjoint node pod CIDRs']]);
    expect(c.flows.filter((f) => f.family === 4).map((f) => [f.flow, f.verdict])).toEqual([['node-1', 'passed'], ['node-2', 'passed'], ['pod-ips', 'passed']]);
  });

  test('an overlap fails the two nodes involved; a third node\'s disjoint CIDR is still reported as such', async () => {
    const b = await loadBundle('clean-hostgw');
    const third = structuredClone(b.api.nodes.items[1]!);
    third.metadata!.name = 'node-3';
    b.api.nodes.items.push(third);
    setPodCIDRs(b, 'node-3', ['10.244.3.0/24']);
    setPodCIDRs(b, 'node-2', ['10.244.1.128/25']);
    const c = checkOf(judge(b), 'NM-3.2');
    expect(c.flows.filter((f) => f.flow !== 'pod-ips').map((f) => [f.flow, f.verdict, f.expected, f.observed])).toEqual([
      ['node-1/node-2', 'failed', 'disjoint node pod CIDRs', 'pod CIDRs overlap: node-1 10.244.1.0/24 and node-2 10.244.1.128/25'],
      ['node-3', 'passed', 'disjoint node pod CIDRs', "node-3 pod CIDR(s) 10.244.3.0/24 overlap no other node's"],
    ]);
  });

  test('disjoint dual-stack podCIDRs pass; each pod IP is judged against its own family\'s CIDR', async () => {
    const b = await loadBundle('clean-hostgw');
    setPodCIDRs(b, 'node-1', ['10.244.1.0/24', 'fd00:10:244:1::/64']);
    setPodCIDRs(b, 'node-2', ['10.244.2.0/24', 'fd00:10:244:2::/64']);
    editPod(podItem(b, 'pw-pod-node-1-a'), { ips: ['fd00:10:244:1::2', '10.244.1.2'] }); // IPv6-first
    editPod(podItem(b, 'pw-pod-node-2-a'), { ips: ['10.244.2.2', 'fd00:10:244:1::9'] }); // its IPv6 is node-1's
    const r = judge(b);
    expect(checkOf(r, 'NM-3.2')).toMatchObject({ result: 'passed', reason: "IPv4: 2 node(s)' pod CIDRs disjoint per family; 4 pod IP(s), none a node's address; IPv6: 2 node(s)' pod CIDRs disjoint per family; 2 pod IP(s), none a node's address" });
    const c = checkOf(r, 'NM-3.4');
    expect(idsOf(c, 'failed')).toEqual([`${ns(b)}/pw-pod-node-2-a fd00:10:244:1::9`]);
    expect(verdictOf(c, `${ns(b)}/pw-pod-node-1-a fd00:10:244:1::2`)).toMatchObject({ verdict: 'passed', observed: `pod ${ns(b)}/pw-pod-node-1-a has fd00:10:244:1::2, inside node-1's pod CIDR fd00:10:244:1::/64` });
    expect(tally(c)).toEqual({ passed: 5, failed: 1 });
    // Each family's CIDRs are judged in that family.
    expect(checkOf(r, 'NM-3.2').flows.filter((f) => f.flow === 'node-1').map((f) => [f.family, f.observed])).toEqual([
      [4, "node-1 pod CIDR(s) 10.244.1.0/24 overlap no other node's"], [6, "node-1 pod CIDR(s) fd00:10:244:1::/64 overlap no other node's"]]);
  });

  test('a node listing two CIDRs of one family (the API allows one): inside either is inside', async () => {
    const b = await loadBundle('clean-hostgw');
    setPodCIDRs(b, 'node-1', ['10.100.1.0/24', '10.244.1.0/24']);
    const c = checkOf(judge(b), 'NM-3.4');
    expect(c.result).toBe('passed');
    expect(verdictOf(c, `${ns(b)}/pw-pod-node-1-a 10.244.1.2`).observed).toBe(`pod ${ns(b)}/pw-pod-node-1-a has 10.244.1.2, inside node-1's pod CIDR 10.100.1.0/24, 10.244.1.0/24`);
  });

  test('a live pod holding a node\'s address fails NM-3.2, naming pod and node', async () => {
    const b = await loadBundle('clean-hostgw');
    b.api.pods.items.push(podLike(b, 'pw-pod-node-2-b', { name: 'squatter', namespace: 'other', ips: ['172.18.0.12'] }));
    const c = checkOf(judge(b), 'NM-3.2');
    expect(c).toMatchObject({ result: 'failed', reason: '1 problem(s): pod other/squatter has 172.18.0.12, an address of node node-2' });
    expect(verdictOf(c, '172.18.0.12')).toMatchObject({ expected: 'no pod IP equal to a node address' });
    expect(c.flows.find((f) => f.flow === 'pod-ips')).toBeUndefined();
  });

  test('nodes without podCIDRs (VPC CNIs): NM-3.4 skipped, NM-3.2 judges pod IPs only and says overlap was not judged', async () => {
    const b = await loadBundle('clean-hostgw');
    setPodCIDRs(b, 'node-1', undefined);
    setPodCIDRs(b, 'node-2', undefined);
    const r = judge(b);
    expect(checkOf(r, 'NM-3.4')).toMatchObject({ result: 'skipped', reason: 'no live pod on a node with a pod CIDR of its family: nothing to judge' });
    expect(checkOf(r, 'NM-3.2')).toMatchObject({ result: 'passed', reason: 'no node has a pod CIDR (IPAM that does not use them): overlap not judged; 4 pod IP(s), none a node\'s address' });
    expect(r.cluster.nodes.map((n) => n.podCIDRs)).toEqual([[], []]);
    b.api.pods.items = [];
    expect(checkOf(judge(b), 'NM-3.2')).toMatchObject({ result: 'skipped', reason: 'no node has a pod CIDR and no live pod has an IP: nothing to judge', flows: [] });
  });

  test('a node with spec.podCIDR only (no podCIDRs) is judged by it', async () => {
    const b = await loadBundle('clean-hostgw');
    for (const n of b.api.nodes.items) delete n.spec!.podCIDRs;
    const r = judge(b);
    expect(r.cluster.nodes.map((n) => n.podCIDRs)).toEqual([['10.244.1.0/24'], ['10.244.2.0/24']]);
    expect(checkOf(r, 'NM-3.4')).toMatchObject({ result: 'passed', reason: "4 pod IP(s) inside their node's pod CIDR" });
  });

  test('a pod not yet scheduled, or on a node with no CIDR of its family, is not judged by NM-3.4', async () => {
    const b = await loadBundle('clean-hostgw');
    const pending = podLike(b, 'pw-pod-node-1-a', { name: 'unscheduled', namespace: 'other', ips: ['10.99.0.1'], phase: 'Pending' });
    delete pending.spec!.nodeName;
    b.api.pods.items.push(pending, podLike(b, 'pw-pod-node-1-a', { name: 'v6only', namespace: 'other', ips: ['fd00::1'] }));
    // The IPv6-only pod's node has no IPv6 CIDR: that family has nothing to judge (skipped), which does not lower the IPv4 pass.
    expect(checkOf(judge(b), 'NM-3.4')).toMatchObject({
      result: 'passed', reason: "IPv4: 4 pod IP(s) inside their node's pod CIDR; IPv6: no live pod on a node with a pod CIDR of its family: nothing to judge",
      families: [{ family: 4, result: 'passed' }, { family: 6, result: 'skipped' }],
    });
  });
});

describe('capture quality: "not seen" needs a complete capture with a positive control', () => {
  test.each([
    ['the kernel dropped packets', (b: RunBundle) => setStats(b, 'pw-pod-node-2-a', { ...captureOf(b, 'pw-pod-node-2-a').stats, droppedByKernel: 3 })],
    ['tcpdump hit its packet cap', (b: RunBundle) => { const c = captureOf(b, 'pw-pod-node-2-a'); c.maxPackets = c.stats.captured; }],
    ['tcpdump reported no counters', (b: RunBundle) => setStats(b, 'pw-pod-node-2-a', {})],
  ])('mtu-blackhole, when %s at the receiver: the vanished datagram is inconclusive, not failed', async (_, edit) => {
    const b = await loadBundle('mtu-blackhole');
    edit(b);
    const r = judge(b);
    const c = checkOf(r, 'NM-5.1');
    const toDamaged = flowBy(b, 'pod-pod-mtu', 'udp', 'pw-pod-node-1-a');
    expect(verdictOf(c, toDamaged.id)).toMatchObject({
      verdict: 'inconclusive', observed: 'not seen at pw-pod-node-2-a, but the capture at pw-pod-node-2-a is incomplete (kernel drops or its size cap): absence there proves nothing',
    });
    // The other direction's "no ICMP error came back" is an absence at the same capture: undecided too.
    expect(verdictOf(c, flowBy(b, 'pod-pod-mtu', 'udp', 'pw-pod-node-2-a').id)).toMatchObject({
      verdict: 'inconclusive', observed: 'not seen at pw-pod-node-1-a, but the capture at pw-pod-node-2-a is incomplete (kernel drops or its size cap): absence there proves nothing',
    });
    expect(r.captures.find((x) => x.probe === 'pw-pod-node-2-a')).toEqual({ probe: 'pw-pod-node-2-a', ...counters(captureOf(b, 'pw-pod-node-2-a').stats), complete: false });
    expect(r.captures.find((x) => x.probe === 'pw-pod-node-1-a')!.complete).toBe(true);
  });

  test('a capture below its packet cap, without drops, proves absence', async () => {
    const b = await loadBundle('mtu-blackhole');
    const c = captureOf(b, 'pw-pod-node-2-a');
    c.maxPackets = c.stats.captured! + 1;
    expect(checkOf(judge(b), 'NM-5.1').result).toBe('failed');
  });

  test('missing-route, with drops at node-2-a\'s capture: flows to it without evidence of their own turn inconclusive; an ICMP unreachable at the sender still fails its flow', async () => {
    const b = await loadBundle('missing-route');
    setStats(b, 'pw-pod-node-2-a', { ...captureOf(b, 'pw-pod-node-2-a').stats, droppedByKernel: 1 });
    const r = judge(b);
    const nm12 = checkOf(r, 'NM-1.2');
    for (const f of flowsOf(b, ['pod-pod-cross'], (x) => x.to === 'pw-pod-node-2-a')) {
      expect(verdictOf(nm12, f.id)).toMatchObject({
        verdict: 'inconclusive',
        observed: expect.stringMatching(/^not seen at pw-pod-node-2-a, but the capture at pw-pod-node-2-a is incomplete \(kernel drops or its size cap\): absence there proves nothing(?: \(sender: ETIMEDOUT\))?; (no connection: its SYN \(S\) left as|sent as) 10\.244\.1\.3 > 10\.244\.2\.3, packet #\d+ at pw-pod-node-1-a$/),
      });
    }
    // The SYN-ACK lost on the way back is proven at the other end: still failed.
    expect(verdictOf(nm12, flowBy(b, 'pod-pod-cross', 'tcp', 'pw-pod-node-2-a').id).verdict).toBe('failed');
    const unreachable = flowBy(b, 'host-pod-cross', 'tcp', 'pw-host-node-1');
    expect(verdictOf(checkOf(r, 'NM-2.2'), unreachable.id)).toMatchObject({ verdict: 'failed', decisive: { capture: 'pw-host-node-1' } });
    expect(verdictOf(checkOf(r, 'NM-2.2'), unreachable.id).observed).toMatch(/^not seen at pw-pod-node-2-a \(sender: ENETUNREACH\); .*; ICMP network unreachable from 172\.18\.0\.1/);
  });

  test('a sender capture with no replies at all: NM-1.3\'s "no reply" is inconclusive (no control), and the SYN-ACK\'s absence no longer names the return path', async () => {
    const b = await loadBundle('missing-route');
    // Neither the probes' replies nor the external target's answers (the control counts both).
    expect(rewriteCapture(b, 'pw-pod-node-2-a', (p) => !isReplyToken(p) && innermostIp(p)?.src !== '198.51.100.10')).toBeGreaterThan(0);
    const r = judge(b);
    const udpBack = flowBy(b, 'pod-pod-cross', 'udp', 'pw-pod-node-2-a', 'pw-pod-node-1-a');
    expect(verdictOf(checkOf(r, 'NM-1.3'), udpBack.id)).toMatchObject({
      verdict: 'inconclusive', observed: 'no reply seen at pw-pod-node-2-a, but the capture at pw-pod-node-2-a saw no reply to any of its flows (no control)',
    });
    // Replies the sender got but its capture lacks are undecided, not failed.
    const same = flowBy(b, 'pod-pod-same', 'udp', 'pw-pod-node-2-a');
    expect(verdictOf(checkOf(r, 'NM-1.3'), same.id)).toMatchObject({ verdict: 'inconclusive', observed: 'the sender got the reply, but its capture did not show it' });
    expect(verdictOf(checkOf(r, 'NM-3.3'), same.id)).toMatchObject({
      verdict: 'inconclusive', observed: "answered by pw-pod-node-2-b, but the reply is not in pw-pod-node-2-a's capture",
    });
    const tcpBack = flowBy(b, 'pod-pod-cross', 'tcp', 'pw-pod-node-2-a', 'pw-pod-node-1-a');
    const v = verdictOf(checkOf(r, 'NM-1.2'), tcpBack.id);
    expect(v.verdict).toBe('failed'); // the receiver's complete capture still proves the data never came
    expect(v.observed).not.toContain('return path');
    expect(v.decisive).toMatchObject({ capture: 'pw-pod-node-2-a', role: 'no connection: its SYN (S) left; never received at pw-pod-node-1-a' });
    // NM-2.4: delivered-but-unanswered needs the same control.
    const toNode = flowBy(b, 'pod-node', 'tcp', 'pw-pod-node-2-a', 'pw-host-node-1');
    expect(verdictOf(checkOf(r, 'NM-2.4'), toNode.id).observed).not.toContain('return path');
  });

  test('one reply missing from an otherwise complete sender capture: NM-1.3 undecided (the sender got it), NM-3.3 failed (not on the wire)', async () => {
    const b = await loadBundle('clean-hostgw');
    const f = flowBy(b, 'pod-pod-cross', 'udp', 'pw-pod-node-1-a');
    expect(rewriteCapture(b, 'pw-pod-node-1-a', (p) => p.token !== sentOf(b, f.id).reply)).toBe(1);
    const r = judge(b);
    expect(verdictOf(checkOf(r, 'NM-1.3'), f.id)).toMatchObject({ verdict: 'inconclusive', observed: 'the sender got the reply, but its capture did not show it' });
    expect(verdictOf(checkOf(r, 'NM-3.3'), f.id)).toMatchObject({ verdict: 'inconclusive', observed: "answered by pw-pod-node-2-a, but the reply is not in pw-pod-node-1-a's capture" });
  });
});

describe('uplinks and egress', () => {
  test('without the node\'s route lookups, NM-4.1 and NM-4.2 are inconclusive on that node\'s flows, with the reason', async () => {
    const b = await loadBundle('clean-hostgw');
    delete b.probes.inventory['pw-host-node-1']!.uplinks;
    const r = judge(b);
    const egress = flowBy(b, 'pod-external', 'tcp', 'pw-pod-node-1-a');
    expect(checkOf(r, 'NM-4.1')).toMatchObject({ result: 'inconclusive', reason: '1 egress flow(s) could not be decided: no route lookup on node-1 for 10.244.1.2 > 198.51.100.10' });
    expect(verdictOf(checkOf(r, 'NM-4.1'), egress.id)).toMatchObject({ verdict: 'inconclusive', observed: 'no route lookup on node-1 for 10.244.1.2 > 198.51.100.10' });
    const nm42 = checkOf(r, 'NM-4.2');
    expect(nm42.result).toBe('inconclusive');
    const fromNode1 = flowsOf(b, ['pod-pod-cross'], (f) => f.from === 'pw-pod-node-1-a');
    expect(idsOf(nm42, 'inconclusive')).toEqual(ids(fromNode1));
    for (const f of fromNode1) expect(verdictOf(nm42, f.id).observed).toBe('no route lookup on node-1 for 10.244.1.2 > 10.244.2.2');
    expect(idsOf(nm42, 'passed')).toEqual(ids(flowsOf(b, ['pod-pod-cross'], (f) => f.from === 'pw-pod-node-2-a')));
  });

  test.each([
    ['with the reason the agent gave', 'no IPv4 default route', 'the route of 10.244.1.2 > 198.51.100.10 on node-1 is unknown: no IPv4 default route'],
    ['without a reason', undefined, 'the route of 10.244.1.2 > 198.51.100.10 on node-1 is unknown: no device'],
  ])('a route lookup that found no device is inconclusive, %s', async (_, reason, observed) => {
    const b = await loadBundle('clean-hostgw');
    for (const u of b.probes.inventory['pw-host-node-1']!.uplinks!) {
      u.devices = [];
      if (reason) u.reason = reason;
    }
    const egress = flowBy(b, 'pod-external', 'tcp', 'pw-pod-node-1-a');
    expect(verdictOf(checkOf(judge(b), 'NM-4.1'), egress.id)).toMatchObject({ verdict: 'inconclusive', observed });
  });

  test('a node without a host probe cannot show its uplink', async () => {
    const b = await loadBundle('clean-hostgw');
    b.probes.probes = b.probes.probes.filter((p) => p.name !== 'pw-host-node-1');
    const r = judge(b);
    const egress = flowBy(b, 'pod-external', 'tcp', 'pw-pod-node-1-a');
    expect(verdictOf(checkOf(r, 'NM-4.1'), egress.id)).toMatchObject({ verdict: 'inconclusive', observed: 'the sending node has no host probe' });
    expect(verdictOf(checkOf(r, 'NM-4.2'), flowBy(b, 'pod-pod-cross', 'udp', 'pw-pod-node-1-a').id).observed).toBe('the sending node has no host probe');
  });

  test('no external target: NM-4.1 is skipped with the way to give one', async () => {
    const b = await loadBundle('clean-hostgw');
    b.run.external = null;
    const r = judge(b);
    expect(checkOf(r, 'NM-4.1')).toMatchObject({ result: 'skipped', reason: 'no external target: pass --external-target IP:PORT (a lab provides one)', flows: [] });
    expect(r.summary).toMatchObject({ skipped: 1, passed: 13 });
  });

  test('a node agent whose source as sent is not an address of its node fails NM-2.1, even when unchanged on the wire', async () => {
    const b = await loadBundle('clean-hostgw');
    const inv = b.probes.inventory['pw-host-node-1']!;
    inv.addresses = inv.addresses.filter((a) => a !== '10.244.1.1');
    const c = checkOf(judge(b), 'NM-2.1');
    const f = flowBy(b, 'host-pod-same', 'tcp', 'pw-host-node-1', 'pw-pod-node-1-a');
    expect(verdictOf(c, f.id)).toMatchObject({
      verdict: 'failed', expected: '10.244.1.1 > 10.244.1.2',
      observed: '10.244.1.1 > 10.244.1.2 at pw-pod-node-1-a; the source as sent, 10.244.1.1, is not an address of node-1',
    });
    expect(tally(c)).toEqual({ failed: 2, passed: 2 });
  });

  test('node addresses come from the API too: a source the API lists for the node passes NM-2.1', async () => {
    const b = await loadBundle('clean-hostgw');
    const inv = b.probes.inventory['pw-host-node-1']!;
    inv.addresses = [];
    b.api.nodes.items[0]!.status!.addresses!.push({ type: 'InternalIP', address: '10.244.1.1' });
    expect(checkOf(judge(b), 'NM-2.1').result).toBe('passed');
    // Hostname entries are not addresses.
    b.api.nodes.items[0]!.status!.addresses = [{ type: 'Hostname', address: '10.244.1.1' }, { type: 'ExternalIP', address: '203.0.113.1' }];
    expect(judge(b).cluster.nodes[0]!.addresses).toEqual(['203.0.113.1']);
    expect(checkOf(judge(b), 'NM-2.1').result).toBe('failed');
  });
});

describe('sender reports', () => {
  test('a flow its sender did not report is undecided in every check that judges it', async () => {
    const b = await loadBundle('clean-hostgw');
    const cross = flowBy(b, 'pod-pod-cross', 'tcp', 'pw-pod-node-1-a');
    const node = flowBy(b, 'pod-node', 'tcp', 'pw-pod-node-1-a', 'pw-host-node-2');
    const mtu = flowBy(b, 'pod-pod-mtu', 'udp', 'pw-pod-node-1-a');
    const gone = new Set([cross.id, node.id, mtu.id]);
    b.flows.sent = b.flows.sent.filter((s) => !gone.has(s.id));
    const r = judge(b);
    for (const [id, f] of [['NM-1.2', cross], ['NM-2.3', node], ['NM-2.4', node], ['NM-5.1', mtu]] as const) {
      expect(verdictOf(checkOf(r, id), f.id), id).toMatchObject({ verdict: 'inconclusive', observed: 'the sender did not report this flow' });
    }
    expect(verdictOf(checkOf(r, 'NM-3.3'), cross.id)).toMatchObject({ verdict: 'inconclusive', observed: 'no answer' });
  });

  test.each([
    ['EMSGSIZE', 90, 1500, "the sender's kernel refused the 1500-byte datagram (EMSGSIZE): it already holds a smaller path MTU for this destination"],
    ['another error', 1, 1500, "the sender's kernel refused the 1500-byte datagram (errno 1): see the error"],
    ['no size reported', 0, undefined, "the sender's kernel refused the ?-byte datagram (errno 0): see the error"],
  ])('NM-5.1 with %s from the sender is undecided', async (_, errno, size, observed) => {
    const b = await loadBundle('clean-hostgw');
    const f = flowBy(b, 'pod-pod-mtu', 'udp', 'pw-pod-node-1-a');
    const s = sentOf(b, f.id);
    s.errno = errno;
    if (errno === 90) s.error = 'EMSGSIZE';
    if (size === undefined) delete s.size;
    expect(verdictOf(checkOf(judge(b), 'NM-5.1'), f.id)).toMatchObject({ verdict: 'inconclusive', observed });
  });

  test('NM-5.1: a full-size datagram missing from the sender\'s own capture is undecided', async () => {
    const b = await loadBundle('mtu-blackhole');
    const f = flowBy(b, 'pod-pod-mtu', 'udp', 'pw-pod-node-1-a');
    expect(rewriteCapture(b, 'pw-pod-node-1-a', (p) => p.token !== f.token)).toBe(1);
    expect(verdictOf(checkOf(judge(b), 'NM-5.1'), f.id)).toMatchObject({ verdict: 'inconclusive', observed: "the datagram is not in pw-pod-node-1-a's capture" });
  });

  test('NM-5.1: a datagram that arrives smaller than sent fails, naming both sizes', async () => {
    const b = await loadBundle('clean-hostgw');
    const f = flowBy(b, 'pod-pod-mtu', 'udp', 'pw-pod-node-1-a');
    sentOf(b, f.id).size = 1600;
    expect(verdictOf(checkOf(judge(b), 'NM-5.1'), f.id)).toMatchObject({
      verdict: 'failed', observed: expect.stringMatching(/^arrived as 1500 bytes, DF \(sent 1600 with DF\), 10\.244\.1\.2 > 10\.244\.2\.2, packet #\d+ at pw-pod-node-2-a$/),
      decisive: { capture: 'pw-pod-node-2-a', role: 'as received, not whole' },
    });
  });
});

describe('coverage and cluster size', () => {
  test('a one-node cluster: cross-node checks are skipped with the reason; the rest are judged', async () => {
    const b = await loadBundle('clean-hostgw');
    keepOneNode(b, 'node-1');
    const r = judge(b);
    expect(Object.fromEntries(r.checks.filter((c) => c.result === 'skipped').map((c) => [c.id, c.reason]))).toEqual({
      'NM-1.2': 'no cross-node pod flows: the cluster has one node',
      'NM-2.2': 'no node-to-remote-pod flows: the cluster has one node',
      'NM-4.2': 'no cross-node pod flows: the cluster has one node',
      'NM-5.1': 'no full-size flows: the cluster has one node',
    });
    expect(r.summary).toEqual({ passed: 10, failed: 0, inconclusive: 0, skipped: 4, total: 14 });
    expect(tally(checkOf(r, 'NM-1.1'))).toEqual({ passed: 4 });
    expect(r.coverage).toEqual({ nodes: 1, covered: 1, notCovered: [], leftOut: [] });
    expect(exitCodeOf(r)).toBe(0);
  });

  test('a node that could not host its probes: its flows are missing, cross-node checks say so, the exit code is 0 unless every node is required', async () => {
    const b = await loadBundle('clean-hostgw');
    keepOneNode(b, 'node-1');
    b.probes.coverage.push({ node: 'node-2', covered: false, reason: 'pw-pod-node-2-a: ImagePullBackOff' });
    const r = judge(b);
    expect(checkOf(r, 'NM-1.2')).toMatchObject({ result: 'skipped', reason: 'no cross-node pod flows: only one of 2 nodes could be probed' });
    expect(r.coverage).toEqual({ nodes: 2, covered: 1, notCovered: [{ node: 'node-2', reason: 'pw-pod-node-2-a: ImagePullBackOff' }], leftOut: [] });
    expect(exitCodeOf(r)).toBe(0);
    b.run.options.requireAllNodes = true;
    expect(exitCodeOf(judge(b))).toBe(2);
  });

  test('a virtual-kubelet node left out on purpose is reported apart and does not count as a node to cover', async () => {
    const b = await loadBundle('clean-hostgw');
    b.probes.coverage.push({ node: 'vk-1', covered: false, leftOut: true, reason: 'virtual-kubelet' }, { node: 'vk-2', covered: false, leftOut: true });
    b.run.options.requireAllNodes = true;
    const r = judge(b);
    expect(r.coverage).toEqual({ nodes: 2, covered: 2, notCovered: [], leftOut: [{ node: 'vk-1', reason: 'virtual-kubelet' }, { node: 'vk-2', reason: 'left out' }] });
    expect(checkOf(r, 'NM-1.2').result).toBe('passed');
    expect(exitCodeOf(r)).toBe(0);
  });

  test('a one-node cluster with a virtual-kubelet node left out is still a one-node cluster', async () => {
    const b = await loadBundle('clean-hostgw');
    keepOneNode(b, 'node-1');
    b.probes.coverage.push({ node: 'vk-1', covered: false, leftOut: true, reason: 'virtual-kubelet' });
    expect(checkOf(judge(b), 'NM-1.2').reason).toBe('no cross-node pod flows: the cluster has one node');
  });

  test('no node could be probed: every flow check is skipped with that reason', async () => {
    const b = await loadBundle('clean-hostgw');
    keepOneNode(b, 'node-1');
    b.probes.coverage = [{ node: 'node-1', covered: false }];
    b.flows.flows = [];
    b.flows.sent = [];
    const r = judge(b);
    expect(checkOf(r, 'NM-1.1')).toMatchObject({ result: 'skipped', reason: 'no same-node pod flows: no node could be probed' });
    expect(checkOf(r, 'NM-1.2').reason).toBe('no cross-node pod flows: no node could be probed');
    expect(r.coverage.notCovered).toEqual([{ node: 'node-1', reason: 'unknown' }]);
  });
});
