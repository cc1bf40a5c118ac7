// A node's snapshot read as facts (src/judge/node-facts.ts): routes and
// policy rules as the kernel would use them, masquerade rules and the
// FORWARD policy from iptables-save or nft, and what a snapshot lacks. The
// texts are what iproute2 and iptables print (lab nodes, calico, AWS VPC CNI).
import { describe, expect, test } from 'vitest';
import {
  dropsPackets, forwardPolicy, isDefault, linkByName, longestMatch, parseRoutes, parseRules, routeLookup, snapshotGaps, snatRules, snatRulesFor, sourceRules,
} from '../../src/judge/node-facts.js';
import { icmpMessage, icmpShortName } from '../../src/decode/icmp.js';

const HOSTGW = [
  'default via 172.18.0.1 dev eth0 ',
  '10.244.1.0/24 dev cni0 proto kernel scope link src 10.244.1.1 ',
  '10.244.3.0/24 via 172.18.0.13 dev eth0 ',
  '172.18.0.0/24 dev eth0 proto kernel scope link src 172.18.0.11 ',
  'local 10.244.1.1 dev cni0 table local proto kernel scope host src 10.244.1.1 ',
  'broadcast 10.244.1.255 dev cni0 table local proto kernel scope link src 10.244.1.1 ',
  'local 172.18.0.11 dev eth0 table local proto kernel scope host src 172.18.0.11 ',
  'fe80::/64 dev eth0 proto kernel metric 256 pref medium',
  'default dev eth0 metric 1024 pref medium',
  'local ::1 dev lo table local proto kernel metric 0 pref medium',
  '',
].join('\n');

