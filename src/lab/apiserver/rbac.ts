// RBAC in the lab's API server: who a bearer token is (the admin token of
// the kubeconfig `lab up` wrote, or a token `lab kubeconfig --role` minted),
// what a request asks for (its verb, resource, subresource, name and
// namespace, as kube-apiserver's RequestInfoFactory reads a URL), and whether
// the token's rules allow it (as the RBAC authorizer's RuleAllows does:
// '*' for verbs, groups and resources, '*/subresource', resourceNames).
// A denial is the API server's 403 Status, in its own words.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiError } from './status.js';

export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

/** What a minted token may do: a ClusterRole's rules everywhere, a Role's rules in its namespace. */
export interface Grant {
  /** The identity, e.g. system:serviceaccount:podwire-system:podwire. */
  user: string;
  clusterRules: PolicyRule[];
  namespaced: { namespace: string; rules: PolicyRule[] }[];
  /** Where the rules came from (for the server log). */
  source?: string;
}

/** A request as the authorizer sees it (authorizer.Attributes). */
export interface RequestAttributes {
  verb: string;
  resourceRequest: boolean;
  path: string;
  apiGroup: string;
  resource: string;
  subresource: string;
  name: string;
  namespace: string;
}

export type Identity = { admin: true } | { admin: false; grant: Grant };

/** Namespace subresources that are not resources of their own (RequestInfoFactory's namespaceSubresources). */
const NAMESPACE_SUBRESOURCES = ['status', 'finalize'];

/**
 * What a request asks for, read from its method and URL the way
 * kube-apiserver's RequestInfoFactory does: a GET with a name is `get`,
 * without one `list` (or `watch` with watch=true; a `metadata.name=` field
 * selector names the object), POST `create`, PUT `update`, PATCH `patch`,
 * DELETE `delete` (`deletecollection` without a name). An exec's WebSocket
 * upgrade is a GET, so it is `get` on pods/exec; a POST exec is `create`.
 */
export function requestAttributes(method: string, url: URL): RequestAttributes {
  const path = url.pathname;
  const parts = path.split('/').filter(Boolean);
  const nonResource: RequestAttributes = { verb: method.toLowerCase(), resourceRequest: false, path, apiGroup: '', resource: '', subresource: '', name: '', namespace: '' };
  if (parts.length < 3 || (parts[0] !== 'api' && parts[0] !== 'apis')) return nonResource;
  let rest = parts.slice(1);
  let apiGroup = '';
  if (parts[0] === 'apis') {
    if (rest.length < 3) return nonResource;
    apiGroup = rest[0]!;
    rest = rest.slice(1);
  }
  rest = rest.slice(1); // the version
  const verbs: Record<string, string> = { POST: 'create', GET: 'get', HEAD: 'get', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };
  let verb = verbs[method] ?? '';
  let namespace = '';
  if (rest[0] === 'namespaces' && rest.length > 1) {
    namespace = rest[1]!;
    if (rest.length > 2 && !NAMESPACE_SUBRESOURCES.includes(rest[2]!)) rest = rest.slice(2);
  }
  const resource = rest[0] ?? '';
  let name = rest[1] ?? '';
  const subresource = rest[2] ?? '';
  if (!name && verb === 'get') {
    verb = ['1', 't', 'T', 'true', 'TRUE', 'True'].includes(url.searchParams.get('watch') ?? '') ? 'watch' : 'list';
    const exact = exactName(url.searchParams.get('fieldSelector'));
    if (exact) name = exact;
  }
  if (!name && verb === 'delete') verb = 'deletecollection';
  return { verb, resourceRequest: true, path, apiGroup, resource, subresource, name, namespace };
}

/** `metadata.name=X` (or `==`) as the only requirement on metadata.name of a field selector: the name a list or watch is about. */
function exactName(selector: string | null): string | undefined {
  if (!selector) return undefined;
  const names = selector.split(',').map((t) => /^metadata\.name==?(.*)$/.exec(t.trim())?.[1]).filter((n): n is string => n !== undefined);
  return names.length === 1 && /^[^/%]+$/.test(names[0]!) && names[0] !== '.' && names[0] !== '..' ? names[0] : undefined;
}

