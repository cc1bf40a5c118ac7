// Two reports compared for upgrade gating: per check and family what
// regressed, what was fixed, what is new or gone, and the node pairs whose
// flows changed. A check judged in two families is two units (NM-1.2 [IPv4],
// NM-1.2 [IPv6]); a report of one family is that family's (IPv4 before
// dual-stack), so a cluster that gains IPv6 shows its IPv6 checks as new.
// Flows are matched by (kind, proto, sender node, receiver node): flow ids
// and IPs change from run to run, node names and flow classes do not. Pure.
import type { CheckResult, FlowVerdict, Probe, Verdict } from '../conformance/model.js';
import type { ConformanceReport } from './model.js';

/** How bad a verdict is: skipped and passed are not failures; inconclusive is worse, failed worst. */
const RANK: Record<Verdict, number> = { passed: 0, skipped: 0, inconclusive: 1, failed: 2 };

export type Change = 'regressed' | 'fixed' | 'improved' | 'changed' | 'unchanged' | 'new' | 'gone';

export interface PairChange {
  kind: string;
  proto: string;
  from: string;
  to: string;
  before: Verdict | null;
  after: Verdict | null;
  change: Exclude<Change, 'unchanged'>;
}

export interface CheckChange {
  id: string;
  /** The family compared, when either report covered more than one or they cover different ones. */
  family?: 4 | 6;
  title: string;
  profile: string;
  before: Verdict | null;
  after: Verdict | null;
  change: Change;
  /** Node pairs whose verdict changed (only network flows have node pairs). */
  pairs: PairChange[];
}

export interface ReportDiff {
  before: { runId: string; profile: string; finishedAt: string };
  after: { runId: string; profile: string; finishedAt: string };
  counts: Record<Change, number>;
  checks: CheckChange[];
}

/**
 * The change between two verdicts. A check new in AFTER that does not pass is
 * a regression: it is a failure the baseline did not have, which is what the
 * gate exists to stop.
 */
export function changeOf(before: Verdict | null, after: Verdict | null): Change {
  if (before === null && after === null) return 'unchanged';
  if (before === null) return RANK[after!] > 0 ? 'regressed' : 'new';
  if (after === null) return 'gone';
  if (before === after) return 'unchanged';
  if (RANK[after] > RANK[before]) return 'regressed';
  if (RANK[after] < RANK[before]) return RANK[after] === 0 ? 'fixed' : 'improved';
  return 'changed';
}

/** Why two reports cannot be compared, or undefined when they can. */
export function incompatibility(before: ConformanceReport, after: ConformanceReport): string | undefined {
  if (before.apiVersion !== after.apiVersion) {
    return `the reports have different apiVersions (BEFORE \`${before.apiVersion}\`, AFTER \`${after.apiVersion}\`): compare reports of the same podwire report version`;
  }
  if (before.options.profile !== after.options.profile) {
    return `the reports were judged under different profiles (BEFORE \`${before.options.profile}\`, AFTER \`${after.options.profile}\`): re-judge one bundle with \`podwire judge BUNDLE --profile ${before.options.profile}\``;
  }
  return undefined;
}

const probeName = (endpoint: string) => endpoint.split(' ')[0] ?? endpoint;

function nodeOf(endpoint: string, probes: readonly Probe[]): string {
  const name = probeName(endpoint);
  return name === 'external' ? 'external' : (probes.find((p) => p.name === name)?.node ?? name);
}

/** The worst verdict of a node pair's flows (two probes per node give several flows per pair). */
function worst(flows: readonly FlowVerdict[]): Verdict {
  return flows.reduce<Verdict>((w, f) => (RANK[f.verdict] > RANK[w] || (RANK[f.verdict] === RANK[w] && f.verdict === 'passed') ? f.verdict : w), 'skipped');
}

export const pairKey = (p: { kind: string; proto: string; from: string; to: string }) => `${p.kind} ${p.proto} ${p.from} -> ${p.to}`;

