// A node's snapshot read as facts: its routes and policy rules (which route
// a packet from src to dst takes), its interfaces' MTUs, its masquerade and
// SNAT rules and its FORWARD policy (iptables-save or nft). The diagnosis
// (diagnose.ts) reasons with these. Pure; every parser takes the text the
// agent recorded and tolerates what it does not know.
import type { CommandSnapshot, LinkInfo, ProbeInventory } from '../conformance/model.js';
import { familyOf, inCidr, parseCidr } from '../conformance/ip.js';

const ROUTE_TYPES = new Set(['unicast', 'local', 'broadcast', 'multicast', 'anycast', 'blackhole', 'unreachable', 'prohibit', 'throw', 'nat']);

export interface Route {
  /** The prefix as a CIDR (`default` and host routes made explicit). */
  prefix: string;
  type: string;
  table: string;
  via?: string;
  dev?: string;
  mtu?: number;
  /** The line as `ip route` printed it. */
  text: string;
}

const word = (t: string[], key: string) => {
  const i = t.indexOf(key);
  return i >= 0 ? t[i + 1] : undefined;
};

function asCidr(p: string, family: 4 | 6): string | undefined {
  if (p === 'default') return family === 4 ? '0.0.0.0/0' : '::/0';
  if (p.includes('/')) return parseCidr(p) ? p : undefined;
  const f = familyOf(p);
  return f ? `${p}/${f === 4 ? 32 : 128}` : undefined;
}

/** `ip route show table all` of both families: one entry per route (nexthop lines folded into theirs). */
export function parseRoutes(text: string): Route[] {
  const lines: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    if (/^\s/.test(line) && lines.length) lines[lines.length - 1] += ` ${line.trim()}`;
    else lines.push(line.trim());
  }
  const out: Route[] = [];
  for (const line of lines) {
    const t = line.split(/\s+/);
    const type = ROUTE_TYPES.has(t[0]!) ? t.shift()! : 'unicast';
    const head = t[0] ?? '';
    // Only IPv6 routes print a router preference; a default route's gateway shows its family too.
    const family = head.includes(':') || / pref (low|medium|high)\b/.test(line) || /via (inet6 )?[0-9a-f]*:/.test(line) ? 6 : 4;
    const prefix = asCidr(head, family);
    if (!prefix) continue;
    const mtu = Number(word(t, 'mtu'));
    const via = word(t, 'via');
    const dev = word(t, 'dev');
    out.push({ prefix, type, table: word(t, 'table') ?? 'main', ...(via ? { via } : {}), ...(dev ? { dev } : {}), ...(Number.isInteger(mtu) && mtu > 0 ? { mtu } : {}), text: line });
  }
  return out;
}

export interface Rule {
  pref: number;
  from?: string;
  to?: string;
  table: string;
  /** Selectors this reading cannot evaluate (fwmark, iif, …): the rule is not taken. */
  opaque: boolean;
  text: string;
}

/** `ip rule show` of both families. */
export function parseRules(text: string): Rule[] {
  const out: Rule[] = [];
  for (const raw of text.split('\n')) {
    const m = /^(\d+):\s+(.*)$/.exec(raw.trim());
    if (!m) continue;
    const t = m[2]!.split(/\s+/);
    const table = word(t, 'lookup') ?? word(t, 'table');
    if (!table) continue;
    const from = word(t, 'from');
    const to = word(t, 'to');
    const opaque = t.some((w) => ['not', 'fwmark', 'iif', 'oif', 'uidrange', 'ipproto', 'sport', 'dport', 'tos', 'dsfield', 'l3mdev'].includes(w));
    out.push({ pref: Number(m[1]), ...(from && from !== 'all' ? { from } : {}), ...(to && to !== 'all' ? { to } : {}), table, opaque, text: `${m[1]}: ${m[2]}` });
  }
  return out.sort((a, b) => a.pref - b.pref);
}

const prefixLen = (cidr: string) => Number(cidr.split('/')[1]);
const covers = (cidr: string, ip: string) => inCidr(ip, cidr);

/** The most specific route of a table for dst (same family), or undefined. */
export function longestMatch(routes: readonly Route[], table: string, dst: string): Route | undefined {
  let best: Route | undefined;
  for (const r of routes) {
    if (r.table !== table || !covers(r.prefix, dst)) continue;
    if (!best || prefixLen(r.prefix) > prefixLen(best.prefix)) best = r;
  }
  return best;
}

