// Builds and removes the lab's network: a fabric netns (underlay bridge and
// router), N node netns, an internet host behind the router (DESIGN §5).
// Everything is created inside lab netns; the root netns is never touched.
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { rm } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import {
  CALICO_POOL, CLUSTER_POD_CIDR, INTERNET_IP, INTERNET_IP6, INTERNET_TCP_PORT, INTERNET_PREFIX, INTERNET6_PREFIX, ROUTER_INTERNET_IP,
  ROUTER_INTERNET_IP6, UNDERLAY_CIDR, VXLAN_PORT, hasFamily, labOfNetns, netnsPrefix, podRangeOf, type Dataplane, type LabPlan, type NodePlan,
} from './plan.js';
import { FAULT_NODE, ROUTELESS_NODE, type FaultName } from './faults.js';
import { fabricLines, nodeUplinkLines, vxlanMTU } from './underlay.js';
import { dataplaneLines6, nodeNatRules6 } from './dataplane6.js';
import { vpcFabricLines, vpcNodeLines, vpcSnatRules } from './vpc.js';
import { flannelForwardRules, flannelMasqRules, subnetEnvFor, subnetEnvText } from './flannel.js';
import { paths } from './state.js';
import { ipBatch, listNetns, netnsPids, run, shIn } from './sh.js';

const UNDERLAY_PREFIX = UNDERLAY_CIDR.split('/')[1];

/** The address node-to-pod-snat puts on a node's own traffic to pods: a second address on its uplink. */
export const agentSnatIP = (node: NodePlan) => `172.18.0.${100 + node.index}`;

const NAT_HEAD = ['*nat', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]'];

/** node-to-pod-snat: the fault node SNATs its own traffic to pods to a second address. */
function nodeToPodSnat(node: NodePlan, faults: readonly FaultName[]): string[] {
  return faults.includes('node-to-pod-snat') && node.index === FAULT_NODE
    ? [`-A POSTROUTING -m addrtype --src-type LOCAL -d ${CLUSTER_POD_CIDR} -j SNAT --to-source ${agentSnatIP(node)}`] : [];
}

/**
 * kindnetd's masquerade (kubernetes-sigs/kind images/kindnetd, an
 * ip-masq-agent): every packet not to a LOCAL address goes to
 * KIND-MASQ-AGENT, which returns for the pod range and masquerades the rest,
 * so pod → other node is SNATed (FIELD.md §1). No source match: the node's
 * own traffic is masqueraded too (to its own address, a no-op).
 * nonmasq-node-cidr exempts only the node's own podCIDR: cross-node pod
 * traffic is masqueraded as well.
 */
export function kindnetMasqRules(node: NodePlan, faults: readonly FaultName[] = []): string[] {
  const nonMasq = faults.includes('nonmasq-node-cidr') ? node.podCIDR : CLUSTER_POD_CIDR;
  return [
    ':KIND-MASQ-AGENT - [0:0]',
    '-A POSTROUTING -m addrtype ! --dst-type LOCAL -m comment --comment "kind-masq-agent: ensure nat POSTROUTING directs all non-LOCAL destination traffic to our custom KIND-MASQ-AGENT chain" -j KIND-MASQ-AGENT',
    `-A KIND-MASQ-AGENT -d ${nonMasq} -m comment --comment "kind-masq-agent: local traffic is not subject to MASQUERADE" -j RETURN`,
    ...(faults.includes('no-egress-snat') ? [] : ['-A KIND-MASQ-AGENT -m comment --comment "kind-masq-agent: outbound traffic is subject to MASQUERADE (must be last in chain)" -j MASQUERADE']),
  ];
}

/**
 * calico's natOutgoing (felix's cali-nat-outgoing): traffic from the pool to
 * anything outside every pool is masqueraded, node addresses included
 * (natOutgoingExclusions defaults to IPPoolsOnly; FIELD.md §1).
 */
export function calicoNatOutgoingRules(faults: readonly FaultName[] = []): string[] {
  if (faults.includes('no-egress-snat')) return [];
  return [
    ':cali-nat-outgoing - [0:0]',
    '-A POSTROUTING -m comment --comment "cali:nat-outgoing" -j cali-nat-outgoing',
    `-A cali-nat-outgoing -s ${CALICO_POOL} ! -d ${CALICO_POOL} -j MASQUERADE`,
  ];
}

