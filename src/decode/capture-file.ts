// Streaming reader for capture files: classic pcap (either byte order,
// microsecond or nanosecond timestamps) and pcapng (SHB/IDB/EPB/SPB/PB).
// Pure over bytes: feed chunks, get records; memory stays bounded by the
// largest record. Damage never throws: it ends the stream with an error
// that carries the byte offset.

export interface CaptureRecord {
  /** 0-based record number in the file. */
  index: number;
  /** Byte offset of the record (its header) in the file. */
  offset: number;
  /** Timestamp: seconds since the epoch and nanoseconds within the second. */
  tsSec: number;
  tsNsec: number;
  linktype: number;
  caplen: number;
  origLen: number;
  data: Buffer;
}

export interface CaptureError {
  offset: number;
  message: string;
}

export type CaptureFormat = 'pcap' | 'pcap-ns' | 'pcapng';

/** Larger than any real frame (64 KiB IP + headers), small enough to reject garbage lengths. */
export const MAX_RECORD = 262_144 + 64;

const EMPTY = Buffer.alloc(0);
const PCAP_US = 0xa1b2c3d4;
const PCAP_NS = 0xa1b23c4d;
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BOM = 0x1a2b3c4d;

interface Iface {
  linktype: number;
  snaplen: number;
  /** Nanoseconds per timestamp unit, as a rational: units * num / den. */
  tsNum: bigint;
  tsDen: bigint;
}

export class CaptureReader {
  format?: CaptureFormat;
  /** Link type of a classic pcap (pcapng: per interface, on each record). */
  linktype?: number;
  snaplen?: number;
  error?: CaptureError;
  /** Bytes consumed so far (offset of `pending` in the file). */
  private consumed = 0;
  private pending: Buffer = EMPTY;
  private le = true;
  private count = 0;
  private readonly ifaces: Iface[] = [];
  private done = false;

  /** Feeds bytes; calls `onRecord` for each complete record. Returns false once the stream ended in error. */
  push(chunk: Buffer, onRecord: (r: CaptureRecord) => void): boolean {
    if (this.done) return false;
    let buf = chunk;
    let pos = 0;
    if (this.pending.length) {
      // Join only the bytes a record straddling the two buffers can need, not the whole chunk.
      const head = Buffer.concat([this.pending, chunk.subarray(0, MAX_RECORD + 64)]);
      const at = this.parse(head, 0, this.pending.length, onRecord);
      if (at < 0) return false;
      if (at < this.pending.length) {
        // Still short of a whole record: keep everything for the next chunk.
        this.pending = head.length === this.pending.length + chunk.length ? head : Buffer.concat([this.pending, chunk]);
        return true;
      }
      pos = at - this.pending.length;
      this.consumed += this.pending.length;
      this.pending = EMPTY;
    }
    const at = this.parse(buf, pos, Infinity, onRecord);
    if (at < 0) return false;
    this.consumed += at;
    // Copy the tail so the (possibly large) chunk it came from can be freed.
    this.pending = at === buf.length ? EMPTY : Buffer.from(buf.subarray(at));
    buf = EMPTY;
    return true;
  }

  /** Parses records from `pos` while they start before `limit`; the new position, or -1 on damage. */
  private parse(buf: Buffer, pos: number, limit: number, onRecord: (r: CaptureRecord) => void): number {
    while (pos < limit) {
      const used = this.format === undefined ? this.header(buf, pos) : this.format === 'pcapng' ? this.ngBlock(buf, pos, onRecord) : this.pcapRecord(buf, pos, onRecord);
      if (used < 0) {
        this.done = true;
        return -1;
      }
      if (used === 0) break;
      pos += used;
    }
    return pos;
  }

  /** Call at end of input: leftover bytes mean a truncated file. */
  end(): CaptureError | undefined {
    if (this.error) return this.error;
    if (this.format === undefined) {
      this.error = { offset: 0, message: this.pending.length ? `file too short for a capture header (${this.pending.length} bytes)` : 'empty file' };
    } else if (this.pending.length) {
      this.error = { offset: this.consumed, message: `file ends inside record ${this.count} (${this.pending.length} bytes left over)` };
    }
    this.done = true;
    return this.error;
  }

