import { ConfigurationError, JobDefinitionError } from '@sluice/common';
import { DEFAULT_JOB_CONFIG } from '@sluice/protocol';
import { describe, expect, it } from 'vitest';
import { StreamExecutionEnvironment } from './environment.js';
import type { Source } from './source.js';
import { WatermarkStrategy } from './watermarks.js';

describe('StreamExecutionEnvironment configuration', () => {
  it('starts from the defaults', () => {
    const env = new StreamExecutionEnvironment();
    expect(env.getConfig()).toEqual(DEFAULT_JOB_CONFIG);
    expect(env.getJobName()).toBe('Sluice job');
    expect(env.getParallelism()).toBe(1);
    expect(env.params).toEqual({});
  });

  it('layers submitter options under settings made in job code', () => {
    const env = new StreamExecutionEnvironment({
      params: { topic: 'payments' },
      parallelism: 4,
      config: { bufferTimeoutMs: 20, defaultParallelism: 2, maxParallelism: 256 },
    });
    expect(env.params.topic).toBe('payments');
    // -p beats the config's defaultParallelism: it is the more specific submitter setting.
    expect(env.getParallelism()).toBe(4);
    env.setParallelism(8).setBufferTimeout(0).setAutoWatermarkInterval(50).setJobName('fraud');
    expect(env.getConfig()).toEqual({
      ...DEFAULT_JOB_CONFIG,
      defaultParallelism: 8,
      maxParallelism: 256,
      bufferTimeoutMs: 0,
      autoWatermarkIntervalMs: 50,
    });
    env.fromSequence(1, 10).print();
    const jg = env.getJobGraph();
    expect(jg.jobName).toBe('fraud');
    expect(jg.vertices[0]?.parallelism).toBe(8);
  });

  it('applies env.setParallelism to operators defined before the call', () => {
    const env = new StreamExecutionEnvironment({ parallelism: 2 });
    env.fromSequence(1, 10).map((n) => n).print();
    env.setParallelism(5);
    expect([...env.getStreamGraph().nodes.values()].map((n) => n.parallelism)).toEqual([5, 5, 5]);
  });

  it('freezes params so job code cannot change what workers see', () => {
    const params = { a: '1' };
    const env = new StreamExecutionEnvironment({ params });
    params.a = '2';
    expect(env.params.a).toBe('1');
    expect(Object.isFrozen(env.params)).toBe(true);
  });

  it.each([
    ['parallelism 0', () => new StreamExecutionEnvironment({ parallelism: 0 }), /parallelism \(-p\) must be a positive integer, got 0/],
    ['fractional parallelism', () => new StreamExecutionEnvironment().setParallelism(1.5), /parallelism must be a positive integer, got 1.5/],
    ['negative buffer timeout', () => new StreamExecutionEnvironment().setBufferTimeout(-1), /buffer timeout \(ms\) must be a non-negative integer/],
    ['negative watermark interval', () => new StreamExecutionEnvironment().setAutoWatermarkInterval(-1), /auto watermark interval/],
    ['huge max parallelism', () => new StreamExecutionEnvironment().setMaxParallelism(40000), /at most 32768/],
    ['unknown config key', () => new StreamExecutionEnvironment({ config: { bufferTimeout: 5 } as never }), /unknown job config key 'bufferTimeout'/],
    ['bad config value', () => new StreamExecutionEnvironment({ config: { buffersPerChannel: 0 } }), /'buffersPerChannel' must be a positive integer/],
    ['-p above max parallelism', () => new StreamExecutionEnvironment({ parallelism: 200 }), /parallelism 200 exceeds max parallelism 128/],
    ['empty job name', () => new StreamExecutionEnvironment().setJobName(' '), /job name/],
    ['non-string param', () => new StreamExecutionEnvironment({ params: { n: 3 as never } }), /job parameter 'n' must be a string/],
  ])('rejects %s with a ConfigurationError', (_what, build, message) => {
    expect(build).toThrow(ConfigurationError);
    expect(build).toThrow(message);
  });

  it('checks parallelism against max parallelism once both are known', () => {
    const env = new StreamExecutionEnvironment();
    env.setParallelism(64).setMaxParallelism(32);
    expect(() => env.getConfig()).toThrow(/parallelism 64 exceeds max parallelism 32/);
    env.setMaxParallelism(64);
    expect(env.getConfig().maxParallelism).toBe(64);
  });

  it('rejects an operator parallelism above its max parallelism, naming the operator', () => {
    const env = new StreamExecutionEnvironment();
    env.fromSequence(1, 2).map((n) => n).name('widen').setParallelism(10).setMaxParallelism(8).print();
    expect(() => env.getStreamGraph()).toThrow(JobDefinitionError);
    expect(() => env.getStreamGraph()).toThrow(/'widen' \(node 2\) has parallelism 10 above its max parallelism 8/);
  });

  it('validates sources and sequences', () => {
    const env = new StreamExecutionEnvironment();
    expect(() => env.fromSequence(5, 1)).toThrow(/from <= to/);
    expect(() => env.fromSource({} as Source<number>, WatermarkStrategy.noWatermarks(), 'kafka')).toThrow(/fromSource\('kafka'\) needs a Source/);
    expect(() => env.fromGenerator({ count: -1, generate: (i) => i })).toThrow(/count must be a non-negative integer/);
  });

  it('names sources after what they read and keeps custom sources as given', () => {
    const env = new StreamExecutionEnvironment();
    const custom: Source<string> = {
      boundedness: 'bounded',
      enumerateSplits: () => [],
      createReader: () => {
        throw new Error('not used');
      },
    };
    const wm = WatermarkStrategy.forMonotonousTimestamps<string>();
    env.fromSource(custom, wm, 'Kafka: payments').print();
    env.fromGenerator({ count: 10, ratePerSecond: 5, generate: (i) => i }).print();
    const g = env.getStreamGraph();
    const src = g.getNode(1).spec;
    expect(src.kind === 'source' && src.source === custom && src.watermarks === wm).toBe(true);
    expect(g.getNode(1).name).toBe('Kafka: payments');
    expect(g.getNode(3).name).toBe('Source: Generator(10, 5/s)');
  });
});
