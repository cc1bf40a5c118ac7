// Per-pod routes for `--cni-config` plugins whose addresses do not follow the
// node podCIDRs: the lab learns the pod's address from the CNI result and
// routes it, as a /32, on every other node the way the dataplane routes a
// podCIDR (host-gw: via the node's address; vxlan: via its flannel.1 address
// over the overlay), much as a BGP speaker announces a pod's /32. Pure.
import { inCidr4 } from './cni-config.js';
import { FAULT_NODE, ROUTELESS_NODE, type FaultName } from './faults.js';
import type { Dataplane, NodePlan } from './plan.js';

export interface PodRouteTarget {
  netns: string;
  lines: string[];
}

/**
 * `ip -batch` lines, per other node, that route (`replace`) or unroute
 * (`del`) a pod's address; none when the address lies in its node's podCIDR,
 * which the dataplane already routes. missing-route leaves node-1 without
 * the routes to node-2's pods, as it does for node-2's podCIDR.
 */
export function podRouteLines(
  lab: { dataplane: Dataplane; nodes: readonly NodePlan[]; faults?: readonly FaultName[] },
  node: NodePlan,
  ip: string,
  op: 'replace' | 'del',
): PodRouteTarget[] {
  if (inCidr4(ip, node.podCIDR)) return [];
  const routeless = (o: NodePlan) => (lab.faults ?? []).includes('missing-route') && o.index === ROUTELESS_NODE && node.index === FAULT_NODE;
  const via = lab.dataplane === 'vxlan'
    ? `via ${node.podCIDR.split('/')[0]} dev flannel.1 onlink`
    : `via ${node.underlayIP} dev eth0`;
  return lab.nodes.filter((o) => o.index !== node.index && !routeless(o)).map((o) => ({ netns: o.netns, lines: [`route ${op} ${ip}/32 ${via}`] }));
}
