// `podwire run` as users run it, on lab clusters: clean labs pass, a
// masquerading node fails exactly the flows it NATs, egress without a
// reachable target is inconclusive, SIGINT leaves nothing, bad input is
// refused before anything is created.
import { execa } from 'execa';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { CHECK_IDS } from '../../src/conformance/catalogue.js';
import { CLI, cli, describeLab, labName, startLab, useLab, type TestLab } from '../helpers/lab.js';
import { leftovers, podwireRun as runCli } from '../helpers/run.js';
import { labNetns } from '../../src/lab/topology.js';
import { netnsPids } from '../../src/lab/sh.js';

/** `pid command` of every process in the lab's network namespaces. */
async function labProcesses(name: string): Promise<string[]> {
  const pids = (await Promise.all((await labNetns(name)).map(netnsPids))).flat();
  return pids.map((p) => `${p} ${readFileOr(`/proc/${p}/cmdline`).replaceAll('\0', ' ').trim()}`);
}

const readFileOr = (f: string) => {
  try {
    return readFileSync(f, 'utf8');
  } catch {
    return '';
  }
};

const reportsRoot = mkdtempSync(join(tmpdir(), 'podwire-run-'));

const podwireRun = (lab: TestLab, args: string[] = []) => runCli(lab, reportsRoot, args);

/** JUnit parsed by a real XML parser (Python's), one testcase per check id. */
async function junitCases(file: string): Promise<{ name: string; failed: boolean; skipped: boolean }[]> {
  const script = 'import sys, json, xml.etree.ElementTree as ET\nroot = ET.parse(sys.argv[1]).getroot()\nprint(json.dumps([{"name": c.get("name"), "failed": c.find("failure") is not None, "skipped": c.find("skipped") is not None} for c in root.iter("testcase")]))';
  const r = await execa('/usr/bin/python3', ['-c', script, file]);
  return JSON.parse(String(r.stdout)) as { name: string; failed: boolean; skipped: boolean }[];
}

describeLab('podwire run on clean labs', () => {
  for (const nodes of [2, 3, 5]) {
    for (const dataplane of ['host-gw', 'vxlan'] as const) {
      test(`${nodes} nodes, ${dataplane}: every check of every profile passes, reports are complete, nothing is left`, async () => {
        const name = `trun${nodes}${dataplane === 'vxlan' ? 'v' : 'h'}`;
        const lab = await startLab(name, ['--nodes', String(nodes), '--dataplane', dataplane]);
        try {
          const r = await podwireRun(lab, ['--profile', 'strict']);
          expect(r.exitCode, String(r.stdout) + String(r.stderr)).toBe(0);
          const report = r.report!;
          expect(report).toMatchObject({ apiVersion: 'podwire.dev/v1alpha1', kind: 'ConformanceReport' });
          expect(report.checks.map((c) => c.id)).toEqual(CHECK_IDS);
          for (const c of report.checks) {
            expect(c.result, `${c.id}: ${c.reason}`).toBe('passed');
            expect(c.flows.length, c.id).toBeGreaterThan(0);
          }
          // Every ordered pair of nodes is covered, both protocols.
          const cross = report.checks.find((c) => c.id === 'NM-1.2')!.flows;
          expect(cross).toHaveLength(nodes * (nodes - 1) * 2);
          expect(report.dataplane.find((d) => d.path === 'cross-node')).toMatchObject({ encapsulation: dataplane === 'vxlan' ? 'vxlan' : 'none' });
          if (dataplane === 'vxlan') expect(report.dataplane.find((d) => d.path === 'cross-node')!.overheadBytes).toBe(50);
          // Cost model: execs and captures grow with nodes (3 probes a node, two execs each: inventory + capture start, send + capture back).
          expect(report.counts.captures).toBe(3 * nodes);
          expect(report.counts.execs).toBeLessThanOrEqual(8 * nodes);
          // Each phase of the collection is timed (bench run reads them).
          expect(Object.keys(report.phases ?? {}).sort()).toEqual(['api', 'cleanup', 'deploy', 'inventory', 'retrieve', 'send']);
          for (const ms of Object.values(report.phases!)) expect(ms).toBeGreaterThanOrEqual(0);
          const cases = await junitCases(join(r.runDir!, 'junit.xml'));
          expect(cases.map((c) => c.name.split(' ')[0])).toEqual(CHECK_IDS);
          expect(cases.every((c) => !c.failed && !c.skipped)).toBe(true);
          expect(String(r.stdout)).toContain(`${CHECK_IDS.length} passed, 0 failed`);
          expect(await leftovers(lab)).toEqual([]);
        } finally {
          await cli(['lab', 'down', '--name', labName(name)], { reject: false });
        }
      });
    }
  }
});

