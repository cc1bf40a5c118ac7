// Renderings of a decoded packet: one human line, or one JSON line (the
// documented `podwire decode --json` schema, see README). Pure.
import { icmpMessage } from './icmp.js';
import type { DecodedPacket, Layer } from './layers.js';

/** What the reader knows beyond the packet: the capturing host's interface names by index (its `ip link`). */
export interface FormatContext {
  ifname?: (ifindex: number) => string | undefined;
}

export function formatTime(sec: number, nsec: number): string {
  return `${sec}.${String(nsec).padStart(9, '0')}`;
}

function layerText(l: Layer, ctx: FormatContext): string {
  switch (l.kind) {
    case 'eth':
      return `ETH ${l.src} > ${l.dst}`;
    case 'vlan':
      return `VLAN ${l.id}${l.tpid === 0x8100 ? '' : ` (0x${l.tpid.toString(16)})`}`;
    case 'sll':
      if (l.version === 1) return 'SLL';
      {
        const name = l.ifindex !== undefined ? ctx.ifname?.(l.ifindex) : undefined;
        return name ? `SLL2 ${name} (if ${l.ifindex})` : `SLL2 if ${l.ifindex}`;
      }
    case 'arp':
      return l.op === 1 ? `ARP who-has ${l.targetIP} tell ${l.senderIP}` : `ARP ${l.senderIP} is-at ${l.senderMAC}`;
    case 'ipv4': {
      const frag = l.fragment ? ` frag id ${l.id} off ${l.fragmentOffset}${l.mf ? ' +' : ''}` : '';
      return `IP ${l.src} > ${l.dst} proto ${l.protocol}${l.hasOptions ? ' opts' : ''}${frag}`;
    }
    case 'ipv6': {
      const ext = l.extensions.length ? ` ext ${l.extensions.join(',')}` : '';
      const frag = l.fragment ? ` frag id ${l.fragment.id} off ${l.fragment.offset}${l.fragment.more ? ' +' : ''}` : '';
      return `IP6 ${l.src} > ${l.dst} nh ${l.protocol}${ext}${frag}`;
    }
    case 'tcp':
      return `TCP ${l.srcPort} > ${l.dstPort}${l.quoted ? '' : ` [${l.flags || '.'}] len ${l.payloadLength}`}`;
    case 'udp':
      return `UDP ${l.srcPort} > ${l.dstPort}${l.quoted ? '' : ` len ${l.payloadLength}`}`;
    case 'icmp':
    case 'icmpv6':
      return `${l.kind === 'icmp' ? 'ICMP' : 'ICMP6'} type ${l.type} code ${l.code} (${icmpMessage(l.kind === 'icmpv6', l.type, l.code)})${l.mtu !== undefined ? ` mtu ${l.mtu}` : ''}`;
    case 'vxlan':
      return `VXLAN vni ${l.vni}`;
    case 'geneve':
      return `GENEVE vni ${l.vni}${l.optionsLength ? ` opts ${l.optionsLength}B` : ''}`;
    case 'gre':
      return `GRE 0x${l.protocol.toString(16)}${l.key !== undefined ? ` key ${l.key}` : ''}`;
    case 'wireguard':
      return `WIREGUARD type ${l.messageType} (encrypted)`;
    case 'esp':
      return `ESP spi 0x${(l.spi ?? 0).toString(16)} (encrypted)`;
  }
}

/** `#index time LAYER / LAYER / … [quoting …] token … [truncated] [error …]` */
export function formatPacket(p: DecodedPacket, ctx: FormatContext = {}): string {
  const outer: string[] = [];
  const quoted: string[] = [];
  for (const l of p.layers) ('quoted' in l && l.quoted ? quoted : outer).push(layerText(l, ctx));
  let s = `#${p.index} ${formatTime(p.tsSec, p.tsNsec)} ${outer.join(' / ') || '(no layers decoded)'}`;
  if (quoted.length) s += ` quoting [${quoted.join(' / ')}]`;
  if (p.token) s += ` token ${p.token}`;
  if (p.caplen < p.origLen) s += ` [snaplen ${p.caplen}/${p.origLen}]`;
  if (p.issue) s += ` [${p.issue.layer} at byte ${p.issue.offset}: ${p.issue.message}]`;
  return s;
}

export interface PacketJson {
  index: number;
  time: string;
  caplen: number;
  origLen: number;
  linktype: number;
  layers: Layer[];
  encapsulation: string[];
  token: string | null;
  truncated: boolean;
  fragment: boolean;
  issue: { offset: number; layer: string; message: string } | null;
}

export function packetJson(p: DecodedPacket): PacketJson {
  return {
    index: p.index,
    time: formatTime(p.tsSec, p.tsNsec),
    caplen: p.caplen,
    origLen: p.origLen,
    linktype: p.linktype,
    layers: p.layers,
    encapsulation: p.encapsulation,
    token: p.token ?? null,
    truncated: p.truncated,
    fragment: p.fragment,
    issue: p.issue ?? null,
  };
}

/** The line `podwire decode` prints for a damaged capture file. */
export function formatFileError(file: string, error: { offset: number; message: string }, packets: number): string {
  return `podwire: ${file}: ${error.message} (at byte ${error.offset}, after ${packets} packet(s))`;
}
