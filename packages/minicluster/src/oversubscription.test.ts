import { describe, expect, it } from 'vitest';
import { IDLE_SUBTASK_MB, oversubscriptionWarning } from './oversubscription.js';

describe('oversubscriptionWarning', () => {
  it.each([
    [{ slots: 1, subtasks: 2, cores: 2 }],
    [{ slots: 2, subtasks: 4, cores: 2 }],
    [{ slots: 8, subtasks: 8, cores: 16 }],
  ])('says nothing when the slots fit the cores: %j', (input) => {
    expect(oversubscriptionWarning(input)).toBeUndefined();
  });

  it('names the parallelism, the cores, the subtasks and what they cost', () => {
    expect(oversubscriptionWarning({ slots: 128, subtasks: 256, cores: 2 })).toBe(
      `parallelism 128 exceeds the 2 cores of this machine: the job's 256 subtasks share 2 cores (no speed-up beyond parallelism 2), ` +
        `and each costs about ${IDLE_SUBTASK_MB} MB even when idle (${((256 * IDLE_SUBTASK_MB) / 1024).toFixed(1)} GB in all)`,
    );
    expect(oversubscriptionWarning({ slots: 3, subtasks: 4, cores: 1 })).toMatch(/^parallelism 3 exceeds the 1 core of this machine: the job's 4 subtasks share 1 core .*\(\d+ MB in all\)$/);
  });
});
