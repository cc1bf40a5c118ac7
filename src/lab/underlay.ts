// The lab's underlay as `ip -batch` lines: the fabric (bridges, router ports),
// each node's NICs, default route and policy rules, and the MTU each piece
// gets from `--mtu` (DESIGN §5; FIELD.md §3 uplinks, §4 MTU). Pure: no I/O,
// so unit tests can read exactly what a lab is built from.
import {
  AWS_JUMBO_MTU, CLUSTER_POD_CIDR, INTERNET6_PREFIX, IPV6_DATAPLANES, ROUTER_INTERNET_IP6, ROUTER_UNDERLAY_IP6, UNDERLAY6_CIDR, VXLAN6_OVERHEAD, hasFamily, type IpFamily, INTERNET_PREFIX, JUMBO_MTU, MAX_MTU, MIN_MTU, POLICY_MAIN_PREF, POLICY_NODE, POLICY_TABLE, POLICY_TABLE_PREF,
  ROUTER_INTERNET_IP, ROUTER_SECOND_UNDERLAY_IP, ROUTER_UNDERLAY_IP, SECOND_UNDERLAY_CIDR, UNDERLAY_CIDR, UNDERLAY_MTU, VXLAN_OVERHEAD,
  podRangeOf, type Dataplane, type LabPlan, type NodePlan, type Uplinks,
} from './plan.js';
import { FAULT_NODE, type FaultName } from './faults.js';

const prefixOf = (cidr: string) => cidr.split('/')[1]!;

/** The MTU of the nodes' NICs: the underlay's, except that mtu-blackhole's NICs believe in jumbo frames. */
export function nicMTU(mtu: number, faults: readonly FaultName[]): number {
  return faults.includes('mtu-blackhole') ? JUMBO_MTU : mtu;
}

/** The underlay's MTU when `--mtu` is not given: 1500, or AWS's jumbo 9001 for jumbo-blackhole (a jumbo underlay is its premise). */
export function defaultMTU(faults: readonly FaultName[]): number {
  return faults.includes('jumbo-blackhole') ? AWS_JUMBO_MTU : UNDERLAY_MTU;
}

/**
 * The MTU of a node's ports on the fabric's bridges (the switch ports): the
 * underlay's, except jumbo-blackhole's node, whose ports stay at 1500 while
 * its NICs and every other hop take jumbo frames. A bridge drops a frame
 * larger than the port it leaves by, and a veth one larger than the end it
 * arrives at, without an ICMP error: full-size frames from or to that node vanish.
 */
export function fabricPortMTU(plan: LabPlan, node: NodePlan): number {
  return plan.faults.includes('jumbo-blackhole') && node.index === FAULT_NODE ? UNDERLAY_MTU : plan.mtu;
}

/** flannel.1's MTU: the NIC's minus the tunnel overhead; mtu-blackhole forgets the subtraction. */
export function vxlanMTU(mtu: number, faults: readonly FaultName[]): number {
  return faults.includes('mtu-blackhole') ? UNDERLAY_MTU : mtu - VXLAN_OVERHEAD;
}

/** flannel-v6.1's MTU: the NIC's minus the IPv6 tunnel overhead (70). */
export const vxlan6MTU = (mtu: number) => mtu - VXLAN6_OVERHEAD;

/**
 * The `mtu` of the pods' CNI config: the tunnel's in VXLAN, the underlay's in
 * host-gw. Undefined for host-gw at the default MTU: the plugin's default
 * (1500) is the same, and the config stays what it was before `--mtu`.
 */
export function podMTU(dataplane: Dataplane, mtu: number, faults: readonly FaultName[], ipFamily: IpFamily = 'ipv4'): number | undefined {
  // With IPv6, pods' one eth0 must fit the larger IPv6 tunnel overhead (flannel-v6.1) too.
  if (dataplane === 'vxlan' && ipFamily !== 'ipv4') return Math.min(vxlanMTU(mtu, faults), vxlan6MTU(mtu));
  if (dataplane === 'vxlan' || dataplane === 'flannel') return vxlanMTU(mtu, faults);
  return mtu === UNDERLAY_MTU ? undefined : mtu;
}

const hasSecond = (node: NodePlan) => node.underlayIPs.length > 1;

/** The router's MAC on the first underlay (br0), fixed like the nodes'. */
export const ROUTER_UNDERLAY_MAC = '0e:70:78:00:01:00';

/**
 * Permanent neighbour entries for the first underlay. Every lab netns shares
 * the kernel's one neighbour table, whose garbage-collection limit
 * (gc_thresh3, 1024 by default, set in the root netns only) counts dynamic
 * entries of all of them: a 64-node lab needs ~4,000 underlay entries and
 * overflowed it ("neighbor table overflow", packets dropped before any
 * capture saw them). Permanent entries are exempt from that limit, and a
 * real node's ARP cache is its own, so this changes nothing a check sees.
 */
