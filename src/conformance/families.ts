// IP families: which a run covers, a probe's address of each, and the view of
// a run's observations one family at a time, so every judge proves its rule
// per family without knowing about families. Pure.
import { familyOf, type Family } from './ip.js';
import type { Probe } from './model.js';
import type { ExternalTarget, Observations } from './observations.js';

export type { Family };
export const FAMILIES: readonly Family[] = [4, 6];
export const familyName = (f: Family) => (f === 4 ? 'IPv4' : 'IPv6');

/** `--ip-family` of `podwire run`: one family, both, or (absent) every family the cluster has. */
export type IpFamilyChoice = 'ipv4' | 'ipv6' | 'dual';
export const IP_FAMILY_CHOICES: readonly IpFamilyChoice[] = ['ipv4', 'ipv6', 'dual'];
export const familiesOfChoice = (c: IpFamilyChoice): Family[] => (c === 'ipv4' ? [4] : c === 'ipv6' ? [6] : [4, 6]);

/** Every address of a probe: its `ips` (status.podIPs, or a host probe's node addresses), else its one `ip`. */
export const probeIPs = (p: Probe): readonly string[] => (p.ips?.length ? p.ips : [p.ip]);

/** The probe's address of that family, or undefined when it has none. */
export const addressOf = (p: Probe, f: Family): string | undefined => probeIPs(p).find((ip) => familyOf(ip) === f);

/** The families of the given addresses, in FAMILIES order. */
export function familiesOf(ips: Iterable<string>): Family[] {
  const seen = new Set<Family>();
  for (const ip of ips) {
    const f = familyOf(ip);
    if (f) seen.add(f);
  }
  return FAMILIES.filter((f) => seen.has(f));
}

/**
 * The families a run covers: those any pod probe has an address of (a pod
 * without one of them is a finding of NM-3.3, not a reason to test the family
 * less), narrowed to `wanted` when given.
 */
export function runFamilies(probes: readonly Probe[], wanted?: readonly Family[]): Family[] {
  const all = familiesOf(probes.filter((p) => p.role === 'pod').flatMap((p) => probeIPs(p)));
  return wanted ? all.filter((f) => wanted.includes(f)) : all;
}

/**
 * The probes as one family sees them: each with its address of that family as
 * `ip`. Pod probes without one are left out (and named in `lacking`); host
 * probes stay, with their first address when the node lists none of the
 * family (a node's own traffic picks its source by route; the judges read
 * what was sent).
 */
export function viewProbes(probes: readonly Probe[], f: Family): { probes: Probe[]; lacking: string[] } {
  const out: Probe[] = [];
  const lacking: string[] = [];
  for (const p of probes) {
    const ip = addressOf(p, f);
    if (ip) out.push(ip === p.ip ? p : { ...p, ip });
    else if (p.role === 'host') out.push(p);
    else lacking.push(p.name);
  }
  return { probes: out, lacking };
}

/** The external target of a family, from the targets given (one per family). */
export const targetOf = (targets: readonly ExternalTarget[], f: Family) => targets.find((t) => familyOf(t.ip) === f);

/** The family of a flow: its destination's. */
export const flowFamily = (dstIP: string): Family => familyOf(dstIP) ?? 4;

/**
 * The run as one family sees it: each probe's `ip` is its address of that
 * family (probes without one are left out), only that family's flows, node
 * addresses and pod CIDRs, pod IPs, and external target. Every judge reads a
 * probe's `ip`, so each proves its rule for the family of the view.
 */
export function forFamily(o: Observations, f: Family): Observations {
  const of = (ips: readonly string[]) => ips.filter((ip) => familyOf(ip.split('/')[0]!) === f);
  const { probes, lacking } = viewProbes(o.probes, f);
  const external = targetOf(o.externals ?? (o.external ? [o.external] : []), f);
  const { external: _drop, ...rest } = o;
  return {
    ...rest,
    probes,
    flows: o.flows.filter((x) => flowFamily(x.flow.dstIP) === f),
    nodes: o.nodes.map((n) => ({ ...n, addresses: of(n.addresses), podCIDRs: of(n.podCIDRs) })),
    pods: o.pods.map((p) => ({ ...p, podIPs: of(p.podIPs) })),
    ...(external ? { external } : {}),
    family: f,
    ...(lacking.length ? { lacking } : {}),
  };
}
