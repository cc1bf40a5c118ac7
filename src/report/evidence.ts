// Evidence for a failed or inconclusive check: the pcaps of the capture
// points that decided, a decoded one-line-per-packet summary of each (ICMP
// messages by name, interfaces by the capturing host's names), the probes'
// addresses and routes and, for the nodes, their rules, links, nat and
// filter tables, and the flows with expected vs observed and the likely cause.
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { CaptureData } from '../conformance/observe.js';
import type { CheckResult, Probe, ProbeInventory } from '../conformance/model.js';
import { formatPacket } from '../decode/format.js';
import { diagnosisLine, SUBSYSTEM_LABEL } from './diagnosis-text.js';
import { familyName } from '../conformance/families.js';

const MAX_CAPTURES = 12;

export interface EvidenceData {
  /** The pcap bytes per capture point (probe name). */
  pcaps: Map<string, Buffer>;
  captures: CaptureData[];
  inventory: Map<string, ProbeInventory>;
  probes: Probe[];
}

export async function writeEvidence(
  runDir: string,
  check: CheckResult,
  data: EvidenceData,
): Promise<string> {
  const dir = join(runDir, 'evidence', check.id);
  await mkdir(dir, { recursive: true });
  const bad = check.flows.filter((f) => f.verdict !== 'passed');
  // Decisive packets' captures first, so the cap never drops the capture that decided.
  const names = [...new Set([...bad.map((f) => f.decisive?.capture), ...bad.flatMap((f) => f.captures)].filter((x): x is string => !!x))].slice(0, MAX_CAPTURES);
  for (const name of names) {
    const bytes = data.pcaps.get(name);
    if (!bytes) continue;
    await writeFile(join(dir, `${name}.pcap`), bytes);
    const packets = data.captures.find((c) => c.probe === name)?.packets ?? [];
    const links = new Map((data.inventory.get(name)?.links ?? []).map((l) => [l.ifindex, l.name]));
    await writeFile(join(dir, `${name}.txt`), packets.map((p) => formatPacket(p, { ifname: (i) => links.get(i) })).join('\n') + '\n');
  }
  const probeText = data.probes.filter((p) => names.includes(p.name) || bad.some((f) => f.from.startsWith(p.name) || f.to.startsWith(p.name))).map((p) => {
    const inv = data.inventory.get(p.name);
    return `== ${p.name} (${p.role} on ${p.node}, status IP${p.ips && p.ips.length > 1 ? `s ${p.ips.join(', ')}` : ` ${p.ip}`})\n${inv?.addrText ?? ''}\n-- routes\n${inv?.routes ?? ''}\n${inv ? nodeSnapshotText(inv) : ''}`;
  });
  await writeFile(join(dir, 'probes.txt'), probeText.join('\n'));
  await writeFile(join(dir, 'flows.txt'), [
    `${check.id} ${check.title}: ${check.result}`,
    check.reason,
    ...(check.families ?? []).map((x) => `${familyName(x.family)}: ${x.result}`),
    ...(check.diagnosis ? [`likely cause: ${diagnosisLine(check.diagnosis)}`] : []),
    '',
    ...bad.map((f) => [
      `${f.verdict.toUpperCase()} ${f.flow}${f.family ? ` ${familyName(f.family)}` : ''} ${f.proto} ${f.from} -> ${f.to}`,
      `  expected ${f.expected}`,
      `  observed ${f.observed}`,
      ...(f.note ? [`  note ${f.note}`] : []),
      ...(f.diagnosis ? [`  likely cause ${SUBSYSTEM_LABEL[f.diagnosis.subsystem]}${f.diagnosis.nodes.length ? ` on ${f.diagnosis.nodes.join(', ')}` : ''}: ${f.diagnosis.text}`] : []),
      ...(f.retried ? ['  retried: the sender sent it twice (no reply to the first try)'] : []),
      ...(f.decisive ? [`  decisive packet #${f.decisive.packet} in ${f.decisive.capture}.pcap (${f.decisive.role}): ${f.decisive.src} > ${f.decisive.dst}`] : []),
      `  captures ${f.captures.join(', ') || '-'}`,
    ].join('\n')),
  ].join('\n') + '\n');
  return relative(runDir, dir);
}

/** The rest of a probe's snapshot: policy rules, links with MTUs, and (host probes) the node's nat and filter tables or why they are missing. */
function nodeSnapshotText(inv: ProbeInventory): string {
  const parts: string[] = [];
  if (inv.rules !== undefined) parts.push(`-- rules\n${inv.rules}`);
  if (inv.links) parts.push(`-- links\n${inv.links.map((l) => `${l.ifindex}: ${l.name} mtu ${l.mtu ?? '?'}${l.kind ? ` ${l.kind}` : ''}`).join('\n')}\n`);
  for (const c of inv.firewall ?? []) {
    parts.push(`-- ${c.command}${c.omitted ? ` (left out: ${c.omitted})` : ''}\n${c.output ?? `(none: ${c.error ?? 'no output'})\n`}`);
  }
  return parts.join('');
}
