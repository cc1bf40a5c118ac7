// Probe pods: two on the pod network and one on the host network per node,
// pinned with nodeName, tolerating every taint, Linux only. Their container
// runs the agent's listener on a port chosen per run. Specs are pure; deploy,
// wait and delete talk to the API (transient errors retried with p-retry).
import { createHash } from 'node:crypto';
import pRetry, { AbortError } from 'p-retry';
import type { CoreV1Api, V1Namespace, V1Pod } from '@kubernetes/client-node';
import { InfraError, InterruptedError } from '../errors.js';
import { rbacDenial } from '../forbidden.js';
import { ROLE_LABEL, RUN_LABEL } from '../names.js';
import { listenerContainer } from './agent.js';
import type { Probe, ProbeRole } from './model.js';
import { canonicalIP } from './ip.js';

/** Runs one API call under the run's cap on concurrent calls (`--concurrency`); identity when there is none. */
export type CallLimit = <T>(fn: () => Promise<T>) => Promise<T>;
const uncapped: CallLimit = (fn) => fn();

export { ROLE_LABEL, RUN_LABEL };
export const DEFAULT_PROBE_IMAGE = 'nicolaka/netshoot:v0.13';

export function probeName(node: string, role: ProbeRole, suffix?: 'a' | 'b'): string {
  return role === 'host' ? `pw-host-${node}` : `pw-pod-${node}-${suffix}`;
}

export function namespaceSpec(name: string, run: string, annotations?: Record<string, string>): V1Namespace {
  return {
    metadata: {
      name,
      ...(annotations ? { annotations } : {}),
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

export function probeSpec(opts: { run: string; node: string; role: ProbeRole; suffix?: 'a' | 'b'; image: string; portBase: number }): V1Pod {
  const name = probeName(opts.node, opts.role, opts.suffix);
  const listener = listenerContainer({ run: opts.run, portBase: opts.portBase });
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
        command: listener.command,
        env: listener.env,
        securityContext: { capabilities: { add: ['NET_RAW', 'NET_ADMIN'] }, privileged: false, allowPrivilegeEscalation: false },
      }],
    },
  };
}

/**
 * A run's pod list as the bundle keeps it: the run's own probe pods carry
 * the agent's source in their container command (about 40 KB each, 120 MB
 * at 1,000 nodes); the bundle keeps its length and hash in its place. Nothing
 * judged reads it. Other pods are kept as listed.
 */
export function elideAgentSource(pods: V1Pod[], run: string): V1Pod[] {
  return pods.map((p) => {
    if (p.metadata?.labels?.[RUN_LABEL] !== run || !p.spec?.containers) return p;
    const containers = p.spec.containers.map((c) => {
      const src = c.command?.[2];
      if (!c.command || c.command[0] !== 'python3' || c.command[1] !== '-c' || src === undefined || src.length < 1024) return c;
      const sha = createHash('sha256').update(src).digest('hex').slice(0, 16);
      return { ...c, command: [c.command[0], c.command[1], `<podwire agent source: ${Buffer.byteLength(src)} bytes, sha256 ${sha}…>`, ...c.command.slice(3)] };
    });
    return { ...p, spec: { ...p.spec, containers } };
  });
}

/** An admission plugin that refused a probe: PodSecurity (with its policy) or a validating webhook (with its name). */
export interface AdmissionRefusal {
  kind: 'PodSecurity' | 'webhook';
  /** `PodSecurity "baseline:latest"`, `admission webhook "x.example.com"`: the policy, as a user searches for it. */
  by: string;
  /** What it said: the PodSecurity checks that failed, the webhook's message. */
  detail: string;
}

/**
 * The admission plugin behind a pod creation's Forbidden message, read from
 * the API server's wording (`… is forbidden: violates PodSecurity
 * "baseline:latest": …`, `… admission webhook "x" denied the request: …`);
 * undefined for any other refusal (RBAC, quota, validation).
 */
export function admissionRefusal(message: string): AdmissionRefusal | undefined {
  const psa = /violates PodSecurity ("[^"]*"): (.*)$/s.exec(message);
  if (psa) return { kind: 'PodSecurity', by: `PodSecurity ${psa[1]}`, detail: psa[2]!.trim() };
  const hook = /admission webhook ("[^"]*") denied the request(?:: | )(.*)$/s.exec(message);
  if (hook) return { kind: 'webhook', by: `admission webhook ${hook[1]}`, detail: hook[2]!.trim() };
  return undefined;
}

/** A probe's not-covered reason for an admission refusal: names the policy first. */
export const refusalReason = (r: AdmissionRefusal) => `refused by ${r.by}: ${r.detail}`;

