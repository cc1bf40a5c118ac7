// The diagnosis in every rendering of a report: the console line under each
// failed check, JUnit's output, and the evidence directory (flows.txt with the
// likely cause, probes.txt with the nodes' snapshots, decoded captures that
// name interfaces).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { judgeBundle } from '../../src/judge/judge.js';
import { consoleSummary, junitXml } from '../../src/report/render.js';
import { writeReport } from '../../src/report/write.js';
import { loadBundle } from '../helpers/bundles.js';

const out = mkdtempSync(join(tmpdir(), 'podwire-diag-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

test('the console shows the likely cause under each failed check, after its reason; JUnit carries it in the failure\'s output', async () => {
  const { report } = judgeBundle(await loadBundle('missing-route'));
  const lines = consoleSummary(report, { dir: 'd', bundle: 'b' }).split('\n');
  const at = lines.findIndex((l) => /FAIL\s+NM-1\.2 /.test(l));
  expect(lines[at + 1]).toMatch(/^\s+3 of 4 flow\(s\) failed:/);
  // After the check's failed flows, before the next check: the likely cause, wrapped like every console line.
  const next = lines.findIndex((l, i) => i > at && /^\s*(PASS|FAIL|SKIP|INCONCLUSIVE)\s/.test(l));
  const cause = lines.findIndex((l, i) => i > at && l.trimStart().startsWith('likely cause: '));
  expect(cause).toBeGreaterThan(at + 1);
  expect(cause).toBeLessThan(next);
  const text = lines.slice(cause, next).filter((l) => !l.trimStart().startsWith('evidence: ')).map((l) => l.trim()).join(' ');
  expect(text).toBe("likely cause: route on node-1: node-1 has no route to node-2's pod CIDR 10.244.2.0/24: 10.244.2.3 takes the default route (`default via 172.18.0.1 dev eth0`) (3 of 3 failed)");
  expect(lines.filter((l) => l.includes('likely cause: ')).length).toBe(report.checks.filter((c) => c.result === 'failed').length);
  expect(lines.some((l) => /INCONCLUSIVE/.test(l) && l.includes('likely cause'))).toBe(false);
  const xml = junitXml(report);
  expect(xml).toContain('<system-out><![CDATA[likely cause: route on node-1: node-1 has no route to node-2\'s pod CIDR 10.244.2.0/24');
});

test('evidence: the likely cause per check and per flow; the nodes\' rules, links and tables; interfaces by name in decoded captures', async () => {
  const b = await loadBundle('missing-route');
  const h1 = b.probes.inventory['pw-host-node-1']!;
  h1.rules = '0:\tfrom all lookup local\n32766:\tfrom all lookup main\n';
  h1.links = [{ name: 'lo', ifindex: 1, mtu: 65536 }, { name: 'eth0', ifindex: 2, mtu: 1500 }, { name: 'cni0', ifindex: 3, mtu: 1500 }];
  h1.firewall = [
    { command: 'iptables-save -t nat', output: '*nat\n-A POSTROUTING -s 10.244.0.0/16 ! -d 10.244.0.0/16 -j MASQUERADE\nCOMMIT\n', omitted: '2 lines of kube-proxy per-Service chains' },
    { command: 'nft list ruleset', error: 'nft is not installed in the probe image' },
  ];
  const { report, captures } = judgeBundle(b);
  const dir = join(out, 'run');
  await writeReport(dir, report, b, captures);
  const ev = join(dir, 'evidence', 'NM-2.2');
  const flows = readFileSync(join(ev, 'flows.txt'), 'utf8');
  expect(flows.split('\n')[2]).toMatch(/^likely cause: route on node-1: ICMP destination unreachable: network unreachable from 172\.18\.0\.1 .* \(1 of 1 failed\)$/);
  expect(flows).toMatch(/\n {2}likely cause route on node-1: ICMP destination unreachable/);
  const probes = readFileSync(join(ev, 'probes.txt'), 'utf8');
  expect(probes).toContain('-- rules\n0:\tfrom all lookup local\n32766:\tfrom all lookup main\n-- links\n1: lo mtu 65536\n2: eth0 mtu 1500\n3: cni0 mtu 1500\n');
  expect(probes).toContain('-- iptables-save -t nat (left out: 2 lines of kube-proxy per-Service chains)\n*nat\n-A POSTROUTING -s 10.244.0.0/16 ! -d 10.244.0.0/16 -j MASQUERADE\nCOMMIT\n');
  expect(probes).toContain('-- nft list ruleset\n(none: nft is not installed in the probe image)\n');
  // node-1's capture names the interfaces its links list (its veths are not in this edited list: they keep the index); node-2's keeps them all.
  const decoded = readFileSync(join(ev, 'pw-host-node-1.txt'), 'utf8');
  expect(decoded).toMatch(/ SLL2 eth0 \(if 2\) \/ IP 172\.18\.0\.1 > 172\.18\.0\.11 proto 1 \/ ICMP type 3 code 0 \(destination unreachable: network unreachable\) quoting/);
  expect(decoded).toContain(' SLL2 cni0 (if 3) / ');
  expect(decoded).not.toMatch(/SLL2 if [123]\b/);
  const other = readFileSync(join(dir, 'evidence', 'NM-1.2', 'pw-pod-node-2-a.txt'), 'utf8');
  expect(other).toMatch(/SLL2 if \d/);
});
