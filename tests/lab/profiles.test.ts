// The dataplane profiles that model real CNI families (src/lab/profiles.ts):
// on a clean 3-node lab of each, `podwire run` exits 0 with every check
// passed (core and extended), `--profile strict` fails exactly the strict
// checks README documents for the profile, and the dataplane is built the
// way the CNI it models builds it (routes, gateway, masquerade) as seen from
// inside the lab.
import { execa } from 'execa';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { profileDef } from '../../src/lab/profiles.js';
import type { Dataplane } from '../../src/lab/plan.js';
import { createRunningPod, describeLab, podSpec, sh, useLab, type TestLab } from '../helpers/lab.js';
import { leftovers, podwireRun } from '../helpers/run.js';

const reportsRoot = mkdtempSync(join(tmpdir(), 'podwire-profiles-'));
afterAll(() => rmSync(reportsRoot, { recursive: true, force: true }));

const inNode = async (lab: TestLab, node: number, cmd: string[]) => String((await execa('ip', ['netns', 'exec', `pw-${lab.name}-node-${node}`, ...cmd])).stdout);

/** What the profile's dataplane looks like from inside a node and a pod on it. */
const shapes: Partial<Record<Dataplane, (lab: TestLab) => Promise<void>>> = {
  kindnet: async (lab) => {
    const pod = await createRunningPod(lab.kube, podSpec('shape', 'node-2', ['sleep', '3600']));
    const ip = pod.status!.podIP!;
    expect(ip).toMatch(/^10\.244\.2\./);
    // ptp: no bridge; the pod's /32 routed to its veth, whose host end holds the gateway as a /32.
    const routes = await inNode(lab, 2, ['ip', 'route']);
    expect(routes).toMatch(new RegExp(`^${ip.replace(/\./g, '\\.')} dev veth\\S+ scope host`, 'm'));
    expect(await inNode(lab, 2, ['ip', '-br', 'link'])).not.toMatch(/^cni0/m);
    expect(routes).toContain('10.244.1.0/24 via 172.18.0.11 dev eth0');
    const podRoutes = String((await sh(lab.kube, 'shape', 'ip route')).stdout);
    expect(podRoutes).toMatch(/^default via 10\.244\.2\.1 dev eth0/m);
    expect(await inNode(lab, 2, ['iptables', '-t', 'nat', '-S', 'KIND-MASQ-AGENT'])).toContain('-A KIND-MASQ-AGENT -d 10.244.0.0/16');
  },
  calico: async (lab) => {
    const pod = await createRunningPod(lab.kube, podSpec('shape', 'node-2', ['sleep', '3600']));
    const ip = pod.status!.podIP!;
    // calico-ipam: node-2's block (the pool's second /26), not its podCIDR 10.244.2.0/24.
    expect(ip).toMatch(/^10\.244\.0\.(6[6-9]|[7-9]\d|1[01]\d|12[0-6])$/);
    expect((await lab.status()).nodes.map((n) => [n.podCIDR, n.ipamBlock])).toEqual([
      ['10.244.1.0/24', '10.244.0.0/26'], ['10.244.2.0/24', '10.244.0.64/26'], ['10.244.3.0/24', '10.244.0.128/26'],
    ]);
    const podRoutes = String((await sh(lab.kube, 'shape', 'ip route; ip -4 -br addr show eth0')).stdout);
    expect(podRoutes).toMatch(/^default via 169\.254\.1\.1 dev eth0/m);
    expect(podRoutes).toMatch(/^169\.254\.1\.1 dev eth0 scope link/m);
    expect(podRoutes).toContain(`${ip}/32`);
    const routes = await inNode(lab, 2, ['ip', 'route']);
    const veth = new RegExp(`^${ip.replace(/\./g, '\\.')} dev (cali\\w+) scope link`, 'm').exec(routes)?.[1];
    expect(veth, routes).toBeDefined();
    expect(await inNode(lab, 2, ['cat', `/proc/sys/net/ipv4/conf/${veth}/proxy_arp`])).toBe('1');
    expect(await inNode(lab, 2, ['ip', '-4', 'addr', 'show', 'dev', veth!])).not.toContain('inet ');
    expect(routes).toContain('10.244.0.0/26 via 172.18.0.11 dev eth0');
    expect(await inNode(lab, 2, ['iptables', '-t', 'nat', '-S', 'cali-nat-outgoing'])).toContain('-s 10.244.0.0/16 ! -d 10.244.0.0/16 -j MASQUERADE');
  },
  vpc: async (lab) => {
    const pod = await createRunningPod(lab.kube, podSpec('shape', 'node-2', ['sleep', '3600']));
    const ip = pod.status!.podIP!;
    // Pod addresses from the VPC (node-2's prefix); nodes report no podCIDR.
    expect(ip).toMatch(/^172\.18\.64\.(6[6-9]|[7-9]\d|1[01]\d|12[0-6])$/);
    const nodes = await lab.kube.core.listNode();
    expect(nodes.items.map((n) => n.spec?.podCIDR ?? null)).toEqual([null, null, null]);
    expect((await lab.status()).nodes.map((n) => n.underlayIPs)).toEqual([['172.18.0.11', '172.18.1.11'], ['172.18.0.12', '172.18.1.12'], ['172.18.0.13', '172.18.1.13']]);
    // Its traffic leaves by eth1, by policy; the node's own by eth0.
    expect(await inNode(lab, 2, ['ip', 'route', 'get', '198.51.100.10', 'from', ip, 'iif', 'lo'])).toMatch(/dev eth1/);
    expect(await inNode(lab, 2, ['ip', 'route', 'get', '198.51.100.10'])).toMatch(/dev eth0/);
    expect(await inNode(lab, 2, ['ip', 'rule'])).toMatch(/^1536:\s+from 172\.18\.64\.64\/26 lookup 100/m);
    const podRoutes = String((await sh(lab.kube, 'shape', 'ip route; ip neigh')).stdout);
    expect(podRoutes).toMatch(/^default via 169\.254\.1\.1 dev eth0/m);
    expect(podRoutes).toMatch(/^169\.254\.1\.1 dev eth0 lladdr 0e:70:79:00:00:01 PERMANENT/m);
    // The fabric routes each node's prefix to its second NIC.
    expect(String((await execa('ip', ['netns', 'exec', `pw-${lab.name}-fabric`, 'ip', 'route'])).stdout)).toContain('172.18.64.64/26 via 172.18.1.12 dev br1');
  },
  flannel: async (lab) => {
    // flanneld's subnet file, and the pods' bridge config derived from it: MTU, gateway, a route to the network.
    const env = String((await execa('cat', [`/run/podwire/${lab.name}/flannel/node-2/subnet.env`])).stdout);
    expect(env).toBe('FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.2.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true');
    const pod = await createRunningPod(lab.kube, podSpec('shape', 'node-2', ['sleep', '3600']));
    expect(pod.status!.podIP).toMatch(/^10\.244\.2\./);
    const inPod = String((await sh(lab.kube, 'shape', 'ip route; cat /sys/class/net/eth0/mtu')).stdout);
    expect(inPod).toMatch(/^default via 10\.244\.2\.1 dev eth0/m);
    expect(inPod).toMatch(/^10\.244\.0\.0\/16 via 10\.244\.2\.1 dev eth0/m);
    expect(inPod).toMatch(/^1450$/m);
    expect(await inNode(lab, 2, ['ip', '-d', 'link', 'show', 'flannel.1'])).toMatch(/vxlan id 1 .*dstport 8472/s);
    const nat = await inNode(lab, 2, ['iptables', '-t', 'nat', '-S', 'FLANNEL-POSTRTG']);
    expect(nat).toContain('-A FLANNEL-POSTRTG -s 10.244.0.0/16 ! -d 224.0.0.0/4 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully');
    expect(await inNode(lab, 2, ['iptables', '-S', 'FLANNEL-FWD'])).toContain('-A FLANNEL-FWD -s 10.244.0.0/16');
  },
};

