// SIGINT/SIGTERM handling for commands that create things: run the cleanup
// once, then exit 130 (SIGINT) or 143 (SIGTERM). Further signals are ignored
// while cleaning up, so a second Ctrl-C cannot leave half a lab behind.
let interrupted = false;

/** True once an interrupt started cleaning up: later errors of the abandoned work are noise. */
export const wasInterrupted = () => interrupted;

let beforeNotice: () => void = () => undefined;

/** Called before the "cleaning up" line, e.g. to finish a progress line it would otherwise be written into. */
export function setBeforeInterruptNotice(fn: () => void): void {
  beforeNotice = fn;
}

export function onInterrupt(cleanup: () => Promise<void>): () => void {
  let running = false;
  const handler = (sig: NodeJS.Signals) => {
    if (running) return;
    running = true;
    interrupted = true;
    beforeNotice();
    process.stderr.write(`podwire: ${sig}: cleaning up\n`);
    void cleanup()
      .catch((err: unknown) => process.stderr.write(`podwire: cleanup failed: ${(err as Error).message}\n`))
      .finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
