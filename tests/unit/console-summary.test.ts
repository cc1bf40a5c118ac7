// The console summary of a run: a failing check lists its flows one per line,
// wrapped to the terminal's width, at most CONSOLE_FLOWS_PER_CHECK of them,
// then how many more the HTML report holds.
import { join } from 'node:path';
import { beforeAll, expect, test } from 'vitest';
import { readBundle } from '../../src/bundle/io.js';
import { judgeBundle } from '../../src/judge/judge.js';
import type { FlowVerdict } from '../../src/conformance/model.js';
import type { ConformanceReport } from '../../src/report/model.js';
import { CONSOLE_FLOWS_PER_CHECK, consoleSummary } from '../../src/report/render.js';
import { ROOT } from '../helpers/lab.js';

let report: ConformanceReport;
const paths = { dir: '/r/run', bundle: '/r/run/bundle' };
beforeAll(async () => {
  report = judgeBundle(await readBundle(join(ROOT, 'fixtures', 'bundles', 'missing-route'))).report;
});

/** The lines under check `id` (up to the next check's row or a blank line). */
function detail(text: string, id: string): string[] {
  const lines = text.split('\n');
  const at = lines.findIndex((l) => new RegExp(`^  \\S+ +${id.replace('.', '\\.')} `).test(l));
  const rest = lines.slice(at + 1);
  const end = rest.findIndex((l) => l === '' || /^  \S/.test(l));
  return rest.slice(0, end === -1 ? undefined : end);
}

test('each failed flow starts its own line, in the order of the report, with what was expected and seen', () => {
  const nm12 = report.checks.find((c) => c.id === 'NM-1.2')!;
  const failed = nm12.flows.filter((f) => f.verdict === 'failed');
  const all = detail(consoleSummary(report, paths, { width: 100 }), 'NM-1.2');
  // The flows, up to the check's likely cause (its own line at the check's indent; diagnosis tests cover it).
  const cause = all.findIndex((l) => l.trimStart().startsWith('likely cause: '));
  expect(cause).toBeGreaterThan(0);
  expect(all[cause]!.length - all[cause]!.trimStart().length).toBe(all[0]!.length - all[0]!.trimStart().length);
  const lines = all.slice(0, cause);
  expect(lines[0]!.trim()).toBe(`${failed.length} of ${nm12.flows.length} flow(s) failed:`);
  const indent = lines[0]!.length - lines[0]!.trimStart().length;
  const flowStarts = lines.filter((l) => /^ +(TCP|UDP) pw-/.test(l)).map((l) => {
    expect(l.length - l.trimStart().length).toBe(indent); // flows start at the check's indent, continuations 2 further
    return l.trimStart();
  });
  expect(flowStarts).toHaveLength(failed.length);
  for (const l of lines.slice(1)) if (!/^ +(TCP|UDP) pw-/.test(l)) expect(l.length - l.trimStart().length).toBe(indent + 2);
  failed.forEach((f, i) => expect(flowStarts[i]).toContain(`${f.proto.toUpperCase()} ${f.from} -> ${f.to}:`));
});

test.each([100, 72, 140])('no line is wider than %i columns, and nothing is lost in the wrapping', (width) => {
  const text = consoleSummary(report, paths, { width });
  const failedChecks = report.checks.filter((c) => c.result === 'failed');
  for (const c of failedChecks) {
    const lines = detail(text, c.id);
    for (const l of lines) expect(l.length, l).toBeLessThanOrEqual(width);
    const joined = lines.map((l) => l.trim()).join(' ');
    for (const f of c.flows.filter((x) => x.verdict === 'failed')) expect(joined).toContain(`expected ${f.expected}, saw ${f.observed}`);
  }
});

test(`at most ${CONSOLE_FLOWS_PER_CHECK} flows per check, then "… and M more (report.html)"`, () => {
  const nm12 = report.checks.find((c) => c.id === 'NM-1.2')!;
  const one = nm12.flows.find((f) => f.verdict === 'failed')!;
  const many: FlowVerdict[] = Array.from({ length: 12 }, (_, i) => ({ ...one, flow: `f${100 + i}`, from: `pw-pod-node-${i}-a (10.244.${i}.3)` }));
  const big: ConformanceReport = { ...report, checks: report.checks.map((c) => (c.id === 'NM-1.2' ? { ...c, flows: [...c.flows, ...many] } : c)) };
  const lines = detail(consoleSummary(big, paths), 'NM-1.2');
  const shown = lines.map((l) => l.trimStart()).filter((l) => /^(TCP|UDP) pw-/.test(l));
  expect(shown).toHaveLength(CONSOLE_FLOWS_PER_CHECK);
  const failedCount = big.checks.find((c) => c.id === 'NM-1.2')!.flows.filter((f) => f.verdict === 'failed').length;
  expect(lines).toContain(`${' '.repeat(lines[0]!.length - lines[0]!.trimStart().length)}… and ${failedCount - CONSOLE_FLOWS_PER_CHECK} more (report.html)`);
  // Fewer flows than the limit: no "more" line.
  expect(detail(consoleSummary(report, paths), 'NM-1.3').some((l) => l.includes('more (report.html)'))).toBe(false);
  expect(detail(consoleSummary(big, paths, { flowsPerCheck: 2 }), 'NM-1.2').filter((l) => /^\s+(TCP|UDP) pw-/.test(l))).toHaveLength(2);
});

test('a check that failed without flows to list shows its reason; passed checks show nothing under them', () => {
  const nm31 = report.checks.find((c) => c.id === 'NM-3.1')!;
  const failedApi = { ...report, checks: report.checks.map((c) => (c.id === 'NM-3.1' ? { ...c, result: 'failed' as const, reason: 'pod IP 10.244.1.3 is held by two pods: a/x and b/y' } : c)) };
  expect(detail(consoleSummary(failedApi, paths), 'NM-3.1').map((l) => l.trim())).toEqual(['pod IP 10.244.1.3 is held by two pods: a/x and b/y', ...(nm31.evidence ? [`evidence: ${nm31.evidence}`] : [])]);
  expect(detail(consoleSummary(report, paths), 'NM-1.1')).toEqual([]);
});
