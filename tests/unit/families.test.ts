// IP families, pure parts: which families a run covers, the per-family view
// the judges read, flows planned once per family, per-family verdicts merged
// (a check fails if it fails in either family) and how reports name them.
import { describe, expect, test } from 'vitest';
import { CHECKS } from '../../src/conformance/catalogue.js';
import { addressOf, familiesOf, familiesOfChoice, forFamily, runFamilies, targetOf, viewProbes } from '../../src/conformance/families.js';
import { planFlows } from '../../src/conformance/flows.js';
import { canonicalIP } from '../../src/conformance/ip.js';
import type { CheckResult, FlowObservation, Probe } from '../../src/conformance/model.js';
import type { Observations } from '../../src/conformance/observations.js';
import { mergeFamilies } from '../../src/judge/per-family.js';
import { familyTag, summarizeFamilies } from '../../src/report/model.js';
import { annotatedTargets, captureSpec } from '../../src/run/collect.js';

const probes: Probe[] = [
  { name: 'pw-pod-n1-a', node: 'n1', role: 'pod', ip: '10.244.1.2', ips: ['10.244.1.2', 'fd00:10:244:1::2'], port: 7000 },
  { name: 'pw-pod-n1-b', node: 'n1', role: 'pod', ip: '10.244.1.3', ips: ['10.244.1.3', 'fd00:10:244:1::3'], port: 7000 },
  { name: 'pw-host-n1', node: 'n1', role: 'host', ip: '172.18.0.11', ips: ['172.18.0.11', 'fd00:172:18::11'], port: 7000 },
  // IPv6-first pods on n2: nothing may assume the first address is IPv4.
  { name: 'pw-pod-n2-a', node: 'n2', role: 'pod', ip: 'fd00:10:244:2::2', ips: ['fd00:10:244:2::2', '10.244.2.2'], port: 7000 },
  { name: 'pw-pod-n2-b', node: 'n2', role: 'pod', ip: 'fd00:10:244:2::3', ips: ['fd00:10:244:2::3', '10.244.2.3'], port: 7000 },
  { name: 'pw-host-n2', node: 'n2', role: 'host', ip: 'fd00:172:18::12', ips: ['fd00:172:18::12', '172.18.0.12'], port: 7000 },
];
const nodeIPs = new Map([['n1', ['172.18.0.11', 'fd00:172:18::11']], ['n2', ['fd00:172:18::12', '172.18.0.12']]]);
const EXTERNALS = [{ ip: '198.51.100.10', port: 80 }, { ip: '2001:db8:100::10', port: 80 }];

describe('families of a run', () => {
  test('a probe\'s address of each family, whatever the order; the run covers every family a pod probe has', () => {
    expect(addressOf(probes[3]!, 4)).toBe('10.244.2.2');
    expect(addressOf(probes[3]!, 6)).toBe('fd00:10:244:2::2');
    expect(addressOf({ name: 'p', node: 'n', role: 'pod', ip: '10.0.0.1' }, 6)).toBeUndefined();
    expect(runFamilies(probes)).toEqual([4, 6]);
    expect(runFamilies(probes, [6])).toEqual([6]);
    // Host probes do not make a family: a node's IPv6 address on an IPv4 pod network is no IPv6 pod network.
    expect(runFamilies([{ ...probes[0]!, ips: undefined }, probes[2]!])).toEqual([4]);
    expect(familiesOf(['fd00::1', 'x', '10.0.0.1'])).toEqual([4, 6]);
  });

  test('the view of one family: pod probes without an address of it are left out and named; host probes stay', () => {
    const lacking: Probe = { name: 'pw-pod-n3-a', node: 'n3', role: 'pod', ip: '10.244.3.2' };
    const hostV4: Probe = { name: 'pw-host-n3', node: 'n3', role: 'host', ip: '172.18.0.13' };
    const v = viewProbes([...probes, lacking, hostV4], 6);
    expect(v.lacking).toEqual(['pw-pod-n3-a']);
    expect(v.probes.map((p) => `${p.name}=${p.ip}`)).toEqual([
      'pw-pod-n1-a=fd00:10:244:1::2', 'pw-pod-n1-b=fd00:10:244:1::3', 'pw-host-n1=fd00:172:18::11',
      'pw-pod-n2-a=fd00:10:244:2::2', 'pw-pod-n2-b=fd00:10:244:2::3', 'pw-host-n2=fd00:172:18::12', 'pw-host-n3=172.18.0.13',
    ]);
  });

  test('the observations of one family: its flows, node addresses, CIDRs, pod IPs and external target only', () => {
    const flows = planFlows('r', probes, nodeIPs, EXTERNALS);
    const obs: Observations = {
      probes, inventory: new Map(), flows: flows.map((flow) => ({ flow } as FlowObservation)), controls: new Map(),
      nodes: [{ name: 'n1', addresses: ['172.18.0.11', 'fd00:172:18::11'], podCIDRs: ['10.244.1.0/24', 'fd00:10:244:1::/64'] }],
      pods: [{ namespace: 'x', name: 'p', hostNetwork: false, podIPs: ['fd00:10:244:1::2', '10.244.1.2'], phase: 'Running' }],
      externals: EXTERNALS, egressSnat: 'node', coverage: [],
    };
    const v6 = forFamily(obs, 6);
    expect(v6.family).toBe(6);
    expect(v6.flows.length).toBe(flows.length / 2);
    expect(v6.flows.every((f) => f.flow.dstIP.includes(':'))).toBe(true);
    expect(v6.nodes).toEqual([{ name: 'n1', addresses: ['fd00:172:18::11'], podCIDRs: ['fd00:10:244:1::/64'] }]);
    expect(v6.pods[0]!.podIPs).toEqual(['fd00:10:244:1::2']);
    expect(v6.external).toEqual(EXTERNALS[1]);
    expect(v6).not.toHaveProperty('lacking');
    const v4 = forFamily({ ...obs, externals: [EXTERNALS[1]!] }, 4);
    expect(v4).not.toHaveProperty('external');
    expect(v4.probes.find((p) => p.name === 'pw-pod-n2-a')!.ip).toBe('10.244.2.2');
    expect(targetOf(EXTERNALS, 6)).toBe(EXTERNALS[1]);
    // A run that records one target (bundles from before dual-stack) gives it to its family's view.
    const { externals: _e, ...single } = obs;
    expect(forFamily({ ...single, external: EXTERNALS[0]! }, 4).external).toEqual(EXTERNALS[0]);
    expect(forFamily({ ...single, external: EXTERNALS[0]! }, 6)).not.toHaveProperty('external');
    expect(forFamily(single, 4)).not.toHaveProperty('external');
    expect(familiesOfChoice('ipv4')).toEqual([4]);
    expect(familiesOfChoice('ipv6')).toEqual([6]);
    expect(familiesOfChoice('dual')).toEqual([4, 6]);
  });
});

