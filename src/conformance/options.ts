// `podwire run` options: parsed and validated before anything touches the
// cluster, with messages that quote the bad value. Pure.
import { UsageError } from '../errors.js';
import { parseFlags, type CommandSpec } from '../flags.js';
import { PROFILE_CHOICES, selectChecks, type CheckDef, type ProfileChoice } from './catalogue.js';
import { EGRESS_SNAT, type EgressSnat, type ExternalTarget } from './observations.js';
import { ALL_PAIRS_UP_TO, DEFAULT_SAMPLE_K } from './flows.js';
import { DEFAULT_PROBE_IMAGE } from './probes.js';
import { IP_FAMILY_CHOICES, familiesOfChoice, familyName, type Family, type IpFamilyChoice } from './families.js';
import { canonicalIP, familyOf } from './ip.js';

export interface RunOptions {
  kubeconfig?: string;
  context?: string;
  probeImage: string;
  /** `--external-target`, at most one per family. */
  externalTargets?: ExternalTarget[];
  /** `--ip-family`: the families to test; absent, every family the cluster's pods have. */
  ipFamily?: IpFamilyChoice;
  families?: Family[];
  only: string[];
  skip: string[];
  checks: CheckDef[];
  profile: ProfileChoice;
  egressSnat: EgressSnat;
  /** Exit 2 when any node could not host its probes (default: report it, judge the rest). */
  requireAllNodes: boolean;
  /** `--pairs`: all ordered node pairs, a sample of K per node, or (default) all up to ALL_PAIRS_UP_TO nodes. */
  pairs: 'auto' | 'all' | { k: number };
  /** `--seed`: which sample (recorded in the report); random when not given. */
  seed?: number;
  reportDir: string;
  keep: boolean;
  timeoutS: number;
  /** `--concurrency`: the most API requests and execs in flight at once. */
  concurrency: number;
  /** A report (file or run directory) to gate against: exit 1 only on what got worse than in it. */
  baseline?: string;
}

/**
 * Default `--concurrency`. kube-apiserver admits 400 reads and 200 writes in
 * flight by default (--max-requests-inflight, --max-mutating-requests-inflight),
 * shared with every controller and kubelet: 32 keeps a run at about 5 % of
 * that. Execs are long-running requests that neither those limits nor API
 * Priority and Fairness count, but each holds a stream through the API server
 * to a kubelet, so the same cap bounds them.
 */
export const DEFAULT_CONCURRENCY = 32;
export const MAX_CONCURRENCY = 10_000;

export function parseConcurrency(v: string | undefined): number {
  if (v === undefined) return DEFAULT_CONCURRENCY;
  if (!/^\d{1,5}$/.test(v) || Number(v) < 1 || Number(v) > MAX_CONCURRENCY) {
    throw new UsageError(`expected \`--concurrency\` to be an integer from 1 to ${MAX_CONCURRENCY}, got \`${v}\``);
  }
  return Number(v);
}

