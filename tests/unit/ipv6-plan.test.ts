// The lab's IPv6 and dual-stack address plan, configs and rules (issue 11), as pure functions.
import { describe, expect, test } from 'vitest';
import {
  familiesOf, familyOf, inFamilyOrder, internalIPsOf, labPlan, nodePlan6, podCIDRsOf, vxlanMAC6, type IpFamily, type Primary,
} from '../../src/lab/plan.js';
import { bridgeNetConf, ptpNetConf } from '../../src/lab/cni.js';
import { dataplaneLines } from '../../src/lab/topology.js';
import { nodeNatRules6 } from '../../src/lab/dataplane6.js';
import { fabricLines, nodeUplinkLines, podMTU, underlayConflict, underlayNeighbourLines } from '../../src/lab/underlay.js';
import { externalTargets, hostPort } from '../../src/lab/external-target.js';
import { FAULTS, faultConflict, faultDef } from '../../src/lab/faults.js';
import { familyConflict, familyText } from '../../src/lab/up.js';
import { expectedOn } from '../../src/lab/profiles.js';
import { formatStatus, type LabStatus } from '../../src/lab/status.js';

const lab = (ipFamily: IpFamily, primary?: Primary, dataplane: 'host-gw' | 'vxlan' | 'kindnet' = 'host-gw', faults: Parameters<typeof labPlan>[3] = []) =>
  labPlan('lab', 3, dataplane, faults, { ipFamily, ...(primary ? { primary } : {}) });

describe('families and their order', () => {
  test.each([
    ['ipv4', undefined, [4]],
    ['ipv6', undefined, [6]],
    ['dual', undefined, [4, 6]],
    ['dual', 'ipv4', [4, 6]],
    ['dual', 'ipv6', [6, 4]],
  ] as const)('%s (primary %s) lists %j', (ipFamily, primary, want) => {
    expect(familiesOf({ ipFamily, ...(primary ? { primary } : {}) })).toEqual(want);
  });

  test('a lab written before --ip-family is IPv4 only', () => {
    expect(familiesOf({})).toEqual([4]);
  });

  test('addresses are sorted into the lab\'s order and families it lacks are dropped', () => {
    expect(familyOf('fd00::1')).toBe(6);
    expect(familyOf('10.0.0.1')).toBe(4);
    const both = ['10.244.1.2', 'fd00:10:244:1::2'];
    expect(inFamilyOrder({ ipFamily: 'dual', primary: 'ipv6' }, both)).toEqual(['fd00:10:244:1::2', '10.244.1.2']);
    expect(inFamilyOrder({ ipFamily: 'dual' }, [...both].reverse())).toEqual(both);
    expect(inFamilyOrder({ ipFamily: 'ipv6' }, both)).toEqual(['fd00:10:244:1::2']);
    expect(inFamilyOrder({ ipFamily: 'ipv4' }, both)).toEqual(['10.244.1.2']);
    expect(inFamilyOrder({ ipFamily: 'dual' }, ['', '10.0.0.1'])).toEqual(['10.0.0.1']);
  });
});

