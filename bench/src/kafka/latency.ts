/**
 * Kafka end-to-end latency run: while topic → map → topic runs (unbounded), the harness
 * produces bench records at a steady rate, each stamped with its produce time, and reads the
 * output topic; a record's latency is (time the reader got it) − (its produce time), so it spans
 * the harness's producer, the broker, the job's fetch, map and send, the broker again and the
 * reader's fetch. Producer, reader and job run in this one process (the job on worker threads),
 * so both ends read the same clock.
 *
 * Sequence: start the reader; start the job; send probe records until one comes out (the job's
 * consumers have joined); push a burst of records through as fast as the pipeline takes them
 * (a freshly started broker JVM and the job's code paths are cold: the first paced seconds on a
 * cold broker measured 3–5× the later p50); produce paced warm-up records, then measured ones;
 * wait for the stragglers; cancel the job. Only measured records count.
 *
 * Where the time goes: both topics stamp records with LogAppendTime and the job writes the
 * input's append time and its own map time into each record (see withTrace), so every measured
 * record also yields four hops — harness producer → input log → job map → output log → reader.
 */
import type { JobResult } from '@sluice/protocol';
import type { Message, Producer } from 'kafkajs';
import { runJob } from '../engine.js';
import { benchKafka, benchTopicName, connectAdmin, createTopics, deleteTopics, prefill, settleWithin, startConsumer, within } from './client.js';
import { benchRecordJson, idAndTs, preciseEpochMs, readTrace } from './records.js';
import type { KafkaRunOptions, KafkaRunOutcome } from './run-options.js';
import { bufferTimeout } from './throughput.js';

export interface KafkaLatencyOptions extends KafkaRunOptions {
  /** Records per second the harness produces. */
  rate: number;
  /** Records pushed through unpaced before the paced warm-up. */
  burstRecords: number;
  warmupSeconds: number;
  measureSeconds: number;
}

const READY_TIMEOUT_MS = 60_000;
/** Burst records have ids from here up: negative, so the reader never measures them. */
const BURST_FIRST_ID = -1_000_000_000;
const DRAIN_TIMEOUT_MS = 10_000;

export async function runKafkaLatency(o: KafkaLatencyOptions): Promise<KafkaRunOutcome> {
  const kafka = benchKafka(o.bootstrap, 'sluice-bench-latency');
  const admin = await connectAdmin(kafka, o.bootstrap);
  const input = benchTopicName('in');
  const output = benchTopicName('out');
  const warmupRecords = Math.round(o.rate * o.warmupSeconds);
  const totalRecords = warmupRecords + Math.round(o.rate * o.measureSeconds);
  const measured = totalRecords - warmupRecords;

  const latencies: number[] = [];
  const hops: Record<Hop, number[]> = { produceToInputLog: [], inputLogToJob: [], jobToOutputLog: [], outputLogToReader: [] };
  /** Probes and burst records: negative ids, not measured. */
  let probesSeen = 0;
  let measuredSeen = 0;
  let onMeasuredDone: (() => void) | undefined;
  const reader = kafka.consumer({ groupId: `sluice-bench-reader-${output}`, maxWaitTimeInMs: 100, minBytes: 1 });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  const abort = new AbortController();
  let job: Promise<JobResult> | undefined;
  try {
    const logAppendTime = { 'message.timestamp.type': 'LogAppendTime' };
    await createTopics(admin, [
      { name: input, partitions: o.partitions, configs: logAppendTime },
      { name: output, partitions: o.partitions, configs: logAppendTime },
    ]);
    await within(30_000, 'starting the output reader', startConsumer(reader, output, async ({ batch }) => {
      // One arrival time per fetched batch: its records arrived together.
      const now = preciseEpochMs();
      for (const m of batch.messages) {
        const json = m.value?.toString('latin1') ?? '';
        const { id, ts } = idAndTs(json);
        if (id < 0) probesSeen++;
        else if (id >= warmupRecords) {
          latencies.push(now - ts);
          const trace = readTrace(json);
          if (trace !== undefined) {
            const outputLog = Number(m.timestamp) - ts;
            hops.produceToInputLog.push(trace.inputAppend);
            hops.inputLogToJob.push(trace.map - trace.inputAppend);
            hops.jobToOutputLog.push(outputLog - trace.map);
            hops.outputLogToReader.push(now - ts - outputLog);
          }
          if (++measuredSeen >= measured) onMeasuredDone?.();
        }
      }
    }));
    await within(15_000, 'connecting the harness producer', producer.connect());

    const jobStarted = performance.now();
    job = runJob(o.jobFile, { parallelism: o.parallelism, params: { trace: 'true', ...o.jobParams, bootstrap: o.bootstrap, input, output }, ...bufferTimeout(o) }, abort.signal);
    // A failure before we cancel is the run's failure; the result is awaited at the end.
    const failed = job.then((r) => {
      throw new Error(`the kafka-map job ended early: ${r.status}${r.error === undefined ? '' : `: ${r.error.message}`}`);
    });
    failed.catch(() => undefined);

    await Promise.race([waitForProbe(producer, input, () => probesSeen > 0), failed]);
    const seenBeforeBurst = probesSeen;
    await Promise.race([prefill(kafka, input, o.partitions, o.burstRecords, BURST_FIRST_ID), failed]);
    await Promise.race([waitUntil(() => probesSeen - seenBeforeBurst >= o.burstRecords, READY_TIMEOUT_MS, `the warm-up burst of ${o.burstRecords} records through the kafka-map job`), failed]);
    const pacing = await Promise.race([producePaced(producer, input, o.rate, totalRecords), failed]);
    const drained = new Promise<void>((resolve) => {
      onMeasuredDone = resolve;
      if (measuredSeen >= measured) resolve();
    });
    await Promise.race([within(DRAIN_TIMEOUT_MS, 'draining', drained).catch(() => undefined), failed]);

    // At-least-once may duplicate, never lose: fewer means lost records or a tail beyond the wait.
    if (measuredSeen < measured) {
      throw new Error(`${measured - measuredSeen} of the ${measured} measured records did not come out of the job within ${DRAIN_TIMEOUT_MS / 1000} s after the last was produced`);
    }
    latencies.sort((a, b) => a - b);
    const hopsMs = hopFigures(hops);
    return {
      jobDurationMs: Math.round(performance.now() - jobStarted),
      fields: {
        events_per_sec: Math.round(measuredSeen / o.measureSeconds),
        p50_ms: quantile(latencies, 0.5),
        p99_ms: quantile(latencies, 0.99),
        rate: o.rate,
        partitions: o.partitions,
      },
      detail: {
        measuredRecords: measured,
        receivedRecords: measuredSeen,
        p90Ms: quantile(latencies, 0.9),
        p999Ms: quantile(latencies, 0.999),
        maxMs: latencies[latencies.length - 1],
        meanMs: latencies.reduce((a, b) => a + b, 0) / latencies.length,
        achievedProduceRate: pacing.achievedRate,
        maxProduceRequestsInFlight: pacing.maxInFlight,
        burstRecords: o.burstRecords,
        warmupSeconds: o.warmupSeconds,
        measureSeconds: o.measureSeconds,
        hopsMs,
      },
      notes: hopNotes(hopsMs),
    };
  } finally {
    abort.abort();
    if (job !== undefined) await settleWithin(30_000, job);
    await settleWithin(10_000, reader.disconnect());
    await settleWithin(5_000, producer.disconnect());
    await deleteTopics(admin, [input, output]);
    await settleWithin(5_000, admin.disconnect());
  }
}

