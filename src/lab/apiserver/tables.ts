// meta.k8s.io/v1 Table renderings, which kubectl asks for to print `get`
// output (`-o wide` shows the priority-1 columns). Pure.
import type { KubeObject, Namespace, Node, Pod } from './objects.js';

interface Column {
  name: string;
  type: string;
  format?: string;
  priority: number;
  description: string;
}

const col = (name: string, priority = 0, type = 'string', format = ''): Column => ({
  name, type, format, priority, description: name,
});

/** Kubernetes' short human duration (as `kubectl get` prints ages). */
export function humanAge(fromIso: string | undefined, now = Date.now()): string {
  if (!fromIso) return '<unknown>';
  const s = Math.max(0, Math.floor((now - Date.parse(fromIso)) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 === 0 || h >= 8 ? `${h}h` : `${h}h${m % 60}m`;
  return `${Math.floor(h / 24)}d`;
}

function nodeRow(n: Node): unknown[] {
  const ready = n.status.conditions.find((c) => c.type === 'Ready')?.status === 'True' ? 'Ready' : 'NotReady';
  const addr = (t: string) => n.status.addresses.find((a) => a.type === t)?.address ?? '<none>';
  const info = n.status.nodeInfo;
  return [n.metadata.name, ready, '<none>', humanAge(n.metadata.creationTimestamp), info.kubeletVersion,
    addr('InternalIP'), addr('ExternalIP'), info.osImage, info.kernelVersion, info.containerRuntimeVersion];
}

function podStatusReason(p: Pod): string {
  if (p.metadata.deletionTimestamp) return 'Terminating';
  for (const cs of p.status.containerStatuses ?? []) {
    const waiting = cs.state.waiting?.reason;
    if (waiting) return String(waiting);
    const term = cs.state.terminated?.reason;
    if (term && p.status.phase !== 'Running') return String(term);
  }
  return p.status.reason ?? p.status.phase;
}

function podRow(p: Pod): unknown[] {
  const cs = p.status.containerStatuses ?? [];
  const ready = `${cs.filter((c) => c.ready).length}/${p.spec.containers.length}`;
  const restarts = cs.reduce((a, c) => a + c.restartCount, 0);
  return [p.metadata.name, ready, podStatusReason(p), restarts, humanAge(p.metadata.creationTimestamp),
    p.status.podIP ?? '<none>', p.spec.nodeName ?? '<none>', '<none>', '<none>'];
}

function namespaceRow(n: Namespace): unknown[] {
  return [n.metadata.name, n.status.phase, humanAge(n.metadata.creationTimestamp)];
}

const COLUMNS: Record<KubeObject['kind'], Column[]> = {
  Node: [col('Name', 0, 'string', 'name'), col('Status'), col('Roles'), col('Age'), col('Version'),
    col('Internal-IP', 1), col('External-IP', 1), col('OS-Image', 1), col('Kernel-Version', 1), col('Container-Runtime', 1)],
  Pod: [col('Name', 0, 'string', 'name'), col('Ready'), col('Status'), col('Restarts', 0, 'string'), col('Age'),
    col('IP', 1), col('Node', 1), col('Nominated Node', 1), col('Readiness Gates', 1)],
  Namespace: [col('Name', 0, 'string', 'name'), col('Status'), col('Age')],
};

function row(o: KubeObject): unknown[] {
  switch (o.kind) {
    case 'Node':
      return nodeRow(o);
    case 'Pod':
      return podRow(o);
    case 'Namespace':
      return namespaceRow(o);
  }
}

export function wantsTable(accept: string | undefined): boolean {
  return !!accept && /as=Table/.test(accept);
}

export function toTable(kind: KubeObject['kind'], items: KubeObject[], resourceVersion: string, includeObject: string | null) {
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion },
    columnDefinitions: COLUMNS[kind],
    rows: items.map((o) => ({
      cells: row(o),
      object:
        includeObject === 'Object'
          ? o
          : includeObject === 'None'
            ? null
            : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata },
    })),
  };
}
