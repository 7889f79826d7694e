/**
 * The set of live session windows of one key, as a flat number array of
 * `[start, end, stateNamespace]` triples (one small array per key instead of objects per window).
 * Merged windows keep the state namespace of one of the windows they absorbed, so merging moves
 * the contents of the others only, never the surviving one.
 */

/** Filled by `addSessionWindow`; reused across records. */
export class SessionMergeResult {
  start = 0;
  end = 0;
  stateNamespace = 0;
  /** Whether the new element created a window on its own (nothing intersected). */
  isNew = false;
  /** Triples of the windows absorbed into the result (only set when windows actually merged). */
  readonly absorbed: number[] = [];
}

/**
 * Adds window [start, end) to `set`, merging every window it intersects (touching counts, as in
 * TimeWindow.intersects). Live windows never intersect each other, so one pass suffices.
 */
export function addSessionWindow(set: number[], start: number, end: number, r: SessionMergeResult): void {
  const absorbed = r.absorbed;
  absorbed.length = 0;
  let mergedStart = start;
  let mergedEnd = end;
  let stateNs = NaN;
  let w = 0;
  for (let i = 0; i < set.length; i += 3) {
    const s = set[i]!;
    const e = set[i + 1]!;
    const ns = set[i + 2]!;
    if (s <= end && e >= start) {
      if (Number.isNaN(stateNs)) stateNs = ns;
      absorbed.push(s, e, ns);
      if (s < mergedStart) mergedStart = s;
      if (e > mergedEnd) mergedEnd = e;
    } else {
      set[w] = s;
      set[w + 1] = e;
      set[w + 2] = ns;
      w += 3;
    }
  }
  set.length = w;
  r.isNew = absorbed.length === 0;
  if (r.isNew) {
    // Start lies outside every live window, hence outside every state namespace in use.
    stateNs = start;
  } else if (absorbed.length === 3 && absorbed[0] === mergedStart && absorbed[1] === mergedEnd) {
    // The element fell inside an existing window: nothing merged.
    absorbed.length = 0;
  }
  set.push(mergedStart, mergedEnd, stateNs);
  r.start = mergedStart;
  r.end = mergedEnd;
  r.stateNamespace = stateNs;
}

/** Index of the triple of the window starting at `start`, or −1. */
export function findSessionWindow(set: readonly number[], start: number): number {
  for (let i = 0; i < set.length; i += 3) if (set[i] === start) return i;
  return -1;
}

export function removeSessionWindowAt(set: number[], index: number): void {
  set.splice(index, 3);
}
