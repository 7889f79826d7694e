import { ConfigurationError } from '@sluice/common';
import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from './duration.js';
import {
  formatRestartStrategy,
  parseRestartStrategy,
  RESTART_STRATEGY_DEFAULTS,
  UNLIMITED_ATTEMPTS,
  validateRestartStrategy,
  type RestartStrategyConfig,
} from './restart-strategy.js';

describe('durations', () => {
  it.each([
    ['500ms', 500],
    ['2s', 2_000],
    ['1.5s', 1_500],
    ['5min', 300_000],
    ['1h', 3_600_000],
    ['1d', 86_400_000],
    [' 3 s ', 3_000],
    ['0', 0],
  ])('parses %j as %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '5', '5m', '2 seconds', '-1s', '1e3ms', 's'])('refuses %j, listing the units', (text) => {
    expect(() => parseDuration(text, "option 'delay'")).toThrow(/option 'delay' must be a duration with a unit \(ms, s, min, h, d\)/);
  });

  it('formats in the largest unit that divides evenly', () => {
    expect([0, 250, 1_000, 1_500, 90_000, 60_000, 3_600_000].map(formatDuration)).toEqual(['0ms', '250ms', '1s', '1500ms', '90s', '1min', '1h']);
  });
});

describe('parseRestartStrategy', () => {
  it.each<[string, RestartStrategyConfig]>([
    ['none', { type: 'none' }],
    ['fixed-delay:attempts=3,delay=2s', { type: 'fixed-delay', attempts: 3, delayMs: 2_000 }],
    ['fixed-delay:attempts=unlimited,delay=500ms', { type: 'fixed-delay', attempts: UNLIMITED_ATTEMPTS, delayMs: 500 }],
    ['failure-rate:max-failures=3,interval=5min,delay=1s', { type: 'failure-rate', maxFailuresPerInterval: 3, intervalMs: 300_000, delayMs: 1_000 }],
    [
      'exponential-delay:initial=1s,max=1min,multiplier=2,reset-after=1h,jitter=0.1',
      { type: 'exponential-delay', initialDelayMs: 1_000, maxDelayMs: 60_000, multiplier: 2, resetAfterMs: 3_600_000, jitter: 0.1 },
    ],
    [
      ' exponential-delay: initial=100ms , attempts=10 ',
      { type: 'exponential-delay', initialDelayMs: 100, maxDelayMs: 60_000, multiplier: 1.5, resetAfterMs: 3_600_000, jitter: 0.1, attempts: 10 },
    ],
    ['exponential-delay:attempts=unlimited', { ...RESTART_STRATEGY_DEFAULTS['exponential-delay'] }],
    ['fixed-delay', { ...RESTART_STRATEGY_DEFAULTS['fixed-delay'] }],
  ])('%j', (text, expected) => {
    expect(parseRestartStrategy(text)).toEqual(expected);
  });

  it.each([
    ['restart-always', /unknown restart strategy 'restart-always'; expected none \| fixed-delay:attempts=3,delay=2s \| failure-rate:/],
    ['fixed-delay:attempts=3,dealy=2s', /unknown option 'dealy' for fixed-delay restart strategy; valid options: attempts, delay/],
    ['failure-rate:max-failures=3,interval=5', /'interval' must be a duration with a unit/],
    ['fixed-delay:attempts=three', /'attempts' must be a whole number or 'unlimited'; got 'three'/],
    ['fixed-delay:attempts=-1', /'attempts' must be a whole number/],
    ['fixed-delay:attempts', /'attempts' needs a value, like attempts=3/],
    ['fixed-delay:attempts=1,attempts=2', /'attempts' is given twice/],
    ['exponential-delay:multiplier=0.5', /'multiplier' must be a number ≥ 1; got 0.5/],
    ['exponential-delay:jitter=2', /'jitter' must be a number in \[0, 1\]; got 2/],
    ['exponential-delay:initial=2min,max=1min', /maxDelayMs \(60000\) must be ≥ initialDelayMs \(120000\)/],
    ['failure-rate:max-failures=0', /'maxFailuresPerInterval' must be an integer ≥ 1; got 0/],
    ['none:attempts=3', /'none' takes no options/],
  ])('refuses %j with a message saying what is valid', (text, message) => {
    let caught: unknown;
    try {
      parseRestartStrategy(text);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigurationError);
    expect((caught as Error).message).toMatch(message);
  });

  it('formats back into the same syntax', () => {
    for (const text of [
      'none',
      'fixed-delay:attempts=3,delay=2s',
      'fixed-delay:attempts=unlimited,delay=500ms',
      'failure-rate:max-failures=3,interval=5min,delay=1s',
      'exponential-delay:initial=1s,max=1min,multiplier=2,reset-after=1h,jitter=0.1',
      'exponential-delay:initial=1s,max=1min,multiplier=1.5,reset-after=1h,jitter=0,attempts=4',
    ]) {
      expect(formatRestartStrategy(parseRestartStrategy(text))).toBe(text);
    }
  });
});

describe('validateRestartStrategy', () => {
  it('accepts valid configs and strips nothing it knows', () => {
    const c = { type: 'exponential-delay', initialDelayMs: 0, maxDelayMs: 0, multiplier: 1, resetAfterMs: 1, jitter: 1, attempts: 0 } as const;
    expect(validateRestartStrategy(c)).toEqual(c);
    expect(validateRestartStrategy(JSON.parse(JSON.stringify({ type: 'fixed-delay', attempts: UNLIMITED_ATTEMPTS, delayMs: 10 })))).toEqual({
      type: 'fixed-delay',
      attempts: UNLIMITED_ATTEMPTS,
      delayMs: 10,
    });
  });

  it.each<[unknown, RegExp]>([
    [null, /must be an object like/],
    [{ type: 'sometimes' }, /'type' must be one of none, fixed-delay, failure-rate, exponential-delay; got "sometimes"/],
    [{ type: 'none', attempts: 1 }, /unknown field 'attempts' in none restart strategy; none takes no fields/],
    [{ type: 'fixed-delay', attempts: 3, delay: 5 }, /unknown field 'delay' in fixed-delay restart strategy; valid fields: attempts, delayMs/],
    [{ type: 'fixed-delay', attempts: 3 }, /'delayMs' must be a number of milliseconds in \[0, 2147483647\].*got nothing/],
    [{ type: 'fixed-delay', attempts: Infinity, delayMs: 1 }, /'attempts' cannot be Infinity \(it would not survive JSON\); use UNLIMITED_ATTEMPTS/],
    [{ type: 'fixed-delay', attempts: 1.5, delayMs: 1 }, /'attempts' must be an integer ≥ 0; got 1.5/],
    [{ type: 'fixed-delay', attempts: 1, delayMs: 2 ** 31 }, /at most 24.8 days/],
    [{ type: 'failure-rate', maxFailuresPerInterval: 1, intervalMs: 0, delayMs: 0 }, /'intervalMs' must be a number of milliseconds > 0; got 0/],
    [{ type: 'exponential-delay', initialDelayMs: 1, maxDelayMs: 1, multiplier: 2, resetAfterMs: 1, jitter: -0.1 }, /'jitter' must be a number in \[0, 1\]/],
    [{ type: 'exponential-delay', initialDelayMs: 1, maxDelayMs: 1, multiplier: NaN, resetAfterMs: 1, jitter: 0 }, /'multiplier' must be a number ≥ 1; got NaN/],
  ])('refuses %j', (config, message) => {
    expect(() => validateRestartStrategy(config)).toThrow(message);
  });
});
