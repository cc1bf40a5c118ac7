// The likely cause of each failure (src/judge/diagnose.ts), from recorded
// bundles (fixtures/bundles: 2-node labs with one fault each) and edited
// copies for the facts a recording lacks (a node's nat and filter tables, its
// links, its rules) or cannot produce.
import { describe, expect, test } from 'vitest';
import type { RunBundle } from '../../src/bundle/model.js';
import type { CheckDiagnosis, CheckResult, CommandSnapshot, Diagnosis } from '../../src/conformance/model.js';
import { commonNode, summarizeDiagnoses, type DiagnoseContext } from '../../src/judge/diagnose.js';
import { diagnosisLine, SUBSYSTEM_LABEL } from '../../src/report/diagnosis-text.js';
import type { ConformanceReport } from '../../src/report/model.js';
import { checkOf, judge, loadBundle, nodeOf, podLike, setPodCIDRs, verdicts } from '../helpers/bundles.js';

const failedChecks = (r: ConformanceReport) => r.checks.filter((c) => c.result === 'failed');
const host = (b: RunBundle, node: string) => b.probes.inventory[`pw-host-${node}`]!;
const senderNode = (b: RunBundle, from: string) => nodeOf(b, from.split(' ')[0]);
const firewall = (nat: string, filter = '*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n'): CommandSnapshot[] => [
  { command: 'iptables-save -t nat', output: `*nat\n:POSTROUTING ACCEPT [0:0]\n${nat}COMMIT\n` },
  { command: 'iptables-save -t filter', output: filter },
  { command: 'nft list ruleset', error: 'nft is not installed in the probe image' },
];

/** Every failed flow of the check carries the diagnosis the check names (same subsystem), with one node. */
function expectEveryFlow(c: CheckResult, subsystem: string, node: (from: string) => string | undefined) {
  const failed = verdicts(c, 'failed');
  expect(failed.length, c.id).toBeGreaterThan(0);
  for (const f of failed) expect(f.diagnosis, `${c.id} ${f.flow}`).toMatchObject({ subsystem, nodes: [node(f.from)] });
  for (const f of c.flows.filter((x) => x.verdict !== 'failed')) expect(f.diagnosis, `${c.id} ${f.flow} ${f.verdict}`).toBeUndefined();
  expect(c.diagnosis).toMatchObject({ subsystem, explains: failed.length, of: failed.length });
}

