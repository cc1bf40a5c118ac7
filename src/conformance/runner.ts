// One conformance run against whatever cluster the kubeconfig names: deploy
// probes, inventory them, start one capture per probe, send every flow (one
// exec per probe), bring captures back, judge the selected checks, write the
// report, delete the run's namespace. Execs and captures grow with nodes.
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { VersionApi, type V1Node, type V1Pod } from '@kubernetes/client-node';
import { PodCapture, captureComplete, decodeCapture, type RetrievedCapture } from '../capture/tcpdump.js';
import { PreconditionError } from '../cli/errors.js';
import { loadKube, type Kube } from '../kube/client.js';
import { execCounter, execInPod } from '../kube/exec.js';
import { CHECKS, type ApiNode, type ApiPod, type CheckDef, type Observations } from './catalogue.js';
import { MTU_PORT, planFlows, TCP_PORT, UDP_PORT, type ExternalTarget } from './flows.js';
import type { CheckResult, FlowKind, Probe, ProbeInventory, SentFlow } from './model.js';
import { observe, tokensPerCapture, type CaptureData } from './observe.js';
import { parseExternalTarget, type RunOptions } from './options.js';
import { apiMessage, namespaceSpec, probeSpec, probesFrom, retrying, waitReady } from './probes.js';
import { FLOW_TIMEOUT_S, INVENTORY_SCRIPT, parseInventory, parseSenderOutput, replyWaitS, senderScript } from './sender.js';
import { fingerprint } from './fingerprint.js';
import { writeEvidence } from '../report/evidence.js';
import { summarize, type ConformanceReport, REPORT_API_VERSION } from '../report/model.js';
import { junitXml } from '../report/render.js';
import { packageVersion } from '../version.js';
// The lab advertises its internet host this way; any cluster may do the same.
import { EXTERNAL_TARGET_ANNOTATION } from '../lab/plan.js';

const API_TIMEOUT_MS = 10_000;

export class InfraError extends PreconditionError {}

export interface RunHooks {
  log: (line: string) => void;
  /** Called once the run's namespace exists, so an interrupt can delete it. */
  onNamespace?: (ns: string, kube: Kube) => void;
}

export interface RunOutcome {
  report: ConformanceReport;
  dir: string;
}

