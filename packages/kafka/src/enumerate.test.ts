import type { Admin } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { partitionBounds } from './enumerate.js';

/** An admin whose fetchTopicOffsets fails with `failures` in turn, then answers. */
function admin(failures: { type: string }[]): { admin: Admin; calls: () => number } {
  let calls = 0;
  const fake = {
    fetchTopicOffsets: async () => {
      const failure = failures[calls++];
      if (failure !== undefined) throw Object.assign(new Error(failure.type), failure);
      return [{ partition: 0, offset: '5', high: '5', low: '1' }];
    },
  };
  return { admin: fake as unknown as Admin, calls: () => calls };
}

describe('partitionBounds', () => {
  it("asks again while a new topic's leader does not serve it yet", async () => {
    const a = admin([{ type: 'NOT_LEADER_FOR_PARTITION' }, { type: 'LEADER_NOT_AVAILABLE' }]);
    expect(await partitionBounds(a.admin, 't')).toEqual([{ partition: 0, low: 1, high: 5 }]);
    expect(a.calls()).toBe(3);
  });

  it('does not ask again after any other error', async () => {
    const a = admin([{ type: 'TOPIC_AUTHORIZATION_FAILED' }]);
    await expect(partitionBounds(a.admin, 't')).rejects.toThrow('TOPIC_AUTHORIZATION_FAILED');
    expect(a.calls()).toBe(1);
  });
});
