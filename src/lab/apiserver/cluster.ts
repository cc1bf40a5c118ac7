// The lab cluster's objects and the pod lifecycle: schedule, create the
// sandbox through CNI, run containers as processes, restart per policy,
// tear down on delete. Kubernetes semantics where a client would notice.
import type { ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { constants, release } from 'node:os';
import { endProcessGroup, type LabRuntime, type Sandbox } from '../runtime.js';
import { podPortMappings } from '../cni.js';
import { FAULT_NODE, staleIP } from '../faults.js';
import type { LabState } from '../state.js';
import { EXTERNAL_TARGET_ANNOTATION } from '../../names.js';
import { familyOf, internalIPsOf, podCIDRsOf, type NodePlan } from '../plan.js';
import { externalTargets } from '../external-target.js';
import {
  NETNS_ANNOTATION, type Condition, type ContainerSpec, type ContainerStatus, type Namespace, type Node, type Pod,
} from './objects.js';
import { ApiError, errors } from './status.js';
import { admitNamespace, admitPod } from './admission.js';
import { checkMeta, checkPodSpec } from './validate.js';

export const KUBE_VERSION = { major: '1', minor: '32', gitVersion: 'v1.32.0-podwire-lab' };
const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];
const MAX_GRACE_MS = 3_000;
const MAX_PARALLEL_STARTS = 6;

interface ContainerRun {
  spec: ContainerSpec;
  child?: ChildProcess;
  restartCount: number;
  timer?: NodeJS.Timeout;
  status: ContainerStatus;
}

interface PodRecord {
  pod: Pod;
  node?: NodePlan;
  sandbox?: Sandbox;
  containers: Map<string, ContainerRun>;
  execs: Set<ChildProcess>;
  deleting?: Promise<void>;
  /** Set once teardown started, so late container exits do not restart. */
  stopping: boolean;
  /** The sandbox's creation under way: a deletion waits for it, so the pod is gone only once its processes are. */
  creating?: Promise<unknown>;
}

const now = () => new Date().toISOString();
const key = (ns: string, name: string) => `${ns}/${name}`;

/** A change to a pod, as a watch streams it. */
export interface PodEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  rv: number;
  object: Pod;
}

/** How many pod events are kept for watches that resume from a resourceVersion. */
const WATCH_HISTORY = 10_000;

export class Cluster {
  private rv = 1;
  readonly nodes: Node[];
  private readonly namespaces = new Map<string, Namespace>();
  private readonly pods = new Map<string, PodRecord>();
  private rr = 0;
  private starting = 0;
  private readonly startQueue: (() => void)[] = [];

  constructor(
    readonly lab: LabState,
    private readonly runtime: LabRuntime,
  ) {
    this.nodes = lab.nodes.map((n) => this.nodeObject(n));
    for (const ns of SYSTEM_NAMESPACES) this.namespaces.set(ns, this.namespaceObject(ns));
  }

  resourceVersion(): string {
    return String(this.rv);
  }

  private bump(): string {
    return String(++this.rv);
  }

  /** Pod changes for watchers: `pod` events with a {@link PodEvent}; the last {@link WATCH_HISTORY} are kept for watches that resume. */
  readonly podEvents = new EventEmitter().setMaxListeners(0);
  private readonly history: PodEvent[] = [];

  /** Records a pod's change (its resourceVersion already bumped) and tells the watchers. */
  private changed(type: PodEvent['type'], pod: Pod): void {
    const event: PodEvent = { type, rv: Number(pod.metadata.resourceVersion), object: structuredClone(pod) };
    this.history.push(event);
    if (this.history.length > WATCH_HISTORY) this.history.shift();
    this.podEvents.emit('pod', event);
  }

  /**
   * The pod events after resourceVersion `rv`, or undefined when they are no
   * longer all kept (the watcher must list again: 410 Gone, as a real API server says).
   */
  podEventsSince(rv: number): PodEvent[] | undefined {
    const first = this.history[0];
    if (this.history.length >= WATCH_HISTORY && first && first.rv > rv + 1) return undefined;
    return this.history.filter((e) => e.rv > rv);
  }

