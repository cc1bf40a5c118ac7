// Entry of the lab's API server process, started detached by `lab up`:
// `node main.js <stateDir>`. Listens on 127.0.0.1 (an ephemeral port) and
// announces itself by writing api.json.
import { appendFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Cluster } from './cluster.js';
import { createApiServer } from './http.js';
import { LabRuntime } from '../runtime.js';
import { ensureDir, paths, readLabState, writeJsonAtomic } from '../state.js';

async function main(): Promise<void> {
  const stateDir = process.argv[2];
  if (!stateDir) throw new Error('usage: main.js <stateDir>');
  const p = paths(stateDir);
  const log = (line: string) => appendFileSync(p.serverLog, `${new Date().toISOString()} ${line}\n`);
  const lab = await readLabState(stateDir);
  if (!lab) throw new Error(`no lab state in ${stateDir}`);
  await ensureDir(p.podLogs);
  process.on('uncaughtException', (err) => log(`uncaught: ${err.stack ?? err}`));
  process.on('unhandledRejection', (err) => log(`unhandled rejection: ${(err as Error)?.stack ?? err}`));

  const runtime = new LabRuntime(lab);
  const cluster = new Cluster(lab, runtime);
  const server = createApiServer({
    cluster,
    runtime,
    token: lab.token,
    tokensDir: p.tokens,
    key: await readFile(p.serverKey),
    cert: await readFile(p.serverCert),
    log,
  });
  // Pods' processes and netns are not torn down here: `lab down` removes
  // everything of the lab by netns, whether this process is alive or not.
  const stop = (sig: string) => {
    log(`${sig}: exiting`);
    process.exit(0);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  server.listen(0, '127.0.0.1', () => {
    const addr = server.address();
    const port = typeof addr === 'object' && addr ? addr.port : 0;
    log(`listening on https://127.0.0.1:${port} (pid ${process.pid})`);
    void writeJsonAtomic(p.api, { pid: process.pid, port, url: `https://127.0.0.1:${port}` });
  });
}

main().catch((err) => {
  console.error(`podwire lab apiserver: ${err instanceof Error ? err.message : err}`);
  process.exit(1);
});
