// `podwire decode FILE... [--json]`: one line (or one JSON line) per packet,
// file after file; `-` is standard input.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { decodeStream } from '../decode/file.js';
import { formatFileError, formatPacket, packetJson } from '../decode/format.js';
import { PreconditionError } from '../errors.js';
import type { Command } from './args.js';

export async function runDecode(cmd: Extract<Command, { kind: 'decode' }>): Promise<number> {
  // Every file is checked before any is decoded: a typo in the last one should not come after pages of output.
  for (const f of cmd.files) {
    if (f === '-') continue;
    if (!existsSync(f)) throw new PreconditionError(`capture file \`${f}\` does not exist`);
    if (!statSync(f).isFile()) throw new PreconditionError(`\`${f}\` is not a file`);
  }
  const several = cmd.files.length > 1;
  const out: string[] = [];
  const flush = () => {
    if (out.length) process.stdout.write(out.join('\n') + '\n');
    out.length = 0;
  };
  let code = 0;
  for (const [i, f] of cmd.files.entries()) {
    const name = f === '-' ? '(stdin)' : f;
    if (several && !cmd.json) out.push(`${i ? '\n' : ''}==> ${name} <==`);
    const input = f === '-' ? process.stdin : createReadStream(f, { highWaterMark: 1 << 20 });
    const result = await decodeStream(input, (p) => {
      out.push(cmd.json ? JSON.stringify(several ? { file: name, ...packetJson(p) } : packetJson(p)) : formatPacket(p));
      if (out.length >= 1024) flush();
    }, { vxlanPorts: cmd.vxlanPorts });
    flush();
    if (result.error) {
      process.stderr.write(`${formatFileError(name, result.error, result.packets)}\n`);
      code = 1;
    }
  }
  return code;
}
