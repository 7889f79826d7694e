/**
 * The Nexmark event generator: event number `n` → one Person, Auction or Bid, following the
 * Nexmark rules (see shared/reference/nexmark.md): the kind comes from `n % 50` (0 person, 1–3
 * auction, 4–49 bid); ids start at 1000 and are implied by `n`; categories start at 10; bids go
 * to hot auctions / hot bidders with probability 1 − 1/ratio; prices are log-uniform cents;
 * event time is `baseTime + n / eventsPerSecond`.
 *
 * Every random field comes from the `rng` passed in, so the same (n, rng state) always gives the
 * same event. Strings are picked from precomputed pools (see pools.ts): no per-event string work.
 */
import { ConfigurationError } from '@sluice/common';
import type { Auction, Bid, NexmarkEvent, Person } from './model.js';
import { nexmarkPools, type NexmarkPools } from './pools.js';

/** The random draws the generator needs; the API's SeededRandom satisfies it. */
export interface NexmarkRandom {
  /** Uniform integer in [0, bound). */
  nextInt(bound: number): number;
  /** Uniform float in [0, 1). */
  nextFloat(): number;
}

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

export const FIRST_PERSON_ID = 1000;
export const FIRST_AUCTION_ID = 1000;
export const FIRST_CATEGORY_ID = 10;
export const NUM_CATEGORIES = 5;
/** Events per epoch and how they split: 1 person, 3 auctions, 46 bids. */
export const PROPORTION_DENOMINATOR = 50;
const PERSONS_PER_EPOCH = 1;
const AUCTIONS_PER_EPOCH = 3;

function checkPositive(name: string, v: number, integer: boolean): void {
  if (!Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) {
    throw new ConfigurationError(`Nexmark option ${name} must be a positive ${integer ? 'integer' : 'number'}, got ${v}`);
  }
}

export function resolveNexmarkConfig(options: NexmarkOptions = {}): NexmarkConfig {
  const o: Required<NexmarkOptions> = { ...DEFAULT_NEXMARK_OPTIONS };
  for (const [k, v] of Object.entries(options) as [keyof NexmarkOptions, number | undefined][]) {
    if (v !== undefined) o[k] = v;
  }
  if (!Number.isFinite(o.baseTime)) throw new ConfigurationError(`Nexmark option baseTime must be a finite number, got ${o.baseTime}`);
  checkPositive('eventsPerSecond', o.eventsPerSecond, false);
  for (const k of ['hotAuctionRatio', 'hotBiddersRatio', 'hotSellersRatio', 'auctionsInFlight', 'activePeople'] as const) checkPositive(k, o[k], true);
  for (const k of ['avgBidBytes', 'avgPersonBytes', 'avgAuctionBytes'] as const) checkPositive(k, o[k], false);
  return Object.freeze({ ...o, msPerEvent: 1000 / o.eventsPerSecond, pools: nexmarkPools(o) });
}

/** Base-0 id of the last person generated at or before event `n` (event 0 is a person). */
function lastPersonBase0(n: number): number {
  return Math.floor(n / PROPORTION_DENOMINATOR) * PERSONS_PER_EPOCH;
}

/** Log-uniform price in cents: round(10^(6u) × 100), from 1.00 up to 1,000,000.00. */
function price(rng: NexmarkRandom): number {
  return Math.round(Math.pow(10, rng.nextFloat() * 6) * 100);
}

/**
 * A "hot" id with probability 1 − 1/ratio — the first id of the latest block of `window` ids —
 * otherwise a uniform id among the latest `window` ones.
 */
function hotOrRecent(last: number, ratio: number, window: number, rng: NexmarkRandom): number {
  if (rng.nextInt(ratio) > 0) return last - (last % window);
  const lo = Math.max(0, last - window + 1);
  return lo + rng.nextInt(last - lo + 1);
}

function eventTime(n: number, config: NexmarkConfig): number {
  return config.baseTime + Math.floor(n * config.msPerEvent);
}

function person(n: number, rng: NexmarkRandom, c: NexmarkConfig, emitMs: number): Person {
  const p = c.pools;
  const place = rng.nextInt(p.cities.length);
  return {
    kind: 'person',
    id: FIRST_PERSON_ID + lastPersonBase0(n),
    name: p.names[rng.nextInt(p.names.length)] as string,
    emailAddress: p.emails[rng.nextInt(p.emails.length)] as string,
    creditCard: p.cards[rng.nextInt(p.cards.length)] as string,
    city: p.cities[place] as string,
    state: p.states[place] as string,
    dateTime: eventTime(n, c),
    extra: p.personExtras[rng.nextInt(p.personExtras.length)] as string,
    emitMs,
  };
}

function auction(n: number, rem: number, rng: NexmarkRandom, c: NexmarkConfig, emitMs: number): Auction {
  const p = c.pools;
  const epoch = Math.floor(n / PROPORTION_DENOMINATOR);
  const dateTime = eventTime(n, c);
  const initialBid = price(rng);
  const seller = hotOrRecent(lastPersonBase0(n), c.hotSellersRatio, c.activePeople, rng);
  return {
    kind: 'auction',
    id: FIRST_AUCTION_ID + epoch * AUCTIONS_PER_EPOCH + (rem - PERSONS_PER_EPOCH),
    itemName: p.itemNames[rng.nextInt(p.itemNames.length)] as string,
    description: p.descriptions[rng.nextInt(p.descriptions.length)] as string,
    initialBid,
    reserve: initialBid + price(rng),
    dateTime,
    // Auctions run 10 s to 3 min of event time.
    expires: dateTime + 10_000 + rng.nextInt(170_000),
    seller: FIRST_PERSON_ID + seller,
    category: FIRST_CATEGORY_ID + rng.nextInt(NUM_CATEGORIES),
    extra: p.auctionExtras[rng.nextInt(p.auctionExtras.length)] as string,
    emitMs,
  };
}

function bid(n: number, rng: NexmarkRandom, c: NexmarkConfig, emitMs: number): Bid {
  const p = c.pools;
  // By a bid's position in its epoch all three of the epoch's auctions exist.
  const lastAuction = Math.floor(n / PROPORTION_DENOMINATOR) * AUCTIONS_PER_EPOCH + AUCTIONS_PER_EPOCH - 1;
  const auctionId = hotOrRecent(lastAuction, c.hotAuctionRatio, c.auctionsInFlight, rng);
  const bidder = hotOrRecent(lastPersonBase0(n), c.hotBiddersRatio, c.activePeople, rng);
  const channel = rng.nextInt(p.channels.length);
  return {
    kind: 'bid',
    auction: FIRST_AUCTION_ID + auctionId,
    bidder: FIRST_PERSON_ID + bidder,
    price: price(rng),
    channel: p.channels[channel] as string,
    url: p.urls[channel] as string,
    dateTime: eventTime(n, c),
    extra: p.bidExtras[rng.nextInt(p.bidExtras.length)] as string,
    emitMs,
  };
}

/**
 * Event number `n` (a non-negative integer). `emitMs` is stored as-is on the event (the
 * emission wall-clock time for latency sampling, or 0).
 */
export function nexmarkEvent(n: number, rng: NexmarkRandom, config: NexmarkConfig, emitMs = 0): NexmarkEvent {
  const rem = n % PROPORTION_DENOMINATOR;
  if (rem < PERSONS_PER_EPOCH) return person(n, rng, config, emitMs);
  if (rem < PERSONS_PER_EPOCH + AUCTIONS_PER_EPOCH) return auction(n, rem, rng, config, emitMs);
  return bid(n, rng, config, emitMs);
}
