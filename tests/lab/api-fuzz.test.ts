// Issue 14, item 7: the lab's API server under bad input, seeded
// (PODWIRE_FUZZ_SEED, default 14; the seed is in the test's name). Bad JSON,
// wrong types, huge bodies and headers, unknown paths and verbs, broken
// WebSocket frames and channels on exec, half-closed connections and 200
// concurrent requests: each gets a Kubernetes `Status` error or a closed
// connection; the server never crashes, leaks no process, netns or
// namespace, its memory stays bounded, and a normal client works after.
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { expect, test } from 'vitest';
import WebSocket from 'ws';
import { apiRequest, type LabApiTarget, type RawResponse } from '../../src/lab/lab-api.js';
import { pidAlive } from '../../src/lab/topology.js';
import { execInPod } from '../../src/kube/exec.js';
import { createRunningPod, describeLab, podSpec, useLab } from '../helpers/lab.js';

const SEED = Number(process.env.PODWIRE_FUZZ_SEED ?? 14);

/** mulberry32: a small seeded PRNG, so a failing case can be replayed. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
  return { next, int, pick, bytes };
}

/** A Status error as the API server sends it (the body names the same code). */
function isStatusError(r: RawResponse): boolean {
  const j = r.json as { kind?: string; apiVersion?: string; status?: string; code?: number } | undefined;
  return r.status >= 400 && j?.kind === 'Status' && j.apiVersion === 'v1' && j.status === 'Failure' && j.code === r.status;
}

/** What came back on a raw connection: the HTTP status and body of the first response, or that it closed without one. */
type RawOutcome = { closed: true } | { closed: false; status: number; json?: unknown; text: string };

