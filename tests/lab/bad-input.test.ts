// Acceptance 6: bad input gets a one-line error and exit 2 with nothing
// created; the API answers bad requests with Status bodies and never crashes.
import { execa } from 'execa';
import { readdirSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { expect, test } from 'vitest';
import { apiRequest, type LabApiTarget } from '../../src/lab/lab-api.js';
import { pidAlive } from '../../src/lab/topology.js';
import { CLI, cli, describeLab, labName, useLab } from '../helpers/lab.js';

// Lab names go through labName(): PODWIRE_TEST_LAB_TAG renames them, so two checkouts can run this file at once.
const BAD = labName('tbad');
const NOROOT = labName('tnoroot');
const KC = labName('tkcout');
const tmp = mkdtempSync(join(tmpdir(), 'podwire-bad-'));
writeFileSync(join(tmp, 'existing.kubeconfig'), 'mine\n');

/**
 * Labs this file could create by mistake: with PODWIRE_TEST_LAB_TAG set, other checkouts run labs at the same
 * time, so only names of this tag (and the default name `podwire`) are compared; without it, every lab.
 */
const TAG = process.env.PODWIRE_TEST_LAB_TAG;
const ours = (lab: string) => !TAG || lab.startsWith(TAG) || lab === 'podwire';
const netnsList = async () => String((await execa('ip', ['netns', 'list'])).stdout).split('\n').map((l) => l.split(' ')[0]!).filter((n) => ours(n.split('-')[1] ?? '')).sort();
const stateDirs = () => (existsSync('/run/podwire') ? readdirSync('/run/podwire').filter(ours).sort() : []);

describeLab('bad input', () => {
  test.each([
    [['lab', 'up', '--name', BAD, '--bogus'], /unknown flag `--bogus`/],
    [['lab', 'up', '--name', BAD, '--nodes', '0'], /`--nodes`.*got `0`/],
    [['lab', 'up', '--name', BAD, '--nodes', '65'], /`--nodes`.*got `65`/],
    [['lab', 'up', '--name', BAD, '--nodes', 'abc'], /`--nodes`.*got `abc`/],
    [['lab', 'up', '--name', BAD, '--dataplane', 'foo'], /`--dataplane`.*host-gw, vxlan.*got `foo`/],
    [['lab', 'up', '--name', 'Bad-Name'], /`--name`.*got `Bad-Name`/],
    [['lab', 'sideways'], /unknown lab command `sideways`/],
    [['lab', 'up', '--name', BAD, '--fault', 'nope'], /unknown fault `nope`; known: masquerade-all, .*podwire lab faults/],
    [['lab', 'up', '--name', BAD, '--nodes', '2', '--nodes', '3'], /flag `--nodes` of `podwire lab up` takes one value, got 2: `2`, `3`/],
    [['lab', 'up', '--name', BAD, '--kubeconfig-out', tmp], /`--kubeconfig-out` to be a file podwire can write, got `.*` \(it is a directory\)/],
    [['lab', 'up', '--name', BAD, '--kubeconfig-out', '/etc/passwd/kc'], /got `\/etc\/passwd\/kc` \(`\/etc\/passwd` is not a directory\)/],
    [['lab', 'up', '--name', BAD, '--kubeconfig-out', '/proc/kc'], /got `\/proc\/kc` \(under \/proc, a kernel file system\)/],
    [['lab', 'up', '--name', BAD, '--kubeconfig-out', join(tmp, 'no', 'kc')], /directory `.*\/no` does not exist/],
    [['lab', 'up', '--name', BAD, '--kubeconfig-out', join(tmp, 'existing.kubeconfig')], /`--kubeconfig-out` `.*existing\.kubeconfig` exists; podwire does not replace it unless you add `--force`/],
    [['lab', 'up', '--name', BAD, '--force'], /`--force` lets `--kubeconfig-out` replace a file/],
    [['lab', 'up', '--name', BAD, '--fault', 'mtu-blackhole'], /fault `mtu-blackhole` applies to the vxlan, flannel dataplanes only, not host-gw/],
    [['lab', 'up', '--name', BAD, '--nodes', '1', '--fault', 'missing-route'], /faults need at least 2 nodes/],
    [['lab', 'up', '--name', BAD, '--uplinks', 'bgp'], /`--uplinks` to be one of single, ecmp, policy, got `bgp`/],
    [['lab', 'up', '--name', BAD, '--mtu', '9217'], /`--mtu` to be an integer from 1280 to 9216, got `9217`/],
    [['lab', 'up', '--name', BAD, '--fault', 'jumbo-blackhole', '--mtu', '1500'], /fault `jumbo-blackhole` needs a jumbo underlay .*got `--mtu 1500`/],
    [['lab', 'up', '--name', BAD, '--nodes', '1', '--uplinks', 'policy'], /`--uplinks policy` gives node-2 a second uplink: it needs at least 2 nodes, got --nodes 1/],
    [['lab', 'up', '--name', BAD, '--dataplane', 'vxlan', '--fault', 'mtu-blackhole', '--mtu', '9000'], /fault `mtu-blackhole` .* cannot be combined with `--mtu 9000`/],
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
    expect(await netnsList()).toEqual(netnsBefore);
    expect(stateDirs()).toEqual(dirsBefore);
    expect(readFileSync(join(tmp, 'existing.kubeconfig'), 'utf8')).toBe('mine\n');
  });

  test('not root → a clear error, exit 2, nothing created', async () => {
    const netnsBefore = await netnsList();
    const nobody = (args: string[]) => execa('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, ...args], { reject: false });
    const r = await nobody(['lab', 'up', '--name', NOROOT]);
    expect(r.exitCode).toBe(2);
    expect(String(r.stderr).trim()).toMatch(/^podwire: podwire lab up needs root/);
    expect(String(r.stderr).trim().split('\n')).toHaveLength(1);
    expect(await netnsList()).toEqual(netnsBefore);
    expect(existsSync(`/run/podwire/${NOROOT}`)).toBe(false);
    // Reading commands too: one line saying so, not a raw EACCES.
    for (const args of [['lab', 'list'], ['lab', 'status', '--name', NOROOT]]) {
      const x = await nobody(args);
      expect(x.exitCode).toBe(2);
      expect(String(x.stderr).trim()).toBe(`podwire: podwire ${args.slice(0, 2).join(' ')} needs root (network namespaces, CNI, iptables); run it with sudo`);
    }
  });

  test('--kubeconfig-out: lab down removes the copy the lab wrote, leaves one that changed and says so; --force replaces a file', async () => {
    const out = join(tmp, 'lab.kubeconfig');
    try {
      await cli(['lab', 'up', '--name', KC, '--nodes', '1', '--kubeconfig-out', out]);
      const written = readFileSync(out, 'utf8');
      expect(written).toContain('kind: Config');
      // A second lab may not take the file over without --force.
      const again = await cli(['lab', 'up', '--name', BAD, '--nodes', '1', '--kubeconfig-out', out], { reject: false });
      expect(again.exitCode).toBe(2);
      expect(existsSync(`/run/podwire/${BAD}`)).toBe(false);
      const down = await cli(['lab', 'down', '--name', KC]);
      expect(String(down.stdout)).toContain(`removed ${out} (the --kubeconfig-out copy)`);
      expect(existsSync(out)).toBe(false);

      writeFileSync(out, 'an older file of mine\n');
      await cli(['lab', 'up', '--name', KC, '--nodes', '1', '--kubeconfig-out', out, '--force']);
      expect(readFileSync(out, 'utf8')).toContain('kind: Config');
      writeFileSync(out, readFileSync(out, 'utf8') + '# edited by hand\n');
      const kept = await cli(['lab', 'down', '--name', KC]);
      expect(String(kept.stdout)).toContain(`left ${out} in place: it changed since lab up wrote it`);
      expect(readFileSync(out, 'utf8')).toMatch(/# edited by hand\n$/);
    } finally {
      await cli(['lab', 'down', '--name', KC], { reject: false });
    }
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

  test('a name already in use → a clear error, exit 2, the running lab untouched (lab up and demo alike)', async () => {
    const before = await lab().status();
    for (const args of [['lab', 'up', '--name', lab().name], ['demo', '--name', lab().name]]) {
      const r = await cli(args, { reject: false });
      expect(r.exitCode).toBe(2);
      expect(String(r.stderr).trim()).toMatch(new RegExp(`^podwire: a lab named \`${lab().name}\` already exists`));
      expect(String(r.stderr).trim().split('\n')).toHaveLength(1);
      const after = await lab().status();
      expect(after.api).toEqual(before.api);
      expect(after.api.healthy).toBe(true);
      expect(after.nodes).toEqual(before.nodes);
    }
  });

  test('lab list shows the lab: name, nodes, dataplane, IP family, faults, API URL, age', async () => {
    const st = await lab().status();
    const json = JSON.parse(String((await cli(['lab', 'list', '--json'])).stdout)) as { name: string; nodes: number; dataplane: string; faults: string[]; api: { url: string; running: boolean }; ageSeconds: number }[];
    const mine = json.find((l) => l.name === lab().name)!;
    expect(mine).toMatchObject({ nodes: 2, dataplane: 'host-gw', ipFamily: 'ipv4', faults: [], api: { url: st.api.url, running: true } });
    expect(mine.ageSeconds).toBeGreaterThanOrEqual(0);
    expect(mine.ageSeconds).toBeLessThan(3600);
    const text = String((await cli(['lab', 'list'])).stdout).split('\n');
    expect(text[0]).toMatch(/^NAME +NODES +DATAPLANE +FAMILY +FAULTS +API +AGE$/);
    expect(text.find((l) => l.startsWith(`${lab().name} `))).toMatch(new RegExp(`^${lab().name} +2 +host-gw +ipv4 +- +${st.api.url!.replace(/\./g, '\\.')} +\\d+ (s|min)$`));
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