type Hop = 'produceToInputLog' | 'inputLogToJob' | 'jobToOutputLog' | 'outputLogToReader';

/** p50 / p99 / max per hop, in ms (the broker's append times have ms resolution, so ±1 ms). */
function hopFigures(hops: Record<Hop, number[]>): Record<Hop, { p50: number; p99: number; max: number }> | undefined {
  if (hops.produceToInputLog.length === 0) return undefined;
  const out = {} as Record<Hop, { p50: number; p99: number; max: number }>;
  for (const [hop, values] of Object.entries(hops) as [Hop, number[]][]) {
    values.sort((a, b) => a - b);
    const r = (x: number): number => Math.round(x * 100) / 100;
    out[hop] = { p50: r(quantile(values, 0.5)), p99: r(quantile(values, 0.99)), max: r(values[values.length - 1]!) };
  }
  return out;
}

const HOP_NAMES: Record<Hop, string> = {
  produceToInputLog: 'harness producer → input log',
  inputLogToJob: 'input log → job map',
  jobToOutputLog: 'job map → output log',
  outputLogToReader: 'output log → harness reader',
};

function hopNotes(figures: ReturnType<typeof hopFigures>): string[] {
  if (figures === undefined) return [];
  const parts = (Object.keys(HOP_NAMES) as Hop[]).map((h) => `${HOP_NAMES[h]} ${figures[h].p50}/${figures[h].p99}`);
  return [`  hops, p50/p99 ms: ${parts.join(', ')}`];
}

/** Nearest-rank quantile of sorted values. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** Sends a probe record (negative id) every 200 ms until `seen()`: the job reads and writes. */
async function waitForProbe(producer: Producer, topic: string, seen: () => boolean): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (let probe = 1; !seen(); probe++) {
    if (Date.now() > deadline) throw new Error(`no record came through the kafka-map job within ${READY_TIMEOUT_MS / 1000} s of its start`);
    await producer.send({ topic, acks: 1, messages: [{ value: benchRecordJson(-probe, preciseEpochMs()) }] });
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function waitUntil(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`${what} did not complete within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Produces records 0 … total−1 at `rate`: every millisecond or so, whatever is due is sent in
 * one request, each record stamped with the time it is handed to the producer. Requests are not
 * awaited one by one, so a slow acknowledgement does not hold back the schedule.
 */
async function producePaced(producer: Producer, topic: string, rate: number, total: number): Promise<{ achievedRate: number; maxInFlight: number }> {
  const start = performance.now();
  let sent = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let failure: unknown;
  await new Promise<void>((resolve, reject) => {
    const tick = (): void => {
      if (failure !== undefined) {
        reject(new Error(`producing to ${topic} failed: ${(failure as Error).message}`));
        return;
      }
      const due = Math.min(total, Math.floor(((performance.now() - start) * rate) / 1000));
      if (due > sent) {
        const ts = preciseEpochMs();
        const messages: Message[] = [];
        for (let id = sent; id < due; id++) messages.push({ value: benchRecordJson(id, ts) });
        sent = due;
        inFlight++;
        if (inFlight > maxInFlight) maxInFlight = inFlight;
        producer.send({ topic, acks: 1, messages }).then(
          () => inFlight--,
          (err: unknown) => {
            inFlight--;
            failure ??= err;
          },
        );
      }
      if (sent >= total) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  return { achievedRate: total / ((performance.now() - start) / 1000), maxInFlight };
}
