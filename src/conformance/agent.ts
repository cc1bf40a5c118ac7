// The probe agent (src/agent/podwire_agent.py) as the runner uses it: the
// listener's container command, the exec that runs inventory or send, and
// parsers of what the agent prints. The agent's source never travels in an
// exec URL (API servers and proxies reject long URLs with HTTP 431/414): an
// exec carries a short bootstrap, and the source and arguments go on stdin.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';
import type { CommandSnapshot, LinkInfo } from './model.js';

export class AgentError extends Error {}

/** How many ports from the base a listener tries (the agent's PORT_SPAN). */
export const AGENT_PORT_SPAN = 50;
/** Most flows the agent sends at once (the agent's MAX_PARALLEL). */
export const AGENT_MAX_PARALLEL = 128;
/** The agent's exit code for bad arguments; 3 is any other failure, 1 a listener with no free port. */
export const AGENT_EXIT_USAGE = 2;

let cached: string | undefined;

/** The agent's source, read once from src/agent/podwire_agent.py above this module (from dist/ or as source under vitest). */
export function agentSource(): string {
  if (cached !== undefined) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'podwire') {
      const src = readFileSync(join(dir, 'src', 'agent', 'podwire_agent.py'), 'utf8');
      // Kubernetes expands $(VAR) and turns $$ into $ in container commands: a dollar would change the program.
      if (src.includes('$')) throw new AgentError('podwire_agent.py contains a dollar sign, which Kubernetes would expand in a container command');
      return (cached = src);
    }
    const up = dirname(dir);
    if (up === dir) throw new AgentError('cannot find the podwire package root (with src/agent/podwire_agent.py) above this module');
    dir = up;
  }
}

const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * Container command + env for a probe: the agent in `listen` mode. The
 * source is a `python3 -c` argument, so it lives in the pod spec (request
 * body), not in any URL.
 */
export function listenerContainer(opts: { run: string; portBase: number }): {
  command: string[];
  env: { name: string; value?: string; valueFrom?: { fieldRef: { fieldPath: string } } }[];
} {
  if (!RUN_ID.test(opts.run)) throw new AgentError(`run id \`${opts.run}\` may only hold letters, digits, '.', '_' and '-'`);
  if (!Number.isInteger(opts.portBase) || opts.portBase < 1 || opts.portBase + AGENT_PORT_SPAN - 1 > 65535) {
    throw new AgentError(`port base ${opts.portBase} leaves no room for ${AGENT_PORT_SPAN} ports below 65536`);
  }
  return {
    command: ['python3', '-c', unpackCommand(), 'listen'],
    env: [
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'PODWIRE_RUN', value: opts.run },
      { name: 'PODWIRE_PORT_BASE', value: String(opts.portBase) },
    ],
  };
}

export interface InventoryArgs {
  run: string;
  pod: string;
  role: 'pod' | 'host';
  /** host probes: route lookups for pod traffic leaving this node */
  uplinkQueries?: { src: string; dst: string }[];
  /** how long to wait for the listener's port file (ms) */
  portWaitMs?: number;
  /** Start tcpdump too (on all interfaces), detached, and return once it listens. */
  capture?: CaptureSpecArgs;
}

export interface CaptureSpecArgs {
  filter: string;
  snaplen?: number;
  /** tcpdump -c: a bound on what a busy node's capture costs. */
  maxPackets?: number;
  bufferKiB?: number;
}

/** A running capture, as the inventory started it: what send and stop need to end it. */
export interface CaptureHandle {
  pid: number;
  pcap: string;
  log: string;
}

export interface AgentAddress {
  ifname: string;
  ifindex: number;
  family: 4 | 6;
  address: string;
  prefixlen: number;
  /** `ip addr`'s scope: global, link, host, … */
  scope?: string;
}

export interface UplinkAnswer {
  src: string;
  dst: string;
  devices: { name: string; ifindex: number }[];
  reason?: string;
  /** How the devices were found beyond the route lookup: ECMP nexthops, tunnels and their underlay. */
  notes?: string[];
}

