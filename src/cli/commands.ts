// Every podwire command as data: its flags with their defaults, its
// arguments and a summary. The parser (args.ts) and the help text both read
// these tables; `podwire run`'s lives with its options (conformance/options.ts).
import { RUN_COMMAND } from '../conformance/options.js';
import { PROFILE_CHOICES } from '../conformance/catalogue.js';
import { EGRESS_SNAT } from '../conformance/observations.js';
import { AWS_JUMBO_MTU, DATAPLANES, IPV6_DATAPLANES, IP_FAMILIES, JUMBO_MTU, MAX_MTU, MAX_NODES, MIN_MTU, PRIMARIES, UNDERLAY_MTU, UPLINKS } from '../lab/plan.js';
import { DIFF_FORMATS } from '../report/diff-render.js';
import { commandHelp, synopsis, wrap, type CommandSpec, type FlagSpec } from '../flags.js';

const nameFlag = (what: string, dflt: string): FlagSpec => ({ name: 'name', value: 'NAME', help: `${what} (1-16 lowercase letters and digits, starting with a letter)`, default: dflt });
const nodesFlag: FlagSpec = { name: 'nodes', value: 'N', help: `number of nodes, 1-${MAX_NODES}`, default: '3' };
const dataplaneFlag: FlagSpec = { name: 'dataplane', value: DATAPLANES.join('|'), help: 'dataplane profile, each modelled on a CNI family', default: 'host-gw' };
const faultFlag: FlagSpec = { name: 'fault', value: 'NAME', repeatable: true, help: 'a misconfiguration listed by `podwire lab faults`; several may be comma-separated' };
const jsonFlag = (what: string): FlagSpec => ({ name: 'json', help: `print ${what}` });
const kubeFlags: FlagSpec[] = [
  { name: 'kubeconfig', value: 'FILE', help: 'kubeconfig to use', default: '$KUBECONFIG, else ~/.kube/config' },
  { name: 'context', value: 'NAME', help: 'kubeconfig context', default: 'the current context' },
];
const LAB_ROOT = 'Lab commands need root (network namespaces, CNI, iptables).';