describe('routes', () => {
  test('each line is a route: prefix (default and host routes as CIDRs), type, table, gateway, device, MTU', () => {
    const r = parseRoutes(`${HOSTGW}10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink mtu 1450\nblackhole 10.244.0.0/26 proto bird\n10.244.0.5 dev cali12 scope link\n`);
    expect(r.map((x) => [x.prefix, x.type, x.table, x.via ?? '-', x.dev ?? '-'])).toEqual([
      ['0.0.0.0/0', 'unicast', 'main', '172.18.0.1', 'eth0'],
      ['10.244.1.0/24', 'unicast', 'main', '-', 'cni0'],
      ['10.244.3.0/24', 'unicast', 'main', '172.18.0.13', 'eth0'],
      ['172.18.0.0/24', 'unicast', 'main', '-', 'eth0'],
      ['10.244.1.1/32', 'local', 'local', '-', 'cni0'],
      ['10.244.1.255/32', 'broadcast', 'local', '-', 'cni0'],
      ['172.18.0.11/32', 'local', 'local', '-', 'eth0'],
      ['fe80::/64', 'unicast', 'main', '-', 'eth0'],
      ['::/0', 'unicast', 'main', '-', 'eth0'],
      ['::1/128', 'local', 'local', '-', 'lo'],
      ['10.244.2.0/24', 'unicast', 'main', '10.244.2.0', 'flannel.1'],
      ['10.244.0.0/26', 'blackhole', 'main', '-', '-'],
      ['10.244.0.5/32', 'unicast', 'main', '-', 'cali12'],
    ]);
    expect(r[10]!.mtu).toBe(1450);
    expect(r[0]!.mtu).toBeUndefined();
    expect(r[0]!.text).toBe('default via 172.18.0.1 dev eth0');
  });

  test('an IPv6 default route is told by its gateway too; nexthop lines belong to their route; junk is skipped', () => {
    const r = parseRoutes('default via fe80::1 dev eth0 proto ra\ndefault proto static\n\tnexthop via 172.18.0.1 dev eth0 weight 1\n\tnexthop via 172.18.1.1 dev eth1 weight 1\nnot-a-prefix dev eth0\n');
    expect(r.map((x) => x.prefix)).toEqual(['::/0', '0.0.0.0/0']);
    expect(r[1]!.text).toBe('default proto static nexthop via 172.18.0.1 dev eth0 weight 1 nexthop via 172.18.1.1 dev eth1 weight 1');
    expect(r[1]!.via).toBe('172.18.0.1');
  });

  test('the longest match of a table wins; other tables and families do not count', () => {
    const r = parseRoutes(`${HOSTGW}10.244.3.7 dev eth0 table 100\n`);
    expect(longestMatch(r, 'main', '10.244.3.7')?.prefix).toBe('10.244.3.0/24');
    expect(longestMatch(r, '100', '10.244.3.7')?.prefix).toBe('10.244.3.7/32');
    expect(longestMatch(r, 'main', '10.244.2.3')?.prefix).toBe('0.0.0.0/0');
    expect(longestMatch(r, 'main', '172.18.0.12')?.prefix).toBe('172.18.0.0/24');
    expect(longestMatch(r, 'local', '10.244.2.3')).toBeUndefined();
    expect(longestMatch(r, 'main', 'fd00::1')?.prefix).toBe('::/0');
  });

  test('every route type ip(8) prints is read as a type; of two equally long matches the first wins', () => {
    const r = parseRoutes('unicast 10.0.0.0/8 dev a\nmulticast ff00::/8 dev eth0 table local pref medium\nanycast fe80:: dev eth0 table local pref medium\nnat 10.9.0.0/16 via 10.1.1.1\n\n10.0.0.0/8 dev b\n');
    expect(r.map((x) => [x.prefix, x.type, x.dev ?? '-'])).toEqual([
      ['10.0.0.0/8', 'unicast', 'a'], ['ff00::/8', 'multicast', 'eth0'], ['fe80::/128', 'anycast', 'eth0'], ['10.9.0.0/16', 'nat', '-'], ['10.0.0.0/8', 'unicast', 'b'],
    ]);
    expect(longestMatch(r, 'main', '10.1.2.3')?.dev).toBe('a');
    expect(parseRoutes('10.0.0.0/8 dev a mtu 0\n10.0.0.0/8 dev a mtu lock\n').map((x) => x.mtu)).toEqual([undefined, undefined]);
  });

  test.each(['not', 'fwmark', 'iif', 'oif', 'uidrange', 'ipproto', 'sport', 'dport', 'tos', 'dsfield', 'l3mdev'])('a rule selecting by %s cannot be evaluated', (w) => {
    expect(parseRules(`10:\tfrom all ${w} x lookup 7\n`)[0]!.opaque).toBe(true);
    expect(parseRules(`10:\tfrom all to 10.0.0.0/8 table 7\n20:\tfrom all iif lo\n`).map((r) => [r.pref, r.table, r.opaque])).toEqual([[10, '7', false]]);
  });

  test('default, dropping and ordinary routes', () => {
    const [def, , , , , , , , v6def] = parseRoutes(HOSTGW);
    expect([isDefault(def!), isDefault(v6def!), isDefault(parseRoutes('10.0.0.0/8 dev x')[0]!)]).toEqual([true, true, false]);
    expect(parseRoutes('blackhole 10.0.0.0/8\nunreachable 10.1.0.0/16\nprohibit 10.2.0.0/16\nthrow 10.3.0.0/16\n10.4.0.0/16 dev x\n').map(dropsPackets)).toEqual([true, true, true, false, false]);
  });
});

const VPC_RULES = '0:\tfrom all lookup local\n512:\tfrom all to 172.18.64.0/26 lookup main\n1536:\tfrom 172.18.64.0/26 lookup 100\n32766:\tfrom all lookup main\n32767:\tfrom all lookup default\n0:\tfrom all lookup local\n32766:\tfrom all lookup main\n';
const VPC_ROUTES = 'default via 172.18.0.1 dev eth0\n172.18.0.0/24 dev eth0 proto kernel scope link src 172.18.0.11\n172.18.64.5 dev eni1 scope link\ndefault via 172.18.1.1 dev eth1 table 100\n';

