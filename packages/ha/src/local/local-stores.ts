/**
 * Job records, checkpoint counters and pointers, and the Mesos records in a local directory:
 * one private JSON file each, replaced atomically, every write fenced (local-leadership.ts), so a
 * counter's read-and-increment and a pointer's compare-and-write are single steps across the
 * processes on the directory.
 */
import { readdirSync } from 'node:fs';
import { describeError, SluiceError, writePrivateFile } from '@sluice/common';
import {
  checkJobId,
  checkJobRecord,
  checkPointer,
  checkWorkerId,
  checkWorkerRecord,
  decodeCounter,
  decodeFrameworkId,
  decodeJobRecord,
  decodePointer,
  decodeWorker,
  encodeRecord,
} from '../records.js';
import type { CheckpointPointer, CheckpointStore, JobRecord, JobRecordStore, LeaderToken, MesosStore, StoreProblem, WorkerRecord } from '../services.js';
import { fileLocation, type LocalLayout, readText, removeFile } from './local-files.js';
import { fencedWrite } from './local-leadership.js';

const JSON_SUFFIX = '.json';

/** `<id>.json` files of `dir` decoded; temp files (leading '.') skipped, the rest reported. */
function listRecords<T>(dir: string, checkId: (id: string) => string, read: (id: string) => T | undefined): { records: T[]; problems: StoreProblem[] } {
  const records: T[] = [];
  const problems: StoreProblem[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (!name.endsWith(JSON_SUFFIX) || name.startsWith('.')) continue;
    const id = name.slice(0, -JSON_SUFFIX.length);
    try {
      const r = read(checkId(id));
      if (r !== undefined) records.push(r);
    } catch (err) {
      problems.push({ jobId: id, where: `${dir}/${name}`, problem: describeError(err) });
    }
  }
  return { records, problems };
}

export class LocalJobRecordStore implements JobRecordStore {
  constructor(private readonly layout: LocalLayout) {}

  async put(token: LeaderToken, record: JobRecord): Promise<void> {
    const jobId = checkJobRecord(record);
    const file = this.layout.job(jobId, '.json');
    await fencedWrite(this.layout, token, `the record of job ${jobId}`, () => writePrivateFile(file, encodeRecord(record), `the record of job ${jobId}`));
  }

  async get(jobId: string): Promise<JobRecord | undefined> {
    return this.read(checkJobId(jobId));
  }

  async list(): Promise<{ records: JobRecord[]; problems: StoreProblem[] }> {
    return listRecords(this.layout.jobs, checkJobId, (jobId) => this.read(jobId));
  }

  async remove(token: LeaderToken, jobId: string): Promise<void> {
    checkJobId(jobId);
    await fencedWrite(this.layout, token, `the records of job ${jobId}`, () => {
      for (const suffix of ['.json', '.checkpoint', '.counter'] as const) removeFile(this.layout.job(jobId, suffix));
    });
  }

  private read(jobId: string): JobRecord | undefined {
    const file = this.layout.job(jobId, '.json');
    const text = readText(file, `the record of job ${jobId}`);
    return text === undefined ? undefined : decodeJobRecord(text, jobId, fileLocation(file));
  }
}

export class LocalCheckpointStore implements CheckpointStore {
  constructor(private readonly layout: LocalLayout) {}

  async nextCheckpointId(token: LeaderToken, jobId: string): Promise<number> {
    checkJobId(jobId);
    return fencedWrite(this.layout, token, `the checkpoint id counter of job ${jobId}`, () => {
      const id = this.readCounter(jobId);
      this.writeCounter(jobId, id + 1);
      return id;
    });
  }

  async advanceCheckpointIdTo(token: LeaderToken, jobId: string, next: number): Promise<void> {
    checkJobId(jobId);
    if (!Number.isSafeInteger(next) || next < 1) throw new SluiceError('INVALID_CHECKPOINT_ID', `cannot advance the checkpoint id counter of job ${jobId} to ${next}: not an integer from 1`);
    await fencedWrite(this.layout, token, `the checkpoint id counter of job ${jobId}`, () => {
      if (this.readCounter(jobId) < next) this.writeCounter(jobId, next);
    });
  }

