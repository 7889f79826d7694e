/**
 * The executors' reports (framework messages, best effort): the latest one per worker is kept —
 * slots free and total, the TaskManager's metrics address, a summary — for the scheduler's
 * metrics and the Prometheus HTTP SD target list. A message that cannot be read, names a task
 * this driver has not launched, or comes from another executor than the task's is logged and
 * ignored.
 */
import type { Logger } from '@sluice/common';
import { decodeTaskManagerReport, type TaskManagerReport } from '@sluice/mesos-executor';
import { describeError } from '@sluice/common';
import { executorIdOf } from './launch.js';
import type { MesosDriverMetrics } from './metrics.js';
import type { Worker, WorkerTable } from './worker-table.js';

/** One target group of Prometheus's HTTP service discovery. */
export interface HttpSdTargetGroup {
  targets: string[];
  labels: { framework_id: string; agent_host: string; task_id: string };
}

/** `host:port` (a name, IPv4, or [IPv6]) — what goes into a Prometheus target. */
const HOST_PORT = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]{1,253}):\d{1,5}$/;

export class FrameworkMessages {
  constructor(
    private readonly workers: WorkerTable,
    private readonly metrics: MesosDriverMetrics,
    private readonly logger: Logger,
    private readonly nowMs: () => number,
  ) {}

  receive(executorId: string, data: Uint8Array): void {
    let report: TaskManagerReport;
    try {
      report = decodeTaskManagerReport(data);
    } catch (err) {
      this.ignore(`an unreadable framework message from executor ${executorId} (${describeError(err)})`);
      return;
    }
    const w = this.workers.get(report.taskId);
    if (w === undefined && report.phase === 'exited') {
      // The executor's last word, usually after the task's end removed the worker: nothing to keep.
      this.metrics.frameworkMessages.inc({ result: 'ignored' });
      this.logger.debug('the last report of an ended task', { taskId: report.taskId, executorId });
      return;
    }
    if (w === undefined || w.state === 'new') {
      this.ignore(`a report about task ${report.taskId}, which Sluice has not launched (executor ${executorId})`);
      return;
    }
    if (executorIdOf(w.taskId) !== executorId) {
      this.ignore(`a report about task ${report.taskId} from executor ${executorId}, not from its own ${executorIdOf(w.taskId)}`);
      return;
    }
    if (w.report !== undefined && w.report.at > report.at) return; // an older report overtaken by a newer one
    if (report.metricsAddress !== undefined && !HOST_PORT.test(report.metricsAddress)) {
      this.logger.warn(`task ${report.taskId} reported the metrics address ${JSON.stringify(report.metricsAddress).slice(0, 80)}, which is not host:port; left out of http_sd`);
      const { metricsAddress: _bad, ...rest } = report;
      report = rest;
    }
    w.report = report;
    w.reportReceivedMs = this.nowMs();
    this.metrics.frameworkMessages.inc({ result: 'accepted' });
  }

  /** The worker's executor reported its TaskManager registered within the last `freshMs`. */
  vouchesFor(resourceId: string, freshMs: number): boolean {
    const w = this.running().find((r) => r.resourceId === resourceId);
    return w !== undefined && w.report!.phase === 'registered' && w.reportReceivedMs !== undefined && this.nowMs() - w.reportReceivedMs <= freshMs;
  }

  /** Slots reported by the running TaskManagers. */
  slots(): { taskId: string; free: number; total: number }[] {
    return this.running().map((w) => ({ taskId: w.taskId, free: w.report!.slots.free, total: w.report!.slots.total }));
  }

  targets(frameworkId: string): HttpSdTargetGroup[] {
    const out: HttpSdTargetGroup[] = [];
    for (const w of this.running()) {
      const address = w.report!.metricsAddress;
      if (address === undefined) continue;
      out.push({ targets: [address], labels: { framework_id: frameworkId, agent_host: w.hostname ?? '', task_id: w.taskId } });
    }
    return out;
  }

  /** Launched, running, and reported by an executor whose TaskManager has not exited. */
  private running(): Worker[] {
    return this.workers.all().filter((w) => w.state === 'launched' && w.started && w.report !== undefined && w.report.phase !== 'exited');
  }

  private ignore(what: string): void {
    this.metrics.frameworkMessages.inc({ result: 'ignored' });
    this.logger.warn(`ignoring ${what}`);
  }
}
