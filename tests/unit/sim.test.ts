// The simulation benchmark's synthetic bundles (bench/sim-bundle.ts) stand
// for healthy runs: the judge must pass every check on them, or the
// benchmark measures something else. And the judge's scale fixes keep their
// answers: CIDR overlaps found by sorting are the pairs a comparison of
// every pair finds; the bundle's pod list elides only the run's agent source.
import { describe, expect, test } from 'vitest';
import type { V1Pod } from '@kubernetes/client-node';
import { simBundle, simCluster, simPairs, SIM_RUN } from '../../bench/sim-bundle.js';
import { runCost } from '../../bench/sim-cost.js';
import { CHECK_IDS } from '../../src/conformance/catalogue.js';
import { overlappingCidrs } from '../../src/conformance/checks-api.js';
import { cidrsOverlap } from '../../src/conformance/ip.js';
import { elideAgentSource, probeSpec } from '../../src/conformance/probes.js';
import { judge } from '../helpers/bundles.js';

describe('simulated bundles of healthy runs', () => {
  test.each([[5, 'all'], [40, 8]] as const)('%i nodes, pairs %s: every check of every profile passes', (n, k) => {
    const c = simCluster(n, 4);
    const { bundle } = simBundle(c, simPairs(k));
    const r = judge(bundle);
    expect(r.checks.map((x) => x.id)).toEqual(CHECK_IDS);
    for (const x of r.checks) expect(x.result, `${x.id}: ${x.reason}`).toBe('passed');
    const peers = k === 'all' ? n - 1 : k;
    expect(r.checks.find((x) => x.id === 'NM-1.2')!.flows).toHaveLength(n * peers * 2);
    expect(r.dataplane.find((d) => d.path === 'cross-node')).toMatchObject({ encapsulation: 'none', samples: n * peers * 2 });
  });

  test('a lost reply is caught: when one receiver\'s answers are lost, NM-1.3 fails for exactly its flows whose sender\'s capture has a control', () => {
    const c = simCluster(6, 2);
    const { bundle } = simBundle(c, simPairs('all'));
    const victim = 'pw-pod-node-0003-a';
    const cut = new Set(bundle.flows.flows.filter((f) => f.to === victim && (f.kind === 'pod-pod-cross' || f.kind === 'pod-pod-same')).map((f) => f.id));
    // The victim's answers never leave it: no reply on any capture, none for the application either.
    const r0 = judge(bundle);
    expect(r0.checks.find((x) => x.id === 'NM-1.3')!.result).toBe('passed');
    for (const cap of bundle.captures) {
      const { records } = readRecords(cap.data);
      const keep = records.filter((rec) => !cut.has(/\/(f\d+)\.from\./.exec(rec.text)?.[1] ?? ''));
      cap.data = Buffer.concat([cap.data.subarray(0, 24), ...keep.map((rec) => rec.bytes)]);
      cap.stats = { captured: keep.length, receivedByFilter: keep.length, droppedByKernel: 0 };
    }
    for (const sent of bundle.flows.sent) if (cut.has(sent.id)) sent.reply = '';
    const nm13 = judge(bundle).checks.find((x) => x.id === 'NM-1.3')!;
    expect(nm13.result).toBe('failed');
    // The victim's neighbour sends only to the victim: its capture saw no reply at all, so its two flows lack a control and stay undecided.
    const neighbour = new Set(bundle.flows.flows.filter((f) => cut.has(f.id) && f.from === 'pw-pod-node-0003-b').map((f) => f.id));
    expect(neighbour.size).toBe(2);
    expect(nm13.flows.filter((f) => f.verdict === 'failed').map((f) => f.flow).sort()).toEqual([...cut].filter((id) => !neighbour.has(id)).sort());
    expect(nm13.flows.filter((f) => f.verdict === 'inconclusive').map((f) => f.flow).sort()).toEqual([...neighbour].sort());
    expect(nm13.flows.find((f) => neighbour.has(f.flow))!.observed).toMatch(/saw no reply to any of its flows \(no control\)/);
  });

  test('the cost model counts what collect does: three execs per probe over the cap, two within it', () => {
    const c = simCluster(20, 2);
    const { bundle } = simBundle(c, simPairs(8));
    expect(runCost(bundle, c.api.pods.items, 32).execs).toEqual({ inventory: 60, send: 60, fetch: 60, total: 180 });
    expect(runCost(bundle, c.api.pods.items, 64).execs).toEqual({ inventory: 60, send: 60, fetch: 0, total: 120 });
    const cost = runCost(bundle, c.api.pods.items, 64);
    // version, 9 rights reviews (a 1.32 server: no create on pods/exec), node list, namespace, 60 pod creates, pod list, namespace delete (heartbeat patches, one per 5 s of run, not counted).
    expect(cost.apiRequests).toBe(1 + 9 + 1 + 1 + 60 + 1 + 1);
    expect(cost.bytes.captures).toBe(bundle.captures.reduce((s, x) => s + x.data.length, 0));
    expect(cost.bytes.execStdout).toBeGreaterThan(cost.bytes.captures);
  });
});

