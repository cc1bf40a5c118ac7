// `podwire diff` and `podwire run --baseline` as users run them (the built
// CLI): the gate's exit codes on reports of the recorded bundles, and one
// clear line with exit 2 for anything that cannot be compared.
import { execa } from 'execa';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { readBundle } from '../../src/bundle/io.js';
import { judgeBundle } from '../../src/judge/judge.js';
import { writeReport } from '../../src/report/write.js';
import { CLI, ROOT } from '../helpers/lab.js';

const out = mkdtempSync(join(tmpdir(), 'podwire-diff-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** Run directories as `podwire judge` writes them. */
const dirs: Record<string, string> = {};
beforeAll(async () => {
  for (const [name, bundle, profile] of [['clean', 'clean-hostgw'], ['fault', 'missing-route'], ['clean-core', 'clean-hostgw', 'core']] as const) {
    const b = await readBundle(join(ROOT, 'fixtures', 'bundles', bundle));
    const { report, captures } = judgeBundle(b, profile ? { profile } : {});
    dirs[name] = join(out, name);
    await writeReport(dirs[name], report, b, captures);
  }
});

const diff = (args: string[]) => execa(process.execPath, [CLI, 'diff', ...args], { reject: false, timeout: 60_000 });

test('(clean, fault): exit 1, the regressed checks listed with their node pairs', async () => {
  const r = await diff([dirs.clean!, dirs.fault!]);
  expect(r.exitCode, String(r.stderr)).toBe(1);
  expect(String(r.stdout)).toMatch(/7 regressed, 0 fixed/);
  expect(String(r.stdout)).toMatch(/REGRESSED NM-1\.2 Cross-node pod to pod, no NAT: passed → failed/);
  expect(String(r.stdout)).toMatch(/! pod-pod-cross TCP node-1 → node-2: passed → failed/);
  expect(String(r.stdout)).toMatch(/^gate: FAIL/m);
});

test('(fault, clean): exit 0 listing the fixes; (clean, clean): exit 0, nothing changed', async () => {
  const fixed = await diff([join(dirs.fault!, 'report.json'), join(dirs.clean!, 'report.json')]);
  expect(fixed.exitCode).toBe(0);
  expect(String(fixed.stdout)).toMatch(/0 regressed, 7 fixed/);
  expect(String(fixed.stdout)).toMatch(/FIXED +NM-2\.2 /);
  const same = await diff([dirs.clean!, dirs.clean!]);
  expect(same.exitCode).toBe(0);
  expect(String(same.stdout)).toMatch(/0 regressed, 0 fixed, 0 new, 0 gone, 14 unchanged/);
});

test('--format markdown is a job summary; --format json carries the counts and the exit code', async () => {
  const md = await diff([dirs.clean!, dirs.fault!, '--format', 'markdown']);
  expect(md.exitCode).toBe(1);
  expect(String(md.stdout).split('\n')[0]).toBe('### podwire: :x: **7 check(s) regressed**');
  const json = await diff([dirs.clean!, dirs.fault!, '--format=json']);
  expect(JSON.parse(String(json.stdout))).toMatchObject({ exitCode: 1, counts: { regressed: 7 } });
});

test.each([
  ['a missing file', () => ['/nonexistent/report.json', dirs.clean!], /^podwire: BEFORE report `\/nonexistent\/report\.json` does not exist/],
  ['a directory without a report', () => [dirs.clean!, out], /^podwire: cannot read AFTER report `.*report\.json` \(ENOENT\)/],
  ['not JSON', () => [dirs.clean!, bad('garbage.json', 'not json')], /^podwire: AFTER report `.*garbage\.json` is not valid JSON/],
  ['another kind', () => [bad('bundle.json', JSON.stringify({ kind: 'RunBundle' })), dirs.clean!], /^podwire: BEFORE file `.*` is not a podwire report \(kind `RunBundle`, expected `ConformanceReport`\)/],
  ['another apiVersion', () => [dirs.clean!, otherVersion()], /^podwire: AFTER report `.*` has apiVersion `podwire\.dev\/v0`; this podwire compares `podwire\.dev\/v1alpha1` reports/],
  ['different profiles', () => [dirs['clean-core']!, dirs.fault!], /^podwire: the reports were judged under different profiles \(BEFORE `core`, AFTER `strict`\)/],
  ['one report', () => [dirs.clean!], /^podwire: expected two reports, BEFORE and AFTER/],
  ['a bad format', () => [dirs.clean!, dirs.fault!, '--format', 'html'], /^podwire: expected `--format` to be one of text, markdown, json, got `html`/],
  ['an unknown flag', () => [dirs.clean!, dirs.fault!, '--colour'], /^podwire: unknown flag `--colour` for `podwire diff` \(valid: --format; see `podwire diff --help`\)$/],
])('bad input (%s): exit 2 and one line', async (_what, args, message) => {
  const r = await diff(args());
  expect(r.exitCode).toBe(2);
  expect(String(r.stderr)).toMatch(message);
  expect(String(r.stderr).trim().split('\n')).toHaveLength(1);
  expect(String(r.stdout)).toBe('');
});

function bad(name: string, text: string): string {
  const f = join(out, name);
  writeFileSync(f, text);
  return f;
}

function otherVersion(): string {
  const r = JSON.parse(readFileSync(join(dirs.clean!, 'report.json'), 'utf8')) as { apiVersion: string };
  r.apiVersion = 'podwire.dev/v0';
  return bad('v0.json', JSON.stringify(r));
}

// The gate after a run needs a cluster (lab tests); what must fail before the cluster is touched is tested here.
test.each([
  [() => ['--baseline', '/nonexistent/report.json'], /^podwire: baseline report `\/nonexistent\/report\.json` does not exist/],
  [() => ['--baseline', dirs['clean-core']!, '--profile', 'strict'], /^podwire: the baseline `.*` was judged under profile `core`, this run uses `strict`: pass `--profile core`/],
])('run --baseline refuses a baseline it cannot gate against before touching the cluster: exit 2', async (args, message) => {
  const r = await execa(process.execPath, [CLI, 'run', ...args(), '--kubeconfig', '/nonexistent/kubeconfig'], { reject: false, timeout: 60_000 });
  expect(r.exitCode).toBe(2);
  expect(String(r.stderr)).toMatch(message);
  expect(String(r.stderr)).not.toMatch(/kubeconfig/);
});
