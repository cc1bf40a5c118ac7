// calico's per-pod wiring, done by hand the way calico's CNI plugin does it
// (projectcalico/calico cni-plugin, dataplane/linux): no bridge; a veth whose
// host end (cali…) has no address, a fixed MAC and proxy ARP on, a /32 route
// per pod to it on the node, and in the pod an address /32 with the default
// route via 169.254.1.1 on-link, an address nobody holds: the host end
// answers its ARP by proxy. Pure: the lines are run by the runtime.
import { CALICO_GATEWAY, CALICO_HOST_VETH_MAC, type NodePlan } from './plan.js';
import { FAULT_NODE, type FaultName } from './faults.js';

/** The host end's name: `cali` and the sandbox id (at most 15 characters, as calico's cali + 11 hex). */
export const caliVeth = (sandboxId: string) => `cali${sandboxId}`.slice(0, 15);

/**
 * `ip -batch` lines in the node's netns for a routed (bridgeless) pod: the
 * veth pair (pod end moved into the pod), the host end's fixed MAC, the
 * pod's /32 route. calico and the VPC CNI wire pods alike.
 */
export function routedVethLines(host: string, mac: string, podNetns: string, podIP: string, mtu: number): string[] {
  return [
    `link add ${host} mtu ${mtu} type veth peer name eth0 mtu ${mtu} netns ${podNetns}`,
    `link set ${host} address ${mac}`,
    `link set ${host} up`,
    `route add ${podIP}/32 dev ${host} scope link`,
  ];
}

export const calicoHostLines = (sandboxId: string, podNetns: string, podIP: string, mtu: number) =>
  routedVethLines(caliVeth(sandboxId), CALICO_HOST_VETH_MAC, podNetns, podIP, mtu);

/**
 * The host end's sysctls (as felix sets them): proxy ARP so the pod's ARP for
 * 169.254.1.1 is answered, without the random proxy delay. no-proxy-arp leaves
 * it off on the fault node: its pods never resolve their gateway.
 */
export function calicoHostSysctls(node: NodePlan, sandboxId: string, faults: readonly FaultName[]): string {
  const host = caliVeth(sandboxId);
  const proxy = faults.includes('no-proxy-arp') && node.index === FAULT_NODE ? 0 : 1;
  return [`echo ${proxy} > /proc/sys/net/ipv4/conf/${host}/proxy_arp`, `echo 0 > /proc/sys/net/ipv4/neigh/${host}/proxy_delay`, ''].join('\n');
}

/** `ip -batch` lines in the pod's netns: eth0's /32 address, the on-link route to 169.254.1.1 and the default route via it. */
export function calicoPodLines(podIP: string): string[] {
  return [
    `addr add ${podIP}/32 dev eth0`,
    'link set eth0 up',
    `route add ${CALICO_GATEWAY} dev eth0 scope link`,
    `route add default via ${CALICO_GATEWAY} dev eth0`,
  ];
}
