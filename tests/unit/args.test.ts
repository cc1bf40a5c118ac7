import { describe, expect, test } from 'vitest';
import { UsageError, parseCommand } from '../../src/cli/args.js';

describe('podwire command line', () => {
  test.each([
    [['lab', 'up'], { kind: 'lab-up', name: 'podwire', nodes: 3, dataplane: 'host-gw', uplinks: 'single', mtu: 1500, faults: [] }],
    [['lab', 'up', '--name', 'x1', '--nodes', '64', '--dataplane', 'vxlan', '--kubeconfig-out', '/tmp/k'],
      { kind: 'lab-up', name: 'x1', nodes: 64, dataplane: 'vxlan', uplinks: 'single', mtu: 1500, faults: [], kubeconfigOut: '/tmp/k' }],
    [['lab', 'up', '--uplinks', 'ecmp', '--mtu', '9000'], { kind: 'lab-up', name: 'podwire', nodes: 3, dataplane: 'host-gw', uplinks: 'ecmp', mtu: 9000, faults: [] }],
    [['lab', 'up', '--uplinks=policy', '--mtu=1280'], { kind: 'lab-up', name: 'podwire', nodes: 3, dataplane: 'host-gw', uplinks: 'policy', mtu: 1280, faults: [] }],
    [['lab', 'up', '--cni-config', 'my.conflist', '--cni-bin-dir', '/opt/cni/bin'],
      { kind: 'lab-up', name: 'podwire', nodes: 3, dataplane: 'host-gw', uplinks: 'single', mtu: 1500, faults: [], cniConfig: 'my.conflist', cniBinDir: '/opt/cni/bin' }],
    [['lab', 'down'], { kind: 'lab-down', name: 'podwire', all: false }],
    [['lab', 'down', '--all'], { kind: 'lab-down', all: true }],
    [['lab', 'status', '--json'], { kind: 'lab-status', name: 'podwire', json: true }],
    [['lab', 'preflight', '--install', '--tests'], { kind: 'lab-preflight', install: true, tests: true }],
    [['demo', '--dataplane', 'vxlan'], { kind: 'demo', nodes: 3, dataplane: 'vxlan', faults: [], keep: false }],
    [['demo', '--fault', 'no-egress-snat'], { kind: 'demo', nodes: 3, dataplane: 'host-gw', faults: ['no-egress-snat'], keep: false }],
    [[], { kind: 'help' }],
    [['--version'], { kind: 'version' }],
  ])('%j parses', (argv, want) => {
    expect(parseCommand(argv)).toEqual(want);
  });

  test.each([
    [['lab', 'up', '--nodes', '0'], 'expected `--nodes` to be an integer from 1 to 64, got `0` (string)'],
    [['lab', 'up', '--nodes', '1.5'], 'got `1.5`'],
    [['lab', 'up', '--nodes', '-3'], '`--nodes`'],
    [['lab', 'up', '--dataplane', 'foo'], 'expected `--dataplane` to be one of host-gw, vxlan, kindnet, calico, vpc, flannel, got `foo` (string)'],
    [['lab', 'up', '--name', 'has-hyphen'], 'got `has-hyphen`'],
    [['lab', 'up', '--name', 'a'.repeat(17)], '`--name`'],
    [['lab', 'up', '--frob'], 'unknown flag `--frob` for `podwire lab up` (valid: --name, --nodes, --dataplane, --uplinks, --mtu, --fault, --kubeconfig-out, --cni-config, --cni-bin-dir)'],
    [['lab', 'up', '--cni-bin-dir', '/opt/cni/bin'], '`--cni-bin-dir` goes with `--cni-config`'],
    [['lab', 'up', '--cni-config', ''], 'expected `--cni-config` to be a conflist file, got `` (empty)'],
    [['lab', 'up', '--cni-config', 'x.conflist', '--cni-bin-dir', ' '], 'expected `--cni-bin-dir` to be a directory'],
    [['lab', 'up', '--uplinks', 'bgp'], 'expected `--uplinks` to be one of single, ecmp, policy, got `bgp` (string)'],
    [['lab', 'up', '--uplinks', ''], 'expected `--uplinks` to be one of single, ecmp, policy, got `` (string)'],
    [['lab', 'up', '--mtu', '9001'], 'expected `--mtu` to be an integer from 1280 to 9000, got `9001` (string)'],
    [['lab', 'up', '--mtu', '1279'], 'got `1279`'],
    [['lab', 'up', '--mtu', '1500.0'], 'got `1500.0`'],
    [['lab', 'up', '--mtu', 'jumbo'], 'got `jumbo`'],
    [['lab', 'up', '--mtu'], '--mtu'],
    [['demo', '--mtu', '9000'], 'unknown flag `--mtu` for `podwire demo`'],
    [['lab', 'up', 'extra'], 'unexpected argument `extra`'],
    [['lab', 'up', '--nodes'], '--nodes'],
    [['lab', 'down', '--all', '--name', 'x'], 'not both'],
    [['lab'], 'unknown lab command'],
    [['nope'], 'unknown command `nope`'],
  ])('%j is refused: %s', (argv, message) => {
    expect(() => parseCommand(argv)).toThrow(UsageError);
    expect(() => parseCommand(argv)).toThrow(message);
  });
});
