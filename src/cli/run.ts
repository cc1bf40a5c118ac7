// `podwire run`, `podwire judge` and `podwire cleanup`.
import { join, resolve } from 'node:path';
import { hostname } from 'node:os';
import { InfraError, InterruptedError, LostApiError, PreconditionError, UsageError } from '../errors.js';
import { onInterrupt, settledWithin } from './signals.js';
import type { Command } from './args.js';
import type { RunOptions } from '../conformance/options.js';
import { RUN_LABEL, apiMessage } from '../conformance/probes.js';
import { deleteRunNamespace, type CollectHooks } from '../run/collect.js';
import { judgeDir, runConformance } from '../run/run.js';
import { loadKube, type Kube } from '../kube/client.js';
import { CLEANUP_RIGHTS, missingRights, rbacLine, whoAmI } from '../kube/rights.js';
import { REQUEST_TIMEOUT_MS } from '../kube/guard.js';
import { decideLeftovers } from '../run/leftovers.js';
import { exitCodeOf } from '../report/model.js';
import { consoleSummary } from '../report/render.js';
import { loadReport, runExitCode } from './diff.js';
import { checkReportDir } from './report-dir.js';

/** How long an interrupt waits for the run's requests on the wire to end (they were aborted) before deleting its namespace. */
const IN_FLIGHT_WAIT_MS = 5_000;

