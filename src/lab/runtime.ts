// The lab's container runtime, driven by the API server: a pod sandbox is a
// netns wired by the CNI plugin (or the node's netns for hostNetwork pods)
// plus a holder process (holder.ts) that owns the pod's PID, mount, UTS and
// IPC namespaces; a container is a host process that joins them (no image is
// pulled: the command uses the host's tools). Exec runs a further process
// there. Deleting the pod kills its holder, and with it every process in it.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import { cniAdd, cniDel, podNetConf, type CniCall, type PortMapping } from './cni.js';
import type { CniConfList } from './cni-config.js';
import { podRouteLines } from './pod-routes.js';
import { calicoHostLines, calicoHostSysctls, calicoPodLines } from './calico.js';
import { vpcHostLines, vpcPodLines } from './vpc.js';
import { flannelDelegateConf, parseSubnetEnv } from './flannel.js';
import { joinArgv, POD_PATH, podHostname, startHolder, stopHolder, type Holder } from './holder.js';
import { UNDERLAY_MTU, familiesOf, hasFamily, internalIPsOf, podNetns, type NodePlan } from './plan.js';
import { ipBatch, run, shIn } from './sh.js';
import { NO_DAD, killNetnsProcesses, pidAlive, waitGone } from './topology.js';
import { paths, type LabState } from './state.js';

export interface Sandbox {
  id: string;
  netns: string;
  /** The primary address (the first of ips). */
  ip: string;
  /** One address per family of the lab, primary first (hostNetwork: the node's InternalIPs). */
  ips: string[];
  hostNetwork: boolean;
  node: NodePlan;
  holder: Holder;
}

/** The pod a sandbox is for; portMappings: its hostPorts, for a `--cni-config` plugin with the portMappings capability. */
export interface PodRef {
  namespace: string;
  name: string;
  portMappings?: PortMapping[];
}

export interface ProcessSpec {
  argv: string[];
  env: Record<string, string>;
  cwd?: string;
}


export class LabRuntime {
  private readonly p;
  constructor(readonly lab: LabState) {
    this.p = paths(lab.stateDir);
  }

  /**
   * The pods' network config: flannel's is derived from the node's subnet file at every call, as the meta-plugin does;
   * `--cni-config`'s is the node's rendered conflist, read at every call as runtimes read /etc/cni/net.d.
   */
  private netConf(node: NodePlan): CniCall['conf'] {
    if (this.lab.cniConfig) return JSON.parse(readFileSync(this.p.cniConf(node.name), 'utf8')) as CniConfList;
    const ipamDir = this.p.ipam(node.name);
    if (this.lab.dataplane === 'flannel') {
      const file = this.p.subnetEnv(node.name);
      return flannelDelegateConf(parseSubnetEnv(readFileSync(file, 'utf8'), file), ipamDir, this.lab.faults ?? []);
    }
    return podNetConf(node, this.lab.dataplane, ipamDir, this.lab.faults ?? [], this.lab.mtu ?? UNDERLAY_MTU, this.lab);
  }

  private cniCall(sb: { id: string; netns: string; node: NodePlan }, podRef: PodRef): CniCall {
    return {
      binDir: this.lab.cniBinDir,
      nodeNetns: sb.node.netns,
      containerId: `pw${sb.id}`,
      podNetnsPath: `/var/run/netns/${sb.netns}`,
      ifName: 'eth0',
      conf: this.netConf(sb.node),
      resultCacheDir: this.p.cniResults,
      ...(podRef.portMappings?.length ? { capabilityArgs: { portMappings: podRef.portMappings } } : {}),
      // IgnoreUnknown: plugins that do not use the K8S_* args must not reject them (runtime convention).
      args: { IgnoreUnknown: '1', K8S_POD_NAMESPACE: podRef.namespace, K8S_POD_NAME: podRef.name, K8S_POD_INFRA_CONTAINER_ID: `pw${sb.id}` },
    };
  }

