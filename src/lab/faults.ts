// The fault gallery: named, realistic misconfigurations `lab up --fault`
// applies, and, for each, the checks that must catch it. This declaration is
// the single source of the detection matrix: the matrix test asserts it, the
// README's table is generated from it. Pure data.
import type { Subsystem } from '../conformance/model.js';
import type { Dataplane, IpFamily } from './plan.js';

export const FAULT_NAMES = [
  'masquerade-all',
  'overlapping-pod-cidr',
  'missing-route',
  'no-egress-snat',
  'node-to-pod-snat',
  'pod-to-node-snat',
  'wrong-status-ip',
  'mtu-blackhole',
  'jumbo-blackhole',
  'forward-drop',
  'nonmasq-node-cidr',
  'no-proxy-arp',
  'missing-policy-rule',
  'flannel-no-ip-masq',
  'ipv6-pod-masquerade',
  'ipv6-missing-route',
  'ipv6-no-egress-snat',
] as const;
export type FaultName = (typeof FAULT_NAMES)[number];

/** The node most faults break (node-2): every lab with a fault has at least two nodes. */
export const FAULT_NODE = 2;
/** missing-route: this node lacks the route to FAULT_NODE's pod CIDR. */
export const ROUTELESS_NODE = 1;

/** A flow verdict (or API finding) as the matrix sees it: its kind and the nodes and roles of its ends. */
export interface MatrixFlow {
  check: string;
  kind: string;
  from?: { node: number; role: 'pod' | 'host' };
  to?: { node: number; role: 'pod' | 'host' };
  /** Nodes whose probes an API finding names (NM-3.x findings have no ends). */
  named: number[];
  /** The flow's IP family, when the run covered more than one. */
  family?: 4 | 6;
}

export interface FaultDef {
  name: FaultName;
  /** One line: what the lab does. */
  summary: string;
  /** The real-world failure it models, and where that comes from. */
  models: string;
  /** Dataplanes the fault can be applied to. */
  dataplanes: readonly Dataplane[];
  /** Dataplanes the detection matrix runs it on. */
  matrix: readonly Dataplane[];
  /** Checks that must fail: exactly these. */
  caughtBy: readonly string[];
  /** Checks the fault leaves unable to decide (the traffic they judge never flowed): exactly these; all others pass. */
  undecided: readonly string[];
  /** Flows the fault can affect; every other flow must pass. */
  touches: (f: MatrixFlow) => boolean;
  /** What the diagnosis of each check it fails names. */
  diagnosis: ExpectedDiagnosis;
  /**
   * Where a profile changes the outcome (profiles.ts expectedOn): the complete
   * failed and inconclusive sets on that profile, its strict failures by
   * design included, and why they differ from caughtBy/undecided.
   */
  on?: Partial<Record<Dataplane, ProfileOutcome>>;
  /** The family whose verdicts the fault fails (absent: IPv4, the family every fault before issue 11 breaks); the other family's verdicts all pass. */
  family?: 6;
  /** The lab family the fault needs (absent: any lab with IPv4): `dual`, so the IPv4 verdicts of the same run are its control. */
  ipFamily?: 'dual';
}

/**
 * The likely cause every check the fault fails must name (report
 * `diagnosis`): its subsystem, and the node it was applied to, or `sender`
 * for faults applied on every node (each failed flow names its sending node).
 */
export interface ExpectedDiagnosis {
  subsystem: Subsystem;
  node: number | 'sender';
}

export interface ProfileOutcome {
  failed: readonly string[];
  undecided: readonly string[];
  why: string;
  /** Where the reported cause differs on this profile. */
  diagnosis?: ExpectedDiagnosis;
}

/** Profiles that masquerade pod → node traffic: a node's reply to a pod's probe goes back to the node address, by the underlay. */
const SNAT_TO_NODE_WHY = 'pod → node traffic is masqueraded on this profile, so a node\'s replies go back to the sending node\'s address by the underlay, not to the pod range: NM-2.4 still passes';

