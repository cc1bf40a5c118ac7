// Acceptance 1: real Kubernetes clients work against the lab unchanged.
import { execa } from 'execa';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { describeLab, useLab } from '../helpers/lab.js';

const POD_YAML = `apiVersion: v1
kind: Pod
metadata:
  name: kubectl-pod
  labels: {app: kubectl-test}
spec:
  nodeName: node-2
  containers:
  - name: main
    image: podwire/probe
    command: ["sleep", "3600"]
`;

const PY_EXEC = `
import sys
from kubernetes import client, config
from kubernetes.stream import stream
config.load_kube_config(config_file=sys.argv[1])
api = client.CoreV1Api()
out = stream(api.connect_get_namespaced_pod_exec, sys.argv[2], 'default',
             command=['sh', '-c', 'ip -4 -o addr show eth0; echo from-python-exec'],
             stderr=True, stdin=False, stdout=True, tty=False)
sys.stdout.write(out)
`;

describeLab('real clients against the lab', () => {
  const lab = useLab('tclients', ['--nodes', '3']);
  const dir = mkdtempSync(join(tmpdir(), 'podwire-clients-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const kubectl = (args: string[], reject = true) =>
    execa('kubectl', ['--kubeconfig', lab().kubeconfig, ...args], { reject, timeout: 60_000 });

  test('kubectl get nodes -o wide lists every node Ready with its InternalIP', async () => {
    const { stdout } = await kubectl(['get', 'nodes', '-o', 'wide']);
    const rows = stdout.trim().split('\n');
    expect(rows[0]).toMatch(/^NAME\s+STATUS.*INTERNAL-IP/);
    expect(rows.slice(1).map((r) => r.split(/\s+/).slice(0, 2))).toEqual([
      ['node-1', 'Ready'], ['node-2', 'Ready'], ['node-3', 'Ready'],
    ]);
    for (const [i, row] of rows.slice(1).entries()) expect(row).toContain(`172.18.0.${11 + i}`);
  });

  test('kubectl annotate, label and patch (merge, strategic merge, JSON patch) change a namespace; other fields are refused', async () => {
    await lab().kube.core.createNamespace({ body: { metadata: { name: 'patchme' } } }); // kubectl would send it as protobuf, which the lab does not read
    try {
      await kubectl(['annotate', 'namespace', 'patchme', 'podwire.dev/heartbeat=2026-01-01T00:00:00Z', 'x=1']);
      await kubectl(['label', 'namespace', 'patchme', 'team=net']);
      await kubectl(['annotate', 'namespace', 'patchme', 'x-']);
      await kubectl(['patch', 'namespace', 'patchme', '-p', '{"metadata":{"labels":{"tier":"a"}}}']); // strategic merge, kubectl's default
      await kubectl(['patch', 'namespace', 'patchme', '--type=json', '-p', '[{"op":"remove","path":"/metadata/labels/team"}]']);
      const ns = JSON.parse((await kubectl(['get', 'namespace', 'patchme', '-o', 'json'])).stdout) as { metadata: { labels: Record<string, string>; annotations?: Record<string, string> } };
      expect(ns.metadata.labels).toEqual({ 'kubernetes.io/metadata.name': 'patchme', tier: 'a' });
      expect(ns.metadata.annotations).toEqual({ 'podwire.dev/heartbeat': '2026-01-01T00:00:00Z' });
      const refused = await kubectl(['patch', 'namespace', 'patchme', '--type=merge', '-p', '{"spec":{"finalizers":[]}}'], false);
      expect(refused.exitCode).not.toBe(0);
      expect(refused.stderr).toMatch(/labels and annotations only/);
    } finally {
      await kubectl(['delete', 'namespace', 'patchme'], false);
    }
  });

  test('kubectl wait and get --watch follow a pod through the watch API: created, ready, deleted', async () => {
    const file = join(dir, 'watched.yaml');
    writeFileSync(file, POD_YAML.replace(/kubectl-pod/g, 'watched-pod'));
    const watcher = execa('kubectl', ['--kubeconfig', lab().kubeconfig, 'get', 'pods', '--watch', '--output-watch-events', '--no-headers', '--field-selector', 'metadata.name=watched-pod'], { reject: false, timeout: 60_000 });
    let seen = '';
    watcher.stdout!.on('data', (d: Buffer) => (seen += d.toString()));
    await kubectl(['create', '-f', file, '--validate=false']);
    expect((await kubectl(['wait', '--for=condition=Ready', 'pod/watched-pod', '--timeout=30s'])).stdout).toContain('pod/watched-pod condition met');
    await kubectl(['delete', 'pod', 'watched-pod', '--wait=false']);
    expect((await kubectl(['wait', '--for=delete', 'pod/watched-pod', '--timeout=30s'], false)).exitCode).toBe(0);
    for (let i = 0; i < 50 && !/^DELETED/m.test(seen); i++) await new Promise((r) => setTimeout(r, 100));
    watcher.kill('SIGTERM');
    await watcher;
    const events = seen.trim().split('\n').map((l) => l.split(/\s+/)[0]);
    expect(events[0]).toBe('ADDED');
    expect(events).toContain('MODIFIED');
    expect(events.at(-1)).toBe('DELETED');
    expect(seen).toMatch(/^MODIFIED\s+watched-pod\s+1\/1\s+Running/m);
  });

  test('lists come in chunks (limit and continue): kubectl --chunk-size=1 gets the same pods as one list', async () => {
    const file = join(dir, 'chunk.yaml');
    writeFileSync(file, ['c1', 'c2', 'c3'].map((n) => POD_YAML.replace(/kubectl-pod/g, `chunk-${n}`)).join('\n---\n'));
    await kubectl(['create', '-f', file, '--validate=false']);
    const whole = (await kubectl(['get', 'pods', '-A', '-o', 'name'])).stdout.trim().split('\n');
    const chunked = await kubectl(['get', 'pods', '-A', '-o', 'name', '--chunk-size=1', '-v=6']);
    expect(chunked.stdout.trim().split('\n')).toEqual(whole);
    expect(whole.filter((n) => n.startsWith('pod/chunk-'))).toHaveLength(3);
    // One request per pod, each after the first with the continue token of the one before.
    expect(chunked.stderr.match(/GET https:\/\/\S+\/api\/v1\/pods\?continue=\S+&limit=1 200/g)?.length).toBe(whole.length - 1);
    await kubectl(['delete', '-f', file, '--wait=false']);
  });

  test('kubectl create, get -o wide, exec and delete a pod', async () => {
    const file = join(dir, 'pod.yaml');
    writeFileSync(file, POD_YAML);
    expect((await kubectl(['create', '-f', file, '--validate=false'])).stdout).toContain('pod/kubectl-pod created');

    let row = '';
    for (let i = 0; i < 100 && !/Running/.test(row); i++) {
      row = (await kubectl(['get', 'pods', '-o', 'wide', '--no-headers'])).stdout;
      if (!/Running/.test(row)) await new Promise((r) => setTimeout(r, 100));
    }
    const [name, ready, phase, , , ip, node] = row.trim().split(/\s+/);
    expect([name, ready, phase, node]).toEqual(['kubectl-pod', '1/1', 'Running', 'node-2']);
    expect(ip).toMatch(/^10\.244\.2\.\d+$/);

    const exec = await kubectl(['exec', 'kubectl-pod', '--', 'ip', 'addr']);
    expect(exec.stdout).toMatch(/^\d+: lo:/m);
    expect(exec.stdout).toMatch(/^\d+: eth0@/m);
    expect(exec.stdout).toContain(`inet ${ip}/24`);

    // The pod's own PID namespace and /tmp, as kubectl exec shows them: its init, its container and this ps; an empty /tmp.
    const ps = await kubectl(['exec', 'kubectl-pod', '--', 'sh', '-c', 'ps -e -o pid=,comm=; ls -A /tmp | wc -l']);
    const lines = ps.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/));
    expect(lines[0]![0]).toBe('1');
    expect(lines.slice(1, -1).map((l) => l[1]).sort()).toEqual(['ps', 'sh', 'sleep']);
    expect(lines.at(-1)).toEqual(['0']);

    const failing = await kubectl(['exec', 'kubectl-pod', '--', 'sh', '-c', 'exit 7'], false);
    expect(failing.exitCode).toBe(7);

    expect((await kubectl(['delete', 'pod', 'kubectl-pod'])).stdout).toContain('pod "kubectl-pod" deleted');
    const after = await kubectl(['get', 'pod', 'kubectl-pod'], false);
    expect(after.exitCode).not.toBe(0);
    expect(after.stderr).toContain('NotFound');
  });

  test('kubectl logs shows what a container wrote, and --tail the end of it', async () => {
    await kubectl(['run', 'talker', '--image=any', '--restart=Never', '--command', '--', 'sh', '-c', 'for i in 1 2 3; do echo line-$i; done; sleep 60']);
    let out = '';
    for (let i = 0; i < 100 && !out.includes('line-3'); i++) {
      out = String((await kubectl(['logs', 'talker'], false)).stdout);
      if (!out.includes('line-3')) await new Promise((r) => setTimeout(r, 100));
    }
    expect(out).toBe('line-1\nline-2\nline-3');
    expect(String((await kubectl(['logs', 'talker', '--tail=1'])).stdout)).toBe('line-3');
  });

  test("the official Python client's stream(connect_get_namespaced_pod_exec) runs a command in a lab pod", async () => {
    const { kube } = lab();
    await kube.core.createNamespacedPod({
      namespace: 'default',
      body: { metadata: { name: 'py-pod' }, spec: { nodeName: 'node-3', containers: [{ name: 'main', image: 'x', command: ['sleep', '3600'] }] } },
    });
    let ip: string | undefined;
    for (let i = 0; i < 100 && !ip; i++) {
      const p = await kube.core.readNamespacedPod({ name: 'py-pod', namespace: 'default' });
      ip = p.status?.phase === 'Running' ? p.status.podIP : undefined;
      if (!ip) await new Promise((r) => setTimeout(r, 100));
    }
    const script = join(dir, 'exec.py');
    writeFileSync(script, PY_EXEC);
    // Debian's python3-kubernetes lives in the system interpreter.
    const { stdout } = await execa('/usr/bin/python3', [script, lab().kubeconfig, 'py-pod'], { timeout: 60_000 });
    expect(stdout).toContain(`inet ${ip}/24`);
    expect(stdout).toContain('from-python-exec');
  });
});
