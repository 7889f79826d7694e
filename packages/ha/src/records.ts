/**
 * What both implementations store, as JSON text an operator can read (`cat`, `zkCli get`): the
 * checks of ids before they become file or znode names, and the decoders that turn a damaged
 * record into a StoreCorruptError naming the record, its job and how to repair or forget it.
 */
import { describeError, SluiceError } from '@sluice/common';
import { StoreCorruptError } from './errors.js';
import type { CheckpointPointer, JobRecord, LeaderInfo, WorkerRecord } from './services.js';

/** A job id or worker id that is safe as a file name and as a znode name. */
const RECORD_ID = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;
/** A component of leader election (`dispatcher`, `resourcemanager`, ...). */
const COMPONENT = /^[a-z][a-z0-9_-]{0,63}$/;

export function checkJobId(jobId: string): string {
  if (typeof jobId !== 'string' || !RECORD_ID.test(jobId)) {
    throw new SluiceError('INVALID_JOB_ID', `not a job id the store can hold: ${JSON.stringify(jobId)} (letters, digits, '.', '_', '-'; at most 128; not starting with '.')`);
  }
  return jobId;
}

export function checkWorkerId(workerId: string): string {
  if (typeof workerId !== 'string' || !RECORD_ID.test(workerId)) {
    throw new SluiceError('INVALID_WORKER_ID', `not a worker id the store can hold: ${JSON.stringify(workerId)} (letters, digits, '.', '_', '-'; at most 128; not starting with '.')`);
  }
  return workerId;
}

export function checkComponent(component: string): string {
  if (typeof component !== 'string' || !COMPONENT.test(component)) {
    throw new SluiceError('INVALID_COMPONENT', `not a component name for leader election: ${JSON.stringify(component)} (lower-case letters, digits, '_', '-'; starting with a letter)`);
  }
  return component;
}

/** Where a record lives and how an operator removes or rewrites it, in the store's own terms. */
export interface RecordLocation {
  /** The file or znode. */
  where: string;
  /** The command that deletes it: `rm FILE`, `zkCli delete ZNODE`. */
  remove: string;
  /** The command that writes `json` into it. */
  write(json: string): string;
}

export function encodeRecord(value: unknown): string {
  return `${JSON.stringify(value)}\n`;
}

