/**
 * The generator computes prices without Math.pow and draws without SeededRandom's argument
 * checks. Both are speed-ups that must not change a single event: Flink's port of this generator
 * (shared/anchor) and every recorded result depend on the exact values. The oracle below is the
 * straightforward formulation (Math.pow, nextInt, nextFloat), and the generator must agree with
 * it field for field, and a burst of events (what the Nexmark source generates) must equal the
 * events made one at a time.
 */
import { SeededRandom } from '@sluice/api';
import { describe, expect, it } from 'vitest';
import { resolveNexmarkConfig, type NexmarkConfig } from './config.js';
import { nexmarkBurst, nexmarkEvent } from './generator.js';
import { centsOfPowerOfTen } from './price.js';
import type { NexmarkEvent } from './model.js';

function oraclePrice(rng: SeededRandom): number {
  return Math.round(Math.pow(10, rng.nextFloat() * 6) * 100);
}

function oracleHotOrRecent(last: number, ratio: number, window: number, rng: SeededRandom): number {
  if (rng.nextInt(ratio) > 0) return last - (last % window);
  const lo = Math.max(0, last - window + 1);
  return lo + rng.nextInt(last - lo + 1);
}

function oracleEvent(n: number, rng: SeededRandom, c: NexmarkConfig, emitMs: number): NexmarkEvent {
  const p = c.pools;
  const epoch = Math.floor(n / 50);
  const dateTime = c.baseTime + Math.floor(n * c.msPerEvent);
  const rem = n % 50;
  if (rem === 0) {
    const place = rng.nextInt(p.cities.length);
    return {
      kind: 'person', id: 1000 + epoch, name: p.names[rng.nextInt(p.names.length)]!, emailAddress: p.emails[rng.nextInt(p.emails.length)]!,
      creditCard: p.cards[rng.nextInt(p.cards.length)]!, city: p.cities[place]!, state: p.states[place]!, dateTime,
      extra: p.personExtras[rng.nextInt(p.personExtras.length)]!, emitMs,
    };
  }
  if (rem < 4) {
    const initialBid = oraclePrice(rng);
    const seller = oracleHotOrRecent(epoch, c.hotSellersRatio, c.activePeople, rng);
    return {
      kind: 'auction', id: 1000 + epoch * 3 + rem - 1, itemName: p.itemNames[rng.nextInt(p.itemNames.length)]!,
      description: p.descriptions[rng.nextInt(p.descriptions.length)]!, initialBid, reserve: initialBid + oraclePrice(rng), dateTime,
      expires: dateTime + 10_000 + rng.nextInt(170_000), seller: 1000 + seller, category: 10 + rng.nextInt(5),
      extra: p.auctionExtras[rng.nextInt(p.auctionExtras.length)]!, emitMs,
    };
  }
  const auction = oracleHotOrRecent(epoch * 3 + 2, c.hotAuctionRatio, c.auctionsInFlight, rng);
  const bidder = oracleHotOrRecent(epoch, c.hotBiddersRatio, c.activePeople, rng);
  const channel = rng.nextInt(p.channels.length);
  return {
    kind: 'bid', auction: 1000 + auction, bidder: 1000 + bidder, price: oraclePrice(rng), channel: p.channels[channel]!, url: p.urls[channel]!,
    dateTime, extra: p.bidExtras[rng.nextInt(p.bidExtras.length)]!, emitMs,
  };
}

function firstDifference(from: number, count: number, config: NexmarkConfig, seed = 42): string | undefined {
  const a = new SeededRandom();
  const b = new SeededRandom();
  for (let i = from; i < from + count; i++) {
    const got = nexmarkEvent(i, a.reseed(seed, i), config, i);
    const want = oracleEvent(i, b.reseed(seed, i), config, i);
    const g = JSON.stringify(got);
    const w = JSON.stringify(want);
    if (g !== w) return `event ${i}: got ${g}, want ${w}`;
  }
  return undefined;
}

