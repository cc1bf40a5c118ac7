// The lab's IPv6 dataplane as `ip -batch` and `ip6tables-restore` input
// (issue 11): each profile that builds IPv6 (host-gw, vxlan, kindnet) routes
// and masquerades IPv6 as it does IPv4, and the IPv6 faults change exactly
// that. Pure: no I/O (topology.ts applies it).
import { CLUSTER_POD_CIDR6, UNDERLAY6_CIDR, VXLAN_PORT, cidrAddress, vxlanMAC6, type Dataplane, type LabPlan, type NodePlan } from './plan.js';
import { FAULT_NODE, ROUTELESS_NODE, type FaultName } from './faults.js';
import { vxlan6MTU } from './underlay.js';

const NAT_HEAD = ['*nat', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]'];

/**
 * Node-side IPv6 NAT as `ip6tables-restore` input (labs with IPv6): the
 * profile's egress masquerade in IPv6, as its IPv4 one does it. host-gw and
 * vxlan: pod traffic to outside the IPv6 pod range and the IPv6 underlay;
 * kindnet: kindnetd's KIND-MASQ-AGENT, returning for the IPv6 pod range only.
 * ipv6-no-egress-snat drops the masquerade; ipv6-pod-masquerade adds
 * node-2's masquerade of its pods' traffic leaving its IPv6 subnet.
 */
export function nodeNatRules6(node: NodePlan, faults: readonly FaultName[] = [], dataplane: Dataplane = 'host-gw'): string {
  const snat = !faults.includes('ipv6-no-egress-snat');
  const egress = dataplane === 'kindnet'
    ? [
      ':KIND-MASQ-AGENT - [0:0]',
      '-A POSTROUTING -m addrtype ! --dst-type LOCAL -m comment --comment "kind-masq-agent: ensure nat POSTROUTING directs all non-LOCAL destination traffic to our custom KIND-MASQ-AGENT chain" -j KIND-MASQ-AGENT',
      `-A KIND-MASQ-AGENT -d ${CLUSTER_POD_CIDR6} -m comment --comment "kind-masq-agent: local traffic is not subject to MASQUERADE" -j RETURN`,
      ...(snat ? ['-A KIND-MASQ-AGENT -m comment --comment "kind-masq-agent: outbound traffic is subject to MASQUERADE (must be last in chain)" -j MASQUERADE'] : []),
    ]
    : [
      ':PW-EGRESS - [0:0]',
      `-A POSTROUTING -s ${CLUSTER_POD_CIDR6} -j PW-EGRESS`,
      `-A PW-EGRESS -d ${CLUSTER_POD_CIDR6} -j RETURN`,
      `-A PW-EGRESS -d ${UNDERLAY6_CIDR} -j RETURN`,
      ...(snat ? ['-A PW-EGRESS -j MASQUERADE'] : []),
    ];
  // As the bridge plugin's ipMasq writes it, in IPv6 only, first in POSTROUTING.
  const fault = faults.includes('ipv6-pod-masquerade') && node.index === FAULT_NODE && node.podCIDR6
    ? [`-A POSTROUTING -s ${node.podCIDR6} ! -d ${node.podCIDR6} -m comment --comment "ipv6-pod-masquerade" -j MASQUERADE`] : [];
  const decl = egress.filter((l) => l.startsWith(':'));
  const rules = egress.filter((l) => !l.startsWith(':'));
  return [...NAT_HEAD, ...decl, ...fault, ...rules, 'COMMIT', ''].join('\n');
}

/** The other nodes this node routes IPv6 pod traffic to (ipv6-missing-route: node-1 has none to node-2). */
function routedPeers6(plan: LabPlan, node: NodePlan): NodePlan[] {
  if (!node.podCIDR6) return [];
  return plan.nodes.filter((o) => o.index !== node.index && !!o.podCIDR6
    && !(plan.faults.includes('ipv6-missing-route') && node.index === ROUTELESS_NODE && o.index === FAULT_NODE));
}

/**
 * IPv6 pod routes: host-gw and kindnet via the other node's IPv6 address;
 * vxlan over a flannel-v6.1 device with IPv6 endpoints, as flannel builds it
 * for its IPv6 network (its own VXLAN device, the /64's network address as
 * a /128 on it, a permanent neighbour and an FDB entry per peer).
 */
export function dataplaneLines6(plan: LabPlan, node: NodePlan): { ip: string[]; bridge: string[] } {
  if (!node.underlayIP6 || !node.podCIDR6) return { ip: [], bridge: [] };
  const others = routedPeers6(plan, node);
  if (plan.dataplane !== 'vxlan') return { ip: others.map((o) => `route add ${o.podCIDR6} via ${o.underlayIP6} dev eth0`), bridge: [] };
  const ip = [
    `link add flannel-v6.1 type vxlan id 1 dev eth0 dstport ${VXLAN_PORT} nolearning local ${node.underlayIP6}`,
    `link set flannel-v6.1 mtu ${vxlan6MTU(plan.mtu)}`,
    `link set flannel-v6.1 address ${vxlanMAC6(node)}`,
    `addr add ${cidrAddress(node.podCIDR6)}/128 dev flannel-v6.1 nodad`,
    'link set flannel-v6.1 up',
  ];
  const bridge: string[] = [];
  for (const o of others) {
    const gw = cidrAddress(o.podCIDR6!);
    ip.push(`route add ${o.podCIDR6} via ${gw} dev flannel-v6.1 onlink`);
    ip.push(`neigh add ${gw} lladdr ${vxlanMAC6(o)} dev flannel-v6.1 nud permanent`);
    bridge.push(`fdb add ${vxlanMAC6(o)} dev flannel-v6.1 dst ${o.underlayIP6}`);
  }
  return { ip, bridge };
}
