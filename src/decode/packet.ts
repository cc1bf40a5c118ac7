// Decodes one captured frame into layers, outer to inner: link (Ethernet with
// 802.1Q/QinQ tags, Linux cooked v1/v2, raw IP), IPv4/IPv6 (options,
// extension headers, fragments), TCP/UDP/ICMP/ICMPv6 (errors decode the
// header they quote), ARP, and encapsulations down to the inner packet
// (VXLAN, Geneve, IP-in-IP, IPv6-in-IP, GRE); WireGuard and ESP are
// recognised as encrypted. Pure; never throws: damage ends decoding with an
// issue that names the byte offset.
import type {
  DecodeIssue, DecodedPacket, Encapsulation, Gre, Icmp, Ipv4, Ipv6, Layer,
} from './layers.js';
import { findToken } from './token.js';
import type { CaptureRecord } from './capture-file.js';

export const LINKTYPE = { NULL: 0, ETHERNET: 1, RAW: 101, LINUX_SLL: 113, IPV4: 228, IPV6: 229, LINUX_SLL2: 276 } as const;

export interface DecodeOptions {
  /** UDP ports decoded as VXLAN (default 4789 and flannel's 8472). */
  vxlanPorts?: readonly number[];
  genevePorts?: readonly number[];
  wireguardPorts?: readonly number[];
}

export const DEFAULT_VXLAN_PORTS = [4789, 8472] as const;
const MAX_DEPTH = 16;
const GENEVE_PORTS = [6081] as const;
const WIREGUARD_PORTS = [51820] as const;
const EMPTY = Buffer.alloc(0);

const ETH = { IPV4: 0x0800, ARP: 0x0806, IPV6: 0x86dd, VLAN: 0x8100, QINQ: 0x88a8, QINQ_OLD: 0x9100, TEB: 0x6558 } as const;

interface Ctx {
  d: Buffer;
  layers: Layer[];
  encaps: Encapsulation[];
  truncated: boolean;
  snapped: boolean;
  fragment: boolean;
  issue?: DecodeIssue;
  payloadStart: number;
  payloadEnd: number;
  depth: number;
  vxlan: readonly number[];
  geneve: readonly number[];
  wireguard: readonly number[];
}

function encap(c: Ctx, e: Encapsulation): void {
  if (c.encaps === NO_ENCAPS) c.encaps = [];
  c.encaps.push(e);
}

function stop(c: Ctx, offset: number, layer: string, message: string): void {
  c.issue ??= { offset, layer, message };
}

/** Ends decoding when `need` bytes are not there; distinguishes snaplen truncation from damage. */
function short(c: Ctx, at: number, need: number, end: number, layer: string): boolean {
  if (at + need <= end) return false;
  if (end >= c.d.length) c.truncated = true;
  stop(c, at, layer, `${layer} header needs ${need} bytes, ${Math.max(0, end - at)} ${end >= c.d.length ? 'captured' : 'available'}`);
  return true;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Big-endian reads without Buffer's argument checks (callers have checked bounds): the decoder's hot path. */
const u16 = (d: Buffer, at: number) => (d[at]! << 8) | d[at + 1]!;
const u32 = (d: Buffer, at: number) => ((d[at]! << 24) | (d[at + 1]! << 16) | (d[at + 2]! << 8) | d[at + 3]!) >>> 0;
const u24 = (d: Buffer, at: number) => (d[at]! << 16) | (d[at + 1]! << 8) | d[at + 2]!;

// A capture holds few distinct addresses: their text forms are cached
// (bounded), which saves most string building and garbage in the hot path.
const CACHE_LIMIT = 65_536;
const macCache = new Map<number, string>();
const ipv4Cache = new Map<number, string>();

function remember(cache: Map<number, string>, key: number, v: string): string {
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(key, v);
  return v;
}

export function mac(d: Buffer, at: number): string {
  const key = u16(d, at) * 0x1_0000_0000 + u32(d, at + 2);
  return macCache.get(key) ?? remember(macCache, key,
    HEX[d[at]!] + ':' + HEX[d[at + 1]!] + ':' + HEX[d[at + 2]!] + ':' + HEX[d[at + 3]!] + ':' + HEX[d[at + 4]!] + ':' + HEX[d[at + 5]!]);
}

export function ipv4(d: Buffer, at: number): string {
  const key = u32(d, at);
  return ipv4Cache.get(key) ?? remember(ipv4Cache, key, `${d[at]}.${d[at + 1]}.${d[at + 2]}.${d[at + 3]}`);
}

/** RFC 5952 text form: lowercase, no leading zeros, the first longest run of 2+ zero groups as `::`. */
export function ipv6(d: Buffer, at: number): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(u16(d, at + 2 * i));
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(':');
  if (bestAt < 0) return hex(g);
  return `${hex(g.slice(0, bestAt))}::${hex(g.slice(bestAt + bestLen))}`;
}

