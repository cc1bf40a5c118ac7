// The chaos test's pure part: seeded moments (which command, when, which
// signal), the phase an interrupt landed in (read from the progress lines the
// command printed before it), and the tally by command and phase.

export const CHAOS_COMMANDS = ['run', 'lab up', 'lab down', 'demo'] as const;
export type ChaosCommand = (typeof CHAOS_COMMANDS)[number];

/** Share of the moments per command: runs are the cheapest to repeat on one lab and have the most phases. */
const WEIGHTS: Record<ChaosCommand, number> = { run: 4, 'lab up': 2, 'lab down': 2, demo: 2 };

export interface Moment {
  /** 1-based position in the plan. */
  i: number;
  command: ChaosCommand;
  /** When the signal is sent, as a share of the command's measured duration (0 ≤ at < 1). */
  at: number;
  signal: 'SIGINT' | 'SIGTERM';
}

import { seededRandom } from './seeded-random.js';

export { seededRandom };

/** `n` moments from `seed`: the same seed gives the same plan. */
export function planMoments(seed: number, n: number): Moment[] {
  const rnd = seededRandom(seed);
  const total = CHAOS_COMMANDS.reduce((s, c) => s + WEIGHTS[c], 0);
  const pick = (): ChaosCommand => {
    let x = rnd() * total;
    for (const c of CHAOS_COMMANDS) {
      x -= WEIGHTS[c];
      if (x < 0) return c;
    }
    return CHAOS_COMMANDS[CHAOS_COMMANDS.length - 1]!;
  };
  return Array.from({ length: n }, (_, k) => {
    const command = pick();
    const at = rnd();
    return { i: k + 1, command, at, signal: rnd() < 0.5 ? 'SIGINT' : 'SIGTERM' };
  });
}

/** A seed from the environment (PODWIRE_CHAOS_SEED), or a fresh one; the caller prints it. */
export function chaosSeed(env: string | undefined, fresh: () => number): number {
  if (env === undefined || env === '') return fresh();
  const n = Number(env);
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`expected PODWIRE_CHAOS_SEED to be an integer from 0 to 4294967295, got \`${env}\``);
  return n;
}

/** A count from the environment (PODWIRE_CHAOS_N), or the default. */
export function chaosCount(env: string | undefined, fallback: number): number {
  if (env === undefined || env === '') return fallback;
  const n = Number(env);
  if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new Error(`expected PODWIRE_CHAOS_N to be an integer from 1 to 10000, got \`${env}\``);
  return n;
}

/** Progress lines (without the `podwire: ` prefix) that start a phase, per command; the first match of the last line wins. */
const RUN_PHASES: [RegExp, string][] = [
  [/^deleting namespace /, 'namespace deletion'],
  [/^captures retrieved /, 'judge and write'],
  [/^senders done /, 'retrieve'],
  [/^sending \d+ flows/, 'send'],
  [/^inventory: /, 'inventory'],
  [/^probes ready /, 'inventory'],
  [/^deploying \d+ probes/, 'deploy'],
  [/^run \w+: /, 'namespace'],
];
const LAB_PHASES: [RegExp, string][] = [
  [/^starting the API server/, 'API server'],
  [/^building \d+ node/, 'build'],
];

/**
 * How the process met the signal: it had exited already; the signal's
 * default action killed it while Node was still starting (podwire's handlers
 * not yet in) or while Node was shutting down after the command had done its
 * work and printed its result (the handlers are gone by then); or podwire
 * handled it.
 */
export type Met = 'exited' | 'killed' | 'killed at exit' | 'handled';

