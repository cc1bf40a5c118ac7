// The server side of `pods/exec` over WebSocket, channel protocols
// v4.channel.k8s.io and v5.channel.k8s.io: every binary message starts with a
// channel byte (0 stdin, 1 stdout, 2 stderr, 3 status, 4 resize); v5 adds
// channel 255, "close stream N", with which a client ends stdin.
import type { ChildProcess } from 'node:child_process';
import type { WebSocket } from 'ws';
import { execFailure, execStatus } from './status.js';
import { constants } from 'node:os';

export const EXEC_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'] as const;
export type ExecProtocol = (typeof EXEC_PROTOCOLS)[number];

export const CHANNEL = { stdin: 0, stdout: 1, stderr: 2, status: 3, resize: 4, close: 255 } as const;

/** The protocol the server speaks: the first of its own the client offered. */
export function pickProtocol(offered: string | undefined): ExecProtocol | undefined {
  const list = (offered ?? '').split(',').map((s) => s.trim());
  return EXEC_PROTOCOLS.find((p) => list.includes(p));
}

export function frame(channel: number, data: Buffer | string): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  return Buffer.concat([Buffer.from([channel]), body]);
}

/** Parses a client message into its channel and payload; text frames carry the same bytes. */
export function parseFrame(data: Buffer | ArrayBuffer | Buffer[]): { channel: number; payload: Buffer } | undefined {
  const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
  if (buf.length === 0) return undefined;
  return { channel: buf[0]!, payload: buf.subarray(1) };
}

const HIGH_WATER = 4 * 1024 * 1024;

/**
 * Pumps a child's stdio over the socket and ends with its status on channel 3.
 * Closing the socket does not kill the process (as on a real kubelet).
 */
export function bridgeExec(ws: WebSocket, protocol: ExecProtocol, child: ChildProcess, forward: { stdout: boolean; stderr: boolean }): void {
  const outputs = [child.stdout, child.stderr].filter((s) => s != null);
  const send = (channel: number, data: Buffer | string) => {
    if (ws.readyState !== ws.OPEN) return;
    ws.send(frame(channel, data), { binary: true }, () => {
      if (ws.bufferedAmount < HIGH_WATER) for (const s of outputs) s.resume();
    });
    if (ws.bufferedAmount >= HIGH_WATER) for (const s of outputs) s.pause();
  };
  // A stream the client did not ask for is drained and dropped.
  child.stdout?.on('data', (d: Buffer) => forward.stdout && send(CHANNEL.stdout, d));
  child.stderr?.on('data', (d: Buffer) => forward.stderr && send(CHANNEL.stderr, d));
  child.stdin?.on('error', () => undefined);

  ws.on('message', (data) => {
    const f = parseFrame(data as Buffer);
    if (!f) return;
    if (f.channel === CHANNEL.stdin && f.payload.length) child.stdin?.write(f.payload);
    else if (f.channel === CHANNEL.close && protocol === 'v5.channel.k8s.io' && f.payload[0] === CHANNEL.stdin) child.stdin?.end();
    // resize (4) has no meaning without a tty; other channels are ignored.
  });
  ws.on('close', () => {
    child.stdin?.end();
    for (const s of outputs) s.resume();
  });
  ws.on('error', () => undefined);

  let done = false;
  const finish = (status: object) => {
    if (done) return;
    done = true;
    send(CHANNEL.status, JSON.stringify(status));
    if (ws.readyState === ws.OPEN) ws.close(1000);
  };
  child.on('error', (err) => finish(execFailure(`failed to start command: ${err.message}`)));
  child.on('close', (code, signal) => {
    const exitCode = code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0);
    finish(execStatus(exitCode));
  });
}
