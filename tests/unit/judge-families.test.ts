// Judging per family, on bundles recorded from dual-stack labs: a clean
// IPv6-first run passes every check in both families; IPv6 masquerade on one
// node fails exactly its checks in IPv6, the IPv4 verdicts of the same run
// all passing; reports name the family. Old bundles judge as before.
import { describe, expect, test } from 'vitest';
import { consoleSummary, junitXml } from '../../src/report/render.js';
import { htmlReport } from '../../src/report/html.js';
import { checkOf, judge, loadBundle } from '../helpers/bundles.js';
import type { CheckResult } from '../../src/conformance/model.js';

const paths = { dir: 'reports/r', bundle: 'reports/r/bundle' };
const network = (c: CheckResult) => c.flows.filter((f) => f.proto !== '-');

describe('a clean dual-stack run, IPv6 first', () => {
  test('every check passes in both families, each judged on flows of its own family', async () => {
    const b = await loadBundle('clean-dual');
    expect(b.run.families).toEqual([4, 6]);
    // IPv6 first: the probes' primary address is IPv6.
    expect(b.probes.probes.find((p) => p.name === 'pw-pod-node-1-a')!.ip).toMatch(/:/);
    const r = judge(b);
    expect(r.families).toEqual([4, 6]);
    expect(r.summary).toMatchObject({ failed: 0, inconclusive: 0, skipped: 0 });
    expect(r.familySummaries!.map((f) => [f.family, f.summary.passed, f.summary.total])).toEqual([[4, 14, 14], [6, 14, 14]]);
    for (const c of r.checks) {
      expect(c.families!.map((f) => [f.family, f.result]), c.id).toEqual([[4, 'passed'], [6, 'passed']]);
      if (network(c).length === 0) continue;
      for (const fam of [4, 6] as const) {
        const mine = network(c).filter((f) => f.family === fam);
        expect(mine.length, `${c.id} IPv${fam}`).toBeGreaterThan(0);
        // Each family's verdicts speak of that family's addresses only.
        for (const f of mine.filter((x) => /\d+\.\d+\.\d+\.\d+|fd00:|2001:db8:/.test(x.expected))) expect(/fd00:|2001:db8:/.test(f.expected) ? 6 : 4, `${c.id} ${f.flow}: ${f.expected}`).toBe(fam);
        // IPv6 destinations are bracketed before their port.
        if (fam === 6) for (const f of mine) expect(f.to).toMatch(/\(\[[0-9a-f:]+\]:\d+\)$/);
      }
    }
    expect(r.dataplane.filter((d) => d.samples > 0).map((d) => `${d.family} ${d.path}`)).toEqual(expect.arrayContaining(['4 cross-node', '6 cross-node']));
  });

  test('NM-3.3: a probe whose status lists no IPv6 address fails identity in IPv6 only', async () => {
    const b = await loadBundle('clean-dual');
    const p = b.probes.probes.find((x) => x.name === 'pw-pod-node-2-b')!;
    p.ips = p.ips!.filter((ip) => !ip.includes(':'));
    p.ip = p.ips[0]!;
    const c = checkOf(judge(b), 'NM-3.3');
    expect(c.families!.map((f) => [f.family, f.result])).toEqual([[4, 'passed'], [6, 'failed']]);
    expect(c.flows.filter((f) => f.verdict === 'failed').map((f) => [f.flow, f.family, f.observed])).toEqual([['addr-pw-pod-node-2-b', 6, 'status.podIPs has no IPv6 address']]);
  });

  test('a bundle whose run tested IPv4 only is judged in IPv4 only, its API objects too', async () => {
    const b = await loadBundle('clean-dual');
    b.run.families = [4];
    b.run.options.ipFamily = 'ipv4';
    b.flows.flows = b.flows.flows.filter((f) => !f.dstIP.includes(':'));
    const r = judge(b);
    expect(r.families).toEqual([4]);
    expect(r.familySummaries).toBeUndefined();
    for (const c of r.checks) {
      expect(c.families, c.id).toBeUndefined();
      expect(c.result, `${c.id}: ${c.reason}`).toBe('passed');
      for (const f of c.flows) expect(f.expected, `${c.id} ${f.flow}`).not.toMatch(/fd00:/);
    }
  });
});

