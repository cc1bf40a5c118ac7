// Conformance-run benchmark: `podwire run --profile strict` as a user runs
// it (a child process: CLI start to exit), on clean host-gw labs of 3, 8,
// 16, 32 and 64 nodes (lab up/down excluded), plus a 64-node run with
// `--pairs sample` and, beside the 3-node IPv4 run, a 3-node dual-stack one
// (every flow twice, once per family). Per size: wall time, the collection's phases as the
// report records them (API check, deploy, inventory with capture start,
// send, retrieve, cleanup), judging time (the bundle judged again in this
// process), and the counts that show the cost model (execs and captures
// linear in nodes, flows quadratic with all pairs).
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { readBundle } from '../src/bundle/io.js';
import type { RunPhases } from '../src/bundle/model.js';
import { judgeBundle } from '../src/judge/judge.js';
import type { ConformanceReport } from '../src/report/model.js';
import { summarize, type Measurement } from './stats.js';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const LAB = `${process.env.PODWIRE_TEST_LAB_TAG ?? ''}benchrun`;

export const PHASES: (keyof RunPhases)[] = ['api', 'deploy', 'inventory', 'send', 'retrieve', 'cleanup'];

export interface RunBenchRow {
  nodes: number;
  /** The lab's `--ip-family`. */
  family: 'ipv4' | 'dual';
  pairs: 'all' | 'sample';
  wall: Measurement;
  /** Median ms per phase over the repeats. */
  phases: Record<keyof RunPhases | 'judge', number>;
  execs: number;
  captures: number;
  flows: number;
  retried: number;
  allPassed: boolean;
}

const median = (xs: number[]) => summarize('', xs).median;

/** The sizes to measure: PODWIRE_BENCH_SIZES (comma-separated) or 3, 8, 16, 32, 64. */
export function benchSizes(): number[] {
  const env = process.env.PODWIRE_BENCH_SIZES;
  return env ? env.split(',').map(Number).filter((n) => Number.isInteger(n) && n >= 1 && n <= 64) : [3, 8, 16, 32, 64];
}

export async function benchRun(opts: { repeats: number; sizes: number[]; log: (s: string) => void }): Promise<RunBenchRow[]> {
  const rows: RunBenchRow[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'podwire-benchrun-'));
  try {
    const labs = opts.sizes.flatMap((nodes) => (nodes === 3 ? [{ nodes, family: 'ipv4' as const }, { nodes, family: 'dual' as const }] : [{ nodes, family: 'ipv4' as const }]));
    for (const { nodes, family } of labs) {
      await run(process.execPath, [CLI, 'lab', 'down', '--name', LAB]);
      await run(process.execPath, [CLI, 'lab', 'up', '--name', LAB, '--nodes', String(nodes), '--ip-family', family], { maxBuffer: 16 << 20 });
      try {
        for (const pairs of nodes === 64 ? ['all', 'sample'] as const : ['all'] as const) {
          rows.push(await measure(nodes, family, pairs, nodes >= 32 ? Math.min(opts.repeats, 2) : opts.repeats, dir, opts.log));
        }
      } finally {
        await run(process.execPath, [CLI, 'lab', 'down', '--name', LAB]);
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return rows;
}

async function measure(nodes: number, family: RunBenchRow['family'], pairs: 'all' | 'sample', repeats: number, dir: string, log: (s: string) => void): Promise<RunBenchRow> {
  const walls: number[] = [];
  const phases: Record<string, number[]> = {};
  let report: ConformanceReport | undefined;
  let allPassed = true;
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    const r = await run(process.execPath, [CLI, 'run', '--kubeconfig', `/run/podwire/${LAB}/kubeconfig`, '--report-dir', dir, '--profile', 'strict', '--pairs', pairs],
      { maxBuffer: 64 << 20 }).catch((e: { stdout?: string; stderr?: string; code?: number }) => ({ stdout: e.stdout ?? '', stderr: `${e.stderr ?? ''} (exit ${e.code})` }));
    walls.push(performance.now() - t0);
    const file = /(\S+\/report\.json)/.exec(String(r.stdout))?.[1];
    if (!file) throw new Error(`${nodes} nodes: no report.json in the output of podwire run: ${String(r.stderr).trim().split('\n').pop()}`);
    report = JSON.parse(await readFile(file, 'utf8')) as ConformanceReport;
    const t1 = performance.now();
    judgeBundle(await readBundle(join(file, '..', 'bundle')));
    (phases.judge ??= []).push(performance.now() - t1);
    for (const p of PHASES) (phases[p] ??= []).push(report.phases?.[p] ?? NaN);
    const notPassed = report.checks.filter((c) => c.result !== 'passed').map((c) => `${c.id} ${c.result}: ${c.reason}`);
    log(`${nodes} nodes, ${family}, pairs ${pairs}: run ${i + 1}/${repeats} ${Math.round(walls.at(-1)!)} ms, ${report.summary.passed}/${report.summary.total} passed, ${report.counts.retried} flow(s) retried${notPassed.length ? `; ${notPassed.join('; ')}` : ''}`);
    allPassed &&= report.summary.failed + report.summary.inconclusive === 0;
  }
  const c = report!.counts;
  return {
    nodes, family, pairs, wall: summarize(`${nodes} nodes`, walls), execs: c.execs, captures: c.captures, flows: c.flows, retried: c.retried, allPassed,
    phases: Object.fromEntries([...PHASES, 'judge'].map((p) => [p, median(phases[p]!)])) as RunBenchRow['phases'],
  };
}
