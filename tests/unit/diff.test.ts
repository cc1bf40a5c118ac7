// Report diffs for upgrade gating, on reports judged from the recorded
// bundles: a clean lab against its faulty variants, both ways round.
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { readBundle } from '../../src/bundle/io.js';
import type { Verdict } from '../../src/conformance/model.js';
import { judgeBundle } from '../../src/judge/judge.js';
import { runExitCode } from '../../src/cli/diff.js';
import { changeOf, diffExitCode, diffReports, incompatibility } from '../../src/report/diff.js';
import { diffMarkdown, diffText, renderDiff } from '../../src/report/diff-render.js';
import type { ConformanceReport } from '../../src/report/model.js';
import { ROOT } from '../helpers/lab.js';

const reports: Record<string, ConformanceReport> = {};
const judged = async (name: string, profile?: 'core') =>
  judgeBundle(await readBundle(join(ROOT, 'fixtures', 'bundles', name)), profile ? { profile } : {}).report;

beforeAll(async () => {
  for (const n of ['clean-hostgw', 'missing-route', 'masquerade-all', 'pod-to-node-snat']) reports[n] = await judged(n);
  reports['core-clean'] = await judged('clean-hostgw', 'core');
});

/** A deep copy, so a test can edit a report without touching the others. */
const copy = (r: ConformanceReport): ConformanceReport => JSON.parse(JSON.stringify(r)) as ConformanceReport;
const byChange = (d: ReturnType<typeof diffReports>, change: string) => d.checks.filter((c) => c.change === change).map((c) => c.id);

test.each<[Verdict | null, Verdict | null, string]>([
  ['passed', 'failed', 'regressed'],
  ['passed', 'inconclusive', 'regressed'],
  ['inconclusive', 'failed', 'regressed'],
  ['skipped', 'failed', 'regressed'],
  ['failed', 'passed', 'fixed'],
  ['inconclusive', 'passed', 'fixed'],
  ['failed', 'skipped', 'fixed'],
  ['failed', 'inconclusive', 'improved'],
  ['passed', 'skipped', 'changed'],
  ['failed', 'failed', 'unchanged'],
  ['passed', 'passed', 'unchanged'],
  [null, 'passed', 'new'],
  [null, 'failed', 'regressed'],
  [null, 'inconclusive', 'regressed'],
  ['failed', null, 'gone'],
  ['passed', null, 'gone'],
])('%s → %s is %s', (before, after, change) => {
  expect(changeOf(before, after)).toBe(change);
});

