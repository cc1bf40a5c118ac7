// The sender script, run in a lab pod as the runner runs it: a reply that
// does not come to the first try is asked for once more, and the report says
// so; a receiver that never answers still ends with no reply; a refusal is
// final.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { makeToken } from '../../src/decode/token.js';
import type { Flow } from '../../src/conformance/model.js';
import { parseSenderOutput, senderScript } from '../../src/conformance/sender.js';
import { createRunningPod, describeLab, podSpec, sh, useLab } from '../helpers/lab.js';

describeLab('the sender script in a pod', () => {
  const lab = useLab('tsender', ['--nodes', '1']);
  // Pods share the host's files: the listener marks its first datagram here and drops it.
  const dir = mkdtempSync(join(tmpdir(), 'podwire-sender-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('a lost first reply is retried once and reported; a silent receiver gives no reply after two tries; a refusal is not retried', async () => {
    const { kube } = lab();
    const mark = join(dir, 'first-seen');
    // Answers UDP 7172 except the very first datagram; takes UDP 7174 and never answers; nothing listens on 7175.
    const listener = `socat UDP4-RECVFROM:7174,fork SYSTEM:'cat >/dev/null' & exec socat UDP4-RECVFROM:7172,fork SYSTEM:'read t; if [ -e ${mark} ]; then echo "$t.from.rx"; else touch ${mark}; fi'`;
    const rx = await createRunningPod(kube, podSpec('rx', 'node-1', ['sh', '-c', listener]));
    await createRunningPod(kube, podSpec('tx', 'node-1', ['sleep', '3600']));
    const flow = (id: string, port: number): Flow => ({ id, token: makeToken('rt', id), kind: 'pod-pod-same', proto: 'udp', from: 'tx', to: 'rx', dstIP: rx.status!.podIP!, dstPort: port });
    const flows = [flow('f1', 7172), flow('f2', 7174), flow('f3', 7175)];
    const r = await sh(kube, 'tx', senderScript(flows, 1));
    const sent = parseSenderOutput(r.stdout.toString());
    expect(sent.get('f1')).toMatchObject({ exitCode: 0, retried: true, reply: `${flows[0]!.token}.from.rx` });
    expect(sent.get('f2')).toMatchObject({ exitCode: 0, reply: '', retried: true });
    // A closed port answers with ICMP port unreachable: a definite answer, not retried.
    expect(sent.get('f3')!.exitCode).not.toBe(0);
    expect(sent.get('f3')!.retried).toBeUndefined();
  });
});
