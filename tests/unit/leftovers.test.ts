// Which run namespaces `podwire cleanup` deletes (live runs are left alone),
// `--older-than` durations, and when a run's API counts as lost.
import { describe, expect, test } from 'vitest';
import type { V1Namespace } from '@kubernetes/client-node';
import { age, decideLeftovers, liveness, parseDuration, STALE_AFTER_MS } from '../../src/run/leftovers.js';
import { isTransportFailure, Liveness, LOST_AFTER_MS } from '../../src/kube/liveness.js';
import { hostname } from 'node:os';
import { localHolderAlive } from '../../src/cli/run.js';

const NOW = Date.parse('2026-01-01T12:00:00Z');
const iso = (msAgo: number) => new Date(NOW - msAgo).toISOString();
const ns = (name: string, o: { createdAgo?: number; beatAgo?: number; endedAgo?: number; holder?: string } = {}): V1Namespace => ({
  metadata: {
    name,
    labels: { 'podwire.dev/run': name.slice(8) },
    creationTimestamp: new Date(NOW - (o.createdAgo ?? 30_000)),
    annotations: {
      ...(o.beatAgo !== undefined ? { 'podwire.dev/heartbeat': iso(o.beatAgo) } : {}),
      ...(o.endedAgo !== undefined ? { 'podwire.dev/ended': iso(o.endedAgo) } : {}),
      ...(o.holder ? { 'podwire.dev/holder': o.holder } : {}),
    },
  },
});

describe('liveness of a run namespace', () => {
  test.each([
    ['a fresh heartbeat', { beatAgo: 3_000, holder: 'ci-7 pid 42' }, true, 'heartbeat 3 s ago, ci-7 pid 42'],
    ['a heartbeat just under the threshold', { beatAgo: STALE_AFTER_MS - 1 }, true, 'heartbeat 60 s ago'],
    ['a heartbeat at the threshold', { beatAgo: STALE_AFTER_MS }, false, 'heartbeat 60 s ago'],
    ['an old heartbeat', { beatAgo: 5 * 60_000 }, false, 'heartbeat 5 min ago'],
    ['no heartbeat (an older podwire)', {}, false, 'no heartbeat'],
    ['ended with --keep', { endedAgo: 2_000 }, false, 'its run ended 2 s ago and kept it (--keep)'],
    ['ended with --keep, a heartbeat left beside', { endedAgo: 2_000, beatAgo: 1_000 }, false, 'its run ended 2 s ago and kept it (--keep)'],
  ])('%s', (_what, o, live, why) => {
    expect(liveness(ns('podwire-x', o), NOW)).toEqual({ live, why });
  });

  test('a fresh heartbeat whose process is known to be gone (this host, a dead PID) is not live; on another host, or alive, it is', () => {
    const n = ns('podwire-x', { beatAgo: 3_000, holder: 'ci-7 pid 42' });
    expect(liveness(n, NOW, STALE_AFTER_MS, () => false)).toEqual({ live: false, why: 'heartbeat 3 s ago, but its process (ci-7 pid 42) is gone' });
    expect(liveness(n, NOW, STALE_AFTER_MS, () => true).live).toBe(true);
    expect(liveness(n, NOW, STALE_AFTER_MS, () => undefined).live).toBe(true);
    expect(decideLeftovers([n], NOW, { holderAlive: (h) => h !== 'ci-7 pid 42' })).toEqual([{ namespace: 'podwire-x', delete: true, reason: 'not live: heartbeat 3 s ago, but its process (ci-7 pid 42) is gone' }]);
    // A stale heartbeat is not asked about.
    expect(liveness(ns('podwire-y', { beatAgo: STALE_AFTER_MS, holder: 'ci-7 pid 42' }), NOW, STALE_AFTER_MS, () => true).live).toBe(false);
  });

  test('the holder check: this host\'s live process, a dead one, another host, a holder that does not parse', () => {
    expect(localHolderAlive(`${hostname()} pid ${process.pid}`)).toBe(true);
    expect(localHolderAlive(`${hostname()} pid 999999999`)).toBe(false);
    expect(localHolderAlive(`not-${hostname()} pid ${process.pid}`)).toBeUndefined();
    expect(localHolderAlive('pid 42')).toBeUndefined();
  });

  test('a heartbeat that is not a time is no heartbeat', () => {
    const n = ns('podwire-x');
    n.metadata!.annotations = { 'podwire.dev/heartbeat': 'yesterday-ish' };
    expect(liveness(n, NOW).live).toBe(false);
  });
});

