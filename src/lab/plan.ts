// The lab's address plan and naming (DESIGN §5). Pure: no I/O.
import { FAULT_NODE, type FaultName } from './faults.js';

export const UNDERLAY_CIDR = '172.18.0.0/24';
export const ROUTER_UNDERLAY_IP = '172.18.0.1';
/** The second underlay (`--uplinks ecmp|policy`): nodes' `eth1`, on the fabric's `br1`. */
export const SECOND_UNDERLAY_CIDR = '172.18.1.0/24';
export const ROUTER_SECOND_UNDERLAY_IP = '172.18.1.1';
export const CLUSTER_POD_CIDR = '10.244.0.0/16';
export const INTERNET_IP = '198.51.100.10';
export const ROUTER_INTERNET_IP = '198.51.100.1';
export const INTERNET_PREFIX = 24;
/** The internet host answers TCP here (an echo that names itself), as an external target for egress checks. */
export const INTERNET_TCP_PORT = 80;
export const VXLAN_PORT = 8472;
/** Outer IPv4 (20) + UDP (8) + VXLAN (8) + inner Ethernet (14): what flannel subtracts from the NIC's MTU. */
export const VXLAN_OVERHEAD = 50;
/** The underlay's default MTU (`--mtu`); mtu-blackhole gives the nodes' NICs a larger one. */
export const UNDERLAY_MTU = 1500;
export const VXLAN_MTU = UNDERLAY_MTU - VXLAN_OVERHEAD;
export const JUMBO_MTU = 9000;
/** AWS's jumbo MTU (ENIs inside a VPC): jumbo-blackhole's underlay when `--mtu` is not given. */
export const AWS_JUMBO_MTU = 9001;
/** `--mtu` range: IPv6's minimum link MTU up to the largest jumbo frame switches commonly take (9216; veths and bridges take up to 65535). */
export const MIN_MTU = 1280;
export const MAX_MTU = 9216;
export const MAX_NODES = 64;

/**
 * IP families (issue 11): `ipv4` (the default), `ipv6` (pods and the API
 * IPv6 only; nodes keep their IPv4 underlay address, as kind's nodes do on
 * its dual-stack docker network, but the API reports only IPv6) and `dual`.
 */
export type IpFamily = 'ipv4' | 'ipv6' | 'dual';
export const IP_FAMILIES: readonly IpFamily[] = ['ipv4', 'ipv6', 'dual'];
/** `--primary`: the family listed first in podIPs, podCIDRs and InternalIPs (dual only; IPv6-first clusters list IPv6 first). */
export type Primary = 'ipv4' | 'ipv6';
export const PRIMARIES: readonly Primary[] = ['ipv4', 'ipv6'];
export type Family = 4 | 6;

/** The IPv6 underlay (a ULA /64 on br0): router ::1, node i ::(10+i), written like the IPv4 underlay's last byte. */
export const UNDERLAY6_CIDR = 'fd00:172:18::/64';
export const ROUTER_UNDERLAY_IP6 = 'fd00:172:18::1';
/** The cluster's IPv6 pod range, one /64 per node (as kind's default fd00:10:244::/56 with /64 node masks). */
export const CLUSTER_POD_CIDR6 = 'fd00:10:244::/56';
/** The internet host's IPv6 address and the router's side of that link: the documentation prefix, lab-internal only. */
export const INTERNET_IP6 = '2001:db8:100::10';
export const ROUTER_INTERNET_IP6 = '2001:db8:100::1';
export const INTERNET6_PREFIX = 64;
/** IPv6 outer header (40) + UDP + VXLAN + inner Ethernet: what flannel subtracts for its flannel-v6.1 device. */
export const VXLAN6_OVERHEAD = 70;
/** Profiles that build IPv6 and dual-stack labs. */
export const IPV6_DATAPLANES: readonly Dataplane[] = ['host-gw', 'vxlan', 'kindnet'];
export const STATE_ROOT = '/run/podwire';

/**
 * Dataplane profiles (README "The lab"): the ideal `host-gw` and `vxlan`
 * (bridge + host-local), and models of real CNI families: `kindnet` (ptp, /32
 * routes, kindnetd's masquerade), `calico` (no bridge, 169.254.1.1 and proxy
 * ARP, /26 IPAM blocks that ignore the node podCIDRs) and `vpc` (pod IPs from
 * the VPC, a second NIC per node taken by policy routing, no podCIDRs) and
 * `flannel` (subnet.env, the meta-plugin's bridge config, VXLAN, flanneld's
 * masquerade).
 */
