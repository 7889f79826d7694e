/**
 * Heap measurement inside a worker thread. `v8.getHeapStatistics()` describes the calling
 * thread's own V8 isolate (each worker thread has one), so an operator that reads it measures
 * the heap its state lives in, not the whole process. A forced full GC before each reading
 * removes garbage (records in flight, batches) so the difference of two readings is live data.
 * `gc` is not exposed by default; enabling the flag at runtime and fetching `gc` from a fresh
 * context is the standard way to get it without restarting Node with --expose-gc.
 */
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';

let gcFn: (() => void) | null | undefined;

function getGc(): (() => void) | null {
  if (gcFn === undefined) {
    try {
      v8.setFlagsFromString('--expose-gc');
      const fn = runInNewContext('gc') as unknown;
      gcFn = typeof fn === 'function' ? (fn as () => void) : null;
    } catch {
      gcFn = null;
    }
  }
  return gcFn;
}

export interface HeapReading {
  usedBytes: number;
  /** The heap V8 has committed (used plus free space it keeps). */
  totalBytes: number;
  /** Whether a full GC ran first; without it the reading includes garbage. */
  afterGc: boolean;
}

export function readHeapAfterGc(): HeapReading {
  const gc = getGc();
  if (gc !== null) {
    // Two passes: the first may only queue finalizers and weak callbacks.
    gc();
    gc();
  }
  const stats = v8.getHeapStatistics();
  return { usedBytes: stats.used_heap_size, totalBytes: stats.total_heap_size, afterGc: gc !== null };
}