describe('policy rules', () => {
  test('rules in preference order with their selectors; fwmark, iif and negations cannot be evaluated', () => {
    const r = parseRules(`${VPC_RULES}100:\tnot from all fwmark 0x1 lookup 7\n101:\tfrom all iif eth1 lookup 8\nnonsense\n`);
    expect(r.map((x) => [x.pref, x.from ?? '*', x.to ?? '*', x.table, x.opaque])).toEqual([
      [0, '*', '*', 'local', false], [0, '*', '*', 'local', false],
      [100, '*', '*', '7', true], [101, '*', '*', '8', true],
      [512, '*', '172.18.64.0/26', 'main', false], [1536, '172.18.64.0/26', '*', '100', false],
      [32766, '*', '*', 'main', false], [32766, '*', '*', 'main', false], [32767, '*', '*', 'default', false],
    ]);
    expect(r[5]!.text).toBe('1536: from 172.18.64.0/26 lookup 100');
  });

  test('a pod\'s traffic out of the VPC takes its own table; to another pod of the prefix, main; a node\'s own, main', () => {
    const inv = { routes: VPC_ROUTES, rules: VPC_RULES };
    expect(routeLookup(inv, '172.18.64.5', '198.51.100.10')).toMatchObject({ route: { dev: 'eth1', table: '100' }, rule: { pref: 1536 } });
    expect(routeLookup(inv, '172.18.64.5', '172.18.64.9')).toMatchObject({ route: { prefix: '0.0.0.0/0', dev: 'eth0' } });
    expect(routeLookup(inv, '172.18.64.7', '172.18.64.5').route?.dev).toBe('eni1');
    expect(routeLookup(inv, '172.18.64.5', '172.18.64.9').rule).toBeUndefined();
    expect(routeLookup(inv, '172.18.0.11', '198.51.100.10')).toEqual({ route: expect.objectContaining({ dev: 'eth0', table: 'main' }) });
  });

  test('without its rule, the pod\'s traffic takes the main table; without rules recorded, local then main', () => {
    const rules = VPC_RULES.replace('1536:\tfrom 172.18.64.0/26 lookup 100\n', '');
    expect(routeLookup({ routes: VPC_ROUTES, rules }, '172.18.64.5', '198.51.100.10').route?.dev).toBe('eth0');
    expect(routeLookup({ routes: HOSTGW }, '10.244.1.2', '10.244.1.1').route?.type).toBe('local');
    expect(routeLookup({ routes: HOSTGW }, '10.244.1.2', '10.244.3.4').route?.via).toBe('172.18.0.13');
  });

  test('a throw route goes on to the next rule; no route at all is nothing', () => {
    const inv = { routes: 'throw 10.0.0.0/8 table 100\ndefault via 172.18.1.1 dev eth1 table 100\n10.0.0.0/8 via 172.18.0.9 dev eth0\n', rules: '100:\tfrom all lookup 100\n32766:\tfrom all lookup main\n' };
    expect(routeLookup(inv, '1.1.1.1', '10.1.2.3').route?.via).toBe('172.18.0.9');
    expect(routeLookup(inv, '1.1.1.1', '8.8.8.8').route?.via).toBe('172.18.1.1');
    expect(routeLookup({ routes: '10.0.0.0/8 dev eth0\n', rules: '32766:\tfrom all lookup main\n' }, '10.0.0.1', '192.0.2.1')).toEqual({});
    expect(routeLookup({ routes: '::/0 dev eth0\n', rules: '1:\tfrom 10.0.0.0/8 lookup main\n' }, 'fd00::1', 'fd00::2')).toEqual({});
  });

  test('source rules: the rules that give an address a table of its own', () => {
    expect(sourceRules({ rules: VPC_RULES }, '172.18.64.5').map((r) => r.text)).toEqual(['1536: from 172.18.64.0/26 lookup 100']);
    expect(sourceRules({ rules: VPC_RULES }, '172.18.64.99')).toEqual([]);
    expect(sourceRules({ rules: '5:\tfrom 10.0.0.0/8 lookup main\n6:\tfrom 10.0.0.0/8 lookup local\n7:\tfrom 10.0.0.0/8 lookup default\n' }, '10.1.1.1')).toEqual([]);
    expect(sourceRules({}, '10.1.1.1')).toEqual([]);
    expect(sourceRules({ rules: VPC_RULES }, 'nonsense')).toEqual([]);
  });

  test('links by name', () => {
    expect(linkByName([{ name: 'eth0', ifindex: 2, mtu: 9000 }], 'eth0')).toEqual({ name: 'eth0', ifindex: 2, mtu: 9000 });
    expect(linkByName([{ name: 'eth0', ifindex: 2 }], 'eth1')).toBeUndefined();
    expect(linkByName(undefined, 'eth0')).toBeUndefined();
  });
});

