// JSON shapes of the v1 objects the lab serves, kept loose where clients
// may send more than the lab uses.

export interface ObjectMeta {
  name: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [k: string]: unknown;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string } };
}

export interface ContainerSpec {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  workingDir?: string;
  /** hostPort entries become the CNI `portMappings` capability (`--cni-config` with portmap). */
  ports?: { containerPort: number; hostPort?: number; protocol?: string; hostIP?: string }[];
  [k: string]: unknown;
}

export interface PodSpec {
  containers: ContainerSpec[];
  nodeName?: string;
  nodeSelector?: Record<string, string>;
  hostNetwork?: boolean;
  restartPolicy?: 'Always' | 'OnFailure' | 'Never';
  terminationGracePeriodSeconds?: number;
  [k: string]: unknown;
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  lastProbeTime?: string | null;
}

export interface ContainerStatus {
  name: string;
  ready: boolean;
  started: boolean;
  restartCount: number;
  image: string;
  imageID: string;
  containerID?: string;
  state: Record<string, Record<string, unknown>>;
  lastState: Record<string, Record<string, unknown>>;
}

export interface PodStatus {
  phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';
  conditions?: Condition[];
  hostIP?: string;
  hostIPs?: { ip: string }[];
  podIP?: string;
  podIPs?: { ip: string }[];
  startTime?: string;
  qosClass?: string;
  containerStatuses?: ContainerStatus[];
  reason?: string;
  message?: string;
}

export interface Pod {
  apiVersion: 'v1';
  kind: 'Pod';
  metadata: ObjectMeta;
  spec: PodSpec;
  status: PodStatus;
}

export interface Namespace {
  apiVersion: 'v1';
  kind: 'Namespace';
  metadata: ObjectMeta;
  spec: { finalizers: string[] };
  status: { phase: 'Active' | 'Terminating' };
}

export interface Node {
  apiVersion: 'v1';
  kind: 'Node';
  metadata: ObjectMeta;
  spec: { podCIDR?: string; podCIDRs?: string[] };
  status: {
    addresses: { type: string; address: string }[];
    conditions: Condition[];
    nodeInfo: Record<string, string>;
    capacity: Record<string, string>;
    allocatable: Record<string, string>;
  };
}

export type KubeObject = Pod | Namespace | Node;

export function listOf<T extends KubeObject>(kind: string, items: T[], resourceVersion: string) {
  return { apiVersion: 'v1', kind: `${kind}List`, metadata: { resourceVersion }, items };
}

/** Annotation carrying the lab netns a pod's processes run in (used by `lab status`). */
export const NETNS_ANNOTATION = 'lab.podwire.dev/netns';
