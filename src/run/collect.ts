// collect: the only stage that talks to the cluster. Deploy probes on every
// node that can host them, take each probe's inventory (addresses, routes,
// where pod traffic leaves the node, the port its listener bound), start one
// capture per probe, send every flow (one agent exec per probe), bring the
// captures back, list the cluster's nodes and pods, delete the run's
// namespace. Returns the run bundle; judging is someone else's job.
import { randomBytes, randomInt } from 'node:crypto';
import { VersionApi, type V1Node, type V1Pod } from '@kubernetes/client-node';
import { PassThrough } from 'node:stream';
import { InfraError, LostApiError, UsageError } from '../errors.js';
import { ApiGuard } from '../kube/guard.js';
import { isTransportFailure } from '../kube/liveness.js';
import { markEnded, heartbeatAnnotations, startHeartbeat } from './heartbeat.js';
import { externalTargetConflict } from '../conformance/external-target.js';
import { EXTERNAL_TARGET_ANNOTATION } from '../names.js';
import { loadKube, type Kube } from '../kube/client.js';
import { ExecError, execCounter, execInPod, type ExecOptions, type ExecTarget, type OutputListener } from '../kube/exec.js';
import { missingRights, rbacLine, runRights, whoAmI } from '../kube/rights.js';
import { createLimiter, unlimited, type Limiter } from '../kube/limit.js';
import {
  agentExec, parseInventoryOutput, parseSendStream, sendTimeoutMs, AGENT_PORT_SPAN as PORT_SPAN, type AgentFlow, type AgentSent, type CaptureHandle, type CaptureSpecArgs, type SendArgs,
} from '../conformance/agent.js';
import { ALL_PAIRS_UP_TO, DEFAULT_SAMPLE_K, planFlows, remotePeers, uplinkQueries, type Pairs } from '../conformance/flows.js';
import type { Flow, FlowKind, Probe, ProbeInventory, ProbeRole, SentFlow } from '../conformance/model.js';
import type { ExternalTarget, NodeCoverage } from '../conformance/observations.js';
import { parseExternalTarget, targetText, type RunOptions } from '../conformance/options.js';
import { canonicalIP, familyOf } from '../conformance/ip.js';
import { familyName, runFamilies, targetOf, viewProbes, type Family } from '../conformance/families.js';
import { watchPods } from '../kube/watch.js';
import {
  admissionRefusal, ApiCallError, apiMessage, elideAgentSource, namespaceSpec, podSecurityRefusedAll, probeOf, probeSpec, refusalReason, retrying, waitProbes, type AdmissionRefusal,
} from '../conformance/probes.js';
import { BUNDLE_API_VERSION, type BundleCapture, type RunBundle, type RunPhases } from '../bundle/model.js';
import { packageVersion } from '../version.js';

const API_TIMEOUT_MS = 10_000;
const CONNECT_TIMEOUT_MS = 4_000;
/** Host probes see everything their node forwards: keep headers and the token, and stop at a bound. */
const HOST_SNAPLEN = 512;
const HOST_MAX_PACKETS = 200_000;
/** How often the run polls the namespace until it is gone (the simulation counts these requests). */
export const NAMESPACE_POLL_MS = 200;
/** Listener ports: a random base per run, each listener taking the first free port of PORT_SPAN from it. */
const PORT_MIN = 20_000;
const PORT_MAX = 29_000;

/** Progress of one long phase: `update(done)` of the total it was started with, then `end()`. */
export interface PhaseProgress {
  update(done: number): void;
  end(): void;
}

