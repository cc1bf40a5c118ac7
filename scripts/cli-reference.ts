// The README's command reference, generated from the flag tables the parser
// and `podwire help` read (src/cli/commands.ts), so the three cannot drift.
import { COMMANDS } from '../src/cli/commands.js';
import { synopsis } from '../src/flags.js';

export const CLI_BEGIN = '<!-- cli:begin — generated from src/cli/commands.ts by `npm run docs`; edit the flag tables, not this text -->';
export const CLI_END = '<!-- cli:end -->';

const cell = (s: string) => s.replace(/\|/g, '\\|');

export function cliReferenceMarkdown(): string {
  const out: string[] = [];
  for (const c of COMMANDS) {
    out.push(`**\`podwire ${c.path}\`** — ${c.summary}`, '', '```', synopsis(c, 100), '```', '');
    if (c.flags.length) {
      out.push('| flag | default | meaning |', '|---|---|---|');
      for (const f of c.flags) out.push(`| \`--${f.name}${f.value ? ` ${cell(f.value)}` : ''}\`${f.repeatable ? ' (repeatable)' : ''} | ${f.default !== undefined ? cell(f.default) : ''} | ${cell(f.help)} |`);
      out.push('');
    }
    for (const n of c.notes ?? []) out.push(n, '');
  }
  return out.join('\n').trimEnd();
}

export function withCliReference(readme: string): string {
  const a = readme.indexOf(CLI_BEGIN);
  const b = readme.indexOf(CLI_END);
  if (a < 0 || b < a) throw new Error(`README.md lacks the cli markers (${CLI_BEGIN} … ${CLI_END})`);
  return `${readme.slice(0, a + CLI_BEGIN.length)}\n${cliReferenceMarkdown()}\n${readme.slice(b)}`;
}
