// A run's heartbeat: the annotation that tells `podwire cleanup` the run is
// live, renewed every few seconds by a merge patch of the namespace. It runs
// beside the `--concurrency` cap (a cap full of long execs must not starve
// it, or a live run would look dead), and it is also the run's regular sign
// of life from the API server (kube/guard.ts).
import { hostname } from 'node:os';
import { PatchStrategy, setHeaderOptions, type V1Namespace } from '@kubernetes/client-node';
import { RunAbortedError } from '../errors.js';
import { apiMessage } from '../conformance/probes.js';
import type { Kube } from '../kube/client.js';
import { ENDED_ANNOTATION, HEARTBEAT_ANNOTATION, HOLDER_ANNOTATION } from '../names.js';
import { ApiTimeoutError, type RequestGuard } from '../kube/guard.js';
import { HEARTBEAT_MS } from './leftovers.js';

/** A renewal without an answer after this long counts as a transport failure (kube/liveness.ts). */
const HEARTBEAT_ANSWER_MS = 3_000;

/** The annotations a run's namespace is created with. */
export function heartbeatAnnotations(now = new Date()): Record<string, string> {
  return { [HEARTBEAT_ANNOTATION]: now.toISOString(), [HOLDER_ANNOTATION]: `${hostname()} pid ${process.pid}` };
}

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

function patch(kube: Kube, ns: string, annotations: Record<string, string | null>): Promise<V1Namespace> {
  return kube.core.patchNamespace({ name: ns, body: { metadata: { annotations } } }, mergePatch);
}

/**
 * Renews the heartbeat every {@link HEARTBEAT_MS} until stopped. A refusal
 * that will not go away (403: no right to patch namespaces; 404: someone
 * deleted the run's namespace) is passed to `onFatal`; other failures are
 * the guard's to judge.
 */
export function startHeartbeat(kube: Kube, ns: string, guard: Pick<RequestGuard, 'failed'>, onFatal: (err: Error) => void): () => void {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const beat = async () => {
    // A renewal that takes this long tells the guard the API is not answering, before the request's own deadline.
    const slow = setTimeout(() => guard.failed(new ApiTimeoutError(`PATCH namespace ${ns}: no answer in ${HEARTBEAT_ANSWER_MS / 1000} s`)), HEARTBEAT_ANSWER_MS);
    try {
      await patch(kube, ns, { [HEARTBEAT_ANNOTATION]: new Date().toISOString() });
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (stopped) return;
      if (code === 403) return onFatal(new RunAbortedError(`cannot renew the run's heartbeat on namespace ${ns} (patch namespaces): ${apiMessage(err)}`));
      if (code === 404) return onFatal(new RunAbortedError(`namespace ${ns} was deleted during the run (by \`podwire cleanup\` of an older podwire, or by hand)`));
    }
    finally {
      clearTimeout(slow);
    }
    if (!stopped) timer = setTimeout(() => void beat(), HEARTBEAT_MS);
  };
  timer = setTimeout(() => void beat(), HEARTBEAT_MS);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/** A kept namespace (`--keep`): the heartbeat goes and the end is marked, so cleanup may delete it at once. */
export async function markEnded(kube: Kube, ns: string): Promise<void> {
  await patch(kube, ns, { [HEARTBEAT_ANNOTATION]: null, [ENDED_ANNOTATION]: new Date().toISOString() });
}
