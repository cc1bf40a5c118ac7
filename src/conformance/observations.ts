// What the judges see: the run's probes and flow observations, and the
// cluster as the API listed it. Built from a run bundle; pure types and the
// pure conversion of Kubernetes objects into the facts the judges use.
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import type { FlowObservation, Probe, ProbeInventory } from './model.js';
import type { CaptureControl } from './observe.js';
import { canonicalIP } from './ip.js';

const canonicalCidr = (c: string) => {
  const [addr, bits] = c.split('/');
  return bits === undefined ? canonicalIP(c) : `${canonicalIP(addr!)}/${bits}`;
};

export interface ApiNode {
  name: string;
  addresses: string[];
  podCIDRs: string[];
}

export interface ApiPod {
  namespace: string;
  name: string;
  hostNetwork: boolean;
  podIPs: string[];
  node?: string;
  /** status.phase; pods without one count as Pending. */
  phase: string;
}

export interface ExternalTarget {
  ip: string;
  port: number;
}

/**
 * Where the cluster's egress SNAT happens, as the user declares it: on the
 * node (the default; the uplink shows a node address), off the node (a NAT
 * or egress gateway: the uplink shows the pod IP), or nowhere (pod IPs are
 * routable). In every design the reply must come back to the pod IP.
 */
export type EgressSnat = 'node' | 'off-node' | 'none';
export const EGRESS_SNAT: readonly EgressSnat[] = ['node', 'off-node', 'none'];

/** A node of the cluster and whether the run could probe it. */
export interface NodeCoverage {
  node: string;
  covered: boolean;
  /** Why not (a probe that could not start, with its reason), or why it was left out. */
  reason?: string;
  /** Left out on purpose (virtual-kubelet), as opposed to failed to host a probe. */
  leftOut?: boolean;
}

export interface Observations {
  probes: Probe[];
  inventory: Map<string, ProbeInventory>;
  flows: FlowObservation[];
  /** Per capture: completeness and positive controls (what "not seen" there can prove). */
  controls: Map<string, CaptureControl>;
  nodes: ApiNode[];
  pods: ApiPod[];
  /** The external target of the family judged (set by the family view; a single-family run may set it directly). */
  external?: ExternalTarget;
  /** Every external target of the run, at most one per family. */
  externals?: ExternalTarget[];
  egressSnat: EgressSnat;
  coverage: NodeCoverage[];
  /** The family this view judges (families.ts forFamily); absent: the run as listed. */
  family?: 4 | 6;
  /** Pod probes with no address of the view's family (status.podIPs lacks it): NM-3.3 fails them. */
  lacking?: string[];
}

export function nodeFacts(n: V1Node): ApiNode {
  return {
    name: n.metadata?.name ?? '',
    addresses: (n.status?.addresses ?? []).filter((a) => a.type === 'InternalIP' || a.type === 'ExternalIP').map((a) => canonicalIP(a.address)),
    podCIDRs: (n.spec?.podCIDRs?.length ? n.spec.podCIDRs : n.spec?.podCIDR ? [n.spec.podCIDR] : []).map(canonicalCidr),
  };
}

/** status.podIPs, or status.podIP where an older API server gives only that. */
export function podFacts(p: V1Pod): ApiPod {
  const listed = (p.status?.podIPs ?? []).map((x) => x.ip).filter((ip): ip is string => !!ip);
  const podIPs = (listed.length ? listed : p.status?.podIP ? [p.status.podIP] : []).map(canonicalIP);
  return {
    namespace: p.metadata?.namespace ?? '',
    name: p.metadata?.name ?? '',
    hostNetwork: p.spec?.hostNetwork === true,
    podIPs,
    ...(p.spec?.nodeName ? { node: p.spec.nodeName } : {}),
    phase: p.status?.phase ?? 'Pending',
  };
}

/** Pods whose IP is theirs now: not hostNetwork, not finished (Succeeded and Failed pods keep stale IPs that new pods reuse). */
export const isLive = (p: ApiPod) => !p.hostNetwork && p.phase !== 'Succeeded' && p.phase !== 'Failed';
