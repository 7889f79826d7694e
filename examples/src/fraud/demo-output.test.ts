import { SeededRandom } from '@sluice/api';
import { describe, expect, it } from 'vitest';
import { TestingKeyedDriver } from '../testing/keyed-driver.js';
import { FraudDetector, type Alert } from './detector.js';
import { generateTransaction, type Transaction } from './transactions.js';

/**
 * The demo's expected output, computed by running the generator through the detector with
 * plain calls, in generation order — which is what each account sees in the job, because the
 * source runs as one subtask. Timers need not fire: the detector decides by timestamps.
 */
function demoAlerts(events: number, seed: number): Alert[] {
  const d = new TestingKeyedDriver<number, Transaction, Alert>(new FraudDetector(), (t) => t.accountId);
  const rng = new SeededRandom();
  for (let i = 0; i < events; i++) {
    const tx = generateTransaction(i, rng.reseed(seed, i));
    d.send(tx, tx.timestamp);
  }
  return d.output;
}

describe('fraud-detection demo output', () => {
  it('prints tens of alerts for the default million transactions, the same every run', () => {
    const alerts = demoAlerts(1_000_000, 7);
    // Pinned: an end-to-end run of `npm run demo` must print exactly these 64 ALERT lines.
    expect(alerts).toHaveLength(64);
    expect(demoAlerts(1_000_000, 7)).toEqual(alerts);
  });
});
