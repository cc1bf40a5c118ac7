// Decoding a capture file from disk, or any stream, as a stream (constant memory).
import { createReadStream } from 'node:fs';
import { CaptureReader, type CaptureError, type CaptureFormat } from './capture-file.js';
import { decodeFrame, type DecodeOptions } from './packet.js';
import type { DecodedPacket } from './layers.js';

export interface DecodeFileResult {
  format?: CaptureFormat;
  packets: number;
  bytes: number;
  error?: CaptureError;
}

export async function decodeFile(path: string, onPacket: (p: DecodedPacket) => void, opts: DecodeOptions = {}): Promise<DecodeFileResult> {
  return decodeStream(createReadStream(path, { highWaterMark: 1 << 20 }), onPacket, opts);
}

/** A capture from any byte stream (a file, standard input); reading stops at the first damage the reader cannot pass. */
export async function decodeStream(stream: NodeJS.ReadableStream & { destroy?: () => void }, onPacket: (p: DecodedPacket) => void, opts: DecodeOptions = {}): Promise<DecodeFileResult> {
  const reader = new CaptureReader();
  let bytes = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (!reader.push(chunk, (r) => onPacket(decodeFrame(r, opts)))) {
      stream.destroy?.();
      break;
    }
  }
  const error = reader.end();
  return { format: reader.format, packets: reader.records, bytes, ...(error ? { error } : {}) };
}
