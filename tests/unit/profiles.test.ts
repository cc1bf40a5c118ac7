// The pure parts of the dataplane profiles: CNI configs, IPAM blocks, the
// per-pod wiring lines, the masquerade rules, routes, and which faults apply.
import { expect, test } from 'vitest';
import { calicoBlock, labPlan, podRangeOf, vpcPodPrefix, DATAPLANES } from '../../src/lab/plan.js';
import { calicoIpamConf, podNetConf, ptpNetConf } from '../../src/lab/cni.js';
import { caliVeth, calicoHostLines, calicoHostSysctls, calicoPodLines } from '../../src/lab/calico.js';
import { dataplaneLines, nodeNatRules } from '../../src/lab/topology.js';
import { FAULTS, faultConflict } from '../../src/lab/faults.js';
import { PROFILES } from '../../src/lab/profiles.js';
import { flannelDelegateConf, flannelForwardRules, flannelMasqRules, networkOf, parseSubnetEnv, subnetEnvFor, subnetEnvText } from '../../src/lab/flannel.js';
import { eniVeth, vpcFabricLines, vpcHostLines, vpcNodeLines, vpcPodLines, vpcSnatRules } from '../../src/lab/vpc.js';
import { fabricLines, nodeUplinkLines, policyLines, underlayConflict } from '../../src/lab/underlay.js';
import { parseCommand } from '../../src/cli/args.js';

const rulesOf = (s: string) => s.split('\n').filter((l) => l.startsWith('-A '));

test('every dataplane has a profile declaration, and every fault applies to declared profiles', () => {
  expect(PROFILES.map((p) => p.name)).toEqual([...DATAPLANES]);
  for (const f of FAULTS) expect(f.dataplanes.every((d) => DATAPLANES.includes(d))).toBe(true);
  for (const d of DATAPLANES) expect(parseCommand(['lab', 'up', '--dataplane', d])).toMatchObject({ dataplane: d });
});

