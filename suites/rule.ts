// The suites' shared fixture: a lab per dataplane, one conformance run of a
// rule's checks on it, then one test per check. Each suite file declares its
// rule and nothing else.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { CHECKS } from '../src/conformance/catalogue.js';
import { parseRunOptions } from '../src/conformance/options.js';
import { runConformance } from '../src/run/run.js';
import type { ConformanceReport } from '../src/report/model.js';
import { describeLab, useLab } from '../tests/helpers/lab.js';

export function describeRule(rule: string, opts: { nodes: number; labPrefix: string }): void {
  const ids = CHECKS.filter((c) => c.id.startsWith(`${rule}.`)).map((c) => c.id);
  for (const dataplane of ['host-gw', 'vxlan'] as const) {
    describeLab(`${rule} on a ${opts.nodes}-node ${dataplane} lab`, () => {
      const lab = useLab(`${opts.labPrefix}${dataplane === 'vxlan' ? 'vx' : 'hg'}`, ['--nodes', String(opts.nodes), '--dataplane', dataplane]);
      const dir = mkdtempSync(join(tmpdir(), 'podwire-suite-'));
      let report: ConformanceReport;
      beforeAll(async () => {
        const run = await runConformance(parseRunOptions(['--kubeconfig', lab().kubeconfig, '--only', rule, '--profile', 'strict', '--report-dir', dir]), { log: () => undefined });
        report = run.report;
      });
      afterAll(() => rmSync(dir, { recursive: true, force: true }));

      test.each(ids)('%s passes, judged from flows on the wire', (id) => {
        const check = report.checks.find((c) => c.id === id);
        expect(check, `${id} missing from the report`).toBeDefined();
        expect(check!.result, `${id}: ${check!.reason}`).toBe('passed');
        expect(check!.flows.length).toBeGreaterThan(0);
        expect(check!.flows.every((f) => f.verdict === 'passed')).toBe(true);
      });

      test('only the selected rule ran', () => {
        expect(report.checks.map((c) => c.id)).toEqual(ids);
      });
    });
  }
}
