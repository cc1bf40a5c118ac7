// Admission in the lab, as users meet it on clusters that say no: a
// PodSecurity level that bars the probes stops the run with one line
// naming the policy and a probe, leaving nothing; a webhook refusing the
// probes of one node leaves that node not covered, with the reason, and the
// rest judged; kubectl sees the same Forbidden text a real API server gives.
import { execa } from 'execa';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { PROBE_WEBHOOK } from '../../src/lab/apiserver/admission.js';
import { describeLab, useLab } from '../helpers/lab.js';
import { leftovers, podwireRun } from '../helpers/run.js';

const dir = mkdtempSync(join(tmpdir(), 'podwire-admission-'));
/** Progress lines a run prints on stderr before its result. */
const PROGRESS = /^podwire: (run |deploying|deleting namespace)/;

describeLab('a cluster whose PodSecurity policy keeps podwire\'s namespace at baseline', () => {
  // Cluster default baseline, and a namespace policy that pins every new namespace to it (podwire's label asks for privileged).
  const lab = useLab('tadmpsa', ['--nodes', '2', '--pod-security', 'baseline', '--pin-pod-security']);

  test('the run exits 2 with one line naming PodSecurity, its level and a probe, and leaves nothing', async () => {
    expect((await lab().status()).admission).toEqual({ podSecurity: 'baseline', pinPodSecurity: true, denyProbes: [] });
    const r = await podwireRun(lab(), dir);
    expect(r.exitCode, String(r.stderr)).toBe(2);
    const lines = String(r.stderr).trim().split('\n').filter((l) => !PROGRESS.test(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^podwire: PodSecurity "baseline:latest" refused every probe \(pw-host-node-1: non-default capabilities \(container "probe" must not include "NET_ADMIN", "NET_RAW" in securityContext\.capabilities\.add\), host namespaces \(hostNetwork=true\)\): the probes need the privileged level .* in their namespace podwire-\w+, which a policy on the cluster labelled enforce=baseline although podwire asked for privileged$/);
    expect(r.runDir).toBeUndefined(); // no report: nothing was judged
    expect(await leftovers(lab())).toEqual([]);
  });
});

describeLab('a cluster with an admission webhook that refuses the probes on one node', () => {
  // Cluster default baseline too: podwire's namespace label (privileged) is what lets its probes in, as on a real cluster.
  const lab = useLab('tadmhook', ['--nodes', '3', '--pod-security', 'baseline', '--deny-probes', 'node-2']);
  const kubectl = (args: string[]) => execa('kubectl', ['--kubeconfig', lab().kubeconfig, ...args], { reject: false, timeout: 60_000 });

  test('partial coverage: node-2 is not covered with the webhook\'s reason, the other nodes are judged, nothing is left', async () => {
    expect((await lab().status()).admission).toEqual({ podSecurity: 'baseline', pinPodSecurity: false, denyProbes: ['node-2'] });
    const r = await podwireRun(lab(), dir);
    expect(r.exitCode, String(r.stdout) + String(r.stderr)).toBe(0);
    const report = r.report!;
    expect(report.coverage.covered).toBe(2);
    expect(report.coverage.notCovered).toHaveLength(1);
    expect(report.coverage.notCovered[0]!.node).toBe('node-2');
    expect(report.coverage.notCovered[0]!.reason).toMatch(new RegExp(`^pw-[a-z-]+node-2(-a)?: refused by admission webhook "${PROBE_WEBHOOK.replaceAll('.', '\\.')}": probe pods are not allowed on node node-2`));
    // The other nodes' checks are judged: same-node and cross-node pod traffic between node-1 and node-3 only.
    const check = (id: string) => report.checks.find((c) => c.id === id)!;
    for (const id of ['NM-1.1', 'NM-1.2', 'NM-2.1']) expect(check(id).result, `${id}: ${check(id).reason}`).toBe('passed');
    const cross = check('NM-1.2').flows;
    expect(cross).toHaveLength(2 * 2); // node-1 ⇄ node-3, TCP and UDP
    expect(report.probes.map((p) => p.node)).not.toContain('node-2');
    // The console says so too.
    expect(String(r.stdout)).toMatch(/node-2.*refused by admission webhook/);
    expect(await leftovers(lab())).toEqual([]);
  });

  test('kubectl creating a violating pod gets the API server\'s PodSecurity Forbidden text, a probe look-alike the webhook\'s; a privileged namespace admits it', async () => {
    writeFileSync(join(dir, 'ns.yaml'), [
      'apiVersion: v1\nkind: Namespace\nmetadata: {name: psa-default}',
      'apiVersion: v1\nkind: Namespace\nmetadata: {name: psa-open, labels: {pod-security.kubernetes.io/enforce: privileged}}',
    ].join('\n---\n'));
    expect((await kubectl(['create', '-f', join(dir, 'ns.yaml'), '--validate=false'])).exitCode).toBe(0);
    const pod = (ns: string) => `apiVersion: v1\nkind: Pod\nmetadata: {name: hostnet, namespace: ${ns}}\nspec:\n  hostNetwork: true\n  containers:\n  - name: c\n    image: any\n    command: [sleep, "60"]\n    securityContext: {capabilities: {add: [NET_ADMIN]}}\n`;
    writeFileSync(join(dir, 'denied.yaml'), pod('psa-default'));
    const denied = await kubectl(['create', '-f', join(dir, 'denied.yaml'), '--validate=false']);
    expect(denied.exitCode).toBe(1);
    expect(String(denied.stderr).trim()).toBe(`Error from server (Forbidden): error when creating "${join(dir, 'denied.yaml')}": pods "hostnet" is forbidden: violates PodSecurity "baseline:latest": non-default capabilities (container "c" must not include "NET_ADMIN" in securityContext.capabilities.add), host namespaces (hostNetwork=true)`);
    writeFileSync(join(dir, 'open.yaml'), pod('psa-open'));
    const open = await kubectl(['create', '-f', join(dir, 'open.yaml'), '--validate=false']);
    expect(open.exitCode, String(open.stderr)).toBe(0);
    // A pod labelled like podwire's probes, bound to node-2: the webhook's refusal, in a webhook's words.
    writeFileSync(join(dir, 'probe.yaml'), `apiVersion: v1\nkind: Pod\nmetadata: {name: lookalike, namespace: psa-open, labels: {app.kubernetes.io/name: podwire-probe}}\nspec:\n  nodeName: node-2\n  containers:\n  - {name: c, image: any, command: [sleep, "60"]}\n`);
    const hooked = await kubectl(['create', '-f', join(dir, 'probe.yaml'), '--validate=false']);
    expect(String(hooked.stderr).trim()).toBe(`Error from server (Forbidden): error when creating "${join(dir, 'probe.yaml')}": pods "lookalike" is forbidden: admission webhook "${PROBE_WEBHOOK}" denied the request: probe pods are not allowed on node node-2 (lab --deny-probes)`);
    // A label value PodSecurity cannot parse is refused at namespace creation.
    writeFileSync(join(dir, 'typo.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata: {name: psa-typo, labels: {pod-security.kubernetes.io/enforce: strict}}\n');
    const typo = await kubectl(['create', '-f', join(dir, 'typo.yaml'), '--validate=false']);
    expect(String(typo.stderr)).toContain('Namespace "psa-typo" is invalid: metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "strict": must be one of privileged, baseline, restricted');
    await kubectl(['delete', 'namespace', 'psa-default', 'psa-open', '--wait=true']);
  });
});
