// The README's fault matrix is generated from the fault declaration the
// matrix test asserts; this fails while README.md is stale (run `npm run docs`).
import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { FAULTS } from '../../src/lab/faults.js';
import { faultMatrixMarkdown, withFaultMatrix } from '../../scripts/fault-matrix.js';
import { expectedOn } from '../../src/lab/profiles.js';
import { ROOT } from '../helpers/lab.js';

test('README.md carries the fault matrix generated from src/lab/faults.ts', () => {
  const readme = readFileSync(`${ROOT}README.md`, 'utf8');
  expect(withFaultMatrix(readme), 'README.md is stale: run `npm run docs`').toBe(readme);
});

test('the matrix has a row per fault and profile outcome, and marks exactly the declared checks', () => {
  const md = faultMatrixMarkdown();
  for (const f of FAULTS) {
    for (const d of f.dataplanes) {
      const row = md.split('\n').find((l) => l.startsWith(`| \`${f.name}\` |`) && l.split(' | ')[1]!.split(', ').some((x) => x.replace('†', '') === d))!;
      expect(row, `${f.name} on ${d}`).toBeDefined();
      expect(row.split('**FAIL**').length - 1, `${f.name} on ${d}`).toBe(expectedOn(f, d).failed.length);
      expect(row.split(' ? ').length - 1, `${f.name} on ${d}`).toBe(expectedOn(f, d).undecided.length);
    }
  }
  expect(() => withFaultMatrix('no markers')).toThrow(/markers/);
});