describe('the generator against the straightforward formulation', () => {
  it('gives identical events, field for field and in field order, over a million indices', () => {
    expect(firstDifference(0, 400_000, resolveNexmarkConfig())).toBeUndefined();
    expect(firstDifference(4_999_000_000, 200_000, resolveNexmarkConfig({ eventsPerSecond: 100_000 }))).toBeUndefined();
    expect(firstDifference(123_456_789, 200_000, resolveNexmarkConfig({ hotAuctionRatio: 3, activePeople: 77, auctionsInFlight: 13 }), 7)).toBeUndefined();
    // Ids beyond 32 bits (the generator keeps a chunk's ids as 32-bit offsets from its lowest).
    expect(firstDifference(2 ** 40, 20_000, resolveNexmarkConfig())).toBeUndefined();
  });

  it('makes a burst of events (nexmarkBurst) exactly as it makes each one, whatever the stride, length and position', () => {
    const config = resolveNexmarkConfig();
    // The emitMs stamps are taken in order, one per event.
    let stamps = 0;
    const stamp = (): number => ++stamps;
    const rng = new SeededRandom();
    const cases: Array<[first: number, stride: number, count: number, seed: number]> = [
      [0, 1, 3000, 42],
      [1, 2, 2500, 42],
      [2, 3, 1700, 42],
      [5, 7, 600, -9],
      [0, 50, 300, 42], // every event a person
      [3, 53, 300, 42],
      // Around the limits of seededWords' integer loop (2^31) and the re-seed's high word (2^32).
      [2 ** 31 - 1500, 2, 1500, 42],
      [2 ** 32 - 700, 1, 1400, 42],
      [4_999_000_001, 2, 1300, 7],
      [2 ** 40 + 1, 2, 600, 42],
    ];
    for (const [first, stride, count, seed] of cases) {
      const got: NexmarkEvent[] = [];
      stamps = 0;
      nexmarkBurst(first, stride, count, seed, config, stamp, { collect: (e) => void got.push(e) });
      expect(got).toHaveLength(count);
      for (let k = 0; k < count; k++) {
        const n = first + k * stride;
        const want = JSON.stringify(nexmarkEvent(n, rng.reseed(seed, n), config, k + 1));
        if (JSON.stringify(got[k]) !== want) throw new Error(`burst (${first}, ${stride}, ${count}) event ${n}: got ${JSON.stringify(got[k])}, want ${want}`);
      }
    }
  });

  it('lets code run by a burst\'s output make single events, and refuses a burst nested in another', () => {
    const config = resolveNexmarkConfig();
    const rng = new SeededRandom();
    const outer: NexmarkEvent[] = [];
    const inner: NexmarkEvent[] = [];
    // Each bid the burst emits makes the event at its index + 10^9 on the spot, as a downstream
    // function on the same thread could.
    nexmarkBurst(0, 2, 600, 42, config, () => 0, {
      collect: (e) => {
        outer.push(e);
        const n = 2 * (outer.length - 1) + 1e9;
        inner.push(nexmarkEvent(n, new SeededRandom().reseed(42, n), config));
      },
    });
    for (let k = 0; k < 600; k++) {
      expect(JSON.stringify(outer[k])).toBe(JSON.stringify(nexmarkEvent(2 * k, rng.reseed(42, 2 * k), config)));
      const n = 2 * k + 1e9;
      expect(JSON.stringify(inner[k])).toBe(JSON.stringify(nexmarkEvent(n, rng.reseed(42, n), config)));
    }
    const nested = (): void => nexmarkBurst(0, 1, 10, 42, config, () => 0, { collect: () => nexmarkBurst(5, 1, 2, 42, config, () => 0, { collect: () => {} }) });
    expect(nested).toThrow(expect.objectContaining({ code: 'NEXMARK_BURST_NESTED' }));
    // The refused burst leaves the generator usable.
    const after: NexmarkEvent[] = [];
    nexmarkBurst(0, 1, 3, 42, config, () => 0, { collect: (e) => void after.push(e) });
    expect(after.map((e) => JSON.stringify(e))).toEqual([0, 1, 2].map((n) => JSON.stringify(nexmarkEvent(n, rng.reseed(42, n), config))));
  });

  it('prices every x like Math.round(Math.pow(10, x) * 100), also where the result sits on a rounding boundary', () => {
    const rng = new SeededRandom(1);
    for (let k = 0; k < 2_000_000; k++) {
      const x = rng.nextFloat() * 6;
      if (centsOfPowerOfTen(x) !== Math.round(Math.pow(10, x) * 100)) throw new Error(`x=${x}: ${centsOfPowerOfTen(x)}`);
    }
    // x with 10^x · 100 = k + 0.5 (or within a few ulps of it) for cents k across the range: the
    // guard band must send these to Math.pow. Found by bisection on Math.pow's own result.
    let boundaries = 0;
    for (let cents = 100; cents < 100_000_000; cents = Math.ceil(cents * 1.37)) {
      let lo = Math.log10((cents + 0.4) / 100);
      let hi = Math.log10((cents + 0.6) / 100);
      for (let step = 0; step < 80; step++) {
        const mid = (lo + hi) / 2;
        if (Math.pow(10, mid) * 100 < cents + 0.5) lo = mid;
        else hi = mid;
      }
      for (let x = lo; x <= hi; x = nextUp(x)) {
        expect(centsOfPowerOfTen(x)).toBe(Math.round(Math.pow(10, x) * 100));
        boundaries++;
      }
    }
    expect(boundaries).toBeGreaterThan(40);
  });
});

/** The next double above a positive x. */
function nextUp(x: number): number {
  const f = new Float64Array([x]);
  const i = new BigInt64Array(f.buffer);
  i[0] = i[0]! + 1n;
  return f[0]!;
}
