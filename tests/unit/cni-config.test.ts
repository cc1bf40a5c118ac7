// `lab up --cni-config`: the conflist checks (one line naming the file and
// what is wrong), placeholder substitution, the IPAM ranges the lab reads,
// the chained request configs (CNI spec 1.0 §4), and the per-pod /32 routes
// for addresses outside the node podCIDRs.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { cniConfigConflict, inCidr4, ipamRanges, parseConflist, pluginBinaries, renderConflist, type NodeValues } from '../../src/lab/cni-config.js';
import { chainedConf, podPortMappings } from '../../src/lab/cni.js';
import { extraPodRanges, findPlugin, loadCniConfig, renderForNodes } from '../../src/lab/cni-config-file.js';
import { podRouteLines } from '../../src/lab/pod-routes.js';
import { labPlan } from '../../src/lab/plan.js';
import { nodeNatRules } from '../../src/lab/topology.js';
import { ROOT } from '../helpers/lab.js';

const conf = (plugins: unknown[], extra: Record<string, unknown> = {}) => JSON.stringify({ cniVersion: '1.0.0', name: 'net', plugins, ...extra });
const values: NodeValues = { podCIDR: '10.244.2.0/24', nodeName: 'node-2', nodeIndex: 2, mtu: 1450, ipamDir: '/run/podwire/x/ipam/node-2' };