export interface CollectHooks {
  log: (line: string) => void;
  /** Starts a long phase (deploy, send, retrieve) of `total` steps; without it, phases are silent. */
  phase?: (what: string, total: number) => PhaseProgress;
  /**
   * Called just before the run's namespace is created, so an interrupt can delete it: once `idle()`
   * resolves, no request of the run is on the wire any more (none can land after the deletion).
   */
  onNamespace?: (ns: string, kube: Kube, idle: () => Promise<void>) => void;
  /** Aborted by an interrupt: pending API calls and execs are cut, none starts, and the interrupt's cleanup (not collect) deletes the namespace. */
  signal?: AbortSignal;
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
async function checkApi(kube: Kube, limit: Limiter): Promise<string> {
  try {
    const v = await limit(() => withTimeout(kube.kc.makeApiClient(VersionApi).getCode(), API_TIMEOUT_MS, 'the version request'));
    return v.gitVersion;
  } catch (err) {
    const code = (err as { code?: number }).code;
    if (code === 401) throw new InfraError(`Unauthorized (401): the API server at ${kube.server} rejected the credentials in the kubeconfig (context ${kube.kc.getCurrentContext()})`);
    if (code === 403) throw new InfraError(`Forbidden (403): the API server at ${kube.server} refused the version request: ${apiMessage(err)}`);
    throw new InfraError(`cannot reach the Kubernetes API at ${kube.server}: ${apiMessage(err)}`);
  }
}

/** Why a node is not probed at all (left out on purpose), or undefined when it is a candidate. */
export function leftOutReason(n: V1Node): string | undefined {
  const labels = n.metadata?.labels ?? {};
  if (labels.type === 'virtual-kubelet' || (n.spec?.taints ?? []).some((t) => t.key.startsWith('virtual-kubelet.io/'))) return 'virtual-kubelet node: no kernel of its own to probe';
  const os = labels['kubernetes.io/os'] ?? n.status?.nodeInfo?.operatingSystem ?? 'linux';
  if (os !== 'linux') return `not a Linux node (${os})`;
  if (n.status?.conditions?.find((c) => c.type === 'Ready')?.status !== 'True') return 'not Ready';
  return undefined;
}

function captureFilter(role: ProbeRole, portBase: number, externals: readonly ExternalTarget[] = []): string {
  const ports = `portrange ${portBase}-${portBase + PORT_SPAN - 1}`;
  // ICMP errors (unreachable, time exceeded) say where a flow stopped; "fragmentation needed" answers full-size DF datagrams.
  // ICMPv6 likewise: destination unreachable (1), packet too big (2, the PMTU signal), time exceeded (3), read at the
  // first header after IPv6's (an extension header in between hides one: the flow is then judged without it).
  // ARP: a destination nothing answers for on the link (an address no interface holds) shows as unanswered requests.
  const parts = [`tcp ${ports}`, `udp ${ports}`, 'icmp[icmptype] == icmp-unreach', 'icmp[icmptype] == icmp-timxceed', '(icmp6 and ip6[40] >= 1 and ip6[40] <= 3)', 'arp'];
  for (const t of externals) parts.push(`(host ${t.ip} and tcp port ${t.port})`);
  // On the uplink, encapsulated pod traffic shows up under the tunnel's headers (over an IPv4 or an IPv6 underlay).
  if (role === 'host') parts.push('udp port 8472', 'udp port 4789', 'udp port 6081', 'udp port 51820', 'udp port 51871', 'ip proto 4', 'ip proto 41', 'ip proto 47', 'ip proto 50', 'ip6 proto 4', 'ip6 proto 41', 'ip6 proto 47', 'ip6 proto 50');
  return parts.join(' or ');
}

/** Deletes a run's namespace and waits until it is gone; an error names what did not go. */
export async function deleteRunNamespace(kube: Kube, ns: string, waitMs: number, limit: Limiter = unlimited, signal?: AbortSignal): Promise<void> {
  await limit(() => kube.core.deleteNamespace({ name: ns })).catch((err: unknown) => {
    if ((err as { code?: number }).code !== 404) throw new InfraError(`cannot delete namespace ${ns}: ${apiMessage(err)}`);
  });
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline) {
    if (signal?.aborted) throw signal.reason as Error;
    const gone = await limit(() => kube.core.readNamespace({ name: ns })).then(() => false, (e: unknown) => {
      // Without the right to read it, waiting would last until the deadline and prove nothing.
      if ((e as { code?: number }).code === 403) throw new InfraError(`namespace ${ns} was deleted, but whether it is gone cannot be known: ${apiMessage(e)}`);
      return (e as { code?: number }).code === 404;
    });
    if (gone) return;
    await new Promise((r) => setTimeout(r, NAMESPACE_POLL_MS));
  }
  throw new InfraError(`namespace ${ns} still exists ${Math.round(waitMs / 1000)} s after its deletion`);
}

/** Pods listed per request: pages keep each response small on large clusters (a 5,000-node cluster's pod list is over 700 MB, more than one string holds). */
export const POD_PAGE = 500;

/** Every pod in the cluster, listed in pages of {@link POD_PAGE} (an API server that ignores `limit` answers in one). */
async function listAllPods(kube: Kube, limit: Limiter): Promise<{ items: V1Pod[] }> {
  const items: V1Pod[] = [];
  let token: string | undefined;
  do {
    const page = await retrying('listing pods', () => limit(() => kube.core.listPodForAllNamespaces({ limit: POD_PAGE, ...(token ? { _continue: token } : {}) })));
    items.push(...page.items);
    token = page.metadata?._continue || undefined;
  } while (token);
  return { items };
}

/** The last lines of a probe's log: why a crashing probe crashes. */
async function lastLogLines(ctx: Ctx, pod: string): Promise<string> {
  // pods/log is not among the rights a run needs (deploy/rbac.yaml): without it the reason says so instead.
  const log = await ctx.limit(() => ctx.kube.core.readNamespacedPodLog({ name: pod, namespace: ctx.ns, tailLines: 3 }))
    .catch((err: unknown) => ((err as { code?: number }).code === 403 ? `(its log is not readable: ${apiMessage(err)})` : ''));
  return String(log).trim().split('\n').filter(Boolean).slice(-3).join(' | ');
}

const toSent = (a: AgentSent): SentFlow => ({
  id: a.id, src: a.src, sports: a.sports, errno: a.errno, reply: a.reply,
  ...(a.error ? { error: a.error } : {}), ...(a.size !== undefined ? { size: a.size } : {}), ...(a.retried ? { retried: true } : {}),
});

/** `--pairs` for `nodes` covered nodes; a sample's seed is the one given, or a random one (recorded). */
export function resolvePairs(opts: Pick<RunOptions, 'pairs' | 'seed'>, nodes: number): Pairs {
  const seed = opts.seed ?? randomInt(0, 1_000_000_000);
  if (opts.pairs === 'all') return { mode: 'all' };
  if (opts.pairs === 'auto') return nodes <= ALL_PAIRS_UP_TO ? { mode: 'all' } : { mode: 'sample', k: DEFAULT_SAMPLE_K, seed };
  return { mode: 'sample', k: opts.pairs.k, seed };
}

