// Writes a synthetic classic pcap of mixed traffic for the decode benchmark:
// plain pod-to-pod UDP and TCP, and the same inside flannel VXLAN (8472),
// every packet with a flow token. Deterministic for a given size.
import { open } from 'node:fs/promises';

function ipHeader(b: Buffer, at: number, src: number, dst: number, proto: number, totalLength: number): void {
  b.writeUInt8(0x45, at);
  b.writeUInt16BE(totalLength, at + 2);
  b.writeUInt16BE(0x4000, at + 6);
  b.writeUInt8(64, at + 8);
  b.writeUInt8(proto, at + 9);
  b.writeUInt32BE(src >>> 0, at + 12);
  b.writeUInt32BE(dst >>> 0, at + 16);
}

function eth(b: Buffer, at: number, type: number): void {
  b.writeUIntBE(0x0a580af40102, at, 6);
  b.writeUIntBE(0x0a580af40202, at + 6, 6);
  b.writeUInt16BE(type, at + 12);
}

/** One frame: an inner Ether/IPv4/(UDP|TCP)/token, optionally inside Ether/IPv4/UDP 8472/VXLAN. */
export function frame(i: number): Buffer {
  const token = Buffer.from(`podwire/bench/flow-${i % 4096}-${i}\n`);
  const tcp = i % 3 === 0;
  const l4 = tcp ? 20 : 8;
  const pad = (i * 7) % 64;
  const innerLen = 14 + 20 + l4 + token.length + pad;
  const vx = i % 2 === 1;
  const b = Buffer.alloc(vx ? innerLen + 50 : innerLen);
  let p = 0;
  if (vx) {
    eth(b, 0, 0x0800);
    ipHeader(b, 14, 0xac12000b, 0xac12000c, 17, innerLen + 36);
    b.writeUInt16BE(40000 + (i % 1000), 34);
    b.writeUInt16BE(8472, 36);
    b.writeUInt16BE(innerLen + 16, 38);
    b.writeUInt8(0x08, 42);
    b.writeUIntBE(1, 46, 3);
    p = 50;
  }
  eth(b, p, 0x0800);
  const src = 0x0af40100 + 2 + (i % 200);
  const dst = 0x0af40200 + 2 + ((i >> 3) % 200);
  ipHeader(b, p + 14, src, dst, tcp ? 6 : 17, 20 + l4 + token.length + pad);
  const t = p + 34;
  b.writeUInt16BE(30000 + (i % 20000), t);
  b.writeUInt16BE(tcp ? 7001 : 7000, t + 2);
  if (tcp) {
    b.writeUInt32BE(i >>> 0, t + 4);
    b.writeUInt8(0x50, t + 12);
    b.writeUInt8(0x18, t + 13);
  } else {
    b.writeUInt16BE(8 + token.length + pad, t + 4);
  }
  token.copy(b, t + l4);
  return b;
}

export async function writeBenchCapture(file: string, targetBytes: number): Promise<{ packets: number; bytes: number }> {
  const fh = await open(file, 'w');
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(262144, 16);
  header.writeUInt32LE(1, 20);
  let bytes = 24;
  let packets = 0;
  const chunks: Buffer[] = [header];
  let pending = 24;
  while (bytes < targetBytes) {
    const f = frame(packets);
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(1_700_000_000 + Math.floor(packets / 100_000), 0);
    rec.writeUInt32LE((packets * 10) % 1_000_000, 4);
    rec.writeUInt32LE(f.length, 8);
    rec.writeUInt32LE(f.length, 12);
    chunks.push(rec, f);
    pending += 16 + f.length;
    bytes += 16 + f.length;
    packets++;
    if (pending > 4 << 20) {
      await fh.write(Buffer.concat(chunks));
      chunks.length = 0;
      pending = 0;
    }
  }
  if (chunks.length) await fh.write(Buffer.concat(chunks));
  await fh.close();
  return { packets, bytes };
}