// ---- link layers ----

function ethernet(c: Ctx, at: number, end: number): void {
  if (short(c, at, 14, end, 'ethernet')) return;
  const d = c.d;
  let type = u16(d, at + 12);
  c.layers.push({ kind: 'eth', dst: mac(d, at), src: mac(d, at + 6), type });
  let p = at + 14;
  while (type === ETH.VLAN || type === ETH.QINQ || type === ETH.QINQ_OLD) {
    if (short(c, p, 4, end, 'vlan')) return;
    const tci = u16(d, p);
    const tpid = type;
    type = u16(d, p + 2);
    c.layers.push({ kind: 'vlan', tpid, id: tci & 0x0fff, pcp: tci >> 13, type });
    p += 4;
  }
  ethertype(c, type, p, end);
}

function ethertype(c: Ctx, type: number, at: number, end: number): void {
  switch (type) {
    case ETH.IPV4:
      return ip4(c, at, end, false);
    case ETH.IPV6:
      return ip6(c, at, end, false);
    case ETH.ARP:
      return arp(c, at, end);
    case ETH.TEB:
      return ethernet(c, at, end);
    default:
      return undefined; // not decoded: other protocols carry no IP header
  }
}

function sll(c: Ctx, at: number, end: number): void {
  if (short(c, at, 16, end, 'sll')) return;
  const d = c.d;
  const protocol = u16(d, at + 14);
  c.layers.push({ kind: 'sll', version: 1, packetType: u16(d, at), arphrd: u16(d, at + 2), protocol });
  ethertype(c, protocol, at + 16, end);
}

function sll2(c: Ctx, at: number, end: number): void {
  if (short(c, at, 20, end, 'sll2')) return;
  const d = c.d;
  const protocol = u16(d, at);
  c.layers.push({ kind: 'sll', version: 2, protocol, ifindex: u32(d, at + 4), arphrd: u16(d, at + 8), packetType: d[at + 10]! });
  ethertype(c, protocol, at + 20, end);
}

function rawIp(c: Ctx, at: number, end: number): void {
  if (short(c, at, 1, end, 'ip')) return;
  const v = c.d[at]! >> 4;
  if (v === 4) return ip4(c, at, end, false);
  if (v === 6) return ip6(c, at, end, false);
  stop(c, at, 'ip', `raw IP frame with IP version ${v}`);
}

function arp(c: Ctx, at: number, end: number): void {
  if (short(c, at, 28, end, 'arp')) return;
  const d = c.d;
  if (u16(d, at) !== 1 || u16(d, at + 2) !== ETH.IPV4 || d[at + 4] !== 6 || d[at + 5] !== 4) {
    stop(c, at, 'arp', 'ARP for other than Ethernet/IPv4');
    return;
  }
  c.layers.push({ kind: 'arp', op: u16(d, at + 6), senderMAC: mac(d, at + 8), senderIP: ipv4(d, at + 14), targetMAC: mac(d, at + 18), targetIP: ipv4(d, at + 24) });
}

// ---- IP ----

function ip4(c: Ctx, at: number, end: number, quoted: boolean): void {
  if (++c.depth > MAX_DEPTH) return stop(c, at, 'ipv4', 'too many nested headers');
  if (short(c, at, 20, end, 'ipv4')) return;
  const d = c.d;
  const vihl = d[at]!;
  if (vihl >> 4 !== 4) return stop(c, at, 'ipv4', `IP version ${vihl >> 4} in an IPv4 header`);
  const ihl = (vihl & 0x0f) * 4;
  if (ihl < 20) return stop(c, at, 'ipv4', `IPv4 header length ${ihl} is below 20`);
  if (short(c, at, ihl, end, 'ipv4')) return;
  const totalLength = u16(d, at + 2);
  const flagsFrag = u16(d, at + 6);
  const fragmentOffset = (flagsFrag & 0x1fff) * 8;
  const mf = (flagsFrag & 0x2000) !== 0;
  const protocol = d[at + 9]!;
  const layer: Ipv4 = {
    kind: 'ipv4', src: ipv4(d, at + 12), dst: ipv4(d, at + 16), protocol, ttl: d[at + 8]!, id: u16(d, at + 4),
    ihl, totalLength, df: (flagsFrag & 0x4000) !== 0, mf, fragmentOffset, hasOptions: ihl > 20, fragment: mf || fragmentOffset > 0,
  };
  if (quoted) layer.quoted = true;
  c.layers.push(layer);
  let payloadEnd = end;
  if (!quoted) {
    // Ethernet pads short frames: the IP total length, not the frame, ends the packet.
    if (totalLength < ihl) return stop(c, at + 2, 'ipv4', `total length ${totalLength} is shorter than the header (${ihl})`);
    if (at + totalLength <= end) payloadEnd = at + totalLength;
    else if (end < c.d.length || !c.snapped) {
      stop(c, at + 2, 'ipv4', `total length ${totalLength} exceeds the ${end - at} bytes present`);
    }
  }
  if (fragmentOffset > 0) {
    c.fragment = true;
    return;
  }
  ipPayload(c, protocol, at + ihl, payloadEnd, quoted, 4);
}

