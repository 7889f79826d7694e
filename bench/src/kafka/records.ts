/**
 * The Kafka benchmarks' record: JSON of exactly RECORD_BYTES bytes (padded), carrying a sequence
 * number and the time it was produced, so the harness can tell warm-up from measured records and
 * compute end-to-end latency when it reads the job's output. The job's map step converts the
 * amount (Nexmark q1's currency conversion), which keeps the output the same size.
 */

export const RECORD_BYTES = 100;

export interface BenchRecord {
  /** Sequence number, from 0, over the whole run. */
  id: number;
  /** When the harness produced it: ms since the epoch with sub-ms precision (performance.timeOrigin + now()). */
  ts: number;
  user: string;
  amount: number;
  pad: string;
}

/** The clock both ends of a latency run read; one process, so the same origin on both sides. */
export function preciseEpochMs(): number {
  return performance.timeOrigin + performance.now();
}

/** A record of exactly RECORD_BYTES bytes of JSON (ASCII only, so characters = bytes). */
export function benchRecordJson(id: number, ts: number): string {
  const user = `user-${String(id % 100_000).padStart(5, '0')}`;
  // A deterministic amount in cents, spread like prices: 1.00 … 9,999.99.
  const amount = (100 + (Math.imul(id, 0x9e3779b1) >>> 0) % 999_900) / 100;
  const head = `{"id":${id},"ts":${ts},"user":"${user}","amount":${amount},"pad":"`;
  const padLength = RECORD_BYTES - head.length - 2;
  if (padLength < 0) throw new Error(`bench record ${id} does not fit in ${RECORD_BYTES} bytes: ${head}`);
  return `${head}${'x'.repeat(padLength)}"}`;
}

/** The job's map: Nexmark q1's dollar → euro conversion, in whole cents. */
export function convertAmount(r: BenchRecord): BenchRecord {
  return { id: r.id, ts: r.ts, user: r.user, amount: Math.round(r.amount * 90.8) / 100, pad: r.pad };
}

/** `id` and `ts` of a record's JSON without parsing all of it (the reader does this per record). */
export function idAndTs(json: string): { id: number; ts: number } {
  const idStart = json.indexOf('"id":') + 5;
  const tsStart = json.indexOf('"ts":', idStart) + 5;
  const id = Number(json.slice(idStart, json.indexOf(',', idStart)));
  const ts = Number(json.slice(tsStart, json.indexOf(',', tsStart)));
  if (idStart < 5 || tsStart < 5 || !Number.isFinite(id) || !Number.isFinite(ts)) throw new Error(`not a bench record: ${json.slice(0, 120)}`);
  return { id, ts };
}

/**
 * The latency run's trace, written by the job into the padding so the record keeps its size:
 * when the broker appended the input record (its LogAppendTime, which the source hands on as
 * the record timestamp) and when the job's map step saw it, both in ms after `ts`. With the
 * output topic's LogAppendTime and the reader's clock this splits end-to-end latency into hops.
 */
export function withTrace(r: BenchRecord, inputAppendMs: number | undefined, mapMs: number): BenchRecord {
  const a = inputAppendMs === undefined ? 'NaN' : (inputAppendMs - r.ts).toFixed(2);
  const stamp = `a${a}m${(mapMs - r.ts).toFixed(2)}`;
  return { ...r, pad: stamp.length >= r.pad.length ? stamp : stamp + 'x'.repeat(r.pad.length - stamp.length) };
}

export interface Trace {
  /** Input LogAppendTime − ts. */
  inputAppend: number;
  /** Job map time − ts. */
  map: number;
}

export function readTrace(json: string): Trace | undefined {
  const at = json.indexOf('"pad":"a');
  if (at < 0) return undefined;
  const m = json.indexOf('m', at + 8);
  let end = m + 1;
  while (end < json.length && json[end] !== 'x' && json[end] !== '"') end++;
  const inputAppend = Number(json.slice(at + 8, m));
  const map = Number(json.slice(m + 1, end));
  return Number.isFinite(inputAppend) && Number.isFinite(map) ? { inputAppend, map } : undefined;
}
