/**
 * The Dispatcher's local job store: for every job it accepted, what a new JobMaster needs to take
 * the job over — the submission (bundle id, graph, parameters), how many JobMasters it has had,
 * whether it ended — in `<jobId>.json`, written by the Dispatcher; and the latest completed
 * checkpoint, in `<jobId>.checkpoint`, written by the job's JobMaster (so the two writers never
 * share a file). Private files, replaced atomically on every change, so a crash leaves the old
 * content or the new. The job id is checked before it becomes a file name. (With high
 * availability the same records move to ZooKeeper behind the same interface.)
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describeError, preparePrivateDirectory, SluiceError, writePrivateFile } from '@sluice/common';
import type { DispatcherJobStore } from '@sluice/jobmanager';
import type { JobStatus, JobSubmission } from '@sluice/protocol';

export interface CheckpointPointer {
  id: number;
  /** Where the checkpoint lives in checkpoint storage (its directory today). */
  location: string;
}

export interface JobRecord {
  submission: JobSubmission;
  /** JobMasters started for the job so far; the next one's attempt number. */
  jobMasterAttempts: number;
  /** Set once the job reached a terminal status. */
  ended?: { status: JobStatus; endTime: number };
}

const JOB_ID = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;
const SUFFIX = '.json';
const CHECKPOINT_SUFFIX = '.checkpoint';

export class JobStore {
  constructor(readonly directory: string) {
    preparePrivateDirectory(directory, 'the job store', 'choose another cluster directory with --cluster-dir DIR');
  }

  put(record: JobRecord): void {
    writePrivateFile(this.fileOf(record.submission.jobId), `${JSON.stringify(record)}\n`, `the record of job ${record.submission.jobId}`);
  }

  get(jobId: string): JobRecord | undefined {
    const file = this.fileOf(jobId);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new SluiceError('JOB_STORE', `cannot read the record of job ${jobId} at ${file}: ${describeError(err)}`, { cause: err });
    }
    return parseRecord(text, file, jobId);
  }

  /** Applies `change` to the job's record and stores the result; the job must be known. */
  update(jobId: string, change: (r: JobRecord) => JobRecord): JobRecord {
    const current = this.get(jobId);
    if (current === undefined) throw new SluiceError('JOB_NOT_FOUND', `the job store has no record of job ${jobId}`);
    const next = change(current);
    this.put(next);
    return next;
  }

  remove(jobId: string): void {
    rmSync(this.fileOf(jobId), { force: true });
    rmSync(this.fileOf(jobId, CHECKPOINT_SUFFIX), { force: true });
  }

  /** Records the job's latest completed checkpoint (the JobMaster's `recordCheckpoint`). */
  putCheckpoint(jobId: string, pointer: CheckpointPointer): void {
    writePrivateFile(this.fileOf(jobId, CHECKPOINT_SUFFIX), `${JSON.stringify(pointer)}\n`, `the latest checkpoint of job ${jobId}`);
  }

  latestCheckpoint(jobId: string): CheckpointPointer | undefined {
    const file = this.fileOf(jobId, CHECKPOINT_SUFFIX);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new SluiceError('JOB_STORE', `cannot read the latest checkpoint of job ${jobId} at ${file}: ${describeError(err)}`, { cause: err });
    }
    let p: Partial<CheckpointPointer> | null = null;
    try {
      p = JSON.parse(text) as Partial<CheckpointPointer> | null;
    } catch {
      // reported below
    }
    if (p === null || typeof p !== 'object' || !Number.isInteger(p.id) || typeof p.location !== 'string' || p.location === '') {
      throw new SluiceError('JOB_STORE_CORRUPT', `the latest-checkpoint pointer of job ${jobId} at ${file} is damaged (expected {"id", "location"}); remove it to resume the job from its start, or write the path of its latest chk-N directory into it`);
    }
    return { id: p.id as number, location: p.location };
  }

  /** The store as the Dispatcher uses it. */
  forDispatcher(): DispatcherJobStore {
    return {
      jobSubmitted: async (submission) => this.put({ submission, jobMasterAttempts: 0 }),
      jobMasterStarted: async (jobId, attempt) => void this.update(jobId, (r) => ({ ...r, jobMasterAttempts: Math.max(r.jobMasterAttempts, attempt + 1) })),
      latestCheckpoint: async (jobId) => this.latestCheckpoint(jobId),
      jobEnded: async (jobId, status, endTime) => void this.update(jobId, (r) => ({ ...r, ended: { status, endTime } })),
    };
  }

  /** Every readable record; an unreadable one is reported through `onProblem` and skipped. */
  list(onProblem: (file: string, problem: string) => void = () => undefined): JobRecord[] {
    const out: JobRecord[] = [];
    for (const name of readdirSync(this.directory).sort()) {
      if (!name.endsWith(SUFFIX)) continue;
      const jobId = name.slice(0, -SUFFIX.length);
      if (!JOB_ID.test(jobId)) continue;
      try {
        const r = this.get(jobId);
        if (r !== undefined) out.push(r);
      } catch (err) {
        onProblem(join(this.directory, name), describeError(err));
      }
    }
    return out;
  }

  private fileOf(jobId: string, suffix = SUFFIX): string {
    if (!JOB_ID.test(jobId)) throw new SluiceError('INVALID_JOB_ID', `not a job id the store can hold: ${JSON.stringify(jobId)}`);
    return join(this.directory, `${jobId}${suffix}`);
  }
}

function parseRecord(text: string, file: string, jobId: string): JobRecord {
  let r: unknown;
  try {
    r = JSON.parse(text);
  } catch (err) {
    throw new SluiceError('JOB_STORE_CORRUPT', `the record of job ${jobId} at ${file} is not valid JSON (${describeError(err)}); remove the file to forget the job`);
  }
  const rec = r as Partial<JobRecord> | null;
  if (rec === null || typeof rec !== 'object' || rec.submission?.jobId !== jobId || !Number.isInteger(rec.jobMasterAttempts)) {
    throw new SluiceError('JOB_STORE_CORRUPT', `the record of job ${jobId} at ${file} is not a job record (no submission for that job, or no attempt count); remove the file to forget the job`);
  }
  return rec as JobRecord;
}