  private nodeObject(n: NodePlan): Node {
    const podCIDRs = podCIDRsOf(this.lab, n);
    return {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: n.name,
        uid: randomUUID(),
        resourceVersion: this.bump(),
        creationTimestamp: this.lab.createdAt,
        labels: {
          'kubernetes.io/hostname': n.name,
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': process.arch === 'x64' ? 'amd64' : process.arch,
          'lab.podwire.dev/name': this.lab.name,
        },
        annotations: { [NETNS_ANNOTATION]: n.netns, [EXTERNAL_TARGET_ANNOTATION]: externalTargets(this.lab) },
      },
      // vpc nodes have no podCIDR (pods take VPC addresses), as on EKS and AKS with Azure CNI. Dual-stack: both, primary first.
      spec: podCIDRs.length ? { podCIDR: podCIDRs[0], podCIDRs } : {},
      status: {
        // One InternalIP per family, primary first (kubelet's --node-ip with two addresses); an ipv6 lab reports IPv6 only.
        addresses: [
          ...internalIPsOf(this.lab, n).map((address) => ({ type: 'InternalIP', address })),
          { type: 'Hostname', address: n.name },
        ],
        conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'podwire lab node is ready', lastTransitionTime: this.lab.createdAt }],
        nodeInfo: {
          kubeletVersion: KUBE_VERSION.gitVersion,
          kubeProxyVersion: KUBE_VERSION.gitVersion,
          osImage: `podwire lab (${this.lab.dataplane})`,
          kernelVersion: release(),
          containerRuntimeVersion: 'podwire-lab://netns',
          operatingSystem: 'linux',
          architecture: process.arch === 'x64' ? 'amd64' : process.arch,
        },
        capacity: { cpu: '2', memory: '4Gi', pods: '110' },
        allocatable: { cpu: '2', memory: '4Gi', pods: '110' },
      },
    };
  }

  private namespaceObject(name: string, labels: Record<string, string> = {}, annotations?: Record<string, string>): Namespace {
    return {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name,
        uid: randomUUID(),
        resourceVersion: this.bump(),
        creationTimestamp: now(),
        labels: { ...labels, 'kubernetes.io/metadata.name': name },
        ...(annotations ? { annotations } : {}),
      },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    };
  }

  // ---- nodes ----
  getNode(name: string): Node {
    const n = this.nodes.find((x) => x.metadata.name === name);
    if (!n) throw errors.notFound('nodes', name);
    return n;
  }

  // ---- namespaces ----
  listNamespaces(): Namespace[] {
    return [...this.namespaces.values()].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  }

  getNamespace(name: string): Namespace {
    const ns = this.namespaces.get(name);
    if (!ns) throw errors.notFound('namespaces', name);
    return ns;
  }

  createNamespace(body: unknown): Namespace {
    const obj = asObject(body, 'Namespace');
    checkMeta('Namespace', obj.metadata);
    const meta = (obj.metadata ?? {}) as { name?: string; generateName?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
    const name = resolveName(meta, 'namespaces');
    if (name.length > 63 || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name)) {
      throw errors.invalid('Namespace', name, 'metadata.name', 'a lowercase RFC 1123 label must consist of lower case alphanumeric characters or \'-\'');
    }
    // Admission (pinning policy, PodSecurity label validation) comes before storage, as on a real API server.
    const admitted = admitNamespace(this.lab.admission, name, meta.labels ?? {}, meta.annotations);
    if (this.namespaces.has(name)) throw errors.alreadyExists('namespaces', name);
    const ns = this.namespaceObject(name, admitted.labels, admitted.annotations);
    this.namespaces.set(name, ns);
    return ns;
  }

  /**
   * PATCH of a namespace's labels and annotations (podwire's run heartbeat):
   * a JSON merge patch or strategic merge patch (the same for these string
   * maps; null removes a key), or a JSON patch of `/metadata/labels/KEY` and
   * `/metadata/annotations/KEY`. Anything else is refused (422).
   */
  patchNamespace(name: string, patch: unknown, contentType: string): Namespace {
    const ns = this.getNamespace(name);
    const maps = { labels: { ...(ns.metadata.labels ?? {}) }, annotations: { ...(ns.metadata.annotations ?? {}) } };
    const refuse = (field: string, why: string) => errors.invalid('Namespace', name, field, why);
    const type = contentType.split(';')[0]!.trim().toLowerCase();
    if (type === 'application/merge-patch+json' || type === 'application/strategic-merge-patch+json') {
      const obj = asObject(patch, 'Namespace');
      for (const k of Object.keys(obj)) if (!['metadata', 'apiVersion', 'kind'].includes(k)) throw refuse(k, 'the podwire lab patches namespace labels and annotations only');
      const meta = obj.metadata ?? {};
      if (!meta || typeof meta !== 'object' || Array.isArray(meta)) throw refuse('metadata', 'must be an object');
      for (const [k, v] of Object.entries(meta as Record<string, unknown>)) {
        if (k !== 'labels' && k !== 'annotations') {
          if (k === 'name' && v === name) continue;
          throw refuse(`metadata.${k}`, 'the podwire lab patches namespace labels and annotations only');
        }
        if (v === null) {
          maps[k] = {};
          continue;
        }
        if (typeof v !== 'object' || Array.isArray(v)) throw refuse(`metadata.${k}`, 'must be a map of strings');
        for (const [key, val] of Object.entries(v as Record<string, unknown>)) {
          if (val === null) delete maps[k][key];
          else if (typeof val === 'string') maps[k][key] = val;
          else throw refuse(`metadata.${k}.${key}`, 'must be a string');
        }
      }
    } else if (type === 'application/json-patch+json') {
      if (!Array.isArray(patch)) throw errors.badRequest('a JSON patch is a list of operations');
      patch.forEach((op: unknown, i) => {
        const o = op as { op?: unknown; path?: unknown; value?: unknown } | null;
        const m = typeof o?.path === 'string' ? /^\/metadata\/(labels|annotations)(?:\/(.+))?$/.exec(o.path) : null;
        if (!o || !m || !['add', 'replace', 'remove'].includes(o.op as string)) throw refuse(`[${i}]`, 'the podwire lab takes add, replace and remove of /metadata/labels and /metadata/annotations only');
        const which = m[1] as 'labels' | 'annotations';
        const key = m[2]?.replace(/~1/g, '/').replace(/~0/g, '~');
        if (key === undefined) {
          if (o.op === 'remove') maps[which] = {};
          else if (o.value && typeof o.value === 'object' && !Array.isArray(o.value) && Object.values(o.value).every((x) => typeof x === 'string')) maps[which] = { ...(o.value as Record<string, string>) };
          else throw refuse(`metadata.${which}`, 'must be a map of strings');
        } else if (o.op === 'remove') {
          if (!(key in maps[which])) throw refuse(`metadata.${which}.${key}`, 'not found');
          delete maps[which][key];
        } else if (typeof o.value === 'string') maps[which][key] = o.value;
        else throw refuse(`metadata.${which}.${key}`, 'must be a string');
      });
    } else {
      throw new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got ${JSON.stringify(contentType)})`);
    }
    maps.labels['kubernetes.io/metadata.name'] = name;
    ns.metadata.labels = maps.labels;
    if (Object.keys(maps.annotations).length) ns.metadata.annotations = maps.annotations;
    else delete ns.metadata.annotations;
    ns.metadata.resourceVersion = this.bump();
    return ns;
  }

  deleteNamespace(name: string): Namespace {
    const ns = this.getNamespace(name);
    if (SYSTEM_NAMESPACES.includes(name)) throw errors.forbidden('namespaces', name, 'this namespace may not be deleted');
    if (ns.status.phase !== 'Terminating') {
      ns.status.phase = 'Terminating';
      ns.metadata.deletionTimestamp = now();
      ns.metadata.resourceVersion = this.bump();
      const pods = [...this.pods.values()].filter((r) => r.pod.metadata.namespace === name);
      void Promise.allSettled(pods.map((r) => this.deletePod(name, r.pod.metadata.name))).then(() => {
        this.namespaces.delete(name);
        this.bump();
      });
    }
    return ns;
  }

  // ---- pods ----
  listPods(namespace?: string): Pod[] {
    return [...this.pods.values()]
      .map((r) => r.pod)
      .filter((p) => !namespace || p.metadata.namespace === namespace)
      .sort((a, b) => key(a.metadata.namespace!, a.metadata.name).localeCompare(key(b.metadata.namespace!, b.metadata.name)));
  }

  private record(namespace: string, name: string): PodRecord {
    const r = this.pods.get(key(namespace, name));
    if (!r) throw errors.notFound('pods', name);
    return r;
  }

  getPod(namespace: string, name: string): Pod {
    return this.record(namespace, name).pod;
  }

  createPod(namespace: string, body: unknown): Pod {
    const obj = asObject(body, 'Pod');
    checkMeta('Pod', obj.metadata);
    const meta = (obj.metadata ?? {}) as Pod['metadata'];
    if (meta.namespace && meta.namespace !== namespace) {
      throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    const name = resolveName(meta, 'pods');
    if (name.length > 253 || !NAME.test(name)) {
      throw errors.invalid('Pod', name, 'metadata.name', 'a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, \'-\' or \'.\'');
    }
    checkPodSpec(name, obj.spec);
    const spec = obj.spec as Pod['spec'];
    const seen = new Set<string>();
    spec.containers.forEach((c, i) => {
      if (!c || typeof c.name !== 'string' || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(c.name)) {
        throw errors.invalid('Pod', name, `spec.containers[${i}].name`, 'Required value: a DNS-1123 label');
      }
      if (seen.has(c.name)) throw errors.invalid('Pod', name, `spec.containers[${i}].name`, `Duplicate value: "${c.name}"`);
      seen.add(c.name);
      for (const field of ['command', 'args'] as const) {
        const v = c[field];
        if (v !== undefined && (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))) {
          throw errors.invalid('Pod', name, `spec.containers[${i}].${field}`, 'must be a list of strings');
        }
      }
    });
    const ns = this.namespaces.get(namespace);
    if (!ns) throw errors.notFound('namespaces', namespace);
    if (ns.status.phase === 'Terminating') {
      throw errors.forbidden('pods', name, `unable to create new content in namespace ${namespace} because it is being terminated`);
    }
    const denied = admitPod(this.lab.admission, ns.metadata.labels, { name, labels: meta.labels, spec });
    if (denied) throw denied;
    if (this.pods.has(key(namespace, name))) throw errors.alreadyExists('pods', name);

    const pod: Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        ...meta,
        name,
        namespace,
        uid: randomUUID(),
        resourceVersion: this.bump(),
        creationTimestamp: now(),
        annotations: { ...(meta.annotations ?? {}) },
      },
      spec: {
        restartPolicy: 'Always',
        terminationGracePeriodSeconds: 30,
        dnsPolicy: 'ClusterFirst',
        schedulerName: 'default-scheduler',
        ...spec,
        containers: spec.containers.map((c) => ({ imagePullPolicy: 'IfNotPresent', ...c })),
      },
      status: { phase: 'Pending', qosClass: 'BestEffort', conditions: [] },
    };
    delete pod.metadata.generateName;
    const rec: PodRecord = { pod, containers: new Map(), execs: new Set(), stopping: false };
    this.pods.set(key(namespace, name), rec);
    this.schedule(rec);
    this.changed('ADDED', pod);
    return pod;
  }

  private schedule(rec: PodRecord): void {
    const { pod } = rec;
    const candidates = this.lab.nodes.filter((n) => {
      const labels = this.getNode(n.name).metadata.labels ?? {};
      return Object.entries(pod.spec.nodeSelector ?? {}).every(([k, v]) => labels[k] === v);
    });
    let node: NodePlan | undefined;
    if (pod.spec.nodeName) {
      node = this.lab.nodes.find((n) => n.name === pod.spec.nodeName);
      if (!node) {
        // As on a real cluster: bound to a node that does not exist, the pod stays Pending.
        setCondition(pod, { type: 'PodScheduled', status: 'True' });
        pod.status.message = `node "${pod.spec.nodeName}" does not exist`;
        return;
      }
    } else if (candidates.length) {
      node = candidates[this.rr++ % candidates.length]!;
      pod.spec.nodeName = node.name;
    } else {
      setCondition(pod, {
        type: 'PodScheduled', status: 'False', reason: 'Unschedulable',
        message: `0/${this.lab.nodes.length} nodes are available: ${this.lab.nodes.length} node(s) didn't match Pod's node affinity/selector.`,
      });
      return;
    }
    rec.node = node;
    setCondition(pod, { type: 'PodScheduled', status: 'True' });
    const hostIPs = internalIPsOf(this.lab, node);
    pod.status.hostIP = hostIPs[0];
    pod.status.hostIPs = hostIPs.map((ip) => ({ ip }));
    pod.status.containerStatuses = pod.spec.containers.map((c) => containerStatus(c, 0, { waiting: { reason: 'ContainerCreating' } }));
    this.enqueueStart(() => this.start(rec));
  }

  private enqueueStart(job: () => Promise<void>): void {
    const runJob = () => {
      this.starting++;
      void job().finally(() => {
        this.starting--;
        this.startQueue.shift()?.();
      });
    };
    if (this.starting < MAX_PARALLEL_STARTS) runJob();
    else this.startQueue.push(runJob);
  }

  /** The pod IP the API reports: the sandbox's, except under the wrong-status-ip fault (pods on the fault node). */
  private reportedIPs(sb: Sandbox): string[] {
    const wrong = (this.lab.faults ?? []).includes('wrong-status-ip') && !sb.hostNetwork && sb.node.index === FAULT_NODE;
    // wrong-status-ip is an IPv4 fault: the IPv6 address of a dual-stack pod stays true.
    return sb.ips.map((ip) => (wrong && familyOf(ip) === 4 ? staleIP(ip) : ip));
  }

  private async start(rec: PodRecord): Promise<void> {
    const { pod } = rec;
    if (rec.stopping || !rec.node) return;
    const ref = { namespace: pod.metadata.namespace!, name: pod.metadata.name, portMappings: podPortMappings(pod.spec.containers) };
    try {
      const creating = this.runtime.createSandbox(rec.node, pod.spec.hostNetwork === true, ref);
      rec.creating = creating;
      rec.sandbox = await creating;
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      pod.status.containerStatuses = pod.spec.containers.map((c) =>
        containerStatus(c, 0, { waiting: { reason: 'ContainerCreating', message: `FailedCreatePodSandBox: ${msg}` } }));
      pod.metadata.resourceVersion = this.bump();
      this.changed('MODIFIED', pod);
      return;
    }
    // Deleted while its sandbox was made: the deletion (which waited for it) destroys it.
    if (rec.stopping) return;
    pod.metadata.annotations![NETNS_ANNOTATION] = rec.sandbox.netns;
    const ips = this.reportedIPs(rec.sandbox);
    pod.status.podIP = ips[0];
    pod.status.podIPs = ips.map((ip) => ({ ip }));
    pod.status.startTime = now();
    for (const spec of pod.spec.containers) {
      const run: ContainerRun = { spec, restartCount: 0, status: containerStatus(spec, 0, {}) };
      rec.containers.set(spec.name, run);
      this.startContainer(rec, run);
    }
    setCondition(pod, { type: 'Initialized', status: 'True' });
    this.refreshPhase(rec);
  }

  private startContainer(rec: PodRecord, run: ContainerRun): void {
    const { pod } = rec;
    const env = this.containerEnv(rec, run.spec);
    const argv = [...(run.spec.command ?? []), ...(run.spec.args ?? [])].map((a) => expandVars(a, env));
    const startedAt = now();
    const id = `podwire://${randomBytes(8).toString('hex')}`;
    run.status = { ...run.status, containerID: id, started: true, ready: true, state: { running: { startedAt } } };
    if (argv.length === 0) {
      // No command: the image's entrypoint is unknown to the lab, so the container idles like a pause container.
      this.refreshPhase(rec);
      return;
    }
    const child = this.runtime.spawnIn(rec.sandbox!, { argv, env, cwd: run.spec.workingDir }, {
      stdin: false,
      logFile: this.runtime.podLogFile(pod.metadata.namespace!, pod.metadata.name, run.spec.name),
    });
    run.child = child;
    child.on('error', () => undefined);
    child.on('close', (code, signal) => {
      if (run.child !== child) return;
      run.child = undefined;
      const exitCode = code ?? 128 + signalNumber(signal);
      const terminated = {
        exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', startedAt, finishedAt: now(), containerID: id,
      };
      if (rec.stopping) return;
      const policy = pod.spec.restartPolicy ?? 'Always';
      const restart = policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0);
      if (!restart) {
        run.status = { ...run.status, ready: false, started: false, state: { terminated } };
        this.refreshPhase(rec);
        return;
      }
      const backoff = Math.min(10_000, 1_000 * 2 ** run.restartCount);
      run.status = {
        ...run.status, ready: false, started: false, lastState: { terminated },
        state: { waiting: { reason: 'CrashLoopBackOff', message: `back-off ${backoff / 1000}s restarting failed container=${run.spec.name} pod=${pod.metadata.name}` } },
      };
      this.refreshPhase(rec);
      run.timer = setTimeout(() => {
        if (rec.stopping) return;
        run.restartCount++;
        run.status.restartCount = run.restartCount;
        this.startContainer(rec, run);
      }, backoff);
    });
    this.refreshPhase(rec);
  }

  private containerEnv(rec: PodRecord, spec: ContainerSpec): Record<string, string> {
    const { pod } = rec;
    const fields: Record<string, string | undefined> = {
      'metadata.name': pod.metadata.name,
      'metadata.namespace': pod.metadata.namespace,
      'metadata.uid': pod.metadata.uid,
      'spec.nodeName': pod.spec.nodeName,
      'spec.serviceAccountName': 'default',
      'status.podIP': pod.status.podIP,
      // The downward API gives the list comma-separated.
      'status.podIPs': pod.status.podIPs?.map((p) => p.ip).join(','),
      'status.hostIP': pod.status.hostIP,
      'status.hostIPs': pod.status.hostIPs?.map((p) => p.ip).join(','),
    };
    const env: Record<string, string> = { HOSTNAME: pod.spec.hostNetwork ? rec.node!.name : pod.metadata.name };
    for (const e of spec.env ?? []) {
      const path = e.valueFrom?.fieldRef?.fieldPath;
      const value = path !== undefined ? fields[path] : e.value !== undefined ? expandVars(e.value, env) : '';
      env[e.name] = value ?? '';
    }
    return env;
  }

  private refreshPhase(rec: PodRecord): void {
    const { pod } = rec;
    const runs = [...rec.containers.values()];
    pod.status.containerStatuses = runs.map((r) => r.status);
    const terminated = runs.filter((r) => r.status.state.terminated);
    let phase: Pod['status']['phase'] = 'Running';
    if (runs.length && terminated.length === runs.length) {
      phase = terminated.every((r) => r.status.state.terminated!.exitCode === 0) ? 'Succeeded' : 'Failed';
    }
    const ready = runs.length > 0 && runs.every((r) => r.status.ready);
    pod.status.phase = phase;
    setCondition(pod, { type: 'ContainersReady', status: ready ? 'True' : 'False' });
    setCondition(pod, { type: 'Ready', status: ready ? 'True' : 'False' });
    pod.metadata.resourceVersion = this.bump();
    this.changed('MODIFIED', pod);
  }

  /** Deletes a pod: ends its processes, releases its address, removes its netns; resolves when it is gone. */
  deletePod(namespace: string, name: string, graceSeconds?: number): Promise<Pod> {
    const rec = this.record(namespace, name);
    if (!rec.deleting) {
      rec.stopping = true;
      rec.pod.metadata.deletionTimestamp = now();
      rec.pod.metadata.resourceVersion = this.bump();
      this.changed('MODIFIED', rec.pod);
      const graceMs = Math.min(MAX_GRACE_MS, 1000 * (graceSeconds ?? rec.pod.spec.terminationGracePeriodSeconds ?? 30));
      rec.deleting = this.teardown(rec, graceMs).finally(() => {
        this.pods.delete(key(namespace, name));
        rec.pod.metadata.resourceVersion = this.bump();
        this.changed('DELETED', rec.pod);
      });
    }
    return rec.deleting.then(() => rec.pod);
  }

  private async teardown(rec: PodRecord, graceMs: number): Promise<void> {
    // A sandbox still being made is waited for, then destroyed with the rest: no process of a deleted pod (or namespace) outlives it.
    await rec.creating?.catch(() => undefined);
    const runs = [...rec.containers.values()];
    for (const r of runs) clearTimeout(r.timer);
    await Promise.all([
      ...runs.map((r) => endProcessGroup(r.child?.pid, graceMs)),
      ...[...rec.execs].map((c) => endProcessGroup(c.pid, 0)),
    ]);
    if (rec.sandbox) {
      await this.runtime.destroySandbox(rec.sandbox, { namespace: rec.pod.metadata.namespace!, name: rec.pod.metadata.name, portMappings: podPortMappings(rec.pod.spec.containers) });
    }
  }

  /** The sandbox and container to exec into; throws a 400 when the pod cannot take an exec. */
  execTarget(namespace: string, name: string, container: string | null): { rec: PodRecord; sandbox: Sandbox; spec: ContainerSpec; env: Record<string, string> } {
    const rec = this.record(namespace, name);
    const spec = container ? rec.pod.spec.containers.find((c) => c.name === container) : rec.pod.spec.containers[0];
    if (!spec) throw errors.badRequest(`container ${container} is not valid for pod ${name}`);
    if (rec.stopping) throw errors.badRequest(`pod ${name} is being deleted`);
    if (!rec.sandbox || rec.pod.status.phase !== 'Running') {
      throw errors.badRequest(`unable to upgrade connection: pod ${name} is not running (phase ${rec.pod.status.phase})`);
    }
    return { rec, sandbox: rec.sandbox, spec, env: this.containerEnv(rec, spec) };
  }

  trackExec(rec: PodRecord, child: ChildProcess): void {
    rec.execs.add(child);
    child.on('close', () => rec.execs.delete(child));
  }

  logFile(namespace: string, name: string, container: string | null): string {
    const rec = this.record(namespace, name);
    const names = rec.pod.spec.containers.map((c) => c.name);
    if (!container && names.length > 1) {
      throw errors.badRequest(`a container name must be specified for pod ${name}, choose one of: [${names.join(' ')}]`);
    }
    const c = container ?? names[0]!;
    if (!names.includes(c)) throw errors.badRequest(`container ${c} is not valid for pod ${name}`);
    return this.runtime.podLogFile(namespace, name, c);
  }
}

