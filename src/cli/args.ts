// Command-line parsing and validation. Pure: returns a command or throws a
// UsageError whose message quotes the bad value and says what is valid. The
// flags of each command come from its table in commands.ts, which help reads too.
import { parseDuration } from '../run/leftovers.js';
import { defaultMTU } from '../lab/underlay.js';
import {
  DATAPLANES, IP_FAMILIES, LAB_NAME_PATTERN, MAX_MTU, MAX_NODES, MIN_MTU, PRIMARIES, UNDERLAY_MTU, UPLINKS, type Dataplane, type IpFamily, type Primary, type Uplinks,
} from '../lab/plan.js';
import { FAULT_NAMES, type FaultName } from '../lab/faults.js';
import { admissionConflict } from '../lab/admission-options.js';
import type { AdmissionConfig } from '../lab/apiserver/admission.js';
import { LEVELS, type Level } from '../lab/apiserver/pod-security.js';
import { UsageError } from '../errors.js';
import { parseFlags, wantsHelp } from '../flags.js';
import { parseEgressSnat, parseProfile, parseRunOptions, type RunOptions } from '../conformance/options.js';
import type { ProfileChoice } from '../conformance/catalogue.js';
import type { EgressSnat } from '../conformance/observations.js';
import { DIFF_FORMATS, type DiffFormat } from '../report/diff-render.js';
import { COMMANDS, LAB_SUBCOMMANDS, commandSpec, helpFor } from './commands.js';

export { UsageError };

export type Command =
  /** topic: '' for the command list, else a command path (`run`, `lab`, `lab up`). */
  | { kind: 'help'; topic: string }
  | { kind: 'version' }
  | { kind: 'lab-up'; name: string; nodes: number; dataplane: Dataplane; ipFamily: IpFamily; primary?: Primary; uplinks: Uplinks; mtu: number; faults: FaultName[]; kubeconfigOut?: string; force: boolean; cniConfig?: string; cniBinDir?: string; admission?: AdmissionConfig }
  | { kind: 'lab-faults'; json: boolean }
  | { kind: 'lab-down'; name?: string; all: boolean }
  | { kind: 'lab-status'; name: string; json: boolean }
  | { kind: 'lab-kubeconfig'; name: string; role: string; out: string; force: boolean }
  | { kind: 'lab-list'; json: boolean }
  | { kind: 'lab-preflight'; install: boolean; tests: boolean }
  | { kind: 'demo'; name: string; nodes: number; dataplane: Dataplane; faults: FaultName[]; keep: boolean }
  /** files: paths, `-` for standard input. */
  | { kind: 'decode'; files: string[]; json: boolean; vxlanPorts: number[] }
  | { kind: 'run'; opts: RunOptions }
  | { kind: 'judge'; bundle: string; profile?: ProfileChoice; egressSnat?: EgressSnat; reportDir?: string }
  | { kind: 'diff'; before: string; after: string; format: DiffFormat }
  | { kind: 'cleanup'; kubeconfig?: string; context?: string; namespaces: string[]; olderThanMs?: number };

/** A value as messages quote it. */
const describe = (v: string) => (v === '' ? '`` (empty)' : `\`${v}\``);

export function parseNodes(v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isInteger(n) || n < 1 || n > MAX_NODES) {
    throw new UsageError(`expected \`--nodes\` to be an integer from 1 to ${MAX_NODES}, got ${describe(v)}`);
  }
  return n;
}

export function parseDataplane(v: string | undefined): Dataplane {
  if (v === undefined) return 'host-gw';
  if (!(DATAPLANES as readonly string[]).includes(v)) {
    throw new UsageError(`expected \`--dataplane\` to be one of ${DATAPLANES.join(', ')}, got ${describe(v)}`);
  }
  return v as Dataplane;
}

export function parseUplinks(v: string | undefined): Uplinks {
  if (v === undefined) return 'single';
  if (!(UPLINKS as readonly string[]).includes(v)) {
    throw new UsageError(`expected \`--uplinks\` to be one of ${UPLINKS.join(', ')}, got ${describe(v)}`);
  }
  return v as Uplinks;
}

export function parseIpFamily(v: string | undefined): IpFamily {
  if (v === undefined) return 'ipv4';
  if (!(IP_FAMILIES as readonly string[]).includes(v)) throw new UsageError(`expected \`--ip-family\` to be one of ${IP_FAMILIES.join(', ')}, got ${describe(v)}`);
  return v as IpFamily;
}

export function parsePrimary(v: string | undefined): Primary | undefined {
  if (v === undefined) return undefined;
  if (!(PRIMARIES as readonly string[]).includes(v)) throw new UsageError(`expected \`--primary\` to be one of ${PRIMARIES.join(', ')}, got ${describe(v)}`);
  return v as Primary;
}

export function parseMtu(v: string | undefined): number {
  if (v === undefined) return UNDERLAY_MTU;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < MIN_MTU || n > MAX_MTU) {
    throw new UsageError(`expected \`--mtu\` to be an integer from ${MIN_MTU} to ${MAX_MTU}, got ${describe(v)}`);
  }
  return n;
}

