import { keyGroupRangeFor } from '@sluice/common';
import { describe, expect, it } from 'vitest';
import { assignKeyedState, assignOperatorState } from './assignment.js';
import type { KeyedStateHandle, OperatorCheckpointState, OperatorStateHandle } from './format.js';

/** Metadata of a keyed operator as subtasks at `parallelism` would have written it (sizes are made up). */
function keyedOperator(parallelism: number, maxParallelism: number, options: { emptyGroups?: Set<number> } = {}): OperatorCheckpointState {
  const keyed: KeyedStateHandle[] = [];
  const operator: OperatorStateHandle[] = [];
  for (let subtask = 0; subtask < parallelism; subtask++) {
    const range = keyGroupRangeFor(maxParallelism, parallelism, subtask);
    const keyGroups = [];
    let offset = 8;
    for (let g = range.start; g <= range.end; g++) {
      if (options.emptyGroups?.has(g)) continue; // a subtask may skip groups it has no state for
      keyGroups.push({ keyGroup: g, offset, length: 10, crc32: g });
      offset += 10;
    }
    keyed.push({ file: `keyed-${subtask}`, bytes: offset, crc32: subtask, subtask, keyGroups });
    operator.push({ file: `op-${subtask}`, bytes: 20, crc32: subtask, subtask });
  }
  return { uid: 'counter', name: 'Count', kind: 'keyed-process', parallelism, maxParallelism, keyed, operator, finishedSubtasks: [] };
}

describe('assignKeyedState', () => {
  it.each([
    [2, 1, 128],
    [2, 4, 128],
    [3, 2, 128],
    [1, 1, 128],
    [4, 3, 10],
    [2, 7, 7],
  ])('from parallelism %i to %i (max %i): every key group exactly once, in the new owner’s range', (from, to, maxP) => {
    const op = keyedOperator(from, maxP);
    const assignment = assignKeyedState(op, to);
    expect(assignment).toHaveLength(to);
    const seen: number[] = [];
    for (const { subtask, keyGroups, slices } of assignment) {
      expect(keyGroups).toEqual(keyGroupRangeFor(maxP, to, subtask));
      for (const { handle, sections } of slices) {
        expect(sections.length).toBeGreaterThan(0);
        for (const s of sections) {
          expect(handle.keyGroups).toContain(s); // the section comes from the file it is read from
          expect(s.keyGroup).toBeGreaterThanOrEqual(keyGroups.start);
          expect(s.keyGroup).toBeLessThanOrEqual(keyGroups.end);
          seen.push(s.keyGroup);
        }
      }
    }
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: maxP }, (_, g) => g));
  });

  it('reads from every old file that overlaps, and only those', () => {
    // 3 → 2 at max 128: old ranges [0,42] [43,85] [86,127]; new ranges [0,63] [64,127].
    const assignment = assignKeyedState(keyedOperator(3, 128), 2);
    expect(assignment[0]!.slices.map((s) => [s.handle.file, s.sections[0]!.keyGroup, s.sections.at(-1)!.keyGroup])).toEqual([
      ['keyed-0', 0, 42],
      ['keyed-1', 43, 63],
    ]);
    expect(assignment[1]!.slices.map((s) => [s.handle.file, s.sections[0]!.keyGroup, s.sections.at(-1)!.keyGroup])).toEqual([
      ['keyed-1', 64, 85],
      ['keyed-2', 86, 127],
    ]);
  });

  it('leaves a new subtask with nothing to read when no old subtask had state in its range', () => {
    const empty = new Set(Array.from({ length: 32 }, (_, g) => g)); // groups 0..31 hold no state
    const assignment = assignKeyedState(keyedOperator(2, 128, { emptyGroups: empty }), 4);
    expect(assignment[0]!.slices).toEqual([]);
    expect(assignment[1]!.slices.map((s) => s.handle.file)).toEqual(['keyed-0']);
  });

  it('refuses a changed max parallelism and a parallelism above it, saying what to set', () => {
    const op = keyedOperator(2, 128);
    expect(() => assignKeyedState(op, 2, 256)).toThrow(expect.objectContaining({
      code: 'CHECKPOINT_INCOMPATIBLE',
      message: expect.stringMatching(/'counter'.*max parallelism 128 .*now has 256.*set the max parallelism back to 128/),
    }));
    expect(() => assignKeyedState(op, 129)).toThrow(expect.objectContaining({ code: 'CHECKPOINT_INCOMPATIBLE', message: expect.stringContaining('at most 128') }));
    expect(() => assignKeyedState(op, 0)).toThrow(expect.objectContaining({ code: 'CHECKPOINT_INVALID' }));
  });
});

describe('assignOperatorState', () => {
  it('gives each subtask its own blob at the same parallelism', () => {
    const op = keyedOperator(3, 128);
    const a = assignOperatorState(op, 3);
    expect(a.mode).toBe('same-parallelism');
    if (a.mode !== 'same-parallelism') return;
    expect(a.subtasks.map((hs) => hs.map((h) => h.file))).toEqual([['op-0'], ['op-1'], ['op-2']]);
  });

  it('hands every blob back, in old-subtask order, when the parallelism changes', () => {
    const op = keyedOperator(2, 128);
    op.operator.reverse();
    for (const to of [1, 4]) {
      const a = assignOperatorState(op, to);
      expect(a).toMatchObject({ mode: 'rescaled', fromParallelism: 2, toParallelism: to });
      if (a.mode === 'rescaled') expect(a.handles.map((h) => h.file)).toEqual(['op-0', 'op-1']);
    }
  });
});
