/**
 * The checkpoint side of one subtask, on its worker thread. At a barrier (a trigger for a source
 * chain, aligned barriers for the others) `perform` runs the synchronous part: every operator's
 * own snapshot, a copy-on-write snapshot of every keyed backend, then the barrier downstream.
 * The task loop keeps processing and calls `progress` between batches, which captures key
 * groups in small slices; once all are captured the files are written off the loop and the
 * acknowledgement goes to the TaskManager. A source's position goes into the acknowledgement as
 * plain data, not into a file. Restoring reads this subtask's share of a checkpoint back before
 * the operators open.
 */
import { deserialize, serialize } from 'node:v8';
import { checkpointDir, readSections, readWholeFile, writeStateFile } from '@sluice/checkpoint';
import { describeError, ensureDirectory, preciseNowMs, serializeError, SluiceError } from '@sluice/common';
import type { CheckpointStats, SourcePosition, StateShape, SubtaskOperatorState, SubtaskRestore, TaskDeploymentDescriptor } from '@sluice/protocol';
import { isSourceOperator, type RestoredOperatorState, type StreamOperator } from '../operators/types.js';
import type { RecordWriter } from '../io/record-writer.js';
import type { HeapKeyedStateBackend } from '../state/heap-backend.js';
import { KeyedStateSnapshot, type KeyGroupBytes } from '../state/keyed-snapshot.js';
import type { InternalTimerService } from '../state/timer-service.js';
import type { WorkerMessage } from './messages.js';

export interface CheckpointedOperator {
  nodeId: number;
  uid: string;
  name: string;
  op: StreamOperator;
  keyed?: { backend: HeapKeyedStateBackend; timers?: InternalTimerService };
}

interface PendingOperator {
  member: CheckpointedOperator;
  keyed: KeyedStateSnapshot | undefined;
  /** What snapshotState returned: serialized at once, or a promise still to settle. */
  state: Uint8Array | Promise<unknown> | undefined;
  /** The head of a source chain: its position, copied at the barrier. */
  source?: SourcePosition;
}

interface PendingCheckpoint {
  id: number;
  parts: PendingOperator[];
  startedAt: number;
  syncMs: number;
  alignmentMs: number;
  /** Set once every key group is captured and the write has started. */
  writing: Promise<void> | undefined;
}

/** How long one `progress` call may spend capturing key groups. */
const CAPTURE_SLICE_MS = 2;

export class SubtaskCheckpointer {
  private readonly pending: PendingCheckpoint[] = [];
  private readonly writes = new Set<Promise<void>>();
  private failure: unknown = undefined;
  private notifications: Promise<void> = Promise.resolve();
  /** Acknowledged checkpoints whose completion (or abort) the JobMaster has not announced yet. */
  private readonly unconfirmed = new Set<number>();
  private onConfirmed: (() => void) | undefined;
  /** Highest checkpoint this subtask took part in. */
  lastCheckpointId = 0;

  constructor(
    private readonly tdd: TaskDeploymentDescriptor,
    private readonly members: readonly CheckpointedOperator[],
    private readonly writers: readonly RecordWriter[],
    private readonly post: (msg: WorkerMessage) => void,
  ) {}

  /** True while a snapshot is capturing or writing, or a failure waits to be thrown (the loop keeps calling `progress`). */
  get busy(): boolean {
    return this.pending.length > 0 || this.failure !== undefined;
  }

  /** True while key groups remain to be captured. */
  get capturing(): boolean {
    return this.pending.some((p) => p.writing === undefined);
  }

