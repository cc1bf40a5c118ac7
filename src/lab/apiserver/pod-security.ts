// Pod Security Admission as the API server runs it: the namespace's
// `pod-security.kubernetes.io/enforce` (and `-version`) labels, else the
// cluster default, pick a level; a pod that breaks any check of that level is
// refused with the checks' reasons in the API server's words. Pure: pod spec
// and labels in, verdict out. Modelled on k8s.io/pod-security-admission
// (policy/check_*.go, registry.go); the checks a probe pod can meet are
// here, the rest (AppArmor, SELinux, sysctls, procMount, Windows host
// process, host probes) are not modelled and always pass.

export const LEVELS = ['privileged', 'baseline', 'restricted'] as const;
export type Level = (typeof LEVELS)[number];

export const ENFORCE_LABEL = 'pod-security.kubernetes.io/enforce';
export const ENFORCE_VERSION_LABEL = 'pod-security.kubernetes.io/enforce-version';

/** A policy: level and version ("latest" or a minor of v1). */
export interface Policy {
  level: Level;
  /** undefined: latest. */
  minor?: number;
}

export const policyString = (p: Policy) => `${p.level}:${p.minor === undefined ? 'latest' : `v1.${p.minor}`}`;

/** Why a label value is not valid, in the API server's words; undefined when it is. */
export function labelProblem(key: string, value: string): string | undefined {
  if (key === ENFORCE_LABEL && !(LEVELS as readonly string[]).includes(value)) return 'must be one of privileged, baseline, restricted';
  if (key === ENFORCE_VERSION_LABEL && value !== 'latest' && !/^v1\.(0|[1-9][0-9]*)$/.test(value)) return 'must be "latest" or "v1.x"';
  return undefined;
}

/**
 * The policy a namespace's labels give, the cluster default filling what is
 * unset. A level label that does not parse counts as restricted, a version
 * that does not parse as latest (the API server's fallbacks).
 */
export function namespacePolicy(labels: Record<string, string> | undefined, fallback: Level): Policy {
  const level = labels?.[ENFORCE_LABEL];
  const version = labels?.[ENFORCE_VERSION_LABEL];
  const m = version ? /^v1\.(0|[1-9][0-9]*)$/.exec(version) : null;
  return {
    level: level === undefined ? fallback : (LEVELS as readonly string[]).includes(level) ? (level as Level) : 'restricted',
    ...(m ? { minor: Number(m[1]) } : {}),
  };
}

// ---- the pod as PSA reads it (loose: a client may send anything) ----

interface Caps { add?: unknown; drop?: unknown }
interface SecCtx { privileged?: unknown; allowPrivilegeEscalation?: unknown; runAsNonRoot?: unknown; runAsUser?: unknown; capabilities?: Caps; seccompProfile?: { type?: unknown } }
interface Ctr { name?: unknown; securityContext?: SecCtx; ports?: { hostPort?: unknown }[] }
interface Vol { name?: unknown; [k: string]: unknown }
export interface PodSpecLike {
  hostNetwork?: unknown; hostPID?: unknown; hostIPC?: unknown;
  securityContext?: { runAsNonRoot?: unknown; runAsUser?: unknown; seccompProfile?: { type?: unknown } };
  containers?: unknown; initContainers?: unknown; ephemeralContainers?: unknown; volumes?: unknown;
}

const list = <T>(v: unknown): T[] => (Array.isArray(v) ? v.filter((x) => x && typeof x === 'object') as T[] : []);
/** Init containers, containers, ephemeral containers: the order the API server visits them. */
const containersOf = (spec: PodSpecLike): Ctr[] => [...list<Ctr>(spec.initContainers), ...list<Ctr>(spec.containers), ...list<Ctr>(spec.ephemeralContainers)];
const nameOf = (c: { name?: unknown }) => String(c.name ?? '');
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);
/** Sorted and unique, as Go's sets.String.List(). */
const sortedSet = (xs: Iterable<string>) => [...new Set(xs)].sort();
const joinQuote = (xs: string[]) => (xs.length ? `"${xs.join('", "')}"` : '');
const plural = (one: string, many: string, n: number) => (n === 1 ? one : many);

