// Label and field selectors as the Kubernetes API parses them. Pure.
import { errors } from './status.js';

export type LabelRequirement =
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | '!exists' };

const KEY = /^[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?$/;

/** Splits on commas that are not inside a `( … )` set. */
function splitTerms(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((t) => t.trim()).filter(Boolean);
}

function checkKey(key: string, selector: string): string {
  if (!KEY.test(key)) throw errors.badRequest(`unable to parse requirement: invalid label key "${key}" in selector "${selector}"`);
  return key;
}

export function parseLabelSelector(selector: string | undefined | null): LabelRequirement[] {
  if (!selector) return [];
  return splitTerms(selector).map((term): LabelRequirement => {
    let m = /^(\S+?)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
    if (m) {
      const values = m[3]!.split(',').map((v) => v.trim()).filter(Boolean);
      return { key: checkKey(m[1]!, selector), op: m[2] as 'in' | 'notin', values };
    }
    m = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(term);
    if (m) {
      const key = checkKey(m[1]!, selector);
      return { key, op: m[2] === '!=' ? 'notin' : 'in', values: [m[3]!] };
    }
    m = /^(!?)([^=!\s()]+)$/.exec(term);
    if (m) return { key: checkKey(m[2]!, selector), op: m[1] ? '!exists' : 'exists' };
    throw errors.badRequest(`unable to parse requirement: "${term}" in selector "${selector}"`);
  });
}

export function matchesLabels(reqs: readonly LabelRequirement[], labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  return reqs.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    switch (r.op) {
      case 'exists':
        return has;
      case '!exists':
        return !has;
      case 'in':
        return has && r.values.includes(l[r.key]!);
      case 'notin':
        return !has || !r.values.includes(l[r.key]!);
    }
  });
}

export interface FieldRequirement {
  field: string;
  equal: boolean;
  value: string;
}

export function parseFieldSelector(selector: string | undefined | null, supported: readonly string[], kind: string): FieldRequirement[] {
  if (!selector) return [];
  return splitTerms(selector).map((term) => {
    const m = /^([^=!\s]+)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!m) throw errors.badRequest(`invalid selector: '${selector}'; can't understand '${term}'`);
    if (!supported.includes(m[1]!)) {
      throw errors.badRequest(`field label not supported: ${m[1]} (for ${kind}; supported: ${supported.join(', ')})`);
    }
    return { field: m[1]!, equal: m[2] !== '!=', value: m[3]!.trim() };
  });
}

export function matchesFields(reqs: readonly FieldRequirement[], get: (field: string) => string | undefined): boolean {
  return reqs.every((r) => ((get(r.field) ?? '') === r.value) === r.equal);
}
