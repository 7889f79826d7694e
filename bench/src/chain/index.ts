/**
 * The chain microbenchmark (`npm run bench -- chain`): the Nexmark generator → Bids → q1's map →
 * q2's filter → a discarding sink as one chain on one thread (subtask.ts), next to the fused-loop
 * limit doing the same work in one hand-written loop (fused.ts). The two alternate in one process
 * (ABBA pairs after two warm-up runs each), so load on the machine hits both alike, and every run
 * must produce the same events, bids, outputs and checksum as the others, or the benchmark fails.
 * Figures per record are per generated event (persons and auctions included), in wall time and in
 * process CPU time; the ratio is chain ÷ fused, the median of the per-pair ratios, and engine_ns
 * is chain − fused (the median of the per-pair differences): what the engine adds per record.
 */
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { runFused } from './fused.js';
import { timed, type SideCounts, type SideRun } from './measure.js';
import { planChainJob, runChainSubtask } from './subtask.js';

export const CHAIN_JOB_FILE = fileURLToPath(new URL('../jobs/chain.js', import.meta.url));

export interface ChainBenchOptions {
  /** A job that is one chain headed by a Nexmark source (default: bench/src/jobs/chain.ts). */
  jobFile?: string;
  events: number;
  /** Measured chain/fused pairs after the warm-up. */
  pairs: number;
  /** Extra job parameters (e.g. statsDir: adds the source's event counting and latency stamps). */
  params?: Record<string, string>;
}

export interface ChainBenchResult {
  fields: Record<string, string | number>;
  detail: Record<string, unknown>;
  durationMs: number;
}

function sameWork(label: string, a: SideCounts, b: SideCounts): void {
  if (a.events === b.events && a.bids === b.bids && a.outputs === b.outputs && Object.is(a.checksum, b.checksum)) return;
  const show = (s: SideCounts): string => `events=${s.events} bids=${s.bids} outputs=${s.outputs} checksum=${s.checksum}`;
  throw new Error(`chain and fused loop did not do the same work (${label}): chain ${show(a)}, fused ${show(b)}`);
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const perRecord = (r: SideRun, ns: 'wallNs' | 'cpuNs'): number => r[ns] / r.events;

export async function executeChainBench(o: ChainBenchOptions): Promise<ChainBenchResult> {
  const started = Date.now();
  const load1mBefore = os.loadavg()[0]!;
  const params = { events: String(o.events), ...o.params };
  const job = await planChainJob(o.jobFile ?? CHAIN_JOB_FILE, params);
  const chain = (): Promise<SideRun> => timed(() => runChainSubtask(job));
  const fused = (): Promise<SideRun> => timed(() => runFused(params));
  // Warm-up, not counted: the JIT, the string pools and the job module import. Two runs each:
  // the second chain run rebuilds the job, whose new closures deoptimize code the first run
  // specialised on them (a worker thread does the same for every new subtask); from the third
  // on, the chain runs without deoptimizations (node --trace-deopt).
  let warmChain = await chain();
  let warmFused = await fused();
  sameWork('warm-up', warmChain, warmFused);
  warmChain = await chain();
  warmFused = await fused();
  sameWork('second warm-up', warmChain, warmFused);
  const chains: SideRun[] = [];
  const fuseds: SideRun[] = [];
  for (let i = 0; i < o.pairs; i++) {
    // ABBA: a machine that speeds up or slows down during the pairs favours neither side.
    if (i % 2 === 0) {
      chains.push(await chain());
      fuseds.push(await fused());
    } else {
      fuseds.push(await fused());
      chains.push(await chain());
    }
    sameWork(`pair ${i + 1}`, chains[i]!, fuseds[i]!);
    sameWork(`pair ${i + 1} against the warm-up`, chains[i]!, warmChain);
  }
  const wall = (rs: SideRun[]): number => median(rs.map((r) => perRecord(r, 'wallNs')));
  const cpu = (rs: SideRun[]): number => median(rs.map((r) => perRecord(r, 'cpuNs')));
  const pairRatios = (ns: 'wallNs' | 'cpuNs'): number[] => chains.map((c, i) => perRecord(c, ns) / perRecord(fuseds[i]!, ns));
  // What the engine adds per record: the chain's cost beyond the fused loop, pair by pair.
  const pairGaps = (ns: 'wallNs' | 'cpuNs'): number[] => chains.map((c, i) => perRecord(c, ns) - perRecord(fuseds[i]!, ns));
  const chainNs = wall(chains);
  const fusedNs = wall(fuseds);
  const load1mAfter = os.loadavg()[0]!;
  return {
    durationMs: Date.now() - started,
    fields: {
      events: o.events,
      outputs: warmChain.outputs,
      chain_records_per_sec: Math.round(1e9 / chainNs),
      chain_ns_per_record: chainNs,
      fused_records_per_sec: Math.round(1e9 / fusedNs),
      fused_ns_per_record: fusedNs,
      ratio: median(pairRatios('wallNs')),
      engine_ns_per_record: median(pairGaps('wallNs')),
      chain_cpu_ns_per_record: cpu(chains),
      fused_cpu_ns_per_record: cpu(fuseds),
      cpu_ratio: median(pairRatios('cpuNs')),
      engine_cpu_ns_per_record: median(pairGaps('cpuNs')),
      pairs: o.pairs,
      load_1m: Math.round(Math.max(load1mBefore, load1mAfter) * 100) / 100,
    },
    detail: {
      chainOperators: job.operators,
      counts: { events: warmChain.events, bids: warmChain.bids, outputs: warmChain.outputs, checksum: warmChain.checksum },
      chainWallNsPerRecord: chains.map((r) => perRecord(r, 'wallNs')),
      fusedWallNsPerRecord: fuseds.map((r) => perRecord(r, 'wallNs')),
      chainCpuNsPerRecord: chains.map((r) => perRecord(r, 'cpuNs')),
      fusedCpuNsPerRecord: fuseds.map((r) => perRecord(r, 'cpuNs')),
      pairRatiosWall: pairRatios('wallNs'),
      pairRatiosCpu: pairRatios('cpuNs'),
      loadAverage1m: { before: load1mBefore, after: load1mAfter },
      gcExposed: typeof (globalThis as { gc?: unknown }).gc === 'function',
    },
  };
}
