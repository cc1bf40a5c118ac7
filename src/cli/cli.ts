// podwire's CLI, loaded by the entry point (main.ts) once the signal handlers are in: parse, check preconditions, dispatch. Errors end as
// one line on stderr and an exit code (0 ok, 1 failure, 2 usage/precondition).
// Command modules are imported when used: the Kubernetes client alone costs
// more than half a second of start-up that lab commands do not need.
import { setBeforeInterruptNotice, wasInterrupted } from './signals.js';
import { parseCommand, type Command } from './args.js';
import { helpFor } from './commands.js';
import { PreconditionError, RunAbortedError, UsageError } from '../errors.js';
import { Progress } from './progress.js';
import { labDownCommand, labFaultsCommand, labKubeconfigCommand, labListCommand, labPreflightCommand, labStatusCommand, labUpCommand, requireRoot } from './lab.js';

const out = new Progress(process.stderr);
// After an interrupt only its own lines are printed: the abandoned work's are noise.
const progress = (line: string) => {
  if (!wasInterrupted()) out.log(line);
};
const phase = (what: string, total: number) => (wasInterrupted() ? { update: () => undefined, end: () => undefined } : out.phase(what, total));
setBeforeInterruptNotice(() => out.end('(interrupted)'));
/** Help and summaries wrap at the terminal's width (at least 60); 100 when stdout is not a terminal. */
const width = () => (process.stdout.isTTY && process.stdout.columns ? Math.max(60, process.stdout.columns) : 100);

async function execute(cmd: Command): Promise<number> {
  switch (cmd.kind) {
    case 'help':
      console.log(helpFor(cmd.topic, width()));
      return 0;
    case 'version':
      console.log((await import('../version.js')).packageVersion());
      return 0;
    case 'lab-up':
      return labUpCommand(cmd, progress);
    case 'lab-down':
      return labDownCommand(cmd);
    case 'lab-faults':
      return labFaultsCommand(cmd);
    case 'lab-status':
      return labStatusCommand(cmd);
    case 'lab-kubeconfig':
      return labKubeconfigCommand(cmd);
    case 'lab-list':
      return labListCommand(cmd);
    case 'lab-preflight':
      return labPreflightCommand(cmd, progress);
    case 'run':
      return (await import('./run.js')).runRun(cmd.opts, { log: progress, phase }, width());
    case 'judge':
      return (await import('./run.js')).runJudge(cmd, width());
    case 'diff':
      return (await import('./diff.js')).runDiff(cmd);
    case 'cleanup':
      return (await import('./run.js')).runCleanup(cmd);
    case 'decode':
      return (await import('./decode.js')).runDecode(cmd);
    case 'demo':
      requireRoot('podwire demo');
      return (await import('./demo.js')).runDemo(cmd, { log: progress, phase }, width());
  }
}

export function exitCodeFor(err: unknown): number {
  return err instanceof UsageError || err instanceof PreconditionError ? 2 : 1;
}

async function main(): Promise<void> {
  let code: number;
  try {
    code = await execute(parseCommand(process.argv.slice(2)));
  } catch (err) {
    if (wasInterrupted()) return; // the interrupt handler reports and exits
    out.end(); // a phase's line on a terminal is finished before the error
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`podwire: ${msg.split('\n')[0]}\n`);
    if (process.env.PODWIRE_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    code = exitCodeFor(err);
    // Work the run abandoned (requests to a server that stopped answering) must not keep the process alive.
    if (err instanceof RunAbortedError) process.exit(code);
  }
  process.exitCode = code;
}

void main();
