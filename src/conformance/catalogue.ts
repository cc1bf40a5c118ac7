// The checks, declared as data: id, title, rule, features, and a pure judge
// over the run's observations. Ids are stable and key every report.
import { combine, decisiveOf, hostProbe, type CheckResult, type FlowKind, type FlowObservation, type FlowVerdict, type Probe, type ProbeInventory, type Sighting, type Verdict } from './model.js';

export type Feature = 'pod-network' | 'host-network' | 'api' | 'external-target' | 'uplink-capture';

export interface ApiNode {
  name: string;
  addresses: string[];
  podCIDRs: string[];
}

export interface ApiPod {
  namespace: string;
  name: string;
  hostNetwork: boolean;
  podIPs: string[];
  node?: string;
}

export interface Observations {
  probes: Probe[];
  inventory: Map<string, ProbeInventory>;
  flows: FlowObservation[];
  /** Distinct tokens each capture saw (the positive control). */
  controls: Map<string, number>;
  nodes: ApiNode[];
  pods: ApiPod[];
  external?: { ip: string; port: number };
}

export interface CheckDef {
  id: string;
  title: string;
  rule: string;
  profile: 'core' | 'extended';
  features: Feature[];
  /** Flow kinds the check needs sent (the runner sends only what selected checks need). */
  flowKinds: FlowKind[];
  judge: (o: Observations) => Omit<CheckResult, 'id' | 'title' | 'rule' | 'profile'>;
}

const ipOf = (o: Observations, name: string | undefined) => o.probes.find((p) => p.name === name)?.ip ?? '?';
const nodeOfProbe = (o: Observations, name: string) => o.probes.find((p) => p.name === name)?.node ?? '?';

function flowBase(f: FlowObservation, o: Observations) {
  return { flow: f.flow.id, kind: f.flow.kind, proto: f.flow.proto, from: `${f.flow.from} (${ipOf(o, f.flow.from)})`, to: `${f.flow.to ?? 'external'} (${f.flow.dstIP}:${f.flow.dstPort})` };
}

/** For a flow that never arrived: the packet as sent (sender's capture), or the connection attempt when no data left. */
function sentPacket(f: FlowObservation): { p: Sighting; what: string } | undefined {
  if (f.atSender[0]) return { p: f.atSender[0], what: 'sent as' };
  if (f.handshakeAtSender[0]) return { p: f.handshakeAtSender[0], what: `no connection: its SYN (${f.handshakeAtSender[0].tcpFlags ?? ''}) left as` };
  if (f.arpAtSender[0]) return { p: f.arpAtSender[0], what: 'nothing left: only an unanswered ARP who-has,' };
  return undefined;
}
/** What a verdict on a flow that never arrived says of the sender's side, and its decisive packet. */
function notReceived(f: FlowObservation): { text: string; decisive?: FlowVerdict['decisive'] } {
  const s = sentPacket(f);
  if (!s) return { text: '; nothing of it in the sender\'s capture' };
  return {
    text: `; ${s.what} ${s.p.src} > ${s.p.dst}, packet #${s.p.packet} at ${s.p.capture}`,
    decisive: decisiveOf(s.p, `${s.what.replace(/ as$/, '')}; never received at ${f.flow.to ?? f.flow.dstIP}`),
  };
}

