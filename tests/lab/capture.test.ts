// Capture acceptance 3: tcpdump controlled through exec in lab pods; every
// token comes back decoded with both pod IPs, inside VXLAN on the receiving
// node's uplink in the vxlan lab; a 20 MB capture arrives with its sha256.
import { createHash } from 'node:crypto';
import { beforeAll, expect, test } from 'vitest';
import type { V1Pod } from '@kubernetes/client-node';
import { PodCapture, captureComplete } from '../../src/capture/tcpdump.js';
import { decodeCapture } from '../../src/decode/buffer.js';
import { inner, innermostIp, outermostIp, type DecodedPacket } from '../../src/decode/index.js';
import { createRunningPod, describeLab, podSpec, sh, useLab } from '../helpers/lab.js';

const N = 200;
const LISTENERS = ['sh', '-c', 'socat -u TCP4-LISTEN:7001,fork,reuseaddr OPEN:/dev/null & socat -u TCP4-LISTEN:7002,fork,reuseaddr OPEN:/dev/null & wait'];

function senderScript(run: string, ip: string): string {
  return [
    `i=1; while [ $i -le ${N} ]; do printf 'podwire/${run}/u-%d\\n' $i | socat -u - UDP4-SENDTO:${ip}:7000; i=$((i+1)); done`,
    `i=1; while [ $i -le ${N} ]; do printf 'podwire/${run}/t-%d\\n' $i | socat -u - TCP4:${ip}:7001; i=$((i+1)); done`,
  ].join('\n');
}

const expectedTokens = (run: string) => new Set([...Array(N).keys()].flatMap((i) => [`podwire/${run}/u-${i + 1}`, `podwire/${run}/t-${i + 1}`]));

function tokensSeen(packets: DecodedPacket[], src: string, dst: string): Set<string> {
  const seen = new Set<string>();
  for (const p of packets) {
    const ip = innermostIp(p);
    if (p.token && ip?.src === src && ip.dst === dst) seen.add(p.token);
  }
  return seen;
}

for (const dataplane of ['host-gw', 'vxlan'] as const) {
  describeLab(`captures through exec (${dataplane})`, () => {
    const lab = useLab(dataplane === 'vxlan' ? 'tcapvx' : 'tcaphg', ['--nodes', '2', '--dataplane', dataplane]);
    let a: V1Pod;
    let b: V1Pod;
    beforeAll(async () => {
      const { kube } = lab();
      [a, b] = await Promise.all([
        createRunningPod(kube, podSpec('a', 'node-1', ['sleep', '3600'])),
        createRunningPod(kube, podSpec('b', 'node-2', LISTENERS)),
        createRunningPod(kube, podSpec('host-2', 'node-2', ['sleep', '3600'], { hostNetwork: true })),
      ]);
    });

    test(`${N} UDP and ${N} TCP tokens from a pod on node-1 are all decoded at the pod on node-2 with both pod IPs`, async () => {
      const { kube } = lab();
      const run = `cap-${dataplane}`;
      const atPod = new PodCapture(kube.kc, { namespace: 'default', pod: 'b' }, { iface: 'eth0', filter: 'udp port 7000 or tcp port 7001' });
      const atUplink = new PodCapture(kube.kc, { namespace: 'default', pod: 'host-2' }, { iface: 'eth0', filter: dataplane === 'vxlan' ? 'udp port 8472' : 'udp port 7000 or tcp port 7001' });
      try {
        await Promise.all([atPod.start(), atUplink.start()]);
        const sent = await sh(kube, 'a', senderScript(run, b.status!.podIP!));
        expect(sent.exitCode, sent.stderr.toString()).toBe(0);
        const [podCap, uplinkCap] = await Promise.all([atPod.retrieve(), atUplink.retrieve()]);
        expect(captureComplete(podCap.stats), JSON.stringify(podCap.stats)).toBe(true);
        expect(captureComplete(uplinkCap.stats), JSON.stringify(uplinkCap.stats)).toBe(true);

        const atB = decodeCapture(podCap.bytes);
        expect(tokensSeen(atB, a.status!.podIP!, b.status!.podIP!)).toEqual(expectedTokens(run));

        const uplink = decodeCapture(uplinkCap.bytes);
        expect(tokensSeen(uplink, a.status!.podIP!, b.status!.podIP!)).toEqual(expectedTokens(run));
        if (dataplane === 'vxlan') {
          // Every token packet on the uplink is encapsulated node to node, VNI 1.
          const tokenPackets = uplink.filter((p) => p.token);
          expect(tokenPackets.every((p) => p.encapsulation.includes('vxlan') && inner(p, 'vxlan')?.vni === 1
            && outermostIp(p)?.src === '172.18.0.11' && outermostIp(p)?.dst === '172.18.0.12')).toBe(true);
        }
      } finally {
        await Promise.all([atPod.cleanup(), atUplink.cleanup()]);
      }
    });

    if (dataplane === 'host-gw') {
      test('a 20 MB capture comes back byte-exact (length and sha256 checked in the pod)', async () => {
        const { kube } = lab();
        const cap = new PodCapture(kube.kc, { namespace: 'default', pod: 'b' }, { iface: 'eth0', filter: 'tcp port 7002', snaplen: 262144, bufferKiB: 262144 });
        try {
          await cap.start();
          const sent = await sh(kube, 'a', `head -c 20000000 /dev/zero | socat -u - TCP4:${b.status!.podIP}:7002`);
          expect(sent.exitCode).toBe(0);
          const got = await cap.retrieve();
          expect(captureComplete(got.stats), JSON.stringify(got.stats)).toBe(true);
          expect(got.bytes.length).toBeGreaterThan(20_000_000);
          expect(createHash('sha256').update(got.bytes).digest('hex')).toBe(got.sha256);
          const packets = decodeCapture(got.bytes);
          const payload = packets.reduce((n, p) => n + (inner(p, 'tcp')?.payloadLength ?? 0), 0);
          // The capture holds every payload byte sent (retransmissions may add some).
          expect(payload).toBeGreaterThanOrEqual(20_000_000);
        } finally {
          await cap.cleanup();
        }
      });
    }
  });
}
