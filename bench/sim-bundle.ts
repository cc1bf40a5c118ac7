// A synthetic run bundle of a healthy cluster of N nodes, as `podwire run`
// would record it: the API's NodeList and PodList (probe pods with their
// real specs, plus each node's kube-proxy, CNI agent and workload pods), the
// probes and their inventories (uplink lookups as collect asks for them),
// the flows planFlows decides, what each sender would report, and one
// SLL2 capture per probe holding the packets a routed, un-NATed dataplane
// shows at that point: the whole TCP exchange (handshake, token, reply,
// teardown) or UDP datagram and reply, on every interface of the node it
// crosses (pod veth, cni0, eth0), host captures cut at their snaplen. Egress
// is SNATed to the node's address on eth0. The judge must pass all of it.
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import { BUNDLE_API_VERSION, type BundleCapture, type RunBundle } from '../src/bundle/model.js';
import { planFlows, remotePeers, uplinkQueries, type Pairs } from '../src/conformance/flows.js';
import type { Flow, Probe, ProbeInventory, SentFlow } from '../src/conformance/model.js';
import type { ExternalTarget } from '../src/conformance/observations.js';
import { elideAgentSource, probeName, probeSpec } from '../src/conformance/probes.js';
import { podIPsByNode } from '../src/run/collect.js';

export const SIM_RUN = 'simrun01';
export const SIM_PORT = 24_000;
export const SIM_EXTERNAL: ExternalTarget = { ip: '198.51.100.10', port: 80 };
/** As collect's HOST_SNAPLEN. */
const HOST_SNAPLEN = 512;
/** Interface indexes inside a node (host captures) and a pod (pod captures). */
const IF = { eth0: 2, cni0: 3, vethA: 4, vethB: 5, podEth0: 2 } as const;
const OUT = 4;
const IN = 0;

export interface SimCluster {
  nodes: string[];
  nodeIP: Map<string, string>;
  probes: Probe[];
  api: RunBundle['api'];
}

const pad = (i: number) => String(i + 1).padStart(4, '0');
/** Underlay 172.16.0.0/12, pod CIDRs 10.64.0.0/10 (a /24 per node): room for 16,000 nodes. */
const underlayIP = (i: number) => `172.${16 + Math.floor(i / 62_500)}.${Math.floor((i % 62_500) / 250)}.${(i % 250) + 1}`;
const podNet = (i: number) => `10.${64 + Math.floor(i / 256)}.${i % 256}`;

