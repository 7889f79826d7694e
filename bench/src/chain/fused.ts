/**
 * The fused-loop limit: the chain's work with no engine in between — the generator making the
 * same events as the chain's source (nexmarkBurst, a burst of GENERATOR_BURST at a time as
 * GeneratorSource asks for them), each handed straight to q1's map, q2's filter and the sink's
 * checksum. What the chain costs beyond this loop is the engine's share.
 */
import { GENERATOR_BURST } from '@sluice/api';
import { nexmarkBurst, nexmarkOptionsFromParams, resolveNexmarkConfig, type NexmarkEvent } from '@sluice/examples/nexmark';
import type { SideCounts } from './measure.js';
import { checksumOf, q1Convert, q2Select } from './work.js';

/** No emission stamps: the chain job runs without latency sampling too. */
const noStamp = (): number => 0;

/** The fused loop's "rest of the chain": the work per event, as one monomorphic collect. */
class FusedWork {
  bids = 0;
  outputs = 0;
  checksum = 0;
  collect(e: NexmarkEvent): void {
    if (e.kind !== 'bid') return;
    this.bids++;
    const r = q1Convert(e);
    if (!q2Select(r)) return;
    this.outputs++;
    this.checksum += checksumOf(r);
  }
}

/** The generator alone, for the findings' breakdown: bids counted and their prices summed (so the events are used). */
class GenerateOnly {
  bids = 0;
  checksum = 0;
  collect(e: NexmarkEvent): void {
    if (e.kind !== 'bid') return;
    this.bids++;
    this.checksum += e.price;
  }
}

/** Runs the generator over `params`' events (events, seed, eventRate, as the chain job reads them) into `sink`. */
function generateInto(params: Readonly<Record<string, string>>, sink: { collect(e: NexmarkEvent): void }): number {
  const options = nexmarkOptionsFromParams(params);
  const config = resolveNexmarkConfig(options);
  const events = options.events!;
  for (let first = 0; first < events; first += GENERATOR_BURST) {
    nexmarkBurst(first, 1, Math.min(GENERATOR_BURST, events - first), options.seed!, config, noStamp, sink);
  }
  return events;
}

/** `params` as the chain job reads them, so both sides generate the same events. */
export function runFused(params: Readonly<Record<string, string>>): SideCounts {
  const work = new FusedWork();
  const events = generateInto(params, work);
  return { events, bids: work.bids, outputs: work.outputs, checksum: work.checksum };
}

/** The same events as runFused, with no map, filter or sink. */
export function runGenerateOnly(params: Readonly<Record<string, string>>): SideCounts {
  const work = new GenerateOnly();
  const events = generateInto(params, work);
  return { events, bids: work.bids, outputs: 0, checksum: work.checksum };
}
