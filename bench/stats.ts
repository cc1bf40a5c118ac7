// Benchmark bookkeeping: summaries, the printed table and the JSON report.
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, release, totalmem } from 'node:os';
import { table } from '../src/lab/status.js';

export interface Measurement {
  name: string;
  unit: 'ms';
  samples: number[];
  median: number;
  min: number;
  max: number;
  goal?: number;
  met?: boolean;
}

export function summarize(name: string, samples: number[], opts: { goalMs?: number } = {}): Measurement {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  const median = sorted.length % 2 ? sorted[Math.floor(mid)]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  const r = (x: number) => Math.round(x);
  return {
    name,
    unit: 'ms',
    samples: samples.map(r),
    median: r(median),
    min: r(sorted[0]!),
    max: r(sorted.at(-1)!),
    ...(opts.goalMs !== undefined ? { goal: opts.goalMs, met: median <= opts.goalMs } : {}),
  };
}

export function formatTable(rows: Measurement[]): string {
  return table(['measurement', 'median', 'min', 'max', 'n', 'goal', 'met'], rows.map((m) => [m.name, `${m.median} ms`, `${m.min} ms`, `${m.max} ms`,
    String(m.samples.length), m.goal !== undefined ? `<= ${m.goal} ms` : '-', m.met === undefined ? '-' : m.met ? 'yes' : 'NO']));
}

export async function writeReport(file: string, name: string, data: unknown): Promise<void> {
  await mkdir(new URL('.', `file://${file}`).pathname, { recursive: true });
  const report = {
    apiVersion: 'podwire.dev/v1alpha1',
    kind: 'BenchmarkReport',
    benchmark: name,
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), kernel: release(), node: process.version },
    ...(data as object),
  };
  await writeFile(file, JSON.stringify(report, null, 2) + '\n');
}