const V6_EXT = new Set([0, 43, 44, 60, 51, 135, 139, 140]);

function ip6(c: Ctx, at: number, end: number, quoted: boolean): void {
  if (++c.depth > MAX_DEPTH) return stop(c, at, 'ipv6', 'too many nested headers');
  if (short(c, at, 40, end, 'ipv6')) return;
  const d = c.d;
  const first = u32(d, at);
  if (first >>> 28 !== 6) return stop(c, at, 'ipv6', `IP version ${first >>> 28} in an IPv6 header`);
  const payloadLength = u16(d, at + 4);
  const nextHeader = d[at + 6]!;
  const layer: Ipv6 = {
    kind: 'ipv6', src: ipv6(d, at + 8), dst: ipv6(d, at + 24), nextHeader, protocol: nextHeader, hopLimit: d[at + 7]!,
    flowLabel: first & 0xfffff, payloadLength, extensions: [],
  };
  if (quoted) layer.quoted = true;
  c.layers.push(layer);
  let payloadEnd = end;
  if (!quoted) {
    if (at + 40 + payloadLength <= end) payloadEnd = at + 40 + payloadLength;
    else if (end < c.d.length || !c.snapped) stop(c, at + 4, 'ipv6', `payload length ${payloadLength} exceeds the ${end - at - 40} bytes present`);
  }
  let nh = nextHeader;
  let p = at + 40;
  while (V6_EXT.has(nh)) {
    if (short(c, p, 8, payloadEnd, 'ipv6-ext')) return;
    layer.extensions.push(nh);
    const next = d[p]!;
    let len: number;
    if (nh === 44) {
      const offFlags = u16(d, p + 2);
      layer.fragment = { offset: offFlags & 0xfff8, more: (offFlags & 1) === 1, id: u32(d, p + 4) };
      len = 8;
    } else if (nh === 51) {
      len = (d[p + 1]! + 2) * 4;
    } else {
      len = (d[p + 1]! + 1) * 8;
    }
    if (short(c, p, len, payloadEnd, 'ipv6-ext')) return;
    nh = next;
    p += len;
  }
  layer.protocol = nh;
  if (layer.fragment && layer.fragment.offset > 0) {
    c.fragment = true;
    return;
  }
  ipPayload(c, nh, p, payloadEnd, quoted, 6);
}

function ipPayload(c: Ctx, protocol: number, at: number, end: number, quoted: boolean, family: 4 | 6): void {
  switch (protocol) {
    case 6:
      return tcp(c, at, end, quoted);
    case 17:
      return udp(c, at, end, quoted);
    case 1:
      return icmp(c, at, end, quoted, 'icmp');
    case 58:
      return icmp(c, at, end, quoted, 'icmpv6');
    case 4:
      if (quoted) return;
      encap(c, family === 4 ? 'ipip' : 'ip6ip');
      return ip4(c, at, end, false);
    case 41:
      if (quoted) return;
      encap(c, family === 4 ? 'ipip' : 'ip6ip');
      return ip6(c, at, end, false);
    case 47:
      return quoted ? undefined : gre(c, at, end);
    case 50:
      return quoted ? undefined : esp(c, at, end);
    default:
      return undefined;
  }
}

// ---- transport ----

const TCP_FLAGS = 'FSRPAUEC';

