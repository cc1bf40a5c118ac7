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
import type { Command } from './args.js';

export async function runDemo(cmd: Extract<Command, { kind: 'demo' }>, hooks: Omit<CollectHooks, 'onNamespace'>, width: number): Promise<number> {
  const { log } = hooks;
  const name = cmd.name;
  await assertNameFree(name);
  // From here the lab is this demo's: an interrupt lets its build finish its current step, then removes it (and the run's namespace with it).
  let upPromise: Promise<unknown> | undefined;
  const release = onInterrupt(async () => {
    // A build that failed removed itself (and may have failed because another lab took the name meanwhile).
    if (await upPromise?.then(() => true, () => false)) await labDown(name);
  });
  let built = false;
  let code: number;
  try {
    const t0 = performance.now();
    const up = labUp({ name, nodes: cmd.nodes, dataplane: cmd.dataplane, faults: cmd.faults, log });
    upPromise = up;
    const lab = await up;
    built = true;
    log(`lab ${name} up in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${cmd.nodes} nodes, ${cmd.dataplane}${cmd.faults.length ? `, faults ${cmd.faults.join(', ')}` : ''}, API ${lab.api.url}`);
    const { report, dir } = await runConformance(parseRunOptions(['--kubeconfig', lab.kubeconfig]), hooks);
    console.log(consoleSummary(report, { dir, bundle: join(dir, 'bundle') }, { width }));
    code = exitCodeOf(report);
    if (cmd.keep) {
      console.log(`\nlab kept: kubectl --kubeconfig ${lab.kubeconfig} get nodes -o wide; remove it with \`podwire lab down --name ${name}\``);
      return code;
    }
  } catch (err) {
    // labUp removes what it built when it fails; a lab that came up, on which the run failed, is removed here.
    if (built && !cmd.keep) await labDown(name).catch(() => undefined);
    throw err;
  } finally {
    release();
  }
  await labDown(name);
  log(`lab ${name} removed`);
  return code;
}
