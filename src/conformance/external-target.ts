// `--external-target` must be outside the cluster: egress to a node or a pod
// is not internet egress, and judging it as such fails NM-4.1 on a healthy
// cluster. Known once the API has listed nodes (addresses, podCIDRs) and
// pods, before any probe is deployed. Pure.
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { inCidr } from './ip.js';
import type { ExternalTarget } from './observations.js';
import { targetText } from './options.js';

/** Why `target` lies inside the cluster, or undefined when it does not. */
export function externalTargetConflict(target: ExternalTarget, nodes: V1Node[], pods: V1Pod[]): string | undefined {
  const flag = `\`--external-target ${targetText(target)}\``;
  const why = `: egress checks need a server outside the cluster`;
  for (const n of nodes) {
    const name = n.metadata?.name ?? '?';
    const addr = (n.status?.addresses ?? []).find((a) => a.address === target.ip);
    if (addr) return `${flag} is node ${name}'s ${addr.type} address${why}`;
    const cidrs = n.spec?.podCIDRs?.length ? n.spec.podCIDRs : n.spec?.podCIDR ? [n.spec.podCIDR] : [];
    const cidr = cidrs.find((c) => inCidr(target.ip, c));
    if (cidr) return `${flag} is inside node ${name}'s pod range ${cidr}${why}`;
  }
  for (const p of pods) {
    if (p.spec?.hostNetwork || p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') continue;
    const ips = [p.status?.podIP, ...(p.status?.podIPs ?? []).map((x) => x.ip)];
    if (ips.includes(target.ip)) return `${flag} is the address of pod ${p.metadata?.namespace ?? '?'}/${p.metadata?.name ?? '?'}${why}`;
  }
  return undefined;
}
