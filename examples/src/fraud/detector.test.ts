import { describe, expect, it } from 'vitest';
import { TestingKeyedDriver } from '../testing/keyed-driver.js';
import { FraudDetector, formatAlert, ONE_MINUTE_MS, type Alert } from './detector.js';
import type { Transaction } from './transactions.js';

const tx = (accountId: number, amount: number, timestamp: number): Transaction => ({ accountId, amount, timestamp });

function driver(): TestingKeyedDriver<number, Transaction, Alert> {
  return new TestingKeyedDriver(new FraudDetector(), (t) => t.accountId);
}

function sendAll(d: TestingKeyedDriver<number, Transaction, Alert>, txs: Transaction[]): void {
  for (const t of txs) d.send(t, t.timestamp);
}

describe('FraudDetector', () => {
  it('alerts on a tiny transaction followed by a large one within a minute', () => {
    const d = driver();
    sendAll(d, [tx(1, 0.5, 1000), tx(1, 900, 31_000)]);
    expect(d.output).toEqual([{ accountId: 1, small: { amount: 0.5, timestamp: 1000 }, large: { amount: 900, timestamp: 31_000 } }]);
    expect(formatAlert(d.output[0]!)).toBe('ALERT account=1 small=0.50@00:00:01.000 large=900.00@00:00:31.000 after_s=30.0');
  });

  it('keeps accounts apart and only looks at the very next transaction', () => {
    const d = driver();
    // Account 2's large amount is not account 1's; account 1's ordinary transaction consumes the flag.
    sendAll(d, [tx(1, 0.5, 0), tx(2, 800, 10), tx(1, 20, 20), tx(1, 800, 30)]);
    expect(d.output).toEqual([]);
  });

  it('expires the flag by timer: no alert after a minute, and no state left', () => {
    const d = driver();
    d.send(tx(3, 0.1, 0), 0);
    expect(d.stateSize('small-transaction')).toBe(1);
    d.advanceWatermark(ONE_MINUTE_MS);
    expect(d.stateSize('small-transaction')).toBe(0);
    expect(d.stateSize('flag-expiry-timer')).toBe(0);
    d.send(tx(3, 999, ONE_MINUTE_MS + 1), ONE_MINUTE_MS + 1);
    expect(d.output).toEqual([]);
  });

  it('decides by timestamps even when the expiry timer has not fired yet, and deletes the timer', () => {
    const d = driver();
    sendAll(d, [tx(4, 0.1, 0), tx(4, 999, ONE_MINUTE_MS + 5)]);
    expect(d.output).toEqual([]);
    expect(d.pendingTimers(4)).toBe(0);
    expect(d.stateSize('small-transaction')).toBe(0);
  });

  it('re-arms the flag on a tiny transaction that follows a tiny one', () => {
    const d = driver();
    sendAll(d, [tx(5, 0.2, 0), tx(5, 0.3, 50_000), tx(5, 600, 100_000)]);
    expect(d.output.map((a) => a.small.amount)).toEqual([0.3]);
  });

  it('treats the thresholds as strict: 1.00 is not small and 500.00 is not large', () => {
    const d = driver();
    sendAll(d, [tx(6, 1.0, 0), tx(6, 900, 1), tx(6, 0.99, 2), tx(6, 500, 3)]);
    expect(d.output).toEqual([]);
  });
});