const has = (list: string[] | undefined, v: string) => (list ?? []).some((x) => x === '*' || x === v);

/** Whether one rule allows the request (RBAC's RuleAllows). */
export function ruleAllows(rule: PolicyRule, a: RequestAttributes): boolean {
  if (!has(rule.verbs, a.verb)) return false;
  if (!a.resourceRequest) {
    return (rule.nonResourceURLs ?? []).some((u) => u === '*' || u === a.path || (u.endsWith('*') && a.path.startsWith(u.slice(0, -1))));
  }
  if (!has(rule.apiGroups, a.apiGroup)) return false;
  const combined = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const resourceMatches = (rule.resources ?? []).some((r) => r === '*' || r === combined || (a.subresource !== '' && r === `*/${a.subresource}`));
  if (!resourceMatches) return false;
  return !rule.resourceNames?.length || rule.resourceNames.includes(a.name);
}

/**
 * Paths every authenticated user may read on a real cluster: the
 * system:discovery and system:public-info-viewer ClusterRoles are bound to
 * system:authenticated by default.
 */
const DISCOVERY = ['/api', '/api/*', '/apis', '/apis/*', '/healthz', '/livez', '/readyz', '/version', '/version/', '/openapi', '/openapi/*'];

/**
 * Requests every authenticated user may make: system:basic-user lets anyone
 * ask what they themselves may do (self subject access and rules reviews).
 */
