/**
 * The benchmark catalogue: which job each run executes, with which parallelism, parameters and
 * buffer timeout, and how big it is in normal and `--quick` mode. Sizes aim at 5–15 s per run
 * on a small machine; `--events=N` overrides the Nexmark, keyed and Kafka throughput sizes.
 */
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';

export type RunKind = 'throughput' | 'state' | 'checkpoint' | 'kafka' | 'idle' | 'tcp' | 'cluster' | 'cluster-latency' | 'ha-failover' | 'mesos-offers' | 'mesos-submit' | 'chain' | 'serializer';

/** A Kafka run (kind 'kafka'): against a real broker, driven by bench/src/kafka/. */
export type KafkaRunSpec =
  | { type: 'throughput'; partitions: number; records(ctx: SizeContext): number }
  | { type: 'latency'; partitions: number; rate: number; burstRecords(ctx: SizeContext): number; warmupSeconds(ctx: SizeContext): number; measureSeconds(ctx: SizeContext): number };

export interface SizeContext {
  quick: boolean;
  eventsOverride: number | undefined;
  /** events_per_sec of runs already done, by run id (keyed-half is paced at half of keyed-max). */
  measuredRate(id: string): number | undefined;
}

export interface BenchRun {
  /** What the BENCH line calls it; several runs may share a name at different parallelism. */
  name: string;
  parallelism: number;
  kind: RunKind;
  jobFile: string;
  /** Runs that must have been measured first (they are added to the selection). */
  needs?: string[];
  bufferTimeoutMs?: number;
  /** Checkpoint every this many ms (into a temporary directory the harness removes). */
  checkpointIntervalMs?: number;
  /**
   * Measure the cost of checkpointing: run the job with and without checkpoints, alternating,
   * this many times each, and report the medians and the overhead between them.
   */
  comparePairs?(ctx: SizeContext): number;
  /** The job's -D parameters (statsDir is added by the harness). */
  params(ctx: SizeContext): Record<string, string>;
  /** Extra key=value fields for the BENCH line, e.g. the paced rate. */
  labels?(params: Record<string, string>): Record<string, string | number>;
  /** Kafka runs only. */
  kafka?: KafkaRunSpec;
}

export function runId(run: BenchRun): string {
  return `${run.name}-p${run.parallelism}`;
}

const examples = (path: string): string => fileURLToPath(new URL(`../../examples/dist/${path}`, import.meta.url));
const benchJob = (path: string): string => fileURLToPath(new URL(`./jobs/${path}`, import.meta.url));

function size(ctx: SizeContext, normal: number, quick: number): number {
  return ctx.eventsOverride ?? (ctx.quick ? quick : normal);
}

/**
 * q5 and q7 run at 100,000 events/s of event time (not Nexmark's 10 M): then their 10 s windows
 * close every few hundred thousand events, so windows fire — and latency is measured — during
 * the run, and window state stays bounded (a 10 s window at 10 M/s would span 100 M events).
 */
const WINDOWED_EVENT_RATE = '100000';

function nexmark(query: string, parallelism: number, normal: number, quick: number, extra: Record<string, string> = {}): BenchRun {
  return {
    name: query,
    parallelism,
    kind: 'throughput',
    jobFile: examples(`nexmark/queries/${query}.js`),
    params: (ctx) => ({ events: String(size(ctx, normal, quick)), ...extra }),
  };
}

const KEYED_MAX: BenchRun = {
  name: 'keyed-max',
  parallelism: 2,
  kind: 'throughput',
  jobFile: benchJob('keyed.js'),
  params: (ctx) => ({ events: String(size(ctx, 5_000_000, 500_000)) }),
};

function pacedSeconds(ctx: SizeContext): number {
  return ctx.quick ? 3 : 10;
}

