import { expect, test } from 'vitest';
import { labOfNetns, labPlan, nodePlan } from '../../src/lab/plan.js';
import { bridgeNetConf } from '../../src/lab/cni.js';
import { nodeNatRules } from '../../src/lab/topology.js';

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
  const rules = nodeNatRules().split('\n');
  const chain = rules.filter((r) => r.startsWith('-A PW-EGRESS'));
  expect(chain).toEqual(['-A PW-EGRESS -d 10.244.0.0/16 -j RETURN', '-A PW-EGRESS -d 172.18.0.0/24 -j RETURN', '-A PW-EGRESS -j MASQUERADE']);
  expect(rules).toContain('-A POSTROUTING -s 10.244.0.0/16 -j PW-EGRESS');
});
