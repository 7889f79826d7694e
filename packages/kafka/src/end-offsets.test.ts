import { describe, expect, it } from 'vitest';
import { needsEndOffset, withEndOffsets } from './end-offsets.js';
import type { KafkaPartitionSplit } from './split.js';

const split = (partition: number, offset: number, extra: Partial<KafkaPartitionSplit> = {}): KafkaPartitionSplit => ({ splitId: `t-${partition}`, topic: 't', partition, offset, ...extra });

describe('needsEndOffset', () => {
  it.each([
    ['no stop offset (checkpoint of an unbounded run)', split(0, 5), 'job-b', true],
    ["another run's stop offset (resumed bounded checkpoint)", split(0, 5, { stopOffset: 9, stopOffsetJob: 'job-a' }), 'job-b', true],
    ['a stop offset without a run (checkpoint of an older Sluice)', split(0, 5, { stopOffset: 9 }), 'job-b', true],
    ["this run's stop offset (enumerated, or a restart of this run)", split(0, 5, { stopOffset: 9, stopOffsetJob: 'job-b' }), 'job-b', false],
    ['a stop offset, reader without a job id', split(0, 5, { stopOffset: 9, stopOffsetJob: 'job-a' }), undefined, false],
    ['no stop offset, reader without a job id', split(0, 5), undefined, true],
  ] as const)('%s', (_what, s, jobId, expected) => {
    expect(needsEndOffset(s, jobId)).toBe(expected);
  });
});

describe('withEndOffsets', () => {
  const bounds = new Map([
    [
      't',
      [
        { partition: 0, low: 0, high: 40 },
        { partition: 1, low: 3, high: 7 },
        { partition: 2, low: 10, high: 25 },
      ],
    ],
  ]);

  it("gives splits the partition's end now, stamped with this run, from where they were", () => {
    const splits = [split(0, 12), split(1, 7, { stopOffset: 5, stopOffsetJob: 'job-a' }), split(2, 30), split(9, 4)];
    expect(withEndOffsets(splits, bounds, 'job-b')).toEqual([
      split(0, 12, { stopOffset: 40, stopOffsetJob: 'job-b' }),
      // Past its old stop offset: to the end now.
      split(1, 7, { stopOffset: 7, stopOffsetJob: 'job-b' }),
      // Beyond the end (a recreated topic): ends where it is.
      split(2, 30, { stopOffset: 30, stopOffsetJob: 'job-b' }),
      // A partition the topic does not list: nothing to read.
      split(9, 4, { stopOffset: 4, stopOffsetJob: 'job-b' }),
    ]);
  });
});