export type Dataplane = 'host-gw' | 'vxlan' | 'kindnet' | 'calico' | 'vpc' | 'flannel';
export const DATAPLANES: readonly Dataplane[] = ['host-gw', 'vxlan', 'kindnet', 'calico', 'vpc', 'flannel'];

/** calico: the IP pool its /26 blocks come from (the cluster CIDR, as kubeadm + Calico installs set it). */
export const CALICO_POOL = CLUSTER_POD_CIDR;
export const CALICO_BLOCK_PREFIX = 26;
/** calico: the pods' gateway, an address nobody holds; the host end of each veth answers its ARP by proxy. */
export const CALICO_GATEWAY = '169.254.1.1';
/** calico: the MAC calico gives every host-side veth (felix/cni-plugin), so pods' neighbour entries never change. */
export const CALICO_HOST_VETH_MAC = 'ee:ee:ee:ee:ee:ee';

/**
 * calico: node i's IPAM block, the (i-1)th /26 of the pool. Blocks are
 * handed out in order from the pool's start, not from the node's podCIDR:
 * nodes 1-4 hold blocks in 10.244.0.0/24 (no node's podCIDR) and node 5
 * holds 10.244.1.0/26, inside node-1's podCIDR, as calico-ipam does.
 */
export function calicoBlock(index: number): string {
  const [a, b] = CALICO_POOL.split('.').map(Number);
  const offset = (index - 1) * 2 ** (32 - CALICO_BLOCK_PREFIX);
  return `${a}.${b! + Math.floor(offset / 65536)}.${Math.floor(offset / 256) % 256}.${offset % 256}/${CALICO_BLOCK_PREFIX}`;
}

/** vpc: the VPC's CIDR (the underlays and the pod subnet): nodes SNAT only traffic leaving it. */
export const VPC_CIDR = '172.18.0.0/16';
/** vpc: the subnet pods get addresses from, a /26 prefix per node (as with AWS prefix delegation or Azure CNI's pod subnet). */
export const VPC_POD_SUBNET = '172.18.64.0/18';
export const VPC_PREFIX_LEN = 26;
/** vpc: the MAC of every host-side veth; the pod's static ARP entry for 169.254.1.1 names it (AWS VPC CNI adds that entry). */
export const VPC_HOST_VETH_MAC = '0e:70:79:00:00:01';

/** vpc: node i's pod prefix, the (i-1)th /26 of the pod subnet (node-1 172.18.64.0/26, node-64 172.18.79.192/26). */
export function vpcPodPrefix(index: number): string {
  const offset = (index - 1) * 2 ** (32 - VPC_PREFIX_LEN);
  const [a, b, c] = VPC_POD_SUBNET.split('.').map(Number);
  return `${a}.${b}.${c! + Math.floor(offset / 256)}.${offset % 256}/${VPC_PREFIX_LEN}`;
}

/** The range a node's pods get addresses from: its IPAM block (calico) or pod prefix (vpc), else its podCIDR. */
export const podRangeOf = (node: NodePlan): string => node.ipamBlock ?? node.podCIDR;

/**
 * How nodes reach the outside (FIELD.md §3): `single` one NIC and one
 * default route; `ecmp` a second NIC on every node and one multipath default
 * route over both; `policy` a second NIC on POLICY_NODE only, which its pods'
 * egress takes by policy routing (as AWS VPC CNI does with secondary ENIs).
 */
export type Uplinks = 'single' | 'ecmp' | 'policy';
export const UPLINKS: readonly Uplinks[] = ['single', 'ecmp', 'policy'];
/** `--uplinks policy`: the node whose pod egress leaves by `eth1` (node-2, like the faults). */
export const POLICY_NODE = FAULT_NODE;
/** `--uplinks policy`: the routing table of that egress, and the rule priorities (AWS VPC CNI's: 512 to-cluster, 1536 from-pod). */
export const POLICY_TABLE = 100;
export const POLICY_MAIN_PREF = 512;
export const POLICY_TABLE_PREF = 1536;

/** Lab names become part of netns names; no hyphen, so `pw-<lab>-` never prefixes another lab's names. */
export const LAB_NAME_PATTERN = /^[a-z][a-z0-9]{0,15}$/;

