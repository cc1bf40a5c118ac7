// The probe agent without a cluster: its TypeScript wrapper (bootstrap,
// container command, parsers) and the Python script itself, run with the
// host's python3 on loopback only (listeners bind 127.0.0.1/::1 through
// PODWIRE_LOOPBACK_ONLY; every flow goes to 127.0.0.1 or ::1). No root.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import {
  AgentError, agentExec, agentSource, listenerContainer, parseInventoryOutput, parseSendOutput, sendTimeoutMs,
  type AgentFlow, type InventoryArgs, type SendArgs,
} from '../../src/conformance/agent.js';

const PY = '/usr/bin/python3';
const tmp = mkdtempSync(join(tmpdir(), 'podwire-agent-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// Everything a test starts, ended by PID after it whatever happened.
const children: ChildProcess[] = [];
const closers: (() => void)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) c();
  await Promise.all(children.splice(0).map((c) => new Promise<void>((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null) return resolve();
    c.once('exit', () => resolve());
    c.kill('SIGKILL');
  })));
});

interface Ran { code: number | null; stdout: string; stderr: string }

/** Runs the agent as the runner does: the agentExec bootstrap, stdin written and (unless told) not closed. */
function execAgent(mode: 'inventory' | 'send', args: InventoryArgs | SendArgs, opts: { env?: NodeJS.ProcessEnv; closeStdin?: boolean; stdin?: string } = {}): Promise<Ran> {
  const e = agentExec(mode, args);
  return runProcess(PY, e.command.slice(1), opts.stdin ?? e.stdin, opts);
}

function runProcess(cmd: string, argv: string[], input: string, opts: { env?: NodeJS.ProcessEnv; closeStdin?: boolean } = {}): Promise<Ran> {
  const child = spawn(cmd, argv, { env: { ...process.env, TMPDIR: tmp, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.on('error', () => undefined);
  child.stdin.write(input);
  // v4.channel.k8s.io cannot close stdin: by default the agent must not need EOF.
  if (opts.closeStdin) child.stdin.end();
  return new Promise((resolve) => child.on('close', (code) => {
    child.stdin.destroy();
    resolve({ code, stdout, stderr });
  }));
}

/** Starts `listen` with the listenerContainer command; resolves with the port it printed. */
async function startListener(pod: string, run: string, base: number): Promise<{ child: ChildProcess; port: number; exited: Promise<Ran> }> {
  const c = listenerContainer({ run, portBase: base });
  const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmp, PODWIRE_LOOPBACK_ONLY: '1', POD_NAME: pod };
  for (const e of c.env) if (e.value !== undefined) env[e.name] = e.value;
  const child = spawn(PY, c.command.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  const exited = new Promise<Ran>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      const m = / port (\d+) /.exec(stdout);
      if (m) resolve(Number(m[1]));
    });
    void exited.then((r) => reject(new Error(`listener exited ${r.code}: ${r.stderr}`)));
    setTimeout(() => reject(new Error(`listener printed nothing: ${stderr}`)), 10_000);
  });
  return { child, port, exited };
}

const portFile = (run: string, pod: string) => join(tmp, `podwire-${run}-${pod}.port`);

let nextBase = 20_000 + Math.floor(Math.random() * 180) * 50;
/** A base for a test's ports, below the ephemeral range so outgoing connections do not take them. */
const freshBase = () => (nextBase += 50) > 29_950 ? (nextBase = 20_000) : nextBase;

function tcpServer(onConn: (s: net.Socket, n: number) => void): Promise<{ port: number; remotePorts: number[] }> {
  const remotePorts: number[] = [];
  const server = net.createServer((s) => {
    remotePorts.push(s.remotePort!);
    s.on('error', () => undefined);
    onConn(s, remotePorts.length);
  });
  closers.push(() => server.close());
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ port: (server.address() as net.AddressInfo).port, remotePorts })));
}

function udpServer(): Promise<{ port: number; got: { size: number; port: number; data: Buffer }[] }> {
  const sock = dgram.createSocket('udp4');
  const got: { size: number; port: number; data: Buffer }[] = [];
  sock.on('message', (data, rinfo) => got.push({ size: data.length, port: rinfo.port, data }));
  closers.push(() => sock.close());
  return new Promise((resolve) => sock.bind(0, '127.0.0.1', () => resolve({ port: sock.address().port, got })));
}

