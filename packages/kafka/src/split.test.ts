import { describe, expect, it } from 'vitest';
import { buildSplits, stopAtEnd, subtaskForSplit, validateStartingOffsets, withoutStop } from './split.js';
import { resolveKafkaConnection } from './connection.js';
import { KafkaDeserializers } from './records.js';

describe('splits', () => {
  const bounds = [
    { partition: 1, low: 5, high: 9 },
    { partition: 0, low: 0, high: 3 },
  ];

  it('makes one split per partition, clamps start offsets into the log, and sets stop offsets when bounded', () => {
    expect(buildSplits('t', bounds, () => 7, true)).toEqual([
      { splitId: 't-0', topic: 't', partition: 0, offset: 3, stopOffset: 3 },
      { splitId: 't-1', topic: 't', partition: 1, offset: 7, stopOffset: 9 },
    ]);
    expect(buildSplits('t', bounds, () => 0, false)).toEqual([
      { splitId: 't-0', topic: 't', partition: 0, offset: 0 },
      { splitId: 't-1', topic: 't', partition: 1, offset: 5 },
    ]);
  });

  it("stamps bounded splits' stop offsets with the run they are for, and drops both for unbounded reading", () => {
    const [first] = buildSplits('t', bounds, () => 0, true, 'job-a');
    expect(first).toEqual({ splitId: 't-0', topic: 't', partition: 0, offset: 0, stopOffset: 3, stopOffsetJob: 'job-a' });
    expect(stopAtEnd({ ...first!, offset: 2 }, { partition: 0, low: 0, high: 8 }, 'job-b')).toEqual({ ...first, offset: 2, stopOffset: 8, stopOffsetJob: 'job-b' });
    expect(stopAtEnd(first!, { partition: 0, low: 0, high: 8 }, undefined)).toEqual({ splitId: 't-0', topic: 't', partition: 0, offset: 0, stopOffset: 8 });
    expect(withoutStop(first!)).toEqual({ splitId: 't-0', topic: 't', partition: 0, offset: 0 });
  });

  it('spreads a topic over distinct subtasks', () => {
    for (const n of [1, 2, 3, 5]) {
      const subtasks = [0, 1, 2, 3, 4].map((partition) => subtaskForSplit({ topic: 'orders', partition }, n));
      expect(new Set(subtasks).size).toBe(Math.min(5, n));
      for (const s of subtasks) expect(s).toBeLessThan(n);
    }
  });

  it('validates starting offsets and connection options', () => {
    expect(validateStartingOffsets({ timestamp: 5 })).toEqual({ timestamp: 5 });
    expect(() => validateStartingOffsets('newest' as never)).toThrow(/must be 'earliest', 'latest'/);
    expect(() => validateStartingOffsets({ committed: { groupId: '' } })).toThrow();
    expect(resolveKafkaConnection({ bootstrapServers: 'a:1, b:2' }).brokers).toEqual(['a:1', 'b:2']);
    expect(() => resolveKafkaConnection({ bootstrapServers: 'localhost' })).toThrow(/'localhost' is not host:port/);
  });
});

describe('deserializers', () => {
  const rec = (value: string | null) => ({ topic: 't', partition: 0, offset: 0, timestamp: 0, key: null, value: value === null ? null : Buffer.from(value), headers: {} });
  it('parse JSON, skip tombstones, and throw on malformed input', () => {
    expect(KafkaDeserializers.json()(rec('{"a":1}'))).toEqual({ a: 1 });
    expect(KafkaDeserializers.json()(rec(null))).toBeUndefined();
    expect(() => KafkaDeserializers.json()(rec('{a'))).toThrow();
    expect(KafkaDeserializers.string()(rec('hé'))).toBe('hé');
  });
});
