import { describe, expect, it } from 'vitest';
import { BadRecordError, BadRecordTracker, DLQ_HEADERS, deadLetterMessage, resolveBadRecordOptions } from './bad-records.js';

const bad = (offset: number) => new BadRecordError('orders', 2, offset, 'deserialization', 'Unexpected token');

describe('bad-record policy', () => {
  it("'fail' throws the error that names topic, partition and offset", () => {
    const t = new BadRecordTracker(resolveBadRecordOptions({}));
    expect(() => t.onBad(bad(41))).toThrow("bad record in Kafka topic 'orders' partition 2 at offset 41: Unexpected token");
  });

  it("'skip' and 'dead-letter' count and continue until the error rate passes the limit", () => {
    const t = new BadRecordTracker(resolveBadRecordOptions({ onError: 'skip', maxErrorRate: 0.25, errorRateMinRecords: 8 }));
    for (let i = 0; i < 6; i++) t.good();
    expect(t.onBad(bad(6))).toBe('skip');
    expect(t.onBad(bad(7))).toBe('skip'); // 2 of 8 = 25%: not above
    expect(() => t.onBad(bad(8))).toThrow(/3 of 9 records were bad \(33\.3% > maxErrorRate 25\.0%\)/);
    const d = new BadRecordTracker(resolveBadRecordOptions({ onError: 'dead-letter', deadLetterTopic: 'dlq' }));
    expect(d.onBad(bad(1))).toBe('dead-letter');
    expect([d.records, d.bad]).toEqual([1, 1]);
  });

  it('counts bad records per reason, the label of the failed-records counter', () => {
    const t = new BadRecordTracker(resolveBadRecordOptions({ onError: 'skip' }));
    t.good();
    t.onBad(bad(1));
    t.onBad(new BadRecordError('orders', 0, 9, 'too-large', 'record of 2000 bytes exceeds maxRecordBytes 1000'));
    t.onBad(bad(3));
    expect(t.failed).toEqual({ deserialization: 2, 'too-large': 1 });
    expect([t.records, t.bad]).toEqual([4, 3]);
  });

  it('rejects bad configuration at the edge', () => {
    expect(() => resolveBadRecordOptions({ onError: 'dead-letter' })).toThrow(/needs a deadLetterTopic/);
    expect(() => resolveBadRecordOptions({ onError: 'ignore' as never })).toThrow(/must be 'fail', 'skip' or 'dead-letter'/);
    expect(() => resolveBadRecordOptions({ maxErrorRate: 2 })).toThrow(/between 0 and 1/);
    expect(() => resolveBadRecordOptions({ maxRecordBytes: 0 })).toThrow(/positive integer/);
  });

  it('a dead-letter message keeps key, value, timestamp and headers and adds its origin', () => {
    const m = deadLetterMessage(
      { topic: 'orders', partition: 2, offset: 41, timestamp: 1234, key: Buffer.from('k'), value: Buffer.from('{oops'), headers: { trace: 'x' } },
      { reason: 'deserialization', detail: 'Unexpected token' },
      'fraud job',
    );
    expect(m.key?.toString()).toBe('k');
    expect(m.value?.toString()).toBe('{oops');
    expect(m.timestamp).toBe('1234');
    expect(m.headers).toEqual({
      trace: 'x',
      [DLQ_HEADERS.topic]: 'orders',
      [DLQ_HEADERS.partition]: '2',
      [DLQ_HEADERS.offset]: '41',
      [DLQ_HEADERS.timestamp]: '1234',
      [DLQ_HEADERS.error]: 'Unexpected token',
      [DLQ_HEADERS.reason]: 'deserialization',
      [DLQ_HEADERS.job]: 'fraud job',
    });
  });
});
