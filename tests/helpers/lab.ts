// Lab fixtures for tests: a real lab started through the built CLI (as a user
// would), torn down afterwards. Lab tests need root; without it they fail
// loudly unless PODWIRE_SKIP_LAB_TESTS=1 opts out explicitly.
import { execa, type Result } from 'execa';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe } from 'vitest';
import type { V1Pod } from '@kubernetes/client-node';
import { loadKube, type Kube } from '../../src/kube/client.js';
import { execInPod, type ExecResult } from '../../src/kube/exec.js';
import type { LabStatus } from '../../src/lab/status.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = `${ROOT}dist/src/cli/main.js`;

export const skipLab = process.env.PODWIRE_SKIP_LAB_TESTS === '1';

/** describe() for lab tests: runs them, or skips only on the explicit opt-out. */
export const describeLab: typeof describe = ((name: string, fn: () => void) =>
  skipLab ? describe.skip(name, fn) : describe(name, fn)) as typeof describe;

export function assertCanRunLab(): void {
  if (process.getuid?.() !== 0) {
    throw new Error('lab tests need root (network namespaces); run as root or set PODWIRE_SKIP_LAB_TESTS=1 to skip them');
  }
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build first (npm test builds before it runs vitest)`);
}

export function cli(args: string[], opts: { reject?: boolean; timeoutMs?: number } = {}): Promise<Result> {
  return execa(process.execPath, [CLI, ...args], { reject: opts.reject ?? true, timeout: opts.timeoutMs ?? 120_000, all: false });
}

export interface TestLab {
  name: string;
  kubeconfig: string;
  kube: Kube;
  status(): Promise<LabStatus>;
}

/**
 * The real lab name for a test's `name`: PODWIRE_TEST_LAB_TAG (one letter) replaces its first letter, so
 * test runs in two checkouts on one machine do not share labs. Tests name labs through this (or `TestLab.name`).
 */
export function labName(name: string): string {
  const tag = process.env.PODWIRE_TEST_LAB_TAG;
  if (!tag) return name;
  if (!/^[a-z]$/.test(tag)) throw new Error(`PODWIRE_TEST_LAB_TAG must be one lowercase letter, got ${JSON.stringify(tag)}`);
  return tag + name.slice(1);
}

export async function startLab(testName: string, args: string[] = []): Promise<TestLab> {
  assertCanRunLab();
  const name = labName(testName);
  await cli(['lab', 'down', '--name', name]); // leftovers of an aborted earlier run
  await cli(['lab', 'up', '--name', name, ...args]);
  const kubeconfig = `/run/podwire/${name}/kubeconfig`;
  return {
    name,
    kubeconfig,
    kube: loadKube({ kubeconfig }),
    status: async () => JSON.parse(String((await cli(['lab', 'status', '--name', name, '--json'])).stdout)) as LabStatus,
  };
}

/** A lab for the enclosing describe block. */
export function useLab(testName: string, args: string[] = []): () => TestLab {
  let lab: TestLab | undefined;
  const name = labName(testName);
  beforeAll(async () => {
    lab = await startLab(testName, args);
  });
  afterAll(async () => {
    await cli(['lab', 'down', '--name', name], { reject: false });
  });
  return () => {
    if (!lab) throw new Error(`lab ${name} did not start`);
    return lab;
  };
}

export function podSpec(name: string, node: string, command: string[], extra: Partial<V1Pod['spec']> = {}): V1Pod {
  return {
    metadata: { name, labels: { test: 'podwire' } },
    spec: { nodeName: node, containers: [{ name: 'main', image: 'podwire/probe', command }], ...extra },
  };
}

export async function createRunningPod(kube: Kube, pod: V1Pod, namespace = 'default', timeoutMs = 20_000): Promise<V1Pod> {
  await kube.core.createNamespacedPod({ namespace, body: pod });
  const name = pod.metadata!.name!;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const p = await kube.core.readNamespacedPod({ name, namespace });
    if (p.status?.phase === 'Running' && p.status.podIP) return p;
    if (Date.now() > deadline) throw new Error(`pod ${name} not Running after ${timeoutMs} ms: ${JSON.stringify(p.status)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function sh(kube: Kube, pod: string, script: string, namespace = 'default'): Promise<ExecResult> {
  return execInPod(kube.kc, { namespace, pod }, ['sh', '-c', script], { timeoutMs: 60_000 });
}

/**
 * Starts `tcpdump -c 1` in a pod and resolves `ready` once it is listening;
 * `done` gives the decoded line of the first matching packet.
 */
export function captureOne(kube: Kube, pod: string, iface: string, filter: string, namespace = 'default') {
  let ready!: () => void;
  const listening = new Promise<void>((r) => (ready = r));
  let seen = '';
  const done = execInPod(kube.kc, { namespace, pod }, ['timeout', '15', 'tcpdump', '-i', iface, '-nn', '-l', '-c', '1', filter], {
    timeoutMs: 30_000,
    onOutput: (stream, chunk) => {
      if (stream !== 'stderr') return;
      seen += chunk.toString();
      if (seen.includes('listening on')) ready();
    },
  });
  done.then(ready, ready);
  return { listening, done };
}

/**
 * Starts `tcpdump -c 1` in a lab netns (the host's side: a node, the fabric,
 * the internet host) and resolves `listening` once it listens; `done` gives
 * what it printed for the first matching packet (`ethernet`: with link-level
 * headers, tcpdump -e), or nothing after `timeoutS`.
 */
export function captureInNetns(netns: string, iface: string, filter: string, opts: { timeoutS?: number; ethernet?: boolean } = {}) {
  const p = execa('ip', ['netns', 'exec', netns, 'timeout', String(opts.timeoutS ?? 15), 'tcpdump', '-i', iface, ...(opts.ethernet ? ['-e'] : []), '-nn', '-l', '-c', '1', filter], { reject: false });
  const listening = new Promise<void>((resolve) => {
    let err = '';
    p.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('listening on')) resolve();
    });
    void p.finally(resolve);
  });
  return { listening, done: p.then((r) => String(r.stdout)) };
}

/** `IP a.b.c.d.port > e.f.g.h.port:` → addresses of the first packet tcpdump printed. */
export function parseTcpdumpLine(out: string): { src: string; dst: string } | undefined {
  const m = /IP (\d+\.\d+\.\d+\.\d+)(?:\.\d+)? > (\d+\.\d+\.\d+\.\d+)(?:\.\d+)?:/.exec(out);
  return m ? { src: m[1]!, dst: m[2]! } : undefined;
}
