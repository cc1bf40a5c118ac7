// PodSecurity as the lab's API server enforces it: each modelled check on
// hand-made specs that break it and specs that keep it, podwire's own probe
// specs at every level, the namespace labels, and the admission chain
// (pinning policy, probe-denying webhook) with podwire's reading of refusals.
import { describe, expect, test } from 'vitest';
import { parseAdmission } from '../../src/cli/args.js';
import { admissionRefusal, podSecurityRefusedAll, probeSpec } from '../../src/conformance/probes.js';
import { admitNamespace, admitPod, PINNED_ANNOTATION, PROBE_WEBHOOK } from '../../src/lab/apiserver/admission.js';
import {
  labelProblem, MODELLED_CHECKS, namespacePolicy, podSecurityDenial, podSecurityViolations, type Level, type PodSpecLike, type Policy,
} from '../../src/lab/apiserver/pod-security.js';
import { ApiError } from '../../src/lab/apiserver/status.js';

const B: Policy = { level: 'baseline' };
const R: Policy = { level: 'restricted' };
/** A container that keeps every restricted rule. */
const safe = (name = 'app', extra: Record<string, unknown> = {}) => ({
  name, image: 'x', securityContext: { allowPrivilegeEscalation: false, runAsNonRoot: true, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' }, ...extra },
});
const pod = (spec: Partial<PodSpecLike> & Record<string, unknown>): PodSpecLike => ({ containers: [safe()], ...spec });

describe('PodSecurity checks, one per rule', () => {
  test.each<[string, Policy, PodSpecLike, string | undefined]>([
    // host namespaces
    ['hostNetwork', B, pod({ hostNetwork: true }), 'host namespaces (hostNetwork=true)'],
    ['hostPID and hostIPC', B, pod({ hostPID: true, hostIPC: true }), 'host namespaces (hostPID=true, hostIPC=true)'],
    ['hostNetwork false', B, pod({ hostNetwork: false, hostPID: false }), undefined],
    // privileged
    ['privileged container', B, pod({ containers: [safe('a', { privileged: true }), safe('b', { privileged: false })] }), 'privileged (container "a" must not set securityContext.privileged=true)'],
    ['privileged init containers', B, pod({ initContainers: [safe('i1', { privileged: true }), safe('i2', { privileged: true })] }), 'privileged (containers "i1", "i2" must not set securityContext.privileged=true)'],
    // capabilities (baseline set: NET_RAW is not in it, NET_BIND_SERVICE and CHOWN are)
    ['NET_ADMIN', B, pod({ containers: [{ name: 'c', securityContext: { capabilities: { add: ['NET_ADMIN'] } } }] }), 'non-default capabilities (container "c" must not include "NET_ADMIN" in securityContext.capabilities.add)'],
    ['NET_RAW', B, pod({ containers: [{ name: 'c', securityContext: { capabilities: { add: ['NET_RAW'] } } }] }), 'non-default capabilities (container "c" must not include "NET_RAW" in securityContext.capabilities.add)'],
    ['baseline-set capabilities', B, pod({ containers: [{ name: 'c', securityContext: { capabilities: { add: ['CHOWN', 'NET_BIND_SERVICE', 'KILL', 'SETUID'] } } }] }), undefined],
    ['capabilities of two containers, sorted', B, pod({ containers: [{ name: 'a', securityContext: { capabilities: { add: ['SYS_TIME'] } } }, { name: 'b', securityContext: { capabilities: { add: ['BPF', 'SYS_TIME'] } } }] }), 'non-default capabilities (containers "a", "b" must not include "BPF", "SYS_TIME" in securityContext.capabilities.add)'],
    // host ports
    ['hostPort', B, pod({ containers: [{ ...safe('web'), ports: [{ containerPort: 80, hostPort: 8080 }, { containerPort: 81 }] }] }), 'hostPort (container "web" uses hostPort 8080)'],
    ['hostPorts sorted as text', B, pod({ containers: [{ ...safe('a'), ports: [{ containerPort: 1, hostPort: 9000 }] }, { ...safe('b'), ports: [{ containerPort: 2, hostPort: 10000 }] }] }), 'hostPort (containers "a", "b" use hostPorts 10000, 9000)'],
    ['containerPort only', B, pod({ containers: [{ ...safe('web'), ports: [{ containerPort: 80 }] }] }), undefined],
    // hostPath
    ['hostPath volume', B, pod({ volumes: [{ name: 'h', hostPath: { path: '/' } }, { name: 'e', emptyDir: {} }] }), 'hostPath volumes (volume "h")'],
    ['emptyDir only', B, pod({ volumes: [{ name: 'e', emptyDir: {} }] }), undefined],
    // seccomp at baseline: only Unconfined is refused, unset is fine
    ['seccomp Unconfined', B, pod({ securityContext: { seccompProfile: { type: 'Unconfined' } } }), 'seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")'],
    ['seccomp unset', B, pod({ containers: [{ name: 'c' }] }), undefined],
    // restricted
    ['allowPrivilegeEscalation unset', R, pod({ containers: [safe('c', { allowPrivilegeEscalation: undefined })] }), 'allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false)'],
    ['no drop ALL', R, pod({ containers: [safe('c', { capabilities: { drop: ['NET_RAW'] } })] }), 'unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"])'],
    ['restricted adds beyond NET_BIND_SERVICE', R, pod({ containers: [safe('c', { capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE', 'CHOWN'] } })] }), 'unrestricted capabilities (container "c" must not include "CHOWN" in securityContext.capabilities.add)'],
    ['runAsNonRoot unset', R, pod({ containers: [safe('c', { runAsNonRoot: undefined })] }), 'runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true)'],
    ['runAsNonRoot at pod level', R, pod({ securityContext: { runAsNonRoot: true }, containers: [safe('c', { runAsNonRoot: undefined })] }), undefined],
    ['runAsNonRoot false', R, pod({ securityContext: { runAsNonRoot: false }, containers: [safe('c', { runAsNonRoot: false })] }), 'runAsNonRoot != true (pod and container "c" must not set securityContext.runAsNonRoot=false)'],
    ['runAsUser 0', R, pod({ securityContext: { runAsUser: 0 } }), 'runAsUser=0 (pod must not set runAsUser=0)'],
    ['runAsUser 1000', R, pod({ securityContext: { runAsUser: 1000 } }), undefined],
    ['seccomp unset at restricted', R, pod({ containers: [safe('c', { seccompProfile: undefined })] }), 'seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")'],
    ['restricted volume types', R, pod({ volumes: [{ name: 'h', hostPath: { path: '/' } }, { name: 'n', nfs: { server: 's', path: '/' } }, { name: 's', secret: {} }] }), 'restricted volume types (volumes "h", "n" use restricted volume types "hostPath", "nfs")'],
    ['a clean restricted pod', R, pod({ volumes: [{ name: 'c', configMap: {} }] }), undefined],
    // the baseline checks still run at restricted (host namespaces is not overridden)
    ['hostNetwork at restricted', R, pod({ hostNetwork: true }), 'host namespaces (hostNetwork=true)'],
  ])('%s (%j)', (_what, policy, spec, expected) => {
    expect(podSecurityViolations(policy, spec)).toBe(expected);
  });

  test('several checks in the API server\'s order (baseline ids sorted), each with its detail', () => {
    const spec = pod({ hostNetwork: true, volumes: [{ name: 'h', hostPath: { path: '/' } }], containers: [{ name: 'c', securityContext: { privileged: true, capabilities: { add: ['SYS_ADMIN'] } } }] });
    expect(podSecurityDenial(B, spec)).toBe('violates PodSecurity "baseline:latest": non-default capabilities (container "c" must not include "SYS_ADMIN" in securityContext.capabilities.add), host namespaces (hostNetwork=true), hostPath volumes (volume "h"), privileged (container "c" must not set securityContext.privileged=true)');
  });

  test('privileged allows everything; a policy version older than a check leaves it out', () => {
    const spec = pod({ hostNetwork: true, containers: [{ name: 'c', securityContext: { privileged: true } }] });
    expect(podSecurityViolations({ level: 'privileged' }, spec)).toBeUndefined();
    // capabilities_restricted came in v1.22: before it, the baseline capability check applies at restricted.
    const caps = pod({ containers: [safe('c', { capabilities: { add: ['NET_ADMIN'] } })] });
    expect(podSecurityDenial({ level: 'restricted', minor: 21 }, caps)).toBe('violates PodSecurity "restricted:v1.21": non-default capabilities (container "c" must not include "NET_ADMIN" in securityContext.capabilities.add)');
    expect(podSecurityDenial({ level: 'restricted', minor: 22 }, caps)).toContain('unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]; container "c" must not include "NET_ADMIN"');
  });

  test('the modelled checks are ordered as the API server orders them: baseline ids sorted, then restricted ids sorted', () => {
    const baseline = MODELLED_CHECKS.slice(0, 6);
    const restricted = MODELLED_CHECKS.slice(6);
    expect(baseline).toEqual([...baseline].sort());
    expect(restricted).toEqual([...restricted].sort());
    expect(baseline).toContain('hostNamespaces');
    expect(restricted).toContain('runAsNonRoot');
  });
});

describe('podwire\'s probe specs under PodSecurity', () => {
  const host = probeSpec({ run: 'r1', node: 'node-1', role: 'host', image: 'img', portBase: 20000 }).spec as PodSpecLike;
  const podA = probeSpec({ run: 'r1', node: 'node-1', role: 'pod', suffix: 'a', image: 'img', portBase: 20000 }).spec as PodSpecLike;

  test.each<[string, Level, PodSpecLike, string | undefined]>([
    ['host probe', 'privileged', host, undefined],
    ['pod probe', 'privileged', podA, undefined],
    ['host probe', 'baseline', host, 'non-default capabilities (container "probe" must not include "NET_ADMIN", "NET_RAW" in securityContext.capabilities.add), host namespaces (hostNetwork=true)'],
    ['pod probe', 'baseline', podA, 'non-default capabilities (container "probe" must not include "NET_ADMIN", "NET_RAW" in securityContext.capabilities.add)'],
    ['pod probe', 'restricted', podA, 'unrestricted capabilities (container "probe" must set securityContext.capabilities.drop=["ALL"]; container "probe" must not include "NET_ADMIN", "NET_RAW" in securityContext.capabilities.add), runAsNonRoot != true (pod or container "probe" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "probe" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")'],
    ['host probe', 'restricted', host, 'host namespaces (hostNetwork=true), unrestricted capabilities (container "probe" must set securityContext.capabilities.drop=["ALL"]; container "probe" must not include "NET_ADMIN", "NET_RAW" in securityContext.capabilities.add), runAsNonRoot != true (pod or container "probe" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "probe" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")'],
  ])('%s at %s', (_what, level, spec, expected) => {
    expect(podSecurityViolations({ level }, spec)).toBe(expected);
  });
});

describe('namespace labels', () => {
  test.each<[Record<string, string> | undefined, Level, Policy]>([
    [undefined, 'privileged', { level: 'privileged' }],
    [{}, 'baseline', { level: 'baseline' }],
    [{ 'pod-security.kubernetes.io/enforce': 'privileged' }, 'baseline', { level: 'privileged' }],
    [{ 'pod-security.kubernetes.io/enforce': 'baseline', 'pod-security.kubernetes.io/enforce-version': 'v1.30' }, 'privileged', { level: 'baseline', minor: 30 }],
    // What does not parse: restricted, latest (the API server's fallbacks).
    [{ 'pod-security.kubernetes.io/enforce': 'strict', 'pod-security.kubernetes.io/enforce-version': 'v2' }, 'privileged', { level: 'restricted' }],
  ])('%j with default %s → %j', (labels, dflt, policy) => {
    expect(namespacePolicy(labels, dflt)).toEqual(policy);
  });

  test('label values are validated as the API server does', () => {
    expect(labelProblem('pod-security.kubernetes.io/enforce', 'baseline')).toBeUndefined();
    expect(labelProblem('pod-security.kubernetes.io/enforce', 'Baseline')).toBe('must be one of privileged, baseline, restricted');
    expect(labelProblem('pod-security.kubernetes.io/enforce-version', 'latest')).toBeUndefined();
    expect(labelProblem('pod-security.kubernetes.io/enforce-version', 'v1.07')).toBe('must be "latest" or "v1.x"');
  });
});

describe('the lab\'s admission chain', () => {
  test('a namespace with a bad PodSecurity label is Invalid (422), naming the label and value', () => {
    const err = (() => {
      try {
        admitNamespace(undefined, 'typo', { 'pod-security.kubernetes.io/enforce': 'strict' });
      } catch (e) {
        return e as ApiError;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(ApiError);
    expect(err!.code).toBe(422);
    expect(err!.message).toBe('Namespace "typo" is invalid: metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "strict": must be one of privileged, baseline, restricted');
  });

  test('without pinning, a namespace keeps the level its creator asked for; with it, new namespaces get the cluster level and a note', () => {
    const asked = { 'pod-security.kubernetes.io/enforce': 'privileged', 'pod-security.kubernetes.io/enforce-version': 'latest', team: 'x' };
    expect(admitNamespace({ podSecurity: 'baseline' }, 'podwire-r1', asked).labels).toEqual(asked);
    const pinned = admitNamespace({ podSecurity: 'baseline', pinPodSecurity: true }, 'podwire-r1', asked);
    expect(pinned.labels).toEqual({ 'pod-security.kubernetes.io/enforce': 'baseline', team: 'x' });
    expect(pinned.annotations?.[PINNED_ANNOTATION]).toBe('enforce privileged asked, baseline set by the lab\'s namespace policy');
    // System namespaces are left alone, as such policies exclude them.
    expect(admitNamespace({ podSecurity: 'baseline', pinPodSecurity: true }, 'kube-system', asked).labels).toEqual(asked);
  });

  const probe = (node: string) => ({ name: `pw-host-${node}`, labels: { 'app.kubernetes.io/name': 'podwire-probe' }, spec: { nodeName: node, containers: [{ name: 'probe' }] } });

  test('PodSecurity follows the namespace label, else the cluster default', () => {
    const host = { ...probe('node-1'), spec: { ...probe('node-1').spec, hostNetwork: true } };
    expect(admitPod({ podSecurity: 'baseline' }, { 'pod-security.kubernetes.io/enforce': 'privileged' }, host)).toBeUndefined();
    const denied = admitPod({ podSecurity: 'baseline' }, {}, host);
    expect(denied?.code).toBe(403);
    expect(denied?.message).toBe('pods "pw-host-node-1" is forbidden: violates PodSecurity "baseline:latest": host namespaces (hostNetwork=true)');
    expect(admitPod(undefined, {}, host)).toBeUndefined();
  });

  test('the webhook refuses probe pods on the listed nodes only, with a webhook\'s message', () => {
    const cfg = { denyProbes: ['node-2'] };
    expect(admitPod(cfg, {}, probe('node-1'))).toBeUndefined();
    const denied = admitPod(cfg, {}, probe('node-2'));
    expect(denied?.code).toBe(403);
    expect(denied?.toStatus()).toMatchObject({ reason: 'Forbidden', details: { kind: 'pods', name: 'pw-host-node-2' } });
    expect(denied?.message).toBe(`pods "pw-host-node-2" is forbidden: admission webhook "${PROBE_WEBHOOK}" denied the request: probe pods are not allowed on node node-2 (lab --deny-probes)`);
    // Other pods on that node are admitted.
    expect(admitPod(cfg, {}, { ...probe('node-2'), labels: { app: 'web' } })).toBeUndefined();
  });
});

describe('podwire reads admission refusals', () => {
  test.each([
    ['creating probe pw-host-node-1: Forbidden (403): pods "pw-host-node-1" is forbidden: violates PodSecurity "baseline:latest": host namespaces (hostNetwork=true)',
      { kind: 'PodSecurity', by: 'PodSecurity "baseline:latest"', detail: 'host namespaces (hostNetwork=true)' }],
    ['Forbidden (403): pods "p" is forbidden: admission webhook "validate.kyverno.svc-fail" denied the request: policy disallow-host-namespaces: fail',
      { kind: 'webhook', by: 'admission webhook "validate.kyverno.svc-fail"', detail: 'policy disallow-host-namespaces: fail' }],
    ['Forbidden (403): pods "p" is forbidden: admission webhook "x.example" denied the request without explanation',
      { kind: 'webhook', by: 'admission webhook "x.example"', detail: 'without explanation' }],
  ])('%s', (message, refusal) => {
    expect(admissionRefusal(message)).toEqual(refusal);
  });

  test('other refusals are not admission\'s', () => {
    expect(admissionRefusal('Forbidden (403): pods "p" is forbidden: exceeded quota: compute, requested: pods=1')).toBeUndefined();
    expect(admissionRefusal('Forbidden (403): pods is forbidden: User "x" cannot create resource "pods"')).toBeUndefined();
  });

  test('the line a run ends with names the policy, a probe, what the probes need and a changed label', () => {
    const r = { kind: 'PodSecurity' as const, by: 'PodSecurity "baseline:latest"', detail: 'host namespaces (hostNetwork=true)' };
    expect(podSecurityRefusedAll('podwire-r1', 'pw-host-node-1', r, 'privileged')).toBe('PodSecurity "baseline:latest" refused every probe (pw-host-node-1: host namespaces (hostNetwork=true)): the probes need the privileged level (hostNetwork, NET_RAW, NET_ADMIN) in their namespace podwire-r1');
    expect(podSecurityRefusedAll('podwire-r1', 'pw-host-node-1', r, 'baseline')).toMatch(/in their namespace podwire-r1, which a policy on the cluster labelled enforce=baseline although podwire asked for privileged$/);
  });
});

describe('lab up admission flags', () => {
  test('parsed and checked against the lab\'s nodes', () => {
    expect(parseAdmission(undefined, false, [], 3)).toBeUndefined();
    expect(parseAdmission('baseline', true, ['node-2,node-3', 'node-2'], 3)).toEqual({ podSecurity: 'baseline', pinPodSecurity: true, denyProbes: ['node-2', 'node-3'] });
    expect(() => parseAdmission('strict', false, [], 3)).toThrow('expected `--pod-security` to be one of privileged, baseline, restricted, got `strict`');
    expect(() => parseAdmission(undefined, false, ['node-4'], 3)).toThrow('`--deny-probes` names lab nodes (node-1 to node-3), got `node-4`');
    expect(() => parseAdmission(undefined, true, [], 3)).toThrow('`--pin-pod-security` pins new namespaces to the `--pod-security` level');
  });
});
