// Acceptance 5: two labs side by side, each whole; removing one leaves the other.
import { execa } from 'execa';
import { expect, test } from 'vitest';
import { execInPod } from '../../src/kube/exec.js';
import { cli, createRunningPod, describeLab, podSpec, startLab, type TestLab } from '../helpers/lab.js';

async function podIpViaExec(lab: TestLab, pod: string): Promise<string | undefined> {
  const r = await execInPod(lab.kube.kc, { namespace: 'default', pod }, ['ip', '-4', '-o', 'addr', 'show', 'eth0']);
  return /inet (\S+)\//.exec(r.stdout.toString())?.[1];
}

describeLab('two labs at once', () => {
  test('each lab works on its own, and tearing one down leaves the other whole', async () => {
    const a = await startLab('tlaba', ['--nodes', '2']);
    const b = await startLab('tlabb', ['--nodes', '2', '--dataplane', 'vxlan']);
    try {
      // Same names and address plans in both: only the netns keep them apart.
      const pa = await createRunningPod(a.kube, podSpec('twin', 'node-2', ['sleep', '3600']));
      const pb = await createRunningPod(b.kube, podSpec('twin', 'node-2', ['sleep', '3600']));
      expect(await podIpViaExec(a, 'twin')).toBe(pa.status!.podIP);
      expect(await podIpViaExec(b, 'twin')).toBe(pb.status!.podIP);
      expect((await a.status()).api.url).not.toBe((await b.status()).api.url);

      await cli(['lab', 'down', '--name', a.name]);
      const left = String((await execa('ip', ['netns', 'list'])).stdout);
      expect(left).not.toContain(`pw-${a.name}-`);
      const sb = await b.status();
      expect(sb.api.healthy).toBe(true);
      expect(sb.pods.map((p) => `${p.name}@${p.node}:${p.phase}`)).toEqual(['twin@node-2:Running']);
      expect(await podIpViaExec(b, 'twin')).toBe(pb.status!.podIP);
      // Its dataplane still carries traffic across nodes.
      const p1 = await createRunningPod(b.kube, podSpec('other', 'node-1', ['sleep', '3600']));
      const ping = await execInPod(b.kube.kc, { namespace: 'default', pod: 'other' }, ['sh', '-c', `echo hi | socat -u - UDP4-SENDTO:${pb.status!.podIP}:9 && echo sent`]);
      expect(ping.stdout.toString()).toContain('sent');
      expect(p1.status!.podIP).toMatch(/^10\.244\.1\./);
    } finally {
      await cli(['lab', 'down', '--name', a.name], { reject: false });
      await cli(['lab', 'down', '--name', b.name], { reject: false });
    }
  });
});
