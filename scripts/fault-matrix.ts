// The fault × check detection matrix as Markdown, generated from the fault
// declaration (src/lab/faults.ts) and the catalogue, and spliced into the
// README between markers, so the table cannot drift from what the matrix
// test asserts. Pure.
import { CHECKS } from '../src/conformance/catalogue.js';
import { FAULTS } from '../src/lab/faults.js';
import { PROFILES, expectedOn } from '../src/lab/profiles.js';
import { SUBSYSTEM_LABEL } from '../src/report/diagnosis-text.js';

export const MATRIX_BEGIN = '<!-- fault-matrix:begin — generated from src/lab/faults.ts by `npm run docs`; edit the declaration, not this table -->';
export const MATRIX_END = '<!-- fault-matrix:end -->';
export const PROFILES_BEGIN = '<!-- profiles:begin — generated from src/lab/profiles.ts by `npm run docs`; edit the declaration, not this table -->';
export const PROFILES_END = '<!-- profiles:end -->';

/** The dataplane profiles: the CNI each models, what differs, and the strict checks a clean lab of it fails by design. */
export function profilesMarkdown(): string {
  const strict = (fails: readonly string[]) => (fails.length ? `${fails.join(', ')} fail` : 'all pass');
  return [
    '| `--dataplane` | models | differs | `--profile strict` on a clean lab |',
    '|---|---|---|---|',
    ...PROFILES.map((p) => `| \`${p.name}\` | ${p.models} | ${p.differs} | ${strict(p.strictFails)} |`),
  ].join('\n');
}

export function faultMatrixMarkdown(): string {
  const ids = CHECKS.map((c) => c.id);
  const head = `| fault | lab | ${ids.join(' | ')} |`;
  const rule = `|---|---|${ids.map(() => ':-:').join('|')}|`;
  const cells = (failed: readonly string[], undecided: readonly string[]) => ids.map((id) => (failed.includes(id) ? '**FAIL**' : undecided.includes(id) ? '?' : '·'));
  // A row per fault and set of labs with the same outcome (strict failures by design included); † marks labs the matrix test does not run.
  const rows = FAULTS.flatMap((f) => {
    const groups = new Map<string, { labs: string[]; failed: string[]; undecided: string[] }>();
    for (const d of f.dataplanes) {
      const e = expectedOn(f, d);
      const key = `${e.failed.join(',')}|${e.undecided.join(',')}`;
      const g = groups.get(key) ?? { labs: [], ...e };
      // ‡: an IPv6 fault (issue 11) on a profile the matrix does not run it on: declared, not measured there.
      g.labs.push(f.matrix.includes(d) ? d : f.family === 6 ? `${d}‡` : `${d}†`);
      groups.set(key, g);
    }
    return [...groups.values()].map((g) => `| \`${f.name}\` | ${g.labs.join(', ')} | ${cells(g.failed, g.undecided).join(' | ')} |`);
  });
  // One clean row per set of profiles with the same failures by design (strict checks only).
  const groups = new Map<string, string[]>();
  for (const p of PROFILES) groups.set(p.strictFails.join(','), [...(groups.get(p.strictFails.join(',')) ?? []), p.name]);
  const clean = [...groups].map(([fails, names]) => `| (none) | ${names.join(', ')} | ${cells(fails.split(','), []).join(' | ')} |`);
  const legend = '**FAIL**: the check must fail; ?: it must be inconclusive (the traffic it judges never flowed, and it says why); ·: it must pass, and so must every flow the fault does not touch, in every check. Each row is the whole outcome on the labs listed, the strict checks a profile fails by design (the (none) rows; FIELD.md §1, §2) included. †: the fault applies to that profile and the outcome was measured there, but the matrix test does not run it. IPv6 faults (`ipv6-*`) run on dual-stack labs (`--ip-family dual`): their cells are the IPv6 family\'s verdicts, and every IPv4 verdict of the same run must pass; ‡: an IPv6 fault on a profile the matrix test does not run it on (declared as expected, not measured there).';
  const all = PROFILES.length;
  const list = FAULTS.map((f) => {
    const on = Object.entries(f.on ?? {}).map(([d, o]) => ` On ${d}: ${o!.why}.`).join('');
    const cause = `${SUBSYSTEM_LABEL[f.diagnosis.subsystem]} on ${f.diagnosis.node === 'sender' ? 'each failing flow\'s sending node' : `node-${f.diagnosis.node}`}`;
    const needs = f.ipFamily ? `\`--ip-family ${f.ipFamily}\` labs` : '';
    const only = [...(f.dataplanes.length < all ? [`${f.dataplanes.join(', ')} only`] : []), ...(needs ? [needs] : [])];
    return `- \`${f.name}\`${only.length ? ` (${only.join('; ')})` : ''}: ${f.summary} Models: ${f.models}${on} Likely cause reported: ${cause}.`;
  });
  const checks = CHECKS.map((c) => `${c.id} ${c.title}`).join('; ');
  return [head, rule, ...clean, ...rows, '', legend, '', `Checks: ${checks}.`, '', ...list].join('\n');
}

function splice(text: string, begin: string, end: string, body: string, what: string): string {
  const a = text.indexOf(begin);
  const b = text.indexOf(end);
  if (a < 0 || b < a) throw new Error(`README.md lacks the ${what} markers (${begin} … ${end})`);
  return `${text.slice(0, a)}${begin}\n${body}\n${text.slice(b)}`;
}

/** The README with its generated sections (profile table, fault matrix) regenerated; throws when the markers are missing. */
export function withFaultMatrix(readme: string): string {
  const matrix = splice(readme, MATRIX_BEGIN, MATRIX_END, faultMatrixMarkdown(), 'fault-matrix');
  return splice(matrix, PROFILES_BEGIN, PROFILES_END, profilesMarkdown(), 'profiles');
}