function newRunId(): string {
  const t = Date.now().toString(36).slice(-6);
  return `${t}${randomBytes(2).toString('hex')}`;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms / 1000} s`)), ms)))])
    .finally(() => clearTimeout(timer!));
}

/** Reaches the API server before anything is created: a clear error for a wrong address, certificate or token. */
async function checkApi(kube: Kube): Promise<string> {
  try {
    const v = await withTimeout(kube.kc.makeApiClient(VersionApi).getCode(), API_TIMEOUT_MS, 'the version request');
    return v.gitVersion;
  } catch (err) {
    throw new InfraError(`cannot reach the Kubernetes API at ${kube.server}: ${apiMessage(err)}`);
  }
}

function nodeFacts(n: V1Node): ApiNode {
  return {
    name: n.metadata?.name ?? '',
    addresses: (n.status?.addresses ?? []).filter((a) => a.type === 'InternalIP' || a.type === 'ExternalIP').map((a) => a.address),
    podCIDRs: n.spec?.podCIDRs ?? (n.spec?.podCIDR ? [n.spec.podCIDR] : []),
  };
}

function podFacts(p: V1Pod): ApiPod {
  return {
    namespace: p.metadata?.namespace ?? '',
    name: p.metadata?.name ?? '',
    hostNetwork: p.spec?.hostNetwork === true,
    podIPs: (p.status?.podIPs ?? []).map((x) => x.ip).filter(Boolean) as string[],
    ...(p.spec?.nodeName ? { node: p.spec.nodeName } : {}),
  };
}

const isLinuxReady = (n: V1Node) =>
  (n.metadata?.labels?.['kubernetes.io/os'] ?? n.status?.nodeInfo?.operatingSystem ?? 'linux') === 'linux'
  && n.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';

function captureFilter(role: 'pod' | 'host', external?: ExternalTarget): string {
  // ICMP destination-unreachable: "fragmentation needed" answers full-size DF datagrams (udp port MTU_PORT).
  // ARP: a destination nothing answers for on the link (an address no interface holds) shows as unanswered requests.
  const parts = [`tcp port ${TCP_PORT}`, `udp port ${UDP_PORT}`, `udp port ${MTU_PORT}`, 'icmp[icmptype] == icmp-unreach', 'arp'];
  if (external) parts.push(`(host ${external.ip} and tcp port ${external.port})`);
  // On the uplink, encapsulated pod traffic shows up under the tunnel's headers.
  if (role === 'host') parts.push('udp port 8472', 'udp port 4789', 'udp port 6081', 'udp port 51820', 'ip proto 4', 'ip proto 41', 'ip proto 47', 'ip proto 50');
  return parts.join(' or ');
}

export async function deleteRunNamespace(kube: Kube, ns: string, waitMs: number): Promise<void> {
  await kube.core.deleteNamespace({ name: ns }).catch(() => undefined);
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline) {
    const gone = await kube.core.readNamespace({ name: ns }).then(() => false, (e: unknown) => (e as { code?: number }).code === 404);
    if (gone) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function runConformance(opts: RunOptions, hooks: RunHooks): Promise<RunOutcome> {
  const { log } = hooks;
  const started = new Date();
  const execsBefore = execCounter.calls;
  const kube = loadKube({ ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}), ...(opts.context ? { context: opts.context } : {}) });
  const version = await checkApi(kube);
  const allNodes = await retrying('listing nodes', () => kube.core.listNode()).catch((e: Error) => {
    throw new InfraError(e.message);
  });
  const nodes = allNodes.items.filter(isLinuxReady).sort((a, b) => (a.metadata!.name! < b.metadata!.name! ? -1 : 1));
  if (nodes.length === 0) throw new InfraError('the cluster has no Ready Linux node to probe');
  const nodeNames = nodes.map((n) => n.metadata!.name!);
  const annotated = nodes.map((n) => n.metadata?.annotations?.[EXTERNAL_TARGET_ANNOTATION]).find(Boolean);
  const external = opts.externalTarget ?? (annotated ? annotatedTarget(annotated) : undefined);
  const checks: CheckDef[] = opts.checks;
  const kinds = new Set<FlowKind>(checks.flatMap((c) => c.flowKinds));
  const needsProbes = kinds.size > 0 || checks.some((c) => c.id === 'NM-3.3');

  const runId = newRunId();
  const ns = `podwire-${runId}`;
  const dir = resolve(opts.reportDir, runId);
  log(`run ${runId}: ${nodeNames.length} node(s) (${version}), ${checks.length} check(s)${external ? `, external target ${external.ip}:${external.port}` : ''}`);

  let probes: Probe[] = [];
  const inventory = new Map<string, ProbeInventory>();
  const captures: CaptureData[] = [];
  const retrieved = new Map<string, RetrievedCapture>();
  let flows: ReturnType<typeof planFlows> = [];
  const sent = new Map<string, SentFlow>();
  try {
    if (needsProbes) {
      await retrying(`creating namespace ${ns}`, () => kube.core.createNamespace({ body: namespaceSpec(ns, runId) }));
      hooks.onNamespace?.(ns, kube);
      const specs = nodeNames.flatMap((node) => [
        probeSpec({ run: runId, node, role: 'pod', suffix: 'a', image: opts.probeImage }),
        probeSpec({ run: runId, node, role: 'pod', suffix: 'b', image: opts.probeImage }),
        probeSpec({ run: runId, node, role: 'host', image: opts.probeImage }),
      ]);
      log(`deploying ${specs.length} probes in namespace ${ns}`);
      await Promise.all(specs.map((body) => retrying(`creating probe ${body.metadata!.name}`, () => kube.core.createNamespacedPod({ namespace: ns, body }))));
      const ready = await waitReady(kube.core, ns, specs.map((s) => s.metadata!.name!), opts.timeoutS * 1000, (r, t) => log(`probes ready ${r}/${t}`));
      probes = probesFrom(ready, specs);

      log('inventory: addresses, routes, uplinks');
      await Promise.all(probes.map(async (p) => {
        const r = await execInPod(kube.kc, { namespace: ns, pod: p.name }, ['sh', '-c', INVENTORY_SCRIPT], { timeoutMs: 30_000 });
        inventory.set(p.name, parseInventory(r.stdout.toString(), p.role));
      }));

      const nodeIPs = new Map(nodes.map((n) => [n.metadata!.name!, nodeFacts(n).addresses[0] ?? '']));
      flows = planFlows(runId, probes, nodeIPs, kinds.has('pod-external') ? external : undefined, (p) => inventory.get(p)?.mtu).filter((f) => kinds.has(f.kind));
      if (flows.length) {
        // All interfaces: a host probe sees its node's uplink and cni0; a pod probe eth0 and lo (traffic to its own address).
        const caps = probes.map((p) => new PodCapture(kube.kc, { namespace: ns, pod: p.name }, { iface: 'any', filter: captureFilter(p.role, external) }));
        try {
          log(`starting ${caps.length} captures`);
          await Promise.all(caps.map((c) => c.start()));
          const senders = probes.filter((p) => flows.some((f) => f.from === p.name));
          log(`sending ${flows.length} flows from ${senders.length} probes`);
          await Promise.all(senders.map(async (p) => {
            const mine = flows.filter((f) => f.from === p.name);
            const r = await execInPod(kube.kc, { namespace: ns, pod: p.name }, ['sh', '-c', senderScript(mine, replyWaitS(flows.length))], { timeoutMs: (FLOW_TIMEOUT_S + 30) * 1000 });
            for (const [id, s] of parseSenderOutput(r.stdout.toString())) sent.set(id, s);
          }));
          log('retrieving captures');
          await Promise.all(caps.map(async (c, i) => {
            const got = await c.retrieve();
            retrieved.set(probes[i]!.name, got);
            captures.push({ probe: probes[i]!.name, packets: decodeCapture(got.bytes), complete: captureComplete(got.stats) });
          }));
        } finally {
          await Promise.all(caps.map((c) => c.cleanup()));
        }
      }
    }

    const allPods = await retrying('listing pods', () => kube.core.listPodForAllNamespaces());
    const { observations, tokenIndex } = observe({ flows, sent, probes, inventory, captures });
    const obs: Observations = {
      probes, inventory, flows: observations, controls: tokensPerCapture(tokenIndex),
      nodes: nodes.map(nodeFacts), pods: allPods.items.map(podFacts), ...(external ? { external } : {}),
    };
    const results: CheckResult[] = CHECKS.filter((c) => checks.includes(c)).map((c) => ({ id: c.id, title: c.title, rule: c.rule, profile: c.profile, ...c.judge(obs) }));
    const finished = new Date();
    const report: ConformanceReport = {
      apiVersion: REPORT_API_VERSION,
      kind: 'ConformanceReport',
      runId,
      startedAt: started.toISOString(),
      finishedAt: finished.toISOString(),
      durationMs: finished.getTime() - started.getTime(),
      implementation: { tool: 'podwire', version: packageVersion() },
      cluster: { server: kube.server, version, nodes: obs.nodes },
      dataplane: fingerprint(observations),
      options: { only: opts.only, skip: opts.skip, externalTarget: external ? `${external.ip}:${external.port}` : null, probeImage: opts.probeImage },
      summary: summarize(results),
      counts: { probes: probes.length, flows: flows.length, captures: captures.length, execs: execCounter.calls - execsBefore, retried: [...sent.values()].filter((s) => s.retried).length },
      checks: results,
    };
    await mkdir(dir, { recursive: true });
    for (const c of report.checks) {
      if (c.result === 'failed' || c.result === 'inconclusive') {
        c.evidence = await writeEvidence(dir, c, { retrieved, captures, inventory, probes });
      }
    }
    await writeFile(join(dir, 'report.json'), JSON.stringify(report, null, 2) + '\n');
    await writeFile(join(dir, 'junit.xml'), junitXml(report));
    return { report, dir };
  } finally {
    if (needsProbes && !opts.keep) {
      log(`deleting namespace ${ns}`);
      await deleteRunNamespace(kube, ns, 60_000);
    }
  }
}

/** A target advertised by the cluster; one that does not parse is ignored (the check then says none was given). */
function annotatedTarget(v: string): ExternalTarget | undefined {
  try {
    return parseExternalTarget(v.trim());
  } catch {
    return undefined;
  }
}


