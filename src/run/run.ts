// A conformance run: collect (cluster I/O) → bundle (files) → judge (pure) →
// write (renderings). The report a run writes is exactly what `podwire judge`
// gives for its bundle.
import { resolve, join } from 'node:path';
import { readBundle, writeBundle } from '../bundle/io.js';
import type { RunOptions } from '../conformance/options.js';
import { judgeBundle, type JudgeOptions } from '../judge/judge.js';
import type { ConformanceReport } from '../report/model.js';
import { writeReport } from '../report/write.js';
import { collect, type CollectHooks } from './collect.js';

export interface RunOutcome {
  report: ConformanceReport;
  /** The run's directory: report.json, junit.xml, evidence/, bundle/. */
  dir: string;
  /** ms spent judging the bundle and writing bundle and reports (the collection's phases are in the report). */
  timings?: { judge: number; write: number };
}

export async function runConformance(opts: RunOptions, hooks: CollectHooks): Promise<RunOutcome> {
  const bundle = await collect(opts, hooks);
  // An interrupt that came as collection ended: no new stage starts.
  hooks.signal?.throwIfAborted();
  const dir = resolve(opts.reportDir, bundle.run.runId);
  let t0 = performance.now();
  await writeBundle(join(dir, 'bundle'), bundle);
  let write = performance.now() - t0;
  t0 = performance.now();
  hooks.signal?.throwIfAborted();
  const { report, captures } = judgeBundle(bundle);
  const judge = performance.now() - t0;
  hooks.signal?.throwIfAborted();
  t0 = performance.now();
  await writeReport(dir, report, bundle, captures);
  write += performance.now() - t0;
  return { report, dir, timings: { judge: Math.round(judge), write: Math.round(write) } };
}

/** `podwire judge`: the report of a bundle on disk, written under `reportDir/<run>` (default: the run directory the bundle sits in). */
export async function judgeDir(bundleDir: string, opts: JudgeOptions & { reportDir?: string }): Promise<RunOutcome> {
  const bundle = await readBundle(bundleDir);
  const dir = resolve(opts.reportDir ? join(opts.reportDir, bundle.run.runId) : join(bundleDir, '..'));
  const { report, captures } = judgeBundle(bundle, opts);
  await writeReport(dir, report, bundle, captures);
  return { report, dir };
}