/** `podwire run`'s flags: the parser and `podwire run --help` both read this table. */
export const RUN_COMMAND: CommandSpec = {
  path: 'run',
  summary: 'Deploys probe pods through the Kubernetes API, sends and captures every flow, judges the network model from the packets and writes the reports.',
  flags: [
    { name: 'kubeconfig', value: 'FILE', help: 'kubeconfig to use', default: '$KUBECONFIG, else ~/.kube/config' },
    { name: 'context', value: 'NAME', help: 'kubeconfig context', default: 'the current context' },
    { name: 'profile', value: Object.keys(PROFILE_CHOICES).join('|'), help: 'checks that decide the exit code: core (the model), extended (health beyond it), strict (stricter readings many CNIs do not meet on purpose)', default: 'extended' },
    { name: 'egress-snat', value: EGRESS_SNAT.join('|'), help: 'where the cluster SNATs egress to the internet: on the node, off the node (a NAT gateway), or not at all', default: 'node' },
    { name: 'probe-image', value: 'IMAGE', help: 'probe image (needs sh, tcpdump, ip, socat, timeout, python3)', default: DEFAULT_PROBE_IMAGE },
    { name: 'external-target', value: 'IP:PORT', repeatable: true, help: 'a TCP server outside the cluster for the egress checks, once per family (IPv6 as [IP]:PORT); not a node or pod address', default: 'the cluster\'s podwire.dev/external-target annotation, else none' },
    { name: 'ip-family', value: IP_FAMILY_CHOICES.join('|'), help: 'IP families to test: one, or both (dual); a family the cluster\'s pods lack is an error', default: 'every family the probe pods have' },
    { name: 'only', value: 'IDS', help: 'run only these checks (comma-separated ids or id prefixes)' },
    { name: 'skip', value: 'IDS', help: 'leave these checks out (comma-separated ids or id prefixes)' },
    { name: 'report-dir', value: 'DIR', help: 'where the run directory is written', default: 'reports' },
    { name: 'require-all-nodes', help: 'exit 2 when a node cannot host its probes' },
    { name: 'pairs', value: 'all|sample[:K]', help: `node pairs to test: all, or a sample of K per node (sample alone: K = ${DEFAULT_SAMPLE_K})`, default: `all up to ${ALL_PAIRS_UP_TO} nodes, else sample:${DEFAULT_SAMPLE_K}` },
    { name: 'seed', value: 'N', help: 'which sample of pairs (recorded in the report)', default: 'random' },
    { name: 'keep', help: 'keep the run\'s namespace and probes (remove them later with `podwire cleanup`)' },
    { name: 'timeout', value: 'S', help: 'seconds to wait for probes to be ready, 1-3600', default: '120' },
    { name: 'concurrency', value: 'N', help: `most API calls and execs in flight at once, 1-${MAX_CONCURRENCY}`, default: String(DEFAULT_CONCURRENCY) },
    { name: 'baseline', value: 'REPORT', help: 'a report.json or run directory: exit 1 only on what got worse than in it' },
  ],
  notes: ['Exit status: 0 no check failed, 1 a check failed (with --baseline: something got worse), 2 bad usage, unmet precondition or infrastructure error.'],
};

export function parseProfile(v: string | undefined): ProfileChoice {
  if (v === undefined) return 'extended';
  if (!(v in PROFILE_CHOICES)) throw new UsageError(`expected \`--profile\` to be one of ${Object.keys(PROFILE_CHOICES).join(', ')}, got \`${v}\``);
  return v as ProfileChoice;
}

export function parsePairs(v: string | undefined): RunOptions['pairs'] {
  if (v === undefined) return 'auto';
  if (v === 'all') return 'all';
  const m = /^sample(?::(\d{1,4}))?$/.exec(v);
  const k = m ? Number(m[1] ?? DEFAULT_SAMPLE_K) : 0;
  if (!m || k < 1) throw new UsageError(`expected \`--pairs\` to be all, sample or sample:K with K a positive integer, got \`${v}\``);
  return { k };
}

export function parseSeed(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d{1,9}$/.test(v)) throw new UsageError(`expected \`--seed\` to be an integer from 0 to 999999999, got \`${v}\``);
  return Number(v);
}

export function parseEgressSnat(v: string | undefined): EgressSnat {
  if (v === undefined) return 'node';
  if (!(EGRESS_SNAT as readonly string[]).includes(v)) throw new UsageError(`expected \`--egress-snat\` to be one of ${EGRESS_SNAT.join(', ')}, got \`${v}\``);
  return v as EgressSnat;
}

/** `IP:PORT`, or `[IPv6]:PORT`. */
export function parseExternalTarget(v: string): ExternalTarget {
  const bad = () => new UsageError(`expected \`--external-target\` to be IPv4:PORT or [IPv6]:PORT (e.g. 203.0.113.10:443, [2001:db8::10]:443), got \`${v}\``);
  const m6 = /^\[([0-9A-Fa-f:.]+)\]:(\d{1,5})$/.exec(v);
  const m4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3}):(\d{1,5})$/.exec(v);
  const port = Number(m6?.[2] ?? m4?.[5] ?? 0);
  if (port < 1 || port > 65535) throw bad();
  if (m6) {
    if (familyOf(m6[1]!) !== 6 || !m6[1]!.includes(':')) throw bad();
    return { ip: canonicalIP(m6[1]!), port };
  }
  const octets = m4 ? m4.slice(1, 5).map(Number) : [];
  if (!m4 || octets.some((o) => o > 255)) throw bad();
  return { ip: octets.join('.'), port };
}