describe('a conflist is checked before the lab builds anything', () => {
  test.each([
    ['{"cniVersion": "1.0.0",', 'not JSON ('],
    ['[1, 2]', 'not a CNI conflist: expected a JSON object with cniVersion, name and plugins'],
    ['{"cniVersion": "1.0.0", "name": "n", "type": "bridge"}', 'a single network config (.conf), not a conflist: put the plugin object in a `plugins` array'],
    ['{"name": "n", "plugins": [{"type": "bridge"}]}', 'not a CNI conflist: `cniVersion` is missing or not a string'],
    ['{"cniVersion": "0.2.0", "name": "n", "plugins": [{"type": "bridge"}]}', 'cniVersion `0.2.0` is not one the lab reads results of (0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0)'],
    ['{"cniVersion": "1.0.0", "plugins": [{"type": "bridge"}]}', 'not a CNI conflist: `name` is missing or not a string'],
    ['{"cniVersion": "1.0.0", "name": "-n", "plugins": [{"type": "bridge"}]}', 'name `-n` is not a CNI network name'],
    [conf([]), 'not a CNI conflist: `plugins` must be a non-empty array of plugin objects'],
    ['{"cniVersion": "1.0.0", "name": "n", "plugins": {"type": "bridge"}}', 'not a CNI conflist: `plugins` must be a non-empty array'],
    [conf(['bridge']), 'plugins[0] is not an object'],
    [conf([{ type: 'bridge' }, { bridge: 'cni0' }]), 'plugins[1] has no `type` (the plugin binary\'s name)'],
    [conf([{ type: '../../bin/sh' }]), 'plugins[0].type `../../bin/sh` is not a plugin name'],
    [conf([{ type: 'bridge', ipam: { type: 'host local' } }]), 'plugins[0].ipam.type `host local` is not a plugin name'],
    [conf([{ type: 'bridge', ipam: { type: 'host-local', ranges: [[{ subnet: '{{podCidr}}' }]] } }]),
      'unknown placeholder `{{podCidr}}` at $.plugins[0].ipam.ranges[0][0].subnet; known: {{podCIDR}}, {{nodeName}}, {{nodeIndex}}, {{mtu}}, {{ipamDir}}'],
    [conf([{ type: 'bridge', bridge: 'br-{{ node }}' }]), 'unknown placeholder `{{ node }}` at $.plugins[0].bridge'],
    [conf([{ type: 'tuning', sysctl: { 'net.ipv4.conf.{{nodeName}}.x': '1' } }]),
      'placeholder `{{nodeName}}` in the key `net.ipv4.conf.{{nodeName}}.x` at $.plugins[0].sysctl: placeholders are substituted in string values only'],
  ])('%s → %s', (text, message) => {
    const parse = () => parseConflist(text, 'my.conflist');
    expect(parse).toThrow(UsageError);
    expect(parse).toThrow(`--cni-config \`my.conflist\`: ${message}`);
  });

  test('the shipped examples are valid, and name the binaries the lab checks for', () => {
    const chain = parseConflist(readFileSync(`${ROOT}examples/cni/bridge-chain.conflist`, 'utf8'), 'x');
    expect(pluginBinaries(chain)).toEqual(['bridge', 'host-local', 'portmap', 'tuning', 'bandwidth']);
    expect(pluginBinaries(parseConflist(readFileSync(`${ROOT}examples/cni/ptp-own-pool.conflist`, 'utf8'), 'x'))).toEqual(['ptp', 'host-local', 'portmap']);
  });

  test('profiles that wire pods themselves, and the fault that edits the lab\'s own bridge config, are refused', () => {
    expect(cniConfigConflict('host-gw', [])).toBeUndefined();
    expect(cniConfigConflict('vxlan', ['missing-route'])).toBeUndefined();
    for (const d of ['kindnet', 'calico', 'vpc', 'flannel'] as const) {
      expect(cniConfigConflict(d, [])).toBe(`\`--cni-config\` replaces the pods' CNI config of the host-gw and vxlan dataplanes; ${d} brings its own pod wiring (use --dataplane host-gw or vxlan)`);
    }
    expect(cniConfigConflict('host-gw', ['masquerade-all'])).toMatch(/^fault `masquerade-all` turns on ipMasq in the lab's own bridge config/);
  });
});

describe('placeholders', () => {
  test('are substituted per node; a string that is exactly {{mtu}} or {{nodeIndex}} becomes a number', () => {
    const list = parseConflist(conf([
      { type: 'bridge', bridge: 'br-{{nodeName}}', mtu: '{{mtu}}', index: '{{nodeIndex}}', label: 'n{{nodeIndex}}', ipam: { type: 'host-local', ranges: [[{ subnet: '{{podCIDR}}' }], [{ subnet: '10.250.{{nodeIndex}}.0/24' }]] } },
      { type: 'my-ipam-user', ipam: { type: 'my-ipam', stateDir: '{{ipamDir}}/mine' } },
    ]), 'x');
    const out = renderConflist(list, values);
    expect(out.plugins[0]).toEqual({
      type: 'bridge', bridge: 'br-node-2', mtu: 1450, index: 2, label: 'n2',
      // host-local without dataDir gets the node's own (the lab's nodes share one filesystem).
      ipam: { type: 'host-local', ranges: [[{ subnet: '10.244.2.0/24' }], [{ subnet: '10.250.2.0/24' }]], dataDir: '/run/podwire/x/ipam/node-2' },
    });
    expect(out.plugins[1]).toEqual({ type: 'my-ipam-user', ipam: { type: 'my-ipam', stateDir: '/run/podwire/x/ipam/node-2/mine' } });
    // The template is left as it was.
    expect(list.plugins[0]!.mtu).toBe('{{mtu}}');
  });

  test('a host-local dataDir the conflist sets is kept', () => {
    const out = renderConflist(parseConflist(conf([{ type: 'bridge', ipam: { type: 'host-local', dataDir: '/tmp/mine', subnet: '10.9.0.0/16' } }]), 'x'), values);
    expect(out.plugins[0]!.ipam).toEqual({ type: 'host-local', dataDir: '/tmp/mine', subnet: '10.9.0.0/16' });
  });

  test('each node of a plan gets its own podCIDR, name and the dataplane\'s pod MTU', () => {
    const list = parseConflist(readFileSync(`${ROOT}examples/cni/bridge-chain.conflist`, 'utf8'), 'x');
    const vx = renderForNodes(labPlan('lab', 3, 'vxlan'), list);
    expect([...vx.keys()]).toEqual(['node-1', 'node-2', 'node-3']);
    expect(vx.get('node-3')!.plugins[0]).toMatchObject({ mtu: 1450, ipam: { ranges: [[{ subnet: '10.244.3.0/24' }]], dataDir: '/run/podwire/lab/ipam/node-3' } });
    expect(renderForNodes(labPlan('lab', 3, 'host-gw', [], { mtu: 9000 }), list).get('node-1')!.plugins[0]!.mtu).toBe(9000);
  });
});

describe('pod ranges', () => {
  test('are read from host-local ranges and subnet (IPv4, network form); other IPAMs give none', () => {
    const list = parseConflist(conf([
      { type: 'bridge', ipam: { type: 'host-local', ranges: [[{ subnet: '10.250.2.7/24' }, { subnet: 'fd00::/64' }]] } },
      { type: 'x', ipam: { type: 'host-local', subnet: '10.251.0.0/16' } },
      { type: 'y', ipam: { type: 'dhcp' } },
    ]), 'x');
    expect(ipamRanges(list)).toEqual(['10.250.2.0/24', '10.251.0.0/16']);
  });

  test('beyond the cluster pod CIDR are masqueraded on egress like it; ranges over the lab\'s own addresses are refused', () => {
    const pool = parseConflist(readFileSync(`${ROOT}examples/cni/ptp-own-pool.conflist`, 'utf8'), 'x');
    const plan = labPlan('lab', 2, 'host-gw');
    expect(extraPodRanges('p.conflist', renderForNodes(plan, pool))).toEqual(['10.250.1.0/24', '10.250.2.0/24']);
    const chain = parseConflist(readFileSync(`${ROOT}examples/cni/bridge-chain.conflist`, 'utf8'), 'x');
    expect(extraPodRanges('c.conflist', renderForNodes(plan, chain))).toEqual([]);
    const clash = parseConflist(conf([{ type: 'bridge', ipam: { type: 'host-local', subnet: '172.18.0.0/20' } }]), 'x');
    expect(() => extraPodRanges('bad.conflist', renderForNodes(plan, clash))).toThrow(
      '--cni-config `bad.conflist`: IPAM range 172.18.0.0/20 overlaps the lab\'s own addresses (172.18.0.0/16); pick pod ranges outside 172.18.0.0/16 and 198.51.100.0/24');

    const nat = nodeNatRules(plan.nodes[0]!, [], 'host-gw', ['10.250.1.0/24']);
    expect(nat).toContain('-A POSTROUTING -s 10.244.0.0/16 -j PW-EGRESS\n-A POSTROUTING -s 10.250.1.0/24 -j PW-EGRESS\n');
    expect(nat).toContain('-A PW-EGRESS -d 10.244.0.0/16 -j RETURN\n-A PW-EGRESS -d 10.250.1.0/24 -j RETURN\n-A PW-EGRESS -d 172.18.0.0/24 -j RETURN\n-A PW-EGRESS -j MASQUERADE');
  });

  test('inCidr4', () => {
    expect(inCidr4('10.250.2.9', '10.250.2.0/24')).toBe(true);
    expect(inCidr4('10.250.3.9', '10.250.2.0/24')).toBe(false);
    expect(inCidr4('10.250.3.9', '')).toBe(false);
  });
});

describe('a conflist runs as a chain (CNI spec 1.0 §4)', () => {
  const list = parseConflist(conf([{ type: 'bridge', cniVersion: '0.3.1', name: 'other' }, { type: 'portmap', capabilities: { portMappings: true } }]), 'x');

  test('each plugin gets the list\'s cniVersion and name, and prevResult when there is one', () => {
    expect(chainedConf(list, 0, undefined)).toEqual({ type: 'bridge', cniVersion: '1.0.0', name: 'net' });
    const prev = { cniVersion: '1.0.0', ips: [{ address: '10.244.1.2/24' }] };
    expect(chainedConf(list, 1, prev)).toEqual({ type: 'portmap', capabilities: { portMappings: true }, cniVersion: '1.0.0', name: 'net', prevResult: prev });
  });

  test('a plugin that declares a capability gets its arguments as runtimeConfig; others, or none to give, get none', () => {
    const portMappings = [{ hostPort: 30080, containerPort: 8080, protocol: 'tcp' }];
    expect(chainedConf(list, 1, undefined, { portMappings })).toEqual({ type: 'portmap', capabilities: { portMappings: true }, cniVersion: '1.0.0', name: 'net', runtimeConfig: { portMappings } });
    expect(chainedConf(list, 0, undefined, { portMappings })).not.toHaveProperty('runtimeConfig');
    expect(chainedConf(list, 1, undefined, { portMappings: [] })).not.toHaveProperty('runtimeConfig');
    const off = parseConflist(conf([{ type: 'portmap', capabilities: { portMappings: false } }]), 'x');
    expect(chainedConf(off, 0, undefined, { portMappings })).not.toHaveProperty('runtimeConfig');
  });

  test('hostPorts become portMappings, protocol in lower case, TCP by default', () => {
    expect(podPortMappings([
      { ports: [{ containerPort: 8080, hostPort: 30080 }, { containerPort: 9090 }] },
      {},
      { ports: [{ containerPort: 53, hostPort: 5353, protocol: 'UDP', hostIP: '172.18.0.12' }] },
    ])).toEqual([{ hostPort: 30080, containerPort: 8080, protocol: 'tcp' }, { hostPort: 5353, containerPort: 53, protocol: 'udp', hostIP: '172.18.0.12' }]);
  });
});

describe('pods outside their node\'s podCIDR are routed as /32 on the other nodes', () => {
  const plan = labPlan('lab', 3, 'host-gw');
  const [n1, n2, n3] = plan.nodes as [typeof plan.nodes[0], typeof plan.nodes[0], typeof plan.nodes[0]];

  test('host-gw: via the node\'s address; none for an address in its podCIDR', () => {
    expect(podRouteLines(plan, n2, '10.250.2.5', 'replace')).toEqual([
      { netns: n1.netns, lines: ['route replace 10.250.2.5/32 via 172.18.0.12 dev eth0'] },
      { netns: n3.netns, lines: ['route replace 10.250.2.5/32 via 172.18.0.12 dev eth0'] },
    ]);
    expect(podRouteLines(plan, n2, '10.250.2.5', 'del')[0]!.lines).toEqual(['route del 10.250.2.5/32 via 172.18.0.12 dev eth0']);
    expect(podRouteLines(plan, n2, '10.244.2.5', 'replace')).toEqual([]);
  });

  test('vxlan: via the node\'s flannel.1 address over the overlay', () => {
    const vx = labPlan('lab', 3, 'vxlan');
    expect(podRouteLines(vx, vx.nodes[2]!, '10.250.3.5', 'replace')[0]).toEqual({ netns: vx.nodes[0]!.netns, lines: ['route replace 10.250.3.5/32 via 10.244.3.0 dev flannel.1 onlink'] });
  });

  test('missing-route: node-1 does not route node-2\'s pods', () => {
    const faulty = labPlan('lab', 3, 'host-gw', ['missing-route']);
    expect(podRouteLines(faulty, faulty.nodes[1]!, '10.250.2.5', 'replace').map((t) => t.netns)).toEqual([n3.netns]);
    expect(podRouteLines(faulty, faulty.nodes[0]!, '10.250.1.5', 'replace').map((t) => t.netns)).toEqual([n2.netns, n3.netns]);
  });
});

test('a JSON error is one line and says where', () => {
  expect(() => parseConflist('{\n  "cniVersion": "1.0.0"\n  "name": "n"\n}', 'f')).toThrow(/^--cni-config `f`: not JSON \([^\n]* at line 3, column 3\)$/);
  expect(() => parseConflist('nope\n', 'f')).toThrow(/^--cni-config `f`: not JSON \([^\n]*\)$/);
});

describe('loading --cni-config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'podwire-cni-load-'));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  for (const p of ['bridge', 'host-local']) writeFileSync(join(bin, p), '#!/bin/sh\n', { mode: 0o755 });
  writeFileSync(join(bin, 'portmap'), 'not executable', { mode: 0o644 });
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('records the absolute source, network name and chain', async () => {
    const f = file('ok.conflist', conf([{ type: 'bridge', ipam: { type: 'host-local' } }]));
    expect((await loadCniConfig(f, bin)).info).toEqual({ source: f, name: 'net', plugins: ['bridge'] });
  });

  test('several bin dirs, colon-separated as CNI_PATH: each plugin is found in the first that has it', async () => {
    const vendor = join(dir, 'vendor-bin');
    mkdirSync(vendor);
    writeFileSync(join(vendor, 'vendor'), '#!/bin/sh\n', { mode: 0o755 });
    writeFileSync(join(vendor, 'bridge'), '#!/bin/sh\n', { mode: 0o755 });
    const f = file('two.conflist', conf([{ type: 'vendor', ipam: { type: 'host-local' } }]));
    expect((await loadCniConfig(f, `${vendor}:${bin}`)).info.plugins).toEqual(['vendor']);
    expect(await findPlugin(`${vendor}:${bin}`, 'bridge')).toBe(join(vendor, 'bridge'));
    expect(await findPlugin(`${vendor}:${bin}`, 'host-local')).toBe(join(bin, 'host-local'));
    expect(await findPlugin(`${vendor}:${bin}`, 'portmap')).toBeUndefined();
    await expect(loadCniConfig(f, `${vendor}:${join(dir, 'nobin')}`)).rejects.toThrow(`--cni-bin-dir \`${vendor}:${join(dir, 'nobin')}\`: no such directory ${join(dir, 'nobin')}`);
  });

  test.each([
    ['a missing file', () => join(dir, 'nope.conflist'), bin, (f: string) => `--cni-config \`${f}\`: no such file`],
    ['a directory', () => dir, bin, (f: string) => `--cni-config \`${f}\`: a directory, not a conflist file`],
    ['a plugin not in the bin dir', () => file('vendor.conflist', conf([{ type: 'vendor' }])), bin,
      (f: string) => `--cni-config \`${f}\`: plugin \`vendor\` is not in the CNI bin dir ${bin} (no executable ${bin}/vendor; see --cni-bin-dir)`],
    ['an IPAM plugin not in the bin dir', () => file('ipam.conflist', conf([{ type: 'bridge', ipam: { type: 'whereabouts' } }])), bin,
      (f: string) => `--cni-config \`${f}\`: plugin \`whereabouts\` is not in the CNI bin dir`],
    ['a plugin file that is not executable', () => file('pm.conflist', conf([{ type: 'bridge' }, { type: 'portmap' }])), bin,
      (f: string) => `plugin \`portmap\` is not in the CNI bin dir ${bin} (no executable ${bin}/portmap`],
    ['a missing bin dir', () => file('ok2.conflist', conf([{ type: 'bridge' }])), join(dir, 'nobin'), () => `--cni-bin-dir \`${join(dir, 'nobin')}\`: no such directory`],
  ])('refuses %s in one line', async (_what, path, binDir, message) => {
    const f = path();
    const err = await loadCniConfig(f, binDir).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toContain(message(f));
    expect((err as Error).message).not.toContain('\n');
  });
});