describe('flows per family', () => {
  const flows = planFlows('r', probes, nodeIPs, EXTERNALS);
  const v4only = planFlows('r', probes.map((p) => ({ ...p, ips: [p.ips!.find((x) => !x.includes(':'))!], ip: p.ips!.find((x) => !x.includes(':'))! })), nodeIPs, EXTERNALS);

  test('every flow of an IPv4 run is planned again in IPv6, with the IPv6 addresses of the same probes, under new ids and tokens', () => {
    expect(flows.length).toBe(2 * v4only.length);
    const [first, second] = [flows.slice(0, v4only.length), flows.slice(v4only.length)];
    expect(first.map((f) => [f.kind, f.proto, f.from, f.to, f.dstIP])).toEqual(v4only.map((f) => [f.kind, f.proto, f.from, f.to, f.dstIP]));
    expect(second.map((f) => [f.kind, f.proto, f.from, f.to])).toEqual(v4only.map((f) => [f.kind, f.proto, f.from, f.to]));
    expect(new Set(flows.map((f) => f.id)).size).toBe(flows.length);
    expect(new Set(flows.map((f) => f.token)).size).toBe(flows.length);
    const dst6 = new Set(second.map((f) => f.dstIP));
    expect([...dst6].sort()).toEqual(['2001:db8:100::10', 'fd00:10:244:1::2', 'fd00:10:244:1::3', 'fd00:10:244:2::2', 'fd00:10:244:2::3', 'fd00:172:18::11', 'fd00:172:18::12']);
    expect(second.find((f) => f.kind === 'pod-external')).toMatchObject({ dstIP: '2001:db8:100::10', dstPort: 80 });
  });

  test('one family when asked; a family without an external target plans no egress flow in it', () => {
    expect(planFlows('r', probes, nodeIPs, EXTERNALS, { mode: 'all' }, undefined, [6]).every((f) => f.dstIP.includes(':'))).toBe(true);
    const noV6Target = planFlows('r', probes, nodeIPs, [EXTERNALS[0]!]);
    expect(noV6Target.filter((f) => f.kind === 'pod-external').map((f) => f.dstIP)).toEqual(['198.51.100.10', '198.51.100.10']);
  });

  test('a node without an address of a family gets no pod-to-node flow in it', () => {
    const partial = planFlows('r', probes, new Map([['n1', ['172.18.0.11']], ['n2', ['fd00:172:18::12', '172.18.0.12']]]), []);
    expect(partial.filter((f) => f.kind === 'pod-node' && f.dstIP.includes(':')).map((f) => f.dstIP)).toEqual(['fd00:172:18::12', 'fd00:172:18::12']);
  });
});