/**
 * The one line a run ends with when PodSecurity refused every probe: the
 * policy, one probe and why, and what podwire needs. `enforce` is the level
 * the namespace holds, when it is not the privileged podwire asked for (a
 * policy on the cluster changed it).
 */
export function podSecurityRefusedAll(namespace: string, probe: string, r: AdmissionRefusal, enforce: string | undefined): string {
  const changed = enforce !== undefined && enforce !== 'privileged'
    ? `, which a policy on the cluster labelled enforce=${enforce} although podwire asked for privileged`
    : '';
  return `${r.by} refused every probe (${probe}: ${r.detail}): the probes need the privileged level (hostNetwork, NET_RAW, NET_ADMIN) in their namespace ${namespace}${changed}`;
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
    // ContainerCreating and the like: not fatal (a kubelet retries), but its message names the cause (FailedCreatePodSandBox: …).
    if (w?.reason) return { reason: `${w.reason}${w.message ? `: ${w.message}` : ''}`, fatal: false };
  }
  // A kubelet that rejects a pod (OutOfpods, NodeAffinity, admission on the node) fails it with a reason.
  if (s?.phase === 'Failed' || s?.phase === 'Succeeded') return { reason: `pod ${s.phase}${s.reason ? `: ${s.reason}` : ''}${s.message ? ` (${s.message})` : ''}`, fatal: true };
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
      // An interrupt is not retried: the run is over.
      if (err instanceof InterruptedError) throw new AbortError(err);
      if (code !== undefined && code !== 429 && code < 500) throw new AbortError(err as Error);
      throw err;
    }
  }, { retries: 3, minTimeout: 200, maxTimeout: 2000 }).catch((err: unknown) => {
    if (err instanceof InterruptedError) throw err;
    const message = apiMessage(err);
    throw new ApiCallError(`${what}: ${message}`, status(err), message.startsWith('RBAC: '));
  });
}

/** An API call that failed for good (after retries of transient errors), with its HTTP status when there was one. */
export class ApiCallError extends InfraError {
  /** rbac: the API server's authorizer refused it (a 403 in its words, not an admission's). */
  constructor(message: string, readonly status?: number, readonly rbac = false) {
    super(message);
  }
}

/** The message of a Kubernetes API error (the Status body), or the error's own. */
export function apiMessage(err: unknown): string {
  const body = (err as { body?: unknown })?.body;
  const code = (err as { code?: unknown })?.code;
  let message: string | undefined;
  if (typeof body === 'string') {
    try {
      message = (JSON.parse(body) as { message?: string }).message;
    } catch {
      /* not JSON */
    }
  }
  // client-node's ApiException says only "HTTP-Code: 401": name what the status means.
  if (code === 401) return `Unauthorized (401): the API server rejected the kubeconfig's credentials${message ? ` (${message})` : ''}`;
  // An RBAC denial names the right that is missing; other 403s (admission, PodSecurity) keep the API server's words.
  if (code === 403) return (message && rbacDenial(message)) ?? `Forbidden (403): ${message ?? 'RBAC denied the request'}`;
  if (message) return message;
  const e = err as { message?: string };
  return (e?.message ?? String(err)).split('\n')[0]!;
}

/**
 * How often waitProbes lists the probe pods again while a watch brings their
 * changes (a safety net; the simulation counts these requests). Without a
 * watch it lists every {@link PROBE_POLL_NO_WATCH_MS}.
 */
export const PROBE_POLL_MS = 5_000;
export const PROBE_POLL_NO_WATCH_MS = 250;

export interface ProbeWait {
  ready: Map<string, V1Pod>;
  /** Probes that cannot start, with the reason (fatal at once, or still not ready at the deadline). */
  failed: Map<string, string>;
}

/**
 * Waits until every probe is ready or cannot start: a fatal reason ends the
 * wait for that probe at once, the deadline for the rest. Never throws for a
 * probe; the run goes on with the probes that started.
 */
/** Where waitProbes learns of changes: a watch of the namespace's pods (see kube/watch.ts); absent, it lists on a timer. */
export type PodWatcher = (namespace: string, resourceVersion: string | undefined, onEvent: (e: { type: 'ADDED' | 'MODIFIED' | 'DELETED'; pod: V1Pod }) => void, onEnd: (err?: Error) => void) => Promise<() => void>;

/** How often pods are listed again when no watch runs (or as a safety net beside one). */
const RELIST_MS = { watching: PROBE_POLL_MS, polling: PROBE_POLL_NO_WATCH_MS };

/**
 * Waits until every named probe is ready or has failed for good. It lists the
 * namespace's pods once and then follows a watch, so a probe counts the moment
 * the API server says it is ready; without a watch (or once it ends) it lists
 * again on a timer.
 */
