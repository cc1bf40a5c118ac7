// The detection matrix, profiles × faults: `podwire run` against a lab of
// each dataplane profile, clean and with each fault the matrix runs on it
// (src/lab/faults.ts), must fail exactly the checks declared for the fault
// plus the strict ones the profile fails by design (src/lab/profiles.ts),
// leave exactly the declared ones undecided, pass the rest, and pass every
// flow the fault does not touch; a clean lab fails only its profile's. Every failed
// flow decided by packets names its decisive packet, and the evidence holds
// that packet. Every failed check carries a diagnosis; the fault's checks name
// the node it was applied to and its subsystem (FaultDef.diagnosis). The
// README's matrix is generated from the same declaration.
import { execa } from 'execa';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { CHECK_IDS } from '../../src/conformance/catalogue.js';
import { FAULTS, matrixFlow, touchedBy, type FaultDef } from '../../src/lab/faults.js';
import { DATAPLANES, type Dataplane } from '../../src/lab/plan.js';
import { expectedOn, profileDef } from '../../src/lab/profiles.js';
import type { ConformanceReport } from '../../src/report/model.js';
import { SUBSYSTEM_LABEL } from '../../src/report/diagnosis-text.js';
import { CLI, cli, describeLab, labName, startLab } from '../helpers/lab.js';
import { leftovers, podwireRun } from '../helpers/run.js';

const reportsRoot = mkdtempSync(join(tmpdir(), 'podwire-matrix-'));
const NODES = 3;

interface Case {
  label: string;
  fault?: FaultDef;
  dataplane: Dataplane;
  /** `lab up --ip-family` (and `--primary`), when not IPv4. */
  family?: { ipFamily: 'ipv6' | 'dual'; primary?: 'ipv6' };
}

/** Clean labs of each family the run must pass in (issue 11): dual-stack on the IPv6 profiles, one IPv6-first, one IPv6-only. */
const FAMILY_CASES: Case[] = [
  { label: 'clean dual-stack lab, host-gw', dataplane: 'host-gw', family: { ipFamily: 'dual' } },
  { label: 'clean dual-stack lab, vxlan', dataplane: 'vxlan', family: { ipFamily: 'dual' } },
  { label: 'clean dual-stack lab, IPv6 first, kindnet', dataplane: 'kindnet', family: { ipFamily: 'dual', primary: 'ipv6' } },
  { label: 'clean IPv6 lab, host-gw', dataplane: 'host-gw', family: { ipFamily: 'ipv6' } },
];

const cases: Case[] = [
  ...DATAPLANES.map((dataplane) => ({ label: `clean lab, ${dataplane}`, dataplane })),
  ...FAMILY_CASES,
  ...FAULTS.flatMap((fault) => fault.matrix.map((dataplane): Case => ({
    label: `${fault.name}, ${dataplane}`, fault, dataplane, ...(fault.ipFamily ? { family: { ipFamily: fault.ipFamily } } : {}),
  }))),
];

const timings: { label: string; seconds: number; failed: string }[] = [];
const t0 = Date.now();

const idsWith = (r: ConformanceReport, result: string) => r.checks.filter((c) => c.result === result).map((c) => c.id).sort();

