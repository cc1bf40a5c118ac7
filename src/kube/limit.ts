// A cap on concurrent calls to the cluster (`podwire run --concurrency N`):
// every API request and exec of a run goes through one limiter and waits for
// a free slot, first come first served. A dozen lines of our own rather than
// a dependency: the run also reports the most calls it had in flight, which
// the limiter counts where it already knows it. It is also the run's gate on
// an interrupt: once its signal is aborted no call starts, waiting and
// pending calls reject at once, and `idle()` says when the calls already on
// the wire have settled (so a cleanup's delete lands after them).

export interface Limiter {
  /** Runs `fn` once fewer than `limit` calls are in flight; the slot is held until its promise settles. */
  <T>(fn: () => Promise<T>): Promise<T>;
  readonly limit: number;
  /** Calls in flight now. */
  readonly active: number;
  /** Calls waiting for a slot now. */
  readonly waiting: number;
  /** The most calls in flight at once so far. */
  readonly maxInFlight: number;
  /** Calls started so far. */
  readonly calls: number;
  /** Resolves once no call started through this limiter is still running (an aborted call keeps running until its request ends). */
  idle(): Promise<void>;
}

/** The reason an aborted signal carries (an Error), or one made from it. */
function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted');
}

/** `p`, or a rejection as soon as `signal` is aborted (the listener goes when `p` settles). */
function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

export function createLimiter(limit: number, signal?: AbortSignal): Limiter {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`a limiter needs an integer limit of at least 1, got ${limit}`);
  const queue: { resolve: () => void; reject: (e: Error) => void }[] = [];
  const running = new Set<Promise<unknown>>();
  let active = 0;
  let maxInFlight = 0;
  let calls = 0;
  signal?.addEventListener('abort', () => {
    for (const w of queue.splice(0)) w.reject(abortReason(signal));
  }, { once: true });
  // A finished call hands its slot straight to the next waiter, so nobody arriving in between can take it.
  const acquire = (): Promise<void> | undefined => {
    if (active < limit) {
      active++;
      return undefined;
    }
    return new Promise<void>((resolve, reject) => queue.push({ resolve, reject }));
  };
  const release = () => {
    const next = queue.shift();
    if (next) next.resolve();
    else active--;
  };
  const run = async <T>(fn: () => Promise<T>): Promise<T> => {
    if (signal?.aborted) throw abortReason(signal);
    await acquire();
    calls++;
    maxInFlight = Math.max(maxInFlight, active);
    const call = (async () => fn())();
    running.add(call);
    // The slot is held until the call itself ends, also when the caller stopped waiting for it.
    void call.then(() => undefined, () => undefined).finally(() => {
      running.delete(call);
      release();
    });
    return signal ? raceAbort(call, signal) : call;
  };
  const idle = async (): Promise<void> => {
    while (running.size) await Promise.allSettled([...running]);
  };
  return Object.defineProperties(run, {
    limit: { get: () => limit },
    active: { get: () => active },
    waiting: { get: () => queue.length },
    maxInFlight: { get: () => maxInFlight },
    calls: { get: () => calls },
    idle: { value: idle },
  }) as Limiter;
}

/** No cap: for callers outside a run (cleanup, tests). */
export const unlimited: Limiter = createLimiter(Number.MAX_SAFE_INTEGER);
