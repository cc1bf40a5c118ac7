// `npm run bench [-- NAME...]`: runs the benchmarks, prints a table each and
// writes reports/bench-NAME.json. Needs root (it builds labs).
import { fileURLToPath } from 'node:url';
import { benchLab } from './lab.js';
import { formatTable, writeReport, type Measurement } from './stats.js';

const BENCHES: Record<string, () => Promise<Measurement[]>> = {
  lab: () => benchLab({ repeats: Number(process.env.PODWIRE_BENCH_REPEATS ?? 5) }),
};

const REPORTS = fileURLToPath(new URL('../../reports/', import.meta.url));

async function main(): Promise<void> {
  const names = process.argv.slice(2);
  const unknown = names.filter((n) => !(n in BENCHES));
  if (unknown.length) {
    console.error(`podwire bench: unknown benchmark \`${unknown[0]}\` (have: ${Object.keys(BENCHES).join(', ')})`);
    process.exit(2);
  }
  if (process.getuid?.() !== 0) {
    console.error('podwire bench: needs root (it builds lab clusters)');
    process.exit(2);
  }
  for (const name of names.length ? names : Object.keys(BENCHES)) {
    console.log(`\n== bench ${name} ==`);
    const rows = await BENCHES[name]!();
    console.log(formatTable(rows));
    const file = `${REPORTS}bench-${name}.json`;
    await writeReport(file, name, rows);
    console.log(`wrote ${file}`);
  }
}

main().catch((err: unknown) => {
  console.error(`podwire bench: ${err instanceof Error ? err.message : err}`);
  process.exit(1);
});