export function underlayNeighbourLines(plan: LabPlan, self?: NodePlan): string[] {
  const dev = self ? 'eth0' : 'br0';
  // IPv6 neighbours (NDP) have a table of their own with the same shared limit: permanent too.
  const six = (n: NodePlan) => (n.underlayIP6 ? [`neigh replace ${n.underlayIP6} lladdr ${n.underlayMAC} dev ${dev} nud permanent`] : []);
  const peers = plan.nodes.filter((n) => n !== self).flatMap((n) => [`neigh replace ${n.underlayIPs[0]} lladdr ${n.underlayMAC} dev ${dev} nud permanent`, ...six(n)]);
  const router = [`neigh replace ${ROUTER_UNDERLAY_IP} lladdr ${ROUTER_UNDERLAY_MAC} dev eth0 nud permanent`,
    ...(self?.underlayIP6 ? [`neigh replace ${ROUTER_UNDERLAY_IP6} lladdr ${ROUTER_UNDERLAY_MAC} dev eth0 nud permanent`] : [])];
  return self ? [...router, ...peers] : peers;
}

/** The fabric's port (on its bridge) for a node's NIC: `node-i` for eth0 on br0, `node-i-eth1` on br1. */
export const fabricPort = (node: NodePlan, nic: 'eth0' | 'eth1') => (nic === 'eth0' ? node.name : `${node.name}-eth1`);

/**
 * The fabric netns: a bridge per underlay with the router's address on it,
 * a veth per node NIC (fabric end on the bridge, NIC end in the node), and the
 * router's link to the internet host. Bridge MTUs are set after creation:
 * a bridge whose MTU was set keeps it when one of its ports is lowered by hand,
 * as a switch does (otherwise it follows its smallest port).
 */
export function fabricLines(plan: LabPlan): string[] {
  const nic = nicMTU(plan.mtu, plan.faults);
  const bridge = (dev: string, ip: string, cidr: string) => [
    `link add ${dev} type bridge`,
    `link set ${dev} mtu ${plan.mtu}`,
    `addr add ${ip}/${prefixOf(cidr)} dev ${dev}`,
    `link set ${dev} up`,
  ];
  const port = (node: NodePlan, ifname: 'eth0' | 'eth1', dev: string) => {
    const p = fabricPort(node, ifname);
    const mac = ifname === 'eth0' ? ` address ${node.underlayMAC}` : '';
    return [`link add ${p} mtu ${fabricPortMTU(plan, node)} type veth peer name ${ifname} mtu ${nic}${mac} netns ${node.netns}`, `link set ${p} master ${dev}`, `link set ${p} up`];
  };
  return [
    'link set lo up',
    ...bridge('br0', ROUTER_UNDERLAY_IP, UNDERLAY_CIDR),
    `link set br0 address ${ROUTER_UNDERLAY_MAC}`,
    ...(plan.nodes.some(hasSecond) ? bridge('br1', ROUTER_SECOND_UNDERLAY_IP, SECOND_UNDERLAY_CIDR) : []),
    ...plan.nodes.flatMap((n) => [...port(n, 'eth0', 'br0'), ...(hasSecond(n) ? port(n, 'eth1', 'br1') : [])]),
    ...underlayNeighbourLines(plan),
    `link add internet mtu ${plan.mtu} type veth peer name eth0 mtu ${plan.mtu} netns ${plan.internetNetns}`,
    `addr add ${ROUTER_INTERNET_IP}/${INTERNET_PREFIX} dev internet`,
    'link set internet up',
    // IPv6: the router's addresses on the underlay and towards the internet host; no DAD, so they are usable at once.
    ...(hasFamily(plan, 6) ? [`addr add ${ROUTER_UNDERLAY_IP6}/${prefixOf(UNDERLAY6_CIDR)} dev br0 nodad`, `addr add ${ROUTER_INTERNET_IP6}/${INTERNET6_PREFIX} dev internet nodad`] : []),
  ];
}

/** A node's default route: via the router on eth0, or (ecmp) one route with a nexthop per NIC. */
export function defaultRoute(uplinks: Uplinks): string {
  return uplinks === 'ecmp'
    ? `route add default nexthop via ${ROUTER_UNDERLAY_IP} dev eth0 nexthop via ${ROUTER_SECOND_UNDERLAY_IP} dev eth1`
    : `route add default via ${ROUTER_UNDERLAY_IP} dev eth0`;
}

/**
 * `--uplinks policy`, in the style of AWS VPC CNI: traffic from the node's pod
 * CIDR is looked up in its own table, whose default route leaves by eth1;
 * in-cluster destinations (pods, the node underlay) are sent back to the main
 * table first, so pod↔pod and pod↔node paths do not change. The node's own
 * traffic has a node source (or none yet) when rules are consulted: main table.
 */
