// The chaos test's pure part (bench/chaos-plan.ts): seeded plans replay, the
// phase an interrupt landed in, the tally, and which exits are right.
import { describe, expect, test } from 'vitest';
import { chaosCount, chaosSeed, exitProblems, phaseOf, planMoments, tally, type ChaosOutcome, type Moment } from '../../bench/chaos-plan.js';

describe('chaos plans', () => {
  test('the same seed gives the same moments; another seed others; every command and both signals appear', () => {
    const a = planMoments(42, 50);
    expect(planMoments(42, 50)).toEqual(a);
    expect(planMoments(43, 50)).not.toEqual(a);
    expect(new Set(a.map((m) => m.command))).toEqual(new Set(['run', 'lab up', 'lab down', 'demo']));
    expect(new Set(a.map((m) => m.signal))).toEqual(new Set(['SIGINT', 'SIGTERM']));
    expect(a.every((m) => m.at >= 0 && m.at < 1)).toBe(true);
    expect(a.map((m) => m.i)).toEqual(Array.from({ length: 50 }, (_, k) => k + 1));
  });

  test.each([
    [undefined, 7, 7], ['', 7, 7], ['123', 7, 123],
  ])('seed from %j (fresh %i) is %i', (env, fresh, want) => {
    expect(chaosSeed(env, () => fresh)).toBe(want);
  });

  test.each(['x', '-1', '1.5', '4294967296'])('PODWIRE_CHAOS_SEED=%s is refused with the value quoted', (env) => {
    expect(() => chaosSeed(env, () => 0)).toThrow(`got \`${env}\``);
  });

  test('count: default, given, refused', () => {
    expect(chaosCount(undefined, 50)).toBe(50);
    expect(chaosCount('200', 50)).toBe(200);
    expect(() => chaosCount('0', 50)).toThrow('got `0`');
  });
});

describe('the phase an interrupt landed in', () => {
  const run = ['podwire: run abc: 2 node(s) (v1), 12 check(s)', 'podwire: deploying 6 probes in namespace podwire-abc', 'podwire: probes ready 6/6 (0.3 s)',
    'podwire: inventory: addresses', 'podwire: sending 26 flows from 6 probes', 'podwire: senders done 6/6 (1.3 s)', 'podwire: captures retrieved 6/6 (0.1 s)', 'podwire: deleting namespace podwire-abc'];
  test.each([
    [0, 'start'], [1, 'namespace'], [2, 'deploy'], [3, 'inventory'], [4, 'inventory'], [5, 'send'], [6, 'retrieve'], [7, 'judge and write'], [8, 'namespace deletion'],
  ])('run, after %i progress lines: %s', (n, phase) => {
    expect(phaseOf('run', run.slice(0, n), 'handled')).toBe(phase);
  });

  test('a phase line the interrupt ended does not count as finished', () => {
    expect(phaseOf('run', [...run.slice(0, 5), 'podwire: senders done 2/6 (0.4 s) (interrupted)'], 'handled')).toBe('send');
  });

  test('how the process met the signal comes first', () => {
    expect(phaseOf('run', run, 'exited')).toBe('after exit');
    expect(phaseOf('lab up', [], 'killed')).toBe('node start-up');
    expect(phaseOf('lab down', [], 'killed at exit')).toBe('node shutdown');
  });

  test.each([
    [[], 'start'], [['podwire: building 2 node(s), dataplane host-gw'], 'build'], [['podwire: building 2 node(s)', 'podwire: starting the API server'], 'API server'],
  ])('lab up after %j: %s', (lines, phase) => {
    expect(phaseOf('lab up', lines, 'handled')).toBe(phase);
  });

  test('lab down: before the teardown (the handler said so) or during it', () => {
    expect(phaseOf('lab down', ['podwire: SIGINT: stopped before any work began'], 'handled')).toBe('before teardown');
    expect(phaseOf('lab down', [], 'handled')).toBe('teardown');
  });

  test.each([
    [['podwire: building 2 node(s)'], 'lab: build'],
    [['podwire: building 2 node(s)', 'podwire: starting the API server', 'podwire: lab x up in 0.5 s: 2 nodes'], 'run: API check'],
    [['podwire: lab x up in 0.5 s: 2 nodes', ...run.slice(0, 5)], 'run: send'],
    [['podwire: lab x up in 0.5 s: 2 nodes', ...run], 'run: end, lab teardown'],
  ])('demo after %j: %s', (lines, phase) => {
    expect(phaseOf('demo', lines, 'handled')).toBe(phase);
  });
});

describe('tally and exits', () => {
  const m = (command: Moment['command'], signal: Moment['signal'] = 'SIGINT'): Moment => ({ i: 1, command, at: 0.5, signal });
  const o = (moment: Moment, phase: string, code: number | null, signal: string | null, leftovers: string[] = []): ChaosOutcome => {
    const out: ChaosOutcome = { moment, atMs: 1, phase, exit: { code, signal }, leftovers, problems: [] };
    out.problems = exitProblems(out);
    return out;
  };

  test.each([
    ['SIGINT handled: 130', o(m('run'), 'send', 130, null), []],
    ['SIGTERM handled: 143', o(m('run', 'SIGTERM'), 'send', 143, null), []],
    ['SIGINT answered 143', o(m('run'), 'send', 143, null), ['expected exit 130 after SIGINT, got 143']],
    ['exit 2 after a signal', o(m('lab up'), 'build', 2, null), ['expected exit 130 after SIGINT, got 2']],
    ['killed by the signal while Node started', o(m('lab up'), 'node start-up', null, 'SIGINT'), []],
    ['killed by the signal once podwire ran', o(m('lab up'), 'build', null, 'SIGINT'), ['expected exit 130 after SIGINT, got killed by SIGINT']],
    ['killed by the signal as Node shut down, the work done', o(m('lab down', 'SIGTERM'), 'node shutdown', null, 'SIGTERM'), []],
    ['finished before the signal', o(m('run'), 'after exit', 0, null), []],
    ['failed before the signal', o(m('run'), 'after exit', 2, null), ['exited 2 before the signal']],
  ])('%s', (_what, outcome, problems) => {
    expect(outcome.problems).toEqual(problems);
  });

  test('rows by command (in plan order) and phase; a leftover or a wrong exit is not clean', () => {
    const rows = tally([
      o(m('demo'), 'run: send', 130, null), o(m('run'), 'send', 130, null), o(m('run'), 'send', 130, null, ['namespace podwire-x']),
      o(m('run'), 'deploy', 2, null), o(m('run'), 'deploy', 130, null),
    ]);
    expect(rows).toEqual([
      { command: 'run', phase: 'deploy', clean: 1, leftover: 1 },
      { command: 'run', phase: 'send', clean: 1, leftover: 1 },
      { command: 'demo', phase: 'run: send', clean: 1, leftover: 0 },
    ]);
  });
});
