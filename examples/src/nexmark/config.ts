/**
 * The Nexmark generator's options and their checked, resolved form (the generator's rules are in
 * generator.ts). Resolved once per job build; nothing here runs per event.
 */
import { ConfigurationError } from '@sluice/common';
import { nexmarkPools, type NexmarkPools } from './pools.js';

export interface NexmarkOptions {
  /** Event time of event 0, ms since the epoch. */
  baseTime?: number;
  /** Events per second of event time (sets the inter-event delay). */
  eventsPerSecond?: number;
  hotAuctionRatio?: number;
  hotBiddersRatio?: number;
  hotSellersRatio?: number;
  /** Auctions considered "in flight" for cold bids. */
  auctionsInFlight?: number;
  /** People considered active for cold bidders and sellers. */
  activePeople?: number;
  avgBidBytes?: number;
  avgPersonBytes?: number;
  avgAuctionBytes?: number;
}

export interface NexmarkConfig extends Readonly<Required<NexmarkOptions>> {
  readonly pools: NexmarkPools;
  /** Event-time milliseconds per event (1000 / eventsPerSecond). */
  readonly msPerEvent: number;
}

export const DEFAULT_NEXMARK_OPTIONS: Readonly<Required<NexmarkOptions>> = Object.freeze({
  // 2023-11-14T22:13:20Z: a round, fixed epoch so runs are reproducible.
  baseTime: 1_700_000_000_000,
  eventsPerSecond: 10_000_000,
  hotAuctionRatio: 2,
  hotBiddersRatio: 4,
  hotSellersRatio: 4,
  auctionsInFlight: 100,
  activePeople: 1000,
  avgBidBytes: 100,
  avgPersonBytes: 200,
  avgAuctionBytes: 500,
});

/** The largest ratio, window or population option (see resolveNexmarkConfig). */
const MAX_COUNT_OPTION = 1_000_000_000;

function checkPositive(name: string, v: number, integer: boolean): void {
  if (!Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) {
    throw new ConfigurationError(`Nexmark option ${name} must be a positive ${integer ? 'integer' : 'number'}, got ${v}`);
  }
}

export function resolveNexmarkConfig(options: NexmarkOptions = {}): NexmarkConfig {
  const o: Required<NexmarkOptions> = { ...DEFAULT_NEXMARK_OPTIONS };
  // Only the generator's own keys: callers pass source options too (events, statsDir, …), and
  // copying them would give configs of one job different shapes and the generator polymorphic loads.
  for (const k of Object.keys(DEFAULT_NEXMARK_OPTIONS) as (keyof NexmarkOptions)[]) {
    const v = options[k];
    if (v !== undefined) o[k] = v;
  }
  if (!Number.isFinite(o.baseTime)) throw new ConfigurationError(`Nexmark option baseTime must be a finite number, got ${o.baseTime}`);
  checkPositive('eventsPerSecond', o.eventsPerSecond, false);
  for (const k of ['hotAuctionRatio', 'hotBiddersRatio', 'hotSellersRatio', 'auctionsInFlight', 'activePeople'] as const) {
    checkPositive(k, o[k], true);
    // The generator keeps a chunk's ids as 32-bit offsets from its lowest one, and draws
    // below(ratio) from a 32-bit word: both need these well inside 32 bits.
    if (o[k] > MAX_COUNT_OPTION) throw new ConfigurationError(`Nexmark option ${k} must be at most ${MAX_COUNT_OPTION}, got ${o[k]}`);
  }
  for (const k of ['avgBidBytes', 'avgPersonBytes', 'avgAuctionBytes'] as const) checkPositive(k, o[k], false);
  return Object.freeze({ ...o, msPerEvent: 1000 / o.eventsPerSecond, pools: nexmarkPools(o) });
}