function pairsOf(check: CheckResult | undefined, probes: readonly Probe[]): Map<string, { kind: string; proto: string; from: string; to: string; verdict: Verdict }> {
  const groups = new Map<string, { kind: string; proto: string; from: string; to: string; flows: FlowVerdict[] }>();
  for (const f of check?.flows ?? []) {
    if (f.proto === '-') continue; // API and inventory facts have no node pair
    const p = { kind: f.kind, proto: f.proto, from: nodeOf(f.from, probes), to: nodeOf(f.to, probes) };
    const k = pairKey(p);
    const g = groups.get(k) ?? { ...p, flows: [] };
    g.flows.push(f);
    groups.set(k, g);
  }
  return new Map([...groups].map(([k, { flows, ...p }]) => [k, { ...p, verdict: worst(flows) }]));
}

function pairChanges(b: CheckResult | undefined, a: CheckResult | undefined, bp: readonly Probe[], ap: readonly Probe[]): PairChange[] {
  const before = pairsOf(b, bp);
  const after = pairsOf(a, ap);
  const out: PairChange[] = [];
  for (const k of [...new Set([...before.keys(), ...after.keys()])].sort()) {
    const x = before.get(k);
    const y = after.get(k);
    const change = changeOf(x?.verdict ?? null, y?.verdict ?? null);
    if (change === 'unchanged') continue;
    const p = (x ?? y)!;
    out.push({ kind: p.kind, proto: p.proto, from: p.from, to: p.to, before: x?.verdict ?? null, after: y?.verdict ?? null, change });
  }
  return out;
}

/** A check in one family: its result and flows there. A check judged in one family is that of its report. */
interface Unit {
  key: string;
  family: 4 | 6;
  check: CheckResult;
}

function unitsOf(r: ConformanceReport): Unit[] {
  const only = r.families?.length === 1 ? r.families[0]! : 4;
  return r.checks.flatMap((c) => (c.families
    ? c.families.map((f) => ({ key: `${c.id}|${f.family}`, family: f.family, check: { ...c, result: f.result, reason: f.reason, flows: c.flows.filter((x) => x.family === f.family) } }))
    : [{ key: `${c.id}|${only}`, family: only, check: c }]));
}

/** BEFORE and AFTER compared, checks in AFTER's (catalogue) order, then the ones gone. Call `incompatibility` first. */
export function diffReports(before: ConformanceReport, after: ConformanceReport): ReportDiff {
  const bu = unitsOf(before);
  const au = unitsOf(after);
  // Families are named when a report covers several, or the two cover different ones.
  const fams = new Set([...bu, ...au].map((u) => u.family));
  const named = fams.size > 1 || before.checks.some((c) => c.families) || after.checks.some((c) => c.families);
  const keys = [...au.map((u) => u.key), ...bu.map((u) => u.key).filter((k) => !au.some((u) => u.key === k))];
  const checks = keys.map((key): CheckChange => {
    const b = bu.find((u) => u.key === key)?.check;
    const a = au.find((u) => u.key === key)?.check;
    const c = (a ?? b)!;
    const family = (au.find((u) => u.key === key) ?? bu.find((u) => u.key === key))!.family;
    const pairs = pairChanges(b, a, before.probes, after.probes);
    let change = changeOf(b?.result ?? null, a?.result ?? null);
    // A check that failed before and still fails may fail in more places: a node pair that broke is a new failure, not a known one.
    if (change === 'unchanged' && pairs.some((p) => p.change === 'regressed')) change = 'regressed';
    return { id: c.id, ...(named ? { family } : {}), title: c.title, profile: c.profile, before: b?.result ?? null, after: a?.result ?? null, change, pairs };
  });
  const counts: Record<Change, number> = { regressed: 0, fixed: 0, improved: 0, changed: 0, unchanged: 0, new: 0, gone: 0 };
  for (const c of checks) counts[c.change]++;
  const side = (r: ConformanceReport) => ({ runId: r.runId, profile: r.options.profile, finishedAt: r.finishedAt });
  return { before: side(before), after: side(after), counts, checks };
}

/** The gate: 1 when anything regressed, else 0. */
export const diffExitCode = (d: ReportDiff): 0 | 1 => (d.counts.regressed > 0 ? 1 : 0);
