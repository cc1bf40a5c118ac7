// Invokes the real CNI plugins (bridge or ptp, with host-local IPAM; host-local
// alone for calico, whose plugin is not packaged) the way a container runtime
// does: CNI_* environment, network config on stdin, result JSON on stdout (CNI
// spec 1.0). Run inside the node's netns, so the bridge and the host end of
// the veth live on that node. A user's conflist (`lab up --cni-config`) runs
// as a chain: ADD in order with prevResult, DEL in reverse with the cached result.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './sh.js';
import type { CniConfList } from './cni-config.js';
import { findPlugin } from './cni-config-file.js';
import { UNDERLAY_MTU, familiesOf, type Dataplane, type IpFamily, type NodePlan, type Primary } from './plan.js';
import { podMTU } from './underlay.js';
import type { FaultName } from './faults.js';

export const CNI_VERSION = '1.0.0';
export const DEFAULT_CNI_BIN_DIR = '/usr/lib/cni';

export interface HostLocalIpam {
  type: 'host-local';
  ranges: { subnet: string; gateway?: string }[][];
  routes?: { dst: string }[];
  dataDir: string;
}

export interface BridgeNetConf {
  cniVersion: string;
  name: string;
  type: 'bridge';
  bridge: string;
  isGateway: boolean;
  ipMasq: boolean;
  hairpinMode: boolean;
  mtu?: number;
  ipam: HostLocalIpam;
}

/** kindnet's CNI config (kind images/kindnetd: cni template): ptp with host-local over the node's podCIDR. */
export interface PtpNetConf {
  cniVersion: string;
  name: string;
  type: 'ptp';
  ipMasq: boolean;
  mtu?: number;
  ipam: HostLocalIpam;
}

/** An IPAM plugin invoked on its own (calico's wiring is done by hand, its addresses by host-local). */
export interface IpamOnlyConf {
  cniVersion: string;
  name: string;
  type: 'host-local';
  ipam: HostLocalIpam;
}

export type CniNetConf = BridgeNetConf | PtpNetConf | IpamOnlyConf;

/** The lab's families, as the pods' configs need them (absent: IPv4 only). */
export interface LabFamilies {
  ipFamily?: IpFamily;
  primary?: Primary;
}

/**
 * host-local's ranges and routes for the node's pods: one range set per
 * family the lab has, primary first (host-local returns the addresses in
 * that order, as kubelet lists them), a default route per family.
 * `gateway`: name the bridge's address (bridge); ptp takes the range's first.
 */
export function podIpam(node: NodePlan, lab: LabFamilies, gateway: boolean): Pick<HostLocalIpam, 'ranges' | 'routes'> {
  const fams = familiesOf(lab);
  const range = (f: 4 | 6) => (f === 4
    ? [{ subnet: node.podCIDR, ...(gateway ? { gateway: node.bridgeIP } : {}) }]
    : [{ subnet: node.podCIDR6!, ...(gateway ? { gateway: node.bridgeIP6! } : {}) }]);
  return { ranges: fams.map(range), routes: fams.map((f) => ({ dst: f === 4 ? '0.0.0.0/0' : '::/0' })) };
}

/**
 * The bridge + host-local config of a node; masquerade-all turns ipMasq on.
 * `mtu`: the underlay's (`--mtu`); pods get it in host-gw, less the tunnel
 * overhead in VXLAN (mtu-blackhole: not less), see podMTU.
 */
export function bridgeNetConf(node: NodePlan, dataplane: Dataplane, ipamDir: string, faults: readonly FaultName[] = [], mtu = UNDERLAY_MTU, lab: LabFamilies = {}): BridgeNetConf {
  const podMtu = podMTU(dataplane, mtu, faults, lab.ipFamily);
  return {
    cniVersion: CNI_VERSION,
    name: 'podwire',
    type: 'bridge',
    bridge: 'cni0',
    isGateway: true,
    ipMasq: faults.includes('masquerade-all'),
    hairpinMode: true,
    ...(podMtu === undefined ? {} : { mtu: podMtu }),
    ipam: { type: 'host-local', ...podIpam(node, lab, true), dataDir: ipamDir },
  };
}

/**
 * kindnet: ptp + host-local over the node's podCIDR, as kindnetd writes it.
 * ptp gives each host-side veth the range's gateway (.1) as a /32 and routes
 * the pod's /32 to it; the pod's default route goes via that gateway.
 * masquerade-all turns the plugin's own ipMasq on (as for bridge).
 */
export function ptpNetConf(node: NodePlan, ipamDir: string, faults: readonly FaultName[] = [], mtu = UNDERLAY_MTU, lab: LabFamilies = {}): PtpNetConf {
  return {
    cniVersion: CNI_VERSION,
    name: 'kindnet',
    type: 'ptp',
    ipMasq: faults.includes('masquerade-all'),
    ...(mtu === UNDERLAY_MTU ? {} : { mtu }),
    ipam: { type: 'host-local', ...podIpam(node, lab, false), dataDir: ipamDir },
  };
}

