// `lab up --cni-config FILE`: a user's CNI network configuration list (a
// conflist, CNI spec 1.0 §1) for the pods of every node. Pure: parses and
// checks the file's text, substitutes the per-node placeholders, and reads
// the address ranges its IPAM hands out. The plugins are run by cni.ts.
import ipaddr from 'ipaddr.js';
import { UsageError } from '../errors.js';
import type { Dataplane } from './plan.js';
import type { FaultName } from './faults.js';

/** A plugin object of a conflist: its `type` names the binary; every other key is the plugin's own. */
export interface CniPluginConf {
  type: string;
  [key: string]: unknown;
}

export interface CniConfList {
  cniVersion: string;
  name: string;
  plugins: CniPluginConf[];
  [key: string]: unknown;
}

/** The per-node values a conflist may name as `{{name}}` (README "Your own CNI config"). */
export interface NodeValues {
  podCIDR: string;
  nodeName: string;
  nodeIndex: number;
  /** The pods' MTU as the dataplane gives it (the underlay's; less the VXLAN overhead on vxlan). */
  mtu: number;
  /** The node's own IPAM data directory (the lab's nodes share one filesystem). */
  ipamDir: string;
}

export const PLACEHOLDERS: readonly (keyof NodeValues)[] = ['podCIDR', 'nodeName', 'nodeIndex', 'mtu', 'ipamDir'];
/** A JSON string that is exactly one of these placeholders becomes a JSON number. */
const NUMERIC: readonly (keyof NodeValues)[] = ['nodeIndex', 'mtu'];

/**
 * Versions whose results carry `ips` (0.3.0 on), the shape the lab reads the
 * pod's address from. The lab passes the version through; the plugins decide
 * whether they speak it.
 */
export const CONFLIST_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'];

/** Dataplanes whose pods are wired by a plain CNI config the user's can replace. */
export const CNI_CONFIG_DATAPLANES: readonly Dataplane[] = ['host-gw', 'vxlan'];

const PLACEHOLDER = /\{\{([^{}]*)\}\}/g;
/** CNI spec: a network name, and a plugin type is a file name in CNI_PATH. */
const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const PLUGIN_TYPE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Why `--cni-config` cannot go with this dataplane or these faults, or undefined. */
export function cniConfigConflict(dataplane: Dataplane, faults: readonly FaultName[]): string | undefined {
  if (!CNI_CONFIG_DATAPLANES.includes(dataplane)) {
    return `\`--cni-config\` replaces the pods' CNI config of the ${CNI_CONFIG_DATAPLANES.join(' and ')} dataplanes; ${dataplane} brings its own pod wiring (use --dataplane host-gw or vxlan)`;
  }
  if (faults.includes('masquerade-all')) {
    return 'fault `masquerade-all` turns on ipMasq in the lab\'s own bridge config; with `--cni-config` your conflist decides (set "ipMasq": true in it)';
  }
  return undefined;
}

/** Parses and checks a conflist; throws a UsageError naming `source` and what is wrong. */
export function parseConflist(text: string, source: string): CniConfList {
  const bad = (what: string) => new UsageError(`--cni-config \`${source}\`: ${what}`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw bad(`not JSON (${jsonError((err as Error).message, text)})`);
  }
  if (!isObject(doc)) throw bad('not a CNI conflist: expected a JSON object with cniVersion, name and plugins');
  if (doc.plugins === undefined && typeof doc.type === 'string') {
    throw bad('a single network config (.conf), not a conflist: put the plugin object in a `plugins` array next to cniVersion and name');
  }
  if (typeof doc.cniVersion !== 'string') throw bad('not a CNI conflist: `cniVersion` is missing or not a string');
  if (!CONFLIST_VERSIONS.includes(doc.cniVersion)) {
    throw bad(`cniVersion \`${doc.cniVersion}\` is not one the lab reads results of (${CONFLIST_VERSIONS.join(', ')})`);
  }
  if (typeof doc.name !== 'string') throw bad('not a CNI conflist: `name` is missing or not a string');
  if (!NETWORK_NAME.test(doc.name)) throw bad(`name \`${doc.name}\` is not a CNI network name (letters, digits, _ . -, starting with a letter or digit)`);
  if (!Array.isArray(doc.plugins) || doc.plugins.length === 0) throw bad('not a CNI conflist: `plugins` must be a non-empty array of plugin objects');
  doc.plugins.forEach((p: unknown, i) => {
    if (!isObject(p)) throw bad(`plugins[${i}] is not an object`);
    if (typeof p.type !== 'string') throw bad(`plugins[${i}] has no \`type\` (the plugin binary's name)`);
    if (!PLUGIN_TYPE.test(p.type)) throw bad(`plugins[${i}].type \`${p.type}\` is not a plugin name (a file name in --cni-bin-dir)`);
    if (isObject(p.ipam) && p.ipam.type !== undefined && (typeof p.ipam.type !== 'string' || !PLUGIN_TYPE.test(p.ipam.type))) {
      throw bad(`plugins[${i}].ipam.type \`${String(p.ipam.type)}\` is not a plugin name (a file name in --cni-bin-dir)`);
    }
  });
  const uses = placeholderUses(doc);
  const inKey = uses.find((u) => u.key !== undefined);
  if (inKey) throw bad(`placeholder \`{{${inKey.name}}}\` in the key \`${inKey.key}\` at ${inKey.at}: placeholders are substituted in string values only`);
  const unknown = uses.find((u) => !(PLACEHOLDERS as readonly string[]).includes(u.name));
  if (unknown) {
    throw bad(`unknown placeholder \`{{${unknown.name}}}\` at ${unknown.at}; known: ${PLACEHOLDERS.map((p) => `{{${p}}}`).join(', ')}`);
  }
  return doc as CniConfList;
}

