// Which flows a run sends: pod↔pod on each node and across every ordered
// node pair (TCP and UDP), node agent → pods (local and remote), pod → every
// node, pod → the external target, and one full-size DF datagram per ordered
// node pair (the MTU check). Each goes to the port its receiver's listener
// bound (chosen per run). O(N²) tiny flows; the execs that carry them stay
// O(N) (one sender per probe). Pure.
import { makeToken } from '../decode/token.js';
import { hostProbe, type Flow, type FlowKind, type Probe, type Proto } from './model.js';
import type { ExternalTarget } from './observations.js';

/** Probes without a bound port (their listener did not start) receive no flows. */
export function planFlows(run: string, probes: Probe[], nodeIPs: Map<string, string>, external?: ExternalTarget): Flow[] {
  const flows: Flow[] = [];
  let n = 0;
  const add = (kind: FlowKind, proto: Proto, from: Probe, to: Probe | undefined, dstIP: string, dstPort: number, mtu = false) => {
    const id = `f${++n}`;
    flows.push({ id, token: makeToken(run, id), kind, proto, from: from.name, ...(to ? { to: to.name } : {}), dstIP, dstPort, ...(mtu ? { mtu: true } : {}) });
  };
  const listening = (p: Probe | undefined): p is Probe & { port: number } => !!p && p.port !== undefined;
  const both = (kind: FlowKind, from: Probe, to: Probe & { port: number }) => {
    add(kind, 'tcp', from, to, to.ip, to.port);
    add(kind, 'udp', from, to, to.ip, to.port);
  };
  const nodes = [...new Set(probes.map((p) => p.node))].sort();
  const pod = (node: string, suffix: 'a' | 'b') => probes.find((p) => p.node === node && p.role === 'pod' && p.name.endsWith(`-${suffix}`));
  for (const node of nodes) {
    const a = pod(node, 'a');
    const b = pod(node, 'b');
    const h = hostProbe(probes, node);
    if (a && listening(b)) both('pod-pod-same', a, b);
    if (b && listening(a)) both('pod-pod-same', b, a);
    // Node agents: TCP (the model's rule is reachability without NAT; pod↔pod carries both protocols).
    if (h) for (const p of [a, b]) if (listening(p)) add('host-pod-same', 'tcp', h, p, p.ip, p.port);
    for (const other of nodes) {
      if (other === node) continue;
      const remote = pod(other, 'a');
      if (!listening(remote)) continue;
      if (a) {
        both('pod-pod-cross', a, remote);
        add('pod-pod-mtu', 'udp', a, remote, remote.ip, remote.port, true);
      }
      if (h) add('host-pod-cross', 'tcp', h, remote, remote.ip, remote.port);
    }
    if (a) {
      for (const target of nodes) {
        const th = hostProbe(probes, target);
        const ip = nodeIPs.get(target);
        if (listening(th) && ip) add('pod-node', 'tcp', a, th, ip, th.port);
      }
      if (external) add('pod-external', 'tcp', a, undefined, external.ip, external.port);
    }
  }
  return flows;
}