export interface NodePlan {
  index: number;
  name: string;
  netns: string;
  /** eth0's address: the node's InternalIP, the host-gw next hop, the VXLAN endpoint. */
  underlayIP: string;
  /** Every address of the node's underlay NICs: eth0's, then eth1's when it has one (`--uplinks`). */
  underlayIPs: string[];
  /** The podCIDR the API reports; empty on vpc (nodes have none). */
  podCIDR: string;
  /** First address of the pod CIDR: the cni0 bridge's address (the pods' gateway). Empty on vpc, whose nodes have no podCIDR. */
  bridgeIP: string;
  vxlanMAC: string;
  /** eth0's MAC, fixed so that underlay neighbours can be permanent entries (see underlayNeighbourLines). */
  underlayMAC: string;
  /** Where its pods' addresses come from when that is not its podCIDR: calico's /26 block, vpc's pod prefix; absent in other profiles. */
  ipamBlock?: string;
  /** Labs with IPv6: eth0's IPv6 address, the node's IPv6 pod /64 and its first address (the cni0 bridge's). */
  underlayIP6?: string;
  podCIDR6?: string;
  bridgeIP6?: string;
}

export interface LabPlan {
  name: string;
  dataplane: Dataplane;
  nodes: NodePlan[];
  fabricNetns: string;
  internetNetns: string;
  stateDir: string;
  /** Faults applied at `lab up` (src/lab/faults.ts). */
  faults: FaultName[];
  uplinks: Uplinks;
  /** The underlay's MTU, end to end (fabric, NICs, router, internet host). */
  mtu: number;
  /** `--cni-config`: ranges its IPAM hands pod addresses out of beyond CLUSTER_POD_CIDR; the egress masquerade covers them too. */
  podRanges?: string[];
  /** `--ip-family` and `--primary` (absent in state written before them: ipv4). */
  ipFamily?: IpFamily;
  primary?: Primary;
}

export interface UnderlayOptions {
  uplinks?: Uplinks;
  mtu?: number;
  ipFamily?: IpFamily;
  /** dual only: which family comes first (default ipv4). */
  primary?: Primary;
}

/** The pod families a lab has, primary first. */
export function familiesOf(lab: { ipFamily?: IpFamily; primary?: Primary }): Family[] {
  const f = lab.ipFamily ?? 'ipv4';
  if (f === 'ipv4') return [4];
  if (f === 'ipv6') return [6];
  return lab.primary === 'ipv6' ? [6, 4] : [4, 6];
}

export const hasFamily = (lab: { ipFamily?: IpFamily; primary?: Primary }, family: Family) => familiesOf(lab).includes(family);

/** The family of an address (by its text: IPv6 has a colon). */
export const familyOf = (ip: string): Family => (ip.includes(':') ? 6 : 4);

/** Addresses or CIDRs put in the lab's family order (primary first); those of a family it lacks are dropped. */
export function inFamilyOrder(lab: { ipFamily?: IpFamily; primary?: Primary }, values: readonly string[]): string[] {
  return familiesOf(lab).flatMap((f) => values.filter((v) => v && familyOf(v) === f));
}

/** A node's podCIDRs as the API reports them, primary first (none on vpc). */
export const podCIDRsOf = (lab: { ipFamily?: IpFamily; primary?: Primary }, node: NodePlan): string[] => inFamilyOrder(lab, [node.podCIDR, node.podCIDR6 ?? '']);
/** A node's InternalIPs as the API reports them, primary first: an ipv6 lab reports only IPv6. */
export const internalIPsOf = (lab: { ipFamily?: IpFamily; primary?: Primary }, node: NodePlan): string[] => inFamilyOrder(lab, [node.underlayIP, node.underlayIP6 ?? '']);

/** Node i's IPv6 addresses: underlay fd00:172:18::(10+i), pods fd00:10:244:i::/64 with the bridge at ::1 (i written in decimal digits, like the IPv4 plan). */
export function nodePlan6(index: number): Required<Pick<NodePlan, 'underlayIP6' | 'podCIDR6' | 'bridgeIP6'>> {
  return { underlayIP6: `fd00:172:18::${10 + index}`, podCIDR6: `fd00:10:244:${index}::/64`, bridgeIP6: `fd00:10:244:${index}::1` };
}

