// The README's fault matrix is generated from the fault declaration the
// matrix test asserts; this fails while README.md is stale (run `npm run docs`).
import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { FAULTS } from '../../src/lab/faults.js';
import { faultMatrixMarkdown, withFaultMatrix } from '../../scripts/fault-matrix.js';
import { expectedOn } from '../../src/lab/profiles.js';
import { ROOT } from '../helpers/lab.js';
import { CLI_BEGIN, CLI_END, withCliReference } from '../../scripts/cli-reference.js';
import { COMMANDS } from '../../src/cli/commands.js';
import { synopsis } from '../../src/flags.js';

test('README.md carries the fault matrix generated from src/lab/faults.ts', () => {
  const readme = readFileSync(`${ROOT}README.md`, 'utf8');
  expect(withFaultMatrix(readme), 'README.md is stale: run `npm run docs`').toBe(readme);
});

test('the matrix has a row per fault and profile outcome, and marks exactly the declared checks', () => {
  const md = faultMatrixMarkdown();
  for (const f of FAULTS) {
    for (const d of f.dataplanes) {
      const row = md.split('\n').find((l) => l.startsWith(`| \`${f.name}\` |`) && l.split(' | ')[1]!.split(', ').some((x) => x.replace(/[†‡]/, '') === d))!;
      expect(row, `${f.name} on ${d}`).toBeDefined();
      expect(row.split('**FAIL**').length - 1, `${f.name} on ${d}`).toBe(expectedOn(f, d).failed.length);
      expect(row.split(' ? ').length - 1, `${f.name} on ${d}`).toBe(expectedOn(f, d).undecided.length);
    }
  }
  expect(() => withFaultMatrix('no markers')).toThrow(/markers/);
});

test('README.md carries the command reference generated from the flag tables (src/cli/commands.ts)', () => {
  const readme = readFileSync(`${ROOT}README.md`, 'utf8');
  expect(withCliReference(readme), 'README.md is stale: run `npm run docs`').toBe(readme);
  const ref = readme.slice(readme.indexOf(CLI_BEGIN), readme.indexOf(CLI_END));
  for (const c of COMMANDS) {
    for (const f of c.flags) expect(ref, `${c.path} --${f.name}`).toContain(`--${f.name}`);
  }
  expect(() => withCliReference('no markers')).toThrow(/markers/);
});

test('the usage blocks of README.md (outside the reference) show each command as its flag table does', () => {
  const readme = readFileSync(`${ROOT}README.md`, 'utf8');
  const prose = readme.slice(0, readme.indexOf(CLI_BEGIN)) + readme.slice(readme.indexOf(CLI_END));
  for (const c of COMMANDS) expect(prose, `podwire ${c.path}`).toContain(synopsis(c, 100));
});
