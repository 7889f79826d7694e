/**
 * Durations as people type them in flags and option strings (`500ms`, `2s`, `1.5min`, `1h`) and
 * back. A unit is required, except for a bare `0`, because a bare number is ambiguous.
 */
import { ConfigurationError } from '@sluice/common';

const UNIT_MS: Readonly<Record<string, number>> = Object.freeze({ ms: 1, s: 1_000, min: 60_000, h: 3_600_000, d: 86_400_000 });
export const DURATION_UNITS = Object.keys(UNIT_MS);

/** Milliseconds in `text`; `what` names the setting in the error. */
export function parseDuration(text: string, what = 'duration'): number {
  const trimmed = text.trim();
  if (trimmed === '0') return 0;
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]+)$/.exec(trimmed);
  const factor = m === null ? undefined : UNIT_MS[m[2]!];
  if (m === null || factor === undefined) {
    throw new ConfigurationError(`${what} must be a duration with a unit (${DURATION_UNITS.join(', ')}), like 500ms, 2s, 5min or 1h; got '${text}'`);
  }
  return Math.round(Number(m[1]) * factor * 1000) / 1000;
}

/** The shortest exact rendering in the largest unit that divides evenly: 2000 → "2s", 90000 → "90s". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms === 0) return '0ms';
  for (const unit of ['d', 'h', 'min', 's'] as const) {
    const factor = UNIT_MS[unit]!;
    if (Math.abs(ms) >= factor && Number.isInteger(ms / factor)) return `${ms / factor}${unit}`;
  }
  return `${Math.round(ms * 1000) / 1000}ms`;
}
