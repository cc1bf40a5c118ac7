// The checks decided from the API's objects alone: unique pod IPs (NM-3.1),
// a sound address plan (NM-3.2) and, strict, pods inside their node's
// podCIDR (NM-3.4). Per family; live pods only (FIELD.md §2). Pure.
import type { FlowVerdict, Verdict } from './model.js';
import { familyOf, inCidr, parseCidr } from './ip.js';
import { familiesOf, familyName } from './families.js';
import { isLive, type ApiNode, type ApiPod, type Observations } from './observations.js';
import type { CheckOutcome } from './verdicts.js';

const finding = (what: string, observed: string, verdict: Verdict, expected = '', note?: string): FlowVerdict =>
  ({ flow: what, kind: 'api', proto: '-', from: 'api', to: 'api', verdict, expected, observed, captures: [], ...(note ? { note } : {}) });

const podRef = (p: ApiPod) => `${p.namespace}/${p.name}`;

function apiOutcome(findings: FlowVerdict[], okReason: string): CheckOutcome {
  const failed = findings.filter((f) => f.verdict === 'failed');
  return failed.length
    ? { result: 'failed', reason: `${failed.length} problem(s): ${failed.slice(0, 5).map((f) => f.observed).join('; ')}${failed.length > 5 ? '; …' : ''}`, flows: findings }
    : { result: 'passed', reason: okReason, flows: findings };
}

/** NM-3.1: no two live pods share an IP; an IP a finished pod kept is a note, not a duplicate. */
export function uniquePodIPs(o: Observations): CheckOutcome {
  const live = o.pods.filter(isLive).filter((p) => p.podIPs.length > 0);
  if (live.length === 0) return { result: 'skipped', reason: 'no live pod with a pod-network IP was listed: nothing to judge', flows: [] };
  const owners = new Map<string, string[]>();
  for (const p of live) for (const ip of p.podIPs) owners.set(ip, [...(owners.get(ip) ?? []), podRef(p)]);
  const stale = new Map<string, string[]>();
  for (const p of o.pods.filter((x) => !x.hostNetwork && !isLive(x))) for (const ip of p.podIPs) stale.set(ip, [...(stale.get(ip) ?? []), `${podRef(p)} (${p.phase})`]);
  const findings = [...owners].sort(([a], [b]) => (a < b ? -1 : 1)).map(([ip, who]) => {
    const fam = familyName(familyOf(ip) ?? 4);
    if (who.length > 1) return finding(ip, `${fam} ${ip} is held by ${who.length} live pods: ${who.join(', ')}`, 'failed', `${ip} held by one live pod`);
    const kept = stale.get(ip);
    return finding(ip, `${fam} ${ip} is held by ${who[0]} only`, 'passed', `${ip} held by one live pod`,
      kept ? `also kept by finished pod(s) ${kept.join(', ')}: a stale IP, reused as Kubernetes allows, not a duplicate` : undefined);
  });
  const perFamily = familiesOf(owners.keys()).map((f) => [f, [...owners.keys()].filter((ip) => familyOf(ip) === f).length] as const);
  return apiOutcome(findings, `${perFamily.map(([f, n]) => `${n} ${familyName(f)}`).join(' and ')} pod IP(s) of ${live.length} live pod(s), all unique`);
}

/**
 * Every pair of nodes' pod CIDRs that overlap (node i's CIDR x and node j's
 * CIDR y, i < j), in the order a comparison of every pair would find them.
 * CIDR blocks are nested or disjoint, so overlapping ones are found by
 * sorting each family's blocks by their first address and keeping those
 * still open: O(N log N), where comparing every pair is 12 million
 * comparisons at 5,000 nodes.
 */
export function overlappingCidrs(nodes: readonly ApiNode[]): { i: number; x: number; j: number; y: number }[] {
  const blocks: { i: number; x: number; family: number; lo: bigint; hi: bigint }[] = [];
  nodes.forEach((n, i) => n.podCIDRs.forEach((cidr, x) => {
    const c = parseCidr(cidr);
    if (!c) return;
    const width = c.family === 4 ? 32 : 128;
    const lo = c.net.toByteArray().reduce((v, byte) => (v << 8n) + BigInt(byte), 0n);
    blocks.push({ i, x, family: c.family, lo, hi: lo + (1n << BigInt(width - c.bits)) - 1n });
  }));
  blocks.sort((a, b) => a.family - b.family || (a.lo < b.lo ? -1 : a.lo > b.lo ? 1 : 0));
  const pairs: { i: number; x: number; j: number; y: number }[] = [];
  let open: typeof blocks = [];
  for (const b of blocks) {
    open = open.filter((a) => a.family === b.family && a.hi >= b.lo);
    for (const a of open) {
      if (a.i === b.i) continue;
      pairs.push(a.i < b.i ? { i: a.i, x: a.x, j: b.i, y: b.x } : { i: b.i, x: b.x, j: a.i, y: a.x });
    }
    open.push(b);
  }
  return pairs.sort((p, q) => p.i - q.i || p.j - q.j || p.x - q.x || p.y - q.y);
}

