// `npm run bench [-- NAME...]`: runs the benchmarks, prints a table each and
// writes reports/bench-NAME.json. Needs root (it builds labs).
import { fileURLToPath } from 'node:url';
import { benchDecode } from './decode.js';
import { LAB_UP_GOAL_MS, benchLab } from './lab.js';
import { PHASES, benchRun, benchSizes } from './run-bench.js';
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
      const table = renderTable(['nodes', 'pairs', 'median wall', 'min..max', 'x 3-node', ...PHASES, 'judge', 'execs', 'execs/node', 'captures', 'flows', 'retried', 'all passed'],
        rows.map((r) => [String(r.nodes), r.pairs, `${r.wall.median} ms`, `${r.wall.min}..${r.wall.max} ms`, (r.wall.median / base.wall.median).toFixed(2),
          ...[...PHASES, 'judge' as const].map((p) => `${r.phases[p]}`), String(r.execs), (r.execs / r.nodes).toFixed(1), String(r.captures), String(r.flows),
          String(r.retried), r.allPassed ? 'yes' : 'NO']));
      const row = (n: number, pairs = 'all') => rows.find((r) => r.nodes === n && r.pairs === pairs);
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
    console.error('podwire bench: the lab benchmark needs root (it builds lab clusters); run `npm run bench -- decode` for the rest');
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
