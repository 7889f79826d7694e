/**
 * The worker records in the HA store, written with the leadership token before the call each
 * guards. A write the store refuses leaves memory unchanged; a fenced write (another scheduler
 * leads now) is reported once through `onFenced`, which stops the driver.
 */
import { describeError, hasErrorCode, type Logger } from '@sluice/common';
import { HA_FENCED, type LeaderToken, type MesosStore } from '@sluice/ha';
import { toRecord, type Worker, type WorkerTable } from './worker-table.js';

export class WorkerRecords {
  constructor(
    private readonly store: MesosStore,
    private readonly token: LeaderToken,
    private readonly profile: string,
    private readonly workers: WorkerTable,
    private readonly logger: Logger,
    private readonly onFenced: () => void,
  ) {}

  /** Writes the record of `w` as it is; throws (logged) when the store refuses. */
  async put(w: Worker): Promise<void> {
    try {
      await this.store.putWorker(this.token, toRecord(w, this.profile));
    } catch (err) {
      this.failed(`cannot record worker ${w.taskId}`, err);
      throw err;
    }
  }

  /** Records `w` with `change` applied, then applies it in memory; false (logged) when the store refused. */
  async persist(w: Worker, change: Partial<Worker>): Promise<boolean> {
    try {
      await this.put({ ...w, ...change });
    } catch {
      return false;
    }
    Object.assign(w, change);
    return true;
  }

  /** Forgets the worker in the store, then in memory; throws (logged, worker kept) when the store refuses. */
  async remove(w: Worker): Promise<void> {
    try {
      await this.store.removeWorker(this.token, w.taskId);
    } catch (err) {
      this.failed(`cannot remove the record of worker ${w.taskId}`, err);
      throw err;
    }
    this.workers.delete(w);
  }

  /** Logs a refused write; a fenced one ends the driver's calls. */
  failed(what: string, err: unknown): void {
    if (!hasErrorCode(err, HA_FENCED)) {
      this.logger.warn(`${what}: ${describeError(err)}`);
      return;
    }
    this.logger.error(`${what}: this scheduler no longer leads (${describeError(err)}); it stops talking to Mesos and leaves the TaskManagers to the new leader`);
    this.onFenced();
  }
}
