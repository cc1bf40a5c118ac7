// --pairs: all ordered node pairs up to 32 nodes; above, a sample in which
// every node sends to and receives from K others, and successive seeds cover
// every ordered pair.
import { expect, test } from 'vitest';
import { planFlows, remotePeers, runsToCover, uplinkQueries } from '../../src/conformance/flows.js';
import type { Probe } from '../../src/conformance/model.js';
import { parsePairs, parseRunOptions, parseSeed } from '../../src/conformance/options.js';
import { UsageError } from '../../src/errors.js';
import { podIPsByNode, resolvePairs } from '../../src/run/collect.js';

const names = (n: number) => Array.from({ length: n }, (_, i) => `node-${i + 1}`);

test.each([[64, 8], [40, 8], [10, 3], [9, 8]])('%i nodes, K=%i: each node sends to K others and receives from K, none twice, never itself', (n, k) => {
  const peers = remotePeers(names(n), { mode: 'sample', k, seed: 3 });
  const received = new Map<string, number>();
  for (const [from, to] of peers) {
    expect(to).toHaveLength(Math.min(k, n - 1));
    expect(new Set(to).size).toBe(to.length);
    expect(to).not.toContain(from);
    for (const t of to) received.set(t, (received.get(t) ?? 0) + 1);
  }
  expect([...received.values()].every((c) => c === Math.min(k, n - 1))).toBe(true);
});

test.each([[64, 8, 8], [40, 8, 5], [33, 8, 4], [10, 3, 3]])('%i nodes, K=%i: seeds 0..%i-1 test every ordered pair exactly once', (n, k, runs) => {
  expect(runsToCover(n, k)).toBe(runs);
  const seen = new Map<string, number>();
  for (let seed = 0; seed < runs; seed++) {
    for (const [from, to] of remotePeers(names(n), { mode: 'sample', k, seed })) for (const t of to) seen.set(`${from}>${t}`, (seen.get(`${from}>${t}`) ?? 0) + 1);
  }
  expect(seen.size).toBe(n * (n - 1));
  expect([...seen.values()].every((c) => c === 1)).toBe(true);
  // The next seed starts over: the same pairs as seed 0.
  expect(remotePeers(names(n), { mode: 'sample', k, seed: runs })).toEqual(remotePeers(names(n), { mode: 'sample', k, seed: 0 }));
});

test('successive seeds test different pairs; the same seed the same ones', () => {
  const a = remotePeers(names(64), { mode: 'sample', k: 8, seed: 0 });
  const b = remotePeers(names(64), { mode: 'sample', k: 8, seed: 1 });
  for (const n of names(64)) expect(a.get(n)!.filter((x) => b.get(n)!.includes(x))).toEqual([]);
  expect(remotePeers(names(64), { mode: 'sample', k: 8, seed: 1 })).toEqual(b);
});

test('all pairs, or a sample at least as large as the cluster, is every other node', () => {
  expect(remotePeers(names(4), { mode: 'all' }).get('node-2')).toEqual(['node-1', 'node-3', 'node-4']);
  expect(remotePeers(names(4), { mode: 'sample', k: 8, seed: 5 }).get('node-2')).toEqual(['node-1', 'node-3', 'node-4']);
});

