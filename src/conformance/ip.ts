// Address arithmetic for both families, by ipaddr.js (a well-kept parser:
// IPv6 zero compression, IPv4-mapped forms and CIDR masks are easy to get
// subtly wrong by hand). Pure.
import ipaddr from 'ipaddr.js';

export type Family = 4 | 6;

/** 4 or 6 for a valid address, undefined otherwise. */
export function familyOf(ip: string): Family | undefined {
  if (!ipaddr.isValid(ip)) return undefined;
  return ipaddr.parse(ip).kind() === 'ipv4' ? 4 : 6;
}

interface Cidr {
  family: Family;
  /** The network address (bits beyond the prefix cleared) and the prefix length. */
  net: ipaddr.IPv4 | ipaddr.IPv6;
  bits: number;
}

export function parseCidr(cidr: string): Cidr | undefined {
  try {
    const [addr, bits] = ipaddr.parseCIDR(cidr);
    const net = addr.kind() === 'ipv4' ? ipaddr.IPv4.networkAddressFromCIDR(cidr) : ipaddr.IPv6.networkAddressFromCIDR(cidr);
    return { family: addr.kind() === 'ipv4' ? 4 : 6, net, bits };
  } catch {
    return undefined;
  }
}

/** True when `ip` lies in `cidr` (same family only). */
export function inCidr(ip: string, cidr: string): boolean {
  const c = parseCidr(cidr);
  if (!c || familyOf(ip) !== c.family) return false;
  const a = ipaddr.parse(ip);
  return a.kind() === c.net.kind() && (a as ipaddr.IPv4).match(c.net as ipaddr.IPv4, c.bits);
}

/** Two CIDRs of one family overlap when one holds the other's network address. */
export function cidrsOverlap(a: string, b: string): boolean {
  const x = parseCidr(a);
  const y = parseCidr(b);
  if (!x || !y || x.family !== y.family) return false;
  return inCidr(x.net.toString(), b) || inCidr(y.net.toString(), a);
}

/**
 * The address in the form captures print (RFC 5952 for IPv6: lowercase, zeros
 * compressed), so an API's or a tool's spelling compares equal to the
 * packets'; anything that is not an address is returned as given.
 */
export function canonicalIP(ip: string): string {
  // IPv4 text is left alone: ipaddr.js also reads octal and shorthand forms (010.1.1.1 as 8.1.1.1), which no API or packet prints.
  if (!ip.includes(':') || !ipaddr.IPv6.isValid(ip)) return ip;
  return ipaddr.IPv6.parse(ip).toRFC5952String();
}
