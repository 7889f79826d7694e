/**
 * The fused-loop limit: one hand-written loop doing the chain's work with no engine in between —
 * the same generator call per index (nexmarkEvent, re-seeding one SeededRandom per index as
 * GeneratorSource does), then q1's map, q2's filter and the sink's checksum. What the chain costs
 * beyond this loop is the engine's share.
 */
import { SeededRandom } from '@sluice/api';
import { nexmarkEvent, nexmarkOptionsFromParams, resolveNexmarkConfig } from '@sluice/examples/nexmark';
import type { SideCounts } from './measure.js';
import { checksumOf, q1Convert, q2Select } from './work.js';

/** `params` as the chain job reads them (events, seed, eventRate), so both sides generate the same events. */
export function runFused(params: Readonly<Record<string, string>>): SideCounts {
  const options = nexmarkOptionsFromParams(params);
  const config = resolveNexmarkConfig(options);
  const events = options.events!;
  const seed = options.seed!;
  const rng = new SeededRandom();
  let bids = 0;
  let outputs = 0;
  let checksum = 0;
  for (let i = 0; i < events; i++) {
    const e = nexmarkEvent(i, rng.reseed(seed, i), config, 0);
    if (e.kind !== 'bid') continue;
    bids++;
    const r = q1Convert(e);
    if (!q2Select(r)) continue;
    outputs++;
    checksum += checksumOf(r);
  }
  return { events, bids, outputs, checksum };
}

/**
 * The generator alone, for the findings' breakdown: the same events as runFused, bids counted
 * and their prices summed (so the events are used), no map, filter or sink.
 */
export function runGenerateOnly(params: Readonly<Record<string, string>>): SideCounts {
  const options = nexmarkOptionsFromParams(params);
  const config = resolveNexmarkConfig(options);
  const events = options.events!;
  const seed = options.seed!;
  const rng = new SeededRandom();
  let bids = 0;
  let checksum = 0;
  for (let i = 0; i < events; i++) {
    const e = nexmarkEvent(i, rng.reseed(seed, i), config, 0);
    if (e.kind !== 'bid') continue;
    bids++;
    checksum += e.price;
  }
  return { events, bids, outputs: 0, checksum };
}
