/**
 * Bench job: what an idle subtask costs. A source of `parallelism` subtasks that emit nothing →
 * keyBy (an all-to-all exchange: parallelism² channels) → a keyed process function → a
 * discarding sink, so every slot runs two subtasks, each on its own worker thread.
 *
 * Each subtask writes one JSON file into `statsDir` once it is up (the source on its first poll,
 * the process function in open()): its own isolate's heap after a forced GC. Then the job idles
 * until the harness, having read the process's RSS with every subtask up, creates
 * `statsDir/release`; the sources then end and the job finishes.
 *
 * Params: statsDir (required).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  WatermarkStrategy,
  type KeyedProcessFunction,
  type ReaderOutput,
  type ReaderStatus,
  type RuntimeContext,
  type Source,
  type SourceReader,
  type SourceReaderContext,
  type SourceSplit,
  type StreamExecutionEnvironment,
} from '@sluice/api';
import { ConfigurationError } from '@sluice/common';
import { DiscardingSink } from '@sluice/examples/nexmark';
import { readHeapAfterGc } from './heap.js';
import { statsDirOf } from './params.js';

export const RELEASE_FILE = 'release';

/** One file per subtask, written once it is up. */
export interface IdleHeapReport {
  role: 'source' | 'process';
  subtask: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  afterGc: boolean;
}

function report(dir: string, role: IdleHeapReport['role'], subtask: number): void {
  const heap = readHeapAfterGc();
  const r: IdleHeapReport = { role, subtask, heapUsedBytes: heap.usedBytes, heapTotalBytes: heap.totalBytes, afterGc: heap.afterGc };
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${role}-${subtask}.json`), JSON.stringify(r));
}

/** How often an idle source looks for the release file: rarely enough to stay idle. */
const RELEASE_POLL_MS = 100;

class IdleReader implements SourceReader<number, SourceSplit> {
  private reported = false;

  constructor(
    private readonly dir: string,
    private readonly subtask: number,
  ) {}

  addSplits(): void {}
  notifyNoMoreSplits(): void {}

  pollNext(output: ReaderOutput<number>): ReaderStatus {
    if (!this.reported) {
      this.reported = true;
      output.markIdle?.();
      report(this.dir, 'source', this.subtask);
    }
    return existsSync(join(this.dir, RELEASE_FILE)) ? 'end' : 'nothing';
  }

  isAvailable(): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, RELEASE_POLL_MS));
  }

  snapshotState(): SourceSplit[] {
    return [];
  }

  close(): void {}
}

class IdleSource implements Source<number, SourceSplit> {
  readonly boundedness = 'bounded';
  constructor(private readonly dir: string) {}
  enumerateSplits(): SourceSplit[] {
    return [];
  }
  createReader(ctx: SourceReaderContext): IdleReader {
    return new IdleReader(this.dir, ctx.taskInfo.subtaskIndex);
  }
  describe(): string {
    return 'Idle';
  }
}

class ReportWhenOpen implements KeyedProcessFunction<number, number, number> {
  constructor(private readonly dir: string) {}
  open(ctx: RuntimeContext): void {
    report(this.dir, 'process', ctx.getTaskInfo().subtaskIndex);
  }
  processElement(): void {}
}

export default function idleBench(env: StreamExecutionEnvironment): void {
  env.setJobName('bench-idle');
  const dir = statsDirOf(env.params);
  if (dir === undefined) throw new ConfigurationError('the idle bench job needs -D statsDir=DIR (the harness sets it)');
  env
    .fromSource(new IdleSource(dir), WatermarkStrategy.noWatermarks<number>(), 'Idle source')
    .keyBy((x) => x)
    .process(new ReportWhenOpen(dir))
    .name('Idle process')
    .sinkTo(new DiscardingSink<number>());
}
