// A 64-node lab (the lab's maximum) through one full `podwire run`: the
// probe agent travels on each exec's stdin (a sender script in the exec URL
// died with HTTP 431 at this size), and every check passes on ~20,000 flows.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { describeLab, useLab } from '../helpers/lab.js';
import { leftovers, podwireRun } from '../helpers/run.js';

const reportsRoot = mkdtempSync(join(tmpdir(), 'podwire-scale-'));
afterAll(() => rmSync(reportsRoot, { recursive: true, force: true }));

describeLab('a 64-node lab', () => {
  const lab = useLab('tscale', ['--nodes', '64']);

  test('a full run of every pair completes, covers every node and passes every check', async () => {
    // Above 32 nodes the default is a sample of pairs; all of them here (~20,000 flows).
    const r = await podwireRun(lab(), reportsRoot, ['--pairs', 'all']);
    expect(r.report, String(r.stderr)).toBeDefined();
    const report = r.report!;
    const notPassed = report.checks.filter((c) => c.result !== 'passed').map((c) => `${c.id} ${c.result}: ${c.reason}`);
    expect(notPassed).toEqual([]);
    expect(r.exitCode).toBe(0);
    expect(report.coverage).toMatchObject({ nodes: 64, covered: 64 });
    // Every ordered pair of nodes, both protocols; one capture per probe and three execs (192 probes, more than
    // the default --concurrency of 32: inventory, send, capture fetch), never more than 32 calls in flight.
    expect(report.checks.find((c) => c.id === 'NM-1.2')!.flows).toHaveLength(64 * 63 * 2);
    expect(report.counts.captures).toBe(192);
    expect(report.counts.execs).toBe(3 * 192);
    expect(report.counts.maxInFlight).toBeLessThanOrEqual(32);
    expect(report.counts.maxExecsInFlight).toBeLessThanOrEqual(32);
    expect(report.captures.every((c) => c.complete)).toBe(true);
    expect(report.pairs).toMatchObject({ mode: 'all', tested: 64 * 63, total: 64 * 63 });
    expect(await leftovers(lab())).toEqual([]);
  }, 600_000);
});
