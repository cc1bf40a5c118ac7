// Command-line parsing and validation. Pure: returns a command or throws a
// UsageError whose message quotes the bad value and says what is valid.
import { parseArgs } from 'node:util';
import { DATAPLANES, LAB_NAME_PATTERN, MAX_MTU, MAX_NODES, MIN_MTU, UNDERLAY_MTU, UPLINKS, type Dataplane, type Uplinks } from '../lab/plan.js';
import { FAULT_NAMES, type FaultName } from '../lab/faults.js';

import { UsageError } from '../errors.js';

export { UsageError };

export type Command =
  | { kind: 'help'; topic?: string }
  | { kind: 'version' }
  | { kind: 'lab-up'; name: string; nodes: number; dataplane: Dataplane; uplinks: Uplinks; mtu: number; faults: FaultName[]; kubeconfigOut?: string }
  | { kind: 'lab-faults'; json: boolean }
  | { kind: 'lab-down'; name?: string; all: boolean }
  | { kind: 'lab-status'; name: string; json: boolean }
  | { kind: 'lab-preflight'; install: boolean; tests: boolean }
  | { kind: 'demo'; nodes: number; dataplane: Dataplane; faults: FaultName[]; keep: boolean }
  | { kind: 'decode'; file: string; json: boolean; vxlanPorts: number[] }
  | { kind: 'run'; argv: string[] }
  | { kind: 'judge'; argv: string[] }
  | { kind: 'diff'; argv: string[] }
  | { kind: 'cleanup'; kubeconfig?: string; context?: string };

type OptSpec = Record<string, { type: 'string'; multiple?: boolean } | { type: 'boolean' }>;

const describe = (v: unknown) => `\`${String(v)}\` (${typeof v})`;

function parse<T extends OptSpec>(argv: string[], options: T, usage: string) {
  try {
    return parseArgs({ args: argv, options, strict: true as const, allowPositionals: false as const });
  } catch (err) {
    const e = err as { code?: string; message: string };
    const flags = Object.keys(options).map((o) => `--${o}`).join(', ');
    const m = /'([^']+)'/.exec(e.message);
    if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new UsageError(`unknown flag \`${m?.[1] ?? '?'}\` for \`${usage}\` (valid: ${flags})`);
    if (e.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') throw new UsageError(`unexpected argument \`${m?.[1] ?? '?'}\` for \`${usage}\``);
    if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      throw new UsageError(`flag \`${m?.[1]?.split(' ')[0] ?? '?'}\` of \`${usage}\` needs a value (write --flag=VALUE for a value starting with -)`);
    }
    throw new UsageError(e.message.split('\n')[0]!);
  }
}

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

export function parseMtu(v: string | undefined): number {
  if (v === undefined) return UNDERLAY_MTU;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < MIN_MTU || n > MAX_MTU) {
    throw new UsageError(`expected \`--mtu\` to be an integer from ${MIN_MTU} to ${MAX_MTU}, got ${describe(v)}`);
  }
  return n;
}

export function parseLabName(v: string | undefined): string {
  if (v === undefined) return 'podwire';
  if (!LAB_NAME_PATTERN.test(v)) {
    throw new UsageError(`expected \`--name\` to be 1-16 lowercase letters and digits starting with a letter, got ${describe(v)}`);
  }
  return v;
}

export function parseFaults(v: string[] | undefined): FaultName[] {
  const out: FaultName[] = [];
  for (const f of (v ?? []).flatMap((x) => x.split(','))) {
    if (!(FAULT_NAMES as readonly string[]).includes(f)) {
      throw new UsageError(`unknown fault ${describe(f)}; known: ${FAULT_NAMES.join(', ')} (see \`podwire lab faults\`)`);
    }
    if (!out.includes(f as FaultName)) out.push(f as FaultName);
  }
  return out;
}

export const HELP = `podwire — packet-level conformance suite for the Kubernetes network model

Usage:
  podwire lab up [--name NAME] [--nodes N] [--dataplane ${DATAPLANES.join('|')}] [--uplinks single|ecmp|policy] [--mtu N]
                 [--fault NAME]... [--kubeconfig-out PATH]
  podwire lab faults [--json]
  podwire lab status [--name NAME] [--json]
  podwire lab down [--name NAME | --all]
  podwire lab preflight [--install] [--tests]
  podwire demo [--nodes N] [--dataplane ${DATAPLANES.join('|')}] [--fault NAME]... [--keep]
  podwire decode FILE [--json] [--vxlan-port PORT]...
  podwire run [--kubeconfig F] [--context C] [--profile core|extended|strict] [--egress-snat node|off-node|none]
              [--probe-image IMG] [--external-target IP:PORT] [--only IDS] [--skip IDS]
              [--report-dir DIR] [--require-all-nodes] [--pairs all|sample[:K]] [--seed N] [--keep] [--timeout S]
              [--concurrency N] [--baseline REPORT]
  podwire judge BUNDLE_DIR [--profile core|extended|strict] [--egress-snat node|off-node|none] [--report-dir DIR]
  podwire diff BEFORE AFTER [--format text|markdown|json]
  podwire cleanup [--kubeconfig F] [--context C]
  podwire help | --version

Lab defaults: --name podwire, --nodes 3 (1-${MAX_NODES}), --dataplane host-gw, --uplinks single, --mtu ${UNDERLAY_MTU} (${MIN_MTU}-${MAX_MTU}).
Lab commands need root.
Exit codes: 0 ok (run, judge: no check failed), 1 failure (a check failed; diff and run --baseline: a check or node pair
got worse than in BEFORE), 2 bad usage, unreadable or incomparable reports, unmet precondition or infrastructure error.`;