/** What every step of a collection shares. */
interface Ctx {
  kube: Kube;
  ns: string;
  runId: string;
  portBase: number;
  opts: RunOptions;
  log: (line: string) => void;
  phase: (what: string, total: number) => PhaseProgress;
  /** The cap on concurrent API requests and execs (`--concurrency`): every call to the cluster goes through it. */
  limit: Limiter;
  /** Each node's InternalIPs (every family, as listed). */
  nodeIPs: Map<string, string[]>;
  /** Whether the API still answers; it abandons every request and exec of the run once the API is lost. */
  guard: ApiGuard;
  /** Aborted when the API is lost (the guard) or the user interrupts the run: every exec is closed. */
  signal: AbortSignal;
}

/** An exec under the run's cap, abandoned when the run is (a lost API, an interrupt); what it gets back (or does not) tells the guard whether the API answers. */
const exec = (ctx: Ctx, ...[kc, target, command, opts]: Parameters<typeof execInPod>) => ctx.limit(() => execInPod(kc, target, command, {
  ...opts,
  signal: ctx.signal,
  onOutput: (stream, chunk) => {
    ctx.guard.answered();
    opts?.onOutput?.(stream, chunk);
  },
}).then((r) => {
  ctx.guard.answered();
  return r;
}, (err: unknown) => {
  ctx.guard.failed(err);
  throw err;
}));

/** Nodes sorted by name, split into candidates and nodes left out on purpose. */
function candidateNodes(nodes: V1Node[]): { candidates: string[]; leftOut: NodeCoverage[] } {
  const candidates: string[] = [];
  const leftOut: NodeCoverage[] = [];
  for (const n of [...nodes].sort((a, b) => ((a.metadata?.name ?? '') < (b.metadata?.name ?? '') ? -1 : 1))) {
    const name = n.metadata?.name ?? '';
    const out = leftOutReason(n);
    if (out) leftOut.push({ node: name, covered: false, leftOut: true, reason: out });
    else candidates.push(name);
  }
  return { candidates, leftOut };
}

/**
 * Creates three probes per candidate node and waits for them; a probe that
 * cannot start is recorded in `failed`, never thrown. PodSecurity refusing
 * every probe is the exception: the namespace's level bars them all, so the
 * run stops with one line naming the policy and a probe.
 */
async function deployProbes(ctx: Ctx, candidates: string[], failed: Map<string, string>, enforce: string | undefined): Promise<{ specs: V1Pod[]; ready: Probe[] }> {
  const { kube, ns, runId, portBase, opts } = ctx;
  const specs = candidates.flatMap((node) => [
    probeSpec({ run: runId, node, role: 'pod', suffix: 'a', image: opts.probeImage, portBase }),
    probeSpec({ run: runId, node, role: 'pod', suffix: 'b', image: opts.probeImage, portBase }),
    probeSpec({ run: runId, node, role: 'host', image: opts.probeImage, portBase }),
  ]);
  ctx.log(`deploying ${specs.length} probes in namespace ${ns}`);
  const refused = new Map<string, AdmissionRefusal>();
  await Promise.all(specs.map((body) => retrying(`creating probe ${body.metadata!.name}`, () => ctx.limit(() => kube.core.createNamespacedPod({ namespace: ns, body })))
    .catch((err: Error & { status?: number }) => {
      // Admission (PodSecurity, webhooks), quota: this probe cannot be; the others go on. Anything else stops the run.
      if (err instanceof ApiCallError && err.rbac) throw err;
      if (!(err.status === 403 || err.status === 422 || err.status === 400)) throw err;
      const name = body.metadata!.name!;
      const refusal = admissionRefusal(err.message);
      if (refusal) refused.set(name, refusal);
      failed.set(name, refusal ? refusalReason(refusal) : `refused by the API: ${err.message}`);
    })));
  const byPsa = specs.map((s) => s.metadata!.name!).filter((n) => refused.get(n)?.kind === 'PodSecurity');
  if (byPsa.length === specs.length) {
    // The host probe's refusal says the most (hostNetwork as well as capabilities).
    const probe = byPsa.find((n) => n.startsWith('pw-host-')) ?? byPsa[0]!;
    throw new InfraError(podSecurityRefusedAll(ns, probe, refused.get(probe)!, enforce));
  }
  const names = specs.map((s) => s.metadata!.name!).filter((n) => !failed.has(n));
  const progress = ctx.phase('probes ready', names.length);
  ctx.guard.phase = 'waiting for the probes to be ready';
  const wait = await waitProbes(kube.core, ns, names, opts.timeoutS * 1000, (r) => progress.update(r), (...a) => watchPods(kube.kc, ...a), ctx.limit).finally(() => progress.end());
  for (const [name, reason] of wait.failed) {
    const tail = /CrashLoopBackOff|exited/.test(reason) ? await lastLogLines(ctx, name) : '';
    failed.set(name, tail ? `${reason}; last log lines: ${tail}` : reason);
  }
  return { specs, ready: [...wait.ready.values()].map((p) => probeOf(p, ctx.nodeIPs.get(p.spec?.nodeName ?? '') ?? [])) };
}

