/**
 * Turns an OperatorSpec into the StreamOperator that executes it. The switch is exhaustive, so a
 * new kind in api/spec.ts does not compile until it has an operator here.
 */
import type { OperatorSpec } from '@sluice/api';
import { CoProcessOperator } from './co-process.js';
import { CollectOperator } from './collect.js';
import { FileSinkOperator } from './file.js';
import { FilterOperator } from './filter.js';
import { FlatMapOperator } from './flat-map.js';
import { KeyedCoProcessOperator } from './keyed-co-process.js';
import { KeyedProcessOperator } from './keyed-process.js';
import { MapOperator } from './map.js';
import { PrintOperator } from './print.js';
import { ProcessOperator } from './process.js';
import { RollingAggregateOperator } from './rolling-aggregate.js';
import { RollingReduceOperator } from './rolling-reduce.js';
import { SinkOperator } from './sink.js';
import { SourceOperator } from './source.js';
import { TimestampsAndWatermarksOperator } from './timestamps-and-watermarks.js';
import type { StreamOperator } from './types.js';
import { WindowOperator } from './window-operator.js';

export function createOperator(spec: OperatorSpec, nodeName: string): StreamOperator {
  switch (spec.kind) {
    case 'source':
      return new SourceOperator(spec.source, spec.watermarks);
    case 'map':
      return new MapOperator(spec.fn);
    case 'filter':
      return new FilterOperator(spec.fn);
    case 'flatMap':
      return new FlatMapOperator(spec.fn);
    case 'process':
      return new ProcessOperator(spec.fn);
    case 'timestampsAndWatermarks':
      return new TimestampsAndWatermarksOperator(spec.watermarks);
    case 'reduce':
      return new RollingReduceOperator(spec.keySelector, spec.fn);
    case 'aggregate':
      return new RollingAggregateOperator(spec.keySelector, spec.fn);
    case 'keyedProcess':
      return new KeyedProcessOperator(spec.keySelector, spec.fn);
    case 'window':
      return new WindowOperator(spec, nodeName);
    case 'coProcess':
      return new CoProcessOperator(spec.fn);
    case 'keyedCoProcess':
      return new KeyedCoProcessOperator(spec.keySelector1, spec.keySelector2, spec.fn);
    case 'sink':
      return new SinkOperator(spec.sink);
    case 'print':
      return new PrintOperator(spec.prefix, spec.stderr);
    case 'file':
      return new FileSinkOperator(spec.path);
    case 'collect':
      return new CollectOperator(spec.name);
    default:
      return unknownKind(spec);
  }
}

function unknownKind(spec: never): never {
  throw new TypeError(`unknown operator kind '${(spec as { kind: string }).kind}'`);
}
