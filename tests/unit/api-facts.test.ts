// What the judges take from API objects (observations.ts) and the address
// arithmetic under the API checks (ip.ts): both families, edge forms.
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { describe, expect, test } from 'vitest';
import { cidrsOverlap, familyOf, inCidr, parseCidr } from '../../src/conformance/ip.js';
import { isLive, nodeFacts, podFacts, type ApiPod } from '../../src/conformance/observations.js';

describe('node facts', () => {
  test('InternalIP and ExternalIP are addresses (Hostname and InternalDNS are not); podCIDRs, else podCIDR, else none', () => {
    const n: V1Node = {
      metadata: { name: 'w1' },
      spec: { podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24', 'fd00:10:244:1::/64'] },
      status: { addresses: [{ type: 'Hostname', address: 'w1' }, { type: 'InternalIP', address: '10.0.0.5' }, { type: 'InternalDNS', address: 'w1.local' }, { type: 'ExternalIP', address: '203.0.113.5' }] },
    };
    expect(nodeFacts(n)).toEqual({ name: 'w1', addresses: ['10.0.0.5', '203.0.113.5'], podCIDRs: ['10.244.1.0/24', 'fd00:10:244:1::/64'] });
    expect(nodeFacts({ ...n, spec: { podCIDR: '10.244.1.0/24' } }).podCIDRs).toEqual(['10.244.1.0/24']);
    expect(nodeFacts({ ...n, spec: { podCIDR: '10.244.1.0/24', podCIDRs: [] } }).podCIDRs).toEqual(['10.244.1.0/24']);
    expect(nodeFacts({ ...n, spec: {} }).podCIDRs).toEqual([]);
    expect(nodeFacts({})).toEqual({ name: '', addresses: [], podCIDRs: [] });
  });
});

describe('pod facts', () => {
  const pod = (status: V1Pod['status'], spec: Partial<NonNullable<V1Pod['spec']>> = {}): V1Pod =>
    ({ metadata: { namespace: 'ns', name: 'p' }, spec: { containers: [], nodeName: 'w1', ...spec }, status });

  test.each([
    ['podIPs, in their order (IPv6 first on IPv6-first clusters)', { podIP: 'fd00::5', podIPs: [{ ip: 'fd00::5' }, { ip: '10.1.0.5' }] }, ['fd00::5', '10.1.0.5']],
    ['status.podIP when podIPs is absent (older API servers)', { podIP: '10.1.0.5' }, ['10.1.0.5']],
    ['status.podIP when podIPs is empty', { podIP: '10.1.0.5', podIPs: [] }, ['10.1.0.5']],
    ['podIPs entries without an ip are dropped', { podIPs: [{ ip: '' }, { ip: '10.1.0.6' }] }, ['10.1.0.6']],
    ['nothing before an IP is assigned', {}, []],
    ['nothing without a status', undefined, []],
  ] as const)('IPs: %s', (_, status, ips) => {
    expect(podFacts(pod(status as V1Pod['status'])).podIPs).toEqual(ips);
  });

  test('names, node, hostNetwork and phase; a pod without a phase counts as Pending; an unscheduled pod has no node', () => {
    expect(podFacts(pod({ phase: 'Running', podIP: '10.1.0.5' }, { hostNetwork: true }))).toEqual({ namespace: 'ns', name: 'p', hostNetwork: true, podIPs: ['10.1.0.5'], node: 'w1', phase: 'Running' });
    const bare = podFacts({});
    expect(bare).toEqual({ namespace: '', name: '', hostNetwork: false, podIPs: [], phase: 'Pending' });
    expect(bare).not.toHaveProperty('node');
    expect(podFacts(pod({}, { nodeName: '' }))).not.toHaveProperty('node');
  });

  test.each([
    ['Running', false, true],
    ['Pending', false, true],
    ['Unknown', false, true],
    ['Succeeded', false, false],
    ['Failed', false, false],
    ['Running', true, false],
  ] as const)('a %s pod (hostNetwork %s) is live: %s', (phase, hostNetwork, live) => {
    const p: ApiPod = { namespace: 'ns', name: 'p', hostNetwork, podIPs: ['10.1.0.5'], phase };
    expect(isLive(p)).toBe(live);
  });
});

describe('addresses and CIDRs', () => {
  test.each([
    ['10.244.1.2', 4], ['fd00:10:244:1::2', 6], ['::ffff:10.0.0.1', 6], ['::', 6], ['10.244.1.256', undefined], ['not-an-ip', undefined], ['', undefined], ['10.244.1.0/24', undefined],
  ] as const)('%s is of family %s', (ip, fam) => {
    expect(familyOf(ip)).toBe(fam);
  });

  test('a CIDR parses to its network address, cleared beyond the prefix', () => {
    expect(parseCidr('10.244.1.77/24')).toMatchObject({ family: 4, bits: 24 });
    expect(parseCidr('10.244.1.77/24')!.net.toString()).toBe('10.244.1.0');
    expect(parseCidr('fd00:10:244:1::9/64')!.net.toString()).toBe('fd00:10:244:1::');
    expect(parseCidr('fd00:10:244:1::9/64')).toMatchObject({ family: 6, bits: 64 });
    expect(parseCidr('10.244.1.0')).toBeUndefined();
    expect(parseCidr('10.244.1.0/33')).toBeUndefined();
    expect(parseCidr('garbage/8')).toBeUndefined();
  });

  test.each([
    ['10.244.1.2', '10.244.1.0/24', true],
    ['10.244.1.255', '10.244.1.0/24', true],
    ['10.244.2.0', '10.244.1.0/24', false],
    ['10.244.1.2', '10.244.1.77/24', true], // host bits in the CIDR do not matter
    ['10.244.1.2', '0.0.0.0/0', true],
    ['fd00:10:244:1::2', 'fd00:10:244:1::/64', true],
    ['fd00:10:244:2::2', 'fd00:10:244:1::/64', false],
    ['10.244.1.2', 'fd00:10:244:1::/64', false], // another family
    ['fd00:10:244:1::2', '10.244.1.0/24', false],
    ['::ffff:10.244.1.2', '10.244.1.0/24', false], // IPv4-mapped IPv6 is IPv6
    ['10.244.1.2', 'bad', false],
    ['bad', '10.244.1.0/24', false],
  ] as const)('%s in %s: %s', (ip, cidr, inside) => {
    expect(inCidr(ip, cidr)).toBe(inside);
  });

  test.each([
    ['10.244.1.0/24', '10.244.2.0/24', false],
    ['10.244.1.0/24', '10.244.1.0/24', true],
    ['10.244.0.0/16', '10.244.1.0/24', true], // one holds the other
    ['10.244.1.0/24', '10.244.0.0/16', true],
    ['10.244.1.128/25', '10.244.1.0/25', false],
    ['fd00:10:244:1::/64', 'fd00:10:244::/48', true],
    ['fd00:10:244::/48', 'fd00:10:244:1::/64', true],
    ['fd00:10:244:1::/64', 'fd00:10:244:2::/64', false],
    ['10.0.0.0/8', 'fd00::/8', false], // families never overlap
    ['10.0.0.0/8', 'bad', false],
    ['bad', '10.0.0.0/8', false],
  ] as const)('%s and %s overlap: %s', (a, b, overlap) => {
    expect(cidrsOverlap(a, b)).toBe(overlap);
  });
});