describeLab('podwire run against broken and limited labs', () => {
  const lab = useLab('trunfault', ['--nodes', '3']);

  test('a node that masquerades pod traffic fails NM-1.2 for exactly the flows it NATs, with expected and seen sources and both pcaps', async () => {
    // By hand, as an admin's mistake would: inside node-2's netns only.
    const rule = ['-t', 'nat', '-I', 'POSTROUTING', '-s', '10.244.0.0/16', '-d', '10.244.0.0/16', '-j', 'MASQUERADE'];
    await execa('ip', ['netns', 'exec', `pw-${lab().name}-node-2`, 'iptables', ...rule]);
    try {
      const r = await podwireRun(lab(), ['--only', 'NM-1.2']);
      expect(r.exitCode).toBe(1);
      const check = r.report!.checks.find((c) => c.id === 'NM-1.2')!;
      expect(check.result).toBe('failed');
      // The rule catches what node-2 routes: traffic leaving its pods for other nodes
      // (SNAT to 172.18.0.12), and traffic it forwards into its pods (SNAT to cni0, 10.244.2.1).
      const failed = check.flows.filter((f) => f.verdict === 'failed');
      const touchesNode2 = check.flows.filter((f) => /node-2/.test(f.from) || /node-2/.test(f.to));
      expect(failed.map((f) => f.flow).sort()).toEqual(touchesNode2.map((f) => f.flow).sort());
      expect(check.flows.filter((f) => f.verdict === 'passed')).toHaveLength(check.flows.length - touchesNode2.length);
      for (const f of failed) {
        expect(f.expected).toMatch(/^10\.244\.\d+\.\d+ > 10\.244\.\d+\.\d+$/);
        const leaving = /node-2/.test(f.from);
        expect(f.observed).toMatch(leaving ? /^172\.18\.0\.12 > / : /^10\.244\.2\.1 > /);
      }
      const evidence = join(r.runDir!, check.evidence!);
      const files = readdirSync(evidence);
      expect(files).toContain('flows.txt');
      expect(files).toContain('probes.txt');
      // Both ends of a failing flow: the sender's capture and the receiver's.
      expect(files).toEqual(expect.arrayContaining(['pw-pod-node-1-a.pcap', 'pw-pod-node-2-a.pcap']));
      expect(readFileSync(join(evidence, 'pw-pod-node-2-a.txt'), 'utf8')).toMatch(/IP 172\.18\.0\.1[13] > 10\.244\.2\.\d+|IP 10\.244\.2\.1 > 10\.244\.2\.\d+/);
      expect(String(r.stdout)).toContain('FAIL');
      // On the console: one line per failed flow (at most 5), then how many more the HTML report has.
      const out = String(r.stdout).split('\n');
      const at = out.findIndex((l) => /^  FAIL +NM-1\.2 /.test(l));
      const block = out.slice(at + 1, out.findIndex((l, i) => i > at && (l === '' || /^  \S/.test(l))));
      expect(block[0]!.trim()).toBe(`${failed.length} of ${check.flows.length} flow(s) failed:`);
      expect(block.filter((l) => /^ +(TCP|UDP) pw-/.test(l))).toHaveLength(Math.min(5, failed.length));
      if (failed.length > 5) expect(block.map((l) => l.trim())).toContain(`… and ${failed.length - 5} more (report.html)`);
      for (const l of block) expect(l.length, l).toBeLessThanOrEqual(100);
    } finally {
      await execa('ip', ['netns', 'exec', `pw-${lab().name}-node-2`, 'iptables', ...rule.map((a) => (a === '-I' ? '-D' : a))]);
    }
  });

  test('run --baseline gates on regressions only: the same cluster passes its own baseline, a new masquerade fails it', async () => {
    const before = await podwireRun(lab(), ['--only', 'NM-1']);
    expect(before.exitCode).toBe(0);
    const baseline = join(before.runDir!, 'report.json');
    const same = await podwireRun(lab(), ['--only', 'NM-1', '--baseline', baseline]);
    expect(same.exitCode, String(same.stdout)).toBe(0);
    expect(String(same.stdout)).toMatch(/0 regressed/);
    const rule = ['-t', 'nat', '-I', 'POSTROUTING', '-s', '10.244.0.0/16', '-d', '10.244.0.0/16', '-j', 'MASQUERADE'];
    await execa('ip', ['netns', 'exec', `pw-${lab().name}-node-2`, 'iptables', ...rule]);
    try {
      const worse = await podwireRun(lab(), ['--only', 'NM-1', '--baseline', baseline]);
      expect(worse.exitCode).toBe(1);
      expect(String(worse.stdout)).toMatch(/NM-1\.2/);
      expect(String(worse.stdout)).toMatch(/[1-9]\d* regressed/);
    } finally {
      await execa('ip', ['netns', 'exec', `pw-${lab().name}-node-2`, 'iptables', ...rule.map((a) => (a === '-I' ? '-D' : a))]);
    }
  });

  test('--concurrency 1: every check passes with never more than one API request or exec in flight; the default runs the probes\' execs at once', async () => {
    const one = await podwireRun(lab(), ['--concurrency', '1']);
    expect(one.exitCode, String(one.stdout) + String(one.stderr)).toBe(0);
    for (const c of one.report!.checks) expect(c.result, `${c.id}: ${c.reason}`).toBe('passed');
    // Counted apart: by the limiter (every call) and by the exec layer itself (execs only).
    expect(one.report!.counts).toMatchObject({ maxInFlight: 1, maxExecsInFlight: 1 });
    // More probes than slots: each probe sends, then its capture is fetched by an exec of its own (inventory + send + fetch).
    expect(one.report!.counts.execs).toBe(3 * 9);
    expect(one.report!.counts.captures).toBe(9);
    expect(one.report!.counts.apiRequests).toBeGreaterThanOrEqual(1 + 1 + 1 + 9 + 1 + 1);
    const many = await podwireRun(lab(), ['--only', 'NM-1.1']);
    expect(many.exitCode).toBe(0);
    expect(many.report!.options.concurrency).toBe(32);
    expect(many.report!.counts.execs).toBe(2 * 9);
    expect(many.report!.counts.maxExecsInFlight).toBe(9);
  });

  test('an external target on a closed port makes NM-4.1 inconclusive, with the reason; other checks unaffected', async () => {
    const r = await podwireRun(lab(), ['--external-target', '198.51.100.10:81']);
    expect(r.exitCode).toBe(0);
    const byId = new Map(r.report!.checks.map((c) => [c.id, c]));
    expect(byId.get('NM-4.1')!.result).toBe('inconclusive');
    expect(byId.get('NM-4.1')!.reason).toMatch(/198\.51\.100\.10:81 failed .*unreachable or port closed/);
    for (const [id, c] of byId) if (id !== 'NM-4.1') expect(c.result, `${id}: ${c.reason}`).toBe('passed');
    const cases = await junitCases(join(r.runDir!, 'junit.xml'));
    expect(cases.find((c) => c.name.startsWith('NM-4.1'))!.skipped).toBe(true);
    // stderr is not a terminal here: each long phase is one line, with its count and elapsed time.
    const err = String(r.stderr).split('\n');
    expect(err.filter((l) => /^podwire: probes ready \d+\/\d+ \(\d+\.\d s\)$/.test(l))).toEqual([expect.stringMatching(/ready 9\/9 /)]);
    expect(err.filter((l) => /^podwire: senders done \d+\/\d+ \(\d+\.\d s\)$/.test(l))).toEqual([expect.stringMatching(/done 9\/9 /)]);
    expect(err.filter((l) => /^podwire: captures retrieved \d+\/\d+ \(\d+\.\d s\)$/.test(l))).toEqual([expect.stringMatching(/retrieved 9\/9 /)]);
    expect(String(r.stderr)).not.toContain('\r');
  });

  test.each([
    ['a node\'s address', '172.18.0.12:80', /^podwire: `--external-target 172\.18\.0\.12:80` is node node-2's InternalIP address: egress checks need a server outside the cluster$/],
    ['an address in a node\'s pod range', '10.244.3.200:443', /^podwire: `--external-target 10\.244\.3\.200:443` is inside node node-3's pod range 10\.244\.3\.0\/24: /],
  ])('--external-target on %s: refused with the reason, exit 2, before any probe', async (_what, target, message) => {
    const r = await podwireRun(lab(), ['--external-target', target]);
    expect(r.exitCode).toBe(2);
    const lines = String(r.stderr).trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
    expect(r.runDir).toBeUndefined();
    expect(await leftovers(lab())).toEqual([]);
  });

  test('SIGINT in the middle of a run deletes its namespace and probes before exiting, leaving no process and no capture file', async () => {
    const dir = mkdtempSync(join(reportsRoot, 'int-'));
    const before = await labProcesses(lab().name);
    const hostCaptures = () => readdirSync(tmpdir()).filter((f) => f.startsWith('podwire-cap-'));
    const capturesBefore = hostCaptures();
    const child = execa(process.execPath, [CLI, 'run', '--kubeconfig', lab().kubeconfig, '--report-dir', dir], { reject: false });
    await new Promise<void>((resolve) => {
      let err = '';
      child.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        if (/sending \d+ flows/.test(err)) resolve(); // captures run in every probe by then
      });
    });
    child.kill('SIGINT');
    const r = await child;
    expect(r.exitCode).toBe(130);
    expect(await leftovers(lab())).toEqual([]);
    // Every process the run started in the lab (probes, tcpdump, agents) went with its pod; captures lived in the pods' own /tmp.
    expect((await labProcesses(lab().name)).filter((p) => !before.includes(p))).toEqual([]);
    expect(hostCaptures()).toEqual(capturesBefore);
  });

  test('a token the API server rejects: one line saying Unauthorized (401), exit 2, for run and cleanup', async () => {
    const wrong = join(mkdtempSync(join(reportsRoot, 'kc-')), 'wrong.kubeconfig');
    writeFileSync(wrong, readFileSync(lab().kubeconfig, 'utf8').replace(/token: .*/, 'token: not-the-token'));
    for (const args of [['run', '--kubeconfig', wrong, '--report-dir', join(reportsRoot, 'unauth')], ['cleanup', '--kubeconfig', wrong]]) {
      const r = await execa(process.execPath, [CLI, ...args], { reject: false, timeout: 20_000 });
      expect(r.exitCode).toBe(2);
      const lines = String(r.stderr).trim().split('\n').filter((l) => !/^podwire: (run |deploying)/.test(l));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/Unauthorized \(401\): the API server rejected the kubeconfig's credentials/);
    }
  });

  test('podwire cleanup removes what an earlier run left (--keep)', async () => {
    const r = await podwireRun(lab(), ['--only', 'NM-1.1', '--keep']);
    expect(r.exitCode).toBe(0);
    expect((await leftovers(lab())).length).toBeGreaterThan(0);
    const c = await cli(['cleanup', '--kubeconfig', lab().kubeconfig]);
    // A kept run is not live (--keep stamps its end), so it goes at once.
    expect(String(c.stdout)).toMatch(/^deleted podwire-\S+ \(not live: its run ended \d+ s ago and kept it \(--keep\)\)\n1 deleted, 0 left /);
    expect(await leftovers(lab())).toEqual([]);
  });

  test('run --keep prints the namespace it kept and the command that removes it; that command removes only it', async () => {
    const [a, b] = [await podwireRun(lab(), ['--only', 'NM-1.1', '--keep']), await podwireRun(lab(), ['--only', 'NM-1.1', '--keep'])];
    try {
      const ns = `podwire-${a.report!.runId}`;
      const hint = new RegExp(`^kept namespace ${ns} with its probes \\(--keep\\); remove it with: (podwire cleanup --kubeconfig \\S+ --namespace ${ns})$`, 'm');
      const m = hint.exec(String(a.stdout));
      expect(m, String(a.stdout)).not.toBeNull();
      const argv = m![1]!.split(' ').slice(1);
      expect(argv).toEqual(['cleanup', '--kubeconfig', lab().kubeconfig, '--namespace', ns]);
      const c = await cli(argv);
      expect(String(c.stdout)).toMatch(new RegExp(`^deleted ${ns} \\(not live: its run ended \\d+ s ago and kept it \\(--keep\\)\\)\\n1 deleted, 0 left `));
      const left = await leftovers(lab());
      expect(left.some((x) => x.includes(ns))).toBe(false);
      expect(left).toContain(`ns/podwire-${b.report!.runId}`);
      // A namespace that is not a run's is refused, one line, exit 2.
      const bad = await cli(['cleanup', '--kubeconfig', lab().kubeconfig, '--namespace', 'default'], { reject: false });
      expect(bad.exitCode).toBe(2);
      expect(String(bad.stderr).trim()).toMatch(/^podwire: namespace `default` is not a podwire run namespace at https:\/\/127\.0\.0\.1:\d+ /);
    } finally {
      await cli(['cleanup', '--kubeconfig', lab().kubeconfig], { reject: false });
    }
    expect(await leftovers(lab())).toEqual([]);
  });
});

