// Which flows a run sends: pod↔pod on each node and across every ordered
// node pair (TCP and UDP), node agent → pods (local and remote), pod → every
// node, pod → the external target, and one full-size DF datagram per ordered
// node pair (the MTU check). O(N²) tiny flows; the execs that carry
// them stay O(N) (one sender per probe). Pure.
import { makeToken } from '../decode/token.js';
import { hostProbe, type Flow, type FlowKind, type Probe, type Proto } from './model.js';

export const TCP_PORT = 7171;
export const UDP_PORT = 7172;
/** Full-size DF datagrams (the MTU check); nothing listens, the receiver's capture is what counts. */
export const MTU_PORT = 7173;

export interface ExternalTarget {
  ip: string;
  port: number;
}

/** `mtuOf` names a pod probe's interface MTU (from its inventory); without it no MTU flows are planned. */
export function planFlows(run: string, probes: Probe[], nodeIPs: Map<string, string>, external?: ExternalTarget, mtuOf?: (probe: string) => number | undefined): Flow[] {
  const flows: Flow[] = [];
  let n = 0;
  const add = (kind: FlowKind, proto: Proto, from: Probe, to: Probe | undefined, dstIP: string, dstPort: number, size?: number) => {
    const id = `f${++n}`;
    flows.push({ id, token: makeToken(run, id), kind, proto, from: from.name, ...(to ? { to: to.name } : {}), dstIP, dstPort, ...(size ? { size } : {}) });
  };
  const both = (kind: FlowKind, from: Probe, to: Probe) => {
    add(kind, 'tcp', from, to, to.ip, TCP_PORT);
    add(kind, 'udp', from, to, to.ip, UDP_PORT);
  };
  const nodes = [...new Set(probes.map((p) => p.node))].sort();
  const pod = (node: string, suffix: 'a' | 'b') => probes.find((p) => p.node === node && p.role === 'pod' && p.name.endsWith(`-${suffix}`));
  const host = (node: string) => hostProbe(probes, node);
  for (const node of nodes) {
    const a = pod(node, 'a');
    const b = pod(node, 'b');
    const h = host(node);
    if (a && b) {
      both('pod-pod-same', a, b);
      both('pod-pod-same', b, a);
    }
    // Node agents: TCP (the model's rule is reachability without NAT; pod↔pod carries both protocols).
    if (h) for (const p of [a, b]) if (p) add('host-pod-same', 'tcp', h, p, p.ip, TCP_PORT);
    for (const other of nodes) {
      if (other === node) continue;
      const remote = pod(other, 'a');
      if (a && remote) both('pod-pod-cross', a, remote);
      const mtu = a ? mtuOf?.(a.name) : undefined;
      if (a && remote && mtu) add('pod-pod-mtu', 'udp', a, remote, remote.ip, MTU_PORT, mtu);
      if (h && remote) add('host-pod-cross', 'tcp', h, remote, remote.ip, TCP_PORT);
    }
    if (a) {
      for (const target of nodes) {
        const th = host(target);
        const ip = nodeIPs.get(target);
        if (th && ip) add('pod-node', 'tcp', a, th, ip, TCP_PORT);
      }
      if (external) add('pod-external', 'tcp', a, undefined, external.ip, external.port);
    }
  }
  return flows;
}
