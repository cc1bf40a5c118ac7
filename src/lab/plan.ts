// The lab's address plan and naming (DESIGN §5). Pure: no I/O.
import { FAULT_NODE, type FaultName } from './faults.js';

export const UNDERLAY_CIDR = '172.18.0.0/24';
export const ROUTER_UNDERLAY_IP = '172.18.0.1';
export const CLUSTER_POD_CIDR = '10.244.0.0/16';
export const INTERNET_IP = '198.51.100.10';
export const ROUTER_INTERNET_IP = '198.51.100.1';
export const INTERNET_PREFIX = 24;
/** The internet host answers TCP here (an echo that names itself), as an external target for egress checks. */
export const INTERNET_TCP_PORT = 80;
export const VXLAN_PORT = 8472;
export const VXLAN_MTU = 1450;
/** The underlay's MTU (the fabric's ports); mtu-blackhole gives the nodes' NICs a larger one. */
export const UNDERLAY_MTU = 1500;
export const JUMBO_MTU = 9000;
export const MAX_NODES = 64;
export const STATE_ROOT = '/run/podwire';

export type Dataplane = 'host-gw' | 'vxlan';
export const DATAPLANES: readonly Dataplane[] = ['host-gw', 'vxlan'];

/** Lab names become part of netns names; no hyphen, so `pw-<lab>-` never prefixes another lab's names. */
export const LAB_NAME_PATTERN = /^[a-z][a-z0-9]{0,15}$/;

export interface NodePlan {
  index: number;
  name: string;
  netns: string;
  underlayIP: string;
  podCIDR: string;
  /** First address of the pod CIDR: the cni0 bridge's address (the pods' gateway). */
  bridgeIP: string;
  vxlanMAC: string;
}

export interface LabPlan {
  name: string;
  dataplane: Dataplane;
  nodes: NodePlan[];
  fabricNetns: string;
  internetNetns: string;
  stateDir: string;
  /** Faults applied at `lab up` (src/lab/faults.ts). */
  faults: FaultName[];
}

export function netnsPrefix(lab: string): string {
  return `pw-${lab}-`;
}

/** The lab a netns belongs to, or undefined when the name is not a lab's. */
export function labOfNetns(netns: string): string | undefined {
  const m = /^pw-([a-z][a-z0-9]{0,15})-/.exec(netns);
  return m?.[1];
}

export function nodePlan(lab: string, index: number): NodePlan {
  const hex = index.toString(16).padStart(2, '0');
  return {
    index,
    name: `node-${index}`,
    netns: `${netnsPrefix(lab)}node-${index}`,
    underlayIP: `172.18.0.${10 + index}`,
    podCIDR: `10.244.${index}.0/24`,
    bridgeIP: `10.244.${index}.1`,
    vxlanMAC: `0e:70:77:00:00:${hex}`,
  };
}

export function labPlan(name: string, nodes: number, dataplane: Dataplane, faults: FaultName[] = []): LabPlan {
  const plans = Array.from({ length: nodes }, (_, i) => nodePlan(name, i + 1));
  if (faults.includes('overlapping-pod-cidr') && plans.length >= FAULT_NODE) {
    // The fault node is handed node-1's range: same CIDR, same gateway address.
    const victim = plans[FAULT_NODE - 1]!;
    plans[FAULT_NODE - 1] = { ...victim, podCIDR: plans[0]!.podCIDR, bridgeIP: plans[0]!.bridgeIP };
  }
  return {
    name,
    dataplane,
    nodes: plans,
    fabricNetns: `${netnsPrefix(name)}fabric`,
    internetNetns: `${netnsPrefix(name)}internet`,
    stateDir: `${STATE_ROOT}/${name}`,
    faults: [...faults],
  };
}

/** Netns name for a pod sandbox: short and unique, independent of the pod's (long) name. */
export function podNetns(lab: string, sandboxId: string): string {
  return `${netnsPrefix(lab)}pod-${sandboxId}`;
}
