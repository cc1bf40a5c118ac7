// Controlling tcpdump inside a pod through pods/exec. A capture is started
// detached (an exec stream closing does not end a remote process, so the
// capture is stopped explicitly, by its PID), confirmed listening before any
// traffic is sent, and its pcap is brought back verified against the length
// and sha256 computed in the pod (exec can truncate binary output).
import { createHash, randomBytes } from 'node:crypto';
import type { KubeConfig } from '@kubernetes/client-node';
import { execInPod, type ExecTarget } from '../kube/exec.js';
import { captureComplete, type CaptureStats } from '../bundle/model.js';

export interface CaptureSpec {
  /** Interface in the pod's netns (`eth0`; a hostNetwork pod's `eth0` is the node uplink). */
  iface: string;
  /** BPF filter; empty captures everything. */
  filter?: string;
  /** Bytes kept per packet (default 2048: every header and the token). */
  snaplen?: number;
  /** Kernel capture buffer (tcpdump -B), KiB; bursts beyond it are dropped by the kernel. */
  bufferKiB?: number;
  /** Directory in the pod for the capture files. */
  dir?: string;
  /** Stop after this many packets (tcpdump -c): bounds what a busy node's capture costs. */
  maxPackets?: number;
}

export { captureComplete, type CaptureStats };

export interface RetrievedCapture {
  bytes: Buffer;
  sha256: string;
  stats: CaptureStats;
}

export class CaptureError extends Error {}

const LISTEN_TIMEOUT_S = 10;
// In immediate mode libpcap's ring (TPACKET_V2) gives every packet a slot
// sized for the largest frame the interface can deliver (~64 KiB with GRO on
// veth), unless the snaplen is smaller. Headers and a token fit in 2 KiB, so
// the default ring holds ~4000 packets; full-payload captures of bursts need
// a bigger -B (measured: 20 MB of TCP at 64 MiB dropped up to half).
export const DEFAULT_SNAPLEN = 2048;
const DEFAULT_BUFFER_KIB = 8192;
/** The file must stay the same size for QUIET_POLLS x 50 ms before the stop (at most MAX_SETTLE_POLLS x 50 ms). */
const QUIET_POLLS = 4;
const MAX_SETTLE_POLLS = 200;
const RETRIEVE_ATTEMPTS = 3;

/** Single-quotes a string for sh. */
export function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export function parseTcpdumpStats(log: string): CaptureStats {
  const n = (re: RegExp) => {
    const m = re.exec(log);
    return m ? Number(m[1]) : undefined;
  };
  const stats: CaptureStats = {};
  const captured = n(/(\d+) packets? captured/);
  const received = n(/(\d+) packets? received by filter/);
  const dropped = n(/(\d+) packets? dropped by kernel/);
  if (captured !== undefined) stats.captured = captured;
  if (received !== undefined) stats.receivedByFilter = received;
  if (dropped !== undefined) stats.droppedByKernel = dropped;
  return stats;
}

export class PodCapture {
  readonly id: string;
  readonly base: string;
  private started = false;
  private stopped = false;

  constructor(
    private readonly kc: KubeConfig,
    readonly target: ExecTarget,
    readonly spec: CaptureSpec,
  ) {
    this.id = randomBytes(6).toString('hex');
    this.base = `${spec.dir ?? '/tmp'}/podwire-cap-${this.id}`;
  }

  private sh(script: string, timeoutMs = 60_000) {
    return execInPod(this.kc, this.target, ['sh', '-c', script], { timeoutMs });
  }

  get where(): string {
    return `${this.target.namespace}/${this.target.pod} ${this.spec.iface}`;
  }

