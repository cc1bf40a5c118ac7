// The external target the lab advertises on its nodes (names.ts
// EXTERNAL_TARGET_ANNOTATION): the internet host's TCP echo, one target per
// family the lab has, primary first, comma-separated; IPv6 bracketed as in
// URLs (`198.51.100.10:80,[2001:db8:100::10]:80`). Pure.
import { INTERNET_IP, INTERNET_IP6, INTERNET_TCP_PORT, familiesOf, type IpFamily, type Primary } from './plan.js';

/** One family's target: `IP:PORT`, or `[IP]:PORT` for IPv6. */
export const hostPort = (ip: string, port: number) => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);

export function externalTargets(lab: { ipFamily?: IpFamily; primary?: Primary }): string {
  return familiesOf(lab).map((f) => hostPort(f === 4 ? INTERNET_IP : INTERNET_IP6, INTERNET_TCP_PORT)).join(',');
}