/** JSON.parse's complaint on one line, its position as line and column (it may quote the text, newlines and all). */
function jsonError(message: string, text: string): string {
  const pos = /at position (\d+)/.exec(message);
  const oneLine = message.replace(/\s+/g, ' ').replace(/ in JSON at position \d+.*$/, '').slice(0, 120);
  if (!pos) return oneLine;
  const before = text.slice(0, Number(pos[1]));
  return `${oneLine} at line ${before.split('\n').length}, column ${Number(pos[1]) - before.lastIndexOf('\n')}`;
}

/** Every `{{…}}` in the document with its JSON path; `key` when it is in an object key, where none is substituted. */
function placeholderUses(v: unknown, at = '$'): { name: string; at: string; key?: string }[] {
  if (typeof v === 'string') return [...v.matchAll(PLACEHOLDER)].map((m) => ({ name: m[1]!, at }));
  if (Array.isArray(v)) return v.flatMap((x, i) => placeholderUses(x, `${at}[${i}]`));
  if (!isObject(v)) return [];
  return Object.entries(v).flatMap(([k, x]) => [
    ...[...k.matchAll(PLACEHOLDER)].map((m) => ({ name: m[1]!, at, key: k })),
    ...placeholderUses(x, `${at}.${k}`),
  ]);
}

/** The binaries the conflist runs: every plugin's type and every IPAM type, unique, in order. */
export function pluginBinaries(c: CniConfList): string[] {
  const types = c.plugins.flatMap((p) => [p.type, ...(isObject(p.ipam) && typeof p.ipam.type === 'string' ? [p.ipam.type] : [])]);
  return [...new Set(types)];
}

/**
 * The conflist for one node: placeholders substituted (a string that is
 * exactly `{{mtu}}` or `{{nodeIndex}}` becomes a number), and host-local IPAM
 * without a `dataDir` given the node's own, as each real node has its own
 * /var/lib/cni while the lab's nodes share one filesystem.
 */
export function renderConflist(c: CniConfList, values: NodeValues): CniConfList {
  const sub = (v: unknown): unknown => {
    if (typeof v === 'string') {
      const whole = /^\{\{([^{}]*)\}\}$/.exec(v)?.[1];
      if (whole && (NUMERIC as readonly string[]).includes(whole)) return values[whole as keyof NodeValues];
      return v.replace(PLACEHOLDER, (_, name: string) => String(values[name as keyof NodeValues]));
    }
    if (Array.isArray(v)) return v.map(sub);
    if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, sub(x)]));
    return v;
  };
  const out = sub(c) as CniConfList;
  for (const p of out.plugins) {
    if (isObject(p.ipam) && p.ipam.type === 'host-local' && p.ipam.dataDir === undefined) p.ipam = { ...p.ipam, dataDir: values.ipamDir };
  }
  return out;
}

/**
 * The IPv4 ranges the conflist's IPAM hands addresses out of, as host-local
 * declares them (`ranges[][].subnet`, or the older single `subnet`), in
 * network form. An IPAM that keeps its ranges elsewhere yields none.
 */
export function ipamRanges(c: CniConfList): string[] {
  const subnets = c.plugins.flatMap((p) => {
    if (!isObject(p.ipam)) return [];
    const ranges = Array.isArray(p.ipam.ranges) ? p.ipam.ranges.flat() : [];
    return [p.ipam.subnet, ...ranges.map((r: unknown) => (isObject(r) ? r.subnet : undefined))];
  });
  const v4 = subnets.filter((s): s is string => typeof s === 'string' && ipaddr.IPv4.isValidCIDR(s));
  return [...new Set(v4.map((s) => `${ipaddr.IPv4.networkAddressFromCIDR(s).toString()}/${s.split('/')[1]}`))];
}

/** Whether an IPv4 address lies in an IPv4 CIDR (false for anything else, e.g. an empty podCIDR). */
export function inCidr4(ip: string, cidr: string): boolean {
  if (!ipaddr.IPv4.isValid(ip) || !ipaddr.IPv4.isValidCIDR(cidr)) return false;
  return ipaddr.IPv4.parse(ip).match(ipaddr.IPv4.parseCIDR(cidr));
}
