// The checks, declared as data: id, title, rule, profile, the flows they need,
// and a pure judge over the run's observations. Ids are stable and key every
// report. Profiles (DESIGN §3, FIELD.md §1): core is the Kubernetes network
// model as documented; strict the seeds' stricter readings, which many healthy
// CNIs do not meet on purpose; extended is health beyond the model.
import { decisiveOf, replyToken, type FlowKind, type FlowObservation, type FlowVerdict, type Profile, type Sighting } from './model.js';
import type { Observations } from './observations.js';
import { familyName } from './families.js';
import { addressPlan, podsInNodeCidr, uniquePodIPs } from './checks-api.js';
import {
  absenceUnproven, byKind, flowBase, hostOf, ipOf, judgeDelivery, nodeAddresses, nodeOfProbe, nothingToJudge, outcome, undelivered, type CheckOutcome,
} from './verdicts.js';

export interface CheckDef {
  id: string;
  title: string;
  rule: string;
  profile: Profile;
  /** Flow kinds the check needs sent (the run sends only what selected checks need). */
  flowKinds: FlowKind[];
  judge: (o: Observations) => CheckOutcome;
}

const podToPod = (kind: FlowKind) => (o: Observations) => {
  const what = kind === 'pod-pod-same' ? 'same-node pod' : 'cross-node pod';
  return outcome(byKind(o, kind).map((f) => judgeDelivery(o, f, ipOf(o, f.flow.from), ipOf(o, f.flow.to))), what, nothingToJudge(o, what, kind === 'pod-pod-cross'));
};

const hostToPod = (kind: FlowKind) => (o: Observations) => {
  const what = kind === 'host-pod-same' ? 'node-to-local-pod' : 'node-to-remote-pod';
  return outcome(byKind(o, kind).map((f) => {
    const sentSrc = f.sent?.src ?? '?';
    return judgeDelivery(o, f, sentSrc, ipOf(o, f.flow.to), (v) => {
      const node = nodeOfProbe(o, f.flow.from);
      return nodeAddresses(o, node).has(sentSrc) ? v : { ...v, verdict: 'failed', observed: `${v.observed}; the source as sent, ${sentSrc}, is not an address of ${node}` };
    });
  }), what, nothingToJudge(o, what, kind === 'host-pod-cross'));
};

/** NM-1.3: the reply reaches the sender from the receiver's pod IP. */
function judgeReply(o: Observations, f: FlowObservation): FlowVerdict {
  const expectSrc = ipOf(o, f.flow.to);
  const expectDst = f.sent?.src ?? ipOf(o, f.flow.from);
  const base = { ...flowBase(f, o), expected: `${expectSrc} > ${expectDst}`, captures: [f.flow.from] };
  const bad = f.replyAtSender.find((s) => s.src !== expectSrc || s.dst !== expectDst);
  if (bad) return { ...base, verdict: 'failed', observed: `reply ${bad.src} > ${bad.dst} at ${bad.capture} (packet #${bad.packet})`, decisive: decisiveOf(bad, 'reply as received') };
  const reply = f.replyAtSender[0];
  if (reply) return { ...base, verdict: 'passed', observed: `reply ${reply.src} > ${reply.dst}`, decisive: decisiveOf(reply, 'reply as received') };
  const req = f.atReceiver[0];
  if (!req) return { ...base, verdict: 'inconclusive', observed: 'the request was not delivered (see NM-1.1/NM-1.2)' };
  if (f.sent?.reply === replyToken(f.flow.token, f.flow.to ?? '')) return { ...base, verdict: 'inconclusive', observed: `the sender got the reply, but its capture did not show it` };
  const unproven = absenceUnproven(o, f.flow.from, 'replies');
  if (unproven) return { ...base, verdict: 'inconclusive', observed: `no reply seen at ${f.flow.from}, but ${unproven}` };
  const back = `${nodeOfProbe(o, f.flow.to)} -> ${nodeOfProbe(o, f.flow.from)}`;
  return {
    ...base, captures: [f.flow.from, f.flow.to ?? ''], verdict: 'failed',
    observed: `no reply seen at ${f.flow.from} although ${f.flow.to} received the request (${req.src} > ${req.dst}, packet #${req.packet} at ${req.capture}): the return path ${back} is broken`,
    decisive: decisiveOf(req, `request as received; no reply reached the sender (return path ${back})`),
  };
}

