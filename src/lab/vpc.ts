// The vpc profile (AWS VPC CNI / Azure CNI style), pure: pods take addresses
// of the VPC (a /26 prefix per node of the pod subnet) and nodes report no
// podCIDR; every node has a second NIC (eth1, the "secondary ENI") and its
// pods' traffic leaves by it through a policy rule; the fabric (the VPC's
// router) routes each node's prefix to that NIC; nodes SNAT only pod traffic
// that leaves the VPC (FIELD.md §1, §3). The pod wiring is the VPC CNI's: a
// veth whose host end has no address, the pod's /32 routed to it, and in the
// pod the default route via 169.254.1.1 with a static ARP entry for it.
import {
  CALICO_GATEWAY, POLICY_MAIN_PREF, POLICY_TABLE, POLICY_TABLE_PREF, ROUTER_SECOND_UNDERLAY_IP, VPC_CIDR, VPC_HOST_VETH_MAC, VPC_POD_SUBNET,
  type LabPlan, type NodePlan,
} from './plan.js';
import { FAULT_NODE, type FaultName } from './faults.js';
import { routedVethLines } from './calico.js';

/** The pods' gateway: the same link-local address calico uses, answered by a static ARP entry instead of proxy ARP. */
export const VPC_GATEWAY = CALICO_GATEWAY;

/** The host end's name: `eni` and the sandbox id, as the VPC CNI names them (eni + a hash). */
export const eniVeth = (sandboxId: string) => `eni${sandboxId}`.slice(0, 15);

/** `ip -batch` lines in the node: the veth pair, the host end's fixed MAC, the pod's /32 route. */
export const vpcHostLines = (sandboxId: string, podNetns: string, podIP: string, mtu: number) =>
  routedVethLines(eniVeth(sandboxId), VPC_HOST_VETH_MAC, podNetns, podIP, mtu);

/** `ip -batch` lines in the pod: eth0's /32, the gateway on-link with its static ARP entry, the default route. */
export function vpcPodLines(podIP: string): string[] {
  return [
    `addr add ${podIP}/32 dev eth0`,
    'link set eth0 up',
    `route add ${VPC_GATEWAY} dev eth0 scope link`,
    `neigh add ${VPC_GATEWAY} lladdr ${VPC_HOST_VETH_MAC} dev eth0 nud permanent`,
    `route add default via ${VPC_GATEWAY} dev eth0`,
  ];
}

/**
 * A node's policy routing (the VPC CNI's rules, per node prefix rather than
 * per pod): traffic to its own pods stays in the main table (pref 512);
 * traffic from them looks up table 100, whose default route leaves by eth1
 * (pref 1536). missing-policy-rule drops the latter on the fault node.
 */
export function vpcNodeLines(node: NodePlan, faults: readonly FaultName[]): string[] {
  const prefix = node.ipamBlock!;
  const missing = faults.includes('missing-policy-rule') && node.index === FAULT_NODE;
  return [
    `route add ${ROUTER_SECOND_UNDERLAY_IP} dev eth1 scope link table ${POLICY_TABLE}`,
    `route add default via ${ROUTER_SECOND_UNDERLAY_IP} dev eth1 table ${POLICY_TABLE}`,
    `rule add to ${prefix} lookup main pref ${POLICY_MAIN_PREF}`,
    ...(missing ? [] : [`rule add from ${prefix} lookup ${POLICY_TABLE} pref ${POLICY_TABLE_PREF}`]),
  ];
}

/** The fabric (the VPC's router): each node's pod prefix via that node's second NIC. */
export function vpcFabricLines(plan: LabPlan): string[] {
  return plan.nodes.map((n) => `route add ${n.ipamBlock} via ${n.underlayIPs[1]} dev br1`);
}

/**
 * Egress SNAT, in the shape of the VPC CNI's AWS-SNAT-CHAIN-0: pod traffic to
 * the VPC (pods, nodes) is left alone; pod traffic leaving the VPC by the pod
 * NIC is masqueraded to that NIC's address. no-egress-snat drops the masquerade.
 */
export function vpcSnatRules(faults: readonly FaultName[] = []): string[] {
  return [
    ':AWS-SNAT-CHAIN-0 - [0:0]',
    `-A POSTROUTING -s ${VPC_POD_SUBNET} -m comment --comment "AWS SNAT CHAIN" -j AWS-SNAT-CHAIN-0`,
    `-A AWS-SNAT-CHAIN-0 -d ${VPC_CIDR} -m comment --comment "AWS SNAT CHAIN" -j RETURN`,
    ...(faults.includes('no-egress-snat') ? [] : ['-A AWS-SNAT-CHAIN-0 -o eth1 -m comment --comment "AWS, SNAT" -j MASQUERADE']),
  ];
}
