import { describe, expect, test } from 'vitest';
import { labOfNetns, labPlan, nodePlan } from '../../src/lab/plan.js';
import { bridgeNetConf } from '../../src/lab/cni.js';
import { dataplaneLines, nodeNatRules } from '../../src/lab/topology.js';
import { defaultMTU, fabricLines, fabricPortMTU, nodeUplinkLines, podMTU, underlayConflict } from '../../src/lab/underlay.js';
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
  expect(faultConflict(['mtu-blackhole'], 'host-gw', 3)).toMatch(/vxlan, flannel dataplanes only, not host-gw/);
  expect(faultConflict(['missing-route'], 'host-gw', 1)).toMatch(/at least 2 nodes/);
  expect(faultConflict([], 'host-gw', 1)).toBeUndefined();
});

test('matrix flows: ends parsed from probe names; API findings name the nodes they mention', () => {
  expect(matrixFlow('NM-1.2', { kind: 'pod-pod-cross', from: 'pw-pod-node-1-a (10.244.1.2)', to: 'pw-host-node-2 (172.18.0.12:7171)', observed: '' }))
    .toEqual({ check: 'NM-1.2', kind: 'pod-pod-cross', from: { node: 1, role: 'pod' }, to: { node: 2, role: 'host' }, named: [] });
  expect(matrixFlow('NM-3.2', { kind: 'pod-pod-same', from: 'api', to: 'api', observed: 'pod CIDRs overlap: node-1 a and node-2 b' }).named).toEqual([1, 2]);
  // jumbo-blackhole touches only full-size flows with node-2 at one end.
  const jumbo = FAULTS.find((f) => f.name === 'jumbo-blackhole')!;
  const mf = (kind: string, from: number, to: number) => ({ check: 'NM-5.1', kind, from: { node: from, role: 'pod' as const }, to: { node: to, role: 'pod' as const }, named: [] });
  expect([jumbo.touches(mf('pod-pod-mtu', 1, 2)), jumbo.touches(mf('pod-pod-mtu', 2, 3)), jumbo.touches(mf('pod-pod-mtu', 1, 3)), jumbo.touches(mf('pod-pod-cross', 1, 2))]).toEqual([true, true, false, false]);
});

