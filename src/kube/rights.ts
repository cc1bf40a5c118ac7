// The Kubernetes rights each podwire command uses, as data (deploy/rbac.yaml
// grants exactly the run's; the README lists them per command), checked
// before a run touches anything: one SelfSubjectAccessReview per right (what
// `kubectl auth can-i` asks; every authenticated user may ask it), so a
// missing right stops the run before it creates a namespace it could not
// delete. And the words for a denial the API server sends later anyway.
import { AuthenticationV1Api, AuthorizationV1Api } from '@kubernetes/client-node';
import type { Kube } from './client.js';

export { rbacDenial } from '../forbidden.js';

export interface Right {
  verb: string;
  /** `pods`, `pods/exec`: resource and subresource as RBAC rules name them (all in the core API group). */
  resource: string;
  /** `cluster`: cluster-scoped or across all namespaces; `run`: in the run's own namespace. */
  scope: 'cluster' | 'run';
  why: string;
  /** Needed only from this Kubernetes minor version on. */
  fromMinor?: number;
  /** Only when the run deploys probes (not for API-only checks such as `--only NM-3.1`). */
  probes?: boolean;
}

/** What `podwire run` asks the API server for. deploy/rbac.yaml must grant exactly these (a unit test compares them). */
export const RUN_RIGHTS: readonly Right[] = [
  { verb: 'list', resource: 'nodes', scope: 'cluster', why: 'the nodes to probe, their addresses and pod CIDRs (NM-3.2)' },
  { verb: 'list', resource: 'pods', scope: 'cluster', why: 'every pod of the cluster (NM-3.1, NM-3.2, --external-target), and the probes while they start' },
  { verb: 'create', resource: 'namespaces', scope: 'cluster', why: 'the run\'s own namespace', probes: true },
  { verb: 'get', resource: 'namespaces', scope: 'run', why: 'waiting until the run\'s namespace is gone', probes: true },
  { verb: 'delete', resource: 'namespaces', scope: 'run', why: 'removing the run\'s namespace and its probes', probes: true },
  { verb: 'patch', resource: 'namespaces', scope: 'run', why: 'renewing the run\'s heartbeat annotation (podwire cleanup leaves live runs alone)', probes: true },
  { verb: 'create', resource: 'pods', scope: 'run', why: 'the probe pods', probes: true },
  { verb: 'watch', resource: 'pods', scope: 'run', why: 'knowing the moment each probe is ready', probes: true },
  { verb: 'get', resource: 'pods/exec', scope: 'run', why: 'the probe agent over WebSocket exec (a GET upgrade)', probes: true },
  // KEP-4006: from 1.35 a WebSocket exec is also authorized as `create` (gate AuthorizePodWebsocketUpgradeCreatePermission, on by default).
  { verb: 'create', resource: 'pods/exec', scope: 'run', why: 'WebSocket exec from Kubernetes 1.35 on, which also checks create', fromMinor: 35, probes: true },
];

/** What `podwire cleanup` asks for (deploy/rbac-cleanup.yaml). */
export const CLEANUP_RIGHTS: readonly Right[] = [
  { verb: 'list', resource: 'namespaces', scope: 'cluster', why: 'finding run namespaces by their label' },
  { verb: 'delete', resource: 'namespaces', scope: 'cluster', why: 'removing them' },
  { verb: 'get', resource: 'namespaces', scope: 'cluster', why: 'waiting until each is gone' },
];

/** The minor version of a gitVersion (`v1.32.0-…` → 32), undefined when it does not parse. */
export function minorOf(gitVersion: string): number | undefined {
  const m = /^v?1\.(\d+)/.exec(gitVersion);
  return m ? Number(m[1]) : undefined;
}

/** The rights a run needs on a server of this version (all of them when the version is unknown). */
export function runRights(gitVersion: string, probes: boolean): Right[] {
  const minor = minorOf(gitVersion);
  return RUN_RIGHTS.filter((r) => (probes || !r.probes) && (r.fromMinor === undefined || minor === undefined || minor >= r.fromMinor));
}

/** `create pods/exec in namespace podwire-x`, `list nodes (cluster-wide)`. */
export function describeRight(r: Pick<Right, 'verb' | 'resource' | 'scope'>, ns: string): string {
  return `${r.verb} ${r.resource} ${r.scope === 'run' ? `in namespace ${ns}` : '(cluster-wide)'}`;
}

/** One line naming every missing right. */
export function rbacLine(missing: Right[], ns: string, identity?: string): string {
  const who = identity ? `${identity} ` : '';
  return `RBAC: ${who}cannot ${missing.map((r) => describeRight(r, ns)).join(', cannot ')}`;
}

/**
 * Asks the API server, one SelfSubjectAccessReview per right, which rights
 * the kubeconfig's identity lacks in namespace `ns` (which need not exist
 * yet). `undefined` when the server does not answer (no such API, asking
 * forbidden): the caller goes on and meets any denial when it happens.
 */
export async function missingRights(kube: Kube, rights: readonly Right[], ns: string, limit: <T>(fn: () => Promise<T>) => Promise<T> = (fn) => fn()): Promise<Right[] | undefined> {
  const api = kube.kc.makeApiClient(AuthorizationV1Api);
  try {
    const answers = await Promise.all(rights.map((r) => {
      const [resource, subresource] = r.resource.split('/');
      const named = r.resource === 'namespaces' && r.scope === 'run';
      return limit(() => api.createSelfSubjectAccessReview({
        body: {
          apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview',
          spec: { resourceAttributes: { verb: r.verb, group: '', resource: resource!, ...(subresource ? { subresource } : {}), ...(r.scope === 'run' ? { namespace: ns } : {}), ...(named ? { name: ns } : {}) } },
        },
      }));
    }));
    return rights.filter((_, i) => answers[i]?.status?.allowed !== true);
  } catch (err) {
    // No such API (404), or asking is not allowed (403: system:basic-user unbound): no answer. Anything else (401, unreachable) is the caller's error.
    const code = (err as { code?: number }).code;
    if (code === 404 || code === 403) return undefined;
    throw err;
  }
}

/** The kubeconfig's identity as the API server sees it (a SelfSubjectReview, `kubectl auth whoami`), or undefined when it does not say. */
export async function whoAmI(kube: Kube): Promise<string | undefined> {
  try {
    const r = await kube.kc.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } });
    return r.status?.userInfo?.username || undefined;
  } catch {
    return undefined;
  }
}
