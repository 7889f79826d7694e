/**
 * The RuntimeContext user functions receive in `open()`, and the lifecycle calls around it.
 * Keyed state comes from the operator's heap backend; operators on non-keyed streams have none,
 * and asking for state there is a job-definition mistake we explain rather than crash on.
 */
import type {
  AggregatingState,
  AggregatingStateDescriptor,
  Lifecycle,
  ListState,
  ListStateDescriptor,
  MapState,
  MetricGroup,
  MapStateDescriptor,
  ReducingState,
  ReducingStateDescriptor,
  RuntimeContext,
  TaskInfo,
  ValueState,
  ValueStateDescriptor,
} from '@sluice/api';
import { StateAccessError } from '../state/errors.js';
import { HeapKeyedStateBackend } from '../state/heap-backend.js';
import { InternalTimerService, type TimerTarget } from '../state/timer-service.js';
import type { OperatorContext } from './types.js';

export class OperatorRuntimeContext implements RuntimeContext {
  constructor(private readonly ctx: OperatorContext, private readonly backend: HeapKeyedStateBackend | undefined) {}

  getTaskInfo(): TaskInfo {
    return this.ctx.taskInfo;
  }
  getParams(): Readonly<Record<string, string>> {
    return this.ctx.params;
  }
  getMetricGroup(): MetricGroup {
    return this.ctx.customMetrics;
  }
  getState<T>(d: ValueStateDescriptor<T>): ValueState<T> {
    return this.keyed(d.name).getState(d);
  }
  getListState<T>(d: ListStateDescriptor<T>): ListState<T> {
    return this.keyed(d.name).getListState(d);
  }
  getMapState<UK, UV>(d: MapStateDescriptor<UK, UV>): MapState<UK, UV> {
    return this.keyed(d.name).getMapState(d);
  }
  getReducingState<T>(d: ReducingStateDescriptor<T>): ReducingState<T> {
    return this.keyed(d.name).getReducingState(d);
  }
  getAggregatingState<I, ACC, O>(d: AggregatingStateDescriptor<I, ACC, O>): AggregatingState<I, O> {
    return this.keyed(d.name).getAggregatingState(d);
  }

  private keyed(name: string): HeapKeyedStateBackend {
    if (this.backend === undefined) {
      throw new StateAccessError(
        `operator '${this.ctx.operatorName}' asked for keyed state '${name}', but its input is not keyed; call keyBy(...) before this operator to use keyed state`,
      );
    }
    return this.backend;
  }
}

export async function openFunction(fn: Lifecycle, rc: RuntimeContext): Promise<void> {
  if (typeof fn.open === 'function') await fn.open(rc);
}

export async function closeFunction(fn: Lifecycle): Promise<void> {
  if (typeof fn.close === 'function') await fn.close();
}

/**
 * The keyed state backend of a keyed operator on this subtask, with any restored key groups
 * loaded and registered with the task for checkpoints.
 */
export function createKeyedBackend(ctx: OperatorContext): HeapKeyedStateBackend {
  const backend = new HeapKeyedStateBackend(ctx.taskInfo.maxParallelism, ctx.keyGroupRange, ctx.operatorName);
  if (ctx.restored?.shapes !== undefined) backend.expectRestoredStates(ctx.restored.shapes);
  for (const g of ctx.restored?.keyGroups ?? []) backend.restoreSerializedGroup(g.keyGroup, g.bytes);
  ctx.registerKeyedState?.(backend);
  return backend;
}

/** The timer service of a keyed operator: restored timers re-registered, checkpointed with its backend. */
export function createTimerService(ctx: OperatorContext, backend: HeapKeyedStateBackend, target: TimerTarget): InternalTimerService {
  const timers = new InternalTimerService(backend, ctx.processingTime, target);
  ctx.registerKeyedState?.(backend, timers);
  return timers;
}
