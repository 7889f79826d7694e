/**
 * Sinks for benchmark queries. DiscardingSink drops everything (it measures the pipeline, not an
 * output system). LatencySink also drops records, but counts them and, for records stamped with
 * an emission time (`emitMs > 0`), records end-to-end latency in a log-bucketed histogram; at
 * end of input it writes a LatencyReport into the stats directory, or prints a one-line summary
 * when no directory was given.
 */
import type { Sink, SinkWriter, SinkWriterContext } from '@sluice/api';
import { LatencyHistogram, meanMs, quantile } from './histogram.js';
import { wallClockMs, writeReport } from './reports.js';

/** Anything that may carry an emission stamp; 0 (or absent) means "not sampled". */
export interface Stamped {
  readonly emitMs?: number;
}

class DiscardingWriter<T> implements SinkWriter<T> {
  /** Kept so the engine cannot consider the sink a no-op; also handy when debugging. */
  count = 0;
  write(): void {
    this.count++;
  }
  flush(): void {}
  close(): void {}
}

export class DiscardingSink<T> implements Sink<T> {
  createWriter(): SinkWriter<T> {
    return new DiscardingWriter<T>();
  }
  describe(): string {
    return 'DiscardingSink';
  }
}

class LatencyWriter<T extends Stamped> implements SinkWriter<T> {
  private readonly histogram = new LatencyHistogram();
  private records = 0;
  private firstRecordAtMs = NaN;
  /** Wall clock of the last record timed (every stamped one, and every 1024th): ends the throughput span. */
  private lastRecordAtMs = NaN;

  constructor(private readonly subtask: number, private readonly statsDir: string | undefined) {}

  write(value: T): void {
    if (this.records++ === 0) this.firstRecordAtMs = wallClockMs();
    const emitted = value.emitMs;
    if (emitted !== undefined && emitted > 0) {
      const now = wallClockMs();
      this.histogram.record(now - emitted);
      this.lastRecordAtMs = now;
    } else if ((this.records & 1023) === 0) this.lastRecordAtMs = wallClockMs();
  }

  flush(endOfInput: boolean): void {
    if (!endOfInput) return;
    const histogram = this.histogram.toData();
    const report = { type: 'latency', subtask: this.subtask, records: this.records, firstRecordAtMs: this.firstRecordAtMs, lastRecordAtMs: this.lastRecordAtMs, endOfInputAtMs: wallClockMs(), histogram } as const;
    if (this.statsDir !== undefined) {
      writeReport(this.statsDir, report);
    } else {
      const f = (x: number): string => (Number.isNaN(x) ? '-' : x.toFixed(3));
      console.log(
        `LatencySink[${this.subtask}] records=${this.records} samples=${histogram.count} ` +
          `mean_ms=${f(meanMs(histogram))} p50_ms=${f(quantile(histogram, 0.5))} p99_ms=${f(quantile(histogram, 0.99))} max_ms=${f(histogram.maxMs)}`,
      );
    }
  }

  close(): void {}
}

export class LatencySink<T extends Stamped> implements Sink<T> {
  /** `statsDir` undefined → print a summary line per subtask instead of writing a report. */
  constructor(private readonly statsDir: string | undefined) {}
  createWriter(ctx: SinkWriterContext): SinkWriter<T> {
    return new LatencyWriter<T>(ctx.taskInfo.subtaskIndex, this.statsDir);
  }
  describe(): string {
    return 'LatencySink';
  }
}

/** The sink a Nexmark query ends with: measuring when `-D statsDir=` is set, discarding otherwise. */
export function querySink<T extends Stamped>(params: Readonly<Record<string, string>>): Sink<T> {
  const dir = params['statsDir'];
  return dir === undefined || dir === '' ? new DiscardingSink<T>() : new LatencySink<T>(dir);
}
