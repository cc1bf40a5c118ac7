// The lab API server's admission chain, run on namespace and pod creation
// the way a real API server runs its plugins after authorization:
//  1. a mutating namespace policy (`lab up --pin-pod-security`): every new
//     namespace's enforce level is set to the cluster's level, whatever the
//     creator asked for, as Kyverno "add-psa-labels"-style mutations or
//     OpenShift's label synchroniser do on real clusters;
//  2. PodSecurity: namespace labels validated on create; pods checked
//     against their namespace's level (`lab up --pod-security` is the
//     default for namespaces without the label, as AdmissionConfiguration's
//     `defaults.enforce`);
//  3. a validating webhook (`lab up --deny-probes NODE,...`) that refuses
//     podwire's probe pods bound to those nodes.
// Pure: the cluster calls it with the object and throws what it returns.
import { ApiError, errors } from './status.js';
import { ENFORCE_LABEL, ENFORCE_VERSION_LABEL, labelProblem, namespacePolicy, podSecurityDenial, type Level, type PodSpecLike } from './pod-security.js';

/** `lab up`'s admission options, kept in the lab state. */
export interface AdmissionConfig {
  /** Enforce level for namespaces without the label (default privileged, as a stock API server). */
  podSecurity?: Level;
  /** Set every new namespace's enforce level to `podSecurity`, overriding its labels. */
  pinPodSecurity?: boolean;
  /** Nodes whose podwire probe pods the lab's webhook refuses. */
  denyProbes?: string[];
}

export const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];
/** The webhook's name, as a ValidatingWebhookConfiguration would name it. */
export const PROBE_WEBHOOK = 'deny-probes.lab.podwire.dev';
/** Set on a namespace whose labels the pinning policy changed: what was asked, what was set. */
export const PINNED_ANNOTATION = 'lab.podwire.dev/pod-security-pinned';
/** How podwire's probe pods are labelled (conformance/probes.ts); the webhook matches on it. */
const PROBE_SELECTOR = { key: 'app.kubernetes.io/name', value: 'podwire-probe' };

/**
 * A new namespace's labels and annotations after admission: pinned to the
 * cluster level when the lab pins it; throws a 422 for PodSecurity labels
 * that do not parse.
 */
export function admitNamespace(cfg: AdmissionConfig | undefined, name: string, labels: Record<string, string>, annotations?: Record<string, string>): { labels: Record<string, string>; annotations?: Record<string, string> } {
  let out = { ...labels };
  let notes = annotations;
  if (cfg?.pinPodSecurity && !SYSTEM_NAMESPACES.includes(name)) {
    const level = cfg.podSecurity ?? 'privileged';
    const asked = labels[ENFORCE_LABEL];
    out = { ...out, [ENFORCE_LABEL]: level };
    delete out[ENFORCE_VERSION_LABEL];
    if (asked !== level) notes = { ...(annotations ?? {}), [PINNED_ANNOTATION]: `enforce ${asked ?? '(unset)'} asked, ${level} set by the lab's namespace policy` };
  }
  for (const key of [ENFORCE_LABEL, ENFORCE_VERSION_LABEL]) {
    const v = out[key];
    const problem = v === undefined ? undefined : labelProblem(key, v);
    if (problem) throw errors.invalid('Namespace', name, `metadata.labels[${key}]`, `Invalid value: ${JSON.stringify(v)}: ${problem}`);
  }
  return { labels: out, ...(notes ? { annotations: notes } : {}) };
}

/** Admits a pod into a namespace with these labels, or returns the 403 a real API server gives. */
export function admitPod(cfg: AdmissionConfig | undefined, namespaceLabels: Record<string, string> | undefined, pod: { name: string; labels?: Record<string, string>; spec: PodSpecLike & { nodeName?: unknown } }): ApiError | undefined {
  const policy = namespacePolicy(namespaceLabels, cfg?.podSecurity ?? 'privileged');
  const denial = podSecurityDenial(policy, pod.spec);
  if (denial) return errors.forbidden('pods', pod.name, denial);
  const node = typeof pod.spec.nodeName === 'string' ? pod.spec.nodeName : undefined;
  if (node && cfg?.denyProbes?.includes(node) && pod.labels?.[PROBE_SELECTOR.key] === PROBE_SELECTOR.value) {
    return errors.forbidden('pods', pod.name, `admission webhook "${PROBE_WEBHOOK}" denied the request: probe pods are not allowed on node ${node} (lab --deny-probes)`);
  }
  return undefined;
}
