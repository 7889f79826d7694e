/**
 * Restart strategies as configuration: plain data that travels with a job (JobConfig, REST
 * bodies, the CLI), its validation at the edge, and the CLI's `type:key=value,...` syntax. The
 * behaviour — counting failures and computing delays — lives in the JobMaster
 * (@sluice/jobmanager `createRestartBackoff`).
 *
 * Everything here must survive JSON, so "unlimited attempts" is not `Infinity` (which JSON turns
 * into null) but `UNLIMITED_ATTEMPTS`, or for exponential-delay simply no `attempts`.
 */
import { ConfigurationError } from '@sluice/common';
import { formatDuration, parseDuration } from './duration.js';

export type RestartStrategyConfig =
  | { type: 'none' }
  /** Restart up to `attempts` times in the job's life, waiting `delayMs` before each. */
  | { type: 'fixed-delay'; attempts: number; delayMs: number }
  /** Restart after `delayMs` unless this failure makes more than `maxFailuresPerInterval` within the last `intervalMs`. */
  | { type: 'failure-rate'; maxFailuresPerInterval: number; intervalMs: number; delayMs: number }
  /**
   * Wait `initialDelayMs`, then ×`multiplier` per further failure up to `maxDelayMs`, ±`jitter`
   * of the delay. After running `resetAfterMs` without a failure the delay (and the attempt
   * count) start over. `attempts`, if set, limits the restarts between two resets.
   */
  | { type: 'exponential-delay'; initialDelayMs: number; maxDelayMs: number; multiplier: number; resetAfterMs: number; jitter: number; attempts?: number };

export type RestartStrategyType = RestartStrategyConfig['type'];

/** "Unlimited" for a count that must stay JSON-safe. */
export const UNLIMITED_ATTEMPTS = Number.MAX_SAFE_INTEGER;

/** Longest delay a Node.js timer can wait (2^31−1 ms, 24.8 days); longer ones fire at once. */
export const MAX_RESTART_DELAY_MS = 2 ** 31 - 1;

/** Values used for keys the CLI text leaves out (Flink's defaults). */
export const RESTART_STRATEGY_DEFAULTS = Object.freeze({
  'fixed-delay': Object.freeze({ type: 'fixed-delay', attempts: 1, delayMs: 1_000 }),
  'failure-rate': Object.freeze({ type: 'failure-rate', maxFailuresPerInterval: 1, intervalMs: 60_000, delayMs: 1_000 }),
  'exponential-delay': Object.freeze({ type: 'exponential-delay', initialDelayMs: 1_000, maxDelayMs: 60_000, multiplier: 1.5, resetAfterMs: 3_600_000, jitter: 0.1 }),
} as const satisfies { [T in Exclude<RestartStrategyType, 'none'>]: Extract<RestartStrategyConfig, { type: T }> });

const TYPES: readonly RestartStrategyType[] = ['none', 'fixed-delay', 'failure-rate', 'exponential-delay'];

type Rule = { kind: 'count'; min: number; optional?: boolean } | { kind: 'delay' } | { kind: 'interval' } | { kind: 'range'; min: number; max?: number };

/** Per type, each field and what it accepts; also the source of the error messages. */
const FIELD_RULES: { readonly [T in RestartStrategyType]: Readonly<Record<string, Rule>> } = {
  none: {},
  'fixed-delay': { attempts: { kind: 'count', min: 0 }, delayMs: { kind: 'delay' } },
  'failure-rate': { maxFailuresPerInterval: { kind: 'count', min: 1 }, intervalMs: { kind: 'interval' }, delayMs: { kind: 'delay' } },
  'exponential-delay': {
    initialDelayMs: { kind: 'delay' },
    maxDelayMs: { kind: 'delay' },
    multiplier: { kind: 'range', min: 1 },
    resetAfterMs: { kind: 'interval' },
    jitter: { kind: 'range', min: 0, max: 1 },
    attempts: { kind: 'count', min: 0, optional: true },
  },
};

/**
 * Checks a restart strategy that arrived from outside (job options, a REST body) and returns it
 * typed. Throws ConfigurationError naming the field, the allowed range and the value received.
 */
