/**
 * Bench job: Kafka topic → map → Kafka topic, 100-byte JSON records (see ../kafka/records.ts).
 * The source reads `input` (bounded: up to the end offsets at job start, so the throughput run
 * finishes), the map converts the amount, the sink writes JSON to `output` without keys (spread
 * over the partitions) and lets the broker or producer set timestamps. At equal parallelism the
 * three operators form one chain: one thread per subtask does fetch, parse, map, serialize, send.
 *
 * Params: bootstrap, input, output (required); bounded (default false); source knobs
 * maxWaitMs, maxBytesPerPartition, maxBufferedPerPartition; sink knobs lingerMs, batchSize,
 * maxInFlight, maxConcurrentSends, delivery (none | at-least-once); chainSink (default true; false puts the sink
 * in its own task); trace (default false; the latency run's per-hop trace, see withTrace).
 * Unset knobs keep the connectors' defaults.
 */
import { WatermarkStrategy, type Collector, type ProcessContext, type ProcessFunction, type StreamExecutionEnvironment } from '@sluice/api';
import { ConfigurationError } from '@sluice/common';
import { KafkaDeserializers, KafkaSerializers, KafkaSink, KafkaSource, type KafkaDeliveryGuarantee, type KafkaSinkOptions, type KafkaSourceOptions } from '@sluice/kafka';
import { convertAmount, preciseEpochMs, withTrace, type BenchRecord } from '../kafka/records.js';
import { intParam } from './params.js';

type Params = Readonly<Record<string, string>>;

function required(p: Params, name: string): string {
  const v = p[name];
  if (v === undefined || v === '') throw new ConfigurationError(`the kafka-map bench job needs -D ${name}=...`);
  return v;
}

function flag(p: Params, name: string, fallback: boolean): boolean {
  const v = p[name];
  if (v === undefined || v === '') return fallback;
  if (v !== 'true' && v !== 'false') throw new ConfigurationError(`parameter -D ${name}=${v} is invalid: expected true or false`);
  return v === 'true';
}

/** Only the knobs that were given, so the connectors' own defaults apply otherwise. */
function knobs<K extends string>(p: Params, names: Record<K, { param: string; min: number }>): Partial<Record<K, number>> {
  const out: Partial<Record<K, number>> = {};
  for (const [key, { param, min }] of Object.entries(names) as [K, { param: string; min: number }][]) {
    if (p[param] !== undefined && p[param] !== '') out[key] = intParam(p, param, 0, min);
  }
  return out;
}

/** The map with the latency trace: the record timestamp is the input's LogAppendTime. */
class ConvertAndTrace implements ProcessFunction<BenchRecord, BenchRecord> {
  processElement(r: BenchRecord, ctx: ProcessContext, out: Collector<BenchRecord>): void {
    out.collect(withTrace(convertAmount(r), ctx.timestamp(), preciseEpochMs()));
  }
}

export default function kafkaMapBench(env: StreamExecutionEnvironment): void {
  env.setJobName('bench-kafka-map');
  const p = env.params;
  const bootstrapServers = required(p, 'bootstrap');
  const delivery = p['delivery'] ?? 'at-least-once';
  if (delivery !== 'none' && delivery !== 'at-least-once') throw new ConfigurationError(`parameter -D delivery=${delivery} is invalid: expected none or at-least-once`);

  const sourceOptions: KafkaSourceOptions<BenchRecord> = {
    bootstrapServers,
    topics: required(p, 'input'),
    deserializer: KafkaDeserializers.json<BenchRecord>(),
    startingOffsets: 'earliest',
    bounded: flag(p, 'bounded', false),
    groupIdPrefix: 'sluice-bench',
    ...knobs(p, {
      maxWaitTimeMs: { param: 'maxWaitMs', min: 1 },
      maxBytesPerPartition: { param: 'maxBytesPerPartition', min: 1024 },
      maxBufferedRecordsPerPartition: { param: 'maxBufferedPerPartition', min: 1 },
    }),
  };
  const sinkOptions: KafkaSinkOptions<BenchRecord> = {
    bootstrapServers,
    topic: required(p, 'output'),
    valueSerializer: KafkaSerializers.json<BenchRecord>(),
    deliveryGuarantee: delivery as KafkaDeliveryGuarantee,
    writeTimestamps: false,
    ...knobs(p, {
      lingerMs: { param: 'lingerMs', min: 0 },
      batchSize: { param: 'batchSize', min: 1 },
      maxInFlightRecords: { param: 'maxInFlight', min: 1 },
      maxConcurrentSends: { param: 'maxConcurrentSends', min: 1 },
    }),
  };

  const input = env.fromSource(new KafkaSource<BenchRecord>(sourceOptions), WatermarkStrategy.noWatermarks<BenchRecord>(), 'Kafka input');
  const converted = flag(p, 'trace', false) ? input.process(new ConvertAndTrace()) : input.map(convertAmount);
  const sink = converted.name('Convert amount').sinkTo(new KafkaSink<BenchRecord>(sinkOptions)).name('Kafka output');
  if (!flag(p, 'chainSink', true)) sink.disableChaining();
}