  get records(): number {
    return this.count;
  }

  private fail(offset: number, message: string): number {
    this.error = { offset, message };
    return -1;
  }

  private u32(buf: Buffer, at: number): number {
    return this.le ? buf.readUInt32LE(at) : buf.readUInt32BE(at);
  }

  private u16(buf: Buffer, at: number): number {
    return this.le ? buf.readUInt16LE(at) : buf.readUInt16BE(at);
  }

  private header(buf: Buffer, pos: number): number {
    if (buf.length - pos < 24) {
      if (buf.length - pos >= 4 && !this.knownMagic(buf.readUInt32LE(pos))) return this.fail(0, this.magicMessage(buf.readUInt32LE(pos)));
      return 0;
    }
    const magicLE = buf.readUInt32LE(pos);
    if (magicLE === PCAPNG_SHB) {
      this.format = 'pcapng';
      return this.ngBlock(buf, pos, () => undefined);
    }
    if (magicLE === PCAP_US || magicLE === PCAP_NS) this.le = true;
    else if (buf.readUInt32BE(pos) === PCAP_US || buf.readUInt32BE(pos) === PCAP_NS) this.le = false;
    else return this.fail(0, this.magicMessage(magicLE));
    const magic = this.u32(buf, pos);
    this.format = magic === PCAP_NS ? 'pcap-ns' : 'pcap';
    const major = this.u16(buf, pos + 4);
    if (major !== 2) return this.fail(4, `unsupported pcap version ${major}.${this.u16(buf, pos + 6)}`);
    this.snaplen = this.u32(buf, pos + 16);
    // Upper bits carry FCS information (pcap spec): the link type is the low 16.
    this.linktype = this.u32(buf, pos + 20) & 0xffff;
    return 24;
  }

  private knownMagic(m: number): boolean {
    const be = ((m & 0xff) << 24 | (m & 0xff00) << 8 | (m >>> 8) & 0xff00 | m >>> 24) >>> 0;
    return [PCAP_US, PCAP_NS, PCAPNG_SHB].includes(m) || [PCAP_US, PCAP_NS].includes(be);
  }

  private magicMessage(m: number): string {
    return `not a pcap or pcapng file (magic 0x${m.toString(16).padStart(8, '0')})`;
  }

  private pcapRecord(buf: Buffer, pos: number, onRecord: (r: CaptureRecord) => void): number {
    if (buf.length - pos < 16) return 0;
    const caplen = this.u32(buf, pos + 8);
    const origLen = this.u32(buf, pos + 12);
    const offset = this.consumed + pos;
    if (caplen > MAX_RECORD) return this.fail(offset, `record ${this.count} claims ${caplen} captured bytes (more than ${MAX_RECORD}): corrupt file`);
    if (buf.length - pos < 16 + caplen) return 0;
    const frac = this.u32(buf, pos + 4);
    onRecord({
      index: this.count++,
      offset,
      tsSec: this.u32(buf, pos),
      tsNsec: this.format === 'pcap-ns' ? frac : frac * 1000,
      linktype: this.linktype!,
      caplen,
      origLen,
      data: buf.subarray(pos + 16, pos + 16 + caplen),
    });
    return 16 + caplen;
  }