function asObject(body: unknown, kind: string): Record<string, unknown> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw errors.badRequest(`expected a ${kind} object in the request body`);
  const o = body as Record<string, unknown>;
  if (o.kind !== undefined && o.kind !== kind) throw errors.badRequest(`expected kind ${kind}, got ${JSON.stringify(o.kind)}`);
  return o;
}

function resolveName(meta: { name?: string; generateName?: string }, resource: string): string {
  if (typeof meta.name === 'string' && meta.name) return meta.name;
  if (typeof meta.generateName === 'string' && meta.generateName) return meta.generateName + randomBytes(3).toString('hex').slice(0, 5);
  throw errors.invalid(resource, '', 'metadata.name', 'Required value: name or generateName is required');
}

function setCondition(pod: Pod, c: Condition): void {
  const list = (pod.status.conditions ??= []);
  const i = list.findIndex((x) => x.type === c.type);
  const full = { lastProbeTime: null, lastTransitionTime: now(), ...c };
  if (i < 0) list.push(full);
  else if (list[i]!.status !== c.status || list[i]!.reason !== c.reason) list[i] = full;
}

function containerStatus(c: ContainerSpec, restartCount: number, state: ContainerStatus['state']): ContainerStatus {
  return { name: c.name, ready: false, started: false, restartCount, image: c.image ?? '', imageID: '', state, lastState: {} };
}

/** `$(VAR)` references as Kubernetes expands them in command, args and env; `$$(VAR)` escapes. */
export function expandVars(s: string, env: Record<string, string>): string {
  return s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name: string | undefined) => {
    if (m === '$$') return '$';
    return name !== undefined && name in env ? env[name]! : m;
  });
}

function signalNumber(signal: NodeJS.Signals | null): number {
  return signal ? (constants.signals[signal] ?? 0) : 0;
}
