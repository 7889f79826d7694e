import { describe, expect, it } from 'vitest';
import { SluiceError, UserFunctionError, deserializeError, retry, serializeError, truncateForMessage } from './index.js';

describe('errors', () => {
  it('names operator, subtask and a truncated record in user function errors', () => {
    const e = new UserFunctionError('Map: parse', 2, truncateForMessage({ payload: 'x'.repeat(500) }, 40), new Error('boom'));
    expect(e.message).toMatch(/^operator 'Map: parse' \(subtask 2\) threw while processing record \{"payload":"x+…\(\d+ more chars\): boom$/);
    const s = serializeError(e);
    expect(s.code).toBe('USER_FUNCTION');
    expect(s.details).toEqual({ operator: 'Map: parse', subtask: 2, record: e.record });
    expect(deserializeError(s).message).toBe(e.message);
  });

  it('retries retriable errors only', async () => {
    let calls = 0;
    await expect(
      retry(async () => {
        calls++;
        throw new SluiceError('X', 'permanent');
      }, { initialDelayMs: 1 }),
    ).rejects.toThrow('permanent');
    expect(calls).toBe(1);
    calls = 0;
    const v = await retry(async () => {
      calls++;
      if (calls < 3) throw new SluiceError('X', 'flaky', { retriable: true });
      return 'ok';
    }, { initialDelayMs: 1 });
    expect(v).toBe('ok');
    expect(calls).toBe(3);
  });
});
