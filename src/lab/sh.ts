// Running host commands for the lab. Every command that touches the network
// is run inside a lab netns (`ip -n` / `ip netns exec`), never in the root one.
// node:child_process, not execa: importing execa alone took 0.25-0.4 s on a
// loaded 2-core machine, paid by every `lab` command and by the API server's
// start, which `lab up` waits for.
import { spawn } from 'node:child_process';

export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly exitCode: number | undefined,
    readonly stderr: string,
  ) {
    super(`\`${command}\` failed${exitCode === undefined ? '' : ` (exit ${exitCode})`}: ${stderr.trim().split('\n').slice(-3).join(' | ') || 'no output'}`);
  }
}

export interface RunOptions {
  input?: string;
  /** Run inside this network namespace. */
  netns?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
}

export interface Finished {
  /** Undefined when the process did not exit by itself (failed to start, timed out, killed by a signal). */
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  /** Why it has no exit code. */
  failure?: string;
}

/** Runs a command to its end, `input` on its stdin, `env` on top of ours; never rejects. */
export function spawnCollect(file: string, args: readonly string[], opts: { input?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<Finished> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { env: opts.env ? { ...process.env, ...opts.env } : process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
    }, opts.timeoutMs);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    // A command that exits without reading its stdin closes the pipe under us: not an error of ours.
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
    let startError: Error | undefined;
    child.on('error', (e) => (startError = e));
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      const failure = startError ? startError.message : timedOut ? `timed out after ${opts.timeoutMs} ms` : signal ? `killed by ${signal}` : undefined;
      resolve({ exitCode: failure ? undefined : (code ?? undefined), stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), ...(failure ? { failure } : {}) });
    });
  });
}

export async function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<string> {
  const argv = opts.netns ? ['ip', 'netns', 'exec', opts.netns, cmd, ...args] : [cmd, ...args];
  const [file, ...rest] = argv as [string, ...string[]];
  const result = await spawnCollect(file, rest, { ...(opts.input !== undefined ? { input: opts.input } : {}), ...(opts.env ? { env: opts.env } : {}), timeoutMs: opts.timeoutMs ?? 60_000 });
  if (result.exitCode !== 0) {
    throw new CommandError(argv.join(' '), result.exitCode, result.stderr || result.stdout || result.failure || `exit ${result.exitCode}`);
  }
  return result.stdout;
}

/** Runs a shell script inside a netns; `set -e` so the first failing step fails the whole. */
export function shIn(netns: string, script: string): Promise<string> {
  return run('sh', ['-e', '-c', script], { netns });
}

/** `ip -batch` in a netns (one fork for many link/addr/route commands). */
export function ipBatch(netns: string | undefined, lines: readonly string[]): Promise<string> {
  const args = netns ? ['-n', netns, '-batch', '-'] : ['-batch', '-'];
  return run('ip', args, { input: lines.join('\n') + '\n' });
}

export async function listNetns(): Promise<string[]> {
  const out = await run('ip', ['-j', 'netns', 'list']).catch(() => '');
  if (!out.trim()) return [];
  return (JSON.parse(out) as { name: string }[]).map((n) => n.name);
}

/** PIDs of every process whose network namespace is `netns`. */
export async function netnsPids(netns: string): Promise<number[]> {
  const out = await run('ip', ['netns', 'pids', netns]).catch(() => '');
  return out.split(/\s+/).filter(Boolean).map(Number).filter((n) => Number.isInteger(n) && n > 0);
}
