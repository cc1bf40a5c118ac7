// Field-true verdicts on lab clusters, as users run podwire: a cluster that
// masquerades pod → node traffic (as kind, k3s, Calico and Cilium in tunnel
// mode do) passes the default run and fails only the strict reading; two runs
// at once on one cluster do not collide; a node that cannot host a probe is
// reported as not covered while the run goes on with the others; egress is
// judged on the device the node's routing chose (ECMP, policy routing); the
// MTU check sends the route MTU, jumbo frames included.
import { execa } from 'execa';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { cli, describeLab, labName, startLab, useLab, type TestLab } from '../helpers/lab.js';
import { leftovers, podwireRun as runCli } from '../helpers/run.js';

const reportsRoot = mkdtempSync(join(tmpdir(), 'podwire-field-'));
afterAll(() => rmSync(reportsRoot, { recursive: true, force: true }));
const podwireRun = (lab: TestLab, args: string[] = []) => runCli(lab, reportsRoot, args);
const failedIds = (r: Awaited<ReturnType<typeof podwireRun>>) => r.report!.checks.filter((c) => c.result === 'failed').map((c) => c.id);

describeLab('a cluster that masquerades pod traffic to node addresses', () => {
  const lab = useLab('tfsnat', ['--nodes', '3', '--fault', 'pod-to-node-snat']);

  test('the default run passes (core and extended); --profile strict fails NM-2.3 and nothing else', async () => {
    const plain = await podwireRun(lab());
    expect(plain.exitCode, String(plain.stderr)).toBe(0);
    expect(plain.report!.checks.every((c) => c.result === 'passed')).toBe(true);
    expect(plain.report!.checks.map((c) => c.id)).not.toContain('NM-2.3');
    // The core check sees the SNAT and says so, without failing.
    const reach = plain.report!.checks.find((c) => c.id === 'NM-2.4')!;
    expect(reach.flows.filter((f) => f.note?.includes('SNAT')).length).toBeGreaterThan(0);
    expect(plain.report!.profiles).toMatchObject({ core: { failed: 0 }, extended: { failed: 0 } });

    const strict = await podwireRun(lab(), ['--profile', 'strict']);
    expect(strict.exitCode).toBe(1);
    expect(failedIds(strict)).toEqual(['NM-2.3']);
    expect(strict.report!.profiles.strict).toMatchObject({ failed: 1 });
    expect(String(strict.stdout)).toMatch(/^strict: 1 passed, 1 failed/m);
  });
});

describeLab('two runs at once on one cluster', () => {
  const lab = useLab('tftwo', ['--nodes', '2']);

  test('both pass: each run listens on ports of its own', async () => {
    const [a, b] = await Promise.all([podwireRun(lab()), podwireRun(lab())]);
    expect(a.exitCode, String(a.stderr)).toBe(0);
    expect(b.exitCode, String(b.stderr)).toBe(0);
    expect(a.report!.runId).not.toBe(b.report!.runId);
    // Host probes of both runs share each node's network namespace: their ports differ.
    for (const node of ['node-1', 'node-2']) {
      const port = (r: typeof a) => r.report!.probes.find((p) => p.node === node && p.role === 'host')!.port;
      expect(port(a)).toBeDefined();
      expect(port(a)).not.toBe(port(b));
    }
    expect(await leftovers(lab())).toEqual([]);
  });
});