export interface AgentInventory {
  addresses: AgentAddress[];
  addrText: string;
  routes: string;
  rules: string;
  /** eth0's MTU (pod probes) */
  mtu?: number;
  /** the port the listener bound (TCP and UDP) */
  port?: number;
  /** No port file, or the port did not answer as this pod's listener on loopback (then `port` is still the file's). */
  portError?: string;
  uplinks: UplinkAnswer[];
  /** The interfaces the probe sees (an older agent prints none). */
  links?: LinkInfo[];
  /** Host probes: the node's nat and filter tables, each command's output or why there is none. */
  firewall?: CommandSnapshot[];
  capture?: CaptureHandle;
  /** Why tcpdump could not be started. */
  captureError?: string;
}

export interface AgentFlow {
  id: string;
  token: string;
  proto: 'tcp' | 'udp';
  dst: string;
  port: number;
  /** a full-size DF datagram: size = the route MTU to dst */
  mtu?: boolean;
}

export interface SendArgs {
  flows: AgentFlow[];
  replyWaitMs: number;
  connectTimeoutMs: number;
  /** Flows in flight at once (default and most: AGENT_MAX_PARALLEL). */
  parallel?: number;
  /** The probe's capture: after its flows the agent prints {"done":true}, waits for a line on stdin, then streams the capture. */
  capture?: CaptureHandle;
}

export interface AgentSent {
  id: string;
  /** The source the kernel chose for dst, bound explicitly: the address as sent, before any NAT. '' when no route. */
  src: string;
  sport?: number;
  sports: number[];
  errno: number;
  error?: string;
  reply: string;
  /** MTU flows: the IP length of the datagram sent (the route MTU, capped at the largest IP packet). */
  size?: number;
  /** MTU flows: IP_MTU as the kernel reported it for dst. */
  routeMtu?: number;
  retried: boolean;
  ms: number;
}

let packed: string | undefined;

/**
 * The agent's source, zlib-compressed and base64-encoded: what goes over the
 * API (in the listener's pod spec and on every exec's stdin) is about a third
 * of the source, which counts on a 1,000-node cluster (README, Large clusters).
 */
export function packedAgentSource(): string {
  return (packed ??= deflateSync(Buffer.from(agentSource()), { level: 9 }).toString('base64'));
}

/** `python3 -c` code that runs the packed source as __main__ (with the process's own argv). */
export const unpackCommand = () => `import base64,zlib;exec(compile(zlib.decompress(base64.b64decode('${packedAgentSource()}')),'podwire_agent.py','exec'))`;

// Reads `<packed source bytes> <args bytes>\n`, then exactly that many bytes
// of each: lengths, not EOF, because v4.channel.k8s.io (API servers before
// 1.30) has no way to close stdin. The source then runs as __main__ with its arguments.
const BOOTSTRAP = [
  'import sys,zlib,base64',
  'b=sys.stdin.buffer',
  'n,m=map(int,b.readline().split())',
  's=zlib.decompress(base64.b64decode(b.read(n)))',
  'a=b.read(m)',
  "len(a)<m and sys.exit('podwire-agent: stdin ended early')",
  "exec(compile(s,'podwire_agent.py','exec'),{'__name__':'__main__','PODWIRE_ARGS':a})",
].join(';');

/** An exec of the agent: a short command (the bootstrap) and the stdin payload (source + JSON args). */
export function agentExec(mode: 'inventory' | 'send' | 'stop', args: InventoryArgs | SendArgs | { capture: CaptureHandle }): { command: string[]; stdin: string } {
  const src = packedAgentSource();
  const json = JSON.stringify(args);
  return {
    command: ['python3', '-c', BOOTSTRAP, mode],
    stdin: `${Buffer.byteLength(src)} ${Buffer.byteLength(json)}\n${src}${json}`,
  };
}

