// `podwire lab kubeconfig --role FILE --out PATH`: a kubeconfig whose token
// carries only the rules of the ClusterRoles and Roles in FILE, as a
// ServiceAccount's token bound to them would. The grant is kept in the lab's
// state (tokens/<sha256 of the token>.json), so the running API server finds
// it, every earlier token keeps working, and all of them die with the lab;
// `lab down` removes the kubeconfigs written for them while unchanged.
import { createHash, randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { PreconditionError, UsageError } from '../errors.js';
import { kubeconfigYaml } from './certs.js';
import { labPlan } from './plan.js';
import { parseRoleFile } from './rbac-file.js';
import { tokenFile, type Grant } from './apiserver/rbac.js';
import { ensureDir, paths, readApiEndpoint, readLabState, writeJsonAtomic, type KubeconfigCopy } from './state.js';

export interface Minted {
  grant: Grant;
  out: string;
}

/** What the lab keeps per minted token: its grant, and the kubeconfig written for it (removed by `lab down` while unchanged). */
export interface MintedRecord extends Grant {
  createdAt: string;
  out: KubeconfigCopy;
}

export async function mintKubeconfig(opts: { name: string; roleFile: string; out: string; force?: boolean }): Promise<Minted> {
  let text: string;
  try {
    text = await readFile(opts.roleFile, 'utf8');
  } catch (err) {
    throw new UsageError(`\`--role\` \`${opts.roleFile}\` cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const grant = parseRoleFile(text, opts.roleFile);
  const { stateDir } = labPlan(opts.name, 1, 'host-gw');
  const p = paths(stateDir);
  const [state, api] = await Promise.all([readLabState(stateDir), readApiEndpoint(stateDir)]);
  if (!state || !api) throw new PreconditionError(`no lab named \`${opts.name}\` is up (nothing in ${stateDir}); start one with \`podwire lab up --name ${opts.name}\``);
  const token = randomBytes(32).toString('base64url');
  const user = grant.user.split(':').slice(2).join('-');
  const kubeconfig = await kubeconfigYaml({ name: opts.name, server: api.url, caCertFile: p.caCert, token, user: `podwire-${opts.name}-${user}` });
  // Recorded before it is written (as lab up's --kubeconfig-out), so lab down finds it even if podwire dies in between.
  const record: MintedRecord = { ...grant, createdAt: new Date().toISOString(), out: { path: opts.out, sha256: createHash('sha256').update(kubeconfig).digest('hex') } };
  await ensureDir(p.tokens);
  const file = tokenFile(p.tokens, token);
  await writeJsonAtomic(file, record);
  try {
    await writeFile(opts.out, kubeconfig, { mode: 0o600, flag: opts.force ? 'w' : 'wx' });
  } catch (err) {
    await rm(file, { force: true });
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new UsageError(`\`--out\` \`${opts.out}\` appeared meanwhile; podwire does not replace it unless you add \`--force\``);
    throw new PreconditionError(`cannot write \`--out\` \`${opts.out}\`: ${code ?? (err as Error).message}`);
  }
  return { grant, out: opts.out };
}
