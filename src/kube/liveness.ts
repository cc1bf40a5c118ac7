// When is the Kubernetes API "lost"? Pure bookkeeping of the answers and
// transport failures a run saw, so the decision is unit-tested apart from
// sockets and timers (src/kube/guard.ts feeds it).

/** No answer for this long, with a transport failure since the last one: the API is lost (once GET /version confirms it: kube/guard.ts). */
export const LOST_AFTER_MS = 8_000;

/** A failure that says nothing came back from the API server (as opposed to an HTTP error, which is an answer). */
export function isTransportFailure(err: unknown): boolean {
  const e = err as { code?: unknown; statusCode?: unknown; name?: string; message?: string; type?: string } | undefined;
  if (!e) return false;
  // client-node's ApiException carries the HTTP status as a number: the server answered.
  if (typeof e.code === 'number' || typeof e.statusCode === 'number') return false;
  if (e.name === 'ApiTimeoutError' || e.type === 'system' || e.type === 'request-timeout' || e.name === 'FetchError' || e.name === 'AbortError') return true;
  const msg = String(e.message ?? '');
  return /ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|EPIPE|socket hang up|timed out|without a status|Unexpected server response: 5\d\d/.test(msg)
    || (typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code));
}

export class Liveness {
  private lastAnswer: number;
  private failedSince: number | undefined;

  constructor(now: number) {
    this.lastAnswer = now;
  }

  /** The API server answered (any HTTP status, exec output). */
  answered(now: number): void {
    this.lastAnswer = Math.max(this.lastAnswer, now);
    this.failedSince = undefined;
  }

  /** A request got no answer (refused, reset, timed out). */
  failed(now: number): void {
    this.failedSince ??= now;
  }

  /** A transport failure came after the last answer. */
  get suspect(): boolean {
    return this.failedSince !== undefined;
  }

  /** Lost: a transport failure since the last answer, and no answer for {@link LOST_AFTER_MS}. */
  lost(now: number, after = LOST_AFTER_MS): boolean {
    return this.failedSince !== undefined && now - this.lastAnswer >= after;
  }

  /** ms since the last answer. */
  silentFor(now: number): number {
    return now - this.lastAnswer;
  }
}