export interface Lookup {
  route?: Route;
  /** The policy rule that chose the table, when it is not the main table. */
  rule?: Rule;
}

/**
 * The route a packet from src to dst takes on a node, as the kernel's policy
 * routing picks it: rules in preference order, the first table with a route
 * (a `throw` route goes on to the next rule). Without recorded rules: the
 * local table, then main.
 */
export function routeLookup(inv: Pick<ProbeInventory, 'routes' | 'rules'>, src: string, dst: string): Lookup {
  const routes = parseRoutes(inv.routes);
  const family = familyOf(dst) ?? 4;
  const rules = inv.rules !== undefined ? parseRules(inv.rules).filter((r) => !r.opaque) : [];
  const order: { table: string; rule?: Rule }[] = rules.length
    ? rules.filter((r) => (!r.from || (familyOf(r.from.split('/')[0]!) === family && covers(asCidr(r.from, family) ?? '', src)))
      && (!r.to || (familyOf(r.to.split('/')[0]!) === family && covers(asCidr(r.to, family) ?? '', dst)))).map((rule) => ({ table: rule.table, rule }))
    : [{ table: 'local' }, { table: 'main' }];
  for (const { table, rule } of order) {
    const route = longestMatch(routes, table, dst);
    if (!route || route.type === 'throw') continue;
    return { route, ...(rule && rule.table !== 'main' && rule.table !== 'local' ? { rule } : {}) };
  }
  return {};
}

/** True for a route that sends nothing anywhere: blackhole, unreachable, prohibit. */
export const dropsPackets = (r: Route) => r.type === 'blackhole' || r.type === 'unreachable' || r.type === 'prohibit';

export const isDefault = (r: Route) => prefixLen(r.prefix) === 0;

/** Policy rules that send traffic from `ip` to a table of its own (AWS VPC CNI's per-pod rules). */
export function sourceRules(inv: Pick<ProbeInventory, 'rules'>, ip: string): Rule[] {
  const family = familyOf(ip);
  if (!family) return [];
  return parseRules(inv.rules ?? '').filter((r) => r.from && r.table !== 'main' && r.table !== 'local' && r.table !== 'default' && covers(asCidr(r.from, family) ?? '', ip));
}

export const linkByName = (links: readonly LinkInfo[] | undefined, name: string | undefined) => links?.find((l) => l.name === name);

// ------------------------------------------------------------------ firewall

const isIptables = (s: CommandSnapshot) => /^(ip6?tables|iptables-legacy)-save\b/.test(s.command);
const isNft = (s: CommandSnapshot) => s.command.startsWith('nft');

/** The rules that rewrite sources: MASQUERADE and SNAT (iptables-save lines, nft statements). */
export function snatRules(fw: readonly CommandSnapshot[] | undefined): string[] {
  const out: string[] = [];
  for (const s of fw ?? []) {
    if (!s.output) continue;
    for (const line of s.output.split('\n')) {
      const l = line.trim();
      if (isIptables(s) && /^-A \S+ .*-j (MASQUERADE|SNAT)\b/.test(l)) out.push(l);
      else if (isNft(s) && /\b(masquerade|snat (ip |ip6 )?to)\b/.test(l)) out.push(l);
    }
  }
  return out;
}

/** The `-s`/`-d` conditions of an iptables-save rule (negated with `!`); nft statements: `ip saddr`/`ip daddr`. */
function addressConditions(rule: string): { neg: boolean; dir: 's' | 'd'; cidr: string }[] {
  const out: { neg: boolean; dir: 's' | 'd'; cidr: string }[] = [];
  for (const m of rule.matchAll(/(!\s+)?(?:-([sd])|--(source|destination)|ip6? ([sd])addr)\s+(!=\s+)?(\S+)/g)) {
    const dir = (m[2] ?? m[4] ?? (m[3] === 'source' ? 's' : 'd')) as 's' | 'd';
    out.push({ neg: !!m[1] || !!m[5], dir, cidr: m[6]!.includes('/') ? m[6]! : `${m[6]}/${m[6]!.includes(':') ? 128 : 32}` });
  }
  return out;
}

/**
 * The MASQUERADE/SNAT rules that hold for a packet from src to dst by their
 * address conditions, and by those of the rules that jump to their chain
 * (iptables-save: a chain no rule jumps to is a base chain), those that name
 * the source first.
 */
