import { expect, test } from 'vitest';
import { labOfNetns, labPlan, nodePlan } from '../../src/lab/plan.js';
import { bridgeNetConf } from '../../src/lab/cni.js';
import { nodeNatRules } from '../../src/lab/topology.js';
import { FAULTS, FAULT_NAMES, faultConflict, matrixFlow, staleIP } from '../../src/lab/faults.js';
import { CHECK_IDS } from '../../src/conformance/catalogue.js';
import { parseCommand } from '../../src/cli/args.js';

test('node i gets underlay .10+i, pods 10.244.i.0/24, a distinct VXLAN MAC', () => {
  expect(nodePlan('lab', 1)).toMatchObject({ name: 'node-1', netns: 'pw-lab-node-1', underlayIP: '172.18.0.11', podCIDR: '10.244.1.0/24', bridgeIP: '10.244.1.1' });
  const plan = labPlan('lab', 64, 'vxlan');
  expect(plan.nodes.at(-1)).toMatchObject({ underlayIP: '172.18.0.74', podCIDR: '10.244.64.0/24', vxlanMAC: '0e:70:77:00:00:40' });
  expect(new Set(plan.nodes.map((n) => n.vxlanMAC)).size).toBe(64);
  expect(plan).toMatchObject({ fabricNetns: 'pw-lab-fabric', internetNetns: 'pw-lab-internet', stateDir: '/run/podwire/lab' });
});

test('a netns belongs to exactly one lab', () => {
  expect(labOfNetns('pw-lab-node-1')).toBe('lab');
  expect(labOfNetns('pw-lab2-pod-abc')).toBe('lab2');
  expect(labOfNetns('other')).toBeUndefined();
  expect(labOfNetns('pw-UPPER-x')).toBeUndefined();
});

test('CNI bridge config: gateway, no masquerade, per-node IPAM, tunnel MTU only with VXLAN', () => {
  const n = nodePlan('lab', 2);
  const hostgw = bridgeNetConf(n, 'host-gw', '/run/podwire/lab/ipam/node-2');
  expect(hostgw).toMatchObject({ type: 'bridge', bridge: 'cni0', isGateway: true, ipMasq: false, cniVersion: '1.0.0' });
  expect(hostgw.ipam).toMatchObject({ type: 'host-local', ranges: [[{ subnet: '10.244.2.0/24', gateway: '10.244.2.1' }]], dataDir: '/run/podwire/lab/ipam/node-2' });
  expect(hostgw.mtu).toBeUndefined();
  expect(bridgeNetConf(n, 'vxlan', '/x').mtu).toBe(1450);
});

test('egress SNAT skips pod and node destinations and masquerades the rest', () => {
  const rules = nodeNatRules(nodePlan('lab', 1)).split('\n');
  const chain = rules.filter((r) => r.startsWith('-A PW-EGRESS'));
  expect(chain).toEqual(['-A PW-EGRESS -d 10.244.0.0/16 -j RETURN', '-A PW-EGRESS -d 172.18.0.0/24 -j RETURN', '-A PW-EGRESS -j MASQUERADE']);
  expect(rules).toContain('-A POSTROUTING -s 10.244.0.0/16 -j PW-EGRESS');
});

test('faults change the plan, the CNI config and the NAT rules as declared', () => {
  const overlap = labPlan('lab', 3, 'host-gw', ['overlapping-pod-cidr']);
  expect(overlap.nodes.map((n) => n.podCIDR)).toEqual(['10.244.1.0/24', '10.244.1.0/24', '10.244.3.0/24']);
  expect(bridgeNetConf(nodePlan('lab', 1), 'host-gw', '/x', ['masquerade-all']).ipMasq).toBe(true);
  expect(bridgeNetConf(nodePlan('lab', 1), 'vxlan', '/x', ['mtu-blackhole']).mtu).toBe(1500);
  const chain = (faults: Parameters<typeof nodeNatRules>[1], i = 1) => nodeNatRules(nodePlan('lab', i), faults).split('\n').filter((r) => r.startsWith('-A '));
  expect(chain(['no-egress-snat'])).not.toContain('-A PW-EGRESS -j MASQUERADE');
  expect(chain(['pod-to-node-snat'])).not.toContain('-A PW-EGRESS -d 172.18.0.0/24 -j RETURN');
  expect(chain(['node-to-pod-snat'], 1).some((r) => r.includes('SNAT'))).toBe(false);
  expect(chain(['node-to-pod-snat'], 2)).toContain('-A POSTROUTING -m addrtype --src-type LOCAL -d 10.244.0.0/16 -j SNAT --to-source 172.18.0.102');
  expect(staleIP('10.244.2.2')).toBe('10.244.2.102');
  expect(staleIP('10.244.2.200')).toBe('10.244.2.46');
});

test('the fault declaration names real checks, and every fault is reachable from the CLI', () => {
  for (const f of FAULTS) {
    for (const id of [...f.caughtBy, ...f.undecided]) expect(CHECK_IDS, `${f.name}: ${id}`).toContain(id);
    expect(f.caughtBy.length, `${f.name} must be caught by some check`).toBeGreaterThan(0);
    expect(f.caughtBy.filter((id) => f.undecided.includes(id))).toEqual([]);
    expect(f.matrix.every((d) => f.dataplanes.includes(d))).toBe(true);
  }
  expect(FAULTS.map((f) => f.name)).toEqual([...FAULT_NAMES]);
  expect(parseCommand(['lab', 'up', '--fault', 'missing-route', '--fault', 'masquerade-all,missing-route'])).toMatchObject({ faults: ['missing-route', 'masquerade-all'] });
  expect(() => parseCommand(['lab', 'up', '--fault', 'nope'])).toThrow(/unknown fault `nope`.*known: masquerade-all/);
  expect(faultConflict(['mtu-blackhole'], 'host-gw', 3)).toMatch(/vxlan dataplane only/);
  expect(faultConflict(['missing-route'], 'host-gw', 1)).toMatch(/at least 2 nodes/);
  expect(faultConflict([], 'host-gw', 1)).toBeUndefined();
});

test('matrix flows: ends parsed from probe names; API findings name the nodes they mention', () => {
  expect(matrixFlow('NM-1.2', { kind: 'pod-pod-cross', from: 'pw-pod-node-1-a (10.244.1.2)', to: 'pw-host-node-2 (172.18.0.12:7171)', observed: '' }))
    .toEqual({ check: 'NM-1.2', kind: 'pod-pod-cross', from: { node: 1, role: 'pod' }, to: { node: 2, role: 'host' }, named: [] });
  expect(matrixFlow('NM-3.2', { kind: 'pod-pod-same', from: 'api', to: 'api', observed: 'pod CIDRs overlap: node-1 a and node-2 b' }).named).toEqual([1, 2]);
});