/** The phase an interrupt landed in, from the command's progress lines before the signal ("start": handled before the first line). */
export function phaseOf(command: ChaosCommand, linesBefore: readonly string[], met: Met): string {
  if (met === 'exited') return 'after exit';
  if (met === 'killed') return 'node start-up';
  if (met === 'killed at exit') return 'node shutdown';
  // A phase line ended by the interrupt itself ("senders done 2/6 (0.4 s) (interrupted)") says where it stopped, not what had finished.
  const lines = linesBefore.filter((l) => !l.endsWith(' (interrupted)')).map((l) => l.replace(/^podwire: /, ''));
  const last = (table: [RegExp, string][], from: readonly string[]) => {
    for (let k = from.length - 1; k >= 0; k--) {
      const hit = table.find(([re]) => re.test(from[k]!));
      if (hit) return hit[1];
    }
    return undefined;
  };
  switch (command) {
    case 'lab down':
      return lines.some((l) => / stopped before any work began$/.test(l)) ? 'before teardown' : 'teardown';
    case 'lab up':
      return last(LAB_PHASES, lines) ?? 'start';
    case 'run':
      return last(RUN_PHASES, lines) ?? 'start';
    case 'demo': {
      // The demo's lines: the lab's build, then "lab X up in", the run's, then the teardown.
      const upAt = lines.findIndex((l) => /^lab \S+ up in /.test(l));
      if (upAt < 0) return `lab: ${last(LAB_PHASES, lines) ?? 'start'}`;
      if (lines.some((l) => /^lab \S+ removed/.test(l))) return 'after exit';
      const run = last(RUN_PHASES, lines.slice(upAt + 1)) ?? 'API check';
      return run === 'judge and write' || run === 'namespace deletion' ? 'run: end, lab teardown' : `run: ${run}`;
    }
  }
}

export interface ChaosOutcome {
  moment: Moment;
  /** ms after the start when the signal was sent. */
  atMs: number;
  phase: string;
  /** Exit code, or the signal that killed it (before its handlers were installed). */
  exit: { code: number | null; signal: string | null };
  /** What was found left behind; empty when clean. */
  leftovers: string[];
  /** What is wrong with how it ended (exit status), if anything. */
  problems: string[];
}

export interface TallyRow {
  command: ChaosCommand;
  phase: string;
  clean: number;
  leftover: number;
}

/** Interrupts by command and phase: clean (nothing left, right exit) or not. Stable order: command, then phase. */
export function tally(outcomes: readonly ChaosOutcome[]): TallyRow[] {
  const rows = new Map<string, TallyRow>();
  for (const o of outcomes) {
    const key = `${o.moment.command}\0${o.phase}`;
    const row = rows.get(key) ?? { command: o.moment.command, phase: o.phase, clean: 0, leftover: 0 };
    if (o.leftovers.length || o.problems.length) row.leftover++;
    else row.clean++;
    rows.set(key, row);
  }
  const order = (c: ChaosCommand) => CHAOS_COMMANDS.indexOf(c);
  return [...rows.values()].sort((a, b) => order(a.command) - order(b.command) || (a.phase < b.phase ? -1 : a.phase > b.phase ? 1 : 0));
}

/**
 * How the exit should look: 130 for SIGINT, 143 for SIGTERM. A process the
 * signal itself killed (Node still starting, before podwire's first line of
 * code installed its handlers, or shutting down once the work was done) is
 * accepted; what it left is checked apart.
 */
export function exitProblems(o: Pick<ChaosOutcome, 'moment' | 'phase' | 'exit'>): string[] {
  const want = o.moment.signal === 'SIGINT' ? 130 : 143;
  if (o.phase === 'after exit') return o.exit.code === 0 ? [] : [`exited ${o.exit.code ?? o.exit.signal} before the signal`];
  // `lab up` had announced its lab: exit 0 if it ended first, else the signal's code.
  if (o.phase === 'after up' && o.exit.code === 0) return [];
  if (o.exit.code === want) return [];
  if (o.exit.signal === o.moment.signal && (o.phase === 'node start-up' || o.phase === 'node shutdown')) return [];
  return [`expected exit ${want} after ${o.moment.signal}, got ${o.exit.code ?? `killed by ${o.exit.signal}`}`];
}