/**
 * calico: host-local hands out addresses of the node's /26 block (calico-ipam
 * would; the block is affine to the node, not its podCIDR). The block's .0
 * and .1 stay unused: host-local reserves the network and gateway addresses.
 */
export function calicoIpamConf(node: NodePlan, ipamDir: string): IpamOnlyConf {
  return blockIpamConf(node, ipamDir, 'k8s-pod-network');
}

/** host-local over the node's IPAM block (calico's /26, vpc's pod prefix). */
export function blockIpamConf(node: NodePlan, ipamDir: string, name: string): IpamOnlyConf {
  if (!node.ipamBlock) throw new Error(`${node.name} has no IPAM block (calico and vpc dataplanes only)`);
  return { cniVersion: CNI_VERSION, name, type: 'host-local', ipam: { type: 'host-local', ranges: [[{ subnet: node.ipamBlock }]], dataDir: ipamDir } };
}

/** The network config a pod sandbox on this node is set up with, per dataplane profile. */
export function podNetConf(node: NodePlan, dataplane: Dataplane, ipamDir: string, faults: readonly FaultName[] = [], mtu = UNDERLAY_MTU, lab: LabFamilies = {}): CniNetConf {
  if (dataplane === 'kindnet') return ptpNetConf(node, ipamDir, faults, mtu, lab);
  if (dataplane === 'calico') return calicoIpamConf(node, ipamDir);
  // vpc: host-local stands in for the VPC CNI's IPAM daemon (ipamd), which hands out the ENI's addresses.
  if (dataplane === 'vpc') return blockIpamConf(node, ipamDir, 'aws-cni');
  return bridgeNetConf(node, dataplane, ipamDir, faults, mtu, lab);
}

export interface CniResult {
  cniVersion: string;
  interfaces?: { name: string; mac?: string; sandbox?: string }[];
  ips?: { address: string; gateway?: string; interface?: number }[];
}

export interface CniCall {
  binDir: string;
  nodeNetns: string;
  containerId: string;
  podNetnsPath: string;
  ifName: string;
  /** One plugin's config (the lab's profiles), or a conflist (`--cni-config`) run as a chain. */
  conf: CniNetConf | CniConfList;
  args?: Record<string, string>;
  /** Where a conflist's final ADD result is kept for its DEL (as libcni keeps /var/lib/cni/results). */
  resultCacheDir?: string;
  /** Capability arguments: what a plugin that declares the capability gets as `runtimeConfig` (CNI conventions). */
  capabilityArgs?: CapabilityArgs;
}

/** The `portMappings` capability's entries, as CRI runtimes fill them from the pod's hostPorts. */
export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: string;
  hostIP?: string;
}

export interface CapabilityArgs {
  portMappings?: PortMapping[];
}

/** A pod's containers' hostPorts as portMappings (protocol in lower case, TCP by default, as containerd passes them). */
export function podPortMappings(containers: readonly { ports?: { containerPort: number; hostPort?: number; protocol?: string; hostIP?: string }[] }[]): PortMapping[] {
  return containers.flatMap((c) => (c.ports ?? []).filter((p) => p.hostPort).map((p) => ({
    hostPort: p.hostPort!, containerPort: p.containerPort, protocol: (p.protocol ?? 'TCP').toLowerCase(), ...(p.hostIP ? { hostIP: p.hostIP } : {}),
  })));
}

function cniEnv(call: CniCall, command: 'ADD' | 'DEL' | 'CHECK'): Record<string, string> {
  const args = Object.entries(call.args ?? {}).map(([k, v]) => `${k}=${v}`).join(';');
  return {
    CNI_COMMAND: command,
    CNI_CONTAINERID: call.containerId,
    CNI_NETNS: call.podNetnsPath,
    CNI_IFNAME: call.ifName,
    CNI_PATH: call.binDir,
    ...(args ? { CNI_ARGS: args } : {}),
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
  };
}

/** Error JSON a plugin prints on failure (CNI spec: code, msg, details). */
function pluginError(out: string): string {
  try {
    const e = JSON.parse(out) as { code?: number; msg?: string; details?: string };
    return `CNI error ${e.code ?? '?'}: ${e.msg ?? ''}${e.details ? ` (${e.details})` : ''}`;
  } catch {
    return out.trim();
  }
}

async function invoke(call: CniCall, command: 'ADD' | 'DEL', conf: { type: string }): Promise<string> {
  // binDir may list several directories (CNI_PATH); the lab's own is one.
  const plugin = (call.binDir.includes(':') ? await findPlugin(call.binDir, conf.type) : undefined) ?? `${call.binDir}/${conf.type}`;
  try {
    return await run('env', ['-i', ...Object.entries(cniEnv(call, command)).map(([k, v]) => `${k}=${v}`), plugin], {
      netns: call.nodeNetns,
      input: JSON.stringify(conf),
    });
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    const json = msg.slice(msg.indexOf('{'));
    const which = 'plugins' in call.conf ? ` (plugin ${conf.type})` : '';
    throw new Error(`CNI ${command} for ${call.containerId} failed${which}: ${pluginError(json.startsWith('{') ? json : msg)}`);
  }
}

