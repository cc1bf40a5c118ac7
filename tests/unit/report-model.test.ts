// The report model's arithmetic: summaries per verdict and per profile, the
// exit code; and the dataplane fingerprint from uplink sightings.
import { describe, expect, test } from 'vitest';
import { fingerprint } from '../../src/conformance/fingerprint.js';
import type { CheckResult, FlowKind, FlowObservation, Profile, Sighting, Verdict } from '../../src/conformance/model.js';
import { exitCodeOf, summarize, summarizeProfiles, type ConformanceReport } from '../../src/report/model.js';

const check = (id: string, profile: Profile, result: Verdict): CheckResult => ({ id, title: id, rule: '', profile, result, reason: '', flows: [] });

describe('summaries', () => {
  test('counts each verdict, and the total', () => {
    expect(summarize([])).toEqual({ passed: 0, failed: 0, skipped: 0, inconclusive: 0, total: 0 });
    expect(summarize([check('a', 'core', 'passed'), check('b', 'core', 'failed'), check('c', 'strict', 'skipped'), check('d', 'extended', 'inconclusive'), check('e', 'core', 'passed')]))
      .toEqual({ passed: 2, failed: 1, skipped: 1, inconclusive: 1, total: 5 });
  });

  test('per profile, in profile order, only for profiles present', () => {
    const checks = [check('x', 'extended', 'failed'), check('a', 'core', 'passed'), check('b', 'core', 'inconclusive')];
    const s = summarizeProfiles(checks);
    expect(Object.keys(s)).toEqual(['core', 'extended']);
    expect(s).toEqual({
      core: { passed: 1, failed: 0, skipped: 0, inconclusive: 1, total: 2 },
      extended: { passed: 0, failed: 1, skipped: 0, inconclusive: 0, total: 1 },
    });
    expect(summarizeProfiles([check('s', 'strict', 'skipped')])).toEqual({ strict: { passed: 0, failed: 0, skipped: 1, inconclusive: 0, total: 1 } });
    expect(summarizeProfiles([])).toEqual({});
  });
});

describe('exit code', () => {
  const report = (summary: Partial<Record<Verdict, number>>, requireAllNodes: boolean, notCovered: number) => ({
    summary: { passed: 0, failed: 0, skipped: 0, inconclusive: 0, total: 0, ...summary },
    options: { requireAllNodes },
    coverage: { nodes: 3, covered: 3 - notCovered, notCovered: Array.from({ length: notCovered }, (_, i) => ({ node: `n${i}`, reason: 'x' })), leftOut: [] },
  }) as unknown as ConformanceReport;

  test.each([
    [{ passed: 5 }, false, 0, 0],
    [{ passed: 3, inconclusive: 1, skipped: 1 }, false, 0, 0], // inconclusive and skipped are reported, not failed
    [{ passed: 4, failed: 1 }, false, 0, 1],
    [{ passed: 5 }, false, 1, 0], // a node not covered is reported; the rest was judged
    [{ passed: 5 }, true, 1, 2], // unless every node is required
    [{ failed: 2 }, true, 1, 2],
    [{ failed: 2 }, true, 0, 1],
    [{ passed: 5 }, true, 0, 0],
  ] as const)('%j, --require-all-nodes %s, %i node(s) not covered: exit %i', (summary, requireAll, notCovered, code) => {
    expect(exitCodeOf(report(summary, requireAll, notCovered))).toBe(code);
  });
});

