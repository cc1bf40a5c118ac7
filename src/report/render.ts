// Renderings of a ConformanceReport: the console summary and JUnit XML.
import junit, { type Builder } from 'junit-report-builder';
import type { ConformanceReport } from './model.js';

const MARK = { passed: 'PASS', failed: 'FAIL', inconclusive: 'INCONCLUSIVE', skipped: 'SKIP' } as const;

export function consoleSummary(r: ConformanceReport, paths: { dir: string }): string {
  const lines = [`podwire run ${r.runId}: ${r.cluster.nodes.length} node(s), ${r.counts.flows} flows, ${r.counts.captures} captures, ${r.counts.execs} execs, ${(r.durationMs / 1000).toFixed(1)} s${r.counts.retried ? `, ${r.counts.retried} flow(s) sent twice (no reply to the first try)` : ''}`];
  const dp = r.dataplane.filter((d) => d.samples > 0).map((d) => `${d.path}: ${d.encapsulation}${d.overheadBytes ? ` (+${d.overheadBytes} B)` : ''}`);
  if (dp.length) lines.push(`dataplane: ${dp.join(', ')}`);
  lines.push('');
  const w = Math.max(...r.checks.map((c) => c.id.length));
  for (const c of r.checks) {
    lines.push(`${MARK[c.result].padEnd(12)} ${c.id.padEnd(w)}  ${c.title}`);
    if (c.result !== 'passed') lines.push(`${' '.repeat(14 + w)}${c.reason}`);
    if (c.evidence) lines.push(`${' '.repeat(14 + w)}evidence: ${c.evidence}`);
  }
  const s = r.summary;
  lines.push('', `${s.passed} passed, ${s.failed} failed, ${s.inconclusive} inconclusive, ${s.skipped} skipped`, `report: ${paths.dir}/report.json, ${paths.dir}/junit.xml`);
  return lines.join('\n');
}

export function junitXml(r: ConformanceReport): string {
  // The package is CommonJS: under NodeNext its default import is module.exports, the builder itself.
  const root = ((junit as unknown as { default?: Builder }).default ?? (junit as unknown as Builder));
  const b = root.newBuilder();
  const suite = b.testSuite().name(`podwire conformance ${r.runId}`).timestamp(r.startedAt).time(r.durationMs / 1000);
  for (const c of r.checks) {
    const tc = suite.testCase().className(`podwire.${c.id.split('.')[0]}`).name(`${c.id} ${c.title}`);
    const failed = c.flows.filter((f) => f.verdict === 'failed');
    if (c.result === 'failed') {
      tc.failure(c.reason, 'NetworkModelViolation');
      tc.standardOutput(failed.map((f) => `${f.flow} ${f.proto} ${f.from} -> ${f.to}: expected ${f.expected}, observed ${f.observed}`).join('\n') + (c.evidence ? `\nevidence: ${c.evidence}` : ''));
    } else if (c.result === 'skipped' || c.result === 'inconclusive') {
      tc.skipped();
      tc.standardOutput(`${c.result}: ${c.reason}${c.evidence ? `\nevidence: ${c.evidence}` : ''}`);
    }
  }
  return b.build();
}
