/**
 * The fake's allocator: turns each agent's free resources into offers, per role of each
 * connected framework, the way the Mesos master and its hierarchical allocator present them.
 *
 * - Each agent's free resources go to one framework per allocation run (frameworks take turns).
 * - MULTI_ROLE: one offer per role; reserved entries go to the offer of their role (or of a
 *   child role, `eng` → `eng/backend`); the unreserved entries go to the first unsuppressed role
 *   that has reserved resources on the agent, else to the first unsuppressed role. Offers and
 *   entries carry `allocation_info` only for MULTI_ROLE frameworks.
 * - Filters (refuse_seconds) are per (framework, role, agent); REVIVE clears them; SUPPRESS stops
 *   offers for a role until REVIVE.
 * - Offers hold their resources until accepted, declined, rescinded or timed out.
 * - Like `--min_allocatable_resources=cpus:0.01|mem:32`, an offer needs 0.01 cpus or 32 MB mem.
 */
import type { Offer } from '@sluice/mesos-proto';
import { hasCapability, isTerminal, type ClusterState, type FakeAgentState, type FakeFramework, type FakeOffer } from './model.js';
import { cloneRes, reservationRole, scalarOf, subtract, subtractAvailable, sum, toWire, withAllocation, type Res } from './resources.js';

const YEAR_SECONDS = 365 * 24 * 3600;

function roleMatches(reserved: string, role: string): boolean {
  return role === reserved || role.startsWith(`${reserved}/`);
}

export class Allocator {
  private pending: NodeJS.Immediate | undefined;
  private periodic: NodeJS.Timeout | undefined;
  private readonly filterTimers = new Set<NodeJS.Timeout>();
  private turn = 0;

  constructor(
    private readonly state: ClusterState,
    private readonly sendOffers: (framework: FakeFramework, offers: Offer[]) => void,
    private readonly sendRescind: (framework: FakeFramework, offerId: string) => void,
  ) {}

  start(): void {
    this.periodic = setInterval(() => this.allocate(), this.state.options.allocationIntervalMs);
    this.periodic.unref();
  }

  stop(): void {
    if (this.periodic !== undefined) clearInterval(this.periodic);
    if (this.pending !== undefined) clearImmediate(this.pending);
    for (const t of this.filterTimers) clearTimeout(t);
    this.filterTimers.clear();
    for (const offer of this.state.offers.values()) if (offer.timer !== undefined) clearTimeout(offer.timer);
  }

  /** Runs an allocation soon (coalesced): after resources were freed or a framework changed. */
  schedule(): void {
    if (this.pending !== undefined || this.state.stopped) return;
    this.pending = setImmediate(() => {
      this.pending = undefined;
      this.allocate();
    });
  }

  /** Resources in use on the agent: live tasks and the executors that run them. */
  used(agent: FakeAgentState): Res[] {
    const lists: Res[][] = [];
    for (const task of this.state.tasks.values()) if (task.agentId === agent.id && !isTerminal(task.state)) lists.push(task.resources);
    for (const ex of agent.executors.values()) if (ex.phase !== 'terminated') lists.push(ex.resources);
    return sum(...lists);
  }

  offered(agent: FakeAgentState): Res[] {
    return sum(...[...this.state.offers.values()].filter((o) => o.agentId === agent.id).map((o) => o.resources));
  }

  /** Free = total − used − offered, without allocation roles. */
  free(agent: FakeAgentState): Res[] {
    const taken = withAllocation(sum(this.used(agent), this.offered(agent)), undefined);
    return subtractAvailable(agent.total, taken);
  }

  allocate(): void {
    if (this.state.stopped || this.state.leader === undefined || Date.now() < this.state.recoveringUntil) return;
    const frameworks = [...this.state.frameworks.values()].filter((f) => f.stream !== undefined && !f.stream.closed);
    if (frameworks.length === 0) return;
    const start = this.turn++ % frameworks.length;
    const order = [...frameworks.slice(start), ...frameworks.slice(0, start)];
    const batches = new Map<FakeFramework, Offer[]>();
    const now = Date.now();
    for (const agent of this.state.agents) {
      if (agent.partitioned || agent.down) continue;
      let free = this.free(agent);
      for (const framework of order) {
        const made = this.offersFor(framework, agent, free, now);
        if (made.length === 0) continue;
        for (const offer of made) {
          free = subtractAvailable(free, withAllocation(offer.resources, undefined));
          this.state.offers.set(offer.id, offer);
          this.armTimeout(offer);
          const list = batches.get(framework) ?? [];
          list.push(this.wire(offer, framework));
          batches.set(framework, list);
        }
        break;
      }
    }
    for (const [framework, offers] of batches) this.sendOffers(framework, offers);
    if (batches.size > 0) this.state.changed();
  }

