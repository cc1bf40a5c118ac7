// Running a command in a pod through the pods/exec WebSocket API and
// collecting its output as bytes, with its exit code from the status channel.
import { Readable, Writable } from 'node:stream';
import { Exec, type KubeConfig, type V1Status } from '@kubernetes/client-node';
// Not re-exported by the package's index; the package has no exports map, so its file is reachable (pinned version).
import { WebSocketHandler } from '@kubernetes/client-node/dist/web-socket-handler.js';
import WebSocket from 'ws';
import { rbacDenial } from '../forbidden.js';

export interface ExecTarget {
  namespace: string;
  pod: string;
  container?: string;
}

export interface ExecResult {
  exitCode: number;
  stdout: Buffer;
  stderr: Buffer;
}

export class ExecError extends Error {
  /** The HTTP status when the API server refused the exec (403: RBAC, admission). */
  constructor(message: string, readonly status?: number) {
    super(message);
  }
}

/** The API server refused the WebSocket upgrade: its status and the message of the Status it sent. */
class RefusedUpgrade extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/**
 * client-node's WebSocket, but one that reads the body of a refused upgrade
 * (a 403's Status names the missing right) instead of saying only
 * "Unexpected server response: 403".
 */
function socketFactory(uri: string, protocols: string[], opts: WebSocket.ClientOptions): WebSocket {
  const ws = new WebSocket(uri, protocols, opts);
  ws.on('unexpected-response', (_req, res) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('error', () => undefined);
    res.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let message = text.trim().slice(0, 500) || `Unexpected server response: ${res.statusCode}`;
      try {
        message = (JSON.parse(text) as { message?: string }).message ?? message;
      } catch {
        /* not a Status */
      }
      const status = res.statusCode ?? 0;
      ws.emit('error', new RefusedUpgrade(status, status === 403 ? rbacDenial(message) ?? `Forbidden (403): ${message}` : `${message} (${status})`));
      ws.terminate();
    });
  });
  return ws;
}

/** Exec calls made by this process (the run reports them: its cost model is O(nodes) execs), and how many ran at once. */
export const execCounter = { calls: 0, inFlight: 0, maxInFlight: 0 };

/** Exit code carried by an exec Status: 0 on Success, the ExitCode cause on NonZeroExitCode. */
export function exitCodeOf(status: V1Status): number | undefined {
  if (status.status === 'Success') return 0;
  if (status.reason === 'NonZeroExitCode') {
    const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
    const code = Number(cause?.message);
    return Number.isInteger(code) ? code : undefined;
  }
  return undefined;
}

export type OutputListener = (stream: 'stdout' | 'stderr', chunk: Buffer) => void;

export interface ExecOptions {
  stdin?: Buffer | string | Readable;
  timeoutMs?: number;
  onOutput?: OutputListener;
  /** Abandons the exec (an interrupt, a lost API): its socket is destroyed and the call fails with the signal's reason. */
  signal?: AbortSignal;
}

function collector(into: Buffer[], stream: 'stdout' | 'stderr', listener?: OutputListener): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      const b = Buffer.from(chunk);
      into.push(b);
      listener?.(stream, b);
      cb();
    },
  });
}

export async function execInPod(
  kc: KubeConfig,
  target: ExecTarget,
  command: string[],
  opts: ExecOptions = {},
): Promise<ExecResult> {
  execCounter.calls++;
  execCounter.inFlight++;
  execCounter.maxInFlight = Math.max(execCounter.maxInFlight, execCounter.inFlight);
  try {
    return await execOnce(kc, target, command, opts);
  } finally {
    execCounter.inFlight--;
  }
}

async function execOnce(
  kc: KubeConfig,
  target: ExecTarget,
  command: string[],
  opts: ExecOptions,
): Promise<ExecResult> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const where = `${target.namespace}/${target.pod}`;
  // Messages name the program, never its arguments: the agent's bootstrap is Python source.
  const program = command[0] ?? '';
  const { signal } = opts;
  if (signal?.aborted) throw signal.reason as Error;
  let status: V1Status | undefined;
  // A stream stays open for input written later (a Buffer or string is all of stdin, then closed).
  const stdin = opts.stdin === undefined ? null : opts.stdin instanceof Readable ? opts.stdin : Readable.from([Buffer.from(opts.stdin)]);
  let ws;
  try {
    ws = await new Exec(kc, new WebSocketHandler(kc, socketFactory)).exec(target.namespace, target.pod, target.container ?? '', command, collector(out, 'stdout', opts.onOutput), collector(err, 'stderr', opts.onOutput), stdin, false, (s) => {
      status = s;
    });
  } catch (e) {
    const msg = e instanceof Error ? e.message : (e as { message?: string })?.message ?? String(e);
    const refused = (e as { error?: unknown })?.error ?? e;
    throw new ExecError(`exec in ${where} failed: ${msg}`, refused instanceof RefusedUpgrade ? refused.status : undefined);
  }
  const socket = ws;
  await new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      (socket as unknown as { terminate?: () => void }).terminate?.();
      reject(signal!.reason as Error);
    };
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          signal?.removeEventListener('abort', onAbort);
          socket.close();
          reject(new ExecError(`exec in ${where} timed out after ${opts.timeoutMs} ms: ${program}`));
        }, opts.timeoutMs)
      : undefined;
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    socket.on('close', () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
  });
  if (!status) throw new ExecError(`exec in ${where} ended without a status (connection lost?): ${program}`);
  const exitCode = exitCodeOf(status);
  if (exitCode === undefined) throw new ExecError(`exec in ${where} failed: ${status.message ?? status.reason ?? 'unknown error'}`);
  return { exitCode, stdout: Buffer.concat(out), stderr: Buffer.concat(err) };
}
