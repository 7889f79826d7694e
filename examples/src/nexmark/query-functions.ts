/**
 * The per-record functions of the stateless Nexmark queries, shared by their job files
 * (queries/q1.ts, q2.ts) and the chain benchmark's fused loop, so both run the very same code.
 */
import type { Bid } from './model.js';

// The functions use non-exported copies: V8 reads an exported binding through its cell, with a
// hole check and a type check, at every use (generator.ts says more).
const RATE = 0.908;
const MODULUS = 123;
/** q1's rate: dollars to euros in the original. */
export const Q1_RATE = RATE;
/** q2 selects bids on auctions whose id is divisible by this. */
export const Q2_MODULUS = MODULUS;

export interface Q1Result {
  auction: number;
  bidder: number;
  price: number;
  dateTime: number;
  extra: string;
  /** Emission stamp carried through for latency measurement (0 when not sampled). */
  emitMs: number;
}

/** q1's map: the bid with its price converted, identity fields, dateTime and extra kept. */
export function q1Convert(b: Bid): Q1Result {
  return { auction: b.auction, bidder: b.bidder, price: b.price * RATE, dateTime: b.dateTime, extra: b.extra, emitMs: b.emitMs };
}

/** q2's predicate. */
export function q2Selects(auction: number): boolean {
  return auction % MODULUS === 0;
}
