// Acceptance 3: in both dataplanes, on the wire (tcpdump inside the lab):
// pod→pod across nodes keeps the sender's pod IP; egress to the internet host
// is SNATed to the node's underlay IP; the internet host cannot reach pods.
import { execa } from 'execa';
import { expect, test } from 'vitest';
import { captureOne, createRunningPod, describeLab, parseTcpdumpLine, podSpec, sh, useLab } from '../helpers/lab.js';

const NODES = 3;
const LISTENER = ['socat', 'TCP4-LISTEN:8080,fork,reuseaddr', 'SYSTEM:echo pong'];

for (const dataplane of ['host-gw', 'vxlan'] as const) {
  describeLab(`dataplane ${dataplane}`, () => {
    const lab = useLab(dataplane === 'vxlan' ? 'tvxlan' : 'thostgw', ['--nodes', String(NODES), '--dataplane', dataplane]);

    test(`a pod on node-1 reaches a pod on node-${NODES} and the receiver sees the sender's pod IP`, async () => {
      const { kube } = lab();
      const [a, b] = await Promise.all([
        createRunningPod(kube, podSpec('sender', 'node-1', ['sleep', '3600'])),
        createRunningPod(kube, podSpec('receiver', `node-${NODES}`, LISTENER)),
      ]);
      const cap = captureOne(kube, 'receiver', 'eth0', 'udp dst port 7777');
      await cap.listening;
      const send = await sh(kube, 'sender', `for i in 1 2 3; do echo podwire/test/flow | socat -u - UDP4-SENDTO:${b.status!.podIP}:7777; sleep 0.2; done`);
      expect(send.exitCode).toBe(0);
      const seen = parseTcpdumpLine((await cap.done).stdout.toString());
      expect(seen).toEqual({ src: a.status!.podIP, dst: b.status!.podIP });

      // TCP both ways, through the listener.
      const tcp = await sh(kube, 'sender', `socat -T 3 - TCP4:${b.status!.podIP}:8080,connect-timeout=3 </dev/null`);
      expect(tcp.stdout.toString().trim()).toBe('pong');
    });

    test("cross-node pod traffic crosses the underlay as the dataplane says", async () => {
      const { kube } = lab();
      await createRunningPod(kube, podSpec('host-1', 'node-1', ['sleep', '3600'], { hostNetwork: true }));
      const receiver = await kube.core.readNamespacedPod({ name: 'receiver', namespace: 'default' });
      const filter = dataplane === 'vxlan' ? 'udp dst port 8472' : `udp dst port 7778 and dst host ${receiver.status!.podIP}`;
      const cap = captureOne(kube, 'host-1', 'eth0', filter);
      await cap.listening;
      await sh(kube, 'sender', `for i in 1 2 3; do echo x | socat -u - UDP4-SENDTO:${receiver.status!.podIP}:7778; sleep 0.2; done`);
      const seen = parseTcpdumpLine((await cap.done).stdout.toString());
      // VXLAN: the outer header is node to node; host-gw: the pod addresses themselves.
      expect(seen?.src).toBe(dataplane === 'vxlan' ? '172.18.0.11' : (await kube.core.readNamespacedPod({ name: 'sender', namespace: 'default' })).status!.podIP);
      expect(seen?.dst).toBe(dataplane === 'vxlan' ? `172.18.0.${10 + NODES}` : receiver.status!.podIP);
    });

    test('a pod reaches the internet host, which sees the node underlay IP', async () => {
      const { name } = lab();
      const tcpdump = execa('ip', ['netns', 'exec', `pw-${name}-internet`, 'timeout', '15', 'tcpdump', '-i', 'eth0', '-nn', '-l', '-c', '1', 'udp dst port 9999'], { reject: false });
      await new Promise<void>((resolve) => {
        let err = '';
        tcpdump.stderr!.on('data', (d: Buffer) => {
          err += d.toString();
          if (err.includes('listening on')) resolve();
        });
        void tcpdump.finally(resolve);
      });
      await sh(lab().kube, 'sender', 'for i in 1 2 3; do echo out | socat -u - UDP4-SENDTO:198.51.100.10:9999; sleep 0.2; done');
      const seen = parseTcpdumpLine(String((await tcpdump).stdout));
      expect(seen).toEqual({ src: '172.18.0.11', dst: '198.51.100.10' });
    });

    test('the internet host cannot reach any pod IP (while another pod can)', async () => {
      const { name, kube } = lab();
      const receiver = await kube.core.readNamespacedPod({ name: 'receiver', namespace: 'default' });
      const ip = receiver.status!.podIP!;
      const fromPod = await sh(kube, 'sender', `socat -T 3 - TCP4:${ip}:8080,connect-timeout=3 </dev/null`);
      expect(fromPod.stdout.toString().trim()).toBe('pong');
      const fromInternet = await execa('ip', ['netns', 'exec', `pw-${name}-internet`, 'socat', '-T', '3', '-', `TCP4:${ip}:8080,connect-timeout=3`], { reject: false, input: '' });
      expect(fromInternet.exitCode).not.toBe(0);
      expect(fromInternet.stdout).not.toContain('pong');
      // The router knows no pod routes: it answers with ICMP network unreachable.
      expect(fromInternet.stderr).toMatch(/unreachable/i);
    });
  });
}