for (const dataplane of Object.keys(shapes) as Dataplane[]) {
  describeLab(`dataplane profile ${dataplane}`, () => {
    const lab = useLab(`tp${dataplane.replace(/[^a-z0-9]/g, '')}`.slice(0, 16), ['--nodes', '3', '--dataplane', dataplane]);

    test('is built as the CNI it models builds it', async () => {
      expect((await lab().status()).dataplane).toBe(dataplane);
      await shapes[dataplane]!(lab());
      await lab().kube.core.deleteNamespacedPod({ name: 'shape', namespace: 'default' });
    });

    test('podwire run passes every check; --profile strict fails exactly the documented strict checks', async () => {
      const plain = await podwireRun(lab(), reportsRoot);
      expect(plain.exitCode, String(plain.stderr)).toBe(0);
      const notPassed = plain.report!.checks.filter((c) => c.result !== 'passed').map((c) => `${c.id} ${c.result}: ${c.reason}`);
      expect(notPassed).toEqual([]);
      expect(plain.report!.profiles).toMatchObject({ core: { failed: 0, inconclusive: 0 }, extended: { failed: 0 } });

      const strict = await podwireRun(lab(), reportsRoot, ['--profile', 'strict']);
      const expected = profileDef(dataplane).strictFails;
      expect(strict.report!.checks.filter((c) => c.result === 'failed').map((c) => c.id).sort()).toEqual([...expected].sort());
      expect(strict.report!.checks.filter((c) => c.result === 'inconclusive').map((c) => c.id)).toEqual([]);
      expect(strict.exitCode).toBe(expected.length ? 1 : 0);
      expect(await leftovers(lab())).toEqual([]);
    });
  });
}

