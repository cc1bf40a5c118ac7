// `podwire run`, `podwire judge` and `podwire cleanup`.
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { InfraError, PreconditionError, UsageError } from '../errors.js';
import { onInterrupt } from './signals.js';
import type { Command } from './args.js';
import { parseEgressSnat, parseProfile, parseRunOptions } from '../conformance/options.js';
import { RUN_LABEL, apiMessage } from '../conformance/probes.js';
import { deleteRunNamespace } from '../run/collect.js';
import { judgeDir, runConformance } from '../run/run.js';
import { loadKube, type Kube } from '../kube/client.js';
import { exitCodeOf } from '../report/model.js';
import { consoleSummary } from '../report/render.js';
import { loadReport, runExitCode } from './diff.js';
import { checkReportDir } from './report-dir.js';

export async function runRun(argv: string[], log: (s: string) => void): Promise<number> {
  const opts = parseRunOptions(argv);
  await checkReportDir(opts.reportDir);
  // The baseline is read and checked before the cluster is touched: a run that cannot be gated is not worth starting.
  const baseline = opts.baseline !== undefined ? await loadReport(opts.baseline, 'baseline') : undefined;
  if (baseline && baseline.options.profile !== opts.profile) {
    throw new UsageError(`the baseline \`${opts.baseline}\` was judged under profile \`${baseline.options.profile}\`, this run uses \`${opts.profile}\`: pass \`--profile ${baseline.options.profile}\``);
  }
  let target: { ns: string; kube: Kube } | undefined;
  // An interrupt deletes the run's namespace (and waits for it) before exiting.
  const release = onInterrupt(async () => {
    if (target) {
      log(`deleting namespace ${target.ns}`);
      await deleteRunNamespace(target.kube, target.ns, 30_000);
    }
  });
  try {
    const { report, dir } = await runConformance(opts, { log, onNamespace: (ns, kube) => (target = { ns, kube }) });
    console.log(consoleSummary(report, { dir, bundle: join(dir, 'bundle') }));
    return runExitCode(report, baseline, (s) => console.log(s));
  } catch (err) {
    // Anything that stops a run from judging is an infrastructure error (exit 2), not a failed check.
    if (err instanceof PreconditionError || err instanceof UsageError) throw err;
    throw new InfraError(`the run could not complete: ${apiMessage(err)}`);
  } finally {
    release();
  }
}

export const JUDGE_USAGE = 'podwire judge BUNDLE_DIR [--profile core|extended|strict] [--egress-snat node|off-node|none] [--report-dir DIR]';

/** `podwire judge BUNDLE_DIR`: the report of a run bundle, offline, with the run's exit codes. */
export async function runJudge(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, strict: true, allowPositionals: true, options: { profile: { type: 'string' }, 'egress-snat': { type: 'string' }, 'report-dir': { type: 'string' } } });
  } catch (err) {
    const m = /'([^']+)'/.exec((err as Error).message);
    throw new UsageError(`unknown or incomplete flag \`${m?.[1] ?? '?'}\` for \`${JUDGE_USAGE}\``);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new UsageError(`expected one bundle directory: \`${JUDGE_USAGE}\`, got ${positionals.length}`);
  if (values['report-dir'] !== undefined) await checkReportDir(values['report-dir']);
  const { report, dir } = await judgeDir(positionals[0]!, {
    ...(values.profile !== undefined ? { profile: parseProfile(values.profile) } : {}),
    ...(values['egress-snat'] !== undefined ? { egressSnat: parseEgressSnat(values['egress-snat']) } : {}),
    ...(values['report-dir'] !== undefined ? { reportDir: values['report-dir'] } : {}),
  });
  console.log(consoleSummary(report, { dir, bundle: resolve(positionals[0]!) }));
  return exitCodeOf(report);
}

export async function runCleanup(cmd: Extract<Command, { kind: 'cleanup' }>): Promise<number> {
  const kube = loadKube(cmd);
  const list = await kube.core.listNamespace({ labelSelector: RUN_LABEL }).catch((err: unknown) => {
    throw new InfraError(`cannot list namespaces at ${kube.server}: ${apiMessage(err)}`);
  });
  const names = list.items.map((n) => n.metadata?.name ?? '').filter(Boolean);
  if (names.length === 0) {
    console.log('nothing to clean up: no namespace carries the podwire.dev/run label');
    return 0;
  }
  await Promise.all(names.map((ns) => deleteRunNamespace(kube, ns, 60_000)));
  console.log(`deleted ${names.length} namespace(s) of earlier runs: ${names.join(', ')}`);
  return 0;
}