function tcp(c: Ctx, at: number, end: number, quoted: boolean): void {
  // A quotation holds at least the first 8 bytes: ports and sequence number.
  if (short(c, at, quoted ? 8 : 20, end, 'tcp')) return;
  const d = c.d;
  const srcPort = u16(d, at);
  const dstPort = u16(d, at + 2);
  if (quoted) {
    c.layers.push({ kind: 'tcp', srcPort, dstPort, seq: u32(d, at + 4), ack: 0, flags: '', payloadLength: 0, quoted: true });
    return;
  }
  const off = (d[at + 12]! >> 4) * 4;
  const fl = d[at + 13]!;
  let flags = '';
  for (let i = 0; i < 8; i++) if (fl & (1 << i)) flags += TCP_FLAGS[i];
  c.layers.push({ kind: 'tcp', srcPort, dstPort, seq: u32(d, at + 4), ack: u32(d, at + 8), flags, payloadLength: Math.max(0, end - at - off) });
  if (off < 20) return stop(c, at + 12, 'tcp', `TCP data offset ${off} is below 20`);
  if (short(c, at, off, end, 'tcp')) return;
  c.payloadStart = at + off;
  c.payloadEnd = end;
}

function udp(c: Ctx, at: number, end: number, quoted: boolean): void {
  if (short(c, at, 8, end, 'udp')) return;
  const d = c.d;
  const srcPort = u16(d, at);
  const dstPort = u16(d, at + 2);
  const length = u16(d, at + 4);
  const payloadEnd = length >= 8 && at + length <= end ? at + length : end;
  c.layers.push(quoted
    ? { kind: 'udp', srcPort, dstPort, length, payloadLength: 0, quoted: true }
    : { kind: 'udp', srcPort, dstPort, length, payloadLength: payloadEnd - at - 8 });
  if (quoted) return;
  const p = at + 8;
  c.payloadStart = p;
  c.payloadEnd = payloadEnd;
  if (c.vxlan.includes(dstPort)) return vxlan(c, p, payloadEnd);
  if (c.geneve.includes(dstPort)) return geneve(c, p, payloadEnd);
  if (c.wireguard.includes(dstPort) || c.wireguard.includes(srcPort)) return wireguard(c, p, payloadEnd);
  if ((dstPort === 4500 || srcPort === 4500) && payloadEnd - p >= 8 && u32(d, p) !== 0) return esp(c, p, payloadEnd);
}

function icmp(c: Ctx, at: number, end: number, quoted: boolean, kind: 'icmp' | 'icmpv6'): void {
  if (short(c, at, quoted ? 4 : 8, end, kind)) return;
  const d = c.d;
  const type = d[at]!;
  const code = d[at + 1]!;
  const error = kind === 'icmp' ? [3, 4, 5, 11, 12].includes(type) : type >= 1 && type <= 4;
  const layer: Icmp = { kind, type, code, error };
  if (kind === 'icmp' && type === 3 && code === 4) layer.mtu = u16(d, at + 6);
  if (kind === 'icmpv6' && type === 2) layer.mtu = u32(d, at + 4);
  if (quoted) layer.quoted = true;
  c.layers.push(layer);
  if (quoted) return;
  if (error) {
    // The quotation: the offending packet's IP header and the start of its payload.
    if (end - (at + 8) > 0) (kind === 'icmp' ? ip4 : ip6)(c, at + 8, end, true);
    return;
  }
  c.payloadStart = at + 8;
  c.payloadEnd = end;
}

// ---- encapsulations ----

function vxlan(c: Ctx, at: number, end: number): void {
  if (short(c, at, 8, end, 'vxlan')) return;
  const d = c.d;
  c.layers.push({ kind: 'vxlan', flags: d[at]!, vni: u24(d, at + 4) });
  encap(c, 'vxlan');
  c.payloadStart = c.payloadEnd = 0;
  ethernet(c, at + 8, end);
}

function geneve(c: Ctx, at: number, end: number): void {
  if (short(c, at, 8, end, 'geneve')) return;
  const d = c.d;
  const optionsLength = (d[at]! & 0x3f) * 4;
  const protocol = u16(d, at + 2);
  c.layers.push({ kind: 'geneve', vni: u24(d, at + 4), protocol, optionsLength, oam: (d[at + 1]! & 0x80) !== 0, critical: (d[at + 1]! & 0x40) !== 0 });
  encap(c, 'geneve');
  c.payloadStart = c.payloadEnd = 0;
  if (short(c, at, 8 + optionsLength, end, 'geneve')) return;
  ethertype(c, protocol, at + 8 + optionsLength, end);
}

