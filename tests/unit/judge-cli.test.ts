// `podwire judge BUNDLE_DIR` as users run it (the built CLI), offline, on the
// recorded bundles: the same reports and exit codes as the runs, other
// profiles and egress designs on request, and one clear line for bad input.
import { execa } from 'execa';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import type { ConformanceReport } from '../../src/report/model.js';
import { CLI, ROOT } from '../helpers/lab.js';

const out = mkdtempSync(join(tmpdir(), 'podwire-judge-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));
const bundle = (name: string) => join(ROOT, 'fixtures', 'bundles', name);

async function judge(args: string[]) {
  const dir = mkdtempSync(join(out, 'r-'));
  const r = await execa(process.execPath, [CLI, 'judge', ...args, '--report-dir', dir], { reject: false, timeout: 60_000 });
  const runs = existsSync(dir) ? readdirSync(dir) : [];
  const report = runs.length ? (JSON.parse(readFileSync(join(dir, runs[0]!, 'report.json'), 'utf8')) as ConformanceReport) : undefined;
  return { ...r, report, dir: runs.length ? join(dir, runs[0]!) : undefined };
}

test('a clean bundle: exit 0, every check of the recorded profile passed, report, JUnit and no evidence written', async () => {
  const r = await judge([bundle('clean-hostgw')]);
  expect(r.exitCode, String(r.stderr)).toBe(0);
  expect(r.report!.options.profile).toBe('strict');
  expect(r.report!.checks.map((c) => c.result)).toEqual(r.report!.checks.map(() => 'passed'));
  expect(r.report!.checks.map((c) => c.id)).toContain('NM-2.3');
  expect(readdirSync(r.dir!).sort()).toEqual(['junit.xml', 'report.html', 'report.json']);
  expect(String(r.stdout)).toMatch(/^strict: 2 passed, 0 failed/m);
});

test('a faulty bundle: exit 1 with the run\'s failures and their evidence; --profile core drops the strict checks', async () => {
  const strict = await judge([bundle('pod-to-node-snat')]);
  expect(strict.exitCode).toBe(1);
  expect(strict.report!.checks.filter((c) => c.result === 'failed').map((c) => c.id)).toEqual(['NM-2.3']);
  expect(readdirSync(join(strict.dir!, 'evidence'))).toEqual(['NM-2.3']);
  const core = await judge([bundle('pod-to-node-snat'), '--profile', 'core']);
  expect(core.exitCode).toBe(0);
  expect(core.report!.checks.every((c) => c.profile === 'core')).toBe(true);
  expect(core.report!.options.profile).toBe('core');
});

test('--egress-snat off-node re-judges egress: a clean lab SNATs on the node, which that design does not expect', async () => {
  const r = await judge([bundle('clean-hostgw'), '--egress-snat', 'off-node']);
  expect(r.exitCode).toBe(1);
  const egress = r.report!.checks.find((c) => c.id === 'NM-4.1')!;
  expect(egress.result).toBe('failed');
  expect(egress.reason).toMatch(/SNATed on the node, though egress SNAT was declared off the node/);
  expect(r.report!.options.egressSnat).toBe('off-node');
});

test.each([
  [['/nonexistent/bundle'], /expected a run bundle directory, got `\/nonexistent\/bundle` \(no such directory\)/],
  [[join(ROOT, 'fixtures')], /is not a run bundle: cannot read run\.json/],
  [[bundle('clean-hostgw'), '--profile', 'loose'], /expected `--profile` to be one of core, extended, strict, got `loose`/],
  [[bundle('clean-hostgw'), '--egress-snat', 'maybe'], /expected `--egress-snat` to be one of node, off-node, none, got `maybe`/],
  [[], /expected one bundle directory/],
  [[bundle('clean-hostgw'), '--frobnicate'], /unknown flag `--frobnicate` for `podwire judge`/],
])('podwire judge %j → one line, exit 2, nothing written', async (args, message) => {
  const r = await judge(args);
  expect(r.exitCode).toBe(2);
  const lines = String(r.stderr).trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(message);
  expect(r.report).toBeUndefined();
});

test.each([
  ['a file', () => { const f = join(out, 'a-file'); writeFileSync(f, 'x'); return f; }, /expected `--report-dir` to be a directory, got `.*a-file` \(it is a file\)/],
  ['under a file', () => { const f = join(out, 'b-file'); writeFileSync(f, 'x'); return join(f, 'sub'); }, /expected `--report-dir` to be a directory, got `.*b-file\/sub` \(`.*b-file` is a file\)/],
  ['under /proc', () => '/proc/self/podwire', /expected `--report-dir` to be a directory for reports, got `\/proc\/self\/podwire` \(under \/proc, a kernel file system\)/],
])('--report-dir %s: one line, exit 2, before any work', async (_, dir, message) => {
  const r = await execa(process.execPath, [CLI, 'judge', bundle('clean-hostgw'), '--report-dir', dir()], { reject: false, timeout: 60_000 });
  expect(r.exitCode).toBe(2);
  expect(String(r.stderr).trim().split('\n')).toEqual([expect.stringMatching(message)]);
});

test('a bundle whose JSON is damaged is one line, exit 2', async () => {
  const dir = mkdtempSync(join(out, 'bad-'));
  writeFileSync(join(dir, 'run.json'), '{"apiVersion": "podwire.dev/v1alpha1", "kind": "RunBundle"');
  const r = await judge([dir]);
  expect(r.exitCode).toBe(2);
  expect(String(r.stderr).trim()).toMatch(/^podwire: bundle file `.*run\.json` is not valid JSON/);
});
