import { describe, expect, test } from 'vitest';
import { UsageError, parseCommand } from '../../src/cli/args.js';

const up = { kind: 'lab-up', name: 'podwire', nodes: 3, dataplane: 'host-gw', ipFamily: 'ipv4', uplinks: 'single', mtu: 1500, faults: [], force: false };

describe('podwire command line', () => {
  test.each([
    [['lab', 'up'], up],
    [['lab', 'up', '--name', 'x1', '--nodes', '64', '--dataplane', 'vxlan', '--kubeconfig-out', '/tmp/k'],
      { ...up, name: 'x1', nodes: 64, dataplane: 'vxlan', kubeconfigOut: '/tmp/k' }],
    [['lab', 'up', '--kubeconfig-out', 'k', '--force'], { ...up, kubeconfigOut: 'k', force: true }],
    [['lab', 'up', '--uplinks', 'ecmp', '--mtu', '9000'], { ...up, uplinks: 'ecmp', mtu: 9000 }],
    [['lab', 'up', '--uplinks=policy', '--mtu=1280'], { ...up, uplinks: 'policy', mtu: 1280 }],
    [['lab', 'up', '--fault', 'missing-route', '--fault', 'masquerade-all'], { ...up, faults: ['missing-route', 'masquerade-all'] }],
    [['lab', 'up', '--dataplane', 'vpc', '--mtu', '9001'], { ...up, dataplane: 'vpc', mtu: 9001 }],
    [['lab', 'up', '--mtu', '9216'], { ...up, mtu: 9216 }],
    [['lab', 'up', '--ip-family', 'ipv6'], { ...up, ipFamily: 'ipv6' }],
    [['lab', 'up', '--ip-family', 'dual', '--primary', 'ipv6', '--dataplane', 'kindnet'], { ...up, ipFamily: 'dual', primary: 'ipv6', dataplane: 'kindnet' }],
    // jumbo-blackhole without --mtu: AWS's jumbo underlay; with it, the value given (validated by the lab: 9000 or more).
    [['lab', 'up', '--fault', 'jumbo-blackhole'], { ...up, mtu: 9001, faults: ['jumbo-blackhole'] }],
    [['lab', 'up', '--fault', 'jumbo-blackhole', '--mtu', '9000'], { ...up, mtu: 9000, faults: ['jumbo-blackhole'] }],
    [['lab', 'up', '--cni-config', 'my.conflist', '--cni-bin-dir', '/opt/cni/bin'], { ...up, cniConfig: 'my.conflist', cniBinDir: '/opt/cni/bin' }],
    [['lab', 'down'], { kind: 'lab-down', name: 'podwire', all: false }],
    [['lab', 'down', '--all'], { kind: 'lab-down', all: true }],
    [['lab', 'status', '--json'], { kind: 'lab-status', name: 'podwire', json: true }],
    [['lab', 'kubeconfig', '--role', 'deploy/rbac.yaml', '--out', '/tmp/k'], { kind: 'lab-kubeconfig', name: 'podwire', role: 'deploy/rbac.yaml', out: '/tmp/k', force: false }],
    [['lab', 'kubeconfig', '--name', 'l2', '--role', 'r.yaml', '--out', 'k', '--force'], { kind: 'lab-kubeconfig', name: 'l2', role: 'r.yaml', out: 'k', force: true }],
    [['lab', 'list'], { kind: 'lab-list', json: false }],
    [['lab', 'list', '--json'], { kind: 'lab-list', json: true }],
    [['lab', 'preflight', '--install', '--tests'], { kind: 'lab-preflight', install: true, tests: true }],
    [['demo', '--dataplane', 'vxlan'], { kind: 'demo', name: 'demo', nodes: 3, dataplane: 'vxlan', faults: [], keep: false }],
    [['demo', '--name', 'demo2', '--fault', 'no-egress-snat'], { kind: 'demo', name: 'demo2', nodes: 3, dataplane: 'host-gw', faults: ['no-egress-snat'], keep: false }],
    [['decode', 'a.pcap', '-', 'b.pcap', '--json'], { kind: 'decode', files: ['a.pcap', '-', 'b.pcap'], json: true, vxlanPorts: [4789, 8472] }],
    [['decode', 'a.pcap', '--vxlan-port', '9999', '--vxlan-port', '4789'], { kind: 'decode', files: ['a.pcap'], json: false, vxlanPorts: [4789, 8472, 9999] }],
    [['judge', 'b', '--profile', 'core'], { kind: 'judge', bundle: 'b', profile: 'core' }],
    [['diff', 'x', 'y', '--format=json'], { kind: 'diff', before: 'x', after: 'y', format: 'json' }],
    [['cleanup'], { kind: 'cleanup', namespaces: [] }],
    [['cleanup', '--context', 'c', '--namespace', 'podwire-a', '--namespace', 'podwire-b'], { kind: 'cleanup', context: 'c', namespaces: ['podwire-a', 'podwire-b'] }],
    [[], { kind: 'help', topic: '' }],
    [['help'], { kind: 'help', topic: '' }],
    [['--help'], { kind: 'help', topic: '' }],
    [['-h'], { kind: 'help', topic: '' }],
    [['lab'], { kind: 'help', topic: 'lab' }],
    [['lab', '--help'], { kind: 'help', topic: 'lab' }],
    [['help', 'lab'], { kind: 'help', topic: 'lab' }],
    [['help', 'lab', 'up'], { kind: 'help', topic: 'lab up' }],
    [['lab', 'up', '--help'], { kind: 'help', topic: 'lab up' }],
    // Help wins over any other mistake on the line: it is what the user asked for.
    [['lab', 'up', '--nodes', '0', '-h'], { kind: 'help', topic: 'lab up' }],
    [['run', '--help'], { kind: 'help', topic: 'run' }],
    [['help', 'decode'], { kind: 'help', topic: 'decode' }],
    [['--version'], { kind: 'version' }],
    [['version'], { kind: 'version' }],
  ])('%j parses', (argv, want) => {
    expect(parseCommand(argv)).toEqual(want);
  });

  test('run is parsed (and validated) with the command line', () => {
    expect(parseCommand(['run', '--profile', 'core', '--keep'])).toMatchObject({ kind: 'run', opts: { profile: 'core', keep: true, reportDir: 'reports' } });
  });

  test.each([
    [['lab', 'up', '--nodes', '0'], 'expected `--nodes` to be an integer from 1 to 64, got `0`'],
    [['lab', 'up', '--nodes', '1.5'], 'got `1.5`'],
    [['lab', 'up', '--nodes', '-3'], '`--nodes`'],
    [['lab', 'up', '--dataplane', 'foo'], 'expected `--dataplane` to be one of host-gw, vxlan, kindnet, calico, vpc, flannel, got `foo`'],
    [['lab', 'up', '--name', 'has-hyphen'], 'got `has-hyphen`'],
    [['lab', 'up', '--name', 'a'.repeat(17)], '`--name`'],
    [['lab', 'up', '--frob'], 'unknown flag `--frob` for `podwire lab up` (valid: --name, --nodes, --dataplane, --ip-family, --primary, --uplinks, --mtu, --fault, --kubeconfig-out, --force, --cni-config, --cni-bin-dir, --pod-security, --pin-pod-security, --deny-probes; see `podwire lab up --help`)'],
    [['lab', 'up', '--ip-family', 'v6'], 'expected `--ip-family` to be one of ipv4, ipv6, dual, got `v6`'],
    [['lab', 'up', '--ip-family', 'dual', '--primary', 'ip6'], 'expected `--primary` to be one of ipv4, ipv6, got `ip6`'],
    [['lab', 'up', '--primary', 'ipv6'], '`--primary` orders the two families of a dual-stack lab: it needs `--ip-family dual`, got ipv4'],
    [['lab', 'up', '--ip-family', 'ipv6', '--primary', 'ipv6'], 'it needs `--ip-family dual`, got ipv6'],
    [['lab', 'up', '--uplinks', 'bgp'], 'expected `--uplinks` to be one of single, ecmp, policy, got `bgp`'],
    [['lab', 'up', '--uplinks', ''], 'expected `--uplinks` to be one of single, ecmp, policy, got `` (empty)'],
    [['lab', 'up', '--mtu', '9217'], 'expected `--mtu` to be an integer from 1280 to 9216, got `9217`'],
    [['lab', 'up', '--cni-bin-dir', '/opt/cni/bin'], '`--cni-bin-dir` goes with `--cni-config`'],
    [['lab', 'up', '--cni-config', ''], 'expected `--cni-config` to be a conflist file, got `` (empty)'],
    [['lab', 'up', '--cni-config', 'x.conflist', '--cni-bin-dir', ' '], 'expected `--cni-bin-dir` to be a directory'],
    [['lab', 'up', '--mtu', '1279'], 'got `1279`'],
    [['lab', 'up', '--mtu', '1500.0'], 'got `1500.0`'],
    [['lab', 'up', '--mtu', 'jumbo'], 'got `jumbo`'],
    [['lab', 'up', '--mtu'], 'flag `--mtu` of `podwire lab up` needs a value'],
    [['lab', 'up', '--fault', 'nope'], 'unknown fault `nope`; known: masquerade-all'],
    [['lab', 'up', '--force'], '`--force` lets `--kubeconfig-out` replace a file'],
    [['lab', 'up', '--kubeconfig-out', ' '], 'expected `--kubeconfig-out` to be a file path'],
    [['lab', 'up', '--json=1'], 'unknown flag `--json`'],
    [['lab', 'down', '--all=yes'], 'flag `--all` of `podwire lab down` takes no value'],
    [['demo', '--mtu', '9000'], 'unknown flag `--mtu` for `podwire demo`'],
    [['demo', '--name', 'Demo'], 'expected `--name` to be 1-16 lowercase letters'],
    [['lab', 'up', 'extra'], 'unexpected argument `extra` for `podwire lab up`'],
    [['lab', 'up', '--nodes'], '--nodes'],
    [['lab', 'down', '--all', '--name', 'x'], 'not both'],
    [['lab', 'kubeconfig', '--out', 'k'], '`podwire lab kubeconfig` needs `--role FILE`: a YAML file with the ClusterRole (or Role) the token is bound to, e.g. deploy/rbac.yaml'],
    [['lab', 'kubeconfig', '--role', 'r.yaml'], '`podwire lab kubeconfig` needs `--out PATH`: where to write the kubeconfig'],
    [['lab', 'kubeconfig', '--role', '', '--out', 'k'], '`podwire lab kubeconfig` needs `--role FILE`: a YAML file with the ClusterRole (or Role) the token is bound to, e.g. deploy/rbac.yaml'],
    [['lab', 'sideways'], 'unknown lab command `sideways`; expected up, down, kubeconfig, status, list, faults, preflight'],
    [['nope'], 'unknown command `nope`; run `podwire help`'],
    [['help', 'nope'], 'no command `nope` to help with'],
    [['help', 'lab', 'sideways'], 'no command `lab sideways` to help with'],
    [['--version', 'x'], 'unexpected argument `x`'],
    [['decode'], 'expected at least one capture file(s) for `podwire decode FILE...`, got 0'],
    [['decode', '-', '-'], '`-` (standard input) can be read once only'],
    [['decode', 'a', '--vxlan-port', '0'], 'expected `--vxlan-port` to be a port from 1 to 65535, got `0`'],
    [['judge'], 'expected one bundle directory'],
    [['judge', 'a', 'b'], 'expected one bundle directory for `podwire judge BUNDLE_DIR`, got 2'],
    [['judge', 'a', '--profile', 'loose'], 'expected `--profile` to be one of core, extended, strict, got `loose`'],
    [['diff', 'a'], 'expected two reports, BEFORE and AFTER, for `podwire diff BEFORE AFTER`, got 1'],
    [['diff', 'a', 'b', '--format', 'xml'], 'expected `--format` to be one of text, markdown, json, got `xml`'],
    [['cleanup', '--namespace', 'Bad_NS'], 'expected `--namespace` to be a namespace name, got `Bad_NS`'],
  ])('%j is refused: %s', (argv, message) => {
    expect(() => parseCommand(argv)).toThrow(UsageError);
    expect(() => parseCommand(argv)).toThrow(message);
  });

  // A single-value flag given twice is a mistake, not "the last one wins"; repeatable flags collect.
  test.each([
    [['lab', 'up', '--nodes', '3', '--nodes', '4'], 'flag `--nodes` of `podwire lab up` takes one value, got 2: `3`, `4`'],
    [['lab', 'up', '--name=a', '--name', 'b'], 'flag `--name` of `podwire lab up` takes one value, got 2: `a`, `b`'],
    [['lab', 'status', '--name', 'a', '--name', 'a'], 'flag `--name` of `podwire lab status` takes one value, got 2'],
    [['demo', '--dataplane', 'vxlan', '--dataplane', 'host-gw'], 'flag `--dataplane` of `podwire demo` takes one value'],
    [['run', '--profile', 'core', '--profile', 'strict'], 'flag `--profile` of `podwire run` takes one value, got 2: `core`, `strict`'],
    [['run', '--kubeconfig', 'a', '--kubeconfig', 'b'], 'flag `--kubeconfig` of `podwire run` takes one value'],
    [['judge', 'b', '--report-dir', 'x', '--report-dir', 'y'], 'flag `--report-dir` of `podwire judge` takes one value'],
    [['diff', 'a', 'b', '--format', 'text', '--format', 'json'], 'flag `--format` of `podwire diff` takes one value'],
    [['cleanup', '--context', 'a', '--context', 'b'], 'flag `--context` of `podwire cleanup` takes one value'],
  ])('%j: a repeated single-value flag is refused', (argv, message) => {
    expect(() => parseCommand(argv)).toThrow(UsageError);
    expect(() => parseCommand(argv)).toThrow(message);
  });

  test('no message carries internal noise such as the JavaScript type of a value', () => {
    for (const argv of [['lab', 'up', '--nodes', 'x'], ['lab', 'up', '--fault', 'nope'], ['lab', 'up', '--dataplane', 'x'], ['lab', 'sideways'], ['nope'], ['lab', 'up', '--mtu', '1'], ['lab', 'up', '--uplinks', 'x'], ['lab', 'up', '--name', 'X']]) {
      let msg = '';
      try {
        parseCommand(argv);
      } catch (err) {
        msg = (err as Error).message;
      }
      expect(msg, JSON.stringify(argv)).not.toBe('');
      expect(msg).not.toMatch(/\((string|number|undefined|object)\)/);
    }
  });
});
