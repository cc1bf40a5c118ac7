// IPv6 and dual-stack labs (issue 11, lab side): the API lists both families
// in the lab's order; from inside pods, IPv6 crosses nodes with the pod's own
// source, node → pod and hostNetwork → pod work in IPv6, egress leaves
// SNATed to the node's IPv6 address; and each IPv6 fault does exactly what
// it says at the packet level while IPv4 stays clean.
import { execa } from 'execa';
import ipaddr from 'ipaddr.js';
import { beforeAll, expect, test } from 'vitest';
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { EXTERNAL_TARGET_ANNOTATION } from '../../src/names.js';
import { captureInNetns, cli, createRunningPod, describeLab, labName, podSpec, sh, skipLab, useLab, type TestLab } from '../helpers/lab.js';

type Fam = 4 | 6;
const famOf = (ip: string): Fam => (ip.includes(':') ? 6 : 4);
/** An address as one canonical string (socat prints IPv6 expanded, IPv4 clients of a dual listener as ::ffff:a.b.c.d). */
const canon = (ip: string) => ipaddr.process(ip.replace(/^\[|\]$/g, '')).toString();

/** Answers every TCP connection, in either family, with the source address the pod saw. */
const ECHO_PEER = ['socat', 'TCP6-LISTEN:8080,fork,reuseaddr,ipv6only=0', 'SYSTEM:echo $SOCAT_PEERADDR'];

/** From a pod, connects to `ip`:8080 and returns the source the listener saw (undefined when the connection failed). */
async function seenBy(lab: TestLab, from: string, ip: string): Promise<{ seen?: string; exitCode: number; stderr: string }> {
  const target = famOf(ip) === 6 ? `TCP6:[${ip}]:8080` : `TCP4:${ip}:8080`;
  const r = await sh(lab.kube, from, `socat -T 3 - ${target},connect-timeout=3 </dev/null`);
  const out = r.stdout.toString().trim();
  return { ...(out ? { seen: canon(out) } : {}), exitCode: r.exitCode, stderr: r.stderr.toString() };
}

const ipOf = (pod: V1Pod, f: Fam) => pod.status!.podIPs!.map((p) => p.ip).find((ip) => famOf(ip) === f)!;
const nodeIP = (i: number, f: Fam) => (f === 6 ? `fd00:172:18::${10 + i}` : `172.18.0.${10 + i}`);

/** tcpdump in a lab netns (the internet host); resolves `listening` once it listens, `lines` with what it printed. */
/** tcpdump -e in a lab netns: the first packet the filter matches, with its link-level header, within 8 s. */
const captureIn = (netns: string, filter: string, iface = 'eth0') => {
  const c = captureInNetns(netns, iface, filter, { timeoutS: 8, ethernet: true });
  return { listening: c.listening, lines: c.done };
};

/** Source and destination of the first IPv6 packet in tcpdump's lines (`-e`: after the link header). */
function ip6Packet(out: string): { src: string; dst: string } | undefined {
  const m = /ethertype IPv6 \(0x86dd\), length \d+: ([0-9a-f:]+)\.\d+ > ([0-9a-f:]+)\.\d+:/.exec(out);
  return m ? { src: m[1]!, dst: m[2]! } : undefined;
}

/** Pods on a 3-node lab: a client and a listener on node-1, a listener on node-2 and node-3, a hostNetwork pod on node-1. */
async function startPods(lab: TestLab): Promise<Record<'c1' | 's1' | 's2' | 's3' | 'h1', V1Pod>> {
  const { kube } = lab;
  const [c1, s1, s2, s3, h1] = await Promise.all([
    createRunningPod(kube, podSpec('c1', 'node-1', ['sleep', '3600'])),
    createRunningPod(kube, podSpec('s1', 'node-1', ECHO_PEER)),
    createRunningPod(kube, podSpec('s2', 'node-2', ECHO_PEER)),
    createRunningPod(kube, podSpec('s3', 'node-3', ECHO_PEER)),
    createRunningPod(kube, podSpec('h1', 'node-1', ['sleep', '3600'], { hostNetwork: true })),
  ]);
  return { c1, s1, s2, s3, h1 };
}

