// Probe pods: two on the pod network and one on the host network per node,
// pinned with nodeName, tolerating every taint, Linux only. Their command
// starts listeners that answer with the probe's name. Specs are pure; deploy,
// wait and delete talk to the API (transient errors retried with p-retry).
import pRetry, { AbortError } from 'p-retry';
import type { CoreV1Api, V1Namespace, V1Pod } from '@kubernetes/client-node';
import { TCP_PORT, UDP_PORT } from './flows.js';
import { PreconditionError } from '../cli/errors.js';
import type { Probe, ProbeRole } from './model.js';

export const RUN_LABEL = 'podwire.dev/run';
export const ROLE_LABEL = 'podwire.dev/role';
export const DEFAULT_PROBE_IMAGE = 'nicolaka/netshoot:v0.13';

export function probeName(node: string, role: ProbeRole, suffix?: 'a' | 'b'): string {
  return role === 'host' ? `pw-host-${node}` : `pw-pod-${node}-${suffix}`;
}

/**
 * The UDP echo: one process, no fork per datagram. socat 1.7's
 * UDP-RECVFROM,fork hands each datagram to a child through a signal
 * handshake that can leave a child holding the socket without its datagram;
 * such a child then reads and drops every later datagram (not from its
 * peer), and the probe goes silent for the rest of the run (8- and 16-node
 * soaks lost every UDP reply of one probe, about once in 20 runs). socat
 * stays the fallback for images without python3.
 */
export const UDP_ECHO_PY = [
  'import os, socket',
  's = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)',
  `s.bind(("0.0.0.0", ${UDP_PORT}))`,
  'me = os.environ["POD_NAME"].encode()',
  'while True:',
  '    data, peer = s.recvfrom(65535)',
  '    line = data.split(b"\\n", 1)[0].strip()',
  '    s.sendto(line + b".from." + me + b"\\n", peer)',
].join('\n');

/**
 * Listeners reply `<line>.from.<pod name>`: the reply names who answered.
 * -t 6: after the request's EOF, wait up to 6 s for the reply (socat's
 * default 0.5 s loses replies on a loaded node, seen at 8 nodes); a backlog
 * of 512, as socat's default of 5 drops SYNs when a 16-node run's flows arrive.
 */
export const LISTENER_SCRIPT = [
  `socat -t 6 TCP-LISTEN:${TCP_PORT},fork,reuseaddr,backlog=512 SYSTEM:'read t; echo "$t.from.$POD_NAME"' &`,
  `if command -v python3 >/dev/null 2>&1; then python3 -c '${UDP_ECHO_PY}' & else socat -t 6 UDP-RECVFROM:${UDP_PORT},fork SYSTEM:'read t; echo "$t.from.$POD_NAME"' & fi`,
  'wait',
].join('\n');

export function namespaceSpec(name: string, run: string): V1Namespace {
  return {
    metadata: {
      name,
      labels: {
        [RUN_LABEL]: run,
        'app.kubernetes.io/managed-by': 'podwire',
        // The host probe needs hostNetwork and NET_RAW/NET_ADMIN.
        'pod-security.kubernetes.io/enforce': 'privileged',
        'pod-security.kubernetes.io/audit': 'privileged',
        'pod-security.kubernetes.io/warn': 'privileged',
      },
    },
  };
}

