import { describe, expect, it } from 'vitest';
import { newOwnedPartitions, partitionKey } from './discovery.js';
import { KafkaSource } from './source.js';
import { KafkaDeserializers } from './records.js';
import { subtaskForSplit } from './split.js';
import { matchTopics } from './enumerate.js';

describe('partition discovery', () => {
  const listed = new Map([
    ['orders', [0, 1, 2, 3, 4, 5]],
    ['payments', [0, 1]],
  ]);

  it('gives every new partition to exactly one subtask, the one assignSplit deals it to', () => {
    const source = new KafkaSource({ bootstrapServers: 'k:9092', topics: ['orders', 'payments'], deserializer: KafkaDeserializers.string() });
    for (const parallelism of [1, 2, 3, 7]) {
      const known = new Set([partitionKey('orders', 0), partitionKey('orders', 1), partitionKey('payments', 0)]);
      const taken = Array.from({ length: parallelism }, (_, subtask) => newOwnedPartitions(listed, known, subtask, parallelism).map((p) => ({ ...p, subtask })));
      const all = taken.flat();
      expect(all.map((p) => `${p.topic}-${p.partition}`).sort()).toEqual(['orders-2', 'orders-3', 'orders-4', 'orders-5', 'payments-1']);
      for (const p of all) {
        expect(p.subtask).toBe(subtaskForSplit(p, parallelism));
        expect(source.assignSplit({ splitId: `${p.topic}-${p.partition}`, topic: p.topic, partition: p.partition, offset: 0 }, 99, parallelism)).toBe(p.subtask);
      }
    }
  });

  it('finds nothing new when every listed partition is known', () => {
    const known = new Set([...listed].flatMap(([t, ps]) => ps.map((p) => partitionKey(t, p))));
    expect([0, 1, 2].flatMap((s) => newOwnedPartitions(listed, known, s, 3))).toEqual([]);
  });

  it('matches topic patterns against non-internal topic names, also with a /g pattern', () => {
    const topics = ['orders-eu', 'orders-us', 'orders', '__consumer_offsets', 'old-orders-eu'];
    expect(matchTopics(/^orders-/, topics)).toEqual(['orders-eu', 'orders-us']);
    expect(matchTopics(/orders-/g, topics)).toEqual(['old-orders-eu', 'orders-eu', 'orders-us']);
    expect(matchTopics(/offsets/, topics)).toEqual([]);
  });

  it('is on by default for unbounded sources, off for bounded ones, and validated', () => {
    const base = { bootstrapServers: 'k:9092', topics: 't', deserializer: KafkaDeserializers.string() };
    expect(new KafkaSource(base).options.partitionDiscoveryIntervalMs).toBe(60_000);
    expect(new KafkaSource({ ...base, partitionDiscoveryIntervalMs: 0 }).options.partitionDiscoveryIntervalMs).toBe(0);
    expect(new KafkaSource({ ...base, bounded: true, partitionDiscoveryIntervalMs: 500 }).options.partitionDiscoveryIntervalMs).toBe(0);
    expect(() => new KafkaSource({ ...base, partitionDiscoveryIntervalMs: -1 })).toThrow(/partitionDiscoveryIntervalMs must be a non-negative integer/);
  });
});
