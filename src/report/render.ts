// Renderings of a ConformanceReport: the console summary and JUnit XML.
import junit, { type Builder } from 'junit-report-builder';
import type { CheckResult } from '../conformance/model.js';
import { familyTag, type ConformanceReport, type Summary } from './model.js';
import { diagnosisLine } from './diagnosis-text.js';
import { familyName } from '../conformance/families.js';

const MARK = { passed: 'PASS', failed: 'FAIL', inconclusive: 'INCONCLUSIVE', skipped: 'SKIP' } as const;

const counts = (s: Summary) => `${s.passed} passed, ${s.failed} failed, ${s.inconclusive} inconclusive, ${s.skipped} skipped`;

/** Flows listed per check on the console; the rest are counted and left to report.html. */
export const CONSOLE_FLOWS_PER_CHECK = 5;

export interface ConsoleLayout {
  /** Lines are wrapped to this many columns (the terminal's, or 100). */
  width?: number;
  flowsPerCheck?: number;
}

/** `text` in lines of at most `width` columns, continuation lines indented by two more than `indent`. */
function wrapped(text: string, indent: number, width: number): string[] {
  const room = Math.max(20, width - indent);
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    const limit = lines.length ? room - 2 : room;
    if (line && line.length + 1 + word.length > limit) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  return lines.map((l, i) => `${' '.repeat(indent + (i ? 2 : 0))}${l}`);
}

/** The lines under a check that did not pass: its flows one per line (at most `max`), or its reason. */
function checkDetail(c: CheckResult, indent: number, width: number, max: number): string[] {
  const listed = c.flows.filter((f) => f.verdict === c.result && f.kind !== 'api');
  if (c.result === 'passed' || c.result === 'skipped' || listed.length === 0) return wrapped(c.reason, indent, width);
  const head = c.result === 'failed' ? `${listed.length} of ${c.flows.length} flow(s) failed:` : `${listed.length} of ${c.flows.length} flow(s) could not be decided:`;
  const out = wrapped(head, indent, width);
  for (const f of listed.slice(0, max)) {
    out.push(...wrapped(`${f.family ? `[${familyName(f.family)}] ` : ''}${f.proto === '-' ? '' : `${f.proto.toUpperCase()} `}${f.from} -> ${f.to}: expected ${f.expected}, saw ${f.observed}`, indent, width));
  }
  if (listed.length > max) out.push(`${' '.repeat(indent)}… and ${listed.length - max} more (report.html)`);
  return out;
}