describe('IPv6 masquerade on node-2 of a dual-stack lab', () => {
  test('NM-1.2, NM-2.3 and NM-4.2 fail in IPv6 only, naming node-2\'s IPv6 address in the decisive packet; every IPv4 verdict passes', async () => {
    const r = judge(await loadBundle('ipv6-pod-masquerade'));
    const failed = r.checks.filter((c) => c.result === 'failed').map((c) => c.id);
    expect(failed).toEqual(['NM-1.2', 'NM-2.3', 'NM-4.2']);
    for (const c of r.checks) {
      expect(c.families!.find((f) => f.family === 4)!.result, c.id).toBe('passed');
      expect(c.families!.find((f) => f.family === 6)!.result, c.id).toBe(failed.includes(c.id) ? 'failed' : 'passed');
      for (const f of c.flows.filter((x) => x.family === 4)) expect(f.verdict).toBe('passed');
    }
    const nm12 = checkOf(r, 'NM-1.2');
    const bad = nm12.flows.filter((f) => f.verdict === 'failed');
    expect(bad.length).toBeGreaterThan(0);
    for (const f of bad) {
      expect(f.family).toBe(6);
      expect(f.from).toMatch(/^pw-pod-node-2-a \(fd00:/);
      expect(f.decisive!.src).toMatch(/^fd00:172:18::/);
      expect(f.observed).toContain(`${f.decisive!.src} > ${f.decisive!.dst}`);
    }
    expect(nm12.diagnosis).toMatchObject({ subsystem: 'masquerade', nodes: ['node-2'] });
    expect(nm12.reason).toMatch(/^IPv6: \d+ of \d+ cross-node pod flow\(s\) failed: .*; IPv4: \d+ cross-node pod flow\(s\) passed$/);
  });

  test('the console names the family (NM-1.2 [IPv6], [IPv6] before each flow), counts per family; JUnit has a case per family', async () => {
    const r = judge(await loadBundle('ipv6-pod-masquerade'));
    const text = consoleSummary(r, paths, { width: 300 });
    expect(text).toMatch(/^ {2}FAIL {9}NM-1\.2 \[IPv6\] {2}Cross-node pod to pod, no NAT$/m);
    expect(text).toMatch(/^ {2}PASS {9}NM-1\.1 {9}Same-node pod to pod, no NAT$/m);
    expect(text).toMatch(/^\s+\[IPv6\] (TCP|UDP) pw-pod-node-2-a \(fd00:/m);
    expect(text).toContain('families: IPv4, IPv6');
    expect(text).toContain('IPv4: 14 passed, 0 failed, 0 inconclusive, 0 skipped; IPv6: 11 passed, 3 failed, 0 inconclusive, 0 skipped');
    const xml = junitXml(r);
    expect(xml).toContain('name="NM-1.2 Cross-node pod to pod, no NAT [IPv4]"');
    const v6 = /<testcase classname="podwire\.core\.NM-1" name="NM-1\.2 Cross-node pod to pod, no NAT \[IPv6\]"[^>]*>([\s\S]*?)<\/testcase>/.exec(xml);
    expect(v6?.[1]).toContain('<failure');
    const v4 = /<testcase classname="podwire\.core\.NM-1" name="NM-1\.2 Cross-node pod to pod, no NAT \[IPv4\]"[^>]*?(\/>|>([\s\S]*?)<\/testcase>)/.exec(xml);
    expect(v4).not.toBeNull();
    expect(v4![0]).not.toContain('<failure');
    expect((xml.match(/<testcase /g) ?? []).length).toBe(2 * r.checks.length);
    const html = htmlReport(r);
    expect(html).toContain('<span data-family="6">IPv6: ');
    expect(html).toContain('<h4>IPv6</h4>');
  });
});

describe('bundles from before dual-stack', () => {
  test('are judged in their probes\' family, without family fields', async () => {
    const r = judge(await loadBundle('clean-hostgw'));
    expect(r.families).toEqual([4]);
    expect(r.familySummaries).toBeUndefined();
    expect(r.checks.every((c) => c.families === undefined && c.flows.every((f) => f.family === undefined))).toBe(true);
    expect(r.dataplane.every((d) => d.family === undefined)).toBe(true);
    expect(consoleSummary(r, paths)).not.toMatch(/IPv[46]/);
  });
});
