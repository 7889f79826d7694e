import { randomBytes } from 'node:crypto';

/** Random hex id of `bytes` bytes (16 → 32 hex chars, like Flink's JobID). */
export function randomId(bytes = 16): string {
  return randomBytes(bytes).toString('hex');
}
