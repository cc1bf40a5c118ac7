// Invokes the real CNI plugins (bridge or ptp, with host-local IPAM; host-local
// alone for calico, whose plugin is not packaged) the way a container runtime
// does: CNI_* environment, network config on stdin, result JSON on stdout (CNI
// spec 1.0). Run inside the node's netns, so the bridge and the host end of
// the veth live on that node.
import { run } from './sh.js';
import { UNDERLAY_MTU, type Dataplane, type NodePlan } from './plan.js';
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

/**
 * The bridge + host-local config of a node; masquerade-all turns ipMasq on.
 * `mtu`: the underlay's (`--mtu`); pods get it in host-gw, less the tunnel
 * overhead in VXLAN (mtu-blackhole: not less), see podMTU.
 */
export function bridgeNetConf(node: NodePlan, dataplane: Dataplane, ipamDir: string, faults: readonly FaultName[] = [], mtu = UNDERLAY_MTU): BridgeNetConf {
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

/**
 * kindnet: ptp + host-local over the node's podCIDR, as kindnetd writes it.
 * ptp gives each host-side veth the range's gateway (.1) as a /32 and routes
 * the pod's /32 to it; the pod's default route goes via that gateway.
 * masquerade-all turns the plugin's own ipMasq on (as for bridge).
 */
export function ptpNetConf(node: NodePlan, ipamDir: string, faults: readonly FaultName[] = [], mtu = UNDERLAY_MTU): PtpNetConf {
  return {
    cniVersion: CNI_VERSION,
    name: 'kindnet',
    type: 'ptp',
    ipMasq: faults.includes('masquerade-all'),
    ...(mtu === UNDERLAY_MTU ? {} : { mtu }),
    ipam: { type: 'host-local', ranges: [[{ subnet: node.podCIDR }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: ipamDir },
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
export function podNetConf(node: NodePlan, dataplane: Dataplane, ipamDir: string, faults: readonly FaultName[] = [], mtu = UNDERLAY_MTU): CniNetConf {
  if (dataplane === 'kindnet') return ptpNetConf(node, ipamDir, faults, mtu);
  if (dataplane === 'calico') return calicoIpamConf(node, ipamDir);
  // vpc: host-local stands in for the VPC CNI's IPAM daemon (ipamd), which hands out the ENI's addresses.
  if (dataplane === 'vpc') return blockIpamConf(node, ipamDir, 'aws-cni');
  return bridgeNetConf(node, dataplane, ipamDir, faults, mtu);
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
