/**
 * Reading a job's `-D key=value` parameters: strings in, checked numbers and flags out. A bad
 * value fails the job build with a message naming the parameter, the value and what is allowed,
 * instead of a NaN travelling into the pipeline.
 */
import { ConfigurationError } from '@sluice/common';

export type Params = Readonly<Record<string, string>>;

export interface NumberRule {
  min?: number;
  max?: number;
  integer?: boolean;
}

export function numberParam(params: Params, name: string, fallback: number, rule: NumberRule = {}): number {
  const raw = params[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  // Allow 1_000_000 and 1e6 spellings.
  const value = Number(raw.replaceAll('_', ''));
  const expected = `${rule.integer === true ? 'an integer' : 'a number'}${rule.min === undefined ? '' : ` ≥ ${rule.min}`}${rule.max === undefined ? '' : ` ≤ ${rule.max}`}`;
  const bad = !Number.isFinite(value) || (rule.integer === true && !Number.isInteger(value)) || (rule.min !== undefined && value < rule.min) || (rule.max !== undefined && value > rule.max);
  if (bad) throw new ConfigurationError(`parameter -D ${name}=${raw} is invalid: expected ${expected}`);
  return value;
}

export function intParam(params: Params, name: string, fallback: number, rule: Omit<NumberRule, 'integer'> = {}): number {
  return numberParam(params, name, fallback, { ...rule, integer: true });
}

/** An optional number: undefined when the parameter is absent. */
export function optionalNumberParam(params: Params, name: string, rule: NumberRule = {}): number | undefined {
  return params[name] === undefined ? undefined : numberParam(params, name, 0, rule);
}

export function boolParam(params: Params, name: string, fallback: boolean): boolean {
  const raw = params[name];
  if (raw === undefined || raw === '') return fallback;
  const v = raw.toLowerCase();
  if (v === 'true' || v === '1' || v === 'yes') return true;
  if (v === 'false' || v === '0' || v === 'no') return false;
  throw new ConfigurationError(`parameter -D ${name}=${raw} is invalid: expected true or false`);
}

export function stringParam(params: Params, name: string, fallback: string): string {
  const raw = params[name];
  return raw === undefined || raw === '' ? fallback : raw;
}

/** A parameter the job cannot run without; `why` says what it is for and gives an example. */
export function requiredParam(params: Params, name: string, why: string): string {
  const raw = params[name];
  if (raw === undefined || raw.trim() === '') throw new ConfigurationError(`parameter -D ${name}=... is missing: ${why}`);
  return raw.trim();
}