  async createSandbox(node: NodePlan, hostNetwork: boolean, podRef: PodRef): Promise<Sandbox> {
    const id = randomBytes(5).toString('hex');
    if (hostNetwork) {
      // A hostNetwork pod shares the node's network (and, as on a real node, its hostname) but has its own PID and mounts.
      const holder = await startHolder(node.netns, node.name);
      const ips = internalIPsOf(this.lab, node);
      return { id, netns: node.netns, ip: ips[0]!, ips, hostNetwork, node, holder };
    }
    const netns = podNetns(this.lab.name, id);
    await run('ip', ['netns', 'add', netns]);
    try {
      // IPv6: the pod's eth0 is created in this netns and takes its defaults; no DAD, so its address is usable at once.
      if (hasFamily(this.lab, 6)) await shIn(netns, NO_DAD);
      await ipBatch(netns, ['link set lo up']);
      const { ip, ips } = await cniAdd(this.cniCall({ id, netns, node }, podRef), familiesOf(this.lab));
      try {
        await this.afterAdd(node, id, netns, ip);
        const holder = await startHolder(netns, podHostname(podRef.name));
        return { id, netns, ip, ips, hostNetwork, node, holder };
      } catch (err) {
        // Undo what the address brought: its /32 routes (--cni-config), then the plugins' ADD.
        if (this.lab.cniConfig) await this.routePod(node, ip, 'del').catch(() => undefined);
        await cniDel(this.cniCall({ id, netns, node }, podRef)).catch(() => undefined);
        throw err;
      }
    } catch (err) {
      await run('ip', ['netns', 'del', netns]).catch(() => undefined);
      throw err;
    }
  }

  /**
   * calico and vpc: host-local only gave the address; the veth is wired as their plugins do (calico.ts, vpc.ts).
   * `--cni-config`: an address outside the node's podCIDR is routed as a /32 on the other nodes (pod-routes.ts).
   */
  private async afterAdd(node: NodePlan, id: string, netns: string, ip: string): Promise<void> {
    if (this.lab.dataplane === 'calico' || this.lab.dataplane === 'vpc') await this.wireRouted(node, id, netns, ip);
    if (this.lab.cniConfig) await this.routePod(node, ip, 'replace');
  }

  private async routePod(node: NodePlan, ip: string, op: 'replace' | 'del'): Promise<void> {
    await Promise.all(podRouteLines(this.lab, node, ip, op).map((t) => ipBatch(t.netns, t.lines)));
  }

  private async wireRouted(node: NodePlan, id: string, netns: string, ip: string): Promise<void> {
    const mtu = this.lab.mtu ?? UNDERLAY_MTU;
    if (this.lab.dataplane === 'vpc') {
      await ipBatch(node.netns, vpcHostLines(id, netns, ip, mtu));
      await ipBatch(netns, vpcPodLines(ip));
      return;
    }
    await ipBatch(node.netns, calicoHostLines(id, netns, ip, mtu));
    await shIn(node.netns, calicoHostSysctls(node, id, this.lab.faults ?? []));
    await ipBatch(netns, calicoPodLines(ip));
  }

  /** Kills what runs in the sandbox, releases its address (CNI DEL) and removes its netns. */
  async destroySandbox(sb: Sandbox, podRef: PodRef): Promise<void> {
    await stopHolder(sb.holder);
    if (sb.hostNetwork) return;
    await killNetnsProcesses([sb.netns]);
    if (this.lab.cniConfig) await this.routePod(sb.node, sb.ip, 'del').catch(() => undefined);
    await cniDel(this.cniCall(sb, podRef)).catch(() => undefined);
    await run('ip', ['netns', 'del', sb.netns]).catch(() => undefined);
  }

  /** Spawns a process in the pod's namespaces, in its own process group so it can be ended as a whole. */
  spawnIn(sb: Sandbox, spec: ProcessSpec, stdio: { stdin: boolean; logFile?: string }): ChildProcess {
    const env = { PATH: POD_PATH, HOME: '/root', ...spec.env };
    let log: WriteStream | undefined;
    const out = stdio.logFile ? (log = createWriteStream(stdio.logFile, { flags: 'a' })) : undefined;
    const [file, ...args] = [...joinArgv(sb.holder, spec.cwd), ...spec.argv] as [string, ...string[]];
    const child = spawn(file, args, {
      env,
      cwd: '/',
      detached: true,
      stdio: [stdio.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    if (out && log) {
      child.stdout?.pipe(log, { end: false });
      child.stderr?.pipe(log, { end: false });
      child.on('close', () => log?.end());
    }
    return child;
  }

  podLogFile(namespace: string, pod: string, container: string): string {
    return `${this.p.podLogs}/${namespace}_${pod}_${container}.log`;
  }
}

/** SIGTERM to a process group, SIGKILL after `graceMs` if still alive. */
export async function endProcessGroup(pid: number | undefined, graceMs: number): Promise<void> {
  if (!pid) return;
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      /* gone */
    }
  };
  if (!pidAlive(pid)) return;
  signal('SIGTERM');
  if (await waitGone([pid], graceMs)) return;
  signal('SIGKILL');
  await waitGone([pid], 2_000);
}
