// pcap-parser ships no types; the benchmark uses only this much of it.
declare module 'pcap-parser' {
  import type { EventEmitter } from 'node:events';
  export function parse(input: NodeJS.ReadableStream | string): EventEmitter;
}
