// `lab up --cni-config FILE [--cni-bin-dir DIR]`: reads and checks the
// conflist and its plugin binaries before the lab builds anything, and
// renders it for each node (cni-config.ts holds the pure parts).
import { constants } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import ipaddr from 'ipaddr.js';
import { UsageError } from '../errors.js';
import { CLUSTER_POD_CIDR, INTERNET_IP, INTERNET_PREFIX, VPC_CIDR, type LabPlan } from './plan.js';
import { inCidr4, ipamRanges, parseConflist, pluginBinaries, renderConflist, type CniConfList } from './cni-config.js';
import { podMTU } from './underlay.js';
import { paths, type CniConfigSource } from './state.js';

export interface LoadedCniConfig {
  info: CniConfigSource;
  list: CniConfList;
}

function readError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'cannot read it (permission denied)';
  if (code === 'EISDIR') return 'a directory, not a conflist file';
  return `cannot read it (${code ?? (err as Error).message})`;
}

/**
 * Reads, parses and checks the conflist, and that every plugin (IPAM
 * included) is an executable in `binDir`: one directory, or several
 * separated by colons as in CNI_PATH (the first that has a plugin wins).
 */
export async function loadCniConfig(file: string, binDir: string): Promise<LoadedCniConfig> {
  const source = resolve(file);
  const text = await readFile(source, 'utf8').catch((err: unknown) => {
    throw new UsageError(`--cni-config \`${file}\`: ${readError(err)}`);
  });
  const list = parseConflist(text, file);
  const dirs = binDirs(binDir);
  for (const d of dirs) {
    if (!(await stat(d).catch(() => undefined))?.isDirectory()) throw new UsageError(`--cni-bin-dir \`${binDir}\`: no such directory${dirs.length > 1 ? ` ${d}` : ''}`);
  }
  for (const type of pluginBinaries(list)) {
    if (!(await findPlugin(binDir, type))) {
      throw new UsageError(`--cni-config \`${file}\`: plugin \`${type}\` is not in the CNI bin dir ${binDir} (no executable ${dirs.map((d) => join(d, type)).join(' or ')}; see --cni-bin-dir)`);
    }
  }
  return { info: { source, name: list.name, plugins: list.plugins.map((p) => p.type) }, list };
}

/** The conflist as each node gets it, placeholders substituted (README "Your own CNI config"). */
export function renderForNodes(plan: LabPlan, list: CniConfList): Map<string, CniConfList> {
  const mtu = podMTU(plan.dataplane, plan.mtu, plan.faults) ?? plan.mtu;
  const ipam = paths(plan.stateDir).ipam;
  return new Map(plan.nodes.map((n) => [n.name, renderConflist(list, { podCIDR: n.podCIDR, nodeName: n.name, nodeIndex: n.index, mtu, ipamDir: ipam(n.name) })]));
}

/** The directories of a CNI_PATH-style list. */
export const binDirs = (binDir: string) => binDir.split(':').filter(Boolean);

/** The plugin's executable: the first directory of the list that has it, as runtimes search CNI_PATH. */
export async function findPlugin(binDir: string, type: string): Promise<string | undefined> {
  for (const d of binDirs(binDir)) {
    const file = join(d, type);
    if (await access(file, constants.X_OK).then(() => true, () => false)) return file;
  }
  return undefined;
}

const overlaps = (a: string, b: string) => inCidr4(a.split('/')[0]!, b) || inCidr4(b.split('/')[0]!, a);

/**
 * The pod ranges the rendered conflists declare beyond the cluster's pod CIDR
 * (the egress masquerade must cover them); a range over the lab's underlay or
 * internet host is refused, as pods there would shadow lab addresses.
 */
export function extraPodRanges(file: string, rendered: Map<string, CniConfList>): string[] {
  const ranges = [...new Set([...rendered.values()].flatMap(ipamRanges))];
  for (const r of ranges) {
    const clash = [VPC_CIDR, `${INTERNET_IP}/${INTERNET_PREFIX}`].find((lab) => overlaps(r, lab));
    if (clash) throw new UsageError(`--cni-config \`${file}\`: IPAM range ${r} overlaps the lab's own addresses (${ipaddr.IPv4.networkAddressFromCIDR(clash).toString()}/${clash.split('/')[1]}); pick pod ranges outside 172.18.0.0/16 and 198.51.100.0/24`);
  }
  const inCluster = (r: string) => inCidr4(r.split('/')[0]!, CLUSTER_POD_CIDR) && Number(r.split('/')[1]) >= Number(CLUSTER_POD_CIDR.split('/')[1]);
  return ranges.filter((r) => !inCluster(r));
}
