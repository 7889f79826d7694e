import { describe, expect, it } from 'vitest';
import { SluiceError, UserFunctionError, deserializeError, hasErrorCode, isRetriableError, retry, serializeError, truncateForMessage } from './index.js';

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

  it('carries code and retriable across serialization, and recognises errors by code whatever carries them', () => {
    const original = new SluiceError('RPC_UNREACHABLE', 'gone', { retriable: true });
    const wire = serializeError(original);
    expect(wire).toMatchObject({ code: 'RPC_UNREACHABLE', message: 'gone', retriable: true });
    const rebuilt = deserializeError(JSON.parse(JSON.stringify(wire)));
    for (const e of [original, wire, rebuilt]) {
      expect(hasErrorCode(e, 'RPC_TIMEOUT', 'RPC_UNREACHABLE')).toBe(true);
      expect(isRetriableError(e)).toBe(true);
    }
    expect(serializeError(new Error('plain'))).toMatchObject({ code: 'INTERNAL', retriable: false });
    expect(hasErrorCode(new Error('plain'), 'INTERNAL')).toBe(false);
    expect(hasErrorCode('RPC_UNREACHABLE', 'RPC_UNREACHABLE')).toBe(false);
    expect(isRetriableError({ retriable: true })).toBe(false);
  });
});