export function validateRestartStrategy(config: unknown): RestartStrategyConfig {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new ConfigurationError(`restart strategy must be an object like { type: 'fixed-delay', attempts: 3, delayMs: 2000 }, got ${render(config)}`);
  }
  const raw = config as Record<string, unknown>;
  const type = raw.type;
  if (typeof type !== 'string' || !(TYPES as readonly string[]).includes(type)) {
    throw new ConfigurationError(`restart strategy 'type' must be one of ${TYPES.join(', ')}; got ${render(type)}`);
  }
  const rules = FIELD_RULES[type as RestartStrategyType];
  for (const key of Object.keys(raw)) {
    if (key !== 'type' && !(key in rules)) {
      const valid = Object.keys(rules);
      throw new ConfigurationError(`unknown field '${key}' in ${type} restart strategy; ${valid.length === 0 ? `${type} takes no fields` : `valid fields: ${valid.join(', ')}`}`);
    }
  }
  for (const [field, rule] of Object.entries(rules)) checkField(type, field, raw[field], rule);
  if (type === 'exponential-delay' && (raw.maxDelayMs as number) < (raw.initialDelayMs as number)) {
    throw new ConfigurationError(`exponential-delay restart strategy: maxDelayMs (${raw.maxDelayMs}) must be ≥ initialDelayMs (${raw.initialDelayMs})`);
  }
  // Rebuild rather than cast, so no stray property rides along with the job.
  const out: Record<string, unknown> = { type };
  for (const field of Object.keys(rules)) if (raw[field] !== undefined) out[field] = raw[field];
  return out as RestartStrategyConfig;
}

function checkField(type: string, field: string, value: unknown, rule: Rule): void {
  const where = `${type} restart strategy: '${field}'`;
  const isNumber = typeof value === 'number' && Number.isFinite(value);
  switch (rule.kind) {
    case 'count':
      if (value === undefined && rule.optional) return;
      if (value === Infinity) {
        throw new ConfigurationError(`${where} cannot be Infinity (it would not survive JSON); use UNLIMITED_ATTEMPTS (${UNLIMITED_ATTEMPTS})${rule.optional ? ' or leave it out' : ''} for unlimited`);
      }
      if (!isNumber || !Number.isInteger(value) || value < rule.min || value > UNLIMITED_ATTEMPTS) {
        throw new ConfigurationError(`${where} must be an integer ≥ ${rule.min}${rule.optional ? ' (or absent for unlimited)' : ''}; got ${render(value)}`);
      }
      return;
    case 'delay':
      if (!isNumber || value < 0 || value > MAX_RESTART_DELAY_MS) {
        throw new ConfigurationError(`${where} must be a number of milliseconds in [0, ${MAX_RESTART_DELAY_MS}] (at most 24.8 days); got ${render(value)}`);
      }
      return;
    case 'interval':
      if (!isNumber || value <= 0) throw new ConfigurationError(`${where} must be a number of milliseconds > 0; got ${render(value)}`);
      return;
    case 'range':
      if (!isNumber || value < rule.min || (rule.max !== undefined && value > rule.max)) {
        throw new ConfigurationError(`${where} must be a number ${rule.max === undefined ? `≥ ${rule.min}` : `in [${rule.min}, ${rule.max}]`}; got ${render(value)}`);
      }
      return;
  }
}

function render(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'number') return String(v);
  return JSON.stringify(v) ?? String(v);
}

// ---- CLI syntax ----

type KeyKind = 'count' | 'count-or-unlimited' | 'duration' | 'number';

/** CLI key → config field, per type. */
const CLI_KEYS: { readonly [T in RestartStrategyType]: Readonly<Record<string, { field: string; kind: KeyKind }>> } = {
  none: {},
  'fixed-delay': { attempts: { field: 'attempts', kind: 'count-or-unlimited' }, delay: { field: 'delayMs', kind: 'duration' } },
  'failure-rate': {
    'max-failures': { field: 'maxFailuresPerInterval', kind: 'count' },
    interval: { field: 'intervalMs', kind: 'duration' },
    delay: { field: 'delayMs', kind: 'duration' },
  },
  'exponential-delay': {
    initial: { field: 'initialDelayMs', kind: 'duration' },
    max: { field: 'maxDelayMs', kind: 'duration' },
    multiplier: { field: 'multiplier', kind: 'number' },
    'reset-after': { field: 'resetAfterMs', kind: 'duration' },
    jitter: { field: 'jitter', kind: 'number' },
    attempts: { field: 'attempts', kind: 'count-or-unlimited' },
  },
};

export const RESTART_STRATEGY_SYNTAX =
  'none | fixed-delay:attempts=3,delay=2s | failure-rate:max-failures=3,interval=5min,delay=1s | ' +
  'exponential-delay:initial=1s,max=1min,multiplier=1.5,reset-after=1h,jitter=0.1[,attempts=10]';