describe('diffReports on judged bundles', () => {
  test('clean → missing-route: the failed and inconclusive checks regress, with the node-1/node-2 pairs that broke; exit 1', () => {
    const d = diffReports(reports['clean-hostgw']!, reports['missing-route']!);
    expect(byChange(d, 'regressed')).toEqual(['NM-1.2', 'NM-1.3', 'NM-2.2', 'NM-2.3', 'NM-2.4', 'NM-3.3', 'NM-5.1']);
    expect(d.counts).toMatchObject({ regressed: 7, fixed: 0, new: 0, gone: 0, unchanged: 7 });
    const nm12 = d.checks.find((c) => c.id === 'NM-1.2')!;
    expect(nm12.pairs.map((p) => `${p.kind} ${p.proto} ${p.from}>${p.to} ${p.before}>${p.after}`)).toEqual([
      'pod-pod-cross tcp node-1>node-2 passed>failed',
      'pod-pod-cross tcp node-2>node-1 passed>failed',
      'pod-pod-cross udp node-1>node-2 passed>failed',
    ]);
    // Same-node pairs did not change, so they are not listed.
    expect(d.checks.flatMap((c) => c.pairs).filter((p) => p.from === p.to)).toEqual([]);
    expect(diffExitCode(d)).toBe(1);
  });

  test('missing-route → clean: the same checks are fixed; exit 0', () => {
    const d = diffReports(reports['missing-route']!, reports['clean-hostgw']!);
    expect(byChange(d, 'fixed')).toEqual(['NM-1.2', 'NM-1.3', 'NM-2.2', 'NM-2.3', 'NM-2.4', 'NM-3.3', 'NM-5.1']);
    expect(d.counts.regressed).toBe(0);
    expect(diffExitCode(d)).toBe(0);
  });

  test('clean → clean: nothing changed; exit 0', () => {
    const d = diffReports(reports['clean-hostgw']!, reports['clean-hostgw']!);
    expect(d.counts).toMatchObject({ regressed: 0, fixed: 0, unchanged: 14 });
    expect(d.checks.every((c) => c.pairs.length === 0)).toBe(true);
    expect(diffExitCode(d)).toBe(0);
  });

  test('pairs are matched by node and flow class, not flow id or IP: renamed flows and moved pod IPs change nothing', () => {
    const after = copy(reports['clean-hostgw']!);
    for (const c of after.checks) for (const f of c.flows) {
      f.flow = `x-${f.flow}`;
      f.from = f.from.replace(/10\.244\.(\d+)\.\d+/g, '10.244.$1.99');
      f.to = f.to.replace(/10\.244\.(\d+)\.\d+/g, '10.244.$1.98');
    }
    expect(diffReports(reports['clean-hostgw']!, after).counts.unchanged).toBe(14);
  });

  test('a check that keeps failing but breaks on one more node pair regresses; one that fails in the same places does not', () => {
    const before = reports['pod-to-node-snat']!;
    expect(before.checks.find((c) => c.id === 'NM-2.3')!.result).toBe('failed');
    expect(diffExitCode(diffReports(before, before))).toBe(0);
    const after = copy(before);
    const nm23 = after.checks.find((c) => c.id === 'NM-2.3')!;
    const passing = nm23.flows.filter((f) => f.verdict === 'passed');
    expect(passing.length).toBeGreaterThan(0);
    for (const f of passing) f.verdict = 'failed';
    const d = diffReports(before, after);
    const c = d.checks.find((x) => x.id === 'NM-2.3')!;
    expect([c.before, c.after, c.change]).toEqual(['failed', 'failed', 'regressed']);
    expect(c.pairs.every((p) => p.change === 'regressed')).toBe(true);
    expect(diffExitCode(d)).toBe(1);
    expect(diffText(d)).toMatch(/REGRESSED NM-2\.3 .*: failed → failed \(in more places\)/);
  });

  test('a check only in AFTER is new (or a regression when it does not pass); one only in BEFORE is gone and does not gate', () => {
    const before = copy(reports['clean-hostgw']!);
    const after = copy(reports['clean-hostgw']!);
    before.checks = before.checks.filter((c) => c.id !== 'NM-3.4');
    after.checks = after.checks.filter((c) => c.id !== 'NM-1.1');
    const d = diffReports(before, after);
    expect(byChange(d, 'new')).toEqual(['NM-3.4']);
    expect(byChange(d, 'gone')).toEqual(['NM-1.1']);
    expect(diffExitCode(d)).toBe(0);
    after.checks.find((c) => c.id === 'NM-3.4')!.result = 'failed';
    expect(byChange(diffReports(before, after), 'regressed')).toEqual(['NM-3.4']);
  });
});

describe('incompatible reports', () => {
  test('another apiVersion or another profile is said plainly', () => {
    const other = copy(reports['clean-hostgw']!);
    (other as { apiVersion: string }).apiVersion = 'podwire.dev/v0';
    expect(incompatibility(reports['clean-hostgw']!, other)).toMatch(/different apiVersions \(BEFORE `podwire\.dev\/v1alpha1`, AFTER `podwire\.dev\/v0`\)/);
    expect(incompatibility(reports['clean-hostgw']!, reports['core-clean']!)).toMatch(/different profiles \(BEFORE `strict`, AFTER `core`\).*--profile strict/);
    expect(incompatibility(reports['clean-hostgw']!, reports['missing-route']!)).toBeUndefined();
  });
});

describe('renderings', () => {
  test('markdown: a headline that says whether the gate fails, a table of changed checks, node pairs in collapsible tables', () => {
    const md = diffMarkdown(diffReports(reports['clean-hostgw']!, reports['missing-route']!));
    expect(md.split('\n')[0]).toBe('### podwire: :x: **7 check(s) regressed**');
    expect(md).toContain('| **REGRESSED** | NM-1.2 Cross-node pod to pod, no NAT | passed | failed |');
    expect(md).toContain('<details><summary>NM-1.2: 3 node pair(s) changed</summary>');
    expect(md).toContain('| pod-pod-cross | TCP | node-1 | node-2 | passed | **failed** |');
    expect(md).not.toContain('NM-1.1');
    const ok = diffMarkdown(diffReports(reports['missing-route']!, reports['clean-hostgw']!));
    expect(ok.split('\n')[0]).toBe('### podwire: :white_check_mark: **no regression**');
  });

  test('markdown escapes pipes in titles so a table row stays one row', () => {
    const after = copy(reports['clean-hostgw']!);
    after.checks[0]!.title = 'a | b';
    after.checks[0]!.result = 'failed';
    expect(diffMarkdown(diffReports(reports['clean-hostgw']!, after))).toContain('| **REGRESSED** | NM-1.1 a \\| b | passed | failed |');
  });

  test('text lists regressions before fixes and ends with the gate; json carries the exit code', () => {
    const d = diffReports(reports['missing-route']!, reports['masquerade-all']!);
    const text = diffText(d).split('\n');
    const firstFixed = text.findIndex((l) => l.includes('FIXED'));
    const lastRegressed = text.map((l) => l.includes('REGRESSED')).lastIndexOf(true);
    expect(lastRegressed).toBeGreaterThan(0);
    expect(firstFixed).toBeGreaterThan(lastRegressed);
    expect(text.at(-1)).toMatch(/^gate: FAIL/);
    expect(JSON.parse(renderDiff(d, 'json'))).toMatchObject({ exitCode: 1, counts: { regressed: 3 } });
  });
});