/**
 * One inventory exec per probe: addresses, routes, the listener's port and,
 * for host probes, where each local pod's traffic to each destination leaves
 * the node. A probe whose inventory fails is recorded in `failed`.
 */
async function inventoryProbes(ctx: Ctx, ready: Probe[], externals: readonly ExternalTarget[], failed: Map<string, string>, peers: ReadonlyMap<string, readonly string[]>, families: readonly Family[]) {
  const inventory: Record<string, ProbeInventory> = {};
  const handles = new Map<string, CaptureHandle>();
  // Per family: the pods' addresses of that family, and the external target of that family.
  const perFamily = families.map((f) => ({ podIPs: podIPsByNode(viewProbes(ready, f).probes), external: targetOf(externals, f) }));
  const probes = await Promise.all(ready.map(async (p): Promise<Probe | undefined> => {
    const queries = p.role === 'host' ? perFamily.flatMap((x) => uplinkQueries(p.node, x.podIPs, peers, x.external)) : [];
    const { command, stdin } = agentExec('inventory', {
      run: ctx.runId, pod: p.name, role: p.role, capture: captureSpec(p.role, ctx.portBase, externals), ...(p.role === 'host' ? { uplinkQueries: queries } : {}),
    });
    try {
      const r = await exec(ctx, ctx.kube.kc, { namespace: ctx.ns, pod: p.name }, command, { stdin, timeoutMs: 30_000 });
      if (r.exitCode !== 0) throw new Error(`exit ${r.exitCode}: ${r.stderr.toString().trim().split('\n').pop() ?? ''}`);
      const inv = parseInventoryOutput(r.stdout.toString());
      if (inv.capture) handles.set(p.name, inv.capture);
      if (inv.port === undefined) throw new Error(`its listener has no port: ${inv.portError ?? 'unknown'}`);
      if (!inv.capture) throw new Error(`its capture did not start: ${inv.captureError ?? 'unknown'}`);
      inventory[p.name] = {
        // Both families; link-local addresses (every IPv6 interface has one) are no pod's or node's identity.
        addresses: inv.addresses.filter((a) => a.scope !== 'link' && (p.role === 'host' || a.ifname === 'eth0')).map((a) => canonicalIP(a.address)),
        routes: inv.routes, addrText: inv.addrText, rules: inv.rules, ...(inv.mtu !== undefined ? { mtu: inv.mtu } : {}), ...(p.role === 'host' ? { uplinks: inv.uplinks } : {}),
        ...(inv.links ? { links: inv.links } : {}), ...(inv.firewall ? { firewall: inv.firewall } : {}),
      };
      return { ...p, port: inv.port };
    } catch (err) {
      // A refused exec (RBAC) is refused for every probe: the run stops, naming the right.
      if (err instanceof ExecError && err.status === 403) throw new InfraError(err.message);
      failed.set(p.name, `inventory failed: ${(err as Error).message.split('\n')[0]}`);
      return undefined;
    }
  }));
  return { probes: probes.filter((p): p is Probe => !!p), inventory, handles };
}

/** Each node's pod probes' IPs, by suffix. */
export function podIPsByNode(probes: readonly Probe[]): Map<string, { a?: string; b?: string }> {
  const m = new Map<string, { a?: string; b?: string }>();
  for (const p of probes) {
    if (p.role !== 'pod') continue;
    const slot = p.name.endsWith('-a') ? 'a' : p.name.endsWith('-b') ? 'b' : undefined;
    if (!slot) continue;
    const e = m.get(p.node) ?? {};
    e[slot] ??= p.ip;
    m.set(p.node, e);
  }
  return m;
}

/** A node is covered when all three of its probes started and answered their inventory. */
function coverageOf(candidates: string[], specs: V1Pod[], failed: Map<string, string>): NodeCoverage[] {
  return candidates.map((node) => {
    const bad = specs.filter((s) => s.spec!.nodeName === node).map((s) => s.metadata!.name!).find((n) => failed.has(n));
    return bad ? { node, covered: false, reason: `${bad}: ${failed.get(bad)}` } : { node, covered: true };
  });
}

/** What each probe's capture keeps: host probes see everything their node forwards, so headers and the token only, up to a bound. */
export function captureSpec(role: ProbeRole, portBase: number, externals: ExternalTarget | readonly ExternalTarget[] | undefined): CaptureSpecArgs {
  const targets = externals === undefined ? [] : 'ip' in externals ? [externals] : externals;
  return { filter: captureFilter(role, portBase, targets), ...(role === 'host' ? { snaplen: HOST_SNAPLEN, maxPackets: HOST_MAX_PACKETS } : {}) };
}

interface SendJob {
  probe: Probe;
  args: SendArgs & { capture: CaptureHandle };
}

/** Where a send or retrieval exec's output goes: the flows into `sent`, the capture into `captures`, or it is lost and ended. */
interface SendSink {
  sent: SentFlow[];
  captures: BundleCapture[];
}

