// judge: a run bundle in, a ConformanceReport out. Pure: the same bundle and
// options give the same report, whether right after a run or later with
// `podwire judge`.
import { CHECKS, selectChecks, type ProfileChoice } from '../conformance/catalogue.js';
import { fingerprint } from '../conformance/fingerprint.js';
import { pathLatency, tcpIndex, type TcpIndex } from '../conformance/latency.js';
import type { CheckResult, ProbeInventory } from '../conformance/model.js';
import { nodeFacts, podFacts, type EgressSnat, type Observations } from '../conformance/observations.js';
import { indexCapture, indexOptionsFor, observe, type CaptureData, type CaptureIndex } from '../conformance/observe.js';
import { decodeCapture } from '../decode/buffer.js';
import { captureComplete, type RunBundle } from '../bundle/model.js';
import { REPORT_API_VERSION, summarize, summarizeFamilies, summarizeProfiles, type ConformanceReport, type Coverage, type PairCoverage } from '../report/model.js';
import { runsToCover } from '../conformance/flows.js';
import { diagnoseCheck, diagnoseContext } from './diagnose.js';
import { FAMILIES, familiesOf, familiesOfChoice, forFamily, runFamilies, type Family } from '../conformance/families.js';
import { mergeFamilies } from './per-family.js';

export interface JudgeOptions {
  profile?: ProfileChoice;
  egressSnat?: EgressSnat;
}

export interface Judged {
  report: ConformanceReport;
  /** The captures for the evidence writer: each decodes its packets when they are read (the judge keeps none: 2 M packets at 1,000 nodes). */
  captures: CaptureData[];
}

/**
 * Decodes each capture once and keeps only its indexes (observe's and the
 * handshake times'), so memory holds one capture's packets at a time.
 */
function indexCaptures(b: RunBundle) {
  const options = indexOptionsFor(b.flows.flows);
  const indexes = new Map<string, CaptureIndex>();
  const handshakes = new Map<string, TcpIndex>();
  for (const c of b.captures) {
    const data: CaptureData = { probe: c.probe, packets: decodeCapture(c.data, c.probe), complete: captureComplete(c.stats, c.maxPackets) };
    indexes.set(c.probe, indexCapture(data, options));
    handshakes.set(c.probe, tcpIndex(data));
  }
  return { indexes, handshakes };
}

/** The observations and the handshake times; the captures' indexes (but their ARP) are dropped before the checks run (they are most of the judge's memory). */
function observeBundle(b: RunBundle, inventory: Map<string, ProbeInventory>) {
  const { indexes, handshakes } = indexCaptures(b);
  const sent = new Map(b.flows.sent.map((s) => [s.id, s]));
  const { observations, controls } = observe({ flows: b.flows.flows, sent, probes: b.probes.probes, inventory, captures: [], indexes });
  // Of the indexes only the ARP exchanges are kept, for the diagnosis of a gateway nobody answers.
  const arp = new Map([...indexes].map(([probe, i]) => [probe, { arpRequests: i.arpRequests, arpReplies: i.arpReplies }]));
  return { observations, controls, latency: pathLatency(observations, handshakes), arp };
}

const lazyCapture = (c: RunBundle['captures'][number]): CaptureData => ({
  probe: c.probe,
  complete: captureComplete(c.stats, c.maxPackets),
  get packets() {
    return decodeCapture(c.data, c.probe);
  },
});

function coverageOf(b: RunBundle): Coverage {
  const considered = b.probes.coverage.filter((c) => !c.leftOut);
  return {
    nodes: considered.length,
    covered: considered.filter((c) => c.covered).length,
    notCovered: considered.filter((c) => !c.covered).map((c) => ({ node: c.node, reason: c.reason ?? 'unknown' })),
    leftOut: b.probes.coverage.filter((c) => c.leftOut).map((c) => ({ node: c.node, reason: c.reason ?? 'left out' })),
  };
}

function pairCoverage(b: RunBundle): PairCoverage {
  const pairs = b.run.pairs ?? { mode: 'all' };
  const nodes = b.probes.coverage.filter((c) => c.covered && !c.leftOut).length;
  const nodeOf = new Map(b.probes.probes.map((p) => [p.name, p.node]));
  const tested = new Set(b.flows.flows.filter((f) => f.kind === 'pod-pod-cross').map((f) => `${nodeOf.get(f.from)}>${nodeOf.get(f.to ?? '')}`)).size;
  const total = nodes > 1 ? nodes * (nodes - 1) : 0;
  const k = pairs.mode === 'sample' ? Math.min(pairs.k, Math.max(0, nodes - 1)) : null;
  return {
    mode: pairs.mode, k, seed: pairs.mode === 'sample' ? pairs.seed : null, nodes, tested, total,
    runsToCoverAll: pairs.mode === 'sample' ? runsToCover(nodes, pairs.k) : 1,
    perPairProbability: total === 0 ? 0 : pairs.mode === 'sample' ? Math.min(1, pairs.k / (nodes - 1)) : 1,
  };
}