const isList = (conf: CniCall['conf']): conf is CniConfList => 'plugins' in conf;

/**
 * A conflist plugin's request config (CNI spec 1.0 §4): the plugin object
 * with the list's cniVersion and name, the previous result (ADD: the
 * previous plugin's; DEL: the final ADD result) as prevResult, and as
 * runtimeConfig the capability arguments it declares in `capabilities`.
 */
export function chainedConf(list: CniConfList, index: number, prevResult: unknown, capabilityArgs: CapabilityArgs = {}): Record<string, unknown> & { type: string } {
  const p = list.plugins[index]!;
  const declared = typeof p.capabilities === 'object' && p.capabilities !== null ? (p.capabilities as Record<string, unknown>) : {};
  const runtimeConfig = Object.fromEntries(Object.entries(capabilityArgs).filter(([k, v]) => declared[k] === true && (!Array.isArray(v) || v.length > 0)));
  return {
    ...p, cniVersion: list.cniVersion, name: list.name,
    ...(Object.keys(runtimeConfig).length ? { runtimeConfig } : {}),
    ...(prevResult === undefined ? {} : { prevResult }),
  };
}

const cacheFile = (call: CniCall, list: CniConfList) => join(call.resultCacheDir!, `${list.name}-${call.containerId}-${call.ifName}.json`);

function parseResult(out: string, call: CniCall, type: string): CniResult {
  try {
    return JSON.parse(out) as CniResult;
  } catch {
    throw new Error(`CNI ADD for ${call.containerId}: plugin ${type} printed no result JSON: ${out.trim().slice(0, 200) || '(nothing)'}`);
  }
}

/** ADD through every plugin in order, each given the previous one's result; a failure undoes the plugins that ran (DEL, reverse order). */
async function addChain(call: CniCall, list: CniConfList): Promise<CniResult> {
  let prev: CniResult | undefined;
  for (let i = 0; i < list.plugins.length; i++) {
    const conf = chainedConf(list, i, prev, call.capabilityArgs);
    try {
      prev = parseResult(await invoke(call, 'ADD', conf), call, conf.type);
    } catch (err) {
      for (let j = i - 1; j >= 0; j--) await invoke(call, 'DEL', chainedConf(list, j, prev, call.capabilityArgs)).catch(() => undefined);
      throw err;
    }
  }
  if (call.resultCacheDir) {
    await mkdir(call.resultCacheDir, { recursive: true, mode: 0o700 });
    await writeFile(cacheFile(call, list), JSON.stringify(prev), { mode: 0o600 });
  }
  return prev!;
}

/** DEL through every plugin in reverse order with the cached ADD result; the first error stops it (CNI spec 1.0 §4). */
async function delChain(call: CniCall, list: CniConfList): Promise<void> {
  const file = call.resultCacheDir ? cacheFile(call, list) : undefined;
  const cached = file ? await readFile(file, 'utf8').then((t) => JSON.parse(t) as CniResult, () => undefined) : undefined;
  for (let i = list.plugins.length - 1; i >= 0; i--) await invoke(call, 'DEL', chainedConf(list, i, cached, call.capabilityArgs));
  if (file) await rm(file, { force: true });
}

/**
 * ADD; `ips`: the result's addresses of each family in `families` (the
 * lab's, primary first), one each; `ip` the first. A result lacking one
 * of them is undone and refused.
 */
export async function cniAdd(call: CniCall, families: readonly (4 | 6)[] = [4]): Promise<{ ip: string; ips: string[]; result: CniResult }> {
  const result = isList(call.conf) ? await addChain(call, call.conf) : parseResult(await invoke(call, 'ADD', call.conf), call, call.conf.type);
  const ofFamily = (f: 4 | 6) => result.ips?.find((i) => i.address.includes(f === 4 ? '.' : ':'))?.address.split('/')[0];
  const ips = families.map(ofFamily);
  const lacking = families.filter((_, i) => !ips[i]);
  if (lacking.length) {
    // A plugin that ran holds resources (an address, a veth): undo it before failing.
    await cniDel(call).catch(() => undefined);
    throw new Error(`CNI ADD for ${call.containerId} returned no ${lacking.map((f) => `IPv${f}`).join(' or ')} address: ${JSON.stringify(result)}`);
  }
  return { ip: ips[0]!, ips: ips as string[], result };
}

export async function cniDel(call: CniCall): Promise<void> {
  if (isList(call.conf)) return delChain(call, call.conf);
  await invoke(call, 'DEL', call.conf);
}
