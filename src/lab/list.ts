// `lab list`: every lab on this machine, from its state and API endpoint
// files (a lab whose state is gone but whose netns remain is listed too, so
// `lab down` can be pointed at it).
import { allLabs } from './down.js';
import { labPlan } from './plan.js';
import { readApiEndpoint, readLabState } from './state.js';
import { table } from './status.js';
import { pidAlive } from './topology.js';

export interface LabListEntry {
  name: string;
  /** null: no state left (stray netns only). */
  nodes: number | null;
  dataplane: string | null;
  /** `--ip-family` (ipv4 for labs whose state predates it), with `--primary` for dual: `dual/ipv6`. */
  ipFamily: string | null;
  faults: string[];
  api: { url: string | null; running: boolean };
  createdAt: string | null;
}

export async function labList(): Promise<LabListEntry[]> {
  return Promise.all((await allLabs()).map(async (name): Promise<LabListEntry> => {
    const { stateDir } = labPlan(name, 1, 'host-gw');
    const state = await readLabState(stateDir).catch(() => undefined);
    const api = await readApiEndpoint(stateDir).catch(() => undefined);
    return {
      name,
      nodes: state?.nodes.length ?? null,
      dataplane: state?.dataplane ?? null,
      ipFamily: state ? ((state.ipFamily ?? 'ipv4') === 'dual' ? `dual/${state.primary ?? 'ipv4'}` : state.ipFamily ?? 'ipv4') : null,
      faults: state?.faults ?? [],
      api: { url: api?.url ?? null, running: !!api && pidAlive(api.pid) },
      createdAt: state?.createdAt ?? null,
    };
  }));
}

/** 45 s, 12 min, 3 h, 2 d. */
export function age(fromIso: string | null, now: number): string {
  const t = fromIso ? Date.parse(fromIso) : NaN;
  if (Number.isNaN(t)) return '-';
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 120) return `${s} s`;
  if (s < 120 * 60) return `${Math.round(s / 60)} min`;
  if (s < 48 * 3600) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86_400)} d`;
}

export function formatLabList(labs: LabListEntry[], now: number): string {
  if (!labs.length) return 'no labs (start one with `podwire lab up`)';
  return table(['NAME', 'NODES', 'DATAPLANE', 'FAMILY', 'FAULTS', 'API', 'AGE'], labs.map((l) => [
    l.name, l.nodes === null ? '-' : String(l.nodes), l.dataplane ?? '-', l.ipFamily ?? '-', l.faults.join(',') || '-',
    l.api.url ? `${l.api.url}${l.api.running ? '' : ' (not running)'}` : '-', age(l.createdAt, now),
  ]));
}