export function consoleSummary(r: ConformanceReport, paths: { dir: string; bundle: string }, layout: ConsoleLayout = {}): string {
  const width = layout.width ?? 100;
  const max = layout.flowsPerCheck ?? CONSOLE_FLOWS_PER_CHECK;
  const cov = r.coverage;
  const lines = [
    `podwire run ${r.runId}: ${cov.covered} of ${cov.nodes} node(s) covered, ${r.counts.flows} flows, ${r.counts.captures} captures, ${r.counts.execs} execs, ${(r.durationMs / 1000).toFixed(1)} s`
      + `${r.counts.retried ? `, ${r.counts.retried} flow(s) sent twice (no reply to the first try)` : ''}`,
    `profile ${r.options.profile}, egress SNAT declared: ${r.options.egressSnat}${r.families && (r.families.length > 1 || r.families[0] === 6) ? `, families: ${r.families.map(familyName).join(', ')}` : ''}`,
  ];
  const pairs = r.pairs;
  if (pairs.mode === 'sample') {
    lines.push(`node pairs: a sample of ${pairs.k} per node (seed ${pairs.seed}): ${pairs.tested} of ${pairs.total} ordered pairs; seeds 0-${pairs.runsToCoverAll - 1} cover them all; a fault on one pair is caught with probability ${(pairs.perPairProbability * 100).toFixed(0)} % per run`);
  }
  for (const n of cov.notCovered) lines.push(`not covered: ${n.node}: ${n.reason}`);
  for (const n of cov.leftOut) lines.push(`left out: ${n.node}: ${n.reason}`);
  const incomplete = r.captures.filter((c) => !c.complete);
  if (incomplete.length) lines.push(`incomplete captures (kernel drops or size cap): ${incomplete.map((c) => `${c.probe} (${c.droppedByKernel ?? '?'} dropped)`).join(', ')}`);
  const dp = r.dataplane.filter((d) => d.samples > 0).map((d) => `${d.family ? `${familyName(d.family)} ` : ''}${d.path}: ${d.encapsulation}${d.overheadBytes ? ` (+${d.overheadBytes} B)` : ''}`);
  if (dp.length) lines.push(`dataplane: ${dp.join(', ')}`);
  const lat = r.latency.map((l) => `${l.path}${l.encapsulation === 'none' ? '' : ` (${l.encapsulation})`} ${l.medianMs.toFixed(3)}/${l.p90Ms.toFixed(3)}/${l.maxMs.toFixed(3)} ms (${l.samples})`);
  if (lat.length) lines.push(`handshake RTT median/p90/max: ${lat.join(', ')}`);
  // A check that failed (or could not be decided) in only some families names them: `NM-1.2 [IPv6]`.
  const label = (c: CheckResult) => `${c.id}${c.result === 'passed' || c.result === 'skipped' ? '' : familyTag(c)}`;
  const w = Math.max(...r.checks.map((c) => label(c).length));
  const row = (c: CheckResult) => {
    const out = [`  ${MARK[c.result].padEnd(12)} ${label(c).padEnd(w)}  ${c.title}`];
    if (c.result !== 'passed') out.push(...checkDetail(c, 17 + w, width, max));
    if (c.diagnosis) out.push(...wrapped(`likely cause: ${diagnosisLine(c.diagnosis)}`, 17 + w, width));
    if (c.evidence) out.push(`${' '.repeat(17 + w)}evidence: ${c.evidence}`);
    return out;
  };
  for (const [profile, s] of Object.entries(r.profiles)) {
    lines.push('', `${profile}: ${counts(s!)}`);
    for (const c of r.checks.filter((x) => x.profile === profile)) lines.push(...row(c));
  }
  lines.push('', counts(r.summary));
  if (r.familySummaries) lines.push(r.familySummaries.map((f) => `${familyName(f.family)}: ${counts(f.summary)}`).join('; '));
  lines.push(`report: ${paths.dir}/report.html, ${paths.dir}/report.json, ${paths.dir}/junit.xml, bundle: ${paths.bundle}`);
  return lines.join('\n');
}

export function junitXml(r: ConformanceReport): string {
  // The package is CommonJS: under NodeNext its default import is module.exports, the builder itself.
  const root = ((junit as unknown as { default?: Builder }).default ?? (junit as unknown as Builder));
  const b = root.newBuilder();
  const suite = b.testSuite().name(`podwire conformance ${r.runId}`).timestamp(r.startedAt).time(r.durationMs / 1000);
  // A check judged in several families is one test case per family (`NM-1.2 … [IPv6]`): a pipeline sees which family failed, under stable names.
  for (const c of r.checks) {
    const cases = c.families
      ? c.families.map((f) => ({ name: `${c.id} ${c.title} [${familyName(f.family)}]`, result: f.result, reason: f.reason, diagnosis: f.diagnosis, flows: c.flows.filter((x) => x.family === f.family) }))
      : [{ name: `${c.id} ${c.title}`, result: c.result, reason: c.reason, diagnosis: c.diagnosis, flows: c.flows }];
    for (const k of cases) {
      const tc = suite.testCase().className(`podwire.${c.profile}.${c.id.split('.')[0]}`).name(k.name);
      const failed = k.flows.filter((f) => f.verdict === 'failed');
      if (k.result === 'failed') {
        tc.failure(k.reason, 'NetworkModelViolation');
        tc.standardOutput((k.diagnosis ? `likely cause: ${diagnosisLine(k.diagnosis)}\n` : '') + failed.map((f) => `${f.flow} ${f.proto} ${f.from} -> ${f.to}: expected ${f.expected}, observed ${f.observed}`).join('\n') + (c.evidence ? `\nevidence: ${c.evidence}` : ''));
      } else if (k.result === 'skipped' || k.result === 'inconclusive') {
        tc.skipped();
        tc.standardOutput(`${k.result}: ${k.reason}${c.evidence ? `\nevidence: ${c.evidence}` : ''}`);
      }
    }
  }
  return b.build();
}
