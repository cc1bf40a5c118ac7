// `podwire decode` as a user runs it.
import { execa } from 'execa';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { CLI, ROOT } from '../helpers/lab.js';

const decode = (args: string[], input?: Buffer) => execa(process.execPath, [CLI, 'decode', ...args], { reject: false, cwd: ROOT, ...(input ? { input } : {}) });

test('prints one line per packet with layers, addresses, ports, VNI and token', async () => {
  const r = await decode(['fixtures/crafted/vxlan-4789.pcap']);
  expect(r.exitCode).toBe(0);
  const lines = String(r.stdout).trim().split('\n');
  expect(lines).toHaveLength(2);
  expect(lines[0]).toMatch(/^#0 1700000000\.000000000 ETH .* \/ IP 172\.18\.0\.11 > 172\.18\.0\.12 proto 17 \/ UDP 51001 > 4789 len \d+ \/ VXLAN vni 42 \/ ETH .* \/ IP 10\.244\.1\.2 > 10\.244\.2\.2 proto 17 \/ UDP 40011 > 9999 len \d+ token podwire\/fx\//);
});

test('--json prints one JSON object per line in the documented schema', async () => {
  const r = await decode(['--json', 'fixtures/crafted/geneve.pcap']);
  expect(r.exitCode).toBe(0);
  const rows = String(r.stdout).trim().split('\n').map((l) => JSON.parse(l));
  expect(rows).toHaveLength(2);
  expect(Object.keys(rows[0]).sort()).toEqual(['caplen', 'encapsulation', 'fragment', 'index', 'issue', 'layers', 'linktype', 'origLen', 'time', 'token', 'truncated']);
  expect(rows[0].encapsulation).toEqual(['geneve']);
  expect(rows[0].layers.map((l: { kind: string }) => l.kind)).toEqual(['eth', 'ipv4', 'udp', 'geneve', 'eth', 'ipv4', 'tcp']);
  expect(rows[0].layers[3]).toMatchObject({ kind: 'geneve', vni: 0x123456, optionsLength: 20 });
  expect(rows[1].token).toMatch(/^podwire\/fx\//);
});

test('a damaged file: what decodes is printed, then one error line naming the byte offset, exit 1', async () => {
  const r = await decode([join('fixtures', 'damaged', 'truncated-file.pcap')]);
  expect(r.exitCode).toBe(1);
  expect(String(r.stdout).trim().split('\n')).toHaveLength(2);
  expect(String(r.stderr).trim().split('\n')).toHaveLength(1);
  expect(String(r.stderr)).toMatch(/^podwire: .*truncated-file\.pcap: file ends inside record 2 .*\(at byte \d+, after 2 packet\(s\)\)/);
});

test.each([
  [['nope.pcap'], 2, /capture file `nope\.pcap` does not exist/],
  [[], 2, /expected at least one capture file\(s\) for `podwire decode FILE\.\.\.`, got 0/],
  [['fixtures/crafted/geneve.pcap', 'nope.pcap'], 2, /capture file `nope\.pcap` does not exist/],
  [['-', '-'], 2, /`-` \(standard input\) can be read once only/],
  [['fixtures'], 2, /`fixtures` is not a file/],
  [['--bogus', 'x.pcap'], 2, /unknown flag `--bogus` for `podwire decode`/],
  [['--vxlan-port', '70000', 'x.pcap'], 2, /`--vxlan-port` to be a port from 1 to 65535, got `70000`/],
  [['fixtures/damaged/bad-magic.pcap'], 1, /not a pcap or pcapng file \(magic 0xdeadbeef\)/],
])('podwire decode %j → exit %i, one line', async (args, code, message) => {
  const r = await decode(args);
  expect(r.exitCode).toBe(code);
  expect(String(r.stderr).trim().split('\n')).toHaveLength(1);
  expect(String(r.stderr)).toMatch(message);
});

test('--vxlan-port adds a VXLAN port', async () => {
  // vxlan-4789.pcap re-addressed to UDP 9999: VXLAN only when asked for.
  const { mkdtempSync, readFileSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const bytes = Buffer.from(readFileSync(join(ROOT, 'fixtures/crafted/vxlan-4789.pcap')));
  const at = bytes.indexOf(Buffer.from([0x12, 0xb5])); // 4789 in the first record's UDP header
  bytes.writeUInt16BE(9999, at);
  const file = join(mkdtempSync(join(tmpdir(), 'podwire-')), 'custom.pcap');
  writeFileSync(file, bytes);
  expect(String((await decode([file])).stdout).split('\n')[0]).not.toContain('VXLAN');
  expect(String((await decode(['--vxlan-port', '9999', file])).stdout).split('\n')[0]).toContain('UDP 51001 > 9999 len 69 / VXLAN vni 42');
});

test('several files: each one\'s packets under a `==> FILE <==` line, in the order given; a missing one stops before any output', async () => {
  const files = ['fixtures/crafted/vxlan-4789.pcap', 'fixtures/crafted/geneve.pcap'];
  const [both, a, b] = await Promise.all([decode(files), decode([files[0]!]), decode([files[1]!])]);
  expect(both.exitCode).toBe(0);
  expect(String(both.stdout)).toBe(`==> ${files[0]} <==\n${String(a.stdout)}\n\n==> ${files[1]} <==\n${String(b.stdout)}`);
  const missing = await decode([...files, 'nope.pcap']);
  expect(missing.exitCode).toBe(2);
  expect(String(missing.stdout)).toBe('');
});

test('several files with --json: each object names its file; a damaged file among them exits 1 after the others decode', async () => {
  const r = await decode(['--json', 'fixtures/crafted/geneve.pcap', join('fixtures', 'damaged', 'truncated-file.pcap'), 'fixtures/crafted/vxlan-4789.pcap']);
  expect(r.exitCode).toBe(1);
  const rows = String(r.stdout).trim().split('\n').map((l) => JSON.parse(l) as { file: string; index: number });
  expect(rows.map((x) => `${x.file}#${x.index}`)).toEqual([
    'fixtures/crafted/geneve.pcap#0', 'fixtures/crafted/geneve.pcap#1', 'fixtures/damaged/truncated-file.pcap#0', 'fixtures/damaged/truncated-file.pcap#1',
    'fixtures/crafted/vxlan-4789.pcap#0', 'fixtures/crafted/vxlan-4789.pcap#1',
  ]);
  expect(String(r.stderr).trim().split('\n')).toHaveLength(1);
  expect(String(r.stderr)).toMatch(/^podwire: fixtures\/damaged\/truncated-file\.pcap: file ends inside record 2/);
});

test('`-` reads the capture from standard input, alone or among files', async () => {
  const { readFileSync } = await import('node:fs');
  const bytes = readFileSync(join(ROOT, 'fixtures/crafted/geneve.pcap'));
  const [fromFile, fromStdin] = await Promise.all([decode(['fixtures/crafted/geneve.pcap']), decode(['-'], bytes)]);
  expect(fromStdin.exitCode).toBe(0);
  expect(String(fromStdin.stdout)).toBe(String(fromFile.stdout));
  const mixed = await decode(['--json', 'fixtures/crafted/vxlan-4789.pcap', '-'], bytes);
  expect(mixed.exitCode).toBe(0);
  expect(String(mixed.stdout).trim().split('\n').map((l) => (JSON.parse(l) as { file: string }).file)).toEqual(['fixtures/crafted/vxlan-4789.pcap', 'fixtures/crafted/vxlan-4789.pcap', '(stdin)', '(stdin)']);
  const damaged = await decode(['-'], Buffer.from('not a capture at all'));
  expect(damaged.exitCode).toBe(1);
  expect(String(damaged.stderr)).toMatch(/^podwire: \(stdin\): not a pcap or pcapng file/);
});
