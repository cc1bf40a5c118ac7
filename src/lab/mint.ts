// `podwire lab kubeconfig --role FILE --out PATH`: a kubeconfig whose token
// carries only the rules of the ClusterRoles and Roles in FILE, as a
// ServiceAccount's token bound to them would. The grant is kept in the lab's
// state (tokens/<sha256 of the token>.json), so the running API server finds
// it, every earlier token keeps working, and all of them die with the lab.
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { PreconditionError, UsageError } from '../errors.js';
import { kubeconfigYaml } from './certs.js';
import { labPlan } from './plan.js';
import { parseRoleFile } from './rbac-file.js';
import { tokenFile, type Grant } from './apiserver/rbac.js';
import { ensureDir, paths, readApiEndpoint, readLabState, writeJsonAtomic } from './state.js';

export interface Minted {
  grant: Grant;
  out: string;
}

export async function mintKubeconfig(opts: { name: string; roleFile: string; out: string }): Promise<Minted> {
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
  await ensureDir(p.tokens);
  await writeJsonAtomic(tokenFile(p.tokens, token), { ...grant, createdAt: new Date().toISOString() });
  const user = grant.user.split(':').slice(2).join('-');
  await writeFile(opts.out, await kubeconfigYaml({ name: opts.name, server: api.url, caCertFile: p.caCert, token, user: `podwire-${opts.name}-${user}` }), { mode: 0o600 });
  return { grant, out: opts.out };
}
