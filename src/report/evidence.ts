// Evidence for a failed or inconclusive check: the pcaps of the capture
// points that decided, a decoded one-line-per-packet summary of each, the
// probes' addresses and routes, and the flows with expected vs observed.
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { CaptureData } from '../conformance/observe.js';
import type { CheckResult, Probe, ProbeInventory } from '../conformance/model.js';
import { formatPacket } from '../decode/format.js';

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
    await writeFile(join(dir, `${name}.txt`), packets.map(formatPacket).join('\n') + '\n');
  }
  const probeText = data.probes.filter((p) => names.includes(p.name) || bad.some((f) => f.from.startsWith(p.name) || f.to.startsWith(p.name))).map((p) => {
    const inv = data.inventory.get(p.name);
    return `== ${p.name} (${p.role} on ${p.node}, status IP ${p.ip})\n${inv?.addrText ?? ''}\n-- routes\n${inv?.routes ?? ''}\n`;
  });
  await writeFile(join(dir, 'probes.txt'), probeText.join('\n'));
  await writeFile(join(dir, 'flows.txt'), [
    `${check.id} ${check.title}: ${check.result}`,
    check.reason,
    '',
    ...bad.map((f) => [
      `${f.verdict.toUpperCase()} ${f.flow} ${f.proto} ${f.from} -> ${f.to}`,
      `  expected ${f.expected}`,
      `  observed ${f.observed}`,
      ...(f.note ? [`  note ${f.note}`] : []),
      ...(f.retried ? ['  retried: the sender sent it twice (no reply to the first try)'] : []),
      ...(f.decisive ? [`  decisive packet #${f.decisive.packet} in ${f.decisive.capture}.pcap (${f.decisive.role}): ${f.decisive.src} > ${f.decisive.dst}`] : []),
      `  captures ${f.captures.join(', ') || '-'}`,
    ].join('\n')),
  ].join('\n') + '\n');
  return relative(runDir, dir);
}
