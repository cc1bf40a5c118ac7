// waitProbes: a probe counts the moment the watch says it is ready; lists
// carry on when there is no watch or it ends; the deadline fails the rest.
import { expect, test } from 'vitest';
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { waitProbes, type PodWatcher } from '../../src/conformance/probes.js';

const pod = (name: string, ready: boolean): V1Pod => ({
  metadata: { name },
  status: ready
    ? { phase: 'Running', podIP: '10.0.0.1', containerStatuses: [{ name: 'c', ready: true, image: 'x', imageID: '', restartCount: 0 }] }
    : { phase: 'Pending', containerStatuses: [{ name: 'c', ready: false, image: 'x', imageID: '', restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } }] },
});

/** A CoreV1Api whose list answers with `state()` and counts its calls. */
function fakeCore(state: () => V1Pod[]) {
  const calls = { list: 0 };
  const core = { listNamespacedPod: async () => ((calls.list++), { metadata: { resourceVersion: '7' }, items: state() }) } as unknown as CoreV1Api;
  return { core, calls };
}

test('with a watch: ready as soon as the event says so, after one list, and the watch is stopped', async () => {
  const { core, calls } = fakeCore(() => [pod('a', false), pod('b', true)]);
  let stopped = 0;
  let from: string | undefined;
  const watch: PodWatcher = async (_ns, rv, onEvent) => {
    from = rv;
    setTimeout(() => onEvent({ type: 'MODIFIED', pod: pod('a', true) }), 30);
    return () => void stopped++;
  };
  const t0 = Date.now();
  const progress: string[] = [];
  const w = await waitProbes(core, 'ns', ['a', 'b'], 10_000, (r, t) => progress.push(`${r}/${t}`), watch);
  expect([...w.ready.keys()].sort()).toEqual(['a', 'b']);
  expect(w.failed.size).toBe(0);
  expect(from).toBe('7'); // the watch starts where the list ended
  expect(calls.list).toBe(1);
  expect(stopped).toBe(1);
  expect(progress).toEqual(['1/2', '2/2']);
  expect(Date.now() - t0).toBeLessThan(2_000);
});

test('without a watch: lists until every probe is ready', async () => {
  let n = 0;
  const { core, calls } = fakeCore(() => [pod('a', ++n >= 3)]);
  const w = await waitProbes(core, 'ns', ['a'], 10_000);
  expect([...w.ready.keys()]).toEqual(['a']);
  expect(calls.list).toBe(3);
});

test('a watch that ends at once (an error, closed) leaves the lists to find the probe ready', async () => {
  let n = 0;
  const { core } = fakeCore(() => [pod('a', ++n >= 2)]);
  let stopped = 0;
  const watch: PodWatcher = async (_ns, _rv, _onEvent, onEnd) => {
    onEnd(new Error('watch closed'));
    return () => void stopped++;
  };
  const t0 = Date.now();
  const w = await waitProbes(core, 'ns', ['a'], 10_000, undefined, watch);
  expect([...w.ready.keys()]).toEqual(['a']);
  expect(stopped).toBe(1);
  expect(Date.now() - t0).toBeLessThan(2_000); // the polling pace, not the slow safety-net one
});

test('a watch RBAC forbids (403) ends the wait with the right it needs, not a slide into polling', async () => {
  const { core, calls } = fakeCore(() => [pod('a', false)]);
  const watch: PodWatcher = async (_ns, _rv, _onEvent, onEnd) => {
    onEnd(Object.assign(new Error('Forbidden'), { statusCode: 403 }));
    return () => undefined;
  };
  await expect(waitProbes(core, 'podwire-x', ['a'], 10_000, undefined, watch)).rejects.toThrow(/^RBAC: cannot watch pods in namespace podwire-x \(403 Forbidden\)$/);
  expect(calls.list).toBe(1);
});

test('a deleted probe fails at once; one never ready fails at the deadline with its reason', async () => {
  const { core } = fakeCore(() => [pod('a', false), pod('b', false)]);
  const watch: PodWatcher = async (_ns, _rv, onEvent) => {
    setTimeout(() => onEvent({ type: 'DELETED', pod: pod('a', false) }), 10);
    return () => undefined;
  };
  const w = await waitProbes(core, 'ns', ['a', 'b'], 600, undefined, watch);
  expect(w.ready.size).toBe(0);
  expect(w.failed.get('a')).toBe('the pod is gone');
  expect(w.failed.get('b')).toBe('not ready after 1 s: ContainerCreating');
});
