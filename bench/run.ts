// `npm run bench [-- NAME...]`: runs the benchmarks, prints a table each and
// writes reports/bench-NAME.json. lab and run need root (they build labs).
import { fileURLToPath } from 'node:url';
import { benchDecode } from './decode.js';
import { LAB_UP_GOAL_MS, benchLab } from './lab.js';
import { PHASES, benchRun, benchSizes } from './run-bench.js';
import { benchSim } from './sim.js';
import { MAX_JS_STRING } from './sim-cost.js';
import { formatTable, writeReport } from './stats.js';
import { table as renderTable } from '../src/lab/status.js';

const repeats = Number(process.env.PODWIRE_BENCH_REPEATS ?? 5);
const log = (s: string) => console.log(`  ${s}`);

/** Each benchmark returns its table and the JSON body of its report. */
const BENCHES: Record<string, { root: boolean; run: () => Promise<{ table: string; data: unknown }> }> = {
  lab: {
    root: true,
    run: async () => {
      const { profiles, measurements } = await benchLab({ repeats, log });
      const ms = (m: { median: number; min: number; max: number }) => [`${m.median} ms`, `${m.min}..${m.max} ms`];
      const perProfile = renderTable(['profile', 'lab up (3 nodes)', 'min..max', 'pods to Ready', 'min..max', 'lab down', 'n', `up <= ${LAB_UP_GOAL_MS} ms`],
        profiles.map((p) => [p.dataplane, ...ms(p.labUp), `${p.pods}: ${p.podStart.median} ms`, `${p.podStart.min}..${p.podStart.max} ms`, `${p.labDown.median} ms`,
          String(p.labUp.samples.length), p.labUp.met ? 'yes' : 'NO']));
      const goals = { labUpUnder2sEveryProfile: profiles.every((p) => p.labUp.met) };
      return { table: `${perProfile}\n${formatTable(measurements)}\ngoals: ${JSON.stringify(goals)}`, data: { goals, profiles, measurements } };
    },
  },
  run: {
    root: true,
    run: async () => {
      const rows = await benchRun({ repeats: Math.min(repeats, 3), sizes: benchSizes(), log });
      const base = rows[0]!;
      const table = renderTable(['nodes', 'family', 'pairs', 'median wall', 'min..max', 'x 3-node', ...PHASES, 'judge', 'execs', 'execs/node', 'captures', 'flows', 'retried', 'all passed'],
        rows.map((r) => [String(r.nodes), r.family, r.pairs, `${r.wall.median} ms`, `${r.wall.min}..${r.wall.max} ms`, (r.wall.median / base.wall.median).toFixed(2),
          ...[...PHASES, 'judge' as const].map((p) => `${r.phases[p]}`), String(r.execs), (r.execs / r.nodes).toFixed(1), String(r.captures), String(r.flows),
          String(r.retried), r.allPassed ? 'yes' : 'NO']));
      const row = (n: number, pairs = 'all') => rows.find((r) => r.nodes === n && r.pairs === pairs && r.family === 'ipv4');
      const goals = {
        threeNodesUnder3s: base.nodes === 3 ? base.wall.median <= 3_000 : null,
        twelveOrSixteenWithin2x: (row(12) ?? row(16)) ? (row(12) ?? row(16))!.wall.median <= 2 * base.wall.median : null,
        sixtyFourAllPairsUnder60s: row(64) ? row(64)!.wall.median <= 60_000 : null,
        sixtyFourSampleUnder20s: row(64, 'sample') ? row(64, 'sample')!.wall.median <= 20_000 : null,
        execsPerNodeAtMost8: rows.every((r) => r.execs <= 8 * r.nodes),
        capturesAtMostOnePerProbe: rows.every((r) => r.captures <= 3 * r.nodes),
        allPassed: rows.every((r) => r.allPassed),
      };
      return { table: `${table}\nphases in ms (median): the report's phases; judge: the bundle judged again in the benchmark's process\ngoals: ${JSON.stringify(goals)}`, data: { goals, rows } };
    },
  },
  sim: {
    root: false,
    run: async () => {
      const sizes = (process.env.PODWIRE_SIM_SIZES ?? '100,1000,5000').split(',').map(Number);
      const rows = await benchSim({ sizes, log });
      const MB = (x: number) => `${(x / 1e6).toFixed(0)} MB`;
      const judging = renderTable(['nodes', 'probes', 'flows', 'packets', 'bundle', 'plan', 'read', 'judge (wall)', 'judge (CPU)', 'peak RSS', 'heap', 'all passed'],
        rows.map((r) => [String(r.nodes), String(r.probes), r.flows.toLocaleString('en'), r.packets.toLocaleString('en'), MB(r.captureBytes + r.jsonBytes),
          `${r.planMs} ms`, `${r.readMs} ms`, `${r.judgeMs} ms`, `${r.judgeCpuMs} ms`, `${r.judgePeakRssMiB} MiB`, `${r.judgeHeapMiB} MiB`, r.allPassed ? 'yes' : `NO: ${r.notPassed.join('; ')}`]));
      const cost = renderTable(['nodes', 'execs', 'exec waves', 'API requests', 'pod creates', 'probe-list poll', 'node list', 'pod list', 'exec stdin', 'exec stdout', 'of it captures', 'total', 'largest response parses'],
        rows.map((r) => [String(r.nodes), r.cost.execs.total.toLocaleString('en'), `${r.cost.execs.fetch ? 3 : 2} x ${r.cost.waves.perExecPhase}`, `${r.cost.apiRequests.toLocaleString('en')} + polls`, MB(r.cost.bytes.podCreates),
          MB(r.cost.bytes.probeListPoll), MB(r.cost.bytes.nodeList), MB(r.cost.bytes.podList), MB(r.cost.bytes.execStdin), MB(r.cost.bytes.execStdout), MB(r.cost.bytes.captures), MB(r.cost.bytes.total),
          r.cost.bytes.largestResponse <= MAX_JS_STRING ? 'yes' : `NO (${MB(r.cost.bytes.largestResponse)} > ${MB(MAX_JS_STRING)})`]));
      const thousand = rows.find((r) => r.nodes === 1000);
      const goal = thousand ? { judgeWithin10s: thousand.judgeMs <= 10_000, judgeWithin1GiB: thousand.judgePeakRssMiB <= 1024, allPassed: thousand.allPassed } : undefined;
      const table = `${judging}\n\nwhat a real run would ask of the cluster (--concurrency ${rows[0]?.cost.concurrency}; polls: the probe-pod list ${rows[0]?.cost.pollsPerSecond.probes}/s until ready, the namespace ${rows[0]?.cost.pollsPerSecond.namespace}/s until gone):\n${cost}${goal ? `\ngoal (1,000 nodes): ${JSON.stringify(goal)}` : ''}`;
      return { table, data: { goal, rows } };
    },
  },
  decode: {
    root: false,
    run: async () => {
      const { rows, goalPacketsPerSec } = await benchDecode({ repeats, log });
      const head = rows[0]!;
      const table = renderTable(['tool', 'file', 'packets', 'runs', 'median', 'min..max', 'packets/s', 'MB/s', 'peak RSS'],
        rows.map((r) => [r.tool, r.file, String(r.packets), String(r.runs), `${r.medianMs} ms`, `${r.minMs}..${r.maxMs} ms`,
          r.packetsPerSec.toLocaleString('en'), String(r.mbPerSec), `${r.peakRssMiB} MiB`]));
      const met = head.packetsPerSec >= goalPacketsPerSec;
      return {
        table: `${table}\ngoal: podwire >= ${goalPacketsPerSec.toLocaleString('en')} packets/s on 100 MB: ${met ? 'met' : 'NOT met'}; peak memory 25 MB vs 100 MB: ${rows[1]!.peakRssMiB} vs ${head.peakRssMiB} MiB; 100 MB also decodes with the heap capped (${rows[2]!.tool})`,
        data: { goal: { packetsPerSec: goalPacketsPerSec, met }, rows },
      };
    },
  },
};

const REPORTS = fileURLToPath(new URL('../../reports/', import.meta.url));

async function main(): Promise<void> {
  const names = process.argv.slice(2);
  const unknown = names.filter((n) => !(n in BENCHES));
  if (unknown.length) {
    console.error(`podwire bench: unknown benchmark \`${unknown[0]}\` (have: ${Object.keys(BENCHES).join(', ')})`);
    process.exit(2);
  }
  const selected = names.length ? names : Object.keys(BENCHES);
  if (selected.some((n) => BENCHES[n]!.root) && process.getuid?.() !== 0) {
    console.error('podwire bench: the lab benchmark needs root (it builds lab clusters); run `npm run bench -- decode sim` for the rest');
    process.exit(2);
  }
  for (const name of selected) {
    console.log(`\n== bench ${name} ==`);
    const { table, data } = await BENCHES[name]!.run();
    console.log(table);
    const file = `${REPORTS}bench-${name}.json`;
    await writeReport(file, name, data);
    console.log(`wrote ${file}`);
  }
}

main().catch((err: unknown) => {
  console.error(`podwire bench: ${err instanceof Error ? err.message : err}`);
  process.exit(1);
});