/** NM-2.4 (core): a pod reaches a node and the reply comes back, whatever source the node saw. */
function judgeReachNode(o: Observations, f: FlowObservation): FlowVerdict {
  const node = nodeOfProbe(o, f.flow.to);
  const base = { ...flowBase(f, o), expected: `delivered to ${node} (${f.flow.dstIP}) and answered`, captures: [f.flow.to ?? '', f.flow.from] };
  if (!f.sent) return { ...base, verdict: 'inconclusive', observed: 'the sender did not report this flow' };
  const got = f.atReceiver[0];
  if (!got) return undelivered(o, f, base);
  const answered = f.sent.reply === replyToken(f.flow.token, f.flow.to ?? '');
  const snat = got.src !== ipOf(o, f.flow.from) ? `the node saw ${got.src}, not the pod IP (SNAT; strict NM-2.3 reads that as a failure)` : undefined;
  if (answered) {
    return { ...base, verdict: 'passed', observed: `${got.src} > ${got.dst} at ${got.capture}; the reply came back`, decisive: decisiveOf(got, 'as received'), ...(snat ? { note: snat } : {}) };
  }
  const unproven = absenceUnproven(o, f.flow.from, 'replies');
  if (f.replyAtSender.length || unproven) return { ...base, verdict: 'inconclusive', observed: `delivered (${got.src} > ${got.dst}), but the sender got no reply${unproven ? `, and ${unproven}` : ' though its capture shows one'}` };
  return {
    ...base, verdict: 'failed', observed: `delivered as ${got.src} > ${got.dst} (packet #${got.packet} at ${got.capture}), but no reply reached ${f.flow.from}${f.sent.error ? ` (${f.sent.error})` : ''}`,
    decisive: decisiveOf(got, `request as received; no reply reached the sender (return path ${node} -> ${nodeOfProbe(o, f.flow.from)})`),
  };
}