/** Failed flows decided by packets name their decisive packet; the evidence has it (pcap, decoded line, flows.txt). */
function assertDecisiveEvidence(report: ConformanceReport, runDir: string): void {
  for (const c of report.checks.filter((x) => x.result === 'failed')) {
    expect(c.evidence, `${c.id} has evidence`).toBeDefined();
    const dir = join(runDir, c.evidence!);
    const flowsTxt = readFileSync(join(dir, 'flows.txt'), 'utf8');
    for (const f of c.flows.filter((x) => x.verdict === 'failed')) {
      // API findings (NM-3.1, NM-3.2) and interface inventory (NM-3.3's address rows) are not packets.
      if (f.captures.length === 0) continue;
      const d = f.decisive;
      expect(d, `${c.id} ${f.flow} (${f.from} -> ${f.to}) names its decisive packet: ${f.observed}`).toBeDefined();
      expect(f.expected.length).toBeGreaterThan(0);
      // Expected vs seen: the decisive packet's addresses are in what the verdict says it saw.
      // An ICMP error is named by its source (verdicts.ts icmpText: `ICMP host unreachable from <src> (packet #n at …)`);
      // a calico pod whose gateway's ARP goes unanswered (no-proxy-arp) gets one from its own kernel.
      const icmp = f.observed.includes(`ICMP `) && f.observed.includes(`from ${d!.src} (packet #${d!.packet} at `);
      expect(f.observed).toContain(icmp ? `from ${d!.src}` : `${d!.src} > ${d!.dst}`);
      expect(f.observed).toContain(`packet #${d!.packet}`);
      expect(flowsTxt).toContain(`decisive packet #${d!.packet} in ${d!.capture}.pcap`);
      expect(existsSync(join(dir, `${d!.capture}.pcap`)), `${c.id}: ${d!.capture}.pcap in the evidence`).toBe(true);
      const decoded = readFileSync(join(dir, `${d!.capture}.txt`), 'utf8').split('\n');
      const line = decoded.find((l) => l.startsWith(`#${d!.packet} `));
      expect(line, `${c.id}: packet #${d!.packet} in ${d!.capture}.txt`).toBeDefined();
      expect(line).toContain(d!.src);
    }
  }
}

/**
 * Every failed check has a likely cause, shown on the console and in its
 * evidence; the checks the fault fails (not the profile's strict failures by
 * design) name the fault's subsystem and node: the node it was applied to,
 * or, for faults on every node, each failed flow's sending node.
 */
function assertDiagnosis(report: ConformanceReport, runDir: string, stdout: string, fault: FaultDef | undefined, dataplane: Dataplane, byDesign: readonly string[]): void {
  for (const c of report.checks.filter((x) => x.result === 'failed')) {
    const d = c.diagnosis;
    expect(d, `${c.id} has a diagnosis`).toBeDefined();
    expect(d!.subsystem, `${c.id}: ${d!.text}`).not.toBe('unknown');
    expect(d!.nodes.length).toBeGreaterThan(0);
    // The console wraps long lines (continuations indented): compare with the line breaks undone.
    expect(stdout.replace(/\n +/g, ' ')).toContain(`likely cause: ${SUBSYSTEM_LABEL[d!.subsystem]} on ${d!.nodes.join(', ')}: ${d!.text}`);
    expect(readFileSync(join(runDir, c.evidence!, 'flows.txt'), 'utf8')).toContain(`likely cause: ${SUBSYSTEM_LABEL[d!.subsystem]} on ${d!.nodes.join(', ')}`);
    if (!fault || byDesign.includes(c.id)) continue;
    const want = fault.on?.[dataplane]?.diagnosis ?? fault.diagnosis;
    expect(d!.subsystem, `${c.id} of ${fault.name}: ${d!.text}`).toBe(want.subsystem);
    if (want.node !== 'sender') {
      expect(d!.nodes, `${c.id} of ${fault.name}: ${d!.text}`).toEqual([`node-${want.node}`]);
      continue;
    }
    for (const f of c.flows.filter((x) => x.verdict === 'failed')) {
      const from = matrixFlow(c.id, f).from;
      expect(from, `${c.id} ${f.flow}: a sender`).toBeDefined();
      expect(f.diagnosis, `${c.id} ${f.flow} ${f.from} -> ${f.to}: ${f.observed}`).toMatchObject({ subsystem: want.subsystem, nodes: [`node-${from!.node}`] });
    }
  }
}

/**
 * Every family the lab has was tested: each check with flows has flows of each
 * family, and a dual-stack run judges each check in both. An IPv6 fault fails
 * its checks in IPv6 only: every IPv4 verdict passes (but the profile's strict
 * failures by design), and the IPv6 verdicts are exactly the declared ones.
 */
