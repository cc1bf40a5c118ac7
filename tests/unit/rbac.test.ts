// RBAC in the lab, read as the Kubernetes API server reads it: request
// attributes from method and URL (RequestInfoFactory), rule matching
// (RuleAllows: '*', '*/subresource', resourceNames), the 403 in the API
// server's words; role files; and the rights podwire asks for against
// deploy/rbac.yaml.
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { allows, forbidden, requestAttributes, ruleAllows, type Grant, type PolicyRule } from '../../src/lab/apiserver/rbac.js';
import { parseRoleFile } from '../../src/lab/rbac-file.js';
import { CLEANUP_RIGHTS, RUN_RIGHTS, minorOf, rbacDenial, rbacLine, runRights } from '../../src/kube/rights.js';
import { apiMessage } from '../../src/conformance/probes.js';
import { UsageError } from '../../src/errors.js';

const attrs = (method: string, path: string) => requestAttributes(method, new URL(path, 'https://lab'));
const short = (method: string, path: string) => {
  const a = attrs(method, path);
  return a.resourceRequest
    ? [a.verb, a.apiGroup, a.subresource ? `${a.resource}/${a.subresource}` : a.resource, a.namespace, a.name].join(' ')
    : `${a.verb} path ${a.path}`;
};

describe('request attributes, as kube-apiserver reads a request', () => {
  test.each([
    ['GET', '/api/v1/nodes', 'list  nodes  '],
    ['GET', '/api/v1/nodes/node-1', 'get  nodes  node-1'],
    ['GET', '/api/v1/pods?limit=500', 'list  pods  '],
    ['GET', '/api/v1/namespaces/ns1/pods?watch=true&resourceVersion=7', 'watch  pods ns1 '],
    ['GET', '/api/v1/namespaces/ns1/pods?watch=1', 'watch  pods ns1 '],
    ['GET', '/api/v1/namespaces/ns1/pods?watch=false', 'list  pods ns1 '],
    ['GET', '/api/v1/namespaces/ns1/pods?fieldSelector=metadata.name%3Dp1', 'list  pods ns1 p1'],
    ['GET', '/api/v1/namespaces/ns1/pods?fieldSelector=metadata.name%3Dp1,status.phase%3DRunning', 'list  pods ns1 p1'],
    ['GET', '/api/v1/namespaces/ns1/pods?fieldSelector=status.phase%3DRunning', 'list  pods ns1 '],
    ['POST', '/api/v1/namespaces/ns1/pods', 'create  pods ns1 '],
    ['DELETE', '/api/v1/namespaces/ns1/pods/p1', 'delete  pods ns1 p1'],
    ['DELETE', '/api/v1/namespaces/ns1/pods?labelSelector=a%3Db', 'deletecollection  pods ns1 '],
    ['PUT', '/api/v1/namespaces/ns1/pods/p1', 'update  pods ns1 p1'],
    ['PATCH', '/api/v1/namespaces/ns1/pods/p1', 'patch  pods ns1 p1'],
    // An exec's WebSocket upgrade is a GET (get), SPDY's a POST (create).
    ['GET', '/api/v1/namespaces/ns1/pods/p1/exec?command=sh', 'get  pods/exec ns1 p1'],
    ['POST', '/api/v1/namespaces/ns1/pods/p1/exec?command=sh', 'create  pods/exec ns1 p1'],
    ['GET', '/api/v1/namespaces/ns1/pods/p1/log', 'get  pods/log ns1 p1'],
    // A namespace is its own namespace; its status and finalize are subresources.
    ['POST', '/api/v1/namespaces', 'create  namespaces  '],
    ['GET', '/api/v1/namespaces?labelSelector=podwire.dev%2Frun', 'list  namespaces  '],
    ['GET', '/api/v1/namespaces/ns1', 'get  namespaces ns1 ns1'],
    ['DELETE', '/api/v1/namespaces/ns1', 'delete  namespaces ns1 ns1'],
    ['GET', '/api/v1/namespaces/ns1/status', 'get  namespaces/status ns1 ns1'],
    ['GET', '/apis/apps/v1/namespaces/ns1/deployments/d/scale', 'get apps deployments/scale ns1 d'],
    ['POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', 'create authorization.k8s.io selfsubjectaccessreviews  '],
    ['GET', '/api', 'get path /api'],
    ['GET', '/api/v1', 'get path /api/v1'],
    ['GET', '/apis/authorization.k8s.io/v1', 'get path /apis/authorization.k8s.io/v1'],
    ['GET', '/metrics', 'get path /metrics'],
  ])('%s %s → %s', (method, path, want) => {
    expect(short(method, path)).toBe(want);
  });
});

