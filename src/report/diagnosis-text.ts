// A diagnosis in words, for the console, JUnit, HTML and evidence renderings. Pure.
import type { CheckDiagnosis, Subsystem } from '../conformance/model.js';

/** How a subsystem is named in a sentence. */
export const SUBSYSTEM_LABEL: Record<Subsystem, string> = {
  route: 'route', masquerade: 'masquerade/SNAT', 'forward-policy': 'FORWARD policy', mtu: 'MTU', ipam: 'IPAM',
  'interface-address': 'address on the interface', arp: 'ARP (neighbour resolution)', unknown: 'unknown',
};

/** One line for people: `masquerade/SNAT on node-1, node-2: <what shows it> (4 of 4 failed flows)`. */
export function diagnosisLine(d: CheckDiagnosis): string {
  const where = d.nodes.length ? ` on ${d.nodes.join(', ')}` : '';
  return `${SUBSYSTEM_LABEL[d.subsystem]}${where}: ${d.text} (${d.explains} of ${d.of} failed)`;
}
