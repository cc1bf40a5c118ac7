// `--external-target` inside the cluster (a node's address, a node's pod
// range, a live pod) is refused with the reason, before probes are deployed.
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { expect, test } from 'vitest';
import { externalTargetConflict } from '../../src/conformance/external-target.js';

const node = (name: string, ip: string, podCIDRs?: string[]): V1Node => ({
  metadata: { name }, spec: podCIDRs ? { podCIDR: podCIDRs[0], podCIDRs } : {},
  status: { addresses: [{ type: 'InternalIP', address: ip }, { type: 'Hostname', address: name }] },
});
const pod = (name: string, ip: string, extra: Partial<V1Pod> = {}): V1Pod => ({ metadata: { name, namespace: 'apps' }, spec: { containers: [] }, status: { phase: 'Running', podIP: ip }, ...extra });
const nodes = [node('node-1', '172.18.0.11', ['10.244.1.0/24']), node('node-2', '172.18.0.12', ['10.244.2.0/24', 'fd00:2::/64']), node('vpc-1', '172.18.0.13')];
const pods = [pod('web', '172.18.64.5'), pod('old', '172.18.64.9', { status: { phase: 'Succeeded', podIP: '172.18.64.9' } })];

test.each([
  ['172.18.0.12', 443, '`--external-target 172.18.0.12:443` is node node-2\'s InternalIP address: egress checks need a server outside the cluster'],
  ['10.244.1.77', 80, '`--external-target 10.244.1.77:80` is inside node node-1\'s pod range 10.244.1.0/24: egress checks need a server outside the cluster'],
  ['10.244.2.0', 80, 'inside node node-2\'s pod range 10.244.2.0/24'],
  ['172.18.64.5', 8080, '`--external-target 172.18.64.5:8080` is the address of pod apps/web: egress checks need a server outside the cluster'],
])('%s:%i is refused: %s', (ip, port, why) => {
  const msg = externalTargetConflict({ ip, port }, nodes, pods);
  expect(msg).toContain(why);
  expect(msg!.split('\n')).toHaveLength(1);
});

test.each([
  ['198.51.100.10'], // outside everything
  ['10.244.3.1'], // next to the pod ranges, not in one
  ['172.18.64.9'], // a finished pod's stale address is nobody's
  ['172.18.0.1'], // the router: on the node subnet, but not a node
])('%s is accepted', (ip) => {
  expect(externalTargetConflict({ ip, port: 80 }, nodes, pods)).toBeUndefined();
});

test('a node with only the legacy spec.podCIDR field still has its range checked', () => {
  const legacy: V1Node = { metadata: { name: 'n' }, spec: { podCIDR: '10.9.0.0/16' }, status: { addresses: [] } };
  expect(externalTargetConflict({ ip: '10.9.3.3', port: 1 }, [legacy], [])).toContain('pod range 10.9.0.0/16');
});
