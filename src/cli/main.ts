#!/usr/bin/env node
// podwire's entry point: parse, check preconditions, dispatch. Errors end as
// one line on stderr and an exit code (0 ok, 1 failure, 2 usage/precondition).
// Command modules are imported when used: the Kubernetes client alone costs
// more than half a second of start-up that lab commands do not need.
import { HELP, parseCommand, type Command } from './args.js';
import { UsageError } from '../errors.js';
import { onInterrupt, wasInterrupted } from './signals.js';
import { PreconditionError } from '../errors.js';

const progress = (line: string) => process.stderr.write(`podwire: ${line}\n`);

function requireRoot(what: string): void {
  if (process.getuid?.() !== 0) throw new PreconditionError(`${what} needs root (network namespaces, CNI, iptables); run it with sudo`);
}

async function execute(cmd: Command): Promise<number> {
  switch (cmd.kind) {
    case 'help':
      console.log(HELP);
      return 0;
    case 'version':
      console.log((await import('../version.js')).packageVersion());
      return 0;
    case 'lab-up': {
      requireRoot('podwire lab up');
      const { labUp } = await import('../lab/up.js');
      const { labDown } = await import('../lab/down.js');
      const t0 = performance.now();
      const up = labUp({
        name: cmd.name, nodes: cmd.nodes, dataplane: cmd.dataplane, faults: cmd.faults, uplinks: cmd.uplinks, mtu: cmd.mtu, kubeconfigOut: cmd.kubeconfigOut,
        cniConfig: cmd.cniConfig, cniBinDir: cmd.cniBinDir, log: progress,
      });
      // An interrupt lets the build finish its current step, then removes everything.
      const release = onInterrupt(async () => {
        await up.catch(() => undefined);
        await labDown(cmd.name);
      });
      const r = await up;
      release();
      const cni = r.state.cniConfig ? `, CNI config ${r.state.cniConfig.source}` : '';
      console.log(`lab ${cmd.name} is up: ${cmd.nodes} node(s), ${cmd.dataplane}, uplinks ${cmd.uplinks}, mtu ${cmd.mtu}${cmd.faults.length ? `, faults ${cmd.faults.join(', ')}` : ''}${cni}, API ${r.api.url} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
      console.log(`kubeconfig: ${r.kubeconfig}`);
      console.log(`try: kubectl --kubeconfig ${r.kubeconfig} get nodes -o wide`);
      return 0;
    }
    case 'lab-down': {
      requireRoot('podwire lab down');
      const { allLabs, labDown } = await import('../lab/down.js');
      const names = cmd.all ? await allLabs() : [cmd.name!];
      for (const name of names) {
        const r = await labDown(name);
        if (!r.found && !cmd.all) {
          console.log(`no lab named ${name}: nothing to remove`);
          continue;
        }
        console.log(`lab ${name} removed: ${r.netnsRemoved.length} netns, ${r.processesKilled} process(es) killed${r.serverStopped ? ', API server stopped' : ''}`);
      }
      if (cmd.all && names.length === 0) console.log('no labs found');
      return 0;
    }
    case 'lab-faults': {
      const { FAULTS, faultsText } = await import('../lab/faults.js');
      console.log(cmd.json
        ? JSON.stringify(FAULTS.map(({ name, summary, models, dataplanes, caughtBy, undecided }) => ({ name, summary, models, dataplanes, caughtBy, undecided })), null, 2)
        : faultsText());
      return 0;
    }
    case 'lab-status': {
      const { formatStatus, labStatus } = await import('../lab/status.js');
      const s = await labStatus(cmd.name);
      console.log(cmd.json ? JSON.stringify(s, null, 2) : formatStatus(s));
      return s.api.healthy ? 0 : 1;
    }
    case 'lab-preflight': {
      const { LAB_REQUIREMENTS, TEST_REQUIREMENTS, preflight } = await import('../lab/preflight.js');
      const reqs = cmd.tests ? [...LAB_REQUIREMENTS, ...TEST_REQUIREMENTS] : LAB_REQUIREMENTS;
      const installed = await preflight(reqs, { install: cmd.install, log: progress });
      console.log(installed.length ? `installed: ${installed.join(' ')}` : 'all lab requirements are present');
      return 0;
    }
    case 'run':
      return (await import('./run.js')).runRun(cmd.argv, progress);
    case 'judge':
      return (await import('./run.js')).runJudge(cmd.argv);
    case 'diff':
      return (await import('./diff.js')).runDiff(cmd.argv);
    case 'cleanup':
      return (await import('./run.js')).runCleanup(cmd);
    case 'decode':
      return (await import('./decode.js')).runDecode(cmd);
    case 'demo':
      requireRoot('podwire demo');
      return (await import('./demo.js')).runDemo(cmd, progress);
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
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`podwire: ${msg.split('\n')[0]}\n`);
    if (process.env.PODWIRE_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    code = exitCodeFor(err);
  }
  process.exitCode = code;
}

void main();
