// report.html: the report for people. One self-contained file (inline CSS, no
// script, no URL: it opens from file:// on a machine without network and
// prints), rendered from the report model and the probes' inventory. Pure.
import type { CheckResult, FlowVerdict, Probe, ProbeInventory, Verdict } from '../conformance/model.js';
import type { ConformanceReport, Summary } from './model.js';
import { SUBSYSTEM_LABEL } from './diagnosis-text.js';
import { familyName } from '../conformance/families.js';

export type CellState = Verdict | 'not-tested';

const PROTOS = ['tcp', 'udp'] as const;
const EXTERNAL = 'external';

/** Colour is never the only signal: each state has a mark and a word (print, colour-blind readers). */
const MARK: Record<CellState, string> = { passed: '✓', failed: '✗', inconclusive: '?', skipped: '–', 'not-tested': '·' };
const WORD: Record<CellState, string> = { passed: 'pass', failed: 'FAIL', inconclusive: 'inconclusive', skipped: 'skipped', 'not-tested': 'not tested' };

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const esc = (v: unknown): string => String(v).replace(/[&<>"']/g, (c) => ESC[c]!);

/** A path inside the report directory, for href: each segment percent-encoded, so a check id or probe name cannot leave the attribute or the directory. */
const rel = (...segments: string[]) => segments.map((s) => encodeURIComponent(s)).join('/');

/** Shown without the scheme: the file references no URL at all, even as text a viewer might linkify. */
const withoutScheme = (s: string) => s.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');

const CSS = `
:root{--pass:#1a7f37;--pass-bg:#dcf5e3;--fail:#b42318;--fail-bg:#fde2df;--inc:#8a5a00;--inc-bg:#fff1c2;--nt:#555;--nt-bg:#eeeeee}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1b1b;margin:0 auto;max-width:1200px;padding:16px 24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ccc;padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}
.meta{color:#444}
table{border-collapse:collapse;margin:6px 0 12px}
th,td{border:1px solid #bbb;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3}
code,pre,.mono{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:12px}
pre{background:#f7f7f7;border:1px solid #ddd;padding:6px;white-space:pre-wrap;word-break:break-all;margin:4px 0}
.badge{display:inline-block;white-space:nowrap;padding:0 6px;border-radius:3px;font-weight:600;border:1px solid}
.v-passed{color:var(--pass);background:var(--pass-bg);border-color:var(--pass)}
.v-failed{color:var(--fail);background:var(--fail-bg);border-color:var(--fail)}
.v-inconclusive{color:var(--inc);background:var(--inc-bg);border-color:var(--inc)}
.v-skipped,.v-not-tested{color:var(--nt);background:var(--nt-bg);border-color:#999}
table.matrix td.cell{padding:2px 4px;white-space:nowrap}
.pm{display:inline-block;min-width:7.5em;margin:1px;padding:1px 5px;border:1px solid;border-radius:3px}
.check{border-left:4px solid #ccc;padding-left:10px;margin:14px 0;break-inside:avoid-page}
.check.r-failed{border-left-color:var(--fail)}.check.r-inconclusive{border-left-color:var(--inc)}.check.r-passed{border-left-color:var(--pass)}
.reason{margin:2px 0 6px}
.diagnosis{margin:4px 0 8px;padding:4px 8px;background:#fff7e6;border:1px solid #e0b050;border-radius:3px}
.small{font-size:12px;color:#444}
@media print{body{max-width:none;padding:0;font-size:11px}a{color:inherit}.badge,.pm,th{-webkit-print-color-adjust:exact;print-color-adjust:exact}h2{break-after:avoid}}
`;

const badge = (v: CellState, text = `${MARK[v]} ${WORD[v]}`) => `<span class="badge v-${v}">${esc(text)}</span>`;

const probeName = (endpoint: string) => endpoint.split(' ')[0] ?? endpoint;

/** The node a flow's endpoint is on: a probe's node, or "external" for the internet target. */
function nodeOf(endpoint: string, probes: readonly Probe[]): string | undefined {
  const name = probeName(endpoint);
  if (name === EXTERNAL) return EXTERNAL;
  return probes.find((p) => p.name === name)?.node;
}

/** Flows over the wire (a protocol, two ends): the ones a node × node matrix can show. */
const networkFlows = (c: CheckResult) => c.flows.filter((f) => f.proto !== '-');

/** A cell's state from its flows: any failure fails it, then inconclusive, then passed; no flow: not tested. */
export function cellState(flows: readonly FlowVerdict[]): CellState {
  if (flows.length === 0) return 'not-tested';
  for (const v of ['failed', 'inconclusive', 'passed'] as const) if (flows.some((f) => f.verdict === v)) return v;
  return 'skipped';
}

export interface Matrix {
  rows: string[];
  cols: string[];
  /** `from|to|proto` → flows. */
  cells: Map<string, FlowVerdict[]>;
}

export function matrixOf(check: CheckResult, nodes: readonly string[], probes: readonly Probe[]): Matrix {
  const cells = new Map<string, FlowVerdict[]>();
  let external = false;
  for (const f of networkFlows(check)) {
    const from = nodeOf(f.from, probes) ?? probeName(f.from);
    const to = nodeOf(f.to, probes) ?? probeName(f.to);
    if (to === EXTERNAL) external = true;
    const k = `${from}|${to}|${f.proto}`;
    cells.set(k, [...(cells.get(k) ?? []), f]);
  }
  return { rows: [...nodes], cols: external ? [...nodes, EXTERNAL] : [...nodes], cells };
}

function matrixHtml(check: CheckResult, m: Matrix, family?: 4 | 6): string {
  const fam = family ? ` data-family="${family}"` : '';
  const head = `<tr><th>sender ↓ / receiver →</th>${m.cols.map((c) => `<th scope="col">${esc(c)}</th>`).join('')}</tr>`;
  const rows = m.rows.map((r) => `<tr><th scope="row">${esc(r)}</th>${m.cols.map((c) => {
    const parts = PROTOS.map((p) => {
      const flows = m.cells.get(`${r}|${c}|${p}`) ?? [];
      const s = cellState(flows);
      const title = flows.length ? flows.map((f) => `${f.flow} ${f.verdict}: ${f.from} → ${f.to}`).join('\n') : 'no flow of this kind';
      return `<span class="pm v-${s}" data-check="${esc(check.id)}" data-from="${esc(r)}" data-to="${esc(c)}" data-proto="${p}" data-state="${s}"${fam} title="${esc(title)}">${p.toUpperCase()} ${MARK[s]} ${esc(WORD[s])}</span>`;
    });
    return `<td class="cell">${parts.join('<br>')}</td>`;
  }).join('')}</tr>`);
  return `<table class="matrix" data-check="${esc(check.id)}">${head}${rows.join('')}</table>`;
}

/** One matrix, or one per family (captioned) when the check was judged in several. */
function matricesHtml(check: CheckResult, nodes: readonly string[], probes: readonly Probe[]): string {
  if (!check.families) return matrixHtml(check, matrixOf(check, nodes, probes));
  return check.families.map((f) => {
    const mine = { ...check, flows: check.flows.filter((x) => x.family === f.family) };
    return networkFlows(mine).length ? `<h4>${esc(familyName(f.family))}</h4>${matrixHtml(check, matrixOf(mine, nodes, probes), f.family)}` : '';
  }).join('');
}

function decisiveHtml(check: CheckResult, f: FlowVerdict): string {
  const d = f.decisive;
  if (!d) return '<span class="small">none</span>';
  const where = check.evidence
    ? `<a href="${esc(rel(...check.evidence.split('/'), `${d.capture}.txt`))}">${esc(d.capture)}</a> (<a href="${esc(rel(...check.evidence.split('/'), `${d.capture}.pcap`))}">pcap</a>)`
    : esc(d.capture);
  return `#${esc(d.packet)} in ${where}: <span class="mono">${esc(d.src)} &gt; ${esc(d.dst)}</span><br><span class="small">${esc(d.role)}</span>`;
}

function badFlowsHtml(check: CheckResult): string {
  const bad = check.flows.filter((f) => f.verdict === 'failed' || f.verdict === 'inconclusive');
  if (!bad.length) return '';
  const rows = bad.map((f) => `<tr data-flow="${esc(f.flow)}"><td>${badge(f.verdict)}</td><td class="mono">${esc(f.flow)}${f.family ? ` <span class="small">${esc(familyName(f.family))}</span>` : ''}</td><td>${esc(f.proto)}</td>`
    + `<td class="mono">${esc(f.from)} → ${esc(f.to)}</td><td class="mono">${esc(f.expected)}</td><td>${esc(f.observed)}${f.retried ? '<br><span class="small">sent twice (no reply to the first try)</span>' : ''}${f.note ? `<br><span class="small">note: ${esc(f.note)}</span>` : ''}${f.diagnosis ? `<br><span class="small flow-diagnosis">likely cause: ${esc(SUBSYSTEM_LABEL[f.diagnosis.subsystem])}${f.diagnosis.nodes.length ? ` on ${esc(f.diagnosis.nodes.join(', '))}` : ''}</span>` : ''}</td>`
    + `<td>${decisiveHtml(check, f)}</td></tr>`);
  return `<table class="flows"><tr><th>verdict</th><th>flow</th><th>proto</th><th>from → to</th><th>expected</th><th>observed</th><th>decisive packet</th></tr>${rows.join('')}</table>`;
}

/** A long reason repeats the failing flows the table lists: its lead is shown, the whole is one click away. */
function reasonHtml(check: CheckResult): string {
  const lead = check.reason.split(': ')[0]!;
  const listed = check.flows.some((f) => f.verdict === 'failed' || f.verdict === 'inconclusive');
  if (!listed || check.reason.length <= 200 || lead === check.reason) return `<p class="reason">${esc(check.reason)}</p>`;
  return `<p class="reason">${esc(lead)} (below).</p><details class="small"><summary>the full reason</summary>${esc(check.reason)}</details>`;
}

/** The likely cause, shown first under a failed check: subsystem and nodes in bold, then what shows it. */
function diagnosisHtml(check: CheckResult): string {
  const d = check.diagnosis;
  if (!d) return '';
  const where = d.nodes.length ? ` on <strong>${esc(d.nodes.join(', '))}</strong>` : '';
  return `<p class="diagnosis" data-subsystem="${esc(d.subsystem)}" data-nodes="${esc(d.nodes.join(' '))}">Likely cause: <strong>${esc(SUBSYSTEM_LABEL[d.subsystem])}</strong>${where}. ${esc(d.text)} <span class="small">(${d.explains} of ${d.of} failed)</span></p>`;
}

function checkHtml(check: CheckResult, nodes: readonly string[], probes: readonly Probe[]): string {
  const net = networkFlows(check);
  const evidence = check.evidence
    ? `<p class="small">evidence: <a href="${esc(rel(...check.evidence.split('/'), 'flows.txt'))}">${esc(check.evidence)}/flows.txt</a>, <a href="${esc(rel(...check.evidence.split('/'), 'probes.txt'))}">probes.txt</a></p>`
    : '';
  return `<section class="check r-${check.result}" id="${esc(`check-${check.id}`)}" data-check="${esc(check.id)}" data-result="${check.result}">
<h3>${badge(check.result)} ${esc(check.id)} ${esc(check.title)} <span class="small">(${esc(check.profile)})</span></h3>
<p class="small">${esc(check.rule)}</p>
${check.families ? `<p class="families">${check.families.map((f) => `<span data-family="${f.family}">${esc(familyName(f.family))}: ${badge(f.result)}</span>`).join(' · ')}</p>` : ''}
${reasonHtml(check)}
${diagnosisHtml(check)}
${net.length ? matricesHtml(check, nodes, probes) : ''}
${badFlowsHtml(check)}
${evidence}
</section>`;
}

const summaryRow = (name: string, s: Summary) => `<tr><th scope="row">${esc(name)}</th>${(['passed', 'failed', 'inconclusive', 'skipped'] as const).map((v) => `<td>${s[v] ? badge(v, `${MARK[v]} ${s[v]}`) : '0'}</td>`).join('')}<td>${s.total}</td></tr>`;

function summaryHtml(r: ConformanceReport): string {
  const rows = Object.entries(r.profiles).map(([p, s]) => summaryRow(p, s!));
  const fams = (r.familySummaries ?? []).map((f) => summaryRow(familyName(f.family), f.summary));
  return `<table class="summary"><tr><th>profile</th><th>passed</th><th>failed</th><th>inconclusive</th><th>skipped</th><th>checks</th></tr>${rows.join('')}${summaryRow('all', r.summary)}${fams.join('')}</table>`;
}

function coverageHtml(r: ConformanceReport): string {
  const c = r.coverage;
  const list = (title: string, xs: { node: string; reason: string }[]) => xs.length
    ? `<h3>${esc(title)}</h3><ul>${xs.map((x) => `<li><b>${esc(x.node)}</b>: ${esc(x.reason)}</li>`).join('')}</ul>` : '';
  return `<p>${c.covered} of ${c.nodes} node(s) covered${c.notCovered.length ? '' : ': every node considered was probed'}.</p>${list('Not covered', c.notCovered)}${list('Left out on purpose', c.leftOut)}`;
}

function dataplaneHtml(r: ConformanceReport): string {
  const dp = `<table><tr><th>path</th><th>encapsulation</th><th>overhead</th><th>samples</th></tr>${r.dataplane.map((d) => `<tr><td>${d.family ? `${esc(familyName(d.family))} ` : ''}${esc(d.path)}</td><td>${esc(d.encapsulation)}</td><td>${d.overheadBytes === null ? '?' : `${d.overheadBytes} B`}</td><td>${d.samples}</td></tr>`).join('')}</table>`;
  const lat = r.latency?.length
    ? `<h3>Path latency (TCP handshake at the sender, informational)</h3><table class="latency"><tr><th>path</th><th>encapsulation</th><th>median</th><th>p90</th><th>max</th><th>samples</th></tr>${r.latency.map((l) => `<tr><td>${esc(l.path)}</td><td>${esc(l.encapsulation)}</td><td>${l.medianMs.toFixed(3)} ms</td><td>${l.p90Ms.toFixed(3)} ms</td><td>${l.maxMs.toFixed(3)} ms</td><td>${l.samples}</td></tr>`).join('')}</table>`
    : '';
  return dp + lat;
}

function probesHtml(r: ConformanceReport, inventory: Readonly<Record<string, ProbeInventory>>): string {
  const table = `<table><tr><th>probe</th><th>node</th><th>role</th><th>status IP</th><th>port</th><th>addresses seen</th></tr>${r.probes.map((p) => `<tr><td class="mono">${esc(p.name)}</td><td>${esc(p.node)}</td><td>${esc(p.role)}</td><td class="mono">${esc((p.ips ?? [p.ip]).join(', '))}</td><td>${esc(p.port ?? '-')}</td><td class="mono">${esc(inventory[p.name]?.addresses.join(', ') ?? '-')}</td></tr>`).join('')}</table>`;
  const details = r.probes.map((p) => {
    const inv = inventory[p.name];
    if (!inv) return '';
    return `<details><summary class="mono">${esc(p.name)}: addresses and routes</summary><pre>${esc(inv.addrText)}</pre><pre>${esc(inv.routes)}</pre></details>`;
  });
  return table + details.join('');
}

/** The whole page. `inventory` is the bundle's per-probe inventory (addresses, routes). */
export function htmlReport(r: ConformanceReport, inventory: Readonly<Record<string, ProbeInventory>> = {}): string {
  const nodes = [...new Set([...r.cluster.nodes.map((n) => n.name), ...r.probes.map((p) => p.node)])].sort();
  const checks = r.checks.map((c) => checkHtml(c, nodes, r.probes)).join('\n');
  const legend = (['passed', 'failed', 'inconclusive', 'not-tested'] as const).map((v) => badge(v)).join(' ');
  const verdict = r.summary.failed ? badge('failed', `✗ ${r.summary.failed} check(s) failed`) : badge('passed', '✓ no check failed');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>podwire report ${esc(r.runId)}</title><style>${CSS}</style></head>
<body>
<h1>podwire conformance report ${esc(r.runId)}</h1>
<p class="meta">${verdict} · profile ${esc(r.options.profile)} · egress SNAT declared: ${esc(r.options.egressSnat)}<br>
API server ${esc(withoutScheme(r.cluster.server))} (Kubernetes ${esc(r.cluster.version)}) · ${esc(r.startedAt)} → ${esc(r.finishedAt)} (${(r.durationMs / 1000).toFixed(1)} s) · podwire ${esc(r.implementation.version)}<br>
${r.counts.probes} probes, ${r.counts.flows} flows, ${r.counts.captures} captures, ${r.counts.execs} execs${r.counts.retried ? `, ${r.counts.retried} flow(s) sent twice` : ''} · files: <a href="report.json">report.json</a>, <a href="junit.xml">junit.xml</a></p>
<h2>Summary</h2>
${summaryHtml(r)}
<h2>Coverage</h2>
${coverageHtml(r)}
<h2>Checks</h2>
<p class="small">Matrices: sender node rows, receiver node columns, one mark per protocol. Legend: ${legend}</p>
${checks}
<h2>Dataplane</h2>
${dataplaneHtml(r)}
<h2>Probes</h2>
${probesHtml(r, inventory)}
</body></html>
`;
}
