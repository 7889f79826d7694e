/**
 * The framework messages about one TaskManager: its slots (total, free) and a metric summary,
 * sent when it registers, whenever its free slots change (noticed by reading its /metrics every
 * poll interval), at least every report interval, and once more when its process has exited.
 * Best effort, like framework messages themselves: a failed scrape reuses the last known slots,
 * a failed send is the sender's to log.
 */
import { describeError, type Logger } from '@sluice/common';
import { TASK_PROTOCOL_VERSION, type TaskManagerReport } from './task-protocol.js';
import { scrapeTaskManager, withRates, type TaskManagerScrape } from './taskmanager-metrics.js';

export interface TaskManagerReporterOptions {
  taskId: string;
  /** The TaskManager's /metrics URL, as it announced it. */
  metricsUrl: string | undefined;
  /** `host:port` others scrape it at (the advertised host and the bound metrics port). */
  metricsAddress: string | undefined;
  /** Slots it was started with: the report until the first scrape. */
  slots: number;
  pollIntervalMs: number;
  reportIntervalMs: number;
  send(report: TaskManagerReport): void;
  logger: Logger;
  /** Reads /metrics; tests may replace it. */
  scrape?: (url: string) => Promise<TaskManagerScrape>;
  now?: () => number;
}

export class TaskManagerReporter {
  private last: TaskManagerScrape | undefined;
  private previous: TaskManagerScrape | undefined;
  private lastSentAt = -Infinity;
  private lastSentSlots = '';
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private scrapeFailures = 0;
  private readonly now: () => number;
  private readonly scrape: (url: string) => Promise<TaskManagerScrape>;

  constructor(private readonly o: TaskManagerReporterOptions) {
    this.now = o.now ?? Date.now;
    this.scrape = o.scrape ?? ((url) => scrapeTaskManager(url, Math.max(1_000, o.pollIntervalMs * 5), this.now));
  }

  /** The TaskManager registered: report at once, then keep watching. */
  async start(): Promise<void> {
    await this.poll();
    if (!this.stopped) this.report('registered');
    this.schedule();
  }

  /** Its process ended: stop watching and say so. */
  exited(): void {
    this.stop();
    this.report('exited', { total: this.last?.slots.total ?? this.o.slots, free: 0 });
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.tick();
    }, this.o.pollIntervalMs);
  }

  private async tick(): Promise<void> {
    await this.poll();
    if (this.stopped) return;
    const slots = this.slots();
    if (`${slots.total}/${slots.free}` !== this.lastSentSlots || this.now() - this.lastSentAt >= this.o.reportIntervalMs) this.report('registered');
    this.schedule();
  }

  private async poll(): Promise<void> {
    if (this.o.metricsUrl === undefined) return;
    try {
      const scrape = await this.scrape(this.o.metricsUrl);
      this.previous = this.last;
      this.last = scrape;
      this.scrapeFailures = 0;
    } catch (err) {
      // Once per run of failures: a TaskManager busy for a few seconds should not flood the log.
      if (this.scrapeFailures++ === 0) this.o.logger.warn(`cannot read TaskManager ${this.o.taskId}'s metrics; reporting its last known slots`, { error: describeError(err) });
    }
  }

  private slots(): { total: number; free: number } {
    return this.last?.slots ?? { total: this.o.slots, free: this.o.slots };
  }

  private report(phase: TaskManagerReport['phase'], slots = this.slots()): void {
    const report: TaskManagerReport = {
      v: TASK_PROTOCOL_VERSION,
      kind: 'taskmanager-report',
      taskId: this.o.taskId,
      phase,
      slots,
      metrics: this.last === undefined ? {} : withRates(this.last, this.previous),
      at: this.now(),
      ...(this.o.metricsAddress === undefined ? {} : { metricsAddress: this.o.metricsAddress }),
    };
    this.lastSentAt = report.at;
    this.lastSentSlots = `${slots.total}/${slots.free}`;
    this.o.send(report);
  }
}

/** `host:port` of a TaskManager's /metrics as others reach it: its advertised host, the port it bound. */
export function metricsAddressOf(advertisedHost: string, metricsUrl: string | undefined): string | undefined {
  if (metricsUrl === undefined) return undefined;
  let port: string;
  try {
    port = new URL(metricsUrl).port;
  } catch {
    return undefined;
  }
  if (port === '') return undefined;
  const host = advertisedHost.includes(':') && !advertisedHost.startsWith('[') ? `[${advertisedHost}]` : advertisedHost;
  return `${host}:${port}`;
}
