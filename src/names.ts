// Names that are part of podwire's interface to any cluster (labels and
// annotations), shared by the run and by the lab that honours them.

/** Label on a run's namespace and probes: the run id. `podwire cleanup` finds leftovers by it. */
export const RUN_LABEL = 'podwire.dev/run';
export const ROLE_LABEL = 'podwire.dev/role';

/**
 * Node annotation through which a cluster advertises an external target
 * (`IP:PORT`, answering TCP) for the egress check; the lab sets it for its
 * internet host, and any cluster may.
 */
export const EXTERNAL_TARGET_ANNOTATION = 'lab.podwire.dev/external-target';

/**
 * Annotations on a run's namespace that say whether the run is live: the time
 * of its last heartbeat (renewed while it runs), who holds it, and when it
 * ended while keeping its namespace (`--keep`). `podwire cleanup` reads them.
 */
export const HEARTBEAT_ANNOTATION = 'podwire.dev/heartbeat';
export const HOLDER_ANNOTATION = 'podwire.dev/holder';
export const ENDED_ANNOTATION = 'podwire.dev/ended';
