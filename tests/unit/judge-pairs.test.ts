// The report's pair coverage, judged from the bundle: which ordered node
// pairs the cross-node flows tested, of all of them, for all pairs and for a
// sample; the runs a sample needs to cover every pair; a pair's chance.
import { expect, test } from 'vitest';
import { judge, loadBundle } from '../helpers/bundles.js';

test('all pairs on a 2-node bundle: 2 of 2 ordered pairs, one run covers them, every pair certain', async () => {
  const r = judge(await loadBundle('clean-hostgw'));
  expect(r.pairs).toEqual({ mode: 'all', k: null, seed: null, nodes: 2, tested: 2, total: 2, runsToCoverAll: 1, perPairProbability: 1 });
});

test('a bundle that predates --pairs (no pairs recorded) reads as all pairs', async () => {
  const b = await loadBundle('clean-hostgw');
  delete (b.run as { pairs?: unknown }).pairs;
  expect(judge(b).pairs).toMatchObject({ mode: 'all', tested: 2, total: 2, perPairProbability: 1 });
});

test('a sample: K, seed, the runs to cover all pairs and a pair\'s chance per run, from the covered nodes', async () => {
  const b = await loadBundle('clean-hostgw');
  b.run.pairs = { mode: 'sample', k: 1, seed: 7 };
  // Only node-1 -> node-2 was tested (as a sample of one peer per node would on a larger cluster).
  const nodeOf = new Map(b.probes.probes.map((p) => [p.name, p.node]));
  b.flows.flows = b.flows.flows.filter((f) => f.kind !== 'pod-pod-cross' || nodeOf.get(f.from) === 'node-1');
  expect(judge(b).pairs).toEqual({ mode: 'sample', k: 1, seed: 7, nodes: 2, tested: 1, total: 2, runsToCoverAll: 1, perPairProbability: 1 });
  // Four covered nodes, K = 1: three runs cover every ordered pair; one given pair is in a run with probability 1/3.
  b.probes.coverage = ['node-1', 'node-2', 'node-3', 'node-4'].map((node) => ({ node, covered: true }));
  expect(judge(b).pairs).toMatchObject({ nodes: 4, total: 12, k: 1, runsToCoverAll: 3, perPairProbability: 1 / 3 });
  // K larger than the cluster: capped at the other nodes, certain.
  b.run.pairs = { mode: 'sample', k: 8, seed: 7 };
  expect(judge(b).pairs).toMatchObject({ k: 3, runsToCoverAll: 1, perPairProbability: 1 });
});

test('nodes left out or not covered do not count; no node covered: nothing tested, nothing total', async () => {
  const b = await loadBundle('clean-hostgw');
  b.probes.coverage = [{ node: 'node-1', covered: true }, { node: 'node-2', covered: false, reason: 'x' }, { node: 'vk', covered: false, leftOut: true, reason: 'virtual-kubelet' }];
  expect(judge(b).pairs).toMatchObject({ nodes: 1, total: 0, perPairProbability: 0 });
  b.probes.coverage = [];
  b.flows.flows = [];
  expect(judge(b).pairs).toMatchObject({ nodes: 0, tested: 0, total: 0, perPairProbability: 0 });
});
