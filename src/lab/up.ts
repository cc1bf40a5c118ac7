// `lab up`: topology, PKI, the detached API server, the kubeconfig.
import { PreconditionError } from '../errors.js';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, openSync, closeSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { generatePki, kubeconfigYaml } from './certs.js';
import { DEFAULT_CNI_BIN_DIR } from './cni.js';
import { cniConfigConflict } from './cni-config.js';
import { extraPodRanges, loadCniConfig, renderForNodes } from './cni-config-file.js';
import { apiRequest } from './lab-api.js';
import { labPlan, type Dataplane, type IpFamily, type Primary, type Uplinks } from './plan.js';
import { defaultMTU, underlayConflict } from './underlay.js';
import { faultConflict, type FaultName } from './faults.js';
import { IPV6_REQUIREMENTS, LAB_REQUIREMENTS, preflight } from './preflight.js';
import { ensureDir, paths, readApiEndpoint, writeJsonAtomic, type ApiEndpoint, type KubeconfigCopy, type LabState } from './state.js';
import { buildTopology, labNetns, pidAlive, startInternetListener } from './topology.js';
import { labDown } from './down.js';
import { admissionConflict, describeAdmission } from './admission-options.js';
import type { AdmissionConfig } from './apiserver/admission.js';

export class LabError extends PreconditionError {}

export interface LabUpOptions {
  name: string;
  nodes: number;
  dataplane: Dataplane;
  /** Faults to apply (src/lab/faults.ts). */
  faults?: FaultName[];
  /** How nodes reach the outside (default single). */
  uplinks?: Uplinks;
  /** The underlay's MTU (default 1500; 9001 with jumbo-blackhole). */
  mtu?: number;
  /** Pod and API address families (default ipv4). */
  ipFamily?: IpFamily;
  /** dual only: the family listed first (default ipv4). */
  primary?: Primary;
  /** A conflist for every node's pods instead of the profile's own config (host-gw, vxlan). */
  cniConfig?: string;
  /** Where its plugins are (default /usr/lib/cni). */
  cniBinDir?: string;
  /** Also write the kubeconfig here (an absolute path the caller checked); never over an existing file unless `force`. */
  kubeconfigOut?: string;
  force?: boolean;
  /** PodSecurity default and pinning, probe-denying webhook (`--pod-security`, `--pin-pod-security`, `--deny-probes`). */
  admission?: AdmissionConfig;
  log?: (line: string) => void;
  /**
   * Aborted by an interrupt: no new step starts, the step under way ends
   * (a started API server is killed), and what was built is removed before
   * labUp rejects with the signal's reason.
   */
  signal?: AbortSignal;
}

export interface LabUpResult {
  state: LabState;
  api: ApiEndpoint;
  kubeconfig: string;
  timingsMs: Record<string, number>;
}

const SERVER_MAIN = fileURLToPath(new URL('./apiserver/main.js', import.meta.url));
const API_READY_TIMEOUT_MS = 15_000;

export async function assertNameFree(name: string): Promise<void> {
  const plan = labPlan(name, 1, 'host-gw');
  const netns = await labNetns(name);
  if (existsSync(plan.stateDir) || netns.length) {
    throw new LabError(`a lab named \`${name}\` already exists (${existsSync(plan.stateDir) ? plan.stateDir : `${netns.length} netns`}); use another --name or run \`podwire lab down --name ${name}\``);
  }
}