describe('rule matching (RuleAllows)', () => {
  const core = (resources: string[], verbs: string[], extra: Partial<PolicyRule> = {}): PolicyRule => ({ apiGroups: [''], resources, verbs, ...extra });
  test.each<[string, PolicyRule, string, string, boolean]>([
    ['exact', core(['pods'], ['list']), 'GET', '/api/v1/namespaces/a/pods', true],
    ['other verb', core(['pods'], ['get']), 'GET', '/api/v1/namespaces/a/pods', false],
    ['watch is not list', core(['pods'], ['list']), 'GET', '/api/v1/namespaces/a/pods?watch=true', false],
    ['verb *', core(['pods'], ['*']), 'DELETE', '/api/v1/namespaces/a/pods', true],
    ['resource * covers subresources', core(['*'], ['get']), 'GET', '/api/v1/namespaces/a/pods/p/exec', true],
    ['pods does not cover pods/exec', core(['pods'], ['get', 'create']), 'GET', '/api/v1/namespaces/a/pods/p/exec', false],
    ['pods/exec does not cover pods', core(['pods/exec'], ['get']), 'GET', '/api/v1/namespaces/a/pods/p', false],
    ['*/exec covers pods/exec', core(['*/exec'], ['get']), 'GET', '/api/v1/namespaces/a/pods/p/exec', true],
    ['*/exec does not cover pods/log', core(['*/exec'], ['get']), 'GET', '/api/v1/namespaces/a/pods/p/log', false],
    ['*/exec does not cover pods', core(['*/exec'], ['get']), 'GET', '/api/v1/namespaces/a/pods/p', false],
    ['pods/* is no wildcard in RBAC', core(['pods/*'], ['get']), 'GET', '/api/v1/namespaces/a/pods/p/exec', false],
    ['other API group', { apiGroups: ['apps'], resources: ['pods'], verbs: ['list'] }, 'GET', '/api/v1/namespaces/a/pods', false],
    ['API group *', { apiGroups: ['*'], resources: ['pods'], verbs: ['list'] }, 'GET', '/api/v1/namespaces/a/pods', true],
    ['resourceNames: the named one', core(['pods'], ['get'], { resourceNames: ['p'] }), 'GET', '/api/v1/namespaces/a/pods/p', true],
    ['resourceNames: another', core(['pods'], ['get'], { resourceNames: ['p'] }), 'GET', '/api/v1/namespaces/a/pods/q', false],
    ['resourceNames: a list has no name', core(['pods'], ['list'], { resourceNames: ['p'] }), 'GET', '/api/v1/namespaces/a/pods', false],
    ['resourceNames: a list of one name by field selector', core(['pods'], ['list'], { resourceNames: ['p'] }), 'GET', '/api/v1/namespaces/a/pods?fieldSelector=metadata.name%3Dp', true],
    ['resourceNames: an exec into the named pod', core(['pods/exec'], ['get'], { resourceNames: ['p'] }), 'GET', '/api/v1/namespaces/a/pods/p/exec', true],
    ['non-resource exact', { verbs: ['get'], nonResourceURLs: ['/metrics'] }, 'GET', '/metrics', true],
    ['non-resource prefix', { verbs: ['get'], nonResourceURLs: ['/logs/*'] }, 'GET', '/logs/a', true],
    ['non-resource rule, resource request', { verbs: ['get'], nonResourceURLs: ['*'] }, 'GET', '/api/v1/nodes/n', false],
  ])('%s', (_what, rule, method, path, want) => {
    expect(ruleAllows(rule, attrs(method, path))).toBe(want);
  });

  const grant: Grant = {
    user: 'system:serviceaccount:default:t',
    clusterRules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['list'] }],
    namespaced: [{ namespace: 'team', rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['list'] }] }],
  };
  test.each([
    ['GET', '/api/v1/nodes', true],
    ['GET', '/api/v1/namespaces/team/pods', true],
    ['GET', '/api/v1/namespaces/other/pods', false], // a Role's rules stay in its namespace
    ['GET', '/api/v1/pods', false], // and do not reach across all namespaces
    ['GET', '/api', true], // discovery: system:discovery is bound to every authenticated user
    ['GET', '/apis/authorization.k8s.io/v1', true],
    ['POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', true], // system:basic-user
    ['GET', '/metrics', false],
  ])('a ClusterRole everywhere, a Role in its namespace: %s %s → %s', (method, path, want) => {
    expect(allows(grant, attrs(method, path))).toBe(want);
  });
});

