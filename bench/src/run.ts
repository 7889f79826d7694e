/**
 * The benchmark harness (`npm run bench [-- q1 q5 --quick --events=N]`). Runs the selected
 * benchmarks one after another, each on a fresh embedded cluster (see engine.ts), prints one
 * `BENCH name=… parallelism=… …` line per run and writes all results as JSON to
 * bench/results/<timestamp>.json. Measurement operators report through a temporary stats
 * directory per run (see examples/src/nexmark/reports.ts and measure.ts).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readReports } from '@sluice/examples/nexmark';
import { runJob } from './engine.js';
import { stateFigures, throughputFigures } from './measure.js';
import { runId, selectRuns, type BenchRun, type SizeContext } from './runs.js';

interface Options {
  selectors: string[];
  quick: boolean;
  eventsOverride: number | undefined;
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

const USAGE = 'usage: npm run bench -- [name ...] [--quick] [--events=N]\n  names: q0 q1 q2 q5 q7 keyed-max keyed-half keyed-10k state state-string-keys q5-checkpointed checkpoint-1m (or q1-p2, keyed)';

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { selectors: [], quick: false, eventsOverride: undefined };
  for (const a of argv) {
    if (a === '--quick') o.quick = true;
    else if (a.startsWith('--events=')) {
      const n = Number(a.slice('--events='.length).replaceAll('_', ''));
      if (!Number.isSafeInteger(n) || n < 1000) throw new Error(`--events needs an integer ≥ 1000, got '${a}'`);
      o.eventsOverride = n;
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

async function execute(run: BenchRun, ctx: SizeContext): Promise<BenchResult> {
  const base = { id: runId(run), name: run.name, parallelism: run.parallelism };
  let params: Record<string, string> = {};
  const statsDir = mkdtempSync(join(os.tmpdir(), `sluice-bench-${runId(run)}-`));
  const checkpointDir = join(statsDir, 'checkpoints');
  try {
    params = { ...run.params(ctx), ...(run.kind === 'throughput' ? { statsDir } : {}) };
    const result = await runJob(run.jobFile, {
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
      const baseline = run.needs?.[0] === undefined ? undefined : ctx.measuredRate(run.needs[0]);
      if (baseline !== undefined) checkpointing['overhead_pct'] = (100 * (baseline - t.eventsPerSec)) / baseline;
    }
    return {
      ...base,
      ...timing,
      status: 'ok',
      fields: { events_per_sec: Math.round(t.eventsPerSec), p50_ms: t.p50Ms, p99_ms: t.p99Ms, ...checkpointing, ...labels },
      detail: { ...t },
    };
  } catch (e) {
    return { ...base, params, status: 'failed', error: e instanceof Error ? e.message : String(e), fields: {} };
  } finally {
    rmSync(statsDir, { recursive: true, force: true });
  }
}

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2));
  const runs = selectRuns(options.selectors);
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
  for (const run of runs) {
    const r = await execute(run, ctx);
    results.push(r);
    console.log(benchLine(r));
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
