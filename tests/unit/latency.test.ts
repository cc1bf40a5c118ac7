// Path latency from the recorded bundles: one handshake RTT per TCP flow of
// each path class, measured on the sender's own capture, grouped by the
// encapsulation the uplink showed.
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { readBundle } from '../../src/bundle/io.js';
import { percentile } from '../../src/conformance/latency.js';
import { judgeBundle } from '../../src/judge/judge.js';
import { ROOT } from '../helpers/lab.js';

const judged = async (name: string) => judgeBundle(await readBundle(join(ROOT, 'fixtures', 'bundles', name))).report;

/** TCP flows per path class, counted from the bundle's plan (not from what latency found). */
async function tcpFlows(name: string): Promise<Record<string, number>> {
  const b = await readBundle(join(ROOT, 'fixtures', 'bundles', name));
  const cls: Record<string, string> = { 'pod-pod-same': 'same-node', 'pod-pod-cross': 'cross-node', 'host-pod-cross': 'node-to-pod', 'pod-external': 'egress' };
  const out: Record<string, number> = {};
  for (const f of b.flows.flows) if (f.proto === 'tcp' && cls[f.kind]) out[cls[f.kind]!] = (out[cls[f.kind]!] ?? 0) + 1;
  return out;
}

describe('path latency on clean bundles', () => {
  test.each([
    ['clean-hostgw', 'none'],
    ['clean-vxlan', 'vxlan'],
  ])('%s: every path class, one sample per TCP flow, times > 0 and ordered, cross-node carried by %s', async (name, cross) => {
    const r = await judged(name);
    const expected = await tcpFlows(name);
    expect(r.latency.map((l) => l.path)).toEqual(['same-node', 'cross-node', 'node-to-pod', 'egress']);
    for (const l of r.latency) {
      expect(l.samples, l.path).toBe(expected[l.path]);
      expect(l.medianMs, l.path).toBeGreaterThan(0);
      expect(l.medianMs).toBeLessThanOrEqual(l.p90Ms);
      expect(l.p90Ms).toBeLessThanOrEqual(l.maxMs);
      // A lab's veths and bridge answer a handshake in well under a second.
      expect(l.maxMs).toBeLessThan(1000);
    }
    expect(r.latency.find((l) => l.path === 'cross-node')!.encapsulation).toBe(cross);
    expect(r.latency.find((l) => l.path === 'same-node')!.encapsulation).toBe('none');
  });

  test('missing-route: flows with no handshake at the sender give no sample; the informational latency never changes a verdict', async () => {
    const r = await judged('missing-route');
    // node-1 cannot reach node-2's pods and node-2's replies from node-1 are lost: no cross-node pod handshake completed.
    expect(r.latency.find((l) => l.path === 'cross-node')).toBeUndefined();
    expect(r.latency.find((l) => l.path === 'node-to-pod')!.samples).toBe(1);
    expect(r.latency.find((l) => l.path === 'same-node')!.samples).toBe(4);
    expect(r.checks.some((c) => /latency/i.test(c.title))).toBe(false);
  });
});

test.each([
  [[1], 0.5, 1],
  [[1, 2], 0.5, 1],
  [[1, 2, 3], 0.5, 2],
  [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9, 9],
  [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 1, 10],
])('percentile(%j, %d) = %d (nearest rank)', (values, q, want) => {
  expect(percentile(values, q)).toBe(want);
});
