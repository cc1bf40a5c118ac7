// `lab status`: what a lab is made of and whether its API answers.
// The JSON form (LabStatus) is a documented interface (README).
import { readFile } from 'node:fs/promises';
import { apiRequest } from './lab-api.js';
import { UNDERLAY_MTU, internalIPsOf, labPlan, podCIDRsOf, type IpFamily, type NodePlan, type Primary } from './plan.js';
import { paths, readApiEndpoint, readLabState } from './state.js';
import { pidAlive } from './topology.js';
import { NETNS_ANNOTATION, type Pod } from './apiserver/objects.js';
import { LabError, familyText } from './up.js';
import { describeAdmission } from './admission-options.js';
import type { Level } from './apiserver/pod-security.js';

export interface LabStatus {
  apiVersion: 'podwire.dev/v1alpha1';
  kind: 'LabStatus';
  name: string;
  dataplane: string;
  /** Faults applied at `lab up`. */
  faults: string[];
  /** `lab up --uplinks`: single, ecmp or policy. */
  uplinks: string;
  /** `lab up --mtu`: the underlay's MTU. */
  mtu: number;
  /** `lab up --ip-family`: ipv4, ipv6 or dual; `--primary`: the family listed first. */
  ipFamily: IpFamily;
  primary: Primary;
  /** `lab up --cni-config`: the conflist's source file, network name, plugin types in chain order and bin dir; null for the profile's own config. */
  cniConfig: { source: string; name: string; plugins: string[]; binDir: string } | null;
  /** `lab up --pod-security`, `--pin-pod-security`, `--deny-probes`: the API server's admission. */
  admission: { podSecurity: Level; pinPodSecurity: boolean; denyProbes: string[] };
  stateDir: string;
  kubeconfig: string;
  api: { url: string | null; pid: number | null; running: boolean; healthy: boolean };
  /** underlayIP: eth0's address (the InternalIP); underlayIPs: every underlay NIC's, eth0's first. */
  /** podCIDR: what the API reports; ipamBlock: where its pods' addresses come from when that is not the podCIDR (calico). */
  /** internalIPs and podCIDRs: what the API reports (a family per entry, primary first). */
  nodes: { name: string; netns: string; underlayIP: string; underlayIPs: string[]; podCIDR: string; ipamBlock?: string; internalIPs: string[]; podCIDRs: string[] }[];
  /** ip: status.podIP; ips: status.podIPs. */
  pods: { namespace: string; name: string; node: string | null; netns: string | null; ip: string | null; ips: string[]; phase: string; hostNetwork: boolean }[];
}

export async function labStatus(name: string): Promise<LabStatus> {
  const { stateDir } = labPlan(name, 1, 'host-gw');
  const p = paths(stateDir);
  const state = await readLabState(stateDir);
  if (!state) throw new LabError(`no lab named \`${name}\` (no ${p.state}); start one with \`podwire lab up --name ${name}\``);
  const api = await readApiEndpoint(stateDir);
  const running = !!api && pidAlive(api.pid);
  let healthy = false;
  let pods: Pod[] = [];
  if (api && running) {
    const target = { url: api.url, ca: await readFile(p.caCert), token: state.token };
    healthy = await apiRequest(target, 'GET', '/healthz', { timeoutMs: 2_000 }).then((r) => r.status === 200, () => false);
    if (healthy) {
      const r = await apiRequest(target, 'GET', '/api/v1/pods', { timeoutMs: 5_000 }).catch(() => undefined);
      pods = (r?.json as { items?: Pod[] } | undefined)?.items ?? [];
    }
  }
  return {
    apiVersion: 'podwire.dev/v1alpha1',
    kind: 'LabStatus',
    name,
    dataplane: state.dataplane,
    faults: state.faults ?? [],
    uplinks: state.uplinks ?? 'single',
    mtu: state.mtu ?? UNDERLAY_MTU,
    ipFamily: state.ipFamily ?? 'ipv4',
    primary: state.primary ?? 'ipv4',
    cniConfig: state.cniConfig ? { ...state.cniConfig, binDir: state.cniBinDir } : null,
    admission: { podSecurity: state.admission?.podSecurity ?? 'privileged', pinPodSecurity: state.admission?.pinPodSecurity ?? false, denyProbes: state.admission?.denyProbes ?? [] },
    stateDir,
    kubeconfig: p.kubeconfig,
    api: { url: api?.url ?? null, pid: api?.pid ?? null, running, healthy },
    nodes: state.nodes.map((n) => ({
      name: n.name, netns: n.netns, underlayIP: n.underlayIP, underlayIPs: underlayIPsOf(n), podCIDR: n.podCIDR, ...(n.ipamBlock ? { ipamBlock: n.ipamBlock } : {}),
      internalIPs: internalIPsOf(state, n), podCIDRs: podCIDRsOf(state, n),
    })),
    pods: pods.map((pod) => ({
      namespace: pod.metadata.namespace ?? '',
      name: pod.metadata.name,
      node: pod.spec.nodeName ?? null,
      netns: pod.metadata.annotations?.[NETNS_ANNOTATION] ?? null,
      ip: pod.status.podIP ?? null,
      ips: (pod.status.podIPs ?? []).map((p) => p.ip),
      phase: pod.status.phase,
      hostNetwork: pod.spec.hostNetwork === true,
    })),
  };
}

