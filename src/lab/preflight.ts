// Host tools the lab needs, and installing the missing ones with apt-get
import { PreconditionError } from '../errors.js';
// (when root) or naming the exact command to run.
import { access, constants } from 'node:fs/promises';
import { delimiter } from 'node:path';
import { spawnCollect } from './sh.js';

export interface Requirement {
  /** A command on PATH, or an absolute file. */
  need: string;
  pkg: string;
  why: string;
}

export const LAB_REQUIREMENTS: Requirement[] = [
  { need: 'ip', pkg: 'iproute2', why: 'network namespaces, links, routes' },
  { need: 'bridge', pkg: 'iproute2', why: 'VXLAN forwarding entries' },
  { need: 'iptables-restore', pkg: 'iptables', why: 'egress masquerade in nodes' },
  { need: 'tcpdump', pkg: 'tcpdump', why: 'packet captures in probes' },
  { need: 'socat', pkg: 'socat', why: 'probe listeners and senders' },
  { need: 'openssl', pkg: 'openssl', why: 'the API server certificate' },
  { need: 'timeout', pkg: 'coreutils', why: 'bounded probe commands' },
  { need: 'unshare', pkg: 'util-linux', why: "each pod's PID, mount and UTS namespaces" },
  { need: 'nsenter', pkg: 'util-linux', why: 'containers and exec joining their pod' },
  // The exact path: pods run with the system PATH, whatever python3 comes first on the caller's.
  { need: '/usr/bin/python3', pkg: 'python3', why: "the pods' holder (pause) process and the probe agent" },
  { need: '/usr/lib/cni/bridge', pkg: 'containernetworking-plugins', why: 'CNI bridge plugin' },
  { need: '/usr/lib/cni/host-local', pkg: 'containernetworking-plugins', why: 'CNI host-local IPAM' },
];

/** What a lab with IPv6 (`--ip-family ipv6|dual`) needs on top. */
export const IPV6_REQUIREMENTS: Requirement[] = [
  { need: 'ip6tables-restore', pkg: 'iptables', why: 'IPv6 egress masquerade in nodes' },
];

/** What podwire's own tests use on top of the lab: real clients to prove API compatibility. */
export const TEST_REQUIREMENTS: Requirement[] = [
  { need: 'kubectl', pkg: 'kubernetes-client', why: 'kubectl against the lab (any recent kubectl will do)' },
  { need: 'python3-kubernetes', pkg: 'python3-kubernetes', why: "the official Python client's exec against the lab" },
  { need: 'ps', pkg: 'procps', why: "listing a pod's processes in the pod tests" },
  { need: 'tshark', pkg: 'tshark', why: 'the reference decoder the decoder tests compare against' },
  // The exact path: the HTML report test drives this binary with playwright-core, which never downloads a browser.
  { need: '/usr/bin/chromium', pkg: 'chromium', why: 'a real browser for the report.html test' },
];

const SBIN = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

async function executable(file: string): Promise<boolean> {
  return access(file, constants.X_OK).then(() => true, () => false);
}

async function present(r: Requirement): Promise<boolean> {
  if (r.need === 'python3-kubernetes') {
    // Debian's module lives in the system interpreter, whatever python3 comes first on PATH.
    return spawnCollect('/usr/bin/python3', ['-c', 'import kubernetes.stream']).then((x) => x.exitCode === 0);
  }
  if (r.need.startsWith('/')) return executable(r.need);
  const dirs = [...(process.env.PATH ?? '').split(delimiter), ...SBIN].filter(Boolean);
  for (const d of dirs) if (await executable(`${d}/${r.need}`)) return true;
  return false;
}

export async function missing(reqs: readonly Requirement[]): Promise<Requirement[]> {
  const flags = await Promise.all(reqs.map(present));
  return reqs.filter((_, i) => !flags[i]);
}

export class PreflightError extends PreconditionError {}

export function installCommand(pkgs: readonly string[]): string {
  return `apt-get update && apt-get install -y --no-install-recommends ${pkgs.join(' ')}`;
}

/**
 * Ensures the requirements are met: installs missing packages with apt-get when
 * running as root and `install` is set, otherwise fails naming the command.
 */
export async function preflight(reqs: readonly Requirement[], opts: { install: boolean; log?: (s: string) => void }): Promise<string[]> {
  const gone = await missing(reqs);
  if (gone.length === 0) return [];
  const pkgs = [...new Set(gone.map((r) => r.pkg))];
  const what = gone.map((r) => r.need).join(', ');
  if (!opts.install || process.getuid?.() !== 0) {
    throw new PreflightError(`missing ${what}; install with: ${installCommand(pkgs)}`);
  }
  opts.log?.(`installing ${pkgs.join(' ')} (missing ${what})`);
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  const update = await spawnCollect('apt-get', ['update'], { env });
  const install = await spawnCollect('apt-get', ['install', '-y', '--no-install-recommends', ...pkgs], { env });
  if (install.exitCode !== 0) {
    const why = (install.stderr || update.stderr || install.failure || '').trim().split('\n').slice(-2).join(' | ');
    throw new PreflightError(`apt-get could not install ${pkgs.join(' ')}: ${why}`);
  }
  const still = await missing(reqs);
  if (still.length) throw new PreflightError(`still missing after apt-get: ${still.map((r) => r.need).join(', ')}`);
  return pkgs;
}
