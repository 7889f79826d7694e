/**
 * The Nexmark event generator: event number `n` → one Person, Auction or Bid, following the
 * Nexmark rules (see shared/reference/nexmark.md): the kind comes from `n % 50` (0 person, 1–3
 * auction, 4–49 bid); ids start at 1000 and are implied by `n`; categories start at 10; bids go
 * to hot auctions / hot bidders with probability 1 − 1/ratio; prices are log-uniform cents;
 * event time is `baseTime + n / eventsPerSecond`. The options are in config.ts, the price in
 * price.ts.
 *
 * Every random field comes from the `rng` passed in, so the same (n, rng state) always gives the
 * same event. Strings are picked from precomputed pools (see pools.ts): no per-event string work.
 *
 * Written for V8's optimizing compiler, which reads some module bindings on every use:
 * - an exported binding (and an imported one) through its cell, with a hole check and a
 *   small-integer check: the loops use non-exported copies, which it folds into the code;
 * - a function declaration's binding, compared with the function it expects before every call:
 *   the helpers the loops call are `const` arrow functions, which it calls directly;
 * - a module `let`, with a hole check per read: the loops keep the chunk's id bases in locals.
 * Together that was 110 of 1,250 instructions per event (bench/CHAIN-FINDINGS.md §9).
 */
import { SEEDED_RANDOM_STEP, seededWords } from '@sluice/api';
import { SluiceError } from '@sluice/common';
import type { NexmarkConfig } from './config.js';
import type { Auction, Bid, NexmarkEvent, Person } from './model.js';
import { centsOfPowerOfTen } from './price.js';

/**
 * Where the generator's draws come from: the API's SeededRandom, re-seeded for the event. The
 * generator continues its stream from `word` with SeededRandom's own step and mix, in a local
 * copy (see `below`), so the events are what `nextInt`/`nextFloat` calls would give.
 */
export interface NexmarkRandom {
  readonly word: number;
}

// The generator's copies (see the top): first ids, categories, events per epoch.
const FIRST_PERSON = 1000;
const FIRST_AUCTION = 1000;
const FIRST_CATEGORY = 10;
const CATEGORIES = 5;
const EPOCH_EVENTS = 50;
const cents = centsOfPowerOfTen;

export const FIRST_PERSON_ID = FIRST_PERSON;
export const FIRST_AUCTION_ID = FIRST_AUCTION;
export const FIRST_CATEGORY_ID = FIRST_CATEGORY;
export const NUM_CATEGORIES = CATEGORIES;
/** Events per epoch and how they split: 1 person, 3 auctions, 46 bids. */
export const PROPORTION_DENOMINATOR = EPOCH_EVENTS;
const PERSONS_PER_EPOCH = 1;
const AUCTIONS_PER_EPOCH = 3;

/** Multiplying by these is exact and gives what dividing by 2^32 or 2^53 gives. */
const INV_TWO_POW_32 = 1 / 4294967296;
const INV_TWO_POW_53 = 1 / 9007199254740992;

/**
 * Draws are made up front, not one call at a time: for a burst, every event's draws in one
 * integer loop (fillChunkDraws), then the events, each reading its own at k·MAX_DRAWS; nexmarkEvent
 * does the same for one event. Each draw is one mix of SeededRandom's state after the source
 * re-seeded it for the event, so the values are those nextInt/nextFloat would give. Drawn one
 * call at a time, V8 left most of the calls in `bid` un-inlined and boxed every 32-bit draw they
 * returned in a heap number (bench/CHAIN-FINDINGS.md §7–8).
 *
 * An event needs at most MAX_DRAWS (an auction: 2 per price, 1 or 2 for the seller, then item,
 * description, expiry, category and padding), a person PERSON_DRAWS and a bid BID_DRAWS (1 or 2
 * per hot-or-recent id, channel, 2 for the price, padding); draws an event does not use are
 * dropped.
 */
