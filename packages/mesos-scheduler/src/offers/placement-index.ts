/**
 * The placed workers as the dynamic constraints (UNIQUE, MAX_PER, CLUSTER without a value,
 * GROUP_BY) see them: per constraint, how many workers run with each value of its field. Kept up
 * to date as the matcher places workers, so a verdict is a map lookup, never a scan of the
 * placed workers. Semantics are Marathon's (mesosphere.mesos.Constraints).
 */
import type { CompiledConstraint } from './constraints.js';

/**
 * `ok`: the constraint accepts the offer now. `never`: it will not accept it again within this
 * match (counts only grow while matching, so UNIQUE, MAX_PER and CLUSTER rejections are final, as
 * is a missing field). `later`: GROUP_BY may accept it once other groups have caught up.
 */
export type Verdict = 'ok' | 'never' | 'later';

interface GroupCounts {
  /** Workers per value; workers lacking the field count under `undefined`, a group of its own as in Marathon. */
  readonly counts: Map<string | undefined, number>;
  /** How many groups have each size, to keep the smallest group's size without a scan. */
  readonly sizes: Map<number, number>;
  smallest: number;
}

export class PlacementIndex {
  private readonly groups: (GroupCounts | undefined)[];
  /** CLUSTER without a value: the first placed worker's value (Marathon compares with the first only). */
  private readonly clusterValue: ({ value: string | undefined } | undefined)[];

  constructor(private readonly constraints: readonly CompiledConstraint[]) {
    this.groups = constraints.map((c) => (c.static ? undefined : { counts: new Map(), sizes: new Map(), smallest: 0 }));
    this.clusterValue = constraints.map(() => undefined);
  }

  /** Records one placed worker, given its value of each constraint's field (by constraint index). */
  add(values: readonly (string | undefined)[]): void {
    this.constraints.forEach((c, i) => {
      const g = this.groups[i];
      if (g === undefined) return;
      const value = values[i];
      if (c.operator === 'CLUSTER' && this.clusterValue[i] === undefined) this.clusterValue[i] = { value };
      const before = g.counts.get(value) ?? 0;
      g.counts.set(value, before + 1);
      if (before === 0) {
        g.sizes.set(1, (g.sizes.get(1) ?? 0) + 1);
        g.smallest = 1;
        return;
      }
      const remaining = g.sizes.get(before)! - 1;
      if (remaining === 0) g.sizes.delete(before);
      else g.sizes.set(before, remaining);
      g.sizes.set(before + 1, (g.sizes.get(before + 1) ?? 0) + 1);
      if (before === g.smallest && remaining === 0) g.smallest = before + 1;
    });
  }

  /** Constraint i's verdict on an offer whose field value is `value` (undefined: the offer lacks the field). */
  verdict(i: number, value: string | undefined): Verdict {
    const c = this.constraints[i]!;
    const g = this.groups[i];
    if (g === undefined) return 'ok';
    if (value === undefined) return c.operator === 'UNLIKE' ? 'ok' : 'never';
    const count = g.counts.get(value) ?? 0;
    switch (c.operator) {
      case 'UNIQUE':
        return count === 0 ? 'ok' : 'never';
      case 'MAX_PER':
        return count < c.count ? 'ok' : 'never';
      case 'CLUSTER': {
        const first = this.clusterValue[i];
        return first === undefined || first.value === value ? 'ok' : 'never';
      }
      case 'GROUP_BY':
        // A value not used yet is always welcome; a used one only once there are enough groups
        // and it is (one of) the smallest.
        if (count === 0) return 'ok';
        return g.counts.size >= c.count && count === g.smallest ? 'ok' : 'later';
      default:
        return 'ok';
    }
  }

  /** For reasons: workers per value of constraint i's field. */
  countsOf(i: number): ReadonlyMap<string | undefined, number> {
    return this.groups[i]?.counts ?? new Map();
  }

  smallestGroup(i: number): number {
    return this.groups[i]?.smallest ?? 0;
  }

  /** CLUSTER without a value: the value every worker must share, once one is placed. */
  clusteredOn(i: number): { value: string | undefined } | undefined {
    return this.clusterValue[i];
  }
}