export async function waitProbes(core: CoreV1Api, namespace: string, names: string[], timeoutMs: number, onProgress?: (ready: number, total: number) => void, watch?: PodWatcher, limit: CallLimit = uncapped): Promise<ProbeWait> {
  const deadline = Date.now() + timeoutMs;
  const failed = new Map<string, string>();
  const pods = new Map<string, V1Pod>();
  let last = -1;
  /** The verdict on the pods as last seen: done (every probe ready or failed) or the ones still waiting. */
  const evaluate = (final: boolean): ProbeWait | undefined => {
    const ready = new Map<string, V1Pod>();
    const waiting: { n: string; reason: string }[] = [];
    for (const n of names) {
      if (failed.has(n)) continue;
      const p = pods.get(n);
      const why = p ? notReadyReason(p) : { reason: 'the pod is gone', fatal: true };
      if (!why) ready.set(n, p!);
      else if (why.fatal) failed.set(n, why.reason);
      else waiting.push({ n, reason: why.reason });
    }
    if (ready.size !== last) onProgress?.(ready.size, names.length);
    last = ready.size;
    if (waiting.length === 0) return { ready, failed };
    if (!final) return undefined;
    for (const w of waiting) failed.set(w.n, `not ready after ${Math.round(timeoutMs / 1000)} s: ${w.reason}`);
    return { ready, failed };
  };
  const list = async () => {
    const l = await retrying('listing probe pods', () => limit(() => core.listNamespacedPod({ namespace })));
    pods.clear();
    for (const p of l.items) pods.set(p.metadata?.name ?? '', p);
    return l.metadata?.resourceVersion;
  };
  const rv = await list();
  const first = evaluate(false);
  if (first) return first;
  return new Promise<ProbeWait>((resolve, reject) => {
    let settled = false;
    let stopWatch: (() => void) | undefined;
    let watching = false;
    let watchEnded = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (w: ProbeWait) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stopWatch?.();
      resolve(w);
    };
    const check = (final = Date.now() > deadline) => {
      const w = evaluate(final);
      if (w) finish(w);
    };
    const tick = () => {
      if (settled) return;
      list().then(() => check(), (err: unknown) => {
        settled = true;
        stopWatch?.();
        reject(err);
      }).finally(() => {
        if (!settled) timer = setTimeout(tick, Math.min(watching ? RELIST_MS.watching : RELIST_MS.polling, Math.max(0, deadline - Date.now()) + 1));
      });
    };
    timer = setTimeout(tick, Math.min(RELIST_MS.polling, timeoutMs));
    if (!watch) return;
    watch(namespace, rv, (e) => {
      const name = e.pod.metadata?.name ?? '';
      if (e.type === 'DELETED') pods.delete(name);
      else pods.set(name, e.pod);
      check(false);
    }, (err) => {
      // A watch RBAC forbids ends the wait: the run needs the right (deploy/rbac.yaml), and says which.
      if ((err as { statusCode?: number } | undefined)?.statusCode === 403 && !settled) {
        settled = true;
        clearTimeout(timer);
        reject(new InfraError(`RBAC: cannot watch pods in namespace ${namespace} (403 Forbidden)`));
        return;
      }
      // The watch ended (a server-side close, an error): lists on the timer carry on, at the polling pace from the next one.
      watchEnded = true;
      watching = false;
    }).then((stop) => {
      if (settled || watchEnded) stop();
      else {
        stopWatch = stop;
        watching = true;
        clearTimeout(timer);
        timer = setTimeout(tick, Math.min(RELIST_MS.watching, Math.max(0, deadline - Date.now()) + 1));
      }
    }, () => undefined);
  });
}

/**
 * A ready probe pod as the run knows it: its status.podIP and every address of
 * status.podIPs (primary first). A host probe also holds its node's
 * InternalIPs (`nodeIPs`): a kubelet that knows one node IP per family gives
 * hostNetwork pods both, an older one only the first.
 */
export function probeOf(pod: V1Pod, nodeIPs: readonly string[] = []): Probe {
  const role = pod.metadata!.labels![ROLE_LABEL] as ProbeRole;
  const ip = canonicalIP(pod.status!.podIP!);
  const listed = (pod.status?.podIPs ?? []).map((x) => x.ip).filter((x): x is string => !!x).map(canonicalIP);
  const ips = [...new Set([ip, ...listed, ...(role === 'host' ? nodeIPs.map(canonicalIP) : [])])];
  return { name: pod.metadata!.name!, node: pod.spec!.nodeName!, role, ip, ...(ips.length > 1 ? { ips } : {}) };
}