describe('verdicts merged across families', () => {
  const check = (result: CheckResult['result'], reason: string, extra: Partial<CheckResult> = {}): CheckResult => ({
    id: 'NM-1.2', title: 'Cross-node pod to pod, no NAT', rule: 'r', profile: 'core', result, reason,
    flows: [{ flow: `f-${reason}`, kind: 'pod-pod-cross', proto: 'tcp', from: 'a', to: 'b', verdict: result, expected: '', observed: '', captures: [] }], ...extra,
  });
  test('one family: the check as judged, untouched', () => {
    const c = check('passed', 'ok');
    expect(mergeFamilies([{ family: 6, check: c }])).toBe(c);
    expect(() => mergeFamilies([])).toThrow('mergeFamilies: no family was judged');
  });
  test.each([
    ['passed', 'failed', 'failed'], ['failed', 'passed', 'failed'], ['inconclusive', 'passed', 'inconclusive'], ['passed', 'inconclusive', 'inconclusive'],
    ['failed', 'inconclusive', 'failed'], ['skipped', 'passed', 'passed'], ['passed', 'skipped', 'passed'], ['skipped', 'skipped', 'skipped'], ['inconclusive', 'skipped', 'inconclusive'],
  ] as const)('IPv4 %s and IPv6 %s: %s', (r4, r6, want) => {
    const m = mergeFamilies([{ family: 4, check: check(r4, 'four') }, { family: 6, check: check(r6, 'six') }]);
    expect(m.result).toBe(want);
    expect(m.families).toEqual([{ family: 4, result: r4, reason: 'four' }, { family: 6, result: r6, reason: 'six' }]);
    expect(m.flows.map((f) => [f.flow, f.family])).toEqual([['f-four', 4], ['f-six', 6]]);
  });
  test('the reason names every family, the worst first; the diagnosis is the worst family\'s; the tag names the families of the verdict', () => {
    const d = { subsystem: 'masquerade' as const, nodes: ['node-2'], text: 't', explains: 1, of: 1 };
    const m = mergeFamilies([{ family: 4, check: check('passed', '4 flow(s) passed') }, { family: 6, check: check('failed', '1 of 4 failed', { diagnosis: d }) }]);
    expect(m.reason).toBe('IPv6: 1 of 4 failed; IPv4: 4 flow(s) passed');
    expect(m.diagnosis).toEqual(d);
    expect(m.families![1]!.diagnosis).toEqual(d);
    expect(familyTag(m)).toBe(' [IPv6]');
    expect(familyTag(m, 'passed')).toBe(' [IPv4]');
    const both = mergeFamilies([{ family: 4, check: check('failed', 'x') }, { family: 6, check: check('failed', 'y') }]);
    expect(familyTag(both)).toBe('');
    expect(familyTag(check('failed', 'z'))).toBe('');
    expect(summarizeFamilies([m, both, check('skipped', 'only one family')], [4, 6])).toEqual([
      { family: 4, summary: { passed: 1, failed: 1, inconclusive: 0, skipped: 1, total: 3 } },
      { family: 6, summary: { passed: 0, failed: 2, inconclusive: 0, skipped: 1, total: 3 } },
    ]);
  });
});

describe('NM-3.3 on a dual-stack run', () => {
  test('a pod probe with no address of a family fails identity in that family', () => {
    const identity = CHECKS.find((c) => c.id === 'NM-3.3')!;
    const obs = {
      probes, inventory: new Map(probes.map((p) => [p.name, { addresses: p.ips!, routes: '', addrText: '' }])), flows: [], controls: new Map(),
      nodes: [], pods: [], egressSnat: 'node', coverage: [{ node: 'n1', covered: true }],
    } as Observations;
    const v6 = forFamily({ ...obs, probes: [...probes, { name: 'pw-pod-n3-a', node: 'n3', role: 'pod', ip: '10.244.3.2' }] }, 6);
    const r = identity.judge(v6);
    expect(r.result).toBe('failed');
    expect(r.flows.filter((f) => f.verdict === 'failed').map((f) => [f.flow, f.expected, f.observed])).toEqual([
      ['addr-pw-pod-n3-a', 'an IPv6 address in status.podIPs, as the other probes have', 'status.podIPs has no IPv6 address']]);
    expect(r.flows.filter((f) => f.verdict === 'passed').map((f) => f.expected)).toContain('eth0 has fd00:10:244:2::2');
  });
});

describe('addresses and targets', () => {
  test('IPv6 is compared in the form captures print; IPv4 text is left alone', () => {
    expect(canonicalIP('FD00:10:244:0001:0000:0000:0000:0002')).toBe('fd00:10:244:1::2');
    expect(canonicalIP('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1');
    expect(canonicalIP('010.1.1.1')).toBe('010.1.1.1');
    expect(canonicalIP('not-an-ip')).toBe('not-an-ip');
  });
  test('a cluster advertises one target per family; a broken or second one of a family is ignored', () => {
    expect(annotatedTargets('198.51.100.10:80,[2001:db8:100::10]:80')).toEqual(EXTERNALS);
    expect(annotatedTargets('198.51.100.10:80, junk ,198.51.100.11:80')).toEqual([EXTERNALS[0]]);
    expect(annotatedTargets('')).toEqual([]);
  });
  test('captures keep ICMPv6 errors (unreachable, packet too big, time exceeded) and each external target', () => {
    const f = captureSpec('pod', 30000, EXTERNALS).filter!;
    expect(f).toContain('(icmp6 and ip6[40] >= 1 and ip6[40] <= 3)');
    expect(f).toContain('(host 198.51.100.10 and tcp port 80)');
    expect(f).toContain('(host 2001:db8:100::10 and tcp port 80)');
    expect(captureSpec('host', 30000, undefined).filter).toContain('ip6 proto 41');
  });
});