  /** Starts tcpdump and resolves once it reports `listening on`. */
  async start(): Promise<void> {
    const b = this.base;
    const filter = this.spec.filter ? ` ${shQuote(this.spec.filter)}` : '';
    const cap = this.spec.maxPackets ? ` -c ${this.spec.maxPackets}` : '';
    // --immediate-mode: libpcap hands packets over as they arrive, not in ring-buffer blocks
    // (a stop would drop a pending block); -U: each packet is written at once.
    const script = [
      `tcpdump -i ${shQuote(this.spec.iface)} -n --immediate-mode -U -B ${this.spec.bufferKiB ?? DEFAULT_BUFFER_KIB} -s ${this.spec.snaplen ?? DEFAULT_SNAPLEN}${cap} -w ${b}.pcap${filter} </dev/null >${b}.log 2>&1 &`,
      `echo $! > ${b}.pid`,
      `i=0; while ! grep -q 'listening on' ${b}.log 2>/dev/null; do`,
      `  if ! kill -0 $(cat ${b}.pid) 2>/dev/null; then cat ${b}.log >&2; exit 3; fi`,
      `  i=$((i+1)); [ $i -gt ${LISTEN_TIMEOUT_S * 20} ] && { echo 'tcpdump did not start listening in ${LISTEN_TIMEOUT_S} s' >&2; kill $(cat ${b}.pid); exit 4; }`,
      '  sleep 0.05',
      'done',
    ].join('\n');
    const r = await this.sh(script);
    if (r.exitCode !== 0) {
      throw new CaptureError(`tcpdump in ${this.where} failed to start: ${r.stderr.toString().trim().split('\n').slice(-2).join(' | ') || `exit ${r.exitCode}`}`);
    }
    this.started = true;
  }

  /**
   * Stops tcpdump by its PID once the capture file has stopped growing (the
   * traffic has drained), and waits until it has exited. SIGINT makes it
   * write its statistics.
   */
  async stop(): Promise<CaptureStats> {
    if (!this.started || this.stopped) return {};
    const b = this.base;
    const script = [
      `pid=$(cat ${b}.pid)`,
      `last=-1; quiet=0; i=0`,
      `while [ $quiet -lt ${QUIET_POLLS} ] && [ $i -lt ${MAX_SETTLE_POLLS} ]; do`,
      `  size=$(wc -c < ${b}.pcap); if [ "$size" = "$last" ]; then quiet=$((quiet+1)); else quiet=0; last=$size; fi`,
      '  i=$((i+1)); sleep 0.05',
      'done',
      'kill -INT "$pid" 2>/dev/null',
      'i=0; while kill -0 "$pid" 2>/dev/null; do i=$((i+1)); [ $i -gt 100 ] && kill -KILL "$pid"; sleep 0.05; done',
      `cat ${b}.log`,
    ].join('\n');
    const r = await this.sh(script);
    this.stopped = true;
    return parseTcpdumpStats(r.stdout.toString());
  }

  /** Brings the pcap back, verified by length and sha256 computed in the pod; retries a damaged transfer. */
  async retrieve(): Promise<RetrievedCapture> {
    const b = this.base;
    const stats = await this.stop();
    const meta = await this.sh(`wc -c < ${b}.pcap && sha256sum ${b}.pcap`);
    if (meta.exitCode !== 0) throw new CaptureError(`capture file in ${this.where} is missing: ${meta.stderr.toString().trim()}`);
    const [sizeLine, sumLine] = meta.stdout.toString().trim().split('\n');
    const size = Number(sizeLine);
    const sha256 = sumLine?.split(/\s+/)[0] ?? '';
    for (let attempt = 1; attempt <= RETRIEVE_ATTEMPTS; attempt++) {
      const r = await this.sh(`cat ${b}.pcap`, 300_000);
      const got = createHash('sha256').update(r.stdout).digest('hex');
      if (r.exitCode === 0 && r.stdout.length === size && got === sha256) return { bytes: r.stdout, sha256, stats };
    }
    throw new CaptureError(`capture from ${this.where} did not arrive intact after ${RETRIEVE_ATTEMPTS} attempts (expected ${size} bytes, sha256 ${sha256})`);
  }

  /** Removes the capture's files from the pod (and ends tcpdump if it still runs). */
  async cleanup(): Promise<void> {
    const b = this.base;
    // Only a capture that was never stopped may still run; a stopped one's PID may belong to someone else by now.
    const kill = this.started && !this.stopped ? `kill -KILL $(cat ${b}.pid) 2>/dev/null; ` : '';
    await this.sh(`${kill}rm -f ${b}.pcap ${b}.log ${b}.pid; true`).catch(() => undefined);
    this.stopped = true;
  }
}
