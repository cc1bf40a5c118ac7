// The dataplane as the uplink captures show it, per path: which
// encapsulation carried pod traffic and what it cost per packet. Pure.
import type { FlowKind, FlowObservation, Sighting } from './model.js';

export interface PathFingerprint {
  path: 'same-node' | 'cross-node' | 'node-to-pod' | 'egress';
  encapsulation: string;
  /** Bytes added per packet by the encapsulation (outer minus inner IP length). */
  overheadBytes: number | null;
  samples: number;
  /** The IP family of the flows (runs covering more than one family fingerprint each). */
  family?: 4 | 6;
}

function describe(path: PathFingerprint['path'], sightings: Sighting[]): PathFingerprint {
  if (sightings.length === 0) return { path, encapsulation: 'unknown', overheadBytes: null, samples: 0 };
  const counts = new Map<string, number>();
  for (const s of sightings) {
    const k = s.encapsulation.length ? s.encapsulation.join('/') : 'none';
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  const encapsulation = [...counts].sort((a, b) => b[1] - a[1])[0]![0];
  const overheads = sightings.map((s) => s.overhead).filter((x): x is number => x !== undefined).sort((a, b) => a - b);
  return { path, encapsulation, overheadBytes: overheads.length ? overheads[Math.floor(overheads.length / 2)]! : encapsulation === 'none' ? 0 : null, samples: sightings.length };
}

export function fingerprint(obs: FlowObservation[]): PathFingerprint[] {
  // A flow may be seen on several devices as it leaves (a tunnel device, then the underlay NIC): the outermost is what crossed the wire.
  const wire = (o: FlowObservation) => o.atUplink.reduce<Sighting | undefined>((best, s) => (!best || s.encapsulation.length > best.encapsulation.length ? s : best), undefined);
  const uplink = (...kinds: FlowKind[]) => obs.filter((o) => kinds.includes(o.flow.kind)).flatMap((o) => { const s = wire(o); return s ? [s] : []; });
  const same = obs.filter((o) => o.flow.kind === 'pod-pod-same' && o.atReceiver.length > 0);
  return [
    // Same-node traffic does not leave the node: there is no uplink packet to look at.
    { path: 'same-node', encapsulation: same.length ? 'none (stays on the node)' : 'unknown', overheadBytes: same.length ? 0 : null, samples: same.length },
    describe('cross-node', uplink('pod-pod-cross')),
    describe('node-to-pod', uplink('host-pod-cross')),
    describe('egress', uplink('pod-external')),
  ];
}
