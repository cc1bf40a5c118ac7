// Errors that mean "this cannot start here" (exit 2), as opposed to a run
// that started and failed (exit 1). Subclassed where they arise.
export class PreconditionError extends Error {}