/**
 * The lab's own egress rule (host-gw, vxlan): masquerade pod traffic to
 * destinations outside the cluster (pods and nodes). Faults drop the
 * masquerade (no-egress-snat) or the node-network exemption (pod-to-node-snat).
 */
function labEgressRules(faults: readonly FaultName[], podRanges: readonly string[]): string[] {
  const has = (f: FaultName) => faults.includes(f);
  const pods = [CLUSTER_POD_CIDR, ...podRanges];
  return [
    ':PW-EGRESS - [0:0]',
    ...pods.map((r) => `-A POSTROUTING -s ${r} -j PW-EGRESS`),
    ...pods.map((r) => `-A PW-EGRESS -d ${r} -j RETURN`),
    ...(has('pod-to-node-snat') ? [] : ['-A PW-EGRESS -d ' + UNDERLAY_CIDR + ' -j RETURN']),
    ...(has('no-egress-snat') ? [] : ['-A PW-EGRESS -j MASQUERADE']),
  ];
}

/**
 * Node-side NAT as `iptables-restore` input, per dataplane profile, with the
 * faults that change it; `podRanges`: pod ranges of a `--cni-config` beyond
 * the cluster's pod CIDR (host-gw, vxlan).
 */
export function nodeNatRules(node: NodePlan, faults: readonly FaultName[] = [], dataplane: Dataplane = 'host-gw', podRanges: readonly string[] = []): string {
  const egress = dataplane === 'kindnet' ? kindnetMasqRules(node, faults)
    : dataplane === 'calico' ? calicoNatOutgoingRules(faults)
    : dataplane === 'vpc' ? vpcSnatRules(faults)
    // The rules depend on the subnet file's network, subnet and ipmasq, not on its MTU.
    : dataplane === 'flannel' ? flannelMasqRules(subnetEnvFor(node, 0, faults), faults)
    : labEgressRules(faults, podRanges);
  // Chain declarations first, as iptables-restore wants them before rules that jump to them.
  const decl = egress.filter((l) => l.startsWith(':'));
  const rules = egress.filter((l) => !l.startsWith(':'));
  return [...NAT_HEAD, ...decl, ...rules, ...nodeToPodSnat(node, faults), 'COMMIT', ''].join('\n');
}

/**
 * The other nodes this node routes to: one per pod CIDR (overlapping-pod-cidr
 * hands two nodes one CIDR: the first wins, and a node never routes its own
 * CIDR away), minus the route missing-route removes.
 */
function routedPeers(plan: LabPlan, node: NodePlan): NodePlan[] {
  const seen = new Set([podRangeOf(node)]);
  return plan.nodes.filter((o) => {
    if (o.index === node.index || seen.has(podRangeOf(o))) return false;
    seen.add(podRangeOf(o));
    return !(plan.faults.includes('missing-route') && node.index === ROUTELESS_NODE && o.index === FAULT_NODE);
  });
}

/** A node's pod routes (and tunnel): IPv4's as the profile builds them, then IPv6's (dataplane6.ts) in labs with IPv6. */
export function dataplaneLines(plan: LabPlan, node: NodePlan): { ip: string[]; bridge: string[] } {
  const v6 = dataplaneLines6(plan, node);
  if (!hasFamily(plan, 4)) return v6;
  const v4 = dataplaneLines4(plan, node);
  return { ip: [...v4.ip, ...v6.ip], bridge: [...v4.bridge, ...v6.bridge] };
}

