/**
 * Wires the Nexmark generator into a job: a bounded generator source with event-time
 * timestamps and bounded-out-of-orderness watermarks, plus the measurement hooks the bench uses.
 *
 * Measurement (on only when `-D statsDir=` is given):
 * - Latency sampling: every `latencySampleEvery`-th event a subtask generates is stamped with the
 *   wall-clock emission time (`emitMs`); the others carry 0. Sampling instead of stamping every
 *   event keeps clock reads off the hot path at millions of events/s, and — unlike a clock
 *   cached once per burst — the stamps are exact, so latency is neither flattered nor inflated.
 *   Paced runs (≤ 100,000 events/s) stamp every event by default.
 * - Throughput: the generate functions count the events (a burst at a time) for the subtask
 *   generating them and note when the subtask's share of the warm-up has passed; each
 *   subtask's reader writes a ProbeReport when it closes (probed-source.ts). No operator is
 *   added to the chain.
 */
import { GeneratorSource, WatermarkStrategy, type DataStream, type GeneratorSourceOptions, type StreamExecutionEnvironment } from '@sluice/api';
import { intParam, numberParam, optionalNumberParam, type Params } from '../params.js';
import { resolveNexmarkConfig, type NexmarkOptions } from './config.js';
import { nexmarkBurst, nexmarkEvent } from './generator.js';
import { isBid, type Bid, type NexmarkEvent } from './model.js';
import { EventCounter, ProbedSource } from './probed-source.js';
import { createStamper } from './reports.js';

export interface NexmarkSourceOptions extends NexmarkOptions {
  /** Total events over all subtasks. */
  events?: number;
  /** Emission pacing over all subtasks (events per wall-clock second); unpaced when absent. */
  ratePerSecond?: number;
  seed?: number;
  /** Watermark lag behind the largest timestamp seen. */
  outOfOrdernessMs?: number;
  /** Where the source's probe and the measuring sinks write their reports; measurement is off when absent. */
  statsDir?: string;
  /** Stamp every n-th event with its emission time (0 = never). */
  latencySampleEvery?: number;
  /** Events (over all subtasks) excluded from the throughput figure. */
  warmupEvents?: number;
  name?: string;
}

export const DEFAULT_NEXMARK_EVENTS = 10_000_000;
const PACED_SAMPLE_ALL_BELOW = 100_000;
const UNPACED_SAMPLE_EVERY = 256;

export function nexmarkSource(env: StreamExecutionEnvironment, options: NexmarkSourceOptions = {}): DataStream<NexmarkEvent> {
  const config = resolveNexmarkConfig(options);
  const events = options.events ?? DEFAULT_NEXMARK_EVENTS;
  const statsDir = options.statsDir;
  const sampleEvery =
    statsDir === undefined ? 0 : (options.latencySampleEvery ?? (options.ratePerSecond !== undefined && options.ratePerSecond <= PACED_SAMPLE_ALL_BELOW ? 1 : UNPACED_SAMPLE_EVERY));
  // One stamper per job build, i.e. per worker: a counter, not the event index, decides which
  // events are sampled, so every parallel subtask samples (indices are strided across them).
  const stamp = createStamper(sampleEvery);
  const strategy = WatermarkStrategy.forBoundedOutOfOrderness<NexmarkEvent>(options.outOfOrdernessMs ?? 10).withTimestampAssigner((e) => e.dateTime);
  const generator: GeneratorSourceOptions<NexmarkEvent> = {
    count: events,
    ...(options.ratePerSecond === undefined ? {} : { ratePerSecond: options.ratePerSecond }),
    seed: options.seed ?? 42,
    name: options.name ?? 'Nexmark',
    generate: (index, rng) => nexmarkEvent(index, rng, config, stamp()),
    generateBurst: (first, stride, count, seed, out) => nexmarkBurst(first, stride, count, seed, config, stamp, out),
  };
  if (statsDir === undefined) return env.fromGenerator<NexmarkEvent>(generator, strategy);
  // Like the stamper, one counter per job build; the probed readers point it at their subtask.
  const counter = new EventCounter();
  const source = new GeneratorSource<NexmarkEvent>({
    ...generator,
    generate: (index, rng) => {
      counter.count(1);
      return nexmarkEvent(index, rng, config, stamp());
    },
    generateBurst: (first, stride, count, seed, out) => {
      counter.count(count);
      nexmarkBurst(first, stride, count, seed, config, stamp, out);
    },
  });
  const probed = new ProbedSource(source, counter, { statsDir, totalWarmupEvents: options.warmupEvents ?? Math.floor(events / 5) });
  return env.fromSource<NexmarkEvent>(probed, strategy, `Source: ${source.describe()}`);
}

/**
 * Source options from job parameters: `events`, `rate` (events/s, paced), `eventRate` (events/s
 * of event time), `seed`, `outOfOrdernessMs`, `statsDir`, `latencySampleEvery`, `warmupEvents`.
 */
export function nexmarkOptionsFromParams(params: Params): NexmarkSourceOptions {
  const out: NexmarkSourceOptions = {
    events: intParam(params, 'events', DEFAULT_NEXMARK_EVENTS, { min: 1 }),
    seed: intParam(params, 'seed', 42),
    outOfOrdernessMs: numberParam(params, 'outOfOrdernessMs', 10, { min: 0 }),
    eventsPerSecond: numberParam(params, 'eventRate', 10_000_000, { min: 1 }),
  };
  const rate = optionalNumberParam(params, 'rate', { min: 1 });
  if (rate !== undefined) out.ratePerSecond = rate;
  const statsDir = params['statsDir'];
  if (statsDir !== undefined && statsDir !== '') out.statsDir = statsDir;
  const sample = optionalNumberParam(params, 'latencySampleEvery', { min: 0, integer: true });
  if (sample !== undefined) out.latencySampleEvery = sample;
  const warmup = optionalNumberParam(params, 'warmupEvents', { min: 0, integer: true });
  if (warmup !== undefined) out.warmupEvents = warmup;
  return out;
}

/** The bids of a Nexmark source configured from the job's parameters (what q0–q7 read). */
export function nexmarkBids(env: StreamExecutionEnvironment): DataStream<Bid> {
  // A filter, not a flatMap: one call and no collector per event on the chain's busiest hop.
  return nexmarkSource(env, nexmarkOptionsFromParams(env.params)).filter(isBid).name('Bids');
}
