// What the lab commands decide about files and how they print labs, without
// a lab: `--kubeconfig-out` checked before any work, the copy removed by
// `lab down` only while it holds what the lab wrote, `lab list`'s table, and
// the command `run --keep` prints to remove its namespace.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { checkOutputFile } from '../../src/cli/output-file.js';
import { cleanupHint } from '../../src/cli/run.js';
import { copyFate } from '../../src/lab/down.js';
import { age, formatLabList, type LabListEntry } from '../../src/lab/list.js';

const dir = mkdtempSync(join(tmpdir(), 'podwire-out-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'existing'), 'mine\n');
mkdirSync(join(dir, 'sub'));

describe('--kubeconfig-out is checked before any work', () => {
  test('a new file in a writable directory: its absolute path', async () => {
    expect(await checkOutputFile(join(dir, 'new.kubeconfig'), '--kubeconfig-out', false)).toBe(join(dir, 'new.kubeconfig'));
    expect(await checkOutputFile('rel.kubeconfig', '--kubeconfig-out', false)).toBe(resolve('rel.kubeconfig'));
  });

  test('an existing file is refused without --force, accepted with it', async () => {
    await expect(checkOutputFile(join(dir, 'existing'), '--kubeconfig-out', false)).rejects.toThrow(`\`--kubeconfig-out\` \`${join(dir, 'existing')}\` exists; podwire does not replace it unless you add \`--force\``);
    expect(await checkOutputFile(join(dir, 'existing'), '--kubeconfig-out', true)).toBe(join(dir, 'existing'));
  });

  test.each([
    [() => join(dir, 'sub'), 'it is a directory'],
    [() => join(dir, 'existing', 'kc'), `\`${join(dir, 'existing')}\` is not a directory`],
    [() => '/etc/passwd/kc', '`/etc/passwd` is not a directory'],
    [() => join(dir, 'missing', 'kc'), `directory \`${join(dir, 'missing')}\` does not exist`],
    [() => '/proc/self/kc', 'under /proc, a kernel file system'],
    [() => '/sys/kc', 'under /sys, a kernel file system'],
    [() => '/dev/null', 'under /dev, a kernel file system'],
  ])('%s is refused: %s', async (path, why) => {
    const err = await checkOutputFile(path(), '--kubeconfig-out', true).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe(`expected \`--kubeconfig-out\` to be a file podwire can write, got \`${path()}\` (${why})`);
    expect((err as Error).constructor.name).toBe('UsageError');
  });
});

test('lab down removes the --kubeconfig-out copy only while it holds exactly what the lab wrote', () => {
  const text = 'apiVersion: v1\nkind: Config\n';
  const record = { path: '/tmp/k', sha256: createHash('sha256').update(text).digest('hex') };
  expect(copyFate(record, text)).toBe('removed');
  expect(copyFate(record, text + '# my edit\n')).toBe('changed');
  expect(copyFate(record, '')).toBe('changed');
  expect(copyFate(record, undefined)).toBe('gone');
});

describe('lab list', () => {
  const now = Date.parse('2026-01-01T12:00:00Z');
  const labs: LabListEntry[] = [
    { name: 'demo', nodes: 3, dataplane: 'vxlan', ipFamily: 'dual/ipv6', faults: ['missing-route', 'masquerade-all'], api: { url: 'https://127.0.0.1:40001', running: true }, createdAt: '2026-01-01T11:58:30Z' },
    { name: 'old', nodes: 2, dataplane: 'host-gw', ipFamily: 'ipv4', faults: [], api: { url: 'https://127.0.0.1:40002', running: false }, createdAt: '2025-12-30T12:00:00Z' },
    { name: 'stray', nodes: null, dataplane: null, ipFamily: null, faults: [], api: { url: null, running: false }, createdAt: null },
  ];

  test('a table: name, nodes, dataplane, IP family, faults, API URL and age; a stopped server and a lab without state say so', () => {
    expect(formatLabList(labs, now).split('\n')).toEqual([
      'NAME   NODES  DATAPLANE  FAMILY     FAULTS                        API                                    AGE',
      'demo   3      vxlan      dual/ipv6  missing-route,masquerade-all  https://127.0.0.1:40001                90 s',
      'old    2      host-gw    ipv4       -                             https://127.0.0.1:40002 (not running)  2 d',
      'stray  -      -          -          -                             -                                      -',
    ]);
    expect(formatLabList([], now)).toBe('no labs (start one with `podwire lab up`)');
  });

  test.each([[0, '0 s'], [119, '119 s'], [120, '2 min'], [7199, '120 min'], [7200, '2 h'], [172_799, '48 h'], [172_800, '2 d']])('age of %i s: %s', (s, want) => {
    expect(age(new Date(now - s * 1000).toISOString(), now)).toBe(want);
  });
});

test('run --keep names the command that removes its namespace, with the run\'s cluster flags', () => {
  expect(cleanupHint({}, 'podwire-abc')).toBe('podwire cleanup --namespace podwire-abc');
  expect(cleanupHint({ kubeconfig: '/run/podwire/lab/kubeconfig', context: 'kind-x' }, 'podwire-abc')).toBe('podwire cleanup --kubeconfig /run/podwire/lab/kubeconfig --context kind-x --namespace podwire-abc');
  expect(cleanupHint({ kubeconfig: "/home/me/my kube's" }, 'ns')).toBe("podwire cleanup --kubeconfig '/home/me/my kube'\\''s' --namespace ns");
});
