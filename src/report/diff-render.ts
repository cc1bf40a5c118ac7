// Renderings of a report diff: plain text for terminals and CI logs, and
// Markdown for a pull-request comment or a CI job summary. Pure.
import type { Verdict } from '../conformance/model.js';
import { diffExitCode, type Change, type CheckChange, type PairChange, type ReportDiff } from './diff.js';
import { familyName } from '../conformance/families.js';

/** `NM-1.2`, or `NM-1.2 [IPv6]` when the diff compares families. */
const idOf = (c: CheckChange) => (c.family ? `${c.id} [${familyName(c.family)}]` : c.id);

export const DIFF_FORMATS = ['text', 'markdown', 'json'] as const;
export type DiffFormat = (typeof DIFF_FORMATS)[number];

/** Changed checks first, worst first; unchanged ones are counted, not listed. */
const ORDER: Change[] = ['regressed', 'fixed', 'improved', 'changed', 'new', 'gone'];
const LABEL: Record<Change, string> = { regressed: 'REGRESSED', fixed: 'FIXED', improved: 'IMPROVED', changed: 'CHANGED', unchanged: 'unchanged', new: 'NEW', gone: 'GONE' };

const v = (x: Verdict | null) => x ?? 'absent';
const listed = (d: ReportDiff) => ORDER.flatMap((ch) => d.checks.filter((c) => c.change === ch));

function headline(d: ReportDiff): string {
  const n = d.counts;
  const parts = [`${n.regressed} regressed`, `${n.fixed} fixed`, ...(n.improved ? [`${n.improved} improved`] : []), ...(n.changed ? [`${n.changed} changed`] : []),
    `${n.new} new`, `${n.gone} gone`, `${n.unchanged} unchanged`];
  return parts.join(', ');
}

const pairLine = (p: PairChange) => `${p.kind} ${p.proto.toUpperCase()} ${p.from} → ${p.to}: ${v(p.before)} → ${v(p.after)}`;

export function diffText(d: ReportDiff): string {
  const lines = [
    `podwire diff: BEFORE ${d.before.runId} → AFTER ${d.after.runId} (profile ${d.after.profile}): ${headline(d)}`,
  ];
  for (const c of listed(d)) {
    const more = c.change === 'regressed' && c.before === c.after ? ' (in more places)' : '';
    lines.push(`  ${LABEL[c.change].padEnd(9)} ${idOf(c)} ${c.title}: ${v(c.before)} → ${v(c.after)}${more}`);
    for (const p of c.pairs) lines.push(`              ${p.change === 'regressed' ? '!' : ' '} ${pairLine(p)}`);
  }
  lines.push(diffExitCode(d) ? 'gate: FAIL (a check or node pair got worse than in BEFORE)' : 'gate: pass (nothing got worse than in BEFORE)');
  return lines.join('\n');
}

/** Markdown cells: a pipe would split the table, a newline end it. */
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function pairsMarkdown(c: CheckChange): string[] {
  if (!c.pairs.length) return [];
  return ['', `<details><summary>${cell(idOf(c))}: ${c.pairs.length} node pair(s) changed</summary>`, '',
    '| flow class | proto | from | to | before | after |', '|---|---|---|---|---|---|',
    ...c.pairs.map((p) => `| ${cell(p.kind)} | ${p.proto.toUpperCase()} | ${cell(p.from)} | ${cell(p.to)} | ${v(p.before)} | ${p.change === 'regressed' ? `**${v(p.after)}**` : v(p.after)} |`),
    '', '</details>'];
}

export function diffMarkdown(d: ReportDiff): string {
  const gate = diffExitCode(d) ? `:x: **${d.counts.regressed} check(s) regressed**` : ':white_check_mark: **no regression**';
  const lines = [
    `### podwire: ${gate}`,
    '',
    `BEFORE \`${d.before.runId}\` (${d.before.finishedAt}) → AFTER \`${d.after.runId}\` (${d.after.finishedAt}), profile \`${d.after.profile}\`: ${headline(d)}.`,
  ];
  const changed = listed(d);
  if (changed.length) {
    lines.push('', '| change | check | before | after |', '|---|---|---|---|');
    for (const c of changed) {
      const more = c.change === 'regressed' && c.before === c.after ? ' (in more places)' : '';
      lines.push(`| ${c.change === 'regressed' ? `**${LABEL[c.change]}**` : LABEL[c.change]} | ${cell(`${idOf(c)} ${c.title}`)} | ${v(c.before)} | ${v(c.after)}${more} |`);
    }
    for (const c of changed) lines.push(...pairsMarkdown(c));
  }
  return lines.join('\n') + '\n';
}

export function renderDiff(d: ReportDiff, format: DiffFormat): string {
  if (format === 'json') return JSON.stringify({ ...d, exitCode: diffExitCode(d) }, null, 2);
  return format === 'markdown' ? diffMarkdown(d) : diffText(d);
}