describe('podwire run names what is wrong with the credentials', () => {
  test('no kubeconfig at all: one line naming where it looked, exit 2 (not a localhost:8080 error)', async () => {
    const home = mkdtempSync(join(tmpdir(), 'podwire-home-'));
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: home };
    delete env.KUBECONFIG;
    delete env.KUBERNETES_SERVICE_HOST;
    const r = await execa(process.execPath, [CLI, 'run'], { reject: false, env, extendEnv: false, timeout: 20_000 });
    expect(r.exitCode).toBe(2);
    expect(String(r.stderr).trim()).toBe(`podwire: no kubeconfig found (KUBECONFIG unset, ${home}/.kube/config missing, not in a cluster): pass --kubeconfig FILE`);
  });
});

describe('podwire run refuses bad input before touching a cluster', () => {
  const dir = mkdtempSync(join(tmpdir(), 'podwire-bad-'));
  const unreachable = join(dir, 'unreachable.kubeconfig');
  writeFileSync(unreachable, [
    'apiVersion: v1', 'kind: Config', 'clusters:', '- name: c', '  cluster:', '    server: https://127.0.0.1:1', '    insecure-skip-tls-verify: true',
    'contexts:', '- name: c', '  context: {cluster: c, user: u}', 'current-context: c', 'users:', '- name: u', '  user: {token: x}', '',
  ].join('\n'));

  writeFileSync(join(dir, 'empty.kubeconfig'), '');
  writeFileSync(join(dir, 'broken.kubeconfig'), 'clusters: [\n');

  test.each([
    [['--kubeconfig', join(dir, 'missing.kubeconfig')], /kubeconfig file `.*missing\.kubeconfig` does not exist/],
    [['--kubeconfig', join(dir, 'empty.kubeconfig')], /kubeconfig `.*empty\.kubeconfig` is empty/],
    [['--kubeconfig', join(dir, 'broken.kubeconfig')], /kubeconfig `.*broken\.kubeconfig` is not a valid kubeconfig/],
    [['--kubeconfig', unreachable], /cannot reach the Kubernetes API at https:\/\/127\.0\.0\.1:1/],
    [['--kubeconfig', unreachable, '--only', 'NM-9.9'], /unknown check id `NM-9\.9`/],
    [['--kubeconfig', unreachable, '--external-target', '10.0.0.1'], /`--external-target` to be IPv4:PORT .* got `10\.0\.0\.1`/],
    [['--kubeconfig', unreachable, '--external-target', '300.1.1.1:80'], /got `300\.1\.1\.1:80`/],
    [['--kubeconfig', unreachable, '--timeout', '0'], /`--timeout`/],
    [['--kubeconfig', unreachable, '--profile', 'loose'], /expected `--profile` to be one of core, extended, strict, got `loose`/],
    [['--kubeconfig', unreachable, '--egress-snat', 'maybe'], /expected `--egress-snat` to be one of node, off-node, none, got `maybe`/],
    [['--kubeconfig', unreachable, '--concurrency', '0'], /expected `--concurrency` to be an integer from 1 to 10000, got `0`/],
    [['--kubeconfig', unreachable, '--concurrency', '2.5'], /expected `--concurrency` to be an integer from 1 to 10000, got `2\.5`/],
    [['--frobnicate'], /unknown flag `--frobnicate` for `podwire run` \(valid: --kubeconfig, .*; see `podwire run --help`\)/],
  ])('podwire run %j → one line, exit 2, within 15 s', async (args, message) => {
    const t0 = Date.now();
    const r = await execa(process.execPath, [CLI, 'run', ...args, '--report-dir', join(dir, 'reports')], { reject: false, timeout: 20_000 });
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(r.exitCode).toBe(2);
    const lines = String(r.stderr).trim().split('\n').filter((l) => !/^podwire: (run |deploying)/.test(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
    expect(existsSync(join(dir, 'reports'))).toBe(false);
  });
});

describeLab('podwire demo', () => {
  test('demo --name: a lab of that name, a full run on it, the summary, and the lab removed afterwards', async () => {
    const name = labName('tdemo');
    const cwd = mkdtempSync(join(reportsRoot, 'demo-'));
    await cli(['lab', 'down', '--name', name], { reject: false });
    try {
      const r = await execa(process.execPath, [CLI, 'demo', '--name', name, '--nodes', '2'], { reject: false, cwd, timeout: 300_000 });
      expect(r.exitCode, String(r.stderr)).toBe(0);
      expect(String(r.stdout)).toMatch(/^podwire run \w+: 2 of 2 node\(s\) covered/m);
      expect(String(r.stdout)).toMatch(/^\d+ passed, 0 failed/m);
      expect(String(r.stderr)).toMatch(new RegExp(`^podwire: lab ${name} up in .*: 2 nodes, host-gw`, 'm'));
      expect(String(r.stderr)).toMatch(new RegExp(`^podwire: lab ${name} removed$`, 'm'));
      expect(readdirSync(join(cwd, 'reports'))).toHaveLength(1);
      expect(existsSync(`/run/podwire/${name}`)).toBe(false);
    } finally {
      await cli(['lab', 'down', '--name', name], { reject: false });
    }
  });
});
