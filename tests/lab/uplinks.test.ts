// The lab's underlay options on the wire (tcpdump inside the lab): ECMP default
// routes and policy-routed egress through a second NIC (FIELD.md §3), and an
// end-to-end MTU whose full-size datagrams cross nodes whole until one fabric
// port is lowered (FIELD.md §4).
import { execa } from 'execa';
import { expect, test } from 'vitest';
import type { V1Pod } from '@kubernetes/client-node';
import { execInPod } from '../../src/kube/exec.js';
import type { Kube } from '../../src/kube/client.js';
import { captureInNetns, captureOne, createRunningPod, describeLab, parseTcpdumpLine, podSpec, sh, useLab } from '../helpers/lab.js';

const INTERNET = '198.51.100.10';
const SLEEP = ['sleep', '3600'];
const SYN_TO_80 = 'tcp dst port 80 and tcp[tcpflags] & tcp-syn != 0';

/** Starts `tcpdump -c 1` in a lab netns; `listening` resolves once it captures, `done` gives its output. */

/** The internet host's echo, asked from a pod: its reply line, or what went wrong. */
async function askInternet(kube: Kube, pod: string, token: string): Promise<string> {
  const r = await sh(kube, pod, `echo ${token} | socat -T 3 - TCP4:${INTERNET}:80,connect-timeout=3`);
  return (r.stdout.toString() + r.stderr.toString()).trim();
}

/** The device a node would forward a pod's packet to `dst` out of (the kernel's own choice, ECMP hash and rules included). */
async function egressDev(netns: string, podIP: string, dst: string): Promise<string> {
  const out = String((await execa('ip', ['-n', netns, 'route', 'get', dst, 'from', podIP, 'iif', 'cni0'])).stdout);
  return /\bdev (\S+)/.exec(out)![1]!;
}

/** Egress from a pod, seen where `netns`'s `iface` carries it: the reply and the source the capture saw. */
async function egressSeenAt(kube: Kube, pod: string, netns: string, iface: string, token: string) {
  const cap = captureInNetns(netns, iface, SYN_TO_80);
  await cap.listening;
  const reply = await askInternet(kube, pod, token);
  return { reply, seen: parseTcpdumpLine(await cap.done) };
}

describeLab('--uplinks ecmp', () => {
  const lab = useLab('tuecmp', ['--nodes', '2', '--uplinks', 'ecmp']);

  test('every node has one default route with a nexthop per NIC, and lab status lists both addresses', async () => {
    const { name, status } = lab();
    for (const i of [1, 2]) {
      const routes = JSON.parse(String((await execa('ip', ['-j', '-n', `pw-${name}-node-${i}`, 'route', 'show', 'default'])).stdout)) as
        { dst: string; nexthops?: { gateway: string; dev: string }[] }[];
      expect(routes).toHaveLength(1);
      expect(routes[0]!.nexthops?.map((h) => [h.gateway, h.dev])).toEqual([['172.18.0.1', 'eth0'], ['172.18.1.1', 'eth1']]);
    }
    const s = await status();
    expect(s).toMatchObject({ uplinks: 'ecmp', mtu: 1500 });
    expect(s.nodes.map((n) => [n.underlayIP, n.underlayIPs])).toEqual([
      ['172.18.0.11', ['172.18.0.11', '172.18.1.11']],
      ['172.18.0.12', ['172.18.0.12', '172.18.1.12']],
    ]);
  });

  test('pod egress leaves by either nexthop, masqueraded to that NIC\'s address, and gets its reply', async () => {
    const { name, kube } = lab();
    const netns = `pw-${name}-node-1`;
    // The multipath hash (source and destination address) picks the NIC per pod: add pods until each NIC carries one.
    const byDev = new Map<string, V1Pod>();
    for (let i = 0; i < 16 && byDev.size < 2; i++) {
      const pod = await createRunningPod(kube, podSpec(`ecmp-${i}`, 'node-1', SLEEP));
      const dev = await egressDev(netns, pod.status!.podIP!, INTERNET);
      if (!byDev.has(dev)) byDev.set(dev, pod);
    }
    expect([...byDev.keys()].sort()).toEqual(['eth0', 'eth1']);
    const addressOf = { eth0: '172.18.0.11', eth1: '172.18.1.11' } as const;
    for (const dev of ['eth0', 'eth1'] as const) {
      const pod = byDev.get(dev)!.metadata!.name!;
      // Seen by the internet host: after every NAT on the way.
      const { reply, seen } = await egressSeenAt(kube, pod, `pw-${name}-internet`, 'eth0', `ecmp${dev}`);
      expect(reply, `${pod} via ${dev}`).toBe(`ecmp${dev}.from.internet`);
      expect(seen, `${pod} via ${dev}`).toEqual({ src: addressOf[dev], dst: INTERNET });
    }
  });
});

