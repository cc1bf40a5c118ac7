// The fault × check detection matrix as Markdown, generated from the fault
// declaration (src/lab/faults.ts) and the catalogue, and spliced into the
// README between markers, so the table cannot drift from what the matrix
// test asserts. Pure.
import { CHECKS } from '../src/conformance/catalogue.js';
import { FAULTS } from '../src/lab/faults.js';

export const MATRIX_BEGIN = '<!-- fault-matrix:begin — generated from src/lab/faults.ts by `npm run docs`; edit the declaration, not this table -->';
export const MATRIX_END = '<!-- fault-matrix:end -->';

export function faultMatrixMarkdown(): string {
  const ids = CHECKS.map((c) => c.id);
  const head = `| fault | lab | ${ids.join(' | ')} |`;
  const rule = `|---|---|${ids.map(() => ':-:').join('|')}|`;
  const rows = FAULTS.map((f) => {
    const cells = ids.map((id) => (f.caughtBy.includes(id) ? '**FAIL**' : f.undecided.includes(id) ? '?' : '·'));
    return `| \`${f.name}\` | ${f.matrix.join(', ')} | ${cells.join(' | ')} |`;
  });
  const clean = `| (none) | host-gw, vxlan | ${ids.map(() => '·').join(' | ')} |`;
  const legend = '**FAIL**: the check must fail; ?: it must be inconclusive (the traffic it judges never flowed, and it says why); ·: it must pass, and so must every flow the fault does not touch, in every check.';
  const list = FAULTS.map((f) => `- \`${f.name}\`${f.dataplanes.length < 2 ? ` (${f.dataplanes.join(', ')} only)` : ''}: ${f.summary} Models: ${f.models}`);
  const checks = CHECKS.map((c) => `${c.id} ${c.title}`).join('; ');
  return [head, rule, clean, ...rows, '', legend, '', `Checks: ${checks}.`, '', ...list].join('\n');
}

/** The README with its matrix section regenerated; throws when the markers are missing. */
export function withFaultMatrix(readme: string): string {
  const a = readme.indexOf(MATRIX_BEGIN);
  const b = readme.indexOf(MATRIX_END);
  if (a < 0 || b < a) throw new Error(`README.md lacks the fault-matrix markers (${MATRIX_BEGIN} … ${MATRIX_END})`);
  return `${readme.slice(0, a)}${MATRIX_BEGIN}\n${faultMatrixMarkdown()}\n${readme.slice(b)}`;
}