const MAX_DRAWS = 11;
const PERSON_DRAWS = 5;
const BID_DRAWS = 8;
/** Events whose draws are made at once: their draws (11 KiB) stay in the first-level cache until read. */
const DRAW_CHUNK = 256;
/** SeededRandom's step, held locally so the additions compile to integer ones with a constant. */
const STEP = SEEDED_RANDOM_STEP | 0;
/** The draws of up to DRAW_CHUNK events, MAX_DRAWS each, as signed words (a draw is `DRAWS[i] >>> 0`). */
const DRAWS = new Int32Array(DRAW_CHUNK * MAX_DRAWS);
/** The words re-seeding gives for each event of a chunk (seededWords). */
const WORDS = new Int32Array(DRAW_CHUNK);
/** Each event's kind, and the bids' numeric fields, by position in the chunk (fillChunkBids). */
const PERSON = 0;
const AUCTION = 1;
const BID = 2;
const KIND = new Uint8Array(DRAW_CHUNK);
// Ids as offsets from the chunk's lowest possible id (fillChunkBids sets auctionBase and
// bidderBase to them, for its caller to read once), prices as they are: 32-bit integers, so
// bidAt's sums stay small integers, which V8 stores in the event itself.
// Read from a Float64Array they were doubles, and V8 gave each its own heap number in every bid.
// (Ids outgrow 32 bits for indices beyond ~3.5·10^10; the offsets stay small.)
const BID_AUCTION = new Int32Array(DRAW_CHUNK);
const BID_BIDDER = new Int32Array(DRAW_CHUNK);
const BID_PRICE = new Int32Array(DRAW_CHUNK);
let auctionBase = 0;
let bidderBase = 0;
const BID_CHANNEL = new Int32Array(DRAW_CHUNK);
const BID_EXTRA = new Int32Array(DRAW_CHUNK);
/** Where each bid's two price draws start in DRAWS (fillChunkBids), for fillChunkPrices. */
const PRICE_AT = new Int32Array(DRAW_CHUNK);

/** How many draws event `n` needs, from `rem` = n mod EPOCH_EVENTS. */
const drawsFor = (rem: number): number => {
  return rem < PERSONS_PER_EPOCH ? PERSON_DRAWS : rem < PERSONS_PER_EPOCH + AUCTIONS_PER_EPOCH ? MAX_DRAWS : BID_DRAWS;
};

/**
 * `count` draws from `word` into DRAWS at `at`: the stream SeededRandom continues from that
 * state. Integer operations only (mixWord, not mix32, whose unsigned result is a double), so the
 * loop keeps its state and draws in registers as 32-bit words.
 */
const fillDraws = (word: number, count: number, at: number): void => {
  let s = word | 0;
  // One index, not a counter plus an offset: 22 fewer instructions per event.
  const end = at + count;
  for (let p = at; p < end; p++) {
    s = (s + STEP) | 0;
    DRAWS[p] = mixWord(s);
  }
};