describe('the IPv6 address plan', () => {
  test('node i: underlay fd00:172:18::(10+i), pods fd00:10:244:i::/64, bridge ::1, a VXLAN MAC of its own', () => {
    expect(nodePlan6(1)).toEqual({ underlayIP6: 'fd00:172:18::11', podCIDR6: 'fd00:10:244:1::/64', bridgeIP6: 'fd00:10:244:1::1' });
    expect(nodePlan6(64)).toEqual({ underlayIP6: 'fd00:172:18::74', podCIDR6: 'fd00:10:244:64::/64', bridgeIP6: 'fd00:10:244:64::1' });
    const big = labPlan('lab', 64, 'vxlan', [], { ipFamily: 'dual' });
    expect(new Set(big.nodes.map((n) => n.podCIDR6)).size).toBe(64);
    expect(new Set(big.nodes.map(vxlanMAC6)).size).toBe(64);
    expect(big.nodes.map(vxlanMAC6)).not.toContain(big.nodes[0]!.vxlanMAC);
  });

  test('an ipv4 lab has no IPv6 at all; its plan records the family', () => {
    const p = lab('ipv4');
    expect(p).toMatchObject({ ipFamily: 'ipv4', primary: 'ipv4' });
    expect(p.nodes[0]!.underlayIP6).toBeUndefined();
    expect(p.nodes[0]!.podCIDR6).toBeUndefined();
    expect(fabricLines(p).join('\n')).not.toMatch(/fd00|2001:db8/);
    expect(nodeUplinkLines(p, p.nodes[0]!).join('\n')).not.toMatch(/fd00|::/);
  });

  test('the API reports podCIDRs and InternalIPs per family, primary first; an ipv6 lab reports IPv6 only', () => {
    const dual = lab('dual');
    const n = dual.nodes[1]!;
    expect(podCIDRsOf(dual, n)).toEqual(['10.244.2.0/24', 'fd00:10:244:2::/64']);
    expect(internalIPsOf(dual, n)).toEqual(['172.18.0.12', 'fd00:172:18::12']);
    const first6 = lab('dual', 'ipv6');
    expect(podCIDRsOf(first6, first6.nodes[1]!)).toEqual(['fd00:10:244:2::/64', '10.244.2.0/24']);
    expect(internalIPsOf(first6, first6.nodes[1]!)).toEqual(['fd00:172:18::12', '172.18.0.12']);
    const six = lab('ipv6');
    expect(six.primary).toBe('ipv6');
    expect(six.nodes[1]!.podCIDR).toBe('');
    expect(podCIDRsOf(six, six.nodes[1]!)).toEqual(['fd00:10:244:2::/64']);
    expect(internalIPsOf(six, six.nodes[1]!)).toEqual(['fd00:172:18::12']);
    expect(podCIDRsOf(lab('ipv4'), lab('ipv4').nodes[1]!)).toEqual(['10.244.2.0/24']);
  });

  test('the underlay: IPv6 on br0, towards the internet host and on every node, without DAD; an IPv6 default route and permanent neighbours', () => {
    const p = lab('dual');
    const fabric = fabricLines(p);
    expect(fabric).toContain('addr add fd00:172:18::1/64 dev br0 nodad');
    expect(fabric).toContain('addr add 2001:db8:100::1/64 dev internet nodad');
    expect(fabric).toContain('neigh replace fd00:172:18::12 lladdr 0e:70:78:00:00:02 dev br0 nud permanent');
    const node = nodeUplinkLines(p, p.nodes[0]!);
    expect(node).toContain('addr add fd00:172:18::11/64 dev eth0 nodad');
    expect(node).toContain('route add ::/0 via fd00:172:18::1 dev eth0');
    expect(node).toContain('neigh replace fd00:172:18::1 lladdr 0e:70:78:00:01:00 dev eth0 nud permanent');
    expect(underlayNeighbourLines(p, p.nodes[0]!)).toContain('neigh replace fd00:172:18::13 lladdr 0e:70:78:00:00:03 dev eth0 nud permanent');
  });

  test('the external target: one per family, primary first, IPv6 bracketed; an ipv4 lab keeps its single value', () => {
    expect(hostPort('2001:db8:100::10', 80)).toBe('[2001:db8:100::10]:80');
    expect(externalTargets({ ipFamily: 'ipv4' })).toBe('198.51.100.10:80');
    expect(externalTargets({})).toBe('198.51.100.10:80');
    expect(externalTargets({ ipFamily: 'dual' })).toBe('198.51.100.10:80,[2001:db8:100::10]:80');
    expect(externalTargets({ ipFamily: 'dual', primary: 'ipv6' })).toBe('[2001:db8:100::10]:80,198.51.100.10:80');
    expect(externalTargets({ ipFamily: 'ipv6' })).toBe('[2001:db8:100::10]:80');
  });
});

