// The conformance run's data: probes, flows, what each flow was seen as at
// each capture point, and verdicts. Pure types and tiny helpers.

export type ProbeRole = 'pod' | 'host';

export interface Probe {
  name: string;
  node: string;
  role: ProbeRole;
  /** status.podIP (for a host probe: the node's address the API reports); in a family's view (families.ts), its address of that family. */
  ip: string;
  /** Every address: status.podIPs (a host probe: its node's InternalIPs), primary first; absent in bundles from before dual-stack. */
  ips?: string[];
  /** The port the probe's listener bound (TCP and UDP), chosen per run. */
  port?: number;
}

/** The devices a pod's packet to `dst` leaves its node by, as the node's routing decides (policy rules and ECMP included). */
export interface Uplink {
  src: string;
  dst: string;
  devices: { name: string; ifindex: number }[];
  /** Why the devices could not be known (then `devices` is empty). */
  reason?: string;
}

/** What a probe reported about itself before traffic (the agent's inventory). */
export interface ProbeInventory {
  /** IPv4 addresses on the pod's eth0 (pod probes) or on every interface but lo (host probes). */
  addresses: string[];
  /** MTU of the pod's eth0 (pod probes). */
  mtu?: number;
  routes: string;
  addrText: string;
  /** Host probes: where pod traffic leaves the node, per (pod IP, destination). */
  uplinks?: Uplink[];
  /** `ip rule` of both families (bundles before the node snapshot lack it). */
  rules?: string;
  /** The interfaces the probe sees (a host probe: the node's), with MTU and tunnel kind: names an SLL2 interface index. */
  links?: LinkInfo[];
  /** Host probes: the node's NAT and filter tables, best-effort (each command's output or why there is none). */
  firewall?: CommandSnapshot[];
}

export interface LinkInfo {
  name: string;
  ifindex: number;
  mtu?: number;
  /** Tunnel kind (vxlan, geneve, wireguard, …), when the link is one. */
  kind?: string;
}

/** One command of a node snapshot: its output, or why there is none. */
export interface CommandSnapshot {
  /** As run, e.g. `iptables-save -t nat`. */
  command: string;
  output?: string;
  /** Not installed, or its exit status and stderr. */
  error?: string;
  /** What was left out to keep the snapshot bounded (kube-proxy's per-Service chains, the size cap). */
  omitted?: string;
}

export type FlowKind = 'pod-pod-same' | 'pod-pod-cross' | 'host-pod-same' | 'host-pod-cross' | 'pod-node' | 'pod-external' | 'pod-pod-mtu';
export type Proto = 'tcp' | 'udp';

export interface Flow {
  id: string;
  token: string;
  kind: FlowKind;
  proto: Proto;
  from: string;
  /** Receiving probe, or undefined for the external target. */
  to?: string;
  dstIP: string;
  dstPort: number;
  /** pod-pod-mtu: one datagram as large as the route MTU to the destination, with DF (its size is what the sender reports). */
  mtu?: boolean;
}

/** What the sender itself reported for a flow: the source it bound to, errno, the reply. */
export interface SentFlow {
  id: string;
  /** Source address as sent, before any NAT ('-' when no route). */
  src: string;
  /** Source ports used (TCP: one per attempt). */
  sports: number[];
  /** 0 when the flow went through; else the errno of its failure. */
  errno: number;
  /** The errno's name (ECONNREFUSED, EMSGSIZE, …). */
  error?: string;
  reply: string;
  /** pod-pod-mtu: the IP packet's total length sent. */
  size?: number;
  /** The first attempt got no reply; the flow was sent once more. */
  retried?: boolean;
}

/** A packet as one capture point saw it. */
export interface Sighting {
  capture: string;
  src: string;
  dst: string;
  /** Index of the packet in that capture (for evidence). */
  packet: number;
  encapsulation: string[];
  /** Outer IP when encapsulated (uplink captures). */
  outerSrc?: string;
  outerDst?: string;
  /** Interface index for `-i any` captures (SLL2). */
  ifindex?: number;
  /** Sent by this host (SLL packet type 4), as opposed to received or forwarded in. */
  outgoing?: boolean;
  overhead?: number;
  /** The innermost IP packet's total length, DF bit and whether it is a fragment. */
  length?: number;
  df?: boolean;
  fragment?: boolean;
  /** TCP flags when the sighting is a TCP segment. */
  tcpFlags?: string;
  /** ICMP errors: type, code, and (fragmentation needed) the next-hop MTU. */
  icmpType?: number;
  icmpCode?: number;
  icmpMtu?: number;
}

