// Progress of long phases on stderr (deploy, send, retrieve): counts and
// elapsed time. On a terminal the phase's line updates in place (and log
// lines are printed above it); elsewhere (CI logs) a phase prints one line,
// when it ends, so logs do not fill with counters.

export interface ProgressOut {
  write(s: string): unknown;
  isTTY?: boolean;
}

export interface PhaseHandle {
  update(done: number): void;
  end(): void;
}

const CLEAR = '\r\x1b[K';

export class Progress {
  private active: { what: string; total: number; done: number; t0: number; timer?: NodeJS.Timeout } | undefined;

  constructor(private readonly out: ProgressOut, private readonly now: () => number = () => performance.now(), private readonly tickMs = 1000) {}

  private line(): string {
    const a = this.active!;
    return `podwire: ${a.what} ${a.done}/${a.total} (${((this.now() - a.t0) / 1000).toFixed(1)} s)`;
  }

  private draw(): void {
    if (this.active && this.out.isTTY) this.out.write(`${CLEAR}${this.line()}`);
  }

  /** A line of its own (above the phase's line on a terminal). */
  log(line: string): void {
    if (this.active && this.out.isTTY) this.out.write(CLEAR);
    this.out.write(`podwire: ${line}\n`);
    this.draw();
  }

  /** Starts a phase of `total` steps; a phase still running ends first. */
  phase(what: string, total: number): PhaseHandle {
    this.end();
    const a = { what, total, done: 0, t0: this.now() } as NonNullable<Progress['active']>;
    this.active = a;
    // The elapsed time moves on a terminal even while the count does not.
    if (this.out.isTTY && this.tickMs > 0) {
      a.timer = setInterval(() => this.draw(), this.tickMs);
      a.timer.unref();
    }
    this.draw();
    return {
      update: (done) => {
        if (this.active !== a) return;
        a.done = done;
        this.draw();
      },
      end: () => {
        if (this.active === a) this.end();
      },
    };
  }

  /** Ends the running phase, if any, with its final count (and `note`, e.g. why it stopped short). */
  end(note?: string): void {
    const a = this.active;
    if (!a) return;
    clearInterval(a.timer);
    const line = note ? `${this.line()} ${note}` : this.line();
    this.out.write(this.out.isTTY ? `${CLEAR}${line}\n` : `${line}\n`);
    this.active = undefined;
  }
}