/** Records what one exec printed; a capture that did not come back is ended by a cleanup exec. */
async function recordOutput(ctx: Ctx, j: SendJob, stdout: Buffer, sink: SendSink, withCapture: boolean): Promise<void> {
  const out = parseSendStream(stdout);
  for (const a of out.sent.values()) sink.sent.push(toSent(a));
  if (!withCapture) return;
  if (out.capture && 'bytes' in out.capture) {
    sink.captures.push({
      probe: j.probe.name, file: `${j.probe.name}.pcap`, stats: out.capture.stats, ...(j.probe.role === 'host' ? { maxPackets: HOST_MAX_PACKETS } : {}),
      bytes: out.capture.bytes.length, sha256: out.capture.sha256, data: out.capture.bytes,
    });
  } else {
    ctx.log(`capture of ${j.probe.name} lost: ${out.capture?.error ?? 'the exec ended before streaming it'}`);
    await stopCapture(ctx, j.probe, j.args.capture);
  }
}

/**
 * Every probe's send exec at once, each holding its capture: once every
 * probe is done sending (each says so on stdout), each is told on stdin to
 * stop its capture, which it then streams back in the same exec. Two execs
 * per probe in all (the inventory started the capture). Needs one slot per
 * probe under `--concurrency`.
 */
async function sendHoldingCaptures(ctx: Ctx, jobs: SendJob[], sink: SendSink): Promise<void> {
  const sendingMs = Math.max(...jobs.map((j) => sendTimeoutMs(j.args)));
  const stdins = new Map(jobs.map((j) => [j, new PassThrough()]));
  let finished = false;
  const senders = ctx.phase('senders done', jobs.length);
  let retrieving: PhaseProgress | undefined;
  let retrieved = 0;
  const finishAll = () => {
    if (finished) return;
    finished = true;
    senders.end();
    retrieving = ctx.phase('captures retrieved', jobs.length);
    for (const s of stdins.values()) s.end('finish\n');
  };
  const deadline = setTimeout(finishAll, sendingMs + 10_000);
  let pending = jobs.length;
  const doneOne = () => {
    senders.update(jobs.length - --pending);
    if (pending === 0) finishAll();
  };
  try {
    await Promise.all(jobs.map(async (j) => {
      const { command, stdin } = agentExec('send', j.args);
      const input = stdins.get(j)!;
      input.write(stdin);
      let text = '';
      let seen = false;
      const onOutput: OutputListener = (stream, chunk) => {
        if (seen || stream !== 'stdout') return;
        text += chunk.toString('latin1');
        if (text.includes('{"done":true}\n')) {
          seen = true;
          doneOne();
        }
      };
      try {
        const r = await exec(ctx, ctx.kube.kc, { namespace: ctx.ns, pod: j.probe.name }, command, { stdin: input, timeoutMs: sendingMs + 180_000, onOutput });
        if (!seen) doneOne();
        if (r.exitCode !== 0) ctx.log(`sender ${j.probe.name} exited ${r.exitCode}: ${r.stderr.toString().trim().split('\n').pop() ?? ''}`);
        await recordOutput(ctx, j, r.stdout, sink, true);
      } catch (err) {
        if (!seen) doneOne();
        ctx.log(`sender ${j.probe.name} failed: ${(err as Error).message.split('\n')[0]}`);
        await stopCapture(ctx, j.probe, j.args.capture);
      }
      retrieving?.update(++retrieved);
    }));
  } finally {
    clearTimeout(deadline);
    finishAll();
    retrieving?.end();
  }
}

/**
 * More probes than `--concurrency` slots: the send execs cannot all wait
 * for each other, so each sends its flows and ends (captures keep running),
 * and once every sender has ended one more exec per probe stops its capture
 * and streams it back. Three execs per probe, never more than the cap at once.
 */
async function sendThenRetrieve(ctx: Ctx, jobs: SendJob[], sink: SendSink): Promise<void> {
  const senders = ctx.phase('senders done', jobs.length);
  let sentBy = 0;
  await Promise.all(jobs.map(async (j) => {
    const { capture: _capture, ...args } = j.args;
    const { command, stdin } = agentExec('send', args);
    try {
      const r = await exec(ctx, ctx.kube.kc, { namespace: ctx.ns, pod: j.probe.name }, command, { stdin, timeoutMs: sendTimeoutMs(args) + 60_000 });
      if (r.exitCode !== 0) ctx.log(`sender ${j.probe.name} exited ${r.exitCode}: ${r.stderr.toString().trim().split('\n').pop() ?? ''}`);
      await recordOutput(ctx, j, r.stdout, sink, false);
    } catch (err) {
      ctx.log(`sender ${j.probe.name} failed: ${(err as Error).message.split('\n')[0]}`);
    }
    senders.update(++sentBy);
  })).finally(() => senders.end());
  const retrieving = ctx.phase('captures retrieved', jobs.length);
  let retrieved = 0;
  await Promise.all(jobs.map(async (j) => {
    // The agent's send mode with no flows: it says done, reads the line that follows its arguments, and streams the capture.
    const { command, stdin } = agentExec('send', { flows: [], replyWaitMs: j.args.replyWaitMs, connectTimeoutMs: j.args.connectTimeoutMs, capture: j.args.capture });
    try {
      const r = await exec(ctx, ctx.kube.kc, { namespace: ctx.ns, pod: j.probe.name }, command, { stdin: `${stdin}finish\n`, timeoutMs: 180_000 });
      await recordOutput(ctx, j, r.stdout, sink, true);
    } catch (err) {
      ctx.log(`capture of ${j.probe.name} not retrieved: ${(err as Error).message.split('\n')[0]}`);
      await stopCapture(ctx, j.probe, j.args.capture);
    }
    retrieving.update(++retrieved);
  })).finally(() => retrieving.end());
}

