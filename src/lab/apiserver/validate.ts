// Type checks of the object fields the lab reads, as the API server's
// decoding and validation would refuse them: a pod or namespace with a
// field of the wrong type is a 400/422 Status, never an object the lab
// stores and later trips over. Pure.
import { errors } from './status.js';

type Kind = 'Pod' | 'Namespace';

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/** Checks `meta` (metadata) of any object: name, generateName, namespace, labels, annotations. */
export function checkMeta(kind: Kind, meta: unknown): void {
  if (meta === undefined) return;
  if (!isObject(meta)) throw errors.badRequest(`${kind}.metadata: expected an object, got ${JSON.stringify(meta)}`);
  const name = typeof meta.name === 'string' ? meta.name : '';
  for (const f of ['name', 'generateName', 'namespace'] as const) {
    if (meta[f] !== undefined && typeof meta[f] !== 'string') throw errors.badRequest(`${kind}.metadata.${f}: expected a string, got ${JSON.stringify(meta[f])}`);
  }
  for (const f of ['labels', 'annotations'] as const) stringMap(kind, name, `metadata.${f}`, meta[f]);
}

function stringMap(kind: Kind, name: string, field: string, v: unknown): void {
  if (v === undefined) return;
  if (!isObject(v)) throw errors.invalid(kind, name, field, `must be a map of strings, got ${JSON.stringify(v)}`);
  for (const [k, x] of Object.entries(v)) if (typeof x !== 'string') throw errors.invalid(kind, name, `${field}.${k}`, `must be a string, got ${JSON.stringify(x)}`);
}

/** Checks the pod spec fields the lab reads; the rest of a spec is kept as sent. */
export function checkPodSpec(name: string, spec: unknown): void {
  const bad = (field: string, why: string) => errors.invalid('Pod', name, field, why);
  if (!isObject(spec)) throw bad('spec', 'Required value');
  const str = (field: string, v: unknown) => {
    if (v !== undefined && typeof v !== 'string') throw bad(field, `must be a string, got ${JSON.stringify(v)}`);
  };
  const int = (field: string, v: unknown, min: number, max: number) => {
    if (v !== undefined && !(Number.isInteger(v) && (v as number) >= min && (v as number) <= max)) throw bad(field, `must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  };
  const list = (field: string, v: unknown): unknown[] => {
    if (v === undefined) return [];
    if (!Array.isArray(v)) throw bad(field, `must be a list, got ${JSON.stringify(v)}`);
    return v;
  };
  str('spec.nodeName', spec.nodeName);
  str('spec.dnsPolicy', spec.dnsPolicy);
  stringMap('Pod', name, 'spec.nodeSelector', spec.nodeSelector);
  if (spec.hostNetwork !== undefined && typeof spec.hostNetwork !== 'boolean') throw bad('spec.hostNetwork', `must be a boolean, got ${JSON.stringify(spec.hostNetwork)}`);
  if (spec.restartPolicy !== undefined && !['Always', 'OnFailure', 'Never'].includes(spec.restartPolicy as string)) {
    throw bad('spec.restartPolicy', `Unsupported value: ${JSON.stringify(spec.restartPolicy)}: supported values: "Always", "OnFailure", "Never"`);
  }
  int('spec.terminationGracePeriodSeconds', spec.terminationGracePeriodSeconds, 0, 2 ** 31 - 1);
  list('spec.tolerations', spec.tolerations);
  const containers = list('spec.containers', spec.containers);
  if (containers.length === 0) throw bad('spec.containers', 'Required value');
  containers.forEach((c, i) => {
    const at = `spec.containers[${i}]`;
    if (!isObject(c)) throw bad(at, `must be an object, got ${JSON.stringify(c)}`);
    for (const f of ['name', 'image', 'workingDir'] as const) str(`${at}.${f}`, c[f]);
    for (const f of ['command', 'args'] as const) {
      if (list(`${at}.${f}`, c[f]).some((x) => typeof x !== 'string')) throw bad(`${at}.${f}`, 'must be a list of strings');
    }
    list(`${at}.env`, c.env).forEach((e, j) => {
      if (!isObject(e)) throw bad(`${at}.env[${j}]`, `must be an object, got ${JSON.stringify(e)}`);
      if (typeof e.name !== 'string' || !e.name) throw bad(`${at}.env[${j}].name`, 'Required value');
      str(`${at}.env[${j}].value`, e.value);
      if (e.valueFrom !== undefined) {
        const ref = isObject(e.valueFrom) ? e.valueFrom.fieldRef : undefined;
        if (!isObject(e.valueFrom) || (ref !== undefined && !(isObject(ref) && typeof ref.fieldPath === 'string'))) throw bad(`${at}.env[${j}].valueFrom`, 'must be an object with fieldRef.fieldPath');
      }
    });
    list(`${at}.ports`, c.ports).forEach((p, j) => {
      if (!isObject(p)) throw bad(`${at}.ports[${j}]`, `must be an object, got ${JSON.stringify(p)}`);
      int(`${at}.ports[${j}].containerPort`, p.containerPort ?? 0, 1, 65535);
      int(`${at}.ports[${j}].hostPort`, p.hostPort, 0, 65535);
      str(`${at}.ports[${j}].protocol`, p.protocol);
      str(`${at}.ports[${j}].hostIP`, p.hostIP);
    });
    if (c.securityContext !== undefined && !isObject(c.securityContext)) throw bad(`${at}.securityContext`, 'must be an object');
  });
}
