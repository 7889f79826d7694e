/**
 * One side of the chain benchmark on its own, for profilers (bench/CHAIN-FINDINGS.md):
 *
 *   node [--cpu-prof | --trace-gc-nvp …] bench/dist/chain/profile.js <side> [--events=N] [--runs=R] [--alloc]
 *
 * sides: chain (the job as `npm run bench -- chain` runs it), chain-measured (plus what a q-run
 * measures: the source's event counting and a latency stamp every 256th event), fused, generate
 * (the generator alone). Prints one line per run with ns per event (wall and CPU). With --alloc, the
 * last run is also sampled for allocation sites (alloc-profile.ts): bytes per event per function.
 * With --ablate=…, parts of the chained path are replaced first (ablations.ts, what-if timing only).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { ABLATIONS, applyAblations, type Ablation } from './ablations.js';
import { profileAllocations } from './alloc-profile.js';
import { CHAIN_JOB_FILE } from './index.js';
import { runFused, runGenerateOnly } from './fused.js';
import { timed, type SideCounts } from './measure.js';
import { planChainJob, runChainSubtask } from './subtask.js';

const SIDES = ['chain', 'chain-measured', 'fused', 'generate'] as const;
type Side = (typeof SIDES)[number];

function parse(argv: readonly string[]): { side: Side; events: number; runs: number; alloc: boolean; ablate: Ablation[] } {
  let side: Side | undefined;
  let alloc = false;
  let ablate: Ablation[] = [];
  let events = 5_000_000;
  let runs = 3;
  for (const a of argv) {
    if (a.startsWith('--events=')) events = Number(a.slice(9).replaceAll('_', ''));
    else if (a.startsWith('--runs=')) runs = Number(a.slice(7));
    else if (a === '--alloc') alloc = true;
    else if (a.startsWith('--ablate=')) {
      ablate = a.slice(9).split(',') as Ablation[];
      const bad = ablate.find((x) => !(ABLATIONS as readonly string[]).includes(x));
      if (bad !== undefined) throw new Error(`unknown ablation '${bad}'; known: ${ABLATIONS.join(', ')}`);
    }
    else if ((SIDES as readonly string[]).includes(a)) side = a as Side;
    else throw new Error(`unknown argument '${a}'; usage: profile.js <${SIDES.join('|')}> [--events=N] [--runs=R] [--alloc] [--ablate=a,b]`);
  }
  if (side === undefined) throw new Error(`which side? usage: profile.js <${SIDES.join('|')}> [--events=N] [--runs=R] [--alloc] [--ablate=a,b]`);
  if (!Number.isSafeInteger(events) || events < 1000) throw new Error(`--events needs an integer ≥ 1000, got ${events}`);
  if (!Number.isSafeInteger(runs) || runs < 1) throw new Error(`--runs needs a positive integer, got ${runs}`);
  return { side, events, runs, alloc, ablate };
}

async function main(): Promise<void> {
  const { side, events, runs, alloc, ablate } = parse(process.argv.slice(2));
  if (ablate.length > 0) await applyAblations(ablate);
  const statsDir = side === 'chain-measured' ? mkdtempSync(join(os.tmpdir(), 'sluice-chain-profile-')) : undefined;
  try {
    const params: Record<string, string> = { events: String(events), ...(statsDir === undefined ? {} : { statsDir, latencySampleEvery: '256' }) };
    let run: () => Promise<SideCounts> | SideCounts;
    if (side === 'fused') run = () => runFused(params);
    else if (side === 'generate') run = () => runGenerateOnly(params);
    else {
      const job = await planChainJob(CHAIN_JOB_FILE, params);
      run = () => runChainSubtask(job);
    }
    for (let i = 0; i < runs; i++) {
      const r = await timed(run);
      if (alloc && i === runs - 1) {
        const a = await profileAllocations(events, async () => run());
        console.log(`ALLOC side=${side} bytes_per_event=${a.total.toFixed(1)}`);
        for (const s of a.sites.slice(0, 15)) console.log(`ALLOC   ${s.bytesPerEvent.toFixed(1).padStart(7)} B/event  ${s.site}`);
        continue;
      }
      console.log(`PROFILE side=${side}${ablate.length > 0 ? ` ablate=${ablate.join(',')}` : ''} run=${i + 1} events=${events} outputs=${r.outputs} ns_per_record=${(r.wallNs / events).toFixed(1)} cpu_ns_per_record=${(r.cpuNs / events).toFixed(1)} load_1m=${os.loadavg()[0]!.toFixed(2)}`);
    }
  } finally {
    if (statsDir !== undefined) rmSync(statsDir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
