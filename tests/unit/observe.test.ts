// observe() on crafted captures (fixtures/crafted): the sightings behind
// decisive packets that carry no token (ICMP "fragmentation needed" quoting
// a full-size datagram, an unanswered ARP request).
import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { decodeCapture } from '../../src/capture/tcpdump.js';
import { observe } from '../../src/conformance/observe.js';
import type { Flow, Probe } from '../../src/conformance/model.js';
import { ROOT } from '../helpers/lab.js';

const packets = (name: string) => decodeCapture(readFileSync(`${ROOT}fixtures/crafted/${name}`));
const probes: Probe[] = [
  { name: 'a', node: 'n1', role: 'pod', ip: '10.244.1.2' },
  { name: 'b', node: 'n2', role: 'pod', ip: '198.51.100.10' },
];
const flow = (over: Partial<Flow>): Flow => ({ id: 'f1', token: 'podwire/x/f1', kind: 'pod-pod-mtu', proto: 'udp', from: 'a', to: 'b', dstIP: '198.51.100.10', dstPort: 9999, size: 1500, ...over });

test('an ICMP "fragmentation needed" quoting the datagram (src, dst, port) is found, with its MTU; another port is not', () => {
  const run = (f: Flow) => observe({
    flows: [f], probes, inventory: new Map(),
    sent: new Map([['f1', { id: 'f1', src: '10.244.1.2', exitCode: 0, reply: '' }]]),
    captures: [{ probe: 'a', packets: packets('icmp-errors.pcap'), complete: true }],
  }).observations[0]!;
  expect(run(flow({})).fragNeededAtSender).toEqual([expect.objectContaining({ capture: 'a', packet: 0, src: '172.18.0.1', dst: '10.244.1.2', icmpMtu: 1450 })]);
  expect(run(flow({ dstPort: 7173 })).fragNeededAtSender).toEqual([]);
  // Only full-size (MTU) flows look for it.
  expect(run(flow({ kind: 'pod-pod-cross' })).fragNeededAtSender).toEqual([]);
});

test('a flow of which nothing left names the ARP request the sender made for its destination', () => {
  const run = (src: string, dst: string) => observe({
    flows: [flow({ kind: 'pod-pod-same', dstIP: dst, size: undefined })], probes, inventory: new Map(),
    sent: new Map([['f1', { id: 'f1', src, exitCode: 1, reply: '' }]]),
    captures: [{ probe: 'a', packets: packets('arp.pcap'), complete: true }],
  }).observations[0]!.arpAtSender;
  expect(run('10.244.1.2', '10.244.1.1')).toEqual([{ capture: 'a', packet: 0, src: '10.244.1.2', dst: '10.244.1.1', encapsulation: [] }]);
  // Someone else's request, or a request for another address, is not this flow's.
  expect(run('10.244.1.9', '10.244.1.1')).toEqual([]);
  expect(run('10.244.1.2', '10.244.1.7')).toEqual([]);
});
