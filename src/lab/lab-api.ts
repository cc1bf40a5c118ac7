// A minimal HTTPS JSON client for the lab's own API (health checks, status,
// raw protocol tests). The suite itself talks through @kubernetes/client-node.
import { request } from 'node:https';

export interface LabApiTarget {
  url: string;
  ca: Buffer;
  token?: string;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json?: unknown;
}

export function apiRequest(
  target: LabApiTarget,
  method: string,
  path: string,
  opts: { body?: string; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const u = new URL(path, target.url);
    const req = request(
      u,
      {
        method,
        ca: target.ca,
        headers: {
          Accept: 'application/json',
          ...(target.token ? { Authorization: `Bearer ${target.token}` } : {}),
          ...(opts.body !== undefined ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(opts.body) } : {}),
          ...opts.headers,
        },
        timeout: opts.timeoutMs ?? 5_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timed out after ${opts.timeoutMs ?? 5_000} ms`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}
