// Help and version as users see them (the built CLI): every command and lab
// subcommand has help listing each of its flags with its default, from the
// same table the parser reads; errors are one line without internal noise.
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { COMMANDS } from '../../src/cli/commands.js';
import { parseFlags } from '../../src/flags.js';
import { CLI, ROOT } from '../helpers/lab.js';

const podwire = (args: string[]) => execa(process.execPath, [CLI, ...args], { reject: false, timeout: 30_000 });

describe('help', () => {
  test('`podwire --help`, `podwire help` and `podwire` alone list every command, exit 0', async () => {
    const outs = await Promise.all([['--help'], ['help'], [], ['-h']].map(podwire));
    for (const r of outs) {
      expect(r.exitCode).toBe(0);
      expect(String(r.stdout)).toBe(String(outs[0]!.stdout));
    }
    const text = String(outs[0]!.stdout);
    expect(text).toMatch(/^Usage: podwire COMMAND/m);
    for (const c of COMMANDS) expect(text).toMatch(new RegExp(`^  ${c.path} +\\S`, 'm'));
    expect(text).toMatch(/^  --version/m);
    for (const line of text.split('\n')) expect(line.length, line).toBeLessThanOrEqual(100);
  });

  test.each(COMMANDS.map((c) => [c.path]))('`%s`: help CMD, CMD --help and CMD -h agree and list every flag with its default', async (path) => {
    const spec = COMMANDS.find((c) => c.path === path)!;
    const words = path.split(' ');
    const [viaHelp, viaFlag, viaShort] = await Promise.all([podwire(['help', ...words]), podwire([...words, '--help']), podwire([...words, '-h'])]);
    for (const r of [viaHelp, viaFlag, viaShort]) {
      expect(r.exitCode, String(r.stderr)).toBe(0);
      expect(String(r.stderr)).toBe('');
    }
    expect(String(viaFlag.stdout)).toBe(String(viaHelp.stdout));
    expect(String(viaShort.stdout)).toBe(String(viaHelp.stdout));
    const text = String(viaHelp.stdout);
    expect(text.startsWith(`Usage: podwire ${path}`)).toBe(true);
    const flagsPart = text.slice(text.indexOf('\nFlags:\n'));
    for (const f of spec.flags) {
      const row = new RegExp(`^  --${f.name}${f.value ? ` ${f.value.replace(/[|[\]]/g, '\\$&')}` : ''}\\s`, 'm');
      expect(flagsPart, `--${f.name}`).toMatch(row);
      // The default sits in the flag's own entry, before the next flag's row.
      const entry = flagsPart.slice(flagsPart.search(row)).split(/\n  --/)[0]!.replace(/\s+/g, ' ');
      if (f.default !== undefined) expect(entry, `--${f.name}`).toContain(`default: ${f.default}`);
      if (f.repeatable) expect(entry, `--${f.name}`).toContain('repeatable');
    }
    expect(flagsPart).toMatch(/^  -h, --help /m);
    for (const line of text.split('\n')) expect(line.length, line).toBeLessThanOrEqual(100);
  });

  test('every flag the help lists is one the parser accepts, and no other', () => {
    for (const spec of COMMANDS) {
      for (const f of spec.flags) {
        const argv = [...(spec.args ? Array(spec.args.min).fill('x') : []), f.value ? `--${f.name}=v` : `--${f.name}`];
        expect(() => parseFlags(spec, argv), `${spec.path} --${f.name}`).not.toThrow();
      }
      expect(() => parseFlags(spec, ['--not-a-flag'])).toThrow(/unknown flag `--not-a-flag`/);
    }
  });

  test('`podwire lab` alone and `podwire lab --help` print the lab\'s subcommands with their synopses, exit 0', async () => {
    const [alone, help] = await Promise.all([podwire(['lab']), podwire(['lab', '--help'])]);
    expect(alone.exitCode).toBe(0);
    expect(String(alone.stdout)).toBe(String(help.stdout));
    for (const sub of ['up', 'down', 'status', 'list', 'faults', 'preflight']) {
      expect(String(alone.stdout)).toMatch(new RegExp(`^  ${sub} +\\S`, 'm'));
      expect(String(alone.stdout)).toMatch(new RegExp(`^podwire lab ${sub}\\b`, 'm'));
    }
    for (const line of String(alone.stdout).split('\n')) expect(line.length, line).toBeLessThanOrEqual(100);
  });

  test('help for something that is not a command: one line, exit 2', async () => {
    const r = await podwire(['help', 'frobnicate']);
    expect(r.exitCode).toBe(2);
    expect(String(r.stdout)).toBe('');
    expect(String(r.stderr)).toBe('podwire: no command `frobnicate` to help with; run `podwire help` for the list');
  });
});

test('`podwire --version` prints the package version, exit 0', async () => {
  const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { version: string };
  const r = await podwire(['--version']);
  expect(r.exitCode).toBe(0);
  expect(String(r.stdout)).toBe(pkg.version);
});

test.each([
  [['lab', 'up', '--nodes', '2', '--nodes', '3'], /^podwire: flag `--nodes` of `podwire lab up` takes one value, got 2: `2`, `3`$/],
  [['run', '--report-dir', 'a', '--report-dir', 'b'], /^podwire: flag `--report-dir` of `podwire run` takes one value, got 2: `a`, `b`$/],
  [['lab', 'up', '--fault', 'nope'], /^podwire: unknown fault `nope`; known: masquerade-all, .* \(see `podwire lab faults`\)$/],
  [['lab', 'sideways'], /^podwire: unknown lab command `sideways`; expected up, down, kubeconfig, status, list, faults, preflight \(see `podwire lab --help`\)$/],
  [['nope'], /^podwire: unknown command `nope`; run `podwire help`$/],
])('podwire %j: one line, exit 2, no internal noise', async (args, message) => {
  const r = await podwire(args);
  expect(r.exitCode).toBe(2);
  const lines = String(r.stderr).trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(message);
  expect(lines[0]).not.toMatch(/\((string|number)\)|Error:|at .*\.js:\d+/);
});
