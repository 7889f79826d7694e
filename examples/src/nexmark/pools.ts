/**
 * Precomputed string pools for the Nexmark generator. The generator must produce millions of
 * events per second per thread, so it never builds strings per event: names, e-mail addresses,
 * cards, cities, item names, descriptions, channel/url pairs and `extra` padding are made once
 * here (from a fixed-seed PRNG, so every worker builds identical pools) and picked by index.
 *
 * The padding pools are sized from the other pools' average lengths so that the average event
 * payload (see `payloadBytes`) hits the configured target.
 */

/** A small fixed-seed PRNG used only to build the pools (mulberry32-style mixing). */
function poolRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIRST_NAMES = ['Peter', 'Paul', 'Luke', 'John', 'Saul', 'Vicky', 'Kate', 'Julie', 'Sarah', 'Deiter', 'Walter', 'Ines', 'Omar', 'Mei', 'Ravi', 'Ana'];
const LAST_NAMES = ['Shultz', 'Abrams', 'Spencer', 'White', 'Bartels', 'Walton', 'Smith', 'Jones', 'Noris', 'Okafor', 'Tanaka', 'Moreau', 'Silva', 'Novak'];
const CITIES = ['Phoenix', 'Los Angeles', 'San Francisco', 'Boise', 'Portland', 'Bend', 'Redmond', 'Seattle', 'Kent', 'Cheyenne'];
const STATES = ['AZ', 'CA', 'ID', 'OR', 'WA', 'WY'];
const CHANNELS = ['Google', 'Facebook', 'Baidu', 'Apple'];
const WORDS = ['alpha', 'vintage', 'lamp', 'chair', 'guitar', 'watch', 'camera', 'bicycle', 'poster', 'vase', 'coin', 'stamp', 'book', 'radio', 'clock', 'rug'];
const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

export interface NexmarkPools {
  readonly names: readonly string[];
  readonly emails: readonly string[];
  readonly cards: readonly string[];
  /** City and state are picked together (one random draw). */
  readonly cities: readonly string[];
  readonly states: readonly string[];
  readonly itemNames: readonly string[];
  readonly descriptions: readonly string[];
  /** Channel and url are picked together. */
  readonly channels: readonly string[];
  readonly urls: readonly string[];
  readonly bidExtras: readonly string[];
  readonly personExtras: readonly string[];
  readonly auctionExtras: readonly string[];
}

export interface PoolSizes {
  avgBidBytes: number;
  avgPersonBytes: number;
  avgAuctionBytes: number;
}

const POOL = 1024;
const PAD_POOL = 256;

function word(rnd: () => number, len: number): string {
  let s = '';
  for (let i = 0; i < len; i++) s += LETTERS[Math.floor(rnd() * LETTERS.length)];
  return s;
}

function pickFrom<T>(rnd: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rnd() * xs.length)] as T;
}

function avgLength(xs: readonly string[]): number {
  let total = 0;
  for (const x of xs) total += x.length;
  return total / xs.length;
}

/**
 * Padding strings whose lengths spread evenly over [0.5·mean, 1.5·mean] so that their average is
 * `mean` (rounded). A mean ≤ 0 gives empty padding.
 */
function paddingPool(rnd: () => number, mean: number): string[] {
  const m = Math.max(0, Math.round(mean));
  const out: string[] = [];
  for (let i = 0; i < PAD_POOL; i++) {
    const len = m === 0 ? 0 : Math.round(m * (0.5 + i / (PAD_POOL - 1)));
    out.push(word(rnd, len));
  }
  return out;
}

function buildPools(sizes: PoolSizes): NexmarkPools {
  const rnd = poolRandom(0x5eed);
  const names: string[] = [];
  const emails: string[] = [];
  const cards: string[] = [];
  const cities: string[] = [];
  const states: string[] = [];
  const itemNames: string[] = [];
  const descriptions: string[] = [];
  const channels: string[] = [];
  const urls: string[] = [];
  for (let i = 0; i < POOL; i++) {
    const first = pickFrom(rnd, FIRST_NAMES);
    const last = pickFrom(rnd, LAST_NAMES);
    names.push(`${first} ${last}`);
    emails.push(`${word(rnd, 7)}@${word(rnd, 5)}.com`);
    let card = '';
    for (let g = 0; g < 4; g++) card += (g > 0 ? ' ' : '') + String(1000 + Math.floor(rnd() * 9000));
    cards.push(card);
    cities.push(pickFrom(rnd, CITIES));
    states.push(pickFrom(rnd, STATES));
    itemNames.push(`${pickFrom(rnd, WORDS)} ${word(rnd, 6)}`);
    descriptions.push(`${pickFrom(rnd, WORDS)} ${word(rnd, 8)} ${pickFrom(rnd, WORDS)} ${word(rnd, 10)} ${word(rnd, 8)}`);
    const channelId = Math.floor(rnd() * 10_000);
    channels.push(i < CHANNELS.length * 64 ? pickFrom(rnd, CHANNELS) : `channel-${channelId}`);
    urls.push(`https://www.nexmark.com/${word(rnd, 4)}/item.htm?ch=${channelId}`);
  }
  const bidBase = 5 * 8 + avgLength(channels) + avgLength(urls);
  const personBase = 3 * 8 + avgLength(names) + avgLength(emails) + avgLength(cards) + avgLength(cities) + avgLength(states);
  const auctionBase = 8 * 8 + avgLength(itemNames) + avgLength(descriptions);
  return {
    names,
    emails,
    cards,
    cities,
    states,
    itemNames,
    descriptions,
    channels,
    urls,
    bidExtras: paddingPool(rnd, sizes.avgBidBytes - bidBase),
    personExtras: paddingPool(rnd, sizes.avgPersonBytes - personBase),
    auctionExtras: paddingPool(rnd, sizes.avgAuctionBytes - auctionBase),
  };
}

const cache = new Map<string, NexmarkPools>();

/** Pools for the given size targets, built once per thread and shared. */
export function nexmarkPools(sizes: PoolSizes): NexmarkPools {
  const key = `${sizes.avgBidBytes}/${sizes.avgPersonBytes}/${sizes.avgAuctionBytes}`;
  let pools = cache.get(key);
  if (pools === undefined) {
    pools = buildPools(sizes);
    cache.set(key, pools);
  }
  return pools;
}

/** Pool length, a power of two, so the generator can index with one random draw. */
export const POOL_SIZE = POOL;
export const PADDING_POOL_SIZE = PAD_POOL;