describe('dataplane fingerprint', () => {
  let n = 0;
  const obs = (kind: FlowKind, atUplink: Partial<Sighting>[], delivered = true): FlowObservation => ({
    flow: { id: `f${++n}`, token: `t${n}`, kind, proto: 'udp', from: 'a', to: 'b', dstIP: '10.0.0.2', dstPort: 1 },
    atReceiver: delivered ? [{ capture: 'b', src: '10.0.0.1', dst: '10.0.0.2', packet: 0, encapsulation: [] }] : [],
    atUplink: atUplink.map((s) => ({ capture: 'h', src: '10.0.0.1', dst: '10.0.0.2', packet: 0, encapsulation: [], ...s })),
    replyAtSender: [], atSender: [], answerAtSender: [], icmpAtSender: [], handshakeAtUplink: [], handshakeAtSender: [], synAtReceiver: [], synAckAtReceiver: [], synAckAtSender: [], arpAtSender: [],
  });

  test('nothing observed: every path unknown, no overhead, no samples', () => {
    expect(fingerprint([])).toEqual([
      { path: 'same-node', encapsulation: 'unknown', overheadBytes: null, samples: 0 },
      { path: 'cross-node', encapsulation: 'unknown', overheadBytes: null, samples: 0 },
      { path: 'node-to-pod', encapsulation: 'unknown', overheadBytes: null, samples: 0 },
      { path: 'egress', encapsulation: 'unknown', overheadBytes: null, samples: 0 },
    ]);
  });

  test('same-node traffic stays on the node: counted from delivered same-node flows only', () => {
    const fp = fingerprint([obs('pod-pod-same', []), obs('pod-pod-same', []), obs('pod-pod-same', [], false), obs('pod-pod-cross', [], true)]);
    expect(fp[0]).toEqual({ path: 'same-node', encapsulation: 'none (stays on the node)', overheadBytes: 0, samples: 2 });
  });

  test('each path is named by its most frequent encapsulation, one sample per flow: the outermost sighting (what crossed the wire), with the median overhead', () => {
    const fp = fingerprint([
      obs('pod-pod-cross', [{ encapsulation: ['geneve'], overhead: 58 }, { encapsulation: ['geneve'], overhead: 50 }]),
      obs('pod-pod-cross', [{ encapsulation: ['geneve'], overhead: 70 }, { encapsulation: [] }]),
      // Seen first on the tunnel device (inner packet), then on the underlay NIC (encapsulated): the NIC's counts.
      obs('pod-pod-cross', [{ encapsulation: [] }, { encapsulation: ['geneve'], overhead: 64 }]),
      obs('host-pod-cross', [{ encapsulation: ['vxlan'] }]),
      obs('pod-external', [{}, {}]),
      obs('pod-pod-mtu', [{ encapsulation: ['gre'], overhead: 24 }]),
      obs('pod-node', [{ encapsulation: ['gre'], overhead: 24 }]),
    ]);
    expect(fp.slice(1)).toEqual([
      { path: 'cross-node', encapsulation: 'geneve', overheadBytes: 64, samples: 3 },
      { path: 'node-to-pod', encapsulation: 'vxlan', overheadBytes: null, samples: 1 }, // tunnelled, overhead unmeasured
      { path: 'egress', encapsulation: 'none', overheadBytes: 0, samples: 1 },
    ]);
  });

  test('the most frequent encapsulation wins across flows; nested ones are named outer to inner; an even number of overheads takes the upper median', () => {
    const fp = fingerprint([
      obs('pod-pod-cross', [{ encapsulation: ['vxlan', 'esp'], overhead: 10 }]),
      obs('pod-pod-cross', [{ encapsulation: ['vxlan', 'esp'], overhead: 30 }]),
      obs('pod-pod-cross', [{ encapsulation: ['vxlan', 'esp'], overhead: 20 }]),
      obs('pod-pod-cross', [{ encapsulation: ['vxlan', 'esp'], overhead: 40 }]),
      obs('pod-pod-cross', [{ encapsulation: [] }]),
    ]);
    expect(fp[1]).toEqual({ path: 'cross-node', encapsulation: 'vxlan/esp', overheadBytes: 30, samples: 5 });
  });

  test('a flow seen encapsulated, then plain, counts as encapsulated: the outermost copy, not the last seen', () => {
    const fp = fingerprint([obs('pod-pod-cross', [{ encapsulation: ['vxlan'], overhead: 50 }, { encapsulation: [] }])]);
    expect(fp[1]).toEqual({ path: 'cross-node', encapsulation: 'vxlan', overheadBytes: 50, samples: 1 });
  });

  test('the most frequent encapsulation wins wherever its flows come in the run', () => {
    const fp = fingerprint([
      obs('pod-pod-cross', [{ encapsulation: [] }]),
      obs('pod-pod-cross', [{ encapsulation: ['vxlan'], overhead: 50 }]),
      obs('pod-pod-cross', [{ encapsulation: ['vxlan'], overhead: 50 }]),
      ...['gre', 'geneve', 'geneve', 'gre', 'geneve'].map((e) => obs('host-pod-cross', [{ encapsulation: [e] }])),
    ]);
    expect(fp[1]).toEqual({ path: 'cross-node', encapsulation: 'vxlan', overheadBytes: 50, samples: 3 });
    expect(fp[2]).toMatchObject({ path: 'node-to-pod', encapsulation: 'geneve', samples: 5 });
  });
});