export function parseLabName(v: string | undefined, fallback = 'podwire'): string {
  if (v === undefined) return fallback;
  if (!LAB_NAME_PATTERN.test(v)) {
    throw new UsageError(`expected \`--name\` to be 1-16 lowercase letters and digits starting with a letter, got ${describe(v)}`);
  }
  return v;
}

export function parseFaults(v: string[]): FaultName[] {
  const out: FaultName[] = [];
  for (const f of v.flatMap((x) => x.split(','))) {
    if (!(FAULT_NAMES as readonly string[]).includes(f)) {
      throw new UsageError(`unknown fault ${describe(f)}; known: ${FAULT_NAMES.join(', ')} (see \`podwire lab faults\`)`);
    }
    if (!out.includes(f as FaultName)) out.push(f as FaultName);
  }
  return out;
}

/** `lab up --pod-security`, `--pin-pod-security`, `--deny-probes` for a lab of `nodes` nodes; undefined when none is given. */
export function parseAdmission(level: string | undefined, pin: boolean, deny: string[], nodes: number): AdmissionConfig | undefined {
  if (level !== undefined && !(LEVELS as readonly string[]).includes(level)) {
    throw new UsageError(`expected \`--pod-security\` to be one of ${LEVELS.join(', ')}, got ${describe(level)}`);
  }
  const denyProbes = [...new Set(deny.flatMap((x) => x.split(',')))];
  if (level === undefined && !pin && denyProbes.length === 0) return undefined;
  const cfg: AdmissionConfig = { ...(level ? { podSecurity: level as Level } : {}), ...(pin ? { pinPodSecurity: true } : {}), ...(denyProbes.length ? { denyProbes } : {}) };
  const conflict = admissionConflict(cfg, nodes);
  if (conflict) throw new UsageError(conflict);
  return cfg;
}

export function parsePort(v: string, flag: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 65535) throw new UsageError(`expected \`${flag}\` to be a port from 1 to 65535, got ${describe(v)}`);
  return n;
}

export function parseDiffFormat(v: string | undefined): DiffFormat {
  if (v === undefined) return 'text';
  if (!(DIFF_FORMATS as readonly string[]).includes(v)) throw new UsageError(`expected \`--format\` to be one of ${DIFF_FORMATS.join(', ')}, got ${describe(v)}`);
  return v as DiffFormat;
}

/** Help requests: `podwire`, `podwire help [CMD...]`, `podwire --help`, `podwire lab`, `CMD [SUB] --help`. */
function helpRequest(argv: string[]): Command | undefined {
  const [cmd, sub] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h') return { kind: 'help', topic: '' };
  if (cmd === 'help') {
    const topic = argv.slice(1).join(' ');
    if (helpFor(topic) === undefined) throw new UsageError(`no command \`${topic}\` to help with; run \`podwire help\` for the list`);
    return { kind: 'help', topic };
  }
  if (cmd === 'lab' && (sub === undefined || sub === '--help' || sub === '-h')) return { kind: 'help', topic: 'lab' };
  if (!wantsHelp(argv)) return undefined;
  const topic = cmd === 'lab' ? `lab ${sub}` : cmd;
  return helpFor(topic) === undefined ? undefined : { kind: 'help', topic };
}

