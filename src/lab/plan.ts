// The lab's address plan and naming (DESIGN §5). Pure: no I/O.

export const UNDERLAY_CIDR = '172.18.0.0/24';
export const ROUTER_UNDERLAY_IP = '172.18.0.1';
export const CLUSTER_POD_CIDR = '10.244.0.0/16';
export const INTERNET_IP = '198.51.100.10';
export const ROUTER_INTERNET_IP = '198.51.100.1';
export const INTERNET_PREFIX = 24;
/** The internet host answers TCP here (an echo that names itself), as an external target for egress checks. */
export const INTERNET_TCP_PORT = 80;
/** Node annotation through which the lab advertises its external target to clients (`podwire run`). */
export const EXTERNAL_TARGET_ANNOTATION = 'lab.podwire.dev/external-target';
export const VXLAN_PORT = 8472;
export const VXLAN_MTU = 1450;
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

export function labPlan(name: string, nodes: number, dataplane: Dataplane): LabPlan {
  return {
    name,
    dataplane,
    nodes: Array.from({ length: nodes }, (_, i) => nodePlan(name, i + 1)),
    fabricNetns: `${netnsPrefix(name)}fabric`,
    internetNetns: `${netnsPrefix(name)}internet`,
    stateDir: `${STATE_ROOT}/${name}`,
  };
}

/** Netns name for a pod sandbox: short and unique, independent of the pod's (long) name. */
export function podNetns(lab: string, sandboxId: string): string {
  return `${netnsPrefix(lab)}pod-${sandboxId}`;
}