/** The forward packet at the receiver: delivered, with the expected source and destination, in a capture that saw its control. */
function judgeDelivery(f: FlowObservation, o: Observations, expectSrc: string, expectDst: string, extra?: (v: FlowVerdict) => FlowVerdict): FlowVerdict {
  // Both ends' captures: as sent at the sender, as received at the receiver.
  const base = { ...flowBase(f, o), expected: `${expectSrc} > ${expectDst}`, captures: [f.flow.to ?? '', f.flow.from] };
  if (!f.sent) return { ...base, verdict: 'inconclusive', observed: 'the sender did not report this flow' };
  const bad = f.atReceiver.find((s) => s.src !== expectSrc || s.dst !== expectDst);
  if (bad) return { ...base, verdict: 'failed', observed: `${bad.src} > ${bad.dst} at ${bad.capture} (packet #${bad.packet})`, decisive: decisiveOf(bad, 'as received') };
  if (f.atReceiver.length === 0) {
    if ((o.controls.get(f.flow.to ?? '') ?? 0) === 0) {
      return { ...base, verdict: 'inconclusive', observed: `the capture at ${f.flow.to} saw none of the traffic sent to it (no control)` };
    }
    const gone = notReceived(f);
    return {
      ...base, verdict: 'failed', observed: `not seen at ${f.flow.to} (sender exit ${f.sent.exitCode}${gone.text}), while that capture saw ${o.controls.get(f.flow.to ?? '')} other flows`,
      ...(gone.decisive ? { decisive: gone.decisive } : {}),
    };
  }
  const s = f.atReceiver[0]!;
  const v: FlowVerdict = { ...base, verdict: 'passed', observed: `${s.src} > ${s.dst} at ${s.capture}`, decisive: decisiveOf(s, 'as received') };
  return extra ? extra(v) : v;
}

function byKind(o: Observations, ...kinds: FlowKind[]) {
  return o.flows.filter((f) => kinds.includes(f.flow.kind));
}

function result(flows: FlowVerdict[], what: string): { result: Verdict; reason: string; flows: FlowVerdict[] } {
  const r = combine(flows);
  const failed = flows.filter((f) => f.verdict === 'failed');
  const reason =
    r === 'passed' ? `${flows.length} ${what} flow(s) seen as sent`
      : r === 'failed' ? `${failed.length} of ${flows.length} ${what} flow(s) failed: ${failed.slice(0, 3).map((f) => `${f.from} -> ${f.to}: expected ${f.expected}, saw ${f.observed}`).join('; ')}${failed.length > 3 ? '; …' : ''}`
        : flows.length === 0 ? `no ${what} flows could be sent (too few nodes or probes)`
          : `${flows.filter((f) => f.verdict === 'inconclusive').length} ${what} flow(s) could not be decided: ${flows.find((f) => f.verdict === 'inconclusive')!.observed}`;
  return { result: r, reason, flows };
}

/** Addresses that belong to a node: what its host probe saw on its interfaces, and what the API says. */
function nodeAddresses(o: Observations, node: string): Set<string> {
  const host = hostProbe(o.probes, node);
  const inv = host ? o.inventory.get(host.name)?.addresses ?? [] : [];
  const api = o.nodes.find((n) => n.name === node)?.addresses ?? [];
  return new Set([...inv, ...api]);
}

const podToPod = (kind: FlowKind) => (o: Observations) =>
  result(byKind(o, kind).map((f) => judgeDelivery(f, o, ipOf(o, f.flow.from), ipOf(o, f.flow.to))), kind === 'pod-pod-same' ? 'same-node pod' : 'cross-node pod');

const hostToPod = (kind: FlowKind) => (o: Observations) =>
  result(byKind(o, kind).map((f) => {
    const sentSrc = f.sent?.src ?? '?';
    return judgeDelivery(f, o, sentSrc, ipOf(o, f.flow.to), (v) => {
      const node = nodeOfProbe(o, f.flow.from);
      return nodeAddresses(o, node).has(sentSrc) ? v : { ...v, verdict: 'failed', observed: `${v.observed}; the source as sent, ${sentSrc}, is not an address of ${node}` };
    });
  }), kind === 'host-pod-same' ? 'node-to-local-pod' : 'node-to-remote-pod');

function inCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/');
  const n = (a: string) => a.split('.').reduce((x, y) => x * 256 + Number(y), 0);
  if (!base || !base.includes('.') || !ip.includes('.')) return false;
  const size = 2 ** (32 - Number(bits));
  return Math.floor(n(ip) / size) === Math.floor(n(base) / size);
}

