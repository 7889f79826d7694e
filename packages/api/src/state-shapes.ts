/**
 * The state an operator keeps as far as its definition tells it, for the job graph: what a
 * source's splits are, what a sink keeps, what a window holds. Checkpoints record it, and a
 * restore compares it before deploying anything, so a job never reads another job's positions or
 * accumulators as its own. Keyed state declared in `open()` is known only to the subtasks, which
 * record and check it themselves.
 */
import type { StateShape } from '@sluice/protocol';
import type { OperatorSpec, WindowFunctionSpec } from './spec.js';

export function operatorStateShapes(spec: OperatorSpec): StateShape[] | undefined {
  switch (spec.kind) {
    case 'source':
      return [typed({ name: 'splits', kind: 'source' }, spec.source.splitType ?? className(spec.source))];
    case 'sink':
      return [typed({ name: 'sink', kind: 'sink' }, className(spec.sink))];
    case 'window':
      return [{ name: 'contents', kind: 'window', type: `${CONTENTS[spec.function.type]} of ${spec.assigner.isMerging ? 'session' : 'fixed'} windows` }];
    default:
      return undefined;
  }
}

/** What a window keeps per (key, window) for each kind of window function. */
const CONTENTS: Record<WindowFunctionSpec['type'], string> = {
  reduce: 'reduced values',
  aggregate: 'accumulators',
  process: 'buffered elements',
};

function typed(shape: StateShape, type: string | undefined): StateShape {
  return type === undefined ? shape : { ...shape, type };
}

/** The class an object was made by; undefined for plain objects, whose kind nothing tells. */
function className(o: object): string | undefined {
  const name: unknown = (Object.getPrototypeOf(o) as { constructor?: { name?: unknown } } | null)?.constructor?.name;
  return typeof name === 'string' && name !== '' && name !== 'Object' ? name : undefined;
}
