// Invokes the CNI bridge plugin (with host-local IPAM) the way a container
// runtime does: CNI_* environment, network config on stdin, result JSON on
// stdout (CNI spec 1.0). Run inside the node's netns, so the bridge and the
// host end of the veth live on that node.
import { run } from './sh.js';
import { UNDERLAY_MTU, type Dataplane, type NodePlan } from './plan.js';
import { podMTU } from './underlay.js';
import type { FaultName } from './faults.js';

export const CNI_VERSION = '1.0.0';
export const DEFAULT_CNI_BIN_DIR = '/usr/lib/cni';

export interface CniNetConf {
  cniVersion: string;
  name: string;
  type: 'bridge';
  bridge: string;
  isGateway: boolean;
  ipMasq: boolean;
  hairpinMode: boolean;
  mtu?: number;
  ipam: {
    type: 'host-local';
    ranges: { subnet: string; gateway: string }[][];
    routes: { dst: string }[];
    dataDir: string;
  };
}

/**
 * The bridge + host-local config of a node; masquerade-all turns ipMasq on.
 * `mtu`: the underlay's (`--mtu`); pods get it in host-gw, less the tunnel
 * overhead in VXLAN (mtu-blackhole: not less), see podMTU.
 */
export function bridgeNetConf(node: NodePlan, dataplane: Dataplane, ipamDir: string, faults: readonly FaultName[] = [], mtu = UNDERLAY_MTU): CniNetConf {
  const podMtu = podMTU(dataplane, mtu, faults);
  return {
    cniVersion: CNI_VERSION,
    name: 'podwire',
    type: 'bridge',
    bridge: 'cni0',
    isGateway: true,
    ipMasq: faults.includes('masquerade-all'),
    hairpinMode: true,
    ...(podMtu === undefined ? {} : { mtu: podMtu }),
    ipam: {
      type: 'host-local',
      ranges: [[{ subnet: node.podCIDR, gateway: node.bridgeIP }]],
      routes: [{ dst: '0.0.0.0/0' }],
      dataDir: ipamDir,
    },
  };
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
  conf: CniNetConf;
  args?: Record<string, string>;
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

async function invoke(call: CniCall, command: 'ADD' | 'DEL'): Promise<string> {
  const plugin = `${call.binDir}/${call.conf.type}`;
  try {
    return await run('env', ['-i', ...Object.entries(cniEnv(call, command)).map(([k, v]) => `${k}=${v}`), plugin], {
      netns: call.nodeNetns,
      input: JSON.stringify(call.conf),
    });
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    const json = msg.slice(msg.indexOf('{'));
    throw new Error(`CNI ${command} for ${call.containerId} failed: ${pluginError(json.startsWith('{') ? json : msg)}`);
  }
}

export async function cniAdd(call: CniCall): Promise<{ ip: string; result: CniResult }> {
  const result = JSON.parse(await invoke(call, 'ADD')) as CniResult;
  const addr = result.ips?.find((i) => i.address.includes('.'))?.address;
  if (!addr) throw new Error(`CNI ADD for ${call.containerId} returned no IPv4 address: ${JSON.stringify(result)}`);
  return { ip: addr.split('/')[0]!, result };
}

export async function cniDel(call: CniCall): Promise<void> {
  await invoke(call, 'DEL');
}