function dataplaneLines4(plan: LabPlan, node: NodePlan): { ip: string[]; bridge: string[] } {
  const others = routedPeers(plan, node);
  // vpc: nodes route nothing to each other; the fabric routes each node's pod prefix, and pods leave by policy.
  if (plan.dataplane === 'vpc') return { ip: vpcNodeLines(node, plan.faults), bridge: [] };
  // host-gw and kindnet route each other node's podCIDR via its address; calico (BGP) each node's IPAM block.
  if (plan.dataplane !== 'vxlan' && plan.dataplane !== 'flannel') {
    return { ip: others.map((o) => `route add ${podRangeOf(o)} via ${o.underlayIP} dev eth0`), bridge: [] };
  }
  const ip = [
    `link add flannel.1 type vxlan id 1 dev eth0 dstport ${VXLAN_PORT} nolearning local ${node.underlayIP}`,
    // flannel derives the device MTU from the NIC's; mtu-blackhole gives it the underlay's instead.
    `link set flannel.1 mtu ${vxlanMTU(plan.mtu, plan.faults)}`,
    `link set flannel.1 address ${node.vxlanMAC}`,
    `addr add ${node.podCIDR.replace('/24', '/32')} dev flannel.1`,
    'link set flannel.1 up',
  ];
  const bridge: string[] = [];
  for (const o of others) {
    const gw = o.podCIDR.replace('/24', '');
    ip.push(`route add ${o.podCIDR} via ${gw} dev flannel.1 onlink`);
    ip.push(`neigh add ${gw} lladdr ${o.vxlanMAC} dev flannel.1 nud permanent`);
    bridge.push(`fdb add ${o.vxlanMAC} dev flannel.1 dst ${o.underlayIP}`);
  }
  return { ip, bridge };
}

function sysctlScript(plan: LabPlan): string {
  // Written through /proc so one shell does all of it.
  return `echo 1 > /proc/sys/net/ipv4/ip_forward\n${hasFamily(plan, 6) ? 'echo 1 > /proc/sys/net/ipv6/conf/all/forwarding\n' : ''}`;
}

/**
 * Labs with IPv6: no duplicate address detection in the lab's netns, so
 * addresses (link-local ones too, and those CNI plugins add) are usable at
 * once rather than tentative for a second or more. Set in each netns before
 * its devices are created, as new devices take the netns's defaults.
 */
export const NO_DAD = 'for c in default all; do echo 0 > /proc/sys/net/ipv6/conf/$c/accept_dad; done\n';

/**
 * As Kubernetes requires of its nodes (kubeadm checks it): bridged pod
 * traffic passes through iptables. Set explicitly where the kernel has
 * br_netfilter, so the lab behaves the same whatever the kernel default.
 */
const BRIDGE_NF = '[ -w /proc/sys/net/bridge/bridge-nf-call-iptables ] && echo 1 > /proc/sys/net/bridge/bridge-nf-call-iptables || true\n';
const BRIDGE_NF6 = '[ -w /proc/sys/net/bridge/bridge-nf-call-ip6tables ] && echo 1 > /proc/sys/net/bridge/bridge-nf-call-ip6tables || true\n';

async function buildNode(plan: LabPlan, node: NodePlan, signal?: AbortSignal): Promise<void> {
  const dp = dataplaneLines(plan, node);
  signal?.throwIfAborted();
  await ipBatch(node.netns, [
    ...nodeUplinkLines(plan, node),
    ...(plan.faults.includes('node-to-pod-snat') && node.index === FAULT_NODE ? [`addr add ${agentSnatIP(node)}/${UNDERLAY_PREFIX} dev eth0`] : []),
    ...dp.ip,
  ]);
  const bridgeCmds = dp.bridge.map((l) => `bridge ${l}`).join('\n');
  // forward-drop: the filter table's FORWARD policy, as Docker sets it. flannel: flanneld's FLANNEL-FWD.
  const filter = plan.faults.includes('forward-drop') && node.index === FAULT_NODE ? '*filter\n:FORWARD DROP [0:0]\nCOMMIT\n'
    : plan.dataplane === 'flannel' ? flannelForwardRules(subnetEnvFor(node, 0, plan.faults)) : '';
  if (plan.dataplane === 'flannel') {
    // What flanneld writes once it holds the node's lease; the pods' CNI config is derived from it (runtime).
    const file = paths(plan.stateDir).subnetEnv(node.name);
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    await writeFile(file, subnetEnvText(subnetEnvFor(node, vxlanMTU(plan.mtu, plan.faults), plan.faults)));
  }
  const six = hasFamily(plan, 6) ? `${BRIDGE_NF6}ip6tables-restore <<'EOF'\n${nodeNatRules6(node, plan.faults, plan.dataplane)}EOF\n` : '';
  signal?.throwIfAborted();
  await shIn(node.netns, `${sysctlScript(plan)}${BRIDGE_NF}${bridgeCmds}\niptables-restore <<'EOF'\n${nodeNatRules(node, plan.faults, plan.dataplane, plan.podRanges)}${filter}EOF\n${six}`);
}