/** The records of a classic pcap, with the printable text of each (for its tokens). */
function readRecords(b: Buffer): { records: { bytes: Buffer; text: string }[] } {
  const records: { bytes: Buffer; text: string }[] = [];
  for (let at = 24; at + 16 <= b.length;) {
    const len = b.readUInt32LE(at + 8);
    const bytes = b.subarray(at, at + 16 + len);
    records.push({ bytes, text: bytes.toString('latin1') });
    at += 16 + len;
  }
  return { records };
}

describe('the judge at scale keeps its answers', () => {
  test('overlapping pod CIDRs found by sorting are exactly the pairs every-pair comparison finds, in its order', () => {
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
    const nodes = Array.from({ length: 60 }, (_, i) => ({
      name: `n${i}`, addresses: [],
      podCIDRs: Array.from({ length: 1 + rnd(2) }, () => (rnd(4) === 0 ? `fd00:${rnd(4)}::/${[48, 56, 64][rnd(3)]}` : `10.${rnd(3)}.${rnd(8) * 32}.0/${[19, 24, 27][rnd(3)]}`)),
    }));
    nodes.push({ name: 'bad', addresses: [], podCIDRs: ['not-a-cidr'] });
    const brute: { i: number; x: number; j: number; y: number }[] = [];
    for (let i = 0; i < nodes.length; i++) for (let j = i + 1; j < nodes.length; j++) {
      nodes[i]!.podCIDRs.forEach((a, x) => nodes[j]!.podCIDRs.forEach((b, y) => (cidrsOverlap(a, b) ? brute.push({ i, x, j, y }) : undefined)));
    }
    expect(brute.length).toBeGreaterThan(20);
    expect(overlappingCidrs(nodes)).toEqual(brute);
  });

  test('the bundle\'s pod list elides the agent source of this run\'s probes only', () => {
    const spec = probeSpec({ run: SIM_RUN, node: 'n1', role: 'pod', suffix: 'a', image: 'img', portBase: 20_000 });
    const other = probeSpec({ run: 'another', node: 'n1', role: 'pod', suffix: 'a', image: 'img', portBase: 20_000 });
    const app: V1Pod = { metadata: { name: 'app' }, spec: { containers: [{ name: 'c', image: 'x', command: ['python3', '-c', 'print(1)'] }] } };
    const [mine, theirs, plain] = elideAgentSource([spec, other, app], SIM_RUN);
    const src = spec.spec!.containers[0]!.command![2]!;
    expect(mine!.spec!.containers[0]!.command).toEqual(['python3', '-c', expect.stringMatching(new RegExp(`^<podwire agent source: ${Buffer.byteLength(src)} bytes, sha256 [0-9a-f]{16}…>$`)), 'listen']);
    expect(theirs).toBe(other);
    expect(plain).toBe(app);
    expect(spec.spec!.containers[0]!.command![2]).toBe(src);
  });
});
