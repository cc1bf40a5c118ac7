// Issue 14, item 5: the API server dies (or stops answering) mid-run. The run
// ends with exit 2 and one line naming the API, the phase and the namespace
// that may be left with the command that removes it — no script text, no
// stack — and once the lab is down nothing of it is left. The 15 s bound is a
// deadline in the code (LOST_AFTER_MS, REQUEST_TIMEOUT_MS), not asserted here.
import { execa } from 'execa';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { pidAlive } from '../../src/lab/topology.js';
import { CLI, cli, describeLab, startLab, type TestLab } from '../helpers/lab.js';

const reports = mkdtempSync(join(tmpdir(), 'podwire-lost-'));

const labNetns = async (name: string) =>
  String((await execa('ip', ['netns', 'list'])).stdout).split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => n.startsWith(`pw-${name}-`));
const netnsPids = async (netns: string[]) =>
  (await Promise.all(netns.map(async (n) => String((await execa('ip', ['netns', 'pids', n])).stdout).split(/\s+/).filter(Boolean).map(Number)))).flat();

/** `podwire run` on the lab; `act` is called once, when a stderr line matches `when`. */
async function runAndAct(lab: TestLab, when: RegExp, act: () => Promise<void> | void) {
  const run = execa(process.execPath, [CLI, 'run', '--kubeconfig', lab.kubeconfig, '--report-dir', reports], { reject: false, timeout: 120_000 });
  let seen = '';
  let acted: Promise<void> | undefined;
  run.stderr!.on('data', (chunk: Buffer) => {
    seen += chunk.toString();
    if (!acted && when.test(seen)) acted = Promise.resolve(act());
  });
  const r = await run;
  await acted;
  return { ...r, acted: acted !== undefined };
}

function expectLostLine(stderr: string, lab: TestLab) {
  const lines = stderr.trim().split('\n');
  const url = `https://127.0.0.1:`;
  expect(lines.at(-1)).toMatch(new RegExp(
    `^podwire: lost the Kubernetes API at ${url.replace(/\./g, '\\.')}\\d+ during [a-z' ]+; namespace (podwire-[a-z0-9]+) may be left: podwire cleanup --kubeconfig ${lab.kubeconfig} --namespace \\1$`,
  ));
  // One error, said once: no script text (the agent's bootstrap is Python), no stack, no line per failed exec.
  expect(stderr).not.toMatch(/python3 -c|import sys|zlib|^\s+at /m);
  expect(lines.filter((l) => /lost the Kubernetes API|failed|ECONNREFUSED|timed out/.test(l))).toHaveLength(1);
}

async function expectNothingLeftAfterDown(lab: TestLab, pids: number[]) {
  await cli(['lab', 'down', '--name', lab.name]);
  expect(await labNetns(lab.name)).toEqual([]);
  expect(pids.filter(pidAlive)).toEqual([]);
}

describeLab('a lost API server', () => {
  test('killed while the probes send: exit 2, one line naming the API, the phase and the namespace with its cleanup; lab down leaves nothing', async () => {
    const lab = await startLab('tlost', ['--nodes', '2']);
    try {
      const server = (await lab.status()).api.pid!;
      let pids: number[] = [];
      const r = await runAndAct(lab, /sending \d+ flows/, async () => {
        pids = await netnsPids(await labNetns(lab.name)); // the probes' processes, in the lab's netns
        process.kill(server, 'SIGKILL');
      });
      expect(r.acted).toBe(true);
      expect(r.exitCode, r.stderr).toBe(2);
      expectLostLine(String(r.stderr), lab);
      expect(String(r.stderr)).toMatch(/during sending flows and retrieving captures;/);
      expect(pids.length).toBeGreaterThan(6); // every probe's holder and listener at least
      await expectNothingLeftAfterDown(lab, pids);
    } finally {
      await cli(['lab', 'down', '--name', lab.name], { reject: false });
    }
  });

  test('stopped (it takes connections but never answers) while probes are deployed: exit 2 and the same one line', async () => {
    const lab = await startLab('thang', ['--nodes', '2']);
    const server = (await lab.status()).api.pid!;
    try {
      const r = await runAndAct(lab, /deploying \d+ probes/, () => {
        process.kill(server, 'SIGSTOP');
      });
      expect(r.acted).toBe(true);
      expect(r.exitCode, r.stderr).toBe(2);
      expectLostLine(String(r.stderr), lab);
      expect(String(r.stderr)).toMatch(/during (deploying probes|waiting for the probes to be ready);/);
      const pids = await netnsPids(await labNetns(lab.name));
      process.kill(server, 'SIGKILL');
      await expectNothingLeftAfterDown(lab, pids);
    } finally {
      if (pidAlive(server)) process.kill(server, 'SIGKILL');
      await cli(['lab', 'down', '--name', lab.name], { reject: false });
    }
  });
});
