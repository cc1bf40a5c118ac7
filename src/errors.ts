// Errors shared by every layer (cli, run, conformance, kube, lab): what they
// mean decides the exit status, so they live below all of those layers.

/** Bad usage: a flag, a value, a file the user named. Exit 2, before anything is touched. */
export class UsageError extends Error {}

/** "This cannot start here" (exit 2), as opposed to a run that started and failed (exit 1). */
export class PreconditionError extends Error {}

/** The cluster or its API stopped a run from judging: unreachable, RBAC, no node to probe. Exit 2. */
export class InfraError extends PreconditionError {}

/**
 * A run stopped at once, its work in flight abandoned (the API was lost, the
 * namespace went): the command ends the process rather than wait for it.
 */
export class RunAbortedError extends InfraError {}

/** The API server stopped answering during a run (see RunAbortedError). */
export class LostApiError extends RunAbortedError {
  constructor(readonly server: string, readonly phase: string, readonly namespace?: string, hint?: string) {
    super(`lost the Kubernetes API at ${server} during ${phase}${namespace ? `; namespace ${namespace} may be left: ${hint ?? 'podwire cleanup'}` : ''}`);
  }
}

/** Work stopped by SIGINT/SIGTERM: the interrupt handler cleans up and exits; nobody reports this as a failure. */
export class InterruptedError extends Error {
  constructor(readonly signal: string) {
    super(`interrupted by ${signal}`);
  }
}
