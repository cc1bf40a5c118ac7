// `podwire decode FILE [--json]`: one line (or one JSON line) per packet.
import { existsSync, statSync } from 'node:fs';
import { decodeFile } from '../decode/file.js';
import { formatFileError, formatPacket, packetJson } from '../decode/format.js';
import { PreconditionError } from '../errors.js';
import type { Command } from './args.js';

export async function runDecode(cmd: Extract<Command, { kind: 'decode' }>): Promise<number> {
  if (!existsSync(cmd.file)) throw new PreconditionError(`capture file \`${cmd.file}\` does not exist`);
  if (!statSync(cmd.file).isFile()) throw new PreconditionError(`\`${cmd.file}\` is not a file`);
  const out: string[] = [];
  const flush = () => {
    if (out.length) process.stdout.write(out.join('\n') + '\n');
    out.length = 0;
  };
  const result = await decodeFile(cmd.file, (p) => {
    out.push(cmd.json ? JSON.stringify(packetJson(p)) : formatPacket(p));
    if (out.length >= 1024) flush();
  }, { vxlanPorts: cmd.vxlanPorts });
  flush();
  if (result.error) {
    process.stderr.write(`${formatFileError(cmd.file, result.error, result.packets)}\n`);
    return 1;
  }
  return 0;
}
