import { isRetriableError } from './errors.js';

export interface RetryOptions {
  /** Attempts in total, including the first. */
  attempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
  factor: number;
  /** Decides whether an error is worth another attempt; defaults to SluiceError.retriable. */
  isRetriable?: (err: unknown) => boolean;
  signal?: AbortSignal;
}

export const DEFAULT_RETRY_OPTIONS: Readonly<RetryOptions> = Object.freeze({
  attempts: 5,
  initialDelayMs: 100,
  maxDelayMs: 5_000,
  factor: 2,
});

/** Runs `action` until it succeeds, a non-retriable error occurs, or attempts run out. */
export async function retry<T>(action: (attempt: number) => Promise<T>, options: Partial<RetryOptions> = {}): Promise<T> {
  const o = { ...DEFAULT_RETRY_OPTIONS, ...options };
  const retriable = o.isRetriable ?? isRetriableError;
  let delay = o.initialDelayMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await action(attempt);
    } catch (err) {
      if (attempt >= o.attempts || !retriable(err) || o.signal?.aborted) throw err;
      await sleep(Math.min(delay, o.maxDelayMs), o.signal);
      delay *= o.factor;
    }
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}