const NAT = `# Generated by iptables-save v1.8.9 (nf_tables)
*nat
:PREROUTING ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -s 10.244.0.0/16 ! -d 10.244.0.0/16 -j MASQUERADE
-A POSTROUTING -s 172.18.0.12/32 -d 10.244.0.0/16 -j SNAT --to-source 172.18.0.102
-A POSTROUTING -j RETURN
COMMIT
`;
const FILTER = '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n';
const NFT = `table inet filter {
\tchain forward {
\t\ttype filter hook forward priority filter; policy drop;
\t}
}
table ip nat {
\tchain postrouting {
\t\ttype nat hook postrouting priority srcnat; policy accept;
\t\tip saddr 10.244.0.0/16 masquerade
\t\tip saddr 172.18.0.12 snat ip to 172.18.0.102
\t}
}
`;

describe('nat and filter tables', () => {
  test('masquerade and SNAT rules from iptables-save and from nft, in order', () => {
    expect(snatRules([{ command: 'iptables-save -t nat', output: NAT }, { command: 'nft list ruleset', output: NFT }])).toEqual([
      '-A POSTROUTING -s 10.244.0.0/16 ! -d 10.244.0.0/16 -j MASQUERADE',
      '-A POSTROUTING -s 172.18.0.12/32 -d 10.244.0.0/16 -j SNAT --to-source 172.18.0.102',
      'ip saddr 10.244.0.0/16 masquerade',
      'ip saddr 172.18.0.12 snat ip to 172.18.0.102',
    ]);
    expect(snatRules([{ command: 'iptables-save -t nat', error: 'iptables-save is not installed in the probe image' }])).toEqual([]);
    expect(snatRules([{ command: 'iptables-save -t filter', output: '-A FORWARD -j ACCEPT\n' }])).toEqual([]);
    expect(snatRules(undefined)).toEqual([]);
    // Rules the legacy backend holds (iptables-nft points at them), and IPv6's, count; other commands' text does not.
    expect(snatRules([{ command: 'iptables-legacy-save -t nat', output: '-A POSTROUTING -j MASQUERADE\n' }, { command: 'ip6tables-save -t nat', output: '-A POSTROUTING -s fd00::/64 -j MASQUERADE\n' }]))
      .toEqual(['-A POSTROUTING -j MASQUERADE', '-A POSTROUTING -s fd00::/64 -j MASQUERADE']);
    expect(snatRules([{ command: 'cat rules', output: '-A POSTROUTING -j MASQUERADE\n' }])).toEqual([]);
  });

  test('the rules that match a packet by their own address conditions, those naming its source first', () => {
    const fw = [{ command: 'iptables-save -t nat', output: `*nat
-A POSTROUTING -s 10.244.0.0/16 ! -d 10.244.0.0/16 -j MASQUERADE
-A CNI-abc ! -d 224.0.0.0/4 -j MASQUERADE
-A POSTROUTING --source 10.244.1.2 --destination 10.244.2.0/24 -j SNAT --to-source 172.18.0.9
-A POSTROUTING ! -s 10.244.1.0/24 -j MASQUERADE
COMMIT
` }, { command: 'nft list ruleset', output: 'ip saddr 10.244.1.0/24 ip daddr != 10.244.0.0/16 masquerade\n' }];
    expect(snatRulesFor(fw, '10.244.1.2', '10.244.2.3')).toEqual([
      '-A POSTROUTING --source 10.244.1.2 --destination 10.244.2.0/24 -j SNAT --to-source 172.18.0.9',
      '-A CNI-abc ! -d 224.0.0.0/4 -j MASQUERADE',
    ]);
    expect(snatRulesFor(fw, '10.244.1.2', '198.51.100.10')).toEqual([
      '-A POSTROUTING -s 10.244.0.0/16 ! -d 10.244.0.0/16 -j MASQUERADE',
      'ip saddr 10.244.1.0/24 ip daddr != 10.244.0.0/16 masquerade',
      '-A CNI-abc ! -d 224.0.0.0/4 -j MASQUERADE',
    ]);
    expect(snatRulesFor(fw, '10.9.0.1', '224.0.0.5')).toEqual(['-A POSTROUTING ! -s 10.244.1.0/24 -j MASQUERADE']);
    expect(snatRulesFor(undefined, '10.9.0.1', '10.0.0.1')).toEqual([]);
  });

  test('a rule in a chain counts when a jump to the chain holds (a jump naming the source makes it name it), and not after a RETURN that holds', () => {
    // The bridge plugin's ipMasq (a chain per pod) and the lab's egress chain, as iptables-save printed them on a node.
    const nat = `*nat
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -s 10.244.0.0/16 -j PW-EGRESS
-A POSTROUTING -s 10.244.1.2/32 -m comment --comment "id: a" -j CNI-aaa
-A POSTROUTING -s 10.244.1.3/32 -m comment --comment "id: b" -j CNI-bbb
-A CNI-aaa -d 10.244.1.0/24 -j ACCEPT
-A CNI-aaa ! -d 224.0.0.0/4 -j MASQUERADE
-A CNI-bbb -d 10.244.1.0/24 -j ACCEPT
-A CNI-bbb ! -d 224.0.0.0/4 -j MASQUERADE
-A PW-EGRESS -d 10.244.0.0/16 -j RETURN
-A PW-EGRESS -m mark --mark 0x1 -j RETURN
-A PW-EGRESS -j MASQUERADE
COMMIT
`;
    const fw = [{ command: 'iptables-save -t nat', output: nat }];
    expect(snatRulesFor(fw, '10.244.1.3', '10.244.2.2')).toEqual(['-A CNI-bbb ! -d 224.0.0.0/4 -j MASQUERADE']);
    expect(snatRulesFor(fw, '10.244.1.2', '10.244.1.9')).toEqual([]);
    expect(snatRulesFor(fw, '10.244.1.2', '198.51.100.10')).toEqual(['-A CNI-aaa ! -d 224.0.0.0/4 -j MASQUERADE', '-A PW-EGRESS -j MASQUERADE']);
    expect(snatRulesFor(fw, '10.9.9.9', '198.51.100.10')).toEqual([]);
    // A chain jumped to only from a chain nothing reaches is not reached either.
    expect(snatRulesFor([{ command: 'iptables-save -t nat', output: '-A A -s 10.0.0.0/8 -j B\n-A X -s 1.1.1.1/32 -j A\n-A B -j MASQUERADE\n' }], '10.1.1.1', '2.2.2.2')).toEqual([]);
    expect(snatRulesFor([{ command: 'iptables-save -t nat', output: '-A A -s 10.0.0.0/8 -j B\n-A X -d 2.2.2.0/24 -j A\n-A B -j MASQUERADE\n' }], '10.1.1.1', '2.2.2.2')).toEqual(['-A B -j MASQUERADE']);
  });

  test('the FORWARD policy and its rules, from the filter table only; or from an nft forward hook', () => {
    expect(forwardPolicy([{ command: 'iptables-save -t nat', output: NAT }, { command: 'iptables-save -t filter', output: FILTER }]))
      .toEqual({ policy: 'DROP', rules: [], text: ':FORWARD DROP [0:0]' });
    const flannel = '*filter\n:FORWARD ACCEPT [0:0]\n-A FORWARD -j FLANNEL-FWD\n-A FLANNEL-FWD -s 10.244.0.0/16 -j ACCEPT\nCOMMIT\n';
    expect(forwardPolicy([{ command: 'iptables-save -t filter', output: flannel }])).toEqual({ policy: 'ACCEPT', rules: ['-A FORWARD -j FLANNEL-FWD'], text: ':FORWARD ACCEPT [0:0]' });
    expect(forwardPolicy([{ command: 'iptables-save -t mangle', output: '*mangle\n:FORWARD DROP [0:0]\nCOMMIT\n' }])).toBeUndefined();
    expect(forwardPolicy([{ command: 'nft list ruleset', output: NFT }])).toEqual({ policy: 'DROP', rules: [], text: 'type filter hook forward priority filter; policy drop;' });
    expect(forwardPolicy([{ command: 'nft list ruleset', output: NFT.replace('policy drop', 'policy accept') }])?.policy).toBe('ACCEPT');
    expect(forwardPolicy([{ command: 'iptables-save -t filter', error: 'exit 1: permission denied' }])).toBeUndefined();
  });

  test('what a snapshot lacks is said, command by command', () => {
    expect(snapshotGaps(undefined)).toEqual(['no nat/filter snapshot (a bundle from before podwire recorded one)']);
    expect(snapshotGaps([{ command: 'iptables-save -t nat', output: NAT }, { command: 'nft list ruleset', error: 'nft is not installed in the probe image' }]))
      .toEqual(['nft list ruleset: nft is not installed in the probe image']);
    expect(snapshotGaps([{ command: 'iptables-save -t nat', output: NAT }])).toEqual([]);
  });
});

