// Decode benchmark: a generated 100 MB capture of mixed plain and VXLAN
// traffic, decoded by podwire (full decode + token search), read by podwire's
// reader and by pcap-parser (records only), and by tshark -T fields, each in
// a process of its own so peak memory is its own. A 25 MB file shows whether
// memory grows with the input (it must not: decoding streams).
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { writeBenchCapture } from './gen-capture.js';

const run = promisify(execFile);
const WORKER = fileURLToPath(new URL('./decode-worker.js', import.meta.url));
const MB = 1024 * 1024;
const HEAP_CAP_MIB = 24;

export interface DecodeRow {
  tool: string;
  file: string;
  packets: number;
  runs: number;
  medianMs: number;
  minMs: number;
  maxMs: number;
  packetsPerSec: number;
  mbPerSec: number;
  peakRssMiB: number;
}

interface WorkerOut {
  ms: number;
  packets: number;
  peakRssKiB: number;
  tokens?: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function worker(mode: string, file: string, nodeFlags: string[] = []): Promise<WorkerOut> {
  const { stdout } = await run(process.execPath, [...nodeFlags, WORKER, mode, file], { maxBuffer: 1 << 20, timeout: 600_000 });
  return JSON.parse(stdout) as WorkerOut;
}

async function tshark(file: string): Promise<WorkerOut> {
  const t0 = performance.now();
  const { stdout, stderr } = await run('/usr/bin/time', ['-f', 'PEAK %M', 'tshark', '-r', file, '-n', '-T', 'fields', '-d', 'udp.port==8472,vxlan',
    '-e', 'ip.src', '-e', 'ip.dst', '-e', 'udp.dstport', '-e', 'tcp.dstport', '-e', 'vxlan.vni'], { maxBuffer: 1 << 30, timeout: 600_000 });
  const ms = performance.now() - t0;
  return { ms, packets: stdout.split('\n').filter(Boolean).length, peakRssKiB: Number(/PEAK (\d+)/.exec(stderr)?.[1] ?? 0) };
}

function row(tool: string, file: string, bytes: number, outs: WorkerOut[]): DecodeRow {
  const ms = outs.map((o) => o.ms);
  const med = median(ms);
  const packets = outs[0]!.packets;
  return {
    tool, file, packets, runs: outs.length,
    medianMs: Math.round(med), minMs: Math.round(Math.min(...ms)), maxMs: Math.round(Math.max(...ms)),
    packetsPerSec: Math.round(packets / (med / 1000)),
    mbPerSec: Math.round((bytes / MB / (med / 1000)) * 10) / 10,
    peakRssMiB: Math.round(Math.max(...outs.map((o) => o.peakRssKiB)) / 1024),
  };
}

async function repeat(n: number, f: () => Promise<WorkerOut>): Promise<WorkerOut[]> {
  const outs: WorkerOut[] = [];
  for (let i = 0; i < n; i++) outs.push(await f());
  return outs;
}

export async function benchDecode(opts: { repeats: number; log: (s: string) => void }): Promise<{ rows: DecodeRow[]; goalPacketsPerSec: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'podwire-bench-'));
  try {
    const big = join(dir, 'mixed-100MB.pcap');
    const small = join(dir, 'mixed-25MB.pcap');
    opts.log('generating captures (plain and VXLAN pod traffic, every packet tokened)');
    const g = await writeBenchCapture(big, 100 * MB);
    await writeBenchCapture(small, 25 * MB);
    const bigBytes = g.bytes;
    const smallBytes = (await stat(small)).size;
    const rows: DecodeRow[] = [];
    opts.log('podwire decode (100 MB)');
    const full = await repeat(opts.repeats, () => worker('podwire', big));
    if (full.some((o) => o.tokens !== g.packets)) throw new Error(`podwire found ${full[0]!.tokens} tokens, the generator wrote ${g.packets}`);
    rows.push(row('podwire decode (full layers + token)', '100 MB', bigBytes, full));
    rows.push(row('podwire decode (full layers + token)', '25 MB', smallBytes, await repeat(opts.repeats, () => worker('podwire', small))));
    // Streaming proof: the 100 MB file decodes with V8's heap capped far below its size.
    rows.push(row(`podwire decode, heap capped at ${HEAP_CAP_MIB} MiB`, '100 MB', bigBytes, [await worker('podwire', big, [`--max-old-space-size=${HEAP_CAP_MIB}`])]));
    opts.log('readers only');
    rows.push(row('podwire reader (records only)', '100 MB', bigBytes, await repeat(opts.repeats, () => worker('reader', big))));
    rows.push(row('pcap-parser (records only)', '100 MB', bigBytes, await repeat(opts.repeats, () => worker('pcap-parser', big))));
    opts.log('tshark -T fields (one run: it is slow)');
    rows.push(row('tshark -T fields (5 fields)', '100 MB', bigBytes, [await tshark(big)]));
    return { rows, goalPacketsPerSec: 1_000_000 };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