  async putLatest(token: LeaderToken, jobId: string, pointer: CheckpointPointer): Promise<void> {
    checkJobId(jobId);
    checkPointer(jobId, pointer);
    const file = this.layout.job(jobId, '.checkpoint');
    await fencedWrite(this.layout, token, `the latest checkpoint of job ${jobId}`, () => {
      const current = this.readLatest(jobId);
      if (current !== undefined && current.id >= pointer.id) return;
      writePrivateFile(file, encodeRecord({ id: pointer.id, location: pointer.location }), `the latest checkpoint of job ${jobId}`);
    });
  }

  async latest(jobId: string): Promise<CheckpointPointer | undefined> {
    return this.readLatest(checkJobId(jobId));
  }

  describeLatest(jobId: string): { where: string; remove: string } {
    return fileLocation(this.layout.job(checkJobId(jobId), '.checkpoint'));
  }

  private readLatest(jobId: string): CheckpointPointer | undefined {
    const file = this.layout.job(jobId, '.checkpoint');
    const text = readText(file, `the latest checkpoint of job ${jobId}`);
    return text === undefined ? undefined : decodePointer(text, jobId, fileLocation(file));
  }

  private readCounter(jobId: string): number {
    const file = this.layout.job(jobId, '.counter');
    const text = readText(file, `the checkpoint id counter of job ${jobId}`);
    return text === undefined ? 1 : decodeCounter(text, jobId, fileLocation(file));
  }

  private writeCounter(jobId: string, next: number): void {
    writePrivateFile(this.layout.job(jobId, '.counter'), encodeRecord({ next }), `the checkpoint id counter of job ${jobId}`);
  }
}

export class LocalMesosStore implements MesosStore {
  constructor(private readonly layout: LocalLayout) {}

  async frameworkId(): Promise<string | undefined> {
    const file = this.layout.frameworkId();
    const text = readText(file, 'the Mesos framework id');
    return text === undefined ? undefined : decodeFrameworkId(text, fileLocation(file));
  }

  async putFrameworkId(token: LeaderToken, frameworkId: string): Promise<void> {
    if (typeof frameworkId !== 'string' || frameworkId === '') throw new SluiceError('INVALID_FRAMEWORK_ID', `not a Mesos framework id: ${JSON.stringify(frameworkId)}`);
    await fencedWrite(this.layout, token, 'the Mesos framework id', () => writePrivateFile(this.layout.frameworkId(), encodeRecord({ frameworkId }), 'the Mesos framework id'));
  }

  async clearFrameworkId(token: LeaderToken): Promise<void> {
    await fencedWrite(this.layout, token, 'the Mesos framework id', () => removeFile(this.layout.frameworkId()));
  }

  async workers(): Promise<{ records: WorkerRecord[]; problems: StoreProblem[] }> {
    return listRecords(this.layout.workers, checkWorkerId, (id) => {
      const file = this.layout.worker(id);
      const text = readText(file, `the record of worker ${id}`);
      return text === undefined ? undefined : decodeWorker(text, id, fileLocation(file));
    });
  }

  async putWorker(token: LeaderToken, record: WorkerRecord): Promise<void> {
    const id = checkWorkerRecord(record);
    await fencedWrite(this.layout, token, `the record of worker ${id}`, () => writePrivateFile(this.layout.worker(id), encodeRecord(record), `the record of worker ${id}`));
  }

  async removeWorker(token: LeaderToken, workerId: string): Promise<void> {
    checkWorkerId(workerId);
    await fencedWrite(this.layout, token, `the record of worker ${workerId}`, () => removeFile(this.layout.worker(workerId)));
  }
}
