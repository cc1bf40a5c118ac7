// `npm run sweep [-- FILTER]` (root, not in CI): every (fault, profile) a fault
// declares applicable but the detection matrix does not run (the † labs of
// README's matrix) gets a clean 3-node lab with the fault and a `podwire run
// --profile strict`, and its failed and inconclusive checks are compared with
// the declaration (profiles.ts expectedOn). One lab at a time; exits 1 on any
// difference. FILTER keeps the cases whose "fault,profile" contains it.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FAULTS } from '../src/lab/faults.js';
import { expectedOn } from '../src/lab/profiles.js';
import type { ConformanceReport } from '../src/report/model.js';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const only = process.argv[2];
const root = mkdtempSync(join(tmpdir(), 'podwire-sweep-'));
const podwire = (args: string[]) => execFileSync(process.execPath, [CLI, ...args], { stdio: 'pipe' });
let differences = 0;
let n = 0;

for (const f of FAULTS) {
  for (const d of f.dataplanes) {
    if (f.matrix.includes(d) || (only && !`${f.name},${d}`.includes(only))) continue;
    const name = `sweep${n++}`;
    try {
      podwire(['lab', 'up', '--name', name, '--nodes', '3', '--dataplane', d, '--fault', f.name]);
      const dir = mkdtempSync(join(root, 'r-'));
      try {
        podwire(['run', '--kubeconfig', `/run/podwire/${name}/kubeconfig`, '--report-dir', dir, '--profile', 'strict']);
      } catch {
        /* exit 1 is the expected outcome of most faults; the report says what happened */
      }
      const report = JSON.parse(readFileSync(join(dir, readdirSync(dir)[0]!, 'report.json'), 'utf8')) as ConformanceReport;
      const ids = (result: string) => report.checks.filter((c) => c.result === result).map((c) => c.id).sort().join(' ');
      const want = expectedOn(f, d);
      const same = ids('failed') === want.failed.join(' ') && ids('inconclusive') === want.undecided.join(' ');
      if (!same) differences++;
      console.log(`${same ? 'same' : 'DIFF'}  ${f.name} on ${d}: failed [${ids('failed')}], inconclusive [${ids('inconclusive')}]`
        + (same ? '' : `; declared failed [${want.failed.join(' ')}], inconclusive [${want.undecided.join(' ')}]`));
    } catch (err) {
      differences++;
      console.log(`ERROR ${f.name} on ${d}: ${String((err as { stderr?: unknown }).stderr ?? err).split('\n')[0]}`);
    } finally {
      podwire(['lab', 'down', '--name', name]);
    }
  }
}
rmSync(root, { recursive: true, force: true });
console.log(`${n} case(s), ${differences} difference(s)`);
process.exitCode = differences ? 1 : 0;
