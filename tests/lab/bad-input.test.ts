// Acceptance 6: bad input gets a one-line error and exit 2 with nothing
// created; the API answers bad requests with Status bodies and never crashes.
import { execa } from 'execa';
import { readdirSync, existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:tls';
import { expect, test } from 'vitest';
import { apiRequest, type LabApiTarget } from '../../src/lab/lab-api.js';
import { pidAlive } from '../../src/lab/topology.js';
import { CLI, cli, describeLab, useLab } from '../helpers/lab.js';

const netnsList = async () => String((await execa('ip', ['netns', 'list'])).stdout);
const stateDirs = () => (existsSync('/run/podwire') ? readdirSync('/run/podwire').sort() : []);

describeLab('bad input', () => {
  test.each([
    [['lab', 'up', '--name', 'tbad', '--bogus'], /unknown flag `--bogus`/],
    [['lab', 'up', '--name', 'tbad', '--nodes', '0'], /`--nodes`.*got `0`/],
    [['lab', 'up', '--name', 'tbad', '--nodes', '65'], /`--nodes`.*got `65`/],
    [['lab', 'up', '--name', 'tbad', '--nodes', 'abc'], /`--nodes`.*got `abc`/],
    [['lab', 'up', '--name', 'tbad', '--dataplane', 'foo'], /`--dataplane`.*host-gw, vxlan.*got `foo`/],
    [['lab', 'up', '--name', 'Bad-Name'], /`--name`.*got `Bad-Name`/],
    [['lab', 'sideways'], /unknown lab command `sideways`/],
    [['lab', 'up', '--name', 'tbad', '--fault', 'nope'], /unknown fault `nope` \(string\); known: masquerade-all, .*podwire lab faults/],
    [['lab', 'up', '--name', 'tbad', '--fault', 'mtu-blackhole'], /fault `mtu-blackhole` applies to the vxlan, flannel dataplanes only, not host-gw/],
    [['lab', 'up', '--name', 'tbad', '--nodes', '1', '--fault', 'missing-route'], /faults need at least 2 nodes/],
    [['lab', 'up', '--name', 'tbad', '--uplinks', 'bgp'], /`--uplinks` to be one of single, ecmp, policy, got `bgp`/],
    [['lab', 'up', '--name', 'tbad', '--mtu', '9217'], /`--mtu` to be an integer from 1280 to 9216, got `9217`/],
    [['lab', 'up', '--name', 'tbad', '--fault', 'jumbo-blackhole', '--mtu', '1500'], /fault `jumbo-blackhole` needs a jumbo underlay .*got `--mtu 1500`/],
    [['lab', 'up', '--name', 'tbad', '--nodes', '1', '--uplinks', 'policy'], /`--uplinks policy` gives node-2 a second uplink: it needs at least 2 nodes, got --nodes 1/],
    [['lab', 'up', '--name', 'tbad', '--dataplane', 'vxlan', '--fault', 'mtu-blackhole', '--mtu', '9000'], /fault `mtu-blackhole` .* cannot be combined with `--mtu 9000`/],
    [['frobnicate'], /unknown command `frobnicate`/],
  ])('podwire %j → one line naming the value, exit 2, nothing created', async (args, message) => {
    const netnsBefore = await netnsList();
    const dirsBefore = stateDirs();
    const r = await cli(args, { reject: false });
    expect(r.exitCode).toBe(2);
    const lines = String(r.stderr).trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^podwire: /);
    expect(lines[0]).toMatch(message);
    expect(await netnsList()).toBe(netnsBefore);
    expect(stateDirs()).toEqual(dirsBefore);
  });

  test('not root → a clear error, exit 2, nothing created', async () => {
    const netnsBefore = await netnsList();
    const r = await execa('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, 'lab', 'up', '--name', 'tnoroot'], { reject: false });
    expect(r.exitCode).toBe(2);
    expect(String(r.stderr).trim()).toMatch(/^podwire: podwire lab up needs root/);
    expect(String(r.stderr).trim().split('\n')).toHaveLength(1);
    expect(await netnsList()).toBe(netnsBefore);
    expect(existsSync('/run/podwire/tnoroot')).toBe(false);
  });

  describe_api();
});

function describe_api() {
  const lab = useLab('tbadapi', ['--nodes', '2']);
  const target = (token?: string): LabApiTarget => {
    const l = lab();
    const cfg = readFileSync(l.kubeconfig, 'utf8');
    return {
      url: /server: (\S+)/.exec(cfg)![1]!,
      ca: Buffer.from(/certificate-authority-data: (\S+)/.exec(cfg)![1]!, 'base64'),
      token: token ?? /token: (\S+)/.exec(cfg)![1]!,
    };
  };
  const expectStatus = (r: { status: number; json?: unknown }, code: number, reason: string) => {
    expect(r.status).toBe(code);
    expect(r.json).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason });
  };

  test('a name already in use → a clear error, exit 2, the running lab untouched', async () => {
    const before = await lab().status();
    const r = await cli(['lab', 'up', '--name', 'tbadapi'], { reject: false });
    expect(r.exitCode).toBe(2);
    expect(String(r.stderr).trim()).toMatch(/^podwire: a lab named `tbadapi` already exists/);
    const after = await lab().status();
    expect(after.api).toEqual(before.api);
    expect(after.api.healthy).toBe(true);
  });

  test('missing or wrong token → 401 Status', async () => {
    const t = target();
    expectStatus(await apiRequest({ ...t, token: undefined }, 'GET', '/api/v1/nodes'), 401, 'Unauthorized');
    expectStatus(await apiRequest({ ...t, token: 'wrong' }, 'GET', '/api/v1/nodes'), 401, 'Unauthorized');
    expectStatus(await apiRequest({ ...t, token: t.token + 'x' }, 'GET', '/api/v1/namespaces/default/pods'), 401, 'Unauthorized');
  });

  test('unknown pod → 404, duplicate pod → 409, malformed JSON → 400, invalid pod → 422', async () => {
    const t = target();
    expectStatus(await apiRequest(t, 'GET', '/api/v1/namespaces/default/pods/ghost'), 404, 'NotFound');
    expectStatus(await apiRequest(t, 'DELETE', '/api/v1/namespaces/default/pods/ghost'), 404, 'NotFound');
    expectStatus(await apiRequest(t, 'GET', '/api/v1/namespaces/nowhere/pods'), 404, 'NotFound');
    const pod = JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'dup' }, spec: { containers: [{ name: 'c', image: 'x', command: ['sleep', '60'] }] } });
    expect((await apiRequest(t, 'POST', '/api/v1/namespaces/default/pods', { body: pod })).status).toBe(201);
    expectStatus(await apiRequest(t, 'POST', '/api/v1/namespaces/default/pods', { body: pod }), 409, 'AlreadyExists');
    expectStatus(await apiRequest(t, 'POST', '/api/v1/namespaces/default/pods', { body: '{"kind": "Pod", "metadata": {' }), 400, 'BadRequest');
    expectStatus(await apiRequest(t, 'POST', '/api/v1/namespaces/default/pods', { body: '{"metadata":{"name":"nocontainers"},"spec":{}}' }), 422, 'Invalid');
    expectStatus(await apiRequest(t, 'GET', '/api/v1/namespaces/default/pods?labelSelector=a%20in%20(', {}), 400, 'BadRequest');
    expectStatus(await apiRequest(t, 'GET', '/api/v1/namespaces/default/pods?fieldSelector=spec.bogus%3Dx'), 400, 'BadRequest');
    expectStatus(await apiRequest(t, 'GET', '/api/v1/namespaces/default/pods/dup/exec?command=true'), 400, 'BadRequest');
    expectStatus(await apiRequest(t, 'GET', '/apis/apps/v1/deployments'), 404, 'NotFound');
  });

  test('the server survives garbage: bad TLS, broken upgrades, huge bodies', async () => {
    const t = target();
    const pid = (await lab().status()).api.pid!;
    const port = Number(new URL(t.url).port);
    // Plain text to a TLS port, then a TLS connection that sends junk and hangs up.
    await new Promise<void>((resolve) => {
      const s = connect({ host: '127.0.0.1', port, ca: t.ca }, () => s.end('GARBAGE\r\n\r\n'));
      s.resume(); // drain the server's 400 so the socket can close
      s.on('error', () => resolve());
      s.on('close', () => resolve());
    });
    const upgrade = await apiRequest(t, 'GET', '/api/v1/namespaces/default/pods/dup/exec?command=true', {
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'bm90IGEga2V5', 'Sec-WebSocket-Protocol': 'bogus.k8s.io' },
    }).catch((e: Error) => ({ status: -1, json: e.message }));
    expect(upgrade.status).toBe(400);
    const big = await apiRequest(t, 'POST', '/api/v1/namespaces/default/pods', { body: `{"x":"${'a'.repeat(4 * 1024 * 1024)}"}` }).catch(() => ({ status: 413 }));
    expect(big.status).toBe(413);
    expect(pidAlive(pid)).toBe(true);
    expect((await apiRequest(t, 'GET', '/healthz')).status).toBe(200);
    expect((await apiRequest(t, 'GET', '/api/v1/namespaces/default/pods/dup')).status).toBe(200);
  });
}
