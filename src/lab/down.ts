// `lab down`: stops the API server (by its recorded PID), kills every process
// in the lab's netns, deletes the netns and the state directory. Works from
// whatever is left, also when the server was killed or state is missing.
import { readdir, readFile, rm } from 'node:fs/promises';
import { labOfNetns, labPlan, STATE_ROOT } from './plan.js';
import { listNetns } from './sh.js';
import { readApiEndpoint, readJson, paths } from './state.js';
import { destroyLab, pidAlive, waitGone } from './topology.js';

export interface LabDownResult {
  name: string;
  found: boolean;
  netnsRemoved: string[];
  processesKilled: number;
  serverStopped: boolean;
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
  const state = await readJson<{ kubeconfigOut?: string; token?: string }>(p.state).catch(() => undefined);
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
  // The kubeconfig written for the user goes too, if it is still this lab's.
  if (state?.kubeconfigOut && state.token) {
    const text = await readFile(state.kubeconfigOut, 'utf8').catch(() => '');
    if (text.includes(state.token)) await rm(state.kubeconfigOut, { force: true });
  }
  return { name, found: found || netns.length > 0, netnsRemoved: netns, processesKilled: killed.length, serverStopped };
}

/** Names of every lab on this machine: state directories and stray netns alike. */
export async function allLabs(): Promise<string[]> {
  const dirs = await readdir(STATE_ROOT).catch(() => [] as string[]);
  const fromNetns = (await listNetns()).map(labOfNetns).filter((x): x is string => !!x);
  return [...new Set([...dirs, ...fromNetns])].sort();
}
