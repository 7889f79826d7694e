/**
 * The default record serializer alone (`npm run bench -- serializer`): ns per record written,
 * for q7's five-number record and for a mixed record, with the compiled object writers and with
 * the generic path they replace (the same code in a process started with
 * --disallow-code-generation-from-strings). The two sides alternate in child processes
 * (compiled, generic, generic, compiled, …) so that load on the machine hits both alike, and
 * they must write the same bytes or the benchmark fails.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import type { ChildResult } from './serializer-child.js';

const CHILD = fileURLToPath(new URL('./serializer-child.js', import.meta.url));

export interface SerializerBenchResult {
  fields: Record<string, string | number>;
  detail: Record<string, unknown>;
  durationMs: number;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function child(generic: boolean, records: number): ChildResult {
  const args = [...(generic ? ['--disallow-code-generation-from-strings'] : []), CHILD, String(records), '3'];
  const r = JSON.parse(execFileSync(process.execPath, args, { encoding: 'utf8', timeout: 300_000 })) as ChildResult;
  if (r.codegen === generic) throw new Error(`the ${generic ? 'generic' : 'compiled'} side ran ${r.codegen ? 'with' : 'without'} code generation`);
  return r;
}

export function executeSerializerBench(records: number, pairs: number): SerializerBenchResult {
  const started = Date.now();
  const load1mBefore = os.loadavg()[0]!;
  const compiled: ChildResult[] = [];
  const generic: ChildResult[] = [];
  for (let i = 0; i < pairs; i++) {
    const order = i % 2 === 0 ? [false, true] : [true, false];
    for (const g of order) (g ? generic : compiled).push(child(g, records));
  }
  for (const kind of ['q7', 'mixed'] as const) {
    const hashes = new Set([...compiled, ...generic].map((r) => r.hash[kind]));
    if (hashes.size !== 1) throw new Error(`the compiled and generic paths wrote different bytes for the ${kind} records`);
  }
  const ns = (side: ChildResult[], kind: 'q7' | 'mixed'): number => median(side.map((r) => r.ns[kind]));
  const fields = {
    records,
    pairs,
    q7_ns_per_record: ns(compiled, 'q7').toFixed(1),
    q7_generic_ns_per_record: ns(generic, 'q7').toFixed(1),
    mixed_ns_per_record: ns(compiled, 'mixed').toFixed(1),
    mixed_generic_ns_per_record: ns(generic, 'mixed').toFixed(1),
    load_1m: load1mBefore.toFixed(2),
  };
  return { fields, detail: { compiled, generic }, durationMs: Date.now() - started };
}