test('kindnet: ptp with host-local over the node podCIDR, no masquerade by the plugin', () => {
  const plan = labPlan('lab', 3, 'kindnet');
  const conf = ptpNetConf(plan.nodes[1]!, '/run/podwire/lab/ipam/node-2');
  expect(conf).toEqual({
    cniVersion: '1.0.0', name: 'kindnet', type: 'ptp', ipMasq: false,
    ipam: { type: 'host-local', ranges: [[{ subnet: '10.244.2.0/24' }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: '/run/podwire/lab/ipam/node-2' },
  });
  expect(ptpNetConf(plan.nodes[0]!, '/x', [], 9000).mtu).toBe(9000);
  expect(podNetConf(plan.nodes[0]!, 'kindnet', '/x').type).toBe('ptp');
  expect(plan.nodes.every((n) => n.ipamBlock === undefined && podRangeOf(n) === n.podCIDR)).toBe(true);
  expect(dataplaneLines(plan, plan.nodes[0]!).ip).toEqual(['route add 10.244.2.0/24 via 172.18.0.12 dev eth0', 'route add 10.244.3.0/24 via 172.18.0.13 dev eth0']);
});

test("kindnet: kindnetd's masquerade chain; nonmasq-node-cidr narrows its exemption to the node's own podCIDR", () => {
  const node = labPlan('lab', 3, 'kindnet').nodes[1]!;
  const rules = rulesOf(nodeNatRules(node, [], 'kindnet'));
  expect(rules.map((r) => r.replace(/ -m comment --comment "[^"]*"/, ''))).toEqual([
    '-A POSTROUTING -m addrtype ! --dst-type LOCAL -j KIND-MASQ-AGENT',
    '-A KIND-MASQ-AGENT -d 10.244.0.0/16 -j RETURN',
    '-A KIND-MASQ-AGENT -j MASQUERADE',
  ]);
  expect(nodeNatRules(node, [], 'kindnet')).toContain(':KIND-MASQ-AGENT - [0:0]');
  expect(rulesOf(nodeNatRules(node, ['nonmasq-node-cidr'], 'kindnet'))[1]).toMatch(/^-A KIND-MASQ-AGENT -d 10\.244\.2\.0\/24 /);
  expect(rulesOf(nodeNatRules(node, ['no-egress-snat'], 'kindnet')).some((r) => r.includes('-j MASQUERADE'))).toBe(false);
  expect(rulesOf(nodeNatRules(node, ['node-to-pod-snat'], 'kindnet')).at(-1)).toContain('SNAT --to-source 172.18.0.102');
});

test('calico: /26 blocks in order from the pool, ignoring podCIDRs (node-5 holds one inside node-1\'s)', () => {
  expect([1, 2, 3, 4, 5, 64].map(calicoBlock)).toEqual(['10.244.0.0/26', '10.244.0.64/26', '10.244.0.128/26', '10.244.0.192/26', '10.244.1.0/26', '10.244.15.192/26']);
  const plan = labPlan('lab', 64, 'calico');
  expect(new Set(plan.nodes.map((n) => n.ipamBlock)).size).toBe(64);
  expect(plan.nodes[0]).toMatchObject({ podCIDR: '10.244.1.0/24', ipamBlock: '10.244.0.0/26' });
  expect(calicoIpamConf(plan.nodes[1]!, '/d')).toEqual({
    cniVersion: '1.0.0', name: 'k8s-pod-network', type: 'host-local', ipam: { type: 'host-local', ranges: [[{ subnet: '10.244.0.64/26' }]], dataDir: '/d' },
  });
  expect(() => calicoIpamConf(labPlan('lab', 1, 'host-gw').nodes[0]!, '/d')).toThrow(/no IPAM block/);
  // BGP-like: each other node's block via its address.
  expect(dataplaneLines(labPlan('lab', 3, 'calico'), plan.nodes[1]!).ip).toEqual(['route add 10.244.0.0/26 via 172.18.0.11 dev eth0', 'route add 10.244.0.128/26 via 172.18.0.13 dev eth0']);
});

test('calico: a veth with a proxy-ARP host end and no address, the pod routed via 169.254.1.1', () => {
  expect(caliVeth('0123456789')).toBe('cali0123456789');
  expect(calicoHostLines('0123456789', 'pw-lab-pod-0123456789', '10.244.0.66', 1500)).toEqual([
    'link add cali0123456789 mtu 1500 type veth peer name eth0 mtu 1500 netns pw-lab-pod-0123456789',
    'link set cali0123456789 address ee:ee:ee:ee:ee:ee',
    'link set cali0123456789 up',
    'route add 10.244.0.66/32 dev cali0123456789 scope link',
  ]);
  expect(calicoPodLines('10.244.0.66')).toEqual(['addr add 10.244.0.66/32 dev eth0', 'link set eth0 up', 'route add 169.254.1.1 dev eth0 scope link', 'route add default via 169.254.1.1 dev eth0']);
  const [n1, n2] = labPlan('lab', 2, 'calico').nodes;
  expect(calicoHostSysctls(n1!, 'ab', [])).toContain('echo 1 > /proc/sys/net/ipv4/conf/caliab/proxy_arp');
  expect(calicoHostSysctls(n2!, 'ab', [])).toContain('echo 0 > /proc/sys/net/ipv4/neigh/caliab/proxy_delay');
  expect(calicoHostSysctls(n1!, 'ab', ['no-proxy-arp'])).toContain('echo 1 > /proc/sys/net/ipv4/conf/caliab/proxy_arp');
  expect(calicoHostSysctls(n2!, 'ab', ['no-proxy-arp'])).toContain('echo 0 > /proc/sys/net/ipv4/conf/caliab/proxy_arp');
});

test("calico: natOutgoing masquerades pool traffic to outside the pool, nodes included", () => {
  const node = labPlan('lab', 3, 'calico').nodes[0]!;
  expect(rulesOf(nodeNatRules(node, [], 'calico'))).toEqual([
    '-A POSTROUTING -m comment --comment "cali:nat-outgoing" -j cali-nat-outgoing',
    '-A cali-nat-outgoing -s 10.244.0.0/16 ! -d 10.244.0.0/16 -j MASQUERADE',
  ]);
  expect(rulesOf(nodeNatRules(node, ['no-egress-snat'], 'calico'))).toEqual([]);
});

test('faults that do not apply to a profile are refused in one line', () => {
  expect(faultConflict(['pod-to-node-snat'], 'kindnet', 3)).toBe('fault `pod-to-node-snat` applies to the host-gw, vxlan dataplanes only, not kindnet');
  expect(faultConflict(['masquerade-all'], 'calico', 3)).toMatch(/not calico$/);
  expect(faultConflict(['overlapping-pod-cidr'], 'calico', 3)).toMatch(/not calico$/);
  expect(faultConflict(['nonmasq-node-cidr'], 'host-gw', 3)).toBe('fault `nonmasq-node-cidr` applies to the kindnet dataplane only, not host-gw');
  expect(faultConflict(['no-proxy-arp'], 'kindnet', 3)).toMatch(/calico dataplane only/);
  expect(faultConflict(['no-proxy-arp'], 'calico', 3)).toBeUndefined();
  expect(faultConflict(['missing-route', 'no-egress-snat', 'wrong-status-ip', 'forward-drop'], 'calico', 3)).toBeUndefined();
  for (const f of FAULTS) for (const d of f.matrix) expect(f.dataplanes).toContain(d);
  // Each new profile's native fault runs in the matrix on it.
  expect(FAULTS.filter((f) => f.matrix.includes('kindnet')).map((f) => f.name)).toContain('nonmasq-node-cidr');
  expect(FAULTS.filter((f) => f.matrix.includes('calico')).map((f) => f.name)).toContain('no-proxy-arp');
});

test('vpc: no podCIDR, a /26 prefix per node of the pod subnet, a second NIC on every node', () => {
  expect([1, 2, 4, 5, 64].map(vpcPodPrefix)).toEqual(['172.18.64.0/26', '172.18.64.64/26', '172.18.64.192/26', '172.18.65.0/26', '172.18.79.192/26']);
  const plan = labPlan('lab', 3, 'vpc');
  expect(plan.nodes[1]).toMatchObject({ podCIDR: '', ipamBlock: '172.18.64.64/26', underlayIPs: ['172.18.0.12', '172.18.1.12'] });
  expect(podNetConf(plan.nodes[1]!, 'vpc', '/d')).toEqual({
    cniVersion: '1.0.0', name: 'aws-cni', type: 'host-local', ipam: { type: 'host-local', ranges: [[{ subnet: '172.18.64.64/26' }]], dataDir: '/d' },
  });
  // eth1 on br1 for every node, the default route still on eth0.
  expect(fabricLines(plan)).toContain('link add node-3-eth1 mtu 1500 type veth peer name eth1 mtu 1500 netns pw-lab-node-3');
  expect(nodeUplinkLines(plan, plan.nodes[0]!)).toContain('route add default via 172.18.0.1 dev eth0');
  expect(nodeUplinkLines(plan, plan.nodes[0]!)).toContain('addr add 172.18.1.11/24 dev eth1');
  expect(underlayConflict({ uplinks: 'ecmp', mtu: 1500, faults: [], nodes: 3, dataplane: 'vpc' })).toMatch(/cannot be combined with `--uplinks ecmp`/);
  expect(underlayConflict({ uplinks: 'single', mtu: 1500, faults: [], nodes: 1, dataplane: 'vpc' })).toBeUndefined();
});

test('vpc: pods leave by eth1 through a policy rule, the fabric routes each prefix, SNAT only out of the VPC', () => {
  const plan = labPlan('lab', 3, 'vpc');
  expect(vpcFabricLines(plan)).toEqual(['route add 172.18.64.0/26 via 172.18.1.11 dev br1', 'route add 172.18.64.64/26 via 172.18.1.12 dev br1', 'route add 172.18.64.128/26 via 172.18.1.13 dev br1']);
  expect(dataplaneLines(plan, plan.nodes[1]!).ip).toEqual(vpcNodeLines(plan.nodes[1]!, []));
  expect(vpcNodeLines(plan.nodes[1]!, [])).toEqual([
    'route add 172.18.1.1 dev eth1 scope link table 100',
    'route add default via 172.18.1.1 dev eth1 table 100',
    'rule add to 172.18.64.64/26 lookup main pref 512',
    'rule add from 172.18.64.64/26 lookup 100 pref 1536',
  ]);
  expect(vpcNodeLines(plan.nodes[1]!, ['missing-policy-rule']).some((l) => l.startsWith('rule add from'))).toBe(false);
  expect(vpcNodeLines(plan.nodes[0]!, ['missing-policy-rule'])).toContain('rule add from 172.18.64.0/26 lookup 100 pref 1536');
  expect(rulesOf(nodeNatRules(plan.nodes[0]!, [], 'vpc')).map((r) => r.replace(/ -m comment --comment "[^"]*"/, ''))).toEqual([
    '-A POSTROUTING -s 172.18.64.0/18 -j AWS-SNAT-CHAIN-0',
    '-A AWS-SNAT-CHAIN-0 -d 172.18.0.0/16 -j RETURN',
    '-A AWS-SNAT-CHAIN-0 -o eth1 -j MASQUERADE',
  ]);
  expect(vpcSnatRules(['no-egress-snat']).some((r) => r.includes('-j MASQUERADE'))).toBe(false);
  expect(eniVeth('0123456789')).toBe('eni0123456789');
  expect(vpcHostLines('ab', 'pw-lab-pod-ab', '172.18.64.66', 1500)).toEqual([
    'link add eniab mtu 1500 type veth peer name eth0 mtu 1500 netns pw-lab-pod-ab',
    'link set eniab address 0e:70:79:00:00:01',
    'link set eniab up',
    'route add 172.18.64.66/32 dev eniab scope link',
  ]);
  expect(vpcPodLines('172.18.64.66')).toContain('neigh add 169.254.1.1 lladdr 0e:70:79:00:00:01 dev eth0 nud permanent');
  expect(faultConflict(['missing-route'], 'vpc', 3)).toMatch(/not vpc$/);
  expect(faultConflict(['missing-policy-rule'], 'vpc', 3)).toBeUndefined();
  expect(faultConflict(['missing-policy-rule'], 'host-gw', 3)).toMatch(/vpc dataplane only/);
});

test("flannel: subnet.env as flanneld writes it, parsed as the meta-plugin parses it", () => {
  const node = labPlan('lab', 3, 'flannel').nodes[1]!;
  const env = subnetEnvFor(node, 1450);
  expect(subnetEnvText(env)).toBe('FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.2.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n');
  expect(parseSubnetEnv(subnetEnvText(env))).toEqual(env);
  expect(subnetEnvFor(node, 1450, ['flannel-no-ip-masq']).ipMasq).toBe(false);
  expect(() => parseSubnetEnv('FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_MTU=1450\n', '/run/flannel/subnet.env')).toThrow('/run/flannel/subnet.env is missing FLANNEL_SUBNET, FLANNEL_IPMASQ');
  expect(() => parseSubnetEnv('FLANNEL_NETWORK=a\nFLANNEL_SUBNET=b\nFLANNEL_MTU=x\nFLANNEL_IPMASQ=true')).toThrow(/FLANNEL_MTU is not a number/);
  expect(['10.244.2.1/24', '10.244.0.0/16', '172.18.64.70/26', '1.2.3.4/0'].map(networkOf)).toEqual(['10.244.2.0/24', '10.244.0.0/16', '172.18.64.64/26', '0.0.0.0/0']);
});

test('flannel: the bridge delegate derived from subnet.env (ipMasq = !FLANNEL_IPMASQ, MTU and routes from the file)', () => {
  const env = parseSubnetEnv('FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.2.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n');
  expect(flannelDelegateConf(env, '/d')).toEqual({
    cniVersion: '1.0.0', name: 'cbr0', type: 'bridge', bridge: 'cni0', hairpinMode: true, isDefaultGateway: true, ipMasq: false, mtu: 1450, isGateway: true,
    ipam: { type: 'host-local', ranges: [[{ subnet: '10.244.2.0/24' }]], routes: [{ dst: '10.244.0.0/16' }], dataDir: '/d' },
  });
  expect(flannelDelegateConf({ ...env, ipMasq: false }, '/d').ipMasq).toBe(true);
  expect(flannelDelegateConf(env, '/d', ['masquerade-all']).ipMasq).toBe(true);
});

test("flannel: flanneld's masquerade and forward rules; the VXLAN dataplane of the vxlan profile", () => {
  const plan = labPlan('lab', 3, 'flannel');
  const env = subnetEnvFor(plan.nodes[1]!, 1450);
  expect(flannelMasqRules(env).filter((r) => r.startsWith('-A')).map((r) => r.replace(/ -m comment --comment "[^"]*"/, ''))).toEqual([
    '-A POSTROUTING -j FLANNEL-POSTRTG',
    '-A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 -j RETURN',
    '-A FLANNEL-POSTRTG -s 10.244.2.0/24 -d 10.244.0.0/16 -j RETURN',
    '-A FLANNEL-POSTRTG -s 10.244.0.0/16 -d 10.244.2.0/24 -j RETURN',
    '-A FLANNEL-POSTRTG -s 10.244.0.0/16 ! -d 224.0.0.0/4 -j MASQUERADE --random-fully',
    '-A FLANNEL-POSTRTG ! -s 10.244.0.0/16 -d 10.244.0.0/16 -j MASQUERADE --random-fully',
  ]);
  expect(flannelMasqRules({ ...env, ipMasq: false })).toEqual([]);
  expect(flannelMasqRules(env, ['no-egress-snat']).some((r) => r.includes('MASQUERADE'))).toBe(false);
  expect(nodeNatRules(plan.nodes[1]!, [], 'flannel')).toContain('-A FLANNEL-POSTRTG -s 10.244.2.0/24 -d 10.244.0.0/16');
  expect(flannelForwardRules(env)).toContain('-A FLANNEL-FWD -s 10.244.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT');
  expect(dataplaneLines(plan, plan.nodes[0]!)).toEqual(dataplaneLines(labPlan('lab', 3, 'vxlan'), labPlan('lab', 3, 'vxlan').nodes[0]!));
  expect(faultConflict(['forward-drop'], 'flannel', 3)).toMatch(/not flannel$/);
  expect(faultConflict(['pod-to-node-snat'], 'flannel', 3)).toMatch(/not flannel$/);
  expect(faultConflict(['flannel-no-ip-masq', 'mtu-blackhole', 'missing-route'], 'flannel', 3)).toBeUndefined();
});

test('--uplinks policy sends the pods of a calico node by their IPAM block, not the podCIDR', () => {
  const plan = labPlan('lab', 3, 'calico', [], { uplinks: 'policy' });
  expect(policyLines(plan.nodes[1]!)).toContain('rule add from 10.244.0.64/26 lookup 100 pref 1536');
  expect(policyLines(labPlan('lab', 3, 'kindnet', [], { uplinks: 'policy' }).nodes[1]!)).toContain('rule add from 10.244.2.0/24 lookup 100 pref 1536');
});
