// Writing and reading a run bundle directory:
//   run.json  api.json  probes.json  flows.json  captures/index.json  captures/<probe>.pcap
// Reading checks what it reads, so a damaged or foreign directory is one clear error.
import { createHash } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { BUNDLE_API_VERSION, type ApiSnapshot, type CaptureMeta, type FlowsDoc, type ProbesDoc, type RunBundle, type RunMeta } from './model.js';

const json = (v: unknown) => JSON.stringify(v, null, 2) + '\n';

export async function writeBundle(dir: string, b: RunBundle): Promise<void> {
  await mkdir(join(dir, 'captures'), { recursive: true });
  await Promise.all([
    writeFile(join(dir, 'run.json'), json(b.run)),
    writeFile(join(dir, 'api.json'), json(b.api)),
    writeFile(join(dir, 'probes.json'), json(b.probes)),
    writeFile(join(dir, 'flows.json'), json(b.flows)),
    writeFile(join(dir, 'captures', 'index.json'), json(b.captures.map(({ data: _data, ...meta }) => meta))),
    ...b.captures.map((c) => writeFile(join(dir, 'captures', c.file), c.data)),
  ]);
}

async function readJson<T>(dir: string, file: string): Promise<T> {
  const path = join(dir, file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new UsageError(`\`${dir}\` is not a run bundle: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new UsageError(`bundle file \`${path}\` is not valid JSON: ${(err as Error).message}`);
  }
}

const isList = (v: unknown, kind: string) => !!v && typeof v === 'object' && Array.isArray((v as { items?: unknown }).items) && (v as { kind?: unknown }).kind === kind;

export async function readBundle(dir: string): Promise<RunBundle> {
  const st = await stat(dir).catch(() => undefined);
  if (!st?.isDirectory()) throw new UsageError(`expected a run bundle directory, got \`${dir}\` (${st ? 'not a directory' : 'no such directory'})`);
  const run = await readJson<RunMeta>(dir, 'run.json');
  if (run?.apiVersion !== BUNDLE_API_VERSION || run.kind !== 'RunBundle') {
    throw new UsageError(`\`${join(dir, 'run.json')}\` is not a ${BUNDLE_API_VERSION} RunBundle (apiVersion ${JSON.stringify(run?.apiVersion)}, kind ${JSON.stringify(run?.kind)})`);
  }
  const api = await readJson<ApiSnapshot>(dir, 'api.json');
  if (!isList(api?.nodes, 'NodeList') || !isList(api?.pods, 'PodList')) throw new UsageError(`bundle file \`${join(dir, 'api.json')}\` needs a NodeList under "nodes" and a PodList under "pods"`);
  const probes = await readJson<ProbesDoc>(dir, 'probes.json');
  const flows = await readJson<FlowsDoc>(dir, 'flows.json');
  if (!Array.isArray(probes?.probes) || !Array.isArray(probes.coverage) || !Array.isArray(flows?.flows) || !Array.isArray(flows.sent)) {
    throw new UsageError(`bundle \`${dir}\`: probes.json or flows.json lacks its lists (probes, coverage, flows, sent)`);
  }
  const index = await readJson<CaptureMeta[]>(dir, join('captures', 'index.json'));
  if (!Array.isArray(index)) throw new UsageError(`bundle file \`${join(dir, 'captures', 'index.json')}\` is not a list of captures`);
  const captures = await Promise.all(index.map(async (meta) => {
    if (typeof meta?.file !== 'string' || meta.file.includes('/') || meta.file.startsWith('.')) throw new UsageError(`bundle \`${dir}\`: capture entry with a bad file name ${JSON.stringify(meta?.file)}`);
    const data = await readFile(join(dir, 'captures', meta.file)).catch((err: NodeJS.ErrnoException) => {
      throw new UsageError(`bundle \`${dir}\`: capture ${meta.file} cannot be read (${err.code ?? err.message})`);
    });
    // An edited capture is fine (fixtures are edited); record what is there now.
    return { ...meta, bytes: data.length, sha256: createHash('sha256').update(data).digest('hex'), data };
  }));
  return { run, api, probes, flows, captures };
}
