/**
 * Job records, checkpoint counters and pointers, and the Mesos records on ZooKeeper, as JSON
 * text. Every write is a fenced multi (zk-fencing.ts); a read-modify-write (the counter, the
 * pointer) carries the version it read, and starts over when another writer came first.
 */
import { describeError, SluiceError } from '@sluice/common';
import { isZooKeeperError, type Op } from '@sluice/zookeeper';
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
import { ensurePath, failedAt, fencedMulti } from './zk-fencing.js';
import { type ZkLayout, znodeLocation } from './zk-layout.js';
import type { ZkSessions } from './zk-sessions.js';

/** What the store operations share: the session, the layout, and the create/set/read steps. */
class ZkStore {
  constructor(
    protected readonly sessions: ZkSessions,
    protected readonly layout: ZkLayout,
  ) {}

  /** The node's text and version, or undefined when it does not exist. */
  protected async read(path: string): Promise<{ text: string; version: number } | undefined> {
    return this.sessions.call(`read ${path}`, async (client) => {
      try {
        const { data, stat } = await client.getData(path);
        return { text: data.toString('utf8'), version: stat.version };
      } catch (err) {
        if (isZooKeeperError(err, 'NONODE')) return undefined;
        throw err;
      }
    });
  }

  /**
   * Writes `data` at `path` in `token`'s term: a set at `version` (any when undefined) when
   * `exists`, else a create (with `path`'s parent when `parent` says so). False when another
   * writer changed the node meanwhile, to read again.
   */
  protected async write(token: LeaderToken, what: string, path: string, data: string, exists: boolean, version = -1): Promise<boolean> {
    const parent = path.slice(0, path.lastIndexOf('/'));
    const ops: Op[] = exists ? [{ type: 'set', path, data, version }] : [{ type: 'create', path, data }];
    try {
      await fencedMulti(this.sessions, this.layout, token, what, ops);
      return true;
    } catch (err) {
      if (!failedAt(err, 1, 'NONODE', 'NODEEXISTS', 'BADVERSION')) throw err;
      // A create whose parent is missing (the job's checkpoints/<jobId>, or a root an operator deleted).
      if (!exists && isZooKeeperError(err, 'NONODE')) await this.sessions.call(`create ${parent}`, (c) => ensurePath(c, parent));
      return false;
    }
  }

  /** Creates or replaces `path` (whatever it held). */
  protected async putNode(token: LeaderToken, what: string, path: string, data: string): Promise<void> {
    for (let exists = true; !(await this.write(token, what, path, data, exists)); exists = !exists);
  }

  /** Deletes each of `paths` that exists (and `parentOfChildren` with its children), in `token`'s term. */
  protected async removeNodes(token: LeaderToken, what: string, paths: string[], parentOfChildren?: string): Promise<void> {
    for (;;) {
      const ops: Op[] = [];
      await this.sessions.call(`read ${what}`, async (client) => {
        if (parentOfChildren !== undefined) {
          const children = await client.getChildren(parentOfChildren).catch((err: unknown) => {
            if (isZooKeeperError(err, 'NONODE')) return undefined;
            throw err;
          });
          if (children !== undefined) {
            for (const c of children) ops.push({ type: 'delete', path: `${parentOfChildren}/${c}` });
            ops.push({ type: 'delete', path: parentOfChildren });
          }
        }
        for (const p of paths) if ((await client.exists(p)) !== undefined) ops.push({ type: 'delete', path: p });
      });
      try {
        // With nothing to delete this is the check alone: an ended term is refused all the same.
        await fencedMulti(this.sessions, this.layout, token, what, ops);
        return;
      } catch (err) {
        if (!(isZooKeeperError(err) && (err.failedOp ?? 0) > 0 && (isZooKeeperError(err, 'NONODE') || isZooKeeperError(err, 'NOTEMPTY')))) throw err;
      }
    }
  }

  /** Every child of `dir` read with `decode`; damaged ones come back as problems. */
  protected async listNodes<T>(dir: string, checkId: (id: string) => string, decode: (text: string, id: string, path: string) => T): Promise<{ records: T[]; problems: StoreProblem[] }> {
    const names = await this.sessions.call(`list ${dir}`, (c) => c.getChildren(dir));
    const records: T[] = [];
    const problems: StoreProblem[] = [];
    for (const id of names.sort()) {
      const path = `${dir}/${id}`;
      try {
        const node = await this.read(`${dir}/${checkId(id)}`);
        if (node !== undefined) records.push(decode(node.text, id, path));
      } catch (err) {
        if (err instanceof SluiceError && err.code === 'HA_UNAVAILABLE') throw err;
        problems.push({ jobId: id, where: path, problem: describeError(err) });
      }
    }
    return { records, problems };
  }
}

