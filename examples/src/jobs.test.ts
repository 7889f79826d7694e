import { SeededRandom, StreamExecutionEnvironment } from '@sluice/api';
import { describe, expect, it } from 'vitest';
import fraudDetection from './fraud-detection.js';
import fraudProduce from './fraud-produce.js';
import q0 from './nexmark/queries/q0.js';
import q1 from './nexmark/queries/q1.js';
import q2 from './nexmark/queries/q2.js';
import q5 from './nexmark/queries/q5.js';
import q7 from './nexmark/queries/q7.js';
import windowedCounts, { sensorEvent } from './windowed-counts.js';

type Job = (env: StreamExecutionEnvironment) => void;

const jobs: Record<string, Job> = { fraudDetection, windowedCounts, q0, q1, q2, q5, q7 };

describe('example job files', () => {
  for (const [name, job] of Object.entries(jobs)) {
    it(`${name} builds the same job graph every time`, () => {
      const build = (): unknown => {
        const env = new StreamExecutionEnvironment({ params: { events: '1000', statsDir: '/tmp/unused' }, parallelism: 2 });
        job(env);
        const graph = env.getJobGraph();
        // Functions are compared by shape only; ids, names and edges must match exactly.
        return JSON.parse(JSON.stringify(graph)) as unknown;
      };
      expect(build()).toEqual(build());
    });
  }

  it('fraud detection in Kafka mode and the producer job build deterministically, without touching Kafka', () => {
    const kafka = { bootstrap: '127.0.0.1:9', 'input-topic': 'tx', 'output-topic': 'alerts', topic: 'tx', events: '1000' };
    for (const [job, params] of [
      [fraudDetection, { ...kafka, source: 'kafka' }],
      [fraudProduce, kafka],
    ] as const) {
      const build = (): { graph: unknown; operators: string[] } => {
        const env = new StreamExecutionEnvironment({ params, parallelism: 2 });
        job(env);
        const graph = env.getJobGraph();
        return { graph: JSON.parse(JSON.stringify(graph)) as unknown, operators: graph.vertices.flatMap((v) => v.operators.map((o) => o.name)) };
      };
      const first = build();
      expect(build()).toEqual(first);
      expect(first.operators.join(' ')).toMatch(/Kafka/);
    }
  });

  it('rejects a malformed parameter with its name', () => {
    const env = new StreamExecutionEnvironment({ params: { events: 'lots' } });
    expect(() => fraudDetection(env)).toThrow(/-D events=lots/);
  });

  it('windowed-counts only makes events late after the first 10 s, and by 30–60 s', () => {
    const rng = new SeededRandom();
    let late = 0;
    for (let i = 0; i < 10_000; i++) {
      const e = sensorEvent(i, rng.reseed(11, i));
      const delay = Date.UTC(2024, 0, 1) + i * 10 - e.timestamp;
      if (delay >= 2000) {
        late++;
        expect(i).toBeGreaterThanOrEqual(1000);
        expect(delay).toBeGreaterThanOrEqual(30_000);
      }
    }
    expect(late).toBeGreaterThan(50);
    expect(late).toBeLessThan(150);
  });
});
