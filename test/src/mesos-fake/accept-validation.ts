/**
 * ACCEPT validation as the Mesos master does it, as pure functions: first the offers (known,
 * this framework's, distinct, one agent, one allocation role), then each LAUNCH task in order
 * against what is left of the offered resources (TaskInfo rules, executor rules, and offered ⊇
 * task + new-executor resources compared metadata-sensitively: only the amount may shrink).
 */
import type { ExecutorInfo, Resource, TaskInfo } from '@sluice/mesos-proto';
import { describe, fromWire, subtract, sum, type Res } from './resources.js';
import type { FakeOffer } from './model.js';

export interface OfferCheck {
  offers: FakeOffer[];
  error: string | undefined;
}

/** validation::offer::validate: every offer known, this framework's, used once, same agent and role. */
export function validateOffers(offerIds: readonly string[], lookup: (id: string) => FakeOffer | undefined, frameworkId: string): OfferCheck {
  const offers: FakeOffer[] = [];
  const seen = new Set<string>();
  let error: string | undefined;
  for (const id of offerIds) {
    if (seen.has(id)) {
      error ??= `Duplicate offer ${id} in offer list`;
      continue;
    }
    seen.add(id);
    const offer = lookup(id);
    if (offer === undefined) {
      error ??= `Offer ${id} is no longer valid`;
      continue;
    }
    if (offer.frameworkId !== frameworkId) {
      error ??= `Offer ${id} has invalid framework ${offer.frameworkId} while framework ${frameworkId} is expected`;
      continue;
    }
    offers.push(offer);
  }
  const first = offers[0];
  if (error === undefined && first !== undefined) {
    if (offers.some((o) => o.agentId !== first.agentId)) error = 'Aggregated offers must belong to one single agent';
    else if (offers.some((o) => o.role !== first.role)) error = `Aggregated offers must be allocated to the same role`;
  }
  if (error === undefined && offerIds.length === 0) error = 'No offers specified';
  return { offers, error };
}

export type TaskVerdict =
  | { ok: true; task: TaskInfo; resources: Res[]; executor: ExecutorInfo | undefined; executorResources: Res[]; newExecutor: boolean }
  | { ok: false; task: TaskInfo; message: string };

export interface LaunchContext {
  frameworkId: string;
  agentId: string;
  role: string;
  /** Executors of this framework already on the agent: id → info. */
  existingExecutors: ReadonlyMap<string, ExecutorInfo>;
  /** Task ids the framework already has (live). */
  existingTaskIds: ReadonlySet<string>;
}

function validateTaskId(id: string): string | undefined {
  if (id === '') return 'ID must not be empty';
  if (id.length > 255) return 'ID must not be greater than 255 characters';
  if (id === '.' || id === '..') return `'${id}' is disallowed`;
  if (/[\x00-\x1f/\\]/.test(id)) return `'${id}' contains invalid characters`;
  return undefined;
}

function readResources(list: readonly Resource[] | undefined, role: string): Res[] | string {
  const out: Res[] = [];
  for (const r of list ?? []) {
    const res = fromWire(r);
    if (typeof res === 'string') return res;
    // The master injects the offer's allocation role where the framework left it out.
    res.allocationRole ??= role;
    out.push(res);
  }
  return out;
}

function withoutDefaults(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutDefaults);
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      // proto2 defaults: an explicit default equals an absent field.
      if ((key === 'shell' || key === 'extract' || key === 'cached') && v === true) continue;
      if (key === 'resources') continue;
      out[key] = withoutDefaults(v);
    }
    return out;
  }
  return value;
}

/** Mesos compares ExecutorInfos field by field (resources as resources). */
export function sameExecutorInfo(a: ExecutorInfo, b: ExecutorInfo, role: string): boolean {
  if (JSON.stringify(withoutDefaults(a)) !== JSON.stringify(withoutDefaults(b))) return false;
  const ra = readResources(a.resources, role);
  const rb = readResources(b.resources, role);
  if (typeof ra === 'string' || typeof rb === 'string') return false;
  return subtract(sum(ra), sum(rb))?.length === 0 && subtract(sum(rb), sum(ra))?.length === 0;
}