  /**
   * The synchronous part, at the barrier: operator snapshots, keyed snapshots started, barrier
   * sent on. Throws only for a failing user snapshot, which fails the task.
   */
  perform(checkpointId: number, alignmentMs: number): void {
    if (checkpointId <= this.lastCheckpointId) return;
    const t0 = preciseNowMs();
    // One capture at a time per backend: finish the previous one's remaining key groups now.
    for (const p of this.pending) for (const part of p.parts) part.keyed?.complete();
    this.lastCheckpointId = checkpointId;
    const parts: PendingOperator[] = [];
    for (const m of this.members) {
      if (isSourceOperator(m.op)) {
        parts.push({ member: m, keyed: undefined, state: undefined, source: m.op.snapshotPosition(checkpointId) });
        continue;
      }
      const value = m.op.snapshotState?.(checkpointId);
      // Serialized now: the operator's objects keep changing after the barrier.
      const state = value === undefined ? undefined : value instanceof Promise ? value : serialize(value);
      const keyed = m.keyed === undefined ? undefined : new KeyedStateSnapshot(m.keyed.backend, m.keyed.timers);
      parts.push({ member: m, keyed, state });
    }
    for (const w of this.writers) w.broadcastBarrier(checkpointId);
    this.pending.push({ id: checkpointId, parts, startedAt: t0, syncMs: preciseNowMs() - t0, alignmentMs, writing: undefined });
    this.progress();
  }

  /** Captures key groups for a little while; starts the write of a fully captured checkpoint. Throws a failure seen earlier. */
  progress(): void {
    if (this.failure !== undefined) throw this.failure;
    for (const p of this.pending) {
      if (p.writing !== undefined) continue;
      let done = true;
      for (const part of p.parts) if (part.keyed !== undefined && !part.keyed.step(CAPTURE_SLICE_MS)) done = false;
      if (!done) return;
      const write = this.write(p);
      p.writing = write;
      this.writes.add(write);
      void write.finally(() => {
        this.writes.delete(write);
        this.pending.splice(this.pending.indexOf(p), 1);
      });
    }
  }

  /** The end of the task: every started checkpoint captured, written and acknowledged. */
  async drain(): Promise<void> {
    for (const p of this.pending) for (const part of p.parts) part.keyed?.complete();
    this.progress();
    while (this.writes.size > 0) await Promise.all([...this.writes]);
    await this.notifications;
    if (this.failure !== undefined) throw this.failure;
  }

  /**
   * At the end of input: waits until the JobMaster has said how every acknowledged checkpoint
   * ended, so a sink commits what the last one covered (a stop-with-savepoint ends exactly so)
   * before the task finishes. Gives up when the task is cancelled or after `timeoutMs`.
   */
  async awaitConfirmations(timeoutMs: number, cancelled: () => boolean): Promise<void> {
    const deadline = preciseNowMs() + timeoutMs;
    while (this.unconfirmed.size > 0 && !cancelled()) {
      const left = deadline - preciseNowMs();
      if (left <= 0) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 50));
        this.onConfirmed = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.onConfirmed = undefined;
    }
    await this.notifications;
    if (this.failure !== undefined) throw this.failure;
  }

  /** From the JobMaster: the checkpoint is complete; operators commit, in chain order. */
  notifyComplete(checkpointId: number): void {
    for (const id of this.unconfirmed) if (id <= checkpointId) this.unconfirmed.delete(id);
    this.onConfirmed?.();
    this.notifications = this.notifications.then(async () => {
      for (const m of this.members) {
        try {
          await m.op.notifyCheckpointComplete?.(checkpointId);
        } catch (err) {
          this.failure ??= new SluiceError('CHECKPOINT_COMMIT_FAILED', `operator '${m.name}' failed to commit checkpoint ${checkpointId}: ${describeError(err)}`, { cause: err });
        }
      }
    });
  }

  notifyAborted(checkpointId: number): void {
    this.unconfirmed.delete(checkpointId);
    this.onConfirmed?.();
    for (const m of this.members) {
      try {
        m.op.notifyCheckpointAborted?.(checkpointId);
      } catch (err) {
        this.failure ??= err;
      }
    }
  }

  private async write(p: PendingCheckpoint): Promise<void> {
    const tdd = this.tdd;
    try {
      const dir = checkpointDirectory(tdd, p.id);
      await ensureDirectory(dir, 'checkpoint directory');
      const operators: SubtaskOperatorState[] = [];
      let bytes = 0;
      for (const part of p.parts) {
        const m = part.member;
        const entry: SubtaskOperatorState = { nodeId: m.nodeId, uid: m.uid };
        if (m.keyed !== undefined) entry.states = keyedStateShapes(m.keyed);
        const base = `${tdd.vertexId}-${tdd.subtaskIndex}-${m.nodeId}`;
        const sections = part.keyed?.sections() ?? [];
        if (sections.length > 0) {
          const { handle, keyGroups } = await writeStateFile(dir, `${base}.keyed`, sections);
          entry.keyed = { ...handle, keyGroups };
          bytes += handle.bytes;
        }
        const state = part.state instanceof Promise ? await part.state.then((v) => (v === undefined ? undefined : serialize(v))) : part.state;
        if (state !== undefined) {
          const { handle } = await writeStateFile(dir, `${base}.op`, [{ bytes: state }]);
          entry.operator = handle;
          bytes += handle.bytes;
        }
        if (part.source !== undefined) entry.source = part.source;
        if (entry.keyed !== undefined || entry.operator !== undefined || entry.source !== undefined || (entry.states?.length ?? 0) > 0) operators.push(entry);
      }
      const total = preciseNowMs() - p.startedAt;
      const capture = p.parts.reduce((m, part) => Math.max(m, part.keyed?.maxCaptureMs ?? 0), 0);
      const stats: CheckpointStats = { bytes, syncMs: p.syncMs, asyncMs: Math.max(0, total - p.syncMs), alignmentMs: p.alignmentMs, maxPauseMs: Math.max(p.syncMs, capture) };
      this.unconfirmed.add(p.id);
      this.post({ type: 'checkpoint-ack', checkpointId: p.id, operators, stats });
    } catch (err) {
      const error = new SluiceError('CHECKPOINT_DECLINED', `subtask ${tdd.vertexName} (${tdd.subtaskIndex + 1}/${tdd.parallelism}) could not write checkpoint ${p.id}: ${describeError(err)}`, { cause: err });
      this.post({ type: 'checkpoint-decline', checkpointId: p.id, error: serializeError(error) });
    }
  }
}