describe('pods\' CNI configs', () => {
  test('bridge: host-local with one range per family, primary first, each with the bridge\'s gateway, and a default route per family', () => {
    const p = lab('dual', 'ipv6');
    const conf = bridgeNetConf(p.nodes[1]!, 'host-gw', '/x', [], 1500, p);
    expect(conf.ipam.ranges).toEqual([[{ subnet: 'fd00:10:244:2::/64', gateway: 'fd00:10:244:2::1' }], [{ subnet: '10.244.2.0/24', gateway: '10.244.2.1' }]]);
    expect(conf.ipam.routes).toEqual([{ dst: '::/0' }, { dst: '0.0.0.0/0' }]);
    const six = lab('ipv6');
    expect(bridgeNetConf(six.nodes[0]!, 'host-gw', '/x', [], 1500, six).ipam.ranges).toEqual([[{ subnet: 'fd00:10:244:1::/64', gateway: 'fd00:10:244:1::1' }]]);
  });

  test('ptp (kindnet): both ranges without a gateway, as kindnetd writes them', () => {
    const p = lab('dual', undefined, 'kindnet');
    const conf = ptpNetConf(p.nodes[0]!, '/x', [], 1500, p);
    expect(conf.ipam.ranges).toEqual([[{ subnet: '10.244.1.0/24' }], [{ subnet: 'fd00:10:244:1::/64' }]]);
    expect(conf.ipam.routes).toEqual([{ dst: '0.0.0.0/0' }, { dst: '::/0' }]);
  });

  test('an IPv4 lab\'s config is what it was', () => {
    const p = lab('ipv4');
    expect(bridgeNetConf(p.nodes[0]!, 'host-gw', '/x', [], 1500, p).ipam).toEqual({
      type: 'host-local', ranges: [[{ subnet: '10.244.1.0/24', gateway: '10.244.1.1' }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: '/x',
    });
  });

  test('vxlan pods with IPv6 fit the IPv6 tunnel (70 bytes of overhead), host-gw pods the underlay', () => {
    expect(podMTU('vxlan', 1500, [], 'ipv4')).toBe(1450);
    expect(podMTU('vxlan', 1500, [], 'dual')).toBe(1430);
    expect(podMTU('vxlan', 9000, [], 'ipv6')).toBe(8930);
    expect(podMTU('host-gw', 1500, [], 'dual')).toBeUndefined();
  });
});

describe('IPv6 routes and tunnels', () => {
  test('host-gw and kindnet route each other node\'s IPv6 /64 via its IPv6 address, beside the IPv4 routes', () => {
    for (const dp of ['host-gw', 'kindnet'] as const) {
      const p = lab('dual', undefined, dp);
      const { ip } = dataplaneLines(p, p.nodes[0]!);
      expect(ip).toEqual([
        'route add 10.244.2.0/24 via 172.18.0.12 dev eth0', 'route add 10.244.3.0/24 via 172.18.0.13 dev eth0',
        'route add fd00:10:244:2::/64 via fd00:172:18::12 dev eth0', 'route add fd00:10:244:3::/64 via fd00:172:18::13 dev eth0',
      ]);
    }
  });

  test('an ipv6 lab routes no IPv4 pod range', () => {
    const p = lab('ipv6');
    expect(dataplaneLines(p, p.nodes[0]!).ip).toEqual(['route add fd00:10:244:2::/64 via fd00:172:18::12 dev eth0', 'route add fd00:10:244:3::/64 via fd00:172:18::13 dev eth0']);
    const x = lab('ipv6', undefined, 'vxlan');
    expect(dataplaneLines(x, x.nodes[0]!).ip.join('\n')).not.toContain('flannel.1 ');
  });

  test('vxlan: a flannel-v6.1 device with IPv6 endpoints, the /64\'s network address on it, a neighbour and an FDB entry per peer', () => {
    const p = lab('dual', undefined, 'vxlan');
    const { ip, bridge } = dataplaneLines(p, p.nodes[0]!);
    expect(ip).toContain('link add flannel-v6.1 type vxlan id 1 dev eth0 dstport 8472 nolearning local fd00:172:18::11');
    expect(ip).toContain('link set flannel-v6.1 mtu 1430');
    expect(ip).toContain('addr add fd00:10:244:1::/128 dev flannel-v6.1 nodad');
    expect(ip).toContain('route add fd00:10:244:2::/64 via fd00:10:244:2:: dev flannel-v6.1 onlink');
    expect(ip).toContain('neigh add fd00:10:244:3:: lladdr 0e:70:76:00:00:03 dev flannel-v6.1 nud permanent');
    expect(bridge).toContain('fdb add 0e:70:76:00:00:02 dev flannel-v6.1 dst fd00:172:18::12');
    // IPv4 keeps its own flannel.1 over the IPv4 underlay.
    expect(ip).toContain('link add flannel.1 type vxlan id 1 dev eth0 dstport 8472 nolearning local 172.18.0.11');
  });

  test('ipv6-missing-route: node-1 lacks only the IPv6 route to node-2\'s pods', () => {
    const p = lab('dual', undefined, 'host-gw', ['ipv6-missing-route']);
    const one = dataplaneLines(p, p.nodes[0]!).ip;
    expect(one).not.toContain('route add fd00:10:244:2::/64 via fd00:172:18::12 dev eth0');
    expect(one).toContain('route add 10.244.2.0/24 via 172.18.0.12 dev eth0');
    expect(one).toContain('route add fd00:10:244:3::/64 via fd00:172:18::13 dev eth0');
    expect(dataplaneLines(p, p.nodes[2]!).ip).toContain('route add fd00:10:244:2::/64 via fd00:172:18::12 dev eth0');
    const x = lab('dual', undefined, 'vxlan', ['ipv6-missing-route']);
    expect(dataplaneLines(x, x.nodes[0]!).ip.join('\n')).not.toContain('fd00:10:244:2::/64');
  });
});

describe('IPv6 egress masquerade', () => {
  const chain = (rules: string) => rules.split('\n').filter((r) => r.startsWith('-A '));

  test('host-gw and vxlan: pod traffic to outside the IPv6 pod range and underlay is masqueraded', () => {
    const p = lab('dual');
    expect(chain(nodeNatRules6(p.nodes[0]!))).toEqual([
      '-A POSTROUTING -s fd00:10:244::/56 -j PW-EGRESS',
      '-A PW-EGRESS -d fd00:10:244::/56 -j RETURN',
      '-A PW-EGRESS -d fd00:172:18::/64 -j RETURN',
      '-A PW-EGRESS -j MASQUERADE',
    ]);
  });

  test('kindnet: KIND-MASQ-AGENT returns for the IPv6 pod range only and masquerades the rest', () => {
    const p = lab('dual', undefined, 'kindnet');
    const rules = chain(nodeNatRules6(p.nodes[0]!, [], 'kindnet'));
    expect(rules.filter((r) => r.startsWith('-A KIND-MASQ-AGENT')).map((r) => r.replace(/ -m comment --comment "[^"]*"/, ''))).toEqual([
      '-A KIND-MASQ-AGENT -d fd00:10:244::/56 -j RETURN',
      '-A KIND-MASQ-AGENT -j MASQUERADE',
    ]);
  });

  test('ipv6-no-egress-snat drops the IPv6 masquerade on every node and profile', () => {
    const p = lab('dual');
    for (const dp of ['host-gw', 'vxlan', 'kindnet'] as const) {
      for (const n of p.nodes) expect(chain(nodeNatRules6(n, ['ipv6-no-egress-snat'], dp)).some((r) => r.endsWith('-j MASQUERADE'))).toBe(false);
    }
  });

  test('ipv6-pod-masquerade: node-2 alone masquerades its pods\' IPv6 traffic leaving their /64', () => {
    const p = lab('dual');
    const rule = '-A POSTROUTING -s fd00:10:244:2::/64 ! -d fd00:10:244:2::/64 -m comment --comment "ipv6-pod-masquerade" -j MASQUERADE';
    expect(chain(nodeNatRules6(p.nodes[1]!, ['ipv6-pod-masquerade']))[0]).toBe(rule);
    expect(chain(nodeNatRules6(p.nodes[1]!, ['ipv6-pod-masquerade'], 'kindnet'))[0]).toBe(rule);
    expect(nodeNatRules6(p.nodes[0]!, ['ipv6-pod-masquerade'])).not.toContain('ipv6-pod-masquerade');
    expect(nodeNatRules6(p.nodes[2]!, ['ipv6-pod-masquerade'])).not.toContain('ipv6-pod-masquerade');
  });
});

describe('what a lab with IPv6 refuses, before anything is built', () => {
  test.each([
    [{ ipFamily: 'dual', dataplane: 'calico' }, 'the calico dataplane builds IPv4 labs only; `--ip-family dual` needs one of host-gw, vxlan, kindnet'],
    [{ ipFamily: 'ipv6', dataplane: 'vpc' }, 'the vpc dataplane builds IPv4 labs only; `--ip-family ipv6` needs one of host-gw, vxlan, kindnet'],
    [{ ipFamily: 'dual', dataplane: 'flannel' }, 'the flannel dataplane builds IPv4 labs only'],
    [{ ipFamily: 'dual', dataplane: 'host-gw', uplinks: 'ecmp' }, '`--uplinks ecmp` builds its second uplink in IPv4 only: it cannot be combined with `--ip-family dual`'],
  ] as const)('%j', (o, msg) => {
    expect(underlayConflict({ uplinks: 'single', mtu: 1500, faults: [], nodes: 3, ...o })).toContain(msg);
  });

  test('the profiles that build IPv6 are accepted', () => {
    for (const dataplane of ['host-gw', 'vxlan', 'kindnet'] as const) {
      for (const ipFamily of ['ipv6', 'dual'] as const) expect(underlayConflict({ uplinks: 'single', mtu: 1500, faults: [], nodes: 3, dataplane, ipFamily })).toBeUndefined();
    }
  });

  test('IPv6 faults need a dual-stack lab; IPv4 faults an IPv4 family', () => {
    expect(faultConflict(['ipv6-missing-route'], 'host-gw', 3, 'ipv4')).toBe('fault `ipv6-missing-route` breaks IPv6 beside a clean IPv4: it needs `--ip-family dual`, got ipv4');
    expect(faultConflict(['ipv6-no-egress-snat'], 'host-gw', 3)).toContain('needs `--ip-family dual`, got ipv4');
    expect(faultConflict(['ipv6-pod-masquerade'], 'host-gw', 3, 'ipv6')).toContain('got ipv6');
    expect(faultConflict(['ipv6-pod-masquerade'], 'calico', 3, 'dual')).toBe('fault `ipv6-pod-masquerade` applies to the host-gw, vxlan, kindnet dataplanes only, not calico');
    expect(faultConflict(['ipv6-pod-masquerade', 'ipv6-missing-route', 'ipv6-no-egress-snat'], 'kindnet', 3, 'dual')).toBeUndefined();
    expect(faultConflict(['missing-route'], 'host-gw', 3, 'ipv6')).toBe('fault `missing-route` breaks IPv4, which an `--ip-family ipv6` lab\'s pods do not have: use `--ip-family dual` or ipv4');
    expect(faultConflict(['missing-route'], 'host-gw', 3, 'dual')).toBeUndefined();
  });

  test('--primary needs dual; --cni-config stays IPv4', () => {
    expect(familyConflict('ipv4', 'ipv6', false)).toBe('`--primary` orders the two families of a dual-stack lab: it needs `--ip-family dual`, got ipv4');
    expect(familyConflict('dual', 'ipv6', false)).toBeUndefined();
    expect(familyConflict('dual', undefined, true)).toBe('`--cni-config` builds IPv4 labs only (its placeholders give one podCIDR): it cannot be combined with `--ip-family dual`');
    expect(familyConflict('ipv4', undefined, true)).toBeUndefined();
  });

  test('the family as lab up, status and list say it', () => {
    expect(familyText({})).toBe('ipv4');
    expect(familyText({ ipFamily: 'ipv6', primary: 'ipv6' })).toBe('ipv6');
    expect(familyText({ ipFamily: 'dual', primary: 'ipv4' })).toBe('dual-stack (IPv4 first)');
    expect(familyText({ ipFamily: 'dual', primary: 'ipv6' })).toBe('dual-stack (IPv6 first)');
  });
});

test('the IPv6 faults are declared for the IPv6 family of dual-stack labs, mirroring their IPv4 counterparts', () => {
  const six = FAULTS.filter((f) => f.family === 6).map((f) => f.name);
  expect(six).toEqual(['ipv6-pod-masquerade', 'ipv6-missing-route', 'ipv6-no-egress-snat']);
  for (const [v6, v4] of [['ipv6-pod-masquerade', 'masquerade-all'], ['ipv6-missing-route', 'missing-route'], ['ipv6-no-egress-snat', 'no-egress-snat']] as const) {
    const f = faultDef(v6);
    expect(f.ipFamily).toBe('dual');
    expect(f.matrix.length).toBeGreaterThan(0);
    expect(f.caughtBy).toEqual(faultDef(v4).caughtBy);
    expect(f.undecided).toEqual(faultDef(v4).undecided);
    for (const dp of f.dataplanes) {
      // kindnet without IPv6 egress masquerade: its IPv4 pod → node SNAT (strict NM-2.3 by design) still fails in the same run.
      const same = expectedOn(faultDef(v4), dp);
      const want = v6 === 'ipv6-no-egress-snat' && dp === 'kindnet' ? { ...same, failed: ['NM-2.3', ...same.failed] } : same;
      expect(expectedOn(f, dp), `${v6} on ${dp}`).toEqual(want);
    }
  }
  // Every IPv4 fault is still declared for IPv4 (no family, no lab family).
  expect(FAULTS.filter((f) => f.family === undefined).every((f) => f.ipFamily === undefined)).toBe(true);
});

test('lab status (text) names the family and lists both families of nodes and pods, primary first', () => {
  const base: LabStatus = {
    apiVersion: 'podwire.dev/v1alpha1', kind: 'LabStatus', name: 'six', dataplane: 'host-gw', faults: [], uplinks: 'single', mtu: 1500,
    ipFamily: 'dual', primary: 'ipv6', cniConfig: null, admission: { podSecurity: 'privileged', pinPodSecurity: false, denyProbes: [] }, stateDir: '/run/podwire/six', kubeconfig: '/run/podwire/six/kubeconfig',
    api: { url: 'https://127.0.0.1:1', pid: 1, running: true, healthy: true },
    nodes: [{ name: 'node-1', netns: 'pw-six-node-1', underlayIP: '172.18.0.11', underlayIPs: ['172.18.0.11'], podCIDR: '10.244.1.0/24',
      internalIPs: ['fd00:172:18::11', '172.18.0.11'], podCIDRs: ['fd00:10:244:1::/64', '10.244.1.0/24'] }],
    pods: [{ namespace: 'default', name: 'web', node: 'node-1', netns: 'pw-six-pod-1', ip: 'fd00:10:244:1::2', ips: ['fd00:10:244:1::2', '10.244.1.2'], phase: 'Running', hostNetwork: false }],
  };
  const text = formatStatus(base).split('\n');
  expect(text[0]).toBe('lab six (host-gw, dual-stack (IPv6 first), uplinks single, mtu 1500)  state /run/podwire/six');
  expect(text).toContain('node-1  pw-six-node-1  fd00:172:18::11,172.18.0.11  fd00:10:244:1::/64,10.244.1.0/24');
  expect(text).toContain('default/web    node-1  Running  fd00:10:244:1::2,10.244.1.2  pw-six-pod-1');
  // An IPv4 lab's status reads as before.
  const v4 = formatStatus({ ...base, ipFamily: 'ipv4', primary: 'ipv4', pods: [] }).split('\n');
  expect(v4[0]).toBe('lab six (host-gw, ipv4, uplinks single, mtu 1500)  state /run/podwire/six');
  expect(v4).toContain('NODE    NETNS          UNDERLAY-IP  POD-CIDR');
});