describe('underlay: --uplinks and --mtu', () => {
  // Without the permanent neighbour entries (their own test below).
  const lines = (plan: ReturnType<typeof labPlan>, i: number) => nodeUplinkLines(plan, plan.nodes[i - 1]!).filter((l) => !l.startsWith('neigh '));

  test('single (the default) is one NIC, one default route, one fabric bridge, MTU 1500 everywhere', () => {
    const plan = labPlan('lab', 3, 'host-gw');
    expect(plan).toMatchObject({ uplinks: 'single', mtu: 1500 });
    expect(plan.nodes.map((n) => n.underlayIPs)).toEqual([['172.18.0.11'], ['172.18.0.12'], ['172.18.0.13']]);
    expect(lines(plan, 2)).toEqual(['link set lo up', 'addr add 172.18.0.12/24 dev eth0', 'link set eth0 up', 'route add default via 172.18.0.1 dev eth0']);
    const fabric = fabricLines(plan);
    expect(fabric.filter((l) => l.includes('br1') || l.includes('eth1'))).toEqual([]);
    expect(fabric).toContain('link add node-2 mtu 1500 type veth peer name eth0 mtu 1500 address 0e:70:78:00:00:02 netns pw-lab-node-2');
    expect(fabric).toContain('addr add 172.18.0.1/24 dev br0');
  });

  test('ecmp: every node has eth1 on br1 and one default route with a nexthop per NIC', () => {
    const plan = labPlan('lab', 3, 'vxlan', [], { uplinks: 'ecmp' });
    expect(plan.nodes.map((n) => n.underlayIPs)).toEqual([['172.18.0.11', '172.18.1.11'], ['172.18.0.12', '172.18.1.12'], ['172.18.0.13', '172.18.1.13']]);
    expect(plan.nodes.map((n) => n.underlayIP)).toEqual(['172.18.0.11', '172.18.0.12', '172.18.0.13']);
    for (const i of [1, 2, 3]) {
      const l = lines(plan, i);
      expect(l).toContain(`addr add 172.18.1.${10 + i}/24 dev eth1`);
      expect(l.filter((x) => x.startsWith('route add default'))).toEqual(['route add default nexthop via 172.18.0.1 dev eth0 nexthop via 172.18.1.1 dev eth1']);
      expect(l.some((x) => x.startsWith('rule '))).toBe(false);
    }
    const fabric = fabricLines(plan);
    expect(fabric).toEqual(expect.arrayContaining(['link add br1 type bridge', 'addr add 172.18.1.1/24 dev br1', 'link set br1 up']));
    for (const i of [1, 2, 3]) expect(fabric).toContain(`link set node-${i}-eth1 master br1`);
    // The dataplane stays on eth0: VXLAN endpoints and host-gw next hops are the eth0 addresses.
    expect(dataplaneLines(plan, plan.nodes[0]!).bridge).toContain('fdb add 0e:70:77:00:00:02 dev flannel.1 dst 172.18.0.12');
  });

  test('policy: only node-2 gets eth1; its pod CIDR is looked up in table 100 after in-cluster destinations go to main', () => {
    const plan = labPlan('lab', 3, 'host-gw', [], { uplinks: 'policy' });
    expect(plan.nodes.map((n) => n.underlayIPs.length)).toEqual([1, 2, 1]);
    expect(plan.nodes[1]!.underlayIPs).toEqual(['172.18.0.12', '172.18.1.12']);
    expect(lines(plan, 1)).toEqual(lines(labPlan('lab', 3, 'host-gw'), 1));
    const l = lines(plan, 2);
    // Node-2's own traffic keeps the main table's single default route via eth0.
    expect(l.filter((x) => x.startsWith('route add default'))).toEqual(['route add default via 172.18.0.1 dev eth0', 'route add default via 172.18.1.1 dev eth1 table 100']);
    const rules = l.filter((x) => x.startsWith('rule add')).map((r) => ({ r, pref: Number(/pref (\d+)/.exec(r)![1]) }));
    const fromPods = rules.find((x) => x.r.startsWith('rule add from 10.244.2.0/24 lookup 100'))!;
    expect(fromPods).toBeDefined();
    for (const dst of ['10.244.0.0/16', '172.18.0.0/24']) {
      const toMain = rules.find((x) => x.r.startsWith(`rule add to ${dst} lookup main`));
      expect(toMain, dst).toBeDefined();
      expect(toMain!.pref).toBeLessThan(fromPods.pref);
    }
    expect(fabricLines(plan).filter((x) => x.includes('-eth1 master'))).toEqual(['link set node-2-eth1 master br1']);
  });

  test('--mtu reaches the fabric, the NICs, the router, the internet host and the pods (less the tunnel in VXLAN)', () => {
    const hostgw = labPlan('lab', 2, 'host-gw', [], { mtu: 9000, uplinks: 'ecmp' });
    const fabric = fabricLines(hostgw);
    expect(fabric).toEqual(expect.arrayContaining([
      'link set br0 mtu 9000', 'link set br1 mtu 9000',
      'link add node-1 mtu 9000 type veth peer name eth0 mtu 9000 address 0e:70:78:00:00:01 netns pw-lab-node-1',
      'link add node-1-eth1 mtu 9000 type veth peer name eth1 mtu 9000 netns pw-lab-node-1',
      'link add internet mtu 9000 type veth peer name eth0 mtu 9000 netns pw-lab-internet',
    ]));
    expect(fabric.filter((l) => / mtu (?!9000\b)\d+/.test(l))).toEqual([]);
    expect(bridgeNetConf(hostgw.nodes[0]!, 'host-gw', '/x', [], 9000).mtu).toBe(9000);
    expect(bridgeNetConf(hostgw.nodes[0]!, 'host-gw', '/x', [], 1500).mtu).toBeUndefined();
    expect(bridgeNetConf(hostgw.nodes[0]!, 'vxlan', '/x', [], 9000).mtu).toBe(8950);
    expect(bridgeNetConf(hostgw.nodes[0]!, 'vxlan', '/x', [], 1280).mtu).toBe(1230);
    const vx = labPlan('lab', 2, 'vxlan', [], { mtu: 9000 });
    expect(dataplaneLines(vx, vx.nodes[0]!).ip).toContain('link set flannel.1 mtu 8950');
    expect(dataplaneLines(labPlan('lab', 2, 'vxlan'), vx.nodes[0]!).ip).toContain('link set flannel.1 mtu 1450');
  });

  test('mtu-blackhole keeps its meaning: jumbo NICs on a 1500-byte fabric, tunnel and pods at 1500', () => {
    const plan = labPlan('lab', 2, 'vxlan', ['mtu-blackhole']);
    expect(fabricLines(plan)).toContain('link add node-2 mtu 1500 type veth peer name eth0 mtu 9000 address 0e:70:78:00:00:02 netns pw-lab-node-2');
    expect(fabricLines(plan)).toContain('link set br0 mtu 1500');
    expect(dataplaneLines(plan, plan.nodes[0]!).ip).toContain('link set flannel.1 mtu 1500');
    expect(podMTU('vxlan', 1500, ['mtu-blackhole'])).toBe(1500);
  });

  test('jumbo-blackhole: jumbo frames on every hop (9001 by default) but the fault node\'s fabric ports, which stay at 1500', () => {
    expect(defaultMTU([])).toBe(1500);
    expect(defaultMTU(['jumbo-blackhole'])).toBe(9001);
    for (const dataplane of ['host-gw', 'vxlan', 'vpc'] as const) {
      const plan = labPlan('lab', 3, dataplane, ['jumbo-blackhole'], { mtu: 9001 });
      const fabric = fabricLines(plan);
      const ports = fabric.filter((l) => /^link add node-\d/.test(l));
      // node-2's switch ports (eth0's, and eth1's on vpc) at 1500; its NICs, like every other node's, at 9001.
      for (const l of ports) expect(l).toMatch(l.startsWith('link add node-2') ? /^link add node-2(-eth1)? mtu 1500 type veth peer name eth[01] mtu 9001 / : / mtu 9001 type veth peer name eth[01] mtu 9001 /);
      expect(ports.filter((l) => l.startsWith('link add node-2'))).toHaveLength(dataplane === 'vpc' ? 2 : 1);
      // The bridges keep the jumbo MTU they were given, whatever their smallest port.
      expect(fabric).toContain('link set br0 mtu 9001');
      expect(fabric).toContain('link add internet mtu 9001 type veth peer name eth0 mtu 9001 netns pw-lab-internet');
      expect(podMTU(dataplane, plan.mtu, plan.faults)).toBe(dataplane === 'vxlan' ? 8951 : 9001);
      for (const n of plan.nodes) expect(fabricPortMTU(plan, n)).toBe(n.index === 2 ? 1500 : 9001);
    }
    // Without the fault, every port is jumbo.
    const clean = labPlan('lab', 3, 'vpc', [], { mtu: 9001 });
    expect(clean.nodes.map((n) => fabricPortMTU(clean, n))).toEqual([9001, 9001, 9001]);
  });

  test('combinations that make no sense are refused before anything is built', () => {
    const ok = { uplinks: 'single' as const, mtu: 1500, faults: [], nodes: 3 };
    expect(underlayConflict(ok)).toBeUndefined();
    expect(underlayConflict({ ...ok, uplinks: 'ecmp', mtu: 9000, nodes: 1 })).toBeUndefined();
    expect(underlayConflict({ ...ok, uplinks: 'policy', nodes: 1 })).toMatch(/`--uplinks policy` gives node-2 a second uplink: it needs at least 2 nodes, got --nodes 1/);
    expect(underlayConflict({ ...ok, uplinks: 'policy', nodes: 2 })).toBeUndefined();
    expect(underlayConflict({ ...ok, faults: ['mtu-blackhole'], mtu: 9000 })).toMatch(/fault `mtu-blackhole` .* cannot be combined with `--mtu 9000`/);
    expect(underlayConflict({ ...ok, faults: ['mtu-blackhole'], uplinks: 'ecmp' })).toBeUndefined();
    expect(underlayConflict({ ...ok, mtu: 9001 })).toBeUndefined();
    expect(underlayConflict({ ...ok, mtu: 9217 })).toMatch(/1280 to 9216, got 9217/);
    expect(underlayConflict({ ...ok, faults: ['jumbo-blackhole'], mtu: 1500 })).toMatch(/^fault `jumbo-blackhole` needs a jumbo underlay .* give `--mtu` 9000 or more, or leave it out for 9001, got `--mtu 1500`$/);
    expect(underlayConflict({ ...ok, faults: ['jumbo-blackhole'], mtu: 8999 })).toMatch(/got `--mtu 8999`/);
    expect(underlayConflict({ ...ok, faults: ['jumbo-blackhole'], mtu: 9000 })).toBeUndefined();
    expect(underlayConflict({ ...ok, faults: ['jumbo-blackhole', 'mtu-blackhole'], mtu: 9001 })).toBe('faults `mtu-blackhole` and `jumbo-blackhole` are two different MTU mismatches (a 1500-byte fabric, a jumbo one): give one of them');
  });
});

test('underlay neighbours are permanent entries: a node knows the router and every other node, the router knows every node', async () => {
  const { underlayNeighbourLines, ROUTER_UNDERLAY_MAC } = await import('../../src/lab/underlay.js');
  const plan = labPlan('lab', 3, 'host-gw');
  const n1 = plan.nodes[0]!;
  expect(underlayNeighbourLines(plan, n1)).toEqual([
    `neigh replace 172.18.0.1 lladdr ${ROUTER_UNDERLAY_MAC} dev eth0 nud permanent`,
    'neigh replace 172.18.0.12 lladdr 0e:70:78:00:00:02 dev eth0 nud permanent',
    'neigh replace 172.18.0.13 lladdr 0e:70:78:00:00:03 dev eth0 nud permanent',
  ]);
  expect(underlayNeighbourLines(plan)).toHaveLength(3);
  expect(underlayNeighbourLines(plan).every((l) => l.endsWith('dev br0 nud permanent'))).toBe(true);
  expect(new Set(labPlan('lab', 64, 'host-gw').nodes.map((n) => n.underlayMAC)).size).toBe(64);
});