const flow = (id: string, proto: 'tcp' | 'udp', dst: string, port: number, extra: Partial<AgentFlow> = {}): AgentFlow =>
  ({ id, token: `podwire/ut/${id}`, proto, dst, port, ...extra });

const hasIPv6Loopback = existsSync('/proc/net/if_inet6') && readFileSync('/proc/net/if_inet6', 'utf8').split('\n').some((l) => l.startsWith('00000000000000000000000000000001'));

describe('the agent source and its wrapper', () => {
  test('the source has no dollar sign (Kubernetes expands $(VAR) and $$ in commands) and parses as Python 3.8', () => {
    const src = agentSource();
    expect(src).toContain('podwire probe agent');
    expect(src.includes('$')).toBe(false);
    const r = spawnSync(PY, ['-c', 'import ast,sys; ast.parse(sys.stdin.read(), feature_version=(3, 8))'], { input: src });
    expect(r.stderr.toString()).toBe('');
    expect(r.status).toBe(0);
  });

  test('listenerContainer: python3 -c <the packed agent> listen, the pod name from the downward API, run and port base as values', () => {
    const c = listenerContainer({ run: 'abc123', portBase: 7171 });
    expect(c.command).toHaveLength(4);
    expect([c.command[0], c.command[1], c.command[3]]).toEqual(['python3', '-c', 'listen']);
    // The packed source unpacks to the agent, and is well under half its size (it goes in every probe pod's spec).
    const b64 = /b64decode\('([A-Za-z0-9+/=]+)'\)/.exec(c.command[2]!)![1]!;
    expect(inflateSync(Buffer.from(b64, 'base64')).toString()).toBe(agentSource());
    expect(c.command[2]!.length).toBeLessThan(agentSource().length / 2);
    expect(c.command[2]!.includes('$')).toBe(false);
    expect(c.env).toEqual([
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'PODWIRE_RUN', value: 'abc123' },
      { name: 'PODWIRE_PORT_BASE', value: '7171' },
    ]);
    expect(() => listenerContainer({ run: 'a/b', portBase: 7171 })).toThrow(AgentError);
    expect(() => listenerContainer({ run: 'r', portBase: 65500 })).toThrow(/no room/);
    expect(() => listenerContainer({ run: 'r', portBase: 0 })).toThrow(AgentError);
  });

  test('agentExec keeps the command short with 20,000 flows, and the whole payload reaches the agent without EOF', async () => {
    const flows = Array.from({ length: 20_000 }, (_, i) => flow(`f${i}`, 'udp', '127.0.0.1', 9));
    // The last flow is invalid: the agent naming it proves it parsed all 20,000.
    flows[19_999]!.port = 70_000;
    const args: SendArgs = { flows, replyWaitMs: 100, connectTimeoutMs: 100 };
    const e = agentExec('send', args);
    expect(e.command.join(' ').length).toBeLessThan(400);
    expect(e.command.join('')).not.toContain('f19999');
    const header = e.stdin.slice(0, e.stdin.indexOf('\n'));
    const [n, m] = header.split(' ').map(Number) as [number, number];
    const body = Buffer.from(e.stdin.slice(header.length + 1));
    expect(body.length).toBe(n + m);
    expect(inflateSync(Buffer.from(body.subarray(0, n).toString(), 'base64')).toString()).toBe(agentSource());
    expect(JSON.parse(body.subarray(n).toString())).toEqual(args);
    const r = await execAgent('send', args);
    expect(r.stderr.trim()).toBe('podwire-agent send: flows[19999].port 70000 is not a port');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
  });

  test('a truncated stdin ends the bootstrap with an error, not a hang', async () => {
    const e = agentExec('send', { flows: [], replyWaitMs: 1, connectTimeoutMs: 1 });
    const r = await execAgent('send', { flows: [], replyWaitMs: 1, connectTimeoutMs: 1 }, { stdin: e.stdin.slice(0, -5), closeStdin: true });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/stdin ended early/);
    expect(r.stdout).toBe('');
  });

  test('sendTimeoutMs bounds two tries per flow, 128 at a time', () => {
    const flows = Array.from({ length: 300 }, (_, i) => flow(`f${i}`, 'tcp', '127.0.0.1', 9));
    expect(sendTimeoutMs({ flows, replyWaitMs: 3000, connectTimeoutMs: 4000 })).toBe(3 * 2 * 7000 + 11_000);
    expect(sendTimeoutMs({ flows: flows.slice(0, 1), replyWaitMs: 3000, connectTimeoutMs: 4000, parallel: 1 })).toBe(2 * 7000 + 11_000);
  });
});

