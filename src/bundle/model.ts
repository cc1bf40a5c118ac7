// The run bundle (DESIGN §7): everything the judges need, as plain data.
// Collect writes it, judge reads it; a bundle alone reproduces a report.
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import type { ProfileChoice } from '../conformance/catalogue.js';
import type { Flow, Probe, ProbeInventory, SentFlow } from '../conformance/model.js';
import type { EgressSnat, ExternalTarget, NodeCoverage } from '../conformance/observations.js';
import type { Pairs } from '../conformance/flows.js';

export const BUNDLE_API_VERSION = 'podwire.dev/v1alpha1';

/** tcpdump's own counters at the end of a capture. */
export interface CaptureStats {
  captured?: number;
  receivedByFilter?: number;
  droppedByKernel?: number;
}

/**
 * True when the capture can prove an absence: the kernel dropped nothing and
 * the packet cap (tcpdump -c), if any, was not reached. Packets the filter
 * accepted but tcpdump did not write (received > captured, no drops) arrived
 * while it was being stopped, after the capture had been quiet with every
 * sender done: they are not packets of the run's flows.
 */
export function captureComplete(s: CaptureStats, maxPackets?: number): boolean {
  if (s.captured === undefined || s.droppedByKernel !== 0) return false;
  return maxPackets === undefined || s.captured < maxPackets;
}

/** run.json: the run's identity, options and cluster. */
export interface RunMeta {
  apiVersion: typeof BUNDLE_API_VERSION;
  kind: 'RunBundle';
  runId: string;
  startedAt: string;
  finishedAt: string;
  implementation: { tool: 'podwire'; version: string };
  cluster: { server: string; version: string };
  options: {
    profile: ProfileChoice;
    egressSnat: EgressSnat;
    only: string[];
    skip: string[];
    /** As given (`--external-target`, comma-separated when given once per family), or null. */
    externalTarget: string | null;
    /** `--ip-family`, when given. */
    ipFamily?: 'ipv4' | 'ipv6' | 'dual';
    probeImage: string;
    requireAllNodes: boolean;
    /** As given: all, sample:K, or auto (all up to 32 nodes). */
    pairs: string;
    /** `--concurrency`: the cap on concurrent API requests and execs (absent in older bundles). */
    concurrency?: number;
  };
  /** The external target the run used (given or advertised by the cluster), or null; with one per family, the first. */
  external: ExternalTarget | null;
  /** Every external target the run used, at most one per family (absent in bundles from before dual-stack). */
  externals?: ExternalTarget[];
  /** The IP families the run sent flows in (absent in bundles from before dual-stack: IPv4). */
  families?: (4 | 6)[];
  /** The node pairs the run sent cross-node flows between (`--pairs`, resolved: the seed of a sample is here). */
  pairs: Pairs;
  /**
   * What the run asked of the cluster: execs, API requests (each try of a
   * retried one counts) and the most calls in flight at once (`--concurrency`
   * caps them). Bundles from before `--concurrency` have only `execs`.
   */
  counts: { execs: number; apiRequests?: number; maxInFlight?: number; maxExecsInFlight?: number };
  /** How long each phase of the collection took, in ms (absent in bundles of older versions; never judged). */
  phases?: RunPhases;
}

/** Wall time per phase of a run, in ms: the API check, probes deployed and ready, inventory (captures started), sending, retrieving captures, deleting the namespace. */
export interface RunPhases {
  api?: number;
  deploy?: number;
  inventory?: number;
  send?: number;
  retrieve?: number;
  cleanup?: number;
}

/** api.json: the node and pod objects as the API's list calls returned them. */
export interface ApiSnapshot {
  nodes: { apiVersion: 'v1'; kind: 'NodeList'; items: V1Node[] };
  pods: { apiVersion: 'v1'; kind: 'PodList'; items: V1Pod[] };
}

/** probes.json: the probes, what each reported about itself, and which nodes were covered. */
export interface ProbesDoc {
  probes: Probe[];
  inventory: Record<string, ProbeInventory>;
  coverage: NodeCoverage[];
}

/** flows.json: the planned flows and what each sender reported. */
export interface FlowsDoc {
  flows: Flow[];
  sent: SentFlow[];
}

export interface CaptureMeta {
  probe: string;
  /** File name under captures/. */
  file: string;
  stats: CaptureStats;
  /** The packet cap the capture ran with (tcpdump -c), if any. */
  maxPackets?: number;
  bytes: number;
  sha256: string;
}

export interface BundleCapture extends CaptureMeta {
  data: Buffer;
}

export interface RunBundle {
  run: RunMeta;
  api: ApiSnapshot;
  probes: ProbesDoc;
  flows: FlowsDoc;
  captures: BundleCapture[];
}