/** The families a bundle is judged in: those it sent flows in, else its probes' (at least one). */
export function judgedFamilies(b: RunBundle): Family[] {
  if (b.run.families?.length) return b.run.families;
  const fromFlows = familiesOf(b.flows.flows.map((f) => f.dstIP));
  if (fromFlows.length) return fromFlows;
  const fromProbes = runFamilies(b.probes.probes);
  return fromProbes.length ? fromProbes : [4];
}

export function judgeBundle(b: RunBundle, opts: JudgeOptions = {}): Judged {
  const profile = opts.profile ?? b.run.options.profile;
  const egressSnat = opts.egressSnat ?? b.run.options.egressSnat;
  const checks = selectChecks(b.run.options.only, b.run.options.skip, profile);
  const inventory = new Map(Object.entries(b.probes.inventory));
  const { observations, controls, latency, arp } = observeBundle(b, inventory);
  const nodes = b.api.nodes.items.map(nodeFacts);
  const obs: Observations = {
    probes: b.probes.probes, inventory, flows: observations, controls,
    nodes, pods: b.api.pods.items.map(podFacts), externals: b.run.externals ?? (b.run.external ? [b.run.external] : []),
    egressSnat, coverage: b.probes.coverage.filter((c) => !c.leftOut),
  };
  // Each check is judged once per family: a flow check in each family the run sent flows in (bundles from before
  // dual-stack: their probes' family), a check of the API's objects in each family they hold (narrowed by --ip-family).
  const flowFamilies = judgedFamilies(b);
  const wanted = b.run.options.ipFamily ? familiesOfChoice(b.run.options.ipFamily) : undefined;
  const apiFamilies = familiesOf([...nodes.flatMap((n) => [...n.podCIDRs.map((c) => c.split('/')[0]!), ...n.addresses]), ...obs.pods.flatMap((p) => p.podIPs)]).filter((f) => !wanted || wanted.includes(f));
  const views = new Map(FAMILIES.filter((f) => flowFamilies.includes(f) || apiFamilies.includes(f)).map((family) => {
    const view = forFamily(obs, family);
    return [family, { view, diagnosis: diagnoseContext({ obs: view, indexes: arp }) }] as const;
  }));
  const results: CheckResult[] = CHECKS.filter((c) => checks.includes(c)).map((c) => {
    const fams = c.flowKinds.length || apiFamilies.length === 0 ? flowFamilies : apiFamilies;
    return mergeFamilies(fams.map((family) => {
      const { view, diagnosis } = views.get(family)!; // every family of a check has its view
      return { family, check: diagnoseCheck({ id: c.id, title: c.title, rule: c.rule, profile: c.profile, ...c.judge(view) }, diagnosis) };
    }));
  });
  const report: ConformanceReport = {
    apiVersion: REPORT_API_VERSION,
    kind: 'ConformanceReport',
    runId: b.run.runId,
    startedAt: b.run.startedAt,
    finishedAt: b.run.finishedAt,
    durationMs: Date.parse(b.run.finishedAt) - Date.parse(b.run.startedAt),
    implementation: b.run.implementation,
    cluster: { ...b.run.cluster, nodes },
    dataplane: flowFamilies.length > 1 ? flowFamilies.flatMap((f) => fingerprint(views.get(f)!.view.flows).map((d) => ({ ...d, family: f }))) : fingerprint(observations),
    latency,
    options: { ...b.run.options, profile, egressSnat },
    summary: summarize(results),
    profiles: summarizeProfiles(results),
    coverage: coverageOf(b),
    pairs: pairCoverage(b),
    probes: b.probes.probes,
    captures: b.captures.map((c) => ({
      probe: c.probe, captured: c.stats.captured ?? null, receivedByFilter: c.stats.receivedByFilter ?? null, droppedByKernel: c.stats.droppedByKernel ?? null, complete: captureComplete(c.stats, c.maxPackets),
    })),
    counts: {
      probes: b.probes.probes.length, flows: b.flows.flows.length, captures: b.captures.length, execs: b.run.counts.execs,
      retried: b.flows.sent.filter((s) => s.retried).length,
      ...(b.run.counts.apiRequests !== undefined ? { apiRequests: b.run.counts.apiRequests } : {}),
      ...(b.run.counts.maxInFlight !== undefined ? { maxInFlight: b.run.counts.maxInFlight } : {}),
      ...(b.run.counts.maxExecsInFlight !== undefined ? { maxExecsInFlight: b.run.counts.maxExecsInFlight } : {}),
    },
    ...(b.run.phases ? { phases: b.run.phases } : {}),
    families: flowFamilies,
    ...(flowFamilies.length > 1 ? { familySummaries: summarizeFamilies(results, flowFamilies) } : {}),
    checks: results,
  };
  return { report, captures: b.captures.map(lazyCapture) };
}
