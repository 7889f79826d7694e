/**
 * The benchmark harness (`npm run bench [-- q1 q5 --quick --events=N]`). Runs the selected
 * benchmarks one after another, each on a fresh embedded cluster (see engine.ts), prints one
 * `BENCH name=… parallelism=… …` line per run and writes all results as JSON to
 * bench/results/<timestamp>.json. Measurement operators report through a temporary stats
 * directory per run (see examples/src/nexmark/reports.ts and measure.ts). The Kafka runs
 * (kafka/) also need a broker: the one given, or one this process starts and stops.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readReports } from '@sluice/examples/nexmark';
import { runJob, type CompletedCheckpointInfo } from './engine.js';
import { executeIdle } from './idle.js';
import { BrokerSession, executeKafkaRun, givenBootstrap, KAFKA_BENCH_HINT, missingBrokerTools } from './kafka/index.js';
import { stateFigures, throughputFigures } from './measure.js';
import { runId, selectRuns, type BenchRun, type SizeContext } from './runs.js';
import { executeTcpChannel } from './tcp-channel.js';
import { executeClusterLatency } from './cluster-latency.js';
import { executeHaFailover } from './ha-failover.js';
import { executeMesosOffers } from './mesos-offers.js';
import { executeMesosSubmit } from './mesos-submit.js';
import { compareWithTwoTaskManagers } from './process-cluster.js';
import { executeChainBench } from './chain/index.js';
import { executeSerializerBench } from './serializer.js';

interface Options {
  selectors: string[];
  quick: boolean;
  eventsOverride: number | undefined;
  kafkaBootstrap: string | undefined;
}

export interface BenchResult {
  id: string;
  name: string;
  parallelism: number;
  status: 'ok' | 'failed';
  error?: string;
  jobDurationMs?: number;
  params: Record<string, string>;
  bufferTimeoutMs?: number;
  /** The BENCH line's fields, plus detail that stays in the JSON. */
  fields: Record<string, string | number>;
  detail?: Record<string, unknown>;
}

const USAGE = [
  'usage: npm run bench -- [name ...] [--quick] [--events=N] [--kafka-bootstrap=host:port]',
  '  names: q0 q1 q2 q5 q7 keyed-max keyed-half keyed-10k state state-string-keys q5-checkpointed checkpoint-1m chain idle-subtasks tcp-channel keyed-2tm q5-2tm cluster-latency ha-failover mesos-offers mesos-submit kafka-throughput kafka-latency (or q1-p2, keyed, kafka)',
  '  Kafka runs use the broker given by --kafka-bootstrap or SLUICE_KAFKA_BOOTSTRAP, else start one with infra/kafka/kafka.sh (Java 17+ and Maven).',
].join('\n');

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { selectors: [], quick: false, eventsOverride: undefined, kafkaBootstrap: undefined };
  for (const a of argv) {
    if (a === '--quick') o.quick = true;
    else if (a.startsWith('--events=')) {
      const n = Number(a.slice('--events='.length).replaceAll('_', ''));
      if (!Number.isSafeInteger(n) || n < 1000) throw new Error(`--events needs an integer ≥ 1000, got '${a}'`);
      o.eventsOverride = n;
    } else if (a.startsWith('--kafka-bootstrap=')) {
      o.kafkaBootstrap = a.slice('--kafka-bootstrap='.length);
    } else if (a === '--help' || a === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else if (a.startsWith('-')) throw new Error(`unknown flag '${a}'\n${USAGE}`);
    else o.selectors.push(a);
  }
  return o;
}

function fmt(x: number): string {
  if (!Number.isFinite(x)) return 'n/a';
  if (Number.isInteger(x)) return String(x);
  const a = Math.abs(x);
  return a >= 100 ? x.toFixed(0) : a >= 10 ? x.toFixed(1) : a >= 1 ? x.toFixed(2) : x.toFixed(3);
}

function benchLine(r: BenchResult): string {
  const fields = Object.entries(r.fields).map(([k, v]) => `${k}=${typeof v === 'number' ? fmt(v) : v}`);
  if (r.status === 'failed') fields.push(`status=failed error=${JSON.stringify(r.error ?? 'unknown')}`);
  return ['BENCH', `name=${r.name}`, `parallelism=${r.parallelism}`, ...fields].join(' ');
}

