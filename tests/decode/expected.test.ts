// Every fixture's decode, held to its reviewed expectation in
// fixtures/expected/ (written by fixtures/make/expected.sh).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { decodeFrame, formatFileError, formatPacket, readCapture } from '../../src/decode/index.js';
import { ROOT } from '../helpers/lab.js';

const fixtures = ['crafted', 'lab', 'damaged'].flatMap((d) =>
  readdirSync(join(ROOT, 'fixtures', d)).filter((f) => /\.pcap(ng)?$/.test(f)).map((f) => `${d}/${f}`));

test.each(fixtures)('%s decodes as expected', (name) => {
  const { records, error } = readCapture(readFileSync(join(ROOT, 'fixtures', name)));
  const lines = records.map((r) => formatPacket(decodeFrame(r)));
  if (error) lines.push(formatFileError(`fixtures/${name}`, error, records.length));
  const expected = readFileSync(join(ROOT, 'fixtures', 'expected', `${name}.txt`), 'utf8').trimEnd().split('\n').filter(Boolean);
  expect(lines).toEqual(expected);
});

test('the expectations say what the fixtures are for', () => {
  const text = (name: string) => readFileSync(join(ROOT, 'fixtures', 'expected', `${name}.txt`), 'utf8');
  expect(text('crafted/geneve.pcap')).toContain('GENEVE vni 1193046 opts 20B');
  expect(text('crafted/icmp-errors.pcap')).toMatch(/ICMP type 3 code 4 \(destination unreachable: fragmentation needed\) mtu 1450 quoting \[IP 10\.244\.1\.2 > 198\.51\.100\.10 proto 17 \/ UDP 40060 > 9999\]/);
  expect(text('lab/vxlan-underlay.pcap')).toMatch(/IP 172\.18\.0\.11 > 172\.18\.0\.12 .* VXLAN vni 1 .* IP 10\.244\.1\.\d+ > 10\.244\.2\.\d+ .* token podwire\/fx\//);
  expect(text('lab/egress-snat.pcap')).toMatch(/IP 172\.18\.0\.11 > 198\.51\.100\.10/);
  expect(text('lab/any-sll2.pcap')).toContain('SLL2');
  expect(text('crafted/icmp-errors.pcap')).toContain('ICMP6 type 1 code 1 (destination unreachable: communication administratively prohibited) quoting');
  expect(text('damaged/truncated-snaplen.pcap')).toContain('[snaplen 64/164]');
});
