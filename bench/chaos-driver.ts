// The chaos test's I/O: runs the built CLI as a user would, sends SIGINT or
// SIGTERM at a seeded moment of its measured duration, and looks for what it
// left: run namespaces and pods (through the lab's API), processes in the
// lab's netns, processes the command started (marked through their
// environment), files in its TMPDIR or /tmp named after its run, and for lab
// commands the lab's netns, state directory and API server. Only labs named
// with the caller's tag are ever looked at or removed.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadKube, type Kube } from '../src/kube/client.js';
import { STATE_ROOT } from '../src/lab/plan.js';
import { netnsPids } from '../src/lab/sh.js';
import { labNetns } from '../src/lab/topology.js';
import { exitProblems, phaseOf, type ChaosCommand, type ChaosOutcome, type Met, type Moment } from './chaos-plan.js';

/** The built CLI next to this file once compiled (dist/bench → dist/src/cli); tests pass their own. */
export const CHAOS_CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
/** Small labs: interrupts are about timing, not scale. */
const NODES = '2';

interface Finished {
  code: number | null;
  signal: string | null;
  /** stderr lines with the ms after the start each arrived. */
  lines: { ms: number; text: string }[];
  stdout: string;
  ms: number;
}

/** Runs the CLI; `killAtMs` sends `signal` then (once). */
function runCli(cli: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; killAtMs?: number; signal?: NodeJS.Signals; timeoutMs?: number }): Promise<Finished & { sentAtMs?: number; exitedBeforeSignal: boolean }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [cli, ...args], { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: { ms: number; text: string }[] = [];
    let partial = '';
    let stdout = '';
    let exited = false;
    let sentAtMs: number | undefined;
    child.stderr.on('data', (d: Buffer) => {
      partial += d.toString();
      const parts = partial.split('\n');
      partial = parts.pop()!;
      for (const text of parts) lines.push({ ms: performance.now() - t0, text });
    });
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const killer = opts.killAtMs === undefined ? undefined : setTimeout(() => {
      if (exited) return;
      sentAtMs = performance.now() - t0;
      child.kill(opts.signal ?? 'SIGINT');
    }, opts.killAtMs);
    const guard = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 300_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      exited = true;
      clearTimeout(killer);
      clearTimeout(guard);
      if (partial) lines.push({ ms: performance.now() - t0, text: partial });
      resolve({ code, signal, lines, stdout, ms: performance.now() - t0, ...(sentAtMs !== undefined ? { sentAtMs } : {}), exitedBeforeSignal: opts.killAtMs !== undefined && sentAtMs === undefined });
    });
  });
}

/** PIDs of live processes whose environment holds `mark` (everything the command started, detached or not, that kept its environment). */
function markedProcesses(mark: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    if (Number(pid) === process.pid) continue;
    try {
      if (!readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(`PODWIRE_CHAOS_MARK=${mark}`)) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z') continue;
      found.push(`${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim().slice(0, 120)}`);
    } catch {
      /* gone meanwhile */
    }
  }
  return found;
}

/** Processes whose command line names `text` (a lab's state directory: its API server). */
function processesNaming(text: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmd.split('\0').includes(text)) found.push(`${pid} ${cmd.replaceAll('\0', ' ').trim().slice(0, 120)}`);
    } catch {
      /* gone */
    }
  }
  return found;
}

async function labProcessPids(lab: string): Promise<number[]> {
  return (await Promise.all((await labNetns(lab)).map(netnsPids))).flat();
}

export interface ChaosOptions {
  /** One lowercase letter: every lab is named `<tag>cz...`. */
  tag: string;
  seed: number;
  log?: (line: string) => void;
}

export class ChaosRunner {
  readonly runLab: string;
  private kube!: Kube;
  private readonly work: string;
  private durations: Partial<Record<ChaosCommand, number>> = {};
  private readonly log: (line: string) => void;

  constructor(private readonly opts: ChaosOptions, private readonly cli = CHAOS_CLI) {
    if (!/^[a-z]$/.test(opts.tag)) throw new Error(`the chaos lab tag must be one lowercase letter, got ${JSON.stringify(opts.tag)}`);
    this.runLab = `${opts.tag}czrun`;
    this.work = join(tmpdir(), `podwire-chaos-${opts.seed}-${process.pid}`);
    this.log = opts.log ?? (() => undefined);
  }

  private labName(i: number): string {
    return `${this.opts.tag}cz${i}`;
  }

