// Acceptance 2: pods/exec through @kubernetes/client-node, the suite's own path.
import { createHash } from 'node:crypto';
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

  test('exec into a missing pod fails with a clear error', async () => {
    const { kube } = lab();
    await expect(execInPod(kube.kc, { namespace: 'default', pod: 'nope' }, ['true'])).rejects.toThrow(/exec in default\/nope failed/);
  });
});
