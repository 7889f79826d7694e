import { describe, expect, it } from 'vitest';
import { StreamExecutionEnvironment } from './environment.js';
import type { Sink } from './sink.js';
import type { Source } from './source.js';
import { WatermarkStrategy } from './watermarks.js';
import { EventTimeSessionWindows, TumblingProcessingTimeWindows } from './windows.js';

class NullSink implements Sink<unknown> {
  createWriter() {
    return { write: () => undefined, flush: () => undefined, close: () => undefined };
  }
}

/** The `states` of every operator of the job graph, by operator name (operators without any left out). */
function statesByName(env: StreamExecutionEnvironment): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const v of env.getJobGraph().vertices) for (const o of v.operators) if (o.states !== undefined) out[o.name] = o.states;
  return out;
}

describe('operator state shapes in the job graph', () => {
  it("records a source's split type, a sink's class and a window's contents; keyed state is left to the subtasks", () => {
    const env = new StreamExecutionEnvironment();
    const numbers = env.fromGenerator({ count: 10, name: 'numbers', generate: (i) => i });
    numbers.keyBy((n) => n % 2).window(TumblingProcessingTimeWindows.of(10)).reduce((a, b) => a + b).name('sums').sinkTo(new NullSink()).name('out');
    numbers.keyBy((n) => n % 2).window(EventTimeSessionWindows.withGap(5)).aggregate({ createAccumulator: () => 0, add: (v, a) => a + v, getResult: (a) => a, merge: (a, b) => a + b }).name('sessions').print();
    env.fromCollection([1]).keyBy((n) => n).reduce((a, b) => a + b).name('rolling').print();
    expect(statesByName(env)).toEqual({
      'Source: numbers': [{ name: 'splits', kind: 'source', type: 'generator' }],
      sums: [{ name: 'contents', kind: 'window', type: 'reduced values of fixed windows' }],
      out: [{ name: 'sink', kind: 'sink', type: 'NullSink' }],
      sessions: [{ name: 'contents', kind: 'window', type: 'accumulators of session windows' }],
      'Source: Collection': [{ name: 'splits', kind: 'source', type: 'collection' }],
    });
  });

  it('names a source by its class when it declares no split type, and leaves a plain-object source untyped', () => {
    class TickSource implements Source<number> {
      readonly boundedness = 'bounded' as const;
      enumerateSplits() {
        return [];
      }
      createReader(): never {
        throw new Error('not run');
      }
      describe() {
        return 'ticks';
      }
    }
    const plain: Source<number> = { boundedness: 'bounded', enumerateSplits: () => [], createReader: () => new TickSource().createReader(), describe: () => 'plain' };
    const env = new StreamExecutionEnvironment();
    env.fromSource(new TickSource(), WatermarkStrategy.noWatermarks(), 'Source: ticks').print();
    env.fromSource(plain, WatermarkStrategy.noWatermarks(), 'Source: plain').print();
    expect(statesByName(env)).toEqual({
      'Source: ticks': [{ name: 'splits', kind: 'source', type: 'TickSource' }],
      'Source: plain': [{ name: 'splits', kind: 'source' }],
    });
  });
});
