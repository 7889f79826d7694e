import { describe, expect, it } from 'vitest';
import { CHECKPOINT_FORMAT, CHECKPOINT_FORMAT_VERSION, decodeMetadata, encodeMetadata, validateMetadataForWrite, type CheckpointMetadata } from './format.js';
import { plainDataProblem } from './plain-data.js';
import { positionWatermark, takeSourcePosition } from './source-position.js';

describe('plainDataProblem', () => {
  it('accepts what JSON round-trips unchanged', () => {
    expect(plainDataProblem([{ splitId: 'a', offset: 3, nested: { ok: [true, null, 'x', -1.5] } }, Object.create(null)], 'splits')).toBeUndefined();
  });

  it.each([
    [[1n], 'splits[0] is a bigint (1n)'],
    [[{ a: undefined }], 'splits[0].a is undefined'],
    [[{ at: new Date(0) }], 'splits[0].at is a Date, not a plain object'],
    [[new Map()], 'splits[0] is a Map, not a plain object'],
    [[{ n: NaN }], 'splits[0].n is NaN, which JSON cannot represent'],
    [[Infinity], 'splits[0] is Infinity'],
    [[() => 1], 'splits[0] is a function'],
    [[new Uint8Array(2)], 'splits[0] is a Uint8Array'],
    [[1, , 3], 'splits[1] is a hole in a sparse array'],
  ])('names what is wrong and where: %o', (value, expected) => {
    expect(plainDataProblem(value, 'splits')).toMatch(new RegExp(`^${expected.replace(/[()[\].]/g, '\\$&')}`));
  });

  it('finds a cycle, but not an object shared by two places', () => {
    const shared = { x: 1 };
    expect(plainDataProblem([shared, shared], 'splits')).toBeUndefined();
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    expect(plainDataProblem([loop], 'splits')).toBe('splits[0].self refers back to an object that contains it (a cycle)');
  });
});

describe('takeSourcePosition', () => {
  it('copies the splits (later changes to the reader’s objects do not show) and encodes the watermark for JSON', () => {
    const splits = [{ splitId: 'p', offset: 1 }];
    const p = takeSourcePosition(splits, 50, "'Kafka'");
    splits[0]!.offset = 2;
    expect(p).toEqual({ splits: [{ splitId: 'p', offset: 1 }], watermark: 50 });
    expect(takeSourcePosition([], -Infinity, 's')).toEqual({ splits: [] });
    expect(takeSourcePosition([], Infinity, 's')).toEqual({ splits: [], watermark: 'end' });
    expect([positionWatermark({}), positionWatermark({ watermark: 'end' }), positionWatermark({ watermark: 7 })]).toEqual([-Infinity, Infinity, 7]);
  });

  it('refuses splits JSON cannot hold with SOURCE_POSITION_NOT_PLAIN, naming the source', () => {
    expect(() => takeSourcePosition([{ splitId: 'p', offset: 9n }], 0, "'Kafka orders'")).toThrow(
      expect.objectContaining({
        code: 'SOURCE_POSITION_NOT_PLAIN',
        message: expect.stringMatching(/^source 'Kafka orders' reported splits that are not plain JSON data: splits\[0\]\.offset is a bigint \(9n\)/),
      }),
    );
  });
});

describe('positions in the metadata', () => {
  const meta = (positions: unknown): CheckpointMetadata => ({
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_FORMAT_VERSION,
    jobId: 'j',
    jobName: 'j',
    checkpointId: 1,
    kind: 'checkpoint',
    triggeredAt: 0,
    completedAt: 0,
    operators: [{ uid: 'src', name: 'Source', kind: 'source', parallelism: 2, maxParallelism: 8, keyed: [], operator: [], finishedSubtasks: [], positions: positions as never }],
  });

  it('round-trip through the JSON encoding unchanged', () => {
    const m = meta([{ subtask: 0, splits: [{ splitId: 'a', offset: 1 }], watermark: 3 }, { subtask: 1, splits: [], watermark: 'end' }]);
    expect(decodeMetadata(encodeMetadata(validateMetadataForWrite(m)), 'test')).toEqual(m);
  });

  it.each([
    [[{ subtask: 0, splits: [1n] }], /positions\[0\]\.splits\[0\] is a bigint/],
    [[{ subtask: 0, splits: [], watermark: null }], /positions\[0\]\.watermark must be a finite number or "end"/],
    [[{ subtask: 1, splits: [] }, { subtask: 0, splits: [] }], /positions\[1\]\.subtask must be greater than the previous/],
    [[{ subtask: 2, splits: [] }], /positions\[0\]\.subtask must be an integer in \[0, 1\]/],
  ])('are refused by a writer when not valid: %o', (positions, message) => {
    expect(() => validateMetadataForWrite(meta(positions))).toThrow(expect.objectContaining({ code: 'CHECKPOINT_INVALID', message: expect.stringMatching(message) }));
  });
});
