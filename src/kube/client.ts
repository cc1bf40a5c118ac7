// Loading a kubeconfig into @kubernetes/client-node: the one path to every
// cluster, the lab included.
import { PreconditionError } from '../errors.js';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { guardedCore, type RequestGuard } from './guard.js';

export class KubeconfigError extends PreconditionError {}

export interface Kube {
  kc: KubeConfig;
  core: CoreV1Api;
  server: string;
}

/** One kubeconfig file; an empty or malformed one is named as such, not as a stack of undefined properties. */
function loadFile(kc: KubeConfig, file: string): void {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new KubeconfigError(`kubeconfig \`${file}\` cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (!text.trim()) throw new KubeconfigError(`kubeconfig \`${file}\` is empty`);
  try {
    kc.loadFromString(text);
  } catch (err) {
    throw new KubeconfigError(`kubeconfig \`${file}\` is not a valid kubeconfig: ${(err as Error).message.split('\n')[0]}`);
  }
}

/** With a guard, every REST request has a deadline, can be aborted and reports to it (kube/guard.ts). */
export function loadKube(opts: { kubeconfig?: string; context?: string } = {}, guard?: RequestGuard): Kube {
  const kc = new KubeConfig();
  const file = opts.kubeconfig;
  // KUBECONFIG may list several files (path-list separated, as kubectl reads it): client-node merges them.
  const listed = (process.env.KUBECONFIG ?? '').split(delimiter).filter(Boolean);
  if (file) {
    if (!existsSync(file)) throw new KubeconfigError(`kubeconfig file \`${file}\` does not exist`);
    loadFile(kc, file);
  } else {
    if (listed.length && !listed.some((f) => existsSync(f))) throw new KubeconfigError(`none of the kubeconfig files in KUBECONFIG exists (${listed.join(delimiter)})`);
    const home = join(homedir(), '.kube', 'config');
    // Without any, client-node falls back to http://localhost:8080, an error that names nothing the user did.
    if (!listed.length && !existsSync(home) && !process.env.KUBERNETES_SERVICE_HOST) {
      throw new KubeconfigError(`no kubeconfig found (KUBECONFIG unset, ${home} missing, not in a cluster): pass --kubeconfig FILE`);
    }
    try {
      kc.loadFromDefault();
    } catch (err) {
      throw new KubeconfigError(`the kubeconfig cannot be read: ${(err as Error).message}`);
    }
  }
  if (opts.context) {
    if (!kc.getContextObject(opts.context)) {
      throw new KubeconfigError(`context \`${opts.context}\` is not in the kubeconfig (have: ${kc.getContexts().map((c) => c.name).join(', ') || 'none'})`);
    }
    kc.setCurrentContext(opts.context);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new KubeconfigError('the kubeconfig has no current cluster');
  return { kc, core: guard ? guardedCore(kc, cluster.server, guard) : kc.makeApiClient(CoreV1Api), server: cluster.server };
}
