// Interrupts survived (issue 14): SIGINT or SIGTERM at seeded random moments
// of `run`, `lab up`, `lab down` and `demo` (PODWIRE_CHAOS_N, default 50;
// replay with PODWIRE_CHAOS_SEED), each followed by a search for what it
// left; and a second Ctrl-C during the cleanup, which exits at once with the
// command that removes what is left. `npm run chaos` runs 200 with a tally.
import { randomInt } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { ChaosRunner } from '../../bench/chaos-driver.js';
import { chaosCount, chaosSeed, planMoments } from '../../bench/chaos-plan.js';
import { labNetns } from '../../src/lab/topology.js';
import { netnsPids } from '../../src/lab/sh.js';
import { CLI, cli, describeLab, labName, podSpec, useLab } from '../helpers/lab.js';
import { leftovers } from '../helpers/run.js';

const seed = chaosSeed(process.env.PODWIRE_CHAOS_SEED, () => randomInt(0, 2 ** 32 - 1));
const count = chaosCount(process.env.PODWIRE_CHAOS_N, 50);

describeLab(`${count} interrupts at seeded moments leave nothing (seed ${seed}; replay with PODWIRE_CHAOS_SEED=${seed})`, () => {
  const runner = new ChaosRunner({ tag: labName('c')[0]!, seed, log: (l) => console.log(l) }, CLI);
  beforeAll(async () => {
    console.log(`chaos seed ${seed}, ${count} interrupts`);
    const d = await runner.setup();
    console.log(`measured: ${Object.entries(d).map(([c, ms]) => `${c} ${Math.round(ms)} ms`).join(', ')}`);
  }, 300_000);
  afterAll(() => runner.teardown(), 60_000);

  test.each(planMoments(seed, count).map((m) => ({ ...m, share: m.at.toFixed(2) })))('#$i $command, $signal at $share of its measured duration: exit 130/143 and nothing left', async (m) => {
    const o = await runner.interrupt(m);
    expect(o.problems, o.phase).toEqual([]);
    expect(o.leftovers, o.phase).toEqual([]);
  }, 120_000);
});

/**
 * Starts the CLI, sends SIGINT once a stderr line matches `ready`, and again
 * as soon as it says it is cleaning up (two signals sent at once would merge
 * into one); resolves with its exit and stderr lines.
 */
function doubleInterrupt(args: string[], ready: RegExp): Promise<{ code: number | null; lines: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    let sent = 0;
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (sent === 0 && ready.test(err)) {
        sent = 1;
        child.kill('SIGINT');
      }
      if (sent === 1 && /: SIGINT: stopping; cleaning up/.test(err)) {
        sent = 2;
        child.kill('SIGINT');
      }
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, lines: err.trim().split('\n') }));
  });
}

/** `podwire ...` as printed, run through the built CLI. */
const hinted = (command: string) => cli(command.replace(/^podwire /, '').split(' '), { reject: false });

describeLab('a second Ctrl-C during the cleanup', () => {
  const lab = useLab('cdouble', ['--nodes', '2']);

  test('run: exits 130 at once, naming the namespace it may leave and the podwire cleanup command, which removes it', async () => {
    const before = (await Promise.all((await labNetns(lab().name)).map(netnsPids))).flat();
    const dir = mkdtempSync(join(tmpdir(), 'podwire-double-'));
    const r = await doubleInterrupt(['run', '--kubeconfig', lab().kubeconfig, '--report-dir', dir], /sending \d+ flows/);
    expect(r.code).toBe(130);
    const last = r.lines.at(-1)!;
    const m = /^podwire: SIGINT again: stopped the cleanup; may be left: namespace (podwire-\w+) at https:\/\/127\.0\.0\.1:\d+; remove it with: (podwire cleanup --kubeconfig \S+ --namespace podwire-\w+)$/.exec(last);
    expect(m, r.lines.join('\n')).not.toBeNull();
    // The cleanup was stopped early: the namespace is normally still there (deleting a namespace waits for its pods), and the hint removes it.
    if ((await leftovers(lab())).includes(`ns/${m![1]}`)) {
      const c = await hinted(m![2]!);
      expect(c.exitCode, String(c.stderr)).toBe(0);
    } else {
      console.log(`the namespace ${m![1]} was gone before the hint was tried`);
    }
    expect(await leftovers(lab())).toEqual([]);
    const after = (await Promise.all((await labNetns(lab().name)).map(netnsPids))).flat();
    expect(after.filter((p) => !before.includes(p))).toEqual([]);
  });

  test('a namespace deleted while its pods\' sandboxes are being made is gone only once their processes are (what an interrupted deploy meets)', async () => {
    const kube = lab().kube;
    const before = (await Promise.all((await labNetns(lab().name)).map(netnsPids))).flat();
    const ns = 'sandboxes-in-flight';
    await kube.core.createNamespace({ body: { metadata: { name: ns } } });
    await Promise.all([1, 2].flatMap((n) => ['a', 'b', 'c'].map((x) => kube.core.createNamespacedPod({ namespace: ns, body: podSpec(`p-${n}-${x}`, `node-${n}`, ['sleep', '3600']) }))));
    await kube.core.deleteNamespace({ name: ns });
    for (;;) {
      const gone = await kube.core.readNamespace({ name: ns }).then(() => false, (e: { code?: number }) => e.code === 404);
      if (gone) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const after = (await Promise.all((await labNetns(lab().name)).map(netnsPids))).flat();
    expect(after.filter((p) => !before.includes(p))).toEqual([]);
  });

  test('lab up: exits 130 at once, naming the lab it may leave and podwire lab down, which removes it', async () => {
    const name = labName('cdoubleup');
    await cli(['lab', 'down', '--name', name]);
    const r = await doubleInterrupt(['lab', 'up', '--name', name, '--nodes', '2'], /building \d+ node/);
    expect(r.code).toBe(130);
    const m = new RegExp(`^podwire: SIGINT again: stopped the cleanup; may be left: lab ${name} \\(.*\\); remove it with: (podwire lab down --name ${name})$`).exec(r.lines.at(-1)!);
    expect(m, r.lines.join('\n')).not.toBeNull();
    const c = await hinted(m![1]!);
    expect(c.exitCode).toBe(0);
    expect(await labNetns(name)).toEqual([]);
    expect(existsSync(`/run/podwire/${name}`)).toBe(false);
  });
});