/**
 * Sends every flow (one agent exec per probe sending all of its flows) and
 * brings every capture back. A probe whose capture does not come back has
 * none in the bundle (its "not seen" verdicts cannot be proven), and its
 * tcpdump is ended by a cleanup exec.
 */
async function sendAndCapture(ctx: Ctx, probes: Probe[], flows: Flow[], handles: Map<string, CaptureHandle>): Promise<SendSink> {
  const sink: SendSink = { sent: [], captures: [] };
  const replyWaitMs = Math.round(1000 * Math.min(5, Math.max(3, 1 + flows.length / 300)));
  const byProbe = new Map<string, AgentFlow[]>();
  for (const f of flows) {
    const list = byProbe.get(f.from) ?? [];
    list.push({ id: f.id, token: f.token, proto: f.proto, dst: f.dstIP, port: f.dstPort, ...(f.mtu ? { mtu: true } : {}) });
    byProbe.set(f.from, list);
  }
  const jobs: SendJob[] = probes.map((p) => ({ probe: p, args: { flows: byProbe.get(p.name) ?? [], replyWaitMs, connectTimeoutMs: CONNECT_TIMEOUT_MS, capture: handles.get(p.name)! } }));
  const together = jobs.length <= ctx.limit.limit;
  ctx.log(`sending ${flows.length} flows from ${jobs.filter((j) => j.args.flows.length).length} probes${together ? '' : ` (at most ${ctx.limit.limit} execs at once: captures are retrieved after every probe has sent)`}`);
  await (together ? sendHoldingCaptures(ctx, jobs, sink) : sendThenRetrieve(ctx, jobs, sink));
  return { sent: sink.sent.sort((a, b) => Number(a.id.slice(1)) - Number(b.id.slice(1))), captures: sink.captures.sort((a, b) => (a.probe < b.probe ? -1 : 1)) };
}

/** Ends a capture the run no longer reads (by its PID, in the pod) and removes its files. */
async function stopCapture(ctx: Ctx, probe: Probe, capture: CaptureHandle): Promise<void> {
  const { command, stdin } = agentExec('stop', { capture });
  await exec(ctx, ctx.kube.kc, { namespace: ctx.ns, pod: probe.name }, command, { stdin, timeoutMs: 30_000 }).catch(() => undefined);
}

/**
 * A run's collection, bounded against an API server that stops answering:
 * every request has a deadline, and once nothing has answered for
 * LOST_AFTER_MS after a request failed for want of an answer, the run is
 * abandoned with a LostApiError naming the phase and the namespace.
 */
export async function collect(opts: RunOptions, hooks: CollectHooks): Promise<RunBundle> {
  const guard = new ApiGuard('');
  const kube = loadKube({ ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}), ...(opts.context ? { context: opts.context } : {}) }, guard);
  guard.use(kube.kc, kube.server);
  guard.start();
  // While the API does not answer, what the run says waits: if the API is lost, the error that ends the run says it all (one
  // line, not a failure per exec); if it answers again, the lines follow.
  const held: string[] = [];
  const log = (line: string) => {
    if (guard.aborted) return;
    if (guard.suspect) held.push(line);
    else hooks.log(line);
  };
  guard.onRecover = () => {
    for (const line of held.splice(0)) hooks.log(line);
  };
  try {
    return await guard.race(collectGuarded(opts, { ...hooks, log }, kube, guard));
  } catch (err) {
    if (err instanceof LostApiError || guard.aborted || !guard.suspect) throw err;
    // A request failed for want of an answer and the run could not go on: one more question tells a lost API from an error of its own.
    const answers = await withTimeout(kube.core.getAPIResources(), 3_000, 'the API check').then(() => true, (e: unknown) => !isTransportFailure(e) && !/timed out/.test(String((e as Error)?.message)));
    throw answers ? err : guard.lostError();
  } finally {
    guard.stop();
  }
}