export async function labUp(opts: LabUpOptions): Promise<LabUpResult> {
  const log = opts.log ?? (() => undefined);
  const t0 = performance.now();
  const timingsMs: Record<string, number> = {};
  const mark = (k: string, from: number) => (timingsMs[k] = Math.round(performance.now() - from));

  const faults = [...new Set(opts.faults ?? [])];
  const uplinks = opts.uplinks ?? 'single';
  const mtu = opts.mtu ?? defaultMTU(faults);
  const ipFamily = opts.ipFamily ?? 'ipv4';
  const conflict = familyConflict(ipFamily, opts.primary, opts.cniConfig !== undefined)
    ?? underlayConflict({ uplinks, mtu, faults, nodes: opts.nodes, dataplane: opts.dataplane, ipFamily }) ?? faultConflict(faults, opts.dataplane, opts.nodes, ipFamily)
    ?? (opts.cniConfig === undefined ? undefined : cniConfigConflict(opts.dataplane, faults)) ?? admissionConflict(opts.admission, opts.nodes);
  if (conflict) throw new LabError(conflict);
  if (opts.cniBinDir !== undefined && opts.cniConfig === undefined) throw new LabError('`--cni-bin-dir` goes with `--cni-config` (the profiles\' own configs use /usr/lib/cni)');
  const cniBinDir = opts.cniBinDir ?? DEFAULT_CNI_BIN_DIR;
  // The conflist is checked and rendered before anything is built or installed.
  const cni = opts.cniConfig === undefined ? undefined : await loadCniConfig(opts.cniConfig, cniBinDir);
  const base = labPlan(opts.name, opts.nodes, opts.dataplane, faults, { uplinks, mtu, ipFamily, ...(opts.primary ? { primary: opts.primary } : {}) });
  const rendered = cni ? renderForNodes(base, cni.list) : undefined;
  const plan = rendered ? { ...base, podRanges: extraPodRanges(opts.cniConfig!, rendered) } : base;
  const signal = opts.signal;
  await preflight(ipFamily === 'ipv4' ? LAB_REQUIREMENTS : [...LAB_REQUIREMENTS, ...IPV6_REQUIREMENTS], { install: true, log });
  signal?.throwIfAborted();
  await assertNameFree(opts.name);
  signal?.throwIfAborted();
  const p = paths(plan.stateDir);
  const state: LabState = {
    apiVersion: 'podwire.dev/v1alpha1',
    kind: 'LabState',
    ...plan,
    cniBinDir,
    ...(cni ? { cniConfig: cni.info } : {}),
    ...(opts.admission && describeAdmission(opts.admission) ? { admission: opts.admission } : {}),
    token: randomBytes(24).toString('hex'),
    createdAt: new Date().toISOString(),
    ...(opts.kubeconfigOut ? { kubeconfigOut: opts.kubeconfigOut } : {}),
  };
  let internetListeners: number[] = [];
  try {
    await ensureDir(plan.stateDir);
    await writeJsonAtomic(p.state, state);
    if (rendered) {
      await ensureDir(p.cniDir);
      for (const [node, conf] of rendered) await writeJsonAtomic(p.cniConf(node), conf);
    }
    log(`building ${opts.nodes} node(s), dataplane ${opts.dataplane}, ${familyText(plan)}, uplinks ${uplinks}, mtu ${mtu}${faults.length ? `, faults: ${faults.join(', ')}` : ''}${cni ? `, CNI config ${cni.info.source} (${cni.info.plugins.join(' → ')})` : ''}${describeAdmission(opts.admission) ? `, admission: ${describeAdmission(opts.admission)}` : ''}`);
    const t1 = performance.now();
    // Both settle before a failure is thrown: the teardown must not race a step still writing into the lab.
    await allSettledOrThrow([
      buildTopology(plan, signal).then(() => mark('topology', t1)),
      generatePki(p.pki, `podwire-${opts.name}`).then(() => mark('pki', t1)),
    ]);
    signal?.throwIfAborted();
    internetListeners = startInternetListener(plan);
    log('starting the API server');
    const t2 = performance.now();
    const api = await startServer(plan.stateDir, signal);
    mark('apiserver', t2);
    signal?.throwIfAborted();
    const kubeconfig = await kubeconfigYaml({ name: opts.name, server: api.url, caCertFile: p.caCert, token: state.token });
    await writeFile(p.kubeconfig, kubeconfig, { mode: 0o600 });
    if (opts.kubeconfigOut) await writeKubeconfigCopy(p.kubeconfigCopy, opts.kubeconfigOut, kubeconfig, opts.force ?? false);
    mark('total', t0);
    return { state, api, kubeconfig: opts.kubeconfigOut ?? p.kubeconfig, timingsMs };
  } catch (err) {
    // The listeners are killed by their PIDs too: an `ip netns exec` that had not yet entered the netns would escape the teardown's netns sweep.
    for (const pid of internetListeners.filter(pidAlive)) process.kill(pid, 'SIGKILL');
    await labDown(opts.name).catch(() => undefined);
    throw err;
  }
}