  private async podwire(args: string[], env?: NodeJS.ProcessEnv, cwd?: string): Promise<Finished> {
    const r = await runCli(this.cli, args, { ...(env ? { env } : {}), ...(cwd ? { cwd } : {}) });
    if (r.code !== 0) throw new Error(`podwire ${args.join(' ')} exited ${r.code ?? r.signal}: ${r.lines.map((l) => l.text).join(' | ')}`);
    return r;
  }

  private get kubeconfig(): string {
    return `${STATE_ROOT}/${this.runLab}/kubeconfig`;
  }

  /** The lab runs are interrupted on, and each command's duration, measured once uninterrupted. */
  async setup(): Promise<Record<ChaosCommand, number>> {
    mkdirSync(this.work, { recursive: true });
    await runCli(this.cli, ['lab', 'down', '--name', this.runLab], {});
    await this.podwire(['lab', 'up', '--name', this.runLab, '--nodes', NODES]);
    this.kube = loadKube({ kubeconfig: this.kubeconfig });
    const probe = this.labName(0);
    await runCli(this.cli, ['lab', 'down', '--name', probe], {});
    const up = await this.podwire(['lab', 'up', '--name', probe, '--nodes', NODES]);
    const down = await this.podwire(['lab', 'down', '--name', probe]);
    const run = await this.podwire(['run', '--kubeconfig', this.kubeconfig, '--report-dir', join(this.work, 'measure')]);
    const demoDir = join(this.work, 'measure-demo');
    mkdirSync(demoDir, { recursive: true });
    const demo = await runCli(this.cli, ['demo', '--name', probe, '--nodes', NODES], { cwd: demoDir });
    // A demo's exit is its run's verdict (1 when a check failed); it must have finished, whatever it judged.
    if (demo.code !== 0 && demo.code !== 1) throw new Error(`the measuring demo exited ${demo.code ?? demo.signal}: ${demo.lines.map((l) => l.text).join(' | ')}`);
    this.durations = { run: run.ms, 'lab up': up.ms, 'lab down': down.ms, demo: demo.ms };
    return this.durations as Record<ChaosCommand, number>;
  }

  /** Nothing of a run left in the run lab: no namespace or pod with the run label. */
  private async runLeftovers(): Promise<string[]> {
    const ns = await this.kube.core.listNamespace({ labelSelector: 'podwire.dev/run' });
    const pods = await this.kube.core.listPodForAllNamespaces({ labelSelector: 'podwire.dev/run' });
    return [...ns.items.map((n) => `namespace ${n.metadata?.name}`), ...pods.items.map((p) => `pod ${p.metadata?.namespace}/${p.metadata?.name}`)];
  }

  /** A lab must be wholly gone: netns, state directory, API server. */
  private async labLeftovers(name: string): Promise<string[]> {
    const dir = `${STATE_ROOT}/${name}`;
    return [
      ...(await labNetns(name)).map((n) => `netns ${n}`),
      ...(existsSync(dir) ? [`state directory ${dir}`] : []),
      ...processesNaming(dir).map((p) => `process ${p}`),
    ];
  }

  /** What is missing from a whole lab of NODES nodes: its netns, state, API server. */
  private async labNotWhole(name: string): Promise<string[]> {
    const dir = `${STATE_ROOT}/${name}`;
    const netns = await labNetns(name);
    return [
      ...(netns.length === Number(NODES) + 2 ? [] : [`${netns.length} netns`]),
      ...(existsSync(`${dir}/state.json`) ? [] : ['no state.json']),
      ...(processesNaming(dir).length ? [] : ['no API server']),
    ];
  }

  /** Files of a run outside its report directory: in its TMPDIR, or in /tmp under its run id. */
  private fileLeftovers(tmp: string, runIds: string[]): string[] {
    const inTmp = existsSync(tmp) ? readdirSync(tmp).map((f) => `file ${join(tmp, f)}`) : [];
    const named = runIds.length ? readdirSync('/tmp').filter((f) => runIds.some((id) => f.includes(id))).map((f) => `file /tmp/${f}`) : [];
    return [...inTmp, ...named];
  }

