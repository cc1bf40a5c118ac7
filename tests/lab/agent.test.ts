// The probe agent in lab pods, through the real pods/exec path: listeners
// started by listenerContainer (pod network and host network), inventories
// with uplink lookups, flows across nodes, a full-size DF datagram sized by a
// route's MTU as the receiver's tcpdump sees it, and 2,000 flows in one exec.
import { execa } from 'execa';
import { readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import type { V1Pod } from '@kubernetes/client-node';
import type { Kube } from '../../src/kube/client.js';
import { execInPod } from '../../src/kube/exec.js';
import { PassThrough } from 'node:stream';
import { decodeCapture } from '../../src/decode/buffer.js';
import {
  agentExec, listenerContainer, parseInventoryOutput, parseSendOutput, parseSendStream, sendTimeoutMs,
  type AgentFlow, type InventoryArgs, type SendArgs,
} from '../../src/conformance/agent.js';
import { createRunningPod, describeLab, sh, useLab } from '../helpers/lab.js';

// A run id of its own: port and capture files are named by run.
const RUN = `tag${Date.now().toString(36)}`;
const BASE = 7300;

// `lab down` SIGKILLs pods, so their listeners cannot remove their port files (a real pod's /tmp goes with it).
afterAll(() => {
  for (const f of readdirSync(tmpdir())) if (f.startsWith(`podwire-${RUN}-`) && f.endsWith('.port')) rmSync(join(tmpdir(), f), { force: true });
});

function listenerPod(name: string, node: string, hostNetwork = false): V1Pod {
  const c = listenerContainer({ run: RUN, portBase: BASE });
  return {
    metadata: { name, labels: { test: 'podwire' } },
    spec: { nodeName: node, hostNetwork, containers: [{ name: 'probe', image: 'podwire/probe', command: c.command, env: c.env }] },
  };
}

async function agent(kube: Kube, pod: string, mode: 'inventory' | 'send', args: InventoryArgs | SendArgs) {
  const e = agentExec(mode, args);
  const timeoutMs = mode === 'send' ? sendTimeoutMs(args as SendArgs) : 30_000;
  const r = await execInPod(kube.kc, { namespace: 'default', pod }, e.command, { stdin: e.stdin, timeoutMs });
  return { ...r, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

async function inventory(kube: Kube, pod: string, role: 'pod' | 'host', uplinkQueries?: { src: string; dst: string }[]) {
  const r = await agent(kube, pod, 'inventory', { run: RUN, pod, role, ...(uplinkQueries ? { uplinkQueries } : {}) });
  expect(r.stderr).toBe('');
  expect(r.exitCode).toBe(0);
  return parseInventoryOutput(r.stdout);
}

async function send(kube: Kube, pod: string, flows: AgentFlow[], replyWaitMs = 3000) {
  const r = await agent(kube, pod, 'send', { flows, replyWaitMs, connectTimeoutMs: 4000 });
  expect(r.stderr).toBe('');
  expect(r.exitCode).toBe(0);
  return parseSendOutput(r.stdout);
}

/** tcpdump -v in a pod; resolves `listening` once it runs, `done` with its text after `count` packets. */
function capture(kube: Kube, pod: string, filter: string, count = 1) {
  let ready!: () => void;
  const listening = new Promise<void>((r) => (ready = r));
  let err = '';
  const done = execInPod(kube.kc, { namespace: 'default', pod }, ['timeout', '20', 'tcpdump', '-i', 'eth0', '-nn', '-v', '-l', '-c', String(count), filter], {
    timeoutMs: 30_000,
    onOutput: (stream, chunk) => {
      if (stream !== 'stderr') return;
      err += chunk.toString();
      if (err.includes('listening on')) ready();
    },
  });
  done.then(ready, ready);
  return { listening, done: done.then((r) => r.stdout.toString()) };
}

const tok = (id: string) => `podwire/${RUN}/${id}`;

describeLab('the probe agent in a host-gw lab', () => {
  const lab = useLab('tagenthg', ['--nodes', '2', '--dataplane', 'host-gw']);
  const ip: Record<string, string> = {};
  const port: Record<string, number> = {};

  test('listeners start from listenerContainer in pod-network and host-network pods; two on one node\'s host network take different ports', async () => {
    const { kube } = lab();
    const pods = await Promise.all([
      createRunningPod(kube, listenerPod('pa1', 'node-1')),
      createRunningPod(kube, listenerPod('pa2', 'node-2')),
      createRunningPod(kube, listenerPod('h1', 'node-1', true)),
      createRunningPod(kube, listenerPod('h1b', 'node-1', true)),
    ]);
    for (const p of pods) ip[p.metadata!.name!] = p.status!.podIP!;
    for (const [name, role] of [['pa1', 'pod'], ['pa2', 'pod'], ['h1', 'host'], ['h1b', 'host']] as const) {
      const inv = await inventory(kube, name, role);
      expect(inv.portError).toBeUndefined();
      port[name] = inv.port!;
      // The port file is the listener's own (read in the pod: its /tmp).
      expect((await sh(kube, name, `cat "\${TMPDIR:-/tmp}/podwire-${RUN}-${name}.port"`)).stdout.toString().trim()).toBe(String(inv.port));
    }
    // Pods on the pod network each have their own ports: the base. The host network is shared.
    expect(port.pa1).toBe(BASE);
    expect(port.pa2).toBe(BASE);
    expect(new Set([port.h1, port.h1b]).size).toBe(2);
    expect([port.h1, port.h1b].every((p) => p! >= BASE && p! < BASE + 50)).toBe(true);
  });

  test('inventory: a pod\'s eth0 address and MTU; the host probe\'s uplink for pod traffic leaving the node is eth0', async () => {
    const { kube } = lab();
    const pod = await inventory(kube, 'pa1', 'pod');
    const eth0 = pod.addresses.find((a) => a.ifname === 'eth0' && a.family === 4)!;
    expect(eth0.address).toBe(ip.pa1);
    expect(eth0.ifindex).toBe(Number((await sh(kube, 'pa1', 'cat /sys/class/net/eth0/ifindex')).stdout.toString()));
    expect(pod.mtu).toBe(Number((await sh(kube, 'pa1', 'cat /sys/class/net/eth0/mtu')).stdout.toString()));
    expect(pod.routes).toMatch(/^default via 10\.244\.1\.1 dev eth0/m);
    expect(pod.addresses.some((a) => a.ifname === 'lo')).toBe(false);

    const host = await inventory(kube, 'h1', 'host', [{ src: ip.pa1!, dst: ip.pa2! }, { src: ip.pa1!, dst: '198.51.100.10' }, { src: ip.pa1!, dst: '172.18.0.11' }]);
    const eth0Index = Number((await sh(kube, 'h1', 'cat /sys/class/net/eth0/ifindex')).stdout.toString());
    expect(host.addresses.map((a) => `${a.ifname} ${a.address}`)).toEqual(expect.arrayContaining(['eth0 172.18.0.11', 'cni0 10.244.1.1']));
    expect(host.uplinks).toEqual([
      { src: ip.pa1, dst: ip.pa2, devices: [{ name: 'eth0', ifindex: eth0Index }] },
      { src: ip.pa1, dst: '198.51.100.10', devices: [{ name: 'eth0', ifindex: eth0Index }] },
      // The node's own address: the packet does not leave the node.
      { src: ip.pa1, dst: '172.18.0.11', devices: [], reason: '172.18.0.11 is a local address of this node: the packet does not leave it' },
    ]);
  });

  test('uplinks follow ECMP (every nexthop device) and policy rules (the table the pod\'s packet uses)', async () => {
    const { kube, name } = lab();
    // A second "NIC" in node-1 (a veth pair inside the node's netns) and route lookups only: no traffic.
    const netns = `pw-${name}-node-1`;
    const ipn = (args: string) => execa('ip', ['-n', netns, ...args.split(' ')]);
    await ipn('link add pwx0 type veth peer name pwx1');
    try {
      await ipn('link set pwx0 up');
      await ipn('link set pwx1 up');
      await ipn('addr add 192.168.77.1/24 dev pwx0');
      await ipn('route add 203.0.113.0/24 nexthop via 172.18.0.1 dev eth0 nexthop via 192.168.77.2 dev pwx0');
      await ipn('route add 203.0.114.0/24 via 172.18.0.1 dev eth0');
      await ipn('route add 203.0.114.0/24 via 192.168.77.2 dev pwx0 table 177');
      await ipn(`rule add from ${ip.pa1}/32 to 203.0.114.0/24 lookup 177`);
      const host = await inventory(kube, 'h1', 'host', [{ src: ip.pa1!, dst: '203.0.113.9' }, { src: ip.pa1!, dst: '203.0.114.9' }, { src: '10.244.1.250', dst: '203.0.114.9' }]);
      const idx = async (dev: string) => Number((await sh(kube, 'h1', `cat /sys/class/net/${dev}/ifindex`)).stdout.toString());
      const eth0 = { name: 'eth0', ifindex: await idx('eth0') };
      const pwx0 = { name: 'pwx0', ifindex: await idx('pwx0') };
      // ECMP: whichever nexthop the hash picked comes first, the other follows.
      expect(host.uplinks[0]!.devices).toHaveLength(2);
      expect(host.uplinks[0]!.devices).toEqual(expect.arrayContaining([eth0, pwx0]));
      expect(host.uplinks[0]!.notes).toEqual(['multipath route 203.0.113.0/24 (table main): nexthops via eth0, pwx0']);
      // The rule sends pa1's packet by table 177; another source on the same bridge keeps the main table.
      expect(host.uplinks[1]).toEqual({ src: ip.pa1, dst: '203.0.114.9', devices: [pwx0] });
      expect(host.uplinks[2]).toEqual({ src: '10.244.1.250', dst: '203.0.114.9', devices: [eth0] });
    } finally {
      await ipn(`rule del from ${ip.pa1}/32 to 203.0.114.0/24 lookup 177`).catch(() => undefined);
      await ipn('link del pwx0').catch(() => undefined); // takes its routes along
      await ipn('route del 203.0.114.0/24').catch(() => undefined);
    }
  });

  test('TCP and UDP across nodes, from a pod and from the host network: each reply names its receiver, the source is as routed', async () => {
    const { kube } = lab();
    const fromPod = await send(kube, 'pa1', [
      { id: 'pt', token: tok('pt'), proto: 'tcp', dst: ip.pa2!, port: port.pa2! },
      { id: 'pu', token: tok('pu'), proto: 'udp', dst: ip.pa2!, port: port.pa2! },
      { id: 'ph', token: tok('ph'), proto: 'tcp', dst: '172.18.0.12', port: BASE + 49 }, // nothing listens there
    ]);
    expect(fromPod.get('pt')).toMatchObject({ src: ip.pa1, errno: 0, reply: `${tok('pt')}.from.pa2`, retried: false });
    expect(fromPod.get('pu')).toMatchObject({ src: ip.pa1, errno: 0, reply: `${tok('pu')}.from.pa2`, retried: false });
    expect(fromPod.get('ph')).toMatchObject({ src: ip.pa1, errno: 111, error: 'ECONNREFUSED', retried: false });
    const fromHost = await send(kube, 'h1', [
      { id: 'ht', token: tok('ht'), proto: 'tcp', dst: ip.pa2!, port: port.pa2! },
      { id: 'hl', token: tok('hl'), proto: 'tcp', dst: ip.pa1!, port: port.pa1! },
    ]);
    // Host network: the underlay address towards the other node, the bridge's towards a local pod.
    expect(fromHost.get('ht')).toMatchObject({ src: '172.18.0.11', errno: 0, reply: `${tok('ht')}.from.pa2` });
    expect(fromHost.get('hl')).toMatchObject({ src: '10.244.1.1', errno: 0, reply: `${tok('hl')}.from.pa1` });
  });

  test('a route MTU of 1400 makes the MTU flow send one 1400-byte DF datagram, seen at full size by the receiver', async () => {
    const { kube } = lab();
    const set = await sh(kube, 'pa1', `ip route replace ${ip.pa2}/32 via 10.244.1.1 dev eth0 mtu lock 1400`);
    expect(set.exitCode).toBe(0);
    const cap = capture(kube, 'pa2', `udp and src host ${ip.pa1} and dst port ${port.pa2}`);
    await cap.listening;
    const sent = await send(kube, 'pa1', [{ id: 'm', token: tok('m'), proto: 'udp', dst: ip.pa2!, port: port.pa2!, mtu: true }]);
    expect(sent.get('m')).toMatchObject({ errno: 0, size: 1400, routeMtu: 1400, src: ip.pa1, retried: false });
    const seen = await cap.done;
    expect(seen).toMatch(/flags \[DF\], proto UDP \(17\), length 1400\)/);
    expect(seen).toContain(`${ip.pa1}.${sent.get('m')!.sport} > ${ip.pa2}.${port.pa2}: UDP, length 1372`);
    // Without an MTU on the route, the device's.
    const plain = await send(kube, 'pa1', [{ id: 'm2', token: tok('m2'), proto: 'udp', dst: '172.18.0.12', port: BASE + 49, mtu: true }]);
    expect(plain.get('m2')).toMatchObject({ errno: 0, size: Number((await sh(kube, 'pa1', 'cat /sys/class/net/eth0/mtu')).stdout.toString()) });
  });

  test('2,000 flows through one exec (the agent and its arguments on stdin, not in the URL) all come back answered', async () => {
    const { kube } = lab();
    const flows: AgentFlow[] = Array.from({ length: 2000 }, (_, i) => ({ id: `k${i}`, token: tok(`k${i}`), proto: i % 2 ? 'udp' : 'tcp', dst: ip.pa2!, port: port.pa2! }));
    const e = agentExec('send', { flows, replyWaitMs: 3000, connectTimeoutMs: 4000 });
    expect(e.stdin.length).toBeGreaterThan(150_000);
    const t0 = Date.now();
    const sent = await send(kube, 'pa1', flows);
    const ms = Date.now() - t0;
    expect(sent.size).toBe(2000);
    expect([...sent.values()].filter((s) => s.errno !== 0 || s.reply !== `${tok(s.id)}.from.pa2`).map((s) => `${s.id} ${s.error ?? ''} ${s.reply}`)).toEqual([]);
    const retried = [...sent.values()].filter((s) => s.retried).length;
    console.log(`2,000 cross-node flows through one exec: ${ms} ms, ${retried} retried`);
  });

  test('a capture started by the inventory stops on one line on stdin and comes back, verified, in the same send exec', async () => {
    const { kube } = lab();
    const spec = { filter: `tcp portrange ${BASE}-${BASE + 49} or udp portrange ${BASE}-${BASE + 49}` };
    const inv = parseInventoryOutput((await agent(kube, 'pa2', 'inventory', { run: RUN, pod: 'pa2', role: 'pod', capture: spec })).stdout);
    expect(inv.captureError).toBeUndefined();
    expect(inv.capture).toMatchObject({ pid: expect.any(Number), pcap: expect.stringContaining(`podwire-cap-${RUN}-pa2.pcap`) });
    const flows: AgentFlow[] = [
      { id: 'c1', token: `podwire/${RUN}/c1`, proto: 'tcp', dst: ip.pa2!, port: port.pa2! },
      { id: 'c2', token: `podwire/${RUN}/c2`, proto: 'udp', dst: ip.pa2!, port: port.pa2! },
    ];
    expect([...(await send(kube, 'pa1', flows)).values()].map((x) => x.errno)).toEqual([0, 0]);
    // The receiver's own send exec: no flows, then "done", then it waits for our line before it stops the capture.
    const input = new PassThrough();
    const e = agentExec('send', { flows: [], replyWaitMs: 1000, connectTimeoutMs: 1000, capture: inv.capture! });
    input.write(e.stdin);
    let done!: () => void;
    const sawDone = new Promise<void>((r) => (done = r));
    let text = '';
    const exec = execInPod(kube.kc, { namespace: 'default', pod: 'pa2' }, e.command, {
      stdin: input, timeoutMs: 60_000,
      onOutput: (stream, chunk) => {
        text += stream === 'stdout' ? chunk.toString('latin1') : '';
        if (text.includes('{"done":true}')) done();
      },
    });
    await sawDone;
    // Still running: it holds the capture until told.
    expect(await alive(kube, 'pa2', inv.capture!.pid)).toBe(true);
    input.end('finish\n');
    const r = await exec;
    expect(r.exitCode).toBe(0);
    const out = parseSendStream(r.stdout);
    expect(out.done).toBe(true);
    if (!out.capture || !('bytes' in out.capture)) throw new Error(`no capture: ${JSON.stringify(out.capture)}`);
    expect(out.capture.stats).toMatchObject({ droppedByKernel: 0 });
    expect(out.capture.stats.captured).toBeGreaterThan(0);
    const tokens = new Set(decodeCapture(out.capture.bytes).map((p) => p.token).filter(Boolean));
    expect(tokens).toEqual(new Set([`podwire/${RUN}/c1`, `podwire/${RUN}/c2`, `podwire/${RUN}/c1.from.pa2`, `podwire/${RUN}/c2.from.pa2`]));
    // tcpdump ended (its PID is the pod's, as the agent saw it) and its files are gone.
    expect(await alive(kube, 'pa2', inv.capture!.pid)).toBe(false);
    expect((await sh(kube, 'pa2', `ls "\${TMPDIR:-/tmp}" | grep -c 'podwire-cap-${RUN}-pa2' || true`)).stdout.toString().trim()).toBe('0');
  });

  test('SIGTERM makes a listener remove its port file and end a capture no one streamed', async () => {
    const { kube } = lab();
    const inv = parseInventoryOutput((await agent(kube, 'h1b', 'inventory', { run: RUN, pod: 'h1b', role: 'host', capture: { filter: 'tcp port 9' } })).stdout);
    expect(inv.capture?.pid).toBeGreaterThan(0);
    const files = async () => (await sh(kube, 'h1b', `ls "\${TMPDIR:-/tmp}" | grep -E '^podwire-(cap-)?${RUN}-h1b' || true`)).stdout.toString().trim().split('\n').filter(Boolean).sort();
    expect(await files()).toEqual([`podwire-${RUN}-h1b.port`, `podwire-cap-${RUN}-h1b.log`, `podwire-cap-${RUN}-h1b.pcap`, `podwire-cap-${RUN}-h1b.pid`].sort());
    // The listener is the container: besides the pod's init (PID 1), the one process whose parent is outside the pod, other than this shell.
    const term = await sh(kube, 'h1b', 'for p in $(ps -e -o pid=,ppid= | awk \'$2 == 0 && $1 != 1 { print $1 }\'); do [ "$p" = "$$" ] || kill -TERM "$p"; done; echo sent');
    expect(term.stdout.toString()).toBe('sent\n');
    const deadline = Date.now() + 10_000;
    let left = await files();
    while (left.length && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      left = await files();
    }
    expect(left).toEqual([]);
    // tcpdump dies of the SIGKILL the listener sends it, which can land a moment after its files are gone.
    let running = await alive(kube, 'h1b', inv.capture!.pid);
    while (running && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      running = await alive(kube, 'h1b', inv.capture!.pid);
    }
    expect(running).toBe(false);
  });
});

/** Whether `pid` (a PID of the pod's own namespace) runs in the pod. */
async function alive(kube: Kube, pod: string, pid: number): Promise<boolean> {
  const r = await sh(kube, pod, `if [ -d /proc/${pid} ] && ! grep -q '^State:.*Z' /proc/${pid}/status; then echo yes; else echo no; fi`);
  return r.stdout.toString().trim() === 'yes';
}

describeLab('the probe agent in a vxlan lab', () => {
  const lab = useLab('tagentvx', ['--nodes', '2', '--dataplane', 'vxlan']);

  test('the uplink of cross-node pod traffic is the VXLAN device and its underlay eth0; egress is eth0 alone', async () => {
    const { kube } = lab();
    const [a, b] = await Promise.all([
      createRunningPod(kube, listenerPod('va1', 'node-1')),
      createRunningPod(kube, listenerPod('va2', 'node-2')),
      createRunningPod(kube, listenerPod('vh1', 'node-1', true)),
    ]);
    const host = await inventory(kube, 'vh1', 'host', [{ src: a.status!.podIP!, dst: b.status!.podIP! }, { src: a.status!.podIP!, dst: '198.51.100.10' }]);
    const idx = async (dev: string) => Number((await sh(kube, 'vh1', `cat /sys/class/net/${dev}/ifindex`)).stdout.toString());
    expect(host.uplinks[0]).toMatchObject({ devices: [{ name: 'flannel.1', ifindex: await idx('flannel.1') }, { name: 'eth0', ifindex: await idx('eth0') }] });
    expect(host.uplinks[0]!.notes).toEqual(['flannel.1 is a vxlan tunnel over eth0']);
    expect(host.uplinks[1]).toEqual({ src: a.status!.podIP, dst: '198.51.100.10', devices: [{ name: 'eth0', ifindex: await idx('eth0') }] });
    // And traffic over it: the agent's reply comes back through the tunnel.
    const sent = await send(kube, 'va1', [{ id: 'v', token: tok('v'), proto: 'udp', dst: b.status!.podIP!, port: BASE }]);
    expect(sent.get('v')).toMatchObject({ errno: 0, reply: `${tok('v')}.from.va2` });
  });
});
