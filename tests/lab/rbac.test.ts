// Least privilege, proven on a lab whose API server authorizes every request
// by RBAC: a run with a token from deploy/rbac.yaml passes and uses every
// right the file grants; a token without any one of its rules or verbs stops
// the run with exit 2 and one line naming the missing right, leaving nothing
// behind; `podwire cleanup` works with deploy/rbac-cleanup.yaml and stops
// likewise without any one of its rights. One 2-node lab for the file.
import { execa } from 'execa';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dump, load, loadAll } from 'js-yaml';
import { afterAll, describe, expect, test } from 'vitest';
import { loadKube } from '../../src/kube/client.js';
import { ExecError, execInPod } from '../../src/kube/exec.js';
import { watchPods } from '../../src/kube/watch.js';
import { apiMessage } from '../../src/conformance/probes.js';
import { labNetns } from '../../src/lab/topology.js';
import { netnsPids } from '../../src/lab/sh.js';
import { CLI, cli, createRunningPod, describeLab, podSpec, startLab, useLab, type TestLab } from '../helpers/lab.js';
import { leftovers } from '../helpers/run.js';

const tmp = mkdtempSync(join(tmpdir(), 'podwire-rbac-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let minted = 0;

type Rule = { apiGroups: string[]; resources: string[]; verbs: string[] };
type Doc = { kind: string; rules?: Rule[] };

/** deploy/FILE's documents, to be edited per case. */
const docs = (file: string) => loadAll(readFileSync(file, 'utf8')) as Doc[];

/** A kubeconfig minted by `podwire lab kubeconfig` for these documents. */
async function mint(lab: TestLab, documents: unknown[]): Promise<string> {
  const n = ++minted;
  const role = join(tmp, `role-${n}.yaml`);
  writeFileSync(role, documents.map((d) => dump(d)).join('---\n'));
  const out = join(tmp, `kubeconfig-${n}`);
  const r = await cli(['lab', 'kubeconfig', '--name', lab.name, '--role', role, '--out', out]);
  expect(String(r.stdout)).toMatch(/^kubeconfig for system:serviceaccount:\S+ on lab /);
  return out;
}

/** deploy/FILE without `verb` on rule `i` (without the whole rule when `verb` is undefined). */
function without(file: string, i: number, verb?: string): Doc[] {
  return docs(file).map((d) => {
    if (d.kind !== 'ClusterRole') return d;
    const rules = d.rules!.map((r, j) => (j === i && verb ? { ...r, verbs: r.verbs.filter((v) => v !== verb) } : r)).filter((r, j) => j !== i || (verb && r.verbs.length > 0));
    return { ...d, rules };
  });
}

/** Every process in the lab's network namespaces (nodes, pods, fabric). */
const labProcesses = async (name: string) => (await Promise.all((await labNetns(name)).map(netnsPids))).flat().sort();

/** The lab API server's authorization decisions for restricted tokens, as `verb resource` (server.log). */
function authzLog(lab: TestLab): string[] {
  return readFileSync(`/run/podwire/${lab.name}/server.log`, 'utf8').split('\n')
    .map((l) => / authz (allowed|denied) user=\S+ verb=(\S+) resource=(\S+)/.exec(l))
    .filter((m): m is RegExpExecArray => !!m).map((m) => `${m[1]} ${m[2]} ${m[3]}`);
}

const run = (kubeconfig: string, extra: string[] = []) =>
  execa(process.execPath, [CLI, 'run', '--kubeconfig', kubeconfig, '--report-dir', mkdtempSync(join(tmp, 'r-')), ...extra], { reject: false, timeout: 300_000 });

const RUNNER_RULES = (docs('deploy/rbac.yaml').find((d) => d.kind === 'ClusterRole')!.rules!);
const CLEANUP_RULES = (docs('deploy/rbac-cleanup.yaml').find((d) => d.kind === 'ClusterRole')!.rules!);
const cases = (rules: Rule[]) => rules.flatMap((r, i) => [
  ...r.verbs.map((verb) => ({ i, verb, what: `${verb} ${r.resources.join(',')}` })),
  ...(r.verbs.length > 1 ? [{ i, verb: undefined, what: `the whole rule on ${r.resources.join(',')}` }] : []),
]);
/** The right a case takes away that the run meets first (the rule's first verb when the whole rule goes). */
const firstMissing = (c: { i: number; verb?: string }, rules: Rule[]) => `${c.verb ?? rules[c.i]!.verbs[0]} ${rules[c.i]!.resources[0]}`;

describeLab('least privilege (RBAC in the lab)', () => {
  const lab = useLab('rbac', ['--nodes', '2']);

  test('a full run with a token from deploy/rbac.yaml passes, using every right the file grants (create pods/exec from 1.35 only)', async () => {
    const kubeconfig = await mint(lab(), docs('deploy/rbac.yaml'));
    const before = authzLog(lab()).length;
    const r = await run(kubeconfig);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(String(r.stdout)).toMatch(/^podwire run \w+: 2 of 2 node\(s\) covered/m);
    const used = new Set(authzLog(lab()).slice(before));
    expect([...used].filter((l) => l.startsWith('denied'))).toEqual([]);
    const granted = RUNNER_RULES.flatMap((rule) => rule.resources.flatMap((res) => rule.verbs.map((v) => `allowed ${v} ${res}`)));
    // The lab reports Kubernetes 1.32: a WebSocket exec is authorized as get only (KEP-4006 adds create in 1.35).
    // patch namespaces renews the run's heartbeat every 5 s: a run shorter than that never needs it (the rights check asks for it; the case without it below fails).
    expect(granted.filter((g) => !used.has(g) && g !== 'allowed patch namespaces')).toEqual(['allowed create pods/exec']);
    expect(await leftovers(lab())).toEqual([]);
  });

  const runnerCases = cases(RUNNER_RULES).filter((c) => !(c.verb === 'create' && RUNNER_RULES[c.i]!.resources[0] === 'pods/exec'));
  test.each(runnerCases)('without $what: exit 2, one line naming it, nothing left', async (c) => {
    const kubeconfig = await mint(lab(), without('deploy/rbac.yaml', c.i, c.verb));
    const processes = await labProcesses(lab().name);
    const r = await run(kubeconfig);
    expect(r.exitCode).toBe(2);
    const lines = String(r.stderr).trim().split('\n');
    expect(lines, String(r.stderr)).toHaveLength(1);
    const [verb, resource] = firstMissing(c, RUNNER_RULES).split(' ');
    const where = resource === 'nodes' || (resource === 'namespaces' && verb === 'create') || (resource === 'pods' && verb === 'list') ? '\\(cluster-wide\\)' : 'in namespace podwire-[a-z0-9]+';
    expect(lines[0]).toMatch(new RegExp(`^podwire: RBAC: system:serviceaccount:podwire-system:podwire cannot (.*, cannot )?${verb} ${resource} ${where}(, cannot .*)? \\(deploy/rbac\\.yaml lists what a run needs\\)$`));
    expect(String(r.stdout)).toBe('');
    expect(await leftovers(lab())).toEqual([]);
    expect(await labProcesses(lab().name)).toEqual(processes);
  });

  test('without create on pods/exec the run still passes on this 1.32 lab: WebSocket exec needs get only before 1.35', async () => {
    const i = RUNNER_RULES.findIndex((r) => r.resources.includes('pods/exec'));
    const r = await run(await mint(lab(), without('deploy/rbac.yaml', i, 'create')));
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(await leftovers(lab())).toEqual([]);
  });

  test('podwire cleanup with deploy/rbac-cleanup.yaml removes a kept run; without any one of its rights it says which and removes nothing', async () => {
    const body = { metadata: { name: 'podwire-rbackept', labels: { 'podwire.dev/run': 'rbackept' } } };
    await lab().kube.core.createNamespace({ body });
    for (const c of cases(CLEANUP_RULES)) {
      const r = await execa(process.execPath, [CLI, 'cleanup', '--kubeconfig', await mint(lab(), without('deploy/rbac-cleanup.yaml', c.i, c.verb))], { reject: false, timeout: 60_000 });
      expect(r.exitCode, c.what).toBe(2);
      const lines = String(r.stderr).trim().split('\n');
      expect(lines, c.what).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^podwire: RBAC: system:serviceaccount:podwire-system:podwire cannot (.*, cannot )?${firstMissing(c, CLEANUP_RULES)} \\(cluster-wide\\)(, cannot .*)? \\(deploy/rbac-cleanup\\.yaml lists what cleanup needs\\)$`));
      expect(await leftovers(lab())).toEqual(['ns/podwire-rbackept']);
    }
    const ok = await execa(process.execPath, [CLI, 'cleanup', '--kubeconfig', await mint(lab(), docs('deploy/rbac-cleanup.yaml'))], { reject: false, timeout: 60_000 });
    expect(ok.exitCode, String(ok.stderr)).toBe(0);
    expect(String(ok.stdout)).toMatch(/^deleted podwire-rbackept \(not live: [^\n]+\)$/m);
    expect(await leftovers(lab())).toEqual([]);
  });

  test('podwire judge needs no cluster at all: it judges a bundle with no kubeconfig', async () => {
    const kubeconfig = await mint(lab(), docs('deploy/rbac.yaml'));
    const reports = mkdtempSync(join(tmp, 'j-'));
    const r = await execa(process.execPath, [CLI, 'run', '--kubeconfig', kubeconfig, '--report-dir', reports, '--only', 'NM-3.1,NM-3.2'], { reject: false, timeout: 120_000 });
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const bundle = /bundle: (\S+)/.exec(String(r.stdout))![1]!;
    const j = await execa(process.execPath, [CLI, 'judge', bundle, '--report-dir', mkdtempSync(join(tmp, 'j-'))], { reject: false, env: { KUBECONFIG: '/nonexistent', HOME: tmp }, timeout: 60_000 });
    expect(j.exitCode, String(j.stderr)).toBe(0);
  });

  describe('what a client meets when RBAC says no (the error paths behind the check before a run)', () => {
    test('a refused exec, create, list and watch each name the right, in the API server\'s words and in podwire\'s', async () => {
      await createRunningPod(lab().kube, podSpec('target', 'node-1', ['sleep', '3600']));
      const kubeconfig = await mint(lab(), [load('apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: looker, namespace: default}\nrules: [{apiGroups: [""], resources: [pods], verbs: [get]}]\n')]);
      const kube = loadKube({ kubeconfig });
      const sa = 'system:serviceaccount:default:podwire-lab';

      const exec = await execInPod(kube.kc, { namespace: 'default', pod: 'target' }, ['true'], { timeoutMs: 10_000 }).then(() => undefined, (e: unknown) => e);
      expect(exec).toBeInstanceOf(ExecError);
      expect((exec as ExecError).status).toBe(403);
      expect((exec as ExecError).message).toBe(`exec in default/target failed: RBAC: ${sa} cannot get pods/exec in namespace default`);

      const create = await kube.core.createNamespacedPod({ namespace: 'default', body: podSpec('nope', 'node-1', ['true']) }).then(() => undefined, (e: unknown) => e);
      expect(JSON.parse((create as { body: string }).body)).toMatchObject({
        kind: 'Status', code: 403, reason: 'Forbidden', details: { kind: 'pods' },
        message: `pods is forbidden: User "${sa}" cannot create resource "pods" in API group "" in the namespace "default"`,
      });
      expect(apiMessage(create)).toBe(`RBAC: ${sa} cannot create pods in namespace default`);

      // The Role's namespace only; get is not list.
      await expect(kube.core.readNamespacedPod({ namespace: 'default', name: 'target' })).resolves.toMatchObject({ metadata: { name: 'target' } });
      const list = await kube.core.listNamespacedPod({ namespace: 'default' }).then(() => undefined, (e: unknown) => e);
      expect(apiMessage(list)).toBe(`RBAC: ${sa} cannot list pods in namespace default`);
      const elsewhere = await kube.core.readNamespacedPod({ namespace: 'kube-system', name: 'target' }).then(() => undefined, (e: unknown) => e);
      expect(apiMessage(elsewhere)).toBe(`RBAC: ${sa} cannot get pods in namespace kube-system`);

      const ended = await new Promise<Error | undefined>((resolve) => void watchPods(kube.kc, 'default', undefined, () => undefined, resolve));
      expect((ended as { statusCode?: number }).statusCode).toBe(403);

      // resourceNames: the named pod only (and authorization comes before lookup: another name is 403, not 404); '*' verbs.
      const named = loadKube({ kubeconfig: await mint(lab(), [load('apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: one}\nrules: [{apiGroups: [""], resources: [pods], verbs: ["*"], resourceNames: [target]}]\n')]) });
      await expect(named.core.readNamespacedPod({ namespace: 'default', name: 'target' })).resolves.toMatchObject({ metadata: { name: 'target' } });
      const other = await named.core.readNamespacedPod({ namespace: 'default', name: 'no-such-pod' }).then(() => undefined, (e: unknown) => e);
      expect((other as { code?: number }).code).toBe(403);
      expect(apiMessage(other)).toBe(`RBAC: ${sa} cannot get pods in namespace default`);
      expect(apiMessage(await named.core.listNamespacedPod({ namespace: 'default' }).then(() => undefined, (e: unknown) => e))).toBe(`RBAC: ${sa} cannot list pods in namespace default`);

      // The admin kubeconfig is not restricted.
      await lab().kube.core.deleteNamespacedPod({ namespace: 'default', name: 'target' });
    });

    // (kubectl auth can-i sends its review as protobuf, which the lab does not read; podwire's own check is JSON.)
    test('kubectl sees the same: a list the role grants works, a get it does not prints the API server\'s message', async () => {
      const kubeconfig = await mint(lab(), docs('deploy/rbac.yaml'));
      const kubectl = (args: string[]) => execa('kubectl', ['--kubeconfig', kubeconfig, ...args], { reject: false, timeout: 60_000 });
      expect((await kubectl(['get', 'nodes'])).exitCode).toBe(0);
      const denied = await kubectl(['get', 'node', 'node-1']);
      expect(denied.exitCode).not.toBe(0);
      expect(String(denied.stderr)).toContain('Error from server (Forbidden): nodes "node-1" is forbidden: User "system:serviceaccount:podwire-system:podwire" cannot get resource "nodes" in API group "" at the cluster scope');
    });
  });
});

describeLab('minted tokens live as long as their lab', () => {
  test('tokens from earlier `lab kubeconfig` calls keep working; lab down removes their kubeconfigs (unless changed); after lab up again under the same name no old token works', async () => {
    const lab = await startLab('rtokens', ['--nodes', '1']);
    try {
      const first = await mint(lab, docs('deploy/rbac.yaml'));
      const second = await mint(lab, docs('deploy/rbac-cleanup.yaml'));
      await expect(loadKube({ kubeconfig: first }).core.listNode()).resolves.toMatchObject({ items: [{}] });
      await expect(loadKube({ kubeconfig: second }).core.listNamespace()).resolves.toBeDefined();
      const firstText = readFileSync(first, 'utf8');
      // lab down removes the kubeconfigs it wrote while unchanged, and leaves one the user edited.
      writeFileSync(second, `${readFileSync(second, 'utf8')}# mine now\n`);
      const down = await cli(['lab', 'down', '--name', lab.name]);
      expect(String(down.stdout)).toContain(`removed 1 kubeconfig(s) written by lab kubeconfig: ${first}\n`);
      expect(String(down.stdout)).toContain(`left ${second} in place: it changed since lab kubeconfig wrote it`);
      expect(existsSync(first)).toBe(false);
      expect(existsSync(second)).toBe(true);
      await cli(['lab', 'up', '--name', lab.name, '--nodes', '1']);
      // The port changed with the new server: point the old kubeconfig at it.
      const url = JSON.parse(readFileSync(`/run/podwire/${lab.name}/api.json`, 'utf8')).url as string;
      const stale = join(tmp, 'stale');
      writeFileSync(stale, firstText.replace(/server: .*/, `server: ${url}`).replace(/certificate-authority-data: .*/, `certificate-authority-data: ${readFileSync(`/run/podwire/${lab.name}/pki/ca.crt`).toString('base64')}`));
      const err = await loadKube({ kubeconfig: stale }).core.listNode().then(() => undefined, (e: unknown) => e);
      expect((err as { code?: number }).code).toBe(401);
    } finally {
      await cli(['lab', 'down', '--name', lab.name], { reject: false });
    }
  });

  test('bad --role files and a lab that is not up: one line, exit 2, no token minted', async () => {
    const bad = join(tmp, 'bad.yaml');
    writeFileSync(bad, 'apiVersion: v1\nkind: ConfigMap\n');
    const r1 = await cli(['lab', 'kubeconfig', '--name', 'rnolab', '--role', bad, '--out', join(tmp, 'x1')], { reject: false });
    expect(r1.exitCode).toBe(2);
    expect(String(r1.stderr).trim()).toBe(`podwire: \`--role\` \`${bad}\` holds no ClusterRole or Role (found: ConfigMap)`);
    const r2 = await cli(['lab', 'kubeconfig', '--name', 'rnolab', '--role', 'deploy/rbac.yaml', '--out', join(tmp, 'x2')], { reject: false });
    expect(r2.exitCode).toBe(2);
    expect(String(r2.stderr).trim()).toBe('podwire: no lab named `rnolab` is up (nothing in /run/podwire/rnolab); start one with `podwire lab up --name rnolab`');
    const r3 = await cli(['lab', 'kubeconfig', '--name', 'rnolab', '--out', join(tmp, 'x3')], { reject: false });
    expect(r3.exitCode).toBe(2);
    expect(String(r3.stderr).trim().split('\n')).toHaveLength(1);
  });
});