interface Result { reason: string; detail: string }
type CheckFn = (spec: PodSpecLike) => Result | undefined;
interface Check { id: string; level: 'baseline' | 'restricted'; since: number; overrides?: string[]; check: CheckFn }

const BASELINE_CAPABILITIES = new Set(['AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT']);
/** Inline volume sources the restricted level allows. */
const RESTRICTED_OK_VOLUMES = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret'];
const RESTRICTED_VOLUME_TYPES = ['hostPath', 'gcePersistentDisk', 'awsElasticBlockStore', 'gitRepo', 'nfs', 'iscsi', 'glusterfs', 'rbd', 'flexVolume', 'cinder', 'cephfs', 'flocker', 'fc', 'azureFile', 'vsphereVolume', 'quobyte', 'azureDisk', 'photonPersistentDisk', 'portworxVolume', 'scaleIO', 'storageos'];
const validSeccomp = (t: unknown) => t === 'RuntimeDefault' || t === 'Localhost';

/** "pod and containers "a", "b"", as the setters of a bad value are named. */
function setters(pod: boolean, containers: string[]): string {
  const parts = pod ? ['pod'] : [];
  if (containers.length) parts.push(`${plural('container', 'containers', containers.length)} ${joinQuote(containers)}`);
  return parts.join(' and ');
}