describe('parsers', () => {
  const inventory = {
    addresses: [{ ifname: 'eth0', ifindex: 2, family: 4, address: '10.244.1.5', prefixlen: 24, scope: 'global' }],
    addrText: '2: eth0 inet 10.244.1.5/24', routes: 'default via 10.244.1.1 dev eth0', rules: '0: from all lookup local',
    mtu: 1450, port: 7171,
    uplinks: [
      { src: '10.244.1.5', dst: '10.244.2.5', devices: [{ name: 'flannel.1', ifindex: 5 }, { name: 'eth0', ifindex: 2 }], notes: ['flannel.1 is a vxlan tunnel over eth0'] },
      { src: '10.244.1.5', dst: '192.0.2.1', devices: [], reason: 'ip route get: Network is unreachable' },
    ],
  };

  test('a good inventory parses whole', () => {
    expect(parseInventoryOutput(JSON.stringify(inventory) + '\n')).toEqual(inventory);
    const snap = {
      ...inventory,
      links: [{ name: 'lo', ifindex: 1, mtu: 65536 }, { name: 'flannel.1', ifindex: 5, mtu: 1450, kind: 'vxlan' }, { name: 'odd', ifindex: 9 }],
      firewall: [
        { command: 'iptables-save -t nat', output: '*nat\nCOMMIT\n', omitted: '3 lines of kube-proxy per-Service chains' },
        { command: 'nft list ruleset', error: 'nft is not installed in the probe image' },
      ],
    };
    expect(parseInventoryOutput(JSON.stringify(snap))).toEqual(snap);
    const { port: _p, ...noPort } = inventory;
    expect(parseInventoryOutput(JSON.stringify({ ...noPort, portError: 'no port file' }))).toMatchObject({ portError: 'no port file' });
  });

  test.each([
    ['', /printed nothing/],
    ['Traceback (most recent call last):', /not one JSON object/],
    ['[]', /not a JSON object/],
    [JSON.stringify({ ...inventory, addresses: [{ ...inventory.addresses[0], ifindex: '2' }] }), /inventory\.addresses\[0\]\.ifindex is not an integer/],
    [JSON.stringify({ ...inventory, addresses: [{ ...inventory.addresses[0], family: 5 }] }), /addresses\[0\]\.family is not 4 or 6/],
    [JSON.stringify({ ...inventory, addresses: [{ ...inventory.addresses[0], prefixlen: 33 }] }), /addresses\[0\]\.prefixlen/],
    [JSON.stringify({ ...inventory, routes: undefined }), /inventory\.routes is missing/],
    [JSON.stringify({ ...inventory, port: 0 }), /inventory\.port is not a port number/],
    [JSON.stringify({ ...inventory, port: undefined }), /neither port nor portError/],
    [JSON.stringify({ ...inventory, uplinks: [{ src: 'a', dst: 'b', devices: [] }] }), /uplinks\[0\] has no devices and no reason/],
    [JSON.stringify({ ...inventory, uplinks: [{ src: 'a', dst: 'b', devices: [{ name: 'eth0' }] }] }), /uplinks\[0\]\.devices\[0\]\.ifindex is missing/],
    [JSON.stringify({ ...inventory, links: {} }), /inventory\.links is not a list/],
    [JSON.stringify({ ...inventory, links: [{ name: 'eth0', ifindex: 2, mtu: 0 }] }), /inventory\.links\[0\]\.mtu is not a positive integer/],
    [JSON.stringify({ ...inventory, links: [{ ifindex: 2 }] }), /inventory\.links\[0\]\.name is missing/],
    [JSON.stringify({ ...inventory, links: ['eth0'] }), /inventory\.links\[0\] is not an object/],
    [JSON.stringify({ ...inventory, firewall: [{ command: 'iptables-save -t nat' }] }), /inventory\.firewall\[0\] has neither output nor error/],
    [JSON.stringify({ ...inventory, firewall: [{ output: '' }] }), /inventory\.firewall\[0\]\.command is missing/],
    [JSON.stringify({ ...inventory, firewall: [{ command: 'x', output: 1 }] }), /inventory\.firewall\[0\]\.output is not a string/],
    [JSON.stringify({ ...inventory, firewall: [7] }), /inventory\.firewall\[0\] is not an object/],
  ])('a malformed inventory is an AgentError naming what is wrong (%#)', (out, why) => {
    expect(() => parseInventoryOutput(out)).toThrow(AgentError);
    expect(() => parseInventoryOutput(out)).toThrow(why);
  });

  const sent = { id: 'f1', src: '10.244.1.5', sport: 40000, sports: [40000, 40001], errno: 0, reply: 'podwire/r/f1.from.b', retried: true, ms: 12 };
  const refused = { id: 'f2', src: '10.244.1.5', sport: 40002, sports: [40002], errno: 111, error: 'ECONNREFUSED', reply: '', retried: false, ms: 1 };
  const mtu = { id: 'f3', src: '10.244.1.5', sport: 40003, sports: [40003], errno: 0, reply: '', size: 1400, routeMtu: 1400, retried: false, ms: 0 };

  test('send output: one object per line, blank lines ignored, keyed by flow id', () => {
    const out = parseSendOutput([sent, refused, mtu].map((x) => JSON.stringify(x)).join('\n') + '\n\n');
    expect([...out.keys()]).toEqual(['f1', 'f2', 'f3']);
    expect(out.get('f1')).toEqual(sent);
    expect(out.get('f2')).toEqual(refused);
    expect(out.get('f3')).toEqual(mtu);
    expect(parseSendOutput('').size).toBe(0);
  });

  test.each([
    [`${JSON.stringify(sent)}\n{"id":"f2","src":"10.2`, /line 2 is not JSON/],
    [JSON.stringify({ ...refused, error: undefined }), /errno 111 without its name/],
    [JSON.stringify({ ...sent, sports: [0] }), /sports is not a list of ports/],
    [JSON.stringify({ ...sent, retried: 'no' }), /retried is not a boolean/],
    [JSON.stringify({ ...sent, id: 3 }), /id is not a string/],
    [JSON.stringify({ ...sent, ms: undefined }), /ms is missing/],
    [`${JSON.stringify(sent)}\n${JSON.stringify(sent)}`, /line 2 repeats flow f1/],
  ])('malformed send output is an AgentError naming the line (%#)', (out, why) => {
    expect(() => parseSendOutput(out)).toThrow(AgentError);
    expect(() => parseSendOutput(out)).toThrow(why);
  });
});