export function probeSpec(opts: { run: string; node: string; role: ProbeRole; suffix?: 'a' | 'b'; image: string }): V1Pod {
  const name = probeName(opts.node, opts.role, opts.suffix);
  return {
    metadata: { name, labels: { [RUN_LABEL]: opts.run, [ROLE_LABEL]: opts.role, 'app.kubernetes.io/name': 'podwire-probe' } },
    spec: {
      nodeName: opts.node,
      nodeSelector: { 'kubernetes.io/os': 'linux' },
      tolerations: [{ operator: 'Exists' }],
      hostNetwork: opts.role === 'host',
      dnsPolicy: opts.role === 'host' ? 'ClusterFirstWithHostNet' : 'ClusterFirst',
      automountServiceAccountToken: false,
      terminationGracePeriodSeconds: 1,
      restartPolicy: 'Always',
      containers: [{
        name: 'probe',
        image: opts.image,
        command: ['sh', '-c', LISTENER_SCRIPT],
        env: [
          { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
        ],
        securityContext: { capabilities: { add: ['NET_RAW', 'NET_ADMIN'] }, privileged: false, allowPrivilegeEscalation: false },
      }],
    },
  };
}

/** Why a pod is not ready yet, in words a cluster admin acts on; undefined when it is Running with an IP. */
export function notReadyReason(pod: V1Pod): { reason: string; fatal: boolean } | undefined {
  const s = pod.status;
  if (s?.phase === 'Running' && s.podIP && (s.containerStatuses ?? []).every((c) => c.ready)) return undefined;
  const sched = s?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
  if (sched) return { reason: `${sched.reason ?? 'Unschedulable'}: ${sched.message ?? ''}`.trim(), fatal: false };
  for (const c of s?.containerStatuses ?? []) {
    const w = c.state?.waiting;
    if (w?.reason && ['ImagePullBackOff', 'ErrImagePull', 'InvalidImageName', 'CrashLoopBackOff', 'CreateContainerConfigError', 'CreateContainerError', 'RunContainerError'].includes(w.reason)) {
      return { reason: `${w.reason}${w.message ? `: ${w.message}` : ''}`, fatal: w.reason !== 'ErrImagePull' };
    }
    const t = c.state?.terminated;
    if (t) return { reason: `container exited ${t.exitCode} (${t.reason ?? 'Error'})`, fatal: false };
  }
  if (s?.phase === 'Failed' || s?.phase === 'Succeeded') return { reason: `pod ${s.phase}`, fatal: true };
  return { reason: s?.phase ? `phase ${s.phase}${s.message ? `: ${s.message}` : ''}` : 'not scheduled yet', fatal: false };
}

const status = (err: unknown) => (err as { code?: number; statusCode?: number })?.code ?? (err as { statusCode?: number })?.statusCode;

/** Retries transient API failures (connection errors, 429, 5xx); other errors end at once. */
export function retrying<T>(what: string, fn: () => Promise<T>): Promise<T> {
  return pRetry(async () => {
    try {
      return await fn();
    } catch (err) {
      const code = status(err);
      if (code !== undefined && code !== 429 && code < 500) throw new AbortError(err as Error);
      throw err;
    }
  }, { retries: 3, minTimeout: 200, maxTimeout: 2000 }).catch((err: unknown) => {
    throw new ProbeError(`${what}: ${apiMessage(err)}`);
  });
}

export class ProbeError extends PreconditionError {}

/** The message of a Kubernetes API error (the Status body), or the error's own. */
export function apiMessage(err: unknown): string {
  const body = (err as { body?: unknown })?.body;
  if (typeof body === 'string') {
    try {
      const s = JSON.parse(body) as { message?: string };
      if (s.message) return s.message;
    } catch {
      /* not JSON */
    }
  }
  const e = err as { message?: string; code?: string };
  return (e?.message ?? String(err)).split('\n')[0]!;
}

export async function waitReady(core: CoreV1Api, namespace: string, names: string[], timeoutMs: number, onProgress?: (ready: number, total: number) => void): Promise<Map<string, V1Pod>> {
  const deadline = Date.now() + timeoutMs;
  let last = -1;
  for (;;) {
    const list = await retrying('listing probe pods', () => core.listNamespacedPod({ namespace }));
    const byName = new Map(list.items.map((p) => [p.metadata?.name ?? '', p]));
    const pending = names.map((n) => [n, byName.get(n)] as const).map(([n, p]) => ({ n, why: p ? notReadyReason(p) : { reason: 'missing', fatal: true } }));
    const notReady = pending.filter((x) => x.why);
    if (notReady.length !== last) onProgress?.(names.length - notReady.length, names.length);
    last = notReady.length;
    if (notReady.length === 0) return byName as Map<string, V1Pod>;
    const fatal = notReady.find((x) => x.why!.fatal);
    if (fatal) throw new ProbeError(`probe ${fatal.n} cannot start: ${fatal.why!.reason}`);
    if (Date.now() > deadline) {
      const first = notReady[0]!;
      throw new ProbeError(`${notReady.length} probe(s) not ready after ${Math.round(timeoutMs / 1000)} s; ${first.n}: ${first.why!.reason}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

export function probesFrom(pods: Map<string, V1Pod>, specs: V1Pod[]): Probe[] {
  return specs.map((s) => {
    const p = pods.get(s.metadata!.name!)!;
    return { name: s.metadata!.name!, node: s.spec!.nodeName!, role: (s.metadata!.labels![ROLE_LABEL] as ProbeRole), ip: p.status!.podIP! };
  });
}