export interface FlowObservation {
  flow: Flow;
  sent?: SentFlow;
  /** The forward packet at the receiver. */
  atReceiver: Sighting[];
  /** The forward packet leaving the sending node (its uplinks for this destination). */
  atUplink: Sighting[];
  /** Why the uplink of this flow is unknown (no uplink sightings can be expected). */
  uplinkUnknown?: string;
  /** The reply (token `<flow token>.from.<receiver>`) at the sender. */
  replyAtSender: Sighting[];
  /** The forward packet at the sender's own capture. */
  atSender: Sighting[];
  /** The answer the sender got, whoever sent it (token `<flow token>.from.<anyone>`), at the sender. */
  answerAtSender: Sighting[];
  /** ICMP errors quoting this flow's packets, at the sender (unreachable, fragmentation needed, time exceeded). */
  icmpAtSender: Sighting[];
  /** The connection's SYNs leaving the sending node, when no token got there. */
  handshakeAtUplink: Sighting[];
  /** TCP flows whose data never left: the connection attempt at the sender. */
  handshakeAtSender: Sighting[];
  /** TCP: the connection's SYN at the receiver, and the SYN-ACK it sent back. */
  synAtReceiver: Sighting[];
  synAckAtReceiver: Sighting[];
  /** TCP: the SYN-ACK back at the sender. */
  synAckAtSender: Sighting[];
  /** Flows of which nothing left: ARP requests for the destination at the sender (an address nothing holds). */
  arpAtSender: Sighting[];
}

/** The part of a node's dataplane a diagnosis blames. */
export type Subsystem = 'route' | 'masquerade' | 'forward-policy' | 'mtu' | 'ipam' | 'interface-address' | 'arp' | 'unknown';
export const SUBSYSTEMS: readonly Subsystem[] = ['route', 'masquerade', 'forward-policy', 'mtu', 'ipam', 'interface-address', 'arp', 'unknown'];

/** The likely cause of a failure: the node(s) and subsystem the evidence points at, in one line. */
export interface Diagnosis {
  subsystem: Subsystem;
  /** Nodes most likely at fault; several when each failing flow points at its own node; none for `unknown`. */
  nodes: string[];
  /** What the evidence shows, e.g. `172.18.0.11 is node-1's address (eth0): masquerade on node-1`. */
  text: string;
}

/** A check's diagnosis: the one that explains most of its failed flows, and how many. */
export interface CheckDiagnosis extends Diagnosis {
  /** Failed flows (or findings) it explains, of all failed ones. */
  explains: number;
  of: number;
}

export type Verdict = 'passed' | 'failed' | 'inconclusive' | 'skipped';
export type Profile = 'core' | 'strict' | 'extended';
export const PROFILES: readonly Profile[] = ['core', 'strict', 'extended'];

export interface FlowVerdict {
  flow: string;
  /** The IP family of the flow (set when the run covered more than one). */
  family?: 4 | 6;
  kind: FlowKind | 'api' | 'inventory';
  proto: Proto | '-';
  from: string;
  to: string;
  verdict: Verdict;
  expected: string;
  observed: string;
  /** Capture points whose packets decided. */
  captures: string[];
  /** The packet that decided: where it was captured, its index in that capture, and its addresses. */
  decisive?: DecisivePacket;
  /** The sender sent it twice (no reply to the first try). */
  retried?: boolean;
  /** A remark that does not change the verdict (e.g. an IP also held by a finished pod). */
  note?: string;
  /** Failed flows: the likely cause (src/judge/diagnose.ts). */
  diagnosis?: Diagnosis;
}

export interface DecisivePacket {
  capture: string;
  packet: number;
  src: string;
  dst: string;
  /** What the packet shows, in words (e.g. "as received", "sent, never received"). */
  role: string;
}

export const decisiveOf = (s: Sighting, role: string): DecisivePacket => ({ capture: s.capture, packet: s.packet, src: s.src, dst: s.dst, role });

export interface CheckResult {
  id: string;
  title: string;
  rule: string;
  profile: Profile;
  result: Verdict;
  reason: string;
  flows: FlowVerdict[];
  evidence?: string;
  /** Failed checks: the likely cause (node and subsystem). */
  diagnosis?: CheckDiagnosis;
  /** Runs covering more than one family: the check's verdict in each (the check fails if it fails in either). */
  families?: FamilyResult[];
}

/** A check's verdict in one IP family. */
export interface FamilyResult {
  family: 4 | 6;
  result: Verdict;
  reason: string;
  diagnosis?: CheckDiagnosis;
}

/** The hostNetwork probe of a node: the node's own view (uplink, addresses). */
export function hostProbe(probes: readonly Probe[], node: string): Probe | undefined {
  return probes.find((p) => p.node === node && p.role === 'host');
}

export const replyToken = (token: string, receiver: string) => `${token}.from.${receiver}`;

/** Combines flow verdicts: any failure fails; otherwise any inconclusive is inconclusive; nothing judged is skipped. */
export function combine(flows: readonly FlowVerdict[]): Verdict {
  if (flows.some((f) => f.verdict === 'failed')) return 'failed';
  if (flows.some((f) => f.verdict === 'inconclusive')) return 'inconclusive';
  if (flows.some((f) => f.verdict === 'passed')) return 'passed';
  return 'skipped';
}
