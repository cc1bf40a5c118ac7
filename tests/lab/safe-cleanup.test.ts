// Issue 14, item 6: `podwire cleanup` during a live run leaves that run alone
// (its heartbeat is fresh) and the run completes; namespaces of runs that are
// not live (a stale heartbeat, none at all, ended with --keep) are deleted,
// and the command lists both with the reason.
import { execa } from 'execa';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import type { ConformanceReport } from '../../src/report/model.js';
import { CLI, cli, describeLab, useLab } from '../helpers/lab.js';
import { leftovers } from '../helpers/run.js';

const reports = mkdtempSync(join(tmpdir(), 'podwire-cleanup-'));

describeLab('safe cleanup', () => {
  const lab = useLab('tsafe', ['--nodes', '2']);

  test('cleanup during a run leaves it alone, the run passes; stale, heartbeat-less and kept runs are deleted', async () => {
    const { kube, kubeconfig } = lab();
    const runNs = (name: string, annotations: Record<string, string>) =>
      kube.core.createNamespace({ body: { metadata: { name, labels: { 'podwire.dev/run': name.slice(8) }, annotations } } });
    await runNs('podwire-stale1', { 'podwire.dev/heartbeat': new Date(Date.now() - 10 * 60_000).toISOString(), 'podwire.dev/holder': 'gone pid 1' });
    await runNs('podwire-legacy1', {});
    // A kept run, as `run --keep` leaves it.
    const kept = await execa(process.execPath, [CLI, 'run', '--kubeconfig', kubeconfig, '--report-dir', reports, '--keep', '--only', 'NM-1.1'], { reject: false });
    expect(kept.exitCode, kept.stderr).toBe(0);
    const keptNs = /kept namespace (podwire-\S+)/.exec(String(kept.stdout))![1]!;

    const run = execa(process.execPath, [CLI, 'run', '--kubeconfig', kubeconfig, '--report-dir', join(reports, 'live')], { reject: false, timeout: 120_000 });
    let cleanup: Promise<{ stdout: string; exitCode?: number }> | undefined;
    let liveNs = '';
    let seen = '';
    run.stderr!.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const m = /deploying \d+ probes in namespace (podwire-\S+)/.exec(seen);
      if (m && !cleanup) {
        liveNs = m[1]!;
        cleanup = cli(['cleanup', '--kubeconfig', kubeconfig], { reject: false }).then((r) => ({ stdout: String(r.stdout), exitCode: r.exitCode }));
      }
    });
    const r = await run;
    expect(cleanup, 'the run never said which namespace it deploys in').toBeDefined();
    const c = await cleanup!;

    expect(c.exitCode).toBe(0);
    const lines = c.stdout.trim().split('\n');
    expect(lines.find((l) => l.startsWith(`left ${liveNs}`))).toMatch(new RegExp(`^left ${liveNs}: live: heartbeat \\d+ s ago, \\S+ pid \\d+$`));
    expect(lines).toContain('deleted podwire-stale1 (not live: heartbeat 10 min ago, gone pid 1)');
    expect(lines).toContain('deleted podwire-legacy1 (not live: no heartbeat)');
    expect(lines.find((l) => l.startsWith(`deleted ${keptNs} `))).toMatch(/\(not live: its run ended \d+ s ago and kept it \(--keep\)\)$/);
    expect(lines.at(-1)).toBe('3 deleted, 1 left (live; --older-than DURATION also deletes live runs that old), 0 failed');

    // The live run was not disturbed: it completes, every check passes, and it removes its own namespace.
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const dir = join(reports, 'live');
    const report = JSON.parse(readFileSync(join(dir, readdirSync(dir)[0]!, 'report.json'), 'utf8')) as ConformanceReport;
    expect(report.checks.filter((x) => x.result !== 'passed' && x.result !== 'skipped').map((x) => `${x.id}: ${x.result}`)).toEqual([]);
    expect(await leftovers(lab())).toEqual([]);
  });

  test('a named namespace is left alone while live; cleanup with nothing to delete says so', async () => {
    const { kube, kubeconfig } = lab();
    await kube.core.createNamespace({ body: { metadata: { name: 'podwire-fresh1', labels: { 'podwire.dev/run': 'fresh1' }, annotations: { 'podwire.dev/heartbeat': new Date().toISOString() } } } });
    const left = await cli(['cleanup', '--kubeconfig', kubeconfig, '--namespace', 'podwire-fresh1']);
    expect(String(left.stdout)).toMatch(/^left podwire-fresh1: live: heartbeat \d+ s ago\n0 deleted, 1 left/);
    expect(await leftovers(lab())).toEqual(['ns/podwire-fresh1']);
    const forced = await cli(['cleanup', '--kubeconfig', kubeconfig, '--namespace', 'podwire-fresh1', '--older-than', '0s']);
    expect(String(forced.stdout)).toMatch(/^deleted podwire-fresh1 \(created \d+ s ago, older than --older-than \(live: heartbeat \d+ s ago\)\)\n1 deleted, 0 left/);
    expect(await leftovers(lab())).toEqual([]);
    expect(String((await cli(['cleanup', '--kubeconfig', kubeconfig])).stdout).trim()).toBe('nothing to clean up: no namespace carries the podwire.dev/run label');
  });
});
