/**
 * The Kafka benchmarks (runs of kind 'kafka' in runs.ts): topic → map → topic against a real
 * broker, measured for sustained throughput and for end-to-end latency at a steady rate.
 */
import type { BenchRun, SizeContext } from '../runs.js';
import { runKafkaLatency } from './latency.js';
import type { KafkaRunOptions, KafkaRunOutcome } from './run-options.js';
import { runKafkaThroughput } from './throughput.js';

export { BrokerSession, givenBootstrap, missingBrokerTools, KAFKA_BENCH_HINT, KafkaBenchSetupError } from './broker.js';
export type { KafkaRunOutcome } from './run-options.js';

export async function executeKafkaRun(run: BenchRun, ctx: SizeContext, bootstrap: string, jobParams: Record<string, string>): Promise<KafkaRunOutcome> {
  const spec = run.kafka;
  if (spec === undefined) throw new Error(`bench run ${run.name} is of kind 'kafka' but has no kafka spec`);
  const base: KafkaRunOptions = {
    bootstrap,
    jobFile: run.jobFile,
    parallelism: run.parallelism,
    partitions: spec.partitions,
    jobParams,
    ...(run.bufferTimeoutMs === undefined ? {} : { bufferTimeoutMs: run.bufferTimeoutMs }),
  };
  if (spec.type === 'throughput') return runKafkaThroughput({ ...base, records: spec.records(ctx) });
  return runKafkaLatency({ ...base, rate: spec.rate, burstRecords: spec.burstRecords(ctx), warmupSeconds: spec.warmupSeconds(ctx), measureSeconds: spec.measureSeconds(ctx) });
}
