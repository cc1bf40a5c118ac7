// A check judged once per IP family and merged: the check fails if it fails
// in either family, is inconclusive if either is (and neither failed), and
// says which family each verdict and flow belongs to. Pure.
import { familyName, type Family } from '../conformance/families.js';
import type { CheckResult, FamilyResult, Verdict } from '../conformance/model.js';

/** Worst first: the merged result is the worst of the families'. */
const RANK: Record<Verdict, number> = { failed: 0, inconclusive: 1, passed: 2, skipped: 3 };

export function mergeFamilies(results: readonly { family: Family; check: CheckResult }[]): CheckResult {
  if (results.length === 0) throw new Error('mergeFamilies: no family was judged');
  if (results.length === 1) return results[0]!.check;
  const families: FamilyResult[] = results.map(({ family, check }) => ({
    family, result: check.result, reason: check.reason, ...(check.diagnosis ? { diagnosis: check.diagnosis } : {}),
  }));
  // Every family is named, the worst first (the console shows the start of a reason).
  const ranked = [...results].sort((a, b) => RANK[a.check.result] - RANK[b.check.result]);
  const reason = ranked.map(({ family, check }) => `${familyName(family)}: ${check.reason}`).join('; ');
  const worst = ranked[0]!;
  const { diagnosis: _d, ...base } = worst.check;
  return {
    ...base,
    result: worst.check.result,
    reason,
    flows: results.flatMap(({ family, check }) => check.flows.map((f) => ({ ...f, family }))),
    ...(worst.check.diagnosis ? { diagnosis: worst.check.diagnosis } : {}),
    families,
  };
}