export function parsePort(v: string, flag: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 65535) throw new UsageError(`expected \`${flag}\` to be a port from 1 to 65535, got ${describe(v)}`);
  return n;
}

function parseDecode(argv: string[]): Command {
  const usage = 'podwire decode FILE [--json] [--vxlan-port PORT]...';
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { json: { type: 'boolean' }, 'vxlan-port': { type: 'string', multiple: true } }, strict: true, allowPositionals: true });
  } catch (err) {
    const m = /'([^']+)'/.exec((err as Error).message);
    throw new UsageError(`unknown or incomplete flag \`${m?.[1] ?? '?'}\` for \`${usage}\` (valid: --json, --vxlan-port)`);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new UsageError(`expected one capture file: \`${usage}\`, got ${positionals.length}`);
  const extra = (values['vxlan-port'] ?? []).map((v) => parsePort(v, '--vxlan-port'));
  return { kind: 'decode', file: positionals[0]!, json: values.json ?? false, vxlanPorts: [...new Set([4789, 8472, ...extra])] };
}

export function parseCommand(argv: string[]): Command {
  const [cmd, sub, ...rest] = argv;
  if (cmd === undefined || cmd === 'help' || cmd === '--help' || cmd === '-h') return { kind: 'help' };
  if (cmd === '--version' || cmd === 'version') return { kind: 'version' };
  if (cmd === 'demo') {
    const { values } = parse(argv.slice(1), { nodes: { type: 'string' }, dataplane: { type: 'string' }, fault: { type: 'string', multiple: true }, keep: { type: 'boolean' } }, 'podwire demo');
    return { kind: 'demo', nodes: parseNodes(values.nodes, 3), dataplane: parseDataplane(values.dataplane), faults: parseFaults(values.fault as string[] | undefined), keep: values.keep ?? false };
  }
  if (cmd === 'decode') return parseDecode(argv.slice(1));
  // `run` validates its own options (src/conformance/options.ts), still before touching the cluster.
  if (cmd === 'run') return { kind: 'run', argv: argv.slice(1) };
  if (cmd === 'judge') return { kind: 'judge', argv: argv.slice(1) };
  if (cmd === 'diff') return { kind: 'diff', argv: argv.slice(1) };
  if (cmd === 'cleanup') {
    const { values } = parse(argv.slice(1), { kubeconfig: { type: 'string' }, context: { type: 'string' } }, 'podwire cleanup');
    return { kind: 'cleanup', ...(values.kubeconfig ? { kubeconfig: values.kubeconfig } : {}), ...(values.context ? { context: values.context } : {}) };
  }
  if (cmd === 'lab') {
    switch (sub) {
      case 'up': {
        const { values } = parse(rest, {
          name: { type: 'string' }, nodes: { type: 'string' }, dataplane: { type: 'string' }, uplinks: { type: 'string' }, mtu: { type: 'string' },
          fault: { type: 'string', multiple: true }, 'kubeconfig-out': { type: 'string' },
        }, 'podwire lab up');
        const out = values['kubeconfig-out'];
        if (out !== undefined && !out.trim()) throw new UsageError('expected `--kubeconfig-out` to be a file path, got `` (empty)');
        const faults = parseFaults(values.fault as string[] | undefined);
        return {
          kind: 'lab-up', name: parseLabName(values.name), nodes: parseNodes(values.nodes, 3), dataplane: parseDataplane(values.dataplane),
          uplinks: parseUplinks(values.uplinks), mtu: parseMtu(values.mtu), faults, ...(out ? { kubeconfigOut: out } : {}),
        };
      }
      case 'faults': {
        const { values } = parse(rest, { json: { type: 'boolean' } }, 'podwire lab faults');
        return { kind: 'lab-faults', json: values.json ?? false };
      }
      case 'down': {
        const { values } = parse(rest, { name: { type: 'string' }, all: { type: 'boolean' } }, 'podwire lab down');
        if (values.all && values.name !== undefined) throw new UsageError('give either `--name` or `--all` to `podwire lab down`, not both');
        return values.all ? { kind: 'lab-down', all: true } : { kind: 'lab-down', name: parseLabName(values.name), all: false };
      }
      case 'status': {
        const { values } = parse(rest, { name: { type: 'string' }, json: { type: 'boolean' } }, 'podwire lab status');
        return { kind: 'lab-status', name: parseLabName(values.name), json: values.json ?? false };
      }
      case 'preflight': {
        const { values } = parse(rest, { install: { type: 'boolean' }, tests: { type: 'boolean' } }, 'podwire lab preflight');
        return { kind: 'lab-preflight', install: values.install ?? false, tests: values.tests ?? false };
      }
      default:
        throw new UsageError(`unknown lab command ${describe(sub ?? '')}; expected up, status, down, faults or preflight`);
    }
  }
  throw new UsageError(`unknown command ${describe(cmd)}; run \`podwire help\``);
}
