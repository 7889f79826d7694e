/**
 * The input and the check of the Kafka exactly-once job (jobs/kafka-exactly-once.ts), shared by
 * the tests that run it embedded and on a cluster whose leader fails.
 */
import { expect } from 'vitest';
import type { Counted } from './jobs/kafka-exactly-once.js';
import type { KafkaTestKit } from './kafka-test-kit.js';

/** A new two-partition topic holding `{ seq }` for seq 0..events-1. */
export async function fillNumbers(kit: KafkaTestKit, events: number): Promise<string> {
  const input = await kit.topic(2);
  for (let start = 0; start < events; start += 5_000) {
    const messages = Array.from({ length: Math.min(5_000, events - start) }, (_, i) => ({ key: String(start + i), value: JSON.stringify({ seq: start + i }) }));
    await kit.producer.send({ topic: input, messages });
  }
  return input;
}

/** Every input record once in the output, with the keyed state that produced it intact. */
export function expectCountedExactlyOnce(lines: Counted[], events: number, keys: number): void {
  expect(lines.length).toBe(events);
  const seqs = lines.map((l) => l.seq).sort((a, b) => a - b);
  expect(seqs).toEqual(Array.from({ length: events }, (_, i) => i));
  for (let k = 0; k < keys; k++) {
    const mine = lines.filter((l) => l.key === k);
    // Per key: counts 1..n each once, and the last sum is the sum of the key's sequence numbers.
    expect(mine.map((l) => l.count).sort((a, b) => a - b)).toEqual(Array.from({ length: mine.length }, (_, i) => i + 1));
    const total = mine.reduce((s, l) => s + l.seq, 0);
    expect(Math.max(...mine.map((l) => l.sum))).toBe(total);
  }
}
