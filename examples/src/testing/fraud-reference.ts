/**
 * The fraud-detection demo's expected alerts, computed without the runtime: the seeded generator
 * run through the detector with plain calls, in generation order — which is the order each
 * account sees in the job (the generator runs as one subtask; in Kafka mode an account's
 * transactions share a partition, read in offset order). Timers need not fire: the detector
 * decides by timestamps. Test-only.
 */
import { SeededRandom } from '@sluice/api';
import { FraudDetector, type Alert } from '../fraud/detector.js';
import { generateTransaction, type Transaction } from '../fraud/transactions.js';
import { TestingKeyedDriver } from './keyed-driver.js';

export function expectedFraudAlerts(events: number, seed: number): Alert[] {
  const d = new TestingKeyedDriver<number, Transaction, Alert>(new FraudDetector(), (t) => t.accountId);
  const rng = new SeededRandom();
  for (let i = 0; i < events; i++) {
    const tx = generateTransaction(i, rng.reseed(seed, i));
    d.send(tx, tx.timestamp);
  }
  return d.output;
}