/** An operator's keyed states for the checkpoint metadata; its timers count as one more, the runtime's. */
function keyedStateShapes(keyed: NonNullable<CheckpointedOperator['keyed']>): StateShape[] {
  const states = keyed.backend.stateShapes();
  if (keyed.timers !== undefined) states.push({ name: '__sluice.timers', kind: 'timers' });
  return states;
}

/** Where the subtasks of a job write the files of checkpoint `id`: the layout the JobMaster's storage commits. */
export function checkpointDirectory(tdd: Pick<TaskDeploymentDescriptor, 'config' | 'jobId'>, id: number): string {
  if (tdd.config.checkpointDir === '') throw new SluiceError('INTERNAL', 'checkpoint taken without a checkpoint directory in the task configuration');
  return checkpointDir(tdd.config.checkpointDir, tdd.jobId, id);
}

/** Reads this subtask's share of a checkpoint: per operator node id, what to restore. */
export async function loadRestoredState(restore: SubtaskRestore | undefined, headNodeId: number): Promise<Map<number, RestoredOperatorState>> {
  const out = new Map<number, RestoredOperatorState>();
  if (restore === undefined) return out;
  for (const [nodeIdText, op] of Object.entries(restore.operators)) {
    const keyGroups: KeyGroupBytes[] = [];
    for (const file of op.keyed) {
      const bytes = await readSections(file.dir, file, file.keyGroups);
      file.keyGroups.forEach((section, i) => keyGroups.push({ keyGroup: section.keyGroup, bytes: bytes[i]! }));
    }
    const operatorState: unknown[] = [];
    for (const file of op.operator) operatorState.push(deserialize(await readWholeFile(file.dir, file)));
    const restored: RestoredOperatorState = { keyGroups, operatorState };
    const from = op.keyed[0]?.dir ?? op.operator[0]?.dir;
    if (op.states !== undefined && from !== undefined) restored.shapes = { uid: op.uid, from, states: op.states };
    out.set(Number(nodeIdText), restored);
  }
  if (restore.sourceWatermark !== undefined) {
    const head = out.get(headNodeId) ?? { keyGroups: [], operatorState: [] };
    head.watermark = restore.sourceWatermark;
    out.set(headNodeId, head);
  }
  return out;
}
