/**
 * Fencing tokens: calls that change state carry the identity of the leader they were meant for,
 * so a call from or to a superseded ResourceManager or JobMaster (an old process, a restarted
 * component, a message that was delayed) is refused instead of acting on state it no longer owns.
 *
 * - A ResourceManager gets a fresh id each time it starts (an HA leader session id later); a
 *   TaskManager learns it on registration and a JobMaster on registerJobMaster.
 * - A JobMaster is named by its job, a random id per start and the attempt (how often the
 *   Dispatcher started a JobMaster for the job); TaskManagers learn it from the RM's slot request.
 */
import { SluiceError } from '@sluice/common';

export const FENCING_TOKEN_MISMATCH = 'FENCING_TOKEN_MISMATCH';

export type ResourceManagerId = string;

export interface JobMasterToken {
  jobId: string;
  /** Random per JobMaster start. */
  jobMasterId: string;
  /** How many JobMasters the Dispatcher started for this job before this one. */
  attempt: number;
}

export function describeJobMasterToken(t: JobMasterToken): string {
  return `JobMaster ${t.jobMasterId} (attempt ${t.attempt}) of job ${t.jobId}`;
}

export function sameJobMasterToken(a: JobMasterToken | undefined, b: JobMasterToken | undefined): boolean {
  return a !== undefined && b !== undefined && a.jobId === b.jobId && a.jobMasterId === b.jobMasterId && a.attempt === b.attempt;
}

/** A call carried a token of a leader that is not (or no longer) the one it reached. Never retriable. */
export class FencingTokenMismatchError extends SluiceError {
  constructor(what: string, expected: string, got: string) {
    super(FENCING_TOKEN_MISMATCH, `refused ${what}: it was meant for ${got}, but this is ${expected}; the sender holds a stale leader and must reconnect`);
    this.name = 'FencingTokenMismatchError';
  }
}

/** Throws FencingTokenMismatchError unless `got` is the ResourceManager id `expected`. */
export function checkResourceManagerId(what: string, expected: ResourceManagerId | undefined, got: ResourceManagerId): void {
  if (expected !== got) throw new FencingTokenMismatchError(what, expected === undefined ? 'no ResourceManager connection' : `ResourceManager ${expected}`, `ResourceManager ${got}`);
}

/** Throws FencingTokenMismatchError unless `got` names the same JobMaster as `expected`. */
export function checkJobMasterToken(what: string, expected: JobMasterToken | undefined, got: JobMasterToken): void {
  if (!sameJobMasterToken(expected, got)) {
    throw new FencingTokenMismatchError(what, expected === undefined ? `no JobMaster of job ${got.jobId}` : describeJobMasterToken(expected), describeJobMasterToken(got));
  }
}