export class ZkJobRecordStore extends ZkStore implements JobRecordStore {
  async put(token: LeaderToken, record: JobRecord): Promise<void> {
    const jobId = checkJobRecord(record);
    await this.putNode(token, `the record of job ${jobId}`, this.layout.job(jobId), encodeRecord(record));
  }

  async get(jobId: string): Promise<JobRecord | undefined> {
    const path = this.layout.job(checkJobId(jobId));
    const node = await this.read(path);
    return node === undefined ? undefined : decodeJobRecord(node.text, jobId, znodeLocation(path));
  }

  async list(): Promise<{ records: JobRecord[]; problems: StoreProblem[] }> {
    return this.listNodes(this.layout.jobs, checkJobId, (text, id, path) => decodeJobRecord(text, id, znodeLocation(path)));
  }

  async remove(token: LeaderToken, jobId: string): Promise<void> {
    checkJobId(jobId);
    await this.removeNodes(token, `the records of job ${jobId}`, [this.layout.job(jobId)], this.layout.checkpointsOf(jobId));
  }
}

export class ZkCheckpointStore extends ZkStore implements CheckpointStore {
  async nextCheckpointId(token: LeaderToken, jobId: string): Promise<number> {
    const path = this.layout.counter(checkJobId(jobId));
    for (;;) {
      const node = await this.read(path);
      const next = node === undefined ? 1 : decodeCounter(node.text, jobId, znodeLocation(path));
      if (await this.write(token, `the checkpoint id counter of job ${jobId}`, path, encodeRecord({ next: next + 1 }), node !== undefined, node?.version)) return next;
    }
  }

  async advanceCheckpointIdTo(token: LeaderToken, jobId: string, next: number): Promise<void> {
    const path = this.layout.counter(checkJobId(jobId));
    if (!Number.isSafeInteger(next) || next < 1) throw new SluiceError('INVALID_CHECKPOINT_ID', `cannot advance the checkpoint id counter of job ${jobId} to ${next}: not an integer from 1`);
    for (;;) {
      const node = await this.read(path);
      if (node !== undefined && decodeCounter(node.text, jobId, znodeLocation(path)) >= next) return;
      if (await this.write(token, `the checkpoint id counter of job ${jobId}`, path, encodeRecord({ next }), node !== undefined, node?.version)) return;
    }
  }

  async putLatest(token: LeaderToken, jobId: string, pointer: CheckpointPointer): Promise<void> {
    const path = this.layout.latest(checkJobId(jobId));
    checkPointer(jobId, pointer);
    const data = encodeRecord({ id: pointer.id, location: pointer.location });
    for (;;) {
      const node = await this.read(path);
      if (node !== undefined && decodePointer(node.text, jobId, znodeLocation(path)).id >= pointer.id) return;
      if (await this.write(token, `the latest checkpoint of job ${jobId}`, path, data, node !== undefined, node?.version)) return;
    }
  }

  async latest(jobId: string): Promise<CheckpointPointer | undefined> {
    const path = this.layout.latest(checkJobId(jobId));
    const node = await this.read(path);
    return node === undefined ? undefined : decodePointer(node.text, jobId, znodeLocation(path));
  }

  describeLatest(jobId: string): { where: string; remove: string } {
    return znodeLocation(this.layout.latest(checkJobId(jobId)));
  }
}

export class ZkMesosStore extends ZkStore implements MesosStore {
  async frameworkId(): Promise<string | undefined> {
    const path = this.layout.frameworkId();
    const node = await this.read(path);
    return node === undefined ? undefined : decodeFrameworkId(node.text, znodeLocation(path));
  }

  async putFrameworkId(token: LeaderToken, frameworkId: string): Promise<void> {
    if (typeof frameworkId !== 'string' || frameworkId === '') throw new SluiceError('INVALID_FRAMEWORK_ID', `not a Mesos framework id: ${JSON.stringify(frameworkId)}`);
    await this.putNode(token, 'the Mesos framework id', this.layout.frameworkId(), encodeRecord({ frameworkId }));
  }

  async clearFrameworkId(token: LeaderToken): Promise<void> {
    await this.removeNodes(token, 'the Mesos framework id', [this.layout.frameworkId()]);
  }

  async workers(): Promise<{ records: WorkerRecord[]; problems: StoreProblem[] }> {
    return this.listNodes(this.layout.workers, checkWorkerId, (text, id, path) => decodeWorker(text, id, znodeLocation(path)));
  }

  async putWorker(token: LeaderToken, record: WorkerRecord): Promise<void> {
    const id = checkWorkerRecord(record);
    await this.putNode(token, `the record of worker ${id}`, this.layout.worker(id), encodeRecord(record));
  }

  async removeWorker(token: LeaderToken, workerId: string): Promise<void> {
    checkWorkerId(workerId);
    await this.removeNodes(token, `the record of worker ${workerId}`, [this.layout.worker(workerId)]);
  }
}
