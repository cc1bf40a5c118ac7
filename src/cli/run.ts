// `podwire run` and `podwire cleanup`.
import { PreconditionError } from './errors.js';
import { onInterrupt } from './signals.js';
import type { Command } from './args.js';
import { parseRunOptions } from '../conformance/options.js';
import { deleteRunNamespace, InfraError, runConformance } from '../conformance/runner.js';
import { RUN_LABEL, apiMessage } from '../conformance/probes.js';
import { loadKube, type Kube } from '../kube/client.js';
import { exitCodeOf } from '../report/model.js';
import { consoleSummary } from '../report/render.js';

export async function runRun(argv: string[], log: (s: string) => void): Promise<number> {
  const opts = parseRunOptions(argv);
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
    console.log(consoleSummary(report, { dir }));
    return exitCodeOf(report);
  } catch (err) {
    // Anything that stops a run from judging is an infrastructure error (exit 2), not a failed check.
    if (err instanceof PreconditionError) throw err;
    throw new InfraError(`the run could not complete: ${apiMessage(err)}`);
  } finally {
    release();
  }
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