/**
 * An upper bound for a send exec, for its timeout: each flow takes at most
 * two tries of connect + reply wait, `parallel` at a time, plus the agent's
 * start and the MTU flows' grace.
 */
export function sendTimeoutMs(args: SendArgs): number {
  const parallel = Math.max(1, Math.min(args.parallel ?? AGENT_MAX_PARALLEL, AGENT_MAX_PARALLEL));
  const waves = Math.max(1, Math.ceil(args.flows.length / parallel));
  return waves * 2 * (args.connectTimeoutMs + args.replyWaitMs) + 1000 + 10_000;
}

// ---------------------------------------------------------------- parsing

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function field<T>(o: Obj, key: string, where: string, ok: (v: unknown) => v is T, what: string, optional = false): T | undefined {
  const v = o[key];
  if (v === undefined && optional) return undefined;
  if (!ok(v)) throw new AgentError(`${where}.${key} is ${v === undefined ? 'missing' : `not ${what} (${JSON.stringify(v)?.slice(0, 60)})`}`);
  return v;
}
const str = (v: unknown): v is string => typeof v === 'string';
const int = (v: unknown): v is number => Number.isInteger(v);
const port = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 65535;
const bool = (v: unknown): v is boolean => typeof v === 'boolean';
const arrayOf = <T>(ok: (v: unknown) => v is T) => (v: unknown): v is T[] => Array.isArray(v) && v.every(ok);

function parseAddress(v: unknown, where: string): AgentAddress {
  if (!isObj(v)) throw new AgentError(`${where} is not an object`);
  const family = field(v, 'family', where, (x): x is 4 | 6 => x === 4 || x === 6, '4 or 6')!;
  const scope = field(v, 'scope', where, str, 'a string', true);
  return {
    ifname: field(v, 'ifname', where, str, 'a string')!,
    ifindex: field(v, 'ifindex', where, int, 'an integer')!,
    family,
    address: field(v, 'address', where, str, 'a string')!,
    prefixlen: field(v, 'prefixlen', where, (x): x is number => int(x) && x >= 0 && x <= (family === 4 ? 32 : 128), 'a prefix length')!,
    ...(scope !== undefined ? { scope } : {}),
  };
}

function parseLink(v: unknown, where: string): LinkInfo {
  if (!isObj(v)) throw new AgentError(`${where} is not an object`);
  const mtu = field(v, 'mtu', where, (x): x is number => int(x) && x > 0, 'a positive integer', true);
  const kind = field(v, 'kind', where, str, 'a string', true);
  return {
    name: field(v, 'name', where, str, 'a string')!, ifindex: field(v, 'ifindex', where, int, 'an integer')!,
    ...(mtu !== undefined ? { mtu } : {}), ...(kind !== undefined ? { kind } : {}),
  };
}

function parseSnapshot(v: unknown, where: string): CommandSnapshot {
  if (!isObj(v)) throw new AgentError(`${where} is not an object`);
  const output = field(v, 'output', where, str, 'a string', true);
  const error = field(v, 'error', where, str, 'a string', true);
  const omitted = field(v, 'omitted', where, str, 'a string', true);
  if (output === undefined && error === undefined) throw new AgentError(`${where} has neither output nor error`);
  return {
    command: field(v, 'command', where, str, 'a string')!,
    ...(output !== undefined ? { output } : {}), ...(error !== undefined ? { error } : {}), ...(omitted !== undefined ? { omitted } : {}),
  };
}

