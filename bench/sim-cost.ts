// What a real `podwire run` would ask of the cluster for a bundle like the
// simulated one, counted the way src/run/collect.ts makes its calls: one
// version request, a rights review per right it needs, one node list, one
// namespace, three pod creates per node, the probe-pod list once, then a
// watch of it (and a list every PROBE_POLL_MS beside the watch) until all
// are ready, one inventory exec per probe, one send exec per probe (plus one
// capture fetch exec per probe when there are more probes than --concurrency
// slots), one pod list, the namespace's deletion polled until it is gone.
// Bytes are the JSON bodies and exec streams themselves (HTTP and WebSocket
// framing not counted). Pure.
import type { V1Pod } from '@kubernetes/client-node';
import type { RunBundle } from '../src/bundle/model.js';
import { agentExec } from '../src/conformance/agent.js';
import { namespaceSpec, probeSpec, PROBE_POLL_MS } from '../src/conformance/probes.js';
import { captureSpec, NAMESPACE_POLL_MS } from '../src/run/collect.js';
import { runRights } from '../src/kube/rights.js';
import { SIM_EXTERNAL, SIM_PORT, SIM_RUN } from './sim-bundle.js';

/** V8's longest string on 64-bit (2^29 - 24 UTF-16 units): a JSON response longer than that cannot be read as one string. */
export const MAX_JS_STRING = 2 ** 29 - 24;

export interface RunCost {
  concurrency: number;
  /** Probes' execs: inventory, send, capture fetch (0 when all probes fit the cap at once). */
  execs: { inventory: number; send: number; fetch: number; total: number };
  /** API requests other than execs, without the two waits' polls. */
  apiRequests: number;
  /** Requests per second while waiting (probe pods ready, namespace gone): one poll at a time. */
  pollsPerSecond: { probes: number; namespace: number };
  bytes: {
    /** Pod create bodies sent, and the pods the API returns. */
    podCreates: number;
    /** One list of the run's probe pods (each poll of the wait for readiness). */
    probeListPoll: number;
    nodeList: number;
    podList: number;
    /** Exec stdin: the agent's source and arguments, every exec. */
    execStdin: number;
    /** Exec stdout: inventories, sent-flow lines, captures. */
    execStdout: number;
    captures: number;
    /** Everything above but the polls. */
    total: number;
    /** The largest single response: more than MAX_JS_STRING cannot be parsed by a Node.js client at all. */
    largestResponse: number;
  };
  /** Rounds of `concurrency` calls: the pod creates, and each exec phase. */
  waves: { creates: number; perExecPhase: number };
}

const size = (v: unknown) => Buffer.byteLength(JSON.stringify(v));
/**
 * A list's JSON size, item by item: the probe-pod list of 5,000 nodes is
 * 600 MB, more than one V8 string holds (which is also why a real run that
 * size could not parse it).
 */
const listSize = (kind: string, items: readonly unknown[]) => size({ apiVersion: 'v1', kind, items: [] }) + items.reduce<number>((s, x) => s + size(x) + 1, 0);

