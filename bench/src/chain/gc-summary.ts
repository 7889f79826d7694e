/**
 * Allocation and GC per event from `node --expose-gc --trace-gc-nvp bench/dist/chain/profile.js …`
 * output (stdin or a file). profile.js forces a full GC before each run (timed() does with
 * --expose-gc), so the bytes V8 reports as `allocated=` at the GCs between two forced ones are one
 * run's allocations, and the scavenges between them are its scavenges.
 *
 *   node --expose-gc --trace-gc-nvp bench/dist/chain/profile.js chain --runs=3 | node bench/dist/chain/gc-summary.js
 */
import { readFileSync } from 'node:fs';

interface RunGc {
  events: number;
  allocated: number;
  scavenges: number;
  markCompacts: number;
  pauseMs: number;
}

function field(line: string, name: string): string | undefined {
  return new RegExp(`(?:^|\\s)${name}=(\\S+)`).exec(line)?.[1];
}

function main(): void {
  const text = readFileSync(process.argv[2] ?? 0, 'utf8');
  const runs: RunGc[] = [];
  let current: RunGc = { events: 0, allocated: 0, scavenges: 0, markCompacts: 0, pauseMs: 0 };
  let forcedSeen = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('PROFILE ')) {
      current.events = Number(field(line, 'events'));
      runs.push(current);
      current = { events: 0, allocated: 0, scavenges: 0, markCompacts: 0, pauseMs: 0 };
      forcedSeen = false;
      continue;
    }
    const kind = field(line, 'gc');
    if (kind === undefined) continue;
    const allocated = Number(field(line, 'allocated') ?? 0);
    // The first GC after a run's line is the next run's forced one: its allocations are the
    // previous run's tail.
    if (!forcedSeen && runs.length > 0 && kind !== 's') {
      forcedSeen = true;
      runs[runs.length - 1]!.allocated += allocated;
      continue;
    }
    current.allocated += allocated;
    current.pauseMs += Number(field(line, 'pause') ?? 0);
    if (kind === 's') current.scavenges++;
    else current.markCompacts++;
  }
  runs.forEach((r, i) => {
    console.log(
      `GC run=${i + 1} events=${r.events} bytes_per_event=${(r.allocated / r.events).toFixed(1)} scavenges=${r.scavenges} mark_compacts=${r.markCompacts} pause_ms=${r.pauseMs.toFixed(1)} pause_ns_per_event=${((r.pauseMs * 1e6) / r.events).toFixed(1)}`,
    );
  });
}

main();
