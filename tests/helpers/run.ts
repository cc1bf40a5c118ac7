// `podwire run` as users run it (the built CLI), with its report read back,
// and what a run may leave in a cluster.
import { execa } from 'execa';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ConformanceReport } from '../../src/report/model.js';
import { CLI, type TestLab } from './lab.js';

export async function podwireRun(lab: TestLab, reportsRoot: string, args: string[] = []) {
  const dir = mkdtempSync(join(reportsRoot, 'r-'));
  const r = await execa(process.execPath, [CLI, 'run', '--kubeconfig', lab.kubeconfig, '--report-dir', dir, ...args], { reject: false, timeout: 300_000 });
  const runs = readdirSync(dir);
  const report = runs.length ? (JSON.parse(readFileSync(join(dir, runs[0]!, 'report.json'), 'utf8')) as ConformanceReport) : undefined;
  return { ...r, report, runDir: runs.length ? join(dir, runs[0]!) : undefined };
}

/** Nothing of a run left in the cluster: no namespace or pod with the run label. */
export async function leftovers(lab: TestLab): Promise<string[]> {
  const ns = await lab.kube.core.listNamespace({ labelSelector: 'podwire.dev/run' });
  const pods = await lab.kube.core.listPodForAllNamespaces({ labelSelector: 'podwire.dev/run' });
  return [...ns.items.map((n) => `ns/${n.metadata?.name}`), ...pods.items.map((p) => `pod/${p.metadata?.namespace}/${p.metadata?.name}`)];
}
