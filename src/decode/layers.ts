// The decoded packet model: a list of layers, outer to inner. A rule asks for
// "the innermost IP header" or "the outer UDP port" with the helpers below.
// Layers inside an ICMP error's quotation are marked `quoted`.

export interface Eth { kind: 'eth'; src: string; dst: string; type: number }
export interface Vlan { kind: 'vlan'; tpid: number; id: number; pcp: number; type: number }
export interface Sll { kind: 'sll'; version: 1 | 2; packetType: number; protocol: number; ifindex?: number; arphrd: number }
export interface Arp { kind: 'arp'; op: number; senderMAC: string; senderIP: string; targetMAC: string; targetIP: string }
export interface Ipv4 {
  kind: 'ipv4'; src: string; dst: string; protocol: number; ttl: number; id: number; ihl: number; totalLength: number;
  df: boolean; mf: boolean; fragmentOffset: number; hasOptions: boolean; fragment: boolean; quoted?: boolean;
}
export interface Ipv6 {
  kind: 'ipv6'; src: string; dst: string; nextHeader: number; protocol: number; hopLimit: number; flowLabel: number;
  payloadLength: number; extensions: number[]; fragment?: { offset: number; more: boolean; id: number }; quoted?: boolean;
}
export interface Tcp { kind: 'tcp'; srcPort: number; dstPort: number; seq: number; ack: number; flags: string; payloadLength: number; quoted?: boolean }
export interface Udp { kind: 'udp'; srcPort: number; dstPort: number; length: number; payloadLength: number; quoted?: boolean }
export interface Icmp { kind: 'icmp' | 'icmpv6'; type: number; code: number; error: boolean; mtu?: number; quoted?: boolean }
export interface Vxlan { kind: 'vxlan'; vni: number; flags: number }
export interface Geneve { kind: 'geneve'; vni: number; protocol: number; optionsLength: number; oam: boolean; critical: boolean }
export interface Gre { kind: 'gre'; protocol: number; key?: number; sequence?: number; checksum: boolean }
export interface Encrypted { kind: 'wireguard' | 'esp'; messageType?: number; spi?: number; sequence?: number }

export type Layer = Eth | Vlan | Sll | Arp | Ipv4 | Ipv6 | Tcp | Udp | Icmp | Vxlan | Geneve | Gre | Encrypted;
export type LayerKind = Layer['kind'];
export type IpLayer = Ipv4 | Ipv6;
export type Encapsulation = 'vxlan' | 'geneve' | 'ipip' | 'ip6ip' | 'gre' | 'wireguard' | 'esp';

export interface DecodeIssue {
  /** Byte offset in the packet where decoding stopped. */
  offset: number;
  layer: string;
  message: string;
}

export interface DecodedPacket {
  index: number;
  /** Capture time: seconds since the epoch and nanoseconds within the second. */
  tsSec: number;
  tsNsec: number;
  caplen: number;
  origLen: number;
  linktype: number;
  layers: Layer[];
  /** Encapsulations crossed, outer to inner. */
  encapsulation: Encapsulation[];
  token: string | undefined;
  /** Captured length < original length (snaplen), or a header ran past the captured bytes. */
  truncated: boolean;
  /** Fragment that is not the first: transport headers are not in it. */
  fragment: boolean;
  issue: DecodeIssue | undefined;
}

const isIp = (l: Layer): l is IpLayer => l.kind === 'ipv4' || l.kind === 'ipv6';

/** The IP header of the packet as sent by its innermost sender (ignores ICMP quotations). */
export function innermostIp(p: DecodedPacket): IpLayer | undefined {
  for (let i = p.layers.length - 1; i >= 0; i--) {
    const l = p.layers[i]!;
    if (isIp(l) && !l.quoted) return l;
  }
  return undefined;
}

export function outermostIp(p: DecodedPacket): IpLayer | undefined {
  return p.layers.find(isIp);
}

/** The first layer of a kind (outermost). */
export function outer<K extends LayerKind>(p: DecodedPacket, kind: K): Extract<Layer, { kind: K }> | undefined {
  return p.layers.find((l): l is Extract<Layer, { kind: K }> => l.kind === kind);
}

/** The last non-quoted layer of a kind (innermost). */
export function inner<K extends LayerKind>(p: DecodedPacket, kind: K): Extract<Layer, { kind: K }> | undefined {
  for (let i = p.layers.length - 1; i >= 0; i--) {
    const l = p.layers[i]!;
    if (l.kind === kind && !('quoted' in l && l.quoted)) return l as Extract<Layer, { kind: K }>;
  }
  return undefined;
}