describe('listen', () => {
  test('takes the first port free for both TCP and UDP, writes the port file, removes it on SIGTERM', async () => {
    const base = freshBase();
    // Occupy TCP on base and UDP on base+1: only base+2 has both free.
    const tcp = net.createServer();
    tcp.on('error', () => undefined);
    closers.push(() => tcp.close());
    await new Promise<void>((resolve) => tcp.listen(base, '127.0.0.1', resolve));
    const udp = dgram.createSocket('udp4');
    closers.push(() => udp.close());
    await new Promise<void>((resolve) => udp.bind(base + 1, '127.0.0.1', resolve));
    const l = await startListener('pw-pod-n1-a', 'run1', base);
    expect(l.port).toBe(base + 2);
    expect(readFileSync(portFile('run1', 'pw-pod-n1-a'), 'utf8').trim()).toBe(String(base + 2));
    l.child.kill('SIGTERM');
    const r = await l.exited;
    expect(r.code).toBe(0);
    expect(existsSync(portFile('run1', 'pw-pod-n1-a'))).toBe(false);
  });

  test('two listeners with one base in one network namespace (two runs\' host probes) get different ports and answer with their own names', async () => {
    const base = freshBase();
    const a = await startListener('pw-host-n1', 'runa', base);
    const b = await startListener('pw-host-n1', 'runb', base);
    expect(a.port).toBe(base);
    expect(b.port).toBe(base + 1);
    const r = await execAgent('send', { flows: [flow('a', 'tcp', '127.0.0.1', a.port), flow('b', 'udp', '127.0.0.1', b.port)], replyWaitMs: 2000, connectTimeoutMs: 2000 });
    const sent = parseSendOutput(r.stdout);
    expect(sent.get('a')!.reply).toBe('podwire/ut/a.from.pw-host-n1');
    expect(sent.get('b')!.reply).toBe('podwire/ut/b.from.pw-host-n1');
    expect(readFileSync(portFile('runa', 'pw-host-n1'), 'utf8').trim()).toBe(String(base));
    expect(readFileSync(portFile('runb', 'pw-host-n1'), 'utf8').trim()).toBe(String(base + 1));
  });

  test('with no port free it says why on stderr and exits 1', async () => {
    const tcp = net.createServer();
    closers.push(() => tcp.close());
    await new Promise<void>((resolve) => tcp.listen(65535, '127.0.0.1', resolve));
    const child = spawn(PY, [join(process.cwd(), 'src/agent/podwire_agent.py'), 'listen'], {
      env: { ...process.env, TMPDIR: tmp, PODWIRE_LOOPBACK_ONLY: '1', POD_NAME: 'p', PODWIRE_RUN: 'full', PODWIRE_PORT_BASE: '65535' },
    });
    children.push(child);
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(1);
    expect(stderr.trim()).toMatch(/^podwire-agent listen: no port free for both TCP and UDP in 65535-65535 \(last: 65535\/tcp: Address already in use\)$/);
    expect(stdout).toBe('');
    expect(existsSync(portFile('full', 'p'))).toBe(false);
  });
});

