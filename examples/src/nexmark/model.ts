/**
 * The Nexmark data model: people, auctions and bids of an online auction site, as plain objects
 * with a `kind` discriminator so one stream can carry all three. Every object of a kind has the
 * same fields in the same order (one hidden class per kind in V8 — keeps the hot path monomorphic).
 *
 * `emitMs` is not part of Nexmark: it is the wall-clock emission time (ms, fractional) stamped by
 * the generator on sampled records for latency measurement, and 0 on the others.
 */

export interface Person {
  readonly kind: 'person';
  readonly id: number;
  readonly name: string;
  readonly emailAddress: string;
  readonly creditCard: string;
  readonly city: string;
  readonly state: string;
  readonly dateTime: number;
  readonly extra: string;
  readonly emitMs: number;
}

export interface Auction {
  readonly kind: 'auction';
  readonly id: number;
  readonly itemName: string;
  readonly description: string;
  readonly initialBid: number;
  readonly reserve: number;
  readonly dateTime: number;
  readonly expires: number;
  readonly seller: number;
  readonly category: number;
  readonly extra: string;
  readonly emitMs: number;
}

export interface Bid {
  readonly kind: 'bid';
  readonly auction: number;
  readonly bidder: number;
  /** Cents. */
  readonly price: number;
  readonly channel: string;
  readonly url: string;
  readonly dateTime: number;
  readonly extra: string;
  readonly emitMs: number;
}

export type NexmarkEvent = Person | Auction | Bid;

export function isBid(e: NexmarkEvent): e is Bid {
  return e.kind === 'bid';
}

/**
 * Size of an event as Nexmark accounts for it: 8 bytes per numeric field plus the length of each
 * string field (the `kind` tag is framing, not payload). The generator's padding targets this
 * measure: ~100 bytes per bid, ~200 per person, ~500 per auction.
 */
export function payloadBytes(e: NexmarkEvent): number {
  switch (e.kind) {
    case 'bid':
      return 5 * 8 + e.channel.length + e.url.length + e.extra.length;
    case 'person':
      return 3 * 8 + e.name.length + e.emailAddress.length + e.creditCard.length + e.city.length + e.state.length + e.extra.length;
    case 'auction':
      return 8 * 8 + e.itemName.length + e.description.length + e.extra.length;
  }
}
