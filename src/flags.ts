// Command-line flags declared as data: one table per command gives both the
// parser and the help text, so the two cannot drift apart. Pure; below every
// layer (like errors.ts), since `run`'s table lives with its options in
// conformance/ and the CLI assembles the commands.
//
// Parsing is node:util's parseArgs (built in, strict); this adds what it
// lacks: a single-value flag given twice is an error instead of "the last
// one wins", and every error is one line naming the command.
import { parseArgs } from 'node:util';
import { UsageError } from './errors.js';

export interface FlagSpec {
  name: string;
  /** The value's placeholder in help (`N`, `PATH`); absent for a boolean flag. */
  value?: string;
  /** May be given more than once (values collected in order). */
  repeatable?: boolean;
  /** The default, as help shows it. */
  default?: string;
  help: string;
}

export interface CommandSpec {
  /** `lab up`, `run`: the words after `podwire`. */
  path: string;
  summary: string;
  /** Positional arguments as help shows them (`FILE...`), and how many are allowed. */
  args?: { synopsis: string; min: number; max: number; what: string };
  flags: FlagSpec[];
  /** Paragraphs after the flags: notes, examples. */
  notes?: string[];
}

export interface ParsedFlags {
  positionals: string[];
  string(name: string): string | undefined;
  list(name: string): string[];
  bool(name: string): boolean;
}

/** True when argv asks for help (`--help` or `-h` before a `--`). */
export function wantsHelp(argv: string[]): boolean {
  for (const a of argv) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
}

const flagList = (spec: CommandSpec) => spec.flags.map((f) => `--${f.name}`).join(', ');

export function parseFlags(spec: CommandSpec, argv: string[]): ParsedFlags {
  const cmd = `podwire ${spec.path}`;
  const options = Object.fromEntries(spec.flags.map((f) => [f.name, f.value ? { type: 'string' as const, multiple: true } : { type: 'boolean' as const }]));
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: true, tokens: true });
  } catch (err) {
    const e = err as { code?: string; message: string };
    const quoted = /'([^']+)'/.exec(e.message)?.[1] ?? '?';
    if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      throw new UsageError(`unknown flag \`${quoted}\` for \`${cmd}\` (valid: ${flagList(spec) || 'none'}; see \`${cmd} --help\`)`);
    }
    if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      const flag = quoted.split(' ')[0]!;
      const f = spec.flags.find((x) => `--${x.name}` === flag);
      if (f && !f.value) throw new UsageError(`flag \`${flag}\` of \`${cmd}\` takes no value`);
      throw new UsageError(`flag \`${flag}\` of \`${cmd}\` needs a value (write ${flag}=VALUE for a value starting with -)`);
    }
    throw new UsageError(`${e.message.split('\n')[0]} (\`${cmd}\`)`);
  }
  // A single-value flag given twice is a mistake to point out, not a choice to make silently.
  const seen = new Map<string, string[]>();
  for (const t of parsed.tokens ?? []) {
    if (t.kind !== 'option') continue;
    seen.set(t.name, [...(seen.get(t.name) ?? []), t.value ?? '']);
  }
  for (const f of spec.flags) {
    const given = seen.get(f.name) ?? [];
    if (given.length > 1 && !f.repeatable) {
      throw new UsageError(f.value
        ? `flag \`--${f.name}\` of \`${cmd}\` takes one value, got ${given.length}: ${given.map((v) => `\`${v}\``).join(', ')}`
        : `flag \`--${f.name}\` of \`${cmd}\` is given ${given.length} times`);
    }
  }
  const { positionals } = parsed;
  const a = spec.args ?? { synopsis: '', min: 0, max: 0, what: '' };
  if (positionals.length > a.max || positionals.length < a.min) {
    if (a.max === 0) throw new UsageError(`unexpected argument \`${positionals[0]}\` for \`${cmd}\``);
    const n = (k: number) => ['no', 'one', 'two', 'three'][k] ?? String(k);
    const want = a.min === a.max ? n(a.min) : a.max === Infinity ? `at least ${n(a.min)}` : `${n(a.min)} to ${n(a.max)}`;
    throw new UsageError(`expected ${want} ${a.what} for \`${cmd} ${a.synopsis}\`, got ${positionals.length}`);
  }
  const values = parsed.values as Record<string, string[] | boolean | undefined>;
  const known = (name: string, value: boolean) => {
    const f = spec.flags.find((x) => x.name === name);
    if (!f || !!f.value !== value) throw new Error(`${cmd} has no ${value ? 'value' : 'boolean'} flag --${name}`);
  };
  return {
    positionals,
    string: (name) => (known(name, true), (values[name] as string[] | undefined)?.[0]),
    list: (name) => (known(name, true), (values[name] as string[] | undefined) ?? []),
    bool: (name) => (known(name, false), values[name] === true),
  };
}

/** `--name NAME` as a synopsis item. */
const synopsisItem = (f: FlagSpec) => `[--${f.name}${f.value ? ` ${f.value}` : ''}]${f.repeatable ? '...' : ''}`;

export function usageLine(spec: CommandSpec): string {
  return ['podwire', spec.path, ...(spec.flags.length ? ['[flags]'] : []), ...(spec.args ? [spec.args.synopsis] : [])].join(' ');
}

/** The one-line synopsis with every flag, wrapped under the command at `width`. */
export function synopsis(spec: CommandSpec, width = 100): string {
  const head = `podwire ${spec.path}`;
  const items = [...(spec.args ? [spec.args.synopsis] : []), ...spec.flags.map(synopsisItem)];
  const lines: string[] = [];
  let line = head;
  for (const it of items) {
    if (line.length + 1 + it.length > width && line.trim() !== head) {
      lines.push(line);
      line = ' '.repeat(head.length) + ' ' + it;
    } else line += ` ${it}`;
  }
  lines.push(line);
  return lines.join('\n');
}

/** Help for one command: usage, summary, each flag with its default, notes. */
export function commandHelp(spec: CommandSpec, width = 100): string {
  const rows = [...spec.flags.map((f) => ({ left: `--${f.name}${f.value ? ` ${f.value}` : ''}`, f })), { left: '-h, --help', f: { name: 'help', help: 'show this help' } as FlagSpec }];
  const w = Math.min(28, Math.max(...rows.map((r) => r.left.length)));
  const out = [`Usage: ${synopsis(spec, width - 7).split('\n').join('\n       ')}`, '', ...wrap(spec.summary, width), '', 'Flags:'];
  for (const { left, f } of rows) {
    const extra = [f.repeatable ? 'repeatable' : '', f.default !== undefined ? `default: ${f.default}` : ''].filter(Boolean).join('; ');
    const text = `${f.help}${extra ? ` (${extra})` : ''}`;
    const pad = left.length > w ? `\n${' '.repeat(w + 4)}` : ' '.repeat(w - left.length + 2);
    out.push(`  ${left}${pad}${wrap(text, width - w - 4).join(`\n${' '.repeat(w + 4)}`)}`);
  }
  // A note's lines that start with spaces (examples) are kept as they are; the others are wrapped.
  for (const n of spec.notes ?? []) out.push('', ...n.split('\n').flatMap((l) => (l.startsWith(' ') ? [l] : wrap(l, width))));
  return out.join('\n');
}

/** Words of `text` in lines of at most `width` characters (a longer word gets a line of its own). */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/ +/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line || !lines.length) lines.push(line);
  return lines;
}
