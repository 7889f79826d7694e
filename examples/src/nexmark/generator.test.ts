import { SeededRandom } from '@sluice/api';
import { describe, expect, it } from 'vitest';
import { resolveNexmarkConfig } from './config.js';
import { FIRST_AUCTION_ID, FIRST_CATEGORY_ID, FIRST_PERSON_ID, nexmarkEvent } from './generator.js';
import { payloadBytes, type NexmarkEvent } from './model.js';

const config = resolveNexmarkConfig();

function events(from: number, count: number, seed = 42): NexmarkEvent[] {
  const rng = new SeededRandom();
  const out: NexmarkEvent[] = [];
  for (let i = from; i < from + count; i++) out.push(nexmarkEvent(i, rng.reseed(seed, i), config));
  return out;
}

describe('nexmarkEvent', () => {
  it('is deterministic: the same index and seed give the same event', () => {
    expect(events(0, 2000)).toEqual(events(0, 2000));
    expect(events(123_456, 10)).toEqual(events(123_456, 10));
    expect(events(0, 200, 1)).not.toEqual(events(0, 200, 2));
  });

  it('splits every 50 events exactly 1 : 3 : 46 by n % 50', () => {
    const all = events(0, 50 * 40);
    for (let epoch = 0; epoch < 40; epoch++) {
      const slice = all.slice(epoch * 50, epoch * 50 + 50);
      expect(slice.filter((e) => e.kind === 'person')).toHaveLength(1);
      expect(slice.filter((e) => e.kind === 'auction')).toHaveLength(3);
      expect(slice.filter((e) => e.kind === 'bid')).toHaveLength(46);
      expect(slice[0]?.kind).toBe('person');
      expect(slice.slice(1, 4).every((e) => e.kind === 'auction')).toBe(true);
    }
  });

  it('numbers persons and auctions consecutively from 1000 and keeps references in range', () => {
    const all = events(0, 50 * 200);
    const persons = all.flatMap((e) => (e.kind === 'person' ? [e.id] : []));
    const auctions = all.flatMap((e) => (e.kind === 'auction' ? [e] : []));
    expect(persons).toEqual(persons.map((_, i) => FIRST_PERSON_ID + i));
    expect(auctions.map((a) => a.id)).toEqual(auctions.map((_, i) => FIRST_AUCTION_ID + i));
    for (const a of auctions) {
      expect(a.category).toBeGreaterThanOrEqual(FIRST_CATEGORY_ID);
      expect(a.category).toBeLessThan(FIRST_CATEGORY_ID + 5);
      expect(a.seller).toBeGreaterThanOrEqual(FIRST_PERSON_ID);
      expect(a.reserve).toBeGreaterThanOrEqual(a.initialBid);
      expect(a.expires).toBeGreaterThan(a.dateTime);
    }
    const maxPerson = FIRST_PERSON_ID + persons.length - 1;
    const maxAuction = FIRST_AUCTION_ID + auctions.length - 1;
    for (const e of all) {
      if (e.kind !== 'bid') continue;
      expect(e.auction).toBeGreaterThanOrEqual(FIRST_AUCTION_ID);
      expect(e.auction).toBeLessThanOrEqual(maxAuction);
      expect(e.bidder).toBeGreaterThanOrEqual(FIRST_PERSON_ID);
      expect(e.bidder).toBeLessThanOrEqual(maxPerson);
      expect(e.price).toBeGreaterThanOrEqual(100);
      expect(e.price).toBeLessThanOrEqual(100_000_000);
    }
  });

  it('sends about half of the bids to the hot auction (ratio 2)', () => {
    const bids = events(500_000, 50_000).flatMap((e) => (e.kind === 'bid' ? [e] : []));
    const hot = bids.filter((b) => (b.auction - FIRST_AUCTION_ID) % 100 === 0).length / bids.length;
    // 1/2 hot plus the cold draws that happen to hit a block start (~1/100 of the other half).
    expect(hot).toBeGreaterThan(0.48);
    expect(hot).toBeLessThan(0.53);
  });

  it('places event n at baseTime + n / eventsPerSecond', () => {
    const c = resolveNexmarkConfig({ eventsPerSecond: 1000, baseTime: 0 });
    const rng = new SeededRandom();
    expect(nexmarkEvent(0, rng.reseed(1, 0), c).dateTime).toBe(0);
    expect(nexmarkEvent(4999, rng.reseed(1, 4999), c).dateTime).toBe(4999);
    expect(nexmarkEvent(10_000_000, rng.reseed(1, 0), config).dateTime).toBe(config.baseTime + 1000);
  });

  it('pads payloads to ~100 bytes per bid, ~200 per person, ~500 per auction', () => {
    const sums = { bid: 0, person: 0, auction: 0 };
    const counts = { bid: 0, person: 0, auction: 0 };
    let bidJson = 0;
    for (const e of events(0, 100_000)) {
      sums[e.kind] += payloadBytes(e);
      counts[e.kind]++;
      if (e.kind === 'bid') bidJson += JSON.stringify(e).length;
    }
    expect(sums.bid / counts.bid).toBeGreaterThan(92);
    expect(sums.bid / counts.bid).toBeLessThan(108);
    expect(sums.person / counts.person).toBeGreaterThan(185);
    expect(sums.person / counts.person).toBeLessThan(215);
    expect(sums.auction / counts.auction).toBeGreaterThan(470);
    expect(sums.auction / counts.auction).toBeLessThan(530);
    // As JSON the field names add ~90 bytes; the values themselves stay ~100.
    expect(bidJson / counts.bid).toBeLessThan(200);
  });

  it('rejects nonsensical options with the option named', () => {
    expect(() => resolveNexmarkConfig({ eventsPerSecond: 0 })).toThrow(/eventsPerSecond/);
    expect(() => resolveNexmarkConfig({ hotAuctionRatio: 1.5 })).toThrow(/hotAuctionRatio/);
    expect(() => resolveNexmarkConfig({ auctionsInFlight: 2 ** 31 })).toThrow(/auctionsInFlight must be at most 1000000000, got 2147483648/);
    expect(resolveNexmarkConfig({ activePeople: 1_000_000_000 }).activePeople).toBe(1_000_000_000);
  });
});
