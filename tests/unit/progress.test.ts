// Progress of long phases on stderr: in place on a terminal, one line per
// phase in CI logs, log lines never mixed into a counter.
import { expect, test } from 'vitest';
import { Progress } from '../../src/cli/progress.js';

function sink(isTTY: boolean) {
  const chunks: string[] = [];
  return { out: { isTTY, write: (s: string) => chunks.push(s) }, text: () => chunks.join(''), chunks };
}

test('not a terminal: a phase is one line, when it ends, with its count and elapsed time; logs are lines of their own', () => {
  const s = sink(false);
  let t = 1000;
  const p = new Progress(s.out, () => t);
  const deploy = p.phase('probes ready', 9);
  for (let i = 1; i <= 9; i++) {
    t += 100;
    deploy.update(i);
  }
  p.log('inventory: addresses');
  expect(s.text()).toBe('podwire: inventory: addresses\n');
  deploy.end();
  deploy.end(); // ending twice prints nothing more
  const send = p.phase('senders done', 3);
  send.update(2);
  t += 2500;
  p.phase('captures retrieved', 3).end(); // a new phase ends the one running
  expect(s.text()).toBe('podwire: inventory: addresses\npodwire: probes ready 9/9 (0.9 s)\npodwire: senders done 2/3 (2.5 s)\npodwire: captures retrieved 0/3 (0.0 s)\n');
  expect(s.text()).not.toContain('\r');
});

test('on a terminal: the phase line updates in place, a log line clears it and it is redrawn below', () => {
  const s = sink(true);
  let t = 0;
  const p = new Progress(s.out, () => t, 0);
  const ph = p.phase('probes ready', 3);
  t = 1200;
  ph.update(1);
  p.log('node node-3 not covered: x');
  t = 2000;
  ph.update(3);
  ph.end();
  expect(s.chunks).toEqual([
    '\r\x1b[Kpodwire: probes ready 0/3 (0.0 s)',
    '\r\x1b[Kpodwire: probes ready 1/3 (1.2 s)',
    '\r\x1b[K', 'podwire: node node-3 not covered: x\n', '\r\x1b[Kpodwire: probes ready 1/3 (1.2 s)',
    '\r\x1b[Kpodwire: probes ready 3/3 (2.0 s)',
    '\r\x1b[Kpodwire: probes ready 3/3 (2.0 s)\n',
  ]);
  // After the phase, logs are plain lines again.
  p.log('done');
  expect(s.chunks.at(-1)).toBe('podwire: done\n');
});

test('on a terminal the elapsed time moves while the count does not', async () => {
  const s = sink(true);
  const p = new Progress(s.out, () => performance.now(), 20);
  const ph = p.phase('senders done', 4);
  await new Promise((r) => setTimeout(r, 110));
  ph.end();
  expect(s.chunks.filter((c) => c.includes('senders done 0/4')).length).toBeGreaterThanOrEqual(3);
});