export const COMMANDS: CommandSpec[] = [
  RUN_COMMAND,
  {
    path: 'judge', summary: 'Judges a run bundle again, offline: the same report and exit status as the run, under another profile or egress design if asked.',
    args: { synopsis: 'BUNDLE_DIR', min: 1, max: 1, what: 'bundle directory' },
    flags: [
      { name: 'profile', value: Object.keys(PROFILE_CHOICES).join('|'), help: 'checks that decide the exit code', default: 'the run\'s' },
      { name: 'egress-snat', value: EGRESS_SNAT.join('|'), help: 'where the cluster SNATs egress', default: 'the run\'s' },
      { name: 'report-dir', value: 'DIR', help: 'where the report is written', default: 'the run directory holding the bundle' },
    ],
  },
  {
    path: 'diff', summary: 'Compares two reports (report.json files or run directories): what regressed, got fixed, is new or gone, per check and node pair.',
    args: { synopsis: 'BEFORE AFTER', min: 2, max: 2, what: 'reports, BEFORE and AFTER,' },
    flags: [{ name: 'format', value: DIFF_FORMATS.join('|'), help: 'text for terminals and logs, markdown for a CI job summary or PR comment, json for tools', default: 'text' }],
    notes: ['Exit status: 0 nothing got worse, 1 a check or node pair got worse, 2 unreadable or incomparable reports.'],
  },
  {
    path: 'cleanup', summary: 'Deletes namespaces that runs left behind (`run --keep`, a killed run, a lost API): every namespace with the podwire.dev/run label whose run is not live, or only the ones named. A run is live while its heartbeat (renewed every 5 s) is less than 60 s old.',
    flags: [
      ...kubeFlags, { name: 'namespace', value: 'NS', repeatable: true, help: 'consider only this run namespace', default: 'every run namespace' },
      { name: 'older-than', value: 'DURATION', help: 'also delete runs created at least this long ago, live or not (90s, 10m, 2h, 1d, 1h30m)', default: 'live runs are left alone' },
    ],
    notes: ['Lists each namespace it deleted and each it left, with the reason. Exit status: 0, or 2 when a namespace could not be deleted (or the API could not be reached).'],
  },
  {
    path: 'decode', summary: 'Prints one line (or JSON object) per packet of pcap or pcapng files, layers outer to inner, with encapsulation and flow token. `-` reads standard input.',
    args: { synopsis: 'FILE...', min: 1, max: Infinity, what: 'capture file(s)' },
    flags: [jsonFlag('one JSON object per packet'), { name: 'vxlan-port', value: 'PORT', repeatable: true, help: 'decode this UDP port as VXLAN too', default: '4789 and 8472' }],
    notes: ['With several files, text output puts a `==> FILE <==` line before each file\'s packets and JSON objects carry a `file` field. Exit status 1 when a file is damaged (what decodes is printed first).'],
  },
  {
    path: 'demo', summary: 'Starts a lab, runs the full conformance suite against it through the Kubernetes API, prints the summary and report paths, and removes the lab.',
    flags: [nameFlag('lab name; must not be in use', 'demo'), nodesFlag, dataplaneFlag, faultFlag, { name: 'keep', help: 'leave the lab running afterwards' }],
    notes: [`A demo only ever removes a lab it created: if a lab with that name exists, it stops (exit 2) and leaves it alone. ${LAB_ROOT}`],
  },
  {
    path: 'lab up', summary: 'Builds a lab cluster: nodes and pods as network namespaces wired by real CNI plugins, behind an HTTPS Kubernetes API server.',
    flags: [
      nameFlag('lab name', 'podwire'), nodesFlag, dataplaneFlag,
      { name: 'ip-family', value: IP_FAMILIES.join('|'), help: `pods' and the API's address families (ipv6 and dual: ${IPV6_DATAPLANES.join(', ')} dataplanes)`, default: 'ipv4' },
      { name: 'primary', value: PRIMARIES.join('|'), help: 'with --ip-family dual: the family listed first in podIPs, podCIDRs and InternalIPs', default: 'ipv4' },
      { name: 'uplinks', value: UPLINKS.join('|'), help: 'one uplink per node, two with a multipath default route, or a second one for node-2\'s pods by policy routing', default: 'single' },
      { name: 'mtu', value: 'N', help: `underlay MTU, ${MIN_MTU}-${MAX_MTU} (${AWS_JUMBO_MTU} by default with --fault jumbo-blackhole, which needs ${JUMBO_MTU} or more)`, default: String(UNDERLAY_MTU) },
      faultFlag,
      { name: 'kubeconfig-out', value: 'PATH', help: 'also write the kubeconfig here (a new file; `lab down` removes it while unchanged)', default: '/run/podwire/NAME/kubeconfig only' },
      { name: 'force', help: 'let --kubeconfig-out replace an existing file' },
      { name: 'cni-config', value: 'FILE', help: 'your own CNI conflist for every node\'s pods (host-gw, vxlan; placeholders {{podCIDR}}, {{nodeName}}, {{nodeIndex}}, {{mtu}}, {{ipamDir}})', default: 'the dataplane\'s own config' },
      { name: 'cni-bin-dir', value: 'DIR', help: 'where the conflist\'s plugins are (colon-separated list, as CNI_PATH)', default: '/usr/lib/cni' },
      { name: 'pod-security', value: 'privileged|baseline|restricted', help: 'PodSecurity level enforced in namespaces without a `pod-security.kubernetes.io/enforce` label (the API server\'s AdmissionConfiguration default)', default: 'privileged' },
      { name: 'pin-pod-security', help: 'a namespace policy sets every new namespace\'s enforce label to the --pod-security level, whatever its creator asked (as Kyverno or OpenShift\'s label sync can)' },
      { name: 'deny-probes', value: 'NODE', repeatable: true, help: 'a validating webhook refuses podwire\'s probe pods bound to this node; several may be comma-separated' },
    ],
    notes: [LAB_ROOT],
  },
  { path: 'lab down', summary: 'Removes a lab: its API server, processes, network namespaces, state, and the kubeconfigs `lab up --kubeconfig-out` and `lab kubeconfig` wrote, if unchanged.', flags: [nameFlag('lab name', 'podwire'), { name: 'all', help: 'remove every lab on this machine' }], notes: [LAB_ROOT] },
  {
    path: 'lab kubeconfig', summary: 'Writes a kubeconfig whose token has only the rights of the ClusterRoles and Roles in a YAML file, as a ServiceAccount bound to them would (the lab authorizes every request by RBAC).',
    flags: [
      nameFlag('lab name', 'podwire'),
      { name: 'role', value: 'FILE', help: 'required: YAML with ClusterRoles (bound cluster-wide) and Roles (bound in their namespace); a binding\'s ServiceAccount subject names the user' },
      { name: 'out', value: 'PATH', help: 'required: where to write the kubeconfig (a new file)' },
      { name: 'force', help: 'let --out replace an existing file' },
    ],
    notes: [`Tokens stay valid until the lab is removed. ${LAB_ROOT}`],
  },
  { path: 'lab status', summary: 'Shows a lab\'s nodes, pods and API server (exit 1 when the API does not answer).', flags: [nameFlag('lab name', 'podwire'), jsonFlag('the status as JSON')], notes: [LAB_ROOT] },
  { path: 'lab list', summary: 'Lists the labs on this machine: name, nodes, dataplane, IP family, faults, API URL and age.', flags: [jsonFlag('the list as JSON')], notes: [LAB_ROOT] },
  { path: 'lab faults', summary: 'Lists the faults `lab up --fault` can apply, their dataplanes and the checks that catch them.', flags: [jsonFlag('the faults as JSON')] },
  { path: 'lab preflight', summary: 'Checks the tools a lab needs (iproute2, iptables, CNI plugins, ...).', flags: [{ name: 'install', help: 'install what is missing with apt-get' }, { name: 'tests', help: 'also check what the lab tests need' }] },
];

