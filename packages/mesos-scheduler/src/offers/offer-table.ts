/**
 * The offers for the framework's roles while matching, each prepared (resources sorted into
 * slots, constraint fields read, static constraints judged) only when a walk first reaches it:
 * first fit touches a small prefix of a large offer batch, and preparing all 10,000 offers of
 * a big cluster would cost more than the matching itself.
 */
import type { Offer } from '@sluice/mesos-proto';
import { offerFieldValue } from './attributes.js';
import { staticAccepts, type CompiledConstraint } from './constraints.js';
import { OfferResources, offersGpus } from './resources.js';

export interface OfferState {
  readonly offer: Offer;
  /** The offer's value of each constraint's field, by constraint index. */
  readonly values: readonly (string | undefined)[];
  /** Index of the first static constraint (LIKE, UNLIKE, IS, IN, CLUSTER with value) that rejects the offer, or -1. */
  readonly staticFailure: number;
  readonly resources: OfferResources;
}

export class OfferTable {
  /** Offers for the framework's roles, in input order. */
  readonly offers: readonly Offer[];
  /** Offers for other roles: never used. */
  readonly foreign: readonly Offer[];
  /**
   * The order in which workers try the offers (indices into `offers`): agents without GPUs
   * first, then agents that offer GPUs (any of whose offers holds gpus), each in input order.
   */
  readonly order: Int32Array;
  private readonly roles: (string | undefined)[] = [];
  private readonly states: (OfferState | undefined)[];
  private everything: OfferState[] | undefined;

  constructor(all: readonly Offer[], roles: ReadonlySet<string>, private readonly constraints: readonly CompiledConstraint[]) {
    const offers: Offer[] = [];
    const foreign: Offer[] = [];
    const gpuAgents = new Set<string>();
    for (const offer of all) {
      const role = offer.allocation_info?.role;
      // Offers without allocation_info reach frameworks that are not MULTI_ROLE: they are for its one role.
      if (role !== undefined && !roles.has(role)) {
        foreign.push(offer);
        continue;
      }
      offers.push(offer);
      this.roles.push(role);
      if (offersGpus(offer.resources ?? [], role)) gpuAgents.add(offer.agent_id.value);
    }
    const plain: number[] = [];
    const gpu: number[] = [];
    offers.forEach((o, i) => (gpuAgents.has(o.agent_id.value) ? gpu : plain).push(i));
    this.offers = offers;
    this.foreign = foreign;
    this.order = Int32Array.from(plain.concat(gpu));
    this.states = new Array<OfferState | undefined>(offers.length);
  }

  state(i: number): OfferState {
    let s = this.states[i];
    if (s === undefined) {
      const offer = this.offers[i]!;
      const values = this.constraints.map((c) => offerFieldValue(offer, c.field));
      const staticFailure = this.constraints.findIndex((c, k) => c.static && !staticAccepts(c, values[k]));
      s = { offer, values, staticFailure, resources: new OfferResources(offer.resources ?? [], this.roles[i]) };
      this.states[i] = s;
    }
    return s;
  }

  /** Every offer prepared, in input order (for explaining why a worker found no offer). */
  all(): readonly OfferState[] {
    this.everything ??= this.offers.map((_, i) => this.state(i));
    return this.everything;
  }
}