function gre(c: Ctx, at: number, end: number): void {
  if (short(c, at, 4, end, 'gre')) return;
  const d = c.d;
  const flags = u16(d, at);
  const protocol = u16(d, at + 2);
  const hasC = (flags & 0x8000) !== 0;
  const hasK = (flags & 0x2000) !== 0;
  const hasS = (flags & 0x1000) !== 0;
  const len = 4 + (hasC ? 4 : 0) + (hasK ? 4 : 0) + (hasS ? 4 : 0);
  if (short(c, at, len, end, 'gre')) return;
  let p = at + 4 + (hasC ? 4 : 0);
  const layer: Gre = { kind: 'gre', protocol, checksum: hasC };
  if (hasK) {
    layer.key = u32(d, p);
    p += 4;
  }
  if (hasS) layer.sequence = u32(d, p);
  c.layers.push(layer);
  encap(c, 'gre');
  if ((flags & 0x7) !== 0) return; // version 1 (PPTP): not an IP encapsulation we decode
  ethertype(c, protocol, at + len, end);
}

function wireguard(c: Ctx, at: number, end: number): void {
  const d = c.d;
  // Message types 1-4 followed by three reserved zero bytes.
  if (end - at < 4 || d[at]! < 1 || d[at]! > 4 || d[at + 1] !== 0 || d[at + 2] !== 0 || d[at + 3] !== 0) return;
  c.layers.push({ kind: 'wireguard', messageType: d[at]! });
  encap(c, 'wireguard');
  c.payloadStart = c.payloadEnd = 0;
}

function esp(c: Ctx, at: number, end: number): void {
  if (short(c, at, 8, end, 'esp')) return;
  c.layers.push({ kind: 'esp', spi: u32(c.d, at), sequence: u32(c.d, at + 4) });
  encap(c, 'esp');
  c.payloadStart = c.payloadEnd = 0;
}

// ---- entry ----

/** A frame to decode: a capture record, wherever in the file it came from. */
export type RawFrame = Omit<CaptureRecord, 'offset'>;

// One context, reset per frame: decoding is synchronous, and not allocating
// it per packet is measurable at a million packets per second.
const ctx: Ctx = {
  d: Buffer.alloc(0), layers: [], encaps: [], truncated: false, snapped: false, fragment: false,
  payloadStart: 0, payloadEnd: 0, depth: 0, vxlan: DEFAULT_VXLAN_PORTS, geneve: [6081], wireguard: [51820],
};
const NO_ENCAPS: Encapsulation[] = [];

export function decodeFrame(frame: RawFrame, opts: DecodeOptions = {}): DecodedPacket {
  const c = ctx;
  c.d = frame.data;
  c.layers = [];
  c.encaps = NO_ENCAPS;
  c.truncated = c.snapped = frame.caplen < frame.origLen;
  c.fragment = false;
  c.issue = undefined;
  c.payloadStart = c.payloadEnd = c.depth = 0;
  c.vxlan = opts.vxlanPorts ?? DEFAULT_VXLAN_PORTS;
  c.geneve = opts.genevePorts ?? GENEVE_PORTS;
  c.wireguard = opts.wireguardPorts ?? WIREGUARD_PORTS;
  const end = frame.data.length;
  switch (frame.linktype) {
    case LINKTYPE.ETHERNET:
      ethernet(c, 0, end);
      break;
    case LINKTYPE.RAW:
    case 12:
    case 14:
      rawIp(c, 0, end);
      break;
    case LINKTYPE.IPV4:
      ip4(c, 0, end, false);
      break;
    case LINKTYPE.IPV6:
      ip6(c, 0, end, false);
      break;
    case LINKTYPE.LINUX_SLL:
      sll(c, 0, end);
      break;
    case LINKTYPE.LINUX_SLL2:
      sll2(c, 0, end);
      break;
    case LINKTYPE.NULL:
      if (!short(c, 0, 4, end, 'null')) {
        const fam = frame.data.readUInt32LE(0);
        if (fam === 2) ip4(c, 4, end, false);
        else if (fam === 24 || fam === 28 || fam === 30) ip6(c, 4, end, false);
      }
      break;
    default:
      stop(c, 0, 'link', `link type ${frame.linktype} is not supported`);
  }
  const packet: DecodedPacket = {
    index: frame.index, tsSec: frame.tsSec, tsNsec: frame.tsNsec, caplen: frame.caplen, origLen: frame.origLen, linktype: frame.linktype,
    layers: c.layers, encapsulation: c.encaps === NO_ENCAPS ? [] : c.encaps, truncated: c.truncated, fragment: c.fragment,
    token: c.payloadEnd > c.payloadStart ? findToken(c.d, c.payloadStart, c.payloadEnd) : undefined,
    issue: c.issue,
  };
  c.d = EMPTY; // do not keep the caller's buffer alive
  return packet;
}
