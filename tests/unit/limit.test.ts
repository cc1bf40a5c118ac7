import { describe, expect, it } from 'vitest';
import { createLimiter } from '../../src/kube/limit.js';
import { DEFAULT_CONCURRENCY, MAX_CONCURRENCY, parseConcurrency, parseRunOptions } from '../../src/conformance/options.js';
import { InterruptedError, UsageError } from '../../src/errors.js';

const tick = () => new Promise((r) => setTimeout(r, 1));

describe('the concurrency limiter (--concurrency)', () => {
  it.each([1, 2, 5])('never runs more than %i calls at once, and runs every call', async (limit) => {
    const limiter = createLimiter(limit);
    let now = 0;
    let most = 0;
    const done: number[] = [];
    await Promise.all(Array.from({ length: 20 }, (_, i) => limiter(async () => {
      now++;
      most = Math.max(most, now);
      await tick();
      now--;
      done.push(i);
    })));
    expect(most).toBe(limit);
    expect(limiter.maxInFlight).toBe(limit);
    expect(limiter.calls).toBe(20);
    expect(done.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(limiter.active).toBe(0);
  });

  it('starts waiting calls in the order they came', async () => {
    const limiter = createLimiter(1);
    const order: string[] = [];
    await Promise.all(['a', 'b', 'c', 'd'].map((x) => limiter(async () => {
      order.push(x);
      await tick();
    })));
    expect(order).toEqual(['a', 'b', 'c', 'd']);
  });

  it('frees the slot of a call that failed, and passes its error on', async () => {
    const limiter = createLimiter(1);
    await expect(limiter(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(limiter.active).toBe(0);
    await expect(limiter(async () => 7)).resolves.toBe(7);
  });

  it('does not let a newcomer take a slot a finished call hands to a waiter', async () => {
    const limiter = createLimiter(1);
    let now = 0;
    let most = 0;
    const body = async () => {
      now++;
      most = Math.max(most, now);
      await tick();
      now--;
    };
    const first = limiter(body);
    const second = limiter(body);
    await first;
    // `first` released its slot to `second`; a call arriving now must wait behind it.
    const third = limiter(body);
    expect(limiter.waiting + limiter.active).toBe(2);
    await Promise.all([second, third]);
    expect(most).toBe(1);
  });

  it('on an interrupt: a pending call rejects at once, waiting and new calls never start, idle() waits for the call on the wire', async () => {
    const ctl = new AbortController();
    const limiter = createLimiter(1, ctl.signal);
    let finish!: () => void;
    let onWireDone = false;
    const onWire = limiter(() => new Promise<void>((r) => (finish = r)).then(() => void (onWireDone = true)));
    let started = 0;
    const waiting = limiter(async () => void started++);
    await tick();
    ctl.abort(new InterruptedError('SIGINT'));
    await expect(onWire).rejects.toBeInstanceOf(InterruptedError);
    await expect(waiting).rejects.toBeInstanceOf(InterruptedError);
    await expect(limiter(async () => void started++)).rejects.toThrow('interrupted by SIGINT');
    expect(started).toBe(0);
    let idle = false;
    const idling = limiter.idle().then(() => (idle = true));
    await tick();
    expect(idle).toBe(false);
    finish();
    await idling;
    expect(onWireDone).toBe(true);
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses the limit %s', (n) => {
    expect(() => createLimiter(n)).toThrow(/integer limit of at least 1/);
  });
});

describe('--concurrency', () => {
  it('defaults to DEFAULT_CONCURRENCY and takes an integer from 1 to MAX_CONCURRENCY', () => {
    expect(parseConcurrency(undefined)).toBe(DEFAULT_CONCURRENCY);
    expect(parseConcurrency('1')).toBe(1);
    expect(parseConcurrency(String(MAX_CONCURRENCY))).toBe(MAX_CONCURRENCY);
    expect(parseRunOptions(['--concurrency', '4']).concurrency).toBe(4);
    expect(parseRunOptions([]).concurrency).toBe(DEFAULT_CONCURRENCY);
  });

  it.each(['0', '-1', '2.5', 'x', '', '1e3', String(MAX_CONCURRENCY + 1), '00000000001'])('refuses `%s` with one line quoting it', (v) => {
    expect(() => parseConcurrency(v)).toThrow(UsageError);
    expect(() => parseConcurrency(v)).toThrow(`expected \`--concurrency\` to be an integer from 1 to ${MAX_CONCURRENCY}, got \`${v}\``);
  });
});
