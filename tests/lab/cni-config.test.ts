// `lab up --cni-config`: a user's conflist wires every pod, its plugins
// chained as the CNI spec says, and podwire's core profile passes on the lab
// it builds, whether its addresses follow the node podCIDRs (routed per node)
// or come from a pool of its own (routed per pod, /32). The examples shipped
// in examples/cni/ are the ones README cites.
import { execa } from 'execa';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { ROOT, cli, createRunningPod, describeLab, labName, podSpec, sh, useLab, type TestLab } from '../helpers/lab.js';
import { leftovers, podwireRun } from '../helpers/run.js';

const reportsRoot = mkdtempSync(join(tmpdir(), 'podwire-cni-config-'));
afterAll(() => rmSync(reportsRoot, { recursive: true, force: true }));

const CHAIN = `${ROOT}examples/cni/bridge-chain.conflist`;
const OWN_POOL = `${ROOT}examples/cni/ptp-own-pool.conflist`;

const inNode = async (lab: TestLab, node: number, cmd: string[]) => String((await execa('ip', ['netns', 'exec', `pw-${lab.name}-node-${node}`, ...cmd])).stdout);
const esc = (ip: string) => ip.replace(/\./g, '\\.');

async function deletePod(lab: TestLab, name: string): Promise<void> {
  await lab.kube.core.deleteNamespacedPod({ name, namespace: 'default' });
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const gone = await lab.kube.core.readNamespacedPod({ name, namespace: 'default' }).then(() => false, () => true);
    if (gone) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`pod ${name} still there after 20 s`);
}

async function passesCore(lab: TestLab): Promise<void> {
  const r = await podwireRun(lab, reportsRoot, ['--profile', 'core']);
  expect(r.exitCode, String(r.stderr)).toBe(0);
  const notPassed = r.report!.checks.filter((c) => c.result !== 'passed').map((c) => `${c.id} ${c.result}: ${c.reason}`);
  expect(notPassed).toEqual([]);
  expect(r.report!.profiles).toMatchObject({ core: { failed: 0, inconclusive: 0 } });
  expect(await leftovers(lab)).toEqual([]);
}

