// The one exec per probe that sends all of its flows, in parallel. Each flow
// binds to the source address the kernel's route lookup names and reports
// it: the "as sent" source comes from the sender, never from a capture in its
// own netns (which shows packets after that netns's NAT). Pure: script text
// in, parsed report out.
import type { Flow, ProbeInventory, SentFlow } from './model.js';

const CONNECT_TIMEOUT_S = 4;
const MIN_REPLY_WAIT_S = 3;
const MAX_REPLY_WAIT_S = 5;

/**
 * After sending, how long socat waits for the reply. Its default (0.5 s)
 * loses replies when every probe sends at once; how long replies take grows
 * with the run's flows (all probes share the nodes' CPUs): on 2 cores, 1088
 * flows need over 3 s, and a 5-node run (120 flows) under a busy test suite
 * lost UDP replies at 1.5 s. UDP flows always wait this long (no FIN ends
 * them), so it grows with the run rather than always being the maximum.
 */
export function replyWaitS(totalFlows: number): number {
  return Math.min(MAX_REPLY_WAIT_S, Math.max(MIN_REPLY_WAIT_S, 1 + totalFlows / 300));
}

/** Seconds a flow may take (two attempts of connect + reply); the whole sender is bounded by it, since flows run in parallel. */
export const FLOW_TIMEOUT_S = 2 * (CONNECT_TIMEOUT_S + MAX_REPLY_WAIT_S + 1) + 2;

const isSafe = (s: string) => /^[A-Za-z0-9._:/-]+$/.test(s);

export function senderScript(flows: Flow[], replyWait = MAX_REPLY_WAIT_S): string {
  for (const f of flows) {
    if (![f.id, f.token, f.dstIP, String(f.dstPort), String(f.size ?? '')].every((x) => x === '' || isSafe(x))) throw new Error(`unsafe characters in flow ${f.id}`);
  }
  const dsts = [...new Set(flows.map((f) => f.dstIP))];
  // Per flow only a subshell and socat run: route lookups are one `ip -batch`,
  // the token goes in by heredoc, the reply is cut by the shell itself. On a
  // 16-node cluster that is ~1000 flows on the probes' CPUs.
  const lines = [
    // -force: a destination without a route must not end the other lookups.
    'routes=$(ip -force -batch - 2>/dev/null <<EOF',
    ...dsts.map((d) => `route get ${d}`),
    'EOF',
    ')',
    // One request (the token) and its reply, on $addr.
    'attempt() {',
    `  socat -t ${replyWait.toFixed(1)} -T ${(replyWait + 1).toFixed(1)} - "$addr" 2>/dev/null <<EOF`,
    '$tok',
    'EOF',
    '}',
    // $1 id, $2 token, $3 proto, $4 dst, $5 port, $6 IP packet size (full-size DF datagram)
    'send() {',
    '  id=$1; tok=$2; proto=$3; dst=$4; port=$5; size=$6; src=',
    '  while read -r a rest; do [ "$a" = local ] && { set -- $rest; a=$1; shift; rest="$*"; }; case "$a" in "$dst") set -- $rest; while [ $# -gt 1 ]; do [ "$1" = src ] && src=$2; shift; done; break;; esac; done <<EOF',
    '$routes',
    'EOF',
    '  if [ -z "$src" ]; then echo "SENT $id - 98 no-route"; return; fi',
    // One datagram of exactly $size bytes of IP (20 IP + 8 UDP + payload), DF set (IP_PMTUDISC_DO).
    '  if [ -n "$size" ]; then printf "%-$((size - 28))s" "$tok" | socat -u - "UDP4:$dst:$port,bind=$src,mtudiscover=2" >/dev/null 2>&1; echo "SENT $id $src $?"; return; fi',
    `  if [ "$proto" = tcp ]; then addr="TCP4:$dst:$port,bind=$src,connect-timeout=${CONNECT_TIMEOUT_S}"; else addr="UDP4:$dst:$port,bind=$src"; fi`,
    '  out=$(attempt); rc=$?',
    // A reply can come late or be lost when every probe sends at once (a soak of 8-node runs lost
    // one UDP reply in 20 runs): one more try. The receiver then sees the token twice; every
    // sighting is judged, so a retry can hide a slow reply, never a rewritten address.
    '  if [ $rc -eq 0 ] && [ -z "$out" ]; then echo "RETRY $id"; out=$(attempt); rc=$?; fi',
    '  set -- $out',
    '  echo "SENT $id $src $rc $1"',
    '}',
    ...flows.map((f) => `send ${f.id} ${f.token} ${f.proto} ${f.dstIP} ${f.dstPort}${f.size ? ` ${f.size}` : ''} &`),
    'wait',
  ];
  return lines.join('\n');
}

export function parseSenderOutput(out: string): Map<string, SentFlow> {
  const sent = new Map<string, SentFlow>();
  const retried = new Set<string>();
  for (const line of out.split('\n')) {
    const m = /^SENT (\S+) (\S+) (\d+) ?(.*)$/.exec(line.trim());
    if (m) sent.set(m[1]!, { id: m[1]!, src: m[2]!, exitCode: Number(m[3]), reply: m[4]!.trim() });
    const r = /^RETRY (\S+)$/.exec(line.trim());
    if (r) retried.add(r[1]!);
  }
  for (const id of retried) {
    const s = sent.get(id);
    if (s) s.retried = true;
  }
  return sent;
}

/** Inventory of a probe before traffic: its addresses, routes, and (host probes) the uplink. */
export const INVENTORY_SCRIPT = [
  'echo "== addr"; ip -4 -o addr show',
  'echo "== route"; ip -4 route show',
  'dev=$(ip -4 route show default | sed -n "s/.* dev \\([^ ]*\\).*/\\1/p" | head -n 1)',
  'echo "== uplink $dev $(cat /sys/class/net/$dev/ifindex 2>/dev/null)"',
  'echo "== mtu $(cat /sys/class/net/eth0/mtu 2>/dev/null)"',
].join('\n');

export function parseInventory(out: string, role: 'pod' | 'host'): ProbeInventory {
  const section = (name: string) => {
    const m = new RegExp(`== ${name}\\n([\\s\\S]*?)(?=\\n== |$)`).exec(out);
    return m?.[1]?.trim() ?? '';
  };
  const addrText = section('addr');
  const addresses = addrText.split('\n').flatMap((l) => {
    const m = /^\d+:\s+(\S+)\s+inet (\d+\.\d+\.\d+\.\d+)\//.exec(l.trim());
    if (!m || m[1] === 'lo') return [];
    return role === 'pod' && m[1] !== 'eth0' ? [] : [m[2]!];
  });
  const up = /== uplink (\S+) (\d+)/.exec(out);
  const mtu = /== mtu (\d+)/.exec(out);
  return {
    addresses, routes: section('route'), addrText,
    ...(up ? { uplink: up[1]!, uplinkIfindex: Number(up[2]) } : {}),
    ...(mtu && role === 'pod' ? { mtu: Number(mtu[1]) } : {}),
  };
}
