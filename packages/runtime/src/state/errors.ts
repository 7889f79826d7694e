/**
 * Errors of the keyed state layer. Both are programming or routing faults, never retriable:
 * retrying the same record against the same subtask would fail the same way.
 */
import { SluiceError } from '@sluice/common';

/** A record's key hashed to a key group this subtask does not own. */
export class KeyRoutingError extends SluiceError {
  constructor(message: string) {
    super('KEY_ROUTING', message);
    this.name = 'KeyRoutingError';
  }
}

/** Keyed state or timers used where they cannot work (no key, non-keyed stream, name clash). */
export class StateAccessError extends SluiceError {
  constructor(message: string) {
    super('STATE_ACCESS', message);
    this.name = 'StateAccessError';
  }
}

/**
 * Restored state the job would misread: a checkpoint holds a state under a name this job
 * declares with another kind. Never retriable, and never a fault of the user function that
 * declared it: a restart would restore the same checkpoint and fail the same way.
 */
export class StateIncompatibleError extends SluiceError {
  constructor(message: string) {
    super('STATE_INCOMPATIBLE', message);
    this.name = 'StateIncompatibleError';
  }
}
