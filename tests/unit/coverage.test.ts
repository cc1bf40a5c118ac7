// Which nodes a run probes: virtual-kubelet, non-Linux and not-Ready nodes
// are left out on purpose; a probe that is not ready says why in words an
// admin acts on, and only some reasons end the wait at once.
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { expect, test } from 'vitest';
import { notReadyReason } from '../../src/conformance/probes.js';
import { leftOutReason } from '../../src/run/collect.js';

const node = (over: { labels?: Record<string, string>; taints?: { key: string; effect: string }[]; ready?: string; os?: string }) => ({
  metadata: { name: 'n', labels: over.labels ?? {} },
  spec: { taints: over.taints ?? [] },
  status: { conditions: [{ type: 'Ready', status: over.ready ?? 'True' }], nodeInfo: { operatingSystem: over.os ?? 'linux' } },
}) as V1Node;

test.each([
  [{}, undefined],
  [{ labels: { type: 'virtual-kubelet' } }, /virtual-kubelet node/],
  [{ taints: [{ key: 'virtual-kubelet.io/provider', effect: 'NoSchedule' }] }, /virtual-kubelet node/],
  [{ taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] }, undefined],
  [{ labels: { 'kubernetes.io/os': 'windows' } }, /not a Linux node \(windows\)/],
  [{ os: 'windows' }, /not a Linux node/],
  [{ ready: 'False' }, /not Ready/],
  [{ ready: 'Unknown' }, /not Ready/],
])('node %j → left out: %s', (over, reason) => {
  const r = leftOutReason(node(over));
  if (reason === undefined) expect(r).toBeUndefined();
  else expect(r).toMatch(reason);
});

const pod = (status: V1Pod['status']): V1Pod => ({ metadata: { name: 'p' }, status });

test.each([
  [{ phase: 'Running', podIP: '10.0.0.1', containerStatuses: [{ name: 'c', ready: true, image: '', imageID: '', restartCount: 0 }] }, undefined],
  [{ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes' }] }, { reason: 'Unschedulable: 0/3 nodes', fatal: false }],
  [{ phase: 'Pending', containerStatuses: [{ name: 'c', ready: false, image: '', imageID: '', restartCount: 0, state: { waiting: { reason: 'ImagePullBackOff', message: 'pull limit' } } }] }, { reason: 'ImagePullBackOff: pull limit', fatal: true }],
  [{ phase: 'Pending', containerStatuses: [{ name: 'c', ready: false, image: '', imageID: '', restartCount: 0, state: { waiting: { reason: 'ErrImagePull' } } }] }, { reason: 'ErrImagePull', fatal: false }],
  [{ phase: 'Pending', containerStatuses: [{ name: 'c', ready: false, image: '', imageID: '', restartCount: 0, state: { waiting: { reason: 'ContainerCreating', message: 'FailedCreatePodSandBox: no IP addresses available' } } }] },
    { reason: 'ContainerCreating: FailedCreatePodSandBox: no IP addresses available', fatal: false }],
  [{ phase: 'Failed', reason: 'OutOfpods', message: "Node didn't have enough resource: pods" }, { reason: "pod Failed: OutOfpods (Node didn't have enough resource: pods)", fatal: true }],
])('probe status %j → %j', (status, want) => {
  expect(notReadyReason(pod(status as V1Pod['status']))).toEqual(want);
});
