/**
 * Restart strategies as behaviour: given a job's RestartStrategyConfig, decide after each
 * failure whether the JobMaster may restart the job and how long it waits first. Pure state
 * machines driven by the failure times the JobMaster passes in, so tests need no timers.
 *
 * Call order per failure: `notifyFailure(now)`, then `canRestart()` and `backoffMs()` describe
 * that failure; both are stable until the next `notifyFailure`. `nowMs` must not go backwards
 * (use a monotonic clock); a smaller value is treated as equal to the previous one.
 */
import { formatDuration, UNLIMITED_ATTEMPTS, validateRestartStrategy, type RestartStrategyConfig } from '@sluice/protocol';

export interface RestartBackoff {
  /** Records a failure at `nowMs`. */
  notifyFailure(nowMs: number): void;
  /** Whether the most recent failure may be answered with a restart (true before any failure, except for `none`). */
  canRestart(): boolean;
  /** Milliseconds to wait before restarting after the most recent failure (an integer). */
  backoffMs(): number;
  /** One line for logs and for the error that fails the job, e.g. "fixed-delay: 3 of 3 restart attempts used, delay 2s". */
  describe(): string;
}

/**
 * Failures a restart cannot cure, which fail the job whatever its restart strategy: a restart
 * restores the same checkpoint into the same job and fails the same way (`STATE_INCOMPATIBLE`:
 * restored state the job would misread; `SOURCE_POSITION_NOT_PLAIN`: a source whose splits a
 * checkpoint cannot store).
 */
export function failsWithoutRestart(error: { code: string }): boolean {
  return error.code === 'STATE_INCOMPATIBLE' || error.code === 'SOURCE_POSITION_NOT_PLAIN';
}

export interface RestartBackoffOptions {
  /** Source of jitter, uniform in [0, 1); defaults to Math.random. */
  random?: () => number;
}

/** Validates `config` (it may come from outside) and builds its state machine. */
export function createRestartBackoff(config: RestartStrategyConfig, options: RestartBackoffOptions = {}): RestartBackoff {
  const c = validateRestartStrategy(config);
  switch (c.type) {
    case 'none':
      return noRestart();
    case 'fixed-delay':
      return fixedDelay(c.attempts, c.delayMs);
    case 'failure-rate':
      return failureRate(c.maxFailuresPerInterval, c.intervalMs, c.delayMs);
    case 'exponential-delay':
      return exponentialDelay(c, options.random ?? Math.random);
  }
}

function noRestart(): RestartBackoff {
  let failures = 0;
  return {
    notifyFailure: () => void failures++,
    canRestart: () => false,
    backoffMs: () => 0,
    describe: () => `none: restarts are disabled (${plural(failures, 'failure')})`,
  };
}

/** Up to `attempts` restarts over the job's life; each failure uses one. */
function fixedDelay(attempts: number, delayMs: number): RestartBackoff {
  let failures = 0;
  return {
    notifyFailure: () => void failures++,
    canRestart: () => failures <= attempts,
    backoffMs: () => Math.round(delayMs),
    describe: () => {
      const used = Math.min(failures, attempts);
      const limit = attempts >= UNLIMITED_ATTEMPTS ? `${used} restart attempts used (unlimited)` : `${used} of ${attempts} restart attempts used`;
      return `fixed-delay: ${limit}${failures > attempts ? ', none left' : ''}, delay ${formatDuration(delayMs)}`;
    },
  };
}

/**
 * A sliding window: a failure at `t` counts while `now − t < intervalMs`. The job may restart
 * as long as the window, including the failure just seen, holds at most `maxFailures`.
 */
function failureRate(maxFailures: number, intervalMs: number, delayMs: number): RestartBackoff {
  const failures: number[] = [];
  return {
    notifyFailure: (nowMs) => {
      const now = Math.max(nowMs, failures.at(-1) ?? -Infinity);
      failures.push(now);
      while (failures.length > 0 && now - failures[0]! >= intervalMs) failures.shift();
    },
    canRestart: () => failures.length <= maxFailures,
    backoffMs: () => Math.round(delayMs),
    describe: () =>
      `failure-rate: ${plural(failures.length, 'failure')} within the last ${formatDuration(intervalMs)}, at most ${maxFailures} allowed, delay ${formatDuration(delayMs)}`,
  };
}

/**
 * Delay `initial`, then ×`multiplier` per failure up to `max`, each drawn ±`jitter` around the
 * nominal delay and kept within [0, max]. The job counts as stable once it has run `resetAfterMs`
 * since its last restart (the last failure plus its delay); the next failure after that starts
 * over at `initial`, with the attempt count at zero.
 */
function exponentialDelay(c: Extract<RestartStrategyConfig, { type: 'exponential-delay' }>, random: () => number): RestartBackoff {
  let lastFailureMs: number | undefined;
  let nominalMs = c.initialDelayMs;
  let delayMs = Math.round(c.initialDelayMs);
  let attemptsSinceReset = 0;
  let resets = 0;
  return {
    notifyFailure: (nowMs) => {
      const now = Math.max(nowMs, lastFailureMs ?? -Infinity);
      const stable = lastFailureMs === undefined || now - (lastFailureMs + delayMs) >= c.resetAfterMs;
      if (stable) {
        if (lastFailureMs !== undefined) resets++;
        nominalMs = c.initialDelayMs;
        attemptsSinceReset = 1;
      } else {
        nominalMs = Math.min(nominalMs * c.multiplier, c.maxDelayMs);
        attemptsSinceReset++;
      }
      lastFailureMs = now;
      const jittered = nominalMs * (1 + c.jitter * (2 * random() - 1));
      delayMs = Math.round(Math.min(Math.max(jittered, 0), c.maxDelayMs));
    },
    canRestart: () => c.attempts === undefined || attemptsSinceReset <= c.attempts,
    backoffMs: () => delayMs,
    describe: () => {
      const attempts =
        c.attempts === undefined
          ? plural(attemptsSinceReset, 'failure')
          : `${Math.min(attemptsSinceReset, c.attempts)} of ${c.attempts} restart attempts used${attemptsSinceReset > c.attempts ? ', none left' : ''}`;
      return (
        `exponential-delay: ${attempts} since the last reset (${plural(resets, 'reset')} so far), delay ${formatDuration(delayMs)} ` +
        `(initial ${formatDuration(c.initialDelayMs)}, max ${formatDuration(c.maxDelayMs)}, ×${c.multiplier}, jitter ±${c.jitter}, reset after ${formatDuration(c.resetAfterMs)} without failure)`
      );
    },
  };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
