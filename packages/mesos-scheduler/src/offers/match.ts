/**
 * The offer matcher: which pending TaskManagers go on which offers, with which echoed Resource
 * slices. Pure and deterministic: the same input gives the same result.
 *
 * Rules (issue 12, item 2):
 * - Offers for roles outside `roles` are not touched. Within an offer, reserved entries are used
 *   before unreserved ones (offers/resources.ts).
 * - Workers are placed in `pending` order, each on the first offer (in `offers` order) that has
 *   room for the TaskManager and its executor and that every constraint accepts, counting the
 *   workers placed before it in the same call. First fit packs workers onto few offers and
 *   leaves the others whole, to be declined at once.
 * - GPUs: a profile without gpus tries the offers of agents without GPUs first and takes an offer
 *   from an agent that offers GPUs only when no other fits (a GPU agent is any agent with a
 *   `gpus` resource in one of the offers). A profile with gpus needs an offer with that many.
 *
 * Cost: one pass over the offers' roles and gpus, then for each worker a walk over the offers
 * still possible for its profile; an offer is prepared (resources, constraint fields) when a
 * walk first reaches it (offers/offer-table.ts). An offer that can never take the profile again
 * (too small now; rejected by a static constraint, or by UNIQUE, MAX_PER or CLUSTER, whose
 * counts only grow) is unlinked from that profile's list (a skip structure with path
 * compression), so the walks total O(offers + workers) unless GROUP_BY holds offers back, and
 * constraint checks are map lookups (offers/placement-index.ts). Explaining an unplaced worker
 * prepares every offer once.
 */
import { ConfigurationError } from '@sluice/common';
import type { Offer } from '@sluice/mesos-proto';
import { placedFieldValue, placedWorkerOf } from './attributes.js';
import { compileConstraints } from './constraints.js';
import { OfferTable, type OfferState } from './offer-table.js';
import { PlacementIndex, type Verdict } from './placement-index.js';
import { explainUnplaced } from './reasons.js';
import { needsOf, totalNeeds, type Needs, type ScalarName } from './resources.js';
import type { MatchInput, MatchResult, Placement, WorkerProfile } from './types.js';

/** The workers of one profile share a walk over the offers. */
interface ProfileRun {
  readonly needs: Needs;
  readonly total: Readonly<Record<ScalarName | 'ports', number>>;
  /** next[i] === i: position i of the candidate order is still possible for this profile. */
  readonly next: Int32Array;
  /** The reason the last worker of this profile found no offer, and the number of placements then. */
  failed?: { reason: string; atPlacement: number };
}

export function matchOffers(input: MatchInput): MatchResult {
  const constraints = compileConstraints(input.constraints);
  const table = new OfferTable(input.offers, new Set(input.roles), constraints);
  const index = new PlacementIndex(constraints);
  for (const p of input.placed) index.add(constraints.map((c) => placedFieldValue(p, c.field)));
  const dynamic = constraints.flatMap((c, i) => (c.static ? [] : [i]));

  const runs = new Map<string, ProfileRun>();
  // Workers usually share one profile object: look it up by identity before building its key.
  const byObject = new Map<WorkerProfile, ProfileRun>();
  const runOf = (profile: WorkerProfile): ProfileRun => {
    const known = byObject.get(profile);
    if (known !== undefined) return known;
    const key = profileKey(profile);
    let run = runs.get(key);
    if (run === undefined) {
      const needs = needsOf(profile);
      const next = new Int32Array(table.order.length + 1);
      for (let i = 0; i < next.length; i++) next[i] = i;
      run = { needs, total: totalNeeds(needs), next };
      runs.set(key, run);
    }
    byObject.set(profile, run);
    return run;
  };

  const placements: Placement[] = [];
  const unplaced: MatchResult['unplaced'] = [];
  const used = new Set<Offer>();
  for (const worker of input.pending) {
    const run = runOf(worker.profile);
    if (run.failed !== undefined && run.failed.atPlacement === placements.length) {
      unplaced.push({ workerId: worker.workerId, reason: run.failed.reason });
      continue;
    }
    const at = findOffer(run, table, dynamic, index);
    if (at === undefined) {
      const states = table.all();
      const eligible = states.filter((s) => s.staticFailure < 0);
      const reason = explainUnplaced({ input, foreign: table.foreign, states, eligible, constraints, index, needs: run.needs, total: run.total });
      run.failed = { reason, atPlacement: placements.length };
      unplaced.push({ workerId: worker.workerId, reason });
      continue;
    }
    const { taskResources, executorResources, ports } = at.resources.take(run.needs);
    const offer = at.offer;
    placements.push({
      workerId: worker.workerId,
      offerId: offer.id.value,
      agentId: offer.agent_id.value,
      hostname: offer.hostname,
      taskResources,
      executorResources,
      ports,
      placed: placedWorkerOf(offer, worker.workerId),
    });
    index.add(at.values);
    used.add(offer);
  }
  return { placements, unusedOfferIds: input.offers.filter((o) => !used.has(o)).map((o) => o.id.value), unplaced };
}

/**
 * The first candidate with room that every constraint accepts now. Unlinks the ones that never
 * will again for this profile: too small, rejected by a static constraint, or by UNIQUE, MAX_PER
 * or CLUSTER (whose counts only grow while matching).
 */
function findOffer(run: ProfileRun, table: OfferTable, dynamic: readonly number[], index: PlacementIndex): OfferState | undefined {
  const { next } = run;
  const n = table.order.length;
  for (let i = root(next, 0); i < n; i = root(next, i + 1)) {
    const s = table.state(table.order[i]!);
    if (s.staticFailure >= 0 || !s.resources.fits(run.total)) {
      next[i] = i + 1;
      continue;
    }
    let verdict: Verdict = 'ok';
    for (const c of dynamic) {
      const v = index.verdict(c, s.values[c]);
      if (v === 'never') {
        verdict = v;
        break;
      }
      if (v === 'later') verdict = v;
    }
    if (verdict === 'ok') return s;
    if (verdict === 'never') next[i] = i + 1;
  }
  return undefined;
}

/** The first position ≥ i still linked, compressing the path walked. */
function root(next: Int32Array, i: number): number {
  let r = i;
  while (next[r] !== r) r = next[r]!;
  let j = i;
  while (j !== r) {
    const k = next[j]!;
    next[j] = r;
    j = k;
  }
  return r;
}

function profileKey(p: WorkerProfile): string {
  const numbers = [p.cpus, p.memMb, p.diskMb, p.gpus, p.executor.cpus, p.executor.memMb];
  if (!numbers.every((n) => Number.isFinite(n) && n >= 0)) {
    throw new ConfigurationError(`worker profile '${p.name}' has a negative or non-numeric amount (cpus ${p.cpus}, memMb ${p.memMb}, diskMb ${p.diskMb}, gpus ${p.gpus}, executor cpus ${p.executor.cpus}, executor memMb ${p.executor.memMb}); give amounts ≥ 0`);
  }
  if (new Set(p.ports).size !== p.ports.length || p.ports.some((n) => n === '')) {
    throw new ConfigurationError(`worker profile '${p.name}' has empty or repeated port names (${p.ports.join(', ')}); name each port once`);
  }
  return JSON.stringify([numbers, p.ports]);
}
