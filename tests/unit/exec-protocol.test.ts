import { describe, expect, test } from 'vitest';
import { CHANNEL, frame, parseFrame, pickProtocol } from '../../src/lab/apiserver/exec-stream.js';
import { execStatus } from '../../src/lab/apiserver/status.js';
import { exitCodeOf } from '../../src/kube/exec.js';
import { expandVars } from '../../src/lab/apiserver/cluster.js';
import { humanAge } from '../../src/lab/apiserver/tables.js';

describe('exec channel protocol', () => {
  test.each([
    ['v5.channel.k8s.io, v4.channel.k8s.io, v3.channel.k8s.io', 'v5.channel.k8s.io'],
    ['v4.channel.k8s.io', 'v4.channel.k8s.io'],
    ['channel.k8s.io,v4.channel.k8s.io', 'v4.channel.k8s.io'],
    ['v3.channel.k8s.io', undefined],
    [undefined, undefined],
  ])('offered %j → %j', (offered, want) => {
    expect(pickProtocol(offered)).toBe(want);
  });

  test('a frame is the channel byte followed by the payload, binary-safe', () => {
    const payload = Buffer.from([0, 255, 3, 10]);
    const f = frame(CHANNEL.stderr, payload);
    expect([...f]).toEqual([2, 0, 255, 3, 10]);
    expect(parseFrame(f)).toEqual({ channel: 2, payload });
    expect(parseFrame(Buffer.alloc(0))).toBeUndefined();
    expect(parseFrame([Buffer.from([255]), Buffer.from([0])])).toEqual({ channel: 255, payload: Buffer.from([0]) });
  });

  test.each([0, 1, 3, 127, 255])('exit code %i survives the status round trip', (code) => {
    // The server's channel-3 Status, read back the way the client does.
    const status = JSON.parse(JSON.stringify(execStatus(code)));
    expect(exitCodeOf(status)).toBe(code);
  });

  test('a failure without an exit code has none', () => {
    expect(exitCodeOf({ status: 'Failure', reason: 'InternalError', message: 'x' })).toBeUndefined();
  });
});

describe('container command expansion', () => {
  test.each([
    ['$(POD_IP):80', '10.244.1.2:80'],
    ['$$(POD_IP)', '$(POD_IP)'],
    ['$(UNSET)', '$(UNSET)'],
    ['plain $HOME', 'plain $HOME'],
  ])('%j → %j', (input, want) => {
    expect(expandVars(input, { POD_IP: '10.244.1.2' })).toBe(want);
  });
});

test.each([
  [5, '5s'], [119, '119s'], [125, '2m5s'], [600, '10m'], [3 * 3600, '3h'], [3 * 86400, '3d'],
])('age of %i s prints as %j', (s, want) => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  expect(humanAge(new Date(now - s * 1000).toISOString(), now)).toBe(want);
});