/** Writes `bytes` on a fresh TLS connection (optionally half-closing it) and reads until the server answers or closes. */
function raw(target: LabApiTarget, bytes: Buffer | string, opts: { halfClose?: boolean; waitMs?: number } = {}): Promise<RawOutcome> {
  const u = new URL(target.url);
  return new Promise((resolve, reject) => {
    const s: TLSSocket = connect({ host: u.hostname, port: Number(u.port), ca: target.ca, allowHalfOpen: true } as ConnectionOptions, () => {
      s.write(bytes);
      if (opts.halfClose) s.end();
    });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no answer and no close within ${opts.waitMs ?? 30_000} ms for ${JSON.stringify(String(bytes).slice(0, 80))}`));
    }, opts.waitMs ?? 30_000);
    let finished = false;
    const done = () => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      s.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (!m) return resolve({ closed: true });
      const body = text.slice(text.indexOf('\r\n\r\n') + 4);
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      resolve({ closed: false, status: Number(m[1]), json, text: body });
    };
    s.on('data', (c: Buffer) => {
      chunks.push(c);
      // One response is enough: stop at the end of its body when it has a length.
      const text = Buffer.concat(chunks).toString('latin1');
      const head = text.indexOf('\r\n\r\n');
      const len = /content-length: (\d+)/i.exec(text.slice(0, head));
      if (head >= 0 && len && text.length - head - 4 >= Number(len[1])) {
        s.destroy();
        done();
      }
    });
    s.on('error', () => undefined);
    s.on('end', done); // the server closed its side: that is its answer (this side may be half-open)
    s.on('close', done);
  });
}

const expectStatusOrClosed = (o: RawOutcome, what: string) => {
  if (o.closed) return;
  const j = o.json as { kind?: string; code?: number } | undefined;
  expect(o.status, `${what}: ${o.text.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
  expect(j?.kind, `${what}: ${o.text.slice(0, 200)}`).toBe('Status');
  expect(j?.code).toBe(o.status);
};

const rssKiB = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);

/** A valid pod manifest to mutate. */
const basePod = (name: string) => ({
  apiVersion: 'v1', kind: 'Pod',
  metadata: { name, labels: { app: 'fuzz' }, annotations: { a: 'b' } },
  spec: { nodeName: 'node-1', restartPolicy: 'Never', hostNetwork: false, terminationGracePeriodSeconds: 1, nodeSelector: { 'kubernetes.io/os': 'linux' },
    containers: [{ name: 'c', image: 'x', command: ['true'], args: ['x'], workingDir: '/', env: [{ name: 'A', value: 'b' }], ports: [{ containerPort: 80 }] }] },
});
/** Fields of the manifest with their type, and values of every other type. */
const TYPED_PATHS: [string[], 'string' | 'object' | 'array' | 'boolean' | 'number'][] = [
  [['metadata'], 'object'], [['metadata', 'name'], 'string'], [['metadata', 'labels'], 'object'], [['metadata', 'labels', 'app'], 'string'],
  [['metadata', 'annotations'], 'object'], [['metadata', 'annotations', 'a'], 'string'], [['spec'], 'object'], [['spec', 'nodeName'], 'string'],
  [['spec', 'restartPolicy'], 'string'], [['spec', 'hostNetwork'], 'boolean'], [['spec', 'terminationGracePeriodSeconds'], 'number'],
  [['spec', 'nodeSelector'], 'object'], [['spec', 'containers'], 'array'], [['spec', 'containers', '0'], 'object'], [['spec', 'containers', '0', 'name'], 'string'],
  [['spec', 'containers', '0', 'image'], 'string'], [['spec', 'containers', '0', 'command'], 'array'], [['spec', 'containers', '0', 'command', '0'], 'string'],
  [['spec', 'containers', '0', 'args'], 'array'], [['spec', 'containers', '0', 'workingDir'], 'string'], [['spec', 'containers', '0', 'env'], 'array'],
  [['spec', 'containers', '0', 'env', '0'], 'object'], [['spec', 'containers', '0', 'env', '0', 'name'], 'string'], [['spec', 'containers', '0', 'env', '0', 'value'], 'string'],
  [['spec', 'containers', '0', 'ports'], 'array'], [['spec', 'containers', '0', 'ports', '0'], 'object'], [['spec', 'containers', '0', 'ports', '0', 'containerPort'], 'number'],
];
const OTHER_TYPES: Record<string, unknown[]> = {
  string: [7, true, { x: 1 }, ['a']], object: ['x', 3, false, [1, 2]], array: ['x', 4, { 0: 'a' }, true], boolean: ['yes', 1, {}, []], number: ['1', true, {}, [1]],
};

describeLab('the lab API under bad input', () => {
  const lab = useLab('tfuzz', ['--nodes', '2']);

  test(`seed ${SEED}: every bad request gets a Status or a closed connection; the server lives, leaks nothing, stays bounded, serves a normal client after`, async () => {
    const { kube, kubeconfig, name } = lab();
    const cfg = readFileSync(kubeconfig, 'utf8');
    const t: LabApiTarget = {
      url: /server: (\S+)/.exec(cfg)![1]!,
      ca: Buffer.from(/certificate-authority-data: (\S+)/.exec(cfg)![1]!, 'base64'),
      token: /token: (\S+)/.exec(cfg)![1]!,
    };
    const auth = `Authorization: Bearer ${t.token}\r\n`;
    const r = prng(SEED);
    const pid = (await lab().status()).api.pid!;
    await createRunningPod(kube, podSpec('target', 'node-1', ['sleep', '3600']));
    const netns = async () => String((await execa('ip', ['netns', 'list'])).stdout).split('\n').map((l) => l.split(' ')[0]!).filter((n) => n.startsWith(`pw-${name}-`)).sort();
    const podPids = async () => {
      const ns = (await netns()).filter((n) => /-pod-|target/.test(n));
      return (await Promise.all(ns.map(async (n) => String((await execa('ip', ['netns', 'pids', n])).stdout).split(/\s+/).filter(Boolean)))).flat().sort();
    };
    const namespaces = async () => (await kube.core.listNamespace()).items.map((n) => n.metadata!.name!).sort();
    const pods = async () => (await kube.core.listPodForAllNamespaces()).items.map((p) => `${p.metadata!.namespace}/${p.metadata!.name}`).sort();
    const before = { netns: await netns(), pids: await podPids(), namespaces: await namespaces(), pods: await pods(), rss: rssKiB(pid) };

    // 1. Bad JSON: random bytes, truncations of a valid manifest, deep nesting.
    const valid = JSON.stringify(basePod('fuzz-json'));
    const badJson = [
      ...Array.from({ length: 20 }, () => r.bytes(1 + r.int(300)).toString('latin1')),
      ...Array.from({ length: 20 }, () => valid.slice(0, 1 + r.int(valid.length - 2))),
      '['.repeat(100_000), '{"a":'.repeat(50_000), '{"metadata":{"name":"x"},"spec":{"containers":[{"name":"c","command":["true"]}]}}garbage', 'null', '1e999', '"just a string"',
    ];
    for (const body of badJson) {
      for (const path of ['/api/v1/namespaces/default/pods', '/api/v1/namespaces']) {
        const res = await apiRequest(t, 'POST', path, { body, timeoutMs: 30_000 });
        expect(isStatusError(res), `POST ${path} ${JSON.stringify(body.slice(0, 60))} → ${res.status} ${res.text.slice(0, 200)}`).toBe(true);
        expect(res.status).toBeLessThan(500);
      }
      const patch = await apiRequest(t, 'PATCH', '/api/v1/namespaces/default', { body, headers: { 'Content-Type': r.pick(['application/merge-patch+json', 'application/json-patch+json', 'application/strategic-merge-patch+json']) } });
      expect(isStatusError(patch), `PATCH ${JSON.stringify(body.slice(0, 60))} → ${patch.status} ${patch.text.slice(0, 200)}`).toBe(true);
    }

    // 2. Wrong types: each typed field of a valid pod given a value of another type.
    for (let i = 0; i < 60; i++) {
      const [path, type] = r.pick(TYPED_PATHS);
      const pod = basePod(`fuzz-type-${i}`) as unknown as Record<string, unknown>;
      let o = pod;
      for (const k of path.slice(0, -1)) o = o[k] as Record<string, unknown>;
      o[path.at(-1)!] = r.pick(OTHER_TYPES[type]!);
      const res = await apiRequest(t, 'POST', '/api/v1/namespaces/default/pods', { body: JSON.stringify(pod) });
      expect(isStatusError(res), `${path.join('.')} = ${JSON.stringify(o[path.at(-1)!])} → ${res.status} ${res.text.slice(0, 200)}`).toBe(true);
      expect([400, 422]).toContain(res.status);
    }
    for (const body of [{ metadata: { name: 7 } }, { metadata: { labels: { a: 1 } }, kind: 'Namespace' }, { metadata: { name: 'ok-name', annotations: 'x' } }, { kind: 'Pod', metadata: { name: 'x' } }]) {
      const res = await apiRequest(t, 'POST', '/api/v1/namespaces', { body: JSON.stringify(body) });
      expect(isStatusError(res), `namespace ${JSON.stringify(body)} → ${res.status} ${res.text.slice(0, 200)}`).toBe(true);
    }
    for (const body of [{ metadata: { annotations: { a: 5 } } }, { metadata: { labels: [] } }, { spec: {} }, [{ op: 'move', path: '/metadata/labels/a' }], [{ op: 'add', path: '/spec/x', value: 1 }]]) {
      const type = Array.isArray(body) ? 'application/json-patch+json' : 'application/merge-patch+json';
      const res = await apiRequest(t, 'PATCH', '/api/v1/namespaces/default', { body: JSON.stringify(body), headers: { 'Content-Type': type } });
      expect(isStatusError(res), `PATCH ${JSON.stringify(body)} → ${res.status}`).toBe(true);
    }

    // 3. Huge bodies and headers, long URLs.
    const huge = await apiRequest(t, 'POST', '/api/v1/namespaces/default/pods', { body: `{"x":"${'a'.repeat(8 * 1024 * 1024)}"}`, timeoutMs: 30_000 }).catch(() => undefined);
    if (huge) expect(isStatusError(huge) && huge.status === 413, `huge body → ${huge.status}`).toBe(true);
    expectStatusOrClosed(await raw(t, `POST /api/v1/namespaces HTTP/1.1\r\nHost: lab\r\n${auth}Content-Type: application/json\r\nContent-Length: 999999999\r\n\r\n{`), 'a declared 1 GB body');
    expectStatusOrClosed(await raw(t, `GET /api/v1/nodes HTTP/1.1\r\nHost: lab\r\n${auth}X-Big: ${'h'.repeat(200_000)}\r\n\r\n`), 'a 200 KB header');
    expectStatusOrClosed(await raw(t, `GET /api/v1/nodes HTTP/1.1\r\nHost: lab\r\n${auth}${Array.from({ length: 3000 }, (_, i) => `X-H${i}: v\r\n`).join('')}\r\n`), '3000 headers');
    expectStatusOrClosed(await raw(t, `GET /api/v1/${'x'.repeat(100_000)} HTTP/1.1\r\nHost: lab\r\n${auth}\r\n`), 'a 100 KB URL');
    const longQuery = await apiRequest(t, 'GET', `/api/v1/pods?labelSelector=${'a'.repeat(10_000)}%20in%20(${'b,'.repeat(1000)}c)`);
    expect(longQuery.status === 200 || isStatusError(longQuery)).toBe(true);

    // 4. Unknown paths and verbs, odd query values.
    const segs = ['api', 'v1', 'apis', 'namespaces', 'default', 'pods', 'nodes', 'target', 'exec', 'log', 'status', '..', '%00', '%ff', 'x'.repeat(300), '', '?', '%2F'];
    for (let i = 0; i < 80; i++) {
      const path = '/' + Array.from({ length: 1 + r.int(7) }, () => r.pick(segs)).join('/');
      const method = r.pick(['GET', 'PUT', 'PATCH', 'POST', 'DELETE', 'OPTIONS', 'HEAD', 'PROPFIND', 'TRACE', 'MKCOL']);
      const res = await apiRequest(t, method, path, { body: method === 'GET' || method === 'HEAD' ? undefined : '{}' }).catch((e: Error) => ({ status: -1, text: e.message, headers: {}, json: undefined }));
      if (res.status === -1) continue; // a closed connection is an answer too
      if (res.status < 400) continue; // a well-formed request may exist (GET /api/v1/nodes)
      if (method !== 'HEAD') expect(isStatusError(res), `${method} ${path} → ${res.status} ${res.text.slice(0, 200)}`).toBe(true);
    }
    for (const q of ['limit=-1', 'limit=abc', 'continue=%%%', 'continue=bm9wZQ', 'watch=1&resourceVersion=abc', 'watch=1&timeoutSeconds=1e12&resourceVersion=999999999', 'fieldSelector=%3D%3D%3D', 'labelSelector=!!!', 'gracePeriodSeconds=abc']) {
      const res = await apiRequest(t, q.startsWith('grace') ? 'DELETE' : 'GET', `/api/v1/namespaces/default/pods${q.startsWith('grace') ? '/nothere' : ''}?${q}`, { timeoutMs: 10_000 }).catch(() => undefined);
      if (res && res.status >= 400) expect(isStatusError(res), `?${q} → ${res.status} ${res.text.slice(0, 200)}`).toBe(true);
    }

    // 5. Half-closed and stalled connections.
    const halves = ['', 'GET', 'GET /api/v1/nodes HTTP/1.1\r\n', `POST /api/v1/namespaces HTTP/1.1\r\nHost: lab\r\n${auth}Content-Length: 100\r\n\r\n{"meta`, 'GARBAGE\r\n\r\n', r.bytes(500)];
    for (const h of halves) expectStatusOrClosed(await raw(t, h, { halfClose: true }), `half-closed after ${JSON.stringify(String(h).slice(0, 40))}`);
    // A whole request, then half-closed: answered as usual.
    const whole = await raw(t, `GET /api/v1/nodes HTTP/1.1\r\nHost: lab\r\n${auth}\r\n`, { halfClose: true });
    expect(whole).toMatchObject({ closed: false, status: 200 });
    // Stalled (not closed): the server gives up on a request that never completes.
    expectStatusOrClosed(await raw(t, `POST /api/v1/namespaces HTTP/1.1\r\nHost: lab\r\n${auth}Content-Length: 10\r\n\r\n{`, { waitMs: 60_000 }), 'a stalled body');

    // 6. Broken WebSocket frames and channels on exec (`cat` ends when its stdin does, so nothing should linger).
    const execUrl = `${t.url.replace('https', 'wss')}/api/v1/namespaces/default/pods/target/exec?command=cat&stdin=true&stdout=true&stderr=true`;
    const wsCase = (send: (ws: WebSocket) => void) => new Promise<string>((resolve) => {
      const ws = new WebSocket(execUrl, ['v5.channel.k8s.io'], { ca: t.ca, headers: { Authorization: `Bearer ${t.token}` }, maxPayload: 64 * 1024 * 1024 });
      const timer = setTimeout(() => {
        ws.terminate();
        resolve('timeout');
      }, 15_000);
      ws.on('open', () => {
        try {
          send(ws);
        } catch {
          /* a frame the client library refuses is not a server's problem */
        }
        setTimeout(() => ws.close(), 300);
      });
      ws.on('error', () => undefined);
      ws.on('close', (code) => {
        clearTimeout(timer);
        resolve(`closed ${code}`);
      });
    });
    const frames: ((ws: WebSocket) => void)[] = [
      (ws) => ws.send(Buffer.alloc(0)),
      (ws) => ws.send(Buffer.from([200, 1, 2, 3])),
      (ws) => ws.send(Buffer.from([255])),
      (ws) => ws.send(Buffer.from([255, 9])),
      (ws) => ws.send(Buffer.from([4, ...Buffer.from('{"Width": "x"}')])),
      (ws) => ws.send(Buffer.from([3, ...Buffer.from('not a status')])),
      (ws) => ws.send('\u0000text frame on stdin'),
      (ws) => ws.send(Buffer.concat([Buffer.from([0]), Buffer.alloc(8 * 1024 * 1024, 97)])),
      (ws) => ws.send(r.bytes(2000)),
      (ws) => (ws as unknown as { _socket: import('node:net').Socket })._socket.write(r.bytes(64)), // not a frame at all
      (ws) => (ws as unknown as { _socket: import('node:net').Socket })._socket.write(Buffer.from([0x82, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])), // a frame claiming 2^64 bytes
      (ws) => (ws as unknown as { _socket: import('node:net').Socket })._socket.end(Buffer.from([0x82, 0x85, 1, 2])), // a half frame, then half-closed
      (ws) => ws.ping(r.bytes(100)),
    ];
    for (let i = 0; i < frames.length * 2; i++) {
      const outcome = await wsCase(frames[i % frames.length]!);
      expect(outcome, `exec frame case ${i % frames.length}`).toMatch(/^closed /);
    }
    for (const bad of [
      `${execUrl.replace('command=cat', 'command=cat&tty=true')}`,
      `${execUrl.replace('/target/', '/ghost/')}`,
      execUrl.replace('command=cat&', ''),
    ]) {
      const code = await new Promise<number>((resolve) => {
        const ws = new WebSocket(bad, ['v5.channel.k8s.io'], { ca: t.ca, headers: { Authorization: `Bearer ${t.token}` } });
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('error', () => resolve(-1));
        ws.on('open', () => resolve(101));
      });
      expect([400, 404]).toContain(code);
    }

    // 7. 200 concurrent requests, good and bad, all answered.
    const mixed = await Promise.all(Array.from({ length: 200 }, (_, i) => {
      const k = i % 4;
      if (k === 0) return apiRequest(t, 'GET', '/api/v1/pods', { timeoutMs: 60_000 });
      if (k === 1) return apiRequest(t, 'GET', '/api/v1/nodes', { timeoutMs: 60_000 });
      if (k === 2) return apiRequest(t, 'POST', '/api/v1/namespaces/default/pods', { body: '{"kind":"Pod"', timeoutMs: 60_000 });
      return apiRequest(t, 'GET', `/api/v1/namespaces/nowhere-${i}/pods`, { timeoutMs: 60_000 });
    }));
    mixed.forEach((res, i) => {
      if (i % 4 < 2) expect(res.status).toBe(200);
      else expect(isStatusError(res), `${i}: ${res.status}`).toBe(true);
    });

    // The server is alive and leaked nothing; a normal client works.
    expect(pidAlive(pid)).toBe(true);
    expect((await apiRequest(t, 'GET', '/healthz')).status).toBe(200);
    const echo = await execInPod(kube.kc, { namespace: 'default', pod: 'target' }, ['sh', '-c', 'echo ok'], { timeoutMs: 30_000 });
    expect(echo).toMatchObject({ exitCode: 0 });
    expect(echo.stdout.toString()).toBe('ok\n');
    expect(await namespaces()).toEqual(before.namespaces);
    expect(await pods()).toEqual(before.pods);
    expect(await netns()).toEqual(before.netns);
    // Exec'd processes end with their stdin; allow the last ones a moment to go.
    for (let i = 0; i < 50 && (await podPids()).length !== before.pids.length; i++) await new Promise((res) => setTimeout(res, 100));
    expect(await podPids()).toEqual(before.pids);
    const grown = rssKiB(pid) - before.rss;
    if (process.env.PODWIRE_FUZZ_VERBOSE) console.log(`seed ${SEED}: server RSS ${before.rss} KiB before, ${rssKiB(pid)} KiB after`);
    expect(grown, `RSS grew by ${grown} KiB (from ${before.rss} KiB)`).toBeLessThan(48 * 1024);
  });
});
