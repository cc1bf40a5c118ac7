// The lab's HTTPS Kubernetes API: routing, bearer-token auth, JSON and Table
// responses, Status errors, pods/log and the pods/exec WebSocket upgrade.
// Every request error becomes a Status; nothing a client sends crashes it.
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { KUBE_VERSION, type Cluster, type PodEvent } from './cluster.js';
import { bridgeExec, pickProtocol } from './exec-stream.js';
import { listOf, type KubeObject, type Pod } from './objects.js';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from './selectors.js';
import { ApiError, errors } from './status.js';
import { createRbac } from './rbac.js';
import { toTable, wantsTable } from './tables.js';
import type { LabRuntime } from '../runtime.js';

const MAX_BODY = 3 * 1024 * 1024;
const MAX_FRAME = 4 * 1024 * 1024;
const HEADERS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 15_000;
const POD_FIELDS = ['metadata.name', 'metadata.namespace', 'spec.nodeName', 'status.phase', 'status.podIP', 'spec.restartPolicy'];

export interface ApiServerOptions {
  cluster: Cluster;
  runtime: LabRuntime;
  token: string;
  /** Where `lab kubeconfig --role` keeps the tokens it minted (absent: the admin token only). */
  tokensDir?: string;
  key: Buffer;
  cert: Buffer;
  log: (line: string) => void;
}

type Reply = { code: number; body: unknown } | { stream: true };

interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  method: string;
  parts: string[];
}

const API_RESOURCES = {
  kind: 'APIResourceList',
  apiVersion: 'v1',
  groupVersion: 'v1',
  resources: [
    { name: 'namespaces', singularName: 'namespace', namespaced: false, kind: 'Namespace', verbs: ['create', 'delete', 'get', 'list', 'patch'], shortNames: ['ns'] },
    { name: 'nodes', singularName: 'node', namespaced: false, kind: 'Node', verbs: ['get', 'list'], shortNames: ['no'] },
    { name: 'pods', singularName: 'pod', namespaced: true, kind: 'Pod', verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'watch'], shortNames: ['po'], categories: ['all'] },
    { name: 'pods/exec', singularName: '', namespaced: true, kind: 'PodExecOptions', verbs: ['create', 'get'] },
    { name: 'pods/log', singularName: '', namespaced: true, kind: 'Pod', verbs: ['get'] },
    { name: 'pods/status', singularName: '', namespaced: true, kind: 'Pod', verbs: ['get'] },
  ],
};

/** A v1 API group's discovery documents (its entry in /apis and its resource list), for a group serving one cluster-scoped create-only resource. */
function groupDiscovery(group: string, resource: { name: string; singularName: string; kind: string }) {
  const gv = { groupVersion: `${group}/v1`, version: 'v1' };
  return {
    group: { name: group, versions: [gv], preferredVersion: gv },
    resources: { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: gv.groupVersion, resources: [{ ...resource, namespaced: false, verbs: ['create'] }] },
  };
}

const AUTHORIZATION = groupDiscovery('authorization.k8s.io', { name: 'selfsubjectaccessreviews', singularName: 'selfsubjectaccessreview', kind: 'SelfSubjectAccessReview' });
const AUTHENTICATION = groupDiscovery('authentication.k8s.io', { name: 'selfsubjectreviews', singularName: 'selfsubjectreview', kind: 'SelfSubjectReview' });