describeLab('--cni-config: bridge chained with portmap, tuning and bandwidth (host-gw)', () => {
  const lab = useLab('tcnichain', ['--nodes', '3', '--cni-config', CHAIN]);

  test('lab status names the conflist and its chain', async () => {
    const s = await lab().status();
    expect(s.cniConfig).toEqual({ source: CHAIN, name: 'bridge-chain', plugins: ['bridge', 'portmap', 'tuning', 'bandwidth'], binDir: '/usr/lib/cni' });
    const text = String((await cli(['lab', 'status', '--name', lab().name])).stdout);
    expect(text).toContain(`cni config ${CHAIN} (network bridge-chain: bridge → portmap → tuning → bandwidth; plugins from /usr/lib/cni)`);
  });

  test('every plugin of the chain ran at ADD, and DEL undoes them with the cached result', async () => {
    const pod = await createRunningPod(lab().kube, podSpec('chain', 'node-2', ['sleep', '3600']));
    const ip = pod.status!.podIP!;
    expect(ip).toMatch(/^10\.244\.2\./);
    // tuning: the conflist's sysctl on the pod's eth0 (lo keeps the kernel default).
    const sysctls = String((await sh(lab().kube, 'chain', 'cat /proc/sys/net/ipv4/conf/eth0/accept_redirects /proc/sys/net/ipv4/conf/lo/accept_redirects')).stdout);
    expect(sysctls.trim().split('\n')).toEqual(['0', '1']);
    // bandwidth: a tbf on the host end (ingress) and an ifb device (bwp…) carrying the egress shaping; it found the host veth in bridge's result (prevResult).
    const qdiscs = await inNode(lab(), 2, ['tc', 'qdisc', 'show']);
    expect(qdiscs).toMatch(/qdisc tbf \S+ dev veth\S+ root .*rate 1Gbit/);
    expect(qdiscs).toMatch(/qdisc tbf \S+ dev bwp\S+ root .*rate 1Gbit/);
    const results = `/run/podwire/${lab().name}/cni/results`;
    const cached = readdirSync(results);
    expect(cached).toHaveLength(1);
    expect(cached[0]).toMatch(/^bridge-chain-pw[0-9a-f]+-eth0\.json$/);

    await deletePod(lab(), 'chain');
    expect(await inNode(lab(), 2, ['ip', '-br', 'link'])).not.toMatch(/^bwp/m);
    expect(readdirSync(results)).toEqual([]);
    // host-local released the address: only its bookkeeping files stay.
    expect(readdirSync(`/run/podwire/${lab().name}/ipam/node-2/bridge-chain`).sort()).toEqual(['last_reserved_ip.0', 'lock']);
  });

  test('a hostPort reaches the pod through portmap (the portMappings capability), and is gone after DEL', async () => {
    await createRunningPod(lab().kube, podSpec('hp', 'node-2', [], {
      containers: [{ name: 'main', image: 'podwire/probe', command: ['socat', 'TCP-LISTEN:8080,fork,reuseaddr', 'SYSTEM:echo from-hostport'], ports: [{ containerPort: 8080, hostPort: 30080 }] }],
    }));
    expect(await inNode(lab(), 2, ['iptables', '-t', 'nat', '-S'])).toMatch(/--dport 30080 .*-j DNAT --to-destination 10\.244\.2\.\d+:8080/);
    const reply = await inNode(lab(), 1, ['sh', '-c', 'for i in 1 2 3 4 5; do socat -T2 - TCP:172.18.0.12:30080 </dev/null && break; sleep 0.2; done']);
    expect(reply.trim()).toBe('from-hostport');
    await deletePod(lab(), 'hp');
    expect(await inNode(lab(), 2, ['iptables', '-t', 'nat', '-S'])).not.toContain('30080');
  });

  test('podwire run --profile core passes', async () => {
    await passesCore(lab());
  });
});

describeLab('--cni-config: ptp over a pool of its own, not the node podCIDRs (host-gw)', () => {
  const lab = useLab('tcnipool', ['--nodes', '3', '--cni-config', OWN_POOL]);

  test('pods take addresses from the pool, and every other node routes each as a /32 while it lives', async () => {
    const pod = await createRunningPod(lab().kube, podSpec('pooled', 'node-2', ['sleep', '3600']));
    const ip = pod.status!.podIP!;
    expect(ip).toMatch(/^10\.250\.2\./);
    for (const n of [1, 3]) expect(await inNode(lab(), n, ['ip', 'route'])).toMatch(new RegExp(`^${esc(ip)} via 172\\.18\\.0\\.12 dev eth0`, 'm'));
    // node-2 routes its own pod by ptp's host veth; the pool's egress is masqueraded like the cluster's pods'.
    expect(await inNode(lab(), 2, ['ip', 'route'])).toMatch(new RegExp(`^${esc(ip)} dev veth\\S+ scope host`, 'm'));
    expect(await inNode(lab(), 1, ['iptables', '-t', 'nat', '-S', 'POSTROUTING'])).toContain('-A POSTROUTING -s 10.250.2.0/24 -j PW-EGRESS');

    await deletePod(lab(), 'pooled');
    for (const n of [1, 3]) expect(await inNode(lab(), n, ['ip', 'route'])).not.toContain(`${ip} via`);
  });

  test('podwire run --profile core passes', async () => {
    await passesCore(lab());
  });
});