describe('the 403 in the API server\'s words', () => {
  const u = 'system:serviceaccount:podwire-system:podwire';
  test.each([
    ['POST', '/api/v1/namespaces/podwire-x/pods', 'pods is forbidden: User "system:serviceaccount:podwire-system:podwire" cannot create resource "pods" in API group "" in the namespace "podwire-x"', { kind: 'pods' }],
    ['GET', '/api/v1/namespaces/podwire-x/pods/pw-1/exec', 'pods "pw-1" is forbidden: User "system:serviceaccount:podwire-system:podwire" cannot get resource "pods/exec" in API group "" in the namespace "podwire-x"', { kind: 'pods', name: 'pw-1' }],
    ['POST', '/api/v1/namespaces', 'namespaces is forbidden: User "system:serviceaccount:podwire-system:podwire" cannot create resource "namespaces" in API group "" at the cluster scope', { kind: 'namespaces' }],
    ['GET', '/api/v1/nodes', 'nodes is forbidden: User "system:serviceaccount:podwire-system:podwire" cannot list resource "nodes" in API group "" at the cluster scope', { kind: 'nodes' }],
    ['GET', '/apis/apps/v1/namespaces/a/deployments/d', 'deployments.apps "d" is forbidden: User "system:serviceaccount:podwire-system:podwire" cannot get resource "deployments" in API group "apps" in the namespace "a"', { kind: 'deployments', name: 'd', group: 'apps' }],
    ['GET', '/metrics', 'forbidden: User "system:serviceaccount:podwire-system:podwire" cannot get path "/metrics"', undefined],
  ])('%s %s', (method, path, message, details) => {
    const s = forbidden(u, attrs(method, path)).toStatus();
    expect(s).toMatchObject({ kind: 'Status', status: 'Failure', code: 403, reason: 'Forbidden', message });
    expect(s.details).toEqual(details);
  });

  test.each([
    ['POST', '/api/v1/namespaces/podwire-x/pods', 'RBAC: system:serviceaccount:podwire-system:podwire cannot create pods in namespace podwire-x'],
    ['GET', '/api/v1/namespaces/podwire-x/pods/p/exec', 'RBAC: system:serviceaccount:podwire-system:podwire cannot get pods/exec in namespace podwire-x'],
    ['GET', '/api/v1/nodes', 'RBAC: system:serviceaccount:podwire-system:podwire cannot list nodes (cluster-wide)'],
    ['GET', '/apis/apps/v1/namespaces/a/deployments/d/scale', 'RBAC: system:serviceaccount:podwire-system:podwire cannot get deployments.apps/scale in namespace a'],
    ['GET', '/metrics', 'RBAC: system:serviceaccount:podwire-system:podwire cannot get path /metrics'],
  ])('podwire words the denial of %s %s in one line', (method, path, line) => {
    const body = JSON.stringify(forbidden(u, attrs(method, path)).toStatus());
    expect(rbacDenial(JSON.parse(body).message)).toBe(line);
    // As client-node hands it over: an ApiException with the code and the Status body.
    expect(apiMessage({ code: 403, body })).toBe(line);
  });

  test('a 403 that is not the authorizer\'s (admission, PodSecurity) keeps its own words', () => {
    const message = 'pods "pw-host-node-1" is forbidden: violates PodSecurity "baseline:latest": host namespaces (hostNetwork=true)';
    expect(rbacDenial(message)).toBeUndefined();
    expect(apiMessage({ code: 403, body: JSON.stringify({ kind: 'Status', code: 403, reason: 'Forbidden', message }) })).toBe(`Forbidden (403): ${message}`);
  });
});

