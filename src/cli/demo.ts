// `npm run demo`: a local lab cluster, a full conformance run against it
// through the Kubernetes API (the same code as against any cluster), the
// summary and report paths, then teardown.
import { join } from 'node:path';
import { labDown } from '../lab/down.js';
import { labUp } from '../lab/up.js';
import { parseRunOptions } from '../conformance/options.js';
import { runConformance } from '../run/run.js';
import { exitCodeOf } from '../report/model.js';
import { consoleSummary } from '../report/render.js';
import { onInterrupt } from './signals.js';
import type { Command } from './args.js';

const LAB = 'demo';

export async function runDemo(cmd: Extract<Command, { kind: 'demo' }>, log: (s: string) => void): Promise<number> {
  let upPromise: Promise<unknown> | undefined;
  // The lab goes, and with it the run's namespace.
  const release = onInterrupt(async () => {
    await upPromise?.catch(() => undefined);
    await labDown(LAB);
  });
  let code: number;
  try {
    const t0 = performance.now();
    const up = labUp({ name: LAB, nodes: cmd.nodes, dataplane: cmd.dataplane, faults: cmd.faults, log });
    upPromise = up;
    const lab = await up;
    log(`lab ${LAB} up in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${cmd.nodes} nodes, ${cmd.dataplane}${cmd.faults.length ? `, faults ${cmd.faults.join(', ')}` : ''}, API ${lab.api.url}`);
    const { report, dir } = await runConformance(parseRunOptions(['--kubeconfig', lab.kubeconfig]), { log });
    console.log(consoleSummary(report, { dir, bundle: join(dir, 'bundle') }));
    code = exitCodeOf(report);
    if (cmd.keep) {
      console.log(`\nlab kept: kubectl --kubeconfig ${lab.kubeconfig} get nodes -o wide; remove it with \`podwire lab down --name ${LAB}\``);
      return code;
    }
  } catch (err) {
    if (!cmd.keep) await labDown(LAB).catch(() => undefined);
    throw err;
  } finally {
    release();
  }
  await labDown(LAB);
  log(`lab ${LAB} removed`);
  return code;
}
