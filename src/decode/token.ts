// Flow tokens: `podwire/<run>/<flow>` in a payload, which identify a flow's
// packets in every capture whatever NAT did to their headers.

export const TOKEN_PREFIX = 'podwire/';
const PREFIX = Buffer.from(TOKEN_PREFIX);
const RUN_CHARS = /^[A-Za-z0-9-]+$/;
const FLOW_CHARS = /^[A-Za-z0-9._-]+$/;
const MAX_TOKEN = 128;

export function makeToken(run: string, flow: string): string {
  if (!RUN_CHARS.test(run)) throw new Error(`run id \`${run}\` may only hold letters, digits and '-'`);
  if (!FLOW_CHARS.test(flow)) throw new Error(`flow id \`${flow}\` may only hold letters, digits, '.', '_' and '-'`);
  return `${TOKEN_PREFIX}${run}/${flow}`;
}

function isRunByte(b: number): boolean {
  return (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x2d;
}

function isFlowByte(b: number): boolean {
  return isRunByte(b) || b === 0x2e || b === 0x5f;
}

/** Where `podwire/` starts in `buf[from, end)`: a byte scan for short payloads, native search for long ones. */
function indexOfPrefix(buf: Buffer, from: number, end: number): number {
  if (end - from > 256) {
    const at = buf.indexOf(PREFIX, from);
    return at >= 0 && at < end ? at : -1;
  }
  const last = end - PREFIX.length;
  outer: for (let i = from; i <= last; i++) {
    if (buf[i] !== 0x70) continue;
    for (let k = 1; k < PREFIX.length; k++) if (buf[i + k] !== PREFIX[k]) continue outer;
    return i;
  }
  return -1;
}

/** The first token in `buf[start, end)`, or undefined. */
export function findToken(buf: Buffer, start = 0, end = buf.length): string | undefined {
  let from = start;
  while (from < end) {
    const at = indexOfPrefix(buf, from, end);
    if (at < 0 || at + PREFIX.length >= end) return undefined;
    let p = at + PREFIX.length;
    const limit = Math.min(end, at + MAX_TOKEN);
    const runStart = p;
    while (p < limit && isRunByte(buf[p]!)) p++;
    if (p > runStart && p < limit && buf[p] === 0x2f) {
      const flowStart = ++p;
      while (p < limit && isFlowByte(buf[p]!)) p++;
      if (p > flowStart) return buf.toString('latin1', at, p);
    }
    from = at + 1;
  }
  return undefined;
}

export function parseToken(token: string): { run: string; flow: string } | undefined {
  const m = /^podwire\/([A-Za-z0-9-]+)\/([A-Za-z0-9._-]+)$/.exec(token);
  return m ? { run: m[1]!, flow: m[2]! } : undefined;
}
