// Conformance-run benchmark: core-profile wall time on 3-, 8- and 16-node
// labs (lab up/down excluded), with the exec, capture and flow counts that
// show the cost model (execs and captures linear in nodes, flows quadratic).
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { parseRunOptions } from '../src/conformance/options.js';
import { runConformance } from '../src/run/run.js';
import { summarize, type Measurement } from './stats.js';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const LAB = 'benchrun';

export interface RunBenchRow {
  nodes: number;
  wall: Measurement;
  execs: number;
  captures: number;
  flows: number;
  allPassed: boolean;
}

export async function benchRun(opts: { repeats: number; sizes: number[]; log: (s: string) => void }): Promise<RunBenchRow[]> {
  const rows: RunBenchRow[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'podwire-benchrun-'));
  try {
    for (const nodes of opts.sizes) {
      await run(process.execPath, [CLI, 'lab', 'down', '--name', LAB]);
      await run(process.execPath, [CLI, 'lab', 'up', '--name', LAB, '--nodes', String(nodes)]);
      try {
        const samples: number[] = [];
        let last;
        let allPassed = true;
        for (let i = 0; i < opts.repeats; i++) {
          const t0 = performance.now();
          last = await runConformance(parseRunOptions(['--kubeconfig', `/run/podwire/${LAB}/kubeconfig`, '--report-dir', dir, '--profile', 'strict']), { log: () => undefined });
          samples.push(performance.now() - t0);
          const notPassed = last.report.checks.filter((c) => c.result !== 'passed').map((c) => `${c.id} ${c.result}: ${c.reason}`);
          opts.log(`${nodes} nodes: run ${i + 1}/${opts.repeats} ${Math.round(samples.at(-1)!)} ms, ${last.report.summary.passed}/${last.report.summary.total} passed, ${last.report.counts.retried} flow(s) retried${notPassed.length ? `; ${notPassed.join('; ')}` : ''}`);
          allPassed &&= last.report.summary.failed + last.report.summary.inconclusive === 0;
        }
        const c = last!.report.counts;
        rows.push({ nodes, wall: summarize(`${nodes} nodes`, samples), execs: c.execs, captures: c.captures, flows: c.flows, allPassed });
      } finally {
        await run(process.execPath, [CLI, 'lab', 'down', '--name', LAB]);
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return rows;
}
