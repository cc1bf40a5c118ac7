// Recorded run bundles (fixtures/bundles/, by fixtures/make/bundles.sh) for
// the judges' unit tests: loaded once, handed out as private copies that a
// test may edit (API objects, counters, sent flows, captures) for cases a lab
// cannot produce. No root, no cluster.
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { readBundle } from '../../src/bundle/io.js';
import type { CaptureStats, RunBundle } from '../../src/bundle/model.js';
import type { CheckResult, Flow, FlowKind, FlowVerdict, Probe, SentFlow, Verdict } from '../../src/conformance/model.js';
import { readCapture } from '../../src/decode/capture-file.js';
import { decodeCapture } from '../../src/decode/buffer.js';
import type { DecodedPacket } from '../../src/decode/layers.js';
import { judgeBundle, type JudgeOptions } from '../../src/judge/judge.js';
import type { ConformanceReport } from '../../src/report/model.js';
import { ROOT } from './lab.js';

export const BUNDLES = `${ROOT}fixtures/bundles`;

/** Every recorded case: 2-node labs, `--profile strict`. */
export const CASES = [
  'clean-hostgw', 'clean-vxlan', 'missing-route', 'pod-to-node-snat', 'masquerade-all', 'no-egress-snat', 'mtu-blackhole', 'wrong-status-ip',
] as const;
/** Recorded with the nodes' snapshots (rules, links, nat and filter tables) for the diagnosis tests; 2-node labs, `--profile strict`. */
export const DIAGNOSIS_CASES = ['forward-drop', 'no-proxy-arp', 'node-to-pod-snat', 'overlapping-pod-cidr', 'missing-policy-rule'] as const;
/** Dual-stack 2-node host-gw labs, `--profile strict`: clean (IPv6 first), and IPv6 masquerade on node-2 (IPv4 first). */
export const FAMILY_CASES = ['clean-dual', 'ipv6-pod-masquerade'] as const;
export type Case = (typeof CASES)[number] | (typeof DIAGNOSIS_CASES)[number] | (typeof FAMILY_CASES)[number];

const loaded = new Map<Case, Promise<RunBundle>>();

/** A private copy of a recorded bundle: edit it freely. */
export async function loadBundle(name: Case): Promise<RunBundle> {
  let p = loaded.get(name);
  if (!p) loaded.set(name, (p = readBundle(`${BUNDLES}/${name}`)));
  return cloneBundle(await p);
}

/** Deep copy of the JSON parts; capture bytes are shared (never edited in place: see `rewriteCapture`). */
export function cloneBundle(b: RunBundle): RunBundle {
  const { captures, ...docs } = b;
  return { ...structuredClone(docs), captures: captures.map(({ data, ...meta }) => ({ ...structuredClone(meta), data })) };
}

export function judge(b: RunBundle, opts?: JudgeOptions): ConformanceReport {
  return judgeBundle(b, opts).report;
}

export function checkOf(r: ConformanceReport, id: string): CheckResult {
  const c = r.checks.find((x) => x.id === id);
  if (!c) throw new Error(`no ${id} in the report (checks: ${r.checks.map((x) => x.id).join(', ')})`);
  return c;
}

/** The flow verdicts of a check, all or with one verdict. */
export const verdicts = (c: CheckResult, verdict?: Verdict): FlowVerdict[] => c.flows.filter((f) => !verdict || f.verdict === verdict);
export const verdictOf = (c: CheckResult, flow: string): FlowVerdict => {
  const v = c.flows.find((f) => f.flow === flow);
  if (!v) throw new Error(`no verdict on ${flow} in ${c.id}`);
  return v;
};
/** Flow ids of a check's verdicts with that verdict, sorted. */
export const idsOf = (c: CheckResult, verdict: Verdict): string[] => verdicts(c, verdict).map((f) => f.flow).sort();
/** Per verdict, how many flows of a check got it. */
export function tally(c: CheckResult): Partial<Record<Verdict, number>> {
  const t: Partial<Record<Verdict, number>> = {};
  for (const f of c.flows) t[f.verdict] = (t[f.verdict] ?? 0) + 1;
  return t;
}
/** Each check's result, by id. */
export const results = (r: ConformanceReport): Record<string, Verdict> => Object.fromEntries(r.checks.map((c) => [c.id, c.result]));

export const probe = (b: RunBundle, name: string): Probe => {
  const p = b.probes.probes.find((x) => x.name === name);
  if (!p) throw new Error(`no probe ${name}`);
  return p;
};
export const nodeOf = (b: RunBundle, name: string | undefined) => b.probes.probes.find((x) => x.name === name)?.node;

/** The planned flows of some kinds, optionally narrowed further. */
export function flowsOf(b: RunBundle, kinds: FlowKind[], where: (f: Flow) => boolean = () => true): Flow[] {
  return b.flows.flows.filter((f) => kinds.includes(f.kind) && where(f));
}
export const ids = (flows: Flow[]) => flows.map((f) => f.id).sort();
export const crossNode = (b: RunBundle) => (f: Flow) => nodeOf(b, f.from) !== nodeOf(b, f.to);

export function sentOf(b: RunBundle, id: string): SentFlow {
  const s = b.flows.sent.find((x) => x.id === id);
  if (!s) throw new Error(`no sent record for ${id}`);
  return s;
}