function assertFamilies(report: ConformanceReport, ipFamily: 'ipv6' | 'dual', fault: FaultDef | undefined, failed: readonly string[], undecided: readonly string[], byDesign: readonly string[]): void {
  const present: (4 | 6)[] = ipFamily === 'ipv6' ? [6] : [4, 6];
  expect(report.families).toEqual(present);
  for (const c of report.checks) {
    const net = c.flows.filter((f) => f.proto !== '-');
    if (present.length === 1) {
      expect(c.families, c.id).toBeUndefined();
      for (const f of net) expect(f.from, `${c.id} ${f.flow} is an IPv6 flow`).toMatch(/\(.*:.*\)$/);
      continue;
    }
    expect(c.families?.map((f) => f.family), c.id).toEqual([4, 6]);
    if (net.length) for (const fam of present) expect(net.some((f) => f.family === fam), `${c.id} has IPv${fam} flows`).toBe(true);
  }
  if (!fault?.family) return;
  const inFamily = (fam: 4 | 6, result: string) => report.checks.filter((c) => c.families?.find((f) => f.family === fam)?.result === result).map((c) => c.id).sort();
  // The profile's strict failures by design may pass in IPv6 when the fault removes what causes them (kindnet's IPv6 masquerade).
  expect(inFamily(6, 'failed')).toEqual(expect.arrayContaining(failed.filter((id) => !byDesign.includes(id))));
  for (const id of inFamily(6, 'failed')) expect(failed).toContain(id);
  expect(inFamily(6, 'inconclusive')).toEqual([...undecided].sort());
  expect(inFamily(4, 'failed')).toEqual(byDesign.filter((id) => failed.includes(id)).sort());
  expect(inFamily(4, 'inconclusive')).toEqual([]);
  for (const c of report.checks.filter((x) => !byDesign.includes(x.id))) {
    for (const f of c.flows.filter((x) => x.family === 4)) expect(f.verdict, `${c.id} ${f.flow} (IPv4) ${f.from} -> ${f.to}: ${f.observed}`).toBe('passed');
  }
  // The console names the family the check failed in.
  for (const id of failed.filter((x) => !byDesign.includes(x))) expect(report.checks.find((c) => c.id === id)!.families!.map((f) => f.result)).toEqual(['passed', 'failed']);
}

/** `podwire judge` on the run's bundle gives the same check results and flow verdicts, and the same exit code. */
async function assertJudgeReproduces(report: ConformanceReport, runDir: string, exitCode: number): Promise<void> {
  const out = mkdtempSync(join(reportsRoot, 'judge-'));
  const j = await execa(process.execPath, [CLI, 'judge', join(runDir, 'bundle'), '--report-dir', out], { reject: false });
  expect(j.exitCode, String(j.stderr)).toBe(exitCode);
  const again = JSON.parse(readFileSync(join(out, readdirSync(out)[0]!, 'report.json'), 'utf8')) as ConformanceReport;
  const shape = (r: ConformanceReport) => r.checks.map((c) => ({ id: c.id, result: c.result, reason: c.reason, flows: c.flows.map((f) => [f.flow, f.verdict, f.observed]) }));
  expect(shape(again)).toEqual(shape(report));
}