describe('recorded faults', () => {
  test('a clean lab: no check failed, nothing diagnosed', async () => {
    const r = judge(await loadBundle('clean-hostgw'));
    for (const c of r.checks) {
      expect(c.diagnosis, c.id).toBeUndefined();
      for (const f of c.flows) expect(f.diagnosis).toBeUndefined();
    }
  });

  test('missing-route: every failure, either direction, is node-1\'s missing route to node-2\'s pod CIDR', async () => {
    const r = judge(await loadBundle('missing-route'));
    expect(failedChecks(r).map((c) => c.id)).toEqual(['NM-1.2', 'NM-1.3', 'NM-2.2', 'NM-2.3', 'NM-2.4']);
    for (const c of failedChecks(r)) {
      expectEveryFlow(c, 'route', () => 'node-1');
      expect(c.diagnosis!.nodes).toEqual(['node-1']);
      expect(c.diagnosis!.text).toContain('node-1 has no route to node-2\'s pod CIDR 10.244.2.0/24: 10.244.2.3 takes the default route (`default via 172.18.0.1 dev eth0`)');
    }
    // The reply direction says so; the router's ICMP error is named and said not to be a node.
    expect(checkOf(r, 'NM-1.3').diagnosis!.text).toMatch(/^the request arrived, the answer did not come back: node-1 has no route/);
    expect(checkOf(r, 'NM-2.2').diagnosis!.text).toMatch(/^ICMP destination unreachable: network unreachable from 172\.18\.0\.1 \(packet #\d+ at pw-host-node-1\), not a node's address \(a router beyond the nodes\); node-1 has no route/);
  });

  test('the route a peer node has names the gap where no pod CIDR does', async () => {
    const b = await loadBundle('missing-route');
    for (const n of b.api.nodes.items) setPodCIDRs(b, n.metadata!.name!, undefined);
    // Without pod CIDRs, only a third node's route tells that node-1 should have one: node-2's own is not a peer's.
    expect(failedChecks(judge(b)).map((c) => c.diagnosis!.subsystem)).toContain('unknown');
    const third = structuredClone(host(b, 'node-2'));
    third.routes = '10.244.2.0/24 via 172.18.0.12 dev eth0 \n';
    b.probes.probes.push({ name: 'pw-host-node-3', node: 'node-3', role: 'host', ip: '172.18.0.13' });
    b.probes.inventory['pw-host-node-3'] = third;
    const c = checkOf(judge(b), 'NM-1.2');
    expect(c.diagnosis).toMatchObject({ subsystem: 'route', nodes: ['node-1'] });
    expect(c.diagnosis!.text).toContain('node-1 has no route to 10.244.2.3 but the default (`default via 172.18.0.1 dev eth0`), while node-3 has `10.244.2.0/24 via 172.18.0.12 dev eth0`');
  });

  test('a route that drops is named as such', async () => {
    const b = await loadBundle('missing-route');
    host(b, 'node-1').routes += 'blackhole 10.244.2.0/24 proto static\n';
    expect(checkOf(judge(b), 'NM-1.2').diagnosis!.text).toContain('node-1 routes 10.244.2.3 to blackhole (`blackhole 10.244.2.0/24 proto static`)');
  });

  test('masquerade-all: the address each flow arrived from is its sending node\'s, masqueraded there', async () => {
    const b = await loadBundle('masquerade-all');
    const r = judge(b);
    for (const id of ['NM-1.2', 'NM-2.3', 'NM-4.2']) {
      const c = checkOf(r, id);
      expectEveryFlow(c, 'masquerade', (from) => senderNode(b, from));
      expect(c.diagnosis!.nodes).toEqual(['node-1', 'node-2']);
    }
    const f = verdicts(checkOf(r, 'NM-1.2'), 'failed').find((x) => x.from.startsWith('pw-pod-node-2-'))!;
    // The bridge plugin's ipMasq chain (CNI-<hash>), jumped to for each pod, is the rule that matches pod → pod traffic.
    expect(f.diagnosis!.text).toMatch(/^172\.18\.0\.12 is node-2's address \(eth0\): 10\.244\.2\.\d was rewritten to it, masquerade\/SNAT on node-2 \(nat on node-2: `-A CNI-[0-9a-f]+ ! -d 224\.0\.0\.0\/4 -m comment --comment "name: \\"podwire\\" id: \\"pw[0-9a-f]+\\"" -j MASQUERADE`\)$/);
  });

  test('the masquerade rule that matches the packet is quoted from the node\'s nat table; an SNAT to the address seen first', async () => {
    const b = await loadBundle('masquerade-all');
    // The lab's egress rule does not match pod → pod traffic; the bridge plugin's (ipMasq) does.
    host(b, 'node-2').firewall = firewall('-A POSTROUTING -s 10.244.0.0/16 ! -d 10.244.0.0/16 -j MASQUERADE\n-A POSTROUTING -s 10.244.2.2/32 -j CNI-abc\n-A CNI-abc -d 10.244.2.0/24 -j ACCEPT\n-A CNI-abc ! -d 224.0.0.0/4 -j MASQUERADE\n');
    host(b, 'node-1').firewall = firewall('');
    const text = (node: string) => verdicts(checkOf(judge(b), 'NM-1.2'), 'failed').find((x) => senderNode(b, x.from) === node)!.diagnosis!.text;
    expect(text('node-2')).toContain('masquerade/SNAT on node-2 (nat on node-2: `-A CNI-abc ! -d 224.0.0.0/4 -j MASQUERADE`)');
    expect(text('node-1')).toContain('masquerade/SNAT on node-1 (node-1\'s nat table has no MASQUERADE or SNAT rule)');
    host(b, 'node-2').firewall = firewall('-A POSTROUTING -s 10.244.2.0/24 -j MASQUERADE\n-A POSTROUTING -j MASQUERADE\n-A POSTROUTING -s 10.244.0.0/16 -j SNAT --to-source 172.18.0.12\n-A POSTROUTING -s 10.9.0.0/16 -j SNAT --to-source 172.18.0.12\n');
    expect(text('node-2')).toContain('(nat on node-2: `-A POSTROUTING -s 10.244.0.0/16 -j SNAT --to-source 172.18.0.12` and 2 more matching MASQUERADE/SNAT rule(s))');
    host(b, 'node-2').firewall = firewall('-A POSTROUTING -s 10.244.0.0/16 ! -d 10.244.0.0/16 -j MASQUERADE\n');
    expect(text('node-2')).toMatch(/\(none of the 1 MASQUERADE\/SNAT rule\(s\) of node-2's nat table matches 10\.244\.2\.\d > 10\.244\.1\.\d by address\)$/);
    host(b, 'node-2').firewall = [{ command: 'iptables-save -t nat', error: 'iptables-save is not installed in the probe image' }];
    expect(text('node-2')).toContain('(node-2\'s nat table is not in the bundle: iptables-save -t nat: iptables-save is not installed in the probe image)');
  });

  test('a source no node holds: SNAT on the sending node, most likely', async () => {
    const b = await loadBundle('masquerade-all');
    for (const n of b.api.nodes.items) n.status!.addresses = [];
    for (const node of ['node-1', 'node-2']) host(b, node).addresses = [];
    const f = verdicts(checkOf(judge(b), 'NM-1.2'), 'failed').find((x) => x.from.startsWith('pw-pod-node-1-'))!;
    expect(f.diagnosis).toMatchObject({ subsystem: 'masquerade', nodes: ['node-1'] });
    expect(f.diagnosis!.text).toMatch(/^10\.244\.1\.\d was rewritten to 172\.18\.0\.11, an address of no node: most likely SNAT on the sending node node-1 \(/);
  });

  test('pod-to-node-snat: each node masquerades its pods\' traffic to the other node', async () => {
    const b = await loadBundle('pod-to-node-snat');
    const c = checkOf(judge(b), 'NM-2.3');
    expectEveryFlow(c, 'masquerade', (from) => senderNode(b, from));
    expect(c.diagnosis!.nodes).toEqual(['node-1', 'node-2']);
  });

  test('no-egress-snat: pod traffic left each node with the pod\'s address, no masquerade there', async () => {
    const b = await loadBundle('no-egress-snat');
    host(b, 'node-1').firewall = firewall('-A POSTROUTING -d 10.99.0.0/16 -j RETURN\n');
    const r = judge(b);
    const c = checkOf(r, 'NM-4.1');
    expectEveryFlow(c, 'masquerade', (from) => senderNode(b, from));
    const one = verdicts(c, 'failed').find((x) => x.from.startsWith('pw-pod-node-1-'))!;
    expect(one.diagnosis!.text).toMatch(/^10\.244\.1\.\d > 198\.51\.100\.10 left node-1's uplink with the pod's address: no masquerade on node-1 \(node-1's nat table has no MASQUERADE or SNAT rule\)$/);
  });

  test('a node without the policy rule its peers have for their pods: the route, not the masquerade', async () => {
    const b = await loadBundle('no-egress-snat');
    host(b, 'node-2').rules = '0:\tfrom all lookup local\n1536:\tfrom 10.244.2.0/24 lookup 100\n32766:\tfrom all lookup main\n';
    host(b, 'node-1').rules = '0:\tfrom all lookup local\n32766:\tfrom all lookup main\n';
    const c = checkOf(judge(b), 'NM-4.1');
    const byNode = (n: string) => verdicts(c, 'failed').find((x) => senderNode(b, x.from) === n)!.diagnosis!;
    expect(byNode('node-1')).toMatchObject({ subsystem: 'route', nodes: ['node-1'] });
    expect(byNode('node-1').text).toMatch(/^node-1 has no policy rule for its pod 10\.244\.1\.\d, while node-2 has `1536: from 10\.244\.2\.0\/24 lookup 100` for its pods: 10\.244\.1\.\d > 198\.51\.100\.10 takes `default via 172\.18\.0\.1 dev eth0` and left unmasqueraded$/);
    // node-2's pods have their rule: what is missing there is the masquerade.
    expect(byNode('node-2')).toMatchObject({ subsystem: 'masquerade', nodes: ['node-2'] });
    // Equal counts: route comes before masquerade.
    expect(c.diagnosis).toMatchObject({ subsystem: 'route', nodes: ['node-1'], explains: 1, of: 2 });
  });

  test('egress declared off the node but SNATed on it: masquerade on the node', async () => {
    const b = await loadBundle('clean-hostgw');
    const c = checkOf(judge(b, { egressSnat: 'off-node' }), 'NM-4.1');
    expectEveryFlow(c, 'masquerade', (from) => senderNode(b, from));
    expect(c.diagnosis!.text).toMatch(/^172\.18\.0\.1\d is node-\d's address: egress was SNATed on the node though it was declared off-node/);
  });

  test('wrong-status-ip: every check names the address on node-2\'s pod interface', async () => {
    const r = judge(await loadBundle('wrong-status-ip'));
    expect(failedChecks(r)).toHaveLength(8);
    for (const c of failedChecks(r)) {
      expect(c.diagnosis, c.id).toMatchObject({ subsystem: 'interface-address', nodes: ['node-2'] });
      expect(c.diagnosis!.text).toMatch(/pw-pod-node-2-[ab]('s eth0|: eth0) has 10\.244\.2\.\d, but the API says its IP is 10\.244\.2\.10\d: the address on the interface is not the pod's status IP \(on node-2\)$/);
      expect(c.diagnosis!.explains).toBe(c.diagnosis!.of);
    }
  });
});

describe('recorded with the nodes\' snapshots', () => {
  test('forward-drop: node-2\'s FORWARD policy, read from its filter table, for traffic to and from its pods', async () => {
    const b = await loadBundle('forward-drop');
    expect(host(b, 'node-2').firewall!.find((f) => f.command === 'iptables-save -t filter')!.output).toMatch(/^:FORWARD DROP \[\d+:\d+\]$/m);
    const r = judge(b);
    expect(failedChecks(r).map((c) => c.id)).toEqual(['NM-1.1', 'NM-1.2', 'NM-2.2', 'NM-2.3', 'NM-2.4']);
    for (const c of failedChecks(r)) {
      expectEveryFlow(c, 'forward-policy', () => 'node-2');
      expect(c.diagnosis!.text).toMatch(/^node-2's FORWARD policy is DROP \(`:FORWARD DROP \[\d+:\d+\]`\) and no rule accepts pod traffic: (traffic (to|from)|the answer (of|to)) pw-pod-node-2-[ab] is dropped there$/);
    }
  });

  test('no-proxy-arp: node-2\'s pods asked for their gateway and got no answer, whichever end they were', async () => {
    const b = await loadBundle('no-proxy-arp');
    const r = judge(b);
    for (const c of failedChecks(r).filter((x) => x.id !== 'NM-3.4' && x.id !== 'NM-2.3')) {
      expectEveryFlow(c, 'arp', () => 'node-2');
      expect(c.diagnosis!.text).toMatch(/^pw-pod-node-2-[ab] asked who-has 169\.254\.1\.1 \(its default gateway\) \d+ time\(s\), packet #\d+ at pw-pod-node-2-[ab], and no answer came: node-2's side of its link does not answer ARP for the gateway \(proxy ARP\)$/);
    }
    // calico masquerades pod → node by design (strict NM-2.3): those flows are the masquerade of the sending node; node-2's are the ARP.
    const nm23 = checkOf(r, 'NM-2.3');
    expect(nm23.diagnosis).toMatchObject({ subsystem: 'arp', nodes: ['node-2'] });
    for (const f of verdicts(nm23, 'failed')) expect(f.diagnosis!.subsystem).toBe(senderNode(b, f.from) === 'node-2' ? 'arp' : 'masquerade');
    // calico-ipam ignores the podCIDRs (strict NM-3.4, by design): IPAM on every node with a pod outside.
    expect(checkOf(r, 'NM-3.4').diagnosis).toMatchObject({ subsystem: 'ipam', nodes: ['node-1', 'node-2'] });
  });

  test('node-to-pod-snat: node-2\'s own traffic to pods rewritten to its second address by the SNAT rule quoted', async () => {
    const b = await loadBundle('node-to-pod-snat');
    const r = judge(b);
    for (const c of failedChecks(r)) {
      expectEveryFlow(c, 'masquerade', () => 'node-2');
      expect(c.diagnosis!.text).toMatch(/^172\.18\.0\.102 is node-2's address \(eth0\): (172\.18\.0\.12|10\.244\.2\.1) was rewritten to it, masquerade\/SNAT on node-2 \(nat on node-2: `-A POSTROUTING -d 10\.244\.0\.0\/16 -m addrtype --src-type LOCAL -j SNAT --to-source 172\.18\.0\.102`/);
    }
  });

  test('overlapping-pod-cidr: every failure, API findings and flows, is IPAM on node-2', async () => {
    const r = judge(await loadBundle('overlapping-pod-cidr'));
    expect(failedChecks(r).length).toBeGreaterThan(4);
    for (const c of failedChecks(r)) {
      expect(c.diagnosis, c.id).toMatchObject({ subsystem: 'ipam', nodes: ['node-2'] });
      expect(c.diagnosis!.explains, c.id).toBe(c.diagnosis!.of);
    }
    expect(checkOf(r, 'NM-3.1').diagnosis!.text).toBe('node-2\'s pod CIDR 10.244.1.0/24 overlaps node-1\'s 10.244.1.0/24: IPAM on both hands out addresses such as 10.244.1.2');
  });

  test('missing-policy-rule: node-2 lacks the policy rule node-1 has for its pods', async () => {
    const b = await loadBundle('missing-policy-rule');
    const c = checkOf(judge(b), 'NM-4.1');
    expectEveryFlow(c, 'route', () => 'node-2');
    expect(c.diagnosis!.text).toMatch(/^node-2 has no policy rule for its pod 172\.18\.64\.\d+, while node-1 has `1536: from 172\.18\.64\.0\/26 lookup 100` for its pods: 172\.18\.64\.\d+ > 198\.51\.100\.10 takes `default via 172\.18\.0\.1 dev eth0` and left by eth0 unmasqueraded$/);
    // Put the rule back: what is left is that nothing masqueraded it.
    host(b, 'node-2').rules += '1536:\tfrom 172.18.64.64/26 lookup 100\n';
    expect(checkOf(judge(b), 'NM-4.1').diagnosis).toMatchObject({ subsystem: 'masquerade', nodes: ['node-2'] });
  });
});

describe('MTU', () => {
  const links = (b: RunBundle, node: string, eth0: number, tunnel: number) => {
    host(b, node).links = [{ name: 'lo', ifindex: 1, mtu: 65536 }, { name: 'eth0', ifindex: 2, mtu: eth0 }, { name: 'flannel.1', ifindex: 3, mtu: tunnel, kind: 'vxlan' }, { name: 'cni0', ifindex: 4, mtu: tunnel }];
  };

  test('mtu-blackhole: the datagrams vanished beyond each sender\'s NIC: MTU on the sending node', async () => {
    const b = await loadBundle('mtu-blackhole');
    links(b, 'node-1', 9000, 1500);
    links(b, 'node-2', 9000, 1500);
    const c = checkOf(judge(b), 'NM-5.1');
    expectEveryFlow(c, 'mtu', (from) => senderNode(b, from));
    expect(c.diagnosis!.nodes).toEqual(['node-1', 'node-2']);
    const one = verdicts(c, 'failed').find((x) => x.from.startsWith('pw-pod-node-1-'))!;
    expect(one.diagnosis!.text).toBe('the 1500-byte DF datagram, 1550 bytes with vxlan on the wire, left node-1 by eth0 (MTU 9000) and vanished without an ICMP "fragmentation needed": the path from node-1 to node-2 is smaller than node-1\'s MTUs (pod 1500, node-1\'s flannel.1 1500) allow');
  });

  test('a link on the path smaller than the datagram there names its node (the receiver\'s NIC)', async () => {
    const b = await loadBundle('mtu-blackhole');
    links(b, 'node-1', 9000, 1500);
    links(b, 'node-2', 1500, 1500);
    const c = checkOf(judge(b), 'NM-5.1');
    const fromOne = verdicts(c, 'failed').find((x) => x.from.startsWith('pw-pod-node-1-'))!;
    expect(fromOne.diagnosis).toEqual({ subsystem: 'mtu', nodes: ['node-2'], text: 'the 1500-byte datagram is 1550 bytes at node-2\'s eth0, whose MTU is 1500: too big there, and no ICMP "fragmentation needed" came back' });
    // From node-2 the same frame leaves by node-2's own 1500-byte NIC.
    const fromTwo = verdicts(c, 'failed').find((x) => x.from.startsWith('pw-pod-node-2-'))!;
    expect(fromTwo.diagnosis).toMatchObject({ subsystem: 'mtu', nodes: ['node-2'] });
    expect(fromTwo.diagnosis!.text).toContain('at node-2\'s eth0, whose MTU is 1500');
    expect(c.diagnosis!.nodes).toEqual(['node-2']);
  });

  test('without a tunnel the datagram crosses the receiving node\'s NIC as sent: a smaller NIC there names that node', async () => {
    const b = await loadBundle('mtu-blackhole');
    for (const [node, eth0] of [['node-1', 1500], ['node-2', 1400]] as const) {
      host(b, node).links = [{ name: 'eth0', ifindex: 2, mtu: eth0 }, { name: 'flannel.1', ifindex: 3, mtu: 1500 }, { name: 'cni0', ifindex: 4, mtu: 1500 }];
    }
    const c = checkOf(judge(b), 'NM-5.1');
    const fromOne = verdicts(c, 'failed').find((x) => x.from.startsWith('pw-pod-node-1-'))!;
    expect(fromOne.diagnosis).toEqual({ subsystem: 'mtu', nodes: ['node-2'], text: 'the 1500-byte datagram is 1500 bytes at node-2\'s eth0, whose MTU is 1400: too big there, and no ICMP "fragmentation needed" came back' });
    expect(c.diagnosis!.nodes).toEqual(['node-2']);
  });

  test('without links recorded, the sender\'s pod MTU is all there is', async () => {
    const c = checkOf(judge(await loadBundle('mtu-blackhole')), 'NM-5.1');
    expect(verdicts(c, 'failed')[0]!.diagnosis!.text).toMatch(/^the 1500-byte DF datagram left node-\d and vanished without an ICMP "fragmentation needed": the path from node-\d to node-\d is smaller than node-\d's MTUs \(pod 1500\) allow$/);
  });
});

describe('FORWARD policy, IPAM, nothing to go on', () => {
  /** missing-route with the route put back: the flows still failed, and nothing in the routes says why. */
  async function routed(): Promise<RunBundle> {
    const b = await loadBundle('missing-route');
    host(b, 'node-1').routes += '10.244.2.0/24 via 172.18.0.12 dev eth0 \n';
    return b;
  }

  test('with no fact pointing anywhere the diagnosis says so, naming no node', async () => {
    const r = judge(await routed());
    const c = checkOf(r, 'NM-1.2');
    expect(c.diagnosis).toEqual({ subsystem: 'unknown', nodes: [], text: 'no fact in the bundle points at a node (see the flow\'s evidence)', explains: 3, of: 3 });
    expect(diagnosisLine(c.diagnosis!)).toBe('unknown: no fact in the bundle points at a node (see the flow\'s evidence) (3 of 3 failed)');
  });

  test('a FORWARD policy of DROP on a node the flow is forwarded through: the receiver\'s first, then the sender\'s', async () => {
    const b = await routed();
    host(b, 'node-1').firewall = firewall('', '*filter\n:FORWARD DROP [0:0]\nCOMMIT\n');
    const c = checkOf(judge(b), 'NM-1.2');
    expect(c.diagnosis).toMatchObject({ subsystem: 'forward-policy', nodes: ['node-1'], explains: 3, of: 3 });
    const texts = verdicts(c, 'failed').map((f) => f.diagnosis!.text).sort();
    expect(texts).toContain('node-1\'s FORWARD policy is DROP (`:FORWARD DROP [0:0]`) and no rule accepts pod traffic: traffic from pw-pod-node-1-a is dropped there');
    expect(texts.some((t) => t.endsWith(': traffic to pw-pod-node-1-a is dropped there') || t.endsWith(': the answer of pw-pod-node-1-a is dropped there'))).toBe(true);
    host(b, 'node-2').firewall = firewall('', '*filter\n:FORWARD DROP [0:0]\n-A FORWARD -s 10.0.0.0/8 -j ACCEPT\nCOMMIT\n');
    const both = checkOf(judge(b), 'NM-1.2');
    const toTwo = verdicts(both, 'failed').find((f) => f.from.startsWith('pw-pod-node-1-') && f.proto === 'udp')!;
    expect(toTwo.diagnosis).toEqual({ subsystem: 'forward-policy', nodes: ['node-2'], text: 'node-2\'s FORWARD policy is DROP (`:FORWARD DROP [0:0]`) with 1 rule(s) before it: traffic to pw-pod-node-2-a is dropped there' });
  });

  test('overlapping pod CIDRs: the node listed later got a range already handed out', async () => {
    const b = await loadBundle('clean-hostgw');
    setPodCIDRs(b, 'node-2', ['10.244.1.0/24']);
    const c = checkOf(judge(b), 'NM-3.2');
    expect(c.diagnosis).toMatchObject({ subsystem: 'ipam', nodes: ['node-2'], explains: 1, of: 1 });
    expect(c.diagnosis!.text).toBe('pod CIDRs overlap: node-1 10.244.1.0/24 and node-2 10.244.1.0/24: node-2, listed later, got a range already handed out');
    b.api.nodes.items.reverse();
    expect(checkOf(judge(b), 'NM-3.2').diagnosis!.nodes).toEqual(['node-1']);
  });

  test('a flow between addresses two nodes\' pod CIDRs hold is IPAM, whatever else it shows', async () => {
    const b = await loadBundle('missing-route');
    setPodCIDRs(b, 'node-1', ['10.244.0.0/16']);
    const c = checkOf(judge(b), 'NM-1.2');
    expect(c.diagnosis).toMatchObject({ subsystem: 'ipam', nodes: ['node-2'] });
    expect(c.diagnosis!.text).toMatch(/^node-2's pod CIDR 10\.244\.2\.0\/24 overlaps node-1's 10\.244\.0\.0\/16: IPAM on both hands out addresses such as 10\.244\.\d\.\d$/);
  });

  test('a pod holding a node\'s address, and a pod outside its node\'s pod CIDR: IPAM on the pod\'s node', async () => {
    const b = await loadBundle('clean-hostgw');
    const pod = b.api.pods.items.find((p) => p.metadata!.name === 'pw-pod-node-2-b')!;
    pod.status!.podIPs = [{ ip: '10.244.9.9' }];
    pod.status!.podIP = '10.244.9.9';
    const r = judge(b);
    expect(checkOf(r, 'NM-3.4').diagnosis).toMatchObject({ subsystem: 'ipam', nodes: ['node-2'] });
    expect(checkOf(r, 'NM-3.4').diagnosis!.text).toMatch(/pw-pod-node-2-b has 10\.244\.9\.9, outside node-2's pod CIDR 10\.244\.2\.0\/24$/);
    pod.status!.podIPs = [{ ip: '172.18.0.11' }];
    pod.status!.podIP = '172.18.0.11';
    expect(checkOf(judge(b), 'NM-3.2').diagnosis).toMatchObject({ subsystem: 'ipam', nodes: ['node-2'] });
  });
});

describe('a check\'s diagnosis from its flows\'', () => {
  const d = (subsystem: Diagnosis['subsystem'], nodes: string[], text: string = subsystem): Diagnosis => ({ subsystem, nodes, text });
  const order = ['node-1', 'node-2', 'node-3', 'node-10'];

  test('the subsystem most flows point at, with every node they name, in the API\'s node order', () => {
    expect(summarizeDiagnoses([d('route', ['node-3'], 'a'), d('masquerade', ['node-1']), d('route', ['node-10'], 'b'), d('route', ['node-1'], 'c')], order))
      .toEqual({ subsystem: 'route', nodes: ['node-1', 'node-3', 'node-10'], text: 'a', explains: 3, of: 4 });
  });

  test('ties go to the subsystem listed first; unknown counts only when nothing else is known', () => {
    expect(summarizeDiagnoses([d('masquerade', ['node-2']), d('route', ['node-1']), d('unknown', []), d('unknown', [])], order)).toMatchObject({ subsystem: 'route', nodes: ['node-1'], explains: 1, of: 4 });
    expect(summarizeDiagnoses([d('unknown', [], 'x'), d('unknown', [], 'y')], order)).toEqual({ subsystem: 'unknown', nodes: [], text: 'x', explains: 2, of: 2 });
    expect(summarizeDiagnoses([], order)).toEqual({ subsystem: 'unknown', nodes: [], text: 'no failed flow to diagnose', explains: 0, of: 0 });
  });

  test('nodes the API does not list come after, by name', () => {
    expect(summarizeDiagnoses([d('mtu', ['zeta']), d('mtu', ['alpha']), d('mtu', ['node-2'])], order).nodes).toEqual(['node-2', 'alpha', 'zeta']);
  });

  test('one line for people', () => {
    expect(diagnosisLine({ subsystem: 'masquerade', nodes: ['node-1', 'node-2'], text: 'what shows it', explains: 3, of: 4 })).toBe('masquerade/SNAT on node-1, node-2: what shows it (3 of 4 failed)');
    expect(diagnosisLine({ subsystem: 'forward-policy', nodes: ['node-2'], text: 't', explains: 1, of: 1 })).toBe('FORWARD policy on node-2: t (1 of 1 failed)');
  });
});

describe('more facts', () => {
  test('an ICMP error from a node\'s address names that node: it refused to forward', async () => {
    const b = await loadBundle('missing-route');
    b.api.nodes.items.find((n) => n.metadata!.name === 'node-2')!.status!.addresses!.push({ type: 'InternalIP', address: '172.18.0.1' });
    const f = verdicts(checkOf(judge(b), 'NM-2.2'), 'failed')[0]!;
    expect(f.diagnosis).toEqual({ subsystem: 'route', nodes: ['node-2'], text: expect.stringMatching(/^ICMP destination unreachable: network unreachable from 172\.18\.0\.1 \(packet #\d+ at pw-host-node-1\): 172\.18\.0\.1 is node-2's address, which refused to forward it$/) });
  });

  test('two live pods on two nodes with one address, pod CIDRs apart: IPAM on the node listed later, for the finding and the flows to it', async () => {
    const b = await loadBundle('clean-hostgw');
    const ip = b.probes.probes.find((p) => p.name === 'pw-pod-node-2-a')!.ip;
    const twin = podLike(b, 'pw-pod-node-1-b', { name: 'twin', namespace: 'other', ips: [ip] });
    b.api.pods.items.push(twin);
    const r = judge(b);
    expect(checkOf(r, 'NM-3.1').diagnosis).toEqual({
      subsystem: 'ipam', nodes: ['node-2'], explains: 1, of: 1,
      text: `${ip} is held by 2 live pods (${b.api.pods.items.find((p) => p.metadata!.name === 'pw-pod-node-2-a')!.metadata!.namespace}/pw-pod-node-2-a on node-2, other/twin on node-1): IPAM handed it out twice`,
    });
    b.api.nodes.items.reverse();
    expect(checkOf(judge(b), 'NM-3.1').diagnosis!.nodes).toEqual(['node-1']);
  });

  test('the uplink a pod\'s unmasqueraded egress left by is named from the node\'s links', async () => {
    const b = await loadBundle('no-egress-snat');
    const up = b.probes.inventory['pw-host-node-1']!.uplinks![0]!.devices[0]!;
    host(b, 'node-1').links = [{ name: 'lo', ifindex: 1 }, { name: `${up.name}-named`, ifindex: up.ifindex }];
    const f = verdicts(checkOf(judge(b), 'NM-4.1'), 'failed').find((x) => x.from.startsWith('pw-pod-node-1-'))!;
    expect(f.diagnosis!.text).toContain(`left node-1's uplink ${up.name}-named with the pod's address`);
  });

  test('each subsystem has its words', () => {
    expect(SUBSYSTEM_LABEL).toEqual({
      route: 'route', masquerade: 'masquerade/SNAT', 'forward-policy': 'FORWARD policy', mtu: 'MTU', ipam: 'IPAM',
      'interface-address': 'address on the interface', arp: 'ARP (neighbour resolution)', unknown: 'unknown',
    });
  });
});

describe('MTU: the node every failing pair shares', () => {
  const probes = ['node-1', 'node-2', 'node-3', 'node-4'].map((node) => ({ name: `p-${node}`, node, role: 'pod' as const, ip: '10.0.0.1' }));
  const ctxOf = (pairs: [string, string][]) => ({
    obs: { probes },
    byFlow: new Map(pairs.map(([a, b], i) => [`f${i}`, { flow: { from: `p-${a}`, to: `p-${b}` } }])),
  }) as unknown as DiagnoseContext;
  const flow = (i: number, verdict: 'passed' | 'failed') => ({ flow: `f${i}`, verdict, from: 'x (1.2.3.4)', to: 'y (5.6.7.8)' }) as unknown as CheckResult['flows'][number];
  const summary: CheckDiagnosis = { subsystem: 'mtu', nodes: ['node-1', 'node-2', 'node-3'], text: 'as sent', explains: 4, of: 4 };
  const pairs: [string, string][] = [['node-1', 'node-2'], ['node-2', 'node-1'], ['node-2', 'node-3'], ['node-3', 'node-2'], ['node-1', 'node-3'], ['node-3', 'node-1']];

  test('failing pairs all with node-2 and passing pairs without it: node-2 is named', () => {
    const flows = pairs.map((_, i) => flow(i, i < 4 ? 'failed' : 'passed'));
    expect(commonNode(flows, ctxOf(pairs), summary)).toEqual({
      ...summary, nodes: ['node-2'],
      text: 'every failing pair (4) has node-2 at one end and every pair without it passes: the smaller hop is node-2\'s link, or the switch or fabric port it is on (as sent)',
    });
  });

  test('otherwise the per-sender summary stands', () => {
    // Every pair fails: nothing passes to compare with.
    expect(commonNode(pairs.map((_, i) => flow(i, 'failed')), ctxOf(pairs), summary)).toBe(summary);
    // One failing pair only.
    expect(commonNode(pairs.map((_, i) => flow(i, i === 0 ? 'failed' : 'passed')), ctxOf(pairs), summary)).toBe(summary);
    // Failing pairs with no node in common.
    const apart: [string, string][] = [['node-1', 'node-2'], ['node-3', 'node-4'], ['node-1', 'node-3']];
    expect(commonNode([flow(0, 'failed'), flow(1, 'failed'), flow(2, 'passed')], ctxOf(apart), summary)).toBe(summary);
    // The node they share also ends a passing pair.
    const shared: [string, string][] = [['node-1', 'node-2'], ['node-2', 'node-3'], ['node-2', 'node-1']];
    expect(commonNode([flow(0, 'failed'), flow(1, 'failed'), flow(2, 'passed')], ctxOf(shared), summary)).toBe(summary);
  });
});
