// `--report-dir` is checked before any work: a run must not find out at its
// end (after minutes on a cluster) that it cannot write what it found.
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { UsageError } from '../errors.js';

/** A directory podwire may create or write in; a one-line UsageError naming the problem otherwise. */
export async function checkReportDir(dir: string): Promise<void> {
  const abs = resolve(dir);
  if (/^\/(proc|sys|dev)(\/|$)/.test(abs)) throw new UsageError(`expected \`--report-dir\` to be a directory for reports, got \`${dir}\` (under /${abs.split('/')[1]}, a kernel file system)`);
  // The nearest part of the path that exists must be a writable directory.
  let at = abs;
  for (;;) {
    const st = await stat(at).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' || err.code === 'ENOTDIR' ? undefined : Promise.reject(err)));
    if (st) {
      if (!st.isDirectory()) throw new UsageError(`expected \`--report-dir\` to be a directory, got \`${dir}\` (${at === abs ? 'it is' : `\`${at}\` is`} a file)`);
      await access(at, constants.W_OK).catch(() => {
        throw new UsageError(`expected \`--report-dir\` to be writable, got \`${dir}\` (\`${at}\` is not writable)`);
      });
      return;
    }
    const up = dirname(at);
    if (up === at) return;
    at = up;
  }
}
