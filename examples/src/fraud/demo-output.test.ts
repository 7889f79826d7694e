import { describe, expect, it } from 'vitest';
import { expectedFraudAlerts } from '../testing/fraud-reference.js';

describe('fraud-detection demo output', () => {
  it('prints tens of alerts for the default million transactions, the same every run', () => {
    const alerts = expectedFraudAlerts(1_000_000, 7);
    // Pinned: an end-to-end run of `npm run demo` must print exactly these 64 ALERT lines.
    expect(alerts).toHaveLength(64);
    expect(expectedFraudAlerts(1_000_000, 7)).toEqual(alerts);
  });
});
