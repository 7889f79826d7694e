import { describe, expect, it } from 'vitest';
import { TaskProcessingTimeService } from './processing-time.js';

describe('TaskProcessingTimeService', () => {
  it('fires due callbacks in time order and skips cancelled ones', () => {
    let now = 0;
    const s = new TaskProcessingTimeService(() => now);
    const fired: number[] = [];
    s.registerTimer(30, (t) => fired.push(t));
    s.registerTimer(10, (t) => fired.push(t));
    const c = s.registerTimer(20, (t) => fired.push(t));
    s.registerTimer(40, (t) => fired.push(t));
    c.cancel();
    expect(s.nextDeadline()).toBe(10);
    now = 35;
    expect(s.fireDue()).toBe(2);
    expect(fired).toEqual([10, 30]);
    expect(s.nextDeadline()).toBe(40);
  });

  it('lets a callback register a later callback that fires in the same pass when due', () => {
    const now = 100;
    const s = new TaskProcessingTimeService(() => now);
    const fired: number[] = [];
    s.registerTimer(50, (t) => {
      fired.push(t);
      s.registerTimer(t + 20, (t2) => fired.push(t2));
    });
    s.fireDue();
    expect(fired).toEqual([50, 70]);
    expect(s.nextDeadline()).toBe(Infinity);
  });
});
