// SIGINT/SIGTERM for every command. A command that creates things registers
// a scope: the first signal aborts the scope's work (pending API calls and
// execs are cut, no new step starts), runs its cleanup once and exits 130
// (SIGINT) or 143 (SIGTERM). A second signal during the cleanup exits at once,
// after one line saying what may be left and the command that removes it.
// Outside a scope a signal just exits with that code: nothing to undo.
import { setMaxListeners } from 'node:events';
import { InterruptedError } from '../errors.js';

export interface InterruptScope {
  /** Undoes what the command did so far; runs once, after the scope's signal was aborted. */
  cleanup: () => Promise<void>;
  /** What may be left if the cleanup does not finish, with the command that removes it; undefined when nothing would be. */
  leftover: () => string | undefined;
  /** The line after "podwire: SIGINT: " (default "stopping; cleaning up"). */
  notice?: string;
}

export const exitCodeOfSignal = (sig: NodeJS.Signals): number => (sig === 'SIGINT' ? 130 : 143);

let interrupted = false;
let current: (InterruptScope & { ctl: AbortController }) | undefined;
let cleaning: InterruptScope | undefined;
let beforeNotice: () => void = () => undefined;
let exit: (code: number) => void = (code) => process.exit(code);
let installed = false;
/** A scope was opened and closed: a signal now comes after the work, not before it. */
let released = false;

/** True once a signal stopped the command: later errors of the abandoned work are noise. */
export const wasInterrupted = () => interrupted;

/** Called before an interrupt's line, e.g. to finish a progress line it would otherwise be written into. */
export function setBeforeInterruptNotice(fn: () => void): void {
  beforeNotice = fn;
}

function say(line: string): void {
  beforeNotice();
  process.stderr.write(`podwire: ${line}\n`);
}

/** What a SIGINT or SIGTERM does (exported for tests, which call it instead of signalling their own process). */
export function handleSignal(sig: NodeJS.Signals): void {
  const code = exitCodeOfSignal(sig);
  if (cleaning) {
    const left = cleaning.leftover();
    say(`${sig} again: stopped the cleanup; ${left ? `may be left: ${left}` : 'nothing should be left'}`);
    exit(code);
    return;
  }
  interrupted = true;
  const scope = current;
  if (!scope) {
    say(`${sig}: stopped ${released ? 'after the work was done' : 'before any work began'}`);
    exit(code);
    return;
  }
  cleaning = scope;
  scope.ctl.abort(new InterruptedError(sig));
  say(`${sig}: ${scope.notice ?? 'stopping; cleaning up'} (${sig === 'SIGINT' ? 'Ctrl-C' : 'a signal'} again exits at once)`);
  void scope.cleanup()
    .catch((err: unknown) => {
      const left = scope.leftover();
      say(`cleanup failed: ${(err as Error).message.split('\n')[0]}${left ? `; may be left: ${left}` : ''}`);
    })
    .finally(() => exit(code));
}

/** Installs the process's SIGINT/SIGTERM handlers (once, before any work). */
export function installInterruptHandlers(): void {
  if (installed) return;
  installed = true;
  process.on('SIGINT', handleSignal);
  process.on('SIGTERM', handleSignal);
}

/**
 * Opens the command's scope: its `signal` is aborted by the first SIGINT or
 * SIGTERM (with an InterruptedError as reason), which then runs `cleanup`.
 * `release()` closes the scope once the work and its own cleanup are done.
 */
export function onInterrupt(scope: InterruptScope): { signal: AbortSignal; release: () => void } {
  installInterruptHandlers();
  const entry = { ...scope, ctl: new AbortController() };
  // Every pending call of a run listens to it.
  setMaxListeners(0, entry.ctl.signal);
  current = entry;
  return {
    signal: entry.ctl.signal,
    release: () => {
      if (current === entry) current = undefined;
      released = true;
    },
  };
}

/** Races `p` with the deadline: a cleanup waits for in-flight work to settle, but never for long. */
export function settledWithin(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p.then(() => undefined, () => undefined), new Promise<void>((r) => (timer = setTimeout(r, ms)))]).finally(() => clearTimeout(timer));
}

/** For tests: replace process.exit and reset the module's state. */
export function resetInterruptsForTest(exitFn: (code: number) => void): void {
  exit = exitFn;
  interrupted = false;
  current = undefined;
  cleaning = undefined;
  released = false;
}