export const LAB_SUBCOMMANDS = COMMANDS.filter((c) => c.path.startsWith('lab ')).map((c) => c.path.slice(4));

export function commandSpec(path: string): CommandSpec {
  const spec = COMMANDS.find((c) => c.path === path);
  if (!spec) throw new Error(`no command spec for ${path}`);
  return spec;
}

/** `podwire help` / `podwire --help`: every command with its summary. */
export function mainHelp(width = 100): string {
  const w = Math.max(...COMMANDS.map((c) => c.path.length)) + 2;
  const lines = [
    'podwire — packet-level conformance suite for the Kubernetes network model',
    '',
    'Usage: podwire COMMAND [flags]',
    '`podwire help COMMAND` or `podwire COMMAND --help` shows a command\'s flags and their defaults.',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.path.padEnd(w)}${wrap(c.summary, width - w - 2).join(`\n  ${' '.repeat(w)}`)}`),
    `  ${'help [COMMAND]'.padEnd(w)}this help, or a command's`,
    `  ${'--version'.padEnd(w)}podwire's version`,
    '',
    ...wrap('Exit status: 0 ok (run, judge: no check failed), 1 failure (a check failed; diff and run --baseline: a check or node pair got worse), 2 bad usage, unreadable or incomparable reports, unmet precondition or infrastructure error.', width),
    ...wrap(LAB_ROOT, width),
  ];
  return lines.join('\n');
}

/** `podwire lab` alone, `podwire help lab`: the lab's subcommands with their synopses. */
export function labHelp(width = 100): string {
  const labs = COMMANDS.filter((c) => c.path.startsWith('lab '));
  return ['Usage: podwire lab SUBCOMMAND [flags]', '`podwire lab SUBCOMMAND --help` shows its flags and their defaults.', '', 'Subcommands:',
    ...labs.map((c) => `  ${c.path.slice(4).padEnd(11)}${wrap(c.summary, width - 13).join(`\n${' '.repeat(13)}`)}`), '', ...labs.map((c) => synopsis(c, width)), '', LAB_ROOT].join('\n');
}

/** Help for a topic: `run`, `lab`, `lab up`; undefined when there is no such command. */
export function helpFor(topic: string, width = 100): string | undefined {
  if (topic === '') return mainHelp(width);
  if (topic === 'lab') return labHelp(width);
  const spec = COMMANDS.find((c) => c.path === topic);
  return spec ? commandHelp(spec, width) : undefined;
}