const SELF_REVIEWS: PolicyRule[] = [
  { verbs: ['create'], apiGroups: ['authorization.k8s.io'], resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'] },
  { verbs: ['create'], apiGroups: ['authentication.k8s.io'], resources: ['selfsubjectreviews'] },
];

/** Whether the grant allows the request: its ClusterRole rules anywhere, a Role's rules in the Role's namespace only. */
export function allows(grant: Grant, a: RequestAttributes): boolean {
  if (!a.resourceRequest && ruleAllows({ verbs: ['get'], nonResourceURLs: DISCOVERY }, a)) return true;
  if (SELF_REVIEWS.some((r) => ruleAllows(r, a))) return true;
  if (grant.clusterRules.some((r) => ruleAllows(r, a))) return true;
  return a.namespace !== '' && grant.namespaced.some((n) => n.namespace === a.namespace && n.rules.some((r) => ruleAllows(r, a)));
}

/**
 * The API server's 403 for a denied request (responsewriters.Forbidden with
 * apierrors.NewForbidden): `pods "x" is forbidden: User "u" cannot create
 * resource "pods/exec" in API group "" in the namespace "ns"`; details carry
 * the resource as kind, and the name.
 */
export function forbidden(user: string, a: RequestAttributes): ApiError {
  if (!a.resourceRequest) return new ApiError(403, 'Forbidden', `forbidden: User ${q(user)} cannot ${a.verb} path ${q(a.path)}`);
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const scope = a.namespace ? `in the namespace ${q(a.namespace)}` : 'at the cluster scope';
  const why = `User ${q(user)} cannot ${a.verb} resource ${q(resource)} in API group ${q(a.apiGroup)} ${scope}`;
  const qualified = a.apiGroup ? `${a.resource}.${a.apiGroup}` : a.resource;
  const message = a.name ? `${qualified} ${q(a.name)} is forbidden: ${why}` : `${qualified} is forbidden: ${why}`;
  return new ApiError(403, 'Forbidden', message, { ...(a.name ? { name: a.name } : {}), ...(a.apiGroup ? { group: a.apiGroup } : {}), kind: a.resource });
}

/** Go's %q for the strings that occur here. */
const q = (s: string) => JSON.stringify(s);

/** Where a minted token's grant is kept: one file per token, named by the token's sha256 (the token itself is not stored). */
export const tokenFile = (tokensDir: string, token: string) => join(tokensDir, `${createHash('sha256').update(token).digest('hex')}.json`);

/**
 * The server's authenticator and authorizer. Minted tokens are looked up in
 * `tokensDir` when first seen (so `lab kubeconfig` works while the server
 * runs) and kept; a token that is not there yet is looked up again next time.
 */
export function createRbac(opts: { adminToken: string; tokensDir?: string; log?: (line: string) => void }) {
  const admin = Buffer.from(`Bearer ${opts.adminToken}`);
  const grants = new Map<string, Grant>();
  const lookup = (token: string): Grant | undefined => {
    if (!opts.tokensDir || !/^[\x21-\x7e]{16,512}$/.test(token)) return undefined;
    const cached = grants.get(token);
    if (cached) return cached;
    try {
      const g = JSON.parse(readFileSync(tokenFile(opts.tokensDir, token), 'utf8')) as Grant;
      grants.set(token, g);
      return g;
    } catch {
      return undefined;
    }
  };
  return {
    /** The identity behind an Authorization header, or undefined (401). */
    authenticate(header: string | undefined): Identity | undefined {
      const got = Buffer.from(header ?? '');
      if (got.length === admin.length && timingSafeEqual(got, admin)) return { admin: true };
      const m = /^Bearer (\S+)$/.exec(header ?? '');
      const grant = m ? lookup(m[1]!) : undefined;
      return grant ? { admin: false, grant } : undefined;
    },
    /** Throws the 403 Status when the identity may not make the request; the admin may do anything. */
    authorize(who: Identity, method: string, url: URL): void {
      if (who.admin) return;
      const a = requestAttributes(method, url);
      const ok = allows(who.grant, a);
      opts.log?.(`authz ${ok ? 'allowed' : 'denied'} user=${who.grant.user} verb=${a.verb} ${a.resourceRequest ? `resource=${a.subresource ? `${a.resource}/${a.subresource}` : a.resource} group=${a.apiGroup || '""'} namespace=${a.namespace || '-'} name=${a.name || '-'}` : `path=${a.path}`}`);
      if (!ok) throw forbidden(who.grant.user, a);
    },
    /** Who the identity is (POST /apis/authentication.k8s.io/v1/selfsubjectreviews, GA since 1.28). */
    whoAmI(who: Identity): unknown {
      const username = who.admin ? 'podwire-lab-admin' : who.grant.user;
      const groups = who.admin ? ['system:masters', 'system:authenticated'] : ['system:serviceaccounts', `system:serviceaccounts:${username.split(':')[2] ?? ''}`, 'system:authenticated'];
      return { kind: 'SelfSubjectReview', apiVersion: 'authentication.k8s.io/v1', metadata: {}, status: { userInfo: { username, groups } } };
    },
    /** A SelfSubjectAccessReview's answer for the identity (POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews). */
    review(who: Identity, body: unknown): unknown {
      const spec = (body as { spec?: { resourceAttributes?: Record<string, unknown>; nonResourceAttributes?: Record<string, unknown> } } | undefined)?.spec;
      const r = spec?.resourceAttributes;
      const n = spec?.nonResourceAttributes;
      if (!r && !n) throw new ApiError(422, 'Invalid', 'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes: Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified');
      const str = (v: unknown) => (typeof v === 'string' ? v : '');
      const a: RequestAttributes = r
        ? { verb: str(r.verb), resourceRequest: true, path: '', apiGroup: str(r.group), resource: str(r.resource), subresource: str(r.subresource), name: str(r.name), namespace: str(r.namespace) }
        : { verb: str(n!.verb), resourceRequest: false, path: str(n!.path), apiGroup: '', resource: '', subresource: '', name: '', namespace: '' };
      const allowed = who.admin || allows(who.grant, a);
      return { kind: 'SelfSubjectAccessReview', apiVersion: 'authorization.k8s.io/v1', metadata: {}, spec, status: { allowed, ...(allowed ? { reason: who.admin ? 'the lab\'s admin token' : 'RBAC: allowed by the token\'s rules' } : {}) } };
    },
  };
}

export type Rbac = ReturnType<typeof createRbac>;