describeLab('fault gallery: the detection matrix', () => {
  afterAll(() => {
    const total = (Date.now() - t0) / 1000;
    const w = Math.max(...timings.map((t) => t.label.length));
    console.log([`fault matrix: ${timings.length} runs in ${total.toFixed(1)} s`, ...timings.map((t) => `  ${t.label.padEnd(w)}  ${t.seconds.toFixed(1).padStart(5)} s  failed: ${t.failed || '-'}`)].join('\n'));
    rmSync(reportsRoot, { recursive: true, force: true });
  });

  test.each(cases)('$label', async ({ label, fault, dataplane, family }) => {
    const started = Date.now();
    const name = `fm${cases.findIndex((c) => c.label === label)}`;
    const familyArgs = family ? ['--ip-family', family.ipFamily, ...(family.primary ? ['--primary', family.primary] : [])] : [];
    const lab = await startLab(name, ['--nodes', String(NODES), '--dataplane', dataplane, ...familyArgs, ...(fault ? ['--fault', fault.name] : [])]);
    try {
      expect((await lab.status()).faults).toEqual(fault ? [fault.name] : []);
      const r = await podwireRun(lab, reportsRoot, ['--profile', 'strict']);
      const report = r.report;
      expect(report, String(r.stderr)).toBeDefined();
      expect(report!.checks.map((c) => c.id)).toEqual(CHECK_IDS);
      const summary = report!.checks.filter((c) => c.result !== 'passed').map((c) => `${c.id} ${c.result}: ${c.reason}`).join('\n');
      // The profile's strict failures by design come on top of the fault's, unless the fault declares its outcome on the profile.
      const byDesign = profileDef(dataplane).strictFails;
      const { failed, undecided } = expectedOn(fault, dataplane);
      expect(idsWith(report!, 'failed'), summary).toEqual(failed);
      expect(idsWith(report!, 'inconclusive'), summary).toEqual(undecided);
      expect(r.exitCode).toBe(failed.length ? 1 : 0);
      // Flows the fault does not touch pass, in every check but those the profile fails by design.
      for (const c of report!.checks) {
        if (byDesign.includes(c.id)) continue;
        for (const f of c.flows) {
          if (fault && touchedBy(fault, matrixFlow(c.id, f))) continue;
          expect(f.verdict, `${c.id} ${f.flow} ${f.from} -> ${f.to} is untouched by ${fault?.name ?? 'a clean lab'}: ${f.observed}`).toBe('passed');
        }
      }
      if (family) assertFamilies(report!, family.ipFamily, fault, failed, undecided, byDesign);
      // Each failing check fails on flows the fault touches, not just on aggregate.
      for (const id of failed.filter((x) => !byDesign.includes(x))) expect(report!.checks.find((c) => c.id === id)!.flows.some((f) => f.verdict === 'failed')).toBe(true);
      assertDecisiveEvidence(report!, r.runDir!);
      assertDiagnosis(report!, r.runDir!, String(r.stdout), fault, dataplane, byDesign);
      await assertJudgeReproduces(report!, r.runDir!, failed.length ? 1 : 0);
      if (fault?.name === 'missing-route') {
        // node-1 has no route to node-2's pods: node-2's SYNs reach node-1, whose SYN-ACKs die. The verdict names that direction.
        const tcp = report!.checks.find((c) => c.id === 'NM-1.2')!.flows.filter((f) => f.verdict === 'failed' && f.proto === 'tcp' && f.from.startsWith('pw-pod-node-2-'));
        expect(tcp.length).toBeGreaterThan(0);
        for (const f of tcp) {
          expect(f.observed).toMatch(/its SYN reached pw-pod-node-1-a .* the return path from node-1 to node-2 is broken/);
          expect(f.decisive).toMatchObject({ capture: 'pw-pod-node-1-a', role: expect.stringContaining('SYN-ACK sent by pw-pod-node-1-a') });
        }
      }
      if (fault?.name === 'jumbo-blackhole') {
        // Full-size frames vanish at node-2's 1500-byte switch ports: NM-5.1 names exactly the ordered pairs with node-2 at one end,
        // and every other pair carries the jumbo datagram whole (9001 bytes; 8951 through the VXLAN overlay).
        const size = dataplane === 'vxlan' || dataplane === 'flannel' ? 8951 : 9001;
        const flows = report!.checks.find((c) => c.id === 'NM-5.1')!.flows;
        const pair = (f: { from: string; to: string }) => `${/node-(\d+)/.exec(f.from)![1]}>${/node-(\d+)/.exec(f.to)![1]}`;
        expect(flows.filter((f) => f.verdict === 'failed').map(pair).sort()).toEqual(['1>2', '2>1', '2>3', '3>2']);
        for (const f of flows.filter((x) => x.verdict === 'failed')) expect(f.observed).toMatch(new RegExp(`^sent as .*, ${size} bytes with DF .*silently dropped`));
        expect(flows.filter((f) => f.verdict === 'passed').map((f) => [pair(f), f.observed.split(',')[0]])).toEqual([['1>3', `arrived whole: ${size} bytes`], ['3>1', `arrived whole: ${size} bytes`]]);
        expect((await lab.status()).mtu).toBe(9001);
      }
      expect(await leftovers(lab)).toEqual([]);
      timings.push({ label, seconds: (Date.now() - started) / 1000, failed: idsWith(report!, 'failed').join(' ') });
    } finally {
      await cli(['lab', 'down', '--name', labName(name)], { reject: false });
    }
  });
});