describe('ICMP names', () => {
  test.each([
    [false, 3, 0, 'destination unreachable: network unreachable', 'network unreachable'],
    [false, 3, 4, 'destination unreachable: fragmentation needed', 'fragmentation needed'],
    [false, 3, 13, 'destination unreachable: communication administratively prohibited', 'communication administratively prohibited'],
    [false, 3, 14, 'destination unreachable: code 14', 'destination unreachable (code 14)'],
    [false, 11, 0, 'time exceeded: TTL exceeded in transit', 'TTL exceeded in transit'],
    [false, 8, 0, 'echo request', 'echo request'],
    [false, 42, 1, 'type 42 code 1', 'type 42 code 1'],
    [true, 1, 0, 'destination unreachable: no route to destination', 'no route to destination'],
    [true, 1, 3, 'destination unreachable: address unreachable', 'address unreachable'],
    [true, 2, 0, 'packet too big', 'packet too big'],
    [true, 3, 0, 'time exceeded: hop limit exceeded in transit', 'hop limit exceeded in transit'],
    [true, 135, 0, 'neighbour solicitation', 'neighbour solicitation'],
    [true, 3, 4, 'destination unreachable: code 4'.replace('destination unreachable', 'time exceeded'), 'time exceeded (code 4)'],
  ] as const)('v6 %s type %i code %i: %s', (v6, type, code, full, short) => {
    expect(icmpMessage(v6, type, code)).toBe(full);
    expect(icmpShortName(v6, type, code)).toBe(short);
  });
});