describe('role files (lab kubeconfig --role)', () => {
  test('deploy/rbac.yaml: its ClusterRole\'s rules, the binding\'s ServiceAccount as the user', () => {
    const g = parseRoleFile(readFileSync('deploy/rbac.yaml', 'utf8'), 'deploy/rbac.yaml');
    expect(g.user).toBe('system:serviceaccount:podwire-system:podwire');
    expect(g.namespaced).toEqual([]);
    expect(g.clusterRules.map((r) => `${r.resources!.join(',')}:${r.verbs.join(',')}`)).toEqual(['nodes:list', 'namespaces:create,get,delete,patch', 'pods:create,list,watch', 'pods/exec:get,create']);
  });

  test('a Role applies in its namespace ("default" when it names none); no binding: a default ServiceAccount', () => {
    const g = parseRoleFile([
      'apiVersion: rbac.authorization.k8s.io/v1', 'kind: Role', 'metadata: {name: r, namespace: team}', 'rules: [{apiGroups: [""], resources: [pods], verbs: [get], resourceNames: [p1]}]', '---',
      'apiVersion: rbac.authorization.k8s.io/v1', 'kind: Role', 'metadata: {name: r2}', 'rules: [{apiGroups: ["*"], resources: ["*"], verbs: ["*"]}]',
    ].join('\n'), 'f.yaml');
    expect(g.user).toBe('system:serviceaccount:default:podwire-lab');
    expect(g.clusterRules).toEqual([]);
    expect(g.namespaced).toEqual([
      { namespace: 'team', rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'], resourceNames: ['p1'] }] },
      { namespace: 'default', rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }] },
    ]);
  });

  const role = (rules: string, kind = 'ClusterRole') => `apiVersion: rbac.authorization.k8s.io/v1\nkind: ${kind}\nmetadata: {name: x}\nrules: ${rules}\n`;
  test.each([
    ['not YAML', 'a: [b', /^`--role` `f.yaml` is not valid YAML: /],
    ['no role', 'apiVersion: v1\nkind: ConfigMap\n', /^`--role` `f.yaml` holds no ClusterRole or Role \(found: ConfigMap\)$/],
    ['empty', '', /holds no ClusterRole or Role \(found: nothing\)$/],
    ['a scalar', 'hello', /document 1 is not a Kubernetes object$/],
    ['no verbs', role('[{apiGroups: [""], resources: [pods]}]'), /\(ClusterRole x\) rules\[0\]\.verbs is missing$/],
    ['verbs not a list', role('[{apiGroups: [""], resources: [pods], verbs: get}]'), /rules\[0\]\.verbs must be a list of strings, got "get"$/],
    ['no apiGroups', role('[{resources: [pods], verbs: [get]}]'), /rules\[0\]\.apiGroups is missing: resource rules must supply at least one api group/],
    ['no resources', role('[{apiGroups: [""], verbs: [get]}]'), /rules\[0\]\.resources is missing/],
    ['a Role with a URL', role('[{nonResourceURLs: [/metrics], verbs: [get]}]', 'Role'), /namespaced rules cannot apply to non-resource URLs$/],
    ['both kinds of rule', role('[{nonResourceURLs: [/metrics], apiGroups: [""], resources: [pods], verbs: [get]}]'), /rules cannot apply to both regular resources and non-resource URLs$/],
    ['wrong apiVersion', role('[]').replace('rbac.authorization.k8s.io/v1', 'rbac.authorization.k8s.io/v1beta1'), /expected apiVersion rbac.authorization.k8s.io\/v1, got "rbac.authorization.k8s.io\/v1beta1"$/],
    ['aggregation', `${role('[]')}aggregationRule: {clusterRoleSelectors: []}\n`, /aggregationRule is not supported by the lab/],
  ])('%s: one line naming the document and field', (_what, text, message) => {
    let err: unknown;
    try {
      parseRoleFile(text, 'f.yaml');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).not.toContain('\n');
  });
});

describe('the rights podwire asks for', () => {
  /** verb resource pairs a file's ClusterRoles grant (core group only, no wildcards, as deploy/ files are written). */
  const granted = (file: string) => parseRoleFile(readFileSync(file, 'utf8'), file).clusterRules
    .flatMap((r) => {
      expect(r.apiGroups).toEqual(['']);
      expect(r.resourceNames).toBeUndefined();
      return r.resources!.flatMap((res) => r.verbs.map((v) => `${v} ${res}`));
    }).sort();
  const asked = (rights: readonly { verb: string; resource: string }[]) => [...new Set(rights.map((r) => `${r.verb} ${r.resource}`))].sort();

  test('deploy/rbac.yaml grants exactly what a run asks for, no more', () => {
    expect(granted('deploy/rbac.yaml')).toEqual(asked(RUN_RIGHTS));
  });

  test('deploy/rbac-cleanup.yaml grants exactly what cleanup asks for', () => {
    expect(granted('deploy/rbac-cleanup.yaml')).toEqual(asked(CLEANUP_RIGHTS));
  });

  test('create on pods/exec is asked of servers from 1.35 on (WebSocket exec checks it there), and of servers of unknown version', () => {
    const execVerbs = (v: string) => runRights(v, true).filter((r) => r.resource === 'pods/exec').map((r) => r.verb);
    expect(execVerbs('v1.32.0-podwire-lab')).toEqual(['get']);
    expect(execVerbs('v1.34.2')).toEqual(['get']);
    expect(execVerbs('v1.35.0')).toEqual(['get', 'create']);
    expect(execVerbs('v2')).toEqual(['get', 'create']);
    expect(minorOf('v1.33.1+k3s1')).toBe(33);
  });

  test('a run without probes (API checks only) asks only to list nodes and pods', () => {
    expect(runRights('v1.32.0', false).map((r) => `${r.verb} ${r.resource}`)).toEqual(['list nodes', 'list pods']);
  });

  test('the line names every missing right and where', () => {
    const missing = RUN_RIGHTS.filter((r) => r.resource === 'pods/exec' || r.resource === 'nodes');
    expect(rbacLine(missing, 'podwire-abc')).toBe('RBAC: cannot list nodes (cluster-wide), cannot get pods/exec in namespace podwire-abc, cannot create pods/exec in namespace podwire-abc');
  });
});
