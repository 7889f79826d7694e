import { describe, expect, it } from 'vitest';
import { TimerQueue } from './timer-queue.js';

describe('TimerQueue', () => {
  it('matches a sorted reference model under random adds, deletes and polls', () => {
    let seed = 42;
    const rnd = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const q = new TimerQueue(0, 4);
    // Reference: live timers in firing order = (timestamp, registration order).
    let model: { key: string; ns: number; ts: number; seq: number }[] = [];
    let seq = 0;
    for (let step = 0; step < 20_000; step++) {
      const op = rnd(10);
      const key = `k${rnd(50)}`;
      const ts = rnd(40);
      const ns = rnd(3);
      const group = Number(key.slice(1)) % 4;
      if (op < 6) {
        const exists = model.some((m) => m.key === key && m.ns === ns && m.ts === ts);
        expect(q.add(key, key, group, ns, ts)).toBe(!exists);
        if (!exists) model.push({ key, ns, ts, seq: seq++ });
      } else if (op < 8) {
        const i = model.findIndex((m) => m.key === key && m.ns === ns && m.ts === ts);
        expect(q.remove(key, group, ns, ts)).toBe(i >= 0);
        if (i >= 0) model.splice(i, 1);
      } else {
        model.sort((a, b) => a.ts - b.ts || a.seq - b.seq);
        const expected = model.shift();
        const got = q.poll();
        expect(got === undefined ? undefined : [got.key, got.namespace, got.timestamp]).toEqual(expected === undefined ? undefined : [expected.key, expected.ns, expected.ts]);
      }
      expect(q.size).toBe(model.length);
    }
    model.sort((a, b) => a.ts - b.ts || a.seq - b.seq);
    const rest: [unknown, unknown, number][] = [];
    for (let t = q.poll(); t !== undefined; t = q.poll()) rest.push([t.key, t.namespace, t.timestamp]);
    expect(rest).toEqual(model.map((m) => [m.key, m.ns, m.ts]));
    model = [];
    expect(q.size).toBe(0);
  });

  it('fires a timer added during firing at the current timestamp after the ones already there', () => {
    const q = new TimerQueue(0, 1);
    q.add('a', 'a', 0, 0, 5);
    q.add('b', 'b', 0, 0, 5);
    expect(q.poll()!.key).toBe('a');
    q.add('c', 'c', 0, 0, 5);
    expect([q.poll()!.key, q.poll()!.key, q.poll()]).toEqual(['b', 'c', undefined]);
  });
});
