// Which run namespaces `podwire cleanup` may delete: a run is live while its
// heartbeat (an annotation the run renews every few seconds) is fresh; a
// namespace whose run ended, died or lost its API is not. Pure: the command
// lists, decides here, then deletes.
import type { V1Namespace } from '@kubernetes/client-node';
import { ENDED_ANNOTATION, HEARTBEAT_ANNOTATION, HOLDER_ANNOTATION } from '../names.js';

/** How often a run renews its heartbeat. */
export const HEARTBEAT_MS = 5_000;
/** A heartbeat older than this is a dead run's (12 missed renewals; clocks must agree within it). */
export const STALE_AFTER_MS = 60_000;

export interface LeftoverDecision {
  namespace: string;
  delete: boolean;
  /** Why, in words: "not live: heartbeat 5 min ago", "live: heartbeat 3 s ago (host/pid 42)". */
  reason: string;
}

/** "3 s", "5 min", "2 h", "3 d". */
export function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86_400)} d`;
}

/** A duration as `--older-than` takes it: `90s`, `10m`, `2h`, `1d`, `1h30m`; undefined when it does not parse. */
export function parseDuration(v: string): number | undefined {
  const m = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(v);
  if (!m || v === '' || m.slice(1).every((x) => x === undefined)) return undefined;
  const [d, h, min, s] = m.slice(1).map((x) => Number(x ?? 0)) as [number, number, number, number];
  return (((d * 24 + h) * 60 + min) * 60 + s) * 1000;
}

const time = (v: string | undefined): number | undefined => {
  const t = v === undefined ? NaN : Date.parse(v);
  return Number.isFinite(t) ? t : undefined;
};

/**
 * Whether the process a holder annotation (`host pid N`) names still runs:
 * true or false when it is on this host, undefined when it is not (or the
 * annotation does not parse). Injected, so the decision stays pure.
 */
export type HolderCheck = (holder: string) => boolean | undefined;

/** Whether the run that owns `ns` is live at `now`, and why. A fresh heartbeat of a process known to be gone (it ran on this host) is not live: a run killed, or stopped by a second Ctrl-C, leaves one behind. */
export function liveness(ns: V1Namespace, now: number, staleMs = STALE_AFTER_MS, holderAlive?: HolderCheck): { live: boolean; why: string } {
  const a = ns.metadata?.annotations ?? {};
  const ended = time(a[ENDED_ANNOTATION]);
  if (ended !== undefined) return { live: false, why: `its run ended ${age(now - ended)} ago and kept it (--keep)` };
  const beat = time(a[HEARTBEAT_ANNOTATION]);
  if (beat === undefined) return { live: false, why: 'no heartbeat' };
  const holder = a[HOLDER_ANNOTATION] ? `, ${a[HOLDER_ANNOTATION]}` : '';
  if (now - beat >= staleMs) return { live: false, why: `heartbeat ${age(now - beat)} ago${holder}` };
  if (a[HOLDER_ANNOTATION] && holderAlive?.(a[HOLDER_ANNOTATION]) === false) return { live: false, why: `heartbeat ${age(now - beat)} ago, but its process (${a[HOLDER_ANNOTATION]}) is gone` };
  return { live: true, why: `heartbeat ${age(now - beat)} ago${holder}` };
}

/** What cleanup does with each run namespace: delete those not live, and with `olderThanMs` those created that long ago, live or not. */
export function decideLeftovers(namespaces: V1Namespace[], now: number, opts: { olderThanMs?: number; staleMs?: number; holderAlive?: HolderCheck } = {}): LeftoverDecision[] {
  return namespaces.map((ns) => {
    const name = ns.metadata?.name ?? '';
    const created = time(ns.metadata?.creationTimestamp instanceof Date ? ns.metadata.creationTimestamp.toISOString() : (ns.metadata?.creationTimestamp as string | undefined));
    const l = liveness(ns, now, opts.staleMs, opts.holderAlive);
    if (opts.olderThanMs !== undefined && created !== undefined && now - created >= opts.olderThanMs) {
      return { namespace: name, delete: true, reason: `created ${age(now - created)} ago, older than --older-than${l.live ? ` (live: ${l.why})` : ''}` };
    }
    if (!l.live) return { namespace: name, delete: true, reason: `not live: ${l.why}` };
    return { namespace: name, delete: false, reason: `live: ${l.why}${opts.olderThanMs !== undefined && created !== undefined ? `; created ${age(now - created)} ago` : ''}` };
  });
}
