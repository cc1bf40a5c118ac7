// write: the renderings of a judged run on disk: report.json, junit.xml,
// report.html and, for every check that did not pass, its evidence directory.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunBundle } from '../bundle/model.js';
import type { CaptureData } from '../conformance/observe.js';
import { writeEvidence } from './evidence.js';
import { htmlReport } from './html.js';
import type { ConformanceReport } from './model.js';
import { junitXml } from './render.js';

export async function writeReport(dir: string, report: ConformanceReport, bundle: RunBundle, captures: CaptureData[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  const data = {
    pcaps: new Map(bundle.captures.map((c) => [c.probe, c.data])),
    captures,
    inventory: new Map(Object.entries(bundle.probes.inventory)),
    probes: bundle.probes.probes,
  };
  for (const c of report.checks) {
    if (c.result === 'failed' || c.result === 'inconclusive') c.evidence = await writeEvidence(dir, c, data);
  }
  await writeFile(join(dir, 'report.json'), JSON.stringify(report, null, 2) + '\n');
  await writeFile(join(dir, 'junit.xml'), junitXml(report));
  // After the evidence: the page links each check's evidence directory.
  await writeFile(join(dir, 'report.html'), htmlReport(report, bundle.probes.inventory));
}
