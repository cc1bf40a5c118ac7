// `lab up --kubeconfig-out` is checked before any work, as `--report-dir` is:
// a lab must not be built only to find that its kubeconfig cannot be written,
// and a file the user has must not be replaced unless they said so.
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { UsageError } from '../errors.js';

const missing = (err: NodeJS.ErrnoException) => (err.code === 'ENOENT' || err.code === 'ENOTDIR' ? undefined : Promise.reject(err));

/** The absolute path of a new file podwire may write (or replace, with `force`); a one-line UsageError naming the problem otherwise. */
export async function checkOutputFile(path: string, flag: string, force: boolean): Promise<string> {
  const abs = resolve(path);
  const bad = (why: string) => new UsageError(`expected \`${flag}\` to be a file podwire can write, got \`${path}\` (${why})`);
  if (/^\/(proc|sys|dev)(\/|$)/.test(abs)) throw bad(`under /${abs.split('/')[1]}, a kernel file system`);
  const st = await stat(abs).catch(missing);
  if (st?.isDirectory()) throw bad('it is a directory');
  if (st && !st.isFile()) throw bad('it exists and is not a regular file');
  if (st && !force) throw new UsageError(`\`${flag}\` \`${path}\` exists; podwire does not replace it unless you add \`--force\``);
  const dir = dirname(abs);
  const parent = await stat(dir).catch(missing);
  if (!parent) throw bad(`directory \`${dir}\` does not exist`);
  if (!parent.isDirectory()) throw bad(`\`${dir}\` is not a directory`);
  await access(dir, constants.W_OK).catch(() => {
    throw bad(`directory \`${dir}\` is not writable`);
  });
  return abs;
}