export function flowBy(b: RunBundle, kind: FlowKind, proto: 'tcp' | 'udp', from: string, to?: string): Flow {
  const f = b.flows.flows.find((x) => x.kind === kind && x.proto === proto && x.from === from && (to === undefined || x.to === to));
  if (!f) throw new Error(`no ${kind}/${proto} flow ${from} -> ${to ?? '?'}`);
  return f;
}

// ---- API objects, kubectl-shaped ----

export function podItem(b: RunBundle, name: string): V1Pod {
  const p = b.api.pods.items.find((x) => x.metadata?.name === name);
  if (!p) throw new Error(`no pod ${name} in api.json`);
  return p;
}

export function nodeItem(b: RunBundle, name: string): V1Node {
  const n = b.api.nodes.items.find((x) => x.metadata?.name === name);
  if (!n) throw new Error(`no node ${name} in api.json`);
  return n;
}

export interface PodEdit {
  name: string;
  namespace?: string;
  /** status.podIPs (and status.podIP = the first); [] clears both. */
  ips?: string[];
  phase?: string;
  /** Keep only status.podIP, as an old API server lists it. */
  podIPOnly?: boolean;
  node?: string;
  hostNetwork?: boolean;
}

/** A copy of pod `like` with another name and the given changes. */
export function podLike(b: RunBundle, like: string, e: PodEdit): V1Pod {
  const p = structuredClone(podItem(b, like));
  p.metadata = { ...p.metadata, name: e.name, ...(e.namespace ? { namespace: e.namespace } : {}) };
  p.spec = { ...p.spec!, ...(e.node ? { nodeName: e.node } : {}), ...(e.hostNetwork !== undefined ? { hostNetwork: e.hostNetwork } : {}) };
  return editPod(p, e);
}

export function editPod(p: V1Pod, e: Omit<PodEdit, 'name'>): V1Pod {
  p.status = { ...p.status };
  if (e.ips) {
    p.status.podIPs = e.ips.map((ip) => ({ ip }));
    if (e.ips[0]) p.status.podIP = e.ips[0];
    else delete p.status.podIP;
  }
  if (e.podIPOnly) delete p.status.podIPs;
  if (e.phase) p.status.phase = e.phase;
  return p;
}

export function setPodCIDRs(b: RunBundle, node: string, cidrs: string[] | undefined): void {
  const n = nodeItem(b, node);
  n.spec = { ...n.spec };
  if (cidrs) {
    n.spec.podCIDRs = cidrs;
    n.spec.podCIDR = cidrs[0];
  } else {
    delete n.spec.podCIDRs;
    delete n.spec.podCIDR;
  }
}

// ---- captures ----

export function captureOf(b: RunBundle, probeName: string) {
  const c = b.captures.find((x) => x.probe === probeName);
  if (!c) throw new Error(`no capture of ${probeName}`);
  return c;
}

export function setStats(b: RunBundle, probeName: string, stats: CaptureStats): void {
  captureOf(b, probeName).stats = stats;
}

export const packetsOf = (b: RunBundle, probeName: string): DecodedPacket[] => decodeCapture(captureOf(b, probeName).data, probeName);

/**
 * Rewrites a probe's pcap keeping only the packets `keep` accepts (the file
 * header and the kept records byte for byte; kept packets are renumbered).
 * Returns how many packets were removed.
 */
export function rewriteCapture(b: RunBundle, probeName: string, keep: (p: DecodedPacket) => boolean): number {
  const c = captureOf(b, probeName);
  const decoded = decodeCapture(c.data, probeName);
  const { records, error } = readCapture(c.data);
  if (error) throw new Error(`${probeName}: ${error.message}`);
  const parts = [c.data.subarray(0, 24)];
  let removed = 0;
  for (const r of records) {
    if (keep(decoded[r.index]!)) parts.push(c.data.subarray(r.offset, r.offset + 16 + r.caplen));
    else removed++;
  }
  c.data = Buffer.concat(parts);
  return removed;
}

/** The token a packet carries that is a reply (`<flow token>.from.<probe>`), if any. */
export const isReplyToken = (p: DecodedPacket) => p.token?.includes('.from.') === true;

// ---- whole-cluster edits ----

/** The bundle as a one-node cluster would have produced it: only `node`'s probes, flows between them, their captures. */
export function keepOneNode(b: RunBundle, node: string): void {
  const mine = new Set(b.probes.probes.filter((p) => p.node === node).map((p) => p.name));
  b.probes.probes = b.probes.probes.filter((p) => mine.has(p.name));
  b.probes.inventory = Object.fromEntries(Object.entries(b.probes.inventory).filter(([k]) => mine.has(k)));
  b.probes.coverage = b.probes.coverage.filter((c) => c.node === node);
  b.flows.flows = b.flows.flows.filter((f) => mine.has(f.from) && (f.to === undefined || mine.has(f.to)));
  const kept = new Set(b.flows.flows.map((f) => f.id));
  b.flows.sent = b.flows.sent.filter((s) => kept.has(s.id));
  b.captures = b.captures.filter((c) => mine.has(c.probe));
  b.api.nodes.items = b.api.nodes.items.filter((n) => n.metadata?.name === node);
  b.api.pods.items = b.api.pods.items.filter((p) => p.spec?.nodeName === node);
}
