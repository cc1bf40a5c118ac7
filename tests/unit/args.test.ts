import { describe, expect, test } from 'vitest';
import { UsageError, parseCommand } from '../../src/cli/args.js';

describe('podwire command line', () => {
  test.each([
    [['lab', 'up'], { kind: 'lab-up', name: 'podwire', nodes: 3, dataplane: 'host-gw', faults: [] }],
    [['lab', 'up', '--name', 'x1', '--nodes', '64', '--dataplane', 'vxlan', '--kubeconfig-out', '/tmp/k'],
      { kind: 'lab-up', name: 'x1', nodes: 64, dataplane: 'vxlan', faults: [], kubeconfigOut: '/tmp/k' }],
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
    [['lab', 'up', '--dataplane', 'foo'], 'expected `--dataplane` to be one of host-gw, vxlan, got `foo` (string)'],
    [['lab', 'up', '--name', 'has-hyphen'], 'got `has-hyphen`'],
    [['lab', 'up', '--name', 'a'.repeat(17)], '`--name`'],
    [['lab', 'up', '--frob'], 'unknown flag `--frob` for `podwire lab up` (valid: --name, --nodes, --dataplane, --fault, --kubeconfig-out)'],
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