function cidrsOverlap(a: string, b: string): boolean {
  return inCidr(a.split('/')[0]!, b) || inCidr(b.split('/')[0]!, a);
}

const apiVerdict = (flows: FlowVerdict[], okReason: string) => {
  const failed = flows.filter((f) => f.verdict === 'failed');
  return failed.length
    ? { result: 'failed' as Verdict, reason: failed.map((f) => f.observed).slice(0, 5).join('; '), flows }
    : { result: 'passed' as Verdict, reason: okReason, flows };
};

const apiFinding = (what: string, observed: string, verdict: Verdict = 'failed'): FlowVerdict =>
  ({ flow: what, kind: 'pod-pod-same', proto: 'tcp', from: 'api', to: 'api', verdict, expected: '', observed, captures: [] });

export const CHECKS: CheckDef[] = [
  {
    id: 'NM-1.1', title: 'Same-node pod to pod, no NAT', profile: 'core', features: ['pod-network'], flowKinds: ['pod-pod-same'],
    rule: 'A pod reaches another pod on its node over TCP and UDP, and the receiver sees the sender\'s pod IP as source and its own pod IP as destination.',
    judge: podToPod('pod-pod-same'),
  },
  {
    id: 'NM-1.2', title: 'Cross-node pod to pod, no NAT', profile: 'core', features: ['pod-network'], flowKinds: ['pod-pod-cross'],
    rule: 'For every ordered pair of nodes, a pod on one reaches a pod on the other over TCP and UDP, and the receiver sees the sender\'s pod IP.',
    judge: podToPod('pod-pod-cross'),
  },
  {
    id: 'NM-1.3', title: 'Replies come back un-NATed', profile: 'core', features: ['pod-network'], flowKinds: ['pod-pod-same', 'pod-pod-cross'],
    rule: 'The reply to a pod-to-pod flow reaches the sender from the receiver\'s pod IP, addressed to the sender\'s pod IP.',
    judge: (o) => result(byKind(o, 'pod-pod-same', 'pod-pod-cross').map((f) => {
      const expectSrc = ipOf(o, f.flow.to);
      const expectDst = f.sent?.src ?? ipOf(o, f.flow.from);
      const base = { ...flowBase(f, o), expected: `${expectSrc} > ${expectDst}`, captures: [f.flow.from] };
      const bad = f.replyAtSender.find((s) => s.src !== expectSrc || s.dst !== expectDst);
      if (bad) return { ...base, verdict: 'failed' as Verdict, observed: `reply ${bad.src} > ${bad.dst} at ${bad.capture} (packet #${bad.packet})`, decisive: decisiveOf(bad, 'reply as received') };
      if (f.replyAtSender.length) return { ...base, verdict: 'passed' as Verdict, observed: `reply ${f.replyAtSender[0]!.src} > ${f.replyAtSender[0]!.dst}`, decisive: decisiveOf(f.replyAtSender[0]!, 'reply as received') };
      if (f.atReceiver.length === 0) return { ...base, verdict: 'inconclusive' as Verdict, observed: 'the request was not delivered (see NM-1.1/NM-1.2)' };
      const req = f.atReceiver[0]!;
      return { ...base, captures: [f.flow.from, f.flow.to ?? ''], verdict: 'failed' as Verdict, observed: `no reply seen at ${f.flow.from} although ${f.flow.to} received the request (${req.src} > ${req.dst}, packet #${req.packet} at ${req.capture})`, decisive: decisiveOf(req, 'request as received; no reply reached the sender') };
    }), 'reply'),
  },
  {
    id: 'NM-2.1', title: 'Node agent to local pods, no NAT', profile: 'core', features: ['host-network'], flowKinds: ['host-pod-same'],
    rule: 'A hostNetwork probe reaches each pod on its node; the source as sent equals the source as received and is an address of that node.',
    judge: hostToPod('host-pod-same'),
  },
  {
    id: 'NM-2.2', title: 'hostNetwork pod to pods on other nodes, no NAT', profile: 'core', features: ['host-network'], flowKinds: ['host-pod-cross'],
    rule: 'A hostNetwork probe reaches pods on every other node; the source as sent equals the source as received and is an address of its node.',
    judge: hostToPod('host-pod-cross'),
  },
  {
    id: 'NM-2.3', title: 'Pod to every node, no NAT', profile: 'core', features: ['host-network'], flowKinds: ['pod-node'],
    rule: 'A pod reaches every node\'s address, and the node sees the pod IP as source.',
    judge: (o) => result(byKind(o, 'pod-node').map((f) => judgeDelivery(f, o, ipOf(o, f.flow.from), f.flow.dstIP)), 'pod-to-node'),
  },
  {
    id: 'NM-3.1', title: 'Pod IPs are unique cluster-wide', profile: 'core', features: ['api'], flowKinds: [],
    rule: 'No two pods that are not hostNetwork share an IP address (per family, across all namespaces).',
    judge: (o) => {
      const owners = new Map<string, string[]>();
      for (const p of o.pods) {
        if (p.hostNetwork) continue;
        for (const ip of p.podIPs) owners.set(ip, [...(owners.get(ip) ?? []), `${p.namespace}/${p.name}`]);
      }
      const findings = [...owners].map(([ip, who]) => (who.length > 1
        ? apiFinding(ip, `${ip} is held by ${who.join(', ')}`)
        : apiFinding(ip, `${ip} is held by ${who[0]} only`, 'passed')));
      return apiVerdict(findings, `${owners.size} pod IPs, all unique`);
    },
  },
  {
    id: 'NM-3.2', title: 'Address plan is sound', profile: 'core', features: ['api'], flowKinds: [],
    rule: 'Node pod CIDRs do not overlap; each pod IP lies in its node\'s pod CIDR when pod CIDRs are set; no pod IP equals a node IP.',
    judge: (o) => {
      const findings: FlowVerdict[] = [];
      for (let i = 0; i < o.nodes.length; i++) {
        for (let j = i + 1; j < o.nodes.length; j++) {
          for (const a of o.nodes[i]!.podCIDRs) for (const b of o.nodes[j]!.podCIDRs) {
            if (a.includes('.') && b.includes('.') && cidrsOverlap(a, b)) findings.push(apiFinding('cidr', `pod CIDRs overlap: ${o.nodes[i]!.name} ${a} and ${o.nodes[j]!.name} ${b}`));
          }
        }
      }
      for (const n of o.nodes) {
        if (!findings.some((f) => f.observed.includes(` ${n.name} `))) findings.push(apiFinding(n.name, `${n.name} pod CIDR ${n.podCIDRs.join(', ') || '(none set)'} overlaps no other node's`, 'passed'));
      }
      const nodeIPs = new Map(o.nodes.flatMap((n) => n.addresses.map((a) => [a, n.name] as const)));
      for (const p of o.pods) {
        if (p.hostNetwork) continue;
        const node = o.nodes.find((n) => n.name === p.node);
        for (const ip of p.podIPs) {
          const before = findings.length;
          if (nodeIPs.has(ip)) findings.push(apiFinding(ip, `pod ${p.namespace}/${p.name} has ${ip}, an address of node ${nodeIPs.get(ip)}`));
          const v4 = node?.podCIDRs.filter((c) => c.includes('.')) ?? [];
          if (ip.includes('.') && v4.length && !v4.some((c) => inCidr(ip, c))) findings.push(apiFinding(ip, `pod ${p.namespace}/${p.name} has ${ip}, outside ${node!.name}'s pod CIDR ${v4.join(', ')}`));
          if (findings.length === before) findings.push(apiFinding(ip, `pod ${p.namespace}/${p.name} ${ip} is inside ${p.node ?? '?'}'s pod CIDR and no node's address`, 'passed'));
        }
      }
      return apiVerdict(findings, `${o.nodes.length} node pod CIDRs disjoint; ${o.pods.filter((p) => !p.hostNetwork).length} pod IPs inside their node's CIDR`);
    },
  },
  {
    id: 'NM-3.3', title: 'Identity on the wire', profile: 'core', features: ['pod-network'], flowKinds: ['pod-pod-same', 'pod-pod-cross'],
    rule: 'Each probe\'s interface address equals its status.podIP, and a flow to a probe\'s IP is answered by that probe.',
    judge: (o) => {
      const flows: FlowVerdict[] = [];
      for (const p of o.probes.filter((x) => x.role === 'pod')) {
        const addrs = o.inventory.get(p.name)?.addresses ?? [];
        flows.push({ flow: `addr-${p.name}`, kind: 'pod-pod-same', proto: 'tcp', from: p.name, to: p.name, expected: `eth0 has ${p.ip}`, observed: `eth0 has ${addrs.join(', ') || 'nothing'}`, captures: [],
          verdict: addrs.length === 0 ? 'inconclusive' : addrs.includes(p.ip) ? 'passed' : 'failed' });
      }
      for (const f of byKind(o, 'pod-pod-same', 'pod-pod-cross')) {
        const reply = f.sent?.reply ?? '';
        const m = /\.from\.(\S+)/.exec(reply);
        const base = { ...flowBase(f, o), expected: `answered by ${f.flow.to}`, captures: [f.flow.from] };
        const answer = f.answerAtSender[0];
        const at = answer ? { decisive: decisiveOf(answer, `answer from ${m?.[1]}`) } : {};
        flows.push(!m ? { ...base, verdict: 'inconclusive', observed: 'no answer' }
          : m[1] === f.flow.to && f.replyAtSender.length ? { ...base, verdict: 'passed', observed: `answered by ${m[1]} (seen on the wire)`, ...at }
            : { ...base, verdict: 'failed', observed: `answered by ${m[1]}${answer ? `: ${answer.src} > ${answer.dst}, packet #${answer.packet} at ${answer.capture}` : ' (reply not seen on the wire)'}`, ...at });
      }
      return result(flows, 'identity');
    },
  },
  {
    id: 'NM-4.1', title: 'Internet egress is SNATed', profile: 'core', features: ['external-target', 'uplink-capture'], flowKinds: ['pod-external'],
    rule: 'A pod\'s traffic to an external target leaves its node\'s uplink with a node address as source; the reply reaches the pod addressed to its pod IP.',
    judge: (o) => {
      if (!o.external) return { result: 'inconclusive', reason: 'no external target: pass --external-target IP:PORT (a lab provides one)', flows: [] };
      const flows = byKind(o, 'pod-external').map((f): FlowVerdict => {
        const node = nodeOfProbe(o, f.flow.from);
        const host = hostProbe(o.probes, node)?.name ?? '';
        const base = { ...flowBase(f, o), expected: `node address > ${f.flow.dstIP} on ${node}'s uplink; reply to ${ipOf(o, f.flow.from)}`, captures: [host, f.flow.from] };
        const up = f.atUplink[0];
        // The connection failed before data: its SYN on the uplink still shows the source it left with.
        const syn = f.handshakeAtUplink[0];
        if (!up && syn && !nodeAddresses(o, node).has(syn.src)) {
          return { ...base, verdict: 'failed', observed: `the connection's SYN left ${node}'s uplink as ${syn.src} > ${syn.dst} (packet #${syn.packet} at ${syn.capture}): not SNATed to a node address, and no reply came back`, decisive: decisiveOf(syn, `SYN on ${node}'s uplink`) };
        }
        if (!up) {
          const why = f.sent && f.sent.exitCode !== 0 ? `the connection to ${f.flow.dstIP}:${f.flow.dstPort} failed (exit ${f.sent.exitCode}): target unreachable or port closed` : `no token packet on ${node}'s uplink`;
          return { ...base, verdict: 'inconclusive', observed: syn ? `${why}; its SYN left as ${syn.src} > ${syn.dst}` : why };
        }
        if (!nodeAddresses(o, node).has(up.src)) return { ...base, verdict: 'failed', observed: `left ${node}'s uplink as ${up.src} > ${up.dst} (packet #${up.packet} at ${up.capture}): not SNATed to a node address`, decisive: decisiveOf(up, `on ${node}'s uplink`) };
        const reply = f.replyAtSender[0];
        if (!reply) return { ...base, verdict: 'failed', observed: `left as ${up.src} > ${up.dst} (packet #${up.packet} at ${up.capture}), but no reply reached ${f.flow.from}`, decisive: decisiveOf(up, `on ${node}'s uplink; no reply came back`) };
        if (reply.dst !== ipOf(o, f.flow.from)) return { ...base, verdict: 'failed', observed: `reply ${reply.src} > ${reply.dst} (packet #${reply.packet} at ${reply.capture}) reached the pod addressed to ${reply.dst}, not its pod IP ${ipOf(o, f.flow.from)}`, decisive: decisiveOf(reply, 'reply as received') };
        return { ...base, verdict: 'passed', observed: `left as ${up.src} > ${up.dst}; reply ${reply.src} > ${reply.dst}`, decisive: decisiveOf(up, `on ${node}'s uplink`) };
      });
      return result(flows, 'egress');
    },
  },
  {
    id: 'NM-4.2', title: 'In-cluster traffic is not SNATed on the wire', profile: 'core', features: ['host-network', 'uplink-capture'], flowKinds: ['pod-pod-cross'],
    rule: 'On the sending node\'s uplink, the (inner, if encapsulated) source of cross-node pod traffic is the sender\'s pod IP.',
    judge: (o) => result(byKind(o, 'pod-pod-cross').map((f): FlowVerdict => {
      const node = nodeOfProbe(o, f.flow.from);
      const host = hostProbe(o.probes, node)?.name ?? '';
      const expectSrc = ipOf(o, f.flow.from);
      const base = { ...flowBase(f, o), expected: `${expectSrc} > ${f.flow.dstIP} (inner) on ${node}'s uplink`, captures: [host] };
      // A connection that never carried data is judged by its SYN.
      const seen = f.atUplink.length ? f.atUplink : f.handshakeAtUplink;
      const bad = seen.find((s) => s.src !== expectSrc);
      if (bad) return { ...base, verdict: 'failed', observed: `${bad.src} > ${bad.dst}${bad.encapsulation.length ? ` inside ${bad.encapsulation.join('/')}` : ''} on the uplink (packet #${bad.packet} at ${bad.capture})`, decisive: decisiveOf(bad, `on ${node}'s uplink`) };
      if (seen.length === 0) {
        return { ...base, verdict: 'inconclusive', observed: `not seen on ${node}'s uplink (capture control: ${o.controls.get(host) ?? 0} flows seen)` };
      }
      const s = seen[0]!;
      const what = f.atUplink.length ? '' : ' (its SYN: the connection carried no data)';
      return { ...base, verdict: 'passed', observed: `${s.src} > ${s.dst}${s.encapsulation.length ? ` inside ${s.encapsulation.join('/')} (${s.outerSrc} > ${s.outerDst})` : ''}${what}`, decisive: decisiveOf(s, `on ${node}'s uplink`) };
    }), 'uplink'),
  },
  {
    id: 'NM-5.1', title: 'Full-size packets cross nodes (MTU)', profile: 'extended', features: ['pod-network'], flowKinds: ['pod-pod-mtu', 'pod-pod-cross'],
    rule: 'For every ordered pair of nodes, a UDP datagram as large as the sending pod\'s MTU, sent with DF, reaches the remote pod, or the sender gets an ICMP "fragmentation needed" (path MTU discovery works); it never vanishes.',
    judge: (o) => result(byKind(o, 'pod-pod-mtu').map((f): FlowVerdict => {
      const size = f.flow.size ?? 0;
      const base = { ...flowBase(f, o), expected: `a ${size}-byte DF datagram ${ipOf(o, f.flow.from)} > ${f.flow.dstIP} at ${f.flow.to}, or an ICMP "fragmentation needed" at ${f.flow.from}`, captures: [f.flow.from, f.flow.to ?? ''] };
      if (!f.sent) return { ...base, verdict: 'inconclusive', observed: 'the sender did not report this flow' };
      const got = f.atReceiver[0];
      // Path control: small datagrams between the same pods must arrive, or this is not about size.
      const small = o.flows.find((x) => x.flow.kind === 'pod-pod-cross' && x.flow.proto === 'udp' && x.flow.from === f.flow.from && x.flow.to === f.flow.to);
      if (!got && small && small.atReceiver.length === 0) {
        return { ...base, verdict: 'inconclusive', observed: `small datagrams on this path do not arrive either (flow ${small.flow.id}, see NM-1.2): not a question of size` };
      }
      if (got) return { ...base, verdict: 'passed', observed: `arrived: ${got.length ?? '?'} bytes${got.df ? ', DF' : ''}, ${got.src} > ${got.dst} at ${got.capture}`, decisive: decisiveOf(got, 'as received') };
      const icmp = f.fragNeededAtSender[0];
      if (icmp) return { ...base, verdict: 'passed', observed: `drew an ICMP "fragmentation needed" (next-hop MTU ${icmp.icmpMtu ?? '?'}) from ${icmp.src}, packet #${icmp.packet} at ${icmp.capture}`, decisive: decisiveOf(icmp, 'ICMP fragmentation needed') };
      if (f.sent.exitCode !== 0) return { ...base, verdict: 'inconclusive', observed: `the sender's kernel refused the ${size}-byte datagram (exit ${f.sent.exitCode}): it already knows a smaller path MTU` };
      const out = f.atSender[0];
      if (!out) return { ...base, verdict: 'inconclusive', observed: `the datagram is not in ${f.flow.from}'s capture` };
      if ((o.controls.get(f.flow.to ?? '') ?? 0) === 0) return { ...base, verdict: 'inconclusive', observed: `the capture at ${f.flow.to} saw none of the traffic sent to it (no control)` };
      return { ...base, verdict: 'failed', observed: `sent as ${out.src} > ${out.dst}, ${out.length ?? '?'} bytes${out.df ? ' with DF' : ''} (packet #${out.packet} at ${out.capture}); never seen at ${f.flow.to}, and no ICMP "fragmentation needed" came back: silently dropped`, decisive: decisiveOf(out, 'as sent; vanished without an ICMP error') };
    }), 'full-size'),
  },
];

export const CHECK_IDS = CHECKS.map((c) => c.id);

/** Expands `NM-1.2`, `NM-1` (a rule family) or `NM-1.*`; unknown ids are an error naming them. */
export function selectChecks(only: string[] | undefined, skip: string[] | undefined): CheckDef[] {
  const match = (pattern: string) => {
    const p = pattern.replace(/\.\*$/, '');
    const hits = CHECKS.filter((c) => c.id === p || c.id.startsWith(`${p}.`));
    if (!hits.length) throw new Error(`unknown check id \`${pattern}\` (known: ${CHECK_IDS.join(', ')})`);
    return hits.map((c) => c.id);
  };
  const onlyIds = only?.length ? new Set(only.flatMap(match)) : undefined;
  const skipIds = new Set((skip ?? []).flatMap(match));
  return CHECKS.filter((c) => (!onlyIds || onlyIds.has(c.id)) && !skipIds.has(c.id));
}