/** Creates the whole topology. On failure the caller tears the lab down. */
export async function buildTopology(plan: LabPlan, signal?: AbortSignal): Promise<void> {
  const all = [plan.fabricNetns, plan.internetNetns, ...plan.nodes.map((n) => n.netns)];
  await ipBatch(undefined, all.map((ns) => `netns add ${ns}`));
  const six = hasFamily(plan, 6);
  if (six) await Promise.all(all.map((ns) => shIn(ns, NO_DAD)));
  const fabric = plan.fabricNetns;
  // An interrupt stops the build between steps (each is one short command).
  signal?.throwIfAborted();
  // The NICs' MTUs are set as the veths are created (fabricLines); mtu-blackhole's jumbo NICs too.
  await ipBatch(fabric, [...fabricLines(plan), ...(plan.dataplane === 'vpc' ? vpcFabricLines(plan) : [])]);
  signal?.throwIfAborted();
  await shIn(fabric, sysctlScript(plan));
  signal?.throwIfAborted();
  await ipBatch(plan.internetNetns, [
    'link set lo up',
    `addr add ${INTERNET_IP}/${INTERNET_PREFIX} dev eth0`,
    ...(six ? [`addr add ${INTERNET_IP6}/${INTERNET6_PREFIX} dev eth0 nodad`] : []),
    'link set eth0 up',
    `route add default via ${ROUTER_INTERNET_IP} dev eth0`,
    ...(six ? [`route add ::/0 via ${ROUTER_INTERNET_IP6} dev eth0`] : []),
  ]);
  signal?.throwIfAborted();
  // Every node's build settles before a failure is thrown, so the teardown never races one.
  const failed = (await Promise.allSettled(plan.nodes.map((n) => buildNode(plan, n, signal)))).find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/**
 * The internet host's TCP echo (replies `<line>.from.internet`), detached;
 * it lives in the lab's netns, so `lab down` ends it with everything else.
 */
export function startInternetListener(plan: LabPlan): number[] {
  // One listener per family (labs with IPv6 get a second, IPv6-only one).
  const listens = [`TCP4-LISTEN:${INTERNET_TCP_PORT},fork,reuseaddr`, ...(hasFamily(plan, 6) ? [`TCP6-LISTEN:${INTERNET_TCP_PORT},fork,reuseaddr,ipv6only=1`] : [])];
  return listens.flatMap((listen) => {
    const child = spawn('ip', ['netns', 'exec', plan.internetNetns, 'socat', listen, 'SYSTEM:read t; echo "$t.from.internet"'], { detached: true, stdio: 'ignore' });
    child.on('error', () => undefined);
    child.unref();
    return child.pid === undefined ? [] : [child.pid];
  });
}

/** Every netns that belongs to `lab`, whatever state files say. */
export async function labNetns(lab: string): Promise<string[]> {
  const prefix = netnsPrefix(lab);
  return (await listNetns()).filter((n) => n.startsWith(prefix) && labOfNetns(n) === lab);
}

/** Kills (SIGKILL, by PID) every process living in the given netns and waits for them to be gone. */
export async function killNetnsProcesses(netns: readonly string[]): Promise<number[]> {
  const pids = (await Promise.all(netns.map(netnsPids))).flat().filter((p) => p !== process.pid);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  await waitGone(pids, 5_000);
  return pids;
}

/** True while `pid` runs; a zombie (exited, not yet reaped by its parent) counts as gone. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 3, after the parenthesised command name (which may itself hold spaces or parens).
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

export async function waitGone(pids: readonly number[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (pids.every((p) => !pidAlive(p))) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Removes every netns of the lab (after killing what runs in them) and its state directory. */
export async function destroyLab(lab: string, stateDir: string): Promise<{ netns: string[]; killed: number[] }> {
  const netns = await labNetns(lab);
  const killed = await killNetnsProcesses(netns);
  if (netns.length) {
    await ipBatch(undefined, netns.map((n) => `netns del ${n}`)).catch(async () => {
      // A batch stops at its first error; fall back to one by one.
      for (const n of netns) await run('ip', ['netns', 'del', n]).catch(() => undefined);
    });
  }
  await rm(stateDir, { recursive: true, force: true });
  return { netns, killed };
}