function parseLab(sub: string | undefined, rest: string[]): Command {
  if (sub === undefined || !LAB_SUBCOMMANDS.includes(sub)) {
    throw new UsageError(`unknown lab command ${describe(sub ?? '')}; expected ${LAB_SUBCOMMANDS.join(', ')} (see \`podwire lab --help\`)`);
  }
  const f = parseFlags(commandSpec(`lab ${sub}`), rest);
  switch (sub) {
    case 'up': {
      const out = f.string('kubeconfig-out');
      if (out !== undefined && !out.trim()) throw new UsageError('expected `--kubeconfig-out` to be a file path, got `` (empty)');
      if (f.bool('force') && out === undefined) throw new UsageError('`--force` lets `--kubeconfig-out` replace a file: give `--kubeconfig-out PATH` too');
      const cniConfig = f.string('cni-config');
      const cniBinDir = f.string('cni-bin-dir');
      if (cniConfig !== undefined && !cniConfig.trim()) throw new UsageError('expected `--cni-config` to be a conflist file, got `` (empty)');
      if (cniBinDir !== undefined && !cniBinDir.trim()) throw new UsageError('expected `--cni-bin-dir` to be a directory (or several, colon-separated), got `` (empty)');
      if (cniBinDir !== undefined && cniConfig === undefined) throw new UsageError('`--cni-bin-dir` goes with `--cni-config` (the profiles\' own configs use /usr/lib/cni)');
      const faults = parseFaults(f.list('fault'));
      const nodes = parseNodes(f.string('nodes'), 3);
      const admission = parseAdmission(f.string('pod-security'), f.bool('pin-pod-security'), f.list('deny-probes'), nodes);
      const ipFamily = parseIpFamily(f.string('ip-family'));
      const primary = parsePrimary(f.string('primary'));
      if (primary !== undefined && ipFamily !== 'dual') throw new UsageError(`\`--primary\` orders the two families of a dual-stack lab: it needs \`--ip-family dual\`, got ${ipFamily}`);
      return {
        ipFamily, ...(primary ? { primary } : {}),
        ...(cniConfig ? { cniConfig } : {}), ...(cniBinDir ? { cniBinDir } : {}), ...(admission ? { admission } : {}),
        kind: 'lab-up', name: parseLabName(f.string('name')), nodes, dataplane: parseDataplane(f.string('dataplane')),
        uplinks: parseUplinks(f.string('uplinks')), // Without --mtu, the underlay a fault needs (jumbo-blackhole: 9001), else 1500.
        mtu: f.string('mtu') === undefined ? defaultMTU(faults) : parseMtu(f.string('mtu')), faults, ...(out ? { kubeconfigOut: out } : {}), force: f.bool('force'),
      };
    }
    case 'faults':
      return { kind: 'lab-faults', json: f.bool('json') };
    case 'down':
      if (f.bool('all') && f.string('name') !== undefined) throw new UsageError('give either `--name` or `--all` to `podwire lab down`, not both');
      return f.bool('all') ? { kind: 'lab-down', all: true } : { kind: 'lab-down', name: parseLabName(f.string('name')), all: false };
    case 'kubeconfig': {
      const [role, out] = [f.string('role'), f.string('out')];
      if (role === undefined || !role.trim()) throw new UsageError('`podwire lab kubeconfig` needs `--role FILE`: a YAML file with the ClusterRole (or Role) the token is bound to, e.g. deploy/rbac.yaml');
      if (out === undefined || !out.trim()) throw new UsageError('`podwire lab kubeconfig` needs `--out PATH`: where to write the kubeconfig');
      return { kind: 'lab-kubeconfig', name: parseLabName(f.string('name')), role, out, force: f.bool('force') };
    }
    case 'status':
      return { kind: 'lab-status', name: parseLabName(f.string('name')), json: f.bool('json') };
    case 'list':
      return { kind: 'lab-list', json: f.bool('json') };
    default:
      return { kind: 'lab-preflight', install: f.bool('install'), tests: f.bool('tests') };
  }
}

export function parseCommand(argv: string[]): Command {
  const help = helpRequest(argv);
  if (help) return help;
  const [cmd, ...rest] = argv;
  if (cmd === '--version' || cmd === 'version') {
    if (rest.length) throw new UsageError(`unexpected argument \`${rest[0]}\` for \`podwire --version\``);
    return { kind: 'version' };
  }
  if (cmd === 'lab') return parseLab(rest[0], rest.slice(1));
  if (cmd === 'run') return { kind: 'run', opts: parseRunOptions(rest) };
  const spec = COMMANDS.find((c) => c.path === cmd);
  if (!spec) throw new UsageError(`unknown command ${describe(cmd!)}; run \`podwire help\``);
  const f = parseFlags(spec, rest);
  switch (cmd) {
    case 'demo':
      return {
        kind: 'demo', name: parseLabName(f.string('name'), 'demo'), nodes: parseNodes(f.string('nodes'), 3), dataplane: parseDataplane(f.string('dataplane')),
        faults: parseFaults(f.list('fault')), keep: f.bool('keep'),
      };
    case 'decode': {
      if (f.positionals.filter((p) => p === '-').length > 1) throw new UsageError('`-` (standard input) can be read once only');
      const extra = f.list('vxlan-port').map((v) => parsePort(v, '--vxlan-port'));
      return { kind: 'decode', files: f.positionals, json: f.bool('json'), vxlanPorts: [...new Set([4789, 8472, ...extra])] };
    }
    case 'judge': {
      const [profile, egress, reportDir] = [f.string('profile'), f.string('egress-snat'), f.string('report-dir')];
      return {
        kind: 'judge', bundle: f.positionals[0]!,
        ...(profile !== undefined ? { profile: parseProfile(profile) } : {}),
        ...(egress !== undefined ? { egressSnat: parseEgressSnat(egress) } : {}),
        ...(reportDir !== undefined ? { reportDir } : {}),
      };
    }
    case 'diff':
      return { kind: 'diff', before: f.positionals[0]!, after: f.positionals[1]!, format: parseDiffFormat(f.string('format')) };
    default: {
      const [kubeconfig, context] = [f.string('kubeconfig'), f.string('context')];
      const namespaces = f.list('namespace');
      for (const ns of namespaces) {
        if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(ns)) throw new UsageError(`expected \`--namespace\` to be a namespace name, got ${describe(ns)}`);
      }
      const olderThan = f.string('older-than');
      const olderThanMs = olderThan === undefined ? undefined : parseDuration(olderThan);
      if (olderThan !== undefined && olderThanMs === undefined) {
        throw new UsageError(`expected \`--older-than\` to be a duration such as 90s, 10m, 2h, 1d or 1h30m, got ${describe(olderThan)}`);
      }
      return { kind: 'cleanup', ...(kubeconfig ? { kubeconfig } : {}), ...(context ? { context } : {}), namespaces, ...(olderThanMs !== undefined ? { olderThanMs } : {}) };
    }
  }
}