/** A stored node's underlay addresses; state written before `--uplinks` has only underlayIP. */
function underlayIPsOf(n: NodePlan): string[] {
  return (n as Partial<NodePlan>).underlayIPs ?? [n.underlayIP];
}

export function formatStatus(s: LabStatus): string {
  const lines = [
    `lab ${s.name} (${s.dataplane}, ${familyText(s)}, uplinks ${s.uplinks}, mtu ${s.mtu}${s.faults.length ? `, faults: ${s.faults.join(', ')}` : ''})  state ${s.stateDir}`,
    `api ${s.api.url ?? '-'}  pid ${s.api.pid ?? '-'}  ${s.api.healthy ? 'healthy' : s.api.running ? 'NOT ANSWERING' : 'NOT RUNNING'}`,
    `kubeconfig ${s.kubeconfig}`,
    ...(describeAdmission(s.admission) ? [`admission: ${describeAdmission(s.admission)}`] : []),
    ...(s.cniConfig ? [`cni config ${s.cniConfig.source} (network ${s.cniConfig.name}: ${s.cniConfig.plugins.join(' → ')}; plugins from ${s.cniConfig.binDir})`] : []),
    '',
    s.nodes.some((n) => n.ipamBlock)
      ? table(['NODE', 'NETNS', 'UNDERLAY-IP', 'POD-CIDR', 'IPAM-BLOCK'], s.nodes.map((n) => [n.name, n.netns, n.underlayIPs.join(','), n.podCIDR || '-', n.ipamBlock ?? '-']))
      : s.ipFamily !== 'ipv4'
        ? table(['NODE', 'NETNS', 'INTERNAL-IPS', 'POD-CIDRS'], s.nodes.map((n) => [n.name, n.netns, n.internalIPs.join(','), n.podCIDRs.join(',')]))
        : table(['NODE', 'NETNS', 'UNDERLAY-IP', 'POD-CIDR'], s.nodes.map((n) => [n.name, n.netns, n.underlayIPs.join(','), n.podCIDR])),
  ];
  if (s.pods.length) {
    lines.push('', table(['NAMESPACE/POD', 'NODE', 'PHASE', s.ipFamily === 'dual' ? 'IPS' : 'IP', 'NETNS'],
      s.pods.map((p) => [`${p.namespace}/${p.name}`, p.node ?? '-', p.phase, (p.ips.length ? p.ips.join(',') : p.ip) ?? '-', p.netns ?? '-'])));
  }
  return lines.join('\n');
}

export function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [head, ...rows].map((r) => r.map((c, i) => (c ?? '').padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}
