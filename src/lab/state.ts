// The lab's on-disk state under /run/podwire/<lab>/: written by `lab up`,
// read by the API server, `lab status` and `lab down`.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Dataplane, IpFamily, NodePlan, Primary, Uplinks } from './plan.js';
import type { FaultName } from './faults.js';
import type { AdmissionConfig } from './apiserver/admission.js';

export interface LabState {
  apiVersion: 'podwire.dev/v1alpha1';
  kind: 'LabState';
  name: string;
  dataplane: Dataplane;
  nodes: NodePlan[];
  fabricNetns: string;
  internetNetns: string;
  stateDir: string;
  /** Faults applied at `lab up` (absent in state written before faults existed). */
  faults?: FaultName[];
  /** `--uplinks` and `--mtu` (absent in state written before they existed: single, 1500). */
  uplinks?: Uplinks;
  mtu?: number;
  /** `--ip-family` and `--primary` (absent in state written before them: ipv4). */
  ipFamily?: IpFamily;
  primary?: Primary;
  cniBinDir: string;
  /** `--cni-config`: where the conflist came from, its network name and plugin types (absent: the profile's own config). */
  cniConfig?: CniConfigSource;
  /** `--cni-config`: pod ranges beyond the cluster's pod CIDR (LabPlan.podRanges). */
  podRanges?: string[];
  /** `--pod-security`, `--pin-pod-security`, `--deny-probes`: the API server's admission (absent: none, as before). */
  admission?: AdmissionConfig;
  token: string;
  createdAt: string;
  /** Where `lab up --kubeconfig-out` wrote a copy (removed again by `lab down` while unchanged; see KubeconfigCopy). */
  kubeconfigOut?: string;
}

/** The copy `lab up --kubeconfig-out` wrote, as written: `lab down` removes the file only while its digest matches. */
export interface KubeconfigCopy {
  path: string;
  sha256: string;
}

export interface CniConfigSource {
  /** The file `lab up --cni-config` was given, as an absolute path. */
  source: string;
  name: string;
  /** The plugins' types, in chain order. */
  plugins: string[];
}

/** Written by the API server once it listens. */
export interface ApiEndpoint {
  pid: number;
  port: number;
  url: string;
}

export const paths = (stateDir: string) => ({
  state: join(stateDir, 'state.json'),
  api: join(stateDir, 'api.json'),
  kubeconfig: join(stateDir, 'kubeconfig'),
  /** Tokens `lab kubeconfig --role` minted: one grant per file, named by the token's sha256. */
  tokens: join(stateDir, 'tokens'),
  /** KubeconfigCopy: the `--kubeconfig-out` file and its digest. */
  kubeconfigCopy: join(stateDir, 'kubeconfig-out.json'),
  caCert: join(stateDir, 'pki', 'ca.crt'),
  serverCert: join(stateDir, 'pki', 'server.crt'),
  serverKey: join(stateDir, 'pki', 'server.key'),
  pki: join(stateDir, 'pki'),
  serverLog: join(stateDir, 'server.log'),
  podLogs: join(stateDir, 'pods'),
  ipam: (node: string) => join(stateDir, 'ipam', node),
  cniConf: (node: string) => join(stateDir, 'cni', `${node}.conflist.json`),
  cniDir: join(stateDir, 'cni'),
  /** A conflist's final ADD results, kept for their DEL. */
  cniResults: join(stateDir, 'cni', 'results'),
  /** flannel: the node's subnet file, as flanneld writes /run/flannel/subnet.env on a real node. */
  subnetEnv: (node: string) => join(stateDir, 'flannel', node, 'subnet.env'),
});

export async function writeJsonAtomic(file: string, value: unknown, mode = 0o600): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, JSON.stringify(value, null, 2) + '\n', { mode });
  await rename(tmp, file);
}

export async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export async function ensureDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
}

export const readLabState = (stateDir: string) => readJson<LabState>(paths(stateDir).state);
export const readApiEndpoint = (stateDir: string) => readJson<ApiEndpoint>(paths(stateDir).api);