async function collectGuarded(opts: RunOptions, hooks: CollectHooks, kube: Kube, guard: ApiGuard): Promise<RunBundle> {
  const { log } = hooks;
  const startedAt = new Date().toISOString();
  const execsBefore = execCounter.calls;
  execCounter.maxInFlight = execCounter.inFlight;
  const limit = createLimiter(opts.concurrency, hooks.signal);
  const phases: RunPhases = {};
  const since = (t0: number) => Math.round(performance.now() - t0);
  let t0 = performance.now();
  const version = await checkApi(kube, limit);
  const kinds = new Set<FlowKind>(opts.checks.flatMap((c) => c.flowKinds));
  const runId = newRunId();
  const runNs = `podwire-${runId}`;
  // Every right the run will use, asked before anything exists: a run that could create its namespace but not delete it must not start.
  const missing = await missingRights(kube, runRights(version, kinds.size > 0), runNs, limit);
  if (missing === undefined) log('the API server did not say which rights this identity has (SelfSubjectAccessReview); going on');
  else if (missing.length) throw new InfraError(`${rbacLine(missing, runNs, await whoAmI(kube))} (deploy/rbac.yaml lists what a run needs)`);
  guard.phase = 'listing nodes';
  const nodeList = await retrying('listing nodes', () => limit(() => kube.core.listNode()));
  phases.api = since(t0);
  const { candidates, leftOut } = candidateNodes(nodeList.items);
  if (candidates.length === 0) throw new InfraError(`the cluster has no node to probe (${leftOut.map((c) => `${c.node}: ${c.reason}`).join('; ') || 'no nodes'})`);
  const annotated = nodeList.items.map((n) => n.metadata?.annotations?.[EXTERNAL_TARGET_ANNOTATION]).find(Boolean);
  const given = opts.externalTargets ?? [];
  if (given.length) {
    // Refused before anything is created: a target inside the cluster would fail NM-4.1 on a healthy cluster.
    const pods = await listAllPods(kube, limit);
    for (const t of given) {
      const conflict = externalTargetConflict(t, nodeList.items, pods.items);
      if (conflict) throw new UsageError(conflict);
    }
  }
  const externals = given.length ? given : annotated ? annotatedTargets(annotated) : [];
  const nodeIPs = new Map(nodeList.items.map((n) => [n.metadata?.name ?? '', (n.status?.addresses ?? []).filter((a) => a.type === 'InternalIP').map((a) => canonicalIP(a.address))]));

  const shown = hooks.phase ?? (() => ({ update: () => undefined, end: () => undefined }));
  // Sending and retrieving are timed by their progress phases (they overlap no other work).
  const timedPhases: Record<string, keyof RunPhases> = { 'senders done': 'send', 'captures retrieved': 'retrieve' };
  const phase = (what: string, total: number): PhaseProgress => {
    const h = shown(what, total);
    const start = performance.now();
    const key = timedPhases[what];
    return { update: (n) => h.update(n), end: () => {
      h.end();
      if (key) phases[key] = since(start);
    } };
  };
  const ctx: Ctx = {
    kube, ns: runNs, runId, portBase: randomInt(PORT_MIN, PORT_MAX), opts, log, phase, limit, nodeIPs, guard,
    signal: hooks.signal ? AbortSignal.any([guard.signal, hooks.signal]) : guard.signal,
  };
  log(`run ${runId}: ${candidates.length} node(s) (${version}), ${opts.checks.length} check(s), profile ${opts.profile}${externals.length ? `, external target ${externals.map(targetText).join(', ')}` : ''}`);

  let coverage: NodeCoverage[] = candidates.map((node) => ({ node, covered: true }));
  let probes: Probe[] = [];
  let inventory: Record<string, ProbeInventory> = {};
  let flows: Flow[] = [];
  let pairs: Pairs = { mode: 'all' };
  let families: Family[] = [];
  let traffic: { sent: SentFlow[]; captures: BundleCapture[] } = { sent: [], captures: [] };
  let stopHeartbeat = () => undefined as void;
  try {
    if (kinds.size > 0) {
      t0 = performance.now();
      guard.phase = 'creating the run\'s namespace';
      guard.namespace = ctx.ns; // from the first attempt on: a create whose answer was lost may have created it
      // Known before it is asked for: an interrupt during its creation still removes it.
      hooks.onNamespace?.(ctx.ns, kube, () => limit.idle());
      const created = await retrying(`creating namespace ${ctx.ns}`, () => limit(() => kube.core.createNamespace({ body: namespaceSpec(ctx.ns, runId, heartbeatAnnotations()) })));
      stopHeartbeat = startHeartbeat(kube, ctx.ns, guard, (err) => guard.abort(err));
      // A policy on the cluster may have changed the PodSecurity level podwire asked for: said if PodSecurity then refuses the probes.
      const enforce = created.metadata?.labels?.['pod-security.kubernetes.io/enforce'];
      const failed = new Map<string, string>();
      guard.phase = 'deploying probes';
      const { specs, ready } = await deployProbes(ctx, candidates, failed, enforce);
      // The pairs are chosen among the nodes whose probes all started, before the inventory: the host probes look up the uplinks of those flows only.
      const readyNodes = coverageOf(candidates, specs, failed).filter((c) => c.covered).map((c) => c.node);
      pairs = resolvePairs(opts, readyNodes.length);
      const peers = remotePeers(readyNodes, pairs);
      families = runFamilies(ready, opts.families);
      const missing = (opts.families ?? []).filter((f) => !families.includes(f));
      if (missing.length && ready.some((p) => p.role === 'pod')) {
        throw new InfraError(`\`--ip-family\` asks for ${missing.map(familyName).join(' and ')}, but no probe pod got an address of it (status.podIPs: ${ready.find((p) => p.role === 'pod')?.ips?.join(', ') ?? ready.find((p) => p.role === 'pod')?.ip}): the cluster is not ${missing.includes(6) ? 'IPv6' : 'IPv4'}-enabled`);
      }
      if (families.length > 1 || families[0] === 6) log(`families: ${families.map(familyName).join(' and ')}`);
      phases.deploy = since(t0);
      log('inventory: addresses, routes, rules, links, uplinks, nat and filter tables, listener ports');
      guard.phase = 'the probes\' inventory';
      t0 = performance.now();
      const inv = await inventoryProbes(ctx, ready, kinds.has('pod-external') ? externals : [], failed, peers, families);
      phases.inventory = since(t0);
      coverage = coverageOf(candidates, specs, failed);
      for (const c of coverage.filter((x) => !x.covered)) log(`node ${c.node} not covered: ${c.reason}`);
      const covered = new Set(coverage.filter((c) => c.covered).map((c) => c.node));
      probes = inv.probes.filter((p) => covered.has(p.node));
      const probing = new Set(probes.map((p) => p.name));
      inventory = Object.fromEntries(Object.entries(inv.inventory).filter(([name]) => probing.has(name)));
      if (probes.length === 0) throw new InfraError(`no node could be probed: ${coverage.map((c) => `${c.node}: ${c.reason}`).slice(0, 3).join('; ')}`);
      if (pairs.mode === 'sample') log(`pairs: a sample of ${pairs.k} per node (seed ${pairs.seed}; --pairs all for every pair)`);
      flows = planFlows(runId, probes, nodeIPs, kinds.has('pod-external') ? externals : [], pairs, peers, families).filter((f) => kinds.has(f.kind));
      // Captures of probes on nodes that are not covered (another of their probes failed) are not read: end them.
      await Promise.all(ready.filter((p) => inv.handles.has(p.name) && !probing.has(p.name)).map((p) => stopCapture(ctx, p, inv.handles.get(p.name)!)));
      guard.phase = 'sending flows and retrieving captures';
      if (flows.length) traffic = await sendAndCapture(ctx, probes, flows, inv.handles);
      else await Promise.all(probes.map((p) => stopCapture(ctx, p, inv.handles.get(p.name)!)));
    }
    guard.phase = 'listing pods';
    const podList = await listAllPods(kube, limit);
    return {
      run: {
        apiVersion: BUNDLE_API_VERSION, kind: 'RunBundle', runId, startedAt, finishedAt: new Date().toISOString(),
        implementation: { tool: 'podwire', version: packageVersion() },
        cluster: { server: kube.server, version },
        options: {
          profile: opts.profile, egressSnat: opts.egressSnat, only: opts.only, skip: opts.skip,
          externalTarget: given.length ? given.map(targetText).join(',') : null, ...(opts.ipFamily ? { ipFamily: opts.ipFamily } : {}), probeImage: opts.probeImage, requireAllNodes: opts.requireAllNodes,
          pairs: opts.pairs === 'auto' || opts.pairs === 'all' ? opts.pairs : `sample:${opts.pairs.k}`,
          concurrency: opts.concurrency,
        },
        external: externals[0] ?? null,
        externals,
        families,
        pairs,
        // The namespace's deletion comes after the bundle: its requests are not in these counts.
        counts: { execs: execCounter.calls - execsBefore, apiRequests: limit.calls - (execCounter.calls - execsBefore), maxInFlight: limit.maxInFlight, maxExecsInFlight: execCounter.maxInFlight },
        phases,
      },
      api: { nodes: { apiVersion: 'v1', kind: 'NodeList', items: nodeList.items }, pods: { apiVersion: 'v1', kind: 'PodList', items: elideAgentSource(podList.items, runId) } },
      probes: { probes, inventory, coverage: [...leftOut, ...coverage] },
      flows: { flows, sent: traffic.sent },
      captures: traffic.captures,
    };
  } finally {
    // The heartbeat stops before the namespace goes: a renewal of a deleted namespace would read as someone else deleting it.
    stopHeartbeat();
    if (kinds.size > 0 && !guard.aborted && !hooks.signal?.aborted) {
      guard.phase = opts.keep ? 'marking the kept namespace' : 'deleting the run\'s namespace';
      if (opts.keep) {
        await markEnded(kube, ctx.ns).catch((err: unknown) => log(`could not mark namespace ${ctx.ns} as ended (podwire cleanup will see it live for a minute): ${apiMessage(err)}`));
      } else {
        log(`deleting namespace ${ctx.ns}`);
        t0 = performance.now();
        // A lost API is said once, by the error that ends the run.
        let lost = false;
        await deleteRunNamespace(kube, ctx.ns, 60_000, limit, guard.signal).catch((err: Error) => (lost = guard.suspect) || log(err.message));
        phases.cleanup = since(t0); // the bundle holds this object: it is written after collect returns
        // The namespace may be left: that ends the run, as a lost API anywhere else does (the caller checks the API once more).
        if (lost) throw new InfraError(`cannot delete namespace ${ctx.ns}`);
      }
    }
  }
}

/** The targets a cluster advertises (comma-separated, one per family); one that does not parse is ignored (its family's check then says none was given). */
export function annotatedTargets(v: string): ExternalTarget[] {
  const out: ExternalTarget[] = [];
  for (const part of v.split(',')) {
    try {
      const t = parseExternalTarget(part.trim());
      if (!out.some((x) => familyOf(x.ip) === familyOf(t.ip))) out.push(t);
    } catch {
      /* ignored */
    }
  }
  return out;
}