/** Pods' and nodes' addresses as the API lists them. */
async function apiView(lab: TestLab): Promise<{ nodes: V1Node[]; pods: V1Pod[] }> {
  const [nodes, pods] = await Promise.all([lab.kube.core.listNode(), lab.kube.core.listNamespacedPod({ namespace: 'default' })]);
  return { nodes: nodes.items, pods: pods.items };
}

const CLEAN: { name: string; dataplane: 'host-gw' | 'vxlan' | 'kindnet'; family: 'dual' | 'ipv6'; primary?: 'ipv6'; order: Fam[] }[] = [
  { name: 'tdualhgw', dataplane: 'host-gw', family: 'dual', order: [4, 6] },
  { name: 'tdualvx', dataplane: 'vxlan', family: 'dual', order: [4, 6] },
  { name: 'tdualkind', dataplane: 'kindnet', family: 'dual', primary: 'ipv6', order: [6, 4] },
  { name: 'tsixhgw', dataplane: 'host-gw', family: 'ipv6', order: [6] },
  // IPv6 only over VXLAN: flannel-v6.1 alone, no IPv4 tunnel.
  { name: 'tsixvx', dataplane: 'vxlan', family: 'ipv6', order: [6] },
];

for (const c of CLEAN) {
  const what = `${c.family}${c.primary ? ` --primary ${c.primary}` : ''} ${c.dataplane}`;
  describeLab(`IPv6 lab: ${what}`, () => {
    const lab = useLab(c.name, ['--nodes', '3', '--dataplane', c.dataplane, '--ip-family', c.family, ...(c.primary ? ['--primary', c.primary] : [])]);
    let pods: Awaited<ReturnType<typeof startPods>>;
    beforeAll(async () => {
      pods = await startPods(lab());
    });

    test(`the API lists ${c.order.map((f) => `IPv${f}`).join(' then ')}: node podCIDRs and InternalIPs, pod podIPs, hostNetwork pods the node's`, async () => {
      const { nodes, pods: listed } = await apiView(lab());
      for (const n of nodes) {
        const i = Number(n.metadata!.name!.slice('node-'.length));
        expect(n.spec!.podCIDRs!.map(famOf), n.metadata!.name).toEqual(c.order);
        expect(n.spec!.podCIDR).toBe(n.spec!.podCIDRs![0]);
        if (c.order.includes(6)) expect(n.spec!.podCIDRs).toContain(`fd00:10:244:${i}::/64`);
        const internal = n.status!.addresses!.filter((a) => a.type === 'InternalIP').map((a) => a.address);
        expect(internal).toEqual(c.order.map((f) => nodeIP(i, f)));
        expect(n.metadata!.annotations![EXTERNAL_TARGET_ANNOTATION]).toBe(c.order.map((f) => (f === 6 ? '[2001:db8:100::10]:80' : '198.51.100.10:80')).join(','));
      }
      for (const p of listed) {
        const ips = p.status!.podIPs!.map((x) => x.ip);
        expect(ips.map(famOf), p.metadata!.name).toEqual(c.order);
        expect(p.status!.podIP).toBe(ips[0]);
        const i = Number(p.spec!.nodeName!.slice('node-'.length));
        if (p.spec!.hostNetwork) expect(ips).toEqual(c.order.map((f) => nodeIP(i, f)));
        else if (c.order.includes(6)) expect(ipaddr.parse(ipOf(p, 6)).match(ipaddr.parseCIDR(`fd00:10:244:${i}::/64`))).toBe(true);
        expect(p.status!.hostIPs!.map((x) => x.ip)).toEqual(c.order.map((f) => nodeIP(i, f)));
      }
      // lab status says the same.
      const st = await lab().status();
      expect(st).toMatchObject({ ipFamily: c.family, primary: c.primary ?? (c.family === 'ipv6' ? 'ipv6' : 'ipv4') });
      expect(st.nodes.map((n) => n.internalIPs)).toEqual([1, 2, 3].map((i) => c.order.map((f) => nodeIP(i, f))));
      expect(st.pods.find((p) => p.name === 'c1')!.ips).toEqual(pods.c1.status!.podIPs!.map((x) => x.ip));
      // The address each pod's interface holds is the one the API reports, family by family.
      const addrs = String((await sh(lab().kube, 'c1', 'ip -o addr show dev eth0')).stdout);
      for (const ip of pods.c1.status!.podIPs!.map((x) => x.ip)) expect(addrs).toContain(` ${ip}/`);
      if (c.family === 'ipv6') expect(addrs).not.toContain('inet ');
    });

    test('pod → pod across nodes over IPv6 keeps the pod\'s own source (and IPv4 too, on dual-stack)', async () => {
      for (const f of c.order) {
        const r = await seenBy(lab(), 'c1', ipOf(pods.s2, f));
        expect(r.seen, `IPv${f}: ${r.stderr}`).toBe(canon(ipOf(pods.c1, f)));
        const back = await seenBy(lab(), 's3', ipOf(pods.s1, f));
        expect(back.seen, `IPv${f} back: ${back.stderr}`).toBe(canon(ipOf(pods.s3, f)));
      }
    });

    test('cross-node IPv6 pod traffic crosses the underlay as the dataplane says (routed with the pod\'s address, or in VXLAN over IPv6)', async () => {
      const { name } = lab();
      const filter = c.dataplane === 'vxlan' ? 'ip6 and udp dst port 8472' : `ip6 and tcp dst port 8080 and dst host ${ipOf(pods.s2, 6)}`;
      const cap = captureIn(`pw-${name}-node-1`, filter);
      await cap.listening;
      expect((await seenBy(lab(), 'c1', ipOf(pods.s2, 6))).seen).toBe(canon(ipOf(pods.c1, 6)));
      expect(ip6Packet(await cap.lines)).toEqual(c.dataplane === 'vxlan'
        ? { src: 'fd00:172:18::11', dst: 'fd00:172:18::12' }
        : { src: ipOf(pods.c1, 6), dst: ipOf(pods.s2, 6) });
      if (c.dataplane === 'kindnet') {
        // ptp: a /128 route per pod to its veth on its node, as for IPv4's /32.
        const routes = String((await execa('ip', ['netns', 'exec', `pw-${name}-node-1`, 'ip', '-6', 'route'])).stdout);
        expect(routes).toMatch(new RegExp(`^${ipOf(pods.c1, 6)} dev veth\\S+`, 'm'));
      }
    });

    test('node → pod (its own) and hostNetwork → pod (another node) over IPv6, from an address of the sending node', async () => {
      const own = String((await sh(lab().kube, 'h1', 'ip -6 -o addr')).stdout);
      const nodeAddrs = [...own.matchAll(/inet6 ([0-9a-f:]+)\//g)].map((m) => canon(m[1]!));
      const local = await seenBy(lab(), 'h1', ipOf(pods.s1, 6));
      expect(local.seen, local.stderr).toBeDefined();
      expect(nodeAddrs).toContain(local.seen);
      const remote = await seenBy(lab(), 'h1', ipOf(pods.s2, 6));
      expect(remote.seen, remote.stderr).toBeDefined();
      expect(nodeAddrs).toContain(remote.seen);
      // Routed across the underlay (host-gw, kindnet) it is the node's InternalIP, un-NATed; over VXLAN flannel-v6.1's address.
      expect(remote.seen).toBe(c.dataplane === 'vxlan' ? 'fd00:10:244:1::' : 'fd00:172:18::11');
    });

    test('pod → internet host over IPv6 arrives SNATed to the node\'s IPv6 address, and the echo answers', async () => {
      const cap = captureIn(`pw-${lab().name}-internet`, 'ip6 and tcp dst port 80');
      await cap.listening;
      const r = await sh(lab().kube, 'c1', 'echo v6 | socat -T 3 - TCP6:[2001:db8:100::10]:80,connect-timeout=3');
      expect(r.stdout.toString().trim()).toBe('v6.from.internet');
      expect(ip6Packet(await cap.lines)).toEqual({ src: 'fd00:172:18::11', dst: '2001:db8:100::10' });
    });
  });
}

/** Fault labs: dual-stack, 3 nodes, one IPv6 fault each, on host-gw and on the profile whose code path differs (kindnet's masquerade, vxlan's routes). */
for (const dp of ['host-gw', 'kindnet'] as const) describeLab(`IPv6 fault ipv6-pod-masquerade (dual ${dp})`, () => {
  const lab = useLab(`tsixmasq${dp === 'kindnet' ? 'k' : ''}`, ['--nodes', '3', '--dataplane', dp, '--ip-family', 'dual', '--fault', 'ipv6-pod-masquerade']);
  test('node-2\'s pods reach other nodes\' pods from node-2\'s IPv6 address; in IPv4, and from other nodes, the pod\'s own', async () => {
    const { kube } = lab();
    const [c2, s2b, s3, c3] = await Promise.all([
      createRunningPod(kube, podSpec('c2', 'node-2', ['sleep', '3600'])),
      createRunningPod(kube, podSpec('s2b', 'node-2', ECHO_PEER)),
      createRunningPod(kube, podSpec('s3', 'node-3', ECHO_PEER)),
      createRunningPod(kube, podSpec('c3', 'node-3', ['sleep', '3600'])),
    ]);
    expect((await seenBy(lab(), 'c2', ipOf(s3, 6))).seen).toBe('fd00:172:18::12');
    expect((await seenBy(lab(), 'c2', ipOf(s3, 4))).seen).toBe(ipOf(c2, 4));
    // Same node: not masqueraded (the subnet is exempt); towards node-2: the sender is not on node-2.
    expect((await seenBy(lab(), 'c2', ipOf(s2b, 6))).seen).toBe(canon(ipOf(c2, 6)));
    expect((await seenBy(lab(), 'c3', ipOf(s2b, 6))).seen).toBe(canon(ipOf(c3, 6)));
  });
});

for (const dp of ['host-gw', 'vxlan'] as const) describeLab(`IPv6 fault ipv6-missing-route (dual ${dp})`, () => {
  const lab = useLab(`tsixroute${dp === 'vxlan' ? 'x' : ''}`, ['--nodes', '3', '--dataplane', dp, '--ip-family', 'dual', '--fault', 'ipv6-missing-route']);
  test('node-1 and its pods cannot reach node-2\'s pods over IPv6, while IPv4 and every other IPv6 path work', async () => {
    const { kube } = lab();
    const [c1, s2, s3, c3] = await Promise.all([
      createRunningPod(kube, podSpec('c1', 'node-1', ['sleep', '3600'])),
      createRunningPod(kube, podSpec('s2', 'node-2', ECHO_PEER)),
      createRunningPod(kube, podSpec('s3', 'node-3', ECHO_PEER)),
      createRunningPod(kube, podSpec('c3', 'node-3', ['sleep', '3600'])),
      createRunningPod(kube, podSpec('h1', 'node-1', ['sleep', '3600'], { hostNetwork: true })),
    ]);
    // It follows node-1's IPv6 default route: the router (whose MAC it is sent to) knows no pod routes, and drops it.
    const atRouter = captureIn(`pw-${lab().name}-fabric`, `ether dst 0e:70:78:00:01:00 and ip6 dst ${ipOf(s2, 6)} and tcp dst port 8080`, 'br0');
    await atRouter.listening;
    const lost = await seenBy(lab(), 'c1', ipOf(s2, 6));
    expect(lost.seen).toBeUndefined();
    expect(lost.exitCode).not.toBe(0);
    expect(lost.stderr).toMatch(/timed out/i);
    expect(ip6Packet(await atRouter.lines)).toEqual({ src: ipOf(c1, 6), dst: ipOf(s2, 6) });
    expect((await seenBy(lab(), 'h1', ipOf(s2, 6))).seen).toBeUndefined();
    expect((await seenBy(lab(), 'c1', ipOf(s2, 4))).seen).toBe(ipOf(c1, 4));
    expect((await seenBy(lab(), 'c1', ipOf(s3, 6))).seen).toBe(canon(ipOf(c1, 6)));
    expect((await seenBy(lab(), 'c3', ipOf(s2, 6))).seen).toBe(canon(ipOf(c3, 6)));
  });
});

for (const dp of ['host-gw', 'kindnet'] as const) describeLab(`IPv6 fault ipv6-no-egress-snat (dual ${dp})`, () => {
  const lab = useLab(`tsixsnat${dp === 'kindnet' ? 'k' : ''}`, ['--nodes', '3', '--dataplane', dp, '--ip-family', 'dual', '--fault', 'ipv6-no-egress-snat']);
  test('IPv6 egress reaches the internet host with the pod\'s IPv6 source and gets no answer; IPv4 egress is SNATed and answered', async () => {
    const { kube, name } = lab();
    const c1 = await createRunningPod(kube, podSpec('c1', 'node-1', ['sleep', '3600']));
    const cap6 = captureIn(`pw-${name}-internet`, 'ip6 and tcp dst port 80');
    await cap6.listening;
    const six = await sh(kube, 'c1', 'echo v6 | socat -T 2 - TCP6:[2001:db8:100::10]:80,connect-timeout=2');
    expect(six.stdout.toString()).not.toContain('from.internet');
    expect(six.exitCode).not.toBe(0);
    expect(ip6Packet(await cap6.lines)).toEqual({ src: canon(ipOf(c1, 6)), dst: '2001:db8:100::10' });
    const cap4 = captureIn(`pw-${name}-internet`, 'ip and tcp dst port 80');
    await cap4.listening;
    const four = await sh(kube, 'c1', 'echo v4 | socat -T 3 - TCP4:198.51.100.10:80,connect-timeout=3');
    expect(four.stdout.toString().trim()).toBe('v4.from.internet');
    expect(await cap4.lines).toMatch(/ethertype IPv4 \(0x0800\), length \d+: 172\.18\.0\.11\.\d+ > 198\.51\.100\.10\.80:/);
  });
});

describeLab('IPv6 lab: what it refuses, in one line, before building anything', () => {
  test.each([
    [['--ip-family', 'dual', '--dataplane', 'calico'], 'podwire: the calico dataplane builds IPv4 labs only; `--ip-family dual` needs one of host-gw, vxlan, kindnet'],
    [['--ip-family', 'ipv6', '--dataplane', 'flannel'], 'podwire: the flannel dataplane builds IPv4 labs only; `--ip-family ipv6` needs one of host-gw, vxlan, kindnet'],
    [['--fault', 'ipv6-missing-route'], 'podwire: fault `ipv6-missing-route` breaks IPv6 beside a clean IPv4: it needs `--ip-family dual`, got ipv4'],
    [['--ip-family', 'ipv6', '--fault', 'missing-route'], 'podwire: fault `missing-route` breaks IPv4, which an `--ip-family ipv6` lab\'s pods do not have: use `--ip-family dual` or ipv4'],
    [['--primary', 'ipv6'], 'podwire: `--primary` orders the two families of a dual-stack lab: it needs `--ip-family dual`, got ipv4'],
  ])('lab up %j', async (args, line) => {
    if (skipLab) return;
    const name = labName('trefuse6');
    const r = await cli(['lab', 'up', '--name', name, ...args], { reject: false });
    expect(r.exitCode).toBe(2);
    expect(String(r.stderr).trim()).toBe(line);
    expect(String((await cli(['lab', 'list'])).stdout)).not.toMatch(new RegExp(`^${name} `, 'm'));
  });
});
