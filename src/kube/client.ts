// Loading a kubeconfig into @kubernetes/client-node: the one path to every
// cluster, the lab included.
import { PreconditionError } from '../errors.js';
import { existsSync } from 'node:fs';
import { delimiter } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';

export class KubeconfigError extends PreconditionError {}

export interface Kube {
  kc: KubeConfig;
  core: CoreV1Api;
  server: string;
}

export function loadKube(opts: { kubeconfig?: string; context?: string } = {}): Kube {
  const kc = new KubeConfig();
  const file = opts.kubeconfig;
  // KUBECONFIG may list several files (path-list separated, as kubectl reads it): client-node merges them.
  const listed = (process.env.KUBECONFIG ?? '').split(delimiter).filter(Boolean);
  if (file) {
    if (!existsSync(file)) throw new KubeconfigError(`kubeconfig file \`${file}\` does not exist`);
    try {
      kc.loadFromFile(file);
    } catch (err) {
      throw new KubeconfigError(`kubeconfig \`${file}\` cannot be read: ${(err as Error).message}`);
    }
  } else {
    if (listed.length && !listed.some((f) => existsSync(f))) throw new KubeconfigError(`none of the kubeconfig files in KUBECONFIG exists (${listed.join(delimiter)})`);
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
  return { kc, core: kc.makeApiClient(CoreV1Api), server: cluster.server };
}