/** vxlan: node i's flannel-v6.1 MAC (flannel gives each family its own VXLAN device). */
export const vxlanMAC6 = (node: NodePlan) => `0e:70:76:00:00:${node.index.toString(16).padStart(2, '0')}`;

/** The network address of a CIDR written as this plan writes them (`10.244.2.0/24` → `10.244.2.0`, `fd00:10:244:2::/64` → `fd00:10:244:2::`). */
export const cidrAddress = (cidr: string) => cidr.split('/')[0]!;

export function netnsPrefix(lab: string): string {
  return `pw-${lab}-`;
}

/** The lab a netns belongs to, or undefined when the name is not a lab's. */
export function labOfNetns(netns: string): string | undefined {
  const m = /^pw-([a-z][a-z0-9]{0,15})-/.exec(netns);
  return m?.[1];
}

export function nodePlan(lab: string, index: number): NodePlan {
  const hex = index.toString(16).padStart(2, '0');
  return {
    index,
    name: `node-${index}`,
    netns: `${netnsPrefix(lab)}node-${index}`,
    underlayIP: `172.18.0.${10 + index}`,
    underlayIPs: [`172.18.0.${10 + index}`],
    podCIDR: `10.244.${index}.0/24`,
    bridgeIP: `10.244.${index}.1`,
    vxlanMAC: `0e:70:77:00:00:${hex}`,
    underlayMAC: `0e:70:78:00:00:${hex}`,
  };
}

/** Node i's address on the second underlay (its `eth1`). */
export const secondUnderlayIP = (index: number) => `172.18.1.${10 + index}`;

/** Whether a node has a second NIC (`eth1` on br1) under these uplinks. */
export function hasSecondUplink(uplinks: Uplinks, index: number): boolean {
  return uplinks === 'ecmp' || (uplinks === 'policy' && index === POLICY_NODE);
}

export function labPlan(name: string, nodes: number, dataplane: Dataplane, faults: FaultName[] = [], underlay: UnderlayOptions = {}): LabPlan {
  const uplinks = underlay.uplinks ?? 'single';
  const ipFamily = underlay.ipFamily ?? 'ipv4';
  const primary: Primary = ipFamily === 'ipv6' ? 'ipv6' : ipFamily === 'dual' ? (underlay.primary ?? 'ipv4') : 'ipv4';
  const plans = Array.from({ length: nodes }, (_, i) => {
    const v4 = nodePlan(name, i + 1);
    // An ipv6 lab's nodes keep their IPv4 underlay address (not reported by the API); they have no IPv4 pod range.
    const n: NodePlan = ipFamily === 'ipv4' ? v4 : { ...v4, ...(ipFamily === 'ipv6' ? { podCIDR: '', bridgeIP: '' } : {}), ...nodePlan6(v4.index) };
    // vpc: no podCIDR (the API reports none), pods from the node's prefix, and every node has its second NIC.
    if (dataplane === 'vpc') return { ...n, podCIDR: '', bridgeIP: '', ipamBlock: vpcPodPrefix(n.index), underlayIPs: [...n.underlayIPs, secondUnderlayIP(n.index)] };
    const withBlock = dataplane === 'calico' ? { ...n, ipamBlock: calicoBlock(n.index) } : n;
    return hasSecondUplink(uplinks, n.index) ? { ...withBlock, underlayIPs: [...n.underlayIPs, secondUnderlayIP(n.index)] } : withBlock;
  });
  if (faults.includes('overlapping-pod-cidr') && plans.length >= FAULT_NODE) {
    // The fault node is handed node-1's range: same CIDR, same gateway address.
    const victim = plans[FAULT_NODE - 1]!;
    plans[FAULT_NODE - 1] = { ...victim, podCIDR: plans[0]!.podCIDR, bridgeIP: plans[0]!.bridgeIP };
  }
  return {
    name,
    dataplane,
    nodes: plans,
    fabricNetns: `${netnsPrefix(name)}fabric`,
    internetNetns: `${netnsPrefix(name)}internet`,
    stateDir: `${STATE_ROOT}/${name}`,
    faults: [...faults],
    uplinks,
    mtu: underlay.mtu ?? UNDERLAY_MTU,
    ipFamily,
    primary,
  };
}

/** Netns name for a pod sandbox: short and unique, independent of the pod's (long) name. */
export function podNetns(lab: string, sandboxId: string): string {
  return `${netnsPrefix(lab)}pod-${sandboxId}`;
}
