// The ConformanceReport: a versioned, stably ordered object that is the
// source of truth of a run; console, JUnit and evidence are renderings of it.
import type { RunMeta, RunPhases } from '../bundle/model.js';
import type { PathFingerprint } from '../conformance/fingerprint.js';
import type { PathLatency } from '../conformance/latency.js';
import type { CheckResult, Probe, Profile, Verdict } from '../conformance/model.js';
import type { ApiNode } from '../conformance/observations.js';
import { familyName } from '../conformance/families.js';

export const REPORT_API_VERSION = 'podwire.dev/v1alpha1';

export type Summary = Record<Verdict, number> & { total: number };

export interface CaptureCounters {
  probe: string;
  captured: number | null;
  receivedByFilter: number | null;
  droppedByKernel: number | null;
  /** Every packet the filter accepted was written and the kernel dropped none: absence in it proves something. */
  complete: boolean;
}

export interface Coverage {
  /** Nodes the run considered (Ready, Linux, not virtual-kubelet). */
  nodes: number;
  covered: number;
  notCovered: { node: string; reason: string }[];
  /** Nodes left out on purpose (virtual-kubelet, not Ready, not Linux). */
  leftOut: { node: string; reason: string }[];
}

/** Which ordered node pairs the cross-node flows covered (`--pairs`). */
export interface PairCoverage {
  mode: 'all' | 'sample';
  /** Peers per node (sample), or null. */
  k: number | null;
  seed: number | null;
  /** Covered nodes. */
  nodes: number;
  /** Ordered node pairs with cross-node pod flows, of all ordered pairs. */
  tested: number;
  total: number;
  /** Runs with seeds 0, 1, … that together test every ordered pair. */
  runsToCoverAll: number;
  /** The chance that one given ordered pair is in this run. */
  perPairProbability: number;
}

export interface ConformanceReport {
  apiVersion: typeof REPORT_API_VERSION;
  kind: 'ConformanceReport';
  runId: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  implementation: { tool: 'podwire'; version: string };
  cluster: {
    server: string;
    version: string;
    nodes: ApiNode[];
  };
  dataplane: PathFingerprint[];
  /** TCP handshake round-trip time at the sender, per path class and encapsulation (informational, never a verdict). */
  latency: PathLatency[];
  /** The run's options as its bundle recorded them, with the profile and egress design judged under. */
  options: RunMeta['options'];
  summary: Summary;
  /** The same counts per profile, for the profiles that had checks in this report. */
  profiles: Partial<Record<Profile, Summary>>;
  coverage: Coverage;
  pairs: PairCoverage;
  /** Probes with the node, role, IP and the port their listener bound (chosen per run). */
  probes: Probe[];
  captures: CaptureCounters[];
  /** `retried`: flows whose first attempt got no reply and were sent once more. */
  counts: {
    probes: number; flows: number; captures: number; execs: number; retried: number;
    /** From the bundle, when it recorded them: API requests, and the most calls (and execs) in flight at once. */
    apiRequests?: number; maxInFlight?: number; maxExecsInFlight?: number;
  };
  /** Wall time per phase of the collection, in ms, as the bundle recorded it (informational; absent for older bundles). */
  phases?: RunPhases;
  /** The IP families the run was judged in (absent in reports from before dual-stack: IPv4). */
  families?: (4 | 6)[];
  /** Runs judged in more than one family: the checks' verdicts counted per family. */
  familySummaries?: { family: 4 | 6; summary: Summary }[];
  checks: CheckResult[];
}

export function summarize(checks: readonly CheckResult[]): Summary {
  const s = { passed: 0, failed: 0, skipped: 0, inconclusive: 0, total: checks.length };
  for (const c of checks) s[c.result]++;
  return s;
}

/** The families a check's verdict is in, as the console and JUnit name them: `[IPv6]` when it is only in some. */
export function familyTag(c: CheckResult, verdict: Verdict = c.result): string {
  if (!c.families || c.families.length < 2) return '';
  const hit = c.families.filter((f) => f.result === verdict);
  if (hit.length === 0 || hit.length === c.families.length) return '';
  return ` [${hit.map((f) => familyName(f.family)).join(', ')}]`;
}

/** The checks' verdicts counted per family, for checks judged in more than one (a check judged in one family counts there). */
export function summarizeFamilies(checks: readonly CheckResult[], families: readonly (4 | 6)[]): { family: 4 | 6; summary: Summary }[] {
  return families.map((family) => {
    const s = { passed: 0, failed: 0, skipped: 0, inconclusive: 0, total: 0 };
    for (const c of checks) {
      const r = c.families ? c.families.find((f) => f.family === family)?.result : c.result;
      if (!r) continue;
      s[r]++;
      s.total++;
    }
    return { family, summary: s };
  });
}

/** Summaries per profile, in profile order, for the profiles present. */
export function summarizeProfiles(checks: readonly CheckResult[]): Partial<Record<Profile, Summary>> {
  const out: Partial<Record<Profile, Summary>> = {};
  for (const p of ['core', 'strict', 'extended'] as const) {
    const mine = checks.filter((c) => c.profile === p);
    if (mine.length) out[p] = summarize(mine);
  }
  return out;
}

/**
 * Exit status of a run: 2 when `--require-all-nodes` was asked and a node
 * was not covered (the run could not do what was required), else 1 when any
 * check failed, else 0 (inconclusive and skipped are reported, not failed).
 */
export function exitCodeOf(report: ConformanceReport): 0 | 1 | 2 {
  if (report.options.requireAllNodes && report.coverage.notCovered.length > 0) return 2;
  return report.summary.failed > 0 ? 1 : 0;
}