describe('send', () => {
  test('TCP and UDP flows get the listener\'s answer, sent from the route\'s source on the port they report', async () => {
    const l = await startListener('rx', 'runs', freshBase());
    // A server of the test's own records the source port it saw.
    const seen = await tcpServer((s) => s.once('data', (d) => s.end(`${d.toString().trim()}.from.node\n`)));
    const flows = [flow('t', 'tcp', '127.0.0.1', l.port), flow('u', 'udp', '127.0.0.1', l.port), flow('s', 'tcp', '127.0.0.1', seen.port)];
    if (hasIPv6Loopback) flows.push(flow('t6', 'tcp', '::1', l.port), flow('u6', 'udp', '::1', l.port));
    const r = await execAgent('send', { flows, replyWaitMs: 2000, connectTimeoutMs: 2000 });
    expect(r.code).toBe(0);
    const sent = parseSendOutput(r.stdout);
    expect(sent.size).toBe(flows.length);
    for (const f of flows) {
      const s = sent.get(f.id)!;
      const from = f.port === seen.port ? 'node' : 'rx';
      expect(s).toMatchObject({ errno: 0, reply: `${f.token}.from.${from}`, retried: false, src: f.dst });
      expect(s.error).toBeUndefined();
      expect(s.sports).toEqual([s.sport]);
    }
    expect(seen.remotePorts).toEqual([sent.get('s')!.sport]);
  });

  test('closed ports are refused (ECONNREFUSED), a definite answer that is not retried', async () => {
    const u = await udpServer();
    const t = await tcpServer(() => undefined);
    const closedU = u.port;
    const closedT = t.port;
    closers.splice(0).forEach((c) => c()); // close both: their ports are now closed
    await new Promise((r) => setTimeout(r, 100));
    const r = await execAgent('send', { flows: [flow('t', 'tcp', '127.0.0.1', closedT), flow('u', 'udp', '127.0.0.1', closedU)], replyWaitMs: 2000, connectTimeoutMs: 2000 });
    const sent = parseSendOutput(r.stdout);
    for (const id of ['t', 'u']) expect(sent.get(id)).toMatchObject({ errno: 111, error: 'ECONNREFUSED', reply: '', retried: false });
    expect(sent.get('u')!.ms).toBeLessThan(1500);
  });

  test('no reply is asked for once more: UDP on the same port, TCP on a new one', async () => {
    const silent = await udpServer();
    // Closes the first connection without an answer, answers the second.
    const flaky = await tcpServer((s, n) => (n === 1 ? s.end() : s.once('data', (d) => s.end(`${d.toString().trim()}.from.late\n`))));
    const wait = 400;
    const r = await execAgent('send', { flows: [flow('u', 'udp', '127.0.0.1', silent.port), flow('t', 'tcp', '127.0.0.1', flaky.port)], replyWaitMs: wait, connectTimeoutMs: 2000 });
    const sent = parseSendOutput(r.stdout);
    const u = sent.get('u')!;
    expect(u).toMatchObject({ errno: 0, reply: '', retried: true });
    expect(silent.got.map((g) => g.port)).toEqual([u.sport, u.sport]);
    expect(silent.got.map((g) => g.data.toString())).toEqual(['podwire/ut/u\n', 'podwire/ut/u\n']);
    expect(u.ms).toBeGreaterThanOrEqual(2 * wait - 20);
    const t = sent.get('t')!;
    expect(t).toMatchObject({ errno: 0, reply: 'podwire/ut/t.from.late', retried: true });
    expect(t.sports).toEqual(flaky.remotePorts);
    expect(new Set(t.sports).size).toBe(2);
  });

  test('an MTU flow sends ONE datagram whose IP length is the MTU the kernel holds for the destination', async () => {
    const rx = await udpServer();
    const q = spawnSync(PY, ['-c', `import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.connect(('127.0.0.1', ${rx.port})); print(s.getsockopt(socket.IPPROTO_IP, 14))`]);
    const kernelMtu = Number(q.stdout.toString().trim());
    expect(kernelMtu).toBeGreaterThan(1000);
    const r = await execAgent('send', { flows: [flow('m', 'udp', '127.0.0.1', rx.port, { mtu: true })], replyWaitMs: 200, connectTimeoutMs: 2000 });
    expect(r.code).toBe(0);
    const m = parseSendOutput(r.stdout).get('m')!;
    // IPv4's total length is 16 bits: lo's 65536 is capped at 65535.
    expect(m).toMatchObject({ errno: 0, routeMtu: kernelMtu, size: Math.min(kernelMtu, 65535), retried: false });
    await new Promise((res) => setTimeout(res, 100));
    expect(rx.got).toHaveLength(1);
    expect(rx.got[0]!.size).toBe(m.size! - 28);
    expect(rx.got[0]!.port).toBe(m.sport);
    expect(rx.got[0]!.data.subarray(0, 'podwire/ut/m\n'.length).toString()).toBe('podwire/ut/m\n');
  });

  test('2,000 flows in one agent process, all answered', async () => {
    const l = await startListener('rx', 'runk', freshBase());
    const flows = Array.from({ length: 2000 }, (_, i) => flow(`f${i}`, i % 2 ? 'udp' : 'tcp', '127.0.0.1', l.port));
    const t0 = Date.now();
    const r = await execAgent('send', { flows, replyWaitMs: 3000, connectTimeoutMs: 3000 });
    const ms = Date.now() - t0;
    expect(r.code).toBe(0);
    const sent = parseSendOutput(r.stdout);
    expect(sent.size).toBe(2000);
    expect([...sent.values()].filter((s) => s.reply !== `podwire/ut/${s.id}.from.rx`)).toEqual([]);
    console.log(`2,000 loopback flows through one agent: ${ms} ms`);
  });

  test('bad arguments exit 2 and unexpected failures exit 3, each with one line on stderr and nothing on stdout', async () => {
    const bad = await execAgent('send', { flows: [flow('x', 'tcp', 'not-an-ip', 80)], replyWaitMs: 1, connectTimeoutMs: 1 });
    expect(bad).toEqual({ code: 2, stdout: '', stderr: "podwire-agent send: flows[0].dst 'not-an-ip' is not an IP address\n" });
    const crash = await execAgent('send', { flows: [], replyWaitMs: 'soon' as unknown as number, connectTimeoutMs: 1 });
    expect(crash.code).toBe(3);
    expect(crash.stdout).toBe('');
    expect(crash.stderr.trim().split('\n')).toHaveLength(1);
    expect(crash.stderr).toMatch(/^podwire-agent send: ValueError: /);
    const mode = spawnSync(PY, ['src/agent/podwire_agent.py', 'dance'], { input: '{}' });
    expect(mode.status).toBe(2);
    expect(mode.stdout.toString()).toBe('');
  });
});