  async interrupt(m: Moment): Promise<ChaosOutcome> {
    const duration = this.durations[m.command];
    if (duration === undefined) throw new Error('setup() first');
    const mark = `${this.opts.seed}-${m.i}-${process.pid}`;
    const tmp = join(this.work, `tmp-${m.i}`);
    mkdirSync(tmp, { recursive: true });
    const env = { ...process.env, TMPDIR: tmp, PODWIRE_CHAOS_MARK: mark };
    const name = this.labName(m.i);
    let args: string[];
    let cwd: string | undefined;
    let before: number[] = [];
    switch (m.command) {
      case 'run':
        before = await labProcessPids(this.runLab);
        args = ['run', '--kubeconfig', this.kubeconfig, '--report-dir', join(this.work, `r-${m.i}`)];
        break;
      case 'lab up':
        args = ['lab', 'up', '--name', name, '--nodes', NODES];
        break;
      case 'lab down':
        // The lab to tear down carries the mark too: every process of it must be gone afterwards.
        await this.podwire(['lab', 'up', '--name', name, '--nodes', NODES], env);
        args = ['lab', 'down', '--name', name];
        break;
      case 'demo':
        cwd = join(this.work, `d-${m.i}`);
        mkdirSync(cwd, { recursive: true });
        args = ['demo', '--name', name, '--nodes', NODES];
        break;
    }
    const killAtMs = Math.round(m.at * duration);
    const r = await runCli(this.cli, args, { env, killAtMs, signal: m.signal, ...(cwd ? { cwd } : {}) });
    const sentAt = r.sentAtMs ?? killAtMs;
    // A lab announced on stdout is the user's: a signal after that is not the build's to undo.
    const announced = m.command === 'lab up' && /^lab \S+ is up: /m.test(r.stdout);
    // Killed by the signal's default action: before podwire's code ran (nothing printed yet), or once the command had printed its result.
    const killed = r.code === null && r.signal === m.signal;
    const met: Met = r.exitedBeforeSignal ? 'exited' : killed ? (r.stdout.trim() ? 'killed at exit' : 'killed') : 'handled';
    const phase = announced && met === 'handled' ? 'after up' : phaseOf(m.command, r.lines.filter((l) => l.ms <= sentAt || / stopped before any work began$/.test(l.text)).map((l) => l.text), met);
    const runIds = r.lines.map((l) => /^podwire: run (\w+): /.exec(l.text)?.[1]).filter((x): x is string => !!x);
    const leftovers: string[] = [];
    if (m.command === 'run') {
      leftovers.push(...(await this.runLeftovers()));
      const now = await labProcessPids(this.runLab);
      leftovers.push(...now.filter((p) => !before.includes(p)).map((p) => `process ${p} in lab ${this.runLab}: ${readCmdline(p)}`));
    } else if (m.command === 'lab down' && !(phase === 'after exit' || phase === 'teardown' || phase === 'node shutdown')) {
      // Stopped before the teardown began (killed while Node started, or handled before the command's work): the lab must be whole, not half.
      leftovers.push(...(await this.labNotWhole(name)).map((p) => `lab ${name} not whole after a lab down that never started: ${p}`));
    } else if (!announced) {
      leftovers.push(...(await this.labLeftovers(name)));
    }
    // The processes of a lab left whole on purpose (a lab up that finished, a lab down that never began) are not
    // leftovers; every other process the command started is.
    const whole = announced || (m.command === 'lab down' && !(phase === 'after exit' || phase === 'teardown' || phase === 'node shutdown'));
    leftovers.push(...(whole ? [] : markedProcesses(mark).map((p) => `process ${p}`)), ...this.fileLeftovers(tmp, runIds));
    const outcome: ChaosOutcome = { moment: m, atMs: Math.round(sentAt), phase, exit: { code: r.code, signal: r.signal }, leftovers, problems: [] };
    outcome.problems = exitProblems(outcome);
    const tail = r.lines.slice(-3).map((l) => l.text).join(' | ');
    this.log(`#${m.i} ${m.command} ${m.signal} at ${outcome.atMs} ms (${phase}): exit ${r.code ?? r.signal}${leftovers.length || outcome.problems.length ? `; LEFT ${[...outcome.problems, ...leftovers].join('; ')} [${tail}]` : ', clean'}`);
    await this.sweep(m, name, mark);
    rmSync(tmp, { recursive: true, force: true });
    return outcome;
  }

  /** Removes whatever the interrupt left (after it was recorded), so the next moment starts clean. */
  private async sweep(m: Moment, name: string, mark: string): Promise<void> {
    if (m.command === 'run') {
      if ((await this.runLeftovers()).length) await runCli(this.cli, ['cleanup', '--kubeconfig', this.kubeconfig], {});
    } else {
      await runCli(this.cli, ['lab', 'down', '--name', name], {});
    }
    for (const p of markedProcesses(mark)) {
      try {
        process.kill(Number(p.split(' ')[0]), 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }

  async teardown(): Promise<void> {
    await runCli(this.cli, ['lab', 'down', '--name', this.runLab], {});
    rmSync(this.work, { recursive: true, force: true });
  }
}

function readCmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim().slice(0, 120);
  } catch {
    return '(gone)';
  }
}