describeLab('dataplane profile calico, 5 nodes: a block inside another node\'s podCIDR', () => {
  const lab = useLab('tpcalico5', ['--nodes', '5', '--dataplane', 'calico']);

  test("node-5's pods take addresses in node-1's podCIDR, and core still passes; strict NM-3.4 names it", async () => {
    const pod = await createRunningPod(lab().kube, podSpec('borrow', 'node-5', ['sleep', '3600']));
    expect(pod.status!.podIP).toMatch(/^10\.244\.1\.([1-9]|[1-5]\d|6[0-2])$/); // 10.244.1.0/26, node-1's podCIDR is 10.244.1.0/24
    await lab().kube.core.deleteNamespacedPod({ name: 'borrow', namespace: 'default' });
    const core = await podwireRun(lab(), reportsRoot, ['--profile', 'core']);
    expect(core.exitCode, String(core.stderr)).toBe(0);
    expect(core.report!.checks.filter((c) => c.result !== 'passed').map((c) => `${c.id} ${c.result}: ${c.reason}`)).toEqual([]);
    // NM-3.4 needs live pods: the whole strict run, whose probes it judges.
    const strict = await podwireRun(lab(), reportsRoot, ['--profile', 'strict']);
    const node5 = strict.report!.checks.find((c) => c.id === 'NM-3.4')!.flows.filter((f) => f.flow.includes('pw-pod-node-5-'));
    expect(node5.length).toBeGreaterThan(0);
    for (const f of node5) expect(f).toMatchObject({ verdict: 'failed', observed: expect.stringMatching(/has 10\.244\.1\.\d+, outside node-5's pod CIDR 10\.244\.5\.0\/24/) });
  });
});

describeLab('dataplane profile vpc at AWS\'s jumbo MTU (--mtu 9001)', () => {
  const lab = useLab('tpvpcjumbo', ['--nodes', '3', '--dataplane', 'vpc', '--mtu', '9001']);

  test('NM-5.1 passes with 9001-byte DF datagrams between every pair of nodes', async () => {
    expect((await lab().status()).mtu).toBe(9001);
    const r = await podwireRun(lab(), reportsRoot, ['--only', 'NM-5.1']);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const c = r.report!.checks.find((x) => x.id === 'NM-5.1')!;
    expect(c.result, c.reason).toBe('passed');
    expect(new Set(c.flows.map((f) => `${f.from.replace(/^pw-pod-(node-\d+)-.*/, '$1')}>${f.to?.replace(/^pw-pod-(node-\d+)-.*/, '$1')}`)).size).toBe(6);
    for (const f of c.flows) expect(f.observed).toMatch(/^arrived whole: 9001 bytes, DF/);
  });
});