export function policyLines(node: NodePlan): string[] {
  return [
    // Like the VPC CNI, the table names its gateway as on-link on eth1 (it does not rely on the main table's connected route).
    `route add ${ROUTER_SECOND_UNDERLAY_IP} dev eth1 scope link table ${POLICY_TABLE}`,
    `route add default via ${ROUTER_SECOND_UNDERLAY_IP} dev eth1 table ${POLICY_TABLE}`,
    `rule add to ${CLUSTER_POD_CIDR} lookup main pref ${POLICY_MAIN_PREF}`,
    `rule add to ${UNDERLAY_CIDR} lookup main pref ${POLICY_MAIN_PREF}`,
    // The node's pods' range: its podCIDR, or calico's IPAM block.
    `rule add from ${podRangeOf(node)} lookup ${POLICY_TABLE} pref ${POLICY_TABLE_PREF}`,
  ];
}

/** A node's NICs, addresses, default route and (policy) rules. */
export function nodeUplinkLines(plan: LabPlan, node: NodePlan): string[] {
  const [eth0, eth1] = node.underlayIPs;
  return [
    'link set lo up',
    `addr add ${eth0}/${prefixOf(UNDERLAY_CIDR)} dev eth0`,
    ...(node.underlayIP6 ? [`addr add ${node.underlayIP6}/${prefixOf(UNDERLAY6_CIDR)} dev eth0 nodad`] : []),
    'link set eth0 up',
    ...underlayNeighbourLines(plan, node),
    ...(eth1 ? [`addr add ${eth1}/${prefixOf(SECOND_UNDERLAY_CIDR)} dev eth1`, 'link set eth1 up'] : []),
    defaultRoute(eth1 ? plan.uplinks : 'single'),
    ...(node.underlayIP6 ? [`route add ::/0 via ${ROUTER_UNDERLAY_IP6} dev eth0`] : []),
    ...(eth1 && plan.uplinks === 'policy' ? policyLines(node) : []),
  ];
}

/** Why these `--uplinks`/`--mtu` cannot build such a lab, or undefined when they can (checked before anything is created). */
export function underlayConflict(o: { uplinks: Uplinks; mtu: number; faults: readonly FaultName[]; nodes: number; dataplane?: Dataplane; ipFamily?: IpFamily }): string | undefined {
  const family = o.ipFamily ?? 'ipv4';
  if (family !== 'ipv4' && o.dataplane && !IPV6_DATAPLANES.includes(o.dataplane)) {
    return `the ${o.dataplane} dataplane builds IPv4 labs only; \`--ip-family ${family}\` needs one of ${IPV6_DATAPLANES.join(', ')}`;
  }
  if (family !== 'ipv4' && o.uplinks !== 'single') return `\`--uplinks ${o.uplinks}\` builds its second uplink in IPv4 only: it cannot be combined with \`--ip-family ${family}\``;
  if (o.dataplane === 'vpc' && o.uplinks !== 'single') {
    return `the vpc dataplane gives every node its own second NIC and policy rules: it cannot be combined with \`--uplinks ${o.uplinks}\``;
  }
  if (!Number.isInteger(o.mtu) || o.mtu < MIN_MTU || o.mtu > MAX_MTU) return `the underlay MTU must be an integer from ${MIN_MTU} to ${MAX_MTU}, got ${o.mtu}`;
  if (o.uplinks === 'policy' && o.nodes < POLICY_NODE) {
    return `\`--uplinks policy\` gives node-${POLICY_NODE} a second uplink: it needs at least ${POLICY_NODE} nodes, got --nodes ${o.nodes}`;
  }
  if (o.faults.includes('mtu-blackhole') && o.faults.includes('jumbo-blackhole')) {
    return 'faults `mtu-blackhole` and `jumbo-blackhole` are two different MTU mismatches (a 1500-byte fabric, a jumbo one): give one of them';
  }
  if (o.faults.includes('mtu-blackhole') && o.mtu !== UNDERLAY_MTU) {
    return `fault \`mtu-blackhole\` is its own MTU mismatch (jumbo NICs on a ${UNDERLAY_MTU}-byte fabric): it cannot be combined with \`--mtu ${o.mtu}\``;
  }
  if (o.faults.includes('jumbo-blackhole') && o.mtu < JUMBO_MTU) {
    return `fault \`jumbo-blackhole\` needs a jumbo underlay (one ${UNDERLAY_MTU}-byte hop among jumbo ones): give \`--mtu\` ${JUMBO_MTU} or more, or leave it out for ${AWS_JUMBO_MTU}, got \`--mtu ${o.mtu}\``;
  }
  return undefined;
}