  private ngBlock(buf: Buffer, pos: number, onRecord: (r: CaptureRecord) => void): number {
    if (buf.length - pos < 12) return 0;
    const offset = this.consumed + pos;
    const type = buf.readUInt32LE(pos); // the SHB type is a palindrome; others follow the section's order
    if (type === PCAPNG_SHB) {
      const bom = buf.readUInt32LE(pos + 8);
      if (bom === PCAPNG_BOM) this.le = true;
      else if (buf.readUInt32BE(pos + 8) === PCAPNG_BOM) this.le = false;
      else return this.fail(offset + 8, `pcapng section header with bad byte-order magic 0x${bom.toString(16)}`);
      this.ifaces.length = 0;
    }
    const blockType = this.u32(buf, pos);
    const len = this.u32(buf, pos + 4);
    if (len < 12 || len % 4 !== 0 || len > MAX_RECORD + 64) return this.fail(offset, `pcapng block of type 0x${blockType.toString(16)} has invalid length ${len}`);
    if (buf.length - pos < len) return 0;
    if (this.u32(buf, pos + len - 4) !== len) return this.fail(offset, `pcapng block at ${offset}: trailing length does not match ${len}`);
    const body = buf.subarray(pos + 8, pos + len - 4);
    switch (blockType) {
      case 1: {
        if (body.length < 8) return this.fail(offset, 'pcapng interface block too short');
        const iface: Iface = { linktype: this.u16(body, 0), snaplen: this.u32(body, 4), tsNum: 1000n, tsDen: 1n };
        this.readTsResol(body.subarray(8), iface);
        this.ifaces.push(iface);
        this.linktype ??= iface.linktype;
        break;
      }
      case 6:
      case 2: {
        if (body.length < 20) return this.fail(offset, 'pcapng packet block too short');
        const ifId = blockType === 6 ? this.u32(body, 0) : this.u16(body, 0);
        const iface = this.ifaces[ifId];
        if (!iface) return this.fail(offset, `pcapng packet block names interface ${ifId}, which was not described`);
        const ts = (BigInt(this.u32(body, 4)) << 32n) | BigInt(this.u32(body, 8));
        const caplen = this.u32(body, 12);
        if (20 + caplen > body.length) return this.fail(offset, `pcapng packet block claims ${caplen} bytes in a ${len}-byte block`);
        const ns = (ts * iface.tsNum) / iface.tsDen;
        onRecord({ index: this.count++, offset, tsSec: Number(ns / 1_000_000_000n), tsNsec: Number(ns % 1_000_000_000n), linktype: iface.linktype, caplen, origLen: this.u32(body, 16), data: body.subarray(20, 20 + caplen) });
        break;
      }
      case 3: {
        const iface = this.ifaces[0];
        if (!iface || body.length < 4) return this.fail(offset, 'pcapng simple packet block without an interface');
        const origLen = this.u32(body, 0);
        const caplen = Math.min(origLen, body.length - 4, iface.snaplen || Infinity);
        onRecord({ index: this.count++, offset, tsSec: 0, tsNsec: 0, linktype: iface.linktype, caplen, origLen, data: body.subarray(4, 4 + caplen) });
        break;
      }
      default:
        break; // SHB handled above; name resolution, statistics, custom blocks: skipped
    }
    return len;
  }

  private readTsResol(opts: Buffer, iface: Iface): void {
    let p = 0;
    while (p + 4 <= opts.length) {
      const code = this.u16(opts, p);
      const olen = this.u16(opts, p + 2);
      if (code === 0) return;
      if (code === 9 && olen >= 1 && p + 4 < opts.length) {
        const v = opts[p + 4]!;
        const exp = BigInt(v & 0x7f);
        // Units are 10^-exp or 2^-exp seconds; keep nanoseconds exact as a fraction.
        const unitsPerSec = v & 0x80 ? 1n << exp : 10n ** exp;
        iface.tsNum = 1_000_000_000n;
        iface.tsDen = unitsPerSec;
      }
      p += 4 + olen + ((4 - (olen % 4)) % 4);
    }
  }
}

/** Reads a whole capture held in memory. */
export function readCapture(bytes: Buffer): { format?: CaptureFormat; records: CaptureRecord[]; error?: CaptureError } {
  const r = new CaptureReader();
  const records: CaptureRecord[] = [];
  r.push(bytes, (rec) => records.push(rec));
  const error = r.end();
  return { format: r.format, records, ...(error ? { error } : {}) };
}