describeLab('a node that cannot host a probe', () => {
  const lab = useLab('tfcover', ['--nodes', '3']);

  test('is reported as not covered, with the reason; the run on the other nodes completes; --require-all-nodes exits 2', async () => {
    // node-2's IPAM is exhausted (every address of its range taken): its pods cannot get a sandbox.
    const dir = `/run/podwire/${lab().name}/ipam/node-2/podwire`;
    mkdirSync(dir, { recursive: true });
    for (let i = 2; i < 255; i++) writeFileSync(join(dir, `10.244.2.${i}`), 'taken-by-test\neth0');
    try {
      const r = await podwireRun(lab(), ['--timeout', '8']);
      expect(r.exitCode, String(r.stderr)).toBe(0);
      const cov = r.report!.coverage;
      expect(cov).toMatchObject({ nodes: 3, covered: 2 });
      expect(cov.notCovered).toEqual([{ node: 'node-2', reason: expect.stringMatching(/pw-pod-node-2-[ab]: not ready after 8 s: .*no IP addresses available/) }]);
      // No flow touches node-2; the cross-node checks judged node-1 <-> node-3.
      const flows = r.report!.checks.flatMap((c) => c.flows);
      expect(flows.some((f) => /node-2/.test(f.from) || /node-2/.test(f.to))).toBe(false);
      expect(r.report!.checks.find((c) => c.id === 'NM-1.2')!.flows).toHaveLength(4);
      expect(String(r.stdout)).toMatch(/2 of 3 node\(s\) covered/);
      expect(String(r.stdout)).toMatch(/not covered: node-2: /);

      const required = await podwireRun(lab(), ['--timeout', '8', '--only', 'NM-1.1', '--require-all-nodes']);
      expect(required.exitCode).toBe(2);
      expect(await leftovers(lab())).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describeLab('uplinks the routing chooses', () => {
  test.each(['ecmp', 'policy'] as const)('--uplinks %s: NM-4.1 and NM-4.2 pass, judged on the device each flow leaves by', async (uplinks) => {
    const name = `tfup${uplinks.slice(0, 3)}`;
    const lab = await startLab(name, ['--nodes', '3', '--uplinks', uplinks]);
    try {
      const r = await podwireRun(lab, ['--only', 'NM-4']);
      expect(r.exitCode, String(r.stdout)).toBe(0);
      for (const id of ['NM-4.1', 'NM-4.2']) {
        const c = r.report!.checks.find((x) => x.id === id)!;
        expect(c.result, `${id}: ${c.reason}`).toBe('passed');
      }
      const egress = r.report!.checks.find((x) => x.id === 'NM-4.1')!.flows;
      if (uplinks === 'policy') {
        // node-2's pod traffic leaves by its second NIC (a rule on the pod's source), SNATed to that NIC's address.
        expect(egress.find((f) => f.from.startsWith('pw-pod-node-2-a'))!.observed).toMatch(/^left as 172\.18\.1\.12 > 198\.51\.100\.10/);
        expect(egress.find((f) => f.from.startsWith('pw-pod-node-1-a'))!.observed).toMatch(/^left as 172\.18\.0\.11 > /);
      } else {
        // Each flow is seen on the nexthop device its hash chose: one of the two NICs, with that NIC's address.
        for (const f of egress) expect(f.observed).toMatch(/^left as 172\.18\.[01]\.1\d > 198\.51\.100\.10/);
      }
    } finally {
      await cli(['lab', 'down', '--name', labName(name)], { reject: false });
    }
  });
});

describeLab('full-size packets on a jumbo-frame lab', () => {
  const lab = useLab('tfjumbo', ['--nodes', '2', '--mtu', '9000']);

  test('MTU 9000 end to end: a 9000-byte DF datagram arrives whole; with one fabric port at 1500 it vanishes and NM-5.1 fails', async () => {
    const r = await podwireRun(lab(), ['--only', 'NM-5.1']);
    expect(r.exitCode, String(r.stdout)).toBe(0);
    const flows = r.report!.checks.find((c) => c.id === 'NM-5.1')!.flows;
    expect(flows).toHaveLength(2);
    for (const f of flows) {
      expect(f.verdict).toBe('passed');
      expect(f.observed).toMatch(/^arrived whole: 9000 bytes, DF/);
    }
    // The bridge port towards node-2 at 1500: frames larger than that are dropped there, silently.
    await execa('ip', ['-n', `pw-${lab().name}-fabric`, 'link', 'set', 'node-2', 'mtu', '1500']);
    try {
      const broken = await podwireRun(lab(), ['--only', 'NM-5.1,NM-1.2']);
      expect(broken.exitCode).toBe(1);
      const mtu = broken.report!.checks.find((c) => c.id === 'NM-5.1')!;
      expect(mtu.result).toBe('failed');
      const toNode2 = mtu.flows.find((f) => f.to.startsWith('pw-pod-node-2-a'))!;
      expect(toNode2).toMatchObject({ verdict: 'failed', observed: expect.stringMatching(/9000 bytes with DF .*silently dropped/) });
      // Small packets still cross: NM-1.2 passes, so the failure is about size.
      expect(broken.report!.checks.find((c) => c.id === 'NM-1.2')!.result).toBe('passed');
    } finally {
      await execa('ip', ['-n', `pw-${lab().name}-fabric`, 'link', 'set', 'node-2', 'mtu', '9000']);
    }
  });
});

describeLab('a one-node cluster', () => {
  const lab = useLab('tfone', ['--nodes', '1']);

  test('cross-node checks are skipped with the reason, never passed; the rest pass; exit 0', async () => {
    const r = await podwireRun(lab());
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const byId = new Map(r.report!.checks.map((c) => [c.id, c]));
    for (const id of ['NM-1.2', 'NM-2.2', 'NM-4.2', 'NM-5.1']) {
      expect(byId.get(id)).toMatchObject({ result: 'skipped', reason: expect.stringContaining('the cluster has one node'), flows: [] });
    }
    for (const [id, c] of byId) if (!['NM-1.2', 'NM-2.2', 'NM-4.2', 'NM-5.1'].includes(id)) expect(c.result, `${id}: ${c.reason}`).toBe('passed');
    expect(r.report!.summary).toMatchObject({ skipped: 4, failed: 0, inconclusive: 0 });
  });
});
