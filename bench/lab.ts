// Lab benchmark: `lab up` to a ready 3-node lab, and 16 nodes x 3 pods from
// create to all Running. Measured through the CLI and the Kubernetes API, as
// a user meets them.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import type { V1Pod } from '@kubernetes/client-node';
import { loadKube } from '../src/kube/client.js';
import { summarize, type Measurement } from './stats.js';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const LAB = 'bench';

async function podwire(args: string[]): Promise<void> {
  await run(process.execPath, [CLI, ...args], { timeout: 120_000 });
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

async function podsToRunning(nodes: number, perNode: number): Promise<number> {
  const kube = loadKube({ kubeconfig: `/run/podwire/${LAB}/kubeconfig` });
  const pods: V1Pod[] = [];
  for (let n = 1; n <= nodes; n++) {
    for (let i = 0; i < perNode; i++) {
      pods.push({
        metadata: { name: `p-${n}-${i}`, labels: { bench: 'pods' } },
        spec: { nodeName: `node-${n}`, containers: [{ name: 'main', image: 'podwire/probe', command: ['sleep', '3600'] }] },
      });
    }
  }
  const t0 = performance.now();
  await Promise.all(pods.map((body) => kube.core.createNamespacedPod({ namespace: 'default', body })));
  for (;;) {
    const list = await kube.core.listNamespacedPod({ namespace: 'default', labelSelector: 'bench=pods' });
    if (list.items.length === pods.length && list.items.every((p) => p.status?.phase === 'Running' && p.status.podIP)) break;
    if (performance.now() - t0 > 120_000) throw new Error('pods not Running after 120 s');
    await new Promise((r) => setTimeout(r, 20));
  }
  return performance.now() - t0;
}

export async function benchLab(opts: { repeats: number }): Promise<Measurement[]> {
  await podwire(['lab', 'down', '--name', LAB]);
  const up3: number[] = [];
  const down3: number[] = [];
  const pods16: number[] = [];
  const up16: number[] = [];
  try {
    for (let i = 0; i < opts.repeats; i++) {
      up3.push(await timed(() => podwire(['lab', 'up', '--name', LAB, '--nodes', '3'])));
      down3.push(await timed(() => podwire(['lab', 'down', '--name', LAB])));
    }
    for (let i = 0; i < opts.repeats; i++) {
      up16.push(await timed(() => podwire(['lab', 'up', '--name', LAB, '--nodes', '16'])));
      pods16.push(await podsToRunning(16, 3));
      await podwire(['lab', 'down', '--name', LAB]);
    }
  } finally {
    await podwire(['lab', 'down', '--name', LAB]).catch(() => undefined);
  }
  return [
    summarize('lab up, 3 nodes, to API ready (CLI wall time)', up3, { goalMs: 5_000 }),
    summarize('lab down, 3 nodes (CLI wall time)', down3),
    summarize('lab up, 16 nodes (CLI wall time)', up16),
    summarize('16 nodes x 3 pods, create to all Running', pods16, { goalMs: 15_000 }),
  ];
}