/** A run's holder (`host pid N`, as heartbeat.ts writes it) on this host: whether its process still runs (signal 0). */
export function localHolderAlive(holder: string): boolean | undefined {
  const m = /^(\S+) pid (\d+)$/.exec(holder);
  if (!m || m[1] !== hostname()) return undefined;
  try {
    process.kill(Number(m[2]), 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The command that removes a kept run namespace, with the same cluster flags as the run. */
export function cleanupHint(opts: Pick<RunOptions, 'kubeconfig' | 'context'>, ns: string): string {
  const q = (s: string) => (/^[\w./:@%+=,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  return ['podwire cleanup', ...(opts.kubeconfig ? [`--kubeconfig ${q(opts.kubeconfig)}`] : []), ...(opts.context ? [`--context ${q(opts.context)}`] : []), `--namespace ${ns}`].join(' ');
}

export async function runRun(opts: RunOptions, hooks: Omit<CollectHooks, 'onNamespace'>, width: number): Promise<number> {
  await checkReportDir(opts.reportDir);
  // The baseline is read and checked before the cluster is touched: a run that cannot be gated is not worth starting.
  const baseline = opts.baseline !== undefined ? await loadReport(opts.baseline, 'baseline') : undefined;
  if (baseline && baseline.options.profile !== opts.profile) {
    throw new UsageError(`the baseline \`${opts.baseline}\` was judged under profile \`${baseline.options.profile}\`, this run uses \`${opts.profile}\`: pass \`--profile ${baseline.options.profile}\``);
  }
  let target: { ns: string; kube: Kube; idle: () => Promise<void> } | undefined;
  // An interrupt cuts the run's calls, waits (briefly) for the ones on the wire, then deletes the namespace and waits until it is gone.
  const { signal, release } = onInterrupt({
    cleanup: async () => {
      if (!target) return;
      await settledWithin(target.idle(), IN_FLIGHT_WAIT_MS);
      process.stderr.write(`podwire: deleting namespace ${target.ns}\n`);
      await deleteRunNamespace(target.kube, target.ns, 30_000);
    },
    leftover: () => (target ? `namespace ${target.ns} at ${target.kube.server}; remove it with: ${cleanupHint(opts, target.ns)}` : undefined),
  });
  try {
    const { report, dir } = await runConformance(opts, { ...hooks, signal, onNamespace: (ns, kube, idle) => (target = { ns, kube, idle }) });
    signal.throwIfAborted();
    console.log(consoleSummary(report, { dir, bundle: join(dir, 'bundle') }, { width }));
    if (opts.keep && target) console.log(`\nkept namespace ${target.ns} with its probes (--keep); remove it with: ${cleanupHint(opts, target.ns)}`);
    return runExitCode(report, baseline, (s) => console.log(s));
  } catch (err) {
    // The command that removes what a lost run may have left, with the run's own cluster flags.
    if (err instanceof LostApiError && err.namespace) throw new LostApiError(err.server, err.phase, err.namespace, cleanupHint(opts, err.namespace));
    // Anything that stops a run from judging is an infrastructure error (exit 2), not a failed check.
    if (err instanceof PreconditionError || err instanceof UsageError || err instanceof InterruptedError) throw err;
    throw new InfraError(`the run could not complete: ${apiMessage(err)}`);
  } finally {
    release();
  }
}

/** `podwire judge BUNDLE_DIR`: the report of a run bundle, offline, with the run's exit codes. */
export async function runJudge(cmd: Extract<Command, { kind: 'judge' }>, width: number): Promise<number> {
  if (cmd.reportDir !== undefined) await checkReportDir(cmd.reportDir);
  const { report, dir } = await judgeDir(cmd.bundle, {
    ...(cmd.profile !== undefined ? { profile: cmd.profile } : {}),
    ...(cmd.egressSnat !== undefined ? { egressSnat: cmd.egressSnat } : {}),
    ...(cmd.reportDir !== undefined ? { reportDir: cmd.reportDir } : {}),
  });
  console.log(consoleSummary(report, { dir, bundle: resolve(cmd.bundle) }, { width }));
  return exitCodeOf(report);
}

/**
 * Deletes the namespaces of runs that are not live (no fresh heartbeat: see
 * run/leftovers.ts), and with `--older-than` those created that long ago;
 * lists what it deleted and what it left, and why. Exit 2 when a deletion failed.
 */
export async function runCleanup(cmd: Extract<Command, { kind: 'cleanup' }>): Promise<number> {
  // Every request has a deadline: a cleanup against an API server that stopped answering says so instead of hanging.
  const kube = loadKube(cmd, { timeoutMs: REQUEST_TIMEOUT_MS, answered: () => undefined, failed: () => undefined });
  // Its rights asked first (SelfSubjectAccessReview): a cleanup that could delete but not see the namespace go must not start.
  const missing = await missingRights(kube, CLEANUP_RIGHTS, '').catch((err: unknown) => {
    throw new InfraError(`cannot ask ${kube.server} what this identity may do: ${apiMessage(err)}`);
  });
  if (missing?.length) throw new InfraError(`${rbacLine(missing, '', await whoAmI(kube))} (deploy/rbac-cleanup.yaml lists what cleanup needs)`);
  const list = await kube.core.listNamespace({ labelSelector: RUN_LABEL }).catch((err: unknown) => {
    throw new InfraError(`cannot list namespaces at ${kube.server}: ${apiMessage(err)}`);
  });
  const runs = list.items.filter((n) => n.metadata?.name);
  const names = runs.map((n) => n.metadata!.name!);
  const notRuns = cmd.namespaces.filter((ns) => !names.includes(ns));
  if (notRuns.length) {
    throw new PreconditionError(`namespace \`${notRuns[0]}\` is not a podwire run namespace at ${kube.server} (none with the ${RUN_LABEL} label has that name${names.length ? `; run namespaces: ${names.join(', ')}` : ''})`);
  }
  const considered = cmd.namespaces.length ? runs.filter((n) => cmd.namespaces.includes(n.metadata!.name!)) : runs;
  if (considered.length === 0) {
    console.log('nothing to clean up: no namespace carries the podwire.dev/run label');
    return 0;
  }
  const decisions = decideLeftovers(considered, Date.now(), { ...(cmd.olderThanMs !== undefined ? { olderThanMs: cmd.olderThanMs } : {}), holderAlive: localHolderAlive });
  const errors = new Map<string, string>();
  await Promise.all(decisions.filter((d) => d.delete).map((d) => deleteRunNamespace(kube, d.namespace, 60_000).catch((err: unknown) => {
    errors.set(d.namespace, apiMessage(err));
  })));
  const failures = [...errors.keys()].sort();
  for (const d of decisions) {
    const error = errors.get(d.namespace);
    if (!d.delete) console.log(`left ${d.namespace}: ${d.reason}`);
    else if (error === undefined) console.log(`deleted ${d.namespace} (${d.reason})`);
    else console.log(`could not delete ${d.namespace} (${d.reason}): ${error}`);
  }
  const deleted = decisions.filter((d) => d.delete).length - failures.length;
  const left = decisions.filter((d) => !d.delete).length;
  console.log(`${deleted} deleted, ${left} left (live${cmd.olderThanMs === undefined ? '; --older-than DURATION also deletes live runs that old' : ''}), ${failures.length} failed`);
  if (failures.length) throw new InfraError(`could not delete ${failures.length} run namespace(s): ${failures.join(', ')}`);
  return 0;
}
