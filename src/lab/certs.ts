// A throwaway CA and serving certificate for the lab's API server (openssl CLI),
// and the kubeconfig that trusts it.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './sh.js';
import { ensureDir } from './state.js';

export interface LabPki {
  caCert: string;
  serverCert: string;
  serverKey: string;
}

export async function generatePki(dir: string, commonName: string): Promise<LabPki> {
  await ensureDir(dir);
  const f = (n: string) => join(dir, n);
  await writeFile(
    f('server.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n',
  );
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run('openssl', ['req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '30',
    '-subj', `/CN=${commonName}-ca`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  await run('openssl', ['req', ...ec, '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', `/CN=${commonName}-apiserver`]);
  await run('openssl', ['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial',
    '-out', f('server.crt'), '-days', '30', '-extfile', f('server.ext')]);
  return { caCert: f('ca.crt'), serverCert: f('server.crt'), serverKey: f('server.key') };
}

/** `user`: the kubeconfig's user entry (default `podwire-NAME-admin`). */
export async function kubeconfigYaml(opts: { name: string; server: string; caCertFile: string; token: string; user?: string }): Promise<string> {
  const ca = (await readFile(opts.caCertFile)).toString('base64');
  const cluster = `podwire-${opts.name}`;
  const user = opts.user ?? `${cluster}-admin`;
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${cluster}`,
    '  cluster:',
    `    server: ${opts.server}`,
    `    certificate-authority-data: ${ca}`,
    'contexts:',
    `- name: ${cluster}`,
    '  context:',
    `    cluster: ${cluster}`,
    `    user: ${user}`,
    '    namespace: default',
    `current-context: ${cluster}`,
    'preferences: {}',
    'users:',
    `- name: ${user}`,
    '  user:',
    `    token: ${opts.token}`,
    '',
  ].join('\n');
}
