// `lab kubeconfig --role FILE`: the ClusterRoles and Roles of a YAML file
// (one or several documents, as `kubectl apply -f` takes them), read into
// the grant a minted token carries. Every ClusterRole in the file is bound
// cluster-wide and every Role in its own namespace, as a ClusterRoleBinding
// and RoleBindings to one ServiceAccount would bind them; the first
// ServiceAccount subject of a binding in the file names that identity.
// Pure: text in, grant out, or a UsageError naming the document and field.
import { CORE_SCHEMA, loadAll } from 'js-yaml';
import { UsageError } from '../errors.js';
import type { Grant, PolicyRule } from './apiserver/rbac.js';

const RBAC_API = 'rbac.authorization.k8s.io/v1';
const DEFAULT_SA = { namespace: 'default', name: 'podwire-lab' };

type Doc = Record<string, unknown>;

const isObject = (v: unknown): v is Doc => typeof v === 'object' && v !== null && !Array.isArray(v);

function strings(v: unknown, where: string, required: boolean): string[] | undefined {
  if (v === undefined || v === null) {
    if (required) throw new UsageError(`${where} is missing`);
    return undefined;
  }
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new UsageError(`${where} must be a list of strings, got ${JSON.stringify(v)}`);
  return v as string[];
}

function parseRule(v: unknown, where: string, namespaced: boolean): PolicyRule {
  if (!isObject(v)) throw new UsageError(`${where} must be a mapping, got ${JSON.stringify(v)}`);
  const verbs = strings(v.verbs, `${where}.verbs`, true)!;
  if (verbs.length === 0) throw new UsageError(`${where}.verbs is empty: a rule must allow at least one verb`);
  const apiGroups = strings(v.apiGroups, `${where}.apiGroups`, false);
  const resources = strings(v.resources, `${where}.resources`, false);
  const resourceNames = strings(v.resourceNames, `${where}.resourceNames`, false);
  const nonResourceURLs = strings(v.nonResourceURLs, `${where}.nonResourceURLs`, false);
  // The API server's own validation of a PolicyRule (rbac validation.ValidatePolicyRule).
  if (nonResourceURLs?.length) {
    if (namespaced) throw new UsageError(`${where}.nonResourceURLs: namespaced rules cannot apply to non-resource URLs`);
    if (apiGroups?.length || resources?.length) throw new UsageError(`${where}: rules cannot apply to both regular resources and non-resource URLs`);
    return { verbs, nonResourceURLs };
  }
  if (!apiGroups?.length) throw new UsageError(`${where}.apiGroups is missing: resource rules must supply at least one api group (\`""\` is the core group)`);
  if (!resources?.length) throw new UsageError(`${where}.resources is missing: resource rules must supply at least one resource`);
  return { verbs, apiGroups, resources, ...(resourceNames?.length ? { resourceNames } : {}) };
}

/** The grant of every ClusterRole and Role in `text` (the contents of `source`). */
export function parseRoleFile(text: string, source: string): Grant {
  let docs: unknown[];
  try {
    docs = loadAll(text, undefined, { schema: CORE_SCHEMA, filename: source }).filter((d) => d !== null && d !== undefined);
  } catch (err) {
    throw new UsageError(`\`--role\` \`${source}\` is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const grant: Grant = { user: '', clusterRules: [], namespaced: [], source };
  let sa: { namespace: string; name: string } | undefined;
  const kinds: string[] = [];
  docs.forEach((doc, i) => {
    const at = `\`--role\` \`${source}\`, document ${i + 1}`;
    if (!isObject(doc)) throw new UsageError(`${at} is not a Kubernetes object`);
    const kind = String(doc.kind ?? '');
    kinds.push(kind || '(no kind)');
    const meta = isObject(doc.metadata) ? doc.metadata : {};
    const name = typeof meta.name === 'string' ? meta.name : '';
    if (kind === 'ClusterRole' || kind === 'Role') {
      if (doc.apiVersion !== RBAC_API) throw new UsageError(`${at} (${kind} ${name}): expected apiVersion ${RBAC_API}, got ${JSON.stringify(doc.apiVersion)}`);
      if (doc.aggregationRule !== undefined) throw new UsageError(`${at} (${kind} ${name}): aggregationRule is not supported by the lab; list the rules`);
      const where = `${at} (${kind} ${name || '(no name)'}) rules`;
      const raw = doc.rules ?? [];
      if (!Array.isArray(raw)) throw new UsageError(`${where} must be a list`);
      const rules = raw.map((r, j) => parseRule(r, `${where}[${j}]`, kind === 'Role'));
      if (kind === 'ClusterRole') grant.clusterRules.push(...rules);
      else grant.namespaced.push({ namespace: typeof meta.namespace === 'string' && meta.namespace ? meta.namespace : 'default', rules });
    } else if ((kind === 'ClusterRoleBinding' || kind === 'RoleBinding') && !sa) {
      const subject = (Array.isArray(doc.subjects) ? doc.subjects : []).find((s): s is Doc => isObject(s) && s.kind === 'ServiceAccount' && typeof s.name === 'string');
      if (subject) sa = { name: subject.name as string, namespace: typeof subject.namespace === 'string' ? subject.namespace : typeof meta.namespace === 'string' ? meta.namespace : 'default' };
    }
  });
  if (grant.clusterRules.length === 0 && grant.namespaced.length === 0 && !kinds.some((k) => k === 'ClusterRole' || k === 'Role')) {
    throw new UsageError(`\`--role\` \`${source}\` holds no ClusterRole or Role (found: ${kinds.join(', ') || 'nothing'})`);
  }
  const who = sa ?? DEFAULT_SA;
  grant.user = `system:serviceaccount:${who.namespace}:${who.name}`;
  return grant;
}