const ALL: readonly Dataplane[] = ['host-gw', 'vxlan', 'kindnet', 'calico', 'vpc', 'flannel'];
/** Profiles whose nodes route pod ranges to each other (vpc leaves that to the fabric). */
const NODE_ROUTED: readonly Dataplane[] = ['host-gw', 'vxlan', 'kindnet', 'calico', 'flannel'];
/** Profiles whose pods get their addresses from the node's podCIDR with a CNI plugin's ipMasq option (bridge, ptp). */
const PODCIDR_IPAM: readonly Dataplane[] = ['host-gw', 'vxlan', 'kindnet', 'flannel'];
/** Profiles whose own masquerade exempts node addresses (the others SNAT pod → node by design). */
const NODE_EXEMPT: readonly Dataplane[] = ['host-gw', 'vxlan'];
const IDEAL: readonly Dataplane[] = ['host-gw', 'vxlan'];
/** Profiles that build IPv6 (plan.ts IPV6_DATAPLANES; not imported, plan.ts imports this module). */
const IPV6: readonly Dataplane[] = ['host-gw', 'vxlan', 'kindnet'];
const onNode = (e: MatrixFlow['from'], node: number, role?: 'pod' | 'host') => !!e && e.node === node && (!role || e.role === role);
const crossNode = (f: MatrixFlow) => !f.to || !f.from || f.from.node !== f.to.node;

