// Acceptance 2: pods/exec through @kubernetes/client-node, the suite's own path.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { execInPod } from '../../src/kube/exec.js';
import { createRunningPod, describeLab, podSpec, sh, useLab } from '../helpers/lab.js';

describeLab('exec through @kubernetes/client-node', () => {
  const lab = useLab('texec', ['--nodes', '3']);

  test("in a pod on every node, `ip -4 -o addr show eth0` shows that pod's status.podIP", async () => {
    const { kube } = lab();
    const pods = await Promise.all(['node-1', 'node-2', 'node-3'].map((node, i) =>
      createRunningPod(kube, podSpec(`ip-${i + 1}`, node, ['sleep', '3600']))));
    const ips = new Set<string>();
    for (const pod of pods) {
      const r = await execInPod(kube.kc, { namespace: 'default', pod: pod.metadata!.name! }, ['ip', '-4', '-o', 'addr', 'show', 'eth0']);
      expect(r.exitCode).toBe(0);
      const addr = /inet (\d+\.\d+\.\d+\.\d+)\//.exec(r.stdout.toString())?.[1];
      expect(addr).toBe(pod.status!.podIP);
      expect(addr!.split('.')[2]).toBe(pod.spec!.nodeName!.split('-')[1]);
      ips.add(addr!);
    }
    expect(ips.size).toBe(3);
  });

  test('a command exiting 3 reports exit code 3, with its stdout and stderr apart', async () => {
    const { kube } = lab();
    const r = await sh(kube, 'ip-1', 'echo to-out; echo to-err >&2; exit 3');
    expect(r.exitCode).toBe(3);
    expect(r.stdout.toString()).toBe('to-out\n');
    expect(r.stderr.toString()).toBe('to-err\n');
  });

  test('8 MiB of random binary stdout arrives byte-exact', async () => {
    const { kube } = lab();
    const script = 'set -e; f=$(mktemp); head -c 8388608 /dev/urandom > "$f"; sha256sum "$f" | cut -d" " -f1 >&2; cat "$f"; rm -f "$f"';
    const r = await sh(kube, 'ip-2', script);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.length).toBe(8 * 1024 * 1024);
    expect(createHash('sha256').update(r.stdout).digest('hex')).toBe(r.stderr.toString().trim());
  });

  test('stdin reaches the command and its end is signalled (v5 close channel)', async () => {
    const { kube } = lab();
    const input = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 251));
    const r = await execInPod(kube.kc, { namespace: 'default', pod: 'ip-3' }, ['sh', '-c', 'wc -c; exit 0'], { stdin: input, timeoutMs: 30_000 });
    expect(r.stdout.toString().trim()).toBe(String(input.length));
  });

  test("a pod is a namespace set: `ps` lists only the pod's processes, /tmp is its own, the hostname is the pod's", async () => {
    const { kube } = lab();
    for (const [name, hostNetwork] of [['ns-pod', false], ['ns-host', true]] as const) {
      await createRunningPod(kube, podSpec(name, 'node-2', ['sleep', '3600'], { hostNetwork }));
      const r = await sh(kube, name, `ps -e -o pid=,comm=; echo ---; hostname; ls -A /tmp /run; echo ${name} > /tmp/podwire-ns-mark`);
      expect(r.exitCode, r.stderr.toString()).toBe(0);
      const [ps, rest] = r.stdout.toString().split('---\n') as [string, string];
      const procs = ps.trim().split('\n').map((l) => l.trim().split(/\s+/) as [string, string]);
      // PID 1 is the pod's holder; then the container, the exec'd shell and ps itself: no process of the node or of other pods.
      expect(procs[0]![0]).toBe('1');
      expect(procs.map(([, comm]) => comm).slice(1).sort()).toEqual(['ps', 'sh', 'sleep']);
      const [host, ...ls] = rest.trim().split('\n');
      // hostNetwork pods share the node's network and hostname, as on a real node; others are named after the pod.
      expect(host).toBe(hostNetwork ? 'node-2' : name);
      expect(ls.filter((l) => l && !l.endsWith(':'))).toEqual([]); // /tmp and /run start empty
      expect(existsSync('/tmp/podwire-ns-mark')).toBe(false);
    }
    // Each pod reads back its own file: neither sees the other's /tmp.
    for (const name of ['ns-pod', 'ns-host']) expect((await sh(kube, name, 'cat /tmp/podwire-ns-mark')).stdout.toString()).toBe(`${name}\n`);
  });

  test('deleting a pod ends every process in it, also one started by exec in the background (hostNetwork too)', async () => {
    const { kube } = lab();
    for (const [name, hostNetwork] of [['bg-pod', false], ['bg-host', true]] as const) {
      await createRunningPod(kube, podSpec(name, 'node-3', ['sleep', '3600'], { hostNetwork }));
      const tag = `${1000 + randomBytes(2).readUInt16BE()}.${randomBytes(2).readUInt16BE()}`;
      const r = await sh(kube, name, `sleep ${tag} >/dev/null 2>&1 & echo started`);
      expect(r.stdout.toString()).toBe('started\n');
      const survivor = () => hostPidsRunning(['sleep', tag]);
      expect(survivor(), 'the background process runs after its exec ended').toHaveLength(1);
      await kube.core.deleteNamespacedPod({ name, namespace: 'default' });
      expect(survivor(), `no process of ${name} outlives it`).toEqual([]);
    }
  });

  test('exec into a missing pod fails with a clear error', async () => {
    const { kube } = lab();
    await expect(execInPod(kube.kc, { namespace: 'default', pod: 'nope' }, ['true'])).rejects.toThrow(/exec in default\/nope failed/);
  });
});

/** Host PIDs whose command line is exactly `argv` (read from /proc; only to look, never to kill). */
function hostPidsRunning(argv: string[]): number[] {
  const want = argv.join('\0') + '\0';
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).filter((d) => {
    try {
      return readFileSync(`/proc/${d}/cmdline`, 'utf8') === want;
    } catch {
      return false;
    }
  }).map(Number);
}