export function createApiServer(opts: ApiServerOptions): Server {
  const { cluster, token } = opts;
  // Exec frames carry stdin: a frame larger than MAX_FRAME closes the stream (1009) rather than being buffered whole (ws allows 100 MiB).
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME, handleProtocols: (protocols) => pickProtocol([...protocols].join(',')) ?? false });
  // Every request is authenticated (the admin token, or a minted one) and authorized against its RBAC rules before it is routed.
  const rbac = createRbac({ adminToken: token, ...(opts.tokensDir ? { tokensDir: opts.tokensDir } : {}), log: opts.log });

  const server = createServer({
    key: opts.key, cert: opts.cert,
    // A client that sends headers or a body slower than this is cut off (Node's defaults hold a socket for 60 s / 300 s).
    headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS, connectionsCheckingInterval: 1_000,
  }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://lab');
    const ctx: Ctx = { req, res, url, method: req.method ?? 'GET', parts: url.pathname.split('/').filter(Boolean) };
    handle(ctx)
      .then((reply) => {
        if ('stream' in reply) return;
        send(res, reply.code, reply.body);
      })
      .catch((err: unknown) => {
        const apiErr = err instanceof ApiError ? err : errors.internal(err instanceof Error ? err.message : String(err));
        if (!(err instanceof ApiError)) opts.log(`internal error on ${ctx.method} ${req.url}: ${(err as Error)?.stack ?? err}`);
        // A body left unread would be parsed as the next request on a kept-alive connection.
        if (!req.complete && !res.headersSent) res.setHeader('Connection', 'close');
        if (!res.headersSent) send(res, apiErr.code, apiErr.toStatus());
        else res.destroy();
      });
  });

  // Requests Node's parser refuses (bad syntax, headers over 16 KB, a timeout) get a Status too, and the connection closes.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    const e = err.code === 'HPE_HEADER_OVERFLOW' ? new ApiError(431, 'RequestHeaderFieldsTooLarge', 'request header fields too large')
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? new ApiError(408, 'Timeout', 'the request was not received in time')
        : errors.badRequest(`malformed HTTP request (${err.code ?? err.message})`);
    const body = JSON.stringify(e.toStatus());
    socket.end(`HTTP/1.1 ${e.code} ${e.reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    setTimeout(() => socket.destroy(), 1_000).unref();
  });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined);
    const reject = (e: ApiError) => {
      const body = JSON.stringify(e.toStatus());
      socket.end(`HTTP/1.1 ${e.code} ${e.reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    };
    try {
      const who = rbac.authenticate(req.headers.authorization);
      if (!who) throw errors.unauthorized();
      const url = new URL(req.url ?? '/', 'https://lab');
      rbac.authorize(who, 'GET', url);
      const p = url.pathname.split('/').filter(Boolean);
      // /api/v1/namespaces/{ns}/pods/{name}/exec
      if (!(p.length === 7 && p[0] === 'api' && p[1] === 'v1' && p[2] === 'namespaces' && p[4] === 'pods' && p[6] === 'exec')) {
        throw errors.noRoute();
      }
      if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
        throw errors.badRequest(`the podwire lab serves exec over WebSocket only, not ${req.headers.upgrade ?? 'a plain request'} (kubectl >= 1.30 uses WebSocket)`);
      }
      const protocol = pickProtocol(req.headers['sec-websocket-protocol']);
      if (!protocol) throw errors.badRequest('exec needs one of the WebSocket subprotocols v5.channel.k8s.io, v4.channel.k8s.io');
      const command = url.searchParams.getAll('command');
      if (command.length === 0) throw errors.badRequest('you must specify at least 1 command');
      if (flag(url, 'tty')) throw errors.badRequest('tty is not supported by the podwire lab');
      const target = cluster.execTarget(p[3]!, p[5]!, url.searchParams.get('container'));
      wss.handleUpgrade(req, socket, head, (ws) => {
        const child = opts.runtime.spawnIn(target.sandbox, { argv: command, env: target.env, cwd: target.spec.workingDir }, { stdin: flag(url, 'stdin') });
        cluster.trackExec(target.rec, child);
        bridgeExec(ws, protocol, child, { stdout: flag(url, 'stdout'), stderr: flag(url, 'stderr') });
        opts.log(`exec ${p[3]}/${p[5]} ${JSON.stringify(command)} pid=${child.pid} protocol=${protocol}`);
      });
    } catch (err) {
      reject(err instanceof ApiError ? err : errors.internal(String(err)));
    }
  });

  async function handle(ctx: Ctx): Promise<Reply> {
    const { parts, method, req } = ctx;
    const path = '/' + parts.join('/');
    // Public, as on a real API server.
    if (method === 'GET' && ['/healthz', '/livez', '/readyz'].includes(path)) {
      ctx.res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
      return { stream: true };
    }
    if (method === 'GET' && path === '/version') {
      return { code: 200, body: { ...KUBE_VERSION, platform: `linux/${process.arch === 'x64' ? 'amd64' : process.arch}`, goVersion: 'n/a', compiler: 'podwire', buildDate: cluster.lab.createdAt } };
    }
    const who = rbac.authenticate(req.headers.authorization);
    if (!who) throw errors.unauthorized();
    rbac.authorize(who, method, ctx.url);
    if (method === 'POST' && path === '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews') return { code: 201, body: rbac.review(who, await readBody(req)) };
    if (method === 'POST' && path === '/apis/authentication.k8s.io/v1/selfsubjectreviews') return { code: 201, body: rbac.whoAmI(who) };
    if (method === 'GET' && path === '/api') {
      const port = (req.socket.localPort ?? 0).toString();
      return { code: 200, body: { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: `127.0.0.1:${port}` }] } };
    }
    if (method === 'GET' && path === '/apis') return { code: 200, body: { kind: 'APIGroupList', apiVersion: 'v1', groups: [AUTHORIZATION.group, AUTHENTICATION.group] } };
    if (method === 'GET' && path === '/apis/authorization.k8s.io/v1') return { code: 200, body: AUTHORIZATION.resources };
    if (method === 'GET' && path === '/apis/authentication.k8s.io/v1') return { code: 200, body: AUTHENTICATION.resources };
    if (method === 'GET' && path === '/api/v1') return { code: 200, body: API_RESOURCES };
    if (parts[0] !== 'api' || parts[1] !== 'v1') throw errors.noRoute();
    const rest = parts.slice(2);
    if (flag(ctx.url, 'watch')) {
      if (method === 'GET' && rest.length === 1 && rest[0] === 'pods') return watchPods(ctx);
      if (method === 'GET' && rest.length === 3 && rest[0] === 'namespaces' && rest[2] === 'pods') return watchPods(ctx, rest[1]);
      throw errors.badRequest('the podwire lab can watch pods only; poll other resources with list');
    }
    const [r0, r1, r2, r3, r4] = rest;
    // cluster-scoped
    if (r0 === 'nodes') {
      if (method !== 'GET') throw errors.methodNotAllowed(method);
      if (rest.length === 1) return render(ctx, 'Node', byLabels(ctx, cluster.nodes), true);
      if (rest.length === 2) return render(ctx, 'Node', [cluster.getNode(r1!)], false);
      throw errors.noRoute();
    }
    if (r0 === 'pods' && rest.length === 1) {
      if (method !== 'GET') throw errors.methodNotAllowed(method);
      return render(ctx, 'Pod', selectPods(ctx, cluster.listPods()), true);
    }
    if (r0 === 'namespaces') {
      if (rest.length === 1) {
        if (method === 'GET') return render(ctx, 'Namespace', byLabels(ctx, cluster.listNamespaces()), true);
        if (method === 'POST') return { code: 201, body: cluster.createNamespace(await readBody(req)) };
        throw errors.methodNotAllowed(method);
      }
      const ns = r1!;
      if (rest.length === 2) {
        if (method === 'GET') return render(ctx, 'Namespace', [cluster.getNamespace(ns)], false);
        if (method === 'DELETE') return { code: 200, body: cluster.deleteNamespace(ns) };
        if (method === 'PATCH') return { code: 200, body: cluster.patchNamespace(ns, await readBody(req), req.headers['content-type'] ?? '') };
        throw errors.methodNotAllowed(method);
      }
      if (r2 !== 'pods') throw errors.noRoute();
      if (rest.length === 3) {
        if (method === 'GET') {
          cluster.getNamespace(ns);
          return render(ctx, 'Pod', selectPods(ctx, cluster.listPods(ns)), true);
        }
        if (method === 'POST') return { code: 201, body: cluster.createPod(ns, await readBody(req)) };
        if (method === 'DELETE') {
          const pods = selectPods(ctx, cluster.listPods(ns));
          await Promise.all(pods.map((p) => cluster.deletePod(ns, p.metadata.name, graceSeconds(ctx.url))));
          return { code: 200, body: listOf('Pod', pods, cluster.resourceVersion()) };
        }
        throw errors.methodNotAllowed(method);
      }
      const name = r3!;
      if (rest.length === 4) {
        if (method === 'GET') return render(ctx, 'Pod', [cluster.getPod(ns, name)], false);
        if (method === 'DELETE') {
          const body = await readBody(req, true) as { gracePeriodSeconds?: number } | undefined;
          return { code: 200, body: await cluster.deletePod(ns, name, body?.gracePeriodSeconds ?? graceSeconds(ctx.url)) };
        }
        throw errors.methodNotAllowed(method);
      }
      if (rest.length === 5 && r4 === 'status' && method === 'GET') return { code: 200, body: cluster.getPod(ns, name) };
      if (rest.length === 5 && r4 === 'log' && method === 'GET') return streamLog(ctx, cluster.logFile(ns, name, ctx.url.searchParams.get('container')));
      if (rest.length === 5 && r4 === 'exec') {
        cluster.getPod(ns, name);
        throw errors.badRequest('Upgrade request required: exec needs a WebSocket connection');
      }
    }
    throw errors.noRoute();
  }

  function byLabels<T extends KubeObject>(ctx: Ctx, items: T[]): T[] {
    const labels = parseLabelSelector(ctx.url.searchParams.get('labelSelector'));
    return items.filter((o) => matchesLabels(labels, o.metadata.labels));
  }

  function selectPods(ctx: Ctx, pods: Pod[]): Pod[] {
    const fields = parseFieldSelector(ctx.url.searchParams.get('fieldSelector'), POD_FIELDS, 'Pod');
    return byLabels(ctx, pods).filter((p) => matchesFields(fields, (f) => podField(p, f)));
  }

  function render(ctx: Ctx, kind: KubeObject['kind'], items: KubeObject[], list: boolean): Reply {
    const rv = cluster.resourceVersion();
    if (wantsTable(ctx.req.headers.accept)) return { code: 200, body: toTable(kind, items, rv, ctx.url.searchParams.get('includeObject')) };
    if (!list) return { code: 200, body: items[0] };
    // Chunked lists (limit / continue): the token is the offset of the next page (the lab keeps no snapshots; a list is stably ordered).
    const limit = Number(ctx.url.searchParams.get('limit') ?? 0);
    const token = ctx.url.searchParams.get('continue');
    const from = token ? Number(Buffer.from(token, 'base64url').toString()) : 0;
    if (!Number.isInteger(from) || from < 0) throw errors.badRequest(`continue token ${JSON.stringify(token)} is not valid`);
    if (!(Number.isInteger(limit) && limit > 0) && from === 0) return { code: 200, body: listOf(kind, items, rv) };
    const page = limit > 0 ? items.slice(from, from + limit) : items.slice(from);
    const next = limit > 0 && from + limit < items.length ? Buffer.from(String(from + limit)).toString('base64url') : undefined;
    const body = listOf(kind, page, rv);
    return { code: 200, body: next ? { ...body, metadata: { ...body.metadata, continue: next, remainingItemCount: items.length - from - limit } } : body };
  }

  /**
   * A pod watch, as a real API server streams it: one JSON event per line.
   * Without a resourceVersion (or "0") it starts with an ADDED event for every
   * pod that matches; with one, it sends what changed after it. It ends after
   * `timeoutSeconds` or when the client goes.
   */
  function watchPods(ctx: Ctx, namespace?: string): Reply {
    if (namespace !== undefined) cluster.getNamespace(namespace);
    const fields = parseFieldSelector(ctx.url.searchParams.get('fieldSelector'), POD_FIELDS, 'Pod');
    const labels = parseLabelSelector(ctx.url.searchParams.get('labelSelector'));
    const matches = (p: Pod) => (namespace === undefined || p.metadata.namespace === namespace)
      && matchesLabels(labels, p.metadata.labels) && matchesFields(fields, (f) => podField(p, f));
    const from = ctx.url.searchParams.get('resourceVersion');
    const start = from && from !== '0' ? Number(from) : undefined;
    if (start !== undefined && !Number.isInteger(start)) throw errors.badRequest(`resourceVersion ${JSON.stringify(from)} is not valid`);
    const backlog = start === undefined
      ? cluster.listPods(namespace).filter(matches).map((object) => ({ type: 'ADDED' as const, object }))
      : cluster.podEventsSince(start)?.filter((e) => matches(e.object));
    const { res } = ctx;
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders(); // a watch with nothing to say yet is still a started watch
    // Table clients (kubectl get -w) get each event's object as a one-row table, as from a real API server.
    const table = wantsTable(ctx.req.headers.accept);
    const shape = (o: unknown) => (table && (o as Pod).kind === 'Pod' ? toTable('Pod', [o as Pod], (o as Pod).metadata.resourceVersion ?? '', ctx.url.searchParams.get('includeObject')) : o);
    const write = (e: { type: string; object: unknown }) => res.write(JSON.stringify({ type: e.type, object: shape(e.object) }) + '\n');
    if (!backlog) {
      write({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Expired', code: 410, message: `too old resource version: ${start} (${cluster.resourceVersion()})` } });
      res.end();
      return { stream: true };
    }
    for (const e of backlog) write(e);
    const onEvent = (e: PodEvent) => {
      if (matches(e.object)) write(e);
    };
    cluster.podEvents.on('pod', onEvent);
    const timeout = Number(ctx.url.searchParams.get('timeoutSeconds') ?? NaN);
    const timer = Number.isFinite(timeout) && timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : undefined;
    const stop = () => {
      clearTimeout(timer);
      cluster.podEvents.off('pod', onEvent);
    };
    res.on('close', stop);
    ctx.req.on('close', stop);
    return { stream: true };
  }

  async function streamLog(ctx: Ctx, file: string): Promise<Reply> {
    const tail = Number(ctx.url.searchParams.get('tailLines') ?? NaN);
    const size = await stat(file).then((s) => s.size, () => 0);
    ctx.res.writeHead(200, { 'Content-Type': 'text/plain' });
    if (size === 0) {
      ctx.res.end();
      return { stream: true };
    }
    if (Number.isInteger(tail) && tail >= 0) {
      const lines = (await readFile(file, 'utf8')).split('\n');
      if (lines.at(-1) === '') lines.pop();
      ctx.res.end(lines.slice(Math.max(0, lines.length - tail)).map((l) => l + '\n').join(''));
      return { stream: true };
    }
    createReadStream(file, { end: size - 1 }).pipe(ctx.res);
    return { stream: true };
  }

  return server;
}

function podField(p: Pod, f: string): string | undefined {
  switch (f) {
    case 'metadata.name':
      return p.metadata.name;
    case 'metadata.namespace':
      return p.metadata.namespace;
    case 'spec.nodeName':
      return p.spec.nodeName;
    case 'status.phase':
      return p.status.phase;
    case 'status.podIP':
      return p.status.podIP;
    case 'spec.restartPolicy':
      return p.spec.restartPolicy;
  }
  return undefined;
}

/** Query booleans as the API server parses them (Go's strconv.ParseBool). */
export function flag(url: URL, name: string): boolean {
  return ['1', 't', 'T', 'true', 'TRUE', 'True'].includes(url.searchParams.get(name) ?? '');
}

function graceSeconds(url: URL): number | undefined {
  const v = url.searchParams.get('gracePeriodSeconds');
  return v === null ? undefined : Number(v);
}

function send(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage, optional = false): Promise<unknown> {
  // A body declared too large is refused before a byte of it is read (the connection then closes: see the request handler).
  if (Number(req.headers['content-length'] ?? 0) > MAX_BODY) throw errors.tooLarge(MAX_BODY);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_BODY) throw errors.tooLarge(MAX_BODY);
    chunks.push(c);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text.trim()) {
    if (optional) return undefined;
    throw errors.badRequest('request body is empty');
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw errors.badRequest(`the request body is not valid JSON: ${(err as Error).message}`);
  }
}