describe('inventory', () => {
  test('addresses of every interface but lo, eth0\'s MTU, and the listener\'s port confirmed on loopback', async () => {
    const l = await startListener('pw-pod-n1-a', 'runi', freshBase());
    const r = await execAgent('inventory', { run: 'runi', pod: 'pw-pod-n1-a', role: 'pod', portWaitMs: 2000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const inv = parseInventoryOutput(r.stdout);
    expect(inv.port).toBe(l.port);
    expect(inv.portError).toBeUndefined();
    // Node's own view of this network namespace, with scope ids stripped.
    const expected = Object.entries(networkInterfaces()).filter(([n]) => n !== 'lo')
      .flatMap(([n, as]) => (as ?? []).map((a) => `${n} ${a.address.split('%')[0]}/${a.cidr!.split('/')[1]}`)).sort();
    expect(inv.addresses.map((a) => `${a.ifname} ${a.address}/${a.prefixlen}`).sort()).toEqual(expected);
    expect(inv.addresses.every((a) => a.ifindex > 0 && (a.family === 6) === a.address.includes(':'))).toBe(true);
    if (existsSync('/sys/class/net/eth0/mtu')) expect(inv.mtu).toBe(Number(readFileSync('/sys/class/net/eth0/mtu', 'utf8')));
    expect(inv.routes).toMatch(/local 127\.0\.0\.1 dev lo table local/);
    expect(inv.rules).toMatch(/from all lookup main/);
    expect(inv.uplinks).toEqual([]);
  });

  test('no listener, a stale port file, or a stranger on the port: portError says which', async () => {
    const none = parseInventoryOutput((await execAgent('inventory', { run: 'gone', pod: 'p', role: 'host', portWaitMs: 200 })).stdout);
    expect(none.port).toBeUndefined();
    expect(none.portError).toMatch(/no port file .*podwire-gone-p\.port after 200 ms/);
    expect(none.mtu).toBeUndefined(); // host probes: no eth0 MTU
    const stranger = await tcpServer((s) => s.end('hello\n'));
    writeFileSync(portFile('stale', 'p'), `${stranger.port}\n`);
    const inv = parseInventoryOutput((await execAgent('inventory', { run: 'stale', pod: 'p', role: 'host', portWaitMs: 200 })).stdout);
    expect(inv.port).toBe(stranger.port);
    expect(inv.portError).toMatch(/answered 'hello', not 'podwire-inventory-check\.from\.p'/);
    closers.splice(0).forEach((c) => c());
    await new Promise((r) => setTimeout(r, 100));
    const dead = parseInventoryOutput((await execAgent('inventory', { run: 'stale', pod: 'p', role: 'host', portWaitMs: 200 })).stdout);
    expect(dead.portError).toMatch(/did not answer on 127\.0\.0\.1/);
  });

  test('links name every interface by index with its MTU; a host probe adds the node\'s nat and filter tables, or why each is missing', async () => {
    const host = parseInventoryOutput((await execAgent('inventory', { run: 'snap', pod: 'p', role: 'host', portWaitMs: 0 })).stdout);
    const ip = spawnSync('ip', ['-o', 'link', 'show']).stdout.toString().split('\n').filter(Boolean)
      .map((l) => { const m = /^(\d+): ([^:@]+)[:@].* mtu (\d+)/.exec(l)!; return { name: m[2]!, ifindex: Number(m[1]), mtu: Number(m[3]) }; });
    expect(host.links!.map(({ name, ifindex, mtu }) => ({ name, ifindex, mtu }))).toEqual(ip);
    expect(host.firewall!.slice(0, 2).map((f) => f.command)).toEqual(['iptables-save -t nat', 'iptables-save -t filter']);
    for (const f of host.firewall!) expect(f.output !== undefined || /^(exit \d+|.* is not installed in the probe image)/.test(f.error ?? '')).toBe(true);
    const nft = host.firewall!.find((f) => f.command === 'nft list ruleset');
    if (!spawnSync('sh', ['-c', 'command -v nft || ls /usr/sbin/nft /sbin/nft']).stdout.length) expect(nft).toBeUndefined();
    const pod = parseInventoryOutput((await execAgent('inventory', { run: 'snap', pod: 'p', role: 'pod', portWaitMs: 0 })).stdout);
    expect(pod.firewall).toBeUndefined();
    expect(pod.links!.length).toBe(ip.length);
  });

  test('a snapshot command that is missing or fails is recorded, not fatal; kube-proxy\'s per-Service chains and text beyond the cap are left out', () => {
    const py = (code: string) => JSON.parse(spawnSync(PY, ['-c', `import sys, json; sys.path.insert(0, 'src/agent'); import podwire_agent as a; print(json.dumps(${code}))`]).stdout.toString());
    expect(py("a.snapshot(['podwire-no-such-tool', '-x'])")).toEqual({ command: 'podwire-no-such-tool -x', error: 'podwire-no-such-tool is not installed in the probe image' });
    expect(py("a.snapshot(['sh', '-c', 'echo oops >&2; exit 3'])")).toEqual({ command: 'sh -c echo oops >&2; exit 3', error: 'exit 3: oops' });
    expect(py("a.snapshot(['echo', '-A POSTROUTING -j MASQUERADE'])")).toEqual({ command: 'echo -A POSTROUTING -j MASQUERADE', output: '-A POSTROUTING -j MASQUERADE\n' });
    const kube = ['*nat', ':KUBE-SVC-ABC - [0:0]', ':POSTROUTING ACCEPT [0:0]', '-A KUBE-SERVICES -d 10.96.0.1/32 -j KUBE-SVC-ABC', '-A KUBE-SVC-ABC -j KUBE-SEP-XYZ',
      '-A KUBE-SEP-XYZ -j DNAT --to-destination 172.18.0.11:6443', '-A PREROUTING -j KUBE-SERVICES', '-A POSTROUTING -j MASQUERADE', 'COMMIT'].join('\n');
    expect(py(`a.bounded(${JSON.stringify(kube)})`)).toEqual(['*nat\n:POSTROUTING ACCEPT [0:0]\n-A PREROUTING -j KUBE-SERVICES\n-A POSTROUTING -j MASQUERADE\nCOMMIT\n', '4 lines of kube-proxy per-Service chains']);
    expect(py("a.bounded('table ip kube-proxy {\\nchain KUBE-SVC-ABC {\\n}\\n')")).toEqual(['table ip kube-proxy {\n}\n', '1 lines of kube-proxy per-Service chains']);
    const [big, why] = py("a.bounded('x' * 70000)") as [string, string];
    expect(big.length).toBe(65536);
    expect(why).toBe('4465 characters beyond 65536'); // 70000 x and the newline
    expect(py("a.bounded('')")).toEqual(['', '']);
  });

  test('uplink queries it cannot answer come back with no devices and the reason', async () => {
    const r = await execAgent('inventory', {
      run: 'u', pod: 'p', role: 'host', portWaitMs: 0,
      uplinkQueries: [{ src: '127.0.0.1', dst: '127.0.0.2' }, { src: 'x', dst: '10.0.0.1' }],
    });
    const inv = parseInventoryOutput(r.stdout);
    expect(inv.uplinks).toEqual([
      { src: '127.0.0.1', dst: '127.0.0.2', devices: [], reason: '127.0.0.1 is a local address of this node, not a pod behind a device' },
      { src: 'x', dst: '10.0.0.1', devices: [], reason: 'not an IP address pair' },
    ]);
  });
});