/** `listedPods`: the pods as the API lists them (the bundle's copy has the probes' agent source elided). */
export function runCost(b: RunBundle, listedPods: V1Pod[], concurrency: number): RunCost {
  const probes = b.probes.probes;
  const n = probes.length;
  const podCreateBody = probes.reduce((sum, p) => sum + size(probeSpec({
    run: SIM_RUN, node: p.node, role: p.role, ...(p.role === 'pod' ? { suffix: p.name.endsWith('-a') ? 'a' as const : 'b' as const } : {}), image: b.run.options.probeImage, portBase: SIM_PORT,
  })), 0);
  const probeNames = new Set(probes.map((p) => p.name));
  const probePods = listedPods.filter((p) => probeNames.has(p.metadata?.name ?? '') && p.metadata?.namespace === `podwire-${SIM_RUN}`);
  const probeListPoll = listSize('PodList', probePods);

  // Inventory: stdin as collect builds it; stdout the inventory as the agent prints it (addresses, texts, uplinks, capture handle).
  let execStdin = 0;
  let execStdout = 0;
  for (const p of probes) {
    const inv = b.probes.inventory[p.name]!;
    const uplinkQueries = (inv.uplinks ?? []).map(({ src, dst }) => ({ src, dst }));
    execStdin += Buffer.byteLength(agentExec('inventory', { run: SIM_RUN, pod: p.name, role: p.role, capture: captureSpec(p.role, SIM_PORT, SIM_EXTERNAL), ...(p.role === 'host' ? { uplinkQueries } : {}) }).stdin);
    execStdout += size({
      addresses: inv.addresses.map((address, i) => ({ ifname: i ? 'cni0' : 'eth0', ifindex: 2 + i, family: 4, address, prefixlen: 24, scope: 'global' })),
      addrText: inv.addrText, routes: inv.routes, rules: '0:\tfrom all lookup local\n32766:\tfrom all lookup main\n32767:\tfrom all lookup default\n', mtu: inv.mtu ?? 1500, port: SIM_PORT,
      uplinks: inv.uplinks ?? [], capture: { pid: 4242, pcap: `/tmp/podwire-${SIM_RUN}-${p.name}.pcap`, log: `/tmp/podwire-${SIM_RUN}-${p.name}.log` },
    }) + 1;
  }
  // Send: each probe's flows (and its capture handle) in; one JSON line per flow out, then its capture.
  const sentById = new Map(b.flows.sent.map((s) => [s.id, s]));
  const flowsOf = new Map<string, RunBundle['flows']['flows']>();
  for (const f of b.flows.flows) flowsOf.set(f.from, [...(flowsOf.get(f.from) ?? []), f]);
  const handle = { pid: 4242, pcap: '/tmp/podwire-x.pcap', log: '/tmp/podwire-x.log' };
  const split = n > concurrency;
  for (const p of probes) {
    const mine = (flowsOf.get(p.name) ?? []).map((f) => ({ id: f.id, token: f.token, proto: f.proto, dst: f.dstIP, port: f.dstPort, ...(f.mtu ? { mtu: true } : {}) }));
    execStdin += Buffer.byteLength(agentExec('send', { flows: mine, replyWaitMs: 3000, connectTimeoutMs: 4000, ...(split ? {} : { capture: handle }) }).stdin);
    if (split) execStdin += Buffer.byteLength(agentExec('send', { flows: [], replyWaitMs: 3000, connectTimeoutMs: 4000, capture: handle }).stdin) + 'finish\n'.length;
    for (const f of flowsOf.get(p.name) ?? []) {
      const s = sentById.get(f.id)!;
      execStdout += size({ id: s.id, src: s.src, sport: s.sports[0], sports: s.sports, errno: 0, reply: s.reply, retried: false, ms: 3, ...(s.size ? { size: s.size, routeMtu: 1500 } : {}) }) + 1;
    }
    execStdout += '{"done":true}\n'.length + size({ capture: { bytes: 0, sha256: '0'.repeat(64), stats: { captured: 0, dropped: 0, received: 0 } } }) + 1;
  }
  const captures = b.captures.reduce((sum, c) => sum + c.data.length, 0);
  execStdout += captures;
  const nodeList = listSize('NodeList', b.api.nodes.items);
  const podList = listSize('PodList', listedPods);
  const namespace = size(namespaceSpec(`podwire-${SIM_RUN}`, SIM_RUN));
  const execs = { inventory: n, send: n, fetch: split ? n : 0, total: 0 };
  execs.total = execs.inventory + execs.send + execs.fetch;
  // version, one rights review per right the run needs (SelfSubjectAccessReview), node list, namespace create, pod creates, pod list, namespace delete.
  const apiRequests = 1 + runRights(b.run.cluster.version, true).length + 1 + 1 + n + 1 + 1;
  const podCreates = podCreateBody + probePods.reduce((sum, p) => sum + size(p), 0);
  return {
    concurrency,
    execs,
    apiRequests,
    pollsPerSecond: { probes: 1000 / PROBE_POLL_MS, namespace: 1000 / NAMESPACE_POLL_MS },
    bytes: {
      podCreates, probeListPoll, nodeList, podList, execStdin, execStdout, captures,
      total: podCreates + nodeList + podList + 2 * namespace + execStdin + execStdout,
      largestResponse: Math.max(probeListPoll, nodeList, podList),
    },
    waves: { creates: Math.ceil(n / concurrency), perExecPhase: Math.ceil(n / concurrency) },
  };
}
