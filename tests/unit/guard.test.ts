// kube/guard.ts against a local HTTP server that answers, or never does:
// a request past its deadline fails (and its socket is closed), an abort
// ends requests in flight at once, and answers and silences are reported.
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { KubeConfig } from '@kubernetes/client-node';
import { ApiGuard, guardedCore, type RequestGuard } from '../../src/kube/guard.js';
import { LostApiError } from '../../src/errors.js';

let server: Server;
let url = '';
const sockets = new Set<Socket>();
beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url?.startsWith('/api/v1/nodes')) res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"kind":"NodeList","apiVersion":"v1","metadata":{},"items":[]}');
    // Anything else: never answered, as by a stopped API server.
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  for (const s of sockets) s.destroy();
  server.close();
});

const kc = () => {
  const k = new KubeConfig();
  k.loadFromOptions({ clusters: [{ name: 'c', server: url, skipTLSVerify: true }], users: [{ name: 'u', token: 't' }], contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x' });
  return k;
};
const recorder = (timeoutMs: number, signal?: AbortSignal) => {
  const seen = { answered: 0, failed: [] as string[] };
  const g: RequestGuard = { timeoutMs, ...(signal ? { signal } : {}), answered: () => void seen.answered++, failed: (e) => void seen.failed.push((e as Error).name) };
  return { g, seen };
};

test('an answer is reported as one', async () => {
  const { g, seen } = recorder(2_000);
  await expect(guardedCore(kc(), url, g).listNode()).resolves.toMatchObject({ items: [] });
  expect(seen).toEqual({ answered: 1, failed: [] });
});

test('a request without an answer fails at its deadline, is reported, and its socket is closed', async () => {
  const { g, seen } = recorder(300);
  await expect(guardedCore(kc(), url, g).listNamespace()).rejects.toThrow(/GET \/api\/v1\/namespaces: no answer from the API server in 0.3 s/);
  expect(seen.failed).toEqual(['ApiTimeoutError']);
  for (let i = 0; i < 50 && sockets.size; i++) await new Promise((r) => setTimeout(r, 20));
  expect(sockets.size).toBe(0);
});

test('an abort ends a request in flight with the abort\'s reason; later requests fail at once', async () => {
  const guard = new ApiGuard(url);
  const core = guardedCore(kc(), url, guard);
  const pending = core.listNamespace();
  setTimeout(() => guard.abort(guard.lostError()), 50);
  await expect(pending).rejects.toBeInstanceOf(LostApiError);
  await expect(core.listNode()).rejects.toThrow(/^lost the Kubernetes API at http:\/\/127\.0\.0\.1:\d+ during connecting$/);
});

test('race: the work\'s result, or the abort as soon as it comes', async () => {
  const guard = new ApiGuard(url);
  await expect(guard.race(Promise.resolve(7))).resolves.toBe(7);
  guard.phase = 'sending flows';
  guard.namespace = 'podwire-x';
  const never = new Promise<number>(() => undefined);
  const raced = guard.race(never);
  guard.failed(new Error('connect ECONNREFUSED 127.0.0.1:1'));
  guard.phase = 'listing pods';
  guard.abort(guard.lostError());
  // The phase named is the one in which the API stopped answering.
  await expect(raced).rejects.toThrow('lost the Kubernetes API at ' + url + ' during sending flows; namespace podwire-x may be left: podwire cleanup');
});
