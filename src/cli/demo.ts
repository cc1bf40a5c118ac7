// `npm run demo`: a lab cluster, its nodes and a probe pod seen through the
// Kubernetes API (the same client code as against a real cluster), then teardown.
import type { V1Pod } from '@kubernetes/client-node';
import { loadKube } from '../kube/client.js';
import { execInPod } from '../kube/exec.js';
import { labDown } from '../lab/down.js';
import { table } from '../lab/status.js';
import { labUp } from '../lab/up.js';
import { onInterrupt } from './signals.js';
import type { Command } from './args.js';

const LAB = 'demo';

export async function runDemo(cmd: Extract<Command, { kind: 'demo' }>, log: (s: string) => void): Promise<number> {
  let upPromise: Promise<unknown> | undefined;
  const release = onInterrupt(async () => {
    await upPromise?.catch(() => undefined);
    await labDown(LAB);
  });
  try {
    const t0 = performance.now();
    const up = labUp({ name: LAB, nodes: cmd.nodes, dataplane: cmd.dataplane, log });
    upPromise = up;
    const r = await up;
    console.log(`lab ${LAB} up in ${((performance.now() - t0) / 1000).toFixed(1)} s — ${cmd.nodes} nodes, ${cmd.dataplane}, API ${r.api.url}\n`);
    const kube = loadKube({ kubeconfig: r.kubeconfig });
    const nodes = (await kube.core.listNode()).items;
    console.log(table(['NODE', 'READY', 'INTERNAL-IP', 'POD-CIDR'], nodes.map((n) => [
      n.metadata?.name ?? '', n.status?.conditions?.find((c) => c.type === 'Ready')?.status ?? '?',
      n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address ?? '', n.spec?.podCIDR ?? ''])));

    const node = nodes.at(-1)?.metadata?.name ?? 'node-1';
    const pod: V1Pod = {
      metadata: { name: 'demo-probe', labels: { app: 'podwire-demo' } },
      spec: { nodeName: node, containers: [{ name: 'probe', image: 'podwire/probe', command: ['sleep', '3600'] }] },
    };
    await kube.core.createNamespacedPod({ namespace: 'default', body: pod });
    const ready = await waitRunning(kube.core, 'default', 'demo-probe', 20_000);
    const ip = await execInPod(kube.kc, { namespace: 'default', pod: 'demo-probe' }, ['ip', '-4', '-o', 'addr', 'show', 'eth0']);
    console.log(`\nprobe pod default/demo-probe on ${node}: status.podIP ${ready.status?.podIP}`);
    const inet = /inet \S+/.exec(ip.stdout.toString())?.[0] ?? ip.stdout.toString().trim();
    console.log(`exec \`ip -4 -o addr show eth0\` in it, over the pods/exec WebSocket: eth0 ${inet}`);
    await kube.core.deleteNamespacedPod({ name: 'demo-probe', namespace: 'default' });
    if (cmd.keep) {
      console.log(`\nlab kept: kubectl --kubeconfig ${r.kubeconfig} get pods -A; remove it with \`podwire lab down --name ${LAB}\``);
      return 0;
    }
  } catch (err) {
    if (!cmd.keep) await labDown(LAB).catch(() => undefined);
    throw err;
  } finally {
    release();
  }
  await labDown(LAB);
  console.log(`\nlab ${LAB} removed`);
  return 0;
}

async function waitRunning(core: ReturnType<typeof loadKube>['core'], namespace: string, name: string, timeoutMs: number): Promise<V1Pod> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pod = await core.readNamespacedPod({ name, namespace });
    if (pod.status?.phase === 'Running' && pod.status.podIP) return pod;
    if (Date.now() > deadline) throw new Error(`pod ${namespace}/${name} not Running after ${timeoutMs / 1000} s (phase ${pod.status?.phase})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
