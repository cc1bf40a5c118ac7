// `npm run chaos`: SIGINT/SIGTERM at PODWIRE_CHAOS_N (default 200) seeded
// moments of `run`, `lab up`, `lab down` and `demo` on small labs, checking
// after each that nothing was left. Prints the seed (replay with
// PODWIRE_CHAOS_SEED), a tally by command and phase, and writes
// reports/chaos.json. Needs root; labs are named `<PODWIRE_TEST_LAB_TAG>cz...`.
import { randomInt } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { table } from '../src/lab/status.js';
import { ChaosRunner } from './chaos-driver.js';
import { chaosCount, chaosSeed, planMoments, tally, type ChaosOutcome } from './chaos-plan.js';
import { writeReport } from './stats.js';

const REPORTS = fileURLToPath(new URL('../../reports/', import.meta.url));

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) {
    process.stderr.write('chaos: needs root (it builds labs)\n');
    return 2;
  }
  const seed = chaosSeed(process.env.PODWIRE_CHAOS_SEED, () => randomInt(0, 2 ** 32 - 1));
  const n = chaosCount(process.env.PODWIRE_CHAOS_N, 200);
  const tag = process.env.PODWIRE_TEST_LAB_TAG ?? 'c';
  console.log(`chaos: seed ${seed} (replay with PODWIRE_CHAOS_SEED=${seed}), ${n} interrupts, labs ${tag}cz*`);
  const runner = new ChaosRunner({ tag, seed, log: (l) => console.log(`  ${l}`) });
  // The benchmark's own interrupt removes its labs (the one being interrupted is removed by its sweep or here).
  const stop = (sig: NodeJS.Signals) => {
    process.stderr.write(`chaos: ${sig}: removing the run lab\n`);
    void runner.teardown().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const outcomes: ChaosOutcome[] = [];
  const t0 = Date.now();
  let durations;
  try {
    durations = await runner.setup();
    console.log(`measured (uninterrupted): ${Object.entries(durations).map(([c, ms]) => `${c} ${Math.round(ms)} ms`).join(', ')}`);
    for (const m of planMoments(seed, n)) outcomes.push(await runner.interrupt(m));
  } finally {
    await runner.teardown();
  }
  const rows = tally(outcomes);
  console.log(table(['command', 'phase interrupted', 'clean', 'leftover'], rows.map((r) => [r.command, r.phase, String(r.clean), String(r.leftover)])));
  const bad = outcomes.filter((o) => o.leftovers.length || o.problems.length);
  console.log(`${outcomes.length} interrupts in ${Math.round((Date.now() - t0) / 1000)} s, seed ${seed}: ${outcomes.length - bad.length} clean, ${bad.length} with leftovers or a wrong exit`);
  for (const o of bad) console.log(`  #${o.moment.i} ${o.moment.command} ${o.moment.signal} at ${o.atMs} ms (${o.phase}): ${[...o.problems, ...o.leftovers].join('; ')}`);
  const file = join(REPORTS, 'chaos.json');
  await writeReport(file, 'chaos', {
    seed, count: n, durationsMs: Object.fromEntries(Object.entries(durations ?? {}).map(([c, ms]) => [c, Math.round(ms)])),
    tally: rows, outcomes,
  });
  console.log(`report: ${file}`);
  return bad.length ? 1 : 0;
}

main().then((code) => process.exit(code), (err: unknown) => {
  process.stderr.write(`chaos: ${(err as Error).message.split('\n')[0]}\n`);
  process.exit(2);
});
