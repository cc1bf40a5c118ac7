// Pod watches: the API server streams each change to the pods of a
// namespace, so waiting for pods costs one request, not a list every few
// hundred milliseconds.
import { Watch, type KubeConfig, type V1Pod } from '@kubernetes/client-node';

export type PodWatchEvent = { type: 'ADDED' | 'MODIFIED' | 'DELETED'; pod: V1Pod };

/**
 * Watches the pods of `namespace` from `resourceVersion`; `onEnd` is called
 * once when the watch ends (error, server-side close, 410 Gone). Resolves to
 * a function that stops it.
 */
export async function watchPods(kc: KubeConfig, namespace: string, resourceVersion: string | undefined, onEvent: (e: PodWatchEvent) => void, onEnd: (err?: Error) => void): Promise<() => void> {
  let ended = false;
  const end = (err?: Error) => {
    if (ended) return;
    ended = true;
    onEnd(err);
  };
  const ctl = await new Watch(kc).watch(`/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`, { ...(resourceVersion ? { resourceVersion } : {}) }, (type, obj: unknown) => {
    if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') onEvent({ type, pod: obj as V1Pod });
    else if (type === 'ERROR') end(new Error(`watch error: ${(obj as { message?: string })?.message ?? 'unknown'}`));
  }, (err: unknown) => end(err instanceof Error ? err : err ? new Error(String(err)) : undefined));
  return () => {
    ended = true;
    ctl.abort();
  };
}