const KEYED_HALF: BenchRun = {
  name: 'keyed-half',
  parallelism: 2,
  kind: 'throughput',
  jobFile: benchJob('keyed.js'),
  needs: [runId(KEYED_MAX)],
  bufferTimeoutMs: 5,
  params: (ctx) => {
    const max = ctx.measuredRate(runId(KEYED_MAX));
    if (max === undefined || !(max > 0)) throw new Error('keyed-half needs the keyed-max rate, and keyed-max did not produce one');
    const rate = Math.max(1, Math.floor(max / 2));
    return { rate: String(rate), events: String(Math.max(10_000, Math.floor(rate * pacedSeconds(ctx)))) };
  },
  labels: (p) => ({ rate: p['rate'] ?? '', buffer_timeout_ms: 5 }),
};

const KEYED_10K: BenchRun = {
  name: 'keyed-10k',
  parallelism: 2,
  kind: 'throughput',
  jobFile: benchJob('keyed.js'),
  bufferTimeoutMs: 0,
  params: (ctx) => ({ rate: '10000', events: String(10_000 * pacedSeconds(ctx)) }),
  labels: () => ({ rate: 10_000, buffer_timeout_ms: 0 }),
};

const STATE: BenchRun = {
  name: 'state',
  parallelism: 1,
  kind: 'state',
  jobFile: benchJob('state-size.js'),
  params: (ctx) => ({ keys: String(ctx.quick ? 200_000 : 1_000_000) }),
};

const STATE_STRING_KEYS: BenchRun = {
  ...STATE,
  name: 'state-string-keys',
  params: (ctx) => ({ keys: String(ctx.quick ? 200_000 : 1_000_000), keyType: 'string' }),
};

/**
 * q5 with a checkpoint every second, against the same q5 without. One pair of runs says little
 * (q5 alone varies by several percent from run to run on two shared cores), so the two
 * alternate, six times each, and the overhead compares their medians. Runs are twice as long
 * as q5-p2's, for about eight checkpoints each.
 */
const Q5_CHECKPOINTED: BenchRun = {
  ...nexmark('q5', 2, 10_000_000, 500_000, { eventRate: WINDOWED_EVENT_RATE }),
  name: 'q5-checkpointed',
  checkpointIntervalMs: 1_000,
  comparePairs: (ctx) => (ctx.quick ? 1 : 6),
};

/** 1M keys of small ValueState, checkpointed every second while updates keep flowing. */
const CHECKPOINT_1M: BenchRun = {
  name: 'checkpoint-1m',
  parallelism: 1,
  kind: 'checkpoint',
  jobFile: benchJob('checkpoint-state.js'),
  checkpointIntervalMs: 1_000,
  params: (ctx) => ({ keys: String(ctx.quick ? 200_000 : 1_000_000), rate: String(ctx.quick ? 200_000 : 1_000_000), updateSeconds: '4' }),
};

/**
 * One chain on one thread against the fused-loop limit (bench/src/chain/): the Nexmark generator
 * → Bids → q1's map → q2's filter → a discarding sink, in one process with no cluster, alternated
 * with one hand-written loop doing the same work. `pairs` chain/fused pairs after a warm-up.
 */
const CHAIN: BenchRun = {
  name: 'chain',
  parallelism: 1,
  kind: 'chain',
  jobFile: benchJob('chain.js'),
  params: (ctx) => ({ events: String(size(ctx, 5_000_000, 1_000_000)), pairs: String(ctx.quick ? 2 : 6) }),
};

/**
 * The default record serializer alone (bench/src/serializer.ts): its compiled object writers
 * against the generic path, alternated in child processes, `pairs` of each.
 */
const SERIALIZER: BenchRun = {
  name: 'serializer',
  parallelism: 1,
  kind: 'serializer',
  jobFile: fileURLToPath(new URL('./serializer-child.js', import.meta.url)),
  params: (ctx) => ({ records: String(size(ctx, 5_000_000, 1_000_000)), pairs: String(ctx.quick ? 2 : 4) }),
};

/**
 * What an idle subtask costs (bench/src/idle.ts): the idle job at growing parallelism, each in a
 * fresh child process. Two subtasks per slot, each on its own worker thread.
 */
function idleSubtasks(parallelism: number): BenchRun {
  return { name: 'idle-subtasks', parallelism, kind: 'idle', jobFile: benchJob('idle.js'), params: () => ({}) };
}

