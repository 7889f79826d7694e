import { describe, expect, it } from 'vitest';
import { StreamExecutionEnvironment } from './environment.js';
import { OutputTag } from './output-tag.js';
import { describePlan } from './plan.js';
import { TumblingEventTimeWindows } from './windows.js';

describe('describePlan', () => {
  it('lists each chain with its operators and each exchange with its partitioner', () => {
    const env = new StreamExecutionEnvironment({ parallelism: 2 }).setJobName('counts');
    const late = new OutputTag<number>('late');
    const counts = env
      .fromSequence(1, 100)
      .keyBy((n) => n % 4)
      .window(TumblingEventTimeWindows.of(1000))
      .sideOutputLateData(late)
      .reduce((a, b) => a + b)
      .uid('window-sum');
    counts.print();
    counts.getSideOutput(late).collect('late').setParallelism(1);
    expect(describePlan(env.getJobGraph())).toBe(
      [
        "Job 'counts': 3 chains, 2 exchanges",
        '  default parallelism 2, max parallelism 128, buffer timeout 5 ms, watermark interval 200 ms',
        '  checkpoints off',
        '  restart strategy none',
        '',
        'v1  Source: Sequence(1..100)  [source]',
        '    parallelism 2, max parallelism 128',
        '    #1 Source: Sequence(1..100) (source)',
        'v2  Window(TumblingEventTimeWindows(1000), Reduce) -> Sink: Print to stdout  [sink]',
        '    parallelism 2, max parallelism 128',
        "    #2 Window(TumblingEventTimeWindows(1000), Reduce) (window, uid 'window-sum')",
        '    #3 Sink: Print to stdout (print)',
        'v3  Sink: Collect(late)  [sink]',
        '    parallelism 1, max parallelism 128',
        '    #4 Sink: Collect(late) (collect)',
        '',
        'Exchanges:',
        '  v1 --hash--> v2   (#1 Source: Sequence(1..100) -> #2 Window(TumblingEventTimeWindows(1000), Reduce))',
        "  v2 --rebalance--> v3   (#2 Window(TumblingEventTimeWindows(1000), Reduce) -> #4 Sink: Collect(late); side output 'late')",
        '',
      ].join('\n'),
    );
  });

  it('marks the second input of two-input operators and omits the exchange section when there is none', () => {
    const env = new StreamExecutionEnvironment();
    env
      .fromElements(1)
      .connect(env.fromElements('a'))
      .process<string>({ processElement1() {}, processElement2() {} })
      .print();
    const plan = describePlan(env.getJobGraph());
    expect(plan).toContain('  v2 --forward--> v3   (#2 Source: Elements -> #3 CoProcess; second input)');
    const single = new StreamExecutionEnvironment();
    single.fromElements(1).print();
    const text = describePlan(single.getJobGraph());
    expect(text).toContain("Job 'Sluice job': 1 chain, 0 exchanges");
    expect(text).not.toContain('Exchanges:');
  });

  it('shows the checkpoint interval, directory, limits and the restart strategy', () => {
    const env = new StreamExecutionEnvironment({ config: { checkpointIntervalMs: 1000 } });
    env.enableCheckpointing(2000, { dir: '/var/ck', retained: 3, tolerableFailedCheckpoints: 2 }).fromElements(1).print();
    const lines = describePlan(env.getJobGraph()).split('\n');
    expect(lines[2]).toBe('  checkpoints every 2s into /var/ck (timeout 10min, min pause 0ms, 3 retained, 2 failed in a row tolerated)');
    // A checkpointed job without a strategy of its own restarts with exponential backoff.
    expect(lines[3]).toBe('  restart strategy exponential-delay:initial=1s,max=1min,multiplier=1.5,reset-after=1h,jitter=0.1');
    const resolved = describePlan(env.getJobGraph(), { checkpointRoot: '/abs/ck' });
    expect(resolved).toContain(' into /abs/ck (');
  });
});
