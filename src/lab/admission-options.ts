// `lab up`'s admission options: checked against the lab's nodes before
// anything is built, and described in one phrase for logs and `lab up`'s line.
import type { AdmissionConfig } from './apiserver/admission.js';

/** Why these options cannot make a lab of `nodes` nodes; undefined when they can. */
export function admissionConflict(cfg: AdmissionConfig | undefined, nodes: number): string | undefined {
  if (!cfg) return undefined;
  if (cfg.pinPodSecurity && (cfg.podSecurity ?? 'privileged') === 'privileged') {
    return '`--pin-pod-security` pins new namespaces to the `--pod-security` level: give `--pod-security baseline` or `restricted` too';
  }
  for (const node of cfg.denyProbes ?? []) {
    const m = /^node-(\d+)$/.exec(node);
    if (!m || Number(m[1]) < 1 || Number(m[1]) > nodes) {
      return `\`--deny-probes\` names lab nodes (node-1 to node-${nodes}), got \`${node}\``;
    }
  }
  return undefined;
}

/** "PodSecurity baseline (pinned), webhook denies probes on node-2", or '' when the lab admits everything. */
export function describeAdmission(cfg: AdmissionConfig | undefined): string {
  if (!cfg) return '';
  const parts: string[] = [];
  if (cfg.podSecurity && (cfg.podSecurity !== 'privileged' || cfg.pinPodSecurity)) parts.push(`PodSecurity ${cfg.podSecurity}${cfg.pinPodSecurity ? ' (pinned)' : ''}`);
  if (cfg.denyProbes?.length) parts.push(`webhook denies probes on ${cfg.denyProbes.join(', ')}`);
  return parts.join(', ');
}
