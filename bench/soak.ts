// `npm run soak [-- --runs N --nodes N --dataplane D]`: N consecutive full
// conformance runs on one clean lab, and a tally of every check that ever
// did not pass (a flaky verdict is a bug). Prints a table, writes
// reports/soak-<dataplane>.json, keeps the report and evidence of every run
// that did not pass all checks under reports/soak-<dataplane>/, and exits 1
// if any verdict was not "passed".
// Not part of `npm test`: it takes minutes by design. Needs root.
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { CHECK_IDS } from '../src/conformance/catalogue.js';
import { parseRunOptions } from '../src/conformance/options.js';
import { runConformance } from '../src/run/run.js';
import { parseDataplane, parseNodes } from '../src/cli/args.js';
import { table } from '../src/lab/status.js';

const exec = promisify(execFile);
const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const REPORTS = fileURLToPath(new URL('../../reports/', import.meta.url));
const LAB = 'soak';

interface Miss {
  run: number;
  check: string;
  result: string;
  reason: string;
}

function options() {
  try {
    const { values } = parseArgs({ args: process.argv.slice(2), options: { runs: { type: 'string' }, nodes: { type: 'string' }, dataplane: { type: 'string' } }, strict: true });
    const runs = Number(values.runs ?? '20');
    if (!Number.isInteger(runs) || runs < 1 || runs > 1000) throw new Error(`expected \`--runs\` to be an integer from 1 to 1000, got \`${values.runs}\``);
    return { runs, nodes: parseNodes(values.nodes, 3), dataplane: parseDataplane(values.dataplane) };
  } catch (err) {
    process.stderr.write(`soak: ${(err as Error).message.split('\n')[0]}\n`);
    process.exit(2);
  }
}

async function main(): Promise<number> {
  const opts = options();
  if (process.getuid?.() !== 0) {
    process.stderr.write('soak: needs root (it builds a lab)\n');
    return 2;
  }
  const dir = await mkdtemp(join(tmpdir(), 'podwire-soak-'));
  const down = () => exec(process.execPath, [CLI, 'lab', 'down', '--name', LAB]).catch(() => undefined);
  const stop = (sig: NodeJS.Signals) => {
    process.stderr.write(`soak: ${sig}: removing the lab\n`);
    void Promise.all([down(), rm(dir, { recursive: true, force: true })]).finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const tally = new Map(CHECK_IDS.map((id) => [id, { passed: 0, failed: 0, inconclusive: 0, skipped: 0, retried: 0 }]));
  const misses: Miss[] = [];
  const seconds: number[] = [];
  const t0 = Date.now();
  const kept = join(REPORTS, `soak-${opts.dataplane}`);
  try {
    await down();
    await exec(process.execPath, [CLI, 'lab', 'up', '--name', LAB, '--nodes', String(opts.nodes), '--dataplane', opts.dataplane]);
    for (let i = 1; i <= opts.runs; i++) {
      const started = performance.now();
      const { report } = await runConformance(parseRunOptions(['--kubeconfig', `/run/podwire/${LAB}/kubeconfig`, '--report-dir', dir, '--profile', 'strict']), { log: () => undefined });
      seconds.push((performance.now() - started) / 1000);
      for (const c of report.checks) {
        tally.get(c.id)![c.result]++;
        // A flow sent twice passed on its second try: counted, so a retry cannot hide a loss.
        tally.get(c.id)!.retried += c.flows.filter((f) => f.retried).length;
        if (c.result !== 'passed') misses.push({ run: i, check: c.id, result: c.result, reason: c.reason });
      }
      const bad = report.checks.filter((c) => c.result !== 'passed').map((c) => `${c.id} ${c.result}`);
      process.stderr.write(`soak: run ${i}/${opts.runs} ${seconds.at(-1)!.toFixed(1)} s, ${report.summary.passed}/${report.summary.total} passed${bad.length ? `: ${bad.join(', ')}` : ''}\n`);
      if (bad.length) {
        // The evidence of a flaky run is what explains it: keep it.
        await mkdir(kept, { recursive: true });
        await cp(join(dir, report.runId), join(kept, report.runId), { recursive: true });
        process.stderr.write(`soak: kept ${join(kept, report.runId)}\n`);
      }
      await rm(join(dir, report.runId), { recursive: true, force: true });
    }
  } finally {
    await down();
    await rm(dir, { recursive: true, force: true });
  }
  const rows = [...tally].map(([id, t]) => [id, String(t.passed), String(t.failed), String(t.inconclusive), String(t.skipped), String(t.retried), t.failed + t.inconclusive ? 'FLAKY' : 'stable']);
  console.log(table(['check', 'passed', 'failed', 'inconclusive', 'skipped', 'flows retried', 'verdict'], rows));
  const sorted = [...seconds].sort((a, b) => a - b);
  console.log(`${opts.runs} runs on a clean ${opts.nodes}-node ${opts.dataplane} lab in ${((Date.now() - t0) / 1000).toFixed(0)} s (run median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(1)} s); verdicts that were not "passed": ${misses.length}`);
  for (const m of misses) console.log(`  run ${m.run}: ${m.check} ${m.result}: ${m.reason}`);
  await mkdir(REPORTS, { recursive: true });
  const file = join(REPORTS, `soak-${opts.dataplane}.json`);
  await writeFile(file, JSON.stringify({ date: new Date().toISOString(), ...opts, runSeconds: seconds, tally: Object.fromEntries(tally), misses }, null, 2) + '\n');
  console.log(`report: ${file}`);
  return misses.length ? 1 : 0;
}

main().then((code) => process.exit(code), (err: unknown) => {
  process.stderr.write(`soak: ${(err as Error).message.split('\n')[0]}\n`);
  void exec(process.execPath, [CLI, 'lab', 'down', '--name', LAB]).catch(() => undefined).finally(() => process.exit(2));
});
