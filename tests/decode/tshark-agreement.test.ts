// Acceptance 1 of the capture issue: every fixture decoded by podwire and by
// tshark, compared packet by packet on outer and inner addresses, protocols,
// ports and VNIs.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { decodeFrame, readCapture } from '../../src/decode/index.js';
import { ROOT } from '../helpers/lab.js';
import { podwireRow, tsharkRows } from './tshark.js';

const DIRS = ['crafted', 'lab', 'damaged'];
const fixtures = DIRS.flatMap((d) => {
  try {
    return readdirSync(join(ROOT, 'fixtures', d)).filter((f) => /\.pcap(ng)?$/.test(f)).map((f) => `${d}/${f}`);
  } catch {
    return [];
  }
}).sort();

test('there are fixtures of every kind', () => {
  for (const d of DIRS) expect(fixtures.filter((f) => f.startsWith(`${d}/`)).length, d).toBeGreaterThan(0);
});

test.each(fixtures)('%s: podwire and tshark agree packet by packet', async (name) => {
  const file = join(ROOT, 'fixtures', name);
  const { records } = readCapture(readFileSync(file));
  const ours = records.map((r) => podwireRow(decodeFrame(r)));
  const { rows: theirs } = await tsharkRows(file);
  // A damaged file: both read the records before the damage.
  expect(ours.length).toBe(theirs.length);
  ours.forEach((row, i) => expect(row, `packet #${i} of ${name}`).toEqual(theirs[i]));
});