/**
 * Kafka topic → map → topic (bench/src/jobs/kafka-map.ts) at one subtask per core, on 4
 * partitions (2 per subtask on a 2-core machine). See bench/src/kafka/ for how each is measured
 * and README.md for why the connector settings are what they are.
 */
const KAFKA_PARALLELISM = availableParallelism();
const KAFKA_PARTITIONS = Math.max(4, KAFKA_PARALLELISM);

const KAFKA_THROUGHPUT: BenchRun = {
  name: 'kafka-throughput',
  parallelism: KAFKA_PARALLELISM,
  kind: 'kafka',
  jobFile: benchJob('kafka-map.js'),
  kafka: { type: 'throughput', partitions: KAFKA_PARTITIONS, records: (ctx) => size(ctx, 1_000_000, 200_000) },
  params: () => ({}),
};

/**
 * Latency at 5,000 records/s, at one subtask and at one per core. That rate is a few percent of
 * one subtask's capacity; at one subtask a single consumer fetches all partitions and a single
 * producer writes them, so the job sends half the requests that two subtasks send.
 */
function kafkaLatency(parallelism: number): BenchRun {
  return {
    name: 'kafka-latency',
    parallelism,
    kind: 'kafka',
    jobFile: benchJob('kafka-map.js'),
    bufferTimeoutMs: 0,
    kafka: {
      type: 'latency',
      partitions: KAFKA_PARTITIONS,
      rate: 5_000,
      burstRecords: (ctx) => (ctx.quick ? 50_000 : 200_000),
      warmupSeconds: (ctx) => (ctx.quick ? 2 : 5),
      measureSeconds: (ctx) => (ctx.quick ? 5 : 20),
    },
    params: () => ({ lingerMs: '0' }),
    labels: () => ({ buffer_timeout_ms: 0 }),
  };
}

/**
 * One channel between two TaskManager processes (bench/src/tcp-channel.ts): records/s and MB/s
 * of 100-byte records, then latency at 10,000 records/s with buffer timeout 0.
 */
const TCP_CHANNEL: BenchRun = {
  name: 'tcp-channel',
  parallelism: 1,
  kind: 'tcp',
  jobFile: fileURLToPath(new URL('../../packages/runtime/dist/shuffle/tcp-bench.js', import.meta.url)),
  bufferTimeoutMs: 0,
  params: (ctx) => ({ records: String(size(ctx, 5_000_000, 1_000_000)), seconds: String(ctx.quick ? 3 : 10), rate: '10000' }),
};

/**
 * The same job on the embedded cluster and on two one-slot TaskManager processes at p=2, so the
 * keyed exchange crosses between the processes over their authenticated data ports
 * (bench/src/process-cluster.ts); `comparePairs` A-B runs of each, ratio of the medians.
 */
const KEYED_2TM: BenchRun = {
  name: 'keyed-2tm',
  parallelism: 2,
  kind: 'cluster',
  jobFile: benchJob('keyed.js'),
  comparePairs: (ctx) => (ctx.quick ? 1 : 3),
  params: (ctx) => ({ events: String(size(ctx, 5_000_000, 1_000_000)) }),
  labels: () => ({ target_ratio: 0.6 }),
};

const Q5_2TM: BenchRun = {
  ...nexmark('q5', 2, 5_000_000, 500_000, { eventRate: WINDOWED_EVENT_RATE }),
  name: 'q5-2tm',
  kind: 'cluster',
  comparePairs: (ctx) => (ctx.quick ? 1 : 3),
  labels: () => ({ target_ratio: 0.7 }),
};

/**
 * A cluster's reaction times (bench/src/cluster-latency.ts): `sluice submit` to RUNNING with free
 * slots, and kill -9 of a TaskManager to RUNNING again on the spare one.
 */
const CLUSTER_LATENCY: BenchRun = {
  name: 'cluster-latency',
  parallelism: 2,
  kind: 'cluster-latency',
  jobFile: fileURLToPath(new URL('../../bench/src/jobs/cluster-keyed.ts', import.meta.url)),
  params: (ctx) => ({ rounds: String(ctx.quick ? 1 : 5) }),
  labels: () => ({ target_submit_ms: 1500, target_failover_ms: 5000 }),
};