const CHECKS: Check[] = [
  {
    id: 'capabilities_baseline', level: 'baseline', since: 0,
    check: (spec) => {
      const bad: string[] = [];
      const caps: string[] = [];
      for (const c of containersOf(spec)) {
        const extra = strs(c.securityContext?.capabilities?.add).filter((x) => !BASELINE_CAPABILITIES.has(x));
        if (extra.length) {
          bad.push(nameOf(c));
          caps.push(...extra);
        }
      }
      return bad.length ? { reason: 'non-default capabilities', detail: `${plural('container', 'containers', bad.length)} ${joinQuote(bad)} must not include ${joinQuote(sortedSet(caps))} in securityContext.capabilities.add` } : undefined;
    },
  },
  {
    id: 'hostNamespaces', level: 'baseline', since: 0,
    check: (spec) => {
      const on = (['hostNetwork', 'hostPID', 'hostIPC'] as const).filter((k) => spec[k] === true).map((k) => `${k}=true`);
      return on.length ? { reason: 'host namespaces', detail: on.join(', ') } : undefined;
    },
  },
  {
    id: 'hostPathVolumes', level: 'baseline', since: 0,
    check: (spec) => {
      const bad = list<Vol>(spec.volumes).filter((v) => v.hostPath != null).map(nameOf);
      return bad.length ? { reason: 'hostPath volumes', detail: `${plural('volume', 'volumes', bad.length)} ${joinQuote(bad)}` } : undefined;
    },
  },
  {
    id: 'hostPorts', level: 'baseline', since: 0,
    check: (spec) => {
      const bad: string[] = [];
      const ports: string[] = [];
      for (const c of containersOf(spec)) {
        const used = list<{ hostPort?: unknown }>(c.ports).map((p) => Number(p.hostPort ?? 0)).filter((p) => p !== 0);
        if (used.length) {
          bad.push(nameOf(c));
          ports.push(...used.map(String));
        }
      }
      const set = sortedSet(ports);
      return bad.length ? { reason: 'hostPort', detail: `${plural('container', 'containers', bad.length)} ${joinQuote(bad)} ${plural('uses', 'use', bad.length)} ${plural('hostPort', 'hostPorts', set.length)} ${set.join(', ')}` } : undefined;
    },
  },
  {
    id: 'privileged', level: 'baseline', since: 0,
    check: (spec) => {
      const bad = containersOf(spec).filter((c) => c.securityContext?.privileged === true).map(nameOf);
      return bad.length ? { reason: 'privileged', detail: `${plural('container', 'containers', bad.length)} ${joinQuote(bad)} must not set securityContext.privileged=true` } : undefined;
    },
  },
  {
    id: 'seccompProfile_baseline', level: 'baseline', since: 0,
    check: (spec) => {
      const podType = spec.securityContext?.seccompProfile?.type;
      const podBad = spec.securityContext?.seccompProfile != null && !validSeccomp(podType);
      const values = podBad ? [String(podType)] : [];
      const bad: string[] = [];
      for (const c of containersOf(spec)) {
        const sp = c.securityContext?.seccompProfile;
        if (sp != null && !validSeccomp(sp.type)) {
          bad.push(nameOf(c));
          values.push(String(sp.type));
        }
      }
      return podBad || bad.length ? { reason: 'seccompProfile', detail: `${setters(podBad, bad)} must not set securityContext.seccompProfile.type to ${joinQuote(sortedSet(values))}` } : undefined;
    },
  },
  {
    id: 'allowPrivilegeEscalation', level: 'restricted', since: 8,
    check: (spec) => {
      const bad = containersOf(spec).filter((c) => c.securityContext?.allowPrivilegeEscalation !== false).map(nameOf);
      return bad.length ? { reason: 'allowPrivilegeEscalation != false', detail: `${plural('container', 'containers', bad.length)} ${joinQuote(bad)} must set securityContext.allowPrivilegeEscalation=false` } : undefined;
    },
  },
  {
    id: 'capabilities_restricted', level: 'restricted', since: 22, overrides: ['capabilities_baseline'],
    check: (spec) => {
      const noDrop: string[] = [];
      const adding: string[] = [];
      const caps: string[] = [];
      for (const c of containersOf(spec)) {
        const cp = c.securityContext?.capabilities;
        if (!cp) {
          noDrop.push(nameOf(c));
          continue;
        }
        if (!strs(cp.drop).includes('ALL')) noDrop.push(nameOf(c));
        const extra = strs(cp.add).filter((x) => x !== 'NET_BIND_SERVICE');
        if (extra.length) {
          adding.push(nameOf(c));
          caps.push(...extra);
        }
      }
      const details: string[] = [];
      if (noDrop.length) details.push(`${plural('container', 'containers', noDrop.length)} ${joinQuote(noDrop)} must set securityContext.capabilities.drop=["ALL"]`);
      if (adding.length) details.push(`${plural('container', 'containers', adding.length)} ${joinQuote(adding)} must not include ${joinQuote(sortedSet(caps))} in securityContext.capabilities.add`);
      return details.length ? { reason: 'unrestricted capabilities', detail: details.join('; ') } : undefined;
    },
  },
  {
    id: 'restrictedVolumes', level: 'restricted', since: 0, overrides: ['hostPathVolumes'],
    check: (spec) => {
      const bad: string[] = [];
      const types: string[] = [];
      for (const v of list<Vol>(spec.volumes)) {
        if (RESTRICTED_OK_VOLUMES.some((k) => v[k] != null)) continue;
        bad.push(nameOf(v));
        types.push(RESTRICTED_VOLUME_TYPES.find((k) => v[k] != null) ?? 'unknown');
      }
      const set = sortedSet(types);
      return bad.length ? { reason: 'restricted volume types', detail: `${plural('volume', 'volumes', bad.length)} ${joinQuote(bad)} ${plural('uses', 'use', bad.length)} ${plural('restricted volume type', 'restricted volume types', set.length)} ${joinQuote(set)}` } : undefined;
    },
  },
  {
    id: 'runAsNonRoot', level: 'restricted', since: 0,
    check: (spec) => {
      const pod = spec.securityContext?.runAsNonRoot;
      const explicit: string[] = [];
      const implicit: string[] = [];
      for (const c of containersOf(spec)) {
        const v = c.securityContext?.runAsNonRoot;
        if (v != null) {
          if (v !== true) explicit.push(nameOf(c));
        } else if (pod !== true) implicit.push(nameOf(c));
      }
      const podBad = pod != null && pod !== true;
      if (podBad || explicit.length) return { reason: 'runAsNonRoot != true', detail: `${setters(podBad, explicit)} must not set securityContext.runAsNonRoot=false` };
      if (implicit.length) return { reason: 'runAsNonRoot != true', detail: `pod or ${plural('container', 'containers', implicit.length)} ${joinQuote(implicit)} must set securityContext.runAsNonRoot=true` };
      return undefined;
    },
  },
  {
    id: 'runAsUser', level: 'restricted', since: 23,
    check: (spec) => {
      const podBad = spec.securityContext?.runAsUser === 0;
      const bad = containersOf(spec).filter((c) => c.securityContext?.runAsUser === 0).map(nameOf);
      return podBad || bad.length ? { reason: 'runAsUser=0', detail: `${setters(podBad, bad)} must not set runAsUser=0` } : undefined;
    },
  },
  {
    id: 'seccompProfile_restricted', level: 'restricted', since: 19, overrides: ['seccompProfile_baseline'],
    check: (spec) => {
      const sp = spec.securityContext?.seccompProfile;
      const podBad = sp != null && !validSeccomp(sp.type);
      const podSet = sp != null && !podBad;
      const values = podBad ? [String(sp!.type)] : [];
      const explicit: string[] = [];
      const implicit: string[] = [];
      for (const c of containersOf(spec)) {
        const csp = c.securityContext?.seccompProfile;
        if (csp != null) {
          if (!validSeccomp(csp.type)) {
            explicit.push(nameOf(c));
            values.push(String(csp.type));
          }
        } else if (!podSet) implicit.push(nameOf(c));
      }
      if (podBad || explicit.length) return { reason: 'seccompProfile', detail: `${setters(podBad, explicit)} must not set securityContext.seccompProfile.type to ${joinQuote(sortedSet(values))}` };
      if (implicit.length) return { reason: 'seccompProfile', detail: `pod or ${plural('container', 'containers', implicit.length)} ${joinQuote(implicit)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"` };
      return undefined;
    },
  },
];