function parseUplink(v: unknown, where: string): UplinkAnswer {
  if (!isObj(v)) throw new AgentError(`${where} is not an object`);
  const devices = field(v, 'devices', where, Array.isArray, 'a list')!.map((d, i) => {
    const w = `${where}.devices[${i}]`;
    if (!isObj(d)) throw new AgentError(`${w} is not an object`);
    return { name: field(d, 'name', w, str, 'a string')!, ifindex: field(d, 'ifindex', w, int, 'an integer')! };
  });
  const reason = field(v, 'reason', where, str, 'a string', true);
  const notes = field(v, 'notes', where, arrayOf(str), 'a list of strings', true);
  if (devices.length === 0 && !reason) throw new AgentError(`${where} has no devices and no reason`);
  return {
    src: field(v, 'src', where, str, 'a string')!,
    dst: field(v, 'dst', where, str, 'a string')!,
    devices,
    ...(reason !== undefined ? { reason } : {}),
    ...(notes !== undefined ? { notes } : {}),
  };
}

/** The inventory JSON the agent printed; throws AgentError naming what is malformed. */
export function parseInventoryOutput(stdout: string): AgentInventory {
  const text = stdout.trim();
  if (!text) throw new AgentError('inventory: the agent printed nothing');
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new AgentError(`inventory: not one JSON object (${(e as Error).message}): ${text.slice(0, 80)}`);
  }
  if (!isObj(v)) throw new AgentError('inventory: not a JSON object');
  const w = 'inventory';
  const mtu = field(v, 'mtu', w, (x): x is number => int(x) && x > 0, 'a positive integer', true);
  const p = field(v, 'port', w, port, 'a port number', true);
  const portError = field(v, 'portError', w, str, 'a string', true);
  if (p === undefined && portError === undefined) throw new AgentError('inventory has neither port nor portError');
  const links = field(v, 'links', w, Array.isArray, 'a list', true);
  const firewall = field(v, 'firewall', w, Array.isArray, 'a list', true);
  return {
    addresses: field(v, 'addresses', w, Array.isArray, 'a list')!.map((a, i) => parseAddress(a, `${w}.addresses[${i}]`)),
    addrText: field(v, 'addrText', w, str, 'a string')!,
    routes: field(v, 'routes', w, str, 'a string')!,
    rules: field(v, 'rules', w, str, 'a string')!,
    ...(mtu !== undefined ? { mtu } : {}),
    ...(p !== undefined ? { port: p } : {}),
    ...(portError !== undefined ? { portError } : {}),
    uplinks: field(v, 'uplinks', w, Array.isArray, 'a list')!.map((u, i) => parseUplink(u, `${w}.uplinks[${i}]`)),
    ...(links ? { links: links.map((l, i) => parseLink(l, `${w}.links[${i}]`)) } : {}),
    ...(firewall ? { firewall: firewall.map((f, i) => parseSnapshot(f, `${w}.firewall[${i}]`)) } : {}),
    ...captureOf(v, w),
  };
}

function captureOf(v: Obj, w: string): Pick<AgentInventory, 'capture' | 'captureError'> {
  const captureError = field(v, 'captureError', w, str, 'a string', true);
  const c = field(v, 'capture', w, isObj, 'an object', true);
  if (!c) return captureError !== undefined ? { captureError } : {};
  return {
    capture: {
      pid: field(c, 'pid', `${w}.capture`, (x): x is number => int(x) && x > 0, 'a PID')!,
      pcap: field(c, 'pcap', `${w}.capture`, str, 'a path')!,
      log: field(c, 'log', `${w}.capture`, str, 'a path')!,
    },
  };
}

/** What a send exec with a capture printed: its flows, whether it reached "done", and the capture that followed. */
export interface SendStream {
  sent: Map<string, AgentSent>;
  done: boolean;
  capture?: { bytes: Buffer; sha256: string; stats: { captured?: number; receivedByFilter?: number; droppedByKernel?: number } } | { error: string };
}

/**
 * Splits a send exec's stdout: JSON lines (flows, then {"done":true}), then a
 * {"capture":…} header line and exactly that many bytes of pcap. The length
 * and sha256 in the header are checked here: a damaged transfer is an error
 * on the capture, not a silent partial one.
 */