export const FAULTS: readonly FaultDef[] = [
  {
    name: 'masquerade-all',
    diagnosis: { subsystem: 'masquerade', node: 'sender' },
    summary: 'The CNI bridge plugin runs with ipMasq on: every node masquerades pod traffic leaving its pod subnet.',
    models: 'A bridge CNI config with `ipMasq: true` (common in sample configs): the plugin masquerades each pod\'s traffic to anything outside its own node\'s subnet, other nodes\' pods included, so receivers see the node address; the classic "pods see the node IP" report.',
    dataplanes: PODCIDR_IPAM,
    matrix: IDEAL,
    caughtBy: ['NM-1.2', 'NM-2.3', 'NM-4.2'],
    undecided: [],
    touches: (f) => f.from?.role === 'pod' && crossNode(f),
  },
  {
    name: 'overlapping-pod-cidr',
    diagnosis: { subsystem: 'ipam', node: FAULT_NODE },
    summary: `Node-${FAULT_NODE} is handed node-1's pod CIDR: the two nodes' IPAM hands out the same addresses.`,
    models: 'Duplicate podCIDR allocation: a node re-registered with a stale spec.podCIDR, or --cluster-cidr/--node-cidr-mask-size mismatches, so two nodes allocate from one range (IPAM handing out duplicates).',
    dataplanes: PODCIDR_IPAM,
    matrix: ['host-gw'],
    caughtBy: ['NM-1.2', 'NM-1.3', 'NM-2.2', 'NM-2.3', 'NM-2.4', 'NM-3.1', 'NM-3.2', 'NM-3.3'],
    undecided: ['NM-4.2', 'NM-5.1'],
    touches: (f) => onNode(f.from, FAULT_NODE) || onNode(f.to, FAULT_NODE) || f.named.includes(FAULT_NODE),
    on: {
      // NM-4.2 (not in the matrix): both nodes' IPAM hands out .2 and .3, but which probe gets which varies with start order. When a
      // flow's destination is held by a pod on the sender's own node, the node's route to it is that pod's veth: the flow never leaves
      // the node, and NM-4.2 is undecided when nothing is seen on the uplink, or passes (no SNAT) when the route lookup named the veth.
      kindnet: { failed: ['NM-1.2', 'NM-1.3', 'NM-2.2', 'NM-2.3', 'NM-3.1', 'NM-3.2', 'NM-3.3'], undecided: ['NM-4.2', 'NM-5.1'], why: `${SNAT_TO_NODE_WHY}; flows to a duplicated address stay on the sender's node, so NM-4.2 is undecided (or passes, when the route lookup names the local pod's veth)` },
      flannel: { failed: ['NM-1.2', 'NM-1.3', 'NM-2.2', 'NM-2.3', 'NM-3.1', 'NM-3.2', 'NM-3.3'], undecided: ['NM-4.2', 'NM-5.1'], why: SNAT_TO_NODE_WHY },
    },
  },
  {
    name: 'missing-route',
    diagnosis: { subsystem: 'route', node: ROUTELESS_NODE },
    summary: `Node-${ROUTELESS_NODE} lacks the route to node-${FAULT_NODE}'s pod CIDR; that traffic follows the default route and dies at the router.`,
    models: 'A route that was never programmed or was flushed: a host-gw/BGP peer down, a flannel subnet lease not seen by one node, a route table edited by hand.',
    dataplanes: NODE_ROUTED,
    matrix: [...IDEAL, 'kindnet'],
    caughtBy: ['NM-1.2', 'NM-1.3', 'NM-2.2', 'NM-2.3', 'NM-2.4'],
    undecided: ['NM-3.3', 'NM-5.1'],
    // Between the two nodes, either way: a reply needs the missing route too (and in VXLAN node-2's own traffic leaves from its flannel.1 address, inside its pod CIDR).
    touches: (f) => (onNode(f.from, ROUTELESS_NODE) && onNode(f.to, FAULT_NODE)) || (onNode(f.from, FAULT_NODE) && onNode(f.to, ROUTELESS_NODE)),
    on: {
      kindnet: { failed: ['NM-1.2', 'NM-1.3', 'NM-2.2', 'NM-2.3'], undecided: ['NM-3.3', 'NM-5.1'], why: SNAT_TO_NODE_WHY },
      calico: { failed: ['NM-1.2', 'NM-1.3', 'NM-2.2', 'NM-2.3', 'NM-3.4'], undecided: ['NM-3.3', 'NM-5.1'], why: SNAT_TO_NODE_WHY },
      flannel: { failed: ['NM-1.2', 'NM-1.3', 'NM-2.2', 'NM-2.3'], undecided: ['NM-3.3', 'NM-5.1'], why: SNAT_TO_NODE_WHY },
    },
  },
  {
    name: 'no-egress-snat',
    diagnosis: { subsystem: 'masquerade', node: 'sender' },
    summary: 'Nodes do not masquerade pod traffic leaving the cluster: it reaches the internet with the pod IP as source.',
    models: 'Egress masquerade disabled or bypassed (flannel --ip-masq=false, Calico natOutgoing false, ip-masq-agent with 0.0.0.0/0 as non-masquerade): pod IPs leak out and replies never come back.',
    dataplanes: ALL,
    matrix: ['host-gw', 'calico'],
    caughtBy: ['NM-4.1'],
    undecided: [],
    touches: (f) => f.kind === 'pod-external',
    on: {
      kindnet: { failed: ['NM-4.1'], undecided: [], why: 'the lost masquerade is also the one that SNATed pod → node traffic: NM-2.3 passes' },
      calico: { failed: ['NM-3.4', 'NM-4.1'], undecided: [], why: 'the lost natOutgoing is also the one that SNATed pod → node traffic: NM-2.3 passes' },
      flannel: { failed: ['NM-4.1'], undecided: [], why: 'the lost FLANNEL-POSTRTG masquerade is also the one that SNATed pod → node traffic: NM-2.3 passes' },
    },
  },
  {
    name: 'node-to-pod-snat',
    diagnosis: { subsystem: 'masquerade', node: FAULT_NODE },
    summary: `Node-${FAULT_NODE} SNATs its own traffic to pods to a second address of its (172.18.0.${100 + FAULT_NODE}).`,
    models: 'A node-level rule that rewrites host-originated traffic to pods (kube-proxy --masquerade-all, an SNAT pinned to a VIP or floating address), so pods cannot tell which node talks to them.',
    dataplanes: NODE_ROUTED,
    matrix: ['host-gw'],
    caughtBy: ['NM-2.1', 'NM-2.2'],
    undecided: [],
    touches: (f) => onNode(f.from, FAULT_NODE, 'host'),
  },
  {
    name: 'pod-to-node-snat',
    diagnosis: { subsystem: 'masquerade', node: 'sender' },
    summary: 'Nodes masquerade pod traffic to node addresses: the egress rule exempts only the pod CIDR.',
    models: 'A masquerade rule whose exceptions list only the pod CIDR (ip-masq-agent nonMasqueradeCIDRs without the node network), so pods reaching kubelets or hostNetwork services appear as the node. kindnet, calico and flannel do this by design.',
    dataplanes: NODE_EXEMPT,
    matrix: ['host-gw'],
    caughtBy: ['NM-2.3'],
    undecided: [],
    touches: (f) => f.kind === 'pod-node' && crossNode(f),
  },
  {
    name: 'wrong-status-ip',
    diagnosis: { subsystem: 'interface-address', node: FAULT_NODE },
    summary: `The API reports, for every pod on node-${FAULT_NODE}, an address that is not the one on its interface (a stale one).`,
    models: 'A runtime or CNI result that disagrees with the interface: the IP of a previous sandbox kept after a sandbox restart, or a chained plugin reporting another interface\'s address.',
    dataplanes: ALL,
    matrix: ['host-gw'],
    caughtBy: ['NM-1.1', 'NM-1.2', 'NM-2.1', 'NM-2.2', 'NM-2.3', 'NM-3.3', 'NM-4.1', 'NM-4.2'],
    undecided: ['NM-1.3', 'NM-5.1'],
    touches: (f) => onNode(f.from, FAULT_NODE, 'pod') || onNode(f.to, FAULT_NODE, 'pod') || f.named.includes(FAULT_NODE),
    on: {
      kindnet: {
        failed: ['NM-1.2', 'NM-2.1', 'NM-2.2', 'NM-2.3', 'NM-3.3', 'NM-4.1', 'NM-4.2'], undecided: ['NM-1.1', 'NM-1.3', 'NM-5.1'],
        why: 'no bridge: a same-node flow to the stale address is routed to the router and lost there, with no unanswered ARP on the pod\'s link to prove it: NM-1.1 is inconclusive',
      },
      calico: {
        failed: ['NM-1.2', 'NM-2.1', 'NM-2.2', 'NM-2.3', 'NM-3.3', 'NM-3.4', 'NM-4.1', 'NM-4.2'], undecided: ['NM-1.1', 'NM-1.3', 'NM-5.1'],
        why: 'no bridge: a same-node flow to the stale address is routed to the router and lost there, with no unanswered ARP on the pod\'s link to prove it: NM-1.1 is inconclusive',
      },
      vpc: {
        failed: ['NM-1.2', 'NM-2.3', 'NM-3.3'], undecided: ['NM-1.1', 'NM-1.3', 'NM-2.1', 'NM-2.2', 'NM-4.1', 'NM-4.2', 'NM-5.1'],
        why: 'the stale addresses lie in node-3\'s prefix, which the fabric routes to node-3: flows to them leave node-2 and vanish where no capture decides them',
      },
    },
  },
  {
    name: 'mtu-blackhole',
    diagnosis: { subsystem: 'mtu', node: 'sender' },
    summary: 'Pods and the VXLAN device get the underlay MTU (1500) instead of 1450; nodes\' NICs pass the 1550-byte frames, the underlay drops them silently.',
    models: 'A CNI MTU that does not subtract the tunnel overhead, on an underlay smaller than the NICs believe (jumbo NICs behind a 1500 hop, ICMP filtered): small packets work, full-size ones vanish.',
    dataplanes: ['vxlan', 'flannel'],
    matrix: ['vxlan'],
    caughtBy: ['NM-5.1'],
    undecided: [],
    touches: (f) => f.kind === 'pod-pod-mtu',
  },
  {
    name: 'jumbo-blackhole',
    summary: `Jumbo frames everywhere (\`--mtu\`, 9001 when not given) but node-${FAULT_NODE}'s fabric ports, which stay at 1500: full-size frames from or to node-${FAULT_NODE} are dropped there, with no ICMP error.`,
    models: 'One hop without jumbo frames on a jumbo network: an ENI, NIC or switch port left at 1500 where the VPC and the other nodes use 9001 (AWS) or 9000. Nodes and pods believe the large MTU, the port drops larger frames at layer 2, so path MTU discovery never hears of it: small packets work, full-size ones to or from that node vanish.',
    dataplanes: ALL,
    // Tried on all six profiles (3 nodes): NM-5.1 fails on the four pairs with node-2 at one end and nothing else changes, so no profile needs an `on` outcome.
    matrix: ['host-gw', 'vxlan', 'vpc'],
    caughtBy: ['NM-5.1'],
    undecided: [],
    // The smaller hop is node-2's fabric port, which no node snapshot shows: the check names the node every failing pair has in common.
    diagnosis: { subsystem: 'mtu', node: FAULT_NODE },
    touches: (f) => f.kind === 'pod-pod-mtu' && (onNode(f.from, FAULT_NODE) || onNode(f.to, FAULT_NODE)),
  },
  {
    name: 'forward-drop',
    diagnosis: { subsystem: 'forward-policy', node: FAULT_NODE },
    summary: `Node-${FAULT_NODE}'s iptables FORWARD policy is DROP: it stops forwarding for its pods (bridged traffic included, through br_netfilter).`,
    models: 'Docker 1.13 and later set the FORWARD policy to DROP on every host it runs on (kubernetes/kubernetes#40182): pods on such a node lose every forwarded path.',
    // flannel's FLANNEL-FWD accepts pod traffic whatever the policy.
    dataplanes: ['host-gw', 'vxlan', 'kindnet', 'calico', 'vpc'],
    matrix: ['host-gw'],
    caughtBy: ['NM-1.1', 'NM-1.2', 'NM-2.2', 'NM-2.3', 'NM-2.4'],
    undecided: ['NM-1.3', 'NM-3.3', 'NM-4.1', 'NM-4.2', 'NM-5.1'],
    touches: (f) => onNode(f.from, FAULT_NODE, 'pod') || onNode(f.to, FAULT_NODE, 'pod'),
  },
  {
    name: 'nonmasq-node-cidr',
    diagnosis: { subsystem: 'masquerade', node: 'sender' },
    summary: 'kindnetd\'s non-masquerade CIDR is each node\'s own podCIDR instead of the cluster\'s pod range: pod traffic to other nodes\' pods is masqueraded.',
    models: 'kindnetd (an ip-masq-agent) started with the node\'s podCIDR as its non-masquerade list (a POD_SUBNET set per node, or ip-masq-agent nonMasqueradeCIDRs listing one node\'s range): cross-node pod traffic arrives from the sending node\'s address, as in AKS#2031.',
    dataplanes: ['kindnet'],
    matrix: ['kindnet'],
    caughtBy: ['NM-1.2', 'NM-4.2'],
    undecided: [],
    touches: (f) => f.from?.role === 'pod' && crossNode(f),
  },
  {
    name: 'no-proxy-arp',
    diagnosis: { subsystem: 'arp', node: FAULT_NODE },
    summary: `Proxy ARP is off on node-${FAULT_NODE}'s cali* veths: its pods never resolve their gateway 169.254.1.1.`,
    models: 'calico\'s host-side veth without proxy_arp (a felix that did not configure the interface, a sysctl reset by a node tuning profile): the pod\'s default route via 169.254.1.1 has no neighbour, so every packet a pod on that node sends is dropped in the pod.',
    dataplanes: ['calico'],
    matrix: ['calico'],
    // Replies from node-2's pods die in the pod too: NM-1.3 fails (the requests of other nodes' pods arrived), NM-2.1 as well.
    caughtBy: ['NM-1.1', 'NM-1.2', 'NM-1.3', 'NM-2.1', 'NM-2.2', 'NM-2.4'],
    undecided: ['NM-3.3', 'NM-4.1', 'NM-4.2', 'NM-5.1'],
    touches: (f) => onNode(f.from, FAULT_NODE, 'pod') || onNode(f.to, FAULT_NODE, 'pod'),
  },
  {
    name: 'missing-policy-rule',
    diagnosis: { subsystem: 'route', node: FAULT_NODE },
    summary: `Node-${FAULT_NODE} lacks the \`from <pod prefix> lookup 100\` rule: its pods' traffic takes the main table and leaves by eth0, where no SNAT applies, so their egress reaches the internet with the pod IP.`,
    models: 'AWS VPC CNI\'s per-pod policy rule missing (a rule flushed by a node agent or netplan re-applying, an IPAM restart that did not restore it, aws/amazon-vpc-cni-k8s reports): pod traffic leaves by the wrong ENI and skips the SNAT bound to the pods\' NIC.',
    dataplanes: ['vpc'],
    matrix: ['vpc'],
    caughtBy: ['NM-4.1'],
    undecided: [],
    touches: (f) => f.kind === 'pod-external' && onNode(f.from, FAULT_NODE, 'pod'),
  },
  {
    name: 'flannel-no-ip-masq',
    diagnosis: { subsystem: 'masquerade', node: 'sender' },
    summary: 'flanneld runs without --ip-masq: subnet.env says FLANNEL_IPMASQ=false, so the meta-plugin turns the bridge\'s ipMasq on, which masquerades pod traffic leaving the node\'s subnet, other nodes\' pods included.',
    models: 'kube-flannel\'s --ip-masq argument dropped (a customised manifest, a Helm value): flannel\'s CNI plugin then sets `ipMasq: !FLANNEL_IPMASQ` on the bridge delegate (flannel-io/cni-plugin), and cross-node pod traffic arrives from the node address.',
    dataplanes: ['flannel'],
    matrix: ['flannel'],
    caughtBy: ['NM-1.2', 'NM-4.2'],
    undecided: [],
    touches: (f) => f.from?.role === 'pod' && crossNode(f),
  },
  {
    name: 'ipv6-pod-masquerade',
    diagnosis: { subsystem: 'masquerade', node: FAULT_NODE },
    family: 6,
    ipFamily: 'dual',
    summary: `Node-${FAULT_NODE} masquerades its pods' IPv6 traffic leaving its IPv6 pod subnet (other nodes' pods included); its IPv4 traffic is clean.`,
    models: 'An IPv6 masquerade rule as the bridge plugin\'s ipMasq writes it (`-s <pod subnet> ! -d <pod subnet> -j MASQUERADE` in ip6tables) on one node of a dual-stack cluster: the IPv4 rules were fixed, the IPv6 ones were not, so receivers see that node\'s IPv6 address as the source.',
    dataplanes: IPV6,
    matrix: ['host-gw', 'vxlan'],
    caughtBy: ['NM-1.2', 'NM-2.3', 'NM-4.2'],
    undecided: [],
    touches: (f) => onNode(f.from, FAULT_NODE, 'pod') && crossNode(f),
  },
  {
    name: 'ipv6-missing-route',
    diagnosis: { subsystem: 'route', node: ROUTELESS_NODE },
    family: 6,
    ipFamily: 'dual',
    summary: `Node-${ROUTELESS_NODE} lacks the IPv6 route to node-${FAULT_NODE}'s IPv6 pod CIDR (its IPv4 route is there); that traffic follows the IPv6 default route and dies at the router.`,
    models: 'No IPv6 pod routes on a dual-stack cluster (projectcalico/calico#10834: IPv4 pod routes programmed, IPv6 ones missing, node → pod over IPv6 failed); also a BGP session or route reflector that carries only the IPv4 address family.',
    dataplanes: IPV6,
    matrix: ['host-gw', 'kindnet'],
    caughtBy: ['NM-1.2', 'NM-1.3', 'NM-2.2', 'NM-2.3', 'NM-2.4'],
    undecided: ['NM-3.3', 'NM-5.1'],
    touches: (f) => (onNode(f.from, ROUTELESS_NODE) && onNode(f.to, FAULT_NODE)) || (onNode(f.from, FAULT_NODE) && onNode(f.to, ROUTELESS_NODE)),
    on: {
      kindnet: { failed: ['NM-1.2', 'NM-1.3', 'NM-2.2', 'NM-2.3'], undecided: ['NM-3.3', 'NM-5.1'], why: SNAT_TO_NODE_WHY },
    },
  },
  {
    name: 'ipv6-no-egress-snat',
    diagnosis: { subsystem: 'masquerade', node: 'sender' },
    family: 6,
    ipFamily: 'dual',
    summary: 'Nodes masquerade pods\' IPv4 egress but not their IPv6 egress: it reaches the internet with the pod\'s IPv6 address as source.',
    models: 'IPv6 egress masquerade missing on a dual-stack cluster (no ip6tables MASQUERADE, natOutgoing set on the IPv4 pool only, ip-masq-agent without its IPv6 rules): ULA pod addresses leak out and replies never come back.',
    dataplanes: IPV6,
    matrix: ['host-gw', 'kindnet'],
    caughtBy: ['NM-4.1'],
    undecided: [],
    touches: (f) => f.kind === 'pod-external',
    on: {
      kindnet: { failed: ['NM-2.3', 'NM-4.1'], undecided: [], why: 'the lost IPv6 masquerade is also the one that SNATed IPv6 pod → node traffic: NM-2.3 passes in IPv6 and fails, by design, in IPv4 only' },
    },
  },
];

