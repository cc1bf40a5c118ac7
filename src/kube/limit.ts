// A cap on concurrent calls to the cluster (`podwire run --concurrency N`):
// every API request and exec of a run goes through one limiter and waits for
// a free slot, first come first served. A dozen lines of our own rather than
// a dependency: the run also reports the most calls it had in flight, which
// the limiter counts where it already knows it.

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
}

export function createLimiter(limit: number): Limiter {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`a limiter needs an integer limit of at least 1, got ${limit}`);
  const queue: (() => void)[] = [];
  let active = 0;
  let maxInFlight = 0;
  let calls = 0;
  // A finished call hands its slot straight to the next waiter, so nobody arriving in between can take it.
  const acquire = (): Promise<void> | undefined => {
    if (active < limit) {
      active++;
      return undefined;
    }
    return new Promise<void>((resolve) => queue.push(resolve));
  };
  const release = () => {
    const next = queue.shift();
    if (next) next();
    else active--;
  };
  const run = async <T>(fn: () => Promise<T>): Promise<T> => {
    await acquire();
    calls++;
    maxInFlight = Math.max(maxInFlight, active);
    try {
      return await fn();
    } finally {
      release();
    }
  };
  return Object.defineProperties(run, {
    limit: { get: () => limit },
    active: { get: () => active },
    waiting: { get: () => queue.length },
    maxInFlight: { get: () => maxInFlight },
    calls: { get: () => calls },
  }) as Limiter;
}

/** No cap: for callers outside a run (cleanup, tests). */
export const unlimited: Limiter = createLimiter(Number.MAX_SAFE_INTEGER);
