// `npm run demo`: a local lab cluster, a full conformance run against it
// through the Kubernetes API (the same code as against any cluster), the
// summary and report paths, then teardown. A demo removes only a lab it
// built: when the name is taken it stops before touching anything (exit 2),
// so a second demo cannot tear down the first, or a lab of yours.
import { join } from 'node:path';
import { labDown } from '../lab/down.js';
import { assertNameFree, labUp } from '../lab/up.js';
import { parseRunOptions } from '../conformance/options.js';
import { runConformance } from '../run/run.js';
import type { CollectHooks } from '../run/collect.js';
import { exitCodeOf } from '../report/model.js';
import { consoleSummary } from '../report/render.js';
import { onInterrupt } from './signals.js';
import { labLeftover } from './lab.js';
import type { Command } from './args.js';

export async function runDemo(cmd: Extract<Command, { kind: 'demo' }>, hooks: Omit<CollectHooks, 'onNamespace'>, width: number): Promise<number> {
  const { log } = hooks;
  const name = cmd.name;
  await assertNameFree(name);
  // From here the lab is this demo's. An interrupt stops the build or the run at once; the build removes what it
  // built, and a lab that came up is removed with everything in it (the run's namespace included).
  let upPromise: Promise<unknown> | undefined;
  // One teardown, whoever asks for it first (the end of the demo, a failed run, an interrupt).
  let tearing: Promise<unknown> | undefined;
  const down = () => (tearing ??= labDown(name));
  const { signal, release } = onInterrupt({
    cleanup: async () => {
      // A build that failed removed itself (and may have failed because another lab took the name meanwhile).
      if (await upPromise?.then(() => true, () => false)) await down();
    },
    leftover: () => (upPromise ? labLeftover(name) : undefined),
  });
  let built = false;
  let code: number;
  try {
    const t0 = performance.now();
    const up = labUp({ name, nodes: cmd.nodes, dataplane: cmd.dataplane, faults: cmd.faults, log, signal });
    upPromise = up;
    const lab = await up;
    built = true;
    signal.throwIfAborted();
    log(`lab ${name} up in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${cmd.nodes} nodes, ${cmd.dataplane}${cmd.faults.length ? `, faults ${cmd.faults.join(', ')}` : ''}, API ${lab.api.url}`);
    const { report, dir } = await runConformance(parseRunOptions(['--kubeconfig', lab.kubeconfig]), { ...hooks, signal });
    signal.throwIfAborted();
    console.log(consoleSummary(report, { dir, bundle: join(dir, 'bundle') }, { width }));
    code = exitCodeOf(report);
    if (cmd.keep) {
      release();
      console.log(`\nlab kept: kubectl --kubeconfig ${lab.kubeconfig} get nodes -o wide; remove it with \`podwire lab down --name ${name}\``);
      return code;
    }
  } catch (err) {
    // labUp removes what it built when it fails; a lab that came up, on which the run failed, is removed here
    // (after an interrupt, by the interrupt's cleanup).
    if (built && !cmd.keep && !signal.aborted) await down().catch(() => undefined);
    release();
    throw err;
  }
  // The teardown stays in the scope: an interrupt during it finishes it.
  await down();
  release();
  log(`lab ${name} removed`);
  return code;
}
