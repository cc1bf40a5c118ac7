// Measures one reader over one file in a process of its own, so its peak
// memory (VmHWM) is its own. Prints one JSON line.
import { createReadStream, readFileSync } from 'node:fs';
import { decodeFile } from '../src/decode/file.js';
import { CaptureReader } from '../src/decode/capture-file.js';

function peakRssKiB(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) : 0;
}

async function podwire(file: string) {
  let tokens = 0;
  let vxlan = 0;
  const t0 = performance.now();
  const r = await decodeFile(file, (p) => {
    if (p.token) tokens++;
    if (p.encapsulation.length) vxlan++;
  });
  return { ms: performance.now() - t0, packets: r.packets, bytes: r.bytes, tokens, vxlan, error: r.error?.message };
}

/** pcap-parser (the design card's choice) reading records only, no decoding. */
async function pcapParser(file: string) {
  const pcapp = await import('pcap-parser');
  const t0 = performance.now();
  let packets = 0;
  await new Promise<void>((resolve, reject) => {
    const parser = pcapp.parse(createReadStream(file, { highWaterMark: 1 << 20 }));
    parser.on('packet', () => packets++);
    parser.on('end', resolve);
    parser.on('error', reject);
  });
  return { ms: performance.now() - t0, packets };
}

/** podwire's reader alone (records, no decoding): the like-for-like comparison with pcap-parser. */
async function reader(file: string) {
  const r = new CaptureReader();
  let packets = 0;
  const t0 = performance.now();
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) r.push(chunk, () => packets++);
  return { ms: performance.now() - t0, packets };
}

const [which, file] = process.argv.slice(2);
const result = which === 'pcap-parser' ? await pcapParser(file!) : which === 'reader' ? await reader(file!) : await podwire(file!);
console.log(JSON.stringify({ ...result, peakRssKiB: peakRssKiB() }));