  private offersFor(framework: FakeFramework, agent: FakeAgentState, free: Res[], now: number): FakeOffer[] {
    const roles = framework.roles.filter((role) => !framework.suppressedRoles.has(role));
    if (roles.length === 0) return [];
    const reservedFor = (role: string): Res[] => free.filter((r) => {
      const owner = reservationRole(r);
      return owner !== undefined && roleMatches(owner, role) && r.revocable !== true;
    });
    const unreservedRole = roles.find((role) => reservedFor(role).length > 0) ?? roles[0];
    const out: FakeOffer[] = [];
    const claimed = new Set<Res>();
    for (const role of roles) {
      const reserved = new Set(reservedFor(role));
      // In the agent's order, as Mesos lists an offer's resources.
      const entries = free.filter((r) => !claimed.has(r) && (reserved.has(r) || (role === unreservedRole && r.reservations.length === 0 && r.revocable !== true && r.shared !== true)));
      for (const r of entries) claimed.add(r);
      const resources = withAllocation(entries.map(cloneRes), role);
      if (scalarOf(resources, 'cpus') < 0.01 && scalarOf(resources, 'mem') < 32) continue;
      // A filter refuses what it covers: an offer within the refused resources is not made.
      const filter = framework.filters.get(`${role}\n${agent.id}`);
      if (filter !== undefined && filter.until > now && subtract(filter.resources, withAllocation(resources, undefined)) !== undefined) continue;
      out.push({ id: this.state.offerId(), frameworkId: framework.id, agentId: agent.id, role, resources, timer: undefined });
    }
    return out;
  }

  private armTimeout(offer: FakeOffer): void {
    const ms = this.state.options.offerTimeoutMs;
    if (ms === undefined) return;
    offer.timer = setTimeout(() => this.rescind(offer.id), ms);
    offer.timer.unref();
  }

  /** The offer as the framework sees it (resource format per its capabilities). */
  wire(offer: FakeOffer, framework: FakeFramework): Offer {
    const agent = this.state.agent(offer.agentId);
    const multiRole = hasCapability(framework, 'MULTI_ROLE');
    const format = { refinement: hasCapability(framework, 'RESERVATION_REFINEMENT'), multiRole };
    const out: Offer = {
      id: { value: offer.id },
      framework_id: { value: framework.id },
      agent_id: { value: offer.agentId },
      hostname: agent?.hostname ?? '',
      resources: offer.resources.map((r) => toWire(r, format)),
    };
    if (agent !== undefined) {
      out.url = { scheme: 'http', address: { hostname: agent.hostname, ip: agent.ip, port: agent.port }, path: '/slave(1)' };
      if (agent.domain !== undefined) out.domain = structuredClone(agent.domain);
      if (agent.attributes.length > 0) out.attributes = structuredClone(agent.attributes);
      const executorIds = [...agent.executors.values()].filter((e) => e.frameworkId === framework.id && e.phase !== 'terminated').map((e) => ({ value: e.executorId }));
      if (executorIds.length > 0) out.executor_ids = executorIds;
    }
    if (multiRole) out.allocation_info = { role: offer.role };
    return out;
  }

  /** Takes an offer out of circulation (used or declined); `refuseSeconds` sets a filter. */
  recover(offerId: string, refuseSeconds: number | undefined): FakeOffer | undefined {
    const offer = this.state.offers.get(offerId);
    if (offer === undefined) return undefined;
    this.state.offers.delete(offerId);
    if (offer.timer !== undefined) clearTimeout(offer.timer);
    const framework = this.state.frameworks.get(offer.frameworkId);
    if (framework !== undefined && refuseSeconds !== undefined) this.filter(framework, offer.role, offer.agentId, refuseSeconds, offer.resources);
    this.schedule();
    this.state.changed();
    return offer;
  }

  /** Refuses `resources` of the agent to the framework's role for a while (Filters.refuse_seconds). */
  filter(framework: FakeFramework, role: string, agentId: string, refuseSeconds: number, resources: Res[]): void {
    const seconds = Number.isFinite(refuseSeconds) && refuseSeconds >= 0 ? Math.min(refuseSeconds, YEAR_SECONDS) : 5;
    if (seconds <= 0 || resources.length === 0) return;
    framework.filters.set(`${role}\n${agentId}`, { until: Date.now() + seconds * 1000, resources: withAllocation(resources, undefined) });
    const timer = setTimeout(() => {
      this.filterTimers.delete(timer);
      this.schedule();
    }, seconds * 1000 + 5);
    timer.unref();
    this.filterTimers.add(timer);
  }

  /** Rescinds an outstanding offer: RESCIND to its framework, resources back to the pool. */
  rescind(offerId: string): boolean {
    const offer = this.state.offers.get(offerId);
    if (offer === undefined) return false;
    const framework = this.state.frameworks.get(offer.frameworkId);
    this.recover(offerId, undefined);
    if (framework !== undefined) this.sendRescind(framework, offerId);
    return true;
  }

  /** Drops offers silently (framework disconnected, master failover). */
  dropOffers(match: (offer: FakeOffer) => boolean): void {
    for (const offer of [...this.state.offers.values()]) if (match(offer)) this.recover(offer.id, undefined);
  }

  rescindWhere(match: (offer: FakeOffer) => boolean): void {
    for (const offer of [...this.state.offers.values()]) if (match(offer)) this.rescind(offer.id);
  }
}