/**
 * High availability's take-over (bench/src/ha-failover.ts): kill -9 of the leading entrypoint
 * to the job RUNNING again under the standby, with a 5 s ZooKeeper session timeout.
 */
const HA_FAILOVER: BenchRun = {
  name: 'ha-failover',
  parallelism: 2,
  kind: 'ha-failover',
  jobFile: fileURLToPath(new URL('../../bench/src/jobs/cluster-keyed.ts', import.meta.url)),
  params: (ctx) => ({ rounds: String(ctx.quick ? 1 : 3) }),
  labels: () => ({ target_ms: 10_000 }),
};

/** The Mesos offer matcher (bench/src/mesos-offers.ts): 10,000 agents' offers, 1,000 pending TaskManagers. */
const MESOS_OFFERS: BenchRun = {
  name: 'mesos-offers',
  parallelism: 1,
  kind: 'mesos-offers',
  jobFile: fileURLToPath(new URL('./mesos-offers.js', import.meta.url)),
  params: (ctx) => ({ rounds: String(ctx.quick ? 5 : 21) }),
};

/**
 * From `sluice submit` to RUNNING for a job needing three new TaskManagers (bench/src/mesos-submit.ts):
 * `sluice mesos-session` on the Mesos fake, its TaskManagers started through the executor.
 */
const MESOS_SUBMIT: BenchRun = {
  name: 'mesos-submit',
  parallelism: 3,
  kind: 'mesos-submit',
  jobFile: fileURLToPath(new URL('../../bench/src/jobs/cluster-keyed.ts', import.meta.url)),
  params: (ctx) => ({ rounds: String(ctx.quick ? 1 : 5) }),
};

export const RUNS: readonly BenchRun[] = Object.freeze([
  ...[1, 2].flatMap((p) => [
    nexmark('q0', p, 10_000_000, 1_000_000),
    nexmark('q1', p, 10_000_000, 1_000_000),
    nexmark('q2', p, 10_000_000, 1_000_000),
    nexmark('q5', p, 5_000_000, 500_000, { eventRate: WINDOWED_EVENT_RATE }),
    nexmark('q7', p, 5_000_000, 500_000, { eventRate: WINDOWED_EVENT_RATE }),
  ]),
  KEYED_MAX,
  KEYED_HALF,
  KEYED_10K,
  STATE,
  STATE_STRING_KEYS,
  Q5_CHECKPOINTED,
  CHECKPOINT_1M,
  CHAIN,
  SERIALIZER,
  ...[1, 8, 32, 64].map(idleSubtasks),
  TCP_CHANNEL,
  KEYED_2TM,
  Q5_2TM,
  CLUSTER_LATENCY,
  HA_FAILOVER,
  MESOS_OFFERS,
  MESOS_SUBMIT,
  // Latency before throughput: a broker that has just taken a million records is still busy
  // with them (deleting the topics' files, collecting garbage) for a while after the run.
  ...[...new Set([1, KAFKA_PARALLELISM])].map(kafkaLatency),
  KAFKA_THROUGHPUT,
]);

/**
 * Runs matching the selectors, in catalogue order, plus what they need. A selector matches a
 * run's name (`q1`: both parallelisms), its id (`q1-p2`) or a name prefix before a dash
 * (`keyed`: all keyed-* runs). No selectors: everything.
 */
export function selectRuns(selectors: readonly string[]): BenchRun[] {
  if (selectors.length === 0) return [...RUNS];
  const wanted = new Set<string>();
  for (const s of selectors) {
    const hits = RUNS.filter((r) => r.name === s || runId(r) === s || r.name.startsWith(`${s}-`));
    if (hits.length === 0) {
      const names = [...new Set(RUNS.map((r) => r.name))].join(', ');
      throw new Error(`no benchmark matches '${s}'; known: ${names} (or <name>-p<parallelism>, e.g. q1-p2)`);
    }
    for (const h of hits) {
      wanted.add(runId(h));
      for (const n of h.needs ?? []) wanted.add(n);
    }
  }
  return RUNS.filter((r) => wanted.has(runId(r)));
}