/** NM-3.3: each probe's interface holds its status IP; a flow to a probe's IP is answered by that probe. */
function identity(o: Observations): CheckOutcome {
  const flows: FlowVerdict[] = [];
  for (const p of o.probes.filter((x) => x.role === 'pod')) {
    const addrs = o.inventory.get(p.name)?.addresses ?? [];
    flows.push({
      flow: `addr-${p.name}`, kind: 'inventory', proto: '-', from: p.name, to: p.name, expected: `eth0 has ${p.ip}`, observed: `eth0 has ${addrs.join(', ') || 'nothing'}`, captures: [],
      verdict: addrs.length === 0 ? 'inconclusive' : addrs.includes(p.ip) ? 'passed' : 'failed',
    });
  }
  // A dual-stack cluster's pod without an address of this family (IPAM of one family failed for it).
  const fam = familyName(o.family ?? 4);
  for (const name of o.lacking ?? []) {
    flows.push({
      flow: `addr-${name}`, kind: 'inventory', proto: '-', from: name, to: name, verdict: 'failed', captures: [],
      expected: `an ${fam} address in status.podIPs, as the other probes have`, observed: `status.podIPs has no ${fam} address`,
    });
  }
  for (const f of byKind(o, 'pod-pod-same', 'pod-pod-cross')) {
    const who = /\.from\.(\S+)$/.exec(f.sent?.reply ?? '')?.[1];
    const base = { ...flowBase(f, o), expected: `answered by ${f.flow.to}`, captures: [f.flow.from] };
    const answer = f.answerAtSender[0];
    const at = answer ? { decisive: decisiveOf(answer, `answer from ${who}`) } : {};
    if (!who) {
      flows.push({ ...base, verdict: 'inconclusive', observed: 'no answer' });
    } else if (who !== f.flow.to) {
      flows.push({ ...base, verdict: 'failed', observed: `answered by ${who}${answer ? `: ${answer.src} > ${answer.dst}, packet #${answer.packet} at ${answer.capture}` : ''}`, ...at });
    } else if (f.replyAtSender.length) {
      flows.push({ ...base, verdict: 'passed', observed: `answered by ${who} (seen on the wire)`, ...at });
    } else {
      // The application got the right answer and the wire does not show it: the evidence disagrees (as NM-1.3 says too).
      flows.push({ ...base, verdict: 'inconclusive', observed: `answered by ${who}, but the reply is not in ${f.flow.from}'s capture` });
    }
  }
  return outcome(flows, 'identity', nothingToJudge(o, 'identity', false));
}

/** NM-4.1: egress leaves with the source the declared design gives it, and the reply comes back to the pod IP. */
function egress(o: Observations): CheckOutcome {
  if (!o.external) return { result: 'skipped', reason: 'no external target: pass --external-target IP:PORT (a lab provides one)', flows: [] };
  const flows = byKind(o, 'pod-external').map((f): FlowVerdict => {
    const node = nodeOfProbe(o, f.flow.from);
    const podIP = ipOf(o, f.flow.from);
    const host = hostOf(o, node)?.name ?? '';
    const onNode = o.egressSnat === 'node';
    const expectSrc = onNode ? 'a node address' : `the pod IP ${podIP} (egress SNAT ${o.egressSnat === 'none' ? 'nowhere' : 'off the node'})`;
    const base = { ...flowBase(f, o), expected: `${expectSrc} > ${f.flow.dstIP} on ${node}'s uplink; reply to ${podIP}`, captures: [host, f.flow.from] };
    if (f.uplinkUnknown) return { ...base, verdict: 'inconclusive', observed: f.uplinkUnknown };
    const wrong = (s: Sighting) => (onNode ? !nodeAddresses(o, node).has(s.src) : s.src !== podIP);
    const why = onNode ? 'not SNATed to a node address' : 'SNATed on the node, though egress SNAT was declared off the node';
    const up = f.atUplink[0];
    // The connection failed before data: its SYN on the uplink still shows the source it left with.
    const syn = f.handshakeAtUplink[0];
    if (!up && syn && wrong(syn)) {
      return { ...base, verdict: 'failed', observed: `the connection's SYN left ${node}'s uplink as ${syn.src} > ${syn.dst} (packet #${syn.packet} at ${syn.capture}): ${why}, and no reply came back`, decisive: decisiveOf(syn, `SYN on ${node}'s uplink`) };
    }
    if (!up) {
      const failed = f.sent && f.sent.errno !== 0 ? `the connection to ${f.flow.dstIP}:${f.flow.dstPort} failed (${f.sent.error ?? `errno ${f.sent.errno}`}): target unreachable or port closed` : `no token packet on ${node}'s uplink`;
      return { ...base, verdict: 'inconclusive', observed: syn ? `${failed}; its SYN left as ${syn.src} > ${syn.dst}` : failed };
    }
    if (wrong(up)) return { ...base, verdict: 'failed', observed: `left ${node}'s uplink as ${up.src} > ${up.dst} (packet #${up.packet} at ${up.capture}): ${why}`, decisive: decisiveOf(up, `on ${node}'s uplink`) };
    const reply = f.replyAtSender[0];
    if (!reply) {
      const unproven = absenceUnproven(o, f.flow.from, 'replies');
      if (unproven) return { ...base, verdict: 'inconclusive', observed: `left as ${up.src} > ${up.dst}; no reply seen at ${f.flow.from}, but ${unproven}` };
      return { ...base, verdict: 'failed', observed: `left as ${up.src} > ${up.dst} (packet #${up.packet} at ${up.capture}), but no reply reached ${f.flow.from}`, decisive: decisiveOf(up, `on ${node}'s uplink; no reply came back`) };
    }
    if (reply.dst !== podIP) return { ...base, verdict: 'failed', observed: `reply ${reply.src} > ${reply.dst} (packet #${reply.packet} at ${reply.capture}) reached the pod addressed to ${reply.dst}, not its pod IP ${podIP}`, decisive: decisiveOf(reply, 'reply as received') };
    return { ...base, verdict: 'passed', observed: `left as ${up.src} > ${up.dst}; reply ${reply.src} > ${reply.dst}`, decisive: decisiveOf(up, `on ${node}'s uplink`) };
  });
  return outcome(flows, 'egress', nothingToJudge(o, 'egress', false));
}

/** NM-4.2: on the sending node's uplink, cross-node pod traffic keeps the pod IP (inner header when encapsulated). */
function inClusterOnWire(o: Observations): CheckOutcome {
  return outcome(byKind(o, 'pod-pod-cross').map((f): FlowVerdict => {
    const node = nodeOfProbe(o, f.flow.from);
    const host = hostOf(o, node)?.name ?? '';
    const expectSrc = ipOf(o, f.flow.from);
    const base = { ...flowBase(f, o), expected: `${expectSrc} > ${f.flow.dstIP} (inner) on ${node}'s uplink`, captures: [host] };
    if (f.uplinkUnknown) return { ...base, verdict: 'inconclusive', observed: f.uplinkUnknown };
    // A connection that never carried data is judged by its SYN.
    const seen = f.atUplink.length ? f.atUplink : f.handshakeAtUplink;
    const bad = seen.find((s) => s.src !== expectSrc);
    if (bad) return { ...base, verdict: 'failed', observed: `${bad.src} > ${bad.dst}${bad.encapsulation.length ? ` inside ${bad.encapsulation.join('/')}` : ''} on the uplink (packet #${bad.packet} at ${bad.capture})`, decisive: decisiveOf(bad, `on ${node}'s uplink`) };
    const s = seen[0];
    if (!s) return { ...base, verdict: 'inconclusive', observed: `not seen leaving ${node}'s uplink (the capture there saw ${o.controls.get(host)?.received ?? 0} flows to its node)` };
    const what = f.atUplink.length ? '' : ' (its SYN: the connection carried no data)';
    return { ...base, verdict: 'passed', observed: `${s.src} > ${s.dst}${s.encapsulation.length ? ` inside ${s.encapsulation.join('/')} (${s.outerSrc} > ${s.outerDst})` : ''}${what}`, decisive: decisiveOf(s, `on ${node}'s uplink`) };
  }), 'uplink', nothingToJudge(o, 'cross-node pod', true));
}

const isFragNeeded = (s: Sighting) => (s.icmpType === 3 && s.icmpCode === 4) || s.icmpType === 2;

/** NM-5.1: a datagram as large as the route MTU, with DF, arrives whole, or path MTU discovery answers. */
function fullSize(o: Observations): CheckOutcome {
  // The path control of each MTU flow: the first small UDP flow between the same two probes (looked up, not searched per flow).
  const smallOf = new Map<string, FlowObservation>();
  for (const x of o.flows) {
    const k = `${x.flow.from}|${x.flow.to ?? ''}`;
    if (x.flow.kind === 'pod-pod-cross' && x.flow.proto === 'udp' && !smallOf.has(k)) smallOf.set(k, x);
  }
  return outcome(byKind(o, 'pod-pod-mtu').map((f): FlowVerdict => {
    const size = f.sent?.size;
    const base = { ...flowBase(f, o), expected: `a ${size ?? 'route-MTU'}-byte DF datagram ${ipOf(o, f.flow.from)} > ${f.flow.dstIP} at ${f.flow.to}, or an ICMP "fragmentation needed" at ${f.flow.from}`, captures: [f.flow.from, f.flow.to ?? ''] };
    if (!f.sent) return { ...base, verdict: 'inconclusive', observed: 'the sender did not report this flow' };
    if (f.sent.errno !== 0 || !size) {
      const why = f.sent.error === 'EMSGSIZE' ? 'it already holds a smaller path MTU for this destination' : 'see the error';
      return { ...base, verdict: 'inconclusive', observed: `the sender's kernel refused the ${size ?? '?'}-byte datagram (${f.sent.error ?? `errno ${f.sent.errno}`}): ${why}` };
    }
    const got = f.atReceiver[0];
    if (got) {
      const whole = got.length === size && got.df === true && got.fragment !== true;
      return whole
        ? { ...base, verdict: 'passed', observed: `arrived whole: ${got.length} bytes, DF, ${got.src} > ${got.dst} at ${got.capture}`, decisive: decisiveOf(got, 'as received') }
        : { ...base, verdict: 'failed', observed: `arrived as ${got.length ?? '?'} bytes${got.df ? ', DF' : ', without DF'}${got.fragment ? ', a fragment' : ''} (sent ${size} with DF), ${got.src} > ${got.dst}, packet #${got.packet} at ${got.capture}`, decisive: decisiveOf(got, 'as received, not whole') };
    }
    const icmp = f.icmpAtSender.find(isFragNeeded);
    if (icmp) return { ...base, verdict: 'passed', observed: `drew an ICMP "fragmentation needed" (next-hop MTU ${icmp.icmpMtu ?? '?'}) from ${icmp.src}, packet #${icmp.packet} at ${icmp.capture}`, decisive: decisiveOf(icmp, 'ICMP fragmentation needed') };
    // Path control: small datagrams between the same pods must arrive, or this is not about size.
    const small = smallOf.get(`${f.flow.from}|${f.flow.to ?? ''}`);
    if (small && small.atReceiver.length === 0) {
      return { ...base, verdict: 'inconclusive', observed: `small datagrams on this path do not arrive either (flow ${small.flow.id}, see NM-1.2): not a question of size` };
    }
    const out = f.atSender[0];
    if (!out) return { ...base, verdict: 'inconclusive', observed: `the datagram is not in ${f.flow.from}'s capture` };
    const unproven = absenceUnproven(o, f.flow.to, 'received') ?? absenceUnproven(o, f.flow.from, 'replies');
    if (unproven) return { ...base, verdict: 'inconclusive', observed: `not seen at ${f.flow.to}, but ${unproven}` };
    return { ...base, verdict: 'failed', observed: `sent as ${out.src} > ${out.dst}, ${out.length ?? '?'} bytes${out.df ? ' with DF' : ''} (packet #${out.packet} at ${out.capture}); never seen at ${f.flow.to}, and no ICMP "fragmentation needed" came back: silently dropped`, decisive: decisiveOf(out, 'as sent; vanished without an ICMP error') };
  }), 'full-size', nothingToJudge(o, 'full-size', true));
}

export const CHECKS: CheckDef[] = [
  {
    id: 'NM-1.1', title: 'Same-node pod to pod, no NAT', profile: 'core', flowKinds: ['pod-pod-same'],
    rule: 'A pod reaches another pod on its node over TCP and UDP, and the receiver sees the sender\'s pod IP as source and its own pod IP as destination.',
    judge: podToPod('pod-pod-same'),
  },
  {
    id: 'NM-1.2', title: 'Cross-node pod to pod, no NAT', profile: 'core', flowKinds: ['pod-pod-cross'],
    rule: 'For every ordered pair of nodes, a pod on one reaches a pod on the other over TCP and UDP, and the receiver sees the sender\'s pod IP.',
    judge: podToPod('pod-pod-cross'),
  },
  {
    id: 'NM-1.3', title: 'Replies come back un-NATed', profile: 'core', flowKinds: ['pod-pod-same', 'pod-pod-cross'],
    rule: 'The reply to a pod-to-pod flow reaches the sender from the receiver\'s pod IP, addressed to the sender\'s pod IP.',
    judge: (o) => outcome(byKind(o, 'pod-pod-same', 'pod-pod-cross').map((f) => judgeReply(o, f)), 'reply', nothingToJudge(o, 'pod-to-pod', false)),
  },
  {
    id: 'NM-2.1', title: 'Node agent to local pods, no NAT', profile: 'core', flowKinds: ['host-pod-same'],
    rule: 'A hostNetwork probe reaches each pod on its node; the source as sent equals the source as received and is an address of that node.',
    judge: hostToPod('host-pod-same'),
  },
  {
    id: 'NM-2.2', title: 'hostNetwork pod to pods on other nodes, no NAT', profile: 'core', flowKinds: ['host-pod-cross'],
    rule: 'A hostNetwork probe reaches pods on every other node; the source as sent equals the source as received and is an address of its node.',
    judge: hostToPod('host-pod-cross'),
  },
  {
    id: 'NM-2.3', title: 'Pod to every node, no NAT', profile: 'strict', flowKinds: ['pod-node'],
    rule: 'A pod reaches every node\'s address, and the node sees the pod IP as source (a stricter reading than the documented model: most CNIs masquerade pod traffic to other nodes on purpose).',
    judge: (o) => outcome(byKind(o, 'pod-node').map((f) => judgeDelivery(o, f, ipOf(o, f.flow.from), f.flow.dstIP)), 'pod-to-node', nothingToJudge(o, 'pod-to-node', false)),
  },
  {
    id: 'NM-2.4', title: 'Pods reach every node', profile: 'core', flowKinds: ['pod-node'],
    rule: 'A pod reaches every node\'s address and the reply comes back, whatever source address the node saw.',
    judge: (o) => outcome(byKind(o, 'pod-node').map((f) => judgeReachNode(o, f)), 'pod-to-node', nothingToJudge(o, 'pod-to-node', false)),
  },
  {
    id: 'NM-3.1', title: 'Pod IPs are unique cluster-wide', profile: 'core', flowKinds: [],
    rule: 'No two live (Pending or Running) pods that are not hostNetwork share an IP address, per family, across all namespaces; finished pods keep stale IPs that new pods may reuse.',
    judge: uniquePodIPs,
  },
  {
    id: 'NM-3.2', title: 'Address plan is sound', profile: 'core', flowKinds: [],
    rule: 'Node pod CIDRs do not overlap (per family), and no live pod IP equals a node\'s address.',
    judge: addressPlan,
  },
  {
    id: 'NM-3.3', title: 'Identity on the wire', profile: 'core', flowKinds: ['pod-pod-same', 'pod-pod-cross'],
    rule: 'Each probe\'s interface address equals its status.podIP, and a flow to a probe\'s IP is answered by that probe.',
    judge: identity,
  },
  {
    id: 'NM-3.4', title: 'Pods inside their node\'s pod CIDR', profile: 'strict', flowKinds: [],
    rule: 'Each live pod\'s IP lies in its node\'s pod CIDR of that family (calico-ipam, Cilium cluster-pool and VPC CNIs ignore node pod CIDRs on purpose).',
    judge: podsInNodeCidr,
  },
  {
    id: 'NM-4.1', title: 'Internet egress is SNATed', profile: 'core', flowKinds: ['pod-external'],
    rule: 'A pod\'s traffic to an external target leaves its node with the source the declared egress design gives it (a node address by default), and the reply reaches the pod addressed to its pod IP.',
    judge: egress,
  },
  {
    id: 'NM-4.2', title: 'In-cluster traffic is not SNATed on the wire', profile: 'core', flowKinds: ['pod-pod-cross'],
    rule: 'On the sending node\'s uplink, the (inner, if encapsulated) source of cross-node pod traffic is the sender\'s pod IP.',
    judge: inClusterOnWire,
  },
  {
    id: 'NM-5.1', title: 'Full-size packets cross nodes (MTU)', profile: 'extended', flowKinds: ['pod-pod-mtu', 'pod-pod-cross'],
    rule: 'For every ordered pair of nodes, a UDP datagram as large as the route MTU to the remote pod, sent with DF, arrives whole, or the sender gets an ICMP "fragmentation needed" (path MTU discovery works); it never vanishes.',
    judge: fullSize,
  },
];

export const CHECK_IDS = CHECKS.map((c) => c.id);

/** The profiles a `--profile` choice runs: core alone, core and extended (the default), or all three. */
export const PROFILE_CHOICES = { core: ['core'], extended: ['core', 'extended'], strict: ['core', 'extended', 'strict'] } as const satisfies Record<string, readonly Profile[]>;
export type ProfileChoice = keyof typeof PROFILE_CHOICES;

/**
 * The checks a run judges: those of the profile choice, narrowed by `--only`
 * and `--skip` (`NM-1.2`, a rule family `NM-1` or `NM-1.*`). A check named by
 * its exact id in `--only` runs whatever its profile; a family keeps to the
 * profile. Unknown ids are an error naming them.
 */
export function selectChecks(only: string[] | undefined, skip: string[] | undefined, profile: ProfileChoice = 'extended'): CheckDef[] {
  const profiles: readonly Profile[] = PROFILE_CHOICES[profile];
  const match = (pattern: string, exactAnyProfile: boolean) => {
    const p = pattern.replace(/\.\*$/, '');
    const hits = CHECKS.filter((c) => c.id === p || c.id.startsWith(`${p}.`));
    if (!hits.length) throw new Error(`unknown check id \`${pattern}\` (known: ${CHECK_IDS.join(', ')})`);
    return hits.filter((c) => profiles.includes(c.profile) || (exactAnyProfile && c.id === p)).map((c) => c.id);
  };
  const onlyIds = only?.length ? new Set(only.flatMap((x) => match(x, true))) : undefined;
  const skipIds = new Set((skip ?? []).flatMap((x) => match(x, true)));
  return CHECKS.filter((c) => (onlyIds ? onlyIds.has(c.id) : profiles.includes(c.profile)) && !skipIds.has(c.id));
}