/** Why `--ip-family`/`--primary` cannot be given so, or undefined (before anything is built). */
export function familyConflict(ipFamily: IpFamily, primary: Primary | undefined, cniConfig: boolean): string | undefined {
  if (primary !== undefined && ipFamily !== 'dual') return `\`--primary\` orders the two families of a dual-stack lab: it needs \`--ip-family dual\`, got ${ipFamily}`;
  if (cniConfig && ipFamily !== 'ipv4') return `\`--cni-config\` builds IPv4 labs only (its placeholders give one podCIDR): it cannot be combined with \`--ip-family ${ipFamily}\``;
  return undefined;
}

/** `ipv4`, `ipv6`, `dual (IPv4 first)`, `dual (IPv6 first)`. */
export function familyText(lab: { ipFamily?: IpFamily; primary?: Primary }): string {
  const f = lab.ipFamily ?? 'ipv4';
  return f === 'dual' ? `dual-stack (${lab.primary === 'ipv6' ? 'IPv6' : 'IPv4'} first)` : f;
}

/** Waits for every promise; then throws the first failure, if any. */
async function allSettledOrThrow(ps: Promise<unknown>[]): Promise<void> {
  const failed = (await Promise.allSettled(ps)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/**
 * The user's copy of the kubeconfig. Its path and digest are recorded first,
 * so `lab down` removes it only while it still holds what the lab wrote;
 * `wx` refuses a file that appeared since the check before the build.
 */
async function writeKubeconfigCopy(recordFile: string, path: string, kubeconfig: string, force: boolean): Promise<void> {
  const record: KubeconfigCopy = { path, sha256: createHash('sha256').update(kubeconfig).digest('hex') };
  await writeJsonAtomic(recordFile, record);
  try {
    await writeFile(path, kubeconfig, { mode: 0o600, flag: force ? 'w' : 'wx' });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new LabError(`\`--kubeconfig-out\` \`${path}\` appeared while the lab was built; podwire does not replace it unless you add \`--force\``);
    throw new LabError(`cannot write \`--kubeconfig-out\` \`${path}\`: ${code ?? (err as Error).message}`);
  }
}

async function startServer(stateDir: string, signal?: AbortSignal): Promise<ApiEndpoint> {
  const p = paths(stateDir);
  const logFd = openSync(p.serverLog, 'a', 0o600);
  const child = spawn(process.execPath, [SERVER_MAIN, stateDir], { detached: true, stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  child.unref();
  let exited: number | null = null;
  child.on('exit', (code) => (exited = code ?? -1));
  const ca = await readFile(p.caCert);
  const deadline = Date.now() + API_READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    // Interrupted before it announced itself: `lab down` would not know its PID.
    if (signal?.aborted) {
      if (child.pid && pidAlive(child.pid)) process.kill(child.pid, 'SIGKILL');
      signal.throwIfAborted();
    }
    if (exited !== null) {
      const tail = (await readFile(p.serverLog, 'utf8').catch(() => '')).trim().split('\n').slice(-2).join(' | ');
      throw new LabError(`the lab API server exited (code ${exited}) before it was ready: ${tail}`);
    }
    const api = await readApiEndpoint(stateDir);
    if (api && api.pid === child.pid) {
      const ok = await apiRequest({ url: api.url, ca }, 'GET', '/healthz', { timeoutMs: 1_000 }).then((r) => r.status === 200, () => false);
      if (ok) return api;
    }
    await new Promise((r) => setTimeout(r, 15));
  }
  if (child.pid && pidAlive(child.pid)) process.kill(child.pid, 'SIGKILL');
  throw new LabError(`the lab API server did not answer within ${API_READY_TIMEOUT_MS / 1000} s (log: ${p.serverLog})`);
}
