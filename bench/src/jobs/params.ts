/**
 * Parameter parsing for bench jobs: the same strict rules as the examples (bad values fail the
 * job build naming the parameter), in the short form bench jobs need.
 */
import { ConfigurationError } from '@sluice/common';

type Params = Readonly<Record<string, string>>;

export function intParam(params: Params, name: string, fallback: number, min: number): number {
  const raw = params[name];
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw.replaceAll('_', ''));
  if (!Number.isSafeInteger(v) || v < min) throw new ConfigurationError(`parameter -D ${name}=${raw} is invalid: expected an integer ≥ ${min}`);
  return v;
}

export function optionalNumber(params: Params, name: string): number | undefined {
  const raw = params[name];
  if (raw === undefined || raw === '') return undefined;
  const v = Number(raw.replaceAll('_', ''));
  if (!Number.isFinite(v) || v <= 0) throw new ConfigurationError(`parameter -D ${name}=${raw} is invalid: expected a positive number`);
  return v;
}

export function statsDirOf(params: Params): string | undefined {
  const dir = params['statsDir'];
  return dir === undefined || dir === '' ? undefined : dir;
}
