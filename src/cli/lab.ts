// `podwire lab ...`: the lab commands' output and their checks before work.
import { PreconditionError } from '../errors.js';
import { onInterrupt } from './signals.js';
import { checkOutputFile } from './output-file.js';
import type { Command } from './args.js';
import { describeAdmission } from '../lab/admission-options.js';

type Cmd<K extends Command['kind']> = Extract<Command, { kind: K }>;

export function requireRoot(what: string): void {
  if (process.getuid?.() !== 0) throw new PreconditionError(`${what} needs root (network namespaces, CNI, iptables); run it with sudo`);
}

export async function labUpCommand(cmd: Cmd<'lab-up'>, progress: (s: string) => void): Promise<number> {
  requireRoot('podwire lab up');
  const kubeconfigOut = cmd.kubeconfigOut !== undefined ? await checkOutputFile(cmd.kubeconfigOut, '--kubeconfig-out', cmd.force) : undefined;
  const { familyText, labUp } = await import('../lab/up.js');
  const { labDown } = await import('../lab/down.js');
  const t0 = performance.now();
  // An interrupt stops the build at its next step; labUp then removes what it built before it rejects.
  let up: Promise<unknown> | undefined;
  const { signal, release } = onInterrupt({
    cleanup: async () => {
      // A build that came up all the same (the signal landed after its last step) is removed here.
      if (await up?.then(() => true, () => false)) await labDown(cmd.name);
    },
    leftover: () => labLeftover(cmd.name),
  });
  let r: Awaited<ReturnType<typeof labUp>>;
  try {
    const building = labUp({
      name: cmd.name, nodes: cmd.nodes, dataplane: cmd.dataplane, faults: cmd.faults, uplinks: cmd.uplinks, mtu: cmd.mtu, ipFamily: cmd.ipFamily,
      ...(cmd.primary ? { primary: cmd.primary } : {}),
      ...(kubeconfigOut ? { kubeconfigOut, force: cmd.force } : {}), cniConfig: cmd.cniConfig, cniBinDir: cmd.cniBinDir, ...(cmd.admission ? { admission: cmd.admission } : {}), log: progress, signal,
    });
    up = building;
    r = await building;
    signal.throwIfAborted();
  } finally {
    release();
  }
  const cni = r.state.cniConfig ? `, CNI config ${r.state.cniConfig.source}` : '';
  const admission = describeAdmission(r.state.admission);
  console.log(`lab ${cmd.name} is up: ${cmd.nodes} node(s), ${cmd.dataplane}, ${familyText(r.state)}, uplinks ${cmd.uplinks}, mtu ${cmd.mtu}${cmd.faults.length ? `, faults ${cmd.faults.join(', ')}` : ''}${cni}${admission ? `, admission: ${admission}` : ''}, API ${r.api.url} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  console.log(`kubeconfig: ${r.kubeconfig}`);
  console.log(`try: kubectl --kubeconfig ${r.kubeconfig} get nodes -o wide`);
  return 0;
}

/** What an interrupted lab command may leave, and the command that removes it. */
export const labLeftover = (name: string) => `lab ${name} (its netns pw-${name}-*, /run/podwire/${name}, its API server); remove it with: podwire lab down --name ${name}`;

export async function labDownCommand(cmd: Cmd<'lab-down'>): Promise<number> {
  requireRoot('podwire lab down');
  const { allLabs, labDown } = await import('../lab/down.js');
  // An interrupt lets the teardown under way finish (half a lab is worse than a whole one) and starts no other.
  let tearing: { name: string; done: Promise<unknown> } | undefined;
  const { signal, release } = onInterrupt({
    notice: 'finishing the teardown under way',
    cleanup: async () => {
      await tearing?.done.catch(() => undefined);
    },
    leftover: () => (tearing ? `parts of ${labLeftover(tearing.name)}` : undefined),
  });
  try {
    const names = cmd.all ? await allLabs() : [cmd.name!];
    for (const name of names) {
      signal.throwIfAborted();
      const done = labDown(name);
      tearing = { name, done };
      const r = await done;
      tearing = undefined;
      signal.throwIfAborted();
      if (!r.found && !cmd.all) {
        console.log(`no lab named ${name}: nothing to remove`);
        continue;
      }
      console.log(`lab ${name} removed: ${r.netnsRemoved.length} netns, ${r.processesKilled} process(es) killed${r.serverStopped ? ', API server stopped' : ''}`);
      const c = r.kubeconfigCopy;
      if (c?.fate === 'removed') console.log(`removed ${c.path} (the --kubeconfig-out copy)`);
      if (c?.fate === 'changed') console.log(`left ${c.path} in place: it changed since lab up wrote it`);
      const minted = r.mintedCopies ?? [];
      const removed = minted.filter((m) => m.fate === 'removed');
      if (removed.length) console.log(`removed ${removed.length} kubeconfig(s) written by lab kubeconfig: ${removed.map((m) => m.path).join(', ')}`);
      for (const m of minted.filter((x) => x.fate === 'changed')) console.log(`left ${m.path} in place: it changed since lab kubeconfig wrote it`);
    }
    if (cmd.all && names.length === 0) console.log('no labs found');
  } finally {
    release();
  }
  return 0;
}

export async function labKubeconfigCommand(cmd: Cmd<'lab-kubeconfig'>): Promise<number> {
  requireRoot('podwire lab kubeconfig');
  const out = await checkOutputFile(cmd.out, '--out', cmd.force);
  const { mintKubeconfig } = await import('../lab/mint.js');
  const { grant } = await mintKubeconfig({ name: cmd.name, roleFile: cmd.role, out, force: cmd.force });
  const rules = grant.clusterRules.length + grant.namespaced.reduce((n, r) => n + r.rules.length, 0);
  const where = grant.namespaced.length ? ` (${grant.namespaced.map((n) => `a Role in ${n.namespace}`).join(', ')})` : '';
  console.log(`kubeconfig for ${grant.user} on lab ${cmd.name}: ${out} (${rules} rule(s) from ${cmd.role}${where}; valid until the lab is removed)`);
  return 0;
}

export async function labStatusCommand(cmd: Cmd<'lab-status'>): Promise<number> {
  requireRoot('podwire lab status');
  const { formatStatus, labStatus } = await import('../lab/status.js');
  const s = await labStatus(cmd.name);
  console.log(cmd.json ? JSON.stringify(s, null, 2) : formatStatus(s));
  return s.api.healthy ? 0 : 1;
}

export async function labListCommand(cmd: Cmd<'lab-list'>): Promise<number> {
  requireRoot('podwire lab list');
  const { formatLabList, labList } = await import('../lab/list.js');
  const labs = await labList();
  const now = Date.now();
  console.log(cmd.json
    ? JSON.stringify(labs.map((l) => ({ ...l, ageSeconds: l.createdAt ? Math.max(0, Math.round((now - Date.parse(l.createdAt)) / 1000)) : null })), null, 2)
    : formatLabList(labs, now));
  return 0;
}

export async function labFaultsCommand(cmd: Cmd<'lab-faults'>): Promise<number> {
  const { FAULTS, faultsText } = await import('../lab/faults.js');
  console.log(cmd.json
    ? JSON.stringify(FAULTS.map(({ name, summary, models, dataplanes, caughtBy, undecided, family, ipFamily }) => ({ name, summary, models, dataplanes, caughtBy, undecided, ...(family ? { family } : {}), ...(ipFamily ? { ipFamily } : {}) })), null, 2)
    : faultsText());
  return 0;
}

export async function labPreflightCommand(cmd: Cmd<'lab-preflight'>, progress: (s: string) => void): Promise<number> {
  const { IPV6_REQUIREMENTS, LAB_REQUIREMENTS, TEST_REQUIREMENTS, preflight } = await import('../lab/preflight.js');
  // Every lab's needs, IPv6 labs' included (`lab up` asks for those only with --ip-family ipv6|dual).
  const lab = [...LAB_REQUIREMENTS, ...IPV6_REQUIREMENTS];
  const reqs = cmd.tests ? [...lab, ...TEST_REQUIREMENTS] : lab;
  const installed = await preflight(reqs, { install: cmd.install, log: progress });
  console.log(installed.length ? `installed: ${installed.join(' ')}` : 'all lab requirements are present');
  return 0;
}
