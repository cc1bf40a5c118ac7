// `lab down`: stops the API server (by its recorded PID), kills every process
// in the lab's netns, deletes the netns and the state directory. Works from
// whatever is left, also when the server was killed or state is missing.
import { createHash } from 'node:crypto';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { labOfNetns, labPlan, STATE_ROOT } from './plan.js';
import { listNetns } from './sh.js';
import { readApiEndpoint, readJson, paths, type KubeconfigCopy } from './state.js';
import { destroyLab, pidAlive, waitGone } from './topology.js';

export interface LabDownResult {
  name: string;
  found: boolean;
  netnsRemoved: string[];
  processesKilled: number;
  serverStopped: boolean;
  /** The `--kubeconfig-out` copy: removed, or left because it changed since `lab up` wrote it (or is gone). */
  kubeconfigCopy?: { path: string; fate: CopyFate };
  /** Kubeconfigs `lab kubeconfig` wrote for minted tokens, with the same fates. */
  mintedCopies?: { path: string; fate: CopyFate }[];
}

export type CopyFate = 'removed' | 'changed' | 'gone';

/** What becomes of the copy: removed only while it holds exactly what the lab wrote. Pure. */
export function copyFate(record: KubeconfigCopy, current: string | undefined): CopyFate {
  if (current === undefined) return 'gone';
  return createHash('sha256').update(current).digest('hex') === record.sha256 ? 'removed' : 'changed';
}

/** True when `pid` is this lab's API server (guards against PID reuse). */
async function isLabServer(pid: number, stateDir: string): Promise<boolean> {
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  return cmdline.split('\0').includes(stateDir);
}

export async function labDown(name: string): Promise<LabDownResult> {
  const { stateDir } = labPlan(name, 1, 'host-gw');
  const p = paths(stateDir);
  const api = await readApiEndpoint(stateDir).catch(() => undefined);
  const state = await readJson<object>(p.state).catch(() => undefined);
  const copy = await readJson<KubeconfigCopy>(p.kubeconfigCopy).catch(() => undefined);
  const minted = await mintedCopies(p.tokens);
  let serverStopped = false;
  if (api?.pid && pidAlive(api.pid) && (await isLabServer(api.pid, stateDir))) {
    process.kill(api.pid, 'SIGTERM');
    if (!(await waitGone([api.pid], 1_500))) {
      process.kill(api.pid, 'SIGKILL');
      await waitGone([api.pid], 2_000);
    }
    serverStopped = true;
  }
  const found = serverStopped || !!state || (await readdir(stateDir).then(() => true, () => false));
  const { netns, killed } = await destroyLab(name, stateDir);
  // The kubeconfig written for the user goes too, if it still holds exactly what the lab wrote there.
  let kubeconfigCopy: LabDownResult['kubeconfigCopy'];
  if (copy?.path && copy.sha256) {
    const fate = copyFate(copy, await readFile(copy.path, 'utf8').catch(() => undefined));
    if (fate === 'removed') await rm(copy.path, { force: true });
    kubeconfigCopy = { path: copy.path, fate };
  }
  const mintedFates = await Promise.all(minted.map(async (c) => {
    const fate = copyFate(c, await readFile(c.path, 'utf8').catch(() => undefined));
    if (fate === 'removed') await rm(c.path, { force: true });
    return { path: c.path, fate };
  }));
  return {
    name, found: found || netns.length > 0, netnsRemoved: netns, processesKilled: killed.length, serverStopped,
    ...(kubeconfigCopy ? { kubeconfigCopy } : {}), ...(mintedFates.length ? { mintedCopies: mintedFates } : {}),
  };
}

/** The kubeconfigs written for minted tokens, from their records (read before the state directory goes). */
async function mintedCopies(tokensDir: string): Promise<KubeconfigCopy[]> {
  const files = await readdir(tokensDir).catch(() => [] as string[]);
  const records = await Promise.all(files.filter((f) => f.endsWith('.json')).map((f) => readJson<{ out?: KubeconfigCopy }>(join(tokensDir, f)).catch(() => undefined)));
  return records.map((r) => r?.out).filter((o): o is KubeconfigCopy => typeof o?.path === 'string' && typeof o.sha256 === 'string');
}

/** Names of every lab on this machine: state directories and stray netns alike. */
export async function allLabs(): Promise<string[]> {
  const dirs = await readdir(STATE_ROOT).catch(() => [] as string[]);
  const fromNetns = (await listNetns()).map(labOfNetns).filter((x): x is string => !!x);
  return [...new Set([...dirs, ...fromNetns])].sort();
}
