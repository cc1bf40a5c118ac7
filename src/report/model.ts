// The ConformanceReport: a versioned, stably ordered object that is the
// source of truth of a run; console, JUnit and evidence are renderings of it.
import type { CheckResult, Verdict } from '../conformance/model.js';

export const REPORT_API_VERSION = 'podwire.dev/v1alpha1';

export interface PathFingerprint {
  path: 'same-node' | 'cross-node' | 'node-to-pod' | 'egress';
  encapsulation: string;
  /** Bytes added per packet by the encapsulation (outer minus inner IP length). */
  overheadBytes: number | null;
  samples: number;
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
    nodes: { name: string; addresses: string[]; podCIDRs: string[] }[];
  };
  dataplane: PathFingerprint[];
  options: { only: string[]; skip: string[]; externalTarget: string | null; probeImage: string };
  summary: Record<Verdict, number> & { total: number };
  /** `retried`: flows whose first attempt got no reply and were sent once more. */
  counts: { probes: number; flows: number; captures: number; execs: number; retried: number };
  checks: CheckResult[];
}

export function summarize(checks: CheckResult[]): ConformanceReport['summary'] {
  const s = { passed: 0, failed: 0, skipped: 0, inconclusive: 0, total: checks.length };
  for (const c of checks) s[c.result]++;
  return s;
}

/** Exit status of a run: 1 when any selected check failed, else 0 (inconclusive and skipped are reported, not failed). */
export function exitCodeOf(report: ConformanceReport): 0 | 1 {
  return report.summary.failed > 0 ? 1 : 0;
}
