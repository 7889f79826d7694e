/**
 * One side of the serializer benchmark (serializer.ts), in a process of its own so that the
 * other side can run with code generation disallowed: writes `records` records of each kind with
 * the default serializer into a 32 KiB buffer (reset when full, as a channel's batches are) and
 * prints one JSON line with ns per record (best of `runs`) and a hash of the first 4,096 records'
 * bytes, for the parent to check that both sides wrote the same.
 */
import { BufferDataOutput, createRecordSerializer } from '@sluice/runtime';

/** q7's record between its two steps: five numbers, two of them beyond int32. */
function q7Record(i: number): Record<string, unknown> {
  return { auction: 1000 + ((i * 7919) % 50_000), bidder: 2000 + ((i * 104_729) % 100_000), price: 100 + ((i * 31_337) % 2_000_000), dateTime: 1_700_000_000_000 + i * 3, emitMs: i % 256 === 0 ? 1_765_000_000_000.5 + i : 0 };
}

/** A record with a string, a boolean, a nested object and an array besides numbers. */
function mixedRecord(i: number): Record<string, unknown> {
  return { account: `acct-${i % 1000}`, amount: (i % 5000) / 4, at: 1_700_000_000_000 + i, flagged: i % 7 === 0, geo: { lat: 52.5 + (i % 100) / 1000, lon: 13.4 }, tags: [i % 3, i % 5] };
}

const KINDS = { q7: q7Record, mixed: mixedRecord } as const;
type Kind = keyof typeof KINDS;
export interface ChildResult {
  codegen: boolean;
  ns: Record<Kind, number>;
  hash: Record<Kind, number>;
}

const POOL = 4096;

function measure(make: (i: number) => Record<string, unknown>, records: number, runs: number): { ns: number; hash: number } {
  const pool = Array.from({ length: POOL }, (_, i) => make(i));
  const first = new BufferDataOutput(new Uint8Array(1 << 20));
  const s0 = createRecordSerializer();
  for (const r of pool) s0.serialize(r, first);
  let hash = 0;
  for (let i = 0; i < first.pos; i++) hash = (Math.imul(hash, 31) + first.bytes[i]!) >>> 0;
  let best = Infinity;
  for (let run = 0; run < runs; run++) {
    const s = createRecordSerializer();
    const out = new BufferDataOutput(new Uint8Array(32 * 1024));
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < records; i++) {
      if (out.remaining() < 256) out.pos = 0;
      s.serialize(pool[i & (POOL - 1)], out);
    }
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / records);
  }
  return { ns: best, hash };
}

function main(): void {
  const records = Number(process.argv[2]);
  const runs = Number(process.argv[3]);
  let codegen = true;
  try {
    new Function('return 0');
  } catch {
    codegen = false;
  }
  const q7 = measure(KINDS.q7, records, runs);
  const mixed = measure(KINDS.mixed, records, runs);
  const result: ChildResult = { codegen, ns: { q7: q7.ns, mixed: mixed.ns }, hash: { q7: q7.hash, mixed: mixed.hash } };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main();