/**
 * Parses the CLI form, e.g. `fixed-delay:attempts=3,delay=2s`. Keys left out take the values in
 * RESTART_STRATEGY_DEFAULTS; `attempts=unlimited` is accepted. Throws ConfigurationError listing
 * the valid keys on anything it does not understand.
 */
export function parseRestartStrategy(text: string): RestartStrategyConfig {
  const trimmed = text.trim();
  const colon = trimmed.indexOf(':');
  const type = (colon < 0 ? trimmed : trimmed.slice(0, colon)).trim();
  const params = colon < 0 ? '' : trimmed.slice(colon + 1).trim();
  if (!(TYPES as readonly string[]).includes(type)) {
    throw new ConfigurationError(`unknown restart strategy '${type}'; expected ${RESTART_STRATEGY_SYNTAX}`);
  }
  const t = type as RestartStrategyType;
  if (t === 'none') {
    if (params !== '') throw new ConfigurationError(`restart strategy 'none' takes no options; got '${params}'`);
    return { type: 'none' };
  }
  const keys = CLI_KEYS[t];
  const valid = Object.keys(keys).join(', ');
  const out: Record<string, unknown> = { ...RESTART_STRATEGY_DEFAULTS[t] };
  const seen = new Set<string>();
  for (const part of params === '' ? [] : params.split(',')) {
    const eq = part.indexOf('=');
    const key = (eq < 0 ? part : part.slice(0, eq)).trim();
    const value = eq < 0 ? '' : part.slice(eq + 1).trim();
    const spec = keys[key];
    if (spec === undefined) throw new ConfigurationError(`unknown option '${key}' for ${t} restart strategy; valid options: ${valid}`);
    if (eq < 0 || value === '') throw new ConfigurationError(`${t} restart strategy option '${key}' needs a value, like ${key}=${example(spec.kind)}`);
    if (seen.has(key)) throw new ConfigurationError(`${t} restart strategy option '${key}' is given twice`);
    seen.add(key);
    out[spec.field] = parseValue(t, key, value, spec.kind);
  }
  if (out.attempts === undefined) delete out.attempts;
  return validateRestartStrategy(out);
}

function parseValue(type: string, key: string, value: string, kind: KeyKind): number | undefined {
  const where = `${type} restart strategy option '${key}'`;
  switch (kind) {
    case 'duration':
      return parseDuration(value, where);
    case 'count-or-unlimited':
    case 'count':
      // exponential-delay says "unlimited" by leaving attempts out; fixed-delay by the constant.
      if (kind === 'count-or-unlimited' && value === 'unlimited') return type === 'exponential-delay' ? undefined : UNLIMITED_ATTEMPTS;
      if (!/^\d+$/.test(value)) {
        throw new ConfigurationError(`${where} must be a whole number${kind === 'count-or-unlimited' ? " or 'unlimited'" : ''}; got '${value}'`);
      }
      return Number(value);
    case 'number': {
      const n = Number(value);
      if (!/^\d+(\.\d+)?$/.test(value) || !Number.isFinite(n)) throw new ConfigurationError(`${where} must be a number like ${example(kind)}; got '${value}'`);
      return n;
    }
  }
}

function example(kind: KeyKind): string {
  return kind === 'duration' ? '2s' : kind === 'number' ? '1.5' : '3';
}

/** The config in the CLI syntax, e.g. for logs and `sluice list`. */
export function formatRestartStrategy(config: RestartStrategyConfig): string {
  switch (config.type) {
    case 'none':
      return 'none';
    case 'fixed-delay':
      return `fixed-delay:attempts=${attemptsText(config.attempts)},delay=${formatDuration(config.delayMs)}`;
    case 'failure-rate':
      return `failure-rate:max-failures=${config.maxFailuresPerInterval},interval=${formatDuration(config.intervalMs)},delay=${formatDuration(config.delayMs)}`;
    case 'exponential-delay':
      return (
        `exponential-delay:initial=${formatDuration(config.initialDelayMs)},max=${formatDuration(config.maxDelayMs)},multiplier=${config.multiplier},` +
        `reset-after=${formatDuration(config.resetAfterMs)},jitter=${config.jitter}` +
        (config.attempts === undefined ? '' : `,attempts=${attemptsText(config.attempts)}`)
      );
  }
}

function attemptsText(n: number): string {
  return n >= UNLIMITED_ATTEMPTS ? 'unlimited' : String(n);
}
