// What SIGINT and SIGTERM do to a command (src/cli/signals.ts): the handler is
// called directly, with process.exit replaced, so no real signal is sent.
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { InterruptedError } from '../../src/errors.js';
import { handleSignal, onInterrupt, resetInterruptsForTest, settledWithin, wasInterrupted } from '../../src/cli/signals.js';

let exits: number[];
let lines: string[];

beforeEach(() => {
  exits = [];
  lines = [];
  resetInterruptsForTest((code) => exits.push(code));
  vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => (lines.push(String(s).trimEnd()), true));
});
afterEach(() => vi.restoreAllMocks());

const tick = () => new Promise((r) => setTimeout(r, 1));

describe('interrupts', () => {
  test.each([['SIGINT', 130], ['SIGTERM', 143]] as const)('%s before any work: one line, exit %i at once', (sig, code) => {
    handleSignal(sig);
    expect(exits).toEqual([code]);
    expect(lines).toEqual([`podwire: ${sig}: stopped before any work began`]);
    expect(wasInterrupted()).toBe(true);
  });

  test.each([['SIGINT', 130], ['SIGTERM', 143]] as const)('%s during work: aborts the work with an InterruptedError, cleans up once, then exits %i', async (sig, code) => {
    let cleanups = 0;
    let finish!: () => void;
    const { signal } = onInterrupt({ cleanup: () => new Promise<void>((r) => (cleanups++, (finish = r))), leftover: () => 'namespace x' });
    handleSignal(sig);
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBeInstanceOf(InterruptedError);
    expect(cleanups).toBe(1);
    await tick();
    expect(exits).toEqual([]); // not before the cleanup is done
    finish();
    await tick();
    expect(exits).toEqual([code]);
    expect(cleanups).toBe(1);
    expect(lines[0]).toMatch(new RegExp(`^podwire: ${sig}: stopping; cleaning up \\(.* again exits at once\\)$`));
  });

  test('a second signal during the cleanup exits at once, naming what may be left and the command that removes it', async () => {
    let cleanups = 0;
    onInterrupt({ cleanup: () => new Promise<void>(() => void cleanups++), leftover: () => 'namespace podwire-x; remove it with: podwire cleanup --namespace podwire-x' });
    handleSignal('SIGINT');
    handleSignal('SIGINT');
    expect(exits).toEqual([130]);
    expect(cleanups).toBe(1);
    expect(lines.at(-1)).toBe('podwire: SIGINT again: stopped the cleanup; may be left: namespace podwire-x; remove it with: podwire cleanup --namespace podwire-x');
  });

  test('a cleanup that fails says so, with what may be left, and still exits with the signal\'s code', async () => {
    onInterrupt({ cleanup: () => Promise.reject(new Error('API gone')), leftover: () => 'lab x; remove it with: podwire lab down --name x' });
    handleSignal('SIGTERM');
    await tick();
    expect(exits).toEqual([143]);
    expect(lines.at(-1)).toBe('podwire: cleanup failed: API gone; may be left: lab x; remove it with: podwire lab down --name x');
  });

  test('after the scope is released, a signal exits at once and runs no cleanup', () => {
    let cleanups = 0;
    const { release } = onInterrupt({ cleanup: async () => void cleanups++, leftover: () => undefined });
    release();
    handleSignal('SIGINT');
    expect(cleanups).toBe(0);
    expect(exits).toEqual([130]);
    expect(lines).toEqual(['podwire: SIGINT: stopped after the work was done']);
  });

  test('settledWithin waits for the promise, or for the deadline, never rejecting', async () => {
    await expect(settledWithin(Promise.reject(new Error('x')), 1_000)).resolves.toBeUndefined();
    let done = false;
    await settledWithin(new Promise(() => undefined), 5).then(() => (done = true));
    expect(done).toBe(true);
  });
});