/** A target as the flag takes it: IPv6 in brackets. */
export const targetText = (t: ExternalTarget) => (t.ip.includes(':') ? `[${t.ip}]:${t.port}` : `${t.ip}:${t.port}`);

/** `--external-target` given once per family at most. */
export function parseExternalTargets(vs: readonly string[]): ExternalTarget[] {
  const out: ExternalTarget[] = [];
  for (const v of vs) {
    const t = parseExternalTarget(v);
    const same = out.find((x) => familyOf(x.ip) === familyOf(t.ip));
    if (same) throw new UsageError(`\`--external-target\` is given twice for ${familyName(familyOf(t.ip) ?? 4)} (\`${targetText(same)}\`, \`${v}\`): give at most one per family`);
    out.push(t);
  }
  return out;
}

export function parseIpFamily(v: string | undefined): IpFamilyChoice | undefined {
  if (v === undefined) return undefined;
  if (!(IP_FAMILY_CHOICES as readonly string[]).includes(v)) throw new UsageError(`expected \`--ip-family\` to be one of ${IP_FAMILY_CHOICES.join(', ')}, got \`${v}\``);
  return v as IpFamilyChoice;
}

const ids = (v: string | undefined) => (v ?? '').split(',').map((s) => s.trim()).filter(Boolean);

export function parseRunOptions(argv: string[]): RunOptions {
  const f = parseFlags(RUN_COMMAND, argv);
  const values = {
    kubeconfig: f.string('kubeconfig'), context: f.string('context'), 'probe-image': f.string('probe-image'), 'external-target': f.list('external-target'), 'ip-family': f.string('ip-family'),
    only: f.string('only'), skip: f.string('skip'), 'report-dir': f.string('report-dir'), keep: f.bool('keep'), timeout: f.string('timeout'),
    profile: f.string('profile'), 'egress-snat': f.string('egress-snat'), 'require-all-nodes': f.bool('require-all-nodes'),
    pairs: f.string('pairs'), seed: f.string('seed'), concurrency: f.string('concurrency'), baseline: f.string('baseline'),
  };
  const only = ids(values.only);
  const skip = ids(values.skip);
  const profile = parseProfile(values.profile);
  const egressSnat = parseEgressSnat(values['egress-snat']);
  const ipFamily = parseIpFamily(values['ip-family']);
  let checks: CheckDef[];
  try {
    checks = selectChecks(only, skip, profile);
  } catch (err) {
    throw new UsageError(`${(err as Error).message} in \`--only\`/\`--skip\``);
  }
  if (checks.length === 0) throw new UsageError('`--only` and `--skip` leave no check to run');
  const timeout = values.timeout ?? '120';
  if (!/^\d+$/.test(timeout) || Number(timeout) < 1 || Number(timeout) > 3600) {
    throw new UsageError(`expected \`--timeout\` to be seconds from 1 to 3600, got \`${timeout}\``);
  }
  const image = values['probe-image'] ?? DEFAULT_PROBE_IMAGE;
  if (!/^[A-Za-z0-9][A-Za-z0-9._\-/:@]*$/.test(image)) throw new UsageError(`expected \`--probe-image\` to be an image reference, got \`${image}\``);
  return {
    ...(values.kubeconfig !== undefined ? { kubeconfig: values.kubeconfig } : {}),
    ...(values.context !== undefined ? { context: values.context } : {}),
    probeImage: image,
    ...(values['external-target'].length ? { externalTargets: parseExternalTargets(values['external-target']) } : {}),
    ...(ipFamily ? { ipFamily, families: familiesOfChoice(ipFamily) } : {}),
    only,
    skip,
    checks,
    profile,
    egressSnat,
    requireAllNodes: values['require-all-nodes'],
    pairs: parsePairs(values.pairs),
    ...(values.seed !== undefined ? { seed: parseSeed(values.seed)! } : {}),
    reportDir: values['report-dir'] ?? 'reports',
    keep: values.keep,
    timeoutS: Number(timeout),
    concurrency: parseConcurrency(values.concurrency),
    ...(values.baseline !== undefined ? { baseline: values.baseline } : {}),
  };
}
