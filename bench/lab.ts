// Lab benchmark: per dataplane profile, `lab up` of a 3-node lab to a ready
// API, a few pods from create to Running and Ready, and `lab down`; then 16
// nodes x 3 pods on host-gw. Measured through the CLI and the Kubernetes API,
// as a user meets them. The lab is named `<PODWIRE_TEST_LAB_TAG>bench`, so
// two checkouts on one machine do not share it.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import type { V1Pod } from '@kubernetes/client-node';
import { loadKube } from '../src/kube/client.js';
import { DATAPLANES, type Dataplane } from '../src/lab/plan.js';
import { summarize, type Measurement } from './stats.js';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const LAB = `${process.env.PODWIRE_TEST_LAB_TAG ?? ''}bench`;
/** The acceptance target for a 3-node `lab up`, on every profile. */
export const LAB_UP_GOAL_MS = 2_000;
const PODS_PER_NODE = 2;

async function podwire(args: string[]): Promise<void> {
  await run(process.execPath, [CLI, ...args], { timeout: 120_000 });
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

const ready = (p: V1Pod) => p.status?.phase === 'Running' && !!p.status.podIP && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

/** Creates `perNode` pods on each node at once; ms until every one is Running and Ready with an IP. */
async function podsToReady(nodes: number, perNode: number): Promise<number> {
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
    if (list.items.length === pods.length && list.items.every(ready)) break;
    if (performance.now() - t0 > 120_000) throw new Error(`pods not Running and Ready after 120 s on lab ${LAB}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return performance.now() - t0;
}

export interface ProfileTiming {
  dataplane: Dataplane;
  nodes: number;
  pods: number;
  labUp: Measurement;
  podStart: Measurement;
  labDown: Measurement;
}

export async function benchLab(opts: { repeats: number; log?: (s: string) => void }): Promise<{ profiles: ProfileTiming[]; measurements: Measurement[] }> {
  const log = opts.log ?? (() => undefined);
  await podwire(['lab', 'down', '--name', LAB]);
  const profiles: ProfileTiming[] = [];
  const pods16: number[] = [];
  const up16: number[] = [];
  try {
    for (const dataplane of DATAPLANES) {
      const up: number[] = [];
      const start: number[] = [];
      const down: number[] = [];
      for (let i = 0; i < opts.repeats; i++) {
        up.push(await timed(() => podwire(['lab', 'up', '--name', LAB, '--nodes', '3', '--dataplane', dataplane])));
        start.push(await podsToReady(3, PODS_PER_NODE));
        down.push(await timed(() => podwire(['lab', 'down', '--name', LAB])));
      }
      const t: ProfileTiming = {
        dataplane, nodes: 3, pods: 3 * PODS_PER_NODE,
        labUp: summarize(`lab up, 3 nodes, ${dataplane}, to API ready (CLI wall time)`, up, { goalMs: LAB_UP_GOAL_MS }),
        podStart: summarize(`3 nodes x ${PODS_PER_NODE} pods, ${dataplane}, create to all Running and Ready`, start),
        labDown: summarize(`lab down, 3 nodes, ${dataplane} (CLI wall time)`, down),
      };
      log(`${dataplane}: lab up ${t.labUp.median} ms, pods ${t.podStart.median} ms, lab down ${t.labDown.median} ms (median of ${opts.repeats})`);
      profiles.push(t);
    }
    for (let i = 0; i < opts.repeats; i++) {
      up16.push(await timed(() => podwire(['lab', 'up', '--name', LAB, '--nodes', '16'])));
      pods16.push(await podsToReady(16, 3));
      await podwire(['lab', 'down', '--name', LAB]);
    }
  } finally {
    await podwire(['lab', 'down', '--name', LAB]).catch(() => undefined);
  }
  return {
    profiles,
    measurements: [
      summarize('lab up, 16 nodes, host-gw (CLI wall time)', up16),
      summarize('16 nodes x 3 pods, host-gw, create to all Running and Ready', pods16, { goalMs: 15_000 }),
    ],
  };
}