describe('what cleanup deletes', () => {
  const all = [ns('podwire-live', { beatAgo: 2_000, createdAgo: 3 * 3_600_000 }), ns('podwire-stale', { beatAgo: 600_000 }), ns('podwire-kept', { endedAgo: 1_000 })];

  test('runs that are not live, never a live one', () => {
    expect(decideLeftovers(all, NOW)).toEqual([
      { namespace: 'podwire-live', delete: false, reason: 'live: heartbeat 2 s ago' },
      { namespace: 'podwire-stale', delete: true, reason: 'not live: heartbeat 10 min ago' },
      { namespace: 'podwire-kept', delete: true, reason: 'not live: its run ended 1 s ago and kept it (--keep)' },
    ]);
  });

  test('--older-than deletes live runs that old too, and leaves younger live ones', () => {
    const d = decideLeftovers(all, NOW, { olderThanMs: 2 * 3_600_000 });
    expect(d[0]).toEqual({ namespace: 'podwire-live', delete: true, reason: 'created 3 h ago, older than --older-than (live: heartbeat 2 s ago)' });
    expect(d.slice(1).every((x) => x.delete)).toBe(true);
    expect(decideLeftovers(all, NOW, { olderThanMs: 4 * 3_600_000 })[0]).toEqual({ namespace: 'podwire-live', delete: false, reason: 'live: heartbeat 2 s ago; created 3 h ago' });
  });
});

test.each([
  ['90s', 90_000], ['10m', 600_000], ['2h', 7_200_000], ['1d', 86_400_000], ['1h30m', 5_400_000], ['0s', 0], ['1d2h3m4s', 93_784_000],
  ['', undefined], ['10', undefined], ['5 m', undefined], ['-1h', undefined], ['1m1h', undefined], ['h', undefined], ['1.5h', undefined],
])('--older-than %j → %s ms', (v, ms) => {
  expect(parseDuration(v)).toBe(ms);
});

test.each([[0, '0 s'], [119_000, '119 s'], [120_000, '2 min'], [7_199_000, '120 min'], [7_200_000, '2 h'], [172_800_000, '2 d']])('age(%i) = %s', (ms, text) => {
  expect(age(ms)).toBe(text);
});

describe('a lost API', () => {
  test('lost only after a transport failure and LOST_AFTER_MS without an answer', () => {
    const l = new Liveness(0);
    expect(l.lost(LOST_AFTER_MS * 5)).toBe(false); // silence alone (a long exec) is not a loss
    l.failed(1_000);
    expect(l.suspect).toBe(true);
    expect(l.lost(LOST_AFTER_MS - 1)).toBe(false);
    expect(l.lost(LOST_AFTER_MS)).toBe(true);
    l.answered(LOST_AFTER_MS + 1);
    expect(l.suspect).toBe(false);
    expect(l.lost(LOST_AFTER_MS * 3)).toBe(false);
    l.failed(LOST_AFTER_MS * 3);
    expect(l.lost(LOST_AFTER_MS * 3)).toBe(true); // the last answer is long gone
  });

  test.each([
    ['refused', Object.assign(new Error('request to https://x/api failed, reason: connect ECONNREFUSED 127.0.0.1:1'), { type: 'system', code: 'ECONNREFUSED' }), true],
    ['reset', new Error('socket hang up'), true],
    ['an exec that lost its stream', new Error('exec in ns/p ended without a status (connection lost?): python3'), true],
    ['a deadline', Object.assign(new Error('GET /api/v1/pods: no answer'), { name: 'ApiTimeoutError' }), true],
    ['an HTTP 500 answer', Object.assign(new Error('HTTP-Code: 500'), { code: 500 }), false],
    ['an HTTP 403 answer', Object.assign(new Error('HTTP-Code: 403'), { code: 403 }), false],
    ['a plain bug', new TypeError('x is undefined'), false],
  ])('%s: transport failure %s', (_what, err, want) => {
    expect(isTransportFailure(err)).toBe(want);
  });
});
