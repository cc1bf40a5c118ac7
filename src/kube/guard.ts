// Bounds on talking to an API server that may stop answering: every REST
// request gets a deadline (client-node sets none, so a stopped server hangs
// a request for ever), every request and exec can be abandoned at once, and
// what came back feeds a liveness account (kube/liveness.ts) that a watchdog
// reads once a second.
import type { Agent } from 'node:http';
import { request } from 'node:https';
import { CoreV1Api, createConfiguration, ServerConfiguration, wrapHttpLibrary, type KubeConfig, type RequestContext, type ResponseContext } from '@kubernetes/client-node';
import { LostApiError } from '../errors.js';
import { isTransportFailure, Liveness, LOST_AFTER_MS } from './liveness.js';

/**
 * A REST request without an answer after this long is abandoned (its socket
 * destroyed). Above the 30 s an admission webhook may take: a slow webhook
 * is not a lost API. Losing the API is noticed sooner (LOST_AFTER_MS).
 */
export const REQUEST_TIMEOUT_MS = 35_000;
const WATCHDOG_MS = 1_000;
/** How long the last question (GET /readyz) may take before the API is declared lost. */
const CONFIRM_MS = 2_500;

/** A request that got no answer in time. */
export class ApiTimeoutError extends Error {
  override name = 'ApiTimeoutError';
}

/** What a guarded client reports to, and what stops it. */
export interface RequestGuard {
  timeoutMs: number;
  signal?: AbortSignal;
  answered(): void;
  failed(err: unknown): void;
}

/** A CoreV1Api whose every request has a deadline, can be aborted, and reports answers and transport failures. */
export function guardedCore(kc: KubeConfig, server: string, guard: RequestGuard): CoreV1Api {
  return new CoreV1Api(guardedConfig(kc, server, guard));
}

function guardedConfig(kc: KubeConfig, server: string, guard: RequestGuard) {
  const plain = createConfiguration({ baseServer: new ServerConfiguration(server, {}), authMethods: { default: kc } });
  const httpApi = wrapHttpLibrary({ send: (req) => sendGuarded(req, (r) => plain.httpApi.send(r).toPromise(), guard) });
  return createConfiguration({ baseServer: new ServerConfiguration(server, {}), authMethods: { default: kc }, httpApi });
}

function sendGuarded(req: RequestContext, send: (r: RequestContext) => Promise<ResponseContext>, guard: RequestGuard): Promise<ResponseContext> {
  if (guard.signal?.aborted) return Promise.reject(guard.signal.reason as Error);
  // client-node makes one agent per request: destroying it ends that request's socket, which is how a request is abandoned.
  const agent = req.getAgent() as Agent | undefined;
  return new Promise<ResponseContext>((resolve, reject) => {
    let settled = false;
    const settle = (err?: unknown, res?: ResponseContext) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      guard.signal?.removeEventListener('abort', onAbort);
      if (err === undefined) resolve(res!);
      else {
        agent?.destroy();
        reject(err);
      }
    };
    const onAbort = () => settle(guard.signal!.reason);
    const path = new URL(req.getUrl()).pathname;
    const timer = setTimeout(() => {
      const err = new ApiTimeoutError(`${req.getHttpMethod()} ${path}: no answer from the API server in ${guard.timeoutMs / 1000} s`);
      guard.failed(err);
      settle(err);
    }, guard.timeoutMs);
    guard.signal?.addEventListener('abort', onAbort, { once: true });
    send(req).then((res) => {
      guard.answered();
      settle(undefined, res);
    }, (err: unknown) => {
      if (isTransportFailure(err)) guard.failed(err);
      settle(err);
    });
  });
}

/**
 * One run's watch over its API server: a liveness account, an abort signal
 * every request and exec of the run listens to, the phase the run is in
 * (for the message), and a watchdog that aborts the run once the API is lost.
 */
