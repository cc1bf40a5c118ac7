// A pod's holder, the lab's pause container: one process per pod that owns
// the pod's PID, mount, UTS and IPC namespaces (and sits in its network
// namespace, the pod's own or, for hostNetwork pods, the node's). It is PID 1
// of the pod: containers and exec'd processes join its namespaces (nsenter),
// orphans are reparented to it and reaped, and when it dies the kernel kills
// every process left in the pod. Its mount namespace has a private /tmp and
// /run (tmpfs) and /proc for its PID namespace, so `ps` in a pod lists only the
// pod's processes and files a pod writes there go away with it.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { InfraError } from '../errors.js';
import { pidAlive, waitGone } from './topology.js';

/**
 * PID 1 of the pod: sets the hostname, then reaps children until it is told
 * to stop. Signals are blocked and taken by sigwait, so no SIGCHLD is lost
 * between two reaps (and a blocked SIGTERM from the node is not dropped, as an
 * unhandled one sent to a namespace's init would be).
 */
const INIT = `
import os, signal, socket, sys
socket.sethostname(sys.argv[1])
sigs = {signal.SIGCHLD, signal.SIGTERM, signal.SIGINT}
signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
sys.stdout.write('ready\\n'); sys.stdout.flush(); os.close(1)
while True:
    sig = signal.sigwait(sigs)
    if sig != signal.SIGCHLD:
        os._exit(0)
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass
`;

/** Mounts the pod's own /tmp and /run, then becomes the pod's init. */
const SETUP = 'mount -t tmpfs -o mode=1777,nosuid,nodev podtmp /tmp && mount -t tmpfs -o mode=755,nosuid,nodev podrun /run && exec python3 -c "import sys; exec(sys.stdin.read())" "$0"';

const HOLDER_START_MS = 10_000;

/** The PATH of every process in a pod: the system's tools (not a user's shims). */
export const POD_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** A running pod holder: the host PID of the pod's init. */
export interface Holder {
  pid: number;
}

/** The hostname a pod gets (UTS names are at most 64 bytes). */
export function podHostname(podName: string): string {
  return podName.slice(0, 63);
}

/** Starts a holder in `netns` and resolves once its namespaces are ready, with its host PID. */
export function startHolder(netns: string, hostname: string): Promise<Holder> {
  const child = spawn('ip', ['netns', 'exec', netns, 'unshare', '--pid', '--fork', '--kill-child', '--mount-proc', '--uts', '--ipc', '--',
    'sh', '-c', SETUP, hostname], { detached: true, stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: POD_PATH } });
  // The init's source goes on stdin, so `ps` in the pod shows a short command line.
  child.stdin.on('error', () => undefined);
  child.stdin.end(INIT);
  return new Promise<Holder>((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => fail(`no answer within ${HOLDER_START_MS / 1000} s`), HOLDER_START_MS);
    const fail = (why: string) => {
      clearTimeout(timer);
      if (child.pid) void endHolderTree(child.pid);
      reject(new InfraError(`the pod's holder process in ${netns} did not start: ${why}`));
    };
    child.on('error', (e) => fail(e.message));
    child.on('exit', (code, signal) => fail(`exited (${signal ?? `code ${code}`}): ${err.trim().split('\n').slice(-2).join(' | ') || 'no output'}`));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!out.includes('ready\n')) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      child.stdin.destroy();
      child.stdout.destroy();
      child.stderr.destroy();
      child.unref();
      const init = firstChild(child.pid!);
      if (init === undefined) {
        fail('its init process is not to be found');
        return;
      }
      resolve({ pid: init });
    });
  });
}

/** The first child of `pid` (the `unshare --fork` child is the pod's init). */
function firstChild(pid: number): number | undefined {
  try {
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    return kids[0];
  } catch {
    return undefined;
  }
}

/** Ends the pod: SIGKILL to its init, which makes the kernel kill every process in the pod's PID namespace. */
export async function stopHolder(holder: Holder): Promise<void> {
  if (!pidAlive(holder.pid)) return;
  try {
    process.kill(holder.pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
  await waitGone([holder.pid], 5_000);
}

/** A holder that never became ready: its `unshare` and whatever it forked. */
async function endHolderTree(pid: number): Promise<void> {
  const init = firstChild(pid);
  for (const p of [init, pid]) {
    if (p === undefined) continue;
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  await waitGone([pid, ...(init === undefined ? [] : [init])], 2_000);
}

/** The argv prefix that runs a command inside the pod's namespaces (and its working directory, if given). */
export function joinArgv(holder: Holder, cwd: string | undefined): string[] {
  return ['nsenter', `--target=${holder.pid}`, '--pid', '--mount', '--uts', '--ipc', '--net', ...(cwd ? [`--wd=${cwd}`] : []), '--'];
}