async function executeKafka(run: BenchRun, ctx: SizeContext, brokers: BrokerSession): Promise<BenchResult & { notes?: string[] }> {
  const base = { id: runId(run), name: run.name, parallelism: run.parallelism };
  const params = run.params(ctx);
  // The broker, the harness and the job share the machine; a busy one shows here first.
  const loadAverage1m = Math.round(os.loadavg()[0]! * 100) / 100;
  const timing = { params, ...(run.bufferTimeoutMs === undefined ? {} : { bufferTimeoutMs: run.bufferTimeoutMs }) };
  try {
    const broker = await brokers.get();
    const outcome = await executeKafkaRun(run, ctx, broker.bootstrap, params);
    return {
      ...base,
      ...timing,
      jobDurationMs: outcome.jobDurationMs,
      status: 'ok',
      fields: { ...outcome.fields, ...(run.labels?.(params) ?? {}) },
      detail: { ...outcome.detail, broker: broker.origin, loadAverage1m },
      ...(outcome.notes === undefined ? {} : { notes: outcome.notes }),
    };
  } catch (e) {
    return { ...base, ...timing, status: 'failed', error: e instanceof Error ? e.message : String(e), fields: {} };
  }
}

async function execute(run: BenchRun, ctx: SizeContext): Promise<BenchResult> {
  const base = { id: runId(run), name: run.name, parallelism: run.parallelism };
  if (run.kind === 'idle') {
    try {
      const idle = await executeIdle(run);
      return { ...base, params: {}, status: 'ok', jobDurationMs: idle.jobDurationMs, fields: idle.fields, detail: { ...idle.detail } };
    } catch (e) {
      return { ...base, params: {}, status: 'failed', error: e instanceof Error ? e.message : String(e), fields: {} };
    }
  }
  if (run.kind === 'cluster') {
    const params = run.params(ctx);
    try {
      const r = await compareWithTwoTaskManagers(run.jobFile, { parallelism: run.parallelism, params }, run.comparePairs?.(ctx) ?? 1);
      return { ...base, params, status: 'ok', jobDurationMs: r.jobDurationMs, fields: { ...r.fields, ...(run.labels?.(params) ?? {}) }, detail: r.detail };
    } catch (e) {
      return { ...base, params, status: 'failed', error: e instanceof Error ? e.message : String(e), fields: {} };
    }
  }
  if (run.kind === 'cluster-latency' || run.kind === 'ha-failover') {
    const params = run.params(ctx);
    try {
      const r = await (run.kind === 'ha-failover' ? executeHaFailover : executeClusterLatency)(Number(params['rounds']));
      return { ...base, params, status: 'ok', jobDurationMs: r.jobDurationMs, fields: { ...r.fields, ...(run.labels?.(params) ?? {}) } };
    } catch (e) {
      return { ...base, params, status: 'failed', error: e instanceof Error ? e.message : String(e), fields: {} };
    }
  }
  if (run.kind === 'mesos-offers' || run.kind === 'mesos-submit') {
    const params = run.params(ctx);
    try {
      const r = await (run.kind === 'mesos-submit' ? executeMesosSubmit : executeMesosOffers)(Number(params['rounds']));
      return { ...base, params, status: 'ok', jobDurationMs: r.jobDurationMs, fields: r.fields, detail: r.detail };
    } catch (e) {
      return { ...base, params, status: 'failed', error: e instanceof Error ? e.message : String(e), fields: {} };
    }
  }
  if (run.kind === 'chain') {
    const params = run.params(ctx);
    try {
      const r = await executeChainBench({ jobFile: run.jobFile, events: Number(params['events']), pairs: Number(params['pairs']) });
      return { ...base, params, status: 'ok', jobDurationMs: r.durationMs, fields: r.fields, detail: r.detail };
    } catch (e) {
      return { ...base, params, status: 'failed', error: e instanceof Error ? e.message : String(e), fields: {} };
    }
  }
  if (run.kind === 'serializer') {
    const params = run.params(ctx);
    try {
      const r = executeSerializerBench(Number(params['records']), Number(params['pairs']));
      return { ...base, params, status: 'ok', jobDurationMs: r.durationMs, fields: r.fields, detail: r.detail };
    } catch (e) {
      return { ...base, params, status: 'failed', error: e instanceof Error ? e.message : String(e), fields: {} };
    }
  }
  if (run.kind === 'tcp') {
    const params = run.params(ctx);
    try {
      const r = await executeTcpChannel({ records: Number(params['records']), seconds: Number(params['seconds']), rate: Number(params['rate']) });
      return { ...base, params, bufferTimeoutMs: 0, status: 'ok', jobDurationMs: r.jobDurationMs, fields: r.fields };
    } catch (e) {
      return { ...base, params, status: 'failed', error: e instanceof Error ? e.message : String(e), fields: {} };
    }
  }
  let params: Record<string, string> = {};
  const statsDir = mkdtempSync(join(os.tmpdir(), `sluice-bench-${runId(run)}-`));
  const checkpointDir = join(statsDir, 'checkpoints');
  try {
    params = { ...run.params(ctx), ...(run.kind === 'throughput' ? { statsDir } : {}) };
    const checkpoints: CompletedCheckpointInfo[] = [];
    const result = await runJob(run.jobFile, {
      onCheckpoint: (c) => checkpoints.push(c),
      parallelism: run.parallelism,
      params,
      ...(run.bufferTimeoutMs === undefined ? {} : { bufferTimeoutMs: run.bufferTimeoutMs }),
      ...(run.checkpointIntervalMs === undefined ? {} : { checkpointIntervalMs: run.checkpointIntervalMs, checkpointDir }),
    });
    // The temporary stats directory is gone after the run; keep the meaningful parameters.
    const { statsDir: _dir, ...recorded } = params;
    params = recorded;
    const timing = { params, jobDurationMs: result.durationMs, ...(run.bufferTimeoutMs === undefined ? {} : { bufferTimeoutMs: run.bufferTimeoutMs }) };
    if (result.status !== 'FINISHED') {
      return { ...base, ...timing, status: 'failed', error: `job ${result.status}: ${result.error?.message ?? 'no error reported'}`, fields: {} };
    }
    const labels = run.labels?.(params) ?? {};
    if (run.kind === 'checkpoint') {
      const c = result.lastCheckpoint;
      if (c === undefined) return { ...base, ...timing, status: 'failed', error: 'the job completed no checkpoint', fields: {} };
      return {
        ...base,
        ...timing,
        status: 'ok',
        fields: { keys: Number(params['keys']), checkpoint_ms: c.durationMs, size_mb: c.bytes / 2 ** 20, max_pause_ms: c.maxPauseMs, checkpoints: c.id },
        detail: { ...c },
      };
    }
    if (run.kind === 'state') {
      const s = stateFigures(result.collected['stats'] ?? []);
      return { ...base, ...timing, status: 'ok', fields: { keys: s.keys, heap_mb: s.heapMb, bytes_per_key: s.bytesPerKey, gc: String(s.afterGc), ...labels }, detail: { ...s } };
    }
    const t = throughputFigures(readReports(statsDir), Number(params['events']), result.durationMs);
    const checkpointing: Record<string, number> = {};
    if (run.checkpointIntervalMs !== undefined) {
      checkpointing['checkpoints'] = result.lastCheckpoint?.id ?? 0;
      checkpointing['max_pause_ms'] = result.lastCheckpoint?.maxPauseMs ?? 0;
      // The job's final checkpoint, after its input ended, holds almost nothing.
      const sized = checkpoints.slice(0, -1);
      if (sized.length > 0) {
        checkpointing['checkpoint_ms'] = median(sized.map((c) => c.durationMs));
        checkpointing['checkpoint_mb'] = median(sized.map((c) => c.bytes)) / 2 ** 20;
      }
    }
    return {
      ...base,
      ...timing,
      status: 'ok',
      fields: { events_per_sec: Math.round(t.eventsPerSec), p50_ms: t.p50Ms, p99_ms: t.p99Ms, ...checkpointing, ...labels },
      detail: { ...t, ...(checkpoints.length > 0 ? { checkpoints } : {}) },
    };
  } catch (e) {
    return { ...base, params, status: 'failed', error: e instanceof Error ? e.message : String(e), fields: {} };
  } finally {
    rmSync(statsDir, { recursive: true, force: true });
  }
}