export class ApiGuard implements RequestGuard {
  readonly timeoutMs = REQUEST_TIMEOUT_MS;
  private readonly controller = new AbortController();
  private readonly liveness = new Liveness(Date.now());
  private watchdog: NodeJS.Timeout | undefined;
  /** What the run is doing, in words for "lost the Kubernetes API … during PHASE". */
  phase = 'connecting';
  /** The run's namespace once created (named in the message). */
  namespace: string | undefined;

  private confirming = false;
  private kc: KubeConfig | undefined;

  constructor(public server: string, private readonly lostAfterMs = LOST_AFTER_MS) {}

  /** The cluster to ask GET /version before declaring the API lost. */
  use(kc: KubeConfig, server: string): void {
    this.kc = kc;
    this.server = server;
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get aborted(): boolean {
    return this.controller.signal.aborted;
  }

  /** The phase in which the API stopped answering (the first failure since the last answer). */
  private silentSince: string | undefined;
  /** Called when the API answers again after a failure. */
  onRecover: () => void = () => undefined;

  answered(): void {
    const was = this.liveness.suspect;
    this.liveness.answered(Date.now());
    this.silentSince = undefined;
    if (was) this.onRecover();
  }

  failed(err: unknown): void {
    if (!isTransportFailure(err)) return;
    this.silentSince ??= this.phase;
    this.liveness.failed(Date.now());
  }

  /** A transport failure came after the last answer. */
  get suspect(): boolean {
    return this.liveness.suspect;
  }

  lostError(): LostApiError {
    return new LostApiError(this.server, this.silentSince ?? this.phase, this.namespace);
  }

  /** Stops the run: every guarded request and exec fails with `reason`, and {@link race} rejects with it. */
  abort(reason: Error): void {
    if (!this.aborted) this.controller.abort(reason);
  }

  /**
   * Starts the watchdog: once nothing has answered for LOST_AFTER_MS after a
   * request failed for want of an answer, one last question decides: GET
   * /readyz (no admission webhook slows it down; it fails when the API
   * server cannot reach its storage). Without an answer below 500 in CONFIRM_MS, the run
   * is aborted with a {@link LostApiError} (a 401/403 is an answer).
   */
  start(): void {
    this.watchdog ??= setInterval(() => {
      if (this.confirming || this.aborted || !this.liveness.lost(Date.now(), this.lostAfterMs)) return;
      if (!this.kc) return this.abort(this.lostError());
      this.confirming = true;
      void readyz(this.kc, this.server, CONFIRM_MS).then((ready) => (ready ? this.answered() : this.abort(this.lostError())))
        .finally(() => (this.confirming = false));
    }, WATCHDOG_MS);
  }

  stop(): void {
    clearInterval(this.watchdog);
  }

  /** `work`, or the abort's reason as soon as the run is aborted (the work is then abandoned). */
  race<T>(work: Promise<T>): Promise<T> {
    const signal = this.signal;
    if (signal.aborted) return Promise.reject(signal.reason as Error);
    let onAbort: () => void = () => undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason as Error);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    work.catch(() => undefined); // an abandoned piece of work that fails later is not an unhandled rejection
    return Promise.race([work, aborted]).finally(() => signal.removeEventListener('abort', onAbort));
  }
}

/** Whether the API server answers GET /readyz within `ms` and not with a 5xx, with the kubeconfig's TLS and credentials. */
async function readyz(kc: KubeConfig, server: string, ms: number): Promise<boolean> {
  const opts: { headers?: Record<string, string>; agent?: Agent; timeout?: number } = {};
  try {
    await kc.applyToHTTPSOptions(opts as Parameters<KubeConfig['applyToHTTPSOptions']>[0]);
  } catch {
    return false;
  }
  return new Promise<boolean>((resolve) => {
    const req = request(new URL('/readyz', server), { ...opts, method: 'GET' }, (res) => {
      res.resume();
      // 401/403: a cluster that keeps /readyz private still answered; 5xx: not ready (its storage is gone).
      resolve((res.statusCode ?? 500) < 500);
    });
    const timer = setTimeout(() => req.destroy(new Error('no answer')), ms);
    req.on('error', () => resolve(false));
    req.on('close', () => clearTimeout(timer));
    req.end();
  });
}
