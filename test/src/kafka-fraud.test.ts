/**
 * The fraud-detection example in Kafka mode against the real broker, as its README runs it: the
 * producer job fills a topic with the demo's generated transactions, the detection job reads it
 * (bounded) and writes alerts to another topic. The alerts must be exactly the ones the detector
 * finds in the generated sequence, whatever the partitioning and parallelism.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { randomId } from '@sluice/common';
import { examplePath, runJob, sortBy } from './harness.js';
import { KafkaTestKit } from './kafka-test-kit.js';
import { expectedFraudAlerts } from '../../examples/src/testing/fraud-reference.js';

const bootstrap = inject('kafkaBootstrap');

describe.runIf(bootstrap !== '')('fraud detection over Kafka (real broker)', () => {
  const kit = new KafkaTestKit(bootstrap, 'kafka-fraud-test');
  beforeAll(() => kit.open());
  afterAll(() => kit.close());

  it('alerts on the produced transactions exactly as the detector does on the generated sequence', async () => {
    const events = 200_000;
    const seed = 11;
    const transactions = await kit.topic(3, `transactions-${randomId(6)}`);
    const alerts = await kit.topic(2, `alerts-${randomId(6)}`);

    const produced = await runJob(examplePath('fraud-produce.ts'), { params: { bootstrap, topic: transactions, events: String(events), seed: String(seed) } });
    expect(produced.error?.message).toBeUndefined();
    expect(produced.status).toBe('FINISHED');
    expect(await kit.count(transactions)).toBe(events);

    const expected = expectedFraudAlerts(events, seed);
    expect(expected.length).toBeGreaterThan(5);
    const detected = await runJob(examplePath('fraud-detection.ts'), {
      parallelism: 2,
      params: { source: 'kafka', bootstrap, 'input-topic': transactions, 'output-topic': alerts, bounded: 'true' },
    });
    expect(detected.error?.message).toBeUndefined();
    expect(detected.status).toBe('FINISHED');

    const written = await kit.readAll(alerts, expected.length);
    const key = (a: { accountId: number; large: { timestamp: number } }) => `${a.accountId}/${a.large.timestamp}`;
    const got = written.map((r) => ({ key: r.key, alert: JSON.parse(r.value!) as (typeof expected)[number] }));
    expect(got.every((g) => g.key === String(g.alert.accountId))).toBe(true);
    expect(sortBy(got.map((g) => g.alert), key)).toEqual(sortBy(expected, key));
  });
});