/** mix32(s) as a signed word: small enough that V8 always inlines it. */
const mixWord = (s: number): number => {
  let z = Math.imul(s ^ (s >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return z ^ (z >>> 16);
};

/**
 * SeededRandom.nextInt(bound) of the draw at DRAWS[at], for the bounds the generator uses,
 * without its argument checks: every bound here is a positive integer far below 2^32, a pool's
 * length or an option that resolveNexmarkConfig has checked. Small enough that V8 always
 * inlines it, however much of a caller's inlining budget is spent.
 */
const below = (at: number, bound: number): number => {
  return Math.floor((DRAWS[at]! >>> 0) * bound * INV_TWO_POW_32);
};

/**
 * Log-uniform price in cents from the draws at DRAWS[at] and DRAWS[at + 1]: round(10^(6u) × 100),
 * from 1.00 up to 1,000,000.00, u as SeededRandom.nextFloat() draws it.
 */
const price = (at: number): number => {
  return cents(((DRAWS[at]! >>> 5) * 67108864 + (DRAWS[at + 1]! >>> 6)) * INV_TWO_POW_53 * 6);
};

const eventTime = (n: number, config: NexmarkConfig): number => {
  return config.baseTime + Math.floor(n * config.msPerEvent);
};

/** Person `n` from its draws at DRAWS[at]: city, name, email, card, extra. */
const person = (n: number, epoch: number, at: number, c: NexmarkConfig, emitMs: number): Person => {
  const p = c.pools;
  const place = below(at, p.cities.length);
  return {
    kind: 'person',
    id: FIRST_PERSON + epoch * PERSONS_PER_EPOCH,
    name: p.names[below(at + 1, p.names.length)] as string,
    emailAddress: p.emails[below(at + 2, p.emails.length)] as string,
    creditCard: p.cards[below(at + 3, p.cards.length)] as string,
    city: p.cities[place] as string,
    state: p.states[place] as string,
    dateTime: eventTime(n, c),
    extra: p.personExtras[below(at + 4, p.personExtras.length)] as string,
    emitMs,
  };
};

/**
 * Auction `n` from its draws at DRAWS[at]: initial bid (2), seller (1 or 2), item, description,
 * reserve (2), expiry, category, extra.
 */
const auction = (n: number, epoch: number, rem: number, at: number, c: NexmarkConfig, emitMs: number): Auction => {
  const p = c.pools;
  const dateTime = eventTime(n, c);
  const initialBid = price(at);
  // The seller, hot with probability 1 − 1/ratio (the first of the latest block of activePeople
  // people), else uniform among the latest activePeople: one draw for a hot seller, two for a cold one.
  const lastPerson = epoch * PERSONS_PER_EPOCH;
  let seller: number;
  let next: number;
  if (below(at + 2, c.hotSellersRatio) > 0) {
    seller = lastPerson - (lastPerson % c.activePeople);
    next = at + 3;
  } else {
    const lo = Math.max(0, lastPerson - c.activePeople + 1);
    seller = lo + below(at + 3, lastPerson - lo + 1);
    next = at + 4;
  }
  return {
    kind: 'auction',
    id: FIRST_AUCTION + epoch * AUCTIONS_PER_EPOCH + (rem - PERSONS_PER_EPOCH),
    itemName: p.itemNames[below(next, p.itemNames.length)] as string,
    description: p.descriptions[below(next + 1, p.descriptions.length)] as string,
    initialBid,
    reserve: initialBid + price(next + 2),
    dateTime,
    // Auctions run 10 s to 3 min of event time.
    expires: dateTime + 10_000 + below(next + 4, 170_000),
    seller: FIRST_PERSON + seller,
    category: FIRST_CATEGORY + below(next + 5, CATEGORIES),
    extra: p.auctionExtras[below(next + 6, p.auctionExtras.length)] as string,
    emitMs,
  };
};

/**
 * The numeric fields of the bids among events `from, from + stride, …` (`n` ≤ DRAW_CHUNK of
 * them, draws in DRAWS), into the BID_* arrays at the event's position k in the chunk, and every
 * event's kind into KIND; the prices' draw offsets into PRICE_AT. One loop with no calls whose
 * iterations do not depend on each other, so the processor overlaps their floating-point chains;
 * and no branch on a random outcome: whether an id is hot is 0 or 1 in the arithmetic, where a
 * branch would be mispredicted for one bid in two.
 */
function fillChunkBids(from: number, stride: number, n: number, c: NexmarkConfig): void {
  const pools = c.pools;
  const channels = pools.channels.length;
  const extras = pools.bidExtras.length;
  const auctionRatio = c.hotAuctionRatio;
  const bidderRatio = c.hotBiddersRatio;
  let epoch = Math.floor(from / EPOCH_EVENTS);
  let rem = from - epoch * EPOCH_EVENTS;
  const epochStep = Math.floor(stride / EPOCH_EVENTS);
  const remStep = stride - epochStep * EPOCH_EVENTS;
  // hotOrRecent's ids for the current epoch: the hot one, and the cold ones' range.
  let idsEpoch = -1;
  // The lowest ids any bid of the chunk can have: the cold range of its first epoch.
  const lowestAuction = FIRST_AUCTION + Math.max(0, epoch * AUCTIONS_PER_EPOCH + AUCTIONS_PER_EPOCH - c.auctionsInFlight);
  const lowestBidder = FIRST_PERSON + Math.max(0, epoch * PERSONS_PER_EPOCH - c.activePeople + 1);
  auctionBase = lowestAuction;
  bidderBase = lowestBidder;
  let hotAuction = 0;
  let auctionLo = 0;
  let auctionSpan = 0;
  let hotBidder = 0;
  let bidderLo = 0;
  let bidderSpan = 0;
  for (let k = 0; k < n; k++) {
    if (rem < PERSONS_PER_EPOCH) KIND[k] = PERSON;
    else if (rem < PERSONS_PER_EPOCH + AUCTIONS_PER_EPOCH) KIND[k] = AUCTION;
    else {
      KIND[k] = BID;
      if (epoch !== idsEpoch) {
        idsEpoch = epoch;
        // By a bid's position in its epoch all three of the epoch's auctions exist.
        const lastAuction = epoch * AUCTIONS_PER_EPOCH + AUCTIONS_PER_EPOCH - 1;
        hotAuction = lastAuction - (lastAuction % c.auctionsInFlight);
        auctionLo = Math.max(0, lastAuction - c.auctionsInFlight + 1);
        auctionSpan = lastAuction - auctionLo + 1;
        const lastPerson = epoch * PERSONS_PER_EPOCH;
        hotBidder = lastPerson - (lastPerson % c.activePeople);
        bidderLo = Math.max(0, lastPerson - c.activePeople + 1);
        bidderSpan = lastPerson - bidderLo + 1;
      }
      // hotOrRecent twice: cold (1) when below(ratio) is 0, i.e. draw · ratio / 2^32 < 1; the
      // cold id takes one more draw. The unused candidate is computed from whatever word follows
      // (or a stale one) and multiplied by 0.
      let at = k * MAX_DRAWS;
      const coldAuction = +((DRAWS[at]! >>> 0) * auctionRatio * INV_TWO_POW_32 < 1);
      const recentAuction = auctionLo + below(at + 1, auctionSpan);
      at += 1 + coldAuction;
      const coldBidder = +((DRAWS[at]! >>> 0) * bidderRatio * INV_TWO_POW_32 < 1);
      const recentBidder = bidderLo + below(at + 1, bidderSpan);
      at += 1 + coldBidder;
      BID_AUCTION[k] = FIRST_AUCTION + hotAuction + coldAuction * (recentAuction - hotAuction) - lowestAuction;
      BID_BIDDER[k] = FIRST_PERSON + hotBidder + coldBidder * (recentBidder - hotBidder) - lowestBidder;
      BID_CHANNEL[k] = below(at, channels);
      PRICE_AT[k] = at + 1;
      BID_EXTRA[k] = below(at + 3, extras);
    }
    rem += remStep;
    epoch += epochStep;
    if (rem >= EPOCH_EVENTS) {
      rem -= EPOCH_EVENTS;
      epoch++;
    }
  }
}

/**
 * The bids' prices, in a loop of their own after fillChunkBids: a price is a dozen dependent
 * floating-point steps, and in a loop this small the processor works on several bids' at once,
 * where inside fillChunkBids' long body it could hardly overlap two (the generator 2–3% faster).
 */
function fillChunkPrices(n: number): void {
  for (let k = 0; k < n; k++) {
    if (KIND[k] === BID) BID_PRICE[k] = price(PRICE_AT[k]!);
  }
}

/** Bid number `n`, at position k of the chunk fillChunkBids filled, with the chunk's lowest ids. */
const bidAt = (k: number, n: number, c: NexmarkConfig, emitMs: number, lowestAuction: number, lowestBidder: number): Bid => {
  const p = c.pools;
  const channel = BID_CHANNEL[k]!;
  return {
    kind: 'bid',
    auction: lowestAuction + BID_AUCTION[k]!,
    bidder: lowestBidder + BID_BIDDER[k]!,
    price: BID_PRICE[k]!,
    channel: p.channels[channel] as string,
    url: p.urls[channel] as string,
    // eventTime's sum, written out: the bids' path inlines the whole chain after it, and V8's
    // inlining budget ran out before eventTime, whose call then boxed every result.
    dateTime: c.baseTime + Math.floor(n * c.msPerEvent),
    extra: p.bidExtras[BID_EXTRA[k]!] as string,
    emitMs,
  };
};

/** Event `n`, a person or an auction, from its draws at DRAWS[at]. */
const personOrAuction = (n: number, at: number, config: NexmarkConfig, emitMs: number): NexmarkEvent => {
  // The epoch's last person is person `epoch` (event 0 of an epoch is its person).
  const epoch = Math.floor(n / EPOCH_EVENTS);
  const rem = n - epoch * EPOCH_EVENTS;
  if (rem < PERSONS_PER_EPOCH) return person(n, epoch, at, config, emitMs);
  return auction(n, epoch, rem, at, config, emitMs);
};

/**
 * Event number `n` (a non-negative integer). `emitMs` is stored as-is on the event (the
 * emission wall-clock time for latency sampling, or 0).
 */
export function nexmarkEvent(n: number, rng: NexmarkRandom, config: NexmarkConfig, emitMs = 0): NexmarkEvent {
  // A chunk of one event, in the chunk's first slots. It may be called from code a burst's
  // output runs (a downstream function on the same thread): that burst has read its first slots
  // already, and holds its id bases in locals.
  // `rng` itself is left where it is: the source re-seeds it for every event anyway.
  fillDraws(rng.word, drawsFor(n % EPOCH_EVENTS), 0);
  fillChunkBids(n, 1, 1, config);
  fillChunkPrices(1);
  return KIND[0] === BID ? bidAt(0, n, config, emitMs, auctionBase, bidderBase) : personOrAuction(n, 0, config, emitMs);
}

/** The draws of events `from, from + stride, …` (`n` ≤ DRAW_CHUNK of them), event k's at k·MAX_DRAWS. */
function fillChunkDraws(from: number, stride: number, n: number, seed: number): void {
  seededWords(seed, from, stride, n, WORDS);
  let rem = from % EPOCH_EVENTS;
  const remStep = stride % EPOCH_EVENTS;
  for (let k = 0; k < n; k++) {
    fillDraws(WORDS[k]!, drawsFor(rem), k * MAX_DRAWS);
    rem += remStep;
    if (rem >= EPOCH_EVENTS) rem -= EPOCH_EVENTS;
  }
}

/**
 * Events `first, first + stride, …` (`count` of them) into `out`, each the event nexmarkEvent
 * gives for its index with the rng re-seeded from `seed` (GeneratorSource's generateBurst).
 * `emitMs()` is called once per event, in order, for its stamp.
 *
 * A burst at a time because the draws are integer work that runs several times faster in a loop
 * of their own than spread over the events: per chunk of DRAW_CHUNK events, the re-seed words
 * first (seededWords), then every event's draws, then the events, each reading its own draws.
 */
export function nexmarkBurst(first: number, stride: number, count: number, seed: number, config: NexmarkConfig, emitMs: () => number, out: { collect(e: NexmarkEvent): void }): void {
  // The chunk's state is one per thread: a burst started from inside another's output would
  // overwrite what the outer one has yet to emit.
  if (emitting) throw new SluiceError('NEXMARK_BURST_NESTED', 'nexmarkBurst was called from inside the output of another nexmarkBurst on the same thread; make one burst at a time (nexmarkEvent may be called there)');
  emitting = true;
  try {
    emitChunks(first, stride, count, seed, config, emitMs, out);
  } finally {
    emitting = false;
  }
}

/** Whether a burst is emitting on this thread (nexmarkBurst). */
let emitting = false;

function emitChunks(first: number, stride: number, count: number, seed: number, config: NexmarkConfig, emitMs: () => number, out: { collect(e: NexmarkEvent): void }): void {
  for (let done = 0; done < count; done += DRAW_CHUNK) {
    const n = Math.min(DRAW_CHUNK, count - done);
    const from = first + done * stride;
    fillChunkDraws(from, stride, n, seed);
    fillChunkBids(from, stride, n, config);
    fillChunkPrices(n);
    const lowestAuction = auctionBase;
    const lowestBidder = bidderBase;
    for (let k = 0; k < n; k++) {
      const index = from + k * stride;
      if (KIND[k] === BID) {
        out.collect(bidAt(k, index, config, emitMs(), lowestAuction, lowestBidder));
      } else {
        out.collect(personOrAuction(index, k * MAX_DRAWS, config, emitMs()));
      }
    }
  }
}