export function snatRulesFor(fw: readonly CommandSnapshot[] | undefined, src: string, dst: string): string[] {
  const holds = (r: string) => addressConditions(r).every((c) => inCidr(c.dir === 's' ? src : dst, c.cidr) !== c.neg);
  const names = (r: string) => addressConditions(r).some((c) => c.dir === 's' && !c.neg);
  const lines = (fw ?? []).filter(isIptables).flatMap((s) => (s.output ?? '').split('\n').map((l) => l.trim()).filter((l) => l.startsWith('-A ')));
  const chainOf = (r: string) => r.split(/\s+/)[1] ?? '';
  /** How a rule's chain is reached: unreached, reached, or reached by a jump that names the source. */
  const reach = (chain: string, depth = 0): 'no' | 'yes' | 'named' => {
    const jumps = lines.filter((l) => new RegExp(`\\s-[jg] ${chain.replace(/[^\w-]/g, '')}(\\s|$)`).test(l));
    if (jumps.length === 0 || depth > 8) return 'yes';
    let best: 'no' | 'yes' | 'named' = 'no';
    for (const j of jumps.filter(holds)) {
      const up = reach(chainOf(j), depth + 1);
      if (up === 'named' || (up === 'yes' && names(j))) return 'named';
      if (up === 'yes') best = 'yes';
    }
    return best;
  };
  // An earlier RETURN or ACCEPT of the same chain that holds for the packet by address (and matches nothing else) ends it before the rule.
  const plain = (r: string) => !/\s-m (?!comment\b)|\s--(mark|ctstate|match-set)\b/.test(r);
  const cutShort = (rule: string) => {
    const i = lines.indexOf(rule);
    return lines.slice(0, Math.max(0, i)).some((l) => chainOf(l) === chainOf(rule) && /\s-j (RETURN|ACCEPT)(\s|$)/.test(l) && holds(l) && plain(l));
  };
  const ok: { rule: string; named: boolean }[] = [];
  for (const rule of snatRules(fw).filter((r) => holds(r) && !cutShort(r))) {
    const via = rule.startsWith('-A ') ? reach(chainOf(rule)) : 'yes';
    if (via !== 'no') ok.push({ rule, named: names(rule) || via === 'named' });
  }
  return [...ok.filter((x) => x.named), ...ok.filter((x) => !x.named)].map((x) => x.rule);
}

export interface ForwardPolicy {
  /** The FORWARD chain's policy: ACCEPT or DROP. */
  policy: 'ACCEPT' | 'DROP';
  /** Rules in the chain (an ACCEPT or a jump may let pod traffic through whatever the policy). */
  rules: string[];
  /** The snapshot line that shows the policy. */
  text: string;
}

/** The FORWARD policy the snapshot shows (iptables filter table, or an nft chain hooked on forward), or undefined when no snapshot has it. */
export function forwardPolicy(fw: readonly CommandSnapshot[] | undefined): ForwardPolicy | undefined {
  for (const s of fw ?? []) {
    if (!s.output || !isIptables(s)) continue;
    const lines = s.output.split('\n').map((l) => l.trim());
    let inFilter = false;
    for (const l of lines) {
      if (l.startsWith('*')) inFilter = l === '*filter';
      const m = inFilter ? /^:FORWARD (ACCEPT|DROP)\b/.exec(l) : null;
      if (m) return { policy: m[1] as 'ACCEPT' | 'DROP', rules: lines.filter((x) => x.startsWith('-A FORWARD ')), text: l };
    }
  }
  for (const s of fw ?? []) {
    if (!s.output || !isNft(s)) continue;
    const m = /type filter hook forward[^;]*;[^}]*?policy (accept|drop);/.exec(s.output);
    if (m) return { policy: m[1] === 'drop' ? 'DROP' : 'ACCEPT', rules: [], text: m[0].replace(/\s+/g, ' ') };
  }
  return undefined;
}

/** What the node snapshot lacks, in words: `iptables-save is not installed in the probe image`. */
export function snapshotGaps(fw: readonly CommandSnapshot[] | undefined): string[] {
  if (!fw) return ['no nat/filter snapshot (a bundle from before podwire recorded one)'];
  return fw.filter((s) => s.error).map((s) => `${s.command}: ${s.error}`);
}
