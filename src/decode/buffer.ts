// Decoding a whole capture held in memory (a pcap brought back from a probe,
// or read from a run bundle). Pure.
import { readCapture } from './capture-file.js';
import { decodeFrame, type DecodeOptions } from './packet.js';
import type { DecodedPacket } from './layers.js';

export class DamagedCaptureError extends Error {}

/** Every packet of the capture; a damaged file is an error naming it, not a silent partial result. */
export function decodeCapture(bytes: Buffer, name = 'capture', opts: DecodeOptions = {}): DecodedPacket[] {
  const { records, error } = readCapture(bytes);
  if (error) throw new DamagedCaptureError(`${name} is damaged at byte ${error.offset}: ${error.message}`);
  return records.map((r) => decodeFrame(r, opts));
}