/** wrong-status-ip: the stale address the API reports (same range, 100 further on; nothing holds it). */
export function staleIP(ip: string): string {
  const parts = ip.split('.').map(Number);
  parts[3] = ((parts[3]! + 100 - 1) % 254) + 1;
  return parts.join('.');
}

export function faultDef(name: FaultName): FaultDef {
  return FAULTS.find((f) => f.name === name)!;
}

/** Why a set of faults cannot be applied to such a lab, or undefined when it can. */
export function faultConflict(faults: readonly FaultName[], dataplane: Dataplane, nodes: number, ipFamily: IpFamily = 'ipv4'): string | undefined {
  for (const name of faults) {
    const f = faultDef(name);
    if (!f.dataplanes.includes(dataplane)) {
      return `fault \`${name}\` applies to the ${f.dataplanes.join(', ')} dataplane${f.dataplanes.length > 1 ? 's' : ''} only, not ${dataplane}`;
    }
    if (f.ipFamily === 'dual' && ipFamily !== 'dual') {
      return `fault \`${name}\` breaks IPv6 beside a clean IPv4: it needs \`--ip-family dual\`, got ${ipFamily}`;
    }
    if (f.family === undefined && ipFamily === 'ipv6') {
      return `fault \`${name}\` breaks IPv4, which an \`--ip-family ipv6\` lab's pods do not have: use \`--ip-family dual\` or ipv4`;
    }
  }
  if (faults.length && nodes < FAULT_NODE) return `faults need at least ${FAULT_NODE} nodes (they break node-${FAULT_NODE}), got --nodes ${nodes}`;
  return undefined;
}