for (const dataplane of ['host-gw', 'vxlan'] as const) {
  describeLab(`--uplinks policy, ${dataplane}`, () => {
    const lab = useLab(dataplane === 'vxlan' ? 'tupolicyvxlan' : 'tupolicyhostgw', ['--nodes', '3', '--dataplane', dataplane, '--uplinks', 'policy']);

    test('only node-2 has a second NIC, and lab status says so', async () => {
      const s = await lab().status();
      expect(s.uplinks).toBe('policy');
      expect(s.nodes.map((n) => n.underlayIPs)).toEqual([['172.18.0.11'], ['172.18.0.12', '172.18.1.12'], ['172.18.0.13']]);
    });

    test("node-2's pod egress leaves by eth1 as 172.18.1.12 and its reply comes back; node-2's own and node-1's pods' egress keep eth0", async () => {
      const { name, kube } = lab();
      await Promise.all([
        createRunningPod(kube, podSpec('on2', 'node-2', SLEEP)),
        createRunningPod(kube, podSpec('on1', 'node-1', SLEEP)),
      ]);
      const pod2 = await egressSeenAt(kube, 'on2', `pw-${name}-node-2`, 'eth1', 'policy2');
      expect(pod2.reply).toBe('policy2.from.internet');
      expect(pod2.seen).toEqual({ src: '172.18.1.12', dst: INTERNET });

      const pod1 = await egressSeenAt(kube, 'on1', `pw-${name}-node-1`, 'eth0', 'policy1');
      expect(pod1.reply).toBe('policy1.from.internet');
      expect(pod1.seen).toEqual({ src: '172.18.0.11', dst: INTERNET });

      const cap = captureInNetns(`pw-${name}-node-2`, 'eth0', SYN_TO_80);
      await cap.listening;
      const own = await execa('ip', ['netns', 'exec', `pw-${name}-node-2`, 'socat', '-T', '3', '-', `TCP4:${INTERNET}:80,connect-timeout=3`], { input: 'node2\n', reject: false });
      expect(String(own.stdout).trim()).toBe('node2.from.internet');
      expect(parseTcpdumpLine(await cap.done)).toEqual({ src: '172.18.0.12', dst: INTERNET });
    });

    test('pod→pod from node-2 to another node keeps the main table and arrives with the pod IP', async () => {
      const { name, kube } = lab();
      const [sender, receiver] = await Promise.all([
        kube.core.readNamespacedPod({ name: 'on2', namespace: 'default' }),
        createRunningPod(kube, podSpec('recv1', 'node-1', SLEEP)),
      ]);
      const [from, to] = [sender.status!.podIP!, receiver.status!.podIP!];
      expect(await egressDev(`pw-${name}-node-2`, from, to)).toBe(dataplane === 'vxlan' ? 'flannel.1' : 'eth0');
      const cap = captureOne(kube, 'recv1', 'eth0', 'udp dst port 7777');
      await cap.listening;
      await sh(kube, 'on2', `for i in 1 2 3; do echo podwire/policy | socat -u - UDP4-SENDTO:${to}:7777; sleep 0.2; done`);
      expect(parseTcpdumpLine((await cap.done).stdout.toString())).toEqual({ src: from, dst: to });
    });
  });
}

// An exact-size datagram with DF set: IP_MTU_DISCOVER (10) = IP_PMTUDISC_DO (2), so
// neither the sender nor any hop may fragment it; prints what each sendto took
// (an EMSGSIZE would show a path MTU the sender learned). socat would split it.
const SEND_PY = [
  'import socket, sys',
  'dst, total = sys.argv[1], int(sys.argv[2])',
  's = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)',
  's.setsockopt(socket.IPPROTO_IP, 10, 2)',
  'print(" ".join(str(s.sendto(b"m" * (total - 28), (dst, 9911))) for _ in range(3)))',
].join('\n');

