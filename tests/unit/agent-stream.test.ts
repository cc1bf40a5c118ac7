// What a send exec with a capture prints: flow lines, {"done":true}, then a
// {"capture":…} header and exactly that many bytes of pcap, checked by
// length and sha256; anything else is an error on the capture, never a
// silently shorter one.
import { createHash } from 'node:crypto';
import { expect, test } from 'vitest';
import { parseSendStream } from '../../src/conformance/agent.js';

const flow = (id: string) => JSON.stringify({ id, src: '10.244.1.2', sport: 40000, sports: [40000], errno: 0, reply: `t/${id}.from.b`, retried: false, ms: 3 });
const pcap = Buffer.from([0xd4, 0xc3, 0xb2, 0xa1, 0x0a, 0x7b, 0x22, 0x00, 0xff]); // binary, with a newline and a brace inside
const header = (data: Buffer, over: Record<string, unknown> = {}) => JSON.stringify({ capture: { bytes: data.length, sha256: createHash('sha256').update(data).digest('hex'), stats: { captured: 5, receivedByFilter: 5, droppedByKernel: 0 }, ...over } });
const stream = (...parts: (string | Buffer)[]) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));

test('flows, done, then the capture: every part comes back, the bytes exactly', () => {
  const out = parseSendStream(stream(`${flow('f1')}\n${flow('f2')}\n{"done":true}\n${header(pcap)}\n`, pcap));
  expect([...out.sent.keys()]).toEqual(['f1', 'f2']);
  expect(out.done).toBe(true);
  expect(out.capture).toEqual({ bytes: pcap, sha256: createHash('sha256').update(pcap).digest('hex'), stats: { captured: 5, receivedByFilter: 5, droppedByKernel: 0 } });
});

test('a probe that sent nothing: done and the capture alone', () => {
  const out = parseSendStream(stream(`{"done":true}\n${header(pcap)}\n`, pcap));
  expect(out.sent.size).toBe(0);
  expect(out.done).toBe(true);
  expect(out.capture).toHaveProperty('bytes');
});

test('no done and no capture (the exec ended early): flows only', () => {
  const out = parseSendStream(Buffer.from(`${flow('f1')}\n`));
  expect(out).toEqual({ sent: expect.any(Map), done: false });
  expect(out.sent.size).toBe(1);
});

test.each([
  ['fewer bytes than announced', stream(`{"done":true}\n${header(pcap)}\n`, pcap.subarray(0, 4)), /arrived damaged \(4 of 9 bytes/],
  ['other bytes of the same length', stream(`{"done":true}\n${header(pcap)}\n`, Buffer.alloc(pcap.length)), /arrived damaged \(9 of 9 bytes, sha256 differs\)/],
  ['a header cut short', Buffer.from('{"done":true}\n{"capture":{"bytes":9'), /header is cut short/],
  ['an error from the agent', Buffer.from('{"done":true}\n{"capture":{"error":"FileNotFoundError: x"}}\n'), /^FileNotFoundError: x$/],
])('%s is an error on the capture', (_, out, message) => {
  const r = parseSendStream(out);
  expect(r.done).toBe(true);
  expect(r.capture).toEqual({ error: expect.stringMatching(message) });
});

test('a malformed flow line is still an error of the whole output', () => {
  expect(() => parseSendStream(Buffer.from('{"id":\n{"done":true}\n'))).toThrow(/line 1 is not JSON/);
});
