// The conformance run's data: probes, flows, what each flow was seen as at
// each capture point, and verdicts. Pure types and tiny helpers.

export type ProbeRole = 'pod' | 'host';

export interface Probe {
  name: string;
  node: string;
  role: ProbeRole;
  /** status.podIP (for a host probe: the node's address the API reports). */
  ip: string;
}

/** What a probe reported about itself before traffic (inventory exec). */
export interface ProbeInventory {
  /** IPv4 addresses on the pod's eth0 (pod probes) or on every interface (host probes). */
  addresses: string[];
  /** Interface of the default route (host probes: the node uplink). */
  uplink?: string;
  uplinkIfindex?: number;
  /** MTU of the pod's eth0 (pod probes). */
  mtu?: number;
  routes: string;
  addrText: string;
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
  /** pod-pod-mtu: the IP packet's total length (the sender's MTU), sent with DF. */
  size?: number;
}

/** What the sender itself reported for a flow: the source it bound to, the exit code, the reply. */
export interface SentFlow {
  id: string;
  src: string;
  exitCode: number;
  reply: string;
  /** The first attempt got no reply; the flow was sent once more. */
  retried?: boolean;
}

/** A token packet as one capture point saw it. */
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
  overhead?: number;
  /** The innermost IP packet's total length and DF bit. */
  length?: number;
  df?: boolean;
  /** TCP flags when the sighting is a TCP segment. */
  tcpFlags?: string;
  /** An ICMP "fragmentation needed": the next-hop MTU it names. */
  icmpMtu?: number;
}

export interface FlowObservation {
  flow: Flow;
  sent?: SentFlow;
  /** The forward packet at the receiver. */
  atReceiver: Sighting[];
  /** The forward packet on the sending node's uplink. */
  atUplink: Sighting[];
  /** The reply (token `<flow token>.from.<receiver>`) at the sender. */
  replyAtSender: Sighting[];
  /** The forward packet at the sender's own capture. */
  atSender: Sighting[];
  /** The answer the sender got, whoever sent it (token `<flow token>.from.<anyone>`), at the sender. */
  answerAtSender: Sighting[];
  /** ICMP "fragmentation needed" errors quoting this flow, at the sender (pod-pod-mtu). */
  fragNeededAtSender: Sighting[];
  /** pod-external: token-less packets of the connection (its SYN) on the uplink, when the token never got there. */
  handshakeAtUplink: Sighting[];
  /** TCP flows whose data never left: the connection attempt at the sender. */
  handshakeAtSender: Sighting[];
  /** Flows of which nothing left: ARP requests for the destination at the sender (an address nothing holds). */
  arpAtSender: Sighting[];
}

export type Verdict = 'passed' | 'failed' | 'inconclusive' | 'skipped';

export interface FlowVerdict {
  flow: string;
  kind: FlowKind;
  proto: Proto;
  from: string;
  to: string;
  verdict: Verdict;
  expected: string;
  observed: string;
  /** Capture points whose packets decided. */
  captures: string[];
  /** The packet that decided: where it was captured, its index in that capture, and its addresses. */
  decisive?: DecisivePacket;
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
  profile: 'core' | 'extended';
  result: Verdict;
  reason: string;
  flows: FlowVerdict[];
  evidence?: string;
}

/** The hostNetwork probe of a node: the node's own view (uplink, addresses). */
export function hostProbe(probes: readonly Probe[], node: string): Probe | undefined {
  return probes.find((p) => p.node === node && p.role === 'host');
}

export const replyToken = (token: string, receiver: string) => `${token}.from.${receiver}`;

/** Combines flow verdicts: any failure fails; otherwise any inconclusive is inconclusive; nothing judged is inconclusive. */
export function combine(flows: FlowVerdict[]): Verdict {
  if (flows.some((f) => f.verdict === 'failed')) return 'failed';
  if (flows.length === 0 || flows.some((f) => f.verdict === 'inconclusive')) return 'inconclusive';
  return 'passed';
}