export function parseSendStream(out: Buffer): SendStream {
  const marker = Buffer.from('{"capture":');
  const at = out.subarray(0, 1).equals(Buffer.from('{')) && out.subarray(0, marker.length).equals(marker) ? 0 : out.indexOf(Buffer.concat([Buffer.from('\n'), marker]));
  const textEnd = at < 0 ? out.length : at === 0 ? 0 : at + 1;
  const lines = out.subarray(0, textEnd).toString('utf8').split('\n');
  const done = lines.some((l) => l.trim() === '{"done":true}');
  const sent = parseSendOutput(lines.filter((l) => l.trim() !== '{"done":true}').join('\n'));
  if (at < 0) return { sent, done };
  const nl = out.indexOf(0x0a, textEnd);
  if (nl < 0) return { sent, done, capture: { error: 'the capture header is cut short' } };
  let header: unknown;
  try {
    header = (JSON.parse(out.subarray(textEnd, nl).toString('utf8')) as { capture?: unknown }).capture;
  } catch {
    return { sent, done, capture: { error: 'the capture header is not JSON' } };
  }
  if (!isObj(header)) return { sent, done, capture: { error: 'the capture header is not an object' } };
  if (typeof header.error === 'string') return { sent, done, capture: { error: header.error } };
  const bytes = out.subarray(nl + 1);
  const want = header.bytes;
  const got = createHash('sha256').update(bytes).digest('hex');
  if (bytes.length !== want || got !== header.sha256) return { sent, done, capture: { error: `the capture arrived damaged (${bytes.length} of ${String(want)} bytes, sha256 ${got === header.sha256 ? 'matches' : 'differs'})` } };
  const st = isObj(header.stats) ? header.stats : {};
  const num = (k: string) => (int(st[k]) ? { [k]: st[k] as number } : {});
  return { sent, done, capture: { bytes: Buffer.from(bytes), sha256: got, stats: { ...num('captured'), ...num('receivedByFilter'), ...num('droppedByKernel') } } };
}

function parseSent(v: unknown, where: string): AgentSent {
  if (!isObj(v)) throw new AgentError(`${where} is not a JSON object`);
  const id = field(v, 'id', where, str, 'a string')!;
  const w = `${where} (flow ${id})`;
  const errnoV = field(v, 'errno', w, (x): x is number => int(x) && x >= 0, 'an errno')!;
  const error = field(v, 'error', w, str, 'a string', true);
  if (errnoV !== 0 && !error) throw new AgentError(`${w} has errno ${errnoV} without its name`);
  const sports = field(v, 'sports', w, arrayOf(port), 'a list of ports')!;
  const sport = field(v, 'sport', w, port, 'a port', true);
  const size = field(v, 'size', w, (x): x is number => int(x) && x > 0, 'a positive integer', true);
  const routeMtu = field(v, 'routeMtu', w, (x): x is number => int(x) && x > 0, 'a positive integer', true);
  return {
    id,
    src: field(v, 'src', w, str, 'a string')!,
    ...(sport !== undefined ? { sport } : {}),
    sports,
    errno: errnoV,
    ...(error !== undefined ? { error } : {}),
    reply: field(v, 'reply', w, str, 'a string')!,
    ...(size !== undefined ? { size } : {}),
    ...(routeMtu !== undefined ? { routeMtu } : {}),
    retried: field(v, 'retried', w, bool, 'a boolean')!,
    ms: field(v, 'ms', w, (x): x is number => int(x) && x >= 0, 'a duration in ms')!,
  };
}

/** One JSON object per line per flow; throws AgentError on a malformed line (a truncated last line included) or a repeated id. */
export function parseSendOutput(stdout: string): Map<string, AgentSent> {
  const sent = new Map<string, AgentSent>();
  stdout.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      throw new AgentError(`send output line ${i + 1} is not JSON: ${line.slice(0, 80)}`);
    }
    const s = parseSent(v, `send output line ${i + 1}`);
    if (sent.has(s.id)) throw new AgentError(`send output line ${i + 1} repeats flow ${s.id}`);
    sent.set(s.id, s);
  });
  return sent;
}
