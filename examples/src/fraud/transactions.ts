/**
 * Card transactions for the fraud-detection demo: a deterministic generator (transaction n
 * depends only on the seed and n) over a fixed population of accounts. Most amounts are
 * ordinary; about 1 % are tiny "card testing" amounts below 1.00 and about 0.6 % are large ones
 * above 500.00, so a tiny-then-large pair on one account within a minute is rare — the demo
 * prints tens of alerts per million transactions, not thousands.
 */

/** The random draws the generator needs; the API's SeededRandom satisfies it. */
export interface TransactionRandom {
  nextInt(bound: number): number;
  nextFloat(): number;
}

export interface Transaction {
  accountId: number;
  /** In currency units with two decimals. */
  amount: number;
  /** Event time, ms since the epoch. */
  timestamp: number;
}

export interface TransactionOptions {
  accounts: number;
  /** Event-time ms between consecutive transactions (over all accounts). */
  intervalMs: number;
  baseTime: number;
  /** Share of tiny (< 1.00) and of large (> 500.00) transactions. */
  smallShare: number;
  largeShare: number;
}

export const DEFAULT_TRANSACTION_OPTIONS: Readonly<TransactionOptions> = Object.freeze({
  accounts: 10_000,
  // 10,000 accounts × 3 ms: an account transacts every ~30 s of event time on average, so the
  // next transaction after a tiny one usually falls inside the one-minute window.
  intervalMs: 3,
  baseTime: Date.UTC(2024, 0, 1),
  smallShare: 0.01,
  largeShare: 0.006,
});

const cents = (x: number): number => Math.round(x * 100) / 100;

export function generateTransaction(index: number, rng: TransactionRandom, o: TransactionOptions = DEFAULT_TRANSACTION_OPTIONS): Transaction {
  const accountId = 1 + rng.nextInt(o.accounts);
  const u = rng.nextFloat();
  let amount: number;
  if (u < o.smallShare) amount = cents(0.01 + rng.nextFloat() * 0.98);
  else if (u < o.smallShare + o.largeShare) amount = cents(500.01 + rng.nextFloat() * 2000);
  else amount = cents(1 + rng.nextFloat() * 299);
  return { accountId, amount, timestamp: o.baseTime + index * o.intervalMs };
}
