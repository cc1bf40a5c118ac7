// Simulation benchmark (`npm run bench -- sim`): synthetic bundles of healthy
// runs on 100, 1,000 and 5,000 nodes with `--pairs sample` (K=8, the default
// above 32 nodes), each generated and judged in a process of its own (so
// peak memory is that step's), with what a real run would ask of the
// cluster (bench/sim-cost.ts). No root, no cluster.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { DEFAULT_SAMPLE_K } from '../src/conformance/flows.js';
import { DEFAULT_CONCURRENCY } from '../src/conformance/options.js';
import type { RunCost } from './sim-cost.js';

const run = promisify(execFile);
const WORKER = fileURLToPath(new URL('./sim-worker.js', import.meta.url));

export interface SimRow {
  nodes: number;
  k: number;
  probes: number;
  flows: number;
  packets: number;
  captureBytes: number;
  jsonBytes: number;
  planMs: number;
  readMs: number;
  judgeMs: number;
  judgeCpuMs: number;
  judgePeakRssMiB: number;
  judgeHeapMiB: number;
  allPassed: boolean;
  notPassed: string[];
  cost: RunCost;
}

/** One worker step, its JSON line parsed. */
async function worker<T>(args: string[]): Promise<T> {
  const { stdout } = await run(process.execPath, [WORKER, ...args], { maxBuffer: 1 << 24, timeout: 3_600_000 });
  return JSON.parse(stdout) as T;
}

export async function benchSim(opts: { sizes: number[]; log: (s: string) => void }): Promise<SimRow[]> {
  const rows: SimRow[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'podwire-sim-'));
  try {
    for (const nodes of opts.sizes) {
      const bundle = join(dir, `n${nodes}`);
      opts.log(`${nodes} nodes: generating the bundle of a healthy run (--pairs sample:${DEFAULT_SAMPLE_K})`);
      const g = await worker<{ planMs: number; probes: number; flows: number; packets: number; captureBytes: number; jsonBytes: number; cost: RunCost }>(
        ['gen', String(nodes), String(DEFAULT_SAMPLE_K), String(DEFAULT_CONCURRENCY), bundle]);
      opts.log(`${nodes} nodes: judging it (${g.flows} flows, ${g.packets.toLocaleString('en')} packets)`);
      const j = await worker<{ readMs: number; judgeMs: number; judgeCpuMs: number; peakRssMiB: number; heapTotalMiB: number; allPassed: boolean; notPassed: string[] }>(['judge', bundle]);
      await rm(bundle, { recursive: true, force: true });
      rows.push({
        nodes, k: DEFAULT_SAMPLE_K, probes: g.probes, flows: g.flows, packets: g.packets, captureBytes: g.captureBytes, jsonBytes: g.jsonBytes, planMs: g.planMs,
        readMs: j.readMs, judgeMs: j.judgeMs, judgeCpuMs: j.judgeCpuMs, judgePeakRssMiB: j.peakRssMiB, judgeHeapMiB: j.heapTotalMiB,
        allPassed: j.allPassed, notPassed: j.notPassed, cost: g.cost,
      });
    }
    return rows;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