function parse(text: string): { value?: unknown; error?: string } {
  try {
    return { value: JSON.parse(text) as unknown };
  } catch (err) {
    return { error: describeError(err) };
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

export function decodeJobRecord(text: string, jobId: string, at: RecordLocation): JobRecord {
  const { value, error } = parse(text);
  const forget = `; ${at.remove} to forget the job (it is then not recovered)`;
  if (error !== undefined) throw new StoreCorruptError(at.where, jobId, `the record of job ${jobId} at ${at.where} is not valid JSON (${error})${forget}`);
  const why = isObject(value) ? jobRecordProblem(value, jobId) : 'not a JSON object';
  if (why !== undefined) throw new StoreCorruptError(at.where, jobId, `the record of job ${jobId} at ${at.where} is not a job record (${why})${forget}`);
  return value as unknown as JobRecord;
}

function jobRecordProblem(r: Record<string, unknown>, jobId: string): string | undefined {
  const s = r.submission;
  if (!isObject(s) || s.jobId !== jobId) return `no submission of job ${jobId}`;
  if (!isObject(s.jobGraph) || !isObject(s.artifact)) return 'the submission has no job graph or artifact';
  if (!isCount(r.jobMasterAttempts)) return 'no JobMaster attempt count';
  if (r.ended !== undefined && (!isObject(r.ended) || typeof r.ended.status !== 'string' || typeof r.ended.endTime !== 'number')) return 'a damaged end';
  return undefined;
}

export function decodePointer(text: string, jobId: string, at: RecordLocation): CheckpointPointer {
  const { value } = parse(text);
  if (!isObject(value) || !isCount(value.id) || value.id < 1 || typeof value.location !== 'string' || value.location === '') {
    throw new StoreCorruptError(
      at.where,
      jobId,
      `the latest-checkpoint pointer of job ${jobId} at ${at.where} is damaged (expected {"id", "location"}); ${at.remove} to resume the job from its start, or ${at.write('{"id":N,"location":"<its latest chk-N directory>"}')}`,
    );
  }
  return { id: value.id, location: value.location };
}

export function decodeCounter(text: string, jobId: string, at: RecordLocation): number {
  const { value } = parse(text);
  if (!isObject(value) || !isCount(value.next) || value.next < 1) {
    throw new StoreCorruptError(
      at.where,
      jobId,
      `the checkpoint id counter of job ${jobId} at ${at.where} is damaged (expected {"next": N}); ${at.write('{"next":N}')} with N above the job\'s latest checkpoint id`,
    );
  }
  return value.next;
}

const WORKER_STATES = new Set(['new', 'launched', 'released']);

export function decodeWorker(text: string, workerId: string, at: RecordLocation): WorkerRecord {
  const { value } = parse(text);
  const ok =
    isObject(value) &&
    value.workerId === workerId &&
    WORKER_STATES.has(value.state as string) &&
    ['agentId', 'hostname', 'profile', 'resourceId', 'region', 'zone'].every((k) => value[k] === undefined || typeof value[k] === 'string') &&
    (value.slots === undefined || (Number.isSafeInteger(value.slots) && (value.slots as number) > 0)) &&
    (value.attributes === undefined || (isObject(value.attributes) && Object.values(value.attributes).every((v) => typeof v === 'string')));
  if (!ok) {
    throw new StoreCorruptError(at.where, workerId, `the record of worker ${workerId} at ${at.where} is damaged (expected {"workerId", "state", ...}); ${at.remove} to forget the worker (reconciliation with Mesos then reports its task as unknown)`);
  }
  return value as unknown as WorkerRecord;
}

export function decodeFrameworkId(text: string, at: RecordLocation): string {
  const { value } = parse(text);
  if (!isObject(value) || typeof value.frameworkId !== 'string' || value.frameworkId === '') {
    throw new StoreCorruptError(at.where, '', `the Mesos framework id at ${at.where} is damaged (expected {"frameworkId": "..."}); ${at.remove} to register as a new framework (the old one's tasks are then orphaned)`);
  }
  return value.frameworkId;
}

/** The published leader, or undefined when the text is not one (a leader is then not known). */
export function decodeLeaderInfo(text: string): LeaderInfo | undefined {
  const { value } = parse(text);
  if (!isObject(value) || typeof value.token !== 'string' || typeof value.address !== 'string') return undefined;
  if (value.restUrl !== undefined && typeof value.restUrl !== 'string') return undefined;
  return value.restUrl === undefined ? { token: value.token, address: value.address } : { token: value.token, address: value.address, restUrl: value.restUrl };
}

export function sameLeader(a: LeaderInfo | undefined, b: LeaderInfo | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && a.token === b.token && a.address === b.address && a.restUrl === b.restUrl);
}

/** Checks a pointer before it is written, so the store never holds one it would refuse to read. */
export function checkPointer(jobId: string, p: CheckpointPointer): void {
  if (!isCount(p.id) || p.id < 1 || typeof p.location !== 'string' || p.location === '') {
    throw new SluiceError('INVALID_CHECKPOINT_POINTER', `not a checkpoint pointer for job ${jobId}: ${JSON.stringify(p)} (id an integer from 1, location a non-empty path)`);
  }
}

/** Checks a job record before it is written (the same checks a read makes). */
export function checkJobRecord(record: JobRecord): string {
  const jobId = checkJobId((record as Partial<JobRecord>).submission?.jobId as string);
  const why = jobRecordProblem(record as unknown as Record<string, unknown>, jobId);
  if (why !== undefined) throw new SluiceError('INVALID_JOB_RECORD', `not a job record for job ${jobId}: ${why}`);
  return jobId;
}

/** Checks a worker record before it is written. */
export function checkWorkerRecord(record: WorkerRecord): string {
  const workerId = checkWorkerId(record.workerId);
  try {
    decodeWorker(JSON.stringify(record), workerId, { where: 'the record', remove: '', write: () => '' });
  } catch {
    throw new SluiceError('INVALID_WORKER_RECORD', `not a worker record for worker ${workerId}: ${JSON.stringify(record)} (state new, launched or released; strings for agentId, hostname, profile and attribute values)`);
  }
  return workerId;
}
