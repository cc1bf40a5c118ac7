// Running host commands for the lab. Every command that touches the network
// is run inside a lab netns (`ip -n` / `ip netns exec`), never in the root one.
import { execa } from 'execa';

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

export async function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<string> {
  const argv = opts.netns ? ['ip', 'netns', 'exec', opts.netns, cmd, ...args] : [cmd, ...args];
  const [file, ...rest] = argv as [string, ...string[]];
  const result = await execa(file, rest, {
    input: opts.input,
    env: opts.env,
    reject: false,
    timeout: opts.timeoutMs ?? 60_000,
    stripFinalNewline: false,
  });
  if (result.exitCode !== 0) {
    throw new CommandError(argv.join(' '), result.exitCode, String(result.stderr || result.stdout || result.shortMessage));
  }
  return String(result.stdout);
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
