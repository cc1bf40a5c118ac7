// report.html's renderer as a pure function: everything from the report is
// escaped, links stay inside the report directory, and cells combine flows
// the way the matrix promises.
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { readBundle } from '../../src/bundle/io.js';
import type { FlowVerdict, Verdict } from '../../src/conformance/model.js';
import { judgeBundle } from '../../src/judge/judge.js';
import { cellState, esc, htmlReport } from '../../src/report/html.js';
import { ROOT } from '../helpers/lab.js';

const flow = (verdict: Verdict): FlowVerdict => ({ flow: 'f1', kind: 'pod-pod-cross', proto: 'tcp', from: 'a', to: 'b', verdict, expected: '', observed: '', captures: [] });

test.each<[Verdict[], string]>([
  [[], 'not-tested'],
  [['passed', 'passed'], 'passed'],
  [['passed', 'inconclusive'], 'inconclusive'],
  [['inconclusive', 'failed', 'passed'], 'failed'],
  [['skipped'], 'skipped'],
])('a cell of %j is %s', (verdicts, state) => {
  expect(cellState(verdicts.map(flow))).toBe(state);
});

test('esc escapes the five HTML-significant characters', () => {
  expect(esc(`<a href="x" onclick='y'>&</a>`)).toBe('&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
});

test('hostile report text is shown, never interpreted; evidence links are percent-encoded relative paths', async () => {
  const { report } = judgeBundle(await readBundle(join(ROOT, 'fixtures', 'bundles', 'missing-route')));
  const c = report.checks.find((x) => x.id === 'NM-1.2')!;
  c.title = '<script>alert(1)</script>';
  c.reason = '"><img src=x onerror=alert(1)>';
  c.flows[0]!.observed = '</td></tr></table><iframe>';
  c.diagnosis = { subsystem: 'route', nodes: ['<img>'], text: '<script>x</script>', explains: 1, of: 2 };
  c.evidence = 'evidence/NM-1.2 "x"';
  report.probes[0]!.name = `pw-"'<b>`;
  const html = htmlReport(report, { [report.probes[0]!.name]: { addresses: ['10.0.0.1'], routes: '<script>', addrText: '</pre><script>' } });
  expect(html).not.toMatch(/<script|<img|<iframe|<b>/);
  expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  expect(html).toContain('href="evidence/NM-1.2%20%22x%22/flows.txt"');
  expect(html).not.toMatch(/:\/\//);
});

test('the API server is shown without its scheme, so the page holds no URL even as text', async () => {
  const { report } = judgeBundle(await readBundle(join(ROOT, 'fixtures', 'bundles', 'clean-hostgw')));
  expect(report.cluster.server).toMatch(/^https:\/\//);
  const html = htmlReport(report);
  expect(html).toContain(`API server ${report.cluster.server.replace('https://', '')}`);
  expect(html).not.toContain('https://');
});

test('a failed check shows its likely cause (subsystem, nodes, what shows it), and each failed flow its own', async () => {
  const { report } = judgeBundle(await readBundle(join(ROOT, 'fixtures', 'bundles', 'masquerade-all')));
  const html = htmlReport(report);
  const nm12 = html.slice(html.indexOf('data-check="NM-1.2" data-result'), html.indexOf('</section>', html.indexOf('data-check="NM-1.2" data-result')));
  expect(nm12).toMatch(/<p class="diagnosis" data-subsystem="masquerade" data-nodes="node-1 node-2">Likely cause: <strong>masquerade\/SNAT<\/strong> on <strong>node-1, node-2<\/strong>\. 172\.18\.0\.1\d is node-\d&#39;s address \(eth0\): .* <span class="small">\(4 of 4 failed\)<\/span><\/p>/);
  expect(nm12.match(/<span class="small flow-diagnosis">likely cause: masquerade\/SNAT on node-\d<\/span>/g)).toHaveLength(4);
  expect(html.match(/<p class="diagnosis"/g)).toHaveLength(report.checks.filter((c) => c.result === 'failed').length);
});