describeLab('--cni-config: ptp over a pool of its own, not the node podCIDRs (vxlan)', () => {
  const lab = useLab('tcnivx', ['--nodes', '3', '--dataplane', 'vxlan', '--cni-config', OWN_POOL]);

  test('pod /32 routes go over the overlay; pods get the VXLAN MTU through {{mtu}}', async () => {
    const pod = await createRunningPod(lab().kube, podSpec('pooled', 'node-3', ['sleep', '3600']));
    const ip = pod.status!.podIP!;
    expect(ip).toMatch(/^10\.250\.3\./);
    expect(await inNode(lab(), 1, ['ip', 'route'])).toMatch(new RegExp(`^${esc(ip)} via 10\\.244\\.3\\.0 dev flannel\\.1 onlink`, 'm'));
    expect(String((await sh(lab().kube, 'pooled', 'cat /sys/class/net/eth0/mtu')).stdout).trim()).toBe('1450');
    await deletePod(lab(), 'pooled');
  });

  test('podwire run --profile core passes', async () => {
    await passesCore(lab());
  });
});

describeLab('--cni-config: a vendor\'s plugin in its own bin dir, ahead of /usr/lib/cni', () => {
  // The "vendor" plugin is Debian's ptp under another name, in a directory of its own; host-local still comes from /usr/lib/cni.
  // Made before the lab starts (hooks run in order) and only when this block runs, so a filtered run leaves nothing behind.
  const vendorBin = join(tmpdir(), `podwire-vendor-bin-${process.pid}`);
  const conflist = join(vendorBin, 'acme.conflist');
  beforeAll(() => {
    mkdirSync(vendorBin, { recursive: true });
    copyFileSync('/usr/lib/cni/ptp', join(vendorBin, 'acme-cni'));
    writeFileSync(conflist, readFileSync(OWN_POOL, 'utf8').replace('"type": "ptp"', '"type": "acme-cni"'));
  });
  afterAll(() => rmSync(vendorBin, { recursive: true, force: true }));
  const lab = useLab('tcnivendor', ['--nodes', '2', '--cni-config', conflist, '--cni-bin-dir', `${vendorBin}:/usr/lib/cni`]);

  test('its pods are wired by it and reach pods on the other node', async () => {
    expect((await lab().status()).cniConfig).toEqual({ source: conflist, name: 'ptp-own-pool', plugins: ['acme-cni', 'portmap'], binDir: `${vendorBin}:/usr/lib/cni` });
    const a = await createRunningPod(lab().kube, podSpec('a', 'node-1', ['sleep', '3600']));
    const b = await createRunningPod(lab().kube, podSpec('b', 'node-2', ['socat', 'TCP-LISTEN:8080,fork,reuseaddr', 'SYSTEM:echo from-b']));
    expect(a.status!.podIP).toMatch(/^10\.250\.1\./);
    expect(b.status!.podIP).toMatch(/^10\.250\.2\./);
    const reply = await sh(lab().kube, 'a', `for i in 1 2 3 4 5; do socat -T2 - TCP:${b.status!.podIP}:8080 </dev/null && break; sleep 0.2; done`);
    expect(String(reply.stdout).trim()).toBe('from-b');
  });
});

describeLab('--cni-config: a bad conflist', () => {
  test('is refused with one line and exit 2 before anything is built', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'podwire-bad-conflist-'));
    try {
      const file = join(dir, 'typo.conflist');
      writeFileSync(file, JSON.stringify({ cniVersion: '1.0.0', name: 'typo', plugins: [{ type: 'bridge', ipam: { type: 'host-local', ranges: [[{ subnet: '{{podCidr}}' }]] } }] }));
      const name = labName('tcnibad');
      const r = await cli(['lab', 'up', '--name', name, '--cni-config', file], { reject: false });
      expect(r.exitCode).toBe(2);
      expect(String(r.stderr)).toBe(`podwire: --cni-config \`${file}\`: unknown placeholder \`{{podCidr}}\` at $.plugins[0].ipam.ranges[0][0].subnet; known: {{podCIDR}}, {{nodeName}}, {{nodeIndex}}, {{mtu}}, {{ipamDir}}`);
      expect(existsSync(`/run/podwire/${name}`)).toBe(false);
      expect(String((await execa('ip', ['netns', 'list'])).stdout)).not.toContain(`pw-${name}-`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