function sendDF(kube: Kube, pod: string, dst: string, total: number) {
  return sh(kube, pod, `python3 -c '${SEND_PY}' ${dst} ${total}`);
}

/** The first datagram to port 9911 that reaches `pod`: IP total length, UDP payload length, fragment offset and flags. */
function firstDatagram(kube: Kube, pod: string) {
  let ready!: () => void;
  const listening = new Promise<void>((r) => (ready = r));
  let err = '';
  const done = execInPod(kube.kc, { namespace: 'default', pod }, ['timeout', '10', 'tcpdump', '-i', 'eth0', '-nn', '-v', '-l', '-c', '1', 'udp dst port 9911'], {
    timeoutMs: 30_000,
    onOutput: (stream, chunk) => {
      if (stream !== 'stderr') return;
      err += chunk.toString();
      if (err.includes('listening on')) ready();
    },
  }).then((r) => {
    const out = r.stdout.toString();
    const ip = /offset (\d+), flags \[([^\]]*)\], proto UDP \(17\), length (\d+)\)/.exec(out);
    const udp = /UDP, length (\d+)/.exec(out);
    return ip ? { offset: Number(ip[1]), flags: ip[2], ipLength: Number(ip[3]), udpLength: udp ? Number(udp[1]) : undefined } : undefined;
  });
  done.then(ready, ready);
  return { listening, done };
}

for (const { dataplane, size } of [{ dataplane: 'host-gw', size: 9000 }, { dataplane: 'vxlan', size: 8950 }] as const) {
  describeLab(`--mtu 9000, ${dataplane}`, () => {
    const lab = useLab(`tumtu${dataplane.replace('-', '')}`, ['--nodes', '2', '--dataplane', dataplane, '--mtu', '9000']);

    test(`a ${size}-byte DF datagram from a pod on node-1 reaches a pod on node-2 whole`, async () => {
      const { kube, status } = lab();
      expect((await status()).mtu).toBe(9000);
      const [, receiver] = await Promise.all([
        createRunningPod(kube, podSpec('big-sender', 'node-1', SLEEP)),
        createRunningPod(kube, podSpec('big-receiver', 'node-2', SLEEP)),
      ]);
      expect((await sh(kube, 'big-sender', 'cat /sys/class/net/eth0/mtu')).stdout.toString().trim()).toBe(String(size));
      const cap = firstDatagram(kube, 'big-receiver');
      await cap.listening;
      const sent = await sendDF(kube, 'big-sender', receiver.status!.podIP!, size);
      expect(sent.stdout.toString().trim()).toBe(Array(3).fill(size - 28).join(' '));
      expect(await cap.done).toEqual({ offset: 0, flags: 'DF', ipLength: size, udpLength: size - 28 });
    });

    test("with node-2's fabric port lowered to 1500 the full-size datagram is dropped silently, and a small one still arrives", async () => {
      const { name, kube } = lab();
      await execa('ip', ['-n', `pw-${name}-fabric`, 'link', 'set', 'node-2', 'mtu', '1500']);
      const to = (await kube.core.readNamespacedPod({ name: 'big-receiver', namespace: 'default' })).status!.podIP!;
      const cap = firstDatagram(kube, 'big-receiver');
      await cap.listening;
      // Big ones first: if any of them arrived, it would be the first datagram the receiver sees.
      const whole = Array(3).fill(size - 28).join(' ');
      expect((await sendDF(kube, 'big-sender', to, size)).stdout.toString().trim()).toBe(whole);
      await new Promise((r) => setTimeout(r, 500));
      // Silently: no ICMP "fragmentation needed" came back, so the sender learned no smaller path MTU and a second try still goes out whole (else EMSGSIZE).
      expect((await sendDF(kube, 'big-sender', to, size)).stdout.toString().trim()).toBe(whole);
      await sendDF(kube, 'big-sender', to, 100);
      expect(await cap.done).toEqual({ offset: 0, flags: 'DF', ipLength: 100, udpLength: 72 });
    });
  });
}
