// `podwire diff BEFORE AFTER`: reading the two reports (files or run
// directories) and gating on the comparison; `podwire run --baseline` reuses
// the loading and the gate.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { diffExitCode, diffReports, incompatibility } from '../report/diff.js';
import { renderDiff, type DiffFormat } from '../report/diff-render.js';
import type { Command } from './args.js';
import { REPORT_API_VERSION, exitCodeOf, type ConformanceReport } from '../report/model.js';

/** A report.json, or the run directory holding one. Any problem is a UsageError naming the path (exit 2). */
export async function loadReport(path: string, role: string): Promise<ConformanceReport> {
  const st = await stat(path).catch(() => undefined);
  if (!st) throw new UsageError(`${role} report \`${path}\` does not exist (give a report.json or a run directory)`);
  const file = st.isDirectory() ? join(path, 'report.json') : path;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${role} report \`${file}\` (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let r: Partial<ConformanceReport>;
  try {
    r = JSON.parse(text) as Partial<ConformanceReport>;
  } catch (err) {
    throw new UsageError(`${role} report \`${file}\` is not valid JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  if (typeof r !== 'object' || r === null || r.kind !== 'ConformanceReport') {
    throw new UsageError(`${role} file \`${file}\` is not a podwire report (kind \`${String((r as { kind?: unknown } | null)?.kind)}\`, expected \`ConformanceReport\`)`);
  }
  if (r.apiVersion !== REPORT_API_VERSION) {
    throw new UsageError(`${role} report \`${file}\` has apiVersion \`${String(r.apiVersion)}\`; this podwire compares \`${REPORT_API_VERSION}\` reports`);
  }
  if (!Array.isArray(r.checks) || !Array.isArray(r.probes) || typeof r.options?.profile !== 'string') {
    throw new UsageError(`${role} report \`${file}\` is incomplete (no checks, probes or options.profile)`);
  }
  return r as ConformanceReport;
}

/** Compares a baseline with a new report; prints the rendering; returns the gate's exit code. Incompatible reports are a UsageError. */
export function gate(before: ConformanceReport, after: ConformanceReport, format: DiffFormat, print: (s: string) => void): 0 | 1 {
  const why = incompatibility(before, after);
  if (why) throw new UsageError(why);
  const d = diffReports(before, after);
  print(renderDiff(d, format));
  return diffExitCode(d);
}

/**
 * Exit status of `podwire run --baseline`: known failures of the baseline do
 * not block, only what got worse does; `--require-all-nodes` still exits 2
 * when a node was not covered. Without a baseline, the run's own exit status.
 */
export function runExitCode(report: ConformanceReport, baseline: ConformanceReport | undefined, print: (s: string) => void): 0 | 1 | 2 {
  const code = exitCodeOf(report);
  if (!baseline || code === 2) return code;
  print('');
  return gate(baseline, report, 'text', print);
}

export async function runDiff(cmd: Extract<Command, { kind: 'diff' }>): Promise<number> {
  const [before, after] = await Promise.all([loadReport(cmd.before, 'BEFORE'), loadReport(cmd.after, 'AFTER')]);
  return gate(before, after, cmd.format, (s) => console.log(s));
}