function nodeObject(name: string, i: number): V1Node {
  return {
    apiVersion: 'v1', kind: 'Node',
    metadata: {
      name, uid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, resourceVersion: String(1000 + i), creationTimestamp: new Date('2026-11-01T00:00:00Z'),
      labels: { 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', 'kubernetes.io/hostname': name, 'node.kubernetes.io/instance-type': 'm6i.large', 'topology.kubernetes.io/zone': `zone-${i % 3}` },
      annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' },
    },
    spec: { podCIDR: `${podNet(i)}.0/24`, podCIDRs: [`${podNet(i)}.0/24`], providerID: `sim://${name}` },
    status: {
      addresses: [{ type: 'InternalIP', address: underlayIP(i) }, { type: 'Hostname', address: name }],
      capacity: { cpu: '2', memory: '8Gi', pods: '110' }, allocatable: { cpu: '1930m', memory: '7Gi', pods: '110' },
      conditions: ['MemoryPressure', 'DiskPressure', 'PIDPressure', 'Ready'].map((type) => ({
        type, status: type === 'Ready' ? 'True' : 'False', reason: type === 'Ready' ? 'KubeletReady' : `KubeletHasNo${type}`, message: type === 'Ready' ? 'kubelet is posting ready status' : `kubelet has no ${type}`,
        lastHeartbeatTime: new Date('2026-11-23T12:00:00Z'), lastTransitionTime: new Date('2026-11-01T00:00:00Z'),
      })),
      nodeInfo: {
        architecture: 'amd64', bootID: 'sim', containerRuntimeVersion: 'containerd://1.7.22', kernelVersion: '6.1.0', kubeProxyVersion: 'v1.32.0', kubeletVersion: 'v1.32.0',
        machineID: 'sim', operatingSystem: 'linux', osImage: 'Debian GNU/Linux 12 (bookworm)', systemUUID: 'sim',
      },
      // Real nodes list their images (often tens): a dozen here.
      images: Array.from({ length: 12 }, (_, k) => ({ names: [`registry.example/img-${k}@sha256:${'ab'.repeat(32)}`, `registry.example/img-${k}:v1.${k}`], sizeBytes: 10_000_000 + k })),
    },
  };
}

function runningPod(spec: V1Pod, ns: string, node: string, hostIP: string, ip: string, i: number): V1Pod {
  return {
    apiVersion: 'v1', kind: 'Pod',
    ...spec,
    metadata: { ...spec.metadata, namespace: ns, uid: `sim-${ns}-${spec.metadata!.name}`, resourceVersion: String(5000 + i), creationTimestamp: new Date('2026-11-23T12:00:00Z') },
    spec: { ...spec.spec!, nodeName: node },
    status: {
      phase: 'Running', hostIP, hostIPs: [{ ip: hostIP }], podIP: ip, podIPs: [{ ip }], qosClass: 'BestEffort', startTime: new Date('2026-11-23T12:00:01Z'),
      conditions: ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'].map((type) => ({ type, status: 'True', lastTransitionTime: new Date('2026-11-23T12:00:02Z') })),
      containerStatuses: (spec.spec?.containers ?? []).map((c) => ({
        name: c.name, image: c.image ?? '', imageID: `${c.image}@sha256:${'cd'.repeat(32)}`, ready: true, restartCount: 0, started: true,
        containerID: `containerd://${'ef'.repeat(32)}`, state: { running: { startedAt: new Date('2026-11-23T12:00:02Z') } },
      })),
    },
  };
}

/** Nodes, the run's probes (three per node, listening on SIM_PORT) and what the API lists: probe pods and `otherPods` pods per node. */
export function simCluster(n: number, otherPods = 12): SimCluster {
  const nodes = Array.from({ length: n }, (_, i) => `node-${pad(i)}`);
  const nodeIP = new Map(nodes.map((name, i) => [name, underlayIP(i)]));
  const probes: Probe[] = nodes.flatMap((node, i) => [
    { name: probeName(node, 'pod', 'a'), node, role: 'pod' as const, ip: `${podNet(i)}.2`, port: SIM_PORT },
    { name: probeName(node, 'pod', 'b'), node, role: 'pod' as const, ip: `${podNet(i)}.3`, port: SIM_PORT },
    { name: probeName(node, 'host'), node, role: 'host' as const, ip: underlayIP(i), port: SIM_PORT },
  ]);
  const ns = `podwire-${SIM_RUN}`;
  const pods: V1Pod[] = [];
  let k = 0;
  nodes.forEach((node, i) => {
    const host = underlayIP(i);
    for (const p of probes.slice(3 * i, 3 * i + 3)) {
      const spec = probeSpec({ run: SIM_RUN, node, role: p.role, ...(p.role === 'pod' ? { suffix: p.name.endsWith('-a') ? 'a' as const : 'b' as const } : {}), image: 'nicolaka/netshoot:v0.13', portBase: SIM_PORT });
      pods.push(runningPod(spec, ns, node, host, p.ip, k++));
    }
    // kube-proxy and a CNI agent on the host network, the rest workloads on the pod network.
    for (let j = 0; j < otherPods; j++) {
      const hostNetwork = j < 2;
      const name = hostNetwork ? `${j === 0 ? 'kube-proxy' : 'cni-agent'}-${pad(i)}` : `app-${pad(i)}-${j}`;
      const spec: V1Pod = {
        metadata: { name, labels: { app: hostNetwork ? name.split('-')[0]! : `app-${j}` } },
        spec: { hostNetwork, containers: [{ name: 'main', image: `registry.example/${hostNetwork ? 'system' : 'app'}:v1`, resources: { requests: { cpu: '10m', memory: '32Mi' } } }] },
      };
      pods.push(runningPod(spec, hostNetwork ? 'kube-system' : 'default', node, host, hostNetwork ? host : `${podNet(i)}.${10 + j}`, k++));
    }
  });
  return {
    nodes, nodeIP, probes,
    api: {
      nodes: { apiVersion: 'v1', kind: 'NodeList', items: nodes.map(nodeObject) },
      pods: { apiVersion: 'v1', kind: 'PodList', items: pods },
    },
  };
}

/** The pairs `--pairs sample` resolves to with this seed (K per node), or all. */
export const simPairs = (k: number | 'all', seed = 0): Pairs => (k === 'all' ? { mode: 'all' } : { mode: 'sample', k, seed });

const ROUTES = (ip: string, net: string) => `default via ${net}.1 dev eth0 \n${net}.0/24 dev eth0 proto kernel scope link src ${ip} \nlocal ${ip} dev eth0 table local proto kernel scope host src ${ip} \n`;
const ADDR = (ip: string, ifname: string) => `1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever\n2: ${ifname}    inet ${ip}/24 scope global ${ifname}\\       valid_lft forever preferred_lft forever\n`;

/** What each probe's inventory reports: its addresses, routes and (host probes) the uplink of each lookup collect asks for. */
export function simInventory(c: SimCluster, peers: ReadonlyMap<string, readonly string[]>): Record<string, ProbeInventory> {
  const podIPs = podIPsByNode(c.probes);
  const inv: Record<string, ProbeInventory> = {};
  for (const p of c.probes) {
    const net = p.role === 'pod' ? p.ip.split('.').slice(0, 3).join('.') : podNetOf(c, p.node);
    if (p.role === 'pod') {
      inv[p.name] = { addresses: [p.ip], routes: ROUTES(p.ip, net), addrText: ADDR(p.ip, 'eth0'), mtu: 1500 };
    } else {
      const uplinks = uplinkQueries(p.node, podIPs, peers, SIM_EXTERNAL).map((q) => ({ ...q, devices: [{ name: 'eth0', ifindex: IF.eth0 }] }));
      inv[p.name] = { addresses: [p.ip, `${net}.1`], routes: ROUTES(p.ip, net), addrText: ADDR(p.ip, 'eth0') + ADDR(`${net}.1`, 'cni0'), uplinks };
    }
  }
  return inv;
}

const podNetOf = (c: SimCluster, node: string) => c.probes.find((p) => p.node === node && p.role === 'pod')!.ip.split('.').slice(0, 3).join('.');

// ---------------------------------------------------------------- packets

/** One capture being written: classic pcap, LINKTYPE_LINUX_SLL2, microseconds. */
class PcapWriter {
  private chunks: Buffer[] = [];
  private cur = Buffer.alloc(1 << 16);
  private at = 0;
  packets = 0;
  constructor(readonly snaplen: number) {
    const h = this.take(24);
    h.writeUInt32LE(0xa1b2c3d4, 0);
    h.writeUInt16LE(2, 4);
    h.writeUInt16LE(4, 6);
    h.writeUInt32LE(snaplen, 16);
    h.writeUInt32LE(276, 20);
  }
  private take(n: number): Buffer {
    if (this.at + n > this.cur.length) {
      this.chunks.push(this.cur.subarray(0, this.at));
      this.cur = Buffer.alloc(Math.max(1 << 16, n));
      this.at = 0;
    }
    const b = this.cur.subarray(this.at, this.at + n);
    this.at += n;
    return b;
  }
  /** `frame` is an IPv4 packet; the SLL2 header names the interface and direction. */
  write(usec: number, ifindex: number, pkttype: number, ip: Buffer): void {
    const orig = 20 + ip.length;
    const cap = Math.min(orig, this.snaplen);
    const b = this.take(16 + cap);
    b.writeUInt32LE(Math.floor(usec / 1e6), 0);
    b.writeUInt32LE(usec % 1e6, 4);
    b.writeUInt32LE(cap, 8);
    b.writeUInt32LE(orig, 12);
    b.fill(0, 16, 36);
    b.writeUInt16BE(0x0800, 16);
    b.writeUInt32BE(ifindex, 20);
    b.writeUInt16BE(1, 24);
    b[26] = pkttype;
    b[27] = 6;
    ip.copy(b, 36, 0, cap - 20);
    this.packets++;
  }
  finish(): Buffer {
    this.chunks.push(this.cur.subarray(0, this.at));
    return Buffer.concat(this.chunks);
  }
}

const ipNum = (ip: string) => ip.split('.').reduce((a, o) => (a << 8) + Number(o), 0) >>> 0;

/** An IPv4 packet with a TCP segment or UDP datagram. */
function ipPacket(src: string, dst: string, proto: 'tcp' | 'udp', sport: number, dport: number, payload: Buffer, flags = 0, seq = 0, ack = 0, df = true): Buffer {
  const l4 = proto === 'tcp' ? 20 : 8;
  const b = Buffer.alloc(20 + l4 + payload.length);
  b[0] = 0x45;
  b.writeUInt16BE(b.length, 2);
  b.writeUInt16BE(df ? 0x4000 : 0, 6);
  b[8] = 64;
  b[9] = proto === 'tcp' ? 6 : 17;
  b.writeUInt32BE(ipNum(src), 12);
  b.writeUInt32BE(ipNum(dst), 16);
  b.writeUInt16BE(sport, 20);
  b.writeUInt16BE(dport, 22);
  if (proto === 'tcp') {
    b.writeUInt32BE(seq >>> 0, 24);
    b.writeUInt32BE(ack >>> 0, 28);
    b[32] = 0x50;
    b[33] = flags;
    b.writeUInt16BE(64240, 34);
  } else {
    b.writeUInt16BE(8 + payload.length, 24);
  }
  payload.copy(b, 20 + l4);
  return b;
}

const F = { FIN: 0x01, SYN: 0x02, PSH: 0x08, ACK: 0x10 } as const;

/** One packet of a flow's exchange: its direction, and the packet as sent (the original addresses). */
interface Pkt { fwd: boolean; ip: Buffer }

/** The packets of one flow as its sender sent them and its receiver answered. */
function exchange(f: Flow, s: SentFlow, replyFrom: string): Pkt[] {
  const sport = s.sports[0]!;
  const token = Buffer.from(`${f.token}\n`);
  const reply = Buffer.from(`${f.token}.from.${replyFrom}\n`);
  const fwd = (payload: Buffer, flags = 0, seq = 0, ack = 0): Pkt => ({ fwd: true, ip: ipPacket(s.src, f.dstIP, f.proto, sport, f.dstPort, payload, flags, seq, ack) });
  const back = (payload: Buffer, flags = 0, seq = 0, ack = 0): Pkt => ({ fwd: false, ip: ipPacket(f.dstIP, s.src, f.proto, f.dstPort, sport, payload, flags, seq, ack) });
  const none = Buffer.alloc(0);
  if (f.proto === 'udp') {
    const out = f.mtu ? Buffer.concat([token, Buffer.alloc(s.size! - 28 - token.length, 0x20)]) : token;
    return [fwd(out), back(reply)];
  }
  const t = token.length;
  const r = reply.length;
  return [
    fwd(none, F.SYN, 1000), back(none, F.SYN | F.ACK, 5000, 1001), fwd(none, F.ACK, 1001, 5001),
    fwd(token, F.PSH | F.ACK, 1001, 5001), back(none, F.ACK, 5001, 1001 + t), fwd(none, F.FIN | F.ACK, 1001 + t, 5001),
    back(reply, F.PSH | F.ACK, 5001, 1002 + t), fwd(none, F.ACK, 1002 + t, 5001 + r), back(none, F.FIN | F.ACK, 5001 + r, 1002 + t), fwd(none, F.ACK, 1002 + t, 5002 + r),
  ];
}

/** The same packet with its source (forward) or destination (back) rewritten: egress SNAT on the uplink. */
function snat(p: Pkt, to: string): Buffer {
  const b = Buffer.from(p.ip);
  b.writeUInt32BE(ipNum(to), p.fwd ? 12 : 16);
  return b;
}

export interface SimBundle {
  bundle: RunBundle;
  peers: Map<string, string[]>;
  planMs: number;
}

/**
 * The whole bundle of a healthy run on `c` with these pairs. `planMs` is
 * the time planFlows took (the planner as collect calls it).
 */
export function simBundle(c: SimCluster, pairs: Pairs): SimBundle {
  const peers = remotePeers(c.nodes, pairs);
  const inventory = simInventory(c, peers);
  const t0 = performance.now();
  const flows = planFlows(SIM_RUN, c.probes, c.nodeIP, SIM_EXTERNAL, pairs, peers);
  const planMs = performance.now() - t0;
  const byName = new Map(c.probes.map((p) => [p.name, p]));
  const hostOf = new Map(c.probes.filter((p) => p.role === 'host').map((p) => [p.node, p]));
  const gateway = (node: string) => inventory[hostOf.get(node)!.name]!.addresses[1]!;
  const sent: SentFlow[] = flows.map((f, i) => {
    const from = byName.get(f.from)!;
    // A node's own traffic to a local pod leaves by cni0 with the bridge's address; to other nodes, with its own.
    const src = from.role === 'pod' ? from.ip : f.kind === 'host-pod-same' ? gateway(from.node) : from.ip;
    return { id: f.id, src, sports: [32_768 + (i % 28_000)], errno: 0, reply: `${f.token}.from.${f.to ?? 'internet'}`, ...(f.mtu ? { size: 1500 } : {}) };
  });

  const writers = new Map(c.probes.map((p) => [p.name, new PcapWriter(p.role === 'host' ? HOST_SNAPLEN : 262_144)]));
  let usec = 1_763_900_000 * 1e6;
  const vethOf = (probe: Probe) => (probe.name.endsWith('-a') ? IF.vethA : IF.vethB);
  flows.forEach((f, i) => {
    const s = sent[i]!;
    const from = byName.get(f.from)!;
    const to = f.to ? byName.get(f.to) : undefined;
    const fromHost = hostOf.get(from.node)!.name;
    const toNode = to?.node;
    const toHost = toNode ? hostOf.get(toNode)!.name : undefined;
    const cross = toNode !== undefined && toNode !== from.node;
    for (const p of exchange(f, s, f.to ?? 'internet')) {
      usec += 40;
      const put = (probe: string, ifindex: number, leaving: boolean, ip = p.ip) => writers.get(probe)!.write(usec, ifindex, leaving ? OUT : IN, ip);
      // The sending pod and the receiving pod each see the packet on their eth0.
      if (from.role === 'pod') put(from.name, IF.podEth0, p.fwd);
      if (to?.role === 'pod') put(to.name, IF.podEth0, !p.fwd);
      // The sending node: a pod's packet crosses its veth and cni0 (and eth0 when it leaves); a node's own packet starts there.
      const leavesBy = (ip?: Buffer) => put(fromHost, IF.eth0, p.fwd, ip);
      if (from.role === 'pod') {
        put(fromHost, vethOf(from), !p.fwd);
        if (f.kind !== 'pod-pod-same') put(fromHost, IF.cni0, !p.fwd);
        if (cross) leavesBy();
        if (f.kind === 'pod-external') leavesBy(snat(p, c.nodeIP.get(from.node)!));
      } else if (cross) {
        leavesBy();
      } else {
        put(fromHost, IF.cni0, p.fwd);
      }
      if (f.kind === 'pod-pod-same') put(fromHost, vethOf(to!), p.fwd);
      if (f.kind === 'host-pod-same') put(fromHost, vethOf(to!), p.fwd);
      // The receiving node: in by eth0, then cni0 and the pod's veth (a node's own address ends at eth0).
      if (cross && toHost) {
        put(toHost, IF.eth0, !p.fwd);
        if (to!.role === 'pod') {
          put(toHost, IF.cni0, p.fwd);
          put(toHost, vethOf(to!), p.fwd);
        }
      }
    }
  });

  const captures: BundleCapture[] = c.probes.map((p) => {
    const w = writers.get(p.name)!;
    const data = w.finish();
    return {
      probe: p.name, file: `${p.name}.pcap`, stats: { captured: w.packets, receivedByFilter: w.packets, droppedByKernel: 0 },
      ...(p.role === 'host' ? { maxPackets: 200_000 } : {}), bytes: data.length, sha256: createHash('sha256').update(data).digest('hex'), data,
    };
  });
  const started = new Date('2026-11-23T12:00:00Z');
  const bundle: RunBundle = {
    run: {
      apiVersion: BUNDLE_API_VERSION, kind: 'RunBundle', runId: SIM_RUN, startedAt: started.toISOString(), finishedAt: new Date(started.getTime() + 600_000).toISOString(),
      implementation: { tool: 'podwire', version: 'sim' }, cluster: { server: 'https://sim.invalid:6443', version: 'v1.32.0' },
      options: {
        profile: 'strict', egressSnat: 'node', only: [], skip: [], externalTarget: `${SIM_EXTERNAL.ip}:${SIM_EXTERNAL.port}`, probeImage: 'nicolaka/netshoot:v0.13',
        requireAllNodes: false, pairs: pairs.mode === 'all' ? 'all' : `sample:${pairs.k}`,
      },
      external: SIM_EXTERNAL, pairs, counts: { execs: 0 },
    },
    // As collect keeps the pod list: the probe pods' agent source elided.
    api: { nodes: c.api.nodes, pods: { ...c.api.pods, items: elideAgentSource(c.api.pods.items, SIM_RUN) } },
    probes: { probes: c.probes, inventory, coverage: c.nodes.map((node) => ({ node, covered: true })) },
    flows: { flows, sent },
    captures,
  };
  return { bundle, peers, planMs };
}
