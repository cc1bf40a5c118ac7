// One step of the simulation benchmark in a process of its own, so its peak
// memory (VmHWM) is its own. Prints one JSON line.
//   gen NODES K|all CONCURRENCY DIR   build the bundle of a healthy run, write it to DIR, count what a real run would need
//   judge DIR                         read the bundle and judge it, as `podwire judge` does
import { readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { getHeapStatistics } from 'node:v8';
import { readBundle, writeBundle } from '../src/bundle/io.js';
import { judgeBundle } from '../src/judge/judge.js';
import { simBundle, simCluster, simPairs } from './sim-bundle.js';
import { runCost } from './sim-cost.js';

function peakRssMiB(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : 0;
}
const MiB = (x: number) => Math.round(x / 2 ** 20);

async function gen(nodes: number, k: number | 'all', concurrency: number, dir: string) {
  const t0 = performance.now();
  const cluster = simCluster(nodes);
  const { bundle, planMs } = simBundle(cluster, simPairs(k));
  const genMs = performance.now() - t0;
  await writeBundle(dir, bundle);
  const captureBytes = bundle.captures.reduce((s, c) => s + c.data.length, 0);
  return {
    nodes, planMs: Math.round(planMs), genMs: Math.round(genMs), probes: bundle.probes.probes.length, flows: bundle.flows.flows.length,
    packets: bundle.captures.reduce((s, c) => s + (c.stats.captured ?? 0), 0), captureBytes,
    jsonBytes: (await Promise.all(['run', 'api', 'probes', 'flows'].map((f) => stat(join(dir, `${f}.json`))))).reduce((s, st) => s + st.size, 0),
    cost: runCost(bundle, cluster.api.pods.items, concurrency), peakRssMiB: peakRssMiB(),
  };
}

async function judge(dir: string) {
  const t0 = performance.now();
  const bundle = await readBundle(dir);
  const t1 = performance.now();
  const cpu0 = process.cpuUsage();
  const { report } = judgeBundle(bundle);
  const cpu = process.cpuUsage(cpu0);
  const t2 = performance.now();
  const heap = process.memoryUsage();
  return {
    readMs: Math.round(t1 - t0), judgeMs: Math.round(t2 - t1), judgeCpuMs: Math.round((cpu.user + cpu.system) / 1000), peakRssMiB: peakRssMiB(), heapUsedMiB: MiB(heap.heapUsed), heapTotalMiB: MiB(getHeapStatistics().total_heap_size),
    results: Object.fromEntries(report.checks.map((c) => [c.id, c.result])), allPassed: report.checks.length > 0 && report.checks.every((c) => c.result === 'passed'),
    notPassed: report.checks.filter((c) => c.result !== 'passed').map((c) => `${c.id}: ${c.reason}`.slice(0, 300)),
  };
}

const [mode, ...args] = process.argv.slice(2);
const out = mode === 'gen'
  ? await gen(Number(args[0]), args[1] === 'all' ? 'all' : Number(args[1]), Number(args[2]), args[3]!)
  : await judge(args[0]!);
console.log(JSON.stringify(out));