test('a sampled plan sends cross-node flows only to the peers, and still reaches the own node', () => {
  const probes: Probe[] = names(12).flatMap((node, i) => [
    { name: `pw-pod-${node}-a`, node, role: 'pod' as const, ip: `10.244.${i + 1}.2`, port: 20000 },
    { name: `pw-pod-${node}-b`, node, role: 'pod' as const, ip: `10.244.${i + 1}.3`, port: 20000 },
    { name: `pw-host-${node}`, node, role: 'host' as const, ip: `172.18.0.${11 + i}`, port: 20000 },
  ]);
  const nodeIPs = new Map(probes.filter((p) => p.role === 'host').map((p) => [p.node, p.ip]));
  const flows = planFlows('r', probes, nodeIPs, undefined, { mode: 'sample', k: 3, seed: 1 });
  const nodeOf = new Map(probes.map((p) => [p.name, p.node]));
  const peers = remotePeers(names(12), { mode: 'sample', k: 3, seed: 1 });
  for (const f of flows.filter((x) => ['pod-pod-cross', 'host-pod-cross', 'pod-pod-mtu'].includes(x.kind))) {
    expect(peers.get(nodeOf.get(f.from)!)).toContain(nodeOf.get(f.to!));
  }
  expect(flows.filter((f) => f.kind === 'pod-pod-cross')).toHaveLength(12 * 3 * 2);
  // pod → node: its own node and its K peers.
  expect(flows.filter((f) => f.kind === 'pod-node' && f.from === 'pw-pod-node-1-a').map((f) => nodeOf.get(f.to!)).sort()).toEqual(['node-1', ...peers.get('node-1')!].sort());
  expect(flows.filter((f) => f.kind === 'pod-pod-same')).toHaveLength(12 * 4);
  // Peers chosen before the inventory (for the nodes then ready): a node that dropped out since receives nothing, the rest is that plan.
  const chosen = planFlows('r', probes.filter((p) => p.node !== 'node-5'), nodeIPs, undefined, { mode: 'sample', k: 3, seed: 1 }, peers);
  expect(chosen.filter((f) => nodeOf.get(f.from) === 'node-5' || nodeOf.get(f.to ?? '') === 'node-5')).toEqual([]);
  for (const f of chosen.filter((x) => x.kind === 'pod-pod-cross')) expect(peers.get(nodeOf.get(f.from)!)).toContain(nodeOf.get(f.to!));
  const fromNode1 = chosen.filter((f) => f.kind === 'pod-pod-cross' && f.proto === 'tcp' && nodeOf.get(f.from) === 'node-1').map((f) => nodeOf.get(f.to!));
  expect(fromNode1.sort()).toEqual(peers.get('node-1')!.filter((n) => n !== 'node-5').sort());

  // Uplink lookups: pod a's traffic to its peers' a pods and to the external target, O(K) per node; every cross-node and egress flow has one.
  const podIPs = podIPsByNode(probes);
  const external = { ip: '198.51.100.10', port: 80 };
  const withExternal = planFlows('r', probes, nodeIPs, external, { mode: 'sample', k: 3, seed: 1 });
  for (const node of names(12)) {
    const q = uplinkQueries(node, podIPs, peers, external);
    expect(q).toHaveLength(3 + 1);
    expect(new Set(q.map((x) => x.src))).toEqual(new Set([podIPs.get(node)!.a]));
    const needed = withExternal.filter((f) => (f.kind === 'pod-pod-cross' || f.kind === 'pod-external') && nodeOf.get(f.from) === node).map((f) => f.dstIP);
    expect(new Set(q.map((x) => x.dst))).toEqual(new Set(needed));
  }
  expect(uplinkQueries('node-99', podIPs, peers, external)).toEqual([]);
});

test('--pairs and --seed: defaults, values, refusals; auto is all up to 32 nodes', () => {
  expect(parseRunOptions([])).toMatchObject({ pairs: 'auto' });
  expect(parseRunOptions([]).seed).toBeUndefined();
  expect(parsePairs('all')).toBe('all');
  expect(parsePairs('sample')).toEqual({ k: 8 });
  expect(parsePairs('sample:3')).toEqual({ k: 3 });
  expect(parseSeed('42')).toBe(42);
  for (const bad of ['some', 'sample:0', 'sample:x', 'sample:', 'all:3']) expect(() => parsePairs(bad)).toThrow(UsageError);
  expect(() => parsePairs('some')).toThrow(/expected `--pairs` to be all, sample or sample:K .* got `some`/);
  for (const bad of ['-1', 'x', '1.5']) expect(() => parseSeed(bad)).toThrow(/expected `--seed`/);
  expect(resolvePairs({ pairs: 'auto', seed: 7 }, 32)).toEqual({ mode: 'all' });
  expect(resolvePairs({ pairs: 'auto', seed: 7 }, 33)).toEqual({ mode: 'sample', k: 8, seed: 7 });
  expect(resolvePairs({ pairs: { k: 2 }, seed: 7 }, 3)).toEqual({ mode: 'sample', k: 2, seed: 7 });
  expect(resolvePairs({ pairs: 'all' }, 64)).toEqual({ mode: 'all' });
  const random = resolvePairs({ pairs: { k: 2 } }, 3);
  expect(random.mode === 'sample' && Number.isInteger(random.seed)).toBe(true);
});