const endOf = (s: string): MatrixFlow['from'] => {
  const m = /pw-(pod|host)-node-(\d+)/.exec(s);
  return m ? { node: Number(m[2]), role: m[1] as 'pod' | 'host' } : undefined;
};

/** A report's flow verdict as the matrix sees it (from/to name probes such as `pw-pod-node-2-a (10.244.2.2)`). */
export function matrixFlow(check: string, v: { kind: string; from: string; to: string; observed: string; family?: 4 | 6 }): MatrixFlow {
  const from = endOf(v.from);
  const to = endOf(v.to);
  const named = [...v.observed.matchAll(/\bnode-(\d+)/g)].map((m) => Number(m[1]));
  return { check, kind: v.kind, ...(from ? { from } : {}), ...(to ? { to } : {}), named: from || to ? [] : named, ...(v.family ? { family: v.family } : {}) };
}

/** Whether a fault can affect a flow: one of the fault's family (a run of one family names none) that its `touches` selects. */
export function touchedBy(fault: FaultDef, f: MatrixFlow): boolean {
  return (f.family === undefined || f.family === (fault.family ?? 4)) && fault.touches(f);
}

/** `podwire lab faults`: one block per fault. */
export function faultsText(): string {
  const w = Math.max(...FAULTS.map((f) => f.name.length));
  return FAULTS.map((f) => `${f.name.padEnd(w)}  ${f.summary}\n${' '.repeat(w)}  models: ${f.models}${f.dataplanes.length < ALL.length ? `\n${' '.repeat(w)}  dataplanes: ${f.dataplanes.join(', ')} only` : ''}${f.ipFamily ? `\n${' '.repeat(w)}  needs: --ip-family ${f.ipFamily}` : ''}`).join('\n');
}
