/**
 * One readable reason per worker no offer could take, for the driver's log and metrics. The
 * first obstacle in this order is named: no offers, no offers for the framework's roles, a static
 * constraint no offer meets, a resource no remaining offer has enough of, resources that no single
 * offer has together, then the dynamic constraint that turned away most offers with room.
 */
import type { Offer } from '@sluice/mesos-proto';
import type { CompiledConstraint } from './constraints.js';
import type { OfferState } from './offer-table.js';
import type { PlacementIndex } from './placement-index.js';
import { fromMilli, type Needs, type ScalarName } from './resources.js';
import type { MatchInput } from './types.js';

export interface UnplacedContext {
  input: MatchInput;
  foreign: readonly Offer[];
  /** Offers for the framework's roles. */
  states: readonly OfferState[];
  /** Those that every static constraint accepts. */
  eligible: readonly OfferState[];
  constraints: readonly CompiledConstraint[];
  index: PlacementIndex;
  needs: Needs;
  total: Readonly<Record<ScalarName | 'ports', number>>;
}

export function explainUnplaced(ctx: UnplacedContext): string {
  const { input, foreign, states, eligible } = ctx;
  if (input.offers.length === 0) return 'no offers to match';
  if (states.length === 0) {
    const theirs = [...new Set(foreign.map((o) => o.allocation_info?.role ?? '*'))].sort();
    return `no offer for role ${input.roles.join(', ') || '(none given)'}: all ${foreign.length} offers were for ${theirs.join(', ')}`;
  }
  if (eligible.length === 0) return staticReason(ctx);
  return resourceReason(ctx) ?? dynamicReason(ctx);
}

function staticReason({ states, constraints }: UnplacedContext): string {
  const rejected = constraints.map((c, i) => (c.static ? states.filter((s) => s.staticFailure === i).length : 0));
  const worst = rejected.indexOf(Math.max(...rejected));
  const c = constraints[worst]!;
  if (rejected[worst] === states.length) {
    const seen = [...new Set(states.map((s) => s.values[worst]).filter((v) => v !== undefined))].sort();
    const shown = seen.length === 0 ? `no offer has ${c.field}` : `offered ${c.field}: ${seen.slice(0, 5).join(', ')}${seen.length > 5 ? ', …' : ''}`;
    return `constraint ${c.text}: no offer matches (${shown})`;
  }
  const involved = constraints.filter((x, i) => x.static && rejected[i]! > 0).map((x) => x.text);
  return `constraints ${involved.join(', ')}: no offer meets all of them`;
}

const UNITS: Record<ScalarName, (milli: number) => string> = {
  cpus: (m) => `${fromMilli(m)} cpus`,
  mem: (m) => `${fromMilli(m)} MB mem`,
  disk: (m) => `${fromMilli(m)} MB disk`,
  gpus: (m) => `${fromMilli(m)} gpus`,
};

function resourceReason({ states, eligible, needs, total }: UnplacedContext): string | undefined {
  if (eligible.some((s) => s.resources.fits(total))) return undefined;
  const among = eligible.length < states.length ? ` (among the ${eligible.length} offers that meet the constraints)` : '';
  const largest = (k: ScalarName | 'ports'): number => eligible.reduce((most, s) => Math.max(most, s.resources.left[k]), 0);
  for (const k of ['cpus', 'mem', 'disk', 'gpus'] as const) {
    if (total[k] === 0) continue;
    const most = largest(k);
    if (most >= total[k]) continue;
    const split =
      k === 'cpus' && needs.executorCpus > 0
        ? ` (${fromMilli(needs.taskCpus)} for the TaskManager, ${fromMilli(needs.executorCpus)} for its executor)`
        : k === 'mem' && needs.executorMem > 0
          ? ` (${fromMilli(needs.taskMem)} for the TaskManager, ${fromMilli(needs.executorMem)} for its executor)`
          : '';
    return `no offer with ${UNITS[k](total[k])}${split}: largest had ${fromMilli(most)}${among}`;
  }
  if (total.ports > 0 && largest('ports') < total.ports) {
    return `no offer with ${total.ports} free port${total.ports === 1 ? '' : 's'} (${needs.ports.join(', ')}): largest had ${largest('ports')}${among}`;
  }
  const wanted = (['cpus', 'mem', 'disk', 'gpus'] as const).filter((k) => total[k] > 0).map((k) => UNITS[k](total[k]));
  if (total.ports > 0) wanted.push(`${total.ports} port${total.ports === 1 ? '' : 's'}`);
  return `no single offer has ${wanted.join(', ')} at once${among}`;
}

function dynamicReason({ eligible, constraints, index, total }: UnplacedContext): string {
  const blamed = constraints.map(() => 0);
  for (const s of eligible) {
    if (!s.resources.fits(total)) continue;
    for (let i = 0; i < constraints.length; i++) {
      if (constraints[i]!.static) continue;
      if (index.verdict(i, s.values[i]) === 'ok') continue;
      blamed[i]!++;
      break;
    }
  }
  const worst = blamed.indexOf(Math.max(...blamed));
  if (blamed[worst] === 0) return 'no offer fits';
  const c = constraints[worst]!;
  const subject = c.field === 'hostname' || c.field === '@hostname' ? 'host' : `${c.field} value`;
  const withoutField = eligible.every((s) => !s.resources.fits(total) || s.values[worst] === undefined);
  if (withoutField) return `constraint ${c.text}: no offer with room has ${c.field}`;
  switch (c.operator) {
    case 'UNIQUE':
      return `constraint ${c.text}: every offered ${subject} already runs a TaskManager`;
    case 'MAX_PER':
      return `constraint ${c.text}: every offered ${subject} already runs ${c.count} TaskManager${c.count === 1 ? '' : 's'}`;
    case 'CLUSTER': {
      const first = index.clusteredOn(worst)?.value;
      return first === undefined
        ? `constraint ${c.text}: the first TaskManager runs where ${c.field} is not set, so no offer can join it`
        : `constraint ${c.text}: TaskManagers run on ${c.field} ${first}, and no offer with room has it`;
    }
    case 'GROUP_BY': {
      const groups = index.countsOf(worst).size;
      if (groups < c.count) {
        return `constraint ${c.text}: ${groups} of ${c.count} ${c.field} groups are in use, and no offer with room brings a new ${c.field} value`;
      }
      const sizes = [...index.countsOf(worst)].map(([k, n]) => `${k ?? '(none)'}=${n}`).sort();
      const shown = sizes.slice(0, 5).join(', ') + (sizes.length > 5 ? ', …' : '');
      return `constraint ${c.text}: no offer with room is on a new or least used ${c.field} (TaskManagers per ${c.field}: ${shown})`;
    }
    default:
      return `constraint ${c.text}: no offer with room meets it`;
  }
}