/** The checks a policy runs, in the API server's order: baseline ids sorted, then restricted ids sorted; a restricted check replaces the baseline check it overrides. */
function checksFor(p: Policy): Check[] {
  if (p.level === 'privileged') return [];
  const minor = p.minor ?? Infinity;
  const active = CHECKS.filter((c) => c.since <= minor);
  const baseline = active.filter((c) => c.level === 'baseline');
  if (p.level === 'baseline') return baseline;
  const restricted = active.filter((c) => c.level === 'restricted');
  const overridden = new Set(restricted.flatMap((c) => c.overrides ?? []));
  return [...baseline.filter((c) => !overridden.has(c.id)), ...restricted];
}

/** Every check id the lab models, sorted as the API server orders them (for tests and docs). */
export const MODELLED_CHECKS = CHECKS.map((c) => c.id);

/**
 * Why a pod violates the policy (`non-default capabilities (container "probe"
 * must not include "NET_ADMIN" in securityContext.capabilities.add), host
 * namespaces (hostNetwork=true)`), or undefined when it is allowed.
 */
export function podSecurityViolations(p: Policy, spec: PodSpecLike): string | undefined {
  const results = checksFor(p).map((c) => c.check(spec)).filter((r): r is Result => !!r);
  if (results.length === 0) return undefined;
  return results.map((r) => (r.detail ? `${r.reason} (${r.detail})` : r.reason)).join(', ');
}

/** The Forbidden message's tail for a refused pod: `violates PodSecurity "baseline:latest": …`. */
export function podSecurityDenial(p: Policy, spec: PodSpecLike): string | undefined {
  const v = podSecurityViolations(p, spec);
  return v === undefined ? undefined : `violates PodSecurity "${policyString(p)}": ${v}`;
}
