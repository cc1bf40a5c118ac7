// Acceptance 4: the root netns is untouched by a lab's life, and `lab down`
// removes everything even after the API server was killed with SIGKILL.
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { expect, test } from 'vitest';
import { pidAlive } from '../../src/lab/topology.js';
import { assertCanRunLab, cli, createRunningPod, describeLab, podSpec, startLab } from '../helpers/lab.js';

/** The root netns as the acceptance names it; counters and timestamps stripped. */
async function rootSnapshot(): Promise<Record<string, string>> {
  const cmds: Record<string, [string, string[]]> = {
    link: ['ip', ['-j', 'link']],
    addr: ['ip', ['-j', 'addr']],
    route: ['ip', ['-j', 'route']],
    rule: ['ip', ['-j', 'rule']],
    iptables: ['iptables-save', []],
    ip6tables: ['ip6tables-save', []],
    // What IPv6 labs set inside their own netns only (forwarding, no DAD).
    sysctl: ['cat', ['all', 'default'].flatMap((c) => [`/proc/sys/net/ipv6/conf/${c}/forwarding`, `/proc/sys/net/ipv6/conf/${c}/accept_dad`]).concat('/proc/sys/net/ipv4/ip_forward')],
  };
  const out: Record<string, string> = {};
  for (const [k, [cmd, args]] of Object.entries(cmds)) {
    const r = await execa(cmd, args, { reject: false });
    expect(r.exitCode, `${cmd} ${args.join(' ')}: ${r.stderr}`).toBe(0);
    out[k] = String(r.stdout)
      .split('\n')
      .filter((l) => !l.startsWith('#'))
      .map((l) => l.replace(/\[\d+:\d+\]/g, '[*]'))
      .join('\n');
  }
  // Interface counters are not configuration; ip -j link prints none without -s.
  return out;
}

const labNetns = async (name: string) =>
  String((await execa('ip', ['netns', 'list'])).stdout).split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => n.startsWith(`pw-${name}-`));

describeLab('cleanup', () => {
  test('the root network namespace is identical before lab up and after lab down (both dataplanes, and a dual-stack lab)', async () => {
    assertCanRunLab();
    const before = await rootSnapshot();
    for (const args of [['--dataplane', 'host-gw'], ['--dataplane', 'vxlan'], ['--dataplane', 'vxlan', '--ip-family', 'dual']]) {
      const lab = await startLab('troot', ['--nodes', '3', ...args]);
      await createRunningPod(lab.kube, podSpec('p', 'node-2', ['sleep', '3600']));
      // lab.name: PODWIRE_TEST_LAB_TAG renames the lab (helpers/lab.ts labName).
      await cli(['lab', 'down', '--name', lab.name]);
    }
    expect(await rootSnapshot()).toEqual(before);
  });

  test('after kill -9 of the API server, lab down leaves no netns, no lab process and no state directory', async () => {
    const lab = await startLab('tkill', ['--nodes', '2']);
    await createRunningPod(lab.kube, podSpec('victim', 'node-1', ['sleep', '3600']));
    await createRunningPod(lab.kube, podSpec('hostnet', 'node-2', ['sleep', '3600'], { hostNetwork: true }));
    const status = await lab.status();
    const serverPid = status.api.pid!;
    const netns = await labNetns(lab.name);
    expect(netns.length).toBe(2 + 2 + 1); // fabric, internet, nodes, one pod
    const pids = (await Promise.all(netns.map(async (n) => String((await execa('ip', ['netns', 'pids', n])).stdout).split(/\s+/).filter(Boolean).map(Number)))).flat();
    expect(pids.length).toBeGreaterThanOrEqual(2); // both containers' processes

    process.kill(serverPid, 'SIGKILL');
    for (let i = 0; i < 100 && pidAlive(serverPid); i++) await new Promise((r) => setTimeout(r, 20));
    expect(pidAlive(serverPid)).toBe(false);

    const down = await cli(['lab', 'down', '--name', lab.name]);
    expect(down.stdout).toContain(`lab ${lab.name} removed`);
    expect(await labNetns(lab.name)).toEqual([]);
    expect(existsSync(`/run/podwire/${lab.name}`)).toBe(false);
    expect(pids.filter(pidAlive)).toEqual([]);
  });
});