describe('run --baseline: the exit status of a run gated against a baseline', () => {
  const quiet = () => undefined;
  test('a run with the baseline\'s own failures exits 0 (known failures do not block); without a baseline it exits 1', () => {
    expect(runExitCode(reports['missing-route']!, undefined, quiet)).toBe(1);
    expect(runExitCode(reports['missing-route']!, reports['missing-route']!, quiet)).toBe(0);
  });

  test('a run that got worse than its baseline exits 1 and prints the diff', () => {
    const printed: string[] = [];
    expect(runExitCode(reports['missing-route']!, reports['clean-hostgw']!, (s) => printed.push(s))).toBe(1);
    expect(printed.join('\n')).toMatch(/REGRESSED NM-1\.2/);
  });

  test('--require-all-nodes with a node not covered still exits 2; an incomparable baseline is a usage error', () => {
    const r = copy(reports['clean-hostgw']!);
    r.options.requireAllNodes = true;
    r.coverage.notCovered = [{ node: 'node-3', reason: 'image pull failed' }];
    expect(runExitCode(r, reports['clean-hostgw']!, quiet)).toBe(2);
    expect(() => runExitCode(reports['clean-hostgw']!, reports['core-clean']!, quiet)).toThrow(/different profiles/);
  });
});

describe('per family', () => {
  test('a dual-stack cluster that breaks IPv6 only: each check is compared per family, and only the IPv6 ones regress', async () => {
    const before = await judged('clean-dual');
    const after = await judged('ipv6-pod-masquerade');
    const d = diffReports(before, after);
    expect(d.checks.filter((c) => c.change === 'regressed').map((c) => `${c.id} ${c.family}`)).toEqual(['NM-1.2 6', 'NM-2.3 6', 'NM-4.2 6']);
    expect(d.checks.filter((c) => c.family === 4).every((c) => c.change === 'unchanged')).toBe(true);
    expect(d.checks.length).toBe(2 * after.checks.length);
    // The pairs that changed are node pairs of the IPv6 flows.
    const nm12 = d.checks.find((c) => c.id === 'NM-1.2' && c.family === 6)!;
    expect(nm12.pairs.map((p) => `${p.proto} ${p.from} -> ${p.to}`)).toEqual(['tcp node-2 -> node-1', 'udp node-2 -> node-1']);
    expect(diffExitCode(d)).toBe(1);
    const text = diffText(d);
    expect(text).toMatch(/^ {2}REGRESSED NM-1\.2 \[IPv6\] Cross-node pod to pod, no NAT: passed → failed$/m);
    expect(text).not.toMatch(/REGRESSED NM-1\.2 \[IPv4\]/);
    expect(diffMarkdown(d)).toContain('NM-1.2 [IPv6] Cross-node pod to pod, no NAT');
    // Fixed the other way round.
    expect(diffReports(after, before).checks.filter((c) => c.change === 'fixed').map((c) => `${c.id} ${c.family}`)).toEqual(['NM-1.2 6', 'NM-2.3 6', 'NM-4.2 6']);
  });

  test('an IPv4 cluster that becomes dual-stack: its IPv6 checks are new (a failing one a regression), the IPv4 ones compared with the old', async () => {
    const before = reports['clean-hostgw']!;
    const after = await judged('ipv6-pod-masquerade');
    const d = diffReports(before, after);
    expect(d.checks.filter((c) => c.family === 4).map((c) => c.change)).toEqual(after.checks.map(() => 'unchanged'));
    expect(d.checks.filter((c) => c.family === 6 && c.change === 'new').length).toBe(after.checks.length - 3);
    expect(d.checks.filter((c) => c.change === 'regressed').map((c) => `${c.id} ${c.family}`)).toEqual(['NM-1.2 6', 'NM-2.3 6', 'NM-4.2 6']);
  });

  test('two reports of one family name none', () => {
    const d = diffReports(reports['clean-hostgw']!, reports['missing-route']!);
    expect(d.checks.every((c) => c.family === undefined)).toBe(true);
  });
});