/** NM-3.2: node podCIDRs of a family do not overlap; no live pod holds a node's address. */
export function addressPlan(o: Observations): CheckOutcome {
  const findings: FlowVerdict[] = [];
  const withCidrs = o.nodes.filter((n) => n.podCIDRs.length > 0);
  for (const { i, x, j, y } of overlappingCidrs(withCidrs)) {
    const [a, b] = [withCidrs[i]!, withCidrs[j]!];
    findings.push(finding(`${a.name}/${b.name}`, `pod CIDRs overlap: ${a.name} ${a.podCIDRs[x]} and ${b.name} ${b.podCIDRs[y]}`, 'failed', 'disjoint node pod CIDRs'));
  }
  for (const n of withCidrs) {
    if (!findings.some((f) => f.verdict === 'failed' && f.flow.split('/').includes(n.name))) {
      findings.push(finding(n.name, `${n.name} pod CIDR(s) ${n.podCIDRs.join(', ')} overlap no other node's`, 'passed', 'disjoint node pod CIDRs'));
    }
  }
  const nodeIPs = new Map(o.nodes.flatMap((n) => n.addresses.map((a) => [a, n.name] as const)));
  const live = o.pods.filter(isLive);
  let podIPs = 0;
  let clashes = 0;
  for (const p of live) {
    for (const ip of p.podIPs) {
      podIPs++;
      const owner = nodeIPs.get(ip);
      if (!owner) continue;
      clashes++;
      findings.push(finding(ip, `pod ${podRef(p)} has ${ip}, an address of node ${owner}`, 'failed', 'no pod IP equal to a node address'));
    }
  }
  if (withCidrs.length === 0 && podIPs === 0) return { result: 'skipped', reason: 'no node has a pod CIDR and no live pod has an IP: nothing to judge', flows: [] };
  if (podIPs && !clashes) findings.push(finding('pod-ips', `${podIPs} pod IP(s) checked against ${nodeIPs.size} node address(es): none equal`, 'passed', 'no pod IP equal to a node address'));
  const cidrPart = withCidrs.length ? `${withCidrs.length} node(s)' pod CIDRs disjoint per family` : 'no node has a pod CIDR (IPAM that does not use them): overlap not judged';
  return apiOutcome(findings, `${cidrPart}; ${podIPs} pod IP(s), none a node's address`);
}

/** NM-3.4 (strict): each live pod's IP lies in its node's podCIDR of that family. */
export function podsInNodeCidr(o: Observations): CheckOutcome {
  const findings: FlowVerdict[] = [];
  const byName = new Map<string, ApiNode>();
  for (const n of o.nodes) if (!byName.has(n.name)) byName.set(n.name, n);
  for (const p of o.pods.filter(isLive)) {
    const node = p.node === undefined ? undefined : byName.get(p.node);
    for (const ip of p.podIPs) {
      const cidrs = (node?.podCIDRs ?? []).filter((c) => familyOf(c.split('/')[0]!) === familyOf(ip));
      if (!node || cidrs.length === 0) continue;
      const inside = cidrs.some((c) => inCidr(ip, c));
      findings.push(finding(`${podRef(p)} ${ip}`, `pod ${podRef(p)} has ${ip}, ${inside ? 'inside' : 'outside'} ${node.name}'s pod CIDR ${cidrs.join(', ')}`, inside ? 'passed' : 'failed', `inside ${node.name}'s pod CIDR`));
    }
  }
  if (findings.length === 0) return { result: 'skipped', reason: 'no live pod on a node with a pod CIDR of its family: nothing to judge', flows: [] };
  return apiOutcome(findings, `${findings.length} pod IP(s) inside their node's pod CIDR`);
}