/**
 * A run with `comparePairs`: the job without checkpoints and with, alternating, so that drift in
 * the machine's speed hits both alike. The BENCH line gives the checkpointed median, the
 * baseline median and the overhead between the medians; the JSON keeps every run.
 */
async function executeComparison(run: BenchRun, ctx: SizeContext): Promise<BenchResult> {
  const pairs = run.comparePairs!(ctx);
  const { comparePairs: _pairs, ...checkpointed } = run;
  const { checkpointIntervalMs: _interval, ...plain } = checkpointed;
  const baselines: BenchResult[] = [];
  const withCheckpoints: BenchResult[] = [];
  for (let i = 0; i < pairs; i++) {
    // ABBA order: a machine that speeds up or slows down over the session favours neither.
    const order = [[plain, baselines], [checkpointed, withCheckpoints]] as const;
    for (const [spec, into] of i % 2 === 0 ? order : [...order].reverse()) {
      const r = await execute(spec, ctx);
      if (r.status === 'failed') return { ...r, id: runId(run), error: `${spec === plain ? 'baseline' : 'checkpointed'} run ${i + 1} of ${pairs}: ${r.error ?? 'failed'}` };
      into.push(r);
    }
  }
  const rate = (r: BenchResult): number => r.fields['events_per_sec'] as number;
  const base = median(baselines.map(rate));
  const withCp = median(withCheckpoints.map(rate));
  // Latency and checkpoint count from the checkpointed run closest to the median.
  const middle = withCheckpoints.reduce((best, r) => (Math.abs(rate(r) - withCp) < Math.abs(rate(best) - withCp) ? r : best));
  const pairOverheads = baselines.map((b, i) => (100 * (rate(b) - rate(withCheckpoints[i]!))) / rate(b));
  return {
    ...middle,
    id: runId(run),
    fields: {
      events_per_sec: Math.round(withCp),
      baseline_events_per_sec: Math.round(base),
      overhead_pct: (100 * (base - withCp)) / base,
      pairs,
      checkpoints: middle.fields['checkpoints'] ?? 0,
      checkpoint_ms: middle.fields['checkpoint_ms'] ?? NaN,
      checkpoint_mb: middle.fields['checkpoint_mb'] ?? NaN,
      max_pause_ms: Math.max(...withCheckpoints.map((r) => Number(r.fields['max_pause_ms'] ?? 0))),
      p50_ms: middle.fields['p50_ms'] ?? NaN,
      p99_ms: middle.fields['p99_ms'] ?? NaN,
    },
    detail: { baselineRuns: baselines.map(rate), checkpointedRuns: withCheckpoints.map(rate), pairOverheadsPct: pairOverheads },
  };
}

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2));
  const kafkaBootstrap = givenBootstrap(options.kafkaBootstrap);
  let runs = selectRuns(options.selectors);
  // Asked for by name, a Kafka run without a broker fails (with what to do); in the default
  // selection it is skipped with one line, so `npm run bench` works on a machine without Java.
  const noBroker = kafkaBootstrap === undefined ? missingBrokerTools() : undefined;
  if (options.selectors.length === 0 && noBroker !== undefined && runs.some((r) => r.kind === 'kafka')) {
    console.log(`Kafka benchmarks skipped (${noBroker}); ${KAFKA_BENCH_HINT}`);
    runs = runs.filter((r) => r.kind !== 'kafka');
  }
  const brokers = new BrokerSession(kafkaBootstrap);
  const startedAt = new Date();
  const results: BenchResult[] = [];
  const ctx: SizeContext = {
    quick: options.quick,
    eventsOverride: options.eventsOverride,
    measuredRate: (id) => {
      const r = results.find((x) => x.id === id && x.status === 'ok');
      const v = r?.fields['events_per_sec'];
      return typeof v === 'number' ? v : undefined;
    },
  };
  try {
    for (const run of runs) {
      if (run.kind === 'kafka') {
        const { notes, ...r } = await executeKafka(run, ctx, brokers);
        results.push(r);
        console.log(benchLine(r));
        for (const line of notes ?? []) console.log(line);
        continue;
      }
      const r = run.comparePairs === undefined || run.kind === 'cluster' ? await execute(run, ctx) : await executeComparison(run, ctx);
      results.push(r);
      console.log(benchLine(r));
    }
  } finally {
    await brokers.close();
  }
  const dir = fileURLToPath(new URL('../results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${startedAt.toISOString().replaceAll(':', '-').replace(/\.\d+Z$/, 'Z')}.json`);
  const cpus = os.cpus();
  const doc = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    quick: options.quick,
    host: { node: process.version, platform: `${os.platform()} ${os.arch()}`, cpus: cpus.length, cpuModel: cpus[0]?.model ?? 'unknown', totalMemMb: Math.round(os.totalmem() / 2 ** 20) },
    results,
  };
  // NaN (no latency samples) becomes null in JSON.
  writeFileSync(file, `${JSON.stringify(doc, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
  console.log(`results written to ${file}`);
  return results.some((r) => r.status === 'failed') ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exitCode = 2;
  },
);