function validateExecutor(executor: ExecutorInfo, ctx: LaunchContext, launchedHere: Map<string, ExecutorInfo>): string | undefined {
  if (executor.framework_id !== undefined && executor.framework_id.value !== ctx.frameworkId) {
    return `ExecutorInfo has an invalid FrameworkID (Actual: ${executor.framework_id.value} vs Expected: ${ctx.frameworkId})`;
  }
  const idError = validateTaskId(executor.executor_id.value);
  if (idError !== undefined) return `Executor ID '${executor.executor_id.value}' is invalid: ${idError}`;
  if (executor.type === 'DEFAULT') return "'ExecutorInfo.type' must be 'CUSTOM' for a LAUNCH operation (use LAUNCH_GROUP for the default executor)";
  if (executor.command === undefined) return "'ExecutorInfo.command' must be set for 'CUSTOM' executor";
  const previous = ctx.existingExecutors.get(executor.executor_id.value) ?? launchedHere.get(executor.executor_id.value);
  const filled: ExecutorInfo = { ...executor, framework_id: { value: ctx.frameworkId } };
  if (previous !== undefined && !sameExecutorInfo({ ...previous, framework_id: { value: ctx.frameworkId } }, filled, ctx.role)) {
    return `ExecutorInfo is not compatible with existing ExecutorInfo with same ExecutorID '${executor.executor_id.value}'`;
  }
  return undefined;
}

/**
 * Validates the tasks of the LAUNCH operations in order against the offered resources; each
 * valid task consumes its resources (and a new executor's) from what is left. Returns the
 * verdicts and the resources left unused (which count as declined).
 */
export function validateLaunches(tasks: readonly TaskInfo[], offered: Res[], ctx: LaunchContext): { verdicts: TaskVerdict[]; remaining: Res[] } {
  let available = sum(offered);
  const verdicts: TaskVerdict[] = [];
  const taskIds = new Set(ctx.existingTaskIds);
  const launchedHere = new Map<string, ExecutorInfo>();
  for (const task of tasks) {
    const fail = (message: string): void => {
      verdicts.push({ ok: false, task, message });
    };
    const id = task.task_id.value;
    const idError = validateTaskId(id);
    if (idError !== undefined) {
      fail(`Task ID '${id}' is invalid: ${idError}`);
      continue;
    }
    if (task.agent_id.value !== ctx.agentId) {
      fail(`Task uses invalid agent: ${task.agent_id.value}`);
      continue;
    }
    if (taskIds.has(id)) {
      fail(`Task has duplicate ID: ${id}`);
      continue;
    }
    if ((task.executor === undefined) === (task.command === undefined)) {
      fail('Task should have at least one (but not both) of CommandInfo or ExecutorInfo present');
      continue;
    }
    if ((task.resources ?? []).length === 0) {
      fail('Task uses no resources');
      continue;
    }
    const resources = readResources(task.resources, ctx.role);
    if (typeof resources === 'string') {
      fail(`Task uses invalid resources: ${resources}`);
      continue;
    }
    let executorResources: Res[] = [];
    let newExecutor = false;
    const executor = task.executor === undefined ? undefined : { ...structuredClone(task.executor), framework_id: { value: ctx.frameworkId } };
    if (task.executor !== undefined && executor !== undefined) {
      const error = validateExecutor(task.executor, ctx, launchedHere);
      if (error !== undefined) {
        fail(`Task has invalid ExecutorInfo: ${error}`);
        continue;
      }
      const exResources = readResources(task.executor.resources, ctx.role);
      if (typeof exResources === 'string') {
        fail(`Executor uses invalid resources: ${exResources}`);
        continue;
      }
      const id = task.executor.executor_id.value;
      newExecutor = !ctx.existingExecutors.has(id) && !launchedHere.has(id);
      if (newExecutor) executorResources = exResources;
    }
    const needed = sum(resources, executorResources);
    const left = subtract(available, needed);
    if (left === undefined) {
      fail(`Task uses more resources ${describe(needed)} than available ${describe(available)}`);
      continue;
    }
    available = left;
    taskIds.add(id);
    if (executor !== undefined && newExecutor) launchedHere.set(executor.executor_id.value, executor);
    verdicts.push({ ok: true, task, resources: sum(resources), executor, executorResources: sum(executorResources), newExecutor });
  }
  return { verdicts, remaining: available };
}
