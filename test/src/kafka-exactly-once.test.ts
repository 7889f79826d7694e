/**
 * Exactly-once from Kafka to Kafka against the real broker: checkpoints commit one transaction
 * per checkpoint, and with failures injected at random moments (a throwing function, a worker
 * thread that exits) a read_committed consumer still sees every record exactly once, with the
 * keyed state that produced it intact.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
// Before kafkajs loads (through the test kit): the read_committed correction must be in place.
import { kafkajsReadCommittedFixed } from '@sluice/kafka';
import { randomId } from '@sluice/common';
import { runJob } from './harness.js';
import { KafkaTestKit } from './kafka-test-kit.js';
import { expectCountedExactlyOnce, fillNumbers } from './kafka-exactly-once-checks.js';
import type { Counted } from './jobs/kafka-exactly-once.js';

const bootstrap = inject('kafkaBootstrap');

describe.runIf(bootstrap !== '')('Kafka exactly-once (real broker)', () => {
  const kit = new KafkaTestKit(bootstrap, 'kafka-eo-test');
  beforeAll(() => kit.open());
  afterAll(() => kit.close());

  it('a read_committed consumer sees every record once despite injected failures', async () => {
    const events = 20_000;
    const keys = 7;
    const input = await fillNumbers(kit, events);
    const output = await kit.topic(3);
    const group = `lag-${randomId(6)}`;
    // Scrape the TaskManager's /metrics while the job runs: the connectors' own series.
    // Each series must show a non-zero value in some scrape while the job runs (the job may end
    // before a given series' latest value is scraped).
    const series = {
      committedTransactions: /^sluice_kafka_sink_transactions_total\{[^}]*result="committed"[^}]*\} [1-9]/m,
      recordsIn: /^sluice_kafka_source_records_in_total\{[^}]*topic="[^"]+",partition="[01]"[^}]*\} [1-9]/m,
      produceLatency: /^sluice_kafka_sink_produce_latency_seconds_count\{[^}]*\} [1-9]/m,
    };
    const seen = new Set<string>();
    let metricsUrl: string | undefined;
    let scraping = true;
    const scraper = (async () => {
      while (scraping) {
        if (metricsUrl !== undefined) {
          const text = await fetch(metricsUrl).then((res) => res.text(), () => '');
          for (const [name, re] of Object.entries(series)) if (re.test(text)) seen.add(name);
        }
        await new Promise((res) => setTimeout(res, 100));
      }
    })();
    const r = await runJob('kafka-exactly-once.ts', {
      parallelism: 2,
      params: { bootstrap, input, output, events: String(events), keys: String(keys), failures: '4', prefix: `eo-${randomId(6)}`, group },
      embedded: { metricsPort: 0, onStarted: (info) => (metricsUrl = info.metricsUrl) },
    });
    scraping = false;
    await scraper;
    expect([...seen].sort()).toEqual(Object.keys(series).sort());
    expect(r.error?.message).toBeUndefined();
    expect(r.status).toBe('FINISHED');
    expect(r.restarts).toBe(4);
    // The final checkpoint's offsets (the end of the input) were committed to the lag group.
    const committed = await kit.admin.fetchOffsets({ groupId: group, topics: [input] });
    const ends = await kit.admin.fetchTopicOffsets(input);
    expect(committed[0]!.partitions.map((p) => [p.partition, Number(p.offset)]).sort()).toEqual(ends.map((p) => [p.partition, Number(p.high)]).sort());
    // Kafka's own consumer is the reference for what was committed ...
    expectCountedExactlyOnce(
      (await kit.readCommittedWithJava(output)).map((v) => JSON.parse(v) as Counted),
      events,
      keys,
    );
    // ... and a kafkajs consumer (what KafkaSource uses) must read the same, which it does only
    // with Sluice's correction of its aborted-transaction filtering.
    expect(kafkajsReadCommittedFixed()).toBe(true);
    expectCountedExactlyOnce(
      (await kit.readCommitted(output, events)).map((b) => JSON.parse(b.value!) as Counted),
      events,
      keys,
    );
  }, 180_000);
});
