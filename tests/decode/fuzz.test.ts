// Acceptance 2 of the capture issue: 10,000 seeded mutations and truncations
// of the fixtures; the reader and decoder never throw, never hang (the test
// timeout would catch a loop), and what they return stays well-formed.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { decodeFrame, readCapture } from '../../src/decode/index.js';
import { ROOT } from '../helpers/lab.js';
import { seededRandom } from '../../bench/seeded-random.js';

/** Seeded, so every run mutates the same way. */
const rng = seededRandom;

const files = ['crafted', 'lab', 'damaged'].flatMap((d) => {
  try {
    return readdirSync(join(ROOT, 'fixtures', d)).filter((f) => /\.pcap(ng)?$/.test(f)).map((f) => readFileSync(join(ROOT, 'fixtures', d, f)));
  } catch {
    return [];
  }
});

function mutate(src: Buffer, r: () => number): Buffer {
  let b = Buffer.from(src);
  const n = 1 + Math.floor(r() * 8);
  const pick = (len: number) => Math.floor(r() * Math.max(1, len));
  for (let i = 0; i < n; i++) {
    switch (Math.floor(r() * 6)) {
      case 0: // flip bits
        if (b.length) b[pick(b.length)]! ^= 1 << pick(8);
        break;
      case 1: // random byte
        if (b.length) b[pick(b.length)] = pick(256);
        break;
      case 2: // extreme 16/32-bit value (length fields, header lengths)
        if (b.length > 4) {
          const at = pick(b.length - 4);
          const v = [0, 0xff, 0xffff, 0x7fffffff, 0xffffffff, 1][pick(6)]!;
          if (r() < 0.5) b.writeUInt16BE(v & 0xffff, at);
          else b.writeUInt32LE(v >>> 0, at);
        }
        break;
      case 3: // truncate
        b = b.subarray(0, pick(b.length + 1));
        break;
      case 4: // delete a run
        if (b.length) {
          const at = pick(b.length);
          b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + pick(16))]);
        }
        break;
      case 5: // duplicate a run
        if (b.length) {
          const at = pick(b.length);
          b = Buffer.concat([b.subarray(0, at), b.subarray(at, at + 1 + pick(64)), b.subarray(at)]);
        }
        break;
    }
  }
  return b;
}

test('10,000 mutated and truncated captures decode without throwing, and results stay well-formed', () => {
  expect(files.length).toBeGreaterThan(10);
  const r = rng(0x9d1e);
  let records = 0;
  let issues = 0;
  for (let i = 0; i < 10_000; i++) {
    const bytes = mutate(files[Math.floor(r() * files.length)]!, r);
    const cap = readCapture(bytes);
    if (cap.error) expect(cap.error.offset).toBeLessThanOrEqual(bytes.length);
    for (const rec of cap.records) {
      records++;
      // Frames are also decoded as every supported link type, to reach each decoder with garbage.
      for (const linktype of [rec.linktype, 1, 101, 113, 276]) {
        const p = decodeFrame({ ...rec, linktype });
        expect(Array.isArray(p.layers)).toBe(true);
        if (p.issue) {
          issues++;
          expect(p.issue.offset).toBeGreaterThanOrEqual(0);
          expect(p.issue.offset).toBeLessThanOrEqual(rec.data.length);
        }
      }
    }
  }
  // The mutations did reach the decoders and did break things.
  expect(records).toBeGreaterThan(10_000);
  expect(issues).toBeGreaterThan(1_000);
});
